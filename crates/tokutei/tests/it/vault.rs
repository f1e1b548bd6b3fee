//! The subscriber vault end to end: import, no plaintext at rest, ciphertexts bound to their
//! rows, key rotation, erasure, retention, and import failures (malformed rows, Shift_JIS,
//! re-runs, a killed import, a batch that fails part-way, NUL and oversized values); and the
//! attacks of issue 13 on the records themselves — a deleted opt-out, a rolled-back value
//! version — refused by the database and, with its guards dropped, reported by `subscribers
//! verify` against the audit ledger; the database, its WAL and backups private to the owner.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use base64::Engine;

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
    // The vault's tests run on a deployment that requires no training (`init` writes one
    // requiring the policy's; the training tests are in `oversight.rs`).
    env.write("data/deployment.toml", "[training]\ncourses = []\n");
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
    let found = env.run(&[
        "--json",
        "subscribers",
        "find",
        "--by",
        "chief",
        "--category",
        "contract.phone",
        "０９０３１４１５９２６",
    ]);
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
    // The database refuses the edit; an intruder with database access drops the guard first.
    let refused = conn.execute("UPDATE vault_values SET ciphertext = X'00' WHERE subscriber = 'V1'", []);
    assert!(refused.unwrap_err().to_string().contains("value versions are append-only"));
    conn.execute_batch("DROP TRIGGER vault_values_fixed").unwrap();
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
    let batch = import_entries(&env)[0]["index"].as_u64().unwrap();
    assert_eq!(
        failed,
        ["V0/contract.name/1", "V1/contract.phone/1", "V2/contract.phone/1", &format!("import/{batch}")]
    );
    assert!(doc["failures"][0]["reason"].as_str().unwrap().contains("does not authenticate"));
    // The ledger's digest of the batch no longer matches either.
    let import = doc["failures"].as_array().unwrap().iter().find(|f| f["id"] == format!("import/{batch}")).unwrap();
    assert!(import["reason"].as_str().unwrap().contains("differ from what the ledger recorded"), "{import}");
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

    // Rotation is an administrative act of a manager (`--by`), refused to anyone else.
    env.run(&["keys", "rotate"]).assert_code(2);
    env.run(&["keys", "rotate", "--by", "nobody"]).assert_code(2);
    let rotated = env.run(&["--json", "keys", "rotate", "--by", "chief"]);
    rotated.assert_code(0);
    assert_eq!(rotated.json()["rewrapped"], 3);
    let new_id = rotated.json()["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, old_id);
    assert_eq!(count(&env, &format!("SELECT COUNT(*) FROM vault_data_keys WHERE kek_id = '{new_id}'")), 3);

    let verify = env.run(&["--json", "subscribers", "verify"]);
    verify.assert_code(0);
    assert_eq!(verify.json()["readable"], 16, "every value (with history) still decrypts");

    // The old KEK is no longer used and can be retired; the active one cannot.
    env.run(&["keys", "retire", "--by", "chief", &new_id]).assert_code(2);
    env.run(&["keys", "retire", "--by", "chief", &old_id]).assert_code(0);
    assert!(!env.data().join("keys").join(format!("kek-{old_id}.key")).exists());
    // Both are in the ledger, as the person who acted, naming the key.
    let entries = env.run(&["audit", "query", "--json"]).json();
    let keys: Vec<(String, String, String)> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["action"].as_str().unwrap().starts_with("key_"))
        .map(|e| {
            let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
            (text(&e["event"]["action"]), text(&e["actor"]["id"]), text(&e["event"]["subject"]))
        })
        .collect();
    let chief = "chief".to_string();
    assert_eq!(
        keys,
        [
            ("key_rotated".to_string(), chief.clone(), format!("kek/{new_id}")),
            ("key_retired".to_string(), chief, format!("kek/{old_id}"))
        ]
    );
    env.run(&["subscribers", "verify"]).assert_code(0);

    let erase = env.run(&["subscribers", "erase", "--by", "chief", "--subscriber", "V1"]);
    erase.assert_code(0);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_data_keys WHERE subscriber = 'V1'"), 0);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_blind_index WHERE subscriber = 'V1'"), 0);
    let after = env.run(&["--json", "subscribers", "verify"]);
    after.assert_code(0);
    assert_eq!(after.json()["erased_subscribers"], 1);
    assert_eq!(after.json()["erased_values"], 5);
    assert_eq!(after.json()["readable"], 11);
    let found = env.run(&["--json", "subscribers", "find", "--by", "chief", "--category", "contract.phone", PHONES[1]]);
    assert!(found.json().as_array().unwrap().is_empty());
    env.run(&["subscribers", "erase", "--by", "chief", "--subscriber", "V1"]).assert_code(2);
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
    let audited = import_entries(&env);
    assert_eq!(audited.len(), 3, "one audit entry per batch");
    let again = env.run(&["--json", "subscribers", "import", csv.to_str().unwrap()]);
    again.assert_code(0);
    assert_eq!(again.json()["batches_applied"], 0);
    assert_eq!(again.json()["batches_skipped"], 3);
    assert_eq!(import_entries(&env), audited, "a re-run writes no batch and no entry");
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
    // A batch audited but killed before its commit was applied by the re-run under a new
    // entry with the same digest: the vault matches the ledger.
    env.run(&["subscribers", "verify"]).assert_code(0);
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

    // Each page of purges is in the audit ledger first (category and count, no values), and
    // every purge record names its entry.
    let entries = env.run(&["audit", "query", "--json"]).json();
    let purges: Vec<&serde_json::Value> =
        entries.as_array().unwrap().iter().filter(|e| e["event"]["action"] == "retention_purge").collect();
    let purged: u64 = purges.iter().map(|e| detail(e, "values").parse::<u64>().unwrap()).sum();
    assert_eq!(purged, 3, "{entries}");
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_purges WHERE audit_index IS NULL"), 0);
    env.run(&["audit", "verify"]).assert_code(0);
    env.run(&["subscribers", "verify"]).assert_code(0);
}

