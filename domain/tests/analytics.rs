//! Analytics against a hand-built data set whose every figure is written
//! down here (SQLite, or PostgreSQL with TEST_DATABASE_URL). The clock is
//! fixed at 2026-11-24 10:00 Asia/Shanghai.

use domain::auth::Principal;
use domain::store::testing::TestStore;
use domain::time::BusinessClock;
use domain::{staff, Error, Kefu, Role};
use protocol::analytics::{ServerShare, TrendQuery};

fn at(text: &str) -> i64 {
    BusinessClock::default()
        .parse_input("t", text, false)
        .unwrap()
}

async fn principal(kefu: &Kefu, name: &str, role: Role) -> Principal {
    let s = staff::create(kefu.store(), name, "password-123", role)
        .await
        .unwrap();
    Principal {
        id: s.id,
        username: s.username,
        role,
        jti: String::new(),
        exp: 0,
        ip: String::new(),
    }
}

async fn player(kefu: &Kefu, account: &str, server: &str, registered: &str, expires: Option<&str>) {
    sqlx::query(
        "INSERT INTO players (account, server_name, register_at, membership_expire_at, membership_level) \
         VALUES ($1, $2, $3, $4, 1)",
    )
    .bind(account)
    .bind(server)
    .bind(at(registered))
    .bind(expires.map(at))
    .execute(kefu.store().pool())
    .await
    .unwrap();
}

async fn recharge(kefu: &Kefu, account: &str, fen: i64, gift: bool, when: &str) {
    sqlx::query(
        "INSERT INTO recharges (account, amount_fen, days, agent, is_gift, created_at, new_expire_at) \
         VALUES ($1, $2, 30, 'seed', $3, $4, $4)",
    )
    .bind(account)
    .bind(fen)
    .bind(i64::from(gift))
    .bind(at(when))
    .execute(kefu.store().pool())
    .await
    .unwrap();
}

/// The data set. Now = 2026-11-24 10:00.
///
/// | player | server | registered          | membership until    |
/// |--------|--------|---------------------|---------------------|
/// | p1     | S1     | 2026-11-24 09:00    | 2026-12-24          |
/// | p2     | S1     | 2026-11-23 23:59    | 2026-11-24 18:00    |
/// | p3     | S2     | 2026-11-02 00:01    | 2026-11-20 00:00    |
/// | p4     | —      | 2026-10-15 12:00    | never a member      |
/// | p5     | S2     | 2026-10-31 23:59:59 | 2027-01-01          |
/// | p6     | S3     | 2025-05-01          | 2026-10-10          |
/// | p7     | S3     | 2026-11-10          | 2026-12-01 (deleted)|
/// | p8     | S1     | 2026-09-01          | 2026-11-23 08:00    |
/// | p9     | S2     | 2026-11-22 10:00    | 2027-06-01          |
///
/// Recharges (fen): p1 10000 at 11-24 00:01; p2 5000 at 11-23 23:59 and a
/// 3000 gift at 11-23 12:00; p5 20000 at 10-31 23:59 and 1000 at 11-01
/// 00:01; p6 50000 at 2025-06-01; p7 7000 at 11-10 (the ledger keeps it
/// after p7 is deleted).
async fn data_set() -> (TestStore, Kefu, Principal) {
    let db = TestStore::new().await;
    let kefu = Kefu::new(db.store.clone(), b"k", BusinessClock::default());
    let admin = principal(&kefu, "boss", Role::Admin).await;
    for (account, server, registered, expires) in [
        ("p1", "S1", "2026-11-24 09:00:00", Some("2026-12-24")),
        (
            "p2",
            "S1",
            "2026-11-23 23:59:00",
            Some("2026-11-24 18:00:00"),
        ),
        ("p3", "S2", "2026-11-02 00:01:00", Some("2026-11-20")),
        ("p4", "", "2026-10-15 12:00:00", None),
        ("p5", "S2", "2026-10-31 23:59:59", Some("2027-01-01")),
        ("p6", "S3", "2025-05-01", Some("2026-10-10")),
        ("p7", "S3", "2026-11-10", Some("2026-12-01")),
        ("p8", "S1", "2026-09-01", Some("2026-11-23 08:00:00")),
        ("p9", "S2", "2026-11-22 10:00:00", Some("2027-06-01")),
    ] {
        player(&kefu, account, server, registered, expires).await;
    }
    for (account, fen, gift, when) in [
        ("p1", 10000, false, "2026-11-24 00:01:00"),
        ("p2", 5000, false, "2026-11-23 23:59:00"),
        ("p2", 3000, true, "2026-11-23 12:00:00"),
        ("p5", 20000, false, "2026-10-31 23:59:00"),
        ("p5", 1000, false, "2026-11-01 00:01:00"),
        ("p6", 50000, false, "2025-06-01"),
        ("p7", 7000, false, "2026-11-10"),
    ] {
        recharge(&kefu, account, fen, gift, when).await;
    }
    let sup = principal(&kefu, "root", Role::Super).await;
    kefu.delete_player(&sup, "p7").await.unwrap();
    (db, kefu, admin)
}

