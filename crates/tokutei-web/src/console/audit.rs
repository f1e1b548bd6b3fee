//! The access log in the console: ledger entries filtered by staff, subscriber (internal id),
//! purpose and decision, newest first, each with its inclusion proof for download — the same
//! JSON `tokutei audit prove` prints and `tokutei audit check-proof` verifies against a
//! signed checkpoint, without the database. A query covers a period (30 days unless the
//! user picks another), so that on a time-partitioned ledger it reads only those months.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use tokutei_ledger::{Decision, Event};
use tokutei_policy::Lang;
use tokutei_store::ledger::LedgerQuery;

use super::session::StaffSession;
use super::{Console, console_page, one};
use crate::routes::OVERSIGHT;
use crate::{AppError, AppState};

/// The most entries one page shows.
const PAGE: usize = 100;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filters {
    #[serde(default)]
    staff: String,
    #[serde(default)]
    subscriber: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    period: String,
}

/// The periods the access log offers: `(value, days or None for everything, label in
/// Japanese, in English)`. The first is the default.
const PERIODS: &[(&str, Option<i64>, &str, &str)] = &[
    ("30d", Some(30), "30日", "30 days"),
    ("7d", Some(7), "7日", "7 days"),
    ("90d", Some(90), "90日", "90 days"),
    ("365d", Some(365), "1年", "1 year"),
    ("all", None, "全期間", "everything"),
];

/// The start of the period `value` names (an unknown value is the default period).
fn period_start(value: &str, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
    let days = PERIODS.iter().find(|(v, ..)| *v == value).unwrap_or(&PERIODS[0]).1?;
    now.checked_sub(jiff::SignedDuration::from_hours(days * 24)).ok()
}

fn some(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

pub(crate) async fn page(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(filters): Query<Filters>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let query = LedgerQuery {
        staff: some(&filters.staff),
        subscriber: some(&filters.subscriber),
        purpose: some(&filters.purpose),
        decision: match filters.decision.as_str() {
            "allow" => Some(Decision::Allow),
            "deny" => Some(Decision::Deny),
            _ => None,
        },
        since: period_start(&filters.period, jiff::Timestamp::now()),
        ..LedgerQuery::default()
    };
    // The newest PAGE matches: keep a sliding window while scanning in index order.
    let (entries, checkpoint) = state
        .ledger(move |l| {
            let mut window = std::collections::VecDeque::with_capacity(PAGE + 1);
            l.query_entries(&query, &mut |e| {
                let index = e.index;
                window.push_back((index, e.decode()?));
                if window.len() > PAGE {
                    window.pop_front();
                }
                Ok(true)
            })?;
            Ok((window.into_iter().rev().collect::<Vec<_>>(), l.latest_checkpoint()?))
        })
        .await?;
    let covered = checkpoint.as_ref().map_or(0, |c| c.size);
    let lang = staff.lang;
    let t = |ja: &'static str, en: &'static str| one(lang, ja, en);
    let body = html! {
        h1 { (super::bi(staff.lang, "アクセスログ", "Access log")) }
        form method="get" action="/admin/audit" {
            p {
                label for="staff" { (t("取扱者ID", "Staff id")) }
                input #staff name="staff" type="text" value=(filters.staff);
            }
            p {
                label for="subscriber" { (t("利用者ID", "Subscriber id")) }
                input #subscriber name="subscriber" type="text" value=(filters.subscriber);
            }
            p {
                label for="purpose" { (t("利用目的", "Purpose")) }
                input #purpose name="purpose" type="text" value=(filters.purpose);
            }
            p {
                label for="decision" { (t("判定", "Decision")) }
                select #decision name="decision" {
                    option value="" { (t("すべて", "all")) }
                    option value="allow" selected[filters.decision == "allow"] { (t("許可", "allow")) }
                    option value="deny" selected[filters.decision == "deny"] { (t("拒否", "deny")) }
                }
            }
            p {
                label for="period" { (t("期間", "Period")) }
                select #period name="period" {
                    @for (value, _, ja, en) in PERIODS {
                        option value=(value) selected[filters.period == *value] { (one(lang, ja, en)) }
                    }
                }
            }
            p { button type="submit" { (t("絞り込む", "Filter")) } }
        }
        p.note {
            @if lang == Lang::Ja {
                "新しい順に最大 " (PAGE) " 件。証明は最新の署名済みチェックポイント（" (covered) " 件）に対するものです。"
            } @else {
                "Newest first, at most " (PAGE) " entries. Proofs are against the latest signed checkpoint (" (covered) " entries)."
            }
        }
        table {
            thead {
                tr {
                    th scope="col" { "#" }
                    th scope="col" { (t("日時 (UTC)", "Time (UTC)")) }
                    th scope="col" { (t("取扱者", "Actor")) }
                    th scope="col" { (t("内容", "Event")) }
                    th scope="col" { (t("証明", "Proof")) }
                }
            }
            tbody {
                @for (index, entry) in &entries {
                    tr {
                        td { (index) }
                        td { (entry.time.strftime("%Y-%m-%d %H:%M:%S")) }
                        td { (entry.actor.id()) }
                        td {
                            @match &entry.event {
                                Event::Access(a) => {
                                    (a.decision.as_str()) " · " (a.action.id()) " · " (a.purpose) " · "
                                    (a.subscribers.join(", ")) " · " (a.categories.join(", "))
                                    @if !a.reasons.is_empty() { " · " span.expired { (a.reasons.join(", ")) } }
                                }
                                Event::Admin(a) => { (a.action.as_str()) " · " (a.subject) }
                            }
                        }
                        td {
                            @if *index < covered {
                                a href=(format!("/admin/audit/{index}/proof")) download { "JSON" }
                            } @else {
                                span.note { (t("次のチェックポイント待ち", "awaiting the next checkpoint")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(console_page(Some(Console::of(&staff)), "アクセスログ", body).into_response())
}

/// The inclusion proof of entry `index` in the latest signed checkpoint, as a download.
pub(crate) async fn proof(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(index): Path<u64>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let proof = state
        .ledger(move |l| {
            let Some(checkpoint) = l.latest_checkpoint()? else { return Ok(None) };
            let origin = checkpoint.note.lines().next().unwrap_or_default().to_string();
            match tokutei_app::checkpoints::inclusion_proof(l, &origin, index, checkpoint.size, Some(checkpoint.note)) {
                Ok(proof) => Ok(Some(proof)),
                Err(tokutei_app::checkpoints::CheckpointError::NotInTree { .. }) => Ok(None),
                Err(tokutei_app::checkpoints::CheckpointError::Store(e)) => Err(e),
                Err(e) => Err(tokutei_store::StoreError::Corrupt(e.to_string())),
            }
        })
        .await?
        .ok_or(AppError::NotFound)?;
    let json = serde_json::to_string_pretty(&proof).map_err(|e| AppError::internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"tokutei-proof-{index}.json\"")),
        ],
        json,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::period_start;

    fn check(value: &str, expected_days: Option<i64>) {
        let now: jiff::Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        let expected = expected_days.map(|d| now.checked_sub(jiff::SignedDuration::from_hours(d * 24)).unwrap());
        assert_eq!(period_start(value, now), expected, "period `{value}`");
    }

    #[test]
    fn periods_bound_the_query() {
        check("7d", Some(7));
        check("30d", Some(30));
        check("365d", Some(365));
        check("all", None);
        // No choice, or one not offered: the default period, never the whole ledger.
        check("", Some(30));
        check("10y", Some(30));
    }
}
