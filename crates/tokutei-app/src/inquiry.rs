//! Inquiries from the public (お問い合わせ): validation of the form with problems named by
//! field, sealing of the personal contents under a fresh data key per inquiry (wrapped by the
//! KEK through [`KeyAccess`]), the receipt number (受付番号) and the response deadline, and
//! the console's uses — listing (no decryption), opening (audited before anything is
//! decrypted) and status changes (audited; the note is sealed too).
//!
//! The ledger gets ids, categories, dates and statuses only: never a name, a contact or a
//! message. The web layer does HTTP only; everything here is plain calls.

use std::sync::Arc;

use jiff::Timestamp;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use tokutei_crypto::ValueAad;
use tokutei_ledger::{Actor, AdminAction, AdminEvent, Entry};
use tokutei_policy::Date;
use tokutei_store::StoreError;
use tokutei_store::inquiry::{InquiryCategory, InquiryStatus, InquiryStore, NewInquiry, SettingsStore, StoredInquiry};
use tokutei_store::ledger::LedgerStore;
use zeroize::Zeroizing;

use crate::error::{ActionError, ActionResult};
use crate::keys::KeyAccess;
use crate::settings::Settings;

/// The storage an inquiry service needs.
pub trait InquiryStores: InquiryStore + SettingsStore + Send + Sync + 'static {}
impl<T: InquiryStore + SettingsStore + Send + Sync + 'static> InquiryStores for T {}

/// Limits of the form, in characters.
pub const NAME_MAX: usize = 100;
pub const CONTACT_MAX: usize = 254;
pub const MESSAGE_MAX: usize = 4000;

/// The form as typed.
#[derive(Clone, Default, Deserialize)]
pub struct InquiryForm {
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub message: String,
}

impl std::fmt::Debug for InquiryForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InquiryForm").field("category", &self.category).finish_non_exhaustive()
    }
}

/// The personal contents of an inquiry (sealed at rest).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contents {
    pub name: String,
    pub contact: String,
    pub message: String,
}

impl std::fmt::Debug for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Contents([redacted])")
    }
}

impl Drop for Contents {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.name.zeroize();
        self.contact.zeroize();
        self.message.zeroize();
    }
}

/// A problem with one field of the form, in Japanese and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub ja: &'static str,
    pub en: &'static str,
}

fn has_control(text: &str, allow_newlines: bool) -> bool {
    text.chars().any(|c| c.is_control() && !(allow_newlines && matches!(c, '\n' | '\r' | '\t')))
}

/// An email address (something@domain.tld, no spaces) or a telephone number (10 to 15
/// digits, with `+`, `-`, spaces or brackets; full-width digits are fine).
fn is_contact(text: &str) -> bool {
    if text.contains('@') {
        let Some((local, domain)) = text.rsplit_once('@') else { return false };
        return !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !text.chars().any(char::is_whitespace);
    }
    let mut digits = 0;
    for c in text.chars() {
        match c {
            '0'..='9' | '０'..='９' => digits += 1,
            '+' | '-' | '－' | 'ー' | ' ' | '　' | '(' | ')' | '（' | '）' => {}
            _ => return false,
        }
    }
    (10..=15).contains(&digits)
}

/// Check the form; returns the category and the contents, or every problem (by field, in the
/// form's order).
pub fn validate(form: &InquiryForm) -> Result<(InquiryCategory, Contents), Vec<Problem>> {
    let mut problems = Vec::new();
    let category = InquiryCategory::from_code(form.category.trim());
    if category.is_none() {
        problems.push(Problem {
            field: "category",
            ja: "お問い合わせの種類を選んでください",
            en: "Choose what the inquiry is about",
        });
    }
    let name = form.name.trim();
    if name.is_empty() {
        problems.push(Problem { field: "name", ja: "お名前を入力してください", en: "Enter your name" });
    } else if has_control(name, false) {
        problems.push(Problem {
            field: "name",
            ja: "お名前に改行や制御文字は使えません",
            en: "Your name cannot contain line breaks or control characters",
        });
    } else if name.chars().count() > NAME_MAX {
        problems.push(Problem {
            field: "name",
            ja: "お名前は100文字以内で入力してください",
            en: "Your name must be at most 100 characters",
        });
    }
    let contact = form.contact.trim();
    if contact.is_empty() {
        problems.push(Problem {
            field: "contact",
            ja: "ご連絡先（メールアドレスまたは電話番号）を入力してください",
            en: "Enter an email address or a telephone number",
        });
    } else if contact.chars().count() > CONTACT_MAX || !is_contact(contact) {
        problems.push(Problem {
            field: "contact",
            ja: "ご連絡先はメールアドレスか電話番号の形で入力してください",
            en: "The contact must be an email address or a telephone number",
        });
    }
    let message = form.message.trim();
    if message.is_empty() {
        problems.push(Problem {
            field: "message", ja: "お問い合わせ内容を入力してください", en: "Enter your message"
        });
    } else if has_control(message, true) {
        // An ESC or another control character is not something people type: say so, rather
        // than blame the length.
        problems.push(Problem {
            field: "message",
            ja: "お問い合わせ内容に使えない制御文字（ESCなど）が含まれています",
            en: "The message contains a control character (such as ESC) that cannot be used",
        });
    } else if message.chars().count() > MESSAGE_MAX {
        problems.push(Problem {
            field: "message",
            ja: "お問い合わせ内容は4000文字以内で入力してください",
            en: "The message must be at most 4000 characters",
        });
    }
    match category {
        Some(category) if problems.is_empty() => Ok((
            category,
            Contents { name: name.to_string(), contact: contact.to_string(), message: message.replace("\r\n", "\n") },
        )),
        _ => Err(problems),
    }
}

