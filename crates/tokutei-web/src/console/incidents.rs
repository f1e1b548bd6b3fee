//! The leak-incident register in the console (`/admin/incidents`): the list, a new incident,
//! one incident (its fields, triage, reports owed with their clocks, impact, notices, public
//! entry and history), the edit form, each report as it would be filed (a print view in
//! Japanese, and its submission), the impact from the ledger (counts and ledger indexes, an
//! inclusion proof for each), the notices (letters with contacts read through the gateway,
//! the sent log, the alternative measure) and the public entry (publish, correct, withdraw).
//!
//! Managers (chief manager, responsible persons) change; auditors read. Every POST calls one
//! application function of `tokutei_app::incidents` with the signed-in person as the actor and
//! shows its outcome; a form the application refuses is shown again with the field named, and
//! nothing changed. Subscriber ids appear on no page but the letters to print (served, as
//! every console page, with `Cache-Control: no-store`), and never in a URL.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use maud::{Markup, html};
use serde::Deserialize;
use tokutei_app::incidents::rules::{Triage, Trigger};
use tokutei_app::incidents::{
    ImpactOutcome, ImpactQuery, IncidentPatch, IncidentView, NewIncident, NoticeMethod, NoticeRead, ReportDocument,
    SubmitReport, TriageInput,
};
use tokutei_app::{ActionResult, CategoryId, IncidentId, PrincipalId, PurposeId, ServiceId};
use tokutei_app::{SubscriberId, incidents::Letter};
use tokutei_policy::{Channel, Lang, Policy, Text, tokyo};
use tokutei_store::incident::{Flags, IncidentStatus, NoticeSent, Occurrence, Persons, ProcessorLink, Regime, Report};

use super::forms::{
    Fields, Problem, days_cell, input_time, invalid_at, page, page_or_refused, person, problem_box, refused, time,
    with_app,
};
use super::session::StaffSession;
use super::{bi, one};
use crate::routes::{Access, MANAGERS, OVERSIGHT, Routes};
use crate::{AppError, AppState};

/// The most incidents the list shows.
const LIST_LIMIT: usize = 200;
/// The most impact rows a page shows (the counts cover every one).
const IMPACT_ROWS: usize = 200;

pub(crate) fn routes(r: Routes) -> Routes {
    const ID: &str = "/admin/incidents/INC-20260101-ABCD";
    let staff = Access::Staff;
    r.add("GET", "/admin/incidents", "/admin/incidents", staff(OVERSIGHT), get(list))
        .add("POST", "/admin/incidents", "/admin/incidents", staff(MANAGERS), post(open))
        .add("GET", "/admin/incidents/new", "/admin/incidents/new", staff(MANAGERS), get(new_page))
        .add("GET", "/admin/incidents/{id}", ID, staff(OVERSIGHT), get(show))
        .add("GET", "/admin/incidents/{id}/edit", "/admin/incidents/INC-20260101-ABCD/edit", staff(MANAGERS), get(edit))
        .add(
            "POST",
            "/admin/incidents/{id}/edit",
            "/admin/incidents/INC-20260101-ABCD/edit",
            staff(MANAGERS),
            post(update),
        )
        .add(
            "POST",
            "/admin/incidents/{id}/triage",
            "/admin/incidents/INC-20260101-ABCD/triage",
            staff(MANAGERS),
            post(triage),
        )
        .add(
            "GET",
            "/admin/incidents/{id}/reports/{regime}/{report}",
            "/admin/incidents/INC-20260101-ABCD/reports/tokutei/first",
            staff(OVERSIGHT),
            get(report_page),
        )
        .add(
            "POST",
            "/admin/incidents/{id}/reports/{regime}/{report}",
            "/admin/incidents/INC-20260101-ABCD/reports/tokutei/first",
            staff(MANAGERS),
            post(submit),
        )
        .add(
            "GET",
            "/admin/incidents/{id}/impact",
            "/admin/incidents/INC-20260101-ABCD/impact",
            staff(OVERSIGHT),
            get(impact_page),
        )
        .add(
            "POST",
            "/admin/incidents/{id}/impact",
            "/admin/incidents/INC-20260101-ABCD/impact",
            staff(MANAGERS),
            post(impact),
        )
        .add(
            "GET",
            "/admin/incidents/{id}/proof/{index}",
            "/admin/incidents/INC-20260101-ABCD/proof/0",
            staff(OVERSIGHT),
            get(proof),
        )
        .add(
            "GET",
            "/admin/incidents/{id}/notices",
            "/admin/incidents/INC-20260101-ABCD/notices",
            staff(OVERSIGHT),
            get(notices_page),
        )
        .add(
            "POST",
            "/admin/incidents/{id}/notices",
            "/admin/incidents/INC-20260101-ABCD/notices",
            staff(MANAGERS),
            post(notified),
        )
        .add(
            "POST",
            "/admin/incidents/{id}/letters",
            "/admin/incidents/INC-20260101-ABCD/letters",
            staff(MANAGERS),
            post(letters),
        )
        .add(
            "POST",
            "/admin/incidents/{id}/alternative",
            "/admin/incidents/INC-20260101-ABCD/alternative",
            staff(MANAGERS),
            post(alternative),
        )
        .add(
            "GET",
            "/admin/incidents/{id}/publish",
            "/admin/incidents/INC-20260101-ABCD/publish",
            staff(OVERSIGHT),
            get(publish_page),
        )
        .add(
            "POST",
            "/admin/incidents/{id}/publish",
            "/admin/incidents/INC-20260101-ABCD/publish",
            staff(MANAGERS),
            post(publish),
        )
        .add(
            "POST",
            "/admin/incidents/{id}/correct",
            "/admin/incidents/INC-20260101-ABCD/correct",
            staff(MANAGERS),
            post(correct),
        )
        .add(
            "POST",
            "/admin/incidents/{id}/withdraw",
            "/admin/incidents/INC-20260101-ABCD/withdraw",
            staff(MANAGERS),
            post(withdraw),
        )
}

// ---------------------------------------------------------------------------------------------
// Forms, problems, the application

/// An incident id from the path: one the register cannot hold is not found.
fn incident_id(text: &str) -> Result<IncidentId, AppError> {
    IncidentId::parse(text).map_err(|_| AppError::NotFound)
}

fn persons_of(fields: &Fields) -> Result<Option<Persons>, Problem> {
    match fields.opt("persons") {
        None => Ok(None),
        Some(text) => text
            .trim()
            .parse::<u64>()
            .map(|count| Some(Persons { count, estimated: fields.on("estimated") }))
            .map_err(|_| Problem::invalid("persons", format!("`{}` is not a number of persons", text.trim()))),
    }
}

fn flags_of(fields: &Fields) -> Flags {
    Flags {
        sensitive: fields.on("sensitive"),
        financial: fields.on("financial"),
        malicious: fields.on("malicious"),
        encrypted: fields.on("encrypted"),
    }
}

fn regimes_of(fields: &Fields) -> Result<Vec<Regime>, Problem> {
    fields
        .all("regime")
        .iter()
        .map(|r| Regime::from_code(r).ok_or_else(|| Problem::invalid("regime", format!("`{r}` is not a regime"))))
        .collect()
}

fn ids_of<T>(
    fields: &Fields,
    name: &'static str,
    parse: fn(&'static str, String) -> ActionResult<T>,
) -> Result<Vec<T>, Problem> {
    fields
        .all(name)
        .into_iter()
        .map(|v| parse(name, v).map_err(|e| Problem::of(e).unwrap_or_else(|_| Problem::invalid(name, "is not an id"))))
        .collect()
}

/// The page after a change: the incident (or one of its pages) with what was done.
fn done(id: &IncidentId, page: &str, what: &str) -> Response {
    Redirect::to(&format!("/admin/incidents/{id}{page}?done={what}")).into_response()
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: String,
}

fn done_message(lang: Lang, code: &str) -> Option<Markup> {
    let (ja, en) = match code {
        "opened" => ("事案を登録しました。", "The incident is registered."),
        "updated" => ("事案を更新しました（新しい版）。", "The incident is updated (a new version)."),
        "triaged" => ("判定しました。報告義務を計算し直しました。", "Triaged; the reports owed were computed again."),
        "submitted" => ("報告の提出を記録しました。", "The submission is recorded."),
        "impact" => ("影響範囲を計算しました。", "The impact is computed."),
        "notices" => ("通知を記録しました。", "The notices are recorded."),
        "alternative" => ("代替措置を記録しました。", "The alternative measure is recorded."),
        "published" => ("公表しました。", "Published."),
        "corrected" => (
            "訂正しました。訂正前の文は公開の履歴に残ります。",
            "Corrected; the earlier text stays in the public history.",
        ),
        "withdrawn" => ("公表を取り下げました。", "The public entry is withdrawn."),
        _ => return None,
    };
    Some(html! { p.saved.no-print role="status" #done { (bi(lang, ja, en)) } })
}

// ---------------------------------------------------------------------------------------------
// Names and labels

/// The policy in force and the staff registry, for names.
struct Names {
    policy: Option<std::sync::Arc<Policy>>,
    staff: HashMap<String, String>,
    /// The deployment's own report items: id, Japanese, English.
    custom: Vec<(String, String, String)>,
    lang: Lang,
}

impl Names {
    async fn load(state: &AppState, lang: Lang) -> Result<Names, AppError> {
        let policy = state.active_policy().await?.map(|(_, p)| p);
        let staff = state.blocking(|b| b.principals()).await?.into_iter().map(|p| (p.id, p.display_name)).collect();
        let custom = state
            .access_service()?
            .incident_rules()
            .custom_items
            .iter()
            .map(|c| (c.id.clone(), c.ja.clone(), c.en.clone()))
            .collect();
        Ok(Names { policy, staff, custom, lang })
    }

    fn text(&self, text: &Text, id: &str) -> String {
        text.get(self.lang).or_else(|| text.get(Lang::Ja)).unwrap_or(id).to_string()
    }

    fn category(&self, id: &str) -> String {
        match self.policy.as_ref().and_then(|p| p.category(id)) {
            Some(c) => self.text(&c.name, id),
            None => id.to_string(),
        }
    }

    fn service(&self, id: &str) -> String {
        match self.policy.as_ref().and_then(|p| p.service(id)) {
            Some(s) => self.text(&s.name, id),
            None => id.to_string(),
        }
    }

    fn person(&self, id: &str) -> String {
        self.staff.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
}

fn regime_label(lang: Lang, regime: Regime) -> Markup {
    bi(lang, regime.ja(), regime.en())
}

fn regime_short(lang: Lang, regime: Regime) -> &'static str {
    match regime {
        Regime::Secrecy => one(lang, "通信の秘密", "Secrecy of communications"),
        Regime::Tokutei => one(lang, "特定利用者情報", "Specified user information"),
        Regime::Appi => one(lang, "個人情報保護法", "APPI"),
    }
}

fn report_label(lang: Lang, report: Report) -> &'static str {
    if lang == Lang::Ja { report.ja() } else { report.en() }
}

fn status_label(lang: Lang, status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::Open => one(lang, "対応中", "Open"),
        IncidentStatus::Reported => one(lang, "報告済み", "Reported"),
        IncidentStatus::Closed => one(lang, "完了", "Closed"),
    }
}

fn method_label(lang: Lang, method: &str) -> &'static str {
    match method {
        "email" => one(lang, "電子メール", "E-mail"),
        "post" => one(lang, "郵送", "Post"),
        "phone" => one(lang, "電話", "Phone"),
        "sms" => one(lang, "SMS", "SMS"),
        _ => one(lang, "その他", "Other"),
    }
}

