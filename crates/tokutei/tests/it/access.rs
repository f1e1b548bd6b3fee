//! The gateway through the binary: the decision corpus of `tokutei-gateway`
//! (`crates/tokutei-gateway/tests/corpus/`) replayed with real commands — `init` with the
//! case's policy, `deployment.toml` and `cedar/`, `staff add`/`staff train`, `subscribers
//! import`, `consent record`, `exports request`/`approve`, then `tokutei access --json` — and
//! compared with the expected decisions. Plus the staff, token and access commands' own
//! behaviour (exit codes, audit entries, bad input).
//!
//! The corpus is written for a fixed day; the binary decides on today, so every date of a
//! case (training, termination) is moved by the same number of days.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::TestEnv;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tokutei-gateway/tests/corpus")
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Moves a case's dates to today's frame.
struct Shift(i64);

impl Shift {
    fn date(&self, text: &str) -> String {
        let d: jiff::civil::Date = text.parse().unwrap();
        d.checked_add(jiff::Span::new().days(self.0)).unwrap().to_string()
    }
}

fn today_tokyo() -> jiff::civil::Date {
    jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap()).date()
}

/// How a replay ended.
enum Replay {
    Done(Vec<String>),
    /// `init` refused the case's policy (a case for the gateway's defence in depth).
    PolicyRefused,
}

