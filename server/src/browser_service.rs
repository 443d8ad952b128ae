//! Reads the browser service for the system page (API.md "Browser service
//! monitor", seed 000 §6): `GET /health`, `GET /pool/status` and
//! `GET /pool/usage` under the base URL of `KEFU_BROWSER_SERVICE_URL`.
//!
//! The three requests go out together, each with its own time limit
//! ([`TIMEOUT`]), and each answer is judged on its own: a refused
//! connection, no answer in time, a non-2xx status or a body that is not a
//! JSON object of the documented fields is reported as such, never as an
//! error page. Bodies are read up to [`MAX_BODY`]. Nothing is cached: every
//! look at the page asks the service again.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use domain::system::BrowserServiceProbe;
use protocol::system::{BrowserServiceReport, Probe, ProbeFailure};
use serde::de::DeserializeOwned;

use crate::StartError;

/// How long each endpoint may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// The largest body read from an endpoint.
pub const MAX_BODY: usize = 64 * 1024;

pub struct BrowserService {
    base: reqwest::Url,
    client: reqwest::Client,
    timeout: Duration,
}

impl BrowserService {
    /// Checks the setting: an absolute `http://` or `https://` URL.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, StartError> {
        let bad = |why: &str| {
            StartError(format!(
                "KEFU_BROWSER_SERVICE_URL: {why} (got `{url}`; e.g. http://10.0.0.5:8888)"
            ))
        };
        let base = reqwest::Url::parse(url.trim()).map_err(|_| bad("not a URL"))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(bad("must be an http:// or https:// URL with a host"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("must not have a query or a fragment"));
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("kefu/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .build()
            .map_err(|e| StartError(format!("KEFU_BROWSER_SERVICE_URL: {e}")))?;
        Ok(BrowserService {
            base,
            client,
            timeout,
        })
    }

    /// The base URL as the page shows it: without a user name or password.
    pub fn shown_url(&self) -> String {
        let mut shown = self.base.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        shown.as_str().trim_end_matches('/').to_owned()
    }

    /// `path` under the base URL, which may carry a prefix of its own.
    fn endpoint(&self, path: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        let joined = format!("{}{path}", self.base.path().trim_end_matches('/'));
        url.set_path(&joined);
        url
    }

    async fn read<T: DeserializeOwned>(&self, path: &str) -> Probe<T> {
        let started = Instant::now();
        let failure = match tokio::time::timeout(self.timeout, self.fetch(path)).await {
            Err(_) => self.timed_out(),
            Ok(Err(failure)) => failure,
            Ok(Ok(body)) => match parse::<T>(&body) {
                Ok(body) => {
                    return Probe::Answered {
                        millis: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
                        body,
                    }
                }
                Err(why) => ProbeFailure::BadBody(why),
            },
        };
        tracing::debug!(path, ?failure, "browser service check failed");
        Probe::Failed { failure }
    }

    fn timed_out(&self) -> ProbeFailure {
        ProbeFailure::Timeout(u32::try_from(self.timeout.as_millis()).unwrap_or(u32::MAX))
    }

    fn failure_of(&self, e: &reqwest::Error) -> ProbeFailure {
        if e.is_timeout() {
            self.timed_out()
        } else if e.is_connect() {
            ProbeFailure::Unreachable
        } else {
            // A connection that broke off mid-answer, or an answer that is
            // not HTTP.
            ProbeFailure::BadBody("the answer is not a complete HTTP response".to_owned())
        }
    }

    async fn fetch(&self, path: &str) -> Result<Vec<u8>, ProbeFailure> {
        let mut response = self
            .client
            .get(self.endpoint(path))
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.failure_of(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ProbeFailure::Status(status.as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.failure_of(&e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ProbeFailure::BadBody(format!(
                    "the body is over {} KiB",
                    MAX_BODY / 1024
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// A JSON object with the documented fields (missing ones are blanks;
/// one of the wrong type is a bad body).
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    if !value.is_object() {
        return Err("not a JSON object".to_owned());
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

impl BrowserServiceProbe for BrowserService {
    fn check(&self) -> Pin<Box<dyn Future<Output = BrowserServiceReport> + Send + '_>> {
        Box::pin(async move {
            let (health, pool, usage) = tokio::join!(
                self.read("/health"),
                self.read("/pool/status"),
                self.read("/pool/usage"),
            );
            BrowserServiceReport {
                url: self.shown_url(),
                health,
                pool,
                usage,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_must_be_an_http_url() {
        for bad in [
            "",
            "10.0.0.5:8888",
            "ftp://host/",
            "http://",
            "http://h/?a=1",
        ] {
            let e = BrowserService::new(bad, TIMEOUT).err().expect(bad);
            assert!(e.0.starts_with("KEFU_BROWSER_SERVICE_URL: "), "{}", e.0);
        }
        let s = BrowserService::new("https://user:pw@example.com:8888/svc/", TIMEOUT).unwrap();
        assert_eq!(s.shown_url(), "https://example.com:8888/svc");
        assert_eq!(
            s.endpoint("/pool/status").as_str(),
            "https://user:pw@example.com:8888/svc/pool/status"
        );
        let s = BrowserService::new("http://10.0.0.5:8888", TIMEOUT).unwrap();
        assert_eq!(
            s.endpoint("/health").as_str(),
            "http://10.0.0.5:8888/health"
        );
    }

    #[test]
    fn bodies_are_objects_of_the_documented_fields() {
        use protocol::system::PoolStatus;
        assert!(parse::<PoolStatus>(b"[1,2]")
            .unwrap_err()
            .contains("object"));
        assert!(parse::<PoolStatus>(b"<html>")
            .unwrap_err()
            .starts_with("not JSON"));
        let e = parse::<PoolStatus>(br#"{"total_browsers":"eight"}"#).unwrap_err();
        assert!(e.contains("invalid type"), "{e}");
        let p = parse::<PoolStatus>(br#"{"total_browsers":8}"#).unwrap();
        assert_eq!(p.total_browsers, Some(8));
    }
}
