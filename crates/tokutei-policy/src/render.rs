//! The public policy page as a language-specific structure ([`Document`]) and its plain-text
//! rendering ([`text`]).
//!
//! The Document carries everything the page shows and nothing about how it looks: the HTML
//! page (in the web crate) and the text rendering walk the same Document, so they cannot show
//! different content. Japanese is authoritative; an English Document shows the `en` fields and,
//! where a translation is missing, a visible [`Inline::MissingTranslation`] marker instead of
//! falling back to Japanese, so one page never mixes languages.

use serde::Serialize;

use crate::leaks::{self, PublishedLeak};
use crate::model::{AcquisitionMethod, Date, Lang, MeasureKind, Policy, Text};

/// The public policy page in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Document {
    pub lang: Lang,
    /// 特定利用者情報の取扱方針.
    pub title: Inline,
    /// The lines under the title: enactment and revision dates, company, representative.
    pub meta: Vec<Inline>,
    /// The text before the first section (前文), if the policy has one.
    pub preamble: Vec<Block>,
    pub sections: Vec<Section>,
}

/// One section of the page, in the order the law lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    /// One of `content`, `acquisition`, `purposes`, `security`, `foreign`, `contact`, `leaks`
    /// (stable: used as HTML anchors).
    pub id: &'static str,
    pub heading: String,
    pub blocks: Vec<Block>,
}

/// A piece of text in the page's language, or the marker that its translation is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "text", rename_all = "snake_case")]
pub enum Inline {
    Text(String),
    /// No English text was provided for this item; the string names the item (in English).
    MissingTranslation(String),
}

/// A label and its value, e.g. 対象サービス and the service's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub label: String,
    pub value: Inline,
}

/// The content of a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "content", rename_all = "snake_case")]
pub enum Block {
    Paragraph(String),
    /// A bulleted list.
    List(Vec<Inline>),
    /// A ※ note.
    Note(String),
    /// A numbered sub-part, e.g. one security measure.
    Subsection {
        heading: Inline,
        blocks: Vec<Block>,
    },
    /// Label/value rows, e.g. one foreign storage entry or 事故内容 なし.
    Fields(Vec<Field>),
    /// The contact block: its heading and the ways to reach the carrier.
    Contact {
        heading: Option<Inline>,
        lines: Vec<Inline>,
    },
    /// A whole text whose translation is missing; the string names it (in English).
    MissingTranslation(String),
}

/// The marker text shown where an English translation is missing.
pub const MISSING_TRANSLATION: &str = "English translation not provided";

/// Build the public page of `policy` in `lang`, listing the leaks that are inside the rule's
/// window on `today`.
pub fn document(policy: &Policy, lang: Lang, leaks: &[PublishedLeak], today: Date) -> Document {
    let r = Renderer { lang };
    Document {
        lang,
        title: r.inline(&policy.header.title, "title"),
        meta: r.meta(policy),
        preamble: policy.header.preamble.as_ref().map(|p| r.paragraphs(p, "preamble")).unwrap_or_default(),
        sections: vec![
            r.content(policy),
            r.acquisition(policy),
            r.purposes(policy),
            r.security(policy),
            r.foreign(policy),
            r.contact(policy),
            r.leaks(policy, leaks, today),
        ],
    }
}

struct Renderer {
    lang: Lang,
}

impl Renderer {
    fn ja(&self) -> bool {
        self.lang == Lang::Ja
    }

    fn pick(&self, ja: &str, en: &str) -> String {
        if self.ja() { ja.to_string() } else { en.to_string() }
    }

    fn inline(&self, text: &Text, what: &str) -> Inline {
        match text.get(self.lang) {
            Some(s) => Inline::Text(s.to_string()),
            None => Inline::MissingTranslation(what.to_string()),
        }
    }

    /// A text as paragraphs (one per line of the text), or one missing-translation block.
    fn paragraphs(&self, text: &Text, what: &str) -> Vec<Block> {
        match text.get(self.lang) {
            Some(s) => lines(s).map(|l| Block::Paragraph(l.to_string())).collect(),
            None if text.is_blank() => Vec::new(),
            None => vec![Block::MissingTranslation(what.to_string())],
        }
    }

