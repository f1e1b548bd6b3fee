//! The three engines agree: the cached engine never returns a decision the uncached engines
//! would not (no stale allow after a principal, consent, contract or day change), and the
//! sliced policy sets decide exactly like the whole set.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tokutei_gateway::{
    AccessRequest, Action, Consent, ConsentChoice, Contract, DataRange, Deployment, Gateway, Principal, PrincipalKind,
    SubscriberFacts, TrainingRecord,
};
use tokutei_policy::{Channel, Role};

const POLICY: &str = include_str!("corpus/policy.toml");
const PURPOSES: [&str; 5] = ["service_provision", "marketing", "advertising", "billing", "profiling"];
const CATEGORIES: [&str; 4] = ["contract.phone", "contract.address", "comm.auth_log", "contract.unknown"];
const ZONES: [&str; 2] = ["hq-3f", "lobby"];

fn gateway(extra: &[(&str, &str)]) -> Gateway {
    let policy = tokutei_policy::parse(POLICY).expect("fixture policy parses");
    let deployment =
        Deployment { zones_required: true, required_training: vec!["privacy-basics".into()], ..Default::default() };
    Gateway::compile(&policy, &deployment, extra).expect("fixture compiles")
}

fn date(days: i64) -> jiff::civil::Date {
    jiff::civil::date(2026, 6, 1).checked_add(jiff::Span::new().days(days)).expect("date in range")
}

fn principal(id: usize) -> Principal {
    Principal {
        id: format!("p{id}"),
        version: 0,
        kind: if id == 2 {
            PrincipalKind::System { name: "billing".into() }
        } else {
            PrincipalKind::Person {
                role: Role::Handler,
                training: vec![TrainingRecord {
                    course: "privacy-basics".into(),
                    completed: date(-30),
                    valid_until: date(2),
                }],
            }
        },
        data_range: vec![DataRange {
            service: "fiber".into(),
            categories: vec!["contract.phone".into(), "contract.address".into(), "comm.auth_log".into()],
        }],
        purposes: PURPOSES[..4].iter().map(|s| s.to_string()).collect(),
        zones: vec!["hq-3f".into()],
        actions: tokutei_gateway::default_actions(),
    }
}

fn subscriber(id: usize) -> SubscriberFacts {
    SubscriberFacts {
        id: format!("s{id}"),
        service: if id == 2 { "mobile".into() } else { "fiber".into() },
        contract: Contract::Active,
        consents: BTreeMap::new(),
        use_stopped: false,
        provision_stopped: false,
    }
}

#[derive(Debug, Clone)]
enum PrincipalChange {
    Training(i64),
    DropCategory(usize),
    AddCategory(usize),
    DropPurpose(usize),
    AddPurpose(usize),
    Zones(bool),
}

