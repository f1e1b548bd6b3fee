//! [`OversightStore`] on PostgreSQL (`0014_oversight.sql`). An appointment ends the one in
//! force and opens in one transaction that holds the register's table lock, so instances
//! appointing at once take turns; the database's own index and trigger keep one appointment
//! open and none overlapping, whoever writes.

use postgres::Row;
use tokutei_policy::Date;
use tokutei_store::oversight::{
    FilingKind, NewAppointment, NewDesignation, NewFiling, NewOpinion, NewOpinionResponse, NewRulesVersion,
    NewViolationEvent, NewViolationReport, OversightStore, StoredAppointment, StoredDesignation, StoredFiling,
    StoredOpinion, StoredViolation, ViolationEventKind, ViolationStore,
};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{bigint, corrupt, date, date_opt, get, micros, timestamp, u32_col, u64_col};
use crate::db::{backend, is_constraint};

fn appointment_row(row: &Row) -> StoreResult<StoredAppointment> {
    Ok(StoredAppointment {
        appointment: NewAppointment {
            id: get(row, 0)?,
            principal: get(row, 1)?,
            from: date(row, 2)?,
            evidence: get(row, 4)?,
            appointed_by: get(row, 5)?,
            appointed_at: timestamp(row, 6)?,
            audit_index: u64_col(row, 7)?,
        },
        to: date_opt(row, 3)?,
    })
}

impl OversightStore for PgStore {
    fn add_designation(&self, d: &NewDesignation) -> StoreResult<u32> {
        let mut conn = self.conn()?;
        let row = conn
            .query_one(
                "INSERT INTO oversight_designations (notified_on, services, recorded_by, recorded_at, audit_index)
                 VALUES ($1, $2, $3, $4, $5) RETURNING number",
                &[
                    &d.notified_on.to_string(),
                    &d.services.join("\n"),
                    &d.recorded_by,
                    &micros(d.recorded_at),
                    &bigint(d.audit_index)?,
                ],
            )
            .map_err(backend)?;
        u32_col(&row, 0)
    }

