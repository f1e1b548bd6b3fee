//! Conformance for [`AuthStore`]: passwords only for people, failures counted up to a
//! lockout and cleared by a success or a new password, a failure after an expired lock
//! counted as the first of a new run, sealed TOTP enrolment with each time step accepted once,
//! sessions that expire and end one by one, all at once, or all but one. And for
//! [`RateLimitStore`]: counters per bucket and window, shared by two stores on one database.

use jiff::Timestamp;
use tokutei_policy::Role;

use crate::StoreError;
use crate::auth::{AuthStore, RateLimitStore, SealedSecret, Session, TotpSecret};
use crate::staff::{Grants, NewPrincipal, PrincipalKind, StaffStore};
use crate::vault::WrappedDataKey;

fn sealed(n: u8) -> SealedSecret {
    SealedSecret { key: WrappedDataKey { kek_id: format!("kek-{n}"), bytes: vec![n; 60] }, ciphertext: vec![n; 37] }
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_780_000_000 + second).unwrap()
}

pub fn run<S: AuthStore + StaffStore>(store: &S) {
    for (id, kind) in [
        ("cpo", PrincipalKind::Person { role: Role::ChiefManager }),
        ("billing", PrincipalKind::System { name: "billing".into() }),
    ] {
        store
            .create_principal(&NewPrincipal {
                id: id.into(),
                display_name: id.into(),
                kind,
                grants: Grants::default(),
                created_at: at(0),
            })
            .unwrap();
    }
    assert!(store.credentials("cpo").unwrap().is_none());
    assert!(matches!(store.set_password("billing", "$argon2id$x", false), Err(StoreError::Conflict(_))));
    assert!(matches!(store.set_password("nobody", "$argon2id$x", false), Err(StoreError::NotFound(_))));
    assert!(matches!(store.set_totp("cpo", &sealed(1)), Err(StoreError::NotFound(_))), "no password yet");
    store.set_password("cpo", "$argon2id$one", true).unwrap();
    let c = store.credentials("cpo").unwrap().unwrap();
    assert_eq!(
        (c.password_hash.as_str(), c.must_change, c.failed_attempts, c.totp, c.totp_last_step),
        ("$argon2id$one", true, 0, None, None)
    );

    // Failures lock at the threshold; a success clears them.
    assert_eq!(store.record_failure("cpo", 3, at(10), at(900)).unwrap(), 1);
    assert_eq!(store.record_failure("cpo", 3, at(11), at(900)).unwrap(), 2);
    assert!(store.credentials("cpo").unwrap().unwrap().locked_until.is_none());
    assert_eq!(store.record_failure("cpo", 3, at(12), at(900)).unwrap(), 3);
    assert_eq!(store.credentials("cpo").unwrap().unwrap().locked_until, Some(at(900)));
    store.clear_failures("cpo").unwrap();
    let c = store.credentials("cpo").unwrap().unwrap();
    assert_eq!((c.failed_attempts, c.locked_until), (0, None));
    assert!(matches!(store.record_failure("nobody", 3, at(1), at(900)), Err(StoreError::NotFound(_))));

    // A lock that has run out: the next failure is the first of a new run, not a new lock.
    for s in 20..23 {
        store.record_failure("cpo", 3, at(s), at(900)).unwrap();
    }
    assert_eq!(store.credentials("cpo").unwrap().unwrap().locked_until, Some(at(900)));
    assert_eq!(store.record_failure("cpo", 3, at(899), at(1800)).unwrap(), 4, "still locked: counted on");
    assert_eq!(store.credentials("cpo").unwrap().unwrap().locked_until, Some(at(900)), "the lock is not extended");
    assert_eq!(store.record_failure("cpo", 3, at(900), at(1800)).unwrap(), 1, "expired at its end");
    let c = store.credentials("cpo").unwrap().unwrap();
    assert_eq!((c.failed_attempts, c.locked_until), (1, None));
    assert_eq!(store.record_failure("cpo", 3, at(901), at(1801)).unwrap(), 2);
    assert_eq!(store.record_failure("cpo", 3, at(902), at(1802)).unwrap(), 3);
    assert_eq!(store.credentials("cpo").unwrap().unwrap().locked_until, Some(at(1802)), "a new run locks again");

    store.set_password("cpo", "$argon2id$two", false).unwrap();
    let c = store.credentials("cpo").unwrap().unwrap();
    assert_eq!((c.password_hash.as_str(), c.must_change, c.failed_attempts), ("$argon2id$two", false, 0));

    // TOTP: sealed secrets, each time step accepted once and never an earlier one.
    assert!(store.clear_totp_principals().unwrap().is_empty());
    store.set_totp("cpo", &sealed(1)).unwrap();
    assert_eq!(store.credentials("cpo").unwrap().unwrap().totp, Some(TotpSecret::Sealed(sealed(1))));
    assert!(store.accept_totp_step("cpo", 1000).unwrap());
    assert!(!store.accept_totp_step("cpo", 1000).unwrap(), "the same step twice");
    assert!(!store.accept_totp_step("cpo", 999).unwrap(), "an earlier step");
    assert!(store.accept_totp_step("cpo", 1001).unwrap());
    assert_eq!(store.credentials("cpo").unwrap().unwrap().totp_last_step, Some(1001));
    assert!(!store.accept_totp_step("nobody", 5).unwrap());
    store.set_totp("cpo", &sealed(2)).unwrap();
    let c = store.credentials("cpo").unwrap().unwrap();
    assert_eq!((c.totp, c.totp_last_step), (Some(TotpSecret::Sealed(sealed(2))), None), "a new secret, no step yet");
    // Rotation re-wraps the data key and leaves the sealed secret as it is.
    assert_eq!(store.totp_keys().unwrap(), vec![("cpo".to_string(), sealed(2).key)]);
    let rewrapped = WrappedDataKey { kek_id: "kek-9".into(), bytes: vec![9; 60] };
    store.rewrap_totp_key("cpo", &rewrapped).unwrap();
    let c = store.credentials("cpo").unwrap().unwrap();
    assert_eq!(
        c.totp,
        Some(TotpSecret::Sealed(SealedSecret { key: rewrapped.clone(), ciphertext: sealed(2).ciphertext }))
    );
    assert!(matches!(store.rewrap_totp_key("nobody", &rewrapped), Err(StoreError::NotFound(_))));

    // Sessions.
    let session = |n: u8| Session {
        id_hash: [n; 32],
        principal: "cpo".into(),
        csrf_token: format!("csrf-{n}"),
        created_at: at(0),
        expires_at: at(100),
    };
    store.create_session(&session(1)).unwrap();
    store.create_session(&session(2)).unwrap();
    assert_eq!(store.session(&[1; 32], at(50)).unwrap(), Some(session(1)));
    assert!(store.session(&[1; 32], at(100)).unwrap().is_none(), "expired at its expiry");
    store.touch_session(&[1; 32], at(200)).unwrap();
    assert!(store.session(&[1; 32], at(150)).unwrap().is_some());
    assert!(store.session(&[9; 32], at(50)).unwrap().is_none());
    store.delete_session(&[1; 32]).unwrap();
    assert!(store.session(&[1; 32], at(150)).unwrap().is_none());
    store.create_session(&session(3)).unwrap();
    assert_eq!(store.delete_sessions_of("cpo").unwrap(), 2);
    assert!(store.session(&[2; 32], at(50)).unwrap().is_none());

    // All but one (a password change keeps the session that made it).
    for n in 4..7 {
        store.create_session(&session(n)).unwrap();
    }
    assert_eq!(store.delete_other_sessions("cpo", &[5; 32]).unwrap(), 2);
    assert_eq!(store.session(&[5; 32], at(50)).unwrap(), Some(session(5)));
    assert!(store.session(&[4; 32], at(50)).unwrap().is_none() && store.session(&[6; 32], at(50)).unwrap().is_none());
    assert_eq!(store.delete_other_sessions("cpo", &[5; 32]).unwrap(), 0);
}

