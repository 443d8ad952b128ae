//! View pieces the widget and the desk share: the connection indicator, the
//! thread (stored messages merged with our unacknowledged ones), and the
//! composer. Message content is always rendered as text, never as HTML.

use std::collections::BTreeMap;

use leptos::prelude::*;
use protocol::chat::{ChatMessage, SenderType};

use super::{Conn, Live, MsgState, OutMsg};
use crate::i18n::*;

/// One line of the thread.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Stored(ChatMessage),
    /// Ours, not yet in the stored thread.
    Outgoing(OutMsg),
}

/// The stored messages of `session` in seq order, then our messages for it
/// that the thread does not show yet. One not acknowledged yet shows until
/// the thread has it (by `client_msg_id`: stored, its acknowledgement
/// lost). One acknowledged shows while it is newer than everything the
/// thread holds; once the thread holds it or goes past it (a later page, a
/// repair on its way), the thread puts it in its place.
pub fn merge(thread: &BTreeMap<i64, ChatMessage>, outbox: &[OutMsg], session: &str) -> Vec<Item> {
    let newest = thread.keys().next_back().copied();
    let mut items: Vec<Item> = thread.values().cloned().map(Item::Stored).collect();
    for m in outbox.iter().filter(|m| m.session_id == session) {
        let shown = match m.seq {
            Some(seq) => thread.contains_key(&seq) || newest.is_some_and(|n| n > seq),
            None => thread
                .values()
                .any(|t| t.client_msg_id.as_deref() == Some(m.client_msg_id.as_str())),
        };
        if !shown {
            items.push(Item::Outgoing(m.clone()));
        }
    }
    items
}

/// `HH:MM` of an RFC 3339 time (already in the business time zone).
pub fn clock_time(rfc3339: &str) -> String {
    rfc3339.get(11..16).unwrap_or("").to_owned()
}

/// When a chat last moved, for the chat list: `HH:MM` today (in the time's
/// own zone), `MM-DD HH:MM` on another day of this year, `YYYY-MM-DD`
/// before. `now_ms` 0 (not known yet, as while rendering on the server)
/// gives `HH:MM`.
pub fn list_time(rfc3339: &str, now_ms: f64) -> String {
    let clock = clock_time(rfc3339);
    let (Some(date), Some(offset)) = (rfc3339.get(..10), utc_offset_ms(rfc3339)) else {
        return clock;
    };
    if now_ms <= 0.0 {
        return clock;
    }
    let today = civil_date((now_ms as i64 + offset).div_euclid(86_400_000));
    if date == today {
        clock
    } else if date.get(..4) == today.get(..4) {
        format!("{} {clock}", &date[5..])
    } else {
        date.to_owned()
    }
}

