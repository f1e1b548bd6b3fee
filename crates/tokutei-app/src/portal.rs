//! The subscriber's own page (`/my/`): every use of their information, from the ledger, with
//! an inclusion proof each against the published checkpoint; their choices and contract
//! state; the incidents that affected them.
//!
//! tokutei keeps no password for subscribers. The carrier's own systems (its My Page, SMS or
//! e-mail sender), or a member of staff at the call centre, ask for a link
//! ([`App::issue_portal_link`]; `tokutei portal link`, `POST /api/v1/portal/links`) and
//! deliver it. The link carries a random token (only its SHA-256 is stored) that works once
//! and for `[portal] link_minutes`; opening it ([`App::open_portal`]) starts a short session
//! (`session_minutes`) for that subscriber alone. Every step is audited first: the link's
//! issue, the opening, and each listing of uses (`portal_link_issued`, `portal_opened`,
//! `portal_viewed`, each naming the subscriber).
//!
//! What the page shows is what the ledger holds and nothing more: the time, the purpose, the
//! action, the categories, allowed or refused, the channel, and who — a person only by role,
//! a system by its name, never a person's name or id. Nothing on it names another subscriber,
//! and a link that is unknown, used or expired is refused with one and the same answer.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{Span, Timestamp};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokutei_ledger::{Action, Actor, AdminAction, Decision, Event, Proof};
use tokutei_policy::{ConsentMode, Date, Policy, Role};
use tokutei_store::consent::Choice;
use tokutei_store::ledger::LedgerQuery;
use tokutei_store::portal::{NewPortalLink, PortalSession};
use tokutei_store::staff::PrincipalKind;
use tokutei_store::vault::ContractState;

use crate::App;
use crate::acting::{ALL_ROLES, Acting};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::SubscriberId;
use crate::witnessing::Published;

/// At most this many uses are listed for one period (the page says when there are more).
pub const MAX_ROWS: usize = 1000;
/// The longest period one listing covers, in days.
pub const MAX_DAYS: i64 = 366;

/// `deployment.toml`'s `[portal]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalConfig {
    /// The address subscribers reach the server at (`https://privacy.example.jp`).
    pub base_url: Option<String>,
    pub link_minutes: Option<u32>,
    pub session_minutes: Option<u32>,
}

/// The portal's rules in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalRules {
    /// Without a final `/`.
    pub base_url: String,
    pub link_minutes: u32,
    pub session_minutes: u32,
}

impl Default for PortalRules {
    fn default() -> PortalRules {
        PortalRules { base_url: "http://127.0.0.1:8080".into(), link_minutes: 15, session_minutes: 30 }
    }
}

impl PortalRules {
    /// The rules of `config` over the defaults, each value checked naming its key.
    pub fn from_config(config: &PortalConfig) -> ActionResult<PortalRules> {
        let mut rules = PortalRules::default();
        if let Some(url) = &config.base_url {
            let trimmed = url.trim_end_matches('/');
            if !(trimmed.starts_with("https://") || trimmed.starts_with("http://"))
                || trimmed.contains(char::is_whitespace)
                || trimmed.contains(['?', '#'])
            {
                return Err(ActionError::invalid(
                    "portal.base_url",
                    format!("`{url}` is not an http:// or https:// address without a query"),
                ));
            }
            rules.base_url = trimmed.to_string();
        }
        if let Some(m) = config.link_minutes {
            if !(1..=1440).contains(&m) {
                return Err(ActionError::invalid("portal.link_minutes", format!("is {m}; use 1 to 1440")));
            }
            rules.link_minutes = m;
        }
        if let Some(m) = config.session_minutes {
            if !(5..=240).contains(&m) {
                return Err(ActionError::invalid("portal.session_minutes", format!("is {m}; use 5 to 240")));
            }
            rules.session_minutes = m;
        }
        Ok(rules)
    }
}

/// Which page a link lands on (the session it opens is the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    /// `/my/`: the uses of the subscriber's information.
    My,
    /// `/preferences`: the subscriber's choices, to change them.
    Preferences,
}

impl Landing {
    /// The page's path.
    pub fn page(self) -> &'static str {
        match self {
            Landing::My => "/my/",
            Landing::Preferences => "/preferences",
        }
    }

    /// The path of its link's landing page (`?t=` follows).
    pub fn enter(self) -> &'static str {
        match self {
            Landing::My => "/my/enter",
            Landing::Preferences => "/preferences/enter",
        }
    }
}