const NOW: &str = "2026-11-24 10:00:00";

#[tokio::test]
async fn overview_figures() {
    let (db, kefu, _) = data_set().await;
    let o = kefu.overview_at(at(NOW)).await.unwrap();
    let p = &o.previous;
    let o = &o.current;
    assert_eq!(o.total_users, 8, "p7 is gone");
    assert_eq!(o.active_users, 4, "p1, p2 (until 18:00), p5, p9");
    assert_eq!(o.total_revenue, 930.0, "gift left out, p7's payment kept");
    assert_eq!(o.monthly_revenue, 230.0, "p1 100 + p2 50 + p5 10 + p7 70");
    assert_eq!(o.new_users_today, 1, "p1; p2 registered at 23:59 yesterday");
    assert_eq!(o.new_users_this_month, 4, "p1, p2, p3, p9");
    assert_eq!(o.expired_users_today, 1, "p2 at 18:00, later today");
    assert_eq!(o.expired_users_this_month, 3, "p2, p3, p8");
    assert_eq!(
        p.total_users, 4,
        "p4, p5 (23:59:59), p6, p8 before November"
    );
    assert_eq!(p.active_users, 2, "p5 and p8 were members on 1 November");
    assert_eq!(
        p.total_revenue, 700.0,
        "p5's 200 at 10-31 23:59 and p6's 500"
    );
    assert_eq!(p.monthly_revenue, 200.0, "October: p5's 200");
    assert_eq!(p.new_users_today, 1, "yesterday: p2");
    assert_eq!(p.new_users_this_month, 2, "October: p4, p5");
    assert_eq!(p.expired_users_today, 1, "yesterday: p8");
    assert_eq!(p.expired_users_this_month, 1, "October: p6");
    db.finish().await;
}

#[tokio::test]
async fn trends_cut_days_in_the_business_zone() {
    let (db, kefu, _) = data_set().await;
    let q = TrendQuery {
        days: Some(6),
        ..Default::default()
    };
    let t = kefu.trends_at(&q, at(NOW)).await.unwrap();
    assert_eq!(
        t.dates,
        [
            "2026-11-19",
            "2026-11-20",
            "2026-11-21",
            "2026-11-22",
            "2026-11-23",
            "2026-11-24"
        ]
    );
    assert_eq!(t.new_users, [0, 0, 0, 1, 1, 1]);
    assert_eq!(t.revenue, [0.0, 0.0, 0.0, 0.0, 50.0, 100.0]);
    // Members through each day's end: p3 lasts exactly to 11-20 00:00, p8
    // ends on 11-23, p2 on 11-24; p9, p2 and p1 join.
    assert_eq!(t.active_users, [3, 2, 2, 3, 3, 3]);

    // A chosen range across a month's end: 23:59 and 00:01 land apart.
    let q = TrendQuery {
        from: Some("2026-10-31".into()),
        to: Some("2026-11-01".into()),
        ..Default::default()
    };
    let t = kefu.trends_at(&q, at(NOW)).await.unwrap();
    assert_eq!(t.dates, ["2026-10-31", "2026-11-01"]);
    assert_eq!(t.new_users, [1, 0]);
    assert_eq!(t.revenue, [200.0, 10.0]);

    // The default is 30 days ending today, zeros included.
    let t = kefu
        .trends_at(&TrendQuery::default(), at(NOW))
        .await
        .unwrap();
    assert_eq!(t.dates.len(), 30);
    assert_eq!(t.dates.last().unwrap(), "2026-11-24");
    assert_eq!(
        t.revenue.iter().sum::<f64>(),
        430.0,
        "November's 230 and 10-31's 200"
    );
    assert_eq!(t.new_users.iter().sum::<i64>(), 5, "p1, p2, p3, p5, p9");
    db.finish().await;
}

