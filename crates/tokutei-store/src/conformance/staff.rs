//! Conformance for [`StaffStore`], [`ConsentStore`] and [`ProvisionStore`]: principals with
//! versions that move on every change, training, tokens kept as hashes and revocable, the
//! registry generation; consent records whose latest per purpose is current; provision
//! records kept in order per subscriber.

use jiff::Timestamp;
use tokutei_policy::{Date, Role};

use crate::StoreError;
use crate::consent::{Choice, ConsentStore, NewConsent};
use crate::provision::{LegalBasis, NewProvision, ProvisionStore, RecordType};
use crate::staff::{
    ExportStore, Grants, NewExportRequest, NewPrincipal, NewToken, PrincipalKind, RangeGrant, StaffStore, Training,
};
use crate::vault::{Contract, ContractState, ImportBatch, NewSubscriber, VaultStore, WrappedDataKey};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + second).unwrap()
}

fn date(y: i16, m: i8, d: i8) -> Date {
    Date::new(y, m, d).unwrap()
}

fn person(id: &str) -> NewPrincipal {
    NewPrincipal {
        id: id.to_string(),
        display_name: format!("{id} name"),
        kind: PrincipalKind::Person { role: Role::Handler },
        grants: Grants {
            data_range: vec![RangeGrant { service: "fiber".into(), categories: vec!["contract.name".into()] }],
            purposes: vec!["support".into()],
            zones: vec!["tokyo-1".into()],
            ..Grants::default()
        },
        created_at: at(0),
    }
}

/// The staff registry (and the one-read freshness check that watches it).
pub fn run<S: StaffStore + crate::FreshnessStore>(store: &S) {
    let g0 = store.staff_generation().unwrap();
    assert_eq!(store.freshness(date(2026, 1, 1)).unwrap().staff_generation, g0);
    let created = store.create_principal(&person("op-1")).unwrap();
    assert_eq!(created.version, 1);
    assert!(store.staff_generation().unwrap() > g0, "creating a principal moves the generation");
    assert!(matches!(store.create_principal(&person("op-1")), Err(StoreError::Conflict(_))));
    let system = NewPrincipal {
        id: "billing-batch".into(),
        display_name: "請求システム".into(),
        kind: PrincipalKind::System { name: "billing".into() },
        grants: Grants::default(),
        created_at: at(1),
    };
    store.create_principal(&system).unwrap();

    let read = store.principal("op-1").unwrap().unwrap();
    assert_eq!(read.grants, person("op-1").grants);
    assert_eq!(read.kind, PrincipalKind::Person { role: Role::Handler });
    assert!(store.principal("nobody").unwrap().is_none());
    let ids: Vec<String> = store.principals().unwrap().into_iter().map(|p| p.id).collect();
    assert_eq!(ids, ["billing-batch", "op-1"]);

    // Every change bumps the version and the generation.
    let g1 = store.staff_generation().unwrap();
    let grants = Grants { purposes: vec!["support".into(), "billing".into()], ..read.grants.clone() };
    assert_eq!(store.set_grants("op-1", &grants).unwrap(), 2);
    let training =
        Training { course: "privacy-basics".into(), completed: date(2026, 4, 1), valid_until: date(2027, 3, 31) };
    assert_eq!(store.add_training("op-1", &training).unwrap(), 3);
    let g2 = store.staff_generation().unwrap();
    assert!(g2 > g1);
    assert_eq!(store.freshness(date(2026, 1, 1)).unwrap().staff_generation, g2);
    let read = store.principal("op-1").unwrap().unwrap();
    assert_eq!(read.version, 3);
    assert_eq!(read.grants, grants);
    assert_eq!(read.training, vec![training]);
    assert!(matches!(store.set_grants("nobody", &grants), Err(StoreError::NotFound(_))));
    assert!(matches!(store.add_training("nobody", &read.training[0]), Err(StoreError::NotFound(_))));

    // Tokens: hash only, revocable; tokens of unknown or disabled principals are refused.
    let token = NewToken {
        id: "abcd1234".into(),
        principal: "op-1".into(),
        hash: [7; 32],
        created_at: at(10),
        expires_at: at(10 + 86_400),
    };
    store.add_token(&token).unwrap();
    assert!(matches!(store.add_token(&token), Err(StoreError::Conflict(_))));
    assert!(matches!(
        store.add_token(&NewToken { id: "x".into(), principal: "nobody".into(), ..token.clone() }),
        Err(StoreError::NotFound(_))
    ));
    let stored = store.token("abcd1234").unwrap().unwrap();
    assert_eq!((stored.principal.as_str(), stored.hash, stored.revoked_at), ("op-1", [7; 32], None));
    assert_eq!(stored.expires_at, at(10 + 86_400));
    let g3 = store.staff_generation().unwrap();
    store.revoke_token("abcd1234", at(20)).unwrap();
    store.revoke_token("abcd1234", at(30)).unwrap();
    assert_eq!(store.token("abcd1234").unwrap().unwrap().revoked_at, Some(at(20)), "the first revocation counts");
    assert!(store.staff_generation().unwrap() > g3);
    assert!(matches!(store.revoke_token("nope", at(1)), Err(StoreError::NotFound(_))));
    assert_eq!(store.tokens("op-1").unwrap().len(), 1);

    // Disabling keeps the record and refuses new tokens.
    let v = store.disable_principal("op-1", at(40)).unwrap();
    assert_eq!(v, 4);
    let read = store.principal("op-1").unwrap().unwrap();
    assert_eq!(read.disabled_at, Some(at(40)));
    assert!(matches!(store.add_token(&NewToken { id: "later".into(), ..token }), Err(StoreError::Conflict(_))));
}

