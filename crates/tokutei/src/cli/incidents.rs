//! `tokutei incidents …`: the leak-incident register — open, update, triage, the reports and
//! their submission, the impact from the ledger (with inclusion proofs), notices, the public
//! entry (publish, correct, withdraw) and the open obligations — each through one application
//! function of `tokutei_app::incidents`, which validates, audits first and stores. Text output
//! is Japanese first, with the policy's names and Tokyo times; `--json` gives the same as data.

use super::parse_time;
use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use jiff::Timestamp;
use tokutei_app::incidents::{
    ImpactOutcome, ImpactQuery, IncidentPatch, IncidentView, NewIncident, NoticeMethod, NoticeRead, ObligationView,
    SubmitReport, Triage, TriageInput,
};
use tokutei_app::{Acting, ActionError, App, CategoryId, IncidentId, PrincipalId, PurposeId, ServiceId, SubscriberId};
use tokutei_policy::{Channel, Policy, Text, tokyo};
use tokutei_store::incident::{
    Flags, IncidentStatus, Occurrence, Persons, ProcessorLink, Regime, Report as ReportKind,
};

use crate::audit_log::AuditLog;
use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// Register a leak incident as far as known; prints its id and the reports owed with their due dates.
    Open(Box<OpenArgs>),
    /// The register, newest first: id, status, reports owed.
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One incident: its fields, reports with days left, impact, notices and public entry.
    Show { id: String },
    /// Every version of an incident: what was known when, and who changed it.
    History { id: String },
    /// Change fields of an incident (a new version; an empty text clears a field).
    Update(Box<UpdateArgs>),
    /// Triage: the APPI flags as now known; the reports owed are computed again (submitted ones kept).
    Triage(TriageArgs),
    /// A report as it would be filed today (Japanese), with the items still empty.
    Report(ReportArgs),
    /// Record that a report was submitted (a final report only with every item filled).
    Submit(SubmitArgs),
    /// Compute from the audit ledger which subscribers and categories were read in a window.
    Impact(ImpactArgs),
    /// The inclusion proof of a ledger entry behind an incident's impact, against the latest checkpoint.
    Proof {
        id: String,
        #[arg(long, value_name = "N")]
        index: u64,
    },
    /// Letters to the affected persons, with contacts read through the gateway (audited, not stored).
    Notices(NoticesArgs),
    /// Record that notices were sent to affected persons.
    Notified(NotifiedArgs),
    /// Record the alternative measure taken where notice is impossible, with its reason.
    Alternative(AlternativeArgs),
    /// Publish an incident on /leaks and the policy page (事故内容) for its 10-year window.
    Publish(PublishArgs),
    /// Correct the public entry: a new version; the old text stays in its public history.
    Correct(CorrectArgs),
    /// Withdraw the public entry: refused (exit 1) inside its window, naming the date it ends.
    Withdraw(WithdrawArgs),
    /// Every report not yet submitted, by due date, with its days left.
    Due,
}

