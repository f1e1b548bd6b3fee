//! The gateway's promises, checked on random request sequences against a real store, ledger
//! and keys:
//! - every returned value has a durable, matching allow entry in the ledger, appended before
//!   the subscriber's key was unwrapped;
//! - every denial is in the ledger (a deny entry naming the subscriber and the category);
//! - no denied value is ever returned, and no plaintext ever reaches the ledger;
//! - consent changes and contract changes between requests take effect on the next one.

mod support;

use proptest::prelude::*;
use support::{Event, SUBSCRIBERS, call, deploy, plaintext};
use tokutei_app::consent::NewChoice;
use tokutei_app::{AccessOutcome, Acting, PurposeId, SubscriberId};
use tokutei_ledger::{Action, Decision, Event as LedgerEvent};
use tokutei_store::consent::Choice;
use tokutei_store::ledger::LedgerStore;
use tokutei_store::vault::ContractState;

#[derive(Debug, Clone)]
enum Step {
    Access { principal: usize, purpose: usize, subscribers: Vec<usize>, categories: Vec<usize>, export: bool },
    Consent { subscriber: usize, purpose: usize, opt_in: bool },
    Contract { subscriber: usize, state: usize },
}

const PRINCIPALS: [&str; 4] = ["all", "support", "ads", "untrained"];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..4usize, 0..11usize, proptest::collection::vec(0..4usize, 1..3), proptest::collection::vec(0..16usize, 0..4), any::<bool>())
            .prop_map(|(principal, purpose, subscribers, categories, export)| Step::Access { principal, purpose, subscribers, categories, export }),
        2 => (0..3usize, 0..10usize, any::<bool>()).prop_map(|(subscriber, purpose, opt_in)| Step::Consent { subscriber, purpose, opt_in }),
        1 => (0..3usize, 0..3usize).prop_map(|(subscriber, state)| Step::Contract { subscriber, state }),
    ]
}

