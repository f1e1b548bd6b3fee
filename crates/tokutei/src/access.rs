//! Opening the access service of a data directory: the deployment settings
//! (`deployment.toml`: handling zones required, required training courses, and the
//! `[incidents]` table of the leak-reporting rules — deadlines, recipients, report items,
//! `tokutei_app::incidents::rules`), the deployment's
//! own Cedar policies (`cedar/*.cedar`, validated against the generated schema when the
//! service compiles the active policy), the keyring as the service's key access, and the
//! audit ledger.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokutei_app::App;
use tokutei_app::incidents::rules::{IncidentConfig, IncidentRules};
use tokutei_gateway::Deployment;

use crate::audit_log::AuditLog;
use crate::backend::Database;
use crate::data_dir::DataDir;
use crate::keyring::Keyring;

/// The deployment settings file, in the data directory.
pub const DEPLOYMENT_FILE: &str = "deployment.toml";
/// The folder of the deployment's own Cedar policies, in the data directory.
pub const CEDAR_DIR: &str = "cedar";

/// `deployment.toml` as written: the gateway's settings and the `[incidents]` table.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DeploymentFile {
    #[serde(default)]
    zones_required: bool,
    #[serde(default)]
    required_training: Vec<String>,
    #[serde(default)]
    incidents: IncidentConfig,
}

fn deployment_file(data: &DataDir) -> anyhow::Result<DeploymentFile> {
    let path = data.root().join(DEPLOYMENT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DeploymentFile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// The deployment settings (defaults when the file is absent). Unknown keys are refused
/// with their line.
pub fn deployment(data: &DataDir) -> anyhow::Result<Deployment> {
    let file = deployment_file(data)?;
    Ok(Deployment { zones_required: file.zones_required, required_training: file.required_training })
}

/// The deployment's incident rules: its `[incidents]` table over the defaults, each value
/// checked (an unknown key is refused with its line, a wrong value naming its key).
pub fn incident_rules(data: &DataDir) -> anyhow::Result<IncidentRules> {
    let file = deployment_file(data)?;
    IncidentRules::from_config(&file.incidents)
        .map_err(|e| anyhow::anyhow!("`{}`: {e}", data.root().join(DEPLOYMENT_FILE).display()))
}

/// The deployment's Cedar policy files, `(file name, text)` in name order (the file name
/// prefixes the ids of its policies).
pub fn extra_cedar(data: &DataDir) -> anyhow::Result<Vec<(String, String)>> {
    read_cedar_dir(&data.root().join(CEDAR_DIR))
}

fn read_cedar_dir(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "cedar") {
            let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            out.push((name, text));
        }
    }
    out.sort();
    Ok(out)
}

/// The access service of `data` on `store`, auditing into `audit`'s ledger.
pub fn open_service(data: &DataDir, store: &Database, audit: &AuditLog) -> anyhow::Result<App> {
    let keyring = Keyring::open_or_create(data)?;
    Ok(App::new(store.store(), audit.shared_ledger(), Arc::new(keyring), deployment(data)?, extra_cedar(data)?)
        .with_incident_rules(incident_rules(data)?))
}
