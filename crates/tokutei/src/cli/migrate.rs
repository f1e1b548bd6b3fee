//! `tokutei migrate`: bring the database schema up to date — the embedded SQLite database of
//! the data directory, or PostgreSQL with `--database-url`. Migrations are forward-only and
//! carry the same names on both backends; a database written by a newer tokutei is refused.
//! The server also migrates at start; this command does it ahead of a rollout.

use serde::Serialize;

use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Serialize)]
struct Migrated {
    backend: &'static str,
    schema_version: u32,
    migrations: Vec<&'static str>,
}

pub fn run(global: &GlobalArgs) -> anyhow::Result<Report> {
    let (backend, version, names): (&'static str, u32, Vec<&'static str>) = match &global.database_url {
        Some(url) => {
            crate::backend::Database::postgres(url)?;
            let names = tokutei_store_postgres::MIGRATIONS.iter().map(|(n, _)| *n).collect();
            ("postgresql", tokutei_store_postgres::SCHEMA_VERSION, names)
        }
        None => {
            global.data_dir().open_store()?;
            let names = tokutei_store_sqlite::MIGRATIONS.iter().map(|(n, _)| *n).collect();
            ("sqlite", tokutei_store_sqlite::SCHEMA_VERSION, names)
        }
    };
    Ok(Report::new(
        format!("{backend} schema is at version {version} ({})\n", names.last().copied().unwrap_or("none")),
        Migrated { backend, schema_version: version, migrations: names },
    ))
}
