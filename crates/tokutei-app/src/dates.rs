//! Civil dates in the JSON the front ends give and the registers store: `YYYY-MM-DD` strings.
//! (The policy model writes a TOML local date, which JSON would show as a table.) Use with
//! `#[serde(serialize_with = "crate::dates::text")]`, `…::opt_text`, or `#[serde(with =
//! "crate::dates::plain")]` where the value is read back too.

use tokutei_policy::Date;

pub(crate) fn text<S: serde::Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&date.to_string())
}

pub(crate) fn opt_text<S: serde::Serializer>(date: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
    match date {
        Some(d) => s.serialize_str(&d.to_string()),
        None => s.serialize_none(),
    }
}

/// A date written and read as `YYYY-MM-DD`.
pub(crate) mod plain {
    use tokutei_policy::Date;

    pub(crate) fn serialize<S: serde::Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
        super::text(date, s)
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
