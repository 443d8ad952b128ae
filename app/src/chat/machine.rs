//! The chat client's logic, free of the browser: connection states,
//! reconnect backoff, heartbeat, the outbox with retries, and gap repair.
//! [`super::browser`] drives it with a real WebSocket, timers and
//! localStorage; the tests here drive it by hand.
//!
//! Rules (DESIGN.md "The browser chat client", seed 000 "心跳机制", "重连策略"):
//! - states CONNECTING, CONNECTED, DISCONNECTING, DISCONNECTED, UNKNOWN;
//! - a ping every 30 s; no pong within 5 s means the socket is dead;
//! - reconnect with exponential backoff from 1 s, at most 30 s between tries,
//!   longer after a client error (close codes 4000–4999), at most 10 tries
//!   before asking the user; paused while the browser is offline, at once
//!   when it comes back; 4001 (authentication failed) asks the user at once;
//! - each message gets a `client_msg_id` and waits in the outbox (persisted
//!   by the driver) until acknowledged; a send is tried at most 3 times with
//!   the same id, then shown as failed with a retry action;
//! - while the socket cannot be opened (two failed tries in a row, or the
//!   tries are used up), sends go over HTTP instead;
//! - every reconnect, and every message whose seq skips ahead, asks for the
//!   gap with `after_seq`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub const PING_EVERY_MS: u64 = 30_000;
pub const PONG_TIMEOUT_MS: u64 = 5_000;
pub const MAX_TRIES: u32 = 10;
pub const MAX_SEND_TRIES: u32 = 3;
/// A refused send is tried again after this, times the tries so far.
const RETRY_AFTER_MS: u64 = 1_000;
const BASE_MS: u64 = 1_000;
const CLIENT_ERROR_BASE_MS: u64 = 5_000;
const CAP_MS: u64 = 30_000;
/// Failed tries in a row after which sends go over HTTP.
const FALLBACK_AFTER: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Conn {
    Connecting,
    Connected,
    Disconnecting,
    Disconnected,
    Unknown,
}

/// The delay before reconnect try `attempt` (1-based): doubling from 1 s
/// (5 s after a client error), capped at 30 s, spread by `jitter` in [0, 1)
/// over ±20 % (never above the cap).
pub fn backoff_ms(attempt: u32, client_error: bool, jitter: f64) -> u64 {
    let base = if client_error {
        CLIENT_ERROR_BASE_MS
    } else {
        BASE_MS
    };
    let exp = attempt.saturating_sub(1).min(16);
    let raw = base.saturating_mul(1u64 << exp).min(CAP_MS) as f64;
    let spread = raw * (0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    (spread as u64).min(CAP_MS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MsgState {
    Pending,
    Sending,
    Sent,
    Failed,
}

/// One message of ours, from the composer until acknowledged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutMsg {
    pub client_msg_id: String,
    pub session_id: String,
    pub content: String,
    /// An image: `content` is its upload id. (Absent in outboxes saved
    /// before images: text.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub image: bool,
    pub state: MsgState,
    pub tries: u32,
    pub seq: Option<i64>,
    /// When it was written (ms), for display.
    pub at_ms: f64,
}

impl OutMsg {
    /// The message's `content_type` on the wire.
    pub fn content_type(&self) -> &'static str {
        if self.image {
            "image"
        } else {
            "text"
        }
    }
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Open,
    /// Close the socket (it is dead or being replaced).
    Close,
    Reconnect {
        after_ms: u64,
    },
    /// Write this JSON frame on the socket.
    Send(String),
    /// Send this message over HTTP.
    HttpSend(OutMsg),
    /// Ask for the messages after `after_seq`.
    Repair {
        session_id: String,
        after_seq: i64,
    },
    /// Call [`Client::flush`] after this long (a send the server could not
    /// take now: too many frames this second, or its error).
    RetryLater {
        after_ms: u64,
    },
    /// Save the outbox (localStorage).
    Persist,
    /// Stop and ask the user (authentication failed or tries used up).
    AskUser,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub conn: Conn,
    /// Failed tries in a row.
    pub attempt: u32,
    pub online: bool,
    pub gave_up: bool,
    pub auth_failed: bool,
    /// Sends go over HTTP while this holds.
    pub fallback: bool,
    pub outbox: Vec<OutMsg>,
    /// The highest seq seen in order, per session.
    pub last_seq: BTreeMap<String, i64>,
    /// Which sessions' threads are kept gap-free (see [`Client::focus`]).
    pub track: Track,
    ping_sent_at: Option<u64>,
    /// Every message this client has had in its outbox (see
    /// [`Client::to_store`]).
    known: BTreeSet<String>,
}

/// Whose gaps the client repairs. The widget shows every chat of its
/// player (`All`); the desk shows one thread at a time among hundreds of
/// chats, whose lists it reloads whole on reconnect, so it repairs only
/// the open one (`Only`) instead of asking for every chat it ever saw.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Track {
    #[default]
    All,
    Only(Option<String>),
}

