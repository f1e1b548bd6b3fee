//! Conformance for [`VaultStore`]: batch import (all-or-nothing, idempotent by source key),
//! versioned values with provenance, blobs, blind-index lookup, key re-wrapping, erasure,
//! retention purges and their records, and the audit entry every version and purge names.
//!
//! The store only handles opaque bytes, so the "ciphertexts" here are arbitrary bytes.

use jiff::Timestamp;
use tokutei_policy::{AcquisitionMethod, Date};

use crate::StoreError;
use crate::vault::{
    BatchOutcome, Contract, ContractState, ImportBatch, IndirectSource, NewSubscriber, NewValue, Provenance, PurgeRule,
    Sealed, Source, ValueRef, VaultStore, WrappedDataKey, value_leaf,
};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + second).unwrap()
}

fn date(y: i16, m: i8, d: i8) -> Date {
    Date::new(y, m, d).unwrap()
}

fn subscriber(id: &str) -> NewSubscriber {
    NewSubscriber {
        id: id.to_string(),
        service: "fiber".to_string(),
        contract: Contract {
            state: ContractState::Active,
            started_on: date(2024, 4, 1),
            suspended_on: None,
            terminated_on: None,
        },
        key: WrappedDataKey { kek_id: "kek-1".to_string(), bytes: format!("wrapped-{id}").into_bytes() },
    }
}

fn provenance(collected: i64) -> Provenance {
    Provenance {
        method: AcquisitionMethod::Written,
        source: Source::Direct,
        collected_at: at(collected),
        collected_by: "staff-7".to_string(),
        notice_version: 1,
    }
}

fn value(subscriber: &str, category: &str, version: u32, bytes: &[u8]) -> NewValue {
    NewValue {
        subscriber: subscriber.to_string(),
        category: category.to_string(),
        version,
        sealed: Sealed::Inline(bytes.to_vec()),
        provenance: provenance(0),
        valid_from: at(i64::from(version)),
        supersedes: version > 1,
        blind_index: None,
    }
}

fn batch(key: &str, subscribers: Vec<NewSubscriber>, values: Vec<NewValue>) -> ImportBatch {
    ImportBatch {
        source_key: key.to_string(),
        rows: subscribers.len() as u64,
        subscribers,
        values,
        imported_at: at(100),
        audit_index: Some(100),
    }
}

fn vref(subscriber: &str, category: &str, version: u32) -> ValueRef {
    ValueRef { subscriber: subscriber.to_string(), category: category.to_string(), version }
}

/// Runs every vault check against `store`, which must be empty.
pub fn run(store: &impl VaultStore) {
    import_is_all_or_nothing_and_idempotent(store);
    values_are_versioned_with_provenance(store);
    blind_index_finds_current_values_only(store);
    keys_rewrap_and_erasure_destroys_them(store);
    retention_purges_and_records(store);
    versions_and_purges_name_their_audit_entries(store);
}

fn import_is_all_or_nothing_and_idempotent(store: &impl VaultStore) {
    assert_eq!(store.subscriber_count().unwrap(), 0);
    let first = batch(
        "file-a:1",
        vec![subscriber("A1"), subscriber("A2")],
        vec![value("A1", "contract.name", 1, b"c-a1-name"), value("A2", "contract.name", 1, b"c-a2-name")],
    );
    assert_eq!(store.import_batch(&first).unwrap(), BatchOutcome::Applied);
    assert!(store.batch_imported("file-a:1").unwrap());
    assert!(!store.batch_imported("file-a:2").unwrap());
    // The same batch again writes nothing.
    assert_eq!(store.import_batch(&first).unwrap(), BatchOutcome::AlreadyImported);
    assert_eq!(store.subscriber_count().unwrap(), 2);

    // A batch with one conflicting subscriber leaves no trace of its other rows.
    let clash =
        batch("file-b:1", vec![subscriber("A3"), subscriber("A1")], vec![value("A3", "contract.name", 1, b"x")]);
    assert!(matches!(store.import_batch(&clash), Err(StoreError::Conflict(_))));
    assert_eq!(store.subscriber("A3").unwrap(), None);
    assert!(!store.batch_imported("file-b:1").unwrap());
    // A value for a subscriber that does not exist fails the batch too.
    let orphan = batch("file-c:1", vec![subscriber("A4")], vec![value("ZZ", "contract.name", 1, b"x")]);
    assert!(store.import_batch(&orphan).is_err());
    assert_eq!(store.subscriber("A4").unwrap(), None);

    let a1 = store.subscriber("A1").unwrap().unwrap();
    assert_eq!(a1.service, "fiber");
    assert_eq!(a1.contract.state, ContractState::Active);
    assert_eq!(a1.contract.started_on, date(2024, 4, 1));
    assert_eq!(a1.erased_at, None);
    let ids: Vec<String> = store.subscribers(None, 10).unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["A1", "A2"]);
    let ids: Vec<String> = store.subscribers(Some("A1"), 10).unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["A2"]);
}

