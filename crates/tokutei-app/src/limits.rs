//! What a caller may name in one call: lengths and characters of ids, the number of
//! subscribers. Checked before anything is decided or written, so an oversized or malformed
//! request leaves no trace but its error, and the audit ledger cannot be grown by long names.

use crate::error::{ActionError, ActionResult};

/// The longest id (subscriber, principal, purpose, category, zone, export request), in characters.
pub const MAX_ID_CHARS: usize = 64;

/// The longest free-text name a call carries (a third-party recipient), in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// The most subscribers one call may name (larger exports go through approved batches).
pub const MAX_SUBSCRIBERS: usize = 1_000;

/// The most subscribers one explanation may name: an explanation reveals facts (existence,
/// contract state, choices) of each, so it is kept to a case at a time.
pub const MAX_EXPLAIN_SUBSCRIBERS: usize = 20;

/// The most categories one call may name.
pub const MAX_CATEGORIES: usize = 64;

/// An id: 1–[`MAX_ID_CHARS`] characters, none of them white space or control characters.
pub fn id(field: &str, value: &str) -> ActionResult<()> {
    if value.is_empty() {
        return Err(ActionError::BadRequest(format!("`{field}` is empty")));
    }
    let chars = value.chars().count();
    if chars > MAX_ID_CHARS {
        return Err(ActionError::BadRequest(format!(
            "`{field}` has {chars} characters; an id has at most {MAX_ID_CHARS}"
        )));
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ActionError::BadRequest(format!("`{field}` holds white space or a control character")));
    }
    Ok(())
}

/// A name: 1–[`MAX_NAME_CHARS`] characters, no control characters.
pub fn name(field: &str, value: &str) -> ActionResult<()> {
    let chars = value.chars().count();
    if value.trim().is_empty() {
        return Err(ActionError::BadRequest(format!("`{field}` is empty")));
    }
    if chars > MAX_NAME_CHARS {
        return Err(ActionError::BadRequest(format!(
            "`{field}` has {chars} characters; at most {MAX_NAME_CHARS} are allowed"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(ActionError::BadRequest(format!("`{field}` holds a control character")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: fn(&str, &str) -> ActionResult<()>, value: &str, expected: Option<&str>) {
        match (f("field", value), expected) {
            (Ok(()), None) => {}
            (Err(e), Some(want)) => assert!(e.to_string().contains(want), "{value:?}: {e}"),
            (got, want) => panic!("{value:?}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn ids_and_names() {
        check(id, "HS00000001", None);
        check(id, &"x".repeat(64), None);
        check(id, &"x".repeat(65), Some("65 characters"));
        check(id, "", Some("is empty"));
        check(id, "a b", Some("white space"));
        check(id, "a\u{1b}", Some("control"));
        check(id, "利用者-1", None);
        check(name, "株式会社 星空広告", None);
        check(name, &"名".repeat(201), Some("201 characters"));
        check(name, "  ", Some("is empty"));
        check(name, "a\u{0}b", Some("control"));
    }
}
