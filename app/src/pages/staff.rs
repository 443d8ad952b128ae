//! Staff accounts (seed 000 §3) and the audit log, for super admins.

use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_meta::Title;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;
use protocol::staff::{AuditQuery, CreateStaffRequest};
use protocol::UserType;

use crate::api;
use crate::confirm::{use_confirm, Kind};
use crate::i18n::*;
use crate::pages::players::{failure_text, short_time};

#[component]
pub fn StaffPage(me: i64) -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let staff = Resource::new(api::source(move || version.get()), |_| api::list_staff());
    let message = RwSignal::new(None::<(bool, String)>);
    let act = Action::new(move |(id, action): &(i64, String)| {
        let (id, action) = (*id, action.clone());
        async move { api::staff_action(id, action).await }
    });
    Effect::new(move |_| match act.value().get() {
        Some(Ok(())) => {
            message.set(Some((true, t_string!(i18n, staff.done).to_string())));
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => message.set(Some((false, failure_text(i18n, &e)))),
        None => {}
    });
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new("customer_service".to_owned());
    let create = Action::new(move |req: &CreateStaffRequest| {
        let req = req.clone();
        async move { api::create_staff(req).await }
    });
    Effect::new(move |_| match create.value().get() {
        Some(Ok(_)) => {
            message.set(Some((true, t_string!(i18n, staff.created).to_string())));
            username.set(String::new());
            password.set(String::new());
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => message.set(Some((false, failure_text(i18n, &e)))),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let r = role.get_untracked();
        create.dispatch(CreateStaffRequest {
            username: username.get_untracked(),
            password: password.get_untracked(),
            is_super: Some(r == "super_admin"),
            user_type: Some(if r == "super_admin" {
                "admin".to_owned()
            } else {
                r
            }),
        });
    };
    let confirm = use_confirm();
    // A new password is typed twice, hidden, in a form of the page (not the
    // browser's prompt, which shows it in clear and cannot be styled).
    let changing = RwSignal::new(None::<(i64, String)>);
    let new_password = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let password_error = RwSignal::new(false);
    let close_password = move || {
        changing.set(None);
        new_password.set(String::new());
        again.set(String::new());
        password_error.set(false);
    };
    let submit_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let p = new_password.get_untracked();
        if p != again.get_untracked() {
            password_error.set(true);
            return;
        }
        if let Some((id, _)) = changing.get_untracked() {
            act.dispatch((id, format!("password:{p}")));
        }
        close_password();
    };
    let password_form = move || {
        changing.get().map(|(_, name)| {
            view! {
                <form class="card form inline-form" on:submit=submit_password data-testid="password-form">
                    <p><strong>{t_string!(i18n, staff.password_title, name = name).to_string()}</strong></p>
                    <label><span>{t!(i18n, staff.new_password)}</span>
                        <input type="password" autocomplete="new-password" bind:value=new_password required data-testid="password-new"/></label>
                    <label><span>{t!(i18n, staff.password_again)}</span>
                        <input type="password" autocomplete="new-password" bind:value=again required data-testid="password-again"/></label>
                    <button type="submit" class="button primary" data-testid="password-save">{t!(i18n, players.save)}</button>
                    <button type="button" class="button link" on:click=move |_| close_password()>{t!(i18n, chat.cancel)}</button>
                    {move || password_error.get().then(|| view! {
                        <p class="form-error" role="alert" data-testid="password-error">{t!(i18n, staff.password_mismatch)}</p>
                    })}
                </form>
            }
        })
    };
    view! {
        <Title text=t_string!(i18n, nav.staff).to_string()/>
        <div class="page-head">
            <h1 data-testid="page-title">{t!(i18n, nav.staff)}</h1>
            <A href="/staff/audit" attr:class="button" attr:data-testid="audit-link">{t!(i18n, staff.audit)}</A>
        </div>
        <form class="card form inline-form" on:submit=submit data-testid="staff-form">
            <label><span>{t!(i18n, login.username)}</span><input type="text" bind:value=username required data-testid="staff-username"/></label>
            <label><span>{t!(i18n, login.password)}</span><input type="password" bind:value=password required data-testid="staff-password"/></label>
            <label><span>{t!(i18n, staff.role)}</span>
                <select bind:value=role data-testid="staff-role">
                    <option value="customer_service">{t!(i18n, roles.customer_service)}</option>
                    <option value="admin">{t!(i18n, roles.admin)}</option>
                    <option value="super_admin">{t!(i18n, roles.super_admin)}</option>
                </select></label>
            <button type="submit" class="button primary" data-testid="staff-create">{t!(i18n, staff.create)}</button>
        </form>
        {password_form}
        {move || message.get().map(|(ok, text)| view! { <p class=if ok { "toast" } else { "form-error" } role="status" data-testid="toast">{text}</p> })}
        <Transition fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
            {move || Suspend::new(async move {
                match staff.await {
                    Err(e) => view! { <p class="form-error">{failure_text(i18n, &e)}</p> }.into_any(),
                    Ok(rows) => view! {
                        <div class="table-wrap"><table class="table" data-testid="staff-table">
                            <thead><tr>
                                <th>"ID"</th><th>{t!(i18n, login.username)}</th><th>{t!(i18n, staff.role)}</th>
                                <th>{t!(i18n, staff.status)}</th><th>{t!(i18n, staff.last_login)}</th><th>{t!(i18n, staff.actions)}</th>
                            </tr></thead>
                            <tbody>
                                {rows.into_iter().map(|s| {
                                    let id = s.id;
                                    let active = s.status == "active";
                                    let name = s.username.clone();
                                    let role = match s.user_type {
                                        UserType::SuperAdmin => t_string!(i18n, roles.super_admin).to_string(),
                                        UserType::Admin => t_string!(i18n, roles.admin).to_string(),
                                        UserType::CustomerService => t_string!(i18n, roles.customer_service).to_string(),
                                    };
                                    view! {
                                        <tr data-testid=format!("staff-{}", s.username)>
                                            <td>{id}</td>
                                            <td>{s.username.clone()}</td>
                                            <td>{role}</td>
                                            <td data-testid="staff-status">{if active { t_string!(i18n, staff.active).to_string() } else { t_string!(i18n, staff.inactive).to_string() }}</td>
                                            <td>{s.last_login.as_deref().map(short_time).unwrap_or_default()}</td>
                                            <td class="row-actions">
                                                <Show when=move || id != me>
                                                    <button class="button" data-testid="staff-toggle" on:click=move |_| {
                                                        act.dispatch((id, format!("status:{}", if active { "inactive" } else { "active" })));
                                                    }>{if active { t_string!(i18n, staff.disable).to_string() } else { t_string!(i18n, staff.enable).to_string() }}</button>
                                                </Show>
                                                <button class="button" data-testid="staff-password-change" on:click={
                                                    let name = name.clone();
                                                    move |_| {
                                                        close_password();
                                                        changing.set(Some((id, name.clone())));
                                                    }
                                                }>{t!(i18n, staff.change_password)}</button>
                                                <button class="button" data-testid="staff-force-logout" on:click=move |_| {
                                                    act.dispatch((id, "force_logout".to_owned()));
                                                }>{t!(i18n, staff.force_logout)}</button>
                                                <Show when=move || id != me>
                                                    <button class="button danger" data-testid="staff-delete" on:click={
                                                        let name = name.clone();
                                                        move |_| {
                                                            confirm.ask(
                                                                t_string!(i18n, staff.confirm_delete, name = name.clone()).to_string(),
                                                                t_string!(i18n, players.delete).to_string(),
                                                                Kind::Danger,
                                                                move || { act.dispatch((id, "delete".to_owned())); },
                                                            );
                                                        }
                                                    }>{t!(i18n, players.delete)}</button>
                                                </Show>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table></div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let q = use_query_map();
    let query = Memo::new(move |_| {
        let m = q.get();
        let g = |k: &str| m.get(k).filter(|v| !v.is_empty());
        AuditQuery {
            page: g("page"),
            size: g("size"),
            actor: g("actor"),
            action: g("action"),
            target: g("target"),
            from: g("from"),
            to: g("to"),
        }
    });
    let data = Resource::new(api::source(move || query.get()), api::list_audit);
    let value = move |k: &'static str| move || q.get().get(k).unwrap_or_default();
    view! {
        <Title text=t_string!(i18n, staff.audit).to_string()/>
        <h1 data-testid="page-title">{t!(i18n, staff.audit)}</h1>
        <Form method="GET" action="/staff/audit" on_form_data=super::only_filled() attr:class="filters">
            <label><span>{t!(i18n, staff.actor)}</span><input type="text" name="actor" prop:value=value("actor")/></label>
            <label><span>{t!(i18n, staff.action)}</span>
                <select name="action" prop:value=value("action") data-testid="audit-action">
                    <option value="">{t!(i18n, audit_action.any)}</option>
                    {AUDIT_ACTIONS.into_iter().map(|a| view! { <option value=a>{action_label(i18n, a)}</option> }).collect_view()}
                </select>
            </label>
            <label><span>{t!(i18n, staff.target)}</span><input type="text" name="target" prop:value=value("target")/></label>
            <label><span>{t!(i18n, staff.from)}</span><input type="date" name="from" prop:value=value("from")/></label>
            <label><span>{t!(i18n, staff.to)}</span><input type="date" name="to" prop:value=value("to")/></label>
            <div class="filter-actions"><button type="submit" class="button primary">{t!(i18n, players.apply)}</button></div>
        </Form>
        <Transition fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="form-error">{failure_text(i18n, &e)}</p> }.into_any(),
                    Ok((rows, total)) => {
                    let m = q.get_untracked();
                    let page: i64 = m.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                    let size: i64 = m.get("size").and_then(|p| p.parse().ok()).unwrap_or(20);
                    let pages = ((total + size - 1) / size).max(1);
                    view! {
                        <p data-testid="total">{t_string!(i18n, players.total, total = total).to_string()}</p>
                        <div class="table-wrap"><table class="table" data-testid="audit-table">
                            <thead><tr>
                                <th>{t!(i18n, players.h.time)}</th><th>{t!(i18n, staff.actor)}</th><th>{t!(i18n, staff.action)}</th>
                                <th>{t!(i18n, staff.target)}</th><th>{t!(i18n, staff.detail)}</th><th>"IP"</th>
                            </tr></thead>
                            <tbody>
                                {rows.is_empty().then(|| view! {
                                    <tr><td colspan="6" class="muted" data-testid="empty">{t!(i18n, staff.audit_empty)}</td></tr>
                                })}
                                {rows.into_iter().map(|e| view! {
                                    <tr>
                                        <td>{e.created_at.get(..19).unwrap_or(&e.created_at).replace('T', " ")}</td>
                                        <td>{e.actor}</td><td data-action=e.action.clone()>{action_label(i18n, &e.action)}</td><td class="clip">{e.target}</td>
                                        <td class="clip">{e.detail}</td><td>{e.ip}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table></div>
                        {crate::pages::players::pager(i18n, "/staff/audit", &m, page, pages)}
                    }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// The actions the audit log records (`domain::audit::record` callers).
const AUDIT_ACTIONS: [&str; 13] = [
    "player.create",
    "player.update",
    "player.delete",
    "player.batch_delete",
    "player.recharge",
    "player.cs_recharge",
    "player.transfer",
    "staff.create",
    "staff.status",
    "staff.password",
    "staff.force_logout",
    "staff.delete",
    "chat.clear",
];

/// An audit action in the reader's language (an unknown one as recorded).
fn action_label(i18n: I18nContext<Locale>, action: &str) -> String {
    match action {
        "player.create" => t_string!(i18n, audit_action.player_create),
        "player.update" => t_string!(i18n, audit_action.player_update),
        "player.delete" => t_string!(i18n, audit_action.player_delete),
        "player.batch_delete" => t_string!(i18n, audit_action.player_batch_delete),
        "player.recharge" => t_string!(i18n, audit_action.player_recharge),
        "player.cs_recharge" => t_string!(i18n, audit_action.player_cs_recharge),
        "player.transfer" => t_string!(i18n, audit_action.player_transfer),
        "staff.create" => t_string!(i18n, audit_action.staff_create),
        "staff.status" => t_string!(i18n, audit_action.staff_status),
        "staff.password" => t_string!(i18n, audit_action.staff_password),
        "staff.force_logout" => t_string!(i18n, audit_action.staff_force_logout),
        "staff.delete" => t_string!(i18n, audit_action.staff_delete),
        "chat.clear" => t_string!(i18n, audit_action.chat_clear),
        other => return other.to_owned(),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::AUDIT_ACTIONS;

    /// Every action the domain records has a label (and a filter option):
    /// the `area.verb` literals of the domain's sources (tests taken out).
    #[test]
    fn every_recorded_action_has_a_label() {
        let mut found = std::collections::BTreeSet::new();
        for (_, text) in crate::source_scan::sources(&["domain/src"]) {
            for (i, piece) in text.split('"').enumerate() {
                let action = piece.split_once('.').is_some_and(|(area, verb)| {
                    ["player", "staff", "chat"].contains(&area)
                        && !verb.is_empty()
                        && verb.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                });
                if i % 2 == 1 && action {
                    found.insert(piece.to_owned());
                }
            }
        }
        assert!(found.len() >= 10, "the scan found only {found:?}");
        let missing: Vec<_> = found
            .iter()
            .filter(|a| !AUDIT_ACTIONS.contains(&a.as_str()))
            .collect();
        assert!(missing.is_empty(), "actions without a label: {missing:?}");
    }
}
