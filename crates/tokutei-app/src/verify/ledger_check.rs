//! The second half of the vault's verification: the vault and the consent records checked
//! against the audit entries that wrote them, so an edit made around tokutei (triggers
//! dropped, rows deleted or changed) is reported even though every remaining value still
//! decrypts.
//!
//! What the ledger holds for this (ids and hashes only): each write's `values_written` entry
//! names the versions it added with their leaf hashes; each `import_batch` entry carries the
//! digest and count of the versions its batch wrote; each `consent_recorded` entry the digest
//! of its record; each `retention_purge` entry its category and count. Every stored version,
//! import, consent and purge record names its entry (`audit_index`). The checks:
//!
//! - every version a write entry names is in the vault with that leaf, or was purged by an
//!   audited purge (a deleted newest version — a rollback — is reported);
//! - every version names an entry that wrote it with that leaf (a replaced version is);
//! - of a category that is corrected (not a log), only the newest version is current (a
//!   reopened old version is);
//! - each import batch's versions (stored, or purged with their leaf kept) hash to its entry's
//!   digest;
//! - each consent entry has its record, unchanged, and each record has its entry; the current
//!   choice per purpose is the ledger's latest (a deleted opt-out is reported with what it
//!   would let through);
//! - each purge record names a retention purge of its category, and no purge more records
//!   than it purged (a forged purge that let a version be deleted is reported).
//!
//! Rows written before tokutei recorded these links (`audit_index` empty) are counted, not
//! failed.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use tokutei_ledger::{AdminAction, Event};
use tokutei_policy::Policy;
use tokutei_store::consent::{ConsentRecord, consent_digest};
use tokutei_store::ledger::LedgerStore;
use tokutei_store::vault::{PurgeRecord, ValueRef, values_digest};

use crate::access::Stores;
use crate::error::ActionResult;

/// Rows per page when reading records for the check.
const PAGE: usize = 1000;

/// One thing that does not match the ledger.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// `subscriber/category/version`, `consent/ID`, `import/INDEX`, `purge/ID` or `ledger/INDEX`.
    pub id: String,
    pub subscriber: String,
    /// The category (for a value) or the purpose (for a consent record); `*` when none.
    pub category: String,
    pub version: u32,
    /// The audit entry concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_index: Option<u64>,
    pub reason: String,
}

/// What the check covered.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Coverage {
    pub import_batches: u64,
    pub written_versions: u64,
    pub consent_records: u64,
    pub purge_records: u64,
    /// Versions and records from before tokutei recorded their audit entry.
    pub unlinked: u64,
}

struct Written {
    index: u64,
    value: ValueRef,
    leaf: [u8; 32],
}

struct ImportEntry {
    index: u64,
    source_key: String,
    digest: Option<[u8; 32]>,
    values: u64,
    lines: String,
}

struct ConsentEntry {
    index: u64,
    subscriber: String,
    purpose: String,
    choice: String,
    digest: Option<[u8; 32]>,
    /// Entries written before audit-first consent named the record they followed.
    record: Option<u64>,
    channel: String,
    notice_version: String,
    time: jiff::Timestamp,
}

struct PurgeEntry {
    category: String,
    values: u64,
}

/// The ledger's side, read in one scan, and the vault's side checked subscriber by subscriber.
pub(crate) struct LedgerCheck<'a> {
    store: &'a dyn Stores,
    only: Option<&'a str>,
    /// Whether a category is a log (every version current) or corrected (only the newest).
    log: HashMap<String, bool>,
    writes: HashMap<String, Vec<Written>>,
    write_entries: HashSet<u64>,
    imports: Vec<ImportEntry>,
    import_index: HashMap<u64, usize>,
    /// Import attempts whose follow-up entry says nothing was written.
    attempts_closed: HashSet<u64>,
    consents: Vec<ConsentEntry>,
    purge_entries: HashMap<u64, PurgeEntry>,
    /// Purged versions whose purge is audited: key → (writing entry, leaf).
    purged: HashMap<ValueRef, (Option<u64>, Option<[u8; 32]>)>,
    failures: Vec<Failure>,
    coverage: Coverage,
}

fn hash32(bytes: &str) -> Option<[u8; 32]> {
    hex::decode(bytes).ok()?.try_into().ok()
}

