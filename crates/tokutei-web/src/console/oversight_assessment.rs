//! The annual assessment (評価, 27条の9) in the console (`/admin/oversight/assessments`): the
//! list with a form to open a business year's assessment, and one assessment — the checklist
//! per security measure (the policy's titles) with result, note and evidence links, the
//! findings with their remediation actions, printed alone as the assessment document — with
//! the forms that assess a measure, record a finding or a remediation action and complete it.
//! Every form is one function of `tokutei_app::oversight::assessment` for the signed-in
//! person (audited first); a refused form is shown again with the field named. Managers
//! write; auditors read.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::{Markup, html};
use serde::Deserialize;
use tokutei_app::oversight::assessment::{AssessInput, AssessmentView, FindingInput, MeasureResult, RemediationInput};
use tokutei_app::{ActionError, ActionResult, App, PrincipalId};
use tokutei_policy::{Date, Lang, tokyo};

use super::forms::{person, with_app};
use super::session::StaffSession;
use super::{Console, bi, console_page, one};
use crate::routes::{Access, MANAGERS, OVERSIGHT, Routes};
use crate::{AppError, AppState};

const BASE: &str = "/admin/oversight/assessments";

pub(crate) fn routes(r: Routes) -> Routes {
    use axum::routing::{get, post};
    let example = "/admin/oversight/assessments/2026";
    r.add("GET", BASE, BASE, Access::Staff(OVERSIGHT), get(list))
        .add("POST", BASE, BASE, Access::Staff(MANAGERS), post(open))
        .add("GET", "/admin/oversight/assessments/{year}", example, Access::Staff(OVERSIGHT), get(show))
        .add(
            "POST",
            "/admin/oversight/assessments/{year}/measures",
            "/admin/oversight/assessments/2026/measures",
            Access::Staff(MANAGERS),
            post(assess),
        )
        .add(
            "POST",
            "/admin/oversight/assessments/{year}/findings",
            "/admin/oversight/assessments/2026/findings",
            Access::Staff(MANAGERS),
            post(finding),
        )
        .add(
            "POST",
            "/admin/oversight/assessments/{year}/remediations",
            "/admin/oversight/assessments/2026/remediations",
            Access::Staff(MANAGERS),
            post(remediate),
        )
        .add(
            "POST",
            "/admin/oversight/assessments/{year}/complete",
            "/admin/oversight/assessments/2026/complete",
            Access::Staff(MANAGERS),
            post(complete),
        )
}

/// A refused form: the field and the message.
type Problem = (&'static str, String);

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// The display names of the staff registry, by id (a person is shown by name, never by id).
struct Names(HashMap<String, String>);

impl Names {
    fn of(app: &App) -> ActionResult<Names> {
        Ok(Names(app.staff_list()?.into_iter().map(|p| (p.id, p.display_name)).collect()))
    }

    fn person<'a>(&'a self, id: &'a str) -> &'a str {
        self.0.get(id).map_or(id, String::as_str)
    }
}

fn result_label(lang: Lang, r: Option<MeasureResult>) -> &'static str {
    match r {
        Some(r) => one(lang, r.ja(), r.en()),
        None => one(lang, "未評価", "not assessed"),
    }
}

fn date_text(lang: Lang, text: &str) -> String {
    match text.parse::<Date>() {
        Ok(d) if lang == Lang::Ja => d.ja(),
        Ok(d) => d.en(),
        Err(_) => text.to_string(),
    }
}

fn problem_box(lang: Lang, problem: Option<&Problem>) -> Markup {
    html! {
        @if let Some((field, message)) = problem {
            div.error role="alert" #assessment-errors {
                p { (bi(lang, "入力内容を確認してください。何も変更していません。", "Please check the form; nothing was changed.")) }
                ul { li { a href=(format!("#{field}")) { (field) ": " (message) } } }
            }
        }
    }
}

