//! The subscriber's page and the preference page through the binary: the fixed commands
//! (`tokutei portal link --subscriber ID`, `tokutei consent link --subscriber ID`, `--json`:
//! `url`), the carrier's systems' API (`POST /api/v1/portal/links`, `POST /api/v1/consent`)
//! with the demo's call-centre token, bad input refused naming the field with exit code 2 or
//! a 400, and the link opened over HTTP once.

use crate::util::{TestEnv, exchange, send, start};

#[test]
fn links_and_captured_consent_through_the_cli_and_the_api() {
    let env = TestEnv::new();
    let run = env.run(&["demo", "--no-serve", "--subscribers", "3"]);
    run.assert_code(0);
    let token = run.stdout.split_whitespace().find(|w| w.starts_with("tkt_")).unwrap().to_string();

    let link = env.run(&["--json", "portal", "link", "--subscriber", "HS00000001"]).assert_code(0).json();
    let url = link["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:8080/my/enter?t="), "{url}");
    let prefs = env.run(&["--json", "consent", "link", "--subscriber", "HS00000002"]).assert_code(0).json();
    assert!(prefs["url"].as_str().unwrap().contains("/preferences/enter?t="), "{prefs}");
    let text = env.run(&["portal", "link", "--subscriber", "HS00000001"]).assert_code(0).stdout.clone();
    assert!(text.starts_with("http://127.0.0.1:8080/my/enter?t="), "{text}");
    // Unknown subscriber, bad id: exit 2, named; nothing issued.
    let unknown = env.run(&["portal", "link", "--subscriber", "HS99999999"]);
    unknown.assert_code(2);
    assert!(unknown.stderr.contains("HS99999999"), "{}", unknown.stderr);
    env.run(&["portal", "link", "--subscriber", ""]).assert_code(2);

    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let (status, body) =
        send(&server.addr, "POST", "/api/v1/portal/links", Some(&token), r#"{"subscriber":"HS00000003"}"#);
    assert_eq!(status, 201, "{body}");
    let issued: serde_json::Value = serde_json::from_str(&body).unwrap();
    let t = issued["url"].as_str().unwrap().split_once("?t=").unwrap().1.to_string();
    let (status, _) = send(&server.addr, "POST", "/api/v1/portal/links", None, r#"{"subscriber":"HS00000003"}"#);
    assert_eq!(status, 401);

    // The link opens once over HTTP.
    let open = |t: &str| {
        let body = format!("t={t}");
        exchange(
            &server.addr,
            &format!(
                "POST /my/enter HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let (status, head, _) = open(&t);
    assert_eq!(status, 303, "{head}");
    assert!(head.to_ascii_lowercase().contains("set-cookie: tokutei_my="), "{head}");
    assert_eq!(open(&t).0, 403, "a link works once");

    // Consent captured where it is given, by the token's principal.
    let (status, body) = send(
        &server.addr,
        "POST",
        "/api/v1/consent",
        Some(&token),
        r#"{"subscriber":"HS00000001","purpose":"marketing","choice":"opted_out","channel":"phone","evidence":"call-0001"}"#,
    );
    assert_eq!(status, 201, "{body}");
    let record: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((record["choice"].as_str(), record["channel"].as_str()), (Some("opted_out"), Some("phone")));
    for (bad, field) in [
        (r#"{"subscriber":"HS00000001","purpose":"support","choice":"opted_out","channel":"phone"}"#, "purpose"),
        (r#"{"subscriber":"HS00000001","purpose":"marketing","choice":"maybe","channel":"phone"}"#, "choice"),
        (
            r#"{"subscriber":"HS00000001","purpose":"marketing","choice":"opted_in","channel":"phone","notice_version":99}"#,
            "notice_version",
        ),
    ] {
        let (status, body) = send(&server.addr, "POST", "/api/v1/consent", Some(&token), bad);
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains(&format!("\"field\":\"{field}\"")), "{bad}: {body}");
    }
    let shown = env.run(&["--json", "consent", "show", "--subscriber", "HS00000001"]).assert_code(0).json();
    assert_eq!(shown["history"].as_array().unwrap().len(), 1, "only the accepted record: {shown}");
}