/// What the sender is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub receipt: String,
    pub category: InquiryCategory,
    pub received_at: Timestamp,
    pub deadline: Date,
}

/// An inquiry as the console lists it (nothing decrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub receipt: String,
    pub category: InquiryCategory,
    pub received_at: Timestamp,
    pub deadline: Date,
    pub status: InquiryStatus,
    pub updated: Option<(String, Timestamp)>,
}

impl From<&StoredInquiry> for Summary {
    fn from(s: &StoredInquiry) -> Summary {
        Summary {
            receipt: s.inquiry.receipt.clone(),
            category: s.inquiry.category,
            received_at: s.inquiry.received_at,
            deadline: s.inquiry.deadline,
            status: s.status,
            updated: s.updated.clone(),
        }
    }
}

/// An opened inquiry.
#[derive(Debug, Clone)]
pub struct Opened {
    pub summary: Summary,
    pub contents: Contents,
    /// The note of the last status change.
    pub note: Option<Zeroizing<String>>,
}

/// Whether an inquiry in `from` may move to `to`: open → answered or closed, answered →
/// closed (or answered again with a new note); closed is final.
pub fn may_move(from: InquiryStatus, to: InquiryStatus) -> bool {
    use InquiryStatus::*;
    matches!((from, to), (Open, Answered) | (Open, Closed) | (Answered, Answered) | (Answered, Closed))
}

/// The alphabet of receipt numbers: no 0/O, 1/I/L to misread over the phone.
const RECEIPT_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Inquiries of one deployment. Cheap to build (shares its parts).
pub struct InquiryService {
    stores: Arc<dyn InquiryStores>,
    ledger: Arc<dyn LedgerStore>,
    keys: Arc<dyn KeyAccess>,
    tz: jiff::tz::TimeZone,
}

impl std::fmt::Debug for InquiryService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InquiryService").finish_non_exhaustive()
    }
}

fn owner(receipt: &str) -> String {
    format!("inquiry/{receipt}")
}

fn key_error(receipt: &str, message: impl std::fmt::Display) -> ActionError {
    ActionError::Key { subscriber: owner(receipt), message: message.to_string() }
}

impl InquiryService {
    pub fn new(stores: Arc<dyn InquiryStores>, ledger: Arc<dyn LedgerStore>, keys: Arc<dyn KeyAccess>) -> Self {
        InquiryService { stores, ledger, keys, tz: tokutei_policy::tokyo::zone() }
    }

    /// The settings in force.
    pub fn settings(&self) -> ActionResult<Settings> {
        Ok(Settings::load(self.stores.as_ref())?)
    }

    fn today(&self, now: Timestamp) -> jiff::civil::Date {
        self.tz.to_datetime(now).date()
    }

    fn audit(
        &self,
        actor: Actor,
        action: AdminAction,
        receipt: &str,
        details: Vec<(String, String)>,
        now: Timestamp,
    ) -> ActionResult<()> {
        let event = AdminEvent { action, subject: owner(receipt), digest: None, details };
        self.ledger.append(&Entry::admin(now, actor, event)).map_err(ActionError::Audit)?;
        Ok(())
    }

