//! `tokutei staff …`: the staff registry — people (role, training) and internal systems, their
//! data ranges (service × categories), purposes and handling zones, and API tokens (shown
//! once, stored hashed, with an expiry, revocable). Each change names the person making it
//! with `--by` and is one function of the application layer (`tokutei_app::staff`), audited
//! there before it is stored; this module parses, calls and presents.

use anyhow::bail;
use clap::{Args, Subcommand};
use jiff::Timestamp;
use serde::Serialize;
use tokutei_app::{Acting, ActionError, PrincipalId};
use tokutei_ledger::Action;
use tokutei_policy::{Date, Role};
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, RangeGrant, StoredPrincipal};

use crate::audit_log::AuditLog;
use crate::cli::GlobalArgs;
use crate::output::Report;

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// List principals (people and systems) with their role, grants and training.
    List,
    /// Show one principal, its training and its tokens (never a token's secret).
    Show { id: String },
    /// Register a person (`--role`) or an internal system (`--system NAME`).
    Add(AddArgs),
    /// Replace a principal's data range, purposes and zones.
    Grant(GrantArgs),
    /// Record a completed training course.
    Train {
        id: String,
        #[arg(long)]
        course: String,
        /// The day it was completed (YYYY-MM-DD).
        #[arg(long)]
        completed: Date,
        /// The last day it counts (YYYY-MM-DD); by default the course's validity in the
        /// training catalogue (`[training]` in deployment.toml).
        #[arg(long)]
        valid_until: Option<Date>,
        #[command(flatten)]
        by: By,
    },
    /// Disable a principal: it can no longer act and its tokens stop working.
    Disable {
        id: String,
        #[command(flatten)]
        by: By,
    },
    /// Give a person a one-time password for the console (printed once; changed at first sign-in).
    Password {
        id: String,
        #[command(flatten)]
        by: By,
    },
    /// Enrol a TOTP second factor for a person (required for managers and auditors); prints the secret once.
    Totp {
        id: String,
        #[command(flatten)]
        by: By,
    },
    /// API tokens: issue (shown once), list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// Who makes a change: a chief manager or responsible person of the staff registry (checked,
/// and audited as that person).
#[derive(Debug, Args)]
pub struct By {
    /// Who makes the change: a chief manager or responsible person of the staff registry.
    #[arg(long = "by", value_name = "STAFF_ID")]
    pub by: String,
}

impl By {
    fn acting(&self) -> Acting {
        Acting::Person(self.by.clone())
    }
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The principal's id (letters, digits, `-`, `_`, `.`).
    pub id: String,
    /// How people see it in the console.
    #[arg(long)]
    pub name: String,
    /// A person's role: chief_manager, responsible_person, handler, auditor.
    #[arg(long, value_parser = parse_role, conflicts_with = "system", required_unless_present = "system")]
    pub role: Option<Role>,
    /// An internal system's name (billing, call_centre, marketing, ad_platform…).
    #[arg(long)]
    pub system: Option<String>,
    #[command(flatten)]
    pub by: By,
    #[command(flatten)]
    pub grants: GrantFlags,
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    pub id: String,
    #[command(flatten)]
    pub by: By,
    #[command(flatten)]
    pub grants: GrantFlags,
}

#[derive(Debug, Args)]
pub struct GrantFlags {
    /// A data range `SERVICE:CATEGORY,CATEGORY…` (repeatable).
    #[arg(long = "range", value_name = "SERVICE:CATEGORIES")]
    pub ranges: Vec<String>,
    /// A purpose the principal may act under (repeatable).
    #[arg(long = "purpose")]
    pub purposes: Vec<String>,
    /// A handling zone the principal may work from (repeatable).
    #[arg(long = "zone")]
    pub zones: Vec<String>,
    /// The actions granted, comma-separated: read, update, export, erase (default
    /// read,update,export — erasure crypto-shreds a whole subscriber and is granted only here).
    #[arg(long = "actions", value_name = "ACTIONS", value_delimiter = ',', value_parser = parse_action)]
    pub actions: Vec<Action>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue an API token for a principal; the token is printed once and never again.
    Issue {
        id: String,
        /// Days until it expires (1–366).
        #[arg(long, default_value_t = 90)]
        days: u32,
        #[command(flatten)]
        by: By,
    },
    /// List a principal's tokens (ids, expiry, revocation).
    List { id: String },
    /// Revoke a token by its id.
    Revoke {
        token: String,
        #[command(flatten)]
        by: By,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| format!("`{text}` is not a role; use chief_manager, responsible_person, handler or auditor"))
}

