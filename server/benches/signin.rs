//! Sign-in benchmark: a real server on loopback (SQLite in a temporary
//! directory, argon2id with the OWASP parameters of `domain::auth::password`),
//! driven over HTTP.
//!
//!     cargo bench -p server --bench signin
//!
//! Prints the latency of sequential sign-ins (p50/p95/max) and the throughput
//! of concurrent sign-ins, then the same for `GET /api/me` (token check).

use std::time::{Duration, Instant};

use domain::time::BusinessClock;
use domain::{Kefu, Role};
use leptos::config::LeptosOptions;
use server::AppState;

const SEQUENTIAL: usize = 200;
const CONCURRENT: usize = 400;
const CONCURRENCY: usize = 8;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name}: n={} p50={:.2} ms p95={:.2} ms max={:.2} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.95).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = domain::Store::open(&domain::store::sqlite_url_in(dir.path()))
        .await
        .unwrap();
    let kefu = Kefu::new(store, b"bench-secret", BusinessClock::default());
    // Distinct usernames so the per-username throttle never applies.
    for i in 0..CONCURRENT {
        domain::staff::create(
            kefu.store(),
            &format!("agent{i}"),
            "bench-password",
            Role::Agent,
        )
        .await
        .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState {
        kefu: kefu.clone(),
        leptos_options: LeptosOptions::builder().output_name("kefu").build(),
        api_key: None,
        ws_idle: server::chat::IDLE_TIMEOUT,
        trusted_proxies: Default::default(),
    };
    tokio::spawn(server::launch(state, listener, std::future::pending()));
    let http = reqwest::Client::new();
    let login_url = format!("{base}/api/cs_login");
    let login = {
        let http = http.clone();
        move |i: usize| {
            let http = http.clone();
            let url = login_url.clone();
            async move {
                let r = http
                .post(url)
                .json(&serde_json::json!({"username": format!("agent{i}"), "password": "bench-password"}))
                .send()
                .await
                .unwrap();
                assert_eq!(r.status(), 200);
                let v: serde_json::Value = r.json().await.unwrap();
                v["access_token"].as_str().unwrap().to_owned()
            }
        }
    };
    println!(
        "argon2id m={} KiB t={} p={}; {} cores",
        domain::auth::password::MEMORY_KIB,
        domain::auth::password::PASSES,
        domain::auth::password::LANES,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    let _ = login(0).await; // warm-up
    let mut samples = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        let t = Instant::now();
        let _ = login(i % CONCURRENT).await;
        samples.push(t.elapsed());
    }
    report("sign-in, sequential", samples);

    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let per_task = CONCURRENT / CONCURRENCY;
    for c in 0..CONCURRENCY {
        let login = login.clone();
        tasks.spawn(async move {
            for i in 0..per_task {
                login(c * per_task + i).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = start.elapsed();
    println!(
        "sign-in, {CONCURRENCY} concurrent clients: {CONCURRENT} in {:.2} s = {:.1} sign-ins/s",
        elapsed.as_secs_f64(),
        CONCURRENT as f64 / elapsed.as_secs_f64()
    );

    let token = login(1).await;
    let mut samples = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let t = Instant::now();
        let r = http
            .get(format!("{base}/api/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
        samples.push(t.elapsed());
    }
    report("GET /api/me (token check), sequential", samples);
}
