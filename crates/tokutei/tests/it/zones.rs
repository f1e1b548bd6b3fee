//! Handling zones through the binary: the fixed command `tokutei presence import FILE` (every
//! line checked first, a bad one named by its line with exit code 2 and nothing recorded),
//! `tokutei zones add|list`, `tokutei presence list`, and with `zones_required` the command
//! line's own reads decided in the zone the person badged into (this machine's loopback is
//! the demo zone's terminal); the badge system's `POST /api/v1/presence` refused to other
//! systems' tokens.

use crate::util::{TestEnv, send, start};

fn read(env: &TestEnv) -> crate::util::Run {
    env.run(&[
        "--json",
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
        "contract.name",
    ])
}

#[test]
fn zones_and_the_entry_exit_log_through_the_cli_and_the_api() {
    let env = TestEnv::new();
    let demo = env.run(&["demo", "--no-serve", "--subscribers", "3"]);
    demo.assert_code(0);
    let call_centre = demo.stdout.split_whitespace().find(|w| w.starts_with("tkt_")).unwrap().to_string();

    // The demo's zone, with this machine as its terminal.
    let zones = env.run(&["--json", "zones", "list"]).assert_code(0).json();
    assert_eq!(zones[0]["id"], "hq-privacy");
    assert_eq!(zones[0]["networks"], serde_json::json!(["127.0.0.0/8", "::1/128"]));
    let bad = env.run(&[
        "zones",
        "add",
        "call-1",
        "--name",
        "コールセンター",
        "--site",
        "大阪",
        "--network",
        "10.1.0.1/16",
        "--by",
        "chief",
    ]);
    bad.assert_code(2);
    assert!(bad.stderr.contains("networks") && bad.stderr.contains("host bits"), "{}", bad.stderr);
    let added = env
        .run(&[
            "--json",
            "zones",
            "add",
            "call-1",
            "--name",
            "コールセンター",
            "--site",
            "大阪",
            "--network",
            "10.1.0.0/16",
            "--by",
            "chief",
        ])
        .assert_code(0)
        .json();
    assert_eq!(added["networks"], serde_json::json!(["10.1.0.0/16"]));
    let handler = env.run(&[
        "zones",
        "add",
        "x",
        "--name",
        "x",
        "--site",
        "x",
        "--network",
        "10.9.0.0/16",
        "--by",
        "demo-support",
    ]);
    handler.assert_code(2);

    // A bad line is named and nothing is recorded.
    let log = |env: &TestEnv| env.run(&["--json", "presence", "list", "--by", "chief"]).assert_code(0).json();
    let before = log(&env).as_array().unwrap().len();
    assert_eq!(before, 2, "the demo badged the handler and the chief manager in");
    for (text, named) in [
        (
            "person,zone,event,at\ndemo-support,hq-privacy,exit,2026-12-01 18:00\nnobody,hq-privacy,enter,2026-12-01 09:00\n",
            "line 3",
        ),
        ("person,zone,event,at\ndemo-support,attic,exit,2026-12-01 18:00\n", "line 2"),
        ("person,zone,event,at\ndemo-support,hq-privacy,leave,2026-12-01 18:00\n", "`event`"),
        ("person,zone,event,at\ndemo-support,hq-privacy,exit,yesterday\n", "`at`"),
        ("who,where,what,when\n", "line 1"),
    ] {
        let file = env.write("badges.csv", text);
        let run = env.run(&["presence", "import", file.to_str().unwrap(), "--by", "chief"]);
        run.assert_code(2);
        assert!(run.stderr.contains(named), "{named}: {}", run.stderr);
        assert_eq!(log(&env).as_array().unwrap().len(), before, "nothing recorded");
    }

    // With zones required, the command line's read is decided where the person is.
    let deployment = env.data().join("deployment.toml");
    let toml = std::fs::read_to_string(&deployment).unwrap();
    std::fs::write(&deployment, format!("zones_required = true\n{toml}")).unwrap();
    let allowed = read(&env);
    allowed.assert_code(0);
    assert_eq!(allowed.json()["subscribers"][0]["items"][0]["allowed"], true);

    let now = jiff::Timestamp::now().to_string();
    let file = env.write("badges.csv", format!("person,zone,event,at\ndemo-support,hq-privacy,exit,{now}\n"));
    let imported =
        env.run(&["--json", "presence", "import", file.to_str().unwrap(), "--by", "chief"]).assert_code(0).json();
    assert_eq!(imported["recorded"], 1);
    let denied = read(&env);
    denied.assert_code(1);
    assert_eq!(denied.json()["subscribers"][0]["items"][0]["reasons"][0]["code"], "zone_exited");
    let listed =
        env.run(&["presence", "list", "--person", "demo-support", "--by", "chief"]).assert_code(0).stdout.clone();
    assert!(listed.contains("退室 / exit") && listed.contains("hq-privacy"), "{listed}");

    // Over HTTP: the call centre is not the badge system.
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let body = r#"{"person":"demo-support","zone":"hq-privacy","event":"enter"}"#;
    let (status, answer) = send(&server.addr, "POST", "/api/v1/presence", Some(&call_centre), body);
    assert_eq!(status, 403, "{answer}");
    let (status, _) = send(&server.addr, "POST", "/api/v1/presence", None, body);
    assert_eq!(status, 401);
}
