//! The self-inspection reports (自己点検) in the console, `/admin/oversight/inspections`: the
//! list of reports with their findings (open ones with days left, overdue in red), each
//! report's print page (Japanese; printing prints the report alone), and for managers the
//! forms that run a period, add a finding and close one — each one `tokutei_app::oversight::
//! inspection` function; auditors read. The report itself ([`report`]) is also the printable
//! document `tokutei inspection show --format html` writes ([`standalone`]).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use tokutei_app::oversight::inspection::{FindingInput, FindingView, InspectionView, Period};
use tokutei_app::{ActionError, PrincipalId};
use tokutei_policy::{Lang, tokyo};

use super::forms::{person, with_app};
use super::session::StaffSession;
use super::{Console, bi, console_page, one};
use crate::routes::{Access, MANAGERS, OVERSIGHT, Routes};
use crate::{AppError, AppState};

pub(crate) fn routes(r: Routes) -> Routes {
    r.add("GET", "/admin/oversight/inspections", "/admin/oversight/inspections", Access::Staff(OVERSIGHT), get(list))
        .add("POST", "/admin/oversight/inspections", "/admin/oversight/inspections", Access::Staff(MANAGERS), post(run))
        .add(
            "GET",
            "/admin/oversight/inspections/{id}",
            "/admin/oversight/inspections/IR-1",
            Access::Staff(OVERSIGHT),
            get(show),
        )
        .add(
            "POST",
            "/admin/oversight/inspections/{id}/findings",
            "/admin/oversight/inspections/IR-1/findings",
            Access::Staff(MANAGERS),
            post(add_finding),
        )
        .add(
            "POST",
            "/admin/oversight/findings/{id}/close",
            "/admin/oversight/findings/IF-1/close",
            Access::Staff(MANAGERS),
            post(close_finding),
        )
}

