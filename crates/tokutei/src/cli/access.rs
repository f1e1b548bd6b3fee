//! `tokutei access …`: use subscriber information through the gateway (read, update, export,
//! erase) and `tokutei access explain …` (the decision and the deciding policies, no data
//! read); `tokutei consent …` (record and show a subscriber's choices with their proof);
//! `tokutei contract …` (suspend, terminate, reactivate); `tokutei exports …` (export
//! requests and their approval). Denials exit 1.
//!
//! Each command parses its flags, calls one function of the application layer
//! (`tokutei_app`) and presents its outcome; the rules are the application's.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use jiff::Timestamp;
use tokutei_app::consent::NewChoice;
use tokutei_app::exports::artefact::{self, Produce};
use tokutei_app::exports::{Medium, NewExport};
use tokutei_app::{
    AccessCall, AccessOutcome, Acting, App, CategoryId, ExportId, NewPlainValue, PrincipalId, PurposeId, SubscriberId,
    WriteCall,
};
use tokutei_ledger::Action;
use tokutei_policy::{AcquisitionMethod, Channel, Date};
use tokutei_store::consent::Choice;
use tokutei_store::vault::ContractState;

use crate::audit_log::AuditLog;
use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AccessArgs {
    #[command(subcommand)]
    pub explain: Option<AccessSub>,
    #[command(flatten)]
    pub call: CallArgs,
}

