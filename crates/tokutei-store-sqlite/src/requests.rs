//! [`RequestStore`] on SQLite (`0020_requests.sql`): each write one `IMMEDIATE` transaction on
//! the writer connection; the database's own key and index refuse a taken id and a second
//! outcome.

use rusqlite::{OptionalExtension, params};
use tokutei_store::requests::{
    NewRequest, NewRequestEvent, RequestEventKind, RequestStore, StopKind, StoredRequest, StoredRequestEvent, UseStop,
};
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;
use crate::oversight::{bigint, conversion, index, is_constraint, ts};

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRequestEvent> {
    let kind: String = r.get(2)?;
    Ok(StoredRequestEvent {
        number: index(0, r.get(0)?)?,
        event: NewRequestEvent {
            request: r.get(1)?,
            kind: RequestEventKind::from_code(&kind)
                .ok_or_else(|| conversion(2, format!("unknown event kind `{kind}`")))?,
            body: r.get(3)?,
            by: r.get(4)?,
            at: ts(5, r.get(5)?)?,
            audit_index: index(6, r.get(6)?)?,
        },
    })
}

impl RequestStore for SqliteStore {
    fn add_request(&self, r: &NewRequest) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        tx.execute(
            "INSERT INTO subject_requests (id, kind, channel, inquiry, received_at, opened_by, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                r.id,
                r.kind,
                r.channel,
                r.inquiry,
                r.received_at.as_microsecond(),
                r.opened_by,
                bigint(r.audit_index)?
            ],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!("request id `{}` is already used", r.id))
            } else {
                backend(e)
            }
        })?;
        tx.commit().map_err(backend)
    }

    fn add_request_event(&self, e: &NewRequestEvent) -> StoreResult<u64> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let known: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM subject_requests WHERE id = ?1)", [&e.request], |r| r.get(0))
            .map_err(backend)?;
        if !known {
            return Err(StoreError::NotFound(format!("request `{}`", e.request)));
        }
        tx.execute(
            "INSERT INTO subject_request_events (request, kind, body, by_principal, at, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![e.request, e.kind.code(), e.body, e.by, e.at.as_microsecond(), bigint(e.audit_index)?],
        )
        .map_err(|err| {
            if is_constraint(&err) {
                StoreError::Conflict(format!("request `{}` has its outcome already", e.request))
            } else {
                backend(err)
            }
        })?;
        let number = tx.last_insert_rowid();
        tx.commit().map_err(backend)?;
        u64::try_from(number).map_err(|_| StoreError::Corrupt(format!("event number {number}")))
    }

    fn requests(&self) -> StoreResult<Vec<StoredRequest>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare(
                "SELECT id, kind, channel, inquiry, received_at, opened_by, audit_index FROM subject_requests
                 ORDER BY received_at, audit_index, id",
            )
            .map_err(backend)?;
        let mut all: Vec<StoredRequest> = statement
            .query_map([], |r| {
                Ok(StoredRequest {
                    request: NewRequest {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        channel: r.get(2)?,
                        inquiry: r.get(3)?,
                        received_at: ts(4, r.get(4)?)?,
                        opened_by: r.get(5)?,
                        audit_index: index(6, r.get(6)?)?,
                    },
                    events: Vec::new(),
                })
            })
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        let mut statement = conn
            .prepare(
                "SELECT number, request, kind, body, by_principal, at, audit_index FROM subject_request_events
                 ORDER BY number",
            )
            .map_err(backend)?;
        let events =
            statement.query_map([], event_row).map_err(backend)?.collect::<Result<Vec<_>, _>>().map_err(backend)?;
        for event in events {
            if let Some(r) = all.iter_mut().find(|r| r.request.id == event.event.request) {
                r.events.push(event);
            }
        }
        Ok(all)
    }

    fn request(&self, id: &str) -> StoreResult<Option<StoredRequest>> {
        let conn = self.reader()?;
        let request = conn
            .prepare_cached(
                "SELECT id, kind, channel, inquiry, received_at, opened_by, audit_index FROM subject_requests
                 WHERE id = ?1",
            )
            .map_err(backend)?
            .query_row([id], |r| {
                Ok(NewRequest {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    channel: r.get(2)?,
                    inquiry: r.get(3)?,
                    received_at: ts(4, r.get(4)?)?,
                    opened_by: r.get(5)?,
                    audit_index: index(6, r.get(6)?)?,
                })
            })
            .optional()
            .map_err(backend)?;
        let Some(request) = request else { return Ok(None) };
        let mut statement = conn
            .prepare_cached(
                "SELECT number, request, kind, body, by_principal, at, audit_index FROM subject_request_events
                 WHERE request = ?1 ORDER BY number",
            )
            .map_err(backend)?;
        let events =
            statement.query_map([id], event_row).map_err(backend)?.collect::<Result<Vec<_>, _>>().map_err(backend)?;
        Ok(Some(StoredRequest { request, events }))
    }

    fn add_use_stops(&self, stops: &[UseStop]) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        for u in stops {
            let (subscriber, request): (bool, bool) = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM vault_subscribers WHERE id = ?1),
                            EXISTS (SELECT 1 FROM subject_requests WHERE id = ?2)",
                    params![u.subscriber, u.request],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(backend)?;
            if !subscriber {
                return Err(StoreError::NotFound(format!("subscriber `{}`", u.subscriber)));
            }
            if !request {
                return Err(StoreError::NotFound(format!("request `{}`", u.request)));
            }
            tx.execute(
                "INSERT INTO use_stops (subscriber, kind, purpose, stopped, request, by_principal, at, audit_index)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    u.subscriber,
                    u.kind.code(),
                    u.purpose,
                    u.stopped,
                    u.request,
                    u.by,
                    u.at.as_microsecond(),
                    bigint(u.audit_index)?
                ],
            )
            .map_err(backend)?;
        }
        tx.commit().map_err(backend)
    }

    fn use_stops(&self, subscriber: &str) -> StoreResult<Vec<UseStop>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached(
                "SELECT subscriber, kind, purpose, stopped, request, by_principal, at, audit_index FROM use_stops
                 WHERE subscriber = ?1 ORDER BY number",
            )
            .map_err(backend)?;
        let rows = statement
            .query_map([subscriber], |r| {
                let kind: String = r.get(1)?;
                Ok(UseStop {
                    subscriber: r.get(0)?,
                    kind: StopKind::from_code(&kind).ok_or_else(|| conversion(1, format!("unknown stop `{kind}`")))?,
                    purpose: r.get(2)?,
                    stopped: r.get(3)?,
                    request: r.get(4)?,
                    by: r.get(5)?,
                    at: ts(6, r.get(6)?)?,
                    audit_index: index(7, r.get(7)?)?,
                })
            })
            .map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance_and_the_database_guards() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap();
        tokutei_store::conformance::requests::run(&store);
        let conn = store.writer();
        for (sql, refusal) in [
            (
                "INSERT INTO subject_request_events (request, kind, body, by_principal, at, audit_index) VALUES ('DR-1', 'outcome', '{}', 'x', 1, 1)",
                "UNIQUE",
            ),
            ("UPDATE subject_requests SET kind = 'x'", "request records are append-only"),
            ("DELETE FROM subject_requests", "request records are append-only"),
            ("UPDATE subject_request_events SET body = 'x'", "request records are append-only"),
            ("DELETE FROM subject_request_events", "request records are append-only"),
        ] {
            let err = conn.execute_batch(sql).expect_err(sql);
            assert!(err.to_string().contains(refusal), "{sql}: {err}");
        }
    }
}
