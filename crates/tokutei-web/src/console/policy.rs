//! The policy in the console: the version in force and the history; and, for the chief
//! manager and responsible persons, publishing a new version — paste the policy file, see
//! every diagnostic (line and field) or the section-aware diff against the version in force,
//! then confirm. What is confirmed is exactly what was previewed (the digest is carried and
//! checked). Both steps are the application layer's (`App::preview_policy`,
//! `App::publish_policy`), as for `tokutei policy publish`: the same checks, the
//! same compile check against the deployment, the same audit entry, durable before the
//! version is stored.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tokutei_policy::{Lang, PolicyDigest};

use super::forms::person;
use super::session::StaffSession;
use super::{Console, console_page};
use crate::routes::{MANAGERS, OVERSIGHT};
use crate::{AppError, AppState};

fn source_form(staff: &StaffSession, source: &str) -> Markup {
    html! {
        form method="post" action="/admin/policy/preview" {
            input type="hidden" name="csrf" value=(staff.csrf);
            p {
                label for="source" { "新しい取扱方針ファイル（TOML） " span lang="en" { "New policy file (TOML)" } }
                textarea #source name="source" rows="16" cols="80" required { (source) }
            }
            p { button type="submit" { "確認する / Preview" } }
        }
    }
}

pub(crate) async fn page(State(state): State<AppState>, staff: StaffSession) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let versions = state.blocking(|b| b.policy_versions()).await?;
    let active = state.active_policy().await?;
    let body = html! {
        h1 { (super::bi(staff.lang, "取扱方針", "Policy")) }
        @match &active {
            Some((v, _)) => p { "施行中: 第" (v.number) "版（" (v.effective) " 施行、" span.digest { (v.digest.short()) } "）" }
            None => p.note { "施行中の版はありません。" }
        }
        table {
            thead { tr { th scope="col" { "版 Version" } th scope="col" { "施行日 Effective" } th scope="col" { "公表者 By" } th scope="col" { "ダイジェスト Digest" } } }
            tbody {
                @for v in versions.iter().rev() {
                    tr {
                        td { a href=(format!("/policy/versions/{}", v.number)) { "第" (v.number) "版" } }
                        td { (v.effective) }
                        td { (v.published_by) }
                        td.digest { (v.digest.short()) }
                    }
                }
            }
        }
        @if MANAGERS.contains(&staff.role) {
            h2 { (super::bi(staff.lang, "新しい版の公表", "Publish a new version")) }
            (source_form(&staff, ""))
        }
    };
    Ok(console_page(Some(Console::of(&staff)), "取扱方針", body).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct PreviewForm {
    csrf: String,
    source: String,
}

pub(crate) async fn preview(
    State(state): State<AppState>,
    staff: StaffSession,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let form: PreviewForm = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let service = state.access_service()?;
    let source = form.source.clone();
    let preview = tokio::task::spawn_blocking(move || service.preview_policy(&source))
        .await
        .map_err(|e| AppError::internal(format!("preview task failed: {e}")))?;
    let errors: Vec<_> = preview.report.errors().collect();
    let compiled = preview.compile_problem.clone();
    let body = if preview.policy().is_none() {
        html! {
            h1 { (super::bi(staff.lang, "公表できません", "This file cannot be published")) }
            ul.error {
                @for d in &errors {
                    li {
                        @if let Some(p) = d.position { (p.line) "行 " (p.column) "列 " }
                        code { (d.field) } " — " (d.message)
                        @if let Some(h) = &d.help { br; span.note { (h) } }
                    }
                }
                @if let Some(problem) = &compiled { li { "アクセス規則に変換できません / does not compile into access rules: " (problem) } }
            }
            (source_form(&staff, &form.source))
        }
    } else {
        // INVARIANT: checked just above.
        let policy = preview.policy().ok_or_else(|| AppError::internal("checked policy vanished"))?;
        let digest = PolicyDigest::of(policy);
        let active = state.active_policy().await?;
        let diff = active.as_ref().map(|(_, old)| tokutei_policy::diff::diff(old, policy).human(Lang::Ja));
        html! {
            h1 { (super::bi(staff.lang, "公表前の確認", "Preview")) }
            p { "施行日: " strong { (policy.effective_date()) } "、ダイジェスト " span.digest { (digest.short()) } }
            @match &diff {
                Some(d) if d.trim().is_empty() => p.note { "施行中の版と内容は同じです。" }
                Some(d) => { h2 { "施行中の版との差分 / Changes" } pre.diff { (d) } }
                None => p.note { "最初の版です。" }
            }
            form method="post" action="/admin/policy/publish" {
                input type="hidden" name="csrf" value=(staff.csrf);
                input type="hidden" name="digest" value=(digest.0);
                p {
                    label for="confirm-source" { "公表する内容 / The file to publish" }
                    textarea #confirm-source name="source" rows="8" cols="80" readonly { (form.source) }
                }
                p { button type="submit" { "この内容で公表する / Publish" } }
            }
        }
    };
    Ok(console_page(Some(Console::of(&staff)), "公表前の確認", body).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct PublishForm {
    csrf: String,
    source: String,
    digest: String,
}

pub(crate) async fn publish(
    State(state): State<AppState>,
    staff: StaffSession,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let form: PublishForm = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let service = state.access_service()?;
    let by = person(&staff);
    tokio::task::spawn_blocking(move || {
        service.publish_policy(&by, form.source, Some(&form.digest), jiff::Timestamp::now())
    })
    .await
    .map_err(|e| AppError::internal(format!("publish task failed: {e}")))??;
    Ok(Redirect::to("/admin/policy").into_response())
}