#[derive(Debug, Subcommand)]
pub enum AccessSub {
    /// Show the decision and the policies that decide it, without reading data (audited: the
    /// decisions reveal the subscribers' facts).
    Explain(CallArgs),
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The principal acting (staff or system id).
    #[arg(long, required = true)]
    pub staff: Option<String>,
    /// The declared purpose (id from the policy file).
    #[arg(long, required = true)]
    pub purpose: Option<String>,
    /// A subscriber id (repeatable).
    #[arg(long = "subscriber", required = true)]
    pub subscribers: Vec<String>,
    /// A category id (repeatable; default: every category of the purpose).
    #[arg(long = "category")]
    pub categories: Vec<String>,
    #[arg(long, value_enum, default_value = "read")]
    pub action: ActionArg,
    /// The channel the use reaches the subscriber through (phone, email, post, web, app…).
    #[arg(long, value_parser = parse_channel)]
    pub channel: Option<Channel>,
    /// The handling zone the principal is in.
    #[arg(long)]
    pub zone: Option<String>,
    /// The approved export request this export is made under.
    #[arg(long)]
    pub export_approval: Option<String>,
    /// The third party receiving the data (third-party provision purposes).
    #[arg(long)]
    pub recipient: Option<String>,
    /// For `--action update`: a new value `CATEGORY=VALUE` (repeatable).
    #[arg(long = "set", value_name = "CATEGORY=VALUE")]
    pub set: Vec<String>,
    /// For `--action update`: how the new values were acquired.
    #[arg(long, default_value = "electronic")]
    pub method: String,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ActionArg {
    Read,
    Update,
    Export,
    Erase,
}

impl From<ActionArg> for Action {
    fn from(a: ActionArg) -> Action {
        match a {
            ActionArg::Read => Action::Read,
            ActionArg::Update => Action::Update,
            ActionArg::Export => Action::Export,
            ActionArg::Erase => Action::Erase,
        }
    }
}

fn parse_channel(text: &str) -> Result<Channel, String> {
    Channel::from_id(text).ok_or_else(|| {
        let ids: Vec<&str> = Channel::ALL.iter().map(|c| c.id()).collect();
        format!("`{text}` is not a channel; use {}", ids.join(", "))
    })
}

impl CallArgs {
    fn call(&self) -> anyhow::Result<AccessCall> {
        let (Some(staff), Some(purpose)) = (&self.staff, &self.purpose) else {
            bail!("`--staff` and `--purpose` are required");
        };
        Ok(AccessCall {
            principal: PrincipalId::parse_as("staff", staff.as_str())?,
            action: self.action.into(),
            purpose: PurposeId::parse(purpose.as_str())?,
            subscribers: subscribers(&self.subscribers)?,
            categories: categories(&self.categories)?,
            channel: self.channel,
            zone: self.zone.clone(),
            terminal: Some(crate::cli::THIS_HOST),
            export_approval: self.export_approval.clone(),
            recipient: self.recipient.clone(),
            client: "cli".to_string(),
            now: Timestamp::now(),
        })
    }
}

/// `--subscriber` ids, parsed (an invalid one names the flag).
fn subscribers(ids: &[String]) -> anyhow::Result<Vec<SubscriberId>> {
    Ok(ids.iter().map(|s| SubscriberId::parse(s.as_str())).collect::<Result<_, _>>()?)
}

/// `--category` ids, parsed (an invalid one names the flag).
fn categories(ids: &[String]) -> anyhow::Result<Vec<CategoryId>> {
    Ok(ids.iter().map(|c| CategoryId::parse(c.as_str())).collect::<Result<_, _>>()?)
}

/// The one a command names acting (`--by`, `--staff`, `--approver`): a principal of the staff
/// registry, checked by the application.
fn person(flag: &'static str, id: &str) -> anyhow::Result<Acting> {
    Ok(Acting::Person(PrincipalId::parse_as(flag, id)?.into_string()))
}

/// The application of the data directory, appending to its audit ledger.
fn open_app(global: &GlobalArgs) -> anyhow::Result<App> {
    let data = global.data_dir();
    let store = data.open_store()?;
    let audit = AuditLog::open_with_store(&data, &store)?;
    crate::access::open_service(&data, &store, &audit)
}

pub fn run(global: &GlobalArgs, args: AccessArgs) -> anyhow::Result<Report> {
    let service = open_app(global)?;
    if let Some(AccessSub::Explain(args)) = args.explain {
        let call = args.call()?;
        let explanation = service.explain(&call)?;
        let mut human = String::new();
        for d in &explanation.decisions {
            human.push_str(&decision_line(&d.subscriber, &d.category, d.allowed, d.mask.as_deref()));
            for r in &d.reasons {
                human.push_str(&format!("      {}\n      {}\n", r.ja, r.en));
            }
        }
        for p in &explanation.policies {
            human.push_str(&format!("\n// {} ({})\n{}\n", p.id, p.clause, p.text));
        }
        let allowed = explanation.decisions.iter().all(|d| d.allowed);
        return Ok(Report::new(human, &explanation).passed_if(allowed));
    }
    let args = args.call;
    let call = args.call()?;
    let outcome = match call.action {
        Action::Read | Action::Export => service.read(&call)?,
        Action::Erase => service.erase(&call)?,
        Action::Update => {
            if args.set.is_empty() {
                bail!("`--action update` needs at least one `--set CATEGORY=VALUE`");
            }
            let method = AcquisitionMethod::ALL
                .into_iter()
                .find(|m| m.id() == args.method)
                .with_context(|| format!("`--method` `{}` is not an acquisition method", args.method))?;
            let mut values = Vec::new();
            for (n, set) in args.set.iter().enumerate() {
                let Some((category, value)) = set.split_once('=') else {
                    bail!("`--set` {}: write CATEGORY=VALUE", n + 1);
                };
                values.push(NewPlainValue {
                    category: CategoryId::parse_as("set", category)?,
                    value: zeroize::Zeroizing::new(value.as_bytes().to_vec()),
                });
            }
            service.write(&WriteCall { call, values, method })?
        }
    };
    Ok(Report::new(human_outcome(&outcome), &outcome).passed_if(outcome.all_allowed()))
}

fn decision_line(subscriber: &str, category: &str, allowed: bool, mask: Option<&str>) -> String {
    let mark = if allowed { "許可 allow" } else { "拒否 deny " };
    let mask = mask.map(|m| format!("  (mask `{m}`)")).unwrap_or_default();
    format!("{mark}  {subscriber}  {category}{mask}\n")
}

fn human_outcome(outcome: &AccessOutcome) -> String {
    let mut out = String::new();
    for s in &outcome.subscribers {
        for item in &s.items {
            out.push_str(&decision_line(&s.id, &item.category, item.allowed, item.mask.as_deref()));
            for v in &item.values {
                out.push_str(&format!("      v{}  {}\n", v.version, v.value));
            }
            for (version, why) in &item.unreadable {
                out.push_str(&format!("      v{version}  unreadable: {why}\n"));
            }
            for version in &item.written {
                out.push_str(&format!("      wrote v{version}\n"));
            }
            for r in &item.reasons {
                out.push_str(&format!("      {}\n      {}\n", r.ja, r.en));
            }
        }
        if s.erased {
            out.push_str(&format!("消去しました erased  {}\n", s.id));
        }
    }
    let audit: Vec<String> = outcome.audit.iter().map(u64::to_string).collect();
    out.push_str(&format!("監査記録 audit entries: {}\n", audit.join(", ")));
    if !outcome.provisions.is_empty() {
        let ids: Vec<String> = outcome.provisions.iter().map(u64::to_string).collect();
        out.push_str(&format!("第三者提供記録 provision records: {}\n", ids.join(", ")));
    }
    out
}

#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Record a subscriber's choice for a purpose (with its proof).
    Record {
        #[arg(long)]
        subscriber: String,
        #[arg(long)]
        purpose: String,
        /// `opt_in` or `opt_out` (a withdrawal of an opt-in is an `opt_out`).
        #[arg(long, value_parser = parse_choice)]
        choice: Choice,
        /// How the choice reached us (web, app, phone, in_person, post…).
        #[arg(long)]
        channel: String,
        /// The policy version whose notice was shown (default: the active one).
        #[arg(long)]
        notice_version: Option<u32>,
        /// Who records it: a principal of the staff registry (a person of any role, or the
        /// system that received the choice).
        #[arg(long)]
        by: String,
        /// A reference to the evidence (form id, call recording id).
        #[arg(long)]
        evidence: Option<String>,
    },
    /// A subscriber's current choices and their history.
    Show {
        #[arg(long)]
        subscriber: String,
    },
    /// A one-time link to the subscriber's preference page (`/preferences`), for the carrier's
    /// systems to deliver; prints the URL (`--json`: `url`, `expires_at`).
    Link {
        #[arg(long)]
        subscriber: String,
        /// Who issues it (a person or system of the staff registry); the system `cli` by default.
        #[arg(long)]
        by: Option<String>,
    },
}

