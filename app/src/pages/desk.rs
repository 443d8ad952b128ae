//! The agent's chat desk at `/desk`, for every staff role. Three columns:
//! - the chat list: the waiting queue (how long each player has waited),
//!   the agent's own chats and the others (ended, or held by a colleague),
//!   each with its unread badge, importance star, last message and time,
//!   under one filter (all / unread / important / ended);
//! - the open conversation: older pages load as the agent scrolls up, days
//!   are separated, our messages show pending / sent / failed (with retry),
//!   system notices sit in the thread, the player's typing shows; actions
//!   accept, transfer (to an online colleague, with status and load), end,
//!   mark important, mark read, clear history;
//! - the player's record with the `cs_recharge` form ([`super::desk_player`]).
//!
//! The header holds the agent's status, the auto-accept switch, the sound
//! and desktop-notification switches and the connection indicator. A
//! message in a chat the agent is not looking at (or while the tab is
//! hidden) raises the unread badge, the count in the tab title, a tone
//! (unless switched off) and a desktop notification (if allowed).
//!
//! The open chat is in the address (`/desk?chat=<session id>`): a reload or
//! a link opens it again, and the browser's Back goes from a chat to the
//! list. Opening a chat from the list adds a history entry; going from one
//! chat to the next (a click, Alt+↓) replaces it, so Back always means "to
//! the list" (on a phone, where the list and the chat are two screens, that
//! is what Back is expected to do), and a chat closed under the agent
//! (transferred away) leaves the address without adding an entry.
//!
//! Everything arrives over the chat socket (the session cookie
//! authenticates it); sends fall back to HTTP when the socket cannot be
//! opened. Admins and super admins list every chat (`scope: all`) and may
//! open any of them read-only; they write only in chats they hold.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::wasm_bindgen::JsValue;
use leptos_i18n::I18nContext;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::location::State;
use leptos_router::NavigateOptions;
use protocol::chat::{
    message_preview, ChatMessage, OnlineStaff, SenderType, ServerFrame, SessionSummary,
};
use protocol::UserInfo;

use crate::chat::alert;
use crate::chat::view::{list_time, merge, Composer, ConnIndicator, ImagePicked, ThreadView};
use crate::chat::Live;
use crate::i18n::*;
use crate::nav::{link_at, Section};
use crate::pages::desk_player::PlayerPanel;
use crate::pages::desk_replies::QuickReplies;
use crate::pages::players::field_label;
use crate::pages::shell::section_label;
use crate::reason::reason_text;

/// The history state of an open chat's entry added over the list's (see
/// `pushed` in [`DeskPage`]).
const OVER_LIST: &str = "kefu.desk.over-list";

const STATUSES: [&str; 4] = ["online", "busy", "away", "offline"];
/// Messages per page of history (newest page on open, then older ones).
const PAGE: i64 = 50;
/// The chats listed at once (the server's maximum for one request).
const LIST_LIMIT: i64 = 500;
/// How long the desk gathers changes before it asks for the chat list again.
const REFRESH_DELAY_MS: u64 = 150;
const SOUND_KEY: &str = "kefu.desk.sound";
/// The `page` older-page requests carry (with `before_seq` the server does
/// not use it, but echoes it): it tells their answers from the others.
const OLDER_TAG: i64 = 2;

/// What the open chat's header is drawn from (see `shape` in [`DeskPage`]).
#[derive(Clone, PartialEq, Eq)]
struct Head {
    session_id: String,
    user_account: String,
    cs_account: Option<String>,
    status: String,
    /// The agent holds the chat and may write in it.
    mine: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    Unread,
    Important,
    Ended,
}

impl Filter {
    pub fn keeps(self, s: &SessionSummary) -> bool {
        match self {
            Filter::All => true,
            Filter::Unread => s.unread_count > 0,
            Filter::Important => s.is_important,
            Filter::Ended => s.status == "ended",
        }
    }
}

/// A message preview in the reader's language: the server stores an
/// image's as "[图片]" (`protocol::chat::IMAGE_PREVIEW`).
pub fn preview_in(locale: Locale, preview: &str) -> String {
    if preview == protocol::chat::IMAGE_PREVIEW {
        td_string!(locale, chat.image_preview).to_string()
    } else {
        preview.to_owned()
    }
}

/// Whether a chat matches the search box: its player's account or its
/// agent's name contains `query` (already trimmed and lowercased), in any
/// case; an empty query matches every chat.
pub fn found(s: &SessionSummary, query: &str) -> bool {
    let has = |text: &str| text.to_lowercase().contains(query);
    query.is_empty() || has(&s.user_account) || s.cs_account.as_deref().is_some_and(has)
}

/// The unread messages the tab title counts: those of the chats `me`
/// holds (the queue has its own list and its own alert).
pub fn unread_total(sessions: &[SessionSummary], me: &str) -> i64 {
    sessions
        .iter()
        .filter(|s| s.status == "active" && s.cs_account.as_deref() == Some(me))
        .map(|s| s.unread_count.max(0))
        .sum()
}

/// Whole minutes between two instants (ms), never negative.
pub fn minutes_between(from_ms: f64, to_ms: f64) -> i64 {
    ((to_ms - from_ms) / 60_000.0).floor().max(0.0) as i64
}

fn frame(kind: &str, data: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"type": kind, "data": data})
}

