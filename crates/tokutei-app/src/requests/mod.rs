//! Data-subject requests (開示等の請求, APPI 32–35条): the register from intake to notice.
//!
//! A request is received (from an inquiry, or entered by staff from a call, a letter or the
//! shop counter) with its type and scope; the requester's identity is verified before a
//! subscriber is linked (the method, a reference to where the evidence is kept, an agent's
//! authority); its clock runs from the day it was received (Tokyo) for `deadline_days` (14 by
//! default), pauses while the office waits for the person and runs again, and may be extended
//! with a reason; its outcome — fulfilled, partly fulfilled, or refused on a ground of the law
//! chosen from the list for its type — is decided once, and the notice of it is recorded.
//! Every step is one function here: authorized, validated naming the field, audited (durable)
//! first, then stored; nothing is edited or dropped (the store is append-only).
//!
//! The numbers are `deployment.toml`'s `[requests]` ([`RequestConfig`]): `deadline_days`
//! (14; the law says 遅滞なく — the office's own target, legal-requirements §3), and
//! `[requests.fees]`, the fee per type in yen where the deployment charges one (38条: purpose
//! notice and disclosure only, provision records included).

use std::collections::BTreeMap;
use std::net::IpAddr;

use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokutei_ledger::AdminAction;
use tokutei_policy::{Date, tokyo};
use tokutei_store::requests::{NewRequest, NewRequestEvent, RequestEventKind, StopKind, StoredRequest, UseStop};

pub mod documents;

pub use documents::DISCLOSURE_SCHEMA;

use crate::App;
use crate::acting::{Acting, MANAGERS, OVERSIGHT};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::{RequestId, SubscriberId};

/// The most characters of a reference (evidence, a note's subject).
pub const REFERENCE_MAX: usize = 200;
/// The most characters of a note or a reason.
pub const NOTE_MAX: usize = 4_000;

macro_rules! coded {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal, $ja:literal, $en:literal;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vdoc])* $variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stored and written code.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)* }
            }

            pub fn ja(self) -> &'static str {
                match self { $($name::$variant => $ja,)* }
            }

            pub fn en(self) -> &'static str {
                match self { $($name::$variant => $en,)* }
            }

            /// The value of `code`, or an error naming `field` and the codes there are.
            pub fn parse(field: &'static str, code: &str) -> ActionResult<$name> {
                $name::ALL.iter().copied().find(|k| k.code() == code.trim()).ok_or_else(|| {
                    let codes: Vec<&str> = $name::ALL.iter().map(|k| k.code()).collect();
                    ActionError::invalid(field, format!("`{}` is not one of {}", code.trim(), codes.join(", ")))
                })
            }
        }
    };
}

coded! {
    /// What the person asks for.
    RequestKind {
        /// 利用目的の通知 (32条2項).
        PurposeNotice = "purpose_notice", "利用目的の通知", "notice of the purposes of use";
        /// 開示 (33条1項).
        Disclosure = "disclosure", "開示", "disclosure";
        /// 第三者提供記録の開示 (33条5項).
        ProvisionRecords = "provision_records", "第三者提供記録の開示", "disclosure of third-party provision records";
        /// 訂正・追加・削除 (34条).
        Correction = "correction", "訂正・追加・削除", "correction, addition or deletion";
        /// 利用停止 (35条1項).
        Stop = "stop", "利用停止", "stop of use";
        /// 消去 (35条1項).
        Erasure = "erasure", "消去", "erasure";
        /// 第三者提供の停止 (35条3項).
        ProvisionStop = "provision_stop", "第三者提供の停止", "stop of third-party provision";
    }
}

impl RequestKind {
    /// The article of the APPI the request rests on.
    pub fn article(self) -> &'static str {
        match self {
            RequestKind::PurposeNotice => "32条2項",
            RequestKind::Disclosure => "33条1項",
            RequestKind::ProvisionRecords => "33条5項",
            RequestKind::Correction => "34条1項",
            RequestKind::Stop | RequestKind::Erasure => "35条1項",
            RequestKind::ProvisionStop => "35条3項",
        }
    }

    /// What the person may ask for, as the public procedures page says it.
    pub fn explain(self, lang: tokutei_policy::Lang) -> &'static str {
        use tokutei_policy::Lang::{En, Ja};
        match (self, lang) {
            (RequestKind::PurposeNotice, Ja) => "当社がお客様の個人データを利用する目的をお知らせします。",
            (RequestKind::PurposeNotice, En) => "We tell you the purposes for which we use your personal data.",
            (RequestKind::Disclosure, Ja) => {
                "当社が保有するお客様の個人データと、その取得の経緯・同意の記録・利用の記録を、電磁的記録または書面でお渡しします。"
            }
            (RequestKind::Disclosure, En) => {
                "We give you the personal data we hold about you, where it came from, your consent records and the record of its use, as an electronic record or on paper."
            }
            (RequestKind::ProvisionRecords, Ja) => {
                "お客様の個人データを第三者に提供した記録・第三者から受け取った記録をお渡しします。"
            }
            (RequestKind::ProvisionRecords, En) => {
                "We give you the records of providing your personal data to third parties and of receiving it from them."
            }
            (RequestKind::Correction, Ja) => "内容が事実でない個人データを訂正・追加・削除し、結果をお知らせします。",
            (RequestKind::Correction, En) => {
                "We correct, add to or delete personal data that is untrue, and tell you the result."
            }
            (RequestKind::Stop, Ja) => "法律の定める場合に、個人データの利用（全部または特定の目的）を停止します。",
            (RequestKind::Stop, En) => {
                "Where the law provides, we stop using your personal data (for every purpose or for the ones you name)."
            }
            (RequestKind::Erasure, Ja) => {
                "法律の定める場合に、個人データを消去します（法令で保存が必要なものを除きます）。"
            }
            (RequestKind::Erasure, En) => {
                "Where the law provides, we erase your personal data (except what a law requires us to keep)."
            }
            (RequestKind::ProvisionStop, Ja) => "法律の定める場合に、個人データの第三者への提供を停止します。",
            (RequestKind::ProvisionStop, En) => {
                "Where the law provides, we stop providing your personal data to third parties."
            }
        }
    }

    /// A fee may be charged (38条1項: purpose notice and disclosure, 33条5項 included).
    pub fn fee_allowed(self) -> bool {
        matches!(self, RequestKind::PurposeNotice | RequestKind::Disclosure | RequestKind::ProvisionRecords)
    }

    /// The person chooses how the answer is given (33条1項: an electronic record or paper).
    pub fn has_method(self) -> bool {
        matches!(self, RequestKind::Disclosure | RequestKind::ProvisionRecords)
    }

    /// The grounds on which a request of this type may be refused.
    pub fn grounds(self) -> Vec<Ground> {
        let mut out = vec![Ground::Identity, Ground::NotHeld];
        out.extend(match self {
            RequestKind::PurposeNotice => vec![Ground::PurposeKnown, Ground::PurposeExempt],
            RequestKind::Disclosure | RequestKind::ProvisionRecords => {
                vec![Ground::Harm, Ground::Business, Ground::OtherLaw]
            }
            RequestKind::Correction => vec![Ground::NotUntrue],
            RequestKind::Stop | RequestKind::Erasure | RequestKind::ProvisionStop => {
                vec![Ground::NoGround, Ground::Alternative]
            }
        });
        out
    }
}

