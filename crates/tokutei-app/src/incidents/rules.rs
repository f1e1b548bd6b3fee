//! The rules of leak reporting, pure (no IO): which reports each regime owes and by when,
//! whether an APPI leak is reportable at all (規則7条 triage), which items each report carries
//! and whether they are filled.
//!
//! Every number, recipient and item list is deployment configuration with the defaults below
//! (the `[incidents]` table of `deployment.toml`, [`IncidentConfig`]), since several rules are
//! unconfirmed (legal-requirements §2a.4, §9):
//!
//! | regime | report | clock from | default |
//! |---|---|---|---|
//! | `secrecy` 通信の秘密 (法28条) | 第一報 `first` | `discovered_at` | 1 day ("速やかに", a target) |
//! | | 詳報 `detailed` | `known_at` | 30 days (規則57条) |
//! | `tokutei` 特定利用者情報 | 第一報 `first` | `discovered_at` | 1 day — unconfirmed |
//! | | 詳報 `detailed` | `known_at` | 30 days — unconfirmed |
//! | `appi` 個人情報保護法26条, when reportable | 速報 `preliminary` | `known_at` | 3 days |
//! | | 確報 `final` | `known_at` | 30 days, 60 when malicious (規則8条2項) |
//!
//! A due date is the Asia/Tokyo date of the clock's start plus the days, counted as calendar
//! days unless the deployment counts business days (weekends and its listed holidays skipped).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Deserialize;
use tokutei_policy::{Date, tokyo};
use tokutei_store::incident::{Flags, IncidentFields, NewObligation, Occurrence, Persons, Regime, Report};

/// How the days of a deadline count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayCount {
    /// Every day counts (the default).
    #[default]
    Calendar,
    /// Monday to Friday, except the deployment's `holidays`.
    Business,
}

/// One report's settings as written in `deployment.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    pub days: Option<u32>,
    /// The APPI final report's deadline when the leak is malicious (default 60).
    pub malicious_days: Option<u32>,
    /// The report's items, by id (see [`Item`]), in order.
    pub items: Option<Vec<String>>,
}

/// One regime's settings as written in `deployment.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeConfig {
    /// Who receives its reports (the competent 総合通信局…).
    pub recipient: Option<String>,
    /// Whether its deadlines are confirmed law (`tokutei` is not, by default).
    pub confirmed: Option<bool>,
    pub first: Option<ReportConfig>,
    pub detailed: Option<ReportConfig>,
    pub preliminary: Option<ReportConfig>,
    #[serde(rename = "final")]
    pub final_: Option<ReportConfig>,
}

/// An item of the deployment's own, with its names; its value is kept in the incident's
/// `extra` fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomItem {
    pub id: String,
    pub ja: String,
    pub en: String,
}

/// The `[incidents]` table of `deployment.toml`, as written (every key optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentConfig {
    /// 事業者名 in the reports (default: the company of the policy in force).
    pub company: Option<String>,
    /// 登録番号又は届出番号 in the MIC reports.
    pub registration: Option<String>,
    pub days: Option<DayCount>,
    /// Days that are not business days (with `days = "business"`).
    #[serde(default)]
    pub holidays: Vec<Date>,
    pub secrecy: Option<RegimeConfig>,
    pub tokutei: Option<RegimeConfig>,
    pub appi: Option<RegimeConfig>,
    /// The deployment's own report items.
    #[serde(default)]
    pub items: Vec<CustomItem>,
}

/// A report item: one of the MIC report's 10 (§2a.2), APPI規則8条's 9 (§2b.3), or the
/// deployment's own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Item {
    Company,
    Registration,
    Summary,
    Content,
    DataItems,
    Persons,
    Cause,
    SecondaryDamage,
    Publication,
    Response,
    Prevention,
    Other,
    Custom(String),
}

/// The items known by id, in a stable order.
const KNOWN_ITEMS: [Item; 12] = [
    Item::Company,
    Item::Registration,
    Item::Summary,
    Item::Content,
    Item::DataItems,
    Item::Persons,
    Item::Cause,
    Item::SecondaryDamage,
    Item::Publication,
    Item::Response,
    Item::Prevention,
    Item::Other,
];

/// The 10 items of the MIC report (通信の秘密・特定利用者情報の漏えい, §2a.2).
pub const MIC_ITEMS: [Item; 10] = [
    Item::Company,
    Item::Registration,
    Item::Summary,
    Item::Content,
    Item::Persons,
    Item::Cause,
    Item::SecondaryDamage,
    Item::Publication,
    Item::Response,
    Item::Prevention,
];

/// The 9 items of APPI規則8条1項 (§2b.3).
pub const APPI_ITEMS: [Item; 9] = [
    Item::Summary,
    Item::DataItems,
    Item::Persons,
    Item::Cause,
    Item::SecondaryDamage,
    Item::Response,
    Item::Publication,
    Item::Prevention,
    Item::Other,
];

