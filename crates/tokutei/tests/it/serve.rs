//! `tokutei demo` and `tokutei serve` as a newcomer runs them: a real process listening on
//! TCP, answered over a real socket.

use crate::util::{TestEnv, exchange, get, send, start};

#[test]
fn demo_prepares_and_serve_serves_the_policy_page() {
    let env = TestEnv::new();
    let run = env.run(&["demo", "--no-serve", "--subscribers", "20", "--json"]);
    run.assert_code(0);
    assert_eq!(run.json()["fresh"], true);
    assert_eq!(run.json()["subscribers_generated"], 20, "the demo fills the vault through the import path");
    // A second demo run reuses the directory instead of failing.
    env.run(&["demo", "--no-serve"]).assert_code(0);

    let checkpoint = env.run(&["audit", "checkpoint"]);
    checkpoint.assert_code(0);

    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let (status, body) = get(&server.addr, "/");
    assert_eq!(status, 200);
    assert!(body.contains("特定利用者情報の取扱方針"));
    assert!(body.contains("星空通信"));
    let (status, body) = get(&server.addr, "/en/");
    assert_eq!(status, 200);
    assert!(body.contains(r#"<html lang="en">"#));
    let (status, body) = get(&server.addr, "/healthz");
    assert_eq!(status, 200);
    assert!(body.contains(r#""status":"ok""#), "{body}");
    let (status, _) = get(&server.addr, "/policy/versions/1");
    assert_eq!(status, 200);
    // Outside witnesses fetch the signed checkpoint publicly.
    let (status, note) = get(&server.addr, "/api/v1/checkpoint");
    assert_eq!(status, 200);
    assert!(note.starts_with("tokutei.local/"), "{note}");
    assert!(note.contains("\n\u{2014} tokutei.local/"), "a signature line: {note}");
}

#[test]
fn serve_refuses_an_uninitialised_data_directory() {
    let env = TestEnv::new();
    let run = env.run(&["serve", "--listen", "127.0.0.1:0"]);
    run.assert_code(2);
    assert!(run.stderr.contains("not initialised"), "{}", run.stderr);
}

#[test]
fn the_gateway_api_needs_a_token_and_audits_every_decision() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "5"]).assert_code(0);
    env.run(&[
        "staff",
        "add",
        "--by",
        "chief",
        "call-centre",
        "--name",
        "コールセンター",
        "--system",
        "call_centre",
        "--range",
        "global_vpn:contract.name",
        "--range",
        "fiber:contract.name",
        "--range",
        "mobile:contract.name",
        "--purpose",
        "support",
    ])
    .assert_code(0);
    env.run(&["staff", "add", "--by", "chief", "cpo", "--name", "統括 太郎", "--role", "chief_manager"]).assert_code(0);
    let token =
        env.run(&["--json", "staff", "token", "issue", "--by", "chief", "call-centre"]).assert_code(0).json()["token"]
            .as_str()
            .unwrap()
            .to_string();
    let cpo = env.run(&["--json", "staff", "token", "issue", "--by", "chief", "cpo"]).assert_code(0).json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let body = r#"{"purpose": "support", "channel": "phone", "subscribers": ["HS00000001"], "categories": ["contract.name", "billing.payment"]}"#;

    let (status, text) = send(&server.addr, "POST", "/api/v1/access", None, body);
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("\"en\":\"Authentication required\""), "{text}");
    let (status, _) = send(&server.addr, "POST", "/api/v1/access", Some("tkt_0000000000000000_forged"), body);
    assert_eq!(status, 401);

    let (status, text) = send(&server.addr, "POST", "/api/v1/access", Some(&token), body);
    assert_eq!(status, 200, "{text}");
    let out: serde_json::Value = serde_json::from_str(&text).unwrap();
    let items = out["subscribers"][0]["items"].as_array().unwrap();
    assert_eq!(items[0]["allowed"], true);
    assert_eq!(items[0]["values"].as_array().unwrap().len(), 1);
    assert_eq!(items[1]["allowed"], false);
    assert_eq!(items[1]["reasons"][0]["code"], "outside_data_range");
    // The principal is the token's: the caller cannot name another.
    let (status, _) = send(
        &server.addr,
        "POST",
        "/api/v1/access",
        Some(&token),
        r#"{"principal": "cpo", "purpose": "support", "subscribers": ["HS00000001"]}"#,
    );
    assert_eq!(status, 400);
    let (status, _) = send(&server.addr, "POST", "/api/v1/access", Some(&token), "{not json");
    assert_eq!(status, 400);
    // An erasure through the API is decided on every category of the subscriber: a token
    // whose range holds only `contract.name` (and no erasure grant) shreds nothing.
    let (status, text) = send(
        &server.addr,
        "POST",
        "/api/v1/access",
        Some(&token),
        r#"{"action": "erase", "purpose": "support", "subscribers": ["HS00000001"], "categories": ["contract.name"]}"#,
    );
    assert_eq!(status, 200, "{text}");
    let out: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(out["subscribers"][0].get("erased").is_none(), "{text}");
    assert!(out["subscribers"][0]["items"].as_array().unwrap().len() > 1, "{text}");
    // A 58 KB purpose is refused whole, before anything is audited.
    let long = format!(r#"{{"purpose": "{}", "subscribers": ["HS00000001"]}}"#, "x".repeat(58_000));
    let (status, text) = send(&server.addr, "POST", "/api/v1/access", Some(&token), &long);
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("purpose"), "{text}");

    // The staff registry is for managers and auditors.
    let (status, _) = send(&server.addr, "GET", "/api/v1/staff", Some(&token), "");
    assert_eq!(status, 403);
    let (status, text) = send(&server.addr, "GET", "/api/v1/staff", Some(&cpo), "");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("call-centre"));
    let new = r#"{"id": "op-9", "display_name": "担当 九郎", "kind": {"type": "person", "role": "handler"}, "grants": {"purposes": ["support"]}}"#;
    let (status, text) = send(&server.addr, "POST", "/api/v1/staff", Some(&cpo), new);
    assert_eq!(status, 201, "{text}");
    let (status, _) = send(&server.addr, "POST", "/api/v1/staff", Some(&cpo), new);
    assert_eq!(status, 409, "a duplicate id is a conflict");

    let (status, text) = send(&server.addr, "GET", "/api/v1/openapi.json", None, "");
    assert_eq!(status, 200);
    assert!(text.contains("\"/api/v1/access\""));
    drop(server);

    // Both decisions are in the ledger, under the system's id, and the ledger verifies.
    let query = env.run(&["--json", "audit", "query", "--staff", "call-centre"]);
    let verify = env.run(&["--json", "audit", "verify"]);
    verify.assert_code(0);
    let entries = env.run(&["--json", "audit", "query", "--subscriber", "HS00000001"]).assert_code(0).json();
    let text = entries.to_string();
    assert!(
        text.contains("\"allow\"") && text.contains("\"deny\"") && text.contains("api:"),
        "{text}\n{}",
        query.stdout
    );
}