    fn designations(&self) -> StoreResult<Vec<StoredDesignation>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT number, notified_on, services, recorded_by, recorded_at, audit_index
                 FROM oversight_designations ORDER BY number",
                &[],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let services: &str = get(row, 2)?;
                Ok(StoredDesignation {
                    number: u32_col(row, 0)?,
                    designation: NewDesignation {
                        notified_on: date(row, 1)?,
                        services: services.lines().map(str::to_string).collect(),
                        recorded_by: get(row, 3)?,
                        recorded_at: timestamp(row, 4)?,
                        audit_index: u64_col(row, 5)?,
                    },
                })
            })
            .collect()
    }

    fn add_filing(&self, f: &NewFiling) -> StoreResult<u64> {
        f.check_shape()?;
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        if let Some(version) = f.rules_version {
            let known = tx
                .query_opt("SELECT 1 FROM internal_rules WHERE version = $1", &[&i64::from(version)])
                .map_err(backend)?
                .is_some();
            if !known {
                return Err(StoreError::NotFound(format!("rules version {version}")));
            }
        }
        if let Some(appointment) = &f.appointment {
            let known = tx
                .query_opt("SELECT 1 FROM chief_manager_appointments WHERE id = $1", &[appointment])
                .map_err(backend)?
                .is_some();
            if !known {
                return Err(StoreError::NotFound(format!("appointment `{appointment}`")));
            }
        }
        let row = tx
            .query_one(
                "INSERT INTO oversight_filings (kind, appointment, filed_on, reference, recorded_by, recorded_at,
                     audit_index, rules_version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING number",
                &[
                    &f.kind.code(),
                    &f.appointment,
                    &f.filed_on.to_string(),
                    &f.reference,
                    &f.recorded_by,
                    &micros(f.recorded_at),
                    &bigint(f.audit_index)?,
                    &f.rules_version.map(i64::from),
                ],
            )
            .map_err(backend)?;
        let number = u64_col(&row, 0)?;
        tx.commit()?;
        Ok(number)
    }

    fn oversight_filings(&self) -> StoreResult<Vec<StoredFiling>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT number, kind, appointment, filed_on, reference, recorded_by, recorded_at, audit_index,
                        rules_version
                 FROM oversight_filings ORDER BY number",
                &[],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let kind: &str = get(row, 1)?;
                Ok(StoredFiling {
                    number: u64_col(row, 0)?,
                    filing: NewFiling {
                        kind: FilingKind::from_code(kind)
                            .ok_or_else(|| corrupt(row, 1, format!("unknown filing kind `{kind}`")))?,
                        appointment: get(row, 2)?,
                        rules_version: get::<Option<i64>>(row, 8)?
                            .map(|v| u32::try_from(v).map_err(|_| corrupt(row, 8, format!("{v} is out of range"))))
                            .transpose()?,
                        filed_on: date(row, 3)?,
                        reference: get(row, 4)?,
                        recorded_by: get(row, 5)?,
                        recorded_at: timestamp(row, 6)?,
                        audit_index: u64_col(row, 7)?,
                    },
                })
            })
            .collect()
    }

    fn add_rules_version(&self, v: &NewRulesVersion) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.batch_execute("LOCK TABLE internal_rules IN SHARE ROW EXCLUSIVE MODE").map_err(backend)?;
        let next = u32_col(
            &tx.query_one("SELECT COALESCE(MAX(version), 0) + 1 FROM internal_rules", &[]).map_err(backend)?,
            0,
        )?;
        if v.version != next {
            return Err(StoreError::Conflict(format!("rules version {} is not the next ({next})", v.version)));
        }
        tx.execute(
            "INSERT INTO internal_rules (version, source, digest, effective, registered_by, registered_at, audit_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &i64::from(v.version),
                &v.source,
                &v.digest,
                &v.effective.to_string(),
                &v.registered_by,
                &micros(v.registered_at),
                &bigint(v.audit_index)?,
            ],
        )
        .map_err(backend)?;
        tx.commit()?;
        Ok(())
    }

    fn rules_versions(&self) -> StoreResult<Vec<NewRulesVersion>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT version, source, digest, effective, registered_by, registered_at, audit_index
                 FROM internal_rules ORDER BY version",
                &[],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                Ok(NewRulesVersion {
                    version: u32_col(row, 0)?,
                    source: get(row, 1)?,
                    digest: get(row, 2)?,
                    effective: date(row, 3)?,
                    registered_by: get(row, 4)?,
                    registered_at: timestamp(row, 5)?,
                    audit_index: u64_col(row, 6)?,
                })
            })
            .collect()
    }

    fn add_appointment(&self, a: &NewAppointment) -> StoreResult<Option<String>> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // Appointments take turns: the open one read here is the one ended below.
        tx.batch_execute("LOCK TABLE chief_manager_appointments IN SHARE ROW EXCLUSIVE MODE").map_err(backend)?;
        if tx.query_opt("SELECT 1 FROM chief_manager_appointments WHERE id = $1", &[&a.id]).map_err(backend)?.is_some()
        {
            return Err(StoreError::Conflict(format!("appointment id `{}` is already used", a.id)));
        }
        let open = tx
            .query_opt("SELECT id, from_date FROM chief_manager_appointments WHERE to_date IS NULL", &[])
            .map_err(backend)?;
        let ended = match open {
            Some(row) => {
                let id: String = get(&row, 0)?;
                let from = date(&row, 1)?;
                if a.from <= from {
                    return Err(StoreError::Conflict(format!(
                        "appointment `{id}` is in force from {from}; a successor starts after that day, not on {}",
                        a.from
                    )));
                }
                let before = a.from.0.yesterday().map_err(|e| StoreError::Conflict(e.to_string()))?;
                tx.execute(
                    "UPDATE chief_manager_appointments SET to_date = $2 WHERE id = $1",
                    &[&id, &Date(before).to_string()],
                )
                .map_err(backend)?;
                Some(id)
            }
            None => None,
        };
        tx.execute(
            "INSERT INTO chief_manager_appointments (id, principal, from_date, evidence, appointed_by, appointed_at,
                 audit_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &a.id,
                &a.principal,
                &a.from.to_string(),
                &a.evidence,
                &a.appointed_by,
                &micros(a.appointed_at),
                &bigint(a.audit_index)?,
            ],
        )
        .map_err(|e| {
            if is_constraint(&e) || e.as_db_error().is_some_and(|d| d.code().code() == "P0001") {
                StoreError::Conflict(format!("appointment `{}` overlaps another appointment", a.id))
            } else {
                backend(e)
            }
        })?;
        tx.commit()?;
        Ok(ended)
    }

    fn appointments(&self) -> StoreResult<Vec<StoredAppointment>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT id, principal, from_date, to_date, evidence, appointed_by, appointed_at, audit_index
                 FROM chief_manager_appointments ORDER BY from_date",
                &[],
            )
            .map_err(backend)?;
        rows.iter().map(appointment_row).collect()
    }

    fn add_opinion(&self, o: &NewOpinion) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let row = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM chief_manager_opinions WHERE id = $1),
                        EXISTS (SELECT 1 FROM chief_manager_appointments WHERE id = $2)",
                &[&o.id, &o.appointment],
            )
            .map_err(backend)?;
        let (taken, known): (bool, bool) = (get(&row, 0)?, get(&row, 1)?);
        if taken {
            return Err(StoreError::Conflict(format!("opinion id `{}` is already used", o.id)));
        }
        if !known {
            return Err(StoreError::NotFound(format!("appointment `{}`", o.appointment)));
        }
        tx.execute(
            "INSERT INTO chief_manager_opinions (id, appointment, given_on, subject, text, recorded_by, recorded_at,
                 audit_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &o.id,
                &o.appointment,
                &o.given_on.to_string(),
                &o.subject,
                &o.text,
                &o.recorded_by,
                &micros(o.recorded_at),
                &bigint(o.audit_index)?,
            ],
        )
        .map_err(|e| {
            if crate::db::is_unique(&e) {
                StoreError::Conflict(format!("opinion id `{}` is already used", o.id))
            } else {
                backend(e)
            }
        })?;
        tx.commit()
    }

    fn add_opinion_response(&self, r: &NewOpinionResponse) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        if tx.query_opt("SELECT 1 FROM chief_manager_opinions WHERE id = $1", &[&r.opinion]).map_err(backend)?.is_none()
        {
            return Err(StoreError::NotFound(format!("opinion `{}`", r.opinion)));
        }
        tx.execute(
            "INSERT INTO chief_manager_opinion_responses (opinion, responded_on, text, recorded_by, recorded_at,
                 audit_index)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &r.opinion,
                &r.responded_on.to_string(),
                &r.text,
                &r.recorded_by,
                &micros(r.recorded_at),
                &bigint(r.audit_index)?,
            ],
        )
        .map_err(backend)?;
        tx.commit()
    }

    fn opinions(&self) -> StoreResult<Vec<StoredOpinion>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT id, appointment, given_on, subject, text, recorded_by, recorded_at, audit_index
                 FROM chief_manager_opinions ORDER BY given_on, audit_index, id",
                &[],
            )
            .map_err(backend)?;
        let mut opinions = rows
            .iter()
            .map(|row| {
                Ok(StoredOpinion {
                    opinion: NewOpinion {
                        id: get(row, 0)?,
                        appointment: get(row, 1)?,
                        given_on: date(row, 2)?,
                        subject: get(row, 3)?,
                        text: get(row, 4)?,
                        recorded_by: get(row, 5)?,
                        recorded_at: timestamp(row, 6)?,
                        audit_index: u64_col(row, 7)?,
                    },
                    responses: Vec::new(),
                })
            })
            .collect::<StoreResult<Vec<StoredOpinion>>>()?;
        let rows = conn
            .query(
                "SELECT opinion, responded_on, text, recorded_by, recorded_at, audit_index
                 FROM chief_manager_opinion_responses ORDER BY number",
                &[],
            )
            .map_err(backend)?;
        for row in &rows {
            let response = NewOpinionResponse {
                opinion: get(row, 0)?,
                responded_on: date(row, 1)?,
                text: get(row, 2)?,
                recorded_by: get(row, 3)?,
                recorded_at: timestamp(row, 4)?,
                audit_index: u64_col(row, 5)?,
            };
            if let Some(o) = opinions.iter_mut().find(|o| o.opinion.id == response.opinion) {
                o.responses.push(response);
            }
        }
        Ok(opinions)
    }
}