fn triage_label(lang: Lang, triage: &Triage) -> Markup {
    match triage {
        Triage::Reportable { triggers } => {
            let ja: Vec<&str> = triggers
                .iter()
                .map(|t| match t {
                    Trigger::Sensitive => "要配慮個人情報",
                    Trigger::Financial => "財産的被害のおそれ",
                    Trigger::Malicious => "不正の目的",
                    Trigger::ManyPersons => "1,000人超",
                })
                .collect();
            let en: Vec<&str> = triggers
                .iter()
                .map(|t| match t {
                    Trigger::Sensitive => "sensitive data",
                    Trigger::Financial => "possible financial damage",
                    Trigger::Malicious => "unlawful purpose",
                    Trigger::ManyPersons => "over 1,000 persons",
                })
                .collect();
            bi(
                lang,
                &format!("個人情報保護委員会への報告対象（規則7条: {}）", ja.join("・")),
                &format!("Reportable under the APPI ({})", en.join(", ")),
            )
        }
        Triage::Encrypted => bi(lang, "高度な暗号化により報告対象外", "Not reportable: strongly encrypted"),
        Triage::NoTrigger => bi(lang, "個人情報保護法の報告対象外", "Not reportable under the APPI"),
    }
}

fn occurrence_text(lang: Lang, o: &Occurrence) -> String {
    match o {
        Occurrence::Unknown => one(lang, "不明", "unknown").to_string(),
        Occurrence::At { at } => tokyo::minutes(*at),
        Occurrence::Between { from, to } => format!("{} 〜 {}", tokyo::minutes(*from), tokyo::minutes(*to)),
    }
}

fn report_path(id: &str, regime: Regime, report: Report) -> String {
    format!("/admin/incidents/{id}/reports/{}/{}", regime.code(), report.code())
}

