//! Oversight in the console (`/admin/oversight`): the overview of the registers with their
//! clocks; the designation and its three statutory deadlines (記録 and correction); the chief
//! manager register (appointment, notification) and the opinions log (opinion, response); the
//! violation reporting line (any member of staff files a report; the oversight roles read every
//! report; managers acknowledge and resolve).
//!
//! Every POST calls one application function of `tokutei_app::oversight` with the signed-in
//! person as the actor; a form the application refuses is shown again with the field named, and
//! nothing changed. A report's text appears only on its own page, never in a URL or the ledger.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use maud::{Markup, html};
use serde::Deserialize;
use tokutei_app::oversight::designation::{DesignationInput, DesignationStatus};
use tokutei_app::oversight::manager::{
    AppointInput, AppointmentView, NotificationInput, OpinionInput, OpinionView, ResponseInput,
};
use tokutei_app::oversight::violations::{Outcome, ReportInput, ResolveInput, ViolationState, ViolationView};
use tokutei_app::{AppointmentId, IncidentId, OpinionId, PrincipalId, ServiceId};
use tokutei_policy::{Date, Lang, Policy, Role, tokyo};
use tokutei_store::oversight::ViolationEventKind;

use super::forms::{Fields, Problem, days_cell, invalid_at, page_or_refused, person, problem_box, refusal, with_app};
use super::session::StaffSession;
use super::{bi, one};
use crate::routes::{ALL_ROLES, Access, MANAGERS, OVERSIGHT, Routes};
use crate::{AppError, AppState};

pub(crate) fn routes(r: Routes) -> Routes {
    let staff = Access::Staff;
    const VR: &str = "/admin/oversight/violations/VR-1";
    r.add("GET", "/admin/oversight", "/admin/oversight", staff(OVERSIGHT), get(overview))
        .add("GET", "/admin/oversight/designation", "/admin/oversight/designation", staff(OVERSIGHT), get(designation))
        .add("POST", "/admin/oversight/designation", "/admin/oversight/designation", staff(MANAGERS), post(designate))
        .add("GET", "/admin/oversight/manager", "/admin/oversight/manager", staff(OVERSIGHT), get(manager))
        .add(
            "POST",
            "/admin/oversight/manager/appoint",
            "/admin/oversight/manager/appoint",
            staff(MANAGERS),
            post(appoint),
        )
        .add(
            "POST",
            "/admin/oversight/manager/notified",
            "/admin/oversight/manager/notified",
            staff(MANAGERS),
            post(notified),
        )
        .add("POST", "/admin/oversight/opinions", "/admin/oversight/opinions", staff(MANAGERS), post(opinion))
        .add(
            "POST",
            "/admin/oversight/opinions/{id}/respond",
            "/admin/oversight/opinions/OP-1/respond",
            staff(MANAGERS),
            post(respond),
        )
        .add("GET", "/admin/oversight/violations", "/admin/oversight/violations", staff(OVERSIGHT), get(violations))
        .add("POST", "/admin/oversight/violations", "/admin/oversight/violations", staff(ALL_ROLES), post(report))
        .add(
            "GET",
            "/admin/oversight/violations/new",
            "/admin/oversight/violations/new",
            staff(ALL_ROLES),
            get(new_report),
        )
        .add("GET", "/admin/oversight/violations/{id}", VR, staff(OVERSIGHT), get(violation))
        .add(
            "POST",
            "/admin/oversight/violations/{id}/ack",
            "/admin/oversight/violations/VR-1/ack",
            staff(MANAGERS),
            post(acknowledge),
        )
        .add(
            "POST",
            "/admin/oversight/violations/{id}/resolve",
            "/admin/oversight/violations/VR-1/resolve",
            staff(MANAGERS),
            post(resolve),
        )
}

// ---------------------------------------------------------------------------------------------
// Shared

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: String,
}

