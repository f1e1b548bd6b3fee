//! Carrying information out in the console: `/admin/exports`, the export requests (持出し申請)
//! with their state — requested, approved, produced, downloaded — and the forms that carry
//! one on: approve (a manager other than the requester), produce the artefact for the
//! recipient's age key (the requester), download it once (the requester; the medium is the
//! network); and `/admin/media`, the register of exceptions to the ban on external media
//! (外部記録媒体) with the forms to grant one (a manager, for another person) and revoke one.
//! Each form is one `tokutei_app::exports` function as the signed-in person; a refused form is
//! shown again with the field named. Every role sees the exports (handlers file and produce
//! them); managers and auditors see the media register.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use maud::{Markup, html};
use tokutei_app::exports::{ExportState, ExportView, Medium, NewGrant, Produce};
use tokutei_app::{ExportId, MediaExceptionId, PrincipalId};
use tokutei_policy::{Lang, Policy, tokyo};
use tokutei_store::exports::MediaException;

use super::forms::{Fields, Problem, invalid_at, page_or_refused, person, problem_box, refusal, with_app};
use super::session::StaffSession;
use super::{bi, one};
use crate::routes::{ALL_ROLES, Access, MANAGERS, OVERSIGHT, Routes};
use crate::{AppError, AppState};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("GET", "/admin/exports", "/admin/exports", Access::Staff(ALL_ROLES), get(exports_page))
        .add(
            "POST",
            "/admin/exports/{id}/approve",
            "/admin/exports/EXP-1/approve",
            Access::Staff(MANAGERS),
            post(approve),
        )
        .add(
            "POST",
            "/admin/exports/{id}/produce",
            "/admin/exports/EXP-1/produce",
            Access::Staff(ALL_ROLES),
            post(produce),
        )
        .add(
            "POST",
            "/admin/exports/{id}/download",
            "/admin/exports/EXP-1/download",
            Access::Staff(ALL_ROLES),
            post(download),
        )
        .add("GET", "/admin/media", "/admin/media", Access::Staff(OVERSIGHT), get(media_page))
        .add("POST", "/admin/media", "/admin/media", Access::Staff(MANAGERS), post(grant))
        .add(
            "POST",
            "/admin/media/{id}/revoke",
            "/admin/media/MX-20260601-00000000/revoke",
            Access::Staff(MANAGERS),
            post(revoke),
        )
}

fn state_label(lang: Lang, state: ExportState) -> &'static str {
    let (ja, en) = state.label();
    one(lang, ja, en)
}

/// The purpose's own name in the policy in force, or its id.
fn purpose_name(policy: Option<&Policy>, lang: Lang, id: &str) -> String {
    match policy.and_then(|p| p.purpose(id)) {
        Some(p) => p.text.get(lang).unwrap_or(&p.text.ja).to_string(),
        None => id.to_string(),
    }
}

/// The exports page, with `problem` shown on the form of export `at` when one was refused.
async fn exports_shown(
    state: &AppState,
    staff: &StaffSession,
    at: Option<&str>,
    problem: Option<&Problem>,
    done: Option<&str>,
) -> Result<Response, AppError> {
    let all = with_app(state, |app| app.export_views()).await??;
    let policy = state.active_policy().await?.map(|(_, p)| p);
    let lang = staff.lang;
    let me = staff.principal.id.as_str();
    let manager = MANAGERS.contains(&staff.role);
    let title = one(lang, "持出し申請", "Export requests");
    let body = html! {
        h1 { (bi(lang, "持出し申請", "Export requests")) }
        p.note { (bi(lang,
            "特定利用者情報の持出しは承認された申請によってのみ行います。承認後、申請者が受領者の公開鍵（age）に暗号化した持出しファイルを作成し、一度だけダウンロードします。外部記録媒体への書出しは原則禁止です。",
            "特定利用者情報 leaves only under an approved request. Once approved, the requester produces the artefact encrypted to the recipient's public key (age) and downloads it once. Writing to external media is banned in principle.")) }
        @if let Some(done) = done { p.notice role="status" #exports-done { (done) } }
        (problem_box(lang, problem))
        @if all.is_empty() {
            p #exports-empty { (bi(lang, "持出し申請はありません。申請は tokutei exports request で行います。", "No export requests. File one with tokutei exports request.")) }
        } @else {
            div.table-scroll {
                table #exports {
                    thead { tr {
                        th scope="col" { (one(lang, "番号", "No.")) }
                        th scope="col" { (one(lang, "利用目的", "Purpose")) }
                        th scope="col" { (one(lang, "申請者", "Requester")) }
                        th scope="col" { (one(lang, "有効期限", "In force until")) }
                        th scope="col" { (one(lang, "状態", "State")) }
                        th scope="col" { (one(lang, "操作", "Actions")) }
                    } }
                    tbody {
                        @for v in &all {
                            (export_row(lang, staff, v, policy.as_deref(), me, manager, at, problem))
                        }
                    }
                }
            }
        }
    };
    Ok(page_or_refused(staff, title, problem, body))
}

