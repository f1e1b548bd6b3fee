//! Handling zones end to end: with zones required, a person's zone is derived from the
//! entry/exit log and the terminal's network — never from what the caller names — and every
//! refusal names its reason in the audit; systems keep the zone they name; only the badge
//! system (or a manager) reports badge events, each audited before it is stored; a bad event
//! changes nothing.

use std::net::IpAddr;

use jiff::SignedDuration;
use tokutei_app::zones::{BadgeEvent, NewZone};
use tokutei_app::{Acting, ActionError, PrincipalId, ZoneId};
use tokutei_ledger::{AdminAction, Event};
use tokutei_store::ledger::LedgerStore;
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, StaffStore};
use tokutei_store::zones::{PresenceFilter, PresenceKind, ZoneStore};

use super::support::{at, call, deploy_zoned};

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

fn manager() -> Acting {
    Acting::Person("all".into())
}

fn badge(person: &str, zone: &str, kind: PresenceKind, second: i64) -> BadgeEvent {
    BadgeEvent { person: PrincipalId::parse(person).unwrap(), zone: ZoneId::parse(zone).unwrap(), kind, at: at(second) }
}

/// A deployment with zones required, the zones `hq` (10.20.0.0/24, secrecy of communications
/// allowed) and `lobby` (10.40.0.0/24, not), and a badge system.
fn zoned() -> super::support::Deployed {
    let d = deploy_zoned();
    for (id, network, secrecy) in [("hq", "10.20.0.0/24", true), ("lobby", "10.40.0.0/24", false)] {
        let zone = NewZone {
            id: ZoneId::parse(id).unwrap(),
            name: format!("{id} 取扱室"),
            site: "本社".into(),
            networks: vec![network.into()],
            secrecy,
        };
        d.service.register_zone(&manager(), &zone, at(0)).unwrap();
    }
    d.store
        .create_principal(&NewPrincipal {
            id: "gate".into(),
            display_name: "入退室管理".into(),
            kind: PrincipalKind::System { name: tokutei_app::zones::BADGE_SYSTEM.into() },
            grants: Grants { actions: Vec::new(), ..Grants::default() },
            created_at: at(0),
        })
        .unwrap();
    d
}

/// The ledger entry at `index`.
fn entry(d: &super::support::Deployed, index: u64) -> tokutei_ledger::Entry {
    let stored = d.ledger.ledger_entry(index).unwrap().unwrap();
    tokutei_ledger::Entry::decode(&stored.encoded).unwrap().1
}

fn gate() -> Acting {
    Acting::Person("gate".into())
}

/// The reason codes of a call's decisions, and the zone its audit entries name.
fn decided(d: &super::support::Deployed, c: &tokutei_app::AccessCall) -> (Vec<String>, Vec<String>) {
    let outcome = d.service.read(c).unwrap();
    let mut reasons: Vec<String> = outcome
        .subscribers
        .iter()
        .flat_map(|s| s.items.iter().flat_map(|i| i.reasons.iter().map(|r| r.code.clone())))
        .collect();
    reasons.dedup();
    let zones = outcome
        .audit
        .iter()
        .map(|&i| match entry(d, i).event {
            Event::Access(a) => a.request.zone,
            other => panic!("not an access entry: {other:?}"),
        })
        .collect();
    (reasons, zones)
}

