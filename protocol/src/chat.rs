//! Chat on the wire: the HTTP chat API of seed 000 §5 and the WebSocket
//! frames of API.md ("WebSocket `/api/ws/chat`"). Every frame is
//! `{"type": …, "data": {…}}`; the server's frames are [`ServerFrame`], the
//! clients' are [`ClientFrame`]. Extensions beside seed 000's fields
//! (`seq`, `client_msg_id`, `sender_type`, `is_important`, …) only add fields.

use serde::{Deserialize, Serialize};

/// Longest `content` after trimming, in characters.
pub const MAX_CONTENT_CHARS: usize = 5000;
/// The largest image a chat upload may be, in bytes (5 MiB).
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
/// Longest `client_msg_id`.
pub const MAX_CLIENT_MSG_ID: usize = 64;
/// Largest WebSocket frame the server reads; bigger ones close with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Client frames allowed per second on one socket.
pub const FRAMES_PER_SECOND: u32 = 20;
/// Close code for a failed authentication (seed 000).
pub const CLOSE_AUTH_FAILED: u16 = 4001;
/// Close code for a consumer that could not keep up with its outbox.
pub const CLOSE_TOO_SLOW: u16 = 4008;
/// Close code when the server shuts down (clients reconnect).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code for a socket over [`MAX_SOCKETS_PER_PERSON`] (the person's
/// other sockets stay; the client backs off as after any 4xxx).
pub const CLOSE_TOO_MANY_SOCKETS: u16 = 4029;
/// Sockets one person (a staff member or a player) may hold open at once:
/// many tabs, not unbounded memory for one token.
pub const MAX_SOCKETS_PER_PERSON: usize = 20;

/// Who sent a message: `user` (a player), `customer_service` (staff) or
/// `system` (a notice in the thread: accepted, transferred, ended, reopened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderType {
    User,
    CustomerService,
    System,
}

/// One message, as history answers and `new_message` carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub message_id: String,
    pub session_id: String,
    pub seq: i64,
    pub sender_account: String,
    pub sender_type: SenderType,
    pub content: String,
    /// `text`, `image`, or `system` for notices.
    pub content_type: String,
    pub sent_at: String,
    pub is_read: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
}

/// A chat as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub session_id: String,
    pub user_account: String,
    pub cs_account: Option<String>,
    /// `pending`, `active` or `ended`.
    pub status: String,
    /// Unread messages for the side that asks.
    pub unread_count: i64,
    pub last_message: String,
    pub last_message_time: Option<String>,
    pub is_important: bool,
    pub created_at: String,
    pub last_seq: i64,
    /// Pending chats: since when the player has waited (the chat's creation,
    /// or the message that reopened it). An extension of API.md's summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<String>,
}

// ---- HTTP (seed 000 §5) ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserTokenRequest {
    pub account: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserToken {
    pub access_token: String,
    pub expires_in: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateSessionRequest {
    pub user_account: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedSession {
    pub session_id: String,
    pub created_at: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMessageRequest {
    pub session_id: String,
    pub content: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub client_msg_id: Option<String>,
}

/// The answer to a send (HTTP) and the `message_sent` frame (WebSocket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageAck {
    pub message_id: String,
    pub session_id: String,
    pub seq: i64,
    pub sent_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
}

/// The answer to an upload (`POST /api/chat/upload`, `POST /api/cs/upload`):
/// send `upload_id` as the `content` of a message with `content_type`
/// `image`; `url` serves the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uploaded {
    pub upload_id: String,
    pub content_type: String,
    pub size: i64,
    pub url: String,
}

/// A quick reply (快捷回复) on the desk: the team's (kept by admins) or
/// the staff member's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuickReply {
    pub id: i64,
    pub content: String,
    pub team: bool,
    /// Whether the asker may delete it.
    pub deletable: bool,
}

/// What the chat lists show of an image message.
pub const IMAGE_PREVIEW: &str = "[图片]";