/// Rate-limit counters, with `one` and `two` two stores on the same database (two instances):
/// hits on one count on the other, per bucket and per window; old windows are forgotten.
pub fn run_rate_limits<S: RateLimitStore + Sync>(one: &S, two: &S) {
    let (a, b) = ([1u8; 32], [2u8; 32]);
    let window = at(60);
    assert_eq!(one.hits(&a, window).unwrap(), 0);
    assert_eq!(one.hit(&[a, b], window, at(0)).unwrap(), vec![1, 1]);
    assert_eq!(two.hit(&[a], window, at(0)).unwrap(), vec![2], "counted together across instances");
    assert_eq!(one.hit(&[b, a], window, at(0)).unwrap(), vec![2, 3]);
    assert_eq!((two.hits(&a, window).unwrap(), two.hits(&b, window).unwrap()), (3, 2));
    // Hits from threads of both instances at once are all counted.
    std::thread::scope(|s| {
        for store in [one, two] {
            s.spawn(move || {
                for _ in 0..25 {
                    store.hit(&[a], window, at(0)).unwrap();
                }
            });
        }
    });
    assert_eq!(one.hits(&a, window).unwrap(), 53);
    // The next window starts at zero; the first hit of a window forgets windows before
    // `forget_before`.
    assert_eq!(two.hit(&[a], at(120), at(0)).unwrap(), vec![1]);
    assert_eq!(one.hits(&a, window).unwrap(), 53, "kept: not before `forget_before`");
    assert_eq!(two.hit(&[b], at(180), at(120)).unwrap(), vec![1]);
    assert_eq!((one.hits(&a, window).unwrap(), one.hits(&b, window).unwrap()), (0, 0), "forgotten");
    assert_eq!(one.hits(&a, at(120)).unwrap(), 1);
    assert_eq!(one.hit(&[], at(180), at(120)).unwrap(), Vec::<u64>::new());
}
