//! `tokutei zones …` (the register of handling zones: add or replace, list) and `tokutei
//! presence …` (the entry/exit log: import the badge system's file, list). Each change names
//! the one acting with `--by` and is one function of the application layer
//! (`tokutei_app::zones`), audited there before it is stored; this module parses, calls and
//! presents.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use jiff::Timestamp;
use serde::Serialize;
use tokutei_app::zones::{BadgeEvent, MAX_EVENTS, NewZone};
use tokutei_app::{Acting, ActionError, PrincipalId, ZoneId};
use tokutei_policy::tokyo;
use tokutei_store::zones::{HandlingZone, PresenceEvent, PresenceFilter, PresenceKind};

use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum ZonesCommand {
    /// Register a handling zone, or replace the register entry of its id.
    Add(AddZone),
    /// The register: each zone with its site, terminal networks and whether secrecy of
    /// communications may be handled there.
    List,
}

#[derive(Debug, Args)]
pub struct AddZone {
    /// The zone's id (what `staff grant --zone` names).
    pub id: String,
    /// How people call it (`本社 特定利用者情報取扱室`).
    #[arg(long)]
    pub name: String,
    /// Where it is (a building and floor).
    #[arg(long)]
    pub site: String,
    /// A client network of the zone's terminals, CIDR (`10.20.0.0/24`; repeatable).
    #[arg(long = "network", value_name = "CIDR", required = true)]
    pub networks: Vec<String>,
    /// Secrecy of communications (通信の秘密) may be handled in this zone.
    #[arg(long)]
    pub secrecy: bool,
    /// Who registers it: a chief manager or responsible person.
    #[arg(long, value_name = "STAFF_ID")]
    pub by: String,
}

#[derive(Debug, Subcommand)]
pub enum PresenceCommand {
    /// Import the badge system's file: CSV with the header `person,zone,event,at` (`event` is
    /// `enter` or `exit`; `at` RFC 3339 or `YYYY-MM-DD HH:MM` in Tokyo). Every line is checked
    /// first; a bad one is named and nothing is recorded.
    Import {
        file: PathBuf,
        /// Who imports it: the badge system (a system named `badge_system`) or a chief manager
        /// or responsible person.
        #[arg(long, value_name = "ID")]
        by: String,
    },
    /// The entry/exit log, newest first.
    List {
        #[arg(long, value_name = "STAFF_ID")]
        person: Option<String>,
        #[arg(long, value_name = "ZONE")]
        zone: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Who reads it: a chief manager, responsible person or auditor.
        #[arg(long, value_name = "STAFF_ID")]
        by: String,
    },
}

pub fn zones(global: &GlobalArgs, cmd: ZonesCommand) -> anyhow::Result<Report> {
    match cmd {
        ZonesCommand::Add(a) => {
            let new = NewZone {
                id: ZoneId::parse(a.id)?,
                name: a.name,
                site: a.site,
                networks: a.networks,
                secrecy: a.secrecy,
            };
            let by = Acting::Person(PrincipalId::parse_as("by", a.by)?.into_string());
            let app = open(global)?;
            let zone = app.register_zone(&by, &new, Timestamp::now())?;
            Ok(Report::new(format!("取扱区域を登録しました / zone registered\n{}", zone_text(&zone)), &zone))
        }
        ZonesCommand::List => {
            let app = open(global)?;
            let zones = app.zones()?;
            let human = if zones.is_empty() {
                "登録された取扱区域はありません / no handling zone is registered\n".to_string()
            } else {
                zones.iter().map(zone_text).collect()
            };
            Ok(Report::new(human, &zones))
        }
    }
}

