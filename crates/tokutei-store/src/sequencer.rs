//! The audit ledger's group commit, once for every backend.
//!
//! Appenders hand their entries to one sequencer thread per open ledger ([`Sequencer`]). The
//! thread takes everything pending (whole jobs, until [`MAX_BATCH`] entries are reached) and,
//! in one write transaction of its backend ([`SequencerBackend`]), takes the writer lock,
//! reads the stored size, gives the jobs contiguous indexes from there (sequence), encodes
//! each entry with its index, hashes its leaf and pushes it onto the tree's right edge (a
//! compact range kept in memory), collecting every interior node the leaf completes
//! (integrate), has the backend write the rows, commits, and only then answers every waiter.
//! One commit (one flush to disk) serves the whole batch.
//!
//! The right edge is trusted only while its size equals the stored size read under the lock;
//! when that size moved (another process or instance appended), the edge is reloaded from the
//! stored frontier nodes first, inside the transaction. It is first loaded inside the first
//! write transaction, so a damaged ledger can still be opened for verification.
//!
//! A job whose entries cannot be encoded takes no index and fails alone; the rest of its
//! batch is written. A batch that fails writes nothing: every job of it gets the error, and
//! the right edge goes back to what it was before the batch.
//!
//! **Retry policy.** When the backend says its connection was lost before the commit was
//! sent (the server restarted, or ended the connection while it was idle), nothing of the
//! batch was written: the batch runs once more, on the connection the backend opens again.
//! The retry takes its indexes from the stored size it reads under the lock, never from
//! memory, and if that size moved past the failed attempt's rows and those rows are stored
//! as the attempt made them (a backend that misjudged when its connection went), the batch
//! is answered as written instead of being written twice. A connection lost during the
//! commit leaves the outcome unknown: the batch is reported as failed, never retried.

use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use tokutei_ledger::tree::CompactRange;
use tokutei_ledger::{Entry, Hash, NodeId, leaf_hash};

use crate::ledger::Appended;
use crate::{StoreError, StoreResult};

/// The most entries one group commit takes (the last job may take it past this).
pub const MAX_BATCH: usize = 16_384;

/// What a backend supplies to the sequencer: only what is native to it.
pub trait SequencerBackend: Send + 'static {
    /// The backend's own error, told apart by [`SequencerBackend::connection_lost`].
    type Error: Into<StoreError>;
    /// An open write transaction holding the writer lock; rolled back when dropped.
    type Tx<'a>: SequencerTx<Error = Self::Error>
    where
        Self: 'a;

    /// Take the writer lock and begin the batch's transaction, connecting again first if the
    /// connection was dropped. `entries` are the batch's entries, for what a backend prepares
    /// outside the transaction (PostgreSQL: the partitions of their months).
    fn begin(&mut self, entries: &[&Entry]) -> Result<Self::Tx<'_>, Self::Error>;

    /// Whether `error` means the connection was lost, so the statement it came from did not
    /// run.
    fn connection_lost(error: &Self::Error) -> bool;

    /// Called after a batch failed, before the next one: forget what may be stale (the
    /// connection, when `connection_lost`).
    fn reset(&mut self, connection_lost: bool) {
        let _ = connection_lost;
    }
}

/// The write transaction of one group commit.
pub trait SequencerTx {
    type Error;

    /// The number of stored entries, read under the writer lock.
    fn stored_size(&mut self) -> Result<u64, Self::Error>;

    /// The stored hashes of `ids` in their order (level 0: the entries' leaf hashes); a
    /// missing one is an error.
    fn read_nodes(&mut self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;

    /// Write the batch's entries (with their subscriber rows) and interior nodes.
    fn write(&mut self, rows: &Rows<'_>) -> Result<(), Self::Error>;

    /// Commit durably.
    fn commit(self) -> Result<(), Self::Error>;
}

/// An entry of a group commit, ready to store.
#[derive(Debug)]
pub struct NewEntry<'a> {
    pub index: u64,
    pub entry: &'a Entry,
    /// The canonical encoding at `index`.
    pub encoded: Vec<u8>,
    pub leaf_hash: Hash,
}

/// Everything one group commit writes, in index order.
#[derive(Debug, Default)]
pub struct Rows<'a> {
    pub entries: Vec<NewEntry<'a>>,
    /// The interior nodes (level 1 and up) the entries complete.
    pub nodes: Vec<(NodeId, Hash)>,
}

