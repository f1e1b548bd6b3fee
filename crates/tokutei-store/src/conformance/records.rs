//! Conformance for the guards on records (issue 13): consent records, value versions (with
//! their receipt provenance), import records, data keys, subscribers, purge and provision
//! records cannot be changed or deleted around the store — with the database's own tools, as
//! an operator or an intruder with database access would — while the store's own paths still
//! work: a correction closes the version before it, a recorded purge deletes a version, an
//! erasure destroys a data key, a provision record past its retention may go.
//!
//! The edits are named here in the domain's words; each backend's tests carry them out in
//! their own SQL ([`Tamper`]), so this crate stays free of SQL. A whole-table edit is
//! PostgreSQL's `TRUNCATE`, and SQLite's `DELETE` without a `WHERE` (which runs the row
//! triggers).

use jiff::Timestamp;
use tokutei_policy::{AcquisitionMethod, Date};

use crate::consent::{Choice, ConsentStore, NewConsent};
use crate::provision::{LegalBasis, NewProvision, ProvisionStore, RecordType};
use crate::vault::{
    Contract, ContractState, ImportBatch, NewSubscriber, NewValue, Provenance, Sealed, Source, ValueRef, VaultStore,
    WrappedDataKey,
};

/// An edit made around the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Delete one consent record.
    DeleteConsent(u64),
    /// Flip the choice of a consent record.
    ChangeConsent(u64),
    /// Empty the consent table.
    DeleteAllConsents,
    /// Delete one value version.
    DeleteValue(ValueRef),
    /// Empty the value table.
    DeleteAllValues,
    /// Clear `valid_until` of a closed version (a rollback serves it again).
    ReopenValue(ValueRef),
    /// Set `valid_until` of the current version (no newer version closes it).
    CloseValue(ValueRef),
    /// Replace a version's ciphertext.
    ChangeCiphertext(ValueRef),
    /// Rewrite a version's provenance (who collected it; the APPI 30条 receipt record).
    ChangeProvenance(ValueRef),
    /// Delete an import record by its source key (so the batch would import again).
    DeleteImportRecord(String),
    /// Empty the import records.
    DeleteAllImportRecords,
    /// Delete a subscriber's data key without erasing the subscriber.
    DeleteDataKey(String),
    /// Delete a subscriber row.
    DeleteSubscriber(String),
    /// Clear a subscriber's `erased_at`.
    UneraseSubscriber(String),
    /// Delete every purge record.
    DeleteAllPurges,
    /// Change a provision record's recipient.
    ChangeProvision(u64),
    /// Delete one provision record.
    DeleteProvision(u64),
    /// Empty the provision records.
    DeleteAllProvisions,
}

/// Carries out an [`Edit`] directly in the backend's database. `Err` holds the database's
/// message when it refuses.
pub trait Tamper {
    fn tamper(&self, edit: &Edit) -> Result<(), String>;
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + second).unwrap()
}

fn date(y: i16, m: i8, d: i8) -> Date {
    Date::new(y, m, d).unwrap()
}

fn vref(subscriber: &str, category: &str, version: u32) -> ValueRef {
    ValueRef { subscriber: subscriber.into(), category: category.into(), version }
}

fn subscriber(id: &str) -> NewSubscriber {
    NewSubscriber {
        id: id.into(),
        service: "fiber".into(),
        contract: Contract {
            state: ContractState::Active,
            started_on: date(2024, 4, 1),
            suspended_on: None,
            terminated_on: None,
        },
        key: WrappedDataKey { kek_id: "kek-1".into(), bytes: vec![1] },
    }
}

fn value(subscriber: &str, category: &str, version: u32, bytes: &[u8]) -> NewValue {
    NewValue {
        subscriber: subscriber.into(),
        category: category.into(),
        version,
        sealed: Sealed::Inline(bytes.to_vec()),
        provenance: Provenance {
            method: AcquisitionMethod::Written,
            source: Source::Direct,
            collected_at: at(0),
            collected_by: "shop-1".into(),
            notice_version: 1,
        },
        valid_from: at(i64::from(version)),
        supersedes: version > 1,
        blind_index: None,
    }
}

fn opt_out(subscriber: &str) -> NewConsent {
    NewConsent {
        subscriber: subscriber.into(),
        purpose: "marketing".into(),
        choice: Choice::OptedOut,
        channel: "web".into(),
        notice_version: 1,
        recorded_at: at(10),
        recorded_by: "member-site".into(),
        evidence: Some("form-1".into()),
    }
}

fn provision(subscriber: &str, keep_until: Date) -> NewProvision {
    NewProvision {
        provided_at: at(20),
        recipient: "ad-distributor".into(),
        subscriber: subscriber.into(),
        categories: vec!["contract.name".into()],
        purpose: "third_party_ads".into(),
        basis: LegalBasis::Consent,
        consent_proof: None,
        record_type: RecordType::Each,
        audit_index: Some(3),
        keep_until,
    }
}

