//! `policy check`: every rule a policy file must satisfy before it can be published, reported
//! all at once as diagnostics that name the rule, the field and the line.
//!
//! A file that does not parse yields one `parse` diagnostic. A file that parses is checked
//! against every semantic rule in [`RULES`]; each finding names its field path
//! (`purposes.list[2].categories[1]`), which is resolved to a line by walking the TOML
//! document, falling back to the nearest parent that exists.

mod locate;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;

use serde::Serialize;

use crate::model::{ConsentMode, MeasureKind, Policy, RetentionStart, Text, Tier};
use crate::rules::Rules;
use crate::source::{Position, parse};
use locate::FieldPath;

/// Every rule code `check` can report. Codes are stable: tools and tests match on them.
pub const RULES: &[&str] = &[
    PARSE,
    REQUIRED_TEXT,
    NO_ACQUISITION_METHOD,
    NO_PURPOSE,
    NO_SECURITY_MEASURE,
    NO_CONTACT_CHANNEL,
    DUPLICATE_ID,
    DUPLICATE_MEASURE_NUMBER,
    ID_SYNTAX,
    UNKNOWN_SERVICE,
    UNKNOWN_CATEGORY,
    UNKNOWN_MASK,
    MASKING_CATEGORY_NOT_USED,
    CATEGORY_WITHOUT_SERVICE,
    PURPOSE_WITHOUT_CATEGORY,
    MASK_DEFINITION,
    FOREIGN_EMPTY,
    FOREIGN_CONTRADICTION,
    REGIMES_MISSING,
    REGIMES_CONTRADICTION,
    COUNTRY_CODE,
    REVISION_ORDER,
    REVISION_BEFORE_ENACTED,
    EFFECTIVE_BEFORE_ENACTED,
    LEAK_YEARS,
    LOG_RETENTION_JUSTIFICATION,
    MISSING_MEASURE_KIND,
    SECRECY_NEEDS_OPT_IN,
    THIRD_PARTY_NEEDS_CONSENT,
    UNPLACED_TEXT,
    MISSING_TRANSLATION,
    UNUSED_MASK,
    UNUSED_CATEGORY,
    CONTACT_FORMAT,
];

/// Every rule code `check_rules` can report (a rules file, 情報取扱規程). Stable, like [`RULES`].
pub const RULES_FILE_RULES: &[&str] =
    &[PARSE, REQUIRED_TEXT, EFFECTIVE_BEFORE_ENACTED, RULES_MISSING_SECTION, RULES_OWNER];

const PARSE: &str = "parse";
const REQUIRED_TEXT: &str = "required-text";
const NO_ACQUISITION_METHOD: &str = "no-acquisition-method";
const NO_PURPOSE: &str = "no-purpose";
const NO_SECURITY_MEASURE: &str = "no-security-measure";
const NO_CONTACT_CHANNEL: &str = "no-contact-channel";
const DUPLICATE_ID: &str = "duplicate-id";
const DUPLICATE_MEASURE_NUMBER: &str = "duplicate-measure-number";
const ID_SYNTAX: &str = "id-syntax";
const UNKNOWN_SERVICE: &str = "unknown-service";
const UNKNOWN_CATEGORY: &str = "unknown-category";
const UNKNOWN_MASK: &str = "unknown-mask";
const MASKING_CATEGORY_NOT_USED: &str = "masking-category-not-used";
const CATEGORY_WITHOUT_SERVICE: &str = "category-without-service";
const PURPOSE_WITHOUT_CATEGORY: &str = "purpose-without-category";
const MASK_DEFINITION: &str = "mask-definition";
const FOREIGN_EMPTY: &str = "foreign-empty";
const FOREIGN_CONTRADICTION: &str = "foreign-contradiction";
const REGIMES_MISSING: &str = "regimes-missing";
const REGIMES_CONTRADICTION: &str = "regimes-contradiction";
const COUNTRY_CODE: &str = "country-code";
const REVISION_ORDER: &str = "revision-order";
const REVISION_BEFORE_ENACTED: &str = "revision-before-enacted";
const EFFECTIVE_BEFORE_ENACTED: &str = "effective-before-enacted";
const LEAK_YEARS: &str = "leak-years";
const LOG_RETENTION_JUSTIFICATION: &str = "log-retention-justification";
const MISSING_MEASURE_KIND: &str = "missing-measure-kind";
const SECRECY_NEEDS_OPT_IN: &str = "secrecy-needs-opt-in";
const THIRD_PARTY_NEEDS_CONSENT: &str = "third-party-needs-consent";
const UNPLACED_TEXT: &str = "unplaced-text";
const MISSING_TRANSLATION: &str = "missing-translation";
const UNUSED_MASK: &str = "unused-mask";
const UNUSED_CATEGORY: &str = "unused-category";
const CONTACT_FORMAT: &str = "contact-format";
const RULES_MISSING_SECTION: &str = "rules-missing-section";
const RULES_OWNER: &str = "rules-owner";

