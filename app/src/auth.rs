//! Server functions of the panel's sign-in: thin wrappers that read the
//! session cookie, call `domain`, and set or clear the cookie.
//!
//! Errors travel as short codes (`invalid_credentials`, `disabled`,
//! `rate_limited:<secs>`, `invalid:<field>`, `internal:<request id>`) that
//! the login page turns into a translated message.

use leptos::prelude::*;
use protocol::UserInfo;

/// The HttpOnly cookie that carries the panel's token.
pub const SESSION_COOKIE: &str = "kefu_session";
/// The HttpOnly cookie that marks a browser its staff member signed in
/// from (sent to the sign-in only): a username locked by someone else's
/// wrong passwords still signs in there (`domain::auth::throttle`).
pub const DEVICE_COOKIE: &str = "kefu_device";

/// Signs a staff member in and sets the session cookie. Answers the path
/// to land on.
#[server(prefix = "/sfn", endpoint = "login")]
pub async fn login(username: String, password: String) -> Result<String, ServerFnError> {
    use domain::auth::LoginKind;
    let kefu = ssr::kefu()?;
    let parts = ssr::parts()?;
    let known = ssr::cookie(&parts.headers, DEVICE_COOKIE);
    let (session, device) = kefu
        .login_on_device(
            LoginKind::Staff,
            &username,
            &password,
            &ssr::client_ip(&parts),
            known.as_deref(),
        )
        .await
        .map_err(ssr::to_server_error)?;
    ssr::set_session_cookie(&parts, &session.token, session.expires_at);
    if let Some(device) = device {
        ssr::set_device_cookie(&parts, &device);
    }
    Ok(crate::nav::landing(session.user.user_type).to_owned())
}

/// Revokes the session's token and clears the cookie.
#[server(prefix = "/sfn", endpoint = "logout")]
pub async fn logout() -> Result<(), ServerFnError> {
    let kefu = ssr::kefu()?;
    let parts = ssr::parts()?;
    if let Some(token) = ssr::session_token(&parts.headers) {
        if let Ok((who, _)) = kefu.authenticate(&token).await {
            kefu.logout(&who).await.map_err(ssr::to_server_error)?;
        }
    }
    ssr::clear_session_cookie(&parts);
    Ok(())
}

/// The signed-in staff member, or `None` without a live session.
#[server(prefix = "/sfn", endpoint = "me")]
pub async fn current_user() -> Result<Option<UserInfo>, ServerFnError> {
    let kefu = ssr::kefu()?;
    let parts = ssr::parts()?;
    let Some(token) = ssr::session_token(&parts.headers) else {
        return Ok(None);
    };
    match kefu.authenticate(&token).await {
        Ok((_, staff)) => Ok(Some(staff.user_info(kefu.clock()))),
        Err(domain::Error::Unauthenticated(_)) => Ok(None),
        Err(e) => Err(ssr::to_server_error(e)),
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Request plumbing shared by the server functions.

    use super::{DEVICE_COOKIE, SESSION_COOKIE};
    use http::header::{COOKIE, SET_COOKIE};
    use http::request::Parts;
    use http::{HeaderMap, HeaderValue};
    use leptos::prelude::*;

    pub fn kefu() -> Result<domain::Kefu, ServerFnError> {
        use_context::<domain::Kefu>().ok_or_else(|| ServerFnError::new("internal:no-context"))
    }

    pub fn parts() -> Result<Parts, ServerFnError> {
        use_context::<Parts>().ok_or_else(|| ServerFnError::new("internal:no-request"))
    }

    /// The signed-in staff member behind the session cookie, with the
    /// request's address for the audit log.
    pub async fn principal() -> Result<domain::Principal, ServerFnError> {
        let kefu = kefu()?;
        let parts = parts()?;
        let token =
            session_token(&parts.headers).ok_or_else(|| ServerFnError::new("unauthenticated"))?;
        let (mut who, _) = kefu.authenticate(&token).await.map_err(to_server_error)?;
        who.ip = client_ip(&parts);
        Ok(who)
    }

    /// The peer address the server recorded for this request.
    pub fn client_ip(parts: &Parts) -> String {
        parts
            .extensions
            .get::<domain::auth::ClientIp>()
            .map(|ip| ip.0.clone())
            .unwrap_or_else(|| "unknown".to_owned())
    }

    pub fn session_token(headers: &HeaderMap) -> Option<String> {
        cookie(headers, SESSION_COOKIE)
    }

    /// The value of the request's cookie `name`, if set and not empty.
    pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value.to_owned())
            .filter(|v| !v.is_empty())
    }

    fn secure(parts: &Parts) -> &'static str {
        let https = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"));
        if https {
            "; Secure"
        } else {
            ""
        }
    }

    pub fn set_session_cookie(parts: &Parts, token: &str, expires_at_secs: i64) {
        let max_age = (expires_at_secs - domain::time::now_ms() / 1000).max(0);
        set_cookie(format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
            secure(parts)
        ));
    }

    /// Kept across sign-outs: it names the browser, not a session.
    pub fn set_device_cookie(parts: &Parts, device: &str) {
        set_cookie(format!(
            "{DEVICE_COOKIE}={device}; Path=/sfn/login; HttpOnly; SameSite=Strict; Max-Age={}{}",
            domain::auth::DEVICE_TTL_SECS,
            secure(parts)
        ));
    }

    pub fn clear_session_cookie(parts: &Parts) {
        set_cookie(format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
            secure(parts)
        ));
    }

    fn set_cookie(value: String) {
        if let (Some(response), Ok(value)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            HeaderValue::from_str(&value),
        ) {
            response.append_header(SET_COOKIE, value);
        }
    }

    /// Maps a domain error to the code the UI translates. Internal details
    /// are logged with a request id and never sent.
    pub fn to_server_error(e: domain::Error) -> ServerFnError {
        use domain::Error::*;
        // The HTTP status says what kind of failure it is (a refused input is
        // not a server error to the browser's console or to monitoring).
        let status = match &e {
            Unauthenticated(_) => 401,
            AccountDisabled | Forbidden(_) => 403,
            Invalid { .. } => 400,
            NotFound(_) => 404,
            Conflict(_) => 409,
            RateLimited { .. } => 429,
            Internal(_) => 500,
        };
        if let (Some(response), Ok(status)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::StatusCode::from_u16(status),
        ) {
            response.set_status(status);
        }
        let code = match e {
            Unauthenticated(m) if m == domain::auth::INVALID_CREDENTIALS => {
                "invalid_credentials".to_owned()
            }
            Unauthenticated(_) => "unauthenticated".to_owned(),
            AccountDisabled => "disabled".to_owned(),
            Forbidden(_) => "forbidden".to_owned(),
            RateLimited { retry_after_secs } => format!("rate_limited:{retry_after_secs}"),
            Invalid { field, message } => format!("invalid:{field}:{message}"),
            NotFound(m) => format!("not_found:{m}"),
            Conflict(m) => format!("conflict:{m}"),
            Internal(detail) => {
                let id = uuid_like();
                tracing::error!(request_id = %id, %detail, "server function failed");
                format!("internal:{id}")
            }
        };
        ServerFnError::new(code)
    }

    fn uuid_like() -> String {
        domain::secrets::random_token(12)
    }
}