fn parse_action(text: &str) -> Result<Action, String> {
    Action::ALL
        .into_iter()
        .find(|a| a.id() == text.trim())
        .ok_or_else(|| format!("`{text}` is not an action; use read, update, export or erase"))
}

impl GrantFlags {
    fn parse(&self) -> anyhow::Result<Grants> {
        let mut data_range = Vec::new();
        for (n, range) in self.ranges.iter().enumerate() {
            let Some((service, categories)) = range.split_once(':') else {
                bail!("`--range` {} `{range}`: write SERVICE:CATEGORY,CATEGORY", n + 1);
            };
            let categories: Vec<String> =
                categories.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect();
            if service.trim().is_empty() || categories.is_empty() {
                bail!("`--range` {} `{range}`: name a service and at least one category", n + 1);
            }
            data_range.push(RangeGrant { service: service.trim().to_string(), categories });
        }
        let mut grants =
            Grants { data_range, purposes: self.purposes.clone(), zones: self.zones.clone(), ..Grants::default() };
        if !self.actions.is_empty() {
            grants.actions = self.actions.clone();
            grants.actions.sort_unstable();
            grants.actions.dedup();
        }
        Ok(grants)
    }
}

#[derive(Serialize)]
struct PrincipalJson<'a> {
    id: &'a str,
    #[serde(flatten)]
    principal: &'a StoredPrincipal,
}

fn describe(p: &StoredPrincipal, today: Date) -> String {
    let kind = match &p.kind {
        PrincipalKind::Person { role } => {
            format!("{} / {}", role.label(tokutei_policy::Lang::Ja), role.label(tokutei_policy::Lang::En))
        }
        PrincipalKind::System { name } => format!("システム / system `{name}`"),
    };
    let mut out = format!("{}  {}  [{kind}]  v{}", p.id, p.display_name, p.version);
    if p.disabled_at.is_some() {
        out.push_str("  停止 / disabled");
    }
    out.push('\n');
    for r in &p.grants.data_range {
        out.push_str(&format!("    範囲 / range     {}: {}\n", r.service, r.categories.join(", ")));
    }
    if !p.grants.purposes.is_empty() {
        out.push_str(&format!("    目的 / purposes  {}\n", p.grants.purposes.join(", ")));
    }
    if !p.grants.zones.is_empty() {
        out.push_str(&format!("    区域 / zones     {}\n", p.grants.zones.join(", ")));
    }
    if !p.grants.actions.is_empty() {
        let actions: Vec<&str> = p.grants.actions.iter().map(|a| a.id()).collect();
        out.push_str(&format!("    操作 / actions   {}\n", actions.join(", ")));
    }
    for t in &p.training {
        let state = if t.valid_until >= today { "有効 / valid" } else { "期限切れ / expired" };
        out.push_str(&format!(
            "    研修 / training  {} (completed {}, until {}) {state}\n",
            t.course, t.completed, t.valid_until
        ));
    }
    out
}

/// The principal `text` names, as the application layer takes it (the error names `id`).
fn principal_id(text: &str) -> anyhow::Result<PrincipalId> {
    Ok(PrincipalId::parse_as("id", text)?)
}

/// An action's refusal as the command line says it: a principal the registry does not have
/// is named as such.
fn about(id: &PrincipalId) -> impl FnOnce(ActionError) -> anyhow::Error + '_ {
    move |err| match err {
        ActionError::NotFound(_) => anyhow::anyhow!("no principal `{id}` in the staff registry"),
        err => err.into(),
    }
}

