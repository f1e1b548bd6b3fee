//! `tokutei designation …`, `tokutei rules …` and `tokutei manager …` end to end: bad input
//! exits 2 naming the field (a rules file failing the check, its line) and changes nothing; the designation's three deadlines are computed from the 告示
//! date (the civil code's months: 2025-11-30 → 2026-02-28) and each is met by its record; a
//! new chief manager ends the one in force the day before, a second one at once is refused,
//! the notification closes its task; opinions and responses are logged; every change is in
//! the ledger under its action; and the registers move to PostgreSQL whole, where a second
//! chief manager at once is refused too. Dates are in the past, so the runs do not depend on
//! today.

use crate::util::TestEnv;

const DEMO_POLICY: &str = include_str!("../../../tokutei-policy/policies/hoshizora-tsushin.toml");
const DEMO_RULES: &str = include_str!("../../../tokutei-policy/policies/hoshizora-tsushin-rules.toml");

fn actions(env: &TestEnv) -> Vec<(String, String, String)> {
    let all = env.run(&["--json", "audit", "query", "--limit", "10000"]).assert_code(0).json();
    all.as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            let action = e["event"]["action"].as_str()?;
            ["designation_recorded", "rules_", "chief_manager_", "opinion_"].iter().any(|p| action.starts_with(p)).then(
                || {
                    (
                        action.to_string(),
                        e["actor"]["id"].as_str().unwrap().to_string(),
                        e["event"]["subject"].as_str().unwrap().to_string(),
                    )
                },
            )
        })
        .collect()
}

