//! Export artefacts and media exceptions through the binary: a request approved, the
//! artefact produced for an age key, refused onto an external medium without an exception and
//! over an existing file, downloaded once to a new 0600 file whose SHA-256 is the ledger's,
//! decrypted with the recipient's identity; a bad recipient key is bad input naming the field,
//! nothing written; exceptions granted by another manager, listed and revoked.

use sha2::{Digest, Sha256};

use crate::admin::entries_of;
use crate::util::TestEnv;

fn detail<'a>(entry: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    entry["event"]["details"].as_array()?.iter().find(|d| d[0] == key).and_then(|d| d[1].as_str())
}

#[test]
fn an_export_is_produced_downloaded_once_and_opens_with_the_recipients_key_only() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "1"]).assert_code(0);
    let request = ["exports", "request", "exp-1", "--staff", "demo-support", "--purpose", "support"];
    let rest = ["--subscriber", "HS00000001", "--category", "contract.name", "--reason", "handover"];
    env.run(&[&request[..], &rest[..]].concat()).assert_code(0);
    env.run(&["exports", "approve", "exp-1", "--approver", "chief"]).assert_code(0);

    let identity = age::x25519::Identity::generate();
    let key = identity.to_public().to_string();
    let produce = |recipient: &str| {
        env.run(&[
            "--json",
            "exports",
            "produce",
            "exp-1",
            "--recipient",
            recipient,
            "--by",
            "demo-support",
            "--channel",
            "phone",
        ])
    };
    for bad in ["age1bad", "AGE-SECRET-KEY-1", ""] {
        let run = produce(bad);
        run.assert_code(2);
        assert!(run.stderr.contains("`recipient_key`"), "the field is named: {}", run.stderr);
    }
    assert!(entries_of(&env, "export_produced").is_empty(), "bad input writes nothing");
    let produced = produce(&key).assert_code(0).json();
    assert_eq!((produced["subscribers"].as_u64(), produced["allowed"].as_u64()), (Some(1), Some(1)), "{produced}");
    let sha256 = produced["sha256"].as_str().unwrap().to_string();
    let entry = entries_of(&env, "export_produced").pop().unwrap();
    assert_eq!(detail(&entry, "sha256"), Some(sha256.as_str()), "{entry}");
    assert_eq!(detail(&entry, "recipient_key"), Some(key.as_str()));
    produce(&key).assert_code(2);
    let shown = env.run(&["--json", "exports", "show", "exp-1"]).assert_code(0).json();
    assert_eq!(shown["state"], "produced", "{shown}");

    let out = env.root().join("exp-1.age");
    let download = |file: &std::path::Path, medium: Option<&str>| {
        let mut args = vec!["exports", "download", "exp-1", "--out", file.to_str().unwrap(), "--by", "demo-support"];
        if let Some(m) = medium {
            args.extend(["--medium", m]);
        }
        env.run(&args)
    };
    let run = download(&out, Some("usb"));
    run.assert_code(2);
    assert!(run.stderr.contains("`usb`"), "the medium is named: {}", run.stderr);
    assert!(!out.exists(), "a refused download leaves no file");
    let run = download(&out, Some("floppy"));
    run.assert_code(2);
    assert!(run.stderr.contains("`medium`"), "{}", run.stderr);
    let existing = env.write("existing.age", "keep");
    download(&existing, None).assert_code(2);
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep", "an existing file is never overwritten");
    assert!(entries_of(&env, "export_downloaded").is_empty(), "refusals write nothing");

    let run = download(&out, None);
    run.assert_code(0);
    assert!(run.stdout.contains(&sha256), "the digest is printed: {}", run.stdout);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(hex_of(&Sha256::digest(&bytes)), sha256, "the file's SHA-256 is the ledger's");
    let downloaded = entries_of(&env, "export_downloaded");
    assert_eq!(downloaded.len(), 1);
    assert_eq!(detail(&downloaded[0], "medium"), Some("local"), "a temporary directory is the local host");
    assert_eq!(detail(&downloaded[0], "sha256"), Some(sha256.as_str()));
    assert!(age::decrypt(&age::x25519::Identity::generate(), &bytes).is_err(), "another identity cannot open it");
    let doc: serde_json::Value = serde_json::from_slice(&age::decrypt(&identity, &bytes).unwrap()).unwrap();
    assert_eq!(doc["export"]["request"], "exp-1");
    assert_eq!(doc["subscribers"][0]["id"], "HS00000001");
    assert_eq!(doc["subscribers"][0]["items"][0]["allowed"], true, "{doc}");
    assert!(doc["subscribers"][0]["items"][0]["values"][0]["value"].is_string());

    let again = env.root().join("again.age");
    download(&again, None).assert_code(2);
    assert!(!again.exists(), "downloaded once");
    assert_eq!(entries_of(&env, "export_downloaded").len(), 1);
    let listed = env.run(&["--json", "exports", "list"]).assert_code(0).json();
    assert_eq!((listed[0]["id"].as_str(), listed[0]["state"].as_str()), (Some("exp-1"), Some("downloaded")));
    env.run(&["audit", "verify"]).assert_code(0);
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn media_exceptions_are_granted_by_another_manager_listed_and_revoked() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "1"]).assert_code(0);
    let today = tokutei_policy::tokyo::today().0;
    let until = today.checked_add(jiff::Span::new().days(10)).unwrap().to_string();
    let grant = |person: &str, medium: &str, until: &str, by: &str| {
        env.run(&[
            "--json",
            "media",
            "grant",
            "--person",
            person,
            "--medium",
            medium,
            "--reason",
            "regulator's copy",
            "--until",
            until,
            "--by",
            by,
        ])
    };
    let check = |run: crate::util::Run, field: &str| {
        run.assert_code(2);
        assert!(run.stderr.contains(field), "{field}: {}", run.stderr);
    };
    check(grant("chief", "usb", &until, "chief"), "`chief`");
    check(grant("chief", "usb", &until, "demo-support"), "`demo-support`");
    check(grant("demo-support", "network", &until, "chief"), "`medium`");
    check(grant("demo-support", "usb", "2020-01-01", "chief"), "`valid_until`");
    check(grant("demo-support", "usb", "someday", "chief"), "`until`");
    assert!(entries_of(&env, "media_exception_granted").is_empty(), "refusals write nothing");
    let granted = grant("demo-support", "usb", &until, "chief").assert_code(0).json();
    let id = granted["id"].as_str().unwrap().to_string();
    assert_eq!((granted["person"].as_str(), granted["approved_by"].as_str()), (Some("demo-support"), Some("chief")));
    let entry = entries_of(&env, "media_exception_granted").pop().unwrap();
    assert_eq!(entry["event"]["subject"], format!("media-exception/{id}"));
    let listed = env.run(&["--json", "media", "list"]).assert_code(0).json();
    assert_eq!((listed[0]["id"].as_str(), listed[0]["in_force"].as_bool()), (Some(id.as_str()), Some(true)));
    env.run(&["media", "revoke", &id, "--by", "demo-support"]).assert_code(2);
    env.run(&["media", "revoke", &id, "--by", "chief"]).assert_code(0);
    env.run(&["media", "revoke", &id, "--by", "chief"]).assert_code(2);
    assert_eq!(entries_of(&env, "media_exception_revoked").len(), 1);
    let listed = env.run(&["--json", "media", "list"]).assert_code(0).json();
    assert_eq!(listed[0]["in_force"], false, "{listed}");
}

