//! The system page (API.md "Browser service monitor"): Kefu's own state
//! and the browser service's three answers, read again every 15 seconds
//! while the page is open. An answer that is missing says why (cannot
//! connect, too slow, an HTTP status, an unexpected body) in its own card;
//! the rest of the page stays as it is.

use leptos::prelude::*;
use leptos_i18n::I18nContext;
use leptos_meta::Title;
use protocol::system::{
    is_good_word, BrowserServiceReport, Health, KefuStatus, PoolStatus, PoolUsage, Probe,
    ProbeFailure, SystemStatus,
};

use crate::api;
use crate::i18n::*;
use crate::pages::players::failure_text;

/// How often an open page asks again.
const REFRESH_SECS: u64 = 15;

#[component]
pub fn SystemPage() -> impl IntoView {
    let i18n = use_i18n();
    let version = RwSignal::new(0u32);
    let status = Resource::new(api::source(move || version.get()), |_| api::system_status());
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
        <Title text=t_string!(i18n, nav.system).to_string()/>
        <div class="page-head">
            <h1 data-testid="page-title">{t!(i18n, nav.system)}</h1>
            <button type="button" class="button" data-testid="system-refresh"
                on:click=move |_| version.update(|v| *v += 1)>
                {t!(i18n, system.refresh)}
            </button>
        </div>
        <Transition fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
            {move || Suspend::new(async move {
                match status.await {
                    Err(e) => view! { <p class="form-error" role="alert">{failure_text(i18n, &e)}</p> }.into_any(),
                    Ok(s) => page(i18n, s).into_any(),
                }
            })}
        </Transition>
    }
}

fn page(i18n: I18nContext<Locale>, s: SystemStatus) -> impl IntoView {
    let time = s.checked_at.get(11..19).unwrap_or_default().to_owned();
    view! {
        <p class="muted" data-testid="system-checked">
            {move || t_string!(i18n, system.checked_at, time = time.clone(), secs = REFRESH_SECS).to_string()}
        </p>
        {kefu_panel(i18n, s.kefu)}
        {service_panel(i18n, s.browser_service)}
    }
}

fn kefu_panel(i18n: I18nContext<Locale>, k: KefuStatus) -> impl IntoView {
    let sockets = move |n: u32| t_string!(i18n, system.sockets, n = n).to_string();
    let started = k
        .started_at
        .get(..16)
        .unwrap_or(&k.started_at)
        .replace('T', " ");
    // (key, label, value, note)
    let items = [
        (
            "version",
            t_string!(i18n, system.version).to_string(),
            k.version.clone(),
            String::new(),
        ),
        (
            "database",
            t_string!(i18n, system.database).to_string(),
            match k.database.as_str() {
                "sqlite" => "SQLite".to_owned(),
                "postgres" => "PostgreSQL".to_owned(),
                other => other.to_owned(),
            },
            String::new(),
        ),
        (
            "database_size",
            t_string!(i18n, system.database_size).to_string(),
            k.database_bytes
                .map(bytes_text)
                .unwrap_or_else(|| "—".to_owned()),
            k.wal_bytes
                .map(|w| t_string!(i18n, system.wal_size, size = bytes_text(w)).to_string())
                .unwrap_or_default(),
        ),
        (
            "uptime",
            t_string!(i18n, system.uptime).to_string(),
            duration_text(i18n, k.uptime_secs as f64),
            t_string!(i18n, system.started_at, time = started).to_string(),
        ),
        (
            "staff_online",
            t_string!(i18n, system.staff_online).to_string(),
            k.staff_online.to_string(),
            sockets(k.staff_sockets),
        ),
        (
            "players_online",
            t_string!(i18n, system.players_online).to_string(),
            k.players_online.to_string(),
            sockets(k.player_sockets),
        ),
        (
            "chats_waiting",
            t_string!(i18n, system.chats_waiting).to_string(),
            k.chats_waiting.to_string(),
            String::new(),
        ),
        (
            "chats_active",
            t_string!(i18n, system.chats_active).to_string(),
            k.chats_active.to_string(),
            String::new(),
        ),
        (
            "slow_closed",
            t_string!(i18n, system.slow_closed).to_string(),
            k.slow_sockets_closed.to_string(),
            t_string!(i18n, system.since_start).to_string(),
        ),
    ];
    view! {
        <section class="panel" data-testid="kefu-status">
            <h2>{t!(i18n, system.kefu)}</h2>
            <div class="cards small">
                {items.into_iter().map(|(key, label, value, note)| view! {
                    <div class="card" data-testid=format!("kefu-{key}")>
                        <span class="card-label">{label}</span>
                        <strong class="card-value" data-testid=format!("kefu-{key}-value")>{value}</strong>
                        <span class="card-delta">{note}</span>
                    </div>
                }).collect_view()}
            </div>
        </section>
    }
}

