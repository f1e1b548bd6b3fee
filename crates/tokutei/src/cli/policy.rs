//! `tokutei init` and `tokutei policy …`: turning policy files into published versions.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use tokutei_app::{Acting, ActionError};
use tokutei_policy::{Lang, Policy, PolicyDigest, check, render};
use tokutei_store::PolicyVersion;

use crate::audit_log::AuditLog;
use crate::backend::Database;
use crate::cli::GlobalArgs;
use crate::data_dir::DataDir;
use crate::output::Report;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Publish this policy file as the first version.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Turn a published policy text into a policy file; text that cannot be placed is
    /// reported with its line and kept under `unplaced`.
    Import {
        /// The published policy text (UTF-8).
        text_file: PathBuf,
        /// Write the policy file here (default: stdout).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Validate a policy file: exit 0 valid, 1 invalid, 2 unreadable.
    Check {
        /// The policy file (TOML).
        file: PathBuf,
    },
    /// Render the public policy page.
    Render {
        /// The policy file (TOML).
        file: PathBuf,
        /// Language of the page.
        #[arg(long, value_enum, default_value = "ja")]
        lang: LangArg,
        /// Output format.
        #[arg(long, value_enum, default_value = "html")]
        format: FormatArg,
    },
    /// Show what changed between two policy files, section by section.
    Diff {
        /// The older policy file.
        old: PathBuf,
        /// The newer policy file.
        new: PathBuf,
        /// Language of the human-readable output.
        #[arg(long, value_enum, default_value = "ja")]
        lang: LangArg,
    },
    /// Print the Cedar policies (or schema) a policy file compiles into, with the
    /// deployment's own Cedar policy files validated against the same schema.
    Cedar {
        /// The policy file (TOML).
        file: PathBuf,
        /// Print the Cedar schema instead of the policies.
        #[arg(long)]
        schema: bool,
        /// A deployment Cedar policy file to validate and include (repeatable).
        #[arg(long = "with", value_name = "CEDAR_FILE")]
        extra: Vec<PathBuf>,
    },
    /// Validate a policy file, check that it compiles for this deployment, and publish it as
    /// a new immutable version (audited as published by `--by`).
    Publish {
        /// The policy file (TOML).
        file: PathBuf,
        /// Who publishes it: a chief manager or responsible person of the staff registry
        /// (checked, and audited as that person). Without it the version is audited as
        /// published by the command line (system actor `cli`), as `policy publish --data DIR
        /// FILE` always was.
        #[arg(long, value_name = "STAFF_ID")]
        by: Option<String>,
    },
    /// Show the active version: purposes, categories, digest.
    Show,
}

pub fn run(global: &GlobalArgs, cmd: PolicyCommand) -> anyhow::Result<Report> {
    match cmd {
        PolicyCommand::Import { text_file, output } => import(&text_file, output.as_deref()),
        PolicyCommand::Check { file } => check(&file),
        PolicyCommand::Render { file, lang, format } => render(&file, lang.into(), format),
        PolicyCommand::Diff { old, new, lang } => diff(&old, &new, lang.into()),
        PolicyCommand::Cedar { file, schema, extra } => crate::cli::gateway::cedar(&file, &extra, schema),
        PolicyCommand::Publish { file, by } => publish(global, &file, by),
        PolicyCommand::Show => show(global),
    }
}

pub fn init(global: &GlobalArgs, args: InitArgs) -> anyhow::Result<Report> {
    let data = global.data_dir();
    // Validate before touching the disk: bad input changes nothing.
    let policy = args.policy.as_deref().map(load_valid).transpose()?;
    if data.is_in_use() {
        bail!("data directory `{}` is already initialised", data.root().display());
    }
    data.create()?;
    // The training the policy promises is required from the start.
    crate::access::write_initial_deployment(&data, policy.as_ref().map(|(_, p)| p))?;
    let store = data.open_or_create_store()?;
    store.ensure_empty()?;
    // Creates the checkpoint signing key and the ledger origin.
    let audit = AuditLog::open_with_store(&data, &store)?;
    let mut human = format!("initialised `{}`\n", data.root().display());
    // The first chief manager: a one-time password and a TOTP secret, printed once.
    // Its TOTP secret is sealed under the vault's key-encryption key (created here if new).
    let app = crate::access::open_service(&data, &store, &audit)?;
    human.push_str(&crate::output::chief_account(&app.set_up_chief("init", jiff::Timestamp::now())?));
    drop(app);
    drop(audit);
    let published = match policy {
        Some((source, _)) => {
            let v = publish_version(&data, &store, Acting::Setup("init"), source, None)?;
            human.push_str(&format!("published policy version {} ({})\n", v.number, v.digest.short()));
            Some(VersionSummary::from(&v))
        }
        None => None,
    };
    Ok(Report::new(human, serde_json::json!({ "data": data.root(), "published": published })))
}