/// A link as issued: show or send it once; only its hash is kept.
#[derive(Clone, Serialize)]
pub struct IssuedLink {
    pub url: String,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for IssuedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedLink").field("url", &"[redacted]").field("expires_at", &self.expires_at).finish()
    }
}

/// A session opened by a link: the cookie value (kept only by the browser) and its end.
#[derive(Clone)]
pub struct OpenedSession {
    pub cookie: String,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for OpenedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedSession").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// The subscriber a session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    pub subscriber: SubscriberId,
    session_hash: String,
    pub expires_at: Timestamp,
}

impl Visitor {
    /// A reference to the session that is not its secret (the first 16 hex digits of the
    /// cookie's hash), for the evidence of what the subscriber did in it.
    pub fn session_reference(&self) -> &str {
        &self.session_hash[..16.min(self.session_hash.len())]
    }
}

/// Who used the information, as the subscriber sees it: never a person's name or id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Doer {
    /// A member of staff, by role.
    Staff(Role),
    /// An internal system, by the name the registry gives it.
    System(String),
}

/// One use of the subscriber's information, as the ledger holds it.
#[derive(Debug, Clone, Serialize)]
pub struct UseRow {
    /// The ledger entry's index (what its proof names).
    pub index: u64,
    pub time: Timestamp,
    pub action: Action,
    /// Purpose id (named by the policy when shown).
    pub purpose: String,
    /// Category ids.
    pub categories: Vec<String>,
    pub decision: Decision,
    pub by: Doer,
    /// The channel the request came through (`call_centre`, `web`…).
    pub channel: String,
    /// Whether the published checkpoint covers it (its proof can be checked now).
    pub provable: bool,
}

/// A subscriber's choice for a purpose that offers one.
#[derive(Debug, Clone, Serialize)]
pub struct ChoiceRow {
    pub purpose: String,
    pub mode: ConsentMode,
    /// The latest recorded choice, if any (otherwise the purpose's default applies).
    pub choice: Option<Choice>,
    pub recorded_at: Option<Timestamp>,
    /// Whether use under the purpose is allowed today by the choice (opt-out: unless opted out;
    /// opt-in: only when opted in).
    pub allowed: bool,
}

/// An incident whose impact named the subscriber, or whose notice reached them.
#[derive(Debug, Clone, Serialize)]
pub struct AffectedIncident {
    pub id: String,
    pub title_ja: String,
    pub title_en: Option<String>,
    pub known_at: Timestamp,
    /// Category ids of theirs it concerned.
    pub categories: Vec<String>,
    pub notified_at: Option<Timestamp>,
}

/// What the subscriber's page shows.
#[derive(Debug, Clone)]
pub struct PortalView {
    pub since: Date,
    /// Inclusive.
    pub until: Date,
    pub uses: Vec<UseRow>,
    /// More uses than [`MAX_ROWS`] in the period (the newest are shown).
    pub truncated: bool,
    pub contract: Option<ContractState>,
    pub choices: Vec<ChoiceRow>,
    pub incidents: Vec<AffectedIncident>,
    /// The checkpoint the proofs are against.
    pub checkpoint: Option<Published>,
    pub policy: Option<Arc<Policy>>,
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn secret() -> String {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(bytes.as_mut());
    URL_SAFE_NO_PAD.encode(bytes.as_ref())
}

/// The one refusal of a link that cannot be opened, whatever the reason (unknown, used,
/// expired, malformed): nothing is told about which.
fn refused_link() -> ActionError {
    ActionError::Forbidden("this link cannot be opened: it was used already, has expired or is not valid".into())
}

impl App {
    /// The same service with the portal's `[portal]` rules.
    pub fn with_portal_rules(mut self, rules: PortalRules) -> App {
        self.portal_rules = rules;
        self
    }

    pub fn portal_rules(&self) -> &PortalRules {
        &self.portal_rules
    }

    /// Issue a one-time link to `subscriber`'s own page, by `by` (a member of staff, or a
    /// system of the registry such as the carrier's My Page): `portal_link_issued` durable
    /// first, then the link's hash stored. An unknown or erased subscriber is not found.
    pub fn issue_portal_link(
        &self,
        by: &Acting,
        subscriber: &SubscriberId,
        now: Timestamp,
    ) -> ActionResult<IssuedLink> {
        self.issue_link(by, subscriber, Landing::My, now)
    }

    /// As [`Self::issue_portal_link`], a link that opens the preference page (`/preferences`,
    /// `tokutei consent link`): the same one-time link and session, landing on the choices.
    pub fn issue_preference_link(
        &self,
        by: &Acting,
        subscriber: &SubscriberId,
        now: Timestamp,
    ) -> ActionResult<IssuedLink> {
        self.issue_link(by, subscriber, Landing::Preferences, now)
    }

