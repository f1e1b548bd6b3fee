//! The privacy office's settings: what the console lets managers change, with defaults,
//! bounds and validation that names the field. Stored as text pairs through
//! [`SettingsStore`]; a missing or unreadable stored value falls back to its default.
//!
//! Rate limits (`signin_rate_*`, `api_rate_*`) count per minute, in fixed windows kept in the
//! database so every instance counts together; `docs/operations.md` describes them.
//!
//! The inquiry response deadline: the APPI asks for answers "遅滞なく" (without delay) and
//! fixes no number of days (legal-requirements §3.2–3.8, unconfirmed), so the deadline is a
//! setting in calendar days from the day of receipt (Asia/Tokyo), 14 by default.

use jiff::Timestamp;
use tokutei_ledger::{AdminAction, Entry};
use tokutei_store::StoreResult;
use tokutei_store::inquiry::SettingsStore;
use tokutei_store::ledger::LedgerStore;
use tokutei_store::staff::StaffStore;

use crate::acting::{Acting, MANAGERS, authorize};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};

/// One setting's definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub key: &'static str,
    pub ja: &'static str,
    pub en: &'static str,
    pub kind: Kind,
}

/// What values a setting takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number in `min..=max`, with its unit.
    Number { min: u32, max: u32, default: u32, unit_ja: &'static str, unit_en: &'static str },
    /// One line of text of at most `max` characters (may be empty).
    Text { max: usize },
}

/// Every setting, in the order the console shows them.
pub const FIELDS: &[Field] = &[
    Field {
        key: "inquiry_deadline_days",
        ja: "お問い合わせの回答期限",
        en: "Inquiry response deadline",
        kind: Kind::Number { min: 1, max: 90, default: 14, unit_ja: "日", unit_en: "days" },
    },
    Field {
        key: "inquiry_rate_per_hour",
        ja: "お問い合わせの受付上限（同一アドレス・1時間あたり）",
        en: "Inquiries accepted per client address per hour",
        kind: Kind::Number { min: 1, max: 100, default: 5, unit_ja: "件", unit_en: "inquiries" },
    },
    Field {
        key: "session_idle_minutes",
        ja: "操作がない場合のログアウトまで",
        en: "Sign-out after inactivity",
        kind: Kind::Number { min: 5, max: 240, default: 30, unit_ja: "分", unit_en: "minutes" },
    },
    Field {
        key: "session_absolute_hours",
        ja: "ログインの有効時間（最長）",
        en: "Longest session",
        kind: Kind::Number { min: 1, max: 24, default: 12, unit_ja: "時間", unit_en: "hours" },
    },
    Field {
        key: "lockout_attempts",
        ja: "ロックまでのログイン失敗回数",
        en: "Failed sign-ins before the account locks",
        kind: Kind::Number { min: 3, max: 20, default: 5, unit_ja: "回", unit_en: "attempts" },
    },
    Field {
        key: "lockout_minutes",
        ja: "ロックの時間",
        en: "Lockout duration",
        kind: Kind::Number { min: 1, max: 1440, default: 15, unit_ja: "分", unit_en: "minutes" },
    },
    Field {
        key: "signin_rate_per_client",
        ja: "ログインの試行上限（同一アドレス・1分あたり）",
        en: "Sign-in attempts per client address per minute",
        kind: Kind::Number { min: 1, max: 1000, default: 20, unit_ja: "回", unit_en: "attempts" },
    },
    Field {
        key: "signin_rate_per_id",
        ja: "ログインの試行上限（同一ID・1分あたり）",
        en: "Sign-in attempts per staff id per minute",
        kind: Kind::Number { min: 1, max: 1000, default: 10, unit_ja: "回", unit_en: "attempts" },
    },
    Field {
        key: "api_rate_per_client",
        ja: "APIの呼び出し上限（同一アドレス・1分あたり）",
        en: "API requests per client address per minute",
        kind: Kind::Number { min: 1, max: 1_000_000, default: 6000, unit_ja: "回", unit_en: "requests" },
    },
    Field {
        key: "api_rate_per_principal",
        ja: "APIの呼び出し上限（同一の取扱者・システム・1分あたり）",
        en: "API requests per principal (token holder) per minute",
        kind: Kind::Number { min: 1, max: 1_000_000, default: 6000, unit_ja: "回", unit_en: "requests" },
    },
    Field {
        key: "public_contact",
        ja: "公開する連絡先（お問い合わせページに表示）",
        en: "Public contact (shown on the inquiry page)",
        kind: Kind::Text { max: 200 },
    },
];