#[test]
fn a_persons_zone_is_derived_from_the_badge_log_and_the_terminal() {
    let d = zoned();
    let read = |terminal: &str, second: i64| {
        let mut c = call("support", "support", &["S-active"], &["contract.name"]);
        c.terminal = ip(terminal);
        c.now = at(second);
        // What a person names is not looked at.
        c.zone = Some("hq".into());
        c
    };
    // No badge: refused, the reason audited, no zone.
    assert_eq!(decided(&d, &read("10.20.0.5", 100)), (vec!["zone_not_entered".to_string()], vec![String::new()]));
    d.service.record_presence(&gate(), &[badge("support", "hq", PresenceKind::Enter, 200)], at(200)).unwrap();
    // In the zone, at one of its terminals: allowed in `hq`.
    assert_eq!(decided(&d, &read("10.20.0.5", 300)), (vec![], vec!["hq".to_string()]));
    // The same person from another network.
    assert_eq!(decided(&d, &read("10.40.0.5", 300)), (vec!["zone_other_network".to_string()], vec![String::new()]));
    // After the longest stay (12 hours by default).
    let late = 200 + 12 * 3600;
    assert_eq!(decided(&d, &read("10.20.0.5", late)), (vec!["zone_stay_expired".to_string()], vec![String::new()]));
    // Badged out.
    d.service.record_presence(&gate(), &[badge("support", "hq", PresenceKind::Exit, 400)], at(400)).unwrap();
    assert_eq!(decided(&d, &read("10.20.0.5", 500)), (vec!["zone_exited".to_string()], vec![String::new()]));
    // The refusal names the physical measure's clause, in both languages.
    let refused = d.service.read(&read("10.20.0.5", 500)).unwrap();
    let reason = &refused.subscribers[0].items[0].reasons[0];
    assert!(reason.clause.starts_with("security.measures"), "{reason:?}");
    assert!(reason.ja.contains("退室"), "{reason:?}");
}

#[test]
fn a_system_keeps_the_zone_it_names() {
    let d = zoned();
    let mut c = call("ads", "network_security", &["S-active"], &["contract.number"]);
    c.zone = Some("hq".into());
    c.terminal = ip("192.0.2.1");
    assert_eq!(decided(&d, &c), (vec![], vec!["hq".to_string()]));
}

#[test]
fn secrecy_of_communications_only_in_a_zone_registered_for_it() {
    let d = zoned();
    // `all` may work in `hq` only: grant `lobby` as well for this test.
    let mut grants = d.store.principal("all").unwrap().unwrap().grants;
    grants.zones = vec!["hq".into(), "lobby".into()];
    d.service.change_grants(&manager(), &PrincipalId::parse("all").unwrap(), &grants, at(1)).unwrap();
    d.service
        .record_presence(
            &gate(),
            &[badge("all", "hq", PresenceKind::Enter, 10), badge("all", "lobby", PresenceKind::Enter, 20)],
            at(30),
        )
        .unwrap();
    let read = |terminal: &str| {
        let mut c = call("all", "network_security", &["S-active"], &["contract.number", "comm.auth_log"]);
        c.terminal = ip(terminal);
        c
    };
    let allowed = |terminal: &str| -> Vec<(String, bool, Vec<String>)> {
        let out = d.service.read(&read(terminal)).unwrap();
        out.subscribers[0]
            .items
            .iter()
            .map(|i| (i.category.clone(), i.allowed, i.reasons.iter().map(|r| r.code.clone()).collect()))
            .collect()
    };
    assert_eq!(
        allowed("10.20.0.9"),
        [("contract.number".to_string(), true, vec![]), ("comm.auth_log".to_string(), true, vec![])]
    );
    assert_eq!(
        allowed("10.40.0.9"),
        [
            ("contract.number".to_string(), true, vec![]),
            ("comm.auth_log".to_string(), false, vec!["zone_secrecy_not_allowed".to_string()])
        ]
    );
}

#[test]
fn only_the_badge_system_or_a_manager_reports_badge_events() {
    let d = zoned();
    let event = [badge("support", "hq", PresenceKind::Enter, 10)];
    for (by, refused) in [
        (Acting::Person("crm".into()), true),
        (Acting::Person("support".into()), true),
        (Acting::Person("nobody".into()), true),
        (manager(), false),
        (gate(), false),
    ] {
        let size = d.ledger.tree_size().unwrap();
        let result = d.service.record_presence(&by, &event, at(20));
        assert_eq!(result.is_err(), refused, "{by:?}: {result:?}");
        if refused {
            assert_eq!(d.ledger.tree_size().unwrap(), size, "{by:?}: nothing written");
        }
    }
    let log = d.store.presence_log(&PresenceFilter::default(), 10).unwrap();
    assert_eq!(log.iter().map(|e| e.source.as_str()).collect::<Vec<_>>(), ["gate", "all"]);
}

