//! The detectors of the violation reporting line: a pure function over the audit ledger's
//! entries in a window ([`detect`]) raising findings, which [`App::run_detectors`] files as
//! violation reports by the system `violation-detector`, once each (a finding's key is stored
//! with its report; running twice over the same window files nothing new).
//!
//! | detector | fires on | key |
//! |---|---|---|
//! | `denial_burst` | `denials` denied requests by one principal within `denial_minutes` minutes | principal, first denial's time |
//! | `read_volume` | more than `reads_per_hour` allowed reads by one principal in one Tokyo clock hour | principal, hour |
//! | `off_hours` | an allowed read by a person outside `hours_from`–`hours_until` (Tokyo) | principal, Tokyo day |
//! | `export` | every allowed export | ledger index |
//! | `lockout` | every sign-in lockout (`locked_out`) | ledger index |
//! | `rare_purpose` | a person's allowed use for a purpose that made less than `rare_purpose_percent` of their at least `rare_purpose_min_uses` allowed uses in the `baseline_days` before the window | person, purpose, Tokyo day |
//!
//! The thresholds are `[oversight.detectors]` of `deployment.toml` ([`DetectorConfig`]). The
//! rare-purpose baseline is a person's own history (the ledger's indexed staff column): systems
//! run fixed jobs whose purposes their ranges already pin. Every finding concerns measure (6),
//! the technical measures (access control and its monitoring).

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use tokutei_ledger::{Action, AdminAction, Decision, Entry, Event};
use tokutei_policy::tokyo;
use tokutei_store::ledger::LedgerQuery;

use super::violations::{Finding, ViolationView};
use crate::App;
use crate::error::{ActionError, ActionResult};

/// The measure detectors' findings concern: (6) technical measures.
pub const DETECTOR_MEASURE: u8 = 6;

/// `[oversight.detectors]` as written (every key optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    pub denials: Option<u32>,
    pub denial_minutes: Option<u32>,
    pub reads_per_hour: Option<u32>,
    pub hours_from: Option<u8>,
    pub hours_until: Option<u8>,
    pub rare_purpose_percent: Option<u32>,
    pub rare_purpose_min_uses: Option<u32>,
    pub baseline_days: Option<u32>,
}

/// The thresholds in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectorRules {
    /// Denials by one principal that make a burst…
    pub denials: u32,
    /// …within this many minutes.
    pub denial_minutes: u32,
    /// The most allowed reads by one principal in one Tokyo clock hour.
    pub reads_per_hour: u32,
    /// Working hours in Tokyo: a person's read at or after `hours_until` or before
    /// `hours_from` is outside them.
    pub hours_from: u8,
    pub hours_until: u8,
    /// A purpose is rare for a person when it made less than this share (percent) of…
    pub rare_purpose_percent: u32,
    /// …at least this many allowed uses by the person…
    pub rare_purpose_min_uses: u32,
    /// …in this many days before the window.
    pub baseline_days: u32,
}

impl Default for DetectorRules {
    fn default() -> DetectorRules {
        DetectorRules {
            denials: 5,
            denial_minutes: 10,
            reads_per_hour: 200,
            hours_from: 8,
            hours_until: 20,
            rare_purpose_percent: 1,
            rare_purpose_min_uses: 100,
            baseline_days: 30,
        }
    }
}

