//! Witnessed checkpoints across processes (C2SP tlog-witness): a log (the binary on a data
//! directory) and two witnesses (`tokutei witness serve`, each its own process and directory).
//! The witnesses cosign consistent growth and the published checkpoint verifies with their
//! keys (`audit check-proof --witness --quorum`); a witness restarted keeps its state; a copy
//! of the log that forks — the same size with other entries, or a smaller size — is refused
//! by both witnesses, and the log reports it (exit 1, and an alert in the outbox).

use std::path::{Path, PathBuf};

use crate::util::{Server, TestEnv, exchange, start};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

struct Witnessed {
    dir: PathBuf,
    key: String,
    server: Server,
}

fn witness(env: &TestEnv, name: &str, log_key: &str) -> Witnessed {
    let dir = env.root().join(name);
    let dir_arg = dir.to_str().unwrap().to_string();
    let init = env.run(&[
        "--data",
        &dir_arg,
        "--json",
        "witness",
        "init",
        "--name",
        &format!("{name}.example/w"),
        "--log",
        log_key,
    ]);
    let key = init.assert_code(0).json()["key"].as_str().unwrap().to_string();
    let server = start(env, &["--data", &dir_arg, "witness", "serve", "--listen", "127.0.0.1:0"]);
    Witnessed { dir, key, server }
}

/// The deployment file as `init` wrote it, then an alert channel and `witnesses` (written anew
/// each time: a restarted witness listens elsewhere).
fn configure(env: &TestEnv, witnesses: &[&Witnessed]) {
    let base = env.root().join("deployment.base.toml");
    if !base.exists() {
        std::fs::copy(env.data().join("deployment.toml"), &base).unwrap();
    }
    let mut toml = std::fs::read_to_string(&base).unwrap();
    toml.push_str(
        "\n[alerts.webhook]\nurl = \"http://127.0.0.1:9/alerts\"\nsecret_file = \"keys/alert-webhook.secret\"\n",
    );
    toml.push_str(&format!("\n[witnesses]\nquorum = {}\n", witnesses.len()));
    for w in witnesses {
        toml.push_str(&format!("[[witnesses.servers]]\nkey = \"{}\"\nurl = \"http://{}\"\n", w.key, w.server.addr));
    }
    std::fs::write(env.data().join("deployment.toml"), toml).unwrap();
    crate::alerts::write_secret(env, 0o600);
}

/// A few more entries in the ledger (each with its own time, so two copies differ).
fn grow(env: &TestEnv, count: u64) {
    env.run(&["audit", "append-load", "--appenders", "1", "--count", &count.to_string()]).assert_code(0);
}

#[test]
fn two_witnesses_cosign_growth_keep_their_state_and_refuse_a_forked_or_rolled_back_log() {
    let env = TestEnv::new();
    env.run(&["init"]).assert_code(0);
    let log_key = env.run(&["audit", "key"]).assert_code(0).stdout.trim().to_string();
    let w1 = witness(&env, "w1", &log_key);
    let mut w2 = witness(&env, "w2", &log_key);
    configure(&env, &[&w1, &w2]);

    // Cosigned by both; the published checkpoint verifies with their keys.
    let first = env.run(&["--json", "audit", "witness"]);
    let round = first.assert_code(0).json();
    assert_eq!(round["cosigned"], serde_json::json!(["w1.example/w", "w2.example/w"]), "{}", first.stdout);
    assert_eq!(round["published"], true);
    let size = round["size"].as_u64().unwrap();
    let proof = env.run(&["audit", "prove", "--index", "0"]).assert_code(0).stdout.clone();
    let proof = env.write("proof.json", proof);
    let check = |witnesses: &[&str], quorum: &str| {
        let mut args = vec!["audit", "check-proof", proof.to_str().unwrap(), "--key", &log_key];
        for w in witnesses {
            args.extend(["--witness", w]);
        }
        args.extend(["--quorum", quorum]);
        env.run(&args)
    };
    let both = check(&[&w1.key, &w2.key], "2");
    both.assert_code(0);
    assert!(both.stdout.contains("cosigned by w1.example/w, w2.example/w"), "{}", both.stdout);
    // A witness key that did not cosign does not count towards the quorum.
    let stranger = env.root().join("stranger");
    let other = env.run(&["--data", stranger.to_str().unwrap(), "--json", "witness", "init", "--name", "x.example/w"]);
    let other_key = other.assert_code(0).json()["key"].as_str().unwrap().to_string();
    check(&[&w1.key, &other_key], "2").assert_code(1);

    // Growth is cosigned from the size each witness holds.
    grow(&env, 3);
    let grown = env.run(&["--json", "audit", "witness"]).assert_code(0).json();
    assert_eq!(grown["size"].as_u64().unwrap(), size + 3);
    let size = size + 3;

    // A witness restarted keeps its state: asked from size 0, it names the size it holds.
    drop(w2.server);
    w2.server = start(&env, &["--data", w2.dir.to_str().unwrap(), "witness", "serve", "--listen", "127.0.0.1:0"]);
    configure(&env, &[&w1, &w2]);
    let note = env.run(&["audit", "checkpoint"]).assert_code(0).stdout.clone();
    let body = format!("old 0\n\n{note}");
    let (status, head, answer) = exchange(
        &w2.server.addr,
        &format!(
            "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(status, 409, "{head}\n{answer}");
    assert!(head.to_ascii_lowercase().contains("content-type: text/x.tlog.size"), "{head}");
    assert_eq!(answer, format!("{size}\n"));

    // A copy of the log taken now, before the original grows on.
    let fork = TestEnv::new();
    copy_dir(&env.data(), &fork.data());
    let rollback = TestEnv::new();
    copy_dir(&env.data(), &rollback.data());
    grow(&env, 4);
    env.run(&["audit", "witness"]).assert_code(0);

    // The same size with other entries: both witnesses refuse; the log says so and alerts.
    grow(&fork, 4);
    let forked = fork.run(&["--json", "audit", "witness"]);
    forked.assert_code(1);
    let refused = forked.json()["refused"].as_array().unwrap().clone();
    assert_eq!(refused.len(), 2, "{}", forked.stdout);
    assert!(refused.iter().all(|r| r[1].as_str().unwrap().starts_with("forked")), "{refused:?}");
    assert_eq!(forked.json()["published"], false);
    let alerts = fork.run(&["--json", "alerts", "list"]).assert_code(0).json();
    let kinds: Vec<&str> = alerts.as_array().unwrap().iter().filter_map(|a| a["kind"].as_str()).collect();
    assert!(kinds.contains(&"witness_refused"), "{alerts}");

    // A smaller tree than the witnesses cosigned: refused as rolled back.
    grow(&rollback, 1);
    let rolled = rollback.run(&["--json", "audit", "witness"]);
    rolled.assert_code(1);
    let refused = rolled.json()["refused"].as_array().unwrap().clone();
    assert!(refused.iter().all(|r| r[1].as_str().unwrap().starts_with("rolled back")), "{}", rolled.stdout);

    // The honest log goes on being cosigned.
    grow(&env, 1);
    env.run(&["audit", "witness"]).assert_code(0);
}
