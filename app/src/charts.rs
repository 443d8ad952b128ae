//! Charts drawn as SVG by Leptos components, with their numbers at hand:
//! every point and bar has a `<title>` (shown on hover) and is focusable
//! with an `aria-label`, and every panel can switch to a table and offers
//! the same rows as a CSV download.

use leptos::prelude::*;

/// One line of a [`LineChart`].
#[derive(Clone)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
    /// CSS class that colours it (`s1`, `s2`, `s3`).
    pub class: &'static str,
}

const W: f64 = 520.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// A "nice" upper bound for an axis with gridlines at its quarters: four
/// times a round step (1, 2, 3, 4, 5, 6 or 8 times a power of ten, also
/// 1.5 and 2.5 times one from 10 on; at least 1), so every gridline's label
/// is exact in [`short_number`]'s one decimal and counts never get
/// fractional lines.
pub fn nice_max(max: f64) -> f64 {
    let quarter = if max.is_nan() || max <= 0.0 {
        0.0
    } else {
        max / 4.0
    };
    if quarter <= 1.0 {
        return 4.0;
    }
    let pow = 10f64.powf(quarter.log10().floor());
    for step in [1.0f64, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        // 1.5 and 2.5 are whole only from 10 on.
        if pow < 10.0 && step.fract() != 0.0 {
            continue;
        }
        if step * pow >= quarter {
            return 4.0 * step * pow;
        }
    }
    40.0 * pow
}

/// Short axis numbers: 1200 → "1.2k", 3000000 → "3M".
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    let (n, unit) = if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let text = format!("{n:.1}");
    format!("{}{unit}", text.trim_end_matches(".0"))
}

/// A line chart over dated points; `point_label(date, series, value)` is
/// what hover and screen readers get for each point.
#[component]
pub fn LineChart(
    title: String,
    labels: Vec<String>,
    series: Vec<Series>,
    point_label: Callback<(String, String, f64), String>,
    #[prop(into)] testid: String,
) -> impl IntoView {
    let n = labels.len();
    let max = nice_max(
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .fold(0.0, f64::max),
    );
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let round = |v: f64| (v * 10.0).round() / 10.0;
    let x = move |i: usize| {
        round(if n <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (n - 1) as f64
        })
    };
    let y = move |v: f64| round(TOP + plot_h * (1.0 - v / max));
    let grid = (0..=4)
        .map(|k| {
            let v = max * k as f64 / 4.0;
            let gy = y(v);
            view! {
                <line class="grid" x1=LEFT x2=W - RIGHT y1=gy y2=gy/>
                <text class="axis" x=LEFT - 6.0 y=gy + 4.0 text-anchor="end">{short_number(v)}</text>
            }
        })
        .collect_view();
    let every = n.div_ceil(7).max(1);
    let ticks = labels
        .iter()
        .enumerate()
        .filter(|(i, _)| i.is_multiple_of(every) || *i + 1 == n)
        .map(|(i, l)| {
            let short = l.get(5..).unwrap_or(l).to_string();
            // The end labels stay inside the chart.
            let anchor = match i {
                0 if n > 1 => "start",
                _ if i + 1 == n && n > 1 => "end",
                _ => "middle",
            };
            view! { <text class="axis" x=x(i) y=H - 8.0 text-anchor=anchor>{short}</text> }
        })
        .collect_view();
    let lines = series
        .iter()
        .map(|s| {
            let points: Vec<String> = s
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
                .collect();
            let dots = s
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let label = point_label.run((
                        labels.get(i).cloned().unwrap_or_default(),
                        s.name.clone(),
                        *v,
                    ));
                    let aria = label.clone();
                    view! {
                        <circle class=format!("dot {}", s.class) cx=x(i) cy=y(*v) r="3.5"
                            tabindex="0" aria-label=aria>
                            <title>{label}</title>
                        </circle>
                    }
                })
                .collect_view();
            view! {
                <polyline class=format!("line {}", s.class) points=points.join(" ") fill="none"/>
                {dots}
            }
        })
        .collect_view();
    let legend = series
        .iter()
        .map(|s| view! { <li><span class=format!("swatch {}", s.class)></span>{s.name.clone()}</li> })
        .collect_view();
    let aria = title.clone();
    view! {
        <figure class="chart" data-testid=testid data-points=n>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=aria
                preserveAspectRatio="xMidYMid meet">
                <title>{title}</title>
                {grid}
                {ticks}
                {lines}
            </svg>
            <ul class="legend">{legend}</ul>
        </figure>
    }
}

