//! The training roster in the console (`/admin/oversight/training`): every person × every
//! course their role must take (`tokutei_app::oversight::training`), with the last valid day
//! and the days left — expiring soon and expired marked — and the course catalogue. A manager
//! records a completion here (`App::record_training`, audited first; the last valid day from
//! the course's validity when left empty); auditors read. A refused form is shown again with
//! the field named.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::{Markup, html};
use serde::Deserialize;
use tokutei_app::oversight::training::{Course, RosterRow, TrainingState};
use tokutei_app::{ActionError, PrincipalId};
use tokutei_policy::{Date, Lang};

use super::forms::{person, with_app};
use super::session::StaffSession;
use super::{Console, bi, console_page, one};
use crate::routes::{Access, MANAGERS, OVERSIGHT, Routes};
use crate::{AppError, AppState};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add(
        "GET",
        "/admin/oversight/training",
        "/admin/oversight/training",
        Access::Staff(OVERSIGHT),
        axum::routing::get(page),
    )
    .add(
        "POST",
        "/admin/oversight/training",
        "/admin/oversight/training",
        Access::Staff(MANAGERS),
        axum::routing::post(record),
    )
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    #[serde(default)]
    done: String,
}

/// The completion form as submitted.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct CompletionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    principal: String,
    #[serde(default)]
    course: String,
    #[serde(default)]
    completed: String,
    #[serde(default)]
    valid_until: String,
}

fn state_cell(lang: Lang, row: &RosterRow) -> Markup {
    let label = one(lang, row.state.ja(), row.state.en());
    html! {
        @match row.state {
            TrainingState::Expired | TrainingState::Missing => { strong.overdue { (label) } }
            TrainingState::Expiring => { strong { (label) } }
            TrainingState::Valid => { (label) }
        }
    }
}

fn days_cell(lang: Lang, row: &RosterRow) -> String {
    match (row.state, row.days_left) {
        (TrainingState::Missing, _) | (_, None) => "—".into(),
        (TrainingState::Expired, Some(d)) => match lang {
            Lang::Ja => format!("{}日超過", -d),
            Lang::En => format!("{} days ago", -d),
        },
        (_, Some(d)) => match lang {
            Lang::Ja => format!("残り{d}日"),
            Lang::En => format!("{d} days left"),
        },
    }
}

fn body(
    staff: &StaffSession,
    roster: &[RosterRow],
    courses: &[Course],
    form: &CompletionForm,
    problem: Option<(&str, String)>,
    done: bool,
) -> Markup {
    let lang = staff.lang;
    let manager = MANAGERS.contains(&staff.role);
    let error_of = |field: &str| problem.as_ref().filter(|(f, _)| *f == field).map(|(_, m)| m.clone());
    html! {
        h1 { (bi(lang, "教育研修の受講状況", "Training roster")) }
        @if done {
            p.saved role="status" #done { (bi(lang, "受講を記録しました。", "The completion is recorded.")) }
        }
        @if let Some((field, message)) = &problem {
            div.error role="alert" #training-errors {
                p { (bi(lang, "入力内容を確認してください。何も変更していません。", "Please check the form; nothing was changed.")) }
                ul { li { a href=(format!("#{field}")) { (message) } } }
            }
        }
        p.note { (bi(lang,
            "方針の人的安全管理措置（定期的な教育研修）に基づき、各人が役割に応じて受講すべき研修と有効期限を表示します。期限切れの研修がある担当者の利用はゲートウェイが拒否します。",
            "The courses each person must take for their role under the policy's human security measures (periodic training), with the last valid day. The gateway refuses a person whose required training has expired.")) }
        @if roster.is_empty() {
            p #roster-empty { (bi(lang, "受講が必要な研修はありません。", "No person must take a course.")) }
        } @else {
            div.table-scroll {
                table #roster {
                    thead { tr {
                        th scope="col" { (one(lang, "氏名", "Name")) }
                        th scope="col" { (one(lang, "役割", "Role")) }
                        th scope="col" { (one(lang, "研修", "Course")) }
                        th scope="col" { (one(lang, "受講日", "Completed")) }
                        th scope="col" { (one(lang, "有効期限", "Valid until")) }
                        th scope="col" { (one(lang, "残り", "Days left")) }
                        th scope="col" { (one(lang, "状態", "State")) }
                    } }
                    tbody {
                        @for r in roster {
                            tr id=(format!("roster-{}-{}", r.principal, r.course)) {
                                th scope="row" { (r.display_name) }
                                td { (r.role.label(lang)) }
                                td { (one_of(lang, &r.course_ja, &r.course_en)) }
                                td { @if let Some(d) = r.completed { (date_text(lang, d)) } @else { "—" } }
                                td { @if let Some(d) = r.valid_until { (date_text(lang, d)) } @else { "—" } }
                                td { (days_cell(lang, r)) }
                                td { (state_cell(lang, r)) }
                            }
                        }
                    }
                }
            }
        }
        h2 { (bi(lang, "研修の一覧", "Courses")) }
        @if courses.is_empty() {
            p { (bi(lang, "必須の研修はありません（deployment.toml の [training]）。", "No course is required ([training] in deployment.toml).")) }
        } @else {
            ul #courses {
                @for c in courses {
                    li {
                        (one_of(lang, &c.name_ja, &c.name_en))
                        @if let Some(m) = c.validity_months { "（" (m) (one(lang, "か月有効", " months")) "）" }
                        " — "
                        @for (i, r) in c.roles.iter().enumerate() { @if i > 0 { "・" } (r.label(lang)) }
                    }
                }
            }
        }
        @if manager {
            h2 { (bi(lang, "受講の記録", "Record a completion")) }
            form #training-form method="post" action="/admin/oversight/training" {
                input type="hidden" name="csrf" value=(staff.csrf);
                p {
                    label for="principal" { (bi(lang, "職員ID", "Staff id")) }
                    input #principal name="principal" type="text" required value=(form.principal)
                        aria-invalid=[error_of("principal").map(|_| "true")];
                    @if let Some(m) = error_of("principal") { span.field-error { (m) } }
                }
                p {
                    label for="course" { (bi(lang, "研修", "Course")) }
                    select #course name="course" {
                        @for c in courses {
                            option value=(c.id) selected[form.course == c.id] { (one_of(lang, &c.name_ja, &c.name_en)) }
                        }
                    }
                    @if let Some(m) = error_of("course") { span.field-error { (m) } }
                }
                p {
                    label for="completed" { (bi(lang, "受講日", "Completed on")) }
                    input #completed name="completed" type="date" required value=(form.completed)
                        aria-invalid=[error_of("completed").map(|_| "true")];
                    @if let Some(m) = error_of("completed") { span.field-error { (m) } }
                }
                p {
                    label for="valid_until" { (bi(lang, "有効期限（空欄なら研修の有効期間から）", "Valid until (empty: from the course's validity)")) }
                    input #valid_until name="valid_until" type="date" value=(form.valid_until)
                        aria-invalid=[error_of("valid_until").map(|_| "true")];
                    @if let Some(m) = error_of("valid_until") { span.field-error { (m) } }
                }
                p { button #training-save type="submit" { (one(lang, "記録する", "Record")) } }
            }
        } @else {
            p.note { (bi(lang, "監査担当は閲覧のみです。", "Auditors can read the roster, not change it.")) }
        }
    }
}

