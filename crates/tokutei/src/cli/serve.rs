//! `tokutei serve` and `tokutei demo`: run the web server on a data directory; the demo first
//! prepares a complete example deployment (a fictional carrier's policy and synthetic
//! subscribers) so that a newcomer sees a working system with one command.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tokutei_policy::PolicyDigest;
use tokutei_store::{NewPolicyVersion, PolicyStore};
use tokutei_store_sqlite::SqliteStore;

use crate::cli::GlobalArgs;
use crate::output::Report;

/// The demo carrier's policy, written for this project (星空通信株式会社, fictional).
pub const DEMO_POLICY: &str = include_str!("../../../tokutei-policy/policies/hoshizora-tsushin.toml");

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// How many synthetic subscribers to generate on first run.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub subscribers: u64,
    /// Prepare the data directory and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

pub fn serve(global: &GlobalArgs, args: ServeArgs) -> anyhow::Result<Report> {
    let store = global.data_dir().open_store()?;
    run_server(store, args.listen)?;
    Ok(Report::new("", serde_json::json!({ "stopped": true })))
}

pub fn demo(global: &GlobalArgs, args: DemoArgs) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let fresh = !data.is_initialised();
    if fresh {
        data.create()?;
    }
    let store = data.open_or_create_store()?;
    let mut human = String::new();
    if fresh {
        let policy = tokutei_policy::parse(DEMO_POLICY).map_err(|e| anyhow::anyhow!("demo policy does not parse: {e}"))?;
        let version = store.publish_policy(NewPolicyVersion {
            digest: PolicyDigest::of(&policy),
            source: DEMO_POLICY.to_string(),
            effective: policy.effective_date(),
            published_by: "demo".to_string(),
            published_at: jiff::Timestamp::now(),
        })?;
        human.push_str(&format!(
            "demo data directory `{}` prepared: policy v{} ({})\n",
            data.root().display(),
            version.number,
            version.digest.short()
        ));
    } else {
        human.push_str(&format!("using existing data directory `{}`\n", data.root().display()));
    }
    let summary = serde_json::json!({ "data": data.root(), "fresh": fresh, "listen": args.listen.to_string() });
    if args.no_serve {
        return Ok(Report::new(human, summary));
    }
    eprint!("{human}");
    run_server(store, args.listen)?;
    Ok(Report::new("", summary))
}

fn run_server(store: SqliteStore, listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on `{listen}`"))?;
        let addr = listener.local_addr()?;
        eprintln!("tokutei serving on http://{addr}/  (policy: /  English: /en/  history: /policy/versions)");
        tracing::info!(%addr, "listening");
        let state = tokutei_web::AppState::new(Arc::new(store));
        tokutei_web::serve(listener, state).await.context("server failed")
    })
}
