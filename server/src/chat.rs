//! The chat socket, `/api/ws/chat?token=…&user_type=user|customer_service`
//! (API.md "WebSocket"). This module only speaks the wire: it
//! authenticates, registers the socket with the domain's hub, parses frames
//! and writes answers; every rule is in `domain::chat`.
//!
//! Per socket: frames over 64 KiB close it with 1009 (anything over 1 MiB is
//! cut by the WebSocket layer); more than 20 frames a second get
//! `RATE_LIMIT_EXCEEDED` and are not acted on; a socket silent for
//! [`IDLE_TIMEOUT`] (the default of `KEFU_WS_IDLE_SECS`) is closed (clients
//! ping every 30 s); a write that cannot finish in [`WRITE_TIMEOUT`] closes it, and so does a full outbox (the hub
//! kicks slow consumers); a token that dies (logout, password change,
//! disable, force sign-out, expiry) closes it with 4001.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Extension;
use domain::auth::ClientIp;
use domain::chat::hub::{Hub, Outbox, Peer};
use domain::chat::{error_code, Actor};
use domain::{Error, Kefu, Principal};
use futures_util::SinkExt;
use protocol::chat::{
    codes, ClientFrame, Connected, Empty, ErrorFrame, ServerFrame, SessionList, UnreadSync,
    CLOSE_AUTH_FAILED, CLOSE_TOO_MANY_SOCKETS, FRAMES_PER_SECOND, MAX_FRAME_BYTES,
};
use serde::de::DeserializeOwned;

use crate::AppState;

/// A socket that sends nothing for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// A write that takes longer than this means the peer stopped reading.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The WebSocket layer refuses messages over this outright.
const HARD_LIMIT: usize = 1024 * 1024;

enum Who {
    Staff(Principal),
    Player(String),
}

impl Who {
    fn peer(&self) -> Peer {
        match self {
            Who::Staff(p) => Peer::Staff(p.id),
            Who::Player(a) => Peer::Player(a.clone()),
        }
    }

    fn actor(&self) -> Actor {
        match self {
            Who::Staff(p) => Actor::Staff(p.clone()),
            Who::Player(a) => Actor::Player(a.clone()),
        }
    }
}

pub async fn upgrade(
    State(state): State<AppState>,
    ws: WebSocketUpgrade,
    uri: Uri,
    headers: HeaderMap,
    ip: Option<Extension<ClientIp>>,
) -> Response {
    let mut auth = authenticate(&state.kefu, &uri, &headers).await;
    // What staff do over the socket (clearing a chat) is audited with the
    // address it came from, as over HTTP.
    if let (
        Ok(Authed {
            who: Who::Staff(p), ..
        }),
        Some(Extension(ClientIp(ip))),
    ) = (&mut auth, ip)
    {
        p.ip = ip;
    }
    ws.max_message_size(HARD_LIMIT)
        .max_frame_size(HARD_LIMIT)
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            match auth {
                Ok(authed) => serve(socket, state.kefu, authed, state.ws_idle).await,
                Err(reason) => close(socket, CLOSE_AUTH_FAILED, &reason).await,
            }
        })
}

/// Who opened a socket, and with what token.
struct Authed {
    who: Who,
    /// The token's id (staff).
    jti: Option<String>,
    /// The token's expiry (secs).
    exp: i64,
    token: String,
}

impl Authed {
    /// Whether the token still authenticates its owner (a database that
    /// cannot answer right now does not end the socket).
    async fn still_valid(&self, kefu: &Kefu) -> bool {
        let checked = match self.who {
            Who::Staff(_) => kefu.authenticate(&self.token).await.map(drop),
            Who::Player(_) => kefu.authenticate_player(&self.token).await.map(drop),
        };
        matches!(checked, Ok(()) | Err(Error::Internal(_)))
    }
}

async fn authenticate(kefu: &Kefu, uri: &Uri, headers: &HeaderMap) -> Result<Authed, String> {
    let query = |key: &str| {
        uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_owned())
                .filter(|v| !v.is_empty())
        })
    };
    let user_type = query("user_type").unwrap_or_default();
    let explicit = crate::extract::bearer_in(headers).or_else(|| query("token"));
    match user_type.as_str() {
        "user" => {
            let token = explicit.ok_or("missing token")?;
            let (account, exp) = kefu
                .authenticate_player(&token)
                .await
                .map_err(|e| auth_reason(&e))?;
            Ok(Authed {
                who: Who::Player(account),
                jti: None,
                exp,
                token,
            })
        }
        "customer_service" => {
            // The desk in the browser sends its session cookie; that is an
            // ambient credential, so the page must be ours.
            let token = match explicit {
                Some(t) => t,
                None => {
                    let t = app::auth::ssr::session_token(headers).ok_or("missing token")?;
                    if !crate::middleware::same_origin(headers) {
                        return Err("cross-origin socket refused".to_owned());
                    }
                    t
                }
            };
            let (principal, _) = kefu
                .authenticate(&token)
                .await
                .map_err(|e| auth_reason(&e))?;
            Ok(Authed {
                jti: Some(principal.jti.clone()),
                exp: principal.exp,
                who: Who::Staff(principal),
                token,
            })
        }
        _ => Err("user_type must be user or customer_service".to_owned()),
    }
}

