//! Oversight's console pages (`/admin/oversight`) through the real router: a handler files a
//! violation report (and cannot read the register), an auditor reads but cannot acknowledge,
//! the chief manager acknowledges and resolves it; the designation, the chief manager's
//! appointment and notification, an opinion and its response — each form one application
//! function with an audit entry by the signed-in person; a refused form names its field and
//! changes nothing.

use tokutei_ledger::AdminAction;

use super::*;

fn count(site: &Site, action: AdminAction) -> usize {
    admin_entries(site).iter().filter(|a| a.action == action).count()
}

fn location(reply: &Reply) -> String {
    reply.headers.get(header::LOCATION).expect("a redirect").to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_violation_report_is_filed_by_a_handler_and_closed_by_the_chief_manager() {
    let site = site();
    let (chief, chief_csrf) = session(&site, "cpo", Role::ChiefManager);
    let (handler, handler_csrf) = session(&site, "op-1", Role::Handler);
    let (auditor, auditor_csrf) = session(&site, "audit-1", Role::Auditor);

    // A handler reaches the form from the navigation, not the register.
    let form = get(&site, "/admin/oversight/violations/new", &handler).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("violation-form") && form.body.contains("（3）"), "{}", form.body);
    assert_eq!(get(&site, "/admin/oversight/violations", &handler).await.status, StatusCode::FORBIDDEN);

    // An empty text is refused, named, and nothing is filed.
    let reply = post(
        &site,
        "/admin/oversight/violations",
        &handler,
        &[("csrf", &handler_csrf), ("principal", "op-1"), ("measure", "5"), ("text", "  ")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.body.contains("form-problem") && reply.body.contains("<code>text</code>"), "{}", reply.body);
    assert_eq!(count(&site, AdminAction::ViolationReported), 0);
    // Without the session's CSRF token nothing happens either.
    let reply = post(
        &site,
        "/admin/oversight/violations",
        &handler,
        &[("csrf", "forged"), ("principal", "op-1"), ("text", "USBメモリの持込み")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&site, AdminAction::ViolationReported), 0);

    let text = "同僚が取扱区域にUSBメモリを持ち込んでいた";
    let reply = post(
        &site,
        "/admin/oversight/violations",
        &handler,
        &[("csrf", &handler_csrf), ("principal", "op-1"), ("measure", "5"), ("text", text)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("VR-1") && reply.body.contains("受付番号"), "{}", reply.body);
    let reported = admin_entries(&site).into_iter().find(|a| a.action == AdminAction::ViolationReported).unwrap();
    assert_eq!(reported.subject, "violation/VR-1");
    assert!(reported.digest.is_some(), "the text is in the ledger only as its digest");
    let ledger_text = format!("{:?}", admin_entries(&site));
    assert!(!ledger_text.contains("USBメモリ"), "the report's text is not in the ledger");

    // The auditor reads the register and the report, and cannot acknowledge it.
    let list = get(&site, "/admin/oversight/violations", &auditor).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("VR-1") && list.body.contains("受付"), "{}", list.body);
    let page = get(&site, "/admin/oversight/violations/VR-1", &auditor).await;
    assert!(page.body.contains(text) && !page.body.contains("ack-form"), "{}", page.body);
    let reply = post(&site, "/admin/oversight/violations/VR-1/ack", &auditor, &[("csrf", &auditor_csrf)]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&site, AdminAction::ViolationAcknowledged), 0);

    // The chief manager acknowledges, then resolves; an unknown outcome is named first.
    let reply = post(&site, "/admin/oversight/violations/VR-1/ack", &chief, &[("csrf", &chief_csrf)]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(location(&reply), "/admin/oversight/violations/VR-1?done=acknowledged");
    assert_eq!(count(&site, AdminAction::ViolationAcknowledged), 1);
    let reply = post(&site, "/admin/oversight/violations/VR-1/ack", &chief, &[("csrf", &chief_csrf)]).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "acknowledged already: {}", reply.body);
    let reply = post(
        &site,
        "/admin/oversight/violations/VR-1/resolve",
        &chief,
        &[("csrf", &chief_csrf), ("outcome", "maybe"), ("text", "確認した")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("<code>outcome</code>"), "{}", reply.body);
    let reply = post(
        &site,
        "/admin/oversight/violations/VR-1/resolve",
        &chief,
        &[("csrf", &chief_csrf), ("outcome", "none"), ("incident", ""), ("text", "私物ではなく貸与品と確認した")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(count(&site, AdminAction::ViolationResolved), 1);
    let page = get(&site, "/admin/oversight/violations/VR-1?done=resolved", &chief).await;
    assert!(page.body.contains("終結（違反なし）") && page.body.contains("貸与品"), "{}", page.body);
    assert!(!page.body.contains("resolve-form"), "a resolved report has no form: {}", page.body);
    let overview = get(&site, "/admin/oversight", &auditor).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains("violations-summary"), "{}", overview.body);
}

#[tokio::test]
async fn the_designation_the_chief_manager_and_opinions_are_recorded_from_the_console() {
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let (auditor, _) = session(&site, "audit-1", Role::Auditor);

    let page = get(&site, "/admin/oversight/designation", &chief).await;
    assert!(page.body.contains("designation-none") && page.body.contains("designation-form"), "{}", page.body);
    // A bad date is named; nothing is recorded.
    let reply = post(
        &site,
        "/admin/oversight/designation",
        &chief,
        &[("csrf", &csrf), ("notified", "2026-13-01"), ("service", "fiber")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("<code>notified</code>"), "{}", reply.body);
    assert_eq!(count(&site, AdminAction::DesignationRecorded), 0);
    let reply = post(
        &site,
        "/admin/oversight/designation",
        &chief,
        &[("csrf", &csrf), ("notified", "2026-11-30"), ("service", "fiber"), ("service", "mobile")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(count(&site, AdminAction::DesignationRecorded), 1);
    let page = get(&site, "/admin/oversight/designation", &auditor).await;
    assert!(page.body.contains("2027-02-28") && page.body.contains("光インターネット接続サービス"), "{}", page.body);
    assert!(!page.body.contains("designation-form"), "auditors read only: {}", page.body);

    // The appointment opens its notification task; the notification closes it.
    let reply = post(
        &site,
        "/admin/oversight/manager/appoint",
        &chief,
        &[("csrf", &csrf), ("principal", "cpo"), ("from", "2026-12-01"), ("evidence", "取締役会決議")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(count(&site, AdminAction::ChiefManagerAppointed), 1);
    let page = get(&site, "/admin/oversight/manager", &chief).await;
    assert!(page.body.contains("CM-1") && page.body.contains("（在任）"), "{}", page.body);
    let reply = post(
        &site,
        "/admin/oversight/manager/notified",
        &chief,
        &[("csrf", &csrf), ("appointment", "CM-1"), ("filed", "2026-12-02"), ("reference", "")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "an empty reference is named: {}", reply.body);
    assert!(reply.body.contains("<code>reference</code>"), "{}", reply.body);
    assert_eq!(count(&site, AdminAction::ChiefManagerNotified), 0);
    let reply = post(
        &site,
        "/admin/oversight/manager/notified",
        &chief,
        &[("csrf", &csrf), ("appointment", "CM-1"), ("filed", "2026-12-02"), ("reference", "届出-2026-004")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(count(&site, AdminAction::ChiefManagerNotified), 1);

    let reply = post(
        &site,
        "/admin/oversight/opinions",
        &chief,
        &[("csrf", &csrf), ("given", "2026-12-03"), ("subject", "委託先の監督"), ("text", "年1回の実地監査を求める")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let reply = post(
        &site,
        "/admin/oversight/opinions/OP-1/respond",
        &chief,
        &[("csrf", &csrf), ("date", "2026-12-04"), ("text", "来年度から実施する")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(count(&site, AdminAction::OpinionRecorded), 1);
    assert_eq!(count(&site, AdminAction::OpinionResponded), 1);
    let page = get(&site, "/admin/oversight/manager", &auditor).await;
    assert!(page.body.contains("届出-2026-004") && page.body.contains("来年度から実施する"), "{}", page.body);
    assert!(!page.body.contains("appoint-form"), "auditors read only");
    let overview = get(&site, "/admin/oversight", &chief).await;
    assert!(overview.body.contains("manager-active") && overview.body.contains("deadlines"), "{}", overview.body);
}

const RULES: &str = include_str!("../../../tokutei-policy/policies/hoshizora-tsushin-rules.toml");

/// The 情報取扱規程 from the console: a file failing the check is shown again with its line and
/// nothing registered; the valid one is version 1, listed as never filed until its filing is
/// recorded; the print page carries the document; an auditor reads but registers nothing, a
/// handler reads nothing.
#[tokio::test]
async fn rules_are_registered_and_filed_from_the_console() {
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let (auditor, auditor_csrf) = session(&site, "audit-1", Role::Auditor);
    let (handler, _) = session(&site, "op-1", Role::Handler);

    let page = get(&site, "/admin/oversight/rules", &chief).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("rules-none") && page.body.contains("rules-form"), "{}", page.body);
    assert_eq!(get(&site, "/admin/oversight/rules", &handler).await.status, StatusCode::FORBIDDEN);

    let without_owner = RULES.replacen("owner = \"responsible_person\"\n", "", 1);
    let line = RULES.lines().position(|l| l == "measure = \"human\"").unwrap() + 1;
    let reply = post(&site, "/admin/oversight/rules", &chief, &[("csrf", &csrf), ("source", &without_owner)]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(
        reply.body.contains("<code>source</code>") && reply.body.contains(&format!("line {line}")),
        "{}",
        reply.body
    );
    assert_eq!(count(&site, AdminAction::RulesRegistered), 0);
    let reply = post(&site, "/admin/oversight/rules", &auditor, &[("csrf", &auditor_csrf), ("source", RULES)]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    let reply = post(&site, "/admin/oversight/rules", &chief, &[("csrf", &csrf), ("source", RULES)]).await;
    assert_eq!(location(&reply), "/admin/oversight/rules/1?done=registered");
    assert_eq!(count(&site, AdminAction::RulesRegistered), 1);
    let again = post(&site, "/admin/oversight/rules", &chief, &[("csrf", &csrf), ("source", RULES)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let list = get(&site, "/admin/oversight/rules", &auditor).await;
    assert!(list.body.contains("rules-v1") && list.body.contains("未届出"), "{}", list.body);
    assert!(!list.body.contains("rules-form"), "auditors read only");
    let overview = get(&site, "/admin/oversight", &auditor).await;
    assert!(overview.body.contains("rules-summary") && overview.body.contains("未届出の版"), "{}", overview.body);

    // A filing before the enactment is refused naming the date; then recorded.
    let reply = post(
        &site,
        "/admin/oversight/rules/1/filings",
        &chief,
        &[("csrf", &csrf), ("date", "2026-03-31"), ("reference", "総基利第5号")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.body.contains("<code>date</code>"), "{}", reply.body);
    let reply = post(
        &site,
        "/admin/oversight/rules/1/filings",
        &chief,
        &[("csrf", &csrf), ("date", "2026-04-10"), ("reference", "総基利第5号")],
    )
    .await;
    assert_eq!(location(&reply), "/admin/oversight/rules/1?done=filed");
    assert_eq!(count(&site, AdminAction::RulesFiled), 1);
    let page = get(&site, "/admin/oversight/rules/1", &auditor).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("rules-document") && page.body.contains("第1章 総則"), "{}", page.body);
    assert!(page.body.contains("2026年4月10日（総基利第5号）") && !page.body.contains("filing-form"), "{}", page.body);
    assert_eq!(get(&site, "/admin/oversight/rules/9", &chief).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&site, "/admin/oversight/rules/x", &chief).await.status, StatusCode::NOT_FOUND);
}
