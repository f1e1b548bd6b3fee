//! [`ZoneStore`] on SQLite (`0022_zones.sql`): the register replaced whole per zone, the
//! entry/exit log append-only (triggers), a batch of badge events in one transaction.

use jiff::Timestamp;
use rusqlite::params;
use tokutei_store::zones::{HandlingZone, NewPresence, PresenceEvent, PresenceFilter, PresenceKind, ZoneStore};
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;
use crate::oversight::{bigint, conversion, index, is_constraint, ts};

const PRESENCE_COLUMNS: &str = "id, person, zone, kind, at, source, recorded_at, audit_index";

fn presence_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PresenceEvent> {
    let kind: String = r.get(3)?;
    Ok(PresenceEvent {
        id: index(0, r.get(0)?)?,
        person: r.get(1)?,
        zone: r.get(2)?,
        kind: PresenceKind::from_code(&kind).ok_or_else(|| conversion(3, format!("`{kind}` is not a badge event")))?,
        at: ts(4, r.get(4)?)?,
        source: r.get(5)?,
        recorded_at: ts(6, r.get(6)?)?,
        audit_index: index(7, r.get(7)?)?,
    })
}

impl ZoneStore for SqliteStore {
    fn put_zone(&self, zone: &HandlingZone) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        tx.execute(
            "INSERT INTO handling_zones (id, name, site, networks, secrecy, registered_at, updated_at, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, site = excluded.site,
                 networks = excluded.networks, secrecy = excluded.secrecy,
                 updated_at = excluded.updated_at, audit_index = excluded.audit_index",
            params![
                zone.id,
                zone.name,
                zone.site,
                zone.networks.join(" "),
                zone.secrecy,
                zone.registered_at.as_microsecond(),
                zone.updated_at.as_microsecond(),
                bigint(zone.audit_index)?
            ],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)
    }

    fn zones(&self) -> StoreResult<Vec<HandlingZone>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare(
                "SELECT id, name, site, networks, secrecy, registered_at, updated_at, audit_index
                 FROM handling_zones ORDER BY id",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| {
                let networks: String = r.get(3)?;
                Ok(HandlingZone {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    site: r.get(2)?,
                    networks: networks.split_whitespace().map(str::to_string).collect(),
                    secrecy: r.get(4)?,
                    registered_at: ts(5, r.get(5)?)?,
                    updated_at: ts(6, r.get(6)?)?,
                    audit_index: index(7, r.get(7)?)?,
                })
            })
            .map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn add_presence(&self, events: &[NewPresence]) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO presence_events (person, zone, kind, at, source, recorded_at, audit_index)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(backend)?;
            for e in events {
                stmt.execute(params![
                    e.person,
                    e.zone,
                    e.kind.code(),
                    e.at.as_microsecond(),
                    e.source,
                    e.recorded_at.as_microsecond(),
                    bigint(e.audit_index)?
                ])
                .map_err(|err| {
                    if is_constraint(&err) {
                        StoreError::Conflict(format!("zone `{}` is not registered", e.zone))
                    } else {
                        backend(err)
                    }
                })?;
            }
        }
        tx.commit().map_err(backend)
    }

    fn latest_presence(&self, person: &str, now: Timestamp) -> StoreResult<Vec<PresenceEvent>> {
        let conn = self.reader()?;
        let sql = format!(
            "SELECT {PRESENCE_COLUMNS} FROM (
                 SELECT *, ROW_NUMBER() OVER (PARTITION BY zone ORDER BY at DESC, id DESC) AS n
                 FROM presence_events WHERE person = ?1 AND at <= ?2
             ) WHERE n = 1 ORDER BY zone"
        );
        let mut stmt = conn.prepare(&sql).map_err(backend)?;
        let rows = stmt.query_map(params![person, now.as_microsecond()], presence_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn presence_log(&self, filter: &PresenceFilter, limit: usize) -> StoreResult<Vec<PresenceEvent>> {
        let conn = self.reader()?;
        let sql = format!(
            "SELECT {PRESENCE_COLUMNS} FROM presence_events
             WHERE (?1 IS NULL OR person = ?1) AND (?2 IS NULL OR zone = ?2)
             ORDER BY at DESC, id DESC LIMIT ?3"
        );
        let mut stmt = conn.prepare(&sql).map_err(backend)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![filter.person, filter.zone, limit], presence_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance_and_the_database_guards() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap();
        tokutei_store::conformance::zones::run(&store);
        let conn = store.writer();
        for sql in ["UPDATE presence_events SET kind = 'exit'", "DELETE FROM presence_events"] {
            let err = conn.execute_batch(sql).expect_err(sql);
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
    }
}
