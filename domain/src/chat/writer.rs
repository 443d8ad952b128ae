//! Group commit: every message (and every notice) of every chat is written
//! by one task, which takes whatever is waiting — up to [`MAX_BATCH`] — and
//! stores it in one transaction, then broadcasts each stored message in
//! order and answers each sender. One commit for many messages is what lets
//! SQLite (one writer at a time) keep up with thousands of messages a
//! second; it helps PostgreSQL too.
//!
//! The single writer is also what keeps delivery in seq order: seqs are
//! assigned and broadcast in the same order, batch after batch. A batch
//! whose transaction fails is retried one message per transaction, so one
//! bad message cannot fail its neighbours.

use std::collections::HashMap;
use std::sync::Weak;

use tokio::sync::{mpsc, oneshot};

use super::hub::{ConnId, Hub};
use super::{insert_message, MessageRow, SessionRow, MESSAGE_COLS, SESSION_COLS};
use protocol::chat::{ServerFrame, SessionUnread};

use crate::{Error, Kefu, KefuInner, Result};

/// Most messages stored by one commit.
pub const MAX_BATCH: usize = 256;
/// Jobs waiting for the writer before senders wait for room.
const QUEUE: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Author {
    Player(String),
    Staff(String),
    System,
}

impl Author {
    fn name(&self) -> &str {
        match self {
            Author::Player(a) | Author::Staff(a) => a,
            Author::System => "system",
        }
    }
}

pub(crate) struct Job {
    pub session_id: String,
    pub author: Author,
    pub text: String,
    pub content_type: String,
    pub client_msg_id: Option<String>,
    /// The sending socket: it gets the acknowledgement, not a copy.
    pub origin: Option<ConnId>,
    pub reply: oneshot::Sender<Result<Appended>>,
}

#[derive(Debug, Clone)]
pub(crate) struct Appended {
    pub message: MessageRow,
    /// The session as this message left it; `None` when the
    /// `client_msg_id` was already stored and nothing new was written.
    pub session: Option<SessionRow>,
}

pub(crate) type Queue = mpsc::Sender<Job>;

/// Starts the writer for `kefu`; it ends when the last handle is dropped.
pub(crate) fn start(kefu: &Kefu) -> Queue {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(std::sync::Arc::downgrade(&kefu.0), rx));
    tx
}

async fn run(kefu: Weak<KefuInner>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let Some(inner) = kefu.upgrade() else { break };
        let kefu = Kefu(inner);
        let outcomes = match write(&kefu, &batch).await {
            Ok(all) => all,
            Err(e) => {
                tracing::warn!(error = %e, size = batch.len(), "chat batch failed; writing one by one");
                let mut one_by_one = Vec::with_capacity(batch.len());
                for job in &batch {
                    one_by_one.push(match write(&kefu, std::slice::from_ref(job)).await {
                        Ok(mut v) => v.remove(0),
                        Err(e) => Err(e),
                    });
                }
                one_by_one
            }
        };
        for (job, outcome) in batch.into_iter().zip(outcomes) {
            if let Ok(Appended {
                message,
                session: Some(session),
            }) = &outcome
            {
                publish(&kefu, &job, session, message);
            }
            let _ = job.reply.send(outcome);
        }
    }
}