/// The `±HH:MM` at the end of an RFC 3339 time, in ms.
pub(crate) fn utc_offset_ms(rfc3339: &str) -> Option<i64> {
    if rfc3339.ends_with('Z') {
        return Some(0);
    }
    let tail = rfc3339.get(rfc3339.len().checked_sub(6)?..)?;
    let sign = match tail.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h: i64 = tail.get(1..3)?.parse().ok()?;
    let m: i64 = tail.get(4..6)?.parse().ok()?;
    Some(sign * (h * 60 + m) * 60_000)
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (Howard Hinnant's
/// civil-from-days).
/// `YYYY-MM-DD HH:MM` of `ms` since the epoch at `offset_ms` from UTC
/// (the business time zone's, read from a time the server sent).
pub(crate) fn format_at_offset(ms: i64, offset_ms: i64) -> String {
    let local = ms + offset_ms;
    let minutes = local.rem_euclid(86_400_000) / 60_000;
    format!(
        "{} {:02}:{:02}",
        civil_date(local.div_euclid(86_400_000)),
        minutes / 60,
        minutes % 60
    )
}

fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[component]
pub fn ConnIndicator(live: Live) -> impl IntoView {
    let i18n = use_i18n();
    let view = live.view;
    let text = move || {
        let v = view.get();
        if v.auth_failed {
            t_string!(i18n, chat.auth_failed).to_string()
        } else if !v.online {
            t_string!(i18n, chat.offline).to_string()
        } else if v.gave_up {
            t_string!(i18n, chat.gave_up).to_string()
        } else if v.conn == Conn::Connected {
            t_string!(i18n, chat.connected).to_string()
        } else if let Some(secs) = v.retry_in {
            let base = t_string!(i18n, chat.reconnecting, secs = secs.to_string()).to_string();
            if v.fallback {
                format!("{base} · {}", t_string!(i18n, chat.fallback))
            } else {
                base
            }
        } else {
            t_string!(i18n, chat.connecting).to_string()
        }
    };
    let state = move || {
        let v = view.get();
        if v.auth_failed {
            "auth-failed"
        } else if !v.online {
            "offline"
        } else if v.conn == Conn::Connected {
            "connected"
        } else if v.fallback {
            "fallback"
        } else {
            "connecting"
        }
    };
    view! {
        <div class="conn" data-testid="conn" data-state=state role="status" aria-live="polite">
            <span class="conn-dot"></span>
            <span>{text}</span>
            <Show when=move || view.get().gave_up && !view.get().auth_failed>
                <button class="button link" on:click=move |_| live.reconnect_now()>{t!(i18n, chat.retry_connect)}</button>
            </Show>
        </div>
    }
}

/// The day (`YYYY-MM-DD`, business time) of an RFC 3339 time.
pub fn day_of(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or("")
}

/// The thread of one chat. `mine` says which sender type is "us". With
/// `on_older`, scrolling to the top (or the button there) asks for the
/// page before the oldest shown while `has_older` says there is one; the
/// view keeps its place when that page arrives, and follows new messages
/// only while the reader is at the bottom (or the new one is ours).
#[component]
pub fn ThreadView(
    items: Signal<Vec<Item>>,
    mine: SenderType,
    live: Live,
    #[prop(optional)] typing: Option<Signal<bool>>,
    #[prop(optional)] on_older: Option<Callback<()>>,
    #[prop(optional, into)] has_older: Signal<bool>,
) -> AnyView {
    let i18n = use_i18n();
    let list = NodeRef::<leptos::html::Ol>::new();
    // (oldest stored seq, scroll height, our unacknowledged or just-sent
    // messages shown) after the last layout.
    let last = StoredValue::new((None::<i64>, 0i32, 0usize));
    Effect::new(move |_| {
        let (first, ours) = items.with(|v| {
            let first = v.iter().find_map(|i| match i {
                Item::Stored(m) => Some(m.seq),
                Item::Outgoing(_) => None,
            });
            let ours = v.iter().filter(|i| matches!(i, Item::Outgoing(_))).count();
            (first, ours)
        });
        let Some(el) = list.get() else { return };
        let (was_first, was_height, were_ours) = last.get_value();
        // We just wrote something: show it.
        let ours_last = ours > were_ours;
        let grew_above = matches!((was_first, first), (Some(w), Some(f)) if f < w);
        if grew_above {
            el.set_scroll_top(el.scroll_top() + el.scroll_height() - was_height);
        } else {
            let at_bottom = was_height - el.scroll_top() - el.client_height() < 80;
            if was_first.is_none() || at_bottom || ours_last {
                el.set_scroll_top(el.scroll_height());
            }
        }
        last.set_value((first, el.scroll_height(), ours));
    });
    // Whether the reader is at the newest message: a thread that changes
    // size (a panel opens or closes beside it, the window is resized)
    // keeps them there instead of leaving the newest messages out of view.
    let at_newest = StoredValue::new(true);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::{closure::Closure, JsCast};
        let Some(el) = list.get() else { return };
        let follow = Closure::<dyn FnMut()>::new(move || {
            if let Some(el) = list.get_untracked() {
                if at_newest.get_value() {
                    el.set_scroll_top(el.scroll_height());
                }
            }
        });
        if let Ok(observer) = web_sys::ResizeObserver::new(follow.as_ref().unchecked_ref()) {
            observer.observe(&el);
            let held = send_wrapper::SendWrapper::new((observer, follow));
            on_cleanup(move || held.take().0.disconnect());
        }
    });
    let on_scroll = move |_| {
        if let Some(el) = list.get_untracked() {
            at_newest.set_value(el.scroll_height() - el.scroll_top() - el.client_height() < 80);
            if let Some(older) = on_older {
                if el.scroll_top() < 40 && has_older.get_untracked() {
                    older.run(());
                }
            }
        }
    };
    let alt = move || t_string!(i18n, chat.image).to_string();
    let row = move |item: Item| match item {
        Item::Stored(m) => {
            let side = if m.sender_type == SenderType::System {
                "msg msg-system"
            } else if m.sender_type == mine {
                "msg msg-out"
            } else {
                "msg msg-in"
            };
            let read = m.is_read && m.sender_type == mine;
            view! {
                <li class=side data-testid="msg" data-seq=m.seq data-state="stored">
                    <Show when=move || side == "msg msg-in">
                        <span class="msg-from">{m.sender_account.clone()}</span>
                    </Show>
                    {body(m.content.clone(), m.content_type == "image", alt)}
                    <span class="msg-meta">
                        {clock_time(&m.sent_at)}
                        {read.then(|| view! { <span class="msg-read">" · "{t!(i18n, chat.read)}</span> })}
                    </span>
                </li>
            }
            .into_any()
        }
        Item::Outgoing(m) => {
            let state = match m.state {
                MsgState::Pending => "pending",
                MsgState::Sending => "sending",
                MsgState::Sent => "sent",
                MsgState::Failed => "failed",
            };
            let id = m.client_msg_id.clone();
            view! {
                <li class=format!("msg msg-out msg-{state}") data-testid="msg" data-state=state>
                    {body(m.content.clone(), m.image, alt)}
                    <span class="msg-meta">
                        {match m.state {
                            MsgState::Pending => t_string!(i18n, chat.pending).to_string(),
                            MsgState::Sending => t_string!(i18n, chat.sending).to_string(),
                            MsgState::Sent => t_string!(i18n, chat.sent).to_string(),
                            MsgState::Failed => t_string!(i18n, chat.failed).to_string(),
                        }}
                    </span>
                    {(m.state == MsgState::Failed).then(|| view! {
                        <button class="button link" data-testid="msg-retry" on:click=move |_| live.retry(&id)>
                            {t!(i18n, chat.retry)}
                        </button>
                    })}
                </li>
            }
            .into_any()
        }
    };
    let rows = move || {
        let mut day = String::new();
        items
            .get()
            .into_iter()
            .map(|item| {
                let sep = match &item {
                    Item::Stored(m) if day_of(&m.sent_at) != day => {
                        day = day_of(&m.sent_at).to_owned();
                        Some(view! { <li class="day-sep" data-testid="day-sep">{day.clone()}</li> })
                    }
                    _ => None,
                };
                view! { {sep} {row(item)} }
            })
            .collect_view()
    };
    view! {
        <ol class="thread" data-testid="thread" node_ref=list aria-live="polite" on:scroll=on_scroll>
            {on_older.map(|older| view! {
                <li class="thread-older">
                    <Show
                        when=move || has_older.get()
                        fallback=move || view! { <span class="muted" data-testid="all-loaded">{t!(i18n, chat.all_loaded)}</span> }
                    >
                        <button class="button link" data-testid="load-older" on:click=move |_| older.run(())>
                            {t!(i18n, chat.load_older)}
                        </button>
                    </Show>
                </li>
            })}
            {rows}
        </ol>
        {typing.map(|t| view! {
            <Show when=move || t.get()>
                <p class="typing" data-testid="typing">{t!(i18n, chat.typing)}</p>
            </Show>
        })}
    }
    .into_any()
}

