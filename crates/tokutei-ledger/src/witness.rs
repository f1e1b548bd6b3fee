//! The C2SP `tlog-witness` protocol's `add-checkpoint`, as pure functions: the request body
//! (old size line, consistency proof lines, blank line, signed checkpoint), what a witness
//! checks before it cosigns, and the refusals with the protocol's HTTP status codes.
//!
//! The witness keeps, per log origin, the latest checkpoint it cosigned ([`Witnessed`]); the
//! caller loads it, calls [`check`], and stores the new state durably — atomically with the
//! check — before it answers with the cosignature.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::checkpoint::{Checkpoint, CheckpointVerifier, split_note};
use crate::hash::Hash;
use crate::tree::{self, TreeHead};

/// The protocol's limit on consistency proof lines.
pub const MAX_PROOF_LINES: usize = 63;

/// An `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the witness last cosigned for this log, as the log knows it.
    pub old: u64,
    /// The RFC 6962 consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note (text, blank line, signature lines).
    pub checkpoint: String,
}

/// Why a witness does not cosign, with the protocol's status code ([`Refusal::status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// 400: the body is not an `add-checkpoint` request, or its old size exceeds the checkpoint's.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 403: no signature on the checkpoint verifies with a key the witness trusts for its origin.
    #[error("the checkpoint of `{0}` carries no valid signature by the log's key")]
    NotSigned(String),
    /// 404: the witness does not know the origin.
    #[error("unknown log `{0}`")]
    UnknownLog(String),
    /// 409: the old size is not the size the witness last cosigned (which it names), or the
    /// checkpoint has that size with another root hash.
    #[error("the witness last cosigned size {size} of this log{}", if *.fork { " with another root hash" } else { "" })]
    Conflict { size: u64, fork: bool },
    /// 422: the consistency proof does not verify.
    #[error("the consistency proof does not verify: {0}")]
    Inconsistent(String),
}

impl Refusal {
    /// The HTTP status code the protocol gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::NotSigned(_) => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::Conflict { .. } => 409,
            Refusal::Inconsistent(_) => 422,
        }
    }
}

fn bad(what: &str) -> Refusal {
    Refusal::BadRequest(what.to_owned())
}

impl AddCheckpoint {
    /// Parse a request body.
    pub fn parse(body: &str) -> Result<AddCheckpoint, Refusal> {
        let (head, checkpoint) = body.split_once("\n\n").ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old_line = lines.next().unwrap_or_default();
        let old = old_line.strip_prefix("old ").ok_or_else(|| bad("the first line is not `old <size>`"))?;
        if old.is_empty() || (old.len() > 1 && old.starts_with('0')) || !old.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the old size is not a decimal number without leading zeroes"));
        }
        let old: u64 = old.parse().map_err(|_| bad("the old size is out of range"))?;
        let proof = lines
            .map(|line| {
                BASE64
                    .decode(line)
                    .ok()
                    .and_then(|b| <Hash>::try_from(b).ok())
                    .ok_or_else(|| bad("a consistency proof line is not 32 bytes of base64"))
            })
            .collect::<Result<Vec<Hash>, Refusal>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(bad("more than 63 consistency proof lines"));
        }
        Ok(AddCheckpoint { old, proof, checkpoint: checkpoint.to_owned() })
    }

    /// The request body.
    pub fn encode(&self) -> String {
        let mut out = format!("old {}\n", self.old);
        for hash in &self.proof {
            out.push_str(&BASE64.encode(hash));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }
}

/// What a witness remembers of a log: the latest checkpoint it cosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witnessed {
    pub size: u64,
    pub root: Hash,
}

/// What a witness checks before it cosigns `request`, given the logs it trusts and what it
/// remembers of the request's log (`None` before its first cosignature): the checkpoint, and
/// its note text (what the cosignature covers), when it may cosign.
pub fn check<'a>(
    logs: &[CheckpointVerifier],
    latest: impl FnOnce(&str) -> Option<Witnessed>,
    request: &'a AddCheckpoint,
) -> Result<(Checkpoint, &'a str), Refusal> {
    let (text, _) = split_note(&request.checkpoint).map_err(|e| Refusal::BadRequest(e.to_string()))?;
    let body = Checkpoint::parse_body(text).map_err(|e| Refusal::BadRequest(e.to_string()))?;
    let keys: Vec<&CheckpointVerifier> = logs.iter().filter(|k| k.name() == body.origin).collect();
    if keys.is_empty() {
        return Err(Refusal::UnknownLog(body.origin));
    }
    if !keys.iter().any(|k| k.open_note(&request.checkpoint).is_ok()) {
        return Err(Refusal::NotSigned(body.origin));
    }
    if request.old > body.size {
        return Err(bad("the old size is larger than the checkpoint's"));
    }
    let latest = latest(&body.origin);
    let known = latest.as_ref().map_or(0, |w| w.size);
    if request.old != known {
        return Err(Refusal::Conflict { size: known, fork: false });
    }
    let Some(latest) = latest.filter(|w| w.size > 0) else {
        if !request.proof.is_empty() {
            return Err(Refusal::Inconsistent("the proof must be empty from size 0".into()));
        }
        return Ok((body, text));
    };
    if latest.size == body.size {
        if latest.root != body.root {
            return Err(Refusal::Conflict { size: latest.size, fork: true });
        }
        if !request.proof.is_empty() {
            return Err(Refusal::Inconsistent("the proof must be empty between equal sizes".into()));
        }
        return Ok((body, text));
    }
    let old = TreeHead { size: latest.size, root: latest.root };
    tree::verify_consistency(&old, &body.head(), &request.proof).map_err(|e| Refusal::Inconsistent(e.to_string()))?;
    Ok((body, text))
}

