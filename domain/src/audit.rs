//! The audit log: who did what to which target, when and from where. Every
//! staff write records one row in the same transaction as the change.

use protocol::staff::{AuditEntry, AuditQuery};
use sqlx::{AnyConnection, FromRow};

use crate::auth::{Principal, Role};
use crate::listing::{page_and_size, Filter};
use crate::time::now_ms;
use crate::{Kefu, Result};

/// Writes one audit row on `conn` (inside the caller's transaction).
pub async fn record(
    conn: &mut AnyConnection,
    who: &Principal,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor_id, actor, action, target, detail, ip, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(who.id)
    .bind(&who.username)
    .bind(action)
    .bind(target)
    .bind(detail)
    .bind(&who.ip)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct Row {
    id: i64,
    actor_id: Option<i64>,
    actor: String,
    action: String,
    target: String,
    detail: String,
    ip: String,
    created_at: i64,
}

impl Kefu {
    /// The audit log, newest first, filtered (super admins only).
    pub async fn audit_log(
        &self,
        who: &Principal,
        q: &AuditQuery,
    ) -> Result<(Vec<AuditEntry>, i64)> {
        who.require(&[Role::Super])?;
        let (page, size) = page_and_size(q.page.as_deref(), q.size.as_deref())?;
        let mut f = Filter::default();
        if let Some(actor) = q.actor.as_deref().filter(|s| !s.is_empty()) {
            let p = f.bind_text(actor.to_owned());
            f.clause(format!("actor = {p}"));
        }
        if let Some(action) = q.action.as_deref().filter(|s| !s.is_empty()) {
            let p = f.bind_text(action.to_owned());
            f.clause(format!("action = {p}"));
        }
        if let Some(target) = q.target.as_deref().filter(|s| !s.is_empty()) {
            f.contains(&["target"], target);
        }
        if let Some(from) = q.from.as_deref().filter(|s| !s.is_empty()) {
            let ms = self.clock().parse_input("from", from, false)?;
            let p = f.bind_int(ms);
            f.clause(format!("created_at >= {p}"));
        }
        if let Some(to) = q.to.as_deref().filter(|s| !s.is_empty()) {
            let ms = self.clock().parse_input("to", to, true)?;
            let p = f.bind_int(ms);
            f.clause(format!("created_at <= {p}"));
        }
        let total = f.count(self.store(), "audit_log").await?;
        let sql = format!(
            "SELECT id, actor_id, actor, action, target, detail, ip, created_at FROM audit_log{} \
             ORDER BY created_at DESC, id DESC LIMIT {} OFFSET {}",
            f.where_sql(),
            size,
            (page - 1) * size
        );
        let rows: Vec<Row> = f.fetch_all(self.store(), &sql).await?;
        let clock = self.clock();
        Ok((
            rows.into_iter()
                .map(|r| AuditEntry {
                    id: r.id,
                    actor_id: r.actor_id,
                    actor: r.actor,
                    action: r.action,
                    target: r.target,
                    detail: r.detail,
                    ip: r.ip,
                    created_at: clock.format_ms(r.created_at),
                })
                .collect(),
            total,
        ))
    }
}
