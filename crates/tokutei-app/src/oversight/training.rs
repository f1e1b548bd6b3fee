//! Training (人的安全管理措置, the policy's measure (4): 従業者に定期的な教育研修を実施します):
//! the course catalogue with each course's validity and the roles that must take it, the
//! roster of every person × required course, and the alerts before and at expiry.
//!
//! The catalogue is deployment configuration (`deployment.toml`'s `[training]`,
//! [`TrainingConfig`]); `init` and `demo` write one course derived from the policy's
//! training promise ([`default_courses`], [`deployment_toml`]), so a new deployment requires
//! it. A course of the older top-level `required_training` list that the catalogue does not
//! name stays required of every person, without a validity of its own. The gateway refuses
//! a person whose required courses are not valid on the day of a use
//! ([`TrainingRules::gateway`]); a completion is recorded with [`App::record_training`] only
//! (`tokutei staff train`), whose last valid day defaults to the course's validity.
//!
//! Alerts go through the outbox with the escalation scan: once when a completion has
//! `alert_days` (30 by default) or fewer days to run, once when it has expired — each once
//! per person, course and last valid day, however often the scan runs.

use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use tokutei_gateway::Deployment;
use tokutei_policy::{Date, MeasureKind, Policy, Role};
use tokutei_store::staff::PrincipalKind;

use crate::App;
use crate::acting::ALL_ROLES;
use crate::alerts::{AlertRequest, Bilingual};
use crate::error::{ActionError, ActionResult};
use crate::ids::PrincipalId;

/// The id of the course `init` and `demo` derive from the policy's training promise.
pub const DEFAULT_COURSE: &str = "privacy-basics";
/// Months a completion of the default course counts ("定期的" — a year is the office's own
/// assumption, configurable).
pub const DEFAULT_VALIDITY_MONTHS: u32 = 12;
/// Days before expiry of the first alert.
pub const DEFAULT_ALERT_DAYS: u32 = 30;

/// One course as written in `deployment.toml` (`[[training.courses]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseConfig {
    pub id: String,
    pub name_ja: String,
    pub name_en: String,
    /// How many months a completion counts.
    pub validity_months: u32,
    /// The roles that must take it; every role when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<Role>>,
}

/// The `[training]` table of `deployment.toml`, as written (every key optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Days before expiry of the first alert (1–366).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_days: Option<u32>,
    #[serde(default)]
    pub courses: Vec<CourseConfig>,
}

/// A required course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Course {
    pub id: String,
    pub name_ja: String,
    pub name_en: String,
    /// `None` for a course of the older `required_training` list (no validity of its own).
    pub validity_months: Option<u32>,
    /// The roles that must take it.
    pub roles: Vec<Role>,
}

impl Course {
    /// Whether a person of `role` must take it.
    pub fn required_of(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// The catalogue in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainingRules {
    pub courses: Vec<Course>,
    pub alert_days: u32,
}

impl Default for TrainingRules {
    fn default() -> TrainingRules {
        TrainingRules { courses: Vec::new(), alert_days: DEFAULT_ALERT_DAYS }
    }
}

impl TrainingRules {
    /// The catalogue of `config`, with the older `required_training` list's other courses
    /// required of everyone. Refused naming the key: an id that is not 1–64 characters without
    /// white space or is given twice, an empty name, a validity outside 1–120 months, an
    /// empty role list, `alert_days` outside 1–366.
    pub fn from_config(config: &TrainingConfig, required_training: &[String]) -> ActionResult<TrainingRules> {
        let alert_days = match config.alert_days {
            None => DEFAULT_ALERT_DAYS,
            Some(d) if (1..=366).contains(&d) => d,
            Some(d) => return Err(ActionError::invalid("training.alert_days", format!("is {d}; use 1 to 366"))),
        };
        let mut courses: Vec<Course> = Vec::new();
        for c in &config.courses {
            crate::limits::id("training.courses.id", &c.id).map_err(|_| {
                ActionError::invalid(
                    "training.courses.id",
                    format!("`{}` is not 1–64 characters without white space", c.id),
                )
            })?;
            if courses.iter().any(|k| k.id == c.id) {
                return Err(ActionError::invalid("training.courses.id", format!("`{}` is given twice", c.id)));
            }
            for (field, name) in [("training.courses.name_ja", &c.name_ja), ("training.courses.name_en", &c.name_en)] {
                if name.trim().is_empty() {
                    return Err(ActionError::invalid(field, format!("course `{}` has no name", c.id)));
                }
            }
            if !(1..=120).contains(&c.validity_months) {
                return Err(ActionError::invalid(
                    "training.courses.validity_months",
                    format!("is {} for `{}`; use 1 to 120", c.validity_months, c.id),
                ));
            }
            let roles = c.roles.clone().unwrap_or_else(|| ALL_ROLES.to_vec());
            if roles.is_empty() {
                return Err(ActionError::invalid("training.courses.roles", format!("course `{}` names no role", c.id)));
            }
            courses.push(Course {
                id: c.id.clone(),
                name_ja: c.name_ja.trim().to_string(),
                name_en: c.name_en.trim().to_string(),
                validity_months: Some(c.validity_months),
                roles,
            });
        }
        for id in required_training {
            if !courses.iter().any(|c| &c.id == id) {
                courses.push(Course {
                    id: id.clone(),
                    name_ja: id.clone(),
                    name_en: id.clone(),
                    validity_months: None,
                    roles: ALL_ROLES.to_vec(),
                });
            }
        }
        Ok(TrainingRules { courses, alert_days })
    }

