//! Analytics (seed 000 §4, API.md "Analytics", issue #6).
//!
//! Definitions (DESIGN.md "Definitions the analytics use"):
//! - **active player** (overview): `membership_expire_at > now`.
//! - **active players on a day** (trends): players registered before the
//!   day's end whose membership lasts at least until that end (for today:
//!   through the end of today). Kefu keeps each player's current expiry,
//!   not a history of it, so a player who renews after a lapse counts as a
//!   member through the gap, and one whose first membership began after a
//!   day but who registered before it counts on that day.
//! - **revenue**: the sum of non-gift recharges in the period, from the
//!   ledger, never from the players' running totals.
//! - **new players**: by `register_at`; **expired players**: whose
//!   `membership_expire_at` falls inside the period (later today included).
//! - **today / this month**: cut in the business time zone.
//! - **high-value players**: by their total non-gift payment in the ledger,
//!   ties by account, only players that still exist, only those who paid.
//! - **previous** (extension): totals as they stood when this month began,
//!   "today" figures for all of yesterday, "this month" for all of last month.
//! - **chat** (extension): conversations that *began* in the window. A
//!   conversation begins when a chat is created, or when its player writes
//!   to it after it ended (it is reopened); it ends when the chat ends. Each
//!   counts for the agent who held it last. First response = the first agent
//!   message of the conversation minus its beginning; handling = end minus
//!   acceptance. A reopened chat's past conversations are kept as they were
//!   (`chat_episodes`), so no figure of a day gone by changes afterwards.
//!   Percentiles are nearest-rank (the median of an even count is the lower
//!   middle).
//!
//! Speed: the large sums come from rollups the database keeps with triggers
//! (migration 0006: 15-minute buckets, players per server, payments per
//! account), so no request reads the whole ledger. Every business day of a
//! time zone in use today (offsets are whole quarter hours) starts on a
//! bucket boundary, which keeps the sums exact.

use chrono::{Datelike, Months, NaiveDate, NaiveTime, TimeZone};
use protocol::analytics::{
    AgentLoad, ChatStats, HighValuePlayer, Overview, OverviewFigures, ServerShare, TrendQuery,
    Trends, DEFAULT_DAYS, DEFAULT_LIMIT, MAX_DAYS, MAX_LIMIT,
};

use crate::money::fen_to_yuan;
use crate::time::{now_ms, BusinessClock};
use crate::{Error, Kefu, Principal, Result, Role};

const READ: &[Role] = &[Role::Super, Role::Admin];

/// Stands for "none" in the chat figures' aggregated columns.
const NONE: i64 = -1_000_000_000_000_000;

/// The rollup's bucket: 15 minutes.
pub const BUCKET_MS: i64 = 900_000;

impl BusinessClock {
    /// The business date of an instant.
    pub fn date_of(&self, ms: i64) -> NaiveDate {
        self.tz
            .timestamp_millis_opt(ms)
            .single()
            .map(|t| t.date_naive())
            .unwrap_or_default()
    }

    /// The first instant of a business date (past a DST gap at midnight,
    /// the first instant that exists).
    pub fn day_start(&self, date: NaiveDate) -> i64 {
        let mut time = NaiveTime::MIN;
        for _ in 0..96 {
            if let Some(t) = self.tz.from_local_datetime(&date.and_time(time)).earliest() {
                return t.timestamp_millis();
            }
            time += chrono::Duration::minutes(15);
        }
        date.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
    }
}

/// Consecutive business days: their dates and the `n + 1` instants that
/// bound them.
struct Days {
    dates: Vec<NaiveDate>,
    bounds: Vec<i64>,
}

impl Days {
    fn new(clock: &BusinessClock, first: NaiveDate, last: NaiveDate) -> Days {
        let dates: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
        let mut bounds: Vec<i64> = dates.iter().map(|d| clock.day_start(*d)).collect();
        bounds.push(clock.day_start(last.succ_opt().unwrap_or(last)));
        Days { dates, bounds }
    }

