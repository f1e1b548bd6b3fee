//! The key actions on a real store, ledger and keyring files: rotation and retirement are
//! audited before any key changes (and a failing ledger changes none), only a manager may do
//! them, an interrupted rotation is finished by the next one, and the TOTP secrets an older
//! tokutei stored in clear are sealed each after its entry.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use support::{SUBSCRIBERS, at, deploy};
use tokutei_app::keyring::{KeyFiles, Keyring};
use tokutei_app::{Acting, ActionError, App, KeyAccess, totp_owner};
use tokutei_gateway::Deployment;
use tokutei_ledger::{Actor, AdminAction, AdminEvent, Event};
use tokutei_store::auth::{AuthStore, TotpSecret};
use tokutei_store::ledger::LedgerStore;
use tokutei_store::vault::{VaultStore, WrappedDataKey};

/// The deployment with its subscribers' data keys moved under a keyring of files, one person
/// (`all`, a responsible person) with a sealed TOTP secret, and an [`App`] reading through
/// that keyring.
struct Keyed {
    d: support::Deployed,
    keys: tempfile::TempDir,
    app: App,
}

fn files(keys: &tempfile::TempDir) -> KeyFiles {
    KeyFiles::in_dir(keys.path().join("keys"))
}

fn app_with(d: &support::Deployed, keyring: Keyring) -> App {
    let deployment =
        Deployment { zones_required: false, required_training: vec!["privacy-basics".into()], ..Default::default() };
    App::new(d.store.clone(), d.ledger.clone(), Arc::new(keyring), deployment, Vec::new())
}

fn keyed() -> Keyed {
    let d = deploy();
    let keys = tempfile::tempdir().unwrap();
    let keyring = Keyring::open_or_create(files(&keys)).unwrap();
    let mut moved = Vec::new();
    for s in SUBSCRIBERS {
        let key = d.service.keys().unwrap_key(s, &d.store.data_key(s).unwrap().unwrap()).unwrap();
        let wrapped = keyring.active().wrap(s, &key).unwrap();
        moved.push((s.to_string(), WrappedDataKey { kek_id: wrapped.kek_id, bytes: wrapped.bytes }));
    }
    d.store.rewrap_keys(&moved).unwrap();
    d.store.set_password("all", "not-a-real-hash", false).unwrap();
    let sealed = keyring.seal_secret(&totp_owner("all"), b"totp-secret-of-all").unwrap();
    d.store.set_totp("all", &sealed).unwrap();
    let app = app_with(&d, keyring);
    Keyed { d, keys, app }
}

fn ledger_size(d: &support::Deployed) -> u64 {
    d.ledger.tree_size().unwrap()
}

fn admin_entries(d: &support::Deployed, from: u64) -> Vec<(Actor, AdminEvent)> {
    let mut out = Vec::new();
    d.ledger
        .scan_entries(from, &mut |e| {
            let entry = e.decode().unwrap();
            if let Event::Admin(event) = entry.event {
                out.push((entry.actor, event));
            }
            Ok(true)
        })
        .unwrap();
    out
}

/// Which KEK wraps each subscriber's data key and each sealed TOTP secret's key.
fn wrapping(d: &support::Deployed) -> Vec<String> {
    let mut out: Vec<String> = SUBSCRIBERS.iter().map(|s| d.store.data_key(s).unwrap().unwrap().kek_id).collect();
    out.extend(d.store.totp_keys().unwrap().into_iter().map(|(_, k)| k.kek_id));
    out
}

fn key_files(k: &Keyed) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(k.keys.path().join("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("kek-"))
        .collect();
    names.sort();
    names
}

fn detail<'e>(event: &'e AdminEvent, key: &str) -> &'e str {
    event.details.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or_default()
}

