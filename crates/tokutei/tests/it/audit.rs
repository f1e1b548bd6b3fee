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
    for table in ["ledger_entries", "ledger_nodes", "ledger_checkpoints"] {
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
    }
    // The human form names it too.
    let text = env.run(&["audit", "verify"]);
    text.assert_code(1);
    let named = match expected {
        Expected::Index(i) => format!("entry {i}:"),
        Expected::Checkpoint(id) => format!("checkpoint {id} "),
    };
    assert!(text.stdout.contains(&named), "{}", text.stdout);
}

#[derive(Debug, Clone, Copy)]
enum Expected {
    Index(u64),
    Checkpoint(u64),
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
        c.execute("DELETE FROM ledger_nodes", []).unwrap();
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
