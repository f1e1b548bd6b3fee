//! The staff registry's actions on a real store and ledger: each is checked (the input, the
//! one acting, the principal acted on), its entry is durable while the registry still shows
//! what was there before, and only then does the registry change; a failing ledger changes
//! nothing. `init` and `demo` set up their staff through the same functions.

mod support;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use support::{at, date, deploy};
use tokutei_app::{Acting, ActionError, App, KeyAccess, PrincipalId};
use tokutei_crypto::{DataKey, Kek, WrappedKey};
use tokutei_gateway::Deployment;
use tokutei_ledger::{Actor, AdminAction, AdminEvent};
use tokutei_store::StoreResult;
use tokutei_store::auth::{AuthStore, Credentials, Session, TotpSecret};
use tokutei_store::ledger::{Appended, LedgerQuery, LedgerStore, StoredCheckpoint, StoredEntry, Visit};
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, RangeGrant, StaffStore, StoredPrincipal, StoredToken};
use tokutei_store::vault::WrappedDataKey;
use tokutei_store_sqlite::SqliteStore;

/// Keys that can seal (a TOTP secret needs a fresh data key).
struct SealingKeys {
    kek: Kek,
}

impl KeyAccess for SealingKeys {
    fn unwrap_key(&self, owner: &str, wrapped: &WrappedDataKey) -> Result<DataKey, String> {
        let w = WrappedKey { kek_id: wrapped.kek_id.clone(), bytes: wrapped.bytes.clone() };
        self.kek.unwrap(owner, &w).map_err(|e| e.to_string())
    }
    fn blind_token(&self, _: &str, _: &str) -> Option<[u8; 32]> {
        None
    }
    fn new_data_key(&self, owner: &str) -> Result<(DataKey, WrappedDataKey), String> {
        let key = DataKey::generate().map_err(|e| e.to_string())?;
        let w = self.kek.wrap(owner, &key).map_err(|e| e.to_string())?;
        Ok((key, WrappedDataKey { kek_id: w.kek_id, bytes: w.bytes }))
    }
}

/// What the registry holds: every principal with its tokens and credentials, and whether
/// the session [`SESSION`] of `support` is still open.
#[derive(Debug, Clone, PartialEq)]
struct Registry {
    principals: Vec<(StoredPrincipal, Vec<StoredToken>, Option<Credentials>)>,
    session: bool,
}

const SESSION: [u8; 32] = [7; 32];

fn registry(store: &SqliteStore) -> Registry {
    let principals = store
        .principals()
        .unwrap()
        .into_iter()
        .map(|p| {
            let tokens = store.tokens(&p.id).unwrap();
            let credentials = store.credentials(&p.id).unwrap();
            (p, tokens, credentials)
        })
        .collect();
    Registry { principals, session: store.session(&SESSION, at(0)).unwrap().is_some() }
}

/// A ledger that, at every append, notes what the registry held at that moment (before the
/// entry is written): the audit came first when that is still the registry of before.
struct Watching {
    inner: Arc<support::RecordingLedger>,
    store: Arc<SqliteStore>,
    seen: Mutex<Vec<Registry>>,
}

impl LedgerStore for Watching {
    fn append_batch(&self, entries: &[tokutei_ledger::Entry]) -> StoreResult<Vec<Appended>> {
        self.seen.lock().unwrap().push(registry(&self.store));
        self.inner.append_batch(entries)
    }
    fn tree_size(&self) -> StoreResult<u64> {
        self.inner.tree_size()
    }
    fn ledger_nodes(&self, ids: &[tokutei_ledger::NodeId]) -> StoreResult<Vec<tokutei_ledger::Hash>> {
        self.inner.ledger_nodes(ids)
    }
    fn ledger_entry(&self, index: u64) -> StoreResult<Option<StoredEntry>> {
        self.inner.ledger_entry(index)
    }
    fn scan_entries(&self, from: u64, visit: Visit<'_>) -> StoreResult<()> {
        self.inner.scan_entries(from, visit)
    }
    fn scan_indexed(&self, from: u64, visit: tokutei_store::ledger::VisitIndexed<'_>) -> StoreResult<()> {
        self.inner.scan_indexed(from, visit)
    }
    fn subject_rows(&self) -> StoreResult<u64> {
        self.inner.subject_rows()
    }
    fn query_entries(&self, query: &LedgerQuery, visit: Visit<'_>) -> StoreResult<()> {
        self.inner.query_entries(query, visit)
    }
    fn add_checkpoint(&self, size: u64, note: &str, created_at: Timestamp) -> StoreResult<StoredCheckpoint> {
        self.inner.add_checkpoint(size, note, created_at)
    }
    fn checkpoints(&self) -> StoreResult<Vec<StoredCheckpoint>> {
        self.inner.checkpoints()
    }
    fn latest_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>> {
        self.inner.latest_checkpoint()
    }