fn auth_reason(e: &Error) -> String {
    match e {
        Error::Unauthenticated(m) => m.clone(),
        Error::Internal(_) => "server error".to_owned(),
        other => other.to_string(),
    }
}

async fn close(mut socket: WebSocket, code: u16, reason: &str) {
    let _ = tokio::time::timeout(
        WRITE_TIMEOUT,
        socket.send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.chars().take(100).collect::<String>().into(),
        }))),
    )
    .await;
}

/// A token bucket: `FRAMES_PER_SECOND` frames a second, bursts as large.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new() -> Self {
        Bucket {
            tokens: f64::from(FRAMES_PER_SECOND),
            at: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let rate = f64::from(FRAMES_PER_SECOND);
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * rate).min(rate);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn serve(mut socket: WebSocket, kefu: Kefu, authed: Authed, idle: Duration) {
    let who = &authed.who;
    let peer = who.peer();
    let registered = match who {
        Who::Staff(p) => kefu
            .hub()
            .register_staff(p.id, &p.username, p.role, authed.jti.clone()),
        Who::Player(a) => kefu.hub().register_player(a).map(|o| (o, false)),
    };
    let Some((mut outbox, first)) = registered else {
        close(
            socket,
            CLOSE_TOO_MANY_SOCKETS,
            "too many sockets open for this account",
        )
        .await;
        return;
    };
    let conn = outbox.id;
    // A sign-out, disable or deletion between the check at the upgrade and
    // the registration above reached no socket: check again, now that one
    // would reach this one.
    let outcome = if authed.still_valid(&kefu).await {
        run(
            &mut socket,
            &kefu,
            who,
            &mut outbox,
            first,
            authed.exp,
            idle,
        )
        .await
    } else {
        Some((CLOSE_AUTH_FAILED, "token revoked"))
    };
    let last = kefu.hub().unregister(&peer, conn);
    if let Who::Staff(p) = &who {
        if last {
            if let Err(e) = kefu.staff_went_offline(p).await {
                tracing::warn!(error = %e, "presence update failed");
            }
        }
    }
    if let Some((code, reason)) = outcome {
        close(socket, code, reason).await;
    }
}