    fn issue_link(
        &self,
        by: &Acting,
        subscriber: &SubscriberId,
        landing: Landing,
        now: Timestamp,
    ) -> ActionResult<IssuedLink> {
        let actor = self.authorize_or_system(by, ALL_ROLES, "issue a link to a subscriber's page")?;
        match self.stores().subscriber(subscriber.as_str())? {
            Some(s) if s.erased_at.is_none() => {}
            _ => return Err(ActionError::NotFound(format!("subscriber `{subscriber}`"))),
        }
        let token = secret();
        let token_hash = digest(&token);
        let expires_at = now
            .checked_add(Span::new().minutes(i64::from(self.portal_rules.link_minutes)))
            .map_err(|e| ActionError::BadRequest(format!("the link's end is out of range: {e}")))?;
        let mut hash = [0u8; 32];
        hex::decode_to_slice(&token_hash, &mut hash).map_err(|e| ActionError::BadRequest(e.to_string()))?;
        let entry = AdminEntry::new(AdminAction::PortalLinkIssued, subscriber.as_str())
            .digest(hash)
            .detail("expires_at", expires_at)
            .detail("page", landing.page());
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        self.stores().add_portal_link(&NewPortalLink {
            token_hash,
            subscriber: subscriber.to_string(),
            created_at: now,
            expires_at,
            issued_by: actor.id().to_string(),
            audit_index,
        })?;
        let url = format!("{}{}?t={token}", self.portal_rules.base_url, landing.enter());
        Ok(IssuedLink { url, expires_at })
    }

    /// Open the page with a link's `token`: a link unknown, used or expired is refused (one
    /// answer for all); otherwise `portal_opened` durable first, then the link marked used and
    /// the session opened in one step (a second presentation at the same moment loses).
    pub fn open_portal(&self, token: &str, now: Timestamp) -> ActionResult<OpenedSession> {
        if token.is_empty()
            || token.len() > 64
            || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(refused_link());
        }
        let token_hash = digest(token);
        let link = self.stores().portal_link(&token_hash)?.ok_or_else(refused_link)?;
        if link.used_at.is_some() || link.expires_at <= now {
            return Err(refused_link());
        }
        let cookie = secret();
        let expires_at = now
            .checked_add(Span::new().minutes(i64::from(self.portal_rules.session_minutes)))
            .map_err(|e| ActionError::BadRequest(format!("the session's end is out of range: {e}")))?;
        let mut hash = [0u8; 32];
        hex::decode_to_slice(&token_hash, &mut hash).map_err(|e| ActionError::BadRequest(e.to_string()))?;
        let entry = AdminEntry::new(AdminAction::PortalOpened, link.subscriber.as_str())
            .digest(hash)
            .detail("session_ends", expires_at);
        self.audit_admin(Actor::System("portal".into()), entry, now)?;
        let session =
            PortalSession { session_hash: digest(&cookie), subscriber: link.subscriber, created_at: now, expires_at };
        if !self.stores().redeem_portal_link(&token_hash, &session)? {
            return Err(refused_link());
        }
        Ok(OpenedSession { cookie, expires_at })
    }

    /// The subscriber of a session cookie, while the session lasts; `None` otherwise.
    pub fn portal_visitor(&self, cookie: &str, now: Timestamp) -> ActionResult<Option<Visitor>> {
        if cookie.is_empty() || cookie.len() > 64 {
            return Ok(None);
        }
        let Some(session) = self.stores().portal_session(&digest(cookie), now)? else { return Ok(None) };
        Ok(Some(Visitor {
            subscriber: SubscriberId::known(session.subscriber),
            session_hash: session.session_hash,
            expires_at: session.expires_at,
        }))
    }

    /// End the visitor's session (signing out): `logged_out` (naming the subscriber) durable
    /// first, as a member of staff's sign-out.
    pub fn close_portal(&self, visitor: &Visitor, now: Timestamp) -> ActionResult<()> {
        let entry = AdminEntry::new(AdminAction::LoggedOut, visitor.subscriber.as_str()).detail("sessions", "this");
        self.audit_admin(Actor::System("portal".into()), entry, now)?;
        Ok(self.stores().end_portal_session(&visitor.session_hash, now)?)
    }

