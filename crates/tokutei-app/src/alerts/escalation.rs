//! The escalation of deadlines: a register with open obligations (an incident's reports, a
//! request's answer, a designation's filings) maps each to a [`Clock`], and
//! [`App::escalate`] enqueues an alert to the responsible persons when one comes within seven
//! days (T−7), within a day (T−1) and when it is overdue — each stage once, whatever how often
//! the scan runs or how many instances run it (the event is the dedupe key: subject, due date
//! and stage; a clock whose due date moves is escalated again for its new date).
//!
//! Days are calendar days in Asia/Tokyo: a clock due 2026-06-30 is at T−7 from 2026-06-23, at
//! T−1 from 2026-06-29 (its last day included) and overdue from 2026-07-01. A scan that first
//! sees a clock late enqueues only the stage it is in (a clock first seen two days before its
//! deadline gets the T−7 alert saying "2 days left", not two alerts).

use jiff::Timestamp;
use tokutei_policy::Date;
use tokutei_store::outbox::AlertChannel;

use super::{AlertRequest, Bilingual};
use crate::App;
use crate::acting::Acting;
use crate::error::{ActionError, ActionResult};
use crate::ids::{AlertId, PrincipalId};
use crate::oversight::training::TrainingState;

/// An open obligation with a due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    /// What is due, by id (`incident/INC-1/obligation/appi-final`).
    pub subject: String,
    pub title_ja: String,
    pub title_en: String,
    /// The last day (Asia/Tokyo) on which it is on time.
    pub due: Date,
    /// The persons responsible for it, by principal id.
    pub recipients: Vec<PrincipalId>,
}

/// How near a deadline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Two to seven days left.
    WeekBefore,
    /// The day before or the day itself.
    DayBefore,
    /// Past the due date.
    Overdue,
    /// A training completion with the catalogue's `alert_days` or fewer days to run.
    Expiring,
    /// A training completion past its last valid day.
    Expired,
}

impl Stage {
    pub fn code(self) -> &'static str {
        match self {
            Stage::WeekBefore => "t-7",
            Stage::DayBefore => "t-1",
            Stage::Overdue => "overdue",
            Stage::Expiring => "expiring",
            Stage::Expired => "expired",
        }
    }

    /// The stage of a deadline `days_left` calendar days away (negative: overdue), if any.
    pub fn of(days_left: i64) -> Option<Stage> {
        match days_left {
            ..0 => Some(Stage::Overdue),
            0..=1 => Some(Stage::DayBefore),
            2..=7 => Some(Stage::WeekBefore),
            _ => None,
        }
    }
}

/// One escalation the scan enqueued (or found enqueued before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalated {
    pub subject: String,
    pub stage: Stage,
    pub days_left: i64,
    pub alerts: Vec<(AlertId, AlertChannel)>,
    /// `false` when every recipient had this stage already.
    pub created: bool,
}

/// The actor of the escalation scan.
const SCAN: &str = "alert-escalation";

/// "1 day", "2 days".
fn days_en(n: i64) -> String {
    if n == 1 { "1 day".to_string() } else { format!("{n} days") }
}

fn request(clock: &Clock, stage: Stage, days_left: i64) -> AlertRequest {
    let due = clock.due;
    let (title, text) = match stage {
        Stage::Overdue | Stage::Expired => {
            let late = -days_left;
            (
                Bilingual {
                    ja: format!("期限超過（{late}日）：{}", clock.title_ja),
                    en: format!("Overdue by {}: {}", days_en(late), clock.title_en),
                },
                Bilingual {
                    ja: format!("{}の期限（{due}）を{late}日過ぎています。直ちに対応してください。", clock.title_ja),
                    en: format!("{} was due on {due}, {} ago. Act on it now.", clock.title_en, days_en(late)),
                },
            )
        }
        Stage::DayBefore | Stage::WeekBefore | Stage::Expiring => {
            let when_ja =
                if days_left == 0 { "本日が期限".to_string() } else { format!("期限まで{days_left}日") };
            let when_en = if days_left == 0 { "Due today".to_string() } else { format!("{} left", days_en(days_left)) };
            (
                Bilingual {
                    ja: format!("{when_ja}：{}", clock.title_ja),
                    en: format!("{when_en}: {}", clock.title_en),
                },
                Bilingual {
                    ja: format!("{}の期限は{due}です（{when_ja}）。対応状況を確認してください。", clock.title_ja),
                    en: format!("{} is due on {due} ({when_en}). Check where it stands.", clock.title_en),
                },
            )
        }
    };
    AlertRequest {
        kind: "deadline_escalation".into(),
        subject: clock.subject.clone(),
        event: format!("{}/due/{due}/{}", clock.subject, stage.code()),
        title,
        text,
        due: Some(due),
        responsible: clock.recipients.clone(),
        details: vec![("stage".into(), stage.code().into()), ("days_left".into(), days_left.to_string())],
    }
}

