//! Conformance for [`ZoneStore`]: a zone is registered and replaced whole (keeping when it was
//! first registered); badge events are stored all or nothing; the latest event per zone at a
//! time is found by badge time, then by the order recorded; the log lists newest first,
//! filtered by person and zone.

use jiff::Timestamp;

use crate::zones::{HandlingZone, NewPresence, PresenceFilter, PresenceKind, ZoneStore};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + second).unwrap()
}

fn zone(id: &str, networks: &[&str], secrecy: bool, when: i64) -> HandlingZone {
    HandlingZone {
        id: id.into(),
        name: format!("{id} 取扱室"),
        site: "本社 3F".into(),
        networks: networks.iter().map(|n| n.to_string()).collect(),
        secrecy,
        registered_at: at(when),
        updated_at: at(when),
        audit_index: when as u64,
    }
}

fn event(person: &str, zone: &str, kind: PresenceKind, when: i64) -> NewPresence {
    NewPresence {
        person: person.into(),
        zone: zone.into(),
        kind,
        at: at(when),
        source: "badge-gate".into(),
        recorded_at: at(when + 1),
        audit_index: 100 + when as u64,
    }
}

pub fn run<S: ZoneStore>(store: &S) {
    use PresenceKind::{Enter, Exit};
    assert!(store.zones().unwrap().is_empty());
    store.put_zone(&zone("hq-3f", &["10.20.0.0/24", "fd00::/64"], true, 0)).unwrap();
    store.put_zone(&zone("call-1", &["10.30.0.0/16"], false, 1)).unwrap();
    // Replaced whole, registered_at kept.
    store.put_zone(&zone("call-1", &["10.31.0.0/16"], true, 5)).unwrap();
    let zones = store.zones().unwrap();
    assert_eq!(zones.iter().map(|z| z.id.as_str()).collect::<Vec<_>>(), ["call-1", "hq-3f"]);
    let call = &zones[0];
    assert_eq!(
        (call.networks.clone(), call.secrecy, call.registered_at, call.updated_at),
        (vec!["10.31.0.0/16".to_string()], true, at(1), at(5))
    );
    assert_eq!(zones[1], zone("hq-3f", &["10.20.0.0/24", "fd00::/64"], true, 0));

    assert!(store.latest_presence("p-1", at(100)).unwrap().is_empty());
    store
        .add_presence(&[
            event("p-1", "hq-3f", Enter, 10),
            event("p-1", "hq-3f", Exit, 20),
            event("p-1", "call-1", Enter, 15),
            event("p-2", "hq-3f", Enter, 12),
        ])
        .unwrap();
    // Recorded later, badged earlier: the badge time decides.
    store.add_presence(&[event("p-1", "hq-3f", Enter, 5)]).unwrap();
    // The same second twice: the one recorded last is the latest.
    store.add_presence(&[event("p-2", "hq-3f", Exit, 12)]).unwrap();

    let latest = |person: &str, now: i64| -> Vec<(String, PresenceKind, Timestamp)> {
        store.latest_presence(person, at(now)).unwrap().into_iter().map(|e| (e.zone, e.kind, e.at)).collect()
    };
    assert_eq!(latest("p-1", 100), [("call-1".to_string(), Enter, at(15)), ("hq-3f".to_string(), Exit, at(20))]);
    assert_eq!(latest("p-1", 17), [("call-1".to_string(), Enter, at(15)), ("hq-3f".to_string(), Enter, at(10))]);
    assert_eq!(latest("p-1", 4), []);
    assert_eq!(latest("p-2", 100), [("hq-3f".to_string(), Exit, at(12))]);
    let full = store.latest_presence("p-2", at(100)).unwrap().remove(0);
    assert_eq!((full.source.as_str(), full.recorded_at, full.audit_index), ("badge-gate", at(13), 112));

    // The log: newest first, filtered.
    let ids = |filter: PresenceFilter, limit: usize| -> Vec<(String, String, i64)> {
        store
            .presence_log(&filter, limit)
            .unwrap()
            .into_iter()
            .map(|e| (e.person, e.zone, e.at.as_second() - 1_790_000_000))
            .collect()
    };
    let all = ids(PresenceFilter::default(), 10);
    assert_eq!(all.len(), 6);
    assert_eq!(all[0], ("p-1".into(), "hq-3f".into(), 20));
    assert_eq!(all[5], ("p-1".into(), "hq-3f".into(), 5));
    assert_eq!(ids(PresenceFilter::default(), 2).len(), 2);
    let p2 = ids(PresenceFilter { person: Some("p-2".into()), zone: None }, 10);
    assert_eq!(p2.len(), 2);
    let call_only = ids(PresenceFilter { person: Some("p-1".into()), zone: Some("call-1".into()) }, 10);
    assert_eq!(call_only, [("p-1".to_string(), "call-1".to_string(), 15)]);
    let log = store.presence_log(&PresenceFilter::default(), 10).unwrap();
    assert!(log.windows(2).all(|w| (w[0].at, w[0].id) > (w[1].at, w[1].id)), "newest first");
}
