//! `tokutei settings …`: the privacy office's settings (deadlines, session and sign-in limits,
//! rate limits, the public contact) — list them, or change some with `--by` (a manager), the
//! same application function the console's settings page calls.

use anyhow::bail;
use clap::Subcommand;
use tokutei_app::Acting;
use tokutei_app::settings::{FIELDS, Kind, Settings};

use crate::audit_log::AuditLog;
use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Every setting with its value in force, bounds and default.
    List,
    /// Change settings: `KEY=VALUE` (repeatable). Nothing changes unless every value is valid.
    Set {
        /// `KEY=VALUE`, e.g. `inquiry_deadline_days=21`.
        #[arg(required = true, value_name = "KEY=VALUE")]
        values: Vec<String>,
        /// Who changes them: a chief manager or responsible person of the staff registry.
        #[arg(long, value_name = "STAFF_ID")]
        by: String,
    },
}

pub fn run(global: &GlobalArgs, cmd: SettingsCommand) -> anyhow::Result<Report> {
    let overrides = match &cmd {
        SettingsCommand::Set { values, .. } => parse_pairs(values)?,
        SettingsCommand::List => Vec::new(),
    };
    let data = global.data_dir();
    let store = data.open_store()?;
    let current = Settings::load(&*store)?;
    match cmd {
        SettingsCommand::List => {
            let mut human = String::new();
            let mut json = Vec::new();
            for f in FIELDS {
                let value = current.value(f.key);
                let bounds = match f.kind {
                    Kind::Number { min, max, default, unit_ja, unit_en } => {
                        format!("{min}–{max} {unit_ja} / {unit_en}, default {default}")
                    }
                    Kind::Text { max } => format!("text, at most {max} characters"),
                };
                human.push_str(&format!("{:<24} {:<12} {} / {}  ({bounds})\n", f.key, value, f.ja, f.en));
                json.push(serde_json::json!({ "id": f.key, "value": value, "ja": f.ja, "en": f.en }));
            }
            Ok(Report::new(human, json))
        }
        SettingsCommand::Set { by, .. } => {
            let form = match tokutei_app::settings::form_with(&current, &overrides) {
                Ok(form) => form,
                Err(problems) => bail!("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")),
            };
            let audit = AuditLog::open_with_store(&data, &store)?;
            let changed = tokutei_app::settings::change_settings(
                &*store,
                audit.ledger(),
                &Acting::Person(by),
                &form,
                jiff::Timestamp::now(),
            )?;
            let changes = match changed {
                Ok(changes) => changes,
                Err(problems) => bail!("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")),
            };
            let human: String = if changes.is_empty() {
                "no setting changed\n".to_string()
            } else {
                changes.iter().map(|(key, old, new)| format!("{key}: {old} → {new}\n")).collect()
            };
            let json: Vec<serde_json::Value> = changes
                .iter()
                .map(|(key, old, new)| serde_json::json!({ "id": key, "from": old, "to": new }))
                .collect();
            Ok(Report::new(human, json))
        }
    }
}

/// `KEY=VALUE` pairs, each named by its position when malformed.
fn parse_pairs(values: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    values
        .iter()
        .enumerate()
        .map(|(n, pair)| match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_string(), value.to_string())),
            _ => bail!("value {}: write KEY=VALUE", n + 1),
        })
        .collect()
}
