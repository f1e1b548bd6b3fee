//! Oversight over `/api/v1/oversight/`: the same actions run through the CLI and through the
//! API leave the same ledger entries (designation, filing of the 規程, appointment, violation
//! report, its acknowledgement and resolution: action, actor kind and id, target, digest field, detail
//! keys) and the API answers with the CLI's `--json`; auditors read but change nothing, a
//! handler files a report but reads no register; bad input is a 400 naming the field with
//! nothing written.

use crate::admin::{entries_of, shape};
use crate::util::{TestEnv, send, start};

const DEMO_RULES: &str = include_str!("../../../tokutei-policy/policies/hoshizora-tsushin-rules.toml");

fn token(env: &TestEnv, id: &str) -> String {
    env.run(&["--json", "staff", "token", "issue", "--by", "chief", id]).assert_code(0).json()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn cli_and_api_record_oversight_with_the_same_entries_and_the_same_json() {
    let env = crate::access::demo_with_handler_of("1");
    env.run(&["staff", "add", "--by", "chief", "aud", "--name", "監査 一郎", "--role", "auditor"]).assert_code(0);
    env.run(&["staff", "add", "--by", "chief", "chief-2", "--name", "二代目", "--role", "chief_manager"])
        .assert_code(0);
    let (chief, auditor, handler) = (token(&env, "chief"), token(&env, "aud"), token(&env, "op-1"));

    // Through the CLI.
    env.run(&["designation", "set", "--notified", "2026-11-30", "--service", "fiber", "--by", "chief"]).assert_code(0);
    env.run(&["manager", "appoint", "chief", "--from", "2026-12-01", "--evidence", "取締役会決議", "--by", "chief"])
        .assert_code(0);
    env.run(&["manager", "appoint", "chief-2", "--from", "2026-12-03", "--evidence", "取締役会決議", "--by", "chief"])
        .assert_code(0);
    env.run(&[
        "violations",
        "report",
        "--principal",
        "op-1",
        "--measure",
        "5",
        "--text",
        "私物USBの持込み",
        "--by",
        "op-1",
    ])
    .assert_code(0);
    env.run(&["violations", "ack", "VR-1", "--by", "chief"]).assert_code(0);
    env.run(&["violations", "resolve", "VR-1", "--outcome", "none", "--text", "貸与品だった", "--by", "chief"])
        .assert_code(0);

    // The demo registered its 規程 as version 1; the CLI files it.
    env.run(&["rules", "filed", "1", "--date", "2026-04-10", "--reference", "総基利第5号", "--by", "chief"])
        .assert_code(0);

    // Through the API.
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let addr = &server.addr;
    let next = DEMO_RULES.replace("effective = 2026-04-01", "effective = 2026-10-01");
    let (status, text) =
        send(addr, "POST", "/api/v1/oversight/rules", Some(&chief), &serde_json::json!({ "source": next }).to_string());
    assert_eq!(status, 201, "{text}");
    assert_eq!(json(&text)["version"], 2, "{text}");
    let (status, text) = send(
        addr,
        "POST",
        "/api/v1/oversight/rules/2/filings",
        Some(&chief),
        r#"{"filed_on": "2026-10-01", "reference": "総基利第9号"}"#,
    );
    assert_eq!(status, 201, "{text}");
    let (status, api_rules) = send(addr, "GET", "/api/v1/oversight/rules", Some(&auditor), "");
    assert_eq!(status, 200, "{api_rules}");
    let (status, api_rules_2) = send(addr, "GET", "/api/v1/oversight/rules/2", Some(&auditor), "");
    assert_eq!(status, 200, "{api_rules_2}");
    let (status, text) = send(
        addr,
        "POST",
        "/api/v1/oversight/designation",
        Some(&chief),
        r#"{"notified_on": "2026-11-30", "services": ["fiber", "mobile"]}"#,
    );
    assert_eq!(status, 201, "{text}");
    assert_eq!(json(&text)["status"]["deadlines"][0]["due"], "2027-02-28", "{text}");
    let (status, text) = send(
        addr,
        "POST",
        "/api/v1/oversight/chief-managers",
        Some(&chief),
        r#"{"principal": "chief", "from": "2026-12-05", "evidence": "取締役会決議"}"#,
    );
    assert_eq!(status, 201, "{text}");
    assert_eq!((json(&text)["id"].clone(), json(&text)["ended"].clone()), ("CM-3".into(), "CM-2".into()), "{text}");
    let report = r#"{"principal": "op-1", "measure": 5, "text": "私物USBの持込み"}"#;
    let (status, text) = send(addr, "POST", "/api/v1/oversight/violations", Some(&handler), report);
    assert_eq!(status, 201, "a handler files a report: {text}");
    assert_eq!(json(&text)["id"], "VR-2");
    let (status, text) = send(addr, "POST", "/api/v1/oversight/violations/VR-2/acknowledgement", Some(&chief), "");
    assert_eq!(status, 201, "{text}");
    let (status, text) = send(
        addr,
        "POST",
        "/api/v1/oversight/violations/VR-2/resolution",
        Some(&chief),
        r#"{"outcome": "none", "text": "貸与品だった"}"#,
    );
    assert_eq!(status, 201, "{text}");

    // The registers as the CLI's `--json` shows them.
    let (status, api_report) = send(addr, "GET", "/api/v1/oversight/violations/VR-1", Some(&auditor), "");
    assert_eq!(status, 200, "{api_report}");
    let (status, api_managers) = send(addr, "GET", "/api/v1/oversight/chief-managers", Some(&auditor), "");
    assert_eq!(status, 200, "{api_managers}");
    let (status, api_designation) = send(addr, "GET", "/api/v1/oversight/designation", Some(&auditor), "");
    assert_eq!(status, 200, "{api_designation}");
    drop(server);
    assert_eq!(
        json(&api_report),
        env.run(&["--json", "violations", "show", "VR-1", "--by", "chief"]).assert_code(0).json()
    );
    assert_eq!(json(&api_managers), env.run(&["--json", "manager", "list"]).assert_code(0).json());
    assert_eq!(json(&api_rules), env.run(&["--json", "rules", "list"]).assert_code(0).json());
    assert_eq!(json(&api_rules_2), env.run(&["--json", "rules", "show", "2"]).assert_code(0).json());
    assert_eq!(json(&api_rules_2)["filings"][0]["reference"], "総基利第9号");
    // `days_left` moves with the clock only between days: the same run, the same day.
    assert_eq!(json(&api_designation), env.run(&["--json", "designation", "show"]).assert_code(0).json());

    for (action, by) in [
        ("designation_recorded", "chief"),
        ("rules_filed", "chief"),
        ("chief_manager_appointed", "chief"),
        ("violation_reported", "op-1"),
        ("violation_acknowledged", "chief"),
        ("violation_resolved", "chief"),
    ] {
        let entries = entries_of(&env, action);
        // The CLI appointed twice (a first one, then a successor), the API once (a successor).
        let cli_count = if action == "chief_manager_appointed" { 2 } else { 1 };
        assert_eq!(entries.len(), cli_count + 1, "{action}: {entries:?}");
        let (cli, api) = (&entries[cli_count - 1], &entries[cli_count]);
        assert_eq!(shape(cli), shape(api), "{action}\nCLI:\n{cli}\nAPI:\n{api}");
        assert_eq!((shape(api).1, shape(api).2), ("staff".to_string(), by.to_string()), "{api}");
    }
    env.run(&["audit", "verify"]).assert_code(0);
}

#[test]
fn oversight_over_the_api_is_read_by_auditors_and_bad_input_names_the_field() {
    let env = crate::access::demo_with_handler_of("1");
    env.run(&["staff", "add", "--by", "chief", "aud", "--name", "監査 一郎", "--role", "auditor"]).assert_code(0);
    env.run(&["violations", "report", "--principal", "op-1", "--text", "兆候", "--by", "chief"]).assert_code(0);
    let (chief, auditor, handler) = (token(&env, "chief"), token(&env, "aud"), token(&env, "op-1"));
    let before =
        env.run(&["--json", "audit", "query", "--limit", "10000"]).assert_code(0).json().as_array().unwrap().len();

    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let addr = &server.addr;
    for path in [
        "/api/v1/oversight/designation",
        "/api/v1/oversight/chief-managers",
        "/api/v1/oversight/opinions",
        "/api/v1/oversight/violations",
        "/api/v1/oversight/violations/VR-1",
        "/api/v1/oversight/rules",
        "/api/v1/oversight/rules/1",
    ] {
        let (status, text) = send(addr, "GET", path, Some(&auditor), "");
        assert_eq!(status, 200, "{path}: {text}");
        let (status, text) = send(addr, "GET", path, Some(&handler), "");
        assert_eq!(status, 403, "a handler reads no register: {path}: {text}");
    }
    let (status, _) = send(addr, "GET", "/api/v1/oversight/violations/VR-9", Some(&auditor), "");
    assert_eq!(status, 404);
    let changes = [
        ("/api/v1/oversight/designation", r#"{"notified_on": "2026-11-30", "services": ["fiber"]}"#),
        ("/api/v1/oversight/violations/VR-1/acknowledgement", ""),
        ("/api/v1/oversight/opinions", r#"{"given_on": "2026-12-01", "subject": "s", "text": "t"}"#),
        ("/api/v1/oversight/rules", r#"{"source": "format = 1"}"#),
        ("/api/v1/oversight/rules/1/filings", r#"{"filed_on": "2026-12-01", "reference": "r"}"#),
    ];
    for (path, body) in changes {
        for who in [&auditor, &handler] {
            let (status, text) = send(addr, "POST", path, Some(who), body);
            assert_eq!(status, 403, "{path}: {text}");
        }
    }
    // Bad input: the field is named; nothing is written.
    for (path, body, field) in [
        ("/api/v1/oversight/designation", r#"{"notified_on": "2026-02-30", "services": ["fiber"]}"#, "notified_on"),
        ("/api/v1/oversight/designation", r#"{"notified_on": "2026-11-30", "services": ["satellite"]}"#, "services"),
        ("/api/v1/oversight/violations", r#"{"principal": "op-1", "measure": 9, "text": "x"}"#, "measure"),
        ("/api/v1/oversight/violations", r#"{"principal": "op-1", "measure": "five", "text": "x"}"#, "measure"),
        ("/api/v1/oversight/violations/VR-1/resolution", r#"{"outcome": "maybe", "text": "x"}"#, "outcome"),
        ("/api/v1/oversight/chief-managers", r#"{"principal": "op-1", "from": "2026-12-01"}"#, "principal"),
        ("/api/v1/oversight/rules", r#"{"source": "format = 1\ntitle = \"規程\"\n"}"#, "source"),
        ("/api/v1/oversight/rules/1/filings", r#"{"filed_on": "2026-12-32", "reference": "r"}"#, "filed_on"),
        ("/api/v1/oversight/rules/1/filings", r#"{"filed_on": "2026-03-01", "reference": "r"}"#, "filed_on"),
    ] {
        let (status, text) = send(addr, "POST", path, Some(&chief), body);
        assert_eq!(status, 400, "{path} {body}: {text}");
        assert_eq!(json(&text)["error"]["field"], field, "{path} {body}: {text}");
    }
    drop(server);
    let after = env.run(&["--json", "audit", "query", "--limit", "10000"]).assert_code(0).json();
    let changed: Vec<&serde_json::Value> = after.as_array().unwrap()[before..]
        .iter()
        .filter(|e| {
            e["event"]["action"].as_str().is_some_and(|a| {
                ["violation", "designation", "chief_manager", "opinion", "rules"].iter().any(|p| a.starts_with(p))
            })
        })
        .collect();
    assert!(changed.is_empty(), "refused requests wrote {changed:?}");
}