fn subscriber(id: &str) -> NewSubscriber {
    NewSubscriber {
        id: id.to_string(),
        service: "fiber".to_string(),
        contract: Contract {
            state: ContractState::Active,
            started_on: date(2024, 4, 1),
            suspended_on: None,
            terminated_on: None,
        },
        key: WrappedDataKey { kek_id: "kek-1".to_string(), bytes: vec![1, 2, 3] },
    }
}

fn consent(subscriber: &str, purpose: &str, choice: Choice, second: i64) -> NewConsent {
    NewConsent {
        subscriber: subscriber.into(),
        purpose: purpose.into(),
        choice,
        channel: "web".into(),
        notice_version: 2,
        recorded_at: at(second),
        recorded_by: "member-site".into(),
        evidence: Some(format!("form-{second}")),
    }
}

/// Consent and provision records (they name subscribers, so the vault is needed too).
pub fn run_consent_and_provision<S: ConsentStore + ProvisionStore + VaultStore>(store: &S) {
    let batch = ImportBatch {
        source_key: "consent-suite".into(),
        subscribers: vec![subscriber("S1"), subscriber("S2")],
        values: vec![],
        rows: 2,
        imported_at: at(0),
        audit_index: None,
    };
    store.import_batch(&batch).unwrap();

    assert!(store.current_consents("S1").unwrap().is_empty());
    let first = store.record_consent(&consent("S1", "marketing", Choice::OptedOut, 1), Some(11)).unwrap();
    assert_eq!(first.audit_index, Some(11));
    store.record_consent(&consent("S1", "behavior_ads", Choice::OptedIn, 2), Some(12)).unwrap();
    let latest = store.record_consent(&consent("S1", "marketing", Choice::OptedIn, 3), None).unwrap();
    assert!(latest.id > first.id);
    store.record_consent(&consent("S2", "marketing", Choice::OptedOut, 4), Some(14)).unwrap();
    assert!(matches!(
        store.record_consent(&consent("nobody", "marketing", Choice::OptedOut, 5), Some(15)),
        Err(StoreError::NotFound(_))
    ));
    // Every record in id order, paged, with the audit entry each names.
    let all = store.consent_records(None, 10).unwrap();
    assert_eq!(all.iter().map(|c| c.audit_index).collect::<Vec<_>>(), [Some(11), Some(12), None, Some(14)]);
    assert_eq!(all[0], first);
    let page = store.consent_records(Some(all[1].id), 1).unwrap();
    assert_eq!(page, std::slice::from_ref(&latest));

    let facts = store.access_facts("S1", "marketing").unwrap().unwrap();
    assert_eq!(facts.subscriber.id, "S1");
    assert_eq!(facts.consent.as_ref(), Some(&latest));
    assert_eq!(facts.key.as_ref().map(|k| k.kek_id.as_str()), Some("kek-1"));
    let facts = store.access_facts("S2", "behavior_ads").unwrap().unwrap();
    assert!(facts.consent.is_none());
    assert!(store.access_facts("nobody", "marketing").unwrap().is_none());
    store.erase_subscriber("S2", at(50)).unwrap();
    let erased = store.access_facts("S2", "marketing").unwrap().unwrap();
    assert!(erased.key.is_none() && erased.subscriber.erased_at.is_some());
    assert_eq!(erased.consent.map(|c| c.record.choice), Some(Choice::OptedOut));

    let current = store.current_consents("S1").unwrap();
    let summary: Vec<(&str, Choice)> = current.iter().map(|c| (c.record.purpose.as_str(), c.record.choice)).collect();
    assert_eq!(summary, [("behavior_ads", Choice::OptedIn), ("marketing", Choice::OptedIn)]);
    assert_eq!(store.current_consent("S1", "marketing").unwrap().unwrap(), latest);
    assert!(store.current_consent("S1", "survey").unwrap().is_none());
    let history = store.consent_history("S1").unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[0], first);
    assert_eq!(history[0].record.evidence.as_deref(), Some("form-1"));

    let record = |subscriber: &str, record_type: RecordType| NewProvision {
        provided_at: at(100),
        recipient: "ad-distributor".into(),
        subscriber: subscriber.into(),
        categories: vec!["contract.birth_date".into(), "comm.browsing".into()],
        purpose: "third_party_ads".into(),
        basis: LegalBasis::Consent,
        consent_proof: Some(latest.id),
        record_type,
        audit_index: Some(41),
        keep_until: date(2029, 11, 30),
    };
    let ids = store
        .add_provisions(&[
            record("S1", RecordType::Each),
            record("S2", RecordType::Batch { from: date(2026, 1, 1), until: date(2026, 3, 31) }),
            record("S1", RecordType::ContractRef { contract: "AD-2026-01".into() }),
        ])
        .unwrap();
    assert_eq!(ids.len(), 3);
    assert!(ids[0] < ids[1] && ids[1] < ids[2]);
    let of_s1 = store.provisions_of("S1").unwrap();
    assert_eq!(of_s1.len(), 2);
    assert_eq!(of_s1[0].record, record("S1", RecordType::Each));
    assert_eq!(of_s1[1].record.record_type, RecordType::ContractRef { contract: "AD-2026-01".into() });
    let page = store.provisions(Some(ids[0]), 10).unwrap();
    assert_eq!(page.iter().map(|p| p.id).collect::<Vec<_>>(), ids[1..]);
}

