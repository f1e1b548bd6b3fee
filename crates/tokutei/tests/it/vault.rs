//! The subscriber vault end to end: import, no plaintext at rest, ciphertexts bound to their
//! rows, key rotation, erasure, retention, and import failures (malformed rows, Shift_JIS,
//! re-runs, a killed import).

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::util::TestEnv;

const HEADER: &str = "subscriber,service,state,started_on,terminated_on,method,source,provider_name,provider_address,provider_representative,provider_obtained_by,collected_at,collected_by,contract.name,contract.name_kana,contract.phone,contract.email,contract.number,comm.auth_log";

/// Distinctive plaintexts the no-plaintext test greps for.
const NAMES: [&str; 3] = ["鷹司 瑠璃子", "綾小路 きみまろ", "Zebediah Quill"];
const PHONES: [&str; 3] = ["090-3141-5926", "080-2718-2818", "070-1618-0339"];
const EMAILS: [&str; 3] = ["ruriko.takatsukasa@example.jp", "kimimaro@example.ne.jp", "zq@example.com"];

fn fixture_policy() -> String {
    format!("{}/tests/it/fixtures/vault-policy.toml", env!("CARGO_MANIFEST_DIR"))
}

fn init(env: &TestEnv) {
    env.run(&["init", "--policy", &fixture_policy()]).assert_code(0);
}

pub(crate) fn small_csv() -> String {
    let mut csv = format!("{HEADER}\n");
    for i in 0..3 {
        csv.push_str(&format!(
            "V{i},fiber,active,2024-04-01,,written,direct,,,,,2026-04-01T10:00:00+09:00,shop-1,{},タカツカサ ルリコ,{},{},HZ-{i:08},\n",
            NAMES[i], PHONES[i], EMAILS[i]
        ));
        if i == 0 {
            // A further row of V0: an indirectly acquired correction of the name (version 2).
            csv.push_str("V0,,,,,electronic,indirect,代理店株式会社,東京都港区1-1,代表取締役 代理 一郎,店頭申込書,2026-05-01,agency,鷹司 瑠璃子(訂正),,,,,\n");
        }
    }
    csv
}

/// `n` generated subscribers, for tests that need several batches.
fn big_csv(n: usize) -> String {
    let mut csv = format!("{HEADER}\n");
    for i in 0..n {
        csv.push_str(&format!(
            "B{i:06},mobile,active,2025-01-01,,oral,,,,,,2026-01-01,shop,名前{i},ナマエ,090-0000-{:04},b{i}@example.jp,HZ-B{i:06},2026-01-01 auth ok\n",
            i % 10_000
        ));
    }
    csv
}

fn db(env: &TestEnv) -> rusqlite::Connection {
    rusqlite::Connection::open(env.data().join("tokutei.sqlite3")).unwrap()
}

fn count(env: &TestEnv, sql: &str) -> i64 {
    db(env).query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn no_plaintext_reaches_any_file_of_the_data_directory() {
    let env = TestEnv::new();
    init(&env);
    let csv = env.write("in.csv", small_csv());
    let run = env.run(&["subscribers", "import", csv.to_str().unwrap()]);
    run.assert_code(0);
    assert!(run.stdout.contains("3 subscribers, 16 values"), "{}", run.stdout);
    // Search through the blind index works without plaintext.
    let found = env.run(&["--json", "subscribers", "find", "--category", "contract.phone", "０９０３１４１５９２６"]);
    found.assert_code(0);
    assert_eq!(found.json()[0]["id"], "V0");

    let files = env.data_files();
    assert!(files.iter().any(|f| f.ends_with("tokutei.sqlite3")));
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for needle in NAMES.iter().chain(&PHONES).chain(&EMAILS).chain(&["09031415926", "タカツカサ"]) {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "`{needle}` found in plaintext in {}",
                file.display()
            );
        }
    }
    for out in [&run.stdout, &run.stderr, &found.stdout, &found.stderr] {
        assert!(!NAMES.iter().chain(&PHONES).chain(&EMAILS).any(|n| out.contains(n)), "{out}");
    }
}