/// A message's body: its text, or the image it names (an upload id),
/// opening full size in a new tab.
fn body(content: String, image: bool, alt: impl Fn() -> String + Send + 'static) -> AnyView {
    if image {
        let url = protocol::chat::upload_url(&content);
        let href = url.clone();
        view! {
            <a class="msg-image" href=href target="_blank" rel="noopener">
                <img src=url alt=alt loading="lazy" data-testid="msg-image"/>
            </a>
        }
        .into_any()
    } else {
        view! { <p class="msg-text">{content}</p> }.into_any()
    }
}

/// What the composer hands its page for a picture: the event that carries
/// it (the file input's `change`, a `paste` or a `drop`), and where to say
/// how its upload goes: [`UPLOADING`] while it runs, the HTTP status it
/// failed with, `None` once it is uploaded.
pub type ImagePicked = (leptos::ev::Event, RwSignal<Option<u16>>);

/// An upload under way (no HTTP status is 1).
pub const UPLOADING: u16 = 1;

/// The message box: Enter sends, Shift+Enter adds a line; with `on_image`,
/// a button to send a picture (PNG, JPEG, GIF or WebP), which may also be
/// pasted into the box or dropped on the page.
#[component]
pub fn Composer(
    on_send: Callback<String>,
    #[prop(optional)] on_typing: Option<Callback<()>>,
    #[prop(optional)] on_image: Option<Callback<ImagePicked>>,
    /// The text in the box, when the page puts text there too.
    #[prop(optional)]
    draft: Option<RwSignal<String>>,
    #[prop(into)] disabled: Signal<bool>,
) -> AnyView {
    let i18n = use_i18n();
    let text = draft.unwrap_or_else(|| RwSignal::new(String::new()));
    let image_failed = RwSignal::new(None::<u16>);
    let attach = on_image.map(|picked| {
        view! {
            <label class="button attach" title=move || t_string!(i18n, chat.attach).to_string() data-testid="attach">
                {t!(i18n, chat.image)}
                <input type="file" hidden data-testid="attach-input"
                    accept="image/png,image/jpeg,image/gif,image/webp"
                    prop:disabled=move || disabled.get()
                    on:change=move |ev| {
                        image_failed.set(None);
                        picked.run((ev, image_failed));
                    }/>
            </label>
        }
    });
    // A picture pasted into the box, or dropped anywhere on the page while
    // the box is there, goes as if picked. A file dropped is never left to
    // the browser, which would open it in place of the page.
    let take_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        if let Some(picked) = on_image {
            if crate::chat::browser::carries_file(&ev) {
                ev.prevent_default();
                if !disabled.get_untracked() {
                    image_failed.set(None);
                    picked.run((ev, image_failed));
                }
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    if on_image.is_some() {
        let over = window_event_listener(leptos::ev::dragover, |ev| ev.prevent_default());
        let drop = window_event_listener(leptos::ev::drop, move |ev| take_file(ev.into()));
        on_cleanup(move || {
            over.remove();
            drop.remove();
        });
    }
    let submit = move || {
        let body = text.get_untracked();
        if body.trim().is_empty() || disabled.get_untracked() {
            return;
        }
        on_send.run(body);
        text.set(String::new());
        image_failed.set(None);
    };
    view! {
        <form class="composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
            <textarea
                data-testid="composer"
                rows="2"
                maxlength="5000"
                placeholder=move || t_string!(i18n, chat.placeholder).to_string()
                prop:value=move || text.get()
                prop:disabled=move || disabled.get()
                on:input=move |ev| {
                    text.set(event_target_value(&ev));
                    if let Some(t) = on_typing { t.run(()); }
                }
                on:paste=move |ev| take_file(ev.into())
                on:keydown=move |ev| {
                    // An Enter that picks an input method's word (Safari
                    // says so by key code 229 only) is not a send.
                    let composing = ev.is_composing() || ev.key_code() == 229;
                    if ev.key() == "Enter" && !ev.shift_key() && !composing {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            {attach}
            <button type="submit" class="button primary" data-testid="send" prop:disabled=move || disabled.get()>
                {t!(i18n, chat.send)}
            </button>
        </form>
        {move || image_failed.get().map(|status| match status {
            UPLOADING => view! {
                <p class="muted" data-testid="image-uploading">{t!(i18n, chat.image_uploading)}</p>
            }
            .into_any(),
            _ => view! {
                <p class="notice" data-testid="image-failed">
                    {match status {
                        413 => t_string!(i18n, chat.image_too_big).to_string(),
                        400 => t_string!(i18n, chat.image_kind).to_string(),
                        429 => t_string!(i18n, chat.image_limit).to_string(),
                        _ => t_string!(i18n, chat.image_failed).to_string(),
                    }}
                </p>
            }
            .into_any(),
        })}
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(seq: i64, client: Option<&str>) -> ChatMessage {
        ChatMessage {
            message_id: format!("m{seq}"),
            session_id: "s".into(),
            seq,
            sender_account: "p".into(),
            sender_type: SenderType::User,
            content: format!("#{seq}"),
            content_type: "text".into(),
            sent_at: "2026-11-23T18:00:00.000+08:00".into(),
            is_read: false,
            client_msg_id: client.map(Into::into),
        }
    }

    fn out(id: &str, seq: Option<i64>) -> OutMsg {
        OutMsg {
            client_msg_id: id.into(),
            session_id: "s".into(),
            content: id.into(),
            image: false,
            state: if seq.is_some() {
                MsgState::Sent
            } else {
                MsgState::Pending
            },
            tries: 1,
            seq,
            at_ms: 0.0,
        }
    }

    #[test]
    fn outgoing_messages_show_until_the_thread_has_them() {
        let mut thread = BTreeMap::new();
        thread.insert(1, stored(1, None));
        thread.insert(2, stored(2, Some("a")));
        let outbox = vec![out("a", Some(2)), out("b", Some(3)), out("c", None)];
        let items = merge(&thread, &outbox, "s");
        let kinds: Vec<String> = items
            .iter()
            .map(|i| match i {
                Item::Stored(m) => format!("s{}", m.seq),
                Item::Outgoing(m) => format!("o{}", m.client_msg_id),
            })
            .collect();
        assert_eq!(kinds, vec!["s1", "s2", "ob", "oc"]);
        assert!(merge(&thread, &outbox, "other").len() == 2);
        // An acknowledged message the thread has gone past is not put at
        // its end: the thread shows it in its place, or a page it has not
        // loaded holds it (an old message of ours in a long chat).
        thread.insert(9, stored(9, None));
        let items = merge(&thread, &outbox, "s");
        let outgoing: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                Item::Outgoing(m) => Some(m.client_msg_id.as_str()),
                Item::Stored(_) => None,
            })
            .collect();
        assert_eq!(outgoing, ["c"]);
        assert_eq!(clock_time("2026-11-23T18:05:09.000+08:00"), "18:05");
    }

    #[test]
    fn times_are_formatted_at_the_given_offset() {
        // 2025-11-23 17:00 UTC is 2025-11-24 01:00 in Shanghai.
        let ms = 1_763_917_200_000;
        assert_eq!(format_at_offset(ms, 8 * 3_600_000), "2025-11-24 01:00");
        assert_eq!(format_at_offset(ms, 0), "2025-11-23 17:00");
        assert_eq!(
            utc_offset_ms("2026-11-24T01:00:00.000+08:00"),
            Some(8 * 3_600_000)
        );
    }

    #[test]
    fn the_list_shows_a_date_for_other_days() {
        // 2026-11-24 01:00 in Shanghai is 2026-11-23 17:00 UTC.
        let now = 1_763_917_200_000.0 + 365.0 * 86_400_000.0;
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_416), "2025-11-24");
        assert_eq!(civil_date(20_781), "2026-11-24");
        assert_eq!(list_time("2026-11-24T00:30:00.000+08:00", now), "00:30");
        assert_eq!(
            list_time("2026-11-23T22:44:00.000+08:00", now),
            "11-23 22:44"
        );
        assert_eq!(
            list_time("2025-12-31T08:00:00.000+08:00", now),
            "2025-12-31"
        );
        // The same instant in UTC is still yesterday there.
        assert_eq!(list_time("2026-11-23T16:30:00.000Z", now), "16:30");
        assert_eq!(list_time("2026-11-23T22:44:00.000+08:00", 0.0), "22:44");
    }
}
