//! The policy page: the HTML form of `tokutei_policy::render::Document`. The text rendering
//! walks the same document, so the page and `tokutei policy render` cannot disagree.

use maud::{Markup, html};
use tokutei_policy::render::{Block, Document, Section};

pub(crate) fn document(doc: &Document) -> Markup {
    html! {
        article.policy {
            h1 { (doc.title) }
            @if !doc.meta.is_empty() {
                div.meta { @for line in &doc.meta { p { (line) } } }
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

fn block(block: &Block, level: u8) -> Markup {
    html! {
        @match block {
            Block::Paragraph(text) => p { (text) },
            Block::List(items) => ul { @for item in items { li { (item) } } },
            Block::Note(text) => p.note { (text.trim_start_matches('※')) },
            Block::Subsection { heading, blocks } => {
                @if level <= 3 { h3 { (heading) } } @else { h4 { (heading) } }
                @for b in blocks { (self::block(b, level + 1)) }
            },
            Block::Fields(fields) => dl.fields {
                @for (name, value) in fields { dt { (name) } dd { (value) } }
            },
            Block::Contact { heading, lines } => div.contact {
                @if let Some(h) = heading { p { strong { (h) } } }
                @for line in lines {
                    @if line.contains('@') && !line.contains(' ') {
                        p { a href=(format!("mailto:{line}")) { (line) } }
                    } @else {
                        p { (line) }
                    }
                }
            },
            Block::MissingTranslation(text) => p.missing { (text) },
        }
    }
}