/// Logs kept longer than this many months need a written justification (電気通信事業GL 通信履歴).
pub const LOG_MONTHS_WITHOUT_JUSTIFICATION: u32 = 6;

/// How serious a finding is: errors make the policy invalid, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding of `check`: which rule, where, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable kebab-case rule code, one of [`RULES`].
    pub rule: &'static str,
    pub severity: Severity,
    /// Lowercase, no final period, user input in backticks.
    pub message: String,
    /// The field path, e.g. `purposes.list[2].categories[1]` (empty when unknown).
    pub field: String,
    /// The line and column the field starts at (or its nearest existing parent).
    pub position: Option<Position>,
    /// The byte range in the file, for labelled source snippets.
    pub span: Option<Range<usize>>,
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.rule))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.span.clone()?;
        let label = if self.field.is_empty() { None } else { Some(self.field.clone()) };
        let labelled = miette::LabeledSpan::new_with_span(label, span.start..span.end.max(span.start));
        Some(Box::new(std::iter::once(labelled)))
    }
}

/// The result of checking a policy file.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The parsed policy, when the file parsed (even if it is semantically invalid).
    #[serde(skip)]
    pub policy: Option<Policy>,
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckReport {
    /// No error-severity diagnostics (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.errors().next().is_none()
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Warning)
    }
}

/// Check a policy file's text: parse it, then apply every semantic rule.
pub fn check(source: &str) -> CheckReport {
    let doc = toml_edit::Document::parse(source.to_string()).ok();
    let policy = match parse(source) {
        Ok(policy) => policy,
        Err(e) => {
            let help = "fix the file so that it reads as a policy file (see docs/policy-file.md)";
            return CheckReport { policy: None, diagnostics: vec![parse_diagnostic(source, doc.as_ref(), e, help)] };
        }
    };
    let diagnostics = located(source, doc.as_ref(), findings(&policy));
    CheckReport { policy: Some(policy), diagnostics }
}

/// The result of checking a rules file (情報取扱規程).
#[derive(Debug, Clone, Serialize)]
pub struct RulesReport {
    /// The parsed rules, when the file parsed (even if they fail a rule).
    #[serde(skip)]
    pub rules: Option<Rules>,
    pub diagnostics: Vec<Diagnostic>,
}

impl RulesReport {
    /// No error-severity diagnostics (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.diagnostics.iter().all(|d| d.severity != Severity::Error)
    }
}

/// Check a rules file's text (情報取扱規程): parse it, then require a section for each of the
/// seven measures (`rules-missing-section`) and, in every section, an owner role
/// (`rules-owner`), a title and a Japanese text (`required-text`); the effective date is not
/// before the enactment (`effective-before-enacted`).
pub fn check_rules(source: &str) -> RulesReport {
    let doc = toml_edit::Document::parse(source.to_string()).ok();
    let rules = match crate::rules::parse_rules(source) {
        Ok(rules) => rules,
        Err(e) => {
            let help = "fix the file so that it reads as a rules file (see docs/rules-file.md)";
            return RulesReport { rules: None, diagnostics: vec![parse_diagnostic(source, doc.as_ref(), e, help)] };
        }
    };
    let mut out = Findings::default();
    out.required(&rules.title, FieldPath::keys("title"), "the title of the rules");
    if rules.effective < rules.enacted {
        out.error(
            EFFECTIVE_BEFORE_ENACTED,
            FieldPath::keys("effective"),
            format!("the rules take effect on {} before they are enacted on {}", rules.effective, rules.enacted),
            None,
        );
    }
    let sections = FieldPath::keys("sections");
    for (i, section) in rules.sections.iter().enumerate() {
        let at = sections.index(i);
        let name = section.measure.label(crate::Lang::Ja);
        out.required(&section.title, at.key("title"), &format!("the title of section {} ({name})", i + 1));
        out.required(&section.text, at.key("text"), &format!("the text of section {} ({name})", i + 1));
        if section.owner.is_none() {
            out.error(
                RULES_OWNER,
                at.key("measure"),
                format!("section {} ({name}) names no owner", i + 1),
                Some("add `owner = \"chief_manager\"` (or `responsible_person`, `handler`, `auditor`): the role that answers for the section"),
            );
        }
    }
    for kind in MeasureKind::REQUIRED {
        if !rules.sections.iter().any(|s| s.measure == kind) {
            out.error(
                RULES_MISSING_SECTION,
                sections.clone(),
                format!("no section carries out the measure `{}` ({})", kind.code(), kind.label(crate::Lang::Ja)),
                Some("the rules have a section for each of the seven measures: basic_policy, rules, organizational, human, physical, technical, external_environment"),
            );
        }
    }
    let diagnostics = located(source, doc.as_ref(), out.0);
    RulesReport { rules: Some(rules), diagnostics }
}

