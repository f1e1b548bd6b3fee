//! A real deployment for the access service's tests: the demo policy published in a SQLite
//! store, a real ledger, real keys, subscribers with sealed values — and recorders around the
//! ledger and the keys that log, in one sequence, every durable append and every key unwrap,
//! so tests can check that the audit came first.

#![allow(dead_code, reason = "each test file uses a different part of the harness")]

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use tokutei_app::{App, KeyAccess};
use tokutei_crypto::{BlindIndexKey, DataKey, Kek, ValueAad, WrappedKey};
use tokutei_gateway::Deployment;
use tokutei_policy::{AcquisitionMethod, Date, Role};
use tokutei_store::ledger::{Appended, LedgerQuery, LedgerStore, StoredCheckpoint, StoredEntry, Visit};
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, RangeGrant, StaffStore, Training};
use tokutei_store::vault::{
    Contract, ContractState, ImportBatch, NewSubscriber, NewValue, Provenance, Sealed, Source, WrappedDataKey,
};
use tokutei_store::{NewPolicyVersion, PolicyStore, StoreResult};
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};

pub const POLICY: &str = include_str!("../../../tokutei-policy/policies/hoshizora-tsushin.toml");

/// What happened, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A durable append of these ledger indexes.
    Appended(Vec<u64>),
    /// A subscriber's data key was unwrapped (values are about to be decrypted or sealed).
    Unwrapped(String),
}

pub type Log = Arc<Mutex<Vec<Event>>>;

/// What a test looks at as an entry is appended (the store, before the change it audits).
pub type BeforeAppend = Box<dyn Fn(&[tokutei_ledger::Entry]) + Send + Sync>;

pub struct RecordingLedger {
    inner: SqliteLedger,
    log: Log,
    /// While set, every append fails (the ledger is down): nothing may change then.
    pub fail: std::sync::atomic::AtomicBool,
    before: Mutex<Option<BeforeAppend>>,
}

impl RecordingLedger {
    /// Run `look` on every append from now on, before the entries are written: what the store
    /// holds then is what it held before the audited change.
    pub fn before_append(&self, look: impl Fn(&[tokutei_ledger::Entry]) + Send + Sync + 'static) {
        *self.before.lock().unwrap() = Some(Box::new(look));
    }
}

impl LedgerStore for RecordingLedger {
    fn append_batch(&self, entries: &[tokutei_ledger::Entry]) -> StoreResult<Vec<Appended>> {
        if let Some(look) = self.before.lock().unwrap().as_ref() {
            look(entries);
        }
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(tokutei_store::StoreError::backend(std::io::Error::other("the ledger is down")));
        }
        let out = self.inner.append_batch(entries)?;
        self.log.lock().unwrap().push(Event::Appended(out.iter().map(|a| a.index).collect()));
        Ok(out)
    }
    fn tree_size(&self) -> StoreResult<u64> {
        self.inner.tree_size()
    }
    fn ledger_nodes(&self, ids: &[tokutei_ledger::NodeId]) -> StoreResult<Vec<tokutei_ledger::Hash>> {
        self.inner.ledger_nodes(ids)
    }
    fn ledger_entry(&self, index: u64) -> StoreResult<Option<StoredEntry>> {
        self.inner.ledger_entry(index)
    }
    fn scan_entries(&self, from: u64, visit: Visit<'_>) -> StoreResult<()> {
        self.inner.scan_entries(from, visit)
    }
    fn scan_indexed(&self, from: u64, visit: tokutei_store::ledger::VisitIndexed<'_>) -> StoreResult<()> {
        self.inner.scan_indexed(from, visit)
    }
    fn subject_rows(&self) -> StoreResult<u64> {
        self.inner.subject_rows()
    }
    fn query_entries(&self, query: &LedgerQuery, visit: Visit<'_>) -> StoreResult<()> {
        self.inner.query_entries(query, visit)
    }
    fn add_checkpoint(&self, size: u64, note: &str, created_at: Timestamp) -> StoreResult<StoredCheckpoint> {
        self.inner.add_checkpoint(size, note, created_at)
    }
    fn checkpoints(&self) -> StoreResult<Vec<StoredCheckpoint>> {
        self.inner.checkpoints()
    }
    fn latest_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>> {
        self.inner.latest_checkpoint()
    }

    fn recent_checkpoints(&self, limit: usize) -> StoreResult<Vec<StoredCheckpoint>> {
        self.inner.recent_checkpoints(limit)
    }
}

pub struct TestKeys {
    kek: Kek,
    blind: BlindIndexKey,
    log: Log,
}