/// The settings in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub inquiry_deadline_days: u32,
    pub inquiry_rate_per_hour: u32,
    pub session_idle_minutes: u32,
    pub session_absolute_hours: u32,
    pub lockout_attempts: u32,
    pub lockout_minutes: u32,
    pub signin_rate_per_client: u32,
    pub signin_rate_per_id: u32,
    pub api_rate_per_client: u32,
    pub api_rate_per_principal: u32,
    pub public_contact: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings::from_pairs(std::iter::empty())
    }
}

/// A value that does not fit its setting: the field's key and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {message}")]
pub struct Invalid {
    pub key: &'static str,
    pub message: String,
}

impl Settings {
    /// The settings from stored pairs; unknown keys are ignored, missing or unreadable values
    /// take their default.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Settings {
        let stored: std::collections::HashMap<&str, &str> = pairs.into_iter().collect();
        let number = |key: &str| -> u32 {
            let Some(field) = FIELDS.iter().find(|f| f.key == key) else { return 0 };
            let Kind::Number { default, .. } = field.kind else { return 0 };
            stored.get(key).and_then(|v| check(field, v).ok()).and_then(|v| v.parse().ok()).unwrap_or(default)
        };
        Settings {
            inquiry_deadline_days: number("inquiry_deadline_days"),
            inquiry_rate_per_hour: number("inquiry_rate_per_hour"),
            session_idle_minutes: number("session_idle_minutes"),
            session_absolute_hours: number("session_absolute_hours"),
            lockout_attempts: number("lockout_attempts"),
            lockout_minutes: number("lockout_minutes"),
            signin_rate_per_client: number("signin_rate_per_client"),
            signin_rate_per_id: number("signin_rate_per_id"),
            api_rate_per_client: number("api_rate_per_client"),
            api_rate_per_principal: number("api_rate_per_principal"),
            public_contact: stored.get("public_contact").map(|v| v.to_string()).unwrap_or_default(),
        }
    }

    /// Read the settings in force from `store`.
    pub fn load(store: &(impl SettingsStore + ?Sized)) -> StoreResult<Settings> {
        let stored = store.settings()?;
        Ok(Settings::from_pairs(stored.iter().map(|s| (s.key.as_str(), s.value.as_str()))))
    }

    /// The value of `key` as text (for forms and the audit).
    pub fn value(&self, key: &str) -> String {
        match key {
            "inquiry_deadline_days" => self.inquiry_deadline_days.to_string(),
            "inquiry_rate_per_hour" => self.inquiry_rate_per_hour.to_string(),
            "session_idle_minutes" => self.session_idle_minutes.to_string(),
            "session_absolute_hours" => self.session_absolute_hours.to_string(),
            "lockout_attempts" => self.lockout_attempts.to_string(),
            "lockout_minutes" => self.lockout_minutes.to_string(),
            "signin_rate_per_client" => self.signin_rate_per_client.to_string(),
            "signin_rate_per_id" => self.signin_rate_per_id.to_string(),
            "api_rate_per_client" => self.api_rate_per_client.to_string(),
            "api_rate_per_principal" => self.api_rate_per_principal.to_string(),
            "public_contact" => self.public_contact.clone(),
            _ => String::new(),
        }
    }
}

/// Check one submitted value against its field; returns the value as it will be stored.
pub fn check(field: &Field, raw: &str) -> Result<String, Invalid> {
    let invalid = |message: String| Invalid { key: field.key, message };
    match field.kind {
        Kind::Number { min, max, .. } => {
            let text = raw.trim();
            let n: u32 = text.parse().map_err(|_| invalid(format!("`{text}` is not a whole number")))?;
            if n < min || n > max {
                return Err(invalid(format!("must be between {min} and {max}")));
            }
            Ok(n.to_string())
        }
        Kind::Text { max } => {
            let text = raw.trim();
            if text.chars().count() > max {
                return Err(invalid(format!("must be at most {max} characters")));
            }
            if text.chars().any(char::is_control) {
                return Err(invalid("must be one line without control characters".into()));
            }
            Ok(text.to_string())
        }
    }
}

