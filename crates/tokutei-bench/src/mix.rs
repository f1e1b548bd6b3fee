//! The decision row's request mix: the demo policy compiled with zones and required training,
//! 50 members of staff with varied data ranges, purposes and training, 2,000 subscribers with
//! varied services, contracts and consents, and 4,096 requests of three categories each,
//! the same every run.

use jiff::Timestamp;
use tokutei_gateway::{
    AccessRequest, Action, Consent, ConsentChoice, Contract, DataRange, Deployment, Gateway, Principal, PrincipalKind,
    SubscriberFacts, TrainingRecord,
};
use tokutei_policy::{Channel, Policy};

use crate::fixture;

/// A small deterministic generator (the same requests every run).
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

pub struct Mix {
    pub policy: Policy,
    pub gateway: Gateway,
    principals: Vec<Principal>,
    subscribers: Vec<SubscriberFacts>,
    purposes: Vec<String>,
    /// The first channel each purpose lists.
    channels: Vec<Option<Channel>>,
    /// (principal, subscriber, purpose, categories)
    requests: Vec<(usize, usize, usize, Vec<String>)>,
    now: Timestamp,
}

/// What a request varies beyond the timed mix (read from zone `hq`, through the purpose's
/// first listed channel, as callers do: a purpose that lists channels requires one).
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    pub action: Action,
    pub zone: Option<&'static str>,
    /// The channel named (unless `purpose_channel`).
    pub channel: Option<Channel>,
    /// Name the purpose's first listed channel instead of `channel`.
    pub purpose_channel: bool,
    pub export_approval: Option<&'static str>,
}

impl Variant {
    /// The variant the decision row times.
    pub const TIMED: Variant =
        Variant { action: Action::Read, zone: Some("hq"), channel: None, purpose_channel: true, export_approval: None };

    /// Variants for checking a baseline against the gateway: every action, approved or not,
    /// inside, outside and without a zone, with and without a (listed or unlisted) channel.
    pub fn all() -> Vec<Variant> {
        let mut out = Vec::new();
        for action in [Action::Read, Action::Update, Action::Export, Action::Erase] {
            for zone in [Some("hq"), Some("branch"), None] {
                for (channel, purpose_channel) in
                    [(None, false), (None, true), (Some(Channel::Phone), false), (Some(Channel::Advertising), false)]
                {
                    for export_approval in [None, Some("EXP-1")] {
                        out.push(Variant { action, zone, channel, purpose_channel, export_approval });
                    }
                }
            }
        }
        out
    }
}

impl Mix {
    pub fn new() -> anyhow::Result<Mix> {
        let policy = tokutei_policy::parse(fixture::POLICY)?;
        let deployment =
            Deployment { zones_required: true, required_training: vec!["privacy-basics".into()], ..Default::default() };
        let gateway = Gateway::compile(&policy, &deployment, &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
        let all_categories: Vec<String> = policy.categories.iter().map(|c| c.id.clone()).collect();
        let purposes: Vec<String> = policy.purposes.list.iter().map(|p| p.id.clone()).collect();
        let day = |y, m, d| jiff::civil::date(y, m, d);
        let principals: Vec<Principal> = (0..50)
            .map(|i| Principal {
                id: format!("staff-{i}"),
                version: 1,
                kind: if i % 25 == 24 {
                    PrincipalKind::System { name: format!("system-{i}") }
                } else {
                    PrincipalKind::Person {
                        role: tokutei_policy::Role::Handler,
                        training: vec![TrainingRecord {
                            course: "privacy-basics".into(),
                            completed: day(2026, 4, 1),
                            valid_until: if i % 10 == 0 { day(2026, 5, 1) } else { day(2099, 3, 31) },
                        }],
                    }
                },
                data_range: ["fiber", "mobile"]
                    .iter()
                    .map(|s| DataRange { service: (*s).into(), categories: all_categories[..8 + i % 8].to_vec() })
                    .collect(),
                purposes: purposes[..3 + i % 8].to_vec(),
                zones: vec!["hq".into()],
                actions: tokutei_gateway::default_actions(),
            })
            .collect();
        let subscribers: Vec<SubscriberFacts> = (0..2000)
            .map(|i| SubscriberFacts {
                id: fixture::subscriber_id(i),
                service: if i % 3 == 0 { "mobile".into() } else { "fiber".into() },
                contract: match i % 17 {
                    0 => Contract::Terminated { on: day(2026, 1, 1) },
                    1 => Contract::Suspended,
                    _ => Contract::Active,
                },
                consents: [("marketing", i % 5 == 0), ("behavior_ads", i % 2 == 0)]
                    .into_iter()
                    .filter(|_| i % 11 != 0)
                    .map(|(p, yes)| {
                        let choice = if yes { ConsentChoice::OptedIn } else { ConsentChoice::OptedOut };
                        (p.to_string(), Consent { choice, proof: format!("c{i}") })
                    })
                    .collect(),
                use_stopped: false,
                provision_stopped: false,
            })
            .collect();
        let mut rng = Rng(0x5eed);
        let requests = (0..4096)
            .map(|_| {
                let cats = (0..3).map(|_| all_categories[rng.below(all_categories.len())].clone()).collect();
                (rng.below(principals.len()), rng.below(subscribers.len()), rng.below(purposes.len()), cats)
            })
            .collect();
        let channels = policy.purposes.list.iter().map(|p| p.channels.first().copied()).collect();
        Ok(Mix { policy, gateway, principals, subscribers, purposes, channels, requests, now: Timestamp::now() })
    }

    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// The `i`-th request (cycling) in `variant`.
    pub fn request(&self, i: usize, variant: Variant) -> AccessRequest<'_> {
        let (p, s, u, cats) = &self.requests[i % self.requests.len()];
        AccessRequest {
            principal: &self.principals[*p],
            action: variant.action,
            purpose: &self.purposes[*u],
            subscriber: &self.subscribers[*s],
            categories: cats,
            channel: if variant.purpose_channel { self.channels[*u] } else { variant.channel },
            zone: variant.zone,
            zone_secrecy: variant.zone.map(|_| true),
            export_approval: variant.export_approval,
            now: self.now,
        }
    }
}
