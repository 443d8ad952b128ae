//! Request middleware: the client address, the Origin check on the browser's
//! state-changing requests, and the API's body-size answer.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use ipnet::IpNet;

use crate::error::ApiError;
use crate::extract::MAX_BODY;
use crate::AppState;

/// Records the client's address as [`domain::auth::ClientIp`] for the
/// sign-in limits and the audit log: the TCP peer, unless the peer is one of
/// the operator's reverse proxies (`KEFU_TRUSTED_PROXIES`), in which case
/// [`client_address`] reads `X-Forwarded-For`. A client can never pick its
/// own key: the header counts only when a trusted proxy sent it.
pub async fn client_ip(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| client_address(c.0.ip(), req.headers(), &state.trusted_proxies).to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    req.extensions_mut().insert(domain::auth::ClientIp(ip));
    next.run(req).await
}

/// Who sent a request that reached Kefu from `peer`. Each proxy appends the
/// address it heard from to `X-Forwarded-For`, so the list is read from its
/// end: past every trusted proxy, the first address that is not one is the
/// client. What cannot be read stops the walk at the last trusted hop.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    // A server listening on `[::]` hears IPv4 peers as `::ffff:a.b.c.d`.
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = hop_address(hop) else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:443`), as some proxies write it.
fn hop_address(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<SocketAddr>()
        .ok()
        .map(|a| a.ip().to_canonical())
}

/// `KEFU_TRUSTED_PROXIES`: addresses (a single host) or CIDR ranges.
pub fn parse_proxies(entries: &[String]) -> Result<Vec<IpNet>, String> {
    entries
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.parse::<IpNet>()
                .or_else(|_| e.parse::<IpAddr>().map(|ip| IpNet::from(ip.to_canonical())))
                .map_err(|_| {
                    format!("KEFU_TRUSTED_PROXIES: `{e}` is not an IP address or CIDR range")
                })
        })
        .collect()
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

/// How long a page abandoned by its browser may go on rendering.
const ABANDONED_RENDER_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a page's reactive state outlives the page's last byte. A task
/// spawned during the render (leptos_i18n's effect that writes the language
/// cookie runs on the server too) may be polled for the first time only
/// after the render ended, and then reads signals that the end freed: seen
/// once in 720 abandoned loads (`tests/abandoned_pages.rs`). Such a task
/// waits for nothing but a worker, so a quarter of a second is plenty.
const PAGE_STATE_GRACE: std::time::Duration = std::time::Duration::from_millis(250);

/// Renders every page to its end, whether or not its browser is still
/// there. Leptos frees a page's reactive state when the render's future or
/// its response body is dropped, while tasks of that render may still be
/// running, and those then panic on what was freed ("already been
/// disposed", "context is missing"; the kin of leptos-rs/leptos#4829).
/// Browsers drop page loads all the time (a link clicked while the page
/// streams, a reload), so a page is rendered by a task of its own, which
/// the browser leaving does not cancel, and the body of an HTML answer is
/// read by another that hands it on while the browser reads and, once the
/// browser left, reads the rest and throws it away (for up to
/// [`ABANDONED_RENDER_LIMIT`]). The API, server functions and assets pass
/// untouched.
pub async fn finish_pages(req: Request, next: Next) -> Response {
    use futures_util::StreamExt;

    let path = req.uri().path();
    if ["/api/", "/sfn/", "/pkg/"]
        .iter()
        .any(|p| path.starts_with(p))
    {
        return next.run(req).await;
    }
    let res = match tokio::spawn(next.run(req)).await {
        Ok(res) => res,
        Err(e) => {
            tracing::error!("a page's render failed: {e}");
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !html {
        return res;
    }
    let (parts, body) = res.into_parts();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, axum::Error>>(4);
    tokio::spawn(async move {
        let mut chunks = body.into_data_stream();
        while let Some(chunk) = chunks.next().await {
            if tx.send(chunk).await.is_err() {
                let rest = async { while chunks.next().await.is_some() {} };
                if tokio::time::timeout(ABANDONED_RENDER_LIMIT, rest)
                    .await
                    .is_err()
                {
                    tracing::warn!(
                        "a page left by its browser was still rendering after {:?}",
                        ABANDONED_RENDER_LIMIT
                    );
                }
                break;
            }
        }
        // The browser has its end; the page's reactive state (freed with
        // the body) is kept a moment longer for the tasks the render
        // spawned and nobody awaits.
        drop(tx);
        tokio::time::sleep(PAGE_STATE_GRACE).await;
        drop(chunks);
    });
    // Keeps answering "the end" when polled again after it (compression does).
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Response::from_parts(parts, axum::body::Body::from_stream(stream))
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
    fn the_client_is_the_peer_unless_a_trusted_proxy_forwarded_it() {
        let trusted = parse_proxies(&["10.0.0.0/8".into(), " 192.168.1.5 ".into()]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let forwarded = |list: &[&str]| {
            let mut h = HeaderMap::new();
            for v in list {
                h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
            }
            h
        };
        // No proxy configured, or a peer that is not one: the header is ignored.
        let h = forwarded(&["6.6.6.6"]);
        assert_eq!(client_address(ip("10.1.2.3"), &h, &[]), ip("10.1.2.3"));
        assert_eq!(client_address(ip("8.8.8.8"), &h, &trusted), ip("8.8.8.8"));
        // Through one proxy, then through two (both trusted).
        assert_eq!(client_address(ip("10.1.2.3"), &h, &trusted), ip("6.6.6.6"));
        let h = forwarded(&["6.6.6.6, 192.168.1.5"]);
        assert_eq!(client_address(ip("10.1.2.3"), &h, &trusted), ip("6.6.6.6"));
        // A client's own X-Forwarded-For in front is not believed: the
        // nearest untrusted hop is the client.
        let h = forwarded(&["1.1.1.1", "7.7.7.7"]);
        assert_eq!(client_address(ip("10.1.2.3"), &h, &trusted), ip("7.7.7.7"));
        // Garbage stops the walk at the last trusted hop; no header, the proxy.
        let h = forwarded(&["1.1.1.1, not-an-ip, 10.9.9.9"]);
        assert_eq!(client_address(ip("10.1.2.3"), &h, &trusted), ip("10.9.9.9"));
        assert_eq!(
            client_address(ip("10.1.2.3"), &HeaderMap::new(), &trusted),
            ip("10.1.2.3")
        );
        // IPv4 heard over IPv6, ports in the header.
        let h = forwarded(&["6.6.6.6:5678, [2001:db8::7]:443"]);
        assert_eq!(
            client_address(ip("::ffff:10.1.2.3"), &h, &trusted),
            ip("2001:db8::7")
        );
        let h = forwarded(&["6.6.6.6:5678"]);
        assert_eq!(
            client_address(ip("::ffff:10.1.2.3"), &h, &trusted),
            ip("6.6.6.6")
        );
        assert!(parse_proxies(&["10.0.0.0/33".into()])
            .unwrap_err()
            .contains("`10.0.0.0/33`"));
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
