//! Live chat (DESIGN.md "Chat", API.md "Chat over HTTP" and "WebSocket").
//!
//! Rules kept here, whatever the transport:
//! - a message is acknowledged only after its transaction commits; the
//!   acknowledgement carries the server id, the session's `seq` and the
//!   client's `client_msg_id`; a resend with the same `client_msg_id` answers
//!   the first acknowledgement and stores nothing;
//! - `seq` is gap-free per session: every message and notice is written by
//!   one writer at a time ([`writer`], group commit: a task over the pool,
//!   or, on a SQLite file, whoever hands a message in while the writer's
//!   connection is free) that takes the seq from the
//!   session row in the same transaction as the insert and broadcasts in
//!   the order it assigned, so every socket sees a session's frames in seq
//!   order;
//! - sessions flow `pending → active → ended`; accepting is one conditional
//!   `UPDATE … WHERE status = 'pending'`, so of two agents racing exactly one
//!   wins; a player writing into an ended chat reopens it as pending;
//! - notices (accepted, transferred, ended, reopened) are stored in the thread
//!   as `system` messages with their own seq, so a reconnecting client repairs
//!   them with the same `after_seq` as messages;
//! - commit and broadcast happen together in the writer, in a piece of work
//!   no caller can cut short: a caller that goes away (an HTTP client
//!   hanging up) cannot leave a committed message unannounced;
//! - state changes (accept, transfer, end, clear) hold a per-session lock so
//!   each change and its notice are not interleaved with another change.
//!
//! Who may see a chat: the player who owns it; the agent it is assigned to;
//! every staff member while it is pending (it is in everyone's queue); admins
//! and super admins always (they may watch). Who may act on it: its assigned
//! agent, or an admin or super admin for end and clear. Importance is a
//! flag for the desks: any staff member who can see the chat may set it
//! (an agent may flag a waiting chat), and the chat's agent and the admins
//! hear of it.

/// When a chat joined the queue (chats stored before `queued_at` existed:
/// their creation), as SQL. The queue and auto-accept both order by it.
macro_rules! queued_at {
    () => {
        "COALESCE(queued_at, created_at)"
    };
}

pub mod hub;
pub mod presence;
pub mod rate;
mod sqlite_writer;
pub(crate) mod writer;

use protocol::chat::{
    Accepted, ChatMessage, CreatedSession, History, HistoryRequest, ImportanceUpdated,
    MembershipInfo, MessageAck, NewSession, SendMessageRequest, SenderType, ServerFrame,
    SessionEnded, SessionRef, SessionSummary, SessionUnread, SessionsCount, SessionsPage,
    StatusChanged, Transferred, TypingNotice, UnreadTotals, UserToken, MAX_CLIENT_MSG_ID,
    MAX_CONTENT_CHARS,
};
use sqlx::{AnyConnection, FromRow};

use crate::auth::{Principal, Role};
use crate::money::fen_to_yuan;
use crate::time::now_ms;
use crate::{audit, Error, Kefu, Result};
use hub::{ConnId, Hub, StaffAudience};

/// How long a player chat token lives.
pub const PLAYER_TOKEN_TTL_SECS: i64 = 2 * 60 * 60;
/// Messages a transfer hands to the new agent with the notice.
const TRANSFER_CONTEXT: i64 = 20;
/// Sessions sent in `session_list_updated` on connect.
const LIST_ON_CONNECT: i64 = 500;

/// Who acts: a player (by account) or a staff member.
#[derive(Debug, Clone)]
pub enum Actor {
    Player(String),
    Staff(Principal),
}

impl Actor {
    fn name(&self) -> &str {
        match self {
            Actor::Player(a) => a,
            Actor::Staff(p) => &p.username,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Active,
    Ended,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Active => "active",
            Status::Ended => "ended",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "pending" => Status::Pending,
            "active" => Status::Active,
            _ => Status::Ended,
        }
    }
}

pub(crate) const SESSION_COLS: &str =
    "id, account, agent_id, agent, status, is_important, last_seq, \
     staff_unread, player_unread, last_message, last_message_at, created_at, accepted_at, \
     first_response_at, ended_at, queued_at";

/// Orders the queue (pending chats) by the longest wait first, as
/// auto-accept hands them out; other chats tie here.
const QUEUE_ORDER: &str = concat!("CASE WHEN status = 'pending' THEN ", queued_at!(), " END");

/// A chat session as stored.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub id: String,
    pub account: String,
    pub agent_id: Option<i64>,
    pub agent: Option<String>,
    pub status: String,
    pub is_important: i64,
    pub last_seq: i64,
    pub staff_unread: i64,
    pub player_unread: i64,
    pub last_message: String,
    pub last_message_at: Option<i64>,
    pub created_at: i64,
    pub accepted_at: Option<i64>,
    pub first_response_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// When the chat last joined the queue (`None`: at `created_at`).
    pub queued_at: Option<i64>,
}

impl SessionRow {
    pub fn status(&self) -> Status {
        Status::parse(&self.status)
    }

    pub(crate) fn staff_audience(&self) -> StaffAudience<'static> {
        if self.status() == Status::Pending {
            StaffAudience::All
        } else {
            StaffAudience::AgentAndAdmins(self.agent_id)
        }
    }
}

pub(crate) const MESSAGE_COLS: &str =
    "id, session_id, seq, sender_type, sender, content, content_type, client_msg_id, sent_at, is_read";

#[derive(Debug, Clone, FromRow)]
pub(crate) struct MessageRow {
    id: String,
    session_id: String,
    seq: i64,
    sender_type: String,
    sender: String,
    content: String,
    content_type: String,
    client_msg_id: Option<String>,
    sent_at: i64,
    is_read: i64,
}

