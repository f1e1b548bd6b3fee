//! `tokutei serve` and `tokutei demo`: run the web server on a data directory; the demo first
//! prepares a complete example deployment (a fictional carrier's policy and synthetic
//! subscribers) so that a newcomer sees a working system with one command.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::audit_log::{AuditLog, run_checkpoints};
use crate::backend::Database;
use crate::cli::GlobalArgs;
use crate::data_dir::DataDir;
use crate::keyring::Keyring;
use crate::output::Report;

/// The demo carrier's policy, written for this project (星空通信株式会社, fictional).
pub const DEMO_POLICY: &str = include_str!("../../../tokutei-policy/policies/hoshizora-tsushin.toml");

/// The demo carrier's 情報取扱規程, one section per measure of its policy.
pub const DEMO_RULES: &str = include_str!("../../../tokutei-policy/policies/hoshizora-tsushin-rules.toml");

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// How often to sign an audit checkpoint while entries keep arriving, in seconds (each
    /// is also remembered in the data directory's `checkpoint` file).
    #[arg(long, default_value_t = 1, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: u64,
    /// Send `Strict-Transport-Security` with this max-age in seconds (a year when no value is
    /// given). Only for a server reached over HTTPS (directly or behind a TLS terminator).
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "31536000")]
    pub hsts: Option<u64>,
    /// A proxy or load balancer in front of tokutei whose `X-Forwarded-For` names the client
    /// (for the per-client rate limits); repeat for several.
    #[arg(long = "trusted-proxy", value_name = "ADDR")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// How the web server is run beyond its address.
#[derive(Debug, Default)]
struct WebOptions {
    hsts: Option<u64>,
    trusted_proxies: Vec<std::net::IpAddr>,
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
    let data = global.data_dir();
    let store = data.open_store()?;
    let web = WebOptions { hsts: args.hsts, trusted_proxies: args.trusted_proxies };
    run_server(&data, store, args.listen, Duration::from_secs(args.checkpoint_every), web)?;
    Ok(Report::new("", serde_json::json!({ "stopped": true })))
}

pub fn demo(global: &GlobalArgs, args: DemoArgs) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let fresh = !data.is_in_use();
    let store = if fresh {
        data.create()?;
        let store = data.open_or_create_store()?;
        store.ensure_empty()?;
        store
    } else {
        data.open_store()?
    };
    let mut human = String::new();
    let mut imported = None;
    if fresh {
        let policy =
            tokutei_policy::parse(DEMO_POLICY).map_err(|e| anyhow::anyhow!("demo policy does not parse: {e}"))?;
        // The training the demo policy promises is required, and the demo's people hold it.
        crate::access::write_initial_deployment(&data, Some(&policy))?;
        // The demo's own policy: published through the application layer like any other.
        let version = {
            let audit = AuditLog::open_with_store(&data, &store)?;
            let app = crate::access::open_service(&data, &store, &audit)?;
            app.publish_policy(
                &tokutei_app::Acting::Setup("demo"),
                DEMO_POLICY.to_string(),
                None,
                jiff::Timestamp::now(),
            )?
        };
        human.push_str(&format!(
            "demo data directory `{}` prepared: policy v{} ({})\n",
            data.root().display(),
            version.number,
            version.digest.short()
        ));
        // The same import path as `tokutei subscribers import`, fed by the generator.
        let keyring = Keyring::open_or_create(&data)?;
        let ledger = store.ledger()?;
        let target = tokutei_app::import::ImportTarget {
            store: &*store,
            ledger: &*ledger,
            keys: &keyring,
            actor: tokutei_ledger::Actor::System("demo".into()),
        };
        let summary = crate::progress::with_import_bar(!global.json, |on_progress| {
            tokutei_app::synth::populate(&target, &policy, version.number, args.subscribers, DEMO_SEED, on_progress)
                .map_err(anyhow::Error::from)
        })?;
        human.push_str(&format!(
            "generated {} synthetic subscribers ({} values)\n",
            summary.subscribers, summary.values
        ));
        imported = Some(summary.subscribers);
        human.push_str(&demo_staff(&data, &store)?);
    } else {
        human.push_str(&format!("using existing data directory `{}`\n", data.root().display()));
    }
    let summary = serde_json::json!({
        "data": data.root(),
        "fresh": fresh,
        "subscribers_generated": imported,
        "listen": args.listen.to_string(),
    });
    if args.no_serve {
        return Ok(Report::new(human, summary));
    }
    eprint!("{human}");
    run_server(&data, store, args.listen, CHECKPOINT_EVERY, WebOptions::default())?;
    Ok(Report::new("", summary))
}