#[allow(clippy::too_many_arguments, reason = "one row of the table, with what decides its forms")]
fn export_row(
    lang: Lang,
    staff: &StaffSession,
    v: &ExportView,
    policy: Option<&Policy>,
    me: &str,
    manager: bool,
    at: Option<&str>,
    problem: Option<&Problem>,
) -> Markup {
    let r = &v.request.request;
    let id = r.id.as_str();
    let here = (at == Some(id)).then_some(problem).flatten();
    let mine = r.requested_by == me;
    let channels = policy.and_then(|p| p.purpose(&r.purpose)).map(|p| p.channels.clone()).unwrap_or_default();
    html! {
        tr id=(format!("export-{id}")) {
            th scope="row" { (id) }
            td { (purpose_name(policy, lang, &r.purpose)) " " code { (r.purpose) } }
            td { (r.requested_by) }
            td { (tokyo::minutes(r.valid_until)) }
            td { (state_label(lang, v.state)) }
            td {
                @if v.state == ExportState::Requested && manager && !mine {
                    form method="post" action=(format!("/admin/exports/{id}/approve")) {
                        input type="hidden" name="csrf" value=(staff.csrf);
                        button type="submit" { (one(lang, "承認する", "Approve")) }
                    }
                }
                @if v.state == ExportState::Approved && mine {
                    form method="post" action=(format!("/admin/exports/{id}/produce")) {
                        input type="hidden" name="csrf" value=(staff.csrf);
                        label for=(format!("recipient_key-{id}")) { (one(lang, "受領者の公開鍵（age1…）", "Recipient's public key (age1…)")) }
                        input type="text" id=(format!("recipient_key-{id}")) name="recipient_key" required autocomplete="off" spellcheck="false"
                            aria-invalid=[invalid_at(here, "recipient_key")];
                        @if !channels.is_empty() {
                            label for=(format!("channel-{id}")) { (one(lang, "経路", "Channel")) }
                            select id=(format!("channel-{id}")) name="channel" {
                                @for c in &channels { option value=(c.id()) { (c.label(lang)) } }
                            }
                        }
                        button type="submit" { (one(lang, "持出しファイルを作成する", "Produce the artefact")) }
                    }
                }
                @if v.state == ExportState::Produced && mine {
                    form method="post" action=(format!("/admin/exports/{id}/download")) {
                        input type="hidden" name="csrf" value=(staff.csrf);
                        button type="submit" { (one(lang, "ダウンロードする（一度限り）", "Download (once only)")) }
                    }
                }
                @if let Some(a) = &v.artefact {
                    p.small { "SHA-256 " code { (a.sha256) } }
                    @if let Some(d) = &a.download {
                        p.small { (one(lang, "受領 ", "Downloaded ")) (tokyo::minutes(d.at)) " · " (d.by) " · " (d.medium) }
                    }
                }
            }
        }
    }
}

async fn exports_page(State(state): State<AppState>, staff: StaffSession) -> Result<Response, AppError> {
    staff.require(ALL_ROLES)?;
    exports_shown(&state, &staff, None, None, None).await
}

fn export_id(text: &str) -> Result<ExportId, AppError> {
    ExportId::parse(text).map_err(|_| AppError::NotFound)
}

/// A form of an export: the role, the CSRF token, the application's answer, then the page
/// again (with the problem on the form when refused).
async fn on_export<F>(
    state: AppState,
    staff: StaffSession,
    id: String,
    raw: &[u8],
    roles: &[tokutei_policy::Role],
    done: (&'static str, &'static str),
    work: F,
) -> Result<Response, AppError>
where
    F: FnOnce(&tokutei_app::App, &tokutei_app::Acting, &ExportId, &Fields) -> tokutei_app::ActionResult<()>
        + Send
        + 'static,
{
    staff.require(roles)?;
    let f = Fields::parse(raw)?;
    staff.check_csrf(f.get("csrf"))?;
    let id = export_id(&id)?;
    let by = person(&staff);
    let key = id.clone();
    let answer = refusal(with_app(&state, move |app| work(app, &by, &key, &f)).await?)?;
    let done = one(staff.lang, done.0, done.1);
    match answer {
        Ok(()) => exports_shown(&state, &staff, None, None, Some(done)).await,
        Err(problem) => exports_shown(&state, &staff, Some(id.as_str()), Some(&problem), None).await,
    }
}

