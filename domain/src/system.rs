//! The system page: Kefu's own state and the browser service's (API.md
//! "Browser service monitor", seed 000 §6).
//!
//! The browser service is a separate program reached over HTTP. `domain`
//! knows nothing of HTTP, so it only says what a check of that service
//! answers ([`BrowserServiceProbe`]); `server` implements it with an HTTP
//! client and hands it over at start-up. Without one (the
//! `KEFU_BROWSER_SERVICE_URL` setting unset) the page says the service is
//! not configured.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use protocol::system::{BrowserServiceReport, KefuStatus, SystemStatus};

use crate::store::Backend;
use crate::time::now_ms;
use crate::{Error, Kefu, Principal, Result, Role};

/// Super admins and admins see the system page (API.md appendix B).
const READ: &[Role] = &[Role::Super, Role::Admin];

/// One check of the browser service: its three endpoints, each read on
/// its own, none failing the others. Never fails as a whole.
pub trait BrowserServiceProbe: Send + Sync + 'static {
    fn check(&self) -> Pin<Box<dyn Future<Output = BrowserServiceReport> + Send + '_>>;
}

impl Kefu {
    /// Hands over the browser service's probe (once, at start-up).
    pub fn set_browser_service(&self, probe: Arc<dyn BrowserServiceProbe>) -> Result<()> {
        self.0
            .browser_service
            .set(probe)
            .map_err(|_| Error::internal("the browser service probe is already set"))
    }

    /// What the system page shows, as of now.
    pub async fn system_status(&self, who: &Principal) -> Result<SystemStatus> {
        who.require(READ)?;
        let service = async {
            match self.0.browser_service.get() {
                Some(probe) => Some(probe.check().await),
                None => None,
            }
        };
        let (kefu, browser_service) = tokio::join!(self.kefu_status(), service);
        Ok(SystemStatus {
            checked_at: self.clock().format_ms(now_ms()),
            kefu: kefu?,
            browser_service,
        })
    }

    /// Kefu's own figures without asking the browser service (the
    /// overview's "right now" cards).
    pub async fn kefu_figures(&self, who: &Principal) -> Result<KefuStatus> {
        who.require(READ)?;
        self.kefu_status().await
    }

    async fn kefu_status(&self) -> Result<KefuStatus> {
        let counts = self.hub().counts();
        let (waiting, active): (i64, i64) = sqlx::query_as(
            "SELECT \
               CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT), \
               CAST(COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM chat_sessions WHERE status <> 'ended'",
        )
        .fetch_one(self.store().pool())
        .await?;
        let (database_bytes, wal_bytes) = self.database_size().await;
        Ok(KefuStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            database: self.store().backend().name().to_owned(),
            database_bytes,
            wal_bytes,
            started_at: self.clock().format_ms(self.0.started_at),
            uptime_secs: (now_ms() - self.0.started_at).max(0) / 1000,
            staff_online: counts.staff,
            staff_sockets: counts.staff_sockets,
            players_online: counts.players,
            player_sockets: counts.player_sockets,
            chats_waiting: waiting,
            chats_active: active,
            slow_sockets_closed: self
                .hub()
                .slow_kicks
                .load(std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// The database's size and, on SQLite, its log's; `None` where it
    /// cannot be read (an in-memory database, a file gone missing).
    async fn database_size(&self) -> (Option<i64>, Option<i64>) {
        let size = |p: &std::path::Path| std::fs::metadata(p).ok().map(|m| m.len() as i64);
        match self.store().sqlite_file() {
            Some(file) => {
                let mut wal = file.as_os_str().to_owned();
                wal.push("-wal");
                // A missing log is an empty one (it is cut to nothing at times).
                (
                    size(file),
                    Some(size(std::path::Path::new(&wal)).unwrap_or(0)),
                )
            }
            None if self.store().backend() == Backend::Postgres => {
                let sql = "SELECT CAST(pg_database_size(current_database()) AS BIGINT)";
                match sqlx::query_as::<_, (i64,)>(sql)
                    .fetch_one(self.store().pool())
                    .await
                {
                    Ok((bytes,)) => (Some(bytes), None),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the database size");
                        (None, None)
                    }
                }
            }
            None => (None, None),
        }
    }
}
