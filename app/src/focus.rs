//! Where the keyboard focus goes when the element that had it leaves the page.
//!
//! A button that takes its own row away (delete a staff member or a player,
//! any action after which a list is drawn again) takes the focus with it, and
//! the browser puts the focus on the page's body: the next Tab starts over
//! from the top of the page and a screen reader loses its place. The content
//! area (`<main tabindex="-1">`, focusable from script, not by Tab) takes it
//! instead, so the keyboard goes on from the page's content.
//!
//! Only when the element that had the focus is no longer in the document: a
//! click on an empty part of the page also leaves the focus on the body, and
//! that is left alone. A page that puts the focus somewhere itself (a form
//! that opens on its first field) does so after the redraw, and wins.

use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use leptos::wasm_bindgen::JsCast;

/// Gives the focus to the content area.
pub fn to_content() {
    #[cfg(feature = "hydrate")]
    if let Some(main) = document().query_selector("main").ok().flatten() {
        let _ = main.unchecked_into::<web_sys::HtmlElement>().focus();
    }
}

/// Whether nothing but the page's body has the focus.
pub fn lost() -> bool {
    let doc = document();
    doc.active_element()
        .is_none_or(|e| doc.body().is_some_and(|b| *b == e))
}

/// Watches for the focused element leaving the document, for the page's
/// lifetime; call once, from an effect of `App` (the browser only).
pub fn keep_on_page() {
    #[cfg(feature = "hydrate")]
    {
        use std::cell::RefCell;
        use std::rc::Rc;
        use wasm_bindgen::closure::Closure;

        let doc = document();
        let Some(body) = doc.body() else { return };
        // The element that last took the focus (`focusin` bubbles; `focus`
        // does not).
        let had: Rc<RefCell<Option<web_sys::Element>>> = Rc::default();
        let on_focus = Closure::<dyn FnMut(web_sys::Event)>::new({
            let had = had.clone();
            move |e: web_sys::Event| {
                *had.borrow_mut() = e.target().and_then(|t| t.dyn_into().ok());
            }
        });
        let _ = doc.add_event_listener_with_callback("focusin", on_focus.as_ref().unchecked_ref());
        // Checked after each batch of changes to the page: one look at one
        // element, so a busy desk's live list costs next to nothing.
        let on_change = Closure::<dyn FnMut()>::new(move || {
            let gone = had.borrow().as_ref().is_some_and(|e| !e.is_connected());
            if gone {
                had.borrow_mut().take();
                if lost() {
                    to_content();
                }
            }
        });
        let init = web_sys::MutationObserverInit::new();
        init.set_child_list(true);
        init.set_subtree(true);
        if let Ok(observer) = web_sys::MutationObserver::new(on_change.as_ref().unchecked_ref()) {
            let _ = observer.observe_with_options(&body, &init);
        }
        // Both live as long as the page.
        on_focus.forget();
        on_change.forget();
    }
}
