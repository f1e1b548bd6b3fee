//! `tokutei staff …`: the staff registry — people (role, training) and internal systems, their
//! data ranges (service × categories), purposes and handling zones, and API tokens (shown
//! once, stored hashed, with an expiry, revocable). Every change is an audit entry.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use jiff::Timestamp;
use serde::Serialize;
use tokutei_app::Acting;
use tokutei_ledger::{Actor, AdminAction};
use tokutei_policy::{Date, Role};
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, RangeGrant, StoredPrincipal, Training};

use crate::audit_log::AuditLog;
use crate::backend::Store;
use crate::cli::GlobalArgs;
use crate::keyring::Keyring;
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
        /// The last day it counts (YYYY-MM-DD).
        #[arg(long)]
        valid_until: Date,
    },
    /// Disable a principal: it can no longer act and its tokens stop working.
    Disable { id: String },
    /// Give a person a one-time password for the console (printed once; changed at first sign-in).
    Password { id: String },
    /// Enrol a TOTP second factor for a person (required for managers and auditors); prints the secret once.
    Totp { id: String },
    /// API tokens: issue (shown once), list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
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
    /// Who registers it: a chief manager or responsible person of the staff registry.
    #[arg(long, value_name = "STAFF_ID")]
    pub by: String,
    #[command(flatten)]
    pub grants: GrantFlags,
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    pub id: String,
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
    #[arg(long = "actions", value_name = "ACTIONS", value_delimiter = ',')]
    pub actions: Vec<crate::cli::access::ActionArg>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue an API token for a principal; the token is printed once and never again.
    Issue {
        id: String,
        /// Days until it expires.
        #[arg(long, default_value_t = 90)]
        days: u32,
    },
    /// List a principal's tokens (ids, expiry, revocation).
    List { id: String },
    /// Revoke a token by its id.
    Revoke { token: String },
}

fn parse_role(text: &str) -> Result<Role, String> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| format!("`{text}` is not a role; use chief_manager, responsible_person, handler or auditor"))
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
            grants.actions = self.actions.iter().map(|&a| tokutei_ledger::Action::from(a)).collect();
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

fn audit_change(data: &crate::data_dir::DataDir, subject: &str, details: Vec<(String, String)>) -> anyhow::Result<()> {
    let audit = AuditLog::open(data)?;
    audit.append_admin(
        Actor::System("cli".into()),
        AdminAction::StaffChanged,
        &format!("staff/{subject}"),
        None,
        details,
    )?;
    Ok(())
}

/// Refuse unless `id` is a person of the staff registry (only people sign in to the console).
fn person(store: &dyn Store, id: &str) -> anyhow::Result<()> {
    match store.principal(id)? {
        Some(p) if matches!(p.kind, PrincipalKind::Person { .. }) => Ok(()),
        Some(_) => bail!("`{id}` is a system; systems use API tokens, not the console"),
        None => bail!("no principal `{id}` in the staff registry"),
    }
}

/// Give `id` a one-time password (a reset by a manager); returns it (the caller prints it
/// once). Audited first; then the password is set and every session of `id` ends, so whoever
/// held one must sign in with the new password.
pub fn one_time_password(store: &dyn Store, audit: &AuditLog, id: &str) -> anyhow::Result<zeroize::Zeroizing<String>> {
    person(store, id)?;
    let password = zeroize::Zeroizing::new(tokutei_crypto::password::one_time()?);
    let hash = tokutei_crypto::password::hash(&password)?;
    audit.append_admin(
        Actor::System("cli".into()),
        AdminAction::PasswordChanged,
        &format!("staff/{id}"),
        None,
        vec![("one_time".into(), "yes".into()), ("sessions".into(), "ended".into())],
    )?;
    store.set_password(id, &hash, true)?;
    store.delete_sessions_of(id)?;
    Ok(password)
}

