//! Data-subject requests in the console, `/admin/requests`: the register with each request's
//! status, deadline and days left (overdue in red); receiving a request (from an inquiry in
//! one click on its page, or entered from a call, a letter, the shop counter); a request's
//! page with its scope, verification, clock and history, and the forms that carry it on —
//! verify, pause and resume, extend, refuse on a ground of its type, record the notice. Each
//! form is one `tokutei_app::requests` function as the signed-in person; a refused form is
//! shown again with the field named. Managers and auditors read; every role but the auditor's
//! receives and verifies; managers decide.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use maud::{Markup, html};
use tokutei_app::requests::{
    Channel, Ground, INTAKE, NoticeMethod, OpenInput, RequestKind, RequestView, ResponseMethod, Status, Verification,
    VerificationInput,
};
use tokutei_app::{ActionError, RequestId, SubscriberId};
use tokutei_policy::{Date, Lang, tokyo};

use super::forms::{
    Fields, Problem, days_cell, invalid_at, page, page_or_refused, person, problem_box, refusal, with_app,
};
use super::session::StaffSession;
use super::{bi, one};
use crate::routes::{Access, MANAGERS, OVERSIGHT, Routes};
use crate::{AppError, AppState};

pub(crate) fn routes(r: Routes) -> Routes {
    const DR: &str = "/admin/requests/DR-1";
    r.add("GET", "/admin/requests", "/admin/requests", Access::Staff(OVERSIGHT), get(list))
        .add("GET", "/admin/requests/new", "/admin/requests/new", Access::Staff(INTAKE), get(new))
        .add("POST", "/admin/requests", "/admin/requests", Access::Staff(INTAKE), post(open))
        .add("GET", "/admin/requests/{id}", DR, Access::Staff(OVERSIGHT), get(show))
        .add(
            "GET",
            "/admin/requests/{id}/document",
            "/admin/requests/DR-1/document",
            Access::Staff(OVERSIGHT),
            get(document),
        )
        .add("POST", "/admin/requests/{id}/verify", "/admin/requests/DR-1/verify", Access::Staff(INTAKE), post(verify))
        .add("POST", "/admin/requests/{id}/pause", "/admin/requests/DR-1/pause", Access::Staff(MANAGERS), post(pause))
        .add(
            "POST",
            "/admin/requests/{id}/resume",
            "/admin/requests/DR-1/resume",
            Access::Staff(MANAGERS),
            post(resume),
        )
        .add(
            "POST",
            "/admin/requests/{id}/extend",
            "/admin/requests/DR-1/extend",
            Access::Staff(MANAGERS),
            post(extend),
        )
        .add(
            "POST",
            "/admin/requests/{id}/refuse",
            "/admin/requests/DR-1/refuse",
            Access::Staff(MANAGERS),
            post(refuse),
        )
        .add(
            "POST",
            "/admin/requests/{id}/fulfil",
            "/admin/requests/DR-1/fulfil",
            Access::Staff(MANAGERS),
            post(fulfil),
        )
        .add("POST", "/admin/requests/{id}/lift", "/admin/requests/DR-1/lift", Access::Staff(MANAGERS), post(lift))
        .add(
            "POST",
            "/admin/requests/{id}/notify",
            "/admin/requests/DR-1/notify",
            Access::Staff(MANAGERS),
            post(notify),
        )
}

fn status_cell(lang: Lang, v: &RequestView) -> Markup {
    html! {
        @match v.status {
            Status::Received => strong { (one(lang, v.status.ja(), v.status.en())) },
            _ => (one(lang, v.status.ja(), v.status.en())),
        }
    }
}