/// Who acts: a chief manager or responsible person of the staff registry.
#[derive(Debug, Args)]
pub struct By {
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

/// As [`By`], for the commands DESIGN §4 fixes without it: without `--by`, the entry's actor
/// is the system `cli` (as `policy publish`).
#[derive(Debug, Args)]
pub struct MaybeBy {
    #[arg(long, value_name = "STAFF_ID")]
    by: Option<String>,
}

impl MaybeBy {
    fn acting(self) -> Acting {
        self.by.map_or(Acting::Setup("cli"), Acting::Person)
    }
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    #[arg(long)]
    title: String,
    #[arg(long, value_name = "TEXT")]
    title_en: Option<String>,
    /// When the carrier knew (the report clocks run from it): YYYY-MM-DD (Tokyo) or RFC 3339.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    known_at: Timestamp,
    /// secrecy (通信の秘密), tokutei (特定利用者情報), appi (個人情報保護法); repeat for several.
    #[arg(long, required = true, value_parser = parse_regime)]
    regime: Vec<Regime>,
    /// When it occurred (with `--occurred-until`, the start of a range).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    occurred_at: Option<Timestamp>,
    #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "occurred_at")]
    occurred_until: Option<Timestamp>,
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    discovered_at: Option<Timestamp>,
    #[arg(long, value_name = "N")]
    persons: Option<u64>,
    /// The number of persons is an estimate.
    #[arg(long, requires = "persons")]
    estimated: bool,
    /// An unlawful purpose is suspected (unauthorised access, insider theft).
    #[arg(long)]
    malicious: bool,
    /// 要配慮個人情報 is involved.
    #[arg(long)]
    sensitive: bool,
    /// Financial damage may follow.
    #[arg(long)]
    financial: bool,
    /// The data was protected by strong encryption.
    #[arg(long)]
    encrypted: bool,
    #[arg(long)]
    summary: Option<String>,
    #[arg(long, value_name = "TEXT")]
    summary_en: Option<String>,
    /// How it was discovered (発覚の経緯).
    #[arg(long)]
    discovery: Option<String>,
    #[arg(long = "category", value_name = "ID")]
    categories: Vec<String>,
    #[arg(long = "service", value_name = "ID")]
    services: Vec<String>,
    #[command(flatten)]
    by: MaybeBy,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    id: String,
    #[arg(long)]
    title: Option<String>,
    #[arg(long, value_name = "TEXT", requires = "title")]
    title_en: Option<String>,
    #[arg(long)]
    summary: Option<String>,
    #[arg(long, value_name = "TEXT", requires = "summary")]
    summary_en: Option<String>,
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    occurred_at: Option<Timestamp>,
    #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "occurred_at")]
    occurred_until: Option<Timestamp>,
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    discovered_at: Option<Timestamp>,
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    known_at: Option<Timestamp>,
    #[arg(long)]
    discovery: Option<String>,
    /// The categories affected (replaces the list).
    #[arg(long = "category", value_name = "ID")]
    categories: Vec<String>,
    /// The services affected (replaces the list).
    #[arg(long = "service", value_name = "ID")]
    services: Vec<String>,
    /// What leaked, in words.
    #[arg(long)]
    content: Option<String>,
    #[arg(long, value_name = "N")]
    persons: Option<u64>,
    #[arg(long, requires = "persons")]
    estimated: bool,
    #[arg(long)]
    cause: Option<String>,
    #[arg(long)]
    secondary_damage: Option<String>,
    /// The response to the persons affected.
    #[arg(long)]
    response: Option<String>,
    /// Recurrence prevention.
    #[arg(long)]
    prevention: Option<String>,
    /// Other reference information.
    #[arg(long)]
    other: Option<String>,
    /// open, reported or closed (forward only; closed once every report is submitted).
    #[arg(long, value_parser = parse_status)]
    status: Option<IncidentStatus>,
    /// A processor (委託先) linked to the incident.
    #[arg(long, value_name = "NAME")]
    processor: Option<String>,
    /// When the processor notified the carrier.
    #[arg(long, value_name = "TIME", value_parser = parse_time, requires = "processor")]
    processor_notified_at: Option<Timestamp>,
    /// A value of one of the deployment's own report items: ID=VALUE.
    #[arg(long = "item", value_name = "ID=VALUE", value_parser = parse_item)]
    items: Vec<(String, String)>,
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct TriageArgs {
    id: String,
    #[arg(long)]
    malicious: bool,
    #[arg(long)]
    sensitive: bool,
    #[arg(long)]
    financial: bool,
    #[arg(long)]
    encrypted: bool,
    #[arg(long, value_name = "N")]
    persons: Option<u64>,
    #[arg(long, requires = "persons")]
    estimated: bool,
    /// The regimes (replaces the list when given).
    #[arg(long, value_parser = parse_regime)]
    regime: Vec<Regime>,
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    id: String,
    #[arg(long, value_parser = parse_regime)]
    regime: Regime,
    /// first (第一報), detailed (詳報), preliminary (速報) or final (確報).
    #[arg(long, value_parser = parse_report)]
    report: ReportKind,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    id: String,
    #[arg(long, value_parser = parse_regime)]
    regime: Regime,
    #[arg(long, value_parser = parse_report)]
    report: ReportKind,
    /// When it was submitted (default: now).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    submitted_at: Option<Timestamp>,
    /// Who received it (default: the configured recipient).
    #[arg(long)]
    recipient: Option<String>,
    /// The recipient's reference number (受付番号).
    #[arg(long)]
    reference: Option<String>,
    /// The document as submitted (default: the report as `incidents report` prints it).
    #[arg(long, value_name = "FILE")]
    document: Option<PathBuf>,
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct ImpactArgs {
    id: String,
    /// Reads by this principal.
    #[arg(long, value_name = "ID")]
    principal: Option<String>,
    /// Reads through this API token (its id).
    #[arg(long, value_name = "TOKEN_ID")]
    token: Option<String>,
    /// Only reads of these categories (alone: every principal's reads of them).
    #[arg(long = "category", value_name = "ID")]
    categories: Vec<String>,
    /// Inclusive.
    #[arg(long, value_name = "T", value_parser = parse_time)]
    since: Timestamp,
    /// Exclusive.
    #[arg(long, value_name = "T", value_parser = parse_time)]
    until: Timestamp,
    /// Take the number of persons of the reports from the affected subscribers.
    #[arg(long)]
    set_persons: bool,
    #[command(flatten)]
    by: MaybeBy,
}

#[derive(Debug, Args)]
pub struct NoticesArgs {
    id: String,
    /// The purpose the contacts are read for (one the policy allows for the contact category).
    #[arg(long, value_name = "ID")]
    purpose: String,
    /// The contact category (`contract.email`, `contract.address`…).
    #[arg(long, value_name = "CATEGORY")]
    contact: String,
    #[arg(long, value_parser = parse_channel)]
    channel: Option<Channel>,
    #[arg(long)]
    zone: Option<String>,
    /// Only these affected subscribers (default: every one).
    #[arg(long = "subscriber", value_name = "ID")]
    subscribers: Vec<String>,
    /// The person reading the contacts (a manager, through the gateway).
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct NotifiedArgs {
    id: String,
    /// email, post, phone, sms or other.
    #[arg(long, value_parser = parse_method)]
    method: NoticeMethod,
    #[arg(long = "subscriber", value_name = "ID", required = true)]
    subscribers: Vec<String>,
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    sent_at: Option<Timestamp>,
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct AlternativeArgs {
    id: String,
    /// The measure (ウェブサイトでの公表…).
    #[arg(long)]
    measure: String,
    /// Why notice is impossible.
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    id: String,
    /// The entry's text (事故内容, without personal data); default: the incident's summary.
    #[arg(long)]
    text: Option<String>,
    #[arg(long, value_name = "TEXT", requires = "text")]
    text_en: Option<String>,
    #[command(flatten)]
    by: MaybeBy,
}

#[derive(Debug, Args)]
pub struct CorrectArgs {
    id: String,
    #[arg(long)]
    text: String,
    #[arg(long, value_name = "TEXT")]
    text_en: Option<String>,
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct WithdrawArgs {
    id: String,
    #[arg(long, default_value = "掲載期間の終了")]
    reason: String,
    #[command(flatten)]
    by: MaybeBy,
}

fn parse_regime(text: &str) -> Result<Regime, String> {
    Regime::from_code(text).ok_or_else(|| format!("`{text}` is not a regime; use secrecy, tokutei or appi"))
}

fn parse_report(text: &str) -> Result<ReportKind, String> {
    ReportKind::from_code(text)
        .ok_or_else(|| format!("`{text}` is not a report; use first, detailed, preliminary or final"))
}

fn parse_status(text: &str) -> Result<IncidentStatus, String> {
    IncidentStatus::from_code(text).ok_or_else(|| format!("`{text}` is not a status; use open, reported or closed"))
}

fn parse_method(text: &str) -> Result<NoticeMethod, String> {
    NoticeMethod::from_code(text)
        .ok_or_else(|| format!("`{text}` is not a method; use email, post, phone, sms or other"))
}

fn parse_channel(text: &str) -> Result<Channel, String> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| format!("`{text}` is not a channel of the policy file"))
}

fn parse_item(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .ok_or_else(|| format!("`{text}` is not ID=VALUE"))
}

fn text(ja: Option<String>, en: Option<String>) -> Option<Text> {
    ja.map(|ja| Text { ja, en })
}

fn occurrence(at: Option<Timestamp>, until: Option<Timestamp>) -> Option<Occurrence> {
    match (at, until) {
        (Some(from), Some(to)) => Some(Occurrence::Between { from, to }),
        (Some(at), None) => Some(Occurrence::At { at }),
        _ => None,
    }
}

fn ids<T>(list: &[String], parse: fn(String) -> tokutei_app::ActionResult<T>) -> anyhow::Result<Vec<T>> {
    Ok(list.iter().map(|s| parse(s.clone())).collect::<Result<Vec<_>, _>>()?)
}

pub fn run(global: &GlobalArgs, cmd: IncidentsCommand) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let store = data.open_store()?;
    let audit = AuditLog::open_with_store(&data, &store)?;
    let app = crate::access::open_service(&data, &store, &audit)?;
    let now = Timestamp::now();
    let policy = app.active_policy(now)?.map(|(_, p)| p);
    let names = Names(policy.as_deref());
    match cmd {
        IncidentsCommand::Open(args) => {
            let args = *args;
            let new = NewIncident {
                title: Text { ja: args.title, en: args.title_en },
                summary: text(args.summary, args.summary_en),
                known_at: args.known_at,
                discovered_at: args.discovered_at,
                occurred: occurrence(args.occurred_at, args.occurred_until).unwrap_or_default(),
                regimes: args.regime,
                persons: args.persons.map(|count| Persons { count, estimated: args.estimated }),
                flags: Flags {
                    sensitive: args.sensitive,
                    financial: args.financial,
                    malicious: args.malicious,
                    encrypted: args.encrypted,
                },
                categories: ids(&args.categories, CategoryId::parse)?,
                services: ids(&args.services, ServiceId::parse)?,
                discovery: args.discovery,
            };
            let view = app.open_incident(&args.by.acting(), &new, now)?;
            Ok(Report::new(
                format!("登録しました opened {}\n{}", view.id, obligations_text(&view.obligations)),
                view.to_json(),
            ))
        }
        IncidentsCommand::List { limit } => {
            let all = app.incidents(limit, now)?;
            let human = if all.is_empty() {
                "事案はありません no incidents\n".to_string()
            } else {
                all.iter().map(|v| format!("{}\n", summary_line(v))).collect()
            };
            Ok(Report::new(human, all.iter().map(IncidentView::to_json).collect::<Vec<_>>()))
        }
        IncidentsCommand::Show { id } => {
            let view = app.incident(&IncidentId::parse(id)?, now)?;
            Ok(Report::new(show_text(&view, &names), view.to_json()))
        }
        IncidentsCommand::History { id } => {
            let versions = app.incident_history(&IncidentId::parse(id)?)?;
            let human: String = versions
                .iter()
                .map(|v| {
                    format!(
                        "v{}  {}  {}  by {}  (audit {})\n",
                        v.version,
                        tokyo::minutes(v.changed_at),
                        v.change,
                        v.changed_by,
                        v.audit_index
                    )
                })
                .collect();
            let json: Vec<serde_json::Value> = versions.iter().map(tokutei_app::incidents::version_json).collect();
            Ok(Report::new(human, json))
        }
        IncidentsCommand::Update(args) => {
            let args = *args;
            let patch = IncidentPatch {
                title: text(args.title, args.title_en),
                summary: text(args.summary, args.summary_en),
                occurred: occurrence(args.occurred_at, args.occurred_until),
                discovered_at: args.discovered_at,
                known_at: args.known_at,
                discovery: args.discovery,
                categories: (!args.categories.is_empty())
                    .then(|| ids(&args.categories, CategoryId::parse))
                    .transpose()?,
                services: (!args.services.is_empty()).then(|| ids(&args.services, ServiceId::parse)).transpose()?,
                content: args.content,
                persons: args.persons.map(|count| Persons { count, estimated: args.estimated }),
                cause: args.cause,
                secondary_damage: args.secondary_damage,
                response: args.response,
                prevention: args.prevention,
                other: args.other,
                status: args.status,
                processors: args
                    .processor
                    .map(|name| vec![ProcessorLink { name, notified_at: args.processor_notified_at }])
                    .unwrap_or_default(),
                extra: args.items.into_iter().collect::<BTreeMap<_, _>>(),
            };
            let id = IncidentId::parse(args.id)?;
            let view = app.update_incident(&Acting::Person(args.by.by), &id, &patch, now)?;
            Ok(Report::new(
                format!(
                    "更新しました updated {} (版 version {})\n{}",
                    view.id,
                    view.version,
                    obligations_text(&view.obligations)
                ),
                view.to_json(),
            ))
        }
        IncidentsCommand::Triage(args) => {
            let input = TriageInput {
                flags: Flags {
                    sensitive: args.sensitive,
                    financial: args.financial,
                    malicious: args.malicious,
                    encrypted: args.encrypted,
                },
                persons: args.persons.map(|count| Persons { count, estimated: args.estimated }),
                regimes: (!args.regime.is_empty()).then_some(args.regime),
            };
            let view = app.triage_incident(&Acting::Person(args.by.by), &IncidentId::parse(args.id)?, &input, now)?;
            Ok(Report::new(
                format!(
                    "判定しました triaged {}: {}\n{}",
                    view.id,
                    triage_text(&view.triage),
                    obligations_text(&view.obligations)
                ),
                view.to_json(),
            ))
        }
        IncidentsCommand::Report(args) => {
            let doc = app.report_document(&IncidentId::parse(args.id)?, args.regime, args.report, now)?;
            Ok(Report::new(doc.text.clone(), &doc))
        }
        IncidentsCommand::Submit(args) => {
            let document = match &args.document {
                Some(path) => Some(std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?),
                None => None,
            };
            let how = SubmitReport {
                submitted_at: args.submitted_at,
                recipient: args.recipient,
                reference: args.reference,
                document,
            };
            let id = IncidentId::parse(args.id)?;
            let done = app.submit_report(&Acting::Person(args.by.by), &id, args.regime, args.report, &how, now)?;
            let submission = done.submission.as_ref().context("the submission was recorded")?;
            Ok(Report::new(
                format!(
                    "提出を記録しました submitted {} {} {} → {} ({}; sha256 {})\n",
                    id,
                    regime_short(done.regime),
                    done.report.ja(),
                    submission.recipient,
                    tokyo::minutes(submission.submitted_at),
                    submission.digest
                ),
                done.to_json(),
            ))
        }
        IncidentsCommand::Impact(args) => {
            let query = ImpactQuery {
                principal: args.principal.map(PrincipalId::parse).transpose()?,
                token: args.token,
                categories: ids(&args.categories, CategoryId::parse)?,
                since: args.since,
                until: args.until,
                set_persons: args.set_persons,
            };
            let impact = app.compute_impact(&args.by.acting(), &IncidentId::parse(args.id)?, &query, now)?;
            Ok(Report::new(impact_text(&impact, &names), &impact))
        }
        IncidentsCommand::Proof { id, index } => {
            let checkpoint = audit.checkpoint()?;
            let proof = app.impact_proof(&IncidentId::parse(id)?, index, audit.origin(), &checkpoint)?;
            Ok(Report::new(serde_json::to_string_pretty(&proof)? + "\n", proof))
        }
        IncidentsCommand::Notices(args) => {
            let read = NoticeRead {
                purpose: PurposeId::parse(args.purpose)?,
                contact: CategoryId::parse_as("contact", args.contact)?,
                channel: args.channel,
                zone: args.zone,
                terminal: Some(crate::cli::THIS_HOST),
                subscribers: ids(&args.subscribers, SubscriberId::parse)?,
                client: "cli".into(),
            };
            let letters = app.notice_letters(&Acting::Person(args.by.by), &IncidentId::parse(args.id)?, &read, now)?;
            let human: String = letters
                .letters
                .iter()
                .map(|l| {
                    format!(
                        "--- {}  宛先 to: {}\n{}\n",
                        l.subscriber,
                        l.contact.as_deref().unwrap_or("（連絡先を読めません: 代替措置を検討 contact not readable）"),
                        l.text
                    )
                })
                .collect();
            Ok(Report::new(human, &letters))
        }
        IncidentsCommand::Notified(args) => {
            let subscribers = ids(&args.subscribers, SubscriberId::parse)?;
            let id = IncidentId::parse(args.id)?;
            let done =
                app.record_notices(&Acting::Person(args.by.by), &id, &subscribers, args.method, args.sent_at, now)?;
            Ok(Report::new(
                format!(
                    "通知を記録しました recorded {} notices ({}) for {}\n",
                    done.count,
                    done.method.code(),
                    done.incident
                ),
                &done,
            ))
        }
        IncidentsCommand::Alternative(args) => {
            let id = IncidentId::parse(args.id)?;
            let done =
                app.record_alternative_measure(&Acting::Person(args.by.by), &id, &args.measure, &args.reason, now)?;
            Ok(Report::new(format!("代替措置を記録しました recorded: {}\n", done.measure), &done))
        }
        IncidentsCommand::Publish(args) => {
            let id = IncidentId::parse(args.id)?;
            let entry = text(args.text, args.text_en);
            let published = app.publish_incident(&args.by.acting(), &id, entry.as_ref(), now)?;
            Ok(Report::new(
                format!(
                    "公表しました published {id}: 発生日 {}、掲載期限 listed until {}\n",
                    published.occurred, published.listed_until
                ),
                serde_json::json!({ "id": id.as_str(), "publication": published }),
            ))
        }
        IncidentsCommand::Correct(args) => {
            let id = IncidentId::parse(args.id)?;
            let text = Text { ja: args.text, en: args.text_en };
            let corrected = app.correct_publication(&Acting::Person(args.by.by), &id, &text, now)?;
            Ok(Report::new(
                format!(
                    "訂正しました corrected {id} (版 version {}); 訂正前の文は公開の履歴に残ります\n",
                    corrected.version
                ),
                serde_json::json!({ "id": id.as_str(), "publication": corrected }),
            ))
        }
        IncidentsCommand::Withdraw(args) => withdraw(&app, args, now),
        IncidentsCommand::Due => {
            let open = app.open_obligations(now)?;
            let human = if open.is_empty() {
                "未提出の報告はありません no reports due\n".to_string()
            } else {
                open.iter()
                    .map(|o| {
                        format!(
                            "{}  {} {}  期限 due {}  {}  {}\n",
                            o.incident,
                            regime_short(o.regime),
                            o.report.ja(),
                            o.due,
                            days_text(o.days_left),
                            o.title
                        )
                    })
                    .collect()
            };
            let json: Vec<serde_json::Value> = open
                .iter()
                .map(|o| {
                    let mut v = serde_json::to_value(o).unwrap_or_default();
                    v["id"] = serde_json::json!(format!("{}/{}/{}", o.incident, o.regime.code(), o.report.code()));
                    v
                })
                .collect();
            Ok(Report::new(human, json))
        }
    }
}

/// A withdrawal refused inside the window is a failed check (exit 1) naming the date it ends.
fn withdraw(app: &App, args: WithdrawArgs, now: Timestamp) -> anyhow::Result<Report> {
    let id = IncidentId::parse(args.id)?;
    match app.withdraw_incident(&args.by.acting(), &id, &args.reason, now) {
        Ok(done) => Ok(Report::new(
            format!("公表を取り下げました withdrawn {id}\n"),
            serde_json::json!({ "id": id.as_str(), "withdrawn": true, "withdrawal": done }),
        )),
        Err(ActionError::Conflict(message)) => {
            let listed_until = app.incident(&id, now).ok().and_then(|v| v.listed_until).map(|d| d.to_string());
            Ok(Report::new(
                format!(
                    "取り下げできません refused: {message}\n掲載期限 listed until {}\n",
                    listed_until.as_deref().unwrap_or("-")
                ),
                serde_json::json!({ "id": id.as_str(), "withdrawn": false, "listed_until": listed_until, "error": message }),
            )
            .failed())
        }
        Err(e) => Err(e.into()),
    }
}

/// The policy in force, for names.
struct Names<'a>(Option<&'a Policy>);

impl Names<'_> {
    fn category(&self, id: &str) -> String {
        match self.0.and_then(|p| p.category(id)) {
            Some(c) => format!("{}（{id}）", c.name.ja),
            None => id.to_string(),
        }
    }