    fn labels(&self) -> Vec<String> {
        self.dates
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect()
    }

    /// `WITH days(i, s, e) AS (VALUES …)` in buckets (`scale` = BUCKET_MS)
    /// or milliseconds (`scale` = 1). The values are integers we computed.
    fn cte(&self, scale: i64) -> String {
        let rows: Vec<String> = self
            .bounds
            .windows(2)
            .enumerate()
            .map(|(i, w)| format!("({i}, {}, {})", w[0] / scale, w[1] / scale))
            .collect();
        format!("WITH days (i, s, e) AS (VALUES {})", rows.join(", "))
    }
}

fn check_days(field: &str, days: Option<i64>) -> Result<i64> {
    let days = days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(Error::invalid(
            field,
            format!("must be between 1 and {MAX_DAYS}"),
        ));
    }
    Ok(days)
}

fn parse_date(field: &str, text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| Error::invalid(field, "must be a date as YYYY-MM-DD"))
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Shares in hundredths of a percent that sum to exactly 100 %: each gets
/// its floor, and the units left go to the largest remainders.
fn percentages(counts: &[i64]) -> Vec<f64> {
    let total: i64 = counts.iter().sum();
    if total <= 0 {
        return vec![0.0; counts.len()];
    }
    let exact: Vec<(i64, i64)> = counts
        .iter()
        .map(|c| ((c * 10_000) / total, (c * 10_000) % total))
        .collect();
    let mut units: Vec<i64> = exact.iter().map(|(q, _)| *q).collect();
    let left = 10_000 - units.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|a, b| exact[*b].1.cmp(&exact[*a].1).then(a.cmp(b)));
    for i in order.into_iter().take(left.max(0) as usize) {
        units[i] += 1;
    }
    units.into_iter().map(|u| u as f64 / 100.0).collect()
}

impl Kefu {
    /// Seed 000 §4.1 at this moment.
    pub async fn analytics_overview(&self, who: &Principal) -> Result<Overview> {
        who.require(READ)?;
        self.overview_at(now_ms()).await
    }