/// The demo's staff (`tokutei_app::demo`): the principals, the chief manager's console
/// account, the handler's one-time password and the call centre's API token, printed once.
fn demo_staff(data: &DataDir, store: &Database) -> anyhow::Result<String> {
    let audit = AuditLog::open_with_store(data, store)?;
    let app = crate::access::open_service(data, store, &audit)?;
    let now = jiff::Timestamp::now();
    let demo = app.set_up_demo_staff(now)?;
    // The demo carrier's 情報取扱規程, registered (not filed: the console flags it).
    let rules = app.register_rules(&tokutei_app::Acting::Setup("demo"), DEMO_RULES, now)?;
    let mut human = format!("情報取扱規程 第{}版 / rules version {} registered\n", rules.version, rules.version);
    human.push_str("demo principals:\n");
    for p in &demo.principals {
        human.push_str(&format!("  {}  {}\n", p.id, p.display_name));
    }
    human.push_str(&crate::output::chief_account(&demo.chief));
    human.push_str(&format!(
        "  id: {} (担当者 / handler)\n  one-time password: {}\n",
        tokutei_app::demo::SUPPORT,
        demo.support_password.as_str()
    ));
    human.push_str(&format!(
        "API token of {} (shown once): {}\n  try: curl -H 'Authorization: Bearer <token>' -d '{{\"purpose\":\"support\",\"subscribers\":[\"HS00000001\"]}}' http://<listen>/api/v1/access\n",
        tokutei_app::demo::CALL_CENTRE,
        demo.call_centre_token.text.as_str()
    ));
    Ok(human)
}

/// How often the demo server signs a checkpoint while entries keep arriving.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// How often the server applies the retention rules (and once at start).
const RETENTION_EVERY: Duration = Duration::from_secs(6 * 60 * 60);

/// How often the server runs the violation detectors over the recent ledger (and once at start).
const DETECT_EVERY: Duration = Duration::from_secs(5 * 60);

/// Run `job` at start and then every `every` on a blocking thread; it returns how many things
/// it did (logged with `what` when not zero). A failure is logged and retried at the next tick.
async fn run_every<F>(what: &'static str, every: Duration, app: Arc<tokutei_app::App>, job: F)
where
    F: Fn(&tokutei_app::App, jiff::Timestamp) -> tokutei_app::ActionResult<usize> + Send + Sync + Copy + 'static,
{
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        let app = Arc::clone(&app);
        match tokio::task::spawn_blocking(move || job(&app, jiff::Timestamp::now())).await {
            Ok(Ok(0)) => {}
            Ok(Ok(count)) => tracing::info!(count, "{what}"),
            Ok(Err(err)) => tracing::warn!(error = %err, "{what} failed"),
            Err(err) => tracing::warn!(error = %err, "{what} task failed"),
        }
    }
}

/// Apply the retention rules (records destroyed).
fn retention(app: &tokutei_app::App, now: jiff::Timestamp) -> tokutei_app::ActionResult<usize> {
    let outcome = app.purge_expired(&tokutei_app::Acting::Setup("retention-schedule"), now)?;
    Ok(outcome.total as usize)
}

/// Run the violation detectors over the recent ledger (reports filed).
fn detectors(app: &tokutei_app::App, now: jiff::Timestamp) -> tokutei_app::ActionResult<usize> {
    Ok(app.run_detectors_recent(now)?.len())
}

/// How often the server checks whether a self-inspection report is due (and once at start).
const INSPECT_EVERY: Duration = Duration::from_secs(60 * 60);

