//! Conformance for [`AssessmentStore`]: one assessment per business year (a second is a
//! conflict naming the year), events kept in order, nothing added after the completion.

use jiff::Timestamp;

use crate::StoreError;
use crate::assessment::{AssessmentEventKind, AssessmentStore, NewAssessment, NewAssessmentEvent};

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + s).unwrap()
}

fn event(year: i32, kind: AssessmentEventKind, body: &str, s: i64) -> NewAssessmentEvent {
    NewAssessmentEvent {
        fiscal_year: year,
        kind,
        body: body.into(),
        by: "cpo".into(),
        at: at(s),
        audit_index: s as u64,
    }
}

pub fn run<S: AssessmentStore>(store: &S) {
    assert!(store.assessments().unwrap().is_empty());
    let open = |year: i32, s: i64| NewAssessment {
        fiscal_year: year,
        opened_by: "cpo".into(),
        opened_at: at(s),
        audit_index: s as u64,
    };
    store.add_assessment(&open(2026, 1)).unwrap();
    // A second assessment of a year is refused, naming the year; nothing is written.
    match store.add_assessment(&open(2026, 2)) {
        Err(StoreError::Conflict(message)) => assert!(message.contains("2026"), "{message}"),
        other => panic!("a second assessment of 2026: {other:?}"),
    }
    store.add_assessment(&open(2025, 3)).unwrap();
    let first = store.add_assessment_event(&event(2026, AssessmentEventKind::Assessed, "{\"measure\":1}", 4)).unwrap();
    let second = store.add_assessment_event(&event(2026, AssessmentEventKind::Finding, "{\"id\":\"F-1\"}", 5)).unwrap();
    assert!(second > first);
    assert!(matches!(
        store.add_assessment_event(&event(2030, AssessmentEventKind::Assessed, "{}", 6)),
        Err(StoreError::NotFound(_))
    ));
    store.add_assessment_event(&event(2026, AssessmentEventKind::Completed, "{}", 7)).unwrap();
    // Completed: nothing more, not even a second completion.
    for kind in [AssessmentEventKind::Assessed, AssessmentEventKind::Completed] {
        assert!(
            matches!(store.add_assessment_event(&event(2026, kind, "{}", 8)), Err(StoreError::Conflict(_))),
            "{kind:?} after the completion"
        );
    }
    let all = store.assessments().unwrap();
    assert_eq!(all.iter().map(|a| a.assessment.fiscal_year).collect::<Vec<_>>(), [2025, 2026]);
    assert_eq!(all[1].assessment, open(2026, 1));
    let kinds: Vec<_> = all[1].events.iter().map(|e| (e.event.kind, e.event.body.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (AssessmentEventKind::Assessed, "{\"measure\":1}"),
            (AssessmentEventKind::Finding, "{\"id\":\"F-1\"}"),
            (AssessmentEventKind::Completed, "{}"),
        ]
    );
    assert_eq!(all[1].events[0].event, event(2026, AssessmentEventKind::Assessed, "{\"measure\":1}", 4));
    assert!(all[0].events.is_empty());
}