impl Item {
    pub fn id(&self) -> &str {
        match self {
            Item::Company => "company",
            Item::Registration => "registration",
            Item::Summary => "summary",
            Item::Content => "content",
            Item::DataItems => "data_items",
            Item::Persons => "persons",
            Item::Cause => "cause",
            Item::SecondaryDamage => "secondary_damage",
            Item::Publication => "publication",
            Item::Response => "response",
            Item::Prevention => "prevention",
            Item::Other => "other",
            Item::Custom(id) => id,
        }
    }

    fn known(id: &str) -> Option<Item> {
        KNOWN_ITEMS.into_iter().find(|i| i.id() == id)
    }

    /// The item's name in Japanese and English (a custom item's from the configuration).
    pub fn names<'a>(&'a self, rules: &'a IncidentRules) -> (&'a str, &'a str) {
        match self {
            Item::Company => ("事業者名", "Name of the carrier"),
            Item::Registration => ("登録番号又は届出番号", "Registration or notification number"),
            Item::Summary => (
                "概要（発生日時、発覚日時及び発覚の経緯）",
                "Summary (when it occurred, when and how it was discovered)",
            ),
            Item::Content => ("漏えいした情報の内容", "What was leaked"),
            Item::DataItems => {
                ("漏えい等が発生し、又は発生したおそれがある個人データの項目", "Items of personal data concerned")
            }
            Item::Persons => ("漏えい等に係る本人の数（利用者数）", "Number of persons concerned"),
            Item::Cause => ("発生原因", "Cause"),
            Item::SecondaryDamage => {
                ("二次被害又はそのおそれの有無及びその内容", "Secondary damage or its risk, and what it is")
            }
            Item::Publication => ("公表の実施状況", "Publication"),
            Item::Response => ("本人（利用者）への対応の実施状況", "Response to the persons concerned"),
            Item::Prevention => ("再発防止のための措置", "Measures against recurrence"),
            Item::Other => ("その他参考となる事項", "Other reference information"),
            Item::Custom(id) => rules
                .custom_items
                .iter()
                .find(|c| &c.id == id)
                .map_or((id.as_str(), id.as_str()), |c| (c.ja.as_str(), c.en.as_str())),
        }
    }
}

/// What a report's clock starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// `discovered_at` (`known_at` while it is not known).
    Discovered,
    Known,
}

/// One report's rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRule {
    pub report: Report,
    pub from: Anchor,
    pub days: u32,
    /// The deadline when the leak is malicious (APPI 確報).
    pub malicious_days: Option<u32>,
    pub items: Vec<Item>,
}

/// One regime's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegimeRule {
    pub regime: Regime,
    pub recipient: String,
    /// Whether the deadlines are confirmed law, or a configured assumption.
    pub confirmed: bool,
    pub reports: Vec<ReportRule>,
}

/// The deployment's incident rules, resolved from its configuration and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRules {
    /// 事業者名; `None` takes the company of the policy in force.
    pub company: Option<String>,
    pub registration: Option<String>,
    pub days: DayCount,
    pub holidays: BTreeSet<Date>,
    /// Secrecy, tokutei, APPI.
    pub regimes: Vec<RegimeRule>,
    pub custom_items: Vec<CustomItem>,
}

/// The default recipient of every regime: the 総合通信局 that covers the head office (APPI
/// reports of telecommunications carriers go there too, §2b.4).
pub const DEFAULT_RECIPIENT: &str = "本社所在地を管轄する総合通信局";

/// The most days a deadline may be configured to.
pub const MAX_DAYS: u32 = 365;

/// The most persons an APPI leak may concern without being reportable for its size alone
/// (規則7条4号: "1,000人を超える").
pub const APPI_PERSONS_THRESHOLD: u64 = 1_000;

impl Default for IncidentRules {
    fn default() -> IncidentRules {
        // INVARIANT: the empty configuration is valid.
        IncidentRules::from_config(&IncidentConfig::default()).expect("the defaults are valid")
    }
}

/// Why a configuration is refused: the key, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`incidents.{key}`: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

fn config_error(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), message: message.into() }
}

fn text_value(key: &str, value: &Option<String>) -> Result<Option<String>, ConfigError> {
    match value.as_deref().map(str::trim) {
        None => Ok(None),
        Some("") => Err(config_error(key, "is empty")),
        Some(v) if v.chars().any(char::is_control) => Err(config_error(key, "holds a control character")),
        Some(v) if v.chars().count() > 200 => Err(config_error(key, "is longer than 200 characters")),
        Some(v) => Ok(Some(v.to_string())),
    }
}