    /// The gateway's deployment settings for this catalogue.
    pub fn gateway(&self, zones_required: bool) -> Deployment {
        Deployment {
            zones_required,
            required_training: self.courses.iter().map(|c| c.id.clone()).collect(),
            training_roles: self
                .courses
                .iter()
                .filter(|c| ALL_ROLES.iter().any(|r| !c.roles.contains(r)))
                .map(|c| (c.id.clone(), c.roles.clone()))
                .collect(),
        }
    }

    pub fn course(&self, id: &str) -> Option<&Course> {
        self.courses.iter().find(|c| c.id == id)
    }

    /// The last valid day of a completion of `course` on `completed`: `validity_months` later,
    /// the day before the same day number (民法143条). `None` for an unknown course or one
    /// without a validity.
    pub fn valid_until(&self, course: &str, completed: Date) -> Option<Date> {
        let months = self.course(course)?.validity_months?;
        let end = completed.0.checked_add(i64::from(months).months()).ok()?;
        end.checked_sub(1.day()).ok().map(Date)
    }
}

/// The courses derived from `policy`'s training promise: one course, required of every role,
/// for each measure of the kind 人的安全管理措置, named after it (the policy's own words).
pub fn default_courses(policy: &Policy) -> Vec<CourseConfig> {
    policy
        .security
        .measures
        .iter()
        .filter(|m| m.kind == MeasureKind::Human)
        .take(1)
        .map(|m| CourseConfig {
            id: DEFAULT_COURSE.to_string(),
            name_ja: format!("{}（教育研修）", m.title.ja),
            name_en: format!("{} (training)", m.title.en.as_deref().unwrap_or("Human security measures")),
            validity_months: DEFAULT_VALIDITY_MONTHS,
            roles: None,
        })
        .collect()
}

/// The `deployment.toml` that `init` and `demo` write: the `[training]` table of
/// [`default_courses`] of `policy` (the course of the measure's usual title when no policy
/// is given).
pub fn deployment_toml(policy: Option<&Policy>) -> String {
    let mut courses = policy.map(default_courses).unwrap_or_default();
    if courses.is_empty() {
        courses.push(CourseConfig {
            id: DEFAULT_COURSE.to_string(),
            name_ja: "人的安全管理措置（教育研修）".into(),
            name_en: "Human security measures (training)".into(),
            validity_months: DEFAULT_VALIDITY_MONTHS,
            roles: None,
        });
    }
    let table = TrainingConfig { alert_days: Some(DEFAULT_ALERT_DAYS), courses };
    #[derive(Serialize)]
    struct File {
        training: TrainingConfig,
    }
    let body = toml::to_string(&File { training: table }).unwrap_or_default();
    format!(
        "# tokutei deployment settings. The training every person must hold, valid, to handle\n\
         # information (the policy's 人的安全管理措置); `roles` limits a course to some roles.\n\n{body}"
    )
}

/// Where one person stands with one required course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingState {
    Valid,
    /// Valid, with `alert_days` or fewer days to run.
    Expiring,
    Expired,
    Missing,
}

impl TrainingState {
    pub fn code(self) -> &'static str {
        match self {
            TrainingState::Valid => "valid",
            TrainingState::Expiring => "expiring",
            TrainingState::Expired => "expired",
            TrainingState::Missing => "missing",
        }
    }

    pub fn ja(self) -> &'static str {
        match self {
            TrainingState::Valid => "有効",
            TrainingState::Expiring => "期限間近",
            TrainingState::Expired => "期限切れ",
            TrainingState::Missing => "未受講",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            TrainingState::Valid => "valid",
            TrainingState::Expiring => "expiring",
            TrainingState::Expired => "expired",
            TrainingState::Missing => "missing",
        }
    }
}