impl DetectorRules {
    /// The rules of `config` over the defaults, each checked naming its key.
    pub fn from_config(config: &DetectorConfig) -> ActionResult<DetectorRules> {
        let d = DetectorRules::default();
        let check = |field: &'static str, value: Option<u32>, default: u32, min: u32, max: u32| match value {
            None => Ok(default),
            Some(v) if (min..=max).contains(&v) => Ok(v),
            Some(v) => Err(ActionError::invalid(field, format!("is {v}; use {min} to {max}"))),
        };
        let rules = DetectorRules {
            denials: check("oversight.detectors.denials", config.denials, d.denials, 2, 10_000)?,
            denial_minutes: check(
                "oversight.detectors.denial_minutes",
                config.denial_minutes,
                d.denial_minutes,
                1,
                1_440,
            )?,
            reads_per_hour: check(
                "oversight.detectors.reads_per_hour",
                config.reads_per_hour,
                d.reads_per_hour,
                1,
                10_000_000,
            )?,
            hours_from: check(
                "oversight.detectors.hours_from",
                config.hours_from.map(u32::from),
                d.hours_from.into(),
                0,
                23,
            )? as u8,
            hours_until: check(
                "oversight.detectors.hours_until",
                config.hours_until.map(u32::from),
                d.hours_until.into(),
                1,
                24,
            )? as u8,
            rare_purpose_percent: check(
                "oversight.detectors.rare_purpose_percent",
                config.rare_purpose_percent,
                d.rare_purpose_percent,
                1,
                50,
            )?,
            rare_purpose_min_uses: check(
                "oversight.detectors.rare_purpose_min_uses",
                config.rare_purpose_min_uses,
                d.rare_purpose_min_uses,
                1,
                10_000_000,
            )?,
            baseline_days: check("oversight.detectors.baseline_days", config.baseline_days, d.baseline_days, 1, 366)?,
        };
        if rules.hours_from >= rules.hours_until {
            return Err(ActionError::invalid("oversight.detectors.hours_until", "is not after hours_from"));
        }
        Ok(rules)
    }
}

fn finding(detector: &'static str, principal: &str, key: String, text: String) -> Finding {
    Finding {
        detector,
        principal: principal.to_string(),
        measure: DETECTOR_MEASURE,
        text,
        key: format!("{detector}/{principal}/{key}"),
    }
}

/// Each person's allowed uses per purpose before a window: the rare-purpose detector's
/// baseline (person → purpose → uses).
pub type Baseline = BTreeMap<String, BTreeMap<String, u64>>;

/// Whether `purpose` is rare in `uses` (one person's baseline) under `rules`: the person has
/// enough history, and the purpose made less than the share of it.
fn rare(uses: Option<&BTreeMap<String, u64>>, purpose: &str, rules: &DetectorRules) -> bool {
    let Some(uses) = uses else { return false };
    let total: u64 = uses.values().sum();
    let count = uses.get(purpose).copied().unwrap_or(0);
    total >= u64::from(rules.rare_purpose_min_uses) && count * 100 < total * u64::from(rules.rare_purpose_percent)
}

