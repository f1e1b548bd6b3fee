//! `tokutei subscribers …`: the bulk import into the vault (`docs/import-format.md`), listing,
//! integrity verification, blind-index search and erasure (crypto-shredding).
//!
//! The import is two streaming passes over the input: the first validates every row (a
//! malformed file is rejected whole, naming line and column, before anything is written);
//! the second encrypts rows into batches that a writer thread stores, one transaction per
//! batch, each keyed by the digest of its rows so a re-run (after success or a crash) skips
//! what is already in and never duplicates. Memory stays flat: one batch in flight.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use anyhow::{Context, bail};
use base64::Engine;
use clap::Subcommand;
use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokutei_crypto::ValueAad;
use tokutei_policy::{AcquisitionMethod, Date, Policy};
use tokutei_store::vault::{
    BatchOutcome, Contract, ContractState, ImportBatch, IndirectSource, NewSubscriber, NewValue, Provenance, Sealed,
    Source,
};

use crate::backend::Store;
use crate::cli::GlobalArgs;
use crate::keyring::{self, Keyring};
use crate::output::Report;

/// Subscribers per import batch (one transaction). Fixed: the batch boundaries are part of
/// the source keys that make re-runs idempotent.
pub const BATCH_SUBSCRIBERS: usize = 2000;

#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Import subscribers and their values from a CSV file (see docs/import-format.md).
    Import {
        /// The CSV file (UTF-8).
        csv_file: PathBuf,
    },
    /// List subscribers (ids, service, contract state; never values).
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Start after this subscriber id.
        #[arg(long)]
        after: Option<String>,
    },
    /// Decrypt every stored value and report any that does not authenticate (no values are shown).
    Verify {
        /// Only this subscriber.
        #[arg(long)]
        subscriber: Option<String>,
    },
    /// Find subscribers by a searchable field through its blind index.
    Find {
        /// The category id, e.g. `contract.phone`.
        #[arg(long)]
        category: String,
        /// The value as typed (全角/半角, hyphens and case do not matter).
        value: String,
    },
    /// Erase a subscriber: destroy its data key so its values can never be decrypted again.
    Erase {
        #[arg(long)]
        subscriber: String,
    },
}

pub fn run(global: &GlobalArgs, cmd: SubscribersCommand) -> anyhow::Result<Report> {
    let data = global.data_dir();
    let store = data.open_store()?;
    match cmd {
        SubscribersCommand::Import { csv_file } => {
            let keyring = Keyring::open_or_create(&data)?;
            let (version, policy) = active_policy(&*store)?;
            let summary = import_file(&*store, &keyring, &policy, version, &csv_file, !global.json)?;
            Ok(Report::new(summary.human(), &summary))
        }
        SubscribersCommand::List { limit, after } => list(&*store, after.as_deref(), limit),
        SubscribersCommand::Verify { subscriber } => verify(&*store, &Keyring::open(&data)?, subscriber.as_deref()),
        SubscribersCommand::Find { category, value } => find(&*store, &Keyring::open(&data)?, &category, &value),
        SubscribersCommand::Erase { subscriber } => erase(&data, &*store, &subscriber),
    }
}

/// The active policy and its version number.
pub fn active_policy(store: &dyn Store) -> anyhow::Result<(u32, Policy)> {
    let Some(version) = store.active_policy(crate::cli::policy::today())? else {
        bail!("no policy version is in force; publish one with `tokutei policy publish`");
    };
    let policy = tokutei_policy::parse(&version.source)
        .map_err(|e| anyhow::anyhow!("stored policy version {} does not parse: {e}", version.number))?;
    Ok((version.number, policy))
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
}

impl ImportSummary {
    fn human(&self) -> String {
        let rate = if self.seconds > 0.0 { self.rows as f64 / self.seconds } else { 0.0 };
        format!(
            "imported {} rows: {} subscribers, {} values in {} batches ({} already imported, skipped) in {:.1}s ({:.0} rows/s)\n",
            self.rows, self.subscribers, self.values, self.batches_applied, self.batches_skipped, self.seconds, rate
        )
    }
}

