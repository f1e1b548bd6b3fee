//! The policy file's data model: every section of a 特定利用者情報の取扱方針 as typed data.
//!
//! One `Policy` value is both the public page (rendered by `render`) and the source of the
//! enforced rules (compiled by the gateway). Field names here are the TOML keys of the policy
//! file, so this module is also the file format's reference; `docs/policy-file.md` explains it.
//!
//! Parsing and serialisation only: validation lives in `check`, so that a structurally
//! well-formed but semantically wrong file can still be loaded and diagnosed in full.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The policy file format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// A text in Japanese (authoritative) with an optional English translation.
///
/// In TOML it is written either as a plain string (Japanese only) or as a table
/// `{ ja = "…", en = "…" }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "TextRepr")]
pub struct Text {
    pub ja: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TextRepr {
    Plain(String),
    Table {
        #[serde(default)]
        ja: String,
        #[serde(default)]
        en: Option<String>,
    },
}

impl From<TextRepr> for Text {
    fn from(repr: TextRepr) -> Text {
        match repr {
            TextRepr::Plain(ja) => Text { ja, en: None },
            TextRepr::Table { ja, en } => Text { ja, en },
        }
    }
}

impl Text {
    pub fn ja(ja: impl Into<String>) -> Text {
        Text { ja: ja.into(), en: None }
    }

    pub fn new(ja: impl Into<String>, en: impl Into<String>) -> Text {
        Text { ja: ja.into(), en: Some(en.into()) }
    }

    /// The text in `lang`, or `None` when English is asked for and missing.
    pub fn get(&self, lang: Lang) -> Option<&str> {
        match lang {
            Lang::Ja => Some(self.ja.as_str()),
            Lang::En => self.en.as_deref().filter(|s| !s.trim().is_empty()),
        }
    }

    pub fn is_blank(&self) -> bool {
        self.ja.trim().is_empty()
    }
}

/// The language of a rendering. Japanese is authoritative; English is a translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Ja,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }
}

/// A calendar date (Asia/Tokyo civil date). Written in TOML as a local date `2024-04-12`
/// or as a string `"2024-04-12"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub jiff::civil::Date);

impl Date {
    pub fn new(year: i16, month: i8, day: i8) -> Option<Date> {
        jiff::civil::Date::new(year, month, day).ok().map(Date)
    }

    /// `2024年4月12日`.
    pub fn ja(self) -> String {
        format!("{}年{}月{}日", self.0.year(), self.0.month(), self.0.day())
    }

    /// `12 April 2024`.
    pub fn en(self) -> String {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let month = MONTHS[usize::try_from(self.0.month() - 1).unwrap_or(0)];
        format!("{} {} {}", self.0.day(), month, self.0.year())
    }

