//! Field paths (`purposes.list[2].categories[1]`) and where they are in a policy file: the
//! bridge between a semantic finding on the model and the line a person has to edit.

use std::fmt;
use std::ops::Range;

use toml_edit::{Document, Item, Table, Value};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// A path to a field of the policy file, written like `purposes.list[2].masking."contract.phone"`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct FieldPath(pub(crate) Vec<Step>);

impl FieldPath {
    pub(crate) fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    pub(crate) fn key(&self, key: &str) -> FieldPath {
        let mut steps = self.0.clone();
        steps.push(Step::Key(key.to_string()));
        FieldPath(steps)
    }

    pub(crate) fn index(&self, index: usize) -> FieldPath {
        let mut steps = self.0.clone();
        steps.push(Step::Index(index));
        FieldPath(steps)
    }

    /// `a.b.c` (keys only) as a path.
    pub(crate) fn keys(dotted: &str) -> FieldPath {
        FieldPath(dotted.split('.').filter(|k| !k.is_empty()).map(|k| Step::Key(k.to_string())).collect())
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                        f.write_str(k)?;
                    } else {
                        write!(f, "{k:?}")?;
                    }
                }
                Step::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The byte range of `path` in `doc`, or of its nearest existing parent.
pub(crate) fn span_of(doc: &Document<String>, path: &FieldPath) -> Option<Range<usize>> {
    walk_table(doc.as_table(), &path.0, first_span(doc.as_item()))
}

fn walk_table(table: &Table, steps: &[Step], best: Option<Range<usize>>) -> Option<Range<usize>> {
    let Some((step, rest)) = steps.split_first() else { return best };
    let Step::Key(k) = step else { return best };
    let Some(child) = table.get(k) else { return best };
    let best = key_value_span(table.key(k).and_then(|key| key.span()), child).or(best);
    match child {
        Item::Table(t) => walk_table(t, rest, best),
        Item::Value(v) => walk_value(v, rest, best),
        Item::ArrayOfTables(a) => match rest.split_first() {
            Some((Step::Index(n), rest)) => match a.get(*n) {
                Some(t) => walk_table(t, rest, table_span(t).or(best)),
                None => best,
            },
            _ => best,
        },
        Item::None => best,
    }
}

fn walk_value(value: &Value, steps: &[Step], best: Option<Range<usize>>) -> Option<Range<usize>> {
    let Some((step, rest)) = steps.split_first() else { return best };
    match (value, step) {
        (Value::Array(array), Step::Index(n)) => match array.get(*n) {
            Some(v) => walk_value(v, rest, v.span().or(best)),
            None => best,
        },
        (Value::InlineTable(table), Step::Key(k)) => match table.get(k) {
            Some(v) => {
                let key_span = table.key(k).and_then(|key| key.span());
                let span = match (key_span, v.span()) {
                    (Some(a), Some(b)) => Some(a.start..b.end),
                    (a, b) => b.or(a),
                };
                walk_value(v, rest, span.or(best))
            }
            None => best,
        },
        _ => best,
    }
}

fn key_value_span(key: Option<Range<usize>>, item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Value(v) => match (key, v.span()) {
            (Some(a), Some(b)) => Some(a.start..b.end),
            (a, b) => b.or(a),
        },
        other => first_span(other).or(key),
    }
}

fn table_span(table: &Table) -> Option<Range<usize>> {
    table
        .span()
        .or_else(|| table.iter().find_map(|(k, item)| key_value_span(table.key(k).and_then(|key| key.span()), item)))
}

/// The span of an item, or for an implicit table the first span inside it.
fn first_span(item: &Item) -> Option<Range<usize>> {
    match item {
        Item::Value(v) => v.span(),
        Item::Table(t) => table_span(t),
        Item::ArrayOfTables(a) => a.span().or_else(|| a.iter().find_map(table_span)),
        Item::None => None,
    }
}

/// The field path of the innermost item that contains byte `offset` (for parse errors).
pub(crate) fn path_at(doc: &Document<String>, offset: usize) -> FieldPath {
    let mut path = FieldPath::root();
    find_in_table(doc.as_table(), offset, &mut path);
    path
}

