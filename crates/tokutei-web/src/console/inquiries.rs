//! Inquiries in the console (`/admin/inquiries`): the register with receipt number, category,
//! received, deadline, days left and status (nothing decrypted to list it); opening one shows
//! its contents — an audited use, recorded before anything is decrypted; managers move it to
//! answered or closed with a note (audited; the note is sealed like the contents). Auditors
//! read; they do not change statuses. Opening is a POST form, so no link prefetch can open one.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tokutei_app::inquiry::{Summary, may_move};
use tokutei_policy::Lang;
use tokutei_store::inquiry::InquiryStatus;

use super::session::StaffSession;
use super::{Console, bi, console_page, one};
use crate::inquiry::category_label;
use crate::routes::{MANAGERS, OVERSIGHT};
use crate::{AppError, AppState};

/// How many inquiries the list shows.
const LIST_LIMIT: usize = 500;

fn status_label(status: InquiryStatus, lang: Lang) -> &'static str {
    match status {
        InquiryStatus::Open => one(lang, "対応中", "Open"),
        InquiryStatus::Answered => one(lang, "回答済み", "Answered"),
        InquiryStatus::Closed => one(lang, "完了", "Closed"),
    }
}

fn local(t: jiff::Timestamp) -> String {
    tokutei_policy::tokyo::minutes(t)
}

/// Days from today (Asia/Tokyo) to the deadline; negative once it has passed.
fn days_left(deadline: tokutei_policy::Date, today: tokutei_policy::Date) -> i64 {
    (deadline.0 - today.0).get_days().into()
}

