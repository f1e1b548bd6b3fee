//! `tokutei migrate` on both backends: the embedded SQLite database of a data directory, and
//! PostgreSQL (a fresh database on 127.0.0.1:5432, dropped afterwards).

use crate::util::{FreshDatabase, TestEnv};

#[test]
fn migrate_brings_sqlite_up_to_date_and_needs_an_initialised_directory() {
    let env = TestEnv::new();
    let run = env.run(&["migrate"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not initialised"), "{}", run.stderr);
    env.run(&["init"]).assert_code(0);
    let out = env.run(&["--json", "migrate"]).assert_code(0).json();
    assert_eq!(out["backend"], "sqlite");
    assert_eq!(out["schema_version"].as_u64().unwrap(), out["migrations"].as_array().unwrap().len() as u64);
    env.run(&["--json", "migrate"]).assert_code(0);
}

#[test]
fn migrate_brings_postgresql_up_to_date_with_the_same_migration_names() {
    let db = FreshDatabase::new();
    let env = TestEnv::new();
    let url = db.url();
    let pg = env.run(&["--json", "--database-url", &url, "migrate"]).assert_code(0).json();
    assert_eq!(pg["backend"], "postgresql");
    env.run(&["--json", "--database-url", &url, "migrate"]).assert_code(0);
    env.run(&["init"]).assert_code(0);
    let sqlite = env.run(&["--json", "migrate"]).assert_code(0).json();
    assert_eq!(pg["migrations"], sqlite["migrations"], "both backends carry the same migrations");
    // The data directory belongs to the SQLite deployment: PostgreSQL commands refuse it.
    let run = env.run(&["--database-url", &url, "staff", "list"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("embedded SQLite deployment"), "{}", run.stderr);
}
