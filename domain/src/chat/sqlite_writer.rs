//! The chat writer on a SQLite file: one connection of its own, and no
//! thread of its own. Whoever hands in a message and finds nobody writing
//! becomes the writer: it stores everything waiting (batches of up to
//! [`MAX_BATCH`]) on its own thread, delivers, and lets go; a message handed
//! in meanwhile is left for it. The batch rules are [`super::writer`]'s,
//! with the same statements.
//!
//! Why: through sqlx each statement is a round trip to the connection's
//! SQLite thread, and a writer task or thread is one more hand-off before
//! the agent's socket task runs; on two cores those hand-offs, not SQLite,
//! were most of a message's latency. Here the usual message costs no
//! thread switch before the agent's socket writes it.
//!
//! A batch runs on a tokio worker only while it can take SQLite's write
//! lock at once (`busy_timeout = 0`): SQLite's own work is some tens of
//! microseconds. When the lock is held (by the pool's writers, which take
//! it with `BEGIN IMMEDIATE`), the writing moves to a blocking thread that
//! waits up to 5 s for it, and the batch (rolled back, nothing stored) is
//! tried there first, so order is kept. A tokio worker never waits for the
//! lock, so a pool transaction driven on that same worker cannot be
//! starved by it.
//!
//! The connection is set up like the pool's (WAL, `synchronous = NORMAL`,
//! foreign keys, no automatic checkpoint: the store's background task does
//! that).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{
    params, Connection, ErrorCode, OpenFlags, OptionalExtension, Row, TransactionBehavior,
};

use super::writer::{self, Appended, Job, Outcomes, Statements, UpdateArgs, UploadUse, MAX_BATCH};
use super::{MessageRow, SessionRow};
use crate::{Error, Kefu, Result};

/// Prepared statements kept: one UPDATE per kind of author, the INSERT,
/// the resend lookup and the upload's mark.
const STATEMENTS: usize = 8;
/// How long the blocking thread waits for SQLite's write lock.
const LOCK_WAIT: Duration = Duration::from_secs(5);

pub(crate) struct Combiner {
    conn: Mutex<Connection>,
    waiting: Mutex<VecDeque<Job>>,
    /// Someone is writing (and will look at `waiting` before letting go).
    writing: AtomicBool,
}

/// Locks a mutex whose holder may have panicked: the queue and the
/// connection stay usable (a transaction open at the panic rolled back
/// when it was dropped).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Combiner {
    pub(super) fn open(file: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::ZERO)?;
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;",
        )?;
        conn.set_prepared_statement_cache_capacity(STATEMENTS);
        Ok(Combiner {
            conn: Mutex::new(conn),
            waiting: Mutex::new(VecDeque::new()),
            writing: AtomicBool::new(false),
        })
    }

    /// Hands a job in; it is stored and answered (through its `reply`)
    /// before this returns, or by whoever is writing now.
    pub(crate) fn push(self: &Arc<Self>, kefu: &Kefu, job: Job) {
        lock(&self.waiting).push_back(job);
        self.write_waiting(kefu);
    }

    fn write_waiting(self: &Arc<Self>, kefu: &Kefu) {
        // A job pushed after the writer's last look but before it let go
        // is seen here: every pusher tries after pushing, every writer
        // looks again after letting go.
        while self
            .writing
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            let held = Writing(&self.writing);
            let drained = self.drain(kefu, &mut lock(&self.conn), false);
            if !drained {
                // The write lock is taken: wait for it off the runtime. The
                // blocking thread is the writer now (`writing` stays set).
                std::mem::forget(held);
                let this = Arc::clone(self);
                let kefu = kefu.clone();
                tokio::task::spawn_blocking(move || {
                    {
                        let _held = Writing(&this.writing);
                        let mut conn = lock(&this.conn);
                        let waited = conn
                            .busy_timeout(LOCK_WAIT)
                            .map(|()| this.drain(&kefu, &mut conn, true));
                        if let Err(e) = conn.busy_timeout(Duration::ZERO).and(waited.map(drop)) {
                            tracing::error!(error = %e, "chat writer: cannot set the lock wait");
                        }
                    }
                    if !lock(&this.waiting).is_empty() {
                        this.write_waiting(&kefu);
                    }
                });
                return;
            }
            drop(held);
            if lock(&self.waiting).is_empty() {
                return;
            }
        }
    }

    /// Writes and delivers batches until nothing waits (`true`), or until
    /// SQLite's write lock is taken by someone else (`false`; the batch is
    /// back at the head of the queue, nothing of it stored). A `patient`
    /// writer waited for the lock already: a batch that still finds it
    /// taken is answered with an error.
    fn drain(&self, kefu: &Kefu, conn: &mut Connection, patient: bool) -> bool {
        loop {
            let batch: Vec<Job> = {
                let mut waiting = lock(&self.waiting);
                let n = waiting.len().min(MAX_BATCH);
                waiting.drain(..n).collect()
            };
            if batch.is_empty() {
                return true;
            }
            let outcomes = match write(conn, &batch) {
                Ok(all) => all,
                Err(e) if is_busy(&e) && patient => {
                    tracing::error!(error = %e, size = batch.len(), "chat batch: the database stayed locked");
                    batch
                        .iter()
                        .map(|_| Err(Error::internal("the database stayed locked")))
                        .collect()
                }
                Err(e) if is_busy(&e) => {
                    let mut waiting = lock(&self.waiting);
                    for job in batch.into_iter().rev() {
                        waiting.push_front(job);
                    }
                    return false;
                }
                Err(e) if batch.len() == 1 => {
                    tracing::warn!(error = %e, "chat message not stored");
                    vec![Err(e.into())]
                }
                Err(e) => {
                    tracing::warn!(error = %e, size = batch.len(), "chat batch failed; writing one by one");
                    batch
                        .iter()
                        .map(|job| match write(conn, std::slice::from_ref(job)) {
                            Ok(mut v) => v.remove(0),
                            Err(e) => Err(e.into()),
                        })
                        .collect()
                }
            };
            writer::deliver(kefu, batch, outcomes);
        }
    }
}

