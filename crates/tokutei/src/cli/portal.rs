//! `tokutei portal link --subscriber ID`: a one-time link to a subscriber's own page (`/my/`)
//! for the carrier's staff or systems to deliver (SMS, e-mail, its My Page). Prints the URL
//! (`--json`: `url`, `expires_at`); issuing it is audited (`tokutei_app::portal`).

use clap::Subcommand;
use jiff::Timestamp;
use tokutei_app::{Acting, SubscriberId};

use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum PortalCommand {
    /// Issue a one-time link to a subscriber's own page; prints the URL (it works once, for
    /// `[portal] link_minutes`, 15 by default).
    Link {
        /// The subscriber.
        #[arg(long, value_name = "ID")]
        subscriber: String,
        /// Who issues it (a person or system of the staff registry); the system `cli` by default.
        #[arg(long, value_name = "ID")]
        by: Option<String>,
    },
}

pub fn run(global: &GlobalArgs, cmd: PortalCommand) -> anyhow::Result<Report> {
    let data = global.data_dir();
    match cmd {
        PortalCommand::Link { subscriber, by } => {
            let subscriber = SubscriberId::parse(subscriber.as_str())?;
            let store = data.open_store()?;
            let audit = crate::audit_log::AuditLog::open_with_store(&data, &store)?;
            let app = crate::access::open_service(&data, &store, &audit)?;
            let by = by.map_or(Acting::Setup("cli"), Acting::Person);
            let link = app.issue_portal_link(&by, &subscriber, Timestamp::now())?;
            Ok(crate::output::link_report(&link))
        }
    }
}
