//! `policy diff`: the section-aware difference between two policy versions, as data (for
//! `--json` and the version history page) and as a stable, readable text.
//!
//! Items with an identity are matched by it (services, categories and purposes by id,
//! security measures by number, foreign rows by service and country, revisions by date), so
//! a reordered list is not a change and a renamed purpose shows as a text change of the same
//! purpose. Every change lists the fields that differ, with old and new values; lists of ids
//! (a purpose's categories, channels…) show what was added and removed.

use std::fmt;

use serde::Serialize;

use crate::model::{Category, ForeignEntry, Lang, Policy, Purpose, Revision, SecurityMeasure, Service, Text};

/// The difference between two policy versions, in section order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PolicyDiff {
    pub changes: Vec<Change>,
}

/// The part of the policy a change belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// The header's own fields (title, company, representative, dates).
    Header,
    /// One entry of the revision history, by date.
    Revision,
    Service,
    /// The content section's text.
    Content,
    Category,
    Acquisition,
    /// The purposes section's intro and notes.
    Purposes,
    Purpose,
    /// The security section's intro.
    Security,
    Measure,
    /// The foreign section's intro and its なし statement.
    Foreign,
    ForeignEntry,
    Contact,
    Leaks,
    Unplaced,
}

impl Subject {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Subject::Header, Lang::En) => "header",
            (Subject::Revision, Lang::En) => "revision",
            (Subject::Service, Lang::En) => "service",
            (Subject::Content, Lang::En) => "content",
            (Subject::Category, Lang::En) => "category",
            (Subject::Acquisition, Lang::En) => "acquisition",
            (Subject::Purposes, Lang::En) => "purposes",
            (Subject::Purpose, Lang::En) => "purpose",
            (Subject::Security, Lang::En) => "security",
            (Subject::Measure, Lang::En) => "measure",
            (Subject::Foreign, Lang::En) => "foreign",
            (Subject::ForeignEntry, Lang::En) => "foreign row",
            (Subject::Contact, Lang::En) => "contact",
            (Subject::Leaks, Lang::En) => "leaks",
            (Subject::Unplaced, Lang::En) => "unplaced",
            (Subject::Header, Lang::Ja) => "基本情報",
            (Subject::Revision, Lang::Ja) => "改定",
            (Subject::Service, Lang::Ja) => "サービス",
            (Subject::Content, Lang::Ja) => "取得する特定利用者情報の内容",
            (Subject::Category, Lang::Ja) => "情報区分",
            (Subject::Acquisition, Lang::Ja) => "取得方法",
            (Subject::Purposes, Lang::Ja) => "利用目的・利用方法",
            (Subject::Purpose, Lang::Ja) => "利用目的",
            (Subject::Security, Lang::Ja) => "安全管理措置",
            (Subject::Measure, Lang::Ja) => "措置",
            (Subject::Foreign, Lang::Ja) => "海外への保管・取扱いの委託",
            (Subject::ForeignEntry, Lang::Ja) => "海外保管",
            (Subject::Contact, Lang::Ja) => "お問い合わせ",
            (Subject::Leaks, Lang::Ja) => "漏えい",
            (Subject::Unplaced, Lang::Ja) => "未配置の文",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    fn sign(self) -> char {
        match self {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
        }
    }
}

/// One added, removed or changed item (or a section's own fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Unique within the diff: `purpose:marketing`, `measure:3`, `header`.
    pub id: String,
    pub subject: Subject,
    pub kind: ChangeKind,
    /// The item's identity within its subject (`marketing`, `3`, `global_vpn/US`); `None`
    /// for a section's own fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// What the item is called (a purpose's text, a category's name…), for added and removed
    /// items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<Text>,
    /// The fields that differ, for changed items.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// One field of a changed item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum FieldChange {
    /// A value that was replaced (`None`: absent).
    Value { field: String, old: Option<String>, new: Option<String> },
    /// A list of ids or texts: what was added and what was removed.
    Set { field: String, added: Vec<String>, removed: Vec<String> },
}