type JobResult = StoreResult<Vec<Appended>>;

struct Job {
    entries: Vec<Entry>,
    reply: SyncSender<JobResult>,
}

/// The sequencer thread of one open ledger and the way to it; stopped (after the pending
/// batches) on drop.
#[derive(Debug)]
pub struct Sequencer {
    jobs: Mutex<Option<Sender<Job>>>,
    thread: Option<JoinHandle<()>>,
}

impl Sequencer {
    /// Start the sequencer thread on `backend` (whose connection the caller opened, so that
    /// a failure to connect is an error of opening the ledger).
    pub fn start<B: SequencerBackend>(backend: B) -> StoreResult<Sequencer> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ledger-sequencer".into())
            .spawn(move || run(backend, rx))
            .map_err(StoreError::backend)?;
        Ok(Sequencer { jobs: Mutex::new(Some(tx)), thread: Some(thread) })
    }

    /// Append `entries` contiguously; returns once they are committed.
    pub fn append(&self, entries: &[Entry]) -> StoreResult<Vec<Appended>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job { entries: entries.to_vec(), reply };
        {
            let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
            let sender = jobs.as_ref().ok_or_else(|| StoreError::Conflict("the audit ledger is closed".into()))?;
            sender.send(job).map_err(|_| stopped())?;
        }
        answer.recv().map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Conflict("the audit ledger sequencer stopped".into())
}

impl Drop for Sequencer {
    fn drop(&mut self) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run<B: SequencerBackend>(mut backend: B, jobs: Receiver<Job>) {
    let mut range: Option<CompactRange> = None;
    while let Ok(first) = jobs.recv() {
        let mut count = first.entries.len();
        let mut batch = vec![first];
        while count < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => {
                    count += job.entries.len();
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        match group_commit(&mut backend, &mut range, &batch) {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(error) => {
                let message = error.to_string();
                for job in batch {
                    let _ = job.reply.send(Err(StoreError::backend(std::io::Error::other(message.clone()))));
                }
            }
        }
    }
}

/// One group commit with the retry policy: each job's result, or why nothing was written
/// (`range` is then as it was).
fn group_commit<B: SequencerBackend>(
    backend: &mut B,
    range: &mut Option<CompactRange>,
    batch: &[Job],
) -> StoreResult<Vec<JobResult>> {
    let entries: Vec<&Entry> = batch.iter().flat_map(|job| &job.entries).collect();
    let before = range.clone();
    let mut outcome = attempt(backend, range, batch, &entries, None);
    if let Err(failure) = &mut outcome
        && failure.retry
    {
        *range = before.clone();
        backend.reset(true);
        let earlier = failure.attempted.take();
        outcome = attempt(backend, range, batch, &entries, earlier);
    }
    outcome.map_err(|failure| {
        *range = before;
        backend.reset(failure.lost);
        failure.error
    })
}

/// Why an attempt wrote nothing (or, for a failed commit, may have).
struct Failure {
    error: StoreError,
    /// The connection was lost.
    lost: bool,
    /// The connection was lost before the commit was sent: the batch may run again.
    retry: bool,
    /// What the attempt gave out, when it failed after handing its rows to the backend.
    attempted: Option<Attempted>,
}

impl Failure {
    fn of<B: SequencerBackend>(error: B::Error, before_commit: bool) -> Failure {
        let lost = B::connection_lost(&error);
        Failure { error: error.into(), lost, retry: lost && before_commit, attempted: None }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        Failure { error, lost: false, retry: false, attempted: None }
    }
}

/// The rows a failed attempt handed to the backend: their first index, their leaf hashes and
/// the results they would have answered.
struct Attempted {
    first: u64,
    leaves: Vec<Hash>,
    results: Vec<JobResult>,
}

fn attempt<B: SequencerBackend>(
    backend: &mut B,
    range: &mut Option<CompactRange>,
    batch: &[Job],
    entries: &[&Entry],
    earlier: Option<Attempted>,
) -> Result<Vec<JobResult>, Failure> {
    let before_commit = |e| Failure::of::<B>(e, true);
    let mut tx = backend.begin(entries).map_err(before_commit)?;
    let stored = tx.stored_size().map_err(before_commit)?;
    if let Some(earlier) = earlier
        && !earlier.leaves.is_empty()
        && stored >= earlier.first + earlier.leaves.len() as u64
    {
        let ids: Vec<NodeId> = (earlier.first..).take(earlier.leaves.len()).map(|i| NodeId::new(0, i)).collect();
        if tx.read_nodes(&ids).map_err(before_commit)? == earlier.leaves {
            // Stored after all: answered as written. The edge in memory is the one from before
            // the batch, and the next batch reloads it from the moved size.
            return Ok(earlier.results);
        }
    }
    let range = match range {
        Some(r) if r.size() == stored => r,
        slot => {
            let hashes = tx.read_nodes(&CompactRange::frontier_ids(stored)).map_err(before_commit)?;
            let loaded = CompactRange::from_frontier(stored, hashes)
                .map_err(|e| StoreError::Corrupt(format!("ledger tree: {e}")))?;
            slot.insert(loaded)
        }
    };

    let mut rows = Rows::default();
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        // Encode the whole job first: a job that cannot be encoded takes no index.
        let encoded: Result<Vec<Vec<u8>>, _> =
            job.entries.iter().zip(range.size()..).map(|(entry, index)| entry.encode(index)).collect();
        let encoded = match encoded {
            Ok(encoded) => encoded,
            Err(e) => {
                results.push(Err(StoreError::Conflict(format!("audit entry cannot be encoded: {e}"))));
                continue;
            }
        };
        let mut appended = Vec::with_capacity(encoded.len());
        for (entry, encoded) in job.entries.iter().zip(encoded) {
            let index = range.size();
            let leaf_hash = leaf_hash(&encoded);
            range.push(leaf_hash, |id, hash| {
                if id.level > 0 {
                    rows.nodes.push((id, *hash));
                }
            });
            rows.entries.push(NewEntry { index, entry, encoded, leaf_hash });
            appended.push(Appended { index, leaf_hash });
        }
        results.push(Ok(appended));
    }

    if let Err(e) = tx.write(&rows) {
        let mut failure = Failure::of::<B>(e, true);
        let leaves = rows.entries.iter().map(|e| e.leaf_hash).collect();
        failure.attempted = Some(Attempted { first: stored, leaves, results });
        return Err(failure);
    }
    tx.commit().map_err(|e| Failure::of::<B>(e, false))?;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, VecDeque};
    use std::sync::{Arc, Mutex, MutexGuard};