#[test]
fn the_designation_and_the_chief_manager_through_the_command_line() {
    let env = TestEnv::new();
    let policy = env.write("policy.toml", DEMO_POLICY);
    env.run(&["init", "--policy", policy.to_str().unwrap()]).assert_code(0);

    // Bad input exits 2, naming the field, and changes nothing.
    let bad = env.run(&["designation", "set", "--notified", "2025-02-30", "--service", "fiber", "--by", "chief"]);
    assert!(bad.assert_code(2).stderr.contains("--notified"), "{}", bad.stderr);
    let bad = env.run(&["designation", "set", "--notified", "2025-11-30", "--service", "satellite", "--by", "chief"]);
    assert!(bad.assert_code(2).stderr.contains("`service`"), "{}", bad.stderr);
    let bad = env.run(&["designation", "set", "--notified", "2999-01-01", "--service", "fiber", "--by", "chief"]);
    assert!(bad.assert_code(2).stderr.contains("`notified`"), "{}", bad.stderr);
    env.run(&["designation", "set", "--notified", "2025-11-30", "--service", "fiber", "--by", "nobody"]).assert_code(2);
    let bad = env.run(&["manager", "appoint", "chief", "--from", "2026-13-01", "--by", "chief"]);
    assert!(bad.assert_code(2).stderr.contains("--from"), "{}", bad.stderr);
    assert_eq!(env.run(&["--json", "designation", "show"]).assert_code(0).json(), serde_json::Value::Null);
    assert_eq!(env.run(&["--json", "manager", "list"]).assert_code(0).json(), serde_json::json!([]));
    assert!(actions(&env).is_empty());

    // Designated 2025-11-30: every deadline is 2026-02-28.
    let set = env
        .run(&[
            "--json",
            "designation",
            "set",
            "--notified",
            "2025-11-30",
            "--service",
            "fiber",
            "--service",
            "mobile",
            "--by",
            "chief",
        ])
        .assert_code(0)
        .json();
    assert_eq!(set["notified_on"], "2025-11-30");
    let dues: Vec<_> =
        set["deadlines"].as_array().unwrap().iter().map(|d| (d["duty"].clone(), d["due"].clone())).collect();
    assert_eq!(
        dues,
        [
            (serde_json::json!("rules"), serde_json::json!("2026-02-28")),
            (serde_json::json!("policy"), serde_json::json!("2026-02-28")),
            (serde_json::json!("manager"), serde_json::json!("2026-02-28")),
        ]
    );
    assert_eq!(set["deadlines"][0]["met_on"], serde_json::Value::Null);
    assert_eq!(set["services"][0]["name"]["ja"], "光インターネット接続サービス");

    // The 規程: a file without an owner in one section fails the check naming its line and
    // registers nothing; the valid one is version 1, flagged never filed until it is filed.
    let owner_line = DEMO_RULES.lines().position(|l| l == "measure = \"human\"").unwrap() + 1;
    let bad_rules = env.write("bad-rules.toml", DEMO_RULES.replacen("owner = \"responsible_person\"\n", "", 1));
    let bad_path = bad_rules.to_str().unwrap();
    let checked = env.run(&["rules", "check", bad_path]);
    assert!(checked.assert_code(1).stdout.contains(&format!(":{owner_line}:")), "{}", checked.stdout);
    assert!(checked.stdout.contains("rules-owner"), "{}", checked.stdout);
    let bad = env.run(&["rules", "register", bad_path, "--by", "chief"]);
    assert!(bad.assert_code(2).stderr.contains(&format!("line {owner_line}")), "{}", bad.stderr);
    let rules = env.write("rules.toml", DEMO_RULES.replace("2026-04-01", "2026-01-15"));
    let rules_path = rules.to_str().unwrap();
    env.run(&["rules", "check", rules_path]).assert_code(0);
    let registered = env.run(&["--json", "rules", "register", rules_path, "--by", "chief"]).assert_code(0).json();
    assert_eq!(registered["version"], 1);
    env.run(&["rules", "register", rules_path, "--by", "chief"]).assert_code(2);
    let listed = env.run(&["rules", "list"]).assert_code(0).stdout.clone();
    assert!(listed.contains("未届出"), "{listed}");
    env.run(&["rules", "filed", "2", "--date", "2026-02-27", "--reference", "総基利第1号", "--by", "chief"])
        .assert_code(2);
    env.run(&["rules", "filed", "1", "--date", "2026-02-27", "--reference", "総基利第1号", "--by", "chief"])
        .assert_code(0);
    let listed = env.run(&["--json", "rules", "list"]).assert_code(0).json();
    assert_eq!((listed[0]["filed"].as_bool(), listed[0]["in_force"].as_bool()), (Some(true), Some(true)));
    assert_eq!(listed[0]["filings"][0]["reference"], "総基利第1号");
    let print = env.root().join("rules.html");
    env.run(&["rules", "show", "1", "--format", "html", "-o", print.to_str().unwrap()]).assert_code(0);
    let html = std::fs::read_to_string(&print).unwrap();
    assert!(html.contains("第1章 総則") && html.contains("2026年2月27日（総基利第1号）"), "{html}");
    let toml = env.run(&["rules", "show", "1", "--format", "toml"]).assert_code(0).stdout.clone();
    assert_eq!(toml, std::fs::read_to_string(&rules).unwrap(), "the version is the file as registered");

    // The first chief manager, then a successor: the first ends the day before.
    let first = env
        .run(&[
            "--json",
            "manager",
            "appoint",
            "chief",
            "--from",
            "2026-01-05",
            "--evidence",
            "取締役会決議",
            "--by",
            "chief",
        ])
        .assert_code(0)
        .json();
    assert_eq!((first["id"].as_str(), first["notification_due"].as_str()), (Some("CM-1"), Some("2026-02-04")));
    env.run(&["staff", "add", "--by", "chief", "chief-2", "--name", "二代目", "--role", "chief_manager"])
        .assert_code(0);
    let twice = env.run(&["manager", "appoint", "chief-2", "--from", "2026-01-05", "--by", "chief"]);
    assert!(twice.assert_code(2).stderr.contains("in force"), "{}", twice.stderr);
    let second = env
        .run(&["--json", "manager", "appoint", "chief-2", "--from", "2026-09-01", "--by", "chief"])
        .assert_code(0)
        .json();
    assert_eq!((second["id"].as_str(), second["ended"].as_str()), (Some("CM-2"), Some("CM-1")));
    env.run(&[
        "manager",
        "notified",
        "--date",
        "2026-01-20",
        "--reference",
        "届出-1",
        "--appointment",
        "CM-1",
        "--by",
        "chief",
    ])
    .assert_code(0);

    let list = env.run(&["--json", "manager", "list"]).assert_code(0).json();
    let rows: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].clone(), a["from"].clone(), a["to"].clone(), a["notifications"].as_array().unwrap().len()))
        .collect();
    assert_eq!(
        rows,
        [
            (serde_json::json!("CM-1"), serde_json::json!("2026-01-05"), serde_json::json!("2026-08-31"), 1),
            (serde_json::json!("CM-2"), serde_json::json!("2026-09-01"), serde_json::Value::Null, 0),
        ]
    );
    assert_eq!(list[1]["name"], "二代目");
    assert!(list[1]["notification_days_left"].is_i64(), "the successor's notification task is open");
    let text = env.run(&["manager", "list"]).assert_code(0).stdout.clone();
    assert!(text.contains("二代目（chief-2）") && text.contains("届出済 2026年1月20日"), "{text}");

    // The deadlines: the rules and the manager met on time; the policy published today, late.
    let shown = env.run(&["--json", "designation", "show"]).assert_code(0).json();
    let met: Vec<_> = shown["deadlines"].as_array().unwrap().iter().map(|d| d["met_on"].clone()).collect();
    assert_eq!(met[0], "2026-02-27");
    assert_eq!(met[2], "2026-01-20");
    assert!(met[1].as_str().is_some_and(|on| on > "2026-02-28"), "{met:?}");
    let text = env.run(&["designation", "show"]).assert_code(0).stdout.clone();
    assert!(text.contains("情報取扱規程の届出（27条の6）  期限 2026年2月28日  済（2026年2月27日）"), "{text}");
    assert!(text.contains("光インターネット接続サービス、モバイル通信サービス"), "{text}");

    // Opinions and the company's responses.
    let opinion = env
        .run(&[
            "--json",
            "manager",
            "opinion",
            "--date",
            "2026-02-01",
            "--subject",
            "委託先の監督",
            "--text",
            "年1回点検すべき",
            "--by",
            "chief",
        ])
        .assert_code(0)
        .json();
    assert_eq!(opinion["id"], "OP-1");
    env.run(&["manager", "respond", "OP-9", "--date", "2026-02-10", "--text", "x", "--by", "chief"]).assert_code(2);
    env.run(&["manager", "respond", "OP-1", "--date", "2026-02-10", "--text", "規程に加えた", "--by", "chief"])
        .assert_code(0);
    let opinions = env.run(&["--json", "manager", "opinions"]).assert_code(0).json();
    assert_eq!(opinions[0]["responses"][0]["text"], "規程に加えた");
    assert_eq!(opinions[0]["response_days_left"], serde_json::Value::Null);

    let chief = |action: &str, subject: &str| (action.to_string(), "chief".to_string(), subject.to_string());
    assert_eq!(
        actions(&env),
        [
            chief("designation_recorded", "designation"),
            chief("rules_registered", "rules/v1"),
            chief("rules_filed", "designation/rules"),
            chief("chief_manager_appointed", "chief-manager/CM-1"),
            chief("chief_manager_appointed", "chief-manager/CM-2"),
            chief("chief_manager_notified", "chief-manager/CM-1"),
            chief("opinion_recorded", "opinion/OP-1"),
            chief("opinion_responded", "opinion/OP-1"),
        ]
    );
    env.run(&["audit", "verify"]).assert_code(0);
    // A violation report, acknowledged, moves with them.
    env.run(&["violations", "report", "--principal", "chief", "--text", "持出しの疑い", "--by", "chief"])
        .assert_code(0);
    env.run(&["violations", "ack", "VR-1", "--by", "chief"]).assert_code(0);

    // The registers move to PostgreSQL whole, and its database keeps one chief manager too.
    let db = crate::util::FreshDatabase::new();
    let url = db.url();
    let source = format!("sqlite:{}", env.data().display());
    env.run(&["migrate-store", "--from", &source, "--to", &url]).assert_code(0);
    let served = TestEnv::new();
    crate::moving::copy_keys_and_config(&env, &served);
    let pg = |args: &[&str]| {
        let mut all = vec!["--database-url", url.as_str()];
        all.extend_from_slice(args);
        served.run(&all)
    };
    for read in [
        &["--json", "manager", "list"][..],
        &["--json", "manager", "opinions"],
        &["--json", "designation", "show"],
        &["--json", "violations", "list", "--by", "chief"],
    ] {
        assert_eq!(pg(read).assert_code(0).json(), env.run(read).assert_code(0).json(), "{read:?}");
    }
    pg(&["manager", "appoint", "chief", "--from", "2026-08-01", "--by", "chief"]).assert_code(2);
    let third =
        pg(&["--json", "manager", "appoint", "chief", "--from", "2026-10-01", "--by", "chief"]).assert_code(0).json();
    assert_eq!((third["id"].as_str(), third["ended"].as_str()), (Some("CM-3"), Some("CM-2")));
    let list = pg(&["--json", "manager", "list"]).assert_code(0).json();
    assert_eq!(list[1]["to"], "2026-09-30");
    assert_eq!(list.as_array().unwrap().iter().filter(|a| a["to"].is_null()).count(), 1);
    assert_eq!(
        pg(&["--json", "rules", "list"]).assert_code(0).json(),
        env.run(&["--json", "rules", "list"]).assert_code(0).json()
    );
    pg(&["rules", "filed", "1", "--date", "2026-03-01", "--reference", "訂正", "--by", "chief"]).assert_code(0);
    pg(&["audit", "verify"]).assert_code(0);
}

