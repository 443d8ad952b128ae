//! The agent's chat desk at `/desk`: the waiting queue, their own chats and
//! the ended ones on the left, the selected conversation on the right, the
//! agent's status and auto-accept switch on top. Everything arrives over the
//! chat socket (the session cookie authenticates it); sends fall back to
//! HTTP when the socket cannot be opened.
//!
//! Admins and super admins see the same desk; they may open any chat they
//! are shown and write only in chats they hold.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;
use protocol::chat::{ChatMessage, SenderType, ServerFrame, SessionSummary};
use protocol::UserInfo;

use crate::chat::view::{clock_time, merge, Composer, ConnIndicator, ThreadView};
use crate::chat::Live;
use crate::i18n::*;
use crate::nav::Section;
use crate::pages::shell::section_label;

const STATUSES: [&str; 4] = ["online", "busy", "away", "offline"];

fn refresh_list(live: Live) {
    live.send_frame(serde_json::json!({"type": "get_sessions", "data": {"page": 1, "limit": 100}}));
}

#[component]
pub fn DeskPage(me: UserInfo) -> AnyView {
    let i18n = use_i18n();
    let sessions = RwSignal::new(Vec::<SessionSummary>::new());
    let selected = RwSignal::new(None::<String>);
    let thread = RwSignal::new(BTreeMap::<i64, ChatMessage>::new());
    let typing = RwSignal::new(false);
    let my_status = RwSignal::new("online".to_owned());
    let auto_accept = RwSignal::new(false);
    let needs_read = RwSignal::new(false);
    let needs_refresh = RwSignal::new(false);
    let me_name = me.username.clone();

    let on_frame = move |frame: ServerFrame| {
        let open = selected.get_untracked();
        let is_open = |id: &str| open.as_deref() == Some(id);
        match frame {
            ServerFrame::Connected(_) => needs_refresh.set(true),
            ServerFrame::SessionListUpdated(l) => sessions.set(l.sessions),
            ServerFrame::SessionsResponse(p) => sessions.set(p.sessions),
            ServerFrame::NewSessionCreated(_)
            | ServerFrame::SessionStatusChanged(_)
            | ServerFrame::SessionAccepted(_)
            | ServerFrame::SessionTransferred(_)
            | ServerFrame::SessionEnded(_) => needs_refresh.set(true),
            ServerFrame::NewMessage(m) => {
                sessions.update(|list| {
                    if let Some(s) = list.iter_mut().find(|s| s.session_id == m.session_id) {
                        s.last_message = m.content.chars().take(100).collect();
                        s.last_message_time = Some(m.sent_at.clone());
                        s.last_seq = m.seq;
                    }
                });
                if is_open(&m.session_id) {
                    if m.sender_type == SenderType::User {
                        needs_read.set(true);
                        typing.set(false);
                    }
                    thread.update(|t| {
                        t.insert(m.seq, m);
                    });
                }
            }
            ServerFrame::UnreadCountUpdated(u) | ServerFrame::UnreadCountAbsoluteUpdate(u) => {
                sessions.update(|list| {
                    if let Some(s) = list.iter_mut().find(|s| s.session_id == u.session_id) {
                        s.unread_count = u.unread_count;
                    }
                });
            }
            ServerFrame::ChatHistoryResponse(h) if is_open(&h.session_id) => {
                thread.update(|t| t.extend(h.messages.into_iter().map(|m| (m.seq, m))));
            }
            ServerFrame::ChatHistoryCleared(c) if is_open(&c.session_id) => {
                thread.update(BTreeMap::clear);
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
                auto_accept.set(s.auto_accept);
            }
            ServerFrame::AutoAcceptUpdated(a) => auto_accept.set(a.enabled),
            _ => {}
        }
    };

    #[cfg(feature = "hydrate")]
    let live: Live = crate::chat::browser::ChatHandle::start(
        crate::chat::browser::ChatConfig {
            ws_path: "/api/ws/chat?user_type=customer_service".to_owned(),
            http_send_path: "/api/cs/send_message",
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

    Effect::new(move |_| {
        if needs_refresh.get() {
            needs_refresh.set(false);
            refresh_list(live);
            live.send_frame(serde_json::json!({"type": "get_cs_status", "data": {}}));
        }
    });
    let mine = {
        let me_name = me_name.clone();
        move |id: &str| {
            sessions.with(|l| {
                l.iter().any(|s| {
                    s.session_id == id
                        && s.status == "active"
                        && s.cs_account.as_deref() == Some(me_name.as_str())
                })
            })
        }
    };
    let mark_read = {
        let mine = mine.clone();
        move |id: &str| {
            if mine(id) {
                live.send_frame(
                    serde_json::json!({"type": "mark_session_read", "data": {"session_id": id}}),
                );
            }
        }
    };
    {
        let mark_read = mark_read.clone();
        Effect::new(move |_| {
            if needs_read.get() {
                needs_read.set(false);
                if let Some(id) = selected.get_untracked() {
                    mark_read(&id);
                }
            }
        });
    }
    let open_chat = Callback::new(move |id: String| {
        selected.set(Some(id.clone()));
        thread.set(BTreeMap::new());
        typing.set(false);
        live.send_frame(serde_json::json!({"type": "get_chat_history", "data": {"session_id": id, "limit": 50}}));
        mark_read(&id);
    });
    let current = Memo::new(move |_| {
        let id = selected.get()?;
        sessions.with(|l| l.iter().find(|s| s.session_id == id).cloned())
    });
    let can_write = {
        let me_name = me_name.clone();
        Signal::derive(move || {
            current.get().is_some_and(|s| {
                s.status == "active" && s.cs_account.as_deref() == Some(me_name.as_str())
            })
        })
    };
    let items = Signal::derive(move || {
        let s = selected.get().unwrap_or_default();
        thread.with(|t| live.outbox.with(|o| merge(t, o, &s)))
    });
    let on_send = Callback::new(move |text: String| {
        if let Some(id) = selected.get_untracked() {
            live.send_message(&id, &text);
        }
    });
    let last_typing = StoredValue::new(0u64);
    let on_typing = Callback::new(move |_: ()| {
        if let Some(id) = selected.get_untracked() {
            let tick = last_typing.get_value() + 1;
            last_typing.set_value(tick);
            // One indicator every few keystrokes is plenty.
            if tick % 10 == 1 {
                live.send_frame(serde_json::json!({"type": "typing", "data": {"session_id": id, "is_typing": true}}));
            }
        }
    });
    let act = move |kind: &'static str| {
        if let Some(id) = selected.get_untracked() {
            live.send_frame(serde_json::json!({"type": kind, "data": {"session_id": id}}));
        }
    };
    let toggle_important = move |_| {
        if let Some(s) = current.get_untracked() {
            live.send_frame(serde_json::json!({"type": "set_session_importance", "data": {"session_id": s.session_id, "is_important": !s.is_important}}));
        }
    };

    let group = |title: String, testid: &'static str, filter: fn(&SessionSummary, &str) -> bool| {
        let me_name = me.username.clone();
        let rows = move || {
            sessions
                .get()
                .into_iter()
                .filter(|s| filter(s, &me_name))
                .collect::<Vec<_>>()
        };
        view! {
            <section class="desk-group" data-testid=testid>
                <h2>{title}</h2>
                <ul>
                    <For each=rows key=|s| (s.session_id.clone(), s.status.clone(), s.unread_count, s.last_seq, s.is_important) let:s>
                        {
                            let id = s.session_id.clone();
                            let id2 = id.clone();
                            let active = move || selected.get().as_deref() == Some(id2.as_str());
                            view! {
                                <li
                                    class="session-item"
                                    class:selected=active
                                    data-testid="session-item"
                                    data-session=s.session_id.clone()
                                    data-status=s.status.clone()
                                    on:click=move |_| open_chat.run(id.clone())
                                >
                                    <span class="session-who">
                                        {s.is_important.then_some("★ ")}
                                        {s.user_account.clone()}
                                    </span>
                                    {(s.unread_count > 0).then(|| view! {
                                        <span class="badge" data-testid="unread">{s.unread_count}</span>
                                    })}
                                    <span class="session-last muted">{s.last_message.clone()}</span>
                                    <span class="session-time muted">
                                        {clock_time(s.last_message_time.as_deref().unwrap_or(&s.created_at))}
                                    </span>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </section>
        }
        .into_any()
    };

    let title = section_label(i18n, Section::Desk);
    let head = view! {
        <Title text=title.clone()/>
        <div class="desk-head">
            <h1 data-testid="page-title">{title}</h1>
            <ConnIndicator live/>
            <label>
                {t!(i18n, chat.status)}" "
                <select
                    data-testid="my-status"
                    prop:value=move || my_status.get()
                    on:change=move |ev| {
                        let status = event_target_value(&ev);
                        live.send_frame(serde_json::json!({"type": "update_cs_status", "data": {"status": status}}));
                    }
                >
                    {STATUSES.into_iter().map(|s| view! {
                        <option value=s>{move || match s {
                            "online" => t_string!(i18n, chat.status_online).to_string(),
                            "busy" => t_string!(i18n, chat.status_busy).to_string(),
                            "away" => t_string!(i18n, chat.status_away).to_string(),
                            _ => t_string!(i18n, chat.status_offline).to_string(),
                        }}</option>
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
                        live.send_frame(serde_json::json!({"type": "set_auto_accept", "data": {"enabled": on}}));
                    }
                />
                " "{t!(i18n, chat.auto_accept)}
            </label>
        </div>
    }
    .into_any();
    let chat = view! {
            <section class="desk-chat">
                {move || match current.get() {
                    None => view! { <p class="muted" data-testid="desk-select">{t!(i18n, chat.select)}</p> }.into_any(),
                    Some(s) => {
                        let pending = s.status == "pending";
                        let active = s.status == "active";
                        view! {
                            <header class="chat-head">
                                <h2 data-testid="chat-with">{s.user_account.clone()}</h2>
                                <span class="muted" data-testid="chat-status">{s.status.clone()}</span>
                                {s.cs_account.clone().map(|a| view! { <span class="muted">" · "{a}</span> })}
                                <button class="button link" on:click=toggle_important>
                                    {if s.is_important { "★" } else { "☆" }}" "{t!(i18n, chat.important)}
                                </button>
                                {pending.then(|| view! {
                                    <button class="button primary" data-testid="accept" on:click=move |_| act("accept_session")>
                                        {t!(i18n, chat.accept)}
                                    </button>
                                })}
                                {active.then(|| view! {
                                    <button class="button" data-testid="end" on:click=move |_| act("end_session")>
                                        {t!(i18n, chat.end)}
                                    </button>
                                })}
                            </header>
                        }
                        .into_any()
                    }
                }}
                <Show when=move || selected.get().is_some()>
                    <ThreadView items mine=SenderType::CustomerService live typing=Signal::from(typing)/>
                    <Show when=move || !can_write.get()>
                        <p class="muted" data-testid="read-only">{t!(i18n, chat.watching)}</p>
                    </Show>
                    <Composer on_send on_typing disabled=Signal::derive(move || !can_write.get())/>
                </Show>
            </section>
    }
    .into_any();
    view! {
        {head}
        <div class="desk">
            <aside class="desk-list">
                {group(t_string!(i18n, chat.queue).to_string(), "queue", |s, _| s.status == "pending")}
                {group(t_string!(i18n, chat.mine).to_string(), "mine", |s, me| s.status == "active" && s.cs_account.as_deref() == Some(me))}
                {group(t_string!(i18n, chat.ended_list).to_string(), "others", |s, me| s.status == "ended" || (s.status == "active" && s.cs_account.as_deref() != Some(me)))}
            </aside>
            {chat}
        </div>
    }
    .into_any()
}
