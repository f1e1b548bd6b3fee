//! [`AssessmentStore`] on SQLite (`0018_training_assessment.sql`): each write one
//! `IMMEDIATE` transaction on the writer connection; the database's own key, index and
//! trigger refuse a second assessment of a year, a second completion and any event after it.

use rusqlite::params;
use tokutei_store::assessment::{
    AssessmentEventKind, AssessmentStore, NewAssessment, NewAssessmentEvent, StoredAssessment, StoredAssessmentEvent,
};
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;
use crate::oversight::{bigint, conversion, index, is_constraint, ts};

impl AssessmentStore for SqliteStore {
    fn add_assessment(&self, a: &NewAssessment) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        tx.execute(
            "INSERT INTO assessments (fiscal_year, opened_by, opened_at, audit_index) VALUES (?1, ?2, ?3, ?4)",
            params![a.fiscal_year, a.opened_by, a.opened_at.as_microsecond(), bigint(a.audit_index)?],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!("the assessment of business year {} is open already", a.fiscal_year))
            } else {
                backend(e)
            }
        })?;
        tx.commit().map_err(backend)
    }

    fn add_assessment_event(&self, e: &NewAssessmentEvent) -> StoreResult<u64> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let known: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM assessments WHERE fiscal_year = ?1)", [e.fiscal_year], |r| {
                r.get(0)
            })
            .map_err(backend)?;
        if !known {
            return Err(StoreError::NotFound(format!("the assessment of business year {}", e.fiscal_year)));
        }
        tx.execute(
            "INSERT INTO assessment_events (fiscal_year, kind, body, by_principal, at, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![e.fiscal_year, e.kind.code(), e.body, e.by, e.at.as_microsecond(), bigint(e.audit_index)?],
        )
        .map_err(|err| {
            if is_constraint(&err) {
                StoreError::Conflict(format!("the assessment of business year {} is completed", e.fiscal_year))
            } else {
                backend(err)
            }
        })?;
        let number = tx.last_insert_rowid();
        tx.commit().map_err(backend)?;
        u64::try_from(number).map_err(|_| StoreError::Corrupt(format!("event number {number}")))
    }

    fn assessments(&self) -> StoreResult<Vec<StoredAssessment>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare("SELECT fiscal_year, opened_by, opened_at, audit_index FROM assessments ORDER BY fiscal_year")
            .map_err(backend)?;
        let mut all: Vec<StoredAssessment> = statement
            .query_map([], |r| {
                Ok(StoredAssessment {
                    assessment: NewAssessment {
                        fiscal_year: r.get(0)?,
                        opened_by: r.get(1)?,
                        opened_at: ts(2, r.get(2)?)?,
                        audit_index: index(3, r.get(3)?)?,
                    },
                    events: Vec::new(),
                })
            })
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        let mut statement = conn
            .prepare(
                "SELECT number, fiscal_year, kind, body, by_principal, at, audit_index FROM assessment_events
                 ORDER BY number",
            )
            .map_err(backend)?;
        let events = statement
            .query_map([], |r| {
                let kind: String = r.get(2)?;
                Ok(StoredAssessmentEvent {
                    number: index(0, r.get(0)?)?,
                    event: NewAssessmentEvent {
                        fiscal_year: r.get(1)?,
                        kind: AssessmentEventKind::from_code(&kind)
                            .ok_or_else(|| conversion(2, format!("unknown event kind `{kind}`")))?,
                        body: r.get(3)?,
                        by: r.get(4)?,
                        at: ts(5, r.get(5)?)?,
                        audit_index: index(6, r.get(6)?)?,
                    },
                })
            })
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        for event in events {
            if let Some(a) = all.iter_mut().find(|a| a.assessment.fiscal_year == event.event.fiscal_year) {
                a.events.push(event);
            }
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance_and_the_database_guards() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap();
        tokutei_store::conformance::assessment::run(&store);
        let conn = store.writer();
        for (sql, refusal) in [
            ("INSERT INTO assessments VALUES (2026, 'x', 1, 1)", "UNIQUE"),
            (
                "INSERT INTO assessment_events (fiscal_year, kind, body, by_principal, at, audit_index) VALUES (2026, 'finding', '{}', 'x', 1, 1)",
                "the assessment is completed",
            ),
            ("UPDATE assessments SET opened_by = 'x'", "assessment records are append-only"),
            ("DELETE FROM assessments", "assessment records are append-only"),
            ("UPDATE assessment_events SET body = 'x'", "assessment records are append-only"),
            ("DELETE FROM assessment_events", "assessment records are append-only"),
        ] {
            let err = conn.execute_batch(sql).expect_err(sql);
            assert!(err.to_string().contains(refusal), "{sql}: {err}");
        }
    }
}
