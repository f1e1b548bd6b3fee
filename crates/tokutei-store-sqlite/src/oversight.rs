//! [`OversightStore`] on SQLite (`0014_oversight.sql`). An appointment ends the one in force
//! and opens in one `IMMEDIATE` transaction on the writer connection; the database's own
//! index and triggers keep one appointment open and none overlapping, whoever writes.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use tokutei_policy::Date;
use tokutei_store::oversight::{
    FilingKind, NewAppointment, NewDesignation, NewFiling, NewOpinion, NewOpinionResponse, NewRulesVersion,
    NewViolationEvent, NewViolationReport, OversightStore, StoredAppointment, StoredDesignation, StoredFiling,
    StoredOpinion, StoredViolation, ViolationEventKind, ViolationStore,
};
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;

pub(crate) fn conversion(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

pub(crate) fn ts(column: usize, us: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| conversion(column, e.to_string()))
}

pub(crate) fn date(column: usize, text: &str) -> rusqlite::Result<Date> {
    text.parse::<Date>().map_err(|e| conversion(column, e))
}

pub(crate) fn index(column: usize, n: i64) -> rusqlite::Result<u64> {
    u64::try_from(n).map_err(|_| conversion(column, format!("{n} is out of range")))
}

pub(crate) fn bigint(n: u64) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| StoreError::Conflict(format!("{n} is out of range")))
}

