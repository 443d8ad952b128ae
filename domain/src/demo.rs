//! `kefu demo-data`: fills an empty database with a living back office —
//! players across servers, platforms and levels, a year of recharges in the
//! ledger (players' paid totals and expiries agree with it), and a few staff.
//! Seeded, so the same count gives the same data.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::players::DAY_MS;
use crate::staff;
use crate::time::now_ms;
use crate::{Error, Result, Role, Store};

const SERVERS: &[&str] = &[
    "洛阳一区",
    "许昌二区",
    "成都三区",
    "建业四区",
    "长安五区",
    "襄阳六区",
    "江陵七区",
    "汉中八区",
];
const SURNAMES: &[&str] = &[
    "zhang", "wang", "li", "zhao", "liu", "chen", "yang", "huang", "zhou", "wu", "sun", "ma",
];
const REMARKS: &[&str] = &[
    "",
    "",
    "",
    "老玩家",
    "需要回访",
    "VIP 续费意向",
    "曾投诉卡顿",
    "公会会长",
    "夜间在线",
];
const AGENTS: &[&str] = &["xiaoqiao", "daqiao", "diaochan"];
const PRICES: &[(i64, i64, i64)] = &[
    (1500, 30, 1),
    (3800, 90, 1),
    (6800, 90, 2),
    (12800, 180, 2),
    (19800, 365, 3),
];

pub struct DemoSummary {
    pub players: usize,
    pub recharges: usize,
    pub staff_password: String,
}

/// Fills the store with `players` players. Refuses a database that already has players.
pub async fn fill(store: &Store, players: usize) -> Result<DemoSummary> {
    let (existing,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM players")
        .fetch_one(store.pool())
        .await?;
    if existing > 0 {
        return Err(Error::Conflict(format!(
            "the database already has {existing} players; demo data goes only into an empty one"
        )));
    }
    let staff_password = "demo-password-1".to_owned();
    for (name, role) in [
        ("demo.admin", Role::Admin),
        ("xiaoqiao", Role::Agent),
        ("daqiao", Role::Agent),
        ("diaochan", Role::Agent),
    ] {
        if staff::by_username(store, name).await?.is_none() {
            staff::create(store, name, &staff_password, role).await?;
        }
    }
    let mut rng = StdRng::seed_from_u64(players as u64);
    let now = now_ms();
    let mut recharges = 0;
    let mut tx = store.pool().begin().await?;
    for i in 0..players {
        let surname = SURNAMES[rng.gen_range(0..SURNAMES.len())];
        let account = format!("{surname}{:05}", i + 1);
        let register_at = now - rng.gen_range(0..730) * DAY_MS - rng.gen_range(0..DAY_MS);
        let platform = [1, 1, 1, 2, 2, 3, -1][rng.gen_range(0..7)];
        let server = if rng.gen_bool(0.95) {
            SERVERS[rng.gen_range(0..SERVERS.len())]
        } else {
            ""
        };
        let contact = if rng.gen_bool(0.7) {
            format!(
                "1{}{:09}",
                rng.gen_range(3..9),
                rng.gen_range(0..1_000_000_000u64)
            )
        } else {
            format!("qq:{}", rng.gen_range(10_000..999_999_999u64))
        };
        // A year of recharges for payers, in time order, from registration on.
        let mut expire: Option<i64> = None;
        let mut paid = 0;
        let mut level = 0;
        let payments = match rng.gen_range(0..10) {
            0..=3 => 0,
            4..=6 => 1,
            7..=8 => rng.gen_range(2..5),
            _ => rng.gen_range(5..12),
        };
        let mut at = register_at.max(now - 365 * DAY_MS);
        for _ in 0..payments {
            at += rng.gen_range(0..(now - at).max(1) / 2 + 1);
            let (fen, days, lvl) = PRICES[rng.gen_range(0..PRICES.len())];
            let gift = rng.gen_bool(0.08);
            let new_expire = expire.map_or(at, |e| e.max(at)) + days * DAY_MS;
            expire = Some(new_expire);
            if !gift {
                paid += fen;
            }
            level = level.max(lvl);
            sqlx::query(
                "INSERT INTO recharges (account, amount_fen, days, level, agent, remark, is_gift, created_at, created_by, new_expire_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&account)
            .bind(if gift { 0 } else { fen })
            .bind(days)
            .bind(lvl)
            .bind(AGENTS[rng.gen_range(0..AGENTS.len())])
            .bind(if gift { "活动赠送" } else { "" })
            .bind(i64::from(gift))
            .bind(at)
            .bind("demo-data")
            .bind(new_expire)
            .execute(&mut *tx)
            .await?;
            recharges += 1;
        }
        sqlx::query(
            "INSERT INTO players (account, real_account, main_account, contact, server_name, server_info, \
             membership_level, membership_pay_fen, membership_expire_at, game_platform, auxiliary_online, is_open, \
             register_at, remarks) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&account)
        .bind(format!("{surname}_{}", rng.gen_range(100..999)))
        .bind(if rng.gen_bool(0.2) { format!("{surname}main") } else { String::new() })
        .bind(contact)
        .bind(server)
        .bind(if server.is_empty() { String::new() } else { format!("{server} · 第{}服", rng.gen_range(1..30)) })
        .bind(level)
        .bind(paid)
        .bind(expire)
        .bind(platform)
        .bind(i64::from(rng.gen_bool(0.3)))
        .bind(i64::from(rng.gen_bool(0.92)))
        .bind(register_at)
        .bind(REMARKS[rng.gen_range(0..REMARKS.len())])
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(DemoSummary {
        players,
        recharges,
        staff_password,
    })
}
