//! `tokutei incidents` end to end: a leak run from the register to the last report and the
//! public entry through the binary — open with its deadlines, triage, the impact computed from
//! reads the gateway audited (its entries proven offline against the signed checkpoint), a
//! report submitted and a final one refused while items are empty, publication on `/leaks`
//! and `/`, a withdrawal refused with exit 1 naming the date the window ends — every step in
//! the ledger under the person who acted; and the deployment's `[incidents]` table.

use crate::access::demo_with_handler_of;
use crate::util::{TestEnv, get, start};

fn today_tokyo() -> jiff::civil::Date {
    jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap()).date()
}

pub(crate) fn day(offset: i64) -> String {
    today_tokyo().checked_add(jiff::Span::new().days(offset)).unwrap().to_string()
}

pub(crate) fn read(env: &TestEnv, subscriber: &str, category: &str) -> u64 {
    let run = env.run(&[
        "--json",
        "access",
        "--staff",
        "op-1",
        "--purpose",
        "support",
        "--channel",
        "phone",
        "--subscriber",
        subscriber,
        "--category",
        category,
    ]);
    run.assert_code(0);
    run.json()["subscribers"][0]["items"][0]["audit_index"].as_u64().unwrap()
}

pub(crate) fn incident_entries(env: &TestEnv) -> Vec<(String, String, String)> {
    let all = env.run(&["--json", "audit", "query", "--limit", "10000"]).assert_code(0).json();
    all.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["subject"].as_str().is_some_and(|s| s.starts_with("incident/")))
        .map(|e| {
            (
                e["event"]["action"].as_str().unwrap().to_string(),
                e["actor"]["kind"].as_str().unwrap().to_string(),
                e["actor"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_leak_from_the_register_to_the_public_list_through_the_cli() {
    let env = demo_with_handler_of("3");
    let first = read(&env, "HS00000001", "contract.name");
    let second = read(&env, "HS00000001", "contract.name");
    let third = read(&env, "HS00000002", "contract.phone");

    // Open: the id and the obligations as objects with regime, report, due, submitted_at.
    let today = day(0);
    let opened = env
        .run(&[
            "--json",
            "incidents",
            "open",
            "--by",
            "chief",
            "--title",
            "委託先からの顧客情報の漏えい",
            "--known-at",
            &today,
            "--occurred-at",
            &today,
            "--regime",
            "tokutei",
            "--regime",
            "appi",
            "--malicious",
            "--summary",
            "委託先の端末から顧客の氏名と電話番号が閲覧された",
        ])
        .assert_code(0)
        .json();
    let id = opened["id"].as_str().unwrap().to_string();
    assert_eq!(opened["status"], "open");
    let owed: Vec<(String, String, String)> = opened["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            assert!(o["submitted_at"].is_null());
            (
                o["regime"].as_str().unwrap().into(),
                o["report"].as_str().unwrap().into(),
                o["due"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        owed,
        [
            ("tokutei".to_string(), "first".to_string(), day(1)),
            ("tokutei".to_string(), "detailed".to_string(), day(30)),
            ("appi".to_string(), "preliminary".to_string(), day(3)),
            ("appi".to_string(), "final".to_string(), day(60)),
        ],
        "malicious: the APPI final report is due in 60 days"
    );
    let text = env.run(&["incidents", "show", &id]).assert_code(0).stdout.clone();
    assert!(text.contains("特定利用者情報 第一報") && text.contains("不正の目的"), "{text}");

    // Triage: strongly encrypted after all, so APPI owes nothing.
    let triaged = env
        .run(&["--json", "incidents", "triage", &id, "--by", "chief", "--malicious", "--encrypted"])
        .assert_code(0)
        .json();
    assert_eq!(triaged["triage"]["outcome"], "encrypted");
    let regimes: Vec<&str> =
        triaged["obligations"].as_array().unwrap().iter().map(|o| o["regime"].as_str().unwrap()).collect();
    assert_eq!(regimes, ["tokutei", "tokutei"]);

    // Impact: exactly op-1's reads in the window, by ledger index.
    let impact = env
        .run(&[
            "--json",
            "incidents",
            "impact",
            &id,
            "--principal",
            "op-1",
            "--since",
            &day(-1),
            "--until",
            &day(1),
            "--set-persons",
            "--by",
            "chief",
        ])
        .assert_code(0)
        .json();
    assert_eq!(impact["subscribers"], serde_json::json!(["HS00000001", "HS00000002"]));
    let items: Vec<(String, String, u64, Vec<u64>)> = impact["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["subscriber"].as_str().unwrap().into(),
                i["category"].as_str().unwrap().into(),
                i["count"].as_u64().unwrap(),
                i["indexes"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect(),
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            ("HS00000001".to_string(), "contract.name".to_string(), 2, vec![first, second]),
            ("HS00000002".to_string(), "contract.phone".to_string(), 1, vec![third]),
        ]
    );
    let shown = env.run(&["--json", "incidents", "show", &id]).assert_code(0).json();
    assert_eq!(shown["fields"]["persons"]["count"], 2, "the persons count is taken from the impact");

    // Each index proves offline against the signed checkpoint and the log's key.
    let proof = env.run(&["incidents", "proof", &id, "--index", &third.to_string()]).assert_code(0).stdout.clone();
    let proof_file = env.write("proof.json", &proof);
    let checkpoint = env.write("checkpoint", &env.run(&["audit", "checkpoint"]).assert_code(0).stdout);
    let key = env.write("key", &env.run(&["audit", "key"]).assert_code(0).stdout);
    let checked = env.run(&[
        "audit",
        "check-proof",
        proof_file.to_str().unwrap(),
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    checked.assert_code(0);
    env.run(&["incidents", "proof", &id, "--index", "0"]).assert_code(2);

    // Reports: the first as far as known; the detailed one refused while items are empty.
    let report = env.run(&["incidents", "report", &id, "--regime", "tokutei", "--report", "first"]);
    report.assert_code(0);
    assert!(report.stdout.contains("1. 事業者名\n星空通信株式会社"), "{}", report.stdout);
    let submitted = env
        .run(&[
            "--json",
            "incidents",
            "submit",
            &id,
            "--regime",
            "tokutei",
            "--report",
            "first",
            "--reference",
            "関東-001",
            "--by",
            "chief",
        ])
        .assert_code(0)
        .json();
    assert!(submitted["submitted_at"].is_string());
    assert_eq!(submitted["reference"], "関東-001");
    let refused =
        env.run(&["incidents", "submit", &id, "--regime", "tokutei", "--report", "detailed", "--by", "chief"]);
    refused.assert_code(2);
    assert!(refused.stderr.contains("empty items") && refused.stderr.contains("`cause`"), "{}", refused.stderr);

    // A handler changes nothing.
    let before = incident_entries(&env).len();
    env.run(&["incidents", "publish", &id, "--by", "op-1"]).assert_code(2);
    assert_eq!(incident_entries(&env).len(), before);

    // Publish: on /leaks and the policy page; the withdrawal is refused, exit 1, with the date.
    let published = env.run(&["--json", "incidents", "publish", &id, "--by", "chief"]).assert_code(0).json();
    let listed_until = published["publication"]["listed_until"].as_str().unwrap().to_string();
    let expected_end = today_tokyo().checked_add(jiff::Span::new().years(10)).unwrap().yesterday().unwrap().to_string();
    assert_eq!(listed_until, expected_end, "listed for ten years from the day it occurred");
    let withdraw = env.run(&["incidents", "withdraw", &id, "--by", "chief"]);
    withdraw.assert_code(1);
    assert!(withdraw.stdout.contains(&listed_until), "{}", withdraw.stdout);
    let json = env.run(&["--json", "incidents", "withdraw", &id, "--by", "chief"]);
    json.assert_code(1);
    assert_eq!(
        (json.json()["withdrawn"].clone(), json.json()["listed_until"].clone()),
        (serde_json::json!(false), serde_json::json!(listed_until))
    );

    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let (status, leaks) = get(&server.addr, "/leaks");
    assert_eq!(status, 200);
    assert!(leaks.contains("委託先の端末から顧客の氏名と電話番号が閲覧された"), "{leaks}");
    let (_, policy) = get(&server.addr, "/");
    let section = policy.split(r#"<section id="leaks""#).nth(1).unwrap();
    assert!(section.contains("委託先の端末から") && !section.split("</section>").next().unwrap().contains("なし"));
    drop(server);

    // The list, as data.
    let list = env.run(&["--json", "incidents", "list"]).assert_code(0).json();
    assert_eq!(list[0]["id"], id.as_str());
    assert!(list[0]["obligations"][0]["submitted_at"].is_string());

    // Every step is in the ledger, under the chief manager.
    let entries = incident_entries(&env);
    let actions: Vec<&str> = entries.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "incident_opened",
            "incident_triaged",
            "incident_impact_computed",
            "incident_updated",
            "incident_report_submitted",
            "incident_published",
        ]
    );
    assert!(entries.iter().all(|(_, kind, actor)| kind == "staff" && actor == "chief"), "{entries:?}");
}

#[test]
fn bad_incident_input_exits_2_and_writes_nothing() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "1"]).assert_code(0);
    let before = incident_entries(&env).len();
    env.run(&["incidents", "open", "--title", "x", "--known-at", &day(0), "--regime", "nope"]).assert_code(2);
    env.run(&["incidents", "open", "--title", "x", "--known-at", "yesterday", "--regime", "tokutei"]).assert_code(2);
    let future =
        env.run(&["incidents", "open", "--by", "chief", "--title", "x", "--known-at", &day(2), "--regime", "tokutei"]);
    future.assert_code(2);
    assert!(future.stderr.contains("`known_at`: is in the future"), "{}", future.stderr);
    env.run(&["incidents", "show", "INC-NOPE"]).assert_code(2);
    assert_eq!(incident_entries(&env).len(), before);
    assert!(env.run(&["--json", "incidents", "list"]).assert_code(0).json().as_array().unwrap().is_empty());
}

#[test]
fn the_deployments_incident_rules_set_the_deadlines_and_unknown_keys_are_refused_by_line() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "1"]).assert_code(0);
    std::fs::write(env.data().join("deployment.toml"), "required_training = []\n\n[incidents]\nregistration = \"A-1\"\n[incidents.tokutei]\ndetailed = { days = 20 }\nrecipient = \"関東総合通信局\"\n").unwrap();
    let opened = env
        .run(&[
            "--json",
            "incidents",
            "open",
            "--by",
            "chief",
            "--title",
            "x",
            "--known-at",
            &day(0),
            "--regime",
            "tokutei",
        ])
        .assert_code(0)
        .json();
    assert_eq!(opened["obligations"][1]["due"], day(20).as_str());
    assert_eq!(opened["obligations"][1]["recipient"], "関東総合通信局");
    std::fs::write(
        env.data().join("deployment.toml"),
        "[incidents]\nregistration = \"A-1\"\n\n[incidents.tokutei]\ndetailed = { dayz = 20 }\n",
    )
    .unwrap();
    let refused = env.run(&["incidents", "list"]);
    refused.assert_code(2);
    assert!(refused.stderr.contains("dayz") && refused.stderr.contains("line 5"), "{}", refused.stderr);
    std::fs::write(env.data().join("deployment.toml"), "[incidents.appi]\nfinal = { days = 999 }\n").unwrap();
    let refused = env.run(&["incidents", "list"]);
    refused.assert_code(2);
    assert!(refused.stderr.contains("`incidents.appi.final.days`: 999 days; at most 365"), "{}", refused.stderr);
}

#[test]
fn notices_read_the_contacts_through_the_gateway_and_keep_only_what_was_sent() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "2"]).assert_code(0);
    let range: Vec<String> = ["fiber", "mobile", "global_vpn"].iter().map(|s| format!("{s}:contract.email")).collect();
    let mut add = vec!["staff", "add", "--by", "chief", "rp", "--name", "責任者", "--role", "responsible_person"];
    for r in &range {
        add.extend(["--range", r]);
    }
    add.extend(["--purpose", "service_provision"]);
    env.run(&add).assert_code(0);
    // The demo requires the policy's training of everyone who reads.
    env.run(&["staff", "train", "rp", "--course", "privacy-basics", "--completed", &day(0), "--by", "chief"])
        .assert_code(0);
    env.run(&[
        "access",
        "--staff",
        "demo-support",
        "--purpose",
        "support",
        "--channel",
        "phone",
        "--subscriber",
        "HS00000001",
        "--category",
        "contract.email",
    ])
    .assert_code(0);
    let id = env
        .run(&[
            "--json",
            "incidents",
            "open",
            "--by",
            "rp",
            "--title",
            "誤送信",
            "--known-at",
            &day(0),
            "--regime",
            "appi",
            "--sensitive",
        ])
        .assert_code(0)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.run(&[
        "incidents",
        "impact",
        &id,
        "--by",
        "rp",
        "--principal",
        "demo-support",
        "--since",
        &day(-1),
        "--until",
        &day(1),
    ])
    .assert_code(0);
    let letters = env
        .run(&[
            "--json",
            "incidents",
            "notices",
            &id,
            "--by",
            "rp",
            "--purpose",
            "service_provision",
            "--contact",
            "contract.email",
            "--channel",
            "email",
        ])
        .assert_code(0)
        .json();
    let contact = letters["letters"][0]["contact"].as_str().unwrap().to_string();
    assert!(contact.contains('@'), "{contact}");
    assert!(letters["letters"][0]["text"].as_str().unwrap().contains("メールアドレス"));
    // The read is the gateway's, under the person and the purpose; the contact is in no entry.
    let reads = env.run(&["--json", "audit", "query", "--staff", "rp"]).assert_code(0).json();
    assert!(reads.as_array().unwrap().iter().any(|e| e["event"]["purpose"] == "service_provision"));
    let ledger = env.run(&["--json", "audit", "query", "--limit", "10000"]).assert_code(0).stdout.clone();
    assert!(!ledger.contains(&contact));
    env.run(&["incidents", "notified", &id, "--by", "rp", "--method", "email", "--subscriber", "HS00000001"])
        .assert_code(0);
    env.run(&["incidents", "notified", &id, "--by", "rp", "--method", "email", "--subscriber", "HS00000002"])
        .assert_code(2);
    let shown = env.run(&["--json", "incidents", "show", &id]).assert_code(0).json();
    assert_eq!(shown["notices"], 1);
    assert!(!shown.to_string().contains(&contact), "the contact is not kept");
}