fn publish(global: &GlobalArgs, file: &Path, by: Option<String>) -> anyhow::Result<Report> {
    let source = read_policy_file(file)?;
    let data = global.data_dir();
    let store = data.open_store()?;
    let by = by.map_or(Acting::Setup("cli"), Acting::Person);
    let v = publish_version(&data, &store, by, source, Some(file))?;
    Ok(Report::new(
        format!("published policy version {} ({}), effective {}\n", v.number, v.digest.short(), v.effective),
        VersionSummary::from(&v),
    ))
}

fn show(global: &GlobalArgs) -> anyhow::Result<Report> {
    let store = global.data_dir().open_store()?;
    let Some(version) = store.active_policy(tokutei_policy::tokyo::today())? else {
        bail!("no policy version is in force; publish one with `tokutei policy publish`");
    };
    let policy = tokutei_policy::parse(&version.source)
        .map_err(|e| anyhow::anyhow!("stored policy version {} does not parse: {e}", version.number))?;
    let mut human = format!(
        "policy version {} ({}), effective {}\n{}\n\npurposes:\n",
        version.number,
        version.digest.short(),
        version.effective,
        policy.header.title.ja
    );
    for p in &policy.purposes.list {
        human.push_str(&format!("  {:<24} {:?}  {}\n", p.id, p.consent, p.text.ja));
    }
    human.push_str("categories:\n");
    for c in &policy.categories {
        human.push_str(&format!("  {:<24} {:?}  {}\n", c.id, c.tier, c.name.ja));
    }
    Ok(Report::new(
        human,
        serde_json::json!({
            "version": VersionSummary::from(&version),
            "purposes": policy.purposes.list,
            "categories": policy.categories,
        }),
    ))
}

/// Read and fully validate a policy file; any problem is bad input (exit 2) and every
/// diagnostic is listed with its line and field.
pub(crate) fn load_valid(file: &Path) -> anyhow::Result<(String, Policy)> {
    let source = read_policy_file(file)?;
    let report = check::check(&source);
    match report.policy {
        Some(policy) if report.is_valid() => Ok((source, policy)),
        _ => {
            let lines: Vec<String> = report.errors().map(|d| diagnostic_line(file, d)).collect();
            bail!("policy file `{}` is invalid:\n{}", file.display(), lines.join("\n"))
        }
    }
}

/// Read and parse a policy file without requiring it to be valid (for render and diff).
fn load_parsed(file: &Path) -> anyhow::Result<Policy> {
    let source = read_policy_file(file)?;
    tokutei_policy::parse(&source).map_err(|e| {
        let at = e.position.map(|p| format!("{}:{}:{}: ", file.display(), p.line, p.column)).unwrap_or_default();
        anyhow::anyhow!("{at}{e}")
    })
}

/// `file:line:column: severity[rule]: message (field `x`)`.
pub(super) fn diagnostic_line(file: &Path, d: &check::Diagnostic) -> String {
    let at = match d.position {
        Some(p) => format!("{}:{}:{}", file.display(), p.line, p.column),
        None => file.display().to_string(),
    };
    let severity = match d.severity {
        check::Severity::Error => "error",
        check::Severity::Warning => "warning",
    };
    let help = d.help.as_deref().map(|h| format!("\n    help: {h}")).unwrap_or_default();
    format!("{at}: {severity}[{}]: {} (field `{}`){help}", d.rule, d.message, d.field)
}

fn import(text_file: &Path, output: Option<&Path>) -> anyhow::Result<Report> {
    let bytes = std::fs::read(text_file).with_context(|| format!("cannot read `{}`", text_file.display()))?;
    let text = decode_text(text_file, bytes)?;
    let imported = tokutei_policy::import::import(&text).map_err(|e| match e.line {
        Some(line) => anyhow::anyhow!("{}:{line}: {}", text_file.display(), e.message),
        None => anyhow::anyhow!("{}: {}", text_file.display(), e.message),
    })?;
    let toml = tokutei_policy::to_toml(&imported.policy);
    let mut human = String::new();
    for w in &imported.warnings {
        human.push_str(&format!("{}:{}: warning: {}\n", text_file.display(), w.line, w.message));
    }
    match output {
        Some(path) => {
            std::fs::write(path, &toml).with_context(|| format!("cannot write `{}`", path.display()))?;
            human.push_str(&format!(
                "wrote `{}`: {} purposes, {} categories, {} foreign rows, {} unplaced lines\n",
                path.display(),
                imported.policy.purposes.list.len(),
                imported.policy.categories.len(),
                imported.policy.foreign.entries.len(),
                imported.policy.unplaced.len()
            ));
        }
        None => {
            eprint!("{human}");
            human = toml.clone();
        }
    }
    let warnings: Vec<serde_json::Value> = imported
        .warnings
        .iter()
        .enumerate()
        .map(|(i, w)| serde_json::json!({ "id": i + 1, "line": w.line, "message": w.message }))
        .collect();
    Ok(Report::new(
        human,
        serde_json::json!({
            "output": output,
            "policy": if output.is_none() { Some(&imported.policy) } else { None },
            "warnings": warnings,
            "unplaced": imported.policy.unplaced.iter().map(|u| serde_json::json!({ "id": u.line, "line": u.line, "text": u.text })).collect::<Vec<_>>(),
        }),
    ))
}

