//! [`RequestStore`] on PostgreSQL (`0020_requests.sql`): an event is added in a transaction
//! that locks its request's row, so events of one request take turns across instances; the
//! database's own key and index refuse a taken id and a second outcome.

use tokutei_store::requests::{
    NewRequest, NewRequestEvent, RequestEventKind, RequestStore, StopKind, StoredRequest, StoredRequestEvent, UseStop,
};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{bigint, corrupt, get, micros, timestamp, u64_col};
use crate::db::{backend, is_constraint};

fn request_row(row: &postgres::Row) -> StoreResult<NewRequest> {
    Ok(NewRequest {
        id: get(row, 0)?,
        kind: get(row, 1)?,
        channel: get(row, 2)?,
        inquiry: get(row, 3)?,
        received_at: timestamp(row, 4)?,
        opened_by: get(row, 5)?,
        audit_index: u64_col(row, 6)?,
    })
}

fn event_row(row: &postgres::Row) -> StoreResult<StoredRequestEvent> {
    let kind: &str = get(row, 2)?;
    Ok(StoredRequestEvent {
        number: u64_col(row, 0)?,
        event: NewRequestEvent {
            request: get(row, 1)?,
            kind: RequestEventKind::from_code(kind)
                .ok_or_else(|| corrupt(row, 2, format!("unknown event kind `{kind}`")))?,
            body: get(row, 3)?,
            by: get(row, 4)?,
            at: timestamp(row, 5)?,
            audit_index: u64_col(row, 6)?,
        },
    })
}

impl RequestStore for PgStore {
    fn add_request(&self, r: &NewRequest) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.execute(
            "INSERT INTO subject_requests (id, kind, channel, inquiry, received_at, opened_by, audit_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&r.id, &r.kind, &r.channel, &r.inquiry, &micros(r.received_at), &r.opened_by, &bigint(r.audit_index)?],
        )
        .map_err(|e| {
            if is_constraint(&e) {
                StoreError::Conflict(format!("request id `{}` is already used", r.id))
            } else {
                backend(e)
            }
        })?;
        Ok(())
    }

    fn add_request_event(&self, e: &NewRequestEvent) -> StoreResult<u64> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let known = tx
            .query_opt("SELECT 1 FROM subject_requests WHERE id = $1 FOR UPDATE", &[&e.request])
            .map_err(backend)?
            .is_some();
        if !known {
            return Err(StoreError::NotFound(format!("request `{}`", e.request)));
        }
        let row = tx
            .query_one(
                "INSERT INTO subject_request_events (request, kind, body, by_principal, at, audit_index)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING number",
                &[&e.request, &e.kind.code(), &e.body, &e.by, &micros(e.at), &bigint(e.audit_index)?],
            )
            .map_err(|err| {
                if is_constraint(&err) {
                    StoreError::Conflict(format!("request `{}` has its outcome already", e.request))
                } else {
                    backend(err)
                }
            })?;
        let number = u64_col(&row, 0)?;
        tx.commit()?;
        Ok(number)
    }

    fn requests(&self) -> StoreResult<Vec<StoredRequest>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT id, kind, channel, inquiry, received_at, opened_by, audit_index FROM subject_requests
                 ORDER BY received_at, audit_index, id",
                &[],
            )
            .map_err(backend)?;
        let mut all = rows
            .iter()
            .map(|row| Ok(StoredRequest { request: request_row(row)?, events: Vec::new() }))
            .collect::<StoreResult<Vec<_>>>()?;
        let rows = conn
            .query(
                "SELECT number, request, kind, body, by_principal, at, audit_index FROM subject_request_events
                 ORDER BY number",
                &[],
            )
            .map_err(backend)?;
        for row in &rows {
            let event = event_row(row)?;
            if let Some(r) = all.iter_mut().find(|r| r.request.id == event.event.request) {
                r.events.push(event);
            }
        }
        Ok(all)
    }

    fn request(&self, id: &str) -> StoreResult<Option<StoredRequest>> {
        let mut conn = self.conn()?;
        let Some(row) = conn
            .query_opt(
                "SELECT id, kind, channel, inquiry, received_at, opened_by, audit_index FROM subject_requests
                 WHERE id = $1",
                &[&id],
            )
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let request = request_row(&row)?;
        let rows = conn
            .query(
                "SELECT number, request, kind, body, by_principal, at, audit_index FROM subject_request_events
                 WHERE request = $1 ORDER BY number",
                &[&id],
            )
            .map_err(backend)?;
        let events = rows.iter().map(event_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(StoredRequest { request, events }))
    }

    fn add_use_stops(&self, stops: &[UseStop]) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        for u in stops {
            let row = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM vault_subscribers WHERE id = $1),
                            EXISTS (SELECT 1 FROM subject_requests WHERE id = $2)",
                    &[&u.subscriber, &u.request],
                )
                .map_err(backend)?;
            let (subscriber, request): (bool, bool) = (get(&row, 0)?, get(&row, 1)?);
            if !subscriber {
                return Err(StoreError::NotFound(format!("subscriber `{}`", u.subscriber)));
            }
            if !request {
                return Err(StoreError::NotFound(format!("request `{}`", u.request)));
            }
            tx.execute(
                "INSERT INTO use_stops (subscriber, kind, purpose, stopped, request, by_principal, at, audit_index)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &u.subscriber,
                    &u.kind.code(),
                    &u.purpose,
                    &u.stopped,
                    &u.request,
                    &u.by,
                    &micros(u.at),
                    &bigint(u.audit_index)?,
                ],
            )
            .map_err(backend)?;
        }
        tx.commit()?;
        Ok(())
    }

    fn use_stops(&self, subscriber: &str) -> StoreResult<Vec<UseStop>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT subscriber, kind, purpose, stopped, request, by_principal, at, audit_index FROM use_stops
                 WHERE subscriber = $1 ORDER BY number",
                &[&subscriber],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let kind: &str = get(row, 1)?;
                Ok(UseStop {
                    subscriber: get(row, 0)?,
                    kind: StopKind::from_code(kind).ok_or_else(|| corrupt(row, 1, format!("unknown stop `{kind}`")))?,
                    purpose: get(row, 2)?,
                    stopped: get(row, 3)?,
                    request: get(row, 4)?,
                    by: get(row, 5)?,
                    at: timestamp(row, 6)?,
                    audit_index: u64_col(row, 7)?,
                })
            })
            .collect()
    }
}
