//! How the desk gets an agent's attention when a message arrives in a chat
//! they are not looking at: a short tone (Web Audio, no sound file to
//! download) and a desktop notification when the agent allowed them. Both
//! are browser-only; on the server these do nothing.

#[cfg(feature = "hydrate")]
thread_local! {
    // One context for the page: browsers cap how many may exist.
    static AUDIO: std::cell::RefCell<Option<web_sys::AudioContext>> =
        const { std::cell::RefCell::new(None) };
}

/// Makes the page's audio context ahead of the first tone: making one
/// takes Chromium 50–60 ms on the page's thread, which, left to the first
/// message that chimes, dropped frames just as the message showed.
#[cfg(feature = "hydrate")]
pub fn warm_up() {
    AUDIO.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            *slot = web_sys::AudioContext::new().ok();
        }
    });
}

#[cfg(not(feature = "hydrate"))]
pub fn warm_up() {}

/// Plays a short two-note tone. Answers whether it could.
#[cfg(feature = "hydrate")]
pub fn chime() -> bool {
    warm_up();
    AUDIO.with(|slot| {
        let slot = slot.borrow();
        let Some(ctx) = slot.as_ref() else {
            return false;
        };
        let _ = ctx.resume();
        let t = ctx.current_time();
        [(880.0, 0.0), (1320.0, 0.12)].iter().all(|&(hz, at)| {
            let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else {
                return false;
            };
            osc.frequency().set_value(hz);
            gain.gain().set_value(0.06);
            osc.connect_with_audio_node(&gain).is_ok()
                && gain.connect_with_audio_node(&ctx.destination()).is_ok()
                && osc.start_with_when(t + at).is_ok()
                && osc.stop_with_when(t + at + 0.1).is_ok()
        })
    })
}

#[cfg(not(feature = "hydrate"))]
pub fn chime() -> bool {
    false
}

/// Whether desktop notifications are allowed (`Some(true)`), refused
/// (`Some(false)`) or not asked yet (`None`).
#[cfg(feature = "hydrate")]
pub fn notifications_allowed() -> Option<bool> {
    use web_sys::{Notification, NotificationPermission};
    match Notification::permission() {
        NotificationPermission::Granted => Some(true),
        NotificationPermission::Denied => Some(false),
        _ => None,
    }
}

#[cfg(not(feature = "hydrate"))]
pub fn notifications_allowed() -> Option<bool> {
    None
}

/// Asks the browser for permission; answers the outcome.
#[cfg(feature = "hydrate")]
pub async fn ask_notifications() -> Option<bool> {
    if let Ok(p) = web_sys::Notification::request_permission() {
        let _ = wasm_bindgen_futures::JsFuture::from(p).await;
    }
    notifications_allowed()
}

/// Shows a desktop notification if allowed; one per chat at a time (a new
/// one replaces the older one of the same chat). Clicking it brings the
/// page forward and runs `on_click` (the desk opens that chat).
#[cfg(feature = "hydrate")]
pub fn notify(title: &str, body: &str, chat: &str, on_click: impl FnOnce() + 'static) {
    use wasm_bindgen::JsCast;
    if notifications_allowed() != Some(true) {
        return;
    }
    let opts = web_sys::NotificationOptions::new();
    opts.set_body(body);
    opts.set_tag(&format!("kefu-{chat}"));
    if let Ok(n) = web_sys::Notification::new_with_options(title, &opts) {
        let shown = n.clone();
        let click = wasm_bindgen::closure::Closure::once_into_js(move || {
            let _ = leptos::prelude::window().focus();
            shown.close();
            on_click();
        });
        n.set_onclick(Some(click.unchecked_ref()));
    }
}

#[cfg(not(feature = "hydrate"))]
pub fn notify(_title: &str, _body: &str, _chat: &str, _on_click: impl FnOnce() + 'static) {}

/// Whether the page is hidden (another tab, minimised).
#[cfg(feature = "hydrate")]
pub fn page_hidden() -> bool {
    leptos::prelude::document().hidden()
}

#[cfg(not(feature = "hydrate"))]
pub fn page_hidden() -> bool {
    false
}

/// A saved on/off preference (localStorage); `default` when unset.
#[cfg(feature = "hydrate")]
pub fn load_flag(key: &str, default: bool) -> bool {
    super::browser::storage()
        .and_then(|s| s.get_item(key).ok().flatten())
        .map_or(default, |v| v == "1")
}

#[cfg(not(feature = "hydrate"))]
pub fn load_flag(_key: &str, default: bool) -> bool {
    default
}

#[cfg(feature = "hydrate")]
pub fn save_flag(key: &str, on: bool) {
    if let Some(s) = super::browser::storage() {
        let _ = s.set_item(key, if on { "1" } else { "0" });
    }
}

#[cfg(not(feature = "hydrate"))]
pub fn save_flag(_key: &str, _on: bool) {}