fn done_message(lang: Lang, code: &str) -> Option<Markup> {
    let (ja, en) = match code {
        "designated" => ("指定を記録しました。", "The designation is recorded."),
        "appointed" => (
            "統括管理者の選任を記録しました。届出の期限を確認してください。",
            "The appointment is recorded; mind its notification deadline.",
        ),
        "notified" => ("選任の届出を記録しました。", "The notification is recorded."),
        "opinion" => ("意見を記録しました。", "The opinion is recorded."),
        "responded" => ("対応を記録しました。", "The response is recorded."),
        "reported" => {
            ("報告を受け付けました。責任者に通知します。", "The report is filed; its responsible persons are alerted.")
        }
        "acknowledged" => ("確認を記録しました。", "The acknowledgement is recorded."),
        "resolved" => ("終結を記録しました。", "The resolution is recorded."),
        _ => return None,
    };
    Some(html! { p.saved.no-print role="status" #done { (bi(lang, ja, en)) } })
}

fn done(path: &str, what: &str) -> Response {
    Redirect::to(&format!("{path}?done={what}")).into_response()
}

/// A civil date typed in a form (`YYYY-MM-DD`, Asia/Tokyo).
fn date(fields: &Fields, name: &'static str) -> Result<Date, Problem> {
    let text = fields.get(name).trim();
    if text.is_empty() {
        return Err(Problem::invalid(name, "is empty: use YYYY-MM-DD"));
    }
    text.parse::<Date>().map_err(|_| Problem::invalid(name, format!("`{text}` is not a date: use YYYY-MM-DD")))
}

/// The staff registry's names and the policy in force, for labels.
struct Names {
    policy: Option<std::sync::Arc<Policy>>,
    staff: HashMap<String, String>,
    lang: Lang,
}

impl Names {
    async fn load(state: &AppState, lang: Lang) -> Result<Names, AppError> {
        let policy = state.active_policy().await?.map(|(_, p)| p);
        let staff = state.blocking(|b| b.principals()).await?.into_iter().map(|p| (p.id, p.display_name)).collect();
        Ok(Names { policy, staff, lang })
    }

    fn person(&self, id: &str) -> String {
        self.staff.get(id).cloned().unwrap_or_else(|| id.to_string())
    }

    /// A measure as the policy names it: `（6）技術的安全管理措置`.
    fn measure(&self, number: u8) -> String {
        let title = self
            .policy
            .as_ref()
            .and_then(|p| p.security.measures.iter().find(|m| m.number == u32::from(number)))
            .and_then(|m| m.title.get(self.lang).or_else(|| m.title.get(Lang::Ja)).map(str::to_string));
        match title {
            Some(t) => format!("（{number}）{t}"),
            None => format!("（{number}）"),
        }
    }

    /// The measures of the policy in force, numbered, for a select.
    fn measures(&self) -> Vec<(u8, String)> {
        let numbers: Vec<u8> = match &self.policy {
            Some(p) if !p.security.measures.is_empty() => {
                p.security.measures.iter().filter_map(|m| u8::try_from(m.number).ok()).collect()
            }
            _ => (1..=7).collect(),
        };
        numbers.into_iter().map(|n| (n, self.measure(n))).collect()
    }

    fn service(&self, id: &str) -> String {
        self.policy
            .as_ref()
            .and_then(|p| p.service(id))
            .and_then(|s| s.name.get(self.lang).or_else(|| s.name.get(Lang::Ja)).map(str::to_string))
            .unwrap_or_else(|| id.to_string())
    }
}

fn state_label(lang: Lang, state: ViolationState) -> Markup {
    let en = match state {
        ViolationState::Received => "Received",
        ViolationState::Acknowledged => "Acknowledged",
        ViolationState::Resolved(Outcome::None) => "Closed: no violation",
        ViolationState::Resolved(Outcome::Violation) => "Closed: a violation",
    };
    bi(lang, state.ja(), en)
}

fn detector_label(lang: Lang, code: &str) -> &'static str {
    match code {
        "denial_burst" => one(lang, "拒否の集中", "Burst of denials"),
        "read_volume" => one(lang, "閲覧件数の超過", "Read volume"),
        "off_hours" => one(lang, "時間外の閲覧", "Reads outside working hours"),
        "export" => one(lang, "持ち出し", "Export"),
        "lockout" => one(lang, "ログインのロック", "Sign-in lockout"),
        "rare_purpose" => one(lang, "普段使わない目的での利用", "Use for a rarely used purpose"),
        _ => one(lang, "検知", "Detector"),
    }
}

// ---------------------------------------------------------------------------------------------
// Overview

async fn overview(State(state): State<AppState>, staff: StaffSession) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let now = Timestamp::now();
    let by = person(&staff);
    let (status, managers, opinions, reports, rules) = with_app(&state, move |app| {
        Ok((
            app.designation_status(now)?,
            app.chief_managers(now)?,
            app.opinions(now)?,
            app.violations(&by, now)?,
            app.rules_versions(now)?,
        ))
    })
    .await??;
    let rules_in_force = rules.iter().find(|v| v.in_force);
    let never_filed: Vec<u32> = rules.iter().filter(|v| !v.filed()).map(|v| v.stored.version).collect();
    let names = Names::load(&state, staff.lang).await?;
    let lang = staff.lang;
    let active = managers.iter().find(|m| m.active);
    let unanswered = opinions.iter().filter(|o| o.response_days_left.is_some()).count();
    let open = reports.iter().filter(|v| !matches!(v.state, ViolationState::Resolved(_))).count();
    let overdue = reports.iter().filter(|v| v.ack_overdue).count();
    let body = html! {
        h1 { (bi(lang, "監督", "Oversight")) }
        p { (bi(lang, "指定の期限、統括管理者、違反の報告、自己点検を管理します。", "The designation's deadlines, the chief manager, violation reports and self-inspections.")) }
        nav #oversight-pages aria-label=(one(lang, "監督の各ページ", "Oversight pages")) {
            ul {
                li { a href="/admin/oversight/designation" { (one(lang, "指定と法定期限", "Designation and deadlines")) } }
                li { a href="/admin/oversight/manager" { (one(lang, "統括管理者と意見", "Chief manager and opinions")) } }
                li { a href="/admin/oversight/rules" { (one(lang, "情報取扱規程", "Information handling rules")) } }
                li { a href="/admin/oversight/violations" { (one(lang, "違反の報告", "Violation reports")) } }
                li { a href="/admin/oversight/inspections" { (one(lang, "自己点検", "Self-inspections")) } }
                li { a href="/admin/oversight/training" { (one(lang, "教育研修", "Training")) } }
                li { a href="/admin/oversight/zones" { (one(lang, "取扱区域と入退室", "Zones and entry/exit")) } }
                li { a href="/admin/oversight/assessments" { (one(lang, "年次評価", "Annual assessments")) } }
            }
        }
        section aria-labelledby="ov-designation" {
            h2 #ov-designation { a href="/admin/oversight/designation" { (bi(lang, "指定と法定期限", "Designation and statutory deadlines")) } }
            @match &status {
                None => p #designation-none { (bi(lang, "指定は記録されていません。", "No designation is recorded.")) },
                Some(s) => (deadlines_table(lang, s)),
            }
        }
        section aria-labelledby="ov-manager" {
            h2 #ov-manager { a href="/admin/oversight/manager" { (bi(lang, "特定利用者情報統括管理者", "Chief manager")) } }
            @match active {
                None => p #manager-none { strong.overdue { (bi(lang, "選任中の統括管理者はいません。", "No chief manager is in office.")) } },
                Some(m) => p #manager-active {
                    (names.person(&m.appointment.appointment.principal)) " — " (m.appointment.appointment.from) (one(lang, "から", " onwards"))
                    @if let Some(d) = m.notification_days_left { " · " (one(lang, "届出 ", "Notification ")) (days_cell(lang, Some(d))) }
                },
            }
            p { (one(lang, "対応待ちの意見: ", "Opinions awaiting a response: ")) (unanswered) }
        }
        section aria-labelledby="ov-rules" {
            h2 #ov-rules { a href="/admin/oversight/rules" { (bi(lang, "情報取扱規程", "Information handling rules")) } }
            p #rules-summary {
                @match rules_in_force {
                    Some(v) => { (one(lang, "施行中: 第", "In force: v")) (v.stored.version) (one(lang, "版（", " (from ")) (v.stored.effective) (one(lang, "施行）", ")")) }
                    None => strong.overdue { (one(lang, "施行中の規程はありません", "No version of the rules is in force")) },
                }
                @if !never_filed.is_empty() {
                    " · " strong.overdue {
                        (one(lang, "未届出の版: ", "Never filed: "))
                        @for (i, n) in never_filed.iter().enumerate() { @if i > 0 { ", " } (one(lang, "第", "v")) (n) (one(lang, "版", "")) }
                    }
                }
            }
        }
        section aria-labelledby="ov-violations" {
            h2 #ov-violations { a href="/admin/oversight/violations" { (bi(lang, "違反の報告", "Violation reports")) } }
            p #violations-summary {
                (one(lang, "未終結 ", "Open: ")) (open)
                @if overdue > 0 { " · " strong.overdue { (one(lang, "確認期限超過 ", "Acknowledgement overdue: ")) (overdue) } }
            }
            p { a #report-violation href="/admin/oversight/violations/new" { (one(lang, "違反・違反の兆候を報告する", "Report a violation or a sign of one")) } }
        }
    };
    Ok(page_or_refused(&staff, one(lang, "監督", "Oversight"), None, body))
}

