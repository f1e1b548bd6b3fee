//! [`App`]: reads, writes, exports and erasures through the gateway, audit first.
//!
//! Two caches keep the hot path to a handful of indexed reads: the compiled gateway of the
//! active policy version (recompiled when the active version number changes) and the
//! principals (dropped whenever the staff registry's generation moves). Subscriber facts —
//! contract state and the current consent for the declared purpose — are read on every
//! request, so a withdrawal or a termination takes effect on the very next one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use base64::Engine;
use jiff::Timestamp;
use serde::Serialize;
use tokutei_crypto::{DataKey, ValueAad};
use tokutei_gateway::reason::code;
use tokutei_gateway::{
    AccessRequest, Consent, ConsentChoice, Contract, DataRange, Decision, Deployment, Explanation, Gateway, Principal,
    PrincipalKind, Reason, SubscriberFacts, TrainingRecord,
};
use tokutei_ledger::{AccessEvent, Action, Actor, AdminAction, AdminEvent, Entry, RequestMeta};
use tokutei_policy::{Channel, ConsentMode, Policy};
use tokutei_store::auth::AuthStore;
use tokutei_store::consent::{AccessFacts, Choice, ConsentRecord, ConsentStore, NewConsent};
use tokutei_store::ledger::LedgerStore;
use tokutei_store::provision::{LegalBasis, NewProvision, ProvisionStore, RecordType};
use tokutei_store::staff::{ExportStore, StaffStore, StoredPrincipal};
use tokutei_store::vault::{
    Contract as StoreContract, ContractState, NewValue, Provenance, StoredValue, VaultStore, WrappedDataKey,
};
use tokutei_store::{Freshness, FreshnessStore, PolicyStore};

use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::limits::{self, MAX_CATEGORIES, MAX_SUBSCRIBERS};
use crate::mask;

/// Every storage capability the service needs, from one backend.
pub trait Stores:
    VaultStore
    + AuthStore
    + StaffStore
    + ExportStore
    + ConsentStore
    + ProvisionStore
    + PolicyStore
    + FreshnessStore
    + Send
    + Sync
    + 'static
{
}
impl<T> Stores for T where
    T: VaultStore
        + AuthStore
        + StaffStore
            + ExportStore
        + ConsentStore
        + ProvisionStore
        + PolicyStore
        + FreshnessStore
        + Send
        + Sync
        + 'static
{
}

/// The key material the service needs; kept by the caller (key files, a KMS).
pub trait KeyAccess: Send + Sync {
    /// Unwrap a subscriber's data key.
    fn unwrap_key(&self, subscriber: &str, wrapped: &WrappedDataKey) -> Result<DataKey, String>;

    /// The blind-index token of a value of a searchable category.
    fn blind_token(&self, category: &str, value: &str) -> Option<[u8; 32]>;

    /// A fresh data key for `owner` (an inquiry, `inquiry/<receipt>`), and the same key
    /// wrapped by the active KEK for that owner. Key accesses that cannot create keys refuse.
    fn new_data_key(&self, owner: &str) -> Result<(DataKey, WrappedDataKey), String> {
        Err(format!("this key access cannot create a data key for `{owner}`"))
    }

    /// Seal a small secret (a person's TOTP secret) for `owner` (`staff/<id>/totp`): a fresh
    /// data key from [`KeyAccess::new_data_key`] (wrapped by the active KEK for `owner`) seals
    /// it, with `owner` in the associated data of both, so a sealed secret copied onto another
    /// owner does not open. Key accesses that cannot create keys refuse.
    fn seal_secret(&self, owner: &str, secret: &[u8]) -> Result<tokutei_store::auth::SealedSecret, String> {
        let (key, wrapped) = self.new_data_key(owner)?;
        let aad = ValueAad { subscriber: owner, category: "secret", version: 1 };
        let ciphertext = key.seal(&aad, secret).map_err(|e| format!("cannot seal the secret of `{owner}`: {e}"))?;
        Ok(tokutei_store::auth::SealedSecret { key: wrapped, ciphertext })
    }

    /// Open a secret sealed by [`KeyAccess::seal_secret`] for `owner`; fails when it was
    /// sealed for another owner, altered, or its KEK is not available.
    fn open_secret(
        &self,
        owner: &str,
        sealed: &tokutei_store::auth::SealedSecret,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
        let key = self.unwrap_key(owner, &sealed.key)?;
        let aad = ValueAad { subscriber: owner, category: "secret", version: 1 };
        key.open(&aad, &sealed.ciphertext).map_err(|e| format!("cannot open the secret of `{owner}`: {e}"))
    }
}

/// The owner a person's TOTP secret is sealed for (associated data of its key and value).
pub fn totp_owner(principal: &str) -> String {
    format!("staff/{principal}/totp")
}

/// One use of subscriber information.
#[derive(Debug, Clone)]
pub struct AccessCall {
    /// The principal's id (already authenticated by the caller: token, session, CLI user).
    pub principal: String,
    pub action: Action,
    pub purpose: String,
    pub subscribers: Vec<String>,
    /// The categories wanted; empty means every category of the purpose.
    pub categories: Vec<String>,
    pub channel: Option<Channel>,
    pub zone: Option<String>,
    /// The id of the approved export request (exports only).
    pub export_approval: Option<String>,
    /// The third party receiving the data (exports under a third-party provision purpose);
    /// defaults to the export request's recipient.
    pub recipient: Option<String>,
    /// Where the call came from (`cli`, `api:<token id>`, `console:<session>`), for the audit.
    pub client: String,
    pub now: Timestamp,
}

/// A value to write through the gateway.
#[derive(Debug, Clone)]
pub struct NewPlainValue {
    pub category: String,
    pub value: zeroize::Zeroizing<Vec<u8>>,
}

/// A write: the call (action `update`, one subscriber), the values and their provenance.
#[derive(Debug, Clone)]
pub struct WriteCall {
    pub call: AccessCall,
    pub values: Vec<NewPlainValue>,
    pub provenance: Provenance,
}

