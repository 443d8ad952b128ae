//! The browser service monitor over loopback: Kefu's HTTP probe against a
//! stub browser service (the real one is a program outside Kefu; the stub
//! answers what seed 000 §6 describes, or fails in the ways a real one can),
//! and the system page and its server function as staff see them.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use common::{TestServer, ADMIN, AGENT};
use domain::system::BrowserServiceProbe;
use protocol::system::{Probe, ProbeFailure};
use server::browser_service::{BrowserService, MAX_BODY};

/// Serves `router` on a loopback port; answers its base URL.
async fn stub(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn json(body: &'static str) -> impl IntoResponse {
    ([("content-type", "application/json")], body)
}

/// A browser service that is well: seed 000 §6's three answers.
fn healthy() -> Router {
    Router::new()
        .route(
            "/health",
            get(|| async {
                json(r#"{"status":"healthy","uptime":90061.5,"version":"2.3.1","timestamp":"2026-11-24T12:00:00Z"}"#)
            }),
        )
        .route(
            "/pool/status",
            get(|| async {
                json(r#"{"total_browsers":8,"active_browsers":5,"idle_browsers":3,"failed_browsers":0,"pool_health":"healthy"}"#)
            }),
        )
        .route(
            "/pool/usage",
            get(|| async {
                json(r#"{"total_contexts":40,"used_contexts":30,"available_contexts":10,"usage_percentage":75.0}"#)
            }),
        )
}

#[tokio::test]
async fn a_healthy_service_is_read_in_full_under_a_path_prefix() {
    let base = stub(Router::new().nest("/svc", healthy())).await;
    let probe = BrowserService::new(&format!("{base}/svc/"), Duration::from_secs(3)).unwrap();
    let r = probe.check().await;
    assert_eq!(r.url, format!("{base}/svc"));
    let Probe::Answered { body: h, .. } = r.health else {
        panic!("{:?}", r.health)
    };
    assert_eq!(h.status.as_deref(), Some("healthy"));
    assert_eq!(h.uptime, Some(90061.5));
    assert_eq!(h.version.as_deref(), Some("2.3.1"));
    let Probe::Answered { body: p, .. } = r.pool else {
        panic!("{:?}", r.pool)
    };
    assert_eq!(
        (p.total_browsers, p.active_browsers, p.idle_browsers),
        (Some(8), Some(5), Some(3))
    );
    let Probe::Answered { body: u, .. } = r.usage else {
        panic!("{:?}", r.usage)
    };
    assert_eq!(u.usage_percentage, Some(75.0));
    assert_eq!(u.used_contexts, Some(30));
}

#[tokio::test]
async fn each_endpoint_fails_on_its_own_and_says_why() {
    let base = stub(
        Router::new()
            // Slower than the limit: a timeout, not a hang.
            .route(
                "/health",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    json("{}")
                }),
            )
            .route(
                "/pool/status",
                get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "pool is restarting") }),
            )
            .route("/pool/usage", get(|| async { "<html>oops</html>" })),
    )
    .await;
    // A limit the quick two answer well within on a busy machine.
    let probe = BrowserService::new(&base, Duration::from_millis(1500)).unwrap();
    let started = Instant::now();
    let r = probe.check().await;
    // The three go out together: the whole check takes one time limit.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        r.health,
        Probe::Failed {
            failure: ProbeFailure::Timeout(1500)
        }
    );
    assert_eq!(
        r.pool,
        Probe::Failed {
            failure: ProbeFailure::Status(503)
        }
    );
    assert!(
        matches!(&r.usage, Probe::Failed { failure: ProbeFailure::BadBody(why) } if why.starts_with("not JSON")),
        "{:?}",
        r.usage
    );
}