    fn recent_checkpoints(&self, limit: usize) -> StoreResult<Vec<StoredCheckpoint>> {
        self.inner.recent_checkpoints(limit)
    }
}

/// The demo deployment of `support` (policy in force; `all` a responsible person, `support`
/// a handler, `ads` a system), with an app whose ledger watches the registry and whose keys
/// can seal, and a session of `support`.
struct Staffed {
    d: support::Deployed,
    watching: Arc<Watching>,
    app: App,
}

fn staffed() -> Staffed {
    let d = deploy();
    let watching = Arc::new(Watching { inner: d.ledger.clone(), store: d.store.clone(), seen: Mutex::default() });
    let keys = SealingKeys { kek: Kek::generate("kek-staff").unwrap() };
    let app = App::new(d.store.clone(), watching.clone(), Arc::new(keys), Deployment::default(), Vec::new());
    d.store
        .create_session(&Session {
            id_hash: SESSION,
            principal: "support".into(),
            csrf_token: "csrf".into(),
            created_at: at(0),
            expires_at: at(86_400),
        })
        .unwrap();
    Staffed { d, watching, app }
}

impl Staffed {
    fn registry(&self) -> Registry {
        registry(&self.d.store)
    }

    fn ledger_size(&self) -> u64 {
        self.d.ledger.tree_size().unwrap()
    }

    /// The administrative entries from ledger index `from` on.
    fn entries(&self, from: u64) -> Vec<(Actor, AdminEvent)> {
        let mut out = Vec::new();
        self.d
            .ledger
            .scan_entries(from, &mut |e| {
                let entry = e.decode().unwrap();
                if let tokutei_ledger::Event::Admin(event) = entry.event {
                    out.push((entry.actor, event));
                }
                Ok(true)
            })
            .unwrap();
        out
    }
}

fn id(text: &str) -> PrincipalId {
    PrincipalId::parse(text).unwrap()
}

fn all() -> Acting {
    Acting::Person("all".into())
}

fn detail<'a>(event: &'a AdminEvent, key: &str) -> Option<&'a str> {
    event.details.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn support_grants() -> Grants {
    Grants {
        data_range: vec![RangeGrant { service: "fiber".into(), categories: vec!["contract.name".into()] }],
        purposes: vec!["support".into()],
        ..Grants::default()
    }
}

/// One staff action carried out by `by`, as a test runs it.
type Run = fn(&App, &Acting) -> Result<(), ActionError>;

