//! The policy page: the HTML form of `tokutei_policy::render::Document`. The text rendering
//! walks the same document, so the page and `tokutei policy render` cannot disagree.

use maud::{Markup, html};
use tokutei_policy::render::{Block, Document, Inline, MISSING_TRANSLATION, Section};

pub(crate) fn document(doc: &Document) -> Markup {
    html! {
        article.policy {
            h1 { (inline(&doc.title)) }
            @if !doc.meta.is_empty() {
                div.meta { @for line in &doc.meta { p { (inline(line)) } } }
            }
            @if !doc.preamble.is_empty() {
                div.preamble { @for b in &doc.preamble { (block(b, 2)) } }
            }
            @for s in &doc.sections { (section(s)) }
        }
    }
}

/// One section with its heading (`h2`).
pub(crate) fn section(section: &Section) -> Markup {
    html! {
        section id=(section.id) aria-labelledby=(format!("h-{}", section.id)) {
            h2 id=(format!("h-{}", section.id)) { (section.heading) }
            @for b in &section.blocks { (block(b, 3)) }
        }
    }
}

/// Text, or the visible marker that its English translation is missing.
fn inline(text: &Inline) -> Markup {
    html! {
        @match text {
            Inline::Text(t) => (t),
            Inline::MissingTranslation(what) => span.missing title=(what) { (MISSING_TRANSLATION) " (" (what) ")" },
        }
    }
}

fn block(block: &Block, level: u8) -> Markup {
    html! {
        @match block {
            Block::Paragraph(text) => p { (text) },
            Block::List(items) => ul { @for item in items { li { (inline(item)) } } },
            Block::Note(text) => p.note { (text.trim_start_matches('※')) },
            Block::Subsection { heading, blocks } => {
                @if level <= 3 { h3 { (inline(heading)) } } @else { h4 { (inline(heading)) } }
                @for b in blocks { (self::block(b, level + 1)) }
            },
            Block::Fields(fields) => dl.fields {
                @for field in fields { dt { (field.label) } dd { (inline(&field.value)) } }
            },
            Block::Contact { heading, lines } => div.contact {
                @if let Some(h) = heading { p { strong { (inline(h)) } } }
                @for line in lines {
                    @match line {
                        Inline::Text(t) if is_email(t) => p { a href=(format!("mailto:{t}")) { (t) } },
                        other => p { (inline(other)) },
                    }
                }
            },
            Block::MissingTranslation(what) => p.missing { (MISSING_TRANSLATION) " (" (what) ")" },
        }
    }
}

fn is_email(text: &str) -> bool {
    let t = text.trim();
    t.contains('@') && !t.contains(char::is_whitespace) && !t.starts_with('@') && !t.ends_with('@')
}

/// The policy page as one self-contained HTML file (`tokutei policy render --format html`):
/// the same markup as the site's page, with the stylesheet embedded so it opens from disk.
pub(crate) fn standalone(doc: &Document) -> Markup {
    let title = match &doc.title {
        Inline::Text(t) => t.clone(),
        Inline::MissingTranslation(_) => tokutei_policy::render::MISSING_TRANSLATION.to_string(),
    };
    super::standalone(doc.lang, &title, document(doc))
}