/// One change: the setting's key, its old value and its new value.
pub type Change = (&'static str, String, String);

/// Validate a whole submitted form (`key → value`): every field must be present and valid.
/// Returns the changes against `current` as `(key, old, new)`, or every problem found.
pub fn changes(
    current: &Settings,
    submitted: &std::collections::HashMap<String, String>,
) -> Result<Vec<Change>, Vec<Invalid>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for field in FIELDS {
        let Some(raw) = submitted.get(field.key) else {
            problems.push(Invalid { key: field.key, message: "is missing".into() });
            continue;
        };
        match check(field, raw) {
            Ok(value) => {
                let old = current.value(field.key);
                if old != value {
                    out.push((field.key, old, value));
                }
            }
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

/// The whole form of the settings in force with `overrides` applied (`key → value`), for a
/// front end that changes a few settings at a time (`tokutei settings set`); an unknown key is
/// a problem naming it.
pub fn form_with(
    current: &Settings,
    overrides: &[(String, String)],
) -> Result<std::collections::HashMap<String, String>, Vec<Invalid>> {
    let mut form: std::collections::HashMap<String, String> =
        FIELDS.iter().map(|f| (f.key.to_string(), current.value(f.key))).collect();
    let mut problems = Vec::new();
    for (key, value) in overrides {
        match FIELDS.iter().find(|f| f.key == key) {
            Some(field) => {
                form.insert(field.key.to_string(), value.clone());
            }
            None => problems.push(Invalid { key: "key", message: format!("`{key}` is not a setting") }),
        }
    }
    if problems.is_empty() { Ok(form) } else { Err(problems) }
}

/// Change settings by `by` (a manager) from a submitted form (`key → value`, every field
/// present): nothing changes unless every field is valid; each change is a `setting_changed`
/// entry (durable) before it is stored. Returns the changes made, or every problem found.
pub fn change_settings(
    stores: &(impl SettingsStore + StaffStore + ?Sized),
    ledger: &dyn LedgerStore,
    by: &Acting,
    submitted: &std::collections::HashMap<String, String>,
    now: Timestamp,
) -> ActionResult<Result<Vec<Change>, Vec<Invalid>>> {
    let actor = authorize(stores, by, MANAGERS, "change settings")?;
    let current = Settings::load(stores)?;
    let changes = match changes(&current, submitted) {
        Ok(c) => c,
        Err(problems) => return Ok(Err(problems)),
    };
    if changes.is_empty() {
        return Ok(Ok(changes));
    }
    let entries: Vec<Entry> = changes
        .iter()
        .map(|(key, old, new)| {
            AdminEntry::new(AdminAction::SettingChanged, format!("settings/{key}"))
                .detail("from", old)
                .detail("to", new)
                .entry(actor.clone(), now)
        })
        .collect();
    ledger.append_batch(&entries).map_err(ActionError::Audit)?;
    let values: Vec<(String, String)> = changes.iter().map(|(k, _, v)| (k.to_string(), v.clone())).collect();
    stores.set_settings(&values, actor.id(), now)?;
    Ok(Ok(changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_value(key: &str, raw: &str, expected: Result<&str, &str>) {
        let field = FIELDS.iter().find(|f| f.key == key).unwrap();
        let got = check(field, raw);
        match expected {
            Ok(v) => assert_eq!(got.as_deref().map_err(|e| e.to_string()), Ok(v), "{key}={raw:?}"),
            Err(m) => assert_eq!(got.map_err(|e| e.to_string()), Err(m.to_string()), "{key}={raw:?}"),
        }
    }

    #[test]
    fn values_are_checked_against_their_field() {
        check_value("inquiry_deadline_days", " 30 ", Ok("30"));
        check_value("inquiry_deadline_days", "0", Err("`inquiry_deadline_days`: must be between 1 and 90"));
        check_value("inquiry_deadline_days", "two", Err("`inquiry_deadline_days`: `two` is not a whole number"));
        check_value("session_idle_minutes", "241", Err("`session_idle_minutes`: must be between 5 and 240"));
        check_value("public_contact", "", Ok(""));
        check_value("public_contact", "0120-000-000（平日9時〜18時）", Ok("0120-000-000（平日9時〜18時）"));
        check_value("public_contact", "a\nb", Err("`public_contact`: must be one line without control characters"));
    }

    #[test]
    fn stored_values_fall_back_to_defaults() {
        let s = Settings::from_pairs([("inquiry_deadline_days", "30"), ("lockout_attempts", "999"), ("x", "y")]);
        assert_eq!(s.inquiry_deadline_days, 30);
        assert_eq!(s.lockout_attempts, 5, "out of range: the default");
        assert_eq!(Settings::default().session_idle_minutes, 30);
        assert_eq!(Settings::default().public_contact, "");
        assert_eq!(
            (Settings::default().signin_rate_per_client, Settings::default().api_rate_per_principal),
            (20, 6000)
        );
    }

    #[test]
    fn a_form_yields_its_changes_or_every_problem() {
        let current = Settings::default();
        let mut form: std::collections::HashMap<String, String> =
            FIELDS.iter().map(|f| (f.key.to_string(), current.value(f.key))).collect();
        assert_eq!(changes(&current, &form), Ok(vec![]));
        form.insert("inquiry_deadline_days".into(), "21".into());
        assert_eq!(changes(&current, &form), Ok(vec![("inquiry_deadline_days", "14".into(), "21".into())]));
        form.insert("lockout_minutes".into(), "0".into());
        form.remove("public_contact");
        let problems: Vec<_> = changes(&current, &form).unwrap_err().into_iter().map(|p| p.key).collect();
        assert_eq!(problems, ["lockout_minutes", "public_contact"]);
    }
}