pub(crate) fn is_constraint(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

const APPOINTMENT_COLUMNS: &str =
    "id, principal, from_date, to_date, evidence, appointed_by, appointed_at, audit_index";

fn appointment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAppointment> {
    let to: Option<String> = r.get(3)?;
    Ok(StoredAppointment {
        appointment: NewAppointment {
            id: r.get(0)?,
            principal: r.get(1)?,
            from: date(2, &r.get::<_, String>(2)?)?,
            evidence: r.get(4)?,
            appointed_by: r.get(5)?,
            appointed_at: ts(6, r.get(6)?)?,
            audit_index: index(7, r.get(7)?)?,
        },
        to: to.map(|t| date(3, &t)).transpose()?,
    })
}

impl OversightStore for SqliteStore {
    fn add_designation(&self, d: &NewDesignation) -> StoreResult<u32> {
        let conn = self.writer();
        conn.execute(
            "INSERT INTO oversight_designations (notified_on, services, recorded_by, recorded_at, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                d.notified_on.to_string(),
                d.services.join("\n"),
                d.recorded_by,
                d.recorded_at.as_microsecond(),
                bigint(d.audit_index)?
            ],
        )
        .map_err(backend)?;
        u32::try_from(conn.last_insert_rowid()).map_err(|_| StoreError::Corrupt("designation number".into()))
    }

    fn designations(&self) -> StoreResult<Vec<StoredDesignation>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached(
                "SELECT number, notified_on, services, recorded_by, recorded_at, audit_index
                 FROM oversight_designations ORDER BY number",
            )
            .map_err(backend)?;
        let rows = statement
            .query_map([], |r| {
                let services: String = r.get(2)?;
                Ok(StoredDesignation {
                    number: u32::try_from(r.get::<_, i64>(0)?).map_err(|e| conversion(0, e.to_string()))?,
                    designation: NewDesignation {
                        notified_on: date(1, &r.get::<_, String>(1)?)?,
                        services: services.lines().map(str::to_string).collect(),
                        recorded_by: r.get(3)?,
                        recorded_at: ts(4, r.get(4)?)?,
                        audit_index: index(5, r.get(5)?)?,
                    },
                })
            })
            .map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn add_filing(&self, f: &NewFiling) -> StoreResult<u64> {
        f.check_shape()?;
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        if let Some(version) = f.rules_version {
            let known: bool = tx
                .query_row("SELECT EXISTS (SELECT 1 FROM internal_rules WHERE version = ?1)", [version], |r| r.get(0))
                .map_err(backend)?;
            if !known {
                return Err(StoreError::NotFound(format!("rules version {version}")));
            }
        }
        if let Some(appointment) = &f.appointment {
            let known: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM chief_manager_appointments WHERE id = ?1)",
                    [appointment],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            if !known {
                return Err(StoreError::NotFound(format!("appointment `{appointment}`")));
            }
        }
        tx.execute(
            "INSERT INTO oversight_filings (kind, appointment, filed_on, reference, recorded_by, recorded_at,
                 audit_index, rules_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                f.kind.code(),
                f.appointment,
                f.filed_on.to_string(),
                f.reference,
                f.recorded_by,
                f.recorded_at.as_microsecond(),
                bigint(f.audit_index)?,
                f.rules_version
            ],
        )
        .map_err(backend)?;
        let number = tx.last_insert_rowid();
        tx.commit().map_err(backend)?;
        u64::try_from(number).map_err(|_| StoreError::Corrupt("filing number".into()))
    }

    fn oversight_filings(&self) -> StoreResult<Vec<StoredFiling>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached(
                "SELECT number, kind, appointment, filed_on, reference, recorded_by, recorded_at, audit_index,
                        rules_version
                 FROM oversight_filings ORDER BY number",
            )
            .map_err(backend)?;
        let rows = statement
            .query_map([], |r| {
                let kind: String = r.get(1)?;
                Ok(StoredFiling {
                    number: index(0, r.get(0)?)?,
                    filing: NewFiling {
                        kind: FilingKind::from_code(&kind)
                            .ok_or_else(|| conversion(1, format!("unknown filing kind `{kind}`")))?,
                        appointment: r.get(2)?,
                        rules_version: r.get(8)?,
                        filed_on: date(3, &r.get::<_, String>(3)?)?,
                        reference: r.get(4)?,
                        recorded_by: r.get(5)?,
                        recorded_at: ts(6, r.get(6)?)?,
                        audit_index: index(7, r.get(7)?)?,
                    },
                })
            })
            .map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn add_rules_version(&self, v: &NewRulesVersion) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let next: u32 = tx
            .query_row("SELECT COALESCE(MAX(version), 0) + 1 FROM internal_rules", [], |r| r.get(0))
            .map_err(backend)?;
        if v.version != next {
            return Err(StoreError::Conflict(format!("rules version {} is not the next ({next})", v.version)));
        }
        tx.execute(
            "INSERT INTO internal_rules (version, source, digest, effective, registered_by, registered_at, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                v.version,
                v.source,
                v.digest,
                v.effective.to_string(),
                v.registered_by,
                v.registered_at.as_microsecond(),
                bigint(v.audit_index)?
            ],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)
    }

    fn rules_versions(&self) -> StoreResult<Vec<NewRulesVersion>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached(
                "SELECT version, source, digest, effective, registered_by, registered_at, audit_index
                 FROM internal_rules ORDER BY version",
            )
            .map_err(backend)?;
        let rows = statement
            .query_map([], |r| {
                Ok(NewRulesVersion {
                    version: r.get(0)?,
                    source: r.get(1)?,
                    digest: r.get(2)?,
                    effective: date(3, &r.get::<_, String>(3)?)?,
                    registered_by: r.get(4)?,
                    registered_at: ts(5, r.get(5)?)?,
                    audit_index: index(6, r.get(6)?)?,
                })
            })
            .map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn add_appointment(&self, a: &NewAppointment) -> StoreResult<Option<String>> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let taken: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM chief_manager_appointments WHERE id = ?1)", [&a.id], |r| r.get(0))
            .map_err(backend)?;
        if taken {
            return Err(StoreError::Conflict(format!("appointment id `{}` is already used", a.id)));
        }
        let open: Option<(String, String)> = tx
            .query_row("SELECT id, from_date FROM chief_manager_appointments WHERE to_date IS NULL", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(backend)?;
        let ended = match open {
            Some((id, from)) => {
                if a.from.to_string() <= from {
                    return Err(StoreError::Conflict(format!(
                        "appointment `{id}` is in force from {from}; a successor starts after that day, not on {}",
                        a.from
                    )));
                }
                let before = a.from.0.yesterday().map_err(|e| StoreError::Conflict(e.to_string()))?;
                tx.execute(
                    "UPDATE chief_manager_appointments SET to_date = ?2 WHERE id = ?1",
                    params![id, Date(before).to_string()],
                )
                .map_err(backend)?;
                Some(id)
            }
            None => None,
        };
        tx.execute(
            "INSERT INTO chief_manager_appointments (id, principal, from_date, evidence, appointed_by, appointed_at,
                 audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                a.id,
                a.principal,
                a.from.to_string(),
                a.evidence,
                a.appointed_by,
                a.appointed_at.as_microsecond(),
                bigint(a.audit_index)?
            ],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!("appointment `{}` overlaps another appointment", a.id))
            } else {
                backend(e)
            }
        })?;
        tx.commit().map_err(backend)?;
        Ok(ended)
    }

    fn appointments(&self) -> StoreResult<Vec<StoredAppointment>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached(&format!("SELECT {APPOINTMENT_COLUMNS} FROM chief_manager_appointments ORDER BY from_date"))
            .map_err(backend)?;
        let rows = statement.query_map([], appointment_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn add_opinion(&self, o: &NewOpinion) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let (taken, known): (bool, bool) = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM chief_manager_opinions WHERE id = ?1),
                        EXISTS (SELECT 1 FROM chief_manager_appointments WHERE id = ?2)",
                [&o.id, &o.appointment],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(backend)?;
        if taken {
            return Err(StoreError::Conflict(format!("opinion id `{}` is already used", o.id)));
        }
        if !known {
            return Err(StoreError::NotFound(format!("appointment `{}`", o.appointment)));
        }
        tx.execute(
            "INSERT INTO chief_manager_opinions (id, appointment, given_on, subject, text, recorded_by, recorded_at,
                 audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                o.id,
                o.appointment,
                o.given_on.to_string(),
                o.subject,
                o.text,
                o.recorded_by,
                o.recorded_at.as_microsecond(),
                bigint(o.audit_index)?
            ],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)
    }

    fn add_opinion_response(&self, r: &NewOpinionResponse) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let known: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM chief_manager_opinions WHERE id = ?1)", [&r.opinion], |row| {
                row.get(0)
            })
            .map_err(backend)?;
        if !known {
            return Err(StoreError::NotFound(format!("opinion `{}`", r.opinion)));
        }
        tx.execute(
            "INSERT INTO chief_manager_opinion_responses (opinion, responded_on, text, recorded_by, recorded_at,
                 audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                r.opinion,
                r.responded_on.to_string(),
                r.text,
                r.recorded_by,
                r.recorded_at.as_microsecond(),
                bigint(r.audit_index)?
            ],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)
    }

    fn opinions(&self) -> StoreResult<Vec<StoredOpinion>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached(
                "SELECT id, appointment, given_on, subject, text, recorded_by, recorded_at, audit_index
                 FROM chief_manager_opinions ORDER BY given_on, audit_index, id",
            )
            .map_err(backend)?;
        let mut opinions: Vec<StoredOpinion> = statement
            .query_map([], |r| {
                Ok(StoredOpinion {
                    opinion: NewOpinion {
                        id: r.get(0)?,
                        appointment: r.get(1)?,
                        given_on: date(2, &r.get::<_, String>(2)?)?,
                        subject: r.get(3)?,
                        text: r.get(4)?,
                        recorded_by: r.get(5)?,
                        recorded_at: ts(6, r.get(6)?)?,
                        audit_index: index(7, r.get(7)?)?,
                    },
                    responses: Vec::new(),
                })
            })
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        let mut statement = conn
            .prepare_cached(
                "SELECT opinion, responded_on, text, recorded_by, recorded_at, audit_index
                 FROM chief_manager_opinion_responses ORDER BY number",
            )
            .map_err(backend)?;
        let responses = statement
            .query_map([], |r| {
                Ok(NewOpinionResponse {
                    opinion: r.get(0)?,
                    responded_on: date(1, &r.get::<_, String>(1)?)?,
                    text: r.get(2)?,
                    recorded_by: r.get(3)?,
                    recorded_at: ts(4, r.get(4)?)?,
                    audit_index: index(5, r.get(5)?)?,
                })
            })
            .map_err(backend)?;
        for response in responses {
            let response = response.map_err(backend)?;
            if let Some(o) = opinions.iter_mut().find(|o| o.opinion.id == response.opinion) {
                o.responses.push(response);
            }
        }
        Ok(opinions)
    }
}

