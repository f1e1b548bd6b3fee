//! Conformance for [`OversightStore`]: designations, filings, appointments and opinions come
//! back as recorded, in order; a corrected designation is a new one; appointing a chief
//! manager ends the one in force the day before, so one appointment is open at a time and
//! none overlap; an appointment that would start on or before the one in force is refused
//! with nothing changed; a notification names a known appointment, a filing of the rules a
//! known version; versions of the rules are numbered 1, 2, 3… with no gap; responses are kept
//! in order.

use jiff::Timestamp;
use tokutei_policy::Date;

use crate::StoreError;
use crate::oversight::{
    FilingKind, NewAppointment, NewDesignation, NewFiling, NewOpinion, NewOpinionResponse, NewRulesVersion,
    OversightStore,
};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + second).unwrap()
}

fn day(text: &str) -> Date {
    text.parse().unwrap()
}

/// An appointment `id` of `principal` from `from`.
pub fn appointment(id: &str, principal: &str, from: &str, audit_index: u64) -> NewAppointment {
    NewAppointment {
        id: id.into(),
        principal: principal.into(),
        from: day(from),
        evidence: Some("取締役会議事録 2026-11-20".into()),
        appointed_by: "cpo".into(),
        appointed_at: at(audit_index as i64),
        audit_index,
    }
}

