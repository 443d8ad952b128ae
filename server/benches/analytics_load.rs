//! Analytics at size: fills a store with `BENCH_PLAYERS` players (default
//! 1,000,000), `BENCH_RECHARGES` recharges (3,000,000) and `BENCH_CHATS`
//! chats (100,000) spread over three years, generated inside the database
//! (the triggers of migration 0006 keep the rollups as they would in
//! service), starts the server on a loopback port and times every
//! analytics endpoint over HTTP: `BENCH_CALLS` calls each (50) after three
//! warm-up calls, printing p50, p95 and max.
//!
//! ```text
//! cargo bench -p server --bench analytics_load                 # SQLite
//! TEST_DATABASE_URL=postgres://… cargo bench -p server --bench analytics_load
//! ```

use std::time::{Duration, Instant};

use domain::store::testing::TestStore;
use domain::store::Backend;
use domain::time::{now_ms, BusinessClock};
use domain::{staff, Kefu, Role};
use leptos::config::LeptosOptions;
use server::AppState;
use tokio::net::TcpListener;

const DAY: i64 = 86_400_000;

fn env_num(key: &str, default: i64) -> i64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Rows `from..to` of a generated set as `SELECT … FROM <numbers>`: a
/// recursive CTE on SQLite, `generate_series` on PostgreSQL.
fn numbers(backend: Backend, from: i64, to: i64) -> (String, String) {
    match backend {
        Backend::Sqlite => (
            format!(
                "WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {})",
                to - 1
            ),
            "n".to_owned(),
        ),
        Backend::Postgres => (
            String::new(),
            format!(
                "generate_series(CAST({from} AS BIGINT), CAST({} AS BIGINT)) AS n(i)",
                to - 1
            ),
        ),
    }
}

