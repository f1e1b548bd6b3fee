//! The vault's integrity, checked: every stored value (every version) is decrypted through the
//! [`crate::codec`] with its subscriber's data key ([`crate::KeyAccess`]) and must
//! authenticate, and the vault, the import, consent and purge records are checked against the
//! ledger entries that wrote them ([`ledger_check`]), so a row deleted or edited around
//! tokutei is reported with its subscriber, record and ledger index. It only reads; no value
//! leaves it (the report holds ids, counts and reasons).
//!
//! `tokutei subscribers verify` presents the [`VaultReport`].

use jiff::Timestamp;
use serde::Serialize;

use crate::App;
use crate::codec::{self, ValueSlot};
use crate::error::{ActionError, ActionResult};
use crate::ids::SubscriberId;

mod ledger_check;

pub use ledger_check::{Coverage, Failure};

/// Subscribers read per page.
const PAGE: usize = 1000;

/// What the verification found.
#[derive(Debug, Clone, Serialize)]
pub struct VaultReport {
    /// Subscribers checked.
    pub subscribers: u64,
    /// Value versions that decrypt and authenticate.
    pub readable: u64,
    /// Erased subscribers (their values are unrecoverable by design).
    pub erased_subscribers: u64,
    pub erased_values: u64,
    /// What the check against the ledger covered.
    pub ledger: Coverage,
    /// Everything that does not authenticate or does not match the ledger.
    pub failures: Vec<Failure>,
}

impl VaultReport {
    /// Nothing failed.
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// A subscriber's values, opened only to be counted.
#[derive(Debug, Default)]
struct Opened {
    readable: u64,
    unreadable: Vec<(String, u32, String)>,
    /// The subscriber was erased: its values exist only as ciphertext nobody can open.
    erased: bool,
}

impl App {
    /// Check the vault (or one subscriber's part of it, `only`) as described in the module
    /// documentation; `now` picks the policy in force (whether a category is a log).
    pub fn verify_vault(&self, only: Option<&SubscriberId>, now: Timestamp) -> ActionResult<VaultReport> {
        let stores = self.stores().as_ref();
        let only = only.map(SubscriberId::as_str);
        let policy = self.policy_in_force(now).ok().map(|(_, p)| p);
        let mut against = ledger_check::LedgerCheck::new(stores, self.ledger().as_ref(), policy.as_ref(), only)?;
        let mut report = VaultReport {
            subscribers: 0,
            readable: 0,
            erased_subscribers: 0,
            erased_values: 0,
            ledger: Coverage::default(),
            failures: Vec::new(),
        };
        let mut check = |id: &str, report: &mut VaultReport| -> ActionResult<()> {
            report.subscribers += 1;
            against.check_subscriber(id)?;
            let opened = match self.open_values(id)? {
                Ok(o) => o,
                Err(reason) => {
                    report.failures.push(Failure {
                        id: format!("{id}/*"),
                        subscriber: id.to_string(),
                        category: "*".into(),
                        version: 0,
                        audit_index: None,
                        reason,
                    });
                    return Ok(());
                }
            };
            report.readable += opened.readable;
            if opened.erased {
                report.erased_subscribers += 1;
                report.erased_values += opened.unreadable.len() as u64;
                return Ok(());
            }
            for (category, version, reason) in opened.unreadable {
                report.failures.push(Failure {
                    id: format!("{id}/{category}/{version}"),
                    subscriber: id.to_string(),
                    category,
                    version,
                    audit_index: None,
                    reason,
                });
            }
            Ok(())
        };
        match only {
            Some(id) => {
                if stores.subscriber(id)?.is_none() {
                    return Err(ActionError::NotFound(format!("subscriber `{id}`")));
                }
                check(id, &mut report)?;
            }
            None => {
                let mut after: Option<String> = None;
                loop {
                    let page = stores.subscribers(after.as_deref(), PAGE)?;
                    let Some(last) = page.last() else { break };
                    after = Some(last.id.clone());
                    for s in &page {
                        check(&s.id, &mut report)?;
                    }
                }
            }
        }
        let (ledger_failures, coverage) = against.finish()?;
        report.failures.extend(ledger_failures);
        report.ledger = coverage;
        Ok(report)
    }

    /// Decrypt every version of a subscriber's values; every value that does not
    /// authenticate (altered, moved between rows, blob hash mismatch) is reported, never
    /// skipped. `Err` when the data key itself does not unwrap.
    fn open_values(&self, subscriber: &str) -> ActionResult<Result<Opened, String>> {
        let stores = self.stores();
        let stored = stores.values(subscriber, None, true)?;
        let Some(wrapped) = stores.data_key(subscriber)? else {
            return Ok(Ok(Opened {
                erased: true,
                unreadable: stored.into_iter().map(|v| (v.category, v.version, "erased".into())).collect(),
                readable: 0,
            }));
        };
        let key = match self.keys().unwrap_key(subscriber, &wrapped) {
            Ok(key) => key,
            Err(reason) => return Ok(Err(reason)),
        };
        let mut out = Opened::default();
        for v in stored {
            let slot = ValueSlot { subscriber, category: &v.category, version: v.version };
            match codec::open(&key, slot, &v.sealed) {
                Ok(_plaintext) => out.readable += 1,
                Err(e) => out.unreadable.push((v.category.clone(), v.version, e.to_string())),
            }
        }
        Ok(Ok(out))
    }
}
