//! The oversight registers' console pages through the real router: the training roster
//! (`/admin/oversight/training`) lists every person × required course and a manager records a
//! completion there (audited; a bad date named, nothing changed), auditors read only; the
//! annual assessment (`/admin/oversight/assessments`) is opened once per business year, each
//! form one application function with an audit entry, a refused form names its field, and
//! the assessment prints as a document (snapshot).

use tokutei_app::oversight::training::{CourseConfig, TrainingConfig, TrainingRules};
use tokutei_store::assessment::AssessmentStore;

use super::*;

fn training_site() -> Site {
    let config = TrainingConfig {
        alert_days: None,
        courses: vec![CourseConfig {
            id: "privacy-basics".into(),
            name_ja: "人的安全管理措置（教育研修）".into(),
            name_en: "Human security measures (training)".into(),
            validity_months: 12,
            roles: None,
        }],
    };
    site_with(|app| app.with_training_rules(TrainingRules::from_config(&config, &[]).unwrap()))
}

fn count(site: &Site, action: AdminAction) -> usize {
    admin_entries(site).iter().filter(|a| a.action == action).count()
}

#[tokio::test]
async fn the_training_roster_is_read_by_auditors_and_a_manager_records_a_completion() {
    let site = training_site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let (auditor, auditor_csrf) = session(&site, "audit-1", Role::Auditor);
    let page = get(&site, "/admin/oversight/training", &chief).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("roster-cpo-privacy-basics") && page.body.contains("未受講"), "{}", page.body);
    assert!(page.body.contains("人的安全管理措置（教育研修）") && page.body.contains("training-form"), "{}", page.body);

    // A bad date is named and nothing is recorded.
    let form =
        [("csrf", csrf.as_str()), ("principal", "cpo"), ("course", "privacy-basics"), ("completed", "2026-02-30")];
    let reply = post(&site, "/admin/oversight/training", &chief, &form).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("training-errors") && reply.body.contains("completed"), "{}", reply.body);
    assert_eq!(count(&site, AdminAction::StaffChanged), 0);
    let form =
        [("csrf", csrf.as_str()), ("principal", "nobody"), ("course", "privacy-basics"), ("completed", "2026-06-01")];
    let reply = post(&site, "/admin/oversight/training", &chief, &form).await;
    assert!(reply.status == StatusCode::BAD_REQUEST && reply.body.contains("`nobody`"), "{}", reply.body);

    // Recorded: valid for the course's 12 months.
    let form =
        [("csrf", csrf.as_str()), ("principal", "audit-1"), ("course", "privacy-basics"), ("completed", "2026-06-01")];
    let reply = post(&site, "/admin/oversight/training", &chief, &form).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(count(&site, AdminAction::StaffChanged), 1);
    let page = get(&site, "/admin/oversight/training?done=recorded", &auditor).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("2027年5月31日") || page.body.contains("2027-05-31"), "{}", page.body);
    assert!(!page.body.contains("training-form"), "auditors read only: {}", page.body);
    let form = [
        ("csrf", auditor_csrf.as_str()),
        ("principal", "audit-1"),
        ("course", "privacy-basics"),
        ("completed", "2026-06-01"),
    ];
    assert_eq!(post(&site, "/admin/oversight/training", &auditor, &form).await.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&site, AdminAction::StaffChanged), 1);
}

#[tokio::test]
async fn an_assessment_is_opened_once_filled_completed_and_printed() {
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let (auditor, auditor_csrf) = session(&site, "audit-1", Role::Auditor);
    let base = "/admin/oversight/assessments";
    let list = get(&site, base, &chief).await;
    assert!(list.status == StatusCode::OK && list.body.contains("assessments-empty"), "{}", list.body);
    let reply = post(&site, base, &chief, &[("csrf", &csrf), ("fiscal_year", "2025")]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.headers.get(header::LOCATION).unwrap(), "/admin/oversight/assessments/2025?done=opened");
    // A second assessment of the year is refused, naming it.
    let again = post(&site, base, &chief, &[("csrf", &csrf), ("fiscal_year", "2025")]).await;
    assert!(again.status == StatusCode::CONFLICT && again.body.contains("2025"), "{}", again.body);
    let bad = post(&site, base, &chief, &[("csrf", &csrf), ("fiscal_year", "next")]).await;
    assert!(bad.status == StatusCode::BAD_REQUEST && bad.body.contains("fiscal_year"), "{}", bad.body);
    assert_eq!(
        post(&site, base, &auditor, &[("csrf", &auditor_csrf), ("fiscal_year", "2024")]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(count(&site, AdminAction::AssessmentOpened), 1);

    let year = format!("{base}/2025");
    let bad = post(
        &site,
        &format!("{year}/measures"),
        &chief,
        &[("csrf", &csrf), ("measure", "4"), ("result", "met"), ("evidence", "incident:INC-NOPE")],
    )
    .await;
    assert!(bad.status == StatusCode::BAD_REQUEST && bad.body.contains("evidence"), "{}", bad.body);
    for measure in ["1", "2", "3", "4", "5", "6", "7"] {
        let result = if measure == "5" { "partly" } else { "met" };
        let reply = post(
            &site,
            &format!("{year}/measures"),
            &chief,
            &[
                ("csrf", &csrf),
                ("measure", measure),
                ("result", result),
                ("note", "運用記録を確認した"),
                ("evidence", "policy:1\ntraining-roster:2026-03-01"),
            ],
        )
        .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    }
    let reply = post(
        &site,
        &format!("{year}/findings"),
        &chief,
        &[("csrf", &csrf), ("measure", "5"), ("text", "入退室記録の点検が不定期")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let remediation = |owner: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("finding", "F-1".into()),
            ("action", "月次点検を規程に追加".into()),
            ("owner", owner.into()),
            ("due", "2026-06-30".into()),
            ("carried_by", "policy:1".into()),
        ]
    };
    let form = remediation("nobody");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bad = post(&site, &format!("{year}/remediations"), &chief, &pairs).await;
    assert!(bad.status == StatusCode::BAD_REQUEST && bad.body.contains("owner"), "{}", bad.body);
    let form = remediation("cpo");
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(post(&site, &format!("{year}/remediations"), &chief, &pairs).await.status, StatusCode::SEE_OTHER);
    let reply = post(&site, &format!("{year}/complete"), &chief, &[("csrf", &csrf)]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(count(&site, AdminAction::AssessmentMeasureAssessed), 7);
    assert_eq!(count(&site, AdminAction::AssessmentCompleted), 1);

    // The auditor reads the document; no form is left once it is completed.
    let page = get(&site, &year, &auditor).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("assess-form") && page.body.contains("一部適合"), "{}", page.body);
    let opened_at = site.store.assessments().unwrap()[0].assessment.opened_at;
    let completed_at = site.store.assessments().unwrap()[0].events.last().unwrap().event.at;
    let mut printed = one_tag_per_line(&page.body).replace(&auditor_csrf, "[csrf]");
    for t in [opened_at, completed_at] {
        printed = printed.replace(&tokutei_policy::tokyo::minutes(t), "[time]");
    }
    insta::assert_snapshot!("assessment_print_ja", printed);
}
