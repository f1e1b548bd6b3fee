//! A witness (`tokutei witness serve`): configured with the logs it watches (their origins and
//! checkpoint keys), it answers C2SP `add-checkpoint` requests — checks the log's signature
//! and the consistency proof from the size it last cosigned (`tokutei_ledger::witness::check`),
//! stores the new state durably, and only then returns its timestamped cosignature.
//!
//! Checking and storing are one step under a lock, so two requests can never both pass the
//! check against the same old state (the protocol's rollback race). The state is the
//! caller's ([`WitnessState`]: the binary keeps a file per log, written atomically).

use std::sync::Mutex;

use jiff::Timestamp;
use tokutei_ledger::witness::{AddCheckpoint, Refusal, Witnessed, check};
use tokutei_ledger::{CheckpointVerifier, WitnessSigner, WitnessVerifier};

/// Where a witness keeps what it last cosigned for each log.
pub trait WitnessState: Send + Sync {
    /// The latest cosigned state of the log `origin`, `None` before the first.
    fn load(&self, origin: &str) -> Result<Option<Witnessed>, String>;
    /// Keep `witnessed` (and the checkpoint `note` it comes from) as the latest for `origin`,
    /// durably, before the cosignature is returned.
    fn store(&self, origin: &str, witnessed: &Witnessed, note: &str) -> Result<(), String>;
}

/// Why a request was not cosigned.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The protocol's refusals, with their status codes.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The state could not be read or written: nothing was cosigned.
    #[error("the witness state could not be kept: {0}")]
    State(String),
}

/// A witness service.
pub struct Witness {
    signer: WitnessSigner,
    logs: Vec<CheckpointVerifier>,
    state: Box<dyn WitnessState>,
    lock: Mutex<()>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness").field("name", &self.signer.name()).finish_non_exhaustive()
    }
}

impl Witness {
    pub fn new(signer: WitnessSigner, logs: Vec<CheckpointVerifier>, state: Box<dyn WitnessState>) -> Witness {
        Witness { signer, logs, state, lock: Mutex::new(()) }
    }

    /// The witness's public key (what logs and their readers configure).
    pub fn verifier(&self) -> WitnessVerifier {
        self.signer.verifier()
    }

    /// The origins of the logs it watches.
    pub fn origins(&self) -> Vec<&str> {
        self.logs.iter().map(|l| l.name()).collect()
    }

    /// Answer an `add-checkpoint` request body at `now`: the cosignature line, once the new
    /// state is stored; a refusal otherwise (nothing stored).
    pub fn cosign(&self, body: &str, now: Timestamp) -> Result<String, WitnessError> {
        let request = AddCheckpoint::parse(body)?;
        let _turn = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut failed = None;
        let outcome = check(
            &self.logs,
            |origin| match self.state.load(origin) {
                Ok(state) => state,
                Err(e) => {
                    failed = Some(e);
                    None
                }
            },
            &request,
        );
        if let Some(e) = failed {
            return Err(WitnessError::State(e));
        }
        let (checkpoint, text) = outcome?;
        let witnessed = Witnessed { size: checkpoint.size, root: checkpoint.root };
        self.state.store(&checkpoint.origin, &witnessed, &request.checkpoint).map_err(WitnessError::State)?;
        let time = u64::try_from(now.as_second()).unwrap_or(0);
        Ok(self.signer.cosign(text, time))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use tokutei_ledger::tree::{MemoryTree, prove_consistency, tree_head};
    use tokutei_ledger::{Checkpoint, CheckpointSigner, leaf_hash};

    #[derive(Default, Clone)]
    struct Memory(Arc<Mutex<HashMap<String, Witnessed>>>);

    impl WitnessState for Memory {
        fn load(&self, origin: &str) -> Result<Option<Witnessed>, String> {
            Ok(self.0.lock().unwrap().get(origin).cloned())
        }
        fn store(&self, origin: &str, witnessed: &Witnessed, _: &str) -> Result<(), String> {
            self.0.lock().unwrap().insert(origin.to_string(), witnessed.clone());
            Ok(())
        }
    }

    #[test]
    fn a_cosignature_is_given_only_after_the_state_is_stored() {
        let log = CheckpointSigner::from_seed("example.com/log", [3; 32]).unwrap();
        let memory = Memory::default();
        let witness = Witness::new(
            WitnessSigner::from_seed("w1", [1; 32]).unwrap(),
            vec![log.verifier()],
            Box::new(memory.clone()),
        );
        let mut tree = MemoryTree::new();
        for i in 0..6u8 {
            tree.push(leaf_hash(&[i]));
        }
        let note = |size| log.sign(&Checkpoint::new("example.com/log", tree_head(&tree, size).unwrap(), None));
        let first = AddCheckpoint { old: 0, proof: vec![], checkpoint: note(3) };
        let line = witness.cosign(&first.encode(), Timestamp::from_second(1_800_000_000).unwrap()).unwrap();
        assert_eq!(witness.verifier().cosigned_at(&format!("{}{line}", note(3))), Ok(1_800_000_000));
        assert_eq!(memory.load("example.com/log").unwrap().unwrap().size, 3);
        let again = witness.cosign(&first.encode(), Timestamp::UNIX_EPOCH).unwrap_err();
        assert!(matches!(again, WitnessError::Refused(Refusal::Conflict { size: 3, .. })), "{again:?}");
        let grow = AddCheckpoint { old: 3, proof: prove_consistency(&tree, 3, 6).unwrap(), checkpoint: note(6) };
        witness.cosign(&grow.encode(), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(memory.load("example.com/log").unwrap().unwrap().size, 6);
    }
}
