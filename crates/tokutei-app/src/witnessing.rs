//! The log's side of witnessing (C2SP `tlog-witness`): the witnesses a deployment trusts
//! (`deployment.toml`'s `[witnesses]`: each witness's public key and URL, and the quorum),
//! the `add-checkpoint` request for a witness from the size it last cosigned, keeping the
//! cosignatures that verify once a quorum has cosigned (the cosigned note is stored as a
//! checkpoint of the same size, so every reader of checkpoints sees it), the checkpoint this
//! deployment publishes, and the report of a witness that refused — a sign that this ledger
//! was forked or rolled back.
//!
//! The HTTP exchange is the web crate's (`tokutei_web::witnessing`); the witness itself is
//! [`crate::witness`].

use jiff::Timestamp;
use serde::Deserialize;
use tokutei_ledger::cosignature::cosigners;
use tokutei_ledger::witness::AddCheckpoint;
use tokutei_ledger::{Checkpoint, WitnessVerifier};
use tokutei_store::ledger::StoredCheckpoint;

use crate::App;
use crate::acting::Acting;
use crate::alerts::{AlertRequest, Bilingual};
use crate::error::{ActionError, ActionResult};

/// How many recent checkpoints are searched for the latest one a quorum cosigned.
const SEARCH: usize = 256;

/// `deployment.toml`'s `[witnesses]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// How many witnesses must cosign a checkpoint before it is published (all by default).
    pub quorum: Option<usize>,
    #[serde(default)]
    pub servers: Vec<WitnessServerConfig>,
}

/// One witness: its verifier key (`<name>+<id>+<base64(0x04 || key)>`) and its submission URL
/// prefix (`add-checkpoint` is appended).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessServerConfig {
    pub key: String,
    pub url: String,
}

/// A witness the deployment asks for cosignatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessEndpoint {
    pub key: WitnessVerifier,
    /// The submission prefix, without a final `/`.
    pub url: String,
}

impl WitnessEndpoint {
    pub fn name(&self) -> &str {
        self.key.name()
    }

    /// Where `add-checkpoint` is posted.
    pub fn add_checkpoint_url(&self) -> String {
        format!("{}/add-checkpoint", self.url)
    }
}

/// The witnesses in force and the quorum.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WitnessRules {
    pub witnesses: Vec<WitnessEndpoint>,
    /// 0 when no witness is configured.
    pub quorum: usize,
}

impl WitnessRules {
    /// The rules of `config`, each value checked naming its key.
    pub fn from_config(config: &WitnessConfig) -> ActionResult<WitnessRules> {
        let mut witnesses: Vec<WitnessEndpoint> = Vec::new();
        for server in &config.servers {
            let key = WitnessVerifier::parse(&server.key)
                .map_err(|e| ActionError::invalid("witnesses.servers.key", format!("`{}`: {e}", server.key)))?;
            if witnesses.iter().any(|w| w.name() == key.name()) {
                return Err(ActionError::invalid(
                    "witnesses.servers.key",
                    format!("the witness `{}` is named twice", key.name()),
                ));
            }
            let url = server.url.trim_end_matches('/').to_string();
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(char::is_whitespace) {
                return Err(ActionError::invalid(
                    "witnesses.servers.url",
                    format!("`{}` is not an http:// or https:// URL", server.url),
                ));
            }
            witnesses.push(WitnessEndpoint { key, url });
        }
        let quorum = match config.quorum {
            None => witnesses.len(),
            Some(q) if q >= 1 && q <= witnesses.len() => q,
            Some(q) => {
                return Err(ActionError::invalid(
                    "witnesses.quorum",
                    format!("is {q}; use 1 to the number of witnesses ({})", witnesses.len()),
                ));
            }
        };
        Ok(WitnessRules { witnesses, quorum })
    }

    pub fn keys(&self) -> Vec<WitnessVerifier> {
        self.witnesses.iter().map(|w| w.key.clone()).collect()
    }
}

/// The checkpoint the deployment publishes: with witnesses configured, the latest one a
/// quorum cosigned; without, the latest signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub checkpoint: StoredCheckpoint,
    /// The witnesses whose cosignature verifies, with its time (POSIX seconds).
    pub witnesses: Vec<(String, u64)>,
    /// Whether the quorum is met (always true without witnesses).
    pub witnessed: bool,
}