/// Every staff action on `support` (or its token), with the entry it must leave: (name,
/// action, the `change` detail, whether a `version` is recorded, the run). Revoking needs a
/// token: [`prepare`] issues one first.
fn actions() -> Vec<(&'static str, AdminAction, Option<&'static str>, bool, Run)> {
    vec![
        ("grants", AdminAction::StaffChanged, Some("grants"), true, |app, by| {
            app.change_grants(by, &id("support"), &support_grants(), at(10)).map(drop)
        }),
        ("training", AdminAction::StaffChanged, Some("training"), true, |app, by| {
            app.record_training(
                by,
                &id("support"),
                "privacy-advanced",
                date(2026, 5, 1),
                Some(date(2027, 4, 30)),
                at(10),
            )
            .map(drop)
        }),
        ("password", AdminAction::PasswordChanged, None, false, |app, by| {
            app.reset_password(by, &id("support"), at(10)).map(drop)
        }),
        ("totp", AdminAction::StaffChanged, Some("totp_enrolled"), false, |app, by| {
            app.enrol_totp(by, &id("support"), at(10)).map(drop)
        }),
        ("token issue", AdminAction::StaffChanged, Some("token_issued"), false, |app, by| {
            app.issue_token(by, &id("support"), 30, at(10)).map(drop)
        }),
        ("token revoke", AdminAction::StaffChanged, Some("token_revoked"), false, |app, by| {
            let token = app.staff_tokens(&id("support"))?.into_iter().find(|t| t.revoked_at.is_none()).unwrap();
            app.revoke_token(by, &token.id, at(10)).map(drop)
        }),
        ("disable", AdminAction::StaffChanged, Some("disabled"), true, |app, by| {
            app.disable_principal(by, &id("support"), at(10)).map(drop)
        }),
    ]
}

/// What each action needs first: TOTP a password, revoking a token.
fn prepare(s: &Staffed, name: &str) {
    match name {
        "totp" => drop(s.app.reset_password(&all(), &id("support"), at(1)).unwrap()),
        "token revoke" => drop(s.app.issue_token(&all(), &id("support"), 30, at(1)).unwrap()),
        _ => {}
    }
}