/// A GET with a bearer token, its body as bytes: (status, head, body).
fn get_bytes(addr: &str, path: &str, token: &str) -> (u16, String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head, response[split + 4..].to_vec())
}

#[test]
fn the_api_produces_and_hands_over_an_artefact_once_to_its_requester() {
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "1"]).assert_code(0);
    let token = |who: &str| {
        let issued = env.run(&["--json", "staff", "token", "issue", "--by", "chief", who, "--days", "30"]);
        issued.assert_code(0).json()["token"].as_str().unwrap().to_string()
    };
    let (requester, other) = (token("demo-support"), token("chief"));
    let request = ["exports", "request", "exp-api", "--staff", "demo-support", "--purpose", "support"];
    let rest = ["--subscriber", "HS00000001", "--category", "contract.name", "--reason", "handover"];
    env.run(&[&request[..], &rest[..]].concat()).assert_code(0);
    env.run(&["exports", "approve", "exp-api", "--approver", "chief"]).assert_code(0);
    let server = crate::util::start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let path = "/api/v1/exports/exp-api/artefact";
    let send = |token: &str, body: &str| crate::util::send(&server.addr, "POST", path, Some(token), body);

    let (status, body) = send(&requester, r#"{"recipient":"age1nope","channel":"phone"}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("recipient_key"), "the field is named: {body}");
    let identity = age::x25519::Identity::generate();
    let good = format!(r#"{{"recipient":"{}","channel":"phone"}}"#, identity.to_public());
    let (status, body) = send(&other, &good);
    assert_eq!(status, 403, "not the requester: {body}");
    let (status, body) = send(&requester, &good);
    assert_eq!(status, 201, "{body}");
    let produced: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(send(&requester, &good).0, 409, "produced once");

    assert_eq!(get_bytes(&server.addr, path, &other).0, 403, "not the requester");
    let (status, head, bytes) = get_bytes(&server.addr, path, &requester);
    assert_eq!(status, 200, "{head}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: application/octet-stream"), "{head}");
    assert!(head.contains("cache-control: no-store"), "{head}");
    assert_eq!(hex_of(&Sha256::digest(&bytes)), produced["sha256"].as_str().unwrap(), "the digest is the ledger's");
    let doc: serde_json::Value = serde_json::from_slice(&age::decrypt(&identity, &bytes).unwrap()).unwrap();
    assert_eq!(doc["export"]["request"], "exp-api");
    assert_eq!(get_bytes(&server.addr, path, &requester).0, 409, "downloaded once");
    drop(server);
    let downloaded = entries_of(&env, "export_downloaded");
    assert_eq!(downloaded.len(), 1);
    assert_eq!(detail(&downloaded[0], "medium"), Some("network"));
}
