//! Players and their memberships (seed 000 §2, API.md "Players").
//!
//! Decisions:
//! - `keyword` and the text filters `account`, `real_account`, `main_account`,
//!   `contact`, `server_info`, `remarks` match a case-insensitive substring;
//!   `server_name` matches exactly (it names one game server).
//! - Ranges are inclusive; a bare date as a range end means the whole day.
//! - Sorting on any appendix A field; ties break by insertion order on SQLite
//!   (its indexes already hold that order) and by account on PostgreSQL; a
//!   missing expiry sorts first ascending and last descending on both.
//! - A recharge without `membership_level` keeps the level, lifting a free
//!   player (level 0) to 1. A gift adds days but neither revenue nor paid total.
//! - The recharge ledger and transfer records keep rows of deleted players,
//!   so revenue figures never change after the fact.

use protocol::players::{
    Player, PlayerInput, PlayerQuery, Recharge, RechargeRequest, RechargeResult, TransferRequest,
    TransferResult,
};
use sqlx::FromRow;

use crate::audit;
use crate::auth::{Principal, Role};
use crate::listing::{page_and_size, Filter};
use crate::money::{fen_to_yuan, yuan_to_fen};
use crate::time::now_ms;
use crate::{Error, Kefu, Result};

pub const DAY_MS: i64 = 86_400_000;
const READ: &[Role] = &[Role::Super, Role::Admin];
const WRITE: &[Role] = &[Role::Super];
/// Recharges the desk's player panel lists.
pub const DESK_RECHARGES: i64 = 5;

const COLUMNS: &str = "account, real_account, main_account, contact, server_name, server_info, \
    membership_level, membership_pay_fen, membership_expire_at, game_platform, auxiliary_online, \
    is_open, register_at, remarks, websocket_url, game_web_url, user_login_data";

#[derive(Debug, Clone, FromRow)]
pub struct PlayerRow {
    pub account: String,
    pub real_account: String,
    pub main_account: String,
    pub contact: String,
    pub server_name: String,
    pub server_info: String,
    pub membership_level: i64,
    pub membership_pay_fen: i64,
    pub membership_expire_at: Option<i64>,
    pub game_platform: i64,
    pub auxiliary_online: i64,
    pub is_open: i64,
    pub register_at: i64,
    pub remarks: String,
    pub websocket_url: String,
    pub game_web_url: String,
    pub user_login_data: String,
}

/// Account ids no new player may take (see `create_player`).
const RESERVED_ACCOUNTS: [&str; 2] = ["default", "transfer-membership"];

/// Account ids: 1–64 letters, digits, `_`, `-`, `.`, `@`.
pub fn validate_account(field: &str, account: &str) -> Result<()> {
    let n = account.chars().count();
    if n == 0 {
        return Err(Error::invalid(field, "is required"));
    }
    if n > 64 {
        return Err(Error::invalid(field, "must be at most 64 characters"));
    }
    if !account
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'))
    {
        return Err(Error::invalid(
            field,
            "may contain only letters, digits, _, -, . and @",
        ));
    }
    Ok(())
}

fn text(field: &str, value: &str, max: usize) -> Result<String> {
    if value.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(value.trim().to_owned())
}

fn one_of(field: &str, value: i64, allowed: &[i64]) -> Result<i64> {
    if allowed.contains(&value) {
        Ok(value)
    } else {
        let list = allowed
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        Err(Error::invalid(field, format!("must be one of {list}")))
    }
}

const LEVELS: &[i64] = &[0, 1, 2, 3];
const PLATFORMS: &[i64] = &[-1, 1, 2, 3];
const FLAGS: &[i64] = &[0, 1];

fn int_list(field: &str, text: &str, allowed: &[i64]) -> Result<Vec<i64>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| Error::invalid(field, "must be comma-separated whole numbers"))
                .and_then(|v| one_of(field, v, allowed))
        })
        .collect()
}

fn sort_column(field: &str) -> Result<&'static str> {
    Ok(match field {
        "account" => "account",
        "real_account" => "real_account",
        "main_account" => "main_account",
        "contact" => "contact",
        "server_name" => "server_name",
        "server_info" => "server_info",
        "membership_level" => "membership_level",
        "membership_pay_money" => "membership_pay_fen",
        "membership_expire_date" => "membership_expire_at",
        "game_platform" => "game_platform",
        "auxiliary_online" => "auxiliary_online",
        "is_open" => "is_open",
        "register_date" => "register_at",
        "remarks" => "remarks",
        "websocket_url" => "websocket_url",
        "game_web_url" => "game_web_url",
        "user_login_data" => "user_login_data",
        other => {
            return Err(Error::invalid(
                "sort_by",
                format!("`{other}` is not a player field"),
            ))
        }
    })
}

