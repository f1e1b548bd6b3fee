//! Export artefacts and media on a real deployment: an artefact is the approved export run
//! through the gateway, decrypts with the recipient's key only and its SHA-256 is the one the
//! ledger's `export_produced` entry names; it is downloaded once, by its requester only; an
//! external medium is refused unless an exception is in force for that person and medium,
//! and only a manager other than the person grants one.

use std::sync::atomic::Ordering;

use sha2::{Digest, Sha256};
use tokutei_app::exports::artefact::{ExportState, Produce};
use tokutei_app::exports::{Medium, NewExport, NewGrant};
use tokutei_app::{Acting, ActionError, CategoryId, MediaExceptionId, PrincipalId, PurposeId, SubscriberId};
use tokutei_ledger::{Action, Actor, AdminAction, Decision, Event};
use tokutei_store::exports::{ArtefactStore, MediaExceptionStore};
use tokutei_store::ledger::LedgerStore;

use super::support::{Deployed, at, date, deploy, first_channel, plaintext};
use super::{admin_entries, ads_request, eid, opt_in_to_ads, person, size};

fn identity() -> age::x25519::Identity {
    age::x25519::Identity::generate()
}

fn produce(id: &str, recipient: &age::x25519::Identity, purpose: &str) -> Produce {
    Produce {
        id: eid(id),
        recipient_key: recipient.to_public().to_string(),
        channel: first_channel(purpose),
        zone: None,
        terminal: None,
        client: "test".into(),
    }
}

/// `ads` exports the browsing history of `S-active` (opted in) and `S-suspended` (not): EXP-1,
/// approved.
fn ads_export(d: &Deployed) {
    opt_in_to_ads(d);
    let mut request = ads_request("EXP-1");
    request.subscribers =
        Some(vec![SubscriberId::parse("S-active").unwrap(), SubscriberId::parse("S-suspended").unwrap()]);
    d.service.request_export(&person("ads"), &request, at(0)).unwrap();
    d.service.approve_export(&person("all"), &eid("EXP-1"), at(100)).unwrap();
}

/// `support` (a handler, a person) exports `S-active`'s name for support: `id`, approved.
fn support_export(d: &Deployed, id: &str) {
    let request = NewExport {
        id: eid(id),
        purpose: PurposeId::parse("support").unwrap(),
        categories: vec![CategoryId::parse("contract.name").unwrap()],
        subscribers: Some(vec![SubscriberId::parse("S-active").unwrap()]),
        reason: "handover to the repair contractor".into(),
        recipient: None,
        days: 7,
    };
    d.service.request_export(&person("support"), &request, at(0)).unwrap();
    d.service.approve_export(&person("all"), &eid(id), at(100)).unwrap();
}

fn detail<'a>(details: &'a [(String, String)], key: &str) -> Option<&'a str> {
    details.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn entries_of(d: &Deployed, from: u64, action: AdminAction) -> Vec<(Actor, tokutei_ledger::AdminEvent)> {
    admin_entries(d, from).into_iter().filter(|(_, e)| e.action == action).collect()
}

