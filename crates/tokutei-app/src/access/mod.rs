//! [`App`]: reads, writes, exports and erasures through the gateway, audit first.
//!
//! `call` names a use and its outcome; `facts` translates between the stores and the
//! gateway, in one place; `decide` decides and audits (durable) every use; `read`, `write`,
//! `erase` and `explain` are the uses themselves.
//!
//! Two caches keep the hot path to a handful of indexed reads: the compiled gateway of the
//! active policy version (recompiled when the active version number changes) and the
//! principals (dropped whenever the staff registry's generation moves). Subscriber facts —
//! contract state and the current consent for the declared purpose — are read on every
//! request, so a withdrawal or a termination takes effect on the very next one.

mod call;
mod decide;
mod erase;
mod explain;
mod facts;
mod read;
mod write;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use tokutei_gateway::{Deployment, Gateway, Principal};
use tokutei_policy::Policy;
use tokutei_store::assessment::AssessmentStore;
use tokutei_store::auth::AuthStore;
use tokutei_store::consent::ConsentStore;
use tokutei_store::exports::{ArtefactStore, MediaExceptionStore};
use tokutei_store::incident::IncidentStore;
use tokutei_store::inquiry::InquiryStore;
use tokutei_store::inspection::InspectionStore;
use tokutei_store::ledger::LedgerStore;
use tokutei_store::outbox::AlertStore;
use tokutei_store::oversight::{OversightStore, ViolationStore};
use tokutei_store::portal::PortalStore;
use tokutei_store::provision::ProvisionStore;
use tokutei_store::requests::RequestStore;
use tokutei_store::staff::{ExportStore, StaffStore};
use tokutei_store::vault::VaultStore;
use tokutei_store::zones::ZoneStore;
use tokutei_store::{Freshness, FreshnessStore, PolicyStore};

pub use call::{AccessCall, AccessOutcome, ItemOutcome, NewPlainValue, SubscriberOutcome, ValueOut, WriteCall};
use facts::gateway_principal;

use crate::error::{ActionError, ActionResult};
use crate::ids::PrincipalId;
use crate::key_access::KeyAccess;

/// Every storage capability the service needs, from one backend.
pub trait Stores:
    VaultStore
    + AuthStore
    + StaffStore
    + ExportStore
    + ArtefactStore
    + MediaExceptionStore
    + ConsentStore
    + ProvisionStore
    + PolicyStore
    + FreshnessStore
    + IncidentStore
    + AlertStore
    + OversightStore
    + ViolationStore
    + AssessmentStore
    + RequestStore
    + PortalStore
    + ZoneStore
    + InquiryStore
    + InspectionStore
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
        + ArtefactStore
        + MediaExceptionStore
        + ConsentStore
        + ProvisionStore
        + PolicyStore
        + FreshnessStore
        + IncidentStore
        + AlertStore
        + OversightStore
        + ViolationStore
        + AssessmentStore
        + RequestStore
        + PortalStore
        + ZoneStore
        + InquiryStore
        + InspectionStore
        + Send
        + Sync
        + 'static
{
}

/// The policy version in force, compiled for this deployment.
pub(crate) struct Active {
    pub number: u32,
    pub policy: Arc<Policy>,
    pub gateway: Gateway,
    pub digest: [u8; 32],
    pub digest_text: String,
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
    pub(crate) deployment: Deployment,
    extra_cedar: Vec<(String, String)>,
    active: RwLock<Option<Arc<Active>>>,
    principals: RwLock<PrincipalCache>,
    tz: jiff::tz::TimeZone,
    incident_rules: crate::incidents::rules::IncidentRules,
    /// Where alerts go and how often they are tried (`deployment.toml`'s `[alerts]`).
    pub(crate) alerts: crate::alerts::AlertConfig,
    /// The designation's deadlines and the chief manager's tasks (`deployment.toml`'s `[oversight]`).
    pub(crate) oversight_rules: crate::oversight::OversightRules,
    /// The training catalogue (`deployment.toml`'s `[training]`).
    pub(crate) training_rules: crate::oversight::training::TrainingRules,
    /// The data-subject requests' deadline and fees (`deployment.toml`'s `[requests]`).
    pub(crate) request_rules: crate::requests::RequestRules,
    /// The witnesses asked for cosignatures and their quorum (`deployment.toml`'s `[witnesses]`).
    pub(crate) witness_rules: crate::witnessing::WitnessRules,
    /// The latest checkpoint found cosigned by a quorum (newer ones are searched from there).
    pub(crate) published: std::sync::Mutex<Option<crate::witnessing::Published>>,
    /// The subscriber's own page: its links' and sessions' lifetimes (`[portal]`).
    pub(crate) portal_rules: crate::portal::PortalRules,
    /// The longest stay in a handling zone (`[zones]`).
    pub(crate) zone_rules: crate::zones::ZoneRules,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("deployment", &self.deployment).finish_non_exhaustive()
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
            incident_rules: crate::incidents::rules::IncidentRules::default(),
            alerts: crate::alerts::AlertConfig::default(),
            oversight_rules: crate::oversight::OversightRules::default(),
            training_rules: crate::oversight::training::TrainingRules::default(),
            request_rules: crate::requests::RequestRules::default(),
            witness_rules: crate::witnessing::WitnessRules::default(),
            published: std::sync::Mutex::new(None),
            portal_rules: crate::portal::PortalRules::default(),
            zone_rules: crate::zones::ZoneRules::default(),
        }
    }

    /// The same service under the deployment's incident rules (deadlines, recipients, report
    /// items: `deployment.toml`'s `[incidents]`) instead of the defaults.
    pub fn with_incident_rules(mut self, rules: crate::incidents::rules::IncidentRules) -> App {
        self.incident_rules = rules;
        self
    }

    /// The incident rules in force.
    pub fn incident_rules(&self) -> &crate::incidents::rules::IncidentRules {
        &self.incident_rules
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
    pub(crate) fn freshness(&self, now: Timestamp) -> ActionResult<Freshness> {
        Ok(self.stores.freshness(self.today(now))?)
    }

    /// The compiled active policy version; `None` when no version is in force.
    pub(crate) fn active(&self, fresh: Freshness) -> ActionResult<Option<Arc<Active>>> {
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

    fn principal(&self, id: &PrincipalId, fresh: Freshness) -> ActionResult<Arc<Cached>> {
        let id = id.as_str();
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