/// Validated content of a message.
struct Content {
    text: String,
    content_type: String,
    client_msg_id: Option<String>,
}

fn validate_content(req: &SendMessageRequest) -> Result<Content> {
    let text = crate::error::required_text("content", &req.content, MAX_CONTENT_CHARS)?;
    let content_type = match req.content_type.as_deref().map(str::trim) {
        None | Some("") | Some("text") => "text",
        Some("image") => "image",
        Some(_) => {
            return Err(Error::invalid("content_type", "must be `text` or `image`"));
        }
    };
    let client_msg_id = match req.client_msg_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) if id.chars().count() > MAX_CLIENT_MSG_ID => {
            return Err(Error::invalid(
                "client_msg_id",
                format!("must be at most {MAX_CLIENT_MSG_ID} characters"),
            ));
        }
        Some(id) => Some(id.to_owned()),
    };
    Ok(Content {
        text: text.to_owned(),
        content_type: content_type.to_owned(),
        client_msg_id,
    })
}

fn validate_session_id(id: &str) -> Result<&str> {
    let id = id.trim();
    if id.is_empty() {
        return Err(Error::invalid("session_id", "is required"));
    }
    if id.len() > 64 {
        return Err(Error::NotFound(format!("session `{id}`")));
    }
    Ok(id)
}

/// The last message as the chat lists show it.
pub(crate) fn preview(text: &str, content_type: &str) -> String {
    protocol::chat::message_preview(text, content_type, 100)
}

/// Page and limit of a history or list request (`page` ≥ 1, `limit` 1–100).
fn paging(page: Option<i64>, limit: Option<i64>) -> Result<(i64, i64)> {
    paging_upto(page, limit, 100)
}

/// The most sessions one `get_sessions` answers: the desk's left column
/// holds a whole working day of chats in one list.
pub const MAX_SESSIONS_PAGE: i64 = 500;

fn paging_upto(page: Option<i64>, limit: Option<i64>, max: i64) -> Result<(i64, i64)> {
    let page = page.unwrap_or(1);
    let limit = limit.unwrap_or(20);
    if !(1..=crate::listing::MAX_PAGE).contains(&page) {
        return Err(Error::invalid(
            "page",
            format!("must be 1 to {}", crate::listing::MAX_PAGE),
        ));
    }
    if !(1..=max).contains(&limit) {
        return Err(Error::invalid("limit", format!("must be 1 to {max}")));
    }
    Ok((page, limit))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation()
                || d.message().contains("UNIQUE constraint failed")
                || d.code().as_deref() == Some("23505")
        }
        _ => false,
    }
}

impl Kefu {
    pub fn hub(&self) -> &Hub {
        &self.0.hub
    }

    pub(crate) fn message_to_wire(&self, m: MessageRow) -> ChatMessage {
        ChatMessage {
            message_id: m.id,
            session_id: m.session_id,
            seq: m.seq,
            sender_account: m.sender,
            sender_type: match m.sender_type.as_str() {
                "user" => SenderType::User,
                "customer_service" => SenderType::CustomerService,
                _ => SenderType::System,
            },
            content: m.content,
            content_type: m.content_type,
            sent_at: self.clock().format_ms_precise(m.sent_at),
            is_read: m.is_read != 0,
            client_msg_id: m.client_msg_id,
        }
    }

    /// A session as the given side sees it in lists.
    pub fn session_to_wire(&self, s: &SessionRow, for_staff: bool) -> SessionSummary {
        SessionSummary {
            session_id: s.id.clone(),
            user_account: s.account.clone(),
            cs_account: s.agent.clone(),
            status: s.status.clone(),
            unread_count: if for_staff {
                s.staff_unread
            } else {
                s.player_unread
            },
            last_message: s.last_message.clone(),
            last_message_time: s.last_message_at.map(|t| self.clock().format_ms_precise(t)),
            is_important: s.is_important != 0,
            created_at: self.clock().format_ms_precise(s.created_at),
            last_seq: s.last_seq,
            waiting_since: (s.status() == Status::Pending).then(|| {
                self.clock()
                    .format_ms_precise(s.queued_at.unwrap_or(s.created_at))
            }),
        }
    }

    fn ack(&self, m: &MessageRow) -> MessageAck {
        MessageAck {
            message_id: m.id.clone(),
            session_id: m.session_id.clone(),
            seq: m.seq,
            sent_at: self.clock().format_ms_precise(m.sent_at),
            client_msg_id: m.client_msg_id.clone(),
        }
    }

    // ---- player tokens ----

    /// A chat token for a player (`POST /api/chat/user_token`, called by the
    /// game backend with the API key, or by a super admin from the panel).
    pub async fn player_token(&self, account: &str) -> Result<UserToken> {
        let account = account.trim();
        if account.is_empty() {
            return Err(Error::invalid("account", "is required"));
        }
        self.player_row(account).await?;
        let (token, _) =
            self.tokens()
                .issue(account, "player", 0, now_ms() / 1000, PLAYER_TOKEN_TTL_SECS)?;
        Ok(UserToken {
            access_token: token,
            expires_in: PLAYER_TOKEN_TTL_SECS,
        })
    }

    /// The player account behind a chat token; the account must still exist.
    pub async fn authenticate_player(&self, token: &str) -> Result<(String, i64)> {
        let claims = self.tokens().decode(token)?;
        if claims.role != "player" {
            return Err(Error::Unauthenticated("not a player token".to_owned()));
        }
        let exists: Option<(String,)> =
            sqlx::query_as("SELECT account FROM players WHERE account = $1")
                .bind(&claims.sub)
                .fetch_optional(self.store().pool())
                .await?;
        if exists.is_none() {
            return Err(Error::Unauthenticated("unknown player".to_owned()));
        }
        Ok((claims.sub, claims.exp))
    }

