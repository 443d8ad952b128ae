//! The desk's right column: the record of the player in the open chat
//! (account, server, platform, membership level and expiry, paid total,
//! newest recharges) and the `cs_recharge` form. Every staff role may
//! recharge from the desk (API.md "Roles"); gifts and level changes stay
//! in the player list, where only super admins make them.

use leptos::prelude::*;
use protocol::chat::CsRechargeRequest;

use crate::chat::api::{desk_player, desk_recharge};
use crate::i18n::*;
use crate::pages::players::{failure_text, field_label, level_label, platform_label, short_time};

#[component]
pub fn PlayerPanel(#[prop(into)] account: Signal<Option<String>>) -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let record = Resource::new(
        crate::api::source(move || (account.get(), version.get())),
        |(account, _)| async move {
            match account {
                Some(a) => Some(desk_player(a).await),
                None => None,
            }
        },
    );
    let amount = RwSignal::new(String::new());
    let days = RwSignal::new("30".to_owned());
    let remark = RwSignal::new(String::new());
    let message = RwSignal::new(None::<(bool, String)>);
    // A new chat clears what the form said about the last one.
    // The player a recharge was asked for (its answer may come after the
    // agent moved to another chat).
    let asked_for = StoredValue::new(None::<String>);
    Effect::new(move |_| {
        account.track();
        message.set(None);
        amount.set(String::new());
        remark.set(String::new());
    });
    let recharge = Action::new(move |req: &CsRechargeRequest| {
        let req = req.clone();
        async move { desk_recharge(req).await }
    });
    Effect::new(move |_| match recharge.value().get() {
        _ if asked_for.get_value() != account.get_untracked() => {}
        Some(Ok(date)) => {
            message.set(Some((
                true,
                t_string!(i18n, chat.recharged, date = short_time(&date)).to_string(),
            )));
            amount.set(String::new());
            remark.set(String::new());
            version.update(|v| *v += 1);
        }
        Some(Err(e)) => message.set(Some((false, failure_text(i18n, &e)))),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(account) = account.get_untracked() else {
            return;
        };
        let bad = |field: &str| {
            format!(
                "{}: {}",
                field_label(i18n, field),
                t_string!(i18n, players.need_number)
            )
        };
        let parsed = amount
            .get_untracked()
            .trim()
            .parse::<f64>()
            .map_err(|_| bad("amount"))
            .and_then(|a| {
                let d = days.get_untracked().trim().parse::<i64>();
                d.map(|d| (a, d)).map_err(|_| bad("duration"))
            });
        match parsed {
            Ok((amount, days)) => {
                message.set(None);
                asked_for.set_value(Some(account.clone()));
                recharge.dispatch(CsRechargeRequest {
                    account,
                    amount,
                    duration: days,
                    service_agent: None,
                    remark: Some(remark.get_untracked()).filter(|r| !r.trim().is_empty()),
                });
            }
            Err(text) => message.set(Some((false, text))),
        }
    };
    let card = move || {
        record.get().flatten().map(|r| match r {
            Err(e) => view! { <p class="form-error" role="alert">{failure_text(i18n, &e)}</p> }.into_any(),
            Ok((p, recent, total)) => {
                let expire = p
                    .membership_expire_date
                    .as_deref()
                    .map(short_time)
                    .unwrap_or_else(|| t_string!(i18n, chat.no_membership).to_string());
                view! {
                    <dl class="player-facts" data-testid="player-facts">
                        <dt>{t!(i18n, players.f.account)}</dt><dd data-testid="pp-account">{p.account.clone()}</dd>
                        <dt>{t!(i18n, players.f.server_name)}</dt><dd>{p.server_name.clone()}</dd>
                        <dt>{t!(i18n, players.f.game_platform)}</dt><dd>{platform_label(i18n, p.game_platform)}</dd>
                        <dt>{t!(i18n, players.f.membership_level)}</dt><dd data-testid="pp-level">{level_label(i18n, p.membership_level)}</dd>
                        <dt>{t!(i18n, players.f.membership_expire_date)}</dt><dd data-testid="pp-expire">{expire}</dd>
                        <dt>{t!(i18n, players.f.membership_pay_money)}</dt><dd data-testid="pp-paid">{format!("¥{:.2}", p.membership_pay_money)}</dd>
                    </dl>
                    <h3>{t!(i18n, chat.recent_recharges)}" ("{total}")"</h3>
                    {if recent.is_empty() {
                        view! { <p class="muted">{t!(i18n, chat.no_recharges)}</p> }.into_any()
                    } else {
                        view! {
                            <ul class="recent-recharges" data-testid="pp-recharges">
                                {recent.into_iter().map(|r| view! {
                                    <li data-testid="pp-recharge">
                                        <span>{short_time(&r.created_at)}</span>
                                        <span>{format!("¥{:.2}", r.amount)}" · "{r.duration}" "{t!(i18n, chat.days)}</span>
                                        <span class="muted">{r.service_agent}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                }
                .into_any()
            }
        })
    };
    view! {
        <aside class="desk-player" data-testid="player-panel">
            <h2>{t!(i18n, chat.player)}</h2>
            <Transition fallback=|| ()>{card}</Transition>
            <form class="desk-recharge" on:submit=submit>
                <h3>{t!(i18n, chat.recharge)}</h3>
                <label>
                    {move || field_label(i18n, "amount")}
                    <input data-testid="pp-amount" inputmode="decimal" prop:value=move || amount.get()
                        on:input=move |ev| amount.set(event_target_value(&ev))/>
                </label>
                <label>
                    {move || field_label(i18n, "duration")}
                    <input data-testid="pp-days" inputmode="numeric" prop:value=move || days.get()
                        on:input=move |ev| days.set(event_target_value(&ev))/>
                </label>
                <label>
                    {t!(i18n, chat.remark)}
                    <input data-testid="pp-remark" prop:value=move || remark.get()
                        on:input=move |ev| remark.set(event_target_value(&ev))/>
                </label>
                <button type="submit" class="button primary" data-testid="pp-recharge-submit"
                    prop:disabled=move || recharge.pending().get()>
                    {t!(i18n, chat.recharge)}
                </button>
                {move || message.get().map(|(ok, text)| view! {
                    <p class=if ok { "ok" } else { "form-error" } role="status" data-testid="pp-message">{text}</p>
                })}
            </form>
        </aside>
    }
}