/// The size a witness names in a `409 Conflict` answer (`text/x.tlog.size`: a decimal and a
/// newline).
pub fn parse_conflict_size(body: &str) -> Option<u64> {
    let size = body.strip_suffix('\n')?;
    if size.is_empty() || (size.len() > 1 && size.starts_with('0')) {
        return None;
    }
    size.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointSigner;
    use crate::hash::leaf_hash;
    use crate::tree::{MemoryTree, TreeHead, prove_consistency, tree_head};

    // The example request of C2SP tlog-witness.
    const SPEC_REQUEST: &str = "old 20852014\n\
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
\n\
example.com/behind-the-sofa\n\
20852163\n\
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
\n\
\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
\u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";

    #[test]
    fn the_spec_example_request_parses_and_encodes_back() {
        let request = AddCheckpoint::parse(SPEC_REQUEST).unwrap();
        assert_eq!(request.old, 20_852_014);
        assert_eq!(request.proof.len(), 4);
        assert!(request.checkpoint.starts_with("example.com/behind-the-sofa\n20852163\n"));
        assert_eq!(request.encode(), SPEC_REQUEST);
        assert_eq!(parse_conflict_size("20852014\n"), Some(20_852_014));
        assert_eq!(parse_conflict_size("020\n"), None);
    }

    #[test]
    fn malformed_requests_are_bad_requests() {
        let cases = [
            "old 1\n",
            "old 01\n\nx\n",
            "old -1\n\nx\n",
            "new 1\n\nx\n",
            "old 1\nnot base64!\n\nx\n",
            "old 1\nAAAA\n\nx\n",
        ];
        for case in cases {
            assert!(matches!(AddCheckpoint::parse(case), Err(Refusal::BadRequest(_))), "{case:?}");
        }
        let many = format!("old 1\n{}\nx\n", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(64));
        assert!(matches!(AddCheckpoint::parse(&many), Err(Refusal::BadRequest(_))));
    }

    fn tree(n: u64, salt: u8) -> MemoryTree {
        let mut t = MemoryTree::new();
        for i in 0..n {
            t.push(leaf_hash(&[salt, i as u8]));
        }
        t
    }

    #[test]
    fn a_witness_cosigns_only_consistent_growth() {
        let log = CheckpointSigner::from_seed("example.com/log", [3; 32]).unwrap();
        let logs = [log.verifier()];
        let t = tree(9, 0);
        let at = |size: u64| -> (String, TreeHead) {
            let head = tree_head(&t, size).unwrap();
            (log.sign(&Checkpoint::new("example.com/log", head, None)), head)
        };
        let state = |size: u64| Some(Witnessed { size, root: tree_head(&t, size).unwrap().root });
        let (note5, _) = at(5);
        let first = AddCheckpoint { old: 0, proof: vec![], checkpoint: note5.clone() };
        assert_eq!(check(&logs, |_| None, &first).unwrap().0.size, 5);
        // From what the witness holds, with a proof: cosigned.
        let (note9, _) = at(9);
        let grow = AddCheckpoint { old: 5, proof: prove_consistency(&t, 5, 9).unwrap(), checkpoint: note9.clone() };
        assert!(check(&logs, |_| state(5), &grow).is_ok());
        // The witness holds 7: a conflict naming 7.
        assert_eq!(check(&logs, |_| state(7), &grow), Err(Refusal::Conflict { size: 7, fork: false }));
        // Rolled back: the log asks from 0 for a smaller tree than the witness holds.
        assert_eq!(check(&logs, |_| state(9), &first), Err(Refusal::Conflict { size: 9, fork: false }));
        // A fork: the same size with another root.
        let forked = tree(9, 1);
        let fork_note = log.sign(&Checkpoint::new("example.com/log", tree_head(&forked, 9).unwrap(), None));
        let fork = AddCheckpoint { old: 9, proof: vec![], checkpoint: fork_note.clone() };
        assert_eq!(check(&logs, |_| state(9), &fork), Err(Refusal::Conflict { size: 9, fork: true }));
        // A fork at a larger size: its proof from the witnessed size does not verify.
        let fork_grow =
            AddCheckpoint { old: 5, proof: prove_consistency(&forked, 5, 9).unwrap(), checkpoint: fork_note };
        assert!(matches!(check(&logs, |_| state(5), &fork_grow), Err(Refusal::Inconsistent(_))));
        // Old size beyond the checkpoint, unknown origin, another key.
        let beyond = AddCheckpoint { old: 6, proof: vec![], checkpoint: note5.clone() };
        assert_eq!(beyond_status(&logs, &beyond), 400);
        let other = CheckpointSigner::from_seed("example.com/other", [3; 32]).unwrap();
        let unknown = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: other.sign(&Checkpoint::new("example.com/other", tree_head(&t, 5).unwrap(), None)),
        };
        assert_eq!(beyond_status(&logs, &unknown), 404);
        let impostor = CheckpointSigner::from_seed("example.com/log", [4; 32]).unwrap();
        let unsigned = AddCheckpoint {
            old: 0,
            proof: vec![],
            checkpoint: impostor.sign(&Checkpoint::new("example.com/log", tree_head(&t, 5).unwrap(), None)),
        };
        assert_eq!(beyond_status(&logs, &unsigned), 403);
    }

    fn beyond_status(logs: &[CheckpointVerifier], request: &AddCheckpoint) -> u16 {
        check(logs, |_| None, request).unwrap_err().status()
    }
}