fn one_of<'a>(lang: Lang, ja: &'a str, en: &'a str) -> &'a str {
    if lang == Lang::Ja { ja } else { en }
}

fn date_text(lang: Lang, d: Date) -> String {
    if lang == Lang::Ja { d.ja() } else { d.en() }
}

async fn roster_and_courses(state: &AppState) -> Result<(Vec<RosterRow>, Vec<Course>), AppError> {
    Ok(with_app(state, |app| Ok((app.training_roster(Timestamp::now())?, app.training_rules().courses.clone())))
        .await??)
}

async fn page(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let (roster, courses) = roster_and_courses(&state).await?;
    let markup = body(&staff, &roster, &courses, &CompletionForm::default(), None, query.done == "recorded");
    Ok(console_page(Some(Console::of(&staff)), one(staff.lang, "教育研修", "Training"), markup).into_response())
}

async fn record(
    State(state): State<AppState>,
    staff: StaffSession,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let form: CompletionForm = super::form(&raw)?;
    staff.check_csrf(&form.csrf)?;
    let parse_date = |field: &'static str, text: &str| -> Result<Option<Date>, (&'static str, String)> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<Date>().map(Some).map_err(|_| (field, format!("{field}: `{text}` is not a date (YYYY-MM-DD)")))
    };
    let parsed = (|| {
        let principal =
            PrincipalId::parse_as("principal", form.principal.trim()).map_err(|e| ("principal", e.to_string()))?;
        let completed = parse_date("completed", &form.completed)?
            .ok_or(("completed", "completed: the day of the completion is required".to_string()))?;
        let valid_until = parse_date("valid_until", &form.valid_until)?;
        Ok::<_, (&'static str, String)>((principal, completed, valid_until))
    })();
    let outcome = match parsed {
        Err(problem) => Err(problem),
        Ok((principal, completed, valid_until)) => {
            let by = person(&staff);
            let course = form.course.clone();
            let result = with_app(&state, move |app| {
                app.record_training(&by, &principal, &course, completed, valid_until, Timestamp::now())
            })
            .await?;
            match result {
                Ok(_) => Ok(()),
                Err(ActionError::Invalid { field, message }) => Err((field, format!("{field}: {message}"))),
                Err(ActionError::NotFound(_) | ActionError::UnknownPrincipal(_)) => {
                    Err(("principal", format!("principal: `{}` is not in the staff registry", form.principal.trim())))
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    match outcome {
        Ok(()) => Ok(Redirect::to("/admin/oversight/training?done=recorded").into_response()),
        Err(problem) => {
            let (roster, courses) = roster_and_courses(&state).await?;
            let markup = body(&staff, &roster, &courses, &form, Some(problem), false);
            let title = one(staff.lang, "教育研修", "Training");
            Ok((StatusCode::BAD_REQUEST, console_page(Some(Console::of(&staff)), title, markup)).into_response())
        }
    }
}