fn service_panel(i18n: I18nContext<Locale>, report: Option<BrowserServiceReport>) -> impl IntoView {
    let Some(r) = report else {
        return view! {
            <section class="panel" data-testid="browser-service">
                <h2>{t!(i18n, system.browser_service)}</h2>
                <p class="notice" data-testid="bs-unconfigured">{t!(i18n, system.unconfigured)}</p>
            </section>
        }
        .into_any();
    };
    let good = r.all_well();
    view! {
        <section class="panel" data-testid="browser-service">
            <div class="panel-head">
                <h2>
                    {t!(i18n, system.browser_service)}" "
                    <span class=if good { "state good" } else { "state bad" }
                        data-testid="bs-overall" data-state=if good { "good" } else { "bad" }>
                        {move || if good { t_string!(i18n, system.overall_good) } else { t_string!(i18n, system.overall_bad) }}
                    </span>
                </h2>
                <code class="muted" data-testid="bs-url">{r.url.clone()}</code>
            </div>
            <div class="panels three">
                {probe_card(i18n, "health", t_string!(i18n, system.health).to_string(), r.health, health_rows)}
                {probe_card(i18n, "pool", t_string!(i18n, system.pool).to_string(), r.pool, pool_rows)}
                {probe_card(i18n, "usage", t_string!(i18n, system.usage).to_string(), r.usage, usage_rows)}
            </div>
        </section>
    }
    .into_any()
}