#[test]
fn key_rotation_is_audited() {
    let k = keyed();
    let mut keyring = Keyring::open(files(&k.keys)).unwrap();
    let old = keyring.active().id().to_string();
    let before = ledger_size(&k.d);
    let rotated = k.app.rotate_keys(&Acting::Person("all".into()), &mut keyring, at(100)).unwrap();
    assert_ne!(rotated.kek_id, old);
    assert_eq!((rotated.previous.as_str(), rotated.data_keys, rotated.totp_keys), (old.as_str(), 3, 1));
    let entries = admin_entries(&k.d, before);
    assert_eq!(entries.len(), 1, "one entry for the whole rotation");
    let (actor, event) = &entries[0];
    assert_eq!(*actor, Actor::Staff("all".into()));
    assert_eq!(event.action, AdminAction::KeyRotated);
    assert_eq!(event.subject, format!("kek/{}", rotated.kek_id));
    assert_eq!((detail(event, "previous"), detail(event, "data_keys"), detail(event, "totp_keys")), (&*old, "3", "1"));
    assert_eq!(rotated.audit_index, before);
    // Every key moved; the values and the TOTP secret still open with the new keyring only.
    assert!(wrapping(&k.d).iter().all(|id| *id == rotated.kek_id), "{:?}", wrapping(&k.d));
    let reopened = app_with(&k.d, Keyring::open(files(&k.keys)).unwrap());
    let report = reopened.verify_vault(None, at(100)).unwrap();
    assert!(report.ok(), "{:?}", report.failures);
    assert!(report.readable > 0);
    let Some(TotpSecret::Sealed(sealed)) = k.d.store.credentials("all").unwrap().unwrap().totp else {
        panic!("the TOTP secret is sealed")
    };
    assert_eq!(reopened.keys().open_secret(&totp_owner("all"), &sealed).unwrap().as_slice(), b"totp-secret-of-all");
}

#[test]
fn key_rotation_with_a_failing_ledger_changes_no_key() {
    let k = keyed();
    let mut keyring = Keyring::open(files(&k.keys)).unwrap();
    let old = keyring.active().id().to_string();
    let files_before = key_files(&k);
    k.d.ledger.fail.store(true, Ordering::SeqCst);
    let err = k.app.rotate_keys(&Acting::Person("all".into()), &mut keyring, at(100)).unwrap_err();
    assert!(matches!(err, ActionError::Audit(_)), "{err}");
    assert_eq!(key_files(&k), files_before, "audit first: no new key file without its entry");
    assert_eq!(Keyring::open(files(&k.keys)).unwrap().active().id(), old);
    assert_eq!(keyring.active().id(), old);
    assert!(wrapping(&k.d).iter().all(|id| *id == old), "no key was re-wrapped");
}

#[test]
fn keys_are_rotated_and_retired_only_by_a_manager() {
    let k = keyed();
    let mut keyring = Keyring::open(files(&k.keys)).unwrap();
    let before = ledger_size(&k.d);
    let files_before = key_files(&k);
    for (by, why) in [("support", "a handler"), ("ads", "a system"), ("nobody", "no principal")] {
        let by = Acting::Person(by.into());
        let err = k.app.rotate_keys(&by, &mut keyring, at(100)).unwrap_err();
        assert!(matches!(err, ActionError::Forbidden(_) | ActionError::UnknownPrincipal(_)), "{why}: {err}");
        let err = k.app.retire_key(&by, &mut keyring, "20000101T000000Z", at(100)).unwrap_err();
        assert!(matches!(err, ActionError::Forbidden(_) | ActionError::UnknownPrincipal(_)), "{why}: {err}");
    }
    assert_eq!(ledger_size(&k.d), before, "a refusal leaves no entry");
    assert_eq!(key_files(&k), files_before);
}

