//! Shared state of the server: the store behind capability traits, the cache of parsed
//! policy versions, and the metrics registry.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokutei_app::auth::{Auth, AuthStores};
use tokutei_app::inquiry::InquiryStores;
use tokutei_policy::Policy;
use tokutei_store::auth::{AuthStore, RateLimitStore};
use tokutei_store::incident::IncidentStore;
use tokutei_store::inquiry::{InquiryStore, SettingsStore};
use tokutei_store::ledger::LedgerStore;
use tokutei_store::staff::StaffStore;
use tokutei_store::{PolicyStore, PolicyVersion};

use crate::AppError;
use crate::metrics::Metrics;

/// Everything the web layer needs from storage (subscriber information itself only through
/// the access service, inquiries' contents only through the inquiry service, sign-in state
/// only through the sign-in service; the incident register's public entries to list them). The web reads through it; every write goes through
/// `tokutei-app`.
pub trait Backend:
    PolicyStore + StaffStore + AuthStores + InquiryStores + IncidentStore + Send + Sync + 'static
{
}
impl<
    T: PolicyStore
        + StaffStore
        + AuthStore
        + RateLimitStore
        + InquiryStore
        + SettingsStore
        + IncidentStore
        + Send
        + Sync
        + 'static,
> Backend for T
{
}