/// The findings in `entries` (`(ledger index, entry)`, in ledger order), against the persons'
/// `baseline` before them, in a stable order.
pub fn detect(entries: &[(u64, Entry)], baseline: &Baseline, rules: &DetectorRules) -> Vec<Finding> {
    let mut rare_uses: BTreeMap<(&str, &str, String), (u32, Timestamp)> = BTreeMap::new();
    let mut denials: BTreeMap<&str, Vec<Timestamp>> = BTreeMap::new();
    let mut hours: BTreeMap<(&str, i64), u32> = BTreeMap::new();
    let mut off: BTreeMap<(&str, String), (u32, Timestamp)> = BTreeMap::new();
    let mut out = Vec::new();
    for (index, entry) in entries {
        let who = entry.actor.id();
        match &entry.event {
            Event::Access(access) if access.decision == Decision::Deny => {
                denials.entry(who).or_default().push(entry.time)
            }
            Event::Access(access) => {
                let person = matches!(entry.actor, tokutei_ledger::Actor::Staff(_));
                let local = entry.time.to_zoned(tokyo::zone());
                if person && rare(baseline.get(who), &access.purpose, rules) {
                    let key = (who, access.purpose.as_str(), local.date().to_string());
                    rare_uses.entry(key).or_insert((0, entry.time)).0 += 1;
                }
                match access.action {
                    Action::Read => {
                        let hour = entry.time.as_second().div_euclid(3_600);
                        *hours.entry((who, hour)).or_default() += 1;
                        let h = local.hour() as u8;
                        if person && (h < rules.hours_from || h >= rules.hours_until) {
                            off.entry((who, local.date().to_string())).or_insert((0, entry.time)).0 += 1;
                        }
                    }
                    Action::Export => out.push(finding(
                        "export",
                        who,
                        index.to_string(),
                        format!(
                            "export for purpose `{}` at {} (ledger entry {index})",
                            access.purpose,
                            tokyo::minutes(entry.time)
                        ),
                    )),
                    Action::Update | Action::Erase => {}
                }
            }
            Event::Admin(admin) if admin.action == AdminAction::LockedOut => {
                let target = admin.subject.strip_prefix("staff/").unwrap_or(&admin.subject);
                out.push(finding(
                    "lockout",
                    target,
                    index.to_string(),
                    format!("sign-in locked out at {} (ledger entry {index})", tokyo::minutes(entry.time)),
                ));
            }
            Event::Admin(_) => {}
        }
    }
    let window = jiff::SignedDuration::from_mins(i64::from(rules.denial_minutes));
    let n = rules.denials as usize;
    for (who, times) in &denials {
        let mut i = 0;
        while i + n <= times.len() {
            let j = i + n - 1;
            if times[j].duration_since(times[i]) <= window {
                let mut end = j;
                while end + 1 < times.len() && times[end + 1].duration_since(times[i]) <= window {
                    end += 1;
                }
                out.push(finding(
                    "denial_burst",
                    who,
                    times[i].as_microsecond().to_string(),
                    format!(
                        "{} denials within {} minutes from {}",
                        end - i + 1,
                        rules.denial_minutes,
                        tokyo::minutes(times[i])
                    ),
                ));
                i = end + 1;
            } else {
                i += 1;
            }
        }
    }
    for ((who, hour), count) in &hours {
        if *count > rules.reads_per_hour {
            let start = Timestamp::from_second(hour * 3_600).unwrap_or(Timestamp::UNIX_EPOCH);
            out.push(finding(
                "read_volume",
                who,
                hour.to_string(),
                format!("{count} reads in the hour from {} (limit {})", tokyo::minutes(start), rules.reads_per_hour),
            ));
        }
    }
    for ((who, day), (count, first)) in &off {
        out.push(finding(
            "off_hours",
            who,
            day.clone(),
            format!(
                "{count} reads outside {:02}:00–{:02}:00 on {day}, the first at {}",
                rules.hours_from,
                rules.hours_until,
                tokyo::minutes(*first)
            ),
        ));
    }
    for ((who, purpose, day), (count, first)) in &rare_uses {
        out.push(finding(
            "rare_purpose",
            who,
            format!("{purpose}/{day}"),
            format!(
                "{count} uses for purpose `{purpose}` on {day}, the first at {}: less than {}% of the person's uses in the {} days before",
                tokyo::minutes(*first),
                rules.rare_purpose_percent,
                rules.baseline_days
            ),
        ));
    }
    out
}

impl App {
    /// Run the detectors over the ledger's entries in `[since, until)` and file each new
    /// finding as a violation report (as `violation-detector`); the reports filed, none for a
    /// finding filed before.
    pub fn run_detectors(
        &self,
        since: Timestamp,
        until: Timestamp,
        now: Timestamp,
    ) -> ActionResult<Vec<ViolationView>> {
        if since >= until {
            return Err(ActionError::invalid("since", format!("{since} is not before until ({until})")));
        }
        let mut entries = Vec::new();
        let query = LedgerQuery { since: Some(since), until: Some(until), ..LedgerQuery::default() };
        self.ledger().query_entries(&query, &mut |stored| {
            let index = stored.index;
            entries.push((index, stored.decode()?));
            Ok(true)
        })?;
        let rules = &self.oversight_rules.detectors;
        let baseline = self.baseline(&entries, since, rules)?;
        let mut filed = Vec::new();
        for f in detect(&entries, &baseline, rules) {
            if let Some(view) = self.file_finding(&f, now)? {
                filed.push(view);
            }
        }
        Ok(filed)
    }
}

/// How far back a scheduled run looks: two hours, so every complete Tokyo clock hour is seen
/// whole by a run made within the hour after it, or the denial window and an hour when that
/// is longer. Findings are filed once, so overlapping runs file nothing twice.
pub fn scheduled_lookback(rules: &DetectorRules) -> SignedDuration {
    SignedDuration::from_mins(i64::from(rules.denial_minutes).max(60) + 60)
}

impl App {
    /// The detectors over the [`scheduled_lookback`] before `now`, as `serve` runs them on
    /// a schedule.
    pub fn run_detectors_recent(&self, now: Timestamp) -> ActionResult<Vec<ViolationView>> {
        self.run_detectors(now - scheduled_lookback(&self.oversight_rules.detectors), now, now)
    }

