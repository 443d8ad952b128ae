//! Asking before something that cannot be undone, in a dialog of the page.
//!
//! Why not the browser's `confirm()`: it stops the whole page (the desk's
//! socket, timers and live list freeze while it is open), it cannot be
//! styled or translated beyond its text, and a browser may offer to
//! suppress a page's further dialogs, after which `confirm()` answers "no"
//! at once and the button silently does nothing.
//!
//! One `<dialog>` for the whole app ([`ConfirmDialog`], placed once in
//! `App`), opened with `showModal()`: the rest of the page is inert while
//! it is open, focus stays inside, and Escape cancels. Focus starts on
//! "Cancel", so an Enter pressed out of habit does not delete anything.
//! Pages call [`Confirm::ask`] with the question and what to do on "yes".
//!
//! A question belongs to the address it was asked on: when the address
//! changes under it (Back, Forward), it is withdrawn unanswered, so "yes"
//! never acts for a page that is no longer shown.

use std::sync::Arc;

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::i18n::*;

/// What is being asked, and what "yes" does.
#[derive(Clone)]
struct Question {
    text: String,
    /// The label of the "yes" button (what will happen: "Delete", "Recharge").
    yes: String,
    /// A destructive action: the "yes" button is drawn as a danger button.
    danger: bool,
    /// A plain closure, not a `Callback`: a `Callback` belongs to the
    /// reactive owner that made it, and that owner (say, the desk's header,
    /// redrawn when a message arrives) may be gone before "yes" is pressed.
    on_yes: Arc<dyn Fn() + Send + Sync>,
}

/// How the "yes" button looks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Cannot be undone (delete, clear).
    Danger,
    /// Changes data the usual way (recharge, transfer).
    Plain,
}

/// The handle pages take while they render (event handlers run without the
/// component's context, so it cannot be looked up there).
#[derive(Clone, Copy)]
pub struct Confirm(RwSignal<Option<Question>>);

/// The app's confirm dialog; call while the component renders.
pub fn use_confirm() -> Confirm {
    expect_context::<Confirm>()
}

impl Confirm {
    /// Opens the dialog with `text`; `on_yes` runs only when the user presses
    /// the button labelled `yes`. A question asked while another is open
    /// replaces it (the first counts as cancelled).
    pub fn ask(
        self,
        text: impl Into<String>,
        yes: impl Into<String>,
        kind: Kind,
        on_yes: impl Fn() + Send + Sync + 'static,
    ) {
        self.0.set(Some(Question {
            text: text.into(),
            yes: yes.into(),
            danger: kind == Kind::Danger,
            on_yes: Arc::new(on_yes),
        }));
    }
}

/// Makes [`use_confirm`] work below this point; call once, high in `App`.
pub fn provide() {
    provide_context(Confirm(RwSignal::new(None)));
}

/// The one dialog of the app, placed inside the `Router` (it watches the
/// address). Rendered closed on the server, so it costs nothing until a
/// question is asked.
#[component]
pub fn ConfirmDialog() -> impl IntoView {
    let i18n = use_i18n();
    let Confirm(pending) = use_confirm();
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let cancel_button = NodeRef::<leptos::html::Button>::new();
    // The address changed while a question was open: it is withdrawn.
    let location = use_location();
    Effect::watch(
        move || (location.pathname.get(), location.search.get()),
        move |_, _, _| {
            if pending.with_untracked(Option::is_some) {
                pending.set(None);
            }
        },
        false,
    );
    // Opens and closes the element as the question comes and goes.
    Effect::new(move |_| {
        let open = pending.with(Option::is_some);
        if let Some(d) = dialog.get() {
            if open && !d.open() {
                let _ = d.show_modal();
                if let Some(b) = cancel_button.get() {
                    let _ = b.focus();
                }
            } else if !open && d.open() {
                // Closing gives the focus back to what had it when the question
                // was asked; if that is gone, the focus would fall to the page's
                // body and the keyboard start over from the top: the content
                // area takes it instead. Looked at once the page has redrawn:
                // a question withdrawn by Back closes before the page it was
                // asked on takes its button away.
                d.close();
                request_animation_frame(|| {
                    if crate::focus::lost() {
                        crate::focus::to_content();
                    }
                });
            }
        }
    });
    let answer = move |yes: bool| {
        // Taken out first: the dialog is closed before the action runs, and
        // a second press cannot run it twice.
        let question = pending.try_update(Option::take).flatten();
        if let (true, Some(q)) = (yes, question) {
            (q.on_yes)();
        }
    };
    view! {
        <dialog node_ref=dialog class="confirm" data-testid="confirm"
            role="alertdialog" aria-modal="true" aria-labelledby="confirm-text"
            // Escape, or the dialog closed any other way: cancelled.
            on:close=move |_| answer(false)>
            <p id="confirm-text" data-testid="confirm-text">
                {move || pending.with(|q| q.as_ref().map(|q| q.text.clone()))}
            </p>
            <div class="confirm-actions">
                <button type="button" class="button" node_ref=cancel_button
                    data-testid="confirm-no" on:click=move |_| answer(false)>
                    {t!(i18n, chat.cancel)}
                </button>
                <button type="button"
                    class=move || if pending.with(|q| q.as_ref().is_some_and(|q| q.danger)) { "button danger-solid" } else { "button primary" }
                    data-testid="confirm-yes" on:click=move |_| answer(true)>
                    {move || pending.with(|q| q.as_ref().map(|q| q.yes.clone()))}
                </button>
            </div>
        </dialog>
    }
}