/// The report document, in Japanese (what prints), persons by their names in `names`.
pub(crate) fn report(v: &InspectionView, names: &HashMap<String, String>) -> Markup {
    let (s, d) = (&v.stored, &v.document);
    let l = &d.ledger;
    let person = |id: &str| names.get(id).map_or_else(|| id.to_string(), |n| format!("{n}（{id}）"));
    let period = Period::parse(&s.period).map(Period::ja).unwrap_or_else(|_| s.period.clone());
    let allowed: u64 = l.uses.iter().map(|u| u.allowed).sum();
    html! {
        article.report #inspection-report lang="ja" {
            h1 { "自己点検報告書 " (period) }
            dl.fields {
                dt { "報告番号" } dd { (s.id) "（第" (s.revision) "版）" }
                dt { "対象期間" } dd { (tokyo::minutes(d.from)) " 〜 " (tokyo::minutes(d.until)) "（日本時間、終了時刻を含まない）" }
                dt { "作成" } dd { (tokyo::minutes(s.made_at)) "　" (person(&s.made_by)) }
                dt { "監査ログ" } dd { "期間中の記録 " (l.entries) " 件（番号 " (l.first_index.map_or("—".into(), |i| i.to_string())) "〜" (l.last_index.map_or("—".into(), |i| i.to_string())) "）" }
                dt { "署名済みチェックポイント" } dd { "サイズ " (d.checkpoint.size) "、ルートハッシュ " span.digest { (d.checkpoint.root) } }
                dt { "文書の SHA-256" } dd.digest { (hex::encode(s.digest)) }
                dt { "監査記録" } dd { "番号 " (s.audit_index) "（inspection_reported）" }
            }
            h2 { "1. 利用者情報の利用（利用者・目的別）" }
            table #inspection-uses {
                caption { "許可 " (allowed) " 件、拒否 " (l.denials) " 件" }
                thead { tr { th scope="col" { "取扱者" } th scope="col" { "利用目的" } th scope="col" { "許可" } th scope="col" { "拒否" } } }
                tbody {
                    @for u in &l.uses {
                        tr { th scope="row" { (person(&u.principal)) } td { (u.purpose) } td { (u.allowed) } td { (u.denied) } }
                    }
                    @if l.uses.is_empty() { tr { td colspan="4" { "なし" } } }
                }
            }
            h2 { "2. 拒否（理由別）" }
            table #inspection-denials {
                thead { tr { th scope="col" { "理由" } th scope="col" { "件数" } } }
                tbody {
                    @for (reason, n) in &l.denials_by_reason { tr { th scope="row" { code { (reason) } } td { (n) } } }
                    @if l.denials_by_reason.is_empty() { tr { td colspan="2" { "なし" } } }
                }
            }
            h2 { "3. 持出し・同意・鍵・取扱方針" }
            dl.fields #inspection-admin {
                dt { "持出し（許可）" } dd { (l.exports.len()) " 件" @if !l.exports.is_empty() { "（監査記録 " (l.exports.iter().map(u64::to_string).collect::<Vec<_>>().join("、")) "）" } }
                dt { "同意・オプトアウトの変更" } dd { (l.consent_changes) " 件" }
                dt { "鍵の更新" } dd { (l.key_rotations) " 件" }
                dt { "取扱方針の公表" } dd { (l.policy_publications.len()) " 件" @if !l.policy_publications.is_empty() { "（" (l.policy_publications.join("、")) "）" } }
            }
            h2 { "4. 研修の受講状況（" (d.until.checked_sub(jiff::SignedDuration::from_secs(1)).map(tokyo::date_of).map(|x| x.to_string()).unwrap_or_default()) " 時点）" }
            table #inspection-training {
                caption { (d.training.len()) " 名中、有効期限切れ・未受講 " (d.training_lapsed()) " 名" }
                thead { tr { th scope="col" { "取扱者" } th scope="col" { "役割" } th scope="col" { "研修（有効期限）" } th scope="col" { "状態" } } }
                tbody {
                    @for t in &d.training {
                        tr {
                            th scope="row" { (person(&t.principal)) }
                            td { (t.role.label(Lang::Ja)) }
                            td { (t.courses.iter().map(|(c, u)| format!("{c}（{}）", u.as_deref().unwrap_or("未受講"))).collect::<Vec<_>>().join("、")) }
                            td { @if t.valid { "有効" } @else { span.overdue { "期限切れ" } } }
                        }
                    }
                }
            }
            h2 { "5. 違反の報告" }
            table #inspection-violations {
                caption { "期間中の報告 " (d.violations.len()) " 件、期末に未終結 " (d.violations_open_at_end.len()) " 件" }
                thead { tr { th scope="col" { "番号" } th scope="col" { "対象の取扱者" } th scope="col" { "安全管理措置" } th scope="col" { "検知" } th scope="col" { "期末の状態" } } }
                tbody {
                    @for r in &d.violations {
                        tr {
                            th scope="row" { (r.id) }
                            td { (person(&r.principal)) }
                            td { "(" (r.measure) ")" }
                            td { (r.detector.as_deref().unwrap_or("職員の報告")) }
                            td { (state_ja(&r.state)) }
                        }
                    }
                    @if d.violations.is_empty() { tr { td colspan="5" { "なし" } } }
                }
            }
            p.note { "この報告書は監査ログから作成され、その SHA-256 は監査ログに記録されています。"
                "tokutei inspection verify " (s.id) " で、監査ログ・チェックポイントの署名・再集計と照合できます。" }
        }
    }
}

fn state_ja(code: &str) -> &'static str {
    match code {
        "received" => "受付",
        "acknowledged" => "確認済み",
        "resolved_none" => "終結（違反なし）",
        "resolved_violation" => "終結（違反あり）",
        _ => "不明",
    }
}

/// The report as one self-contained HTML file, the stylesheet embedded so it opens from disk
/// and prints (`tokutei inspection show --format html`).
pub(crate) fn standalone(v: &InspectionView, names: &HashMap<String, String>) -> Markup {
    let title = format!("自己点検報告書 {}（{}）", v.stored.period, v.stored.id);
    crate::pages::standalone(Lang::Ja, &title, report(v, names))
}

async fn names(state: &AppState) -> Result<HashMap<String, String>, AppError> {
    Ok(state.blocking(|b| b.principals()).await?.into_iter().map(|p| (p.id, p.display_name)).collect())
}

