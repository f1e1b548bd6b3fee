//! `tokutei access …`: use subscriber information through the gateway (read, update, export,
//! erase) and `tokutei access explain …` (the decision and the deciding policies, no data
//! read); `tokutei consent …` (record and show a subscriber's choices with their proof);
//! `tokutei contract …` (suspend, terminate, reactivate); `tokutei exports …` (export
//! requests and their approval). Denials exit 1.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use jiff::Timestamp;
use tokutei_app::{
    AccessCall, AccessOutcome, CategoryId, NewPlainValue, PrincipalId, PurposeId, SubscriberId, WriteCall,
};
use tokutei_ledger::{Action, Actor};
use tokutei_policy::{AcquisitionMethod, Channel, Date};
use tokutei_store::consent::{Choice, NewConsent};
use tokutei_store::staff::NewExportRequest;
use tokutei_store::vault::{Contract, ContractState, Provenance, Source};

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
    /// Show the decision and the policies that decide it, without reading data or auditing.
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
            subscribers: self.subscribers.iter().map(|s| SubscriberId::parse(s.as_str())).collect::<Result<_, _>>()?,
            categories: self.categories.iter().map(|c| CategoryId::parse(c.as_str())).collect::<Result<_, _>>()?,
            channel: self.channel,
            zone: self.zone.clone(),
            export_approval: self.export_approval.clone(),
            recipient: self.recipient.clone(),
            client: "cli".to_string(),
            now: Timestamp::now(),
        })
    }
}