/// What a call produced.
#[derive(Debug, Clone, Serialize)]
pub struct AccessOutcome {
    /// The declared purpose (when it is one of the active policy's, else `None`: metrics and
    /// pages only ever show published purpose ids).
    pub purpose: Option<String>,
    /// The policy version the decisions were made under (`None` when none is in force).
    pub policy_version: Option<u32>,
    pub policy_digest: Option<String>,
    pub subscribers: Vec<SubscriberOutcome>,
    /// The ledger indexes of the audit entries this call wrote.
    pub audit: Vec<u64>,
    /// The ids of the APPI 29条 provision records this call wrote.
    pub provisions: Vec<u64>,
}

impl AccessOutcome {
    /// Whether every requested category of every subscriber was allowed.
    pub fn all_allowed(&self) -> bool {
        self.subscribers.iter().all(|s| s.items.iter().all(|i| i.allowed))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SubscriberOutcome {
    pub id: String,
    pub items: Vec<ItemOutcome>,
    /// Whether the subscriber was erased by this call.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub erased: bool,
}

/// The decision and (when allowed) the values of one category.
#[derive(Debug, Clone, Serialize)]
pub struct ItemOutcome {
    pub category: String,
    pub allowed: bool,
    pub reasons: Vec<Reason>,
    pub policies: Vec<String>,
    pub mask: Option<String>,
    /// The ledger index of the audit entry covering this decision.
    pub audit_index: u64,
    pub values: Vec<ValueOut>,
    /// Allowed values that could not be opened (tampered, erased): version and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<(u32, String)>,
    /// The versions written (writes only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub written: Vec<u32>,
}

/// One returned value.
#[derive(Debug, Clone, Serialize)]
pub struct ValueOut {
    pub version: u32,
    /// The value as text, masked when the purpose asks for it; binary values in base64.
    pub value: String,
    pub encoding: &'static str,
    pub masked: bool,
    pub provenance: Provenance,
    pub valid_from: Timestamp,
}

struct Active {
    number: u32,
    policy: Arc<Policy>,
    gateway: Gateway,
    digest: [u8; 32],
    digest_text: String,
}

#[derive(Default)]
struct PrincipalCache {
    generation: Option<u64>,
    by_id: HashMap<String, Arc<Cached>>,
}

struct Cached {
    principal: Principal,
    disabled: bool,
}

/// The access service of one deployment. Share it behind an `Arc`.
pub struct App {
    stores: Arc<dyn Stores>,
    ledger: Arc<dyn LedgerStore>,
    keys: Arc<dyn KeyAccess>,
    deployment: Deployment,
    extra_cedar: Vec<(String, String)>,
    active: RwLock<Option<Arc<Active>>>,
    principals: RwLock<PrincipalCache>,
    tz: jiff::tz::TimeZone,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("deployment", &self.deployment).finish_non_exhaustive()
    }
}

fn gateway_principal(p: &StoredPrincipal) -> Principal {
    let kind = match &p.kind {
        tokutei_store::staff::PrincipalKind::Person { role } => PrincipalKind::Person {
            role: *role,
            training: p
                .training
                .iter()
                .map(|t| TrainingRecord {
                    course: t.course.clone(),
                    completed: t.completed.0,
                    valid_until: t.valid_until.0,
                })
                .collect(),
        },
        tokutei_store::staff::PrincipalKind::System { name } => PrincipalKind::System { name: name.clone() },
    };
    Principal {
        id: p.id.clone(),
        version: p.version,
        kind,
        data_range: p
            .grants
            .data_range
            .iter()
            .map(|r| DataRange { service: r.service.clone(), categories: r.categories.clone() })
            .collect(),
        purposes: p.grants.purposes.clone(),
        zones: p.grants.zones.clone(),
        actions: p.grants.actions.clone(),
    }
}

fn actor_of(principal: &Principal) -> Actor {
    match principal.kind {
        PrincipalKind::Person { .. } => Actor::Staff(principal.id.clone()),
        PrincipalKind::System { .. } => Actor::System(principal.id.clone()),
    }
}

/// The decisions about one subscriber, and the consent record they relied on.
struct Decided {
    subscriber: String,
    decisions: Vec<Decision>,
    consent_proof: Option<u64>,
    /// The wrapped data key, read with the facts (unwrapped only after the audit).
    key: Option<WrappedDataKey>,
}

/// The facts of one subscriber, or why there are none.
enum Facts {
    /// The facts, the consent record relied on, and the wrapped data key (`None` once erased).
    Known(SubscriberFacts, Option<u64>, Option<WrappedDataKey>),
    Refused(&'static str),
}

impl Decided {
    fn refused(subscriber: &str, decisions: Vec<Decision>) -> Decided {
        Decided { subscriber: subscriber.to_string(), decisions, consent_proof: None, key: None }
    }
}

impl App {
    /// A service over `stores` and `ledger`, enforcing the active policy version compiled
    /// for `deployment` with the deployment's own Cedar policies (`(name, text)` pairs).
    pub fn new(
        stores: Arc<dyn Stores>,
        ledger: Arc<dyn LedgerStore>,
        keys: Arc<dyn KeyAccess>,
        deployment: Deployment,
        extra_cedar: Vec<(String, String)>,
    ) -> App {
        App {
            stores,
            ledger,
            keys,
            deployment,
            extra_cedar,
            active: RwLock::new(None),
            principals: RwLock::new(PrincipalCache::default()),
            tz: tokutei_policy::tokyo::zone(),
        }
    }

    /// The stores behind the service (for administrative commands that share it).
    pub fn stores(&self) -> &Arc<dyn Stores> {
        &self.stores
    }

    pub fn ledger(&self) -> &Arc<dyn LedgerStore> {
        &self.ledger
    }

    /// The key access (shared with the inquiry service).
    pub fn keys(&self) -> &Arc<dyn KeyAccess> {
        &self.keys
    }

    fn today(&self, now: Timestamp) -> tokutei_policy::Date {
        tokutei_policy::Date(self.tz.to_datetime(now).date())
    }

    /// What to check the caches against, read once per request.
    fn freshness(&self, now: Timestamp) -> ActionResult<Freshness> {
        Ok(self.stores.freshness(self.today(now))?)
    }