#[test]
fn a_ciphertext_moved_to_another_row_fails_loudly() {
    let env = TestEnv::new();
    init(&env);
    let csv = env.write("in.csv", small_csv());
    env.run(&["subscribers", "import", csv.to_str().unwrap()]).assert_code(0);
    env.run(&["subscribers", "verify"]).assert_code(0);

    // Swap the phone ciphertexts of V1 and V2 (same category, other subscriber).
    let conn = db(&env);
    let get = |s: &str| -> Vec<u8> {
        conn.query_row(
            "SELECT ciphertext FROM vault_values WHERE subscriber = ?1 AND category = 'contract.phone'",
            [s],
            |r| r.get(0),
        )
        .unwrap()
    };
    let (one, two) = (get("V1"), get("V2"));
    let put = |s: &str, c: &[u8]| {
        conn.execute(
            "UPDATE vault_values SET ciphertext = ?2 WHERE subscriber = ?1 AND category = 'contract.phone'",
            rusqlite::params![s, c],
        )
        .unwrap()
    };
    put("V1", &two);
    put("V2", &one);
    // And move V0's email ciphertext onto its own name row (same subscriber, other category).
    conn.execute(
        "UPDATE vault_values SET ciphertext = (SELECT ciphertext FROM vault_values WHERE subscriber = 'V0'
           AND category = 'contract.email') WHERE subscriber = 'V0' AND category = 'contract.name' AND version = 1",
        [],
    )
    .unwrap();
    drop(conn);

    let run = env.run(&["--json", "subscribers", "verify"]);
    run.assert_code(1);
    let doc = run.json();
    let mut failed: Vec<String> =
        doc["failures"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()).collect();
    failed.sort();
    assert_eq!(failed, ["V0/contract.name/1", "V1/contract.phone/1", "V2/contract.phone/1"]);
    assert!(doc["failures"][0]["reason"].as_str().unwrap().contains("does not authenticate"));
}

#[test]
fn rotation_keeps_values_readable_and_erasure_makes_them_unreadable() {
    let env = TestEnv::new();
    init(&env);
    let csv = env.write("in.csv", small_csv());
    env.run(&["subscribers", "import", csv.to_str().unwrap()]).assert_code(0);
    let before = env.run(&["--json", "keys", "list"]);
    before.assert_code(0);
    let old_id = before.json()[0]["id"].as_str().unwrap().to_string();

    let rotated = env.run(&["--json", "keys", "rotate"]);
    rotated.assert_code(0);
    assert_eq!(rotated.json()["rewrapped"], 3);
    let new_id = rotated.json()["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, old_id);
    assert_eq!(count(&env, &format!("SELECT COUNT(*) FROM vault_data_keys WHERE kek_id = '{new_id}'")), 3);

    let verify = env.run(&["--json", "subscribers", "verify"]);
    verify.assert_code(0);
    assert_eq!(verify.json()["readable"], 16, "every value (with history) still decrypts");

    // The old KEK is no longer used and can be retired; the active one cannot.
    env.run(&["keys", "retire", &new_id]).assert_code(2);
    env.run(&["keys", "retire", &old_id]).assert_code(0);
    assert!(!env.data().join("keys").join(format!("kek-{old_id}.key")).exists());
    env.run(&["subscribers", "verify"]).assert_code(0);

    let erase = env.run(&["subscribers", "erase", "--subscriber", "V1"]);
    erase.assert_code(0);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_data_keys WHERE subscriber = 'V1'"), 0);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_blind_index WHERE subscriber = 'V1'"), 0);
    let after = env.run(&["--json", "subscribers", "verify"]);
    after.assert_code(0);
    assert_eq!(after.json()["erased_subscribers"], 1);
    assert_eq!(after.json()["erased_values"], 5);
    assert_eq!(after.json()["readable"], 11);
    let found = env.run(&["--json", "subscribers", "find", "--category", "contract.phone", PHONES[1]]);
    assert!(found.json().as_array().unwrap().is_empty());
    env.run(&["subscribers", "erase", "--subscriber", "V1"]).assert_code(2);
    // Erasure is audited by id, and the ledger still verifies after crypto-shredding.
    let erased = env.run(&["audit", "query", "--json"]).json();
    let erased: Vec<&serde_json::Value> =
        erased.as_array().unwrap().iter().filter(|e| e["event"]["action"] == "subscriber_erased").collect();
    assert_eq!(erased.len(), 1);
    assert_eq!(erased[0]["event"]["subject"], "subscriber/V1");
    env.run(&["audit", "verify"]).assert_code(0);
}

