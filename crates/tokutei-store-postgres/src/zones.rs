//! [`ZoneStore`] on PostgreSQL (`0022_zones.sql`): the register replaced whole per zone, the
//! entry/exit log append-only (triggers), a batch of badge events in one transaction.

use jiff::Timestamp;
use tokutei_store::zones::{HandlingZone, NewPresence, PresenceEvent, PresenceFilter, PresenceKind, ZoneStore};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{bigint, corrupt, get, limit, micros, timestamp, u64_col};
use crate::db::{backend, is_constraint};

const PRESENCE_COLUMNS: &str = "id, person, zone, kind, at, source, recorded_at, audit_index";

fn presence_row(r: &postgres::Row) -> StoreResult<PresenceEvent> {
    let kind: String = get(r, 3)?;
    Ok(PresenceEvent {
        id: u64_col(r, 0)?,
        person: get(r, 1)?,
        zone: get(r, 2)?,
        kind: PresenceKind::from_code(&kind).ok_or_else(|| corrupt(r, 3, format!("`{kind}` is not a badge event")))?,
        at: timestamp(r, 4)?,
        source: get(r, 5)?,
        recorded_at: timestamp(r, 6)?,
        audit_index: u64_col(r, 7)?,
    })
}

impl ZoneStore for PgStore {
    fn put_zone(&self, zone: &HandlingZone) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.execute(
            "INSERT INTO handling_zones (id, name, site, networks, secrecy, registered_at, updated_at, audit_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, site = excluded.site,
                 networks = excluded.networks, secrecy = excluded.secrecy,
                 updated_at = excluded.updated_at, audit_index = excluded.audit_index",
            &[
                &zone.id,
                &zone.name,
                &zone.site,
                &zone.networks.join(" "),
                &zone.secrecy,
                &micros(zone.registered_at),
                &micros(zone.updated_at),
                &bigint(zone.audit_index)?,
            ],
        )
        .map_err(backend)?;
        Ok(())
    }

    fn zones(&self) -> StoreResult<Vec<HandlingZone>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT id, name, site, networks, secrecy, registered_at, updated_at, audit_index
                 FROM handling_zones ORDER BY id",
                &[],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let networks: String = get(r, 3)?;
                Ok(HandlingZone {
                    id: get(r, 0)?,
                    name: get(r, 1)?,
                    site: get(r, 2)?,
                    networks: networks.split_whitespace().map(str::to_string).collect(),
                    secrecy: get(r, 4)?,
                    registered_at: timestamp(r, 5)?,
                    updated_at: timestamp(r, 6)?,
                    audit_index: u64_col(r, 7)?,
                })
            })
            .collect()
    }

    fn add_presence(&self, events: &[NewPresence]) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        for e in events {
            tx.execute(
                "INSERT INTO presence_events (person, zone, kind, at, source, recorded_at, audit_index)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &e.person,
                    &e.zone,
                    &e.kind.code(),
                    &micros(e.at),
                    &e.source,
                    &micros(e.recorded_at),
                    &bigint(e.audit_index)?,
                ],
            )
            .map_err(|err| {
                if is_constraint(&err) {
                    StoreError::Conflict(format!("zone `{}` is not registered", e.zone))
                } else {
                    backend(err)
                }
            })?;
        }
        tx.commit()
    }

    fn latest_presence(&self, person: &str, now: Timestamp) -> StoreResult<Vec<PresenceEvent>> {
        let mut conn = self.conn()?;
        let sql = format!(
            "SELECT DISTINCT ON (zone) {PRESENCE_COLUMNS} FROM presence_events
             WHERE person = $1 AND at <= $2 ORDER BY zone, at DESC, id DESC"
        );
        let rows = conn.query(&sql, &[&person, &micros(now)]).map_err(backend)?;
        rows.iter().map(presence_row).collect()
    }

    fn presence_log(&self, filter: &PresenceFilter, limit_to: usize) -> StoreResult<Vec<PresenceEvent>> {
        let mut conn = self.conn()?;
        let sql = format!(
            "SELECT {PRESENCE_COLUMNS} FROM presence_events
             WHERE ($1::TEXT IS NULL OR person = $1) AND ($2::TEXT IS NULL OR zone = $2)
             ORDER BY at DESC, id DESC LIMIT $3"
        );
        let rows = conn.query(&sql, &[&filter.person, &filter.zone, &limit(limit_to)]).map_err(backend)?;
        rows.iter().map(presence_row).collect()
    }
}