impl IncidentRules {
    /// The rules of `config`: its values over the defaults, every key checked (days at most
    /// [`MAX_DAYS`], items known or declared, recipients not empty).
    pub fn from_config(config: &IncidentConfig) -> Result<IncidentRules, ConfigError> {
        let mut custom_items: Vec<CustomItem> = Vec::new();
        for (n, item) in config.items.iter().enumerate() {
            let key = format!("items[{n}].id");
            crate::limits::id("id", &item.id).map_err(|e| config_error(&key, e.to_string()))?;
            if Item::known(&item.id).is_some() || custom_items.iter().any(|c| c.id == item.id) {
                return Err(config_error(key, format!("`{}` is already an item", item.id)));
            }
            let ja = text_value(&format!("items[{n}].ja"), &Some(item.ja.clone()))?.unwrap_or_default();
            let en = text_value(&format!("items[{n}].en"), &Some(item.en.clone()))?.unwrap_or_default();
            custom_items.push(CustomItem { id: item.id.clone(), ja, en });
        }
        let item_list = |key: &str, ids: &Option<Vec<String>>, default: &[Item]| -> Result<Vec<Item>, ConfigError> {
            let Some(ids) = ids else { return Ok(default.to_vec()) };
            let mut out: Vec<Item> = Vec::new();
            for id in ids {
                let item = Item::known(id)
                    .or_else(|| custom_items.iter().any(|c| &c.id == id).then(|| Item::Custom(id.clone())))
                    .ok_or_else(|| {
                        config_error(key, format!("`{id}` is not an item; declare it under [[incidents.items]]"))
                    })?;
                if out.contains(&item) {
                    return Err(config_error(key, format!("`{id}` is listed twice")));
                }
                out.push(item);
            }
            if out.is_empty() {
                return Err(config_error(key, "a report has at least one item"));
            }
            Ok(out)
        };
        let days = |key: &str, value: Option<u32>, default: u32| -> Result<u32, ConfigError> {
            match value {
                Some(d) if d > MAX_DAYS => Err(config_error(key, format!("{d} days; at most {MAX_DAYS}"))),
                Some(d) => Ok(d),
                None => Ok(default),
            }
        };
        let mut regimes = Vec::new();
        for regime in Regime::ALL {
            let (given, name) = match regime {
                Regime::Secrecy => (&config.secrecy, "secrecy"),
                Regime::Tokutei => (&config.tokutei, "tokutei"),
                Regime::Appi => (&config.appi, "appi"),
            };
            let given = given.clone().unwrap_or_default();
            let wrong: &[(&Option<ReportConfig>, &str)] = match regime {
                Regime::Appi => &[(&given.first, "first"), (&given.detailed, "detailed")],
                _ => &[(&given.preliminary, "preliminary"), (&given.final_, "final")],
            };
            for (present, report) in wrong {
                if present.is_some() {
                    return Err(config_error(
                        format!("{name}.{report}"),
                        format!("the {name} regime has no {report} report"),
                    ));
                }
            }
            let plan: [(Report, Anchor, u32, &Option<ReportConfig>); 2] = match regime {
                Regime::Appi => [
                    (Report::Preliminary, Anchor::Known, 3, &given.preliminary),
                    (Report::Final, Anchor::Known, 30, &given.final_),
                ],
                _ => [
                    (Report::First, Anchor::Discovered, 1, &given.first),
                    (Report::Detailed, Anchor::Known, 30, &given.detailed),
                ],
            };
            let default_items: &[Item] = if regime == Regime::Appi { &APPI_ITEMS } else { &MIC_ITEMS };
            let mut reports = Vec::new();
            for (report, from, default_days, given) in plan {
                let given = given.clone().unwrap_or_default();
                let key = format!("{name}.{}", report.code());
                let malicious_days = if report == Report::Final {
                    Some(days(&format!("{key}.malicious_days"), given.malicious_days, 60)?)
                } else if given.malicious_days.is_some() {
                    return Err(config_error(
                        format!("{key}.malicious_days"),
                        "only the APPI final report has a deadline for malicious leaks",
                    ));
                } else {
                    None
                };
                reports.push(ReportRule {
                    report,
                    from,
                    days: days(&format!("{key}.days"), given.days, default_days)?,
                    malicious_days,
                    items: item_list(&format!("{key}.items"), &given.items, default_items)?,
                });
            }
            regimes.push(RegimeRule {
                regime,
                recipient: text_value(&format!("{name}.recipient"), &given.recipient)?
                    .unwrap_or_else(|| DEFAULT_RECIPIENT.to_string()),
                confirmed: given.confirmed.unwrap_or(regime != Regime::Tokutei),
                reports,
            });
        }
        Ok(IncidentRules {
            company: text_value("company", &config.company)?,
            registration: text_value("registration", &config.registration)?,
            days: config.days.unwrap_or_default(),
            holidays: config.holidays.iter().copied().collect(),
            regimes,
            custom_items,
        })
    }