/// One row of the roster: a person and a course they must take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RosterRow {
    /// `principal/course`.
    pub id: String,
    pub principal: String,
    pub display_name: String,
    pub role: Role,
    pub course: String,
    pub course_ja: String,
    pub course_en: String,
    /// The latest completion's day, if any.
    #[serde(serialize_with = "opt_date")]
    pub completed: Option<Date>,
    /// The last valid day of the completion that counts longest, if any.
    #[serde(serialize_with = "opt_date")]
    pub valid_until: Option<Date>,
    /// Calendar days from today to the last valid day (0: today is the last; negative: expired).
    pub days_left: Option<i64>,
    pub state: TrainingState,
}

fn opt_date<S: serde::Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
    match date {
        Some(d) => serializer.collect_str(d),
        None => serializer.serialize_none(),
    }
}

/// The state of a completion whose last valid day is `days_left` days away.
pub fn state_of(days_left: Option<i64>, alert_days: u32) -> TrainingState {
    match days_left {
        None => TrainingState::Missing,
        Some(d) if d < 0 => TrainingState::Expired,
        // Expiry is the day after the last valid day: `d + 1` days away.
        Some(d) if d < i64::from(alert_days) => TrainingState::Expiring,
        Some(_) => TrainingState::Valid,
    }
}

/// The alerts the roster calls for (see the module's documentation): one per expiring or
/// expired row, the event naming the person, the course, the last valid day and the stage,
/// so each is enqueued once; each with the row's state and days left.
pub fn training_alerts(roster: &[RosterRow], responsible: &[PrincipalId]) -> Vec<(TrainingState, i64, AlertRequest)> {
    let mut out = Vec::new();
    for row in roster {
        let (Some(until), Some(days)) = (row.valid_until, row.days_left) else { continue };
        let (stage, title, text) = match row.state {
            TrainingState::Expiring => (
                "expiring",
                Bilingual {
                    ja: format!("研修の有効期限まで{}日：{}（{}）", days + 1, row.course_ja, row.display_name),
                    en: format!("Training expires in {} days: {} ({})", days + 1, row.course_en, row.principal),
                },
                Bilingual {
                    ja: format!(
                        "{}の「{}」の受講は{until}まで有効です。期限までに再受講を記録してください。",
                        row.display_name, row.course_ja
                    ),
                    en: format!(
                        "{}'s `{}` counts until {until}. Record a new completion before then.",
                        row.principal, row.course_en
                    ),
                },
            ),
            TrainingState::Expired => (
                "expired",
                Bilingual {
                    ja: format!("研修の有効期限切れ：{}（{}）", row.course_ja, row.display_name),
                    en: format!("Training expired: {} ({})", row.course_en, row.principal),
                },
                Bilingual {
                    ja: format!(
                        "{}の「{}」の受講は{until}で期限が切れ、ゲートウェイは利用を拒否します。",
                        row.display_name, row.course_ja
                    ),
                    en: format!(
                        "{}'s `{}` counted until {until}; the gateway refuses their uses until a new completion is recorded.",
                        row.principal, row.course_en
                    ),
                },
            ),
            TrainingState::Valid | TrainingState::Missing => continue,
        };
        let subject = format!("training/{}/{}", row.principal, row.course);
        out.push((
            row.state,
            days,
            AlertRequest {
                kind: "training_expiry".into(),
                event: format!("{subject}/valid-until/{until}/{stage}"),
                subject,
                title,
                text,
                due: Some(until),
                responsible: responsible.to_vec(),
                details: vec![("stage".into(), stage.into()), ("days_left".into(), days.to_string())],
            },
        ));
    }
    out
}

impl App {
    /// The training catalogue in force.
    pub fn training_rules(&self) -> &TrainingRules {
        &self.training_rules
    }

    /// The same service under the deployment's training catalogue.
    pub fn with_training_rules(mut self, rules: TrainingRules) -> App {
        self.training_rules = rules;
        self
    }