    pub fn in_lang(self, lang: Lang) -> String {
        match lang {
            Lang::Ja => self.ja(),
            Lang::En => self.en(),
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for Date {
    type Err = String;
    fn from_str(s: &str) -> Result<Date, String> {
        s.trim()
            .parse::<jiff::civil::Date>()
            .map(Date)
            .map_err(|_| format!("`{s}` is not a real date (expected YYYY-MM-DD)"))
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A TOML local date, so that files written by `policy import` read naturally.
        let d = toml::value::Date {
            year: u16::try_from(self.0.year()).map_err(serde::ser::Error::custom)?,
            month: u8::try_from(self.0.month()).map_err(serde::ser::Error::custom)?,
            day: u8::try_from(self.0.day()).map_err(serde::ser::Error::custom)?,
        };
        toml::value::Datetime { date: Some(d), time: None, offset: None }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Toml(toml::value::Datetime),
            Str(String),
        }
        let text = match Repr::deserialize(deserializer)? {
            Repr::Toml(dt) => match (dt.date, dt.time, dt.offset) {
                (Some(d), None, None) => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
                _ => return Err(serde::de::Error::custom(format!("`{dt}` is not a plain date (expected YYYY-MM-DD)"))),
            },
            Repr::Str(s) => s,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The whole policy file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// File format version, [`FORMAT_VERSION`].
    pub format: u32,
    pub header: Header,
    #[serde(default)]
    pub services: Vec<Service>,
    /// 取得する特定利用者情報の内容: the introductory text of the section.
    pub content: ContentSection,
    #[serde(default)]
    pub categories: Vec<Category>,
    /// 取得方法.
    pub acquisition: Acquisition,
    /// 利用目的・利用方法.
    pub purposes: PurposeSection,
    /// 安全管理措置.
    pub security: SecuritySection,
    /// 特定利用者情報の海外への保管・取扱いの委託.
    pub foreign: ForeignSection,
    /// お問い合わせ.
    pub contact: Contact,
    /// 特定利用者情報の漏えい.
    pub leaks: LeakRule,
    /// Text found by `policy import` that could not be placed in any section, with its line.
    /// A policy with unplaced text is flagged by `policy check` until someone places it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unplaced: Vec<Unplaced>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// 特定利用者情報の取扱方針.
    pub title: Text,
    pub company: Text,
    pub representative: Representative,
    /// 制定: the date the policy was first enacted.
    pub enacted: Date,
    /// The date this version takes effect; defaults to the latest revision or `enacted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective: Option<Date>,
    /// 改定履歴, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<Revision>,
    /// The text between the header and the first section (前文), e.g. the legal basis of
    /// the policy, when the published text has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preamble: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Representative {
    /// e.g. 代表取締役社長.
    pub title: Text,
    pub name: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revision {
    pub date: Date,
    pub summary: Text,
}

/// A designated telecommunications service (e.g. インターネット接続サービス, GIN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub id: String,
    pub name: Text,
    /// Whether the minister designated this service (the regime applies to it).
    #[serde(default = "yes")]
    pub designated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentSection {
    /// e.g. 「インターネット接続サービスをご契約のお客さまの特定利用者情報」.
    pub text: Text,
    /// List the category catalogue (name, tier, retention per service) under the text. Off
    /// for imported texts whose own wording already describes the content.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub list_categories: bool,
}

/// The legal tier of an information category (法27条の5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// 通信の秘密: the strictest tier.
    SecrecyOfCommunications,
    /// 契約・登録利用者DB: identifies a contract or registered user in a searchable database.
    RegisteredUserDb,
    Other,
}

impl Tier {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Tier::SecrecyOfCommunications, Lang::Ja) => "通信の秘密",
            (Tier::SecrecyOfCommunications, Lang::En) => "secrecy of communications",
            (Tier::RegisteredUserDb, Lang::Ja) => "契約・登録利用者DB",
            (Tier::RegisteredUserDb, Lang::En) => "contract / registered user database",
            (Tier::Other, Lang::Ja) => "その他",
            (Tier::Other, Lang::En) => "other",
        }
    }
}

/// An information category: one kind of value kept about a subscriber.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Stable id, e.g. `contract.phone`.
    pub id: String,
    /// The services this category is collected for (ids from `[[services]]`).
    pub services: Vec<String>,
    pub name: Text,
    pub tier: Tier,
    /// How long values of this category are kept.
    pub retention: Retention,
    /// The business need for keeping a log longer than 6 months (電気通信事業GL 通信履歴).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_justification: Option<Text>,
    /// Whether this is a log (通信履歴, connection/authentication log).
    #[serde(default, skip_serializing_if = "is_false")]
    pub log: bool,
    /// Staff may search subscribers by this field (a keyed blind index is kept).
    #[serde(default, skip_serializing_if = "is_false")]
    pub searchable: bool,
    /// Values are binary (call recordings, scanned documents), stored as encrypted blobs.
    #[serde(default, skip_serializing_if = "is_false")]
    pub binary: bool,
    /// Partial views of a value a purpose may be limited to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masks: Vec<Mask>,
}

/// A retention rule for a category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// What the period counts from.
    pub from: RetentionStart,
    /// The period in months (0 = delete as soon as the start event happens).
    pub months: u32,
    /// Free text shown on the page, if the rule needs explaining.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Text>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetentionStart {
    /// From when the value was collected.
    Collection,
    /// From the end of the contract (after termination only purposes that continue may use it).
    ContractEnd,
}