impl App {
    /// Enqueue the escalations `clocks` call for at `now` (see the module's documentation), as
    /// the deployment's own schedule (`alert-escalation`). Clocks not yet within seven days are
    /// skipped; with no alert channel configured nothing is enqueued. Every clock is checked
    /// before anything is written.
    pub fn escalate(&self, clocks: &[Clock], now: Timestamp) -> ActionResult<Vec<Escalated>> {
        let today = tokutei_policy::tokyo::date_of(now);
        let mut due = Vec::new();
        for clock in clocks {
            let days_left =
                today.0.until(clock.due.0).map_err(|e| ActionError::invalid("due", e.to_string()))?.get_days();
            if let Some(stage) = Stage::of(i64::from(days_left)) {
                let request = request(clock, stage, i64::from(days_left));
                super::check_request(&request)?;
                due.push((clock, stage, i64::from(days_left), request));
            }
        }
        if due.is_empty() || self.alerts.recipients().is_empty() {
            return Ok(Vec::new());
        }
        let by = Acting::Setup(SCAN);
        let mut out = Vec::new();
        for (clock, stage, days_left, request) in due {
            let enqueued = self.enqueue_alert(&by, &request, now)?;
            out.push(Escalated {
                subject: clock.subject.clone(),
                stage,
                days_left,
                created: enqueued.iter().any(|e| e.created),
                alerts: enqueued.into_iter().map(|e| (e.id, e.channel)).collect(),
            });
        }
        Ok(out)
    }

    /// The open clocks of every register with deadlines, for the scan `serve` runs, each to
    /// the active chief manager and responsible persons: the incident register's reports not
    /// yet submitted, the designation's statutory deadlines not yet met (規程, 方針, 統括管理者),
    /// the chief manager appointments not yet notified, and the opinions not yet answered.
    pub fn open_clocks(&self, now: Timestamp) -> ActionResult<Vec<Clock>> {
        let responsible = self.responsible_persons()?;
        let mut clocks: Vec<Clock> = self
            .open_obligations(now)?
            .into_iter()
            .map(|o| Clock {
                subject: format!("incident/{}/obligation/{}-{}", o.incident, o.regime.code(), o.report.code()),
                title_ja: format!("{}：{} {}", o.title, o.regime.ja(), o.report.ja()),
                // The English title where one was given; else the Japanese, never the id.
                title_en: format!("{}: {} {}", o.title_en.as_deref().unwrap_or(&o.title), o.regime.en(), o.report.en()),
                due: o.due,
                recipients: responsible.clone(),
            })
            .collect();
        // A data-subject request's deadline runs until it is decided; a paused one is not due.
        for r in self.stores().requests()? {
            let v = self.request_clock(&r, now)?;
            if v.outcome.is_none() && v.status != crate::requests::Status::Paused {
                clocks.push(Clock {
                    subject: format!("request/{}", v.id),
                    title_ja: format!("開示等の請求（{}、{}）への対応", v.id, v.kind.ja()),
                    title_en: format!("Answer to the data-subject request {} ({})", v.id, v.kind.en()),
                    due: v.deadline,
                    recipients: responsible.clone(),
                });
            }
        }
        clocks.extend(self.oversight_clocks(now)?.into_iter().map(|(subject, title_ja, title_en, due)| Clock {
            subject,
            title_ja,
            title_en,
            due,
            recipients: responsible.clone(),
        }));
        Ok(clocks)
    }

    /// The oversight registers' open deadlines: `(subject, Japanese title, English title, due)`.
    fn oversight_clocks(&self, now: Timestamp) -> ActionResult<Vec<(String, String, String, Date)>> {
        let mut out = Vec::new();
        if let Some(status) = self.designation_status(now)? {
            for d in status.deadlines.iter().filter(|d| !d.met()) {
                out.push((
                    format!("designation/{}", d.duty.code()),
                    d.duty.ja().to_string(),
                    d.duty.en().to_string(),
                    d.due,
                ));
            }
        }
        for a in self.chief_managers(now)? {
            if a.notification_days_left.is_some() {
                let id = &a.appointment.appointment.id;
                out.push((
                    format!("chief-manager/{id}/notification"),
                    format!("統括管理者の選任の届出（{id}、{}〜）", a.appointment.appointment.from),
                    format!(
                        "Notification of the chief manager's appointment ({id}, from {})",
                        a.appointment.appointment.from
                    ),
                    a.notification_due,
                ));
            }
        }
        for o in self.opinions(now)? {
            if o.response_days_left.is_some() {
                let id = &o.opinion.opinion.id;
                out.push((
                    format!("opinion/{id}/response"),
                    format!("統括管理者の意見（{id}）への対応"),
                    format!("Response to the chief manager's opinion ({id})"),
                    o.response_due,
                ));
            }
        }
        out.extend(self.violation_clocks()?);
        out.extend(self.finding_clocks()?);
        Ok(out)
    }