#[test]
fn an_artefact_decrypts_with_the_recipients_key_only_and_its_digest_is_in_the_ledger() {
    let d = deploy();
    ads_export(&d);
    let recipient = identity();
    let before = size(&d);
    let produced =
        d.service.produce_export(&person("ads"), &produce("EXP-1", &recipient, "third_party_ads"), at(200)).unwrap();
    assert_eq!((produced.subscribers, produced.allowed, produced.denied), (2, 1, 1));

    // The export went through the gateway: an allow and a deny entry of action export, before
    // `export_produced`.
    let mut exports = Vec::new();
    d.ledger
        .scan_entries(before, &mut |e| {
            let entry = e.decode().unwrap();
            if let Event::Access(a) = entry.event {
                exports.push((e.index, a.action, a.decision, a.subscribers));
            }
            Ok(true)
        })
        .unwrap();
    assert_eq!(exports.len(), 2, "{exports:?}");
    assert!(exports.iter().all(|(_, action, ..)| *action == Action::Export));
    assert!(exports.iter().any(|(_, _, d, s)| *d == Decision::Allow && s == &["S-active"]));
    assert!(exports.iter().any(|(_, _, d, s)| *d == Decision::Deny && s == &["S-suspended"]));
    let entry = entries_of(&d, before, AdminAction::ExportProduced);
    assert_eq!(entry.len(), 1);
    let (actor, event) = &entry[0];
    assert_eq!((actor, event.subject.as_str()), (&Actor::System("ads".into()), "export/EXP-1"));
    assert!(exports.iter().all(|(index, ..)| *index < produced.audit_index), "the decisions came first");
    assert_eq!(detail(&event.details, "sha256"), Some(produced.sha256.as_str()));
    assert_eq!(detail(&event.details, "recipient_key"), Some(recipient.to_public().to_string().as_str()));
    assert_eq!(detail(&event.details, "bytes"), Some(produced.bytes.to_string().as_str()));
    let value = plaintext("S-active", "comm.browsing");
    for (_, text) in &event.details {
        assert!(!text.contains(&value), "no value in the ledger");
    }
    let stored = d.store.artefact("EXP-1").unwrap().unwrap();
    assert_eq!((stored.sha256.as_str(), stored.audit_index), (produced.sha256.as_str(), produced.audit_index));

    let got = d.service.download_export(&person("ads"), &eid("EXP-1"), Medium::Network, at(300)).unwrap();
    let digest = hex::encode(Sha256::digest(&got.ciphertext));
    assert_eq!(digest, produced.sha256, "the ciphertext's SHA-256 is the ledger's");
    assert!(!String::from_utf8_lossy(&got.ciphertext).contains(&value), "no plaintext in the artefact");

    let stranger = identity();
    assert!(age::decrypt(&stranger, &got.ciphertext).is_err(), "another identity cannot open it");
    let opened = age::decrypt(&recipient, &got.ciphertext).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&opened).unwrap();
    assert_eq!(doc["export"]["format"], "tokutei-export/1");
    assert_eq!(doc["export"]["request"], "EXP-1");
    assert_eq!(doc["export"]["purpose"], "third_party_ads");
    assert_eq!(doc["export"]["policy_version"], 1);
    let subscribers = doc["subscribers"].as_array().unwrap();
    assert_eq!(subscribers.len(), 2);
    let active = &subscribers[0];
    assert_eq!(active["id"], "S-active");
    let item = &active["items"][0];
    assert_eq!((item["category"].as_str(), item["allowed"].as_bool()), (Some("comm.browsing"), Some(true)));
    assert_eq!(item["values"][0]["value"], value.as_str());
    assert_eq!(item["values"][0]["version"], 1);
    assert_eq!(item["values"][0]["provenance"]["collected_by"], "shop-1");
    let refused = &subscribers[1]["items"][0];
    assert_eq!((subscribers[1]["id"].as_str(), refused["allowed"].as_bool()), (Some("S-suspended"), Some(false)));
    assert!(refused.get("values").is_none(), "a denied item carries no value");
    assert!(!refused["reasons"].as_array().unwrap().is_empty(), "a denied item names its reasons");
}

#[test]
fn production_is_refused_with_nothing_written() {
    let d = deploy();
    let recipient = identity();
    let refused = |by: &str, p: Produce| d.service.produce_export(&person(by), &p, at(200)).unwrap_err();
    let before = size(&d);
    assert!(matches!(refused("ads", produce("EXP-9", &recipient, "third_party_ads")), ActionError::NotFound(_)));
    d.service.request_export(&person("ads"), &ads_request("EXP-1"), at(0)).unwrap();
    let before_approval = size(&d);
    let err = refused("ads", produce("EXP-1", &recipient, "third_party_ads"));
    assert!(matches!(err, ActionError::Conflict(_)), "not approved: {err}");
    d.service.approve_export(&person("all"), &eid("EXP-1"), at(100)).unwrap();
    let approved = size(&d);
    for bad in ["", "age1notakey", "AGE-SECRET-KEY-1QQQ", "ssh-ed25519 AAAA"] {
        let p = Produce { recipient_key: bad.into(), ..produce("EXP-1", &recipient, "third_party_ads") };
        match refused("ads", p) {
            ActionError::Invalid { field, .. } => assert_eq!(field, "recipient_key", "{bad}"),
            other => panic!("{bad}: {other}"),
        }
    }
    let err = refused("all", produce("EXP-1", &recipient, "third_party_ads"));
    assert!(matches!(err, ActionError::Forbidden(_)), "not the requester: {err}");
    let lapsed =
        d.service.produce_export(&person("ads"), &produce("EXP-1", &recipient, "third_party_ads"), at(8 * 86_400));
    assert!(matches!(lapsed, Err(ActionError::Conflict(_))), "lapsed: {lapsed:?}");
    assert_eq!(size(&d), approved, "refusals leave no entry");
    assert_eq!(before_approval, before + 1);
    assert!(d.store.artefact("EXP-1").unwrap().is_none());

    d.ledger.fail.store(true, Ordering::SeqCst);
    let down = d.service.produce_export(&person("ads"), &produce("EXP-1", &recipient, "third_party_ads"), at(200));
    assert!(matches!(down, Err(ActionError::Audit(_))), "{down:?}");
    assert!(d.store.artefact("EXP-1").unwrap().is_none(), "audit first: no artefact without its entry");
    d.ledger.fail.store(false, Ordering::SeqCst);
    d.service.produce_export(&person("ads"), &produce("EXP-1", &recipient, "third_party_ads"), at(200)).unwrap();
    let again = size(&d);
    assert!(matches!(refused("ads", produce("EXP-1", &recipient, "third_party_ads")), ActionError::Conflict(_)));
    assert_eq!(size(&d), again, "produced twice: refused before anything is decided");
}

