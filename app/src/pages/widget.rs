//! The player's chat widget at `/widget?token=<player chat token>`, opened
//! from the game. The server renders the player's current chat (the open
//! one, or else the latest) so the first paint shows the conversation; after
//! hydration the chat client connects and keeps it live. A chat is created
//! only when the player first writes, so opening the widget puts nothing in
//! the agents' queue.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use protocol::chat::{ChatMessage, SenderType, ServerFrame};

use crate::chat::api::{widget_state, WidgetData};
use crate::chat::view::{merge, Composer, ConnIndicator, ImagePicked, ThreadView};
use crate::chat::Live;
use crate::i18n::*;

#[component]
pub fn WidgetPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let state = Resource::new(crate::api::source(token), |t| async move {
        widget_state(t).await
    });
    let title = t_string!(i18n, chat.widget_title).to_string();
    view! {
        <Title text=title.clone()/>
        <div class="widget">
            <header class="widget-head">
                <h1>{title}</h1>
            </header>
            <Suspense fallback=move || view! { <p class="muted">{t!(i18n, loading)}</p> }>
                {move || Suspend::new(async move {
                    match state.await {
                        Ok(s) => view! { <WidgetChat state=s token=token()/> }.into_any(),
                        Err(_) => {
                            crate::set_http_status(401);
                            view! {
                                <p class="notice" data-testid="widget-invalid">{t!(i18n, chat.widget_invalid)}</p>
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </div>
    }
}

fn thread_of(messages: Vec<ChatMessage>) -> BTreeMap<i64, ChatMessage> {
    messages.into_iter().map(|m| (m.seq, m)).collect()
}

#[component]
fn WidgetChat(state: WidgetData, token: String) -> impl IntoView {
    let i18n = use_i18n();
    let session = RwSignal::new(state.session_id.clone());
    let status = RwSignal::new(state.status.clone());
    let thread = RwSignal::new(thread_of(state.messages));
    let typing = RwSignal::new(false);
    let unread_from_staff = RwSignal::new(false);

    // A chat this page does not know yet (opened from another tab) whose
    // history it must load.
    let follow = RwSignal::new(None::<String>);

    let on_frame = move |frame: ServerFrame| {
        let mut current = session.get_untracked();
        // The socket carries only this player's chats, and a player has one
        // open chat at a time: news of another one means it was opened
        // elsewhere (another tab, or after this one ended). Follow it.
        let news_of = match &frame {
            ServerFrame::NewMessage(m) => Some(m.session_id.clone()),
            ServerFrame::SessionStatusChanged(c) if c.new_status != "ended" => {
                Some(c.session_id.clone())
            }
            _ => None,
        };
        if let Some(id) = news_of.filter(|id| current.as_deref() != Some(id)) {
            session.set(Some(id.clone()));
            status.set(Some("pending".to_owned()));
            thread.set(BTreeMap::new());
            follow.set(Some(id.clone()));
            current = Some(id);
        }
        let ours = |id: &str| current.as_deref() == Some(id);
        match frame {
            ServerFrame::NewMessage(m) if ours(&m.session_id) => {
                if m.sender_type == SenderType::CustomerService {
                    unread_from_staff.set(true);
                    typing.set(false);
                }
                thread.update(|t| {
                    t.insert(m.seq, m);
                });
            }
            ServerFrame::ChatHistoryResponse(h) if ours(&h.session_id) => {
                thread.update(|t| t.extend(h.messages.into_iter().map(|m| (m.seq, m))));
            }
            ServerFrame::ChatHistoryCleared(c) if ours(&c.session_id) => {
                thread.update(BTreeMap::clear);
            }
            ServerFrame::SessionStatusChanged(c) if ours(&c.session_id) => {
                status.set(Some(c.new_status));
            }
            ServerFrame::Typing(t) if ours(&t.session_id) => {
                typing.set(t.is_typing);
                if t.is_typing {
                    set_timeout(move || typing.set(false), std::time::Duration::from_secs(5));
                }
            }
            _ => {}
        }
    };

    #[cfg(feature = "hydrate")]
    let live: Live = {
        use crate::chat::browser::{ChatConfig, ChatHandle};
        let live = ChatHandle::start(
            ChatConfig {
                ws_path: format!("/api/ws/chat?token={token}&user_type=user"),
                http_send_path: "/api/chat/send_message",
                upload_path: "/api/chat/upload",
                token: Some(token.clone()),
                storage_key: format!("kefu.outbox.player.{}", state.account),
            },
            on_frame,
        );
        if let Some(s) = session.get_untracked() {
            let last = thread.with_untracked(|t| t.keys().last().copied().unwrap_or(0));
            live.seen_upto(&s, last);
        }
        live
    };
    #[cfg(not(feature = "hydrate"))]
    let live: Live = {
        let _ = (&on_frame, &token);
        Live::inert()
    };

    Effect::new(move |_| {
        if let Some(id) = follow.get() {
            live.send_frame(serde_json::json!({
                "type": "get_chat_history",
                "data": {"session_id": id, "limit": crate::chat::api::WIDGET_FIRST_PAGE}
            }));
            follow.set(None);
        }
    });

    // Staff messages on screen are read.
    Effect::new(move |_| {
        if unread_from_staff.get() {
            if let Some(s) = session.get_untracked() {
                if live.send_frame(
                    serde_json::json!({"type": "mark_session_read", "data": {"session_id": s}}),
                ) {
                    unread_from_staff.set(false);
                }
            }
        }
    });

    let account = state.account.clone();
    // The message box's text, given back when the chat could not be opened.
    let draft = RwSignal::new(String::new());
    let open_failed = RwSignal::new(false);
    // Runs `then` with the player's chat, opening one first if there is
    // none; `failed` when it cannot be opened (nothing was sent). What is
    // handed in while the chat is being opened waits for it and runs in the
    // order it came: two quick sends cannot swap places on the way.
    type Then = (Box<dyn FnOnce(String)>, Box<dyn FnOnce()>);
    // (Browser only: a local value made on the server would be dropped on
    // another thread.)
    #[cfg(feature = "hydrate")]
    let opening: StoredValue<Option<Vec<Then>>, LocalStorage> = StoredValue::new_local(None);
    let with_session = Callback::new(move |(then, failed): Then| match session.get_untracked() {
        Some(id) => then(id),
        None => {
            #[cfg(feature = "hydrate")]
            {
                let mut first = None;
                opening.update_value(|o| match o {
                    Some(waiting) => waiting.push((then, failed)),
                    None => {
                        *o = Some(Vec::new());
                        first = Some((then, failed));
                    }
                });
                let Some(first) = first else {
                    return;
                };
                let (token, account) = (token.clone(), account.clone());
                leptos::task::spawn_local(async move {
                    let body = serde_json::json!({"user_account": account});
                    let created = crate::chat::browser::post_json(
                        "/api/chat/create_session",
                        Some(&token),
                        &body,
                    )
                    .await;
                    let opened = created.ok().and_then(|v| {
                        let id = v["data"]["session_id"].as_str()?.to_owned();
                        Some((id, v["data"]["status"].as_str().map(str::to_owned)))
                    });
                    let waiting = opening
                        .try_update_value(Option::take)
                        .flatten()
                        .unwrap_or_default();
                    let all = std::iter::once(first).chain(waiting);
                    match opened {
                        Some((id, state)) => {
                            open_failed.set(false);
                            session.set(Some(id.clone()));
                            status.set(state);
                            live.seen_upto(&id, 0);
                            for (then, _) in all {
                                then(id.clone());
                            }
                        }
                        None => {
                            open_failed.set(true);
                            for (_, failed) in all {
                                failed();
                            }
                        }
                    }
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (then, failed, &account);
        }
    });
    let on_send = Callback::new(move |text: String| {
        let back = text.clone();
        with_session.run((
            Box::new(move |id| live.send_message(&id, &text)),
            // Not sent: the text goes back in the box, after anything
            // typed since (or another unsent text), so none of it is lost.
            Box::new(move || {
                draft.update(|d| {
                    if !d.is_empty() {
                        d.push('\n');
                    }
                    d.push_str(&back);
                })
            }),
        ));
    });
    let on_image = Callback::new(move |(ev, failed): ImagePicked| {
        #[cfg(feature = "hydrate")]
        if let Some(file) = crate::chat::browser::picked_file(&ev) {
            with_session.run((
                Box::new(move |id| {
                    failed.set(Some(crate::chat::view::UPLOADING));
                    live.send_image(&id, file, move |end| failed.set(end));
                }),
                Box::new(move || failed.set(Some(0))),
            ));
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, failed);
    });
    let last_typing = StoredValue::new(0.0f64);
    let on_typing = Callback::new(move |_: ()| {
        let Some(s) = session.get_untracked() else {
            return;
        };
        let now = js_now();
        if now - last_typing.get_value() > 3000.0 {
            last_typing.set_value(now);
            live.send_frame(
                serde_json::json!({"type": "typing", "data": {"session_id": s, "is_typing": true}}),
            );
        }
    });
    let items = Signal::derive(move || {
        let s = session.get().unwrap_or_default();
        thread.with(|t| live.outbox.with(|o| merge(t, o, &s)))
    });
    view! {
        <ConnIndicator live/>
        <p class="widget-intro muted">{t!(i18n, chat.widget_intro)}</p>
        <ThreadView items mine=SenderType::User live typing=Signal::from(typing)/>
        <Show when=move || status.get().as_deref() == Some("pending") && thread.with(|t| !t.is_empty())>
            <p class="muted widget-queued" data-testid="chat-queued">{t!(i18n, chat.queued)}</p>
        </Show>
        <Show when=move || status.get().as_deref() == Some("ended")>
            <p class="notice" data-testid="chat-ended">{t!(i18n, chat.ended)}</p>
        </Show>
        <Show when=move || open_failed.get()>
            <p class="notice" data-testid="chat-open-failed">{t!(i18n, chat.open_failed)}</p>
        </Show>
        <Composer on_send on_typing on_image draft disabled=Signal::derive(|| false)/>
    }
}

fn js_now() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}
