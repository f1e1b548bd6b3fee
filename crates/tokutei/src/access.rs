//! Opening the access service of a data directory: the deployment settings
//! (`deployment.toml`: handling zones required, required training courses, the
//! `[training]` catalogue, `tokutei_app::oversight::training` — the
//! `[incidents]` table of the leak-reporting rules — deadlines, recipients, report items,
//! `[witnesses]`, the witnesses that cosign checkpoints and their quorum, `[portal]`, the
//! subscriber's page's address and link and session lifetimes, `[zones]`, the longest stay in
//! a handling zone (`tokutei_app::zones`),
//! `tokutei_app::incidents::rules` — `[alerts]`: where alerts go, with the webhook's
//! secret file — and `[oversight]`: the designation's deadline in months, the chief manager's
//! notification and the opinions' response days, `tokutei_app::oversight`), the deployment's
//! own Cedar policies (`cedar/*.cedar`, validated against the generated schema when the
//! service compiles the active policy), the keyring as the service's key access, and the
//! audit ledger.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokutei_app::App;
use tokutei_app::alerts::AlertConfig;
use tokutei_app::incidents::rules::{IncidentConfig, IncidentRules};
use tokutei_app::oversight::training::{TrainingConfig, TrainingRules};
use tokutei_app::oversight::{OversightConfig, OversightRules};
use tokutei_gateway::Deployment;

use crate::audit_log::AuditLog;
use crate::backend::Database;
use crate::data_dir::DataDir;
use crate::keyring::Keyring;

/// The deployment settings file, in the data directory.
pub const DEPLOYMENT_FILE: &str = "deployment.toml";
/// The folder of the deployment's own Cedar policies, in the data directory.
pub const CEDAR_DIR: &str = "cedar";

/// `deployment.toml` as a whole: the gateway's switches at the top level, and the tables of
/// other concerns (`[incidents]`: the leak-reporting rules, `tokutei_app::incidents::rules`;
/// `[alerts]`: where alerts go, `tokutei_app::alerts::config`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DeploymentFile {
    #[serde(default)]
    zones_required: bool,
    #[serde(default)]
    required_training: Vec<String>,
    #[serde(default)]
    incidents: IncidentConfig,
    #[serde(default)]
    alerts: AlertConfig,
    #[serde(default)]
    oversight: OversightConfig,
    #[serde(default)]
    requests: tokutei_app::requests::RequestConfig,
    #[serde(default)]
    training: TrainingConfig,
    #[serde(default)]
    witnesses: tokutei_app::witnessing::WitnessConfig,
    #[serde(default)]
    portal: tokutei_app::portal::PortalConfig,
    #[serde(default)]
    zones: tokutei_app::zones::ZoneConfig,
}