/// The subscriber an entry's subject names: `subscriber/<id>` or the bare id.
fn subscriber_of(subject: &str) -> &str {
    subject.strip_prefix("subscriber/").unwrap_or(subject)
}

fn detail<'d>(details: &'d [(String, String)], key: &str) -> Option<&'d str> {
    details.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

impl<'a> LedgerCheck<'a> {
    /// Read the ledger and the purge records (of `only` when given).
    pub(crate) fn new(
        store: &'a dyn Stores,
        ledger: &dyn LedgerStore,
        policy: Option<&Policy>,
        only: Option<&'a str>,
    ) -> ActionResult<LedgerCheck<'a>> {
        let mut check = LedgerCheck {
            store,
            only,
            log: policy.map(|p| p.categories.iter().map(|c| (c.id.clone(), c.log)).collect()).unwrap_or_default(),
            writes: HashMap::new(),
            write_entries: HashSet::new(),
            imports: Vec::new(),
            import_index: HashMap::new(),
            attempts_closed: HashSet::new(),
            consents: Vec::new(),
            purge_entries: HashMap::new(),
            purged: HashMap::new(),
            failures: Vec::new(),
            coverage: Coverage::default(),
        };
        let wanted = |subscriber: &str| only.is_none_or(|o| o == subscriber);
        ledger.scan_entries(0, &mut |stored| {
            // `audit verify` reports undecodable entries; here they name nothing.
            let Ok(entry) = stored.decode() else { return Ok(true) };
            let Event::Admin(admin) = entry.event else { return Ok(true) };
            let index = stored.index;
            match admin.action {
                AdminAction::ValuesWritten => {
                    let Some(subscriber) = admin.subject.strip_prefix("subscriber/") else { return Ok(true) };
                    if !wanted(subscriber) {
                        return Ok(true);
                    }
                    check.write_entries.insert(index);
                    for (_, text) in admin.details.iter().filter(|(k, _)| k == "value") {
                        let mut parts = text.rsplitn(3, '/');
                        let (Some(leaf), Some(version), Some(category)) = (parts.next(), parts.next(), parts.next())
                        else {
                            continue;
                        };
                        let (Some(leaf), Ok(version)) = (hash32(leaf), version.parse()) else { continue };
                        let value =
                            ValueRef { subscriber: subscriber.to_string(), category: category.to_string(), version };
                        check.writes.entry(subscriber.to_string()).or_default().push(Written { index, value, leaf });
                    }
                }
                AdminAction::ImportBatch => {
                    let Some(source_key) = admin.subject.strip_prefix("import/") else { return Ok(true) };
                    if let Some(attempt) = detail(&admin.details, "attempt").and_then(|a| a.parse().ok()) {
                        check.attempts_closed.insert(attempt);
                    } else {
                        check.import_index.insert(index, check.imports.len());
                        check.imports.push(ImportEntry {
                            index,
                            source_key: source_key.to_string(),
                            digest: admin.digest,
                            values: detail(&admin.details, "values").and_then(|v| v.parse().ok()).unwrap_or(0),
                            lines: detail(&admin.details, "lines").unwrap_or("?").to_string(),
                        });
                    }
                }
                // Consent entries name the subscriber by its bare id, or as `subscriber/<id>`
                // like the other entries about a subscriber: both are read.
                AdminAction::ConsentRecorded if wanted(subscriber_of(&admin.subject)) => {
                    let get = |k: &str| detail(&admin.details, k).unwrap_or_default().to_string();
                    check.consents.push(ConsentEntry {
                        index,
                        subscriber: subscriber_of(&admin.subject).to_string(),
                        purpose: get("purpose"),
                        choice: get("choice"),
                        digest: admin.digest,
                        record: detail(&admin.details, "record").and_then(|r| r.parse().ok()),
                        channel: get("channel"),
                        notice_version: get("notice_version"),
                        time: entry.time,
                    });
                }
                AdminAction::RetentionPurge => {
                    if let (Some(category), Some(values)) = (
                        detail(&admin.details, "category"),
                        detail(&admin.details, "values").and_then(|v| v.parse().ok()),
                    ) {
                        check.purge_entries.insert(index, PurgeEntry { category: category.to_string(), values });
                    }
                }
                _ => {}
            }
            Ok(true)
        })?;
        check.check_purges()?;
        Ok(check)
    }

    fn fail(&mut self, id: String, subscriber: &str, category: &str, version: u32, index: Option<u64>, reason: String) {
        self.failures.push(Failure {
            id,
            subscriber: subscriber.to_string(),
            category: category.to_string(),
            version,
            audit_index: index,
            reason,
        });
    }

    /// Each purge record must name a retention purge of its category, and no purge may have
    /// more records than it destroyed; the purges that pass are the ones that explain a
    /// missing version.
    fn check_purges(&mut self) -> ActionResult<()> {
        let mut per_entry: BTreeMap<u64, Vec<PurgeRecord>> = BTreeMap::new();
        let mut after = None;
        loop {
            let page = self.store.purge_records(after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for record in page {
                if self.only.is_some_and(|o| o != record.value.subscriber) {
                    continue;
                }
                self.coverage.purge_records += 1;
                match record.audit_index {
                    Some(index) => per_entry.entry(index).or_default().push(record),
                    // From before purges named their entry: it explains only a version no
                    // audited entry wrote.
                    None => {
                        self.coverage.unlinked += 1;
                        if record.written_by.is_none() {
                            self.purged.insert(record.value.clone(), (None, record.leaf));
                        }
                    }
                }
            }
        }
        for (index, records) in per_entry {
            let entry = self.purge_entries.get(&index).map(|e| (e.category.clone(), e.values));
            let over = entry.as_ref().is_some_and(|(_, n)| records.len() as u64 > *n && self.only.is_none());
            for r in records {
                let v = &r.value;
                let problem = match &entry {
                    None => Some(format!("names ledger entry {index}, which is no retention purge (a forged purge?)")),
                    Some((category, _)) if *category != v.category => {
                        Some(format!("names ledger entry {index}, a purge of `{category}`, not of `{}`", v.category))
                    }
                    Some((_, n)) if over => {
                        Some(format!("is one of more purge records than ledger entry {index} purged ({n})"))
                    }
                    Some(_) => None,
                };
                match problem {
                    Some(reason) => self.fail(
                        format!("purge/{}", r.id),
                        &v.subscriber,
                        &v.category,
                        v.version,
                        Some(index),
                        format!("the purge record of version {} of `{}` {reason}", v.version, v.category),
                    ),
                    None => {
                        self.purged.insert(v.clone(), (r.written_by, r.leaf));
                    }
                }
            }
        }
        Ok(())
    }

    /// Check one subscriber's value versions against the write entries naming them.
    pub(crate) fn check_subscriber(&mut self, subscriber: &str) -> ActionResult<()> {
        let versions = self.store.value_versions(subscriber)?;
        let written = self.writes.remove(subscriber).unwrap_or_default();
        let by_key: HashMap<&ValueRef, &Written> = written.iter().map(|w| (&w.value, w)).collect();
        let mut failures = Vec::new();
        let id = |v: &ValueRef| format!("{}/{}/{}", v.subscriber, v.category, v.version);
        for v in &versions {
            let key = &v.value;
            match v.audit_index {
                None => self.coverage.unlinked += 1,
                Some(index) if self.write_entries.contains(&index) => match by_key.get(key) {
                    Some(w) if w.index == index && w.leaf == v.leaf => {}
                    Some(w) if w.index == index => failures.push((key, Some(index), format!(
                        "version {} of `{}` differs from what ledger entry {index} wrote (its sealed bytes were replaced)",
                        key.version, key.category
                    ))),
                    _ => failures.push((key, Some(index), format!(
                        "version {} of `{}` names ledger entry {index}, which did not write it",
                        key.version, key.category
                    ))),
                },
                // Import batches are checked as a whole (their digest).
                Some(index) if self.import_index.contains_key(&index) => {}
                Some(index) => failures.push((key, Some(index), format!(
                    "version {} of `{}` names ledger entry {index}, which wrote no values",
                    key.version, key.category
                ))),
            }
        }
        let stored: HashSet<&ValueRef> = versions.iter().map(|v| &v.value).collect();
        for w in &written {
            self.coverage.written_versions += 1;
            if stored.contains(&w.value) {
                if let Some(v) = versions.iter().find(|v| v.value == w.value)
                    && v.audit_index != Some(w.index)
                {
                    failures.push((
                        &w.value,
                        Some(w.index),
                        format!(
                            "version {} of `{}` was written by ledger entry {}, but the vault names another",
                            w.value.version, w.value.category, w.index
                        ),
                    ));
                }
                continue;
            }
            if self.purged.get(&w.value).is_none_or(|(by, _)| *by != Some(w.index)) {
                failures.push((&w.value, Some(w.index), format!(
                    "ledger entry {} wrote version {} of `{}`; the vault does not hold it (deleted or rolled back) and no audited purge destroyed it",
                    w.index, w.value.version, w.value.category
                )));
            }
        }
        // Of a corrected category only the newest version is current.
        let mut by_category: BTreeMap<&str, Vec<&tokutei_store::vault::ValueVersion>> = BTreeMap::new();
        for v in &versions {
            by_category.entry(&v.value.category).or_default().push(v);
        }
        for (category, list) in by_category {
            if self.log.get(category).is_none_or(|log| *log) {
                continue;
            }
            let Some(newest) = list.iter().map(|v| v.value.version).max() else { continue };
            for v in list {
                let key = &v.value;
                if key.version == newest && v.valid_until.is_some() {
                    failures.push((
                        key,
                        v.audit_index,
                        format!("the newest version {newest} of `{category}` is closed, so no version is current"),
                    ));
                } else if key.version != newest && v.valid_until.is_none() {
                    failures.push((key, v.audit_index, format!(
                        "version {} of `{category}` is current although version {newest} replaces it (a closed version was reopened)",
                        key.version
                    )));
                }
            }
        }
        let failures: Vec<(String, String, u32, Option<u64>, String)> =
            failures.into_iter().map(|(k, i, r)| (id(k), k.category.clone(), k.version, i, r)).collect();
        for (fid, category, version, index, reason) in failures {
            self.fail(fid, subscriber, &category, version, index, reason);
        }
        Ok(())
    }

    /// The checks that are not per subscriber: write entries of subscribers the vault does not
    /// hold, import batches, consent records.
    pub(crate) fn finish(mut self) -> ActionResult<(Vec<Failure>, Coverage)> {
        let mut leftover: Vec<(String, Vec<Written>)> = self.writes.drain().collect();
        leftover.sort_by(|a, b| a.0.cmp(&b.0));
        for (subscriber, written) in leftover {
            for w in written {
                self.fail(
                    format!("ledger/{}", w.index),
                    &subscriber,
                    &w.value.category,
                    w.value.version,
                    Some(w.index),
                    format!(
                        "ledger entry {} wrote values of subscriber `{subscriber}`, who is not in the vault",
                        w.index
                    ),
                );
            }
        }
        if self.only.is_none() {
            self.check_imports()?;
        }
        self.check_consents()?;
        Ok((self.failures, self.coverage))
    }

    fn check_imports(&mut self) -> ActionResult<()> {
        let imports = std::mem::take(&mut self.imports);
        for entry in &imports {
            if self.attempts_closed.contains(&entry.index) {
                continue;
            }
            self.coverage.import_batches += 1;
            let record = self.store.import_record(&entry.source_key)?;
            let fail = |check: &mut Self, reason: String| {
                check.fail(format!("import/{}", entry.index), "*", "*", 0, Some(entry.index), reason);
            };
            let at = format!("import batch of ledger entry {} (lines {})", entry.index, entry.lines);
            let Some(record) = record else {
                fail(
                    self,
                    format!(
                        "{at}: the vault has no record of it (deleted, or the import stopped after its audit entry: run it again)"
                    ),
                );
                continue;
            };
            if record.audit_index != Some(entry.index) {
                // An earlier attempt of the same rows, interrupted after its entry and before its
                // commit (a kill, a crash), that a later run of the same rows applied under its
                // own entry: the record names that later import entry of the same batch, and no
                // value names this attempt. (Each attempt seals afresh, so the digests differ.)
                let superseded = record
                    .audit_index
                    .filter(|later| *later > entry.index)
                    .and_then(|i| self_import(&imports, &self.import_index, i))
                    .is_some_and(|later| later.source_key == entry.source_key)
                    && self.store.values_written_by(entry.index)?.is_empty();
                if !superseded {
                    fail(self, format!("{at}: the vault's import record names another audit entry"));
                }
                continue;
            }
            let stored = self.store.values_written_by(entry.index)?;
            let mut leaves: Vec<(ValueRef, [u8; 32])> = stored.into_iter().map(|v| (v.value, v.leaf)).collect();
            for (value, (by, leaf)) in &self.purged {
                if let (Some(by), Some(leaf)) = (by, leaf)
                    && *by == entry.index
                {
                    leaves.push((value.clone(), *leaf));
                }
            }
            let digest = values_digest(leaves.iter().map(|(v, l)| (v, l)));
            if leaves.len() as u64 != entry.values {
                fail(
                    self,
                    format!(
                        "{at}: the vault holds {} of its {} value versions (deleted around tokutei?)",
                        leaves.len(),
                        entry.values
                    ),
                );
            } else if entry.digest != Some(digest) {
                fail(self, format!("{at}: its value versions differ from what the ledger recorded"));
            }
        }
        self.imports = imports;
        Ok(())
    }

    fn check_consents(&mut self) -> ActionResult<()> {
        let mut records: Vec<ConsentRecord> = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.consent_records(after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            records.extend(page.into_iter().filter(|r| self.only.is_none_or(|o| o == r.record.subscriber)));
        }
        self.coverage.consent_records += records.len() as u64;
        let by_audit: HashMap<u64, usize> =
            records.iter().enumerate().filter_map(|(i, r)| r.audit_index.map(|a| (a, i))).collect();
        let by_id: HashMap<u64, usize> = records.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        let mut matched = vec![false; records.len()];
        let consents = std::mem::take(&mut self.consents);
        // The ledger's latest choice per (subscriber, purpose).
        let mut latest: BTreeMap<(String, String), &ConsentEntry> = BTreeMap::new();
        for e in &consents {
            latest.insert((e.subscriber.clone(), e.purpose.clone()), e);
            let found = by_audit.get(&e.index).or_else(|| e.record.and_then(|id| by_id.get(&id))).copied();
            let Some(i) = found else {
                self.fail(
                    format!("ledger/{}", e.index),
                    &e.subscriber,
                    &e.purpose,
                    0,
                    Some(e.index),
                    format!(
                        "ledger entry {} recorded `{}` for `{}`; the consent table does not hold that record (deleted)",
                        e.index, e.choice, e.purpose
                    ),
                );
                continue;
            };
            matched[i] = true;
            let r = &records[i];
            let same = match e.digest {
                Some(d) => consent_digest(&r.record) == d,
                None => {
                    r.record.subscriber == e.subscriber
                        && r.record.purpose == e.purpose
                        && r.record.choice.id() == e.choice
                        && r.record.channel == e.channel
                        && r.record.notice_version.to_string() == e.notice_version
                        && r.record.recorded_at == e.time
                }
            };
            if !same {
                self.fail(
                    format!("consent/{}", r.id),
                    &r.record.subscriber,
                    &r.record.purpose,
                    0,
                    Some(e.index),
                    format!("consent record {} differs from what ledger entry {} recorded (edited)", r.id, e.index),
                );
            }
        }
        for (i, r) in records.iter().enumerate() {
            if !matched[i] {
                self.fail(
                    format!("consent/{}", r.id),
                    &r.record.subscriber,
                    &r.record.purpose,
                    0,
                    r.audit_index,
                    format!("consent record {} has no ledger entry (written around tokutei?)", r.id),
                );
            }
        }
        // What the gateway would decide on: the table's latest record per purpose.
        let mut current: BTreeMap<(String, String), &ConsentRecord> = BTreeMap::new();
        for r in &records {
            current.insert((r.record.subscriber.clone(), r.record.purpose.clone()), r);
        }
        for ((subscriber, purpose), e) in latest {
            let table = current.get(&(subscriber.clone(), purpose.clone())).map(|r| r.record.choice.id());
            if table != Some(e.choice.as_str()) {
                self.fail(
                    format!("ledger/{}", e.index),
                    &subscriber,
                    &purpose,
                    0,
                    Some(e.index),
                    format!(
                        "the current choice for `{purpose}` is `{}` in the consent table but `{}` in the ledger (entry {}): uses for this purpose are decided on the wrong choice",
                        table.unwrap_or("none"),
                        e.choice,
                        e.index
                    ),
                );
            }
        }
        self.consents = consents;
        Ok(())
    }
}

fn self_import<'i>(imports: &'i [ImportEntry], index: &HashMap<u64, usize>, at: u64) -> Option<&'i ImportEntry> {
    index.get(&at).and_then(|i| imports.get(*i))
}
