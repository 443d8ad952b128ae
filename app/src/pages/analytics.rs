//! The analytics dashboard (issue #6): the overview cards with their change,
//! trends over a chosen period, the high-value players, the players per
//! server and the chat desk's figures. The period lives in the URL
//! (`?days=N` or `?from=…&to=…`), so a dashboard can be bookmarked.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};
use leptos_router::hooks::use_query_map;
use protocol::analytics::{
    ChatStats, HighValuePlayer, Overview, OverviewFigures, ServerShare, TrendQuery, Trends,
};

use crate::api;
use crate::charts::{csv_href, BarChart, DataTable, LineChart, Series};
use crate::i18n::*;
use crate::pages::players::{failure_text, level_label};

const PRESETS: [i64; 4] = [7, 30, 90, 365];

/// 1234567 → "1,234,567".
pub(crate) fn group(int: i64) -> String {
    let digits = int.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if int < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Yuan with two decimals and thousands separators.
pub(crate) fn money(yuan: f64) -> String {
    let fen = (yuan * 100.0).round() as i64;
    let sign = if fen < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        group((fen / 100).abs()),
        (fen % 100).abs()
    )
}

/// A duration for people: "1分30秒" or "1m 30s".
fn duration(zh: bool, ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "—".to_owned();
    };
    let s = (ms + 500) / 1000;
    let (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
    let units = if zh {
        ["小时", "分", "秒"]
    } else {
        ["h ", "m ", "s"]
    };
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}{}", units[0]));
    }
    if m > 0 || (h > 0 && sec > 0) {
        out.push_str(&format!("{m}{}", units[1]));
    }
    if sec > 0 || s == 0 {
        out.push_str(&format!("{sec}{}", units[2]));
    }
    out.trim().to_owned()
}

fn query_from(map: &leptos_router::params::ParamsMap) -> TrendQuery {
    let text = |k: &str| map.get(k).filter(|v| !v.trim().is_empty());
    TrendQuery {
        // Something that is not a number reaches the server as 0 and is
        // refused there with the field named.
        days: text("days").map(|d| d.trim().parse().unwrap_or(0)),
        from: text("from"),
        to: text("to"),
    }
}