fn parse_diagnostic(
    source: &str,
    doc: Option<&toml_edit::Document<String>>,
    e: crate::ParseError,
    help: &str,
) -> Diagnostic {
    let field = e.span.as_ref().map(|span| parse_error_field(source, doc, span)).unwrap_or_default();
    Diagnostic {
        rule: PARSE,
        severity: Severity::Error,
        message: with_value(source, e.message, e.span.as_ref()),
        field,
        position: e.position,
        span: e.span,
        help: Some(help.into()),
    }
}

/// Findings with their lines, in file order (so that a reader can work through them top to
/// bottom).
fn located(source: &str, doc: Option<&toml_edit::Document<String>>, findings: Vec<Finding>) -> Vec<Diagnostic> {
    let mut diagnostics: Vec<Diagnostic> = findings
        .into_iter()
        .map(|f| {
            let span = doc.and_then(|doc| locate::span_of(doc, &f.field));
            Diagnostic {
                rule: f.rule,
                severity: f.severity,
                message: f.message,
                field: f.field.to_string(),
                position: span.as_ref().map(|s| Position::of_offset(source, s.start)),
                span,
                help: f.help,
            }
        })
        .collect();
    diagnostics.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
    diagnostics
}

/// A parse message with the offending value in backticks, when it is short and not already
/// quoted (TOML's own messages, e.g. for `2024-02-30`, do not repeat it).
fn with_value(source: &str, message: String, span: Option<&Range<usize>>) -> String {
    let value = span.and_then(|s| source.get(s.clone())).map(str::trim).unwrap_or_default();
    if value.is_empty() || value.len() > 40 || value.contains('\n') || message.contains(value) {
        return message;
    }
    format!("{message}: `{value}`")
}

/// The field a parse error is in. When the TOML itself does not read (an impossible date is
/// rejected by the TOML reader too), the offending value is replaced by a string of the same
/// length so that the rest of the document can still be walked.
fn parse_error_field(source: &str, doc: Option<&toml_edit::Document<String>>, span: &Range<usize>) -> String {
    if let Some(doc) = doc {
        return locate::path_at(doc, span.start).to_string();
    }
    let (start, end) = (span.start, span.end);
    if end >= start + 2 && end <= source.len() && source.is_char_boundary(start) && source.is_char_boundary(end) {
        let patched = format!("{}\"{}\"{}", &source[..start], "_".repeat(end - start - 2), &source[end..]);
        if let Ok(doc) = toml_edit::Document::parse(patched) {
            return locate::path_at(&doc, start).to_string();
        }
    }
    String::new()
}

/// Check a policy that has no file text (e.g. one just imported): the same rules, without
/// positions.
pub fn check_policy(policy: &Policy) -> Vec<Diagnostic> {
    findings(policy)
        .into_iter()
        .map(|f| Diagnostic {
            rule: f.rule,
            severity: f.severity,
            message: f.message,
            field: f.field.to_string(),
            position: None,
            span: None,
            help: f.help,
        })
        .collect()
}

struct Finding {
    rule: &'static str,
    severity: Severity,
    message: String,
    field: FieldPath,
    help: Option<String>,
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn error(&mut self, rule: &'static str, field: FieldPath, message: String, help: Option<&str>) {
        self.0.push(Finding { rule, severity: Severity::Error, message, field, help: help.map(str::to_string) });
    }