#[test]
fn the_demo_token_reads_through_the_gateway() {
    let env = TestEnv::new();
    let run = env.run(&["demo", "--no-serve", "--subscribers", "3"]);
    run.assert_code(0);
    let token = run
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("tkt_"))
        .unwrap_or_else(|| panic!("the demo prints its API token:\n{}", run.stdout))
        .to_string();
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let (status, text) = send(
        &server.addr,
        "POST",
        "/api/v1/access",
        Some(&token),
        r#"{"purpose": "support", "channel": "phone", "subscribers": ["HS00000001"], "categories": ["contract.name"]}"#,
    );
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"allowed\":true"), "{text}");
}

#[test]
fn a_deployment_policy_that_does_not_fit_stops_the_start() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "1"]).assert_code(0);
    std::fs::create_dir_all(env.data().join("cedar")).unwrap();
    std::fs::write(
        env.data().join("cedar/bad.cedar"),
        "forbid (principal, action, resource) when { resource.no_such_attribute == 1 };",
    )
    .unwrap();
    let run = env.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("bad.cedar"), "{}", run.stderr);
}

fn set_cookie(head: &str, name: &str) -> String {
    head.lines()
        .filter_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no cookie `{name}` in\n{head}"))
        .to_string()
}

#[test]
fn the_first_chief_manager_signs_in_with_the_printed_password_and_totp() {
    let env = TestEnv::new();
    let run = env.run(&["init"]);
    run.assert_code(0);
    let value = |label: &str| {
        run.stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("`{label}` in\n{}", run.stdout))
            .trim()
            .to_string()
    };
    let password = value("one-time password:");
    let secret = value("authenticator (TOTP) secret:");
    let secret = totp_rs::Secret::Encoded(secret).to_bytes().unwrap();
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let addr = &server.addr;
    let (status, head, _) =
        exchange(addr, &format!("GET /admin/login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"));
    assert_eq!(status, 200);
    let csrf_cookie = set_cookie(&head, "tokutei_login_csrf");
    let csrf = csrf_cookie.split_once('=').unwrap().1.to_string();
    let code = tokutei_crypto::totp::code_at(&secret, jiff::Timestamp::now().as_second() as u64).unwrap();
    let body = format!("csrf={csrf}&id=chief&password={password}&totp={code}");
    let (status, head, body) = exchange(
        addr,
        &format!(
            "POST /admin/login HTTP/1.1\r\nHost: {addr}\r\nCookie: {csrf_cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(status, 303, "{head}\n{body}");
    assert!(
        head.to_lowercase().contains("location: /admin/password"),
        "a one-time password must be changed first:\n{head}"
    );
    let session = set_cookie(&head, "tokutei_session");
    let (status, head, _) = exchange(
        addr,
        &format!("GET /admin/ HTTP/1.1\r\nHost: {addr}\r\nCookie: {session}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 303, "until the password is changed, the dashboard sends to the change form");
    assert!(head.to_lowercase().contains("location: /admin/password"));
    let (status, _, page) = exchange(
        addr,
        &format!("GET /admin/password HTTP/1.1\r\nHost: {addr}\r\nCookie: {session}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 200);
    assert!(page.contains("パスワードの変更"));
    drop(server);
    let log = env.run(&["--json", "audit", "query", "--staff", "chief"]).assert_code(0).json().to_string();
    assert!(log.contains("login_succeeded"), "{log}");
}

/// Sign in through the form; returns the session cookie and the redirect target.
fn sign_in(addr: &str, id: &str, password: &str, totp: &str) -> (String, String) {
    let (_, head, _) =
        exchange(addr, &format!("GET /admin/login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"));
    let csrf_cookie = set_cookie(&head, "tokutei_login_csrf");
    let csrf = csrf_cookie.split_once('=').unwrap().1.to_string();
    let body = format!("csrf={csrf}&id={id}&password={password}&totp={totp}");
    let (status, head, page) = exchange(
        addr,
        &format!(
            "POST /admin/login HTTP/1.1\r\nHost: {addr}\r\nCookie: {csrf_cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(status, 303, "{head}\n{page}");
    let location = head.lines().find_map(|l| l.to_lowercase().strip_prefix("location: ").map(str::to_string)).unwrap();
    (set_cookie(&head, "tokutei_session"), location)
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

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a form with a csrf token") + "name=\"csrf\" value=\"".len();
    page[at..].split('"').next().unwrap().to_string()
}

#[test]
fn a_handler_views_a_subscriber_in_the_console_through_the_gateway() {
    let env = TestEnv::new();
    let run = env.run(&["demo", "--no-serve", "--subscribers", "3"]);
    run.assert_code(0);
    let password = run
        .stdout
        .lines()
        .skip_while(|l| !l.contains("id: demo-support"))
        .find_map(|l| l.trim().strip_prefix("one-time password:"))
        .expect("the demo prints demo-support's password")
        .trim()
        .to_string();
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let addr = &server.addr;
    let (cookie, location) = sign_in(addr, "demo-support", &password, "");
    assert_eq!(location, "/admin/password");
    let (_, _, page) = exchange(
        addr,
        &format!("GET /admin/password HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
    );
    let csrf = csrf_of(&page);
    let body = format!("csrf={csrf}&current={password}&new=support+desk+2026+spring&confirm=support+desk+2026+spring");
    let (status, head, _) = post_form(addr, "/admin/password", &cookie, &body);
    assert_eq!(status, 303, "{head}");
    // The view goes through the gateway and is audited.
    let (status, _, page) = post_form(
        addr,
        "/admin/subscribers/HS00000001",
        &cookie,
        &format!("csrf={csrf}&purpose=support&channel=phone"),
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("利用目的: <strong>support</strong>"), "{page}");
    assert!(page.contains("#"), "each row names its audit entry");
    // Without the session's token the form is refused.
    let (status, _, _) = post_form(addr, "/admin/subscribers/HS00000001", &cookie, "csrf=forged&purpose=support");
    assert_eq!(status, 403);
    drop(server);
    let log = env.run(&["--json", "audit", "query", "--staff", "demo-support"]).assert_code(0).json().to_string();
    assert!(log.contains("console:") && log.contains("HS00000001"), "{log}");
}

#[test]
fn an_auditor_downloads_an_inclusion_proof_that_checks_without_the_database() {
    let env = TestEnv::new();
    let run = env.run(&["init"]);
    run.assert_code(0);
    let value = |label: &str| {
        run.stdout.lines().find_map(|l| l.trim().strip_prefix(label)).map(|v| v.trim().to_string()).unwrap()
    };
    let (password, secret) = (value("one-time password:"), value("authenticator (TOTP) secret:"));
    let secret = totp_rs::Secret::Encoded(secret).to_bytes().unwrap();
    env.run(&["audit", "checkpoint"]).assert_code(0);
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let addr = &server.addr;
    let code = tokutei_crypto::totp::code_at(&secret, jiff::Timestamp::now().as_second() as u64).unwrap();
    let (cookie, _) = sign_in(addr, "chief", &password, &code);
    let (_, _, page) = exchange(
        addr,
        &format!("GET /admin/password HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
    );
    let csrf = csrf_of(&page);
    let body =
        format!("csrf={csrf}&current={password}&new=chief+manager+2026+autumn&confirm=chief+manager+2026+autumn");
    assert_eq!(post_form(addr, "/admin/password", &cookie, &body).0, 303);
    let (status, _, page) = exchange(
        addr,
        &format!("GET /admin/audit HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 200);
    assert!(page.contains("/admin/audit/0/proof"), "{page}");
    let (status, head, proof) = exchange(
        addr,
        &format!("GET /admin/audit/0/proof HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 200, "{head}");
    assert!(head.to_lowercase().contains("content-disposition: attachment"));
    drop(server);
    let proof_file = env.write("proof.json", &proof);
    let checkpoint = env.run(&["audit", "checkpoint"]).assert_code(0).stdout.clone();
    let key = env.run(&["audit", "key"]).assert_code(0).stdout.trim().to_string();
    // The proof is against the checkpoint it carries; check it with that note.
    let note: serde_json::Value = serde_json::from_str(&proof).unwrap();
    let cp_file = env.write("checkpoint.txt", note["checkpoint"].as_str().unwrap());
    assert!(!checkpoint.is_empty());
    env.run(&[
        "audit",
        "check-proof",
        proof_file.to_str().unwrap(),
        "--checkpoint",
        cp_file.to_str().unwrap(),
        "--key",
        &key,
    ])
    .assert_code(0);
}
