//! Sign-in, sessions and rate limits (`tokutei_app::auth`) on a real store and ledger: every
//! refusal for its reason with the entry it leaves, lockout and its expiry, TOTP codes used
//! once, sessions that expire, and the API's admission. Each action that changes something —
//! a success, a failure, a lockout, a sign-out, a password change — is audited before it
//! changes anything: with a failing ledger it changes nothing.

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use jiff::{SignedDuration, Timestamp};
use support::{at, deploy};
use tokutei_app::auth::{
    ApiAdmission, Auth, NewSession, PasswordChange, PasswordRefusal, Refusal, SignIn, SignInOutcome,
};
use tokutei_app::{ActionError, App, KeyAccess, PrincipalId};
use tokutei_ledger::{Actor, AdminAction, AdminEvent, Event};
use tokutei_store::auth::AuthStore;
use tokutei_store::inquiry::SettingsStore;
use tokutei_store::ledger::LedgerStore;
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, StaffStore};
use tokutei_store::vault::WrappedDataKey;

const PASSWORD: &str = "a long enough passphrase";

/// Keys that seal TOTP secrets as the binary's keyring does (one KEK).
struct Keys(tokutei_crypto::Kek);

impl KeyAccess for Keys {
    fn unwrap_key(&self, owner: &str, wrapped: &WrappedDataKey) -> Result<tokutei_crypto::DataKey, String> {
        let w = tokutei_crypto::WrappedKey { kek_id: wrapped.kek_id.clone(), bytes: wrapped.bytes.clone() };
        self.0.unwrap(owner, &w).map_err(|e| e.to_string())
    }
    fn blind_token(&self, _: &str, _: &str) -> Option<[u8; 32]> {
        None
    }
    fn new_data_key(&self, owner: &str) -> Result<(tokutei_crypto::DataKey, WrappedDataKey), String> {
        let key = tokutei_crypto::DataKey::generate().map_err(|e| e.to_string())?;
        let w = self.0.wrap(owner, &key).map_err(|e| e.to_string())?;
        Ok((key, WrappedDataKey { kek_id: w.kek_id, bytes: w.bytes }))
    }
}

/// The test deployment's people, with sign-in state: `support` (a handler) and `all` (a
/// responsible person, with a TOTP secret) have [`PASSWORD`]; `gone` (a handler) has it too
/// but is disabled; `untrained` has no password; `ads` is a system.
struct Site {
    d: support::Deployed,
    auth: Auth,
    totp: Vec<u8>,
}

fn site() -> Site {
    let d = deploy();
    let keys = Arc::new(Keys(tokutei_crypto::Kek::generate("kek-auth").unwrap()));
    let app = Arc::new(App::new(
        d.store.clone(),
        d.ledger.clone(),
        keys.clone(),
        tokutei_gateway::Deployment::default(),
        Vec::new(),
    ));
    let auth = Auth::new(app, d.store.clone());
    let hash = tokutei_crypto::password::hash(PASSWORD).unwrap();
    d.store
        .create_principal(&NewPrincipal {
            id: "gone".into(),
            display_name: "gone".into(),
            kind: PrincipalKind::Person { role: tokutei_policy::Role::Handler },
            grants: Grants::default(),
            created_at: at(0),
        })
        .unwrap();
    for id in ["support", "all", "gone"] {
        d.store.set_password(id, &hash, false).unwrap();
    }
    d.store.disable_principal("gone", at(1)).unwrap();
    let totp = tokutei_crypto::totp::new_secret().unwrap();
    d.store.set_totp("all", &keys.seal_secret(&tokutei_app::totp_owner("all"), &totp).unwrap()).unwrap();
    Site { d, auth, totp }
}

fn client(n: u8) -> std::net::IpAddr {
    std::net::IpAddr::from([192, 0, 2, n])
}

fn attempt(id: &str, password: &str, code: &str, now: Timestamp) -> SignIn {
    SignIn {
        id: id.into(),
        password: zeroize::Zeroizing::new(password.into()),
        totp_code: code.into(),
        client: client(1),
        now,
    }
}

impl Site {
    fn code(&self, now: Timestamp) -> String {
        tokutei_crypto::totp::code_at(&self.totp, now.as_second() as u64).unwrap()
    }

    fn sign_in(&self, id: &str, password: &str, code: &str, now: Timestamp) -> SignInOutcome {
        self.auth.sign_in(&attempt(id, password, code, now)).unwrap()
    }