    fn warning(&mut self, rule: &'static str, field: FieldPath, message: String, help: Option<&str>) {
        self.0.push(Finding { rule, severity: Severity::Warning, message, field, help: help.map(str::to_string) });
    }

    fn required(&mut self, text: &Text, field: FieldPath, what: &str) {
        if text.is_blank() {
            self.error(
                REQUIRED_TEXT,
                field,
                format!("{what} is empty"),
                Some("write the Japanese text (`ja`); the published page cannot leave it out"),
            );
        }
    }

    fn id(&mut self, id: &str, field: FieldPath) {
        if !is_valid_id(id) {
            self.error(
                ID_SYNTAX,
                field,
                format!("id `{id}` is not a valid id"),
                Some("ids start with a lowercase letter and use only a-z, 0-9, `_`, `.` and `-`"),
            );
        }
    }
}

/// `^[a-z][a-z0-9_.-]*$`.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'))
}

fn duplicates<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<(usize, &'a str)> {
    let mut seen = BTreeSet::new();
    ids.enumerate().filter(|(_, id)| !seen.insert(*id)).collect()
}

fn findings(policy: &Policy) -> Vec<Finding> {
    let mut out = Findings::default();
    header(policy, &mut out);
    services_and_categories(policy, &mut out);
    acquisition(policy, &mut out);
    purposes(policy, &mut out);
    security(policy, &mut out);
    foreign(policy, &mut out);
    contact_and_leaks(policy, &mut out);
    for (i, unplaced) in policy.unplaced.iter().enumerate() {
        out.error(
            UNPLACED_TEXT,
            FieldPath::keys("unplaced").index(i),
            format!("imported text from line {} is not placed in any section", unplaced.line),
            Some("move the text into the section it belongs to and delete the `[[unplaced]]` entry"),
        );
    }
    translations(policy, &mut out);
    out.0
}

fn header(policy: &Policy, out: &mut Findings) {
    let h = &policy.header;
    let at = FieldPath::keys("header");
    out.required(&h.title, at.key("title"), "the title");
    out.required(&h.company, at.key("company"), "the company name");
    out.required(&h.representative.title, at.key("representative").key("title"), "the representative's title");
    out.required(&h.representative.name, at.key("representative").key("name"), "the representative's name");
    if let Some(effective) = h.effective
        && effective < h.enacted
    {
        out.error(
            EFFECTIVE_BEFORE_ENACTED,
            at.key("effective"),
            format!("the effective date {effective} is before the enactment date {}", h.enacted),
            None,
        );
    }
    for (i, revision) in h.revisions.iter().enumerate() {
        let field = at.key("revisions").index(i);
        out.required(&revision.summary, field.key("summary"), "the revision summary");
        if revision.date < h.enacted {
            out.error(
                REVISION_BEFORE_ENACTED,
                field.key("date"),
                format!("revision date {} is before the enactment date {}", revision.date, h.enacted),
                None,
            );
        }
        if i > 0 && revision.date < h.revisions[i - 1].date {
            out.error(
                REVISION_ORDER,
                field.key("date"),
                format!(
                    "revision date {} is listed after the later revision of {}",
                    revision.date,
                    h.revisions[i - 1].date
                ),
                Some("list revisions oldest first"),
            );
        }
    }
}