/// Enrol a TOTP secret for `id`, sealed under the active key-encryption key for
/// `staff/<id>/totp` (never stored in clear); returns (otpauth URI, base32 secret).
pub fn enrol_totp(
    store: &dyn Store,
    keys: &dyn tokutei_app::KeyAccess,
    audit: &AuditLog,
    id: &str,
) -> anyhow::Result<(String, String)> {
    person(store, id)?;
    if store.credentials(id)?.is_none() {
        bail!("`{id}` has no password yet; give one with `tokutei staff password {id}` first");
    }
    let secret = zeroize::Zeroizing::new(tokutei_crypto::totp::new_secret()?);
    let sealed = keys.seal_secret(&tokutei_app::totp_owner(id), &secret).map_err(anyhow::Error::msg)?;
    audit.append_admin(
        Actor::System("cli".into()),
        AdminAction::StaffChanged,
        &format!("staff/{id}"),
        None,
        vec![("change".into(), "totp_enrolled".into())],
    )?;
    store.set_totp(id, &sealed)?;
    Ok(tokutei_crypto::totp::enrolment(&secret, id, "tokutei")?)
}

/// The first chief manager (`chief`), with a one-time password and a TOTP enrolment, for
/// `init` and `demo`. Returns what to print once.
pub fn create_chief(store: &dyn Store, keyring: &Keyring, audit: &AuditLog) -> anyhow::Result<String> {
    let created = store.create_principal(&NewPrincipal {
        id: "chief".into(),
        display_name: "統括管理者 / chief manager".into(),
        kind: PrincipalKind::Person { role: Role::ChiefManager },
        grants: Grants::default(),
        created_at: Timestamp::now(),
    })?;
    audit.append_admin(
        Actor::System("cli".into()),
        AdminAction::StaffChanged,
        &format!("staff/{}", created.id),
        None,
        vec![("change".into(), "created".into())],
    )?;
    let password = one_time_password(store, audit, &created.id)?;
    let (uri, secret) = enrol_totp(store, keyring, audit, &created.id)?;
    Ok(format!(
        "console account (shown once; sign in at /admin/login):\n  id: chief (統括管理者 / chief manager)\n  one-time password: {}\n  authenticator (TOTP) secret: {secret}\n  {uri}\n",
        password.as_str()
    ))
}