/// What the log does with a witness's answer ([`judge_answer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The witness's cosignature line, verified with its key.
    Cosigned(String),
    /// Ask again from the size the witness holds (it is at or below this checkpoint's).
    Retry { old: u64 },
    /// The witness refused this ledger's history: `forked`, `rolled back`, `inconsistent`, or
    /// another status — report it.
    Refused(String),
    /// Nothing usable (an answer without a valid cosignature): try again next round.
    Ignore(String),
}

/// What `answer` to `request` (for a checkpoint of `size` entries) means: a verified
/// cosignature; a conflict naming the size asked from — the same size with another root, a
/// fork —, a larger size than this ledger has — a rollback —, or a smaller one to retry from;
/// a 422 — this history does not extend what the witness cosigned —; any other refusal.
pub fn judge_answer(witness: &WitnessEndpoint, request: &AddCheckpoint, size: u64, answer: WitnessAnswer) -> Step {
    match answer {
        WitnessAnswer::Cosigned(lines) => {
            let text = request.checkpoint.split("\n\n").next().unwrap_or_default();
            match witness.key.cosigned_at(&format!("{text}\n\n{lines}")) {
                Ok(_) => Step::Cosigned(lines.trim_end().to_string()),
                Err(e) => Step::Ignore(format!("an answer without a valid cosignature: {e}")),
            }
        }
        WitnessAnswer::Conflict(held) if held == request.old => {
            Step::Refused(format!("forked: the witness cosigned another tree of size {held} than this ledger's"))
        }
        WitnessAnswer::Conflict(held) if held > size => Step::Refused(rolled_back(held, size)),
        WitnessAnswer::Conflict(held) => Step::Retry { old: held },
        WitnessAnswer::Refused(422, why) => {
            Step::Refused(format!("inconsistent: this ledger does not extend what the witness cosigned ({why})"))
        }
        WitnessAnswer::Refused(status, why) => Step::Refused(format!("refused with HTTP {status}: {why}")),
    }
}

fn rolled_back(held: u64, size: u64) -> String {
    format!("rolled back: the witness cosigned {held} entries, this ledger's checkpoint has {size}")
}

/// What a witness answered, as the web client read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WitnessAnswer {
    /// 200: the cosignature lines.
    Cosigned(String),
    /// 409 with the size the witness last cosigned.
    Conflict(u64),
    /// Any other status, with the body's first line.
    Refused(u16, String),
}

impl App {
    /// The same service asking `rules`' witnesses for cosignatures.
    pub fn with_witnesses(mut self, rules: WitnessRules) -> App {
        self.witness_rules = rules;
        self
    }

    pub fn witness_rules(&self) -> &WitnessRules {
        &self.witness_rules
    }

    /// The checkpoint this deployment publishes ([`Published`]); `None` before the first, or
    /// with witnesses before any checkpoint had its quorum. The newest checkpoints are searched
    /// (at most 256, down to the one found last time, which is kept), so a witness outage
    /// leaves the last witnessed checkpoint published rather than none.
    pub fn published_checkpoint(&self) -> ActionResult<Option<Published>> {
        let rules = &self.witness_rules;
        if rules.witnesses.is_empty() {
            return Ok(self.ledger().latest_checkpoint()?.map(|checkpoint| Published {
                checkpoint,
                witnesses: Vec::new(),
                witnessed: true,
            }));
        }
        let keys = rules.keys();
        let mut known = self.published.lock().unwrap_or_else(|e| e.into_inner());
        let floor = known.as_ref().map_or(0, |p| p.checkpoint.id);
        for checkpoint in self.ledger().recent_checkpoints(SEARCH)? {
            if checkpoint.id <= floor {
                break;
            }
            let witnesses = cosigners(&checkpoint.note, &keys);
            if witnesses.len() >= rules.quorum {
                *known = Some(Published { checkpoint, witnesses, witnessed: true });
                break;
            }
        }
        Ok(known.clone())
    }