fn services_and_categories(policy: &Policy, out: &mut Findings) {
    let services = FieldPath::keys("services");
    for (i, service) in policy.services.iter().enumerate() {
        out.id(&service.id, services.index(i).key("id"));
        out.required(&service.name, services.index(i).key("name"), &format!("the name of service `{}`", service.id));
    }
    for (i, id) in duplicates(policy.services.iter().map(|s| s.id.as_str())) {
        out.error(DUPLICATE_ID, services.index(i).key("id"), format!("service id `{id}` is used twice"), None);
    }
    out.required(&policy.content.text, FieldPath::keys("content.text"), "the content section's text");

    let categories = FieldPath::keys("categories");
    for (i, category) in policy.categories.iter().enumerate() {
        let at = categories.index(i);
        let id = &category.id;
        out.id(id, at.key("id"));
        out.required(&category.name, at.key("name"), &format!("the name of category `{id}`"));
        if category.services.is_empty() {
            out.error(
                CATEGORY_WITHOUT_SERVICE,
                at.key("services"),
                format!("category `{id}` names no service"),
                Some("list the ids of the services it is collected for"),
            );
        }
        for (j, service) in category.services.iter().enumerate() {
            if policy.service(service).is_none() {
                out.error(
                    UNKNOWN_SERVICE,
                    at.key("services").index(j),
                    format!("category `{id}` names service `{service}`, which is not in `[[services]]`"),
                    None,
                );
            }
        }
        let unjustified = category.retention_justification.as_ref().is_none_or(Text::is_blank);
        if category.log && unjustified {
            // Counted from the contract's end, a log is kept for the whole contract plus the
            // period: longer than 6 months in all but name.
            let from_contract_end = category.retention.from == RetentionStart::ContractEnd;
            if from_contract_end || category.retention.months > LOG_MONTHS_WITHOUT_JUSTIFICATION {
                let (field, kept) = if from_contract_end {
                    (at.key("retention").key("from"), "until the contract ends".to_string())
                } else {
                    (at.key("retention").key("months"), format!("{} months", category.retention.months))
                };
                out.error(
                    LOG_RETENTION_JUSTIFICATION,
                    field,
                    format!("log category `{id}` is kept {kept} but has no `retention_justification`"),
                    Some("logs are kept at most 6 months from collection unless a business need is written down"),
                );
            }
        }
        for (j, mask) in category.masks.iter().enumerate() {
            out.id(&mask.id, at.key("masks").index(j).key("id"));
            if mask.keep_last.is_none() && mask.keep_first.is_none() {
                out.error(
                    MASK_DEFINITION,
                    at.key("masks").index(j),
                    format!("mask `{}` of category `{id}` keeps nothing", mask.id),
                    Some("set `keep_last` or `keep_first`"),
                );
            }
        }
        for (j, mask) in duplicates(category.masks.iter().map(|m| m.id.as_str())) {
            out.error(
                DUPLICATE_ID,
                at.key("masks").index(j).key("id"),
                format!("mask id `{mask}` is used twice in category `{id}`"),
                None,
            );
        }
    }
    for (i, id) in duplicates(policy.categories.iter().map(|c| c.id.as_str())) {
        out.error(DUPLICATE_ID, categories.index(i).key("id"), format!("category id `{id}` is used twice"), None);
    }
    // Warnings: categories no purpose uses, masks no purpose applies.
    let used: BTreeSet<&str> =
        policy.purposes.list.iter().flat_map(|p| p.categories.iter().map(String::as_str)).collect();
    let masked: BTreeSet<(&str, &str)> =
        policy.purposes.list.iter().flat_map(|p| p.masking.iter().map(|(c, m)| (c.as_str(), m.as_str()))).collect();
    for (i, category) in policy.categories.iter().enumerate() {
        if !used.contains(category.id.as_str()) {
            out.warning(
                UNUSED_CATEGORY,
                categories.index(i).key("id"),
                format!("no purpose uses category `{}`", category.id),
                Some("information without a purpose should not be collected; add it to a purpose or remove it"),
            );
        }
        for (j, mask) in category.masks.iter().enumerate() {
            if !masked.contains(&(category.id.as_str(), mask.id.as_str())) {
                out.warning(
                    UNUSED_MASK,
                    categories.index(i).key("masks").index(j).key("id"),
                    format!("no purpose applies mask `{}` of category `{}`", mask.id, category.id),
                    Some("limit a purpose to it with `masking = { \"category\" = \"mask\" }`, or remove it"),
                );
            }
        }
    }
}

fn acquisition(policy: &Policy, out: &mut Findings) {
    let at = FieldPath::keys("acquisition");
    out.required(&policy.acquisition.text, at.key("text"), "the acquisition section's text");
    if policy.acquisition.methods.is_empty() {
        out.error(
            NO_ACQUISITION_METHOD,
            at.key("methods"),
            "no acquisition method is listed".into(),
            Some("list at least one of oral, written, electronic, audio_recording, video_recording, other"),
        );
    }
    for (i, note) in policy.acquisition.notes.iter().enumerate() {
        out.required(note, at.key("notes").index(i), "an acquisition note");
    }
}