#[test]
fn an_artefact_is_downloaded_once_by_its_requester_only() {
    let d = deploy();
    support_export(&d, "EXP-S");
    let id = eid("EXP-S");
    let before = size(&d);
    let err = d.service.download_export(&person("support"), &id, Medium::Network, at(150)).unwrap_err();
    assert!(matches!(err, ActionError::Conflict(_)), "not produced: {err}");
    assert_eq!(size(&d), before);
    let recipient = identity();
    let produced =
        d.service.produce_export(&person("support"), &produce("EXP-S", &recipient, "support"), at(200)).unwrap();
    assert_eq!(d.service.export_view(&id).unwrap().state, ExportState::Produced);

    let before = size(&d);
    let err = d.service.download_export(&person("all"), &id, Medium::Network, at(300)).unwrap_err();
    assert!(matches!(err, ActionError::Forbidden(_)), "not the requester: {err}");
    assert_eq!(size(&d), before);

    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (store, into) = (d.store.clone(), seen.clone());
    d.ledger.before_append(move |_| {
        into.lock().unwrap().push(store.artefact("EXP-S").unwrap().unwrap().download.is_some())
    });
    let got = d.service.download_export(&person("support"), &id, Medium::Local, at(300)).unwrap();
    assert_eq!(*seen.lock().unwrap(), [false], "the entry was appended before the download was stored");
    assert_eq!((got.sha256.as_str(), got.exception.as_deref()), (produced.sha256.as_str(), None));
    let entry = entries_of(&d, before, AdminAction::ExportDownloaded);
    assert_eq!(entry.len(), 1);
    assert_eq!(entry[0].0, Actor::Staff("support".into()));
    assert_eq!(detail(&entry[0].1.details, "medium"), Some("local"));
    assert_eq!(detail(&entry[0].1.details, "sha256"), Some(produced.sha256.as_str()));
    assert_eq!(detail(&entry[0].1.details, "exception"), None);
    let doc: serde_json::Value = serde_json::from_slice(&age::decrypt(&recipient, &got.ciphertext).unwrap()).unwrap();
    assert_eq!(doc["subscribers"][0]["items"][0]["values"][0]["value"], plaintext("S-active", "contract.name"));

    let kept = d.store.artefact("EXP-S").unwrap().unwrap();
    let after = size(&d);
    let err = d.service.download_export(&person("support"), &id, Medium::Network, at(400)).unwrap_err();
    assert!(matches!(err, ActionError::Conflict(_)), "a second download: {err}");
    assert_eq!(size(&d), after, "refused before the audit: nothing written");
    assert_eq!(d.store.artefact("EXP-S").unwrap().unwrap(), kept, "nothing changed");
    assert_eq!(kept.download.unwrap().audit_index, got.audit_index);
    assert_eq!(d.service.export_view(&id).unwrap().state, ExportState::Downloaded);
}

#[test]
fn two_concurrent_downloads_hand_the_artefact_to_exactly_one() {
    let d = deploy();
    support_export(&d, "EXP-S");
    d.service.produce_export(&person("support"), &produce("EXP-S", &identity(), "support"), at(200)).unwrap();
    let outcomes: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let downloads: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    d.service
                        .download_export(&person("support"), &eid("EXP-S"), Medium::Network, at(300))
                        .map(|got| got.ciphertext.len())
                        .map_err(|e| format!("{e:?}"))
                })
            })
            .collect();
        downloads.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().filter_map(|o| o.as_ref().err()).all(|e| e.starts_with("Conflict")), "{outcomes:?}");
}

