//! What every console form shares: its fields ([`Fields`]), the application's refusal shown on
//! the form with the field named ([`Problem`], [`problem_box`], [`invalid_at`]), the
//! application run off the async threads ([`with_app`]) as the signed-in person ([`person`]),
//! and times typed in a form, read by the one parser ([`time`], [`input_time`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use maud::{Markup, html};
use tokutei_app::{Acting, ActionError, ActionResult, App};
use tokutei_policy::{Lang, tokyo};

use super::session::StaffSession;
use super::{Console, bi, console_page, one};
use crate::{AppError, AppState};

/// A console form's fields in order (checkbox groups repeat a name).
#[derive(Default)]
pub(crate) struct Fields(pub(crate) Vec<(String, String)>);

impl Fields {
    pub(crate) fn parse(body: &[u8]) -> Result<Fields, AppError> {
        super::form::<Vec<(String, String)>>(body).map(Fields)
    }

    /// The first value of `name`, or `""`.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// The first value of `name` when it is not blank.
    pub(crate) fn opt(&self, name: &str) -> Option<String> {
        let v = self.get(name);
        (!v.trim().is_empty()).then(|| v.to_string())
    }

    /// Every non-blank value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.trim().to_string()).collect()
    }

    pub(crate) fn on(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }

    /// Lines of a text area (one id each), blank ones left out.
    pub(crate) fn lines(&self, name: &str) -> Vec<String> {
        self.get(name).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
    }
}

/// What a refused form is told: the field (when one is at fault) and why.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub(crate) field: Option<&'static str>,
    message: String,
    status: StatusCode,
}

impl Problem {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Problem {
        Problem { field: Some(field), message: message.into(), status: StatusCode::BAD_REQUEST }
    }

    /// A refusal of the application shown on the form; anything else is the request's error.
    pub(crate) fn of(err: ActionError) -> Result<Problem, AppError> {
        match err {
            ActionError::Invalid { field, message } => Ok(Problem::invalid(field, message)),
            ActionError::BadRequest(message) => Ok(Problem { field: None, message, status: StatusCode::BAD_REQUEST }),
            ActionError::Conflict(message) => Ok(Problem { field: None, message, status: StatusCode::CONFLICT }),
            other => Err(other.into()),
        }
    }

    pub(crate) fn at(&self, field: &str) -> bool {
        self.field == Some(field)
    }
}

pub(crate) fn problem_box(lang: Lang, problem: Option<&Problem>) -> Markup {
    html! {
        @if let Some(p) = problem {
            div.error.no-print role="alert" #form-problem {
                p { (bi(lang, "入力内容を確認してください。何も変更していません。", "Please check the form; nothing was changed.")) }
                p {
                    @if let Some(field) = p.field { a href=(format!("#{field}")) { code { (field) } } ": " }
                    (p.message)
                }
            }
        }
    }
}

/// The application's answer to a form: its value, a refusal to show on the form, or the
/// request's error (not found, forbidden, a failing store).
pub(crate) fn refusal<T>(result: ActionResult<T>) -> Result<Result<T, Problem>, AppError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) => Problem::of(e).map(Err),
    }
}

/// `aria-invalid` for the input named `field`.
pub(crate) fn invalid_at(problem: Option<&Problem>, field: &str) -> Option<&'static str> {
    problem.filter(|p| p.at(field)).map(|_| "true")
}

/// Run `work` with the application off the async threads; 404 without one.
pub(crate) async fn with_app<T, F>(state: &AppState, work: F) -> Result<ActionResult<T>, AppError>
where
    T: Send + 'static,
    F: FnOnce(&App) -> ActionResult<T> + Send + 'static,
{
    let app = state.access_service()?;
    tokio::task::spawn_blocking(move || work(&app))
        .await
        .map_err(|e| AppError::internal(format!("console task failed: {e}")))
}

pub(crate) fn person(staff: &StaffSession) -> Acting {
    Acting::Person(staff.principal.id.clone())
}

/// A time typed in a form (`datetime-local`, a date, or RFC 3339), read by the one parser.
pub(crate) fn time(fields: &Fields, name: &'static str) -> Result<Option<Timestamp>, Problem> {
    match fields.opt(name) {
        None => Ok(None),
        Some(text) => tokyo::parse_instant(text.trim()).map(Some).ok_or_else(|| {
            Problem::invalid(name, format!("`{}` is not a time: use YYYY-MM-DD HH:MM (Asia/Tokyo)", text.trim()))
        }),
    }
}

/// A time as a `datetime-local` input shows it (Asia/Tokyo, minutes).
pub(crate) fn input_time(t: Timestamp) -> String {
    tokyo::minutes(t).replacen(' ', "T", 1)
}

/// A console page for the signed-in person.
pub(crate) fn page(staff: &StaffSession, title: &str, body: Markup) -> Response {
    console_page(Some(Console::of(staff)), title, body).into_response()
}

pub(crate) fn refused(staff: &StaffSession, title: &str, problem: &Problem, body: Markup) -> Response {
    (problem.status, console_page(Some(Console::of(staff)), title, body)).into_response()
}

/// The page, or the form shown again with the status of its `problem`.
pub(crate) fn page_or_refused(staff: &StaffSession, title: &str, problem: Option<&Problem>, body: Markup) -> Response {
    match problem {
        Some(p) => refused(staff, title, p, body),
        None => page(staff, title, body),
    }
}

/// Calendar days left until a due date (`None`: nothing due), overdue and the last two days marked.
pub(crate) fn days_cell(lang: Lang, days: Option<i64>) -> Markup {
    html! {
        @match days {
            None => { "—" }
            Some(d) if d < 0 => strong.overdue { (one(lang, "期限超過 ", "Overdue by ")) (-d) (one(lang, "日", " days")) }
            Some(0) => strong.due-soon { (one(lang, "本日期限", "Due today")) }
            Some(d) if d <= 2 => strong.due-soon { (one(lang, "あと", "")) (d) (one(lang, "日", " days left")) }
            Some(d) => { (one(lang, "あと", "")) (d) (one(lang, "日", " days left")) }
        }
    }
}