#[component]
pub fn DeskPage(me: UserInfo) -> AnyView {
    let i18n = use_i18n();
    let sessions = RwSignal::new(Vec::<SessionSummary>::new());
    let filter = RwSignal::new(Filter::All);
    let selected = RwSignal::new(None::<String>);
    let thread = RwSignal::new(BTreeMap::<i64, ChatMessage>::new());
    let has_older = RwSignal::new(false);
    let loading_older = RwSignal::new(false);
    // The open chat's newest page has not arrived yet (asked again on reconnect).
    let awaiting_first = RwSignal::new(false);
    let typing = RwSignal::new(false);
    let my_status = RwSignal::new("online".to_owned());
    let auto_accept = RwSignal::new(false);
    let colleagues = RwSignal::new(None::<Vec<OnlineStaff>>);
    let sound_on = RwSignal::new(true);
    let notify_on = RwSignal::new(None::<bool>);
    // Alerts raised and tones played (shown as data attributes for tests).
    let alerts = RwSignal::new(0u32);
    let chimes = RwSignal::new(0u32);
    let now = RwSignal::new(0.0f64);
    // A line above the thread: (true, a refused action) or (false, news
    // about the open chat, such as its transfer).
    let notice = RwSignal::new(None::<(bool, String)>);
    let capacity = RwSignal::new(None::<i64>);
    let needs_read = RwSignal::new(false);
    let needs_refresh = RwSignal::new(false);
    // Opens a chat (set once `open_chat` exists; notifications use it).
    let opener = StoredValue::new(None::<Callback<String>>);
    let me_name = me.username.clone();
    let scope_all = me.is_admin || me.is_super;
    // The message box's text (quick replies put theirs there), and what
    // was left unsent in the other chats, each kept for its chat.
    let draft = RwSignal::new(String::new());
    let drafts = StoredValue::new(std::collections::HashMap::<String, String>::new());

    // The open chat in the address (see the module docs).
    let query = use_query_map();
    let url_chat = Memo::new(move |_| query.with(|q| q.get("chat")).filter(|c| !c.is_empty()));
    let navigate = StoredValue::new(use_navigate());
    // The open chat's history entry was added over the list's, so the entry
    // before it is the list's: the in-page "back" goes back to it rather
    // than adding one. Such an entry carries a mark in its history state,
    // which the browser keeps across a reload and Back/Forward.
    let pushed = StoredValue::new(false);
    // The page asked the browser to go back to the list's entry and the
    // address has not changed yet (the browser does it a moment later). A
    // chat opened meanwhile (Alt+↓ right after "返回列表") is put into the
    // address once the list's entry is reached, not written over the entry
    // being left (which the browser would then leave, closing that chat).
    let backing = StoredValue::new(false);
    let show_in_address = move |chat: Option<String>| {
        if backing.get_value() {
            return;
        }
        let shown = url_chat.get_untracked();
        if shown == chat {
            return;
        }
        // A chat opened from the list is one step deeper; anything else
        // takes the place of what the address said.
        let replace = shown.is_some() || chat.is_none();
        let over_list = chat.is_some() && (!replace || pushed.get_value());
        pushed.set_value(over_list);
        let href =
            query.with_untracked(|q| link_at("/desk", q, &[("chat", chat.unwrap_or_default())]));
        let state = if over_list {
            State::new(Some(JsValue::from_str(OVER_LIST)))
        } else {
            State::default()
        };
        navigate.with_value(|go| {
            go(
                &href,
                NavigateOptions {
                    replace,
                    scroll: false,
                    state,
                    ..Default::default()
                },
            )
        });
    };
    // The address no longer names a chat: back to the list's own entry when
    // this page added the chat's (so no second list entry is left behind),
    // else in its place.
    let leave_address = move || {
        if pushed.get_value() {
            pushed.set_value(false);
            if let Ok(h) = window().history() {
                if h.back().is_ok() {
                    backing.set_value(true);
                    // Should the browser not move (no entry before after
                    // all), the address catches up with the page anyway.
                    set_timeout(
                        move || {
                            if backing.try_get_value() == Some(true) {
                                backing.set_value(false);
                                show_in_address(selected.get_untracked());
                            }
                        },
                        std::time::Duration::from_secs(1),
                    );
                    return;
                }
            }
        }
        show_in_address(None);
    };
    let account_of = move |id: &str| {
        sessions.with_untracked(|l| {
            l.iter()
                .find(|s| s.session_id == id)
                .map(|s| s.user_account.clone())
                .unwrap_or_default()
        })
    };
    // A new list; a chat open on screen that is no longer in it (transferred
    // away, taken by a colleague) is closed rather than left stale. A list
    // cut at its limit may just not reach it: then it stays.
    let set_list = move |list: Vec<SessionSummary>| {
        let gone = selected.with_untracked(|open| {
            open.as_ref().is_some_and(|id| {
                (list.len() as i64) < LIST_LIMIT && !list.iter().any(|s| &s.session_id == id)
            })
        });
        sessions.set(list);
        if gone {
            selected.set(None);
            leave_address();
        }
    };
    let on_frame = {
        let me_name = me_name.clone();
        move |f: ServerFrame| {
            let open = selected.get_untracked();
            let is_open = |id: &str| open.as_deref() == Some(id);
            match f {
                ServerFrame::Connected(_) => needs_refresh.set(true),
                // The greeting's list holds the open chats only (not an
                // ended one being read, nor what an admin watches): the
                // full list that follows decides what is gone.
                ServerFrame::SessionListUpdated(l) => sessions.set(l.sessions),
                ServerFrame::SessionsResponse(p) => set_list(p.sessions),
                ServerFrame::NewSessionCreated(_)
                | ServerFrame::SessionStatusChanged(_)
                | ServerFrame::SessionEnded(_) => needs_refresh.set(true),
                ServerFrame::SessionAccepted(a) => {
                    if is_open(&a.session_id) && a.cs_account != me_name {
                        let account = account_of(&a.session_id);
                        let text =
                            t_string!(i18n, chat.taken, account = account, agent = a.cs_account);
                        notice.set(Some((false, text.to_string())));
                    }
                    needs_refresh.set(true);
                }
                ServerFrame::SessionTransferred(t) => {
                    let news = if t.from_cs_account == me_name {
                        Some(
                            t_string!(
                                i18n,
                                chat.transferred_out,
                                account = t.user_account.clone(),
                                to = t.to_cs_account.clone()
                            )
                            .to_string(),
                        )
                    } else if t.to_cs_account == me_name {
                        Some(
                            t_string!(
                                i18n,
                                chat.transferred_in,
                                from = t.from_cs_account.clone(),
                                account = t.user_account.clone()
                            )
                            .to_string(),
                        )
                    } else {
                        None
                    };
                    if let Some(text) = news {
                        notice.set(Some((false, text)));
                    }
                    if is_open(&t.session_id) {
                        thread.update(|th| {
                            th.extend(t.recent_messages.into_iter().map(|m| (m.seq, m)))
                        });
                    }
                    needs_refresh.set(true);
                }
                ServerFrame::NewMessage(m) => {
                    let mut known = false;
                    sessions.update(|list| {
                        if let Some(s) = list.iter_mut().find(|s| s.session_id == m.session_id) {
                            known = true;
                            s.last_message = message_preview(&m.content, &m.content_type, 100);
                            s.last_message_time = Some(m.sent_at.clone());
                            s.last_seq = m.seq;
                        }
                    });
                    if !known {
                        needs_refresh.set(true);
                    }
                    let from_player = m.sender_type == SenderType::User;
                    let looking = is_open(&m.session_id) && !alert::page_hidden();
                    // Alerts are for the queue and the chats one holds, not for
                    // every chat an admin can see.
                    let concerns_me = sessions.with_untracked(|l| {
                        l.iter().any(|s| {
                            s.session_id == m.session_id
                                && (s.status == "pending"
                                    || s.cs_account.as_deref() == Some(me_name.as_str()))
                        })
                    });
                    if from_player && !looking && concerns_me {
                        alerts.update(|n| *n += 1);
                        if sound_on.get_untracked() && alert::chime() {
                            chimes.update(|n| *n += 1);
                        }
                        let chat = m.session_id.clone();
                        alert::notify(
                            &t_string!(i18n, chat.new_message, who = m.sender_account.clone())
                                .to_string(),
                            &preview_in(
                                i18n.get_locale_untracked(),
                                &message_preview(&m.content, &m.content_type, 80),
                            ),
                            &m.session_id,
                            // Clicked maybe long after, the desk gone.
                            move || {
                                if let Some(open) = opener.try_get_value().flatten() {
                                    open.try_run(chat);
                                }
                            },
                        );
                    }
                    if is_open(&m.session_id) {
                        if from_player {
                            needs_read.set(true);
                            typing.set(false);
                        }
                        thread.update(|t| {
                            t.insert(m.seq, m);
                        });
                    }
                }
                // The recount is what admins hear when the agent reads.
                ServerFrame::UnreadCountUpdated(u)
                | ServerFrame::UnreadCountAbsoluteUpdate(u)
                | ServerFrame::UnreadCountRecalculated(u) => {
                    sessions.update(|list| {
                        if let Some(s) = list.iter_mut().find(|s| s.session_id == u.session_id) {
                            s.unread_count = u.unread_count;
                        }
                    });
                }
                ServerFrame::SessionReadSuccess(r) => sessions.update(|list| {
                    if let Some(s) = list.iter_mut().find(|s| s.session_id == r.session_id) {
                        s.unread_count = 0;
                    }
                }),
                ServerFrame::ChatHistoryResponse(h) if is_open(&h.session_id) => {
                    if h.page == OLDER_TAG {
                        loading_older.set(false);
                        has_older.set(h.messages.len() as i64 == PAGE);
                    } else if awaiting_first.get_untracked() {
                        // The newest page: is there anything before it?
                        awaiting_first.set(false);
                        has_older.set(h.messages.first().is_some_and(|m| m.seq > 1));
                    }
                    thread.update(|t| t.extend(h.messages.into_iter().map(|m| (m.seq, m))));
                }
                ServerFrame::ChatHistoryCleared(c) if is_open(&c.session_id) => {
                    thread.update(BTreeMap::clear);
                    has_older.set(false);
                }
                ServerFrame::SessionImportanceUpdated(i) => sessions.update(|list| {
                    if let Some(s) = list.iter_mut().find(|s| s.session_id == i.session_id) {
                        s.is_important = i.is_important;
                    }
                }),
                ServerFrame::Typing(t) if is_open(&t.session_id) => {
                    typing.set(t.is_typing);
                    if t.is_typing {
                        set_timeout(move || typing.set(false), std::time::Duration::from_secs(5));
                    }
                }
                ServerFrame::CsStatusUpdateSuccess(s) => my_status.set(s.status),
                ServerFrame::CsStatusResponse(s) => {
                    my_status.set(s.status);
                    capacity.set(Some(s.capacity));
                    auto_accept.set(s.auto_accept);
                }
                ServerFrame::AutoAcceptUpdated(a) => auto_accept.set(a.enabled),
                // A refused action (a message's failure shows on the message).
                ServerFrame::Error(e) if e.request_type.as_deref() != Some("message") => {
                    use protocol::chat::codes;
                    notice.set(Some((
                        true,
                        error_text(i18n, &e.error_code, &e.error_message),
                    )));
                    // The chat moved under us: show it as it is now.
                    if [codes::PERMISSION_DENIED, codes::SESSION_NOT_FOUND]
                        .contains(&e.error_code.as_str())
                    {
                        // The chat being opened (a link, an old address) is
                        // not one this agent may read: it closes, with the
                        // notice saying why, rather than being asked for again
                        // on every refresh.
                        if e.request_type.as_deref() == Some("get_chat_history")
                            && awaiting_first.get_untracked()
                        {
                            awaiting_first.set(false);
                            selected.set(None);
                            leave_address();
                        }
                        needs_refresh.set(true);
                    }
                }
                ServerFrame::OnlineStaffResponse(list) => colleagues.set(Some(
                    list.staff
                        .into_iter()
                        .filter(|s| s.cs_account != me_name && s.status != "offline")
                        .collect(),
                )),
                _ => {}
            }
        }
    };

    #[cfg(feature = "hydrate")]
    let live: Live = crate::chat::browser::ChatHandle::start(
        crate::chat::browser::ChatConfig {
            ws_path: "/api/ws/chat?user_type=customer_service".to_owned(),
            http_send_path: "/api/cs/send_message",
            upload_path: "/api/cs/upload",
            token: None,
            storage_key: format!("kefu.outbox.staff.{}", me.username),
        },
        on_frame,
    );
    #[cfg(not(feature = "hydrate"))]
    let live: Live = {
        let _ = &on_frame;
        Live::inert()
    };

    // Gaps are repaired for the open chat only; the lists reload on reconnect.
    live.focus(None);
    // A chat closed under the agent (see `set_list`) is no longer followed.
    Effect::new(move |was: Option<bool>| {
        let open = selected.with(Option::is_some);
        if was == Some(true) && !open {
            live.focus(None);
        }
        open
    });

    // Browser-only state, read after hydration so the first render matches
    // the server's.
    Effect::new(move |_| {
        let sound = alert::load_flag(SOUND_KEY, true);
        sound_on.set(sound);
        if sound {
            request_idle_callback(alert::warm_up);
        }
        notify_on.set(alert::notifications_allowed());
        now.set(crate::clock::now_ms());
    });
    #[cfg(feature = "hydrate")]
    {
        if let Ok(tick) = set_interval_with_handle(
            move || now.set(crate::clock::now_ms()),
            std::time::Duration::from_secs(15),
        ) {
            on_cleanup(move || tick.clear());
        }
    }

    // A burst of changes (auto-accept handing out five chats sends a dozen
    // frames) asks for the list once, not once per frame: the socket allows
    // 20 frames a second.
    let refresh_due = StoredValue::new(false);
    let refresh = move || {
        // The desk may have been left while the refresh waited.
        if refresh_due.is_disposed() || needs_refresh.is_disposed() {
            return;
        }
        refresh_due.set_value(false);
        if needs_refresh.get_untracked() {
            needs_refresh.set(false);
            let mut data = serde_json::json!({"page": 1, "limit": LIST_LIMIT});
            if scope_all {
                data["scope"] = "all".into();
            }
            live.send_frame(frame("get_sessions", data));
            live.send_frame(frame("get_cs_status", serde_json::json!({})));
            // An open chat whose first page never came (asked while the
            // socket was down) is asked for again.
            if let Some(id) = selected.get_untracked() {
                if awaiting_first.get_untracked() {
                    live.send_frame(frame(
                        "get_chat_history",
                        serde_json::json!({"session_id": id, "limit": PAGE}),
                    ));
                }
            }
        }
    };
    Effect::new(move |_| {
        if needs_refresh.get() && !refresh_due.get_value() {
            refresh_due.set_value(true);
            set_timeout(refresh, std::time::Duration::from_millis(REFRESH_DELAY_MS));
        }
    });
    let current = Memo::new(move |_| {
        let id = selected.get()?;
        sessions.with(|l| l.iter().find(|s| s.session_id == id).cloned())
    });
    let holds = {
        let me_name = me_name.clone();
        move |s: &SessionSummary| {
            s.status == "active" && s.cs_account.as_deref() == Some(me_name.as_str())
        }
    };
    let can_write = {
        let holds = holds.clone();
        Signal::derive(move || current.with(|c| c.as_ref().is_some_and(&holds)))
    };
    let mark_read = move |id: &str| {
        if can_write.get_untracked() {
            live.send_frame(frame(
                "mark_session_read",
                serde_json::json!({"session_id": id}),
            ));
        }
    };
    Effect::new(move |_| {
        if needs_read.get() {
            needs_read.set(false);
            if let Some(id) = selected.get_untracked() {
                if !alert::page_hidden() {
                    mark_read(&id);
                }
            }
        }
    });
    // Coming back to the tab: the open chat's new messages are on screen now.
    #[cfg(feature = "hydrate")]
    {
        let back = window_event_listener_untyped("visibilitychange", move |_| {
            if !alert::page_hidden() {
                needs_read.set(true);
            }
        });
        on_cleanup(move || back.remove());
    }
    // A chat that becomes ours while open (accepted, transferred to us)
    // has been read.
    Effect::new(move |was: Option<bool>| {
        let now_mine = can_write.get();
        if now_mine && was == Some(false) {
            if let Some(id) = selected.get_untracked() {
                mark_read(&id);
            }
        }
        now_mine
    });
    // What the agent typed stays with the chat they leave.
    let keep_draft = move || {
        let left = draft.get_untracked();
        drafts.update_value(|d| {
            if let Some(old) = selected.get_untracked() {
                if left.trim().is_empty() {
                    d.remove(&old);
                } else {
                    d.insert(old, left);
                }
            }
        });
    };
    // Back to the list (a phone shows one of the two at a time).
    let leave_chat = move || {
        keep_draft();
        draft.set(String::new());
        selected.set(None);
        colleagues.set(None);
        notice.set(None);
        live.focus(None);
    };
    // The in-page "back": to the list's own history entry when this page
    // added the chat's, so Forward opens the chat again.
    let close_chat = move |_| {
        leave_chat();
        leave_address();
    };
    let open_chat = Callback::new(move |id: String| {
        keep_draft();
        draft.set(
            drafts
                .with_value(|d| d.get(&id).cloned())
                .unwrap_or_default(),
        );
        // The thread loads afresh and holds what we sent before now.
        live.forget_sent();
        selected.set(Some(id.clone()));
        thread.set(BTreeMap::new());
        has_older.set(false);
        loading_older.set(false);
        awaiting_first.set(true);
        typing.set(false);
        colleagues.set(None);
        notice.set(None);
        live.focus(Some(&id));
        live.send_frame(frame(
            "get_chat_history",
            serde_json::json!({"session_id": id, "limit": PAGE}),
        ));
        mark_read(&id);
        show_in_address(Some(id));
    });
    opener.set_value(Some(open_chat));
    // The address changed under the page (Back, Forward, a link, the first
    // load): the chat it names opens, or the list shows.
    Effect::watch(
        move || url_chat.get(),
        move |chat, _, _| {
            if backing.get_value() {
                backing.set_value(false);
                // Back at the list's entry with a chat opened on the way:
                // that chat gets an entry of its own over the list's.
                if chat.is_none() {
                    if let Some(open) = selected.get_untracked() {
                        show_in_address(Some(open));
                        return;
                    }
                }
            }
            if *chat == selected.get_untracked() {
                return;
            }
            match chat {
                Some(id) => {
                    open_chat.run(id.clone());
                    // Whether the entry before this one is the list's.
                    let mark = window().history().and_then(|h| h.state()).ok();
                    pushed
                        .set_value(mark.and_then(|m| m.as_string()).as_deref() == Some(OVER_LIST));
                }
                None => {
                    leave_chat();
                    pushed.set_value(false);
                }
            }
        },
        true,
    );
    // Keyboard: Alt+↓ / Alt+↑ open the next / previous chat of the list as
    // it is shown (groups, filter and search applied), from anywhere on the
    // page, the composer too; each chat keeps its draft. Not while a dialog
    // of the page is open.
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let step = window_event_listener(leptos::ev::keydown, move |ev| {
            let down = match ev.key().as_str() {
                "ArrowDown" => true,
                "ArrowUp" => false,
                _ => return,
            };
            if !ev.alt_key() || ev.ctrl_key() || ev.meta_key() || ev.shift_key() {
                return;
            }
            let doc = document();
            if doc.query_selector("dialog[open]").ok().flatten().is_some() {
                return;
            }
            let Ok(items) = doc.query_selector_all(".desk-list [data-session]") else {
                return;
            };
            let ids: Vec<String> = (0..items.length())
                .filter_map(|i| {
                    items
                        .item(i)?
                        .dyn_into::<web_sys::Element>()
                        .ok()?
                        .get_attribute("data-session")
                })
                .collect();
            let Some(last) = ids.len().checked_sub(1) else {
                return;
            };
            ev.prevent_default();
            let at = selected
                .get_untracked()
                .and_then(|s| ids.iter().position(|i| *i == s));
            let next = match (at, down) {
                (None, true) => 0,
                (None, false) => last,
                (Some(i), true) => (i + 1).min(last),
                (Some(i), false) => i.saturating_sub(1),
            };
            if Some(next) != at {
                open_chat.run(ids[next].clone());
            }
        });
        on_cleanup(move || step.remove());
    }
    let on_older = Callback::new(move |_: ()| {
        let (Some(id), Some(oldest)) = (
            selected.get_untracked(),
            thread.with_untracked(|t| t.keys().next().copied()),
        ) else {
            return;
        };
        if loading_older.get_untracked() {
            return;
        }
        // Not sent (socket down): the next scroll or click asks again.
        loading_older.set(live.send_frame(frame(
            "get_chat_history",
            serde_json::json!({"session_id": id, "before_seq": oldest, "limit": PAGE, "page": OLDER_TAG}),
        )));
    });
    let items = Signal::derive(move || {
        let s = selected.get().unwrap_or_default();
        thread.with(|t| live.outbox.with(|o| merge(t, o, &s)))
    });
    let on_send = Callback::new(move |text: String| {
        if let Some(id) = selected.get_untracked() {
            live.send_message(&id, &text);
        }
    });
    let on_image = Callback::new(move |(ev, failed): ImagePicked| {
        #[cfg(feature = "hydrate")]
        if let (Some(id), Some(file)) = (
            selected.get_untracked(),
            crate::chat::browser::picked_file(&ev),
        ) {
            failed.set(Some(crate::chat::view::UPLOADING));
            live.send_image(&id, file, move |end| failed.set(end));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, failed);
    });
    let last_typing = StoredValue::new(0u64);
    let on_typing = Callback::new(move |_: ()| {
        if let Some(id) = selected.get_untracked() {
            let tick = last_typing.get_value() + 1;
            last_typing.set_value(tick);
            // One indicator every few keystrokes is plenty.
            if tick % 10 == 1 {
                live.send_frame(frame(
                    "typing",
                    serde_json::json!({"session_id": id, "is_typing": true}),
                ));
            }
        }
    });
    let act = move |kind: &'static str| {
        if let Some(id) = selected.get_untracked() {
            live.send_frame(frame(kind, serde_json::json!({"session_id": id})));
        }
    };

    // ---- the chat list ----
    let search = RwSignal::new(String::new());
    let query = move || search.get().trim().to_lowercase();
    let group = |title: String,
                 testid: &'static str,
                 keep: Box<dyn Fn(&SessionSummary) -> bool + Send + Sync>| {
        // A chat is listed here when it is of the group, the filter's, and
        // the search's.
        let shown = std::sync::Arc::new(move |s: &SessionSummary, f: Filter, q: &str| {
            keep(s) && f.keeps(s) && found(s, q)
        });
        let shown_rows = shown.clone();
        let empty = move || {
            let (f, q) = (filter.get(), query());
            sessions.with(|l| !l.iter().any(|s| shown(s, f, &q)))
        };
        let rows = move || {
            let (f, q) = (filter.get(), query());
            sessions.with(|l| {
                // In the server's order: the queue's longest wait first.
                l.iter()
                    .filter(|s| shown_rows(s, f, &q))
                    .cloned()
                    .collect::<Vec<_>>()
            })
        };
        view! {
            <section class="desk-group" data-testid=testid>
                <h2>{title}</h2>
                <ul>
                    <For each=rows key=|s| (s.session_id.clone(), s.status.clone(), s.unread_count, s.last_seq, s.is_important, s.cs_account.clone()) let:s>
                        {
                            let id = s.session_id.clone();
                            let id2 = id.clone();
                            let active = move || selected.get().as_deref() == Some(id2.as_str());
                            let pending = s.status == "pending";
                            let created = waiting_since(&s).to_owned();
                            let waited = move || {
                                let (n, t) = (now.get(), crate::clock::epoch_ms(&created));
                                t.filter(|_| n > 0.0).map(|t| {
                                    t_string!(i18n, chat.waiting, mins = minutes_between(t, n).to_string())
                                        .to_string()
                                })
                            };
                            view! {
                                <li
                                    class="session-item"
                                    class:selected=active.clone()
                                    data-testid="session-item"
                                    data-session=s.session_id.clone()
                                    data-status=s.status.clone()
                                    data-important=s.is_important.to_string()
                                    aria-current=move || active().then_some("true")
                                    tabindex="0"
                                    on:click={
                                        let id = id.clone();
                                        move |_| open_chat.run(id.clone())
                                    }
                                    // Reachable with Tab, opened with Enter or Space.
                                    on:keydown=move |ev| {
                                        if ev.target() == ev.current_target() && matches!(ev.key().as_str(), "Enter" | " ") {
                                            ev.prevent_default();
                                            open_chat.run(id.clone());
                                        }
                                    }
                                >
                                    <span class="session-who">
                                        {s.is_important.then_some("★ ")}
                                        {s.user_account.clone()}
                                    </span>
                                    {(s.unread_count > 0).then(|| view! {
                                        <span class="badge" data-testid="unread">{s.unread_count}</span>
                                    })}
                                    <span class="session-last muted">
                                        {let last = s.last_message.clone();
                                         move || preview_in(i18n.get_locale(), &last)}
                                    </span>
                                    <span class="session-time muted">
                                        {let at = s.last_message_time.clone().unwrap_or_else(|| s.created_at.clone());
                                         move || list_time(&at, now.get())}
                                    </span>
                                    {pending.then(|| view! { <span class="session-wait muted" data-testid="waited">{waited}</span> })}
                                    {(!pending).then(|| s.cs_account.clone().map(|a| view! { <span class="session-agent muted">{a}</span> })).flatten()}
                                </li>
                            }
                        }
                    </For>
                    {move || empty().then(|| view! { <li class="muted session-none">{t!(i18n, chat.none_here)}</li> })}
                </ul>
            </section>
        }
        .into_any()
    };
    let filters = [
        (Filter::All, "all"),
        (Filter::Unread, "unread"),
        (Filter::Important, "important"),
        (Filter::Ended, "ended"),
    ];
    let filter_bar = view! {
        <div class="desk-filter" role="group" data-testid="desk-filter">
            {filters.into_iter().map(|(f, name)| view! {
                <button
                    class="button small"
                    class:on=move || filter.get() == f
                    aria-pressed=move || (filter.get() == f).to_string()
                    data-testid=format!("filter-{name}")
                    on:click=move |_| filter.set(f)
                >
                    {move || match f {
                        Filter::All => t_string!(i18n, chat.filter_all).to_string(),
                        Filter::Unread => t_string!(i18n, chat.filter_unread).to_string(),
                        Filter::Important => t_string!(i18n, chat.filter_important).to_string(),
                        Filter::Ended => t_string!(i18n, chat.filter_ended).to_string(),
                    }}
                </button>
            }).collect_view()}
            <input type="search" class="desk-search" data-testid="desk-search"
                placeholder=move || t_string!(i18n, chat.search).to_string()
                aria-label=move || t_string!(i18n, chat.search).to_string()
                prop:value=move || search.get()
                on:input=move |ev| search.set(event_target_value(&ev))/>
        </div>
    };
    let list = {
        let holds_mine = holds.clone();
        let holds_other = holds.clone();
        view! {
            <aside class="desk-list">
                {filter_bar}
                // One's own chats first: with a long queue they would
                // otherwise sit below it, out of sight.
                {group(t_string!(i18n, chat.mine).to_string(), "mine", Box::new(move |s| holds_mine(s)))}
                {group(t_string!(i18n, chat.queue).to_string(), "queue", Box::new(|s| s.status == "pending"))}
                {group(t_string!(i18n, chat.ended_list).to_string(), "others", Box::new(move |s| s.status != "pending" && !holds_other(s)))}
                <p class="muted desk-keys" data-testid="desk-keys">{t!(i18n, chat.keys)}</p>
            </aside>
        }
    };

    // ---- the header ----
    let title = section_label(i18n, Section::Desk);
    // The tab title counts unread messages in the browser. On the server
    // it is a plain string: leptos_meta reads titles after the render,
    // outside the page's reactive arena, where reading a signal can panic
    // (no unread message is counted at that point anyway).
    let tab_title: leptos::text_prop::TextProp = if cfg!(feature = "ssr") {
        title.clone().into()
    } else {
        let (title, me_name) = (title.clone(), me_name.clone());
        (move || {
            let n = sessions.with(|l| unread_total(l, &me_name));
            if n > 0 {
                t_string!(
                    i18n,
                    chat.unread_title,
                    n = n.to_string(),
                    title = title.clone()
                )
                .to_string()
            } else {
                title.clone()
            }
        })
        .into()
    };
    let ask_notify = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            notify_on.set(alert::ask_notifications().await);
        });
    };
    let holds_load = holds.clone();
    let head = view! {
        <Title text=tab_title/>
        <div class="desk-head" data-alerts=move || alerts.get() data-chimes=move || chimes.get()>
            <h1 data-testid="page-title">{title}</h1>
            <ConnIndicator live/>
            <label>
                {t!(i18n, chat.status)}" "
                <select
                    data-testid="my-status"
                    prop:value=move || my_status.get()
                    on:change=move |ev| {
                        let status = event_target_value(&ev);
                        live.send_frame(frame("update_cs_status", serde_json::json!({"status": status})));
                    }
                >
                    {STATUSES.into_iter().map(|s| view! {
                        <option value=s>{move || status_label(i18n, s)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                <input
                    type="checkbox"
                    data-testid="auto-accept"
                    prop:checked=move || auto_accept.get()
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        live.send_frame(frame("set_auto_accept", serde_json::json!({"enabled": on})));
                    }
                />
                " "{t!(i18n, chat.auto_accept)}
            </label>
            <span class="muted" data-testid="my-load">{move || capacity.get().map(|cap| {
                let load = sessions.with(|l| l.iter().filter(|s| holds_load(s)).count()) as i64;
                let text = t_string!(i18n, chat.my_load, load = load.to_string(), cap = cap.to_string()).to_string();
                if load >= cap { format!("{text}{}", t_string!(i18n, chat.full)) } else { text }
            })}</span>
            <label>
                <input
                    type="checkbox"
                    data-testid="sound"
                    prop:checked=move || sound_on.get()
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        sound_on.set(on);
                        alert::save_flag(SOUND_KEY, on);
                        if on {
                            alert::warm_up();
                        }
                    }
                />
                " "{t!(i18n, chat.sound)}
            </label>
            {move || match notify_on.get() {
                Some(true) => view! { <span class="muted" data-testid="notify-state">"🔔 "{t!(i18n, chat.notify)}</span> }.into_any(),
                Some(false) => view! { <span class="muted" data-testid="notify-state">{t!(i18n, chat.notify_denied)}</span> }.into_any(),
                None => view! {
                    <button class="button link" data-testid="notify-ask" on:click=ask_notify>{t!(i18n, chat.notify)}</button>
                }.into_any(),
            }}
        </div>
    }
    .into_any();

    // ---- the conversation ----
    let toggle_important = move |_| {
        if let Some(s) = current.get_untracked() {
            live.send_frame(frame(
                "set_session_importance",
                serde_json::json!({"session_id": s.session_id, "is_important": !s.is_important}),
            ));
        }
    };
    let confirm = crate::confirm::use_confirm();
    let clear = move |_| {
        // The chat asked about, not whichever is open when "yes" is pressed.
        let Some(id) = selected.get_untracked() else {
            return;
        };
        confirm.ask(
            t_string!(i18n, chat.clear_confirm),
            t_string!(i18n, chat.clear),
            crate::confirm::Kind::Danger,
            move || {
                live.send_frame(frame(
                    "clear_chat_history",
                    serde_json::json!({"session_id": id}),
                ));
            },
        );
    };
    let open_transfer = move |_| {
        colleagues.set(Some(Vec::new()));
        live.send_frame(frame("get_online_staff", serde_json::json!({})));
    };
    let transfer_to = move |to: String| {
        if let Some(id) = selected.get_untracked() {
            live.send_frame(frame(
                "transfer_session",
                serde_json::json!({"session_id": id, "to_cs_account": to}),
            ));
        }
        colleagues.set(None);
    };
    // The panel is for a chat the agent may still hand over: it closes when
    // that stops (the chat ended, moved, or another one opened).
    Effect::new(move |before: Option<Option<String>>| {
        let now = selected.get();
        let moved = before.is_some_and(|b| b != now);
        if (moved || !can_write.get()) && colleagues.with_untracked(Option::is_some) {
            colleagues.set(None);
        }
        now
    });
    let transfer_panel = move || {
        colleagues.get().map(|list| {
            let rows = if list.is_empty() {
                view! { <p class="muted">{t!(i18n, chat.no_colleague)}</p> }.into_any()
            } else {
                list.into_iter()
                    .map(|c| {
                        let to = c.cs_account.clone();
                        view! {
                            <li>
                                <button class="button" data-testid="transfer-to" data-account=c.cs_account.clone()
                                    on:click=move |_| transfer_to(to.clone())>
                                    {c.cs_account.clone()}
                                </button>
                                <span class="muted">
                                    {status_label(i18n, &c.status)}" · "
                                    {t_string!(i18n, chat.load, load = c.load.to_string(), cap = c.capacity.to_string()).to_string()}
                                    {(c.load >= c.capacity).then(|| t_string!(i18n, chat.full).to_string())}
                                </span>
                            </li>
                        }
                    })
                    .collect_view()
                    .into_any()
            };
            view! {
                <div class="transfer-panel" data-testid="transfer-panel">
                    <h3>{t!(i18n, chat.transfer_title)}</h3>
                    <ul>{rows}</ul>
                    <button class="button link" on:click=move |_| colleagues.set(None)>{t!(i18n, chat.cancel)}</button>
                </div>
            }
        })
    };
    let may_clear = scope_all;
    // The header is drawn again only when what it shows changes shape (another
    // chat, another state or holder), not on every message (tachys would patch
    // it in place, so focus survived before too; this skips the work).
    let shape = Memo::new(move |_| {
        current.with(|c| {
            c.as_ref().map(|s| Head {
                session_id: s.session_id.clone(),
                user_account: s.user_account.clone(),
                cs_account: s.cs_account.clone(),
                status: s.status.clone(),
                mine: can_write.get(),
            })
        })
    });
    let important =
        Memo::new(move |_| current.with(|c| c.as_ref().is_some_and(|s| s.is_important)));
    let unread =
        Memo::new(move |_| current.with(|c| c.as_ref().is_some_and(|s| s.unread_count > 0)));
    let chat = view! {
        <section class="desk-chat"
            on:keydown=move |e| if e.key() == "Escape" && colleagues.with_untracked(Option::is_some) { colleagues.set(None) }>
            {move || match shape.get() {
                None => view! { <p class="muted" data-testid="desk-select">{t!(i18n, chat.select)}</p> }.into_any(),
                Some(s) => {
                    let pending = s.status == "pending";
                    let mine = s.mine;
                    view! {
                        <header class="chat-head" data-session=s.session_id.clone()>
                            <button class="button link narrow-only" data-testid="back-to-list" on:click=close_chat>
                                "← "{t!(i18n, chat.back)}
                            </button>
                            <h2 data-testid="chat-with">{s.user_account.clone()}</h2>
                            <span class="muted" data-testid="chat-status" data-status=s.status.clone()>{state_label(i18n, &s.status)}</span>
                            {s.cs_account.clone().map(|a| view! { <span class="muted" data-testid="chat-agent">" · "{a}</span> })}
                            <button class="button link" data-testid="important" on:click=toggle_important>
                                {move || if important.get() { "★" } else { "☆" }}" "{t!(i18n, chat.important)}
                            </button>
                            {pending.then(|| view! {
                                <button class="button primary" data-testid="accept" on:click=move |_| act("accept_session")>
                                    {t!(i18n, chat.accept)}
                                </button>
                            })}
                            <Show when=move || mine && unread.get()>
                                <button class="button link" data-testid="mark-read" on:click=move |_| act("mark_session_read")>
                                    {t!(i18n, chat.mark_read)}
                                </button>
                            </Show>
                            {mine.then(|| view! {
                                <button class="button" data-testid="transfer" on:click=open_transfer>
                                    {t!(i18n, chat.transfer)}
                                </button>
                                <button class="button" data-testid="end" on:click=move |_| act("end_session")>
                                    {t!(i18n, chat.end)}
                                </button>
                            })}
                            {(mine || may_clear).then(|| view! {
                                <button class="button link danger" data-testid="clear" on:click=clear>
                                    {t!(i18n, chat.clear)}
                                </button>
                            })}
                        </header>
                    }
                    .into_any()
                }
            }}
            {move || notice.get().map(|(error, text)| view! {
                <p
                    class=if error { "form-error" } else { "toast" }
                    role=if error { "alert" } else { "status" }
                    data-testid=if error { "desk-error" } else { "desk-notice" }
                >
                    {text}" "
                    <button class="button link" on:click=move |_| notice.set(None)>"×"</button>
                </p>
            })}
            {transfer_panel}
            <Show when=move || selected.get().is_some()>
                <ThreadView items mine=SenderType::CustomerService live typing=Signal::from(typing)
                    on_older has_older=Signal::from(has_older)/>
                <Show when=move || !can_write.get()>
                    <p class="muted" data-testid="read-only">
                        {move || if current.with(|c| c.as_ref().is_some_and(|s| s.status == "ended")) {
                            t_string!(i18n, chat.ended_note).to_string()
                        } else {
                            t_string!(i18n, chat.watching).to_string()
                        }}
                    </p>
                </Show>
                <Composer on_send on_typing on_image draft disabled=Signal::derive(move || !can_write.get())/>
                <Show when=move || can_write.get()>
                    <QuickReplies draft admin=scope_all/>
                </Show>
            </Show>
        </section>
    }
    .into_any();
    // A memo: the panel reloads (and its form resets) when the player
    // changes, not on every update of the chat's summary.
    let account = Memo::new(move |_| current.with(|c| c.as_ref().map(|s| s.user_account.clone())));
    view! {
        {head}
        <div class="desk" class:open=move || selected.with(Option::is_some)>
            {list}
            {chat}
            <Show when=move || selected.get().is_some()>
                <PlayerPanel account/>
            </Show>
        </div>
    }
    .into_any()
}

/// An error frame as a sentence in the agent's language: the server's
/// detail translated (`crate::reason`); a detail it does not know follows
/// the kind of failure in brackets, as it came.
fn error_text(i18n: I18nContext<Locale>, code: &str, detail: &str) -> String {
    use protocol::chat::codes;
    let locale = i18n.get_locale_untracked();
    if code == codes::INVALID_MESSAGE {
        if let Some((field, what)) = detail.split_once(": ") {
            if let Some(what) = reason_text(locale, what) {
                return format!("{}: {what}", field_label(i18n, field));
            }
        }
    }
    if let Some(reason) = reason_text(locale, detail) {
        return reason;
    }
    let head = match code {
        // A role refusal or the chat's state (taken, ended): the reason says which.
        codes::PERMISSION_DENIED => t_string!(i18n, fail.refused),
        codes::SESSION_NOT_FOUND => t_string!(i18n, fail.not_found),
        codes::AUTH_FAILED => t_string!(i18n, fail.unauthenticated),
        codes::SERVER_ERROR => t_string!(i18n, fail.internal),
        _ => return detail.to_owned(),
    };
    format!("{head} ({detail})")
}

/// Since when a pending chat's player has waited (older servers: creation).
fn waiting_since(s: &SessionSummary) -> &str {
    s.waiting_since.as_deref().unwrap_or(&s.created_at)
}

/// A chat's state (`pending`, `active`, `ended`) in the reader's language.
fn state_label(i18n: I18nContext<Locale>, s: &str) -> String {
    match s {
        "pending" => t_string!(i18n, chat.state_pending),
        "active" => t_string!(i18n, chat.state_active),
        "ended" => t_string!(i18n, chat.state_ended),
        other => return other.to_owned(),
    }
    .to_string()
}

fn status_label(i18n: I18nContext<Locale>, s: &str) -> String {
    match s {
        "online" => t_string!(i18n, chat.status_online),
        "busy" => t_string!(i18n, chat.status_busy),
        "away" => t_string!(i18n, chat.status_away),
        _ => t_string!(i18n, chat.status_offline),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(id: &str, status: &str, unread: i64, important: bool) -> SessionSummary {
        serde_json::from_value(serde_json::json!({
            "session_id": id, "user_account": "p", "status": status, "cs_account": null,
            "unread_count": unread, "is_important": important, "last_message": "",
            "last_message_time": null, "created_at": "2026-11-24T10:00:00.000+08:00", "last_seq": 0
        }))
        .unwrap()
    }

    #[test]
    fn filters_and_the_title_count() {
        let mut list = vec![
            summary("a", "pending", 2, false),
            summary("b", "active", 0, true),
            summary("c", "ended", 1, false),
            summary("d", "active", 4, false),
            summary("e", "active", 5, false),
        ];
        list[3].cs_account = Some("me".into());
        list[4].cs_account = Some("other".into());
        let kept = |f: Filter| {
            list.iter()
                .filter(|s| f.keeps(s))
                .map(|s| s.session_id.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(kept(Filter::All), vec!["a", "b", "c", "d", "e"]);
        assert_eq!(kept(Filter::Unread), vec!["a", "c", "d", "e"]);
        assert_eq!(kept(Filter::Important), vec!["b"]);
        assert_eq!(kept(Filter::Ended), vec!["c"]);
        // The search box: the player's account or the agent's name, any case.
        list[0].user_account = "Liu.Bei".into();
        let hits = |q: &str| {
            list.iter()
                .filter(|s| found(s, q))
                .map(|s| s.session_id.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(hits("liu"), vec!["a"]);
        assert_eq!(hits("oth"), vec!["e"]);
        assert_eq!(hits(""), vec!["a", "b", "c", "d", "e"]);
        assert!(hits("nobody").is_empty());
        // An image's preview reads in the reader's language; text stays as it is.
        assert_eq!(preview_in(Locale::en, "[图片]"), "[Image]");
        assert_eq!(preview_in(Locale::zh_CN, "[图片]"), "[图片]");
        assert_eq!(preview_in(Locale::en, "你好"), "你好");
        // Only the chats "me" holds count in the tab title.
        assert_eq!(unread_total(&list, "me"), 4);
        assert_eq!(minutes_between(0.0, 59_999.0), 0);
        assert_eq!(minutes_between(0.0, 180_000.0), 3);
        assert_eq!(minutes_between(10.0, 0.0), 0);
    }
}