    /// The compiled active policy version; `None` when no version is in force.
    fn active(&self, fresh: Freshness) -> ActionResult<Option<Arc<Active>>> {
        let Some(number) = fresh.active_policy else {
            return Ok(None);
        };
        if let Some(active) = self.active.read().unwrap_or_else(|e| e.into_inner()).as_ref()
            && active.number == number
        {
            return Ok(Some(Arc::clone(active)));
        }
        let version = self
            .stores
            .policy_version(number)?
            .ok_or_else(|| ActionError::Policy { version: number, message: "the version vanished".into() })?;
        let policy = tokutei_policy::parse(&version.source)
            .map_err(|e| ActionError::Policy { version: number, message: e.to_string() })?;
        let extra: Vec<(&str, &str)> = self.extra_cedar.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let gateway = Gateway::compile(&policy, &self.deployment, &extra)
            .map_err(|e| ActionError::Policy { version: number, message: e.to_string() })?;
        let active = Arc::new(Active {
            number,
            digest: version.digest.bytes(),
            digest_text: version.digest.0.clone(),
            policy: Arc::new(policy),
            gateway,
        });
        *self.active.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::clone(&active));
        Ok(Some(active))
    }

    /// The active policy as parsed, if one is in force.
    pub fn active_policy(&self, now: Timestamp) -> ActionResult<Option<(u32, Arc<Policy>)>> {
        Ok(self.active(self.freshness(now)?)?.map(|a| (a.number, Arc::clone(&a.policy))))
    }

    fn principal(&self, id: &str, fresh: Freshness) -> ActionResult<Arc<Cached>> {
        let generation = fresh.staff_generation;
        {
            let cache = self.principals.read().unwrap_or_else(|e| e.into_inner());
            if cache.generation == Some(generation)
                && let Some(found) = cache.by_id.get(id)
            {
                return Ok(Arc::clone(found));
            }
        }
        let stored = self.stores.principal(id)?.ok_or_else(|| ActionError::UnknownPrincipal(id.to_string()))?;
        let cached = Arc::new(Cached { principal: gateway_principal(&stored), disabled: stored.disabled_at.is_some() });
        let mut cache = self.principals.write().unwrap_or_else(|e| e.into_inner());
        if cache.generation != Some(generation) {
            cache.by_id.clear();
            cache.generation = Some(generation);
        }
        cache.by_id.insert(id.to_string(), Arc::clone(&cached));
        Ok(cached)
    }

    fn facts(&self, subscriber: &str, purpose: &str, today: tokutei_policy::Date) -> ActionResult<Facts> {
        let Some(AccessFacts { subscriber: stored, consent, key }) = self.stores.access_facts(subscriber, purpose)?
        else {
            return Ok(Facts::Refused(code::SUBSCRIBER_NOT_FOUND));
        };
        if stored.erased_at.is_some() {
            return Ok(Facts::Refused(code::SUBSCRIBER_ERASED));
        }
        let contract = match stored.contract.state {
            ContractState::Active => Contract::Active,
            ContractState::Suspended => Contract::Suspended,
            ContractState::Terminated => Contract::Terminated { on: stored.contract.terminated_on.unwrap_or(today).0 },
        };
        let mut consents = BTreeMap::new();
        let mut proof = None;
        if let Some(record) = consent {
            let choice = match record.record.choice {
                Choice::OptedIn => ConsentChoice::OptedIn,
                Choice::OptedOut => ConsentChoice::OptedOut,
            };
            proof = Some(record.id);
            consents.insert(purpose.to_string(), Consent { choice, proof: record.id.to_string() });
        }
        Ok(Facts::Known(SubscriberFacts { id: stored.id, service: stored.service, contract, consents }, proof, key))
    }

    fn check_call(call: &AccessCall) -> ActionResult<()> {
        if call.subscribers.is_empty() {
            return Err(ActionError::BadRequest("name at least one subscriber".into()));
        }
        if call.subscribers.len() > MAX_SUBSCRIBERS {
            return Err(ActionError::BadRequest(format!(
                "a call may name at most {MAX_SUBSCRIBERS} subscribers, got {}",
                call.subscribers.len()
            )));
        }
        if call.categories.len() > MAX_CATEGORIES {
            return Err(ActionError::BadRequest(format!(
                "a call may name at most {MAX_CATEGORIES} categories, got {}",
                call.categories.len()
            )));
        }
        limits::id("purpose", &call.purpose)?;
        if let Some(zone) = &call.zone {
            limits::id("zone", zone)?;
        }
        if let Some(approval) = &call.export_approval {
            limits::id("export_approval", approval)?;
        }
        if let Some(recipient) = &call.recipient {
            limits::name("recipient", recipient)?;
        }
        let mut seen = BTreeSet::new();
        for s in &call.subscribers {
            limits::id("subscribers", s)?;
            if !seen.insert(s.as_str()) {
                return Err(ActionError::BadRequest(format!("subscriber `{s}` is named twice")));
            }
        }
        let mut seen = BTreeSet::new();
        for c in &call.categories {
            limits::id("categories", c)?;
            if !seen.insert(c.as_str()) {
                return Err(ActionError::BadRequest(format!("category `{c}` is named twice")));
            }
        }
        Ok(())
    }

