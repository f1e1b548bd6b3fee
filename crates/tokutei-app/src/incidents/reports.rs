//! The reports to the regulators: each report's items (the deployment's list, the MIC
//! report's 10 or APPI規則8条's 9 by default) filled from the incident as far as known, as a
//! document in Japanese; and the submission record — date, recipient, reference number and
//! the digest of the document as submitted — refused for a final report (詳報, 確報) while
//! an item is empty.

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokutei_ledger::AdminAction;
use tokutei_policy::{Date, tokyo};
use tokutei_store::incident::{Regime, Report, StoredIncident, Submission};

use super::rules::{ReportContext, item_value};
use super::{ObligationView, SubmissionView, TITLE_MAX, subject, text};
use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::IncidentId;

/// One item of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportItem {
    pub id: String,
    pub ja: String,
    pub en: String,
    /// `None` while it is not filled.
    pub value: Option<String>,
}

/// A report as it would be filed today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportDocument {
    pub incident: String,
    pub regime: Regime,
    pub report: Report,
    /// `通信の秘密の漏えい（電気通信事業法28条） 詳報`.
    pub title: String,
    pub recipient: String,
    #[serde(serialize_with = "crate::dates::text")]
    pub due: Date,
    pub unconfirmed: bool,
    pub items: Vec<ReportItem>,
    /// The ids of the items not filled (a final report cannot be submitted with any).
    pub missing: Vec<String>,
    pub submission: Option<SubmissionView>,
    /// The document in Japanese, as plain text (what is submitted when no document is given).
    pub text: String,
}

/// How a report was submitted.
#[derive(Debug, Clone, Default)]
pub struct SubmitReport {
    /// When it was submitted (default: now).
    pub submitted_at: Option<Timestamp>,
    /// Who received it (default: the obligation's recipient).
    pub recipient: Option<String>,
    /// The recipient's reference number (受付番号).
    pub reference: Option<String>,
    /// The document as submitted (default: the report's text as tokutei renders it now).
    pub document: Option<Vec<u8>>,
}

fn render(doc: &ReportDocument, incident: &StoredIncident) -> String {
    let mut out = format!(
        "{}\n\n事案番号: {}\n件名: {}\n提出先: {}\n提出期限: {}{}\n",
        doc.title,
        doc.incident,
        incident.current.fields.title.ja,
        doc.recipient,
        doc.due.ja(),
        if doc.unconfirmed { "（未確認の規定に基づく設定値）" } else { "" }
    );
    for (n, item) in doc.items.iter().enumerate() {
        out.push_str(&format!("\n{}. {}\n{}\n", n + 1, item.ja, item.value.as_deref().unwrap_or("（未記入）")));
    }
    out
}

impl App {
    pub(super) fn report_context(&self, incident: &StoredIncident, now: Timestamp) -> ActionResult<ReportContext> {
        let policy = self.active_policy(now)?.map(|(_, p)| p);
        let rules = self.incident_rules();
        Ok(ReportContext {
            company: rules.company.clone().or_else(|| policy.as_ref().map(|p| p.header.company.ja.clone())),
            registration: rules.registration.clone(),
            published_on: self.stores().publications(&incident.id)?.first().map(|p| p.published_on),
            category_names: policy
                .map(|p| p.categories.iter().map(|c| (c.id.clone(), c.name.ja.clone())).collect())
                .unwrap_or_default(),
        })
    }

