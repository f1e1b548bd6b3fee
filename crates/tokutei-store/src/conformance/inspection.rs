//! Conformance for [`InspectionStore`]: reports come back as recorded, in the order made; a
//! taken id or period and revision is a conflict with nothing stored; findings come back in
//! order with their closure; a finding of an unknown report, or a closure of an unknown
//! finding, is not found; a finding is closed once.

use jiff::Timestamp;

use crate::StoreError;
use crate::inspection::{InspectionStore, NewFindingClosure, NewInspection, NewInspectionFinding};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + second).unwrap()
}

/// A report `id` of `period`, revision `revision`, made by entry `audit_index`.
pub fn inspection(id: &str, period: &str, revision: u32, audit_index: u64) -> NewInspection {
    let document = format!("{{\"period\":\"{period}\",\"revision\":{revision}}}");
    NewInspection {
        id: id.into(),
        period: period.into(),
        revision,
        digest: [revision as u8; 32],
        document,
        checkpoint_size: audit_index,
        made_by: "cpo".into(),
        made_at: at(audit_index as i64),
        audit_index,
    }
}

pub fn run<S: InspectionStore>(store: &S) {
    assert!(store.inspections().unwrap().is_empty());
    assert_eq!(store.inspection("IR-1").unwrap(), None);
    let first = inspection("IR-1", "2026-11", 1, 10);
    let again = inspection("IR-2", "2026-11", 2, 20);
    store.add_inspection(&first).unwrap();
    store.add_inspection(&again).unwrap();
    // The same id, or the same period and revision, is refused.
    assert!(matches!(store.add_inspection(&inspection("IR-1", "2026-12", 1, 30)), Err(StoreError::Conflict(_))));
    assert!(matches!(store.add_inspection(&inspection("IR-3", "2026-11", 2, 30)), Err(StoreError::Conflict(_))));
    assert_eq!(store.inspections().unwrap(), [first.clone(), again.clone()]);
    assert_eq!(store.inspection("IR-2").unwrap(), Some(again));

    let finding = NewInspectionFinding {
        id: "IF-1".into(),
        inspection: "IR-1".into(),
        text: "夜間の照会が多い部署がある".into(),
        owner: "cpo".into(),
        due: Some("2026-12-31".parse().unwrap()),
        added_by: "cpo".into(),
        added_at: at(40),
        audit_index: 40,
    };
    store.add_inspection_finding(&finding).unwrap();
    let second = NewInspectionFinding { id: "IF-2".into(), due: None, audit_index: 41, ..finding.clone() };
    store.add_inspection_finding(&second).unwrap();
    assert!(matches!(store.add_inspection_finding(&finding), Err(StoreError::Conflict(_))));
    let orphan = NewInspectionFinding { id: "IF-3".into(), inspection: "IR-9".into(), ..finding.clone() };
    assert!(matches!(store.add_inspection_finding(&orphan), Err(StoreError::NotFound(_))));

    let closure = NewFindingClosure {
        finding: "IF-1".into(),
        text: "勤務表を見直した".into(),
        by: "cpo".into(),
        at: at(50),
        audit_index: 50,
    };
    store.add_finding_closure(&closure).unwrap();
    assert!(matches!(store.add_finding_closure(&closure), Err(StoreError::Conflict(_))));
    let unknown = NewFindingClosure { finding: "IF-9".into(), ..closure.clone() };
    assert!(matches!(store.add_finding_closure(&unknown), Err(StoreError::NotFound(_))));

    let all = store.inspection_findings().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!((&all[0].finding, &all[0].closure), (&finding, &Some(closure)));
    assert_eq!((&all[1].finding, &all[1].closure), (&second, &None));
}
