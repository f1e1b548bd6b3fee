//! The Nu HTML Checker (`vnu.jar` from the `vnu-jar` npm package, installed by `cargo xtask
//! provision` under `~/.cache/tokutei/`) run with the machine's Java: one JVM checks every
//! page, and each error comes back as "page:line: message".

use std::path::PathBuf;
use std::process::Command;

/// The checker's jar: `$TOKUTEI_VNU_JAR`, or the newest one provisioning installed.
pub fn jar() -> PathBuf {
    if let Some(path) = std::env::var_os("TOKUTEI_VNU_JAR").map(PathBuf::from) {
        assert!(path.exists(), "TOKUTEI_VNU_JAR names `{}`, which does not exist", path.display());
        return path;
    }
    let cache = PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/tokutei");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&cache)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vnu-jar-")))
        .map(|p| p.join("node_modules/vnu-jar/build/dist/vnu.jar"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "the Nu HTML Checker is not installed (no `{}/vnu-jar-*/node_modules/vnu-jar/build/dist/vnu.jar`): run `cargo xtask provision`",
            cache.display()
        )
    })
}

/// Fail now, before anything starts, when the checker or Java is missing.
pub fn require_tools() {
    jar();
    let java = Command::new("java").arg("-version").output();
    assert!(
        java.is_ok_and(|o| o.status.success()),
        "`java` does not run: the HTML validator needs a Java runtime; run `cargo xtask provision`"
    );
}

/// Check each `(name, html)` page; every error as "name:line: message".
pub fn validate(pages: &[(String, String)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = pages
        .iter()
        .map(|(name, html)| {
            let file = dir.path().join(format!("{name}.html"));
            std::fs::write(&file, html).unwrap();
            file
        })
        .collect();
    let output = Command::new("java")
        .arg("-jar")
        .arg(jar())
        .args(["--format", "json", "--exit-zero-always"])
        .args(&files)
        .output()
        .expect("java runs the Nu HTML Checker");
    // The checker reports on stderr.
    let report: serde_json::Value = serde_json::from_slice(&output.stderr).unwrap_or_else(|e| {
        panic!("the Nu HTML Checker did not answer JSON ({e}):\n{}", String::from_utf8_lossy(&output.stderr))
    });
    let mut errors = Vec::new();
    for m in report["messages"].as_array().into_iter().flatten() {
        if m["type"] == "info" {
            continue;
        }
        let page = m["url"].as_str().unwrap_or_default();
        let page = page.rsplit('/').next().unwrap_or(page).trim_end_matches(".html");
        let line = m["lastLine"].as_u64().map(|l| l.to_string()).unwrap_or_else(|| "?".into());
        let text = m["message"].as_str().unwrap_or_default();
        let extract = m["extract"].as_str().unwrap_or_default().replace('\n', " ");
        errors.push(format!("{page}:{line}: {text} [{extract}]"));
    }
    errors
}
