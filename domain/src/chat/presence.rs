//! Staff presence, status and auto-accept (DESIGN.md "Chat", seed 002).
//!
//! A staff member is online while any of their sockets is open; the status
//! they chose (`online`, `busy`, `away`, `offline`) is kept in
//! `agent_presence` and shown while they are connected. Opening the first
//! socket with a stored `offline` sets `online`; closing the last socket
//! shows `offline` to colleagues (the stored choice stays). Every change is
//! broadcast to staff as `cs_status_updated`.
//!
//! Auto-accept: waiting chats, oldest first, go to connected staff whose
//! status is `online`, whose auto-accept is on and whose active chats are
//! below their capacity, least loaded first (ties: the lowest id). It runs
//! after every event that can change the answer (a chat waits, an agent
//! comes online or turns auto-accept on, a chat ends or moves), one run at a
//! time, using the same conditional accept as the desk.

use protocol::chat::{
    AutoAcceptState, CsStatus, CsStatusResponse, CsStatusUpdated, OnlineStaff, OnlineStaffList,
    ServerFrame,
};
use sqlx::FromRow;

use super::hub::{Hub, StaffAudience};
use crate::auth::Principal;
use crate::time::now_ms;
use crate::{Error, Kefu, Result};

pub const STATUSES: &[&str] = &["online", "busy", "away", "offline"];
pub const DEFAULT_CAPACITY: i64 = 5;
pub const MAX_CAPACITY: i64 = 50;

#[derive(Debug, Clone, FromRow)]
struct PresenceRow {
    status: String,
    auto_accept: i64,
    capacity: i64,
    last_active: Option<i64>,
}

/// The most waiting chats one auto-accept run hands out.
const MAX_DISPATCH: i64 = 1000;

impl Kefu {
    /// A staff member's presence; the defaults when they never had one.
    /// Only reads: auto-accept and the online list call it often.
    async fn presence_row(&self, staff_id: i64) -> Result<PresenceRow> {
        let row: Option<PresenceRow> = sqlx::query_as(
            "SELECT status, auto_accept, capacity, last_active FROM agent_presence WHERE staff_id = $1",
        )
        .bind(staff_id)
        .fetch_optional(self.store().pool())
        .await?;
        Ok(row.unwrap_or(PresenceRow {
            status: "online".to_owned(),
            auto_accept: 0,
            capacity: DEFAULT_CAPACITY,
            last_active: None,
        }))
    }