    /// The `add-checkpoint` request for `checkpoint` to a witness that last cosigned `old`
    /// entries of this ledger (0 when the log does not know): the consistency proof from
    /// there. A witness ahead of the ledger (`old` larger) is a conflict: the ledger was
    /// rolled back, or the witness saw another history.
    pub fn witness_request(&self, checkpoint: &StoredCheckpoint, old: u64) -> ActionResult<AddCheckpoint> {
        if old > checkpoint.size {
            return Err(ActionError::Conflict(rolled_back(old, checkpoint.size)));
        }
        let proof = if old == 0 { Vec::new() } else { self.ledger().prove_consistency(old, checkpoint.size)? };
        let note = without_cosignatures(&checkpoint.note, &self.witness_rules.keys());
        Ok(AddCheckpoint { old, proof, checkpoint: note })
    }

    /// Keep the cosignature `lines` collected for `checkpoint` (each witness's answer): those
    /// that verify with a configured witness's key are appended to the note, and once they
    /// reach the quorum the cosigned note is stored as a checkpoint of the same size (what
    /// [`Self::published_checkpoint`] then finds). `None` when the quorum is not reached or a
    /// newer checkpoint was stored meanwhile (the next round cosigns that one).
    pub fn record_cosignatures(
        &self,
        checkpoint: &StoredCheckpoint,
        lines: &[String],
        now: Timestamp,
    ) -> ActionResult<Option<StoredCheckpoint>> {
        let keys = self.witness_rules.keys();
        let base = without_cosignatures(&checkpoint.note, &keys);
        let mut note = base.clone();
        let mut cosigned = Vec::new();
        for line in lines.iter().flat_map(|answer| answer.lines()) {
            let candidate = format!("{base}{line}\n");
            let by = keys.iter().find(|k| !cosigned.contains(&k.name()) && k.cosigned_at(&candidate).is_ok());
            if let Some(key) = by {
                note.push_str(line);
                note.push('\n');
                cosigned.push(key.name());
            }
        }
        if cosigned.len() < self.witness_rules.quorum.max(1) {
            return Ok(None);
        }
        match self.ledger().add_checkpoint(checkpoint.size, &note, now) {
            Ok(stored) => Ok(Some(stored)),
            Err(tokutei_store::StoreError::Conflict(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Report that `witness` refused this ledger's checkpoint of `size` (`what`: the refusal),
    /// as an alert to the configured channels (once per witness, size and refusal; without a
    /// channel the caller's log is the report).
    pub fn report_witness_refusal(&self, witness: &str, size: u64, what: &str, now: Timestamp) -> ActionResult<()> {
        let request = AlertRequest {
            kind: "witness_refused".into(),
            subject: format!("witness/{witness}"),
            event: format!("witness/{witness}/size/{size}/{}", what.split(':').next().unwrap_or(what)),
            title: Bilingual {
                ja: format!("監査台帳のチェックポイントを証人 {witness} が拒否しました"),
                en: format!("the witness {witness} refused the audit ledger's checkpoint"),
            },
            text: Bilingual {
                ja: format!(
                    "証人 {witness} はサイズ {size} のチェックポイントに連署しませんでした（{what}）。監査台帳が切り詰められたか書き換えられた（分岐した）おそれがあります。`tokutei audit verify` で台帳を検証してください。"
                ),
                en: format!(
                    "The witness {witness} did not cosign the checkpoint of size {size} ({what}). The audit ledger may have been cut or rewritten (forked). Verify it with `tokutei audit verify`."
                ),
            },
            due: None,
            responsible: Vec::new(),
            details: vec![("size".into(), size.to_string())],
        };
        match self.enqueue_alert(&Acting::Setup("witnessing"), &request, now) {
            Ok(_) | Err(ActionError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// `note` without the signature lines of `witnesses` (what is sent to a witness and what new
/// cosignatures are appended to).
fn without_cosignatures(note: &str, witnesses: &[WitnessVerifier]) -> String {
    let Ok((text, sigs)) = tokutei_ledger::checkpoint::split_note(note) else {
        return note.to_string();
    };
    let mut out = format!("{text}\n");
    for line in sigs.lines() {
        let name = line.strip_prefix("\u{2014} ").and_then(|l| l.split_once(' ')).map(|(n, _)| n);
        if name.is_some_and(|n| witnesses.iter().any(|w| w.name() == n)) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The checkpoint body of a stored note (for callers that show it).
pub fn body_of(note: &str) -> Option<Checkpoint> {
    let (text, _) = tokutei_ledger::checkpoint::split_note(note).ok()?;
    Checkpoint::parse_body(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8, name: &str) -> String {
        tokutei_ledger::WitnessSigner::from_seed(name, [seed; 32]).unwrap().verifier().to_string()
    }

    #[test]
    fn witness_settings_are_checked_naming_their_key() {
        let check =
            |config: WitnessConfig, expected: Result<usize, &str>| match (WitnessRules::from_config(&config), expected)
            {
                (Ok(rules), Ok(quorum)) => assert_eq!(rules.quorum, quorum),
                (Err(e), Err(field)) => assert!(e.to_string().starts_with(&format!("`{field}`")), "{e}"),
                (got, want) => panic!("{got:?} vs {want:?}"),
            };
        let server = |seed, name: &str, url: &str| WitnessServerConfig { key: key(seed, name), url: url.into() };
        check(WitnessConfig::default(), Ok(0));
        let two = vec![server(1, "w1", "http://127.0.0.1:7001/"), server(2, "w2", "https://w2.example")];
        check(WitnessConfig { quorum: None, servers: two.clone() }, Ok(2));
        check(WitnessConfig { quorum: Some(1), servers: two.clone() }, Ok(1));
        check(WitnessConfig { quorum: Some(3), servers: two.clone() }, Err("witnesses.quorum"));
        check(WitnessConfig { quorum: Some(0), servers: two.clone() }, Err("witnesses.quorum"));
        check(WitnessConfig { quorum: None, servers: vec![server(1, "w1", "ftp://x")] }, Err("witnesses.servers.url"));
        let bad_key = WitnessServerConfig { key: "w1+00000000+AAAA".into(), url: "http://x".into() };
        check(WitnessConfig { quorum: None, servers: vec![bad_key] }, Err("witnesses.servers.key"));
        let twice = vec![server(1, "w1", "http://a"), server(2, "w1", "http://b")];
        check(WitnessConfig { quorum: None, servers: twice }, Err("witnesses.servers.key"));
        let rules = WitnessRules::from_config(&WitnessConfig { quorum: None, servers: two }).unwrap();
        assert_eq!(rules.witnesses[0].add_checkpoint_url(), "http://127.0.0.1:7001/add-checkpoint");
    }

    #[test]
    fn a_witness_answer_is_a_cosignature_a_retry_or_a_refusal_named() {
        use tokutei_ledger::{Checkpoint, CheckpointSigner};
        let w = tokutei_ledger::WitnessSigner::from_seed("w1", [1; 32]).unwrap();
        let endpoint = WitnessEndpoint { key: w.verifier(), url: "http://w".into() };
        let log = CheckpointSigner::from_seed("o", [2; 32]).unwrap();
        let cp = Checkpoint { origin: "o".into(), size: 10, root: [3; 32], time: None };
        let request = AddCheckpoint { old: 4, proof: vec![], checkpoint: log.sign(&cp) };
        let check = |answer: WitnessAnswer, expected: &str| {
            let got = match judge_answer(&endpoint, &request, 10, answer) {
                Step::Cosigned(_) => "cosigned".to_string(),
                Step::Retry { old } => format!("retry {old}"),
                Step::Refused(why) => why.split(':').next().unwrap().to_string(),
                Step::Ignore(_) => "ignore".to_string(),
            };
            assert_eq!(got, expected);
        };
        check(WitnessAnswer::Cosigned(w.cosign(&cp.body(), 5)), "cosigned");
        check(WitnessAnswer::Cosigned(w.cosign(&Checkpoint { size: 11, ..cp.clone() }.body(), 5)), "ignore");
        check(WitnessAnswer::Conflict(4), "forked");
        check(WitnessAnswer::Conflict(12), "rolled back");
        check(WitnessAnswer::Conflict(7), "retry 7");
        check(WitnessAnswer::Conflict(10), "retry 10");
        check(WitnessAnswer::Refused(422, "no".into()), "inconsistent");
        check(WitnessAnswer::Refused(404, "unknown log".into()), "refused with HTTP 404");
    }

    #[test]
    fn cosignature_lines_of_known_witnesses_are_stripped_for_resubmission() {
        let w = tokutei_ledger::WitnessSigner::from_seed("w1", [1; 32]).unwrap();
        let note = "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} o sig\n";
        let cosigned = format!("{note}{}", w.cosign("o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 5));
        assert_eq!(without_cosignatures(&cosigned, &[w.verifier()]), note);
        assert_eq!(without_cosignatures(&cosigned, &[]), cosigned);
    }
}