    /// The allowed uses per purpose, in the `baseline_days` before `since`, of every person
    /// with an allowed use in `entries` (through the ledger's indexed staff column).
    fn baseline(&self, entries: &[(u64, Entry)], since: Timestamp, rules: &DetectorRules) -> ActionResult<Baseline> {
        let mut baseline = Baseline::new();
        let persons: std::collections::BTreeSet<&str> = entries
            .iter()
            .filter_map(|(_, e)| match &e.event {
                Event::Access(a) if a.decision == Decision::Allow => e.staff(),
                _ => None,
            })
            .collect();
        let from = since - SignedDuration::from_hours(24 * i64::from(rules.baseline_days));
        for person in persons {
            let uses = baseline.entry(person.to_string()).or_default();
            let query = LedgerQuery {
                staff: Some(person.to_string()),
                decision: Some(Decision::Allow),
                since: Some(from),
                until: Some(since),
                ..LedgerQuery::default()
            };
            self.ledger().query_entries(&query, &mut |stored| {
                if let Some(purpose) = stored.decode()?.purpose() {
                    *uses.entry(purpose.to_string()).or_default() += 1;
                }
                Ok(true)
            })?;
        }
        Ok(baseline)
    }
}

#[cfg(test)]
mod tests {
    use tokutei_ledger::{AccessEvent, Actor, RequestMeta};

    use super::*;

    fn access(second: i64, action: Action, decision: Decision) -> Entry {
        Entry {
            time: Timestamp::from_second(1_780_272_000 + second).unwrap(),
            actor: Actor::Staff("support".into()),
            event: Event::Access(AccessEvent {
                action,
                purpose: "support".into(),
                subscribers: vec!["S-1".into()],
                categories: vec!["contract.name".into()],
                decision,
                reasons: Vec::new(),
                rules: Vec::new(),
                policy_digest: [0; 32],
                request: RequestMeta { channel: "cli".into(), zone: "hq".into(), client: "test".into() },
            }),
        }
    }

    /// An allowed export is a finding keyed by its ledger entry; a denied one is a denial.
    #[test]
    fn every_allowed_export_is_a_finding() {
        let entries = vec![
            (7, access(60, Action::Export, Decision::Allow)),
            (8, access(120, Action::Export, Decision::Deny)),
            (9, access(180, Action::Read, Decision::Allow)),
        ];
        let found = detect(&entries, &Baseline::new(), &DetectorRules::default());
        let keys: Vec<&str> = found.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["export/support/7"]);
    }

    /// A purpose is rare for a person with enough history in which it made less than the
    /// share; a person without enough history has no rare purpose.
    #[test]
    fn rare_purposes_at_their_edges() {
        let rules = DetectorRules { rare_purpose_percent: 5, rare_purpose_min_uses: 100, ..Default::default() };
        let check = |support: u64, billing: u64, purpose: &str, expected: bool| {
            let uses = BTreeMap::from([("support".to_string(), support), ("billing".to_string(), billing)]);
            assert_eq!(rare(Some(&uses), purpose, &rules), expected, "{support}/{billing} {purpose}");
        };
        check(95, 5, "billing", false); // exactly 5% of 100 is not less than 5%
        check(96, 4, "billing", true);
        check(95, 4, "billing", false); // 99 uses: not enough history
        check(96, 4, "marketing", true); // never used, with enough history
        check(100, 0, "marketing", true); // never used before
        check(100, 0, "support", false);
        assert!(!rare(None, "billing", &rules));
    }

    #[test]
    fn the_thresholds_are_checked_naming_their_key() {
        let bad = DetectorConfig { hours_from: Some(20), hours_until: Some(8), ..Default::default() };
        assert!(matches!(
            DetectorRules::from_config(&bad),
            Err(ActionError::Invalid { field: "oversight.detectors.hours_until", .. })
        ));
        let bad = DetectorConfig { denials: Some(1), ..Default::default() };
        assert!(matches!(
            DetectorRules::from_config(&bad),
            Err(ActionError::Invalid { field: "oversight.detectors.denials", .. })
        ));
    }
}