/// Cloned into every handler; cheap (all `Arc`s).
#[derive(Clone)]
pub struct AppState {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) metrics: Arc<Metrics>,
    /// The audit ledger, for checkpoints and ledger figures (absent in tests of pages only).
    pub(crate) ledger: Option<Arc<dyn LedgerStore>>,
    /// The access service (gateway, staff registry) behind the JSON API.
    pub(crate) access: Option<Arc<tokutei_app::App>>,
    /// Parsed policy versions by number. Versions are immutable, so entries never go stale.
    policies: Arc<RwLock<HashMap<u32, Arc<Policy>>>>,
    /// Inquiry submissions per client address in the current hour (the rate limit).
    pub(crate) inquiry_limiter: Arc<crate::limiter::Limiter>,
    /// Attempts to open the subscriber's page per client address in the current hour.
    pub(crate) portal_limiter: Arc<crate::limiter::Limiter>,
    /// The ledger's checkpoint key (`<origin>+<id>+<key>`), shown to subscribers and auditors.
    pub(crate) log_key: Option<String>,
    /// Proxies whose `X-Forwarded-For` names the client (for rate limits).
    pub(crate) proxies: crate::limiter::Proxies,
    /// `Strict-Transport-Security: max-age=…` on every response, when set.
    pub(crate) hsts_max_age: Option<u64>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(backend: Arc<dyn Backend>) -> AppState {
        AppState {
            backend,
            metrics: Arc::new(Metrics::default()),
            ledger: None,
            access: None,
            policies: Arc::default(),
            inquiry_limiter: Arc::default(),
            portal_limiter: Arc::default(),
            log_key: None,
            proxies: crate::limiter::Proxies::default(),
            hsts_max_age: None,
        }
    }

    /// Take the client address from `X-Forwarded-For` when the connection comes from one of
    /// `proxies` (a load balancer or TLS terminator in front of tokutei).
    pub fn with_trusted_proxies(mut self, proxies: Vec<std::net::IpAddr>) -> AppState {
        self.proxies = crate::limiter::Proxies(proxies);
        self
    }

    /// Send `Strict-Transport-Security: max-age=<max_age>` on every response (serve over
    /// HTTPS, directly or behind a TLS terminator, before enabling it).
    pub fn with_hsts(mut self, max_age: u64) -> AppState {
        self.hsts_max_age = Some(max_age);
        self
    }

    /// Serve checkpoints and ledger figures from `ledger`.
    pub fn with_ledger(mut self, ledger: Arc<dyn LedgerStore>) -> AppState {
        self.ledger = Some(ledger);
        self
    }

    /// Publish `key` as the ledger's checkpoint key (the subscriber's page checks signatures
    /// with it, the transparency page shows it).
    pub fn with_log_key(mut self, key: String) -> AppState {
        self.log_key = Some(key);
        self
    }

    /// Serve the gateway and staff API from `access`.
    pub fn with_access(mut self, access: Arc<tokutei_app::App>) -> AppState {
        self.access = Some(access);
        self
    }

    /// The access service; 404 when the server has none.
    pub(crate) fn access_service(&self) -> Result<Arc<tokutei_app::App>, AppError> {
        self.access.clone().ok_or(AppError::NotFound)
    }

    /// The inquiry service: the store, the ledger and the access service's keys; 404 when the
    /// server has no ledger or no access service.
    pub(crate) fn inquiry_service(&self) -> Result<Arc<tokutei_app::inquiry::InquiryService>, AppError> {
        let ledger = self.ledger.clone().ok_or(AppError::NotFound)?;
        let keys = self.access_service()?.keys().clone();
        let stores: Arc<dyn InquiryStores> = self.backend.clone();
        Ok(Arc::new(tokutei_app::inquiry::InquiryService::new(stores, ledger, keys)))
    }

    /// The sign-in service: the access service (staff registry, keys, ledger) and the
    /// backend's sign-in state; 404 when the server has no access service, so the console
    /// never works unaudited.
    pub(crate) fn auth_service(&self) -> Result<Auth, AppError> {
        let stores: Arc<dyn AuthStores> = self.backend.clone();
        Ok(Auth::new(self.access_service()?, stores))
    }

    /// Run `work` with the sign-in service off the async threads.
    pub(crate) async fn auth<T, F>(&self, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Auth) -> tokutei_app::ActionResult<T> + Send + 'static,
    {
        let auth = self.auth_service()?;
        tokio::task::spawn_blocking(move || work(&auth))
            .await
            .map_err(|e| AppError::internal(format!("sign-in task failed: {e}")))?
            .map_err(AppError::from)
    }

    /// The privacy office's settings in force.
    pub(crate) async fn settings(&self) -> Result<tokutei_app::settings::Settings, AppError> {
        self.blocking(tokutei_app::settings::Settings::load).await
    }

    /// Run blocking ledger work off the async threads; 404 when the server has no ledger.
    pub(crate) async fn ledger<T, F>(&self, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn LedgerStore) -> Result<T, tokutei_store::StoreError> + Send + 'static,
    {
        let ledger = self.ledger.clone().ok_or(AppError::NotFound)?;
        tokio::task::spawn_blocking(move || work(ledger.as_ref()))
            .await
            .map_err(|e| AppError::internal(format!("ledger task failed: {e}")))?
            .map_err(AppError::from)
    }

    /// Run blocking store work off the async threads.
    pub(crate) async fn blocking<T, F>(&self, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Backend) -> Result<T, tokutei_store::StoreError> + Send + 'static,
    {
        let backend = self.backend.clone();
        tokio::task::spawn_blocking(move || work(backend.as_ref()))
            .await
            .map_err(|e| AppError::internal(format!("store task failed: {e}")))?
            .map_err(AppError::from)
    }

    /// The version in force today (Asia/Tokyo), parsed.
    pub(crate) async fn active_policy(&self) -> Result<Option<(PolicyVersion, Arc<Policy>)>, AppError> {
        let today = tokutei_policy::tokyo::today();
        let Some(version) = self.blocking(move |b| b.active_policy(today)).await? else {
            return Ok(None);
        };
        let policy = self.parsed(&version)?;
        Ok(Some((version, policy)))
    }

    /// The parsed policy of a stored version (cached).
    pub(crate) fn parsed(&self, version: &PolicyVersion) -> Result<Arc<Policy>, AppError> {
        if let Some(p) = self.policies.read().unwrap_or_else(|e| e.into_inner()).get(&version.number) {
            return Ok(p.clone());
        }
        let policy = tokutei_policy::parse(&version.source)
            .map(Arc::new)
            .map_err(|e| AppError::internal(format!("stored policy version {} does not parse: {e}", version.number)))?;
        self.policies.write().unwrap_or_else(|e| e.into_inner()).insert(version.number, policy.clone());
        Ok(policy)
    }
}