/// The difference from `old` to `new`.
pub fn diff(old: &Policy, new: &Policy) -> PolicyDiff {
    let mut d = Differ::default();
    d.header(old, new);
    d.keyed(
        Subject::Service,
        &old.services,
        &new.services,
        |s: &Service| s.id.clone(),
        |s| s.name.clone(),
        |f, o, n| {
            f.text("name", &o.name, &n.name);
            f.value("designated", o.designated, n.designated);
        },
    );
    d.section(Subject::Content, |f| f.text("text", &old.content.text, &new.content.text));
    d.keyed(
        Subject::Category,
        &old.categories,
        &new.categories,
        |c: &Category| c.id.clone(),
        |c| c.name.clone(),
        category,
    );
    d.section(Subject::Acquisition, |f| {
        let (o, n) = (&old.acquisition, &new.acquisition);
        f.text("text", &o.text, &n.text);
        f.set("methods", o.methods.iter().map(|m| m.id().to_string()), n.methods.iter().map(|m| m.id().to_string()));
        f.value("direct", o.direct, n.direct);
        f.value("indirect", o.indirect, n.indirect);
        f.texts("notes", &o.notes, &n.notes);
    });
    d.section(Subject::Purposes, |f| {
        f.opt_text("intro", old.purposes.intro.as_ref(), new.purposes.intro.as_ref());
        f.texts("notes", &old.purposes.notes, &new.purposes.notes);
    });
    d.keyed(
        Subject::Purpose,
        &old.purposes.list,
        &new.purposes.list,
        |p: &Purpose| p.id.clone(),
        |p| p.text.clone(),
        purpose,
    );
    d.section(Subject::Security, |f| f.text("intro", &old.security.intro, &new.security.intro));
    d.keyed(
        Subject::Measure,
        &old.security.measures,
        &new.security.measures,
        |m: &SecurityMeasure| m.number.to_string(),
        |m| m.title.clone(),
        |f, o, n| {
            f.value("kind", id_of(&o.kind), id_of(&n.kind));
            f.text("title", &o.title, &n.title);
            f.text("text", &o.text, &n.text);
            f.value("owner", id_of(&o.owner), id_of(&n.owner));
        },
    );
    d.section(Subject::Foreign, |f| {
        f.opt_text("intro", old.foreign.intro.as_ref(), new.foreign.intro.as_ref());
        f.value("none", old.foreign.none, new.foreign.none);
    });
    d.keyed(
        Subject::ForeignEntry,
        &old.foreign.entries,
        &new.foreign.entries,
        foreign_key,
        |e| e.country.clone(),
        foreign_entry,
    );
    d.section(Subject::Contact, |f| {
        let (o, n) = (&old.contact, &new.contact);
        f.text("text", &o.text, &n.text);
        f.opt_text("heading", o.heading.as_ref(), n.heading.as_ref());
        f.opt("email", o.email.as_ref(), n.email.as_ref());
        f.opt("phone", o.phone.as_ref(), n.phone.as_ref());
        f.opt("url", o.url.as_ref(), n.url.as_ref());
        f.opt_text("postal_address", o.postal_address.as_ref(), n.postal_address.as_ref());
        f.opt_text("hours", o.hours.as_ref(), n.hours.as_ref());
    });
    d.section(Subject::Leaks, |f| {
        f.text("text", &old.leaks.text, &new.leaks.text);
        f.value("since", old.leaks.since, new.leaks.since);
        f.value("years", old.leaks.years, new.leaks.years);
    });
    d.section(Subject::Unplaced, |f| {
        let lines = |p: &Policy| p.unplaced.iter().map(|u| format!("{}: {}", u.line, u.text)).collect::<Vec<_>>();
        f.set("lines", lines(old), lines(new));
    });
    PolicyDiff { changes: d.changes }
}

fn category(f: &mut Fields, o: &Category, n: &Category) {
    f.text("name", &o.name, &n.name);
    f.set("services", o.services.iter().cloned(), n.services.iter().cloned());
    f.value("tier", id_of(&o.tier), id_of(&n.tier));
    f.value("retention.from", id_of(&o.retention.from), id_of(&n.retention.from));
    f.value("retention.months", o.retention.months, n.retention.months);
    f.opt_text("retention.note", o.retention.note.as_ref(), n.retention.note.as_ref());
    f.opt_text("retention_justification", o.retention_justification.as_ref(), n.retention_justification.as_ref());
    f.value("log", o.log, n.log);
    f.value("searchable", o.searchable, n.searchable);
    f.value("binary", o.binary, n.binary);
    let masks = |c: &Category| {
        c.masks
            .iter()
            .map(|m| {
                let mut keep = Vec::new();
                if let Some(n) = m.keep_first {
                    keep.push(format!("keep_first {n}"));
                }
                if let Some(n) = m.keep_last {
                    keep.push(format!("keep_last {n}"));
                }
                format!("{} ({})", m.id, keep.join(", "))
            })
            .collect::<Vec<_>>()
    };
    f.set("masks", masks(o), masks(n));
}