/// A row of a card: (field key, label, value, whether the value is a
/// status word to be coloured).
type Row = (&'static str, String, String, bool);

fn probe_card<T>(
    i18n: I18nContext<Locale>,
    key: &'static str,
    title: String,
    probe: Probe<T>,
    rows: fn(I18nContext<Locale>, &T) -> Vec<Row>,
) -> impl IntoView {
    let body = match probe {
        Probe::Failed { failure } => view! {
            <p class="probe-failed" role="status" data-testid=format!("bs-{key}-failure")>
                {probe_failure_text(i18n, &failure)}
            </p>
        }
        .into_any(),
        Probe::Answered { millis, body } => {
            let mut all = rows(i18n, &body);
            all.push((
                "millis",
                t_string!(i18n, system.answered_in).to_string(),
                t_string!(i18n, system.ms, n = millis).to_string(),
                false,
            ));
            view! {
                <dl class="facts">
                    {all.into_iter().map(|(field, label, value, word)| {
                        let class = match (word, value.as_str()) {
                            (false, _) | (true, "—") => None,
                            (true, v) if is_good_word(v) => Some("state good"),
                            (true, _) => Some("state bad"),
                        };
                        view! {
                            <dt>{label}</dt>
                            <dd><span class=class data-testid=format!("bs-{field}")>{value}</span></dd>
                        }
                    }).collect_view()}
                </dl>
            }
            .into_any()
        }
    };
    view! {
        <div class="card probe" data-testid=format!("bs-{key}")>
            <h3>{title}</h3>
            {body}
        </div>
    }
}

fn health_rows(i18n: I18nContext<Locale>, h: &Health) -> Vec<Row> {
    vec![
        (
            "status",
            t_string!(i18n, system.status).to_string(),
            text(&h.status),
            true,
        ),
        (
            "service_version",
            t_string!(i18n, system.service_version).to_string(),
            text(&h.version),
            false,
        ),
        (
            "service_uptime",
            t_string!(i18n, system.uptime).to_string(),
            h.uptime
                .map(|s| duration_text(i18n, s))
                .unwrap_or_else(|| "—".to_owned()),
            false,
        ),
        (
            "timestamp",
            t_string!(i18n, system.service_time).to_string(),
            text(&h.timestamp),
            false,
        ),
    ]
}

fn pool_rows(i18n: I18nContext<Locale>, p: &PoolStatus) -> Vec<Row> {
    vec![
        (
            "pool_health",
            t_string!(i18n, system.pool_health).to_string(),
            text(&p.pool_health),
            true,
        ),
        (
            "total_browsers",
            t_string!(i18n, system.total_browsers).to_string(),
            number(p.total_browsers),
            false,
        ),
        (
            "active_browsers",
            t_string!(i18n, system.active_browsers).to_string(),
            number(p.active_browsers),
            false,
        ),
        (
            "idle_browsers",
            t_string!(i18n, system.idle_browsers).to_string(),
            number(p.idle_browsers),
            false,
        ),
        (
            "failed_browsers",
            t_string!(i18n, system.failed_browsers).to_string(),
            number(p.failed_browsers),
            false,
        ),
    ]
}

fn usage_rows(i18n: I18nContext<Locale>, u: &PoolUsage) -> Vec<Row> {
    vec![
        (
            "usage_percentage",
            t_string!(i18n, system.usage_percentage).to_string(),
            u.usage_percentage
                .map(|p| format!("{p:.1} %"))
                .unwrap_or_else(|| "—".to_owned()),
            false,
        ),
        (
            "used_contexts",
            t_string!(i18n, system.used_contexts).to_string(),
            number(u.used_contexts),
            false,
        ),
        (
            "available_contexts",
            t_string!(i18n, system.available_contexts).to_string(),
            number(u.available_contexts),
            false,
        ),
        (
            "total_contexts",
            t_string!(i18n, system.total_contexts).to_string(),
            number(u.total_contexts),
            false,
        ),
    ]
}

/// Bytes as "812 B", "4.0 KB", "12.3 MB", "1.2 GB" (powers of 1024).
pub fn bytes_text(bytes: i64) -> String {
    const UNITS: [&str; 3] = ["KB", "MB", "GB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let (mut value, mut unit) = (bytes as f64 / 1024.0, 0);
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

fn text(v: &Option<String>) -> String {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => "—".to_owned(),
    }
}

fn number(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_else(|| "—".to_owned())
}

pub fn probe_failure_text(i18n: I18nContext<Locale>, f: &ProbeFailure) -> String {
    match f {
        ProbeFailure::Unreachable => t_string!(i18n, system.unreachable).to_string(),
        ProbeFailure::Timeout(ms) => {
            let secs = if ms % 1000 == 0 {
                (ms / 1000).to_string()
            } else {
                format!("{:.1}", f64::from(*ms) / 1000.0)
            };
            t_string!(i18n, system.timeout, secs = secs).to_string()
        }
        ProbeFailure::Status(code) => t_string!(i18n, system.http_status, code = code).to_string(),
        ProbeFailure::BadBody(detail) => {
            t_string!(i18n, system.bad_body, detail = detail.clone()).to_string()
        }
    }
}

/// Seconds as "3 天 4 小时", "5 小时 12 分", "42 分钟" or "不到 1 分钟".
pub fn duration_text(i18n: I18nContext<Locale>, secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "—".to_owned();
    }
    let mins = (secs / 60.0).floor() as i64;
    let (d, h, m) = (mins / 1440, mins / 60 % 24, mins % 60);
    if d > 0 {
        t_string!(i18n, system.days_hours, d = d, h = h).to_string()
    } else if h > 0 {
        t_string!(i18n, system.hours_minutes, h = h, m = m).to_string()
    } else if m > 0 {
        t_string!(i18n, system.minutes, m = m).to_string()
    } else {
        t_string!(i18n, system.under_minute).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::bytes_text;

    #[test]
    fn sizes_read_in_the_largest_whole_unit() {
        assert_eq!(bytes_text(0), "0 B");
        assert_eq!(bytes_text(1023), "1023 B");
        assert_eq!(bytes_text(4096), "4.0 KB");
        assert_eq!(bytes_text(12_900_000), "12.3 MB");
        assert_eq!(bytes_text(3 << 40), "3072.0 GB");
    }
}
