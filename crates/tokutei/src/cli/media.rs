//! `tokutei media …`: the register of exceptions to the ban on external media (外部記録媒体の
//!利用の例外): `grant` (a chief manager or responsible person for another person, one medium,
//! a reason, until a Tokyo date at most 90 days on), `revoke`, `list`. Each change is one
//! `tokutei_app::exports::media` function, audited first; the rules are the application's.

use clap::Subcommand;
use jiff::Timestamp;
use tokutei_app::exports::{Medium, NewGrant};
use tokutei_app::{Acting, App, MediaExceptionId, PrincipalId};
use tokutei_policy::{Date, Lang, tokyo};
use tokutei_store::exports::MediaException;

use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Grant a person an exception for one external medium (approved by `--by`, a chief
    /// manager or responsible person other than the person).
    Grant {
        /// The person allowed (a person of the staff registry).
        #[arg(long)]
        person: String,
        /// The medium: usb, optical, sd_card, external_disk, other.
        #[arg(long, value_name = "KIND")]
        medium: String,
        /// Why (1–200 characters; kept in the register, only its digest in the ledger).
        #[arg(long)]
        reason: String,
        /// The first day in force (YYYY-MM-DD, Tokyo); today by default.
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// The last day in force (YYYY-MM-DD, Tokyo), at most 90 days on.
        #[arg(long, value_name = "DATE")]
        until: String,
        /// The approver.
        #[arg(long)]
        by: String,
    },
    /// Revoke an exception (a chief manager or responsible person).
    Revoke {
        id: String,
        #[arg(long)]
        by: String,
    },
    /// List the exceptions, newest first.
    List,
}

fn date(field: &'static str, text: &str) -> anyhow::Result<Date> {
    tokyo::parse_instant(text)
        .map(tokyo::date_of)
        .ok_or_else(|| {
            tokutei_app::ActionError::invalid(field, format!("`{text}` is not a date: use YYYY-MM-DD (Tokyo)"))
        })
        .map_err(Into::into)
}

fn person(id: &str) -> anyhow::Result<Acting> {
    Ok(Acting::Person(PrincipalId::parse_as("by", id)?.into_string()))
}

fn open(global: &GlobalArgs) -> anyhow::Result<App> {
    let data = global.data_dir();
    let store = data.open_store()?;
    let audit = crate::audit_log::AuditLog::open_with_store(&data, &store)?;
    crate::access::open_service(&data, &store, &audit)
}

fn line(e: &MediaException) -> String {
    let x = &e.exception;
    let medium = Medium::parse("medium", &x.medium).map_or(x.medium.as_str(), |m| m.label(Lang::Ja));
    let state = match &e.revoked {
        Some(r) => format!("取消 revoked {}", tokyo::minutes(r.at)),
        None => "有効 granted".to_string(),
    };
    format!(
        "{}  {}  {medium} ({})  {}..{}  approved by {}  {state}\n",
        x.id, x.person, x.medium, x.valid_from, x.valid_until, x.approved_by
    )
}

pub fn run(global: &GlobalArgs, cmd: MediaCommand) -> anyhow::Result<Report> {
    match cmd {
        MediaCommand::Grant { person: who, medium, reason, from, until, by } => {
            let grant = NewGrant {
                person: PrincipalId::parse_as("person", who)?,
                medium: Medium::parse("medium", &medium)?,
                reason,
                valid_from: from.as_deref().map(|f| date("from", f)).transpose()?,
                valid_until: date("until", &until)?,
            };
            let by = person(&by)?;
            let app = open(global)?;
            let granted = app.grant_media_exception(&by, &grant, Timestamp::now())?;
            Ok(Report::new(format!("granted media exception {}", line(&granted)), &granted))
        }
        MediaCommand::Revoke { id, by } => {
            let id = MediaExceptionId::parse_as("id", id)?;
            let by = person(&by)?;
            let app = open(global)?;
            let revoked = app.revoke_media_exception(&by, &id, Timestamp::now())?;
            Ok(Report::new(format!("revoked media exception {}", line(&revoked)), &revoked))
        }
        MediaCommand::List => {
            let all = open(global)?.media_exceptions()?;
            let json: Vec<serde_json::Value> = all
                .iter()
                .map(|e| {
                    let mut v = serde_json::to_value(e).unwrap_or_default();
                    v["in_force"] =
                        serde_json::json!(e.allows(&e.exception.person, &e.exception.medium, tokyo::today()));
                    v
                })
                .collect();
            Ok(Report::new(all.iter().map(line).collect::<String>(), json))
        }
    }
}
