//! `tokutei training …`: the training catalogue (`courses`) and the roster of every person ×
//! required course (`roster`), from `tokutei_app::oversight::training`. A completion is
//! recorded with `tokutei staff train` only. Text output is Japanese first, with the
//! catalogue's course names and Tokyo dates; `--json` gives the same as data.

use clap::Subcommand;
use jiff::Timestamp;
use tokutei_app::oversight::training::{RosterRow, TrainingState};

use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum TrainingCommand {
    /// Every person × every course their role must take: completed, valid until, days left, state.
    Roster,
    /// The course catalogue: names, validity in months, the roles that must take each.
    Courses,
}

fn row_text(r: &RosterRow) -> String {
    let until = r.valid_until.map_or_else(|| "—".to_string(), |d| d.ja());
    let days = match (r.state, r.days_left) {
        (TrainingState::Missing, _) | (_, None) => String::new(),
        (TrainingState::Expired, Some(d)) => format!("  {}日超過 / {} days ago", -d, -d),
        (_, Some(d)) => format!("  残り{d}日 / {d} days left"),
    };
    format!(
        "{:<20} {:<24} {}／{}  {} / {}  有効期限 {until}{days}\n",
        r.principal,
        r.course,
        r.course_ja,
        r.course_en,
        r.state.ja(),
        r.state.en()
    )
}

pub fn run(global: &GlobalArgs, cmd: TrainingCommand) -> anyhow::Result<Report> {
    let data = global.data_dir();
    match cmd {
        TrainingCommand::Roster => {
            let store = data.open_store()?;
            let audit = crate::audit_log::AuditLog::open_with_store(&data, &store)?;
            let app = crate::access::open_service(&data, &store, &audit)?;
            let roster = app.training_roster(Timestamp::now())?;
            let human: String = if roster.is_empty() {
                "受講が必要な研修はありません / no person must take a course\n".into()
            } else {
                roster.iter().map(row_text).collect()
            };
            Ok(Report::new(human, &roster))
        }
        TrainingCommand::Courses => {
            let rules = crate::access::training_rules(&data)?;
            let human: String = if rules.courses.is_empty() {
                "必須の研修はありません / no course is required\n".into()
            } else {
                rules
                    .courses
                    .iter()
                    .map(|c| {
                        let months = c.validity_months.map_or_else(|| "—".into(), |m| format!("{m}か月 / {m} months"));
                        let roles: Vec<&str> = c.roles.iter().map(|r| r.label(tokutei_policy::Lang::Ja)).collect();
                        format!("{:<24} {}／{}  {months}  {}\n", c.id, c.name_ja, c.name_en, roles.join("・"))
                    })
                    .collect()
            };
            Ok(Report::new(human, &rules.courses))
        }
    }
}