fn page(staff: &StaffSession, title: &str, body: Markup) -> Response {
    console_page(Some(Console::of(staff)), title, body).into_response()
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Notice {
    #[serde(default)]
    done: String,
    #[serde(default)]
    problem: String,
}

fn notice(lang: Lang, n: &Notice) -> Markup {
    html! {
        @if !n.problem.is_empty() {
            p.error.no-print role="alert" #form-problem { (n.problem) }
        }
        @if !n.done.is_empty() {
            p.saved.no-print role="status" #done { (bi(lang, "記録しました。", "Recorded.")) " " (n.done) }
        }
    }
}

fn findings_table(staff: &StaffSession, findings: &[FindingView], names: &HashMap<String, String>) -> Markup {
    let lang = staff.lang;
    let manager = MANAGERS.contains(&staff.role);
    let person = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_string());
    html! {
        table #inspection-findings {
            caption { (bi(lang, "指摘と是正", "Findings and their closure")) }
            thead { tr {
                th scope="col" { (one(lang, "番号", "No.")) }
                th scope="col" { (one(lang, "報告", "Report")) }
                th scope="col" { (one(lang, "指摘", "Finding")) }
                th scope="col" { (one(lang, "担当", "Owner")) }
                th scope="col" { (one(lang, "期限", "Due")) }
                th scope="col" { (one(lang, "状態", "State")) }
            } }
            tbody {
                @for f in findings {
                    @let x = &f.stored.finding;
                    tr {
                        th scope="row" { (x.id) }
                        td { a href=(format!("/admin/oversight/inspections/{}", x.inspection)) { (x.inspection) } }
                        td.message { (x.text) }
                        td { (person(&x.owner)) }
                        td { (x.due.map_or_else(|| "—".to_string(), |d| d.to_string())) }
                        td {
                            @match (&f.stored.closure, f.days_left) {
                                (Some(c), _) => { (bi(lang, "是正済", "Closed")) " " (tokyo::minutes(c.at)) " — " (c.text) }
                                (None, Some(d)) if d < 0 => span.overdue { (bi(lang, &format!("{}日超過", -d), &format!("{} days overdue", -d))) }
                                (None, Some(d)) => { (bi(lang, &format!("残り{d}日"), &format!("{d} days left"))) }
                                (None, None) => { (bi(lang, "未了", "Open")) }
                            }
                            @if manager && f.stored.closure.is_none() {
                                form.no-print method="post" action=(format!("/admin/oversight/findings/{}/close", x.id)) {
                                    input type="hidden" name="csrf" value=(staff.csrf);
                                    label for=(format!("close-{}", x.id)) { (one(lang, "是正の内容", "What was done")) }
                                    input id=(format!("close-{}", x.id)) name="text" required maxlength="4000";
                                    button id=(format!("close-{}-button", x.id)) type="submit" { (one(lang, "是正済みにする", "Close")) }
                                }
                            }
                        }
                    }
                }
                @if findings.is_empty() { tr { td colspan="6" { (one(lang, "指摘はありません", "No findings")) } } }
            }
        }
    }
}

async fn list(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let by = person(&staff);
    let now = jiff::Timestamp::now();
    let (reports, findings) =
        with_app(&state, move |app| Ok((app.inspections(&by)?, app.findings(&by, now)?))).await??;
    let names = names(&state).await?;
    let lang = staff.lang;
    let manager = MANAGERS.contains(&staff.role);
    let title = one(lang, "自己点検", "Self-inspection");
    let body = html! {
        h1 { (bi(lang, "自己点検", "Self-inspection")) }
        (notice(lang, &n))
        table #inspections {
            caption { (bi(lang, "自己点検報告（監査ログから作成）", "Self-inspection reports (made from the audit ledger)")) }
            thead { tr {
                th scope="col" { (one(lang, "番号", "No.")) }
                th scope="col" { (one(lang, "対象月", "Period")) }
                th scope="col" { (one(lang, "版", "Revision")) }
                th scope="col" { (one(lang, "作成", "Made")) }
                th scope="col" { (one(lang, "利用・拒否", "Uses, denials")) }
            } }
            tbody {
                @for v in &reports {
                    tr {
                        th scope="row" { a href=(format!("/admin/oversight/inspections/{}", v.stored.id)) { (v.stored.id) } }
                        td { (v.stored.period) }
                        td { (v.stored.revision) }
                        td { (tokyo::minutes(v.stored.made_at)) }
                        td { (v.document.ledger.uses.iter().map(|u| u.allowed).sum::<u64>()) " / " (v.document.ledger.denials) }
                    }
                }
                @if reports.is_empty() { tr { td colspan="5" { (one(lang, "報告はありません", "No reports")) } } }
            }
        }
        @if manager {
            form.no-print #run-form method="post" action="/admin/oversight/inspections" {
                input type="hidden" name="csrf" value=(staff.csrf);
                label for="period" { (bi(lang, "対象月（YYYY-MM、終了した月）", "Period (YYYY-MM, a month that is over)")) }
                input #period name="period" required pattern="[0-9]{4}-[0-9]{2}" value=(Period::of(now).previous().to_string());
                button #run-inspection type="submit" { (one(lang, "自己点検を実施する", "Run the self-inspection")) }
            }
        }
        (findings_table(&staff, &findings, &names))
    };
    Ok(page(&staff, title, body))
}

