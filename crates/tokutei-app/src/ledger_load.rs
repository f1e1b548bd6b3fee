//! A load on the audit ledger, for load and crash tests (`tokutei audit append-load`): many
//! threads append synthetic access entries (ids only, no personal data) as fast as the
//! ledger makes them durable, optionally while checkpoints are signed as `serve` does, and
//! each durable index is reported as soon as it is known — so a test that kills the process
//! can check that every index reported survived.
//!
//! It lives here, not in the binary, because only the application layer appends to a ledger;
//! and not in `tokutei-store` beside the sequencer, because it is a client of the ledger like
//! any action (it goes through [`LedgerStore::append`], the sequencer's public door), not part
//! of how a backend stores entries.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::Serialize;
use tokutei_ledger::entry::{AccessEvent, Action, RequestMeta};
use tokutei_ledger::{Actor, Decision, Entry};
use tokutei_store::StoreError;
use tokutei_store::ledger::LedgerStore;

/// How hard and how long to load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Threads appending at once (at least one).
    pub appenders: usize,
    /// Stop after this long.
    pub duration: Duration,
    /// Stop after this many entries in total.
    pub count: Option<u64>,
    /// Sign a checkpoint this often meanwhile (with the signer given to [`run`]).
    pub checkpoint_every: Option<Duration>,
}

/// What the load did.
#[derive(Debug, Clone, Serialize)]
pub struct LoadSummary {
    pub appenders: usize,
    /// Durable appends.
    pub appended: u64,
    /// Time the appenders ran.
    pub seconds: f64,
    pub appends_per_second: f64,
    pub checkpoints_signed: u64,
}

/// Why a load stopped early.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot append to the audit ledger: {0}")]
    Append(#[from] StoreError),
    #[error("cannot report an appended entry: {0}")]
    Report(#[source] std::io::Error),
    #[error("cannot sign a checkpoint: {0}")]
    Checkpoint(String),
    #[error("a load thread panicked")]
    Panicked,
}

/// A synthetic access entry of appender `thread`, its `n`th: ids, no personal data.
pub fn synthetic_entry(thread: usize, n: u64) -> Entry {
    Entry::access(
        Timestamp::now(),
        Actor::Staff(format!("load-{thread}")),
        AccessEvent {
            action: Action::Read,
            purpose: "billing".into(),
            subscribers: vec![format!("sub-{}", n % 100_000)],
            categories: vec!["contract".into()],
            decision: if n % 10 == 9 { Decision::Deny } else { Decision::Allow },
            reasons: vec![],
            rules: vec!["purpose.billing".into()],
            policy_digest: [0x42; 32],
            request: RequestMeta { channel: "load".into(), zone: "z1".into(), client: format!("t{thread}") },
        },
    )
}

/// Append synthetic entries to `ledger` from `options.appenders` threads until the time or
/// the count is up; `on_appended` hears each index once it is durable; `sign` signs (and
/// remembers) a checkpoint every `options.checkpoint_every`.
pub fn run(
    ledger: &dyn LedgerStore,
    options: &LoadOptions,
    sign: Option<&(dyn Fn() -> Result<(), String> + Sync)>,
    on_appended: &(dyn Fn(u64) -> std::io::Result<()> + Sync),
) -> Result<LoadSummary, LoadError> {
    let appenders = options.appenders.max(1);
    let deadline = Instant::now() + options.duration;
    let total = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let signed = AtomicU64::new(0);
    let started = Instant::now();
    let mut elapsed = Duration::ZERO;
    std::thread::scope(|s| -> Result<(), LoadError> {
        let signer = match (options.checkpoint_every, sign) {
            (Some(every), Some(sign)) => {
                let (stop, signed) = (&stop, &signed);
                Some(s.spawn(move || -> Result<(), LoadError> {
                    let every = every.max(Duration::from_millis(1));
                    let mut next = Instant::now() + every;
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        // Short naps, so the thread ends as soon as the appenders do.
                        std::thread::sleep(every.min(Duration::from_millis(5)));
                        if Instant::now() >= next {
                            sign().map_err(LoadError::Checkpoint)?;
                            signed.fetch_add(1, Ordering::Relaxed);
                            next += every;
                        }
                    }
                    Ok(())
                }))
            }
            _ => None,
        };
        let handles: Vec<_> = (0..appenders)
            .map(|t| {
                let (total, done, stop) = (&total, &done, &stop);
                s.spawn(move || -> Result<(), LoadError> {
                    let mut n = 0u64;
                    let mut append = || -> Result<(), LoadError> {
                        let appended = ledger.append(&synthetic_entry(t, n))?;
                        done.fetch_add(1, Ordering::Relaxed);
                        on_appended(appended.index).map_err(LoadError::Report)?;
                        n += 1;
                        Ok(())
                    };
                    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                        let reserved = total.fetch_add(1, Ordering::Relaxed);
                        if options.count.is_some_and(|c| reserved >= c) {
                            stop.store(true, Ordering::Relaxed);
                            break;
                        }
                        if let Err(e) = append() {
                            // The others stop too: the load has failed.
                            stop.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        let mut outcome = Ok(());
        for h in handles {
            let result = h.join().map_err(|_| LoadError::Panicked).and_then(|r| r);
            if outcome.is_ok() {
                outcome = result;
            }
        }
        elapsed = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        if let Some(h) = signer {
            let result = h.join().map_err(|_| LoadError::Panicked).and_then(|r| r);
            if outcome.is_ok() {
                outcome = result;
            }
        }
        outcome
    })?;
    let seconds = elapsed.as_secs_f64();
    let appended = done.load(Ordering::Relaxed);
    Ok(LoadSummary {
        appenders,
        appended,
        seconds,
        appends_per_second: if seconds > 0.0 { appended as f64 / seconds } else { 0.0 },
        checkpoints_signed: signed.load(Ordering::Relaxed),
    })
}
