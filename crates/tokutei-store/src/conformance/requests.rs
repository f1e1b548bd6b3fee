//! Conformance for [`RequestStore`]: requests and their events come back as recorded, in
//! order; a taken id is a conflict; an event of an unknown request is `NotFound`; a second
//! outcome is refused with nothing written.

use jiff::Timestamp;

use crate::StoreError;
use crate::requests::{NewRequest, NewRequestEvent, RequestEventKind, RequestStore};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + second).unwrap()
}

pub fn run<S: RequestStore>(store: &S) {
    assert!(store.requests().unwrap().is_empty());
    let first = NewRequest {
        id: "DR-1".into(),
        kind: "disclosure".into(),
        channel: "inquiry".into(),
        inquiry: Some("Q-20261201-0001".into()),
        received_at: at(1),
        opened_by: "cpo".into(),
        audit_index: 1,
    };
    store.add_request(&first).unwrap();
    let err = store.add_request(&NewRequest { kind: "erasure".into(), ..first.clone() }).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("DR-1")), "{err:?}");
    let second = NewRequest {
        id: "DR-2".into(),
        kind: "stop".into(),
        channel: "phone".into(),
        inquiry: None,
        received_at: at(2),
        audit_index: 2,
        ..first.clone()
    };
    store.add_request(&second).unwrap();

    let event = |request: &str, kind: RequestEventKind, n: i64| NewRequestEvent {
        request: request.into(),
        kind,
        body: format!("{{\"n\":{n}}}"),
        by: "cpo".into(),
        at: at(10 + n),
        audit_index: 10 + n as u64,
    };
    let verified = event("DR-1", RequestEventKind::Verified, 1);
    assert_eq!(store.add_request_event(&verified).unwrap(), 1);
    assert!(matches!(
        store.add_request_event(&event("DR-9", RequestEventKind::Paused, 2)),
        Err(StoreError::NotFound(_))
    ));
    store.add_request_event(&event("DR-2", RequestEventKind::Paused, 3)).unwrap();
    store.add_request_event(&event("DR-1", RequestEventKind::Outcome, 4)).unwrap();
    let err = store.add_request_event(&event("DR-1", RequestEventKind::Outcome, 5)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "a second outcome: {err:?}");
    store.add_request_event(&event("DR-1", RequestEventKind::Notified, 6)).unwrap();

    let all = store.requests().unwrap();
    assert_eq!(all.iter().map(|r| &r.request).collect::<Vec<_>>(), [&first, &second]);
    // Numbers only increase (a refused insert may use one up on some backends).
    let kinds: Vec<RequestEventKind> = all[0].events.iter().map(|e| e.event.kind).collect();
    assert_eq!(kinds, [RequestEventKind::Verified, RequestEventKind::Outcome, RequestEventKind::Notified]);
    assert!(all[0].events.windows(2).all(|w| w[0].number < w[1].number));
    assert_eq!(all[0].events[0].event, verified);
    assert_eq!(all[1].events.len(), 1);
}