fn values_are_versioned_with_provenance(store: &impl VaultStore) {
    let indirect = Provenance {
        method: AcquisitionMethod::Electronic,
        source: Source::Indirect(IndirectSource {
            provider_name: "代理店株式会社".to_string(),
            provider_address: "東京都千代田区1-1".to_string(),
            provider_representative: "代表取締役 代理 太郎".to_string(),
            provider_obtained_by: "店頭での申込書".to_string(),
        }),
        collected_at: at(5),
        collected_by: "agency-import".to_string(),
        notice_version: 2,
    };
    let blob = Sealed::Blob { content_hash: [7; 32], ciphertext: vec![1, 2, 3, 4] };
    let b = batch(
        "file-v:1",
        vec![subscriber("B1")],
        vec![
            NewValue { provenance: indirect.clone(), ..value("B1", "contract.address", 1, b"addr-v1") },
            NewValue { sealed: blob.clone(), ..value("B1", "support.call_recording", 1, b"") },
        ],
    );
    store.import_batch(&b).unwrap();

    // A correction adds version 2 and closes version 1 at its valid_from.
    store.add_values(&[value("B1", "contract.address", 2, b"addr-v2")], Some(101)).unwrap();
    // A version that exists is a conflict, and the transaction writes nothing.
    let dup = [value("B1", "contract.name", 1, b"n"), value("B1", "contract.address", 2, b"again")];
    assert!(matches!(store.add_values(&dup, Some(102)), Err(StoreError::Conflict(_))));
    assert!(store.values("B1", Some("contract.name"), true).unwrap().is_empty());

    let current = store.values("B1", Some("contract.address"), false).unwrap();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].version, 2);
    assert_eq!(current[0].sealed, Sealed::Inline(b"addr-v2".to_vec()));
    assert_eq!(current[0].valid_until, None);
    let history = store.values("B1", Some("contract.address"), true).unwrap();
    assert_eq!(history.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(history[0].valid_until, Some(at(2)));
    assert_eq!(history[0].provenance, indirect, "provenance comes back whole");
    assert_eq!(history[0].valid_from, at(1));

    let all = store.values("B1", None, false).unwrap();
    let recording = all.iter().find(|v| v.category == "support.call_recording").unwrap();
    assert_eq!(recording.sealed, blob);
    assert_eq!(
        store.latest_versions("B1").unwrap(),
        [("contract.address".to_string(), 2), ("support.call_recording".to_string(), 1)]
    );
}

fn blind_index_finds_current_values_only(store: &impl VaultStore) {
    let token = [0xAA; 32];
    let b = batch(
        "file-i:1",
        vec![subscriber("C1"), subscriber("C2")],
        vec![
            NewValue { blind_index: Some(token), ..value("C1", "contract.phone", 1, b"p1") },
            NewValue { blind_index: Some([0xBB; 32]), ..value("C2", "contract.phone", 1, b"p2") },
        ],
    );
    store.import_batch(&b).unwrap();
    assert_eq!(store.find_by_blind_index("contract.phone", &token).unwrap(), ["C1"]);
    assert!(store.find_by_blind_index("contract.email", &token).unwrap().is_empty(), "scoped by category");
    // After a correction the old token no longer finds the subscriber; the new one does.
    store
        .add_values(
            &[NewValue { blind_index: Some([0xCC; 32]), ..value("C1", "contract.phone", 2, b"p1-new") }],
            Some(103),
        )
        .unwrap();
    assert!(store.find_by_blind_index("contract.phone", &token).unwrap().is_empty());
    assert_eq!(store.find_by_blind_index("contract.phone", &[0xCC; 32]).unwrap(), ["C1"]);
}

