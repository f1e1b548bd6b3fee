//! Conformance for [`IncidentStore`]: incidents keep every version in order (a stale version is
//! a conflict), obligations are replaced with a version except those submitted, a report is
//! submitted once, open obligations come by due date, impacts keep their items and indexes,
//! notices and alternative measures are logged, publications are versions of the public
//! entry, and a withdrawal is refused while a publication's window lasts.

use std::collections::BTreeMap;

use jiff::Timestamp;
use tokutei_policy::{Date, Text};

use crate::StoreError;
use crate::incident::{
    AlternativeMeasure, Flags, Impact, ImpactItem, ImpactScope, IncidentFields, IncidentStatus, IncidentStore,
    IncidentVersion, NewObligation, NoticeSent, Occurrence, Persons, ProcessorLink, Publication, Regime, Report,
    Submission, Withdrawal,
};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_780_000_000 + second).unwrap()
}

fn d(text: &str) -> Date {
    text.parse().unwrap()
}

fn fields(title: &str) -> IncidentFields {
    IncidentFields {
        title: Text { ja: title.into(), en: Some("Mis-sent email".into()) },
        summary: None,
        occurred: Occurrence::Between { from: at(-100), to: at(-50) },
        discovered_at: Some(at(-10)),
        known_at: at(0),
        discovery: None,
        categories: vec!["contract.email".into()],
        services: vec!["fiber".into()],
        content: None,
        persons: Some(Persons { count: 1200, estimated: true }),
        cause: None,
        secondary_damage: None,
        response: None,
        prevention: None,
        other: None,
        status: IncidentStatus::Open,
        processors: vec![ProcessorLink { name: "委託先A".into(), notified_at: Some(at(-5)) }],
        regimes: vec![Regime::Secrecy, Regime::Appi],
        flags: Flags { malicious: true, ..Flags::default() },
        extra: BTreeMap::from([("incident_no".to_string(), "X-1".to_string())]),
    }
}

fn version(incident: &str, version: u32, fields: IncidentFields, second: i64) -> IncidentVersion {
    IncidentVersion {
        incident: incident.into(),
        version,
        fields,
        change: if version == 1 { "opened".into() } else { "updated".into() },
        changed_by: "cpo".into(),
        changed_at: at(second),
        audit_index: u64::from(version) * 10,
    }
}

fn obligation(regime: Regime, report: Report, due: &str) -> NewObligation {
    NewObligation {
        regime,
        report,
        due: d(due),
        recipient: "関東総合通信局".into(),
        unconfirmed: regime == Regime::Tokutei,
    }
}

fn submission(second: i64) -> Submission {
    Submission {
        submitted_at: at(second),
        recipient: "関東総合通信局".into(),
        reference: Some("R-77".into()),
        digest: [7; 32],
        submitted_by: "rp".into(),
        audit_index: 99,
    }
}

fn publication(incident: &str, version: u32, listed_until: &str) -> Publication {
    Publication {
        incident: incident.into(),
        version,
        occurred: d("2024-01-18"),
        summary: Text { ja: format!("概要 v{version}"), en: None },
        published_at: at(100),
        published_on: d("2026-05-29"),
        listed_until: d(listed_until),
        published_by: "cpo".into(),
        audit_index: 200 + u64::from(version),
    }
}