coded! {
    /// Why a request is refused: the clause of the law, chosen from the type's list.
    Ground {
        /// The requester's identity (or an agent's authority) could not be verified (37条).
        Identity = "identity", "本人確認ができない（37条）", "the requester's identity could not be verified (art. 37)";
        /// The office holds no such data of the person.
        NotHeld = "not_held", "保有個人データが存在しない", "no such retained personal data is held";
        /// The purposes are already clear to the person (32条2項1号).
        PurposeKnown = "purpose_known", "利用目的が明らかである（32条2項1号）", "the purposes are already clear (art. 32(2)(i))";
        /// Notice would fall under 21条4項1–3号 (32条2項2号).
        PurposeExempt = "purpose_exempt", "21条4項1号〜3号に該当（32条2項2号）", "falls under art. 21(4)(i)–(iii) (art. 32(2)(ii))";
        /// Harm to the life, body, property or other rights of the person or a third party (33条2項1号).
        Harm = "harm", "本人又は第三者の生命、身体、財産その他の権利利益を害するおそれ（33条2項1号）", "risk of harm to the person or a third party (art. 33(2)(i))";
        /// Serious hindrance to the proper conduct of the business (33条2項2号).
        Business = "business", "業務の適正な実施に著しい支障を及ぼすおそれ（33条2項2号）", "serious hindrance to the business (art. 33(2)(ii))";
        /// A breach of another law (33条2項3号).
        OtherLaw = "other_law", "他の法令に違反することとなる（33条2項3号）", "would breach another law (art. 33(2)(iii))";
        /// The content is not untrue (34条1項: correction only of untrue content).
        NotUntrue = "not_untrue", "内容が事実でないとは認められない（34条）", "the content is not found to be untrue (art. 34)";
        /// None of the grounds of 35条1項, 3項 or 5項 applies.
        NoGround = "no_ground", "35条に定める請求の要件に該当しない", "none of the grounds of art. 35 applies";
        /// It would cost a large sum or be otherwise difficult, and an alternative measure is taken (35条2項・4項・6項ただし書).
        Alternative = "alternative", "多額の費用を要する等のため代替措置を講じた（35条ただし書）", "too costly or difficult; an alternative measure was taken (art. 35 proviso)";
    }
}

coded! {
    /// How the request reached the office.
    Channel {
        Inquiry = "inquiry", "お問い合わせフォーム", "inquiry form";
        Phone = "phone", "電話", "phone";
        Letter = "letter", "郵送", "letter";
        Shop = "shop", "店頭", "shop counter";
        Email = "email", "メール", "email";
    }
}

coded! {
    /// How the requester's identity was verified.
    Verification {
        License = "license", "運転免許証", "driving licence";
        MyNumberCard = "my_number_card", "マイナンバーカード（番号は記録しない）", "My Number Card (the number is never recorded)";
        Passport = "passport", "旅券", "passport";
        ResidenceCard = "residence_card", "在留カード", "residence card";
        InsuranceCard = "insurance_card", "健康保険証等（補助書類と併用）", "health insurance card with a supporting document";
        Contract = "contract", "契約情報と暗証番号の照合", "contract details and PIN";
        Counter = "counter", "店頭での本人確認書類の確認", "documents checked at the shop counter";
    }
}

coded! {
    /// How the answer is given (33条1項).
    ResponseMethod {
        Electronic = "electronic", "電磁的記録の提供", "electronic record";
        Paper = "paper", "書面の交付", "paper";
    }
}

coded! {
    /// What was decided.
    OutcomeKind {
        Fulfilled = "fulfilled", "対応済み", "fulfilled";
        Partly = "partly", "一部対応", "partly fulfilled";
        Refused = "refused", "不開示・不対応", "refused";
    }
}

coded! {
    /// How the notice of the outcome went out.
    NoticeMethod {
        Post = "post", "郵送", "post";
        Email = "email", "メール", "email";
        Download = "download", "電磁的記録のダウンロード", "download";
        Counter = "counter", "店頭", "shop counter";
        Phone = "phone", "電話", "phone";
    }
}

/// The purpose a disclosure is read under unless `[requests] purpose` names another.
pub const DEFAULT_PURPOSE: &str = "data_subject_requests";

/// `deployment.toml`'s `[requests]`, as written (every key optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestConfig {
    pub deadline_days: Option<u32>,
    /// Yen per type code (`disclosure = 1000`).
    #[serde(default)]
    pub fees: BTreeMap<String, u32>,
    /// The identity checks the office accepts (codes of [`Verification`]); all when absent.
    pub identity: Option<Vec<String>>,
    /// The policy's purpose a disclosure is read under (`data_subject_requests` by default).
    pub purpose: Option<String>,
}

/// The request rules in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRules {
    /// Calendar days from the day a request is received to its deadline.
    pub deadline_days: u32,
    /// The fee per type, in yen (only types that may charge one).
    pub fees: BTreeMap<RequestKind, u32>,
    /// The identity checks accepted, as the public procedures page lists them.
    pub identity: Vec<Verification>,
    /// The policy's purpose a disclosure is read under through the gateway.
    pub purpose: String,
}

impl Default for RequestRules {
    fn default() -> RequestRules {
        RequestRules {
            deadline_days: 14,
            fees: BTreeMap::new(),
            identity: Verification::ALL.to_vec(),
            purpose: DEFAULT_PURPOSE.to_string(),
        }
    }
}

impl RequestRules {
    /// The rules of `config` over the defaults, each value checked naming its key.
    pub fn from_config(config: &RequestConfig) -> ActionResult<RequestRules> {
        let deadline_days = match config.deadline_days {
            None => 14,
            Some(d) if (1..=90).contains(&d) => d,
            Some(d) => return Err(ActionError::invalid("requests.deadline_days", format!("is {d}; use 1 to 90"))),
        };
        let mut fees = BTreeMap::new();
        for (code, yen) in &config.fees {
            let kind = RequestKind::parse("requests.fees", code)?;
            if !kind.fee_allowed() {
                return Err(ActionError::invalid(
                    "requests.fees",
                    format!("`{code}` may not be charged for (38条: purpose notice and disclosure only)"),
                ));
            }
            if *yen > 100_000 {
                return Err(ActionError::invalid("requests.fees", format!("`{code}` is {yen} yen; at most 100000")));
            }
            fees.insert(kind, *yen);
        }
        let identity = match &config.identity {
            None => Verification::ALL.to_vec(),
            Some(codes) if codes.is_empty() => {
                return Err(ActionError::invalid("requests.identity", "name at least one accepted identity check"));
            }
            Some(codes) => {
                codes.iter().map(|c| Verification::parse("requests.identity", c)).collect::<ActionResult<_>>()?
            }
        };
        let purpose = match &config.purpose {
            None => DEFAULT_PURPOSE.to_string(),
            Some(p) if tokutei_policy::check::is_valid_id(p) => p.clone(),
            Some(p) => return Err(ActionError::invalid("requests.purpose", format!("`{p}` is not a purpose id"))),
        };
        Ok(RequestRules { deadline_days, fees, identity, purpose })
    }
}

