//! The one error type of the domain. Each variant names what went wrong in
//! domain words; `server` maps it to an HTTP status and envelope, `app` to a
//! message the user can act on. `Internal` carries context for the log only.

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: `field` names it, `message` says what is wrong.
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    /// No credentials, bad credentials or a dead token. The text is safe to show.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The right password for an account that is disabled.
    #[error("account disabled")]
    AccountDisabled,
    /// Authenticated but not allowed. The text is safe to show.
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// Too many attempts (sign-ins, uploads, HTTP chat sends); try again
    /// after this many seconds.
    #[error("rate limited for {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    /// Anything else. Never shown to a user; logged with a request id.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub fn internal(context: impl std::fmt::Display) -> Self {
        Error::Internal(context.to_string())
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Internal(format!("database: {e}"))
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Internal(format!("database: {e}"))
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Error::Internal(format!("migration: {e}"))
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(format!("blocking task: {e}"))
    }
}

/// `value` trimmed, refused when that leaves nothing or more than `max`
/// characters (the message content's and the quick reply's rule).
pub(crate) fn required_text<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str> {
    let text = value.trim();
    if text.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(text)
}