/// The request register.
async fn list(State(state): State<AppState>, staff: StaffSession) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let by = person(&staff);
    let all = with_app(&state, move |app| app.requests(&by, Timestamp::now())).await??;
    let lang = staff.lang;
    let open = all.iter().filter(|v| v.outcome.is_none()).count();
    let overdue = all.iter().filter(|v| v.outcome.is_none() && v.overdue).count();
    let body = html! {
        h1 { (bi(lang, "開示等の請求", "Data-subject requests")) }
        p.note { (bi(lang,
            "利用目的の通知、開示（第三者提供記録を含む）、訂正・追加・削除、利用停止・消去、第三者提供の停止の請求（個人情報保護法32条〜35条）を受付から通知まで管理します。本人確認の後に契約者と紐づけます。",
            "Requests for a notice of the purposes, disclosure (provision records included), correction, stop of use, erasure and stop of third-party provision (APPI arts. 32–35), from intake to notice. A subscriber is linked only after the requester's identity is verified.")) }
        p #requests-summary {
            (one(lang, "対応中 ", "Open: ")) (open)
            @if overdue > 0 { " · " strong.overdue { (one(lang, "期限超過 ", "Overdue: ")) (overdue) } }
        }
        p { a #new-request href="/admin/requests/new" { (one(lang, "請求を受け付ける", "Receive a request")) } }
        @if all.is_empty() {
            p #requests-empty { (bi(lang, "請求はありません。", "No requests.")) }
        } @else {
            div.table-scroll {
                table #requests {
                    thead { tr {
                        th scope="col" { (one(lang, "番号", "No.")) }
                        th scope="col" { (one(lang, "種類", "Type")) }
                        th scope="col" { (one(lang, "受付日", "Received")) }
                        th scope="col" { (one(lang, "期限", "Deadline")) }
                        th scope="col" { (one(lang, "残り", "Days left")) }
                        th scope="col" { (one(lang, "状態", "Status")) }
                    } }
                    tbody {
                        @for v in all.iter().rev() {
                            tr id=(format!("request-{}", v.id)) {
                                th scope="row" { a href=(format!("/admin/requests/{}", v.id)) { (v.id) } }
                                td { (one(lang, v.kind.ja(), v.kind.en())) }
                                td { (v.received_on) }
                                td { (v.deadline) }
                                td { @if v.outcome.is_some() { "—" } @else if v.status == Status::Paused { (one(lang, "停止中", "Paused")) } @else { (days_cell(lang, v.days_left)) } }
                                td { (status_cell(lang, v)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&staff, one(lang, "開示等の請求", "Data-subject requests"), body))
}

fn kind_options(lang: Lang, selected: &str) -> Markup {
    html! { @for k in RequestKind::ALL { option value=(k.code()) selected[k.code() == selected] { (one(lang, k.ja(), k.en())) } } }
}

fn verification_fields(lang: Lang, f: &Fields, problem: Option<&Problem>, required: bool) -> Markup {
    html! {
        p {
            label for="subscriber" { (bi(lang, "契約者番号", "Subscriber number")) }
            input #subscriber name="subscriber" type="text" maxlength="64" required[required] value=(f.get("subscriber")) aria-invalid=[invalid_at(problem, "subscriber")];
        }
        p {
            label for="verified_by" { (bi(lang, "本人確認の方法", "How the identity was verified")) }
            select #verified_by name="verified_by" {
                @if !required { option value="" { (one(lang, "（未確認）", "(not yet verified)")) } }
                @for m in Verification::ALL { option value=(m.code()) selected[f.get("verified_by") == m.code()] { (one(lang, m.ja(), m.en())) } }
            }
        }
        p {
            label for="evidence" { (bi(lang, "確認書類の保管番号（書類の番号は書かない）", "Where the evidence is filed (never a document's number)")) }
            input #evidence name="evidence" type="text" maxlength="200" value=(f.get("evidence")) aria-invalid=[invalid_at(problem, "evidence")];
        }
        p {
            label for="agent" { (bi(lang, "代理人の場合：権限を確認した書類の保管番号", "For an agent: where the evidence of authority is filed")) }
            input #agent name="agent" type="text" maxlength="200" value=(f.get("agent")) aria-invalid=[invalid_at(problem, "agent")];
        }
    }
}

fn new_body(staff: &StaffSession, purposes: &[(String, String)], f: &Fields, problem: Option<&Problem>) -> Markup {
    let lang = staff.lang;
    let channel = if f.get("channel").is_empty() { "letter" } else { f.get("channel") };
    html! {
        h1 { (bi(lang, "請求の受付", "Receive a request")) }
        (problem_box(lang, problem))
        form #request-form method="post" action="/admin/requests" {
            input type="hidden" name="csrf" value=(staff.csrf);
            p {
                label for="type" { (bi(lang, "請求の種類", "Type")) }
                select #type name="type" { (kind_options(lang, f.get("type"))) }
            }
            p {
                label for="channel" { (bi(lang, "受付経路", "Received by")) }
                select #channel name="channel" {
                    @for c in Channel::ALL { option value=(c.code()) selected[c.code() == channel] { (one(lang, c.ja(), c.en())) } }
                }
            }
            p {
                label for="inquiry" { (bi(lang, "お問い合わせの受付番号（フォームからの場合）", "Inquiry receipt (from the form)")) }
                input #inquiry name="inquiry" type="text" maxlength="40" value=(f.get("inquiry")) aria-invalid=[invalid_at(problem, "inquiry")];
            }
            fieldset {
                legend { (bi(lang, "対象の利用目的（指定がなければすべて）", "Purposes concerned (all when none is ticked)")) }
                @for (id, text) in purposes {
                    label.check { input type="checkbox" name="purpose" value=(id) checked[f.all("purpose").contains(id)]; " " (text) }
                }
            }
            p {
                label for="method" { (bi(lang, "開示の方法（開示の場合）", "How a disclosure is given")) }
                select #method name="method" {
                    @for m in ResponseMethod::ALL { option value=(m.code()) selected[f.get("method") == m.code()] { (one(lang, m.ja(), m.en())) } }
                }
            }
            (verification_fields(lang, f, problem, false))
            p { button #request-submit type="submit" { (one(lang, "受け付ける", "Receive")) } }
        }
    }
}

async fn purposes(state: &AppState, lang: Lang) -> Result<Vec<(String, String)>, AppError> {
    Ok(state
        .active_policy()
        .await?
        .map(|(_, p)| {
            p.purposes.list.iter().map(|x| (x.id.clone(), x.text.get(lang).unwrap_or(&x.text.ja).to_string())).collect()
        })
        .unwrap_or_default())
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Prefill {
    #[serde(default)]
    inquiry: String,
    #[serde(default, rename = "type")]
    kind: String,
}

async fn new(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(q): Query<Prefill>,
) -> Result<Response, AppError> {
    staff.require(INTAKE)?;
    let mut f = Fields::default();
    if !q.inquiry.is_empty() {
        f.0.push(("inquiry".into(), q.inquiry));
        f.0.push(("channel".into(), "inquiry".into()));
    }
    f.0.push(("type".into(), q.kind));
    let list = purposes(&state, staff.lang).await?;
    Ok(page(&staff, one(staff.lang, "請求の受付", "Receive a request"), new_body(&staff, &list, &f, None)))
}

fn verification_of(f: &Fields) -> Result<Option<VerificationInput>, Problem> {
    let method = f.get("verified_by");
    let subscriber = f.get("subscriber").trim();
    match (method.is_empty(), subscriber.is_empty()) {
        (true, true) => Ok(None),
        (true, false) => {
            Err(Problem::invalid("verified_by", "say how the identity was verified before a subscriber is linked"))
        }
        (false, true) => Err(Problem::invalid("subscriber", "name the subscriber whose identity was verified")),
        (false, false) => Ok(Some(VerificationInput {
            subscriber: SubscriberId::parse(subscriber.to_string()).map_err(problem_of)?,
            method: Verification::parse("verified_by", method).map_err(problem_of)?,
            evidence: f.opt("evidence"),
            agent: f.opt("agent"),
        })),
    }
}

/// The application's answer, its value dropped.
fn done<T>(result: tokutei_app::ActionResult<T>) -> tokutei_app::ActionResult<()> {
    result.map(|_| ())
}

fn problem_of(e: ActionError) -> Problem {
    match e {
        ActionError::Invalid { field, message } => Problem::invalid(field, message),
        other => Problem::invalid("form", other.to_string()),
    }
}

fn open_input(f: &Fields) -> Result<OpenInput, Problem> {
    let kind = RequestKind::parse("type", f.get("type")).map_err(problem_of)?;
    Ok(OpenInput {
        kind,
        channel: Channel::parse("channel", f.get("channel")).map_err(problem_of)?,
        inquiry: f.opt("inquiry").map(|s| s.trim().to_string()),
        received_at: None,
        purposes: f.all("purpose"),
        categories: Vec::new(),
        method: if kind.has_method() {
            Some(ResponseMethod::parse("method", f.get("method")).map_err(problem_of)?)
        } else {
            None
        },
        verification: verification_of(f)?,
    })
}

async fn open(
    State(state): State<AppState>,
    staff: StaffSession,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(INTAKE)?;
    let f = Fields::parse(&raw)?;
    staff.check_csrf(f.get("csrf"))?;
    let outcome = match open_input(&f) {
        Err(p) => Err(p),
        Ok(input) => {
            let by = person(&staff);
            refusal(with_app(&state, move |app| app.open_request(&by, &input, Timestamp::now())).await?)?
        }
    };
    let lang = staff.lang;
    match outcome {
        Ok(v) if OVERSIGHT.contains(&staff.role) => {
            Ok(Redirect::to(&format!("/admin/requests/{}?done=received", v.id)).into_response())
        }
        // A handler receives requests but does not read the register: the number to give.
        Ok(v) => Ok(page(
            &staff,
            one(lang, "請求の受付", "Request received"),
            html! {
                h1 { (bi(lang, "請求を受け付けました", "The request is received")) }
                p #received { (one(lang, "受付番号 ", "Number ")) strong { (v.id) } " — " (one(lang, v.kind.ja(), v.kind.en())) }
                p { (one(lang, "期限 ", "Deadline ")) (v.deadline) }
            },
        )),
        Err(problem) => {
            let list = purposes(&state, lang).await?;
            Ok(page_or_refused(
                &staff,
                one(lang, "請求の受付", "Receive a request"),
                Some(&problem),
                new_body(&staff, &list, &f, Some(&problem)),
            ))
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Done {
    #[serde(default)]
    done: String,
}

fn request_id(text: &str) -> Result<RequestId, AppError> {
    RequestId::parse(text.to_string()).map_err(|_| AppError::NotFound)
}

/// What a request's page names by the policy's names: its purposes, its stops in force, the
/// categories a correction may name.
struct Named<'a> {
    purposes: &'a [String],
    stops: &'a [(&'static str, String)],
    categories: &'a [(String, String)],
}

fn detail(
    staff: &StaffSession,
    v: &RequestView,
    names: &Named<'_>,
    f: &Fields,
    problem: Option<&Problem>,
    done: &str,
) -> Markup {
    let lang = staff.lang;
    let manager = MANAGERS.contains(&staff.role);
    let intake = INTAKE.contains(&staff.role);
    let action = |what: &str| format!("/admin/requests/{}/{what}", v.id);
    html! {
        p { a href="/admin/requests" { (bi(lang, "請求の一覧へ", "All requests")) } }
        h1 { (bi(lang, "開示等の請求", "Data-subject request")) " " code { (v.id) } }
        @if !done.is_empty() { p.saved role="status" #done { (bi(lang, "記録しました。", "Recorded.")) } }
        (problem_box(lang, problem))
        dl #request {
            dt { (one(lang, "種類", "Type")) } dd #request-type { (one(lang, v.kind.ja(), v.kind.en())) "（" (v.kind.article()) "）" }
            dt { (one(lang, "状態", "Status")) } dd #request-status { (status_cell(lang, v)) }
            dt { (one(lang, "受付", "Received")) } dd { (tokyo::minutes(v.received_at)) " · " (one(lang, v.channel.ja(), v.channel.en())) @if let Some(r) = &v.inquiry { " · " code { (r) } } }
            dt { (one(lang, "期限", "Deadline")) }
            dd #request-deadline {
                (v.deadline)
                @if v.outcome.is_none() && v.status != Status::Paused { " (" (days_cell(lang, v.days_left)) ")" }
                @if v.status == Status::Paused { " " strong { (one(lang, "（停止中）", "(paused)")) } }
            }
            dt { (one(lang, "対象の利用目的", "Purposes")) } dd { @if v.purposes.is_empty() { (one(lang, "すべて", "All")) } @else { (names.purposes.join("、")) } }
            @if let Some(m) = v.method { dt { (one(lang, "開示の方法", "Form of the answer")) } dd { (one(lang, m.ja(), m.en())) } }
            @if let Some(fee) = v.fee { dt { (one(lang, "手数料", "Fee")) } dd { (fee) (one(lang, "円", " yen")) } }
            dt { (one(lang, "本人確認", "Identity")) }
            dd #request-verification {
                @match &v.verification {
                    Some(ver) => { (one(lang, ver.method.ja(), ver.method.en())) " · " code { (ver.subscriber) } @if ver.agent.is_some() { " · " (one(lang, "代理人", "agent")) } }
                    None => strong { (one(lang, "未確認", "Not verified")) },
                }
            }
            @for p in &v.pauses {
                dt { (one(lang, "停止", "Paused")) } dd { (p.from) " 〜 " @match p.to { Some(d) => (d), None => (one(lang, "（停止中）", "(now)")) } " · " (p.reason) }
            }
            @for x in &v.extensions {
                dt { (one(lang, "延長", "Extended")) } dd { (x.days) (one(lang, "日 · ", " days · ")) (x.reason) }
            }
            @if let Some(o) = &v.outcome {
                dt { (one(lang, "結果", "Outcome")) }
                dd #request-outcome { (one(lang, o.result.ja(), o.result.en())) @if let Some(g) = o.ground { " · " (one(lang, g.ja(), g.en())) } @if let Some(n) = &o.note { br; span.message { (n) } } }
            }
            @if let Some((digest, by)) = v.outcome.as_ref().and_then(|o| o.document_digest.as_ref().map(|d| (d, &o.by))) {
                dt { (one(lang, "回答の文書", "Document")) }
                dd #request-document {
                    @if v.kind != RequestKind::Disclosure || (by == &staff.principal.id && v.downloaded_at.is_none()) {
                        a href=(format!("/admin/requests/{}/document", v.id)) download=(format!("{}.json", v.id)) { (one(lang, "ダウンロード（JSON）", "Download (JSON)")) }
                        " · "
                        a href=(format!("/admin/requests/{}/document?format=html", v.id)) download=(format!("{}.html", v.id)) { (one(lang, "印刷用（HTML）", "Printable (HTML)")) }
                        @if v.kind == RequestKind::Disclosure { " " small { (one(lang, "（どちらか1回のみ）", "(one of them, once)")) } }
                        " "
                    }
                    @if let Some(at) = v.downloaded_at { (one(lang, "ダウンロード済み ", "Downloaded ")) (tokyo::minutes(at)) " " }
                    span.digest { (digest) }
                }
            }
            @if let Some(n) = &v.notice {
                dt { (one(lang, "通知", "Notice")) } dd #request-notice { (n.sent_on) " · " (one(lang, n.method.ja(), n.method.en())) }
            }
        }
        @if intake && v.verification.is_none() && v.outcome.is_none() {
            h2 { (bi(lang, "本人確認", "Verify the identity")) }
            form #verify-form method="post" action=(action("verify")) {
                input type="hidden" name="csrf" value=(staff.csrf);
                (verification_fields(lang, f, problem, true))
                p { button #verify-submit type="submit" { (one(lang, "確認を記録する", "Record the verification")) } }
            }
        }
        @if manager && v.outcome.is_none() {
            @if v.status == Status::Paused {
                form #resume-form method="post" action=(action("resume")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    p { button #resume-submit type="submit" { (one(lang, "期限の進行を再開する", "Run the clock again")) } }
                }
            } @else {
                h2 { (bi(lang, "本人の回答待ち（期限の停止）", "Waiting for the person (pause the clock)")) }
                form #pause-form method="post" action=(action("pause")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    p { label for="pause-reason" { (one(lang, "理由", "Reason")) } input #pause-reason name="reason" type="text" maxlength="4000" required; }
                    p { button #pause-submit type="submit" { (one(lang, "停止する", "Pause")) } }
                }
            }
            h2 { (bi(lang, "期限の延長", "Extend the deadline")) }
            form #extend-form method="post" action=(action("extend")) {
                input type="hidden" name="csrf" value=(staff.csrf);
                p { label for="days" { (one(lang, "延長する日数", "Days")) } input #days name="days" type="number" min="1" max="60" required aria-invalid=[invalid_at(problem, "days")]; }
                p { label for="extend-reason" { (one(lang, "理由", "Reason")) } input #extend-reason name="reason" type="text" maxlength="4000" required; }
                p { button #extend-submit type="submit" { (one(lang, "延長する", "Extend")) } }
            }
            @if v.verification.is_some() && v.kind == RequestKind::Correction {
                h2 { (bi(lang, "訂正の実施", "Correct the information")) }
                p.note { (bi(lang, "新しい値をゲートウェイ経由で書き込みます（旧い値は残ります）。訂正前後の値は請求の記録に封印して保存します。", "Writes the new value through the gateway (the old one is kept). The values before and after are sealed with the request.")) }
                form #correct-form method="post" action=(action("fulfil")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    p {
                        label for="category" { (one(lang, "情報の種類", "Category")) }
                        select #category name="category" aria-invalid=[invalid_at(problem, "values")] {
                            @for (id, name) in names.categories { option value=(id) { (name) } }
                        }
                    }
                    p { label for="value" { (one(lang, "新しい値", "New value")) } textarea #value name="value" rows="2" maxlength="4000" required {} }
                    p { label for="correct-note" { (one(lang, "本人への説明", "What was done, as told to the person")) } textarea #correct-note name="note" rows="2" maxlength="4000" {} }
                    p { button #correct-submit type="submit" { (one(lang, "訂正する", "Correct")) } }
                }
            }
            @if v.verification.is_some() && v.kind != RequestKind::Correction {
                h2 { (bi(lang, "請求への対応", "Fulfil the request")) }
                p.note { (match v.kind {
                    RequestKind::Erasure => bi(lang, "契約者の情報を消去します（鍵を破棄し、復元できません）。法令により保存する記録は残ります。", "Erases the subscriber's information (its key is destroyed; it cannot be restored). Records the law requires are kept."),
                    RequestKind::PurposeNotice | RequestKind::ProvisionRecords => bi(lang, "回答の文書（JSON）を作成し、請求の記録に保存します。", "Makes the answer's document (JSON) and keeps it with the request."),
                    RequestKind::Disclosure => bi(lang, "あなたの権限で、開示用の利用目的により契約者の情報をゲートウェイ経由で読み出し（監査記録に残ります）、電磁的記録を作成します。記録はあなたが1回だけダウンロードできます。", "Reads the subscriber's information through the gateway under the purpose for requests, as you (audited), and makes the electronic record. You can download it once."),
                    _ => bi(lang, "ゲートウェイが次の利用から停止します。", "The gateway stops the uses from the next request on."),
                }) }
                form #fulfil-form method="post" action=(action("fulfil")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    p { label for="fulfil-note" { (one(lang, "本人への説明", "What was done, as told to the person")) } textarea #fulfil-note name="note" rows="3" maxlength="4000" {} }
                    p { button #fulfil-submit type="submit" { (one(lang, "対応する", "Fulfil")) } }
                }
            }
            h2 { (bi(lang, "不開示・不対応の決定", "Refuse")) }
            form #refuse-form method="post" action=(action("refuse")) {
                input type="hidden" name="csrf" value=(staff.csrf);
                p {
                    label for="ground" { (one(lang, "根拠", "Ground")) }
                    select #ground name="ground" aria-invalid=[invalid_at(problem, "ground")] {
                        @for g in v.kind.grounds() { option value=(g.code()) { (one(lang, g.ja(), g.en())) } }
                    }
                }
                p { label for="note" { (one(lang, "本人への説明（36条）", "The reasons as explained to the person (art. 36)")) } textarea #note name="note" rows="3" maxlength="4000" {} }
                p { button #refuse-submit type="submit" { (one(lang, "決定する", "Decide")) } }
            }
        }
        @if manager && !names.stops.is_empty() {
            h2 { (bi(lang, "停止中の利用", "Stops in force")) }
            ul #stops { @for (kind, purpose) in names.stops { li { (kind) " · " (purpose) } } }
            form #lift-form method="post" action=(action("lift")) {
                input type="hidden" name="csrf" value=(staff.csrf);
                p { label for="lift-reason" { (one(lang, "停止を解除する理由", "Why the stop is lifted")) } input #lift-reason name="reason" type="text" maxlength="4000" required; }
                p { button #lift-submit type="submit" { (one(lang, "停止を解除する", "Lift the stop")) } }
            }
        }
        @if manager && v.outcome.is_some() && v.notice.is_none() {
            h2 { (bi(lang, "結果の通知", "Record the notice")) }
            form #notify-form method="post" action=(action("notify")) {
                input type="hidden" name="csrf" value=(staff.csrf);
                p {
                    label for="notice-method" { (one(lang, "通知の方法", "Method")) }
                    select #notice-method name="method" { @for m in NoticeMethod::ALL { option value=(m.code()) { (one(lang, m.ja(), m.en())) } } }
                }
                p { label for="sent_on" { (one(lang, "通知日", "Sent on")) } input #sent_on name="sent_on" type="date" required value=(tokyo::today().to_string()) aria-invalid=[invalid_at(problem, "sent_on")]; }
                p { button #notify-submit type="submit" { (one(lang, "記録する", "Record")) } }
            }
        }
    }
}

async fn shown(
    state: &AppState,
    staff: &StaffSession,
    id: &RequestId,
    f: &Fields,
    problem: Option<&Problem>,
    done: &str,
) -> Result<Response, AppError> {
    let by = person(staff);
    let key = id.to_string();
    let (v, stops) = with_app(state, move |app| {
        let v = app.request(&by, &key, Timestamp::now())?;
        let stops = match v.subscriber() {
            Some(s) => app.current_stops(s)?.into_iter().filter(|r| r.request == v.id).collect(),
            None => Vec::new(),
        };
        Ok((v, stops))
    })
    .await??;
    let lang = staff.lang;
    let policy = state.active_policy().await?.map(|(_, p)| p);
    // The policy's own names for what the request names by id.
    let purpose = |id: &str| -> String {
        match policy.as_ref().and_then(|p| p.purpose(id)) {
            Some(p) => p.text.get(lang).unwrap_or(&p.text.ja).to_string(),
            None if id == "*" => one(lang, "すべての利用目的", "every purpose").to_string(),
            None => id.to_string(),
        }
    };
    let purposes: Vec<String> = v.purposes.iter().map(|p| purpose(p)).collect();
    let stops: Vec<(&'static str, String)> = stops
        .into_iter()
        .map(|r| {
            let kind = match r.kind {
                tokutei_store::requests::StopKind::Use => one(lang, "利用停止", "Stop of use"),
                tokutei_store::requests::StopKind::Provision => one(lang, "第三者提供の停止", "Stop of provision"),
            };
            (kind, purpose(&r.purpose))
        })
        .collect();
    let title = format!("{} {}", one(lang, "開示等の請求", "Data-subject request"), v.id);
    let categories: Vec<(String, String)> = policy
        .as_ref()
        .map(|p| {
            p.categories.iter().map(|c| (c.id.clone(), c.name.get(lang).unwrap_or(&c.name.ja).to_string())).collect()
        })
        .unwrap_or_default();
    let names = Named { purposes: &purposes, stops: &stops, categories: &categories };
    Ok(page_or_refused(staff, &title, problem, detail(staff, &v, &names, f, problem, done)))
}

async fn show(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    Query(d): Query<Done>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let id = request_id(&id)?;
    shown(&state, &staff, &id, &Fields::default(), None, &d.done).await
}

/// What a step's form asks of the application: a problem with the form itself, or the
/// application's answer.
type Asked = Result<tokutei_app::ActionResult<()>, Problem>;

/// A step's form: the role checked before the form is read, the CSRF token, the step, then
/// the request's page (with the problem on the form when refused).
async fn step<F>(
    state: AppState,
    staff: StaffSession,
    id: String,
    raw: &[u8],
    roles: &[tokutei_policy::Role],
    work: F,
) -> Result<Response, AppError>
where
    F: FnOnce(&tokutei_app::App, &tokutei_app::Acting, &RequestId, &Fields) -> Asked + Send + 'static,
{
    staff.require(roles)?;
    let f = Fields::parse(raw)?;
    staff.check_csrf(f.get("csrf"))?;
    let id = request_id(&id)?;
    let by = person(&staff);
    let (key, fields) = (id.clone(), Fields(f.0.clone()));
    let asked: Asked = with_app(&state, move |app| Ok(work(app, &by, &key, &fields))).await??;
    let problem = match asked {
        Err(p) => Some(p),
        Ok(answer) => refusal(answer)?.err(),
    };
    let lang = staff.lang;
    match problem {
        None if OVERSIGHT.contains(&staff.role) => {
            Ok(Redirect::to(&format!("/admin/requests/{id}?done=recorded")).into_response())
        }
        None => Ok(page(
            &staff,
            one(lang, "記録しました", "Recorded"),
            html! { h1 { (bi(lang, "記録しました", "Recorded")) } p #received { (id) } },
        )),
        // A handler does not read the request's page: the problem alone.
        Some(p) if !OVERSIGHT.contains(&staff.role) => Ok(page_or_refused(
            &staff,
            one(lang, "記録できませんでした", "Not recorded"),
            Some(&p),
            html! { h1 { (bi(lang, "記録できませんでした", "Not recorded")) } (problem_box(lang, Some(&p))) },
        )),
        Some(p) => shown(&state, &staff, &id, &f, Some(&p), "").await,
    }
}

async fn verify(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    step(state, staff, id, &raw, INTAKE, |app, by, id, f| {
        let input = verification_of(f)?
            .ok_or_else(|| Problem::invalid("subscriber", "name the subscriber and how the identity was verified"))?;
        Ok(done(app.verify_request(by, id, &input, Timestamp::now())))
    })
    .await
}

async fn pause(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    step(state, staff, id, &raw, MANAGERS, |app, by, id, f| {
        Ok(done(app.pause_request(by, id, f.get("reason"), Timestamp::now())))
    })
    .await
}

async fn resume(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    step(state, staff, id, &raw, MANAGERS, |app, by, id, _| Ok(done(app.resume_request(by, id, Timestamp::now()))))
        .await
}

async fn extend(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    step(state, staff, id, &raw, MANAGERS, |app, by, id, f| {
        let days: u32 = f
            .get("days")
            .trim()
            .parse()
            .map_err(|_| Problem::invalid("days", format!("`{}` is not a number of days", f.get("days"))))?;
        Ok(done(app.extend_request(by, id, days, f.get("reason"), Timestamp::now())))
    })
    .await
}

async fn refuse(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    step(state, staff, id, &raw, MANAGERS, |app, by, id, f| {
        let ground = Ground::parse("ground", f.get("ground")).map_err(problem_of)?;
        Ok(done(app.refuse_request(by, id, ground, f.get("note"), Timestamp::now())))
    })
    .await
}

async fn notify(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    step(state, staff, id, &raw, MANAGERS, |app, by, id, f| {
        let method = NoticeMethod::parse("method", f.get("method")).map_err(problem_of)?;
        let sent_on: Date =
            f.get("sent_on").trim().parse().map_err(|_| {
                Problem::invalid("sent_on", format!("`{}` is not a date (YYYY-MM-DD)", f.get("sent_on")))
            })?;
        Ok(done(app.notify_request(by, id, method, sent_on, Timestamp::now())))
    })
    .await
}

async fn fulfil(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    let terminal = Some(staff.terminal);
    step(state, staff, id, &raw, MANAGERS, move |app, by, id, f| {
        let now = Timestamp::now();
        Ok(done(match f.opt("category") {
            None => app.fulfil_request(by, id, f.get("note"), terminal, now),
            Some(category) => {
                let category = tokutei_app::CategoryId::parse_as("values", category).map_err(problem_of)?;
                let value = zeroize::Zeroizing::new(f.get("value").to_string());
                let input = tokutei_app::requests::CorrectionInput { category, value };
                app.fulfil_correction(by, id, &[input], f.get("note"), terminal, now)
            }
        }))
    })
    .await
}

async fn lift(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    raw: axum::body::Bytes,
) -> Result<Response, AppError> {
    step(state, staff, id, &raw, MANAGERS, |app, by, id, f| {
        Ok(done(app.lift_stop(by, id, f.get("reason"), Timestamp::now())))
    })
    .await
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Format {
    #[serde(default)]
    format: String,
}

/// The document a request was answered with, as a JSON download or the printable page
/// (reading it is audited).
async fn document(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    Query(format): Query<Format>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let id = request_id(&id)?;
    let by = person(&staff);
    let key = id.to_string();
    let doc = with_app(&state, move |app| app.request_document(&by, &key, Timestamp::now())).await??;
    let (body, kind, ext) = if format.format == "html" {
        {
            let policy = state.active_policy().await?.map(|(_, p)| p);
            (crate::standalone_request_document(&doc, policy.as_deref()), "text/html; charset=utf-8", "html")
        }
    } else {
        // INVARIANT: a JSON value serialises.
        (
            serde_json::to_string_pretty(&doc).expect("document serialises") + "\n",
            "application/json; charset=utf-8",
            "json",
        )
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, kind.to_string()),
            (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{id}.{ext}\"")),
        ],
        body,
    )
        .into_response())
}
