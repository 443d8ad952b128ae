//! Request middleware: the client address, the Origin check on the browser's
//! state-changing requests, and the API's body-size answer.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::extract::MAX_BODY;

/// Records the peer address as [`domain::auth::ClientIp`] for throttling and
/// the audit log. Kefu listens on loopback or behind a proxy the operator
/// runs; `X-Forwarded-For` is not trusted, so a client cannot pick its key.
pub async fn client_ip(mut req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    req.extensions_mut().insert(domain::auth::ClientIp(ip));
    next.run(req).await
}

/// A state-changing request that carries the session cookie must come from a
/// page of this site: its `Origin` (or, failing that, `Referer`) must name
/// the host the request was sent to. So must every state-changing call of a
/// server function (`/sfn/…`), cookie or not: only the panel's own pages call
/// them, and a page elsewhere must not sign a browser in to an account of
/// its choosing (or out). Requests authenticated by a bearer token carry no
/// ambient credentials and are not checked.
pub async fn origin_check(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let ambient = app::auth::ssr::session_token(req.headers()).is_some()
        || req.uri().path().starts_with("/sfn/");
    if !safe && ambient && !same_origin(req.headers()) {
        return ApiError::Domain(domain::Error::Forbidden(
            "cross-origin request refused".to_owned(),
        ))
        .into_response();
    }
    next.run(req).await
}

pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    let Some(source) = source else {
        return false;
    };
    let authority = source
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
        .unwrap_or("");
    authority.eq_ignore_ascii_case(host)
}

/// Refuses an API body announced as larger than 1 MiB with the API's 413
/// answer before reading it (bodies without a length are cut by the
/// extractor's limit, with the same answer).
pub async fn api_body_limit(req: Request, next: Next) -> Response {
    if announced_over(req.headers(), MAX_BODY) {
        return ApiError::TooLarge(MAX_BODY >> 20).into_response();
    }
    next.run(req).await
}

/// Whether the request's `Content-Length` says its body is over `limit`.
pub fn announced_over(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > limit)
}

/// The API's answer for a path it does not have.
pub async fn api_not_found() -> Response {
    ApiError::NoRoute.into_response()
}

/// The API's answer for a path it has, called with a method it does not
/// serve there (the API's envelope instead of axum's empty 405).
pub async fn api_wrong_method(method: Method) -> Response {
    ApiError::NoMethod(method.to_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(host: &str, origin: Option<&str>, referer: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        if let Some(r) = referer {
            h.insert(header::REFERER, HeaderValue::from_str(r).unwrap());
        }
        h
    }

    #[test]
    fn origin_must_match_host() {
        assert!(same_origin(&headers(
            "127.0.0.1:3000",
            Some("http://127.0.0.1:3000"),
            None
        )));
        assert!(!same_origin(&headers(
            "127.0.0.1:3000",
            Some("http://evil.example"),
            None
        )));
        assert!(!same_origin(&headers(
            "127.0.0.1:3000",
            Some("http://127.0.0.1:3001"),
            None
        )));
        assert!(same_origin(&headers(
            "kefu.example",
            None,
            Some("https://kefu.example/login")
        )));
        assert!(!same_origin(&headers("kefu.example", None, None)));
        assert!(!same_origin(&headers("kefu.example", Some("null"), None)));
    }
}