async fn approve(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let done = ("承認しました。", "Approved.");
    on_export(state, staff, id, &body, MANAGERS, done, |app, by, id, _| {
        app.approve_export(by, id, Timestamp::now()).map(drop)
    })
    .await
}

async fn produce(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let client = format!("console:{}", hex::encode(&staff.id_hash[..4]));
    let terminal = Some(staff.terminal);
    let done = ("持出しファイルを作成しました。", "The artefact was produced.");
    on_export(state, staff, id, &body, ALL_ROLES, done, move |app, by, id, f| {
        let channel = match f.opt("channel") {
            None => None,
            Some(c) => Some(
                tokutei_policy::Channel::from_id(&c)
                    .ok_or_else(|| tokutei_app::ActionError::invalid("channel", format!("`{c}` is not a channel")))?,
            ),
        };
        let produce = Produce {
            id: id.clone(),
            recipient_key: f.get("recipient_key").to_string(),
            channel,
            zone: None,
            terminal,
            client,
        };
        app.produce_export(by, &produce, Timestamp::now()).map(drop)
    })
    .await
}

/// The artefact as a file to save, once; a refusal shows the page again.
async fn download(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(ALL_ROLES)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let id = export_id(&id)?;
    let by = person(&staff);
    let key = id.clone();
    let answer =
        refusal(with_app(&state, move |app| app.download_export(&by, &key, Medium::Network, Timestamp::now())).await?)?;
    match answer {
        Ok(got) => Ok(crate::api::exports::artefact_response(got)),
        Err(problem) => exports_shown(&state, &staff, Some(id.as_str()), Some(&problem), None).await,
    }
}