#[test]
fn staff_changes_are_audited_before_they_are_stored() {
    for (name, action, change, versioned, run) in actions() {
        let s = staffed();
        prepare(&s, name);
        let before = s.registry();
        let from = s.ledger_size();
        s.watching.seen.lock().unwrap().clear();
        run(&s.app, &all()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let after = s.registry();
        assert_ne!(after, before, "{name}: the registry changed");
        assert_eq!(*s.watching.seen.lock().unwrap(), vec![before], "{name}: one entry, durable before the change");
        let entries = s.entries(from);
        assert_eq!(entries.len(), 1, "{name}: {entries:?}");
        let (actor, event) = &entries[0];
        assert_eq!(*actor, Actor::Staff("all".into()), "{name}: the person acting");
        assert_eq!(event.action, action, "{name}");
        assert_eq!(event.subject, "staff/support", "{name}");
        assert_eq!(event.digest, None, "{name}");
        assert_eq!(detail(event, "change"), change, "{name}: {:?}", event.details);
        let version = s.d.store.principal("support").unwrap().unwrap().version;
        let expected = versioned.then(|| version.to_string());
        assert_eq!(detail(event, "version"), expected.as_deref(), "{name}: the version the change made");
    }
}

#[test]
fn a_failing_ledger_leaves_the_registry_as_it_was() {
    for (name, _, _, _, run) in actions() {
        let s = staffed();
        prepare(&s, name);
        let before = s.registry();
        let from = s.ledger_size();
        s.d.ledger.fail.store(true, Ordering::SeqCst);
        let err = run(&s.app, &all()).unwrap_err();
        assert!(matches!(err, ActionError::Audit(_)), "{name}: {err}");
        assert_eq!(s.registry(), before, "{name}: nothing changed without its entry");
        s.d.ledger.fail.store(false, Ordering::SeqCst);
        assert_eq!(s.ledger_size(), from, "{name}");
    }
}

#[test]
fn staff_actions_are_refused_to_anyone_but_a_manager() {
    for (name, _, _, _, run) in actions() {
        let s = staffed();
        prepare(&s, name);
        let before = s.registry();
        let from = s.ledger_size();
        for (by, why) in [("untrained", "a handler"), ("ads", "a system"), ("nobody", "no principal")] {
            let err = run(&s.app, &Acting::Person(by.into())).unwrap_err();
            assert!(
                matches!(err, ActionError::Forbidden(_) | ActionError::UnknownPrincipal(_)),
                "{name}: {why} may not: {err}"
            );
            assert!(err.to_string().contains(&format!("`{by}`")), "{name}: {err}");
        }
        assert_eq!(s.registry(), before, "{name}");
        assert_eq!(s.ledger_size(), from, "{name}: a refusal leaves no entry");
    }
}

#[test]
fn token_issue_refuses_zero_days() {
    let s = staffed();
    let before = (s.registry(), s.ledger_size());
    for days in [0, 367, u32::MAX] {
        let err = s.app.issue_token(&all(), &id("support"), days, at(10)).unwrap_err();
        assert!(matches!(&err, ActionError::Invalid { field: "days", .. }), "{days}: {err}");
        assert!(err.to_string().contains(&days.to_string()), "{err}");
    }
    assert_eq!((s.registry(), s.ledger_size()), before, "nothing issued, nothing audited");
    for days in [1, 366] {
        let issued = s.app.issue_token(&all(), &id("support"), days, at(10)).unwrap();
        assert_eq!(issued.token.expires_at, at(10) + jiff::SignedDuration::from_hours(24 * i64::from(days)));
        assert!(issued.text.starts_with(&format!("tkt_{}_", issued.token.id)));
    }
    assert_eq!(s.app.staff_tokens(&id("support")).unwrap().len(), 2);
}

#[test]
fn disable_refuses_the_last_chief_manager() {
    let s = staffed();
    let chief = s.app.set_up_chief("init", at(1)).unwrap();
    assert_eq!(chief.principal.id, "chief");
    let from = s.ledger_size();
    // `chief` is the only chief manager: no one may disable them, not even a responsible person.
    let err = s.app.disable_principal(&all(), &id("chief"), at(10)).unwrap_err();
    assert!(matches!(&err, ActionError::Conflict(m) if m.contains("last active chief manager")), "{err}");
    // Nor may anyone disable themself.
    let err = s.app.disable_principal(&Acting::Person("chief".into()), &id("chief"), at(10)).unwrap_err();
    assert!(matches!(err, ActionError::Forbidden(_)), "{err}");
    let err = s.app.disable_principal(&all(), &id("all"), at(10)).unwrap_err();
    assert!(matches!(err, ActionError::Forbidden(_)), "{err}");
    assert_eq!(s.ledger_size(), from, "refusals leave no entry");
    // With a second chief manager, the first may go; then the second is the last.
    let second = NewPrincipal {
        id: "chief-2".into(),
        display_name: "統括 二郎".into(),
        kind: PrincipalKind::Person { role: tokutei_policy::Role::ChiefManager },
        grants: Grants::default(),
        created_at: at(0),
    };
    s.app.register_principal(&Acting::Person("chief".into()), &second, at(11)).unwrap();
    s.app.disable_principal(&Acting::Person("chief-2".into()), &id("chief"), at(12)).unwrap();
    let err = s.app.disable_principal(&all(), &id("chief-2"), at(13)).unwrap_err();
    assert!(matches!(err, ActionError::Conflict(_)), "{err}");
    // A disabled principal is disabled once.
    let err = s.app.disable_principal(&all(), &id("chief"), at(14)).unwrap_err();
    assert!(matches!(&err, ActionError::Conflict(m) if m.contains("already disabled")), "{err}");
    assert!(s.d.store.principal("chief-2").unwrap().unwrap().disabled_at.is_none());
}

#[test]
fn staff_actions_name_what_they_refuse() {
    let s = staffed();
    let before = (s.registry(), s.ledger_size());
    let not_found = |r: Result<(), ActionError>| matches!(r, Err(ActionError::NotFound(m)) if m.contains("`ghost`"));
    assert!(not_found(s.app.change_grants(&all(), &id("ghost"), &support_grants(), at(5)).map(drop)));
    assert!(not_found(
        s.app.record_training(&all(), &id("ghost"), "c", date(2026, 1, 1), Some(date(2026, 2, 1)), at(5)).map(drop)
    ));
    assert!(not_found(s.app.disable_principal(&all(), &id("ghost"), at(5)).map(drop)));
    assert!(not_found(s.app.reset_password(&all(), &id("ghost"), at(5)).map(drop)));
    assert!(not_found(s.app.enrol_totp(&all(), &id("ghost"), at(5)).map(drop)));
    assert!(not_found(s.app.issue_token(&all(), &id("ghost"), 5, at(5)).map(drop)));
    assert!(not_found(s.app.staff_member(&id("ghost")).map(drop)));
    assert!(not_found(s.app.staff_tokens(&id("ghost")).map(drop)));
    let err = s.app.revoke_token(&all(), "0123456789abcdef", at(5)).unwrap_err();
    assert!(matches!(&err, ActionError::NotFound(m) if m.contains("`0123456789abcdef`")), "{err}");

    // Only people have console credentials and training.
    for err in [
        s.app.reset_password(&all(), &id("ads"), at(5)).map(drop).unwrap_err(),
        s.app.enrol_totp(&all(), &id("ads"), at(5)).map(drop).unwrap_err(),
        s.app
            .record_training(&all(), &id("ads"), "c", date(2026, 1, 1), Some(date(2026, 2, 1)), at(5))
            .map(drop)
            .unwrap_err(),
    ] {
        assert!(
            matches!(&err, ActionError::Invalid { field: "id", message } if message.contains("is a system")),
            "{err}"
        );
    }
    // A second factor needs a password first.
    let err = s.app.enrol_totp(&all(), &id("support"), at(5)).unwrap_err();
    assert!(matches!(&err, ActionError::Conflict(m) if m.contains("has no password yet")), "{err}");
    // Training counts from its completion on.
    let err = s
        .app
        .record_training(&all(), &id("support"), "c", date(2026, 2, 1), Some(date(2026, 1, 31)), at(5))
        .unwrap_err();
    assert!(matches!(err, ActionError::Invalid { field: "valid_until", .. }), "{err}");
    let err =
        s.app.record_training(&all(), &id("support"), "a course", date(2026, 1, 1), Some(date(2026, 2, 1)), at(5));
    assert!(matches!(err, Err(ActionError::Invalid { field: "course", .. })), "{err:?}");
    // Grants are checked against the policy in force.
    let mut typo = support_grants();
    typo.purposes = vec!["suport".into()];
    let err = s.app.change_grants(&all(), &id("support"), &typo, at(5)).unwrap_err();
    assert!(matches!(&err, ActionError::Invalid { field: "grants.purposes", .. }), "{err}");
    assert_eq!((s.registry(), s.ledger_size()), before, "refusals change nothing and leave no entry");

    // A revoked token is revoked once.
    let issued = s.app.issue_token(&all(), &id("support"), 5, at(6)).unwrap();
    let revoked = s.app.revoke_token(&all(), &issued.token.id, at(7)).unwrap();
    assert_eq!(revoked.revoked_at, Some(at(7)));
    let err = s.app.revoke_token(&all(), &issued.token.id, at(8)).unwrap_err();
    assert!(matches!(&err, ActionError::Conflict(m) if m.contains("already revoked")), "{err}");
    // A disabled principal gains nothing more.
    s.app.disable_principal(&all(), &id("support"), at(9)).unwrap();
    let size = s.ledger_size();
    for err in [
        s.app.change_grants(&all(), &id("support"), &support_grants(), at(10)).map(drop).unwrap_err(),
        s.app.reset_password(&all(), &id("support"), at(10)).map(drop).unwrap_err(),
        s.app.issue_token(&all(), &id("support"), 5, at(10)).map(drop).unwrap_err(),
        s.app
            .record_training(&all(), &id("support"), "c", date(2026, 1, 1), Some(date(2026, 2, 1)), at(10))
            .map(drop)
            .unwrap_err(),
    ] {
        assert!(matches!(&err, ActionError::Conflict(m) if m.contains("is disabled")), "{err}");
    }
    assert_eq!(s.ledger_size(), size);
}

#[test]
fn a_password_reset_ends_every_session_and_must_be_changed() {
    let s = staffed();
    assert!(s.registry().session, "`support` is signed in");
    let password = s.app.reset_password(&all(), &id("support"), at(5)).unwrap();
    assert!(!s.registry().session, "the session ended");
    let credentials = s.d.store.credentials("support").unwrap().unwrap();
    assert!(credentials.must_change);
    assert!(tokutei_crypto::password::verify(&password, &credentials.password_hash));
    assert!(!credentials.password_hash.contains(password.as_str()), "stored hashed");
}

#[test]
fn totp_secrets_are_sealed_for_the_person_never_stored_in_clear() {
    let s = staffed();
    s.app.reset_password(&all(), &id("support"), at(5)).unwrap();
    let enrolled = s.app.enrol_totp(&all(), &id("support"), at(6)).unwrap();
    assert!(enrolled.uri.starts_with("otpauth://totp/") && enrolled.uri.contains(enrolled.secret.as_str()));
    let Some(TotpSecret::Sealed(sealed)) = s.d.store.credentials("support").unwrap().unwrap().totp else {
        panic!("the secret is stored sealed");
    };
    let opened = s.app.keys().open_secret(&tokutei_app::totp_owner("support"), &sealed).unwrap();
    let raw = totp_base32(&enrolled.secret);
    assert_eq!(*opened, raw, "it opens for its owner to the enrolled secret");
    assert!(!sealed.ciphertext.windows(raw.len()).any(|w| w == raw.as_slice()), "no clear secret");
    assert!(s.app.keys().open_secret(&tokutei_app::totp_owner("all"), &sealed).is_err(), "nor for another owner");
}

/// RFC 4648 base32 (no padding), as the enrolment shows the secret.
fn totp_base32(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u64, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let n = ALPHABET.iter().position(|&a| a == c).unwrap() as u64;
        value = (value << 5) | n;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((value >> bits) as u8);
            value &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn the_first_chief_manager_is_set_up_audited_as_the_setup_and_only_once() {
    let s = staffed();
    let from = s.ledger_size();
    let chief = s.app.set_up_chief("init", at(1)).unwrap();
    assert!(matches!(chief.principal.kind, PrincipalKind::Person { role: tokutei_policy::Role::ChiefManager }));
    let credentials = s.d.store.credentials("chief").unwrap().unwrap();
    assert!(credentials.must_change && matches!(credentials.totp, Some(TotpSecret::Sealed(_))));
    let entries = s.entries(from);
    let shapes: Vec<(&Actor, AdminAction, &str, Option<&str>)> =
        entries.iter().map(|(a, e)| (a, e.action, e.subject.as_str(), detail(e, "change"))).collect();
    let init = Actor::System("init".into());
    assert_eq!(
        shapes,
        [
            (&init, AdminAction::StaffChanged, "staff/chief", Some("created")),
            (&init, AdminAction::PasswordChanged, "staff/chief", None),
            (&init, AdminAction::StaffChanged, "staff/chief", Some("totp_enrolled")),
        ]
    );
    let size = s.ledger_size();
    let err = s.app.set_up_chief("demo", at(2)).unwrap_err();
    assert!(matches!(err, ActionError::Conflict(_)), "{err}");
    assert_eq!(s.ledger_size(), size);
}

#[test]
fn the_demo_staff_are_set_up_through_the_registry_actions() {
    let s = staffed();
    let from = s.ledger_size();
    let demo = s.app.set_up_demo_staff(at(1)).unwrap();
    let ids: Vec<&str> = demo.principals.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["demo-support", "demo-call-centre", "demo-marketing", "demo-badge-gate"]);
    // Each is granted, on every service, the categories its purposes use.
    let policy = &s.d.policy;
    let support = s.d.store.principal("demo-support").unwrap().unwrap();
    assert_eq!(support.grants.purposes, ["support", "billing"]);
    assert_eq!(support.grants.data_range.len(), policy.services.len());
    for c in policy.purpose("billing").unwrap().categories.iter().chain(&policy.purpose("support").unwrap().categories)
    {
        assert!(support.grants.data_range.iter().all(|r| r.categories.contains(c)), "{c}");
    }
    assert_eq!(support.training.len(), 1, "the handler is trained");
    assert_eq!(support.training[0].completed, tokutei_policy::tokyo::date_of(at(1)));
    assert!(s.d.store.credentials("demo-support").unwrap().unwrap().must_change);
    let tokens = s.d.store.tokens("demo-call-centre").unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].id, demo.call_centre_token.token.id);
    assert_eq!(demo.chief.principal.id, "chief");
    // Every entry is the system `demo`'s, each for the principal it concerns.
    let entries = s.entries(from);
    assert!(entries.iter().all(|(actor, _)| *actor == Actor::System("demo".into())), "{entries:?}");
    let changes: Vec<(String, Option<&str>)> =
        entries.iter().map(|(_, e)| (e.subject.clone(), detail(e, "change"))).collect();
    for expected in [
        ("staff/demo-support".to_string(), Some("created")),
        ("staff/demo-call-centre".to_string(), Some("created")),
        ("staff/demo-marketing".to_string(), Some("created")),
        ("staff/demo-support".to_string(), Some("training")),
        ("staff/demo-call-centre".to_string(), Some("token_issued")),
        ("staff/chief".to_string(), Some("created")),
        ("staff/demo-support".to_string(), None),
        ("zone/hq-privacy".to_string(), Some("registered")),
        ("presence/demo-support".to_string(), None),
        ("presence/chief".to_string(), None),
    ] {
        assert!(changes.contains(&expected), "{expected:?} in {changes:?}");
    }
}

