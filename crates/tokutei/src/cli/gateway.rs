//! `tokutei policy cedar FILE`: the Cedar schema and policies a policy file compiles into.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use tokutei_gateway::{Deployment, Gateway};

use crate::output::Report;

#[derive(Serialize)]
struct CedarJson<'a> {
    digest: String,
    schema: &'a str,
    policies: String,
    full_set: usize,
    largest_slice: usize,
}

/// Compile `file` (with the deployment's own Cedar policy files `extra`) and print the
/// generated policies, or the schema with `schema`. A policy that does not compile is a
/// failed check (exit 1) whose message names the policy and position.
pub fn cedar(file: &Path, extra: &[PathBuf], schema: bool) -> anyhow::Result<Report> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read policy file `{}`", file.display()))?;
    let policy = tokutei_policy::parse(&text).map_err(|e| match e.position {
        Some(p) => anyhow::anyhow!("`{}` line {}, column {}: {}", file.display(), p.line, p.column, e.message),
        None => anyhow::anyhow!("`{}`: {}", file.display(), e.message),
    })?;
    let mut sources = Vec::new();
    for path in extra {
        let body =
            std::fs::read_to_string(path).with_context(|| format!("cannot read cedar file `{}`", path.display()))?;
        sources.push((path.display().to_string(), body));
    }
    let named: Vec<(&str, &str)> = sources.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    // The deployment's settings live in the data directory; the file alone compiles with the
    // defaults (no zones, no required training).
    match Gateway::compile(&policy, &Deployment::default(), &named) {
        Ok(gateway) => {
            let (full_set, largest_slice) = gateway.policy_counts();
            let human = if schema { gateway.schema_text().to_string() } else { gateway.cedar_text() };
            Ok(Report::new(
                human,
                CedarJson {
                    digest: gateway.digest().to_string(),
                    schema: gateway.schema_text(),
                    policies: gateway.cedar_text(),
                    full_set,
                    largest_slice,
                },
            ))
        }
        Err(e) => {
            let human: String = e.problems.iter().map(|p| format!("{p}\n")).collect();
            let problems: Vec<serde_json::Value> = e
                .problems
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let mut v = serde_json::to_value(p).unwrap_or_default();
                    if let Some(obj) = v.as_object_mut() {
                        obj.insert("id".into(), serde_json::json!(i + 1));
                    }
                    v
                })
                .collect();
            Ok(Report::new(human, problems).failed())
        }
    }
}
