//! The chat client in the browser: drives [`super::machine::Client`] with a
//! real WebSocket, timers, the `online`/`offline` events, localStorage for
//! the outbox, and `fetch` for the HTTP fallback. One implementation for the
//! player widget and the agent desk; each page gets the server's frames
//! through its `on_frame` callback and renders from its own signals.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use protocol::chat::{codes, ServerFrame};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::machine::{Action, Client, Conn, OutMsg, PING_EVERY_MS, PONG_TIMEOUT_MS};
use super::ConnView;

pub struct ChatConfig {
    /// `/api/ws/chat?...` (the origin is added here).
    pub ws_path: String,
    /// The HTTP fallback for sends: `/api/chat/send_message` or `/api/cs/send_message`.
    pub http_send_path: &'static str,
    /// Where images are uploaded: `/api/chat/upload` or `/api/cs/upload`.
    pub upload_path: &'static str,
    /// A bearer token (players); staff use the session cookie.
    pub token: Option<String>,
    /// localStorage key of the outbox.
    pub storage_key: String,
}

struct Inner {
    machine: RefCell<Client>,
    socket: RefCell<Option<WebSocket>>,
    config: ChatConfig,
    on_frame: Box<dyn Fn(ServerFrame)>,
    view: RwSignal<ConnView>,
    outbox: RwSignal<Vec<OutMsg>>,
    /// The page is hydrated: the outbox may show. Until then the page
    /// must render what the server rendered, which knew no outbox.
    hydrated: std::cell::Cell<bool>,
    reconnect_at: RefCell<Option<f64>>,
    /// Keeps the socket's JS callbacks alive while it is open.
    #[allow(clippy::type_complexity)]
    callbacks: RefCell<Vec<Closure<dyn FnMut(web_sys::Event)>>>,
    /// The heartbeat and indicator timers, cleared when the page goes.
    intervals: RefCell<Vec<IntervalHandle>>,
}

/// A handle pages keep (cheap to copy into closures).
#[derive(Clone, Copy)]
pub struct ChatHandle {
    inner: StoredValue<Rc<Inner>, LocalStorage>,
    pub view: RwSignal<ConnView>,
    pub outbox: RwSignal<Vec<OutMsg>>,
}

fn now() -> f64 {
    crate::clock::now_ms()
}

/// Closes a socket this client is done with, its handlers removed first
/// (they are dropped with it; its late events must find nothing to call).
fn detach(ws: &WebSocket) {
    ws.set_onmessage(None);
    ws.set_onclose(None);
    let _ = ws.close();
}

/// The page's localStorage, if the browser gives one.
pub(crate) fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// A fresh `client_msg_id`.
pub fn new_client_id() -> String {
    format!(
        "c{}-{:08x}",
        now() as u64,
        (js_sys::Math::random() * f64::from(u32::MAX)) as u32
    )
}