/// Check one outcome against the ledger and the event log (events since `from`).
fn check_outcome(d: &support::Deployed, outcome: &AccessOutcome, events: &[Event], action: Action) {
    for s in &outcome.subscribers {
        for item in &s.items {
            let entry = d.ledger.ledger_entry(item.audit_index).unwrap().unwrap_or_else(|| {
                panic!("decision on {}/{} has no ledger entry {}", s.id, item.category, item.audit_index)
            });
            let entry = entry.decode().unwrap();
            let LedgerEvent::Access(event) = &entry.event else {
                panic!("entry {} is not an access", item.audit_index)
            };
            if event.subscribers.len() == 1 {
                assert_eq!(event.subscribers, vec![s.id.clone()]);
            } else {
                // A request refused whole is one deny entry naming every subscriber.
                assert!(event.subscribers.contains(&s.id), "the entry names {}", s.id);
                assert_eq!(event.subscribers.len(), outcome.subscribers.len());
                assert_eq!(event.decision, Decision::Deny);
                let whole = ["purpose_not_in_policy", "principal_disabled", "no_active_policy"];
                assert!(event.reasons.iter().all(|r| whole.contains(&r.as_str())), "{:?}", event.reasons);
            }
            assert!(event.categories.contains(&item.category), "entry names the category");
            assert_eq!(event.action, action);
            let expected = if item.allowed { Decision::Allow } else { Decision::Deny };
            assert_eq!(event.decision, expected, "the ledger records the decision returned");
            if item.allowed {
                assert!(item.reasons.is_empty(), "an allowed item carries reasons {:?}", item.reasons);
            } else {
                assert!(item.values.is_empty(), "a denied item returned values");
                assert!(!item.reasons.is_empty(), "a denial has reasons");
                for r in &item.reasons {
                    assert!(event.reasons.contains(&r.code), "reason {} is in the ledger", r.code);
                }
            }
            for v in &item.values {
                let full = plaintext(&s.id, &item.category);
                if v.masked {
                    assert_eq!(v.value.chars().count(), full.chars().count());
                    assert!(full.ends_with(v.value.trim_start_matches('*')), "a mask only hides");
                } else if v.encoding == "text" {
                    assert_eq!(v.value, full);
                }
            }
            if !item.values.is_empty() {
                // The allow entry was durable before the key was unwrapped.
                let appended = events
                    .iter()
                    .position(|e| matches!(e, Event::Appended(ix) if ix.contains(&item.audit_index)))
                    .expect("the allow entry was appended in this call");
                let unwrapped = events
                    .iter()
                    .position(|e| *e == Event::Unwrapped(s.id.clone()))
                    .expect("values were opened with the subscriber's key");
                assert!(appended < unwrapped, "audit first: append at {appended}, unwrap at {unwrapped}");
            }
        }
        let any_allowed = s.items.iter().any(|i| i.allowed);
        if !any_allowed {
            assert!(
                !events.contains(&Event::Unwrapped(s.id.clone())),
                "a subscriber with nothing allowed had its key unwrapped"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn audit_first_and_no_denied_value(steps in proptest::collection::vec(step(), 1..24)) {
        let d = deploy();
        let purposes: Vec<String> = d.policy.purposes.list.iter().map(|p| p.id.clone()).chain(["not_a_purpose".to_string()]).collect();
        let categories: Vec<String> = d.policy.categories.iter().map(|c| c.id.clone()).collect();
        let mut subscriber_ids: Vec<&str> = SUBSCRIBERS.to_vec();
        subscriber_ids.push("S-missing");
        let mut clock = 3600;
        for step in steps {
            clock += 1;
            match step {
                Step::Access { principal, purpose, subscribers, categories: cats, export } => {
                    let mut subs: Vec<&str> = subscribers.iter().map(|&i| subscriber_ids[i]).collect();
                    subs.sort_unstable();
                    subs.dedup();
                    let mut cats: Vec<&str> = cats.iter().map(|&i| categories[i % categories.len()].as_str()).collect();
                    cats.sort_unstable();
                    cats.dedup();
                    let mut c = call(PRINCIPALS[principal], &purposes[purpose], &subs, &cats);
                    c.now = support::at(clock);
                    if export {
                        c.action = Action::Export;
                    }
                    let before = d.log.lock().unwrap().len();
                    match d.service.read(&c) {
                        Ok(outcome) => {
                            let events = d.log.lock().unwrap()[before..].to_vec();
                            check_outcome(&d, &outcome, &events, c.action);
                        }
                        // Only a purpose without categories and no category named is refused whole.
                        Err(tokutei_app::ActionError::BadRequest(_)) => prop_assert!(cats.is_empty()),
                        Err(e) => panic!("unexpected error: {e}"),
                    }
                }
                Step::Consent { subscriber, purpose, opt_in } => {
                    let consent = NewChoice {
                        subscriber: SubscriberId::parse(SUBSCRIBERS[subscriber]).unwrap(),
                        purpose: PurposeId::parse(purposes[purpose].as_str()).unwrap(),
                        choice: if opt_in { Choice::OptedIn } else { Choice::OptedOut },
                        channel: "web".into(),
                        notice_version: Some(1),
                        evidence: None,
                    };
                    // Purposes without a choice are refused; that is fine here.
                    let _ = d.service.record_consent(&Acting::Person("member-site".into()), &consent, support::at(clock));
                }
                Step::Contract { subscriber, state } => {
                    let state = ContractState::ALL[state];
                    let subscriber = SubscriberId::parse(SUBSCRIBERS[subscriber]).unwrap();
                    let on = Some(support::date(2026, 5, 2));
                    d.service.change_contract(&Acting::Person("crm".into()), &subscriber, state, on, support::at(clock)).unwrap();
                }
            }
        }
        // A known mix at the end, so no run passes without both an allowed value and a denial.
        let before = d.log.lock().unwrap().len();
        let mut last = call("all", "support", &["S-active", "S-missing"], &["contract.name"]);
        last.now = support::at(clock + 1);
        let outcome = d.service.read(&last).unwrap();
        let events = d.log.lock().unwrap()[before..].to_vec();
        check_outcome(&d, &outcome, &events, Action::Read);
        prop_assert_eq!(outcome.subscribers[0].items[0].values.len(), 1);
        prop_assert!(!outcome.subscribers[1].items[0].allowed);
        // No plaintext anywhere in the ledger.
        let mut bodies = Vec::new();
        d.ledger.scan_entries(0, &mut |e| { bodies.push(e.encoded); Ok(true) }).unwrap();
        for body in &bodies {
            for s in SUBSCRIBERS {
                for c in &categories {
                    let p = plaintext(s, c);
                    prop_assert!(!body.windows(p.len()).any(|w| w == p.as_bytes()), "plaintext in the ledger");
                }
            }
        }
    }
}