    /// The scan `serve` runs every few minutes: [`Self::escalate`] over [`Self::open_clocks`],
    /// then the alert of a business year closed without a completed annual assessment
    /// ([`crate::oversight::assessment`]) and the training roster's alerts before and at
    /// expiry ([`crate::oversight::training`]), each once.
    pub fn escalate_open_clocks(&self, now: Timestamp) -> ActionResult<Vec<Escalated>> {
        let clocks = self.open_clocks(now)?;
        let mut out = self.escalate(&clocks, now)?;
        if self.alerts.recipients().is_empty() {
            return Ok(out);
        }
        let by = Acting::Setup(SCAN);
        let responsible = self.responsible_persons()?;
        for (days_left, request) in self.overdue_assessment_alerts(now, &responsible)? {
            let enqueued = self.enqueue_alert(&by, &request, now)?;
            out.push(Escalated {
                subject: request.subject.clone(),
                stage: Stage::Overdue,
                days_left,
                created: enqueued.iter().any(|e| e.created),
                alerts: enqueued.into_iter().map(|e| (e.id, e.channel)).collect(),
            });
        }
        for (state, days_left, request) in self.training_alert_requests(now, &responsible)? {
            let enqueued = self.enqueue_alert(&by, &request, now)?;
            out.push(Escalated {
                subject: request.subject.clone(),
                stage: if state == TrainingState::Expired { Stage::Expired } else { Stage::Expiring },
                days_left,
                created: enqueued.iter().any(|e| e.created),
                alerts: enqueued.into_iter().map(|e| (e.id, e.channel)).collect(),
            });
        }
        Ok(out)
    }

    /// The active chief managers and responsible persons, to whom escalations go.
    pub(crate) fn responsible_persons(&self) -> ActionResult<Vec<PrincipalId>> {
        self.persons_with_roles(crate::MANAGERS)
    }

    /// The persons, not disabled, holding one of `roles`.
    pub(crate) fn persons_with_roles(&self, roles: &[tokutei_policy::Role]) -> ActionResult<Vec<PrincipalId>> {
        Ok(self
            .stores()
            .principals()?
            .into_iter()
            .filter(|p| {
                p.disabled_at.is_none()
                    && matches!(p.kind, tokutei_store::staff::PrincipalKind::Person { role } if roles.contains(&role))
            })
            .map(|p| PrincipalId::known(p.id))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_by_days_left() {
        let stages: Vec<Option<&str>> =
            [9, 8, 7, 2, 1, 0, -1, -30].into_iter().map(|d| Stage::of(d).map(Stage::code)).collect();
        assert_eq!(
            stages,
            [None, None, Some("t-7"), Some("t-7"), Some("t-1"), Some("t-1"), Some("overdue"), Some("overdue")]
        );
    }

    #[test]
    fn the_text_says_how_near_the_deadline_is_in_both_languages() {
        let clock = Clock {
            subject: "incident/INC-1/obligation/appi-final".into(),
            title_ja: "個人情報保護委員会への確報".into(),
            title_en: "Final report to the PPC".into(),
            due: Date::new(2026, 6, 30).unwrap(),
            recipients: vec![PrincipalId::parse("rp-1").unwrap()],
        };
        let r = request(&clock, Stage::WeekBefore, 7);
        assert_eq!(r.title.ja, "期限まで7日：個人情報保護委員会への確報");
        assert_eq!(r.title.en, "7 days left: Final report to the PPC");
        assert_eq!(r.event, "incident/INC-1/obligation/appi-final/due/2026-06-30/t-7");
        assert_eq!(request(&clock, Stage::DayBefore, 0).title.en, "Due today: Final report to the PPC");
        assert_eq!(request(&clock, Stage::DayBefore, 1).title.en, "1 day left: Final report to the PPC");
        assert_eq!(request(&clock, Stage::Overdue, -1).title.en, "Overdue by 1 day: Final report to the PPC");
        let late = request(&clock, Stage::Overdue, -2);
        assert_eq!(late.title.ja, "期限超過（2日）：個人情報保護委員会への確報");
        assert!(late.text.en.contains("was due on 2026-06-30, 2 days ago"), "{}", late.text.en);
        super::super::check_request(&late).unwrap();
    }
}
