//! `tokutei requests …`: data-subject requests (開示等の請求, APPI 32–35条) — receive one
//! (verified at intake: `--subscriber` and `--verified-by`), list and show them with their
//! clocks, pause and resume the clock, extend the deadline, refuse on a ground of the law,
//! fulfil a stop or an erasure (and lift a stop), record the notice. Each change is one `tokutei_app::requests` function; text output is
//! Japanese first with Tokyo dates, `--json` the same as data (`id`, `type`, `status`,
//! `deadline`, …).

use clap::{Args, Subcommand};
use jiff::Timestamp;
use tokutei_app::requests::{
    Channel, Ground, NoticeMethod, OpenInput, RequestKind, RequestView, ResponseMethod, Verification, VerificationInput,
};
use tokutei_app::{Acting, PrincipalId, RequestId, SubscriberId};
use tokutei_policy::{Date, tokyo};

use super::oversight::{open, parse_date};
use super::parse_time;
use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// Receive a request, the requester's identity verified: its type, the subscriber, the scope.
    Open(OpenArgs),
    /// Every request with its status, deadline and days left (overdue marked).
    List(By),
    /// One request: its scope, verification, clock, outcome and notice.
    Show(ShowArgs),
    /// Verify the identity of a request received without it, linking the subscriber.
    Verify(VerifyArgs),
    /// Stop the clock while waiting for the person, with the reason.
    Pause(ReasonArgs),
    /// Run the clock again; the days paused move the deadline.
    Resume(ShowArgs),
    /// Extend the deadline by a number of days, with the reason.
    Extend(ExtendArgs),
    /// Fulfil the request: a stop of use or of provision put in force, an erasure done (the applied change; -o writes it).
    Fulfil(FulfilArgs),
    /// Lift the stops a fulfilled stop request put in force, with the reason.
    Lift(ReasonArgs),
    /// The document a request was answered with (a purpose notice, the provision records), audited.
    Document(DocumentArgs),
    /// Refuse the request on a ground of the law for its type.
    Refuse(RefuseArgs),
    /// Record the notice of the outcome sent to the person.
    Notify(NotifyArgs),
}

#[derive(Debug, Args)]
pub struct By {
    /// Who acts (a member of the privacy office); the system `cli` when left out.
    #[arg(long, value_name = "STAFF_ID")]
    by: Option<String>,
}

impl By {
    fn acting(&self) -> anyhow::Result<Acting> {
        Ok(match &self.by {
            Some(by) => Acting::Person(PrincipalId::parse_as("by", by.clone())?.into_string()),
            None => Acting::Setup("cli"),
        })
    }
}

fn kind_arg(text: &str) -> Result<RequestKind, String> {
    RequestKind::parse("type", text).map_err(|e| e.to_string())
}

fn verification_arg(text: &str) -> Result<Verification, String> {
    Verification::parse("verified-by", text).map_err(|e| e.to_string())
}

fn channel_arg(text: &str) -> Result<Channel, String> {
    Channel::parse("channel", text).map_err(|e| e.to_string())
}

fn method_arg(text: &str) -> Result<ResponseMethod, String> {
    ResponseMethod::parse("method", text).map_err(|e| e.to_string())
}

fn ground_arg(text: &str) -> Result<Ground, String> {
    Ground::parse("ground", text).map_err(|e| e.to_string())
}

