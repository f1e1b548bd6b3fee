//! The incident register's console pages (`/admin/incidents`, `/admin/alerts`, the
//! dashboard's clocks) through the real router: each form calls one application function
//! with the signed-in person (an audit entry each), a refused form names its field and changes
//! nothing, a final report cannot be recorded with an item empty, the impact page shows counts
//! and ledger indexes but no subscriber id, the public entry reaches `/leaks` and cannot be
//! withdrawn inside its window, auditors read only; the edit form saves a new version, the
//! impact page's proof verifies against a signed checkpoint, a manager re-queues a failed
//! alert (an auditor cannot), and the letters read contacts through the gateway (each read an
//! entry, none shown for a purpose that does not allow them). Snapshots of the incident page
//! and a report's print view.

use tokutei_ledger::{AccessEvent, Action, Actor, Decision, Entry, RequestMeta};

use super::*;

/// Every `YYYY-MM-DD HH:MM` of `now` (taken before and after a request) and every count of
/// days, which move with the day the test runs, replaced by placeholders.
fn redact(html: &str, stamps: &[String]) -> String {
    let mut out = html.to_string();
    for s in stamps {
        out = out.replace(s.as_str(), "[now]");
    }
    // Days left or overdue: the digits before `日` (Japanese) after `あと` / `期限超過 `.
    for marker in ["期限超過 ", "あと"] {
        let mut result = String::new();
        let mut rest = out.as_str();
        while let Some(at) = rest.find(marker) {
            result.push_str(&rest[..at + marker.len()]);
            rest = &rest[at + marker.len()..];
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            if digits > 0 {
                result.push_str("[n]");
                rest = &rest[digits..];
            }
        }
        result.push_str(rest);
        out = result;
    }
    out
}

fn minutes_now() -> String {
    tokutei_policy::tokyo::minutes(jiff::Timestamp::now())
}

fn location(reply: &Reply) -> String {
    reply.headers.get(header::LOCATION).expect("a redirect").to_str().unwrap().to_string()
}

const OPEN_FORM: &[(&str, &str)] = &[
    ("title", "委託先端末からの顧客情報の閲覧"),
    ("title_en", "Customer data viewed from a processor's terminal"),
    ("known_at", "2026-06-10T09:30"),
    ("discovered_at", "2026-06-09T18:00"),
    ("occurred_at", "2026-06-08T10:00"),
    ("regime", "tokutei"),
    ("regime", "appi"),
    ("persons", "120"),
    ("estimated", "1"),
    ("summary", "委託先の端末から顧客の氏名が閲覧された。"),
    ("category", "contract.name"),
];

/// Open the incident of [`OPEN_FORM`] as `cookie`; its id.
async fn open_incident(site: &Site, cookie: &str, csrf: &str) -> String {
    let mut form = vec![("csrf", csrf)];
    form.extend_from_slice(OPEN_FORM);
    let reply = post(site, "/admin/incidents", cookie, &form).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let to = location(&reply);
    assert!(to.ends_with("?done=opened"), "{to}");
    to.trim_start_matches("/admin/incidents/").split('?').next().unwrap().to_string()
}

fn count(site: &Site, action: AdminAction) -> usize {
    admin_entries(site).iter().filter(|a| a.action == action).count()
}