pub fn run(global: &GlobalArgs, args: AccessArgs) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let store = data.open_store()?;
    let audit = AuditLog::open_with_store(&data, &store)?;
    let service = crate::access::open_service(&data, &store, &audit)?;
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
    let mut call = args.call()?;
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
            let notice = service.active_policy(call.now)?.map_or(0, |(n, _)| n);
            call.categories.clear();
            let provenance = Provenance {
                method,
                source: Source::Direct,
                collected_at: call.now,
                collected_by: call.principal.to_string(),
                notice_version: notice,
            };
            service.write(&WriteCall { call, values, provenance })?
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
        /// Who recorded it (staff id or system).
        #[arg(long, default_value = "cli")]
        recorded_by: String,
        /// A reference to the evidence (form id, call recording id).
        #[arg(long)]
        evidence: Option<String>,
    },
    /// A subscriber's current choices and their history.
    Show {
        #[arg(long)]
        subscriber: String,
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
    let data = global.data_dir();
    let store = data.open_store()?;
    match cmd {
        ConsentCommand::Record { subscriber, purpose, choice, channel, notice_version, recorded_by, evidence } => {
            let audit = AuditLog::open_with_store(&data, &store)?;
            let service = crate::access::open_service(&data, &store, &audit)?;
            let now = Timestamp::now();
            let notice = match notice_version {
                Some(n) => n,
                None => service.active_policy(now)?.map(|(n, _)| n).context("no policy version is in force")?,
            };
            let record = service.record_consent(
                Actor::System("cli".into()),
                &NewConsent {
                    subscriber,
                    purpose,
                    choice,
                    channel,
                    notice_version: notice,
                    recorded_at: now,
                    recorded_by,
                    evidence,
                },
            )?;
            Ok(Report::new(
                format!(
                    "recorded consent #{}: `{}` {} for `{}` (notice version {})\n",
                    record.id,
                    record.record.subscriber,
                    record.record.choice.id(),
                    record.record.purpose,
                    notice
                ),
                &record,
            ))
        }
        ConsentCommand::Show { subscriber } => {
            if store.subscriber(&subscriber)?.is_none() {
                bail!("subscriber `{subscriber}` not found");
            }
            let current = store.current_consents(&subscriber)?;
            let history = store.consent_history(&subscriber)?;
            let mut human = String::new();
            for c in &current {
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
            if current.is_empty() {
                human.push_str("no choices recorded\n");
            }
            Ok(Report::new(human, serde_json::json!({ "id": subscriber, "current": current, "history": history })))
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
        #[arg(long)]
        state: String,
        /// The day of the change (YYYY-MM-DD, default today in Asia/Tokyo).
        #[arg(long)]
        on: Option<Date>,
    },
}

pub fn contract(global: &GlobalArgs, cmd: ContractCommand) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let store = data.open_store()?;
    let ContractCommand::Set { subscriber, state, on } = cmd;
    let state = ContractState::from_id(&state)
        .with_context(|| format!("`--state` `{state}` is not a contract state; use active, suspended or terminated"))?;
    let current = store.subscriber(&subscriber)?.with_context(|| format!("subscriber `{subscriber}` not found"))?;
    let now = Timestamp::now();
    let day = on.unwrap_or(tokutei_policy::tokyo::date_of(now));
    let contract = Contract {
        state,
        started_on: current.contract.started_on,
        suspended_on: (state == ContractState::Suspended).then_some(day),
        terminated_on: (state == ContractState::Terminated).then_some(day),
    };
    let audit = AuditLog::open_with_store(&data, &store)?;
    let service = crate::access::open_service(&data, &store, &audit)?;
    service.set_contract(Actor::System("cli".into()), &subscriber, &contract, now)?;
    Ok(Report::new(
        format!("contract of `{subscriber}` is now {} (from {day})\n", state.id()),
        serde_json::json!({ "id": subscriber, "contract": contract }),
    ))
}

#[derive(Debug, Subcommand)]
pub enum ExportsCommand {
    /// File an export request (持出し申請).
    Request {
        id: String,
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
        /// Days the approval stays in force.
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
    /// Approve a request (by someone other than the requester).
    Approve {
        id: String,
        #[arg(long)]
        approver: String,
    },
    /// List export requests.
    List,
}

pub fn exports(global: &GlobalArgs, cmd: ExportsCommand) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let store = data.open_store()?;
    match cmd {
        ExportsCommand::Request {
            id,
            staff,
            purpose,
            categories,
            subscribers,
            all_subscribers,
            reason,
            recipient,
            days,
        } => {
            if subscribers.is_empty() && !all_subscribers {
                bail!("name the subscribers covered with `--subscriber`, or `--all-subscribers`");
            }
            if days == 0 || days > 90 {
                bail!("`--days` must be 1–90, got {days}");
            }
            let now = Timestamp::now();
            let request = NewExportRequest {
                id: id.clone(),
                requested_by: staff,
                purpose,
                categories,
                subscribers: (!all_subscribers).then_some(subscribers),
                reason,
                recipient,
                requested_at: now,
                valid_until: now + jiff::SignedDuration::from_hours(24 * i64::from(days)),
            };
            store.create_export_request(&request)?;
            let audit = AuditLog::open_with_store(&data, &store)?;
            audit.append_admin(
                Actor::Staff(request.requested_by.clone()),
                tokutei_ledger::AdminAction::ExportRequested,
                &format!("export/{id}"),
                None,
                vec![("purpose".into(), request.purpose.clone())],
            )?;
            Ok(Report::new(format!("filed export request `{id}`; it needs approval\n"), &request))
        }
        ExportsCommand::Approve { id, approver } => {
            let approved = store.approve_export(&id, &approver, Timestamp::now())?;
            let audit = AuditLog::open_with_store(&data, &store)?;
            audit.append_admin(
                Actor::Staff(approver.clone()),
                tokutei_ledger::AdminAction::ExportApproved,
                &format!("export/{id}"),
                None,
                vec![("requested_by".into(), approved.request.requested_by.clone())],
            )?;
            Ok(Report::new(format!("approved export request `{id}`\n"), &approved))
        }
        ExportsCommand::List => {
            let all = store.export_requests()?;
            let human: String = all
                .iter()
                .map(|r| {
                    let state = if r.approved_by.is_some() { "承認済 approved" } else { "申請中 pending" };
                    format!(
                        "{}  {}  {}  by {}  until {}\n",
                        r.request.id, state, r.request.purpose, r.request.requested_by, r.request.valid_until
                    )
                })
                .collect();
            Ok(Report::new(human, all))
        }
    }
}
