//! Images sent in chat. API.md says an image message's `content` is "an
//! upload id, see Uploads" and has no such section; what Kefu decided:
//!
//! - A player (chat token) or a staff member uploads an image's bytes as
//!   they are; its kind is read from the bytes (PNG, JPEG, GIF or WebP),
//!   never taken from what the client declares, and it is served with that
//!   kind only. Empty is refused, and so is anything over
//!   [`MAX_UPLOAD_BYTES`] (5 MiB: a phone screenshot fits) or any other kind.
//! - The bytes are kept in the database (`uploads`), so an upload is one
//!   transaction, a backup holds it, and servers sharing a PostgreSQL need
//!   no shared disk.
//! - The id is 32 hex digits of a random UUID (122 random bits). Whoever
//!   holds it may fetch the image, as with a signed link: an `<img>` in the
//!   widget or the desk cannot send a bearer token, and the id reaches only
//!   those who can read the chat it was sent in (or the uploader).
//! - Only its uploader may send an upload as a message; anything else as an
//!   image message's content is refused (`content`).
//! - At most [`UPLOADS_PER_HOUR`] uploads per person per hour (429 after), so
//!   a leaked player token cannot fill the disk.
//! - A message's preview in the chat lists reads "[图片]".
//! - An upload is sent in one chat (the same id in another chat is
//!   refused: upload it again) and lives as long as that chat's history:
//!   clearing the history or deleting the chat deletes it. One never sent
//!   is deleted after a day ([`UNSENT_KEPT_MS`]; the server sweeps hourly).

use crate::chat::Actor;
use crate::time::now_ms;
use crate::{Error, Kefu, Result};
use protocol::chat::{upload_url, Uploaded};

pub use protocol::chat::MAX_UPLOAD_BYTES;
/// Uploads one person may make in an hour.
pub const UPLOADS_PER_HOUR: i64 = 100;
/// How long an upload never sent in a message is kept (a day: time enough
/// to send a picture picked before the connection dropped).
pub const UNSENT_KEPT_MS: i64 = 24 * 3_600_000;

/// The image kind of `bytes` from its first bytes, as a MIME type.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// An upload id is 32 lowercase hex digits.
fn is_upload_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The refusal of an image message whose content is no upload of its
/// sender's for this chat.
pub(crate) fn not_yours() -> Error {
    Error::invalid(
        "content",
        "must be the id of an image you uploaded for this chat",
    )
}

/// `uploads.uploader_type` and `uploader` of an actor.
fn uploader(actor: &Actor) -> (&'static str, &str) {
    match actor {
        Actor::Player(account) => ("user", account),
        Actor::Staff(p) => ("customer_service", &p.username),
    }
}

impl Kefu {
    /// Stores an image for `actor` to send; see the module docs for the rules.
    pub async fn store_upload(&self, actor: &Actor, bytes: Vec<u8>) -> Result<Uploaded> {
        if bytes.is_empty() {
            return Err(Error::invalid("file", "must not be empty"));
        }
        if bytes.len() > MAX_UPLOAD_BYTES {
            return Err(Error::invalid(
                "file",
                format!("must be at most {} MiB", MAX_UPLOAD_BYTES >> 20),
            ));
        }
        let Some(content_type) = sniff(&bytes) else {
            return Err(Error::invalid(
                "file",
                "must be a PNG, JPEG, GIF or WebP image",
            ));
        };
        let (kind, who) = uploader(actor);
        let now = now_ms();
        let hour_ago = now - 3_600_000;
        // The count and the insert under one lock, so uploads made at the
        // same moment cannot pass the bound together: SQLite's write lock
        // (`BEGIN IMMEDIATE`), on PostgreSQL a lock on the uploader.
        let mut tx = self
            .store()
            .begin_write_holding(&format!("upload:{kind}:{who}"))
            .await?;
        let (recent, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT), MIN(created_at) FROM uploads \
             WHERE uploader_type = $1 AND uploader = $2 AND created_at > $3",
        )
        .bind(kind)
        .bind(who)
        .bind(hour_ago)
        .fetch_one(&mut *tx)
        .await?;
        if recent >= UPLOADS_PER_HOUR {
            let free_at = oldest.unwrap_or(now) + 3_600_000;
            return Err(Error::RateLimited {
                retry_after_secs: ((free_at - now).max(1000) / 1000) as u64,
            });
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let size = bytes.len() as i64;
        sqlx::query(
            "INSERT INTO uploads (id, uploader_type, uploader, content_type, size, bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(kind)
        .bind(who)
        .bind(content_type)
        .bind(size)
        .bind(bytes)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Uploaded {
            url: upload_url(&id),
            upload_id: id,
            content_type: content_type.to_owned(),
            size,
        })
    }

    /// An upload's kind and bytes; `NotFound` for an id that is not one.
    pub async fn upload(&self, id: &str) -> Result<(String, Vec<u8>)> {
        let missing = || Error::NotFound("no such image".to_owned());
        if !is_upload_id(id) {
            return Err(missing());
        }
        sqlx::query_as("SELECT content_type, bytes FROM uploads WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store().pool())
            .await?
            .ok_or_else(missing)
    }

    /// An image message's content must be an upload of its sender's, not
    /// sent in another chat. The writer marks it sent in `session_id` in the
    /// message's transaction.
    pub(crate) async fn require_own_upload(
        &self,
        actor: &Actor,
        id: &str,
        session_id: &str,
    ) -> Result<()> {
        let refused = not_yours;
        if !is_upload_id(id) {
            return Err(refused());
        }
        let (kind, who) = uploader(actor);
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT CAST(1 AS BIGINT) FROM uploads WHERE id = $1 AND uploader_type = $2 \
             AND uploader = $3 AND (sent_in IS NULL OR sent_in = $4)",
        )
        .bind(id)
        .bind(kind)
        .bind(who)
        .bind(session_id)
        .fetch_optional(self.store().pool())
        .await?;
        found.map(drop).ok_or_else(refused)
    }

    /// Deletes the uploads never sent in a message that are older than
    /// [`UNSENT_KEPT_MS`]; answers how many. The server runs it hourly.
    pub async fn sweep_unsent_uploads(&self) -> Result<u64> {
        let done = sqlx::query("DELETE FROM uploads WHERE sent_in IS NULL AND created_at < $1")
            .bind(now_ms() - UNSENT_KEPT_MS)
            .execute(self.store().pool())
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_comes_from_the_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"\xff\xd8\xff\xe0JFIF"), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a.."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>"), None);
        assert_eq!(sniff(b"<html>"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn upload_ids_are_32_lowercase_hex_digits() {
        assert!(is_upload_id("0123456789abcdef0123456789abcdef"));
        assert!(!is_upload_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_upload_id("0123456789abcdef0123456789abcde"));
        assert!(!is_upload_id("../../../../etc/passwd0123456789ab"));
        assert!(!is_upload_id(""));
    }
}