    pub fn regime(&self, regime: Regime) -> &RegimeRule {
        // INVARIANT: `from_config` makes one rule per regime, in `Regime::ALL` order.
        self.regimes.iter().find(|r| r.regime == regime).expect("a rule per regime")
    }

    pub fn report(&self, regime: Regime, report: Report) -> Option<&ReportRule> {
        self.regime(regime).reports.iter().find(|r| r.report == report)
    }

    /// The last day of a deadline of `days` from `start` (Asia/Tokyo).
    pub fn due(&self, start: Timestamp, days: u32) -> Date {
        let mut day = tokyo::date_of(start).0;
        match self.days {
            DayCount::Calendar => Date(day.checked_add(jiff::Span::new().days(i64::from(days))).unwrap_or(day)),
            DayCount::Business => {
                let mut left = days;
                while left > 0 {
                    let Ok(next) = day.tomorrow() else { break };
                    day = next;
                    if self.is_business_day(Date(day)) {
                        left -= 1;
                    }
                }
                Date(day)
            }
        }
    }

    fn is_business_day(&self, day: Date) -> bool {
        !matches!(day.0.weekday(), jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday)
            && !self.holidays.contains(&day)
    }

    /// Every report `regimes` owe for an incident known as `facts` says, with its due date
    /// and recipient; an APPI leak only when the triage finds it reportable.
    pub fn obligations(&self, facts: &Facts) -> Vec<NewObligation> {
        let mut out = Vec::new();
        let mut regimes = facts.regimes.to_vec();
        regimes.sort_unstable();
        regimes.dedup();
        for regime in regimes {
            if regime == Regime::Appi && !triage(&facts.flags, facts.persons).reportable() {
                continue;
            }
            let rule = self.regime(regime);
            for report in &rule.reports {
                let start = match report.from {
                    Anchor::Discovered => facts.discovered_at.unwrap_or(facts.known_at),
                    Anchor::Known => facts.known_at,
                };
                let days = match report.malicious_days {
                    Some(d) if facts.flags.malicious => d,
                    _ => report.days,
                };
                out.push(NewObligation {
                    regime,
                    report: report.report,
                    due: self.due(start, days),
                    recipient: rule.recipient.clone(),
                    unconfirmed: !rule.confirmed,
                });
            }
        }
        out
    }
}

/// What the deadlines depend on.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub regimes: &'a [Regime],
    pub discovered_at: Option<Timestamp>,
    pub known_at: Timestamp,
    pub flags: Flags,
    pub persons: Option<Persons>,
}

impl<'a> Facts<'a> {
    pub fn of(fields: &'a IncidentFields) -> Facts<'a> {
        Facts {
            regimes: &fields.regimes,
            discovered_at: fields.discovered_at,
            known_at: fields.known_at,
            flags: fields.flags,
            persons: fields.persons,
        }
    }
}

/// What makes an APPI leak reportable (規則7条1–4号).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// 1号: 要配慮個人情報.
    Sensitive,
    /// 2号: financial damage may follow.
    Financial,
    /// 3号: an unlawful purpose (unauthorised access, insider theft).
    Malicious,
    /// 4号: more than 1,000 persons.
    ManyPersons,
}

/// The APPI triage of an incident.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Triage {
    /// Reportable, for these reasons.
    Reportable { triggers: Vec<Trigger> },
    /// Excluded: the data was protected by strong encryption (規則7条柱書).
    Encrypted,
    /// None of the four cases applies.
    NoTrigger,
}

impl Triage {
    pub fn reportable(&self) -> bool {
        matches!(self, Triage::Reportable { .. })
    }

    pub fn code(&self) -> &'static str {
        match self {
            Triage::Reportable { .. } => "reportable",
            Triage::Encrypted => "encrypted",
            Triage::NoTrigger => "no_trigger",
        }
    }
}

/// The APPI triage (§2b.1): reportable when a leak of personal data involves 要配慮個人情報,
/// risk of financial damage, an unlawful purpose, or more than 1,000 persons — one person is
/// enough for the first three — unless the data was strongly encrypted. A number of persons
/// not yet known counts as no more than the threshold.
pub fn triage(flags: &Flags, persons: Option<Persons>) -> Triage {
    if flags.encrypted {
        return Triage::Encrypted;
    }
    let mut triggers = Vec::new();
    if flags.sensitive {
        triggers.push(Trigger::Sensitive);
    }
    if flags.financial {
        triggers.push(Trigger::Financial);
    }
    if flags.malicious {
        triggers.push(Trigger::Malicious);
    }
    if persons.is_some_and(|p| p.count > APPI_PERSONS_THRESHOLD) {
        triggers.push(Trigger::ManyPersons);
    }
    if triggers.is_empty() { Triage::NoTrigger } else { Triage::Reportable { triggers } }
}