/// Replay one corpus case through the binary; returns the mismatches.
fn replay(case: &Path) -> Replay {
    let name = case.file_name().unwrap().to_string_lossy().to_string();
    let env = TestEnv::new();
    let request = read(&case.join("request.json"));
    let now: jiff::Timestamp = request["now"].as_str().unwrap().parse().unwrap();
    let case_day = now.to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap()).date();
    let shift = Shift((today_tokyo() - case_day).get_days() as i64);

    let policy =
        if case.join("policy.toml").exists() { case.join("policy.toml") } else { corpus().join("policy.toml") };
    let init = env.run(&["init", "--policy", policy.to_str().unwrap()]);
    if init.code != 0 {
        assert!(init.stderr.contains("is invalid"), "{name}: init failed: {}", init.stderr);
        return Replay::PolicyRefused;
    }
    let parsed = tokutei_policy_ids(&policy);
    let deployment = read(&if case.join("deployment.json").exists() {
        case.join("deployment.json")
    } else {
        corpus().join("deployment.json")
    });
    let courses: Vec<String> = str_list(&deployment["required_training"]).iter().map(|c| format!("{c:?}")).collect();
    std::fs::write(
        env.data().join("deployment.toml"),
        format!(
            "zones_required = {}\nrequired_training = [{}]\n",
            deployment["zones_required"].as_bool().unwrap_or(false),
            courses.join(", ")
        ),
    )
    .unwrap();
    if case.join("extra.cedar").exists() {
        std::fs::create_dir_all(env.data().join("cedar")).unwrap();
        std::fs::copy(case.join("extra.cedar"), env.data().join("cedar/extra.cedar")).unwrap();
    }

    // Principals (grants naming what the policy does not have can never match; the CLI
    // refuses them as typos, so they are left out here).
    for p in read(&case.join("principals.json")).as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        let mut args: Vec<String> =
            vec!["staff".into(), "add".into(), "--by".into(), "chief".into(), id.into(), "--name".into(), id.into()];
        match p["kind"]["type"].as_str().unwrap() {
            "person" => args.extend(["--role".into(), p["kind"]["role"].as_str().unwrap().into()]),
            _ => args.extend(["--system".into(), p["kind"]["name"].as_str().unwrap().into()]),
        }
        for range in p["data_range"].as_array().into_iter().flatten() {
            let service = range["service"].as_str().unwrap();
            let cats: Vec<String> =
                str_list(&range["categories"]).into_iter().filter(|c| parsed.categories.contains(c)).collect();
            if parsed.services.iter().any(|s| s == service) && !cats.is_empty() {
                args.extend(["--range".into(), format!("{service}:{}", cats.join(","))]);
            }
        }
        for purpose in str_list(&p["purposes"]).into_iter().filter(|x| parsed.purposes.contains(x)) {
            args.extend(["--purpose".into(), purpose]);
        }
        for zone in str_list(&p["zones"]) {
            args.extend(["--zone".into(), zone]);
        }
        if p.get("actions").is_some() {
            args.extend(["--actions".into(), str_list(&p["actions"]).join(",")]);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        env.run(&refs).assert_code(0);
        for t in p["kind"]["training"].as_array().into_iter().flatten() {
            env.run(&[
                "staff",
                "train",
                "--by",
                "chief",
                id,
                "--course",
                t["course"].as_str().unwrap(),
                "--completed",
                &shift.date(t["completed"].as_str().unwrap()),
                "--valid-until",
                &shift.date(t["valid_until"].as_str().unwrap()),
            ])
            .assert_code(0);
        }
    }

    // Subscribers, then their consents.
    let subscribers = read(&case.join("subscribers.json"));
    let mut csv = String::from(
        "subscriber,service,state,started_on,suspended_on,terminated_on,method,collected_at,collected_by\n",
    );
    for s in subscribers.as_array().unwrap() {
        let state = s["contract"]["state"].as_str().unwrap();
        let on = s["contract"]["on"].as_str().map(|d| shift.date(d)).unwrap_or_default();
        let (suspended, terminated) = match state {
            "suspended" => (shift.date("2026-05-01"), String::new()),
            "terminated" => (String::new(), on),
            _ => (String::new(), String::new()),
        };
        csv.push_str(&format!(
            "{},{},{state},2020-01-01,{suspended},{terminated},written,2020-01-01,shop\n",
            s["id"].as_str().unwrap(),
            s["service"].as_str().unwrap()
        ));
    }
    let csv_path = env.write("subscribers.csv", csv);
    env.run(&["subscribers", "import", csv_path.to_str().unwrap()]).assert_code(0);
    for s in subscribers.as_array().unwrap() {
        for (purpose, c) in s["consents"].as_object().into_iter().flatten() {
            let choice = if c["choice"] == "opted_in" { "opt_in" } else { "opt_out" };
            let id = s["id"].as_str().unwrap();
            env.run(&[
                "consent",
                "record",
                "--by",
                "chief",
                "--subscriber",
                id,
                "--purpose",
                purpose,
                "--choice",
                choice,
                "--channel",
                "web",
            ])
            .assert_code(0);
        }
        // A stop the case assumes: a data-subject request received, verified and fulfilled.
        for (flag, kind) in [("use_stopped", "stop"), ("provision_stopped", "provision_stop")] {
            if s[flag] == true {
                let id = s["id"].as_str().unwrap();
                let opened = env
                    .run(&[
                        "--json",
                        "requests",
                        "open",
                        "--type",
                        kind,
                        "--subscriber",
                        id,
                        "--verified-by",
                        "counter",
                        "--by",
                        "chief",
                    ])
                    .assert_code(0)
                    .json();
                env.run(&["requests", "fulfil", opened["id"].as_str().unwrap(), "--by", "chief"]).assert_code(0);
            }
        }
    }

    // The zone the case names: with zones required, a person's zone is derived, so the zone is
    // registered with this machine as its terminal (secrecy of communications as the case
    // says) and the person badges in.
    let principal = request["principal"].as_str().unwrap();
    if let Some(zone) = request["zone"].as_str() {
        let mut args = vec!["zones", "add", zone, "--name", zone, "--site", "corpus", "--network", "127.0.0.0/8"];
        args.extend(["--network", "::1/128", "--by", "chief"]);
        if request["zone_secrecy"] == true {
            args.push("--secrecy");
        }
        env.run(&args).assert_code(0);
        let person = read(&case.join("principals.json"))
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == principal && p["kind"]["type"] == "person");
        if person {
            let badge = format!("person,zone,event,at\n{principal},{zone},enter,{}\n", jiff::Timestamp::now());
            let file = env.write("badges.csv", badge);
            env.run(&["presence", "import", file.to_str().unwrap(), "--by", "chief"]).assert_code(0);
        }
    }

    // The export approval the case assumes, filed and approved by someone else.
    let purpose = request["purpose"].as_str().unwrap();
    let categories = str_list(&request["categories"]);
    let subscriber_ids = str_list(&request["subscribers"]);
    if let Some(approval) = request["export_approval"].as_str() {
        env.run(&["staff", "add", "--by", "chief", "corpus-approver", "--name", "approver", "--role", "chief_manager"])
            .assert_code(0);
        let mut args =
            vec!["exports", "request", approval, "--staff", principal, "--purpose", purpose, "--reason", "corpus"];
        for c in &categories {
            args.extend(["--category", c]);
        }
        for s in &subscriber_ids {
            args.extend(["--subscriber", s]);
        }
        env.run(&args).assert_code(0);
        env.run(&["exports", "approve", approval, "--approver", "corpus-approver"]).assert_code(0);
    }

    let mut args = vec![
        "--json",
        "access",
        "--staff",
        principal,
        "--purpose",
        purpose,
        "--action",
        request["action"].as_str().unwrap(),
    ];
    for s in &subscriber_ids {
        args.extend(["--subscriber", s]);
    }
    for c in &categories {
        args.extend(["--category", c]);
    }
    let channel = request["channel"].as_str().map(str::to_string);
    let zone = request["zone"].as_str().map(str::to_string);
    let approval = request["export_approval"].as_str().map(str::to_string);
    if let Some(c) = &channel {
        args.extend(["--channel", c]);
    }
    if let Some(z) = &zone {
        args.extend(["--zone", z]);
    }
    if let Some(a) = &approval {
        args.extend(["--export-approval", a]);
    }
    let run = env.run(&args);
    if run.code != 0 && run.code != 1 {
        return Replay::Done(vec![format!("{name}: `tokutei access` exited {}: {}", run.code, run.stderr)]);
    }
    let out = run.json();
    let mut failures = Vec::new();
    let expected = read(&case.join("expected.json"));
    let all_allowed = expected.as_array().unwrap().iter().all(|e| e["allowed"] == true);
    if (run.code == 0) != all_allowed {
        failures.push(format!("{name}: exit code {} but all allowed = {all_allowed}", run.code));
    }
    for e in expected.as_array().unwrap() {
        let (sub, cat) = (e["subscriber"].as_str().unwrap(), e["category"].as_str().unwrap());
        let item = out["subscribers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == sub)
            .and_then(|s| s["items"].as_array().unwrap().iter().find(|i| i["category"] == cat));
        let Some(item) = item else {
            failures.push(format!("{name}: no decision for {sub}/{cat}"));
            continue;
        };
        let got_reasons: Vec<String> =
            item["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_string()).collect();
        let got = (item["allowed"].clone(), got_reasons, str_list(&item["policies"]), item["mask"].clone());
        let mut want = (e["allowed"].clone(), str_list(&e["reasons"]), str_list(&e["policies"]), e["mask"].clone());
        if want.1.iter().any(|r| r == "purpose_not_in_policy") {
            // The service refuses a purpose the active policy does not list for the whole
            // request, before it reads any subscriber's facts or asks the rules: that reason
            // alone, and no deciding policy.
            want.1 = vec!["purpose_not_in_policy".to_string()];
            want.2 = Vec::new();
        }
        if zone.is_none() && want.1.iter().any(|r| r == "outside_zone") {
            // A person in no zone: through the service their zone is derived, and one who never
            // badged in is refused for that reason, before the rules are asked.
            want.1 = vec!["zone_not_entered".to_string()];
            want.2 = Vec::new();
        }
        if got != want {
            failures.push(format!("{name}: {sub}/{cat}\n  expected {want:?}\n  got      {got:?}"));
        }
        if item["audit_index"].as_u64().is_none() {
            failures.push(format!("{name}: {sub}/{cat} has no audit entry"));
        }
    }
    Replay::Done(failures)
}

struct PolicyIds {
    services: Vec<String>,
    categories: Vec<String>,
    purposes: Vec<String>,
}

/// The ids a policy file defines (read with a line scan: the test crate does not parse TOML).
fn tokutei_policy_ids(path: &Path) -> PolicyIds {
    let text = std::fs::read_to_string(path).unwrap();
    let mut ids = PolicyIds { services: vec![], categories: vec![], purposes: vec![] };
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("[[") {
            section = line.trim_matches(|c| c == '[' || c == ']').to_string();
        } else if let Some(id) = line.strip_prefix("id = \"").and_then(|r| r.strip_suffix('"')) {
            match section.as_str() {
                "services" => ids.services.push(id.to_string()),
                "categories" => ids.categories.push(id.to_string()),
                "purposes.list" => ids.purposes.push(id.to_string()),
                _ => {}
            }
        }
    }
    ids
}