/// The identity verification of a requester, as a person gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationInput {
    /// The subscriber the request concerns.
    pub subscriber: SubscriberId,
    pub method: Verification,
    /// Where the office keeps the evidence (a file number), never a document's number.
    pub evidence: Option<String>,
    /// The agent's evidence of authority (委任状, a legal representative's proof), when an
    /// agent makes the request.
    pub agent: Option<String>,
}

/// A request as staff enter it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInput {
    pub kind: RequestKind,
    pub channel: Channel,
    /// The inquiry it came from, by receipt number (its channel is then `inquiry`).
    pub inquiry: Option<String>,
    /// When it was received; now when left out (not in the future).
    pub received_at: Option<Timestamp>,
    /// The purposes it concerns (ids of the policy in force); all when empty.
    pub purposes: Vec<String>,
    /// The categories it concerns (ids of the policy in force); all when empty.
    pub categories: Vec<String>,
    /// The answer's form, for a disclosure (electronic when left out).
    pub method: Option<ResponseMethod>,
    /// The verification, when it is done at intake.
    pub verification: Option<VerificationInput>,
}

/// A new value for one category, as the person asks it corrected (34条).
#[derive(Clone)]
pub struct CorrectionInput {
    pub category: crate::ids::CategoryId,
    pub value: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for CorrectionInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorrectionInput").field("category", &self.category).finish_non_exhaustive()
    }
}

/// The schema of the document recording a correction (34条): each category's value before and
/// after, read through the gateway.
pub const CORRECTION_SCHEMA: &str = "tokutei.correction/1";

/// A pause of the clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pause {
    #[serde(serialize_with = "crate::dates::text")]
    pub from: Date,
    /// The day the clock ran again; `None` while paused.
    #[serde(serialize_with = "crate::dates::opt_text")]
    pub to: Option<Date>,
    pub reason: String,
}

/// An extension of the deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extension {
    pub days: u32,
    pub reason: String,
}

/// The verification as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    pub subscriber: String,
    pub method: Verification,
    pub evidence: Option<String>,
    pub agent: Option<String>,
    pub by: String,
    pub at: Timestamp,
}

/// The outcome as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub result: OutcomeKind,
    pub ground: Option<Ground>,
    pub note: Option<String>,
    pub by: String,
    pub at: Timestamp,
    /// The document the request was answered with (a purpose notice, the provision records,
    /// a disclosure), sealed at rest; read through [`App::request_document`] (audited), never
    /// listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<SealedDocument>,
    /// `sha256:…` of the document, as the ledger holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_digest: Option<String>,
}

/// A document sealed for its request (`request/<id>/document`): a fresh data key wrapped by
/// the active KEK, the ciphertext — hexadecimal in the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedDocument {
    pub kek_id: String,
    pub key: String,
    pub ciphertext: String,
}

/// The schema of the document answering a purpose notice (32条2項).
pub const PURPOSE_NOTICE_SCHEMA: &str = "tokutei.purpose-notice/1";
/// The schema of the document disclosing the provision records (33条5項).
pub const PROVISION_RECORDS_SCHEMA: &str = "tokutei.provision-records/1";

/// The notice as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub method: NoticeMethod,
    #[serde(with = "crate::dates::plain")]
    pub sent_on: Date,
    pub by: String,
    pub at: Timestamp,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Received; the identity not yet verified.
    Received,
    /// Verified and in progress.
    Verified,
    /// Waiting for the person (the clock stopped).
    Paused,
    /// Decided; the notice not yet sent.
    Decided,
    /// Decided and notified.
    Notified,
}

impl Status {
    pub fn ja(self) -> &'static str {
        match self {
            Status::Received => "受付（本人確認前）",
            Status::Verified => "対応中",
            Status::Paused => "本人の回答待ち",
            Status::Decided => "決定済み（通知前）",
            Status::Notified => "通知済み",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Status::Received => "received (identity not verified)",
            Status::Verified => "in progress",
            Status::Paused => "waiting for the person",
            Status::Decided => "decided (not yet notified)",
            Status::Notified => "notified",
        }
    }
}

/// A request with everything recorded of it and its clock at a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: RequestKind,
    pub channel: Channel,
    pub inquiry: Option<String>,
    pub received_at: Timestamp,
    #[serde(serialize_with = "crate::dates::text")]
    pub received_on: Date,
    pub opened_by: String,
    pub purposes: Vec<String>,
    pub categories: Vec<String>,
    pub method: Option<ResponseMethod>,
    /// The fee in yen, where the deployment charges one for the type.
    pub fee: Option<u32>,
    pub verification: Option<Verified>,
    pub pauses: Vec<Pause>,
    pub extensions: Vec<Extension>,
    /// The deadline: received + `deadline_days` + the days paused + the extensions.
    #[serde(serialize_with = "crate::dates::text")]
    pub deadline: Date,
    /// Calendar days to the deadline (negative: overdue); `None` once decided.
    pub days_left: Option<i64>,
    pub overdue: bool,
    pub outcome: Option<Outcome>,
    pub notice: Option<Notice>,
    /// When the disclosure's electronic record was downloaded (once).
    pub downloaded_at: Option<Timestamp>,
    pub status: Status,
}

impl RequestView {
    /// The request as the CLI's `--json` and the API give it.
    pub fn to_json(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        // The document is read on its own, audited; the view names it by its digest.
        if let Some(outcome) = value.get_mut("outcome").and_then(Value::as_object_mut) {
            outcome.remove("sealed");
        }
        value
    }

    /// The subscriber linked, once verified.
    pub fn subscriber(&self) -> Option<&str> {
        self.verification.as_ref().map(|v| v.subscriber.as_str())
    }
}

/// What an event's body holds, by kind (the JSON the store keeps).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Opened {
    purposes: Vec<String>,
    categories: Vec<String>,
    method: Option<ResponseMethod>,
    fee: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Reason {
    reason: String,
    #[serde(default)]
    days: u32,
}

const SUBJECT: &str = "request";

/// The owner a request's document is sealed for (associated data of its key and ciphertext).
fn document_owner(id: &str) -> String {
    format!("request/{id}/document")
}