fn days_left_cell(summary: &Summary, today: tokutei_policy::Date, lang: Lang) -> Markup {
    let days = days_left(summary.deadline, today);
    html! {
        @if summary.status != InquiryStatus::Open {
            "—"
        } @else if days < 0 {
            strong.overdue { (one(lang, "期限超過 ", "Overdue by ")) (-days) (one(lang, "日", " days")) }
        } @else if days <= 2 {
            strong.due-soon { (days) (one(lang, "日", " days")) }
        } @else {
            (days) (one(lang, "日", " days"))
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    status: String,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    if staff.must_change {
        return Ok(Redirect::to("/admin/password").into_response());
    }
    let status = match query.status.as_str() {
        "" | "all" => None,
        code => Some(InquiryStatus::from_code(code).ok_or_else(|| AppError::BadRequest(format!("status `{code}`")))?),
    };
    let service = state.inquiry_service()?;
    let list = tokio::task::spawn_blocking(move || service.list(status, LIST_LIMIT))
        .await
        .map_err(|e| AppError::internal(format!("inquiry task failed: {e}")))?
        .map_err(AppError::from)?;
    let today = tokutei_policy::tokyo::today();
    let lang = staff.lang;
    let filter = |code: &str, label: &'static str| {
        let current = query.status.as_str() == code || (code == "all" && query.status.is_empty());
        html! {
            li {
                @if current {
                    a href=(format!("/admin/inquiries?status={code}")) aria-current="page" { (label) }
                } @else {
                    a href=(format!("/admin/inquiries?status={code}")) { (label) }
                }
            }
        }
    };
    let body = html! {
        h1 { (bi(lang, "お問い合わせ", "Inquiries")) }
        p.note {
            (bi(lang, "内容を開くと監査記録に残ります。", "Opening an inquiry is recorded in the audit ledger."))
        }
        nav aria-label=(one(lang, "状態で絞り込む", "Filter by status")) {
            ul.filters {
                (filter("all", one(lang, "すべて", "All")))
                (filter("open", status_label(InquiryStatus::Open, lang)))
                (filter("answered", status_label(InquiryStatus::Answered, lang)))
                (filter("closed", status_label(InquiryStatus::Closed, lang)))
            }
        }
        @if list.is_empty() {
            p #inquiries-empty { (bi(lang, "お問い合わせはありません。", "No inquiries.")) }
        } @else {
            div.table-scroll {
                table #inquiries {
                    thead {
                        tr {
                            th scope="col" { (one(lang, "受付番号", "Receipt")) }
                            th scope="col" { (one(lang, "種類", "About")) }
                            th scope="col" { (one(lang, "受付日時", "Received")) }
                            th scope="col" { (one(lang, "回答期限", "Deadline")) }
                            th scope="col" { (one(lang, "残り", "Days left")) }
                            th scope="col" { (one(lang, "状態", "Status")) }
                            th scope="col" { span.visually-hidden { (one(lang, "操作", "Action")) } }
                        }
                    }
                    tbody {
                        @for i in &list {
                            tr {
                                th scope="row" { code { (i.receipt) } }
                                td { (category_label(i.category, lang)) }
                                td { (local(i.received_at)) }
                                td { (i.deadline) }
                                td { (days_left_cell(i, today, lang)) }
                                td { (status_label(i.status, lang)) }
                                td {
                                    form method="post" action=(format!("/admin/inquiries/{}", i.receipt)) {
                                        input type="hidden" name="csrf" value=(staff.csrf);
                                        button type="submit" id=(format!("open-{}", i.receipt)) aria-label=(format!("{} {}", one(lang, "開く", "Open"), i.receipt)) {
                                            (one(lang, "開く", "Open"))
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
    Ok(console_page(Some(Console::of(&staff)), one(lang, "お問い合わせ", "Inquiries"), body).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    csrf: String,
}

/// A receipt number as the store keeps them (refused early otherwise: it goes into the ledger).
fn receipt_of(text: &str) -> Result<String, AppError> {
    if text.is_empty() || text.len() > 40 || !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(AppError::NotFound);
    }
    Ok(text.to_string())
}

pub(crate) async fn open(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(receipt): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let form: CsrfOnly = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let receipt = receipt_of(&receipt)?;
    let service = state.inquiry_service()?;
    let who = staff.principal.id.clone();
    let now = jiff::Timestamp::now();
    let opened = tokio::task::spawn_blocking(move || service.open(&tokutei_app::Acting::Person(who), &receipt, now))
        .await
        .map_err(|e| AppError::internal(format!("inquiry task failed: {e}")))?
        .map_err(AppError::from)?;
    let lang = staff.lang;
    let s = &opened.summary;
    let today = tokutei_policy::tokyo::today();
    let next: Vec<InquiryStatus> =
        [InquiryStatus::Answered, InquiryStatus::Closed].into_iter().filter(|to| may_move(s.status, *to)).collect();
    let body = html! {
        h1 { (bi(lang, "お問い合わせ", "Inquiry")) " " code { (s.receipt) } }
        dl #inquiry {
            dt { (one(lang, "種類", "About")) } dd { (category_label(s.category, lang)) }
            dt { (one(lang, "受付日時", "Received")) } dd { (local(s.received_at)) }
            dt { (one(lang, "回答期限", "Deadline")) } dd { (s.deadline) " (" (days_left_cell(s, today, lang)) ")" }
            dt { (one(lang, "状態", "Status")) } dd { (status_label(s.status, lang)) }
            dt { (one(lang, "お名前", "Name")) } dd { (opened.contents.name) }
            dt { (one(lang, "ご連絡先", "Contact")) } dd { (opened.contents.contact) }
            dt { (one(lang, "内容", "Message")) } dd.message { (opened.contents.message) }
            @if let Some(note) = &opened.note {
                dt { (one(lang, "対応メモ", "Note")) } dd.message { (note.as_str()) }
            }
            @if let Some((by, at)) = &s.updated {
                dt { (one(lang, "最終更新", "Last change")) } dd { (by) " · " (local(*at)) }
            }
        }
        @if MANAGERS.contains(&staff.role) && !next.is_empty() {
            h2 { (bi(lang, "状態の変更", "Change the status")) }
            form #inquiry-status-form method="post" action=(format!("/admin/inquiries/{}/status", s.receipt)) {
                input type="hidden" name="csrf" value=(staff.csrf);
                p {
                    label for="status" { (one(lang, "新しい状態", "New status")) }
                    select #status name="status" required {
                        @for to in &next { option value=(to.code()) { (status_label(*to, lang)) } }
                    }
                }
                p {
                    label for="note" { (one(lang, "対応内容のメモ（必須・暗号化して保存）", "What was done (required, stored encrypted)")) }
                    textarea #note name="note" rows="4" maxlength="4000" required {}
                }
                p { button #inquiry-status-submit type="submit" { (one(lang, "変更する", "Change")) } }
            }
        }
        @if let Some(kind) = request_kind(s.category).filter(|_| tokutei_app::requests::INTAKE.contains(&staff.role)) {
            // One click: the request form, filled with this inquiry and its type.
            p {
                a #make-request href=(format!("/admin/requests/new?inquiry={}&type={}", s.receipt, kind.code())) {
                    (one(lang, "開示等の請求として受け付ける", "Receive as a data-subject request"))
                }
            }
        }
        p { a href="/admin/inquiries" { (one(lang, "一覧へ戻る", "Back to the list")) } }
    };
    Ok(console_page(Some(Console::of(&staff)), one(lang, "お問い合わせ", "Inquiry"), body).into_response())
}

/// The request type an inquiry's category asks for, when it asks for one.
fn request_kind(category: tokutei_store::inquiry::InquiryCategory) -> Option<tokutei_app::requests::RequestKind> {
    use tokutei_app::requests::RequestKind;
    use tokutei_store::inquiry::InquiryCategory;
    match category {
        InquiryCategory::Disclosure => Some(RequestKind::Disclosure),
        InquiryCategory::Correction => Some(RequestKind::Correction),
        InquiryCategory::StopUse => Some(RequestKind::Stop),
        InquiryCategory::Deletion => Some(RequestKind::Erasure),
        InquiryCategory::Question | InquiryCategory::Complaint | InquiryCategory::Other => None,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct StatusForm {
    csrf: String,
    status: String,
    #[serde(default)]
    note: String,
}

pub(crate) async fn set_status(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(receipt): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let form: StatusForm = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let receipt = receipt_of(&receipt)?;
    let status = InquiryStatus::from_code(&form.status)
        .ok_or_else(|| AppError::BadRequest(format!("status: `{}` is not a status", form.status)))?;
    let service = state.inquiry_service()?;
    let who = staff.principal.id.clone();
    let note = zeroize::Zeroizing::new(form.note);
    let now = jiff::Timestamp::now();
    tokio::task::spawn_blocking(move || {
        service.set_status(&tokutei_app::Acting::Person(who), &receipt, status, &note, now)
    })
    .await
    .map_err(|e| AppError::internal(format!("inquiry task failed: {e}")))?
    .map_err(AppError::from)?;
    Ok(Redirect::to("/admin/inquiries").into_response())
}
