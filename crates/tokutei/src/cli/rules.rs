//! `tokutei rules …`: the 情報取扱規程 (information handling rules, 27条の6) — check a rules
//! file, draft one from the policy in force, register a version, list and show the versions
//! (never-filed ones flagged; `--format html` the printable document) and record a version's
//! filing with the ministry. Each change is one `tokutei_app::oversight::rules` function.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use jiff::Timestamp;
use tokutei_app::oversight::rules::{RulesFilingInput, RulesVersionView};
use tokutei_app::{Acting, PrincipalId};
use tokutei_policy::check::{Severity, check_rules};
use tokutei_policy::rules::{RulesDigest, draft, rules_to_toml};
use tokutei_policy::{Date, Lang, tokyo};

use super::oversight::{open, parse_date};
use super::policy::{decode_text, diagnostic_line};
use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Check a rules file: a section for each of the seven measures, each with an owner role and a text.
    Check {
        /// The rules file (TOML).
        file: PathBuf,
    },
    /// Print a first draft from the policy in force: one section per security measure, to write out.
    Draft {
        /// The enactment and effective date of the draft (YYYY-MM-DD); today in Tokyo when left out.
        #[arg(long, value_name = "DATE", value_parser = parse_date)]
        on: Option<Date>,
    },
    /// Register a version from a rules file that passes the check.
    Register(RegisterArgs),
    /// Every version: effective date, digest, in force, filed or never filed.
    List,
    /// One version: its sections and filings; `--format html` the printable document.
    Show(ShowArgs),
    /// Record the filing of a version with the ministry (27条の6); the first meets the designation's deadline.
    Filed(FiledArgs),
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The rules file (TOML).
    file: PathBuf,
    /// Who registers it: a chief manager or responsible person.
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

/// How a version is shown.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RulesFormat {
    /// A summary, Japanese first.
    Text,
    /// The rules file as registered, exactly.
    Toml,
    /// The printable document (Japanese).
    Html,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The version number.
    #[arg(value_name = "VERSION")]
    number: u32,
    #[arg(long, value_enum, default_value = "text")]
    format: RulesFormat,
    /// Write the document to this file instead of printing it.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FiledArgs {
    /// The version filed.
    #[arg(value_name = "VERSION")]
    number: u32,
    /// The filing date (YYYY-MM-DD, Tokyo).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    date: Date,
    /// The ministry's receipt number or the office's file reference.
    #[arg(long, value_name = "REF")]
    reference: String,
    /// Who records it: a chief manager or responsible person.
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

fn read_rules(file: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read rules file `{}`", file.display()))?;
    decode_text(file, bytes)
}

fn check(file: &Path) -> anyhow::Result<Report> {
    let source = read_rules(file)?;
    let report = check_rules(&source);
    let mut human: String = report.diagnostics.iter().map(|d| diagnostic_line(file, d) + "\n").collect();
    let valid = report.is_valid();
    let errors = report.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    if valid {
        human.push_str(&format!(
            "`{}` は規程として有効です（{} 章） / `{}` is valid ({} sections), digest {}\n",
            file.display(),
            report.rules.as_ref().map_or(0, |r| r.sections.len()),
            file.display(),
            report.rules.as_ref().map_or(0, |r| r.sections.len()),
            RulesDigest::of(&source).short()
        ));
    } else {
        human.push_str(&format!(
            "`{}` は規程として無効です（エラー {errors} 件） / `{}` is invalid: {errors} errors\n",
            file.display(),
            file.display()
        ));
    }
    Ok(Report::new(
        human,
        serde_json::json!({
            "file": file,
            "valid": valid,
            "errors": errors,
            "digest": valid.then(|| RulesDigest::of(&source).0),
            "diagnostics": report.diagnostics,
        }),
    )
    .passed_if(valid))
}