impl KeyAccess for TestKeys {
    fn unwrap_key(&self, subscriber: &str, wrapped: &WrappedDataKey) -> Result<DataKey, String> {
        self.log.lock().unwrap().push(Event::Unwrapped(subscriber.to_string()));
        let w = WrappedKey { kek_id: wrapped.kek_id.clone(), bytes: wrapped.bytes.clone() };
        self.kek.unwrap(subscriber, &w).map_err(|e| e.to_string())
    }
    fn blind_token(&self, category: &str, value: &str) -> Option<[u8; 32]> {
        self.blind.token(category, value).map(|t| t.0)
    }
    fn new_data_key(&self, owner: &str) -> Result<(DataKey, WrappedDataKey), String> {
        let key = DataKey::generate().map_err(|e| e.to_string())?;
        let w = self.kek.wrap(owner, &key).map_err(|e| e.to_string())?;
        Ok((key, WrappedDataKey { kek_id: w.kek_id, bytes: w.bytes }))
    }
}

pub struct Deployed {
    pub _dir: tempfile::TempDir,
    pub store: Arc<SqliteStore>,
    pub ledger: Arc<RecordingLedger>,
    pub service: App,
    pub log: Log,
    pub policy: tokutei_policy::Policy,
}

pub fn at(second: i64) -> Timestamp {
    // 2026-06-01T00:00:00Z + second
    Timestamp::from_second(1_780_272_000 + second).unwrap()
}

pub fn date(y: i16, m: i8, d: i8) -> Date {
    Date::new(y, m, d).unwrap()
}

/// The plaintext stored for a subscriber's category (recognisable in returned values).
pub fn plaintext(subscriber: &str, category: &str) -> String {
    format!("value-{subscriber}-{category}-0123456789")
}

/// Subscribers: `S-active` (fiber, active), `S-terminated` (fiber, terminated 2026-05-01),
/// `S-suspended` (mobile, suspended), each with a value in every category its service has.
pub const SUBSCRIBERS: [&str; 3] = ["S-active", "S-terminated", "S-suspended"];

/// The category of `S-active` received from another party rather than from the subscriber.
pub const INDIRECT_CATEGORY: &str = "billing.usage";

pub fn deploy() -> Deployed {
    deploy_with(false)
}

/// As [`deploy`], with people allowed to handle information only from inside a zone.
pub fn deploy_zoned() -> Deployed {
    deploy_with(true)
}