fn purposes(policy: &Policy, out: &mut Findings) {
    let section = FieldPath::keys("purposes");
    let list = section.key("list");
    if policy.purposes.list.is_empty() {
        out.error(NO_PURPOSE, list.clone(), "no purpose of use is listed".into(), Some("add a `[[purposes.list]]`"));
    }
    for (i, purpose) in policy.purposes.list.iter().enumerate() {
        let at = list.index(i);
        let id = &purpose.id;
        out.id(id, at.key("id"));
        out.required(&purpose.text, at.key("text"), &format!("the text of purpose `{id}`"));
        if purpose.categories.is_empty() {
            out.error(
                PURPOSE_WITHOUT_CATEGORY,
                at.key("categories"),
                format!("purpose `{id}` uses no category"),
                Some("list the categories this purpose may use"),
            );
        }
        for (j, category) in purpose.categories.iter().enumerate() {
            if policy.category(category).is_none() {
                out.error(
                    UNKNOWN_CATEGORY,
                    at.key("categories").index(j),
                    format!("purpose `{id}` names category `{category}`, which is not in `[[categories]]`"),
                    None,
                );
            }
        }
        for (category, mask) in &purpose.masking {
            let field = at.key("masking").key(category);
            if !purpose.categories.contains(category) {
                out.error(
                    MASKING_CATEGORY_NOT_USED,
                    field,
                    format!("purpose `{id}` masks category `{category}`, which it does not use"),
                    Some("add the category to the purpose's `categories` or remove the mask"),
                );
            } else if let Some(c) = policy.category(category)
                && !c.masks.iter().any(|m| &m.id == mask)
            {
                out.error(
                    UNKNOWN_MASK,
                    field,
                    format!("purpose `{id}` uses mask `{mask}`, which category `{category}` does not define"),
                    None,
                );
            }
        }
        let secrecy: Vec<&str> = purpose
            .categories
            .iter()
            .filter(|c| policy.category(c).is_some_and(|c| c.tier == Tier::SecrecyOfCommunications))
            .map(String::as_str)
            .collect();
        if purpose.consent == ConsentMode::OptOut && !secrecy.is_empty() {
            out.error(
                SECRECY_NEEDS_OPT_IN,
                at.key("consent"),
                format!(
                    "purpose `{id}` uses secrecy-of-communications categories ({}) with consent `opt_out`",
                    secrecy.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                ),
                Some("beyond providing the service, 通信の秘密 may be used only with prior consent: set `consent = \"opt_in\"`"),
            );
        }
        if purpose.third_party_provision && purpose.consent == ConsentMode::None {
            out.error(
                THIRD_PARTY_NEEDS_CONSENT,
                at.key("consent"),
                format!("purpose `{id}` provides data to third parties with consent `none`"),
                Some("third-party provision needs consent or an opt-out (APPI 27条): use `opt_in` or `opt_out`"),
            );
        }
    }
    for (i, id) in duplicates(policy.purposes.list.iter().map(|p| p.id.as_str())) {
        out.error(DUPLICATE_ID, list.index(i).key("id"), format!("purpose id `{id}` is used twice"), None);
    }
    if let Some(intro) = &policy.purposes.intro {
        out.required(intro, section.key("intro"), "the purposes section's intro");
    }
    for (i, note) in policy.purposes.notes.iter().enumerate() {
        out.required(note, section.key("notes").index(i), "a purposes note");
    }
}