fn purpose(f: &mut Fields, o: &Purpose, n: &Purpose) {
    f.text("text", &o.text, &n.text);
    f.value("consent", id_of(&o.consent), id_of(&n.consent));
    f.set("categories", o.categories.iter().cloned(), n.categories.iter().cloned());
    f.set("channels", o.channels.iter().map(id_of), n.channels.iter().map(id_of));
    f.value("continues_after_termination", o.continues_after_termination, n.continues_after_termination);
    f.value("third_party_provision", o.third_party_provision, n.third_party_provision);
    f.value("individually_set", o.individually_set, n.individually_set);
    let masking = |p: &Purpose| p.masking.iter().map(|(c, m)| format!("{c} = {m}")).collect::<Vec<_>>();
    f.set("masking", masking(o), masking(n));
}

fn foreign_key(e: &ForeignEntry) -> String {
    format!("{}/{}", e.service, e.country_code.clone().unwrap_or_else(|| e.country.ja.clone()))
}

fn foreign_entry(f: &mut Fields, o: &ForeignEntry, n: &ForeignEntry) {
    f.text("country", &o.country, &n.country);
    f.opt("country_code", o.country_code.as_ref(), n.country_code.as_ref());
    f.value("kind", id_of(&o.kind), id_of(&n.kind));
    f.opt_text("recipient", o.recipient.as_ref(), n.recipient.as_ref());
    f.set("regimes", o.regimes.iter().map(|r| r.ja.clone()), n.regimes.iter().map(|r| r.ja.clone()));
    let en = |e: &ForeignEntry| e.regimes.iter().filter_map(|r| r.en.clone()).collect::<Vec<_>>();
    f.set("regimes.en", en(o), en(n));
    f.value("regimes_none", o.regimes_none, n.regimes_none);
    f.opt_text("recipient_measures", o.recipient_measures.as_ref(), n.recipient_measures.as_ref());
    f.value("reviewed", o.reviewed, n.reviewed);
}

/// The snake_case name a value has in the policy file (enums).
fn id_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[derive(Default)]
struct Differ {
    changes: Vec<Change>,
}

impl Differ {
    fn header(&mut self, old: &Policy, new: &Policy) {
        let (o, n) = (&old.header, &new.header);
        self.section(Subject::Header, |f| {
            f.text("title", &o.title, &n.title);
            f.text("company", &o.company, &n.company);
            f.text("representative.title", &o.representative.title, &n.representative.title);
            f.text("representative.name", &o.representative.name, &n.representative.name);
            f.value("enacted", o.enacted, n.enacted);
            f.opt("effective", o.effective, n.effective);
        });
        self.keyed(
            Subject::Revision,
            &o.revisions,
            &n.revisions,
            |r: &Revision| r.date.to_string(),
            |r| r.summary.clone(),
            |f, o, n| f.text("summary", &o.summary, &n.summary),
        );
    }

    /// A section's own fields: one `changed` entry when any differs.
    fn section(&mut self, subject: Subject, compare: impl FnOnce(&mut Fields)) {
        let mut fields = Fields::default();
        compare(&mut fields);
        if !fields.0.is_empty() {
            self.changes.push(Change {
                id: id_of(&subject),
                subject,
                kind: ChangeKind::Changed,
                item: None,
                label: None,
                fields: fields.0,
            });
        }
    }

    /// Items matched by `key`: changed and added in the new order, then removed in the old.
    fn keyed<T>(
        &mut self,
        subject: Subject,
        old: &[T],
        new: &[T],
        key: impl Fn(&T) -> String,
        label: impl Fn(&T) -> Text,
        compare: impl Fn(&mut Fields, &T, &T),
    ) {
        let change = |kind, item: String, label: Option<Text>, fields: Vec<FieldChange>| Change {
            id: format!("{}:{item}", id_of(&subject)),
            subject,
            kind,
            item: Some(item),
            label,
            fields,
        };
        for n in new {
            let k = key(n);
            match old.iter().find(|o| key(o) == k) {
                Some(o) => {
                    let mut fields = Fields::default();
                    compare(&mut fields, o, n);
                    if !fields.0.is_empty() {
                        self.changes.push(change(ChangeKind::Changed, k, None, fields.0));
                    }
                }
                None => self.changes.push(change(ChangeKind::Added, k, Some(label(n)), Vec::new())),
            }
        }
        for o in old {
            let k = key(o);
            if !new.iter().any(|n| key(n) == k) {
                self.changes.push(change(ChangeKind::Removed, k, Some(label(o)), Vec::new()));
            }
        }
    }
}

