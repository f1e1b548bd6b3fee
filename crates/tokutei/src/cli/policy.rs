//! `tokutei init` and `tokutei policy …`: turning policy files into published versions.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use tokutei_policy::{Policy, PolicyDigest};
use tokutei_store::{NewPolicyVersion, PolicyStore, PolicyVersion};

use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Publish this policy file as the first version.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file and publish it as a new immutable version.
    Publish {
        /// The policy file (TOML).
        file: PathBuf,
    },
    /// Show the active version: purposes, categories, digest.
    Show,
}

pub fn run(global: &GlobalArgs, cmd: PolicyCommand) -> anyhow::Result<Report> {
    match cmd {
        PolicyCommand::Publish { file } => publish(global, &file),
        PolicyCommand::Show => show(global),
    }
}

pub fn init(global: &GlobalArgs, args: InitArgs) -> anyhow::Result<Report> {
    let data = global.data_dir();
    // Validate before touching the disk: bad input changes nothing.
    let policy = args.policy.as_deref().map(load_valid).transpose()?;
    if data.is_initialised() {
        bail!("data directory `{}` is already initialised", data.root().display());
    }
    data.create()?;
    let store = data.open_or_create_store()?;
    let mut human = format!("initialised `{}`\n", data.root().display());
    let published = match policy {
        Some((source, policy)) => {
            let v = store_version(&store, source, &policy, "system")?;
            human.push_str(&format!("published policy version {} ({})\n", v.number, v.digest.short()));
            Some(VersionSummary::from(&v))
        }
        None => None,
    };
    Ok(Report::new(human, serde_json::json!({ "data": data.root(), "published": published })))
}

fn publish(global: &GlobalArgs, file: &Path) -> anyhow::Result<Report> {
    let (source, policy) = load_valid(file)?;
    let store = global.data_dir().open_store()?;
    let v = store_version(&store, source, &policy, "cli")?;
    Ok(Report::new(
        format!("published policy version {} ({}), effective {}\n", v.number, v.digest.short(), v.effective),
        VersionSummary::from(&v),
    ))
}

fn show(global: &GlobalArgs) -> anyhow::Result<Report> {
    let store = global.data_dir().open_store()?;
    let Some(version) = store.active_policy(today())? else {
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

/// Read and fully validate a policy file; any problem is bad input (exit 2).
pub fn load_valid(file: &Path) -> anyhow::Result<(String, Policy)> {
    let source = read_policy_file(file)?;
    let policy = tokutei_policy::parse(&source).map_err(|e| {
        let at = e.position.map(|p| format!("{}:{}:{}: ", file.display(), p.line, p.column)).unwrap_or_default();
        anyhow::anyhow!("{at}{e}")
    })?;
    Ok((source, policy))
}

fn read_policy_file(file: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read policy file `{}`", file.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "policy file `{}` is not UTF-8 (invalid byte at offset {})",
            file.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

fn store_version(store: &impl PolicyStore, source: String, policy: &Policy, by: &str) -> anyhow::Result<PolicyVersion> {
    let version = store.publish_policy(NewPolicyVersion {
        digest: PolicyDigest::of(policy),
        source,
        effective: policy.effective_date(),
        published_by: by.to_string(),
        published_at: jiff::Timestamp::now(),
    })?;
    Ok(version)
}

/// Today in Asia/Tokyo.
pub fn today() -> tokutei_policy::Date {
    let zone = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap_or(jiff::tz::TimeZone::UTC);
    tokutei_policy::Date(jiff::Timestamp::now().to_zoned(zone).date())
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
