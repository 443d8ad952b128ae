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
//!
//! On a SQLite file the writer is not a task but a connection of its own
//! that whoever hands a message in writes with when it is free
//! ([`super::sqlite_writer`]); on PostgreSQL (and an in-memory SQLite) it
//! is a tokio task over the pool. Both run the same statements and the
//! same per-batch rules below, one writer at a time.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Weak};

use tokio::sync::{mpsc, oneshot};

use super::hub::{ConnId, Hub};
use super::sqlite_writer::Combiner;
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
    pub(super) fn name(&self) -> &str {
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

/// Where messages are handed to the writer.
#[derive(Clone)]
pub(crate) enum Queue {
    /// The writer task over the pool.
    Task(mpsc::Sender<Job>),
    /// A SQLite file's own connection, written by whoever finds it free.
    Sqlite(Arc<Combiner>),
}

impl Queue {
    pub async fn push(&self, kefu: &Kefu, job: Job) -> Result<()> {
        match self {
            Queue::Task(tx) => tx
                .send(job)
                .await
                .map_err(|_| Error::internal("chat writer stopped")),
            Queue::Sqlite(c) => {
                c.push(kefu, job);
                Ok(())
            }
        }
    }
}

/// Starts the writer for `kefu`; a writer task ends when the last handle is
/// dropped.
pub(crate) fn start(kefu: &Kefu) -> Queue {
    if let Some(file) = kefu.store().sqlite_file() {
        match Combiner::open(file) {
            Ok(c) => return Queue::Sqlite(Arc::new(c)),
            Err(e) => {
                tracing::warn!(error = %e, "chat writer: own SQLite connection refused; using the pool");
            }
        }
    }
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(Arc::downgrade(&kefu.0), rx));
    Queue::Task(tx)
}

/// The first job and whatever else is already waiting, up to [`MAX_BATCH`].
fn gather(first: Job, rx: &mut mpsc::Receiver<Job>) -> Vec<Job> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

async fn run(kefu: Weak<KefuInner>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let batch = gather(first, &mut rx);
        let Some(inner) = kefu.upgrade() else { break };
        let kefu = Kefu(inner);
        let outcomes = match write(&kefu, &batch).await {
            Ok(all) => all,
            Err(e) if batch.len() == 1 => {
                tracing::warn!(error = %e, "chat message not stored");
                vec![Err(e)]
            }
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
        deliver(&kefu, batch, outcomes);
    }
}

/// Publishes each stored message in order, then answers each sender.
pub(super) fn deliver(kefu: &Kefu, batch: Vec<Job>, outcomes: Vec<Result<Appended>>) {
    for (job, outcome) in batch.into_iter().zip(outcomes) {
        if let Ok(Appended {
            message,
            session: Some(session),
        }) = &outcome
        {
            publish(kefu, &job, session, message);
        }
        let _ = job.reply.send(outcome);
    }
}

/// The answer for a message the chat's state refused.
fn changed() -> Error {
    Error::Conflict("the chat changed while sending; try again".to_owned())
}

/// The UPDATE that takes a message's seq from its session, for one kind of
/// author. Its parameters are [`UpdateArgs`], in order. It writes nothing
/// (and returns no row) when the author may not write to the chat, or when
/// the `client_msg_id` is already stored.
fn update_sql(author: &Author) -> String {
    // Who may still write decides the guard; the counters follow the author.
    // Only an agent's message may set the first response: other messages
    // leave that column (and the analytics index on it) untouched.
    let (guard, first_response) = match author {
        Author::Player(_) => ("account = $6 AND status <> 'ended'", ""),
        Author::Staff(_) => (
            "agent = $6 AND status = 'active'",
            ", first_response_at = COALESCE(first_response_at, $3)",
        ),
        Author::System => ("$6 = 'system'", ""),
    };
    format!(
        "UPDATE chat_sessions SET last_seq = last_seq + 1, \
         last_message = CASE WHEN $7 = 1 THEN last_message ELSE $2 END, \
         last_message_at = CASE WHEN $7 = 1 THEN last_message_at ELSE $3 END, \
         staff_unread = staff_unread + $4, player_unread = player_unread + $5{first_response} \
         WHERE id = $1 AND {guard} AND NOT EXISTS (SELECT 1 FROM chat_messages \
         WHERE session_id = $1 AND sender = $6 AND client_msg_id = $8) \
         RETURNING {SESSION_COLS}"
    )
}

/// The stored message a resend names (`$1` session, `$2` sender, `$3` id).
fn existing_sql() -> String {
    format!(
        "SELECT {MESSAGE_COLS} FROM chat_messages \
         WHERE session_id = $1 AND sender = $2 AND client_msg_id = $3"
    )
}