#[tokio::test]
async fn the_console_runs_an_incident_from_opening_to_publication_with_an_audit_entry_each() {
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let list = get(&site, "/admin/incidents", &chief).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("incidents-empty"), "{}", list.body);

    let id = open_incident(&site, &chief, &csrf).await;
    let opened = admin_entries(&site).into_iter().find(|a| a.action == AdminAction::IncidentOpened).unwrap();
    assert_eq!(opened.subject, format!("incident/{id}"));
    let list = get(&site, "/admin/incidents", &chief).await;
    assert!(list.body.contains(&id) && list.body.contains("委託先端末からの顧客情報の閲覧"), "{}", list.body);

    // Triage: malicious → the APPI reports become owed (確報 60 days).
    let before = minutes_now();
    let reply = post(
        &site,
        &format!("/admin/incidents/{id}/triage"),
        &chief,
        &[("csrf", &csrf), ("malicious", "1"), ("persons", "120"), ("regime", "tokutei"), ("regime", "appi")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(count(&site, AdminAction::IncidentTriaged), 1);
    let page = get(&site, &format!("/admin/incidents/{id}?done=triaged"), &chief).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("不正の目的") && page.body.contains("確報"), "{}", page.body);
    assert!(page.body.contains("2026-08-09"), "the APPI final report is due 60 days after 2026-06-10: {}", page.body);
    let stamps = [before, minutes_now()];
    insta::assert_snapshot!(
        "incident_ja",
        redact(&one_tag_per_line(&page.body), &stamps).replace(&id, "[id]").replace(&csrf, "[csrf]")
    );

    // English first when the console is switched; the report itself stays Japanese.
    let english = format!("{chief}; tokutei_console_lang=en");
    let page = get(&site, &format!("/admin/incidents/{id}"), &english).await;
    assert!(page.body.contains("<html lang=\"en\"") && page.body.contains("Reports owed"), "{}", page.body);
    let report = get(&site, &format!("/admin/incidents/{id}/reports/tokutei/first"), &english).await;
    assert!(report.body.contains("<article class=\"report\" id=\"report\" lang=\"ja\">"), "{}", report.body);

    // The first report: printed as is, recorded with its reference number and digest.
    let first = format!("/admin/incidents/{id}/reports/tokutei/first");
    let report = get(&site, &first, &chief).await;
    assert_eq!(report.status, StatusCode::OK);
    insta::assert_snapshot!(
        "incident_report_print_ja",
        one_tag_per_line(&report.body).replace(&id, "[id]").replace(&csrf, "[csrf]")
    );
    let reply = post(
        &site,
        &first,
        &chief,
        &[("csrf", &csrf), ("submitted_at", ""), ("recipient", "関東総合通信局"), ("reference", "関東-2026-001")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let submitted =
        admin_entries(&site).into_iter().find(|a| a.action == AdminAction::IncidentReportSubmitted).unwrap();
    assert!(submitted.digest.is_some(), "the document's digest is in the entry");
    let report = get(&site, &first, &chief).await;
    assert!(report.body.contains("関東-2026-001") && report.body.contains("submission-record"), "{}", report.body);

    // The detailed report has empty items: it cannot be recorded as submitted.
    let detailed = format!("/admin/incidents/{id}/reports/tokutei/detailed");
    let page = get(&site, &detailed, &chief).await;
    assert!(page.body.contains("report-missing") && page.body.contains("（未記入）"), "{}", page.body);
    let reply = post(&site, &detailed, &chief, &[("csrf", &csrf), ("recipient", "関東総合通信局")]).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(reply.body.contains("form-problem") && reply.body.contains("empty items"), "{}", reply.body);
    assert_eq!(count(&site, AdminAction::IncidentReportSubmitted), 1, "nothing was recorded");

    // Publication: on /leaks; inside the window it cannot be withdrawn, a correction keeps the old text.
    let reply = post(
        &site,
        &format!("/admin/incidents/{id}/publish"),
        &chief,
        &[("csrf", &csrf), ("text", "委託先の端末から顧客情報が閲覧されました。"), ("text_en", "")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let leaks = get(&site, "/leaks", "").await;
    assert!(leaks.body.contains("委託先の端末から顧客情報が閲覧されました。"), "{}", leaks.body);
    let reply = post(
        &site,
        &format!("/admin/incidents/{id}/correct"),
        &chief,
        &[("csrf", &csrf), ("text", "委託先の端末から顧客の氏名が閲覧されました。")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let publish = get(&site, &format!("/admin/incidents/{id}/publish"), &chief).await;
    assert!(
        publish.body.contains("委託先の端末から顧客情報が閲覧されました。")
            && publish.body.contains("委託先の端末から顧客の氏名が閲覧されました。"),
        "both versions are shown: {}",
        publish.body
    );
    let reply =
        post(&site, &format!("/admin/incidents/{id}/withdraw"), &chief, &[("csrf", &csrf), ("reason", "誤り")]).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert!(reply.body.contains("2036-06-07"), "the refusal names the window's end: {}", reply.body);
    assert_eq!(count(&site, AdminAction::IncidentWithdrawn), 0);
    assert!(get(&site, "/leaks", "").await.body.contains("委託先の端末から顧客の氏名が閲覧されました。"));
}

#[tokio::test]
async fn a_refused_incident_form_names_its_field_and_changes_nothing() {
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let entries = admin_entries(&site).len();
    for (field, value, named) in [
        ("known_at", "yesterday", "known_at"),
        ("known_at", "2099-01-01T00:00", "known_at"),
        ("persons", "many", "persons"),
        ("title", "", "title"),
        ("category", "no.such.category", "category"),
    ] {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend(OPEN_FORM.iter().copied().filter(|(k, _)| *k != field));
        form.push((field, value));
        let reply = post(&site, "/admin/incidents", &chief, &form).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{field}={value}: {}", reply.body);
        assert!(reply.body.contains(&format!("href=\"#{named}\"")), "{field}={value} names `{named}`: {}", reply.body);
        // What was typed is shown again.
        assert!(reply.body.contains("委託先端末からの顧客情報の閲覧") || field == "title", "{field}");
    }
    let form: Vec<(&str, &str)> = [("csrf", csrf.as_str())]
        .into_iter()
        .chain(OPEN_FORM.iter().copied().filter(|(k, _)| *k != "regime"))
        .collect();
    let reply = post(&site, "/admin/incidents", &chief, &form).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("href=\"#regime\""), "{}", reply.body);
    assert_eq!(admin_entries(&site).len(), entries, "no entry was written");
    assert!(get(&site, "/admin/incidents", &chief).await.body.contains("incidents-empty"));

    // An impact window that ends before it starts: named, nothing computed.
    let id = open_incident(&site, &chief, &csrf).await;
    let reply = post(
        &site,
        &format!("/admin/incidents/{id}/impact"),
        &chief,
        &[("csrf", &csrf), ("principal", "cpo"), ("since", "2026-06-10"), ("until", "2026-06-01")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.body.contains("href=\"#until\""), "{}", reply.body);
    assert_eq!(count(&site, AdminAction::IncidentImpactComputed), 0);
}

/// A handler `op-7` who read HSZQX00001's name and HSZQX00002's name and address on
/// 2026-06-05: the ledger index of the first read.
fn reads_by_op7(site: &Site) -> u64 {
    session(site, "op-7", Role::Handler);
    let at: jiff::Timestamp = "2026-06-05T01:00:00Z".parse().unwrap();
    let read = |subscriber: &str, category: &str| {
        Entry::access(
            at,
            Actor::Staff("op-7".into()),
            AccessEvent {
                action: Action::Read,
                purpose: "support".into(),
                subscribers: vec![subscriber.into()],
                categories: vec![category.into()],
                decision: Decision::Allow,
                reasons: vec![],
                rules: vec![],
                policy_digest: [0; 32],
                request: RequestMeta::default(),
            },
        )
    };
    let first = site.ledger.append(&read("HSZQX00001", "contract.name")).unwrap().index;
    site.ledger.append(&read("HSZQX00002", "contract.name")).unwrap();
    site.ledger.append(&read("HSZQX00002", "contract.address")).unwrap();
    first
}

/// Compute the impact of `op-7`'s reads in June 2026 on incident `id`.
async fn impact_of_op7(site: &Site, cookie: &str, csrf: &str, id: &str) -> Reply {
    post(
        site,
        &format!("/admin/incidents/{id}/impact"),
        cookie,
        &[
            ("csrf", csrf),
            ("principal", "op-7"),
            ("since", "2026-06-01"),
            ("until", "2026-06-10"),
            ("set_persons", "1"),
        ],
    )
    .await
}

#[tokio::test]
async fn the_impact_page_shows_counts_and_ledger_indexes_but_no_subscriber_id() {
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let first = reads_by_op7(&site);
    let id = open_incident(&site, &chief, &csrf).await;
    let reply = impact_of_op7(&site, &chief, &csrf, &id).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let page = get(&site, &format!("/admin/incidents/{id}/impact"), &chief).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("class=\"affected\">2<"), "two subscribers: {}", page.body);
    assert!(page.body.contains(&format!("/admin/incidents/{id}/proof/{first}")), "{}", page.body);
    assert!(!page.body.contains("HSZQX"), "no subscriber id on the page: {}", page.body);
    let show = get(&site, &format!("/admin/incidents/{id}"), &chief).await;
    assert!(!show.body.contains("HSZQX") && show.body.contains("2人"), "{}", show.body);
    // No checkpoint is signed yet: the proof says so, it does not fail.
    let proof = get(&site, &format!("/admin/incidents/{id}/proof/{first}"), &chief).await;
    assert_eq!(proof.status, StatusCode::CONFLICT);
    // An index that is not behind the impact is not found.
    let other = get(&site, &format!("/admin/incidents/{id}/proof/999999"), &chief).await;
    assert!(matches!(other.status, StatusCode::NOT_FOUND | StatusCode::CONFLICT), "{}", other.status);
}

/// What every change form of the incident pages starts with.
const CHANGE_FORM: &str = "method=\"post\" action=\"/admin/incidents/";

#[tokio::test]
async fn auditors_read_the_register_and_change_nothing() {
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let id = open_incident(&site, &chief, &csrf).await;
    let (auditor, auditor_csrf) = session(&site, "audit-1", Role::Auditor);
    for path in [
        "/admin/incidents".to_string(),
        format!("/admin/incidents/{id}"),
        format!("/admin/incidents/{id}/impact"),
        format!("/admin/incidents/{id}/notices"),
        format!("/admin/incidents/{id}/publish"),
        format!("/admin/incidents/{id}/reports/tokutei/first"),
        "/admin/alerts".to_string(),
    ] {
        let reply = get(&site, &path, &auditor).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(!reply.body.contains(CHANGE_FORM), "{path}: no change forms for an auditor");
    }
    // The same pages carry those forms for a manager.
    assert!(get(&site, &format!("/admin/incidents/{id}"), &chief).await.body.contains(CHANGE_FORM));
    let entries = admin_entries(&site).len();
    let reply = post(&site, &format!("/admin/incidents/{id}/triage"), &auditor, &[("csrf", &auditor_csrf)]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = post(&site, &format!("/admin/incidents/{id}/publish"), &auditor, &[("csrf", &auditor_csrf)]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(admin_entries(&site).len(), entries);
}

#[tokio::test]
async fn the_dashboard_shows_open_reports_with_days_left_overdue_in_red() {
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let dashboard = get(&site, "/admin/", &chief).await;
    assert!(dashboard.body.contains("obligations-none"), "{}", dashboard.body);
    let id = open_incident(&site, &chief, &csrf).await;
    let dashboard = get(&site, "/admin/", &chief).await;
    assert!(dashboard.body.contains(&format!("href=\"/admin/incidents/{id}/reports/tokutei/first\"")));
    // Known on 2026-06-10: the first report (a day) is overdue whenever this runs after 2026-06-11.
    assert!(
        dashboard.body.contains("class=\"overdue-row\"") && dashboard.body.contains("期限超過"),
        "{}",
        dashboard.body
    );
    let alerts = get(&site, "/admin/alerts", &chief).await;
    assert_eq!(alerts.status, StatusCode::OK);
    assert!(alerts.body.contains("alerts-empty"), "{}", alerts.body);
    let retry = post(&site, "/admin/alerts/al-0123456789ab/retry", &chief, &[("csrf", &csrf)]).await;
    assert_eq!(retry.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn notices_are_logged_per_person_without_their_ids_and_the_alternative_needs_its_reason() {
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    reads_by_op7(&site);
    let id = open_incident(&site, &chief, &csrf).await;
    assert_eq!(impact_of_op7(&site, &chief, &csrf, &id).await.status, StatusCode::SEE_OTHER);
    let notices = format!("/admin/incidents/{id}/notices");
    // Only affected persons: someone else is refused, naming the field.
    let reply =
        post(&site, &notices, &chief, &[("csrf", &csrf), ("method", "post"), ("subscriber", "HSZQX00009")]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.body.contains("href=\"#subscriber\""), "{}", reply.body);
    let reply = post(
        &site,
        &notices,
        &chief,
        &[("csrf", &csrf), ("method", "post"), ("subscriber", "HSZQX00001\r\nHSZQX00002\r\n"), ("sent_at", "")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(count(&site, AdminAction::IncidentNoticesRecorded), 1);
    let page = get(&site, &notices, &chief).await;
    assert!(page.body.contains("id=\"notices-sent\">2"), "two notices: {}", page.body);
    assert!(!page.body.contains("HSZQX"), "no subscriber id in the sent log: {}", page.body);

    // Without a reason the alternative measure is refused, naming the field; nothing recorded.
    let alternative = format!("/admin/incidents/{id}/alternative");
    let reply =
        post(&site, &alternative, &chief, &[("csrf", &csrf), ("measure", "ウェブサイトでの公表"), ("reason", "")])
            .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.body.contains("href=\"#reason\""), "{}", reply.body);
    assert_eq!(count(&site, AdminAction::IncidentAlternativeRecorded), 0);
    let reply = post(
        &site,
        &alternative,
        &chief,
        &[("csrf", &csrf), ("measure", "ウェブサイトでの公表"), ("reason", "連絡先不明の利用者がいるため")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert!(get(&site, &notices, &chief).await.body.contains("連絡先不明の利用者がいるため"));
}

/// Every administrative entry with its ledger index and actor.
fn admin_entries_at(site: &Site) -> Vec<(u64, Actor, tokutei_ledger::AdminEvent)> {
    let mut out = Vec::new();
    site.ledger
        .scan_entries(0, &mut |e| {
            let entry = e.decode()?;
            if let tokutei_ledger::Event::Admin(a) = entry.event {
                out.push((e.index, entry.actor, a));
            }
            Ok(true)
        })
        .unwrap();
    out
}

/// The edit form of [`OPEN_FORM`]'s incident as stored, with `changes` over it.
fn edit_form<'a>(csrf: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![("csrf", csrf)];
    form.extend(
        OPEN_FORM
            .iter()
            .copied()
            .filter(|(k, _)| !["regime", "persons", "estimated"].contains(k))
            .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k)),
    );
    form.extend_from_slice(changes);
    form
}

#[tokio::test]
async fn the_edit_form_saves_a_new_version_and_a_refused_one_changes_nothing() {
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let id = open_incident(&site, &chief, &csrf).await;
    let edit = format!("/admin/incidents/{id}/edit");
    let form = get(&site, &edit, &chief).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("value=\"2026-06-10T09:30\""), "the stored time is shown: {}", form.body);

    let reply = post(&site, &edit, &chief, &edit_form(&csrf, &[("title", "委託先端末からの氏名の閲覧")])).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert!(location(&reply).ends_with("?done=updated"), "{}", location(&reply));
    let updated: Vec<_> =
        admin_entries_at(&site).into_iter().filter(|(_, _, a)| a.action == AdminAction::IncidentUpdated).collect();
    assert_eq!(updated.len(), 1);
    let (index, actor, entry) = &updated[0];
    assert_eq!((actor, entry.subject.as_str()), (&Actor::Staff("cpo".into()), format!("incident/{id}").as_str()));
    let page = get(&site, &format!("/admin/incidents/{id}"), &chief).await;
    assert!(page.body.contains("委託先端末からの氏名の閲覧"), "{}", page.body);
    let history = page.body.split("id=\"history\"").nth(1).expect("the history table");
    assert!(
        history.contains("<th scope=\"row\">2</th>") && history.contains(&format!("<td>{index}</td>")),
        "version 2 with its ledger entry: {history}"
    );

    // A bad time is named, what was typed is shown again, and nothing changes.
    let size = site.ledger.tree_size().unwrap();
    let reply =
        post(&site, &edit, &chief, &edit_form(&csrf, &[("title", "別の件名Zqx"), ("known_at", "yesterday")])).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.body.contains("href=\"#known_at\""), "{}", reply.body);
    assert!(reply.body.contains("別の件名Zqx"), "the typed title is shown again: {}", reply.body);
    assert_eq!(site.ledger.tree_size().unwrap(), size, "no entry was written");
    let page = get(&site, &format!("/admin/incidents/{id}"), &chief).await;
    assert!(!page.body.contains("別の件名Zqx") && !page.body.contains("<th scope=\"row\">3</th>"), "{}", page.body);
}

#[tokio::test]
async fn the_impact_page_proof_download_verifies_against_the_signed_checkpoint() {
    use tokutei_app::checkpoints::{Checkpoints, check_proof};
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let first = reads_by_op7(&site);
    let id = open_incident(&site, &chief, &csrf).await;
    assert_eq!(impact_of_op7(&site, &chief, &csrf, &id).await.status, StatusCode::SEE_OTHER);
    let ledger: Arc<dyn LedgerStore> = site.ledger.clone();
    let log =
        Checkpoints::new(ledger, tokutei_ledger::CheckpointSigner::from_seed("tokutei.test/console", [5; 32]).unwrap());
    let checkpoint = log.latest(jiff::Timestamp::now()).unwrap();

    let reply = get(&site, &format!("/admin/incidents/{id}/proof/{first}"), &chief).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
    assert!(
        reply.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains(&format!("tokutei-proof-{first}.json")),
        "a download"
    );
    let proof: tokutei_ledger::Proof = serde_json::from_str(&reply.body).unwrap();
    let checked = check_proof(&proof, &checkpoint.note, &log.verifier());
    assert!(checked.ok, "{}", checked.message);
    let Some(tokutei_ledger::Event::Access(read)) = checked.entry.map(|e| e.event) else {
        panic!("entry {first} is a read")
    };
    assert_eq!((read.subscribers, read.categories), (vec!["HSZQX00001".to_string()], vec!["contract.name".into()]));
    // Another ledger's key does not vouch for it.
    let other = tokutei_ledger::CheckpointSigner::from_seed("tokutei.test/console", [6; 32]).unwrap();
    assert!(!check_proof(&proof, &checkpoint.note, &other.verifier()).ok);
}

#[tokio::test]
async fn a_manager_retries_a_failed_alert_and_an_auditor_cannot() {
    use tokutei_app::alerts::{AlertConfig, AlertRequest, AttemptOutcome, Bilingual, WebhookConfig};
    use tokutei_store::outbox::{AlertState, AlertStore, AttemptResult};
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let (auditor, auditor_csrf) = session(&site, "audit-1", Role::Auditor);
    // The outbox's own functions, on the router's store and ledger, with a webhook configured.
    let outbox = tokutei_app::App::new(
        site.store.clone(),
        site.ledger.clone(),
        site.app.keys().clone(),
        tokutei_gateway::Deployment::default(),
        Vec::new(),
    )
    .with_alerts(AlertConfig {
        max_attempts: 1,
        retry_after_seconds: 60,
        retry_cap_seconds: 600,
        webhook: Some(WebhookConfig {
            url: "http://127.0.0.1:9/hook".into(),
            secret_file: "keys/w.secret".into(),
            timeout_seconds: 5,
        }),
        email: None,
    });
    let now = jiff::Timestamp::now();
    let chief_acting = tokutei_app::Acting::Person("cpo".into());
    let request = AlertRequest {
        kind: "test".into(),
        subject: "incident/INC-1".into(),
        event: "incident/INC-1/test".into(),
        title: Bilingual { ja: "試験".into(), en: "Test".into() },
        text: Bilingual { ja: "試験の通知です。".into(), en: "A test alert.".into() },
        due: None,
        responsible: vec![tokutei_app::PrincipalId::parse("cpo").unwrap()],
        details: vec![],
    };
    let id = outbox.enqueue_alert(&chief_acting, &request, now).unwrap()[0].id.clone();
    assert_eq!(outbox.claim_due(now, 10).unwrap().len(), 1);
    let failed = AttemptOutcome {
        delivered: false,
        status: Some(500),
        error: None,
        duration: std::time::Duration::from_millis(7),
    };
    assert_eq!(outbox.record_attempt(&id, &failed, now).unwrap(), AttemptResult::Failed);
    let page = get(&site, "/admin/alerts", &chief).await;
    assert!(page.body.contains(&format!("id=\"retry-{id}\"")), "a retry button: {}", page.body);

    let retry = format!("/admin/alerts/{id}/retry");
    let size = site.ledger.tree_size().unwrap();
    let reply = post(&site, &retry, &auditor, &[("csrf", &auditor_csrf)]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
    assert_eq!(site.ledger.tree_size().unwrap(), size, "no entry");
    assert_eq!(site.store.alert(id.as_str()).unwrap().unwrap().state, AlertState::Failed);

    let reply = post(&site, &retry, &chief, &[("csrf", &csrf)]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(location(&reply), "/admin/alerts?done=retried");
    let stored = site.store.alert(id.as_str()).unwrap().unwrap();
    assert_eq!((stored.state, stored.attempts), (AlertState::Pending, 0));
    let requeued: Vec<_> =
        admin_entries_at(&site).into_iter().filter(|(_, _, a)| a.action == AdminAction::AlertRequeued).collect();
    assert_eq!(requeued.len(), 1);
    assert_eq!(
        (&requeued[0].1, requeued[0].2.subject.as_str()),
        (&Actor::Staff("cpo".into()), format!("alert/{id}").as_str())
    );
    assert!(requeued[0].0 >= size, "written by the retry");
}

const CONTACT_1: &str = "zqx-one@example.jp";
const CONTACT_2: &str = "zqx-two@example.jp";

/// HSZQX00001 and HSZQX00002 in the vault with their e-mail addresses, through the import.
fn import_contacts(site: &Site) {
    let csv = format!(
        "subscriber,service,state,started_on,method,collected_at,collected_by,contract.name,contract.email\n\
         HSZQX00001,fiber,active,2024-04-01,written,2024-04-01,shop-1,星空 一郎,{CONTACT_1}\n\
         HSZQX00002,fiber,active,2024-04-01,written,2024-04-01,shop-1,星空 二郎,{CONTACT_2}\n"
    );
    let policy = tokutei_policy::parse(DEMO_POLICY).unwrap();
    let target = tokutei_app::import::ImportTarget {
        store: &*site.store,
        ledger: &*site.ledger,
        keys: &**site.app.keys(),
        actor: Actor::System("test".into()),
    };
    let bytes = csv.into_bytes();
    let summary = tokutei_app::import::import(
        &target,
        &policy,
        1,
        || Ok(Box::new(std::io::Cursor::new(bytes.clone())) as Box<dyn std::io::Read>),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(summary.rows, 2);
}

#[tokio::test]
async fn the_letters_page_reads_contacts_through_the_gateway_and_a_purpose_without_them_shows_none() {
    use tokutei_store::staff::RangeGrant;
    let site = site();
    import_contacts(&site);
    let grants = Grants {
        data_range: vec![RangeGrant { service: "fiber".into(), categories: vec!["contract.email".into()] }],
        purposes: vec!["service_provision".into(), "network_security".into()],
        ..Grants::default()
    };
    let (chief, csrf) = session_with(&site, "cpo", Role::ChiefManager, grants);
    reads_by_op7(&site);
    let id = open_incident(&site, &chief, &csrf).await;
    assert_eq!(impact_of_op7(&site, &chief, &csrf, &id).await.status, StatusCode::SEE_OTHER);
    let letters = format!("/admin/incidents/{id}/letters");

    let size = site.ledger.tree_size().unwrap();
    let reply = post(
        &site,
        &letters,
        &chief,
        &[
            ("csrf", &csrf),
            ("purpose", "service_provision"),
            ("contact", "contract.email"),
            ("channel", "email"),
            ("subscribers", ""),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    // Every read is a durable entry by the signed-in person for the purpose, and the page names them.
    let mut read = std::collections::BTreeSet::new();
    for index in size..site.ledger.tree_size().unwrap() {
        let entry = site.ledger.ledger_entry(index).unwrap().unwrap().decode().unwrap();
        if let tokutei_ledger::Event::Access(access) = entry.event {
            assert_eq!(entry.actor, Actor::Staff("cpo".into()));
            assert_eq!((access.purpose.as_str(), access.decision), ("service_provision", Decision::Allow));
            assert_eq!(access.categories, ["contract.email"]);
            assert!(reply.body.contains(&index.to_string()), "entry {index} is named on the page");
            read.extend(access.subscribers);
        }
    }
    assert_eq!(read.into_iter().collect::<Vec<_>>(), ["HSZQX00001", "HSZQX00002"], "each contact read is audited");
    assert!(reply.body.contains(CONTACT_1) && reply.body.contains(CONTACT_2), "{}", reply.body);
    assert_eq!(reply.body.matches("class=\"letter\"").count(), 2, "{}", reply.body);

    // A purpose the policy does not allow for contacts: denied (and audited), no contact shown.
    let size = site.ledger.tree_size().unwrap();
    let reply = post(
        &site,
        &letters,
        &chief,
        &[
            ("csrf", &csrf),
            ("purpose", "network_security"),
            ("contact", "contract.email"),
            ("channel", "email"),
            ("subscribers", ""),
        ],
    )
    .await;
    assert!(!reply.body.contains(CONTACT_1) && !reply.body.contains(CONTACT_2), "{}", reply.body);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    let mut denied = 0;
    for index in size..site.ledger.tree_size().unwrap() {
        let entry = site.ledger.ledger_entry(index).unwrap().unwrap().decode().unwrap();
        if let tokutei_ledger::Event::Access(access) = entry.event {
            assert_eq!(access.decision, Decision::Deny, "entry {index}");
            assert_eq!(access.reasons, ["category_not_in_purpose"], "the policy denies it, not a missing grant");
            denied += 1;
        }
    }
    assert!(denied > 0, "the denial is audited");
    assert_eq!(count(&site, AdminAction::IncidentNoticesRecorded), 0, "nothing is logged as sent");
}
