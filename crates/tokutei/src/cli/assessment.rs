//! `tokutei assessment …`: the annual assessment (評価, 27条の9) of a business year — open it,
//! assess each of the policy's security measures with evidence links, record findings and
//! their remediation actions, complete it — each change through one application function of
//! `tokutei_app::oversight::assessment`, which validates, audits first and stores. Text output
//! is Japanese first, with the policy's measure titles and Tokyo dates; `--json` gives the
//! same as data.

use clap::{Args, Subcommand};
use jiff::Timestamp;
use tokutei_app::oversight::assessment::{AssessInput, AssessmentView, FindingInput, MeasureResult, RemediationInput};
use tokutei_app::{Acting, PrincipalId};
use tokutei_policy::Date;

use super::oversight::{open, parse_date};
use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum AssessmentCommand {
    /// Open the assessment of a business year (one per year).
    Open(OpenArgs),
    /// Every assessment: year, state, measures assessed, findings.
    List,
    /// One assessment: the checklist per measure, findings and remediation actions.
    Show(YearArgs),
    /// Assess one measure: its result, a note and evidence links (again: the latest counts).
    Assess(AssessArgs),
    /// Record a finding of a measure.
    Finding(FindingArgs),
    /// Record a remediation action of a finding, with its owner, due date and the policy or 規程 version that carries it out.
    Remediate(RemediateArgs),
    /// Complete the assessment (every measure must be assessed).
    Complete(CompleteArgs),
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The business year, by the calendar year it starts in (2026: April 2026 – March 2027 by default).
    #[arg(long, value_name = "YYYY")]
    fiscal_year: i32,
    /// Who opens it: a chief manager or responsible person (the system `cli` when left out).
    #[arg(long, value_name = "STAFF_ID")]
    by: Option<String>,
}

#[derive(Debug, Args)]
pub struct YearArgs {
    #[arg(long, value_name = "YYYY")]
    fiscal_year: i32,
}

/// A checklist item's result.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ResultArg {
    /// 適合.
    Met,
    /// 一部適合.
    Partly,
    /// 不適合.
    NotMet,
}

