//! Analytics (seed 000 §4 and API.md "Analytics"). Money is yuan with two
//! decimals, dates are `YYYY-MM-DD` business days, times RFC 3339.

use serde::{Deserialize, Serialize};

/// Inclusive bounds of `trends?days=` and the chat figures' `days=`.
pub const MAX_DAYS: i64 = 366;
pub const DEFAULT_DAYS: i64 = 30;
/// Bounds of `high-value-users?limit=`.
pub const MAX_LIMIT: i64 = 100;
pub const DEFAULT_LIMIT: i64 = 20;

/// `GET /admin/analytics/overview` (seed 000 §4.1): the figures now at the
/// top level, and the extension `previous` with the same figures for the
/// period before, to show change: totals as they stood when this month
/// began, "today" figures for yesterday and "this month" figures for the
/// whole of last month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    #[serde(flatten)]
    pub current: OverviewFigures,
    pub previous: OverviewFigures,
}

/// The eight figures of seed 000 §4.1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverviewFigures {
    pub total_users: i64,
    pub active_users: i64,
    pub total_revenue: f64,
    pub monthly_revenue: f64,
    pub new_users_today: i64,
    pub new_users_this_month: i64,
    pub expired_users_today: i64,
    pub expired_users_this_month: i64,
}

/// `GET /admin/analytics/trends`: `days` (1–366, default 30) ending today,
/// or the extension `from` / `to` (business dates, at most 366 days).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrendQuery {
    #[serde(default)]
    pub days: Option<i64>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

/// Seed 000 §4.2: parallel arrays, one entry per day, zeros included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trends {
    pub dates: Vec<String>,
    pub new_users: Vec<i64>,
    pub revenue: Vec<f64>,
    pub active_users: Vec<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LimitQuery {
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Seed 000 §4.3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HighValuePlayer {
    pub account: String,
    pub total_payment: f64,
    pub membership_level: i64,
    pub register_date: String,
    pub last_payment_date: String,
}

/// Seed 000 §4.4 (players without a server are left out; percentages sum
/// to exactly 100 when there is any row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerShare {
    pub server_name: String,
    pub user_count: i64,
    pub percentage: f64,
}

/// Extension `GET /admin/analytics/chat` (the parameters of the trends):
/// chats created in those business days. Durations are milliseconds; a percentile of no chats is
/// `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatStats {
    pub dates: Vec<String>,
    pub sessions: Vec<i64>,
    /// Chats waiting for an agent right now.
    pub queue_length: i64,
    /// Agent's first reply minus the chat's creation.
    pub first_response_median_ms: Option<i64>,
    pub first_response_p90_ms: Option<i64>,
    /// End minus acceptance, over chats that ended.
    pub handling_median_ms: Option<i64>,
    pub per_agent: Vec<AgentLoad>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentLoad {
    pub agent_id: i64,
    pub agent: String,
    pub sessions: i64,
    pub ended: i64,
    pub first_response_median_ms: Option<i64>,
}