const VIOLATION_COLUMNS: &str =
    "id, detector, principal, measure, text, dedupe_key, reported_by, received_at, ack_due, audit_index";

impl ViolationStore for PgStore {
    fn add_violation_report(&self, v: &NewViolationReport) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.execute(
            &format!(
                "INSERT INTO violation_reports ({VIOLATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &[
                &v.id,
                &v.detector,
                &v.principal,
                &i16::from(v.measure),
                &v.text,
                &v.dedupe_key,
                &v.reported_by,
                &micros(v.received_at),
                &micros(v.ack_due),
                &bigint(v.audit_index)?,
            ],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!("violation report `{}` or its finding is recorded already", v.id))
            } else {
                backend(e)
            }
        })?;
        Ok(())
    }

    fn add_violation_event(&self, e: &NewViolationEvent) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let known =
            tx.query_opt("SELECT 1 FROM violation_reports WHERE id = $1", &[&e.report]).map_err(backend)?.is_some();
        if !known {
            return Err(StoreError::NotFound(format!("violation report `{}`", e.report)));
        }
        tx.execute(
            "INSERT INTO violation_events (report, kind, text, incident, by_principal, at, audit_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&e.report, &e.kind.code(), &e.text, &e.incident, &e.by, &micros(e.at), &bigint(e.audit_index)?],
        )
        .map_err(backend)?;
        tx.commit()?;
        Ok(())
    }

    fn violation_reports(&self) -> StoreResult<Vec<StoredViolation>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(&format!("SELECT {VIOLATION_COLUMNS} FROM violation_reports ORDER BY received_at, id"), &[])
            .map_err(backend)?;
        let mut reports = rows
            .iter()
            .map(|row| {
                let measure: i16 = get(row, 3)?;
                Ok(StoredViolation {
                    report: NewViolationReport {
                        id: get(row, 0)?,
                        detector: get(row, 1)?,
                        principal: get(row, 2)?,
                        measure: u8::try_from(measure).map_err(|_| corrupt(row, 3, "measure out of range"))?,
                        text: get(row, 4)?,
                        dedupe_key: get(row, 5)?,
                        reported_by: get(row, 6)?,
                        received_at: timestamp(row, 7)?,
                        ack_due: timestamp(row, 8)?,
                        audit_index: u64_col(row, 9)?,
                    },
                    events: Vec::new(),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let rows = conn
            .query(
                "SELECT report, kind, text, incident, by_principal, at, audit_index FROM violation_events ORDER BY number",
                &[],
            )
            .map_err(backend)?;
        for row in &rows {
            let kind: String = get(row, 1)?;
            let event = NewViolationEvent {
                report: get(row, 0)?,
                kind: ViolationEventKind::from_code(&kind)
                    .ok_or_else(|| corrupt(row, 1, format!("unknown violation event `{kind}`")))?,
                text: get(row, 2)?,
                incident: get(row, 3)?,
                by: get(row, 4)?,
                at: timestamp(row, 5)?,
                audit_index: u64_col(row, 6)?,
            };
            if let Some(report) = reports.iter_mut().find(|r| r.report.id == event.report) {
                report.events.push(event);
            }
        }
        Ok(reports)
    }
}