fn contains(span: Option<Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

fn find_in_table(table: &Table, offset: usize, path: &mut FieldPath) -> bool {
    // Tables declared with a header own the lines after it up to the next header, so among
    // sibling tables the last one starting before `offset` is the candidate.
    let mut candidate: Option<(String, &Item)> = None;
    for (k, item) in table.iter() {
        let kv = key_value_span(table.key(k).and_then(|key| key.span()), item);
        if let Item::Value(v) = item {
            if contains(kv.clone(), offset) {
                path.0.push(Step::Key(k.to_string()));
                find_in_value(v, offset, path);
                return true;
            }
            continue;
        }
        if first_span(item).is_some_and(|s| s.start <= offset) {
            candidate = Some((k.to_string(), item));
        }
    }
    let Some((k, item)) = candidate else { return false };
    path.0.push(Step::Key(k));
    match item {
        Item::Table(t) => {
            find_in_table(t, offset, path);
        }
        Item::ArrayOfTables(a) => {
            let last = a.iter().enumerate().filter(|(_, t)| table_span(t).is_some_and(|s| s.start <= offset)).last();
            if let Some((n, t)) = last {
                path.0.push(Step::Index(n));
                find_in_table(t, offset, path);
            }
        }
        _ => {}
    }
    true
}

fn find_in_value(value: &Value, offset: usize, path: &mut FieldPath) {
    match value {
        Value::Array(array) => {
            for (n, v) in array.iter().enumerate() {
                if contains(v.span(), offset) {
                    path.0.push(Step::Index(n));
                    find_in_value(v, offset, path);
                    return;
                }
            }
        }
        Value::InlineTable(table) => {
            for (k, v) in table.iter() {
                let key_span = table.key(k).and_then(|key| key.span());
                let span = match (key_span, v.span()) {
                    (Some(a), Some(b)) => Some(a.start..b.end),
                    (a, b) => b.or(a),
                };
                if contains(span, offset) {
                    path.0.push(Step::Key(k.to_string()));
                    find_in_value(v, offset, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "format = 1\n[header]\ntitle = { ja = \"t\", en = \"T\" }\n[[purposes.list]]\nid = \"a\"\ncategories = [\"x\", \"y\"]\n[[purposes.list]]\nid = \"b\"\nmasking = { \"contract.phone\" = \"last4\" }\n";

    fn line(path: &FieldPath) -> usize {
        let doc = Document::parse(DOC.to_string()).unwrap();
        let span = span_of(&doc, path).unwrap();
        DOC[..span.start].matches('\n').count() + 1
    }

    #[test]
    fn paths_resolve_to_their_line_or_nearest_parent() {
        let list = FieldPath::keys("purposes.list");
        let cases = [
            (FieldPath::keys("header.title.en"), 3),
            (list.index(0).key("categories").index(1), 6),
            (list.index(1), 7),
            (list.index(1).key("masking").key("contract.phone"), 9),
            (list.index(1).key("categories"), 7),
            (FieldPath::keys("header.missing"), 2),
            (FieldPath::keys("nowhere"), 1),
        ];
        for (path, expected) in cases {
            assert_eq!(line(&path), expected, "{path}");
        }
    }

    #[test]
    fn display_quotes_dotted_keys() {
        let path = FieldPath::keys("purposes.list").index(1).key("masking").key("contract.phone");
        assert_eq!(path.to_string(), "purposes.list[1].masking.\"contract.phone\"");
    }

    #[test]
    fn offsets_map_back_to_paths() {
        let doc = Document::parse(DOC.to_string()).unwrap();
        let at = |needle: &str| path_at(&doc, DOC.find(needle).unwrap()).to_string();
        assert_eq!(at("\"y\""), "purposes.list[0].categories[1]");
        assert_eq!(at("\"b\""), "purposes.list[1].id");
        assert_eq!(at("\"T\""), "header.title.en");
    }
}
