//! The 情報取扱規程 in the console, `/admin/oversight/rules`: every version with its effective
//! date, digest and filings — the version in force marked, a version never filed flagged — and
//! each version's print page (Japanese; printing prints the rules alone). Managers register a
//! version (the rules file pasted in; refused with the check's lines when it fails) and record
//! a version's filing with the ministry, each one `tokutei_app::oversight::rules` function;
//! auditors read. The document ([`document`]) is also what `tokutei rules show --format html`
//! writes ([`standalone`]).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use maud::{Markup, html};
use tokutei_app::oversight::rules::{RulesFilingInput, RulesVersionView};
use tokutei_policy::{Date, Lang, tokyo};

use super::forms::{Fields, Problem, invalid_at, page_or_refused, person, problem_box, refusal, with_app};
use super::session::StaffSession;
use super::{bi, one};
use crate::routes::{Access, MANAGERS, OVERSIGHT, Routes};
use crate::{AppError, AppState};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("GET", "/admin/oversight/rules", "/admin/oversight/rules", Access::Staff(OVERSIGHT), get(list))
        .add("POST", "/admin/oversight/rules", "/admin/oversight/rules", Access::Staff(MANAGERS), post(register))
        .add("GET", "/admin/oversight/rules/{version}", "/admin/oversight/rules/1", Access::Staff(OVERSIGHT), get(show))
        .add(
            "POST",
            "/admin/oversight/rules/{version}/filings",
            "/admin/oversight/rules/1/filings",
            Access::Staff(MANAGERS),
            post(file),
        )
}

/// The rules document, in Japanese (what prints), persons by their names in `names`.
pub(crate) fn document(v: &RulesVersionView, names: &HashMap<String, String>) -> Markup {
    let s = &v.stored;
    let person = |id: &str| names.get(id).map_or_else(|| id.to_string(), |n| format!("{n}（{id}）"));
    html! {
        article.report #rules-document lang="ja" {
            h1 { (v.rules.title.ja) }
            dl.fields {
                dt { "版" } dd #rules-version { "第" (s.version) "版" @if v.in_force { "（施行中）" } }
                dt { "制定日" } dd { (v.rules.enacted.ja()) }
                dt { "施行日" } dd { (s.effective.ja()) }
                dt { "登録" } dd { (tokyo::minutes(s.registered_at)) "　" (person(&s.registered_by)) }
                dt { "ダイジェスト" } dd.digest { (s.digest) }
                dt { "届出" }
                dd #rules-filed {
                    @if v.filings.is_empty() {
                        strong.overdue { "未届出" }
                    } @else {
                        @for (i, f) in v.filings.iter().enumerate() {
                            @if i > 0 { "、" }
                            (f.filing.filed_on.ja()) "（" (f.filing.reference) "）"
                        }
                    }
                }
            }
            @for (i, section) in v.rules.sections.iter().enumerate() {
                section.rules-section id=(format!("section-{}", i + 1)) {
                    h2 { (section.title.ja) }
                    p.meta {
                        "措置：" (section.measure.label(Lang::Ja))
                        "　責任：" (section.owner.map_or("—", |r| r.label(Lang::Ja)))
                    }
                    @for paragraph in section.text.ja.split('\n').filter(|p| !p.trim().is_empty()) {
                        p { (paragraph) }
                    }
                }
            }
        }
    }
}

/// The rules as one self-contained HTML file, the stylesheet embedded so it opens from disk
/// and prints (`tokutei rules show --format html`).
pub(crate) fn standalone(v: &RulesVersionView, names: &HashMap<String, String>) -> Markup {
    let title = format!("{} 第{}版", v.rules.title.ja, v.stored.version);
    crate::pages::standalone(Lang::Ja, &title, document(v, names))
}