pub fn run(global: &GlobalArgs, cmd: StaffCommand) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let store = data.open_store()?;
    let audit = AuditLog::open_with_store(&data, &store)?;
    let app = crate::access::open_service(&data, &store, &audit)?;
    let now = Timestamp::now();
    let today = tokutei_policy::tokyo::date_of(now);
    match cmd {
        StaffCommand::List => {
            let all = app.staff_list()?;
            let human: String = if all.is_empty() {
                "no principals yet; add one with `tokutei staff add`\n".to_string()
            } else {
                all.iter().map(|p| describe(p, today)).collect()
            };
            let json: Vec<PrincipalJson<'_>> = all.iter().map(|p| PrincipalJson { id: &p.id, principal: p }).collect();
            Ok(Report::new(human, json))
        }
        StaffCommand::Show { id } => {
            let id = principal_id(&id)?;
            let member = app.staff_member(&id).map_err(about(&id))?;
            let mut human = describe(&member.principal, today);
            for t in &member.tokens {
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => format!("expires {}", t.expires_at),
                };
                human.push_str(&format!("    token  {}  {state}\n", t.id));
            }
            let p = &member.principal;
            Ok(Report::new(human, serde_json::json!({ "id": p.id, "principal": p, "tokens": member.tokens })))
        }
        StaffCommand::Add(args) => {
            let grants = args.grants.parse()?;
            let kind = match (args.role, args.system) {
                (Some(role), None) => PrincipalKind::Person { role },
                (None, Some(name)) => PrincipalKind::System { name },
                _ => bail!("give either `--role` (a person) or `--system` (an internal system)"),
            };
            let new = NewPrincipal { id: args.id, display_name: args.name, kind, grants, created_at: now };
            let created = app.register_principal(&args.by.acting(), &new, now)?;
            Ok(Report::new(
                format!("added {}", describe(&created, today)),
                PrincipalJson { id: &created.id, principal: &created },
            ))
        }
        StaffCommand::Grant(args) => {
            let id = principal_id(&args.id)?;
            let grants = args.grants.parse()?;
            let version = app.change_grants(&args.by.acting(), &id, &grants, now).map_err(about(&id))?;
            Ok(Report::new(
                format!("updated the grants of `{id}` (version {version})\n"),
                serde_json::json!({ "id": id, "version": version }),
            ))
        }
        StaffCommand::Train { id, course, completed, valid_until, by } => {
            let id = principal_id(&id)?;
            let version =
                app.record_training(&by.acting(), &id, &course, completed, valid_until, now).map_err(about(&id))?;
            let member = app.staff_member(&id).map_err(about(&id))?;
            let until = member.principal.training.last().map(|t| t.valid_until.to_string()).unwrap_or_default();
            Ok(Report::new(
                format!("recorded training `{course}` for `{id}`, valid until {until}\n"),
                serde_json::json!({ "id": id, "course": course, "valid_until": until, "version": version }),
            ))
        }
        StaffCommand::Disable { id, by } => {
            let id = principal_id(&id)?;
            let version = app.disable_principal(&by.acting(), &id, now).map_err(about(&id))?;
            Ok(Report::new(
                format!("disabled `{id}`; its tokens no longer work\n"),
                serde_json::json!({ "id": id, "version": version }),
            ))
        }
        StaffCommand::Password { id, by } => {
            let id = principal_id(&id)?;
            let password = app.reset_password(&by.acting(), &id, now).map_err(about(&id))?;
            Ok(Report::new(
                format!(
                    "one-time password for `{id}` (shown once; it must be changed at the first sign-in):\n{}\n",
                    password.as_str()
                ),
                serde_json::json!({ "id": id, "password": password.as_str(), "must_change": true }),
            ))
        }
        StaffCommand::Totp { id, by } => {
            let id = principal_id(&id)?;
            let totp = app.enrol_totp(&by.acting(), &id, now).map_err(about(&id))?;
            let (secret, uri) = (totp.secret.as_str(), totp.uri.as_str());
            Ok(Report::new(
                format!("TOTP enrolled for `{id}` (shown once); add it to an authenticator app:\n{secret}\n{uri}\n"),
                serde_json::json!({ "id": id, "secret": secret, "uri": uri }),
            ))
        }
        StaffCommand::Token(TokenCommand::Issue { id, days, by }) => {
            let id = principal_id(&id)?;
            let issued = app.issue_token(&by.acting(), &id, days, now).map_err(about(&id))?;
            let expires = issued.token.expires_at;
            Ok(Report::new(
                format!(
                    "{}\n\nThis token is shown once. Store it in the system's secret store.\nこのトークンは一度だけ表示されます。\nexpires {expires}\n",
                    issued.text.as_str()
                ),
                serde_json::json!({ "id": issued.token.id, "principal": id, "token": issued.text.as_str(), "expires_at": expires.to_string() }),
            ))
        }
        StaffCommand::Token(TokenCommand::List { id }) => {
            let id = principal_id(&id)?;
            let tokens = app.staff_tokens(&id).map_err(about(&id))?;
            let human: String = tokens
                .iter()
                .map(|t| {
                    format!(
                        "{}  created {}  expires {}{}\n",
                        t.id,
                        t.created_at,
                        t.expires_at,
                        if t.revoked_at.is_some() { "  revoked" } else { "" }
                    )
                })
                .collect();
            Ok(Report::new(human, tokens))
        }
        StaffCommand::Token(TokenCommand::Revoke { token, by }) => {
            app.revoke_token(&by.acting(), &token, now)?;
            Ok(Report::new(format!("revoked token `{token}`\n"), serde_json::json!({ "id": token, "revoked": true })))
        }
    }
}