/// Horizontal bars with a label, the value and a share.
#[component]
pub fn BarChart(
    title: String,
    rows: Vec<(String, f64, String)>,
    #[prop(into)] testid: String,
) -> impl IntoView {
    let max = rows.iter().map(|r| r.1).fold(0.0, f64::max).max(1.0);
    let row_h = 26.0;
    let height = (rows.len() as f64 * row_h).max(row_h);
    let label_w = 120.0;
    let bars = rows
        .into_iter()
        .enumerate()
        .map(|(i, (label, value, text))| {
            let y = i as f64 * row_h;
            let w = ((W - label_w - 110.0) * value / max).round();
            let aria = format!("{label}: {text}");
            let tip = aria.clone();
            view! {
                <g class="bar-row" tabindex="0" aria-label=aria>
                    <title>{tip}</title>
                    <text class="axis" x=label_w - 8.0 y=y + 17.0 text-anchor="end">{label}</text>
                    <rect class="bar s1" x=label_w y=y + 4.0 width=w.max(1.0) height=row_h - 8.0 rx="3"/>
                    <text class="value" x=label_w + w + 6.0 y=y + 17.0>{text}</text>
                </g>
            }
        })
        .collect_view();
    let aria = title.clone();
    view! {
        <figure class="chart" data-testid=testid>
            <svg viewBox=format!("0 0 {W} {height}") role="img" aria-label=aria>
                <title>{title}</title>
                {bars}
            </svg>
        </figure>
    }
}

/// A CSV file as a `data:` URL for `<a download>`: RFC 4180 quoting, a BOM
/// so spreadsheet programs read the Chinese right, CRLF line ends. A text
/// cell that a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, a
/// tab or CR first: a server named `=HYPERLINK(…)`) gets a leading `'`, so
/// it stays text; numbers are left as they are.
pub fn csv_href(headers: &[String], rows: &[Vec<String>]) -> String {
    fn field(f: &str) -> String {
        let formula = f.starts_with(['=', '+', '-', '@', '\t', '\r']) && f.parse::<f64>().is_err();
        let f = if formula {
            format!("'{f}")
        } else {
            f.to_owned()
        };
        if f.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f
        }
    }
    let mut text = String::from("\u{FEFF}");
    for line in std::iter::once(headers.to_vec()).chain(rows.iter().cloned()) {
        let cells: Vec<String> = line.iter().map(|c| field(c)).collect();
        text.push_str(&cells.join(","));
        text.push_str("\r\n");
    }
    let mut href = String::from("data:text/csv;charset=utf-8,");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            href.push(b as char);
        } else {
            href.push_str(&format!("%{b:02X}"));
        }
    }
    href
}

/// A table of the same rows a chart draws.
#[component]
pub fn DataTable(
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    #[prop(into)] testid: String,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid=testid>
                <thead><tr>{headers.into_iter().map(|h| view! { <th>{h}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr>{r.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_bounds_are_round() {
        assert_eq!(nice_max(0.0), 4.0);
        assert_eq!(nice_max(1.0), 4.0);
        assert_eq!(nice_max(7.0), 8.0);
        assert_eq!(nice_max(130.0), 160.0);
        assert_eq!(nice_max(4999.0), 6000.0);
        assert_eq!(nice_max(10_000.0), 10_000.0);
        // Counts of 5 to 10: quarters of 2 and 3, not 1.5 and 2.5.
        assert_eq!(nice_max(5.0), 8.0);
        assert_eq!(nice_max(6.0), 8.0);
        assert_eq!(nice_max(9.0), 12.0);
        assert_eq!(nice_max(10.0), 12.0);
        // Every gridline of every bound reads exactly.
        for max in [
            0.0, 1.0, 3.0, 5.0, 6.0, 7.0, 9.0, 10.0, 13.0, 23.0, 41.0, 99.0, 130.0, 777.0, 4999.0,
            12_345.0, 987_654.0,
        ] {
            let top = nice_max(max);
            assert!(top >= max, "{max}");
            for k in 0..=4 {
                let v = top * f64::from(k) / 4.0;
                assert_eq!(v.fract(), 0.0, "{max}: a line at {v}");
                let shown = short_number(v);
                let (digits, scale) = match shown.strip_suffix('k') {
                    Some(d) => (d, 1e3),
                    None => match shown.strip_suffix('M') {
                        Some(d) => (d, 1e6),
                        None => (shown.as_str(), 1.0),
                    },
                };
                let read: f64 = digits.parse().unwrap();
                assert!(
                    (read * scale - v).abs() < 1e-6,
                    "{max}: {v} shown as {shown}"
                );
            }
        }
        assert_eq!(short_number(1200.0), "1.2k");
        assert_eq!(short_number(3_000_000.0), "3M");
        assert_eq!(short_number(12.5), "12.5");
    }

    #[test]
    fn csv_quotes_and_encodes() {
        let href = csv_href(
            &["账号".into(), "note".into()],
            &[
                vec!["a,b".into(), "say \"hi\"".into()],
                vec!["=HYPERLINK(\"x\")".into(), "-12.5".into()],
                vec!["@SUM(A1)".into(), "+1".into()],
            ],
        );
        let body = href.strip_prefix("data:text/csv;charset=utf-8,").unwrap();
        let mut bytes = Vec::new();
        let raw = body.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'%' {
                let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap();
                bytes.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                bytes.push(raw[i]);
                i += 1;
            }
        }
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            text,
            "\u{FEFF}账号,note\r\n\"a,b\",\"say \"\"hi\"\"\"\r\n\
             \"'=HYPERLINK(\"\"x\"\")\",-12.5\r\n'@SUM(A1),+1\r\n"
        );
    }
}
