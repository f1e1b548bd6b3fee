//! Conformance for [`AuthStore`]: passwords only for people, failures counted up to a
//! lockout and cleared by a success or a new password, TOTP enrolment, sessions that expire
//! and end one by one or all at once.

use jiff::Timestamp;
use tokutei_policy::Role;

use crate::StoreError;
use crate::auth::{AuthStore, Session};
use crate::staff::{Grants, NewPrincipal, PrincipalKind, StaffStore};

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
    assert!(matches!(store.set_totp("cpo", b"secret"), Err(StoreError::NotFound(_))), "no password yet");
    store.set_password("cpo", "$argon2id$one", true).unwrap();
    let c = store.credentials("cpo").unwrap().unwrap();
    assert_eq!(
        (c.password_hash.as_str(), c.must_change, c.failed_attempts, c.totp_secret),
        ("$argon2id$one", true, 0, None)
    );

    // Failures lock at the threshold; a success clears them.
    assert_eq!(store.record_failure("cpo", 3, at(900)).unwrap(), 1);
    assert_eq!(store.record_failure("cpo", 3, at(900)).unwrap(), 2);
    assert!(store.credentials("cpo").unwrap().unwrap().locked_until.is_none());
    assert_eq!(store.record_failure("cpo", 3, at(900)).unwrap(), 3);
    assert_eq!(store.credentials("cpo").unwrap().unwrap().locked_until, Some(at(900)));
    store.clear_failures("cpo").unwrap();
    let c = store.credentials("cpo").unwrap().unwrap();
    assert_eq!((c.failed_attempts, c.locked_until), (0, None));
    assert!(matches!(store.record_failure("nobody", 3, at(1)), Err(StoreError::NotFound(_))));
    store.record_failure("cpo", 3, at(900)).unwrap();
    store.set_password("cpo", "$argon2id$two", false).unwrap();
    let c = store.credentials("cpo").unwrap().unwrap();
    assert_eq!((c.password_hash.as_str(), c.must_change, c.failed_attempts), ("$argon2id$two", false, 0));
    store.set_totp("cpo", b"0123456789abcdefghij").unwrap();
    assert_eq!(store.credentials("cpo").unwrap().unwrap().totp_secret.as_deref(), Some(&b"0123456789abcdefghij"[..]));

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
}