pub fn run<S: OversightStore>(store: &S) {
    assert!(store.designations().unwrap().is_empty());
    assert!(store.oversight_filings().unwrap().is_empty());
    assert!(store.appointments().unwrap().is_empty());
    assert!(store.opinions().unwrap().is_empty());

    // Designations: numbered, the latest in force, nothing replaced.
    let first = NewDesignation {
        notified_on: day("2026-11-30"),
        services: vec!["mobile".into(), "isp".into()],
        recorded_by: "cpo".into(),
        recorded_at: at(1),
        audit_index: 1,
    };
    assert_eq!(store.add_designation(&first).unwrap(), 1);
    let corrected = NewDesignation { notified_on: day("2026-11-27"), services: vec!["mobile".into()], ..first.clone() };
    assert_eq!(store.add_designation(&corrected).unwrap(), 2);
    let all = store.designations().unwrap();
    assert_eq!(all.iter().map(|d| d.number).collect::<Vec<_>>(), [1, 2]);
    assert_eq!((&all[0].designation, &all[1].designation), (&first, &corrected));

    // Appointments: the first opens; the next ends it the day before its own start.
    assert_eq!(store.add_appointment(&appointment("CM-1", "chief", "2027-01-05", 3)).unwrap(), None);
    let open: Vec<_> = store.appointments().unwrap().into_iter().filter(|a| a.to.is_none()).collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].appointment, appointment("CM-1", "chief", "2027-01-05", 3));
    // Starting on or before the appointment in force, or reusing an id: refused, nothing changed.
    for refused in [
        appointment("CM-2", "other", "2027-01-05", 4),
        appointment("CM-2", "other", "2026-12-01", 4),
        appointment("CM-1", "other", "2027-03-01", 4),
    ] {
        assert!(matches!(store.add_appointment(&refused), Err(StoreError::Conflict(_))), "{refused:?} must be refused");
    }
    assert_eq!(store.appointments().unwrap().len(), 1);
    assert_eq!(store.appointments().unwrap()[0].to, None);
    assert_eq!(store.add_appointment(&appointment("CM-2", "deputy", "2027-03-01", 5)).unwrap(), Some("CM-1".into()));
    // The day after the in-force one starts is the earliest a successor may start.
    assert_eq!(store.add_appointment(&appointment("CM-3", "chief", "2027-03-02", 6)).unwrap(), Some("CM-2".into()));
    let all = store.appointments().unwrap();
    let spans: Vec<(&str, Date, Option<Date>)> =
        all.iter().map(|a| (a.appointment.id.as_str(), a.appointment.from, a.to)).collect();
    assert_eq!(
        spans,
        [
            ("CM-1", day("2027-01-05"), Some(day("2027-02-28"))),
            ("CM-2", day("2027-03-01"), Some(day("2027-03-01"))),
            ("CM-3", day("2027-03-02"), None),
        ]
    );
    assert_eq!(all[2].appointment.evidence.as_deref(), Some("取締役会議事録 2026-11-20"));

    // Versions of the 規程: the next number only.
    assert!(store.rules_versions().unwrap().is_empty());
    let first = NewRulesVersion {
        version: 1,
        source: "format = 1\n".into(),
        digest: "sha256:01".into(),
        effective: day("2027-01-15"),
        registered_by: "cpo".into(),
        registered_at: at(6),
        audit_index: 6,
    };
    store.add_rules_version(&first).unwrap();
    for taken in [1, 3, 0] {
        let err = store.add_rules_version(&NewRulesVersion { version: taken, ..first.clone() }).unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "version {taken}: {err:?}");
    }
    let second =
        NewRulesVersion { version: 2, source: "format = 1\n# 2\n".into(), digest: "sha256:02".into(), ..first.clone() };
    store.add_rules_version(&second).unwrap();
    assert_eq!(store.rules_versions().unwrap(), [first, second]);

    // Filings: the 規程 with its version, a notification with a known appointment.
    let unknown_rules = NewFiling {
        kind: FilingKind::Rules,
        appointment: None,
        rules_version: Some(3),
        filed_on: day("2027-02-01"),
        reference: "総基利第123号".into(),
        recorded_by: "cpo".into(),
        recorded_at: at(7),
        audit_index: 7,
    };
    assert!(matches!(store.add_filing(&unknown_rules), Err(StoreError::NotFound(_))));
    let rules = NewFiling {
        kind: FilingKind::Rules,
        appointment: None,
        rules_version: Some(1),
        filed_on: day("2027-02-01"),
        reference: "総基利第123号".into(),
        recorded_by: "cpo".into(),
        recorded_at: at(7),
        audit_index: 7,
    };
    assert_eq!(store.add_filing(&rules).unwrap(), 1);
    let notified = NewFiling {
        kind: FilingKind::ManagerNotification,
        appointment: Some("CM-1".into()),
        rules_version: None,
        filed_on: day("2027-01-20"),
        reference: "届出-2027-004".into(),
        audit_index: 8,
        ..rules.clone()
    };
    assert_eq!(store.add_filing(&notified).unwrap(), 2);
    let unknown = NewFiling { appointment: Some("CM-9".into()), ..notified.clone() };
    assert!(matches!(store.add_filing(&unknown), Err(StoreError::NotFound(_))));
    let mixed = NewFiling { rules_version: Some(1), ..notified.clone() };
    assert!(matches!(store.add_filing(&mixed), Err(StoreError::Conflict(_))));
    // A correction is another filing; both are kept.
    let again = NewFiling { reference: "総基利第124号".into(), audit_index: 9, ..rules.clone() };
    assert_eq!(store.add_filing(&again).unwrap(), 3);
    let filings = store.oversight_filings().unwrap();
    assert_eq!(filings.iter().map(|f| f.number).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!((&filings[0].filing, &filings[1].filing, &filings[2].filing), (&rules, &notified, &again));

    // Opinions and their responses.
    let opinion = NewOpinion {
        id: "OP-1".into(),
        appointment: "CM-1".into(),
        given_on: day("2027-02-10"),
        subject: "委託先の監督".into(),
        text: "委託先の再委託を年1回点検すべきである。".into(),
        recorded_by: "chief".into(),
        recorded_at: at(10),
        audit_index: 10,
    };
    store.add_opinion(&opinion).unwrap();
    assert!(matches!(store.add_opinion(&opinion), Err(StoreError::Conflict(_))));
    let orphan = NewOpinion { id: "OP-2".into(), appointment: "CM-9".into(), ..opinion.clone() };
    assert!(matches!(store.add_opinion(&orphan), Err(StoreError::NotFound(_))));
    let later = NewOpinion { id: "OP-0".into(), given_on: day("2027-02-20"), audit_index: 11, ..opinion.clone() };
    store.add_opinion(&later).unwrap();
    let response = NewOpinionResponse {
        opinion: "OP-1".into(),
        responded_on: day("2027-02-24"),
        text: "点検を規程に加えた。".into(),
        recorded_by: "cpo".into(),
        recorded_at: at(12),
        audit_index: 12,
    };
    store.add_opinion_response(&response).unwrap();
    let second =
        NewOpinionResponse {
            text: "点検を2027年度から実施する。".into(), audit_index: 13, ..response.clone()
        };
    store.add_opinion_response(&second).unwrap();
    let stray = NewOpinionResponse { opinion: "OP-9".into(), ..response.clone() };
    assert!(matches!(store.add_opinion_response(&stray), Err(StoreError::NotFound(_))));
    let opinions = store.opinions().unwrap();
    assert_eq!(opinions.iter().map(|o| o.opinion.id.as_str()).collect::<Vec<_>>(), ["OP-1", "OP-0"]);
    assert_eq!(opinions[0].opinion, opinion);
    assert_eq!(opinions[0].responses, [response, second]);
    assert!(opinions[1].responses.is_empty());
}