impl ChatHandle {
    /// Starts the client; it connects at once and keeps reconnecting.
    pub fn start(config: ChatConfig, on_frame: impl Fn(ServerFrame) + 'static) -> ChatHandle {
        let saved: Vec<OutMsg> = storage()
            .and_then(|s| s.get_item(&config.storage_key).ok().flatten())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        let mut machine = Client::with_outbox(saved);
        machine.online = window().navigator().on_line();
        let view = RwSignal::new(ConnView {
            conn: Conn::Unknown,
            retry_in: None,
            fallback: false,
            gave_up: false,
            auth_failed: false,
            online: machine.online,
        });
        let outbox = RwSignal::new(Vec::new());
        let inner = Rc::new(Inner {
            machine: RefCell::new(machine),
            socket: RefCell::new(None),
            config,
            on_frame: Box::new(on_frame),
            view,
            outbox,
            hydrated: std::cell::Cell::new(false),
            reconnect_at: RefCell::new(None),
            callbacks: RefCell::new(Vec::new()),
            intervals: RefCell::new(Vec::new()),
        });
        let handle = ChatHandle {
            inner: StoredValue::new_local(inner),
            view,
            outbox,
        };
        let start = handle.with(|i| i.machine.borrow_mut().start());
        handle.run(start);
        let h = handle;
        // Effects run once hydration is done: a reload's saved outbox shows
        // from then on (shown while hydrating, its rows would be ones the
        // server never rendered, and hydration would fail).
        Effect::new(move |_| {
            h.with(|i| i.hydrated.set(true));
            h.sync_outbox();
        });
        let heartbeat = set_interval_with_handle(
            move || {
                let a = h.with(|i| i.machine.borrow_mut().on_heartbeat(now() as u64));
                h.run(a);
            },
            Duration::from_millis(PING_EVERY_MS),
        );
        let indicator = set_interval_with_handle(move || h.refresh_view(), Duration::from_secs(1));
        h.with(|i| {
            i.intervals
                .borrow_mut()
                .extend(heartbeat.ok().into_iter().chain(indicator.ok()))
        });
        let on = window_event_listener(leptos::ev::online, move |_| {
            let a = h.with(|i| i.machine.borrow_mut().on_online());
            h.run(a);
        });
        let off = window_event_listener(leptos::ev::offline, move |_| {
            let a = h.with(|i| i.machine.borrow_mut().on_offline());
            h.run(a);
        });
        // Leaving the page (client-side navigation) stops everything: the
        // timers, the listeners and the socket, whose handlers are detached
        // first so its close does not schedule a reconnect.
        on_cleanup(move || {
            on.remove();
            off.remove();
            h.with(|i| {
                for t in i.intervals.borrow_mut().drain(..) {
                    t.clear();
                }
                if let Some(ws) = i.socket.borrow_mut().take() {
                    detach(&ws);
                }
                i.callbacks.borrow_mut().clear();
            });
        });
        handle
    }

    /// Runs `f` on the client; a no-op (answering the default) once the
    /// page that started it is gone, for timers that fire late.
    fn with<R: Default>(&self, f: impl FnOnce(&Rc<Inner>) -> R) -> R {
        self.inner
            .try_get_value()
            .map(|inner| f(&inner))
            .unwrap_or_default()
    }

    /// Sends a message (optimistically shown from the outbox).
    pub fn send_message(&self, session_id: &str, content: &str) {
        let a = self.with(|i| {
            i.machine
                .borrow_mut()
                .send(session_id, content, new_client_id(), now())
        });
        self.run(a);
    }

    /// Uploads an image, then sends it like a message (through the outbox,
    /// so it survives what a text survives). The upload itself is not
    /// retried: `on_end` gets `None` once it is uploaded, or the HTTP status
    /// it failed with (0: no answer at all, 413: over the limit, also
    /// checked here before uploading).
    pub fn send_image(
        &self,
        session_id: &str,
        file: web_sys::File,
        on_end: impl Fn(Option<u16>) + 'static,
    ) {
        if file.size() > protocol::chat::MAX_UPLOAD_BYTES as f64 {
            on_end(Some(413));
            return;
        }
        let h = *self;
        let session_id = session_id.to_owned();
        let (path, token) = self.with(|i| (i.config.upload_path, i.config.token.clone()));
        leptos::task::spawn_local(async move {
            let kind = file.type_();
            match fetch_json(path, token.as_deref(), &file, &kind).await {
                Ok(v) => match v["data"]["upload_id"].as_str() {
                    Some(upload_id) => {
                        on_end(None);
                        let a = h.with(|i| {
                            i.machine.borrow_mut().send_image(
                                &session_id,
                                upload_id,
                                new_client_id(),
                                now(),
                            )
                        });
                        h.run(a);
                    }
                    None => on_end(Some(0)),
                },
                Err(status) => on_end(Some(status)),
            }
        });
    }

    pub fn retry(&self, client_msg_id: &str) {
        let a = self.with(|i| i.machine.borrow_mut().retry(client_msg_id));
        self.run(a);
    }

    /// Tries to connect again after the client gave up.
    pub fn reconnect_now(&self) {
        let a = self.with(|i| i.machine.borrow_mut().retry_now());
        self.run(a);
    }

    /// Drops acknowledged messages (a thread loaded afresh has them).
    pub fn forget_sent(&self) {
        self.with(|i| i.machine.borrow_mut().forget_sent(None));
        self.sync_outbox();
    }