#[track_caller]
fn check_rejected(body: &str, expected: &str) {
    let env = TestEnv::new();
    init(&env);
    let csv = env.write("in.csv", format!("{HEADER}\n{body}"));
    let run = env.run(&["subscribers", "import", csv.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains(expected), "expected `{expected}` in:\n{}", run.stderr);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_subscribers"), 0, "a malformed file writes nothing");
}

#[test]
fn malformed_rows_are_rejected_whole_naming_line_and_column() {
    let good = "G1,fiber,active,2024-04-01,,written,,,,,,2026-04-01,shop,山田 太郎,,,,,\n";
    check_rejected(
        &format!("{good}G2,fiber,sleeping,2024-04-01,,written,,,,,,2026-04-01,shop,x,,,,,\n"),
        "line 3, column `state`",
    );
    check_rejected(
        &format!("{good}G2,fiber,active,2024-13-01,,written,,,,,,2026-04-01,shop,x,,,,,\n"),
        "line 3, column `started_on`",
    );
    check_rejected(
        &format!("{good}G2,cable,active,2024-01-01,,written,,,,,,2026-04-01,shop,x,,,,,\n"),
        "line 3, column `service`",
    );
    check_rejected(
        &format!("{good}G2,fiber,active,2024-01-01,,telepathy,,,,,,2026-04-01,shop,x,,,,,\n"),
        "line 3, column `method`",
    );
    check_rejected(
        &format!("{good}G2,fiber,terminated,2024-01-01,,written,,,,,,2026-04-01,shop,x,,,,,\n"),
        "line 3, column `terminated_on`",
    );
    check_rejected(
        &format!("{good}G2,fiber,active,2024-01-01,,written,indirect,代理店,,,,2026-04-01,shop,x,,,,,\n"),
        "line 3, column `provider_address`",
    );
    check_rejected(
        &format!("{good}G2,fiber,active,2024-01-01,,written,,,,,,2026-04-01,shop,x,,\n"),
        "line 3: 16 columns, but the header has 19",
    );
    check_rejected(
        &format!("{good}G2,fiber,active,2024-01-01,,written,,,,,,whenever,shop,x,,,,,\n"),
        "line 3, column `collected_at`",
    );
    // Global VPN is not a service the fixture collects birth dates for; comm.location is mobile only.
    let env = TestEnv::new();
    init(&env);
    let csv = env.write("h.csv", "subscriber,service,state,started_on,method,collected_at,collected_by,comm.location\nL1,fiber,active,2024-01-01,written,2026-01-01,shop,35.1\n");
    let run = env.run(&["subscribers", "import", csv.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("line 2, column `comm.location`: the policy does not collect"), "{}", run.stderr);
    let csv =
        env.write("u.csv", "subscriber,service,state,started_on,method,collected_at,collected_by,contract.shoe_size\n");
    let run = env.run(&["subscribers", "import", csv.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("column 8: `contract.shoe_size` is neither"), "{}", run.stderr);
    assert!(!run.stderr.contains("山田"), "errors never echo values");
}

#[test]
fn shift_jis_input_is_detected_and_reported() {
    let env = TestEnv::new();
    init(&env);
    let mut bytes = format!("{HEADER}\nJ1,fiber,active,2024-04-01,,written,,,,,,2026-04-01,shop,").into_bytes();
    bytes.extend_from_slice(&[0x8E, 0x52, 0x93, 0x63, 0x20, 0x91, 0xBE, 0x98, 0x59]); // 山田 太郎 in Shift_JIS
    bytes.extend_from_slice(b",,,,,\n");
    let csv = env.write("sjis.csv", bytes);
    let run = env.run(&["subscribers", "import", csv.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("line 2, column `contract.name`: the file is Shift_JIS"), "{}", run.stderr);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_subscribers"), 0);
}

#[test]
fn re_running_an_import_adds_nothing() {
    let env = TestEnv::new();
    init(&env);
    let csv = env.write("big.csv", big_csv(4500));
    let first = env.run(&["--json", "subscribers", "import", csv.to_str().unwrap()]);
    first.assert_code(0);
    assert_eq!(first.json()["batches_applied"], 3);
    let again = env.run(&["--json", "subscribers", "import", csv.to_str().unwrap()]);
    again.assert_code(0);
    assert_eq!(again.json()["batches_applied"], 0);
    assert_eq!(again.json()["batches_skipped"], 3);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_subscribers"), 4500);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_values"), 4500 * 6);
}

#[test]
fn a_killed_import_resumes_without_duplicates_or_partial_batches() {
    let env = TestEnv::new();
    init(&env);
    let n = 20_000;
    let csv = env.write("big.csv", big_csv(n));
    let mut child = env
        .command(&["subscribers", "import", csv.to_str().unwrap()])
        .env("TOKUTEI_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill it as soon as the first batch is committed: the next one is being written.
    let stderr = BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines() {
        if line.unwrap().contains("committed import batch 1") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let subscribers = count(&env, "SELECT COUNT(*) FROM vault_subscribers");
    let batches = count(&env, "SELECT COUNT(*) FROM vault_import_batches");
    assert!(subscribers < n as i64, "killed before the end");
    assert_eq!(subscribers, batches * 2000, "only whole batches are stored");
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_values"), subscribers * 6);

    let rerun = env.run(&["--json", "subscribers", "import", csv.to_str().unwrap()]);
    rerun.assert_code(0);
    assert_eq!(rerun.json()["batches_skipped"].as_i64().unwrap(), batches);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_subscribers"), n as i64);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_values"), n as i64 * 6);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_data_keys"), n as i64);
}

#[test]
fn retention_destroys_expired_values_and_records_each_purge() {
    let env = TestEnv::new();
    init(&env);
    // T1 terminated long ago: only categories a continuing purpose uses are kept, until their
    // period ends. A1's auth log is older than 6 months.
    let csv = env.write(
        "r.csv",
        format!(
            "{HEADER}\nA1,fiber,active,2024-01-01,,written,,,,,,2024-01-01,shop,名,,,,,old log\n\
             T1,fiber,terminated,2010-01-01,2012-01-01,written,,,,,,2010-01-01,shop,名,,090-0000-0001,,,\n"
        ),
    );
    env.run(&["subscribers", "import", csv.to_str().unwrap()]).assert_code(0);
    let dry = env.run(&["--json", "retention", "run", "--dry-run"]);
    dry.assert_code(0);
    let total = dry.json()["total"].as_u64().unwrap();
    assert_eq!(total, 3, "{}", dry.stdout);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_values"), 4, "a dry run destroys nothing");

    let run = env.run(&["--json", "retention", "run"]);
    run.assert_code(0);
    assert_eq!(run.json()["total"], 3);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_values"), 1);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_purges"), 3);
    assert_eq!(
        count(&env, "SELECT COUNT(*) FROM vault_values WHERE subscriber = 'A1' AND category = 'contract.name'"),
        1
    );
    env.run(&["--json", "retention", "run"]).assert_code(0);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_purges"), 3, "nothing more to purge");

    // The purge is in the audit ledger too (counts per category, no values), once.
    let entries = env.run(&["audit", "query", "--json"]).json();
    let purges: Vec<&serde_json::Value> =
        entries.as_array().unwrap().iter().filter(|e| e["event"]["action"] == "retention_purge").collect();
    assert_eq!(purges.len(), 1, "{entries}");
    env.run(&["audit", "verify"]).assert_code(0);
}