#[test]
fn the_deadlines_follow_the_deployments_oversight_table() {
    let env = TestEnv::new();
    let policy = env.write("policy.toml", DEMO_POLICY);
    env.run(&["init", "--policy", policy.to_str().unwrap()]).assert_code(0);
    // A value out of range stops the command, naming its key, before anything is written.
    env.write("data/deployment.toml", "[oversight]\ndeadline_months = 0\n");
    let bad = env.run(&["designation", "set", "--notified", "2025-11-30", "--service", "fiber", "--by", "chief"]);
    assert!(bad.assert_code(2).stderr.contains("oversight.deadline_months"), "{}", bad.stderr);
    env.write("data/deployment.toml", "[oversight]\ndeadline_months = 6\nnotification_days = 14\n");
    assert_eq!(env.run(&["--json", "designation", "show"]).assert_code(0).json(), serde_json::Value::Null);
    let set = env
        .run(&["--json", "designation", "set", "--notified", "2025-11-30", "--service", "fiber", "--by", "chief"])
        .assert_code(0)
        .json();
    assert!(set["deadlines"].as_array().unwrap().iter().all(|d| d["due"] == "2026-05-31"), "{set}");
    let appointed = env
        .run(&["--json", "manager", "appoint", "chief", "--from", "2026-01-05", "--by", "chief"])
        .assert_code(0)
        .json();
    assert_eq!(appointed["notification_due"], "2026-01-19");
}