    /// Decide every (subscriber, category) of the call. Nothing is written.
    fn decide(
        &self,
        call: &AccessCall,
        active: Option<&Active>,
        principal: &Cached,
        recipient: Option<&str>,
        export_approval: Option<&str>,
    ) -> ActionResult<Vec<Decided>> {
        Self::check_call(call)?;
        let erase = call.action == Action::Erase;
        let categories: Vec<String> = if erase {
            // Decided again per subscriber on every category it has (below); this list only
            // names what a refusal before the facts covers.
            if call.categories.is_empty() {
                active.map(|a| a.policy.categories.iter().map(|c| c.id.clone()).collect()).unwrap_or_default()
            } else {
                call.categories.clone()
            }
        } else if call.categories.is_empty() {
            let of_purpose = active.map(|a| a.gateway.purpose_categories(&call.purpose).to_vec()).unwrap_or_default();
            if of_purpose.is_empty() {
                return Err(ActionError::BadRequest(format!(
                    "purpose `{}` lists no categories; name the categories wanted",
                    call.purpose
                )));
            }
            of_purpose
        } else {
            call.categories.clone()
        };
        let refuse_all = |subscriber: &str, code: &str, clause: &str| -> Vec<Decision> {
            categories
                .iter()
                .map(|c| Decision {
                    subscriber: subscriber.to_string(),
                    category: c.clone(),
                    allowed: false,
                    reasons: vec![Reason::service(code, clause, &call.purpose, c)],
                    policies: vec![],
                    mask: None,
                })
                .collect()
        };
        let today = self.today(call.now);
        let third_party = active
            .and_then(|a| a.policy.purpose(&call.purpose))
            .is_some_and(|p| p.third_party_provision && call.action == Action::Export);
        let mut out = Vec::with_capacity(call.subscribers.len());
        for subscriber in &call.subscribers {
            let Some(active) = active else {
                out.push(Decided::refused(subscriber, refuse_all(subscriber, code::NO_ACTIVE_POLICY, "policy")));
                continue;
            };
            if principal.disabled {
                out.push(Decided::refused(subscriber, refuse_all(subscriber, code::PRINCIPAL_DISABLED, "staff")));
                continue;
            }
            if active.policy.purpose(&call.purpose).is_none() {
                // Refused for the whole request before any fact is read: nothing about the
                // subscribers is looked at, and the audit holds one entry for the request.
                out.push(Decided::refused(
                    subscriber,
                    refuse_all(subscriber, code::PURPOSE_NOT_IN_POLICY, "purposes.list"),
                ));
                continue;
            }
            if third_party && recipient.is_none() {
                let clause =
                    active.policy.purposes.list.iter().position(|p| p.id == call.purpose).map_or_else(
                        || "purposes".to_string(),
                        |i| format!("purposes.list[{i}].third_party_provision"),
                    );
                out.push(Decided::refused(subscriber, refuse_all(subscriber, code::RECIPIENT_MISSING, &clause)));
                continue;
            }
            match self.facts(subscriber, &call.purpose, today)? {
                Facts::Refused(code) => out.push(Decided::refused(subscriber, refuse_all(subscriber, code, "vault"))),
                Facts::Known(facts, proof, key) => {
                    let approval = export_approval.filter(|id| {
                        self.export_covers(id, &call.principal, &call.purpose, subscriber, &categories, call.now)
                    });
                    let of_subscriber;
                    let categories = if erase {
                        of_subscriber = self.erasure_categories(active, &facts, &call.categories)?;
                        &of_subscriber
                    } else {
                        &categories
                    };
                    let request = AccessRequest {
                        principal: &principal.principal,
                        action: call.action,
                        purpose: &call.purpose,
                        subscriber: &facts,
                        categories,
                        channel: call.channel,
                        zone: call.zone.as_deref(),
                        export_approval: approval,
                        now: call.now,
                    };
                    out.push(Decided {
                        subscriber: subscriber.clone(),
                        decisions: active.gateway.decide(&request),
                        consent_proof: proof,
                        key,
                    });
                }
            }
        }
        Ok(out)
    }

    /// What an erasure of one subscriber destroys, so what it is decided on: every category
    /// of the subscriber's service in the active policy, every category it holds values of
    /// (its one data key seals them all) and any the caller named. Naming fewer categories
    /// never narrows an erasure.
    fn erasure_categories(
        &self,
        active: &Active,
        facts: &SubscriberFacts,
        named: &[String],
    ) -> ActionResult<Vec<String>> {
        let mut categories: Vec<String> = active
            .policy
            .categories
            .iter()
            .filter(|c| c.services.contains(&facts.service))
            .map(|c| c.id.clone())
            .collect();
        let held = self.stores.latest_versions(&facts.id)?.into_iter().map(|(category, _)| category);
        for category in held.chain(named.iter().cloned()) {
            if !categories.contains(&category) {
                categories.push(category);
            }
        }
        Ok(categories)
    }

    fn export_covers(
        &self,
        id: &str,
        principal: &str,
        purpose: &str,
        subscriber: &str,
        categories: &[String],
        now: Timestamp,
    ) -> bool {
        // A store failure here refuses the export (fail closed).
        matches!(self.stores.export_request(id), Ok(Some(r)) if r.covers(principal, purpose, subscriber, categories, now))
    }

    /// The decisions and the deciding policies, without reading any value. The decisions
    /// reveal facts about each subscriber (existence, contract state, choices), so a call may
    /// name at most [`limits::MAX_EXPLAIN_SUBSCRIBERS`] and is audited (`access_explained`,
    /// durable) before anything is decided.
    pub fn explain(&self, call: &AccessCall) -> ActionResult<Explanation> {
        Self::check_call(call)?;
        if call.subscribers.len() > limits::MAX_EXPLAIN_SUBSCRIBERS {
            return Err(ActionError::BadRequest(format!(
                "an explanation may name at most {} subscribers, got {}",
                limits::MAX_EXPLAIN_SUBSCRIBERS,
                call.subscribers.len()
            )));
        }
        let fresh = self.freshness(call.now)?;
        let active = self.active(fresh)?;
        let principal = self.principal(&call.principal, fresh)?;
        let mut details = vec![
            ("action".to_string(), call.action.id().to_string()),
            ("purpose".to_string(), call.purpose.clone()),
            ("subscribers".to_string(), call.subscribers.join(",")),
            ("client".to_string(), call.client.clone()),
        ];
        if !call.categories.is_empty() {
            details.push(("categories".to_string(), call.categories.join(",")));
        }
        let mut entry = AdminEntry::new(AdminAction::AccessExplained, format!("staff/{}", call.principal));
        entry.details = details;
        self.audit_admin(actor_of(&principal.principal), entry, call.now)?;
        let Some(active_ref) = active.as_deref() else {
            let decisions = self.decide(call, None, &principal, None, None)?;
            return Ok(Explanation {
                decisions: decisions.into_iter().flat_map(|d| d.decisions).collect(),
                policies: vec![],
            });
        };
        let recipient = self.recipient(call)?;
        let decided =
            self.decide(call, Some(active_ref), &principal, recipient.as_deref(), call.export_approval.as_deref())?;
        // Re-run through the explaining engine for the policy texts of known subscribers.
        let mut policies: BTreeMap<String, tokutei_gateway::ExplainedPolicy> = BTreeMap::new();
        let today = self.today(call.now);
        let mut decisions = Vec::new();
        for Decided { subscriber, decisions: d, .. } in decided {
            if let Facts::Known(facts, _, _) = self.facts(&subscriber, &call.purpose, today)?
                && !principal.disabled
            {
                let categories: Vec<String> = d.iter().map(|x| x.category.clone()).collect();
                let approval = call.export_approval.as_deref().filter(|id| {
                    self.export_covers(id, &call.principal, &call.purpose, &subscriber, &categories, call.now)
                });
                let request = AccessRequest {
                    principal: &principal.principal,
                    action: call.action,
                    purpose: &call.purpose,
                    subscriber: &facts,
                    categories: &categories,
                    channel: call.channel,
                    zone: call.zone.as_deref(),
                    export_approval: approval,
                    now: call.now,
                };
                for p in active_ref.gateway.explain(&request).policies {
                    policies.insert(p.id.clone(), p);
                }
            }
            decisions.extend(d);
        }
        Ok(Explanation { decisions, policies: policies.into_values().collect() })
    }