async fn names(state: &AppState) -> Result<HashMap<String, String>, AppError> {
    Ok(state.blocking(|b| b.principals()).await?.into_iter().map(|p| (p.id, p.display_name)).collect())
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

fn done_note(lang: Lang, done: &Done) -> Markup {
    let text = match done.done.as_str() {
        "registered" => Some(("規程の新しい版を登録しました。", "The new version of the rules is registered.")),
        "filed" => Some(("届出を記録しました。", "The filing is recorded.")),
        _ => None,
    };
    html! { @if let Some((ja, en)) = text { p.saved.no-print role="status" #done { (bi(lang, ja, en)) } } }
}

fn date_text(lang: Lang, d: Date) -> String {
    if lang == Lang::Ja { d.ja() } else { d.en() }
}

fn list_body(staff: &StaffSession, versions: &[RulesVersionView], source: &str, problem: Option<&Problem>) -> Markup {
    let lang = staff.lang;
    html! {
        h1 { (bi(lang, "情報取扱規程", "Information handling rules")) }
        p.note { (bi(lang,
            "方針の安全管理措置（1）〜（7）を実施する社内規程です。版ごとに、7つの措置それぞれの章（責任を負う役割と本文）があることを確認して登録し、総務省への届出を記録します。",
            "The internal rules that carry out the policy's security measures (1)–(7). Each version is checked for a section per measure, each with the role that answers for it and its text, and its filing with the ministry is recorded.")) }
        @if versions.is_empty() {
            p #rules-none { strong.overdue { (bi(lang, "規程は登録されていません。", "No version of the rules is registered.")) } }
        } @else {
            div.table-scroll {
                table #rules-versions {
                    thead { tr {
                        th scope="col" { (one(lang, "版", "Version")) }
                        th scope="col" { (one(lang, "名称", "Title")) }
                        th scope="col" { (one(lang, "施行日", "Effective")) }
                        th scope="col" { (one(lang, "ダイジェスト", "Digest")) }
                        th scope="col" { (one(lang, "届出", "Filed")) }
                    } }
                    tbody {
                        @for v in versions.iter().rev() {
                            tr id=(format!("rules-v{}", v.stored.version)) {
                                th scope="row" {
                                    a href=(format!("/admin/oversight/rules/{}", v.stored.version)) { (one(lang, "第", "v")) (v.stored.version) (one(lang, "版", "")) }
                                    @if v.in_force { " " span.badge { (one(lang, "施行中", "in force")) } }
                                }
                                td { (v.rules.title(lang)) }
                                td { (date_text(lang, v.stored.effective)) }
                                td { code { (v.digest().short()) } }
                                td {
                                    @if v.filings.is_empty() {
                                        strong.overdue { (one(lang, "未届出", "Never filed")) }
                                    } @else {
                                        @for (i, f) in v.filings.iter().enumerate() {
                                            @if i > 0 { ", " }
                                            (date_text(lang, f.filing.filed_on)) " (" (f.filing.reference) ")"
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if MANAGERS.contains(&staff.role) {
            h2 #register-heading { (bi(lang, "新しい版の登録", "Register a new version")) }
            (problem_box(lang, problem))
            form #rules-form method="post" action="/admin/oversight/rules" {
                input type="hidden" name="csrf" value=(staff.csrf);
                p {
                    label for="source" { (bi(lang, "規程ファイル（TOML）", "Rules file (TOML)")) }
                    textarea #source name="source" rows="16" required aria-invalid=[invalid_at(problem, "source")] { (source) }
                }
                p.note { (bi(lang,
                    "下書きは tokutei rules draft で方針から作れます。形式は docs/rules-file.md を参照してください。",
                    "`tokutei rules draft` writes a first draft from the policy; the format is in docs/rules-file.md.")) }
                p { button #rules-register type="submit" { (one(lang, "確認して登録する", "Check and register")) } }
            }
        } @else {
            p.note { (bi(lang, "監査担当は閲覧のみです。", "Auditors can read the rules, not change them.")) }
        }
    }
}

async fn versions(state: &AppState) -> Result<Vec<RulesVersionView>, AppError> {
    Ok(with_app(state, |app| app.rules_versions(Timestamp::now())).await??)
}

async fn list(State(state): State<AppState>, staff: StaffSession) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let all = versions(&state).await?;
    Ok(page_or_refused(
        &staff,
        one(staff.lang, "情報取扱規程", "Information handling rules"),
        None,
        list_body(&staff, &all, "", None),
    ))
}

async fn register(
    State(state): State<AppState>,
    staff: StaffSession,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&raw)?;
    staff.check_csrf(f.get("csrf"))?;
    let by = person(&staff);
    let source = f.get("source").replace("\r\n", "\n");
    let text = source.clone();
    let result = with_app(&state, move |app| app.register_rules(&by, &text, Timestamp::now())).await?;
    match refusal(result)? {
        Ok(done) => {
            Ok(Redirect::to(&format!("/admin/oversight/rules/{}?done=registered", done.version)).into_response())
        }
        Err(problem) => {
            let all = versions(&state).await?;
            let title = one(staff.lang, "情報取扱規程", "Information handling rules");
            Ok(page_or_refused(&staff, title, Some(&problem), list_body(&staff, &all, &source, Some(&problem))))
        }
    }
}

fn version_number(text: &str) -> Result<u32, AppError> {
    text.parse::<u32>().map_err(|_| AppError::NotFound)
}

fn show_body(
    staff: &StaffSession,
    v: &RulesVersionView,
    names: &HashMap<String, String>,
    done: &Done,
    fields: &Fields,
    problem: Option<&Problem>,
) -> Markup {
    let lang = staff.lang;
    html! {
        p.no-print { a href="/admin/oversight/rules" { (bi(lang, "規程の一覧へ", "All versions of the rules")) } }
        (done_note(lang, done))
        (document(v, names))
        @if MANAGERS.contains(&staff.role) {
            section.no-print aria-labelledby="filing-heading" {
                h2 #filing-heading { (bi(lang, "届出の記録", "Record a filing")) }
                (problem_box(lang, problem))
                form #filing-form method="post" action=(format!("/admin/oversight/rules/{}/filings", v.stored.version)) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    p {
                        label for="date" { (bi(lang, "届出日", "Filed on")) }
                        input #date type="date" name="date" required value=(fields.get("date")) aria-invalid=[invalid_at(problem, "date")];
                    }
                    p {
                        label for="reference" { (bi(lang, "受付番号・文書番号", "Receipt or file reference")) }
                        input #reference type="text" name="reference" required maxlength="200" value=(fields.get("reference")) aria-invalid=[invalid_at(problem, "reference")];
                    }
                    p { button #filing-save type="submit" { (one(lang, "記録する", "Record")) } }
                }
            }
        }
    }
}

async fn show(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(version): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let version = version_number(&version)?;
    let v = with_app(&state, move |app| app.rules_version(version, Timestamp::now())).await??;
    let names = names(&state).await?;
    let title = format!("{} 第{}版", v.rules.title(staff.lang), version);
    Ok(page_or_refused(&staff, &title, None, show_body(&staff, &v, &names, &done, &Fields::default(), None)))
}

async fn file(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(version): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let version = version_number(&version)?;
    let f = Fields::parse(&raw)?;
    staff.check_csrf(f.get("csrf"))?;
    let problem = match f.get("date").trim().parse::<Date>() {
        Err(_) => Some(Problem::invalid("date", format!("`{}` is not a date (YYYY-MM-DD)", f.get("date").trim()))),
        Ok(filed_on) => {
            let by = person(&staff);
            let input = RulesFilingInput { version, filed_on, reference: f.get("reference").to_string() };
            let result = with_app(&state, move |app| app.record_rules_filing(&by, &input, Timestamp::now())).await?;
            refusal(result)?.err()
        }
    };
    match problem {
        None => Ok(Redirect::to(&format!("/admin/oversight/rules/{version}?done=filed")).into_response()),
        Some(problem) => {
            let v = with_app(&state, move |app| app.rules_version(version, Timestamp::now())).await??;
            let names = names(&state).await?;
            let title = format!("{} 第{}版", v.rules.title(staff.lang), version);
            Ok(page_or_refused(
                &staff,
                &title,
                Some(&problem),
                show_body(&staff, &v, &names, &Done::default(), &f, Some(&problem)),
            ))
        }
    }
}