#[tokio::test]
async fn wrong_fields_and_huge_bodies_are_bad_answers_and_missing_fields_blanks() {
    let huge: &'static str =
        Box::leak(format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX_BODY)).into_boxed_str());
    let base = stub(
        Router::new()
            .route("/health", get(|| async { json(r#"{"status":"ok"}"#) }))
            .route("/pool/status", get(move || async move { json(huge) }))
            .route(
                "/pool/usage",
                get(|| async { json(r#"{"used_contexts":"three"}"#) }),
            ),
    )
    .await;
    let r = BrowserService::new(&base, Duration::from_secs(3))
        .unwrap()
        .check()
        .await;
    let Probe::Answered { body: h, .. } = r.health else {
        panic!("{:?}", r.health)
    };
    assert_eq!((h.status.as_deref(), h.version), (Some("ok"), None));
    assert!(
        matches!(&r.pool, Probe::Failed { failure: ProbeFailure::BadBody(why) } if why.contains("64 KiB")),
        "{:?}",
        r.pool
    );
    assert!(
        matches!(&r.usage, Probe::Failed { failure: ProbeFailure::BadBody(why) } if why.contains("invalid type")),
        "{:?}",
        r.usage
    );
}

#[tokio::test]
async fn a_service_that_is_not_there_is_unreachable() {
    // A port that was free a moment ago: nothing listens on it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let r = BrowserService::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(3))
        .unwrap()
        .check()
        .await;
    assert_eq!(failure(&r.health), Some(&ProbeFailure::Unreachable));
    assert_eq!(failure(&r.pool), Some(&ProbeFailure::Unreachable));
    assert_eq!(failure(&r.usage), Some(&ProbeFailure::Unreachable));
}

fn failure<T>(p: &Probe<T>) -> Option<&ProbeFailure> {
    match p {
        Probe::Failed { failure } => Some(failure),
        Probe::Answered { .. } => None,
    }
}

/// The text of the element with this test id (up to its first child).
fn text_of(html: &str, testid: &str) -> String {
    let at = html
        .find(&format!(r#"data-testid="{testid}""#))
        .unwrap_or_else(|| panic!("no {testid} in {html}"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest[start..].find('<').unwrap();
    rest[start..start + end].to_owned()
}

async fn page(s: &TestServer, cookie: &str) -> (u16, String) {
    let r = s
        .http
        .get(s.url("/system"))
        .header("accept", "text/html")
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn the_system_page_shows_kefu_and_the_service_to_admins_only() {
    let s = TestServer::start().await;
    let admin = s.panel_cookie(ADMIN.0, ADMIN.1).await;

    // Not configured: said so, not an error page.
    let (status, html) = page(&s, &admin).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="bs-unconfigured""#), "{html}");
    assert!(html.contains("KEFU_BROWSER_SERVICE_URL"));
    assert!(html.contains(r#"data-testid="kefu-database-value""#));

    let base = stub(healthy()).await;
    s.kefu
        .set_browser_service(Arc::new(
            BrowserService::new(&base, Duration::from_secs(3)).unwrap(),
        ))
        .unwrap();
    let (status, html) = page(&s, &admin).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-state="good""#), "{html}");
    assert_eq!(text_of(&html, "bs-total_browsers"), "8");
    assert_eq!(text_of(&html, "bs-usage_percentage"), "75.0 %");
    assert_eq!(text_of(&html, "bs-status"), "healthy");
    // 90,061 s: one day and one hour.
    assert!(html.contains("1 天 1 小时"), "{html}");

    // The server function answers the same to an admin, 403 to an agent.
    let call = |cookie: String| {
        s.http
            .post(s.url("/sfn/system_status"))
            .header("origin", &s.base)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("cookie", cookie)
            .body("{}")
            .send()
    };
    let r = call(admin.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        v["browser_service"]["pool"]["answered"]["body"]["total_browsers"],
        8
    );
    assert_eq!(v["kefu"]["staff_online"], 0);
    let agent = s.panel_cookie(AGENT.0, AGENT.1).await;
    assert_eq!(call(agent.clone()).await.unwrap().status(), 403);
    let (_, html) = page(&s, &agent).await;
    assert!(!html.contains("bs-total_browsers"), "{html}");
}

#[tokio::test]
async fn the_overview_figures_are_for_admins_only() {
    let s = TestServer::start().await;
    let call = |cookie: String| {
        s.http
            .post(s.url("/sfn/home_figures"))
            .header("origin", &s.base)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("cookie", cookie)
            .body("{}")
            .send()
    };
    let admin = s.panel_cookie(ADMIN.0, ADMIN.1).await;
    let r = call(admin).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    // (the desk right now, today's players): an empty database.
    assert_eq!(v[0]["chats_waiting"], 0, "{v}");
    assert_eq!(v[1]["new_users_today"], 0, "{v}");
    let agent = s.panel_cookie(AGENT.0, AGENT.1).await;
    assert_eq!(call(agent).await.unwrap().status(), 403);
}