#[test]
fn the_decision_corpus_holds_through_the_binary() {
    let mut cases: Vec<PathBuf> =
        std::fs::read_dir(corpus()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 20, "the corpus lost cases");
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    for case in &cases {
        match replay(case) {
            Replay::Done(f) => failures.extend(f),
            Replay::PolicyRefused => refused.push(case.file_name().unwrap().to_string_lossy().to_string()),
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    // Only the case whose policy is deliberately flawed cannot be published.
    assert_eq!(refused, ["secrecy-without-opt-in"]);
}

/// A demo deployment with one handler allowed support over contract data.
fn demo_with_handler() -> TestEnv {
    demo_with_handler_of("5")
}

/// The same with this many synthetic subscribers.
pub(crate) fn demo_with_handler_of(subscribers: &str) -> TestEnv {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", subscribers]).assert_code(0);
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
        "fiber:contract.name,contract.phone",
        "--range",
        "mobile:contract.name,contract.phone",
        "--range",
        "global_vpn:contract.name,contract.phone",
        "--purpose",
        "support",
    ])
    .assert_code(0);
    // The demo requires the policy's training: the handler has completed it.
    env.run(&[
        "staff",
        "train",
        "op-1",
        "--course",
        "privacy-basics",
        "--completed",
        "2026-01-01",
        "--valid-until",
        "2999-12-31",
        "--by",
        "chief",
    ])
    .assert_code(0);
    env
}

