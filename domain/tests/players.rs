//! Players, recharges, transfers, staff administration and the audit log
//! against the real store (SQLite, or PostgreSQL with TEST_DATABASE_URL).

use domain::auth::Principal;
use domain::players::DAY_MS;
use domain::store::testing::TestStore;
use domain::time::{now_ms, BusinessClock};
use domain::{staff, Error, Kefu, Role};
use protocol::players::{PlayerInput, PlayerQuery, RechargeRequest, TransferRequest};
use protocol::staff::{AuditQuery, CreateStaffRequest};

struct World {
    kefu: Kefu,
    db: TestStore,
    sup: Principal,
    admin: Principal,
    agent: Principal,
}

async fn world() -> World {
    let db = TestStore::new().await;
    let kefu = Kefu::new(db.store.clone(), b"k", BusinessClock::default());
    let mut who = Vec::new();
    for (name, role) in [
        ("root", Role::Super),
        ("boss", Role::Admin),
        ("agent", Role::Agent),
    ] {
        let s = staff::create(kefu.store(), name, "password-123", role)
            .await
            .unwrap();
        who.push(Principal {
            id: s.id,
            username: s.username,
            role,
            jti: String::new(),
            exp: 0,
            ip: "10.0.0.9".into(),
        });
    }
    let agent = who.pop().unwrap();
    let admin = who.pop().unwrap();
    let sup = who.pop().unwrap();
    World {
        kefu,
        db,
        sup,
        admin,
        agent,
    }
}

fn input(account: &str) -> PlayerInput {
    PlayerInput {
        account: Some(account.into()),
        ..Default::default()
    }
}

fn invalid_field(e: Error) -> String {
    match e {
        Error::Invalid { field, .. } => field,
        other => panic!("expected invalid input, got {other:?}"),
    }
}

