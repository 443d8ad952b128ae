//! The players pages (seed 000 §2): the filtered, sorted, paged table whose
//! filters live in the URL; the detail page with the recharge history and the
//! recharge, transfer and delete actions; the create and edit form. Super
//! admins see the write controls; admins read only (the server checks again).

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_meta::Title;
use leptos_router::components::{Form, A};
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::params::ParamsMap;

use crate::nav::{enc, link_at};
use protocol::players::{Player, PlayerInput, PlayerQuery, RechargeRequest, TransferRequest};

use crate::api::{self, Failure};
use crate::confirm::{use_confirm, Kind};
use crate::i18n::*;
use crate::reason::reason_text;

/// Columns of the table: the wire field (for sorting) and its label key.
const COLUMNS: &[&str] = &[
    "account",
    "real_account",
    "server_name",
    "membership_level",
    "membership_pay_money",
    "membership_expire_date",
    "game_platform",
    "auxiliary_online",
    "is_open",
    "register_date",
    "remarks",
];

pub fn field_label(i18n: I18nContext<Locale>, field: &str) -> String {
    // A filter's field: the column's name, and which bound.
    if let Some(base) = field.strip_suffix("_list") {
        return field_label(i18n, base);
    }
    for (suffix, bound) in [("_min", 0), ("_max", 1), ("_start", 2), ("_end", 3)] {
        if let Some(base) = field.strip_suffix(suffix) {
            let bound = match bound {
                0 => t_string!(i18n, players.bound.min),
                1 => t_string!(i18n, players.bound.max),
                2 => t_string!(i18n, players.bound.start),
                _ => t_string!(i18n, players.bound.end),
            };
            return format!("{}{bound}", field_label(i18n, base));
        }
    }
    match field {
        "username" => t_string!(i18n, login.username),
        "password" => t_string!(i18n, login.password),
        "new_password" => t_string!(i18n, staff.new_password),
        "user_type" => t_string!(i18n, staff.role),
        "from" => t_string!(i18n, analytics.from),
        "to" => t_string!(i18n, analytics.to),
        "account" => t_string!(i18n, players.f.account),
        "real_account" => t_string!(i18n, players.f.real_account),
        "main_account" => t_string!(i18n, players.f.main_account),
        "contact" => t_string!(i18n, players.f.contact),
        "server_name" => t_string!(i18n, players.f.server_name),
        "server_info" => t_string!(i18n, players.f.server_info),
        "membership_level" => t_string!(i18n, players.f.membership_level),
        "membership_pay_money" => t_string!(i18n, players.f.membership_pay_money),
        "membership_expire_date" => t_string!(i18n, players.f.membership_expire_date),
        "game_platform" => t_string!(i18n, players.f.game_platform),
        "auxiliary_online" => t_string!(i18n, players.f.auxiliary_online),
        "is_open" => t_string!(i18n, players.f.is_open),
        "register_date" => t_string!(i18n, players.f.register_date),
        "remarks" => t_string!(i18n, players.f.remarks),
        "websocket_url" => t_string!(i18n, players.f.websocket_url),
        "game_web_url" => t_string!(i18n, players.f.game_web_url),
        "user_login_data" => t_string!(i18n, players.f.user_login_data),
        "amount" => t_string!(i18n, players.recharge.amount),
        "duration" => t_string!(i18n, players.recharge.duration),
        "service_agent" => t_string!(i18n, players.recharge.agent),
        "remark" => t_string!(i18n, players.recharge.remark),
        "target_account" => t_string!(i18n, players.transfer.target),
        "source_account" => t_string!(i18n, players.transfer.source),
        other => return other.to_owned(),
    }
    .to_string()
}

/// A server function failure as a sentence the user can act on.
pub fn failure_text(i18n: I18nContext<Locale>, err: &ServerFnError) -> String {
    let f = Failure::of(err);
    let reason = reason_text(i18n.get_locale_untracked(), &f.detail);
    let head = match f.kind.as_str() {
        "invalid" => {
            return format!(
                "{}: {}",
                field_label(i18n, f.field.as_deref().unwrap_or("")),
                reason.unwrap_or(f.detail)
            )
        }
        "forbidden" => t_string!(i18n, fail.forbidden),
        "conflict" => t_string!(i18n, fail.conflict),
        "not_found" => t_string!(i18n, fail.not_found),
        "unauthenticated" => t_string!(i18n, fail.unauthenticated),
        "internal" => t_string!(i18n, fail.internal),
        _ => t_string!(i18n, fail.network),
    }
    .to_string();
    match reason {
        // The server's reason says more than the headline, in the reader's words.
        Some(reason) => reason,
        None if f.detail.is_empty() => head,
        None => format!("{head} ({})", f.detail),
    }
}

pub fn level_label(i18n: I18nContext<Locale>, level: i64) -> String {
    match level {
        0 => t_string!(i18n, players.level.l0),
        1 => t_string!(i18n, players.level.l1),
        2 => t_string!(i18n, players.level.l2),
        3 => t_string!(i18n, players.level.l3),
        _ => return level.to_string(),
    }
    .to_string()
}

pub fn platform_label(i18n: I18nContext<Locale>, p: i64) -> String {
    match p {
        1 => t_string!(i18n, players.platform.android),
        2 => t_string!(i18n, players.platform.ios),
        3 => t_string!(i18n, players.platform.pc),
        _ => t_string!(i18n, players.platform.unknown),
    }
    .to_string()
}

fn yes_no(i18n: I18nContext<Locale>, v: i64) -> String {
    if v == 1 {
        t_string!(i18n, players.yes).to_string()
    } else {
        t_string!(i18n, players.no).to_string()
    }
}

