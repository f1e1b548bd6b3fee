//! Uses per purpose per day over the last days (Asia/Tokyo), for the dashboard: the tally
//! (decisions: subscriber × category, allowed and denied together) and a stacked column
//! chart as server-rendered SVG, with the same figures as a table for screen readers.

use std::collections::BTreeMap;

use jiff::civil::Date;
use maud::{Markup, html};
use tokutei_ledger::{Entry, Event};
use tokutei_policy::Lang;

use super::{bi, one};

/// How many days the chart covers (today included).
pub(crate) const DAYS: i64 = 14;

/// Uses per day (oldest first, every day present) per purpose (name order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Daily {
    pub days: Vec<Date>,
    pub purposes: Vec<String>,
    /// `counts[d][p]`: uses on `days[d]` for `purposes[p]`.
    pub counts: Vec<Vec<u64>>,
}

/// Tally access entries per day (in `tz`) and purpose over the `DAYS` days ending `today`.
pub(crate) fn tally(entries: &[Entry], today: Date, tz: &jiff::tz::TimeZone) -> Daily {
    let first = today.checked_sub(jiff::Span::new().days(DAYS - 1)).unwrap_or(today);
    let mut per: BTreeMap<String, BTreeMap<Date, u64>> = BTreeMap::new();
    for entry in entries {
        let Event::Access(a) = &entry.event else { continue };
        let day = entry.time.to_zoned(tz.clone()).date();
        if day < first || day > today {
            continue;
        }
        let n = a.categories.len().max(1) as u64 * a.subscribers.len().max(1) as u64;
        *per.entry(a.purpose.clone()).or_default().entry(day).or_default() += n;
    }
    let days: Vec<Date> = (0..DAYS).filter_map(|i| first.checked_add(jiff::Span::new().days(i)).ok()).collect();
    let purposes: Vec<String> = per.keys().cloned().collect();
    let counts = days
        .iter()
        .map(|d| purposes.iter().map(|p| per.get(p).and_then(|m| m.get(d)).copied().unwrap_or(0)).collect())
        .collect();
    Daily { days, purposes, counts }
}

