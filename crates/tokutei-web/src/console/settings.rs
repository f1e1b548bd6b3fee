//! The settings page (`/admin/settings`): what the privacy office sets — the inquiry response
//! deadline and rate limit, session timeouts, lockout thresholds, the public contact. Managers
//! change them (every change is a `setting_changed` audit entry, old and new value); auditors
//! read. A bad value is refused with the field named and nothing is changed.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use tokutei_app::settings::{FIELDS, Invalid, Kind, Settings};

use super::session::StaffSession;
use super::{Console, bi, console_page, one};
use crate::routes::{MANAGERS, OVERSIGHT};
use crate::{AppError, AppState};

fn form(staff: &StaffSession, values: &HashMap<String, String>, problems: &[Invalid], saved: bool) -> Markup {
    let lang = staff.lang;
    let manager = MANAGERS.contains(&staff.role);
    let problem = |key: &str| problems.iter().find(|p| p.key == key);
    html! {
        h1 { (bi(lang, "設定", "Settings")) }
        @if saved {
            p.saved role="status" { (bi(lang, "設定を保存しました。", "Settings saved.")) }
        }
        @if !problems.is_empty() {
            div.error role="alert" #settings-errors {
                p { (bi(lang, "入力内容を確認してください。何も変更していません。", "Please check the form; nothing was changed.")) }
                ul { @for p in problems { li { a href=(format!("#{}", p.key)) { (p.to_string()) } } } }
            }
        }
        @if !manager {
            p.note { (bi(lang, "監査担当は閲覧のみです。", "Auditors can read the settings, not change them.")) }
        }
        form #settings-form method="post" action="/admin/settings" {
            input type="hidden" name="csrf" value=(staff.csrf);
            @for field in FIELDS {
                @let value = values.get(field.key).cloned().unwrap_or_default();
                @let error_id = format!("{}-error", field.key);
                p {
                    label for=(field.key) { (bi(lang, field.ja, field.en)) }
                    @match field.kind {
                        Kind::Number { min, max, default, unit_ja, unit_en } => {
                            input id=(field.key) name=(field.key) type="number" min=(min) max=(max) required
                                value=(value) disabled[!manager]
                                aria-invalid=[problem(field.key).map(|_| "true")]
                                aria-describedby=[problem(field.key).map(|_| error_id.clone())];
                            " " (one(lang, unit_ja, unit_en))
                            span.hint { (one(lang, "既定値 ", "default ")) (default) "（" (min) "〜" (max) "）" }
                        }
                        Kind::Text { max } => {
                            input id=(field.key) name=(field.key) type="text" maxlength=(max) value=(value)
                                disabled[!manager]
                                aria-invalid=[problem(field.key).map(|_| "true")]
                                aria-describedby=[problem(field.key).map(|_| error_id.clone())];
                        }
                    }
                    @if let Some(p) = problem(field.key) {
                        span.field-error id=(error_id) { (p.message) }
                    }
                }
            }
            @if manager {
                p { button #settings-save type="submit" { (one(lang, "保存する", "Save")) } }
            }
        }
        p.note {
            (bi(lang,
                "回答期限は受付日からの暦日数です。個人情報保護法は「遅滞なく」とだけ定めており、日数は社内の基準として設定してください。",
                "The deadline counts calendar days from receipt. The APPI only says \u{201c}without delay\u{201d}; set your own standard."))
        }
    }
}

fn current_values(settings: &Settings) -> HashMap<String, String> {
    FIELDS.iter().map(|f| (f.key.to_string(), settings.value(f.key))).collect()
}

pub(crate) async fn page(State(state): State<AppState>, staff: StaffSession) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    if staff.must_change {
        return Ok(Redirect::to("/admin/password").into_response());
    }
    let settings = state.settings().await?;
    let body = form(&staff, &current_values(&settings), &[], false);
    Ok(console_page(Some(Console::of(&staff)), one(staff.lang, "設定", "Settings"), body).into_response())
}

pub(crate) async fn change(
    State(state): State<AppState>,
    staff: StaffSession,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let mut submitted: HashMap<String, String> = super::form(&body)?;
    let csrf = submitted.remove("csrf").unwrap_or_default();
    staff.check_csrf(&csrf)?;
    let ledger = state.ledger.clone().ok_or(AppError::NotFound)?;
    let who = staff.principal.id.clone();
    let now = jiff::Timestamp::now();
    let form_values = submitted.clone();
    let backend = state.backend.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        tokutei_app::settings::change_settings(
            backend.as_ref(),
            ledger.as_ref(),
            &tokutei_app::Acting::Person(who),
            &submitted,
            now,
        )
    })
    .await
    .map_err(|e| AppError::internal(format!("settings task failed: {e}")))??;
    let title = one(staff.lang, "設定", "Settings");
    match outcome {
        Ok(_) => {
            let settings = state.settings().await?;
            let body = form(&staff, &current_values(&settings), &[], true);
            Ok(console_page(Some(Console::of(&staff)), title, body).into_response())
        }
        Err(problems) => {
            let body = form(&staff, &form_values, &problems, false);
            Ok((StatusCode::BAD_REQUEST, console_page(Some(Console::of(&staff)), title, body)).into_response())
        }
    }
}