    // ---- reading ----

    pub async fn session_row(&self, id: &str) -> Result<SessionRow> {
        let id = validate_session_id(id)?;
        sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT {SESSION_COLS} FROM chat_sessions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.store().pool())
        .await?
        .ok_or_else(|| Error::NotFound(format!("session `{id}`")))
    }

    /// The session, if `actor` may see it.
    pub async fn visible_session(&self, actor: &Actor, id: &str) -> Result<SessionRow> {
        let s = self.session_row(id).await?;
        let ok = match actor {
            Actor::Player(account) => s.account == *account,
            Actor::Staff(p) => {
                p.role.is_admin() || s.status() == Status::Pending || s.agent_id == Some(p.id)
            }
        };
        if ok {
            Ok(s)
        } else {
            Err(Error::Forbidden("this chat is not yours".to_owned()))
        }
    }

    /// The session, if `who` may act on it as its agent (or as an admin when
    /// `admins_too`).
    async fn owned_session(
        &self,
        who: &Principal,
        id: &str,
        admins_too: bool,
    ) -> Result<SessionRow> {
        let s = self.session_row(id).await?;
        if s.agent_id == Some(who.id) || (admins_too && who.role.is_admin()) {
            Ok(s)
        } else if s.status() == Status::Pending {
            Err(Error::Conflict("accept the chat first".to_owned()))
        } else {
            Err(Error::Forbidden(
                "this chat is assigned to someone else".to_owned(),
            ))
        }
    }

    /// History: newest page first, each page in ascending seq; or, with
    /// `after_seq`, the messages after it, ascending, at most `limit`.
    pub async fn chat_history(&self, actor: &Actor, req: &HistoryRequest) -> Result<History> {
        let (page, limit) = paging(req.page, req.limit)?;
        if req.after_seq.is_some() && req.before_seq.is_some() {
            return Err(Error::invalid(
                "before_seq",
                "cannot be given with after_seq",
            ));
        }
        let s = self.visible_session(actor, &req.session_id).await?;
        self.read_history(&s, page, limit, req.after_seq, req.before_seq)
            .await
    }

    async fn read_history(
        &self,
        s: &SessionRow,
        page: i64,
        limit: i64,
        after_seq: Option<i64>,
        before_seq: Option<i64>,
    ) -> Result<History> {
        let pool = self.store().pool();
        let (total,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM chat_messages WHERE session_id = $1")
                .bind(&s.id)
                .fetch_one(pool)
                .await?;
        let rows: Vec<MessageRow> = if let Some(after) = after_seq {
            if after < 0 {
                return Err(Error::invalid("after_seq", "must be 0 or more"));
            }
            sqlx::query_as(&format!(
                "SELECT {MESSAGE_COLS} FROM chat_messages WHERE session_id = $1 AND seq > $2 \
                 ORDER BY seq LIMIT $3"
            ))
            .bind(&s.id)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?
        } else if let Some(before) = before_seq {
            let mut rows: Vec<MessageRow> = sqlx::query_as(&format!(
                "SELECT {MESSAGE_COLS} FROM chat_messages WHERE session_id = $1 AND seq < $2 \
                 ORDER BY seq DESC LIMIT $3"
            ))
            .bind(&s.id)
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.reverse();
            rows
        } else {
            let mut rows: Vec<MessageRow> = sqlx::query_as(&format!(
                "SELECT {MESSAGE_COLS} FROM chat_messages WHERE session_id = $1 \
                 ORDER BY seq DESC LIMIT $2 OFFSET $3"
            ))
            .bind(&s.id)
            .bind(limit)
            .bind((page - 1) * limit)
            .fetch_all(pool)
            .await?;
            rows.reverse();
            rows
        };
        Ok(History {
            session_id: s.id.clone(),
            messages: rows.into_iter().map(|m| self.message_to_wire(m)).collect(),
            total,
            page,
            last_seq: s.last_seq,
        })
    }

    /// The staff member's sessions: every pending one and their own (or,
    /// for admins with `all`, every session); pending first (longest wait
    /// first), then the newest activity, open chats before ended ones (so a
    /// list cut at its limit never drops an open chat for an ended one).
    pub async fn chat_sessions(
        &self,
        who: &Principal,
        page: Option<i64>,
        limit: Option<i64>,
        all: bool,
    ) -> Result<SessionsPage> {
        let (page, limit) = paging_upto(page, limit, MAX_SESSIONS_PAGE)?;
        let (rows, total) = self
            .list_sessions(who, limit, (page - 1) * limit, all)
            .await?;
        Ok(SessionsPage {
            sessions: rows.iter().map(|s| self.session_to_wire(s, true)).collect(),
            total,
            page,
        })
    }

    async fn list_sessions(
        &self,
        who: &Principal,
        limit: i64,
        offset: i64,
        all: bool,
    ) -> Result<(Vec<SessionRow>, i64)> {
        let pool = self.store().pool();
        let scope = if all && who.role.is_admin() {
            "1 = 1 OR agent_id = $1"
        } else {
            "status = 'pending' OR agent_id = $1"
        };
        let (total,): (i64,) =
            sqlx::query_as(&format!("SELECT COUNT(*) FROM chat_sessions WHERE {scope}"))
                .bind(who.id)
                .fetch_one(pool)
                .await?;
        let rows = sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT {SESSION_COLS} FROM chat_sessions WHERE {scope} \
             ORDER BY CASE status WHEN 'pending' THEN 0 WHEN 'active' THEN 1 ELSE 2 END, \
             {QUEUE_ORDER}, COALESCE(last_message_at, created_at) DESC, id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(who.id)
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await?;
        Ok((rows, total))
    }

    /// What staff get on connect: their active sessions and every pending one.
    pub async fn open_sessions(&self, who: &Principal) -> Result<Vec<SessionSummary>> {
        let rows = sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT {SESSION_COLS} FROM chat_sessions \
             WHERE status = 'pending' OR (status = 'active' AND agent_id = $1) \
             ORDER BY CASE status WHEN 'pending' THEN 0 ELSE 1 END, \
             {QUEUE_ORDER}, COALESCE(last_message_at, created_at) DESC LIMIT $2"
        ))
        .bind(who.id)
        .bind(LIST_ON_CONNECT)
        .fetch_all(self.store().pool())
        .await?;
        Ok(rows.iter().map(|s| self.session_to_wire(s, true)).collect())
    }

    pub async fn chat_sessions_count(&self, who: &Principal) -> Result<SessionsCount> {
        let (total, active, pending): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), \
             COALESCE(SUM(CASE WHEN status = 'active' AND agent_id = $1 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) \
             FROM chat_sessions WHERE status = 'pending' OR agent_id = $1",
        )
        .bind(who.id)
        .fetch_one(self.store().pool())
        .await?;
        Ok(SessionsCount {
            total_sessions: total,
            active_sessions: active,
            pending_sessions: pending,
        })
    }

    /// Unread counts of the staff member's open sessions (and the queue's).
    pub async fn staff_unread(&self, who: &Principal) -> Result<UnreadTotals> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT id, staff_unread FROM chat_sessions WHERE staff_unread > 0 AND \
             (status = 'pending' OR (status = 'active' AND agent_id = $1)) ORDER BY id",
        )
        .bind(who.id)
        .fetch_all(self.store().pool())
        .await?;
        Ok(UnreadTotals {
            total_unread: rows.iter().map(|r| r.1).sum(),
            sessions: rows
                .into_iter()
                .map(|(session_id, unread_count)| SessionUnread {
                    session_id,
                    unread_count,
                })
                .collect(),
        })
    }

    /// Messages from staff the player has not read, over all their chats.
    pub async fn player_unread(&self, account: &str) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(player_unread), 0) AS BIGINT) FROM chat_sessions WHERE account = $1",
        )
        .bind(account)
        .fetch_one(self.store().pool())
        .await?;
        Ok(n)
    }

    pub async fn membership_info(&self, who: &Principal, account: &str) -> Result<MembershipInfo> {
        who.require(&[Role::Super, Role::Admin, Role::Agent])?;
        let p = self.player_row(account.trim()).await?;
        Ok(MembershipInfo {
            account: p.account,
            membership_level: p.membership_level,
            membership_expire_date: p.membership_expire_at.map(|t| self.clock().format_ms(t)),
            membership_pay_money: fen_to_yuan(p.membership_pay_fen),
        })
    }

    // ---- writing ----

    /// The player's open chat, or a new pending one.
    pub async fn create_session(&self, account: &str) -> Result<CreatedSession> {
        self.player_row(account).await?;
        if let Some(open) = self.open_session_of(account).await? {
            return Ok(self.created(&open));
        }
        let now = now_ms();
        let id = uuid::Uuid::now_v7().to_string();
        let inserted = sqlx::query(
            "INSERT INTO chat_sessions (id, account, status, created_at, queued_at) \
             VALUES ($1, $2, 'pending', $3, $3)",
        )
        .bind(&id)
        .bind(account)
        .bind(now)
        .execute(self.store().pool())
        .await;
        match inserted {
            Ok(_) => {}
            // Another request opened one at the same moment: answer that one.
            Err(e) if is_unique_violation(&e) => {
                let open = self
                    .open_session_of(account)
                    .await?
                    .ok_or_else(|| Error::internal("open session vanished"))?;
                return Ok(self.created(&open));
            }
            Err(e) => return Err(e.into()),
        }
        let s = self.session_row(&id).await?;
        self.announce_pending(&s);
        self.dispatch_later();
        Ok(self.created(&s))
    }

    fn created(&self, s: &SessionRow) -> CreatedSession {
        CreatedSession {
            session_id: s.id.clone(),
            created_at: self.clock().format_ms_precise(s.created_at),
            status: s.status.clone(),
        }
    }

    async fn open_session_of(&self, account: &str) -> Result<Option<SessionRow>> {
        Ok(sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT {SESSION_COLS} FROM chat_sessions WHERE account = $1 AND status <> 'ended'"
        ))
        .bind(account)
        .fetch_optional(self.store().pool())
        .await?)
    }

    /// The player's open chat, or else their most recent one.
    pub async fn latest_session_of(&self, account: &str) -> Result<Option<SessionRow>> {
        Ok(sqlx::query_as::<_, SessionRow>(&format!(
            "SELECT {SESSION_COLS} FROM chat_sessions WHERE account = $1 \
             ORDER BY CASE WHEN status = 'ended' THEN 1 ELSE 0 END, created_at DESC LIMIT 1"
        ))
        .bind(account)
        .fetch_optional(self.store().pool())
        .await?)
    }

    fn announce_pending(&self, s: &SessionRow) {
        let frame = Hub::encode(&ServerFrame::NewSessionCreated(NewSession {
            session_id: s.id.clone(),
            user_account: s.account.clone(),
            created_at: self.clock().format_ms_precise(s.created_at),
        }));
        self.hub().to_staff(StaffAudience::All, &frame, None);
    }

    /// Stores a message and tells everyone who should know. `origin` is the
    /// sending socket, which gets the acknowledgement instead of a copy.
    pub async fn send_message(
        &self,
        actor: &Actor,
        req: &SendMessageRequest,
        origin: Option<ConnId>,
    ) -> Result<MessageAck> {
        let content = validate_content(req)?;
        let session_id = validate_session_id(&req.session_id)?.to_owned();
        // No task of its own: once handed to the writer, a message is
        // stored and announced whether or not this caller stays (see the
        // module docs). Boxed so that every socket's task does not carry
        // room for this (large) future while it sits idle.
        Box::pin(self.send_inner(actor, &session_id, content, origin)).await
    }

    async fn send_inner(
        &self,
        actor: &Actor,
        session_id: &str,
        content: Content,
        origin: Option<ConnId>,
    ) -> Result<MessageAck> {
        if content.content_type == "image" {
            self.require_own_upload(actor, &content.text, session_id)
                .await?;
        }
        let author = match actor {
            Actor::Player(a) => writer::Author::Player(a.clone()),
            Actor::Staff(p) => writer::Author::Staff(p.username.clone()),
        };
        // The writer's guard decides who may write; only a refusal reads the
        // session, to say why, or to reopen an ended chat for its player
        // and try once more.
        for attempt in 0..2 {
            let appended = self
                .append(
                    session_id,
                    author.clone(),
                    content.text.clone(),
                    content.content_type.clone(),
                    content.client_msg_id.clone(),
                    origin,
                )
                .await;
            match appended {
                Ok(a) => return Ok(self.ack(&a.message)),
                Err(Error::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
            let s = self.session_row(session_id).await?;
            match actor {
                Actor::Player(account) if s.account != *account => {
                    return Err(Error::Forbidden("this chat is not yours".to_owned()));
                }
                Actor::Player(_) if s.status() == Status::Ended && attempt == 0 => {
                    self.reopen_if_ended(&s.id).await?;
                }
                // Ended first: staff sending to an ended chat get 409,
                // whoever held it (API.md).
                Actor::Staff(_) if s.status() == Status::Ended => {
                    return Err(Error::Conflict("this chat has ended".to_owned()));
                }
                Actor::Staff(p) if s.agent_id != Some(p.id) => {
                    return Err(match s.status() {
                        Status::Pending => Error::Conflict("accept the chat first".to_owned()),
                        _ => Error::Forbidden("this chat is assigned to someone else".to_owned()),
                    });
                }
                _ => {}
            }
        }
        Err(Error::Conflict(
            "the chat changed while sending; try again".to_owned(),
        ))
    }

    /// Hands a message to the writer and waits until it is stored.
    async fn append(
        &self,
        session_id: &str,
        author: writer::Author,
        text: String,
        content_type: String,
        client_msg_id: Option<String>,
        origin: Option<ConnId>,
    ) -> Result<writer::Appended> {
        let queue = self.0.writer.get_or_init(|| writer::start(self)).clone();
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = writer::Job {
            session_id: session_id.to_owned(),
            author,
            text,
            content_type,
            client_msg_id,
            origin,
            reply,
        };
        queue.push(self, job).await?;
        answer
            .await
            .map_err(|_| Error::internal("chat writer dropped a message"))?
    }

    /// Appends a notice to the thread (through the writer, which
    /// broadcasts it in seq order).
    async fn notice(&self, session_id: &str, text: String) -> Result<()> {
        self.append(
            session_id,
            writer::Author::System,
            text,
            "system".to_owned(),
            None,
            None,
        )
        .await
        .map(drop)
    }

    fn status_changed(&self, s: &SessionRow, old: Status, at: i64, extra: &[i64]) {
        let frame = Hub::encode(&ServerFrame::SessionStatusChanged(StatusChanged {
            session_id: s.id.clone(),
            old_status: old.as_str().to_owned(),
            new_status: s.status.clone(),
            changed_at: self.clock().format_ms_precise(at),
            cs_account: s.agent.clone(),
        }));
        self.hub().to_player(&s.account, &frame, None);
        if old == Status::Pending || s.status() == Status::Pending {
            // The queue changed for everyone.
            self.hub().to_staff(StaffAudience::All, &frame, None);
        } else {
            self.hub().to_staff(s.staff_audience(), &frame, None);
            if !extra.is_empty() {
                self.hub()
                    .to_staff(StaffAudience::Only(extra), &frame, None);
            }
        }
    }

    /// A staff member who can no longer answer (disabled or deleted): their
    /// active chats go back to the queue, each under its lock and with a
    /// notice, where the desks (and auto-accept) find them again. Failures
    /// are logged; the account change stands.
    pub(crate) async fn requeue_chats_of(&self, staff_id: i64, username: &str) {
        let held: std::result::Result<Vec<(String,)>, sqlx::Error> = sqlx::query_as(
            "SELECT id FROM chat_sessions WHERE agent_id = $1 AND status = 'active'",
        )
        .bind(staff_id)
        .fetch_all(self.store().pool())
        .await;
        let ids = match held {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, staff_id, "a departed agent's chats were not found");
                return;
            }
        };
        for (id,) in ids {
            let lock = self.hub().session_lock(&id);
            let _guard = lock.lock().await;
            let now = now_ms();
            let back: std::result::Result<Option<SessionRow>, sqlx::Error> =
                sqlx::query_as(&format!(
                    "UPDATE chat_sessions SET status = 'pending', agent_id = NULL, agent = NULL, \
                     accepted_at = NULL, queued_at = $3 \
                     WHERE id = $1 AND agent_id = $2 AND status = 'active' RETURNING {SESSION_COLS}"
                ))
                .bind(&id)
                .bind(staff_id)
                .bind(now)
                .fetch_optional(self.store().pool())
                .await;
            match back {
                Ok(Some(s)) => {
                    self.status_changed(&s, Status::Active, now, &[staff_id]);
                    if let Err(e) = self
                        .notice(&s.id, format!("客服 {username} 已离开，会话重新排队"))
                        .await
                    {
                        tracing::warn!(error = %e, "a requeued chat's notice was not stored");
                    }
                    self.announce_pending(&s);
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "a departed agent's chat was not requeued"),
            }
        }
        self.dispatch_later();
    }

    /// A player's message into an ended chat reopens it as pending (seed 003).
    async fn reopen_if_ended(&self, session_id: &str) -> Result<()> {
        // Under the chat's lock: an end still announcing itself must not
        // be heard after this reopening.
        let lock = self.hub().session_lock(session_id);
        let _guard = lock.lock().await;
        let now = now_ms();
        // The conversation that ended is kept as it was (for the chat
        // figures), and the chat begins a new one, in one transaction.
        let mut tx = self.store().begin_write().await?;
        let kept = sqlx::query(
            "INSERT INTO chat_episodes (session_id, started_at, agent_id, agent, accepted_at, \
             first_response_at, ended_at) \
             SELECT id, COALESCE(episode_at, created_at), agent_id, agent, accepted_at, \
             first_response_at, COALESCE(ended_at, $2) FROM chat_sessions \
             WHERE id = $1 AND status = 'ended' \
             AND EXISTS (SELECT 1 FROM players WHERE players.account = chat_sessions.account)",
        )
        .bind(session_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if kept.rows_affected() == 0 {
            // Not ended (anymore), or its player is gone: nothing to reopen.
            return Ok(());
        }
        let reopened: Option<SessionRow> = sqlx::query_as(&format!(
            "UPDATE chat_sessions SET status = 'pending', agent_id = NULL, agent = NULL, \
             ended_at = NULL, accepted_at = NULL, first_response_at = NULL, queued_at = $2, \
             episode_at = $2 WHERE id = $1 AND status = 'ended' RETURNING {SESSION_COLS}"
        ))
        .bind(session_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::Conflict("you already have another open chat".to_owned())
            } else {
                e.into()
            }
        })?;
        let Some(s) = reopened else {
            return Ok(());
        };
        tx.commit().await?;
        self.status_changed(&s, Status::Ended, now, &[]);
        self.notice(&s.id, "会话已重新打开".to_owned()).await?;
        self.announce_pending(&s);
        self.dispatch_later();
        Ok(())
    }

    /// Accepts a pending chat for the caller, or (admins) for `cs_account`.
    pub async fn accept_session(
        &self,
        who: &Principal,
        session_id: &str,
        cs_account: Option<&str>,
    ) -> Result<Accepted> {
        who.require(&[Role::Super, Role::Admin, Role::Agent])?;
        let (agent_id, agent) = match cs_account.map(str::trim).filter(|a| !a.is_empty()) {
            None => (who.id, who.username.clone()),
            Some(name) if name == who.username => (who.id, who.username.clone()),
            Some(name) => {
                if !who.role.is_admin() {
                    return Err(Error::Forbidden(
                        "only admins may assign a chat to someone else".to_owned(),
                    ));
                }
                let target = self.active_staff(name, "cs_account").await?;
                (target.id, target.username)
            }
        };
        let s = self.session_row(session_id).await?;
        self.accept_as(&s.id, agent_id, &agent).await
    }

    async fn active_staff(&self, username: &str, field: &str) -> Result<crate::staff::Staff> {
        match crate::staff::by_username(self.store(), username).await? {
            Some(s) if s.status == crate::staff::Status::Active => Ok(s),
            Some(_) => Err(Error::invalid(field, format!("`{username}` is disabled"))),
            None => Err(Error::invalid(
                field,
                format!("no staff member `{username}`"),
            )),
        }
    }

    /// The conditional accept both the desk and auto-accept use.
    async fn accept_as(&self, session_id: &str, agent_id: i64, agent: &str) -> Result<Accepted> {
        let lock = self.hub().session_lock(session_id);
        let _guard = lock.lock().await;
        let now = now_ms();
        let won: Option<SessionRow> = sqlx::query_as(&format!(
            "UPDATE chat_sessions SET status = 'active', agent_id = $2, agent = $3, accepted_at = $4 \
             WHERE id = $1 AND status = 'pending' \
             AND EXISTS (SELECT 1 FROM staff WHERE staff.id = $2 AND staff.status = 'active') \
             RETURNING {SESSION_COLS}"
        ))
        .bind(session_id)
        .bind(agent_id)
        .bind(agent)
        .bind(now)
        .fetch_optional(self.store().pool())
        .await?;
        let Some(s) = won else {
            let s = self.session_row(session_id).await?;
            return Err(match s.status() {
                Status::Active => Error::Conflict(format!(
                    "already accepted by {}",
                    s.agent.as_deref().unwrap_or("someone else")
                )),
                // Still waiting: the one accepting was disabled or deleted
                // meanwhile (requeued chats must not go back to them).
                Status::Pending => Error::Forbidden(format!("`{agent}` is disabled")),
                Status::Ended => Error::Conflict("this chat has ended".to_owned()),
            });
        };
        self.status_changed(&s, Status::Pending, now, &[]);
        self.notice(&s.id, format!("客服 {agent} 已接入会话"))
            .await?;
        let accepted = Accepted {
            session_id: s.id.clone(),
            status: s.status.clone(),
            cs_account: agent.to_owned(),
        };
        let frame = Hub::encode(&ServerFrame::SessionAccepted(accepted.clone()));
        self.hub()
            .to_staff(StaffAudience::Only(&[agent_id]), &frame, None);
        Ok(accepted)
    }

    /// Hands an active chat to another (active, online) staff member.
    pub async fn transfer_session(
        &self,
        who: &Principal,
        session_id: &str,
        to: &str,
    ) -> Result<Transferred> {
        let s = self.owned_session(who, session_id, true).await?;
        if s.status() != Status::Active {
            return Err(Error::Conflict(
                "only an active chat can be transferred".to_owned(),
            ));
        }
        let to = to.trim();
        if to.is_empty() {
            return Err(Error::invalid("to_cs_account", "is required"));
        }
        let target = self.active_staff(to, "to_cs_account").await?;
        if Some(target.id) == s.agent_id {
            return Err(Error::invalid("to_cs_account", "already holds this chat"));
        }
        if !self.hub().is_staff_online(target.id) {
            return Err(Error::Conflict(format!(
                "{} is not online",
                target.username
            )));
        }
        let from = s.agent.clone().unwrap_or_default();
        let lock = self.hub().session_lock(&s.id);
        let guard = lock.lock().await;
        let moved: Option<SessionRow> = sqlx::query_as(&format!(
            "UPDATE chat_sessions SET agent_id = $2, agent = $3 \
             WHERE id = $1 AND status = 'active' AND agent_id = $4 \
             AND EXISTS (SELECT 1 FROM staff WHERE staff.id = $2 AND staff.status = 'active') \
             RETURNING {SESSION_COLS}"
        ))
        .bind(&s.id)
        .bind(target.id)
        .bind(&target.username)
        .bind(s.agent_id)
        .fetch_optional(self.store().pool())
        .await?;
        let Some(moved) = moved else {
            return Err(Error::Conflict(
                "the chat changed meanwhile; reload it".to_owned(),
            ));
        };
        self.notice(&s.id, format!("会话已由 {from} 转接给 {}", target.username))
            .await?;
        drop(guard);
        let recent = self
            .read_history(&moved, 1, TRANSFER_CONTEXT, None, None)
            .await?;
        let done = Transferred {
            session_id: s.id.clone(),
            from_cs_account: from,
            to_cs_account: target.username.clone(),
            user_account: s.account.clone(),
            recent_messages: recent.messages,
        };
        let frame = Hub::encode(&ServerFrame::SessionTransferred(done.clone()));
        let ids: Vec<i64> = s.agent_id.into_iter().chain([target.id]).collect();
        self.hub().to_staff(StaffAudience::Only(&ids), &frame, None);
        self.status_changed(&moved, Status::Active, now_ms(), &ids);
        self.dispatch_later();
        Ok(done)
    }

    /// Ends a chat (its agent, or an admin).
    pub async fn end_session(&self, who: &Principal, session_id: &str) -> Result<SessionEnded> {
        // The chat is read under its lock, so who may end it, and who hears
        // of it, are decided on its state now (not before a transfer).
        let session_id = validate_session_id(session_id)?;
        let lock = self.hub().session_lock(session_id);
        let _guard = lock.lock().await;
        let s = self.session_row(session_id).await?;
        if !(s.agent_id == Some(who.id) || who.role.is_admin()) {
            return Err(Error::Forbidden(
                "this chat is assigned to someone else".to_owned(),
            ));
        }
        let now = now_ms();
        let ended: Option<SessionRow> = sqlx::query_as(&format!(
            "UPDATE chat_sessions SET status = 'ended', ended_at = $2 \
             WHERE id = $1 AND status <> 'ended' RETURNING {SESSION_COLS}"
        ))
        .bind(&s.id)
        .bind(now)
        .fetch_optional(self.store().pool())
        .await?;
        let Some(ended) = ended else {
            return Err(Error::Conflict("this chat has already ended".to_owned()));
        };
        let old = s.status();
        self.notice(&s.id, format!("会话已由 {} 结束", who.username))
            .await?;
        let done = SessionEnded {
            session_id: s.id.clone(),
            ended_at: self.clock().format_ms_precise(now),
        };
        let frame = Hub::encode(&ServerFrame::SessionEnded(done.clone()));
        let audience = if old == Status::Pending {
            StaffAudience::All
        } else {
            StaffAudience::AgentAndAdmins(s.agent_id)
        };
        self.hub().to_staff(audience, &frame, None);
        let status = Hub::encode(&ServerFrame::SessionStatusChanged(StatusChanged {
            session_id: ended.id.clone(),
            old_status: old.as_str().to_owned(),
            new_status: ended.status.clone(),
            changed_at: done.ended_at.clone(),
            cs_account: ended.agent.clone(),
        }));
        self.hub().to_player(&ended.account, &status, None);
        self.dispatch_later();
        Ok(done)
    }

    pub async fn set_importance(
        &self,
        who: &Principal,
        session_id: &str,
        important: bool,
    ) -> Result<ImportanceUpdated> {
        let s = self
            .visible_session(&Actor::Staff(who.clone()), session_id)
            .await?;
        sqlx::query("UPDATE chat_sessions SET is_important = $2 WHERE id = $1")
            .bind(&s.id)
            .bind(i64::from(important))
            .execute(self.store().pool())
            .await?;
        let done = ImportanceUpdated {
            session_id: s.id.clone(),
            is_important: important,
        };
        let frame = Hub::encode(&ServerFrame::SessionImportanceUpdated(done.clone()));
        self.hub().to_staff(
            StaffAudience::AgentAndAdmins(s.agent_id.or(Some(who.id))),
            &frame,
            None,
        );
        Ok(done)
    }

    /// Marks the other side's messages read for the reader. The reader's
    /// other sockets get the new (zero) count.
    pub async fn mark_read(
        &self,
        actor: &Actor,
        session_id: &str,
        origin: Option<ConnId>,
    ) -> Result<SessionRef> {
        let s = match actor {
            Actor::Player(_) => self.visible_session(actor, session_id).await?,
            Actor::Staff(p) => self.owned_session(p, session_id, false).await?,
        };
        let (from, counter) = match actor {
            Actor::Player(_) => ("customer_service", "player_unread"),
            Actor::Staff(_) => ("user", "staff_unread"),
        };
        // The chat's row first: on PostgreSQL its lock orders this against
        // the writer (which updates that row before adding a message), so
        // a message committed meanwhile is either marked read here or
        // counted after the zero, never unread under a zero count.
        let mut tx = self.store().begin_write().await?;
        sqlx::query(&format!(
            "UPDATE chat_sessions SET {counter} = 0 WHERE id = $1"
        ))
        .bind(&s.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE chat_messages SET is_read = 1 WHERE session_id = $1 AND sender_type = $2 AND is_read = 0",
        )
        .bind(&s.id)
        .bind(from)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let frame = Hub::encode(&ServerFrame::UnreadCountAbsoluteUpdate(SessionUnread {
            session_id: s.id.clone(),
            unread_count: 0,
        }));
        match actor {
            Actor::Player(account) => self.hub().to_player(account, &frame, origin),
            Actor::Staff(p) => {
                self.hub()
                    .to_staff(StaffAudience::Only(&[p.id]), &frame, origin);
                // Admins watching the chat recount too (seed 000 type 20).
                let recount = Hub::encode(&ServerFrame::UnreadCountRecalculated(SessionUnread {
                    session_id: s.id.clone(),
                    unread_count: 0,
                }));
                self.hub()
                    .to_staff(StaffAudience::AgentAndAdmins(None), &recount, None);
            }
        }
        Ok(SessionRef { session_id: s.id })
    }

    /// Deletes a chat's messages (its agent, admins, super admins); audited.
    pub async fn clear_history(&self, who: &Principal, session_id: &str) -> Result<SessionRef> {
        let s = self.owned_session(who, session_id, true).await?;
        let lock = self.hub().session_lock(&s.id);
        let _guard = lock.lock().await;
        let mut tx = self.store().begin_write().await?;
        // The chat's row first, as the writer and mark_read take it: on
        // PostgreSQL the same order of locks cannot deadlock.
        sqlx::query(
            "UPDATE chat_sessions SET staff_unread = 0, player_unread = 0, last_message = '' WHERE id = $1",
        )
        .bind(&s.id)
        .execute(&mut *tx)
        .await?;
        // Its images go with it (an upload is sent in one chat only).
        sqlx::query("DELETE FROM uploads WHERE sent_in = $1")
            .bind(&s.id)
            .execute(&mut *tx)
            .await?;
        let gone = sqlx::query("DELETE FROM chat_messages WHERE session_id = $1")
            .bind(&s.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        audit::record(
            &mut tx,
            who,
            "chat.clear",
            &s.id,
            &format!("messages={gone}"),
        )
        .await?;
        tx.commit().await?;
        let frame = Hub::encode(&ServerFrame::ChatHistoryCleared(SessionRef {
            session_id: s.id.clone(),
        }));
        self.hub().to_staff(s.staff_audience(), &frame, None);
        self.hub().to_player(&s.account, &frame, None);
        Ok(SessionRef { session_id: s.id })
    }

    /// Relays a typing indicator to the other side; nothing is stored.
    pub async fn typing(&self, actor: &Actor, session_id: &str, is_typing: bool) -> Result<()> {
        let s = match actor {
            Actor::Player(_) => self.visible_session(actor, session_id).await?,
            Actor::Staff(p) => self.owned_session(p, session_id, false).await?,
        };
        let frame = Hub::encode(&ServerFrame::Typing(TypingNotice {
            session_id: s.id.clone(),
            account: actor.name().to_owned(),
            is_typing,
        }));
        match actor {
            Actor::Player(_) => self.hub().to_staff(s.staff_audience(), &frame, None),
            Actor::Staff(_) => self.hub().to_player(&s.account, &frame, None),
        }
        Ok(())
    }

    /// Audits nothing and changes nothing: used by the HTTP API to check a
    /// player may use `account` (their own only).
    pub fn require_own_account(&self, player: &str, account: &str) -> Result<()> {
        if account.trim().is_empty() {
            return Err(Error::invalid("user_account", "is required"));
        }
        if player == account.trim() {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "you may only use your own account".to_owned(),
            ))
        }
    }
}

