//! The decision corpus: every directory under `tests/corpus/` is one case (principals,
//! subscribers, request, expected decisions; optionally its own policy, deployment and Cedar
//! policies), run against the library with all three engines.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokutei_gateway::{AccessRequest, Action, Deployment, Gateway, Principal, SubscriberFacts};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseRequest {
    principal: String,
    action: Action,
    purpose: String,
    subscribers: Vec<String>,
    categories: Vec<String>,
    #[serde(default)]
    channel: Option<tokutei_policy::Channel>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    zone_secrecy: Option<bool>,
    #[serde(default)]
    export_approval: Option<String>,
    now: jiff::Timestamp,
}

#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    subscriber: String,
    category: String,
    allowed: bool,
    reasons: Vec<String>,
    policies: Vec<String>,
    mask: Option<String>,
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn gateway_for(case: &Path) -> Gateway {
    let policy_path =
        if case.join("policy.toml").exists() { case.join("policy.toml") } else { corpus().join("policy.toml") };
    let policy = tokutei_policy::parse(&std::fs::read_to_string(&policy_path).expect("policy readable"))
        .unwrap_or_else(|e| panic!("{}: {e}", policy_path.display()));
    let deployment: Deployment = if case.join("deployment.json").exists() {
        read(&case.join("deployment.json"))
    } else {
        read(&corpus().join("deployment.json"))
    };
    let extra = std::fs::read_to_string(case.join("extra.cedar")).ok();
    let extras: Vec<(&str, &str)> = extra.as_deref().map(|t| ("extra.cedar", t)).into_iter().collect();
    Gateway::compile(&policy, &deployment, &extras).unwrap_or_else(|e| panic!("{}: {e}", case.display()))
}

/// Run one case; returns a description of every difference.
fn check(case: &Path) -> Vec<String> {
    let gateway = gateway_for(case);
    let principals: Vec<Principal> = read(&case.join("principals.json"));
    let subscribers: Vec<SubscriberFacts> = read(&case.join("subscribers.json"));
    let request: CaseRequest = read(&case.join("request.json"));
    let expected: Vec<Expected> = read(&case.join("expected.json"));
    let principal = principals.iter().find(|p| p.id == request.principal).expect("principal in principals.json");
    let mut actual = Vec::new();
    for id in &request.subscribers {
        let subscriber = subscribers.iter().find(|s| &s.id == id).expect("subscriber in subscribers.json");
        let req = AccessRequest {
            principal,
            action: request.action,
            purpose: &request.purpose,
            subscriber,
            categories: &request.categories,
            channel: request.channel,
            zone: request.zone.as_deref(),
            zone_secrecy: request.zone_secrecy,
            export_approval: request.export_approval.as_deref(),
            now: request.now,
        };
        gateway
            .validate_request(&req)
            .unwrap_or_else(|e| panic!("{}: inputs do not match the schema: {e}", case.display()));
        let plain = gateway.decide_plain(&req);
        assert_eq!(plain, gateway.decide_uncached(&req), "{}: sliced differs from plain", case.display());
        // Twice through the cache: the miss and the hit must both agree.
        assert_eq!(plain, gateway.decide(&req), "{}: cached (miss) differs", case.display());
        assert_eq!(plain, gateway.decide(&req), "{}: cached (hit) differs", case.display());
        for d in plain {
            for r in &d.reasons {
                assert!(
                    r.ja.contains(&r.clause) && r.en.contains(&r.clause),
                    "{}: reason does not name its clause",
                    case.display()
                );
            }
            actual.push(Expected {
                subscriber: d.subscriber,
                category: d.category,
                allowed: d.allowed,
                reasons: d.reasons.into_iter().map(|r| r.code).collect(),
                policies: d.policies,
                mask: d.mask,
            });
        }
    }
    if actual == expected {
        vec![]
    } else {
        vec![format!("{}:\n  expected {expected:?}\n  actual   {actual:?}", case.display())]
    }
}

#[test]
fn decision_corpus() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "the corpus lost cases");
    let failures: Vec<String> = cases.iter().flat_map(|c| check(c)).collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// Every forbid rule the compiler generates is exercised by at least one case.
#[test]
fn corpus_covers_every_forbid_rule() {
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(corpus()).expect("corpus") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            let expected: Vec<Expected> = read(&path.join("expected.json"));
            seen.extend(expected.into_iter().flat_map(|e| e.reasons));
        }
    }
    for code in tokutei_gateway::reason::code::ALL {
        if code == tokutei_gateway::reason::code::EVALUATION_ERROR
            || tokutei_gateway::reason::code::SERVICE.contains(&code)
        {
            continue;
        }
        assert!(seen.contains(code), "no corpus case expects `{code}`");
    }
}
