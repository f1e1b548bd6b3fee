//! `tokutei designation …`, `tokutei manager …`, `tokutei violations …` and `tokutei inspection …`: the oversight registers of a designated
//! carrier — the designation with its three statutory deadlines (the 規程 and its filings are
//! `tokutei rules`, [`super::rules`]),
//! the chief manager register (appointments, notifications) and the chief manager's opinions
//! with the company's responses — each change through one application function of
//! `tokutei_app::oversight`, which validates, audits first and stores. Text output is
//! Japanese first, with the policy's and the registry's names and Tokyo dates; `--json` gives
//! the same as data.

use clap::{Args, Subcommand};
use jiff::Timestamp;
use tokutei_app::oversight::designation::{DesignationInput, DesignationStatus};
use tokutei_app::oversight::inspection::{FindingInput, FindingView, InspectionView, Period};
use tokutei_app::oversight::manager::{
    AppointInput, AppointmentView, NotificationInput, OpinionInput, OpinionView, ResponseInput,
};
use tokutei_app::oversight::violations::{Outcome, ReportInput, ResolveInput, ViolationView};
use tokutei_app::{Acting, App, AppointmentId, IncidentId, OpinionId, PrincipalId, ServiceId};
use tokutei_policy::{Date, tokyo};

use crate::audit_log::AuditLog;
use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum DesignationCommand {
    /// Record the designation (告示 date and designated services) — again to correct it; prints the deadlines.
    Set(SetArgs),
    /// The designation in force and its three statutory deadlines: due date, days left, met or not.
    Show,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// The date of the 告示 that designated the carrier (YYYY-MM-DD, Tokyo).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    notified: Date,
    /// A designated service, by its id in the policy in force (repeat for each).
    #[arg(long = "service", value_name = "ID", required = true, num_args = 1..)]
    services: Vec<String>,
    /// Who records it: a chief manager or responsible person.
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

#[derive(Debug, Subcommand)]
pub enum ManagerCommand {
    /// Appoint the chief manager (統括管理者) from a date; the one in force ends the day before.
    Appoint(AppointArgs),
    /// Record the notification of an appointment to the ministry (closes its task).
    Notified(NotifiedArgs),
    /// The register: every appointment with its dates, evidence and notification.
    List,
    /// Record an opinion of the chief manager (27条の11).
    Opinion(OpinionArgs),
    /// Record the company's response to an opinion.
    Respond(RespondArgs),
    /// The opinions log with the responses and their deadlines.
    Opinions,
}

#[derive(Debug, Args)]
pub struct AppointArgs {
    /// The person appointed: a staff id with the role of chief manager.
    principal: String,
    /// The first day of the appointment (YYYY-MM-DD, Tokyo).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    from: Date,
    /// The qualification evidence: a text or a reference to a document.
    #[arg(long, value_name = "TEXT")]
    evidence: Option<String>,
    /// Who appoints: a chief manager or responsible person.
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

#[derive(Debug, Args)]
pub struct NotifiedArgs {
    /// The filing date of the notification (YYYY-MM-DD, Tokyo).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    date: Date,
    /// The ministry's receipt number or the office's file reference.
    #[arg(long, value_name = "REF")]
    reference: String,
    /// The appointment notified (`CM-…`); the one in force when left out.
    #[arg(long, value_name = "ID")]
    appointment: Option<String>,
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

#[derive(Debug, Args)]
pub struct OpinionArgs {
    /// The day the chief manager gave it (YYYY-MM-DD, Tokyo).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    date: Date,
    #[arg(long)]
    subject: String,
    #[arg(long)]
    text: String,
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

#[derive(Debug, Args)]
pub struct RespondArgs {
    /// The opinion (`OP-…`).
    opinion: String,
    /// The day of the response (YYYY-MM-DD, Tokyo).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    date: Date,
    #[arg(long)]
    text: String,
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

/// A date as typed, read by the one time parser: its day in Tokyo.
pub(super) fn parse_date(text: &str) -> Result<Date, String> {
    tokyo::parse_instant(text)
        .map(tokyo::date_of)
        .ok_or_else(|| format!("`{text}` is not a date: use YYYY-MM-DD (Tokyo)"))
}

pub(super) fn open(global: &GlobalArgs) -> anyhow::Result<App> {
    let data = global.data_dir();
    let store = data.open_store()?;
    let audit = AuditLog::open_with_store(&data, &store)?;
    crate::access::open_service(&data, &store, &audit)
}

fn days_text(days: i64) -> (String, String) {
    match days {
        0 => ("本日期限".into(), "due today".into()),
        d if d > 0 => (format!("残り{d}日"), format!("{d} days left")),
        d => (format!("{}日超過", -d), format!("{} days overdue", -d)),
    }
}

fn status_text(s: &DesignationStatus) -> String {
    let services: Vec<String> = s
        .services
        .iter()
        .map(|svc| match &svc.name {
            Some(name) => name.ja.clone(),
            None => svc.id.clone(),
        })
        .collect();
    let mut out = format!(
        "指定（告示日 {}）: {}\nDesignation (notified {}): {}\n",
        s.notified_on.ja(),
        services.join("、"),
        s.notified_on.en(),
        s.services
            .iter()
            .map(|svc| svc.name.as_ref().and_then(|n| n.en.clone()).unwrap_or_else(|| svc.id.clone()))
            .collect::<Vec<_>>()
            .join(", "),
    );
    for d in &s.deadlines {
        let (state_ja, state_en) = match d.met_on {
            Some(on) if d.on_time() => (format!("済（{}）", on.ja()), format!("met on {}", on.en())),
            Some(on) => (format!("済・期限後（{}）", on.ja()), format!("met late, on {}", on.en())),
            None => {
                let (ja, en) = days_text(d.days_left);
                (format!("未了・{ja}"), format!("not met, {en}"))
            }
        };
        out.push_str(&format!(
            "  {}  期限 {}  {}\n    {} — due {}, {}{}\n",
            d.duty.ja(),
            d.due.ja(),
            state_ja,
            d.duty.en(),
            d.due.en(),
            state_en,
            d.met_by.as_ref().map_or_else(String::new, |by| format!(" ({by})")),
        ));
    }
    out
}

fn display_name(app: &App, principal: &str) -> Option<String> {
    app.stores().principal(principal).ok().flatten().map(|p| p.display_name)
}

fn appointment_text(app: &App, v: &AppointmentView) -> String {
    let a = &v.appointment.appointment;
    let name = display_name(app, &a.principal).unwrap_or_else(|| a.principal.clone());
    let period = match v.appointment.to {
        Some(to) => format!("{}〜{}", a.from, to),
        None => format!("{}〜", a.from),
    };
    let mut out = format!(
        "{}  {}（{}）  {}{}\n",
        a.id,
        name,
        a.principal,
        period,
        if v.active { "  在任中 / in office" } else { "" }
    );
    match (v.notifications.last(), v.notification_days_left) {
        (Some(f), _) => out.push_str(&format!(
            "    届出済 {}（{}） / notified on {}\n",
            f.filing.filed_on.ja(),
            f.filing.reference,
            f.filing.filed_on.en()
        )),
        (None, Some(days)) => {
            let (ja, en) = days_text(days);
            out.push_str(&format!(
                "    届出未了・期限 {}（{ja}） / notification due {} ({en})\n",
                v.notification_due.ja(),
                v.notification_due.en()
            ));
        }
        (None, None) => {}
    }
    if let Some(evidence) = &a.evidence {
        out.push_str(&format!("    資格の根拠 / qualification: {evidence}\n"));
    }
    out
}

fn opinion_text(v: &OpinionView) -> String {
    let o = &v.opinion.opinion;
    let mut out = format!("{}  {}  {}（{}）\n    {}\n", o.id, o.given_on, o.subject, o.appointment, o.text);
    for r in &v.opinion.responses {
        out.push_str(&format!("    対応 / response {}: {}\n", r.responded_on, r.text));
    }
    if let Some(days) = v.response_days_left {
        let (ja, en) = days_text(days);
        out.push_str(&format!(
            "    対応未了・期限 {}（{ja}） / response due {} ({en})\n",
            v.response_due.ja(),
            v.response_due.en()
        ));
    }
    out
}

pub fn designation(global: &GlobalArgs, cmd: DesignationCommand) -> anyhow::Result<Report> {
    let now = Timestamp::now();
    match cmd {
        DesignationCommand::Set(args) => {
            // Validate what was typed before opening anything.
            let services = args
                .services
                .iter()
                .map(|s| ServiceId::parse_as("service", s.as_str()))
                .collect::<Result<Vec<_>, _>>()?;
            let by = PrincipalId::parse_as("by", args.by)?;
            let app = open(global)?;
            let input = DesignationInput { notified_on: args.notified, services };
            let done = app.record_designation(&Acting::Person(by.into_string()), &input, now)?;
            let human = format!(
                "指定を記録しました（第{}版） / designation recorded (#{})\n{}",
                done.number,
                done.number,
                status_text(&done.status)
            );
            Ok(Report::new(human, &done.status))
        }
        DesignationCommand::Show => {
            let app = open(global)?;
            match app.designation_status(now)? {
                Some(status) => Ok(Report::new(status_text(&status), &status)),
                None => {
                    Ok(Report::new("指定は記録されていません / no designation is recorded\n", serde_json::Value::Null))
                }
            }
        }
    }
}

pub fn manager(global: &GlobalArgs, cmd: ManagerCommand) -> anyhow::Result<Report> {
    let now = Timestamp::now();
    match cmd {
        ManagerCommand::Appoint(args) => {
            let principal = PrincipalId::parse(args.principal)?;
            let by = PrincipalId::parse_as("by", args.by)?;
            let app = open(global)?;
            let input = AppointInput { principal, from: args.from, evidence: args.evidence };
            let done = app.appoint_chief_manager(&Acting::Person(by.into_string()), &input, now)?;
            let mut human = format!(
                "統括管理者を選任しました（{}、{}〜） / chief manager appointed ({}, from {})\n",
                done.id,
                input.from.ja(),
                done.id,
                input.from.en()
            );
            if let Some(ended) = &done.ended {
                human.push_str(&format!(
                    "前任の選任（{ended}）は前日で終了 / appointment {ended} ended the day before\n"
                ));
            }
            human.push_str(&format!(
                "届出期限 {} / notification due {}\n",
                done.notification_due.ja(),
                done.notification_due.en()
            ));
            Ok(Report::new(
                human,
                serde_json::json!({
                    "id": done.id.as_str(),
                    "principal": input.principal.as_str(),
                    "from": input.from.to_string(),
                    "ended": done.ended.as_ref().map(AppointmentId::as_str),
                    "notification_due": done.notification_due.to_string(),
                    "audit_index": done.audit_index,
                }),
            ))
        }
        ManagerCommand::Notified(args) => {
            let appointment = args.appointment.map(AppointmentId::parse).transpose()?;
            let by = PrincipalId::parse_as("by", args.by)?;
            let app = open(global)?;
            let input = NotificationInput { appointment, filed_on: args.date, reference: args.reference };
            let audit_index = app.record_manager_notification(&Acting::Person(by.into_string()), &input, now)?;
            Ok(Report::new(
                format!(
                    "統括管理者の届出を記録しました（{}） / notification recorded ({})\n",
                    input.filed_on.ja(),
                    input.filed_on.en()
                ),
                serde_json::json!({ "filed_on": input.filed_on.to_string(), "reference": input.reference,
                    "audit_index": audit_index }),
            ))
        }
        ManagerCommand::List => {
            let app = open(global)?;
            let all = app.chief_managers(now)?;
            let human: String = if all.is_empty() {
                "統括管理者は選任されていません / no chief manager is appointed\n".into()
            } else {
                all.iter().map(|v| appointment_text(&app, v)).collect()
            };
            Ok(Report::new(
                human,
                all.iter()
                    .map(|v| v.to_json(display_name(&app, &v.appointment.appointment.principal).as_deref()))
                    .collect::<Vec<_>>(),
            ))
        }
        ManagerCommand::Opinion(args) => {
            let by = PrincipalId::parse_as("by", args.by)?;
            let app = open(global)?;
            let input = OpinionInput { given_on: args.date, subject: args.subject, text: args.text };
            let id = app.record_opinion(&Acting::Person(by.into_string()), &input, now)?;
            Ok(Report::new(
                format!("意見を記録しました（{id}） / opinion recorded ({id})\n"),
                serde_json::json!({ "id": id.as_str(), "given_on": input.given_on.to_string() }),
            ))
        }
        ManagerCommand::Respond(args) => {
            let opinion = OpinionId::parse(args.opinion)?;
            let by = PrincipalId::parse_as("by", args.by)?;
            let app = open(global)?;
            let input = ResponseInput { opinion, responded_on: args.date, text: args.text };
            let audit_index = app.respond_to_opinion(&Acting::Person(by.into_string()), &input, now)?;
            Ok(Report::new(
                format!("対応を記録しました（{}） / response recorded ({})\n", input.opinion, input.opinion),
                serde_json::json!({ "id": input.opinion.as_str(), "responded_on": input.responded_on.to_string(),
                    "audit_index": audit_index }),
            ))
        }
        ManagerCommand::Opinions => {
            let app = open(global)?;
            let all = app.opinions(now)?;
            let human: String = if all.is_empty() {
                "意見はありません / no opinions\n".into()
            } else {
                all.iter().map(opinion_text).collect()
            };
            Ok(Report::new(human, all.iter().map(OpinionView::to_json).collect::<Vec<_>>()))
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ViolationsCommand {
    /// Every violation report with its state and acknowledgement due (oversight roles).
    List(ReadArgs),
    /// One report with its text and history (oversight roles).
    Show(ShowViolationArgs),
    /// Acknowledge a report (a chief manager or responsible person).
    Ack(AckArgs),
    /// Resolve a report: no violation, or a violation (optionally linked to an incident).
    Resolve(ResolveArgs),
    /// Report a violation, or a sign of one, about a principal (any member of staff).
    Report(ReportArgs),
    /// Run the detectors over the audit ledger in a window and file each new finding.
    Detect(DetectArgs),
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

#[derive(Debug, Args)]
pub struct ShowViolationArgs {
    /// The report (`VR-…`).
    id: String,
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

#[derive(Debug, Args)]
pub struct AckArgs {
    /// The report (`VR-…`).
    id: String,
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

/// How a report is closed.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OutcomeArg {
    /// No violation.
    None,
    /// A violation.
    Violation,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The report (`VR-…`).
    id: String,
    #[arg(long, value_enum)]
    outcome: OutcomeArg,
    /// The incident a violation is linked to.
    #[arg(long, value_name = "ID")]
    incident: Option<String>,
    #[arg(long)]
    text: String,
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The principal concerned (a staff id).
    #[arg(long, value_name = "ID")]
    principal: String,
    /// The security measure concerned, 1–7 (3, organisational measures, when left out).
    #[arg(long)]
    measure: Option<u8>,
    #[arg(long)]
    text: String,
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// The window's start (Tokyo time or RFC 3339); 24 hours before `--until` when left out.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<Timestamp>,
    /// The window's end (exclusive); now when left out.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<Timestamp>,
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    tokyo::parse_instant(text)
        .ok_or_else(|| format!("`{text}` is not a time: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (Tokyo)"))
}

fn violation_line(app: &App, v: &ViolationView) -> String {
    let r = &v.stored.report;
    let name = display_name(app, &r.principal).unwrap_or_else(|| r.principal.clone());
    let source = r
        .detector
        .as_deref()
        .map_or_else(|| format!("報告者 / by {}", r.reported_by), |d| format!("検知 / detector {d}"));
    format!(
        "{}  {}  {}（{}）  安全管理措置（{}）  {}\n    受付 / received {}  確認期限 / ack due {}{}\n",
        r.id,
        v.state.ja(),
        name,
        r.principal,
        r.measure,
        source,
        tokyo::minutes(r.received_at),
        tokyo::minutes(r.ack_due),
        if v.ack_overdue { "  期限超過 / overdue" } else { "" },
    )
}

fn violation_text(app: &App, v: &ViolationView) -> String {
    let mut out = violation_line(app, v);
    out.push_str(&format!("    {}\n", v.stored.report.text));
    for e in &v.stored.events {
        out.push_str(&format!(
            "    {} {} {}{}{}\n",
            tokyo::minutes(e.at),
            e.kind.code(),
            e.by,
            e.incident.as_ref().map_or_else(String::new, |i| format!(" → {i}")),
            e.text.as_ref().map_or_else(String::new, |t| format!(": {t}")),
        ));
    }
    out
}

pub fn violations(global: &GlobalArgs, cmd: ViolationsCommand) -> anyhow::Result<Report> {
    let now = Timestamp::now();
    match cmd {
        ViolationsCommand::List(args) => {
            let by = PrincipalId::parse_as("by", args.by)?;
            let app = open(global)?;
            let all = app.violations(&Acting::Person(by.into_string()), now)?;
            let human = if all.is_empty() {
                "違反の報告はありません / no violation reports\n".to_string()
            } else {
                all.iter().map(|v| violation_line(&app, v)).collect()
            };
            Ok(Report::new(human, all.iter().map(ViolationView::to_json).collect::<Vec<_>>()))
        }
        ViolationsCommand::Show(args) => {
            let by = PrincipalId::parse_as("by", args.by)?;
            let app = open(global)?;
            let v = app.violation(&Acting::Person(by.into_string()), &args.id, now)?;
            Ok(Report::new(violation_text(&app, &v), v.to_json()))
        }
        ViolationsCommand::Ack(args) => {
            let by = PrincipalId::parse_as("by", args.by)?;
            let app = open(global)?;
            let audit_index = app.acknowledge_violation(&Acting::Person(by.into_string()), &args.id, now)?;
            Ok(Report::new(
                format!("違反の報告（{}）を確認しました / violation report {} acknowledged\n", args.id, args.id),
                serde_json::json!({ "id": args.id, "state": "acknowledged", "audit_index": audit_index }),
            ))
        }
        ViolationsCommand::Resolve(args) => {
            let by = PrincipalId::parse_as("by", args.by)?;
            let incident = args.incident.map(|i| IncidentId::parse_as("incident", i)).transpose()?;
            let outcome = match args.outcome {
                OutcomeArg::None => Outcome::None,
                OutcomeArg::Violation => Outcome::Violation,
            };
            let app = open(global)?;
            let input = ResolveInput { outcome, text: args.text, incident };
            let audit_index = app.resolve_violation(&Acting::Person(by.into_string()), &args.id, &input, now)?;
            let (ja, en) = match outcome {
                Outcome::None => ("違反なし", "no violation"),
                Outcome::Violation => ("違反あり", "violation"),
            };
            Ok(Report::new(
                format!(
                    "違反の報告（{}）を終結しました（{ja}） / violation report {} resolved ({en})\n",
                    args.id, args.id
                ),
                serde_json::json!({ "id": args.id, "outcome": outcome.code(), "audit_index": audit_index }),
            ))
        }
        ViolationsCommand::Report(args) => {
            let principal = PrincipalId::parse_as("principal", args.principal)?;
            let by = PrincipalId::parse_as("by", args.by)?;
            let app = open(global)?;
            let input = ReportInput { principal, measure: args.measure, text: args.text };
            let v = app.report_violation(&Acting::Person(by.into_string()), &input, now)?;
            let r = &v.stored.report;
            Ok(Report::new(
                format!(
                    "違反の報告を受け付けました（{}、確認期限 {}） / violation report {} received (acknowledge by {})\n",
                    r.id,
                    tokyo::minutes(r.ack_due),
                    r.id,
                    tokyo::minutes(r.ack_due)
                ),
                v.to_json(),
            ))
        }
        ViolationsCommand::Detect(args) => {
            let until = args.until.unwrap_or(now);
            let since = args.since.unwrap_or(until - jiff::SignedDuration::from_hours(24));
            let app = open(global)?;
            let filed = app.run_detectors(since, until, now)?;
            let mut human = format!(
                "検知 {}〜{}: 新たな報告 {}件 / detectors over {} – {}: {} new reports\n",
                tokyo::minutes(since),
                tokyo::minutes(until),
                filed.len(),
                tokyo::minutes(since),
                tokyo::minutes(until),
                filed.len()
            );
            for v in &filed {
                human.push_str(&violation_line(&app, v));
            }
            Ok(Report::new(human, filed.iter().map(ViolationView::to_json).collect::<Vec<_>>()))
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum InspectionCommand {
    /// Make the self-inspection report of a Tokyo month from the audit ledger; prints and stores it.
    Run(RunInspectionArgs),
    /// Every report: period, revision, digest, checkpoint (oversight roles).
    List(OptionalBy),
    /// One report: a summary, `--format json` the document, `--format html` the printable page.
    Show(ShowInspectionArgs),
    /// Check a stored report: its digest against the ledger, the checkpoint's signature, a recount.
    Verify(VerifyInspectionArgs),
    /// Findings of the reports, tracked to closure: add, close, list.
    #[command(subcommand)]
    Finding(FindingCommand),
}

#[derive(Debug, Args)]
pub struct OptionalBy {
    /// Who acts: a chief manager or responsible person (auditors may read); the system `cli` when left out.
    #[arg(long, value_name = "STAFF_ID")]
    by: Option<String>,
}

impl OptionalBy {
    fn acting(self) -> anyhow::Result<Acting> {
        Ok(match self.by {
            Some(by) => Acting::Person(PrincipalId::parse_as("by", by)?.into_string()),
            None => Acting::Setup("cli"),
        })
    }
}

#[derive(Debug, Args)]
pub struct RunInspectionArgs {
    /// The month (Tokyo), `YYYY-MM`; it must be over.
    #[arg(long, value_name = "YYYY-MM")]
    period: String,
    #[command(flatten)]
    by: OptionalBy,
}

/// How a report is shown.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum InspectionFormat {
    /// A summary, Japanese first.
    Text,
    /// The stored document, exactly (canonical JSON).
    Json,
    /// The printable page (Japanese).
    Html,
}

#[derive(Debug, Args)]
pub struct ShowInspectionArgs {
    /// The report (`IR-…`).
    id: String,
    #[arg(long, value_enum, default_value = "text")]
    format: InspectionFormat,
    /// Write the document to this file instead of printing it.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<std::path::PathBuf>,
    #[command(flatten)]
    by: OptionalBy,
}

#[derive(Debug, Args)]
pub struct VerifyInspectionArgs {
    /// The report (`IR-…`).
    id: String,
    #[command(flatten)]
    by: OptionalBy,
}

#[derive(Debug, Subcommand)]
pub enum FindingCommand {
    /// Record a finding of a report, with its owner and due date.
    Add(AddFindingArgs),
    /// Close a finding with what was done.
    Close(CloseFindingArgs),
    /// Every finding: open ones with their days left or overdue.
    List(OptionalBy),
}

#[derive(Debug, Args)]
pub struct AddFindingArgs {
    /// The report (`IR-…`).
    inspection: String,
    #[arg(long)]
    text: String,
    /// The person who must close it (a staff id).
    #[arg(long, value_name = "STAFF")]
    owner: String,
    /// The day it must be closed by (YYYY-MM-DD, Tokyo).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    due: Option<Date>,
    #[command(flatten)]
    by: OptionalBy,
}

#[derive(Debug, Args)]
pub struct CloseFindingArgs {
    /// The finding (`IF-…`).
    finding: String,
    #[arg(long)]
    text: String,
    /// Who closes it: a chief manager or responsible person.
    #[arg(long, value_name = "STAFF")]
    by: String,
}

fn inspection_text(v: &InspectionView) -> String {
    let (s, d) = (&v.stored, &v.document);
    let l = &d.ledger;
    let period = Period::parse(&s.period).map(Period::ja).unwrap_or_else(|_| s.period.clone());
    let allowed: u64 = l.uses.iter().map(|u| u.allowed).sum();
    let mut out = format!(
        "自己点検報告 {}（{} 第{}版） / self-inspection report {} ({}, revision {})\n",
        s.id, period, s.revision, s.id, s.period, s.revision
    );
    out.push_str(&format!(
        "  対象 / covers: 監査ログ {}件（署名済みチェックポイント サイズ {}） / {} ledger entries (signed checkpoint of size {})\n",
        l.entries, d.checkpoint.size, l.entries, d.checkpoint.size
    ));
    out.push_str(&format!("  利用 / uses: {allowed}  拒否 / denials: {}\n", l.denials));
    for u in &l.uses {
        out.push_str(&format!("    {} × {}: 利用 {} / 拒否 {}\n", u.principal, u.purpose, u.allowed, u.denied));
    }
    for (reason, n) in &l.denials_by_reason {
        out.push_str(&format!("    拒否理由 / reason {reason}: {n}\n"));
    }
    out.push_str(&format!(
        "  持出し / exports: {}  同意の変更 / consent changes: {}  鍵の更新 / key rotations: {}  方針の公表 / policy publications: {}\n",
        l.exports.len(),
        l.consent_changes,
        l.key_rotations,
        l.policy_publications.len()
    ));
    out.push_str(&format!(
        "  研修 / training: {}名中 {}名が期限切れ / {} of {} persons lapsed\n",
        d.training.len(),
        d.training_lapsed(),
        d.training_lapsed(),
        d.training.len()
    ));
    out.push_str(&format!(
        "  違反の報告 / violation reports: 期間中 {}件、期末に未終結 {}件 / {} in the period, {} open at its end\n",
        d.violations.len(),
        d.violations_open_at_end.len(),
        d.violations.len(),
        d.violations_open_at_end.len()
    ));
    out.push_str(&format!(
        "  ダイジェスト / digest: {}（監査ログ {}） / ledger entry {}\n",
        hex::encode(s.digest),
        s.audit_index,
        s.audit_index
    ));
    out
}

fn finding_text(f: &FindingView) -> String {
    let x = &f.stored.finding;
    let state = match (&f.stored.closure, f.days_left) {
        (Some(c), _) => format!("是正済 {} / closed", tokyo::minutes(c.at)),
        (None, Some(days)) => {
            let (ja, en) = days_text(days);
            format!("未了・{ja} / open, {en}")
        }
        (None, None) => "未了 / open".into(),
    };
    format!(
        "{}  {}  担当 / owner {}  期限 / due {}  {}\n    {}\n",
        x.id,
        x.inspection,
        x.owner,
        x.due.map_or_else(|| "—".to_string(), |d| d.to_string()),
        state,
        x.text
    )
}

pub fn inspection(global: &GlobalArgs, cmd: InspectionCommand) -> anyhow::Result<Report> {
    let now = Timestamp::now();
    match cmd {
        InspectionCommand::Run(args) => {
            let period = Period::parse(&args.period)?;
            let by = args.by.acting()?;
            let data = global.data_dir();
            let store = data.open_store()?;
            let audit = AuditLog::open_with_store(&data, &store)?;
            // The report names a signed checkpoint that covers the period: sign one now if the
            // ledger grew since the last.
            audit.checkpoint()?;
            let app = crate::access::open_service(&data, &store, &audit)?;
            let v = app.run_inspection(&by, period, now)?;
            Ok(Report::new(inspection_text(&v), v.to_json()))
        }
        InspectionCommand::List(by) => {
            let by = by.acting()?;
            let app = open(global)?;
            let all = app.inspections(&by)?;
            let human: String = if all.is_empty() {
                "自己点検報告はありません / no self-inspection reports\n".into()
            } else {
                all.iter()
                    .map(|v| {
                        let s = &v.stored;
                        format!(
                            "{}  {} 第{}版 / revision {}  {}  {}\n",
                            s.id,
                            s.period,
                            s.revision,
                            s.revision,
                            tokyo::minutes(s.made_at),
                            hex::encode(s.digest)
                        )
                    })
                    .collect()
            };
            Ok(Report::new(human, all.iter().map(InspectionView::to_json).collect::<Vec<_>>()))
        }
        InspectionCommand::Show(args) => {
            let by = args.by.acting()?;
            let app = open(global)?;
            let v = app.inspection(&by, &args.id)?;
            let text = match args.format {
                InspectionFormat::Text => inspection_text(&v),
                InspectionFormat::Json => v.stored.document.clone(),
                InspectionFormat::Html => {
                    let names = app.stores().principals()?.into_iter().map(|p| (p.id, p.display_name)).collect();
                    tokutei_web::standalone_inspection_page(&v, &names)
                }
            };
            crate::output::document(text, args.output.as_deref(), v.to_json())
        }
        InspectionCommand::Verify(args) => {
            let by = args.by.acting()?;
            let data = global.data_dir();
            let store = data.open_store()?;
            let audit = AuditLog::open_with_store(&data, &store)?;
            let app = crate::access::open_service(&data, &store, &audit)?;
            let check = app.verify_inspection(&by, &args.id, &audit.verifier())?;
            let human = if check.ok {
                format!(
                    "自己点検報告 {} は監査ログと一致します / self-inspection report {} matches the audit ledger\n",
                    check.id, check.id
                )
            } else {
                let mut out = format!(
                    "自己点検報告 {} は改ざんされています / self-inspection report {} was tampered with\n",
                    check.id, check.id
                );
                for p in &check.problems {
                    out.push_str(&format!("  {}: {}\n", p.code, p.message));
                }
                out
            };
            Ok(Report::new(human, &check).passed_if(check.ok))
        }
        InspectionCommand::Finding(cmd) => finding(global, cmd, now),
    }
}

fn finding(global: &GlobalArgs, cmd: FindingCommand, now: Timestamp) -> anyhow::Result<Report> {
    match cmd {
        FindingCommand::Add(args) => {
            let owner = PrincipalId::parse_as("owner", args.owner)?;
            let by = args.by.acting()?;
            let app = open(global)?;
            let input = FindingInput { inspection: args.inspection, text: args.text, owner, due: args.due };
            let f = app.add_finding(&by, &input, now)?;
            Ok(Report::new(
                format!(
                    "指摘を記録しました（{}） / finding recorded ({})\n{}",
                    f.stored.finding.id,
                    f.stored.finding.id,
                    finding_text(&f)
                ),
                f.to_json(),
            ))
        }
        FindingCommand::Close(args) => {
            let by = PrincipalId::parse_as("by", args.by)?;
            let app = open(global)?;
            let audit_index = app.close_finding(&Acting::Person(by.into_string()), &args.finding, &args.text, now)?;
            Ok(Report::new(
                format!("指摘（{}）を是正済みにしました / finding {} closed\n", args.finding, args.finding),
                serde_json::json!({ "id": args.finding, "state": "closed", "audit_index": audit_index }),
            ))
        }
        FindingCommand::List(by) => {
            let by = by.acting()?;
            let app = open(global)?;
            let all = app.findings(&by, now)?;
            let human: String = if all.is_empty() {
                "指摘はありません / no findings\n".into()
            } else {
                all.iter().map(finding_text).collect()
            };
            Ok(Report::new(human, all.iter().map(FindingView::to_json).collect::<Vec<_>>()))
        }
    }
}
