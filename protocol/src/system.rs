//! The system page (API.md "Browser service monitor", seed 000 §6): Kefu's
//! own state and what the browser service answers at `GET /health`,
//! `GET /pool/status` and `GET /pool/usage`.
//!
//! The browser service is a separate program. Each of its three answers is
//! read on its own: one that fails (unreachable, too slow, an HTTP error, a
//! body that is not what seed 000 §6 describes) leaves the others shown.
//! Fields the service leaves out are `None` rather than a failure, so a
//! service one version ahead or behind still shows what it does say.

use serde::{Deserialize, Serialize};

/// Everything the system page shows, read at `checked_at` (RFC 3339, the
/// business time zone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub checked_at: String,
    pub kefu: KefuStatus,
    /// `None`: `KEFU_BROWSER_SERVICE_URL` is not set.
    pub browser_service: Option<BrowserServiceReport>,
}

/// Kefu itself: the build, the database and the live chat right now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KefuStatus {
    pub version: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// The database's size in bytes (SQLite: the file; PostgreSQL:
    /// `pg_database_size`), and SQLite's write-ahead log beside it.
    pub database_bytes: Option<i64>,
    pub wal_bytes: Option<i64>,
    /// When this process started (RFC 3339) and how long ago, in seconds.
    pub started_at: String,
    pub uptime_secs: i64,
    /// Staff members with at least one chat socket open, and their sockets.
    pub staff_online: u32,
    pub staff_sockets: u32,
    /// Players with at least one chat socket open, and their sockets.
    pub players_online: u32,
    pub player_sockets: u32,
    /// Chats waiting for an agent, and chats being served.
    pub chats_waiting: i64,
    pub chats_active: i64,
    /// Sockets closed since start because they could not keep up.
    pub slow_sockets_closed: u64,
}

/// The browser service at `url`, one probe per endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrowserServiceReport {
    pub url: String,
    pub health: Probe<Health>,
    pub pool: Probe<PoolStatus>,
    pub usage: Probe<PoolUsage>,
}

impl BrowserServiceReport {
    /// All is well: every endpoint answered, no status word it gave says
    /// otherwise, and no browser of the pool failed. (A word left out does
    /// not count against it.)
    pub fn all_well(&self) -> bool {
        let word_ok = |w: &Option<String>| w.as_deref().is_none_or(is_good_word);
        let health = matches!(&self.health, Probe::Answered { body, .. } if word_ok(&body.status));
        let pool = matches!(&self.pool, Probe::Answered { body, .. }
            if word_ok(&body.pool_health) && body.failed_browsers.unwrap_or(0) == 0);
        health && pool && matches!(self.usage, Probe::Answered { .. })
    }
}

/// One endpoint's answer, or why there is none. Externally tagged
/// (`{"answered": {…}}`, `{"failed": {…}}`): the browser reads it without
/// buffering, which keeps the WASM bundle smaller than a tag field would.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe<T> {
    /// The service answered in `millis`.
    Answered {
        millis: u32,
        body: T,
    },
    Failed {
        failure: ProbeFailure,
    },
}

/// Why an endpoint gave no usable answer (`"unreachable"`, `{"status": 503}`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeFailure {
    /// No connection (refused, no route, name not found).
    Unreachable,
    /// No answer within the time limit (milliseconds).
    Timeout(u32),
    /// An HTTP status other than 2xx.
    Status(u16),
    /// A 2xx answer whose body is not the JSON of seed 000 §6 (what is wrong).
    BadBody(String),
}

/// `GET /health`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Health {
    #[serde(default)]
    pub status: Option<String>,
    /// Seconds the service has been running.
    #[serde(default)]
    pub uptime: Option<f64>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

/// `GET /pool/status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolStatus {
    #[serde(default)]
    pub total_browsers: Option<i64>,
    #[serde(default)]
    pub active_browsers: Option<i64>,
    #[serde(default)]
    pub idle_browsers: Option<i64>,
    #[serde(default)]
    pub failed_browsers: Option<i64>,
    #[serde(default)]
    pub pool_health: Option<String>,
}

/// `GET /pool/usage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolUsage {
    #[serde(default)]
    pub total_contexts: Option<i64>,
    #[serde(default)]
    pub used_contexts: Option<i64>,
    #[serde(default)]
    pub available_contexts: Option<i64>,
    #[serde(default)]
    pub usage_percentage: Option<f64>,
}

/// Whether a status word the service reports means "all is well"
/// (`ok`, `healthy`, `up`, `running`, `green`, `pass`, `good`; any case,
/// blanks around ignored).
pub fn is_good_word(word: &str) -> bool {
    matches!(
        word.trim().to_ascii_lowercase().as_str(),
        "ok" | "healthy" | "up" | "running" | "green" | "pass" | "good"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_of_seed_000_read_and_missing_fields_are_none() {
        let h: Health = serde_json::from_str(
            r#"{"status":"ok","uptime":3600.5,"version":"1.2.0","timestamp":"2026-11-24T10:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(h.status.as_deref(), Some("ok"));
        assert_eq!(h.uptime, Some(3600.5));
        let p: PoolStatus = serde_json::from_str(r#"{"total_browsers":8,"extra":1}"#).unwrap();
        assert_eq!(p.total_browsers, Some(8));
        assert_eq!(p.idle_browsers, None);
        // A field of the wrong type is a bad body, not a silent blank.
        assert!(serde_json::from_str::<PoolUsage>(r#"{"used_contexts":"three"}"#).is_err());
        assert!(is_good_word(" Healthy "));
        assert!(!is_good_word("degraded"));
    }

    #[test]
    fn all_is_well_only_when_every_answer_says_so() {
        fn answered<T>(body: T) -> Probe<T> {
            Probe::Answered { millis: 3, body }
        }
        let well = BrowserServiceReport {
            url: "http://b".into(),
            health: answered(Health {
                status: Some("ok".into()),
                ..Default::default()
            }),
            pool: answered(PoolStatus {
                failed_browsers: Some(0),
                ..Default::default()
            }),
            usage: answered(PoolUsage::default()),
        };
        assert!(well.all_well());
        let mut r = well.clone();
        r.usage = Probe::Failed {
            failure: ProbeFailure::Unreachable,
        };
        assert!(!r.all_well());
        let mut r = well.clone();
        r.pool = answered(PoolStatus {
            failed_browsers: Some(1),
            ..Default::default()
        });
        assert!(!r.all_well());
        let mut r = well.clone();
        r.pool = answered(PoolStatus {
            pool_health: Some("degraded".into()),
            ..Default::default()
        });
        assert!(!r.all_well());
        let mut r = well;
        r.health = answered(Health {
            status: Some("down".into()),
            ..Default::default()
        });
        assert!(!r.all_well());
    }

    #[test]
    fn probes_round_trip() {
        let p: Probe<PoolUsage> = Probe::Failed {
            failure: ProbeFailure::Status(503),
        };
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(text, r#"{"failed":{"failure":{"status":503}}}"#);
        assert_eq!(serde_json::from_str::<Probe<PoolUsage>>(&text).unwrap(), p);
    }
}