    fn recipient(&self, call: &AccessCall) -> ActionResult<Option<String>> {
        if call.recipient.is_some() {
            return Ok(call.recipient.clone());
        }
        match &call.export_approval {
            Some(id) => Ok(self.stores.export_request(id)?.and_then(|r| r.request.recipient)),
            None => Ok(None),
        }
    }

    /// Audit the decisions: one entry per subscriber and outcome, appended in one durable
    /// batch. Returns the ledger index of each (subscriber, category) decision.
    fn audit(
        &self,
        call: &AccessCall,
        active: Option<&Active>,
        principal: &Cached,
        decided: &[Decided],
    ) -> ActionResult<Vec<Vec<u64>>> {
        let digest = active.map_or([0u8; 32], |a| a.digest);
        let meta = RequestMeta {
            channel: call.channel.map(|c| c.id().to_string()).unwrap_or_default(),
            zone: call.zone.clone().unwrap_or_default(),
            client: call.client.clone(),
        };
        let actor = actor_of(&principal.principal);
        if refused_whole(call, active, principal) {
            return self.audit_refused_request(call, actor, digest, meta, decided);
        }
        let mut entries = Vec::new();
        // For each subscriber: (index into entries of its allow entry, of its deny entry).
        let mut slots = Vec::with_capacity(decided.len());
        for Decided { subscriber, decisions, .. } in decided {
            let mut slot = (None, None);
            for allowed in [true, false] {
                let group: Vec<&Decision> = decisions.iter().filter(|d| d.allowed == allowed).collect();
                if group.is_empty() {
                    continue;
                }
                let mut reasons: Vec<String> =
                    group.iter().flat_map(|d| d.reasons.iter().map(|r| r.code.clone())).collect();
                reasons.sort_unstable();
                reasons.dedup();
                let mut rules: Vec<String> = group.iter().flat_map(|d| d.policies.iter().cloned()).collect();
                rules.sort_unstable();
                rules.dedup();
                let event = AccessEvent {
                    action: call.action,
                    purpose: call.purpose.clone(),
                    subscribers: vec![subscriber.clone()],
                    categories: group.iter().map(|d| d.category.clone()).collect(),
                    decision: if allowed { tokutei_ledger::Decision::Allow } else { tokutei_ledger::Decision::Deny },
                    reasons,
                    rules,
                    policy_digest: digest,
                    request: meta.clone(),
                };
                if allowed {
                    slot.0 = Some(entries.len());
                } else {
                    slot.1 = Some(entries.len());
                }
                entries.push(Entry::access(call.now, actor.clone(), event));
            }
            slots.push(slot);
        }
        let appended = self.ledger.append_batch(&entries).map_err(ActionError::Audit)?;
        Ok(decided
            .iter()
            .zip(slots)
            .map(|(d, (allow, deny))| {
                d.decisions
                    .iter()
                    .map(|d| {
                        let slot = if d.allowed { allow } else { deny };
                        slot.and_then(|i| appended.get(i)).map_or(u64::MAX, |a| a.index)
                    })
                    .collect()
            })
            .collect())
    }

    /// One deny entry for a request refused whole (no policy in force, a disabled principal,
    /// a purpose the active policy does not list), naming every subscriber once: however
    /// many subscribers it names, such a request adds one entry to the ledger.
    fn audit_refused_request(
        &self,
        call: &AccessCall,
        actor: Actor,
        digest: [u8; 32],
        meta: RequestMeta,
        decided: &[Decided],
    ) -> ActionResult<Vec<Vec<u64>>> {
        let mut categories: Vec<String> = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        for d in decided.iter().flat_map(|d| &d.decisions) {
            if !categories.contains(&d.category) {
                categories.push(d.category.clone());
            }
            reasons.extend(d.reasons.iter().map(|r| r.code.clone()));
        }
        reasons.sort_unstable();
        reasons.dedup();
        let event = AccessEvent {
            action: call.action,
            purpose: call.purpose.clone(),
            subscribers: decided.iter().map(|d| d.subscriber.clone()).collect(),
            categories,
            decision: tokutei_ledger::Decision::Deny,
            reasons,
            rules: Vec::new(),
            policy_digest: digest,
            request: meta,
        };
        let index = self.ledger.append(&Entry::access(call.now, actor, event)).map_err(ActionError::Audit)?.index;
        Ok(decided.iter().map(|d| vec![index; d.decisions.len()]).collect())
    }

    /// Find subscribers by the value of a searchable category (through its keyed blind
    /// index), for `call.purpose`: every candidate is decided as a read of that category and
    /// audited like any read; only the allowed candidates are listed (with their audit
    /// indexes), and no value is returned. The searched value is never stored or logged.
    /// `call.subscribers` is ignored; `call.categories` must name exactly the one category.
    pub fn search(&self, call: &AccessCall, value: &str) -> ActionResult<AccessOutcome> {
        let [category] = call.categories.as_slice() else {
            return Err(ActionError::BadRequest("a search names exactly one category".into()));
        };
        let fresh = self.freshness(call.now)?;
        let active = self.active(fresh)?;
        let searchable = active.as_deref().and_then(|a| a.policy.category(category)).is_some_and(|c| c.searchable);
        if !searchable {
            return Err(ActionError::BadRequest(format!("category `{category}` is not searchable")));
        }
        let principal = self.principal(&call.principal, fresh)?;
        let candidates = match self.keys.blind_token(category, value) {
            Some(token) => self.stores.find_by_blind_index(category, &token)?,
            None => Vec::new(),
        };
        let mut outcome = AccessOutcome {
            purpose: None,
            policy_version: active.as_deref().map(|a| a.number),
            policy_digest: active.as_deref().map(|a| a.digest_text.clone()),
            subscribers: Vec::new(),
            audit: Vec::new(),
            provisions: Vec::new(),
        };
        if candidates.is_empty() {
            return Ok(outcome);
        }
        let mut call = call.clone();
        call.action = Action::Read;
        call.subscribers = candidates.into_iter().take(MAX_SUBSCRIBERS).collect();
        outcome = self.decide_and_audit(&call, active.as_deref(), &principal, None, None)?.1;
        outcome.subscribers.retain(|s| s.items.iter().all(|i| i.allowed));
        Ok(outcome)
    }