#[test]
fn staff_are_read_through_the_app() {
    let s = staffed();
    let listed: Vec<String> = s.app.staff_list().unwrap().into_iter().map(|p| p.id).collect();
    assert_eq!(listed, ["ads", "all", "crm", "member-site", "support", "untrained"]);
    let issued = s.app.issue_token(&all(), &id("support"), 5, at(1)).unwrap();
    let member = s.app.staff_member(&id("support")).unwrap();
    assert_eq!(member.principal.id, "support");
    assert_eq!(member.tokens.iter().map(|t| &t.id).collect::<Vec<_>>(), [&issued.token.id]);
}

#[test]
fn a_responsible_person_cannot_act_on_a_chief_manager() {
    // Regression: a responsible person could reset the chief manager's password or second
    // factor, take a token for them or disable them — a way to take over the account above theirs.
    let s = staffed();
    s.app.set_up_chief("init", at(1)).unwrap();
    let second = NewPrincipal {
        id: "chief-2".into(),
        display_name: "統括 二郎".into(),
        kind: PrincipalKind::Person { role: tokutei_policy::Role::ChiefManager },
        grants: Grants::default(),
        created_at: at(0),
    };
    let err = s.app.register_principal(&all(), &second, at(2)).unwrap_err();
    assert!(matches!(err, ActionError::Forbidden(_)), "registering a chief manager: {err}");
    s.app.register_principal(&Acting::Person("chief".into()), &second, at(3)).unwrap();
    let from = s.ledger_size();
    let chief = id("chief");
    let refusals: Vec<(&str, ActionError)> = vec![
        ("reset_password", s.app.reset_password(&all(), &chief, at(10)).unwrap_err()),
        ("enrol_totp", s.app.enrol_totp(&all(), &chief, at(10)).unwrap_err()),
        ("issue_token", s.app.issue_token(&all(), &chief, 30, at(10)).unwrap_err()),
        ("change_grants", s.app.change_grants(&all(), &chief, &Grants::default(), at(10)).unwrap_err()),
        ("disable_principal", s.app.disable_principal(&all(), &chief, at(10)).unwrap_err()),
    ];
    for (what, err) in refusals {
        assert!(matches!(&err, ActionError::Forbidden(m) if m.contains("chief manager")), "{what}: {err}");
    }
    assert_eq!(s.ledger_size(), from, "refusals leave no entry");
    // A chief manager may act on another, and a responsible person on everyone else.
    s.app.reset_password(&Acting::Person("chief-2".into()), &chief, at(11)).unwrap();
    s.app.reset_password(&all(), &id("support"), at(12)).unwrap();
}
