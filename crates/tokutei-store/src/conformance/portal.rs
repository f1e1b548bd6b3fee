//! Conformance for [`PortalStore`]: a link is found by its hash; it is redeemed once, only
//! before it expires and only for its subscriber; the session it opens is found until it
//! expires or ends; a taken hash is a conflict.

use jiff::Timestamp;

use crate::StoreError;
use crate::portal::{NewPortalLink, PortalSession, PortalStore};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + second).unwrap()
}

fn link(hash: &str, subscriber: &str, expires: i64) -> NewPortalLink {
    NewPortalLink {
        token_hash: hash.into(),
        subscriber: subscriber.into(),
        created_at: at(0),
        expires_at: at(expires),
        issued_by: "my-page".into(),
        audit_index: 7,
    }
}

fn session(hash: &str, subscriber: &str, created: i64) -> PortalSession {
    PortalSession {
        session_hash: hash.into(),
        subscriber: subscriber.into(),
        created_at: at(created),
        expires_at: at(created + 1800),
    }
}

pub fn run<S: PortalStore>(store: &S) {
    assert_eq!(store.portal_link("a1").unwrap(), None);
    store.add_portal_link(&link("a1", "S-1", 900)).unwrap();
    store.add_portal_link(&link("b2", "S-2", 900)).unwrap();
    store.add_portal_link(&link("c3", "S-1", 60)).unwrap();
    let err = store.add_portal_link(&link("a1", "S-9", 900)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let stored = store.portal_link("a1").unwrap().unwrap();
    assert_eq!((stored.subscriber.as_str(), stored.expires_at, stored.used_at), ("S-1", at(900), None));

    // Only for its own subscriber; then once.
    assert!(!store.redeem_portal_link("a1", &session("s-x", "S-2", 10)).unwrap());
    assert!(store.redeem_portal_link("a1", &session("s-1", "S-1", 10)).unwrap());
    assert!(!store.redeem_portal_link("a1", &session("s-2", "S-1", 11)).unwrap(), "a link works once");
    assert_eq!(store.portal_link("a1").unwrap().unwrap().used_at, Some(at(10)));
    assert_eq!(store.portal_session("s-2", at(12)).unwrap(), None);
    // Not after it expires; an unknown link is simply not redeemed.
    assert!(!store.redeem_portal_link("c3", &session("s-3", "S-1", 60)).unwrap());
    assert_eq!(store.portal_link("c3").unwrap().unwrap().used_at, None);
    assert!(!store.redeem_portal_link("zz", &session("s-4", "S-1", 10)).unwrap());

    // The session lives until it expires or ends.
    let open = store.portal_session("s-1", at(20)).unwrap().unwrap();
    assert_eq!(open, session("s-1", "S-1", 10));
    assert_eq!(store.portal_session("s-1", at(10 + 1800)).unwrap(), None);
    assert!(store.redeem_portal_link("b2", &session("s-5", "S-2", 30)).unwrap());
    store.end_portal_session("s-5", at(40)).unwrap();
    assert_eq!(store.portal_session("s-5", at(41)).unwrap(), None);
    store.end_portal_session("s-5", at(42)).unwrap();
    assert!(store.portal_session("s-1", at(41)).unwrap().is_some(), "ending one session ends no other");
}