fn subject(id: &str) -> String {
    format!("{SUBJECT}/{id}")
}

fn text(field: &'static str, value: &str, max: usize) -> ActionResult<Option<String>> {
    crate::incidents::text(field, value, max, true)
}

fn required(field: &'static str, value: &str, max: usize) -> ActionResult<String> {
    text(field, value, max)?.ok_or_else(|| ActionError::invalid(field, "is empty"))
}

fn digest(text: &str) -> [u8; 32] {
    crate::oversight::digest(&[text])
}

fn add_days(day: Date, days: i64) -> Date {
    day.0.checked_add(days.days()).map(Date).unwrap_or(day)
}

fn corrupt(id: &str, e: impl std::fmt::Display) -> ActionError {
    ActionError::Conflict(format!("a stored event of request `{id}` does not read: {e}"))
}

impl App {
    /// The same service under the deployment's request rules instead of the defaults.
    pub fn with_request_rules(mut self, rules: RequestRules) -> App {
        self.request_rules = rules;
        self
    }

    /// The request rules in force.
    pub fn request_rules(&self) -> &RequestRules {
        &self.request_rules
    }

    /// Receive a request, by any member of staff but an auditor: its type, channel (an inquiry
    /// of the register, when it came from one), scope (purposes and categories of the policy in
    /// force) and, for a disclosure, the answer's form; verified at intake when the
    /// verification is given. `request_opened` (and `request_verified`) durable before each
    /// is stored.
    pub fn open_request(&self, by: &Acting, input: &OpenInput, now: Timestamp) -> ActionResult<RequestView> {
        let actor = self.authorize(by, INTAKE, "receive a data-subject request")?;
        let received_at = input.received_at.unwrap_or(now);
        if received_at > now {
            return Err(ActionError::invalid("received_at", "is in the future"));
        }
        match (&input.inquiry, input.channel) {
            (Some(receipt), Channel::Inquiry) => {
                if self.stores().inquiry(receipt)?.is_none() {
                    return Err(ActionError::invalid("inquiry", format!("no inquiry `{receipt}`")));
                }
            }
            (None, Channel::Inquiry) => {
                return Err(ActionError::invalid("inquiry", "a request from the inquiry form names its inquiry"));
            }
            (Some(_), _) => {
                return Err(ActionError::invalid("channel", "a request from an inquiry has the channel `inquiry`"));
            }
            (None, _) => {}
        }
        let (purposes, categories) = self.scope(&input.purposes, &input.categories, now)?;
        let method = match (input.kind.has_method(), input.method) {
            (true, m) => Some(m.unwrap_or(ResponseMethod::Electronic)),
            (false, None) => None,
            (false, Some(_)) => {
                return Err(ActionError::invalid(
                    "method",
                    format!("a request of type `{}` has no answer form to choose", input.kind.code()),
                ));
            }
        };
        if let Some(v) = &input.verification {
            self.check_verification(v)?;
        }
        let existing = self.stores().requests()?;
        let id = format!("DR-{}", existing.len() + 1);
        let received_on = tokyo::date_of(received_at);
        let due = add_days(received_on, i64::from(self.request_rules.deadline_days));
        let fee = self.request_rules.fees.get(&input.kind).copied();
        let mut entry = AdminEntry::new(AdminAction::RequestOpened, subject(&id))
            .detail("type", input.kind.code())
            .detail("channel", input.channel.code())
            .detail("due", due);
        if let Some(receipt) = &input.inquiry {
            entry = entry.detail("inquiry", receipt);
        }
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        self.stores().add_request(&NewRequest {
            id: id.clone(),
            kind: input.kind.code().to_string(),
            channel: input.channel.code().to_string(),
            inquiry: input.inquiry.clone(),
            received_at,
            opened_by: actor.id().to_string(),
            audit_index,
        })?;
        let opened = Opened { purposes, categories, method, fee };
        self.add_request_event(&id, RequestEventKind::Opened, &opened, &actor, received_at, audit_index)?;
        if let Some(v) = &input.verification {
            self.verify_request(by, &RequestId::parse(id.clone())?, v, now)?;
        }
        // The one who received it sees what they entered, whatever their role.
        self.request_view(&id, now)
    }

    fn check_verification(&self, v: &VerificationInput) -> ActionResult<()> {
        if self.stores().subscriber(v.subscriber.as_str())?.is_none() {
            return Err(ActionError::invalid("subscriber", format!("no subscriber `{}`", v.subscriber)));
        }
        if let Some(e) = &v.evidence {
            text("evidence", e, REFERENCE_MAX)?;
        }
        if let Some(a) = &v.agent {
            required("agent", a, REFERENCE_MAX)?;
        }
        Ok(())
    }

    fn scope(
        &self,
        purposes: &[String],
        categories: &[String],
        now: Timestamp,
    ) -> ActionResult<(Vec<String>, Vec<String>)> {
        let (_, policy) = self
            .active_policy(now)?
            .ok_or_else(|| ActionError::Conflict("no policy version is in force; publish one first".into()))?;
        let mut out_p: Vec<String> = Vec::new();
        for p in purposes {
            let p = p.trim();
            if policy.purpose(p).is_none() {
                return Err(ActionError::invalid("purpose", format!("`{p}` is not a purpose of the policy in force")));
            }
            if !out_p.iter().any(|x| x == p) {
                out_p.push(p.to_string());
            }
        }
        let mut out_c: Vec<String> = Vec::new();
        for c in categories {
            let c = c.trim();
            if policy.category(c).is_none() {
                return Err(ActionError::invalid(
                    "category",
                    format!("`{c}` is not a category of the policy in force"),
                ));
            }
            if !out_c.iter().any(|x| x == c) {
                out_c.push(c.to_string());
            }
        }
        Ok((out_p, out_c))
    }

    /// Verify the requester's identity and link the subscriber, by any member of staff but an
    /// auditor; once per request, before its outcome. `request_verified` (the evidence
    /// reference only as its digest) durable before it is stored.
    pub fn verify_request(
        &self,
        by: &Acting,
        id: &RequestId,
        v: &VerificationInput,
        now: Timestamp,
    ) -> ActionResult<RequestView> {
        let actor = self.authorize(by, INTAKE, "verify a requester's identity")?;
        let view = self.request_view(id.as_str(), now)?;
        if view.verification.is_some() {
            return Err(ActionError::Conflict(format!("request `{id}` is verified already")));
        }
        if view.outcome.is_some() {
            return Err(ActionError::Conflict(format!("request `{id}` is decided")));
        }
        self.check_verification(v)?;
        let evidence = v.evidence.as_deref().map(|e| text("evidence", e, REFERENCE_MAX)).transpose()?.flatten();
        let agent = v.agent.as_deref().map(|a| required("agent", a, REFERENCE_MAX)).transpose()?;
        let entry = AdminEntry::new(AdminAction::RequestVerified, subject(id.as_str()))
            .digest(digest(&format!("{}\n{}", evidence.as_deref().unwrap_or(""), agent.as_deref().unwrap_or(""))))
            .detail("subscriber", v.subscriber.as_str())
            .detail("method", v.method.code())
            .detail("agent", agent.is_some());
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        let body = Verified {
            subscriber: v.subscriber.to_string(),
            method: v.method,
            evidence,
            agent,
            by: actor.id().to_string(),
            at: now,
        };
        self.add_request_event(id.as_str(), RequestEventKind::Verified, &body, &actor, now, audit_index)?;
        self.request_view(id.as_str(), now)
    }