pub fn run<S: IncidentStore>(store: &S) {
    assert!(store.incident("INC-1").unwrap().is_none());
    assert!(store.incidents(10).unwrap().is_empty());

    // Open with obligations; an id is used once.
    let first = version("INC-1", 1, fields("誤送信"), 0);
    let owed = [
        obligation(Regime::Secrecy, Report::First, "2026-05-30"),
        obligation(Regime::Secrecy, Report::Detailed, "2026-06-28"),
        obligation(Regime::Appi, Report::Preliminary, "2026-06-01"),
        obligation(Regime::Appi, Report::Final, "2026-07-28"),
    ];
    store.create_incident(&first, &owed).unwrap();
    assert!(matches!(store.create_incident(&first, &[]), Err(StoreError::Conflict(_))));
    store.create_incident(&version("INC-2", 1, fields("紛失"), 5), &[]).unwrap();

    let got = store.incident("INC-1").unwrap().unwrap();
    assert_eq!((got.id.as_str(), got.created_at), ("INC-1", at(0)));
    assert_eq!(got.current, first, "fields come back as saved");
    let listed: Vec<_> = got.obligations.iter().map(|o| (o.obligation.clone(), o.submission.clone())).collect();
    let mut expected: Vec<_> = owed.iter().map(|o| (o.clone(), None)).collect();
    expected.sort_by_key(|(o, _)| (o.regime, o.report));
    assert_eq!(listed, expected, "in regime, then report order");
    let ids = |list: Vec<crate::incident::StoredIncident>| list.into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(store.incidents(10).unwrap()), ["INC-2", "INC-1"], "newest first");
    assert_eq!(ids(store.incidents(1).unwrap()), ["INC-2"]);

    // Versions follow one another; a stale one is a conflict; an unknown incident not found.
    let mut second = fields("メール誤送信");
    second.cause = Some("宛先の確認漏れ".into());
    store.add_incident_version(&version("INC-1", 2, second.clone(), 10), None).unwrap();
    assert!(matches!(
        store.add_incident_version(&version("INC-1", 2, second.clone(), 11), None),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.add_incident_version(&version("INC-9", 2, second.clone(), 11), None),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.incident("INC-1").unwrap().unwrap().current.fields, second);
    let history = store.incident_versions("INC-1").unwrap();
    assert_eq!(history.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(history[0], first, "the old version is kept as it was");
    assert_eq!(store.incident("INC-1").unwrap().unwrap().obligations.len(), 4, "no obligations given: kept");

    // Submissions: once per obligation, only for one owed.
    store.record_submission("INC-1", Regime::Secrecy, Report::First, &submission(20)).unwrap();
    assert!(matches!(
        store.record_submission("INC-1", Regime::Secrecy, Report::First, &submission(21)),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.record_submission("INC-1", Regime::Tokutei, Report::First, &submission(21)),
        Err(StoreError::NotFound(_))
    ));

    // Replacing obligations keeps the submitted one as it was, whatever the new rules say.
    let replaced = [
        obligation(Regime::Secrecy, Report::First, "2026-06-15"),
        obligation(Regime::Secrecy, Report::Detailed, "2026-06-29"),
        obligation(Regime::Tokutei, Report::First, "2026-05-30"),
    ];
    store.add_incident_version(&version("INC-1", 3, second.clone(), 30), Some(&replaced)).unwrap();
    let got = store.incident("INC-1").unwrap().unwrap();
    let now: Vec<_> = got
        .obligations
        .iter()
        .map(|o| (o.obligation.regime, o.obligation.report, o.obligation.due.to_string(), o.submission.is_some()))
        .collect();
    assert_eq!(
        now,
        [
            (Regime::Secrecy, Report::First, "2026-05-30".to_string(), true),
            (Regime::Secrecy, Report::Detailed, "2026-06-29".to_string(), false),
            (Regime::Tokutei, Report::First, "2026-05-30".to_string(), false),
        ]
    );
    assert_eq!(got.obligations[0].submission, Some(submission(20)));
    assert!(got.obligations[2].obligation.unconfirmed);

    // Open obligations: unsubmitted, by due date, with their incident.
    store
        .create_incident(
            &version("INC-3", 1, fields("不正アクセス"), 40),
            &[obligation(Regime::Appi, Report::Final, "2026-06-01")],
        )
        .unwrap();
    let open: Vec<_> = store
        .open_obligations()
        .unwrap()
        .into_iter()
        .map(|(id, o)| (id, o.regime, o.report, o.due.to_string()))
        .collect();
    assert_eq!(
        open,
        [
            ("INC-1".to_string(), Regime::Tokutei, Report::First, "2026-05-30".to_string()),
            ("INC-3".to_string(), Regime::Appi, Report::Final, "2026-06-01".to_string()),
            ("INC-1".to_string(), Regime::Secrecy, Report::Detailed, "2026-06-29".to_string()),
        ]
    );

    // Impacts: numbered, items with their indexes.
    assert!(store.impacts("INC-1").unwrap().is_empty());
    let impact = Impact {
        incident: "INC-1".into(),
        number: 1,
        scope: ImpactScope {
            principal: Some("handler-7".into()),
            token: None,
            categories: vec![],
            since: at(-1000),
            until: at(0),
        },
        tree_size: 500,
        computed_by: "rp".into(),
        computed_at: at(50),
        audit_index: 300,
        items: vec![
            ImpactItem { subscriber: "S1".into(), category: "contract.email".into(), indexes: vec![3, 17, 230] },
            ImpactItem { subscriber: "S1".into(), category: "contract.name".into(), indexes: vec![3] },
            ImpactItem { subscriber: "S2".into(), category: "contract.email".into(), indexes: vec![18] },
        ],
    };
    store.add_impact(&impact).unwrap();
    assert!(matches!(store.add_impact(&impact), Err(StoreError::Conflict(_))), "the same number twice");
    let second_impact = Impact { number: 2, items: vec![], audit_index: 301, ..impact.clone() };
    store.add_impact(&second_impact).unwrap();
    assert_eq!(store.impacts("INC-1").unwrap(), [impact, second_impact]);

    // Notices and alternative measures, in the order recorded.
    let notice = |subscriber: &str, second: i64| NoticeSent {
        incident: "INC-1".into(),
        subscriber: subscriber.into(),
        method: "email".into(),
        sent_at: at(second),
        recorded_by: "rp".into(),
        audit_index: 400,
    };
    store.record_notices(&[notice("S2", 60), notice("S1", 61)]).unwrap();
    store.record_notices(&[]).unwrap();
    assert_eq!(store.notices("INC-1").unwrap(), [notice("S2", 60), notice("S1", 61)]);
    assert!(store.notices("INC-2").unwrap().is_empty());
    let measure = AlternativeMeasure {
        incident: "INC-1".into(),
        measure: "ウェブサイトでの公表".into(),
        reason: "連絡先が不明な利用者がいるため".into(),
        recorded_by: "rp".into(),
        recorded_at: at(70),
        audit_index: 401,
    };
    store.record_alternative(&measure).unwrap();
    assert_eq!(store.alternatives("INC-1").unwrap(), [measure]);

    // Publications: versions in order; the public list leaves out withdrawn incidents.
    assert!(store.published_incidents().unwrap().is_empty());
    store.publish_incident(&publication("INC-1", 1, "2034-01-17")).unwrap();
    assert!(matches!(store.publish_incident(&publication("INC-1", 3, "2034-01-17")), Err(StoreError::Conflict(_))));
    store.publish_incident(&publication("INC-1", 2, "2034-01-17")).unwrap();
    store.publish_incident(&publication("INC-2", 1, "2020-01-17")).unwrap();
    assert_eq!(
        store.publications("INC-1").unwrap(),
        [publication("INC-1", 1, "2034-01-17"), publication("INC-1", 2, "2034-01-17")]
    );
    assert_eq!(store.published_incidents().unwrap().len(), 3);

    // Withdrawal: refused inside the window (the database's own date is before 2034-01-18),
    // allowed once it ended; final.
    let withdrawal = |incident: &str, on: &str| Withdrawal {
        incident: incident.into(),
        withdrawn_at: at(90),
        withdrawn_on: d(on),
        reason: "誤って公表".into(),
        withdrawn_by: "cpo".into(),
        audit_index: 500,
    };
    assert!(matches!(store.withdraw_incident(&withdrawal("INC-1", "2026-05-29")), Err(StoreError::Conflict(_))));
    assert!(
        matches!(store.withdraw_incident(&withdrawal("INC-2", "2020-01-17")), Err(StoreError::Conflict(_))),
        "a withdrawal dated inside the window is refused too"
    );
    assert!(store.withdrawal("INC-1").unwrap().is_none());
    store.withdraw_incident(&withdrawal("INC-2", "2026-05-29")).unwrap();
    assert_eq!(store.withdrawal("INC-2").unwrap(), Some(withdrawal("INC-2", "2026-05-29")));
    assert!(matches!(store.withdraw_incident(&withdrawal("INC-2", "2026-05-30")), Err(StoreError::Conflict(_))));
    let public: Vec<_> = store.published_incidents().unwrap().into_iter().map(|p| (p.incident, p.version)).collect();
    assert_eq!(public, [("INC-1".to_string(), 1), ("INC-1".to_string(), 2)]);
    assert!(matches!(store.publish_incident(&publication("INC-2", 2, "2020-01-17")), Err(StoreError::Conflict(_))));
}