#[test]
fn the_register_moves_to_postgresql_whole_and_its_entry_still_cannot_be_withdrawn() {
    let env = demo_with_handler_of("2");
    read(&env, "HS00000001", "contract.name");
    let id = env
        .run(&[
            "--json",
            "incidents",
            "open",
            "--by",
            "chief",
            "--title",
            "誤送信",
            "--known-at",
            &day(0),
            "--occurred-at",
            &day(0),
            "--regime",
            "tokutei",
            "--summary",
            "誤送信の概要",
        ])
        .assert_code(0)
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.run(&[
        "incidents",
        "impact",
        &id,
        "--by",
        "chief",
        "--principal",
        "op-1",
        "--since",
        &day(-1),
        "--until",
        &day(1),
    ])
    .assert_code(0);
    env.run(&["incidents", "submit", &id, "--by", "chief", "--regime", "tokutei", "--report", "first"]).assert_code(0);
    env.run(&["incidents", "publish", &id, "--by", "chief"]).assert_code(0);
    env.run(&["incidents", "correct", &id, "--by", "chief", "--text", "訂正後の概要"]).assert_code(0);
    let here = env.run(&["--json", "incidents", "show", &id]).assert_code(0).json();

    let db = crate::util::FreshDatabase::new();
    let url = db.url();
    let source = format!("sqlite:{}", env.data().display());
    env.run(&["migrate-store", "--from", &source, "--to", &url]).assert_code(0);
    // Served from PostgreSQL by a data directory with the same keys and configuration.
    let served = TestEnv::new();
    crate::moving::copy_keys_and_config(&env, &served);
    let there = served.run(&["--database-url", &url, "--json", "incidents", "show", &id]).assert_code(0).json();
    assert_eq!(here, there, "every version, obligation, submission, impact and publication came across");
    assert_eq!(there["publications"].as_array().unwrap().len(), 2);
    served.run(&["--database-url", &url, "incidents", "withdraw", &id, "--by", "chief"]).assert_code(1);
}