#[derive(Debug, Clone)]
enum Op {
    Request {
        principal: usize,
        subscriber: usize,
        action: usize,
        purpose: usize,
        categories: Vec<usize>,
        channel: Option<usize>,
        zone: Option<usize>,
        approval: bool,
        day: i64,
    },
    /// Change a principal; the registry bumps its version (or, when `bump` is false, calls
    /// `invalidate_principal` instead).
    ChangePrincipal {
        principal: usize,
        change: PrincipalChange,
        bump: bool,
    },
    Consent {
        subscriber: usize,
        purpose: usize,
        choice: Option<bool>,
    },
    Contract {
        subscriber: usize,
        state: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let change = prop_oneof![
        (-3i64..4).prop_map(PrincipalChange::Training),
        (0usize..3).prop_map(PrincipalChange::DropCategory),
        (0usize..3).prop_map(PrincipalChange::AddCategory),
        (0usize..4).prop_map(PrincipalChange::DropPurpose),
        (0usize..4).prop_map(PrincipalChange::AddPurpose),
        any::<bool>().prop_map(PrincipalChange::Zones),
    ];
    prop_oneof![
        6 => (
            0usize..3,
            0usize..3,
            0usize..4,
            0usize..5,
            proptest::collection::vec(0usize..4, 1..4),
            proptest::option::of(0usize..4),
            proptest::option::of(0usize..2),
            any::<bool>(),
            0i64..5
        )
            .prop_map(|(principal, subscriber, action, purpose, categories, channel, zone, approval, day)| Op::Request {
                principal,
                subscriber,
                action,
                purpose,
                categories,
                channel,
                zone,
                approval,
                day
            }),
        1 => (0usize..3, change, any::<bool>()).prop_map(|(principal, change, bump)| Op::ChangePrincipal { principal, change, bump }),
        2 => (0usize..3, 0usize..4, proptest::option::of(any::<bool>()))
            .prop_map(|(subscriber, purpose, choice)| Op::Consent { subscriber, purpose, choice }),
        1 => (0usize..3, 0usize..3).prop_map(|(subscriber, state)| Op::Contract { subscriber, state }),
    ]
}

fn apply(p: &mut Principal, change: &PrincipalChange) {
    match change {
        PrincipalChange::Training(days) => {
            if let PrincipalKind::Person { training, .. } = &mut p.kind {
                for t in training {
                    t.valid_until = date(*days);
                }
            }
        }
        PrincipalChange::DropCategory(c) => p.data_range[0].categories.retain(|x| x != CATEGORIES[*c]),
        PrincipalChange::AddCategory(c) => p.data_range[0].categories.push(CATEGORIES[*c].to_string()),
        PrincipalChange::DropPurpose(i) => p.purposes.retain(|x| x != PURPOSES[*i]),
        PrincipalChange::AddPurpose(i) => p.purposes.push(PURPOSES[*i].to_string()),
        PrincipalChange::Zones(on) => p.zones = if *on { vec!["hq-3f".into()] } else { vec![] },
    }
}

fn run(gateway: &Gateway, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut principals: Vec<Principal> = (0..3).map(principal).collect();
    let mut subscribers: Vec<SubscriberFacts> = (0..3).map(subscriber).collect();
    let channels = [Channel::Phone, Channel::Email, Channel::Post, Channel::Advertising];
    for op in ops {
        match op {
            Op::Request { principal, subscriber, action, purpose, categories, channel, zone, approval, day } => {
                let categories: Vec<String> = categories.iter().map(|&c| CATEGORIES[c].to_string()).collect();
                let now = jiff::civil::date(2026, 6, 1)
                    .at(12, 0, 0, 0)
                    .checked_add(jiff::Span::new().days(*day))
                    .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo")?))
                    .expect("valid time")
                    .timestamp();
                let req = AccessRequest {
                    principal: &principals[*principal],
                    action: Action::ALL[*action],
                    purpose: PURPOSES[*purpose],
                    subscriber: &subscribers[*subscriber],
                    categories: &categories,
                    channel: channel.map(|c| channels[c]),
                    zone: zone.map(|z| ZONES[z]),
                    zone_secrecy: zone.map(|z| z == 0),
                    export_approval: approval.then_some("exp-1"),
                    now,
                };
                let plain = gateway.decide_plain(&req);
                prop_assert_eq!(&plain, &gateway.decide_uncached(&req), "sliced differs for {:?}", op);
                prop_assert_eq!(&plain, &gateway.decide(&req), "cached differs for {:?}", op);
            }
            Op::ChangePrincipal { principal, change, bump } => {
                let p = &mut principals[*principal];
                apply(p, change);
                if *bump {
                    p.version += 1;
                } else {
                    gateway.invalidate_principal(&p.id);
                }
            }
            Op::Consent { subscriber, purpose, choice } => {
                let s = &mut subscribers[*subscriber];
                match choice {
                    None => {
                        s.consents.remove(PURPOSES[*purpose]);
                    }
                    Some(opt_in) => {
                        let choice = if *opt_in { ConsentChoice::OptedIn } else { ConsentChoice::OptedOut };
                        s.consents.insert(PURPOSES[*purpose].to_string(), Consent { choice, proof: "c".into() });
                    }
                }
            }
            Op::Contract { subscriber, state } => {
                subscribers[*subscriber].contract = match state {
                    0 => Contract::Active,
                    1 => Contract::Suspended,
                    _ => Contract::Terminated { on: date(-1) },
                };
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn cached_engine_equals_uncached(ops in proptest::collection::vec(op(), 1..40)) {
        run(&gateway(&[]), &ops)?;
    }

    #[test]
    fn cached_engine_equals_uncached_with_deployment_policies(ops in proptest::collection::vec(op(), 1..30)) {
        let extra = r#"@id("s1-frozen") forbid (principal, action, resource) when { resource.subscriber == "s1" && resource.contract == "suspended" };"#;
        run(&gateway(&[("extra.cedar", extra)]), &ops)?;
    }
}

/// Consent withdrawal and termination take effect on the very next request, through the cache.
#[test]
fn withdrawal_and_termination_apply_on_the_next_request() {
    let gateway = gateway(&[]);
    let p = principal(0);
    let mut s = subscriber(0);
    let categories = vec!["contract.phone".to_string()];
    let now = jiff::Timestamp::from_second(1_780_286_400).expect("time"); // 2026-06-01
    let ask = |s: &SubscriberFacts| {
        gateway.decide(&AccessRequest {
            principal: &p,
            action: Action::Read,
            purpose: "marketing",
            subscriber: s,
            categories: &categories,
            channel: Some(tokutei_policy::Channel::Phone),
            zone: Some("hq-3f"),
            zone_secrecy: Some(true),
            export_approval: None,
            now,
        })[0]
            .allowed
    };
    assert!(ask(&s));
    assert!(ask(&s), "the cached allow");
    s.consents.insert("marketing".into(), Consent { choice: ConsentChoice::OptedOut, proof: "c-1".into() });
    assert!(!ask(&s), "withdrawal applies at once");
    s.consents.clear();
    assert!(ask(&s));
    s.contract = Contract::Terminated { on: date(-1) };
    assert!(!ask(&s), "termination applies at once");
    assert!(gateway.cache_stats().hits >= 1);
}

/// An invalidation that happens while a decision is being computed wins over the insert.
#[test]
fn invalidation_bumps_the_generation() {
    let gateway = gateway(&[]);
    let before = gateway.cache_stats().generation;
    gateway.invalidate_principal("p0");
    gateway.invalidate_subscriber("s0");
    gateway.invalidate_all();
    assert_eq!(gateway.cache_stats().generation, before + 3);
    assert_eq!(gateway.cache_stats().entries, 0);
}