    /// Sends any other frame; answers false when the socket is not open.
    pub fn send_frame(&self, frame: serde_json::Value) -> bool {
        self.with(|i| {
            let connected = i.machine.borrow().conn == Conn::Connected;
            match i.socket.borrow().as_ref() {
                Some(ws) if connected => ws.send_with_str(&frame.to_string()).is_ok(),
                _ => false,
            }
        })
    }

    /// Marks the messages up to `seq` of `session` as seen (history shown).
    /// Repair gaps of `session`'s thread only (the desk's open chat).
    pub fn focus(&self, session: Option<&str>) {
        self.with(|i| i.machine.borrow_mut().focus(session));
    }

    pub fn seen_upto(&self, session: &str, seq: i64) {
        self.with(|i| i.machine.borrow_mut().seen_upto(session, seq));
    }

    pub fn is_connected(&self) -> bool {
        self.with(|i| i.machine.borrow().conn == Conn::Connected)
    }

    fn refresh_view(&self) {
        self.with(|i| {
            let m = i.machine.borrow();
            let retry_in = i
                .reconnect_at
                .borrow()
                .filter(|_| m.conn == Conn::Disconnected)
                .map(|at| ((at - now()).max(0.0) / 1000.0).ceil() as u64);
            let next = ConnView {
                conn: m.conn,
                retry_in,
                fallback: m.fallback,
                gave_up: m.gave_up,
                auth_failed: m.auth_failed,
                online: m.online,
            };
            if i.view.get_untracked() != next {
                i.view.set(next);
            }
        });
    }

    /// Shows the machine's outbox, when it changed (every frame runs
    /// through here; an unchanged outbox must not redraw the thread).
    fn sync_outbox(&self) {
        self.with(|i| {
            if !i.hydrated.get() {
                return;
            }
            let m = i.machine.borrow();
            if i.outbox.with_untracked(|shown| *shown != m.outbox) {
                i.outbox.set(m.outbox.clone());
            }
        });
    }