#[derive(Debug, Args)]
pub struct AssessArgs {
    #[arg(long, value_name = "YYYY")]
    fiscal_year: i32,
    /// The measure's number in the policy, 1–7.
    #[arg(long, value_name = "N")]
    measure: u32,
    #[arg(long, value_enum)]
    result: ResultArg,
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// An evidence link (repeat): inspection:ID, training-roster:DATE, incident:ID, policy:VERSION, rules:VERSION, ledger:INDEX.
    #[arg(long = "evidence", value_name = "KIND:REF")]
    evidence: Vec<String>,
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

#[derive(Debug, Args)]
pub struct FindingArgs {
    #[arg(long, value_name = "YYYY")]
    fiscal_year: i32,
    #[arg(long, value_name = "N")]
    measure: u32,
    #[arg(long, value_name = "TEXT")]
    text: String,
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

#[derive(Debug, Args)]
pub struct RemediateArgs {
    #[arg(long, value_name = "YYYY")]
    fiscal_year: i32,
    /// The finding (`F-1`).
    #[arg(long, value_name = "ID")]
    finding: String,
    /// What will be done.
    #[arg(long, value_name = "TEXT")]
    action: String,
    /// The person who owns it (a staff id).
    #[arg(long, value_name = "STAFF_ID")]
    owner: String,
    /// The due date (YYYY-MM-DD, Tokyo).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    due: Date,
    /// The version that carries it out: policy:VERSION or rules:VERSION.
    #[arg(long, value_name = "KIND:VERSION")]
    carried_by: String,
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    #[arg(long, value_name = "YYYY")]
    fiscal_year: i32,
    #[arg(long, value_name = "STAFF_ID")]
    by: String,
}

fn person(by: String) -> anyhow::Result<Acting> {
    Ok(Acting::Person(PrincipalId::parse_as("by", by)?.into_string()))
}

fn summary_line(v: &AssessmentView) -> String {
    let assessed = v.checklist.iter().filter(|i| i.result.is_some()).count();
    let (ja, en) = if v.is_completed() { ("完了", "completed") } else { ("実施中", "open") };
    format!(
        "{}  {}〜{}  {ja} / {en}  評価済み {assessed}/{} measures assessed  指摘 {} findings\n",
        v.id,
        v.first_day,
        v.last_day,
        v.checklist.len(),
        v.findings.len()
    )
}

fn view_text(v: &AssessmentView) -> String {
    let mut out = summary_line(v);
    for item in &v.checklist {
        let result =
            item.result.map_or_else(|| "未評価 / not assessed".to_string(), |r| format!("{} / {}", r.ja(), r.en()));
        out.push_str(&format!("  ({}) {} / {}: {result}\n", item.measure, item.title_ja, item.title_en));
        if let Some(note) = &item.note {
            out.push_str(&format!("      {note}\n"));
        }
        for e in &item.evidence {
            out.push_str(&format!("      根拠 / evidence: {e}\n"));
        }
    }
    for f in &v.findings {
        out.push_str(&format!("  {} ({}) {}\n", f.id, f.measure, f.text));
        for r in &f.remediations {
            out.push_str(&format!(
                "      {} {}  担当 / owner {}  期限 / due {}  {}\n",
                r.id, r.action, r.owner, r.due, r.carried_by
            ));
        }
    }
    out
}

pub fn run(global: &GlobalArgs, cmd: AssessmentCommand) -> anyhow::Result<Report> {
    let now = Timestamp::now();
    match cmd {
        AssessmentCommand::Open(args) => {
            let by = match args.by {
                Some(by) => person(by)?,
                None => Acting::Setup("cli"),
            };
            let app = open(global)?;
            let v = app.open_assessment(&by, args.fiscal_year, now)?;
            Ok(Report::new(
                format!("{}年度の評価を開始しました / assessment {} opened\n{}", v.fiscal_year, v.id, view_text(&v)),
                &v,
            ))
        }
        AssessmentCommand::List => {
            let app = open(global)?;
            let all = app.assessments(now)?;
            let human: String = if all.is_empty() {
                "評価はまだありません / no assessment yet\n".into()
            } else {
                all.iter().map(summary_line).collect()
            };
            Ok(Report::new(human, &all))
        }
        AssessmentCommand::Show(args) => {
            let app = open(global)?;
            let v = app.assessment(args.fiscal_year, now)?;
            Ok(Report::new(view_text(&v), &v))
        }
        AssessmentCommand::Assess(args) => {
            let by = person(args.by)?;
            let result = match args.result {
                ResultArg::Met => MeasureResult::Met,
                ResultArg::Partly => MeasureResult::Partly,
                ResultArg::NotMet => MeasureResult::NotMet,
            };
            let app = open(global)?;
            let input = AssessInput { measure: args.measure, result, note: args.note, evidence: args.evidence };
            let audit_index = app.assess_measure(&by, args.fiscal_year, &input, now)?;
            Ok(Report::new(
                format!(
                    "措置（{}）を「{}」と評価しました / measure ({}) assessed as {}\n",
                    input.measure,
                    result.ja(),
                    input.measure,
                    result.en()
                ),
                serde_json::json!({ "id": format!("FY{}", args.fiscal_year), "measure": input.measure,
                    "result": result.code(), "audit_index": audit_index }),
            ))
        }
        AssessmentCommand::Finding(args) => {
            let by = person(args.by)?;
            let app = open(global)?;
            let input = FindingInput { measure: args.measure, text: args.text };
            let id = app.record_finding(&by, args.fiscal_year, &input, now)?;
            Ok(Report::new(
                format!("指摘 {id} を記録しました / finding {id} recorded\n"),
                serde_json::json!({ "id": id, "fiscal_year": args.fiscal_year, "measure": input.measure }),
            ))
        }
        AssessmentCommand::Remediate(args) => {
            let by = person(args.by)?;
            let owner = PrincipalId::parse_as("owner", args.owner)?;
            let app = open(global)?;
            let input = RemediationInput {
                finding: args.finding,
                action: args.action,
                owner,
                due: args.due,
                carried_by: args.carried_by,
            };
            let id = app.record_remediation(&by, args.fiscal_year, &input, now)?;
            Ok(Report::new(
                format!(
                    "是正措置 {id} を記録しました（期限 {}） / remediation {id} recorded (due {})\n",
                    input.due.ja(),
                    input.due.en()
                ),
                serde_json::json!({ "id": id, "fiscal_year": args.fiscal_year, "finding": input.finding,
                    "due": input.due.to_string() }),
            ))
        }
        AssessmentCommand::Complete(args) => {
            let by = person(args.by)?;
            let app = open(global)?;
            let v = app.complete_assessment(&by, args.fiscal_year, now)?;
            Ok(Report::new(
                format!("{}年度の評価を完了しました / assessment {} completed\n{}", v.fiscal_year, v.id, view_text(&v)),
                &v,
            ))
        }
    }
}