    /// Stop the clock while waiting for the person (a document, a clarification), by a
    /// manager, with the reason; not while paused or once decided. `request_paused` durable
    /// first.
    pub fn pause_request(
        &self,
        by: &Acting,
        id: &RequestId,
        reason: &str,
        now: Timestamp,
    ) -> ActionResult<RequestView> {
        let actor = self.authorize(by, MANAGERS, "pause a request's clock")?;
        let view = self.request_view(id.as_str(), now)?;
        let reason = required("reason", reason, NOTE_MAX)?;
        if view.outcome.is_some() {
            return Err(ActionError::Conflict(format!("request `{id}` is decided")));
        }
        if view.status == Status::Paused {
            return Err(ActionError::Conflict(format!("request `{id}` is paused already")));
        }
        let entry = AdminEntry::new(AdminAction::RequestPaused, subject(id.as_str())).digest(digest(&reason));
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        self.add_request_event(
            id.as_str(),
            RequestEventKind::Paused,
            &Reason { reason, days: 0 },
            &actor,
            now,
            audit_index,
        )?;
        self.request_view(id.as_str(), now)
    }

    /// Run the clock again, by a manager: the days paused move the deadline. `request_resumed`
    /// durable first.
    pub fn resume_request(&self, by: &Acting, id: &RequestId, now: Timestamp) -> ActionResult<RequestView> {
        let actor = self.authorize(by, MANAGERS, "resume a request's clock")?;
        let view = self.request_view(id.as_str(), now)?;
        let Some(pause) = view.pauses.last().filter(|p| p.to.is_none()) else {
            return Err(ActionError::Conflict(format!("request `{id}` is not paused")));
        };
        let days = crate::oversight::days_left(pause.from, tokyo::date_of(now)).max(0);
        let entry = AdminEntry::new(AdminAction::RequestResumed, subject(id.as_str())).detail("days_paused", days);
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        // The days paused are derived from the dates when the request is read; the ledger
        // entry states them.
        self.add_request_event(
            id.as_str(),
            RequestEventKind::Resumed,
            &serde_json::json!({}),
            &actor,
            now,
            audit_index,
        )?;
        self.request_view(id.as_str(), now)
    }

    /// Extend the deadline by `days` (1–60) with the reason, by a manager; not once decided.
    /// `request_extended` durable first.
    pub fn extend_request(
        &self,
        by: &Acting,
        id: &RequestId,
        days: u32,
        reason: &str,
        now: Timestamp,
    ) -> ActionResult<RequestView> {
        let actor = self.authorize(by, MANAGERS, "extend a request's deadline")?;
        let view = self.request_view(id.as_str(), now)?;
        if !(1..=60).contains(&days) {
            return Err(ActionError::invalid("days", format!("is {days}; use 1 to 60")));
        }
        let reason = required("reason", reason, NOTE_MAX)?;
        if view.outcome.is_some() {
            return Err(ActionError::Conflict(format!("request `{id}` is decided")));
        }
        let due = add_days(view.deadline, i64::from(days));
        let entry = AdminEntry::new(AdminAction::RequestExtended, subject(id.as_str()))
            .digest(digest(&reason))
            .detail("days", days)
            .detail("due", due);
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        self.add_request_event(
            id.as_str(),
            RequestEventKind::Extended,
            &Reason { reason, days },
            &actor,
            now,
            audit_index,
        )?;
        self.request_view(id.as_str(), now)
    }

    /// Refuse a request on a ground of its type's list, by a manager, with a note (the reasons
    /// explained to the person, 36条); once per request. `request_decided` durable first.
    pub fn refuse_request(
        &self,
        by: &Acting,
        id: &RequestId,
        ground: Ground,
        note: &str,
        now: Timestamp,
    ) -> ActionResult<RequestView> {
        let actor = self.authorize(by, MANAGERS, "refuse a request")?;
        let view = self.request_view(id.as_str(), now)?;
        if !view.kind.grounds().contains(&ground) {
            let codes: Vec<&str> = view.kind.grounds().iter().map(|g| g.code()).collect();
            return Err(ActionError::invalid(
                "ground",
                format!(
                    "`{}` is not a ground for a request of type `{}` ({})",
                    ground.code(),
                    view.kind.code(),
                    codes.join(", ")
                ),
            ));
        }
        if view.verification.is_none() && ground != Ground::Identity {
            return Err(ActionError::Conflict(format!(
                "request `{id}` is not verified: refuse it on `identity`, or verify the requester first"
            )));
        }
        let note = text("note", note, NOTE_MAX)?;
        self.decide_request(
            &actor,
            &view,
            Outcome {
                result: OutcomeKind::Refused,
                ground: Some(ground),
                note,
                by: actor.id().to_string(),
                at: now,
                sealed: None,
                document_digest: None,
            },
            now,
        )
    }

    /// Fulfil a request, by a manager, once it is verified: a stop of use puts a stop in force
    /// for each purpose of its scope (every purpose when it names none) and a stop of provision
    /// one for provision to third parties — the gateway refuses those uses from the next
    /// request on —; an erasure erases the subscriber through the application's erasure
    /// (crypto-shredding, audited first) and the outcome lists what the law keeps. The other
    /// types are not fulfilled here yet (a conflict that says so). `request_decided` (and the
    /// erasure's own entry) durable before anything changes. `terminal` is where the manager
    /// works from (a disclosure reads through the gateway, which may derive their zone from it).
    pub fn fulfil_request(
        &self,
        by: &Acting,
        id: &RequestId,
        note: &str,
        terminal: Option<IpAddr>,
        now: Timestamp,
    ) -> ActionResult<RequestView> {
        self.fulfil(by, id, note, None, terminal, now)
    }