const VIOLATION_COLUMNS: &str =
    "id, detector, principal, measure, text, dedupe_key, reported_by, received_at, ack_due, audit_index";

impl ViolationStore for SqliteStore {
    fn add_violation_report(&self, v: &NewViolationReport) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let taken: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM violation_reports WHERE id = ?1 OR dedupe_key = ?2)",
                params![v.id, v.dedupe_key],
                |r| r.get(0),
            )
            .map_err(backend)?;
        if taken {
            return Err(StoreError::Conflict(format!(
                "violation report `{}` or its finding is recorded already",
                v.id
            )));
        }
        tx.execute(
            &format!(
                "INSERT INTO violation_reports ({VIOLATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            params![
                v.id,
                v.detector,
                v.principal,
                v.measure,
                v.text,
                v.dedupe_key,
                v.reported_by,
                v.received_at.as_microsecond(),
                v.ack_due.as_microsecond(),
                bigint(v.audit_index)?
            ],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!("violation report `{}`: {e}", v.id))
            } else {
                backend(e)
            }
        })?;
        tx.commit().map_err(backend)
    }

    fn add_violation_event(&self, e: &NewViolationEvent) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let known: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM violation_reports WHERE id = ?1)", [&e.report], |r| r.get(0))
            .map_err(backend)?;
        if !known {
            return Err(StoreError::NotFound(format!("violation report `{}`", e.report)));
        }
        tx.execute(
            "INSERT INTO violation_events (report, kind, text, incident, by_principal, at, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![e.report, e.kind.code(), e.text, e.incident, e.by, e.at.as_microsecond(), bigint(e.audit_index)?],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)
    }

    fn violation_reports(&self) -> StoreResult<Vec<StoredViolation>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare(&format!("SELECT {VIOLATION_COLUMNS} FROM violation_reports ORDER BY received_at, id"))
            .map_err(backend)?;
        let mut reports: Vec<StoredViolation> = statement
            .query_map([], |r| {
                Ok(StoredViolation {
                    report: NewViolationReport {
                        id: r.get(0)?,
                        detector: r.get(1)?,
                        principal: r.get(2)?,
                        measure: r.get(3)?,
                        text: r.get(4)?,
                        dedupe_key: r.get(5)?,
                        reported_by: r.get(6)?,
                        received_at: ts(7, r.get(7)?)?,
                        ack_due: ts(8, r.get(8)?)?,
                        audit_index: index(9, r.get(9)?)?,
                    },
                    events: Vec::new(),
                })
            })
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        let mut statement = conn
            .prepare(
                "SELECT report, kind, text, incident, by_principal, at, audit_index FROM violation_events
                 ORDER BY number",
            )
            .map_err(backend)?;
        let events: Vec<NewViolationEvent> = statement
            .query_map([], |r| {
                let kind: String = r.get(1)?;
                Ok(NewViolationEvent {
                    report: r.get(0)?,
                    kind: ViolationEventKind::from_code(&kind)
                        .ok_or_else(|| conversion(1, format!("unknown violation event `{kind}`")))?,
                    text: r.get(2)?,
                    incident: r.get(3)?,
                    by: r.get(4)?,
                    at: ts(5, r.get(5)?)?,
                    audit_index: index(6, r.get(6)?)?,
                })
            })
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        for event in events {
            if let Some(report) = reports.iter_mut().find(|r| r.report.id == event.report) {
                report.events.push(event);
            }
        }
        Ok(reports)
    }
}