    /// The common first half of every use: decide each (subscriber, category) and append the
    /// audit entries, waiting until they are durable. Nothing is read or written before this
    /// returns.
    fn decide_and_audit(
        &self,
        call: &AccessCall,
        active: Option<&Active>,
        principal: &Cached,
        recipient: Option<&str>,
        export_approval: Option<&str>,
    ) -> ActionResult<(Vec<Decided>, AccessOutcome)> {
        let decided = self.decide(call, active, principal, recipient, export_approval)?;
        let indexes = self.audit(call, active, principal, &decided)?;
        let outcome = outcome_skeleton(active, &call.purpose, &decided, &indexes);
        Ok((decided, outcome))
    }

    /// Read (or export) values: decide, audit durably, then decrypt the allowed values.
    pub fn read(&self, call: &AccessCall) -> ActionResult<AccessOutcome> {
        if !matches!(call.action, Action::Read | Action::Export) {
            return Err(ActionError::BadRequest(format!(
                "action `{}` changes data; use a write or an erasure",
                call.action.id()
            )));
        }
        let fresh = self.freshness(call.now)?;
        let active = self.active(fresh)?;
        let principal = self.principal(&call.principal, fresh)?;
        let recipient = self.recipient(call)?;
        let (decided, mut outcome) = self.decide_and_audit(
            call,
            active.as_deref(),
            &principal,
            recipient.as_deref(),
            call.export_approval.as_deref(),
        )?;
        // From here on every decision is durable in the ledger.
        let mut provisions = Vec::new();
        for (Decided { subscriber, decisions, consent_proof: proof, key }, out) in
            decided.iter().zip(outcome.subscribers.iter_mut())
        {
            let wanted: Vec<&str> = decisions.iter().filter(|d| d.allowed).map(|d| d.category.as_str()).collect();
            if wanted.is_empty() {
                continue;
            }
            let Some(active) = active.as_deref() else { continue };
            self.open_into(active, subscriber, key.as_ref(), &wanted, out)?;
            let third_party = active.policy.purpose(&call.purpose).filter(|p| p.third_party_provision);
            if let (Action::Export, Some(purpose), Some(recipient)) = (call.action, third_party, recipient.as_deref()) {
                let audit_index = out.items.iter().find(|i| i.allowed).map(|i| i.audit_index);
                provisions.push(NewProvision {
                    provided_at: call.now,
                    recipient: recipient.to_string(),
                    subscriber: subscriber.clone(),
                    categories: wanted.iter().map(|c| c.to_string()).collect(),
                    purpose: call.purpose.clone(),
                    basis: if purpose.consent == ConsentMode::OptOut {
                        LegalBasis::OptOut
                    } else {
                        LegalBasis::Consent
                    },
                    consent_proof: *proof,
                    record_type: RecordType::Each,
                    audit_index,
                    keep_until: keep_until(self.today(call.now), 3),
                });
            }
        }
        if !provisions.is_empty() {
            outcome.provisions = self.stores.add_provisions(&provisions)?;
        }
        Ok(outcome)
    }

    /// Decrypt the current values of `categories` of `subscriber` into `out`.
    fn open_into(
        &self,
        active: &Active,
        subscriber: &str,
        wrapped: Option<&WrappedDataKey>,
        categories: &[&str],
        out: &mut SubscriberOutcome,
    ) -> ActionResult<()> {
        let stored: Vec<StoredValue> = if categories.len() == 1 {
            self.stores.values(subscriber, Some(categories[0]), false)?
        } else {
            let mut all = self.stores.values(subscriber, None, false)?;
            all.retain(|v| categories.contains(&v.category.as_str()));
            all
        };
        if stored.is_empty() {
            return Ok(());
        }
        let Some(wrapped) = wrapped else {
            for item in out.items.iter_mut().filter(|i| i.allowed) {
                item.unreadable.push((0, "erased".into()));
            }
            return Ok(());
        };
        let key = self
            .keys
            .unwrap_key(subscriber, wrapped)
            .map_err(|message| ActionError::Key { subscriber: subscriber.to_string(), message })?;
        for value in stored {
            let Some(item) = out.items.iter_mut().find(|i| i.allowed && i.category == value.category) else {
                continue;
            };
            let slot = crate::codec::ValueSlot { subscriber, category: &value.category, version: value.version };
            let plaintext = match crate::codec::open(&key, slot, &value.sealed) {
                Ok(p) => p,
                Err(e) => {
                    item.unreadable.push((value.version, e.to_string()));
                    continue;
                }
            };
            let category = active.policy.category(&value.category);
            let binary = category.is_some_and(|c| c.binary);
            let mask_def = item.mask.as_deref().and_then(|m| category.and_then(|c| c.masks.iter().find(|x| x.id == m)));
            let (text, encoding, masked) = if binary {
                (base64::engine::general_purpose::STANDARD.encode(plaintext.as_slice()), "base64", false)
            } else {
                let text = String::from_utf8_lossy(&plaintext);
                match mask_def {
                    Some(m) => (mask::apply(m, &text), "text", true),
                    None if item.mask.is_some() => ("*".repeat(text.chars().count()), "text", true),
                    None => (text.into_owned(), "text", false),
                }
            };
            item.values.push(ValueOut {
                version: value.version,
                value: text,
                encoding,
                masked,
                provenance: value.provenance,
                valid_from: value.valid_from,
            });
        }
        Ok(())
    }