fn grant(person_id: &str, medium: Medium, until: tokutei_policy::Date) -> NewGrant {
    NewGrant {
        person: PrincipalId::parse(person_id).unwrap(),
        medium,
        reason: "evidence copy for the regulator's on-site inspection".into(),
        valid_from: None,
        valid_until: until,
    }
}

#[test]
fn an_external_medium_needs_an_exception_in_force_for_that_person_and_medium() {
    let d = deploy();
    support_export(&d, "EXP-S");
    d.service.produce_export(&person("support"), &produce("EXP-S", &identity(), "support"), at(200)).unwrap();
    let id = eid("EXP-S");
    let refused = |medium: Medium, when: i64| {
        let before = size(&d);
        let err = d.service.download_export(&person("support"), &id, medium, at(when)).unwrap_err();
        assert!(matches!(err, ActionError::Forbidden(_)), "{medium:?}: {err}");
        assert!(err.to_string().contains(&format!("`{}`", medium.code())), "the medium is named: {err}");
        assert_eq!(size(&d), before, "a refusal leaves no entry");
        assert!(d.store.artefact("EXP-S").unwrap().unwrap().download.is_none(), "nothing changed");
    };
    for medium in Medium::EXTERNAL {
        refused(medium, 300);
    }
    // Another medium's exception, a revoked one, an expired one: still refused.
    d.service
        .grant_media_exception(&person("all"), &grant("support", Medium::Optical, date(2026, 6, 30)), at(250))
        .unwrap();
    refused(Medium::Usb, 300);
    let revoked = d
        .service
        .grant_media_exception(&person("all"), &grant("support", Medium::Usb, date(2026, 6, 30)), at(250))
        .unwrap();
    d.service
        .revoke_media_exception(&person("all"), &MediaExceptionId::known(revoked.exception.id.as_str()), at(260))
        .unwrap();
    refused(Medium::Usb, 300);
    let short = d
        .service
        .grant_media_exception(&person("all"), &grant("support", Medium::Usb, date(2026, 6, 3)), at(270))
        .unwrap();
    refused(Medium::Usb, 5 * 86_400);

    let before = size(&d);
    let got = d.service.download_export(&person("support"), &id, Medium::Usb, at(300)).unwrap();
    assert_eq!(got.exception.as_deref(), Some(short.exception.id.as_str()));
    let entry = entries_of(&d, before, AdminAction::ExportDownloaded);
    assert_eq!(detail(&entry[0].1.details, "medium"), Some("usb"));
    assert_eq!(
        detail(&entry[0].1.details, "exception"),
        Some(short.exception.id.as_str()),
        "the entry names the exception"
    );
    assert_eq!(d.store.artefact("EXP-S").unwrap().unwrap().download.unwrap().exception, got.exception);
}

