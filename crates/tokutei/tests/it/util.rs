//! Helpers shared by the end-to-end tests: a temporary data directory and a way to run the
//! binary in it and look at what it printed and how it exited.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A temporary working area with a data directory path (not yet initialised).
pub struct TestEnv {
    dir: tempfile::TempDir,
    /// PostgreSQL instead of the embedded database (`TOKUTEI_DATABASE_URL`).
    database_url: Option<String>,
}

/// What a run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Parse stdout as the one JSON document `--json` promises.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "exit code\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv { dir: tempfile::tempdir().unwrap(), database_url: None }
    }

    /// An env whose commands keep everything in the PostgreSQL database `db` (the data
    /// directory holds only keys and configuration).
    pub fn on_postgres(db: &FreshDatabase) -> TestEnv {
        TestEnv { database_url: Some(db.url()), ..TestEnv::new() }
    }

    /// The temporary directory everything lives in.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The data directory passed with `--data`.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Every file under the data directory.
    pub fn data_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut stack = vec![self.data()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() { stack.push(path) } else { files.push(path) }
            }
        }
        files
    }

    /// Write a file under the root and return its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// Run `tokutei ARGS… --data DATA` (the data directory is always this env's).
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// The command, for tests that need to control the child (kill it, feed stdin).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tokutei"));
        cmd.args(args).env("TOKUTEI_DATA", self.data()).current_dir(self.root());
        match &self.database_url {
            Some(url) => cmd.env("TOKUTEI_DATABASE_URL", url),
            None => cmd.env_remove("TOKUTEI_DATABASE_URL"),
        };
        cmd
    }
}

/// The seed policy text our first customer publishes (test input, never copied into the repo).
pub fn seed_policy_path() -> PathBuf {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seed");
    std::fs::read_dir(&shared)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", shared.display()))
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "txt"))
        .expect("a seed policy text in shared/seed")
}

/// A fresh PostgreSQL database, dropped on drop.
pub struct FreshDatabase {
    admin: String,
    name: String,
}

impl FreshDatabase {
    pub fn new() -> FreshDatabase {
        let admin = std::env::var("TOKUTEI_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("tokutei_it_{}_{}_{n}", std::process::id(), jiff::Timestamp::now().as_microsecond());
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("PostgreSQL on 127.0.0.1:5432");
        client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        FreshDatabase { admin, name }
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// A running server, killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(env: &TestEnv, args: &[&str]) -> Server {
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
pub fn get(addr: &str, path: &str) -> (u16, String) {
    let (status, _, body) =
        exchange(addr, &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"));
    (status, body)
}

/// A plain HTTP/1.1 request with an optional bearer token and JSON body: (status, body).
pub fn send(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    try_send(addr, method, path, token, body).unwrap()
}

/// [`send`], reporting a connection that fails (a server killed mid-request) as an error.
pub fn try_send(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let (status, _, body) = try_exchange(
        addr,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )?;
    Ok((status, body))
}

/// A raw HTTP/1.1 exchange: (status, head, body).
pub fn exchange(addr: &str, request: &str) -> (u16, String, String) {
    try_exchange(addr, request).unwrap()
}

fn try_exchange(addr: &str, request: &str) -> std::io::Result<(u16, String, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok((status, head.to_string(), body.to_string()))
}
