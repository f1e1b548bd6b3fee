//! Conformance for [`RequestStore`]: requests and their events come back as recorded, in
//! order; a taken id is a conflict; an event of an unknown request is `NotFound`; a second
//! outcome is refused with nothing written; the stops a request puts in force reach the
//! access facts for the purpose they name (or every purpose) until they are lifted.

use jiff::Timestamp;

use crate::StoreError;
use crate::consent::ConsentStore;
use crate::requests::{NewRequest, NewRequestEvent, RequestEventKind, RequestStore, StopKind, UseStop};
use crate::vault::{Contract, ContractState, ImportBatch, NewSubscriber, VaultStore, WrappedDataKey};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + second).unwrap()
}

pub fn run<S: RequestStore + VaultStore + ConsentStore>(store: &S) {
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
    assert_eq!(store.request("DR-1").unwrap().as_ref(), Some(&all[0]), "one request reads as in the list");
    assert_eq!(store.request("DR-9").unwrap(), None);
    assert_eq!(all[1].events.len(), 1);

    stops(store);
}

fn stops<S: RequestStore + VaultStore + ConsentStore>(store: &S) {
    store
        .import_batch(&ImportBatch {
            source_key: "conformance-stops".into(),
            subscribers: vec![NewSubscriber {
                id: "S-stop".into(),
                service: "fiber".into(),
                contract: Contract {
                    state: ContractState::Active,
                    started_on: tokutei_policy::Date::new(2020, 1, 1).unwrap(),
                    suspended_on: None,
                    terminated_on: None,
                },
                key: WrappedDataKey { kek_id: "kek".into(), bytes: vec![0; 40] },
            }],
            values: Vec::new(),
            rows: 1,
            imported_at: at(30),
            audit_index: None,
        })
        .unwrap();
    let stop = |purpose: &str, kind: StopKind, stopped: bool, n: i64| UseStop {
        subscriber: "S-stop".into(),
        kind,
        purpose: purpose.into(),
        stopped,
        request: "DR-2".into(),
        by: "cpo".into(),
        at: at(40 + n),
        audit_index: 40 + n as u64,
    };
    let flags = |purpose: &str| {
        let f = store.access_facts("S-stop", purpose).unwrap().unwrap();
        (f.use_stopped, f.provision_stopped)
    };
    assert_eq!(flags("marketing"), (false, false));
    assert!(matches!(
        store.add_use_stops(&[UseStop { request: "DR-9".into(), ..stop("marketing", StopKind::Use, true, 0) }]),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.add_use_stops(&[
            stop("marketing", StopKind::Use, true, 1),
            UseStop { subscriber: "S-none".into(), ..stop("x", StopKind::Use, true, 2) }
        ]),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(flags("marketing"), (false, false), "nothing of a refused batch is kept");
    store.add_use_stops(&[stop("marketing", StopKind::Use, true, 3)]).unwrap();
    assert_eq!((flags("marketing"), flags("support")), ((true, false), (false, false)));
    store.add_use_stops(&[stop("*", StopKind::Use, true, 4), stop("*", StopKind::Provision, true, 5)]).unwrap();
    assert_eq!((flags("marketing"), flags("support")), ((true, true), (true, true)));
    store.add_use_stops(&[stop("*", StopKind::Use, false, 6), stop("*", StopKind::Provision, false, 7)]).unwrap();
    assert_eq!(
        (flags("marketing"), flags("support")),
        ((true, false), (false, false)),
        "lifting `*` keeps the purpose's own stop"
    );
    store.add_use_stops(&[stop("marketing", StopKind::Use, false, 8)]).unwrap();
    assert_eq!(flags("marketing"), (false, false));
    let rows = store.use_stops("S-stop").unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[0], stop("marketing", StopKind::Use, true, 3));
    assert!(store.use_stops("S-none").unwrap().is_empty());
}