    fn signed_in(&self, id: &str, now: Timestamp) -> NewSession {
        let code = if id == "all" { self.code(now) } else { String::new() };
        match self.sign_in(id, PASSWORD, &code, now) {
            SignInOutcome::SignedIn(session) => session,
            other => panic!("{id}: {other:?}"),
        }
    }

    fn size(&self) -> u64 {
        self.d.ledger.tree_size().unwrap()
    }

    /// The administrative entries from ledger index `from`.
    fn entries(&self, from: u64) -> Vec<(Actor, AdminEvent)> {
        let mut out = Vec::new();
        self.d
            .ledger
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

    fn failures(&self, id: &str) -> (u32, Option<Timestamp>) {
        let c = self.d.store.credentials(id).unwrap().unwrap();
        (c.failed_attempts, c.locked_until)
    }

    fn fail_ledger(&self, fail: bool) {
        self.d.ledger.fail.store(fail, Ordering::SeqCst);
    }
}

fn pid(id: &str) -> PrincipalId {
    PrincipalId::parse(id).unwrap()
}

/// `(action, subject, actor is a person)` of entries, for comparison.
fn shape(entries: &[(Actor, AdminEvent)]) -> Vec<(AdminAction, String, bool)> {
    entries.iter().map(|(actor, e)| (e.action, e.subject.clone(), matches!(actor, Actor::Staff(_)))).collect()
}

/// A sign-in case: id, password, code; the refusal expected (`None`: signed in); the entries
/// it leaves as `(action, subject, actor is a person)`.
type Case<'a> = (&'a str, &'a str, String, Option<Refusal>, Vec<(AdminAction, &'a str, bool)>);

#[test]
fn every_refusal_has_its_reason_and_leaves_its_entry() {
    let s = site();
    // Each case in a minute of its own, so each unattributed refusal is its minute's first.
    let minute = |k: i64| at(3600 + 60 * k);
    let (failed, unattributed) = (AdminAction::LoginFailed, "console/login");
    let long = "x".repeat(65);
    let cases: Vec<Case> = vec![
        ("", PASSWORD, String::new(), Some(Refusal::MalformedId), vec![]),
        ("   ", PASSWORD, String::new(), Some(Refusal::MalformedId), vec![]),
        (&long, PASSWORD, String::new(), Some(Refusal::MalformedId), vec![]),
        ("nobody", PASSWORD, String::new(), Some(Refusal::UnknownId), vec![(failed, unattributed, false)]),
        ("山田", PASSWORD, String::new(), Some(Refusal::UnknownId), vec![(failed, unattributed, false)]),
        ("ads", PASSWORD, String::new(), Some(Refusal::NotAPerson), vec![(failed, unattributed, false)]),
        ("untrained", PASSWORD, String::new(), Some(Refusal::NoCredentials), vec![(failed, unattributed, false)]),
        ("gone", PASSWORD, String::new(), Some(Refusal::Disabled), vec![(failed, "staff/gone", true)]),
        (
            "support",
            "not the password",
            String::new(),
            Some(Refusal::WrongPassword),
            vec![(failed, "staff/support", true)],
        ),
        ("all", PASSWORD, String::new(), Some(Refusal::WrongCode), vec![(failed, "staff/all", true)]),
        ("all", PASSWORD, "12345".into(), Some(Refusal::WrongCode), vec![(failed, "staff/all", true)]),
        ("support", PASSWORD, String::new(), None, vec![(AdminAction::LoginSucceeded, "staff/support", true)]),
        (" support ", PASSWORD, String::new(), None, vec![(AdminAction::LoginSucceeded, "staff/support", true)]),
    ];
    for (k, (id, password, code, expected, entries)) in cases.into_iter().enumerate() {
        let before = s.size();
        let outcome = s.sign_in(id, password, &code, minute(k as i64));
        match (&outcome, expected) {
            (SignInOutcome::SignedIn(session), None) => {
                assert_eq!(session.principal, "support");
                assert!(!session.must_change);
                assert!(s.auth.session(&session.session_id, minute(k as i64)).unwrap().is_some());
            }
            (SignInOutcome::Refused { reason, locked_now: false }, Some(want)) => assert_eq!(*reason, want, "{id:?}"),
            (got, want) => panic!("{id:?}: got {got:?}, expected {want:?}"),
        }
        let want: Vec<(AdminAction, String, bool)> =
            entries.into_iter().map(|(a, subject, person)| (a, subject.to_string(), person)).collect();
        assert_eq!(shape(&s.entries(before)), want, "{id:?}");
    }
    // The refusals naming no known person say why, never with the id typed.
    let all = s.entries(0);
    let details: Vec<&Vec<(String, String)>> =
        all.iter().filter(|(_, e)| e.subject == "console/login").map(|(_, e)| &e.details).collect();
    assert_eq!(details.len(), 4);
    for d in details {
        assert!(d.contains(&("reason".into(), "unknown_id".into())), "{d:?}");
        assert!(d.iter().all(|(_, v)| !v.contains("nobody") && !v.contains("山田")), "{d:?}");
    }
    // A success names the role.
    let success = all.iter().find(|(_, e)| e.action == AdminAction::LoginSucceeded).unwrap();
    assert_eq!(success.1.details, [("role".to_string(), "handler".to_string())]);
}

