//! Moving and keeping data: `tokutei migrate-store` (SQLite → PostgreSQL and back, the ledger
//! root checked on both sides), `tokutei backup` taken while the ledger is being written and
//! `tokutei restore`, the PostgreSQL `pg_dump -Fc` / `pg_restore` procedure of
//! docs/operations.md, and a database at an old schema version that `tokutei migrate`
//! upgrades with its data intact.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tokutei_store::snapshot::{LEDGER_PREFIX, SEEDED_TABLES, SnapshotStore};

use crate::access::demo_with_handler_of;
use crate::util::{FreshDatabase, TestEnv};

/// Every row of every table of a SQLite database (but the migration log), in key order.
fn all_rows(file: &Path) -> BTreeMap<String, Vec<Vec<rusqlite::types::Value>>> {
    let conn = rusqlite::Connection::open(file).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .map(|t| {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
            let width = stmt.column_count();
            let mut rows: Vec<Vec<rusqlite::types::Value>> = stmt
                .query_map([], |r| (0..width).map(|i| r.get(i)).collect())
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            (t, rows)
        })
        .collect()
}

/// Copy what a backup does not hold — the data directory's keys, ledger origin and
/// configuration, everything but the database — to `to`'s data directory.
pub(crate) fn copy_keys_and_config(from: &TestEnv, to: &TestEnv) {
    let mut stack = vec![(from.data(), to.data())];
    while let Some((src, dst)) = stack.pop() {
        std::fs::create_dir_all(&dst).unwrap();
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            let target = dst.join(path.file_name().unwrap());
            if path.is_dir() {
                stack.push((path, target));
            } else if !path.file_name().unwrap().to_string_lossy().starts_with("tokutei.sqlite3") {
                std::fs::copy(&path, &target).unwrap();
            }
        }
    }
}

/// A demo deployment with a handler, some audited reads and denials, a consent change and a
/// signed checkpoint.
fn populated(subscribers: &str) -> TestEnv {
    let env = demo_with_handler_of(subscribers);
    for subscriber in ["HS00000001", "HS00000002", "HS00000003"] {
        env.run(&[
            "access",
            "--staff",
            "op-1",
            "--purpose",
            "support",
            "--channel",
            "phone",
            "--subscriber",
            subscriber,
        ]);
    }
    opt_out(&env, &[], "HS00000002").assert_code(0);
    with_a_failed_alert(&env);
    env.run(&["audit", "checkpoint"]).assert_code(0);
    env
}

/// An alert in the outbox with its delivery log: a test alert to a webhook nobody listens on,
/// one attempt allowed, so it has failed.
fn with_a_failed_alert(env: &TestEnv) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    env.write(
        "data/deployment.toml",
        format!(
            "[alerts]\nmax_attempts = 1\n\n[alerts.webhook]\nurl = \"http://127.0.0.1:{port}/hook\"\n\
             secret_file = \"keys/alert-webhook.secret\"\n"
        ),
    );
    let secret = env.write("data/keys/alert-webhook.secret", "a webhook secret of enough bytes");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    env.run(&["alerts", "test", "--by", "chief"]).assert_code(0);
    env.run(&["alerts", "deliver"]).assert_code(1);
}

/// `subscriber` opts out of marketing on the web (`extra` goes before the command).
fn opt_out(env: &TestEnv, extra: &[&str], subscriber: &str) -> crate::util::Run {
    let mut args = extra.to_vec();
    args.extend(["consent", "record", "--by", "chief", "--subscriber", subscriber, "--purpose", "marketing"]);
    args.extend(["--choice", "opt_out", "--channel", "web"]);
    env.run(&args)
}

fn access_once(env: &TestEnv, extra: &[&str]) -> serde_json::Value {
    let mut args = extra.to_vec();
    args.extend([
        "--json",
        "access",
        "--staff",
        "op-1",
        "--purpose",
        "support",
        "--channel",
        "phone",
        "--subscriber",
        "HS00000001",
        "--category",
        "contract.name",
    ]);
    env.run(&args).assert_code(0).json()
}

