//! `tokutei inquiries …`: the register of inquiries from the public — list them (nothing
//! decrypted), open one (audited before its contents are decrypted) and move it on with a note
//! (sealed), through the same application functions as the console's inquiries pages.

use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use tokutei_app::Acting;
use tokutei_app::inquiry::{InquiryService, InquiryStores, Summary};
use tokutei_store::inquiry::InquiryStatus;

use crate::audit_log::AuditLog;
use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum InquiriesCommand {
    /// The register, newest first (receipt number, category, deadline, status).
    List {
        /// Only inquiries in this status: open, answered or closed.
        #[arg(long, value_parser = parse_status)]
        status: Option<InquiryStatus>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Open an inquiry: its contents and last note (audited before anything is decrypted).
    Show {
        receipt: String,
        /// Who opens it: a manager or an auditor of the staff registry.
        #[arg(long, value_name = "STAFF_ID")]
        by: String,
    },
    /// Move an inquiry to `answered` or `closed` with a note of what was done.
    Status {
        receipt: String,
        #[arg(long, value_parser = parse_status)]
        to: InquiryStatus,
        #[arg(long)]
        note: String,
        /// Who answers: a chief manager or responsible person.
        #[arg(long, value_name = "STAFF_ID")]
        by: String,
    },
}

fn parse_status(text: &str) -> Result<InquiryStatus, String> {
    InquiryStatus::from_code(text).ok_or_else(|| format!("`{text}` is not a status; use open, answered or closed"))
}

fn summary_json(s: &Summary) -> serde_json::Value {
    serde_json::json!({
        "id": s.receipt,
        "category": s.category.code(),
        "received_at": s.received_at.to_string(),
        "deadline": s.deadline.to_string(),
        "status": s.status.code(),
    })
}

fn summary_line(s: &Summary) -> String {
    format!(
        "{}  {:<11} 受付 received {}  期限 deadline {}  {}\n",
        s.receipt,
        s.category.code(),
        tokutei_policy::tokyo::minutes(s.received_at),
        s.deadline,
        s.status.code()
    )
}

pub fn run(global: &GlobalArgs, cmd: InquiriesCommand) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let store = data.open_store()?;
    let audit = AuditLog::open_with_store(&data, &store)?;
    let keys = crate::access::open_service(&data, &store, &audit)?.keys().clone();
    let stores: Arc<dyn InquiryStores> = store.store();
    let service = InquiryService::new(stores, audit.shared_ledger(), keys);
    let now = jiff::Timestamp::now();
    match cmd {
        InquiriesCommand::List { status, limit } => {
            let all = service.list(status, limit)?;
            let human: String =
                if all.is_empty() { "no inquiries\n".to_string() } else { all.iter().map(summary_line).collect() };
            Ok(Report::new(human, all.iter().map(summary_json).collect::<Vec<_>>()))
        }
        InquiriesCommand::Show { receipt, by } => {
            let opened =
                service.open(&Acting::Person(by), &receipt, now).with_context(|| format!("inquiry `{receipt}`"))?;
            let mut human = summary_line(&opened.summary);
            human.push_str(&format!(
                "  氏名 name     {}\n  連絡先 contact {}\n  内容 message\n{}\n",
                opened.contents.name, opened.contents.contact, opened.contents.message
            ));
            if let Some(note) = &opened.note {
                human.push_str(&format!("  対応記録 note\n{}\n", note.as_str()));
            }
            let mut json = summary_json(&opened.summary);
            json["contents"] = serde_json::to_value(&opened.contents)?;
            json["note"] = serde_json::json!(opened.note.as_deref().map(String::as_str));
            Ok(Report::new(human, json))
        }
        InquiriesCommand::Status { receipt, to, note, by } => {
            service.set_status(&Acting::Person(by), &receipt, to, &note, now)?;
            Ok(Report::new(
                format!("inquiry `{receipt}` is now {}\n", to.code()),
                serde_json::json!({ "id": receipt, "status": to.code() }),
            ))
        }
    }
}
