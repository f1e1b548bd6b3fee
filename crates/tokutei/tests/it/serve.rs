//! `tokutei demo` and `tokutei serve` as a newcomer runs them: a real process listening on
//! TCP, answered over a real socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};

use crate::util::TestEnv;

/// A running server, killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(env: &TestEnv, args: &[&str]) -> Server {
    let mut child = env.command(args).stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("server printed its address").unwrap();
        if let Some(rest) = line.split("serving on http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, addr }
}

/// A plain HTTP/1.1 GET over a socket: (status, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

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