fn keys_rewrap_and_erasure_destroys_them(store: &impl VaultStore) {
    let before = store.kek_usage().unwrap();
    let total: u64 = before.iter().map(|(_, n)| n).sum();
    assert_eq!(before, [("kek-1".to_string(), total)]);

    let mut after = None;
    let mut rewrapped = 0;
    loop {
        let page = store.wrapped_keys(after.as_deref(), 2).unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|(s, _)| s.clone());
        let new: Vec<_> = page
            .into_iter()
            .map(|(s, k)| {
                assert_eq!(k.bytes, format!("wrapped-{s}").into_bytes());
                (
                    s.clone(),
                    WrappedDataKey { kek_id: "kek-2".to_string(), bytes: format!("rewrapped-{s}").into_bytes() },
                )
            })
            .collect();
        rewrapped += new.len() as u64;
        store.rewrap_keys(&new).unwrap();
    }
    assert_eq!(rewrapped, total);
    assert_eq!(store.kek_usage().unwrap(), [("kek-2".to_string(), total)]);
    assert_eq!(store.data_key("C2").unwrap().unwrap().bytes, b"rewrapped-C2");
    let missing = [("nobody".to_string(), WrappedDataKey { kek_id: "kek-2".into(), bytes: vec![1] })];
    assert!(matches!(store.rewrap_keys(&missing), Err(StoreError::NotFound(_))));

    store.erase_subscriber("C2", at(50)).unwrap();
    assert_eq!(store.data_key("C2").unwrap(), None);
    assert_eq!(store.subscriber("C2").unwrap().unwrap().erased_at, Some(at(50)));
    assert!(store.find_by_blind_index("contract.phone", &[0xBB; 32]).unwrap().is_empty());
    assert_eq!(store.kek_usage().unwrap(), [("kek-2".to_string(), total - 1)]);
    assert!(matches!(store.erase_subscriber("nobody", at(50)), Err(StoreError::NotFound(_))));
}

fn retention_purges_and_records(store: &impl VaultStore) {
    let mut old = value("D1", "comm.auth_log", 1, b"log-old");
    old.provenance.collected_at = at(-1000);
    old.supersedes = false;
    let mut recent = value("D1", "comm.auth_log", 2, b"log-new");
    recent.provenance.collected_at = at(1000);
    recent.supersedes = false;
    let mut gone = subscriber("D2");
    gone.contract = Contract {
        state: ContractState::Terminated,
        started_on: date(2020, 1, 1),
        suspended_on: None,
        terminated_on: Some(date(2024, 3, 31)),
    };
    let b = batch(
        "file-r:1",
        vec![subscriber("D1"), gone],
        vec![
            old,
            recent,
            value("D2", "billing.usage", 1, b"usage"),
            NewValue {
                sealed: Sealed::Blob { content_hash: [9; 32], ciphertext: vec![9] },
                ..value("D2", "support.call_recording", 1, b"")
            },
            value("D1", "billing.usage", 1, b"usage"),
        ],
    );
    store.import_batch(&b).unwrap();

    let by_collection = PurgeRule::CollectedBefore { category: "comm.auth_log".to_string(), cutoff: at(0) };
    assert_eq!(store.expired_values(&by_collection, None, 10).unwrap(), [vref("D1", "comm.auth_log", 1)]);

    let by_end = PurgeRule::ContractEndedBy { category: "billing.usage".to_string(), cutoff: date(2024, 3, 31) };
    assert_eq!(store.expired_values(&by_end, None, 10).unwrap(), [vref("D2", "billing.usage", 1)]);
    let too_early = PurgeRule::ContractEndedBy { category: "billing.usage".to_string(), cutoff: date(2024, 3, 30) };
    assert!(store.expired_values(&too_early, None, 10).unwrap().is_empty());

    // Paging by key.
    let everything = PurgeRule::CollectedBefore { category: "billing.usage".to_string(), cutoff: at(10_000) };
    let first = store.expired_values(&everything, None, 1).unwrap();
    assert_eq!(first, [vref("D1", "billing.usage", 1)]);
    assert_eq!(store.expired_values(&everything, first.last(), 10).unwrap(), [vref("D2", "billing.usage", 1)]);

    let n = store
        .purge_values(
            &[vref("D1", "comm.auth_log", 1), vref("D2", "support.call_recording", 1), vref("D9", "x", 1)],
            "collected before cutoff",
            3,
            at(200),
            Some(104),
        )
        .unwrap();
    assert_eq!(n, 2, "values already gone are skipped");
    assert!(store.expired_values(&by_collection, None, 10).unwrap().is_empty());
    let left: Vec<u32> = store.values("D1", Some("comm.auth_log"), true).unwrap().iter().map(|v| v.version).collect();
    assert_eq!(left, [2]);
    assert!(store.values("D2", Some("support.call_recording"), true).unwrap().is_empty());

    let records = store.purges(10).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].value, vref("D2", "support.call_recording", 1), "newest first");
    assert_eq!(records[1].value, vref("D1", "comm.auth_log", 1));
    assert_eq!(records[1].policy_version, 3);
    assert_eq!(records[1].reason, "collected before cutoff");
    assert_eq!(records[1].purged_at, at(200));
    assert!(records[0].id > records[1].id);

    // Contract changes move a subscriber into (or out of) contract-end rules.
    let ended = Contract {
        state: ContractState::Terminated,
        started_on: date(2024, 4, 1),
        suspended_on: None,
        terminated_on: Some(date(2024, 1, 1)),
    };
    store.set_contract("D1", &ended).unwrap();
    assert_eq!(
        store.expired_values(&by_end, None, 10).unwrap(),
        [vref("D1", "billing.usage", 1), vref("D2", "billing.usage", 1)]
    );
    assert!(matches!(store.set_contract("nobody", &ended), Err(StoreError::NotFound(_))));
}