fn security(policy: &Policy, out: &mut Findings) {
    let at = FieldPath::keys("security");
    let measures = at.key("measures");
    out.required(&policy.security.intro, at.key("intro"), "the security section's intro");
    if policy.security.measures.is_empty() {
        out.error(NO_SECURITY_MEASURE, measures.clone(), "no security measure is listed".into(), None);
    }
    for (i, measure) in policy.security.measures.iter().enumerate() {
        out.required(
            &measure.title,
            measures.index(i).key("title"),
            &format!("the title of measure ({})", measure.number),
        );
        out.required(
            &measure.text,
            measures.index(i).key("text"),
            &format!("the text of measure ({})", measure.number),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, measure) in policy.security.measures.iter().enumerate() {
        if !seen.insert(measure.number) {
            out.error(
                DUPLICATE_MEASURE_NUMBER,
                measures.index(i).key("number"),
                format!("measure number ({}) is used twice", measure.number),
                None,
            );
        }
    }
    if !policy.security.measures.is_empty() {
        for kind in MeasureKind::REQUIRED {
            if !policy.security.measures.iter().any(|m| m.kind == kind) {
                let name = kind.code();
                out.error(
                    MISSING_MEASURE_KIND,
                    measures.clone(),
                    format!("no security measure of kind `{name}`"),
                    Some("a policy addresses all seven kinds: basic_policy, rules, organizational, human, physical, technical, external_environment"),
                );
            }
        }
    }
}

fn foreign(policy: &Policy, out: &mut Findings) {
    let f = &policy.foreign;
    let at = FieldPath::keys("foreign");
    if f.none && !f.entries.is_empty() {
        out.error(
            FOREIGN_CONTRADICTION,
            at.key("none"),
            "`none = true` but foreign entries are listed".into(),
            Some("either list the entries or state なし, not both"),
        );
    }
    if !f.none && f.entries.is_empty() {
        out.error(
            FOREIGN_EMPTY,
            at.clone(),
            "the foreign storage section lists no entry and does not state なし".into(),
            Some("add `[[foreign.entries]]` or set `none = true`"),
        );
    }
    if let Some(intro) = &f.intro {
        out.required(intro, at.key("intro"), "the foreign section's intro");
    }
    for (i, entry) in f.entries.iter().enumerate() {
        let row = at.key("entries").index(i);
        if policy.service(&entry.service).is_none() {
            out.error(
                UNKNOWN_SERVICE,
                row.key("service"),
                format!("foreign entry names service `{}`, which is not in `[[services]]`", entry.service),
                None,
            );
        }
        out.required(&entry.country, row.key("country"), "the country of a foreign entry");
        if let Some(code) = &entry.country_code
            && !(code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase()))
        {
            out.error(
                COUNTRY_CODE,
                row.key("country_code"),
                format!("country code `{code}` is not two uppercase letters"),
                Some("use the ISO 3166-1 alpha-2 code, e.g. `US`"),
            );
        }
        match (entry.regimes.is_empty(), entry.regimes_none) {
            (true, false) => out.error(
                REGIMES_MISSING,
                row.clone(),
                "a foreign entry lists no regimes and does not state なし".into(),
                Some("list the foreign regimes in `regimes` or set `regimes_none = true`"),
            ),
            (false, true) => out.error(
                REGIMES_CONTRADICTION,
                row.key("regimes_none"),
                "`regimes_none = true` but regimes are listed".into(),
                None,
            ),
            _ => {}
        }
        for (j, regime) in entry.regimes.iter().enumerate() {
            out.required(regime, row.key("regimes").index(j), "a foreign regime");
        }
    }
}

fn contact_and_leaks(policy: &Policy, out: &mut Findings) {
    let c = &policy.contact;
    let at = FieldPath::keys("contact");
    out.required(&c.text, at.key("text"), "the contact section's text");
    let filled = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
    if !(filled(&c.email)
        || filled(&c.phone)
        || filled(&c.url)
        || c.postal_address.as_ref().is_some_and(|a| !a.is_blank()))
    {
        out.error(
            NO_CONTACT_CHANNEL,
            at.clone(),
            "the contact section gives no way to reach the carrier".into(),
            Some("set at least one of `email`, `phone`, `url`, `postal_address`"),
        );
    }
    if let Some(email) = c.email.as_deref().filter(|e| !e.trim().is_empty())
        && !is_email(email)
    {
        out.error(
            CONTACT_FORMAT,
            at.key("email"),
            format!("contact email `{email}` is not an email address"),
            Some("write one address like `privacy@example.jp`"),
        );
    }
    if let Some(url) = c.url.as_deref().filter(|u| !u.trim().is_empty())
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        out.error(
            CONTACT_FORMAT,
            at.key("url"),
            format!("contact url `{url}` is not a web address"),
            Some("write the full address, starting with `https://`"),
        );
    }
    let leaks = FieldPath::keys("leaks");
    out.required(&policy.leaks.text, leaks.key("text"), "the leak section's text");
    if policy.leaks.years == 0 {
        out.error(
            LEAK_YEARS,
            leaks.key("years"),
            "leaks are listed for 0 years".into(),
            Some("leaks stay listed for at least one year (10 in the usual rule)"),
        );
    }
}

