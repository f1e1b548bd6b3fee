//! Oversight of a designated carrier (電気通信事業法27条の5–27条の11): the designation and its
//! three statutory deadlines ([`designation`]), and the chief manager (特定利用者情報統括管理者)
//! register with its notification tasks and the log of the chief manager's opinions
//! ([`manager`]), the versions of the 情報取扱規程 and their filings ([`rules`]). Every change is one function — authorized (the chief manager and the
//! responsible persons), validated naming the field, audited (durable) first, then stored —
//! shared by every front end.
//!
//! The numbers are deployment configuration (`deployment.toml`'s `[oversight]`,
//! [`OversightConfig`]), since the law's details are not all confirmed (legal-requirements
//! §1.3, §1.5, §1.8, §9):
//!
//! | key | default | rule |
//! |---|---|---|
//! | `deadline_months` | 3 | 27条の6 (規程), 27条の8 (方針), 27条の10 (統括管理者): within 3 months of the designation |
//! | `notification_days` | 30 | notifying an appointment "遅滞なく" — 30 days is an assumption, unconfirmed |
//! | `ack_days` | 3 | acknowledging a violation report (the office's own target; no deadline in law) |
//! | `fiscal_year_start_month` | 4 | the business year of the annual assessment (27条の9): April–March |
//! | `response_days` | 30 | the company's answer to an opinion (27条の11 asks it to respect them; no deadline in law — the office's own target) |
//! | `inspection_schedule` | `"monthly"` | the self-inspection report `serve` makes once each month is over ([`inspection`]); `"off"` to run them by hand |
//!
//! Months count as the civil code counts them (民法140条, 143条), in Asia/Tokyo civil dates:
//! the period starts the day after the 告示, so it ends on the day with the 告示's day number
//! `deadline_months` later; on the last day of that month when it has no such day; and on
//! the last day of the month when the 告示 was on the last day of its month (designated
//! 2026-11-15 → due 2027-02-15; 2026-11-29 → 2027-02-28; 2026-11-30 → 2027-02-28;
//! 2026-02-28 → 2026-05-31). See [`period_end`].

pub mod assessment;
pub mod designation;
pub mod detectors;
pub mod inspection;
pub mod manager;
pub mod rules;
pub mod training;
pub mod violations;

use jiff::ToSpan;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokutei_policy::Date;

use crate::error::{ActionError, ActionResult};

/// The most characters of a filing reference or an opinion's subject.
pub const REFERENCE_MAX: usize = 200;
/// The most characters of a qualification evidence, an opinion or a response.
pub const TEXT_MAX: usize = 4_000;

/// The `[oversight]` table of `deployment.toml`, as written (every key optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OversightConfig {
    pub deadline_months: Option<u32>,
    pub notification_days: Option<u32>,
    pub response_days: Option<u32>,
    pub ack_days: Option<u32>,
    /// The first month of the business year (1–12; 4, April, by default).
    pub fiscal_year_start_month: Option<u32>,
    /// `"monthly"` (the default) or `"off"`.
    pub inspection_schedule: Option<String>,
    /// `[oversight.detectors]`.
    pub detectors: Option<detectors::DetectorConfig>,
}

/// The oversight rules in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OversightRules {
    /// Months from the designation to each statutory deadline.
    pub deadline_months: u32,
    /// Days from an appointment's first day to the notification's deadline.
    pub notification_days: u32,
    /// Days from an opinion to the company's response.
    pub response_days: u32,
    /// Days from a violation report's receipt to its acknowledgement due.
    pub ack_days: u32,
    /// The first month of the business year (1–12), for the annual assessment.
    pub fiscal_year_start_month: u32,
    /// The violation detectors' thresholds.
    pub detectors: detectors::DetectorRules,
    /// When `serve` makes the self-inspection reports on its own.
    pub inspection_schedule: inspection::Schedule,
}

impl Default for OversightRules {
    fn default() -> OversightRules {
        OversightRules {
            deadline_months: 3,
            notification_days: 30,
            response_days: 30,
            ack_days: 3,
            fiscal_year_start_month: 4,
            detectors: detectors::DetectorRules::default(),
            inspection_schedule: inspection::Schedule::default(),
        }
    }
}

impl OversightRules {
    /// The rules of `config` over the defaults: each number 1–120 months or 1–366 days.
    pub fn from_config(config: &OversightConfig) -> ActionResult<OversightRules> {
        let d = OversightRules::default();
        let check = |field: &'static str, value: Option<u32>, default: u32, max: u32| match value {
            None => Ok(default),
            Some(v) if (1..=max).contains(&v) => Ok(v),
            Some(v) => Err(ActionError::invalid(field, format!("is {v}; use 1 to {max}"))),
        };
        Ok(OversightRules {
            deadline_months: check("oversight.deadline_months", config.deadline_months, d.deadline_months, 120)?,
            notification_days: check(
                "oversight.notification_days",
                config.notification_days,
                d.notification_days,
                366,
            )?,
            response_days: check("oversight.response_days", config.response_days, d.response_days, 366)?,
            ack_days: check("oversight.ack_days", config.ack_days, d.ack_days, 366)?,
            fiscal_year_start_month: check(
                "oversight.fiscal_year_start_month",
                config.fiscal_year_start_month,
                d.fiscal_year_start_month,
                12,
            )?,
            detectors: detectors::DetectorRules::from_config(&config.detectors.clone().unwrap_or_default())?,
            inspection_schedule: match config.inspection_schedule.as_deref() {
                None => d.inspection_schedule,
                Some(code) => inspection::Schedule::from_code(code).ok_or_else(|| {
                    ActionError::invalid(
                        "oversight.inspection_schedule",
                        format!("is `{code}`; use `monthly` or `off`"),
                    )
                })?,
            },
        })
    }

    /// The statutory deadline of a designation on `designated`.
    pub fn statutory_due(&self, designated: Date) -> ActionResult<Date> {
        period_end(designated, self.deadline_months)
    }

    /// The deadline of the notification of an appointment starting on `from`.
    pub fn notification_due(&self, from: Date) -> ActionResult<Date> {
        days_after(from, self.notification_days)
    }

    /// The deadline of the response to an opinion given on `given`.
    pub fn response_due(&self, given: Date) -> ActionResult<Date> {
        days_after(given, self.response_days)
    }
}