    async fn save_presence(&self, staff_id: i64, row: &PresenceRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO agent_presence (staff_id, status, auto_accept, capacity, last_active) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (staff_id) DO UPDATE SET \
             status = excluded.status, auto_accept = excluded.auto_accept, \
             capacity = excluded.capacity, last_active = excluded.last_active",
        )
        .bind(staff_id)
        .bind(&row.status)
        .bind(row.auto_accept)
        .bind(row.capacity)
        .bind(row.last_active)
        .execute(self.store().pool())
        .await?;
        Ok(())
    }

    fn broadcast_status(&self, username: &str, status: &str) {
        let frame = Hub::encode(&ServerFrame::CsStatusUpdated(CsStatusUpdated {
            cs_account: username.to_owned(),
            status: status.to_owned(),
            updated_at: self.clock().format_ms_precise(now_ms()),
        }));
        self.hub().to_staff(StaffAudience::All, &frame, None);
    }

    /// The first socket of a staff member opened.
    pub async fn staff_came_online(&self, who: &Principal) -> Result<()> {
        let mut row = self.presence_row(who.id).await?;
        if row.status == "offline" {
            row.status = "online".to_owned();
        }
        row.last_active = Some(now_ms());
        self.save_presence(who.id, &row).await?;
        self.broadcast_status(&who.username, &row.status);
        self.dispatch_later();
        Ok(())
    }

    /// The last socket of a staff member closed.
    pub async fn staff_went_offline(&self, who: &Principal) -> Result<()> {
        let mut row = self.presence_row(who.id).await?;
        row.last_active = Some(now_ms());
        self.save_presence(who.id, &row).await?;
        self.broadcast_status(&who.username, "offline");
        Ok(())
    }

    pub async fn set_staff_chat_status(&self, who: &Principal, status: &str) -> Result<CsStatus> {
        let status = status.trim();
        if !STATUSES.contains(&status) {
            return Err(Error::invalid(
                "status",
                "must be online, busy, away or offline",
            ));
        }
        let mut row = self.presence_row(who.id).await?;
        row.status = status.to_owned();
        row.last_active = Some(now_ms());
        self.save_presence(who.id, &row).await?;
        self.broadcast_status(&who.username, status);
        if status == "online" {
            self.dispatch_later();
        }
        Ok(CsStatus {
            status: status.to_owned(),
        })
    }

    pub async fn staff_chat_status(&self, who: &Principal) -> Result<CsStatusResponse> {
        let row = self.presence_row(who.id).await?;
        let status = if self.hub().is_staff_online(who.id) {
            row.status
        } else {
            "offline".to_owned()
        };
        Ok(CsStatusResponse {
            status,
            last_active: row.last_active.map(|t| self.clock().format_ms_precise(t)),
            auto_accept: row.auto_accept != 0,
            capacity: row.capacity,
        })
    }

    pub async fn set_auto_accept(
        &self,
        who: &Principal,
        enabled: bool,
        capacity: Option<i64>,
    ) -> Result<AutoAcceptState> {
        if let Some(c) = capacity {
            if !(1..=MAX_CAPACITY).contains(&c) {
                return Err(Error::invalid(
                    "capacity",
                    format!("must be 1 to {MAX_CAPACITY}"),
                ));
            }
        }
        let mut row = self.presence_row(who.id).await?;
        let capacity = capacity.unwrap_or(row.capacity);
        row.auto_accept = i64::from(enabled);
        row.capacity = capacity;
        self.save_presence(who.id, &row).await?;
        if enabled {
            self.dispatch_later();
        }
        Ok(AutoAcceptState { enabled, capacity })
    }

    /// Connected staff with their status and how many active chats they hold.
    pub async fn online_staff(&self) -> Result<OnlineStaffList> {
        let members = self.hub().online_staff();
        let mut staff = Vec::with_capacity(members.len());
        for m in members {
            let row = self.presence_row(m.id).await?;
            staff.push(OnlineStaff {
                cs_account: m.username,
                role: m.role.as_str().to_owned(),
                status: row.status,
                auto_accept: row.auto_accept != 0,
                capacity: row.capacity,
                load: self.load_of(m.id).await?,
            });
        }
        Ok(OnlineStaffList { staff })
    }

    async fn load_of(&self, staff_id: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM chat_sessions WHERE agent_id = $1 AND status = 'active'",
        )
        .bind(staff_id)
        .fetch_one(self.store().pool())
        .await?;
        Ok(n)
    }

    /// Runs auto-accept soon, in the background. A burst of changes makes
    /// one run that starts after them, not a task each.
    pub fn dispatch_later(&self) {
        use std::sync::atomic::Ordering;
        if self.0.dispatch_waiting.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let _one_at_a_time = this.0.dispatching.lock().await;
            // From here on a change asks for a run of its own.
            this.0.dispatch_waiting.store(false, Ordering::Release);
            if let Err(e) = this.dispatch_locked().await {
                tracing::warn!(error = %e, "auto-accept run failed");
            }
        });
    }

    /// Hands waiting chats to agents with auto-accept on; answers how many.
    pub async fn dispatch(&self) -> Result<usize> {
        let _one_at_a_time = self.0.dispatching.lock().await;
        self.dispatch_locked().await
    }

    async fn dispatch_locked(&self) -> Result<usize> {
        // The waiting chats first, then who may take them: a run that was
        // started before an agent turned auto-accept on (or went busy) and
        // ran late still sees them as they are now, not as they were.
        let waiting: Vec<(String,)> = sqlx::query_as(concat!(
            "SELECT id FROM chat_sessions WHERE status = 'pending' ORDER BY ",
            queued_at!(),
            ", id LIMIT $1"
        ))
        .bind(MAX_DISPATCH)
        .fetch_all(self.store().pool())
        .await?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let online = self.hub().online_staff();
        // (load, id, username, capacity) of every candidate.
        let mut candidates = Vec::new();
        for m in &online {
            let row = self.presence_row(m.id).await?;
            if row.auto_accept != 0 && row.status == "online" {
                let load = self.load_of(m.id).await?;
                if load < row.capacity {
                    candidates.push((load, m.id, m.username.clone(), row.capacity));
                }
            }
        }
        let mut handed = 0;
        for (session_id,) in waiting {
            candidates.retain(|c| c.0 < c.3);
            let Some(best) = candidates.iter_mut().min_by_key(|c| (c.0, c.1)) else {
                break;
            };
            match self.accept_as(&session_id, best.1, &best.2).await {
                Ok(_) => {
                    best.0 += 1;
                    handed += 1;
                }
                // Someone accepted it by hand meanwhile.
                Err(Error::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(handed)
    }
}