/// A violation report `id` about `principal`, with a detector's key when given.
pub fn violation(id: &str, principal: &str, key: Option<&str>, second: i64) -> crate::oversight::NewViolationReport {
    crate::oversight::NewViolationReport {
        id: id.into(),
        detector: key.map(|_| "denial_burst".into()),
        principal: principal.into(),
        measure: 2,
        text: "拒否が続いています".into(),
        dedupe_key: key.map(Into::into),
        reported_by: if key.is_some() { "violation-detector".into() } else { "support".into() },
        received_at: at(second),
        ack_due: at(second + 3 * 86_400),
        audit_index: second as u64,
    }
}

/// Conformance for [`crate::oversight::ViolationStore`]: reports come back as recorded with
/// their events in order; a taken id or finding key is a conflict with nothing stored; an
/// event of an unknown report is not found.
pub fn run_violations<S: crate::oversight::ViolationStore>(store: &S) {
    use crate::oversight::{NewViolationEvent, ViolationEventKind};
    assert!(store.violation_reports().unwrap().is_empty());
    let staff = violation("VR-1", "support", None, 10);
    let detected = violation("VR-2", "batch", Some("denial_burst/batch/100"), 20);
    store.add_violation_report(&staff).unwrap();
    store.add_violation_report(&detected).unwrap();
    let again = violation("VR-3", "batch", Some("denial_burst/batch/100"), 30);
    assert!(matches!(store.add_violation_report(&again), Err(StoreError::Conflict(_))));
    assert!(matches!(store.add_violation_report(&violation("VR-1", "x", None, 40)), Err(StoreError::Conflict(_))));
    let ack = NewViolationEvent {
        report: "VR-2".into(),
        kind: ViolationEventKind::Acknowledged,
        text: None,
        incident: None,
        by: "cpo".into(),
        at: at(50),
        audit_index: 50,
    };
    store.add_violation_event(&ack).unwrap();
    let resolved = NewViolationEvent {
        kind: ViolationEventKind::ResolvedViolation,
        text: Some("権限外の照会".into()),
        incident: Some("INC-1".into()),
        at: at(60),
        audit_index: 60,
        ..ack.clone()
    };
    store.add_violation_event(&resolved).unwrap();
    let unknown = NewViolationEvent { report: "VR-9".into(), ..ack.clone() };
    assert!(matches!(store.add_violation_event(&unknown), Err(StoreError::NotFound(_))));
    let all = store.violation_reports().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!((&all[0].report, &all[1].report), (&staff, &detected));
    assert!(all[0].events.is_empty());
    assert_eq!(all[1].events, [ack, resolved]);
}