/// Stores a message; its parameters are [`MessageRow`]'s fields in order.
pub(crate) fn insert_message_sql() -> String {
    format!(
        "INSERT INTO chat_messages ({MESSAGE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
}

pub(crate) async fn insert_message(conn: &mut AnyConnection, m: &MessageRow) -> Result<()> {
    sqlx::query(&writer::SQL.insert)
        .bind(&m.id)
        .bind(&m.session_id)
        .bind(m.seq)
        .bind(&m.sender_type)
        .bind(&m.sender)
        .bind(&m.content)
        .bind(&m.content_type)
        .bind(&m.client_msg_id)
        .bind(m.sent_at)
        .bind(m.is_read)
        .execute(conn)
        .await?;
    Ok(())
}

/// Maps a domain error to the error frame's code (seed 000).
pub fn error_code(e: &Error) -> &'static str {
    use protocol::chat::codes::*;
    match e {
        Error::Invalid { .. } => INVALID_MESSAGE,
        Error::Unauthenticated(_) | Error::AccountDisabled => AUTH_FAILED,
        Error::NotFound(_) => SESSION_NOT_FOUND,
        // Seed 000 has no code of its own for "the chat's state forbids it"
        // (accepted by someone else, ended); the message says which.
        Error::Forbidden(_) | Error::Conflict(_) => PERMISSION_DENIED,
        Error::RateLimited { .. } => RATE_LIMIT_EXCEEDED,
        Error::Internal(_) => SERVER_ERROR,
    }
}
