//! The bulk import into the vault (`docs/import-format.md`), the one path `tokutei subscribers
//! import`, `tokutei demo` and the benchmark take.
//!
//! Two streaming passes over the input: the first validates every row (a malformed file is
//! rejected whole, naming line and column, before anything is written); the second encrypts
//! rows into batches that a writer thread stores, one transaction per batch, each keyed by the
//! digest of its rows so a re-run (after success or a crash) skips what is already in and
//! never duplicates. Memory stays flat: one batch in flight.
//!
//! Audit first: each batch's `import_batch` entry (lines, counts, and the digest of the value
//! versions it writes) is durable before the batch is written, and every version names it. A
//! batch that fails gets a second entry saying so, and the import stops with an
//! [`ImportFailed`] that says which batches are committed and from which line nothing was.
//! It never prints: progress goes to a callback ([`ImportProgress`]).

use std::collections::HashMap;
use std::io::Read;
use std::sync::mpsc;

use base64::Engine;
use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokutei_ledger::{Actor, AdminAction, AdminEvent, Entry};
use tokutei_policy::{AcquisitionMethod, Date, Policy};
use tokutei_store::StoreError;
use tokutei_store::ledger::LedgerStore;
use tokutei_store::vault::{
    BatchOutcome, Contract, ContractState, ImportBatch, IndirectSource, NewSubscriber, NewValue, Provenance, Source,
    ValueRef, VaultStore,
};

use crate::KeyAccess;

/// Why an import did not happen or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file: the message names the line and column (nothing was written).
    #[error("{0}")]
    Invalid(String),
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A batch's audit entry could not be made durable (so the batch was not written).
    #[error("cannot write its audit entry: {0}")]
    Audit(StoreError),
    #[error("{0}")]
    Key(String),
    #[error("cannot seal a value: {0}")]
    Crypto(#[from] tokutei_crypto::CryptoError),
    #[error("the import writer stopped unexpectedly")]
    Writer,
    /// One batch failed (its report says which); nothing of it was written.
    #[error("batch {} failed: {cause}", report.batch)]
    Batch { report: BatchReport, cause: Box<ImportError> },
    /// The import stopped after it began writing: what was committed, and what not.
    #[error(transparent)]
    Failed(Box<ImportFailed>),
}

pub type ImportResult<T> = Result<T, ImportError>;

/// `return Err(ImportError::Invalid(format!(…)))`.
macro_rules! invalid {
    ($($arg:tt)*) => { return Err(ImportError::Invalid(format!($($arg)*))) };
}

/// `ImportError::Invalid(format!(…))`.
macro_rules! invalid_err {
    ($($arg:tt)*) => { ImportError::Invalid(format!($($arg)*)) };
}

/// The most bytes a provenance column (who collected, the provider's name…) may hold.
const MAX_FIELD_BYTES: usize = 256;

/// Subscribers per import batch (one transaction). Fixed: the batch boundaries are part of
/// the source keys that make re-runs idempotent.
pub const BATCH_SUBSCRIBERS: usize = 2000;

/// What happened to one batch of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Audited, then written in one transaction.
    Committed,
    /// Imported by an earlier run (same rows, same source key): nothing written.
    AlreadyImported,
    /// Audited, then refused or failed: nothing of it was written.
    Failed,
}

/// One batch of an import: its place in the file, what it holds, what became of it, and its
/// audit entry.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    /// 1, 2, 3… in file order.
    pub batch: u64,
    pub first_line: u64,
    pub last_line: u64,
    pub subscribers: u64,
    pub values: u64,
    pub state: BatchState,
    /// The `import_batch` ledger entry written before the batch (for a batch imported by an
    /// earlier run, that run's entry).
    pub audit_index: Option<u64>,
}

/// What the import core reports while it runs; it never prints.
#[derive(Debug, Clone)]
pub enum ImportProgress {
    /// The validation pass is done: every row is valid.
    Validated { rows: u64 },
    /// Rows encrypted and handed to the writer, so far.
    Rows(u64),
    /// A batch is done (committed, already imported, or failed).
    Batch(BatchReport),
}

