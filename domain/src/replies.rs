//! Quick replies (快捷回复) for the desk: texts an agent sends again and
//! again, one click away. Not in API.md (the desk reaches them through its
//! server functions); decided here:
//!
//! - every staff member keeps their own (at most [`MAX_OWN`]); admins and
//!   super admins also keep the team's, which every staff member sees (at
//!   most [`MAX_TEAM`]);
//! - a reply is 1–[`MAX_REPLY_CHARS`] characters after trimming, and the
//!   same text twice in one list is refused;
//! - the list shows the team's first, then one's own, each oldest first;
//! - one deletes one's own; admins delete the team's. Someone else's own
//!   is not found, to anyone.

use protocol::chat::QuickReply;

use crate::time::now_ms;
use crate::{Error, Kefu, Principal, Result};

/// The longest quick reply, in characters.
pub const MAX_REPLY_CHARS: usize = 1000;
/// Quick replies one person may keep.
pub const MAX_OWN: i64 = 100;
/// Quick replies the team may keep.
pub const MAX_TEAM: i64 = 200;

impl Kefu {
    /// The team's quick replies, then `who`'s own.
    pub async fn quick_replies(&self, who: &Principal) -> Result<Vec<QuickReply>> {
        let rows: Vec<(i64, Option<i64>, String)> = sqlx::query_as(
            "SELECT id, staff_id, content FROM quick_replies \
             WHERE staff_id IS NULL OR staff_id = $1 \
             ORDER BY CASE WHEN staff_id IS NULL THEN 0 ELSE 1 END, id",
        )
        .bind(who.id)
        .fetch_all(self.store().pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, staff_id, content)| QuickReply {
                id,
                team: staff_id.is_none(),
                deletable: staff_id.is_some() || who.role.is_admin(),
                content,
            })
            .collect())
    }

    /// Adds a quick reply to `who`'s own list, or with `team` to the team's
    /// (admins and super admins).
    pub async fn add_quick_reply(
        &self,
        who: &Principal,
        content: &str,
        team: bool,
    ) -> Result<QuickReply> {
        let content = crate::error::required_text("content", content, MAX_REPLY_CHARS)?;
        if team && !who.role.is_admin() {
            return Err(Error::Forbidden(
                "only admins may keep the team's quick replies".to_owned(),
            ));
        }
        let owner = (!team).then_some(who.id);
        // The checks and the insert under one lock: two adds at once (a
        // double click) must not both pass them.
        let mut tx = self
            .store()
            .begin_write_holding(&format!(
                "replies:{}",
                owner.map_or("team".to_owned(), |id| id.to_string())
            ))
            .await?;
        let (count, same): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN content = $2 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM quick_replies WHERE staff_id IS NOT DISTINCT FROM $1",
        )
        .bind(owner)
        .bind(content)
        .fetch_one(&mut *tx)
        .await?;
        if same > 0 {
            return Err(Error::Conflict(
                "this quick reply is in the list already".to_owned(),
            ));
        }
        let limit = if team { MAX_TEAM } else { MAX_OWN };
        if count >= limit {
            return Err(Error::Conflict(format!(
                "a list holds at most {limit} quick replies"
            )));
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO quick_replies (staff_id, content, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(owner)
        .bind(content)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(QuickReply {
            id,
            content: content.to_owned(),
            team,
            deletable: true,
        })
    }

    /// Deletes one of `who`'s own quick replies, or (admins) one of the team's.
    pub async fn delete_quick_reply(&self, who: &Principal, id: i64) -> Result<()> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT staff_id FROM quick_replies WHERE id = $1")
                .bind(id)
                .fetch_optional(self.store().pool())
                .await?;
        match row {
            Some((Some(owner),)) if owner == who.id => {}
            Some((None,)) if who.role.is_admin() => {}
            Some((None,)) => {
                return Err(Error::Forbidden(
                    "only admins may keep the team's quick replies".to_owned(),
                ))
            }
            _ => return Err(Error::NotFound("no such quick reply".to_owned())),
        }
        sqlx::query("DELETE FROM quick_replies WHERE id = $1")
            .bind(id)
            .execute(self.store().pool())
            .await?;
        Ok(())
    }
}
