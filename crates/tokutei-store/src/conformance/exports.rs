//! Conformance for [`ArtefactStore`] and [`MediaExceptionStore`]: one artefact per export
//! request; a download is taken once — the bytes go to exactly one of several concurrent
//! claims and leave the store with it, the digest and the download staying —; exceptions are
//! found by id and listed newest first, and revoked once.

use jiff::Timestamp;
use tokutei_policy::Date;

use crate::StoreError;
use crate::exports::{ArtefactStore, Download, MediaExceptionStore, NewArtefact, NewMediaException, Revocation};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + second).unwrap()
}

fn artefact(export: &str, produced: i64) -> NewArtefact {
    NewArtefact {
        export: export.into(),
        produced_by: "ads".into(),
        produced_at: at(produced),
        recipient_key: "age1recipient".into(),
        sha256: format!("{:064x}", produced),
        ciphertext: format!("ciphertext of {export}").into_bytes(),
        audit_index: 10 + produced as u64,
    }
}

fn download(by: &str, second: i64) -> Download {
    Download {
        by: by.into(),
        at: at(second),
        medium: "usb".into(),
        exception: Some("MX-1".into()),
        audit_index: 100 + second as u64,
    }
}

/// Artefacts, then `run_concurrent_claims` on a store the caller can share between threads.
pub fn run<S: ArtefactStore + MediaExceptionStore>(store: &S) {
    run_artefacts(store);
    run_media_exceptions(store);
}

fn run_artefacts<S: ArtefactStore>(store: &S) {
    assert_eq!(store.artefact("EXP-1").unwrap(), None);
    assert_eq!(store.claim_artefact("EXP-1", &download("ads", 5)).unwrap(), None, "nothing to claim");
    store.add_artefact(&artefact("EXP-1", 1)).unwrap();
    store.add_artefact(&artefact("EXP-2", 2)).unwrap();
    let err = store.add_artefact(&artefact("EXP-1", 3)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    let stored = store.artefact("EXP-1").unwrap().unwrap();
    let new = artefact("EXP-1", 1);
    assert_eq!(
        (stored.produced_by.as_str(), stored.produced_at, stored.recipient_key.as_str(), stored.sha256.as_str()),
        ("ads", new.produced_at, "age1recipient", new.sha256.as_str())
    );
    assert_eq!((stored.bytes, stored.audit_index, stored.download), (new.ciphertext.len() as u64, 11, None));
    let listed: Vec<String> = store.artefacts().unwrap().into_iter().map(|a| a.export).collect();
    assert_eq!(listed, ["EXP-2", "EXP-1"], "newest first");

    // Once: the bytes go to the first claim, and leave the store with it.
    let bytes = store.claim_artefact("EXP-1", &download("ads", 20)).unwrap();
    assert_eq!(bytes.as_deref(), Some(new.ciphertext.as_slice()));
    assert_eq!(store.claim_artefact("EXP-1", &download("ads", 21)).unwrap(), None, "a second download");
    let taken = store.artefact("EXP-1").unwrap().unwrap();
    assert_eq!(taken.download, Some(download("ads", 20)), "the first download is the one kept");
    assert_eq!((taken.sha256, taken.bytes), (new.sha256, new.ciphertext.len() as u64), "digest and size stay");
    // A download without an exception (over the network) is kept as such.
    let network = Download { medium: "network".into(), exception: None, ..download("ads", 30) };
    assert!(store.claim_artefact("EXP-2", &network).unwrap().is_some());
    assert_eq!(store.artefact("EXP-2").unwrap().unwrap().download, Some(network));
}

/// Several threads claim one artefact at once: exactly one receives the bytes.
pub fn run_concurrent_claims<S: ArtefactStore + Sync>(store: &S) {
    store.add_artefact(&artefact("EXP-RACE", 40)).unwrap();
    let won: Vec<bool> = std::thread::scope(|s| {
        let claims: Vec<_> = (0..6)
            .map(|n| s.spawn(move || store.claim_artefact("EXP-RACE", &download(&format!("p{n}"), 50 + n))))
            .collect();
        claims.into_iter().map(|c| c.join().unwrap().unwrap().is_some()).collect()
    });
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "exactly one download wins: {won:?}");
    let winner = won.iter().position(|w| *w).unwrap();
    let kept = store.artefact("EXP-RACE").unwrap().unwrap().download.unwrap();
    assert_eq!(kept.by, format!("p{winner}"), "the download kept is the winner's");
}

fn exception(id: &str, person: &str, granted: i64) -> NewMediaException {
    NewMediaException {
        id: id.into(),
        person: person.into(),
        medium: "usb".into(),
        reason: "auditor's evidence copy".into(),
        approved_by: "chief".into(),
        valid_from: Date::new(2026, 9, 1).unwrap(),
        valid_until: Date::new(2026, 9, 30).unwrap(),
        granted_at: at(granted),
        audit_index: 200 + granted as u64,
    }
}

fn run_media_exceptions<S: MediaExceptionStore>(store: &S) {
    assert_eq!(store.media_exception("MX-1").unwrap(), None);
    assert!(store.media_exceptions().unwrap().is_empty());
    store.add_media_exception(&exception("MX-1", "alice", 1)).unwrap();
    store.add_media_exception(&exception("MX-2", "bob", 2)).unwrap();
    let err = store.add_media_exception(&exception("MX-1", "carol", 3)).unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let stored = store.media_exception("MX-1").unwrap().unwrap();
    assert_eq!((stored.exception, stored.revoked), (exception("MX-1", "alice", 1), None));
    let listed: Vec<String> = store.media_exceptions().unwrap().into_iter().map(|e| e.exception.id).collect();
    assert_eq!(listed, ["MX-2", "MX-1"], "newest first");

    let first = Revocation { by: "chief".into(), at: at(10), audit_index: 300 };
    assert!(store.revoke_media_exception("MX-1", &first).unwrap());
    let again = Revocation { by: "other".into(), at: at(11), audit_index: 301 };
    assert!(!store.revoke_media_exception("MX-1", &again).unwrap(), "revoked once");
    assert!(!store.revoke_media_exception("MX-9", &again).unwrap(), "no such exception");
    assert_eq!(store.media_exception("MX-1").unwrap().unwrap().revoked, Some(first));
    assert_eq!(store.media_exception("MX-2").unwrap().unwrap().revoked, None, "revoking one revokes no other");
}