fn exception_row(lang: Lang, staff: &StaffSession, e: &MediaException, manager: bool) -> Markup {
    let x = &e.exception;
    let medium = Medium::parse("medium", &x.medium).map_or(x.medium.as_str(), |m| m.label(lang));
    html! {
        tr id=(format!("exception-{}", x.id)) {
            th scope="row" { (x.id) }
            td { (x.person) }
            td { (medium) }
            td { (x.valid_from) " – " (x.valid_until) }
            td { (x.approved_by) }
            td { (x.reason) }
            td {
                @match &e.revoked {
                    Some(r) => { (one(lang, "取消 ", "Revoked ")) (tokyo::minutes(r.at)) }
                    None => {
                        (one(lang, "有効", "Granted"))
                        @if manager {
                            form method="post" action=(format!("/admin/media/{}/revoke", x.id)) {
                                input type="hidden" name="csrf" value=(staff.csrf);
                                button type="submit" { (one(lang, "取り消す", "Revoke")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The media register, with the grant form (and `problem` on it when refused).
async fn media_shown(
    state: &AppState,
    staff: &StaffSession,
    f: &Fields,
    problem: Option<&Problem>,
    done: Option<&str>,
) -> Result<Response, AppError> {
    let all = with_app(state, |app| app.media_exceptions()).await??;
    let lang = staff.lang;
    let manager = MANAGERS.contains(&staff.role);
    let title = one(lang, "外部記録媒体の例外", "Media exceptions");
    let body = html! {
        h1 { (bi(lang, "外部記録媒体の例外", "Exceptions to the ban on external media")) }
        p.note { (bi(lang,
            "外部記録媒体（USBメモリ、光ディスク、SDカード、外付けディスク等）への書出しは原則禁止です。例外は統括管理者または責任者が本人以外の取扱者に対し、媒体ごとに最長90日まで承認します。",
            "Writing to external media (USB drives, optical discs, SD cards, external disks…) is banned in principle. A chief manager or responsible person grants an exception to someone else, per medium, for at most 90 days.")) }
        @if let Some(done) = done { p.notice role="status" #media-done { (done) } }
        @if all.is_empty() {
            p #media-empty { (bi(lang, "例外はありません。", "No exceptions.")) }
        } @else {
            div.table-scroll {
                table #media-exceptions {
                    thead { tr {
                        th scope="col" { (one(lang, "番号", "No.")) }
                        th scope="col" { (one(lang, "取扱者", "Person")) }
                        th scope="col" { (one(lang, "媒体", "Medium")) }
                        th scope="col" { (one(lang, "期間", "Days in force")) }
                        th scope="col" { (one(lang, "承認者", "Approved by")) }
                        th scope="col" { (one(lang, "理由", "Reason")) }
                        th scope="col" { (one(lang, "状態", "State")) }
                    } }
                    tbody { @for e in &all { (exception_row(lang, staff, e, manager)) } }
                }
            }
        }
        @if manager {
            h2 { (bi(lang, "例外を承認する", "Grant an exception")) }
            (problem_box(lang, problem))
            form #media-grant method="post" action="/admin/media" {
                input type="hidden" name="csrf" value=(staff.csrf);
                label for="person" { (one(lang, "取扱者ID", "Person (id)")) }
                input #person type="text" name="person" required value=(f.get("person")) aria-invalid=[invalid_at(problem, "person")];
                label for="medium" { (one(lang, "媒体", "Medium")) }
                select #medium name="medium" aria-invalid=[invalid_at(problem, "medium")] {
                    @for m in Medium::EXTERNAL {
                        option value=(m.code()) selected[f.get("medium") == m.code()] { (m.label(lang)) }
                    }
                }
                label for="reason" { (one(lang, "理由（200字以内）", "Reason (up to 200 characters)")) }
                input #reason type="text" name="reason" required maxlength="200" value=(f.get("reason")) aria-invalid=[invalid_at(problem, "reason")];
                label for="valid_from" { (one(lang, "開始日（空欄は本日）", "First day (blank: today)")) }
                input #valid_from type="date" name="valid_from" value=(f.get("valid_from")) aria-invalid=[invalid_at(problem, "valid_from")];
                label for="valid_until" { (one(lang, "終了日（90日以内）", "Last day (within 90 days)")) }
                input #valid_until type="date" name="valid_until" required value=(f.get("valid_until")) aria-invalid=[invalid_at(problem, "valid_until")];
                button type="submit" { (one(lang, "承認する", "Grant")) }
            }
        }
    };
    Ok(page_or_refused(staff, title, problem, body))
}

async fn media_page(State(state): State<AppState>, staff: StaffSession) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    media_shown(&state, &staff, &Fields::default(), None, None).await
}

fn date_field(f: &Fields, name: &'static str) -> Result<Option<tokutei_policy::Date>, Problem> {
    match f.opt(name) {
        None => Ok(None),
        Some(text) => tokyo::parse_instant(text.trim())
            .map(|t| Some(tokyo::date_of(t)))
            .ok_or_else(|| Problem::invalid(name, format!("`{}` is not a date: use YYYY-MM-DD", text.trim()))),
    }
}

/// The grant form as the application takes it, or the field at fault.
fn grant_of(f: &Fields) -> Result<NewGrant, Problem> {
    let person = PrincipalId::parse_as("person", f.get("person").trim())
        .map_err(|e| Problem::of(e).unwrap_or_else(|_| Problem::invalid("person", "not a principal id")))?;
    let medium = Medium::parse("medium", f.get("medium"))
        .map_err(|e| Problem::of(e).unwrap_or_else(|_| Problem::invalid("medium", "not a medium")))?;
    let valid_until = date_field(f, "valid_until")?.ok_or_else(|| Problem::invalid("valid_until", "is empty"))?;
    Ok(NewGrant {
        person,
        medium,
        reason: f.get("reason").to_string(),
        valid_from: date_field(f, "valid_from")?,
        valid_until,
    })
}

async fn grant(
    State(state): State<AppState>,
    staff: StaffSession,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let problem = match grant_of(&f) {
        Err(problem) => Some(problem),
        Ok(new) => {
            let by = person(&staff);
            let answer =
                refusal(with_app(&state, move |app| app.grant_media_exception(&by, &new, Timestamp::now())).await?)?;
            answer.err()
        }
    };
    match problem {
        Some(p) => media_shown(&state, &staff, &f, Some(&p), None).await,
        None => Ok(Redirect::to("/admin/media").into_response()),
    }
}

async fn revoke(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let id = MediaExceptionId::parse(id).map_err(|_| AppError::NotFound)?;
    let by = person(&staff);
    let answer = refusal(with_app(&state, move |app| app.revoke_media_exception(&by, &id, Timestamp::now())).await?)?;
    match answer {
        Ok(_) => {
            media_shown(&state, &staff, &Fields::default(), None, Some(one(staff.lang, "取り消しました。", "Revoked.")))
                .await
        }
        Err(p) => media_shown(&state, &staff, &Fields::default(), Some(&p), None).await,
    }
}