fn parse_choice(text: &str) -> Result<Choice, String> {
    match text {
        "opt_in" | "opted_in" => Ok(Choice::OptedIn),
        "opt_out" | "opted_out" => Ok(Choice::OptedOut),
        _ => Err(format!("`{text}` is not a choice; use opt_in or opt_out")),
    }
}

pub fn consent(global: &GlobalArgs, cmd: ConsentCommand) -> anyhow::Result<Report> {
    let service = open_app(global)?;
    match cmd {
        ConsentCommand::Record { subscriber, purpose, choice, channel, notice_version, by, evidence } => {
            let new = NewChoice {
                subscriber: SubscriberId::parse(subscriber)?,
                purpose: PurposeId::parse(purpose)?,
                choice,
                channel,
                notice_version,
                evidence,
            };
            let record = service.record_consent(&person("by", &by)?, &new, Timestamp::now())?;
            let r = &record.record;
            Ok(Report::new(
                format!(
                    "recorded consent #{}: `{}` {} for `{}` (notice version {})\n",
                    record.id,
                    r.subscriber,
                    r.choice.id(),
                    r.purpose,
                    r.notice_version
                ),
                &record,
            ))
        }
        ConsentCommand::Link { subscriber, by } => {
            let subscriber = SubscriberId::parse(subscriber)?;
            let by = match by {
                Some(by) => person("by", &by)?,
                None => Acting::Setup("cli"),
            };
            let link = service.issue_preference_link(&by, &subscriber, Timestamp::now())?;
            Ok(crate::output::link_report(&link))
        }
        ConsentCommand::Show { subscriber } => {
            let shown = service.consents(&SubscriberId::parse(subscriber)?)?;
            let mut human = String::new();
            for c in &shown.current {
                human.push_str(&format!(
                    "{}  {}  (#{}, {}, {}, notice v{})\n",
                    c.record.purpose,
                    c.record.choice.id(),
                    c.id,
                    c.record.recorded_at,
                    c.record.channel,
                    c.record.notice_version
                ));
            }
            if shown.current.is_empty() {
                human.push_str("no choices recorded\n");
            }
            Ok(Report::new(human, &shown))
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Set a subscriber's contract state.
    Set {
        #[arg(long)]
        subscriber: String,
        /// active, suspended or terminated.
        #[arg(long, value_parser = parse_state)]
        state: ContractState,
        /// The day of the change (YYYY-MM-DD, default today in Asia/Tokyo).
        #[arg(long)]
        on: Option<Date>,
        /// Who changes it: a principal of the staff registry (a person of any role, or the
        /// system the change comes from).
        #[arg(long)]
        by: String,
    },
}

fn parse_state(text: &str) -> Result<ContractState, String> {
    ContractState::from_id(text)
        .ok_or_else(|| format!("`{text}` is not a contract state; use active, suspended or terminated"))
}

pub fn contract(global: &GlobalArgs, cmd: ContractCommand) -> anyhow::Result<Report> {
    let ContractCommand::Set { subscriber, state, on, by } = cmd;
    let service = open_app(global)?;
    let id = SubscriberId::parse(subscriber)?;
    let contract = service.change_contract(&person("by", &by)?, &id, state, on, Timestamp::now())?;
    let from = contract.terminated_on.or(contract.suspended_on).map(|d| format!(" (from {d})")).unwrap_or_default();
    Ok(Report::new(
        format!("contract of `{id}` is now {}{from}\n", state.id()),
        serde_json::json!({ "id": id, "contract": contract }),
    ))
}

#[derive(Debug, Subcommand)]
pub enum ExportsCommand {
    /// File an export request (持出し申請).
    Request {
        id: String,
        /// The requester: the principal that will make the export.
        #[arg(long)]
        staff: String,
        #[arg(long)]
        purpose: String,
        #[arg(long = "category", required = true)]
        categories: Vec<String>,
        /// A subscriber covered (repeatable); omit with `--all-subscribers`.
        #[arg(long = "subscriber")]
        subscribers: Vec<String>,
        /// The request covers every subscriber (bulk provision).
        #[arg(long, conflicts_with = "subscribers")]
        all_subscribers: bool,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        recipient: Option<String>,
        /// Days the approval stays in force (1–90).
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
    /// Approve a request (a chief manager or a responsible person other than the requester).
    Approve {
        id: String,
        #[arg(long)]
        approver: String,
    },
    /// List export requests with their state (requested, approved, produced, downloaded).
    List,
    /// Show one export request with its artefact.
    Show { id: String },
    /// Produce the artefact of an approved request (the requester): the export runs through the
    /// gateway (every decision audited) into a JSON document encrypted to the recipient's age
    /// key; prints the ciphertext's SHA-256, which the ledger's `export_produced` entry holds.
    Produce {
        id: String,
        /// The recipient's age X25519 public key (`age1…`).
        #[arg(long, value_name = "AGE_KEY")]
        recipient: String,
        /// The requester, who produces it.
        #[arg(long)]
        by: String,
        /// The channel the export goes through, for a purpose that lists its channels.
        #[arg(long, value_parser = parse_channel)]
        channel: Option<Channel>,
        /// The handling zone the export is made from, where the deployment requires one.
        #[arg(long)]
        zone: Option<String>,
    },
    /// Download the artefact, once (the requester), into a new file (mode 0600; an existing
    /// file is never overwritten); prints its SHA-256 to compare with the ledger.
    ///
    /// External media (外部記録媒体) are refused unless a media exception is in force for the
    /// person and the medium (`tokutei media grant`). Without `--medium`, the medium is found
    /// from the file's directory: on Linux its block device in sysfs (USB, optical drive, SD
    /// card, another removable device); when that cannot be determined (not Linux, tmpfs, a
    /// network share) the file counts as the local host's fixed disk (`local`).
    Download {
        id: String,
        /// The file to write (must not exist).
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
        /// The medium written to: local, usb, optical, sd_card, external_disk, other.
        #[arg(long, value_name = "KIND")]
        medium: Option<String>,
        /// The requester, who downloads it.
        #[arg(long)]
        by: String,
    },
}

/// `exports download`: the medium decided (`--medium`, or found from the file's directory),
/// the new file created (0600, never over an existing one) before the one download, then
/// written; removed again when the download is refused.
fn download(
    global: &GlobalArgs,
    id: String,
    out: &std::path::Path,
    medium: Option<&str>,
    by: &str,
) -> anyhow::Result<Report> {
    use std::io::Write as _;
    let id = ExportId::parse_as("id", id)?;
    let by = person("by", by)?;
    let medium = match medium {
        Some(text) => Medium::parse("medium", text)?,
        None => crate::medium::detect(out),
    };
    if medium == Medium::Network {
        bail!("`medium`: `network` is a download over HTTP (API or console); a file is local or an external medium");
    }
    let service = open_app(global)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(out)
        .with_context(|| format!("cannot create `{}` (an existing file is never overwritten)", out.display()))?;
    let got = match service.download_export(&by, &id, medium, Timestamp::now()) {
        Ok(got) => got,
        Err(e) => {
            drop(file);
            let _ = std::fs::remove_file(out);
            return Err(e.into());
        }
    };
    file.write_all(&got.ciphertext)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write `{}`", out.display()))?;
    let exception = got.exception.as_deref().map(|e| format!(" under media exception `{e}`")).unwrap_or_default();
    let human = format!(
        "wrote the artefact of export request `{id}` to {} ({} bytes, {}{exception})\n  sha256 {}\n  compare it with the ledger's `export_produced` entry (tokutei audit query)\n",
        out.display(),
        got.bytes,
        medium.code(),
        got.sha256
    );
    Ok(Report::new(human, serde_json::json!({ "id": id, "file": out, "download": got })))
}

/// One line of `exports list`.
fn export_line(v: &tokutei_app::exports::ExportView) -> String {
    let (ja, en) = v.state.label();
    let r = &v.request.request;
    format!("{}  {ja} {en}  {}  by {}  until {}\n", r.id, r.purpose, r.requested_by, r.valid_until)
}

pub fn exports(global: &GlobalArgs, cmd: ExportsCommand) -> anyhow::Result<Report> {
    let open = || open_app(global);
    match cmd {
        ExportsCommand::Produce { id, recipient, by, channel, zone } => {
            let produce = Produce {
                id: ExportId::parse_as("id", id)?,
                recipient_key: artefact::parse_recipient(&recipient)?.to_string(),
                channel,
                zone,
                terminal: Some(crate::cli::THIS_HOST),
                client: "cli".to_string(),
            };
            let by = person("by", &by)?;
            let service = open()?;
            let produced = service.produce_export(&by, &produce, Timestamp::now())?;
            let human = format!(
                "produced the artefact of export request `{}`: {} bytes for {} subscribers ({} categories exported, {} refused)\n  sha256 {}\n",
                produced.export,
                produced.bytes,
                produced.subscribers,
                produced.allowed,
                produced.denied,
                produced.sha256
            );
            Ok(Report::new(human, &produced))
        }
        ExportsCommand::Download { id, out, medium, by } => download(global, id, &out, medium.as_deref(), &by),
        ExportsCommand::Request {
            id,
            staff,
            purpose,
            categories: named,
            subscribers: covered,
            all_subscribers,
            reason,
            recipient,
            days,
        } => {
            let new = NewExport {
                id: ExportId::parse_as("id", id)?,
                purpose: PurposeId::parse(purpose)?,
                categories: categories(&named)?,
                subscribers: if all_subscribers { None } else { Some(subscribers(&covered)?) },
                reason,
                recipient,
                days,
            };
            let by = person("staff", &staff)?;
            let service = open()?;
            let filed = service.request_export(&by, &new, Timestamp::now())?;
            Ok(Report::new(format!("filed export request `{}`; it needs approval\n", new.id), &filed))
        }
        ExportsCommand::Approve { id, approver } => {
            let id = ExportId::parse_as("id", id)?;
            let by = person("approver", &approver)?;
            let service = open()?;
            let approved = service.approve_export(&by, &id, Timestamp::now())?;
            Ok(Report::new(format!("approved export request `{id}`\n"), &approved))
        }
        ExportsCommand::List => {
            let all = open()?.export_views()?;
            Ok(Report::new(all.iter().map(export_line).collect::<String>(), all))
        }
        ExportsCommand::Show { id } => {
            let id = ExportId::parse_as("id", id)?;
            let v = open()?.export_view(&id)?;
            let mut human = export_line(&v);
            if let Some(a) = &v.artefact {
                human.push_str(&format!("  sha256 {}  {} bytes  recipient {}\n", a.sha256, a.bytes, a.recipient_key));
                if let Some(d) = &a.download {
                    human.push_str(&format!("  downloaded by {} at {} onto {}\n", d.by, d.at, d.medium));
                }
            }
            Ok(Report::new(human, &v))
        }
    }
}