/// What an import did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ImportSummary {
    pub rows: u64,
    pub subscribers: u64,
    pub values: u64,
    pub batches_applied: u64,
    /// Batches already imported by an earlier run.
    pub batches_skipped: u64,
    pub seconds: f64,
    /// Every batch, in file order.
    pub batches: Vec<BatchReport>,
}

/// An import that stopped after it began writing: which batches are committed, which one
/// failed and from which line nothing was imported. Re-running the same file skips the
/// committed batches (their source keys are recorded).
#[derive(Debug)]
pub struct ImportFailed {
    /// The batches finished before the failure (committed or already imported).
    pub done: Vec<BatchReport>,
    /// The batch that failed, if the failure was a batch's (not the reading or encrypting).
    pub failed: Option<BatchReport>,
    /// The first line not imported.
    pub not_imported_from_line: u64,
    pub cause: Box<ImportError>,
}

impl ImportFailed {
    /// The machine-readable account (under `error.detail` with `--json`).
    pub fn detail(&self) -> serde_json::Value {
        serde_json::json!({
            "committed": self.done.iter().filter(|b| b.state == BatchState::Committed).collect::<Vec<_>>(),
            "already_imported": self.done.iter().filter(|b| b.state == BatchState::AlreadyImported).collect::<Vec<_>>(),
            "failed": self.failed,
            "not_imported_from_line": self.not_imported_from_line,
        })
    }
}

impl std::fmt::Display for ImportFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let committed: Vec<&BatchReport> = self.done.iter().filter(|b| b.state == BatchState::Committed).collect();
        match &self.failed {
            Some(b) => write!(
                f,
                "batch {} (lines {}–{}) failed and nothing of it was written: {}; ",
                b.batch, b.first_line, b.last_line, self.cause
            )?,
            None => write!(f, "{}; ", self.cause)?,
        }
        match (committed.first(), committed.last()) {
            (Some(first), Some(last)) => write!(
                f,
                "committed before it: {} batches (batches {}–{}, lines {}–{}: {} subscribers, {} values; audit entries {}–{})",
                committed.len(),
                first.batch,
                last.batch,
                first.first_line,
                last.last_line,
                committed.iter().map(|b| b.subscribers).sum::<u64>(),
                committed.iter().map(|b| b.values).sum::<u64>(),
                first.audit_index.unwrap_or_default(),
                last.audit_index.unwrap_or_default(),
            )?,
            _ => write!(f, "no batch was committed")?,
        }
        let skipped = self.done.len() - committed.len();
        if skipped > 0 {
            write!(f, ", {skipped} batches were already imported")?;
        }
        write!(
            f,
            "; not imported: line {} to the end; fix the cause and run the same import again (committed batches are skipped)",
            self.not_imported_from_line
        )
    }
}

impl std::error::Error for ImportFailed {}

/// Where an import writes: the vault, the audit ledger (one entry per batch, durable before
/// the batch), the keys that make and wrap the data keys and blind-index tokens, and who
/// imports.
pub struct ImportTarget<'a> {
    pub store: &'a (dyn VaultStore + Sync),
    pub ledger: &'a dyn LedgerStore,
    pub keys: &'a dyn KeyAccess,
    pub actor: Actor,
}

impl std::fmt::Debug for ImportTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportTarget").field("actor", &self.actor).finish_non_exhaustive()
    }
}

/// A batch on its way to the writer.
struct PendingBatch {
    batch: ImportBatch,
    report: BatchReport,
    digest: [u8; 32],
}

