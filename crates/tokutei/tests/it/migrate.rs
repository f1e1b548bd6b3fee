//! `tokutei migrate` on both backends: the embedded SQLite database of a data directory, and
//! PostgreSQL (a fresh database on 127.0.0.1:5432, dropped afterwards).

use crate::util::TestEnv;

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

/// A fresh PostgreSQL database, dropped on drop.
struct FreshDatabase {
    admin: String,
    name: String,
}

impl FreshDatabase {
    fn new() -> FreshDatabase {
        let admin = std::env::var("TOKUTEI_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
        let name = format!("tokutei_it_{}_{}", std::process::id(), jiff::Timestamp::now().as_microsecond());
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("PostgreSQL on 127.0.0.1:5432");
        client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        FreshDatabase { admin, name }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
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
    // Other commands do not run on PostgreSQL yet, and say so.
    let run = env.run(&["--database-url", &url, "staff", "list"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("tokutei migrate"), "{}", run.stderr);
}