/// Policy texts must be UTF-8 (with or without BOM). Shift_JIS and other encodings are
/// named so the user knows what to convert.
pub(super) fn decode_text(file: &Path, bytes: Vec<u8>) -> anyhow::Result<String> {
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..offset].iter().filter(|b| **b == b'\n').count() + 1;
        anyhow::anyhow!(
            "{}:{line}: the file is not UTF-8 (invalid byte at offset {offset}); if it is Shift_JIS, convert it with `iconv -f SHIFT_JIS -t UTF-8`",
            file.display()
        )
    })
}

fn check(file: &Path) -> anyhow::Result<Report> {
    let source = read_policy_file(file)?;
    let report = check::check(&source);
    let mut human = String::new();
    for d in &report.diagnostics {
        human.push_str(&diagnostic_line(file, d));
        human.push('\n');
    }
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    if report.is_valid() {
        let digest = report.policy.as_ref().map(PolicyDigest::of);
        human.push_str(&format!(
            "`{}` is valid ({} warnings){}\n",
            file.display(),
            warnings,
            digest.as_ref().map(|d| format!(", digest {}", d.short())).unwrap_or_default()
        ));
    } else {
        human.push_str(&format!("`{}` is invalid: {errors} errors, {warnings} warnings\n", file.display()));
    }
    let diagnostics: Vec<serde_json::Value> = report
        .diagnostics
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut v = serde_json::to_value(d).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("id".into(), serde_json::json!(i + 1));
                obj.insert("file".into(), serde_json::json!(file));
            }
            v
        })
        .collect();
    let valid = report.is_valid();
    Ok(Report::new(
        human,
        serde_json::json!({
            "file": file,
            "valid": valid,
            "errors": errors,
            "warnings": warnings,
            "digest": report.policy.as_ref().filter(|_| valid).map(|p| PolicyDigest::of(p).0),
            "diagnostics": diagnostics,
        }),
    )
    .passed_if(valid))
}

fn render(file: &Path, lang: Lang, format: FormatArg) -> anyhow::Result<Report> {
    let policy = load_parsed(file)?;
    let today = tokutei_policy::tokyo::today();
    let doc = render::document(&policy, lang, &[], today);
    let out = match format {
        FormatArg::Text => render::text(&doc),
        FormatArg::Html => tokutei_web::standalone_policy_page(&doc),
    };
    Ok(Report::new(out.clone(), serde_json::json!({ "lang": lang, "format": format, "document": doc, "output": out })))
}

fn diff(old: &Path, new: &Path, lang: Lang) -> anyhow::Result<Report> {
    let old_policy = load_parsed(old)?;
    let new_policy = load_parsed(new)?;
    let diff = tokutei_policy::diff::diff(&old_policy, &new_policy);
    let human = if diff.is_empty() { "no differences\n".to_string() } else { diff.human(lang) };
    Ok(Report::new(human, &diff))
}

#[derive(Debug, Clone, Copy, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LangArg {
    Ja,
    En,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::Ja => Lang::Ja,
            LangArg::En => Lang::En,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatArg {
    Html,
    Text,
}

fn read_policy_file(file: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read policy file `{}`", file.display()))?;
    decode_text(file, bytes)
}

/// Publish `source` through the application layer (checks, compile check against this
/// deployment, audit entry, then the version); a file that cannot be published is shown with
/// every diagnostic, by line and field of `file` when it came from one.
fn publish_version(
    data: &DataDir,
    store: &Database,
    by: Acting,
    source: String,
    file: Option<&Path>,
) -> anyhow::Result<PolicyVersion> {
    let audit = AuditLog::open_with_store(data, store)?;
    let service = crate::access::open_service(data, store, &audit)?;
    match service.publish_policy(&by, source, None, jiff::Timestamp::now()) {
        Ok(version) => Ok(version),
        Err(ActionError::Unpublishable(preview)) => {
            let name = file.map_or_else(|| Path::new("policy").to_path_buf(), Path::to_path_buf);
            let mut lines: Vec<String> = preview.report.errors().map(|d| diagnostic_line(&name, d)).collect();
            if let Some(problem) = &preview.compile_problem {
                lines.push(format!(
                    "{}: does not compile into access rules for this deployment: {problem}",
                    name.display()
                ));
            }
            bail!("policy file `{}` is invalid and cannot be published:\n{}", name.display(), lines.join("\n"))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Serialize)]
struct VersionSummary {
    id: u32,
    number: u32,
    digest: String,
    effective: String,
    published_by: String,
    published_at: String,
}

impl From<&PolicyVersion> for VersionSummary {
    fn from(v: &PolicyVersion) -> VersionSummary {
        VersionSummary {
            id: v.number,
            number: v.number,
            digest: v.digest.0.clone(),
            effective: v.effective.to_string(),
            published_by: v.published_by.clone(),
            published_at: v.published_at.to_string(),
        }
    }
}
