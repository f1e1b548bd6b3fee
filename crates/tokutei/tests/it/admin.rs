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
pub(crate) fn entries_of(env: &TestEnv, action: &str) -> Vec<serde_json::Value> {
    let all = env.run(&["--json", "audit", "query", "--limit", "10000"]).assert_code(0).json();
    all.as_array().unwrap().iter().filter(|e| e["event"]["action"] == action).cloned().collect()
}

/// What must agree between two front ends: the action, who acted (kind and id), the kind of
/// target, whether a digest is carried, and the detail keys.
pub(crate) fn shape(entry: &serde_json::Value) -> (String, String, String, String, bool, Vec<String>) {
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
    let token =
        env.run(&["--json", "staff", "token", "issue", "--by", "chief", "chief"]).assert_code(0).json()["token"]
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
    let token =
        env.run(&["--json", "staff", "token", "issue", "--by", "chief", "chief"]).assert_code(0).json()["token"]
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
    env.run(&["subscribers", "erase", "--by", "chief", "--subscriber", "HS00000001"]).assert_code(2);
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

#[test]
fn cli_and_console_settings_changes_leave_the_same_audit_entry() {
    let env = TestEnv::new();
    let init = env.run(&["init"]);
    init.assert_code(0);
    env.run(&["staff", "add", "--by", "chief", "op-1", "--name", "担当 一郎", "--role", "handler"]).assert_code(0);
    // Only a manager changes settings; an unknown key or a bad value changes nothing.
    let run = env.run(&["settings", "set", "inquiry_deadline_days=21", "--by", "op-1"]);
    run.assert_code(2);
    assert!(run.stderr.contains("`op-1`"), "{}", run.stderr);
    let run = env.run(&["settings", "set", "inquiry_deadline_days=0", "no_such=1", "--by", "chief"]);
    run.assert_code(2);
    assert!(run.stderr.contains("`no_such`"), "{}", run.stderr);
    env.run(&["settings", "set", "inquiry_deadline_days=0", "--by", "chief"]).assert_code(2);
    assert!(entries_of(&env, "setting_changed").is_empty());
    let changed =
        env.run(&["--json", "settings", "set", "inquiry_deadline_days=21", "--by", "chief"]).assert_code(0).json();
    assert_eq!(changed, serde_json::json!([{ "id": "inquiry_deadline_days", "from": "14", "to": "21" }]));

    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let addr = &server.addr;
    let (cookie, csrf) = chief_console(addr, &init.stdout);
    let listed = env.run(&["--json", "settings", "list"]).assert_code(0).json();
    let mut form = format!("csrf={csrf}");
    for field in listed.as_array().unwrap() {
        let (key, mut value) = (field["id"].as_str().unwrap(), field["value"].as_str().unwrap().to_string());
        if key == "lockout_minutes" {
            value = "20".into();
        }
        form.push_str(&format!("&{key}={}", percent(&value)));
    }
    let (status, _, body) = post_form(addr, "/admin/settings", &cookie, &form);
    assert_eq!(status, 200, "{body}");
    drop(server);

    let changed = entries_of(&env, "setting_changed");
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert_eq!(shape(&changed[0]), shape(&changed[1]), "CLI:\n{}\nconsole:\n{}", changed[0], changed[1]);
    assert_eq!(changed[0]["actor"], serde_json::json!({ "kind": "staff", "id": "chief" }));
    assert_eq!(changed[0]["event"]["subject"], "settings/inquiry_deadline_days");
    assert_eq!(changed[1]["event"]["subject"], "settings/lockout_minutes");
}

/// Send an inquiry through the public form (form → confirmation → receipt); its receipt number.
fn send_inquiry(addr: &str) -> String {
    let (status, head, body) =
        exchange(addr, &format!("GET /inquiry HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"));
    assert_eq!(status, 200, "{body}");
    let cookie = crate::auth::set_cookie(&head, "tokutei_inquiry_csrf").expect("the form's cookie");
    let csrf = hidden(&body, "csrf");
    let form = format!(
        "csrf={csrf}&category=disclosure&name={}&contact=taro%40example.jp&message={}",
        percent("山田 太郎"),
        percent("開示をお願いします")
    );
    let (status, _, _) = post_form(addr, "/inquiry/confirm", &cookie, &form);
    assert_eq!(status, 200);
    let (status, _, body) = post_form(addr, "/inquiry", &cookie, &form);
    assert_eq!(status, 200, "{body}");
    let marker = "id=\"receipt-number\">";
    let at = body.find(marker).unwrap_or_else(|| panic!("a receipt number in\n{body}")) + marker.len();
    body[at..].split('<').next().unwrap().to_string()
}

#[test]
fn cli_and_console_inquiry_handling_leave_the_same_audit_entries() {
    let env = TestEnv::new();
    let init = env.run(&["init"]);
    init.assert_code(0);
    env.run(&["staff", "add", "--by", "chief", "op-1", "--name", "担当 一郎", "--role", "handler"]).assert_code(0);
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let addr = &server.addr;
    let (first, second) = (send_inquiry(addr), send_inquiry(addr));
    let (cookie, csrf) = chief_console(addr, &init.stdout);
    let (status, _, body) = post_form(addr, &format!("/admin/inquiries/{second}"), &cookie, &format!("csrf={csrf}"));
    assert_eq!(status, 200, "{body}");
    let form = format!("csrf={csrf}&status=answered&note={}", percent("電話で回答"));
    let (status, head, body) = post_form(addr, &format!("/admin/inquiries/{second}/status"), &cookie, &form);
    assert!(status == 303 || status == 200, "{head}\n{body}");
    drop(server);

    // A handler may neither open nor answer; the register itself lists without decrypting.
    env.run(&["inquiries", "show", &first, "--by", "op-1"]).assert_code(2);
    env.run(&["inquiries", "status", &first, "--to", "answered", "--note", "x", "--by", "op-1"]).assert_code(2);
    let listed = env.run(&["--json", "inquiries", "list", "--status", "open"]).assert_code(0).json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let shown = env.run(&["--json", "inquiries", "show", &first, "--by", "chief"]).assert_code(0).json();
    assert_eq!(shown["contents"]["name"], "山田 太郎");
    env.run(&["inquiries", "status", &first, "--to", "answered", "--note", "電話で回答", "--by", "chief"])
        .assert_code(0);

    for action in ["inquiry_opened", "inquiry_status_changed"] {
        let entries = entries_of(&env, action);
        assert_eq!(entries.len(), 2, "{action}: {entries:?}");
        let (console, cli) = (&entries[0], &entries[1]);
        assert_eq!(shape(cli), shape(console), "{action}: CLI:\n{cli}\nconsole:\n{console}");
        assert_eq!(cli["actor"], serde_json::json!({ "kind": "staff", "id": "chief" }));
    }
    let ledger = env.run(&["--json", "audit", "query", "--limit", "10000"]).stdout;
    assert!(!ledger.contains("山田") && !ledger.contains("taro@"), "no contents in the ledger");
}

#[test]
fn every_staff_change_is_audited_as_the_person_making_it() {
    let env = TestEnv::new();
    let v1 = env.write("v1.toml", DEMO_POLICY);
    env.run(&["init", "--policy", v1.to_str().unwrap()]).assert_code(0);
    let ok = |args: &[&str]| env.run(args).assert_code(0).stdout.clone();
    ok(&["staff", "add", "--by", "chief", "op-1", "--name", "担当 一郎", "--role", "handler"]);
    ok(&["staff", "grant", "--by", "chief", "op-1", "--purpose", "support", "--range", "fiber:contract.name"]);
    ok(&[
        "staff",
        "train",
        "--by",
        "chief",
        "op-1",
        "--course",
        "privacy-basics",
        "--completed",
        "2026-04-01",
        "--valid-until",
        "2027-03-31",
    ]);
    ok(&["staff", "password", "--by", "chief", "op-1"]);
    ok(&["staff", "totp", "--by", "chief", "op-1"]);
    let issued = env.run(&["--json", "staff", "token", "issue", "--by", "chief", "op-1", "--days", "5"]);
    let token = issued.assert_code(0).json()["id"].as_str().unwrap().to_string();
    ok(&["staff", "token", "revoke", "--by", "chief", &token]);
    ok(&["staff", "disable", "--by", "chief", "op-1"]);

    let about_op1 = |action: &str| -> Vec<serde_json::Value> {
        entries_of(&env, action).into_iter().filter(|e| e["event"]["subject"] == "staff/op-1").collect()
    };
    let changed = about_op1("staff_changed");
    let detail = |e: &serde_json::Value, key: &str| {
        e["event"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d[0] == key)
            .map(|d| d[1].as_str().unwrap().to_string())
    };
    let changes: Vec<String> = changed.iter().map(|e| detail(e, "change").unwrap()).collect();
    assert_eq!(
        changes,
        ["created", "grants", "training", "totp_enrolled", "token_issued", "token_revoked", "disabled"]
    );
    let passwords = about_op1("password_changed");
    assert_eq!(passwords.len(), 1);
    for entry in changed.iter().chain(&passwords) {
        assert_eq!(entry["actor"], serde_json::json!({ "kind": "staff", "id": "chief" }), "{entry}");
    }
    // The versions the changes made, as `staff show` has them at the end.
    let versions: Vec<Option<String>> = changed.iter().map(|e| detail(e, "version")).collect();
    assert_eq!(versions, [None, Some("2".into()), Some("3".into()), None, None, None, Some("4".into())]);
    let shown = env.run(&["--json", "staff", "show", "op-1"]).assert_code(0).json();
    assert_eq!(shown["principal"]["version"], 4);
    assert_eq!(detail(&changed[4], "token"), Some(token.clone()));
    assert_eq!(detail(&changed[5], "token"), Some(token.clone()));

    // Refusals name why and leave no entry: no `--by`, a handler, oneself, the last chief
    // manager, a token of no days, a principal the registry does not have.
    let before = entries_of(&env, "staff_changed").len() + entries_of(&env, "password_changed").len();
    env.run(&["staff", "add", "--by", "chief", "op-2", "--name", "担当 二郎", "--role", "handler"]).assert_code(0);
    let refused = |args: &[&str], says: &str| {
        let run = env.run(args);
        run.assert_code(2);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
    };
    refused(&["staff", "disable", "op-2"], "--by");
    refused(&["staff", "password", "--by", "op-2", "op-2"], "`op-2`");
    refused(&["staff", "disable", "--by", "chief", "chief"], "themself");
    refused(&["staff", "token", "issue", "--by", "chief", "op-2", "--days", "0"], "`days`");
    refused(&["staff", "token", "revoke", "--by", "chief", &token], "already revoked");
    refused(&["staff", "grant", "--by", "chief", "nobody", "--purpose", "support"], "no principal `nobody`");
    env.run(&["staff", "add", "--by", "chief", "cm-2", "--name", "統括 二郎", "--role", "chief_manager"])
        .assert_code(0);
    env.run(&["staff", "disable", "--by", "cm-2", "chief"]).assert_code(0);
    refused(&["staff", "disable", "--by", "op-2", "cm-2"], "`op-2`");
    let after = entries_of(&env, "staff_changed").len() + entries_of(&env, "password_changed").len();
    assert_eq!(after, before + 3, "op-2 and cm-2 registered, chief disabled; nothing for the refusals");
    env.run(&["audit", "verify"]).assert_code(0);
}

#[test]
fn a_failing_ledger_leaves_every_staff_change_undone() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "1"]).assert_code(0);
    let token = env.run(&["--json", "staff", "token", "list", "demo-call-centre"]).assert_code(0).json()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let db = rusqlite::Connection::open(env.data().join("tokutei.sqlite3")).unwrap();
    let registry = |db: &rusqlite::Connection| -> String {
        let mut out = String::new();
        for sql in [
            "SELECT id || ':' || version || ':' || COALESCE(disabled_at, '') || ':' || grants FROM staff_principals ORDER BY id",
            "SELECT principal || ':' || course FROM staff_training ORDER BY principal, seq",
            "SELECT id || ':' || COALESCE(revoked_at, '') FROM staff_tokens ORDER BY id",
            "SELECT principal || ':' || hex(password_hash) || ':' || hex(COALESCE(totp_sealed, '')) FROM auth_credentials ORDER BY principal",
        ] {
            let mut stmt = db.prepare(sql).unwrap();
            for row in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
                out.push_str(&row.unwrap());
                out.push('\n');
            }
        }
        out
    };
    let before = registry(&db);
    db.execute_batch(
        "CREATE TRIGGER ledger_down BEFORE INSERT ON ledger_entries BEGIN SELECT RAISE(ABORT, 'ledger down'); END;",
    )
    .unwrap();
    for args in [
        &["staff", "grant", "--by", "chief", "demo-support", "--purpose", "support"][..],
        &[
            "staff",
            "train",
            "--by",
            "chief",
            "demo-support",
            "--course",
            "advanced",
            "--completed",
            "2026-04-01",
            "--valid-until",
            "2027-03-31",
        ],
        &["staff", "password", "--by", "chief", "demo-support"],
        &["staff", "totp", "--by", "chief", "demo-support"],
        &["staff", "token", "issue", "--by", "chief", "demo-call-centre"],
        &["staff", "token", "revoke", "--by", "chief", &token],
        &["staff", "disable", "--by", "chief", "demo-marketing"],
    ] {
        let run = env.run(args);
        run.assert_code(2);
        assert!(run.stderr.contains("audit record could not be written"), "{args:?}: {}", run.stderr);
        assert_eq!(registry(&db), before, "{args:?}: nothing changed without its entry");
    }
}
