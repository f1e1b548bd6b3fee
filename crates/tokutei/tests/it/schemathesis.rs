//! The JSON API against its own OpenAPI document, fuzzed by schemathesis (PyPI, pinned and
//! installed by `cargo xtask provision` under `~/.cache/tokutei/schemathesis-<version>/`):
//! a served demo, an API token issued with `tokutei staff token issue`, and a bounded run
//! (examples per operation and a time budget) whose checks are that no response is a server
//! error and that every response's status, content type and body match the document.
//! A missing schemathesis fails the test with a pointer to `cargo xtask provision`.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{TestEnv, get, start};

/// The schemathesis executable: `$TOKUTEI_SCHEMATHESIS`, or the newest one provisioning
/// finished installing (its virtual environment holds the `tokutei-provisioned` marker).
fn schemathesis() -> PathBuf {
    if let Some(path) = std::env::var_os("TOKUTEI_SCHEMATHESIS").map(PathBuf::from) {
        assert!(path.exists(), "TOKUTEI_SCHEMATHESIS names `{}`, which does not exist", path.display());
        return path;
    }
    let cache = PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/tokutei");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&cache)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("schemathesis-")))
        .filter(|p| p.join("tokutei-provisioned").exists())
        .map(|p| p.join("bin/schemathesis"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "schemathesis is not installed (no `{}/schemathesis-*/bin/schemathesis`): run `cargo xtask provision`",
            cache.display()
        )
    })
}

/// The checks every response must pass.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

#[test]
fn schemathesis_finds_no_server_error_and_no_response_outside_the_document() {
    let schemathesis = schemathesis();
    let env = TestEnv::new();
    env.run(&["demo", "--no-serve", "--subscribers", "5"]).assert_code(0);
    // A chief manager who may also read: every operation of the document answers it for real
    // (the staff registry, and gateway decisions that allow as well as deny).
    env.run(&[
        "staff",
        "add",
        "--by",
        "chief",
        "fuzz-cpo",
        "--name",
        "統括 検査",
        "--role",
        "chief_manager",
        "--purpose",
        "support",
        "--purpose",
        "billing",
        "--range",
        "fiber:contract.name,contract.phone,billing.payment",
        "--range",
        "mobile:contract.name,contract.phone,billing.payment",
        "--range",
        "global_vpn:contract.name,contract.phone,billing.payment",
    ])
    .assert_code(0);
    let token =
        env.run(&["--json", "staff", "token", "issue", "--by", "chief", "fuzz-cpo"]).assert_code(0).json()["token"]
            .as_str()
            .expect("the issued token")
            .to_string();
    let server = start(&env, &["serve", "--listen", "127.0.0.1:0"]);
    let (status, _) = get(&server.addr, "/api/v1/openapi.json");
    assert_eq!(status, 200);

    let report = env.root().join("schemathesis-report");
    let output = Command::new(&schemathesis)
        .current_dir(env.root())
        .env("NO_COLOR", "1")
        .args([
            "run",
            &format!("http://{}/api/v1/openapi.json", server.addr),
            "--header",
            &format!("Authorization: Bearer {token}"),
            "--checks",
            CHECKS,
            "--max-examples",
            "40",
            "--max-time",
            "45",
            "--request-timeout",
            "10",
            "--workers",
            "1",
            "--seed",
            "13",
            "--generation-database",
            "none",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
        ])
        .arg(&report)
        .output()
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found problems (exit {:?}):\n{stdout}\n{stderr}",
        output.status.code()
    );
    // It really exercised the API: every operation of the document was tested and passed
    // (the JUnit report has one test case per operation; schemathesis leaves out the
    // document's own path).
    let junit: String = std::fs::read_dir(&report)
        .expect("schemathesis wrote its report")
        .map(|e| e.expect("report entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .map(|p| std::fs::read_to_string(p).expect("readable report"))
        .collect();
    for operation in [
        "POST /api/v1/access",
        "POST /api/v1/access/explain",
        "GET /api/v1/staff",
        "POST /api/v1/staff",
        "GET /api/v1/checkpoint",
        "GET /api/v1/incidents",
        "POST /api/v1/incidents",
        "PATCH /api/v1/incidents/{id}",
        "POST /api/v1/incidents/{id}/impacts",
        "POST /api/v1/incidents/{id}/withdrawal",
        "GET /api/v1/alerts",
        "POST /api/v1/alerts/{id}/retry",
    ] {
        assert!(junit.contains(&format!("<testcase name=\"{operation}\"")), "`{operation}` was not tested:\n{junit}");
    }
    assert!(!junit.contains("<failure") && !junit.contains("<error"), "{junit}");
    // "Test cases: N generated, N passed" in the summary.
    let generated = stdout
        .lines()
        .find_map(|l| l.trim().split_once(" generated, ").and_then(|(n, _)| n.parse::<u32>().ok()))
        .unwrap_or(0);
    assert!(generated >= 100, "schemathesis generated only {generated} test cases:\n{stdout}");
    drop(server);
    // Whatever it sent, the ledger it made the server write still verifies.
    env.run(&["audit", "verify"]).assert_code(0);
}