/// Import CSV from a source that can be opened twice (validation pass, then import pass).
/// `tokutei demo` uses this same path with generated rows. Nothing is written unless every
/// row is valid; then each batch is audited (`import_batch`: counts, lines, and the digest
/// of the value versions it writes — durable first) and written in one transaction. Progress
/// and each batch's outcome go to `on_progress`; a failure after the first batch began is an
/// [`ImportFailed`] saying exactly what was committed.
pub fn import(
    target: &ImportTarget<'_>,
    policy: &Policy,
    policy_version: u32,
    mut open: impl FnMut() -> std::io::Result<Box<dyn Read>>,
    on_progress: &mut dyn FnMut(ImportProgress),
) -> ImportResult<ImportSummary> {
    let started = std::time::Instant::now();
    // Pass 1: validate everything; nothing is written if any row is wrong.
    let layout;
    let total_rows = {
        let mut reader = csv_reader(open()?);
        layout = Layout::read(&mut reader, policy, policy_version)?;
        let mut record = csv::ByteRecord::new();
        let mut rows = 0u64;
        let mut previous: Option<String> = None;
        while read_record(&mut reader, &mut record)? {
            let row = layout.parse_row(&record, previous.as_deref())?;
            previous = Some(row.subscriber);
            rows += 1;
        }
        rows
    };
    on_progress(ImportProgress::Validated { rows: total_rows });

    // Pass 2: encrypt and store, batch by batch; a writer thread audits and commits while the
    // next batch is encrypted, and reports each batch back.
    let mut summary = ImportSummary { rows: total_rows, ..ImportSummary::default() };
    let mut reader = csv_reader(open()?);
    Layout::read(&mut reader, policy, policy_version)?;
    let (tx, rx) = mpsc::sync_channel::<PendingBatch>(2);
    let (done_tx, done_rx) = mpsc::channel::<BatchReport>();
    let outcome = std::thread::scope(|scope| -> (ImportResult<()>, ImportResult<()>) {
        let writer = scope.spawn(move || -> ImportResult<()> {
            for pending in rx {
                let report = write_batch(target, pending)?;
                if done_tx.send(report).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let produced = produce_batches(&mut reader, &layout, target, &tx, &done_rx, &mut summary, on_progress);
        drop(tx);
        let written = writer.join().unwrap_or(Err(ImportError::Writer));
        (produced, written)
    });
    for report in done_rx.try_iter() {
        summary.note(report, on_progress);
    }
    // Skipped batches are noted as they are met, committed ones when the writer reports them.
    summary.batches.sort_by_key(|b| b.batch);
    // A writer error explains a producer error (the channel closed), so it comes first.
    let (produced, written) = outcome;
    if let Some(cause) = written.err().or(produced.err()) {
        let (failed, cause) = match cause {
            ImportError::Batch { report, cause } => (Some(report), cause),
            cause => (None, Box::new(cause)),
        };
        let not_imported_from_line =
            failed.as_ref().map(|b| b.first_line).or(summary.batches.last().map(|b| b.last_line + 1)).unwrap_or(2);
        return Err(ImportError::Failed(Box::new(ImportFailed {
            done: summary.batches,
            failed,
            not_imported_from_line,
            cause,
        })));
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

impl ImportSummary {
    fn note(&mut self, report: BatchReport, on_progress: &mut dyn FnMut(ImportProgress)) {
        match report.state {
            BatchState::Committed => self.batches_applied += 1,
            BatchState::AlreadyImported => self.batches_skipped += 1,
            BatchState::Failed => {}
        }
        self.batches.push(report.clone());
        on_progress(ImportProgress::Batch(report));
    }
}

/// Audit one batch (durable), then write it in one transaction naming that entry. A batch
/// the store refuses, or that another run imported meanwhile, gets a second entry saying so
/// (`outcome`), so the first is never taken for a batch that went missing.
fn write_batch(target: &ImportTarget<'_>, pending: PendingBatch) -> ImportResult<BatchReport> {
    let PendingBatch { mut batch, mut report, digest } = pending;
    let subject = format!("import/{}", batch.source_key);
    let admin = |digest: Option<[u8; 32]>, details: Vec<(String, String)>| {
        let event = AdminEvent { action: AdminAction::ImportBatch, subject: subject.clone(), digest, details };
        target.ledger.append(&Entry::admin(Timestamp::now(), target.actor.clone(), event))
    };
    let entry = admin(
        Some(digest),
        vec![
            ("batch".to_string(), report.batch.to_string()),
            ("lines".to_string(), format!("{}-{}", report.first_line, report.last_line)),
            ("rows".to_string(), batch.rows.to_string()),
            ("subscribers".to_string(), report.subscribers.to_string()),
            ("values".to_string(), report.values.to_string()),
        ],
    )
    .map_err(|e| {
        report.state = BatchState::Failed;
        ImportError::Batch { report: report.clone(), cause: Box::new(ImportError::Audit(e)) }
    })?;
    report.audit_index = Some(entry.index);
    batch.audit_index = Some(entry.index);
    let follow_up = |outcome: &str| {
        admin(None, vec![("attempt".to_string(), entry.index.to_string()), ("outcome".to_string(), outcome.into())])
    };
    match target.store.import_batch(&batch) {
        Ok(BatchOutcome::Applied) => {
            tracing::info!(batch = report.batch, rows = batch.rows, "committed import batch {}", report.batch);
            report.state = BatchState::Committed;
            Ok(report)
        }
        Ok(BatchOutcome::AlreadyImported) => {
            follow_up("already_imported")?;
            report.state = BatchState::AlreadyImported;
            report.audit_index = target.store.import_record(&batch.source_key)?.and_then(|r| r.audit_index);
            Ok(report)
        }
        Err(e) => {
            // Best effort: the batch's own entry is durable either way, and the store wrote nothing.
            if let Err(also) = follow_up("failed") {
                tracing::warn!(error = %also, "cannot record that import batch {} failed", report.batch);
            }
            report.state = BatchState::Failed;
            Err(ImportError::Batch { report, cause: Box::new(e.into()) })
        }
    }
}

fn produce_batches(
    reader: &mut csv::Reader<Box<dyn Read>>,
    layout: &Layout,
    target: &ImportTarget<'_>,
    tx: &mpsc::SyncSender<PendingBatch>,
    done: &mpsc::Receiver<BatchReport>,
    summary: &mut ImportSummary,
    on_progress: &mut dyn FnMut(ImportProgress),
) -> ImportResult<()> {
    let mut record = csv::ByteRecord::new();
    let mut pending: Vec<ParsedRow> = Vec::with_capacity(BATCH_SUBSCRIBERS * 2);
    let mut subscribers_in_batch = 0usize;
    let mut previous: Option<String> = None;
    let (mut rows_done, mut batch_no) = (0u64, 0u64);
    loop {
        let more = read_record(reader, &mut record)?;
        let row = if more { Some(layout.parse_row(&record, previous.as_deref())?) } else { None };
        let starts_subscriber = row.as_ref().is_some_and(|r| r.head.is_some());
        if (!more || (starts_subscriber && subscribers_in_batch == BATCH_SUBSCRIBERS)) && !pending.is_empty() {
            let rows = pending.len() as u64;
            batch_no += 1;
            match build_batch(layout, target, batch_no, std::mem::take(&mut pending), summary)? {
                Ok(batch) => tx.send(batch).map_err(|_| ImportError::Writer)?,
                Err(skipped) => summary.note(skipped, on_progress),
            }
            for report in done.try_iter() {
                summary.note(report, on_progress);
            }
            rows_done += rows;
            on_progress(ImportProgress::Rows(rows_done));
            subscribers_in_batch = 0;
        }
        let Some(row) = row else { break };
        if starts_subscriber {
            subscribers_in_batch += 1;
        }
        previous = Some(row.subscriber.clone());
        pending.push(row);
    }
    Ok(())
}

/// Encrypt one batch of rows, with its leaf hashes' digest. `Err(report)` when its source
/// key was imported before (nothing to do).
fn build_batch(
    layout: &Layout,
    target: &ImportTarget<'_>,
    batch_no: u64,
    rows: Vec<ParsedRow>,
    summary: &mut ImportSummary,
) -> ImportResult<Result<PendingBatch, BatchReport>> {
    let mut hasher = Sha256::new();
    hasher.update(b"tokutei.import.v1\x1e");
    hasher.update(layout.header_digest);
    for row in &rows {
        hasher.update(row.digest);
    }
    let source_key = format!("sha256:{}", hex::encode(hasher.finalize()));
    let first = rows.first().map_or(0, |r| r.line);
    let last = rows.last().map_or(0, |r| r.line);
    let subscriber_rows = rows.iter().filter(|r| r.head.is_some()).count() as u64;
    let value_count = rows.iter().map(|r| r.values.len() as u64).sum::<u64>();
    summary.subscribers += subscriber_rows;
    summary.values += value_count;
    let mut report = BatchReport {
        batch: batch_no,
        first_line: first,
        last_line: last,
        subscribers: subscriber_rows,
        values: value_count,
        state: BatchState::AlreadyImported,
        audit_index: None,
    };
    if let Some(record) = target.store.import_record(&source_key)? {
        report.audit_index = record.audit_index;
        return Ok(Err(report));
    }
    let now = Timestamp::now();
    let mut subscribers = Vec::with_capacity(subscriber_rows as usize);
    let mut values = Vec::with_capacity(value_count as usize);
    let mut leaves = Vec::with_capacity(value_count as usize);
    let mut key = None;
    let mut versions: HashMap<usize, u32> = HashMap::new();
    for row in rows {
        if let Some(head) = row.head {
            let (data_key, wrapped) = target.keys.new_data_key(&row.subscriber).map_err(ImportError::Key)?;
            key = Some(data_key);
            versions.clear();
            subscribers.push(NewSubscriber {
                id: row.subscriber.clone(),
                service: head.service,
                contract: head.contract,
                key: wrapped,
            });
        }
        // INVARIANT: `parse_row` refuses a continuation row without its subscriber row first,
        // and batches start on a subscriber row.
        let data_key =
            key.as_ref().ok_or_else(|| invalid_err!("a continuation row has no subscriber row before it"))?;
        for (column, plaintext) in row.values {
            let category = &layout.categories[column];
            let version = versions.entry(column).and_modify(|v| *v += 1).or_insert(1);
            let slot =
                crate::codec::ValueSlot { subscriber: &row.subscriber, category: &category.id, version: *version };
            let sealed = crate::codec::seal(data_key, slot, category.binary, &plaintext)?;
            let blind_index = if category.searchable {
                let text = std::str::from_utf8(&plaintext).unwrap_or_default();
                target.keys.blind_token(&category.id, text)
            } else {
                None
            };
            let value_ref =
                ValueRef { subscriber: row.subscriber.clone(), category: category.id.clone(), version: *version };
            leaves.push((tokutei_store::vault::value_leaf(&value_ref, &sealed.sealed_hash()), value_ref));
            values.push(NewValue {
                subscriber: row.subscriber.clone(),
                category: category.id.clone(),
                version: *version,
                sealed,
                provenance: row.provenance.clone(),
                valid_from: row.provenance.collected_at,
                supersedes: !category.log && *version > 1,
                blind_index,
            });
        }
    }
    let digest = tokutei_store::vault::values_digest(leaves.iter().map(|(leaf, r)| (r, leaf)));
    let batch = ImportBatch {
        source_key,
        rows: last.saturating_sub(first) + 1,
        subscribers,
        values,
        imported_at: now,
        audit_index: None,
    };
    Ok(Ok(PendingBatch { batch, report, digest }))
}

fn csv_reader(input: Box<dyn Read>) -> csv::Reader<Box<dyn Read>> {
    csv::ReaderBuilder::new().has_headers(false).flexible(false).from_reader(input)
}

fn read_record(reader: &mut csv::Reader<Box<dyn Read>>, record: &mut csv::ByteRecord) -> ImportResult<bool> {
    reader.read_byte_record(record).map_err(|e| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        match e.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                invalid_err!("line {line}: {len} columns, but the header has {expected_len}")
            }
            _ => invalid_err!("line {line}: not a readable CSV row: {e}"),
        }
    })
}

#[derive(Debug)]
struct CategoryColumn {
    id: String,
    services: Vec<String>,
    searchable: bool,
    binary: bool,
    log: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Fixed {
    Subscriber,
    Service,
    State,
    StartedOn,
    SuspendedOn,
    TerminatedOn,
    Method,
    Source,
    ProviderName,
    ProviderAddress,
    ProviderRepresentative,
    ProviderObtainedBy,
    CollectedAt,
    CollectedBy,
    NoticeVersion,
}

const FIXED: [(&str, Fixed, bool); 15] = [
    ("subscriber", Fixed::Subscriber, true),
    ("service", Fixed::Service, true),
    ("state", Fixed::State, true),
    ("started_on", Fixed::StartedOn, true),
    ("suspended_on", Fixed::SuspendedOn, false),
    ("terminated_on", Fixed::TerminatedOn, false),
    ("method", Fixed::Method, true),
    ("source", Fixed::Source, false),
    ("provider_name", Fixed::ProviderName, false),
    ("provider_address", Fixed::ProviderAddress, false),
    ("provider_representative", Fixed::ProviderRepresentative, false),
    ("provider_obtained_by", Fixed::ProviderObtainedBy, false),
    ("collected_at", Fixed::CollectedAt, true),
    ("collected_by", Fixed::CollectedBy, true),
    ("notice_version", Fixed::NoticeVersion, false),
];

/// The columns of the file, checked against the active policy.
#[derive(Debug)]
struct Layout {
    names: Vec<String>,
    fixed: HashMap<usize, Fixed>,
    /// Column index → index into `categories`.
    category_at: HashMap<usize, usize>,
    categories: Vec<CategoryColumn>,
    services: Vec<String>,
    methods: Vec<AcquisitionMethod>,
    indirect_allowed: bool,
    policy_version: u32,
    header_digest: [u8; 32],
}

/// A row parsed and checked, values still in plaintext (wiped when dropped).
struct ParsedRow {
    line: u64,
    subscriber: String,
    /// Present on the first row of a subscriber.
    head: Option<Head>,
    provenance: Provenance,
    values: Vec<(usize, zeroize::Zeroizing<Vec<u8>>)>,
    digest: [u8; 32],
}

struct Head {
    service: String,
    contract: Contract,
}

fn utf8_field<'a>(bytes: &'a [u8], line: u64, column: &str) -> ImportResult<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| {
        if looks_like_shift_jis(bytes) {
            invalid_err!(
                "line {line}, column `{column}`: the file is Shift_JIS, not UTF-8; convert it first (e.g. `iconv -f SHIFT_JIS -t UTF-8`)"
            )
        } else {
            invalid_err!("line {line}, column `{column}`: not valid UTF-8")
        }
    })
}