    /// Fulfil a correction (34条), by a manager, once verified: each new value written through
    /// the gateway as a new version under the purpose for requests (the old versions are kept;
    /// the write is audited as any write), the values before and after read through the
    /// gateway into the request's document (sealed; `tokutei.correction/1`). A category of
    /// another service, twice, or no value at all is refused naming the field.
    pub fn fulfil_correction(
        &self,
        by: &Acting,
        id: &RequestId,
        corrections: &[CorrectionInput],
        note: &str,
        terminal: Option<IpAddr>,
        now: Timestamp,
    ) -> ActionResult<RequestView> {
        self.authorize(by, MANAGERS, "fulfil a request")?;
        let view = self.request_view(id.as_str(), now)?;
        if view.kind != RequestKind::Correction {
            return Err(ActionError::invalid(
                "values",
                format!("request `{id}` is a `{}`, not a correction", view.kind.code()),
            ));
        }
        if view.outcome.is_some() {
            return Err(ActionError::Conflict(format!("request `{id}` is decided already")));
        }
        let Some(subscriber) = view.subscriber().map(str::to_string) else {
            return Err(ActionError::Conflict(format!("request `{id}` is not verified: verify the requester first")));
        };
        let document = self.correct(by, &view, &subscriber, corrections, terminal, now)?;
        self.fulfil(by, id, note, Some(document), terminal, now)
    }

    fn fulfil(
        &self,
        by: &Acting,
        id: &RequestId,
        note: &str,
        correction: Option<Value>,
        terminal: Option<IpAddr>,
        now: Timestamp,
    ) -> ActionResult<RequestView> {
        let actor = self.authorize(by, MANAGERS, "fulfil a request")?;
        let view = self.request_view(id.as_str(), now)?;
        if view.outcome.is_some() {
            return Err(ActionError::Conflict(format!("request `{id}` is decided already")));
        }
        let Some(subscriber) = view.subscriber().map(str::to_string) else {
            return Err(ActionError::Conflict(format!("request `{id}` is not verified: verify the requester first")));
        };
        let note = text("note", note, NOTE_MAX)?;
        let document = match view.kind {
            RequestKind::PurposeNotice => Some(self.purpose_notice(&view, &subscriber, now)?),
            RequestKind::ProvisionRecords => Some(self.provision_records(&view, &subscriber, now)?),
            RequestKind::Disclosure => Some(self.disclosure(by, &view, &subscriber, terminal, now)?),
            RequestKind::Correction => correction,
            _ => None,
        };
        let sealed = match &document {
            None => None,
            Some(d) => {
                // INVARIANT: a JSON value serialises.
                let bytes = serde_json::to_vec(d).expect("document serialises");
                let s = self
                    .keys()
                    .seal_secret(&document_owner(id.as_str()), &bytes)
                    .map_err(|e| ActionError::Conflict(format!("the document cannot be sealed: {e}")))?;
                Some(SealedDocument {
                    kek_id: s.key.kek_id,
                    key: hex::encode(s.key.bytes),
                    ciphertext: hex::encode(s.ciphertext),
                })
            }
        };
        let document_digest = document.as_ref().map(|d| {
            // INVARIANT: a JSON value serialises.
            let bytes = serde_json::to_vec(d).expect("document serialises");
            tokutei_policy::digest_of(&bytes)
        });
        let stops: Vec<(StopKind, String)> = match view.kind {
            RequestKind::Stop if view.purposes.is_empty() => vec![(StopKind::Use, "*".to_string())],
            RequestKind::Stop => view.purposes.iter().map(|p| (StopKind::Use, p.clone())).collect(),
            RequestKind::ProvisionStop => vec![(StopKind::Provision, "*".to_string())],
            RequestKind::Erasure
            | RequestKind::PurposeNotice
            | RequestKind::ProvisionRecords
            | RequestKind::Disclosure => Vec::new(),
            RequestKind::Correction if document.is_some() => Vec::new(),
            RequestKind::Correction => {
                return Err(ActionError::Conflict(format!(
                    "a correction is fulfilled with its new values (`tokutei requests fulfil {id} --values -`, the form's values)"
                )));
            }
        };
        let kept = (view.kind == RequestKind::Erasure).then_some(ERASURE_KEEPS);
        let note = match (note, kept) {
            (Some(n), Some(k)) => Some(format!("{n}\n{k}")),
            (None, Some(k)) => Some(k.to_string()),
            (n, None) => n,
        };
        let listed: Vec<String> = stops.iter().map(|(k, p)| format!("{}:{p}", k.code())).collect();
        let mut entry = AdminEntry::new(AdminAction::RequestDecided, subject(id.as_str()))
            .detail("result", OutcomeKind::Fulfilled.code())
            .detail("subscriber", &subscriber);
        if !listed.is_empty() {
            entry = entry.detail("stops", listed.join(","));
        }
        match (&document_digest, &note) {
            // The ledger commits to the document the person is given.
            (Some(d), _) => entry = entry.digest(tokutei_policy::digest_bytes(d)),
            (None, Some(n)) => entry = entry.digest(digest(n)),
            (None, None) => {}
        }
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        if view.kind == RequestKind::Erasure {
            self.erase_subscriber(by, &SubscriberId::parse(subscriber.clone())?, now)?;
        }
        let rows: Vec<UseStop> = stops
            .into_iter()
            .map(|(kind, purpose)| UseStop {
                subscriber: subscriber.clone(),
                kind,
                purpose,
                stopped: true,
                request: id.to_string(),
                by: actor.id().to_string(),
                at: now,
                audit_index,
            })
            .collect();
        if !rows.is_empty() {
            self.stores().add_use_stops(&rows)?;
        }
        let outcome = Outcome {
            result: OutcomeKind::Fulfilled,
            ground: None,
            note,
            by: actor.id().to_string(),
            at: now,
            sealed,
            document_digest,
        };
        self.add_request_event(id.as_str(), RequestEventKind::Outcome, &outcome, &actor, now, audit_index)?;
        self.request_view(id.as_str(), now)
    }

    /// The document a request was answered with, opened from its seal: a purpose notice or the
    /// provision records for managers and auditors; a disclosure's electronic record only for
    /// the person who fulfilled it, once (`downloaded`). `request_document_read` (the
    /// document's digest) durable before it is opened. `NotFound` when the request has none.
    pub fn request_document(&self, by: &Acting, id: &str, now: Timestamp) -> ActionResult<Value> {
        let actor = self.authorize(by, READERS, "read a request's document")?;
        let view = self.request_view(id, now)?;
        let Some(outcome) = view.outcome.as_ref().filter(|o| o.sealed.is_some()) else {
            return Err(ActionError::NotFound(format!("a document of request `{id}`")));
        };
        let once = view.kind == RequestKind::Disclosure;
        if once && actor.id() != outcome.by {
            return Err(ActionError::Forbidden(format!(
                "the electronic record of request `{id}` is downloaded by the person who fulfilled it"
            )));
        }
        if once && view.downloaded_at.is_some() {
            return Err(ActionError::Conflict(format!(
                "the electronic record of request `{id}` was downloaded already"
            )));
        }
        let mut entry = AdminEntry::new(AdminAction::RequestDocumentRead, subject(id));
        if let Some(d) = &outcome.document_digest {
            entry = entry.digest(tokutei_policy::digest_bytes(d));
        }
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        if once {
            self.add_request_event(id, RequestEventKind::Downloaded, &serde_json::json!({}), &actor, now, audit_index)?;
        }
        let sealed = outcome.sealed.clone().unwrap_or(SealedDocument {
            kek_id: String::new(),
            key: String::new(),
            ciphertext: String::new(),
        });
        let hex_of = |field: &str, text: &str| hex::decode(text).map_err(|e| corrupt(id, format!("{field}: {e}")));
        let secret = tokutei_store::auth::SealedSecret {
            key: tokutei_store::vault::WrappedDataKey {
                kek_id: sealed.kek_id.clone(),
                bytes: hex_of("key", &sealed.key)?,
            },
            ciphertext: hex_of("ciphertext", &sealed.ciphertext)?,
        };
        let bytes = self
            .keys()
            .open_secret(&document_owner(id), &secret)
            .map_err(|e| ActionError::Conflict(format!("the document of request `{id}` does not open: {e}")))?;
        serde_json::from_slice(&bytes).map_err(|e| corrupt(id, e))
    }