/// Runs the socket; answers the close code to send, if the server closes it.
async fn run(
    socket: &mut WebSocket,
    kefu: &Kefu,
    who: &Who,
    outbox: &mut Outbox,
    first: bool,
    exp: i64,
    idle: Duration,
) -> Option<(u16, &'static str)> {
    let now = domain::time::now_ms();
    let hello = ServerFrame::Connected(Connected {
        user_id: match who {
            Who::Staff(p) => p.username.clone(),
            Who::Player(a) => a.clone(),
        },
        user_type: match who {
            Who::Staff(_) => "customer_service",
            Who::Player(_) => "user",
        }
        .to_owned(),
        connected_at: kefu.clock().format_ms_precise(now),
    });
    if !write(socket, &hello).await {
        return None;
    }
    if let Who::Staff(p) = who {
        if first {
            if let Err(e) = kefu.staff_came_online(p).await {
                tracing::warn!(error = %e, "presence update failed");
            }
        }
        let greeting = async {
            let sessions = kefu.open_sessions(p).await?;
            let unread = kefu.staff_unread(p).await?;
            Ok::<_, Error>((sessions, unread))
        };
        match greeting.await {
            Ok((sessions, unread)) => {
                let list = ServerFrame::SessionListUpdated(SessionList { sessions });
                let sync = ServerFrame::UnreadCountsSynced(UnreadSync {
                    sessions: unread.sessions,
                });
                if !write(socket, &list).await || !write(socket, &sync).await {
                    return None;
                }
            }
            Err(e) => {
                let _ = write(socket, &error_frame(&e, (None, None))).await;
            }
        }
    }
    let expires_in = Duration::from_millis(u64::try_from((exp * 1000 - now).max(0)).unwrap_or(0));
    let expiry = tokio::time::sleep(expires_in);
    tokio::pin!(expiry);
    let mut bucket = Bucket::new();
    // Only what the client sends counts as life: frames we write do not.
    // One timer for the socket's life: hearing from the client only moves
    // `heard`, and the timer, when it fires early, is set again from there.
    let mut heard = tokio::time::Instant::now();
    let silence = tokio::time::sleep_until(heard + idle);
    tokio::pin!(silence);
    loop {
        tokio::select! {
            frame = outbox.frames.recv() => {
                let frame = frame?;
                if !write_waiting(socket, frame, &mut outbox.frames).await {
                    return None;
                }
            }
            changed = outbox.kicked.changed() => {
                let code = if changed.is_ok() { *outbox.kicked.borrow() } else { None };
                return code.map(|c| (c, kick_reason(c)));
            }
            () = &mut expiry => return Some((CLOSE_AUTH_FAILED, "token expired")),
            () = &mut silence => {
                if heard.elapsed() >= idle {
                    return Some((1000, "idle timeout"));
                }
                silence.as_mut().reset(heard + idle);
            }
            incoming = socket.recv() => {
                let message = match incoming {
                    None => return None,
                    // Past the hard limit the socket layer refuses to read;
                    // the client still hears why (API.md: 1009).
                    Some(Err(e)) => return too_large(&e).then_some((1009, "frame too large")),
                    Some(Ok(m)) => m,
                };
                heard = tokio::time::Instant::now();
                match message {
                    Message::Text(text) => {
                        if text.len() > MAX_FRAME_BYTES {
                            return Some((1009, "frame too large"));
                        }
                        let answer = if bucket.take() {
                            handle(kefu, who, outbox.id, text.as_str()).await
                        } else {
                            Some(rate_limited(request_ids(text.as_str())))
                        };
                        if let Some(answer) = answer {
                            if !write(socket, &answer).await {
                                return None;
                            }
                        }
                    }
                    Message::Binary(bytes) => {
                        if bytes.len() > MAX_FRAME_BYTES {
                            return Some((1009, "frame too large"));
                        }
                        // Answered, so counted like any frame.
                        let e = if bucket.take() {
                            invalid("frames are JSON text".to_owned(), (None, None))
                        } else {
                            rate_limited((None, None))
                        };
                        if !write(socket, &e).await {
                            return None;
                        }
                    }
                    Message::Close(_) => return None,
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
        }
    }
}

fn rate_limited((request_type, client_msg_id): (Option<String>, Option<String>)) -> ServerFrame {
    ServerFrame::Error(ErrorFrame {
        error_code: codes::RATE_LIMIT_EXCEEDED.to_owned(),
        error_message: format!("more than {FRAMES_PER_SECOND} frames a second"),
        request_type,
        client_msg_id,
    })
}

/// Whether a read failed for a message over the socket's hard limit.
fn too_large(e: &axum::Error) -> bool {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

fn kick_reason(code: u16) -> &'static str {
    match code {
        CLOSE_AUTH_FAILED => "token revoked",
        protocol::chat::CLOSE_TOO_SLOW => "too slow: outbox full",
        _ => "server closing",
    }
}

async fn write(socket: &mut WebSocket, frame: &ServerFrame) -> bool {
    write_raw(socket, &Hub::encode(frame)).await
}

async fn write_raw(socket: &mut WebSocket, text: &str) -> bool {
    within_timeout(socket.send(Message::Text(text.into()))).await
}

/// Most frames a socket writes in one go: bounds how long the other arms
/// of its loop (the client's frames, a kick) can wait behind a burst.
const BURST: usize = 32;

/// Writes `first` and whatever else the outbox already holds (up to
/// [`BURST`] frames) and flushes once: a player's message gives an agent
/// two frames (the message, the chat's unread count), one write here.
async fn write_waiting(
    socket: &mut WebSocket,
    first: Arc<str>,
    frames: &mut tokio::sync::mpsc::Receiver<Arc<str>>,
) -> bool {
    within_timeout(async {
        socket.feed(Message::Text((*first).into())).await?;
        for _ in 1..BURST {
            match frames.try_recv() {
                Ok(frame) => socket.feed(Message::Text((*frame).into())).await?,
                Err(_) => break,
            }
        }
        socket.flush().await
    })
    .await
}

/// Runs a write, giving up after [`WRITE_TIMEOUT`]. Nearly every write
/// finishes at once; only one that has to wait for the peer arms a timer.
async fn within_timeout<E>(write: impl Future<Output = Result<(), E>>) -> bool {
    tokio::pin!(write);
    let first = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(done) => done.is_ok(),
        Poll::Pending => matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(Ok(()))),
    }
}