pub fn run(global: &GlobalArgs, cmd: StaffCommand) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let store = data.open_store()?;
    match cmd {
        StaffCommand::List => {
            let all = store.principals()?;
            let today = tokutei_policy::tokyo::today();
            let human: String = if all.is_empty() {
                "no principals yet; add one with `tokutei staff add`\n".to_string()
            } else {
                all.iter().map(|p| describe(p, today)).collect()
            };
            let json: Vec<PrincipalJson<'_>> = all.iter().map(|p| PrincipalJson { id: &p.id, principal: p }).collect();
            Ok(Report::new(human, json))
        }
        StaffCommand::Show { id } => {
            let p = store.principal(&id)?.with_context(|| format!("no principal `{id}` in the staff registry"))?;
            let tokens = store.tokens(&id)?;
            let mut human = describe(&p, tokutei_policy::tokyo::today());
            for t in &tokens {
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => format!("expires {}", t.expires_at),
                };
                human.push_str(&format!("    token  {}  {state}\n", t.id));
            }
            Ok(Report::new(human, serde_json::json!({ "id": p.id, "principal": p, "tokens": tokens })))
        }
        StaffCommand::Add(args) => {
            let grants = args.grants.parse()?;
            let kind = match (args.role, args.system) {
                (Some(role), None) => PrincipalKind::Person { role },
                (None, Some(name)) => PrincipalKind::System { name },
                _ => bail!("give either `--role` (a person) or `--system` (an internal system)"),
            };
            let audit = AuditLog::open_with_store(&data, &store)?;
            let service = crate::access::open_service(&data, &store, &audit)?;
            let now = Timestamp::now();
            let new = NewPrincipal { id: args.id, display_name: args.name, kind, grants, created_at: now };
            let created = service.register_principal(&Acting::Person(args.by), &new, now)?;
            Ok(Report::new(
                format!("added {}", describe(&created, tokutei_policy::tokyo::today())),
                PrincipalJson { id: &created.id, principal: &created },
            ))
        }
        StaffCommand::Grant(args) => {
            let grants = args.grants.parse()?;
            let audit = AuditLog::open_with_store(&data, &store)?;
            crate::access::open_service(&data, &store, &audit)?.check_grants(&grants, Timestamp::now())?;
            let version = store.set_grants(&args.id, &grants)?;
            audit_change(
                &data,
                &args.id,
                vec![("change".into(), "grants".into()), ("version".into(), version.to_string())],
            )?;
            Ok(Report::new(
                format!("updated the grants of `{}` (version {version})\n", args.id),
                serde_json::json!({ "id": args.id, "version": version }),
            ))
        }
        StaffCommand::Train { id, course, completed, valid_until } => {
            if valid_until < completed {
                bail!("`--valid-until` {valid_until} is before `--completed` {completed}");
            }
            let version = store.add_training(&id, &Training { course: course.clone(), completed, valid_until })?;
            audit_change(
                &data,
                &id,
                vec![
                    ("change".into(), "training".into()),
                    ("course".into(), course.clone()),
                    ("valid_until".into(), valid_until.to_string()),
                ],
            )?;
            Ok(Report::new(
                format!("recorded training `{course}` for `{id}`, valid until {valid_until}\n"),
                serde_json::json!({ "id": id, "course": course, "version": version }),
            ))
        }
        StaffCommand::Disable { id } => {
            let version = store.disable_principal(&id, Timestamp::now())?;
            audit_change(&data, &id, vec![("change".into(), "disabled".into())])?;
            Ok(Report::new(
                format!("disabled `{id}`; its tokens no longer work\n"),
                serde_json::json!({ "id": id, "version": version }),
            ))
        }
        StaffCommand::Password { id } => {
            let audit = AuditLog::open(&data)?;
            let password = one_time_password(&*store, &audit, &id)?;
            Ok(Report::new(
                format!(
                    "one-time password for `{id}` (shown once; it must be changed at the first sign-in):\n{}\n",
                    password.as_str()
                ),
                serde_json::json!({ "id": id, "password": password.as_str(), "must_change": true }),
            ))
        }
        StaffCommand::Totp { id } => {
            let audit = AuditLog::open(&data)?;
            let keyring = Keyring::open_or_create(&data)?;
            let (uri, secret) = enrol_totp(&*store, &keyring, &audit, &id)?;
            Ok(Report::new(
                format!("TOTP enrolled for `{id}` (shown once); add it to an authenticator app:\n{secret}\n{uri}\n"),
                serde_json::json!({ "id": id, "secret": secret, "uri": uri }),
            ))
        }
        StaffCommand::Token(TokenCommand::Issue { id, days }) => {
            if days == 0 || days > 366 {
                bail!("`--days` must be 1–366, got {days}");
            }
            let now = Timestamp::now();
            let expires = now + jiff::SignedDuration::from_hours(24 * i64::from(days));
            let issued = tokutei_app::tokens::issue(&id, now, expires);
            store.add_token(&issued.token)?;
            audit_change(
                &data,
                &id,
                vec![("change".into(), "token_issued".into()), ("token".into(), issued.token.id.clone())],
            )?;
            Ok(Report::new(
                format!(
                    "{}\n\nThis token is shown once. Store it in the system's secret store.\nこのトークンは一度だけ表示されます。\nexpires {expires}\n",
                    issued.text.as_str()
                ),
                serde_json::json!({ "id": issued.token.id, "principal": id, "token": issued.text.as_str(), "expires_at": expires.to_string() }),
            ))
        }
        StaffCommand::Token(TokenCommand::List { id }) => {
            let tokens = store.tokens(&id)?;
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
        StaffCommand::Token(TokenCommand::Revoke { token }) => {
            let stored = store.token(&token)?.with_context(|| format!("no token `{token}`"))?;
            store.revoke_token(&token, Timestamp::now())?;
            audit_change(
                &data,
                &stored.principal,
                vec![("change".into(), "token_revoked".into()), ("token".into(), token.clone())],
            )?;
            Ok(Report::new(format!("revoked token `{token}`\n"), serde_json::json!({ "id": token, "revoked": true })))
        }
    }
}