    use tokutei_ledger::entry::{AccessEvent, Action, Actor, RequestMeta};
    use tokutei_ledger::tree::MemoryTree;
    use tokutei_ledger::{Decision, Entry, Hash, NodeId};

    use super::*;

    /// A ledger in memory: what a database would hold.
    #[derive(Default)]
    struct Stored {
        entries: Vec<(Vec<u8>, Hash)>,
        nodes: BTreeMap<NodeId, Hash>,
    }

    /// Where a fault strikes.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Step {
        Begin,
        Write,
        Commit,
    }

    #[derive(Clone, Copy, Debug)]
    struct Fault {
        step: Step,
        lost: bool,
        /// The rows are stored all the same (a commit that went through before the
        /// connection broke, or a backend that misjudged the moment).
        stored_anyway: bool,
        /// Entries another instance appends right after the fault.
        others: u64,
    }

    const fn lost_at(step: Step) -> Fault {
        Fault { step, lost: true, stored_anyway: false, others: 0 }
    }

    /// Another instance appends `n` entries (with their interior nodes).
    fn append_elsewhere(stored: &mut Stored, n: u64) {
        let mut range = CompactRange::new();
        for (_, leaf) in &stored.entries {
            range.push(*leaf, |_, _| {});
        }
        for _ in 0..n {
            let index = range.size();
            let encoded = access(1_000 + index).encode(index).unwrap();
            let leaf = leaf_hash(&encoded);
            range.push(leaf, |id, hash| {
                if id.level > 0 {
                    stored.nodes.insert(id, *hash);
                }
            });
            stored.entries.push((encoded, leaf));
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("fake backend failed (connection lost: {lost})")]
    struct FakeError {
        lost: bool,
    }

    impl From<FakeError> for StoreError {
        fn from(e: FakeError) -> StoreError {
            StoreError::backend(e)
        }
    }

    /// A backend over a shared [`Stored`] (several fakes on one are several instances), its
    /// writer lock the mutex, failing as `faults` say, one fault per step reached.
    struct Fake {
        shared: Arc<Mutex<Stored>>,
        faults: VecDeque<Fault>,
        begun: usize,
        resets: Vec<bool>,
    }

    impl Fake {
        fn new(shared: &Arc<Mutex<Stored>>, faults: &[Fault]) -> Fake {
            Fake { shared: Arc::clone(shared), faults: faults.iter().copied().collect(), begun: 0, resets: Vec::new() }
        }
    }

    /// Rows written but not committed: entries (bytes, leaf) and nodes.
    type Staged = (Vec<(Vec<u8>, Hash)>, Vec<(NodeId, Hash)>);

    struct FakeTx<'a> {
        stored: MutexGuard<'a, Stored>,
        faults: &'a mut VecDeque<Fault>,
        staged: Option<Staged>,
    }

    impl FakeTx<'_> {
        fn fault(&mut self, step: Step) -> Result<(), FakeError> {
            match self.faults.front() {
                Some(f) if f.step == step => {
                    let f = self.faults.pop_front().unwrap();
                    if f.stored_anyway {
                        self.apply();
                    }
                    append_elsewhere(&mut self.stored, f.others);
                    Err(FakeError { lost: f.lost })
                }
                _ => Ok(()),
            }
        }

        fn apply(&mut self) {
            if let Some((entries, nodes)) = self.staged.take() {
                self.stored.entries.extend(entries);
                self.stored.nodes.extend(nodes);
            }
        }
    }

    impl SequencerBackend for Fake {
        type Error = FakeError;
        type Tx<'a> = FakeTx<'a>;

        fn begin(&mut self, _entries: &[&Entry]) -> Result<FakeTx<'_>, FakeError> {
            self.begun += 1;
            let stored = self.shared.lock().unwrap();
            let mut tx = FakeTx { stored, faults: &mut self.faults, staged: None };
            tx.fault(Step::Begin)?;
            Ok(tx)
        }

        fn connection_lost(error: &FakeError) -> bool {
            error.lost
        }

        fn reset(&mut self, connection_lost: bool) {
            self.resets.push(connection_lost);
        }
    }

    impl SequencerTx for FakeTx<'_> {
        type Error = FakeError;

        fn stored_size(&mut self) -> Result<u64, FakeError> {
            Ok(self.stored.entries.len() as u64)
        }

        fn read_nodes(&mut self, ids: &[NodeId]) -> Result<Vec<Hash>, FakeError> {
            Ok(ids
                .iter()
                .map(|id| if id.level == 0 { self.stored.entries[id.index as usize].1 } else { self.stored.nodes[id] })
                .collect())
        }

        fn write(&mut self, rows: &Rows<'_>) -> Result<(), FakeError> {
            let next = self.stored.entries.len() as u64;
            assert!(rows.entries.iter().map(|e| e.index).eq(next..next + rows.entries.len() as u64));
            self.staged =
                Some((rows.entries.iter().map(|e| (e.encoded.clone(), e.leaf_hash)).collect(), rows.nodes.clone()));
            self.fault(Step::Write)
        }

        fn commit(mut self) -> Result<(), FakeError> {
            self.fault(Step::Commit)?;
            self.apply();
            Ok(())
        }
    }

    fn entry(n: u64, purpose_len: usize) -> Entry {
        Entry::access(
            jiff::Timestamp::from_second(1_750_000_000 + n as i64).unwrap(),
            Actor::Staff(format!("s{n}")),
            AccessEvent {
                action: Action::Read,
                purpose: "p".repeat(purpose_len),
                subscribers: vec![format!("sub{n}")],
                categories: vec!["contract".into()],
                decision: Decision::Allow,
                reasons: vec![],
                rules: vec![],
                policy_digest: [1; 32],
                request: RequestMeta { channel: "web".into(), zone: "z1".into(), client: "c1".into() },
            },
        )
    }

    fn access(n: u64) -> Entry {
        entry(n, 8)
    }

    /// Too long a purpose for the canonical encoding.
    fn unencodable() -> Entry {
        entry(0, 70_000)
    }

    fn job(entries: Vec<Entry>) -> Job {
        Job { entries, reply: mpsc::sync_channel(1).0 }
    }

    fn indexes(results: &[JobResult]) -> Vec<Option<Vec<u64>>> {
        results.iter().map(|r| r.as_ref().ok().map(|a| a.iter().map(|a| a.index).collect())).collect()
    }

    /// Every stored entry decodes at its index, and the stored nodes are the reference tree's.
    fn check(shared: &Arc<Mutex<Stored>>) -> u64 {
        let stored = shared.lock().unwrap();
        let mut reference = MemoryTree::new();
        let mut range = CompactRange::new();
        let mut nodes = BTreeMap::new();
        for (index, (encoded, leaf)) in stored.entries.iter().enumerate() {
            assert_eq!(Entry::decode(encoded).unwrap().0, index as u64);
            assert_eq!(*leaf, leaf_hash(encoded));
            reference.push(*leaf);
            range.push(*leaf, |id, hash| {
                if id.level > 0 {
                    nodes.insert(id, *hash);
                }
            });
        }
        assert_eq!(stored.nodes, nodes, "every interior node stored once");
        assert_eq!(range.root(), reference.head().root);
        stored.entries.len() as u64
    }

    const LOST_AT_WRITE: Fault = lost_at(Step::Write);

    #[test]
    fn a_job_that_cannot_be_encoded_fails_alone_and_takes_no_index() {
        let shared = Arc::default();
        let mut fake = Fake::new(&shared, &[]);
        let mut range = None;
        let batch = [job(vec![access(0), access(1)]), job(vec![access(2), unencodable()]), job(vec![access(3)])];
        let results = group_commit(&mut fake, &mut range, &batch).unwrap();
        assert_eq!(indexes(&results), [Some(vec![0, 1]), None, Some(vec![2])]);
        assert!(matches!(&results[1], Err(StoreError::Conflict(m)) if m.contains("cannot be encoded")));
        assert_eq!(check(&shared), 3);
    }

    #[test]
    fn a_batch_whose_connection_was_lost_before_commit_is_written_once_on_the_retry() {
        for step in [Step::Begin, Step::Write] {
            let shared = Arc::default();
            let mut fake = Fake::new(&shared, &[]);
            let mut range = None;
            group_commit(&mut fake, &mut range, &[job(vec![access(0)])]).unwrap();
            let batch = [job(vec![access(1), access(2)]), job(vec![access(3)])];
            fake.faults.push_back(lost_at(step));
            let results = group_commit(&mut fake, &mut range, &batch).unwrap();
            assert_eq!(indexes(&results), [Some(vec![1, 2]), Some(vec![3])], "{step:?}");
            assert_eq!(fake.begun, 3, "{step:?}: one retry");
            assert_eq!(fake.resets, [true], "{step:?}: the lost connection is dropped");
            assert_eq!(check(&shared), 4, "{step:?}");
        }
    }

    #[test]
    fn a_connection_lost_twice_fails_the_batch_and_writes_nothing() {
        let shared = Arc::default();
        let mut fake = Fake::new(&shared, &[LOST_AT_WRITE, LOST_AT_WRITE]);
        let mut range = None;
        let failed = group_commit(&mut fake, &mut range, &[job(vec![access(0)])]);
        assert!(matches!(failed, Err(StoreError::Backend(_))));
        assert_eq!((fake.begun, check(&shared)), (2, 0));
        assert_eq!(range, None, "the edge is as it was");
        let results = group_commit(&mut fake, &mut range, &[job(vec![access(1)])]).unwrap();
        assert_eq!(indexes(&results), [Some(vec![0])]);
        assert_eq!(check(&shared), 1);
    }

    #[test]
    fn an_error_that_is_not_a_lost_connection_is_not_retried() {
        let shared = Arc::default();
        let mut fake = Fake::new(&shared, &[Fault { lost: false, ..LOST_AT_WRITE }]);
        let mut range = None;
        assert!(group_commit(&mut fake, &mut range, &[job(vec![access(0)])]).is_err());
        assert_eq!((fake.begun, fake.resets.as_slice(), check(&shared)), (1, &[false][..], 0));
    }

    #[test]
    fn a_connection_lost_during_the_commit_is_reported_and_the_next_batch_reloads_the_edge() {
        let shared = Arc::default();
        // The commit went through, but the answer never came: the outcome is unknown.
        let mut fake = Fake::new(&shared, &[]);
        let mut range = None;
        group_commit(&mut fake, &mut range, &[job(vec![access(0)])]).unwrap();
        fake.faults.push_back(Fault { stored_anyway: true, ..lost_at(Step::Commit) });
        assert!(group_commit(&mut fake, &mut range, &[job(vec![access(1), access(2)])]).is_err());
        assert_eq!(fake.begun, 2, "never retried");
        assert_eq!(range.as_ref().map(CompactRange::size), Some(1));
        // The stored size moved past the edge in memory: reloaded, the next indexes follow.
        let results = group_commit(&mut fake, &mut range, &[job(vec![access(3)])]).unwrap();
        assert_eq!(indexes(&results), [Some(vec![3])]);
        assert_eq!(check(&shared), 4);
    }

    #[test]
    fn a_retried_batch_found_stored_is_not_written_twice() {
        let shared = Arc::default();
        // The rows were stored although the backend says the connection went before commit.
        let mut fake = Fake::new(&shared, &[Fault { stored_anyway: true, ..LOST_AT_WRITE }]);
        let mut range = None;
        let batch = [job(vec![access(0), unencodable()]), job(vec![access(1), access(2)])];
        let results = group_commit(&mut fake, &mut range, &batch).unwrap();
        assert_eq!(indexes(&results), [None, Some(vec![0, 1])]);
        assert_eq!(fake.begun, 2);
        assert_eq!(check(&shared), 2, "stored once");
        let results = group_commit(&mut fake, &mut range, &[job(vec![access(3)])]).unwrap();
        assert_eq!(indexes(&results), [Some(vec![2])]);
        assert_eq!(check(&shared), 3);
    }

    #[test]
    fn a_retry_after_another_instance_appended_takes_the_next_indexes() {
        let shared = Arc::default();
        // The connection is lost while writing; before the retry, another instance appends.
        let mut fake = Fake::new(&shared, &[]);
        let mut range = None;
        group_commit(&mut fake, &mut range, &[job(vec![access(0)])]).unwrap();
        fake.faults.push_back(Fault { others: 2, ..LOST_AT_WRITE });
        let results = group_commit(&mut fake, &mut range, &[job(vec![access(1)])]).unwrap();
        assert_eq!(indexes(&results), [Some(vec![3])]);
        assert_eq!(range.as_ref().map(CompactRange::size), Some(4));
        // Between batches too: the stored size moved, the edge is reloaded.
        append_elsewhere(&mut shared.lock().unwrap(), 3);
        let results = group_commit(&mut fake, &mut range, &[job(vec![access(2), access(3)])]).unwrap();
        assert_eq!(indexes(&results), [Some(vec![7, 8])]);
        assert_eq!(check(&shared), 9);
    }

    #[test]
    fn appenders_on_a_thread_are_answered_after_commit() {
        let shared = Arc::default();
        let sequencer = Sequencer::start(Fake::new(&shared, &[LOST_AT_WRITE])).unwrap();
        let appended = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4u64)
                .map(|t| {
                    let sequencer = &sequencer;
                    s.spawn(move || {
                        (0..10).map(|i| sequencer.append(&[access(10 * t + i)]).unwrap()[0]).collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect::<Vec<_>>()
        });
        assert!(sequencer.append(&[]).unwrap().is_empty());
        drop(sequencer);
        let mut got: Vec<u64> = appended.iter().map(|a| a.index).collect();
        got.sort_unstable();
        assert!(got.into_iter().eq(0..40), "contiguous, each index once");
        assert_eq!(check(&shared), 40);
        let stored = shared.lock().unwrap();
        assert!(appended.iter().all(|a| stored.entries[a.index as usize].1 == a.leaf_hash));
    }
}