    /// The page of `visitor` for the Tokyo days `since..=until`: `portal_viewed` durable
    /// first (the period, the count, the checkpoint size), then the uses from the ledger, the
    /// choices, the contract state and the incidents that named them.
    pub fn portal_view(&self, visitor: &Visitor, since: Date, until: Date, now: Timestamp) -> ActionResult<PortalView> {
        if until < since {
            return Err(ActionError::invalid("until", "the period ends before it begins"));
        }
        let days = since.0.until(until.0).map_err(|e| ActionError::invalid("since", e.to_string()))?.get_days();
        if i64::from(days) >= MAX_DAYS {
            return Err(ActionError::invalid("since", format!("a period is at most {MAX_DAYS} days")));
        }
        let subscriber = visitor.subscriber.as_str();
        let checkpoint = self.published_checkpoint()?;
        let covered = checkpoint.as_ref().map_or(0, |p| p.checkpoint.size);
        let start = tokutei_policy::tokyo::start_of(since.0);
        let end = tokutei_policy::tokyo::start_of(
            until.0.tomorrow().map_err(|e| ActionError::invalid("until", e.to_string()))?,
        );
        let mut uses = Vec::new();
        let mut truncated = false;
        let query = LedgerQuery {
            subscriber: Some(subscriber.to_string()),
            since: Some(start),
            until: Some(end),
            ..LedgerQuery::default()
        };
        let stores = Arc::clone(self.stores());
        let mut doers: std::collections::HashMap<String, Doer> = std::collections::HashMap::new();
        let mut failure = None;
        self.ledger().query_entries(&query, &mut |stored| {
            let entry = stored.decode()?;
            let Event::Access(access) = &entry.event else { return Ok(true) };
            if !access.subscribers.iter().any(|s| s == subscriber) {
                return Ok(true);
            }
            let by = match &entry.actor {
                Actor::System(id) => Doer::System(id.clone()),
                Actor::Staff(id) => match doers.get(id) {
                    Some(d) => d.clone(),
                    None => {
                        let doer = match stores.principal(id) {
                            Ok(Some(p)) => match p.kind {
                                PrincipalKind::Person { role } => Doer::Staff(role),
                                PrincipalKind::System { .. } => Doer::System(p.display_name),
                            },
                            Ok(None) => Doer::Staff(Role::Handler),
                            Err(e) => {
                                failure = Some(e);
                                return Ok(false);
                            }
                        };
                        doers.insert(id.clone(), doer.clone());
                        doer
                    }
                },
            };
            uses.push(UseRow {
                index: stored.index,
                time: entry.time,
                action: access.action,
                purpose: access.purpose.clone(),
                categories: access.categories.clone(),
                decision: access.decision,
                by,
                channel: access.request.channel.clone(),
                provable: stored.index < covered,
            });
            if uses.len() > MAX_ROWS {
                uses.remove(0);
                truncated = true;
            }
            Ok(true)
        })?;
        if let Some(e) = failure {
            return Err(e.into());
        }
        uses.reverse();
        let entry = AdminEntry::new(AdminAction::PortalViewed, subscriber)
            .detail("since", since)
            .detail("until", until)
            .detail("uses", uses.len())
            .detail("checkpoint_size", covered);
        self.audit_admin(Actor::System("portal".into()), entry, now)?;

        let policy = self.active_policy(now)?.map(|(_, p)| p);
        let contract = self.stores().subscriber(subscriber)?.map(|s| s.contract.state);
        let choices = match &policy {
            Some(policy) => self.choices_of(subscriber, policy)?,
            None => Vec::new(),
        };
        let incidents = self.incidents_of(subscriber)?;
        Ok(PortalView { since, until, uses, truncated, contract, choices, incidents, checkpoint, policy })
    }

    /// The visitor's choices for every purpose of the policy in force that offers one (the
    /// preference page), with the policy for their names. Read only; a change is
    /// [`Self::record_own_choice`].
    pub fn portal_choices(
        &self,
        visitor: &Visitor,
        now: Timestamp,
    ) -> ActionResult<(Vec<ChoiceRow>, Option<Arc<Policy>>)> {
        let policy = self.active_policy(now)?.map(|(_, p)| p);
        let choices = match &policy {
            Some(policy) => self.choices_of(visitor.subscriber.as_str(), policy)?,
            None => Vec::new(),
        };
        Ok((choices, policy))
    }

