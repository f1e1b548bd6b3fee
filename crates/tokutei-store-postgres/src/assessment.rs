//! [`AssessmentStore`] on PostgreSQL (`0018_training_assessment.sql`): an event is added in a
//! transaction that locks its assessment's row, so events of one year and its completion
//! take turns across instances; the database's own key, index and trigger refuse a second
//! assessment of a year, a second completion and any event after it.

use tokutei_store::assessment::{
    AssessmentEventKind, AssessmentStore, NewAssessment, NewAssessmentEvent, StoredAssessment, StoredAssessmentEvent,
};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{bigint, corrupt, get, micros, timestamp, u64_col};
use crate::db::{backend, is_constraint};

impl AssessmentStore for PgStore {
    fn add_assessment(&self, a: &NewAssessment) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.execute(
            "INSERT INTO assessments (fiscal_year, opened_by, opened_at, audit_index) VALUES ($1, $2, $3, $4)",
            &[&a.fiscal_year, &a.opened_by, &micros(a.opened_at), &bigint(a.audit_index)?],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!("the assessment of business year {} is open already", a.fiscal_year))
            } else {
                backend(e)
            }
        })?;
        Ok(())
    }

    fn add_assessment_event(&self, e: &NewAssessmentEvent) -> StoreResult<u64> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let known = tx
            .query_opt("SELECT 1 FROM assessments WHERE fiscal_year = $1 FOR UPDATE", &[&e.fiscal_year])
            .map_err(backend)?
            .is_some();
        if !known {
            return Err(StoreError::NotFound(format!("the assessment of business year {}", e.fiscal_year)));
        }
        let row = tx
            .query_one(
                "INSERT INTO assessment_events (fiscal_year, kind, body, by_principal, at, audit_index)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING number",
                &[&e.fiscal_year, &e.kind.code(), &e.body, &e.by, &micros(e.at), &bigint(e.audit_index)?],
            )
            .map_err(|err| {
                if is_constraint(&err) {
                    StoreError::Conflict(format!("the assessment of business year {} is completed", e.fiscal_year))
                } else {
                    backend(err)
                }
            })?;
        let number = u64_col(&row, 0)?;
        tx.commit()?;
        Ok(number)
    }

    fn assessments(&self) -> StoreResult<Vec<StoredAssessment>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query("SELECT fiscal_year, opened_by, opened_at, audit_index FROM assessments ORDER BY fiscal_year", &[])
            .map_err(backend)?;
        let mut all = rows
            .iter()
            .map(|row| {
                Ok(StoredAssessment {
                    assessment: NewAssessment {
                        fiscal_year: get(row, 0)?,
                        opened_by: get(row, 1)?,
                        opened_at: timestamp(row, 2)?,
                        audit_index: u64_col(row, 3)?,
                    },
                    events: Vec::new(),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let rows = conn
            .query(
                "SELECT number, fiscal_year, kind, body, by_principal, at, audit_index FROM assessment_events
                 ORDER BY number",
                &[],
            )
            .map_err(backend)?;
        for row in &rows {
            let kind: String = get(row, 2)?;
            let event = StoredAssessmentEvent {
                number: u64_col(row, 0)?,
                event: NewAssessmentEvent {
                    fiscal_year: get(row, 1)?,
                    kind: AssessmentEventKind::from_code(&kind)
                        .ok_or_else(|| corrupt(row, 2, format!("unknown event kind `{kind}`")))?,
                    body: get(row, 3)?,
                    by: get(row, 4)?,
                    at: timestamp(row, 5)?,
                    audit_index: u64_col(row, 6)?,
                },
            };
            if let Some(a) = all.iter_mut().find(|a| a.assessment.fiscal_year == event.event.fiscal_year) {
                a.events.push(event);
            }
        }
        Ok(all)
    }
}