/// Shift_JIS double-byte characters: a lead byte 0x81–0x9F or 0xE0–0xFC followed by a trail
/// byte 0x40–0x7E or 0x80–0xFC; half-width katakana 0xA1–0xDF stand alone.
fn looks_like_shift_jis(bytes: &[u8]) -> bool {
    let mut i = 0;
    let mut double = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 || (0xA1..=0xDF).contains(&b) {
            i += 1;
        } else if (0x81..=0x9F).contains(&b) || (0xE0..=0xFC).contains(&b) {
            match bytes.get(i + 1) {
                Some(&t) if (0x40..=0x7E).contains(&t) || (0x80..=0xFC).contains(&t) => {
                    double += 1;
                    i += 2;
                }
                _ => return false,
            }
        } else {
            return false;
        }
    }
    double > 0 || bytes.iter().any(|b| (0xA1..=0xDF).contains(b))
}

impl Layout {
    fn read(reader: &mut csv::Reader<Box<dyn Read>>, policy: &Policy, policy_version: u32) -> ImportResult<Layout> {
        let mut header = csv::ByteRecord::new();
        if !read_record(reader, &mut header)? {
            invalid!("the file is empty; the first line must be the header (see docs/import-format.md)");
        }
        let mut names = Vec::with_capacity(header.len());
        let mut hasher = Sha256::new();
        for (i, field) in header.iter().enumerate() {
            let field = if i == 0 { field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field) } else { field };
            let name = utf8_field(field, 1, &format!("#{}", i + 1))?.trim().to_string();
            hasher.update(name.as_bytes());
            hasher.update(b"\x1f");
            names.push(name);
        }
        let mut fixed = HashMap::new();
        let mut category_at = HashMap::new();
        let mut categories = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                invalid!("line 1, column {}: `{name}` appears twice", i + 1);
            }
            if let Some((_, f, _)) = FIXED.iter().find(|(n, _, _)| n == name) {
                fixed.insert(i, *f);
            } else if let Some(c) = policy.category(name) {
                category_at.insert(i, categories.len());
                categories.push(CategoryColumn {
                    id: c.id.clone(),
                    services: c.services.clone(),
                    searchable: c.searchable,
                    binary: c.binary,
                    log: c.log,
                });
            } else {
                invalid!(
                    "line 1, column {}: `{name}` is neither a provenance column nor a category of the active policy (version {policy_version})",
                    i + 1
                );
            }
        }
        for (name, f, required) in FIXED {
            if required && !fixed.values().any(|x| *x == f) {
                invalid!("line 1: the required column `{name}` is missing");
            }
        }
        Ok(Layout {
            names,
            fixed,
            category_at,
            categories,
            services: policy.services.iter().map(|s| s.id.clone()).collect(),
            methods: policy.acquisition.methods.clone(),
            indirect_allowed: policy.acquisition.indirect,
            policy_version,
            header_digest: hasher.finalize().into(),
        })
    }

    fn parse_row(&self, record: &csv::ByteRecord, previous: Option<&str>) -> ImportResult<ParsedRow> {
        let line = record.position().map_or(0, |p| p.line());
        let mut fields: HashMap<Fixed, &str> = HashMap::with_capacity(FIXED.len());
        let mut values = Vec::new();
        let mut hasher = Sha256::new();
        for (i, raw) in record.iter().enumerate() {
            hasher.update(raw);
            hasher.update(b"\x1f");
            let name = &self.names[i];
            if let Some(f) = self.fixed.get(&i) {
                let text = utf8_field(raw, line, name)?.trim();
                if text.len() > MAX_FIELD_BYTES {
                    invalid!(
                        "line {line}, column `{name}`: {} bytes, more than the {MAX_FIELD_BYTES} allowed",
                        text.len()
                    );
                }
                if let Some(c) = text.chars().find(|c| c.is_control()) {
                    invalid!("line {line}, column `{name}`: holds the control character U+{:04X}", u32::from(c));
                }
                if !text.is_empty() {
                    fields.insert(*f, text);
                }
            } else if let Some(&c) = self.category_at.get(&i) {
                if raw.is_empty() {
                    continue;
                }
                let category = &self.categories[c];
                let plaintext = if category.binary {
                    let text = utf8_field(raw, line, name)?;
                    let Some(encoded) = text.strip_prefix("base64:") else {
                        invalid!(
                            "line {line}, column `{name}`: a binary category takes `base64:` followed by the data"
                        );
                    };
                    base64::engine::general_purpose::STANDARD
                        .decode(encoded.trim())
                        .map_err(|_| invalid_err!("line {line}, column `{name}`: not valid base64"))?
                } else {
                    utf8_field(raw, line, name)?;
                    raw.to_vec()
                };
                let plaintext = zeroize::Zeroizing::new(plaintext);
                tokutei_store::vault::check_plaintext(category.binary, &plaintext)
                    .map_err(|problem| invalid_err!("line {line}, column `{name}`: {problem}"))?;
                values.push((c, plaintext));
            }
        }
        let at = |f: Fixed| fields.get(&f).copied();
        let col = |f: Fixed| FIXED.iter().find(|(_, x, _)| *x == f).map_or("", |(n, _, _)| *n);
        let need = |f: Fixed| at(f).ok_or_else(|| invalid_err!("line {line}, column `{}`: required", col(f)));

        let subscriber = need(Fixed::Subscriber)?.to_string();
        if subscriber.len() > 64 || !subscriber.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            invalid!("line {line}, column `subscriber`: an id is 1–64 letters, digits, `-`, `_` or `.`");
        }
        let continuation = previous == Some(subscriber.as_str());
        let head = if continuation {
            for f in [Fixed::Service, Fixed::State, Fixed::StartedOn, Fixed::SuspendedOn, Fixed::TerminatedOn] {
                if at(f).is_some() {
                    invalid!(
                        "line {line}, column `{}`: leave contract columns empty on a further row of the same subscriber",
                        col(f)
                    );
                }
            }
            None
        } else {
            let service = need(Fixed::Service)?;
            if !self.services.iter().any(|s| s == service) {
                invalid!(
                    "line {line}, column `service`: not a service of the active policy ({})",
                    self.services.join(", ")
                );
            }
            let state_text = need(Fixed::State)?;
            let state = ContractState::from_id(state_text)
                .ok_or_else(|| invalid_err!("line {line}, column `state`: not one of active, suspended, terminated"))?;
            let parse_date = |f: Fixed| -> ImportResult<Option<Date>> {
                at(f)
                    .map(|t| {
                        // The value is the subscriber's: the message names the column, never the value.
                        t.parse::<Date>().map_err(|_| {
                            invalid_err!("line {line}, column `{}`: not a real date (expected YYYY-MM-DD)", col(f))
                        })
                    })
                    .transpose()
            };
            let started_on = parse_date(Fixed::StartedOn)?
                .ok_or_else(|| invalid_err!("line {line}, column `started_on`: required"))?;
            let suspended_on = parse_date(Fixed::SuspendedOn)?;
            let terminated_on = parse_date(Fixed::TerminatedOn)?;
            if (state == ContractState::Terminated) != terminated_on.is_some() {
                invalid!("line {line}, column `terminated_on`: required exactly when the state is terminated");
            }
            if state == ContractState::Suspended && suspended_on.is_none() {
                invalid!("line {line}, column `suspended_on`: required when the state is suspended");
            }
            if terminated_on.is_some_and(|t| t < started_on) {
                invalid!("line {line}, column `terminated_on`: before `started_on`");
            }
            Some(Head {
                service: service.to_string(),
                contract: Contract { state, started_on, suspended_on, terminated_on },
            })
        };
        if let Some(head) = &head {
            for (c, _) in &values {
                let category = &self.categories[*c];
                if !category.services.contains(&head.service) {
                    invalid!(
                        "line {line}, column `{}`: the policy does not collect this category for service `{}`",
                        category.id,
                        head.service
                    );
                }
            }
        }

        let method_text = need(Fixed::Method)?;
        let method = AcquisitionMethod::ALL
            .into_iter()
            .find(|m| m.id() == method_text)
            .ok_or_else(|| invalid_err!("line {line}, column `method`: not an acquisition method"))?;
        if !self.methods.contains(&method) {
            invalid!("line {line}, column `method`: an acquisition method the policy does not list");
        }
        let source = match at(Fixed::Source).unwrap_or("direct") {
            "direct" => Source::Direct,
            "indirect" => {
                if !self.indirect_allowed {
                    invalid!(
                        "line {line}, column `source`: the policy does not say information is acquired indirectly"
                    );
                }
                Source::Indirect(IndirectSource {
                    provider_name: need(Fixed::ProviderName)?.to_string(),
                    provider_address: need(Fixed::ProviderAddress)?.to_string(),
                    provider_representative: need(Fixed::ProviderRepresentative)?.to_string(),
                    provider_obtained_by: need(Fixed::ProviderObtainedBy)?.to_string(),
                })
            }
            _ => invalid!("line {line}, column `source`: not `direct` or `indirect`"),
        };
        let collected_at = tokutei_policy::tokyo::parse_instant(need(Fixed::CollectedAt)?)
            .ok_or_else(|| invalid_err!("line {line}, column `collected_at`: expected RFC 3339 or YYYY-MM-DD"))?;
        let notice_version = match at(Fixed::NoticeVersion) {
            None => self.policy_version,
            Some(t) => match t.parse::<u32>() {
                Ok(n) if (1..=self.policy_version).contains(&n) => n,
                _ => invalid!(
                    "line {line}, column `notice_version`: not a published policy version (1–{})",
                    self.policy_version
                ),
            },
        };
        Ok(ParsedRow {
            line,
            subscriber,
            head,
            provenance: Provenance {
                method,
                source,
                collected_at,
                collected_by: need(Fixed::CollectedBy)?.to_string(),
                notice_version,
            },
            values,
            digest: hasher.finalize().into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_jis_is_recognised() {
        // 山田 in Shift_JIS; half-width katakana.
        assert!(looks_like_shift_jis(&[0x8E, 0x52, 0x93, 0x63]));
        assert!(looks_like_shift_jis(b"abc\xB1\xB2"));
        assert!(!looks_like_shift_jis(&[0xFF, 0xFE]));
    }
}