/// The last day of a period of `months` months that starts the day after `start` (民法140条,
/// 143条): the day with `start`'s day number `months` later, the last day of that month when
/// it has none, and the last day of that month when `start` is the last day of its month.
pub fn period_end(start: Date, months: u32) -> ActionResult<Date> {
    let span = i64::from(months).months();
    let too_far = |e: jiff::Error| ActionError::invalid("date", e.to_string());
    let day = start.0;
    if day == day.last_of_month() {
        Ok(Date(day.first_of_month().checked_add(span).map_err(too_far)?.last_of_month()))
    } else {
        // jiff keeps the day number and clamps it to the month's last day.
        Ok(Date(day.checked_add(span).map_err(too_far)?))
    }
}

fn days_after(start: Date, days: u32) -> ActionResult<Date> {
    start.0.checked_add(i64::from(days).days()).map(Date).map_err(|e| ActionError::invalid("date", e.to_string()))
}

/// Calendar days from `today` to `due` (negative: overdue).
pub fn days_left(today: Date, due: Date) -> i64 {
    today.0.until(due.0).map(|s| i64::from(s.get_days())).unwrap_or(0)
}

/// A filing or response reference: trimmed, 1–[`REFERENCE_MAX`] characters on one line.
pub(crate) fn reference(field: &'static str, value: &str) -> ActionResult<String> {
    crate::incidents::text(field, value, REFERENCE_MAX, false)?.ok_or_else(|| ActionError::invalid(field, "is empty"))
}

/// A date a person says something happened on: not after `today` in Tokyo.
pub(crate) fn past_date(field: &'static str, date: Date, today: Date) -> ActionResult<Date> {
    if date > today {
        return Err(ActionError::invalid(field, format!("{date} is after today ({today})")));
    }
    Ok(date)
}

/// SHA-256 of texts, each length-prefixed (what an entry commits to, never the text itself).
pub(crate) fn digest(parts: &[&str]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn three_months_end_as_the_civil_code_counts_them() {
        let cases = [
            ("2026-11-30", "2027-02-28"),
            ("2026-11-29", "2027-02-28"),
            ("2026-11-28", "2027-02-28"),
            ("2026-11-27", "2027-02-27"),
            ("2026-11-15", "2027-02-15"),
            ("2027-11-30", "2028-02-29"),
            ("2026-02-28", "2026-05-31"),
            ("2026-01-31", "2026-04-30"),
            ("2026-01-30", "2026-04-30"),
            ("2026-12-31", "2027-03-31"),
            ("2026-04-30", "2026-07-31"),
            ("2026-10-01", "2027-01-01"),
        ];
        for (designated, due) in cases {
            assert_eq!(period_end(d(designated), 3).unwrap(), d(due), "designated {designated}");
        }
        assert_eq!(period_end(d("2026-11-30"), 1).unwrap(), d("2026-12-31"));
    }

    #[test]
    fn the_numbers_are_configurable_and_checked() {
        let rules = OversightRules::from_config(&OversightConfig {
            deadline_months: Some(6),
            notification_days: Some(14),
            response_days: None,
            ack_days: None,
            fiscal_year_start_month: Some(1),
            inspection_schedule: Some("off".into()),
            detectors: None,
        })
        .unwrap();
        assert_eq!(
            rules,
            OversightRules {
                deadline_months: 6,
                notification_days: 14,
                response_days: 30,
                fiscal_year_start_month: 1,
                inspection_schedule: inspection::Schedule::Off,
                ..Default::default()
            }
        );
        let err = OversightRules::from_config(&OversightConfig {
            inspection_schedule: Some("weekly".into()),
            ..Default::default()
        });
        assert!(matches!(err, Err(ActionError::Invalid { field: "oversight.inspection_schedule", .. })), "{err:?}");
        assert_eq!(rules.statutory_due(d("2026-11-30")).unwrap(), d("2027-05-31"));
        assert_eq!(rules.notification_due(d("2027-01-20")).unwrap(), d("2027-02-03"));
        let err = OversightRules::from_config(&OversightConfig { deadline_months: Some(0), ..Default::default() });
        assert!(matches!(err, Err(ActionError::Invalid { field: "oversight.deadline_months", .. })), "{err:?}");
    }

    #[test]
    fn days_left_count_calendar_days() {
        assert_eq!(days_left(d("2027-02-21"), d("2027-02-28")), 7);
        assert_eq!(days_left(d("2027-02-28"), d("2027-02-28")), 0);
        assert_eq!(days_left(d("2027-03-01"), d("2027-02-28")), -1);
    }
}