/// The `type` of a frame and, for messages, its `client_msg_id`, as far as
/// they can be read (for error frames).
fn request_ids(text: &str) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        data: Option<Ids>,
    }
    #[derive(serde::Deserialize)]
    struct Ids {
        #[serde(default)]
        client_msg_id: Option<serde_json::Value>,
    }
    match serde_json::from_str::<Kind>(text) {
        Ok(k) => {
            let id = k
                .data
                .and_then(|d| d.client_msg_id)
                .and_then(|v| v.as_str().map(str::to_owned));
            (Some(k.kind), id)
        }
        Err(_) => (None, None),
    }
}

fn error_frame(e: &Error, ids: (Option<String>, Option<String>)) -> ServerFrame {
    let message = match e {
        Error::Invalid { field, message } => format!("{field}: {message}"),
        Error::Internal(context) => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            tracing::error!(request_id = %id, %context, "internal error on the chat socket");
            format!("server error (request {id})")
        }
        Error::Forbidden(m)
        | Error::NotFound(m)
        | Error::Conflict(m)
        | Error::Unauthenticated(m) => m.clone(),
        other => other.to_string(),
    };
    ServerFrame::Error(ErrorFrame {
        error_code: error_code(e).to_owned(),
        error_message: message,
        request_type: ids.0,
        client_msg_id: ids.1,
    })
}

fn invalid(message: String, ids: (Option<String>, Option<String>)) -> ServerFrame {
    ServerFrame::Error(ErrorFrame {
        error_code: codes::INVALID_MESSAGE.to_owned(),
        error_message: message,
        request_type: ids.0,
        client_msg_id: ids.1,
    })
}

/// Parses `data` as `T`, naming the field that is wrong.
fn data<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    let value = if value.is_null() {
        serde_json::Value::Object(Default::default())
    } else {
        value
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if let Some(field) = inner
            .strip_prefix("missing field `")
            .and_then(|r| r.strip_suffix('`'))
        {
            format!("data.{field}: is required")
        } else if path == "." {
            format!("data: {inner}")
        } else {
            format!("data.{path}: {inner}")
        }
    })
}

/// Acts on one client frame; answers the frame for this socket, if any.
async fn handle(kefu: &Kefu, who: &Who, conn: u64, text: &str) -> Option<ServerFrame> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        data: serde_json::Value,
    }
    // A well-formed frame (nearly all of them) is parsed once; the slow
    // path below only runs to say what is wrong with a bad one.
    if let Ok(frame) = serde_json::from_str::<ClientFrame>(text) {
        return match act(kefu, who, conn, frame).await {
            Ok(answer) => answer,
            Err(e) => Some(error_frame(&e, request_ids(text))),
        };
    }
    let ids = request_ids(text);
    let envelope: Envelope = match serde_json::from_str(text) {
        Ok(e) => e,
        Err(e) => {
            return Some(invalid(
                format!("a frame is {{\"type\": …, \"data\": {{…}}}}: {e}"),
                ids,
            ));
        }
    };
    let kind = envelope.kind.as_str();
    let mut tagged = serde_json::Map::new();
    tagged.insert(
        "type".into(),
        serde_json::Value::String(envelope.kind.clone()),
    );
    tagged.insert(
        "data".into(),
        if envelope.data.is_null() {
            serde_json::Value::Object(Default::default())
        } else {
            envelope.data.clone()
        },
    );
    let frame: ClientFrame = match serde_json::from_value(serde_json::Value::Object(tagged)) {
        Ok(f) => f,
        Err(_) => {
            // Either the type is unknown or its data is wrong: say which.
            let known = serde_json::from_value::<ClientFrame>(serde_json::json!({
                "type": kind,
                "data": {}
            }));
            let message = match known {
                Err(e) if e.to_string().starts_with("unknown variant") => {
                    format!("unknown type `{kind}`")
                }
                _ => match parse_for(kind, envelope.data) {
                    Err(m) => m,
                    Ok(()) => "data: invalid".to_owned(),
                },
            };
            return Some(invalid(message, ids));
        }
    };
    match act(kefu, who, conn, frame).await {
        Ok(answer) => answer,
        Err(e) => Some(error_frame(&e, ids)),
    }
}

