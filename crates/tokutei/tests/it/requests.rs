//! `tokutei requests …` and `/api/v1/requests` end to end on the demo: a disclosure received
//! and verified at intake (`--subscriber`, `--verified-by`), listed with `id`, `type`, `status`
//! and `deadline` (14 days from today in Tokyo), paused and resumed, refused on a ground of its
//! type and notified — each step one ledger entry; bad input exits 2 naming the field with
//! nothing written; the API answers with the CLI's JSON and leaves entries of the same shape;
//! auditors read, handlers receive but read nothing.

use crate::admin::{entries_of, shape};

const DEMO_POLICY: &str = include_str!("../../../tokutei-policy/policies/hoshizora-tsushin.toml");
use crate::util::{TestEnv, send, start};

fn today_tokyo() -> jiff::civil::Date {
    jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap()).date()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn token(env: &TestEnv, id: &str) -> String {
    env.run(&["--json", "staff", "token", "issue", "--by", "chief", id]).assert_code(0).json()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn requests_from_the_command_line_and_the_api() {
    let env = crate::access::demo_with_handler_of("3");
    env.run(&["staff", "add", "--by", "chief", "aud", "--name", "監査 一郎", "--role", "auditor"]).assert_code(0);

    // Bad input exits 2, naming the field, and writes nothing.
    for (args, field) in [
        (&["--subscriber", "HS99999999", "--verified-by", "license"][..], "`subscriber`"),
        (&["--subscriber", "HS00000001", "--verified-by", "license", "--purpose", "horoscope"], "`purpose`"),
        (&["--subscriber", "HS00000001", "--verified-by", "palm_reading"], "palm_reading"),
        (&["--subscriber", "HS00000001", "--verified-by", "license", "--inquiry", "Q-nope"], "`inquiry`"),
    ] {
        let mut all = vec!["requests", "open", "--type", "disclosure", "--by", "chief"];
        all.extend_from_slice(args);
        let run = env.run(&all);
        assert!(run.assert_code(2).stderr.contains(field), "{args:?}: {}", run.stderr);
    }
    assert_eq!(env.run(&["--json", "requests", "list"]).assert_code(0).json(), serde_json::json!([]));

    let opened = env
        .run(&[
            "--json",
            "requests",
            "open",
            "--type",
            "disclosure",
            "--subscriber",
            "HS00000001",
            "--verified-by",
            "license",
            "--evidence",
            "本人確認ファイル 12",
            "--purpose",
            "marketing",
            "--by",
            "chief",
        ])
        .assert_code(0)
        .json();
    let due = today_tokyo().checked_add(jiff::Span::new().days(14)).unwrap().to_string();
    assert_eq!(
        (&opened["id"], &opened["type"], &opened["status"], &opened["deadline"]),
        (&"DR-1".into(), &"disclosure".into(), &"verified".into(), &due.clone().into())
    );
    let list = env.run(&["--json", "requests", "list"]).assert_code(0).json();
    assert_eq!(list[0]["id"], "DR-1");
    let shown = env.run(&["requests", "show", "DR-1"]).assert_code(0).stdout.clone();
    assert!(shown.contains("開示") && shown.contains("33条1項") && shown.contains("harm"), "{shown}");
    env.run(&["requests", "pause", "DR-1", "--reason", "書類の再送を依頼", "--by", "chief"]).assert_code(0);
    env.run(&["requests", "resume", "DR-1", "--by", "chief"]).assert_code(0);
    let bad = env.run(&["requests", "refuse", "DR-1", "--ground", "not_untrue", "--by", "chief"]);
    assert!(bad.assert_code(2).stderr.contains("`ground`"), "{}", bad.stderr);
    env.run(&[
        "requests",
        "refuse",
        "DR-1",
        "--ground",
        "harm",
        "--note",
        "第三者の権利を害するおそれ",
        "--by",
        "chief",
    ])
    .assert_code(0);
    let today = today_tokyo().to_string();
    let done = env
        .run(&["--json", "requests", "notify", "DR-1", "--method", "post", "--date", &today, "--by", "chief"])
        .assert_code(0)
        .json();
    assert_eq!((&done["status"], &done["outcome"]["ground"]), (&"notified".into(), &"harm".into()));

    // The API: the same register, the same shapes.
    let (chief, auditor, handler) = (token(&env, "chief"), token(&env, "aud"), token(&env, "op-1"));
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let addr = &server.addr;
    let open = r#"{"type": "stop", "channel": "phone", "purposes": ["marketing"]}"#;
    let (status, text) = send(addr, "POST", "/api/v1/requests", Some(&auditor), open);
    assert_eq!(status, 403, "{text}");
    let (status, text) = send(addr, "POST", "/api/v1/requests", Some(&handler), open);
    assert_eq!(status, 201, "a handler takes a phone request: {text}");
    assert_eq!((json(&text)["id"].as_str(), json(&text)["status"].as_str()), (Some("DR-2"), Some("received")));
    let (status, _) = send(addr, "GET", "/api/v1/requests", Some(&handler), "");
    assert_eq!(status, 403);
    let verify = r#"{"subscriber": "HS00000002", "method": "contract"}"#;
    let (status, text) = send(addr, "POST", "/api/v1/requests/DR-2/verification", Some(&handler), verify);
    assert_eq!(status, 201, "{text}");
    for (path, body, field) in [
        ("/api/v1/requests", r#"{"type": "gift", "channel": "phone"}"#, "type"),
        ("/api/v1/requests", r#"{"type": "stop", "channel": "phone", "method": "paper"}"#, "method"),
        ("/api/v1/requests/DR-2/extension", r#"{"days": 90, "reason": "x"}"#, "days"),
        ("/api/v1/requests/DR-2/refusal", r#"{"ground": "harm"}"#, "ground"),
        ("/api/v1/requests/DR-2/notice", r#"{"method": "post", "sent_on": "2026-02-30"}"#, "sent_on"),
    ] {
        let (status, text) = send(addr, "POST", path, Some(&chief), body);
        assert_eq!(status, 400, "{path} {body}: {text}");
        assert_eq!(json(&text)["error"]["field"], field, "{path} {body}: {text}");
    }
    let (status, text) = send(addr, "POST", "/api/v1/requests/DR-2/pause", Some(&chief), r#"{"reason": "確認中"}"#);
    assert_eq!(status, 201, "{text}");
    let (status, text) = send(addr, "POST", "/api/v1/requests/DR-2/resumption", Some(&chief), "");
    assert_eq!(status, 201, "{text}");
    let (status, text) = send(
        addr,
        "POST",
        "/api/v1/requests/DR-2/refusal",
        Some(&chief),
        r#"{"ground": "no_ground", "note": "要件に該当しない"}"#,
    );
    assert_eq!(status, 201, "{text}");
    let (status, text) = send(addr, "GET", "/api/v1/requests/DR-9", Some(&auditor), "");
    assert_eq!(status, 404, "{text}");
    let (status, api_list) = send(addr, "GET", "/api/v1/requests", Some(&auditor), "");
    assert_eq!(status, 200, "{api_list}");
    drop(server);
    assert_eq!(json(&api_list), env.run(&["--json", "requests", "list"]).assert_code(0).json());

    for action in ["request_paused", "request_resumed", "request_decided"] {
        let entries = entries_of(&env, action);
        assert_eq!(entries.len(), 2, "{action}: {entries:?}");
        assert_eq!(shape(&entries[0]), shape(&entries[1]), "{action}: CLI and API entries differ");
    }
    // A stop fulfilled (written out with -o), lifted; an erasure fulfilled leaves the ledger
    // verifying.
    let stop = ["requests", "open", "--type", "stop", "--subscriber", "HS00000003", "--verified-by", "counter"];
    env.run(&[&stop[..], &["--purpose", "marketing", "--by", "chief"]].concat()).assert_code(0);
    let written = env.root().join("fulfilled.json");
    env.run(&[
        "requests",
        "fulfil",
        "DR-3",
        "--note",
        "停止しました",
        "-o",
        written.to_str().unwrap(),
        "--by",
        "chief",
    ])
    .assert_code(0);
    let record: serde_json::Value = json(&std::fs::read_to_string(&written).unwrap());
    assert_eq!((&record["id"], &record["outcome"]["result"]), (&"DR-3".into(), &"fulfilled".into()));
    assert_eq!(entries_of(&env, "request_decided").last().unwrap()["event"]["details"][2][1], "use:marketing");
    env.run(&["requests", "lift", "DR-3", "--reason", "理由が解消", "--by", "chief"]).assert_code(0);
    env.run(&["requests", "lift", "DR-3", "--reason", "again", "--by", "chief"]).assert_code(2);
    let disclosure = env.run(&["requests", "fulfil", "DR-1", "--by", "chief"]);
    assert!(disclosure.assert_code(2).stderr.contains("decided already"), "{}", disclosure.stderr);
    env.run(&[
        "requests",
        "open",
        "--type",
        "erasure",
        "--subscriber",
        "HS00000003",
        "--verified-by",
        "counter",
        "--by",
        "chief",
    ])
    .assert_code(0);
    let erased = env.run(&["--json", "requests", "fulfil", "DR-4", "--by", "chief"]).assert_code(0).json();
    assert!(erased["outcome"]["note"].as_str().unwrap().contains("29条"), "{erased}");
    assert_eq!(entries_of(&env, "subscriber_erased").len(), 1);
    env.run(&["audit", "verify"]).assert_code(0);

    // A purpose notice is answered with its document: written with -o, read again (audited).
    env.run(&[
        "requests",
        "open",
        "--type",
        "purpose_notice",
        "--subscriber",
        "HS00000002",
        "--verified-by",
        "contract",
        "--by",
        "chief",
    ])
    .assert_code(0);
    let notice = env.root().join("notice.json");
    env.run(&["requests", "fulfil", "DR-5", "-o", notice.to_str().unwrap(), "--by", "chief"]).assert_code(0);
    let written = json(&std::fs::read_to_string(&notice).unwrap());
    assert_eq!(
        (written["schema"].as_str(), written["subscriber"].as_str()),
        (Some("tokutei.purpose-notice/1"), Some("HS00000002"))
    );
    assert!(written["purposes"].as_array().unwrap().iter().any(|p| p["id"] == "support"), "{written}");
    let again = env.run(&["--json", "requests", "document", "DR-5", "--by", "chief"]).assert_code(0).json();
    assert_eq!(again, written);
    assert_eq!(entries_of(&env, "request_document_read").len(), 2);
    let printable = env.root().join("notice.html");
    env.run(&["requests", "document", "DR-5", "--format", "html", "-o", printable.to_str().unwrap(), "--by", "chief"])
        .assert_code(0);
    let html = std::fs::read_to_string(&printable).unwrap();
    assert!(html.contains("<h1>利用目的の通知</h1>") && html.contains("<style>"), "a self-contained printable page");

    // A disclosure: refused by the gateway until the person fulfilling it holds the purpose
    // for requests and the data range; then the electronic record, written once.
    env.run(&[
        "requests",
        "open",
        "--type",
        "disclosure",
        "--subscriber",
        "HS00000001",
        "--verified-by",
        "license",
        "--by",
        "chief",
    ])
    .assert_code(0);
    let refused = env.run(&["requests", "fulfil", "DR-6", "--by", "chief"]);
    assert!(refused.assert_code(2).stderr.contains("data_subject_requests"), "{}", refused.stderr);
    let policy = tokutei_policy::parse(DEMO_POLICY).unwrap();
    let mut grant = vec!["staff".to_string(), "grant".into(), "chief".into(), "--by".into(), "chief".into()];
    for service in &policy.services {
        let categories: Vec<&str> =
            policy.categories.iter().filter(|c| c.services.contains(&service.id)).map(|c| c.id.as_str()).collect();
        grant.extend(["--range".to_string(), format!("{}:{}", service.id, categories.join(","))]);
    }
    grant.extend(["--purpose".to_string(), "data_subject_requests".into()]);
    env.run(&grant.iter().map(String::as_str).collect::<Vec<_>>()).assert_code(0);
    let record = env.root().join("disclosure.json");
    env.run(&["requests", "fulfil", "DR-6", "-o", record.to_str().unwrap(), "--by", "chief"]).assert_code(0);
    let doc = json(&std::fs::read_to_string(&record).unwrap());
    assert_eq!(
        (doc["schema"].as_str(), doc["subscriber"].as_str()),
        (Some("tokutei.disclosure/1"), Some("HS00000001"))
    );
    assert!(!doc["values"].as_array().unwrap().is_empty(), "{doc}");
    assert!(doc["uses"].as_array().unwrap().iter().all(|u| u["by"] != "chief"), "no person's id names a use");
    let again = env.run(&["requests", "document", "DR-6", "--by", "chief"]);
    assert!(again.assert_code(2).stderr.contains("downloaded already"), "{}", again.stderr);

    // A correction: the new value from a file, written as a new version; before and after.
    env.run(&[
        "requests",
        "open",
        "--type",
        "correction",
        "--subscriber",
        "HS00000001",
        "--verified-by",
        "license",
        "--by",
        "chief",
    ])
    .assert_code(0);
    let bad = env.write("bad-values.txt", "contract.address\n");
    let refused = env.run(&["requests", "fulfil", "DR-7", "--values", bad.to_str().unwrap(), "--by", "chief"]);
    assert!(refused.assert_code(2).stderr.contains("line 1"), "{}", refused.stderr);
    let values = env.write("values.txt", "contract.address=東京都千代田区星空町3-3\n");
    env.run(&["requests", "fulfil", "DR-7", "--values", values.to_str().unwrap(), "--by", "chief"]).assert_code(0);
    let changes = env.run(&["--json", "requests", "document", "DR-7", "--by", "chief"]).assert_code(0).json();
    assert_eq!(changes["schema"], "tokutei.correction/1");
    assert_eq!(changes["changes"][0]["category"], "contract.address");
    assert!(
        changes["changes"][0]["after"].as_array().unwrap().iter().any(|v| v["value"] == "東京都千代田区星空町3-3"),
        "{changes}"
    );
    assert!(!changes["changes"][0]["before"].as_array().unwrap().is_empty());
    env.run(&["audit", "verify"]).assert_code(0);

    let opened = entries_of(&env, "request_opened");
    assert_eq!((shape(&opened[1]).1, shape(&opened[1]).2), ("staff".to_string(), "op-1".to_string()));
    env.run(&["audit", "verify"]).assert_code(0);
}
