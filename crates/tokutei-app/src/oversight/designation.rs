//! The designation (指定, 27条の5) and its three statutory deadlines: from the 告示 date, within
//! `deadline_months` (3 by default) the carrier must file its 情報取扱規程 (27条の6), publish
//! its 情報取扱方針 (27条の8) and appoint and notify its chief manager (27条の10). Each
//! deadline is shown until it is met, and met by its record:
//!
//! - the 規程: the earliest filing of a version of the rules recorded (`rules filed`,
//!   [`super::rules`]), on its filing date;
//! - the 方針: the earliest published policy version that lists every designated service,
//!   on the later of the day it was published (Tokyo) and its effective date — the day the
//!   policy covering the designated services was both public and in force; a version
//!   published or effective after today does not meet it yet;
//! - the chief manager: the earliest appointment whose notification was recorded, on the later
//!   of its first day and the notification's filing date.
//!
//! A designation is corrected by recording it again; the latest is in force and every earlier
//! one is kept.

use jiff::Timestamp;
use serde::Serialize;
use tokutei_ledger::AdminAction;
use tokutei_policy::{Date, Text, tokyo};
use tokutei_store::oversight::{FilingKind, NewDesignation, StoredDesignation};

use super::{OversightRules, days_left, past_date};
use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::ServiceId;

/// The most services one designation names.
pub const MAX_SERVICES: usize = 64;

/// A designation as a person gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignationInput {
    /// The date of the 告示.
    pub notified_on: Date,
    pub services: Vec<ServiceId>,
}

/// Which statutory deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Duty {
    /// File the 情報取扱規程 (27条の6).
    Rules,
    /// Publish the 情報取扱方針 (27条の8).
    Policy,
    /// Appoint and notify the chief manager (27条の10).
    Manager,
}

impl Duty {
    pub const ALL: [Duty; 3] = [Duty::Rules, Duty::Policy, Duty::Manager];

    pub fn code(self) -> &'static str {
        match self {
            Duty::Rules => "rules",
            Duty::Policy => "policy",
            Duty::Manager => "manager",
        }
    }

    pub fn ja(self) -> &'static str {
        match self {
            Duty::Rules => "情報取扱規程の届出（27条の6）",
            Duty::Policy => "情報取扱方針の公表（27条の8）",
            Duty::Manager => "特定利用者情報統括管理者の選任・届出（27条の10）",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Duty::Rules => "Filing of the information handling rules (art. 27-6)",
            Duty::Policy => "Publication of the information handling policy (art. 27-8)",
            Duty::Manager => "Appointment and notification of the chief manager (art. 27-10)",
        }
    }
}

/// One statutory deadline and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub duty: Duty,
    #[serde(serialize_with = "crate::dates::text")]
    pub due: Date,
    /// The day it was met, when it was.
    #[serde(serialize_with = "crate::dates::opt_text")]
    pub met_on: Option<Date>,
    /// What met it (`filing #2 (REF)`, `policy v3`, `appointment CM-1, notified REF`).
    pub met_by: Option<String>,
    /// Calendar days from today to the due date (negative: overdue).
    pub days_left: i64,
}

impl Deadline {
    pub fn met(&self) -> bool {
        self.met_on.is_some()
    }

    /// Met on or before its due date.
    pub fn on_time(&self) -> bool {
        self.met_on.is_some_and(|d| d <= self.due)
    }
}

/// A designated service, with its name in the policy in force (when it is there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesignatedService {
    pub id: String,
    pub name: Option<Text>,
}

/// The designation in force and its deadlines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesignationStatus {
    /// Its number among the designations recorded (a correction is a new one).
    pub number: u32,
    #[serde(serialize_with = "crate::dates::text")]
    pub notified_on: Date,
    pub services: Vec<DesignatedService>,
    pub recorded_by: String,
    #[serde(serialize_with = "ts_text")]
    pub recorded_at: Timestamp,
    pub deadlines: Vec<Deadline>,
}

/// What recording a designation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignationRecorded {
    pub number: u32,
    pub audit_index: u64,
    pub status: DesignationStatus,
}

/// What recording a filing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilingRecorded {
    pub number: u64,
    pub audit_index: u64,
}

fn ts_text<S: serde::Serializer>(at: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_string())
}

pub(crate) const SUBJECT: &str = "designation";

impl App {
    /// The oversight rules in force (`deployment.toml`'s `[oversight]`, or the defaults).
    pub fn oversight_rules(&self) -> OversightRules {
        self.oversight_rules
    }

    /// The same service under the deployment's oversight rules instead of the defaults.
    pub fn with_oversight_rules(mut self, rules: OversightRules) -> App {
        self.oversight_rules = rules;
        self
    }