/// The writer's statements, built once (not for every message).
pub(super) struct Statements {
    /// [`update_sql`] for a player, staff and the system.
    update: [String; 3],
    pub existing: String,
    pub insert: String,
    /// The chat an upload was sent in (`$1` upload id); see `crate::uploads`.
    pub upload_of: String,
    /// An image message's upload is sent in its chat (`$1` session, `$2`
    /// upload id), once its message is stored.
    pub mark_sent: String,
}

/// Whether a job's content is an upload.
pub(super) fn names_upload(job: &Job) -> bool {
    job.content_type == "image"
}

/// What an image job's upload allows, read in the batch's transaction
/// before anything of the job is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UploadUse {
    /// Not sent yet: mark it once the message is stored.
    Free,
    /// Sent in this chat already (a resend): nothing to mark.
    Ours,
    /// Sent in another chat, or gone: the message is refused.
    Refused,
}

/// `sent_in` is the upload's row (`None`: no such upload).
pub(super) fn upload_use(sent_in: Option<Option<String>>, session_id: &str) -> UploadUse {
    match sent_in {
        Some(None) => UploadUse::Free,
        Some(Some(s)) if s == session_id => UploadUse::Ours,
        _ => UploadUse::Refused,
    }
}

/// The statements with `$N` parameters, as sqlx takes them.
pub(super) static SQL: LazyLock<Statements> = LazyLock::new(|| Statements {
    update: [
        update_sql(&Author::Player(String::new())),
        update_sql(&Author::Staff(String::new())),
        update_sql(&Author::System),
    ],
    existing: existing_sql(),
    insert: super::insert_message_sql(),
    upload_of: "SELECT sent_in FROM uploads WHERE id = $1".to_owned(),
    mark_sent: "UPDATE uploads SET sent_in = $1 WHERE id = $2 AND sent_in IS NULL".to_owned(),
});

impl Statements {
    pub fn update(&self, author: &Author) -> &str {
        &self.update[match author {
            Author::Player(_) => 0,
            Author::Staff(_) => 1,
            Author::System => 2,
        }]
    }

    /// The same statements with `?N` parameters: SQLite takes `$N` for
    /// names, and rusqlite binds by number.
    pub fn numbered(&self) -> Statements {
        let n = |sql: &str| sql.replace('$', "?");
        Statements {
            update: self.update.each_ref().map(|u| n(u)),
            existing: n(&self.existing),
            insert: n(&self.insert),
            upload_of: n(&self.upload_of),
            mark_sent: n(&self.mark_sent),
        }
    }
}

/// The parameters of [`update_sql`], `$1` to `$8`.
pub(super) struct UpdateArgs<'a> {
    pub session_id: &'a str,
    pub preview: String,
    pub now: i64,
    pub staff_unread: i64,
    pub player_unread: i64,
    pub sender: &'a str,
    pub keep_preview: i64,
    pub client_msg_id: Option<&'a str>,
}

impl<'a> UpdateArgs<'a> {
    pub fn of(job: &'a Job, now: i64) -> Self {
        let (staff_unread, player_unread, keep_preview) = match job.author {
            Author::Player(_) => (1, 0, 0),
            Author::Staff(_) => (0, 1, 0),
            Author::System => (0, 0, 1),
        };
        UpdateArgs {
            session_id: &job.session_id,
            preview: super::preview(&job.text, &job.content_type),
            now,
            staff_unread,
            player_unread,
            sender: job.author.name(),
            keep_preview,
            client_msg_id: job.client_msg_id.as_deref(),
        }
    }
}

/// The message a job becomes once its session gave it `seq`.
pub(super) fn new_message(job: &Job, seq: i64, now: i64) -> MessageRow {
    MessageRow {
        id: uuid::Uuid::now_v7().to_string(),
        session_id: job.session_id.clone(),
        seq,
        sender_type: match job.author {
            Author::Player(_) => "user",
            Author::Staff(_) => "customer_service",
            Author::System => "system",
        }
        .to_owned(),
        sender: job.author.name().to_owned(),
        content: job.text.clone(),
        content_type: job.content_type.clone(),
        client_msg_id: job.client_msg_id.clone(),
        sent_at: now,
        is_read: i64::from(job.author == Author::System),
    }
}

/// The outcomes of one batch so far, and which `client_msg_id`s it stored
/// (a resend inside the same batch answers the first one's outcome).
#[derive(Default)]
pub(super) struct Outcomes<'j> {
    pub all: Vec<Result<Appended>>,
    stored: HashMap<(&'j str, &'j str, &'j str), usize>,
}