/// `tokutei violations …` end to end: bad input exits 2 naming the field; a report is filed,
/// listed, acknowledged once and resolved; each change is in the ledger under its action with
/// the text kept out of it; the detectors run over a window and file nothing new the second
/// time.
#[test]
fn violations_through_the_command_line() {
    let env = TestEnv::new();
    let policy = env.write("policy.toml", DEMO_POLICY);
    env.run(&["init", "--policy", policy.to_str().unwrap()]).assert_code(0);

    let bad = env.run(&["violations", "report", "--principal", "nobody", "--text", "x", "--by", "chief"]);
    assert!(bad.assert_code(2).stderr.contains("`principal`"), "{}", bad.stderr);
    let bad =
        env.run(&["violations", "report", "--principal", "chief", "--measure", "9", "--text", "x", "--by", "chief"]);
    assert!(bad.assert_code(2).stderr.contains("`measure`"), "{}", bad.stderr);
    let bad = env.run(&["violations", "resolve", "VR-1", "--outcome", "maybe", "--text", "x", "--by", "chief"]);
    assert!(bad.assert_code(2).stderr.contains("--outcome"), "{}", bad.stderr);
    let bad = env.run(&["violations", "detect", "--since", "yesterday"]);
    assert!(bad.assert_code(2).stderr.contains("--since"), "{}", bad.stderr);
    assert_eq!(
        env.run(&["--json", "violations", "list", "--by", "chief"]).assert_code(0).json(),
        serde_json::json!([])
    );

    let text = "深夜に大量の照会があったとの申告";
    let filed = env
        .run(&["--json", "violations", "report", "--principal", "chief", "--text", text, "--by", "chief"])
        .assert_code(0)
        .json();
    assert_eq!(
        (filed["id"].as_str(), filed["state"].as_str(), filed["measure"].as_u64()),
        (Some("VR-1"), Some("received"), Some(3))
    );
    let listed = env.run(&["violations", "list", "--by", "chief"]);
    listed.assert_code(0);
    assert!(listed.stdout.contains("VR-1") && listed.stdout.contains("受付"), "{}", listed.stdout);
    env.run(&["violations", "ack", "VR-1", "--by", "chief"]).assert_code(0);
    let twice = env.run(&["violations", "ack", "VR-1", "--by", "chief"]);
    assert!(twice.assert_code(2).stderr.contains("acknowledged already"), "{}", twice.stderr);
    env.run(&["violations", "resolve", "VR-1", "--outcome", "none", "--text", "業務上の照会と確認", "--by", "chief"])
        .assert_code(0);
    let shown = env.run(&["--json", "violations", "show", "VR-1", "--by", "chief"]).assert_code(0).json();
    assert_eq!(shown["state"].as_str(), Some("resolved_none"));
    assert_eq!(shown["events"].as_array().unwrap().len(), 2);

    let all = env.run(&["--json", "audit", "query", "--limit", "10000"]).assert_code(0).json();
    let violation_actions: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"]["action"].as_str().filter(|a| a.starts_with("violation_")))
        .collect();
    assert_eq!(violation_actions, ["violation_reported", "violation_acknowledged", "violation_resolved"]);
    assert!(!all.to_string().contains("深夜"), "no report text in the ledger");

    env.run(&["--json", "violations", "detect", "--since", "2020-01-01"]).assert_code(0);
    let again = env.run(&["--json", "violations", "detect", "--since", "2020-01-01"]).assert_code(0).json();
    assert_eq!(again, serde_json::json!([]));
}