    fn run(&self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Open => self.open(),
                Action::Close => {
                    // Closed now, not when the browser reports it: a dead
                    // connection's close event can take a minute, and a
                    // socket opened meanwhile would make it ignored, leaving
                    // what was on its way marked as sending.
                    self.with(|i| {
                        if let Some(ws) = i.socket.borrow_mut().take() {
                            detach(&ws);
                        }
                    });
                    let a = self.with(|i| {
                        i.machine
                            .borrow_mut()
                            .on_close(1006, js_sys::Math::random())
                    });
                    self.run(a);
                }
                Action::Reconnect { after_ms } => {
                    self.with(|i| *i.reconnect_at.borrow_mut() = Some(now() + after_ms as f64));
                    let h = *self;
                    set_timeout(
                        move || {
                            h.with(|i| *i.reconnect_at.borrow_mut() = None);
                            let a = h.with(|i| i.machine.borrow_mut().on_reconnect_timer());
                            h.run(a);
                        },
                        Duration::from_millis(after_ms),
                    );
                }
                Action::Send(text) => {
                    let is_ping = text.contains(r#""type":"ping""#);
                    let sent = self.with(|i| {
                        i.socket
                            .borrow()
                            .as_ref()
                            .is_some_and(|ws| ws.send_with_str(&text).is_ok())
                    });
                    if is_ping && sent {
                        let h = *self;
                        set_timeout(
                            move || {
                                let a =
                                    h.with(|i| i.machine.borrow_mut().on_heartbeat(now() as u64));
                                // Only the overdue check matters here.
                                let a = a
                                    .into_iter()
                                    .filter(|x| matches!(x, Action::Close))
                                    .collect();
                                h.run(a);
                            },
                            Duration::from_millis(PONG_TIMEOUT_MS + 50),
                        );
                    }
                }
                Action::HttpSend(m) => self.http_send(m),
                Action::Repair {
                    session_id,
                    after_seq,
                } => {
                    self.send_frame(serde_json::json!({
                        "type": "get_chat_history",
                        "data": {"session_id": session_id, "after_seq": after_seq, "limit": 100}
                    }));
                }
                Action::Persist => self.with(|i| {
                    if let Some(s) = storage() {
                        let key = &i.config.storage_key;
                        // Other tabs of the same person write this key too.
                        let stored: Vec<OutMsg> = s
                            .get_item(key)
                            .ok()
                            .flatten()
                            .and_then(|text| serde_json::from_str(&text).ok())
                            .unwrap_or_default();
                        let keep = i.machine.borrow_mut().to_store(stored);
                        if keep.is_empty() {
                            let _ = s.remove_item(key);
                        } else if let Ok(text) = serde_json::to_string(&keep) {
                            let _ = s.set_item(key, &text);
                        }
                    }
                }),
                Action::RetryLater { after_ms } => {
                    let h = *self;
                    set_timeout(
                        move || {
                            let a = h.with(|i| i.machine.borrow_mut().flush());
                            h.run(a);
                        },
                        Duration::from_millis(after_ms),
                    );
                }
                Action::AskUser => {}
            }
        }
        self.sync_outbox();
        self.refresh_view();
    }

    fn open(&self) {
        let url = self.with(|i| {
            let loc = window().location();
            let scheme = if loc.protocol().unwrap_or_default() == "https:" {
                "wss"
            } else {
                "ws"
            };
            format!(
                "{scheme}://{}{}",
                loc.host().unwrap_or_default(),
                i.config.ws_path
            )
        });
        let ws = match WebSocket::new(&url) {
            Ok(ws) => ws,
            Err(_) => {
                let a = self.with(|i| {
                    i.machine
                        .borrow_mut()
                        .on_close(1006, js_sys::Math::random())
                });
                self.run(a);
                return;
            }
        };
        let h = *self;
        let on_message = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let Ok(e) = e.dyn_into::<MessageEvent>() else {
                return;
            };
            if let Some(text) = e.data().as_string() {
                if let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) {
                    h.on_server_frame(frame);
                }
            }
        });
        let socket_for_close = ws.clone();
        let on_close = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let code = e.dyn_into::<CloseEvent>().map(|c| c.code()).unwrap_or(1006);
            // Ignore the close of a socket that was already replaced.
            let current = h.with(|i| {
                i.socket
                    .borrow()
                    .as_ref()
                    .is_some_and(|s| *s == socket_for_close)
            });
            if !current {
                return;
            }
            h.with(|i| {
                i.socket.borrow_mut().take();
            });
            let a = h.with(|i| {
                i.machine
                    .borrow_mut()
                    .on_close(code, js_sys::Math::random())
            });
            h.run(a);
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.with(|i| {
            if let Some(old) = i.socket.borrow_mut().replace(ws) {
                detach(&old);
            }
            let mut cbs = i.callbacks.borrow_mut();
            cbs.clear();
            cbs.push(on_message);
            cbs.push(on_close);
        });
    }

    fn on_server_frame(&self, frame: ServerFrame) {
        let mut actions = Vec::new();
        let mut forward = true;
        self.with(|i| {
            let mut m = i.machine.borrow_mut();
            match &frame {
                ServerFrame::Connected(_) => actions = m.on_open(),
                ServerFrame::Pong(_) => {
                    m.on_pong();
                    forward = false;
                }
                ServerFrame::MessageSent(ack) => {
                    if let Some(id) = &ack.client_msg_id {
                        actions = m.on_ack(id, ack.seq);
                    }
                }
                ServerFrame::Error(e) if e.request_type.as_deref() == Some("message") => {
                    if let Some(id) = &e.client_msg_id {
                        let retry = e.error_code == codes::SERVER_ERROR
                            || e.error_code == codes::RATE_LIMIT_EXCEEDED;
                        actions = m.on_send_failed(id, retry);
                    }
                }
                // Our acknowledged messages of that chat are gone too.
                ServerFrame::ChatHistoryCleared(c) => m.forget_sent(Some(&c.session_id)),
                ServerFrame::NewMessage(msg) => {
                    let (new, a) = m.on_message(&msg.session_id, msg.seq);
                    forward = new;
                    actions = a;
                }
                ServerFrame::ChatHistoryResponse(h) => {
                    for msg in &h.messages {
                        m.on_message(&msg.session_id, msg.seq);
                    }
                    if h.messages.len() == 100
                        && h.messages.last().is_some_and(|x| x.seq < h.last_seq)
                    {
                        actions.push(Action::Repair {
                            session_id: h.session_id.clone(),
                            after_seq: h.messages.last().map(|x| x.seq).unwrap_or(0),
                        });
                    }
                }
                _ => {}
            }
        });
        if forward {
            self.with(|i| (i.on_frame)(frame));
        }
        self.run(actions);
    }

    fn http_send(&self, m: OutMsg) {
        let h = *self;
        let (path, token) = self.with(|i| (i.config.http_send_path, i.config.token.clone()));
        leptos::task::spawn_local(async move {
            let body = super::machine::message_body(&m);
            let actions = match post_json(path, token.as_deref(), &body).await {
                Ok(v) => {
                    let seq = v["data"]["seq"].as_i64().unwrap_or(0);
                    h.with(|i| i.machine.borrow_mut().on_ack(&m.client_msg_id, seq))
                }
                Err(0) => h.with(|i| i.machine.borrow_mut().on_unreachable(&m.client_msg_id)),
                Err(429) => h.with(|i| i.machine.borrow_mut().on_throttled(&m.client_msg_id)),
                Err(status) => {
                    let retry = status >= 500;
                    h.with(|i| {
                        i.machine
                            .borrow_mut()
                            .on_send_failed(&m.client_msg_id, retry)
                    })
                }
            };
            h.run(actions);
        });
    }
}