async fn show(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let by = person(&staff);
    let now = jiff::Timestamp::now();
    let key = id.clone();
    let (v, findings) =
        with_app(&state, move |app| Ok((app.inspection(&by, &key)?, app.findings(&by, now)?))).await??;
    let findings: Vec<FindingView> = findings.into_iter().filter(|f| f.stored.finding.inspection == id).collect();
    let names = names(&state).await?;
    let lang = staff.lang;
    let body = html! {
        p.no-print { a href="/admin/oversight/inspections" { (bi(lang, "自己点検の一覧へ", "All self-inspection reports")) } }
        (notice(lang, &n))
        (report(&v, &names))
        section.no-print aria-labelledby="findings-heading" {
            h2 #findings-heading { (bi(lang, "指摘", "Findings")) }
            (findings_table(&staff, &findings, &names))
            @if MANAGERS.contains(&staff.role) {
                form #finding-form method="post" action=(format!("/admin/oversight/inspections/{id}/findings")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    p { label for="finding-text" { (bi(lang, "指摘の内容", "Finding")) }
                        textarea #finding-text name="text" rows="3" required maxlength="4000" {} }
                    p { label for="finding-owner" { (bi(lang, "担当者（職員 ID）", "Owner (staff id)")) }
                        input #finding-owner name="owner" required; }
                    p { label for="finding-due" { (bi(lang, "期限（任意）", "Due (optional)")) }
                        input #finding-due name="due" type="date"; }
                    p { button #add-finding type="submit" { (one(lang, "指摘を記録する", "Record the finding")) } }
                }
            }
            p.note { (bi(lang, "印刷すると報告書だけが印刷されます。", "Printing this page prints the report only.")) }
        }
    };
    Ok(page(&staff, &format!("{} {}", one(lang, "自己点検報告", "Self-inspection report"), v.stored.id), body))
}

/// Where a form goes back to: with `done` or the refusal's text (field named) in the query.
fn back(to: &str, outcome: Result<String, ActionError>) -> Result<Response, AppError> {
    let pair = match outcome {
        Ok(done) => ("done", done),
        Err(e @ (ActionError::Invalid { .. } | ActionError::Conflict(_) | ActionError::NotFound(_))) => {
            ("problem", e.to_string())
        }
        Err(e) => return Err(e.into()),
    };
    let query = serde_urlencoded::to_string([pair]).map_err(|e| AppError::internal(e.to_string()))?;
    Ok(Redirect::to(&format!("{to}?{query}")).into_response())
}

#[derive(Debug, serde::Deserialize)]
struct RunForm {
    csrf: String,
    period: String,
}

async fn run(
    State(state): State<AppState>,
    staff: StaffSession,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    // The role first: a refused caller learns nothing from the form's validation.
    staff.require(MANAGERS)?;
    let form: RunForm = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let by = person(&staff);
    let outcome = with_app(&state, move |app| {
        let period = Period::parse(form.period.trim())?;
        app.run_inspection(&by, period, jiff::Timestamp::now()).map(|v| v.stored.id)
    })
    .await?;
    back("/admin/oversight/inspections", outcome)
}

#[derive(Debug, serde::Deserialize)]
struct FindingForm {
    csrf: String,
    text: String,
    owner: String,
    #[serde(default)]
    due: String,
}

async fn add_finding(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    // The role first: a refused caller learns nothing from the form's validation.
    staff.require(MANAGERS)?;
    let form: FindingForm = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let by = person(&staff);
    let inspection = id.clone();
    let outcome = with_app(&state, move |app| {
        let owner = PrincipalId::parse_as("owner", form.owner.trim())?;
        let due = match form.due.trim() {
            "" => None,
            text => Some(text.parse().map_err(|e: String| ActionError::invalid("due", e))?),
        };
        let input = FindingInput { inspection, text: form.text, owner, due };
        app.add_finding(&by, &input, jiff::Timestamp::now()).map(|f| f.stored.finding.id)
    })
    .await?;
    back(&format!("/admin/oversight/inspections/{id}"), outcome)
}

#[derive(Debug, serde::Deserialize)]
struct CloseForm {
    csrf: String,
    text: String,
}

async fn close_finding(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    // The role first: a refused caller learns nothing from the form's validation.
    staff.require(MANAGERS)?;
    let form: CloseForm = super::form(&body)?;
    staff.check_csrf(&form.csrf)?;
    let by = person(&staff);
    let finding = id.clone();
    let outcome = with_app(&state, move |app| {
        app.close_finding(&by, &finding, &form.text, jiff::Timestamp::now()).map(|_| finding)
    })
    .await?;
    back("/admin/oversight/inspections", outcome)
}
