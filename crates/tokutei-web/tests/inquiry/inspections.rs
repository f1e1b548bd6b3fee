//! The self-inspection reports' console pages (`/admin/oversight/inspections`) through the real
//! router: a manager runs a finished month (an unfinished one is refused naming `period`),
//! reads the report's print page, adds a finding and closes it — one application function and
//! one audit entry each; an auditor reads but cannot change anything. Snapshot of the report as
//! it prints.

use super::*;

fn location(reply: &Reply) -> String {
    reply.headers.get(header::LOCATION).expect("a redirect").to_str().unwrap().to_string()
}

#[tokio::test]
async fn the_console_runs_a_self_inspection_and_tracks_its_findings_to_closure() {
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let (auditor, auditor_csrf) = session(&site, "audit-1", Role::Auditor);
    let list = get(&site, "/admin/oversight/inspections", &chief).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("報告はありません") && list.body.contains("run-inspection"), "{}", list.body);
    let read_only = get(&site, "/admin/oversight/inspections", &auditor).await;
    assert_eq!(read_only.status, StatusCode::OK);
    assert!(!read_only.body.contains("run-inspection"), "{}", read_only.body);

    // The report names a signed checkpoint covering the month.
    let signer = tokutei_ledger::CheckpointSigner::from_seed("tokutei.local/console-test", [5; 32]).unwrap();
    let checkpoints = tokutei_app::checkpoints::Checkpoints::new(site.ledger.clone(), signer);
    checkpoints.latest(jiff::Timestamp::now()).unwrap();

    let refused = post(&site, "/admin/oversight/inspections", &chief, &[("csrf", &csrf), ("period", "2999-01")]).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(location(&refused).contains("problem=") && location(&refused).contains("period"), "{}", location(&refused));
    let forged = post(&site, "/admin/oversight/inspections", &chief, &[("csrf", "wrong"), ("period", "2025-01")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let by_auditor =
        post(&site, "/admin/oversight/inspections", &auditor, &[("csrf", &auditor_csrf), ("period", "2025-01")]).await;
    assert_eq!(by_auditor.status, StatusCode::FORBIDDEN);
    assert!(!admin_entries(&site).iter().any(|a| a.action == AdminAction::InspectionReported));

    let ran = post(&site, "/admin/oversight/inspections", &chief, &[("csrf", &csrf), ("period", "2025-01")]).await;
    assert_eq!(ran.status, StatusCode::SEE_OTHER, "{}", ran.body);
    assert_eq!(location(&ran), "/admin/oversight/inspections?done=IR-1");
    let made: Vec<_> =
        admin_entries(&site).into_iter().filter(|a| a.action == AdminAction::InspectionReported).collect();
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].subject, "inspection/IR-1");

    let page = get(&site, "/admin/oversight/inspections/IR-1", &auditor).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("finding-form"), "auditors read only: {}", page.body);
    let v = site.app.inspection(&tokutei_app::Acting::Person("cpo".into()), "IR-1").unwrap();
    let start = page.body.find("<article").unwrap();
    let end = page.body.find("</article>").unwrap() + "</article>".len();
    let article = page.body[start..end]
        .replace(&hex::encode(v.stored.digest), "[digest]")
        .replace(&v.document.checkpoint.root, "[root]")
        .replace(&tokutei_policy::tokyo::minutes(v.stored.made_at), "[now]");
    insta::assert_snapshot!("inspection_report_ja", one_tag_per_line(&article));

    // A finding: refused with a bad owner (named), then recorded; closed once.
    let bad = post(
        &site,
        "/admin/oversight/inspections/IR-1/findings",
        &chief,
        &[("csrf", &csrf), ("text", "x"), ("owner", "nobody"), ("due", "")],
    )
    .await;
    assert!(location(&bad).contains("problem=") && location(&bad).contains("owner"), "{}", location(&bad));
    let added = post(
        &site,
        "/admin/oversight/inspections/IR-1/findings",
        &chief,
        &[("csrf", &csrf), ("text", "監査ログの確認手順が未整備"), ("owner", "cpo"), ("due", "2999-12-31")],
    )
    .await;
    assert_eq!(location(&added), "/admin/oversight/inspections/IR-1?done=IF-1");
    let page = get(&site, "/admin/oversight/inspections/IR-1", &chief).await;
    assert!(
        page.body.contains("IF-1") && page.body.contains("残り") && page.body.contains("close-IF-1"),
        "{}",
        page.body
    );
    let by_auditor =
        post(&site, "/admin/oversight/findings/IF-1/close", &auditor, &[("csrf", &auditor_csrf), ("text", "x")]).await;
    assert_eq!(by_auditor.status, StatusCode::FORBIDDEN);
    let closed =
        post(&site, "/admin/oversight/findings/IF-1/close", &chief, &[("csrf", &csrf), ("text", "手順書を作成した")])
            .await;
    assert_eq!(location(&closed), "/admin/oversight/inspections?done=IF-1");
    let again =
        post(&site, "/admin/oversight/findings/IF-1/close", &chief, &[("csrf", &csrf), ("text", "もう一度")]).await;
    assert!(location(&again).contains("problem="), "{}", location(&again));
    let list = get(&site, "/admin/oversight/inspections", &auditor).await;
    assert!(list.body.contains("是正済") && list.body.contains("手順書を作成した"), "{}", list.body);
    let actions: Vec<AdminAction> =
        admin_entries(&site).into_iter().map(|a| a.action).filter(|a| a.as_str().starts_with("inspection_")).collect();
    assert_eq!(
        actions,
        [AdminAction::InspectionReported, AdminAction::InspectionFindingAdded, AdminAction::InspectionFindingClosed]
    );
}
