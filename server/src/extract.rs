//! Extractors of the REST API: JSON bodies whose errors name the field, and
//! the authenticated staff member.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::AppState;

/// The largest body the API reads.
pub const MAX_BODY: usize = 1024 * 1024;

/// A JSON body. Malformed JSON, a missing field or a field of the wrong type
/// is a 400 whose `detail` names the field; over 1 MiB is a 413.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(MAX_BODY >> 20)
            } else {
                ApiError::BadRequest("body: could not be read".to_owned())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses `bytes` as `T`, describing the first problem by field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "body: a JSON object is required".to_owned(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(describe)?;
    de.end().map_err(|_| {
        ApiError::BadRequest("body: unexpected data after the JSON value".to_owned())
    })?;
    Ok(value)
}

fn describe(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::BadRequest(format!(
            "body: malformed JSON at line {}, column {}",
            inner.line(),
            inner.column()
        ));
    }
    // serde_json appends " at line L column C"; the field says more.
    let message = inner.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map(|(m, _)| m.to_owned())
        .unwrap_or(message);
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let field = if path == "." {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        };
        return ApiError::BadRequest(format!("{field}: is required"));
    }
    let field = if path == "." { "body".to_owned() } else { path };
    ApiError::BadRequest(format!("{field}: {message}"))
}

/// A query string; an undecodable one is a 400 naming the problem.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|r| ApiError::BadRequest(format!("query: {}", r.body_text())))
    }
}

/// A path parameter; `id` segments that are not integers are a 400.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|_| ApiError::BadRequest("path: the id must be a whole number".to_owned()))
    }
}

/// The staff member behind `Authorization: Bearer …`, the `token` query
/// parameter, or the panel's session cookie. A player's chat token here is
/// a 403 (API.md: a valid token of the wrong role).
pub struct AuthStaff {
    pub principal: domain::Principal,
    pub staff: domain::staff::Staff,
}

impl FromRequestParts<AppState> for AuthStaff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = explicit_token(parts)
            .or_else(|| app::auth::ssr::session_token(&parts.headers))
            .ok_or_else(missing_token)?;
        let (mut principal, staff) = match state.kefu.authenticate(&token).await {
            Ok(found) => found,
            // A valid player token is the wrong role, not a bad token.
            Err(e) => {
                if state.kefu.authenticate_player(&token).await.is_ok() {
                    return Err(domain::Error::Forbidden(
                        "this needs a staff account; a player token was sent".to_owned(),
                    )
                    .into());
                }
                return Err(e.into());
            }
        };
        principal.ip = app::auth::ssr::client_ip(parts);
        Ok(AuthStaff { principal, staff })
    }
}

/// The player behind a chat token (`Authorization: Bearer …` or `token`).
/// A staff token here is a 403: player chat is for players.
pub struct AuthPlayer {
    pub account: String,
}

impl FromRequestParts<AppState> for AuthPlayer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = explicit_token(parts).ok_or_else(missing_token)?;
        match state.kefu.authenticate_player(&token).await {
            Ok((account, _)) => Ok(AuthPlayer { account }),
            Err(e) => {
                if state.kefu.authenticate(&token).await.is_ok() {
                    Err(
                        domain::Error::Forbidden("player chat needs a player token".to_owned())
                            .into(),
                    )
                } else {
                    Err(e.into())
                }
            }
        }
    }
}

/// `Authorization: Bearer …`, else the `token` query parameter.
fn explicit_token(parts: &Parts) -> Option<String> {
    bearer_in(&parts.headers).or_else(|| query_token(parts))
}

fn missing_token() -> domain::Error {
    domain::Error::Unauthenticated("missing token".to_owned())
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_in(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn query_token(parts: &Parts) -> Option<String> {
    parts
        .uri
        .query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "token")
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Login {
        username: String,
        password: String,
    }

    fn detail(body: &str) -> String {
        match parse_json::<Login>(body.as_bytes()) {
            Err(ApiError::BadRequest(d)) => d,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn names_the_field() {
        assert_eq!(detail(r#"{"username":"a"}"#), "password: is required");
        assert_eq!(
            detail(r#"{"username":5,"password":"x"}"#),
            "username: invalid type: integer `5`, expected a string"
        );
        assert!(detail(r#"{"username":"#).starts_with("body: malformed JSON"));
        assert_eq!(detail(""), "body: a JSON object is required");
        assert!(detail(r#"{"username":"a","password":"b"} x"#).starts_with("body:"));
        assert!(parse_json::<Login>(br#"{"username":"a","password":"b","extra":1}"#).is_ok());
    }
}