    /// Write new values through the gateway (action `update`, one subscriber): check each
    /// value against its category's limits, decide per category, audit the decisions durably,
    /// seal the allowed ones, audit the versions they become (`values_written`: each
    /// version's key and leaf hash, durable before anything is stored), then store them.
    pub fn write(&self, write: &WriteCall) -> ActionResult<AccessOutcome> {
        let call = &write.call;
        if call.action != Action::Update {
            return Err(ActionError::BadRequest("a write is an `update`".into()));
        }
        if call.subscribers.len() != 1 {
            return Err(ActionError::BadRequest("a write names exactly one subscriber".into()));
        }
        let mut call = call.clone();
        call.categories = write.values.iter().map(|v| v.category.clone()).collect();
        if call.categories.is_empty() {
            return Err(ActionError::BadRequest("a write needs at least one value".into()));
        }
        let fresh = self.freshness(call.now)?;
        let active = self.active(fresh)?;
        // Bad input is refused before anything is written (a NUL, a value over its limit).
        for v in &write.values {
            if let Some(category) = active.as_deref().and_then(|a| a.policy.category(&v.category)) {
                tokutei_store::vault::check_plaintext(category.binary, &v.value)
                    .map_err(|problem| ActionError::BadRequest(format!("value of `{}`: {problem}", v.category)))?;
            }
        }
        let principal = self.principal(&call.principal, fresh)?;
        let (decided, mut outcome) = self.decide_and_audit(&call, active.as_deref(), &principal, None, None)?;
        let (Some(active), Some(Decided { subscriber, decisions, .. })) = (active.as_deref(), decided.first()) else {
            return Ok(outcome);
        };
        let allowed: Vec<&NewPlainValue> =
            write.values.iter().filter(|v| decisions.iter().any(|d| d.allowed && d.category == v.category)).collect();
        if allowed.is_empty() {
            return Ok(outcome);
        }
        let wrapped = self
            .stores
            .data_key(subscriber)?
            .ok_or_else(|| ActionError::BadRequest(format!("subscriber `{subscriber}` is erased")))?;
        let key = self
            .keys
            .unwrap_key(subscriber, &wrapped)
            .map_err(|message| ActionError::Key { subscriber: subscriber.clone(), message })?;
        let mut latest: HashMap<String, u32> = self.stores.latest_versions(subscriber)?.into_iter().collect();
        let mut values = Vec::with_capacity(allowed.len());
        for v in allowed {
            let category = active
                .policy
                .category(&v.category)
                .ok_or_else(|| ActionError::BadRequest(format!("unknown category `{}`", v.category)))?;
            let version = latest.get(&v.category).copied().unwrap_or(0) + 1;
            latest.insert(v.category.clone(), version);
            let slot = crate::codec::ValueSlot { subscriber, category: &v.category, version };
            let sealed = crate::codec::seal(&key, slot, category.binary, &v.value)
                .map_err(|e| ActionError::Key { subscriber: subscriber.clone(), message: e.to_string() })?;
            let blind_index = if category.searchable {
                std::str::from_utf8(&v.value).ok().and_then(|t| self.keys.blind_token(&v.category, t))
            } else {
                None
            };
            values.push(NewValue {
                subscriber: subscriber.clone(),
                category: v.category.clone(),
                version,
                sealed,
                provenance: write.provenance.clone(),
                valid_from: call.now,
                supersedes: !category.log && version > 1,
                blind_index,
            });
        }
        let leaves: Vec<(tokutei_store::vault::ValueRef, [u8; 32])> = values
            .iter()
            .map(|v| {
                let key = tokutei_store::vault::ValueRef {
                    subscriber: v.subscriber.clone(),
                    category: v.category.clone(),
                    version: v.version,
                };
                let leaf = tokutei_store::vault::value_leaf(&key, &v.sealed.sealed_hash());
                (key, leaf)
            })
            .collect();
        let event = AdminEvent {
            action: AdminAction::ValuesWritten,
            subject: format!("subscriber/{subscriber}"),
            digest: Some(tokutei_store::vault::values_digest(leaves.iter().map(|(k, l)| (k, l)))),
            details: leaves
                .iter()
                .map(|(k, leaf)| ("value".to_string(), format!("{}/{}/{}", k.category, k.version, hex::encode(leaf))))
                .collect(),
        };
        let written = self
            .ledger
            .append(&Entry::admin(call.now, actor_of(&principal.principal), event))
            .map_err(ActionError::Audit)?;
        self.stores.add_values(&values, Some(written.index))?;
        outcome.audit.push(written.index);
        if let Some(out) = outcome.subscribers.first_mut() {
            for value in &values {
                if let Some(item) = out.items.iter_mut().find(|i| i.category == value.category) {
                    item.written.push(value.version);
                }
            }
        }
        Ok(outcome)
    }

    /// Erase subscribers through the gateway (action `erase`): each subscriber whose every
    /// requested category is allowed is crypto-shredded after the audit entry is durable.
    pub fn erase(&self, call: &AccessCall) -> ActionResult<AccessOutcome> {
        if call.action != Action::Erase {
            return Err(ActionError::BadRequest("an erasure is an `erase`".into()));
        }
        let fresh = self.freshness(call.now)?;
        let active = self.active(fresh)?;
        let principal = self.principal(&call.principal, fresh)?;
        let (decided, mut outcome) = self.decide_and_audit(call, active.as_deref(), &principal, None, None)?;
        for (Decided { subscriber, decisions, .. }, out) in decided.iter().zip(outcome.subscribers.iter_mut()) {
            if !decisions.is_empty() && decisions.iter().all(|d| d.allowed) {
                self.stores.erase_subscriber(subscriber, call.now)?;
                out.erased = true;
            }
        }
        Ok(outcome)
    }

