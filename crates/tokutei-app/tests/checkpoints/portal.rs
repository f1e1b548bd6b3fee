//! The subscriber's own page on a real deployment: after real gateway reads and refusals of
//! several subscribers, a subscriber's page lists exactly the ledger's uses of their
//! information in the period — no other subscriber's — and each proof checks with RFC 9162
//! code written here, independently of the ledger crate; a link works once, only unaltered
//! and only before it expires; every step is audited naming the subscriber.

use std::sync::Arc;

use base64::Engine;
use sha2::{Digest, Sha256};
use tokutei_app::checkpoints::Checkpoints;
use tokutei_app::{Acting, ActionError, SubscriberId};
use tokutei_ledger::{AdminAction, CheckpointSigner, Decision, Event, Proof};
use tokutei_store::ledger::LedgerStore;

use super::support::{at, call, date, deploy};

/// RFC 9162 §2.1.3.2, from the RFC's text: the root an inclusion path leads to.
fn independent_root(index: u64, size: u64, leaf: [u8; 32], path: &[[u8; 32]]) -> Option<[u8; 32]> {
    let node = |l: &[u8; 32], r: &[u8; 32]| -> [u8; 32] {
        let mut h = Sha256::new();
        h.update([1u8]);
        h.update(l);
        h.update(r);
        h.finalize().into()
    };
    if index >= size {
        return None;
    }
    let (mut fn_, mut sn, mut r) = (index, size - 1, leaf);
    for p in path {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some(r)
}

/// Every access entry of the ledger that names `subscriber`, by a scan of every entry.
fn uses_of(ledger: &dyn LedgerStore, subscriber: &str) -> Vec<u64> {
    let mut out = Vec::new();
    ledger
        .scan_entries(0, &mut |e| {
            if let Event::Access(a) = e.decode()?.event
                && a.subscribers.iter().any(|s| s == subscriber)
            {
                out.push(e.index);
            }
            Ok(true)
        })
        .unwrap();
    out
}

fn token_of(url: &str) -> String {
    url.split_once("/my/enter?t=").expect("a link to /my/enter").1.to_string()
}

#[test]
fn a_subscribers_page_lists_exactly_their_uses_and_each_proof_checks() {
    let d = deploy();
    let app = &d.service;
    // Real reads and refusals of several subscribers, alone and together.
    app.read(&call("support", "support", &["S-active"], &["contract.name"])).unwrap();
    app.read(&call("support", "billing", &["S-active", "S-terminated"], &[])).unwrap();
    app.read(&call("untrained", "support", &["S-active"], &[])).unwrap();
    app.read(&call("support", "support", &["S-suspended"], &[])).unwrap();
    app.read(&call("ads", "support", &["S-terminated"], &[])).unwrap();
    let log =
        Checkpoints::new(Arc::clone(app.ledger()), CheckpointSigner::from_seed("tokutei.local/t", [1; 32]).unwrap());
    log.latest(at(3650)).unwrap();

    let link = app
        .issue_portal_link(&Acting::Person("crm".into()), &SubscriberId::parse("S-active").unwrap(), at(3660))
        .unwrap();
    let opened = app.open_portal(&token_of(&link.url), at(3661)).unwrap();
    let visitor = app.portal_visitor(&opened.cookie, at(3662)).unwrap().expect("the session");
    assert_eq!(visitor.subscriber.as_str(), "S-active");
    let view = app.portal_view(&visitor, date(2026, 6, 1), date(2026, 6, 1), at(3663)).unwrap();

    let mut listed: Vec<u64> = view.uses.iter().map(|u| u.index).collect();
    listed.sort_unstable();
    assert_eq!(listed, uses_of(app.ledger().as_ref(), "S-active"), "exactly their uses");
    assert_eq!(listed.len(), 3);
    assert!(view.uses.iter().any(|u| u.decision == Decision::Deny), "refusals are listed too");
    assert!(view.uses.iter().all(|u| u.provable));
    let others: Vec<u64> = uses_of(app.ledger().as_ref(), "S-suspended");
    assert!(others.iter().all(|i| !listed.contains(i)));

    // Each proof checks independently: the entry hashes to its leaf, the path leads to the
    // root of the signed checkpoint it carries.
    for index in &listed {
        let Proof::Inclusion { index: i, tree_size, leaf_hash, entry, hashes, checkpoint, .. } =
            app.portal_proof(&visitor, *index).unwrap()
        else {
            panic!("an inclusion proof");
        };
        assert_eq!(i, *index);
        let bytes = base64::engine::general_purpose::STANDARD.decode(entry.unwrap()).unwrap();
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(&bytes);
        let leaf: [u8; 32] = h.finalize().into();
        assert_eq!(leaf, leaf_hash);
        let signed = log.verifier().verify(&checkpoint.unwrap()).unwrap();
        assert_eq!(signed.size, tree_size);
        assert_eq!(independent_root(*index, tree_size, leaf, &hashes), Some(signed.root), "entry {index}");
    }
    // Another subscriber's entry, an entry beyond the checkpoint: not found.
    assert!(!others.is_empty());
    for index in others.iter().copied().chain([10_000]) {
        assert!(matches!(app.portal_proof(&visitor, index), Err(ActionError::NotFound(_))), "{index}");
    }
    // A period without uses lists none; a period of more than a year is refused naming `since`.
    assert!(app.portal_view(&visitor, date(2026, 5, 1), date(2026, 5, 31), at(3664)).unwrap().uses.is_empty());
    let long = app.portal_view(&visitor, date(2025, 1, 1), date(2026, 6, 1), at(3664)).unwrap_err();
    assert!(long.to_string().starts_with("`since`"), "{long}");

    // Audited, naming the subscriber: the link, the opening, each listing.
    let mut actions = Vec::new();
    app.ledger()
        .scan_entries(0, &mut |e| {
            if let Event::Admin(a) = e.decode()?.event {
                actions.push((a.action, a.subject));
            }
            Ok(true)
        })
        .unwrap();
    for action in [AdminAction::PortalLinkIssued, AdminAction::PortalOpened, AdminAction::PortalViewed] {
        assert!(actions.contains(&(action, "S-active".to_string())), "{action:?}");
    }
}

#[test]
fn a_link_works_once_unaltered_and_before_it_expires() {
    let d = deploy();
    let app = &d.service;
    let by = Acting::Person("crm".into());
    let active = SubscriberId::parse("S-active").unwrap();
    let refused = |r: Result<tokutei_app::portal::OpenedSession, ActionError>| match r {
        Err(ActionError::Forbidden(m)) => m,
        other => panic!("not refused: {other:?}"),
    };

    let link = app.issue_portal_link(&by, &active, at(0)).unwrap();
    let token = token_of(&link.url);
    assert_eq!(link.expires_at, at(15 * 60), "15 minutes by default");
    // Altered: one character changed.
    let mut altered = token.clone().into_bytes();
    altered[0] = if altered[0] == b'A' { b'B' } else { b'A' };
    let altered_refusal = refused(app.open_portal(std::str::from_utf8(&altered).unwrap(), at(1)));
    // Expired: at its end.
    let late = refused(app.open_portal(&token, at(15 * 60)));
    assert_eq!(late, altered_refusal, "one answer for every refusal");
    // Once.
    app.open_portal(&token, at(2)).unwrap();
    assert_eq!(refused(app.open_portal(&token, at(3))), altered_refusal);
    refused(app.open_portal("", at(3)));
    refused(app.open_portal("../../etc", at(3)));

    // An unknown or erased subscriber has no link; an auditor and a handler may issue one.
    let unknown = app.issue_portal_link(&by, &SubscriberId::parse("S-nobody").unwrap(), at(0)).unwrap_err();
    assert!(matches!(unknown, ActionError::NotFound(_)), "{unknown:?}");
    app.issue_portal_link(&Acting::Person("support".into()), &active, at(0)).unwrap();
    // A session ends when closed, and at its end.
    let opened = app.open_portal(&token_of(&app.issue_portal_link(&by, &active, at(10)).unwrap().url), at(11)).unwrap();
    let visitor = app.portal_visitor(&opened.cookie, at(12)).unwrap().unwrap();
    assert!(app.portal_visitor(&opened.cookie, at(11 + 30 * 60)).unwrap().is_none(), "30 minutes by default");
    let before = app.ledger().tree_size().unwrap();
    app.close_portal(&visitor, at(13)).unwrap();
    // Regression: a subscriber's sign-out ended the session without an audit entry.
    let entry = app.ledger().ledger_entry(before).unwrap().expect("an entry for the sign-out").decode().unwrap();
    match entry.event {
        Event::Admin(a) => assert_eq!((a.action, a.subject.as_str()), (AdminAction::LoggedOut, "S-active")),
        other => panic!("{other:?}"),
    }
    assert!(app.portal_visitor(&opened.cookie, at(14)).unwrap().is_none());
    assert!(app.portal_visitor("not-a-session", at(14)).unwrap().is_none());
}

#[test]
fn a_quorum_publishes_a_checkpoint_and_an_outage_leaves_it_published() {
    use tokutei_app::witnessing::{WitnessConfig, WitnessRules, WitnessServerConfig};
    use tokutei_ledger::WitnessSigner;

    let mut d = deploy();
    let witnesses = [
        WitnessSigner::from_seed("w1.example/w", [5; 32]).unwrap(),
        WitnessSigner::from_seed("w2.example/w", [6; 32]).unwrap(),
    ];
    let config = WitnessConfig {
        quorum: Some(2),
        servers: witnesses
            .iter()
            .map(|w| WitnessServerConfig { key: w.verifier().to_string(), url: "http://127.0.0.1:9".into() })
            .collect(),
    };
    d.service = d.service.with_witnesses(WitnessRules::from_config(&config).unwrap());
    let app = &d.service;
    app.read(&call("support", "support", &["S-active"], &["contract.name"])).unwrap();
    let log =
        Checkpoints::new(Arc::clone(app.ledger()), CheckpointSigner::from_seed("tokutei.local/t", [1; 32]).unwrap());
    let signed = log.latest(at(3650)).unwrap();
    assert_eq!(app.published_checkpoint().unwrap(), None, "signed, not yet witnessed");

    let text = signed.note.split("\n\n").next().unwrap().to_string() + "\n";
    let line = |w: &WitnessSigner| w.cosign(&text, 1_800_000_000).trim_end().to_string();
    let stranger = WitnessSigner::from_seed("w2.example/w", [7; 32]).unwrap();
    // One witness and a stranger under a known name: below the quorum, nothing stored.
    assert_eq!(app.record_cosignatures(&signed, &[line(&witnesses[0]), line(&stranger)], at(3651)).unwrap(), None);
    assert_eq!(app.published_checkpoint().unwrap(), None);
    // Both: the cosigned note is stored at the same size and published.
    let stored =
        app.record_cosignatures(&signed, &[line(&witnesses[0]), line(&witnesses[1])], at(3652)).unwrap().unwrap();
    assert_eq!(stored.size, signed.size);
    assert_eq!(log.verifier().verify(&stored.note).unwrap().size, signed.size, "the log's signature stays valid");
    let published = app.published_checkpoint().unwrap().unwrap();
    assert_eq!(published.checkpoint.id, stored.id);
    assert_eq!(
        published.witnesses.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["w1.example/w", "w2.example/w"]
    );

    // The witnesses are down while the ledger grows far beyond the search window: the last
    // witnessed checkpoint stays published, and proofs stay against it.
    for n in 0..300 {
        app.read(&call("support", "support", &["S-active"], &["contract.name"])).unwrap();
        log.latest(at(3700 + n)).unwrap();
    }
    assert_eq!(app.published_checkpoint().unwrap().unwrap().checkpoint.id, stored.id);
}

#[test]
fn a_preference_link_changes_an_opt_out_and_the_next_marketing_read_is_denied() {
    use tokutei_app::PurposeId;
    use tokutei_store::consent::Choice;

    let d = deploy();
    let app = &d.service;
    let marketing = || app.read(&call("all", "marketing", &["S-active"], &["contract.name"])).unwrap();
    let allowed = |outcome: &tokutei_app::AccessOutcome| outcome.subscribers[0].items.iter().all(|i| i.allowed);
    assert!(allowed(&marketing()), "opt-out: used until the subscriber says stop");

    let link = app
        .issue_preference_link(&Acting::Person("member-site".into()), &SubscriberId::parse("S-active").unwrap(), at(10))
        .unwrap();
    assert!(link.url.contains("/preferences/enter?t="), "{}", link.url.len());
    let token = link.url.split_once("?t=").unwrap().1.to_string();
    let opened = app.open_portal(&token, at(11)).unwrap();
    let visitor = app.portal_visitor(&opened.cookie, at(12)).unwrap().unwrap();
    let (choices, _) = app.portal_choices(&visitor, at(12)).unwrap();
    let row = choices.iter().find(|c| c.purpose == "marketing").unwrap();
    assert!(row.allowed && row.choice.is_none());
    // An unknown purpose, or one that offers no choice, is refused naming the field.
    let refused = app.record_own_choice(&visitor, &PurposeId::parse("support").unwrap(), Choice::OptedOut, at(13));
    assert!(refused.unwrap_err().to_string().starts_with("`purpose`"));

    let record =
        app.record_own_choice(&visitor, &PurposeId::parse("marketing").unwrap(), Choice::OptedOut, at(14)).unwrap();
    assert_eq!((record.record.channel.as_str(), record.record.recorded_by.as_str()), ("web", "portal"));
    assert!(record.record.evidence.as_deref().unwrap().starts_with("portal-session:"));
    let denied = marketing();
    assert!(!allowed(&denied), "the very next marketing read is denied");
    assert!(denied.subscribers[0].items.iter().all(|i| i.reasons.iter().any(|r| r.code == "opted_out")), "{denied:?}");
    let (choices, _) = app.portal_choices(&visitor, at(15)).unwrap();
    assert!(!choices.iter().find(|c| c.purpose == "marketing").unwrap().allowed);
    // The link was spent: a second opening changes nothing.
    assert!(app.open_portal(&token, at(16)).is_err());
}