/// A detail of an admin entry as `audit query --json` shows it.
fn detail(entry: &serde_json::Value, key: &str) -> String {
    entry["event"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d[0] == key)
        .and_then(|d| d[1].as_str())
        .unwrap_or_else(|| panic!("no `{key}` in {entry}"))
        .to_string()
}

/// The `import_batch` entries of the ledger.
fn import_entries(env: &TestEnv) -> Vec<serde_json::Value> {
    let entries = env.run(&["audit", "query", "--json"]).assert_code(0).json();
    entries.as_array().unwrap().iter().filter(|e| e["event"]["action"] == "import_batch").cloned().collect()
}

#[test]
fn an_import_whose_second_batch_fails_says_what_was_committed() {
    let env = TestEnv::new();
    init(&env);
    // B002500 is already in the vault, so the file's second batch (B002000–B003999) clashes
    // with it when it is written, after validation passed and batch 1 was committed.
    let rows: Vec<String> = big_csv(4500).lines().map(str::to_string).collect();
    let earlier = env.write("earlier.csv", format!("{HEADER}\n{}\n", rows[2501]));
    env.run(&["subscribers", "import", earlier.to_str().unwrap()]).assert_code(0);
    let csv = env.write("big.csv", big_csv(4500));
    let run = env.run(&["--json", "subscribers", "import", csv.to_str().unwrap()]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("batch 2 (lines 2002–4001) failed and nothing of it was written")
            && run.stderr.contains("subscriber `B002500` already exists")
            && run
                .stderr
                .contains("committed before it: 1 batches (batches 1–1, lines 2–2001: 2000 subscribers, 12000 values")
            && run.stderr.contains("not imported: line 2002 to the end"),
        "{}",
        run.stderr
    );
    let detail_doc = &run.json()["error"]["detail"];
    assert_eq!(detail_doc["committed"].as_array().unwrap().len(), 1);
    assert_eq!(detail_doc["committed"][0]["last_line"], 2001);
    assert_eq!(detail_doc["failed"]["batch"], 2);
    assert_eq!(detail_doc["failed"]["state"], "failed");
    assert_eq!(detail_doc["not_imported_from_line"], 2002);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_subscribers"), 2001, "batch 1 and the earlier row only");
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_import_batches"), 2);

    // Every batch was audited before it was written: the earlier file's, batch 1's (with the
    // digest and count of what it wrote), batch 2's, and the follow-up saying batch 2 failed.
    let entries = import_entries(&env);
    assert_eq!(entries.len(), 4, "{entries:?}");
    assert_eq!(detail(&entries[1], "values"), "12000");
    assert_eq!(detail(&entries[1], "lines"), "2-2001");
    assert!(entries[1]["event"]["digest"].is_string());
    let batch2 = entries[2]["index"].as_u64().unwrap();
    assert_eq!(detail(&entries[3], "attempt"), batch2.to_string());
    assert_eq!(detail(&entries[3], "outcome"), "failed");
    assert_eq!(count(&env, "SELECT COUNT(DISTINCT audit_index) FROM vault_values"), 2);
    // The failed attempt is accounted for: the vault matches the ledger.
    env.run(&["subscribers", "verify"]).assert_code(0);
    env.run(&["audit", "verify"]).assert_code(0);
}

