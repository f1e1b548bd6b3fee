//! Tidy checks that keep the architecture honest, run as ordinary tests: module docs, no
//! ignored or should-panic tests, no printing from libraries, SQL only in the store crates,
//! HTTP only in the web crate, ARCHITECTURE.md naming every crate, and the fuzz targets kept
//! outside the workspace and documented.

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target" || n == "snapshots") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn crates() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(workspace_root().join("crates"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    out.sort();
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace_root()).unwrap_or(path).display().to_string()
}

#[test]
fn every_module_starts_with_a_doc_comment() {
    let mut missing = Vec::new();
    for (_, dir) in crates() {
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            if !first.starts_with("//!") {
                missing.push(relative(&file));
            }
        }
    }
    assert!(missing.is_empty(), "modules without a `//!` doc saying what they own:\n{}", missing.join("\n"));
}

#[test]
fn no_ignored_or_should_panic_tests() {
    let mut found = Vec::new();
    for (_, dir) in crates() {
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let l = line.trim();
                if l.starts_with("#[ignore") || l.starts_with("#[should_panic") {
                    found.push(format!("{}:{}", relative(&file), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "assert the behaviour instead of ignoring or expecting a panic:\n{}", found.join("\n"));
}

const LIBRARIES: &[&str] = &[
    "tokutei-policy",
    "tokutei-ledger",
    "tokutei-crypto",
    "tokutei-gateway",
    "tokutei-app",
    "tokutei-store",
    "tokutei-store-sqlite",
    "tokutei-store-postgres",
    "tokutei-web",
];

#[test]
fn libraries_do_not_print() {
    let mut found = Vec::new();
    for (name, dir) in crates() {
        if !LIBRARIES.contains(&name.as_str()) {
            continue;
        }
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            // Unit tests at the end of a module may print; library code may not.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (n, line) in code.lines().enumerate() {
                if ["println!(", "eprintln!(", "dbg!(", "print!("].iter().any(|m| line.contains(m)) {
                    found.push(format!("{}:{}", relative(&file), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "libraries log with `tracing`, they do not print:\n{}", found.join("\n"));
}

fn manifest_dependencies(dir: &Path) -> String {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    // Only normal dependencies count: tests may reach around the architecture.
    let deps = manifest.split("[dependencies]").nth(1).unwrap_or("");
    deps.split("\n[").next().unwrap_or("").to_string()
}

#[test]
fn only_store_crates_know_sql() {
    let offenders: Vec<String> = crates()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("tokutei-store-") && name != "tokutei-bench")
        .filter(|(_, dir)| {
            let deps = manifest_dependencies(dir);
            ["rusqlite", "postgres", "sqlx"].iter().any(|d| deps.lines().any(|l| l.trim_start().starts_with(d)))
        })
        .map(|(name, _)| name)
        .collect();
    assert!(offenders.is_empty(), "crates other than the store crates depend on a SQL driver: {offenders:?}");
}

#[test]
fn only_the_web_crate_knows_http() {
    let offenders: Vec<String> = crates()
        .into_iter()
        .filter(|(name, _)| name != "tokutei-web" && name != "tokutei-bench")
        .filter(|(_, dir)| {
            let deps = manifest_dependencies(dir);
            ["axum", "tower-http", "hyper"].iter().any(|d| deps.lines().any(|l| l.trim_start().starts_with(d)))
        })
        .map(|(name, _)| name)
        .collect();
    assert!(offenders.is_empty(), "crates other than tokutei-web depend on an HTTP framework: {offenders:?}");
}

#[test]
fn pure_domain_crates_do_no_io() {
    let mut found = Vec::new();
    for name in ["tokutei-policy", "tokutei-ledger", "tokutei-crypto", "tokutei-gateway"] {
        let mut files = Vec::new();
        rust_files(&workspace_root().join("crates").join(name).join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (n, line) in code.lines().enumerate() {
                if ["std::fs", "std::net", "File::open", "tokio::"].iter().any(|m| line.contains(m)) {
                    found.push(format!("{}:{}", relative(&file), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "pure domain crates must not do IO:\n{}", found.join("\n"));
}

#[test]
fn one_civil_clock() {
    // Asia/Tokyo is made in one place (`tokutei_policy::tokyo`), with no silent UTC fallback.
    let own = workspace_root().join("crates/tokutei-policy/src/tokyo.rs");
    let mut found = Vec::new();
    for (_, dir) in crates() {
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for file in files.into_iter().filter(|f| *f != own) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                if line.contains("\"Asia/Tokyo\"") || line.contains("TimeZone::UTC") {
                    found.push(format!("{}:{}", relative(&file), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "use tokutei_policy::tokyo for civil time:\n{}", found.join("\n"));
}

#[test]
fn sqlite_write_transactions_begin_immediate() {
    // A deferred SQLite transaction that reads before it writes fails at once ("database is
    // locked") when another process committed in between; every write transaction of the
    // embedded store begins through `db::write_tx` (`BEGIN IMMEDIATE`), which waits its turn.
    let dir = workspace_root().join("crates/tokutei-store-sqlite/src");
    let own = dir.join("db.rs");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    let mut found = Vec::new();
    for file in files.into_iter().filter(|f| *f != own) {
        let text = std::fs::read_to_string(&file).unwrap();
        // Tests may build their own transactions to attack the schema.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            if line.contains(".transaction()")
                || line.contains("transaction_with_behavior")
                || line.contains("unchecked_transaction")
            {
                found.push(format!("{}:{}", relative(&file), n + 1));
            }
        }
    }
    assert!(found.is_empty(), "begin write transactions with db::write_tx:\n{}", found.join("\n"));
}

#[test]
fn architecture_names_every_crate() {
    let doc = std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).unwrap();
    let missing: Vec<String> =
        crates().into_iter().map(|(name, _)| name).filter(|n| !doc.contains(&format!("crates/{n}"))).collect();
    assert!(missing.is_empty(), "ARCHITECTURE.md has no code-map entry for: {missing:?}");
}

#[test]
fn fuzz_targets_stay_outside_the_workspace_and_are_documented() {
    let root = workspace_root();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("exclude = [\"fuzz\"]"), "the root Cargo.toml must exclude `fuzz` from the workspace");
    let fuzz = std::fs::read_to_string(root.join("fuzz/Cargo.toml")).unwrap();
    let targets: Vec<&str> = fuzz
        .split("[[bin]]")
        .skip(1)
        .filter_map(|bin| bin.lines().find_map(|l| l.trim().strip_prefix("name = ")))
        .map(|name| name.trim_matches('"'))
        .collect();
    assert!(targets.len() >= 2, "fuzz targets missing from fuzz/Cargo.toml");
    let docs = std::fs::read_to_string(root.join("docs/testing.md")).unwrap();
    let xtask = std::fs::read_to_string(root.join("crates/xtask/src/fuzz.rs")).unwrap();
    let mut problems = Vec::new();
    for target in &targets {
        if !docs.contains(&format!("`{target}`")) {
            problems.push(format!("`{target}` is not described in docs/testing.md"));
        }
        if !xtask.contains(&format!("(\"{target}\"")) {
            problems.push(format!("`{target}` is not run by `cargo xtask fuzz` (crates/xtask/src/fuzz.rs)"));
        }
        let source = std::fs::read_to_string(root.join(format!("fuzz/fuzz_targets/{target}.rs"))).unwrap();
        if !source.starts_with("//!") {
            problems.push(format!("fuzz/fuzz_targets/{target}.rs has no `//!` doc saying what it fuzzes"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The capability traits whose methods change state (the snapshot and sequencer traits are
/// the store's own machinery: copying a whole deployment, group commit).
const CAPABILITY_TRAITS: &[&str] = &[
    "AuthStore",
    "RateLimitStore",
    "ConsentStore",
    "IncidentStore",
    "InquiryStore",
    "SettingsStore",
    "LedgerStore",
    "PolicyStore",
    "FreshnessStore",
    "ProvisionStore",
    "StaffStore",
    "ExportStore",
    "VaultStore",
    "AlertStore",
    "OversightStore",
    "ViolationStore",
    "AssessmentStore",
    "RequestStore",
    "InspectionStore",
    "ArtefactStore",
    "MediaExceptionStore",
];

/// How a store method's name says it writes. Every method of a capability trait must be
/// either a write (one of these prefixes) or named in [`STORE_READS`], so a new method is
/// classified when it is added.
const WRITE_PREFIXES: &[&str] = &[
    "accept_",
    "add_",
    "append",
    "approve_",
    "claim_",
    "clear_",
    "create_",
    "delete_",
    "disable_",
    "erase_",
    "hit",
    "import_batch",
    "publish_",
    "purge_values",
    "requeue_",
    "record_",
    "revoke_",
    "rewrap_",
    "set_",
    "touch_",
    "withdraw_",
];

const STORE_READS: &[&str] = &[
    "access_facts",
    "active_policy",
    "active_policy_number",
    "batch_imported",
    "checkpoints",
    "consent_history",
    "consent_records",
    "credentials",
    "current_consent",
    "current_consents",
    "data_key",
    "expired_values",
    "export_request",
    "export_requests",
    "find_by_blind_index",
    "freshness",
    "hits",
    "import_record",
    "inquiries",
    "inquiry",
    "kek_usage",
    "latest_checkpoint",
    "recent_checkpoints",
    "latest_versions",
    "ledger_entry",
    "ledger_nodes",
    "policy_version",
    "policy_versions",
    "principal",
    "principals",
    "prove_consistency",
    "prove_inclusion",
    "provisions",
    "provisions_of",
    "purge_records",
    "purges",
    "query_entries",
    "scan_entries",
    "scan_indexed",
    "session",
    "settings",
    "staff_generation",
    "subject_rows",
    "subscriber",
    "subscriber_count",
    "subscribers",
    "token",
    "tokens",
    "totp_keys",
    "tree_head_at",
    "tree_size",
    "value_versions",
    "values",
    "values_written_by",
    "wrapped_keys",
    "clear_totp_principals",
    "entries",
    "explain_query",
    "verify",
    "alternatives",
    "impacts",
    "incident",
    "incident_versions",
    "incidents",
    "notices",
    "open_obligations",
    "publications",
    "published_incidents",
    "withdrawal",
    "alert",
    "alert_by_key",
    "alerts",
    "alert_deliveries",
    "designations",
    "oversight_filings",
    "rules_versions",
    "appointments",
    "opinions",
    "violation_reports",
    "assessments",
    "requests",
    "request",
    "use_stops",
    "inspections",
    "inspection",
    "inspection_findings",
    "artefact",
    "artefacts",
    "media_exception",
    "media_exceptions",
];

/// The method names of the capability traits, each with whether it writes.
fn store_methods() -> Vec<(String, bool)> {
    let mut files = Vec::new();
    rust_files(&workspace_root().join("crates/tokutei-store/src"), &mut files);
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut in_trait = false;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("pub trait ") {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                in_trait = CAPABILITY_TRAITS.contains(&name.as_str());
            } else if line.starts_with('}') {
                in_trait = false;
            } else if in_trait && let Some(rest) = line.trim_start().strip_prefix("fn ") {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                let writes =
                    WRITE_PREFIXES.iter().any(|p| name.starts_with(p)) && !STORE_READS.contains(&name.as_str());
                out.push((name, writes));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn every_store_method_is_classified_as_read_or_write() {
    let unknown: Vec<String> = store_methods()
        .into_iter()
        .filter(|(name, writes)| !writes && !STORE_READS.contains(&name.as_str()))
        .map(|(name, _)| name)
        .collect();
    assert!(
        unknown.is_empty(),
        "store methods neither named as a read in STORE_READS nor starting with a write verb: {unknown:?}"
    );
}

#[test]
fn only_the_application_layer_writes_to_a_store() {
    // The binary and the web call `tokutei-app`, which audits first; they never write to a
    // store or append to the ledger themselves. (The binary's `migrate-store`, `backup` and
    // `restore` move a whole deployment through the snapshot traits, which are not capabilities.)
    // Several application functions share a write's name (`publish_policy`, `erase_subscriber`):
    // a front end holds the application as `app` or `service`, and calls on those are the
    // application's.
    let writes: Vec<String> = store_methods().into_iter().filter(|(_, w)| *w).map(|(n, _)| n).collect();
    let mut found = Vec::new();
    for name in ["tokutei", "tokutei-web"] {
        let mut files = Vec::new();
        rust_files(&workspace_root().join("crates").join(name).join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for (n, line) in code.lines().enumerate() {
                let line = line.split("//").next().unwrap_or("");
                for w in &writes {
                    let call = format!(".{w}(");
                    for (at, _) in line.match_indices(&call) {
                        let receiver: String = line[..at]
                            .chars()
                            .rev()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                            .collect();
                        if !["app", "service"].contains(&receiver.as_str()) {
                            found.push(format!("{}:{}: `{w}` on `{receiver}`", relative(&file), n + 1));
                        }
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "store writes outside tokutei-app (call the application layer):\n{}", found.join("\n"));
}
