//! Browsers abandon page loads all the time (a click on a link while the
//! page streams, a reload, a closed tab). Leptos renders a page in tasks of
//! its own and frees the page's reactive state when the response is
//! dropped, so a render still running then used to panic the worker
//! ("already been disposed", "context is missing"). The server renders
//! each page to its end whoever is still listening; this test abandons
//! hundreds of page loads at random points and counts the panics.
//!
//! A test binary of its own: the panic hook it installs is process-wide.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{TestServer, ADMIN_PASSWORD};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends a GET for `path` and hangs up after `wait` (having read a little
/// of the answer, or not), with a reset as a closed tab does.
async fn abandon(addr: &str, path: &str, cookie: &str, wait: Duration, read_some: bool) {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return;
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/html\r\nCookie: {cookie}\r\n\r\n"
    );
    let _ = s.write_all(request.as_bytes()).await;
    tokio::time::sleep(wait).await;
    if read_some {
        let _ = tokio::time::timeout(Duration::from_millis(50), s.read(&mut [0u8; 64])).await;
    }
    let _ = s.set_zero_linger();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_page_loads_do_not_panic_the_server() {
    let panics = Arc::new(AtomicUsize::new(0));
    let counted = panics.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counted.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));

    let s = TestServer::start().await;
    let cookie = s.panel_cookie("admin", ADMIN_PASSWORD).await;
    let addr = s.base.trim_start_matches("http://").to_owned();
    let pages = [
        "/",
        "/desk",
        "/players",
        "/players?keyword=a",
        "/players/no.such.player",
        "/widget?token=not-a-token",
        "/analytics",
        "/staff",
        "/audit",
        "/system",
        "/login",
        "/no-such-page",
    ];
    let waits = [0u64, 200, 1_000, 3_000, 8_000, 20_000];
    let mut loads = 0usize;
    for round in 0..60 {
        for (i, page) in pages.iter().enumerate() {
            let wait = Duration::from_micros(waits[(round + i) % waits.len()]);
            abandon(&addr, page, &cookie, wait, (round + i) % 2 == 0).await;
            loads += 1;
        }
    }
    assert_eq!(loads, 720);
    // Renders left running finish after their browsers left.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The server still answers, whole pages too, compressed as browsers
    // ask, and nothing panicked along the way.
    for page in pages {
        let r = s
            .http
            .get(s.url(page))
            .header("cookie", &cookie)
            .header("accept", "text/html")
            .header("accept-encoding", "gzip, br")
            .send()
            .await
            .unwrap();
        assert!(r.status().as_u16() < 500, "{page}: {}", r.status());
        assert!(!r.bytes().await.unwrap().is_empty(), "{page}");
    }
    let r = s.http.get(s.url("/login")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("</html>"));
    let panicked = panics.load(Ordering::SeqCst);
    s.stop().await;
    assert_eq!(
        panicked, 0,
        "{panicked} panics in {loads} abandoned page loads"
    );
}