fn ledger_size(env: &TestEnv) -> u64 {
    env.run(&["--json", "audit", "verify"]).assert_code(0).json()["entries"].as_u64().unwrap()
}

#[test]
fn access_reads_audited_values_and_denials_exit_1() {
    let env = demo_with_handler();
    let before = ledger_size(&env);
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
        "HS00000001",
        "--category",
        "contract.name",
    ]);
    run.assert_code(0);
    let out = run.json();
    let item = &out["subscribers"][0]["items"][0];
    assert_eq!(item["allowed"], true);
    assert_eq!(item["values"].as_array().unwrap().len(), 1);
    let index = item["audit_index"].as_u64().unwrap();
    assert!(index >= before);
    // The entry is there, names the staff member, and carries no value.
    let query = env.run(&["--json", "audit", "query", "--staff", "op-1"]).assert_code(0).json();
    let text = query.to_string();
    assert!(text.contains("HS00000001") && !text.contains(item["values"][0]["value"].as_str().unwrap()));

    // Outside the data range: exit 1, the denial is audited too.
    let denied = env.run(&[
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
        "billing.payment",
    ]);
    denied.assert_code(1);
    assert_eq!(denied.json()["subscribers"][0]["items"][0]["reasons"][0]["code"], "outside_data_range");
    assert_eq!(ledger_size(&env), index + 2);

    // Explain reads no value.
    let explain = env.run(&[
        "access",
        "explain",
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
    explain.assert_code(0);
    assert!(explain.stdout.contains("permit.purpose.support"), "{}", explain.stdout);
    // The explanation reveals the subscriber's facts, so it is audited (one entry).
    assert_eq!(ledger_size(&env), index + 3);
}

#[test]
fn bad_access_input_exits_2_and_writes_nothing() {
    let env = demo_with_handler();
    let before = ledger_size(&env);
    for args in [
        &["access", "--staff", "nobody", "--purpose", "support", "--channel", "phone", "--subscriber", "HS00000001"][..],
        &[
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
            "delete",
        ][..],
        &[
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
            "--category",
            "contract.name",
        ][..],
        &["access", "--staff", "op-1", "--purpose", "support"][..],
    ] {
        let run = env.run(args);
        assert_eq!(run.code, 2, "{args:?}\n{}", run.stderr);
        assert!(run.stderr.starts_with("error:"), "{}", run.stderr);
    }
    assert_eq!(ledger_size(&env), before);
    // An id that is no id is refused where it is parsed, naming its flag.
    let read = ["access", "--staff", "op-1", "--purpose", "support", "--channel", "phone"];
    for (extra, field) in [
        (&["--subscriber", "HS 1"][..], "`subscriber`"),
        (&["--subscriber", "HS00000001", "--category", "contract\u{1b}name"][..], "`category`"),
    ] {
        let run = env.run(&[&read[..], extra].concat());
        assert_eq!(run.code, 2, "{extra:?}\n{}", run.stderr);
        assert!(run.stderr.contains(field), "{extra:?}: {}", run.stderr);
    }
    let run = env.run(&["access", "--staff", "op 1", "--purpose", "support", "--subscriber", "HS00000001"]);
    assert!(run.code == 2 && run.stderr.contains("`staff`"), "{}", run.stderr);
    assert_eq!(ledger_size(&env), before);
    // Staff input is checked against the policy.
    let run =
        env.run(&["staff", "add", "--by", "chief", "op-2", "--name", "x", "--role", "handler", "--purpose", "suport"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("`suport`"), "{}", run.stderr);
    let run = env.run(&["staff", "add", "--by", "chief", "op-2", "--name", "x", "--role", "boss"]);
    assert_eq!(run.code, 2);
}

#[test]
fn tokens_are_shown_once_and_stored_hashed() {
    let env = demo_with_handler();
    let issued =
        env.run(&["--json", "staff", "token", "issue", "--by", "chief", "op-1", "--days", "30"]).assert_code(0).json();
    let token = issued["token"].as_str().unwrap().to_string();
    let id = issued["id"].as_str().unwrap().to_string();
    assert!(token.starts_with(&format!("tkt_{id}_")));
    let listed = env.run(&["--json", "staff", "token", "list", "op-1"]);
    listed.assert_code(0);
    assert!(listed.stdout.contains(&id) && !listed.stdout.contains(&token));
    let show = env.run(&["staff", "show", "op-1"]).assert_code(0).stdout.clone();
    assert!(!show.contains(&token));
    // Nowhere on disk in clear.
    let db = std::fs::read(env.data().join("tokutei.sqlite3")).unwrap();
    assert!(!db.windows(token.len()).any(|w| w == token.as_bytes()));
    env.run(&["staff", "token", "revoke", "--by", "chief", &id]).assert_code(0);
    let listed = env.run(&["--json", "staff", "token", "list", "op-1"]).assert_code(0).json();
    assert!(listed[0]["revoked_at"].is_string());
    let staff = env.run(&["--json", "staff", "list"]).assert_code(0).json();
    let ids: Vec<&str> = staff.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"op-1") && ids.contains(&"demo-call-centre"), "{ids:?}");
}

