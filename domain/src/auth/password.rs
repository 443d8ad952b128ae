//! Staff passwords: argon2id with the OWASP parameters (19 MiB, 2 passes,
//! 1 lane), hashed and verified on tokio's blocking pool so a sign-in never
//! stalls the async workers.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::{Error, Result};

/// OWASP Password Storage Cheat Sheet: m=19456 KiB, t=2, p=1.
pub const MEMORY_KIB: u32 = 19_456;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks the length rule of API.md (8–128 characters).
pub fn validate(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < 8 {
        return Err(Error::invalid("password", "must be at least 8 characters"));
    }
    if n > 128 {
        return Err(Error::invalid("password", "must be at most 128 characters"));
    }
    Ok(())
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_blocking(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("argon2 hash: {e}")))
}

/// True when `password` matches the PHC string `hash`. A malformed hash is
/// an internal error, never a match.
pub fn verify_blocking(password: &str, hash: &str) -> Result<bool> {
    let parsed =
        PasswordHash::new(hash).map_err(|e| Error::internal(format!("stored hash: {e}")))?;
    Ok(hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// Password hashes computed at once: each takes 19 MiB and tens of
/// milliseconds of a core, so a flood of sign-ins waits its turn here
/// instead of exhausting memory.
/// The turn is held by the hashing thread itself: a request dropped while
/// its hash runs (the client went away) does not free a turn early.
static AT_ONCE: std::sync::LazyLock<std::sync::Arc<tokio::sync::Semaphore>> =
    std::sync::LazyLock::new(|| std::sync::Arc::new(tokio::sync::Semaphore::new(4)));

async fn in_turn<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let turn = AT_ONCE
        .clone()
        .acquire_owned()
        .await
        .map_err(Error::internal)?;
    Ok(tokio::task::spawn_blocking(move || {
        let _turn = turn;
        work()
    })
    .await?)
}

pub async fn hash(password: String) -> Result<String> {
    in_turn(move || hash_blocking(&password)).await?
}

pub async fn verify(password: String, hash: String) -> Result<bool> {
    in_turn(move || verify_blocking(&password, &hash)).await?
}

/// A hash of a password nobody knows, verified against when the username
/// does not exist so that both answers take the same time.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        hash_blocking(&crate::secrets::random_token(32)).expect("hash a decoy password")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = hash_blocking("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_blocking("correct horse battery", &h).unwrap());
        assert!(!verify_blocking("correct horse batterY", &h).unwrap());
        assert!(!verify_blocking("", &h).unwrap());
    }

    #[test]
    fn same_password_gets_a_new_salt() {
        let a = hash_blocking("pa55word!").unwrap();
        let b = hash_blocking("pa55word!").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn malformed_hash_is_an_error_not_a_match() {
        assert!(verify_blocking("x", "not a hash").is_err());
    }

    #[test]
    fn length_rules() {
        assert!(validate("1234567").is_err());
        assert!(validate("12345678").is_ok());
        assert!(validate(&"x".repeat(128)).is_ok());
        let Err(Error::Invalid { field, .. }) = validate(&"x".repeat(129)) else {
            panic!("129 chars accepted")
        };
        assert_eq!(field, "password");
    }

    #[tokio::test]
    async fn async_wrappers_agree() {
        let h = hash("pa55word!".into()).await.unwrap();
        assert!(verify("pa55word!".into(), h.clone()).await.unwrap());
        assert!(!verify("pa55word?".into(), h).await.unwrap());
    }
}