async fn seed(w: &World) {
    let k = &w.kefu;
    let rows = [
        (
            "zhang.fei",
            "张飞",
            "13800000001",
            "洛阳",
            1,
            2,
            1,
            1,
            "2026-01-05",
            "老玩家 vip",
        ),
        (
            "guan.yu",
            "关羽",
            "13800000002",
            "洛阳",
            2,
            3,
            0,
            1,
            "2026-02-10",
            "",
        ),
        (
            "liu.bei",
            "刘备",
            "13900000003",
            "成都",
            3,
            1,
            1,
            0,
            "2026-03-15",
            "needs callback",
        ),
        (
            "cao.cao",
            "曹操",
            "wx:caocao",
            "许昌",
            1,
            0,
            0,
            1,
            "2026-04-20",
            "",
        ),
        (
            "sun.quan",
            "孙权",
            "qq:10001",
            "",
            -1,
            2,
            1,
            1,
            "2026-05-25",
            "VIP renewal",
        ),
    ];
    for (acc, real, contact, server, platform, level, aux, open, reg, remarks) in rows {
        k.create_player(
            &w.sup,
            &PlayerInput {
                account: Some(acc.into()),
                real_account: Some(real.into()),
                contact: Some(contact.into()),
                server_name: Some(server.into()),
                game_platform: Some(platform),
                membership_level: Some(level),
                auxiliary_online: Some(aux),
                is_open: Some(open),
                register_date: Some(reg.into()),
                remarks: Some(remarks.into()),
                membership_pay_money: Some(match acc {
                    "zhang.fei" => 100.0,
                    "guan.yu" => 250.5,
                    "liu.bei" => 30.0,
                    _ => 0.0,
                }),
                membership_expire_date: Some(match acc {
                    "zhang.fei" => "2026-12-31".into(),
                    "guan.yu" => "2027-06-30".into(),
                    "liu.bei" => "2026-01-31".into(),
                    _ => String::new(),
                }),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
}

async fn accounts(w: &World, q: PlayerQuery) -> (Vec<String>, i64) {
    let (rows, total) = w.kefu.list_players(&w.admin, &q).await.unwrap();
    (rows.into_iter().map(|p| p.account).collect(), total)
}

fn q() -> PlayerQuery {
    PlayerQuery::default()
}

#[tokio::test]
async fn filters_alone_and_combined_sorting_and_paging() {
    let w = world().await;
    seed(&w).await;
    let s = |v: &str| Some(v.to_owned());
    // Default: newest registration first.
    let (all, total) = accounts(&w, q()).await;
    assert_eq!(total, 5);
    assert_eq!(
        all,
        ["sun.quan", "cao.cao", "liu.bei", "guan.yu", "zhang.fei"]
    );

    for (query, expected) in [
        (
            PlayerQuery {
                keyword: s("VIP"),
                ..q()
            },
            vec!["sun.quan", "zhang.fei"],
        ),
        (
            PlayerQuery {
                keyword: s("1380000"),
                ..q()
            },
            vec!["guan.yu", "zhang.fei"],
        ),
        (
            PlayerQuery {
                account: s("CAO"),
                ..q()
            },
            vec!["cao.cao"],
        ),
        (
            PlayerQuery {
                real_account: s("刘"),
                ..q()
            },
            vec!["liu.bei"],
        ),
        (
            PlayerQuery {
                contact: s("qq:"),
                ..q()
            },
            vec!["sun.quan"],
        ),
        (
            PlayerQuery {
                server_name: s("洛阳"),
                ..q()
            },
            vec!["guan.yu", "zhang.fei"],
        ),
        (
            PlayerQuery {
                membership_level_list: s("2,3"),
                ..q()
            },
            vec!["sun.quan", "guan.yu", "zhang.fei"],
        ),
        (
            PlayerQuery {
                game_platform_list: s("1"),
                ..q()
            },
            vec!["cao.cao", "zhang.fei"],
        ),
        (
            PlayerQuery {
                membership_pay_money_min: s("30"),
                membership_pay_money_max: s("100"),
                ..q()
            },
            vec!["liu.bei", "zhang.fei"],
        ),
        (
            PlayerQuery {
                membership_expire_date_start: s("2026-06-01"),
                ..q()
            },
            vec!["guan.yu", "zhang.fei"],
        ),
        (
            PlayerQuery {
                membership_expire_date_end: s("2026-01-31"),
                ..q()
            },
            vec!["liu.bei"],
        ),
        (
            PlayerQuery {
                auxiliary_online: s("1"),
                ..q()
            },
            vec!["sun.quan", "liu.bei", "zhang.fei"],
        ),
        (
            PlayerQuery {
                is_open: s("0"),
                ..q()
            },
            vec!["liu.bei"],
        ),
        (
            PlayerQuery {
                register_date_start: s("2026-02-10"),
                register_date_end: s("2026-04-20"),
                ..q()
            },
            vec!["cao.cao", "liu.bei", "guan.yu"],
        ),
        (
            PlayerQuery {
                remarks: s("callback"),
                ..q()
            },
            vec!["liu.bei"],
        ),
        (
            PlayerQuery {
                keyword: s("%"),
                ..q()
            },
            vec![],
        ),
        // Combined: three filters at once.
        (
            PlayerQuery {
                auxiliary_online: s("1"),
                membership_level_list: s("1,2"),
                is_open: s("1"),
                ..q()
            },
            vec!["sun.quan", "zhang.fei"],
        ),
    ] {
        let (got, total) = accounts(&w, query.clone()).await;
        assert_eq!(got, expected, "{query:?}");
        assert_eq!(total, expected.len() as i64, "{query:?}");
    }

    // Sorting on any field, both ways; a missing expiry sorts first ascending.
    let (mut got, _) = accounts(
        &w,
        PlayerQuery {
            sort_by: s("membership_pay_money"),
            sort_order: s("desc"),
            ..q()
        },
    )
    .await;
    assert_eq!(got[..3], ["guan.yu", "zhang.fei", "liu.bei"]);
    // The two unpaid players tie; the tie order is the backend's (players.rs).
    got[3..].sort();
    assert_eq!(got[3..], ["cao.cao", "sun.quan"]);
    let (got, _) = accounts(
        &w,
        PlayerQuery {
            sort_by: s("membership_expire_date"),
            sort_order: s("asc"),
            ..q()
        },
    )
    .await;
    assert_eq!(
        got,
        ["cao.cao", "sun.quan", "liu.bei", "zhang.fei", "guan.yu"]
    );
    let (got, _) = accounts(
        &w,
        PlayerQuery {
            sort_by: s("account"),
            sort_order: s("asc"),
            ..q()
        },
    )
    .await;
    assert_eq!(
        got,
        ["cao.cao", "guan.yu", "liu.bei", "sun.quan", "zhang.fei"]
    );

    // Paging keeps the total.
    let (got, total) = accounts(
        &w,
        PlayerQuery {
            sort_by: s("account"),
            sort_order: s("asc"),
            page: s("2"),
            size: s("2"),
            ..q()
        },
    )
    .await;
    assert_eq!(
        (got, total),
        (vec!["liu.bei".to_owned(), "sun.quan".to_owned()], 5)
    );
    let (got, total) = accounts(
        &w,
        PlayerQuery {
            page: s("9"),
            ..q()
        },
    )
    .await;
    assert_eq!((got.len(), total), (0, 5));

    // Bad query values name their field.
    for (query, field) in [
        (
            PlayerQuery {
                sort_by: s("password"),
                ..q()
            },
            "sort_by",
        ),
        (
            PlayerQuery {
                sort_order: s("up"),
                ..q()
            },
            "sort_order",
        ),
        (
            PlayerQuery {
                size: s("101"),
                ..q()
            },
            "size",
        ),
        (
            PlayerQuery {
                membership_level_list: s("1,x"),
                ..q()
            },
            "membership_level_list",
        ),
        (
            PlayerQuery {
                game_platform_list: s("7"),
                ..q()
            },
            "game_platform_list",
        ),
        (
            PlayerQuery {
                membership_pay_money_min: s("-1"),
                ..q()
            },
            "membership_pay_money_min",
        ),
        (
            PlayerQuery {
                membership_pay_money_min: s("9"),
                membership_pay_money_max: s("1"),
                ..q()
            },
            "membership_pay_money_max",
        ),
        (
            PlayerQuery {
                register_date_start: s("yesterday"),
                ..q()
            },
            "register_date_start",
        ),
        (
            PlayerQuery {
                is_open: s("2"),
                ..q()
            },
            "is_open",
        ),
    ] {
        let e = w.kefu.list_players(&w.sup, &query).await.unwrap_err();
        assert_eq!(invalid_field(e), field, "{query:?}");
    }

    // Three per platform, newest first.
    let d = w.kefu.default_players(&w.admin).await.unwrap();
    let got: Vec<_> = d.iter().map(|p| p.account.as_str()).collect();
    assert_eq!(got, ["cao.cao", "zhang.fei", "guan.yu", "liu.bei"]);
    w.db.finish().await;
}

#[tokio::test]
async fn create_update_delete_and_bad_input() {
    let w = world().await;
    let k = &w.kefu;
    assert_eq!(
        k.create_player(&w.sup, &input("ma.chao")).await.unwrap(),
        "ma.chao"
    );
    assert!(matches!(
        k.create_player(&w.sup, &input("ma.chao")).await,
        Err(Error::Conflict(_))
    ));
    let p = k.get_player(&w.admin, "ma.chao").await.unwrap();
    assert_eq!(
        (
            p.membership_level,
            p.game_platform,
            p.is_open,
            p.membership_expire_date
        ),
        (0, -1, 1, None)
    );

    for (bad, field) in [
        (input(""), "account"),
        (input("has space"), "account"),
        (input(&"a".repeat(65)), "account"),
        (
            PlayerInput {
                membership_level: Some(4),
                ..input("x1")
            },
            "membership_level",
        ),
        (
            PlayerInput {
                game_platform: Some(0),
                ..input("x2")
            },
            "game_platform",
        ),
        (
            PlayerInput {
                membership_pay_money: Some(-5.0),
                ..input("x3")
            },
            "membership_pay_money",
        ),
        (
            PlayerInput {
                membership_pay_money: Some(1.234),
                ..input("x4")
            },
            "membership_pay_money",
        ),
        (
            PlayerInput {
                membership_expire_date: Some("31.12.2026".into()),
                ..input("x5")
            },
            "membership_expire_date",
        ),
        (
            PlayerInput {
                remarks: Some("r".repeat(2001)),
                ..input("x6")
            },
            "remarks",
        ),
        // The names of the list's other endpoints.
        (input("default"), "account"),
        (input("transfer-membership"), "account"),
    ] {
        assert_eq!(
            invalid_field(k.create_player(&w.sup, &bad).await.unwrap_err()),
            field
        );
    }
    // Nothing half-written.
    let (_, total) = k
        .list_players(&w.sup, &PlayerQuery::default())
        .await
        .unwrap();
    assert_eq!(total, 1);

    k.update_player(
        &w.sup,
        "ma.chao",
        &PlayerInput {
            remarks: Some("西凉".into()),
            membership_level: Some(2),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let p = k.get_player(&w.sup, "ma.chao").await.unwrap();
    assert_eq!((p.remarks.as_str(), p.membership_level), ("西凉", 2));
    // The keyword index follows updates.
    let find = |kw: &str| PlayerQuery {
        keyword: Some(kw.to_owned()),
        ..Default::default()
    };
    k.update_player(
        &w.sup,
        "ma.chao",
        &PlayerInput {
            remarks: Some("西凉铁骑".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(k.list_players(&w.sup, &find("凉铁骑")).await.unwrap().1, 1);
    k.update_player(
        &w.sup,
        "ma.chao",
        &PlayerInput {
            remarks: Some("锦马超".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(k.list_players(&w.sup, &find("凉铁骑")).await.unwrap().1, 0);
    assert_eq!(k.list_players(&w.sup, &find("锦马超")).await.unwrap().1, 1);
    assert!(matches!(
        k.update_player(&w.sup, "nobody", &PlayerInput::default())
            .await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        invalid_field(
            k.update_player(&w.sup, "ma.chao", &input("other"))
                .await
                .unwrap_err()
        ),
        "account"
    );

    for a in ["a1", "a2", "a3"] {
        k.create_player(&w.sup, &input(a)).await.unwrap();
    }
    let n = k
        .delete_players(&w.sup, &["a1".into(), "a2".into(), "ghost".into()])
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        invalid_field(k.delete_players(&w.sup, &[]).await.unwrap_err()),
        "accounts"
    );
    k.delete_player(&w.sup, "a3").await.unwrap();
    k.delete_player(&w.sup, "ma.chao").await.unwrap();
    let find = |kw: &str| PlayerQuery {
        keyword: Some(kw.to_owned()),
        ..Default::default()
    };
    assert_eq!(k.list_players(&w.sup, &find("锦马超")).await.unwrap().1, 0);
    assert!(matches!(
        k.delete_player(&w.sup, "a3").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        k.get_player(&w.sup, "a3").await,
        Err(Error::NotFound(_))
    ));

    // Every write left an audit row, with the actor and IP.
    let (log, total) = k.audit_log(&w.sup, &AuditQuery::default()).await.unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(total, 10, "{actions:?}");
    assert_eq!(actions[0], "player.delete");
    assert!(actions.contains(&"player.batch_delete") && actions.contains(&"player.update"));
    assert!(log.iter().all(|e| e.actor == "root" && e.ip == "10.0.0.9"));
    let (only, _) = k
        .audit_log(
            &w.sup,
            &AuditQuery {
                action: Some("player.create".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(only.len(), 4);
    w.db.finish().await;
}

async fn expire_ms(w: &World, account: &str) -> Option<i64> {
    w.kefu
        .player_row(account)
        .await
        .unwrap()
        .membership_expire_at
}

fn recharge(amount: f64, days: i64) -> RechargeRequest {
    RechargeRequest {
        amount,
        duration: days,
        service_agent: "客服小乔".into(),
        remark: None,
        is_gift: None,
        membership_level: None,
    }
}

#[tokio::test]
async fn recharge_arithmetic_and_ledger() {
    let w = world().await;
    let k = &w.kefu;
    k.create_player(&w.sup, &input("fresh")).await.unwrap();
    k.create_player(
        &w.sup,
        &PlayerInput {
            membership_expire_date: Some("2020-01-01".into()),
            membership_level: Some(2),
            ..input("lapsed")
        },
    )
    .await
    .unwrap();
    let future = now_ms() + 10 * DAY_MS;
    k.create_player(
        &w.sup,
        &PlayerInput {
            membership_expire_date: Some(BusinessClock::default().format_ms(future)),
            membership_level: Some(1),
            ..input("active")
        },
    )
    .await
    .unwrap();

    // Never had a membership: from now; level 0 becomes 1.
    let before = now_ms();
    let r = k
        .recharge(&w.sup, "fresh", &recharge(30.0, 30))
        .await
        .unwrap();
    assert_eq!((r.amount, r.duration), (30.0, 30));
    let e = expire_ms(&w, "fresh").await.unwrap();
    assert!(e >= before + 30 * DAY_MS && e <= now_ms() + 30 * DAY_MS);
    let row = k.player_row("fresh").await.unwrap();
    assert_eq!((row.membership_level, row.membership_pay_fen), (1, 3000));

    // Expired: counts from now, not from the old expiry; level kept.
    let before = now_ms();
    k.recharge(&w.sup, "lapsed", &recharge(9.9, 7))
        .await
        .unwrap();
    let e = expire_ms(&w, "lapsed").await.unwrap();
    assert!(e >= before + 7 * DAY_MS);
    assert_eq!(k.player_row("lapsed").await.unwrap().membership_level, 2);

    // Unexpired: extends the current expiry exactly; level change applies.
    k.recharge(
        &w.sup,
        "active",
        &RechargeRequest {
            membership_level: Some(3),
            ..recharge(100.0, 30)
        },
    )
    .await
    .unwrap();
    let after = expire_ms(&w, "active").await.unwrap();
    let expected = BusinessClock::default()
        .parse_input("t", &BusinessClock::default().format_ms(future), false)
        .unwrap()
        + 30 * DAY_MS;
    assert_eq!(after, expected);
    assert_eq!(k.player_row("active").await.unwrap().membership_level, 3);

    // A gift adds days, not money.
    k.recharge(
        &w.sup,
        "active",
        &RechargeRequest {
            is_gift: Some(true),
            ..recharge(0.0, 5)
        },
    )
    .await
    .unwrap();
    assert_eq!(
        expire_ms(&w, "active").await.unwrap(),
        expected + 5 * DAY_MS
    );
    assert_eq!(
        k.player_row("active").await.unwrap().membership_pay_fen,
        10000
    );

    let (history, total) = k
        .recharge_history(&w.admin, "active", None, None)
        .await
        .unwrap();
    assert_eq!(total, 2);
    assert!(history[0].is_gift && !history[1].is_gift);
    assert_eq!(history[1].amount, 100.0);
    assert_eq!(history[1].membership_level, Some(3));
    assert_eq!(history[0].created_by.as_deref(), Some("root"));

    // Bad input changes nothing.
    for (req, field) in [
        (recharge(-1.0, 30), "amount"),
        (recharge(1.001, 30), "amount"),
        (recharge(1.0, 0), "duration"),
        (recharge(1.0, 3651), "duration"),
        (
            RechargeRequest {
                service_agent: " ".into(),
                ..recharge(1.0, 1)
            },
            "service_agent",
        ),
        (
            RechargeRequest {
                membership_level: Some(9),
                ..recharge(1.0, 1)
            },
            "membership_level",
        ),
    ] {
        assert_eq!(
            invalid_field(k.recharge(&w.sup, "active", &req).await.unwrap_err()),
            field
        );
    }
    assert!(matches!(
        k.recharge(&w.sup, "ghost", &recharge(1.0, 1)).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        expire_ms(&w, "active").await.unwrap(),
        expected + 5 * DAY_MS
    );
    let (_, total) = k
        .recharge_history(&w.sup, "active", None, None)
        .await
        .unwrap();
    assert_eq!(total, 2);
    w.db.finish().await;
}

#[tokio::test]
async fn transfer_membership_cases() {
    let w = world().await;
    let k = &w.kefu;
    let clock = BusinessClock::default();
    let in_days = |d: i64| clock.format_ms(now_ms() + d * DAY_MS + 3_600_000);
    k.create_player(
        &w.sup,
        &PlayerInput {
            membership_expire_date: Some(in_days(20)),
            membership_pay_money: Some(88.0),
            membership_level: Some(3),
            ..input("src")
        },
    )
    .await
    .unwrap();
    k.create_player(
        &w.sup,
        &PlayerInput {
            membership_expire_date: Some(in_days(5)),
            membership_pay_money: Some(12.0),
            membership_level: Some(1),
            ..input("dst")
        },
    )
    .await
    .unwrap();
    k.create_player(&w.sup, &input("empty")).await.unwrap();
    let dst_before = expire_ms(&w, "dst").await.unwrap();

    let t = |s: &str, d: &str| TransferRequest {
        source_account: s.into(),
        target_account: d.into(),
    };
    let r = k
        .transfer_membership(&w.sup, &t("src", "dst"))
        .await
        .unwrap();
    assert_eq!((r.transferred_days, r.transferred_amount), (20, 88.0));
    let src = k.player_row("src").await.unwrap();
    assert_eq!((src.membership_level, src.membership_pay_fen), (0, 0));
    assert!(src.membership_expire_at.unwrap() <= now_ms());
    let dst = k.player_row("dst").await.unwrap();
    assert_eq!((dst.membership_level, dst.membership_pay_fen), (3, 10000));
    assert_eq!(dst.membership_expire_at.unwrap(), dst_before + 20 * DAY_MS);

    // A source whose membership lapsed (or who never had one) but who paid:
    // the payments move, its expiry stays where it was (moving it to now
    // would make it a member until today in the figures).
    k.create_player(
        &w.sup,
        &PlayerInput {
            membership_expire_date: Some(in_days(-10)),
            membership_pay_money: Some(50.0),
            membership_level: Some(3),
            ..input("lapsed")
        },
    )
    .await
    .unwrap();
    k.create_player(
        &w.sup,
        &PlayerInput {
            membership_pay_money: Some(30.0),
            ..input("never")
        },
    )
    .await
    .unwrap();
    k.create_player(&w.sup, &input("fresh")).await.unwrap();
    let lapsed_at = expire_ms(&w, "lapsed").await;
    for (source, target, paid) in [("lapsed", "fresh", 50.0), ("never", "dst", 30.0)] {
        let r = k
            .transfer_membership(&w.sup, &t(source, target))
            .await
            .unwrap();
        assert_eq!((r.transferred_days, r.transferred_amount), (0, paid));
    }
    assert_eq!(expire_ms(&w, "lapsed").await, lapsed_at);
    assert!(lapsed_at.unwrap() < now_ms() - 9 * DAY_MS);
    assert_eq!(expire_ms(&w, "never").await, None);
    // No days came with them: a target without a membership stays without
    // one (only the payments move), one with a membership keeps its expiry.
    let fresh = k.player_row("fresh").await.unwrap();
    assert_eq!(
        (
            fresh.membership_expire_at,
            fresh.membership_level,
            fresh.membership_pay_fen
        ),
        (None, 0, 5000)
    );
    let dst_now = k.player_row("dst").await.unwrap();
    assert_eq!(dst_now.membership_pay_fen, 13000);
    assert_eq!(
        dst_now.membership_expire_at.unwrap(),
        dst_before + 20 * DAY_MS
    );

    // Nothing left to move, same account, unknown account.
    assert_eq!(
        invalid_field(
            k.transfer_membership(&w.sup, &t("src", "dst"))
                .await
                .unwrap_err()
        ),
        "source_account"
    );
    assert_eq!(
        invalid_field(
            k.transfer_membership(&w.sup, &t("empty", "dst"))
                .await
                .unwrap_err()
        ),
        "source_account"
    );
    assert_eq!(
        invalid_field(
            k.transfer_membership(&w.sup, &t("dst", "dst"))
                .await
                .unwrap_err()
        ),
        "target_account"
    );
    assert!(matches!(
        k.transfer_membership(&w.sup, &t("dst", "ghost")).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        k.transfer_membership(&w.sup, &t("ghost", "dst")).await,
        Err(Error::NotFound(_))
    ));
    // The failures changed nothing.
    assert_eq!(k.player_row("dst").await.unwrap().membership_pay_fen, 13000);
    let (log, _) = k
        .audit_log(
            &w.sup,
            &AuditQuery {
                action: Some("player.transfer".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[2].target, "src->dst");
    w.db.finish().await;
}

#[tokio::test]
async fn role_matrix() {
    let w = world().await;
    let k = &w.kefu;
    k.create_player(&w.sup, &input("p1")).await.unwrap();
    let forbidden = |r: Result<(), Error>| assert!(matches!(r, Err(Error::Forbidden(_))), "{r:?}");
    // Admins read, never write.
    k.list_players(&w.admin, &q()).await.unwrap();
    k.get_player(&w.admin, "p1").await.unwrap();
    forbidden(k.create_player(&w.admin, &input("p2")).await.map(|_| ()));
    forbidden(
        k.update_player(&w.admin, "p1", &PlayerInput::default())
            .await,
    );
    forbidden(k.delete_player(&w.admin, "p1").await);
    forbidden(k.delete_players(&w.admin, &["p1".into()]).await.map(|_| ()));
    forbidden(
        k.recharge(&w.admin, "p1", &recharge(1.0, 1))
            .await
            .map(|_| ()),
    );
    forbidden(
        k.transfer_membership(
            &w.admin,
            &TransferRequest {
                source_account: "p1".into(),
                target_account: "p2".into(),
            },
        )
        .await
        .map(|_| ()),
    );
    forbidden(k.list_staff(&w.admin).await.map(|_| ()));
    forbidden(
        k.audit_log(&w.admin, &AuditQuery::default())
            .await
            .map(|_| ()),
    );
    // Agents see no players at all.
    forbidden(k.list_players(&w.agent, &q()).await.map(|_| ()));
    forbidden(k.get_player(&w.agent, "p1").await.map(|_| ()));
    forbidden(k.default_players(&w.agent).await.map(|_| ()));
    forbidden(
        k.recharge_history(&w.agent, "p1", None, None)
            .await
            .map(|_| ()),
    );
    forbidden(k.force_logout(&w.agent, w.admin.id).await);
    w.db.finish().await;
}

#[tokio::test]
async fn staff_administration_and_guards() {
    let w = world().await;
    let k = &w.kefu;
    let create = |name: &str, user_type: Option<&str>, is_super: Option<bool>| CreateStaffRequest {
        username: name.into(),
        password: "password-456".into(),
        is_super,
        user_type: user_type.map(str::to_owned),
    };
    let a = k
        .create_staff(&w.sup, &create("xiao.qiao", Some("customer_service"), None))
        .await
        .unwrap();
    assert_eq!(a.role, Role::Agent);
    assert_eq!(
        k.create_staff(&w.sup, &create("da.qiao", None, None))
            .await
            .unwrap()
            .role,
        Role::Admin
    );
    assert!(matches!(
        k.create_staff(&w.sup, &create("da.qiao", None, None)).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        invalid_field(
            k.create_staff(&w.sup, &create("zz", None, None))
                .await
                .unwrap_err()
        ),
        "username"
    );
    assert_eq!(
        invalid_field(
            k.create_staff(&w.sup, &create("zhou.yu", Some("boss"), None))
                .await
                .unwrap_err()
        ),
        "user_type"
    );
    let list = k.list_staff(&w.sup).await.unwrap();
    assert_eq!(list.len(), 5);
    assert_eq!(list[3].status, "active");

    // Password change, disable, force sign-out each end the tokens.
    let login = |name: &'static str, pw: &'static str| async move {
        k.login(domain::auth::LoginKind::Staff, name, pw, "1.1.1.1")
            .await
    };
    let s1 = login("xiao.qiao", "password-456").await.unwrap();
    k.change_staff_password(&w.sup, a.id, "new-password-1")
        .await
        .unwrap();
    assert!(k.authenticate(&s1.token).await.is_err());
    assert!(login("xiao.qiao", "password-456").await.is_err());
    let s2 = login("xiao.qiao", "new-password-1").await.unwrap();
    k.force_logout(&w.sup, a.id).await.unwrap();
    assert!(k.authenticate(&s2.token).await.is_err());
    k.set_staff_status(&w.sup, a.id, "inactive").await.unwrap();
    assert!(matches!(
        login("xiao.qiao", "new-password-1").await,
        Err(Error::AccountDisabled)
    ));
    k.set_staff_status(&w.sup, a.id, "active").await.unwrap();
    login("xiao.qiao", "new-password-1").await.unwrap();
    assert_eq!(
        invalid_field(
            k.change_staff_password(&w.sup, a.id, "short")
                .await
                .unwrap_err()
        ),
        "new_password"
    );
    assert_eq!(
        invalid_field(
            k.set_staff_status(&w.sup, a.id, "paused")
                .await
                .unwrap_err()
        ),
        "status"
    );

    // Guards: no self-removal, never zero active super admins.
    assert!(matches!(
        k.set_staff_status(&w.sup, w.sup.id, "inactive").await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        k.delete_staff(&w.sup, w.sup.id).await,
        Err(Error::Conflict(_))
    ));
    let second = k
        .create_staff(&w.sup, &create("zhuge.liang", None, Some(true)))
        .await
        .unwrap();
    assert_eq!(second.role, Role::Super);
    let second_p = Principal {
        id: second.id,
        username: second.username.clone(),
        role: Role::Super,
        jti: String::new(),
        exp: 0,
        ip: String::new(),
    };
    // With two supers, one may disable the other; then the last one stays.
    k.set_staff_status(&second_p, w.sup.id, "inactive")
        .await
        .unwrap();
    assert!(
        matches!(
            k.delete_staff(&w.sup, second.id).await,
            Err(Error::Conflict(_))
        ),
        "root is inactive; zhuge.liang is the last active super"
    );
    k.set_staff_status(&second_p, w.sup.id, "active")
        .await
        .unwrap();
    k.delete_staff(&w.sup, second.id).await.unwrap();
    assert!(matches!(
        k.delete_staff(&w.sup, second.id).await,
        Err(Error::NotFound(_))
    ));
    k.delete_staff(&w.sup, a.id).await.unwrap();
    assert!(login("xiao.qiao", "new-password-1").await.is_err());

    let (log, _) = k
        .audit_log(
            &w.sup,
            &AuditQuery {
                actor: Some("root".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "staff.create",
        "staff.password",
        "staff.force_logout",
        "staff.status",
        "staff.delete",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    w.db.finish().await;
}

#[tokio::test]
async fn demo_data_fills_an_empty_database_consistently() {
    let w = world().await;
    let k = &w.kefu;
    let done = domain::demo::fill(k.store(), 300).await.unwrap();
    assert_eq!(done.players, 300);
    assert!(done.recharges > 100, "{}", done.recharges);
    let (_, total) = k
        .list_players(&w.sup, &PlayerQuery::default())
        .await
        .unwrap();
    assert_eq!(total, 300);
    // Every player's paid total equals its non-gift ledger rows.
    let (mismatches,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM players p WHERE p.membership_pay_fen <> \
         (SELECT COALESCE(SUM(CASE WHEN r.is_gift = 0 THEN r.amount_fen ELSE 0 END), 0) FROM recharges r WHERE r.account = p.account)",
    )
    .fetch_one(k.store().pool())
    .await
    .unwrap();
    assert_eq!(mismatches, 0);
    // Some paid within the last half hour, so "today" and "this month" have
    // revenue at any hour (the first minutes of a month too).
    let (recent,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM recharges WHERE is_gift = 0 AND amount_fen > 0 AND created_at >= $1",
    )
    .bind(now_ms() - 31 * 60_000)
    .fetch_one(k.store().pool())
    .await
    .unwrap();
    assert!(recent > 0, "{recent}");
    // Chats: one in twenty players; every session's seqs run 1..=last_seq
    // without gaps and its staff unread count matches its unread messages.
    assert_eq!(done.chats, 15);
    let (bad,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM chat_sessions s WHERE s.last_seq <> \
         (SELECT COUNT(*) FROM chat_messages m WHERE m.session_id = s.id) \
         OR s.last_seq <> (SELECT MAX(seq) FROM chat_messages m WHERE m.session_id = s.id) \
         OR s.staff_unread <> (SELECT COUNT(*) FROM chat_messages m WHERE m.session_id = s.id \
                               AND m.sender_type = 'user' AND m.is_read = 0)",
    )
    .fetch_one(k.store().pool())
    .await
    .unwrap();
    assert_eq!(bad, 0);
    // No chat began before its player registered.
    let (early,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM chat_sessions s JOIN players p ON p.account = s.account \
         WHERE s.created_at < p.register_at",
    )
    .fetch_one(k.store().pool())
    .await
    .unwrap();
    assert_eq!(early, 0);
    let (messages,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM chat_messages")
        .fetch_one(k.store().pool())
        .await
        .unwrap();
    assert_eq!(messages as usize, done.messages);
    // Demo staff can sign in; a second fill is refused.
    k.login(
        domain::auth::LoginKind::Staff,
        "xiaoqiao",
        &done.staff_password,
        "1.2.3.4",
    )
    .await
    .unwrap();
    assert!(matches!(
        domain::demo::fill(k.store(), 10).await,
        Err(Error::Conflict(_))
    ));
    w.db.finish().await;
}

/// The list's unfiltered total (read from the players-per-server rollup)
/// against a count of the table, with the number expected.
async fn unfiltered_total_is(w: &World, expected: i64) {
    let (_, total) = w
        .kefu
        .list_players(&w.sup, &PlayerQuery::default())
        .await
        .unwrap();
    let (counted,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM players")
        .fetch_one(w.kefu.store().pool())
        .await
        .unwrap();
    assert_eq!((total, counted), (expected, expected));
}

#[tokio::test]
async fn the_unfiltered_total_follows_every_write() {
    let w = world().await;
    let k = &w.kefu;
    unfiltered_total_is(&w, 0).await;
    for (account, server) in [("s1", "建安"), ("s2", "建安"), ("s3", ""), ("s4", "赤壁")] {
        let p = PlayerInput {
            server_name: Some(server.into()),
            ..input(account)
        };
        k.create_player(&w.sup, &p).await.unwrap();
    }
    unfiltered_total_is(&w, 4).await;
    // A filter still counts the rows it matches.
    let on = |server: &str| PlayerQuery {
        server_name: Some(server.into()),
        ..Default::default()
    };
    assert_eq!(k.list_players(&w.sup, &on("建安")).await.unwrap().1, 2);
    // Moving a player to another server (and to none) keeps the sum.
    for server in ["赤壁", ""] {
        let p = PlayerInput {
            server_name: Some(server.into()),
            ..Default::default()
        };
        k.update_player(&w.sup, "s1", &p).await.unwrap();
        unfiltered_total_is(&w, 4).await;
    }
    assert_eq!(k.list_players(&w.sup, &on("建安")).await.unwrap().1, 1);
    // A refused write changes nothing.
    assert!(matches!(
        k.create_player(&w.sup, &input("s2")).await,
        Err(Error::Conflict(_))
    ));
    unfiltered_total_is(&w, 4).await;
    k.delete_players(&w.sup, &["s2".into(), "s3".into(), "ghost".into()])
        .await
        .unwrap();
    unfiltered_total_is(&w, 2).await;
    k.delete_player(&w.sup, "s4").await.unwrap();
    unfiltered_total_is(&w, 1).await;
    w.db.finish().await;
}

/// Many writers at once: each waits for the write lock (SQLite `BEGIN
/// IMMEDIATE`) instead of failing with "database is locked". Seen as 4 of
/// 400 creates answering 500 under 8 concurrent HTTP clients before.
#[tokio::test]
async fn concurrent_writes_all_succeed() {
    let w = world().await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (k, sup) = (w.kefu.clone(), w.sup.clone());
        tasks.push(tokio::spawn(async move {
            let account = format!("crowd{i}");
            k.create_player(&sup, &input(&account)).await?;
            k.recharge(
                &sup,
                &account,
                &RechargeRequest {
                    amount: 10.0,
                    duration: 30,
                    service_agent: "root".into(),
                    remark: None,
                    is_gift: None,
                    membership_level: None,
                },
            )
            .await?;
            k.delete_player(&sup, &account).await
        }));
    }
    let mut failed = Vec::new();
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            failed.push(e.to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
    // 200 creates and deletes racing each other left the rollup at zero.
    unfiltered_total_is(&w, 0).await;
    w.db.finish().await;
}
