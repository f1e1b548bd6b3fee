//! The data set every row shares: the demo policy published in a fresh SQLite store,
//! synthetic subscribers (fiber contracts) with sealed values in three categories, a call
//! centre system principal, and the access service over them with a real ledger and keys.

use std::sync::Arc;

use jiff::Timestamp;
use tokutei_app::{App, KeyAccess};
use tokutei_crypto::{BlindIndexKey, DataKey, Kek, WrappedKey};
use tokutei_gateway::Deployment;
use tokutei_policy::{AcquisitionMethod, Date};
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, RangeGrant, StaffStore};
use tokutei_store::vault::{
    Contract, ContractState, ImportBatch, NewSubscriber, NewValue, Provenance, Source, VaultStore, WrappedDataKey,
};
use tokutei_store::{NewPolicyVersion, PolicyStore};
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};

pub const POLICY: &str = include_str!("../../tokutei-policy/policies/hoshizora-tsushin.toml");

/// The categories an audited read asks for.
pub const CATEGORIES: [&str; 3] = ["contract.name", "contract.phone", "billing.payment"];

pub struct Keys {
    kek: Kek,
    blind: BlindIndexKey,
}

impl Keys {
    /// A fresh key-encryption key and blind-index key.
    pub fn generate() -> anyhow::Result<Keys> {
        Ok(Keys { kek: Kek::generate("bench-kek")?, blind: BlindIndexKey::generate()? })
    }
}

impl KeyAccess for Keys {
    fn new_data_key(&self, owner: &str) -> Result<(DataKey, WrappedDataKey), String> {
        let key = DataKey::generate().map_err(|e| e.to_string())?;
        let w = self.kek.wrap(owner, &key).map_err(|e| e.to_string())?;
        Ok((key, WrappedDataKey { kek_id: w.kek_id, bytes: w.bytes }))
    }
    fn unwrap_key(&self, subscriber: &str, wrapped: &WrappedDataKey) -> Result<DataKey, String> {
        let w = WrappedKey { kek_id: wrapped.kek_id.clone(), bytes: wrapped.bytes.clone() };
        self.kek.unwrap(subscriber, &w).map_err(|e| e.to_string())
    }
    fn blind_token(&self, category: &str, value: &str) -> Option<[u8; 32]> {
        self.blind.token(category, value).map(|t| t.0)
    }
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub service: App,
    pub subscribers: Vec<String>,
}

pub fn subscriber_id(n: usize) -> String {
    format!("B{n:08}")
}

pub fn build(subscribers: usize) -> anyhow::Result<Fixture> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&dir.path().join("bench.sqlite3"))?);
    let (keys, ids) = populate(&*store, subscribers)?;
    let ledger = Arc::new(SqliteLedger::open(Arc::clone(&store))?);
    let service = App::new(store, ledger, Arc::new(keys), deployment(), Vec::new());
    Ok(Fixture { dir, service, subscribers: ids })
}

/// The deployment settings of the audited-read rows.
pub fn deployment() -> Deployment {
    Deployment { zones_required: false, required_training: vec!["privacy-basics".into()], ..Default::default() }
}

/// Publish the demo policy, import `subscribers` sealed subscribers (ids [`subscriber_id`])
/// and register the call-centre system principal in `store`; returns the keys and the ids.
pub fn populate<S: VaultStore + StaffStore + PolicyStore>(
    store: &S,
    subscribers: usize,
) -> anyhow::Result<(Keys, Vec<String>)> {
    publish(store)?;
    let keys = Keys::generate()?;
    let kek = &keys.kek;
    let now = Timestamp::now();
    let provenance = Provenance {
        method: AcquisitionMethod::Written,
        source: Source::Direct,
        collected_at: now,
        collected_by: "shop".into(),
        notice_version: 1,
    };
    let ids: Vec<String> = (0..subscribers).map(subscriber_id).collect();
    for (b, chunk) in ids.chunks(2000).enumerate() {
        let mut batch = ImportBatch {
            source_key: format!("bench-{b}"),
            subscribers: Vec::new(),
            values: Vec::new(),
            rows: chunk.len() as u64,
            imported_at: now,
            audit_index: None,
        };
        for id in chunk {
            let key = DataKey::generate()?;
            let wrapped = kek.wrap(id, &key)?;
            batch.subscribers.push(NewSubscriber {
                id: id.clone(),
                service: "fiber".into(),
                contract: Contract {
                    state: ContractState::Active,
                    started_on: Date::new(2020, 1, 1).expect("a date"),
                    suspended_on: None,
                    terminated_on: None,
                },
                key: WrappedDataKey { kek_id: wrapped.kek_id, bytes: wrapped.bytes },
            });
            for category in CATEGORIES {
                let value = plaintext(id, category);
                let slot = tokutei_app::codec::ValueSlot { subscriber: id, category, version: 1 };
                batch.values.push(NewValue {
                    subscriber: id.clone(),
                    category: category.into(),
                    version: 1,
                    sealed: tokutei_app::codec::seal(&key, slot, false, value.as_bytes())?,
                    provenance: provenance.clone(),
                    valid_from: now,
                    supersedes: false,
                    blind_index: None,
                });
            }
        }
        store.import_batch(&batch)?;
    }
    store.create_principal(&NewPrincipal {
        id: "call-centre".into(),
        display_name: "call centre".into(),
        kind: PrincipalKind::System { name: "call_centre".into() },
        grants: Grants {
            data_range: vec![RangeGrant { service: "fiber".into(), categories: CATEGORIES.map(String::from).to_vec() }],
            purposes: vec!["support".into(), "billing".into()],
            zones: vec![],
            ..Grants::default()
        },
        created_at: now,
    })?;
    Ok((keys, ids))
}

/// Publish the demo policy (in force since 2025-07-01) as version 1; returns it.
pub fn publish(store: &dyn PolicyStore) -> anyhow::Result<tokutei_policy::Policy> {
    let policy = tokutei_policy::parse(POLICY)?;
    store.publish_policy(NewPolicyVersion {
        digest: tokutei_policy::PolicyDigest::of(&policy),
        source: POLICY.to_string(),
        effective: Date::new(2025, 7, 1).expect("a date"),
        published_by: "bench".into(),
        published_at: Timestamp::now(),
    })?;
    Ok(policy)
}

/// The (synthetic) plaintext of one value: what the vault seals and the baselines store as is.
pub fn plaintext(id: &str, category: &str) -> String {
    format!("{category} of {id}: 4111-1111-1111-1111")
}