impl Kefu {
    pub fn player_to_wire(&self, r: PlayerRow) -> Player {
        let clock = self.clock();
        Player {
            account: r.account,
            real_account: r.real_account,
            main_account: r.main_account,
            contact: r.contact,
            server_name: r.server_name,
            server_info: r.server_info,
            membership_level: r.membership_level,
            membership_pay_money: fen_to_yuan(r.membership_pay_fen),
            membership_expire_date: r.membership_expire_at.map(|ms| clock.format_ms(ms)),
            game_platform: r.game_platform,
            auxiliary_online: r.auxiliary_online,
            is_open: r.is_open,
            register_date: clock.format_ms(r.register_at),
            remarks: r.remarks,
            websocket_url: r.websocket_url,
            game_web_url: r.game_web_url,
            user_login_data: r.user_login_data,
        }
    }

    /// The player list with every filter of seed 000 §2.1, one page and the total.
    pub async fn list_players(
        &self,
        who: &Principal,
        q: &PlayerQuery,
    ) -> Result<(Vec<Player>, i64)> {
        who.require(READ)?;
        let (page, size) = page_and_size(q.page.as_deref(), q.size.as_deref())?;
        let clock = self.clock();
        let mut f = Filter::default();
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        if let Some(k) = given(&q.keyword) {
            keyword_clause(&mut f, self.store().backend(), &k);
        }
        for (field, value) in [
            ("account", &q.account),
            ("real_account", &q.real_account),
            ("main_account", &q.main_account),
            ("contact", &q.contact),
            ("server_info", &q.server_info),
            ("remarks", &q.remarks),
        ] {
            if let Some(v) = given(value) {
                f.contains(&[field], &v);
            }
        }
        if let Some(v) = given(&q.server_name) {
            let p = f.bind_text(v);
            f.clause(format!("server_name = {p}"));
        }
        if let Some(v) = given(&q.membership_level_list) {
            let levels = int_list("membership_level_list", &v, LEVELS)?;
            if !levels.is_empty() {
                f.one_of("membership_level", &levels);
            }
        }
        if let Some(v) = given(&q.game_platform_list) {
            let platforms = int_list("game_platform_list", &v, PLATFORMS)?;
            if !platforms.is_empty() {
                f.one_of("game_platform", &platforms);
            }
        }
        let money = |field: &str, v: String| -> Result<i64> {
            let yuan: f64 = v
                .parse()
                .map_err(|_| Error::invalid(field, "must be a number"))?;
            yuan_to_fen(field, yuan)
        };
        let min = given(&q.membership_pay_money_min)
            .map(|v| money("membership_pay_money_min", v))
            .transpose()?;
        let max = given(&q.membership_pay_money_max)
            .map(|v| money("membership_pay_money_max", v))
            .transpose()?;
        if let (Some(a), Some(b)) = (min, max) {
            if a > b {
                return Err(Error::invalid(
                    "membership_pay_money_max",
                    "must not be below the minimum",
                ));
            }
        }
        if let Some(a) = min {
            let p = f.bind_int(a);
            f.clause(format!("membership_pay_fen >= {p}"));
        }
        if let Some(b) = max {
            let p = f.bind_int(b);
            f.clause(format!("membership_pay_fen <= {p}"));
        }
        for (field, column, value, end) in [
            (
                "membership_expire_date_start",
                "membership_expire_at",
                &q.membership_expire_date_start,
                false,
            ),
            (
                "membership_expire_date_end",
                "membership_expire_at",
                &q.membership_expire_date_end,
                true,
            ),
            (
                "register_date_start",
                "register_at",
                &q.register_date_start,
                false,
            ),
            (
                "register_date_end",
                "register_at",
                &q.register_date_end,
                true,
            ),
        ] {
            if let Some(v) = given(value) {
                let ms = clock.parse_input(field, &v, end)?;
                let p = f.bind_int(ms);
                f.clause(format!("{column} {} {p}", if end { "<=" } else { ">=" }));
            }
        }
        for (field, column, value) in [
            ("auxiliary_online", "auxiliary_online", &q.auxiliary_online),
            ("is_open", "is_open", &q.is_open),
        ] {
            if let Some(v) = given(value) {
                let flag = v
                    .parse::<i64>()
                    .map_err(|_| Error::invalid(field, "must be 0 or 1"))
                    .and_then(|x| one_of(field, x, FLAGS))?;
                let p = f.bind_int(flag);
                f.clause(format!("{column} = {p}"));
            }
        }
        let column = match given(&q.sort_by) {
            Some(s) => sort_column(&s)?,
            None => "register_at",
        };
        let descending = match given(&q.sort_order).as_deref() {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(_) => return Err(Error::invalid("sort_order", "must be asc or desc")),
        };
        let dir = if descending { "DESC" } else { "ASC" };
        // NULLs (only the expiry has them) come last in either direction.
        let order = if descending {
            "DESC NULLS LAST"
        } else {
            "ASC NULLS FIRST"
        };
        let total = if f.is_empty() {
            // Every player: the sum of the players-per-server rollup, which
            // triggers keep in the same transaction as each write to
            // `players` (migration 0006), so it is as exact as a count and
            // reads a hundred rows instead of a million (PostgreSQL counts
            // by scanning the table: about 150 ms at 1,000,000 players).
            let (n,): (i64,) = sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(players), 0) AS BIGINT) FROM server_counts",
            )
            .fetch_one(self.store().pool())
            .await?;
            n
        } else {
            f.count(self.store(), "players").await?
        };
        let offset = (page - 1) * size;
        let sql = match self.store().backend() {
            // Deferred join: find the page's rowids from the index alone,
            // then read just those rows (deep pages skip index entries, not rows).
            // Ties break by rowid in the sort's direction: every index already
            // orders its entries that way, so no sort step is needed.
            crate::store::Backend::Sqlite => {
                format!(
                    "SELECT {COLUMNS} FROM players WHERE rowid IN (SELECT rowid FROM players{} \
                     ORDER BY {column} {order}, rowid {dir} LIMIT {size} OFFSET {offset}) \
                     ORDER BY {column} {order}, rowid {dir}",
                    f.where_sql()
                )
            }
            // Only the expiry can be NULL; for every other column the NULLS
            // clause changes no row's place but keeps PostgreSQL from
            // walking the column's index (whose backward order is DESC NULLS
            // FIRST), so it sorted the whole table for each page: 80 ms at
            // 1,000,000 players. Without it the index gives the order and
            // ties by account are sorted a few rows at a time. Kept with a
            // substring match (the keyword, a text field), whose matches
            // PostgreSQL cannot count in advance: walking the index to find
            // 20 of 11 matches read the whole table (2.0 s at 1,000,000
            // against 1.8 ms matching first through the trigram index).
            crate::store::Backend::Postgres => {
                let order = if column == "membership_expire_at" || f.has_substring_match() {
                    order
                } else {
                    dir
                };
                format!(
                    "SELECT {COLUMNS} FROM players{} ORDER BY {column} {order}, account ASC LIMIT {size} OFFSET {offset}",
                    f.where_sql()
                )
            }
        };
        let rows: Vec<PlayerRow> = f.fetch_all(self.store(), &sql).await?;
        Ok((
            rows.into_iter().map(|r| self.player_to_wire(r)).collect(),
            total,
        ))
    }

    /// Three newest players of each game platform (1, 2, 3).
    pub async fn default_players(&self, who: &Principal) -> Result<Vec<Player>> {
        who.require(READ)?;
        let mut out = Vec::new();
        for platform in [1_i64, 2, 3] {
            let rows: Vec<PlayerRow> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM players WHERE game_platform = $1 \
                 ORDER BY register_at DESC, account ASC LIMIT 3"
            ))
            .bind(platform)
            .fetch_all(self.store().pool())
            .await?;
            out.extend(rows.into_iter().map(|r| self.player_to_wire(r)));
        }
        Ok(out)
    }

    pub async fn player_row(&self, account: &str) -> Result<PlayerRow> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM players WHERE account = $1"))
            .bind(account)
            .fetch_optional(self.store().pool())
            .await?
            .ok_or_else(|| Error::NotFound(format!("player `{account}`")))
    }

    pub async fn get_player(&self, who: &Principal, account: &str) -> Result<Player> {
        who.require(READ)?;
        let row = self.player_row(account).await?;
        Ok(self.player_to_wire(row))
    }

    /// Applies `input` over `base`, validating every given field.
    fn apply(&self, mut base: PlayerRow, input: &PlayerInput) -> Result<PlayerRow> {
        let clock = self.clock();
        for (field, value, target, max) in [
            (
                "real_account",
                &input.real_account,
                &mut base.real_account,
                64,
            ),
            (
                "main_account",
                &input.main_account,
                &mut base.main_account,
                64,
            ),
            ("contact", &input.contact, &mut base.contact, 128),
            ("server_name", &input.server_name, &mut base.server_name, 64),
            (
                "server_info",
                &input.server_info,
                &mut base.server_info,
                255,
            ),
            ("remarks", &input.remarks, &mut base.remarks, 2000),
            (
                "websocket_url",
                &input.websocket_url,
                &mut base.websocket_url,
                1024,
            ),
            (
                "game_web_url",
                &input.game_web_url,
                &mut base.game_web_url,
                1024,
            ),
            (
                "user_login_data",
                &input.user_login_data,
                &mut base.user_login_data,
                16384,
            ),
        ] {
            if let Some(v) = value {
                *target = text(field, v, max)?;
            }
        }
        if let Some(v) = input.membership_level {
            base.membership_level = one_of("membership_level", v, LEVELS)?;
        }
        if let Some(v) = input.game_platform {
            base.game_platform = one_of("game_platform", v, PLATFORMS)?;
        }
        if let Some(v) = input.auxiliary_online {
            base.auxiliary_online = one_of("auxiliary_online", v, FLAGS)?;
        }
        if let Some(v) = input.is_open {
            base.is_open = one_of("is_open", v, FLAGS)?;
        }
        if let Some(v) = input.membership_pay_money {
            base.membership_pay_fen = yuan_to_fen("membership_pay_money", v)?;
        }
        if let Some(v) = &input.membership_expire_date {
            base.membership_expire_at = if v.trim().is_empty() {
                None
            } else {
                Some(clock.parse_input("membership_expire_date", v, false)?)
            };
        }
        if let Some(v) = input
            .register_date
            .as_deref()
            .filter(|v| !v.trim().is_empty())
        {
            base.register_at = clock.parse_input("register_date", v, false)?;
        }
        Ok(base)
    }

    pub async fn create_player(&self, who: &Principal, input: &PlayerInput) -> Result<String> {
        who.require(WRITE)?;
        let account = input
            .account
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        validate_account("account", &account)?;
        // `/admin/users/default` and `/admin/users/transfer-membership` are
        // other endpoints: a player by those names could not be reached at
        // their own URL.
        if RESERVED_ACCOUNTS.contains(&account.as_str()) {
            return Err(Error::invalid(
                "account",
                format!("`{account}` is reserved (its URL belongs to another endpoint)"),
            ));
        }
        let row = self.apply(
            PlayerRow {
                account: account.clone(),
                real_account: String::new(),
                main_account: String::new(),
                contact: String::new(),
                server_name: String::new(),
                server_info: String::new(),
                membership_level: 0,
                membership_pay_fen: 0,
                membership_expire_at: None,
                game_platform: -1,
                auxiliary_online: 0,
                is_open: 1,
                register_at: now_ms(),
                remarks: String::new(),
                websocket_url: String::new(),
                game_web_url: String::new(),
                user_login_data: String::new(),
            },
            input,
        )?;
        let mut tx = self.store().begin_write().await?;
        let inserted = bind_row(
            sqlx::query(&format!(
                "INSERT INTO players ({COLUMNS}) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
            )),
            &row,
        )
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(Error::Conflict(format!("player `{account}` exists")))
            }
            other => {
                other?;
            }
        }
        audit::record(&mut tx, who, "player.create", &account, "").await?;
        tx.commit().await?;
        Ok(account)
    }

    pub async fn update_player(
        &self,
        who: &Principal,
        account: &str,
        input: &PlayerInput,
    ) -> Result<()> {
        who.require(WRITE)?;
        if let Some(new) = input
            .account
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            if new != account {
                return Err(Error::invalid("account", "cannot be changed"));
            }
        }
        // Read inside the write (SQLite's write lock, PostgreSQL's row
        // lock): a recharge committed meanwhile is neither lost under the
        // old expiry and total nor overwritten by them.
        let mut tx = self.store().begin_write().await?;
        let lock = match self.store().backend() {
            crate::store::Backend::Postgres => " FOR UPDATE",
            crate::store::Backend::Sqlite => "",
        };
        let before: PlayerRow = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM players WHERE account = $1{lock}"
        ))
        .bind(account)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::NotFound(format!("player `{account}`")))?;
        let after = self.apply(before.clone(), input)?;
        let changed = changed_fields(&before, &after);
        let done = bind_row(
            sqlx::query(
                "UPDATE players SET real_account = $2, main_account = $3, contact = $4, \
                 server_name = $5, server_info = $6, membership_level = $7, membership_pay_fen = $8, \
                 membership_expire_at = $9, game_platform = $10, auxiliary_online = $11, is_open = $12, \
                 register_at = $13, remarks = $14, websocket_url = $15, game_web_url = $16, \
                 user_login_data = $17 WHERE account = $1",
            ),
            &after,
        )
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("player `{account}`")));
        }
        audit::record(&mut tx, who, "player.update", account, &changed.join(",")).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_player(&self, who: &Principal, account: &str) -> Result<()> {
        who.require(WRITE)?;
        let mut tx = self.store().begin_write().await?;
        let done = sqlx::query("DELETE FROM players WHERE account = $1")
            .bind(account)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("player `{account}`")));
        }
        audit::record(&mut tx, who, "player.delete", account, "").await?;
        tx.commit().await?;
        self.players_gone(who, &[account.to_owned()]).await;
        Ok(())
    }

    /// After players are deleted: their chat sockets close (4001: their
    /// token no longer authenticates) and their open chats end, so no
    /// queue or desk keeps waiting on someone who is gone. Their history
    /// stays. Failures here are logged; the deletion stands.
    async fn players_gone(&self, who: &Principal, accounts: &[String]) {
        for account in accounts {
            self.hub()
                .kick_player(account, protocol::chat::CLOSE_AUTH_FAILED);
            let open: std::result::Result<Vec<(String,)>, sqlx::Error> = sqlx::query_as(
                "SELECT id FROM chat_sessions WHERE account = $1 AND status <> 'ended'",
            )
            .bind(account)
            .fetch_all(self.store().pool())
            .await;
            let ids = match open {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::warn!(error = %e, "a deleted player's open chats were not found");
                    continue;
                }
            };
            for (id,) in ids {
                match self.end_session(who, &id).await {
                    Ok(_) | Err(Error::Conflict(_)) => {}
                    Err(e) => tracing::warn!(error = %e, "a deleted player's chat did not end"),
                }
            }
        }
    }

    /// Deletes the listed players (1–500); answers how many existed.
    pub async fn delete_players(&self, who: &Principal, accounts: &[String]) -> Result<u64> {
        who.require(WRITE)?;
        if accounts.is_empty() {
            return Err(Error::invalid("accounts", "must list at least one account"));
        }
        if accounts.len() > 500 {
            return Err(Error::invalid("accounts", "must list at most 500 accounts"));
        }
        for a in accounts {
            validate_account("accounts", a)?;
        }
        let mut f = Filter::default();
        let ps: Vec<String> = accounts.iter().map(|a| f.bind_text(a.clone())).collect();
        let sql = format!("DELETE FROM players WHERE account IN ({})", ps.join(", "));
        let mut q = sqlx::query(&sql);
        for a in accounts {
            q = q.bind(a.as_str());
        }
        let mut tx = self.store().begin_write().await?;
        let deleted = q.execute(&mut *tx).await?.rows_affected();
        audit::record(
            &mut tx,
            who,
            "player.batch_delete",
            &accounts.join(","),
            &format!("deleted={deleted}"),
        )
        .await?;
        tx.commit().await?;
        self.players_gone(who, accounts).await;
        Ok(deleted)
    }

    /// Recharge or gift: `new expiry = max(now, current expiry) + days`,
    /// with a ledger row and an audit row in the same transaction.
    pub async fn recharge(
        &self,
        who: &Principal,
        account: &str,
        req: &RechargeRequest,
    ) -> Result<RechargeResult> {
        who.require(WRITE)?;
        self.apply_recharge(who, account, req, "player.recharge")
            .await
    }

    /// A recharge from the chat desk (`POST /api/cs_recharge`): every staff
    /// role may; the agent defaults to the caller. No gifts or level
    /// changes from the desk.
    pub async fn cs_recharge(
        &self,
        who: &Principal,
        req: &protocol::chat::CsRechargeRequest,
    ) -> Result<RechargeResult> {
        who.require(&[Role::Super, Role::Admin, Role::Agent])?;
        let agent = req
            .service_agent
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .unwrap_or(&who.username);
        let full = RechargeRequest {
            amount: req.amount,
            duration: req.duration,
            service_agent: agent.to_owned(),
            remark: req.remark.clone(),
            is_gift: None,
            membership_level: None,
        };
        self.apply_recharge(who, req.account.trim(), &full, "player.cs_recharge")
            .await
    }

    async fn apply_recharge(
        &self,
        who: &Principal,
        account: &str,
        req: &RechargeRequest,
        action: &str,
    ) -> Result<RechargeResult> {
        if account.is_empty() {
            return Err(Error::invalid("account", "is required"));
        }
        let amount_fen = yuan_to_fen("amount", req.amount)?;
        if !(1..=3650).contains(&req.duration) {
            return Err(Error::invalid("duration", "must be 1 to 3650 days"));
        }
        let agent = req.service_agent.trim();
        if agent.is_empty() {
            return Err(Error::invalid("service_agent", "is required"));
        }
        let agent = text("service_agent", agent, 64)?;
        let remark = text("remark", req.remark.as_deref().unwrap_or(""), 500)?;
        let level = req
            .membership_level
            .map(|l| one_of("membership_level", l, LEVELS))
            .transpose()?;
        let is_gift = req.is_gift.unwrap_or(false);
        let paid = if is_gift { 0 } else { amount_fen };
        let now = now_ms();
        let mut tx = self.store().begin_write().await?;
        let updated: Option<(Option<i64>,)> = sqlx::query_as(
            "UPDATE players SET \
             membership_expire_at = (CASE WHEN membership_expire_at IS NULL OR membership_expire_at < $2 \
                                     THEN $2 ELSE membership_expire_at END) + $3, \
             membership_pay_fen = membership_pay_fen + $4, \
             membership_level = CASE WHEN $5 >= 0 THEN $5 WHEN membership_level = 0 THEN 1 ELSE membership_level END \
             WHERE account = $1 RETURNING membership_expire_at",
        )
        .bind(account)
        .bind(now)
        .bind(req.duration * DAY_MS)
        .bind(paid)
        .bind(level.unwrap_or(-1))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((Some(new_expire),)) = updated else {
            return Err(Error::NotFound(format!("player `{account}`")));
        };
        sqlx::query(
            "INSERT INTO recharges (account, amount_fen, days, level, agent, remark, is_gift, created_at, created_by, new_expire_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(account)
        .bind(amount_fen)
        .bind(req.duration)
        .bind(level)
        .bind(&agent)
        .bind(&remark)
        .bind(i64::from(is_gift))
        .bind(now)
        .bind(&who.username)
        .bind(new_expire)
        .execute(&mut *tx)
        .await?;
        let detail = format!(
            "amount_fen={amount_fen} days={} gift={is_gift} level={level:?}",
            req.duration
        );
        audit::record(&mut tx, who, action, account, &detail).await?;
        tx.commit().await?;
        Ok(RechargeResult {
            account: account.to_owned(),
            amount: fen_to_yuan(amount_fen),
            duration: req.duration,
            new_expire_date: self.clock().format_ms(new_expire),
        })
    }

    /// A player's recharges, newest first.
    pub async fn recharge_history(
        &self,
        who: &Principal,
        account: &str,
        page: Option<&str>,
        size: Option<&str>,
    ) -> Result<(Vec<Recharge>, i64)> {
        who.require(READ)?;
        let (page, size) = page_and_size(page, size)?;
        self.recharges_of(account, page, size).await
    }

    /// What the chat desk shows beside a conversation (every staff role,
    /// like `cs_recharge`): the player's record and their newest recharges.
    /// Only what the desk shows (account, server, platform, membership,
    /// paid total, registration): an agent gets no player detail (API.md
    /// "Roles"), so contact, remarks, URLs and login data stay out. An
    /// agent asks about players they serve: one waiting in the queue, or
    /// one with a chat assigned to them (active, or ended with them; a chat
    /// transferred away is the colleague's).
    pub async fn desk_player_record(
        &self,
        who: &Principal,
        account: &str,
    ) -> Result<(Player, Vec<Recharge>, i64)> {
        who.require(&[Role::Super, Role::Admin, Role::Agent])?;
        let account = account.trim();
        if who.role == Role::Agent {
            let serves: Option<(i64,)> = sqlx::query_as(
                "SELECT 1 FROM chat_sessions WHERE account = $1 \
                 AND (status = 'pending' OR agent_id = $2) LIMIT 1",
            )
            .bind(account)
            .bind(who.id)
            .fetch_optional(self.store().pool())
            .await?;
            if serves.is_none() {
                return Err(Error::Forbidden(
                    "this player has no chat in the queue or with you".to_owned(),
                ));
            }
        }
        let full = self.player_to_wire(self.player_row(account).await?);
        let player = Player {
            account: full.account,
            server_name: full.server_name,
            membership_level: full.membership_level,
            membership_pay_money: full.membership_pay_money,
            membership_expire_date: full.membership_expire_date,
            game_platform: full.game_platform,
            register_date: full.register_date,
            real_account: String::new(),
            main_account: String::new(),
            contact: String::new(),
            server_info: String::new(),
            auxiliary_online: 0,
            is_open: 0,
            remarks: String::new(),
            websocket_url: String::new(),
            game_web_url: String::new(),
            user_login_data: String::new(),
        };
        let (recent, total) = self
            .recharges_of(&player.account, 1, DESK_RECHARGES)
            .await?;
        Ok((player, recent, total))
    }

    async fn recharges_of(
        &self,
        account: &str,
        page: i64,
        size: i64,
    ) -> Result<(Vec<Recharge>, i64)> {
        #[derive(FromRow)]
        struct Row {
            id: i64,
            account: String,
            amount_fen: i64,
            days: i64,
            level: Option<i64>,
            agent: String,
            remark: String,
            is_gift: i64,
            created_at: i64,
            created_by: Option<String>,
            new_expire_at: i64,
        }
        let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM recharges WHERE account = $1")
            .bind(account)
            .fetch_one(self.store().pool())
            .await?;
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT id, account, amount_fen, days, level, agent, remark, is_gift, created_at, created_by, new_expire_at \
             FROM recharges WHERE account = $1 ORDER BY created_at DESC, id DESC LIMIT {size} OFFSET {}",
            (page - 1) * size
        ))
        .bind(account)
        .fetch_all(self.store().pool())
        .await?;
        let clock = self.clock();
        Ok((
            rows.into_iter()
                .map(|r| Recharge {
                    id: r.id,
                    account: r.account,
                    amount: fen_to_yuan(r.amount_fen),
                    duration: r.days,
                    membership_level: r.level,
                    service_agent: r.agent,
                    remark: r.remark,
                    is_gift: r.is_gift != 0,
                    created_at: clock.format_ms(r.created_at),
                    created_by: r.created_by,
                    new_expire_date: clock.format_ms(r.new_expire_at),
                })
                .collect(),
            total,
        ))
    }

    /// Moves the source's remaining whole days and paid total to the target.
    pub async fn transfer_membership(
        &self,
        who: &Principal,
        req: &TransferRequest,
    ) -> Result<TransferResult> {
        who.require(WRITE)?;
        let source = req.source_account.trim();
        let target = req.target_account.trim();
        validate_account("source_account", source)?;
        validate_account("target_account", target)?;
        if source == target {
            return Err(Error::invalid(
                "target_account",
                "must differ from source_account",
            ));
        }
        let now = now_ms();
        let mut tx = self.store().begin_write().await?;
        let read = |account: &str| {
            sqlx::query_as::<_, (i64, i64, Option<i64>)>(
                "SELECT membership_level, membership_pay_fen, membership_expire_at FROM players WHERE account = $1",
            )
            .bind(account.to_owned())
        };
        let (s_level, s_paid, s_expire) = read(source)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::NotFound(format!("player `{source}`")))?;
        // The target must exist; its level is compared in the UPDATE itself
        // (a value read here could be stale by then on PostgreSQL).
        read(target)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::NotFound(format!("player `{target}`")))?;
        let days = s_expire.map(|e| (e - now).max(0) / DAY_MS).unwrap_or(0);
        if days == 0 && s_paid == 0 {
            return Err(Error::invalid(
                "source_account",
                "has no membership days or payments to move",
            ));
        }
        // Conditional on what was read: a concurrent change makes this a conflict.
        let moved = sqlx::query(
            "UPDATE players SET membership_level = 0, membership_pay_fen = 0, \
             membership_expire_at = CASE WHEN membership_expire_at > $2 THEN $2 ELSE membership_expire_at END \
             WHERE account = $1 AND membership_pay_fen = $3 AND COALESCE(membership_expire_at, -1) = $4",
        )
        .bind(source)
        .bind(now)
        .bind(s_paid)
        .bind(s_expire.unwrap_or(-1))
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            return Err(Error::Conflict(format!(
                "player `{source}` changed meanwhile; try again"
            )));
        }
        let received = sqlx::query(
            // No days to move (a lapsed source that paid): only the payments
            // move; the target's expiry and level stay (an expiry set to now
            // would make it a member until today in the figures).
            "UPDATE players SET \
             membership_expire_at = CASE WHEN $3 > 0 THEN \
                 (CASE WHEN membership_expire_at IS NULL OR membership_expire_at < $2 \
                  THEN $2 ELSE membership_expire_at END) + $3 \
                 ELSE membership_expire_at END, \
             membership_pay_fen = membership_pay_fen + $4, \
             membership_level = CASE WHEN $3 > 0 AND $5 > membership_level THEN $5 \
                                ELSE membership_level END \
             WHERE account = $1",
        )
        .bind(target)
        .bind(now)
        .bind(days * DAY_MS)
        .bind(s_paid)
        .bind(s_level)
        .execute(&mut *tx)
        .await?;
        // Deleted since it was read (PostgreSQL): the days would vanish;
        // nothing is moved instead (the transaction rolls back).
        if received.rows_affected() == 0 {
            return Err(Error::NotFound(format!("player `{target}`")));
        }
        sqlx::query(
            "INSERT INTO membership_transfers (source, target, days, amount_fen, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(source)
        .bind(target)
        .bind(days)
        .bind(s_paid)
        .bind(&who.username)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            who,
            "player.transfer",
            &format!("{source}->{target}"),
            &format!("days={days} amount_fen={s_paid}"),
        )
        .await?;
        tx.commit().await?;
        Ok(TransferResult {
            source_account: source.to_owned(),
            target_account: target.to_owned(),
            transferred_days: days,
            transferred_amount: fen_to_yuan(s_paid),
        })
    }
}