/// Import a CSV file.
pub fn import_file(
    store: &dyn Store,
    keyring: &Keyring,
    policy: &Policy,
    policy_version: u32,
    file: &Path,
    progress: bool,
) -> anyhow::Result<ImportSummary> {
    let open = || -> anyhow::Result<Box<dyn Read>> {
        let f = std::fs::File::open(file).with_context(|| format!("cannot read `{}`", file.display()))?;
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
    };
    import(store, keyring, policy, policy_version, open, progress)
        .with_context(|| format!("import of `{}` failed", file.display()))
}

/// Import CSV from a source that can be opened twice (validation pass, then import pass).
/// `tokutei demo` uses this same path with generated rows.
pub fn import(
    store: &dyn Store,
    keyring: &Keyring,
    policy: &Policy,
    policy_version: u32,
    mut open: impl FnMut() -> anyhow::Result<Box<dyn Read>>,
    progress: bool,
) -> anyhow::Result<ImportSummary> {
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

    // Pass 2: encrypt and store, batch by batch; a writer thread commits while the next batch
    // is encrypted.
    let bar = progress_bar(total_rows, progress);
    let mut summary = ImportSummary { rows: total_rows, ..ImportSummary::default() };
    let mut reader = csv_reader(open()?);
    Layout::read(&mut reader, policy, policy_version)?;
    let (tx, rx) = mpsc::sync_channel::<(ImportBatch, u64, u64)>(2);
    let result = std::thread::scope(|scope| -> anyhow::Result<()> {
        let writer = scope.spawn(move || -> anyhow::Result<(u64, u64)> {
            let (mut applied, mut batch_no) = (0u64, 0u64);
            for (batch, first, last) in rx {
                batch_no += 1;
                match store.import_batch(&batch).with_context(|| format!("lines {first}–{last}"))? {
                    BatchOutcome::Applied => {
                        applied += 1;
                        tracing::info!(batch = batch_no, rows = batch.rows, "committed import batch {batch_no}");
                    }
                    BatchOutcome::AlreadyImported => {}
                }
            }
            Ok((applied, batch_no))
        });
        let produced = produce_batches(&mut reader, &layout, keyring, store, &tx, &bar, &mut summary);
        drop(tx);
        let written = writer.join().map_err(|_| anyhow::anyhow!("the import writer stopped unexpectedly"))?;
        // A writer error explains a producer error (the channel closed), so it comes first.
        let (applied, _) = written?;
        produced?;
        summary.batches_applied = applied;
        Ok(())
    });
    bar.finish_and_clear();
    result?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn progress_bar(total: u64, visible: bool) -> indicatif::ProgressBar {
    if !visible {
        return indicatif::ProgressBar::hidden();
    }
    // Drawn only when stderr is a terminal.
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "importing [{bar:40}] {human_pos}/{human_len} rows  {per_sec}  ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn produce_batches(
    reader: &mut csv::Reader<Box<dyn Read>>,
    layout: &Layout,
    keyring: &Keyring,
    store: &dyn Store,
    tx: &mpsc::SyncSender<(ImportBatch, u64, u64)>,
    bar: &indicatif::ProgressBar,
    summary: &mut ImportSummary,
) -> anyhow::Result<()> {
    let mut record = csv::ByteRecord::new();
    let mut pending: Vec<ParsedRow> = Vec::with_capacity(BATCH_SUBSCRIBERS * 2);
    let mut subscribers_in_batch = 0usize;
    let mut previous: Option<String> = None;
    loop {
        let more = read_record(reader, &mut record)?;
        let row = if more { Some(layout.parse_row(&record, previous.as_deref())?) } else { None };
        let starts_subscriber = row.as_ref().is_some_and(|r| r.head.is_some());
        if (!more || (starts_subscriber && subscribers_in_batch == BATCH_SUBSCRIBERS)) && !pending.is_empty() {
            let rows = pending.len() as u64;
            let batch = build_batch(layout, keyring, store, std::mem::take(&mut pending), summary)?;
            if let Some(batch) = batch {
                tx.send(batch).map_err(|_| anyhow::anyhow!("the import writer stopped"))?;
            }
            bar.inc(rows);
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

/// Encrypt one batch of rows. `None` when its source key was imported before (nothing to do).
fn build_batch(
    layout: &Layout,
    keyring: &Keyring,
    store: &dyn Store,
    rows: Vec<ParsedRow>,
    summary: &mut ImportSummary,
) -> anyhow::Result<Option<(ImportBatch, u64, u64)>> {
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
    if store.batch_imported(&source_key)? {
        summary.batches_skipped += 1;
        return Ok(None);
    }
    let now = Timestamp::now();
    let mut subscribers = Vec::with_capacity(subscriber_rows as usize);
    let mut values = Vec::with_capacity(value_count as usize);
    let mut key = None;
    let mut versions: HashMap<usize, u32> = HashMap::new();
    for row in rows {
        if let Some(head) = row.head {
            let (data_key, wrapped) = keyring.new_data_key(&row.subscriber)?;
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
        let data_key = key.as_ref().context("a continuation row has no subscriber row before it")?;
        for (column, plaintext) in row.values {
            let category = &layout.categories[column];
            let version = versions.entry(column).and_modify(|v| *v += 1).or_insert(1);
            let aad = ValueAad { subscriber: &row.subscriber, category: &category.id, version: *version };
            let ciphertext = data_key.seal(&aad, &plaintext)?;
            let sealed = if category.binary {
                Sealed::Blob { content_hash: tokutei_crypto::content_hash(&ciphertext), ciphertext }
            } else {
                Sealed::Inline(ciphertext)
            };
            let blind_index = if category.searchable {
                let text = std::str::from_utf8(&plaintext).unwrap_or_default();
                keyring.blind().token(&category.id, text).map(|t| t.0)
            } else {
                None
            };
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
    let batch = ImportBatch { source_key, rows: last.saturating_sub(first) + 1, subscribers, values, imported_at: now };
    Ok(Some((batch, first, last)))
}

fn csv_reader(input: Box<dyn Read>) -> csv::Reader<Box<dyn Read>> {
    csv::ReaderBuilder::new().has_headers(false).flexible(false).from_reader(input)
}

fn read_record(reader: &mut csv::Reader<Box<dyn Read>>, record: &mut csv::ByteRecord) -> anyhow::Result<bool> {
    reader.read_byte_record(record).map_err(|e| {
        let line = e.position().map(|p| p.line()).unwrap_or(0);
        match e.kind() {
            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                anyhow::anyhow!("line {line}: {len} columns, but the header has {expected_len}")
            }
            _ => anyhow::anyhow!("line {line}: not a readable CSV row: {e}"),
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

fn utf8_field<'a>(bytes: &'a [u8], line: u64, column: &str) -> anyhow::Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| {
        if looks_like_shift_jis(bytes) {
            anyhow::anyhow!(
                "line {line}, column `{column}`: the file is Shift_JIS, not UTF-8; convert it first (e.g. `iconv -f SHIFT_JIS -t UTF-8`)"
            )
        } else {
            anyhow::anyhow!("line {line}, column `{column}`: not valid UTF-8")
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
    fn read(reader: &mut csv::Reader<Box<dyn Read>>, policy: &Policy, policy_version: u32) -> anyhow::Result<Layout> {
        let mut header = csv::ByteRecord::new();
        if !read_record(reader, &mut header)? {
            bail!("the file is empty; the first line must be the header (see docs/import-format.md)");
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
                bail!("line 1, column {}: `{name}` appears twice", i + 1);
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
                bail!(
                    "line 1, column {}: `{name}` is neither a provenance column nor a category of the active policy (version {policy_version})",
                    i + 1
                );
            }
        }
        for (name, f, required) in FIXED {
            if required && !fixed.values().any(|x| *x == f) {
                bail!("line 1: the required column `{name}` is missing");
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

    fn parse_row(&self, record: &csv::ByteRecord, previous: Option<&str>) -> anyhow::Result<ParsedRow> {
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
                        bail!("line {line}, column `{name}`: a binary category takes `base64:` followed by the data");
                    };
                    base64::engine::general_purpose::STANDARD
                        .decode(encoded.trim())
                        .map_err(|_| anyhow::anyhow!("line {line}, column `{name}`: not valid base64"))?
                } else {
                    utf8_field(raw, line, name)?;
                    raw.to_vec()
                };
                values.push((c, zeroize::Zeroizing::new(plaintext)));
            }
        }
        let at = |f: Fixed| fields.get(&f).copied();
        let col = |f: Fixed| FIXED.iter().find(|(_, x, _)| *x == f).map_or("", |(n, _, _)| *n);
        let need = |f: Fixed| at(f).ok_or_else(|| anyhow::anyhow!("line {line}, column `{}`: required", col(f)));

        let subscriber = need(Fixed::Subscriber)?.to_string();
        if subscriber.len() > 64 || !subscriber.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            bail!("line {line}, column `subscriber`: an id is 1–64 letters, digits, `-`, `_` or `.`");
        }
        let continuation = previous == Some(subscriber.as_str());
        let head = if continuation {
            for f in [Fixed::Service, Fixed::State, Fixed::StartedOn, Fixed::SuspendedOn, Fixed::TerminatedOn] {
                if at(f).is_some() {
                    bail!(
                        "line {line}, column `{}`: leave contract columns empty on a further row of the same subscriber",
                        col(f)
                    );
                }
            }
            None
        } else {
            let service = need(Fixed::Service)?;
            if !self.services.iter().any(|s| s == service) {
                bail!("line {line}, column `service`: `{service}` is not a service of the active policy");
            }
            let state_text = need(Fixed::State)?;
            let state = ContractState::from_id(state_text).ok_or_else(|| {
                anyhow::anyhow!(
                    "line {line}, column `state`: `{state_text}` is not one of active, suspended, terminated"
                )
            })?;
            let parse_date = |f: Fixed| -> anyhow::Result<Option<Date>> {
                at(f)
                    .map(|t| t.parse::<Date>().map_err(|e| anyhow::anyhow!("line {line}, column `{}`: {e}", col(f))))
                    .transpose()
            };
            let started_on = parse_date(Fixed::StartedOn)?
                .ok_or_else(|| anyhow::anyhow!("line {line}, column `started_on`: required"))?;
            let suspended_on = parse_date(Fixed::SuspendedOn)?;
            let terminated_on = parse_date(Fixed::TerminatedOn)?;
            if (state == ContractState::Terminated) != terminated_on.is_some() {
                bail!("line {line}, column `terminated_on`: required exactly when the state is terminated");
            }
            if state == ContractState::Suspended && suspended_on.is_none() {
                bail!("line {line}, column `suspended_on`: required when the state is suspended");
            }
            if terminated_on.is_some_and(|t| t < started_on) {
                bail!("line {line}, column `terminated_on`: before `started_on`");
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
                    bail!(
                        "line {line}, column `{}`: the policy does not collect this category for service `{}`",
                        category.id,
                        head.service
                    );
                }
            }
        }

        let method_text = need(Fixed::Method)?;
        let method = AcquisitionMethod::ALL.into_iter().find(|m| m.id() == method_text).ok_or_else(|| {
            anyhow::anyhow!("line {line}, column `method`: `{method_text}` is not an acquisition method")
        })?;
        if !self.methods.contains(&method) {
            bail!("line {line}, column `method`: the policy does not list `{method_text}` as an acquisition method");
        }
        let source = match at(Fixed::Source).unwrap_or("direct") {
            "direct" => Source::Direct,
            "indirect" => {
                if !self.indirect_allowed {
                    bail!("line {line}, column `source`: the policy does not say information is acquired indirectly");
                }
                Source::Indirect(IndirectSource {
                    provider_name: need(Fixed::ProviderName)?.to_string(),
                    provider_address: need(Fixed::ProviderAddress)?.to_string(),
                    provider_representative: need(Fixed::ProviderRepresentative)?.to_string(),
                    provider_obtained_by: need(Fixed::ProviderObtainedBy)?.to_string(),
                })
            }
            other => bail!("line {line}, column `source`: `{other}` is not `direct` or `indirect`"),
        };
        let collected_at = parse_timestamp(need(Fixed::CollectedAt)?)
            .ok_or_else(|| anyhow::anyhow!("line {line}, column `collected_at`: expected RFC 3339 or YYYY-MM-DD"))?;
        let notice_version = match at(Fixed::NoticeVersion) {
            None => self.policy_version,
            Some(t) => match t.parse::<u32>() {
                Ok(n) if (1..=self.policy_version).contains(&n) => n,
                _ => bail!(
                    "line {line}, column `notice_version`: `{t}` is not a published policy version (1–{})",
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

/// RFC 3339, or a plain date / civil datetime in Asia/Tokyo.
fn parse_timestamp(text: &str) -> Option<Timestamp> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    let zone = jiff::tz::TimeZone::get("Asia/Tokyo").ok()?;
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return dt.to_zoned(zone).ok().map(|z| z.timestamp());
    }
    text.parse::<jiff::civil::Date>().ok()?.to_zoned(zone).ok().map(|z| z.timestamp())
}

#[derive(Debug, Serialize)]
struct SubscriberRow {
    id: String,
    service: String,
    state: ContractState,
    started_on: String,
    suspended_on: Option<String>,
    terminated_on: Option<String>,
    erased_at: Option<String>,
}

fn list(store: &dyn Store, after: Option<&str>, limit: usize) -> anyhow::Result<Report> {
    let subscribers = store.subscribers(after, limit)?;
    let total = store.subscriber_count()?;
    let mut human = format!("{} of {total} subscribers\n", subscribers.len());
    let rows: Vec<SubscriberRow> = subscribers
        .into_iter()
        .map(|s| SubscriberRow {
            id: s.id,
            service: s.service,
            state: s.contract.state,
            started_on: s.contract.started_on.to_string(),
            suspended_on: s.contract.suspended_on.map(|d| d.to_string()),
            terminated_on: s.contract.terminated_on.map(|d| d.to_string()),
            erased_at: s.erased_at.map(|t| t.to_string()),
        })
        .collect();
    for r in &rows {
        human.push_str(&format!(
            "  {:<14} {:<10} {:<10} since {}{}{}\n",
            r.id,
            r.service,
            r.state.id(),
            r.started_on,
            r.terminated_on.as_ref().map(|d| format!(", ended {d}")).unwrap_or_default(),
            if r.erased_at.is_some() { ", erased" } else { "" }
        ));
    }
    Ok(Report::new(human, rows))
}

#[derive(Debug, Serialize)]
struct VerifyFailure {
    id: String,
    subscriber: String,
    category: String,
    version: u32,
    reason: String,
}

fn verify(store: &dyn Store, keyring: &Keyring, only: Option<&str>) -> anyhow::Result<Report> {
    let mut failures = Vec::new();
    let (mut subscribers, mut readable, mut erased_values, mut erased) = (0u64, 0u64, 0u64, 0u64);
    let mut check = |id: &str| -> anyhow::Result<()> {
        subscribers += 1;
        let opened = match keyring::open_values(store, keyring, id, true) {
            Ok(o) => o,
            Err(e) => {
                failures.push(VerifyFailure {
                    id: format!("{id}/*"),
                    subscriber: id.to_string(),
                    category: "*".into(),
                    version: 0,
                    reason: format!("{e:#}"),
                });
                return Ok(());
            }
        };
        readable += opened.values.len() as u64;
        if opened.erased {
            erased += 1;
            erased_values += opened.unreadable.len() as u64;
            return Ok(());
        }
        for u in opened.unreadable {
            failures.push(VerifyFailure {
                id: format!("{id}/{}/{}", u.category, u.version),
                subscriber: id.to_string(),
                category: u.category,
                version: u.version,
                reason: u.reason,
            });
        }
        Ok(())
    };
    match only {
        Some(id) => {
            if store.subscriber(id)?.is_none() {
                bail!("subscriber `{id}` not found");
            }
            check(id)?;
        }
        None => {
            let mut after: Option<String> = None;
            loop {
                let page = store.subscribers(after.as_deref(), 1000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.id.clone());
                for s in &page {
                    check(&s.id)?;
                }
            }
        }
    }
    let mut human = format!(
        "checked {subscribers} subscribers: {readable} values decrypt and authenticate; {erased} erased subscribers ({erased_values} values unrecoverable by design)\n"
    );
    for f in &failures {
        human.push_str(&format!("FAILED {} version {} of `{}`: {}\n", f.category, f.version, f.subscriber, f.reason));
    }
    let ok = failures.is_empty();
    Ok(Report::new(
        human,
        serde_json::json!({
            "ok": ok, "subscribers": subscribers, "readable": readable, "erased_subscribers": erased,
            "erased_values": erased_values, "failures": failures,
        }),
    )
    .passed_if(ok))
}

fn find(store: &dyn Store, keyring: &Keyring, category: &str, value: &str) -> anyhow::Result<Report> {
    let (_, policy) = active_policy(store)?;
    match policy.category(category) {
        Some(c) if c.searchable => {}
        Some(_) => bail!("category `{category}` is not searchable in the active policy"),
        None => bail!("category `{category}` is not in the active policy"),
    }
    let Some(token) = keyring.blind().token(category, value) else {
        bail!("nothing to search for once spaces and hyphens are removed");
    };
    let ids = store.find_by_blind_index(category, &token.0)?;
    let mut human = format!("{} subscribers match\n", ids.len());
    for id in &ids {
        human.push_str(&format!("  {id}\n"));
    }
    let rows: Vec<_> = ids.iter().map(|id| serde_json::json!({ "id": id })).collect();
    Ok(Report::new(human, rows))
}

fn erase(data: &crate::data_dir::DataDir, store: &dyn Store, id: &str) -> anyhow::Result<Report> {
    let Some(subscriber) = store.subscriber(id)? else {
        bail!("subscriber `{id}` not found");
    };
    if subscriber.erased_at.is_some() {
        bail!("subscriber `{id}` was already erased");
    }
    let at = Timestamp::now();
    let audit = crate::audit_log::AuditLog::open(data)?;
    store.erase_subscriber(id, at)?;
    // The ledger keeps the subscriber's id only; it still verifies after the key is gone.
    audit.append_admin(
        tokutei_ledger::Actor::System("cli".to_string()),
        tokutei_ledger::AdminAction::SubscriberErased,
        &format!("subscriber/{id}"),
        None,
        Vec::new(),
    )?;
    Ok(Report::new(
        format!("erased subscriber `{id}`: its data key is destroyed and its values can no longer be decrypted\n"),
        serde_json::json!({ "id": id, "erased_at": at.to_string() }),
    ))
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

    #[test]
    fn timestamps_accept_rfc3339_and_tokyo_dates() {
        let check = |input: &str, expected: Option<&str>| {
            assert_eq!(parse_timestamp(input).map(|t| t.to_string()), expected.map(str::to_string), "{input}");
        };
        check("2026-04-01T09:00:00Z", Some("2026-04-01T09:00:00Z"));
        check("2026-04-01T09:00:00+09:00", Some("2026-04-01T00:00:00Z"));
        check("2026-04-01", Some("2026-03-31T15:00:00Z"));
        check("2026-04-01 09:00", Some("2026-04-01T00:00:00Z"));
        check("yesterday", None);
    }
}