    /// Record the carrier's designation (or correct it: the latest is in force), by a manager:
    /// the 告示 date (not after today) and the designated services, each a service of the
    /// policy in force, none twice. `designation_recorded` durable before it is stored.
    pub fn record_designation(
        &self,
        by: &Acting,
        input: &DesignationInput,
        now: Timestamp,
    ) -> ActionResult<DesignationRecorded> {
        let actor = self.authorize(by, MANAGERS, "record the designation")?;
        let today = tokyo::date_of(now);
        past_date("notified", input.notified_on, today)?;
        if input.services.is_empty() {
            return Err(ActionError::invalid("service", "name at least one designated service"));
        }
        if input.services.len() > MAX_SERVICES {
            return Err(ActionError::invalid("service", format!("at most {MAX_SERVICES} services")));
        }
        let (_, policy) = self
            .active_policy(now)?
            .ok_or_else(|| ActionError::Conflict("no policy version is in force; publish one first".into()))?;
        let mut services: Vec<String> = Vec::new();
        for service in &input.services {
            if policy.service(service.as_str()).is_none() {
                let known: Vec<&str> = policy.services.iter().map(|s| s.id.as_str()).collect();
                return Err(ActionError::invalid(
                    "service",
                    format!("`{service}` is not a service of the policy in force (its services: {})", known.join(", ")),
                ));
            }
            if services.iter().any(|s| s == service.as_str()) {
                return Err(ActionError::invalid("service", format!("`{service}` is named twice")));
            }
            services.push(service.to_string());
        }
        let statutory = self.oversight_rules.statutory_due(input.notified_on)?;
        let entry = AdminEntry::new(AdminAction::DesignationRecorded, SUBJECT)
            .detail("notified_on", input.notified_on)
            .detail("services", services.join(","))
            .detail("due", statutory);
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        let number = self.stores().add_designation(&NewDesignation {
            notified_on: input.notified_on,
            services,
            recorded_by: actor.id().to_string(),
            recorded_at: now,
            audit_index,
        })?;
        let status = self.designation_status(now)?.ok_or_else(|| ActionError::NotFound("designation".into()))?;
        Ok(DesignationRecorded { number, audit_index, status })
    }

    /// The designation in force and its three deadlines at `now`; `None` before one is
    /// recorded.
    pub fn designation_status(&self, now: Timestamp) -> ActionResult<Option<DesignationStatus>> {
        let Some(current) = self.stores().designations()?.pop() else { return Ok(None) };
        self.status_of(current, now).map(Some)
    }

    /// Every designation recorded, oldest first (the last is in force).
    pub fn designations(&self) -> ActionResult<Vec<StoredDesignation>> {
        Ok(self.stores().designations()?)
    }

    fn status_of(&self, current: StoredDesignation, now: Timestamp) -> ActionResult<DesignationStatus> {
        let today = tokyo::date_of(now);
        let d = &current.designation;
        let due = self.oversight_rules.statutory_due(d.notified_on)?;
        let active = self.active_policy(now)?;
        let services = d
            .services
            .iter()
            .map(|id| DesignatedService {
                id: id.clone(),
                name: active.as_ref().and_then(|(_, p)| p.service(id).map(|s| s.name.clone())),
            })
            .collect();

        let filings = self.stores().oversight_filings()?;
        let rules = filings
            .iter()
            .filter(|f| f.filing.kind == FilingKind::Rules)
            .min_by_key(|f| (f.filing.filed_on, f.number))
            .map(|f| {
                let what = match f.filing.rules_version {
                    Some(v) => format!("filing #{} of rules v{v} ({})", f.number, f.filing.reference),
                    None => format!("filing #{} ({})", f.number, f.filing.reference),
                };
                (f.filing.filed_on, what)
            });

        let mut policy: Option<(Date, String)> = None;
        for version in self.stores().policy_versions()? {
            let Ok(parsed) = tokutei_policy::parse(&version.source) else { continue };
            if !d.services.iter().all(|s| parsed.service(s).is_some()) {
                continue;
            }
            let on = tokyo::date_of(version.published_at).max(version.effective);
            if on <= today && policy.as_ref().is_none_or(|(best, _)| on < *best) {
                policy = Some((on, format!("policy v{}", version.number)));
            }
        }

        let appointments = self.stores().appointments()?;
        let manager = filings
            .iter()
            .filter(|f| f.filing.kind == FilingKind::ManagerNotification)
            .filter_map(|f| {
                let appointment =
                    appointments.iter().find(|a| Some(&a.appointment.id) == f.filing.appointment.as_ref())?;
                let on = appointment.appointment.from.max(f.filing.filed_on);
                (on <= today).then(|| {
                    (on, format!("appointment {}, notified {}", appointment.appointment.id, f.filing.reference))
                })
            })
            .min_by(|a, b| a.0.cmp(&b.0));

        let deadline = |duty: Duty, met: Option<(Date, String)>| Deadline {
            duty,
            due,
            met_on: met.as_ref().map(|m| m.0),
            met_by: met.map(|m| m.1),
            days_left: days_left(today, due),
        };
        Ok(DesignationStatus {
            number: current.number,
            notified_on: d.notified_on,
            services,
            recorded_by: d.recorded_by.clone(),
            recorded_at: d.recorded_at,
            deadlines: vec![
                deadline(Duty::Rules, rules),
                deadline(Duty::Policy, policy),
                deadline(Duty::Manager, manager),
            ],
        })
    }
}