/// The keyword filter through each backend's substring index (migration
/// 0003): FTS5 trigram on SQLite for keywords of 3+ characters, pg_trgm on
/// PostgreSQL; both match case-insensitively, like the other text filters.
fn keyword_clause(f: &mut Filter, backend: crate::store::Backend, keyword: &str) {
    use crate::store::Backend;
    const FIELDS: [&str; 5] = [
        "account",
        "real_account",
        "main_account",
        "contact",
        "remarks",
    ];
    match backend {
        Backend::Sqlite if keyword.chars().count() >= 3 => {
            // One FTS5 phrase: the keyword, quotes doubled.
            let p = f.bind_text(format!("\"{}\"", keyword.replace('"', "\"\"")));
            f.clause(format!("rowid IN (SELECT rowid FROM players_fts WHERE players_fts MATCH {p})"));
        }
        Backend::Sqlite => f.contains(&FIELDS, keyword),
        Backend::Postgres => f.contains(
            &["account || ' | ' || real_account || ' | ' || main_account || ' | ' || contact || ' | ' || remarks"],
            keyword,
        ),
    }
}

fn bind_row<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    r: &'q PlayerRow,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(&r.account)
        .bind(&r.real_account)
        .bind(&r.main_account)
        .bind(&r.contact)
        .bind(&r.server_name)
        .bind(&r.server_info)
        .bind(r.membership_level)
        .bind(r.membership_pay_fen)
        .bind(r.membership_expire_at)
        .bind(r.game_platform)
        .bind(r.auxiliary_online)
        .bind(r.is_open)
        .bind(r.register_at)
        .bind(&r.remarks)
        .bind(&r.websocket_url)
        .bind(&r.game_web_url)
        .bind(&r.user_login_data)
}

fn changed_fields(a: &PlayerRow, b: &PlayerRow) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! cmp {
        ($($f:ident),*) => { $( if a.$f != b.$f { out.push(stringify!($f)); } )* };
    }
    cmp!(
        real_account,
        main_account,
        contact,
        server_name,
        server_info,
        membership_level,
        membership_pay_fen,
        membership_expire_at,
        game_platform,
        auxiliary_online,
        is_open,
        register_at,
        remarks,
        websocket_url,
        game_web_url,
        user_login_data
    );
    out
}