#[test]
fn an_exception_is_granted_by_another_manager_audited_first() {
    let d = deploy();
    let before = size(&d);
    let forbidden = |by: Acting, g: NewGrant| {
        let err = d.service.grant_media_exception(&by, &g, at(0)).unwrap_err();
        assert!(matches!(err, ActionError::Forbidden(_)), "{by:?}: {err}");
    };
    forbidden(person("all"), grant("all", Medium::Usb, date(2026, 6, 30)));
    forbidden(person("support"), grant("untrained", Medium::Usb, date(2026, 6, 30)));
    forbidden(person("crm"), grant("support", Medium::Usb, date(2026, 6, 30)));
    forbidden(Acting::Setup("cli"), grant("support", Medium::Usb, date(2026, 6, 30)));

    let field = |g: NewGrant| match d.service.grant_media_exception(&person("all"), &g, at(0)).unwrap_err() {
        ActionError::Invalid { field, .. } => field,
        other => panic!("not an invalid field: {other}"),
    };
    let with = |f: &dyn Fn(&mut NewGrant)| {
        let mut g = grant("support", Medium::Usb, date(2026, 6, 30));
        f(&mut g);
        g
    };
    // 2026-06-01 in Tokyo: the last day may be at most 90 days on, 2026-08-30.
    let check = |g: NewGrant, expected: &str| assert_eq!(field(g), expected);
    check(with(&|g| g.medium = Medium::Network), "medium");
    check(with(&|g| g.medium = Medium::Local), "medium");
    check(with(&|g| g.reason = String::new()), "reason");
    check(with(&|g| g.reason = "x".repeat(201)), "reason");
    check(with(&|g| g.valid_from = Some(date(2026, 5, 31))), "valid_from");
    check(with(&|g| g.valid_until = date(2026, 8, 31)), "valid_until");
    check(with(&|g| g.valid_until = date(2026, 5, 31)), "valid_until");
    check(with(&|g| g.person = PrincipalId::parse("ads").unwrap()), "person");
    check(with(&|g| g.person = PrincipalId::parse("nobody").unwrap()), "person");
    assert_eq!(size(&d), before, "refusals leave no entry");
    assert!(d.store.media_exceptions().unwrap().is_empty());

    d.ledger.fail.store(true, Ordering::SeqCst);
    let down = d.service.grant_media_exception(&person("all"), &with(&|_| {}), at(0));
    assert!(matches!(down, Err(ActionError::Audit(_))), "{down:?}");
    assert!(d.store.media_exceptions().unwrap().is_empty(), "audit first");
    d.ledger.fail.store(false, Ordering::SeqCst);

    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (store, into) = (d.store.clone(), seen.clone());
    d.ledger.before_append(move |_| into.lock().unwrap().push(store.media_exceptions().unwrap().len()));
    let granted =
        d.service.grant_media_exception(&person("all"), &with(&|g| g.valid_until = date(2026, 8, 30)), at(0)).unwrap();
    let e = &granted.exception;
    assert_eq!((e.person.as_str(), e.medium.as_str(), e.approved_by.as_str()), ("support", "usb", "all"));
    assert_eq!((e.valid_from, e.valid_until), (date(2026, 6, 1), date(2026, 8, 30)));
    let id = MediaExceptionId::known(e.id.as_str());
    d.service.revoke_media_exception(&person("all"), &id, at(10)).unwrap();
    assert_eq!(*seen.lock().unwrap(), [0, 1], "each entry was appended before the change");
    let granted_entry = entries_of(&d, before, AdminAction::MediaExceptionGranted);
    assert_eq!(granted_entry.len(), 1);
    let (actor, event) = &granted_entry[0];
    assert_eq!((actor, event.subject.clone()), (&Actor::Staff("all".into()), format!("media-exception/{}", e.id)));
    assert_eq!(detail(&event.details, "person"), Some("support"));
    assert!(event.digest.is_some(), "the reason as a digest");
    assert!(event.details.iter().all(|(_, v)| !v.contains("inspection")), "the reason is not in the ledger");
    assert_eq!(entries_of(&d, before, AdminAction::MediaExceptionRevoked).len(), 1);

    let after = size(&d);
    let twice = d.service.revoke_media_exception(&person("all"), &id, at(20)).unwrap_err();
    assert!(matches!(twice, ActionError::Conflict(_)), "{twice}");
    let handler = d.service.revoke_media_exception(&person("support"), &id, at(20)).unwrap_err();
    assert!(matches!(handler, ActionError::Forbidden(_)), "{handler}");
    let unknown =
        d.service.revoke_media_exception(&person("all"), &MediaExceptionId::known("MX-0"), at(20)).unwrap_err();
    assert!(matches!(unknown, ActionError::NotFound(_)), "{unknown}");
    assert_eq!(size(&d), after);
    assert_eq!(d.service.media_exceptions().unwrap().len(), 1);
}

#[test]
fn an_artefact_is_not_downloaded_after_its_approval_lapses() {
    // Regression: an artefact produced under an approval could still be carried out after the
    // approval's last day.
    let d = deploy();
    support_export(&d, "EXP-S");
    let id = eid("EXP-S");
    d.service.produce_export(&person("support"), &produce("EXP-S", &identity(), "support"), at(200)).unwrap();
    let before = size(&d);
    let err = d.service.download_export(&person("support"), &id, Medium::Network, at(8 * 86_400)).unwrap_err();
    assert!(matches!(err, ActionError::Conflict(_)), "lapsed: {err}");
    assert_eq!(size(&d), before, "nothing written");
    assert!(d.store.artefact("EXP-S").unwrap().unwrap().download.is_none());
}