#[test]
fn a_totp_code_is_accepted_once_and_only_after_the_right_password() {
    let s = site();
    let now = at(7200);
    let code = s.code(now);
    // A wrong password spends no step.
    assert!(matches!(
        s.sign_in("all", "not the password", &code, now),
        SignInOutcome::Refused { reason: Refusal::WrongPassword, .. }
    ));
    assert!(matches!(s.sign_in("all", PASSWORD, &code, now), SignInOutcome::SignedIn(_)));
    assert_eq!(s.d.store.credentials("all").unwrap().unwrap().totp_last_step, Some(now.as_second() as u64 / 30));
    // The same code again, and the code of the step before: a replay.
    for replay in [code, tokutei_crypto::totp::code_at(&s.totp, now.as_second() as u64 - 30).unwrap()] {
        assert!(matches!(
            s.sign_in("all", PASSWORD, &replay, now),
            SignInOutcome::Refused { reason: Refusal::WrongCode, .. }
        ));
    }
    assert_eq!(s.failures("all").0, 2, "replays count as failures (the success cleared the first)");
}

#[test]
fn failures_lock_the_account_and_the_lockout_is_audited_before_it_is_counted() {
    let s = site();
    let now = at(3600);
    for _ in 0..4 {
        s.sign_in("support", "wrong", "", now);
    }
    assert_eq!(s.failures("support"), (4, None));
    // The fifth failure locks; with the ledger down it is not even counted.
    s.fail_ledger(true);
    let err = s.auth.sign_in(&attempt("support", "wrong", "", now)).unwrap_err();
    assert!(matches!(err, ActionError::Audit(_)), "{err}");
    assert_eq!(s.failures("support"), (4, None), "audit first: no failure counted without its entry");
    s.fail_ledger(false);
    let before = s.size();
    let outcome = s.sign_in("support", "wrong", "", now);
    assert!(matches!(outcome, SignInOutcome::Refused { reason: Refusal::WrongPassword, locked_now: true }));
    let entries = s.entries(before);
    assert_eq!(
        shape(&entries),
        [
            (AdminAction::LoginFailed, "staff/support".into(), true),
            (AdminAction::LockedOut, "staff/support".into(), false)
        ]
    );
    assert_eq!(entries[1].0, Actor::System("console".into()));
    assert_eq!(entries[1].1.details, [("minutes".to_string(), "15".to_string())]);
    assert_eq!(s.failures("support"), (5, Some(now + SignedDuration::from_mins(15))));
    // Locked: even the right password is refused, and the refusal is audited.
    let before = s.size();
    assert!(matches!(
        s.sign_in("support", PASSWORD, "", now + SignedDuration::from_mins(14)),
        SignInOutcome::Refused { reason: Refusal::Locked, locked_now: false }
    ));
    assert_eq!(shape(&s.entries(before)), [(AdminAction::LoginFailed, "staff/support".into(), true)]);
    // Once the lock has run out, a failure starts a new run; the right password gets in.
    let later = now + SignedDuration::from_mins(16);
    assert!(matches!(s.sign_in("support", "wrong", "", later), SignInOutcome::Refused { locked_now: false, .. }));
    assert_eq!(s.failures("support"), (1, None));
    assert!(matches!(s.sign_in("support", PASSWORD, "", later), SignInOutcome::SignedIn(_)));
    assert_eq!(s.failures("support"), (0, None));
}