fn deploy_with(zones_required: bool) -> Deployed {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap());
    let policy = tokutei_policy::parse(POLICY).unwrap();
    store
        .publish_policy(NewPolicyVersion {
            digest: tokutei_policy::PolicyDigest::of(&policy),
            source: POLICY.to_string(),
            effective: date(2025, 7, 1),
            published_by: "test".into(),
            published_at: at(0),
        })
        .unwrap();
    let log: Log = Arc::default();
    let kek = Kek::generate("kek-test").unwrap();
    let keys = TestKeys {
        kek: Kek::from_bytes("kek-test", kek.secret_bytes()).unwrap(),
        blind: BlindIndexKey::generate().unwrap(),
        log: log.clone(),
    };

    let mut subscribers = Vec::new();
    let mut values = Vec::new();
    for (id, service, state) in [
        ("S-active", "fiber", ContractState::Active),
        ("S-terminated", "fiber", ContractState::Terminated),
        ("S-suspended", "mobile", ContractState::Suspended),
    ] {
        let key = DataKey::generate().unwrap();
        let wrapped = kek.wrap(id, &key).unwrap();
        subscribers.push(NewSubscriber {
            id: id.into(),
            service: service.into(),
            contract: Contract {
                state,
                started_on: date(2020, 1, 1),
                suspended_on: (state == ContractState::Suspended).then(|| date(2026, 5, 1)),
                terminated_on: (state == ContractState::Terminated).then(|| date(2026, 5, 1)),
            },
            key: WrappedDataKey { kek_id: wrapped.kek_id, bytes: wrapped.bytes },
        });
        for category in policy.categories.iter().filter(|c| c.services.iter().any(|s| s == service)) {
            let aad = ValueAad { subscriber: id, category: &category.id, version: 1 };
            let ciphertext = key.seal(&aad, plaintext(id, &category.id).as_bytes()).unwrap();
            let sealed = if category.binary {
                Sealed::Blob { content_hash: tokutei_crypto::content_hash(&ciphertext), ciphertext }
            } else {
                Sealed::Inline(ciphertext)
            };
            values.push(NewValue {
                subscriber: id.into(),
                category: category.id.clone(),
                version: 1,
                sealed,
                provenance: Provenance {
                    method: AcquisitionMethod::Written,
                    // One value received from another party (APPI 30条), the rest from the subscriber.
                    source: if id == "S-active" && category.id == INDIRECT_CATEGORY {
                        Source::Indirect(tokutei_store::vault::IndirectSource {
                            provider_name: "星空決済代行株式会社".into(),
                            provider_address: "東京都千代田区星空町2-2".into(),
                            provider_representative: "代表取締役 決済 太郎".into(),
                            provider_obtained_by: "利用者本人からの申込み".into(),
                        })
                    } else {
                        Source::Direct
                    },
                    collected_at: at(0),
                    collected_by: "shop-1".into(),
                    notice_version: 1,
                },
                valid_from: at(0),
                supersedes: false,
                blind_index: None,
            });
        }
    }
    use tokutei_store::vault::VaultStore;
    store
        .import_batch(&ImportBatch {
            source_key: "test".into(),
            subscribers,
            values,
            rows: 3,
            imported_at: at(0),
            audit_index: None,
        })
        .unwrap();

    let all_categories: Vec<String> = policy.categories.iter().map(|c| c.id.clone()).collect();
    let every_purpose: Vec<String> = policy.purposes.list.iter().map(|p| p.id.clone()).collect();
    let principal = |id: &str, role: Option<Role>, purposes: Vec<String>, categories: Vec<String>| NewPrincipal {
        id: id.into(),
        display_name: id.into(),
        kind: match role {
            Some(role) => PrincipalKind::Person { role },
            None => PrincipalKind::System { name: id.into() },
        },
        grants: Grants {
            data_range: ["fiber", "mobile", "global_vpn"]
                .iter()
                .map(|s| RangeGrant { service: (*s).into(), categories: categories.clone() })
                .collect(),
            purposes,
            zones: vec!["hq".into()],
            // `all` may also erase; everyone else has the default (every use, no erasure).
            actions: if id == "all" { tokutei_ledger::Action::ALL.to_vec() } else { Grants::default().actions },
        },
        created_at: at(0),
    };
    // `all`: every purpose and category; `support`: support and billing over contract data;
    // `ads`: an ad platform system; `untrained`: a person whose training expired.
    store
        .create_principal(&principal(
            "all",
            Some(Role::ResponsiblePerson),
            every_purpose.clone(),
            all_categories.clone(),
        ))
        .unwrap();
    store
        .create_principal(&principal(
            "support",
            Some(Role::Handler),
            vec!["support".into(), "billing".into()],
            all_categories
                .iter()
                .filter(|c| c.starts_with("contract.") || c.starts_with("billing."))
                .cloned()
                .collect(),
        ))
        .unwrap();
    store.create_principal(&principal("ads", None, every_purpose.clone(), all_categories.clone())).unwrap();
    store.create_principal(&principal("untrained", Some(Role::Handler), every_purpose, all_categories)).unwrap();
    // Systems that feed the administrative actions: the member site (choices it received)
    // and the CRM (contract changes). They use no subscriber information themselves.
    for id in ["member-site", "crm"] {
        store.create_principal(&principal(id, None, Vec::new(), Vec::new())).unwrap();
    }
    for id in ["all", "support"] {
        store
            .add_training(
                id,
                &Training {
                    course: "privacy-basics".into(),
                    completed: date(2026, 4, 1),
                    valid_until: date(2027, 3, 31),
                },
            )
            .unwrap();
    }
    store
        .add_training(
            "untrained",
            &Training { course: "privacy-basics".into(), completed: date(2025, 4, 1), valid_until: date(2026, 3, 31) },
        )
        .unwrap();

    let ledger = Arc::new(RecordingLedger {
        inner: SqliteLedger::open(Arc::clone(&store)).unwrap(),
        log: log.clone(),
        fail: std::sync::atomic::AtomicBool::new(false),
        before: Mutex::new(None),
    });
    let deployment =
        Deployment { zones_required, required_training: vec!["privacy-basics".into()], ..Default::default() };
    let service = App::new(store.clone(), ledger.clone(), Arc::new(keys), deployment, Vec::new());
    Deployed { _dir: dir, store, ledger, service, log, policy }
}

/// The first channel the demo policy lists for `purpose` (a purpose that lists channels is
/// used only through one of them), `None` for a purpose without channels or not in the policy.
pub fn first_channel(purpose: &str) -> Option<tokutei_policy::Channel> {
    let policy = tokutei_policy::parse(POLICY).unwrap();
    policy.purpose(purpose).and_then(|p| p.channels.first().copied())
}

/// A read by `principal` for `purpose`, through the purpose's first channel. The ids are
/// parsed as a front end parses them (a test of a malformed id parses it itself).
pub fn call(principal: &str, purpose: &str, subscribers: &[&str], categories: &[&str]) -> tokutei_app::AccessCall {
    tokutei_app::AccessCall {
        principal: tokutei_app::PrincipalId::parse(principal).unwrap(),
        action: tokutei_ledger::Action::Read,
        purpose: tokutei_app::PurposeId::parse(purpose).unwrap(),
        subscribers: subscribers.iter().map(|s| tokutei_app::SubscriberId::parse(*s).unwrap()).collect(),
        categories: categories.iter().map(|c| tokutei_app::CategoryId::parse(*c).unwrap()).collect(),
        channel: first_channel(purpose),
        zone: None,
        terminal: None,
        export_approval: None,
        recipient: None,
        client: "test".into(),
        now: at(3600),
    }
}