#[test]
fn key_retirement_is_audited_and_refused_while_a_key_uses_it() {
    let k = keyed();
    let all = Acting::Person("all".into());
    let mut keyring = Keyring::open(files(&k.keys)).unwrap();
    let first = keyring.active().id().to_string();
    let err = k.app.retire_key(&all, &mut keyring, &first, at(100)).unwrap_err();
    assert!(matches!(err, ActionError::Conflict(_)), "the active key: {err}");
    let err = k.app.retire_key(&all, &mut keyring, "20000101T000000Z", at(100)).unwrap_err();
    assert!(matches!(err, ActionError::NotFound(_)), "no such key: {err}");
    let err = k.app.retire_key(&all, &mut keyring, "../kek", at(100)).unwrap_err();
    assert!(matches!(err, ActionError::Invalid { field: "kek", .. }), "{err}");

    let before_rotation = Keyring::open(files(&k.keys)).unwrap();
    let second = k.app.rotate_keys(&all, &mut keyring, at(100)).unwrap().kek_id;
    // An interruption: one data key is still under the first KEK when the process stops.
    let stuck = SUBSCRIBERS[1];
    let key = keyring.unwrap(stuck, &k.d.store.data_key(stuck).unwrap().unwrap()).unwrap();
    let back = before_rotation.active().wrap(stuck, &key).unwrap();
    assert_eq!(back.kek_id, first);
    k.d.store.rewrap_keys(&[(stuck.to_string(), WrappedDataKey { kek_id: back.kek_id, bytes: back.bytes })]).unwrap();
    let before = ledger_size(&k.d);
    let err = k.app.retire_key(&all, &mut keyring, &first, at(101)).unwrap_err();
    assert!(matches!(&err, ActionError::Conflict(m) if m.contains("still wraps 1")), "{err}");
    assert_eq!(ledger_size(&k.d), before, "a refusal leaves no entry");

    // The next rotation finishes what the interrupted one left.
    let third = k.app.rotate_keys(&all, &mut keyring, at(102)).unwrap();
    assert_eq!(third.data_keys, 3, "every data key, from whichever KEK");
    assert!(wrapping(&k.d).iter().all(|id| *id == third.kek_id), "{:?}", wrapping(&k.d));

    // A failing ledger retires nothing; then each retirement is one entry before the file goes.
    k.d.ledger.fail.store(true, Ordering::SeqCst);
    let err = k.app.retire_key(&all, &mut keyring, &first, at(103)).unwrap_err();
    assert!(matches!(err, ActionError::Audit(_)), "{err}");
    assert!(key_files(&k).contains(&format!("kek-{first}.key")), "audit first: the key outlives a failed audit");
    k.d.ledger.fail.store(false, Ordering::SeqCst);
    let before = ledger_size(&k.d);
    for id in [&first, &second] {
        let retired = k.app.retire_key(&all, &mut keyring, id, at(104)).unwrap();
        assert_eq!(retired.kek_id, *id);
    }
    assert_eq!(key_files(&k), [format!("kek-{}.key", third.kek_id)]);
    let entries = admin_entries(&k.d, before);
    let retired: Vec<(&Actor, AdminAction, &str)> =
        entries.iter().map(|(a, e)| (a, e.action, e.subject.as_str())).collect();
    let staff = Actor::Staff("all".into());
    let (first_subject, second_subject) = (format!("kek/{first}"), format!("kek/{second}"));
    assert_eq!(
        retired,
        [(&staff, AdminAction::KeyRetired, first_subject.as_str()), (&staff, AdminAction::KeyRetired, &second_subject)]
    );
    // What is left still opens.
    let report = app_with(&k.d, Keyring::open(files(&k.keys)).unwrap()).verify_vault(None, at(105)).unwrap();
    assert!(report.ok(), "{:?}", report.failures);
}

/// Put `secret` in the clear column, as a tokutei before migration `0010` left it.
fn plant_clear_totp(k: &Keyed, principal: &str, secret: &[u8]) {
    let conn = rusqlite::Connection::open(k.d._dir.path().join("t.sqlite3")).unwrap();
    conn.execute(
        "UPDATE auth_credentials SET totp_secret = ?2, totp_kek_id = NULL, totp_wrapped_key = NULL,
             totp_sealed = NULL, totp_last_step = NULL WHERE principal = ?1",
        rusqlite::params![principal, secret],
    )
    .unwrap();
}

#[test]
fn clear_totp_secrets_are_sealed_each_after_its_entry() {
    let k = keyed();
    plant_clear_totp(&k, "all", b"an-old-clear-secret");
    assert_eq!(k.d.store.clear_totp_principals().unwrap(), ["all"]);
    let serve = Acting::Setup("serve");

    k.d.ledger.fail.store(true, Ordering::SeqCst);
    let err = k.app.seal_clear_totp(&serve, at(100)).unwrap_err();
    assert!(matches!(err, ActionError::Audit(_)), "{err}");
    assert_eq!(k.d.store.clear_totp_principals().unwrap(), ["all"], "audit first: still in clear, not lost");

    k.d.ledger.fail.store(false, Ordering::SeqCst);
    let before = ledger_size(&k.d);
    assert_eq!(k.app.seal_clear_totp(&serve, at(101)).unwrap(), 1);
    let entries = admin_entries(&k.d, before);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, Actor::System("serve".into()));
    assert_eq!((entries[0].1.action, entries[0].1.subject.as_str()), (AdminAction::StaffChanged, "staff/all"));
    assert_eq!(detail(&entries[0].1, "change"), "totp_sealed");
    assert!(k.d.store.clear_totp_principals().unwrap().is_empty());
    let Some(TotpSecret::Sealed(sealed)) = k.d.store.credentials("all").unwrap().unwrap().totp else {
        panic!("the TOTP secret is sealed")
    };
    assert_eq!(k.app.keys().open_secret(&totp_owner("all"), &sealed).unwrap().as_slice(), b"an-old-clear-secret");
    // Nothing left: a second start seals nothing and writes nothing.
    assert_eq!(k.app.seal_clear_totp(&serve, at(102)).unwrap(), 0);
    assert_eq!(ledger_size(&k.d), before + 1);
}