#[component]
pub fn AnalyticsPage() -> impl IntoView {
    let i18n = use_i18n();
    let query_map = use_query_map();
    let query = Memo::new(move |_| query_from(&query_map.get()));
    let summary = Resource::new(|| (), |_| api::analytics_summary());
    let period = Resource::new(api::source(move || query.get()), api::analytics_period);
    let zh = move || i18n.get_locale_untracked() == Locale::zh_CN;
    let preset = move || {
        let q = query.get();
        match (q.from, q.days) {
            (Some(_), _) => None,
            (None, d) => Some(d.unwrap_or(30)),
        }
    };
    view! {
        <Title text=t_string!(i18n, nav.analytics).to_string()/>
        <h1 data-testid="page-title">{t!(i18n, nav.analytics)}</h1>
        <Transition fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Err(e) => view! { <p class="form-error" role="alert">{failure_text(i18n, &e)}</p> }.into_any(),
                    Ok((overview, top, servers)) => view! {
                        {cards(i18n, &overview)}
                        <div class="panels two">
                            {high_value(i18n, top)}
                            {server_panel(i18n, servers, overview.current.total_users)}
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
        <nav class="periods" aria-label=move || t_string!(i18n, analytics.period).to_string() data-testid="periods">
            {PRESETS.iter().map(|n| {
                let n = *n;
                view! {
                    <A href=format!("/analytics?days={n}") attr:class=move || if preset() == Some(n) { "button primary" } else { "button" }
                        attr:data-testid=format!("period-{n}")>
                        {move || t_string!(i18n, analytics.days_n, n = n).to_string()}
                    </A>
                }
            }).collect_view()}
            <Form method="GET" action="/analytics" on_form_data=super::only_filled() attr:class="range">
                <label><span>{t!(i18n, analytics.from)}</span>
                    <input type="date" name="from" data-testid="range-from" prop:value=move || query.get().from.unwrap_or_default()/></label>
                <label><span>{t!(i18n, analytics.to)}</span>
                    <input type="date" name="to" data-testid="range-to" prop:value=move || query.get().to.unwrap_or_default()/></label>
                <button type="submit" class="button" data-testid="range-apply">{t!(i18n, analytics.apply)}</button>
            </Form>
        </nav>
        <Transition fallback=move || view! { <p>{t!(i18n, loading)}</p> }>
            {move || Suspend::new(async move {
                match period.await {
                    Err(e) => view! { <p class="form-error" role="alert" data-testid="period-error">{failure_text(i18n, &e)}</p> }.into_any(),
                    Ok((trends, chat)) => view! {
                        {trend_panel(i18n, trends)}
                        {chat_panel(i18n, chat, zh())}
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

fn cards(i18n: leptos_i18n::I18nContext<Locale>, o: &Overview) -> impl IntoView {
    type Pick = fn(&OverviewFigures) -> f64;
    let since = [
        t_string!(i18n, analytics.vs_month_start).to_string(),
        t_string!(i18n, analytics.vs_last_month).to_string(),
        t_string!(i18n, analytics.vs_yesterday).to_string(),
    ];
    // (key, label, figure, is money, compared with since[…])
    let items: [(&str, String, Pick, bool, usize); 8] = [
        (
            "total_users",
            t_string!(i18n, analytics.total_users).to_string(),
            |f| f.total_users as f64,
            false,
            0,
        ),
        (
            "active_users",
            t_string!(i18n, analytics.active_users).to_string(),
            |f| f.active_users as f64,
            false,
            0,
        ),
        (
            "total_revenue",
            t_string!(i18n, analytics.total_revenue).to_string(),
            |f| f.total_revenue,
            true,
            0,
        ),
        (
            "monthly_revenue",
            t_string!(i18n, analytics.monthly_revenue).to_string(),
            |f| f.monthly_revenue,
            true,
            1,
        ),
        (
            "new_users_today",
            t_string!(i18n, analytics.new_users_today).to_string(),
            |f| f.new_users_today as f64,
            false,
            2,
        ),
        (
            "new_users_this_month",
            t_string!(i18n, analytics.new_users_this_month).to_string(),
            |f| f.new_users_this_month as f64,
            false,
            1,
        ),
        (
            "expired_users_today",
            t_string!(i18n, analytics.expired_users_today).to_string(),
            |f| f.expired_users_today as f64,
            false,
            2,
        ),
        (
            "expired_users_this_month",
            t_string!(i18n, analytics.expired_users_this_month).to_string(),
            |f| f.expired_users_this_month as f64,
            false,
            1,
        ),
    ];
    let (now, before) = (o.current.clone(), o.previous.clone());
    view! {
        <section class="cards" aria-label=t_string!(i18n, analytics.cards).to_string() data-testid="cards">
            {items.into_iter().map(|(key, label, pick, is_money, vs)| {
                let show = |v: f64| if is_money { money(v) } else { group(v as i64) };
                let (value, diff) = (pick(&now), pick(&now) - pick(&before));
                let delta = format!("{} {} {}", since[vs], arrow(diff), show(diff.abs()));
                view! {
                    <div class="card" data-testid=format!("card-{key}")>
                        <span class="card-label">{label}</span>
                        <strong class="card-value" data-testid=format!("value-{key}")>{show(value)}</strong>
                        <span class="card-delta">{delta}</span>
                    </div>
                }
            }).collect_view()}
        </section>
    }
}

fn arrow(diff: f64) -> &'static str {
    if diff > 0.0 {
        "▲"
    } else if diff < 0.0 {
        "▼"
    } else {
        "="
    }
}

/// A titled panel with a chart, the same numbers as a table on demand and
/// a CSV download of those rows.
#[component]
fn Panel(
    title: String,
    #[prop(into)] testid: String,
    csv_name: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    children: Children,
) -> impl IntoView {
    let i18n = use_i18n();
    let table = RwSignal::new(false);
    let href = csv_href(&headers, &rows);
    view! {
        <section class="panel" data-testid=testid.clone()>
            <div class="panel-head">
                <h2>{title}</h2>
                <div class="panel-actions">
                    <button type="button" class="button" aria-pressed=move || table.get().to_string()
                        data-testid=format!("{testid}-toggle") on:click=move |_| table.update(|t| *t = !*t)>
                        {move || if table.get() { t_string!(i18n, analytics.show_chart).to_string() } else { t_string!(i18n, analytics.show_table).to_string() }}
                    </button>
                    <a class="button" href=href download=csv_name data-testid=format!("{testid}-csv")>{t!(i18n, analytics.csv)}</a>
                </div>
            </div>
            <div hidden=move || table.get()>{children()}</div>
            <div hidden=move || !table.get()><DataTable headers rows testid=format!("{testid}-table")/></div>
        </section>
    }
}

fn point_label(i18n: leptos_i18n::I18nContext<Locale>) -> Callback<(String, String, f64), String> {
    Callback::new(move |(date, name, value): (String, String, f64)| {
        let value = if value.fract() == 0.0 {
            group(value as i64)
        } else {
            money(value)
        };
        t_string!(
            i18n,
            analytics.point,
            date = date,
            name = name,
            value = value
        )
        .to_string()
    })
}

fn trend_panel(i18n: leptos_i18n::I18nContext<Locale>, t: Trends) -> impl IntoView {
    let names = [
        t_string!(i18n, analytics.new_users).to_string(),
        t_string!(i18n, analytics.active_series).to_string(),
        t_string!(i18n, analytics.revenue).to_string(),
    ];
    let headers = vec![
        t_string!(i18n, analytics.date).to_string(),
        names[0].clone(),
        names[1].clone(),
        names[2].clone(),
    ];
    let rows: Vec<Vec<String>> = (0..t.dates.len())
        .map(|i| {
            vec![
                t.dates[i].clone(),
                t.new_users[i].to_string(),
                t.active_users[i].to_string(),
                format!("{:.2}", t.revenue[i]),
            ]
        })
        .collect();
    let csv = format!(
        "kefu-trends-{}-{}.csv",
        t.dates.first().cloned().unwrap_or_default(),
        t.dates.last().cloned().unwrap_or_default()
    );
    let new_players = vec![Series {
        name: names[0].clone(),
        values: t.new_users.iter().map(|v| *v as f64).collect(),
        class: "s1",
    }];
    let active = vec![Series {
        name: names[1].clone(),
        values: t.active_users.iter().map(|v| *v as f64).collect(),
        class: "s2",
    }];
    let revenue = vec![Series {
        name: names[2].clone(),
        values: t.revenue.clone(),
        class: "s3",
    }];
    view! {
        <Panel title=t_string!(i18n, analytics.trend_title).to_string() testid="trends" csv_name=csv headers rows>
            <div class="charts three">
                <LineChart title=names[0].clone() labels=t.dates.clone() series=new_players
                    point_label=point_label(i18n) testid="trend-players"/>
                <LineChart title=names[1].clone() labels=t.dates.clone() series=active
                    point_label=point_label(i18n) testid="trend-active"/>
                <LineChart title=names[2].clone() labels=t.dates.clone() series=revenue
                    point_label=point_label(i18n) testid="trend-revenue"/>
            </div>
        </Panel>
    }
}

fn high_value(i18n: leptos_i18n::I18nContext<Locale>, top: Vec<HighValuePlayer>) -> impl IntoView {
    let headers = vec![
        t_string!(i18n, analytics.account).to_string(),
        t_string!(i18n, analytics.total_payment).to_string(),
        t_string!(i18n, analytics.level).to_string(),
        t_string!(i18n, analytics.register_date).to_string(),
        t_string!(i18n, analytics.last_payment).to_string(),
    ];
    let day = |t: &str| t.get(..10).unwrap_or(t).to_owned();
    let rows: Vec<Vec<String>> = top
        .iter()
        .map(|h| {
            vec![
                h.account.clone(),
                format!("{:.2}", h.total_payment),
                level_label(i18n, h.membership_level),
                day(&h.register_date),
                day(&h.last_payment_date),
            ]
        })
        .collect();
    let href = csv_href(&headers, &rows);
    let empty = rows.is_empty();
    view! {
        <section class="panel" data-testid="high-value">
            <div class="panel-head">
                <h2>{t!(i18n, analytics.high_value)}</h2>
                <div class="panel-actions">
                    <a class="button" href=href download="kefu-high-value-players.csv" data-testid="high-value-csv">{t!(i18n, analytics.csv)}</a>
                </div>
            </div>
            {if empty {
                view! { <p class="muted">{t!(i18n, analytics.none)}</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="table" data-testid="high-value-table">
                            <thead><tr>{headers.into_iter().map(|h| view! { <th>{h}</th> }).collect_view()}</tr></thead>
                            <tbody>
                                {rows.into_iter().map(|mut r| {
                                    let account = r.remove(0);
                                    view! {
                                        <tr>
                                            <td><A href=format!("/players/{account}") attr:data-testid="high-value-link">{account.clone()}</A></td>
                                            {r.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

fn server_panel(
    i18n: leptos_i18n::I18nContext<Locale>,
    servers: Vec<ServerShare>,
    total_users: i64,
) -> impl IntoView {
    let with_server: i64 = servers.iter().map(|s| s.user_count).sum();
    let without = total_users - with_server;
    let headers = vec![
        t_string!(i18n, analytics.server).to_string(),
        t_string!(i18n, analytics.players).to_string(),
        t_string!(i18n, analytics.percentage).to_string(),
    ];
    let rows: Vec<Vec<String>> = servers
        .iter()
        .map(|s| {
            vec![
                s.server_name.clone(),
                s.user_count.to_string(),
                format!("{:.2}", s.percentage),
            ]
        })
        .collect();
    let bars: Vec<(String, f64, String)> = servers
        .iter()
        .map(|s| {
            (
                s.server_name.clone(),
                s.user_count as f64,
                format!("{} ({:.2}%)", group(s.user_count), s.percentage),
            )
        })
        .collect();
    let title = t_string!(i18n, analytics.servers).to_string();
    view! {
        <Panel title=title.clone() testid="servers" csv_name="kefu-servers.csv".to_owned() headers rows>
            <BarChart title=title rows=bars testid="server-chart"/>
            {(without > 0).then(|| view! {
                <p class="muted" data-testid="no-server">{t_string!(i18n, analytics.no_server, n = without).to_string()}</p>
            })}
        </Panel>
    }
}

fn chat_panel(i18n: leptos_i18n::I18nContext<Locale>, c: ChatStats, zh: bool) -> impl IntoView {
    let sessions_name = t_string!(i18n, analytics.sessions).to_string();
    let headers = vec![
        t_string!(i18n, analytics.date).to_string(),
        sessions_name.clone(),
    ];
    let rows: Vec<Vec<String>> = c
        .dates
        .iter()
        .zip(&c.sessions)
        .map(|(d, n)| vec![d.clone(), n.to_string()])
        .collect();
    let figures = [
        (
            t_string!(i18n, analytics.queue).to_string(),
            group(c.queue_length),
            "queue",
        ),
        (
            t_string!(i18n, analytics.first_median).to_string(),
            duration(zh, c.first_response_median_ms),
            "first-median",
        ),
        (
            t_string!(i18n, analytics.first_p90).to_string(),
            duration(zh, c.first_response_p90_ms),
            "first-p90",
        ),
        (
            t_string!(i18n, analytics.handling_median).to_string(),
            duration(zh, c.handling_median_ms),
            "handling-median",
        ),
    ];
    let agent_headers = vec![
        t_string!(i18n, analytics.agent).to_string(),
        sessions_name.clone(),
        t_string!(i18n, analytics.ended).to_string(),
        t_string!(i18n, analytics.first_median).to_string(),
    ];
    let agent_rows: Vec<Vec<String>> = c
        .per_agent
        .iter()
        .map(|a| {
            vec![
                a.agent.clone(),
                a.sessions.to_string(),
                a.ended.to_string(),
                duration(zh, a.first_response_median_ms),
            ]
        })
        .collect();
    let agent_csv = csv_href(&agent_headers, &agent_rows);
    let series = vec![Series {
        name: sessions_name.clone(),
        values: c.sessions.iter().map(|v| *v as f64).collect(),
        class: "s1",
    }];
    view! {
        <Panel title=t_string!(i18n, analytics.chat).to_string() testid="chat-stats" csv_name="kefu-chat-sessions.csv".to_owned() headers rows>
            <div class="cards small">
                {figures.into_iter().map(|(label, value, key)| view! {
                    <div class="card" data-testid=format!("chat-{key}")>
                        <span class="card-label">{label}</span>
                        <strong class="card-value">{value}</strong>
                    </div>
                }).collect_view()}
            </div>
            <div class="charts two">
                <LineChart title=sessions_name labels=c.dates.clone() series point_label=point_label(i18n) testid="chat-sessions"/>
                <div>
                    <div class="panel-head">
                        <h3>{t!(i18n, analytics.per_agent)}</h3>
                        <a class="button" href=agent_csv download="kefu-agents.csv" data-testid="agents-csv">{t!(i18n, analytics.csv)}</a>
                    </div>
                    <DataTable headers=agent_headers rows=agent_rows testid="agents-table"/>
                </div>
            </div>
        </Panel>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(group(-1000), "-1,000");
        assert_eq!(group(999), "999");
        assert_eq!(money(1234.5), "1,234.50");
        assert_eq!(money(0.07), "0.07");
        assert_eq!(duration(true, Some(90_000)), "1分30秒");
        assert_eq!(duration(false, Some(3_725_000)), "1h 2m 5s");
        assert_eq!(duration(false, None), "—");
        assert_eq!(duration(true, Some(180_000)), "3分");
        assert_eq!(duration(false, Some(3_600_000)), "1h");
        assert_eq!(duration(false, Some(0)), "0s");
    }
}