fn versions_and_purges_name_their_audit_entries(store: &impl VaultStore) {
    let recording = Sealed::Blob { content_hash: [3; 32], ciphertext: vec![3, 3] };
    let b = ImportBatch {
        audit_index: Some(500),
        ..batch(
            "file-e:1",
            vec![subscriber("E1")],
            vec![
                value("E1", "contract.name", 1, b"n1"),
                NewValue { sealed: recording.clone(), ..value("E1", "support.call_recording", 1, b"") },
            ],
        )
    };
    store.import_batch(&b).unwrap();
    let record = store.import_record("file-e:1").unwrap().unwrap();
    assert_eq!(record.source_key, "file-e:1");
    assert_eq!((record.rows, record.subscribers, record.values), (1, 1, 2));
    assert_eq!((record.imported_at, record.audit_index), (at(100), Some(500)));
    assert!(store.import_record("file-e:2").unwrap().is_none());
    store.add_values(&[value("E1", "contract.name", 2, b"n2")], Some(501)).unwrap();

    let leaf = |v: &ValueRef, sealed: &Sealed| value_leaf(v, &sealed.sealed_hash());
    let name1 = vref("E1", "contract.name", 1);
    let name2 = vref("E1", "contract.name", 2);
    let rec1 = vref("E1", "support.call_recording", 1);
    let versions = store.value_versions("E1").unwrap();
    let seen: Vec<_> = versions.iter().map(|v| (v.value.clone(), v.valid_until, v.audit_index, v.leaf)).collect();
    assert_eq!(
        seen,
        [
            (name1.clone(), Some(at(2)), Some(500), leaf(&name1, &Sealed::Inline(b"n1".to_vec()))),
            (name2.clone(), None, Some(501), leaf(&name2, &Sealed::Inline(b"n2".to_vec()))),
            (rec1.clone(), None, Some(500), value_leaf(&rec1, &[3; 32])),
        ]
    );
    let written: Vec<ValueRef> = store.values_written_by(500).unwrap().into_iter().map(|v| v.value).collect();
    assert_eq!(written, [name1.clone(), rec1.clone()]);
    assert_eq!(store.values_written_by(501).unwrap().len(), 1);
    assert!(store.values_written_by(999).unwrap().is_empty());
    let stored = store.values("E1", None, true).unwrap();
    assert_eq!(stored.iter().map(|v| v.audit_index).collect::<Vec<_>>(), [Some(500), Some(501), Some(500)]);

    assert_eq!(store.purge_values(std::slice::from_ref(&name1), "kept 0 months", 4, at(300), Some(502)).unwrap(), 1);
    let all = store.purge_records(None, 100).unwrap();
    let last = all.last().unwrap();
    assert_eq!(last.value, name1);
    assert_eq!((last.audit_index, last.written_by), (Some(502), Some(500)));
    assert_eq!(last.leaf, Some(leaf(&name1, &Sealed::Inline(b"n1".to_vec()))), "the leaf outlives the value");
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
    let after_first = store.purge_records(Some(all[0].id), 1).unwrap();
    assert_eq!(after_first.len(), 1);
    assert_eq!(after_first[0].id, all[1].id);
    assert_eq!(store.purges(1).unwrap()[0].id, last.id);
}
