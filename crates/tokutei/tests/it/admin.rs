//! The administrative actions as every front end runs them: each is one function of the
//! application layer, so the CLI and the console or the API check the same things and leave
//! the same ledger entry (action, actor kind, target, digest field), and a ledger that cannot
//! be written leaves everything as it was.

use crate::auth::{chief_of, code, get_with, percent, sign_in};
use crate::util::{TestEnv, exchange, send, start};

const DEMO_POLICY: &str = include_str!("../../../tokutei-policy/policies/hoshizora-tsushin.toml");

/// The demo policy with one wording changed (`n` picks which): another version.
fn revised(n: usize) -> String {
    let from = ["お問い合わせ、ご相談", "opt_out"][n];
    let to = ["お問い合わせ・ご相談", "opt_in"][n];
    let text = DEMO_POLICY.replacen(from, to, 1);
    assert_ne!(text, DEMO_POLICY);
    text
}

/// Every ledger entry of `action`, as `audit query --json` shows them.
fn entries_of(env: &TestEnv, action: &str) -> Vec<serde_json::Value> {
    let all = env.run(&["--json", "audit", "query", "--limit", "10000"]).assert_code(0).json();
    all.as_array().unwrap().iter().filter(|e| e["event"]["action"] == action).cloned().collect()
}

/// What must agree between two front ends: the action, who acted (kind and id), the kind of
/// target, whether a digest is carried, and the detail keys.
fn shape(entry: &serde_json::Value) -> (String, String, String, String, bool, Vec<String>) {
    let event = &entry["event"];
    let subject = event["subject"].as_str().unwrap();
    let target = subject.split_once('/').map_or(subject, |(kind, _)| kind).to_string();
    let keys = event["details"].as_array().unwrap().iter().map(|d| d[0].as_str().unwrap().to_string()).collect();
    (
        event["action"].as_str().unwrap().to_string(),
        entry["actor"]["kind"].as_str().unwrap().to_string(),
        entry["actor"]["id"].as_str().unwrap().to_string(),
        target,
        event.get("digest").is_some_and(|d| !d.is_null()),
        keys,
    )
}