    /// Lift the stops a fulfilled stop request put in force (the grounds ended, or the person
    /// asks), by a manager, with the reason: the gateway allows those uses again from the next
    /// request on. `request_stop_lifted` durable first.
    pub fn lift_stop(&self, by: &Acting, id: &RequestId, reason: &str, now: Timestamp) -> ActionResult<RequestView> {
        let actor = self.authorize(by, MANAGERS, "lift a stop")?;
        let view = self.request_view(id.as_str(), now)?;
        let reason = required("reason", reason, NOTE_MAX)?;
        let subscriber = view.subscriber().map(str::to_string).unwrap_or_default();
        let lifted: Vec<UseStop> =
            self.current_stops(&subscriber)?.into_iter().filter(|r| r.request == id.as_str()).collect();
        if lifted.is_empty() {
            return Err(ActionError::Conflict(format!("request `{id}` has no stop in force")));
        }
        let listed: Vec<String> = lifted.iter().map(|r| format!("{}:{}", r.kind.code(), r.purpose)).collect();
        let entry = AdminEntry::new(AdminAction::RequestStopLifted, subject(id.as_str()))
            .digest(digest(&reason))
            .detail("subscriber", &subscriber)
            .detail("stops", listed.join(","));
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        let rows: Vec<UseStop> = lifted
            .into_iter()
            .map(|r| UseStop { stopped: false, by: actor.id().to_string(), at: now, audit_index, ..r })
            .collect();
        self.stores().add_use_stops(&rows)?;
        self.request_view(id.as_str(), now)
    }

    /// The stops of a subscriber in force now: of each kind and purpose the latest row, when
    /// it stops (the rule the gateway's facts follow).
    pub fn current_stops(&self, subscriber: &str) -> ActionResult<Vec<UseStop>> {
        let mut current: Vec<UseStop> = Vec::new();
        for row in self.stores().use_stops(subscriber)? {
            current.retain(|c| !(c.kind == row.kind && c.purpose == row.purpose));
            current.push(row);
        }
        Ok(current.into_iter().filter(|r| r.stopped).collect())
    }

    /// Record the outcome (once), `request_decided` durable first. The fulfilment of each type
    /// calls this after doing what it records.
    fn decide_request(
        &self,
        actor: &tokutei_ledger::Actor,
        view: &RequestView,
        outcome: Outcome,
        now: Timestamp,
    ) -> ActionResult<RequestView> {
        if view.outcome.is_some() {
            return Err(ActionError::Conflict(format!("request `{}` is decided already", view.id)));
        }
        let mut entry =
            AdminEntry::new(AdminAction::RequestDecided, subject(&view.id)).detail("result", outcome.result.code());
        if let Some(g) = outcome.ground {
            entry = entry.detail("ground", g.code());
        }
        if let Some(n) = &outcome.note {
            entry = entry.digest(digest(n));
        }
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        self.add_request_event(&view.id, RequestEventKind::Outcome, &outcome, actor, now, audit_index)?;
        self.request_view(&view.id, now)
    }

    /// Record the notice of the outcome sent to the person, by a manager: how and the day (not
    /// after today, not before the decision). `request_notified` durable first.
    pub fn notify_request(
        &self,
        by: &Acting,
        id: &RequestId,
        method: NoticeMethod,
        sent_on: Date,
        now: Timestamp,
    ) -> ActionResult<RequestView> {
        let actor = self.authorize(by, MANAGERS, "record a request's notice")?;
        let view = self.request_view(id.as_str(), now)?;
        let Some(outcome) = &view.outcome else {
            return Err(ActionError::Conflict(format!("request `{id}` is not decided yet")));
        };
        crate::oversight::past_date("sent_on", sent_on, tokyo::date_of(now))?;
        if sent_on < tokyo::date_of(outcome.at) {
            return Err(ActionError::invalid(
                "sent_on",
                format!("{sent_on} is before the decision ({})", tokyo::date_of(outcome.at)),
            ));
        }
        let entry = AdminEntry::new(AdminAction::RequestNotified, subject(id.as_str()))
            .detail("method", method.code())
            .detail("sent_on", sent_on);
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        let body = Notice { method, sent_on, by: actor.id().to_string(), at: now };
        self.add_request_event(id.as_str(), RequestEventKind::Notified, &body, &actor, now, audit_index)?;
        self.request_view(id.as_str(), now)
    }

    fn add_request_event<T: Serialize>(
        &self,
        id: &str,
        kind: RequestEventKind,
        body: &T,
        actor: &tokutei_ledger::Actor,
        now: Timestamp,
        audit_index: u64,
    ) -> ActionResult<()> {
        // INVARIANT: plain data serialises.
        let body = serde_json::to_string(body).expect("request event serialises");
        self.stores().add_request_event(&NewRequestEvent {
            request: id.to_string(),
            kind,
            body,
            by: actor.id().to_string(),
            at: now,
            audit_index,
        })?;
        Ok(())
    }

    /// Every request with its clock at `now`, in the order received (managers and auditors).
    pub fn requests(&self, by: &Acting, now: Timestamp) -> ActionResult<Vec<RequestView>> {
        self.authorize(by, READERS, "read the request register")?;
        self.stores().requests()?.iter().map(|r| self.fold(r, now)).collect()
    }

    /// One request with its clock at `now`.
    pub fn request(&self, by: &Acting, id: &str, now: Timestamp) -> ActionResult<RequestView> {
        self.authorize(by, READERS, "read the request register")?;
        self.request_view(id, now)
    }

    fn request_view(&self, id: &str, now: Timestamp) -> ActionResult<RequestView> {
        let stored = self.stores().request(id)?.ok_or_else(|| ActionError::NotFound(format!("request `{id}`")))?;
        self.fold(&stored, now)
    }

    /// A stored request's clock at `now`, for the escalation pass (no role: the system reads).
    pub(crate) fn request_clock(&self, stored: &StoredRequest, now: Timestamp) -> ActionResult<RequestView> {
        self.fold(stored, now)
    }