fn done_message(lang: Lang, done: &str) -> Option<Markup> {
    let (ja, en) = match done {
        "opened" => ("評価を開始しました。", "The assessment is opened."),
        "assessed" => ("措置の評価を記録しました。", "The measure's assessment is recorded."),
        "finding" => ("指摘を記録しました。", "The finding is recorded."),
        "remediation" => ("是正措置を記録しました。", "The remediation action is recorded."),
        "completed" => ("評価を完了しました。", "The assessment is completed."),
        _ => return None,
    };
    Some(html! { p.saved role="status" #done { (bi(lang, ja, en)) } })
}

fn list_body(staff: &StaffSession, all: &[AssessmentView], problem: Option<&Problem>) -> Markup {
    let lang = staff.lang;
    let manager = MANAGERS.contains(&staff.role);
    html! {
        h1 { (bi(lang, "評価（電気通信事業法27条の9）", "Annual assessment (art. 27-9)")) }
        (problem_box(lang, problem))
        p.note { (bi(lang,
            "事業年度ごとに、方針の安全管理措置（1）〜（7）の実施状況を評価し、根拠、指摘、是正措置を記録します。",
            "Once per business year, assess how each of the policy's security measures (1)–(7) is carried out, with evidence, findings and remediation actions.")) }
        @if all.is_empty() {
            p #assessments-empty { (bi(lang, "評価はまだありません。", "No assessment yet.")) }
        } @else {
            table #assessments {
                thead { tr {
                    th scope="col" { (one(lang, "事業年度", "Business year")) }
                    th scope="col" { (one(lang, "期間", "Period")) }
                    th scope="col" { (one(lang, "評価済みの措置", "Measures assessed")) }
                    th scope="col" { (one(lang, "指摘", "Findings")) }
                    th scope="col" { (one(lang, "状態", "State")) }
                } }
                tbody {
                    @for a in all {
                        tr {
                            th scope="row" { a href=(format!("{BASE}/{}", a.fiscal_year)) { (year_label(lang, a.fiscal_year)) } }
                            td { (date_text(lang, &a.first_day)) "〜" (date_text(lang, &a.last_day)) }
                            td { (a.checklist.iter().filter(|i| i.result.is_some()).count()) " / " (a.checklist.len()) }
                            td { (a.findings.len()) }
                            td { @if a.is_completed() { (one(lang, "完了", "Completed")) } @else { strong { (one(lang, "実施中", "Open")) } } }
                        }
                    }
                }
            }
        }
        @if manager {
            h2 { (bi(lang, "評価を開始する", "Open an assessment")) }
            form #open-form method="post" action=(BASE) {
                input type="hidden" name="csrf" value=(staff.csrf);
                p {
                    label for="fiscal_year" { (bi(lang, "事業年度（開始する年）", "Business year (the year it starts)")) }
                    input #fiscal_year name="fiscal_year" type="number" min="2000" max="9999" required;
                }
                p { button #open-save type="submit" { (one(lang, "開始する", "Open")) } }
            }
        }
    }
}

fn year_label(lang: Lang, year: i32) -> String {
    match lang {
        Lang::Ja => format!("{year}年度"),
        Lang::En => format!("Business year {year}"),
    }
}

fn detail_body(
    staff: &StaffSession,
    a: &AssessmentView,
    names: &Names,
    done: &str,
    problem: Option<&Problem>,
) -> Markup {
    let lang = staff.lang;
    let manager = MANAGERS.contains(&staff.role) && !a.is_completed();
    let base = format!("{BASE}/{}", a.fiscal_year);
    html! {
        p.no-print { a href=(BASE) { (bi(lang, "評価の一覧", "All assessments")) } }
        @if let Some(m) = done_message(lang, done) { (m) }
        (problem_box(lang, problem))
        article.report #report lang="ja" {
            h1 { (a.fiscal_year) "年度 特定利用者情報の取扱いに関する評価" }
            dl.fields {
                dt { "対象期間" } dd { (date_text(Lang::Ja, &a.first_day)) "〜" (date_text(Lang::Ja, &a.last_day)) }
                dt { "開始" } dd { (tokyo::minutes(a.opened_at)) "（" (names.person(&a.opened_by)) "）" }
                dt { "状態" } dd #assessment-state {
                    @match (&a.completed_by, a.completed_at) {
                        (Some(by), Some(at)) => { "完了 " (tokyo::minutes(at)) "（" (names.person(by)) "）" }
                        _ => { "実施中" }
                    }
                }
            }
            table #checklist {
                caption { "安全管理措置ごとの評価" }
                thead { tr { th scope="col" { "措置" } th scope="col" { "結果" } th scope="col" { "所見" } th scope="col" { "根拠" } th scope="col" { "評価者" } } }
                tbody {
                    @for item in &a.checklist {
                        tr id=(format!("measure-{}", item.measure)) {
                            th scope="row" { "（" (item.measure) "）" (item.title_ja) }
                            td { @if item.result == Some(MeasureResult::NotMet) { strong.overdue { (result_label(Lang::Ja, item.result)) } } @else { (result_label(Lang::Ja, item.result)) } }
                            td.message { (item.note.as_deref().unwrap_or("—")) }
                            td { @if item.evidence.is_empty() { "—" } ul.evidence { @for e in &item.evidence { li { code { (e) } } } } }
                            td { @if let Some(by) = &item.assessed_by { (names.person(by)) } @else { "—" } }
                        }
                    }
                }
            }
            h2 { "指摘と是正措置" }
            @if a.findings.is_empty() {
                p #findings-empty { "指摘はありません。" }
            } @else {
                table #findings {
                    thead { tr { th scope="col" { "番号" } th scope="col" { "措置" } th scope="col" { "指摘" } th scope="col" { "是正措置（担当・期限・実施する版）" } } }
                    tbody {
                        @for f in &a.findings {
                            tr id=(format!("finding-{}", f.id)) {
                                th scope="row" { (f.id) }
                                td { "（" (f.measure) "）" }
                                td.message { (f.text) }
                                td {
                                    @if f.remediations.is_empty() { "—" }
                                    ul.remediations {
                                        @for r in &f.remediations {
                                            li { (r.id) " " (r.action) "（" (names.person(&r.owner)) "・" (date_text(Lang::Ja, &r.due)) "・" code { (r.carried_by) } "）" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if manager {
            section.no-print aria-labelledby="assess-heading" {
                h2 #assess-heading { (bi(lang, "措置を評価する", "Assess a measure")) }
                form #assess-form method="post" action=(format!("{base}/measures")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    p { label for="measure" { (bi(lang, "措置", "Measure")) }
                        select #measure name="measure" { @for i in &a.checklist { option value=(i.measure) { "（" (i.measure) "）" (if lang == Lang::Ja { &i.title_ja } else { &i.title_en }) } } } }
                    p { label for="result" { (bi(lang, "結果", "Result")) }
                        select #result name="result" { @for r in MeasureResult::ALL { option value=(r.code()) { (one(lang, r.ja(), r.en())) } } } }
                    p { label for="note" { (bi(lang, "所見", "Note")) } textarea #note name="note" maxlength="4000" {} }
                    p { label for="evidence" { (bi(lang, "根拠（1行に1件: inspection:ID、training-roster:日付、incident:ID、policy:版、rules:版、ledger:番号）", "Evidence (one per line: inspection:ID, training-roster:DATE, incident:ID, policy:VERSION, rules:VERSION, ledger:INDEX)")) }
                        textarea #evidence name="evidence" {} }
                    p { button #assess-save type="submit" { (one(lang, "記録する", "Record")) } }
                }
            }
            section.no-print aria-labelledby="finding-heading" {
                h2 #finding-heading { (bi(lang, "指摘を記録する", "Record a finding")) }
                form #finding-form method="post" action=(format!("{base}/findings")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    p { label for="finding-measure" { (bi(lang, "措置", "Measure")) }
                        select #finding-measure name="measure" { @for i in &a.checklist { option value=(i.measure) { "（" (i.measure) "）" } } } }
                    p { label for="text" { (bi(lang, "指摘", "Finding")) } textarea #text name="text" required maxlength="4000" {} }
                    p { button #finding-save type="submit" { (one(lang, "記録する", "Record")) } }
                }
            }
            @if !a.findings.is_empty() {
                section.no-print aria-labelledby="remediation-heading" {
                    h2 #remediation-heading { (bi(lang, "是正措置を記録する", "Record a remediation action")) }
                    form #remediation-form method="post" action=(format!("{base}/remediations")) {
                        input type="hidden" name="csrf" value=(staff.csrf);
                        p { label for="finding" { (bi(lang, "指摘", "Finding")) }
                            select #finding name="finding" { @for f in &a.findings { option value=(f.id) { (f.id) } } } }
                        p { label for="action" { (bi(lang, "是正措置", "Action")) } textarea #action name="action" required maxlength="4000" {} }
                        p { label for="owner" { (bi(lang, "担当者（職員ID）", "Owner (staff id)")) } input #owner name="owner" type="text" required; }
                        p { label for="due" { (bi(lang, "期限", "Due")) } input #due name="due" type="date" required; }
                        p { label for="carried_by" { (bi(lang, "実施する方針・規程の版（policy:版 または rules:版）", "The policy or rules version that carries it out (policy:N or rules:N)")) }
                            input #carried_by name="carried_by" type="text" required; }
                        p { button #remediation-save type="submit" { (one(lang, "記録する", "Record")) } }
                    }
                }
            }
            section.no-print aria-labelledby="complete-heading" {
                h2 #complete-heading { (bi(lang, "評価を完了する", "Complete the assessment")) }
                p.note { (bi(lang, "すべての措置を評価すると完了できます。完了後は記録を追加できません。", "Every measure must be assessed. Nothing can be added afterwards.")) }
                form #complete-form method="post" action=(format!("{base}/complete")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    button #complete-save type="submit" { (one(lang, "完了する", "Complete")) }
                }
            }
        }
    }
}

/// The detail page of `year` (with `problem` and a 400 when a form was refused).
async fn detail(
    state: &AppState,
    staff: &StaffSession,
    year: i32,
    done: &str,
    problem: Option<Problem>,
) -> Result<Response, AppError> {
    let (view, names) =
        with_app(state, move |app| Ok((app.assessment(year, Timestamp::now())?, Names::of(app)?))).await??;
    let title = format!("{} — {}", year_label(staff.lang, year), one(staff.lang, "評価", "Assessment"));
    let page =
        console_page(Some(Console::of(staff)), &title, detail_body(staff, &view, &names, done, problem.as_ref()));
    Ok(if problem.is_some() { (StatusCode::BAD_REQUEST, page).into_response() } else { page.into_response() })
}

fn year_of(text: &str) -> Result<i32, AppError> {
    text.parse::<i32>().map_err(|_| AppError::NotFound)
}

/// The outcome of a form: a redirect with `done`, or the page again naming the field.
async fn after(
    state: &AppState,
    staff: &StaffSession,
    year: i32,
    done: &str,
    outcome: ActionResult<()>,
) -> Result<Response, AppError> {
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("{BASE}/{year}?done={done}")).into_response()),
        Err(ActionError::Invalid { field, message }) => detail(state, staff, year, "", Some((field, message))).await,
        Err(e) => Err(e.into()),
    }
}

async fn list(State(state): State<AppState>, staff: StaffSession) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let all = with_app(&state, |app| app.assessments(Timestamp::now())).await??;
    let title = one(staff.lang, "評価", "Assessments");
    Ok(console_page(Some(Console::of(&staff)), title, list_body(&staff, &all, None)).into_response())
}

async fn show(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(year): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    detail(&state, &staff, year_of(&year)?, &q.done, None).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct OpenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    fiscal_year: String,
}

async fn open(
    State(state): State<AppState>,
    staff: StaffSession,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let form: OpenForm = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let by = person(&staff);
    let outcome = match form.fiscal_year.trim().parse::<i32>() {
        Ok(year) => {
            with_app(&state, move |app| app.open_assessment(&by, year, Timestamp::now()).map(|v| v.fiscal_year)).await?
        }
        Err(_) => Err(ActionError::invalid("fiscal_year", format!("`{}` is not a year", form.fiscal_year.trim()))),
    };
    match outcome {
        Ok(year) => Ok(Redirect::to(&format!("{BASE}/{year}?done=opened")).into_response()),
        Err(ActionError::Invalid { field, message }) => {
            let all = with_app(&state, |app| app.assessments(Timestamp::now())).await??;
            let page = console_page(
                Some(Console::of(&staff)),
                one(staff.lang, "評価", "Assessments"),
                list_body(&staff, &all, Some(&(field, message))),
            );
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AssessForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    measure: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    evidence: String,
}

fn measure_of(text: &str) -> ActionResult<u32> {
    text.trim()
        .parse()
        .map_err(|_| ActionError::invalid("measure", format!("`{}` is not a measure number", text.trim())))
}

async fn assess(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(year): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let year = year_of(&year)?;
    let form: AssessForm = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let by = person(&staff);
    let outcome = with_app(&state, move |app| {
        let result = MeasureResult::from_code(form.result.trim())
            .ok_or_else(|| ActionError::invalid("result", "use met, partly or not_met"))?;
        let note = Some(form.note.clone()).filter(|n| !n.trim().is_empty());
        let evidence: Vec<String> =
            form.evidence.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
        let input = AssessInput { measure: measure_of(&form.measure)?, result, note, evidence };
        app.assess_measure(&by, year, &input, Timestamp::now()).map(drop)
    })
    .await?;
    after(&state, &staff, year, "assessed", outcome).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FindingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    measure: String,
    #[serde(default)]
    text: String,
}

async fn finding(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(year): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let year = year_of(&year)?;
    let form: FindingForm = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let by = person(&staff);
    let outcome = with_app(&state, move |app| {
        let input = FindingInput { measure: measure_of(&form.measure)?, text: form.text.clone() };
        app.record_finding(&by, year, &input, Timestamp::now()).map(drop)
    })
    .await?;
    after(&state, &staff, year, "finding", outcome).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RemediationForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    finding: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    carried_by: String,
}

async fn remediate(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(year): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let year = year_of(&year)?;
    let form: RemediationForm = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let by = person(&staff);
    let outcome = with_app(&state, move |app| {
        let owner = PrincipalId::parse_as("owner", form.owner.trim())?;
        let due: Date =
            form.due.trim().parse().map_err(|_| {
                ActionError::invalid("due", format!("`{}` is not a date (YYYY-MM-DD)", form.due.trim()))
            })?;
        let input = RemediationInput {
            finding: form.finding.trim().to_string(),
            action: form.action.clone(),
            owner,
            due,
            carried_by: form.carried_by.trim().to_string(),
        };
        app.record_remediation(&by, year, &input, Timestamp::now()).map(drop)
    })
    .await?;
    after(&state, &staff, year, "remediation", outcome).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn complete(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(year): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let year = year_of(&year)?;
    let form: CsrfForm = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let by = person(&staff);
    let outcome = with_app(&state, move |app| app.complete_assessment(&by, year, Timestamp::now()).map(drop)).await?;
    after(&state, &staff, year, "completed", outcome).await
}