    fn notes(&self, text: &Text, what: &str) -> Vec<Block> {
        match text.get(self.lang) {
            Some(s) => lines(s).map(|l| Block::Note(l.to_string())).collect(),
            None if text.is_blank() => Vec::new(),
            None => vec![Block::MissingTranslation(what.to_string())],
        }
    }

    fn meta(&self, policy: &Policy) -> Vec<Inline> {
        let h = &policy.header;
        let mut meta = vec![Inline::Text(if self.ja() {
            format!("制定 {}", h.enacted.ja())
        } else {
            format!("Enacted {}", h.enacted.en())
        })];
        for rev in &h.revisions {
            meta.push(Inline::Text(if self.ja() {
                format!("改定 {}", rev.date.ja())
            } else {
                format!("Revised {}", rev.date.en())
            }));
        }
        meta.push(self.inline(&h.company, "company name"));
        let rep = &h.representative;
        meta.push(match (rep.title.get(self.lang), rep.name.get(self.lang)) {
            (Some(t), Some(n)) => {
                Inline::Text([t, n].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" "))
            }
            _ => Inline::MissingTranslation("representative".to_string()),
        });
        meta
    }

    fn content(&self, policy: &Policy) -> Section {
        let mut blocks = self.paragraphs(&policy.content.text, "content of the information acquired");
        if policy.content.list_categories {
            for service in &policy.services {
                let items: Vec<Inline> = policy
                    .categories
                    .iter()
                    .filter(|c| c.services.contains(&service.id))
                    .map(|c| match c.name.get(self.lang) {
                        Some(name) => Inline::Text(format!(
                            "{name}{}{}{}{}",
                            self.pick("(", " ("),
                            c.tier.label(self.lang),
                            self.pick("、保存期間: ", "; kept "),
                            self.retention(&c.retention) + &self.pick(")", ")")
                        )),
                        None => Inline::MissingTranslation(format!("category {}", c.id)),
                    })
                    .collect();
                if !items.is_empty() {
                    blocks.push(Block::Subsection {
                        heading: self.inline(&service.name, &format!("service {}", service.id)),
                        blocks: vec![Block::List(items)],
                    });
                }
            }
        }
        Section {
            id: "content",
            heading: self.pick("取得する特定利用者情報の内容", "Specified user information we acquire"),
            blocks,
        }
    }

    /// A retention rule in words, e.g. 取得から12か月 / 12 months from collection.
    fn retention(&self, rule: &crate::model::Retention) -> String {
        use crate::model::RetentionStart;
        let m = rule.months;
        let mut out = match (rule.from, m, self.lang) {
            (RetentionStart::Collection, _, Lang::Ja) => format!("取得から{m}か月"),
            (RetentionStart::Collection, _, Lang::En) => format!("{m} months from collection"),
            (RetentionStart::ContractEnd, 0, Lang::Ja) => "契約終了まで".to_string(),
            (RetentionStart::ContractEnd, 0, Lang::En) => "until the contract ends".to_string(),
            (RetentionStart::ContractEnd, _, Lang::Ja) => format!("契約終了後{m}か月"),
            (RetentionStart::ContractEnd, _, Lang::En) => format!("{m} months after the contract ends"),
        };
        if let Some(note) = rule.note.as_ref().and_then(|n| n.get(self.lang)) {
            out.push_str(self.pick("。", ". ").as_str());
            out.push_str(note);
        }
        out
    }

    fn acquisition(&self, policy: &Policy) -> Section {
        let a = &policy.acquisition;
        let mut blocks = self.paragraphs(&a.text, "how information is acquired");
        if a.text.is_blank() && a.text.en.as_deref().is_none_or(|en| en.trim().is_empty()) {
            // A hand-written policy may give only the structured methods: list them.
            let methods: Vec<AcquisitionMethod> =
                AcquisitionMethod::ALL.into_iter().filter(|m| a.methods.contains(m)).collect();
            blocks.push(Block::List(methods.iter().map(|m| Inline::Text(m.label(self.lang).to_string())).collect()));
        }
        for (i, note) in a.notes.iter().enumerate() {
            blocks.extend(self.paragraphs(note, &format!("acquisition note {}", i + 1)));
        }
        Section { id: "acquisition", heading: self.pick("取得方法", "How we acquire it"), blocks }
    }

    fn purposes(&self, policy: &Policy) -> Section {
        let p = &policy.purposes;
        let mut blocks = Vec::new();
        if let Some(intro) = &p.intro {
            blocks.extend(self.paragraphs(intro, "introduction to the purposes"));
        }
        let items: Vec<Inline> = p
            .list
            .iter()
            .filter(|purpose| !purpose.individually_set)
            .map(|purpose| self.inline(&purpose.text, &format!("purpose `{}`", purpose.id)))
            .collect();
        if !items.is_empty() {
            blocks.push(Block::List(items));
        }
        for (i, note) in p.notes.iter().enumerate() {
            blocks.extend(self.notes(note, &format!("purposes note {}", i + 1)));
        }
        Section {
            id: "purposes", heading: self.pick("利用目的・利用方法", "Purposes and methods of use"), blocks
        }
    }

    fn security(&self, policy: &Policy) -> Section {
        let s = &policy.security;
        let mut blocks = self.paragraphs(&s.intro, "introduction to the security measures");
        for m in &s.measures {
            let what = format!("security measure ({})", m.number);
            let heading = match m.title.get(self.lang) {
                Some(t) if self.ja() => Inline::Text(format!("({}){t}", m.number)),
                Some(t) => Inline::Text(format!("({}) {t}", m.number)),
                None => Inline::MissingTranslation(format!("{what} {}", kind_name(m.kind))),
            };
            blocks.push(Block::Subsection { heading, blocks: self.paragraphs(&m.text, &what) });
        }
        Section { id: "security", heading: self.pick("安全管理措置", "Security measures"), blocks }
    }

    fn foreign(&self, policy: &Policy) -> Section {
        let f = &policy.foreign;
        let mut blocks = Vec::new();
        if let Some(intro) = &f.intro {
            blocks.extend(self.paragraphs(intro, "introduction to storage abroad"));
        }
        if f.none {
            blocks.push(Block::Paragraph(self.pick("なし", "None")));
        }
        for e in &f.entries {
            let service = match policy.service(&e.service) {
                Some(s) => self.inline(&s.name, &format!("name of service `{}`", s.id)),
                None => Inline::Text(e.service.clone()),
            };
            let mut fields = vec![
                Field { label: self.pick("対象サービス", "Service"), value: service },
                Field {
                    label: self.pick("保管・委託先国名称", "Country of storage or delegation"),
                    value: self.inline(&e.country, "country name"),
                },
            ];
            if let Some(recipient) = &e.recipient {
                fields.push(Field {
                    label: self.pick("保管・委託先", "Recipient"),
                    value: self.inline(recipient, "recipient name"),
                });
            }
            let regimes = if e.regimes_none || e.regimes.is_empty() {
                Inline::Text(self.pick("なし", "None"))
            } else {
                let texts: Option<Vec<&str>> = e.regimes.iter().map(|r| r.get(self.lang)).collect();
                match texts {
                    Some(t) => Inline::Text(t.join(if self.ja() { "、" } else { "; " })),
                    None => Inline::MissingTranslation("foreign regimes".to_string()),
                }
            };
            fields.push(Field {
                label: self.pick(
                    "特定利用者情報の適正な取扱いに影響を及ぼすおそれのある上記国の制度",
                    "Regimes of that country that may affect the appropriate handling of specified user information",
                ),
                value: regimes,
            });
            if let Some(measures) = &e.recipient_measures {
                fields.push(Field {
                    label: self.pick("委託先が講ずる措置", "Measures taken by the recipient"),
                    value: self.inline(measures, "measures taken by the recipient"),
                });
            }
            blocks.push(Block::Fields(fields));
        }
        Section {
            id: "foreign",
            heading: self.pick(
                "特定利用者情報の海外への保管・取扱いの委託",
                "Storage and handling of specified user information abroad",
            ),
            blocks,
        }
    }

    fn contact(&self, policy: &Policy) -> Section {
        let c = &policy.contact;
        let mut blocks = self.paragraphs(&c.text, "contact text");
        let heading = c.heading.as_ref().map(|h| self.inline(h, "contact heading"));
        let mut lines = Vec::new();
        for plain in [&c.email, &c.phone, &c.url].into_iter().flatten() {
            lines.push(Inline::Text(plain.clone()));
        }
        if let Some(address) = &c.postal_address {
            lines.push(self.inline(address, "postal address"));
        }
        if let Some(hours) = &c.hours {
            lines.push(self.inline(hours, "opening hours"));
        }
        if heading.is_some() || !lines.is_empty() {
            blocks.push(Block::Contact { heading, lines });
        }
        Section { id: "contact", heading: self.pick("お問い合わせ", "Contact"), blocks }
    }

    fn leaks(&self, policy: &Policy, published: &[PublishedLeak], today: Date) -> Section {
        let rule = &policy.leaks;
        let mut blocks = self.paragraphs(&rule.text, "leak disclosure rule");
        let listed = leaks::listed(rule, published, today);
        let label = self.pick("事故内容", "Incidents");
        if listed.is_empty() {
            blocks.push(Block::Fields(vec![Field {
                label: label.clone(),
                value: Inline::Text(self.pick("なし", "None")),
            }]));
        }
        for leak in listed {
            blocks.push(Block::Fields(vec![
                Field {
                    label: self.pick("発生日", "Date of occurrence"),
                    value: Inline::Text(leak.occurred.in_lang(self.lang)),
                },
                Field { label: label.clone(), value: self.inline(&leak.summary, &format!("incident `{}`", leak.id)) },
            ]));
        }
        Section {
            id: "leaks",
            heading: self.pick("特定利用者情報の漏えい", "Leaks of specified user information"),
            blocks,
        }
    }
}

