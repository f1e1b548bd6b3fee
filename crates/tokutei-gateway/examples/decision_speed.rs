//! Decision latency of the three engines on the corpus policy, measured in one run
//! (`cargo run --release -p tokutei-gateway --example decision_speed`).
//!
//! A realistic stream: a handful of principals reading one category of many subscribers
//! under a few purposes, so that the cache sees the repetition real traffic has.

use std::collections::BTreeMap;
use std::time::Instant;

use tokutei_gateway::{
    AccessRequest, Action, Contract, DataRange, Deployment, Gateway, Principal, PrincipalKind, SubscriberFacts,
    TrainingRecord,
};
use tokutei_policy::Role;

const POLICY: &str = include_str!("../tests/corpus/policy.toml");

fn p50_p99(mut samples: Vec<u128>) -> (u128, u128) {
    samples.sort_unstable();
    (samples[samples.len() / 2], samples[samples.len() * 99 / 100])
}

fn main() {
    let policy = tokutei_policy::parse(POLICY).expect("fixture policy parses");
    let deployment =
        Deployment { zones_required: true, required_training: vec!["privacy-basics".into()], ..Default::default() };
    let gateway = Gateway::compile(&policy, &deployment, &[]).expect("compiles");
    let principals: Vec<Principal> = (0..8)
        .map(|i| Principal {
            id: format!("staff-{i}"),
            version: 1,
            kind: PrincipalKind::Person {
                role: Role::Handler,
                training: vec![TrainingRecord {
                    course: "privacy-basics".into(),
                    completed: jiff::civil::date(2026, 4, 1),
                    valid_until: jiff::civil::date(2027, 3, 31),
                }],
            },
            data_range: vec![DataRange {
                service: "fiber".into(),
                categories: vec!["contract.phone".into(), "contract.address".into(), "comm.auth_log".into()],
            }],
            purposes: vec!["service_provision".into(), "marketing".into(), "billing".into()],
            zones: vec!["hq-3f".into()],
            actions: tokutei_gateway::default_actions(),
        })
        .collect();
    let subscribers: Vec<SubscriberFacts> = (0..1000)
        .map(|i| SubscriberFacts {
            id: format!("sub-{i}"),
            service: "fiber".into(),
            contract: if i % 10 == 0 {
                Contract::Terminated { on: jiff::civil::date(2026, 1, 1) }
            } else {
                Contract::Active
            },
            consents: BTreeMap::new(),
            use_stopped: false,
            provision_stopped: false,
        })
        .collect();
    let purposes = ["service_provision", "marketing", "billing"];
    let categories = [vec!["contract.phone".to_string()], vec!["contract.address".to_string()]];
    let now = jiff::Timestamp::from_second(1_780_286_400).expect("time");
    let n = 20_000;
    let requests: Vec<AccessRequest<'_>> = (0..n)
        .map(|i| AccessRequest {
            principal: &principals[i % principals.len()],
            action: Action::Read,
            purpose: purposes[i % purposes.len()],
            subscriber: &subscribers[(i * 7) % subscribers.len()],
            categories: &categories[i % 2],
            channel: None,
            zone: Some("hq-3f"),
            zone_secrecy: Some(true),
            export_approval: None,
            now,
        })
        .collect();
    let mut results = Vec::new();
    for (name, engine) in [("plain", 0), ("sliced", 1), ("sliced+cache", 2)] {
        let mut samples = Vec::with_capacity(n);
        let mut allowed = 0usize;
        for req in &requests {
            let start = Instant::now();
            let d = match engine {
                0 => gateway.decide_plain(req),
                1 => gateway.decide_uncached(req),
                _ => gateway.decide(req),
            };
            samples.push(start.elapsed().as_nanos());
            allowed += usize::from(d[0].allowed);
        }
        let (p50, p99) = p50_p99(samples);
        println!(
            "{name:>13}: p50 {:.2} µs, p99 {:.2} µs ({allowed} of {n} allowed)",
            p50 as f64 / 1000.0,
            p99 as f64 / 1000.0
        );
        results.push((p50, allowed));
    }
    let (full, largest) = gateway.policy_counts();
    println!("policies: {full} in the whole set, at most {largest} in a slice; cache {:?}", gateway.cache_stats());
    assert!(results.iter().all(|r| r.1 == results[0].1), "engines disagree");
}