impl Default for Client {
    fn default() -> Self {
        Client {
            conn: Conn::Unknown,
            attempt: 0,
            online: true,
            gave_up: false,
            auth_failed: false,
            fallback: false,
            outbox: Vec::new(),
            last_seq: BTreeMap::new(),
            track: Track::All,
            ping_sent_at: None,
            known: BTreeSet::new(),
        }
    }
}

/// A message as the server takes it: the socket frame's `data`, and the
/// body of the HTTP fallback's `send_message`.
pub fn message_body(m: &OutMsg) -> serde_json::Value {
    serde_json::json!({
        "session_id": m.session_id,
        "content": m.content,
        "content_type": m.content_type(),
        "client_msg_id": m.client_msg_id,
    })
}

fn message_frame(m: &OutMsg) -> String {
    serde_json::json!({ "type": "message", "data": message_body(m) }).to_string()
}

impl Client {
    /// A client that restores an outbox saved before a reload.
    pub fn with_outbox(saved: Vec<OutMsg>) -> Self {
        let outbox: Vec<OutMsg> = saved
            .into_iter()
            .filter(|m| m.state != MsgState::Sent)
            .map(|m| OutMsg {
                state: if m.state == MsgState::Failed {
                    MsgState::Failed
                } else {
                    MsgState::Pending
                },
                ..m
            })
            .collect();
        Client {
            known: outbox.iter().map(|m| m.client_msg_id.clone()).collect(),
            outbox,
            ..Client::default()
        }
    }

    pub fn start(&mut self) -> Vec<Action> {
        if !self.online {
            self.conn = Conn::Disconnected;
            return Vec::new();
        }
        self.conn = Conn::Connecting;
        vec![Action::Open]
    }

    /// The socket opened (after `connected`).
    pub fn on_open(&mut self) -> Vec<Action> {
        self.conn = Conn::Connected;
        self.attempt = 0;
        self.gave_up = false;
        self.auth_failed = false;
        self.fallback = false;
        self.ping_sent_at = None;
        let mut actions: Vec<Action> = self
            .last_seq
            .iter()
            .map(|(s, seq)| Action::Repair {
                session_id: s.clone(),
                after_seq: *seq,
            })
            .collect();
        actions.extend(self.flush());
        actions
    }

    /// The socket closed (or never opened) with `code`.
    pub fn on_close(&mut self, code: u16, jitter: f64) -> Vec<Action> {
        self.conn = Conn::Disconnected;
        self.ping_sent_at = None;
        // No answer came for what was on its way: that try does not count.
        for m in &mut self.outbox {
            if m.state == MsgState::Sending {
                m.state = MsgState::Pending;
                m.tries = m.tries.saturating_sub(1);
            }
        }
        if code == protocol::chat::CLOSE_AUTH_FAILED {
            self.auth_failed = true;
            return vec![Action::AskUser];
        }
        if !self.online {
            return Vec::new();
        }
        self.attempt += 1;
        let mut actions = Vec::new();
        if self.attempt >= FALLBACK_AFTER {
            // Each failed try is also a chance for the waiting messages to
            // go over HTTP: the reconnect backoff spaces those out too.
            self.fallback = true;
            actions.extend(self.flush());
        }
        if self.attempt > MAX_TRIES {
            self.gave_up = true;
            actions.push(Action::AskUser);
            return actions;
        }
        let client_error = (4000..5000).contains(&code);
        actions.push(Action::Reconnect {
            after_ms: backoff_ms(self.attempt, client_error, jitter),
        });
        actions
    }