/// The incident's own navigation: its pages.
fn incident_nav(lang: Lang, id: &str, current: &str) -> Markup {
    let pages = [
        ("", one(lang, "概要", "Overview")),
        ("/impact", one(lang, "影響範囲", "Impact")),
        ("/notices", one(lang, "本人通知", "Notices")),
        ("/publish", one(lang, "公表", "Publication")),
    ];
    html! {
        nav.no-print aria-label=(one(lang, "事案のページ", "Incident pages")) {
            ul.filters {
                @for (page, label) in pages {
                    li {
                        @if page == current {
                            a href=(format!("/admin/incidents/{id}{page}")) aria-current="page" { (label) }
                        } @else {
                            a href=(format!("/admin/incidents/{id}{page}")) { (label) }
                        }
                    }
                }
                li { a href="/admin/incidents" { (one(lang, "一覧へ戻る", "Back to the list")) } }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The list

async fn list(
    State(state): State<AppState>,
    staff: StaffSession,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let now = Timestamp::now();
    let all = with_app(&state, move |app| app.incidents(LIST_LIMIT, now)).await??;
    let lang = staff.lang;
    let body = html! {
        h1 { (bi(lang, "漏えい等事案", "Leak incidents")) }
        @if let Some(m) = done_message(lang, &q.done) { (m) }
        @if MANAGERS.contains(&staff.role) {
            p { a #new-incident href="/admin/incidents/new" { (one(lang, "事案を登録する", "Register an incident")) } }
        } @else {
            p.note { (bi(lang, "監査担当は閲覧のみです。", "Auditors read; they do not change incidents.")) }
        }
        @if all.is_empty() {
            p #incidents-empty { (bi(lang, "登録された事案はありません。", "No incidents are registered.")) }
        } @else {
            div.table-scroll {
                table #incidents {
                    thead {
                        tr {
                            th scope="col" { (one(lang, "事案番号", "Incident")) }
                            th scope="col" { (one(lang, "件名", "Title")) }
                            th scope="col" { (one(lang, "状況", "Status")) }
                            th scope="col" { (one(lang, "覚知", "Known")) }
                            th scope="col" { (one(lang, "次の期限", "Next due")) }
                            th scope="col" { (one(lang, "公表", "Public")) }
                        }
                    }
                    tbody {
                        @for v in &all {
                            @let next = v.obligations.iter().filter(|o| o.submission.is_none()).min_by_key(|o| o.due);
                            tr {
                                th scope="row" { a href=(format!("/admin/incidents/{}", v.id)) { (v.id) } }
                                td { (title_of(lang, &v.fields.title)) }
                                td { (status_label(lang, v.status)) }
                                td { (tokyo::minutes(v.fields.known_at)) }
                                td {
                                    @match next {
                                        Some(o) => { (o.due) " " (regime_short(lang, o.regime)) " " (report_label(lang, o.report)) br; (days_cell(lang, o.days_left)) }
                                        None => { "—" }
                                    }
                                }
                                td {
                                    @if v.withdrawal.is_some() { (one(lang, "取下げ済み", "Withdrawn")) }
                                    @else if v.publications.is_empty() { (one(lang, "未公表", "Not published")) }
                                    @else { (one(lang, "公表中", "Listed")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&staff, one(lang, "漏えい等事案", "Leak incidents"), body))
}

fn title_of(lang: Lang, title: &Text) -> String {
    title.get(lang).or_else(|| title.get(Lang::Ja)).unwrap_or_default().to_string()
}

// ---------------------------------------------------------------------------------------------
// New and edit

fn checkbox(name: &str, value: &str, id: &str, checked: bool, label: Markup) -> Markup {
    html! {
        span.check {
            input type="checkbox" name=(name) value=(value) id=(id) checked[checked];
            " "
            label for=(id) { (label) }
        }
    }
}

fn text_input(
    name: &'static str,
    label: Markup,
    value: &str,
    required: bool,
    problem: Option<&Problem>,
    hint: Option<Markup>,
) -> Markup {
    html! {
        p {
            label for=(name) { (label) }
            input type="text" id=(name) name=(name) value=(value) maxlength="200" required[required]
                aria-invalid=[invalid_at(problem, name)];
            @if let Some(h) = hint { span.hint { (h) } }
        }
    }
}

fn area(name: &'static str, label: Markup, value: &str, problem: Option<&Problem>) -> Markup {
    html! {
        p {
            label for=(name) { (label) }
            textarea id=(name) name=(name) rows="3" maxlength="4000" aria-invalid=[invalid_at(problem, name)] { (value) }
        }
    }
}

fn time_input(name: &'static str, label: Markup, value: &str, required: bool, problem: Option<&Problem>) -> Markup {
    html! {
        p {
            label for=(name) { (label) }
            input type="datetime-local" id=(name) name=(name) value=(value) required[required]
                aria-invalid=[invalid_at(problem, name)];
        }
    }
}

fn regime_boxes(lang: Lang, chosen: &[Regime], problem: Option<&Problem>) -> Markup {
    html! {
        fieldset #regime aria-invalid=[invalid_at(problem, "regime")] {
            legend { (bi(lang, "制度（該当するものすべて）", "Regimes (every one that applies)")) }
            @for r in Regime::ALL {
                (checkbox("regime", r.code(), &format!("regime-{}", r.code()), chosen.contains(&r), regime_label(lang, r)))
            }
        }
    }
}

fn flag_boxes(lang: Lang, flags: Flags) -> Markup {
    html! {
        fieldset #flags {
            legend { (bi(lang, "判定の事実（規則7条）", "Triage facts (APPI rule 7)")) }
            (checkbox("sensitive", "1", "sensitive", flags.sensitive, bi(lang, "要配慮個人情報を含む", "Sensitive personal information")))
            (checkbox("financial", "1", "financial", flags.financial, bi(lang, "財産的被害のおそれ", "Financial damage may follow")))
            (checkbox("malicious", "1", "malicious", flags.malicious, bi(lang, "不正の目的（不正アクセス・持ち出し）", "Unlawful purpose (unauthorised access, theft)")))
            (checkbox("encrypted", "1", "encrypted", flags.encrypted, bi(lang, "高度な暗号化で保護されていた", "Protected by strong encryption")))
        }
    }
}

fn persons_input(lang: Lang, persons: Option<Persons>, problem: Option<&Problem>) -> Markup {
    html! {
        p {
            label for="persons" { (bi(lang, "人数", "Number of persons")) }
            input type="number" id="persons" name="persons" min="0" value=[persons.map(|p| p.count)]
                aria-invalid=[invalid_at(problem, "persons")];
        }
        p { (checkbox("estimated", "1", "estimated", persons.is_some_and(|p| p.estimated), bi(lang, "人数は推計", "The number is an estimate"))) }
    }
}

fn policy_boxes(
    lang: Lang,
    names: &Names,
    chosen_categories: &[String],
    chosen_services: &[String],
    problem: Option<&Problem>,
) -> Markup {
    html! {
        @if let Some(policy) = &names.policy {
            fieldset #category aria-invalid=[invalid_at(problem, "category")] {
                legend { (bi(lang, "漏えいした情報の種類", "Categories of information")) }
                @for c in &policy.categories {
                    (checkbox("category", &c.id, &format!("category-{}", c.id.replace('.', "-")), chosen_categories.contains(&c.id), html! { (names.category(&c.id)) }))
                }
            }
            fieldset #service aria-invalid=[invalid_at(problem, "service")] {
                legend { (bi(lang, "サービス", "Services")) }
                @for s in &policy.services {
                    (checkbox("service", &s.id, &format!("service-{}", s.id.replace('.', "-")), chosen_services.contains(&s.id), html! { (names.service(&s.id)) }))
                }
            }
        }
    }
}

fn new_form(staff: &StaffSession, names: &Names, f: &Fields, problem: Option<&Problem>) -> Markup {
    let lang = staff.lang;
    let regimes: Vec<Regime> = f.all("regime").iter().filter_map(|r| Regime::from_code(r)).collect();
    html! {
        h1 { (bi(lang, "事案の登録", "Register an incident")) }
        p.note { (bi(lang, "分かっている範囲で登録し、後から更新します。登録は監査記録に残ります。", "Register what is known now and update it later; registering is recorded in the audit ledger.")) }
        (problem_box(lang, problem))
        form #incident-form method="post" action="/admin/incidents" {
            input type="hidden" name="csrf" value=(staff.csrf);
            (text_input("title", bi(lang, "件名（必須）", "Title (required)"), f.get("title"), true, problem, None))
            (text_input("title_en", bi(lang, "件名（英語）", "Title in English"), f.get("title_en"), false, problem, None))
            (time_input("known_at", bi(lang, "覚知した日時（必須・報告期限の起算点）", "When the carrier knew (required; the report clocks start here)"), f.get("known_at"), true, problem))
            (time_input("discovered_at", bi(lang, "発覚した日時", "When it was discovered"), f.get("discovered_at"), false, problem))
            (time_input("occurred_at", bi(lang, "発生した日時（範囲の始まり）", "When it occurred (or the start of a range)"), f.get("occurred_at"), false, problem))
            (time_input("occurred_until", bi(lang, "発生の範囲の終わり", "End of the range"), f.get("occurred_until"), false, problem))
            (regime_boxes(lang, &regimes, problem))
            (flag_boxes(lang, flags_of(f)))
            (persons_input(lang, persons_of(f).ok().flatten(), problem))
            (area("summary", bi(lang, "概要", "Summary"), f.get("summary"), problem))
            (area("summary_en", bi(lang, "概要（英語）", "Summary in English"), f.get("summary_en"), problem))
            (area("discovery", bi(lang, "発覚の経緯", "How it was discovered"), f.get("discovery"), problem))
            (policy_boxes(lang, names, &f.all("category"), &f.all("service"), problem))
            p { button #incident-open type="submit" { (one(lang, "登録する", "Register")) } }
        }
    }
}

async fn new_page(State(state): State<AppState>, staff: StaffSession) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let names = Names::load(&state, staff.lang).await?;
    let body = new_form(&staff, &names, &Fields::default(), None);
    Ok(page(&staff, one(staff.lang, "事案の登録", "Register an incident"), body))
}

fn new_incident(f: &Fields) -> Result<NewIncident, Problem> {
    let known_at = time(f, "known_at")?.ok_or_else(|| Problem::invalid("known_at", "is empty"))?;
    let occurred = match (time(f, "occurred_at")?, time(f, "occurred_until")?) {
        (Some(from), Some(to)) => Occurrence::Between { from, to },
        (Some(at), None) => Occurrence::At { at },
        (None, Some(_)) => return Err(Problem::invalid("occurred_at", "the range has an end but no start")),
        (None, None) => Occurrence::Unknown,
    };
    Ok(NewIncident {
        title: Text { ja: f.get("title").to_string(), en: f.opt("title_en") },
        summary: f.opt("summary").map(|ja| Text { ja, en: f.opt("summary_en") }),
        known_at,
        discovered_at: time(f, "discovered_at")?,
        occurred,
        regimes: regimes_of(f)?,
        persons: persons_of(f)?,
        flags: flags_of(f),
        categories: ids_of(f, "category", CategoryId::parse_as)?,
        services: ids_of(f, "service", ServiceId::parse_as)?,
        discovery: f.opt("discovery"),
    })
}

async fn open(
    State(state): State<AppState>,
    staff: StaffSession,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let by = person(&staff);
    let now = Timestamp::now();
    let outcome = match new_incident(&f) {
        Ok(new) => with_app(&state, move |app| app.open_incident(&by, &new, now)).await?.map_err(Problem::of),
        Err(p) => Err(Ok(p)),
    };
    match outcome {
        Ok(view) => Ok(done(&IncidentId::known(view.id), "", "opened")),
        Err(problem) => {
            let problem = problem?;
            let names = Names::load(&state, staff.lang).await?;
            let body = new_form(&staff, &names, &f, Some(&problem));
            Ok(refused(&staff, one(staff.lang, "事案の登録", "Register an incident"), &problem, body))
        }
    }
}

fn edit_form(
    staff: &StaffSession,
    names: &Names,
    v: &IncidentView,
    f: Option<&Fields>,
    problem: Option<&Problem>,
) -> Markup {
    let lang = staff.lang;
    let x = &v.fields;
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    // What the form shows: what was typed (after a refusal), else what is stored.
    let val = |name: &str, stored: String| f.map_or(stored, |f| f.get(name).to_string());
    let (occ_from, occ_to) = match x.occurred {
        Occurrence::Unknown => (String::new(), String::new()),
        Occurrence::At { at } => (input_time(at), String::new()),
        Occurrence::Between { from, to } => (input_time(from), input_time(to)),
    };
    let categories = f.map_or_else(|| x.categories.clone(), |f| f.all("category"));
    let services = f.map_or_else(|| x.services.clone(), |f| f.all("service"));
    html! {
        h1 { (bi(lang, "事案の更新", "Update the incident")) " " code { (v.id) } }
        (incident_nav(lang, &v.id, "/edit"))
        p.note { (bi(lang, "変更のたびに新しい版が作られ、前の版は履歴に残ります。空にした項目は消去されます。", "Every change makes a new version; the earlier ones stay in the history. A field left empty is cleared.")) }
        (problem_box(lang, problem))
        form #incident-edit method="post" action=(format!("/admin/incidents/{}/edit", v.id)) {
            input type="hidden" name="csrf" value=(staff.csrf);
            (text_input("title", bi(lang, "件名（必須）", "Title (required)"), &val("title", x.title.ja.clone()), true, problem, None))
            (text_input("title_en", bi(lang, "件名（英語）", "Title in English"), &val("title_en", opt(&x.title.en)), false, problem, None))
            (area("summary", bi(lang, "概要", "Summary"), &val("summary", x.summary.as_ref().map(|s| s.ja.clone()).unwrap_or_default()), problem))
            (area("summary_en", bi(lang, "概要（英語）", "Summary in English"), &val("summary_en", x.summary.as_ref().and_then(|s| s.en.clone()).unwrap_or_default()), problem))
            (time_input("known_at", bi(lang, "覚知した日時", "When the carrier knew"), &val("known_at", input_time(x.known_at)), true, problem))
            (time_input("discovered_at", bi(lang, "発覚した日時", "When it was discovered"), &val("discovered_at", x.discovered_at.map(input_time).unwrap_or_default()), false, problem))
            (time_input("occurred_at", bi(lang, "発生した日時（範囲の始まり）", "When it occurred (or the start of a range)"), &val("occurred_at", occ_from), false, problem))
            (time_input("occurred_until", bi(lang, "発生の範囲の終わり", "End of the range"), &val("occurred_until", occ_to), false, problem))
            (area("discovery", bi(lang, "発覚の経緯", "How it was discovered"), &val("discovery", opt(&x.discovery)), problem))
            (area("content", bi(lang, "漏えいした情報の内容", "What leaked"), &val("content", opt(&x.content)), problem))
            (area("cause", bi(lang, "発生原因", "Cause"), &val("cause", opt(&x.cause)), problem))
            (area("secondary_damage", bi(lang, "二次被害又はそのおそれ", "Secondary damage or its risk"), &val("secondary_damage", opt(&x.secondary_damage)), problem))
            (area("response", bi(lang, "本人への対応", "Response to the persons"), &val("response", opt(&x.response)), problem))
            (area("prevention", bi(lang, "再発防止策", "Recurrence prevention"), &val("prevention", opt(&x.prevention)), problem))
            (area("other", bi(lang, "その他参考となる事項", "Other reference information"), &val("other", opt(&x.other)), problem))
            @for item in &names.custom {
                @let key = format!("item.{}", item.0);
                p {
                    label for=(key) { (bi(lang, &item.1, &item.2)) }
                    textarea id=(key) name=(key) rows="2" maxlength="4000" { (val(&key, x.extra.get(&item.0).cloned().unwrap_or_default())) }
                }
            }
            (policy_boxes(lang, names, &categories, &services, problem))
            p {
                label for="processor" { (bi(lang, "委託先（追加・更新）", "Processor (add or update)")) }
                input type="text" id="processor" name="processor" maxlength="200" value=(f.map(|f| f.get("processor")).unwrap_or_default())
                    aria-invalid=[invalid_at(problem, "processor")];
                @if !x.processors.is_empty() {
                    span.hint { (one(lang, "登録済み: ", "Linked: ")) (x.processors.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join("、")) }
                }
            }
            (time_input("processor_notified_at", bi(lang, "委託先から通知を受けた日時", "When the processor notified the carrier"), f.map(|f| f.get("processor_notified_at")).unwrap_or_default(), false, problem))
            p {
                label for="status" { (bi(lang, "状況", "Status")) }
                select #status name="status" aria-invalid=[invalid_at(problem, "status")] {
                    @for s in IncidentStatus::ALL {
                        option value=(s.code()) selected[s == v.status] { (status_label(lang, s)) }
                    }
                }
            }
            p { button #incident-save type="submit" { (one(lang, "更新する", "Save")) } }
        }
    }
}

async fn edit(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let id = incident_id(&id)?;
    let now = Timestamp::now();
    let view = with_app(&state, move |app| app.incident(&id, now)).await??;
    let names = Names::load(&state, staff.lang).await?;
    let body = edit_form(&staff, &names, &view, None, None);
    Ok(page(&staff, one(staff.lang, "事案の更新", "Update the incident"), body))
}

/// A time field of the edit form: `None` (unchanged) when it still shows the stored value.
fn changed_time(f: &Fields, name: &'static str, shown: &str) -> Result<Option<Timestamp>, Problem> {
    if f.get(name).trim() == shown { Ok(None) } else { time(f, name) }
}

fn patch_of(f: &Fields, v: &IncidentView, custom: &[(String, String, String)]) -> Result<IncidentPatch, Problem> {
    let x = &v.fields;
    let (from, to) = match x.occurred {
        Occurrence::Unknown => (String::new(), String::new()),
        Occurrence::At { at } => (input_time(at), String::new()),
        Occurrence::Between { from, to } => (input_time(from), input_time(to)),
    };
    let occurred = if f.get("occurred_at").trim() == from && f.get("occurred_until").trim() == to {
        None
    } else {
        match (time(f, "occurred_at")?, time(f, "occurred_until")?) {
            (Some(from), Some(to)) => Some(Occurrence::Between { from, to }),
            (Some(at), None) => Some(Occurrence::At { at }),
            (None, Some(_)) => return Err(Problem::invalid("occurred_at", "the range has an end but no start")),
            (None, None) => Some(Occurrence::Unknown),
        }
    };
    let processors = match f.opt("processor") {
        Some(name) => vec![ProcessorLink { name, notified_at: time(f, "processor_notified_at")? }],
        None => Vec::new(),
    };
    let status = match f.opt("status") {
        Some(code) => Some(
            IncidentStatus::from_code(&code)
                .ok_or_else(|| Problem::invalid("status", format!("`{code}` is not a status")))?,
        ),
        None => None,
    };
    let field = |name: &str| Some(f.get(name).to_string());
    Ok(IncidentPatch {
        title: Some(Text { ja: f.get("title").to_string(), en: f.opt("title_en") }),
        summary: Some(Text { ja: f.get("summary").to_string(), en: f.opt("summary_en") }),
        occurred,
        discovered_at: changed_time(f, "discovered_at", &x.discovered_at.map(input_time).unwrap_or_default())?,
        known_at: changed_time(f, "known_at", &input_time(x.known_at))?,
        discovery: field("discovery"),
        categories: Some(ids_of(f, "category", CategoryId::parse_as)?),
        services: Some(ids_of(f, "service", ServiceId::parse_as)?),
        content: field("content"),
        persons: None,
        cause: field("cause"),
        secondary_damage: field("secondary_damage"),
        response: field("response"),
        prevention: field("prevention"),
        other: field("other"),
        status,
        processors,
        extra: custom.iter().map(|(id, _, _)| (id.clone(), f.get(&format!("item.{id}")).to_string())).collect(),
    })
}

async fn update(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let id = incident_id(&id)?;
    let now = Timestamp::now();
    let names = Names::load(&state, staff.lang).await?;
    let (view_id, view_now) = (id.clone(), now);
    let view = with_app(&state, move |app| app.incident(&view_id, view_now)).await??;
    let by = person(&staff);
    let outcome = match patch_of(&f, &view, &names.custom) {
        Ok(patch) => {
            let id = id.clone();
            with_app(&state, move |app| app.update_incident(&by, &id, &patch, now)).await?.map_err(Problem::of)
        }
        Err(p) => Err(Ok(p)),
    };
    match outcome {
        Ok(_) => Ok(done(&id, "", "updated")),
        Err(problem) => {
            let problem = problem?;
            let body = edit_form(&staff, &names, &view, Some(&f), Some(&problem));
            Ok(refused(&staff, one(staff.lang, "事案の更新", "Update the incident"), &problem, body))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One incident, and its triage

fn triage_form(staff: &StaffSession, v: &IncidentView, f: Option<&Fields>, problem: Option<&Problem>) -> Markup {
    let lang = staff.lang;
    let flags = f.map_or(v.fields.flags, flags_of);
    let regimes: Vec<Regime> = match f {
        Some(f) => f.all("regime").iter().filter_map(|r| Regime::from_code(r)).collect(),
        None => v.fields.regimes.clone(),
    };
    let persons = match f {
        Some(f) => persons_of(f).ok().flatten(),
        None => v.fields.persons,
    };
    html! {
        form #triage-form.no-print method="post" action=(format!("/admin/incidents/{}/triage", v.id)) {
            input type="hidden" name="csrf" value=(staff.csrf);
            (flag_boxes(lang, flags))
            (persons_input(lang, persons, problem))
            (regime_boxes(lang, &regimes, problem))
            p { button #triage-submit type="submit" { (one(lang, "判定する（報告義務を再計算）", "Triage (recompute the reports owed)")) } }
        }
    }
}

fn incident_body(
    staff: &StaffSession,
    names: &Names,
    v: &IncidentView,
    history: &[tokutei_store::incident::IncidentVersion],
    q: &DoneQuery,
    triage: Option<(&Fields, &Problem)>,
) -> Markup {
    let lang = staff.lang;
    let x = &v.fields;
    let manager = MANAGERS.contains(&staff.role);
    let text_rows: [(&str, &str, Option<&String>); 7] = [
        ("発覚の経緯", "How it was discovered", x.discovery.as_ref()),
        ("漏えいした情報の内容", "What leaked", x.content.as_ref()),
        ("発生原因", "Cause", x.cause.as_ref()),
        ("二次被害又はそのおそれ", "Secondary damage or its risk", x.secondary_damage.as_ref()),
        ("本人への対応", "Response to the persons", x.response.as_ref()),
        ("再発防止策", "Recurrence prevention", x.prevention.as_ref()),
        ("その他参考となる事項", "Other reference information", x.other.as_ref()),
    ];
    html! {
        h1 { (title_of(lang, &x.title)) " " code { (v.id) } }
        (incident_nav(lang, &v.id, ""))
        @if let Some(m) = done_message(lang, &q.done) { (m) }
        @if manager {
            p.no-print { a #edit-incident href=(format!("/admin/incidents/{}/edit", v.id)) { (one(lang, "事案を更新する", "Update the incident")) } }
        }
        dl #incident {
            dt { (one(lang, "状況", "Status")) }
            dd #incident-status { (status_label(lang, v.status)) " (" (one(lang, "第", "version ")) (v.version) (one(lang, "版", "")) "、" (tokyo::minutes(v.changed_at)) " " (names.person(&v.changed_by)) ")" }
            @if let Some(s) = &x.summary {
                dt { (one(lang, "概要", "Summary")) } dd.message { (s.get(lang).or_else(|| s.get(Lang::Ja)).unwrap_or_default()) }
            }
            dt { (one(lang, "発生", "Occurred")) } dd { (occurrence_text(lang, &x.occurred)) }
            dt { (one(lang, "発覚", "Discovered")) } dd { (x.discovered_at.map_or_else(|| one(lang, "不明", "unknown").to_string(), tokyo::minutes)) }
            dt { (one(lang, "覚知", "Known")) } dd { (tokyo::minutes(x.known_at)) }
            dt { (one(lang, "制度", "Regimes")) }
            dd { @for (i, r) in x.regimes.iter().enumerate() { @if i > 0 { "、" } (regime_short(lang, *r)) } }
            dt { (one(lang, "判定", "Triage")) } dd #triage { (triage_label(lang, &v.triage)) }
            dt { (one(lang, "人数", "Persons")) }
            dd {
                @match x.persons {
                    Some(p) => { (p.count) (one(lang, "人", " persons")) @if p.estimated { (one(lang, "（推計）", " (estimated)")) } }
                    None => { (one(lang, "不明", "unknown")) }
                }
            }
            @if !x.categories.is_empty() {
                dt { (one(lang, "情報の種類", "Categories")) }
                dd { (x.categories.iter().map(|c| names.category(c)).collect::<Vec<_>>().join("、")) }
            }
            @if !x.services.is_empty() {
                dt { (one(lang, "サービス", "Services")) }
                dd { (x.services.iter().map(|s| names.service(s)).collect::<Vec<_>>().join("、")) }
            }
            @for (ja, en, value) in text_rows {
                @if let Some(value) = value { dt { (one(lang, ja, en)) } dd.message { (value) } }
            }
            @for p in &x.processors {
                dt { (one(lang, "委託先", "Processor")) }
                dd { (p.name) @if let Some(t) = p.notified_at { (one(lang, "（通知 ", " (notified ")) (tokyo::minutes(t)) (one(lang, "）", ")")) } }
            }
            @for (id, ja, en) in &names.custom {
                @if let Some(value) = x.extra.get(id) { dt { (if lang == Lang::Ja { ja } else { en }) } dd.message { (value) } }
            }
        }
        section aria-labelledby="reports" {
            h2 #reports { (bi(lang, "報告", "Reports owed")) }
            @if v.obligations.is_empty() {
                p { (bi(lang, "報告義務はありません。", "No reports are owed.")) }
            } @else {
                div.table-scroll {
                    table #obligations {
                        thead {
                            tr {
                                th scope="col" { (one(lang, "制度", "Regime")) }
                                th scope="col" { (one(lang, "報告", "Report")) }
                                th scope="col" { (one(lang, "期限", "Due")) }
                                th scope="col" { (one(lang, "残り", "Days left")) }
                                th scope="col" { (one(lang, "提出先", "Recipient")) }
                                th scope="col" { (one(lang, "提出", "Submitted")) }
                            }
                        }
                        tbody {
                            @for o in &v.obligations {
                                tr {
                                    td { (regime_short(lang, o.regime)) }
                                    th scope="row" { a href=(report_path(&v.id, o.regime, o.report)) { (report_label(lang, o.report)) } }
                                    td { (o.due) @if o.unconfirmed { br; span.due-soon { (one(lang, "未確認の規定", "unconfirmed rule")) } } }
                                    td { (days_cell(lang, o.days_left)) }
                                    td { (o.recipient) }
                                    td {
                                        @match &o.submission {
                                            Some(s) => { (tokyo::minutes(s.submitted_at)) @if let Some(r) = &s.reference { br; (one(lang, "受付番号 ", "Ref. ")) (r) } }
                                            None => { (one(lang, "未提出", "Not yet")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="triage-heading" {
            h2 #triage-heading { (bi(lang, "判定", "Triage")) }
            p.note { (bi(lang, "事実が分かるたびに判定し直すと、報告義務と期限が計算し直されます（提出済みの報告はそのまま）。", "Triage again as facts firm up: the reports owed and their due dates are computed again (submitted ones stay).")) }
            @if manager {
                @if let Some((_, p)) = triage { (problem_box(lang, Some(p))) }
                (triage_form(staff, v, triage.map(|t| t.0), triage.map(|t| t.1)))
            }
        }
        section aria-labelledby="impact-heading" {
            h2 #impact-heading { (bi(lang, "影響範囲", "Impact")) }
            @match &v.impact {
                Some(i) => p { (one(lang, "影響を受けた利用者 ", "Subscribers affected: ")) strong { (i.subscribers) } (one(lang, "人・読み出し ", ", reads: ")) (i.reads) (one(lang, "件（第", " (computation #")) (i.number) (one(lang, "回の計算）", ")")) }
                None => p { (bi(lang, "まだ計算していません。", "Not computed yet.")) }
            }
            p.no-print { a href=(format!("/admin/incidents/{}/impact", v.id)) { (one(lang, "影響範囲のページへ", "Open the impact page")) } }
        }
        section aria-labelledby="notices-heading" {
            h2 #notices-heading { (bi(lang, "本人通知", "Notices to the persons")) }
            p { (one(lang, "通知済み ", "Notices sent: ")) strong { (v.notices) } (one(lang, "件", "")) }
            @for a in &v.alternatives { p { (one(lang, "代替措置: ", "Alternative measure: ")) (a.measure) "（" (a.reason) "）" } }
            p.no-print { a href=(format!("/admin/incidents/{}/notices", v.id)) { (one(lang, "本人通知のページへ", "Open the notices page")) } }
        }
        section aria-labelledby="public-heading" {
            h2 #public-heading { (bi(lang, "公表", "Publication")) }
            (publication_state(lang, v))
            p.no-print { a href=(format!("/admin/incidents/{}/publish", v.id)) { (one(lang, "公表のページへ", "Open the publication page")) } }
        }
        section aria-labelledby="history-heading" {
            h2 #history-heading { (bi(lang, "履歴", "History")) }
            div.table-scroll {
                table #history {
                    thead {
                        tr {
                            th scope="col" { (one(lang, "版", "Version")) }
                            th scope="col" { (one(lang, "変更", "Change")) }
                            th scope="col" { (one(lang, "日時", "When")) }
                            th scope="col" { (one(lang, "担当", "By")) }
                            th scope="col" { (one(lang, "監査記録", "Ledger entry")) }
                        }
                    }
                    tbody {
                        @for h in history.iter().rev() {
                            tr {
                                th scope="row" { (h.version) }
                                td { (change_label(lang, &h.change)) }
                                td { (tokyo::minutes(h.changed_at)) }
                                td { (names.person(&h.changed_by)) }
                                td { (h.audit_index) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn change_label(lang: Lang, change: &str) -> &'static str {
    match change {
        "opened" => one(lang, "登録", "Registered"),
        "updated" => one(lang, "更新", "Updated"),
        "triaged" => one(lang, "判定", "Triaged"),
        _ => one(lang, "変更", "Changed"),
    }
}

fn publication_state(lang: Lang, v: &IncidentView) -> Markup {
    html! {
        @match (v.publications.last(), &v.withdrawal) {
            (_, Some(w)) => p #publication-state { (one(lang, "取下げ済み ", "Withdrawn ")) (tokyo::minutes(w.withdrawn_at)) }
            (Some(p), None) => p #publication-state {
                (one(lang, "公表中（第", "Listed (version ")) (p.version) (one(lang, "版、", ", ")) (tokyo::minutes(p.published_at))
                (one(lang, "）掲載期限 ", "); listed until ")) strong { (p.listed_until) }
            }
            (None, None) => p #publication-state { (one(lang, "未公表", "Not published")) }
        }
    }
}

async fn incident_page(
    state: &AppState,
    staff: &StaffSession,
    id: IncidentId,
    q: &DoneQuery,
    triage: Option<(&Fields, &Problem)>,
) -> Result<Response, AppError> {
    let now = Timestamp::now();
    let (view, history) =
        with_app(state, move |app| Ok((app.incident(&id, now)?, app.incident_history(&id)?))).await??;
    let names = Names::load(state, staff.lang).await?;
    let body = incident_body(staff, &names, &view, &history, q, triage);
    let title = title_of(staff.lang, &view.fields.title);
    Ok(page_or_refused(staff, &title, triage.map(|f| f.1), body))
}

async fn show(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    incident_page(&state, &staff, incident_id(&id)?, &q, None).await
}

async fn triage(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let id = incident_id(&id)?;
    let input = regimes_of(&f).and_then(|regimes| {
        Ok(TriageInput {
            flags: flags_of(&f),
            persons: persons_of(&f)?,
            regimes: (!regimes.is_empty()).then_some(regimes),
        })
    });
    let by = person(&staff);
    let now = Timestamp::now();
    let outcome = match input {
        Ok(input) => {
            let id = id.clone();
            with_app(&state, move |app| app.triage_incident(&by, &id, &input, now)).await?.map_err(Problem::of)
        }
        Err(p) => Err(Ok(p)),
    };
    match outcome {
        Ok(_) => Ok(done(&id, "", "triaged")),
        Err(problem) => {
            let problem = problem?;
            incident_page(&state, &staff, id, &DoneQuery::default(), Some((&f, &problem))).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reports: the document as it would be filed (prints in Japanese), and its submission

fn regime_report(regime: &str, report: &str) -> Result<(Regime, Report), AppError> {
    Ok((Regime::from_code(regime).ok_or(AppError::NotFound)?, Report::from_code(report).ok_or(AppError::NotFound)?))
}

fn report_body(
    staff: &StaffSession,
    names: &Names,
    doc: &ReportDocument,
    title: &str,
    q: &DoneQuery,
    f: Option<&Fields>,
    problem: Option<&Problem>,
) -> Markup {
    let lang = staff.lang;
    let manager = MANAGERS.contains(&staff.role);
    let path = report_path(&doc.incident, doc.regime, doc.report);
    let val = |name: &str, default: &str| f.map_or(default.to_string(), |f| f.get(name).to_string());
    html! {
        (incident_nav(lang, &doc.incident, "/reports"))
        @if let Some(m) = done_message(lang, &q.done) { (m) }
        article.report #report lang="ja" {
            h1 { (doc.title) }
            dl.fields {
                dt { "事案番号" } dd { (doc.incident) }
                dt { "件名" } dd { (title) }
                dt { "提出先" } dd { (doc.recipient) }
                dt { "提出期限" } dd { (doc.due) @if doc.unconfirmed { "（未確認の規定による）" } }
                @if let Some(s) = &doc.submission {
                    dt { "提出日時" } dd { (tokyo::minutes(s.submitted_at)) }
                    dt { "提出先（記録）" } dd { (s.recipient) }
                    @if let Some(r) = &s.reference { dt { "受付番号" } dd { (r) } }
                }
            }
            table #report-items {
                caption { "報告事項" }
                thead { tr { th scope="col" { "項目" } th scope="col" { "内容" } } }
                tbody {
                    @for item in &doc.items {
                        tr {
                            th scope="row" { (item.ja) span.en lang="en" { (item.en) } }
                            td.message {
                                @match &item.value {
                                    Some(v) => { (v) }
                                    None => span.missing { "（未記入）" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(s) = &doc.submission {
            section.no-print aria-labelledby="submission" {
                h2 #submission { (bi(lang, "提出の記録", "Submission record")) }
                dl #submission-record {
                    dt { (one(lang, "提出日時", "Submitted")) } dd { (tokyo::minutes(s.submitted_at)) }
                    dt { (one(lang, "提出先", "Recipient")) } dd { (s.recipient) }
                    dt { (one(lang, "受付番号", "Reference")) } dd { (s.reference.as_deref().unwrap_or("—")) }
                    dt { (one(lang, "提出した文書の SHA-256", "SHA-256 of the document as submitted")) } dd.digest { (s.digest) }
                    dt { (one(lang, "記録した人", "Recorded by")) } dd { (names.person(&s.submitted_by)) }
                    dt { (one(lang, "監査記録", "Ledger entry")) } dd { (s.audit_index) }
                }
            }
        } @else {
            @if !doc.missing.is_empty() {
                @let labels: Vec<&str> = doc.items.iter().filter(|i| doc.missing.contains(&i.id)).map(|i| if lang == Lang::Ja { i.ja.as_str() } else { i.en.as_str() }).collect();
                @if doc.report.is_final() {
                    p.error.no-print #report-missing {
                        (bi(lang, "未記入の項目があるため、この報告は提出済みにできません: ", "This final report cannot be recorded as submitted while items are empty: "))
                        (labels.join("、"))
                    }
                } @else {
                    p.note.no-print #report-missing { (one(lang, "未記入の項目: ", "Items still empty: ")) (labels.join("、")) }
                }
            }
            @if manager {
                section.no-print aria-labelledby="submit-heading" {
                    h2 #submit-heading { (bi(lang, "提出を記録する", "Record the submission")) }
                    (problem_box(lang, problem))
                    form #submit-form method="post" action=(path) {
                        input type="hidden" name="csrf" value=(staff.csrf);
                        (time_input("submitted_at", bi(lang, "提出日時（空欄は現在）", "Submitted at (empty: now)"), &val("submitted_at", ""), false, problem))
                        (text_input("recipient", bi(lang, "提出先", "Recipient"), &val("recipient", &doc.recipient), true, problem, None))
                        (text_input("reference", bi(lang, "受付番号", "Reference number"), &val("reference", ""), false, problem, None))
                        p {
                            label for="document" { (bi(lang, "提出した文書の本文（空欄はこのページの報告書）", "The document as submitted (empty: this report as shown)")) }
                            textarea #document name="document" rows="4" maxlength="100000" aria-invalid=[invalid_at(problem, "document")] { (val("document", "")) }
                            span.hint { (one(lang, "SHA-256 が監査記録に残ります。", "Its SHA-256 goes into the audit ledger.")) }
                        }
                        p { button #submit-report type="submit" { (one(lang, "提出済みとして記録する", "Record as submitted")) } }
                    }
                }
            }
        }
        p.no-print.note { (bi(lang, "印刷すると報告書だけが印刷されます。", "Printing this page prints the report only.")) }
    }
}

async fn report_view(
    state: &AppState,
    staff: &StaffSession,
    id: IncidentId,
    regime: Regime,
    report: Report,
    q: &DoneQuery,
    form: Option<(&Fields, &Problem)>,
) -> Result<Response, AppError> {
    let now = Timestamp::now();
    let (doc, view) =
        with_app(state, move |app| Ok((app.report_document(&id, regime, report, now)?, app.incident(&id, now)?)))
            .await??;
    let names = Names::load(state, staff.lang).await?;
    let body = report_body(staff, &names, &doc, &view.fields.title.ja, q, form.map(|f| f.0), form.map(|f| f.1));
    Ok(page_or_refused(staff, &doc.title, form.map(|f| f.1), body))
}

async fn report_page(
    State(state): State<AppState>,
    staff: StaffSession,
    Path((id, regime, report)): Path<(String, String, String)>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let (regime, report) = regime_report(&regime, &report)?;
    report_view(&state, &staff, incident_id(&id)?, regime, report, &q, None).await
}

async fn submit(
    State(state): State<AppState>,
    staff: StaffSession,
    Path((id, regime, report)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let id = incident_id(&id)?;
    let (regime, report) = regime_report(&regime, &report)?;
    let by = person(&staff);
    let now = Timestamp::now();
    let how = time(&f, "submitted_at").map(|submitted_at| SubmitReport {
        submitted_at,
        recipient: Some(f.get("recipient").to_string()),
        reference: f.opt("reference"),
        document: f.opt("document").map(String::into_bytes),
    });
    let outcome = match how {
        Ok(how) => {
            let id = id.clone();
            with_app(&state, move |app| app.submit_report(&by, &id, regime, report, &how, now))
                .await?
                .map_err(Problem::of)
        }
        Err(p) => Err(Ok(p)),
    };
    match outcome {
        Ok(_) => Ok(done(&id, &format!("/reports/{}/{}", regime.code(), report.code()), "submitted")),
        Err(problem) => {
            let problem = problem?;
            report_view(&state, &staff, id, regime, report, &DoneQuery::default(), Some((&f, &problem))).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Impact from the ledger: counts and ledger indexes, an inclusion proof for each

fn impact_body(
    staff: &StaffSession,
    names: &Names,
    id: &str,
    impacts: &[ImpactOutcome],
    q: &DoneQuery,
    f: Option<&Fields>,
    problem: Option<&Problem>,
) -> Markup {
    let lang = staff.lang;
    let val = |name: &str| f.map(|f| f.get(name).to_string()).unwrap_or_default();
    let chosen = f.map(|f| f.all("category")).unwrap_or_default();
    html! {
        h1 { (bi(lang, "影響範囲", "Impact")) " " code { (id) } }
        (incident_nav(lang, id, "/impact"))
        @if let Some(m) = done_message(lang, &q.done) { (m) }
        p.note {
            (bi(lang,
                "監査記録から、指定した取扱者・APIトークン・情報の種類について、期間内に許可された読み出しを数えます。各件数は監査記録の番号で裏付けられ、署名済みチェックポイントに対する包含証明をダウンロードできます。",
                "Counts the allowed reads in the window by a principal, an API token or of categories, from the audit ledger. Every count is backed by ledger indexes; each has an inclusion proof against a signed checkpoint."))
        }
        @if MANAGERS.contains(&staff.role) {
            (problem_box(lang, problem))
            form #impact-form.no-print method="post" action=(format!("/admin/incidents/{id}/impact")) {
                input type="hidden" name="csrf" value=(staff.csrf);
                p {
                    label for="principal" { (bi(lang, "取扱者・システム", "Principal")) }
                    select #principal name="principal" aria-invalid=[invalid_at(problem, "principal")] {
                        option value="" { (one(lang, "指定なし", "None")) }
                        @for (pid, name) in sorted_staff(names) {
                            option value=(pid) selected[val("principal") == *pid] { (name) }
                        }
                    }
                }
                (text_input("token", bi(lang, "APIトークンのID", "API token id"), &val("token"), false, problem, None))
                @if let Some(policy) = &names.policy {
                    fieldset #category aria-invalid=[invalid_at(problem, "category")] {
                        legend { (bi(lang, "情報の種類（指定しなければすべて）", "Categories (all when none is chosen)")) }
                        @for c in &policy.categories {
                            (checkbox("category", &c.id, &format!("category-{}", c.id.replace('.', "-")), chosen.contains(&c.id), html! { (names.category(&c.id)) }))
                        }
                    }
                }
                (time_input("since", bi(lang, "期間の始まり（この時刻を含む）", "From (inclusive)"), &val("since"), true, problem))
                (time_input("until", bi(lang, "期間の終わり（この時刻を含まない）", "Until (exclusive)"), &val("until"), true, problem))
                p { (checkbox("set_persons", "1", "set_persons", f.is_some_and(|f| f.on("set_persons")), bi(lang, "報告の人数をこの結果にする", "Take the number of persons of the reports from this result"))) }
                p { button #impact-submit type="submit" { (one(lang, "計算する", "Compute")) } }
            }
        }
        @if impacts.is_empty() {
            p #impact-none { (bi(lang, "まだ計算していません。", "Not computed yet.")) }
        }
        @for i in impacts.iter().rev() {
            section.impact aria-labelledby=(format!("impact-{}", i.number)) {
                h2 id=(format!("impact-{}", i.number)) { (one(lang, "第", "Computation #")) (i.number) (one(lang, "回の計算", "")) }
                dl {
                    dt { (one(lang, "対象", "Scope")) }
                    dd {
                        @if let Some(p) = &i.scope.principal { (one(lang, "取扱者 ", "principal ")) (names.person(p)) " " }
                        @if let Some(t) = &i.scope.token { (one(lang, "APIトークン ", "API token ")) code { (t) } " " }
                        @if !i.scope.categories.is_empty() { (i.scope.categories.iter().map(|c| names.category(c)).collect::<Vec<_>>().join("、")) }
                    }
                    dt { (one(lang, "期間", "Window")) } dd { (tokyo::minutes(i.scope.since)) " 〜 " (tokyo::minutes(i.scope.until)) }
                    dt { (one(lang, "調べた監査記録", "Ledger entries looked at")) } dd { "0 〜 " (i.tree_size.saturating_sub(1)) }
                    dt { (one(lang, "影響を受けた利用者", "Subscribers affected")) } dd { strong.affected { (i.subscribers.len()) } (one(lang, "人", "")) }
                    dt { (one(lang, "監査記録", "Ledger entry")) } dd { (i.audit_index) }
                }
                @if !i.categories.is_empty() {
                    table {
                        caption { (one(lang, "情報の種類ごとの利用者数", "Subscribers per category")) }
                        thead { tr { th scope="col" { (one(lang, "情報の種類", "Category")) } th scope="col" { (one(lang, "人数", "Subscribers")) } } }
                        tbody { @for (c, n) in &i.categories { tr { th scope="row" { (names.category(c)) } td { (n) } } } }
                    }
                }
                @if !i.items.is_empty() {
                    @let ordinals = subscriber_ordinals(i.items.iter().map(|x| x.subscriber.as_str()));
                    div.table-scroll {
                        table.impact-items {
                            caption { (one(lang, "読み出しと監査記録の番号（利用者は番号で表示）", "Reads and their ledger entries (subscribers by number)")) }
                            thead {
                                tr {
                                    th scope="col" { (one(lang, "利用者", "Subscriber")) }
                                    th scope="col" { (one(lang, "情報の種類", "Category")) }
                                    th scope="col" { (one(lang, "回数", "Reads")) }
                                    th scope="col" { (one(lang, "監査記録（包含証明）", "Ledger entries (inclusion proof)")) }
                                }
                            }
                            tbody {
                                @for item in i.items.iter().take(IMPACT_ROWS) {
                                    tr {
                                        th scope="row" { "#" (ordinals.get(item.subscriber.as_str()).copied().unwrap_or_default()) }
                                        td { (names.category(&item.category)) }
                                        td { (item.count) }
                                        td {
                                            @for (n, index) in item.indexes.iter().enumerate() {
                                                @if n > 0 { " " }
                                                a.proof href=(format!("/admin/incidents/{id}/proof/{index}")) download=(format!("tokutei-proof-{index}.json"))
                                                    aria-label=(format!("{} {index}", one(lang, "包含証明", "Inclusion proof"))) { (index) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if i.items.len() > IMPACT_ROWS {
                        p.note { (one(lang, "表示は先頭の ", "Showing the first ")) (IMPACT_ROWS) (one(lang, " 行です（件数はすべてを数えています）。", " rows (the counts cover all).")) }
                    }
                }
            }
        }
    }
}

/// Subscribers of an impact by number (1, 2, 3… in the impact's order): pages show these,
/// never the ids.
fn subscriber_ordinals<'a>(subscribers: impl Iterator<Item = &'a str>) -> HashMap<&'a str, usize> {
    let mut out = HashMap::new();
    for subscriber in subscribers {
        let next = out.len() + 1;
        out.entry(subscriber).or_insert(next);
    }
    out
}

fn sorted_staff(names: &Names) -> Vec<(&String, &String)> {
    let mut list: Vec<(&String, &String)> = names.staff.iter().collect();
    list.sort_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)));
    list
}

async fn impact_view(
    state: &AppState,
    staff: &StaffSession,
    id: IncidentId,
    q: &DoneQuery,
    form: Option<(&Fields, &Problem)>,
) -> Result<Response, AppError> {
    let shown = id.to_string();
    let impacts = with_app(state, move |app| app.incident_impacts(&id)).await??;
    let names = Names::load(state, staff.lang).await?;
    let body = impact_body(staff, &names, &shown, &impacts, q, form.map(|f| f.0), form.map(|f| f.1));
    let title = one(staff.lang, "影響範囲", "Impact");
    Ok(page_or_refused(staff, title, form.map(|f| f.1), body))
}

async fn impact_page(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    impact_view(&state, &staff, incident_id(&id)?, &q, None).await
}

fn impact_query(f: &Fields) -> Result<ImpactQuery, Problem> {
    let principal = match f.opt("principal") {
        Some(p) => Some(
            PrincipalId::parse_as("principal", p)
                .map_err(|e| Problem::of(e).unwrap_or_else(|_| Problem::invalid("principal", "is not an id")))?,
        ),
        None => None,
    };
    Ok(ImpactQuery {
        principal,
        token: f.opt("token").map(|t| t.trim().to_string()),
        categories: ids_of(f, "category", CategoryId::parse_as)?,
        since: time(f, "since")?.ok_or_else(|| Problem::invalid("since", "is empty"))?,
        until: time(f, "until")?.ok_or_else(|| Problem::invalid("until", "is empty"))?,
        set_persons: f.on("set_persons"),
    })
}

async fn impact(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let id = incident_id(&id)?;
    let by = person(&staff);
    let now = Timestamp::now();
    let outcome = match impact_query(&f) {
        Ok(query) => {
            let id = id.clone();
            with_app(&state, move |app| app.compute_impact(&by, &id, &query, now)).await?.map_err(Problem::of)
        }
        Err(p) => Err(Ok(p)),
    };
    match outcome {
        Ok(_) => Ok(done(&id, "/impact", "impact")),
        Err(problem) => {
            let problem = problem?;
            impact_view(&state, &staff, id, &DoneQuery::default(), Some((&f, &problem))).await
        }
    }
}

/// The inclusion proof of a ledger entry behind the incident's impact, against the latest
/// signed checkpoint, as a download (`tokutei audit check-proof` checks it offline).
async fn proof(
    State(state): State<AppState>,
    staff: StaffSession,
    Path((id, index)): Path<(String, u64)>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    let id = incident_id(&id)?;
    let checkpoint = state.ledger(|l| l.latest_checkpoint()).await?.ok_or_else(|| {
        AppError::Conflict("no signed checkpoint yet: sign one with `tokutei audit checkpoint`".into())
    })?;
    let origin = checkpoint.note.lines().next().unwrap_or_default().to_string();
    let proof = with_app(&state, move |app| app.impact_proof(&id, index, &origin, &checkpoint)).await??;
    let json = serde_json::to_string_pretty(&proof).map_err(|e| AppError::internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"tokutei-proof-{index}.json\"")),
        ],
        json,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Notices to the persons: letters (contacts through the gateway), the sent log, the
// alternative measure

fn notices_body(
    staff: &StaffSession,
    names: &Names,
    v: &IncidentView,
    sent: &[NoticeSent],
    q: &DoneQuery,
    f: Option<&Fields>,
    problem: Option<&Problem>,
) -> Markup {
    let lang = staff.lang;
    let id = &v.id;
    let val = |name: &str| f.map(|f| f.get(name).to_string()).unwrap_or_default();
    let affected = v.impact.as_ref().map(|i| i.subscribers);
    html! {
        h1 { (bi(lang, "本人通知", "Notices to the persons")) " " code { (id) } }
        (incident_nav(lang, id, "/notices"))
        @if let Some(m) = done_message(lang, &q.done) { (m) }
        dl {
            dt { (one(lang, "影響を受けた利用者", "Subscribers affected")) }
            dd { @match affected { Some(n) => { (n) (one(lang, "人", "")) } None => { (one(lang, "影響範囲は未計算", "impact not computed")) } } }
            dt { (one(lang, "通知済み", "Notices sent")) } dd #notices-sent { (sent.len()) (one(lang, "件", "")) }
        }
        @if MANAGERS.contains(&staff.role) {
            (problem_box(lang, problem))
            section.no-print aria-labelledby="letters-heading" {
                h2 #letters-heading { (bi(lang, "通知文の作成", "Letters to print")) }
                p.note { (bi(lang, "連絡先は利用目的を指定してゲートウェイから読み出します（判定と監査記録の対象）。保存も記録もしません。", "Contacts are read through the gateway for the purpose you pick (decided and audited like any use); they are neither stored nor logged.")) }
                form #letters-form method="post" action=(format!("/admin/incidents/{id}/letters")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    @if let Some(policy) = &names.policy {
                        p {
                            label for="purpose" { (bi(lang, "利用目的", "Purpose")) }
                            select #purpose name="purpose" required aria-invalid=[invalid_at(problem, "purpose")] {
                                option value="" { (one(lang, "選んでください", "Choose one")) }
                                @for p in &policy.purposes.list {
                                    option value=(p.id) selected[val("purpose") == p.id] { (names.text(&p.text, &p.id)) }
                                }
                            }
                        }
                        p {
                            label for="contact" { (bi(lang, "連絡先の種類", "Contact category")) }
                            select #contact name="contact" required aria-invalid=[invalid_at(problem, "contact")] {
                                option value="" { (one(lang, "選んでください", "Choose one")) }
                                @for c in &policy.categories {
                                    option value=(c.id) selected[val("contact") == c.id] { (names.category(&c.id)) }
                                }
                            }
                        }
                        p {
                            label for="channel" { (bi(lang, "利用方法（経路）", "Channel")) }
                            select #channel name="channel" {
                                option value="" { (one(lang, "指定なし", "None")) }
                                @for c in Channel::ALL { option value=(c.id()) selected[val("channel") == c.id()] { (c.label(lang)) } }
                            }
                        }
                    }
                    p {
                        label for="letter-subscribers" { (bi(lang, "対象の利用者番号（1行に1つ、空欄は影響を受けた全員）", "Subscriber ids, one a line (empty: everyone affected)")) }
                        textarea #letter-subscribers name="subscribers" rows="3" aria-invalid=[invalid_at(problem, "subscriber")] { (val("subscribers")) }
                    }
                    p { button #letters-submit type="submit" { (one(lang, "通知文を作成する", "Prepare the letters")) } }
                }
            }
            section.no-print aria-labelledby="notified-heading" {
                h2 #notified-heading { (bi(lang, "送付の記録", "Record notices sent")) }
                form #notified-form method="post" action=(format!("/admin/incidents/{id}/notices")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    p {
                        label for="method" { (bi(lang, "方法", "Method")) }
                        select #method name="method" {
                            @for m in NoticeMethod::ALL { option value=(m.code()) selected[val("method") == m.code()] { (method_label(lang, m.code())) } }
                        }
                    }
                    p {
                        label for="subscriber" { (bi(lang, "送付した利用者番号（1行に1つ）", "Subscriber ids sent to, one a line")) }
                        textarea #subscriber name="subscriber" rows="3" required aria-invalid=[invalid_at(problem, "subscriber")] { (val("subscriber")) }
                    }
                    (time_input("sent_at", bi(lang, "送付日時（空欄は現在）", "Sent at (empty: now)"), &val("sent_at"), false, problem))
                    p { button #notified-submit type="submit" { (one(lang, "記録する", "Record")) } }
                }
            }
            section.no-print aria-labelledby="alternative-heading" {
                h2 #alternative-heading { (bi(lang, "代替措置", "Alternative measure")) }
                p.note { (bi(lang, "本人への通知が困難な場合に、公表などの代替措置とその理由を記録します。", "Where notice is impossible, record the alternative measure (publication…) and why.")) }
                form #alternative-form method="post" action=(format!("/admin/incidents/{id}/alternative")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    (text_input("measure", bi(lang, "措置", "Measure"), &val("measure"), true, problem, None))
                    (area("reason", bi(lang, "通知が困難な理由", "Why notice is impossible"), &val("reason"), problem))
                    p { button #alternative-submit type="submit" { (one(lang, "記録する", "Record")) } }
                }
            }
        }
        section aria-labelledby="sent-heading" {
            h2 #sent-heading { (bi(lang, "送付の記録（1人ごと）", "Sent log (one row a person)")) }
            @if sent.is_empty() {
                p { (bi(lang, "記録はありません。", "Nothing recorded yet.")) }
            } @else {
                div.table-scroll {
                    table #sent-log {
                        thead {
                            tr {
                                th scope="col" { (one(lang, "通番", "No.")) }
                                th scope="col" { (one(lang, "方法", "Method")) }
                                th scope="col" { (one(lang, "送付日時", "Sent")) }
                                th scope="col" { (one(lang, "記録した人", "Recorded by")) }
                                th scope="col" { (one(lang, "監査記録", "Ledger entry")) }
                            }
                        }
                        tbody {
                            @for (n, s) in sent.iter().enumerate() {
                                tr {
                                    th scope="row" { (n + 1) }
                                    td { (method_label(lang, &s.method)) }
                                    td { (tokyo::minutes(s.sent_at)) }
                                    td { (names.person(&s.recorded_by)) }
                                    td { (s.audit_index) }
                                }
                            }
                        }
                    }
                }
            }
            @for a in &v.alternatives {
                p.alternative { (one(lang, "代替措置: ", "Alternative measure: ")) (a.measure) "（" (a.reason) "）" (tokyo::minutes(a.recorded_at)) " " (names.person(&a.recorded_by)) }
            }
        }
    }
}

async fn notices_view(
    state: &AppState,
    staff: &StaffSession,
    id: IncidentId,
    q: &DoneQuery,
    form: Option<(&Fields, &Problem)>,
) -> Result<Response, AppError> {
    let now = Timestamp::now();
    let key = id.to_string();
    let view = with_app(state, move |app| app.incident(&id, now)).await??;
    let sent = state.blocking(move |b| b.notices(&key)).await?;
    let names = Names::load(state, staff.lang).await?;
    let body = notices_body(staff, &names, &view, &sent, q, form.map(|f| f.0), form.map(|f| f.1));
    let title = one(staff.lang, "本人通知", "Notices");
    Ok(page_or_refused(staff, title, form.map(|f| f.1), body))
}

async fn notices_page(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    notices_view(&state, &staff, incident_id(&id)?, &q, None).await
}

fn subscriber_ids(f: &Fields, name: &str) -> Result<Vec<SubscriberId>, Problem> {
    f.lines(name)
        .into_iter()
        .map(|s| {
            SubscriberId::parse_as("subscriber", s)
                .map_err(|e| Problem::of(e).unwrap_or_else(|_| Problem::invalid("subscriber", "is not an id")))
        })
        .collect()
}

async fn notified(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let id = incident_id(&id)?;
    let by = person(&staff);
    let now = Timestamp::now();
    let input = (|| {
        let method = NoticeMethod::from_code(f.get("method"))
            .ok_or_else(|| Problem::invalid("method", format!("`{}` is not a method", f.get("method"))))?;
        Ok::<_, Problem>((method, subscriber_ids(&f, "subscriber")?, time(&f, "sent_at")?))
    })();
    let outcome = match input {
        Ok((method, subscribers, sent_at)) => {
            let id = id.clone();
            with_app(&state, move |app| app.record_notices(&by, &id, &subscribers, method, sent_at, now))
                .await?
                .map_err(Problem::of)
        }
        Err(p) => Err(Ok(p)),
    };
    match outcome {
        Ok(_) => Ok(done(&id, "/notices", "notices")),
        Err(problem) => {
            let problem = problem?;
            notices_view(&state, &staff, id, &DoneQuery::default(), Some((&f, &problem))).await
        }
    }
}

async fn alternative(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let id = incident_id(&id)?;
    let by = person(&staff);
    let now = Timestamp::now();
    let (measure, reason) = (f.get("measure").to_string(), f.get("reason").to_string());
    let call = id.clone();
    let outcome = with_app(&state, move |app| app.record_alternative_measure(&by, &call, &measure, &reason, now))
        .await?
        .map_err(Problem::of);
    match outcome {
        Ok(_) => Ok(done(&id, "/notices", "alternative")),
        Err(problem) => {
            let problem = problem?;
            notices_view(&state, &staff, id, &DoneQuery::default(), Some((&f, &problem))).await
        }
    }
}

fn letters_body(staff: &StaffSession, id: &str, letters: &[Letter], audit: &[u64]) -> Markup {
    let lang = staff.lang;
    html! {
        h1.no-print { (bi(lang, "通知文", "Letters")) " " code { (id) } }
        (incident_nav(lang, id, "/letters"))
        p.note.no-print {
            (bi(lang,
                "連絡先はこの画面にだけ表示され、保存も記録もされません（読み出しは監査記録に残ります）。印刷して送付した後、本人通知のページで送付を記録してください。",
                "The contacts are shown on this page only, never stored or logged (reading them is in the audit ledger). Print, send, then record the notices on the notices page."))
            " " (one(lang, "監査記録: ", "Ledger entries: ")) (audit.iter().map(u64::to_string).collect::<Vec<_>>().join(", "))
        }
        @if letters.is_empty() {
            p #letters-none { (bi(lang, "通知の対象者がいません（影響範囲を先に計算してください）。", "Nobody to notify (compute the impact first).")) }
        }
        @for l in letters {
            article.letter lang="ja" {
                p.letter-to {
                    "宛先: "
                    @match &l.contact { Some(c) => { (c) } None => span.missing { "（連絡先を読み出せません。代替措置を検討してください）" } }
                }
                p.letter-ref.no-print { "利用者番号: " (l.subscriber) }
                div.message { (l.text) }
            }
        }
    }
}

async fn letters(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let id = incident_id(&id)?;
    let by = person(&staff);
    let now = Timestamp::now();
    let client = format!("console:{}", hex::encode(&staff.id_hash[..4]));
    let read = (|| {
        let purpose = PurposeId::parse_as("purpose", f.get("purpose"))
            .map_err(|e| Problem::of(e).unwrap_or_else(|_| Problem::invalid("purpose", "is not a purpose")))?;
        let contact = CategoryId::parse_as("contact", f.get("contact"))
            .map_err(|e| Problem::of(e).unwrap_or_else(|_| Problem::invalid("contact", "is not a category")))?;
        let channel = match f.opt("channel") {
            Some(c) => Some(
                Channel::from_id(&c).ok_or_else(|| Problem::invalid("channel", format!("`{c}` is not a channel")))?,
            ),
            None => None,
        };
        Ok::<_, Problem>(NoticeRead {
            purpose,
            contact,
            channel,
            zone: None,
            terminal: Some(staff.terminal),
            subscribers: subscriber_ids(&f, "subscribers")?,
            client,
        })
    })();
    let outcome = match read {
        Ok(read) => {
            let id = id.clone();
            with_app(&state, move |app| app.notice_letters(&by, &id, &read, now)).await?.map_err(Problem::of)
        }
        Err(p) => Err(Ok(p)),
    };
    match outcome {
        Ok(letters) => {
            let body = letters_body(&staff, id.as_str(), &letters.letters, &letters.audit);
            Ok(page(&staff, one(staff.lang, "通知文", "Letters"), body))
        }
        Err(problem) => {
            let problem = problem?;
            notices_view(&state, &staff, id, &DoneQuery::default(), Some((&f, &problem))).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The public entry: publish, correct (a new version; the old text stays), withdraw (refused
// inside the window)

fn publish_body(
    staff: &StaffSession,
    names: &Names,
    v: &IncidentView,
    q: &DoneQuery,
    f: Option<&Fields>,
    problem: Option<&Problem>,
) -> Markup {
    let lang = staff.lang;
    let id = &v.id;
    let latest = v.publications.last();
    let summary = v.fields.summary.as_ref();
    let default_ja = latest.map(|p| p.summary_ja.clone()).or_else(|| summary.map(|s| s.ja.clone())).unwrap_or_default();
    let default_en =
        latest.and_then(|p| p.summary_en.clone()).or_else(|| summary.and_then(|s| s.en.clone())).unwrap_or_default();
    let val = |name: &str, default: &str| f.map_or(default.to_string(), |f| f.get(name).to_string());
    let listed = latest.is_some() && v.withdrawal.is_none();
    html! {
        h1 { (bi(lang, "公表", "Publication")) " " code { (id) } }
        (incident_nav(lang, id, "/publish"))
        @if let Some(m) = done_message(lang, &q.done) { (m) }
        p.note {
            (bi(lang,
                "公表すると /leaks、/en/leaks と取扱方針の「事故内容」に掲載されます。掲載期間（発生日から10年）の間は取り下げられません。訂正は新しい版として公表され、前の文は公開の履歴に残ります。特定利用者情報の漏えいだけが公表されます。",
                "Publishing lists the entry on /leaks, /en/leaks and the policy page's leak section. Inside its window (ten years from occurrence) it cannot be withdrawn; a correction publishes a new version and keeps the earlier text in the public history. Only leaks of specified user information are published."))
        }
        (publication_state(lang, v))
        @if MANAGERS.contains(&staff.role) {
            (problem_box(lang, problem))
            @if latest.is_none() && v.withdrawal.is_none() {
                form #publish-form.no-print method="post" action=(format!("/admin/incidents/{id}/publish")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    (area("text", bi(lang, "事故内容（個人情報を含めないこと）", "The entry's text (no personal data)"), &val("text", &default_ja), problem))
                    (area("text_en", bi(lang, "事故内容（英語）", "The entry's text in English"), &val("text_en", &default_en), problem))
                    p { button #publish-submit type="submit" { (one(lang, "公表する", "Publish")) } }
                }
            }
            @if listed {
                h2 { (bi(lang, "訂正", "Correct")) }
                form #correct-form.no-print method="post" action=(format!("/admin/incidents/{id}/correct")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    (area("text", bi(lang, "訂正後の事故内容", "The corrected text"), &val("text", &default_ja), problem))
                    (area("text_en", bi(lang, "訂正後の事故内容（英語）", "The corrected text in English"), &val("text_en", &default_en), problem))
                    p { button #correct-submit type="submit" { (one(lang, "訂正を公表する", "Publish the correction")) } }
                }
                h2 { (bi(lang, "取下げ", "Withdraw")) }
                @if let Some(until) = v.listed_until {
                    p { (one(lang, "掲載期限 ", "Listed until ")) strong { (until) } (one(lang, "。この日が過ぎるまで取り下げられません。", ". It cannot be withdrawn before this day has passed.")) }
                }
                form #withdraw-form.no-print method="post" action=(format!("/admin/incidents/{id}/withdraw")) {
                    input type="hidden" name="csrf" value=(staff.csrf);
                    (text_input("reason", bi(lang, "理由", "Reason"), &val("reason", "掲載期間の終了"), true, problem, None))
                    p { button #withdraw-submit.secondary type="submit" { (one(lang, "取り下げる", "Withdraw")) } }
                }
            }
        }
        @if !v.publications.is_empty() {
            h2 { (bi(lang, "公表の履歴", "Public history")) }
            div.table-scroll {
                table #publications {
                    thead {
                        tr {
                            th scope="col" { (one(lang, "版", "Version")) }
                            th scope="col" { (one(lang, "公表日時", "Published")) }
                            th scope="col" { (one(lang, "発生日", "Occurred")) }
                            th scope="col" { (one(lang, "事故内容", "Text")) }
                            th scope="col" { (one(lang, "担当", "By")) }
                            th scope="col" { (one(lang, "監査記録", "Ledger entry")) }
                        }
                    }
                    tbody {
                        @for p in v.publications.iter().rev() {
                            tr {
                                th scope="row" { (p.version) }
                                td { (tokyo::minutes(p.published_at)) }
                                td { (p.occurred) }
                                td.message { (p.summary_ja) @if let Some(en) = &p.summary_en { span.en lang="en" { (en) } } }
                                td { (names.person(&p.published_by)) }
                                td { (p.audit_index) }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn publish_view(
    state: &AppState,
    staff: &StaffSession,
    id: IncidentId,
    q: &DoneQuery,
    form: Option<(&Fields, &Problem)>,
) -> Result<Response, AppError> {
    let now = Timestamp::now();
    let view = with_app(state, move |app| app.incident(&id, now)).await??;
    let names = Names::load(state, staff.lang).await?;
    let body = publish_body(staff, &names, &view, q, form.map(|f| f.0), form.map(|f| f.1));
    let title = one(staff.lang, "公表", "Publication");
    Ok(page_or_refused(staff, title, form.map(|f| f.1), body))
}

async fn publish_page(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AppError> {
    staff.require(OVERSIGHT)?;
    publish_view(&state, &staff, incident_id(&id)?, &q, None).await
}

/// One of the public entry's changes.
#[derive(Clone, Copy)]
enum Change {
    Publish,
    Correct,
    Withdraw,
}

async fn change_publication(
    state: AppState,
    staff: StaffSession,
    id: String,
    body: axum::body::Bytes,
    change: Change,
) -> Result<Response, AppError> {
    staff.require(MANAGERS)?;
    let f = Fields::parse(&body)?;
    staff.check_csrf(f.get("csrf"))?;
    let id = incident_id(&id)?;
    let by = person(&staff);
    let now = Timestamp::now();
    let text = Text { ja: f.get("text").to_string(), en: f.opt("text_en") };
    let reason = f.get("reason").to_string();
    let call = id.clone();
    let outcome = with_app(&state, move |app| match change {
        Change::Publish => app.publish_incident(&by, &call, Some(&text), now).map(|_| "published"),
        Change::Correct => app.correct_publication(&by, &call, &text, now).map(|_| "corrected"),
        Change::Withdraw => app.withdraw_incident(&by, &call, &reason, now).map(|_| "withdrawn"),
    })
    .await?
    .map_err(Problem::of);
    match outcome {
        Ok(what) => Ok(done(&id, "/publish", what)),
        Err(problem) => {
            let problem = problem?;
            publish_view(&state, &staff, id, &DoneQuery::default(), Some((&f, &problem))).await
        }
    }
}

async fn publish(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    change_publication(state, staff, id, body, Change::Publish).await
}

async fn correct(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    change_publication(state, staff, id, body, Change::Correct).await
}

async fn withdraw(
    State(state): State<AppState>,
    staff: StaffSession,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    change_publication(state, staff, id, body, Change::Withdraw).await
}

// ---------------------------------------------------------------------------------------------
// The dashboard's clocks

/// The dashboard's section: every report not yet submitted, with days left, overdue in red.
/// Empty markup without an application (pages-only tests).
pub(crate) async fn obligations_section(state: &AppState, lang: Lang) -> Result<Markup, AppError> {
    let Ok(app) = state.access_service() else { return Ok(html! {}) };
    let now = Timestamp::now();
    let open = tokio::task::spawn_blocking(move || app.open_obligations(now))
        .await
        .map_err(|e| AppError::internal(format!("incident task failed: {e}")))??;
    Ok(html! {
        section aria-labelledby="obligations" {
            h2 #obligations { (bi(lang, "報告期限（未提出）", "Reports due (not yet submitted)")) }
            @if open.is_empty() {
                p #obligations-none { (bi(lang, "未提出の報告はありません。", "No reports are due.")) }
            } @else {
                div.table-scroll {
                    table #obligations-due {
                        thead {
                            tr {
                                th scope="col" { (one(lang, "事案", "Incident")) }
                                th scope="col" { (one(lang, "報告", "Report")) }
                                th scope="col" { (one(lang, "期限", "Due")) }
                                th scope="col" { (one(lang, "残り", "Days left")) }
                            }
                        }
                        tbody {
                            @for o in &open {
                                tr.overdue-row[o.overdue] {
                                    th scope="row" { a href=(format!("/admin/incidents/{}", o.incident)) { (o.title) } br; code { (o.incident) } }
                                    td { a href=(report_path(&o.incident, o.regime, o.report)) { (regime_short(lang, o.regime)) " " (report_label(lang, o.report)) } }
                                    td { (o.due) @if o.unconfirmed { br; span.due-soon { (one(lang, "未確認の規定", "unconfirmed rule")) } } }
                                    td { (days_cell(lang, Some(o.days_left))) }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_are_numbered_in_the_impacts_order_never_shown() {
        let n = subscriber_ordinals(["HS2", "HS2", "HS1"].into_iter());
        assert_eq!((n["HS2"], n["HS1"], n.len()), (1, 2, 2));
    }

    #[test]
    fn a_time_field_names_itself_when_it_is_not_a_time() {
        let f = Fields(vec![("since".into(), "yesterday".into()), ("until".into(), "2026-06-10T09:30".into())]);
        let p = time(&f, "since").unwrap_err();
        assert_eq!(p.field, Some("since"));
        assert!(time(&f, "until").unwrap().is_some());
        assert_eq!(time(&f, "other").unwrap(), None);
    }
}