#[tokio::test]
async fn high_value_and_server_distribution() {
    let (db, kefu, admin) = data_set().await;
    let top = kefu.high_value_players(&admin, None).await.unwrap();
    let got: Vec<(&str, f64)> = top
        .iter()
        .map(|h| (h.account.as_str(), h.total_payment))
        .collect();
    assert_eq!(
        got,
        [("p6", 500.0), ("p5", 210.0), ("p1", 100.0), ("p2", 50.0)],
        "gifts and deleted players left out"
    );
    assert_eq!(top[1].last_payment_date, "2026-11-01T00:01:00+08:00");
    assert_eq!(top[0].register_date, "2025-05-01T00:00:00+08:00");
    assert_eq!(top[0].membership_level, 1);
    let two = kefu.high_value_players(&admin, Some(2)).await.unwrap();
    assert_eq!(two.len(), 2);

    let shares = kefu.server_distribution(&admin).await.unwrap();
    let share = |name: &str, n: i64, p: f64| ServerShare {
        server_name: name.into(),
        user_count: n,
        percentage: p,
    };
    assert_eq!(
        shares,
        [
            share("S1", 3, 42.86),
            share("S2", 3, 42.86),
            share("S3", 1, 14.28)
        ],
        "p4 has no server; p7 is gone; the shares sum to 100"
    );

    // The rollups follow updates made by any path.
    sqlx::query("UPDATE players SET server_name = 'S3', register_at = $1 WHERE account = 'p9'")
        .bind(at("2026-11-24 09:30:00"))
        .execute(kefu.store().pool())
        .await
        .unwrap();
    let shares = kefu.server_distribution(&admin).await.unwrap();
    let counts: Vec<(&str, i64)> = shares
        .iter()
        .map(|s| (s.server_name.as_str(), s.user_count))
        .collect();
    assert_eq!(counts, [("S1", 3), ("S2", 2), ("S3", 2)]);
    let o = kefu.overview_at(at(NOW)).await.unwrap();
    assert_eq!((o.current.new_users_today, o.current.total_users), (2, 8));

    // One DELETE of several rows (batch delete) takes them all out.
    let sup = principal(&kefu, "root2", Role::Super).await;
    let gone = kefu
        .delete_players(&sup, &["p8".to_owned(), "p9".to_owned(), "p4".to_owned()])
        .await
        .unwrap();
    assert_eq!(gone, 3);
    let shares = kefu.server_distribution(&admin).await.unwrap();
    let counts: Vec<(&str, i64)> = shares
        .iter()
        .map(|s| (s.server_name.as_str(), s.user_count))
        .collect();
    assert_eq!(counts, [("S1", 2), ("S2", 2), ("S3", 1)]);
    let o = kefu.overview_at(at(NOW)).await.unwrap();
    assert_eq!((o.current.new_users_today, o.current.total_users), (1, 5));
    db.finish().await;
}