#[test]
fn the_lockout_follows_the_settings() {
    let s = site();
    s.d.store
        .set_settings(
            &[("lockout_attempts".into(), "3".into()), ("lockout_minutes".into(), "60".into())],
            "test",
            at(0),
        )
        .unwrap();
    let now = at(3600);
    let locked: Vec<bool> = (0..3)
        .map(|_| matches!(s.sign_in("support", "wrong", "", now), SignInOutcome::Refused { locked_now: true, .. }))
        .collect();
    assert_eq!(locked, [false, false, true]);
    assert_eq!(s.failures("support").1, Some(now + SignedDuration::from_mins(60)));
}

#[test]
fn sign_in_success_is_audited_before_failures_are_cleared() {
    let s = site();
    let now = at(3600);
    for _ in 0..2 {
        s.sign_in("support", "wrong", "", now);
    }
    s.fail_ledger(true);
    let err = s.auth.sign_in(&attempt("support", PASSWORD, "", now)).unwrap_err();
    assert!(matches!(err, ActionError::Audit(_)), "{err}");
    assert_eq!(s.failures("support"), (2, None), "audit first: failures stay until the success is durable");
    assert_eq!(s.d.store.delete_sessions_of("support").unwrap(), 0, "and no session was created");
    s.fail_ledger(false);
    let before = s.size();
    let session = s.signed_in("support", now);
    assert_eq!(shape(&s.entries(before)), [(AdminAction::LoginSucceeded, "staff/support".into(), true)]);
    assert_eq!(s.failures("support"), (0, None));
    assert!(s.auth.session(&session.session_id, now).unwrap().is_some());
}

#[test]
fn sign_ins_are_rate_limited_per_client_and_per_id_before_any_password_is_checked() {
    let s = site();
    let now = at(3600);
    let before = s.size();
    // 20 attempts per client address per minute (the default), whatever the ids.
    let outcomes: Vec<SignInOutcome> =
        (0..25).map(|i| s.auth.sign_in(&attempt(&format!("intruder-{i}"), "guess", "", now)).unwrap()).collect();
    let limited = outcomes.iter().filter(|o| matches!(o, SignInOutcome::Limited { .. })).count();
    assert_eq!(limited, 5);
    assert!(
        outcomes
            .iter()
            .all(|o| !matches!(o, SignInOutcome::Limited { retry_after } if !(1..=60).contains(retry_after)))
    );
    // Refusals naming no known person: one entry for the whole minute.
    assert_eq!(s.size() - before, 1);
    // 10 attempts per id per minute (the default), from whatever address; the limited ones
    // are not checked at all (no failure counted, no entry for the person).
    let next = now + SignedDuration::from_mins(1);
    let before = s.size();
    let mut outcomes = Vec::new();
    for i in 0..12u8 {
        let mut a = attempt("support", "wrong", "", next);
        a.client = client(10 + i);
        outcomes.push(s.auth.sign_in(&a).unwrap());
    }
    assert!(outcomes[..10].iter().all(|o| matches!(o, SignInOutcome::Refused { .. })));
    assert!(outcomes[10..].iter().all(|o| matches!(o, SignInOutcome::Limited { .. })));
    let person = s.entries(before).iter().filter(|(_, e)| e.subject == "staff/support").count();
    assert_eq!(person, 10 + 1, "ten refusals and one lockout; nothing for the limited attempts");
}

#[test]
fn sessions_expire_when_idle_and_at_their_absolute_limit() {
    let s = site();
    let start = at(3600);
    let session = s.signed_in("support", start);
    let min = |m: i64| start + SignedDuration::from_mins(m);
    // Idle expiry (30 minutes by default) moves forward with use; the absolute limit (12 h) does not.
    let mut at_ = 0;
    while at_ + 25 < 12 * 60 {
        at_ += 25;
        let view = s.auth.session(&session.session_id, min(at_)).unwrap();
        let view = view.unwrap_or_else(|| panic!("alive at {at_} minutes"));
        assert_eq!(view.principal.id, "support");
        assert_eq!(view.csrf, session.csrf);
    }
    assert!(s.auth.session(&session.session_id, min(12 * 60 + 1)).unwrap().is_none(), "past the absolute limit");
    assert!(s.auth.session(&session.session_id, min(at_)).unwrap().is_none(), "and deleted");
    let idle = s.signed_in("support", start);
    assert!(s.auth.session(&idle.session_id, min(29)).unwrap().is_some());
    assert!(s.auth.session(&idle.session_id, min(29 + 31)).unwrap().is_none(), "idle for 31 minutes");
    // A person disabled has no session any more; nor has an id that was never one.
    let other = s.signed_in("support", start);
    s.d.store.disable_principal("support", start).unwrap();
    assert!(s.auth.session(&other.session_id, min(1)).unwrap().is_none());
    assert!(s.auth.session("not a session", min(1)).unwrap().is_none());
}