    /// Receive an inquiry: seal its contents under a new data key, store it with its receipt
    /// number and deadline (the settings' number of days after today, Asia/Tokyo), and record
    /// `inquiry_received` in the ledger (durable before the receipt is returned).
    pub fn submit(&self, category: InquiryCategory, contents: &Contents, now: Timestamp) -> ActionResult<Receipt> {
        let settings = self.settings()?;
        let today = self.today(now);
        let deadline = today
            .checked_add(jiff::Span::new().days(i64::from(settings.inquiry_deadline_days)))
            .map_err(|e| ActionError::BadRequest(format!("deadline out of range: {e}")))?;
        let plain = Zeroizing::new(
            serde_json::to_vec(contents).map_err(|e| ActionError::BadRequest(format!("contents: {e}")))?,
        );
        let mut attempts = 0;
        let receipt = loop {
            attempts += 1;
            let receipt = format!("{}-{}", today.strftime("%Y%m%d"), random_code(6));
            let (key, wrapped) = self.keys.new_data_key(&owner(&receipt)).map_err(|e| key_error(&receipt, e))?;
            let aad = ValueAad { subscriber: &owner(&receipt), category: "contents", version: 1 };
            let sealed = key.seal(&aad, &plain).map_err(|e| key_error(&receipt, e))?;
            let new = NewInquiry {
                receipt: receipt.clone(),
                category,
                received_at: now,
                deadline: Date(deadline),
                key: wrapped,
                sealed,
            };
            match self.stores.add_inquiry(&new) {
                Ok(()) => break receipt,
                Err(StoreError::Conflict(_)) if attempts < 5 => continue,
                Err(e) => return Err(e.into()),
            }
        };
        self.audit(
            Actor::System("inquiry-form".into()),
            AdminAction::InquiryReceived,
            &receipt,
            vec![("category".into(), category.code().into()), ("deadline".into(), deadline.to_string())],
            now,
        )?;
        Ok(Receipt { receipt, category, received_at: now, deadline: Date(deadline) })
    }

    /// Inquiries (newest first), without decrypting anything.
    pub fn list(&self, status: Option<InquiryStatus>, limit: usize) -> ActionResult<Vec<Summary>> {
        Ok(self.stores.inquiries(status, limit)?.iter().map(Summary::from).collect())
    }

    fn stored(&self, receipt: &str) -> ActionResult<StoredInquiry> {
        self.stores.inquiry(receipt)?.ok_or_else(|| StoreError::NotFound(format!("inquiry `{receipt}`")).into())
    }

    /// Open an inquiry for `staff`: `inquiry_opened` is durable in the ledger before the data
    /// key is unwrapped.
    pub fn open(&self, staff: &str, receipt: &str, now: Timestamp) -> ActionResult<Opened> {
        let stored = self.stored(receipt)?;
        self.audit(
            Actor::Staff(staff.to_string()),
            AdminAction::InquiryOpened,
            receipt,
            vec![("status".into(), stored.status.code().into())],
            now,
        )?;
        let who = owner(receipt);
        let key = self.keys.unwrap_key(&who, &stored.inquiry.key).map_err(|e| key_error(receipt, e))?;
        let plain = key
            .open(&ValueAad { subscriber: &who, category: "contents", version: 1 }, &stored.inquiry.sealed)
            .map_err(|e| key_error(receipt, e))?;
        let contents: Contents =
            serde_json::from_slice(&plain).map_err(|e| StoreError::Corrupt(format!("inquiry `{receipt}`: {e}")))?;
        let note = match &stored.note {
            Some(sealed) => {
                let bytes = key
                    .open(&ValueAad { subscriber: &who, category: "note", version: 1 }, sealed)
                    .map_err(|e| key_error(receipt, e))?;
                Some(Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned()))
            }
            None => None,
        };
        Ok(Opened { summary: Summary::from(&stored), contents, note })
    }

    /// Move an inquiry to `status` with a note (sealed), by `staff`; audited as
    /// `inquiry_status_changed` (the note is never in the ledger).
    pub fn set_status(
        &self,
        staff: &str,
        receipt: &str,
        status: InquiryStatus,
        note: &str,
        now: Timestamp,
    ) -> ActionResult<()> {
        let stored = self.stored(receipt)?;
        if !may_move(stored.status, status) {
            return Err(ActionError::BadRequest(format!(
                "inquiry `{receipt}` cannot move from {} to {}",
                stored.status.code(),
                status.code()
            )));
        }
        let note = note.trim();
        if has_control(note, true) {
            return Err(ActionError::BadRequest("`note`: contains a control character (such as ESC)".into()));
        }
        if note.chars().count() > MESSAGE_MAX {
            return Err(ActionError::BadRequest("`note`: at most 4000 characters".into()));
        }
        if note.is_empty() {
            return Err(ActionError::BadRequest("note: write what was done".into()));
        }
        let who = owner(receipt);
        let key = self.keys.unwrap_key(&who, &stored.inquiry.key).map_err(|e| key_error(receipt, e))?;
        let sealed = key
            .seal(&ValueAad { subscriber: &who, category: "note", version: 1 }, note.as_bytes())
            .map_err(|e| key_error(receipt, e))?;
        self.audit(
            Actor::Staff(staff.to_string()),
            AdminAction::InquiryStatusChanged,
            receipt,
            vec![("from".into(), stored.status.code().into()), ("to".into(), status.code().into())],
            now,
        )?;
        self.stores.set_inquiry_status(receipt, status, Some(&sealed), staff, now)?;
        Ok(())
    }
}

