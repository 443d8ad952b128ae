//! The overview's figures: what needs an admin's eye right now (the chat
//! queue, who is serving) and today's players, each a link to the page
//! that has the rest (the staff online link to the system page, which
//! admins may open, unlike the staff list), read again every 30 seconds
//! while the page is open. Kefu's own figures only: the browser service is
//! asked on the system page, which may wait for it.

use leptos::prelude::*;

use crate::api;
use crate::i18n::*;
use crate::pages::analytics::{group, money};
use crate::pages::players::failure_text;

/// How often an open overview reads its figures again.
#[cfg(feature = "hydrate")]
const REFRESH_SECS: u64 = 30;

#[component]
pub fn HomeFigures() -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let figures = Resource::new(api::source(move || version.get()), |_| api::home_figures());
    #[cfg(feature = "hydrate")]
    {
        if let Ok(tick) = set_interval_with_handle(
            move || version.update(|v| *v += 1),
            std::time::Duration::from_secs(REFRESH_SECS),
        ) {
            on_cleanup(move || tick.clear());
        }
    }
    view! {
        <Transition fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
            {move || Suspend::new(async move {
                match figures.await {
                    Err(e) => view! { <p class="form-error" role="alert">{failure_text(i18n, &e)}</p> }.into_any(),
                    Ok((live, today)) => {
                        let now = [
                            ("chats_waiting", t_string!(i18n, system.chats_waiting).to_string(), group(live.chats_waiting), "/desk"),
                            ("chats_active", t_string!(i18n, system.chats_active).to_string(), group(live.chats_active), "/desk"),
                            ("staff_online", t_string!(i18n, system.staff_online).to_string(), group(i64::from(live.staff_online)), "/system"),
                        ];
                        let day = [
                            ("new_users_today", t_string!(i18n, analytics.new_users_today).to_string(), group(today.new_users_today), "/analytics"),
                            ("expired_users_today", t_string!(i18n, analytics.expired_users_today).to_string(), group(today.expired_users_today), "/analytics"),
                            ("monthly_revenue", t_string!(i18n, analytics.monthly_revenue).to_string(), money(today.monthly_revenue), "/analytics"),
                        ];
                        view! {
                            <h2>{t!(i18n, home.now)}</h2>
                            {cards(now)}
                            <h2>{t!(i18n, home.today)}</h2>
                            {cards(day)}
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// (key, label, value, link)
type Figure = (&'static str, String, String, &'static str);

fn cards(items: [Figure; 3]) -> impl IntoView {
    view! {
        <section class="cards small">
            {items.into_iter().map(|(key, label, value, href)| view! {
                <a class="card figure" href=href data-testid=format!("home-{key}")>
                    <span class="card-label">{label}</span>
                    <strong class="card-value" data-testid=format!("home-{key}-value")>{value}</strong>
                </a>
            }).collect_view()}
        </section>
    }
}