fn kind_name(kind: MeasureKind) -> &'static str {
    match kind {
        MeasureKind::BasicPolicy => "basic policy",
        MeasureKind::Rules => "rules for handling",
        MeasureKind::Organizational => "organisational measures",
        MeasureKind::Human => "human measures",
        MeasureKind::Physical => "physical measures",
        MeasureKind::Technical => "technical measures",
        MeasureKind::ExternalEnvironment => "understanding the external environment",
        MeasureKind::Other => "other measures",
    }
}

/// The non-blank lines of a multi-line text field.
fn lines(s: &str) -> impl Iterator<Item = &str> {
    s.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// The plain-text rendering: headings on their own lines, one line per paragraph, list items
/// with `・` (`- ` in English), ※ notes (`Note: `), `label：value` fields; a blank line
/// between sections.
pub fn text(doc: &Document) -> String {
    let ja = doc.lang == Lang::Ja;
    let mut out = String::new();
    out.push_str(&inline_text(&doc.title));
    out.push('\n');
    for m in &doc.meta {
        out.push_str(&inline_text(m));
        out.push('\n');
    }
    if !doc.preamble.is_empty() {
        out.push('\n');
        for block in &doc.preamble {
            block_text(block, ja, &mut out);
        }
    }
    for section in &doc.sections {
        out.push('\n');
        out.push_str(&section.heading);
        out.push('\n');
        for block in &section.blocks {
            block_text(block, ja, &mut out);
        }
    }
    out
}

fn inline_text(i: &Inline) -> String {
    match i {
        Inline::Text(s) => s.clone(),
        Inline::MissingTranslation(what) => format!("[{MISSING_TRANSLATION}: {what}]"),
    }
}

fn block_text(block: &Block, ja: bool, out: &mut String) {
    let sep = if ja { "：" } else { ": " };
    match block {
        Block::Paragraph(p) => {
            out.push_str(p);
            out.push('\n');
        }
        Block::List(items) => {
            for item in items {
                out.push_str(if ja { "・" } else { "- " });
                out.push_str(&inline_text(item));
                out.push('\n');
            }
        }
        Block::Note(n) => {
            out.push_str(if ja { "※" } else { "Note: " });
            out.push_str(n);
            out.push('\n');
        }
        Block::Subsection { heading, blocks } => {
            out.push_str(&inline_text(heading));
            out.push('\n');
            for b in blocks {
                block_text(b, ja, out);
            }
        }
        Block::Fields(fields) => {
            for f in fields {
                out.push_str(&f.label);
                out.push_str(sep);
                out.push_str(&inline_text(&f.value));
                out.push('\n');
            }
        }
        Block::Contact { heading, lines } => {
            if let Some(h) = heading {
                out.push('<');
                out.push_str(&inline_text(h));
                out.push_str(">\n");
            }
            for l in lines {
                out.push_str(&inline_text(l));
                out.push('\n');
            }
        }
        Block::MissingTranslation(what) => {
            out.push_str(&inline_text(&Inline::MissingTranslation(what.clone())));
            out.push('\n');
        }
    }
}