/// `2026-11-23T18:00:00+08:00` → `2026-11-23 18:00`.
pub fn short_time(t: &str) -> String {
    t.get(..16).unwrap_or(t).replace('T', " ")
}

fn query_from(map: &ParamsMap) -> PlayerQuery {
    let g = |k: &str| map.get(k).filter(|v| !v.is_empty());
    PlayerQuery {
        page: g("page"),
        size: g("size"),
        keyword: g("keyword"),
        account: g("account"),
        real_account: g("real_account"),
        main_account: g("main_account"),
        contact: g("contact"),
        server_name: g("server_name"),
        server_info: g("server_info"),
        membership_level_list: g("membership_level_list"),
        membership_pay_money_min: g("membership_pay_money_min"),
        membership_pay_money_max: g("membership_pay_money_max"),
        membership_expire_date_start: g("membership_expire_date_start"),
        membership_expire_date_end: g("membership_expire_date_end"),
        game_platform_list: g("game_platform_list"),
        auxiliary_online: g("auxiliary_online"),
        is_open: g("is_open"),
        register_date_start: g("register_date_start"),
        register_date_end: g("register_date_end"),
        remarks: g("remarks"),
        sort_by: g("sort_by"),
        sort_order: g("sort_order"),
    }
}

/// The current query with some keys replaced, as a `/players?…` link.
fn link_with(map: &ParamsMap, changes: &[(&str, String)]) -> String {
    link_at("/players", map, changes)
}