    /// The overview as of `now` (tests fix the clock).
    pub async fn overview_at(&self, now: i64) -> Result<Overview> {
        let clock = self.clock();
        let today = clock.date_of(now);
        let month = today.with_day(1).unwrap_or(today);
        let t0 = clock.day_start(today);
        let t1 = clock.day_start(today.succ_opt().unwrap_or(today));
        let y0 = clock.day_start(today.pred_opt().unwrap_or(today));
        let m0 = clock.day_start(month);
        let m1 = clock.day_start(month + Months::new(1));
        let l0 = clock.day_start(month - Months::new(1));
        let pool = self.store().pool();

        // One pass over the rollup; every range is whole buckets.
        let row: (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
            "SELECT \
               CAST(COALESCE(SUM(registered), 0) AS BIGINT), \
               CAST(COALESCE(SUM(revenue_fen), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN bucket < $1 THEN registered ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN bucket < $1 THEN lapsed ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN bucket < $1 THEN revenue_fen ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN bucket >= $1 AND bucket < $2 THEN revenue_fen ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN bucket >= $3 AND bucket < $1 THEN revenue_fen ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN bucket >= $1 AND bucket < $2 THEN registered ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN bucket >= $3 AND bucket < $1 THEN registered ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN bucket >= $4 AND bucket < $5 THEN registered ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN bucket >= $6 AND bucket < $4 THEN registered ELSE 0 END), 0) AS BIGINT) \
             FROM analytics_buckets",
        )
        .bind(m0 / BUCKET_MS)
        .bind(m1 / BUCKET_MS)
        .bind(l0 / BUCKET_MS)
        .bind(t0 / BUCKET_MS)
        .bind(t1 / BUCKET_MS)
        .bind(y0 / BUCKET_MS)
        .fetch_one(pool)
        .await?;
        let (total_users, total_rev, reg_before_m0, lapsed_before_m0, rev_before_m0) =
            (row.0, row.1, row.2, row.3, row.4);
        let (month_rev, last_month_rev, new_month, new_last_month, new_today) =
            (row.5, row.6, row.7, row.8, row.9);
        let new_yesterday = row.10;

        let (active,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM players WHERE membership_expire_at > $1")
                .bind(now)
                .fetch_one(pool)
                .await?;
        // Expiries of last month and this month, read from the index only.
        let (exp_today, exp_yesterday, exp_month, exp_last_month): (i64, i64, i64, i64) =
            sqlx::query_as(
                "SELECT \
                   COUNT(CASE WHEN membership_expire_at >= $1 AND membership_expire_at < $2 THEN 1 END), \
                   COUNT(CASE WHEN membership_expire_at >= $3 AND membership_expire_at < $1 THEN 1 END), \
                   COUNT(CASE WHEN membership_expire_at >= $4 THEN 1 END), \
                   COUNT(CASE WHEN membership_expire_at < $4 THEN 1 END) \
                 FROM players WHERE membership_expire_at >= $5 AND membership_expire_at < $6",
            )
            .bind(t0)
            .bind(t1)
            .bind(y0)
            .bind(m0)
            // Last month's start comes before yesterday, and next month's
            // start is never before tomorrow.
            .bind(l0)
            .bind(m1)
            .fetch_one(pool)
            .await?;
        Ok(Overview {
            current: OverviewFigures {
                total_users,
                active_users: active,
                total_revenue: fen_to_yuan(total_rev),
                monthly_revenue: fen_to_yuan(month_rev),
                new_users_today: new_today,
                new_users_this_month: new_month,
                expired_users_today: exp_today,
                expired_users_this_month: exp_month,
            },
            previous: OverviewFigures {
                total_users: reg_before_m0,
                active_users: reg_before_m0 - lapsed_before_m0,
                total_revenue: fen_to_yuan(rev_before_m0),
                monthly_revenue: fen_to_yuan(last_month_rev),
                new_users_today: new_yesterday,
                new_users_this_month: new_last_month,
                expired_users_today: exp_yesterday,
                expired_users_this_month: exp_last_month,
            },
        })
    }

    /// Seed 000 §4.2.
    pub async fn analytics_trends(&self, who: &Principal, q: &TrendQuery) -> Result<Trends> {
        who.require(READ)?;
        self.trends_at(q, now_ms()).await
    }

    fn trend_days(&self, q: &TrendQuery, now: i64) -> Result<Days> {
        let clock = self.clock();
        let (first, last) = match (&q.from, &q.to) {
            (None, None) => {
                let days = check_days("days", q.days)?;
                let today = clock.date_of(now);
                (today - chrono::Duration::days(days - 1), today)
            }
            (Some(from), Some(to)) => {
                let (from, to) = (parse_date("from", from)?, parse_date("to", to)?);
                if to < from {
                    return Err(Error::invalid("to", "must not be before from"));
                }
                if (to - from).num_days() + 1 > MAX_DAYS {
                    return Err(Error::invalid(
                        "to",
                        format!("the range may span at most {MAX_DAYS} days"),
                    ));
                }
                (from, to)
            }
            (Some(_), None) => return Err(Error::invalid("to", "is required with from")),
            (None, Some(_)) => return Err(Error::invalid("from", "is required with to")),
        };
        Ok(Days::new(clock, first, last))
    }

    pub async fn trends_at(&self, q: &TrendQuery, now: i64) -> Result<Trends> {
        let days = self.trend_days(q, now)?;
        let pool = self.store().pool();
        let b0 = days.bounds[0] / BUCKET_MS;
        let (mut registered, mut lapsed): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(registered), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(lapsed), 0) AS BIGINT) \
             FROM analytics_buckets WHERE bucket < $1",
        )
        .bind(b0)
        .fetch_one(pool)
        .await?;
        let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(&format!(
            "{} SELECT CAST(days.i AS BIGINT), \
                 CAST(COALESCE(SUM(b.registered), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(b.lapsed), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(b.revenue_fen), 0) AS BIGINT) \
             FROM days LEFT JOIN analytics_buckets b ON b.bucket >= days.s AND b.bucket < days.e \
             GROUP BY days.i ORDER BY days.i",
            days.cte(BUCKET_MS)
        ))
        .fetch_all(pool)
        .await?;
        let n = days.dates.len();
        let mut out = Trends {
            dates: days.labels(),
            new_users: vec![0; n],
            revenue: vec![0.0; n],
            active_users: vec![0; n],
        };
        let mut per_day = vec![(0i64, 0i64, 0i64); n];
        for (i, r, l, v) in rows {
            if let Some(slot) = per_day.get_mut(i as usize) {
                *slot = (r, l, v);
            }
        }
        for (i, (r, l, v)) in per_day.into_iter().enumerate() {
            registered += r;
            lapsed += l;
            out.new_users[i] = r;
            out.revenue[i] = fen_to_yuan(v);
            out.active_users[i] = registered - lapsed;
        }
        Ok(out)
    }

    /// Seed 000 §4.3.
    pub async fn high_value_players(
        &self,
        who: &Principal,
        limit: Option<i64>,
    ) -> Result<Vec<HighValuePlayer>> {
        who.require(READ)?;
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        // CROSS JOIN keeps SQLite walking the payment ranking first.
        let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT p.account, pp.paid_fen, p.membership_level, p.register_at, pp.last_paid_at \
             FROM player_payments pp CROSS JOIN players p \
             WHERE p.account = pp.account AND pp.paid_fen > 0 \
             ORDER BY pp.paid_fen DESC, pp.account LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.store().pool())
        .await?;
        let clock = self.clock();
        Ok(rows
            .into_iter()
            .map(|(account, paid, level, registered, last)| HighValuePlayer {
                account,
                total_payment: fen_to_yuan(paid),
                membership_level: level,
                register_date: clock.format_ms(registered),
                last_payment_date: clock.format_ms(last),
            })
            .collect())
    }

    /// Seed 000 §4.4.
    pub async fn server_distribution(&self, who: &Principal) -> Result<Vec<ServerShare>> {
        who.require(READ)?;
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT server_name, players FROM server_counts \
             WHERE server_name <> '' AND players > 0 ORDER BY players DESC, server_name",
        )
        .fetch_all(self.store().pool())
        .await?;
        let shares = percentages(&rows.iter().map(|r| r.1).collect::<Vec<_>>());
        Ok(rows
            .into_iter()
            .zip(shares)
            .map(|((server_name, user_count), percentage)| ServerShare {
                server_name,
                user_count,
                percentage,
            })
            .collect())
    }

    /// Agents' names: their staff username, or the name their chats
    /// recorded when the account is gone.
    async fn agent_names(&self, ids: Vec<i64>) -> Result<std::collections::HashMap<i64, String>> {
        let mut names = std::collections::HashMap::new();
        if ids.is_empty() {
            return Ok(names);
        }
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
            "SELECT id, username FROM staff WHERE id IN ({})",
            list.join(", ")
        ))
        .fetch_all(self.store().pool())
        .await?;
        names.extend(rows);
        let missing: Vec<i64> = ids.into_iter().filter(|i| !names.contains_key(i)).collect();
        for id in missing {
            let name: Option<(Option<String>,)> = sqlx::query_as(
                "SELECT agent FROM chat_sessions WHERE agent_id = $1 AND agent IS NOT NULL \
                     UNION ALL SELECT agent FROM chat_episodes WHERE agent_id = $1 LIMIT 1",
            )
            .bind(id)
            .fetch_optional(self.store().pool())
            .await?;
            if let Some((Some(name),)) = name {
                names.insert(id, name);
            }
        }
        Ok(names)
    }

    /// Extension: the chat desk's own figures, over the same days as the
    /// trends (`days`, or `from` / `to`).
    pub async fn chat_analytics(&self, who: &Principal, q: &TrendQuery) -> Result<ChatStats> {
        who.require(READ)?;
        self.chat_stats_at(q, now_ms()).await
    }

    pub async fn chat_stats_at(&self, q: &TrendQuery, now: i64) -> Result<ChatStats> {
        let days = self.trend_days(q, now)?;
        let pool = self.store().pool();
        let (lo, hi) = (days.bounds[0], *days.bounds.last().unwrap_or(&0));
        // The chats come back as aligned comma-separated columns in one
        // row: reading 100,000 rows one by one, or grouping them in SQL,
        // costs several times more than the scan of the index.
        let agg = |expr: &str| match self.store().backend() {
            crate::store::Backend::Sqlite => format!("group_concat(COALESCE({expr}, {NONE}))"),
            crate::store::Backend::Postgres => {
                format!("string_agg(CAST(COALESCE({expr}, {NONE}) AS TEXT), ',')")
            }
        };
        // Every conversation that began in the window, in three parts, each
        // read from an index alone (migration 0011): chats never reopened,
        // by creation; reopened chats' current conversations, by when they
        // began again; and the ended conversations of reopened chats.
        // The count per day: three index range counts per day.
        let per_day: Vec<(i64, i64)> = sqlx::query_as(&format!(
            "{} SELECT CAST(days.i AS BIGINT), \
               (SELECT COUNT(*) FROM chat_sessions WHERE created_at >= days.s AND created_at < days.e \
                  AND episode_at IS NULL) \
             + (SELECT COUNT(*) FROM chat_sessions WHERE episode_at >= days.s AND episode_at < days.e) \
             + (SELECT COUNT(*) FROM chat_episodes WHERE started_at >= days.s AND started_at < days.e) \
             FROM days ORDER BY days.i",
            days.cte(1)
        ))
        .fetch_all(pool)
        .await?;
        // The rest: each part's columns put one after the other. (Three
        // queries, not one UNION: SQLite would run that through a
        // co-routine, a third slower.)
        let ended_now = "CASE WHEN status = 'ended' THEN 1 ELSE 0 END";
        let parts = [
            (
                "created_at",
                ended_now,
                "chat_sessions",
                "episode_at IS NULL",
            ),
            (
                "episode_at",
                ended_now,
                "chat_sessions",
                "episode_at IS NOT NULL",
            ),
            ("started_at", "1", "chat_episodes", "1 = 1"),
        ];
        type Columns = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let column = |text: &Option<String>| -> Vec<Option<i64>> {
            text.as_deref()
                .unwrap_or_default()
                .split(',')
                .filter(|v| !v.is_empty())
                .map(|v| v.trim().parse::<i64>().ok().filter(|n| *n != NONE))
                .collect()
        };
        let (mut ids, mut ended, mut firsts, mut handled) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (start, done, table, which) in parts {
            let part: Columns = sqlx::query_as(&format!(
                "SELECT {}, {}, {}, {} FROM {table} \
                 WHERE {start} >= $1 AND {start} < $2 AND {which}",
                agg("agent_id"),
                agg(done),
                agg(&format!("first_response_at - {start}")),
                agg("ended_at - accepted_at"),
            ))
            .bind(lo)
            .bind(hi)
            .fetch_one(pool)
            .await?;
            ids.extend(column(&part.0));
            ended.extend(column(&part.1));
            firsts.extend(column(&part.2));
            handled.extend(column(&part.3));
        }
        let (queue,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM chat_sessions WHERE status = 'pending'")
                .fetch_one(pool)
                .await?;

        let mut sessions = vec![0i64; days.dates.len()];
        for (i, n) in per_day {
            if let Some(slot) = sessions.get_mut(i as usize) {
                *slot = n;
            }
        }
        let mut first = Vec::new();
        let mut handling = Vec::new();
        let mut agents: std::collections::HashMap<i64, (i64, i64, Vec<i64>)> = Default::default();
        for (i, id) in ids.iter().enumerate() {
            let response = firsts.get(i).copied().flatten().map(|d| d.max(0));
            first.extend(response);
            handling.extend(handled.get(i).copied().flatten().map(|d| d.max(0)));
            if let Some(id) = *id {
                let entry = agents.entry(id).or_default();
                entry.0 += 1;
                entry.1 += i64::from(ended.get(i).copied().flatten() == Some(1));
                entry.2.extend(response);
            }
        }
        first.sort_unstable();
        handling.sort_unstable();
        let names = self.agent_names(agents.keys().copied().collect()).await?;
        let mut per_agent: Vec<AgentLoad> = agents
            .into_iter()
            .map(|(agent_id, (sessions, ended, mut responses))| {
                responses.sort_unstable();
                AgentLoad {
                    agent_id,
                    agent: names
                        .get(&agent_id)
                        .cloned()
                        .unwrap_or_else(|| format!("#{agent_id}")),
                    sessions,
                    ended,
                    first_response_median_ms: percentile(&responses, 0.5),
                }
            })
            .collect();
        per_agent.sort_by(|a, b| b.sessions.cmp(&a.sessions).then(a.agent.cmp(&b.agent)));
        Ok(ChatStats {
            dates: days.labels(),
            sessions,
            queue_length: queue,
            first_response_median_ms: percentile(&first, 0.5),
            first_response_p90_ms: percentile(&first, 0.9),
            handling_median_ms: percentile(&handling, 0.5),
            per_agent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.9), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 0.5), Some(2));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&ten, 0.9), Some(9));
        assert_eq!(percentile(&ten, 0.5), Some(5));
    }

    #[test]
    fn percentages_sum_to_exactly_one_hundred() {
        assert_eq!(percentages(&[1, 1, 1]), vec![33.34, 33.33, 33.33]);
        assert_eq!(percentages(&[3, 1]), vec![75.0, 25.0]);
        let many: Vec<i64> = (1..=301).collect();
        let p = percentages(&many);
        let sum: f64 = p.iter().sum();
        assert!((sum - 100.0).abs() < 1e-6, "{sum}");
        assert!(percentages(&[]).is_empty());
    }

    #[test]
    fn business_days_start_on_bucket_boundaries() {
        let clock = BusinessClock::default();
        let d = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let start = clock.day_start(d);
        assert_eq!(start % BUCKET_MS, 0);
        assert_eq!(clock.format_ms(start), "2026-11-24T00:00:00+08:00");
        assert_eq!(clock.date_of(start - 1), d.pred_opt().unwrap());
        assert_eq!(clock.date_of(start), d);
        // A zone with a 45-minute offset still cuts on quarter hours.
        let nepal = BusinessClock::from_name("Asia/Kathmandu").unwrap();
        assert_eq!(nepal.day_start(d) % BUCKET_MS, 0);
    }

    #[test]
    fn days_are_bounded_by_business_midnights() {
        let clock = BusinessClock::default();
        let first = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let days = Days::new(&clock, first, first + chrono::Duration::days(2));
        assert_eq!(days.labels(), ["2026-11-01", "2026-11-02", "2026-11-03"]);
        assert_eq!(days.bounds.len(), 4);
        assert_eq!(clock.format_ms(days.bounds[3]), "2026-11-04T00:00:00+08:00");
        assert_eq!(
            days.cte(BUCKET_MS),
            format!(
                "WITH days (i, s, e) AS (VALUES (0, {}, {}), (1, {}, {}), (2, {}, {}))",
                days.bounds[0] / BUCKET_MS,
                days.bounds[1] / BUCKET_MS,
                days.bounds[1] / BUCKET_MS,
                days.bounds[2] / BUCKET_MS,
                days.bounds[2] / BUCKET_MS,
                days.bounds[3] / BUCKET_MS
            )
        );
    }
}