#[test]
fn migrate_store_copies_a_deployment_to_postgresql_and_back_with_the_same_ledger() {
    let env = populated("300");
    let db = FreshDatabase::new();
    let url = db.url();
    let source = format!("sqlite:{}", env.data().display());
    let run = env.run(&["--json", "migrate-store", "--from", &source, "--to", &url]);
    let out = run.assert_code(0).json();
    assert!(!run.stdout.contains(&url) && !run.stderr.contains(&url), "the URL is never printed");
    assert_eq!(out["ok"], true);
    assert_eq!(out["before"], out["after"]);
    assert!(out["before"]["size"].as_u64().unwrap() >= 5, "{out}");
    assert!(out["before"]["checkpoint"].is_array(), "the latest checkpoint came across: {out}");
    assert_eq!(out["verification"]["checked"], true);
    let tables: BTreeMap<String, u64> = out["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t[0].as_str().unwrap().to_owned(), t[1].as_u64().unwrap()))
        .collect();
    assert_eq!(tables["vault_subscribers"], 300);
    assert!(tables["staff_principals"] >= 4 && tables["consent_records"] >= 1, "{tables:?}");
    assert_eq!((tables["alerts"], tables["alert_deliveries"]), (1, 1), "the outbox came across");

    // The destination is no longer empty: a second copy is refused, exit 2, nothing written.
    let again = env.run(&["migrate-store", "--from", &source, "--to", &url]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("not empty"), "{}", again.stderr);

    // Back to SQLite in another data directory with the same keys: every row is as it was,
    // and the copy answers the gateway and verifies.
    let back = TestEnv::new();
    copy_keys_and_config(&env, &back);
    let target = format!("sqlite:{}", back.data().join("tokutei.sqlite3").display());
    back.run(&["--json", "migrate-store", "--from", &url, "--to", &target]).assert_code(0);
    let original = all_rows(&env.data().join("tokutei.sqlite3"));
    let returned = all_rows(&back.data().join("tokutei.sqlite3"));
    assert_eq!(original.keys().collect::<Vec<_>>(), returned.keys().collect::<Vec<_>>());
    for (table, rows) in &original {
        assert!(rows == &returned[table], "table `{table}` differs after SQLite → PostgreSQL → SQLite");
    }
    let read = access_once(&back, &[]);
    assert_eq!(read["subscribers"][0]["items"][0]["allowed"], true);
    back.run(&["audit", "verify"]).assert_code(0);

    // The copy on PostgreSQL serves the deployment: the gateway answers (and audits), and
    // the ledger, one entry longer, verifies.
    // Its data directory holds the keys and configuration only.
    let served = TestEnv::new();
    copy_keys_and_config(&env, &served);
    let read = access_once(&served, &["--database-url", &url]);
    assert_eq!(read["subscribers"][0]["items"][0]["allowed"], true);
    let verified = served.run(&["--json", "--database-url", &url, "audit", "verify"]).assert_code(0).json();
    assert_eq!(verified["entries"].as_u64().unwrap(), out["before"]["size"].as_u64().unwrap() + 1);
    // Identity columns continue after the copied ids: new consent records and checkpoints.
    opt_out(&served, &["--database-url", &url], "HS00000003").assert_code(0);
    let checkpoint = served.run(&["--json", "--database-url", &url, "audit", "checkpoint"]).assert_code(0).json();
    // (`access` and `consent` each signed one as they ended: ids 1 and 2 after the copied ones.)
    assert_eq!(checkpoint["id"].as_u64().unwrap(), out["checkpoints"].as_u64().unwrap() + 2, "{checkpoint}");
    served.run(&["--database-url", &url, "audit", "verify"]).assert_code(0);
}

#[test]
fn both_backends_have_the_same_tables_and_only_the_known_seeded_rows() {
    let env = TestEnv::new();
    let db = FreshDatabase::new();
    let sqlite = tokutei_store_sqlite::SqliteStore::open(&env.root().join("fresh.sqlite3")).unwrap();
    let pg = tokutei_store_postgres::PgStore::connect(&db.url()).unwrap();
    let (a, b) = (sqlite.schema().unwrap(), pg.schema().unwrap());
    assert_eq!(a.migrations, b.migrations);
    assert!(a.differences(&b).is_empty(), "{:?}", a.differences(&b));
    // Tables outside the ledger carry the same columns in both (compared as sets).
    for table in a.tables.iter().filter(|t| !t.name.starts_with(LEDGER_PREFIX)) {
        let mut ours = table.columns.clone();
        let mut theirs = b.table(&table.name).unwrap().columns.clone();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{}", table.name);
    }
    // A fresh database holds rows only where migrations seed them, and a copy expects that.
    for store in [&sqlite as &dyn SnapshotStore, &pg] {
        let seeded: Vec<String> =
            store.row_counts().unwrap().into_iter().filter(|(_, n)| *n > 0).map(|(t, _)| t).collect();
        assert_eq!(seeded, SEEDED_TABLES);
    }
}

#[test]
fn migrate_store_refuses_a_destination_that_is_not_empty_and_bad_stores() {
    let env = populated("5");
    let other = TestEnv::new();
    other.run(&["init"]).assert_code(0);
    let before = all_rows(&other.data().join("tokutei.sqlite3"));
    let run = env.run(&[
        "migrate-store",
        "--from",
        &format!("sqlite:{}", env.data().display()),
        "--to",
        &format!("sqlite:{}", other.data().display()),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not empty: table `"), "{}", run.stderr);
    assert!(all_rows(&other.data().join("tokutei.sqlite3")) == before, "nothing written");
    for (from, to, message) in [
        ("mysql://x", "sqlite:y", "expected `sqlite:PATH`"),
        ("sqlite:missing.sqlite3", "sqlite:y.sqlite3", "there is no database"),
        ("sqlite:a", "sqlite:a/", "same database"),
    ] {
        let run = env.run(&["migrate-store", "--from", from, "--to", to]);
        assert_eq!(run.code, 2, "{from} → {to}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{from} → {to}: {}", run.stderr);
    }
}

#[test]
fn backup_while_the_ledger_is_written_then_restore_and_verify() {
    let env = TestEnv::new();
    env.run(&["init"]).assert_code(0);
    // A writer appending audit entries as fast as it can for up to a minute.
    let mut writer = env
        .command(&["audit", "append-load", "--appenders", "2", "--seconds", "60", "--print"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(writer.stdout.take().unwrap()).lines();
    let mut seen = 0;
    while seen < 200 {
        let line = lines.next().expect("the writer keeps appending").unwrap();
        seen += usize::from(line.starts_with("appended"));
    }
    let file = env.root().join("backup.sqlite3");
    let run = env.run(&["--json", "backup", "--to", file.to_str().unwrap()]);
    // The writer is still going after the backup.
    assert!(lines.next().is_some());
    let _ = writer.kill();
    let _ = writer.wait();
    let out = run.assert_code(0).json();
    assert_eq!(out["verification"]["checked"], true);
    assert_eq!(out["verification"]["ok"], true);
    let backed_up = out["ledger"]["size"].as_u64().unwrap();
    assert!(backed_up >= 200, "{out}");
    assert!(!file.with_extension("partial").exists());
    // A backup never overwrites.
    assert_eq!(env.run(&["backup", "--to", file.to_str().unwrap()]).code, 2);

    // Restore into a new data directory that has the keys.
    let fresh = TestEnv::new();
    let run = fresh.run(&["restore", "--from", file.to_str().unwrap()]);
    assert_eq!(run.code, 2, "no keys yet: {}", run.stderr);
    assert!(run.stderr.contains("keys first"), "{}", run.stderr);
    copy_keys_and_config(&env, &fresh);
    // A file that is not a tokutei database is refused before anything is written.
    let junk = fresh.write("junk.sqlite3", "not a database at all");
    let run = fresh.run(&["restore", "--from", junk.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not a SQLite database"), "{}", run.stderr);
    assert!(!fresh.data().join("tokutei.sqlite3").exists());
    let out = fresh.run(&["--json", "restore", "--from", file.to_str().unwrap()]).assert_code(0).json();
    assert_eq!(out["ledger"]["size"].as_u64().unwrap(), backed_up);
    assert_eq!(out["verification"]["ok"], true);
    let verified = fresh.run(&["--json", "audit", "verify"]).assert_code(0).json();
    assert_eq!(verified["entries"].as_u64().unwrap(), backed_up);

    // The original holds data: refused without --force (nothing changed), replaced with it.
    let live = env.run(&["--json", "audit", "verify"]).assert_code(0).json()["entries"].as_u64().unwrap();
    assert!(live > backed_up);
    let run = env.run(&["restore", "--from", file.to_str().unwrap()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(env.run(&["--json", "audit", "verify"]).assert_code(0).json()["entries"].as_u64().unwrap(), live);
    env.run(&["restore", "--force", "--from", file.to_str().unwrap()]).assert_code(0);
    assert_eq!(env.run(&["--json", "audit", "verify"]).assert_code(0).json()["entries"].as_u64().unwrap(), backed_up);
}

/// `pg_dump`/`pg_restore` of the machine, as docs/operations.md says to run them.
fn pg_tool(tool: &str, args: &[&str]) {
    let status = Command::new(tool).args(args).status().unwrap_or_else(|e| panic!("cannot run `{tool}`: {e}"));
    assert!(status.success(), "`{tool} {}` failed", args.join(" "));
}

#[test]
fn a_postgresql_deployment_survives_pg_dump_and_pg_restore() {
    let env = populated("20");
    let source = FreshDatabase::new();
    let copy = FreshDatabase::new();
    let from = format!("sqlite:{}", env.data().display());
    env.run(&["migrate-store", "--from", &from, "--to", &source.url()]).assert_code(0);
    let dump: PathBuf = env.root().join("tokutei.dump");
    pg_tool("pg_dump", &["-Fc", "--no-owner", "-f", dump.to_str().unwrap(), &source.url()]);
    pg_tool("pg_restore", &["--no-owner", "--exit-on-error", "-d", &copy.url(), dump.to_str().unwrap()]);
    // The restored database holds the same deployment: its ledger verifies with the
    // deployment's key, and copied back out it is row for row the original.
    let back = TestEnv::new();
    copy_keys_and_config(&env, &back);
    let verified = back.run(&["--json", "--database-url", &copy.url(), "audit", "verify"]).assert_code(0).json();
    assert_eq!(verified["ok"], true);
    let target = format!("sqlite:{}", back.data().join("tokutei.sqlite3").display());
    let out = back.run(&["--json", "migrate-store", "--from", &copy.url(), "--to", &target]).assert_code(0).json();
    assert_eq!(out["verification"]["ok"], true);
    assert_eq!(all_rows(&env.data().join("tokutei.sqlite3")), all_rows(&back.data().join("tokutei.sqlite3")));
}

/// The fixture directory of the old-schema database.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/schema-v3").join(name)
}

#[test]
fn a_database_at_schema_version_3_upgrades_with_its_data_intact() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.data().join("keys")).unwrap();
    for name in ["keys/checkpoint.ed25519", "ledger-origin"] {
        std::fs::copy(fixture(name), env.data().join(name)).unwrap();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = env.data().join("keys/checkpoint.ed25519");
        std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let file = env.data().join("tokutei.sqlite3");
    {
        let conn = rusqlite::Connection::open(&file).unwrap();
        conn.execute_batch(&std::fs::read_to_string(fixture("database.sql")).unwrap()).unwrap();
    }
    let old = all_rows(&file);
    let version = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(version(&rusqlite::Connection::open(&file).unwrap()), 3);

    let out = env.run(&["--json", "migrate"]).assert_code(0).json();
    assert_eq!(out["schema_version"].as_u64().unwrap(), tokutei_store_sqlite::SCHEMA_VERSION as u64);
    assert_eq!(version(&rusqlite::Connection::open(&file).unwrap()), i64::from(tokutei_store_sqlite::SCHEMA_VERSION));
    // Every old row is still there, unchanged (a column added since is appended, and empty);
    // new tables hold only what migrations seed.
    let new = all_rows(&file);
    for (table, rows) in &old {
        let width = rows.first().map_or(0, Vec::len);
        let kept: Vec<Vec<rusqlite::types::Value>> =
            new[table].iter().map(|r| r[..width.min(r.len())].to_vec()).collect();
        let added_empty =
            new[table].iter().all(|r| r[width.min(r.len())..].iter().all(|v| *v == rusqlite::types::Value::Null));
        assert!(rows == &kept && added_empty, "table `{table}` changed in the upgrade");
    }
    for (table, rows) in &new {
        if !old.contains_key(table) && !SEEDED_TABLES.contains(&table.as_str()) {
            assert!(rows.is_empty(), "new table `{table}` holds rows");
        }
    }
    let verified = env.run(&["--json", "audit", "verify"]).assert_code(0).json();
    assert_eq!(verified["entries"].as_u64().unwrap(), old["ledger_entries"].len() as u64);
    assert!(verified["checkpoints"].as_u64().unwrap() >= 1);
    let policy = env.run(&["--json", "policy", "show"]);
    policy.assert_code(0);
    // And the upgraded deployment keeps working: it records new audit entries.
    env.run(&["audit", "append-load", "--count", "3"]).assert_code(0);
    env.run(&["audit", "verify"]).assert_code(0);
}