    /// A stored request and its events as they stand at `now`.
    fn fold(&self, stored: &StoredRequest, now: Timestamp) -> ActionResult<RequestView> {
        let r = &stored.request;
        let id = r.id.as_str();
        let kind = RequestKind::parse("type", &r.kind).map_err(|e| corrupt(id, e))?;
        let channel = Channel::parse("channel", &r.channel).map_err(|e| corrupt(id, e))?;
        let received_on = tokyo::date_of(r.received_at);
        let today = tokyo::date_of(now);
        let mut view = RequestView {
            id: r.id.clone(),
            kind,
            channel,
            inquiry: r.inquiry.clone(),
            received_at: r.received_at,
            received_on,
            opened_by: r.opened_by.clone(),
            purposes: Vec::new(),
            categories: Vec::new(),
            method: None,
            fee: None,
            verification: None,
            pauses: Vec::new(),
            extensions: Vec::new(),
            deadline: received_on,
            days_left: None,
            overdue: false,
            outcome: None,
            notice: None,
            downloaded_at: None,
            status: Status::Received,
        };
        for e in &stored.events {
            let body = &e.event.body;
            match e.event.kind {
                RequestEventKind::Opened => {
                    let o: Opened = serde_json::from_str(body).map_err(|err| corrupt(id, err))?;
                    view.purposes = o.purposes;
                    view.categories = o.categories;
                    view.method = o.method;
                    view.fee = o.fee;
                }
                RequestEventKind::Resumed => {
                    if let Some(p) = view.pauses.last_mut().filter(|p| p.to.is_none()) {
                        p.to = Some(tokyo::date_of(e.event.at));
                    }
                }
                RequestEventKind::Verified => {
                    view.verification = Some(serde_json::from_str(body).map_err(|err| corrupt(id, err))?);
                }
                RequestEventKind::Paused => {
                    let reason: Reason = serde_json::from_str(body).map_err(|err| corrupt(id, err))?;
                    view.pauses.push(Pause { from: tokyo::date_of(e.event.at), to: None, reason: reason.reason });
                }
                RequestEventKind::Extended => {
                    let reason: Reason = serde_json::from_str(body).map_err(|err| corrupt(id, err))?;
                    view.extensions.push(Extension { days: reason.days, reason: reason.reason });
                }
                RequestEventKind::Outcome => {
                    view.outcome = Some(serde_json::from_str(body).map_err(|err| corrupt(id, err))?);
                }
                RequestEventKind::Notified => {
                    view.notice = Some(serde_json::from_str(body).map_err(|err| corrupt(id, err))?);
                }
                RequestEventKind::Downloaded => view.downloaded_at = Some(e.event.at),
            }
        }
        let decided_on = view.outcome.as_ref().map(|o| tokyo::date_of(o.at));
        let end = decided_on.unwrap_or(today);
        let paused: i64 =
            view.pauses.iter().map(|p| crate::oversight::days_left(p.from, p.to.unwrap_or(end)).max(0)).sum();
        let extended: i64 = view.extensions.iter().map(|x| i64::from(x.days)).sum();
        view.deadline = add_days(received_on, i64::from(self.request_rules.deadline_days) + paused + extended);
        view.status =
            match (&view.notice, &view.outcome, view.pauses.last().is_some_and(|p| p.to.is_none()), &view.verification)
            {
                (Some(_), _, _, _) => Status::Notified,
                (None, Some(_), _, _) => Status::Decided,
                (None, None, true, _) => Status::Paused,
                (None, None, false, Some(_)) => Status::Verified,
                (None, None, false, None) => Status::Received,
            };
        match decided_on {
            Some(on) => view.overdue = on > view.deadline,
            None => {
                let left = crate::oversight::days_left(today, view.deadline);
                view.days_left = Some(left);
                view.overdue = left < 0 && view.status != Status::Paused;
            }
        }
        Ok(view)
    }
}

/// Who receives requests and verifies requesters: every role but the auditor's.
pub const INTAKE: &[tokutei_policy::Role] =
    &[tokutei_policy::Role::ChiefManager, tokutei_policy::Role::ResponsiblePerson, tokutei_policy::Role::Handler];
/// What an erasure keeps, as the outcome says (the law's and the audit's records; the values
/// themselves are unreadable once the subscriber's key is destroyed).
pub const ERASURE_KEEPS: &str = "法令等により保存するもの: 第三者提供の記録（個人情報保護法29条・30条、3年）、同意の記録、監査ログ（契約者番号と利用の記録のみ）、本請求の記録。 / Kept as the law requires: third-party provision records (APPI arts. 29–30, 3 years), consent records, the audit ledger (subscriber number and uses only), this request's record.";

/// Who reads the register.
const READERS: &[tokutei_policy::Role] = OVERSIGHT;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_only_where_the_law_allows_them() {
        let ok = RequestRules::from_config(&RequestConfig {
            deadline_days: Some(10),
            fees: [("disclosure".to_string(), 1000), ("purpose_notice".to_string(), 300)].into(),
            identity: Some(vec!["license".into(), "counter".into()]),
            purpose: None,
        })
        .unwrap();
        assert_eq!((ok.deadline_days, ok.fees.get(&RequestKind::Disclosure)), (10, Some(&1000)));
        assert_eq!(ok.identity, [Verification::License, Verification::Counter]);
        for (config, field) in [
            (RequestConfig { deadline_days: Some(0), ..Default::default() }, "requests.deadline_days"),
            (RequestConfig { fees: [("erasure".to_string(), 100)].into(), ..Default::default() }, "requests.fees"),
            (RequestConfig { fees: [("gift".to_string(), 100)].into(), ..Default::default() }, "requests.fees"),
            (RequestConfig { identity: Some(vec!["palm".into()]), ..Default::default() }, "requests.identity"),
            (RequestConfig { identity: Some(Vec::new()), ..Default::default() }, "requests.identity"),
        ] {
            let err = RequestRules::from_config(&config).unwrap_err();
            assert!(matches!(err, ActionError::Invalid { field: f, .. } if f == field), "{config:?}: {err:?}");
        }
    }

    #[test]
    fn every_type_refuses_only_on_its_own_grounds() {
        let check = |kind: RequestKind, ground: Ground, expected: bool| {
            assert_eq!(kind.grounds().contains(&ground), expected, "{kind:?} {ground:?}");
        };
        check(RequestKind::Disclosure, Ground::Harm, true);
        check(RequestKind::ProvisionRecords, Ground::OtherLaw, true);
        check(RequestKind::Correction, Ground::Harm, false);
        check(RequestKind::Correction, Ground::NotUntrue, true);
        check(RequestKind::Erasure, Ground::Alternative, true);
        check(RequestKind::PurposeNotice, Ground::PurposeKnown, true);
        check(RequestKind::Stop, Ground::Business, false);
        for kind in RequestKind::ALL {
            check(*kind, Ground::Identity, true);
        }
    }
}