    fn document(
        &self,
        incident: &StoredIncident,
        regime: Regime,
        report: Report,
        now: Timestamp,
    ) -> ActionResult<ReportDocument> {
        let owed = incident
            .obligations
            .iter()
            .find(|o| o.obligation.regime == regime && o.obligation.report == report)
            .ok_or_else(|| {
                ActionError::NotFound(format!(
                    "{} report of the {} regime for incident `{}`",
                    report.code(),
                    regime.code(),
                    incident.id
                ))
            })?;
        let rules = self.incident_rules();
        let ctx = self.report_context(incident, now)?;
        let items: Vec<ReportItem> = rules
            .report(regime, report)
            .map(|r| r.items.clone())
            .unwrap_or_default()
            .iter()
            .map(|item| {
                let (ja, en) = item.names(rules);
                ReportItem {
                    id: item.id().to_string(),
                    ja: ja.to_string(),
                    en: en.to_string(),
                    value: item_value(item, &incident.current.fields, &ctx),
                }
            })
            .collect();
        let mut doc = ReportDocument {
            incident: incident.id.clone(),
            regime,
            report,
            title: format!("{} {}", regime.ja(), report.ja()),
            recipient: owed.obligation.recipient.clone(),
            due: owed.obligation.due,
            unconfirmed: owed.obligation.unconfirmed,
            missing: items.iter().filter(|i| i.value.is_none()).map(|i| i.id.clone()).collect(),
            items,
            submission: owed.submission.as_ref().map(SubmissionView::from),
            text: String::new(),
        };
        doc.text = render(&doc, incident);
        Ok(doc)
    }

    /// The `report` of `regime` an incident owes, its items filled as far as known today.
    pub fn report_document(
        &self,
        id: &IncidentId,
        regime: Regime,
        report: Report,
        now: Timestamp,
    ) -> ActionResult<ReportDocument> {
        let incident =
            self.stores().incident(id.as_str())?.ok_or_else(|| ActionError::NotFound(format!("incident `{id}`")))?;
        self.document(&incident, regime, report, now)
    }

    /// Record, for `by` (a manager), that the `report` of `regime` was submitted: a final
    /// report (詳報, 確報) only with every item filled. `incident_report_submitted`, with the
    /// digest of the document as submitted in its digest field, is durable first.
    pub fn submit_report(
        &self,
        by: &Acting,
        id: &IncidentId,
        regime: Regime,
        report: Report,
        how: &SubmitReport,
        now: Timestamp,
    ) -> ActionResult<ObligationView> {
        let actor = self.authorize(by, MANAGERS, "submit incident reports")?;
        let incident =
            self.stores().incident(id.as_str())?.ok_or_else(|| ActionError::NotFound(format!("incident `{id}`")))?;
        let doc = self.document(&incident, regime, report, now)?;
        if doc.submission.is_some() {
            return Err(ActionError::Conflict(format!(
                "the {} report of the {} regime for incident `{id}` was submitted already",
                report.code(),
                regime.code()
            )));
        }
        if report.is_final() && !doc.missing.is_empty() {
            return Err(ActionError::Conflict(format!(
                "the {} report of the {} regime for incident `{id}` cannot be submitted with empty items: {}",
                report.code(),
                regime.code(),
                doc.missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
            )));
        }
        let submitted_at = how.submitted_at.unwrap_or(now);
        if submitted_at > now {
            return Err(ActionError::invalid("submitted_at", "is in the future"));
        }
        let recipient = match &how.recipient {
            Some(r) => {
                text("recipient", r, TITLE_MAX, false)?.ok_or_else(|| ActionError::invalid("recipient", "is empty"))?
            }
            None => doc.recipient.clone(),
        };
        let reference = match &how.reference {
            Some(r) => text("reference", r, TITLE_MAX, false)?,
            None => None,
        };
        let document = how.document.clone().unwrap_or_else(|| doc.text.clone().into_bytes());
        if document.is_empty() {
            return Err(ActionError::invalid("document", "is empty"));
        }
        let digest: [u8; 32] = Sha256::digest(&document).into();
        let entry = AdminEntry::new(AdminAction::IncidentReportSubmitted, subject(id.as_str()))
            .digest(digest)
            .detail("regime", regime.code())
            .detail("report", report.code())
            .detail("due", doc.due)
            .detail("submitted_on", tokyo::date_of(submitted_at));
        let staff = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        let submission = Submission { submitted_at, recipient, reference, digest, submitted_by: staff, audit_index };
        self.stores().record_submission(id.as_str(), regime, report, &submission)?;
        let owed = incident
            .obligations
            .iter()
            .find(|o| o.obligation.regime == regime && o.obligation.report == report)
            .map(|o| o.obligation.clone())
            .ok_or_else(|| ActionError::NotFound(format!("incident `{id}`")))?;
        Ok(ObligationView::new(&owed, Some(&submission), tokyo::date_of(now)))
    }
}
