//! The command line: global options, the command tree (clap derive; doc comments are the
//! help text) and dispatch. Each area's commands live in their own module and return a
//! [`Report`].

mod access;
mod alerts;
mod assessment;
mod audit;
mod backup;
mod gateway;
mod incidents;
mod inquiries;
mod keys;
mod media;
mod migrate;
mod oversight;
mod policy;
mod portal;
mod requests;
mod retention;
mod rules;
mod serve;
mod settings;
mod staff;
mod store_copy;
mod subscribers;
mod training;
mod witness;
mod zones;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::backend::DatabaseUrl;
use crate::data_dir::DataDir;
use crate::output::Report;

/// tokutei — operate a 特定利用者情報の取扱方針 (Specified User Information Handling Policy).
#[derive(Debug, Parser)]
#[command(name = "tokutei", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The data directory: embedded database, keys, configuration.
    #[arg(long, global = true, env = "TOKUTEI_DATA", default_value = "./tokutei-data", value_name = "DIR")]
    pub data: PathBuf,
    /// Put everything in PostgreSQL instead of the embedded SQLite database.
    #[arg(long, global = true, env = "TOKUTEI_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<DatabaseUrl>,
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

impl GlobalArgs {
    pub fn data_dir(&self) -> DataDir {
        DataDir::new(&self.data).with_database_url(self.database_url.clone())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Prepare a demo deployment (fictional carrier, synthetic subscribers) and serve it.
    Demo(serve::DemoArgs),
    /// Serve the public site, the API and the console.
    Serve(serve::ServeArgs),
    /// Create a data directory and publish the first policy version.
    Init(policy::InitArgs),
    /// Policy files: import, check, render, diff, publish, show.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// The subscriber vault: import, list, verify, find, erase.
    #[command(subcommand)]
    Subscribers(subscribers::SubscribersCommand),
    /// Key-encryption keys of the vault: rotate, list, retire.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// The tamper-evident audit ledger: verify, prove, consistency, query, checkpoint, key, check-proof.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Retention: destroy values whose retention period under the active policy has ended.
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// Use subscriber information through the gateway (audited), or `explain` a decision.
    Access(Box<access::AccessArgs>),
    /// The staff registry: people, systems, data ranges, training, API tokens.
    #[command(subcommand)]
    Staff(staff::StaffCommand),
    /// Subscribers' opt-in and opt-out choices per purpose, with proof.
    #[command(subcommand)]
    Consent(access::ConsentCommand),
    /// Contract state changes (suspension, termination, reactivation).
    #[command(subcommand)]
    Contract(access::ContractCommand),
    /// Export requests (持出し申請): request, approve, produce the encrypted artefact, download it once, list, show.
    #[command(subcommand)]
    Exports(access::ExportsCommand),
    /// Exceptions to the ban on external media (外部記録媒体): grant, revoke, list.
    #[command(subcommand)]
    Media(media::MediaCommand),
    /// Inquiries from the public: list, open (audited), answer or close.
    #[command(subcommand)]
    Inquiries(inquiries::InquiriesCommand),
    /// The privacy office's settings: list, or change with `--by`.
    #[command(subcommand)]
    Settings(settings::SettingsCommand),
    /// Leak incidents: the register, the regulators' deadlines, impact from the ledger, notices, the public list.
    #[command(subcommand)]
    Incidents(incidents::IncidentsCommand),
    /// The alert outbox: list with the delivery log, retry a failed alert, send a test, deliver now.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// The designation and its statutory deadlines (規程, 方針, 統括管理者): set, show.
    #[command(subcommand)]
    Designation(oversight::DesignationCommand),
    /// Data-subject requests (開示等の請求): open, list, show, verify, pause, resume, extend, fulfil, document, lift, refuse, notify.
    #[command(subcommand)]
    Requests(requests::RequestsCommand),
    /// The 情報取扱規程 (information handling rules): check, draft, register, list, show, filed.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// The chief manager (統括管理者) register: appoint, notified, list, opinion, respond, opinions.
    #[command(subcommand)]
    Manager(oversight::ManagerCommand),
    /// The violation reporting line: list, show, ack, resolve, report, detect.
    #[command(subcommand)]
    Violations(oversight::ViolationsCommand),
    /// The annual assessment (評価, 27条の9): open, list, show, assess, finding, remediate, complete.
    #[command(subcommand)]
    Assessment(assessment::AssessmentCommand),
    /// Training (教育研修): the course catalogue and the roster of every person × required course.
    #[command(subcommand)]
    Training(training::TrainingCommand),
    /// Self-inspection reports (自己点検) made from the audit ledger: run, list, show, verify, finding.
    #[command(subcommand)]
    Inspection(oversight::InspectionCommand),
    /// The subscriber's own page: `link` issues a one-time link to it.
    #[command(subcommand)]
    Portal(portal::PortalCommand),
    /// Handling zones (取扱区域): register one (`add`), list the register.
    #[command(subcommand)]
    Zones(zones::ZonesCommand),
    /// The entry/exit log of the handling zones (入退室記録): import the badge system's file, list.
    #[command(subcommand)]
    Presence(zones::PresenceCommand),
    /// A transparency-log witness for partners' audit ledgers (C2SP tlog-witness): init, add-log, key, serve.
    #[command(subcommand)]
    Witness(witness::WitnessCommand),
    /// Bring the database schema up to date (SQLite, or PostgreSQL with `--database-url`).
    Migrate,
    /// Copy the whole deployment to an empty database of another backend (SQLite ⇄ PostgreSQL),
    /// checking the audit ledger's root and latest checkpoint before and after.
    MigrateStore(store_copy::MigrateStoreArgs),
    /// Write an online backup of the embedded SQLite database to a file (keys are not in it).
    Backup(backup::BackupArgs),
    /// Put a backup file back as the embedded SQLite database, then verify the audit ledger.
    Restore(backup::RestoreArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<Report> {
    // Commands that may append audit entries sign a checkpoint when they end (the server
    // also signs every second while it runs; `audit` and the copying commands leave the
    // ledger as they find it).
    let appends = !matches!(
        cli.command,
        Command::Audit(_) | Command::MigrateStore(_) | Command::Backup(_) | Command::Restore(_) | Command::Witness(_)
    );
    let data = cli.global.data_dir();
    let report = dispatch(cli);
    if appends {
        crate::audit_log::sign_if_grown(&data);
    }
    report
}

fn dispatch(cli: Cli) -> anyhow::Result<Report> {
    match cli.command {
        Command::Demo(args) => serve::demo(&cli.global, args),
        Command::Serve(args) => serve::serve(&cli.global, args),
        Command::Init(args) => policy::init(&cli.global, args),
        Command::Policy(cmd) => policy::run(&cli.global, cmd),
        Command::Subscribers(cmd) => subscribers::run(&cli.global, cmd),
        Command::Keys(cmd) => keys::run(&cli.global, cmd),
        Command::Retention(cmd) => retention::run(&cli.global, cmd),
        Command::Audit(cmd) => audit::run(&cli.global, cmd),
        Command::Access(args) => access::run(&cli.global, *args),
        Command::Staff(cmd) => staff::run(&cli.global, cmd),
        Command::Consent(cmd) => access::consent(&cli.global, cmd),
        Command::Contract(cmd) => access::contract(&cli.global, cmd),
        Command::Exports(cmd) => access::exports(&cli.global, cmd),
        Command::Media(cmd) => media::run(&cli.global, cmd),
        Command::Inquiries(cmd) => inquiries::run(&cli.global, cmd),
        Command::Settings(cmd) => settings::run(&cli.global, cmd),
        Command::Incidents(cmd) => incidents::run(&cli.global, cmd),
        Command::Alerts(cmd) => alerts::run(&cli.global, cmd),
        Command::Designation(cmd) => oversight::designation(&cli.global, cmd),
        Command::Rules(cmd) => rules::run(&cli.global, cmd),
        Command::Requests(cmd) => requests::run(&cli.global, cmd),
        Command::Manager(cmd) => oversight::manager(&cli.global, cmd),
        Command::Violations(cmd) => oversight::violations(&cli.global, cmd),
        Command::Training(cmd) => training::run(&cli.global, cmd),
        Command::Assessment(cmd) => assessment::run(&cli.global, cmd),
        Command::Inspection(cmd) => oversight::inspection(&cli.global, cmd),
        Command::Portal(cmd) => portal::run(&cli.global, cmd),
        Command::Zones(cmd) => zones::zones(&cli.global, cmd),
        Command::Presence(cmd) => zones::presence(&cli.global, cmd),
        Command::Witness(cmd) => witness::run(&cli.global.data, cmd),
        Command::Migrate => migrate::run(&cli.global),
        Command::MigrateStore(args) => store_copy::run(&cli.global, args),
        Command::Backup(args) => backup::backup(&cli.global, args),
        Command::Restore(args) => backup::restore(&cli.global, args),
    }
}

/// Where a command run on this machine works from: the terminal a person's handling zone is
/// derived from when zones are required (list `127.0.0.1/32` among a zone's networks to make
/// the server's own shell one of its terminals).
pub(crate) const THIS_HOST: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// A time on the command line, read by the one time parser.
pub(crate) fn parse_time(text: &str) -> Result<jiff::Timestamp, String> {
    tokutei_policy::tokyo::parse_instant(text)
        .ok_or_else(|| format!("`{text}` is not a time: use RFC 3339 or YYYY-MM-DD[THH:MM] in Tokyo"))
}

#[cfg(test)]
mod tests {
    /// Every command's arguments are well formed (clap checks names, ids and flags only when a
    /// command is parsed; a clash such as a field named `version` would otherwise surface only
    /// when someone runs that one command).
    #[test]
    fn every_command_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