    fn service(&self, id: &str) -> String {
        match self.0.and_then(|p| p.service(id)) {
            Some(s) => format!("{}（{id}）", s.name.ja),
            None => id.to_string(),
        }
    }
}

fn regime_short(regime: Regime) -> &'static str {
    match regime {
        Regime::Secrecy => "通信の秘密",
        Regime::Tokutei => "特定利用者情報",
        Regime::Appi => "個人情報保護法",
    }
}

fn days_text(days: i64) -> String {
    match days {
        d if d < 0 => format!("期限超過 {}日 overdue by {} days", -d, -d),
        0 => "本日期限 due today".to_string(),
        d => format!("あと{d}日 {d} days left"),
    }
}

fn triage_text(triage: &Triage) -> String {
    match triage {
        Triage::Reportable { triggers } => {
            let names: Vec<&str> = triggers
                .iter()
                .map(|t| match t {
                    tokutei_app::incidents::rules::Trigger::Sensitive => "要配慮個人情報",
                    tokutei_app::incidents::rules::Trigger::Financial => "財産的被害のおそれ",
                    tokutei_app::incidents::rules::Trigger::Malicious => "不正の目的",
                    tokutei_app::incidents::rules::Trigger::ManyPersons => "1,000人超",
                })
                .collect();
            format!("個人情報保護委員会規則7条の報告対象 APPI reportable（{}）", names.join("・"))
        }
        Triage::Encrypted => "高度な暗号化により報告対象外 not reportable (strongly encrypted)".to_string(),
        Triage::NoTrigger => "個人情報保護法の報告対象外 not reportable under APPI".to_string(),
    }
}