    fn choices_of(&self, subscriber: &str, policy: &Policy) -> ActionResult<Vec<ChoiceRow>> {
        let current = self.stores().current_consents(subscriber)?;
        Ok(policy
            .purposes
            .list
            .iter()
            .filter(|p| p.consent != ConsentMode::None)
            .map(|purpose| {
                let record = current.iter().find(|c| c.record.purpose == purpose.id);
                let choice = record.map(|r| r.record.choice);
                let allowed = match purpose.consent {
                    ConsentMode::OptIn => choice == Some(Choice::OptedIn),
                    _ => choice != Some(Choice::OptedOut),
                };
                ChoiceRow {
                    purpose: purpose.id.clone(),
                    mode: purpose.consent,
                    choice,
                    recorded_at: record.map(|r| r.record.recorded_at),
                    allowed,
                }
            })
            .collect())
    }

    /// The incidents whose latest impact named `subscriber`, or whose notices reached them.
    fn incidents_of(&self, subscriber: &str) -> ActionResult<Vec<AffectedIncident>> {
        let mut out = Vec::new();
        for incident in self.stores().incidents(10_000)? {
            let impact = self.stores().impacts(&incident.id)?.pop();
            let categories: Vec<String> = impact
                .iter()
                .flat_map(|i| i.items.iter())
                .filter(|item| item.subscriber == subscriber)
                .map(|item| item.category.clone())
                .collect();
            let notified_at = self
                .stores()
                .notices(&incident.id)?
                .into_iter()
                .find(|n| n.subscriber == subscriber)
                .map(|n| n.sent_at);
            if categories.is_empty() && notified_at.is_none() {
                continue;
            }
            let fields = &incident.current.fields;
            out.push(AffectedIncident {
                id: incident.id.clone(),
                title_ja: fields.title.ja.clone(),
                title_en: fields.title.en.clone(),
                known_at: fields.known_at,
                categories,
                notified_at,
            });
        }
        Ok(out)
    }

    /// The inclusion proof of ledger entry `index` for `visitor`, against the published
    /// checkpoint (its note inside), with the entry's bytes: only an entry that names this
    /// subscriber and the checkpoint covers; anything else is not found, as if it did not exist.
    pub fn portal_proof(&self, visitor: &Visitor, index: u64) -> ActionResult<Proof> {
        let not_found = || ActionError::NotFound(format!("entry {index}"));
        let published = self.published_checkpoint()?.ok_or_else(not_found)?;
        if index >= published.checkpoint.size {
            return Err(not_found());
        }
        let stored = self.ledger().ledger_entry(index)?.ok_or_else(not_found)?;
        let entry = stored.decode()?;
        let Event::Access(access) = &entry.event else { return Err(not_found()) };
        if !access.subscribers.iter().any(|s| s == visitor.subscriber.as_str()) {
            return Err(not_found());
        }
        let origin = crate::witnessing::body_of(&published.checkpoint.note).map(|c| c.origin).unwrap_or_default();
        crate::checkpoints::inclusion_proof(
            self.ledger().as_ref(),
            &origin,
            index,
            published.checkpoint.size,
            Some(published.checkpoint.note),
        )
        .map_err(|e| match e {
            crate::checkpoints::CheckpointError::Store(s) => ActionError::Store(s),
            other => ActionError::BadRequest(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_settings_are_checked_naming_their_key() {
        let check = |config: PortalConfig, expected: Result<(&str, u32, u32), &str>| match (
            PortalRules::from_config(&config),
            expected,
        ) {
            (Ok(r), Ok((url, link, session))) => {
                assert_eq!((r.base_url.as_str(), r.link_minutes, r.session_minutes), (url, link, session))
            }
            (Err(e), Err(field)) => assert!(e.to_string().starts_with(&format!("`{field}`")), "{e}"),
            (got, want) => panic!("{got:?} vs {want:?}"),
        };
        check(PortalConfig::default(), Ok(("http://127.0.0.1:8080", 15, 30)));
        let url = |u: &str| PortalConfig { base_url: Some(u.into()), ..PortalConfig::default() };
        check(url("https://privacy.example.jp/"), Ok(("https://privacy.example.jp", 15, 30)));
        check(url("privacy.example.jp"), Err("portal.base_url"));
        check(url("https://x.example/?a=1"), Err("portal.base_url"));
        check(PortalConfig { link_minutes: Some(0), ..PortalConfig::default() }, Err("portal.link_minutes"));
        check(
            PortalConfig { link_minutes: Some(60), ..PortalConfig::default() },
            Ok(("http://127.0.0.1:8080", 60, 30)),
        );
        check(PortalConfig { session_minutes: Some(241), ..PortalConfig::default() }, Err("portal.session_minutes"));
    }
}