    /// The roster at `now`: every enabled person × every course their role must take, by
    /// person id then course id, with the completion that counts longest.
    pub fn training_roster(&self, now: Timestamp) -> ActionResult<Vec<RosterRow>> {
        let today = tokutei_policy::tokyo::date_of(now);
        let mut principals = self.stores().principals()?;
        principals.sort_by(|a, b| a.id.cmp(&b.id));
        let mut out = Vec::new();
        for p in principals.iter().filter(|p| p.disabled_at.is_none()) {
            let PrincipalKind::Person { role } = p.kind else { continue };
            for course in self.training_rules.courses.iter().filter(|c| c.required_of(role)) {
                let done: Vec<_> = p.training.iter().filter(|t| t.course == course.id).collect();
                let best = done.iter().max_by_key(|t| t.valid_until);
                let completed = done.iter().map(|t| t.completed).max();
                let valid_until = best.map(|t| t.valid_until);
                let days_left = valid_until.map(|u| super::days_left(today, u));
                out.push(RosterRow {
                    id: format!("{}/{}", p.id, course.id),
                    principal: p.id.clone(),
                    display_name: p.display_name.clone(),
                    role,
                    course: course.id.clone(),
                    course_ja: course.name_ja.clone(),
                    course_en: course.name_en.clone(),
                    completed,
                    valid_until,
                    days_left,
                    state: state_of(days_left, self.training_rules.alert_days),
                });
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// The training alerts due at `now` ([`training_alerts`] of the roster), for the
    /// escalation scan.
    pub(crate) fn training_alert_requests(
        &self,
        now: Timestamp,
        responsible: &[PrincipalId],
    ) -> ActionResult<Vec<(TrainingState, i64, AlertRequest)>> {
        Ok(training_alerts(&self.training_roster(now)?, responsible))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn the_state_at_the_edges_of_the_alert_window() {
        // days to expiry = days_left + 1 (expiry is the day after the last valid day)
        let cases = [
            (None, TrainingState::Missing),
            (Some(365), TrainingState::Valid),
            (Some(30), TrainingState::Valid),    // 31 days before expiry
            (Some(29), TrainingState::Expiring), // 30 days before expiry
            (Some(0), TrainingState::Expiring),  // 1 day before expiry: the last valid day
            (Some(-1), TrainingState::Expired),  // 0 days: the day of expiry
            (Some(-40), TrainingState::Expired),
        ];
        for (days_left, expected) in cases {
            assert_eq!(state_of(days_left, 30), expected, "days left {days_left:?}");
        }
        assert_eq!(state_of(Some(5), 5), TrainingState::Valid);
        assert_eq!(state_of(Some(4), 5), TrainingState::Expiring);
    }

    #[test]
    fn a_completion_counts_for_the_course_validity() {
        let config = TrainingConfig {
            alert_days: None,
            courses: vec![CourseConfig {
                id: "privacy-basics".into(),
                name_ja: "研修".into(),
                name_en: "course".into(),
                validity_months: 12,
                roles: Some(vec![Role::Handler]),
            }],
        };
        let rules = TrainingRules::from_config(&config, &["legacy".into()]).unwrap();
        assert_eq!(rules.valid_until("privacy-basics", d("2026-04-01")), Some(d("2027-03-31")));
        assert_eq!(rules.valid_until("privacy-basics", d("2028-02-29")), Some(d("2029-02-27")));
        assert_eq!(rules.valid_until("legacy", d("2026-04-01")), None);
        let gateway = rules.gateway(false);
        assert_eq!(gateway.required_training, ["privacy-basics", "legacy"]);
        assert_eq!(gateway.training_roles.get("privacy-basics"), Some(&vec![Role::Handler]));
        assert!(!gateway.training_roles.contains_key("legacy"));
    }

    #[test]
    fn a_bad_catalogue_is_refused_naming_the_key() {
        let course = |id: &str, months: u32| CourseConfig {
            id: id.into(),
            name_ja: "研修".into(),
            name_en: "course".into(),
            validity_months: months,
            roles: None,
        };
        let cases = [
            (TrainingConfig { alert_days: Some(0), courses: vec![] }, "training.alert_days"),
            (TrainingConfig { alert_days: None, courses: vec![course("a b", 12)] }, "training.courses.id"),
            (
                TrainingConfig { alert_days: None, courses: vec![course("a", 12), course("a", 6)] },
                "training.courses.id",
            ),
            (TrainingConfig { alert_days: None, courses: vec![course("a", 0)] }, "training.courses.validity_months"),
            (
                TrainingConfig {
                    alert_days: None,
                    courses: vec![CourseConfig { roles: Some(vec![]), ..course("a", 1) }],
                },
                "training.courses.roles",
            ),
        ];
        for (config, key) in cases {
            let err = TrainingRules::from_config(&config, &[]).unwrap_err();
            assert!(matches!(err, ActionError::Invalid { field, .. } if field == key), "{key}: {err:?}");
        }
    }

    #[test]
    fn the_written_deployment_reads_back_as_the_default_course() {
        #[derive(Deserialize)]
        struct File {
            training: TrainingConfig,
        }
        let file: File = toml::from_str(&deployment_toml(None)).unwrap();
        let rules = TrainingRules::from_config(&file.training, &[]).unwrap();
        assert_eq!(rules.courses.len(), 1);
        assert_eq!(rules.courses[0].id, DEFAULT_COURSE);
        assert_eq!(rules.courses[0].roles, ALL_ROLES);
        assert_eq!(rules.alert_days, 30);
    }
}