fn page(addr: &str, path: &str, cookie: &str) -> String {
    let (status, _, body) = exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn post_form(addr: &str, path: &str, cookie: &str, body: &str) -> (u16, String, String) {
    exchange(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page.find(&marker).unwrap_or_else(|| panic!("no `{name}` in\n{page}")) + marker.len();
    page[at..].split('"').next().unwrap().to_string()
}

/// Sign in as the chief manager `init` printed, change the one-time password: the session
/// cookie and its CSRF token.
fn chief_console(addr: &str, init: &str) -> (String, String) {
    let (password, secret) = chief_of(init);
    let (status, to, cookie) = sign_in(addr, "chief", &password, &code(&secret));
    assert_eq!((status, to.as_deref()), (303, Some("/admin/password")));
    let cookie = cookie.unwrap();
    let csrf = hidden(&page(addr, "/admin/password", &cookie), "csrf");
    let new = percent("a long new passphrase for the chief manager 2026");
    let body = format!("csrf={csrf}&current={}&new={new}&confirm={new}", percent(&password));
    let (status, head, body) = post_form(addr, "/admin/password", &cookie, &body);
    assert_eq!(status, 303, "{head}\n{body}");
    assert_eq!(get_with(addr, "/admin/policy", &cookie).0, 200);
    (cookie, csrf)
}

#[test]
fn cli_publish_runs_the_compile_check_against_the_deployment() {
    let env = TestEnv::new();
    let v1 = env.write("v1.toml", DEMO_POLICY);
    env.run(&["init", "--policy", v1.to_str().unwrap()]).assert_code(0);
    // The deployment's own Cedar policy does not fit the schema: the console's preview says
    // so, and the CLI must refuse the version as well.
    std::fs::create_dir_all(env.data().join("cedar")).unwrap();
    std::fs::write(
        env.data().join("cedar/site.cedar"),
        "forbid (principal, action, resource) when { resource.no_such_attribute == 1 };",
    )
    .unwrap();
    let v2 = env.write("v2.toml", revised(0));
    let run = env.run(&["policy", "publish", "--by", "chief", v2.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("site.cedar"), "names the deployment's file: {}", run.stderr);
    assert_eq!(env.run(&["--json", "policy", "show"]).json()["version"]["number"], 1);
    assert_eq!(entries_of(&env, "policy_published").len(), 1, "a refusal leaves no entry");
}

#[test]
fn cli_publish_is_audited_as_the_person_who_published_and_only_a_manager_may() {
    let env = TestEnv::new();
    let v1 = env.write("v1.toml", DEMO_POLICY);
    env.run(&["init", "--policy", v1.to_str().unwrap()]).assert_code(0);
    env.run(&["staff", "add", "--by", "chief", "op-1", "--name", "担当 一郎", "--role", "handler"]).assert_code(0);
    let v2 = env.write("v2.toml", revised(0));
    for by in ["op-1", "nobody"] {
        let run = env.run(&["policy", "publish", "--by", by, v2.to_str().unwrap()]);
        run.assert_code(2);
        assert!(run.stderr.contains(&format!("`{by}`")), "{}", run.stderr);
    }
    env.run(&["policy", "publish", "--by", "chief", v2.to_str().unwrap()]).assert_code(0);
    let published = entries_of(&env, "policy_published");
    assert_eq!(published.len(), 2);
    assert_eq!(published[0]["actor"], serde_json::json!({ "kind": "system", "id": "init" }), "set up by `init`");
    assert_eq!(published[1]["actor"], serde_json::json!({ "kind": "staff", "id": "chief" }));
    let show = env.run(&["--json", "policy", "show"]).json();
    assert_eq!(show["version"]["published_by"], "chief");
}

#[test]
fn the_fixed_publish_command_without_by_still_publishes_as_the_command_line() {
    // DESIGN §4 fixes `tokutei policy publish --data DIR FILE`; `--by` is optional.
    let env = TestEnv::new();
    let v1 = env.write("v1.toml", DEMO_POLICY);
    env.run(&["init", "--policy", v1.to_str().unwrap()]).assert_code(0);
    let v2 = env.write("v2.toml", revised(0));
    // (`env.run` adds `--data DIR`.)
    env.run(&["policy", "publish", v2.to_str().unwrap()]).assert_code(0);
    let published = entries_of(&env, "policy_published");
    assert_eq!(published.len(), 2);
    assert_eq!(published[1]["actor"], serde_json::json!({ "kind": "system", "id": "cli" }));
    assert_eq!(env.run(&["--json", "policy", "show"]).json()["version"]["number"], 2);
}

#[test]
fn cli_and_console_publish_leave_the_same_audit_entry() {
    let env = TestEnv::new();
    let v1 = env.write("v1.toml", DEMO_POLICY);
    let init = env.run(&["init", "--policy", v1.to_str().unwrap()]);
    init.assert_code(0);
    let v2 = env.write("v2.toml", revised(0));
    env.run(&["policy", "publish", "--by", "chief", v2.to_str().unwrap()]).assert_code(0);

    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let addr = &server.addr;
    let (cookie, csrf) = chief_console(addr, &init.stdout);
    let v3 = revised(1);
    let (status, _, preview) =
        post_form(addr, "/admin/policy/preview", &cookie, &format!("csrf={csrf}&source={}", percent(&v3)));
    assert_eq!(status, 200, "{preview}");
    let digest = hidden(&preview, "digest");
    let body = format!("csrf={csrf}&source={}&digest={digest}", percent(&v3));
    let (status, head, body) = post_form(addr, "/admin/policy/publish", &cookie, &body);
    assert_eq!(status, 303, "{head}\n{body}");
    // The same file again is a conflict, not a server error.
    let body = format!("csrf={csrf}&source={}&digest={digest}", percent(&v3));
    assert_eq!(post_form(addr, "/admin/policy/publish", &cookie, &body).0, 409);
    drop(server);

    let published = entries_of(&env, "policy_published");
    assert_eq!(published.len(), 3, "{published:?}");
    let (cli, console) = (&published[1], &published[2]);
    assert_eq!(shape(cli), shape(console), "CLI:\n{cli}\nconsole:\n{console}");
    assert_eq!(shape(cli).1, "staff", "the person who published: {cli}");
    assert_eq!(cli["event"]["subject"], "policy/v2");
    assert_eq!(console["event"]["subject"], "policy/v3");
    assert_eq!(console["event"]["digest"], digest.trim_start_matches("sha256:"), "the digest in `digest`");
    env.run(&["audit", "verify"]).assert_code(0);
}

#[test]
fn api_staff_registration_checks_services_and_the_active_policy_as_the_cli_does() {
    let env = TestEnv::new();
    env.run(&["init"]).assert_code(0);
    let token = env.run(&["--json", "staff", "token", "issue", "chief"]).assert_code(0).json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let person = |id: &str, grants: &str| {
        format!(
            r#"{{"id": "{id}", "display_name": "担当 者", "kind": {{"type": "person", "role": "handler"}}, "grants": {grants}}}"#
        )
    };
    let field = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap()["error"]["field"].clone();

    // No policy in force: grants cannot be checked, so neither front end takes them.
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let (status, text) =
        send(&server.addr, "POST", "/api/v1/staff", Some(&token), &person("op-1", r#"{"purposes": ["support"]}"#));
    assert_eq!((status, field(&text)), (400, "grants".into()), "{text}");
    drop(server);
    env.run(&["staff", "add", "--by", "chief", "op-1", "--name", "x", "--role", "handler", "--purpose", "support"])
        .assert_code(2);

    let v1 = env.write("v1.toml", DEMO_POLICY);
    env.run(&["policy", "publish", "--by", "chief", v1.to_str().unwrap()]).assert_code(0);
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    // A service the policy does not have: the CLI always refused it, the API took it.
    let satellite = r#"{"data_range": [{"service": "satellite", "categories": ["contract.name"]}]}"#;
    let (status, text) = send(&server.addr, "POST", "/api/v1/staff", Some(&token), &person("op-1", satellite));
    assert_eq!((status, field(&text)), (400, "grants.data_range".into()), "{text}");
    assert!(text.contains("`satellite`"), "{text}");
    let run = env.run(&[
        "staff",
        "add",
        "--by",
        "chief",
        "op-1",
        "--name",
        "x",
        "--role",
        "handler",
        "--range",
        "satellite:contract.name",
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains("`satellite`"), "{}", run.stderr);
    assert!(entries_of(&env, "staff_changed").iter().all(|e| e["event"]["subject"] != "staff/op-1"));
    drop(server);
}

#[test]
fn cli_and_api_staff_registration_leave_the_same_audit_entry() {
    let env = TestEnv::new();
    let v1 = env.write("v1.toml", DEMO_POLICY);
    env.run(&["init", "--policy", v1.to_str().unwrap()]).assert_code(0);
    env.run(&[
        "staff",
        "add",
        "--by",
        "chief",
        "op-cli",
        "--name",
        "担当 一郎",
        "--role",
        "handler",
        "--purpose",
        "support",
    ])
    .assert_code(0);
    let token = env.run(&["--json", "staff", "token", "issue", "chief"]).assert_code(0).json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let body = r#"{"id": "op-api", "display_name": "担当 二郎", "kind": {"type": "person", "role": "handler"}, "grants": {"purposes": ["support"]}}"#;
    let (status, text) = send(&server.addr, "POST", "/api/v1/staff", Some(&token), body);
    assert_eq!(status, 201, "{text}");
    let (status, text) = send(&server.addr, "POST", "/api/v1/staff", Some(&token), body);
    assert_eq!(status, 409, "a taken id is a conflict: {text}");
    drop(server);
    let run = env.run(&["staff", "add", "--by", "chief", "op-api", "--name", "x", "--role", "handler"]);
    run.assert_code(2);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);

    let created: Vec<serde_json::Value> = entries_of(&env, "staff_changed")
        .into_iter()
        .filter(|e| ["staff/op-cli", "staff/op-api"].contains(&e["event"]["subject"].as_str().unwrap()))
        .collect();
    assert_eq!(created.len(), 2, "one entry each, none for the refusals: {created:?}");
    assert_eq!(shape(&created[0]), shape(&created[1]), "CLI:\n{}\nAPI:\n{}", created[0], created[1]);
    assert_eq!(created[0]["actor"], serde_json::json!({ "kind": "staff", "id": "chief" }));
}

#[test]
fn consent_record_refuses_a_notice_version_never_published() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "1"]).assert_code(0);
    let before = entries_of(&env, "consent_recorded").len();
    let record = |notice: &str| {
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
            "web",
            "--notice-version",
            notice,
        ])
    };
    let run = record("9");
    run.assert_code(2);
    assert!(run.stderr.contains("notice_version") && run.stderr.contains("`9`"), "{}", run.stderr);
    assert_eq!(entries_of(&env, "consent_recorded").len(), before, "nothing audited");
    let shown = env.run(&["--json", "consent", "show", "--subscriber", "HS00000001"]).assert_code(0).json();
    assert!(shown["history"].as_array().unwrap().is_empty(), "nothing stored: {shown}");
    record("1").assert_code(0);
    assert_eq!(entries_of(&env, "consent_recorded").len(), before + 1);
}

