//! `tokutei audit …` end to end: the tamper suite (edit the SQLite file behind tokutei's back
//! and `audit verify` must exit 1 naming the first bad index or the bad checkpoint), proofs
//! checked with no database, queries, and the SIGKILL crash test.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use rusqlite::{Connection, params};
use serde_json::Value;

use crate::util::TestEnv;

/// A ledger of 50 entries with checkpoints at sizes 20 and 50.
fn ledger() -> TestEnv {
    let env = TestEnv::new();
    env.run(&["audit", "append-load", "--appenders", "4", "--count", "20"]).assert_code(0);
    env.run(&["audit", "checkpoint"]).assert_code(0);
    env.run(&["audit", "append-load", "--appenders", "4", "--count", "30"]).assert_code(0);
    env.run(&["audit", "checkpoint"]).assert_code(0);
    let ok = env.run(&["audit", "verify", "--json"]);
    ok.assert_code(0);
    assert_eq!(ok.json()["entries"], 50);
    assert_eq!(ok.json()["checkpoints"], 2);
    env
}

/// Open the database file directly, as an attacker with file access would, and drop the
/// append-only triggers.
fn tamper(env: &TestEnv, sql: impl FnOnce(&Connection)) {
    let conn = Connection::open(env.data().join("tokutei.sqlite3")).unwrap();
    for table in ["ledger_entries", "ledger_subjects", "ledger_nodes", "ledger_checkpoints"] {
        for op in ["update", "delete"] {
            conn.execute_batch(&format!("DROP TRIGGER IF EXISTS {table}_no_{op};")).unwrap();
        }
    }
    sql(&conn);
}