/// A masked view of a value: what a purpose sees when it needs only part of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mask {
    pub id: String,
    /// Keep this many trailing characters, replacing the rest with `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u32>,
    /// Keep this many leading characters, replacing the rest with `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_first: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acquisition {
    /// The section's text as published.
    pub text: Text,
    /// The methods the carrier acquires information by.
    pub methods: Vec<AcquisitionMethod>,
    /// Information is acquired directly from the subscriber.
    #[serde(default = "yes")]
    pub direct: bool,
    /// Information is also acquired indirectly, from others (APPI 30条 receipt check applies).
    #[serde(default)]
    pub indirect: bool,
    /// Further notes, e.g. the call-recording notice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Text>,
}

/// 取得方法: how a value was acquired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcquisitionMethod {
    /// 口頭.
    Oral,
    /// 書面.
    Written,
    /// 電磁的記録.
    Electronic,
    /// 録音.
    AudioRecording,
    /// 録画.
    VideoRecording,
    /// その他.
    Other,
}

impl AcquisitionMethod {
    pub const ALL: [AcquisitionMethod; 6] = [
        AcquisitionMethod::Oral,
        AcquisitionMethod::Written,
        AcquisitionMethod::Electronic,
        AcquisitionMethod::AudioRecording,
        AcquisitionMethod::VideoRecording,
        AcquisitionMethod::Other,
    ];

    pub fn id(self) -> &'static str {
        match self {
            AcquisitionMethod::Oral => "oral",
            AcquisitionMethod::Written => "written",
            AcquisitionMethod::Electronic => "electronic",
            AcquisitionMethod::AudioRecording => "audio_recording",
            AcquisitionMethod::VideoRecording => "video_recording",
            AcquisitionMethod::Other => "other",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (AcquisitionMethod::Oral, Lang::Ja) => "口頭",
            (AcquisitionMethod::Written, Lang::Ja) => "書面",
            (AcquisitionMethod::Electronic, Lang::Ja) => "電磁的記録",
            (AcquisitionMethod::AudioRecording, Lang::Ja) => "録音",
            (AcquisitionMethod::VideoRecording, Lang::Ja) => "録画",
            (AcquisitionMethod::Other, Lang::Ja) => "その他",
            (AcquisitionMethod::Oral, Lang::En) => "oral",
            (AcquisitionMethod::Written, Lang::En) => "written documents",
            (AcquisitionMethod::Electronic, Lang::En) => "electronic records",
            (AcquisitionMethod::AudioRecording, Lang::En) => "audio recording",
            (AcquisitionMethod::VideoRecording, Lang::En) => "video recording",
            (AcquisitionMethod::Other, Lang::En) => "other means",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeSection {
    /// Optional text before the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intro: Option<Text>,
    pub list: Vec<Purpose>,
    /// The ※ notes after the list (individually set purposes, use after termination,
    /// third-party cooperation…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Text>,
}

/// A purpose of use (利用目的). Every access through the gateway declares one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    /// Stable id used by the gateway and the audit ledger; never reuse one for another meaning.
    pub id: String,
    pub text: Text,
    pub consent: ConsentMode,
    /// The categories this purpose may use (ids from `[[categories]]`).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Channels through which the purpose reaches the subscriber.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<Channel>,
    /// Use may continue after the contract is terminated (within this purpose).
    #[serde(default, skip_serializing_if = "is_false")]
    pub continues_after_termination: bool,
    /// The purpose provides data to third parties (APPI 29条 provision records are written).
    #[serde(default, skip_serializing_if = "is_false")]
    pub third_party_provision: bool,
    /// Set individually (e.g. by a survey) rather than listed in the published policy text.
    #[serde(default, skip_serializing_if = "is_false")]
    pub individually_set: bool,
    /// Categories this purpose sees only through a mask: `category id → mask id`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub masking: std::collections::BTreeMap<String, String>,
}

/// How a subscriber's choice bears on a purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentMode {
    /// Needed to provide the service; no choice.
    None,
    /// Allowed unless the subscriber opted out.
    OptOut,
    /// Allowed only after the subscriber opted in.
    OptIn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Phone,
    Mail,
    Email,
    Post,
    Web,
    App,
    Sms,
    InPerson,
    Advertising,
}