/// Export requests: filed unapproved, approved once by someone else, covering exactly what
/// they name while in force.
pub fn run_exports<S: StaffStore + ExportStore>(store: &S) {
    store.create_principal(&person("requester")).unwrap();
    store.create_principal(&person("approver")).unwrap();
    let request = NewExportRequest {
        id: "EXP-1".into(),
        requested_by: "requester".into(),
        purpose: "third_party_ads".into(),
        categories: vec!["comm.browsing".into()],
        subscribers: Some(vec!["S1".into()]),
        reason: "monthly provision".into(),
        recipient: Some("ad-distributor".into()),
        requested_at: at(0),
        valid_until: at(1_000),
    };
    store.create_export_request(&request).unwrap();
    assert!(matches!(store.create_export_request(&request), Err(StoreError::Conflict(_))));
    assert!(matches!(
        store.create_export_request(&NewExportRequest {
            id: "EXP-2".into(),
            requested_by: "nobody".into(),
            ..request.clone()
        }),
        Err(StoreError::NotFound(_))
    ));
    let stored = store.export_request("EXP-1").unwrap().unwrap();
    assert_eq!(stored.request, request);
    assert!(stored.approved_by.is_none());
    let cats = vec!["comm.browsing".to_string()];
    assert!(!stored.covers("requester", "third_party_ads", "S1", &cats, at(10)), "unapproved covers nothing");

    assert!(matches!(store.approve_export("EXP-1", "requester", at(5)), Err(StoreError::Conflict(_))));
    assert!(matches!(store.approve_export("EXP-9", "approver", at(5)), Err(StoreError::NotFound(_))));
    let approved = store.approve_export("EXP-1", "approver", at(5)).unwrap();
    assert_eq!(approved.approved_by.as_deref(), Some("approver"));
    assert!(matches!(store.approve_export("EXP-1", "approver", at(6)), Err(StoreError::Conflict(_))));
    let approved = store.export_request("EXP-1").unwrap().unwrap();
    assert_eq!(approved.approved_at, Some(at(5)));
    assert!(approved.covers("requester", "third_party_ads", "S1", &cats, at(10)));
    assert!(!approved.covers("approver", "third_party_ads", "S1", &cats, at(10)), "only the requester exports");
    assert!(!approved.covers("requester", "marketing", "S1", &cats, at(10)));
    assert!(!approved.covers("requester", "third_party_ads", "S2", &cats, at(10)));
    assert!(!approved.covers("requester", "third_party_ads", "S1", &["contract.name".to_string()], at(10)));
    assert!(!approved.covers("requester", "third_party_ads", "S1", &cats, at(1_001)), "expired");
    assert_eq!(store.export_requests().unwrap().len(), 1);
}