/// Stores a batch in one transaction; answers each job's outcome. An `Err`
/// here means the transaction failed and nothing of the batch is stored.
async fn write(kefu: &Kefu, jobs: &[Job]) -> Result<Vec<Result<Appended>>> {
    let now = crate::time::now_ms();
    let mut tx = kefu.store().begin_write().await?;
    let mut out: Vec<Result<Appended>> = Vec::with_capacity(jobs.len());
    let mut in_batch: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for job in jobs {
        let sender = job.author.name();
        if let Some(client_id) = job.client_msg_id.as_deref() {
            if let Some(&k) = in_batch.get(&(job.session_id.as_str(), sender, client_id)) {
                out.push(match &out[k] {
                    Ok(a) => Ok(Appended {
                        message: a.message.clone(),
                        session: None,
                    }),
                    Err(_) => Err(Error::Conflict(
                        "the chat changed while sending; try again".to_owned(),
                    )),
                });
                continue;
            }
        }
        // Who may still write decides the guard; the counters follow the author.
        // Only an agent's message may set the first response: other messages
        // leave that column (and the analytics index on it) untouched.
        let (guard, staff_unread, player_unread, first_response, keep_preview) = match &job.author {
            Author::Player(_) => ("account = $6 AND status <> 'ended'", 1, 0, "", 0),
            Author::Staff(_) => (
                "agent = $6 AND status = 'active'",
                0,
                1,
                ", first_response_at = COALESCE(first_response_at, $3)",
                0,
            ),
            Author::System => ("$6 = 'system'", 0, 0, "", 1),
        };
        let updated: Option<SessionRow> = sqlx::query_as(&format!(
            "UPDATE chat_sessions SET last_seq = last_seq + 1, \
             last_message = CASE WHEN $7 = 1 THEN last_message ELSE $2 END, \
             last_message_at = CASE WHEN $7 = 1 THEN last_message_at ELSE $3 END, \
             staff_unread = staff_unread + $4, player_unread = player_unread + $5{first_response} \
             WHERE id = $1 AND {guard} AND NOT EXISTS (SELECT 1 FROM chat_messages \
             WHERE session_id = $1 AND sender = $6 AND client_msg_id = $8) \
             RETURNING {SESSION_COLS}"
        ))
        .bind(&job.session_id)
        .bind(super::preview(&job.text))
        .bind(now)
        .bind(staff_unread)
        .bind(player_unread)
        .bind(sender)
        .bind(keep_preview)
        .bind(job.client_msg_id.as_deref())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(updated) = updated else {
            // Nothing written: a resend of a stored message (answer its
            // first acknowledgement), or the chat's state forbids it. Only
            // this rare path pays for the lookup.
            let existing: Option<MessageRow> = match job.client_msg_id.as_deref() {
                Some(client_id) => {
                    sqlx::query_as(&format!(
                        "SELECT {MESSAGE_COLS} FROM chat_messages \
                         WHERE session_id = $1 AND sender = $2 AND client_msg_id = $3"
                    ))
                    .bind(&job.session_id)
                    .bind(sender)
                    .bind(client_id)
                    .fetch_optional(&mut *tx)
                    .await?
                }
                None => None,
            };
            out.push(match existing {
                Some(message) => Ok(Appended {
                    message,
                    session: None,
                }),
                None => Err(Error::Conflict(
                    "the chat changed while sending; try again".to_owned(),
                )),
            });
            continue;
        };
        let message = MessageRow {
            id: uuid::Uuid::now_v7().to_string(),
            session_id: job.session_id.clone(),
            seq: updated.last_seq,
            sender_type: match job.author {
                Author::Player(_) => "user",
                Author::Staff(_) => "customer_service",
                Author::System => "system",
            }
            .to_owned(),
            sender: sender.to_owned(),
            content: job.text.clone(),
            content_type: job.content_type.clone(),
            client_msg_id: job.client_msg_id.clone(),
            sent_at: now,
            is_read: i64::from(job.author == Author::System),
        };
        insert_message(&mut tx, &message).await?;
        if let Some(client_id) = job.client_msg_id.as_deref() {
            in_batch.insert((job.session_id.as_str(), sender, client_id), out.len());
        }
        out.push(Ok(Appended {
            message,
            session: Some(updated),
        }));
    }
    tx.commit().await?;
    Ok(out)
}

/// Tells everyone who should know about a stored message: the player's
/// sockets and the chat's staff (except the sending socket, which gets the
/// acknowledgement), and the staff the new unread count.
fn publish(kefu: &Kefu, job: &Job, s: &SessionRow, m: &MessageRow) {
    let frame = Hub::encode(&ServerFrame::NewMessage(kefu.message_to_wire(m.clone())));
    let (player_except, staff_except) = match job.author {
        Author::Player(_) => (job.origin, None),
        Author::Staff(_) => (None, job.origin),
        Author::System => (None, None),
    };
    kefu.hub().to_player(&s.account, &frame, player_except);
    kefu.hub()
        .to_staff(s.staff_audience(), &frame, staff_except);
    if matches!(job.author, Author::Player(_)) {
        let unread = Hub::encode(&ServerFrame::UnreadCountUpdated(SessionUnread {
            session_id: s.id.clone(),
            unread_count: s.staff_unread,
        }));
        kefu.hub().to_staff(s.staff_audience(), &unread, None);
    }
}