#[test]
fn a_failing_ledger_leaves_every_cli_action_undone() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "1"]).assert_code(0);
    let v2 = env.write("v2.toml", revised(0));
    let export = |id: &str| {
        let args = ["exports", "request", id, "--staff", "demo-support", "--purpose", "support"];
        env.run(
            &[&args[..], &["--subscriber", "HS00000001", "--category", "contract.name", "--reason", "test"]].concat(),
        )
    };
    export("exp-1").assert_code(0);
    // The ledger refuses every append from here on (a full disk, a broken database).
    let db = rusqlite::Connection::open(env.data().join("tokutei.sqlite3")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER ledger_down BEFORE INSERT ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger down'); END;",
    )
    .unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };

    env.run(&["policy", "publish", "--by", "chief", v2.to_str().unwrap()]).assert_code(2);
    assert_eq!(count("SELECT COUNT(*) FROM policy_versions"), 1, "no version without its entry");
    env.run(&["staff", "add", "--by", "chief", "op-1", "--name", "x", "--role", "handler"]).assert_code(2);
    assert_eq!(count("SELECT COUNT(*) FROM staff_principals WHERE id = 'op-1'"), 0, "no principal without its entry");
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
        "web",
    ])
    .assert_code(2);
    assert_eq!(count("SELECT COUNT(*) FROM consent_records"), 0, "no consent record without its entry");
    env.run(&["subscribers", "erase", "--subscriber", "HS00000001"]).assert_code(2);
    assert_eq!(count("SELECT COUNT(*) FROM vault_data_keys"), 1, "no erasure without its entry");
    let state = "SELECT COUNT(*) FROM vault_subscribers WHERE state = 'suspended'";
    let suspended = count(state);
    env.run(&["contract", "set", "--by", "chief", "--subscriber", "HS00000001", "--state", "suspended"]).assert_code(2);
    env.run(&["contract", "set", "--by", "chief", "--subscriber", "HS00000001", "--state", "terminated"])
        .assert_code(2);
    assert_eq!(count(state), suspended, "no contract change without its entry");
    assert_eq!(count("SELECT COUNT(*) FROM vault_subscribers WHERE state = 'terminated'"), 0);
    export("exp-2").assert_code(2);
    assert_eq!(count("SELECT COUNT(*) FROM export_requests"), 1, "no export request without its entry");
    env.run(&["exports", "approve", "exp-1", "--approver", "chief"]).assert_code(2);
    assert_eq!(
        count("SELECT COUNT(*) FROM export_requests WHERE approved_by IS NULL"),
        1,
        "no approval without its entry"
    );
}

