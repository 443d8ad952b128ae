//! Player list benchmark at scale: 1,000,000 players and 3,000,000 recharges,
//! generated in SQL, then the list query of `GET /admin/users` timed through
//! `Kefu::list_players` (the code the API and the panel run).
//!
//!     cargo bench -p domain --bench player_list                      # SQLite
//!     TEST_DATABASE_URL=postgres://… cargo bench -p domain --bench player_list
//!
//! `KEFU_BENCH_PLAYERS` changes the size (default 1,000,000; recharges are 3×).

use std::time::{Duration, Instant};

use domain::auth::Principal;
use domain::store::testing::{test_backend, TestStore};
use domain::store::Backend;
use domain::time::{now_ms, BusinessClock};
use domain::{Kefu, Role};
use protocol::players::PlayerQuery;

const RUNS: usize = 60;

fn players_sql(backend: Backend, n: i64, now: i64) -> String {
    let (series, contact) = match backend {
        Backend::Sqlite => (
            format!("WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {n}) "),
            "'13' || printf('%09d', (n * 7919) % 1000000000)".to_owned(),
        ),
        Backend::Postgres => (
            format!("WITH seq(n) AS (SELECT generate_series(1, {n})::bigint) "),
            "'13' || lpad(((n * 7919) % 1000000000)::text, 9, '0')".to_owned(),
        ),
    };
    format!(
        "{series} INSERT INTO players (account, real_account, main_account, contact, server_name, server_info, \
         membership_level, membership_pay_fen, membership_expire_at, game_platform, auxiliary_online, is_open, \
         register_at, remarks) \
         SELECT 'p' || n, 'real' || ((n * 37) % 1000003), CASE WHEN n % 5 = 0 THEN 'main' || (n % 50000) ELSE '' END, \
         {contact}, 'S' || (n % 40), '', n % 4, ((n * 13) % 500) * 100, \
         CASE WHEN n % 3 = 0 THEN NULL ELSE {now} + (((n * 17) % 730) - 365) * 86400000 END, \
         (n % 3) + 1, n % 2, CASE WHEN n % 10 = 0 THEN 0 ELSE 1 END, \
         {now} - ((n * 31) % 730) * 86400000 - (n % 86400000), \
         CASE WHEN n % 7 = 0 THEN 'vip renew ' || n ELSE '' END FROM seq"
    )
}

fn recharges_sql(backend: Backend, n: i64, players: i64, now: i64) -> String {
    let series = match backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {n}) "
        ),
        Backend::Postgres => format!("WITH seq(n) AS (SELECT generate_series(1, {n})::bigint) "),
    };
    format!(
        "{series} INSERT INTO recharges (account, amount_fen, days, level, agent, remark, is_gift, created_at, created_by, new_expire_at) \
         SELECT 'p' || ((n % {players}) + 1), ((n * 11) % 20) * 500, 30, (n % 3) + 1, 'agent' || (n % 9), '', \
         CASE WHEN n % 12 = 0 THEN 1 ELSE 0 END, {now} - ((n * 7) % 365) * 86400000, 'bench', {now} FROM seq"
    )
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let players: i64 = std::env::var("KEFU_BENCH_PLAYERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let db = TestStore::new().await;
    let backend = test_backend();
    let kefu = Kefu::new(db.store.clone(), b"bench", BusinessClock::default());
    let now = now_ms();
    let t = Instant::now();
    sqlx::query(&players_sql(backend, players, now))
        .execute(kefu.store().pool())
        .await
        .unwrap();
    let players_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    sqlx::query(&recharges_sql(backend, players * 3, players, now))
        .execute(kefu.store().pool())
        .await
        .unwrap();
    let recharges_s = t.elapsed().as_secs_f64();
    let analyze = match backend {
        Backend::Sqlite => "ANALYZE",
        Backend::Postgres => "ANALYZE players",
    };
    sqlx::query(analyze)
        .execute(kefu.store().pool())
        .await
        .unwrap();
    println!(
        "{backend:?}: {players} players in {players_s:.1} s, {} recharges in {recharges_s:.1} s",
        players * 3
    );
    let who = Principal {
        id: 1,
        username: "bench".into(),
        role: Role::Admin,
        jti: String::new(),
        exp: 0,
        ip: String::new(),
    };
    let s = |v: &str| Some(v.to_owned());
    let cases: Vec<(&str, PlayerQuery)> = vec![
        ("page 1, unfiltered", PlayerQuery::default()),
        (
            "three filters (server, levels, open)",
            PlayerQuery {
                server_name: s("S7"),
                membership_level_list: s("2,3"),
                is_open: s("1"),
                ..Default::default()
            },
        ),
        (
            "keyword `p12345`",
            PlayerQuery {
                keyword: s("p12345"),
                ..Default::default()
            },
        ),
        (
            "sort by pay money desc",
            PlayerQuery {
                sort_by: s("membership_pay_money"),
                sort_order: s("desc"),
                ..Default::default()
            },
        ),
        (
            "page 500",
            PlayerQuery {
                page: s("500"),
                ..Default::default()
            },
        ),
    ];
    println!(
        "{:<40} {:>8} {:>9} {:>9} {:>9}",
        "query (size 20, with total)", "total", "p50 ms", "p95 ms", "max ms"
    );
    for (name, q) in cases {
        let (_, total) = kefu.list_players(&who, &q).await.unwrap(); // warm-up
        let mut samples = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let t = Instant::now();
            let (rows, _) = kefu.list_players(&who, &q).await.unwrap();
            samples.push(t.elapsed());
            assert!(rows.len() <= 20);
        }
        samples.sort();
        println!(
            "{name:<40} {total:>8} {:>9.2} {:>9.2} {:>9.2}",
            pct(&samples, 0.5),
            pct(&samples, 0.95),
            samples.last().unwrap().as_secs_f64() * 1e3
        );
    }
    db.finish().await;
}