#[test]
fn sign_out_is_audited_before_the_session_ends() {
    let s = site();
    let now = at(3600);
    let here = s.signed_in("support", now);
    let there = s.signed_in("support", now);
    let hash = tokutei_app::auth::hash_id(&here.session_id);
    s.fail_ledger(true);
    let err = s.auth.sign_out(&pid("support"), &hash, false, now).unwrap_err();
    assert!(matches!(err, ActionError::Audit(_)), "{err}");
    assert!(
        s.auth.session(&here.session_id, now).unwrap().is_some(),
        "audit first: the session outlives a failed audit"
    );
    s.fail_ledger(false);
    let before = s.size();
    assert_eq!(s.auth.sign_out(&pid("support"), &hash, false, now).unwrap(), 1);
    assert!(s.auth.session(&here.session_id, now).unwrap().is_none());
    assert!(s.auth.session(&there.session_id, now).unwrap().is_some(), "only this session ended");
    let third = s.signed_in("support", now);
    let third_hash = tokutei_app::auth::hash_id(&third.session_id);
    assert_eq!(s.auth.sign_out(&pid("support"), &third_hash, true, now).unwrap(), 2, "everywhere");
    assert!(s.auth.session(&there.session_id, now).unwrap().is_none());
    let outs: Vec<Vec<(String, String)>> = s
        .entries(before)
        .into_iter()
        .filter(|(actor, e)| e.action == AdminAction::LoggedOut && *actor == Actor::Staff("support".into()))
        .map(|(_, e)| e.details)
        .collect();
    let sessions = |v: &str| vec![("sessions".to_string(), v.to_string())];
    assert_eq!(outs, [sessions("this"), sessions("all")]);
}

#[test]
fn password_change_is_audited_before_it_is_stored() {
    let s = site();
    let now = at(3600);
    let here = s.signed_in("support", now);
    let there = s.signed_in("support", now);
    let keep = tokutei_app::auth::hash_id(&here.session_id);
    let new = "a brand new passphrase 2026";
    let change = |current: &str, new: &str| s.auth.change_password(&pid("support"), &keep, current, new, now);
    // Refusals change nothing and leave no entry.
    let before = s.size();
    let refusals = [
        (PASSWORD, PASSWORD, PasswordRefusal::Unchanged),
        (PASSWORD, "short", PasswordRefusal::Weak("a password needs at least 12 characters")),
        (PASSWORD, "aaaaaaaaaaaaaaaa", PasswordRefusal::Weak("a password needs more different characters")),
        ("not the password", new, PasswordRefusal::WrongCurrent),
    ];
    for (current, next, why) in refusals {
        assert_eq!(change(current, next).unwrap(), PasswordChange::Refused(why), "{next:?}");
    }
    assert_eq!(s.size(), before);
    // With the ledger down, the password stays and so do the other sessions.
    s.fail_ledger(true);
    assert!(matches!(change(PASSWORD, new), Err(ActionError::Audit(_))));
    s.fail_ledger(false);
    let hash = s.d.store.credentials("support").unwrap().unwrap().password_hash;
    assert!(tokutei_crypto::password::verify(PASSWORD, &hash), "audit first: the old password stays");
    assert!(s.auth.session(&there.session_id, now).unwrap().is_some());
    // Changed: the entry, the new password, the other session ended, this one kept.
    assert_eq!(change(PASSWORD, new).unwrap(), PasswordChange::Changed { other_sessions: 1 });
    let entries = s.entries(before);
    assert_eq!(shape(&entries), [(AdminAction::PasswordChanged, "staff/support".into(), true)]);
    assert_eq!(entries[0].1.details, [("other_sessions".to_string(), "ended".to_string())]);
    let hash = s.d.store.credentials("support").unwrap().unwrap().password_hash;
    assert!(tokutei_crypto::password::verify(new, &hash));
    assert!(s.auth.session(&there.session_id, now).unwrap().is_none());
    assert!(s.auth.session(&here.session_id, now).unwrap().is_some());
}

