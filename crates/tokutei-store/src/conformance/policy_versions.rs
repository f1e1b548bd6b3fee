//! Conformance for [`PolicyStore`]: numbering, immutability, the active version.

use jiff::Timestamp;
use tokutei_policy::{Date, PolicyDigest};

use crate::{NewPolicyVersion, PolicyStore, StoreError};

fn version(digest: &str, effective: Date) -> NewPolicyVersion {
    NewPolicyVersion {
        digest: PolicyDigest(format!("sha256:{digest}")),
        source: format!("# policy {digest}\n"),
        effective,
        published_by: "staff-1".to_string(),
        published_at: Timestamp::from_second(1_700_000_000).unwrap(),
    }
}

fn date(y: i16, m: i8, d: i8) -> Date {
    Date::new(y, m, d).unwrap()
}

/// Runs every policy-version check against `store`, which must be empty.
pub fn run(store: &impl PolicyStore) {
    assert!(store.policy_versions().unwrap().is_empty());
    assert_eq!(store.active_policy(date(2024, 1, 1)).unwrap(), None);

    let v1 = store.publish_policy(version("aa", date(2024, 4, 12))).unwrap();
    assert_eq!(v1.number, 1);
    assert_eq!(v1.source, "# policy aa\n");

    // Same digest again is a conflict, not a new version.
    assert!(matches!(store.publish_policy(version("aa", date(2024, 4, 12))), Err(StoreError::Conflict(_))));

    let v2 = store.publish_policy(version("bb", date(2025, 1, 1))).unwrap();
    assert_eq!(v2.number, 2);

    // The active version depends on the effective date.
    assert_eq!(store.active_policy(date(2024, 3, 1)).unwrap(), None);
    assert_eq!(store.active_policy(date(2024, 6, 1)).unwrap().unwrap().number, 1);
    assert_eq!(store.active_policy(date(2025, 1, 1)).unwrap().unwrap().number, 2);
    assert_eq!(store.active_policy_number(date(2025, 1, 1)).unwrap(), Some(2));
    assert_eq!(store.active_policy_number(date(2024, 6, 1)).unwrap(), Some(1));
    assert_eq!(store.active_policy_number(date(2024, 3, 1)).unwrap(), None);

    // Old versions stay viewable, unchanged.
    assert_eq!(store.policy_version(1).unwrap(), Some(v1.clone()));
    assert_eq!(store.policy_version(3).unwrap(), None);
    let all = store.policy_versions().unwrap();
    assert_eq!(all.iter().map(|v| v.number).collect::<Vec<_>>(), vec![1, 2]);

    // Republishing an older digest makes a new version.
    let v3 = store.publish_policy(version("aa", date(2025, 2, 1))).unwrap();
    assert_eq!(v3.number, 3);
    assert_eq!(store.active_policy(date(2025, 3, 1)).unwrap().unwrap().digest, v1.digest);
}