#[test]
fn consent_withdrawal_through_the_cli_applies_to_the_next_access() {
    let env = demo_with_handler();
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
    let access = [
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
    let first = env.run(&access);
    // The demo subscriber may be terminated; make it active first.
    if first.code == 1 {
        env.run(&["contract", "set", "--by", "chief", "--subscriber", "HS00000001", "--state", "active"])
            .assert_code(0);
    }
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
        "opt_in",
        "--channel",
        "web",
    ])
    .assert_code(0);
    env.run(&access).assert_code(0);
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
        "call-123",
    ])
    .assert_code(0);
    let after = env.run(&access);
    after.assert_code(1);
    assert_eq!(after.json()["subscribers"][0]["items"][0]["reasons"][0]["code"], "opted_out");
    let shown = env.run(&["--json", "consent", "show", "--subscriber", "HS00000001"]).assert_code(0).json();
    assert_eq!(shown["current"][0]["choice"], "opted_out");
    assert_eq!(shown["history"].as_array().unwrap().len(), 2);
    // A purpose without a choice refuses consent records.
    let run = env.run(&[
        "consent",
        "record",
        "--by",
        "chief",
        "--subscriber",
        "HS00000001",
        "--purpose",
        "billing",
        "--choice",
        "opt_out",
        "--channel",
        "web",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

/// The attack of the security review: a handler whose range is `fiber:contract.name` erased a
/// whole subscriber, `billing.payment` included, by naming only `contract.name`.
#[test]
fn erase_outside_range_is_refused_and_shreds_nothing() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "3"]).assert_code(0);
    let erase = |staff: &str| {
        env.run(&[
            "--json",
            "access",
            "--staff",
            staff,
            "--purpose",
            "support",
            "--subscriber",
            "HS00000001",
            "--category",
            "contract.name",
            "--action",
            "erase",
        ])
    };
    let add = |id: &str, extra: &[&str]| {
        let mut args =
            vec!["staff", "add", "--by", "chief", id, "--name", "担当 者", "--role", "handler", "--purpose", "support"];
        args.extend(extra);
        env.run(&args).assert_code(0);
        env.run(&[
            "staff",
            "train",
            "--by",
            "chief",
            id,
            "--course",
            "privacy-basics",
            "--completed",
            "2026-04-01",
            "--valid-until",
            "2027-03-31",
        ])
        .assert_code(0);
    };
    add("op-x", &["--range", "fiber:contract.name"]);
    let refused = erase("op-x");
    refused.assert_code(1);
    let reasons = refused.json()["subscribers"][0]["items"].to_string();
    assert!(reasons.contains("action_not_granted"), "{reasons}");
    // Granted erasure, still only `contract.name` in range: every other category refuses.
    add("op-y", &["--range", "fiber:contract.name", "--range", "mobile:contract.name", "--actions", "read,erase"]);
    let refused = erase("op-y");
    refused.assert_code(1);
    let items = refused.json()["subscribers"][0]["items"].clone();
    let denied: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["allowed"] == false)
        .map(|i| i["category"].as_str().unwrap())
        .collect();
    assert!(denied.contains(&"billing.payment"), "{items}");
    let verify = env.run(&["--json", "subscribers", "verify"]).assert_code(0).json();
    assert_eq!(verify["erased_subscribers"], 0, "nothing was shredded");
}