fn notice_arg(text: &str) -> Result<NoticeMethod, String> {
    NoticeMethod::parse("method", text).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// purpose_notice, disclosure, provision_records, correction, stop, erasure or provision_stop.
    #[arg(long = "type", value_name = "TYPE", value_parser = kind_arg)]
    kind: RequestKind,
    /// The subscriber the request concerns.
    #[arg(long, value_name = "ID")]
    subscriber: String,
    /// How the identity was verified: license, my_number_card, passport, residence_card, insurance_card, contract, counter.
    #[arg(long = "verified-by", value_name = "METHOD", value_parser = verification_arg)]
    verified_by: Verification,
    /// Where the office keeps the identity evidence (a file number; never a document's number).
    #[arg(long, value_name = "REF")]
    evidence: Option<String>,
    /// An agent's evidence of authority (委任状 and the like), when an agent requests.
    #[arg(long, value_name = "REF")]
    agent: Option<String>,
    /// The inquiry it came from (its receipt number); the channel is then `inquiry`.
    #[arg(long, value_name = "RECEIPT")]
    inquiry: Option<String>,
    /// How it reached the office: phone, letter, shop, email (`letter` when left out; `inquiry` with --inquiry).
    #[arg(long, value_name = "CHANNEL", value_parser = channel_arg)]
    channel: Option<Channel>,
    /// A purpose it concerns (repeat; all when left out).
    #[arg(long = "purpose", value_name = "ID")]
    purposes: Vec<String>,
    /// A category it concerns (repeat; all when left out).
    #[arg(long = "category", value_name = "ID")]
    categories: Vec<String>,
    /// The answer's form for a disclosure: electronic (default) or paper.
    #[arg(long, value_name = "METHOD", value_parser = method_arg)]
    method: Option<ResponseMethod>,
    /// When it was received (Tokyo); now when left out.
    #[arg(long = "received-at", value_name = "TIME", value_parser = parse_time)]
    received_at: Option<Timestamp>,
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The request (`DR-…`).
    id: String,
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    id: String,
    #[arg(long, value_name = "ID")]
    subscriber: String,
    #[arg(long = "verified-by", value_name = "METHOD", value_parser = verification_arg)]
    verified_by: Verification,
    #[arg(long, value_name = "REF")]
    evidence: Option<String>,
    #[arg(long, value_name = "REF")]
    agent: Option<String>,
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct ReasonArgs {
    id: String,
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct ExtendArgs {
    id: String,
    /// Days added to the deadline (1–60).
    #[arg(long)]
    days: u32,
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct FulfilArgs {
    id: String,
    /// What was done, as told to the person.
    #[arg(long, default_value = "")]
    note: String,
    /// A correction's new values: a file (or `-`, standard input) of `CATEGORY=VALUE` lines.
    /// Standard input keeps them out of the shell's history.
    #[arg(long, value_name = "FILE")]
    values: Option<std::path::PathBuf>,
    /// The document's form when it is written (-o).
    #[arg(long, value_enum, default_value = "json")]
    format: DocumentFormat,
    /// Write the document (or the request, when the type has none) to this file.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<std::path::PathBuf>,
    #[command(flatten)]
    by: By,
}

/// How a request's document is written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DocumentFormat {
    /// The electronic record, exactly (JSON).
    Json,
    /// The printable page (Japanese).
    Html,
}

fn rendered(app: &tokutei_app::App, doc: &serde_json::Value, format: DocumentFormat) -> anyhow::Result<String> {
    Ok(match format {
        DocumentFormat::Json => serde_json::to_string_pretty(doc)? + "\n",
        DocumentFormat::Html => {
            let policy = app.active_policy(Timestamp::now())?.map(|(_, p)| p);
            tokutei_web::standalone_request_document(doc, policy.as_deref())
        }
    })
}

#[derive(Debug, Args)]
pub struct DocumentArgs {
    id: String,
    #[arg(long, value_enum, default_value = "json")]
    format: DocumentFormat,
    /// Write the document to this file instead of printing it.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<std::path::PathBuf>,
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct RefuseArgs {
    id: String,
    /// The ground, from the type's list (`requests show` lists them).
    #[arg(long, value_name = "CODE", value_parser = ground_arg)]
    ground: Ground,
    /// The reasons as explained to the person (36条).
    #[arg(long, default_value = "")]
    note: String,
    #[command(flatten)]
    by: By,
}

#[derive(Debug, Args)]
pub struct NotifyArgs {
    id: String,
    /// post, email, download, counter or phone.
    #[arg(long, value_name = "METHOD", value_parser = notice_arg)]
    method: NoticeMethod,
    /// The day it was sent (YYYY-MM-DD, Tokyo).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    date: Date,
    #[command(flatten)]
    by: By,
}

/// `CATEGORY=VALUE` lines from `path` (`-`: standard input); blank lines are skipped.
fn correction_values(path: &std::path::Path) -> anyhow::Result<Vec<tokutei_app::requests::CorrectionInput>> {
    use std::io::Read as _;
    let mut text = zeroize::Zeroizing::new(String::new());
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        use anyhow::Context as _;
        *text = std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    }
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let Some((category, value)) = line.split_once('=') else {
            anyhow::bail!("--values line {}: write `CATEGORY=VALUE`", n + 1);
        };
        out.push(tokutei_app::requests::CorrectionInput {
            category: tokutei_app::CategoryId::parse_as("values", category.trim().to_string())?,
            value: zeroize::Zeroizing::new(value.to_string()),
        });
    }
    Ok(out)
}

fn request_id(text: &str) -> anyhow::Result<RequestId> {
    Ok(RequestId::parse(text.to_string())?)
}

fn verification(
    subscriber: String,
    method: Verification,
    evidence: Option<String>,
    agent: Option<String>,
) -> anyhow::Result<VerificationInput> {
    Ok(VerificationInput { subscriber: SubscriberId::parse(subscriber)?, method, evidence, agent })
}

fn clock(v: &RequestView) -> String {
    match (v.days_left, v.overdue) {
        (None, true) => "期限後に決定 / decided after the deadline".into(),
        (None, false) => "期限内に決定 / decided in time".into(),
        (Some(d), _) if d < 0 => format!("期限超過 {} 日 / overdue by {} days", -d, -d),
        (Some(d), _) => format!("残り {d} 日 / {d} days left"),
    }
}

fn line(v: &RequestView) -> String {
    format!(
        "{}  {} / {}  {}  期限 {}  {}  {}\n",
        v.id,
        v.kind.ja(),
        v.kind.en(),
        v.status.ja(),
        v.deadline,
        clock(v),
        v.subscriber().unwrap_or("（本人確認前）")
    )
}

fn text(v: &RequestView) -> String {
    let mut out = line(v);
    out.push_str(&format!(
        "  受付 received {}（{} / {}）{}\n",
        tokyo::minutes(v.received_at),
        v.channel.ja(),
        v.channel.en(),
        v.inquiry.as_deref().map(|r| format!("、問い合わせ {r}")).unwrap_or_default()
    ));
    out.push_str(&format!("  根拠 article: 個人情報保護法{}\n", v.kind.article()));
    if !v.purposes.is_empty() {
        out.push_str(&format!("  利用目的 purposes: {}\n", v.purposes.join(", ")));
    }
    if !v.categories.is_empty() {
        out.push_str(&format!("  情報の種類 categories: {}\n", v.categories.join(", ")));
    }
    if let Some(m) = v.method {
        out.push_str(&format!("  開示の方法 method: {} / {}\n", m.ja(), m.en()));
    }
    if let Some(fee) = v.fee {
        out.push_str(&format!("  手数料 fee: {fee} 円\n"));
    }
    if let Some(ver) = &v.verification {
        out.push_str(&format!(
            "  本人確認 verified: {}（{}）{}\n",
            ver.method.ja(),
            ver.by,
            if ver.agent.is_some() { "、代理人" } else { "" }
        ));
    }
    for p in &v.pauses {
        out.push_str(&format!(
            "  停止 paused: {} 〜 {}  {}\n",
            p.from,
            p.to.map(|d| d.to_string()).unwrap_or_else(|| "（停止中）".into()),
            p.reason
        ));
    }
    for x in &v.extensions {
        out.push_str(&format!("  延長 extended: {} 日  {}\n", x.days, x.reason));
    }
    match &v.outcome {
        Some(o) => out.push_str(&format!(
            "  結果 outcome: {} / {}{}\n",
            o.result.ja(),
            o.result.en(),
            o.ground.map(|g| format!("  根拠 ground: {} ({})", g.ja(), g.code())).unwrap_or_default()
        )),
        None => {
            let grounds: Vec<&str> = v.kind.grounds().iter().map(|g| g.code()).collect();
            out.push_str(&format!("  拒否できる根拠 grounds: {}\n", grounds.join(", ")));
        }
    }
    if let Some(n) = &v.notice {
        out.push_str(&format!("  通知 notice: {}（{}）\n", n.sent_on, n.method.ja()));
    }
    out
}

fn one(v: RequestView) -> Report {
    Report::new(text(&v), v.to_json())
}

pub fn run(global: &GlobalArgs, cmd: RequestsCommand) -> anyhow::Result<Report> {
    let now = Timestamp::now();
    match cmd {
        RequestsCommand::Open(a) => {
            let by = a.by.acting()?;
            let channel = match (a.channel, &a.inquiry) {
                (Some(c), _) => c,
                (None, Some(_)) => Channel::Inquiry,
                (None, None) => Channel::Letter,
            };
            let input = OpenInput {
                kind: a.kind,
                channel,
                inquiry: a.inquiry,
                received_at: a.received_at,
                purposes: a.purposes,
                categories: a.categories,
                method: a.method,
                verification: Some(verification(a.subscriber, a.verified_by, a.evidence, a.agent)?),
            };
            let app = open(global)?;
            let v = app.open_request(&by, &input, now)?;
            let mut report = one(v);
            report.human = format!("請求を受け付けました / request received: {}", report.human);
            Ok(report)
        }
        RequestsCommand::List(by) => {
            let app = open(global)?;
            let all = app.requests(&by.acting()?, now)?;
            let human = if all.is_empty() {
                "開示等の請求はありません / no request is recorded\n".to_string()
            } else {
                all.iter().map(line).collect()
            };
            Ok(Report::new(human, all.iter().map(RequestView::to_json).collect::<Vec<_>>()))
        }
        RequestsCommand::Show(a) => {
            let app = open(global)?;
            Ok(one(app.request(&a.by.acting()?, &a.id, now)?))
        }
        RequestsCommand::Verify(a) => {
            let app = open(global)?;
            let by = a.by.acting()?;
            let id = request_id(&a.id)?;
            Ok(one(app.verify_request(
                &by,
                &id,
                &verification(a.subscriber, a.verified_by, a.evidence, a.agent)?,
                now,
            )?))
        }
        RequestsCommand::Pause(a) => {
            let app = open(global)?;
            Ok(one(app.pause_request(&a.by.acting()?, &request_id(&a.id)?, &a.reason, now)?))
        }
        RequestsCommand::Resume(a) => {
            let app = open(global)?;
            Ok(one(app.resume_request(&a.by.acting()?, &request_id(&a.id)?, now)?))
        }
        RequestsCommand::Extend(a) => {
            let app = open(global)?;
            Ok(one(app.extend_request(&a.by.acting()?, &request_id(&a.id)?, a.days, &a.reason, now)?))
        }
        RequestsCommand::Fulfil(a) => {
            let app = open(global)?;
            let by = a.by.acting()?;
            let id = request_id(&a.id)?;
            let v = match &a.values {
                None => app.fulfil_request(&by, &id, &a.note, Some(crate::cli::THIS_HOST), now)?,
                Some(path) => app.fulfil_correction(
                    &by,
                    &id,
                    &correction_values(path)?,
                    &a.note,
                    Some(crate::cli::THIS_HOST),
                    now,
                )?,
            };
            match a.output {
                Some(path) => {
                    // The document the person is given, when the type has one; else the request.
                    let written = match v.outcome.as_ref().and_then(|o| o.document_digest.as_ref()) {
                        Some(_) => rendered(&app, &app.request_document(&by, &v.id, now)?, a.format)?,
                        None => serde_json::to_string_pretty(&v.to_json())? + "\n",
                    };
                    crate::output::document(written, Some(&path), v.to_json())
                }
                None => Ok(one(v)),
            }
        }
        RequestsCommand::Document(a) => {
            let app = open(global)?;
            let doc = app.request_document(&a.by.acting()?, &a.id, now)?;
            crate::output::document(rendered(&app, &doc, a.format)?, a.output.as_deref(), doc)
        }
        RequestsCommand::Lift(a) => {
            let app = open(global)?;
            Ok(one(app.lift_stop(&a.by.acting()?, &request_id(&a.id)?, &a.reason, now)?))
        }
        RequestsCommand::Refuse(a) => {
            let app = open(global)?;
            Ok(one(app.refuse_request(&a.by.acting()?, &request_id(&a.id)?, a.ground, &a.note, now)?))
        }
        RequestsCommand::Notify(a) => {
            let app = open(global)?;
            Ok(one(app.notify_request(&a.by.acting()?, &request_id(&a.id)?, a.method, a.date, now)?))
        }
    }
}