impl Channel {
    /// Every channel, in declaration order.
    pub const ALL: [Channel; 9] = [
        Channel::Phone,
        Channel::Mail,
        Channel::Email,
        Channel::Post,
        Channel::Web,
        Channel::App,
        Channel::Sms,
        Channel::InPerson,
        Channel::Advertising,
    ];

    /// The id a channel has in the policy file, in Cedar and in the ledger (`in_person`).
    pub fn id(self) -> &'static str {
        match self {
            Channel::Phone => "phone",
            Channel::Mail => "mail",
            Channel::Email => "email",
            Channel::Post => "post",
            Channel::Web => "web",
            Channel::App => "app",
            Channel::Sms => "sms",
            Channel::InPerson => "in_person",
            Channel::Advertising => "advertising",
        }
    }

    /// The channel with this id.
    pub fn from_id(id: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.id() == id)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Channel::Phone, Lang::Ja) => "電話",
            (Channel::Mail, Lang::Ja) | (Channel::Email, Lang::Ja) => "メール",
            (Channel::Post, Lang::Ja) => "郵送",
            (Channel::Web, Lang::Ja) => "ウェブ",
            (Channel::App, Lang::Ja) => "アプリ",
            (Channel::Sms, Lang::Ja) => "SMS",
            (Channel::InPerson, Lang::Ja) => "対面",
            (Channel::Advertising, Lang::Ja) => "広告表示",
            (Channel::Phone, Lang::En) => "phone",
            (Channel::Mail, Lang::En) | (Channel::Email, Lang::En) => "email",
            (Channel::Post, Lang::En) => "post",
            (Channel::Web, Lang::En) => "web",
            (Channel::App, Lang::En) => "app",
            (Channel::Sms, Lang::En) => "SMS",
            (Channel::InPerson, Lang::En) => "in person",
            (Channel::Advertising, Lang::En) => "advertising",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySection {
    pub intro: Text,
    pub measures: Vec<SecurityMeasure>,
}

/// One of the numbered 安全管理措置 (1)–(7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityMeasure {
    /// The number as published, e.g. 1 for （1）.
    pub number: u32,
    pub kind: MeasureKind,
    pub title: Text,
    pub text: Text,
    /// The role that owns this measure.
    pub owner: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    /// 基本方針の策定.
    BasicPolicy,
    /// 取扱いに係る規律の整備.
    Rules,
    /// 組織的安全管理措置.
    Organizational,
    /// 人的安全管理措置.
    Human,
    /// 物理的安全管理措置.
    Physical,
    /// 技術的安全管理措置.
    Technical,
    /// 外的環境の把握.
    ExternalEnvironment,
    Other,
}

impl MeasureKind {
    /// The six kinds the law expects a policy to address (legal-requirements §1.4, §8).
    pub const REQUIRED: [MeasureKind; 7] = [
        MeasureKind::BasicPolicy,
        MeasureKind::Rules,
        MeasureKind::Organizational,
        MeasureKind::Human,
        MeasureKind::Physical,
        MeasureKind::Technical,
        MeasureKind::ExternalEnvironment,
    ];

    /// The kind's stored and written name (`basic_policy`, `rules`, …).
    pub fn code(self) -> &'static str {
        match self {
            MeasureKind::BasicPolicy => "basic_policy",
            MeasureKind::Rules => "rules",
            MeasureKind::Organizational => "organizational",
            MeasureKind::Human => "human",
            MeasureKind::Physical => "physical",
            MeasureKind::Technical => "technical",
            MeasureKind::ExternalEnvironment => "external_environment",
            MeasureKind::Other => "other",
        }
    }

    /// The kind as the guidelines name it.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (MeasureKind::BasicPolicy, Lang::Ja) => "基本方針の策定",
            (MeasureKind::Rules, Lang::Ja) => "取扱いに係る規律の整備",
            (MeasureKind::Organizational, Lang::Ja) => "組織的安全管理措置",
            (MeasureKind::Human, Lang::Ja) => "人的安全管理措置",
            (MeasureKind::Physical, Lang::Ja) => "物理的安全管理措置",
            (MeasureKind::Technical, Lang::Ja) => "技術的安全管理措置",
            (MeasureKind::ExternalEnvironment, Lang::Ja) => "外的環境の把握",
            (MeasureKind::Other, Lang::Ja) => "その他",
            (MeasureKind::BasicPolicy, Lang::En) => "basic policy",
            (MeasureKind::Rules, Lang::En) => "rules for handling",
            (MeasureKind::Organizational, Lang::En) => "organizational measures",
            (MeasureKind::Human, Lang::En) => "human measures",
            (MeasureKind::Physical, Lang::En) => "physical measures",
            (MeasureKind::Technical, Lang::En) => "technical measures",
            (MeasureKind::ExternalEnvironment, Lang::En) => "understanding the external environment",
            (MeasureKind::Other, Lang::En) => "other",
        }
    }
}

