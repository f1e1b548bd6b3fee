//! Every command on PostgreSQL (`TOKUTEI_DATABASE_URL`): the main flows against a fresh
//! database per test, the data directory holding only keys and configuration; and three
//! `tokutei serve` instances on one database, one of them killed mid-run (issue #7).

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::util::{FreshDatabase, Server, TestEnv, get, start, try_send};

fn fixture_policy() -> String {
    format!("{}/tests/it/fixtures/vault-policy.toml", env!("CARGO_MANIFEST_DIR"))
}

/// What the data directory holds, by relative path.
fn files_of(env: &TestEnv) -> BTreeSet<String> {
    env.data_files().iter().map(|f| f.strip_prefix(env.data()).unwrap().to_string_lossy().into_owned()).collect()
}

#[test]
fn init_import_staff_access_audit_and_serve_run_on_postgresql() {
    let db = FreshDatabase::new();
    let env = TestEnv::on_postgres(&db);
    env.run(&["init", "--policy", &fixture_policy()]).assert_code(0);
    // No training required here (`init` writes the policy's; the training tests are in `oversight.rs`).
    env.write("data/deployment.toml", "[training]\ncourses = []\n");
    let files = files_of(&env);
    assert!(!files.contains("tokutei.sqlite3"), "no embedded database: {files:?}");
    assert!(files.contains("keys/checkpoint.ed25519"), "{files:?}");
    // The URL is a secret: never echoed.
    let run = env.run(&["init"]);
    run.assert_code(2);
    assert!(run.stderr.contains("already initialised") && !run.stderr.contains(&db.url()), "{}", run.stderr);
    // Nor a password in it, when the database cannot be reached.
    let run = env.run(&["--database-url", "postgres://tokutei:pa55-w0rd@127.0.0.1:1/nowhere", "staff", "list"]);
    run.assert_code(2);
    assert!(run.stderr.contains("cannot open the PostgreSQL database"), "{}", run.stderr);
    assert!(!run.stderr.contains("pa55-w0rd") && !run.stdout.contains("pa55-w0rd"), "{}", run.stderr);
    // A second data directory cannot take over a database that holds a deployment.
    let other = TestEnv::on_postgres(&db);
    let run = other.run(&["init"]);
    run.assert_code(2);
    assert!(run.stderr.contains("already holds a deployment"), "{}", run.stderr);
    assert!(!other.data().join("keys/checkpoint.ed25519").exists(), "nothing written");
    // Without the URL the directory is recognised as a PostgreSQL deployment's.
    let sqlite = std::process::Command::new(env!("CARGO_BIN_EXE_tokutei"))
        .args(["--data", env.data().to_str().unwrap(), "staff", "list"])
        .env_remove("TOKUTEI_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(sqlite.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&sqlite.stderr).contains("--database-url"));

    let csv = env.write("in.csv", crate::vault::small_csv());
    let run = env.run(&["subscribers", "import", csv.to_str().unwrap()]);
    run.assert_code(0);
    assert!(run.stdout.contains("3 subscribers, 16 values"), "{}", run.stdout);
    let found =
        env.run(&["--json", "subscribers", "find", "--by", "chief", "--category", "contract.phone", "090-3141-5926"]);
    assert_eq!(found.assert_code(0).json()[0]["id"], "V0");
    env.run(&["subscribers", "verify"]).assert_code(0);

    env.run(&[
        "staff",
        "add",
        "--by",
        "chief",
        "op-1",
        "--name",
        "山田 花子",
        "--role",
        "handler",
        "--range",
        "fiber:contract.name",
        "--purpose",
        "support",
    ])
    .assert_code(0);
    let staff = env.run(&["--json", "staff", "list"]).assert_code(0).json().to_string();
    assert!(staff.contains("op-1") && staff.contains("chief"), "{staff}");
    let read = |category: &str| {
        env.run(&[
            "--json",
            "access",
            "--staff",
            "op-1",
            "--purpose",
            "support",
            "--channel",
            "phone",
            "--subscriber",
            "V1",
            "--category",
            category,
        ])
    };
    let allowed = read("contract.name");
    allowed.assert_code(0);
    let item = &allowed.json()["subscribers"][0]["items"][0];
    assert_eq!(item["values"][0]["value"], "綾小路 きみまろ");
    read("contract.phone").assert_code(1);

    let verify = env.run(&["--json", "audit", "verify"]).assert_code(0).json();
    assert_eq!(verify["ok"], true);
    let index = item["audit_index"].as_u64().unwrap();
    assert!(index < verify["entries"].as_u64().unwrap());
    let query = env.run(&["--json", "audit", "query", "--staff", "op-1"]).assert_code(0).json();
    assert_eq!(query.as_array().unwrap().len(), 2, "the allow and the deny: {query}");
    assert!(!query.to_string().contains("きみまろ"), "no value in the ledger");

    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let (status, body) = get(&server.addr, "/");
    assert_eq!(status, 200);
    assert!(body.contains("星空通信"));
}

#[test]
fn the_other_commands_run_on_postgresql_and_a_newer_schema_is_refused() {
    let db = FreshDatabase::new();
    let env = TestEnv::on_postgres(&db);
    env.run(&["demo", "--no-serve", "--subscribers", "5"]).assert_code(0);
    let ok = |args: &[&str]| env.run(args).assert_code(0).stdout.clone();
    assert!(ok(&["policy", "show"]).contains("特定利用者情報の取扱方針"));
    assert!(ok(&["subscribers", "list"]).contains("HS00000005"));
    assert!(ok(&["keys", "rotate", "--by", "chief"]).contains("re-wrapped 5 data keys"));
    ok(&["keys", "list"]);
    ok(&["retention", "run"]);
    ok(&[
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
    ]);
    assert!(ok(&["consent", "show", "--subscriber", "HS00000001"]).contains("opted_out"));
    ok(&["contract", "set", "--by", "chief", "--subscriber", "HS00000002", "--state", "suspended"]);
    ok(&["staff", "add", "--by", "chief", "approver", "--name", "承認 者", "--role", "chief_manager"]);
    ok(&[
        "exports",
        "request",
        "exp-1",
        "--staff",
        "demo-support",
        "--purpose",
        "support",
        "--subscriber",
        "HS00000001",
        "--category",
        "contract.name",
        "--reason",
        "test",
    ]);
    ok(&["exports", "approve", "exp-1", "--approver", "approver"]);
    assert!(ok(&["exports", "list"]).contains("exp-1"));
    ok(&["subscribers", "erase", "--by", "chief", "--subscriber", "HS00000005"]);
    assert!(ok(&["subscribers", "verify"]).contains("1 erased subscribers"));
    assert!(ok(&["audit", "prove", "--index", "3"]).contains("\"inclusion\""));
    ok(&["audit", "verify"]);
    ok(&["migrate"]);

    // A database written by a newer tokutei is refused, by every command.
    let mut client = postgres::Client::connect(&db.url(), postgres::NoTls).unwrap();
    client.batch_execute("INSERT INTO schema_migrations VALUES (9999, '9999_future', 'later')").unwrap();
    for args in [&["staff", "list"][..], &["migrate"], &["serve", "--listen", "127.0.0.1:0"]] {
        let run = env.run(args);
        run.assert_code(2);
        assert!(run.stderr.contains("is newer than this tokutei supports"), "{}", run.stderr);
    }
}

/// Requests in all, clients sending them at once, and after how many replies one instance
/// is killed.
const REQUESTS: usize = 300;
const CLIENTS: usize = 6;
const KILL_AFTER: usize = 100;

/// One request: the instance it went to, its reply (`None`: the connection failed, the
/// instance being dead), and whether it was sent after the kill.
struct Sent {
    instance: usize,
    subscriber: String,
    reply: Option<(u16, serde_json::Value)>,
    after_kill: bool,
}

#[test]
fn three_instances_share_one_ledger_and_a_killed_one_loses_nothing_acknowledged() {
    let db = FreshDatabase::new();
    let env = TestEnv::on_postgres(&db);
    let run = env.run(&["demo", "--no-serve", "--subscribers", "10"]);
    run.assert_code(0);
    let token =
        run.stdout.split_whitespace().find(|w| w.starts_with("tkt_")).expect("the demo's API token").to_string();
    let mut servers: Vec<Server> =
        (0..3).map(|_| start(&env, &["serve", "--listen", "127.0.0.1:0", "--checkpoint-every", "1"])).collect();
    let addrs: Vec<String> = servers.iter().map(|s| s.addr.clone()).collect();
    let victim = Mutex::new(Some(servers.remove(0)));
    let killed = std::sync::atomic::AtomicBool::new(false);
    let (next, replies) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let sent = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..CLIENTS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= REQUESTS {
                        break;
                    }
                    let instance = i % addrs.len();
                    let subscriber = format!("HS{:08}", i % 10 + 1);
                    let after_kill = killed.load(Ordering::SeqCst);
                    let body = format!(
                        r#"{{"purpose": "support", "channel": "phone", "subscribers": ["{subscriber}"], "categories": ["contract.name"]}}"#
                    );
                    let reply = try_send(&addrs[instance], "POST", "/api/v1/access", Some(&token), &body)
                        .ok()
                        .filter(|(status, _)| *status != 0)
                        .map(|(status, text)| (status, serde_json::from_str(&text).unwrap_or_default()));
                    sent.lock().unwrap().push(Sent { instance, subscriber, reply, after_kill });
                    if replies.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                        let mut server = victim.lock().unwrap().take().unwrap();
                        server.child.kill().unwrap(); // SIGKILL
                        server.child.wait().unwrap();
                        killed.store(true, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    let sent = sent.into_inner().unwrap();
    assert_eq!(sent.len(), REQUESTS);

    // Every request to a live instance got a 200 with its audit index; only the dead one failed.
    let mut acknowledged = Vec::new();
    for s in &sent {
        match &s.reply {
            Some((200, out)) => {
                let item = &out["subscribers"][0]["items"][0];
                assert_eq!(item["allowed"], true, "{out}");
                acknowledged.push((item["audit_index"].as_u64().unwrap(), s.subscriber.clone()));
            }
            other => assert!(
                s.instance == 0 && other.is_none(),
                "instance {} failed a request: {:?}",
                s.instance,
                other.as_ref().map(|(status, out)| (status, out.to_string()))
            ),
        }
    }
    assert!(sent.iter().any(|s| s.instance == 0 && !s.after_kill && s.reply.is_some()), "the victim served first");
    assert!(sent.iter().any(|s| s.instance != 0 && s.after_kill && s.reply.is_some()), "the others served after");

    // Instances racing to sign checkpoints: the store takes them one at a time.
    let racing: Vec<_> = (0..3)
        .map(|_| env.command(&["audit", "checkpoint"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    for child in racing {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    drop(servers);

    let verify = env.run(&["--json", "audit", "verify"]).assert_code(0).json();
    assert_eq!(verify["ok"], true);
    assert!(verify["checkpoints"].as_u64().unwrap() >= 1);
    let size = verify["entries"].as_u64().unwrap();
    let rows = env.run(&["--json", "audit", "query", "--limit", "100000"]).assert_code(0).json();
    let rows = rows.as_array().unwrap();
    let indexes: Vec<u64> = rows.iter().map(|r| r["index"].as_u64().unwrap()).collect();
    assert_eq!(indexes, (0..size).collect::<Vec<_>>(), "no gaps, no duplicates");
    eprintln!(
        "{} of {REQUESTS} reads acknowledged, {} failed on the killed instance; {size} entries, {} checkpoints",
        acknowledged.len(),
        REQUESTS - acknowledged.len(),
        verify["checkpoints"]
    );
    let mut seen = BTreeSet::new();
    for (index, subscriber) in &acknowledged {
        assert!(seen.insert(*index), "index {index} acknowledged twice");
        let row = rows[*index as usize].to_string();
        assert!(
            row.contains(subscriber.as_str()) && row.contains("demo-call-centre") && row.contains("allow"),
            "entry {index} is not the acknowledged read of {subscriber}: {row}"
        );
    }
}
