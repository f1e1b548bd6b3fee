//! What a command hands back, and how it reaches the terminal: human text on stdout, or with
//! `--json` exactly one JSON document on stdout. Errors go to stderr (and, with `--json`, also
//! as a JSON document on stdout so scripts always get one).

use std::process::ExitCode;

use serde::Serialize;

/// The result of a command that ran.
#[derive(Debug)]
pub struct Report {
    /// What a person reads.
    pub human: String,
    /// What a script reads (`--json`).
    pub json: serde_json::Value,
    /// Whether the thing checked passed; a failed check exits 1.
    pub passed: bool,
}

impl Report {
    pub fn new(human: impl Into<String>, json: impl Serialize) -> Report {
        Report {
            human: human.into(),
            // INVARIANT: report payloads are plain data types that always serialise.
            json: serde_json::to_value(json).expect("report serialises to JSON"),
            passed: true,
        }
    }

    pub fn failed(mut self) -> Report {
        self.passed = false;
        self
    }

    pub fn passed_if(mut self, ok: bool) -> Report {
        self.passed = ok;
        self
    }
}

/// A document the command shows: printed, or written to `output` (the report then says where);
/// `--json` gives `json` either way.
pub fn document(text: String, output: Option<&std::path::Path>, json: serde_json::Value) -> anyhow::Result<Report> {
    use anyhow::Context as _;
    match output {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("cannot write `{}`", path.display()))?;
            Ok(Report::new(format!("{} を書き出しました / written to {}\n", path.display(), path.display()), json))
        }
        None => Ok(Report::new(text, json)),
    }
}

/// Write `text` to stdout. A reader that went away (`tokutei subscribers list | head`) is not
/// an error of the command: the rest of the output is dropped quietly.
fn out(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

pub fn print_report(report: &Report, json: bool) -> ExitCode {
    if json {
        out(&format!("{}\n", serde_json::to_string_pretty(&report.json).unwrap_or_default()));
    } else if !report.human.is_empty() {
        out(&report.human);
        if !report.human.ends_with('\n') {
            out("\n");
        }
    }
    if report.passed { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

pub fn print_error(err: &anyhow::Error, json: bool) -> ExitCode {
    let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
    eprintln!("error: {}", chain.join(": "));
    if json {
        let mut doc = serde_json::json!({ "error": { "message": chain.join(": ") } });
        // An import that stopped part-way says exactly what it committed.
        if let Some(failed) = err.chain().find_map(|e| match e.downcast_ref::<tokutei_app::import::ImportError>() {
            Some(tokutei_app::import::ImportError::Failed(failed)) => Some(failed),
            _ => None,
        }) {
            doc["error"]["detail"] = failed.detail();
        }
        out(&format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default()));
    }
    ExitCode::from(2)
}

/// The first chief manager's console account, as `init` and `demo` print it once.
pub fn chief_account(chief: &tokutei_app::staff::ChiefSetup) -> String {
    format!(
        "console account (shown once; sign in at /admin/login):\n  id: {} (統括管理者 / chief manager)\n  one-time password: {}\n  authenticator (TOTP) secret: {}\n  {}\n",
        chief.principal.id,
        chief.password.as_str(),
        chief.totp.secret.as_str(),
        chief.totp.uri.as_str()
    )
}

/// A one-time link to a subscriber's page (`portal link`, `consent link`): the URL first, then
/// until when it works in Tokyo; `--json`: `url`, `expires_at`.
pub fn link_report(link: &tokutei_app::portal::IssuedLink) -> Report {
    let human = format!(
        "{}\n  一度だけ、{} まで使えます / works once, until {}\n",
        link.url,
        tokutei_policy::tokyo::minutes(link.expires_at),
        link.expires_at
    );
    Report::new(human, serde_json::json!({ "url": link.url, "expires_at": link.expires_at }))
}