#[test]
fn cli_contract_consent_and_exports_are_audited_under_the_one_named() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "1"]).assert_code(0);
    let last = |action: &str| entries_of(&env, action).pop().unwrap_or_else(|| panic!("no `{action}` entry"));
    let actor = |kind: &str, id: &str| serde_json::json!({ "kind": kind, "id": id });

    // A contract change names who made it: a person of any role, or a system.
    env.run(&["contract", "set", "--subscriber", "HS00000001", "--state", "suspended"]).assert_code(2);
    let run = env.run(&["contract", "set", "--by", "nobody", "--subscriber", "HS00000001", "--state", "suspended"]);
    run.assert_code(2);
    assert!(run.stderr.contains("`nobody`"), "{}", run.stderr);
    let set = ["contract", "set", "--subscriber", "HS00000001", "--state", "suspended"];
    env.run(&[&set[..], &["--by", "demo-support"]].concat()).assert_code(0);
    let changed = last("contract_changed");
    assert_eq!(changed["actor"], actor("staff", "demo-support"), "{changed}");
    assert_eq!(changed["event"]["subject"], "HS00000001");
    let run = env.run(&["contract", "set", "--by", "chief", "--subscriber", "HS 1", "--state", "active"]);
    run.assert_code(2);
    assert!(run.stderr.contains("`subscriber`"), "an invalid id names its field: {}", run.stderr);

    // A choice fed by a system is the system's.
    let record = ["consent", "record", "--subscriber", "HS00000001", "--purpose", "marketing", "--choice", "opt_out"];
    env.run(&[&record[..], &["--channel", "web", "--by", "demo-call-centre"]].concat()).assert_code(0);
    assert_eq!(last("consent_recorded")["actor"], actor("system", "demo-call-centre"));
    let shown = env.run(&["--json", "consent", "show", "--subscriber", "HS00000001"]).assert_code(0).json();
    assert_eq!(shown["history"][0]["recorded_by"], "demo-call-centre", "{shown}");

    // The requester is the one filing; the approver a manager who is someone else.
    let request = ["exports", "request", "exp-1", "--staff", "demo-support", "--purpose", "support"];
    let rest = ["--subscriber", "HS00000001", "--category", "contract.name", "--reason", "test"];
    env.run(&[&request[..], &rest[..]].concat()).assert_code(0);
    let requested = last("export_requested");
    assert_eq!(requested["actor"], actor("staff", "demo-support"));
    assert_eq!(requested["event"]["subject"], "export/exp-1");
    env.run(&[&request[..], &rest[..]].concat()).assert_code(2);
    let bad = ["exports", "request", "exp 2", "--staff", "demo-support", "--purpose", "support"];
    let run = env.run(&[&bad[..], &rest[..]].concat());
    run.assert_code(2);
    assert!(run.stderr.contains("`id`"), "{}", run.stderr);
    for approver in ["demo-support", "demo-call-centre", "nobody"] {
        let run = env.run(&["exports", "approve", "exp-1", "--approver", approver]);
        run.assert_code(2);
        assert!(run.stderr.contains(&format!("`{approver}`")), "{}", run.stderr);
    }
    assert!(entries_of(&env, "export_approved").is_empty(), "a refusal leaves no entry");
    env.run(&["exports", "approve", "exp-1", "--approver", "chief"]).assert_code(0);
    env.run(&["exports", "approve", "exp-1", "--approver", "chief"]).assert_code(2);
    let approved = entries_of(&env, "export_approved");
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0]["actor"], actor("staff", "chief"));
    assert_eq!(approved[0]["event"]["details"], serde_json::json!([["requested_by", "demo-support"]]));
    let listed = env.run(&["--json", "exports", "list"]).assert_code(0).json();
    assert_eq!(listed[0]["approved_by"], "chief", "{listed}");
    env.run(&["audit", "verify"]).assert_code(0);
}