    /// Erase a subscriber by an operator's command (`tokutei subscribers erase`), audit first:
    /// the subscriber must exist and not be erased yet; the `subscriber_erased` entry (the id
    /// only; the ledger still verifies once the key is gone) is durable before the data key
    /// is destroyed. Erasures through the gateway go through [`Self::erase`] instead.
    pub fn erase_subscriber(&self, actor: Actor, subscriber: &str, at: Timestamp) -> ActionResult<()> {
        limits::id("subscriber", subscriber)?;
        let Some(stored) = self.stores.subscriber(subscriber)? else {
            return Err(ActionError::NotFound(format!("subscriber `{subscriber}`")));
        };
        if stored.erased_at.is_some() {
            return Err(ActionError::Conflict(format!("subscriber `{subscriber}` was already erased")));
        }
        self.audit_admin(
            actor,
            AdminEntry::new(AdminAction::SubscriberErased, format!("subscriber/{subscriber}")),
            at,
        )?;
        Ok(self.stores.erase_subscriber(subscriber, at)?)
    }

    /// Record a subscriber's choice for a purpose, audit first: the `consent_recorded` entry
    /// (with the record's digest) is durable before the record is stored, and the record
    /// names it. The purpose must be in the active policy and offer a choice (opt-in or
    /// opt-out), the subscriber must exist, and the notice version must be a published one.
    pub fn record_consent(&self, actor: Actor, consent: &NewConsent) -> ActionResult<ConsentRecord> {
        let active = self
            .active(self.freshness(consent.recorded_at)?)?
            .ok_or_else(|| ActionError::BadRequest("no policy version is in force; publish one first".into()))?;
        let purpose = active.policy.purpose(&consent.purpose).ok_or_else(|| {
            ActionError::invalid("purpose", format!("`{}` is not in the active policy", consent.purpose))
        })?;
        if purpose.consent == ConsentMode::None {
            return Err(ActionError::invalid(
                "purpose",
                format!("`{}` is needed to provide the service and offers no choice", consent.purpose),
            ));
        }
        if self.stores.subscriber(&consent.subscriber)?.is_none() {
            return Err(ActionError::NotFound(format!("subscriber `{}`", consent.subscriber)));
        }
        // The notice shown is a version's: one never published was never shown to anyone.
        if self.stores.policy_version(consent.notice_version)?.is_none() {
            return Err(ActionError::invalid(
                "notice_version",
                format!("`{}` is not a published policy version", consent.notice_version),
            ));
        }
        let details = vec![
            ("purpose".to_string(), consent.purpose.clone()),
            ("choice".to_string(), consent.choice.id().to_string()),
            ("channel".to_string(), consent.channel.clone()),
            ("notice_version".to_string(), consent.notice_version.to_string()),
        ];
        let event = AdminEvent {
            action: AdminAction::ConsentRecorded,
            subject: consent.subscriber.clone(),
            digest: Some(tokutei_store::consent::consent_digest(consent)),
            details,
        };
        let entry = self.ledger.append(&Entry::admin(consent.recorded_at, actor, event)).map_err(ActionError::Audit)?;
        Ok(self.stores.record_consent(consent, Some(entry.index))?)
    }

    /// Change a subscriber's contract state, then audit it.
    pub fn set_contract(
        &self,
        actor: Actor,
        subscriber: &str,
        contract: &StoreContract,
        at: Timestamp,
    ) -> ActionResult<()> {
        if (contract.state == ContractState::Terminated) != contract.terminated_on.is_some() {
            return Err(ActionError::BadRequest(
                "a termination date is needed exactly when the contract is terminated".into(),
            ));
        }
        self.stores.set_contract(subscriber, contract)?;
        let mut details = vec![("state".to_string(), contract.state.id().to_string())];
        if let Some(on) = contract.terminated_on {
            details.push(("terminated_on".to_string(), on.to_string()));
        }
        let mut entry = AdminEntry::new(AdminAction::ContractChanged, subscriber);
        entry.details = details;
        self.audit_admin(actor, entry, at).map(|_| ())
    }

    /// Whether `policy` compiles for this deployment (its settings and Cedar policies): check a
    /// version before publishing it, so it can be enforced the moment it takes effect.
    pub fn check_policy(&self, policy: &Policy) -> Result<(), String> {
        let extra: Vec<(&str, &str)> = self.extra_cedar.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        Gateway::compile(policy, &self.deployment, &extra).map(|_| ()).map_err(|e| e.to_string())
    }

    /// Forget the compiled policy and cached principals (after a deployment change).
    pub fn invalidate(&self) {
        *self.active.write().unwrap_or_else(|e| e.into_inner()) = None;
        *self.principals.write().unwrap_or_else(|e| e.into_inner()) = PrincipalCache::default();
    }
}

/// Whether the call is refused whole, before any subscriber's facts are read.
fn refused_whole(call: &AccessCall, active: Option<&Active>, principal: &Cached) -> bool {
    principal.disabled || active.is_none_or(|a| a.policy.purpose(&call.purpose).is_none())
}

/// The last day a record made on `today` must be kept, `years` later.
fn keep_until(today: tokutei_policy::Date, years: i16) -> tokutei_policy::Date {
    let d = today.0;
    let target = d.checked_add(jiff::Span::new().years(years)).unwrap_or(d);
    tokutei_policy::Date(target)
}

fn outcome_skeleton(
    active: Option<&Active>,
    purpose: &str,
    decided: &[Decided],
    indexes: &[Vec<u64>],
) -> AccessOutcome {
    AccessOutcome {
        purpose: active.and_then(|a| a.policy.purpose(purpose)).map(|_| purpose.to_string()),
        policy_version: active.map(|a| a.number),
        policy_digest: active.map(|a| a.digest_text.clone()),
        subscribers: decided
            .iter()
            .zip(indexes)
            .map(|(Decided { subscriber, decisions, .. }, idx)| SubscriberOutcome {
                id: subscriber.clone(),
                items: decisions
                    .iter()
                    .zip(idx)
                    .map(|(d, &audit_index)| ItemOutcome {
                        category: d.category.clone(),
                        allowed: d.allowed,
                        reasons: d.reasons.clone(),
                        policies: d.policies.clone(),
                        mask: d.mask.clone(),
                        audit_index,
                        values: Vec::new(),
                        unreadable: Vec::new(),
                        written: Vec::new(),
                    })
                    .collect(),
                erased: false,
            })
            .collect(),
        audit: {
            let mut all: Vec<u64> = indexes.iter().flatten().copied().filter(|&i| i != u64::MAX).collect();
            all.sort_unstable();
            all.dedup();
            all
        },
        provisions: Vec::new(),
    }
}
