//! The system under test: `tokutei demo --no-serve` on a temporary data directory (its printed
//! console accounts parsed), two witnesses (`tokutei witness serve`, each its own process) that
//! the deployment's `[witnesses]` names with a quorum of two, handling zones required (the
//! demo's zone has this machine's loopback addresses as its terminals and badged its people
//! in; the badge system's API token is issued here), then `tokutei serve` on a free port; all
//! killed on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

use crate::util::{Run, TestEnv, start};

/// A console account the demo printed.
#[derive(Clone)]
pub struct Account {
    pub id: String,
    pub password: String,
    /// The TOTP secret's bytes, for accounts with a second factor.
    pub totp: Option<Vec<u8>>,
}

impl Account {
    /// The authenticator code for now (empty without a second factor).
    pub fn code(&self) -> String {
        let now = jiff::Timestamp::now().as_second().max(0) as u64;
        self.totp.as_ref().map(|s| tokutei_crypto::totp::code_at(s, now).unwrap()).unwrap_or_default()
    }
}

pub struct Server {
    pub env: TestEnv,
    pub base: String,
    pub chief: Account,
    pub handler: Account,
    /// The badge system's API token (`POST /api/v1/presence`).
    pub badge_token: String,
    child: Child,
    /// The witnesses' processes (killed on drop).
    _witnesses: Vec<crate::util::Server>,
    /// What the server wrote to stderr, shown when the suite fails.
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log.lock().unwrap();
            eprintln!("the server's log (last lines):\n{}", log[log.len().saturating_sub(40)..].join("\n"));
        }
    }
}

/// The value after `label` on the first line at or after the one containing `after`.
fn printed(run: &Run, after: &str, label: &str) -> String {
    run.stdout
        .lines()
        .skip_while(|l| !l.contains(after))
        .find_map(|l| l.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("the demo prints `{label}` after `{after}`:\n{}", run.stdout))
        .trim()
        .to_string()
}

impl Server {
    pub fn start() -> Server {
        let env = TestEnv::new();
        let run = env.run(&["demo", "--no-serve", "--subscribers", "20"]);
        run.assert_code(0);
        let secret = printed(&run, "id: chief", "authenticator (TOTP) secret:");
        let chief = Account {
            id: "chief".into(),
            password: printed(&run, "id: chief", "one-time password:"),
            totp: Some(totp_rs::Secret::Encoded(secret).to_bytes().expect("a base32 TOTP secret")),
        };
        let handler = Account {
            id: "demo-support".into(),
            password: printed(&run, "id: demo-support", "one-time password:"),
            totp: None,
        };
        let log_key = env.run(&["audit", "key"]).stdout.trim().to_string();
        let mut witnesses = Vec::new();
        let mut config = String::from("\n[witnesses]\nquorum = 2\n");
        for name in ["w1", "w2"] {
            let dir = env.root().join(name);
            let dir = dir.to_str().unwrap();
            let init = env.run(&[
                "--data",
                dir,
                "--json",
                "witness",
                "init",
                "--name",
                &format!("{name}.example/w"),
                "--log",
                &log_key,
            ]);
            let key = init.assert_code(0).json()["key"].as_str().unwrap().to_string();
            let witness = start(&env, &["--data", dir, "witness", "serve", "--listen", "127.0.0.1:0"]);
            config.push_str(&format!("[[witnesses.servers]]\nkey = \"{key}\"\nurl = \"http://{}\"\n", witness.addr));
            witnesses.push(witness);
        }
        let deployment = env.data().join("deployment.toml");
        // A top-level key goes before the file's tables.
        let mut toml = format!("zones_required = true\n{}", std::fs::read_to_string(&deployment).unwrap());
        toml.push_str(&config);
        std::fs::write(&deployment, toml).unwrap();
        let mut child = env
            .command(&["serve", "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("the server prints its address").unwrap();
            if let Some(rest) = line.split("serving on http://").nth(1) {
                break format!("http://{}", rest.split('/').next().unwrap());
            }
        };
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let issued = env.run(&["--json", "staff", "token", "issue", "demo-badge-gate", "--days", "1", "--by", "chief"]);
        let badge_token = issued.assert_code(0).json()["token"].as_str().unwrap().to_string();
        Server { env, base, chief, handler, badge_token, child, _witnesses: witnesses, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `host:port`, for plain HTTP.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The badge system reports that the demo's handler entered (`enter`) or left (`exit`)
    /// the demo's handling zone.
    pub fn badge(&self, event: &str) {
        let body = serde_json::json!({ "person": self.handler.id, "zone": "hq-privacy", "event": event });
        let response = crate::http::post_json(self.addr(), "/api/v1/presence", &self.badge_token, &body);
        assert_eq!(response.status, 201, "the badge event is recorded: {}", response.body);
    }

    /// Run the CLI on the server's data directory (beside the running server).
    pub fn cli(&self, args: &[&str]) -> Run {
        self.env.run(args)
    }
}
