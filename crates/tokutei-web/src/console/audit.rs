//! The access log in the console: ledger entries filtered by staff, subscriber (internal id),
//! purpose and decision, newest first, each with its inclusion proof for download — the same
//! JSON `tokutei audit prove` prints and `tokutei audit check-proof` verifies against a
//! signed checkpoint, without the database.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use maud::html;
use serde::Deserialize;
use tokutei_ledger::{Decision, Event, Proof};
use tokutei_store::ledger::LedgerQuery;

use super::session::StaffSession;
use super::{Console, console_page};
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
    let body = html! {
        h1 { (super::bi(staff.lang, "アクセスログ", "Access log")) }
        form method="get" action="/admin/audit" {
            p {
                label for="staff" { "取扱者ID / Staff id" }
                input #staff name="staff" type="text" value=(filters.staff);
            }
            p {
                label for="subscriber" { "利用者ID / Subscriber id" }
                input #subscriber name="subscriber" type="text" value=(filters.subscriber);
            }
            p {
                label for="purpose" { "利用目的 / Purpose" }
                input #purpose name="purpose" type="text" value=(filters.purpose);
            }
            p {
                label for="decision" { "判定 / Decision" }
                select #decision name="decision" {
                    option value="" { "すべて / all" }
                    option value="allow" selected[filters.decision == "allow"] { "許可 / allow" }
                    option value="deny" selected[filters.decision == "deny"] { "拒否 / deny" }
                }
            }
            p { button type="submit" { "絞り込む / Filter" } }
        }
        p.note { "新しい順に最大 " (PAGE) " 件。証明は最新の署名済みチェックポイント（" (covered) " 件）に対するものです。" }
        table {
            thead {
                tr {
                    th scope="col" { "#" }
                    th scope="col" { "日時 Time (UTC)" }
                    th scope="col" { "取扱者 Actor" }
                    th scope="col" { "内容 Event" }
                    th scope="col" { "証明 Proof" }
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
                                span.note { "次のチェックポイント待ち" }
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
            if index >= checkpoint.size {
                return Ok(None);
            }
            let Some(stored) = l.ledger_entry(index)? else { return Ok(None) };
            let hashes = l.prove_inclusion(index, checkpoint.size)?;
            let head = l.tree_head_at(checkpoint.size)?;
            let origin = checkpoint.note.lines().next().unwrap_or_default().to_string();
            Ok(Some(Proof::Inclusion {
                origin,
                index,
                tree_size: checkpoint.size,
                leaf_hash: stored.leaf_hash,
                entry: Some(base64::engine::general_purpose::STANDARD.encode(&stored.encoded)),
                hashes,
                root: head.root,
                checkpoint: Some(checkpoint.note),
            }))
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