fn obligations_text(list: &[ObligationView]) -> String {
    if list.is_empty() {
        return "  報告義務なし no reports owed\n".to_string();
    }
    list.iter()
        .map(|o| {
            let state = match &o.submission {
                Some(s) => format!(
                    "提出済み submitted {}{}",
                    tokyo::minutes(s.submitted_at),
                    s.reference.as_ref().map(|r| format!(" 受付番号 {r}")).unwrap_or_default()
                ),
                None => days_text(o.days_left.unwrap_or_default()),
            };
            format!(
                "  {} {} ({} {})  期限 due {}{}  提出先 {}  {}\n",
                regime_short(o.regime),
                o.report.ja(),
                o.regime.code(),
                o.report.code(),
                o.due,
                if o.unconfirmed { "（未確認の規定 unconfirmed rule）" } else { "" },
                o.recipient,
                state
            )
        })
        .collect()
}

fn summary_line(v: &IncidentView) -> String {
    let next = v.obligations.iter().filter(|o| o.submission.is_none()).min_by_key(|o| o.due);
    format!(
        "{}  {}  {} {}{}",
        v.id,
        v.status.ja(),
        v.status.code(),
        v.fields.title.ja,
        next.map(|o| format!("  次の期限 next due {} {} {}", o.due, regime_short(o.regime), o.report.ja()))
            .unwrap_or_default()
    )
}