/// Staff roles of the privacy organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 統括管理者 (特定利用者情報統括管理者).
    ChiefManager,
    /// 責任者.
    ResponsiblePerson,
    /// 担当者.
    Handler,
    /// 監査.
    Auditor,
}

impl Role {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Role::ChiefManager, Lang::Ja) => "統括管理者",
            (Role::ResponsiblePerson, Lang::Ja) => "責任者",
            (Role::Handler, Lang::Ja) => "担当者",
            (Role::Auditor, Lang::Ja) => "監査",
            (Role::ChiefManager, Lang::En) => "chief manager",
            (Role::ResponsiblePerson, Lang::En) => "responsible person",
            (Role::Handler, Lang::En) => "handler",
            (Role::Auditor, Lang::En) => "auditor",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignSection {
    /// Optional text before the rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intro: Option<Text>,
    /// An explicit statement that nothing is stored or handled abroad (なし).
    #[serde(default, skip_serializing_if = "is_false")]
    pub none: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<ForeignEntry>,
}

/// A row of the foreign storage / delegation register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignEntry {
    /// The service (id from `[[services]]`).
    pub service: String,
    /// Country name as published (e.g. 米国).
    pub country: Text,
    /// ISO 3166-1 alpha-2 code, used to check data residency on writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    pub kind: ForeignKind,
    /// The recipient (storage provider or delegate), when published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Text>,
    /// The foreign regimes that may affect appropriate handling. Empty with `regimes_none`
    /// means the published 「なし」.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regimes: Vec<Text>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub regimes_none: bool,
    /// Measures the recipient takes (APPI 28条2項 / 規則17条).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_measures: Option<Text>,
    /// When the regime assessment was last reviewed.
    pub reviewed: Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForeignKind {
    /// 保管.
    Storage,
    /// 取扱いの委託.
    Delegation,
    /// 保管・委託.
    StorageAndDelegation,
}

impl ForeignKind {
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ForeignKind::Storage, Lang::Ja) => "保管",
            (ForeignKind::Delegation, Lang::Ja) => "取扱いの委託",
            (ForeignKind::StorageAndDelegation, Lang::Ja) => "保管・委託",
            (ForeignKind::Storage, Lang::En) => "storage",
            (ForeignKind::Delegation, Lang::En) => "delegation of handling",
            (ForeignKind::StorageAndDelegation, Lang::En) => "storage and delegation",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub text: Text,
    /// The heading of the contact block, e.g. <特定利用者情報に関するお問い合せ先>.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_address: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<Text>,
}

/// The rule for publishing leaks (法27条の5 incidents) on the policy page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeakRule {
    /// The published statement, including its legal basis.
    pub text: Text,
    /// Leaks that occurred on or after this date are listed.
    pub since: Date,
    /// For how many years after it occurred a leak stays listed.
    pub years: u32,
}

/// Text `policy import` could not place, kept so nothing is dropped silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unplaced {
    /// 1-based line in the imported text.
    pub line: u32,
    pub text: String,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Policy {
    pub fn service(&self, id: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.id == id)
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes.list.iter().find(|p| p.id == id)
    }

    /// The date this version takes effect.
    pub fn effective_date(&self) -> Date {
        self.header
            .effective
            .or_else(|| self.header.revisions.iter().map(|r| r.date).max())
            .unwrap_or(self.header.enacted)
    }
}
