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
//!
//! The thresholds are `[oversight.detectors]` of `deployment.toml` ([`DetectorConfig`]). A
//! principal reading for a purpose it rarely uses is not detected yet. Every finding concerns
//! measure (6), the technical measures (access control and its monitoring).

use jiff::Timestamp;
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
}

impl Default for DetectorRules {
    fn default() -> DetectorRules {
        DetectorRules { denials: 5, denial_minutes: 10, reads_per_hour: 200, hours_from: 8, hours_until: 20 }
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

/// The findings in `entries` (`(ledger index, entry)`, in ledger order), in a stable order.
pub fn detect(entries: &[(u64, Entry)], rules: &DetectorRules) -> Vec<Finding> {
    use std::collections::BTreeMap;
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
            Event::Access(access) if access.action == Action::Read => {
                let hour = entry.time.as_second().div_euclid(3_600);
                *hours.entry((who, hour)).or_default() += 1;
                let local = entry.time.to_zoned(tokyo::zone());
                let h = local.hour() as u8;
                if matches!(entry.actor, tokutei_ledger::Actor::Staff(_))
                    && (h < rules.hours_from || h >= rules.hours_until)
                {
                    let first = off.entry((who, local.date().to_string())).or_insert((0, entry.time));
                    first.0 += 1;
                }
            }
            Event::Access(access) if access.action == Action::Export => out.push(finding(
                "export",
                who,
                index.to_string(),
                format!(
                    "export for purpose `{}` at {} (ledger entry {index})",
                    access.purpose,
                    tokyo::minutes(entry.time)
                ),
            )),
            Event::Access(_) => {}
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
        let mut filed = Vec::new();
        for f in detect(&entries, &self.oversight_rules.detectors) {
            if let Some(view) = self.file_finding(&f, now)? {
                filed.push(view);
            }
        }
        Ok(filed)
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
        let found = detect(&entries, &DetectorRules::default());
        let keys: Vec<&str> = found.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["export/support/7"]);
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