impl<'j> Outcomes<'j> {
    /// Answers `job` if it repeats a message earlier in the batch.
    pub fn repeated(&mut self, job: &'j Job) -> bool {
        let Some(client_id) = job.client_msg_id.as_deref() else {
            return false;
        };
        let key = (job.session_id.as_str(), job.author.name(), client_id);
        let Some(&k) = self.stored.get(&key) else {
            return false;
        };
        let answer = match &self.all[k] {
            Ok(a) => Ok(Appended {
                message: a.message.clone(),
                session: None,
            }),
            Err(_) => Err(changed()),
        };
        self.all.push(answer);
        true
    }

    /// How `job` may use the upload it names, given the chat it was sent in
    /// (`sent_in`, read by the writer); `None` when it may not, and then the
    /// job is answered already (sent in another chat meanwhile: both passed
    /// the sender's check).
    pub fn upload_for(&mut self, sent_in: Option<Option<String>>, job: &Job) -> Option<UploadUse> {
        let state = upload_use(sent_in, &job.session_id);
        if state == UploadUse::Refused {
            self.refuse(crate::uploads::not_yours());
            return None;
        }
        Some(state)
    }

    /// Nothing was written for a job, for `why`.
    pub fn refuse(&mut self, why: Error) {
        self.all.push(Err(why));
    }

    /// Nothing was written for a job: the stored message it repeats, or a
    /// refusal.
    pub fn refused(&mut self, existing: Option<MessageRow>) {
        self.all.push(match existing {
            Some(message) => Ok(Appended {
                message,
                session: None,
            }),
            None => Err(changed()),
        });
    }

    pub fn stored(&mut self, job: &'j Job, message: MessageRow, session: SessionRow) {
        if let Some(client_id) = job.client_msg_id.as_deref() {
            self.stored.insert(
                (job.session_id.as_str(), job.author.name(), client_id),
                self.all.len(),
            );
        }
        self.all.push(Ok(Appended {
            message,
            session: Some(session),
        }));
    }
}

/// Stores a batch in one transaction over the pool; answers each job's
/// outcome. An `Err` here means the transaction failed and nothing of the
/// batch is stored.
async fn write(kefu: &Kefu, jobs: &[Job]) -> Result<Vec<Result<Appended>>> {
    let now = crate::time::now_ms();
    let mut tx = kefu.store().begin_write().await?;
    let mut out = Outcomes::default();
    for job in jobs {
        if out.repeated(job) {
            continue;
        }
        let upload = if names_upload(job) {
            // Locked on PostgreSQL, where another server's writer may
            // store the same upload; SQLite's writers take turns.
            let lock = match kefu.store().backend() {
                crate::store::Backend::Postgres => " FOR UPDATE",
                crate::store::Backend::Sqlite => "",
            };
            let row: Option<(Option<String>,)> =
                sqlx::query_as(&format!("{}{lock}", SQL.upload_of))
                    .bind(&job.text)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(state) = out.upload_for(row.map(|(s,)| s), job) else {
                continue;
            };
            Some(state)
        } else {
            None
        };
        let a = UpdateArgs::of(job, now);
        let updated: Option<SessionRow> = sqlx::query_as(SQL.update(&job.author))
            .bind(a.session_id)
            .bind(a.preview)
            .bind(a.now)
            .bind(a.staff_unread)
            .bind(a.player_unread)
            .bind(a.sender)
            .bind(a.keep_preview)
            .bind(a.client_msg_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(updated) = updated else {
            // Nothing written: a resend of a stored message (answer its
            // first acknowledgement), or the chat's state forbids it. Only
            // this rare path pays for the lookup.
            let existing: Option<MessageRow> = match job.client_msg_id.as_deref() {
                Some(client_id) => {
                    sqlx::query_as(&SQL.existing)
                        .bind(&job.session_id)
                        .bind(job.author.name())
                        .bind(client_id)
                        .fetch_optional(&mut *tx)
                        .await?
                }
                None => None,
            };
            out.refused(existing);
            continue;
        };
        let message = new_message(job, updated.last_seq, now);
        insert_message(&mut tx, &message).await?;
        if upload == Some(UploadUse::Free) {
            sqlx::query(&SQL.mark_sent)
                .bind(&job.session_id)
                .bind(&job.text)
                .execute(&mut *tx)
                .await?;
        }
        out.stored(job, message, updated);
    }
    tx.commit().await?;
    Ok(out.all)
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