/// One day's column in the chart: its x, its stacked segments (y, height, colour), its label.
type Column = (u64, Vec<(u64, u64, &'static str)>, String);

/// Fill colours of the purposes, in order (repeated after eight).
const PALETTE: [&str; 8] = ["#0b5cad", "#2f6f4f", "#b3261e", "#8a4b00", "#6a3d9a", "#00796b", "#5b6475", "#c2185b"];

pub(crate) fn section(daily: &Daily, lang: Lang, partial: bool) -> Markup {
    let max = daily.counts.iter().map(|row| row.iter().sum::<u64>()).max().unwrap_or(0).max(1);
    let (left, top, plot_h, col_w) = (44u64, 10u64, 160u64, 40u64);
    let width = left + col_w * daily.days.len() as u64 + 10;
    let legend_y = top + plot_h + 36;
    let height = legend_y + 22 * daily.purposes.len().div_ceil(3) as u64 + 6;
    let columns: Vec<Column> = daily
        .days
        .iter()
        .enumerate()
        .map(|(d, day)| {
            let x = left + col_w * d as u64 + 6;
            let mut y = top + plot_h;
            let mut segments = Vec::new();
            for (p, count) in daily.counts[d].iter().enumerate() {
                let h = plot_h * count / max;
                if h > 0 {
                    y -= h;
                    segments.push((y, h, PALETTE[p % PALETTE.len()]));
                }
            }
            (x, segments, day.strftime("%m/%d").to_string())
        })
        .collect();
    let title = one(lang, "直近14日間の利用目的別・日別の利用件数", "Uses per purpose per day, last 14 days");
    html! {
        section aria-labelledby="daily" {
            h2 #daily { (bi(lang, "利用目的別・日別の利用（直近14日）", "Uses per purpose per day (last 14 days)")) }
            @if partial {
                p.note { (bi(lang, "記録が多いため、一部のみ集計しています。", "Only part of the ledger was counted: there are too many entries.")) }
            }
            @if daily.purposes.is_empty() {
                p.note #daily-empty { (bi(lang, "この期間の利用はありません。", "No uses in this period.")) }
            } @else {
                svg.chart #chart-daily role="img" aria-labelledby="chart-daily-title" viewBox=(format!("0 0 {width} {height}")) width="100%" {
                    title #chart-daily-title { (title) }
                    text x="0" y=(top + 10) font-size="11" fill="#222" { (max) }
                    text x="0" y=(top + plot_h) font-size="11" fill="#222" { "0" }
                    line x1=(left - 4) y1=(top + plot_h) x2=(width - 10) y2=(top + plot_h) stroke="#999" stroke-width="1" {}
                    @for (x, segments, label) in &columns {
                        @for (y, h, colour) in segments {
                            rect x=(x) y=(y) width=(col_w - 12) height=(h) fill=(colour) {}
                        }
                        text x=(x) y=(top + plot_h + 16) font-size="10" fill="#222" { (label) }
                    }
                    @for (p, purpose) in daily.purposes.iter().enumerate() {
                        @let lx = 10 + 210 * (p % 3) as u64;
                        @let ly = legend_y + 22 * (p / 3) as u64;
                        rect x=(lx) y=(ly - 10) width="12" height="12" fill=(PALETTE[p % PALETTE.len()]) {}
                        text x=(lx + 18) y=(ly) font-size="12" fill="#222" { (purpose) }
                    }
                }
                div.table-scroll {
                    table #table-daily {
                        caption { (title) }
                        thead {
                            tr {
                                th scope="col" { (one(lang, "日付", "Day")) }
                                @for p in &daily.purposes { th scope="col" { (p) } }
                                th scope="col" { (one(lang, "合計", "Total")) }
                            }
                        }
                        tbody {
                            @for (d, day) in daily.days.iter().enumerate() {
                                tr {
                                    th scope="row" { (day) }
                                    @for c in &daily.counts[d] { td { (c) } }
                                    td { (daily.counts[d].iter().sum::<u64>()) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokutei_ledger::{AccessEvent, Action, Actor, Decision, Entry, RequestMeta};

    fn access(at: &str, purpose: &str, categories: usize) -> Entry {
        Entry::access(
            at.parse().unwrap(),
            Actor::Staff("op".into()),
            AccessEvent {
                action: Action::Read,
                purpose: purpose.into(),
                subscribers: vec!["S1".into()],
                categories: (0..categories).map(|i| format!("c{i}")).collect(),
                decision: Decision::Allow,
                reasons: vec![],
                rules: vec![],
                policy_digest: [0; 32],
                request: RequestMeta::default(),
            },
        )
    }

    #[test]
    fn uses_are_counted_per_tokyo_day_and_purpose() {
        let tz = tokutei_policy::tokyo::zone();
        let today: jiff::civil::Date = "2026-11-29".parse().unwrap();
        let daily = super::tally(
            &[
                access("2026-11-28T14:59:00Z", "support", 2), // 23:59 on the 28th in Tokyo
                access("2026-11-28T15:00:00Z", "support", 1), // 00:00 on the 29th
                access("2026-11-29T01:00:00Z", "billing", 3),
                access("2026-11-01T01:00:00Z", "billing", 5), // outside the 14 days
            ],
            today,
            &tz,
        );
        assert_eq!(daily.days.len(), 14);
        assert_eq!(daily.days[0].to_string(), "2026-11-16");
        assert_eq!(daily.purposes, ["billing", "support"]);
        assert_eq!(daily.counts[12], [0, 2]);
        assert_eq!(daily.counts[13], [3, 1]);
        assert_eq!(daily.counts.iter().flatten().sum::<u64>(), 6);
    }
}