#[test]
fn every_badge_event_is_audited_before_it_is_stored() {
    let d = zoned();
    let indexes = d
        .service
        .record_presence(
            &gate(),
            &[badge("support", "hq", PresenceKind::Enter, 10), badge("support", "hq", PresenceKind::Exit, 20)],
            at(30),
        )
        .unwrap();
    assert_eq!(indexes.len(), 2);
    for (&index, kind) in indexes.iter().zip(["enter", "exit"]) {
        let entry = entry(&d, index);
        let Event::Admin(admin) = entry.event else { panic!("an administrative entry") };
        assert_eq!(admin.action, AdminAction::PresenceRecorded);
        assert_eq!(admin.subject, "presence/support");
        assert!(admin.details.contains(&("event".to_string(), kind.to_string())), "{:?}", admin.details);
        assert!(admin.details.contains(&("zone".to_string(), "hq".to_string())), "{:?}", admin.details);
    }
    let log = d.store.presence_log(&PresenceFilter { person: Some("support".into()), zone: None }, 10).unwrap();
    assert_eq!(log.iter().map(|e| e.audit_index).collect::<Vec<_>>(), [indexes[1], indexes[0]]);
}

#[test]
fn a_bad_badge_event_names_its_field_and_records_nothing() {
    let d = zoned();
    let size = d.ledger.tree_size().unwrap();
    let good = badge("support", "hq", PresenceKind::Enter, 10);
    let check = |event: BadgeEvent, field: &str| {
        // The bad event second: the good one before it is not recorded either.
        let err = d.service.record_presence(&gate(), &[good.clone(), event], at(60)).unwrap_err();
        assert!(matches!(&err, ActionError::Invalid { field: f, .. } if *f == field), "{field}: {err:?}");
    };
    check(badge("nobody", "hq", PresenceKind::Enter, 10), "person");
    check(badge("ads", "hq", PresenceKind::Enter, 10), "person");
    check(badge("support", "attic", PresenceKind::Enter, 10), "zone");
    let mut future = good.clone();
    future.at = at(60) + SignedDuration::from_mins(6);
    check(future, "at");
    assert_eq!(d.ledger.tree_size().unwrap(), size);
    assert!(d.store.presence_log(&PresenceFilter::default(), 10).unwrap().is_empty());
}

#[test]
fn a_zone_is_registered_by_a_manager_with_checked_networks() {
    let d = zoned();
    let zone = |networks: &[&str]| NewZone {
        id: ZoneId::parse("call-1").unwrap(),
        name: "コールセンター".into(),
        site: "大阪".into(),
        networks: networks.iter().map(|n| n.to_string()).collect(),
        secrecy: false,
    };
    let size = d.ledger.tree_size().unwrap();
    for networks in [&[][..], &["10.1.0.1/16"][..], &["intranet"][..], &["10.1.0.0/16", "10.1.0.0/16"][..]] {
        let err = d.service.register_zone(&manager(), &zone(networks), at(5)).unwrap_err();
        assert!(matches!(err, ActionError::Invalid { field: "networks", .. }), "{networks:?}: {err:?}");
    }
    let err = d.service.register_zone(&Acting::Person("support".into()), &zone(&["10.1.0.0/16"]), at(5)).unwrap_err();
    assert!(matches!(err, ActionError::Forbidden(_)), "{err:?}");
    assert_eq!(d.ledger.tree_size().unwrap(), size, "nothing written");
    let stored = d.service.register_zone(&manager(), &zone(&["10.1.0.0/16", "10.2.0.9"]), at(5)).unwrap();
    assert_eq!(stored.networks, ["10.1.0.0/16", "10.2.0.9/32"]);
    // Replaced whole, first registration kept.
    let again = d.service.register_zone(&manager(), &zone(&["10.3.0.0/16"]), at(9)).unwrap();
    assert_eq!(
        (again.registered_at, again.updated_at, again.networks.clone()),
        (at(5), at(9), vec!["10.3.0.0/16".into()])
    );
    assert_eq!(d.store.zones().unwrap().iter().filter(|z| z.id == "call-1").count(), 1);
}