#[test]
fn a_one_time_password_must_be_changed_first() {
    let s = site();
    let hash = tokutei_crypto::password::hash(PASSWORD).unwrap();
    s.d.store.set_password("support", &hash, true).unwrap();
    let now = at(3600);
    let session = s.signed_in("support", now);
    assert!(session.must_change);
    assert!(s.auth.session(&session.session_id, now).unwrap().unwrap().must_change);
    let keep = tokutei_app::auth::hash_id(&session.session_id);
    let changed = s.auth.change_password(&pid("support"), &keep, PASSWORD, "my own passphrase 2026", now).unwrap();
    assert_eq!(changed, PasswordChange::Changed { other_sessions: 0 });
    assert!(!s.auth.session(&session.session_id, now).unwrap().unwrap().must_change);
}

#[test]
fn api_requests_are_admitted_by_token_within_their_limits() {
    let s = site();
    let now = at(3600);
    let issued = tokutei_app::tokens::issue("ads", now, now + SignedDuration::from_hours(1));
    s.d.store.add_token(&issued.token).unwrap();
    let admit = |token: &str, n: u8| s.auth.admit_api(token, client(n), now).unwrap();
    let ApiAdmission::Admitted(caller) = admit(&issued.text, 1) else { panic!("a valid token") };
    assert_eq!(
        (caller.principal.as_str(), caller.token.as_str(), caller.role),
        ("ads", issued.token.id.as_str(), None)
    );
    for bad in ["", "tkt_0000000000000000_forged", "Bearer x", &issued.text[..issued.text.len() - 1]] {
        assert_eq!(admit(bad, 2), ApiAdmission::Unauthorized, "{bad:?}");
    }
    assert_eq!(
        s.auth.admit_api(&issued.text, client(1), now + SignedDuration::from_hours(2)).unwrap(),
        ApiAdmission::Unauthorized,
        "expired"
    );
    // Per principal, from any address; and per address, with or without a valid token.
    s.d.store
        .set_settings(
            &[("api_rate_per_principal".into(), "3".into()), ("api_rate_per_client".into(), "5".into())],
            "test",
            now,
        )
        .unwrap();
    let later = now + SignedDuration::from_mins(1);
    let by_principal: Vec<bool> = (0..4u8)
        .map(|n| matches!(s.auth.admit_api(&issued.text, client(20 + n), later).unwrap(), ApiAdmission::Admitted(_)))
        .collect();
    assert_eq!(by_principal, [true, true, true, false]);
    let by_client: Vec<ApiAdmission> =
        (0..6).map(|_| s.auth.admit_api("tkt_0000000000000000_forged", client(9), later).unwrap()).collect();
    assert!(by_client[..5].iter().all(|a| *a == ApiAdmission::Unauthorized));
    assert!(matches!(by_client[5], ApiAdmission::Limited { retry_after } if (1..=60).contains(&retry_after)));
    // A disabled principal's token lets nothing in.
    s.d.store.disable_principal("ads", later).unwrap();
    let next = later + SignedDuration::from_mins(1);
    assert_eq!(s.auth.admit_api(&issued.text, client(30), next).unwrap(), ApiAdmission::Unauthorized);
}

/// The `lockout` detector on a ledger written by real sign-ins: four failures raise nothing,
/// the fifth locks the account and raises exactly one report about `support`, filed once.
#[test]
fn a_sign_in_lockout_raises_one_violation_report() {
    let s = site();
    let now = at(3600);
    for _ in 0..4 {
        s.sign_in("support", "wrong", "", now);
    }
    let window = (at(0), at(7200));
    assert!(s.d.service.run_detectors(window.0, window.1, window.1).unwrap().is_empty());
    assert!(matches!(s.sign_in("support", "wrong", "", now), SignInOutcome::Refused { locked_now: true, .. }));
    let filed = s.d.service.run_detectors(window.0, window.1, window.1).unwrap();
    let seen: Vec<(Option<&str>, &str)> =
        filed.iter().map(|v| (v.stored.report.detector.as_deref(), v.stored.report.principal.as_str())).collect();
    assert_eq!(seen, [(Some("lockout"), "support")]);
    assert!(s.d.service.run_detectors(window.0, window.1, window.1).unwrap().is_empty());
}