    /// The user asked to try again after the client gave up.
    pub fn retry_now(&mut self) -> Vec<Action> {
        self.attempt = 0;
        self.gave_up = false;
        self.start()
    }

    /// The reconnect timer fired.
    pub fn on_reconnect_timer(&mut self) -> Vec<Action> {
        if self.conn == Conn::Disconnected && self.online && !self.gave_up {
            self.start()
        } else {
            Vec::new()
        }
    }

    pub fn on_offline(&mut self) -> Vec<Action> {
        self.online = false;
        if self.conn == Conn::Connected || self.conn == Conn::Connecting {
            self.conn = Conn::Disconnecting;
            return vec![Action::Close];
        }
        Vec::new()
    }

    /// The browser is back online: reconnect at once.
    pub fn on_online(&mut self) -> Vec<Action> {
        self.online = true;
        if matches!(
            self.conn,
            Conn::Disconnected | Conn::Disconnecting | Conn::Unknown
        ) {
            self.attempt = 0;
            self.gave_up = false;
            return self.start();
        }
        Vec::new()
    }

    /// Called every [`PING_EVERY_MS`] and when a pong may be overdue.
    pub fn on_heartbeat(&mut self, now_ms: u64) -> Vec<Action> {
        if self.conn != Conn::Connected {
            return Vec::new();
        }
        match self.ping_sent_at {
            Some(at) if now_ms.saturating_sub(at) >= PONG_TIMEOUT_MS => {
                self.conn = Conn::Disconnecting;
                vec![Action::Close]
            }
            Some(_) => Vec::new(),
            None => {
                self.ping_sent_at = Some(now_ms);
                vec![Action::Send(r#"{"type":"ping","data":{}}"#.to_owned())]
            }
        }
    }

    pub fn on_pong(&mut self) {
        self.ping_sent_at = None;
    }

    /// The user wrote a message.
    pub fn send(&mut self, session_id: &str, content: &str, id: String, at_ms: f64) -> Vec<Action> {
        self.push_out(session_id, content, false, id, at_ms)
    }

    /// The user sent an image they uploaded (`upload_id`).
    pub fn send_image(
        &mut self,
        session_id: &str,
        upload_id: &str,
        id: String,
        at_ms: f64,
    ) -> Vec<Action> {
        self.push_out(session_id, upload_id, true, id, at_ms)
    }

    fn push_out(
        &mut self,
        session_id: &str,
        content: &str,
        image: bool,
        id: String,
        at_ms: f64,
    ) -> Vec<Action> {
        self.outbox.push(OutMsg {
            client_msg_id: id,
            session_id: session_id.to_owned(),
            content: content.to_owned(),
            image,
            state: MsgState::Pending,
            tries: 0,
            seq: None,
            at_ms,
        });
        let mut actions = vec![Action::Persist];
        actions.extend(self.flush());
        actions
    }

    /// Sends every pending message the way that works now.
    pub fn flush(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        let connected = self.conn == Conn::Connected;
        for m in &mut self.outbox {
            if m.state != MsgState::Pending {
                continue;
            }
            if connected {
                m.state = MsgState::Sending;
                m.tries += 1;
                actions.push(Action::Send(message_frame(m)));
            } else if self.fallback {
                m.state = MsgState::Sending;
                m.tries += 1;
                actions.push(Action::HttpSend(m.clone()));
            }
        }
        actions
    }

    /// The server acknowledged a message.
    pub fn on_ack(&mut self, client_msg_id: &str, seq: i64) -> Vec<Action> {
        let mut found = false;
        for m in &mut self.outbox {
            if m.client_msg_id == client_msg_id {
                m.state = MsgState::Sent;
                m.seq = Some(seq);
                found = true;
            }
        }
        if found {
            vec![Action::Persist]
        } else {
            Vec::new()
        }
    }

    /// A send failed (an error frame, or the HTTP request failed). `retry`
    /// is false when the server refused it for good (bad input, not allowed).
    pub fn on_send_failed(&mut self, client_msg_id: &str, retry: bool) -> Vec<Action> {
        for m in &mut self.outbox {
            if m.client_msg_id == client_msg_id && m.state != MsgState::Sent {
                m.state = if retry && m.tries < MAX_SEND_TRIES {
                    MsgState::Pending
                } else {
                    MsgState::Failed
                };
            }
        }
        let mut actions = vec![Action::Persist];
        // Not at once: the next try would meet the same rate limit or the
        // same trouble, and all tries would be spent in one second.
        let again = self
            .outbox
            .iter()
            .find(|m| m.client_msg_id == client_msg_id && m.state == MsgState::Pending);
        if let Some(m) = again {
            actions.push(Action::RetryLater {
                after_ms: RETRY_AFTER_MS * u64::from(m.tries.max(1)),
            });
        }
        actions
    }

    /// An HTTP send was turned back for its rate (429: the server takes 20
    /// messages a second from one person, answering `Retry-After: 1`). Not
    /// a try spent: a long outbox flushed at once meets it, and its tail
    /// must not turn "failed" for that. The message waits a second.
    pub fn on_throttled(&mut self, client_msg_id: &str) -> Vec<Action> {
        let mut waiting = false;
        for m in &mut self.outbox {
            if m.client_msg_id == client_msg_id && m.state == MsgState::Sending {
                m.state = MsgState::Pending;
                m.tries = m.tries.saturating_sub(1);
                waiting = true;
            }
        }
        let mut actions = vec![Action::Persist];
        if waiting {
            actions.push(Action::RetryLater {
                after_ms: RETRY_AFTER_MS,
            });
        }
        actions
    }

    /// An HTTP send could not reach the server at all (no answer). That is
    /// not a try the server saw: the message waits, pending, for the socket
    /// to come back or the next fallback attempt; it never turns "failed"
    /// only because the network is down.
    pub fn on_unreachable(&mut self, client_msg_id: &str) -> Vec<Action> {
        for m in &mut self.outbox {
            if m.client_msg_id == client_msg_id && m.state == MsgState::Sending {
                m.state = MsgState::Pending;
                m.tries = m.tries.saturating_sub(1);
            }
        }
        let mut actions = vec![Action::Persist];
        // The socket came back while this request hung: send it there.
        if self.conn == Conn::Connected {
            actions.extend(self.flush());
        }
        actions
    }

    /// The user pressed retry on a failed message.
    pub fn retry(&mut self, client_msg_id: &str) -> Vec<Action> {
        for m in &mut self.outbox {
            if m.client_msg_id == client_msg_id && m.state == MsgState::Failed {
                m.state = MsgState::Pending;
                m.tries = 0;
            }
        }
        let mut actions = vec![Action::Persist];
        actions.extend(self.flush());
        actions
    }

    /// Drops acknowledged messages, of one chat or of all.
    pub fn forget_sent(&mut self, session: Option<&str>) {
        self.outbox
            .retain(|m| m.state != MsgState::Sent || session.is_some_and(|s| s != m.session_id));
    }

    /// What to save across a reload, given what the store holds now
    /// (`stored`). Two tabs of one person share the store: it keeps this
    /// client's unsent messages, and those another tab wrote that this
    /// client never had (a message this client had is either still unsent
    /// here, or acknowledged, and then dropped). So a tab that closes with
    /// messages unsent leaves them to the next tab opened, whatever the
    /// other tabs wrote meanwhile.
    pub fn to_store(&mut self, stored: Vec<OutMsg>) -> Vec<OutMsg> {
        self.known
            .extend(self.outbox.iter().map(|m| m.client_msg_id.clone()));
        let mut keep = self.unsent();
        keep.extend(
            stored
                .into_iter()
                .filter(|m| !self.known.contains(&m.client_msg_id)),
        );
        keep
    }

    /// Messages to save across a reload.
    pub fn unsent(&self) -> Vec<OutMsg> {
        self.outbox
            .iter()
            .filter(|m| m.state != MsgState::Sent)
            .cloned()
            .collect()
    }

    /// A message with `seq` arrived for `session`. Answers whether it is new
    /// (not a duplicate), and asks for the gap when it skips ahead.
    pub fn on_message(&mut self, session: &str, seq: i64) -> (bool, Vec<Action>) {
        if matches!(&self.track, Track::Only(open) if open.as_deref() != Some(session)) {
            return (true, Vec::new());
        }
        let last = self.last_seq.get(session).copied();
        match last {
            Some(l) if seq <= l => (false, Vec::new()),
            Some(l) if seq > l + 1 => (
                true,
                vec![Action::Repair {
                    session_id: session.to_owned(),
                    after_seq: l,
                }],
            ),
            _ => {
                self.last_seq.insert(session.to_owned(), seq);
                (true, Vec::new())
            }
        }
    }

    /// Keep only `session`'s thread gap-free from now on (`None`: none).
    pub fn focus(&mut self, session: Option<&str>) {
        self.last_seq
            .retain(|s, _| session.is_some_and(|open| open == s.as_str()));
        self.track = Track::Only(session.map(str::to_owned));
    }

    /// History arrived: the seqs up to `upto` are known for `session`.
    pub fn seen_upto(&mut self, session: &str, upto: i64) {
        let e = self.last_seq.entry(session.to_owned()).or_insert(0);
        if upto > *e {
            *e = upto;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[OutMsg]) -> Vec<&str> {
        list.iter().map(|m| m.client_msg_id.as_str()).collect()
    }

    #[test]
    fn two_tabs_keep_each_others_unsent_messages_in_the_store() {
        // Tab A writes a1 and cannot send it; tab B, opened before, sends b1.
        let mut a = Client::with_outbox(Vec::new());
        let mut b = Client::with_outbox(Vec::new());
        let mut stored = Vec::new();
        a.send("s", "a1", "a1".into(), 0.0);
        stored = a.to_store(stored);
        assert_eq!(ids(&stored), ["a1"]);
        b.send("s", "b1", "b1".into(), 0.0);
        stored = b.to_store(stored);
        assert_eq!(ids(&stored), ["b1", "a1"]);
        // b1 is acknowledged: B drops it, and keeps a1, which it never had.
        b.outbox[0].state = MsgState::Sent;
        stored = b.to_store(stored);
        assert_eq!(ids(&stored), ["a1"]);
        b.forget_sent(None);
        stored = b.to_store(stored);
        assert_eq!(ids(&stored), ["a1"]);
        // A tab opened now takes a1 over, and drops it once acknowledged.
        let mut c = Client::with_outbox(stored.clone());
        assert_eq!(ids(&c.outbox), ["a1"]);
        c.outbox[0].state = MsgState::Sent;
        stored = c.to_store(stored);
        assert!(stored.is_empty(), "{stored:?}");
        // A's own copy stays until A hears its acknowledgement.
        assert_eq!(ids(&a.to_store(stored.clone())), ["a1"]);
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_waits_longer_after_client_errors() {
        let plain: Vec<u64> = (1..=7).map(|a| backoff_ms(a, false, 0.5)).collect();
        assert_eq!(plain, vec![1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        assert_eq!(backoff_ms(1, true, 0.5), 5000);
        assert_eq!(backoff_ms(3, true, 0.5), 20000);
        assert!((1..=20).all(|a| backoff_ms(a, true, 0.99) <= 30_000));
        assert_eq!(backoff_ms(1, false, 0.0), 800);
        assert!(backoff_ms(2, false, 0.999) < 2400);
        assert!(backoff_ms(2, false, 0.999) > 2000);
    }

    fn connected() -> Client {
        let mut c = Client::default();
        assert_eq!(c.start(), vec![Action::Open]);
        assert_eq!(c.conn, Conn::Connecting);
        c.on_open();
        c
    }

    #[test]
    fn ten_tries_then_ask_the_user_with_http_fallback_from_the_second() {
        let mut c = connected();
        let mut delays = Vec::new();
        for n in 1..=MAX_TRIES {
            let actions = c.on_close(1006, 0.5);
            assert_eq!(c.fallback, n >= 2, "try {n}");
            match actions.last() {
                Some(Action::Reconnect { after_ms }) => delays.push(*after_ms),
                other => panic!("try {n}: {other:?}"),
            }
            assert_eq!(c.on_reconnect_timer(), vec![Action::Open]);
        }
        assert_eq!(delays.iter().max(), Some(&30_000));
        assert_eq!(c.on_close(1006, 0.5), vec![Action::AskUser]);
        assert!(c.gave_up);
        assert_eq!(c.on_reconnect_timer(), vec![]);
        assert_eq!(c.retry_now(), vec![Action::Open]);
        c.on_open();
        assert_eq!((c.attempt, c.fallback, c.gave_up), (0, false, false));
    }

    #[test]
    fn auth_failure_stops_at_once() {
        let mut c = connected();
        assert_eq!(c.on_close(4001, 0.5), vec![Action::AskUser]);
        assert!(c.auth_failed);
        // Asked to try again (a new sign-in meanwhile), it connects: no
        // longer failed.
        assert_eq!(c.retry_now(), vec![Action::Open]);
        c.on_open();
        assert!(!c.auth_failed);
    }

    /// The 21st socket of one person is closed with 4029: the client waits
    /// as after any client error, and from the second refusal its
    /// messages go over HTTP.
    #[test]
    fn a_refused_extra_socket_backs_off_and_sends_over_http() {
        let mut c = connected();
        c.send("s", "hi", "id-1".into(), 0.0);
        assert_eq!(
            c.on_close(protocol::chat::CLOSE_TOO_MANY_SOCKETS, 0.5),
            vec![Action::Reconnect { after_ms: 5_000 }]
        );
        assert!(!c.auth_failed && !c.fallback);
        assert_eq!(c.on_reconnect_timer(), vec![Action::Open]);
        let actions = c.on_close(protocol::chat::CLOSE_TOO_MANY_SOCKETS, 0.5);
        assert!(c.fallback);
        assert!(
            actions
                .iter()
                .any(|a| matches!(a, Action::HttpSend(m) if m.client_msg_id == "id-1")),
            "{actions:?}"
        );
        assert!(matches!(
            actions.last(),
            Some(Action::Reconnect { after_ms: 10_000 })
        ));
    }

    #[test]
    fn offline_pauses_and_online_reconnects_at_once() {
        let mut c = connected();
        assert_eq!(c.on_offline(), vec![Action::Close]);
        assert_eq!(c.on_close(1000, 0.5), vec![]);
        assert_eq!(c.on_reconnect_timer(), vec![]);
        assert_eq!(c.on_online(), vec![Action::Open]);
    }

    #[test]
    fn heartbeat_pings_and_declares_a_silent_socket_dead() {
        let mut c = connected();
        assert!(matches!(c.on_heartbeat(0).as_slice(), [Action::Send(p)] if p.contains("ping")));
        assert_eq!(c.on_heartbeat(4_999), vec![]);
        c.on_pong();
        assert!(matches!(
            c.on_heartbeat(30_000).as_slice(),
            [Action::Send(_)]
        ));
        assert_eq!(c.on_heartbeat(35_000), vec![Action::Close]);
        assert_eq!(c.conn, Conn::Disconnecting);
        // A dead socket reconnects with backoff (it was not a clean close).
        assert!(matches!(
            c.on_close(1006, 0.5).last(),
            Some(Action::Reconnect { .. })
        ));
    }

    #[test]
    fn the_outbox_sends_retries_with_the_same_id_and_fails_after_three() {
        let mut c = Client::default();
        // Written while connecting: kept, not sent.
        c.start();
        assert_eq!(c.send("s", "hi", "id-1".into(), 0.0), vec![Action::Persist]);
        let actions = c.on_open();
        assert!(matches!(&actions[..], [Action::Send(f)] if f.contains("id-1")));
        for wait in [1_000, 2_000] {
            // Tried again later, not in the same instant.
            let a = c.on_send_failed("id-1", true);
            assert_eq!(a, [Action::Persist, Action::RetryLater { after_ms: wait }]);
            let a = c.flush();
            assert!(matches!(&a[..], [Action::Send(f)] if f.contains("id-1")));
        }
        assert_eq!(c.on_send_failed("id-1", true), vec![Action::Persist]);
        assert_eq!(c.outbox[0].state, MsgState::Failed);
        let a = c.retry("id-1");
        assert!(matches!(&a[..], [Action::Persist, Action::Send(_)]));
        c.on_ack("id-1", 7);
        assert_eq!(c.outbox[0].state, MsgState::Sent);
        assert_eq!(c.outbox[0].seq, Some(7));
        assert!(c.unsent().is_empty());
    }

    #[test]
    fn a_send_turned_back_for_its_rate_waits_and_never_fails() {
        let mut c = Client::default();
        c.start();
        c.send("s", "hi", "id-1".into(), 0.0);
        c.on_open();
        // Ten refusals in a row: each waits a second, none spends a try.
        for _ in 0..10 {
            assert_eq!(
                c.on_throttled("id-1"),
                [Action::Persist, Action::RetryLater { after_ms: 1_000 }]
            );
            assert_eq!(c.outbox[0].state, MsgState::Pending);
            let a = c.flush();
            assert!(matches!(&a[..], [Action::Send(f)] if f.contains("id-1")));
        }
        c.on_ack("id-1", 3);
        assert_eq!(c.outbox[0].state, MsgState::Sent);
        // An answer for a message no longer being sent changes nothing.
        assert_eq!(c.on_throttled("id-1"), [Action::Persist]);
        assert_eq!(c.outbox[0].state, MsgState::Sent);
    }

    #[test]
    fn an_unreachable_server_never_fails_a_message() {
        let mut c = connected();
        c.on_close(1006, 0.5);
        c.send("s", "one", "a".into(), 0.0);
        assert_eq!(c.outbox[0].state, MsgState::Pending);
        // The second failed try switches to HTTP, which cannot reach the server either.
        for round in 0..6 {
            let a = c.on_close(1006, 0.5);
            assert!(
                a.iter()
                    .any(|x| matches!(x, Action::HttpSend(m) if m.client_msg_id == "a")),
                "round {round}: {a:?}"
            );
            assert_eq!(c.on_unreachable("a"), vec![Action::Persist]);
            assert_eq!(c.outbox[0].state, MsgState::Pending);
            assert_eq!(c.outbox[0].tries, 0);
        }
        // An HTTP try is on its way when the socket comes back: the socket
        // leaves it alone, and when the request fails the message goes out there.
        let a = c.on_close(1006, 0.5);
        assert!(a.iter().any(|x| matches!(x, Action::HttpSend(_))));
        c.start();
        let a = c.on_open();
        assert!(!a.iter().any(|x| matches!(x, Action::Send(_))), "{a:?}");
        let a = c.on_unreachable("a");
        assert!(
            a.iter()
                .any(|x| matches!(x, Action::Send(f) if f.contains("\"a\""))),
            "{a:?}"
        );
        // A socket that drops before the acknowledgement does not use up a try either.
        for _ in 0..5 {
            c.on_close(1006, 0.5);
            c.start();
            c.on_open();
        }
        assert_eq!(
            (c.outbox[0].state, c.outbox[0].tries),
            (MsgState::Sending, 1)
        );
    }

    #[test]
    fn a_focused_client_repairs_only_the_open_thread() {
        let mut c = connected();
        c.focus(None);
        // Messages of chats not open are passed on but not tracked.
        for s in ["a", "b", "c"] {
            assert_eq!(c.on_message(s, 3), (true, Vec::new()));
        }
        c.focus(Some("b"));
        assert_eq!(c.on_message("b", 4), (true, Vec::new()));
        assert!(!c.on_message("b", 4).0);
        assert_eq!(c.on_message("a", 9), (true, Vec::new()));
        c.on_close(1006, 0.5);
        c.start();
        let repairs: Vec<_> = c
            .on_open()
            .into_iter()
            .filter(|a| matches!(a, Action::Repair { .. }))
            .collect();
        assert_eq!(
            repairs,
            vec![Action::Repair {
                session_id: "b".into(),
                after_seq: 4
            }]
        );
    }

    #[test]
    fn a_reload_restores_unsent_messages_and_sends_them() {
        let mut c = connected();
        c.on_close(1006, 0.5);
        c.send("s", "one", "a".into(), 0.0);
        c.send("s", "two", "b".into(), 0.0);
        let saved = serde_json::to_string(&c.unsent()).unwrap();
        let mut after = Client::with_outbox(serde_json::from_str(&saved).unwrap());
        after.start();
        let sends: Vec<_> = after
            .on_open()
            .into_iter()
            .filter(|a| matches!(a, Action::Send(_)))
            .collect();
        assert_eq!(sends.len(), 2);
    }

    #[test]
    fn an_image_is_sent_as_one_and_survives_a_reload_as_one() {
        let mut c = connected();
        let a = c.send_image("s", "0123456789abcdef0123456789abcdef", "i".into(), 0.0);
        let frame = match &a[..] {
            [Action::Persist, Action::Send(f)] => f.clone(),
            other => panic!("{other:?}"),
        };
        let v: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["data"]["content_type"], "image");
        assert_eq!(v["data"]["content"], "0123456789abcdef0123456789abcdef");
        c.on_close(1006, 0.5);
        c.send("s", "words", "t".into(), 0.0);
        let saved = serde_json::to_string(&c.unsent()).unwrap();
        let after = Client::with_outbox(serde_json::from_str(&saved).unwrap());
        let kinds: Vec<_> = after.unsent().iter().map(|m| m.content_type()).collect();
        assert_eq!(kinds, ["image", "text"]);
        // Over the HTTP fallback the body says the same.
        let body = message_body(&after.unsent()[0]);
        assert_eq!(body, v["data"]);
        // An outbox saved before images existed reads as text.
        let old = r#"[{"client_msg_id":"o","session_id":"s","content":"hi","state":"Pending","tries":0,"seq":null,"at_ms":0.0}]"#;
        let old: Vec<OutMsg> = serde_json::from_str(old).unwrap();
        assert_eq!(old[0].content_type(), "text");
    }

    #[test]
    fn sends_go_over_http_while_the_socket_is_down() {
        let mut c = connected();
        c.on_close(1006, 0.5);
        c.on_reconnect_timer();
        c.on_close(1006, 0.5);
        assert!(c.fallback);
        let a = c.send("s", "via http", "h".into(), 0.0);
        assert!(matches!(&a[..], [Action::Persist, Action::HttpSend(m)] if m.client_msg_id == "h"));
    }

    #[test]
    fn gaps_are_repaired_and_duplicates_dropped() {
        let mut c = connected();
        assert_eq!(c.on_message("s", 1), (true, vec![]));
        assert_eq!(c.on_message("s", 2), (true, vec![]));
        assert_eq!(c.on_message("s", 2), (false, vec![]));
        assert_eq!(
            c.on_message("s", 5),
            (
                true,
                vec![Action::Repair {
                    session_id: "s".into(),
                    after_seq: 2
                }]
            )
        );
        c.seen_upto("s", 5);
        assert_eq!(c.on_message("s", 5), (false, vec![]));
        // A reconnect asks for everything after the last seq seen.
        c.on_close(1006, 0.5);
        c.on_reconnect_timer();
        assert_eq!(
            c.on_open(),
            vec![Action::Repair {
                session_id: "s".into(),
                after_seq: 5
            }]
        );
    }
}