/// Lets go of `writing` when dropped, also when a write panics (the next
/// sender then becomes the writer instead of every message waiting on one
/// that is gone).
struct Writing<'a>(&'a AtomicBool);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// The writer's statements as rusqlite binds them.
static SQL: LazyLock<Statements> = LazyLock::new(|| writer::SQL.numbered());

/// Stores a batch in one transaction; as the pool writer's `write`. An
/// `Err` means nothing of the batch is stored (the transaction rolled back
/// when it was dropped).
fn write(conn: &mut Connection, jobs: &[Job]) -> rusqlite::Result<Vec<Result<Appended>>> {
    let now = crate::time::now_ms();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut out = Outcomes::default();
    for job in jobs {
        if out.repeated(job) {
            continue;
        }
        let upload = if writer::names_upload(job) {
            let row: Option<Option<String>> = tx
                .prepare_cached(&SQL.upload_of)?
                .query_row(params![job.text], |r| r.get(0))
                .optional()?;
            let Some(state) = out.upload_for(row, job) else {
                continue;
            };
            Some(state)
        } else {
            None
        };
        let a = UpdateArgs::of(job, now);
        let updated = tx
            .prepare_cached(SQL.update(&job.author))?
            .query_row(
                params![
                    a.session_id,
                    a.preview,
                    a.now,
                    a.staff_unread,
                    a.player_unread,
                    a.sender,
                    a.keep_preview,
                    a.client_msg_id
                ],
                session_row,
            )
            .optional()?;
        let Some(updated) = updated else {
            let existing = match job.client_msg_id.as_deref() {
                Some(client_id) => tx
                    .prepare_cached(&SQL.existing)?
                    .query_row(
                        params![job.session_id, job.author.name(), client_id],
                        message_row,
                    )
                    .optional()?,
                None => None,
            };
            out.refused(existing);
            continue;
        };
        let m = writer::new_message(job, updated.last_seq, now);
        tx.prepare_cached(&SQL.insert)?.execute(params![
            m.id,
            m.session_id,
            m.seq,
            m.sender_type,
            m.sender,
            m.content,
            m.content_type,
            m.client_msg_id,
            m.sent_at,
            m.is_read
        ])?;
        if upload == Some(UploadUse::Free) {
            tx.prepare_cached(&SQL.mark_sent)?
                .execute(params![job.session_id, job.text])?;
        }
        out.stored(job, m, updated);
    }
    tx.commit()?;
    Ok(out.all)
}

/// A row of `SESSION_COLS`, in that order.
fn session_row(r: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        id: r.get(0)?,
        account: r.get(1)?,
        agent_id: r.get(2)?,
        agent: r.get(3)?,
        status: r.get(4)?,
        is_important: r.get(5)?,
        last_seq: r.get(6)?,
        staff_unread: r.get(7)?,
        player_unread: r.get(8)?,
        last_message: r.get(9)?,
        last_message_at: r.get(10)?,
        created_at: r.get(11)?,
        accepted_at: r.get(12)?,
        first_response_at: r.get(13)?,
        ended_at: r.get(14)?,
        queued_at: r.get(15)?,
    })
}

/// A row of `MESSAGE_COLS`, in that order.
fn message_row(r: &Row<'_>) -> rusqlite::Result<MessageRow> {
    Ok(MessageRow {
        id: r.get(0)?,
        session_id: r.get(1)?,
        seq: r.get(2)?,
        sender_type: r.get(3)?,
        sender: r.get(4)?,
        content: r.get(5)?,
        content_type: r.get(6)?,
        client_msg_id: r.get(7)?,
        sent_at: r.get(8)?,
        is_read: r.get(9)?,
    })
}