/// One `local@domain.tld` address, without spaces.
fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// One warning per section listing the texts that have Japanese but no English.
fn translations(policy: &Policy, out: &mut Findings) {
    let mut missing: BTreeMap<&'static str, Vec<FieldPath>> = BTreeMap::new();
    let mut note = |section: &'static str, text: &Text, field: FieldPath| {
        if !text.is_blank() && text.en.as_deref().is_none_or(|e| e.trim().is_empty()) {
            missing.entry(section).or_default().push(field);
        }
    };
    let h = FieldPath::keys("header");
    note("header", &policy.header.title, h.key("title"));
    note("header", &policy.header.company, h.key("company"));
    note("header", &policy.header.representative.title, h.key("representative").key("title"));
    note("header", &policy.header.representative.name, h.key("representative").key("name"));
    for (i, r) in policy.header.revisions.iter().enumerate() {
        note("header", &r.summary, h.key("revisions").index(i).key("summary"));
    }
    for (i, s) in policy.services.iter().enumerate() {
        note("services", &s.name, FieldPath::keys("services").index(i).key("name"));
    }
    note("content", &policy.content.text, FieldPath::keys("content.text"));
    for (i, c) in policy.categories.iter().enumerate() {
        let at = FieldPath::keys("categories").index(i);
        note("categories", &c.name, at.key("name"));
        if let Some(n) = &c.retention.note {
            note("categories", n, at.key("retention").key("note"));
        }
        if let Some(j) = &c.retention_justification {
            note("categories", j, at.key("retention_justification"));
        }
    }
    let a = FieldPath::keys("acquisition");
    note("acquisition", &policy.acquisition.text, a.key("text"));
    for (i, n) in policy.acquisition.notes.iter().enumerate() {
        note("acquisition", n, a.key("notes").index(i));
    }
    let p = FieldPath::keys("purposes");
    if let Some(intro) = &policy.purposes.intro {
        note("purposes", intro, p.key("intro"));
    }
    for (i, purpose) in policy.purposes.list.iter().enumerate() {
        note("purposes", &purpose.text, p.key("list").index(i).key("text"));
    }
    for (i, n) in policy.purposes.notes.iter().enumerate() {
        note("purposes", n, p.key("notes").index(i));
    }
    let s = FieldPath::keys("security");
    note("security", &policy.security.intro, s.key("intro"));
    for (i, m) in policy.security.measures.iter().enumerate() {
        note("security", &m.title, s.key("measures").index(i).key("title"));
        note("security", &m.text, s.key("measures").index(i).key("text"));
    }
    let f = FieldPath::keys("foreign");
    if let Some(intro) = &policy.foreign.intro {
        note("foreign", intro, f.key("intro"));
    }
    for (i, e) in policy.foreign.entries.iter().enumerate() {
        let at = f.key("entries").index(i);
        note("foreign", &e.country, at.key("country"));
        if let Some(r) = &e.recipient {
            note("foreign", r, at.key("recipient"));
        }
        for (j, r) in e.regimes.iter().enumerate() {
            note("foreign", r, at.key("regimes").index(j));
        }
        if let Some(m) = &e.recipient_measures {
            note("foreign", m, at.key("recipient_measures"));
        }
    }
    let c = FieldPath::keys("contact");
    note("contact", &policy.contact.text, c.key("text"));
    for (key, text) in [
        ("heading", &policy.contact.heading),
        ("postal_address", &policy.contact.postal_address),
        ("hours", &policy.contact.hours),
    ] {
        if let Some(t) = text {
            note("contact", t, c.key(key));
        }
    }
    note("leaks", &policy.leaks.text, FieldPath::keys("leaks.text"));
    for (section, fields) in missing {
        const SHOWN: usize = 6;
        let mut list = fields.iter().take(SHOWN).map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
        if fields.len() > SHOWN {
            list.push_str(&format!(" and {} more", fields.len() - SHOWN));
        }
        out.warning(
            MISSING_TRANSLATION,
            fields[0].clone(),
            format!("section `{section}` has no English translation for {list}"),
            Some("write `{ ja = \"…\", en = \"…\" }`; the English page shows a visible gap until then"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_syntax() {
        for ok in ["a", "contract.phone", "a-b_c.9"] {
            assert!(is_valid_id(ok), "{ok}");
        }
        for bad in ["", "9a", "A", "a b", "_a", "ａ", "a/b"] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }
}