fn deadlines_table(lang: Lang, s: &DesignationStatus) -> Markup {
    html! {
        div.table-scroll {
            table #deadlines {
                thead { tr {
                    th scope="col" { (one(lang, "義務", "Duty")) }
                    th scope="col" { (one(lang, "期限", "Due")) }
                    th scope="col" { (one(lang, "状況", "Status")) }
                } }
                tbody {
                    @for d in &s.deadlines {
                        tr {
                            th scope="row" { (bi(lang, d.duty.ja(), d.duty.en())) }
                            td { (d.due) }
                            td {
                                @match (&d.met_on, &d.met_by) {
                                    (Some(on), by) => {
                                        @if d.on_time() { (one(lang, "履行 ", "Met ")) } @else { strong.overdue { (one(lang, "期限後に履行 ", "Met late ")) } }
                                        (on) @if let Some(by) = by { " (" (by) ")" }
                                    }
                                    (None, _) => (days_cell(lang, Some(d.days_left))),
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Designation

async fn designation(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    designation_page(&state, &staff, &q, None).await
}

async fn designation_page(
    state: &AppState,
    staff: &StaffSession,
    q: &DoneQuery,
    refused: Option<(&Fields, &Problem)>,
) -> Result<Response, AppError> {
    let now = Timestamp::now();
    let status = with_app(state, move |app| app.designation_status(now)).await??;
    let names = Names::load(state, staff.lang).await?;
    let lang = staff.lang;
    let problem = refused.map(|r| r.1);
    let typed = |name: &str, default: String| refused.map_or(default, |r| r.0.get(name).to_string());
    let services: Vec<(String, String)> = names
        .policy
        .as_ref()
        .map(|p| p.services.iter().map(|s| (s.id.clone(), names.service(&s.id))).collect())
        .unwrap_or_default();
    let chosen: Vec<String> = match (refused, &status) {
        (Some((f, _)), _) => f.all("service"),
        (None, Some(s)) => s.services.iter().map(|s| s.id.clone()).collect(),
        (None, None) => Vec::new(),
    };
    let body = html! {
        p.no-print { a href="/admin/oversight" { (one(lang, "← 監督", "← Oversight")) } }
        h1 { (bi(lang, "指定と法定期限", "Designation and statutory deadlines")) }
        @if let Some(m) = done_message(lang, &q.done) { (m) }
        @match &status {
            None => p #designation-none { (bi(lang, "指定は記録されていません。", "No designation is recorded.")) },
            Some(s) => {
                p #designation {
                    (one(lang, "告示日 ", "Designated on ")) (s.notified_on)
                    " · " (one(lang, "対象役務: ", "Services: "))
                    @for (i, svc) in s.services.iter().enumerate() {
                        @if i > 0 { "、" }
                        (names.service(&svc.id))
                    }
                    " · " (one(lang, "記録 ", "Recorded by ")) (names.person(&s.recorded_by)) " " (tokyo::minutes(s.recorded_at))
                }
                (deadlines_table(lang, s))
            }
        }
        @if MANAGERS.contains(&staff.role) {
            h2 { (bi(lang, "指定を記録する（訂正は新しい記録）", "Record the designation (a correction is a new record)")) }
            (problem_box(lang, problem))
            form #designation-form method="post" action="/admin/oversight/designation" {
                input type="hidden" name="csrf" value=(staff.csrf);
                p {
                    label for="notified" { (bi(lang, "告示日", "Date of the notice")) }
                    input #notified type="date" name="notified" required value=(typed("notified", status.as_ref().map(|s| s.notified_on.to_string()).unwrap_or_default())) aria-invalid=[invalid_at(problem, "notified")];
                }
                fieldset #services {
                    legend { (bi(lang, "指定された役務", "Designated services")) }
                    @for (id, name) in &services {
                        @let input_id = format!("service-{id}");
                        span.check {
                            input id=(input_id) type="checkbox" name="service" value=(id) checked[chosen.contains(id)];
                            label for=(input_id) { (name) }
                        }
                    }
                }
                p { button #designation-submit type="submit" { (one(lang, "記録する", "Record")) } }
            }
        }
    };
    Ok(page_or_refused(staff, one(lang, "指定と法定期限", "Designation"), problem, body))
}

async fn designate(
    State(state): State<AppState>,
    staff: StaffSession,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let outcome = match date(&f, "notified") {
        Err(p) => Err(p),
        Ok(notified_on) => {
            let services: Result<Vec<ServiceId>, Problem> = f
                .all("service")
                .into_iter()
                .map(|s| {
                    ServiceId::parse(&s).map_err(|_| Problem::invalid("service", format!("`{s}` is not a service id")))
                })
                .collect();
            match services {
                Err(p) => Err(p),
                Ok(services) => {
                    let by = person(&staff);
                    let input = DesignationInput { notified_on, services };
                    refusal(with_app(&state, move |app| app.record_designation(&by, &input, Timestamp::now())).await?)?
                        .map(|_| ())
                }
            }
        }
    };
    match outcome {
        Ok(()) => Ok(done("/admin/oversight/designation", "designated")),
        Err(p) => designation_page(&state, &staff, &DoneQuery::default(), Some((&f, &p))).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Chief manager and opinions

async fn manager(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    manager_page(&state, &staff, &q, None).await
}

async fn manager_page(
    state: &AppState,
    staff: &StaffSession,
    q: &DoneQuery,
    refused: Option<(&'static str, &Fields, &Problem)>,
) -> Result<Response, AppError> {
    let now = Timestamp::now();
    let (appointments, opinions) =
        with_app(state, move |app| Ok((app.chief_managers(now)?, app.opinions(now)?))).await??;
    let names = Names::load(state, staff.lang).await?;
    let candidates: Vec<(String, String)> = state
        .blocking(|b| b.principals())
        .await?
        .into_iter()
        .filter(|p| {
            p.disabled_at.is_none()
                && matches!(p.kind, tokutei_store::staff::PrincipalKind::Person { role: Role::ChiefManager })
        })
        .map(|p| (p.id, p.display_name))
        .collect();
    let lang = staff.lang;
    let problem_for = |form: &str| refused.filter(|r| r.0 == form).map(|r| r.2);
    let typed =
        |form: &str, name: &str| refused.filter(|r| r.0 == form).map(|r| r.1.get(name).to_string()).unwrap_or_default();
    let manages = MANAGERS.contains(&staff.role);
    let body = html! {
        p.no-print { a href="/admin/oversight" { (one(lang, "← 監督", "← Oversight")) } }
        h1 { (bi(lang, "特定利用者情報統括管理者", "Chief manager")) }
        @if let Some(m) = done_message(lang, &q.done) { (m) }
        (appointments_table(lang, &names, &appointments))
        @if manages {
            h2 { (bi(lang, "選任を記録する", "Record an appointment")) }
            (problem_box(lang, problem_for("appoint")))
            form #appoint-form method="post" action="/admin/oversight/manager/appoint" {
                input type="hidden" name="csrf" value=(staff.csrf);
                p {
                    label for="principal" { (bi(lang, "統括管理者（役割が統括管理者の取扱者）", "Chief manager (a person with the chief manager's role)")) }
                    select #principal name="principal" aria-invalid=[invalid_at(problem_for("appoint"), "principal")] {
                        @for (id, name) in &candidates { option value=(id) selected[typed("appoint", "principal") == *id] { (name) } }
                    }
                }
                p {
                    label for="from" { (bi(lang, "就任日", "First day")) }
                    input #from type="date" name="from" required value=(typed("appoint", "from")) aria-invalid=[invalid_at(problem_for("appoint"), "from")];
                }
                p {
                    label for="evidence" { (bi(lang, "資格の根拠（任意）", "Qualification evidence (optional)")) }
                    input #evidence type="text" name="evidence" maxlength="4000" value=(typed("appoint", "evidence"));
                }
                p { button #appoint-submit type="submit" { (one(lang, "選任を記録する", "Record the appointment")) } }
            }
            h2 { (bi(lang, "選任の届出を記録する", "Record the notification of an appointment")) }
            (problem_box(lang, problem_for("notified")))
            form #notified-form method="post" action="/admin/oversight/manager/notified" {
                input type="hidden" name="csrf" value=(staff.csrf);
                p {
                    label for="appointment" { (bi(lang, "選任", "Appointment")) }
                    select #appointment name="appointment" {
                        @for a in &appointments {
                            option value=(a.appointment.appointment.id) selected[a.active] {
                                (a.appointment.appointment.id) " " (names.person(&a.appointment.appointment.principal))
                            }
                        }
                    }
                }
                p {
                    label for="filed" { (bi(lang, "届出日", "Filed on")) }
                    input #filed type="date" name="filed" required value=(typed("notified", "filed")) aria-invalid=[invalid_at(problem_for("notified"), "date")];
                }
                p {
                    label for="reference" { (bi(lang, "受付番号・文書番号", "Reference")) }
                    input #reference type="text" name="reference" required maxlength="200" value=(typed("notified", "reference")) aria-invalid=[invalid_at(problem_for("notified"), "reference")];
                }
                p { button #notified-submit type="submit" { (one(lang, "届出を記録する", "Record the notification")) } }
            }
        }
        h2 #opinions-heading { (bi(lang, "統括管理者の意見（27条の11）", "The chief manager's opinions (art. 27-11)")) }
        (problem_box(lang, problem_for("respond")))
        (opinions_list(lang, staff, &names, &opinions))
        @if manages {
            h3 { (bi(lang, "意見を記録する", "Record an opinion")) }
            (problem_box(lang, problem_for("opinion")))
            form #opinion-form method="post" action="/admin/oversight/opinions" {
                input type="hidden" name="csrf" value=(staff.csrf);
                p {
                    label for="given" { (bi(lang, "意見の日付", "Given on")) }
                    input #given type="date" name="given" required value=(typed("opinion", "given")) aria-invalid=[invalid_at(problem_for("opinion"), "date")];
                }
                p {
                    label for="subject" { (bi(lang, "件名", "Subject")) }
                    input #subject type="text" name="subject" required maxlength="200" value=(typed("opinion", "subject")) aria-invalid=[invalid_at(problem_for("opinion"), "subject")];
                }
                p {
                    label for="opinion-text" { (bi(lang, "意見", "Opinion")) }
                    textarea #opinion-text name="text" required maxlength="4000" rows="4" aria-invalid=[invalid_at(problem_for("opinion"), "text")] { (typed("opinion", "text")) }
                }
                p { button #opinion-submit type="submit" { (one(lang, "意見を記録する", "Record the opinion")) } }
            }
        }
    };
    let problem = refused.map(|r| r.2);
    Ok(page_or_refused(staff, one(lang, "統括管理者", "Chief manager"), problem, body))
}

fn appointments_table(lang: Lang, names: &Names, appointments: &[AppointmentView]) -> Markup {
    html! {
        @if appointments.is_empty() {
            p #appointments-empty { (bi(lang, "選任は記録されていません。", "No appointment is recorded.")) }
        } @else {
            div.table-scroll {
                table #appointments {
                    thead { tr {
                        th scope="col" { (one(lang, "番号", "No.")) }
                        th scope="col" { (one(lang, "統括管理者", "Chief manager")) }
                        th scope="col" { (one(lang, "期間", "Term")) }
                        th scope="col" { (one(lang, "資格の根拠", "Evidence")) }
                        th scope="col" { (one(lang, "届出", "Notification")) }
                    } }
                    tbody {
                        @for a in appointments {
                            @let ap = &a.appointment.appointment;
                            tr {
                                th scope="row" { (ap.id) @if a.active { " " strong { (one(lang, "（在任）", "(in office)")) } } }
                                td { (names.person(&ap.principal)) }
                                td { (ap.from) "〜" @if let Some(to) = a.appointment.to { (to) } }
                                td { (ap.evidence.as_deref().unwrap_or("—")) }
                                td {
                                    @if let Some(n) = a.notifications.last() {
                                        (n.filing.filed_on) " (" (n.filing.reference) ")"
                                    } @else {
                                        (one(lang, "期限 ", "Due ")) (a.notification_due) " " (days_cell(lang, a.notification_days_left))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn opinions_list(lang: Lang, staff: &StaffSession, names: &Names, opinions: &[OpinionView]) -> Markup {
    html! {
        @if opinions.is_empty() {
            p #opinions-empty { (bi(lang, "意見は記録されていません。", "No opinion is recorded.")) }
        }
        @for o in opinions {
            @let op = &o.opinion.opinion;
            article.opinion id=(format!("opinion-{}", op.id)) {
                h3 { (op.id) " " (op.subject) " (" (op.given_on) ")" }
                p { (op.text) }
                p.note { (one(lang, "記録 ", "Recorded by ")) (names.person(&op.recorded_by)) }
                @match o.opinion.responses.last() {
                    Some(r) => p { strong { (one(lang, "対応 ", "Response ")) (r.responded_on) ": " } (r.text) },
                    None => p { (one(lang, "対応期限 ", "Response due ")) (o.response_due) " " (days_cell(lang, o.response_days_left)) },
                }
                @if MANAGERS.contains(&staff.role) {
                    form.respond method="post" action=(format!("/admin/oversight/opinions/{}/respond", op.id)) {
                        input type="hidden" name="csrf" value=(staff.csrf);
                        @let date_id = format!("respond-date-{}", op.id);
                        @let text_id = format!("respond-text-{}", op.id);
                        p {
                            label for=(date_id) { (bi(lang, "対応日", "Responded on")) }
                            input id=(date_id) type="date" name="date" required;
                        }
                        p {
                            label for=(text_id) { (bi(lang, "会社の対応", "The company's response")) }
                            textarea id=(text_id) name="text" required maxlength="4000" rows="3" {}
                        }
                        p { button type="submit" { (one(lang, "対応を記録する", "Record the response")) } }
                    }
                }
            }
        }
    }
}

async fn appoint(
    State(state): State<AppState>,
    staff: StaffSession,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let input = (|| {
        let principal = PrincipalId::parse(f.get("principal").trim())
            .map_err(|_| Problem::invalid("principal", format!("`{}` is not a staff id", f.get("principal"))))?;
        Ok::<_, Problem>(AppointInput { principal, from: date(&f, "from")?, evidence: f.opt("evidence") })
    })();
    let outcome = match input {
        Err(p) => Err(p),
        Ok(input) => {
            let by = person(&staff);
            refusal(with_app(&state, move |app| app.appoint_chief_manager(&by, &input, Timestamp::now())).await?)?
                .map(|_| ())
        }
    };
    finish_manager(&state, &staff, &f, "appoint", "appointed", outcome).await
}

async fn notified(
    State(state): State<AppState>,
    staff: StaffSession,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let input = (|| {
        let appointment = match f.opt("appointment") {
            None => None,
            Some(a) => Some(
                AppointmentId::parse(a.trim())
                    .map_err(|_| Problem::invalid("appointment", format!("`{a}` is not an appointment")))?,
            ),
        };
        Ok::<_, Problem>(NotificationInput {
            appointment,
            filed_on: date(&f, "filed")?,
            reference: f.get("reference").to_string(),
        })
    })();
    let outcome = match input {
        Err(p) => Err(p),
        Ok(input) => {
            let by = person(&staff);
            refusal(with_app(&state, move |app| app.record_manager_notification(&by, &input, Timestamp::now())).await?)?
                .map(|_| ())
        }
    };
    finish_manager(&state, &staff, &f, "notified", "notified", outcome).await
}

async fn opinion(
    State(state): State<AppState>,
    staff: StaffSession,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let outcome = match date(&f, "given") {
        Err(p) => Err(p),
        Ok(given_on) => {
            let by = person(&staff);
            let input =
                OpinionInput { given_on, subject: f.get("subject").to_string(), text: f.get("text").to_string() };
            refusal(with_app(&state, move |app| app.record_opinion(&by, &input, Timestamp::now())).await?)?.map(|_| ())
        }
    };
    finish_manager(&state, &staff, &f, "opinion", "opinion", outcome).await
}

async fn respond(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let opinion = OpinionId::parse(&id).map_err(|_| AppError::NotFound)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let outcome = match date(&f, "date") {
        Err(p) => Err(p),
        Ok(responded_on) => {
            let by = person(&staff);
            let input = ResponseInput { opinion, responded_on, text: f.get("text").to_string() };
            refusal(with_app(&state, move |app| app.respond_to_opinion(&by, &input, Timestamp::now())).await?)?
                .map(|_| ())
        }
    };
    finish_manager(&state, &staff, &f, "respond", "responded", outcome).await
}

async fn finish_manager(
    state: &AppState,
    staff: &StaffSession,
    f: &Fields,
    form: &'static str,
    what: &str,
    outcome: Result<(), Problem>,
) -> Result<Response, AppError> {
    match outcome {
        Ok(()) => Ok(done("/admin/oversight/manager", what)),
        Err(p) => manager_page(state, staff, &DoneQuery::default(), Some((form, f, &p))).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Violation reports

async fn violations(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let now = Timestamp::now();
    let by = person(&staff);
    let all = with_app(&state, move |app| app.violations(&by, now)).await??;
    let names = Names::load(&state, staff.lang).await?;
    let lang = staff.lang;
    let body = html! {
        p.no-print { a href="/admin/oversight" { (one(lang, "← 監督", "← Oversight")) } }
        h1 { (bi(lang, "違反の報告", "Violation reports")) }
        @if let Some(m) = done_message(lang, &q.done) { (m) }
        p { a #report-violation href="/admin/oversight/violations/new" { (one(lang, "違反・違反の兆候を報告する", "Report a violation or a sign of one")) } }
        @if all.is_empty() {
            p #violations-empty { (bi(lang, "報告はありません。", "No reports.")) }
        } @else {
            div.table-scroll {
                table #violations {
                    thead { tr {
                        th scope="col" { (one(lang, "番号", "No.")) }
                        th scope="col" { (one(lang, "受付", "Received")) }
                        th scope="col" { (one(lang, "対象者", "Principal")) }
                        th scope="col" { (one(lang, "安全管理措置", "Security measure")) }
                        th scope="col" { (one(lang, "報告元", "Source")) }
                        th scope="col" { (one(lang, "状況", "Status")) }
                        th scope="col" { (one(lang, "確認期限", "Acknowledge by")) }
                    } }
                    tbody {
                        @for v in all.iter().rev() {
                            @let r = &v.stored.report;
                            tr {
                                th scope="row" { a href=(format!("/admin/oversight/violations/{}", r.id)) { (r.id) } }
                                td { (tokyo::minutes(r.received_at)) }
                                td { (names.person(&r.principal)) }
                                td { (names.measure(r.measure)) }
                                td { @match &r.detector { Some(d) => (detector_label(lang, d)), None => (names.person(&r.reported_by)) } }
                                td { (state_label(lang, v.state)) }
                                td {
                                    @if v.ack_overdue { strong.overdue { (tokyo::minutes(r.ack_due)) " " (one(lang, "超過", "overdue")) } }
                                    @else if v.state == ViolationState::Received { (tokyo::minutes(r.ack_due)) }
                                    @else { "—" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page_or_refused(&staff, one(lang, "違反の報告", "Violation reports"), None, body))
}

async fn new_report(State(state): State<AppState>, staff: StaffSession) -> Result<Response, AppError> {
    staff.require(ALL_ROLES)?;
    report_page(&state, &staff, None).await
}

async fn report_page(
    state: &AppState,
    staff: &StaffSession,
    refused: Option<(&Fields, &Problem)>,
) -> Result<Response, AppError> {
    let names = Names::load(state, staff.lang).await?;
    let lang = staff.lang;
    let problem = refused.map(|r| r.1);
    let typed = |name: &str| refused.map(|r| r.0.get(name).to_string()).unwrap_or_default();
    let mut principals: Vec<(&String, &String)> = names.staff.iter().collect();
    principals.sort();
    let measure = refused.map_or_else(
        || tokutei_app::oversight::violations::DEFAULT_MEASURE.to_string(),
        |r| r.0.get("measure").to_string(),
    );
    let body = html! {
        h1 { (bi(lang, "違反・違反の兆候の報告", "Report a violation or a sign of one")) }
        p { (bi(lang, "報告は安全管理措置の責任者に届き、確認期限が設定されます。報告者が不利益を受けることはありません。", "The report goes to the persons responsible for the measure, with a deadline to acknowledge it. Reporting never counts against the reporter.")) }
        (problem_box(lang, problem))
        form #violation-form method="post" action="/admin/oversight/violations" {
            input type="hidden" name="csrf" value=(staff.csrf);
            p {
                label for="principal" { (bi(lang, "対象の取扱者・システム", "The person or system concerned")) }
                select #principal name="principal" aria-invalid=[invalid_at(problem, "principal")] {
                    @for (id, name) in &principals { option value=(id) selected[typed("principal") == **id] { (name) } }
                }
            }
            p {
                label for="measure" { (bi(lang, "関係する安全管理措置", "The security measure concerned")) }
                select #measure name="measure" aria-invalid=[invalid_at(problem, "measure")] {
                    @for (n, label) in names.measures() { option value=(n) selected[measure == n.to_string()] { (label) } }
                }
            }
            p {
                label for="text" { (bi(lang, "内容（いつ、何が、どのように）", "What happened (when, what, how)")) }
                textarea #text name="text" required maxlength="4000" rows="6" aria-invalid=[invalid_at(problem, "text")] { (typed("text")) }
            }
            p { button #violation-submit type="submit" { (one(lang, "報告する", "File the report")) } }
        }
    };
    Ok(page_or_refused(staff, one(lang, "違反の報告", "Report a violation"), problem, body))
}

async fn report(
    State(state): State<AppState>,
    staff: StaffSession,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(ALL_ROLES)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let input = (|| {
        let principal = PrincipalId::parse(f.get("principal").trim())
            .map_err(|_| Problem::invalid("principal", format!("`{}` is not a staff id", f.get("principal"))))?;
        let measure = match f.opt("measure") {
            None => None,
            Some(m) => Some(
                m.trim()
                    .parse::<u8>()
                    .map_err(|_| Problem::invalid("measure", format!("`{m}` is not a measure number")))?,
            ),
        };
        Ok::<_, Problem>(ReportInput { principal, measure, text: f.get("text").to_string() })
    })();
    let outcome = match input {
        Err(p) => Err(p),
        Ok(input) => {
            let by = person(&staff);
            refusal(with_app(&state, move |app| app.report_violation(&by, &input, Timestamp::now())).await?)?
                .map(|v| v.stored.report.id)
        }
    };
    match outcome {
        // Who may read every report sees this one; a handler is told it was filed.
        Ok(id) if OVERSIGHT.contains(&staff.role) => Ok(done(&format!("/admin/oversight/violations/{id}"), "reported")),
        Ok(id) => {
            let lang = staff.lang;
            let body = html! {
                h1 { (bi(lang, "違反の報告", "Violation report")) }
                p.saved role="status" #done { (bi(lang, "報告を受け付けました。責任者に通知します。", "The report is filed; its responsible persons are alerted.")) }
                p #receipt { (one(lang, "受付番号: ", "Receipt: ")) strong { (id) } }
            };
            Ok(page_or_refused(&staff, one(lang, "違反の報告", "Violation report"), None, body))
        }
        Err(p) => report_page(&state, &staff, Some((&f, &p))).await,
    }
}

async fn violation(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    violation_page(&state, &staff, id, &q, None).await
}

async fn violation_page(
    state: &AppState,
    staff: &StaffSession,
    id: String,
    q: &DoneQuery,
    refused: Option<(&Fields, &Problem)>,
) -> Result<Response, AppError> {
    let now = Timestamp::now();
    let by = person(staff);
    let v: ViolationView = with_app(state, move |app| app.violation(&by, &id, now)).await??;
    let names = Names::load(state, staff.lang).await?;
    let lang = staff.lang;
    let r = &v.stored.report;
    let problem = refused.map(|x| x.1);
    let typed = |name: &str| refused.map(|x| x.0.get(name).to_string()).unwrap_or_default();
    let title = format!("{} {}", one(lang, "違反の報告", "Violation report"), r.id);
    let body = html! {
        p.no-print { a href="/admin/oversight/violations" { (one(lang, "← 違反の報告", "← Violation reports")) } }
        h1 { (title) }
        @if let Some(m) = done_message(lang, &q.done) { (m) }
        dl #violation {
            dt { (one(lang, "状況", "Status")) } dd #violation-state { (state_label(lang, v.state)) }
            dt { (one(lang, "受付", "Received")) } dd { (tokyo::minutes(r.received_at)) }
            dt { (one(lang, "報告元", "Source")) } dd {
                @match &r.detector { Some(d) => (detector_label(lang, d)), None => (names.person(&r.reported_by)) }
            }
            dt { (one(lang, "対象者", "Principal")) } dd { (names.person(&r.principal)) }
            dt { (one(lang, "安全管理措置", "Security measure")) } dd { (names.measure(r.measure)) }
            dt { (one(lang, "確認期限", "Acknowledge by")) } dd {
                (tokyo::minutes(r.ack_due))
                @if v.ack_overdue { " " strong.overdue { (one(lang, "超過", "overdue")) } }
            }
            dt { (one(lang, "内容", "Report")) } dd #violation-text { (r.text) }
            dt { (one(lang, "監査ログ", "Ledger entry")) } dd { (r.audit_index) }
        }
        h2 { (bi(lang, "経過", "History")) }
        @if v.stored.events.is_empty() {
            p { (bi(lang, "まだ確認されていません。", "Not acknowledged yet.")) }
        } @else {
            ol #violation-history {
                @for e in &v.stored.events {
                    li {
                        (tokyo::minutes(e.at)) " " (names.person(&e.by)) ": "
                        @match e.kind {
                            ViolationEventKind::Acknowledged => (one(lang, "確認", "acknowledged")),
                            ViolationEventKind::ResolvedNone => (one(lang, "終結（違反なし）", "closed: no violation")),
                            ViolationEventKind::ResolvedViolation => (one(lang, "終結（違反あり）", "closed: a violation")),
                        }
                        @if let Some(t) = &e.text { " — " (t) }
                        @if let Some(inc) = &e.incident { " " a href=(format!("/admin/incidents/{inc}")) { (inc) } }
                    }
                }
            }
        }
        @if MANAGERS.contains(&staff.role) && !matches!(v.state, ViolationState::Resolved(_)) {
            (problem_box(lang, problem))
            @if v.state == ViolationState::Received {
                form #ack-form method="post" action=(format!("/admin/oversight/violations/{}/ack", r.id)) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    button #ack-submit type="submit" { (one(lang, "確認した", "Acknowledge")) }
                }
            }
            h2 { (bi(lang, "終結", "Resolve")) }
            form #resolve-form method="post" action=(format!("/admin/oversight/violations/{}/resolve", r.id)) {
                input type="hidden" name="csrf" value=(staff.csrf);
                fieldset {
                    legend { (bi(lang, "結論", "Outcome")) }
                    span.check { input #outcome-none type="radio" name="outcome" value="none" checked[typed("outcome") != "violation"]; label for="outcome-none" { (one(lang, "違反なし", "No violation")) } }
                    span.check { input #outcome-violation type="radio" name="outcome" value="violation" checked[typed("outcome") == "violation"]; label for="outcome-violation" { (one(lang, "違反あり", "A violation")) } }
                }
                p {
                    label for="incident" { (bi(lang, "関連する漏えい等事案（任意）", "Linked incident (optional)")) }
                    input #incident type="text" name="incident" placeholder="INC-20260101-ABCD" value=(typed("incident")) aria-invalid=[invalid_at(problem, "incident")];
                }
                p {
                    label for="resolve-text" { (bi(lang, "理由・対応", "Reasons and action taken")) }
                    textarea #resolve-text name="text" required maxlength="4000" rows="4" aria-invalid=[invalid_at(problem, "text")] { (typed("text")) }
                }
                p { button #resolve-submit type="submit" { (one(lang, "終結する", "Resolve")) } }
            }
        }
    };
    Ok(page_or_refused(staff, &title, problem, body))
}

async fn acknowledge(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let by = person(&staff);
    let target = id.clone();
    let outcome = with_app(&state, move |app| app.acknowledge_violation(&by, &target, Timestamp::now())).await?;
    match outcome {
        Ok(_) => Ok(done(&format!("/admin/oversight/violations/{id}"), "acknowledged")),
        Err(e) => {
            let p = Problem::of(e)?;
            violation_page(&state, &staff, id, &DoneQuery::default(), Some((&f, &p))).await
        }
    }
}

async fn resolve(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let input = (|| {
        let outcome = Outcome::from_code(f.get("outcome")).ok_or_else(|| {
            Problem::invalid("outcome", format!("`{}` is not an outcome: use none or violation", f.get("outcome")))
        })?;
        let incident = match f.opt("incident") {
            None => None,
            Some(i) => Some(
                IncidentId::parse(i.trim())
                    .map_err(|_| Problem::invalid("incident", format!("`{}` is not an incident id", i.trim())))?,
            ),
        };
        Ok::<_, Problem>(ResolveInput { outcome, text: f.get("text").to_string(), incident })
    })();
    let outcome = match input {
        Err(p) => Err(p),
        Ok(input) => {
            let by = person(&staff);
            let target = id.clone();
            refusal(with_app(&state, move |app| app.resolve_violation(&by, &target, &input, Timestamp::now())).await?)?
                .map(|_| ())
        }
    };
    match outcome {
        Ok(()) => Ok(done(&format!("/admin/oversight/violations/{id}"), "resolved")),
        Err(p) => violation_page(&state, &staff, id, &DoneQuery::default(), Some((&f, &p))).await,
    }
}
