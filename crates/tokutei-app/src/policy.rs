//! Publishing a policy version, the one way every front end does it (`tokutei init --policy`,
//! `tokutei policy publish`, the console's preview and publish): the file passes every check
//! of `tokutei_policy::check` and compiles into access rules for this deployment (its settings
//! and its own Cedar policies), the one publishing may publish, and the version is not already
//! the latest → the `policy_published` entry (the version's number as target, the policy's
//! digest in `AdminEvent.digest`, the effective date in the details) is durable → the version
//! is stored.

use jiff::Timestamp;
use tokutei_ledger::AdminAction;
use tokutei_policy::check::{self, CheckReport};
use tokutei_policy::{Policy, PolicyDigest};
use tokutei_store::{NewPolicyVersion, PolicyVersion};

use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};

/// What a policy file comes to before it is published: every diagnostic, and — when it passes
/// them — whether it compiles into access rules for this deployment.
#[derive(Debug, Clone)]
pub struct PolicyPreview {
    pub report: CheckReport,
    /// Why the checked policy does not compile for this deployment (`None` when it does, or
    /// when the file did not pass the checks, which say why).
    pub compile_problem: Option<String>,
}

impl PolicyPreview {
    /// The policy, when it can be published.
    pub fn policy(&self) -> Option<&Policy> {
        self.report.policy.as_ref().filter(|_| self.report.is_valid() && self.compile_problem.is_none())
    }

    /// The digest a publication of this file carries, when it can be published.
    pub fn digest(&self) -> Option<PolicyDigest> {
        self.policy().map(PolicyDigest::of)
    }
}

impl std::fmt::Display for PolicyPreview {
    /// One line: how many errors, or why it does not compile.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.compile_problem, self.report.errors().count()) {
            (Some(problem), _) => write!(f, "it does not compile into access rules: {problem}"),
            (None, 0) => write!(f, "it does not parse"),
            (None, errors) => write!(f, "{errors} errors"),
        }
    }
}

impl App {
    /// Check a policy file as a publication would: every diagnostic, then the compile check
    /// against this deployment. Nothing is written.
    pub fn preview_policy(&self, source: &str) -> PolicyPreview {
        let report = check::check(source);
        let compile_problem = match &report.policy {
            Some(policy) if report.is_valid() => self.check_policy(policy).err(),
            _ => None,
        };
        PolicyPreview { report, compile_problem }
    }

    /// Publish `source` as the next policy version, audit first. `previewed` is the digest
    /// the person saw in a preview (the console): a file that differs from it is refused.
    /// Refused, with nothing written: a file that does not pass [`Self::preview_policy`]
    /// ([`ActionError::Unpublishable`]), one acting who is not a manager, a digest that is
    /// already the latest version ([`ActionError::Conflict`]).
    pub fn publish_policy(
        &self,
        by: &Acting,
        source: String,
        previewed: Option<&str>,
        now: Timestamp,
    ) -> ActionResult<PolicyVersion> {
        let preview = self.preview_policy(&source);
        let Some(policy) = preview.policy() else {
            return Err(ActionError::Unpublishable(Box::new(preview)));
        };
        let digest = PolicyDigest::of(policy);
        if let Some(previewed) = previewed
            && previewed != digest.0
        {
            return Err(ActionError::invalid("digest", "the file differs from the previewed one; preview it again"));
        }
        let effective = policy.effective_date();
        let actor = self.authorize(by, MANAGERS, "publish a policy version")?;
        let latest = self.stores().policy_versions()?.into_iter().max_by_key(|v| v.number);
        if latest.as_ref().is_some_and(|v| v.digest == digest) {
            return Err(ActionError::Conflict(format!(
                "policy `{}` is already the latest published version",
                digest.short()
            )));
        }
        // The number the store gives the version: the next after the latest. The digest names
        // the version in the entry too, so a publication racing another still identifies it.
        let number = latest.map_or(1, |v| v.number + 1);
        let entry = AdminEntry::new(AdminAction::PolicyPublished, format!("policy/v{number}"))
            .digest(digest.bytes())
            .detail("effective", effective);
        let published_by = actor.id().to_string();
        self.audit_admin(actor, entry, now)?;
        Ok(self.stores().publish_policy(NewPolicyVersion {
            digest,
            source,
            effective,
            published_by,
            published_at: now,
        })?)
    }
}
