//! Recording a completed training course of a person (the gateway refuses a person whose
//! required courses are not valid on the day of a use).

use jiff::Timestamp;
use tokutei_policy::Date;
use tokutei_store::staff::Training;

use super::changed;
use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::error::{ActionError, ActionResult};
use crate::ids::PrincipalId;
use crate::limits;

impl App {
    /// Record that `id` completed `course` on `completed`, counting until `valid_until`
    /// (inclusive) — by default the last day of the course's validity in the training
    /// catalogue ([`crate::oversight::training`]). Audit first (`change=training`, `course`, `valid_until`, `version`); the
    /// principal's new version. Refused, with nothing written: a course that is not 1–64
    /// characters without white space, `valid_until` before `completed`
    /// ([`ActionError::Invalid`]; so is no `valid_until` for a course without a validity in the
    /// catalogue), one acting who is not a manager, an unknown principal
    /// ([`ActionError::NotFound`]), a system, a disabled person ([`ActionError::Conflict`]).
    pub fn record_training(
        &self,
        by: &Acting,
        id: &PrincipalId,
        course: &str,
        completed: Date,
        valid_until: Option<Date>,
        now: Timestamp,
    ) -> ActionResult<u64> {
        limits::id("course", course)
            .map_err(|_| ActionError::invalid("course", "a course is 1–64 characters without white space"))?;
        let valid_until = match valid_until {
            Some(day) => day,
            None => self.training_rules().valid_until(course, completed).ok_or_else(|| {
                ActionError::invalid(
                    "valid_until",
                    format!("course `{course}` has no validity in the training catalogue; give the last valid day"),
                )
            })?,
        };
        if valid_until < completed {
            return Err(ActionError::invalid(
                "valid_until",
                format!("{valid_until} is before the day the course was completed, {completed}"),
            ));
        }
        let actor = self.authorize(by, MANAGERS, "record training")?;
        let principal = self.enabled_person(id, "only people take training")?;
        let version = principal.version + 1;
        let entry = changed(id.as_str(), "training")
            .detail("course", course)
            .detail("valid_until", valid_until)
            .detail("version", version);
        self.audit_admin(actor, entry, now)?;
        let training = Training { course: course.to_string(), completed, valid_until };
        Ok(self.stores().add_training(id.as_str(), &training)?)
    }
}