/// POSTs JSON to the API; answers the body, or the HTTP status (0 when the
/// request could not be made at all).
pub async fn post_json(
    path: &str,
    token: Option<&str>,
    body: &serde_json::Value,
) -> Result<serde_json::Value, u16> {
    let body = wasm_bindgen::JsValue::from_str(&body.to_string());
    fetch_json(path, token, &body, "application/json").await
}

/// POSTs a body of the given type (a string, a `File`…); answers as
/// [`post_json`].
async fn fetch_json(
    path: &str,
    token: Option<&str>,
    body: &wasm_bindgen::JsValue,
    content_type: &str,
) -> Result<serde_json::Value, u16> {
    use wasm_bindgen_futures::JsFuture;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(body);
    let headers = web_sys::Headers::new().map_err(|_| 0u16)?;
    if !content_type.is_empty() {
        let _ = headers.set("Content-Type", content_type);
    }
    if let Some(t) = token {
        let _ = headers.set("Authorization", &format!("Bearer {t}"));
    }
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(path, &init).map_err(|_| 0u16)?;
    let response = JsFuture::from(window().fetch_with_request(&request))
        .await
        .map_err(|_| 0u16)?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| 0u16)?;
    let status = response.status();
    let text = match response.text() {
        Ok(p) => JsFuture::from(p).await.ok().and_then(|t| t.as_string()),
        Err(_) => None,
    };
    if !(200..300).contains(&status) {
        return Err(status);
    }
    text.and_then(|t| serde_json::from_str(&t).ok()).ok_or(0)
}

/// The files an event carries: a paste's or a drop's, or a file input's.
fn files_of(ev: &web_sys::Event) -> Option<web_sys::FileList> {
    if let Some(paste) = ev.dyn_ref::<web_sys::ClipboardEvent>() {
        return paste.clipboard_data()?.files();
    }
    if let Some(drop) = ev.dyn_ref::<web_sys::DragEvent>() {
        return drop.data_transfer()?.files();
    }
    ev.target()?
        .dyn_into::<web_sys::HtmlInputElement>()
        .ok()
        .filter(|i| i.type_() == "file")?
        .files()
}

/// Whether a paste or a drop brings a file (text pasted stays text).
pub fn carries_file(ev: &web_sys::Event) -> bool {
    files_of(ev).is_some_and(|f| f.length() > 0)
}

/// The file an event brings (see [`files_of`]); a file input is emptied so
/// that picking the same file again is a change too.
pub fn picked_file(ev: &web_sys::Event) -> Option<web_sys::File> {
    let file = files_of(ev)?.get(0);
    if let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .filter(|i| i.type_() == "file")
    {
        input.set_value("");
    }
    file
}