/// The detectors raise nothing over what `tokutei demo` writes to the ledger.
#[test]
fn the_detectors_raise_nothing_on_the_demo() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "3"]).assert_code(0);
    let filed = env.run(&["--json", "violations", "detect", "--since", "2000-01-01"]).assert_code(0).json();
    assert_eq!(filed, serde_json::json!([]));
    assert!(
        env.run(&["--json", "audit", "query", "--limit", "10"])
            .assert_code(0)
            .json()
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
}

/// `init` requires the policy's training (`deployment.toml`'s `[training]`, derived from the
/// policy's 人的安全管理措置); `staff train` counts a completion for the course's validity;
/// `training roster` lists every person × required course; a course without a validity needs
/// `--valid-until`, and a bad catalogue stops the command naming its key.
#[test]
fn training_is_required_from_init_and_listed_in_the_roster() {
    let env = TestEnv::new();
    let policy = env.write("policy.toml", DEMO_POLICY);
    env.run(&["init", "--policy", policy.to_str().unwrap()]).assert_code(0);
    let written = std::fs::read_to_string(env.data().join("deployment.toml")).unwrap();
    assert!(written.contains("[training]") && written.contains("privacy-basics"), "{written}");
    let courses = env.run(&["--json", "training", "courses"]).assert_code(0).json();
    assert_eq!(courses[0]["id"], "privacy-basics");
    assert_eq!(courses[0]["validity_months"], 12);
    assert!(courses[0]["name_ja"].as_str().unwrap().contains("人的安全管理措置"), "{courses}");
    assert_eq!(courses[0]["roles"].as_array().unwrap().len(), 4);
    let roster = env.run(&["--json", "training", "roster"]).assert_code(0).json();
    assert_eq!(
        roster,
        serde_json::json!([{
            "id": "chief/privacy-basics", "principal": "chief", "display_name": roster[0]["display_name"],
            "role": "chief_manager", "course": "privacy-basics", "course_ja": courses[0]["name_ja"],
            "course_en": courses[0]["name_en"], "completed": null, "valid_until": null, "days_left": null,
            "state": "missing"
        }])
    );

    // A completion counts for the course's 12 months (the last valid day the day before).
    let trained = env
        .run(&[
            "--json",
            "staff",
            "train",
            "chief",
            "--course",
            "privacy-basics",
            "--completed",
            "2025-06-01",
            "--by",
            "chief",
        ])
        .assert_code(0)
        .json();
    assert_eq!(trained["valid_until"], "2026-05-31");
    let roster = env.run(&["--json", "training", "roster"]).assert_code(0).json();
    assert_eq!(
        (&roster[0]["valid_until"], &roster[0]["state"]),
        (&serde_json::json!("2026-05-31"), &serde_json::json!("expired"))
    );
    assert!(env.run(&["training", "roster"]).assert_code(0).stdout.contains("期限切れ / expired"));
    // A course the catalogue does not know has no validity: the last day must be given.
    let bad =
        env.run(&["staff", "train", "chief", "--course", "first-aid", "--completed", "2025-06-01", "--by", "chief"]);
    assert!(bad.assert_code(2).stderr.contains("valid_until"), "{}", bad.stderr);
    // A bad catalogue names its key.
    env.write(
        "data/deployment.toml",
        "[[training.courses]]\nid = \"c\"\nname_ja = \"研修\"\nname_en = \"course\"\nvalidity_months = 0\n",
    );
    let bad = env.run(&["training", "roster"]);
    assert!(bad.assert_code(2).stderr.contains("training.courses.validity_months"), "{}", bad.stderr);
}