/// The deployment file (defaults when it is absent). Unknown keys are refused with their line.
fn deployment_file(data: &DataDir) -> anyhow::Result<DeploymentFile> {
    let path = data.root().join(DEPLOYMENT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| anyhow::anyhow!("`{}`: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DeploymentFile::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// The deployment settings of the gateway (defaults when the file is absent): the zones
/// switch and the training catalogue's required courses.
pub fn deployment(data: &DataDir) -> anyhow::Result<Deployment> {
    let file = deployment_file(data)?;
    Ok(training_rules(data)?.gateway(file.zones_required))
}

/// The deployment's training catalogue: its `[training]` table, with the older top-level
/// `required_training` list's other courses, each value checked naming its key.
pub fn training_rules(data: &DataDir) -> anyhow::Result<TrainingRules> {
    let file = deployment_file(data)?;
    TrainingRules::from_config(&file.training, &file.required_training)
        .map_err(|e| anyhow::anyhow!("`{}`: {e}", data.root().join(DEPLOYMENT_FILE).display()))
}

/// Write the deployment file `init` and `demo` start with (the training the policy promises,
/// `tokutei_app::oversight::training::deployment_toml`), unless one is there already.
pub fn write_initial_deployment(data: &DataDir, policy: Option<&tokutei_policy::Policy>) -> anyhow::Result<()> {
    let path = data.root().join(DEPLOYMENT_FILE);
    if path.exists() {
        return Ok(());
    }
    let text = tokutei_app::oversight::training::deployment_toml(policy);
    std::fs::write(&path, text).with_context(|| format!("cannot write `{}`", path.display()))
}

/// The deployment's incident rules: its `[incidents]` table over the defaults, each value
/// checked (an unknown key is refused with its line, a wrong value naming its key).
pub fn incident_rules(data: &DataDir) -> anyhow::Result<IncidentRules> {
    let file = deployment_file(data)?;
    IncidentRules::from_config(&file.incidents)
        .map_err(|e| anyhow::anyhow!("`{}`: {e}", data.root().join(DEPLOYMENT_FILE).display()))
}

/// The deployment's oversight rules: its `[oversight]` table over the defaults, each value
/// checked naming its key.
pub fn oversight_rules(data: &DataDir) -> anyhow::Result<OversightRules> {
    let file = deployment_file(data)?;
    OversightRules::from_config(&file.oversight)
        .map_err(|e| anyhow::anyhow!("`{}`: {e}", data.root().join(DEPLOYMENT_FILE).display()))
}

/// The deployment's data-subject request rules: its `[requests]` table over the defaults,
/// each value checked naming its key.
pub fn request_rules(data: &DataDir) -> anyhow::Result<tokutei_app::requests::RequestRules> {
    let file = deployment_file(data)?;
    tokutei_app::requests::RequestRules::from_config(&file.requests)
        .map_err(|e| anyhow::anyhow!("`{}`: {e}", data.root().join(DEPLOYMENT_FILE).display()))
}

/// The witnesses the deployment asks to cosign its checkpoints: its `[witnesses]` table (none
/// when absent), each value checked naming its key.
pub fn witness_rules(data: &DataDir) -> anyhow::Result<tokutei_app::witnessing::WitnessRules> {
    let file = deployment_file(data)?;
    tokutei_app::witnessing::WitnessRules::from_config(&file.witnesses)
        .map_err(|e| anyhow::anyhow!("`{}`: {e}", data.root().join(DEPLOYMENT_FILE).display()))
}

/// The subscriber's page: its `[portal]` table over the defaults, each value checked naming
/// its key.
pub fn portal_rules(data: &DataDir) -> anyhow::Result<tokutei_app::portal::PortalRules> {
    let file = deployment_file(data)?;
    tokutei_app::portal::PortalRules::from_config(&file.portal)
        .map_err(|e| anyhow::anyhow!("`{}`: {e}", data.root().join(DEPLOYMENT_FILE).display()))
}

/// The handling zones' rules: its `[zones]` table over the defaults, each value checked
/// naming its key.
pub fn zone_rules(data: &DataDir) -> anyhow::Result<tokutei_app::zones::ZoneRules> {
    let file = deployment_file(data)?;
    tokutei_app::zones::ZoneRules::from_config(&file.zones)
        .map_err(|e| anyhow::anyhow!("`{}`: {e}", data.root().join(DEPLOYMENT_FILE).display()))
}

/// The deployment's `[alerts]` table, checked (no channel when it is absent).
pub fn alert_config(data: &DataDir) -> anyhow::Result<AlertConfig> {
    let config = deployment_file(data)?.alerts;
    config.check().with_context(|| format!("`{}`", data.root().join(DEPLOYMENT_FILE).display()))?;
    Ok(config)
}

/// The webhook's signing secret, when a webhook is configured: the content of its
/// `secret_file` (relative to the data directory), without a final line break. Refused when
/// others than its owner may read it.
pub fn webhook_secret(data: &DataDir, config: &AlertConfig) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(webhook) = &config.webhook else { return Ok(None) };
    let path = data.root().join(&webhook.secret_file);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            anyhow::bail!("`{}` may be read by others (mode {mode:o}); make it 0600", path.display());
        }
    }
    let mut secret = std::fs::read(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
    while secret.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
        secret.pop();
    }
    Ok(Some(secret))
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
        .with_incident_rules(incident_rules(data)?)
        .with_alerts(alert_config(data)?)
        .with_oversight_rules(oversight_rules(data)?)
        .with_training_rules(training_rules(data)?)
        .with_request_rules(request_rules(data)?)
        .with_witnesses(witness_rules(data)?)
        .with_portal_rules(portal_rules(data)?)
        .with_zone_rules(zone_rules(data)?))
}