#[component]
pub fn PlayersList(is_super: bool) -> impl IntoView {
    let i18n = use_i18n();
    let confirm = use_confirm();
    let query_map = use_query_map();
    let query = Memo::new(move |_| query_from(&query_map.get()));
    let version = RwSignal::new(0u32);
    let data = Resource::new(
        api::source(move || (query.get(), version.get())),
        |(q, _)| api::list_players(q),
    );
    let selected = RwSignal::new(BTreeSet::<String>::new());
    // Another page or filter shows other rows: ticks made on the last one
    // are dropped, so "delete selected" never takes rows out of sight.
    Effect::new(move |prev: Option<PlayerQuery>| {
        let now = query.get();
        if prev.is_some_and(|p| p != now) {
            selected.set(BTreeSet::new());
        }
        now
    });
    let message = RwSignal::new(None::<String>);
    let delete = Action::new(move |accounts: &Vec<String>| {
        let accounts = accounts.clone();
        async move { api::delete_players(accounts).await }
    });
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(n)) => {
            selected.set(BTreeSet::new());
            message.set(Some(
                t_string!(i18n, players.deleted, count = n).to_string(),
            ));
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => message.set(Some(failure_text(i18n, &e))),
        None => {}
    });
    let confirm_delete = move |_| {
        let accounts: Vec<String> = selected.get_untracked().into_iter().collect();
        let ask = t_string!(i18n, players.confirm_delete, count = accounts.len()).to_string();
        let yes = t_string!(i18n, players.delete).to_string();
        confirm.ask(ask, yes, Kind::Danger, move || {
            delete.dispatch(accounts.clone());
        });
    };
    let value = move |k: &'static str| move || query_map.get().get(k).unwrap_or_default();
    let filter = move |k: &'static str, kind: &'static str, hint: &'static str| {
        view! {
            <label>
                <span>{move || field_label(i18n, k.trim_end_matches("_list").trim_end_matches("_min").trim_end_matches("_max").trim_end_matches("_start").trim_end_matches("_end"))}
                    {match k {
                        _ if k.ends_with("_min") || k.ends_with("_start") => " ≥",
                        _ if k.ends_with("_max") || k.ends_with("_end") => " ≤",
                        _ => "",
                    }}
                </span>
                <input type=kind name=k prop:value=value(k) placeholder=hint data-testid=format!("filter-{k}")/>
            </label>
        }
    };
    // A list column (level, platform): a box per value; the query keeps
    // the comma list the API takes (none ticked: no filter).
    let pick_filter = move |k: &'static str, values: &'static [i64]| {
        // A sorted list without repeats (smaller in the bundle than a set).
        let parse = move |q: &ParamsMap| {
            let mut values: Vec<i64> = q
                .get(k)
                .unwrap_or_default()
                .split(',')
                .filter_map(|v| v.trim().parse::<i64>().ok())
                .collect();
            values.sort_unstable();
            values.dedup();
            values
        };
        let picked = RwSignal::new(query_map.with_untracked(parse));
        // Follows the URL (a reset, back and forward), as the other inputs do.
        Effect::new(move |_| picked.set(query_map.with(parse)));
        let joined =
            move || picked.with(|p| p.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
        view! {
            <fieldset class="pick" data-testid=format!("filter-{k}")>
                <legend>{move || field_label(i18n, k)}</legend>
                {values.iter().map(|&v| {
                    let label = move || if k == "game_platform_list" { platform_label(i18n, v) } else { level_label(i18n, v) };
                    view! {
                        <label class="check">
                            <input type="checkbox" value=v.to_string()
                                prop:checked=move || picked.with(|p| p.contains(&v))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    picked.update(|p| { p.retain(|x| *x != v); if on { p.push(v); p.sort_unstable(); } });
                                }/>
                            {label}
                        </label>
                    }
                }).collect_view()}
                <input type="hidden" name=k prop:value=joined/>
            </fieldset>
        }
    };
    // A 0/1 column: any, yes or no (the query keeps its 0 and 1).
    let yes_no_filter = move |k: &'static str| {
        view! {
            <label>
                <span>{move || field_label(i18n, k)}</span>
                <select name=k prop:value=value(k) data-testid=format!("filter-{k}")>
                    <option value="">{t!(i18n, audit_action.any)}</option>
                    <option value="1">{t!(i18n, players.yes)}</option>
                    <option value="0">{t!(i18n, players.no)}</option>
                </select>
            </label>
        }
    };
    view! {
        <Title text=t_string!(i18n, nav.players).to_string()/>
        <div class="page-head">
            <h1 data-testid="page-title">{t!(i18n, nav.players)}</h1>
            <Show when=move || is_super>
                <A href="/players/new" attr:class="button primary" attr:data-testid="player-new">{t!(i18n, players.new)}</A>
            </Show>
        </div>
        <Form method="GET" action="/players" on_form_data=super::only_filled() attr:class="filters" attr:data-testid="filters">
            <label class="wide">
                <span>{t!(i18n, players.keyword)}</span>
                <input type="search" name="keyword" prop:value=value("keyword") data-testid="filter-keyword"
                    placeholder=move || t_string!(i18n, players.keyword_hint).to_string()/>
            </label>
            {filter("account", "text", "")}
            {filter("real_account", "text", "")}
            {filter("main_account", "text", "")}
            {filter("contact", "text", "")}
            {filter("server_name", "text", "")}
            {filter("server_info", "text", "")}
            {pick_filter("membership_level_list", &[0, 1, 2, 3])}
            {pick_filter("game_platform_list", &[1, 2, 3, -1])}
            {filter("membership_pay_money_min", "number", "")}
            {filter("membership_pay_money_max", "number", "")}
            {filter("membership_expire_date_start", "date", "")}
            {filter("membership_expire_date_end", "date", "")}
            {filter("register_date_start", "date", "")}
            {filter("register_date_end", "date", "")}
            {yes_no_filter("auxiliary_online")}
            {yes_no_filter("is_open")}
            {filter("remarks", "text", "")}
            <input type="hidden" name="sort_by" prop:value=value("sort_by")/>
            <input type="hidden" name="sort_order" prop:value=value("sort_order")/>
            <div class="filter-actions">
                <button type="submit" class="button primary" data-testid="filter-apply">{t!(i18n, players.apply)}</button>
                <A href="/players" attr:class="button">{t!(i18n, players.reset)}</A>
            </div>
        </Form>
        <Show when=move || message.get().is_some()>
            <p class="toast" role="status" data-testid="toast">{move || message.get()}</p>
        </Show>
        <Transition fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="form-error" role="alert" data-testid="list-error">{failure_text(i18n, &e)}</p> }.into_any(),
                    Ok((rows, total)) => {
                        let q = query.get_untracked();
                        let page: i64 = q.page.as_deref().and_then(|p| p.parse().ok()).unwrap_or(1);
                        let size: i64 = q.size.as_deref().and_then(|p| p.parse().ok()).unwrap_or(20);
                        let pages = ((total + size - 1) / size).max(1);
                        let map = query_map.get_untracked();
                        let sort_by = q.sort_by.clone().unwrap_or_else(|| "register_date".into());
                        let desc = q.sort_order.as_deref() != Some("asc");
                        let accounts: Vec<String> = rows.iter().map(|r| r.account.clone()).collect();
                        view! {
                            <div class="table-bar">
                                <span data-testid="total">{t_string!(i18n, players.total, total = total).to_string()}</span>
                                <Show when=move || is_super>
                                    <button class="button danger" data-testid="batch-delete"
                                        disabled=move || selected.get().is_empty() on:click=confirm_delete>
                                        {move || t_string!(i18n, players.delete_selected, count = selected.get().len()).to_string()}
                                    </button>
                                </Show>
                            </div>
                            <div class="table-wrap">
                            <table class="table" data-testid="players-table">
                                <thead><tr>
                                    <Show when=move || is_super>
                                        <th><input type="checkbox" aria-label="all" on:change={
                                            let accounts = accounts.clone();
                                            move |ev| {
                                                let on = event_target_checked(&ev);
                                                selected.set(if on { accounts.iter().cloned().collect() } else { BTreeSet::new() });
                                            }
                                        }/></th>
                                    </Show>
                                    {COLUMNS.iter().map(|c| {
                                        let c = *c;
                                        let active = sort_by == c;
                                        let next = if active && desc { "asc" } else { "desc" };
                                        let href = link_with(&map, &[("sort_by", c.to_owned()), ("sort_order", next.to_owned()), ("page", String::new())]);
                                        let arrow = if active { if desc { " ↓" } else { " ↑" } } else { "" };
                                        view! { <th aria-sort=if active { if desc { "descending" } else { "ascending" } } else { "none" }>
                                            <A href=href attr:data-testid=format!("sort-{c}")>{move || field_label(i18n, c)}{arrow}</A>
                                        </th> }
                                    }).collect_view()}
                                </tr></thead>
                                <tbody>
                                    {rows.is_empty().then(|| view! {
                                        <tr><td colspan=COLUMNS.len() + usize::from(is_super) class="muted" data-testid="empty">
                                            {t!(i18n, players.no_results)}
                                        </td></tr>
                                    })}
                                    {rows.into_iter().map(|p| player_row(i18n, p, is_super, selected)).collect_view()}
                                </tbody>
                            </table>
                            </div>
                            {pager(i18n, "/players", &map, page, pages)}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// Previous and next links around "page N of M", for a list at `path`
/// whose query is `map`.
pub(crate) fn pager(
    i18n: I18nContext<Locale>,
    path: &str,
    map: &ParamsMap,
    page: i64,
    pages: i64,
) -> AnyView {
    let at = |p: i64| link_at(path, map, &[("page", p.to_string())]);
    view! {
        <nav class="pager" data-testid="pager">
            // Past the last page (an old link), back leads to the last one.
            {(page > 1).then(|| view! { <A href=at((page - 1).min(pages.max(1))) attr:data-testid="page-prev">"‹"</A> })}
            <span>{t_string!(i18n, players.page_of, page = page, pages = pages).to_string()}</span>
            {(page < pages).then(|| view! { <A href=at(page + 1) attr:data-testid="page-next">"›"</A> })}
        </nav>
    }
    .into_any()
}

fn player_row(
    i18n: I18nContext<Locale>,
    p: Player,
    is_super: bool,
    selected: RwSignal<BTreeSet<String>>,
) -> impl IntoView {
    let account = p.account.clone();
    let checked = {
        let a = account.clone();
        move || selected.get().contains(&a)
    };
    let toggle = {
        let a = account.clone();
        move |ev| {
            let on = event_target_checked(&ev);
            selected.update(|s| {
                if on {
                    s.insert(a.clone());
                } else {
                    s.remove(&a);
                }
            });
        }
    };
    let row_id = format!("row-{account}");
    view! {
        <tr data-testid=row_id>
            <Show when=move || is_super>
                <td><input type="checkbox" aria-label=account.clone() prop:checked=checked.clone() on:change=toggle.clone()
                    data-testid=format!("select-{}", account)/></td>
            </Show>
            <td><A href=format!("/players/{}", enc(&p.account))>{p.account.clone()}</A></td>
            <td>{p.real_account}</td>
            <td>{p.server_name}</td>
            <td>{level_label(i18n, p.membership_level)}</td>
            <td class="num">{format!("{:.2}", p.membership_pay_money)}</td>
            <td>{p.membership_expire_date.as_deref().map(short_time).unwrap_or_default()}</td>
            <td>{platform_label(i18n, p.game_platform)}</td>
            <td>{yes_no(i18n, p.auxiliary_online)}</td>
            <td>{yes_no(i18n, p.is_open)}</td>
            <td>{short_time(&p.register_date)}</td>
            <td class="clip">{p.remarks}</td>
        </tr>
    }
}

#[component]
pub fn PlayerDetail(is_super: bool) -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let account = Memo::new(move |_| params.get().get("account").unwrap_or_default());
    let version = RwSignal::new(0u32);
    let data = Resource::new(
        api::source(move || (account.get(), version.get())),
        |(a, _)| api::player_detail(a),
    );
    // Results of the actions live here: the actions are re-rendered with
    // the refreshed player, and their messages must survive that.
    let messages = ActionMessages {
        recharge: RwSignal::new(None),
        transfer: RwSignal::new(None),
    };
    view! {
        <Title text=account.get_untracked()/>
        <Transition fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="form-error" role="alert">{failure_text(i18n, &e)}</p> }.into_any(),
                    Ok((p, history, total)) => {
                        let fields: Vec<(&'static str, String)> = vec![
                            ("real_account", p.real_account.clone()),
                            ("main_account", p.main_account.clone()),
                            ("contact", p.contact.clone()),
                            ("server_name", p.server_name.clone()),
                            ("server_info", p.server_info.clone()),
                            ("membership_level", level_label(i18n, p.membership_level)),
                            ("membership_pay_money", format!("{:.2}", p.membership_pay_money)),
                            ("membership_expire_date", p.membership_expire_date.as_deref().map(short_time).unwrap_or_default()),
                            ("game_platform", platform_label(i18n, p.game_platform)),
                            ("auxiliary_online", yes_no(i18n, p.auxiliary_online)),
                            ("is_open", yes_no(i18n, p.is_open)),
                            ("register_date", short_time(&p.register_date)),
                            ("remarks", p.remarks.clone()),
                        ];
                        let acc = p.account.clone();
                        view! {
                            <div class="page-head">
                                <h1 data-testid="page-title">{p.account.clone()}</h1>
                                <Show when=move || is_super>
                                    <A href=format!("/players/{}/edit", enc(&acc)) attr:class="button" attr:data-testid="player-edit">{t!(i18n, players.edit)}</A>
                                    <OpenChatAs account=acc.clone()/>
                                </Show>
                            </div>
                            <dl class="fields" data-testid="player-fields">
                                {fields.into_iter().map(|(k, v)| view! {
                                    <dt>{move || field_label(i18n, k)}</dt>
                                    <dd data-testid=format!("field-{k}")>{v}</dd>
                                }).collect_view()}
                            </dl>
                            {is_super.then(|| view! { <PlayerActions player=p.clone() version messages/> })}
                            <h2>{t!(i18n, players.history)}" ("{total}")"</h2>
                            <div class="table-wrap"><table class="table" data-testid="recharge-history">
                                <thead><tr>
                                    <th>{t!(i18n, players.h.time)}</th><th>{t!(i18n, players.recharge.amount)}</th>
                                    <th>{t!(i18n, players.recharge.duration)}</th><th>{t!(i18n, players.f.membership_level)}</th>
                                    <th>{t!(i18n, players.recharge.gift)}</th><th>{t!(i18n, players.recharge.agent)}</th>
                                    <th>{t!(i18n, players.h.new_expire)}</th><th>{t!(i18n, players.recharge.remark)}</th>
                                </tr></thead>
                                <tbody>
                                    {history.into_iter().map(|r| view! {
                                        <tr>
                                            <td>{short_time(&r.created_at)}</td>
                                            <td class="num">{format!("{:.2}", r.amount)}</td>
                                            <td class="num">{r.duration}</td>
                                            <td>{r.membership_level.map(|l| level_label(i18n, l)).unwrap_or_default()}</td>
                                            <td>{if r.is_gift { "✓" } else { "" }}</td>
                                            <td>{r.service_agent}</td>
                                            <td>{short_time(&r.new_expire_date)}</td>
                                            <td>{r.remark}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// What the last recharge and transfer answered: (succeeded, text).
/// The recharge form's fields, as the server names them in a refusal. The
/// form is `novalidate`: its own checks say what is wrong beside the field,
/// in the panel's language, where the browser's bubbles speak the browser's
/// and vanish.
const RECHARGE_FIELDS: [&str; 5] = [
    "amount",
    "duration",
    "membership_level",
    "service_agent",
    "remark",
];

#[derive(Clone, Copy)]
struct ActionMessages {
    recharge: RwSignal<Option<(bool, String)>>,
    transfer: RwSignal<Option<(bool, String)>>,
}

#[component]
fn PlayerActions(
    player: Player,
    version: RwSignal<u32>,
    messages: ActionMessages,
) -> impl IntoView {
    let i18n = use_i18n();
    let confirm = use_confirm();
    let account = player.account.clone();
    let expire = player.membership_expire_date.clone();
    // The business time zone's offset, from a time the server sent: the
    // preview reads like every other time on the page, whatever the
    // browser's own zone.
    let offset = expire
        .as_deref()
        .and_then(crate::chat::view::utc_offset_ms)
        .or_else(|| crate::chat::view::utc_offset_ms(&player.register_date))
        .unwrap_or(0);
    // Recharge form state.
    let amount = RwSignal::new(String::new());
    let days = RwSignal::new(String::new());
    let level = RwSignal::new(String::new());
    let gift = RwSignal::new(false);
    let agent = RwSignal::new(String::new());
    let remark = RwSignal::new(String::new());
    let expire = StoredValue::new(expire);
    let preview = move || {
        let expire = expire.get_value();
        let d: i64 = days.get().trim().parse().ok()?;
        if !(1..=3650).contains(&d) {
            return None;
        }
        let now = crate::clock::now_ms();
        let base = expire
            .as_deref()
            .and_then(crate::clock::epoch_ms)
            .unwrap_or(now)
            .max(now);
        Some(crate::chat::view::format_at_offset(
            (base + d as f64 * 86_400_000.0) as i64,
            offset,
        ))
    };
    let recharge = Action::new({
        let account = account.clone();
        move |req: &RechargeRequest| {
            let (account, req) = (account.clone(), req.clone());
            async move { api::recharge_player(account, req).await }
        }
    });
    let recharge_msg = messages.recharge;
    // A refused field of the recharge form and what is wrong with it.
    let recharge_bad = RwSignal::new(None::<(String, String)>);
    // Says what is wrong beside the field (and an earlier success no longer
    // shows, as if it were the answer to this one).
    let refuse = move |field: &str, text: String| {
        recharge_msg.set(None);
        recharge_bad.set(Some((field.to_owned(), text)));
    };
    Effect::new(move |_| match recharge.value().get() {
        Some(Ok(r)) => {
            recharge_msg.set(Some((
                true,
                t_string!(
                    i18n,
                    players.recharged,
                    date = short_time(&r.new_expire_date)
                )
                .to_string(),
            )));
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => match Failure::of(&e)
            .field
            .filter(|f| RECHARGE_FIELDS.contains(&f.as_str()))
        {
            Some(f) => refuse(&f, failure_text(i18n, &e)),
            None => recharge_msg.set(Some((false, failure_text(i18n, &e)))),
        },
        None => {}
    });
    // A refused field takes the focus, so the keyboard (and a screen
    // reader, which then reads its description) lands where the fix is.
    let amount_ref = NodeRef::<leptos::html::Input>::new();
    let days_ref = NodeRef::<leptos::html::Input>::new();
    let level_ref = NodeRef::<leptos::html::Select>::new();
    let agent_ref = NodeRef::<leptos::html::Input>::new();
    let remark_ref = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        let Some(field) = recharge_bad.with(|b| b.as_ref().map(|(f, _)| f.clone())) else {
            return;
        };
        let _ = match field.as_str() {
            "amount" => amount_ref.get_untracked().map(|e| e.focus()),
            "duration" => days_ref.get_untracked().map(|e| e.focus()),
            "membership_level" => level_ref.get_untracked().map(|e| e.focus()),
            "service_agent" => agent_ref.get_untracked().map(|e| e.focus()),
            _ => remark_ref.get_untracked().map(|e| e.focus()),
        };
    });
    let submit_recharge = {
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            // A refusal already shown stays until the field is edited or the
            // question is answered: cancelling it changes nothing, so the
            // server's word on the unchanged form still stands.
            let amount_v: f64 = match amount.get_untracked().trim().parse() {
                Ok(v) => v,
                Err(_) if gift.get_untracked() && amount.get_untracked().trim().is_empty() => 0.0,
                Err(_) => {
                    refuse(
                        "amount",
                        format!(
                            "{}: {}",
                            field_label(i18n, "amount"),
                            t_string!(i18n, players.need_number)
                        ),
                    );
                    return;
                }
            };
            let days_v: i64 = match days.get_untracked().trim().parse() {
                Ok(v) => v,
                Err(_) => {
                    refuse(
                        "duration",
                        format!(
                            "{}: {}",
                            field_label(i18n, "duration"),
                            t_string!(i18n, players.need_number)
                        ),
                    );
                    return;
                }
            };
            let Some(date) = preview() else {
                refuse(
                    "duration",
                    format!("{}: 1–3650", field_label(i18n, "duration")),
                );
                return;
            };
            // The domain's rule, checked here so the question is not asked for nothing.
            if agent.get_untracked().trim().is_empty() {
                let reason =
                    reason_text(i18n.get_locale_untracked(), "is required").unwrap_or_default();
                refuse(
                    "service_agent",
                    format!("{}: {reason}", field_label(i18n, "service_agent")),
                );
                return;
            }
            let ask = t_string!(i18n, players.confirm_recharge, date = date).to_string();
            let yes = t_string!(i18n, players.recharge.submit).to_string();
            let request = RechargeRequest {
                amount: amount_v,
                duration: days_v,
                service_agent: agent.get_untracked(),
                remark: Some(remark.get_untracked()).filter(|r| !r.is_empty()),
                is_gift: Some(gift.get_untracked()),
                membership_level: level.get_untracked().parse().ok(),
            };
            confirm.ask(ask, yes, Kind::Plain, move || {
                recharge_bad.set(None);
                recharge.dispatch(request.clone());
            });
        }
    };
    // Transfer.
    let target = RwSignal::new(String::new());
    let source_account = account.trim().to_owned();
    let transfer = Action::new({
        let account = account.clone();
        move |t: &String| {
            let req = TransferRequest {
                source_account: account.clone(),
                target_account: t.clone(),
            };
            async move { api::transfer_membership(req).await }
        }
    });
    let transfer_msg = messages.transfer;
    Effect::new(move |_| match transfer.value().get() {
        Some(Ok(r)) => {
            transfer_msg.set(Some((
                true,
                t_string!(
                    i18n,
                    players.transferred,
                    days = r.transferred_days,
                    amount = format!("{:.2}", r.transferred_amount),
                    target = r.target_account.clone()
                )
                .to_string(),
            )));
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => transfer_msg.set(Some((false, failure_text(i18n, &e)))),
        None => {}
    });
    let submit_transfer = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let t = target.get_untracked().trim().to_owned();
        // What the server would refuse is said before anything is asked.
        let refusal = if t.is_empty() {
            Some("is required")
        } else if t == source_account {
            Some("must differ from source_account")
        } else {
            None
        };
        if let Some(detail) = refusal {
            let reason = reason_text(i18n.get_locale_untracked(), detail).unwrap_or_default();
            transfer_msg.set(Some((
                false,
                format!("{}: {reason}", field_label(i18n, "target_account")),
            )));
            return;
        }
        let ask = t_string!(i18n, players.confirm_transfer, target = t.clone()).to_string();
        let yes = t_string!(i18n, players.transfer.submit).to_string();
        confirm.ask(ask, yes, Kind::Plain, move || {
            transfer.dispatch(t.clone());
        });
    };
    // Delete.
    let navigate = use_navigate();
    let delete = Action::new({
        let account = account.clone();
        move |_: &()| {
            let a = vec![account.clone()];
            async move { api::delete_players(a).await }
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = delete.value().get() {
            navigate("/players", Default::default());
        }
    });
    // The recharge form's field errors, each right under its field's label
    // (not inside it: the field's name would then be read with the error).
    let bad = move |k: &'static str| {
        move || recharge_bad.with(|b| b.as_ref().is_some_and(|(f, _)| f == k))
    };
    let invalid = move |k: &'static str| move || bad(k)().then_some("true");
    // Editing a refused field takes its refusal away: what it said was
    // about a value that is no longer there.
    let edited = move |k: &'static str| {
        move |_: leptos::ev::Event| {
            if recharge_bad.with_untracked(|b| b.as_ref().is_some_and(|(f, _)| f == k)) {
                recharge_bad.set(None);
            }
        }
    };
    let said = move |k: &'static str| {
        view! {
            <Show when=bad(k)>
                <small class="form-error" id=format!("recharge-error-{k}") data-testid=format!("recharge-error-{k}")>
                    {move || recharge_bad.get().map(|(_, m)| m)}
                </small>
            </Show>
        }
    };
    let msg = |m: RwSignal<Option<(bool, String)>>, id: &'static str| {
        move || {
            m.get().map(|(ok, text)| view! {
            <p class=if ok { "toast" } else { "form-error" } role="status" data-testid=id>{text}</p>
        })
        }
    };
    view! {
        <div class="actions-grid">
            <form class="card form" on:submit=submit_recharge data-testid="recharge-form" novalidate>
                <h2>{t!(i18n, players.recharge.title)}</h2>
                <label class:invalid=bad("amount")><span>{t!(i18n, players.recharge.amount)}</span>
                    <input type="number" step="0.01" min="0" bind:value=amount data-testid="recharge-amount" on:input=edited("amount") node_ref=amount_ref
                        aria-invalid=invalid("amount") aria-describedby="recharge-error-amount"/></label>
                {said("amount")}
                <label class:invalid=bad("duration")><span>{t!(i18n, players.recharge.duration)}</span>
                    <input type="number" min="1" max="3650" bind:value=days data-testid="recharge-days" on:input=edited("duration") node_ref=days_ref
                        aria-invalid=invalid("duration") aria-describedby="recharge-error-duration"/></label>
                {said("duration")}
                <label class:invalid=bad("membership_level")><span>{t!(i18n, players.f.membership_level)}</span>
                    <select bind:value=level data-testid="recharge-level" on:change=edited("membership_level") node_ref=level_ref
                        aria-invalid=invalid("membership_level") aria-describedby="recharge-error-membership_level">
                        <option value="">{t!(i18n, players.recharge.keep_level)}</option>
                        {(0..=3).map(|l| view! { <option value=l.to_string()>{move || level_label(i18n, l)}</option> }).collect_view()}
                    </select></label>
                {said("membership_level")}
                <label class="check"><input type="checkbox" bind:checked=gift data-testid="recharge-gift" on:change=edited("amount")/>
                    <span>{t!(i18n, players.recharge.gift)}</span></label>
                <label class:invalid=bad("service_agent")><span>{t!(i18n, players.recharge.agent)}</span>
                    <input type="text" bind:value=agent data-testid="recharge-agent" on:input=edited("service_agent") node_ref=agent_ref
                        aria-invalid=invalid("service_agent") aria-describedby="recharge-error-service_agent"/></label>
                {said("service_agent")}
                <label class:invalid=bad("remark")><span>{t!(i18n, players.recharge.remark)}</span>
                    <input type="text" bind:value=remark data-testid="recharge-remark" on:input=edited("remark") node_ref=remark_ref
                        aria-invalid=invalid("remark") aria-describedby="recharge-error-remark"/></label>
                {said("remark")}
                <p class="muted" data-testid="recharge-preview">{move || preview().map(|d| t_string!(i18n, players.new_expire, date = d).to_string())}</p>
                {msg(recharge_msg, "recharge-result")}
                <button type="submit" class="button primary" data-testid="recharge-submit" disabled=move || recharge.pending().get()>{t!(i18n, players.recharge.submit)}</button>
            </form>
            <form class="card form" on:submit=submit_transfer data-testid="transfer-form">
                <h2>{t!(i18n, players.transfer.title)}</h2>
                <p class="muted">{t!(i18n, players.transfer.hint)}</p>
                <label><span>{t!(i18n, players.transfer.target)}</span>
                    <input type="text" bind:value=target data-testid="transfer-target"/></label>
                {msg(transfer_msg, "transfer-result")}
                <button type="submit" class="button primary" data-testid="transfer-submit">{t!(i18n, players.transfer.submit)}</button>
            </form>
            <div class="card">
                <h2>{t!(i18n, players.danger)}</h2>
                <button class="button danger" data-testid="player-delete" on:click=move |_| {
                    let ask = t_string!(i18n, players.confirm_delete, count = 1).to_string();
                    let yes = t_string!(i18n, players.delete).to_string();
                    confirm.ask(ask, yes, Kind::Danger, move || {
                        delete.dispatch(());
                    });
                }>{t!(i18n, players.delete)}</button>
                {move || delete.value().get().and_then(|r| r.err()).map(|e| view! { <p class="form-error">{failure_text(i18n, &e)}</p> })}
            </div>
        </div>
    }
}

/// Create (`/players/new`) or edit (`/players/:account/edit`).
#[component]
pub fn PlayerForm(editing: bool) -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let account = Memo::new(move |_| params.get().get("account").unwrap_or_default());
    let existing = Resource::new(
        api::source(move || (editing, account.get())),
        |(editing, a)| async move {
            if editing {
                api::player_detail(a).await.map(|(p, _, _)| Some(p))
            } else {
                Ok(None)
            }
        },
    );
    view! {
        <Title text=if editing { t_string!(i18n, players.edit).to_string() } else { t_string!(i18n, players.new).to_string() }/>
        <h1 data-testid="page-title">{move || if editing { t_string!(i18n, players.edit).to_string() } else { t_string!(i18n, players.new).to_string() }}</h1>
        <Transition fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
            {move || Suspend::new(async move {
                match existing.await {
                    Err(e) => view! { <p class="form-error">{failure_text(i18n, &e)}</p> }.into_any(),
                    Ok(p) => view! { <PlayerFields player=p/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PlayerFields(player: Option<Player>) -> impl IntoView {
    let i18n = use_i18n();
    let editing = player.clone().map(|p| p.account);
    let text_fields: &[&'static str] = &[
        "account",
        "real_account",
        "main_account",
        "contact",
        "server_name",
        "server_info",
        "remarks",
        "websocket_url",
        "game_web_url",
        "user_login_data",
    ];
    let initial = |k: &str| -> String {
        let Some(p) = &player else {
            return match k {
                "membership_level" => "0".into(),
                "game_platform" => "-1".into(),
                "auxiliary_online" => "0".into(),
                "is_open" => "1".into(),
                _ => String::new(),
            };
        };
        match k {
            "account" => p.account.clone(),
            "real_account" => p.real_account.clone(),
            "main_account" => p.main_account.clone(),
            "contact" => p.contact.clone(),
            "server_name" => p.server_name.clone(),
            "server_info" => p.server_info.clone(),
            "remarks" => p.remarks.clone(),
            "websocket_url" => p.websocket_url.clone(),
            "game_web_url" => p.game_web_url.clone(),
            "user_login_data" => p.user_login_data.clone(),
            "membership_level" => p.membership_level.to_string(),
            "game_platform" => p.game_platform.to_string(),
            "auxiliary_online" => p.auxiliary_online.to_string(),
            "is_open" => p.is_open.to_string(),
            "membership_pay_money" => format!("{:.2}", p.membership_pay_money),
            "membership_expire_date" => p
                .membership_expire_date
                .as_deref()
                .map(|t| t.get(..10).unwrap_or(t).to_owned())
                .unwrap_or_default(),
            _ => String::new(),
        }
    };
    let all: Vec<&'static str> = text_fields
        .iter()
        .copied()
        .chain([
            "membership_level",
            "game_platform",
            "auxiliary_online",
            "is_open",
            "membership_pay_money",
            "membership_expire_date",
        ])
        .collect();
    let values: Vec<(&'static str, RwSignal<String>)> = all
        .iter()
        .map(|k| (*k, RwSignal::new(initial(k))))
        .collect();
    // What the form was filled with: an edit sends only the fields changed
    // from it, so the expiry (shown as a date) is not cut to midnight, and
    // a recharge made while the form was open is not written over.
    let loaded: Vec<(&'static str, String)> = all.iter().map(|k| (*k, initial(k))).collect();
    let get = {
        let values = values.clone();
        move |k: &str| {
            values
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, s)| s.get_untracked())
                .unwrap_or_default()
        }
    };
    let error = RwSignal::new(None::<(Option<String>, String)>);
    let save = Action::new({
        let editing = editing.clone();
        move |input: &PlayerInput| {
            let (editing, input) = (editing.clone(), input.clone());
            async move { api::save_player(editing, input).await }
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(account)) => navigate(&format!("/players/{}", enc(&account)), Default::default()),
        Some(Err(e)) => error.set(Some((Failure::of(&e).field, failure_text(i18n, &e)))),
        None => {}
    });
    let is_edit = editing.is_some();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let kept = |k: &str| {
            is_edit
                && loaded
                    .iter()
                    .any(|(n, v)| *n == k && v.trim() == get(k).trim())
        };
        let num = |k: &str| {
            if kept(k) {
                None
            } else {
                get(k).trim().parse::<i64>().ok()
            }
        };
        let money = get("membership_pay_money");
        let money = money.trim();
        let pay = if money.is_empty() || kept("membership_pay_money") {
            None
        } else {
            match money.parse::<f64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    error.set(Some((
                        Some("membership_pay_money".into()),
                        format!(
                            "{}: {}",
                            field_label(i18n, "membership_pay_money"),
                            t_string!(i18n, players.need_number)
                        ),
                    )));
                    return;
                }
            }
        };
        let s = |k: &str| (!kept(k)).then(|| get(k));
        save.dispatch(PlayerInput {
            account: s("account"),
            real_account: s("real_account"),
            main_account: s("main_account"),
            contact: s("contact"),
            server_name: s("server_name"),
            server_info: s("server_info"),
            membership_level: num("membership_level"),
            membership_pay_money: pay,
            membership_expire_date: s("membership_expire_date"),
            game_platform: num("game_platform"),
            auxiliary_online: num("auxiliary_online"),
            is_open: num("is_open"),
            register_date: None,
            remarks: s("remarks"),
            websocket_url: s("websocket_url"),
            game_web_url: s("game_web_url"),
            user_login_data: s("user_login_data"),
        });
    };
    view! {
        <form class="form card wide-form" on:submit=submit data-testid="player-form">
            {values.into_iter().map(|(k, v)| {
                let invalid = move || error.get().is_some_and(|(f, _)| f.as_deref() == Some(k));
                let input = match k {
                    "membership_level" => view! {
                        <select bind:value=v data-testid=format!("input-{k}")>
                            {(0..=3).map(|l| view! { <option value=l.to_string()>{move || level_label(i18n, l)}</option> }).collect_view()}
                        </select>
                    }.into_any(),
                    "game_platform" => view! {
                        <select bind:value=v data-testid=format!("input-{k}")>
                            {[-1, 1, 2, 3].into_iter().map(|p| view! { <option value=p.to_string()>{move || platform_label(i18n, p)}</option> }).collect_view()}
                        </select>
                    }.into_any(),
                    "auxiliary_online" | "is_open" => view! {
                        <select bind:value=v data-testid=format!("input-{k}")>
                            <option value="1">{t!(i18n, players.yes)}</option>
                            <option value="0">{t!(i18n, players.no)}</option>
                        </select>
                    }.into_any(),
                    "membership_expire_date" => view! { <input type="date" bind:value=v data-testid=format!("input-{k}")/> }.into_any(),
                    "membership_pay_money" => view! { <input type="number" step="0.01" min="0" bind:value=v data-testid=format!("input-{k}")/> }.into_any(),
                    "account" => view! { <input type="text" bind:value=v readonly=is_edit required data-testid=format!("input-{k}")/> }.into_any(),
                    _ => view! { <input type="text" bind:value=v data-testid=format!("input-{k}")/> }.into_any(),
                };
                view! {
                    <label class:invalid=invalid>
                        <span>{move || field_label(i18n, k)}</span>
                        {input}
                        <Show when=invalid>
                            <small class="form-error" data-testid=format!("error-{k}")>{move || error.get().map(|(_, m)| m)}</small>
                        </Show>
                    </label>
                }
            }).collect_view()}
            <Show when=move || error.get().is_some_and(|(f, _)| f.is_none())>
                <p class="form-error" role="alert" data-testid="form-error">{move || error.get().map(|(_, m)| m)}</p>
            </Show>
            <div class="filter-actions">
                <button type="submit" class="button primary" data-testid="player-save" disabled=move || save.pending().get()>{t!(i18n, players.save)}</button>
            </div>
        </form>
    }
}

/// "Open the chat as this player" (super admins, API.md "Chat over HTTP"):
/// a fresh player chat token, and the widget in a new tab with it.
#[component]
fn OpenChatAs(account: String) -> impl IntoView {
    let i18n = use_i18n();
    let error = RwSignal::new(None::<String>);
    let open = move |_| {
        let account = account.clone();
        leptos::task::spawn_local(async move {
            match crate::chat::api::player_chat_token(account).await {
                Ok(token) => {
                    error.set(None);
                    #[cfg(feature = "hydrate")]
                    {
                        let url = format!("/widget?token={}", enc(&token));
                        let _ = window().open_with_url_and_target(&url, "_blank");
                    }
                    #[cfg(not(feature = "hydrate"))]
                    let _ = token;
                }
                Err(e) => error.set(Some(failure_text(i18n, &e))),
            }
        });
    };
    view! {
        <button class="button" data-testid="open-chat-as" on:click=open>{t!(i18n, players.open_chat)}</button>
        {move || error.get().map(|m| view! { <p class="form-error" role="alert">{m}</p> })}
    }
}