fn body(conn: &Connection, idx: i64) -> (Vec<u8>, Vec<u8>) {
    conn.query_row("SELECT body, leaf FROM ledger_entries WHERE idx = ?1", [idx], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
}

/// `audit verify` exits 1 and its JSON names `expected` (an index, or a checkpoint id).
#[track_caller]
fn check(env: &TestEnv, expected: Expected) {
    let run = env.run(&["audit", "verify", "--json"]);
    run.assert_code(1);
    let doc = run.json();
    assert_eq!(doc["ok"], false);
    match expected {
        Expected::Index(i) => {
            assert_eq!(doc["first_bad_index"], i, "{doc:#}");
            assert_eq!(doc["failure"]["kind"], "entry");
        }
        Expected::Checkpoint(id) => {
            assert_eq!(doc["failure"]["kind"], "checkpoint", "{doc:#}");
            assert_eq!(doc["failure"]["id"], id, "{doc:#}");
        }
        Expected::Node { level, node } => {
            assert_eq!(doc["failure"]["kind"], "node", "{doc:#}");
            assert_eq!((doc["failure"]["level"].as_u64(), doc["failure"]["node"].as_u64()), (Some(level), Some(node)));
        }
    }
    // The human form names it too.
    let text = env.run(&["audit", "verify"]);
    text.assert_code(1);
    let named = match expected {
        Expected::Index(i) => format!("entry {i}:"),
        Expected::Checkpoint(id) => format!("checkpoint {id} "),
        Expected::Node { level, node } => format!("tree node at level {level}, index {node}"),
    };
    assert!(text.stdout.contains(&named), "{}", text.stdout);
}

#[derive(Debug, Clone, Copy)]
enum Expected {
    Index(u64),
    Checkpoint(u64),
    Node { level: u64, node: u64 },
}

#[test]
fn editing_a_byte_of_an_entry_names_it() {
    let env = ledger();
    tamper(&env, |c| {
        let (mut b, _) = body(c, 7);
        let last = b.len() - 1;
        b[last] ^= 0x01;
        c.execute("UPDATE ledger_entries SET body = ?1 WHERE idx = 7", params![b]).unwrap();
    });
    check(&env, Expected::Index(7));
}

#[test]
fn editing_an_entry_and_its_leaf_hash_is_caught_by_the_checkpoint() {
    let env = ledger();
    tamper(&env, |c| {
        let (mut b, _) = body(c, 33);
        let last = b.len() - 1;
        b[last] ^= 0x01;
        let mut leaf_input = vec![0u8];
        leaf_input.extend_from_slice(&b);
        use sha2::Digest;
        let leaf = sha2::Sha256::digest(&leaf_input).to_vec();
        c.execute("UPDATE ledger_entries SET body = ?1, leaf = ?2 WHERE idx = 33", params![b, leaf]).unwrap();
    });
    check(&env, Expected::Checkpoint(2));
}

#[test]
fn deleting_an_entry_names_it() {
    let env = ledger();
    tamper(&env, |c| {
        c.execute("DELETE FROM ledger_entries WHERE idx = 12", []).unwrap();
    });
    check(&env, Expected::Index(12));
}

#[test]
fn inserting_an_entry_names_it() {
    let env = ledger();
    tamper(&env, |c| {
        // Make room at 30 (two steps to keep the primary key unique), then insert a copy.
        c.execute("UPDATE ledger_entries SET idx = -idx - 1 WHERE idx >= 30", []).unwrap();
        c.execute("UPDATE ledger_entries SET idx = -idx WHERE idx < 0", []).unwrap();
        let (b, l) = body(c, 5);
        c.execute(
            "INSERT INTO ledger_entries (idx, time, staff, purpose, decision, body, leaf) VALUES (30, 0, 'x', 'billing', 1, ?1, ?2)",
            params![b, l],
        )
        .unwrap();
    });
    check(&env, Expected::Index(30));
}

#[test]
fn swapping_two_entries_names_the_first() {
    let env = ledger();
    tamper(&env, |c| {
        let (b3, l3) = body(c, 3);
        let (b9, l9) = body(c, 9);
        c.execute("UPDATE ledger_entries SET body = ?1, leaf = ?2 WHERE idx = 3", params![b9, l9]).unwrap();
        c.execute("UPDATE ledger_entries SET body = ?1, leaf = ?2 WHERE idx = 9", params![b3, l3]).unwrap();
    });
    check(&env, Expected::Index(3));
}

#[test]
fn truncating_the_tail_names_the_first_missing_index() {
    let env = ledger();
    tamper(&env, |c| {
        c.execute("DELETE FROM ledger_entries WHERE idx >= 45", []).unwrap();
        c.execute("DELETE FROM ledger_subjects WHERE idx >= 45", []).unwrap();
        c.execute("DELETE FROM ledger_nodes WHERE ((idx + 1) << level) > 45", []).unwrap();
    });
    check(&env, Expected::Index(45));
}

#[test]
fn replacing_a_checkpoint_names_it() {
    // An edited note.
    let env = ledger();
    tamper(&env, |c| {
        let note: String = c.query_row("SELECT note FROM ledger_checkpoints WHERE id = 1", [], |r| r.get(0)).unwrap();
        let forged = note.replacen("\n20\n", "\n19\n", 1);
        assert_ne!(forged, note);
        c.execute("UPDATE ledger_checkpoints SET note = ?1, size = 19 WHERE id = 1", [forged]).unwrap();
    });
    check(&env, Expected::Checkpoint(1));

    // A validly signed note of another ledger (another key and origin).
    let env = ledger();
    let other = TestEnv::new();
    other.run(&["audit", "append-load", "--count", "50"]).assert_code(0);
    let foreign = other.run(&["audit", "checkpoint"]);
    foreign.assert_code(0);
    tamper(&env, |c| {
        c.execute("UPDATE ledger_checkpoints SET note = ?1 WHERE id = 2", [&foreign.stdout]).unwrap();
    });
    check(&env, Expected::Checkpoint(2));
}

/// Cut the ledger to its first `keep` entries as a careful attacker would: the entries, their
/// subscriber rows, the interior nodes over them and every checkpoint past them, so that the
/// database alone is a consistent, shorter ledger.
fn cut_to(c: &Connection, keep: i64) {
    c.execute("DELETE FROM ledger_entries WHERE idx >= ?1", [keep]).unwrap();
    c.execute("DELETE FROM ledger_subjects WHERE idx >= ?1", [keep]).unwrap();
    c.execute("DELETE FROM ledger_nodes WHERE ((idx + 1) << level) > ?1", [keep]).unwrap();
    c.execute("DELETE FROM ledger_checkpoints WHERE size > ?1", [keep]).unwrap();
}

#[test]
fn a_tail_cut_with_its_checkpoints_is_named_against_the_trusted_checkpoint() {
    let env = ledger();
    // The operator keeps a copy of the remembered checkpoint elsewhere.
    let trusted = env.write("trusted-checkpoint", std::fs::read(env.data().join("checkpoint")).unwrap());
    tamper(&env, |c| cut_to(c, 30));
    // With the remembered file: named at once.
    let run = env.run(&["audit", "verify", "--json"]);
    run.assert_code(1);
    assert_eq!(run.json()["first_bad_index"], 30, "{}", run.stdout);
    assert!(run.json()["failure"]["problem"].as_str().unwrap().contains("signed 50 entries but only 30"));
    // The attacker removes that file too: the database alone looks whole ...
    std::fs::remove_file(env.data().join("checkpoint")).unwrap();
    let alone = env.run(&["audit", "verify", "--json"]);
    alone.assert_code(0);
    assert_eq!(alone.json()["entries"], 30);
    // ... and the operator's copy names the cut.
    let run = env.run(&["audit", "verify", "--trusted", trusted.to_str().unwrap(), "--json"]);
    run.assert_code(1);
    assert_eq!(run.json()["first_bad_index"], 30, "{}", run.stdout);
    let text = env.run(&["audit", "verify", "--trusted", trusted.to_str().unwrap()]);
    assert!(text.stdout.contains("entry 30: missing: the trusted checkpoint signed 50 entries"), "{}", text.stdout);
}

#[test]
fn a_tail_after_the_latest_stored_checkpoint_is_not_lost_silently() {
    // Every command that appends signs when it ends, so the tail is covered by the
    // remembered checkpoint even when the stored ones are deleted with it.
    let env = TestEnv::new();
    env.run(&["init"]).assert_code(0);
    let size: i64 = {
        let conn = Connection::open(env.data().join("tokutei.sqlite3")).unwrap();
        conn.query_row("SELECT COUNT(*) FROM ledger_entries", [], |r| r.get(0)).unwrap()
    };
    assert!(size > 0);
    let remembered = std::fs::read_to_string(env.data().join("checkpoint")).unwrap();
    assert_eq!(remembered.lines().nth(1), Some(size.to_string().as_str()), "{remembered}");
    tamper(&env, |c| cut_to(c, size - 1));
    let run = env.run(&["audit", "verify", "--json"]);
    run.assert_code(1);
    assert_eq!(run.json()["first_bad_index"], size - 1, "{}", run.stdout);
}

#[test]
fn a_rewritten_history_signed_with_the_stolen_key_is_named_as_a_fork() {
    let env = ledger();
    let trusted = env.write("trusted-checkpoint", std::fs::read(env.data().join("checkpoint")).unwrap());
    // Everything deleted, and another 50 entries appended and signed with the key on disk.
    tamper(&env, |c| cut_to(c, 0));
    std::fs::remove_file(env.data().join("checkpoint")).unwrap();
    env.run(&["audit", "append-load", "--appenders", "1", "--count", "50"]).assert_code(0);
    env.run(&["audit", "checkpoint"]).assert_code(0);
    env.run(&["audit", "verify"]).assert_code(0);
    let run = env.run(&["audit", "verify", "--trusted", trusted.to_str().unwrap(), "--json"]);
    run.assert_code(1);
    let doc = run.json();
    assert_eq!(doc["failure"]["kind"], "trusted", "{doc:#}");
    assert_eq!(doc["failure"]["size"], 50);
    assert!(doc["failure"]["problem"].as_str().unwrap().contains("forked"), "{doc:#}");
    // A file that is not a checkpoint of this ledger is refused as the trusted one.
    let other = TestEnv::new();
    other.run(&["audit", "append-load", "--count", "5"]).assert_code(0);
    let foreign = env.write("foreign-checkpoint", other.run(&["audit", "checkpoint"]).stdout);
    let run = env.run(&["audit", "verify", "--trusted", foreign.to_str().unwrap(), "--json"]);
    run.assert_code(1);
    assert_eq!(run.json()["failure"]["kind"], "trusted");
}

#[test]
fn serve_refuses_a_ledger_cut_below_its_remembered_checkpoint() {
    let env = ledger();
    tamper(&env, |c| cut_to(c, 40));
    let run = env.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("holds 40 entries but the checkpoint remembered"), "{}", run.stderr);
    // A rewritten history of the same size is refused too.
    let env = ledger();
    tamper(&env, |c| cut_to(c, 0));
    env.run(&["audit", "append-load", "--appenders", "1", "--count", "50"]).assert_code(0);
    let run = env.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("forked or rewritten"), "{}", run.stderr);
}