#[cfg(test)]
mod tests {
    use tokutei_store::oversight::OversightStore;

    fn store(dir: &tempfile::TempDir) -> crate::SqliteStore {
        crate::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap()
    }

    #[test]
    fn conformance() {
        let dir = tempfile::tempdir().unwrap();
        tokutei_store::conformance::oversight::run(&store(&dir));
    }

    #[test]
    fn violations_conformance() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        tokutei_store::conformance::oversight::run_violations(&store);
        let conn = store.writer();
        for sql in [
            "UPDATE violation_reports SET text = 'x'",
            "DELETE FROM violation_reports",
            "UPDATE violation_events SET kind = 'acknowledged'",
            "DELETE FROM violation_events",
        ] {
            let err = conn.execute_batch(sql).expect_err(sql);
            assert!(err.to_string().contains("violation records are append-only"), "{sql}: {err}");
        }
    }

    /// A second active chief manager is refused by the database itself, whoever writes: a
    /// second open appointment, an overlapping one, reopening an ended one; and no record is
    /// edited or deleted.
    #[test]
    fn a_second_active_chief_manager_is_refused_by_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        tokutei_store::conformance::oversight::run(&store);
        let conn = store.writer();
        let refused = [
            (
                "INSERT INTO chief_manager_appointments VALUES ('X', 'intruder', '2030-01-01', NULL, NULL, 'x', 1, 1)",
                "chief manager appointments never overlap",
            ),
            (
                "INSERT INTO chief_manager_appointments VALUES ('X', 'intruder', '2027-01-10', '2027-01-20', NULL, \
                 'x', 1, 1)",
                "chief manager appointments never overlap",
            ),
            (
                "UPDATE chief_manager_appointments SET to_date = NULL WHERE id = 'CM-1'",
                "an appointment is only ever ended, once",
            ),
            (
                "UPDATE chief_manager_appointments SET principal = 'intruder' WHERE id = 'CM-3'",
                "an appointment is only ever ended, once",
            ),
            ("DELETE FROM chief_manager_appointments WHERE id = 'CM-3'", "oversight records are append-only"),
            ("UPDATE oversight_designations SET notified_on = '2027-06-01'", "oversight records are append-only"),
            ("DELETE FROM oversight_designations", "oversight records are append-only"),
            ("UPDATE oversight_filings SET reference = 'x'", "oversight records are append-only"),
            ("DELETE FROM oversight_filings", "oversight records are append-only"),
            ("UPDATE internal_rules SET source = 'x'", "oversight records are append-only"),
            ("DELETE FROM internal_rules", "oversight records are append-only"),
            (
                "INSERT INTO internal_rules VALUES (9, 'x', 'sha256:09', '2027-01-01', 'x', 1, 1)",
                "a rules version is the next number",
            ),
            (
                "INSERT INTO oversight_filings (kind, appointment, filed_on, reference, recorded_by, recorded_at, \
                 audit_index, rules_version) VALUES ('manager_notification', 'CM-1', '2027-01-01', 'r', 'x', 1, 1, 1)",
                "a filing of the rules names a known version, and only it names one",
            ),
            ("UPDATE chief_manager_opinions SET text = 'x'", "oversight records are append-only"),
            ("DELETE FROM chief_manager_opinion_responses", "oversight records are append-only"),
        ];
        for (sql, message) in refused {
            let err = conn.execute(sql, []).expect_err(sql);
            assert!(err.to_string().contains(message), "{sql}: {err}");
        }
        // Without the trigger, the index alone still refuses a second open appointment.
        conn.execute_batch("BEGIN; DROP TRIGGER chief_manager_no_overlap;").unwrap();
        let err = conn
            .execute(
                "INSERT INTO chief_manager_appointments VALUES ('X', 'intruder', '2030-01-01', NULL, NULL, 'x', 1, 1)",
                [],
            )
            .unwrap_err();
        conn.execute_batch("ROLLBACK").unwrap();
        assert!(err.to_string().contains("UNIQUE constraint failed: index 'chief_manager_one_open'"), "{err}");
        drop(conn);
        let open: Vec<_> = store.appointments().unwrap().into_iter().filter(|a| a.to.is_none()).collect();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].appointment.id, "CM-3");
    }
}