fn version_line(v: &RulesVersionView) -> String {
    let flags = [v.in_force.then_some("施行中 in force"), (!v.filed()).then_some("未届出 never filed")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("・");
    let filed = v
        .filings
        .iter()
        .map(|f| format!("{}（{}）", f.filing.filed_on, f.filing.reference))
        .collect::<Vec<_>>()
        .join("、");
    format!(
        "第{}版  施行 {}  {}  {}{}{}\n",
        v.stored.version,
        v.stored.effective,
        v.digest().short(),
        v.rules.title(Lang::Ja),
        if flags.is_empty() { String::new() } else { format!("  [{flags}]") },
        if filed.is_empty() { String::new() } else { format!("  届出 filed: {filed}") }
    )
}

fn version_text(v: &RulesVersionView) -> String {
    let mut out = version_line(v);
    out.push_str(&format!(
        "制定 enacted {}、登録 registered {}（{}）、digest {}\n",
        v.rules.enacted,
        tokyo::minutes(v.stored.registered_at),
        v.stored.registered_by,
        v.stored.digest
    ));
    for (i, s) in v.rules.sections.iter().enumerate() {
        out.push_str(&format!(
            "  {}. {}  — {} / {}  責任 owner: {}\n",
            i + 1,
            s.title.ja,
            s.measure.label(Lang::Ja),
            s.measure.label(Lang::En),
            s.owner.map_or("—", |r| r.label(Lang::Ja))
        ));
    }
    out
}

pub fn run(global: &GlobalArgs, cmd: RulesCommand) -> anyhow::Result<Report> {
    let now = Timestamp::now();
    match cmd {
        RulesCommand::Check { file } => check(&file),
        RulesCommand::Draft { on } => {
            let app = open(global)?;
            let (_, policy) = app
                .active_policy(now)?
                .ok_or_else(|| anyhow::anyhow!("no policy version is in force; publish one first"))?;
            let text = rules_to_toml(&draft(&policy, on.unwrap_or_else(|| tokyo::date_of(now))));
            Ok(Report::new(text.clone(), serde_json::json!({ "source": text })))
        }
        RulesCommand::Register(args) => {
            let by = PrincipalId::parse_as("by", args.by)?;
            let source = read_rules(&args.file)?;
            let app = open(global)?;
            let done = app.register_rules(&Acting::Person(by.into_string()), &source, now)?;
            let mut human = format!(
                "情報取扱規程 第{}版を登録しました（{}） / rules version {} registered ({})\n",
                done.version,
                done.digest.short(),
                done.version,
                done.digest.short()
            );
            for w in &done.warnings {
                human.push_str(&format!("warning: {w}\n"));
            }
            Ok(Report::new(
                human,
                serde_json::json!({ "version": done.version, "digest": done.digest.0,
                    "audit_index": done.audit_index, "warnings": done.warnings }),
            ))
        }
        RulesCommand::List => {
            let app = open(global)?;
            let all = app.rules_versions(now)?;
            let human = if all.is_empty() {
                "情報取扱規程は登録されていません / no rules version is registered\n".to_string()
            } else {
                all.iter().map(version_line).collect()
            };
            Ok(Report::new(human, all.iter().map(RulesVersionView::to_json).collect::<Vec<_>>()))
        }
        RulesCommand::Show(args) => {
            let app = open(global)?;
            let v = app.rules_version(args.number, now)?;
            let text = match args.format {
                RulesFormat::Text => version_text(&v),
                RulesFormat::Toml => v.stored.source.clone(),
                RulesFormat::Html => {
                    let names = app.stores().principals()?.into_iter().map(|p| (p.id, p.display_name)).collect();
                    tokutei_web::standalone_rules_page(&v, &names)
                }
            };
            crate::output::document(text, args.output.as_deref(), v.to_json())
        }
        RulesCommand::Filed(args) => {
            let by = PrincipalId::parse_as("by", args.by)?;
            let app = open(global)?;
            let input = RulesFilingInput { version: args.number, filed_on: args.date, reference: args.reference };
            let done = app.record_rules_filing(&Acting::Person(by.into_string()), &input, now)?;
            Ok(Report::new(
                format!(
                    "情報取扱規程 第{}版の届出を記録しました（{}） / filing of rules version {} recorded (#{})\n",
                    input.version,
                    input.filed_on.ja(),
                    input.version,
                    done.number
                ),
                serde_json::json!({ "number": done.number, "version": input.version,
                    "filed_on": input.filed_on.to_string(), "reference": input.reference,
                    "audit_index": done.audit_index }),
            ))
        }
    }
}
