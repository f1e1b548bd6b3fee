//! Data-subject requests in the console (`/admin/requests`) through the real router: an
//! inquiry asking for a disclosure becomes a request in one click (the form filled with the
//! inquiry and its type); a request received without verification, verified, paused and
//! resumed, refused on its type's ground and notified — each form one application function
//! with an audit entry by the signed-in person; a refused form names its field and changes
//! nothing; a handler receives requests but reads no register; an auditor reads and changes
//! nothing.

use tokutei_ledger::AdminAction;
use tokutei_store::vault::{Contract, ContractState, ImportBatch, NewSubscriber, VaultStore};

use super::*;

fn count(site: &Site, action: AdminAction) -> usize {
    admin_entries(site).iter().filter(|a| a.action == action).count()
}

fn location(reply: &Reply) -> String {
    reply
        .headers
        .get(header::LOCATION)
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("not a redirect: {} {}", reply.status, reply.body))
}

/// One subscriber in the vault (no values: the request register links it by id only).
fn with_subscriber(site: &Site, id: &str) {
    site.store
        .import_batch(&ImportBatch {
            source_key: format!("test-{id}"),
            subscribers: vec![NewSubscriber {
                id: id.into(),
                service: "fiber".into(),
                contract: Contract {
                    state: ContractState::Active,
                    started_on: tokutei_policy::Date::new(2020, 1, 1).unwrap(),
                    suspended_on: None,
                    terminated_on: None,
                },
                key: WrappedDataKey { kek_id: "kek-test".into(), bytes: vec![0; 40] },
            }],
            values: Vec::new(),
            rows: 1,
            imported_at: jiff::Timestamp::now(),
            audit_index: None,
        })
        .unwrap();
}