#[test]
fn deleting_a_subscribers_index_rows_names_the_entry() {
    let env = ledger();
    let (subscriber, idx): (String, i64) = {
        let conn = Connection::open(env.data().join("tokutei.sqlite3")).unwrap();
        conn.query_row("SELECT subscriber, idx FROM ledger_subjects WHERE idx = 17", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
    };
    // The guard holds without the attacker dropping it.
    {
        let conn = Connection::open(env.data().join("tokutei.sqlite3")).unwrap();
        let err = conn.execute("DELETE FROM ledger_subjects WHERE subscriber = ?1", [&subscriber]).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        let err = conn.execute("UPDATE ledger_subjects SET subscriber = 'x' WHERE idx = 17", []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    tamper(&env, |c| {
        c.execute("DELETE FROM ledger_subjects WHERE subscriber = ?1", [&subscriber]).unwrap();
    });
    let first: i64 = {
        let conn = Connection::open(env.data().join("tokutei.sqlite3")).unwrap();
        conn.query_row("SELECT MIN(idx) FROM ledger_entries WHERE idx <= ?1", [idx], |r| r.get(0)).unwrap()
    };
    let run = env.run(&["audit", "verify", "--json"]);
    run.assert_code(1);
    let bad = run.json()["first_bad_index"].as_i64().unwrap();
    assert!(bad >= first && bad <= idx, "{}", run.stdout);
    assert!(run.stdout.contains("subscribers"), "{}", run.stdout);
    // The subscriber id itself is not in the report.
    assert!(!run.stdout.contains(&subscriber), "{}", run.stdout);
}

#[test]
fn editing_the_staff_column_names_the_entry() {
    let env = ledger();
    tamper(&env, |c| {
        c.execute("UPDATE ledger_entries SET staff = 'someone-else' WHERE idx = 21", []).unwrap();
    });
    check(&env, Expected::Index(21));
    let run = env.run(&["audit", "verify"]);
    assert!(run.stdout.contains("(staff)"), "{}", run.stdout);
}

#[test]
fn adding_index_rows_for_no_entry_is_named() {
    let env = ledger();
    tamper(&env, |c| {
        c.execute("INSERT INTO ledger_subjects (subscriber, idx) VALUES ('sub-x', 4000)", []).unwrap();
    });
    let run = env.run(&["audit", "verify", "--json"]);
    run.assert_code(1);
    assert!(run.stdout.contains("rows naming no stored entry"), "{}", run.stdout);
}

#[test]
fn a_corrupted_interior_node_is_named() {
    let env = ledger();
    tamper(&env, |c| {
        c.execute("UPDATE ledger_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 3", []).unwrap();
    });
    check(&env, Expected::Node { level: 2, node: 3 });
    // A missing one too.
    let env = ledger();
    tamper(&env, |c| {
        c.execute("DELETE FROM ledger_nodes WHERE level = 1 AND idx = 20", []).unwrap();
    });
    check(&env, Expected::Node { level: 1, node: 20 });
}

#[test]
fn a_damaged_backup_is_not_restored() {
    let env = ledger();
    let backup = env.root().join("ledger.backup");
    env.run(&["backup", "--to", backup.to_str().unwrap()]).assert_code(0);
    {
        let conn = Connection::open(&backup).unwrap();
        conn.execute_batch("DROP TRIGGER ledger_nodes_no_update;").unwrap();
        conn.execute("UPDATE ledger_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 2", []).unwrap();
    }
    let before = std::fs::read(env.data().join("tokutei.sqlite3")).unwrap();
    let run = env.run(&["restore", "--from", backup.to_str().unwrap(), "--force"]);
    run.assert_code(1);
    assert!(run.stdout.contains("was not changed"), "{}", run.stdout);
    assert_eq!(std::fs::read(env.data().join("tokutei.sqlite3")).unwrap(), before);
    env.run(&["audit", "verify"]).assert_code(0);
    assert!(!env.data().join("tokutei.restore-check").exists());
}

#[test]
fn restoring_an_older_backup_says_what_was_lost_and_serves() {
    let env = ledger();
    let backup = env.root().join("ledger.backup");
    env.run(&["backup", "--to", backup.to_str().unwrap()]).assert_code(0);
    env.run(&["audit", "append-load", "--count", "10"]).assert_code(0);
    env.run(&["audit", "checkpoint"]).assert_code(0);
    let run = env.run(&["restore", "--from", backup.to_str().unwrap(), "--force"]);
    run.assert_code(0);
    assert!(run.stdout.contains("signed 60 entries; the restored ledger has 50"), "{}", run.stdout);
    assert!(env.data().join("checkpoint.before-restore").exists());
    env.run(&["audit", "verify"]).assert_code(0);
}

#[test]
fn proofs_check_without_a_database() {
    let env = ledger();
    let key = env.run(&["audit", "key"]);
    key.assert_code(0);
    assert!(key.stdout.trim().starts_with("tokutei.local/"), "{}", key.stdout);
    let checkpoint = env.run(&["audit", "checkpoint"]);
    checkpoint.assert_code(0);
    assert!(checkpoint.stdout.contains("\n50\n"), "{}", checkpoint.stdout);
    let cp_file = env.write("checkpoint.txt", &checkpoint.stdout);

    let proof = env.run(&["audit", "prove", "--index", "17", "--json"]);
    proof.assert_code(0);
    let doc = proof.json();
    assert_eq!(doc["type"], "inclusion");
    assert_eq!(doc["tree_size"], 50);
    let proof_file = env.write("proof.json", &proof.stdout);

    // The auditor has no data directory at all.
    let auditor = TestEnv::new();
    let args = |proof: &str| {
        vec![
            "audit".to_string(),
            "check-proof".into(),
            proof.to_string(),
            "--checkpoint".into(),
            cp_file.to_str().unwrap().into(),
            "--key".into(),
            key.stdout.trim().into(),
            "--json".into(),
        ]
    };
    let run = |a: Vec<String>| auditor.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let ok = run(args(proof_file.to_str().unwrap()));
    ok.assert_code(0);
    assert_eq!(ok.json()["ok"], true);
    assert_eq!(ok.json()["entry"]["actor"]["kind"], "staff");
    assert!(!auditor.data().exists(), "check-proof touches no data directory");

    // A tampered proof hash, leaf or index fails with exit 1.
    let mut bad = doc.clone();
    let h = bad["hashes"][0].as_str().unwrap().to_string();
    let flipped = format!("{}{}", if h.starts_with('0') { "1" } else { "0" }, &h[1..]);
    bad["hashes"][0] = Value::String(flipped);
    run(args(&bad.to_string())).assert_code(1);
    let mut bad = doc.clone();
    bad["index"] = Value::from(18);
    run(args(&bad.to_string())).assert_code(1);

    // Another key does not accept the checkpoint.
    let other = TestEnv::new();
    other.run(&["audit", "append-load", "--count", "1"]).assert_code(0);
    let other_key = other.run(&["audit", "key"]).stdout;
    let mut a = args(proof_file.to_str().unwrap());
    a[6] = other_key.trim().to_string();
    run(a).assert_code(1);

    // Consistency from the first checkpoint to the latest.
    let cons = env.run(&["audit", "consistency", "--old", "20", "--json"]);
    cons.assert_code(0);
    assert_eq!(cons.json()["new_size"], 50);
    let ok = run(args(&cons.stdout));
    ok.assert_code(0);
    let mut bad = cons.json();
    bad["old_size"] = Value::from(21);
    run(args(&bad.to_string())).assert_code(1);
}

#[test]
fn queries_filter_and_list_by_id() {
    let env = ledger();
    let run = env.run(&["audit", "query", "--staff", "load-1", "--json"]);
    run.assert_code(0);
    let rows = run.json();
    let rows = rows.as_array().unwrap();
    assert!(!rows.is_empty());
    let mut last = -1i64;
    for row in rows {
        assert_eq!(row["actor"]["id"], "load-1");
        let id = row["id"].as_i64().unwrap();
        assert!(id > last, "index order");
        last = id;
    }
    // One appender makes entry 9 of its run a denial, so the filter has something to find.
    env.run(&["audit", "append-load", "--appenders", "1", "--count", "10"]).assert_code(0);
    let deny = env.run(&["audit", "query", "--decision", "deny", "--limit", "3", "--json"]).json();
    let deny = deny.as_array().unwrap();
    assert!(!deny.is_empty() && deny.len() <= 3);
    assert!(deny.iter().all(|r| r["event"]["decision"] == "deny"), "{deny:?}");
    let none = env.run(&["audit", "query", "--subscriber", "nobody", "--json"]);
    none.assert_code(0);
    assert_eq!(none.json(), Value::Array(vec![]));
    env.run(&["audit", "query", "--since", "not-a-time"]).assert_code(2);
}

#[test]
fn a_key_readable_by_others_is_refused() {
    let env = ledger();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = env.data().join("keys/checkpoint.ed25519");
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let run = env.run(&["audit", "verify"]);
        run.assert_code(2);
        assert!(run.stderr.contains("readable by others"), "{}", run.stderr);
    }
}

#[test]
fn appends_reported_before_sigkill_survive_it() {
    let env = TestEnv::new();
    let mut child = env
        .command(&["audit", "append-load", "--appenders", "16", "--seconds", "60", "--print"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reported = Vec::new();
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(i) = line.strip_prefix("appended ") {
            reported.push(i.parse::<u64>().unwrap());
        }
        if reported.len() >= 3000 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(reported.len() >= 3000, "the child reported {} appends", reported.len());

    let verify = env.run(&["audit", "verify", "--json"]);
    verify.assert_code(0);
    let entries = verify.json()["entries"].as_u64().unwrap();
    let max = *reported.iter().max().unwrap();
    assert!(max < entries, "reported index {max} lost: only {entries} entries after restart");
    // Every reported index is present exactly once (verify checked contiguity 0..entries).
    let conn = Connection::open(env.data().join("tokutei.sqlite3")).unwrap();
    let placeholders = reported.iter().take(500).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let found: i64 = conn
        .query_row(&format!("SELECT COUNT(*) FROM ledger_entries WHERE idx IN ({placeholders})"), [], |r| r.get(0))
        .unwrap();
    assert_eq!(found as usize, reported.iter().take(500).collect::<std::collections::BTreeSet<_>>().len());
    // The restarted ledger keeps appending after the surviving entries.
    env.run(&["audit", "append-load", "--count", "5"]).assert_code(0);
    env.run(&["audit", "checkpoint"]).assert_code(0);
    env.run(&["audit", "verify"]).assert_code(0);
}