#[tokio::test]
async fn chat_figures() {
    let (db, kefu, _) = data_set().await;
    let a = principal(&kefu, "agent.a", Role::Agent).await.id;
    let b = principal(&kefu, "agent.b", Role::Agent).await.id;
    // (id, agent, status, created, accepted, first reply, ended)
    type Chat<'a> = (
        &'a str,
        Option<(i64, &'a str)>,
        &'a str,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let chats: [Chat; 5] = [
        (
            "c1",
            Some((a, "agent.a")),
            "ended",
            "2026-11-24 09:00:00",
            Some("2026-11-24 09:01:00"),
            Some("2026-11-24 09:00:30"),
            Some("2026-11-24 09:11:00"),
        ),
        (
            "c2",
            Some((a, "agent.a")),
            "active",
            "2026-11-23 10:00:00",
            Some("2026-11-23 10:02:00"),
            Some("2026-11-23 10:01:00"),
            None,
        ),
        (
            "c3",
            Some((b, "agent.b")),
            "ended",
            "2026-11-23 11:00:00",
            Some("2026-11-23 11:00:10"),
            Some("2026-11-23 11:00:20"),
            Some("2026-11-23 11:30:10"),
        ),
        (
            "c4",
            None,
            "pending",
            "2026-11-24 09:30:00",
            None,
            None,
            None,
        ),
        (
            "c5",
            Some((b, "agent.b")),
            "ended",
            "2026-10-01 10:00:00",
            Some("2026-10-01 10:00:05"),
            Some("2026-10-01 10:00:06"),
            Some("2026-10-01 10:05:00"),
        ),
    ];
    for (id, agent, status, created, accepted, first, ended) in chats {
        sqlx::query(
            "INSERT INTO chat_sessions (id, account, agent_id, agent, status, created_at, \
             accepted_at, first_response_at, ended_at) VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(agent.map(|a| a.0))
        .bind(agent.map(|a| a.1))
        .bind(status)
        .bind(at(created))
        .bind(accepted.map(at))
        .bind(first.map(at))
        .bind(ended.map(at))
        .execute(kefu.store().pool())
        .await
        .unwrap();
    }
    let c = kefu
        .chat_stats_at(
            &TrendQuery {
                days: Some(7),
                ..Default::default()
            },
            at(NOW),
        )
        .await
        .unwrap();
    assert_eq!(c.dates.first().unwrap(), "2026-11-18");
    assert_eq!(
        c.sessions,
        [0, 0, 0, 0, 0, 2, 2],
        "c5 is outside the window"
    );
    assert_eq!(c.queue_length, 1);
    // First replies 20 s, 30 s, 60 s; handling 10 min and 30 min.
    assert_eq!(c.first_response_median_ms, Some(30_000));
    assert_eq!(c.first_response_p90_ms, Some(60_000));
    assert_eq!(c.handling_median_ms, Some(600_000));
    let agents: Vec<(&str, i64, i64, Option<i64>)> = c
        .per_agent
        .iter()
        .map(|a| {
            (
                a.agent.as_str(),
                a.sessions,
                a.ended,
                a.first_response_median_ms,
            )
        })
        .collect();
    assert_eq!(
        agents,
        [
            ("agent.a", 2, 1, Some(30_000)),
            ("agent.b", 1, 1, Some(20_000))
        ]
    );
    db.finish().await;
}

#[tokio::test]
async fn bad_parameters_and_roles() {
    let (db, kefu, admin) = data_set().await;
    let field = |e: Error| match e {
        Error::Invalid { field, .. } => field,
        other => panic!("expected a field error, got {other:?}"),
    };
    for days in [0, 367, -1] {
        let q = TrendQuery {
            days: Some(days),
            ..Default::default()
        };
        assert_eq!(
            field(kefu.trends_at(&q, at(NOW)).await.unwrap_err()),
            "days"
        );
        assert_eq!(
            field(kefu.chat_stats_at(&q, at(NOW)).await.unwrap_err()),
            "days"
        );
    }
    for (from, to, bad) in [
        (Some("2026-11-02"), Some("2026-11-01"), "to"),
        (Some("2025-01-01"), Some("2026-11-01"), "to"),
        (Some("yesterday"), Some("2026-11-01"), "from"),
        (Some("2026-11-01"), None, "to"),
        (None, Some("2026-11-01"), "from"),
    ] {
        let q = TrendQuery {
            days: None,
            from: from.map(Into::into),
            to: to.map(Into::into),
        };
        assert_eq!(field(kefu.trends_at(&q, at(NOW)).await.unwrap_err()), bad);
    }
    for limit in [0, 101] {
        assert_eq!(
            field(
                kefu.high_value_players(&admin, Some(limit))
                    .await
                    .unwrap_err()
            ),
            "limit"
        );
    }
    let agent = principal(&kefu, "agent", Role::Agent).await;
    assert!(matches!(
        kefu.analytics_overview(&agent).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        kefu.server_distribution(&agent).await,
        Err(Error::Forbidden(_))
    ));
    db.finish().await;
}