/// `tokutei assessment …` end to end: one assessment per business year (a second open exits
/// 2 naming the year), bad input exits 2 naming the field and changes nothing, measures are
/// assessed with evidence, a finding and its remediation recorded, completion refused until
/// every measure is assessed; every change is in the ledger under its action.
#[test]
fn the_annual_assessment_through_the_command_line() {
    let env = TestEnv::new();
    let policy = env.write("policy.toml", DEMO_POLICY);
    env.run(&["init", "--policy", policy.to_str().unwrap()]).assert_code(0);
    let opened =
        env.run(&["--json", "assessment", "open", "--fiscal-year", "2025", "--by", "chief"]).assert_code(0).json();
    assert_eq!(
        (&opened["id"], &opened["first_day"], &opened["last_day"]),
        (&serde_json::json!("FY2025"), &serde_json::json!("2025-04-01"), &serde_json::json!("2026-03-31"))
    );
    assert_eq!(opened["checklist"].as_array().unwrap().len(), 7);
    let again = env.run(&["assessment", "open", "--fiscal-year", "2025", "--by", "chief"]);
    assert!(again.assert_code(2).stderr.contains("2025"), "{}", again.stderr);
    let bad = env.run(&["assessment", "open", "--fiscal-year", "2999"]);
    assert!(bad.assert_code(2).stderr.contains("`fiscal_year`"), "{}", bad.stderr);
    let bad = env.run(&[
        "assessment",
        "assess",
        "--fiscal-year",
        "2025",
        "--measure",
        "4",
        "--result",
        "met",
        "--evidence",
        "incident:INC-NOPE",
        "--by",
        "chief",
    ]);
    assert!(bad.assert_code(2).stderr.contains("`evidence`"), "{}", bad.stderr);
    let bad = env.run(&[
        "assessment",
        "assess",
        "--fiscal-year",
        "2025",
        "--measure",
        "4",
        "--result",
        "fine",
        "--by",
        "chief",
    ]);
    assert!(bad.assert_code(2).stderr.contains("--result"), "{}", bad.stderr);
    let incomplete = env.run(&["assessment", "complete", "--fiscal-year", "2025", "--by", "chief"]);
    assert!(incomplete.assert_code(2).stderr.contains("(1)"), "{}", incomplete.stderr);
    for measure in 1..=7 {
        let m = measure.to_string();
        let result = if measure == 5 { "partly" } else { "met" };
        env.run(&[
            "assessment",
            "assess",
            "--fiscal-year",
            "2025",
            "--measure",
            &m,
            "--result",
            result,
            "--note",
            "運用記録を確認",
            "--evidence",
            "policy:1",
            "--evidence",
            "training-roster:2026-03-01",
            "--by",
            "chief",
        ])
        .assert_code(0);
    }
    let finding = env
        .run(&[
            "--json",
            "assessment",
            "finding",
            "--fiscal-year",
            "2025",
            "--measure",
            "5",
            "--text",
            "入退室記録の点検が不定期",
            "--by",
            "chief",
        ])
        .assert_code(0)
        .json();
    assert_eq!(finding["id"], "F-1");
    env.run(&[
        "assessment",
        "remediate",
        "--fiscal-year",
        "2025",
        "--finding",
        "F-1",
        "--action",
        "月次点検を規程に追加",
        "--owner",
        "chief",
        "--due",
        "2026-06-30",
        "--carried-by",
        "policy:1",
        "--by",
        "chief",
    ])
    .assert_code(0);
    let done =
        env.run(&["--json", "assessment", "complete", "--fiscal-year", "2025", "--by", "chief"]).assert_code(0).json();
    assert_eq!(done["state"], "completed");
    assert_eq!(done["checklist"][4]["result"], "partly");
    assert_eq!(done["findings"][0]["remediations"][0]["carried_by"], "policy:1");
    let list = env.run(&["--json", "assessment", "list"]).assert_code(0).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let shown = env.run(&["assessment", "show", "--fiscal-year", "2025"]);
    shown.assert_code(0);
    assert!(shown.stdout.contains("一部適合 / partly met"), "{}", shown.stdout);
    let all = env.run(&["--json", "audit", "query", "--limit", "10000"]).assert_code(0).json();
    let actions: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"]["action"].as_str().filter(|a| a.starts_with("assessment_")))
        .collect();
    assert_eq!(actions.first(), Some(&"assessment_opened"));
    assert_eq!(actions.last(), Some(&"assessment_completed"));
    assert_eq!(actions.len(), 1 + 7 + 1 + 1 + 1);
    env.run(&["audit", "verify"]).assert_code(0);
}

