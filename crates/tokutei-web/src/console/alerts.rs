//! The alert outbox's delivery log in the console (`/admin/alerts`): every alert (newest
//! first) with its state, attempts, next attempt and each delivery attempt's answer; a
//! manager re-queues a failed one (`App::retry_alert`, audited first). Auditors read.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::html;
use serde::Deserialize;
use tokutei_app::AlertId;
use tokutei_policy::{Lang, tokyo};
use tokutei_store::outbox::{AlertChannel, AlertState};

use super::forms::person;
use super::session::StaffSession;
use super::{Console, bi, console_page, one};
use crate::routes::{Access, MANAGERS, OVERSIGHT, Routes};
use crate::{AppError, AppState};

/// The most alerts the page shows.
const LIST_LIMIT: usize = 200;

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("GET", "/admin/alerts", "/admin/alerts", Access::Staff(OVERSIGHT), axum::routing::get(page)).add(
        "POST",
        "/admin/alerts/{id}/retry",
        "/admin/alerts/al-0123456789ab/retry",
        Access::Staff(MANAGERS),
        axum::routing::post(retry),
    )
}

fn state_label(lang: Lang, state: AlertState) -> &'static str {
    match state {
        AlertState::Pending => one(lang, "送信待ち", "Pending"),
        AlertState::Delivered => one(lang, "送信済み", "Delivered"),
        AlertState::Failed => one(lang, "失敗", "Failed"),
    }
}

fn channel_label(lang: Lang, channel: AlertChannel) -> &'static str {
    match channel {
        AlertChannel::Webhook => one(lang, "Webhook", "Webhook"),
        AlertChannel::Email => one(lang, "電子メール", "E-mail"),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    done: String,
}

async fn page(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let filter = match query.state.as_str() {
        "" | "all" => None,
        code => Some(AlertState::from_code(code).ok_or_else(|| AppError::BadRequest(format!("state `{code}`")))?),
    };
    let app = state.access_service()?;
    let alerts = tokio::task::spawn_blocking(move || app.alerts(filter, LIST_LIMIT))
        .await
        .map_err(|e| AppError::internal(format!("alert task failed: {e}")))??;
    let lang = staff.lang;
    let manager = MANAGERS.contains(&staff.role);
    let link = |code: &str, label: &'static str| {
        let current = query.state == code || (code == "all" && query.state.is_empty());
        let href = format!("/admin/alerts?state={code}");
        html! { li { @if current { a href=(href) aria-current="page" { (label) } } @else { a href=(href) { (label) } } } }
    };
    let body = html! {
        h1 { (bi(lang, "通知（アラート）の送信記録", "Alert delivery log")) }
        @if query.done == "retried" {
            p.saved role="status" #done { (bi(lang, "再送信の待ち行列に戻しました。", "The alert is queued again.")) }
        }
        p.note { (bi(lang, "期限の警告などの通知と、その送信の試行を表示します。失敗した通知は管理者が再送信できます（監査記録に残ります）。", "Alerts such as deadline warnings and every delivery attempt. A manager may queue a failed alert again (recorded in the audit ledger).")) }
        nav aria-label=(one(lang, "状態で絞り込む", "Filter by state")) {
            ul.filters {
                (link("all", one(lang, "すべて", "All")))
                @for s in AlertState::ALL { (link(s.code(), state_label(lang, s))) }
            }
        }
        @if alerts.is_empty() {
            p #alerts-empty { (bi(lang, "通知はありません。", "No alerts.")) }
        } @else {
            div.table-scroll {
                table #alerts {
                    thead {
                        tr {
                            th scope="col" { (one(lang, "作成", "Created")) }
                            th scope="col" { (one(lang, "件名", "Title")) }
                            th scope="col" { (one(lang, "経路", "Channel")) }
                            th scope="col" { (one(lang, "状態", "State")) }
                            th scope="col" { (one(lang, "試行", "Attempts")) }
                            th scope="col" { (one(lang, "送信の記録", "Deliveries")) }
                            th scope="col" { span.visually-hidden { (one(lang, "操作", "Action")) } }
                        }
                    }
                    tbody {
                        @for a in &alerts {
                            @let s = &a.alert;
                            tr {
                                td { (tokyo::minutes(s.alert.created_at)) }
                                th scope="row" {
                                    @match &a.document {
                                        Some(d) => { (if lang == Lang::Ja { &d.title.ja } else { &d.title.en }) }
                                        None => { (s.alert.kind) }
                                    }
                                    br; code { (s.alert.id) }
                                }
                                td { (channel_label(lang, s.alert.channel)) }
                                td {
                                    @if s.state == AlertState::Failed { strong.overdue { (state_label(lang, s.state)) } }
                                    @else { (state_label(lang, s.state)) }
                                    @if s.state == AlertState::Pending { br; (one(lang, "次回 ", "next ")) (tokyo::minutes(s.next_attempt_at)) }
                                }
                                td { (s.attempts) }
                                td {
                                    @if a.deliveries.is_empty() { "—" }
                                    ul.deliveries {
                                        @for d in &a.deliveries {
                                            li {
                                                (tokyo::minutes(d.attempted_at)) " " (d.result.code())
                                                @if let Some(code) = d.status { " (" (code) ")" }
                                                @if let Some(e) = &d.error { " " span.note { (e) } }
                                            }
                                        }
                                    }
                                }
                                td {
                                    @if manager && s.state == AlertState::Failed {
                                        form method="post" action=(format!("/admin/alerts/{}/retry", s.alert.id)) {
                                            input type="hidden" name="csrf" value=(staff.csrf);
                                            button type="submit" id=(format!("retry-{}", s.alert.id)) { (one(lang, "再送信", "Retry")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(console_page(Some(Console::of(&staff)), one(lang, "通知の送信記録", "Alert delivery log"), body).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn retry(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let form: CsrfOnly = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let id = AlertId::parse(id).map_err(|_| AppError::NotFound)?;
    let app = state.access_service()?;
    let by = person(&staff);
    tokio::task::spawn_blocking(move || app.retry_alert(&by, &id, Timestamp::now()))
        .await
        .map_err(|e| AppError::internal(format!("alert task failed: {e}")))??;
    Ok(Redirect::to("/admin/alerts?done=retried").into_response())
}
