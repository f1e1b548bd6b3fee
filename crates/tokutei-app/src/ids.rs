//! The ids people and systems name at the application layer's boundary, as types: a
//! subscriber, a principal of the staff registry, a purpose, a category and a service of the
//! policy file, an export request. A front end turns the text it received into one of these
//! with `parse` (the error names the field; a deserialized id is parsed the same way), so a
//! function of this crate that takes a [`SubscriberId`] never sees an empty, oversized or
//! control-character id, and cannot be handed a purpose where a subscriber belongs. Ids read
//! back from the store or the policy in force were checked when they were written and are
//! taken with `known`.
//!
//! The stores keep plain strings; these types stop at the layer's boundary.

use std::fmt;

use crate::error::{ActionError, ActionResult};
use crate::limits::MAX_ID_CHARS;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident = $field:literal, $check:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The field an error about this id names.
            pub const FIELD: &'static str = $field;

            /// `text` as this id, once it is 1–64 characters with no white space or control
            /// character (and whatever else this kind of id needs); the error names
            /// [`Self::FIELD`].
            pub fn parse(text: impl Into<String>) -> ActionResult<$name> {
                Self::parse_as(Self::FIELD, text)
            }

            /// As [`Self::parse`], naming `field` in the error (a form's or a flag's own name).
            pub fn parse_as(field: &'static str, text: impl Into<String>) -> ActionResult<$name> {
                let text = text.into();
                check_id(field, &text)?;
                let extra: fn(&str) -> Result<(), &'static str> = $check;
                extra(&text).map_err(|why| ActionError::invalid(field, why))?;
                Ok($name(text))
            }

            /// An id read back from the store or the policy in force (checked when written).
            pub fn known(text: impl Into<String>) -> $name {
                $name(text.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        /// Deserialized ids are parsed like any other input: an invalid one is refused.
        impl TryFrom<String> for $name {
            type Error = ActionError;

            fn try_from(text: String) -> ActionResult<$name> {
                $name::parse(text)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    )*};
}

ids! {
    /// A subscriber of the vault (`HS00000001`).
    SubscriberId = "subscriber", |_| Ok(());
    /// A principal of the staff registry: a person or an internal system. Letters, digits,
    /// `-`, `_` and `.` only, as the registry accepts them.
    PrincipalId = "principal", |text| {
        if tokutei_store::staff::valid_principal_id(text) {
            Ok(())
        } else {
            Err("a principal id is letters, digits, `-`, `_` and `.`")
        }
    };
    /// A purpose of the policy file (`support`, `marketing`).
    PurposeId = "purpose", |_| Ok(());
    /// A category of information of the policy file (`contract.name`).
    CategoryId = "category", |_| Ok(());
    /// A service of the policy file (`fiber`, `mobile`).
    ServiceId = "service", |_| Ok(());
    /// An export request (持出し申請, `EXP-2026-001`).
    ExportId = "export", |_| Ok(());
    /// A leak incident of the register (`INC-20260610-7KQ3`).
    IncidentId = "incident", |_| Ok(());
    /// A chief manager's appointment of the oversight register (`CM-1`).
    AppointmentId = "appointment", |_| Ok(());
    /// A chief manager's opinion of the oversight register (`OP-1`).
    OpinionId = "opinion", |_| Ok(());
    /// An exception to the ban on external media (`MX-20260901-1a2b3c4d`).
    MediaExceptionId = "exception", |_| Ok(());
    /// A data-subject request of the register (`DR-1`).
    RequestId = "request", |_| Ok(());
    /// A handling zone of the register (`hq-3f`).
    ZoneId = "zone", |_| Ok(());
    /// An alert of the outbox (`al-` and 12 hexadecimal digits).
    AlertId = "alert", |text| {
        match text.strip_prefix("al-") {
            Some(hex) if hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) => Ok(()),
            _ => Err("an alert id is `al-` and 12 hexadecimal digits"),
        }
    };
}

/// 1–[`MAX_ID_CHARS`] characters, none of them white space or a control character.
fn check_id(field: &'static str, text: &str) -> ActionResult<()> {
    if text.is_empty() {
        return Err(ActionError::invalid(field, "is empty"));
    }
    let chars = text.chars().count();
    if chars > MAX_ID_CHARS {
        return Err(ActionError::invalid(field, format!("has {chars} characters; an id has at most {MAX_ID_CHARS}")));
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ActionError::invalid(field, "holds white space or a control character"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: fmt::Debug>(parsed: ActionResult<T>, expected: Result<(), &str>) {
        match (parsed, expected) {
            (Ok(_), Ok(())) => {}
            (Err(ActionError::Invalid { field, message }), Err(want)) => {
                assert!(format!("`{field}`: {message}").contains(want), "{field}: {message}, expected {want}");
            }
            (got, want) => panic!("got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn ids_are_checked_naming_their_field() {
        check(SubscriberId::parse("HS00000001"), Ok(()));
        check(SubscriberId::parse("利用者-1"), Ok(()));
        check(SubscriberId::parse("x".repeat(64)), Ok(()));
        check(SubscriberId::parse("x".repeat(65)), Err("`subscriber`: has 65 characters"));
        check(SubscriberId::parse(""), Err("`subscriber`: is empty"));
        check(PurposeId::parse("a b"), Err("`purpose`: holds white space"));
        check(CategoryId::parse("a\u{1b}"), Err("`category`: holds white space or a control"));
        check(PrincipalId::parse("op-1.a_b"), Ok(()));
        check(PrincipalId::parse("山田"), Err("`principal`: a principal id is letters"));
        check(PrincipalId::parse_as("by", ""), Err("`by`: is empty"));
        check(ServiceId::parse("fiber"), Ok(()));
    }

    #[test]
    fn ids_serialize_as_their_text() {
        let id = SubscriberId::parse("S1").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"S1\"");
        assert_eq!(id, "S1");
        assert_eq!(format!("{id} {id:?}"), "S1 SubscriberId(\"S1\")");
    }

    #[test]
    fn deserialized_ids_are_checked_as_parsed_ones() {
        let id: SubscriberId = serde_json::from_str("\"S1\"").unwrap();
        assert_eq!(id, "S1");
        let err = serde_json::from_str::<SubscriberId>("\"a b\"").unwrap_err();
        assert!(err.to_string().contains("`subscriber`: holds white space"), "{err}");
        assert!(serde_json::from_str::<PrincipalId>("\"山田\"").is_err());
    }
}