/// `tokutei inspection …` end to end: a bad or unfinished period exits 2 naming the field and
/// writes nothing; a run prints the summary (Japanese first) and stores the report, `--json`
/// carrying the figures; a second run is a new revision; `show` gives the stored document
/// (json) and the printable page (html, to a file); `verify` passes, and fails (exit 1)
/// naming what was tampered with once the stored row is rewritten behind the triggers;
/// findings are added, listed with their days left, and closed; every step is in the ledger.
#[test]
fn self_inspection_through_the_command_line() {
    let env = TestEnv::new();
    let policy = env.write("policy.toml", DEMO_POLICY);
    env.run(&["init", "--policy", policy.to_str().unwrap()]).assert_code(0);
    // A past month: every entry `init` wrote is later, so the report counts none of them.
    for (period, says) in [("2025-13", "`period`"), ("2025/01", "`period`"), ("2999-01", "not over yet")] {
        let bad = env.run(&["inspection", "run", "--period", period]);
        assert!(bad.assert_code(2).stderr.contains(says), "{period}: {}", bad.stderr);
    }
    let bad = env.run(&["inspection", "run", "--period", "2025-01", "--by", "nobody"]);
    bad.assert_code(2);
    assert_eq!(env.run(&["--json", "inspection", "list"]).assert_code(0).json(), serde_json::json!([]));

    let run = env.run(&["inspection", "run", "--period", "2025-01", "--by", "chief"]);
    assert!(run.assert_code(0).stdout.starts_with("自己点検報告 IR-1（2025年1月 第1版）"), "{}", run.stdout);
    let again = env.run(&["--json", "inspection", "run", "--period", "2025-01"]).assert_code(0).json();
    assert_eq!((again["id"].as_str(), again["revision"].as_u64()), (Some("IR-2"), Some(2)));
    assert_eq!(again["figures"]["ledger"]["entries"].as_u64(), Some(0));
    // Nobody of today's registry was on it on 2025-01-31: the month's roster is empty.
    assert_eq!(again["figures"]["training"], serde_json::json!([]), "{again}");
    let listed = env.run(&["--json", "inspection", "list", "--by", "chief"]).assert_code(0).json();
    assert_eq!(listed.as_array().map(Vec::len), Some(2));

    let document = env.run(&["inspection", "show", "IR-1", "--format", "json"]).assert_code(0).stdout.clone();
    let parsed: serde_json::Value = serde_json::from_str(&document).unwrap();
    assert_eq!(
        (parsed["period"].as_str(), parsed["kind"].as_str()),
        (Some("2025-01"), Some("tokutei-self-inspection/v1"))
    );
    let page = env.root().join("IR-1.html");
    env.run(&["inspection", "show", "IR-1", "--format", "html", "-o", page.to_str().unwrap()]).assert_code(0);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("自己点検報告書 2025年1月") && html.contains("@media print"), "{html}");

    let ok = env.run(&["--json", "inspection", "verify", "IR-1"]).assert_code(0).json();
    assert_eq!(ok["ok"], serde_json::json!(true));
    {
        let db = rusqlite::Connection::open(env.data().join("tokutei.sqlite3")).unwrap();
        let err = db.execute_batch("UPDATE inspections SET document = '{}' WHERE id = 'IR-1'").unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        db.execute_batch(
            "DROP TRIGGER inspections_no_update;
             UPDATE inspections SET document = replace(document, '\"entries\":0', '\"entries\":7') WHERE id = 'IR-1';",
        )
        .unwrap();
    }
    let tampered = env.run(&["inspection", "verify", "IR-1"]);
    tampered.assert_code(1);
    assert!(
        tampered.stdout.contains("document_digest") && tampered.stdout.contains("`entries`"),
        "{}",
        tampered.stdout
    );
    env.run(&["inspection", "verify", "IR-2"]).assert_code(0);

    // Findings, tracked to closure.
    let bad = env.run(&["inspection", "finding", "add", "IR-2", "--text", "x", "--owner", "nobody"]);
    assert!(bad.assert_code(2).stderr.contains("`owner`"), "{}", bad.stderr);
    let bad =
        env.run(&["inspection", "finding", "add", "IR-2", "--text", "x", "--owner", "chief", "--due", "2025-02-30"]);
    assert!(bad.assert_code(2).stderr.contains("--due"), "{}", bad.stderr);
    let added = env
        .run(&[
            "--json",
            "inspection",
            "finding",
            "add",
            "IR-2",
            "--text",
            "研修の未受講者",
            "--owner",
            "chief",
            "--due",
            "2999-12-31",
        ])
        .assert_code(0)
        .json();
    assert_eq!((added["id"].as_str(), added["state"].as_str()), (Some("IF-1"), Some("open")));
    let open = env.run(&["inspection", "finding", "list"]);
    assert!(open.assert_code(0).stdout.contains("残り"), "{}", open.stdout);
    env.run(&["inspection", "finding", "close", "IF-1", "--text", "受講させた", "--by", "chief"]).assert_code(0);
    let twice = env.run(&["inspection", "finding", "close", "IF-1", "--text", "again", "--by", "chief"]);
    assert!(twice.assert_code(2).stderr.contains("closed already"), "{}", twice.stderr);

    let all = env.run(&["--json", "audit", "query", "--limit", "10000"]).assert_code(0).json();
    let steps: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"]["action"].as_str().filter(|a| a.starts_with("inspection_")))
        .collect();
    assert_eq!(
        steps,
        ["inspection_reported", "inspection_reported", "inspection_finding_added", "inspection_finding_closed"]
    );
    assert!(!all.to_string().contains("研修の未受講者"), "finding texts are in the ledger only as digests");
}