pub fn presence(global: &GlobalArgs, cmd: PresenceCommand) -> anyhow::Result<Report> {
    match cmd {
        PresenceCommand::Import { file, by } => {
            let by = Acting::Person(PrincipalId::parse_as("by", by)?.into_string());
            let lines = read_badge_file(&file)?;
            let app = open(global)?;
            let now = Timestamp::now();
            let zones = app.zones()?;
            for (line, event) in &lines {
                app.check_presence(event, &zones, now).map_err(|e| at_line(&file, *line, e))?;
            }
            let events: Vec<BadgeEvent> = lines.into_iter().map(|(_, e)| e).collect();
            let mut audit = Vec::with_capacity(events.len());
            for chunk in events.chunks(MAX_EVENTS) {
                audit.extend(app.record_presence(&by, chunk, now)?);
            }
            #[derive(Serialize)]
            struct Imported {
                recorded: usize,
                audit: Vec<u64>,
            }
            Ok(Report::new(
                format!("入退室記録を {} 件取り込みました / {} badge events recorded\n", audit.len(), audit.len()),
                Imported { recorded: audit.len(), audit },
            ))
        }
        PresenceCommand::List { person, zone, limit, by } => {
            let filter = PresenceFilter {
                person: person.map(|p| PrincipalId::parse_as("person", p)).transpose()?.map(PrincipalId::into_string),
                zone: zone.map(ZoneId::parse).transpose()?.map(ZoneId::into_string),
            };
            let by = Acting::Person(PrincipalId::parse_as("by", by)?.into_string());
            let app = open(global)?;
            let log = app.presence_log(&by, &filter, limit)?;
            let human = if log.is_empty() {
                "入退室記録はありません / no badge events\n".to_string()
            } else {
                log.iter().map(event_text).collect()
            };
            Ok(Report::new(human, &log))
        }
    }
}

fn open(global: &GlobalArgs) -> anyhow::Result<tokutei_app::App> {
    let data = global.data_dir();
    let store = data.open_store()?;
    let audit = crate::audit_log::AuditLog::open_with_store(&data, &store)?;
    crate::access::open_service(&data, &store, &audit)
}

/// The error about line `line` of `file`.
fn at_line(file: &Path, line: u64, err: ActionError) -> anyhow::Error {
    anyhow::anyhow!("`{}` line {line}: {err}", file.display())
}

/// The badge file's events with their line numbers, every field parsed (nothing is looked up).
fn read_badge_file(file: &Path) -> anyhow::Result<Vec<(u64, BadgeEvent)>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read `{}`", file.display()))?;
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().with_context(|| format!("`{}` line 1: not CSV", file.display()))?.clone();
    let expected = ["person", "zone", "event", "at"];
    if headers.iter().collect::<Vec<_>>() != expected {
        bail!("`{}` line 1: the header must be `{}`", file.display(), expected.join(","));
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.with_context(|| format!("`{}`: not CSV", file.display()))?;
        let line = record.position().map_or(0, csv::Position::line);
        let field = |i: usize| record.get(i).unwrap_or_default();
        let bad = |name: &str, why: String| anyhow::anyhow!("`{}` line {line}: `{name}`: {why}", file.display());
        let person = PrincipalId::parse_as("person", field(0)).map_err(|e| at_line(file, line, e))?;
        let zone = ZoneId::parse(field(1)).map_err(|e| at_line(file, line, e))?;
        let kind = PresenceKind::from_code(field(2))
            .ok_or_else(|| bad("event", format!("`{}` is not `enter` or `exit`", field(2))))?;
        let at = crate::cli::parse_time(field(3)).map_err(|why| bad("at", why))?;
        out.push((line, BadgeEvent { person, zone, kind, at }));
    }
    if out.is_empty() {
        bail!("`{}`: no badge events after the header", file.display());
    }
    Ok(out)
}

fn zone_text(z: &HandlingZone) -> String {
    format!(
        "{}  {}（{}）\n    端末のネットワーク / terminal networks  {}\n    通信の秘密 / secrecy of communications  {}\n",
        z.id,
        z.name,
        z.site,
        z.networks.join(", "),
        if z.secrecy { "取扱可 / may be handled" } else { "取扱不可 / not handled" },
    )
}

fn event_text(e: &PresenceEvent) -> String {
    let kind = match e.kind {
        PresenceKind::Enter => "入室 / enter",
        PresenceKind::Exit => "退室 / exit ",
    };
    format!("{}  {kind}  {}  {}  (#{})\n", tokyo::minutes(e.at), e.zone, e.person, e.audit_index)
}
