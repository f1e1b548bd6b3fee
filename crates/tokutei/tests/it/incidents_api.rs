//! The incident register and the alert outbox over `/api/v1/`: the same actions run through the
//! CLI and through the API leave the same ledger entries (open, triage, impact, publish, alert
//! retry: action, actor kind and id, target, digest field, detail keys) and the same impact;
//! auditors read but change nothing, handlers are refused; bad input is a 400 naming the field
//! with nothing written; a withdrawal inside the window is a 409 naming the date it ends.

use crate::admin::{entries_of, shape};
use crate::incidents::{day, incident_entries, read};
use crate::util::{TestEnv, send, start};

fn token(env: &TestEnv, id: &str) -> String {
    env.run(&["--json", "staff", "token", "issue", "--by", "chief", id]).assert_code(0).json()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The `--title … --known-at …` flags of the CLI and the same incident as the API's body.
fn open_args(today: &str) -> (Vec<String>, String) {
    let title = "委託先からの顧客情報の漏えい";
    let summary = "委託先の端末から顧客の氏名が閲覧された";
    let cli = [
        "--title",
        title,
        "--known-at",
        today,
        "--occurred-at",
        today,
        "--regime",
        "tokutei",
        "--regime",
        "appi",
        "--malicious",
        "--summary",
        summary,
    ]
    .map(String::from)
    .to_vec();
    let api = serde_json::json!({
        "title": title, "known_at": today, "occurred_at": today, "regimes": ["tokutei", "appi"],
        "malicious": true, "summary": summary,
    })
    .to_string();
    (cli, api)
}

#[test]
fn cli_and_api_open_triage_impact_and_publish_leave_the_same_entries_and_counts() {
    let env = crate::access::demo_with_handler_of("3");
    read(&env, "HS00000001", "contract.name");
    read(&env, "HS00000001", "contract.name");
    let third = read(&env, "HS00000002", "contract.phone");
    let chief = token(&env, "chief");
    let today = day(0);
    let (open_cli, open_api) = open_args(&today);

    // Through the CLI.
    let mut args = vec!["--json", "incidents", "open", "--by", "chief"];
    args.extend(open_cli.iter().map(String::as_str));
    let by_cli = env.run(&args).assert_code(0).json();
    let cli_id = by_cli["id"].as_str().unwrap().to_string();
    env.run(&["incidents", "triage", &cli_id, "--by", "chief", "--malicious", "--sensitive"]).assert_code(0);
    let cli_impact = env
        .run(&[
            "--json",
            "incidents",
            "impact",
            &cli_id,
            "--by",
            "chief",
            "--principal",
            "op-1",
            "--since",
            &day(-1),
            "--until",
            &day(1),
        ])
        .assert_code(0)
        .json();
    env.run(&["incidents", "publish", &cli_id, "--by", "chief"]).assert_code(0);

    // Through the API, with the chief manager's token.
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let addr = &server.addr;
    let (status, text) = send(addr, "POST", "/api/v1/incidents", Some(&chief), &open_api);
    assert_eq!(status, 201, "{text}");
    let by_api = json(&text);
    let api_id = by_api["id"].as_str().unwrap().to_string();
    // The same shape as the CLI's `--json`: obligations as objects, the same reports owed.
    let owed = |v: &serde_json::Value| -> Vec<(String, String, String)> {
        v["obligations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                assert!(o["submitted_at"].is_null() && o["days_left"].is_i64(), "{o}");
                (o["regime"].to_string(), o["report"].to_string(), o["due"].to_string())
            })
            .collect()
    };
    assert_eq!(owed(&by_api), owed(&by_cli));
    let (status, text) = send(
        addr,
        "POST",
        &format!("/api/v1/incidents/{api_id}/triage"),
        Some(&chief),
        r#"{"malicious": true, "sensitive": true}"#,
    );
    assert_eq!(status, 200, "{text}");
    assert_eq!(json(&text)["triage"]["outcome"], "reportable");
    let window = format!(r#"{{"principal": "op-1", "since": "{}", "until": "{}"}}"#, day(-1), day(1));
    let (status, text) = send(addr, "POST", &format!("/api/v1/incidents/{api_id}/impacts"), Some(&chief), &window);
    assert_eq!(status, 201, "{text}");
    let api_impact = json(&text);
    for key in ["subscribers", "categories", "items"] {
        assert_eq!(api_impact[key], cli_impact[key], "`{key}`: the API counts what the CLI counts");
    }
    assert_eq!(api_impact["subscribers"], serde_json::json!(["HS00000001", "HS00000002"]));
    let (status, text) = send(addr, "GET", &format!("/api/v1/incidents/{api_id}/impacts"), Some(&chief), "");
    assert_eq!((status, json(&text)[0]["items"].clone()), (200, cli_impact["items"].clone()), "{text}");
    // An entry behind the impact proves against the signed checkpoint the CLI left.
    let (status, text) = send(addr, "GET", &format!("/api/v1/incidents/{api_id}/proofs/{third}"), Some(&chief), "");
    assert_eq!(status, 200, "{text}");
    assert_eq!((json(&text)["type"].clone(), json(&text)["index"].clone()), ("inclusion".into(), third.into()));
    let (status, _) = send(addr, "GET", &format!("/api/v1/incidents/{api_id}/proofs/0"), Some(&chief), "");
    assert_eq!(status, 404, "entry 0 is not behind the impact");

    let (status, text) = send(addr, "POST", &format!("/api/v1/incidents/{api_id}/publication"), Some(&chief), "");
    assert_eq!(status, 201, "{text}");
    let listed_until = json(&text)["publication"]["listed_until"].as_str().unwrap().to_string();
    // Inside the window: 409, naming the date the window ends, and nothing written.
    let (status, text) = send(addr, "POST", &format!("/api/v1/incidents/{api_id}/withdrawal"), Some(&chief), "");
    assert_eq!(status, 409, "{text}");
    let detail = json(&text)["error"]["detail"].as_str().unwrap().to_string();
    assert!(detail.contains(&listed_until), "names the last day listed ({listed_until}): {detail}");
    // The register as the CLI lists it.
    let (status, text) = send(addr, "GET", &format!("/api/v1/incidents/{cli_id}"), Some(&chief), "");
    assert_eq!(status, 200, "{text}");
    drop(server);
    let shown = env.run(&["--json", "incidents", "show", &cli_id]).assert_code(0).json();
    assert_eq!(json(&text), shown, "the CLI's `--json` shape");
    assert!(entries_of(&env, "incident_withdrawn").is_empty(), "a refused withdrawal writes nothing");

    for action in ["incident_opened", "incident_triaged", "incident_impact_computed", "incident_published"] {
        let entries = entries_of(&env, action);
        assert_eq!(entries.len(), 2, "{action}: {entries:?}");
        let (cli, api) = (&entries[0], &entries[1]);
        assert_eq!(shape(cli), shape(api), "{action}\nCLI:\n{cli}\nAPI:\n{api}");
        assert_eq!((shape(api).1, shape(api).2), ("staff".to_string(), "chief".to_string()), "{api}");
        assert_eq!(cli["event"]["subject"], format!("incident/{cli_id}").as_str());
        assert_eq!(api["event"]["subject"], format!("incident/{api_id}").as_str());
    }
    env.run(&["audit", "verify"]).assert_code(0);
}

#[test]
fn auditors_read_handlers_are_refused_and_bad_input_names_the_field_and_writes_nothing() {
    let env = crate::access::demo_with_handler_of("1");
    env.run(&["staff", "add", "--by", "chief", "aud", "--name", "監査 一郎", "--role", "auditor"]).assert_code(0);
    let today = day(0);
    let (open_cli, open_api) = open_args(&today);
    let mut args = vec!["--json", "incidents", "open", "--by", "chief"];
    args.extend(open_cli.iter().map(String::as_str));
    let id = env.run(&args).assert_code(0).json()["id"].as_str().unwrap().to_string();
    let (chief, auditor, handler) = (token(&env, "chief"), token(&env, "aud"), token(&env, "op-1"));
    let before = incident_entries(&env);

    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let addr = &server.addr;
    let one = format!("/api/v1/incidents/{id}");
    // An auditor reads: the list, one incident, its history, a report.
    for path in [
        "/api/v1/incidents".to_string(),
        one.clone(),
        format!("{one}/history"),
        format!("{one}/reports/tokutei/first"),
        "/api/v1/alerts".to_string(),
    ] {
        let (status, text) = send(addr, "GET", &path, Some(&auditor), "");
        assert_eq!(status, 200, "{path}: {text}");
    }
    // … but changes nothing; a handler neither reads nor changes.
    let changes = [
        ("POST", "/api/v1/incidents".to_string(), open_api.clone()),
        ("PATCH", one.clone(), r#"{"cause": "x"}"#.to_string()),
        ("POST", format!("{one}/triage"), "{}".to_string()),
        ("POST", format!("{one}/publication"), String::new()),
        ("POST", format!("{one}/withdrawal"), String::new()),
        ("GET", format!("{one}/notices/letters?purpose=support&contact=contract.name"), String::new()),
    ];
    for (method, path, body) in &changes {
        for who in [&auditor, &handler] {
            let (status, text) = send(addr, method, path, Some(who), body);
            assert_eq!(status, 403, "{method} {path}: {text}");
            assert!(json(&text)["error"]["detail"].is_string(), "{text}");
        }
    }
    let (status, _) = send(addr, "GET", "/api/v1/incidents", Some(&handler), "");
    assert_eq!(status, 403, "a handler does not read the register");
    let (status, _) = send(addr, "GET", "/api/v1/incidents", None, "");
    assert_eq!(status, 401);

    // Bad input: 400 naming the field.
    let field = |method: &str, path: &str, body: &str| {
        let (status, text) = send(addr, method, path, Some(&chief), body);
        assert_eq!(status, 400, "{method} {path} {body}: {text}");
        json(&text)["error"]["field"].as_str().map(String::from)
    };
    let bad_time = open_api.replace(&format!(r#""known_at":"{today}""#), r#""known_at":"yesterday""#);
    assert_ne!(bad_time, open_api);
    assert_eq!(field("POST", "/api/v1/incidents", &bad_time).as_deref(), Some("known_at"));
    let future = open_api.replace(&format!(r#""known_at":"{today}""#), &format!(r#""known_at":"{}""#, day(2)));
    assert_eq!(field("POST", "/api/v1/incidents", &future).as_deref(), Some("known_at"));
    let bad_regime = open_api.replace(r#""appi""#, r#""nope""#);
    assert_eq!(field("POST", "/api/v1/incidents", &bad_regime).as_deref(), Some("regimes"));
    let no_regime = open_api.replace(r#"["tokutei","appi"]"#, "[]");
    assert_ne!(no_regime, open_api);
    assert_eq!(field("POST", "/api/v1/incidents", &no_regime).as_deref(), Some("regimes"));
    let persons = open_api.replace(r#""malicious":true"#, r#""malicious":true,"persons":-3"#);
    assert_eq!(field("POST", "/api/v1/incidents", &persons).as_deref(), Some("persons"));
    assert_eq!(field("PATCH", &one, r#"{"status": "gone"}"#).as_deref(), Some("status"));
    assert_eq!(field("POST", &format!("{one}/triage"), r#"{"regimes": ["x"]}"#).as_deref(), Some("regimes"));
    let window = r#"{"principal": "op-1", "since": "2026-13-01", "until": "2026-12-01"}"#;
    assert_eq!(field("POST", &format!("{one}/impacts"), window).as_deref(), Some("since"));
    let backwards = format!(r#"{{"principal": "op-1", "since": "{}", "until": "{}"}}"#, day(0), day(-1));
    assert_eq!(field("POST", &format!("{one}/impacts"), &backwards).as_deref(), Some("until"));
    assert_eq!(field("GET", &format!("{one}/reports/tokutei/third"), "").as_deref(), Some("report"));
    assert_eq!(field("GET", "/api/v1/alerts?state=lost", "").as_deref(), Some("state"));
    assert_eq!(field("POST", "/api/v1/alerts/not-an-alert/retry", "").as_deref(), Some("id"));
    assert!(field("POST", "/api/v1/incidents", r#"{"title": "x", "what": 1}"#).is_none(), "an unknown field");
    // Not found, and a final report with empty items is a conflict, not a server error.
    let (status, _) = send(addr, "GET", "/api/v1/incidents/INC-20260101-NOPE", Some(&chief), "");
    assert_eq!(status, 404);
    let (status, _) = send(addr, "GET", "/api/v1/alerts/al-0123456789ab", Some(&auditor), "");
    assert_eq!(status, 404);
    let (status, text) = send(addr, "POST", &format!("{one}/reports/tokutei/detailed/submit"), Some(&chief), "{}");
    assert!(status == 400 || status == 409, "{status}: {text}");
    drop(server);

    assert_eq!(incident_entries(&env), before, "refusals and bad input wrote nothing");
    let list = env.run(&["--json", "incidents", "list"]).assert_code(0).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["version"], 1);
}

#[test]
fn cli_and_api_retry_a_failed_alert_with_the_same_entry_and_only_a_manager_may() {
    let env = TestEnv::new();
    let policy = env.write("policy.toml", include_str!("../../../tokutei-policy/policies/hoshizora-tsushin.toml"));
    env.run(&["init", "--policy", policy.to_str().unwrap()]).assert_code(0);
    // Nothing listens there: every attempt fails, and one attempt is all an alert gets.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    crate::alerts::configure(&env, &url);
    crate::alerts::write_secret(&env, 0o600);
    env.run(&["staff", "add", "--by", "chief", "aud", "--name", "監査 一郎", "--role", "auditor"]).assert_code(0);
    let first = env.run(&["--json", "alerts", "test", "--by", "chief"]).assert_code(0).json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let second = env.run(&["--json", "alerts", "test", "--by", "chief"]).assert_code(0).json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, second);
    env.run(&["alerts", "deliver"]).assert_code(1);
    env.run(&["alerts", "retry", &first, "--by", "chief"]).assert_code(0);
    let (chief, auditor) = (token(&env, "chief"), token(&env, "aud"));
    let listed = env.run(&["--json", "alerts", "list"]).assert_code(0).json();

    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let addr = &server.addr;
    let retry = format!("/api/v1/alerts/{second}/retry");
    let (status, text) = send(addr, "GET", &format!("/api/v1/alerts/{second}"), Some(&auditor), "");
    assert_eq!(status, 200, "{text}");
    let shown = json(&text);
    let cli_second = listed.as_array().unwrap().iter().find(|a| a["id"] == second.as_str()).unwrap();
    assert_eq!(&shown, cli_second, "the CLI's shape");
    assert_eq!(shown["state"], "failed");
    let (status, _) = send(addr, "POST", &retry, Some(&auditor), "");
    assert_eq!(status, 403, "an auditor re-queues nothing");
    let (status, text) = send(addr, "POST", &retry, Some(&chief), "");
    assert_eq!((status, json(&text)), (200, serde_json::json!({ "id": second, "state": "pending" })));
    drop(server);

    let requeued = entries_of(&env, "alert_requeued");
    assert_eq!(requeued.len(), 2, "{requeued:?}");
    assert_eq!(shape(&requeued[0]), shape(&requeued[1]), "CLI:\n{}\nAPI:\n{}", requeued[0], requeued[1]);
    assert_eq!(requeued[1]["event"]["subject"], format!("alert/{second}").as_str());
    assert_eq!((shape(&requeued[1]).1, shape(&requeued[1]).2), ("staff".to_string(), "chief".to_string()));
}