/// Make the self-inspection report the schedule owes (`[oversight] inspection_schedule`: the
/// previous month's, once it is over): reports made.
fn inspections(app: &tokutei_app::App, now: jiff::Timestamp) -> tokutei_app::ActionResult<usize> {
    Ok(usize::from(app.run_scheduled_inspection(now)?.is_some()))
}

/// How often the server delivers the alerts that are due.
const ALERTS_EVERY: Duration = Duration::from_secs(15);

/// How often the server scans the registers' deadlines for escalations (and once at start).
const ESCALATE_EVERY: Duration = Duration::from_secs(5 * 60);

/// The alert delivery of `app`, when the deployment configures a channel (`[alerts]` in
/// `deployment.toml`); the webhook's secret is read now, so a missing one stops the start.
fn alert_delivery(
    data: &DataDir,
    app: &Arc<tokutei_app::App>,
) -> anyhow::Result<Option<tokutei_web::alerts::Deliverer>> {
    let config = app.alert_config();
    if config.recipients().is_empty() {
        tracing::info!("no alert channel is configured ([alerts] in deployment.toml): alerts are not delivered");
        return Ok(None);
    }
    let secret = crate::access::webhook_secret(data, config)?;
    Ok(Some(tokutei_web::alerts::Deliverer::new(Arc::clone(app), secret)?))
}

/// Seed of the demo's synthetic subscribers, so every demo shows the same people.
const DEMO_SEED: u64 = 20_240_118;

fn run_server(
    data: &DataDir,
    store: Database,
    listen: SocketAddr,
    checkpoint_every: Duration,
    web: WebOptions,
) -> anyhow::Result<()> {
    let audit = Arc::new(AuditLog::open_with_store(data, &store)?);
    // A ledger cut short or rewritten since this server last signed is not served.
    audit.check_remembered().context("refusing to serve")?;
    let access = Arc::new(crate::access::open_service(data, &store, &audit)?);
    // TOTP secrets enrolled before migration 0010 are in clear: seal them before serving.
    let sealed = access.seal_clear_totp(&tokutei_app::Acting::Setup("serve"), jiff::Timestamp::now())?;
    if sealed > 0 {
        tracing::info!(sealed, "sealed TOTP secrets that were stored in clear");
    }
    // Compile the active policy with the deployment's Cedar policies now: a deployment policy
    // that does not fit the schema stops the start, not the first request.
    access.active_policy(jiff::Timestamp::now()).context("cannot enforce the active policy")?;
    let alerts = alert_delivery(data, &access).context("cannot deliver alerts")?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on `{listen}`"))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "tokutei serving on http://{addr}/  (policy: /  English: /en/  history: /policy/versions  API: /api/v1/openapi.json)"
        );
        tracing::info!(%addr, "listening");
        let mut state = tokutei_web::AppState::new(store.store())
            .with_ledger(audit.shared_ledger())
            .with_access(Arc::clone(&access))
            .with_log_key(audit.verifier().to_string())
            .with_trusted_proxies(web.trusted_proxies);
        if let Some(max_age) = web.hsts {
            state = state.with_hsts(max_age);
        }
        tokio::spawn(run_checkpoints(Arc::clone(&audit), checkpoint_every));
        // Witnesses cosign what the checkpoints sign; the published checkpoint waits for them.
        if !access.witness_rules().witnesses.is_empty() {
            let witnessing = Arc::new(tokutei_web::witness::Witnessing::new(Arc::clone(&access)));
            tokio::spawn(witnessing.run(checkpoint_every));
        }
        tokio::spawn(run_every("violation detectors", DETECT_EVERY, Arc::clone(&access), detectors));
        tokio::spawn(run_every("self-inspection", INSPECT_EVERY, Arc::clone(&access), inspections));
        tokio::spawn(run_every("retention", RETENTION_EVERY, access, retention));
        if let Some(deliverer) = alerts {
            tokio::spawn(tokutei_web::alerts::run(deliverer, ALERTS_EVERY, ESCALATE_EVERY));
        }
        tokutei_web::serve(listener, state).await.context("server failed")
    })
}