/// Days from `today` to `due` (negative once overdue).
pub fn days_left(due: Date, today: Date) -> i64 {
    today.0.until(due.0).map_or(0, |span| i64::from(span.get_days()))
}

/// What a report's items are filled from besides the incident's fields.
#[derive(Debug, Clone, Default)]
pub struct ReportContext {
    /// 事業者名 (configured, or the policy's company).
    pub company: Option<String>,
    pub registration: Option<String>,
    /// The date the public entry was first published, if it was.
    pub published_on: Option<Date>,
    /// Category id → its Japanese name in the policy in force.
    pub category_names: BTreeMap<String, String>,
}

fn filled(text: &Option<String>) -> Option<String> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_string)
}

fn moment(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "不明".to_string(), tokyo::minutes)
}

fn occurrence(o: &Occurrence) -> String {
    match o {
        Occurrence::Unknown => "不明".to_string(),
        Occurrence::At { at } => tokyo::minutes(*at),
        Occurrence::Between { from, to } => format!("{} 〜 {}", tokyo::minutes(*from), tokyo::minutes(*to)),
    }
}

/// The value of `item` for an incident, or `None` while it is not filled.
pub fn item_value(item: &Item, fields: &IncidentFields, ctx: &ReportContext) -> Option<String> {
    match item {
        Item::Company => ctx.company.clone(),
        Item::Registration => ctx.registration.clone(),
        Item::Summary => {
            // The summary in words and how it was discovered make the item; dates show as
            // 不明 while unknown.
            let summary = fields.summary.as_ref().map(|s| s.ja.trim()).filter(|s| !s.is_empty())?;
            let discovery = filled(&fields.discovery)?;
            Some(format!(
                "{summary}\n発生日時: {}\n発覚日時: {}\n覚知日時: {}\n発覚の経緯: {discovery}",
                occurrence(&fields.occurred),
                moment(fields.discovered_at),
                tokyo::minutes(fields.known_at)
            ))
        }
        Item::Content | Item::DataItems => {
            let names: Vec<String> = fields
                .categories
                .iter()
                .map(|c| ctx.category_names.get(c).map_or_else(|| c.clone(), |n| format!("{n}（{c}）")))
                .collect();
            let mut parts = Vec::new();
            if !names.is_empty() {
                parts.push(names.join("、"));
            }
            if let Some(text) = filled(&fields.content) {
                parts.push(text);
            }
            (!parts.is_empty()).then(|| parts.join("\n"))
        }
        Item::Persons => fields
            .persons
            .map(|p| if p.estimated { format!("約{}人（推計）", p.count) } else { format!("{}人", p.count) }),
        Item::Cause => filled(&fields.cause),
        Item::SecondaryDamage => filled(&fields.secondary_damage),
        Item::Publication => Some(match ctx.published_on {
            Some(d) => format!("公表済み（{}）", d.ja()),
            None => "未公表".to_string(),
        }),
        Item::Response => filled(&fields.response),
        Item::Prevention => filled(&fields.prevention),
        Item::Other => filled(&fields.other),
        Item::Custom(id) => filled(&fields.extra.get(id).cloned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        tokyo::parse_instant(text).unwrap()
    }

    fn d(text: &str) -> Date {
        text.parse().unwrap()
    }

    fn flags(sensitive: bool, financial: bool, malicious: bool, encrypted: bool) -> Flags {
        Flags { sensitive, financial, malicious, encrypted }
    }

    fn due_table(rules: &IncidentRules, facts: &Facts) -> Vec<Row> {
        rules
            .obligations(facts)
            .into_iter()
            .map(|o| (o.regime.code().to_string(), o.report.code().to_string(), o.due.to_string()))
            .collect()
    }

    type Row = (String, String, String);

    fn row(regime: &str, report: &str, due: &str) -> Row {
        (regime.into(), report.into(), due.into())
    }

    /// The deadline table per regime and flag, with the defaults, from `known_at` in Tokyo:
    /// 2026-06-10 23:30 in Tokyo is still the 10th there (14:30 UTC).
    #[test]
    fn the_deadline_table_per_regime_and_flag() {
        let rules = IncidentRules::default();
        let known_at = ts("2026-06-10T23:30:00+09:00");
        let discovered_at = Some(ts("2026-06-08T10:00:00+09:00"));
        let all = [Regime::Secrecy, Regime::Tokutei, Regime::Appi];
        let cases: Vec<(&str, Flags, Option<u64>, Vec<Row>)> = vec![
            (
                "not reportable under APPI: only the MIC regimes",
                flags(false, false, false, false),
                Some(10),
                vec![
                    row("secrecy", "first", "2026-06-09"),
                    row("secrecy", "detailed", "2026-07-10"),
                    row("tokutei", "first", "2026-06-09"),
                    row("tokutei", "detailed", "2026-07-10"),
                ],
            ),
            (
                "sensitive: 速報 3 days, 確報 30 days",
                flags(true, false, false, false),
                None,
                vec![
                    row("secrecy", "first", "2026-06-09"),
                    row("secrecy", "detailed", "2026-07-10"),
                    row("tokutei", "first", "2026-06-09"),
                    row("tokutei", "detailed", "2026-07-10"),
                    row("appi", "preliminary", "2026-06-13"),
                    row("appi", "final", "2026-07-10"),
                ],
            ),
            (
                "financial: 確報 30 days",
                flags(false, true, false, false),
                None,
                vec![
                    row("secrecy", "first", "2026-06-09"),
                    row("secrecy", "detailed", "2026-07-10"),
                    row("tokutei", "first", "2026-06-09"),
                    row("tokutei", "detailed", "2026-07-10"),
                    row("appi", "preliminary", "2026-06-13"),
                    row("appi", "final", "2026-07-10"),
                ],
            ),
            (
                "malicious: 確報 60 days",
                flags(false, false, true, false),
                None,
                vec![
                    row("secrecy", "first", "2026-06-09"),
                    row("secrecy", "detailed", "2026-07-10"),
                    row("tokutei", "first", "2026-06-09"),
                    row("tokutei", "detailed", "2026-07-10"),
                    row("appi", "preliminary", "2026-06-13"),
                    row("appi", "final", "2026-08-09"),
                ],
            ),
            (
                "more than 1,000 persons",
                flags(false, false, false, false),
                Some(1_001),
                vec![
                    row("secrecy", "first", "2026-06-09"),
                    row("secrecy", "detailed", "2026-07-10"),
                    row("tokutei", "first", "2026-06-09"),
                    row("tokutei", "detailed", "2026-07-10"),
                    row("appi", "preliminary", "2026-06-13"),
                    row("appi", "final", "2026-07-10"),
                ],
            ),
            (
                "strongly encrypted: no APPI report even when malicious",
                flags(true, true, true, true),
                Some(5_000),
                vec![
                    row("secrecy", "first", "2026-06-09"),
                    row("secrecy", "detailed", "2026-07-10"),
                    row("tokutei", "first", "2026-06-09"),
                    row("tokutei", "detailed", "2026-07-10"),
                ],
            ),
        ];
        for (name, flags, persons, expected) in cases {
            let facts = Facts {
                regimes: &all,
                discovered_at,
                known_at,
                flags,
                persons: persons.map(|count| Persons { count, estimated: false }),
            };
            assert_eq!(due_table(&rules, &facts), expected, "{name}");
        }
    }

    #[test]
    fn the_date_of_known_at_is_the_tokyo_date_not_the_utc_one() {
        let rules = IncidentRules::default();
        // 2026-06-10T15:30Z is 2026-06-11 00:30 in Tokyo.
        let facts = Facts {
            regimes: &[Regime::Appi],
            discovered_at: None,
            known_at: ts("2026-06-10T15:30:00Z"),
            flags: flags(false, false, true, false),
            persons: None,
        };
        assert_eq!(
            due_table(&rules, &facts),
            [row("appi", "preliminary", "2026-06-14"), row("appi", "final", "2026-08-10")]
        );
        // Without `discovered_at`, the first report runs from `known_at`.
        let facts = Facts { regimes: &[Regime::Secrecy], ..facts };
        assert_eq!(
            due_table(&rules, &facts),
            [row("secrecy", "first", "2026-06-12"), row("secrecy", "detailed", "2026-07-11")]
        );
    }

    #[test]
    fn only_the_regimes_named_owe_reports_and_tokutei_is_marked_unconfirmed() {
        let rules = IncidentRules::default();
        let facts = Facts {
            regimes: &[Regime::Tokutei, Regime::Tokutei],
            discovered_at: None,
            known_at: ts("2026-06-10"),
            flags: Flags::default(),
            persons: None,
        };
        let obligations = rules.obligations(&facts);
        assert_eq!(obligations.len(), 2);
        assert!(obligations.iter().all(|o| o.unconfirmed && o.recipient == DEFAULT_RECIPIENT));
        let secrecy = rules.obligations(&Facts { regimes: &[Regime::Secrecy], ..facts });
        assert!(secrecy.iter().all(|o| !o.unconfirmed));
    }

    #[test]
    fn a_configured_override_changes_days_recipients_items_and_the_day_count() {
        let config: IncidentConfig = toml::from_str(
            r#"
            registration = "A-12-3456"
            days = "business"
            holidays = [2026-06-15]
            [tokutei]
            confirmed = true
            recipient = "関東総合通信局"
            detailed = { days = 20 }
            [appi]
            preliminary = { days = 5 }
            final = { days = 30, malicious_days = 45, items = ["summary", "persons", "incident_no"] }
            [[items]]
            id = "incident_no"
            ja = "社内管理番号"
            en = "Internal reference"
            "#,
        )
        .unwrap();
        let rules = IncidentRules::from_config(&config).unwrap();
        // Wednesday 2026-06-10; business days skip the weekend and the holiday on Monday the 15th.
        let facts = Facts {
            regimes: &[Regime::Tokutei, Regime::Appi],
            discovered_at: None,
            known_at: ts("2026-06-10T09:00:00+09:00"),
            flags: flags(false, false, true, false),
            persons: None,
        };
        let obligations = rules.obligations(&facts);
        let table: Vec<_> = obligations.iter().map(|o| (o.regime.code(), o.report.code(), o.due.to_string())).collect();
        assert_eq!(
            table,
            [
                ("tokutei", "first", "2026-06-11".to_string()),
                ("tokutei", "detailed", "2026-07-09".to_string()),
                ("appi", "preliminary", "2026-06-18".to_string()),
                ("appi", "final", "2026-08-13".to_string()),
            ]
        );
        assert_eq!(obligations[0].recipient, "関東総合通信局");
        assert!(!obligations[0].unconfirmed, "configured as confirmed");
        assert_eq!(obligations[2].recipient, DEFAULT_RECIPIENT);
        let items = &rules.report(Regime::Appi, Report::Final).unwrap().items;
        assert_eq!(items.iter().map(Item::id).collect::<Vec<_>>(), ["summary", "persons", "incident_no"]);
        assert_eq!(items[2].names(&rules), ("社内管理番号", "Internal reference"));
    }

    #[test]
    fn the_documented_configuration_is_valid() {
        let doc = include_str!("../../../../docs/incidents.md");
        let block = doc.split("```toml\n").nth(1).and_then(|b| b.split("```").next()).expect("a toml block");
        let table: toml::Table = toml::from_str(block).unwrap();
        let config: IncidentConfig = table["incidents"].clone().try_into().unwrap();
        let rules = IncidentRules::from_config(&config).unwrap();
        assert_eq!(rules.report(Regime::Secrecy, Report::Detailed).unwrap().items, MIC_ITEMS);
        assert_eq!(rules.days, DayCount::Calendar);
        assert_eq!(rules.custom_items[0].id, "internal_ref");
    }

    #[test]
    fn a_wrong_configuration_names_its_key() {
        let wrong = |text: &str| {
            let config: IncidentConfig = toml::from_str(text).unwrap();
            IncidentRules::from_config(&config).unwrap_err().to_string()
        };
        assert_eq!(
            wrong("[secrecy]\ndetailed = { days = 400 }"),
            "`incidents.secrecy.detailed.days`: 400 days; at most 365"
        );
        assert_eq!(
            wrong("[appi]\nfinal = { items = [\"nope\"] }"),
            "`incidents.appi.final.items`: `nope` is not an item; declare it under [[incidents.items]]"
        );
        assert_eq!(
            wrong("[secrecy]\nfinal = { days = 3 }"),
            "`incidents.secrecy.final`: the secrecy regime has no final report"
        );
        assert_eq!(
            wrong("[secrecy]\ndetailed = { malicious_days = 3 }"),
            "`incidents.secrecy.detailed.malicious_days`: only the APPI final report has a deadline for malicious leaks"
        );
        assert_eq!(wrong("[tokutei]\nrecipient = \" \""), "`incidents.tokutei.recipient`: is empty");
        assert_eq!(
            wrong("[[items]]\nid = \"cause\"\nja = \"x\"\nen = \"x\""),
            "`incidents.items[0].id`: `cause` is already an item"
        );
        assert!(
            toml::from_str::<IncidentConfig>("[secrecy]\nrecipent = \"x\"")
                .unwrap_err()
                .to_string()
                .contains("recipent")
        );
    }

    #[test]
    fn the_default_reports_carry_the_mic_ten_and_the_appi_nine_items() {
        let rules = IncidentRules::default();
        for regime in [Regime::Secrecy, Regime::Tokutei] {
            for report in [Report::First, Report::Detailed] {
                assert_eq!(rules.report(regime, report).unwrap().items, MIC_ITEMS);
            }
        }
        for report in [Report::Preliminary, Report::Final] {
            assert_eq!(rules.report(Regime::Appi, report).unwrap().items, APPI_ITEMS);
        }
        let names: Vec<&str> = MIC_ITEMS.iter().chain(APPI_ITEMS.iter()).map(|i| i.names(&rules).0).collect();
        assert!(names.iter().all(|n| !n.is_empty()));
    }

    // One test per branch of the APPI triage (§2b.1).

    #[test]
    fn triage_nothing_applies_so_not_reportable() {
        assert_eq!(triage(&Flags::default(), Some(Persons { count: 1, estimated: false })), Triage::NoTrigger);
        assert_eq!(triage(&Flags::default(), None), Triage::NoTrigger);
    }

    #[test]
    fn triage_sensitive_data_of_one_person_is_reportable() {
        let got = triage(&flags(true, false, false, false), Some(Persons { count: 1, estimated: false }));
        assert_eq!(got, Triage::Reportable { triggers: vec![Trigger::Sensitive] });
    }

    #[test]
    fn triage_risk_of_financial_damage_is_reportable() {
        let got = triage(&flags(false, true, false, false), None);
        assert_eq!(got, Triage::Reportable { triggers: vec![Trigger::Financial] });
    }

    #[test]
    fn triage_an_unlawful_purpose_is_reportable() {
        let got = triage(&flags(false, false, true, false), None);
        assert_eq!(got, Triage::Reportable { triggers: vec![Trigger::Malicious] });
    }

    #[test]
    fn triage_more_than_a_thousand_persons_is_reportable_a_thousand_is_not() {
        let persons = |count| Some(Persons { count, estimated: true });
        assert_eq!(triage(&Flags::default(), persons(1_000)), Triage::NoTrigger);
        assert_eq!(
            triage(&Flags::default(), persons(1_001)),
            Triage::Reportable { triggers: vec![Trigger::ManyPersons] }
        );
    }

    #[test]
    fn triage_strong_encryption_excludes_every_case() {
        let got = triage(&flags(true, true, true, true), Some(Persons { count: 10_000, estimated: false }));
        assert_eq!(got, Triage::Encrypted);
        assert!(!got.reportable());
    }

    #[test]
    fn days_left_counts_to_the_due_date_and_goes_negative_after() {
        assert_eq!(days_left(d("2026-07-10"), d("2026-07-03")), 7);
        assert_eq!(days_left(d("2026-07-10"), d("2026-07-10")), 0);
        assert_eq!(days_left(d("2026-07-10"), d("2026-07-12")), -2);
        assert_eq!(days_left(d("2027-07-10"), d("2026-07-10")), 365);
    }

    fn fields() -> IncidentFields {
        IncidentFields {
            title: tokutei_policy::Text::ja("誤送信"),
            summary: None,
            occurred: Occurrence::Unknown,
            discovered_at: None,
            known_at: ts("2026-06-10T09:00:00+09:00"),
            discovery: None,
            categories: Vec::new(),
            services: Vec::new(),
            content: None,
            persons: None,
            cause: None,
            secondary_damage: None,
            response: None,
            prevention: None,
            other: None,
            status: tokutei_store::incident::IncidentStatus::Open,
            processors: Vec::new(),
            regimes: vec![Regime::Appi],
            flags: Flags::default(),
            extra: BTreeMap::new(),
        }
    }

    #[test]
    fn items_are_filled_from_the_fields_as_far_as_known() {
        let ctx = ReportContext {
            company: Some("星空通信株式会社".into()),
            category_names: [("contract.email".to_string(), "メールアドレス".to_string())].into(),
            ..ReportContext::default()
        };
        let mut f = fields();
        let empty: Vec<&str> =
            APPI_ITEMS.iter().filter(|i| item_value(i, &f, &ctx).is_none()).map(|i| i.id()).collect();
        assert_eq!(
            empty,
            ["summary", "data_items", "persons", "cause", "secondary_damage", "response", "prevention", "other"],
            "publication is always known (未公表 until published)"
        );
        f.summary = Some(tokutei_policy::Text::ja("メールの誤送信"));
        assert_eq!(item_value(&Item::Summary, &f, &ctx), None, "how it was discovered is part of the summary");
        f.discovery = Some("利用者からの申告".into());
        let summary = item_value(&Item::Summary, &f, &ctx).unwrap();
        assert!(summary.contains("発生日時: 不明") && summary.contains("覚知日時: 2026-06-10 09:00"), "{summary}");
        f.categories = vec!["contract.email".into()];
        assert_eq!(item_value(&Item::DataItems, &f, &ctx).as_deref(), Some("メールアドレス（contract.email）"));
        f.persons = Some(Persons { count: 120, estimated: true });
        assert_eq!(item_value(&Item::Persons, &f, &ctx).as_deref(), Some("約120人（推計）"));
        f.cause = Some("  ".into());
        assert_eq!(item_value(&Item::Cause, &f, &ctx), None, "blank is empty");
        assert_eq!(item_value(&Item::Company, &f, &ctx).as_deref(), Some("星空通信株式会社"));
        assert_eq!(item_value(&Item::Registration, &f, &ctx), None);
        let published = ReportContext { published_on: Some(d("2026-06-20")), ..ctx };
        assert_eq!(item_value(&Item::Publication, &f, &published).as_deref(), Some("公表済み（2026年6月20日）"));
    }
}