fn random_code(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| RECEIPT_ALPHABET[usize::from(*b) % RECEIPT_ALPHABET.len()] as char).collect()
}

/// Change settings by `staff` from a submitted form (`key → value`, every field present):
/// nothing changes unless every field is valid; each change is a `setting_changed` entry
/// (durable) before it is stored. Returns the changes made.
pub fn change_settings(
    store: &dyn SettingsStore,
    ledger: &dyn LedgerStore,
    staff: &str,
    submitted: &std::collections::HashMap<String, String>,
    now: Timestamp,
) -> ActionResult<Result<Vec<crate::settings::Change>, Vec<crate::settings::Invalid>>> {
    let current = Settings::load(store)?;
    let changes = match crate::settings::changes(&current, submitted) {
        Ok(c) => c,
        Err(problems) => return Ok(Err(problems)),
    };
    if changes.is_empty() {
        return Ok(Ok(changes));
    }
    let entries: Vec<Entry> = changes
        .iter()
        .map(|(key, old, new)| {
            let event = AdminEvent {
                action: AdminAction::SettingChanged,
                subject: format!("settings/{key}"),
                digest: None,
                details: vec![("from".into(), old.clone()), ("to".into(), new.clone())],
            };
            Entry::admin(now, Actor::Staff(staff.to_string()), event)
        })
        .collect();
    ledger.append_batch(&entries).map_err(ActionError::Audit)?;
    let values: Vec<(String, String)> = changes.iter().map(|(k, _, v)| (k.to_string(), v.clone())).collect();
    store.set_settings(&values, staff, now)?;
    Ok(Ok(changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(form: (&str, &str, &str, &str), expected: Result<(), &[&str]>) {
        let f = InquiryForm {
            category: form.0.into(),
            name: form.1.into(),
            contact: form.2.into(),
            message: form.3.into(),
        };
        let got = validate(&f).map(|_| ()).map_err(|p| p.iter().map(|p| p.field).collect::<Vec<_>>());
        assert_eq!(got, expected.map_err(|e| e.to_vec()), "{form:?}");
    }

    #[test]
    fn the_form_names_each_field_that_is_wrong() {
        check(("disclosure", "山田 太郎", "taro@example.jp", "開示をお願いします"), Ok(()));
        check(("complaint", "Taro", "03-1234-5678", "x"), Ok(()));
        check(("stop_use", "Taro", "０９０－１２３４－５６７８", "x"), Ok(()));
        check(("nonsense", "Taro", "taro@example.jp", "x"), Err(&["category"]));
        check(("other", "", "", ""), Err(&["name", "contact", "message"]));
        check(("other", "Taro", "taro@", "x"), Err(&["contact"]));
        check(("other", "Taro", "12345", "x"), Err(&["contact"]));
        check(("other", "Ta\nro", "taro@example.jp", "x"), Err(&["name"]));
        check(("other", "Taro", "taro@example.jp", &"あ".repeat(MESSAGE_MAX + 1)), Err(&["message"]));
    }

    #[test]
    fn an_esc_in_the_message_is_named_a_control_character_not_a_length() {
        let form = |name: &str, message: &str| InquiryForm {
            category: "other".into(),
            name: name.into(),
            contact: "taro@example.jp".into(),
            message: message.into(),
        };
        let problems = validate(&form("Taro", "\u{1b}[31m赤い文字")).unwrap_err();
        assert_eq!((problems.len(), problems[0].field), (1, "message"));
        assert!(problems[0].en.contains("control character") && !problems[0].en.contains("4000"), "{}", problems[0].en);
        assert!(problems[0].ja.contains("制御文字"), "{}", problems[0].ja);
        let problems = validate(&form("Ta\u{1b}ro", "x")).unwrap_err();
        assert_eq!(problems[0].field, "name");
        assert!(problems[0].en.contains("control characters"), "{}", problems[0].en);
        // The length is still what a long message is told about.
        let problems = validate(&form("Taro", &"あ".repeat(MESSAGE_MAX + 1))).unwrap_err();
        assert!(problems[0].en.contains("4000"), "{}", problems[0].en);
    }

    #[test]
    fn statuses_move_forward_only() {
        use InquiryStatus::*;
        let allowed: Vec<_> = [Open, Answered, Closed]
            .into_iter()
            .flat_map(|a| [Open, Answered, Closed].into_iter().map(move |b| (a, b)))
            .filter(|(a, b)| may_move(*a, *b))
            .collect();
        assert_eq!(allowed, [(Open, Answered), (Open, Closed), (Answered, Answered), (Answered, Closed)]);
    }

    /// Keys that record, at each unwrap, how many `inquiry_opened` entries the ledger already
    /// holds for the inquiry (audit first).
    struct Recorder {
        kek: tokutei_crypto::Kek,
        ledger: Arc<tokutei_store_sqlite::SqliteLedger>,
        audited_before_unwrap: std::sync::Mutex<Vec<usize>>,
    }

    impl KeyAccess for Recorder {
        fn unwrap_key(
            &self,
            owner: &str,
            wrapped: &tokutei_store::vault::WrappedDataKey,
        ) -> Result<tokutei_crypto::DataKey, String> {
            let mut opened = 0;
            self.ledger
                .scan_entries(0, &mut |e| {
                    if let tokutei_ledger::Event::Admin(a) = e.decode()?.event {
                        opened += usize::from(a.action == AdminAction::InquiryOpened && a.subject == owner);
                    }
                    Ok(true)
                })
                .map_err(|e| e.to_string())?;
            self.audited_before_unwrap.lock().unwrap().push(opened);
            let w = tokutei_crypto::WrappedKey { kek_id: wrapped.kek_id.clone(), bytes: wrapped.bytes.clone() };
            self.kek.unwrap(owner, &w).map_err(|e| e.to_string())
        }
        fn blind_token(&self, _: &str, _: &str) -> Option<[u8; 32]> {
            None
        }
        fn new_data_key(
            &self,
            owner: &str,
        ) -> Result<(tokutei_crypto::DataKey, tokutei_store::vault::WrappedDataKey), String> {
            let key = tokutei_crypto::DataKey::generate().map_err(|e| e.to_string())?;
            let w = self.kek.wrap(owner, &key).map_err(|e| e.to_string())?;
            Ok((key, tokutei_store::vault::WrappedDataKey { kek_id: w.kek_id, bytes: w.bytes }))
        }
    }

    #[test]
    fn opening_is_audited_before_the_key_is_unwrapped_and_contents_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(tokutei_store_sqlite::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap());
        let ledger = Arc::new(tokutei_store_sqlite::SqliteLedger::open(Arc::clone(&store)).unwrap());
        let keys = Arc::new(Recorder {
            kek: tokutei_crypto::Kek::generate("kek-1").unwrap(),
            ledger: ledger.clone(),
            audited_before_unwrap: std::sync::Mutex::default(),
        });
        let service = InquiryService::new(store.clone(), ledger.clone(), keys.clone());
        let contents = Contents { name: "N".into(), contact: "n@example.jp".into(), message: "M".into() };
        let now = Timestamp::from_second(1_780_000_000).unwrap();
        let receipt = service.submit(InquiryCategory::Correction, &contents, now).unwrap();
        assert!(receipt.receipt.starts_with("20260529-"), "{}", receipt.receipt);
        assert_eq!(receipt.deadline.to_string(), "2026-06-12");
        let opened = service.open("cpo", &receipt.receipt, now).unwrap();
        assert_eq!(opened.contents, contents);
        service.set_status("cpo", &receipt.receipt, InquiryStatus::Answered, "called back", now).unwrap();
        let again = service.open("cpo", &receipt.receipt, now).unwrap();
        assert_eq!(again.note.as_deref().map(String::as_str), Some("called back"));
        assert_eq!(
            *keys.audited_before_unwrap.lock().unwrap(),
            [1, 1, 2],
            "each open is audited first (the status change opens none)"
        );
        assert!(matches!(service.open("cpo", "20260529-NOPE", now), Err(ActionError::Store(StoreError::NotFound(_)))));
    }

    #[test]
    fn receipt_codes_use_the_unambiguous_alphabet() {
        let code = random_code(64);
        assert_eq!(code.len(), 64);
        assert!(code.bytes().all(|b| RECEIPT_ALPHABET.contains(&b)));
    }
}