#[derive(Default)]
struct Fields(Vec<FieldChange>);

impl Fields {
    fn value<T: PartialEq + fmt::Display>(&mut self, field: &str, old: T, new: T) {
        if old != new {
            self.0.push(FieldChange::Value {
                field: field.to_string(),
                old: Some(old.to_string()),
                new: Some(new.to_string()),
            });
        }
    }

    fn opt<T: PartialEq + fmt::Display>(&mut self, field: &str, old: Option<T>, new: Option<T>) {
        if old != new {
            self.0.push(FieldChange::Value {
                field: field.to_string(),
                old: old.map(|v| v.to_string()),
                new: new.map(|v| v.to_string()),
            });
        }
    }

    /// A text compares as its two languages: `field.ja` and `field.en`.
    fn text(&mut self, field: &str, old: &Text, new: &Text) {
        self.opt_text(field, Some(old), Some(new));
    }

    fn opt_text(&mut self, field: &str, old: Option<&Text>, new: Option<&Text>) {
        let ja = |t: Option<&Text>| t.map(|t| t.ja.clone()).filter(|s| !s.is_empty());
        let en = |t: Option<&Text>| t.and_then(|t| t.en.clone()).filter(|s| !s.is_empty());
        self.opt(&format!("{field}.ja"), ja(old), ja(new));
        self.opt(&format!("{field}.en"), en(old), en(new));
    }

    /// A list of texts (notes) compares position by position.
    fn texts(&mut self, field: &str, old: &[Text], new: &[Text]) {
        for i in 0..old.len().max(new.len()) {
            self.opt_text(&format!("{field}[{i}]"), old.get(i), new.get(i));
        }
    }

    fn set(&mut self, field: &str, old: impl IntoIterator<Item = String>, new: impl IntoIterator<Item = String>) {
        let (old, new): (Vec<String>, Vec<String>) = (old.into_iter().collect(), new.into_iter().collect());
        let added: Vec<String> = new.iter().filter(|n| !old.contains(n)).cloned().collect();
        let removed: Vec<String> = old.iter().filter(|o| !new.contains(o)).cloned().collect();
        if !added.is_empty() || !removed.is_empty() {
            self.0.push(FieldChange::Set { field: field.to_string(), added, removed });
        }
    }
}

/// A field whose old and new values are wider than this (in terminal columns) is shown on
/// three lines instead of one.
const INLINE_WIDTH: usize = 72;

/// Terminal columns: Japanese characters take two.
fn width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

impl PolicyDiff {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// A readable text, one line per change or changed field, e.g.
    /// `+ purpose marketing: …` and `~ purpose ads: consent opt_out → opt_in`.
    pub fn human(&self, lang: Lang) -> String {
        let none = match lang {
            Lang::Ja => "(なし)",
            Lang::En => "(none)",
        };
        let mut out = String::new();
        for change in &self.changes {
            let mut head = format!("{} {}", change.kind.sign(), change.subject.label(lang));
            if let Some(item) = &change.item {
                head.push(' ');
                head.push_str(item);
            }
            if change.fields.is_empty() {
                let label = change.label.as_ref().map(|l| l.get(lang).unwrap_or(&l.ja)).unwrap_or_default();
                out.push_str(&format!("{head}: {}\n", one_line(label)));
            }
            for field in &change.fields {
                match field {
                    FieldChange::Value { field, old, new } => {
                        let old = old.as_deref().unwrap_or(none);
                        let new = new.as_deref().unwrap_or(none);
                        if width(old) + width(new) <= INLINE_WIDTH && !old.contains('\n') && !new.contains('\n') {
                            out.push_str(&format!("{head}: {field} {old} → {new}\n"));
                        } else {
                            out.push_str(&format!(
                                "{head}: {field}\n    - {}\n    + {}\n",
                                one_line(old),
                                one_line(new)
                            ));
                        }
                    }
                    FieldChange::Set { field, added, removed } => {
                        let mut parts: Vec<String> = added.iter().map(|a| format!("+{a}")).collect();
                        parts.extend(removed.iter().map(|r| format!("-{r}")));
                        out.push_str(&format!("{head}: {field} {}\n", parts.join(" ")));
                    }
                }
            }
        }
        out
    }
}

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

impl fmt::Display for PolicyDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.human(Lang::En))
    }
}