/// Re-parses `data` with the type's struct to name the bad field.
fn parse_for(kind: &str, value: serde_json::Value) -> Result<(), String> {
    use protocol::chat::*;
    match kind {
        "message" => data::<SendMessageRequest>(value).map(drop),
        "get_chat_history" => data::<HistoryRequest>(value).map(drop),
        "get_sessions" => data::<PageRequest>(value).map(drop),
        "mark_session_read" | "end_session" | "clear_chat_history" => {
            data::<SessionRef>(value).map(drop)
        }
        "set_session_importance" | "mark_session_important" => data::<Importance>(value).map(drop),
        "update_cs_status" => data::<StatusRequest>(value).map(drop),
        "accept_session" => data::<AcceptRequest>(value).map(drop),
        "transfer_session" => data::<TransferRequest>(value).map(drop),
        "set_auto_accept" => data::<AutoAcceptRequest>(value).map(drop),
        "typing" => data::<Typing>(value).map(drop),
        _ => data::<Empty>(value).map(drop),
    }
}

async fn act(
    kefu: &Kefu,
    who: &Who,
    conn: u64,
    frame: ClientFrame,
) -> Result<Option<ServerFrame>, Error> {
    use ClientFrame as C;
    use ServerFrame as S;
    let actor = who.actor();
    // Frames both sides may send.
    match frame {
        C::Ping(_) => return Ok(Some(S::Pong(Empty {}))),
        C::Message(req) => {
            let ack = kefu.send_message(&actor, &req, Some(conn)).await?;
            return Ok(Some(S::MessageSent(ack)));
        }
        C::GetChatHistory(req) => {
            return Ok(Some(S::ChatHistoryResponse(
                kefu.chat_history(&actor, &req).await?,
            )))
        }
        C::MarkSessionRead(r) => {
            return Ok(Some(S::SessionReadSuccess(
                kefu.mark_read(&actor, &r.session_id, Some(conn)).await?,
            )))
        }
        C::Typing(t) => {
            kefu.typing(&actor, &t.session_id, t.is_typing).await?;
            return Ok(None);
        }
        _ => {}
    }
    let Who::Staff(p) = who else {
        return Err(Error::Forbidden(
            "this frame is for customer service only".to_owned(),
        ));
    };
    Ok(match frame {
        C::GetSessions(r) => S::SessionsResponse(
            kefu.chat_sessions(p, r.page, r.limit, r.scope.as_deref() == Some("all"))
                .await?,
        )
        .into(),
        C::GetSessionsCount(_) => {
            S::SessionsCountResponse(kefu.chat_sessions_count(p).await?).into()
        }
        C::SetSessionImportance(r) | C::MarkSessionImportant(r) => {
            // Broadcast to the chat's staff, this socket included.
            kefu.set_importance(p, &r.session_id, r.is_important)
                .await?;
            None
        }
        C::EndSession(r) => {
            kefu.end_session(p, &r.session_id).await?;
            None
        }
        C::ClearChatHistory(r) => {
            kefu.clear_history(p, &r.session_id).await?;
            None
        }
        C::UpdateCsStatus(r) => {
            S::CsStatusUpdateSuccess(kefu.set_staff_chat_status(p, &r.status).await?).into()
        }
        C::GetCsStatus(_) => S::CsStatusResponse(kefu.staff_chat_status(p).await?).into(),
        C::GetUnreadCount(_) => S::UnreadCountResponse(kefu.staff_unread(p).await?).into(),
        C::AcceptSession(r) => {
            let done = kefu
                .accept_session(p, &r.session_id, r.cs_account.as_deref())
                .await?;
            // The new holder's sockets are told by the domain.
            (done.cs_account != p.username).then_some(S::SessionAccepted(done))
        }
        C::TransferSession(r) => {
            let done = kefu
                .transfer_session(p, &r.session_id, &r.to_cs_account)
                .await?;
            let told = done.from_cs_account == p.username || done.to_cs_account == p.username;
            (!told).then_some(S::SessionTransferred(done))
        }
        C::SetAutoAccept(r) => {
            S::AutoAcceptUpdated(kefu.set_auto_accept(p, r.enabled, r.capacity).await?).into()
        }
        C::GetOnlineStaff(_) => S::OnlineStaffResponse(kefu.online_staff().await?).into(),
        C::Ping(_)
        | C::Message(_)
        | C::GetChatHistory(_)
        | C::MarkSessionRead(_)
        | C::Typing(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_twenty_a_second() {
        let mut b = Bucket::new();
        let allowed = (0..30).filter(|_| b.take()).count();
        assert_eq!(allowed, 20);
    }

    #[test]
    fn data_errors_name_the_field() {
        let e = data::<protocol::chat::SessionRef>(serde_json::json!({})).unwrap_err();
        assert_eq!(e, "data.session_id: is required");
        let e = data::<protocol::chat::Importance>(
            serde_json::json!({"session_id": "s", "is_important": "yes"}),
        )
        .unwrap_err();
        assert!(e.starts_with("data.is_important: invalid type"), "{e}");
    }
}