#[track_caller]
fn refused(tamper: &impl Tamper, edit: Edit, message: &str) {
    match tamper.tamper(&edit) {
        Ok(()) => panic!("{edit:?} was not refused"),
        Err(got) => assert!(got.contains(message), "{edit:?}: expected `{message}`, got `{got}`"),
    }
}

/// Runs the checks against `store` (empty), with `tamper` editing the same database.
pub fn run<S: VaultStore + ConsentStore + ProvisionStore>(store: &S, tamper: &impl Tamper) {
    store
        .import_batch(&ImportBatch {
            source_key: "records:1".into(),
            subscribers: vec![subscriber("R1"), subscriber("R2")],
            values: vec![value("R1", "contract.name", 1, b"n1"), value("R2", "contract.name", 1, b"m1")],
            rows: 2,
            imported_at: at(0),
            audit_index: Some(1),
        })
        .unwrap();
    // A correction closes version 1: the store's own update of `valid_until` passes.
    store.add_values(&[value("R1", "contract.name", 2, b"n2")], Some(2)).unwrap();
    let consent = store.record_consent(&opt_out("R1"), Some(4)).unwrap();
    let kept = store.add_provisions(&[provision("R1", date(9999, 12, 31))]).unwrap()[0];
    let expired = store.add_provisions(&[provision("R1", date(2000, 1, 1))]).unwrap()[0];

    // A deleted or edited opt-out would let the marketing read through.
    refused(tamper, Edit::DeleteConsent(consent.id), "consent records are append-only");
    refused(tamper, Edit::ChangeConsent(consent.id), "consent records are append-only");
    refused(tamper, Edit::DeleteAllConsents, "consent records are append-only");
    assert_eq!(store.current_consent("R1", "marketing").unwrap(), Some(consent.clone()));

    // The rollback of a correction: delete the newest version, reopen the old one.
    let (old, new) = (vref("R1", "contract.name", 1), vref("R1", "contract.name", 2));
    refused(tamper, Edit::DeleteValue(new.clone()), "a value version is deleted only by a recorded purge");
    refused(tamper, Edit::DeleteAllValues, "a value version is deleted only by a recorded purge");
    refused(tamper, Edit::ReopenValue(old.clone()), "a value version is closed once, by a newer version");
    refused(tamper, Edit::CloseValue(new.clone()), "a value version is closed once, by a newer version");
    refused(tamper, Edit::CloseValue(vref("R2", "contract.name", 1)), "a value version is closed once");
    refused(tamper, Edit::ChangeCiphertext(new.clone()), "value versions are append-only");
    refused(tamper, Edit::ChangeProvenance(old.clone()), "value versions are append-only");
    let current = store.values("R1", Some("contract.name"), false).unwrap();
    assert_eq!(current.iter().map(|v| v.version).collect::<Vec<_>>(), [2]);
    assert_eq!(current[0].sealed, Sealed::Inline(b"n2".to_vec()));
    assert_eq!(store.values("R1", None, true).unwrap().len(), 2);

    refused(tamper, Edit::DeleteImportRecord("records:1".into()), "import records are append-only");
    refused(tamper, Edit::DeleteAllImportRecords, "import records are append-only");
    assert!(store.batch_imported("records:1").unwrap());

    refused(tamper, Edit::DeleteDataKey("R2".into()), "a data key is destroyed only by erasing its subscriber");
    refused(tamper, Edit::DeleteSubscriber("R2".into()), "subscribers are never deleted");
    assert!(store.data_key("R2").unwrap().is_some());

    refused(tamper, Edit::ChangeProvision(kept), "provision records cannot be changed");
    refused(tamper, Edit::DeleteProvision(kept), "a provision record cannot be deleted before its retention ends");
    refused(tamper, Edit::DeleteAllProvisions, "a provision record cannot be deleted before its retention ends");
    assert_eq!(store.provisions_of("R1").unwrap().len(), 2);

    // The store's own destructive paths still work: a recorded purge, an erasure, and a
    // provision record whose retention has passed.
    assert_eq!(store.purge_values(std::slice::from_ref(&old), "kept 0 months", 1, at(30), Some(5)).unwrap(), 1);
    assert_eq!(store.values("R1", None, true).unwrap().len(), 1);
    refused(tamper, Edit::DeleteAllPurges, "purge records are append-only");
    store.erase_subscriber("R2", at(40)).unwrap();
    assert!(store.data_key("R2").unwrap().is_none());
    refused(tamper, Edit::UneraseSubscriber("R2".into()), "an erasure is final");
    assert_eq!(store.subscriber("R2").unwrap().unwrap().erased_at, Some(at(40)));
    tamper.tamper(&Edit::DeleteProvision(expired)).unwrap();
    assert_eq!(store.provisions_of("R1").unwrap().len(), 1);
}
