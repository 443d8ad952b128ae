//! The desk's quick replies (快捷回复, rules in `domain::replies`): a
//! button beside the message box opens the list; picking one puts its text
//! in the box to read over and send; one's own are added and deleted here,
//! and admins keep the team's.

use leptos::prelude::*;

use crate::chat::api::{add_quick_reply, delete_quick_reply, quick_replies};
use crate::i18n::*;
use crate::pages::players::failure_text;

#[component]
pub fn QuickReplies(draft: RwSignal<String>, admin: bool) -> AnyView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let version = RwSignal::new(0u32);
    // Asked for when first opened, and again after each change.
    let list = LocalResource::new(move || {
        let (open, _) = (open.get(), version.get());
        async move {
            if open {
                Some(quick_replies().await)
            } else {
                None
            }
        }
    });
    let text = RwSignal::new(String::new());
    let team = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let add = Action::new_local(move |(content, team): &(String, bool)| {
        add_quick_reply(content.clone(), *team)
    });
    let delete = Action::new_local(move |id: &i64| delete_quick_reply(*id));
    Effect::new(move |_| {
        if let Some(done) = add.value().get() {
            match done {
                Ok(_) => {
                    text.set(String::new());
                    error.set(None);
                }
                Err(e) => error.set(Some(failure_text(i18n, &e))),
            }
            version.update(|v| *v += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(done) = delete.value().get() {
            error.set(done.err().map(|e| failure_text(i18n, &e)));
            version.update(|v| *v += 1);
        }
    });
    let rows = move || {
        list.get().flatten().map(|r| match r {
            Err(e) => view! { <p class="form-error" role="alert">{failure_text(i18n, &e)}</p> }.into_any(),
            Ok(replies) if replies.is_empty() => {
                view! { <p class="muted">{t!(i18n, chat.replies_none)}</p> }.into_any()
            }
            Ok(replies) => view! {
                <ul class="replies" data-testid="replies">
                    {replies.into_iter().map(|r| {
                        let content = r.content.clone();
                        let id = r.id;
                        view! {
                            <li data-testid="reply">
                                <button type="button" class="button link reply-pick" data-testid="reply-pick"
                                    on:click=move |_| { draft.set(content.clone()); open.set(false); }>
                                    {r.team.then(|| view! { <span class="badge">{t!(i18n, chat.replies_team)}</span>" " })}
                                    {r.content.clone()}
                                </button>
                                {r.deletable.then(|| view! {
                                    <button type="button" class="button link danger" data-testid="reply-delete"
                                        title=move || t_string!(i18n, players.delete).to_string()
                                        on:click=move |_| { delete.dispatch(id); }>"×"</button>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any(),
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // A second click while the first is on its way would add it twice.
        if !add.pending().get_untracked() {
            add.dispatch((text.get_untracked(), team.get_untracked()));
        }
    };
    view! {
        <div class="quick-replies">
            <button type="button" class="button link" data-testid="replies-toggle"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>
                {t!(i18n, chat.replies)}
            </button>
            <Show when=move || open.get()>
                <div class="replies-panel" data-testid="replies-panel">
                    {rows}
                    <form class="reply-add" on:submit=submit>
                        <textarea rows="2" maxlength="1000" data-testid="reply-text"
                            placeholder=move || t_string!(i18n, chat.replies_new).to_string()
                            prop:value=move || text.get()
                            on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                        {admin.then(|| view! {
                            <label class="check">
                                <input type="checkbox" data-testid="reply-team"
                                    prop:checked=move || team.get()
                                    on:change=move |ev| team.set(event_target_checked(&ev))/>
                                {t!(i18n, chat.replies_for_team)}
                            </label>
                        })}
                        <button type="submit" class="button" data-testid="reply-save"
                            disabled=move || add.pending().get()>{t!(i18n, chat.replies_add)}</button>
                    </form>
                    {move || error.get().map(|e| view! { <p class="form-error" role="alert" data-testid="reply-error">{e}</p> })}
                </div>
            </Show>
        </div>
    }
    .into_any()
}