/// A message as the chat lists and notifications show it: the first
/// `chars` characters of a text, or [`IMAGE_PREVIEW`] for an image (whose
/// content is an upload id, meaningless to a reader).
pub fn message_preview(content: &str, content_type: &str, chars: usize) -> String {
    if content_type == "image" {
        return IMAGE_PREVIEW.to_owned();
    }
    content.chars().take(chars).collect()
}

/// Where an uploaded image is served.
pub fn upload_url(upload_id: &str) -> String {
    format!("/api/uploads/{upload_id}")
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HistoryRequest {
    pub session_id: String,
    #[serde(default)]
    pub page: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
    /// Extension: the messages after this seq, ascending.
    #[serde(default)]
    pub after_seq: Option<i64>,
    /// Extension: the `limit` messages before this seq, ascending (the
    /// desk's older pages; stable while new messages arrive, unlike `page`).
    #[serde(default)]
    pub before_seq: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub session_id: String,
    pub messages: Vec<ChatMessage>,
    pub total: i64,
    pub page: i64,
    /// The session's newest seq when the page was read.
    pub last_seq: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnreadCountRequest {
    pub user_account: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnreadCount {
    pub unread_count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MembershipInfoRequest {
    pub account: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MembershipInfo {
    pub account: String,
    pub membership_level: i64,
    pub membership_expire_date: Option<String>,
    pub membership_pay_money: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AcceptRequest {
    pub session_id: String,
    #[serde(default)]
    pub cs_account: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    pub session_id: String,
    pub status: String,
    pub cs_account: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CsRechargeRequest {
    pub account: String,
    pub amount: f64,
    pub duration: i64,
    #[serde(default)]
    pub service_agent: Option<String>,
    #[serde(default)]
    pub remark: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CsRechargeResult {
    pub account: String,
    pub new_expire_date: String,
}

// ---- WebSocket: client → server ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRef {
    pub session_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PageRequest {
    #[serde(default)]
    pub page: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
    /// Extension: `all` lets admins and super admins list every chat.
    #[serde(default)]
    pub scope: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Importance {
    pub session_id: String,
    pub is_important: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusRequest {
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransferRequest {
    pub session_id: String,
    pub to_cs_account: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AutoAcceptRequest {
    pub enabled: bool,
    /// Most chats handed over at once (1–50); default: unchanged (5 at first).
    #[serde(default)]
    pub capacity: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Typing {
    pub session_id: String,
    pub is_typing: bool,
}

/// Every frame a client may send. The server parses a frame whole; one that
/// fails is parsed again in two steps (the envelope, then `data` by `type`)
/// so the error can name the request type and the field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum ClientFrame {
    Message(SendMessageRequest),
    Ping(Empty),
    GetSessions(PageRequest),
    GetSessionsCount(Empty),
    GetChatHistory(HistoryRequest),
    MarkSessionRead(SessionRef),
    SetSessionImportance(Importance),
    MarkSessionImportant(Importance),
    EndSession(SessionRef),
    ClearChatHistory(SessionRef),
    UpdateCsStatus(StatusRequest),
    GetCsStatus(Empty),
    GetUnreadCount(Empty),
    AcceptSession(AcceptRequest),
    TransferSession(TransferRequest),
    SetAutoAccept(AutoAcceptRequest),
    GetOnlineStaff(Empty),
    Typing(Typing),
}

/// `{}`: frames without data (unknown fields are ignored).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Empty {}

// ---- WebSocket: server → client ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connected {
    pub user_id: String,
    pub user_type: String,
    pub connected_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorFrame {
    pub error_code: String,
    pub error_message: String,
    #[serde(default)]
    pub request_type: Option<String>,
    /// Extension: the `client_msg_id` of the `message` that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionUnread {
    pub session_id: String,
    pub unread_count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSession {
    pub session_id: String,
    pub user_account: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChanged {
    pub session_id: String,
    pub old_status: String,
    pub new_status: String,
    pub changed_at: String,
    /// The agent now holding the chat, if any.
    #[serde(default)]
    pub cs_account: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionsPage {
    pub sessions: Vec<SessionSummary>,
    pub total: i64,
    pub page: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionsCount {
    pub total_sessions: i64,
    pub active_sessions: i64,
    pub pending_sessions: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnreadSync {
    pub sessions: Vec<SessionUnread>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportanceUpdated {
    pub session_id: String,
    pub is_important: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionEnded {
    pub session_id: String,
    pub ended_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnreadTotals {
    pub total_unread: i64,
    pub sessions: Vec<SessionUnread>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsStatus {
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsStatusUpdated {
    pub cs_account: String,
    pub status: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsStatusResponse {
    pub status: String,
    pub last_active: Option<String>,
    pub auto_accept: bool,
    pub capacity: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnlineStaff {
    pub cs_account: String,
    pub role: String,
    pub status: String,
    pub auto_accept: bool,
    pub capacity: i64,
    /// Active chats held now.
    pub load: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnlineStaffList {
    pub staff: Vec<OnlineStaff>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transferred {
    pub session_id: String,
    pub from_cs_account: String,
    pub to_cs_account: String,
    pub user_account: String,
    /// The newest messages, so the new agent sees the context at once.
    pub recent_messages: Vec<ChatMessage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoAcceptState {
    pub enabled: bool,
    pub capacity: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypingNotice {
    pub session_id: String,
    pub account: String,
    pub is_typing: bool,
}

/// Every frame the server sends (seed 000 server types 1–23 and the
/// extensions of API.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum ServerFrame {
    Connected(Connected),
    NewMessage(ChatMessage),
    MessageSent(MessageAck),
    Error(ErrorFrame),
    Pong(Empty),
    SessionListUpdated(SessionList),
    UnreadCountUpdated(SessionUnread),
    NewSessionCreated(NewSession),
    SessionStatusChanged(StatusChanged),
    SessionsResponse(SessionsPage),
    SessionsCountResponse(SessionsCount),
    ChatHistoryResponse(History),
    UnreadCountsSynced(UnreadSync),
    UnreadCountAbsoluteUpdate(SessionUnread),
    SessionReadSuccess(SessionRef),
    SessionImportanceUpdated(ImportanceUpdated),
    SessionEnded(SessionEnded),
    ChatHistoryCleared(SessionRef),
    UnreadCountResponse(UnreadTotals),
    UnreadCountRecalculated(SessionUnread),
    CsStatusUpdateSuccess(CsStatus),
    CsStatusUpdated(CsStatusUpdated),
    CsStatusResponse(CsStatusResponse),
    SessionAccepted(Accepted),
    SessionTransferred(Transferred),
    AutoAcceptUpdated(AutoAcceptState),
    OnlineStaffResponse(OnlineStaffList),
    Typing(TypingNotice),
}

/// The error codes of seed 000.
pub mod codes {
    pub const AUTH_FAILED: &str = "AUTH_FAILED";
    pub const INVALID_MESSAGE: &str = "INVALID_MESSAGE";
    pub const SESSION_NOT_FOUND: &str = "SESSION_NOT_FOUND";
    pub const PERMISSION_DENIED: &str = "PERMISSION_DENIED";
    pub const RATE_LIMIT_EXCEEDED: &str = "RATE_LIMIT_EXCEEDED";
    pub const SERVER_ERROR: &str = "SERVER_ERROR";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_the_type_and_data_shape() {
        let f = ServerFrame::Pong(Empty {});
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"type":"pong","data":{}}"#
        );
        let c: ClientFrame =
            serde_json::from_str(r#"{"type":"message","data":{"session_id":"s","content":"hi"}}"#)
                .unwrap();
        assert!(matches!(c, ClientFrame::Message(m) if m.content == "hi"));
        let c: ClientFrame = serde_json::from_str(r#"{"type":"ping","data":{}}"#).unwrap();
        assert!(matches!(c, ClientFrame::Ping(_)));
    }
}