async fn fill(kefu: &Kefu, players: i64, recharges: i64, chats: i64) {
    let pool = kefu.store().pool();
    let backend = kefu.store().backend();
    let now = now_ms();
    let span = 3 * 365 * DAY;
    let start = now - span;
    let concat = |a: &str, b: &str| format!("('{a}' || CAST({b} AS TEXT))");
    let chunk = 100_000;
    let t = Instant::now();
    for from in (0..players).step_by(chunk as usize) {
        let to = (from + chunk).min(players);
        let (with, source) = numbers(backend, from, to);
        // Registration spread over three years; 1 in 5 never a member;
        // others a membership ending up to 400 days after registration;
        // 1 in 20 without a server, the rest on 97 servers.
        let sql = format!(
            "{with} INSERT INTO players (account, server_name, membership_level, membership_expire_at, \
             game_platform, register_at) \
             SELECT {account}, CASE WHEN i % 20 = 0 THEN '' ELSE {server} END, i % 4, \
               CASE WHEN i % 5 = 0 THEN NULL ELSE {start} + (i * 7919) % {span} + (i * 31) % 400 * {DAY} END, \
               i % 3 + 1, {start} + (i * 7919) % {span} FROM {source}",
            account = concat("b", "i"),
            server = concat("S", "i % 97"),
        );
        sqlx::query(&sql).execute(pool).await.unwrap();
    }
    println!("  {players} players in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    for from in (0..recharges).step_by(chunk as usize) {
        let to = (from + chunk).min(recharges);
        let (with, source) = numbers(backend, from, to);
        // 1 in 10 a gift; amounts 10–59 yuan; over the same three years.
        let sql = format!(
            "{with} INSERT INTO recharges (account, amount_fen, days, level, agent, is_gift, created_at, new_expire_at) \
             SELECT {account}, 1000 + i % 50 * 100, 30, 1, 'bench', CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END, \
               {start} + (i * 104729) % {span}, {start} + (i * 104729) % {span} + {month} FROM {source}",
            account = concat("b", &format!("(i * 13) % {players}")),
            month = 30 * DAY,
        );
        sqlx::query(&sql).execute(pool).await.unwrap();
    }
    println!(
        "  {recharges} recharges in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    for from in (0..chats).step_by(chunk as usize) {
        let to = (from + chunk).min(chats);
        let (with, source) = numbers(backend, from, to);
        // Chats over the last year, all ended but the last 50, which wait.
        let year = 365 * DAY;
        let sql = format!(
            "{with} INSERT INTO chat_sessions (id, account, agent_id, agent, status, created_at, \
               accepted_at, first_response_at, ended_at) \
             SELECT {id}, {account}, CASE WHEN i >= {waiting} THEN NULL ELSE i % 20 + 1 END, \
               CASE WHEN i >= {waiting} THEN NULL ELSE {agent} END, \
               CASE WHEN i >= {waiting} THEN 'pending' ELSE 'ended' END, \
               {now} - {year} + (i * 7919) % {year}, \
               CASE WHEN i >= {waiting} THEN NULL ELSE {now} - {year} + (i * 7919) % {year} + i % 120 * 1000 END, \
               CASE WHEN i >= {waiting} THEN NULL ELSE {now} - {year} + (i * 7919) % {year} + i % 90 * 1000 END, \
               CASE WHEN i >= {waiting} THEN NULL ELSE {now} - {year} + (i * 7919) % {year} + i % 1800 * 1000 END \
             FROM {source}",
            id = concat("chat-", "i"),
            account = concat("b", "i"),
            agent = concat("agent.", "i % 20 + 1"),
            waiting = chats - 50,
        );
        sqlx::query(&sql).execute(pool).await.unwrap();
    }
    println!("  {chats} chats in {:.1} s", t.elapsed().as_secs_f64());
    // A bulk load leaves gigabytes in SQLite's WAL, which the background
    // checkpoint would copy while the timings run; in service rows arrive a
    // few at a time. Fold it in first; statistics for both planners.
    let t = Instant::now();
    if backend == Backend::Sqlite {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(pool)
            .await
            .unwrap();
    }
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
    println!(
        "  checkpoint and ANALYZE in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

fn figures(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    (at(0.5), at(0.95), *ms.last().unwrap())
}

#[tokio::main]
async fn main() {
    let players = env_num("BENCH_PLAYERS", 1_000_000);
    let recharges = env_num("BENCH_RECHARGES", 3_000_000);
    let chats = env_num("BENCH_CHATS", 100_000);
    let calls = env_num("BENCH_CALLS", 50) as usize;
    let db = TestStore::new().await;
    let backend = db.store.backend();
    println!("analytics_load on {backend:?}: filling");
    let kefu = Kefu::new(db.store.clone(), b"bench-secret", BusinessClock::default());
    fill(&kefu, players, recharges, chats).await;
    staff::create(kefu.store(), "bench.admin", "bench-password", Role::Admin)
        .await
        .unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState {
        kefu: kefu.clone(),
        leptos_options: LeptosOptions::builder()
            .output_name("kefu")
            .site_root("target/site")
            .site_pkg_dir("pkg")
            .build(),
        api_key: None,
        ws_idle: server::chat::IDLE_TIMEOUT,
        trusted_proxies: Default::default(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::launch(state, listener, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{base}/api/admin/login"))
        .json(&serde_json::json!({"username": "bench.admin", "password": "bench-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_owned();

    println!(
        "{players} players, {recharges} recharges, {chats} chats; {calls} calls per endpoint over HTTP"
    );
    println!(
        "{:<44} {:>9} {:>9} {:>9}",
        "endpoint", "p50 ms", "p95 ms", "max ms"
    );
    for path in [
        "overview",
        "trends?days=30",
        "trends?days=366",
        "high-value-users?limit=20",
        "high-value-users?limit=100",
        "server-distribution",
        "chat?days=30",
        "chat?days=366",
    ] {
        let url = format!("{base}/api/admin/analytics/{path}");
        let mut ms = Vec::with_capacity(calls);
        for i in 0..calls + 3 {
            let t = Instant::now();
            let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let _ = r.bytes().await.unwrap();
            if i >= 3 {
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        let (p50, p95, max) = figures(ms);
        println!(
            "{:<44} {p50:>9.2} {p95:>9.2} {max:>9.2}",
            format!("/api/admin/analytics/{path}")
        );
    }
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), server).await;
    db.finish().await;
}