#[tokio::test]
async fn an_inquiry_becomes_a_request_that_is_verified_refused_and_notified() {
    let site = site();
    with_subscriber(&site, "HS00000001");
    let receipt = receipt_of(&submit(&site, [192, 0, 2, 9]).await.body);
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let (auditor, auditor_csrf) = session(&site, "audit-1", Role::Auditor);
    let (handler, handler_csrf) = session(&site, "op-1", Role::Handler);

    // One click from the inquiry: the form, filled.
    let opened = post(&site, &format!("/admin/inquiries/{receipt}"), &chief, &[("csrf", &csrf)]).await;
    let link = format!("/admin/requests/new?inquiry={receipt}&amp;type=disclosure");
    assert!(opened.body.contains(&link), "{}", opened.body);
    let form = get(&site, &format!("/admin/requests/new?inquiry={receipt}&type=disclosure"), &chief).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains(&format!(r#"value="{receipt}""#)), "{}", form.body);

    // A subscriber without the verification method is refused, named; nothing recorded.
    let fields = |extra: &[(&'static str, &'static str)]| {
        let mut all: Vec<(&str, String)> = vec![
            ("csrf", csrf.clone()),
            ("type", "disclosure".into()),
            ("channel", "inquiry".into()),
            ("inquiry", receipt.clone()),
            ("purpose", "marketing".into()),
            ("method", "electronic".into()),
        ];
        all.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        all
    };
    let pairs = |all: &[(&'static str, String)]| all.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let bad = pairs(&fields(&[("subscriber", "HS00000001"), ("verified_by", "")]));
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = post(&site, "/admin/requests", &chief, &bad).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
    assert!(reply.body.contains("<code>verified_by</code>"), "{}", reply.body);
    assert_eq!(count(&site, AdminAction::RequestOpened), 0);

    let good = pairs(&fields(&[]));
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = post(&site, "/admin/requests", &chief, &good).await;
    assert_eq!(location(&reply), "/admin/requests/DR-1?done=received");
    let page = get(&site, "/admin/requests/DR-1", &chief).await;
    assert!(
        page.body.contains("未確認") && page.body.contains("verify-form") && page.body.contains(&receipt),
        "{}",
        page.body
    );

    // Refusing an unverified request on a ground other than identity: a conflict, shown.
    let reply =
        post(&site, "/admin/requests/DR-1/refuse", &chief, &[("csrf", &csrf), ("ground", "harm"), ("note", "")]).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.body);
    assert_eq!(count(&site, AdminAction::RequestDecided), 0);

    let reply = post(
        &site,
        "/admin/requests/DR-1/verify",
        &chief,
        &[
            ("csrf", &csrf),
            ("subscriber", "HS00000001"),
            ("verified_by", "license"),
            ("evidence", "本人確認ファイル 7"),
        ],
    )
    .await;
    assert_eq!(location(&reply), "/admin/requests/DR-1?done=recorded");
    let reply =
        post(&site, "/admin/requests/DR-1/pause", &chief, &[("csrf", &csrf), ("reason", "書類の再送待ち")]).await;
    assert_eq!(location(&reply), "/admin/requests/DR-1?done=recorded");
    let page = get(&site, "/admin/requests/DR-1", &chief).await;
    assert!(page.body.contains("resume-form") && page.body.contains("本人の回答待ち"), "{}", page.body);
    post(&site, "/admin/requests/DR-1/resume", &chief, &[("csrf", &csrf)]).await;
    let reply =
        post(&site, "/admin/requests/DR-1/extend", &chief, &[("csrf", &csrf), ("days", "many"), ("reason", "x")]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("<code>days</code>"), "{}", reply.body);
    let reply = post(
        &site,
        "/admin/requests/DR-1/refuse",
        &chief,
        &[("csrf", &csrf), ("ground", "harm"), ("note", "第三者の権利を害するおそれ")],
    )
    .await;
    assert_eq!(location(&reply), "/admin/requests/DR-1?done=recorded");
    let today = tokutei_policy::tokyo::today().to_string();
    let reply =
        post(&site, "/admin/requests/DR-1/notify", &chief, &[("csrf", &csrf), ("method", "post"), ("sent_on", &today)])
            .await;
    assert_eq!(location(&reply), "/admin/requests/DR-1?done=recorded");
    let page = get(&site, "/admin/requests/DR-1", &auditor).await;
    assert!(page.body.contains("request-notice") && page.body.contains("33条2項1号"), "{}", page.body);
    assert!(!page.body.contains("refuse-form") && !page.body.contains("notify-form"));
    for action in [
        AdminAction::RequestOpened,
        AdminAction::RequestVerified,
        AdminAction::RequestPaused,
        AdminAction::RequestResumed,
        AdminAction::RequestDecided,
        AdminAction::RequestNotified,
    ] {
        assert_eq!(count(&site, action), 1, "{action:?}");
    }
    assert!(!format!("{:?}", admin_entries(&site)).contains("本人確認ファイル"), "evidence only as a digest");

    // The auditor reads, changes nothing; a handler receives but reads no register.
    let list = get(&site, "/admin/requests", &auditor).await;
    assert!(list.body.contains("request-DR-1"), "{}", list.body);
    let reply = post(&site, "/admin/requests/DR-1/pause", &auditor, &[("csrf", &auditor_csrf), ("reason", "x")]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&site, "/admin/requests", &handler).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&site, "/admin/requests/new", &handler).await.status, StatusCode::OK);
    let reply = post(
        &site,
        "/admin/requests",
        &handler,
        &[("csrf", &handler_csrf), ("type", "stop"), ("channel", "phone"), ("method", "electronic")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("DR-2"), "{}", reply.body);

    // A stop of use, verified at intake, fulfilled from its page and lifted again.
    let reply = post(
        &site,
        "/admin/requests",
        &chief,
        &[
            ("csrf", &csrf),
            ("type", "stop"),
            ("channel", "shop"),
            ("purpose", "marketing"),
            ("method", "electronic"),
            ("subscriber", "HS00000001"),
            ("verified_by", "counter"),
        ],
    )
    .await;
    assert_eq!(location(&reply), "/admin/requests/DR-3?done=received");
    let page = get(&site, "/admin/requests/DR-3", &chief).await;
    assert!(page.body.contains("fulfil-form") && !page.body.contains("lift-form"), "{}", page.body);
    let reply = post(&site, "/admin/requests/DR-3/fulfil", &chief, &[("csrf", &csrf), ("note", "停止しました")]).await;
    assert_eq!(location(&reply), "/admin/requests/DR-3?done=recorded");
    let page = get(&site, "/admin/requests/DR-3", &chief).await;
    assert!(
        // The stop of `marketing`, by the policy's name for it.
        page.body.contains(r#"id="stops""#)
            && page.body.contains(
                "<li>利用停止 · 電話、メール、郵送により、当社のサービスや新しい料金プランをご案内するため</li>"
            )
            && page.body.contains("lift-form"),
        "{}",
        page.body
    );
    let reply =
        post(&site, "/admin/requests/DR-3/lift", &chief, &[("csrf", &csrf), ("reason", "理由が解消した")]).await;
    assert_eq!(location(&reply), "/admin/requests/DR-3?done=recorded");
    assert!(!get(&site, "/admin/requests/DR-3", &chief).await.body.contains("lift-form"));
    assert_eq!(count(&site, AdminAction::RequestStopLifted), 1);

    // A purpose notice: fulfilled with its document, downloaded (audited).
    let reply = post(
        &site,
        "/admin/requests",
        &chief,
        &[
            ("csrf", &csrf),
            ("type", "purpose_notice"),
            ("channel", "letter"),
            ("method", "electronic"),
            ("subscriber", "HS00000001"),
            ("verified_by", "license"),
        ],
    )
    .await;
    assert_eq!(location(&reply), "/admin/requests/DR-4?done=received");
    let reply = post(&site, "/admin/requests/DR-4/fulfil", &chief, &[("csrf", &csrf), ("note", "")]).await;
    assert_eq!(location(&reply), "/admin/requests/DR-4?done=recorded");
    let page = get(&site, "/admin/requests/DR-4", &auditor).await;
    assert!(page.body.contains(r#"href="/admin/requests/DR-4/document""#), "{}", page.body);
    let download = get(&site, "/admin/requests/DR-4/document", &auditor).await;
    assert_eq!(download.status, StatusCode::OK);
    assert!(download.headers.get(header::CONTENT_DISPOSITION).unwrap().to_str().unwrap().contains("DR-4.json"));
    assert!(
        download.body.contains("tokutei.purpose-notice/1") && download.body.contains("HS00000001"),
        "{}",
        download.body
    );
    assert_eq!(count(&site, AdminAction::RequestDocumentRead), 1);
    let printable = get(&site, "/admin/requests/DR-4/document?format=html", &auditor).await;
    assert!(
        printable.body.contains("<h1>利用目的の通知</h1>") && printable.body.contains("document-purposes"),
        "{}",
        printable.body
    );
    assert_eq!(count(&site, AdminAction::RequestDocumentRead), 2);
    // People read Tokyo times, not the JSON's instants.
    assert!(!printable.body.contains("Z</dd>"), "{}", printable.body);
    assert_eq!(get(&site, "/admin/requests/DR-3/document", &auditor).await.status, StatusCode::NOT_FOUND);
}