fn occurrence_text(o: &Occurrence) -> String {
    match o {
        Occurrence::Unknown => "不明 unknown".to_string(),
        Occurrence::At { at } => tokyo::minutes(*at),
        Occurrence::Between { from, to } => format!("{} 〜 {}", tokyo::minutes(*from), tokyo::minutes(*to)),
    }
}

fn show_text(v: &IncidentView, names: &Names<'_>) -> String {
    let f = &v.fields;
    let mut out = format!(
        "{}  {}{}\n  状況 status: {} {} (版 version {}, {} {})\n",
        v.id,
        f.title.ja,
        f.title.en.as_ref().map(|e| format!(" / {e}")).unwrap_or_default(),
        v.status.ja(),
        v.status.code(),
        v.version,
        tokyo::minutes(v.changed_at),
        v.changed_by
    );
    out.push_str(&format!(
        "  発生 occurred: {}\n  発覚 discovered: {}\n  覚知 known: {}\n",
        occurrence_text(&f.occurred),
        f.discovered_at.map_or_else(|| "不明 unknown".to_string(), tokyo::minutes),
        tokyo::minutes(f.known_at)
    ));
    let regimes: Vec<&str> = f.regimes.iter().map(|r| r.ja()).collect();
    out.push_str(&format!("  制度 regimes: {}\n  判定 triage: {}\n", regimes.join("、"), triage_text(&v.triage)));
    if let Some(p) = f.persons {
        out.push_str(&format!("  人数 persons: {}{}\n", p.count, if p.estimated { "（推計 estimated）" } else { "" }));
    }
    if !f.categories.is_empty() {
        let list: Vec<String> = f.categories.iter().map(|c| names.category(c)).collect();
        out.push_str(&format!("  情報 categories: {}\n", list.join("、")));
    }
    if !f.services.is_empty() {
        let list: Vec<String> = f.services.iter().map(|s| names.service(s)).collect();
        out.push_str(&format!("  サービス services: {}\n", list.join("、")));
    }
    for (label, value) in [
        ("概要 summary", f.summary.as_ref().map(|s| s.ja.clone())),
        ("発覚の経緯 discovery", f.discovery.clone()),
        ("内容 content", f.content.clone()),
        ("原因 cause", f.cause.clone()),
        ("二次被害 secondary damage", f.secondary_damage.clone()),
        ("本人への対応 response", f.response.clone()),
        ("再発防止策 prevention", f.prevention.clone()),
        ("その他 other", f.other.clone()),
    ] {
        if let Some(value) = value {
            out.push_str(&format!("  {label}: {value}\n"));
        }
    }
    for p in &f.processors {
        out.push_str(&format!(
            "  委託先 processor: {}{}\n",
            p.name,
            p.notified_at.map(|t| format!("（通知 notified {}）", tokyo::minutes(t))).unwrap_or_default()
        ));
    }
    out.push_str("  報告 reports:\n");
    out.push_str(&obligations_text(&v.obligations));
    if let Some(i) = &v.impact {
        out.push_str(&format!("  影響 impact: {}人 subscribers, {} reads (#{})\n", i.subscribers, i.reads, i.number));
    }
    out.push_str(&format!("  通知 notices sent: {}\n", v.notices));
    for a in &v.alternatives {
        out.push_str(&format!("  代替措置 alternative: {}（{}）\n", a.measure, a.reason));
    }
    match (v.publications.last(), &v.withdrawal) {
        (_, Some(w)) => {
            out.push_str(&format!("  公表 public entry: 取下げ済み withdrawn {}\n", tokyo::minutes(w.withdrawn_at)))
        }
        (Some(p), None) => out.push_str(&format!(
            "  公表 public entry: 版 version {}（{}）掲載期限 listed until {}\n",
            p.version,
            tokyo::minutes(p.published_at),
            p.listed_until
        )),
        (None, None) => out.push_str("  公表 public entry: 未公表 not published\n"),
    }
    out
}

fn impact_text(i: &ImpactOutcome, names: &Names<'_>) -> String {
    let mut out = format!(
        "影響 impact #{} of {}: {}人 subscribers (ledger entries below {})\n",
        i.number,
        i.incident,
        i.subscribers.len(),
        i.tree_size
    );
    for (category, count) in &i.categories {
        out.push_str(&format!("  {}: {count}人\n", names.category(category)));
    }
    for item in &i.items {
        let indexes: Vec<String> = item.indexes.iter().map(u64::to_string).collect();
        out.push_str(&format!(
            "  {} {} ×{}  entries {}\n",
            item.subscriber,
            item.category,
            item.count,
            indexes.join(",")
        ));
    }
    if let Some(after) = &i.incident_after
        && let Some(p) = after.fields.persons
    {
        out.push_str(&format!("  人数を更新しました persons set to {}\n", p.count));
    }
    out
}