#[track_caller]
fn check_value_refused(value: &str, expected: &str) {
    let env = TestEnv::new();
    init(&env);
    let before = env.run(&["--json", "audit", "verify"]).assert_code(0).json()["entries"].clone();
    let csv = env.write(
        "in.csv",
        format!("{HEADER}\nN1,fiber,active,2024-04-01,,written,,,,,,2026-04-01,shop,山田 太郎,,,,,\nN2,fiber,active,2024-04-01,,written,,,,,,2026-04-01,shop,{value},,,,,\n"),
    );
    let run = env.run(&["subscribers", "import", csv.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains(expected), "expected `{expected}` in:\n{}", &run.stderr[..run.stderr.len().min(2000)]);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_subscribers"), 0, "nothing of the batch is written");
    assert_eq!(env.run(&["--json", "audit", "verify"]).assert_code(0).json()["entries"], before, "nor audited");
}

#[test]
fn import_refuses_nul_and_oversized_values_naming_line_and_column() {
    check_value_refused(
        "山田\u{0}太郎",
        "line 3, column `contract.name`: a text value holds no NUL or control character (found U+0000)",
    );
    check_value_refused(
        "x\u{7}",
        "line 3, column `contract.name`: a text value holds no NUL or control character (found U+0007)",
    );
    let huge = "あ".repeat(5 * 1024 * 1024);
    check_value_refused(
        &huge,
        "line 3, column `contract.name`: 15728640 bytes is more than the 16384 a text value may hold",
    );
    // A binary value (a call recording) has a larger limit, but not 15 MB.
    let env = TestEnv::new();
    init(&env);
    let recording = base64::engine::general_purpose::STANDARD.encode(vec![7u8; 15 * 1024 * 1024]);
    let csv = env.write(
        "rec.csv",
        format!("subscriber,service,state,started_on,method,collected_at,collected_by,support.call_recording\nR1,fiber,active,2024-04-01,oral,2026-04-01,call-centre,base64:{recording}\n"),
    );
    let run = env.run(&["subscribers", "import", csv.to_str().unwrap()]);
    run.assert_code(2);
    assert!(
        run.stderr.contains(
            "line 2, column `support.call_recording`: 15728640 bytes is more than the 8388608 a binary value may hold"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_subscribers"), 0);
    // A NUL in a provenance column is refused too.
    let csv =
        env.write("p.csv", format!("{HEADER}\nP1,fiber,active,2024-04-01,,written,,,,,,2026-04-01,sh\u{0}op,x,,,,,\n"));
    let run = env.run(&["subscribers", "import", csv.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("line 2, column `collected_by`: holds the control character U+0000"), "{}", run.stderr);
}

/// The demo deployment with `op-1` allowed marketing over contract names, and subscriber
/// HS00000001 active and opted out of marketing (through the CLI, audited).
fn opted_out_deployment() -> TestEnv {
    let env = crate::access::demo_with_handler_of("5");
    env.run(&[
        "staff",
        "grant",
        "--by",
        "chief",
        "op-1",
        "--range",
        "fiber:contract.name",
        "--range",
        "mobile:contract.name",
        "--range",
        "global_vpn:contract.name",
        "--purpose",
        "marketing",
    ])
    .assert_code(0);
    env.run(&["contract", "set", "--by", "chief", "--subscriber", "HS00000001", "--state", "active"]).assert_code(0);
    env.run(&[
        "consent",
        "record",
        "--by",
        "chief",
        "--subscriber",
        "HS00000001",
        "--purpose",
        "marketing",
        "--choice",
        "opt_out",
        "--channel",
        "phone",
        "--evidence",
        "call-9",
    ])
    .assert_code(0);
    env
}

const MARKETING_READ: [&str; 12] = [
    "--json",
    "access",
    "--staff",
    "op-1",
    "--purpose",
    "marketing",
    "--channel",
    "phone",
    "--subscriber",
    "HS00000001",
    "--category",
    "contract.name",
];

#[test]
fn a_deleted_opt_out_is_refused_and_reported_by_verify() {
    let env = opted_out_deployment();
    let denied = env.run(&MARKETING_READ);
    denied.assert_code(1);
    assert_eq!(denied.json()["subscribers"][0]["items"][0]["reasons"][0]["code"], "opted_out");
    env.run(&["subscribers", "verify"]).assert_code(0);

    // The attack: delete the opt-out so the marketing read goes through. Refused.
    let conn = db(&env);
    let delete = "DELETE FROM consent_records WHERE subscriber = 'HS00000001' AND purpose = 'marketing'";
    assert!(conn.execute(delete, []).unwrap_err().to_string().contains("consent records are append-only"));
    assert!(conn.execute("UPDATE consent_records SET choice = 'opted_in'", []).is_err());
    env.run(&MARKETING_READ).assert_code(1);

    // With the guard dropped the row goes, and verify names the subscriber, the purpose and
    // the ledger entry that recorded the opt-out.
    conn.execute_batch("DROP TRIGGER consent_records_no_delete").unwrap();
    assert_eq!(conn.execute(delete, []).unwrap(), 1);
    drop(conn);
    let run = env.run(&["--json", "subscribers", "verify"]);
    run.assert_code(1);
    let failures = run.json()["failures"].as_array().unwrap().clone();
    let entry = consent_entry(&env);
    let named: Vec<&serde_json::Value> = failures.iter().filter(|f| f["subscriber"] == "HS00000001").collect();
    assert!(
        named.iter().any(|f| f["category"] == "marketing"
            && f["audit_index"] == entry
            && f["reason"].as_str().unwrap().contains("does not hold that record (deleted)")),
        "{failures:?}"
    );
    assert!(
        named
            .iter()
            .any(|f| f["reason"].as_str().unwrap().contains(
                "current choice for `marketing` is `none` in the consent table but `opted_out` in the ledger"
            )),
        "{failures:?}"
    );
}

#[test]
fn an_edited_opt_out_is_reported_by_verify() {
    let env = opted_out_deployment();
    let conn = db(&env);
    conn.execute_batch("DROP TRIGGER consent_records_no_update").unwrap();
    conn.execute("UPDATE consent_records SET choice = 'opted_in' WHERE subscriber = 'HS00000001'", []).unwrap();
    let id: i64 =
        conn.query_row("SELECT id FROM consent_records WHERE subscriber = 'HS00000001'", [], |r| r.get(0)).unwrap();
    drop(conn);
    let run = env.run(&["--json", "subscribers", "verify"]);
    run.assert_code(1);
    let failures = run.json()["failures"].as_array().unwrap().clone();
    assert!(
        failures.iter().any(|f| f["id"] == format!("consent/{id}")
            && f["audit_index"] == consent_entry(&env)
            && f["reason"].as_str().unwrap().contains("differs from what ledger entry")),
        "{failures:?}"
    );
}

/// The index of the `consent_recorded` entry of HS00000001.
fn consent_entry(env: &TestEnv) -> serde_json::Value {
    let entries = env.run(&["audit", "query", "--json"]).assert_code(0).json();
    entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["action"] == "consent_recorded" && e["event"]["subject"] == "HS00000001")
        .map(|e| e["index"].clone())
        .expect("the opt-out is audited")
}

#[test]
fn a_rolled_back_value_version_is_refused_and_reported_by_verify() {
    let env = crate::access::demo_with_handler_of("5");
    env.run(&["contract", "set", "--by", "chief", "--subscriber", "HS00000001", "--state", "active"]).assert_code(0);
    let update = env.run(&[
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
        "--action",
        "update",
        "--set",
        "contract.name=新姓 新名",
    ]);
    update.assert_code(0);
    let version = update.json()["subscribers"][0]["items"][0]["written"][0].as_u64().unwrap();
    assert!(version >= 2, "a correction of the demo's name");
    // The write's own entry names the version and its leaf hash, before it was stored.
    let entries = env.run(&["audit", "query", "--json"]).assert_code(0).json();
    let written =
        entries.as_array().unwrap().iter().find(|e| e["event"]["action"] == "values_written").unwrap().clone();
    assert_eq!(written["event"]["subject"], "subscriber/HS00000001");
    assert!(detail(&written, "value").starts_with(&format!("contract.name/{version}/")));
    let index = written["index"].as_u64().unwrap();
    env.run(&["subscribers", "verify"]).assert_code(0);

    // The attack: delete the newest version and reopen the old one. Refused, both.
    let conn = db(&env);
    let newest = format!(
        "DELETE FROM vault_values WHERE subscriber = 'HS00000001' AND category = 'contract.name' AND version = {version}"
    );
    let reopen = format!(
        "UPDATE vault_values SET valid_until = NULL WHERE subscriber = 'HS00000001' AND category = 'contract.name' AND version = {}",
        version - 1
    );
    assert!(
        conn.execute(&newest, [])
            .unwrap_err()
            .to_string()
            .contains("a value version is deleted only by a recorded purge")
    );
    assert!(
        conn.execute(&reopen, [])
            .unwrap_err()
            .to_string()
            .contains("a value version is closed once, by a newer version")
    );

    // With the guards dropped the old value is served again; verify names the subscriber,
    // the version and the ledger entry that wrote it.
    conn.execute_batch("DROP TRIGGER vault_values_purged_only; DROP TRIGGER vault_values_closed_once").unwrap();
    assert_eq!(conn.execute(&newest, []).unwrap(), 1);
    assert_eq!(conn.execute(&reopen, []).unwrap(), 1);
    drop(conn);
    let run = env.run(&["--json", "subscribers", "verify"]);
    run.assert_code(1);
    let failures = run.json()["failures"].as_array().unwrap().clone();
    assert!(
        failures.iter().any(|f| f["id"] == format!("HS00000001/contract.name/{version}")
            && f["audit_index"] == index
            && f["reason"].as_str().unwrap().contains("the vault does not hold it (deleted or rolled back)")),
        "{failures:?}"
    );
    assert!(run.stdout.contains(&format!("ledger entry {index}")), "{}", run.stdout);
    // The check of one subscriber finds it too, and another subscriber is clean.
    env.run(&["subscribers", "verify", "--subscriber", "HS00000001"]).assert_code(1);
    env.run(&["subscribers", "verify", "--subscriber", "HS00000002"]).assert_code(0);
}

#[test]
fn a_write_over_its_limit_or_with_a_control_character_is_refused_before_anything_is_written() {
    let env = crate::access::demo_with_handler_of("5");
    env.run(&["contract", "set", "--by", "chief", "--subscriber", "HS00000001", "--state", "active"]).assert_code(0);
    let entries = || env.run(&["--json", "audit", "verify"]).assert_code(0).json()["entries"].clone();
    let before = entries();
    let names = "SELECT COUNT(*) FROM vault_values WHERE subscriber = 'HS00000001' AND category = 'contract.name'";
    let versions = count(&env, names);
    for (value, expected) in [
        ("x".repeat(20_000), "value of `contract.name`: 20000 bytes is more than the 16384 a text value may hold"),
        (
            "bell\u{7}".to_string(),
            "value of `contract.name`: a text value holds no NUL or control character (found U+0007)",
        ),
    ] {
        let set = format!("contract.name={value}");
        let run = env.run(&[
            "access",
            "--staff",
            "op-1",
            "--purpose",
            "support",
            "--channel",
            "phone",
            "--subscriber",
            "HS00000001",
            "--action",
            "update",
            "--set",
            &set,
        ]);
        run.assert_code(2);
        assert!(run.stderr.contains(expected), "{}", &run.stderr[..run.stderr.len().min(500)]);
    }
    assert_eq!(entries(), before, "nothing decided, audited or written");
    assert_eq!(count(&env, names), versions);
}

#[test]
fn a_reopened_old_version_is_reported_by_verify() {
    let env = TestEnv::new();
    init(&env);
    let csv = env.write("in.csv", small_csv());
    env.run(&["subscribers", "import", csv.to_str().unwrap()]).assert_code(0);
    let conn = db(&env);
    conn.execute_batch("DROP TRIGGER vault_values_closed_once").unwrap();
    conn.execute("UPDATE vault_values SET valid_until = NULL WHERE subscriber = 'V0' AND category = 'contract.name' AND version = 1", [])
        .unwrap();
    drop(conn);
    let run = env.run(&["--json", "subscribers", "verify"]);
    run.assert_code(1);
    let failures = run.json()["failures"].as_array().unwrap().clone();
    assert!(
        failures.iter().any(|f| f["id"] == "V0/contract.name/1"
            && f["reason"].as_str().unwrap().contains("is current although version 2 replaces it")),
        "{failures:?}"
    );
}

#[test]
fn a_value_deleted_from_an_import_batch_is_reported_by_verify() {
    let env = TestEnv::new();
    init(&env);
    let csv = env.write("in.csv", small_csv());
    env.run(&["subscribers", "import", csv.to_str().unwrap()]).assert_code(0);
    let entry = import_entries(&env)[0]["index"].as_u64().unwrap();
    let conn = db(&env);
    // A forged purge record would let the database delete the row; it names no real purge.
    conn.execute(
        "INSERT INTO vault_purges (subscriber, category, version, reason, policy_version, purged_at, audit_index)
         VALUES ('V0', 'contract.name', 2, 'cleanup', 1, 0, 0)",
        [],
    )
    .unwrap();
    conn.execute("DELETE FROM vault_values WHERE subscriber = 'V0' AND category = 'contract.name' AND version = 2", [])
        .unwrap();
    drop(conn);
    let run = env.run(&["--json", "subscribers", "verify"]);
    run.assert_code(1);
    let failures = run.json()["failures"].as_array().unwrap().clone();
    assert!(
        failures.iter().any(|f| f["id"] == format!("import/{entry}")
            && f["reason"].as_str().unwrap().contains("the vault holds 15 of its 16 value versions")),
        "{failures:?}"
    );
    assert!(
        failures.iter().any(|f| f["id"].as_str().unwrap().starts_with("purge/")
            && f["reason"].as_str().unwrap().contains("which is no retention purge")),
        "{failures:?}"
    );
}

/// The binary's command with `umask` set first (in a shell that then becomes the binary).
fn with_umask(env: &TestEnv, umask: &str, args: &[&str]) -> std::process::Command {
    let inner = env.command(args);
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c").arg(format!("umask {umask} && exec \"$@\"")).arg("sh").arg(inner.get_program()).args(inner.get_args());
    for (key, value) in inner.get_envs() {
        match value {
            Some(v) => sh.env(key, v),
            None => sh.env_remove(key),
        };
    }
    if let Some(dir) = inner.get_current_dir() {
        sh.current_dir(dir);
    }
    sh
}

fn run_with_umask(env: &TestEnv, umask: &str, args: &[&str]) -> crate::util::Run {
    let out = with_umask(env, umask, args).output().unwrap();
    crate::util::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[test]
fn the_database_its_wal_and_backups_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    run_with_umask(&env, "022", &["init", "--policy", &fixture_policy()]).assert_code(0);
    let csv = env.write("in.csv", small_csv());
    run_with_umask(&env, "022", &["subscribers", "import", csv.to_str().unwrap()]).assert_code(0);
    let database = env.data().join("tokutei.sqlite3");
    assert_eq!(mode(&database), 0o600, "the database");

    // A running server keeps the WAL and the shared-memory file it made.
    let mut server = with_umask(&env, "022", &["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("the server starts").unwrap();
        if line.contains("serving on http://") {
            break;
        }
    }
    let side: Vec<(String, u32)> = ["-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let file = env.data().join(format!("tokutei.sqlite3{suffix}"));
            (suffix.to_string(), if file.exists() { mode(&file) } else { 0 })
        })
        .collect();
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(side, [("-wal".to_string(), 0o600), ("-shm".to_string(), 0o600)]);

    let backup = env.root().join("backup.sqlite3");
    run_with_umask(&env, "022", &["backup", "--to", backup.to_str().unwrap()]).assert_code(0);
    assert_eq!(mode(&backup), 0o600, "the backup");

    // A database left readable by others (an older tokutei, a copy) is tightened when opened.
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    run_with_umask(&env, "022", &["subscribers", "list"]).assert_code(0);
    assert_eq!(mode(&database), 0o600);
}

#[test]
fn on_postgresql_a_deleted_opt_out_and_a_rolled_back_import_are_refused_then_reported() {
    let db = crate::util::FreshDatabase::new();
    let env = TestEnv::on_postgres(&db);
    init(&env);
    let csv = env.write("in.csv", small_csv());
    env.run(&["subscribers", "import", csv.to_str().unwrap()]).assert_code(0);
    env.run(&[
        "consent",
        "record",
        "--by",
        "chief",
        "--subscriber",
        "V0",
        "--purpose",
        "marketing",
        "--choice",
        "opt_out",
        "--channel",
        "web",
    ])
    .assert_code(0);
    env.run(&["subscribers", "verify"]).assert_code(0);

    let mut client = postgres::Client::connect(&db.url(), postgres::NoTls).unwrap();
    let refused = |client: &mut postgres::Client, sql: &str| -> String {
        let err = client.batch_execute(sql).expect_err(sql);
        err.as_db_error().map(|d| d.message().to_string()).unwrap_or_else(|| err.to_string())
    };
    assert_eq!(refused(&mut client, "DELETE FROM consent_records"), "consent records are append-only");
    assert_eq!(refused(&mut client, "TRUNCATE consent_records"), "consent records are append-only");
    let newest = "DELETE FROM vault_values WHERE subscriber = 'V0' AND category = 'contract.name' AND version = 2";
    let reopen = "UPDATE vault_values SET valid_until = NULL WHERE subscriber = 'V0' AND category = 'contract.name'";
    assert_eq!(refused(&mut client, newest), "a value version is deleted only by a recorded purge");
    assert_eq!(refused(&mut client, "TRUNCATE vault_values"), "a value version is deleted only by a recorded purge");
    assert_eq!(refused(&mut client, reopen), "a value version is closed once, by a newer version");

    client
        .batch_execute(&format!(
            "DROP TRIGGER consent_records_no_delete ON consent_records; DELETE FROM consent_records;
             DROP TRIGGER vault_values_guard ON vault_values; {newest}; {reopen};"
        ))
        .unwrap();
    let run = env.run(&["--json", "subscribers", "verify"]);
    run.assert_code(1);
    let failures = run.json()["failures"].as_array().unwrap().clone();
    let reasons: Vec<String> = failures.iter().map(|f| format!("{} {}", f["id"], f["reason"])).collect();
    assert!(
        failures.iter().any(|f| f["subscriber"] == "V0"
            && f["category"] == "marketing"
            && f["reason"].as_str().unwrap().contains("does not hold that record (deleted)")),
        "{reasons:?}"
    );
    let batch = import_entries(&env)[0]["index"].as_u64().unwrap();
    assert!(
        failures.iter().any(|f| f["id"] == format!("import/{batch}")
            && f["reason"].as_str().unwrap().contains("the vault holds 15 of its 16 value versions")),
        "{reasons:?}"
    );
}

/// `tokutei subscribers list | head` panicked with "failed printing to stdout: Broken pipe".
#[test]
fn a_reader_closing_stdout_early_is_not_a_panic() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "50"]).assert_code(0);
    let mut child = env
        .command(&["subscribers", "list", "--limit", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before the command writes anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn subscribers_find_is_audited_with_the_ids_found_never_the_value() {
    // Regression: `subscribers find` looked subscribers up by phone number and left no trace.
    let env = TestEnv::new();
    init(&env);
    let csv = env.write("in.csv", small_csv());
    env.run(&["subscribers", "import", csv.to_str().unwrap()]).assert_code(0);
    env.run(&["staff", "add", "--by", "chief", "op-1", "--name", "担当 一郎", "--role", "handler"]).assert_code(0);
    let find =
        |by: &str| env.run(&["--json", "subscribers", "find", "--by", by, "--category", "contract.phone", PHONES[0]]);
    find("op-1").assert_code(2);
    find("nobody").assert_code(2);
    assert_eq!(find("chief").assert_code(0).json()[0]["id"], "V0");
    let ledger = env.run(&["--json", "audit", "query", "--limit", "10000"]);
    ledger.assert_code(0);
    let looked: Vec<serde_json::Value> = ledger
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["action"] == "subscribers_looked_up")
        .cloned()
        .collect();
    assert_eq!(looked.len(), 1, "one entry, none for the refusals: {looked:?}");
    assert_eq!(looked[0]["actor"], serde_json::json!({ "kind": "staff", "id": "chief" }));
    assert_eq!(looked[0]["event"]["subject"], "category/contract.phone");
    assert!(looked[0]["event"]["details"].to_string().contains("V0"), "{}", looked[0]);
    let digits: String = PHONES[0].chars().filter(char::is_ascii_digit).collect();
    assert!(!ledger.stdout.contains(PHONES[0]) && !ledger.stdout.contains(&digits), "never the value");
}

#[test]
fn an_import_killed_between_its_entry_and_its_commit_still_verifies_after_the_rerun() {
    // Regression (found as a flaky `a_killed_import_resumes…`): an attempt whose entry was
    // durable but whose batch never committed — a kill, leaving no follow-up entry — made
    // `subscribers verify` fail for ever, because the re-run seals afresh and its digest differs.
    let env = TestEnv::new();
    init(&env);
    let csv = env.write("in.csv", small_csv());
    let db = db(&env);
    // The batch's transaction and the import's follow-up entry both fail, as if killed.
    db.execute_batch(
        "CREATE TRIGGER killed_batch BEFORE INSERT ON vault_import_batches BEGIN SELECT RAISE(ABORT, 'killed'); END;
         CREATE TRIGGER killed_follow_up BEFORE INSERT ON ledger_entries
           WHEN instr(NEW.body, CAST('outcome' AS BLOB)) > 0 BEGIN SELECT RAISE(ABORT, 'killed'); END;",
    )
    .unwrap();
    env.run(&["subscribers", "import", csv.to_str().unwrap()]).assert_code(2);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_subscribers"), 0);
    let attempts = count(&env, "SELECT COUNT(*) FROM ledger_entries WHERE instr(body, CAST('import/' AS BLOB)) > 0");
    assert_eq!(attempts, 1, "the attempt's entry is durable, and nothing closed it");
    db.execute_batch("DROP TRIGGER killed_batch; DROP TRIGGER killed_follow_up;").unwrap();
    env.run(&["subscribers", "import", csv.to_str().unwrap()]).assert_code(0);
    assert_eq!(count(&env, "SELECT COUNT(*) FROM vault_subscribers"), 3);
    let verify = env.run(&["--json", "subscribers", "verify"]);
    verify.assert_code(0);
}
