//! `kefu demo-data`: fills an empty database with a living back office —
//! players across servers, platforms and levels, a year of recharges in the
//! ledger (players' paid totals and expiries agree with it), a few staff, and
//! chats (one in twenty players: ended, active with a demo agent, or waiting)
//! whose messages have gap-free seqs and agree with each session's counters.
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
    pub chats: usize,
    pub messages: usize,
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
    let mut accounts = Vec::with_capacity(players);
    let mut tx = store.begin_write().await?;
    for i in 0..players {
        let surname = SURNAMES[rng.gen_range(0..SURNAMES.len())];
        let account = format!("{surname}{:05}", i + 1);
        let register_at = now - rng.gen_range(0..730) * DAY_MS - rng.gen_range(0..DAY_MS);
        accounts.push((account.clone(), register_at));
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
        // One payer in fifty paid last within the past half hour, so that
        // "today" and "this month" have revenue at any hour, the first of
        // a month included.
        let recent_payer = i % 50 == 7;
        for k in 0..payments {
            at += rng.gen_range(0..(now - at).max(1) / 2 + 1);
            let recent = recent_payer && k + 1 == payments;
            if recent {
                at = at.max(now - ((i / 50) % 30 + 1) as i64 * 60_000);
            }
            let (fen, days, lvl) = PRICES[rng.gen_range(0..PRICES.len())];
            let gift = rng.gen_bool(0.08) && !recent;
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
    let (chats, messages) = fill_chats(store, &mut rng, &accounts, now).await?;
    Ok(DemoSummary {
        players,
        recharges,
        chats,
        messages,
        staff_password,
    })
}

const QUESTIONS: &[&str] = &[
    "你好，我充值了会员但是没有生效",
    "辅助登录不上怎么办？",
    "请问 SVIP 和 VIP 有什么区别",
    "我想把会员转到另一个账号",
    "游戏一直卡在加载界面",
    "昨天的活动奖励没有收到",
];
const ANSWERS: &[&str] = &[
    "您好，我帮您查一下，请稍等",
    "已为您处理，请重新登录试试",
    "SVIP 多了多开和优先客服，价格见充值页",
    "可以的，请提供两个账号",
    "建议清理缓存后重启，还有问题请告诉我",
];
const FOLLOW_UPS: &[&str] = &["好的，谢谢", "可以了，感谢！", "还是不行", "收到"];

/// One chat in twenty players: 60 % ended, 25 % active, 15 % waiting.
async fn fill_chats(
    store: &Store,
    rng: &mut StdRng,
    accounts: &[(String, i64)],
    now: i64,
) -> Result<(usize, usize)> {
    let mut agents = Vec::new();
    for name in AGENTS {
        if let Some(s) = staff::by_username(store, name).await? {
            agents.push((s.id, s.username));
        }
    }
    let mut chats = 0;
    let mut total = 0;
    let mut tx = store.begin_write().await?;
    for (account, register_at) in accounts.iter().step_by(20) {
        let roll = rng.gen_range(0..100);
        let status = match roll {
            0..=59 => "ended",
            60..=84 => "active",
            _ => "pending",
        };
        let (agent_id, agent) = agents[rng.gen_range(0..agents.len())].clone();
        let created = if status == "ended" {
            now - rng.gen_range(1..30) * DAY_MS - rng.gen_range(0..DAY_MS)
        } else {
            now - rng.gen_range(1..90) * 60_000
        };
        // Never before the player registered (nor in the future).
        let created = created.max(register_at + 60_000).min(now - 1_000);
        // (sender type, sender, text) in order.
        let mut lines: Vec<(&str, String, String)> = vec![(
            "user",
            account.clone(),
            QUESTIONS[rng.gen_range(0..QUESTIONS.len())].to_owned(),
        )];
        if status != "pending" {
            lines.push((
                "system",
                "system".into(),
                format!("客服 {agent} 已接入会话"),
            ));
            lines.push((
                "customer_service",
                agent.clone(),
                ANSWERS[rng.gen_range(0..ANSWERS.len())].to_owned(),
            ));
            lines.push((
                "user",
                account.clone(),
                FOLLOW_UPS[rng.gen_range(0..FOLLOW_UPS.len())].to_owned(),
            ));
            if status == "ended" {
                lines.push((
                    "customer_service",
                    agent.clone(),
                    "不客气，祝您游戏愉快".to_owned(),
                ));
                lines.push(("system", "system".into(), format!("会话已由 {agent} 结束")));
            }
        }
        let id = uuid::Uuid::now_v7().to_string();
        let step = 45_000;
        let at = |i: usize| created + step * i as i64;
        let last = lines.len() - 1;
        let last_text = lines
            .iter()
            .rev()
            .find(|l| l.0 != "system")
            .map(|l| l.2.clone())
            .unwrap_or_default();
        // Waiting and active chats end with the player's message unread.
        let staff_unread = match status {
            "pending" => 1,
            "active" => 1,
            _ => 0,
        };
        sqlx::query(
            "INSERT INTO chat_sessions (id, account, agent_id, agent, status, is_important, last_seq, \
             staff_unread, player_unread, last_message, last_message_at, created_at, accepted_at, \
             first_response_at, ended_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&id)
        .bind(account)
        .bind((status != "pending").then_some(agent_id))
        .bind((status != "pending").then(|| agent.clone()))
        .bind(status)
        .bind(i64::from(rng.gen_bool(0.1)))
        .bind(lines.len() as i64)
        .bind(staff_unread)
        .bind(&last_text)
        .bind(at(last))
        .bind(created)
        .bind((status != "pending").then(|| at(1)))
        .bind((status != "pending").then(|| at(2)))
        .bind((status == "ended").then(|| at(last)))
        .execute(&mut *tx)
        .await?;
        for (i, (kind, sender, text)) in lines.iter().enumerate() {
            let unread = *kind == "user" && i == lines.len() - 1 && status != "ended";
            sqlx::query(
                "INSERT INTO chat_messages (id, session_id, seq, sender_type, sender, content, content_type, \
                 client_msg_id, sent_at, is_read) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(&id)
            .bind(i as i64 + 1)
            .bind(*kind)
            .bind(sender)
            .bind(text)
            .bind(if *kind == "system" { "system" } else { "text" })
            .bind(at(i))
            .bind(i64::from(!unread))
            .execute(&mut *tx)
            .await?;
            total += 1;
        }
        chats += 1;
    }
    tx.commit().await?;
    Ok((chats, total))
}
