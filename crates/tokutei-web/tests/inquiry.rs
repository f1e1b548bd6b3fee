//! The public inquiry form and the console pages around it, through the real router (in
//! process): form → confirmation → receipt, problems named by field, CSRF, the rate limit,
//! contents sealed on disk; the console's inquiry register (opening and status changes
//! audited), the settings page (changes audited, bad values named), the language switch,
//! and the dashboard's chart per day. Snapshots of the new pages. `incidents` runs the incident
//! register's console pages on the same site, `oversight` the oversight pages (`oversight_assessment`
//! the training roster and the annual assessment).

#[path = "inquiry/incidents.rs"]
mod incidents;
#[path = "inquiry/inspections.rs"]
mod inspections;
#[path = "inquiry/oversight.rs"]
mod oversight;
#[path = "inquiry/oversight_assessment.rs"]
mod oversight_assessment;
#[path = "inquiry/requests.rs"]
mod requests;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tokutei_app::{App, KeyAccess};
use tokutei_crypto::{DataKey, Kek, WrappedKey};
use tokutei_ledger::{AdminAction, Event};
use tokutei_policy::{PolicyDigest, Role};
use tokutei_store::auth::{AuthStore, Session};
use tokutei_store::inquiry::{InquiryStatus, InquiryStore, SettingsStore};
use tokutei_store::ledger::LedgerStore;
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, StaffStore};
use tokutei_store::vault::WrappedDataKey;
use tokutei_store::{NewPolicyVersion, PolicyStore};
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};
use tower::ServiceExt;

const DEMO_POLICY: &str = include_str!("../../tokutei-policy/policies/hoshizora-tsushin.toml");

/// Keys as the binary's keyring has them: one KEK wraps every data key.
struct Keys(Kek);

impl KeyAccess for Keys {
    fn unwrap_key(&self, owner: &str, wrapped: &WrappedDataKey) -> Result<DataKey, String> {
        let w = WrappedKey { kek_id: wrapped.kek_id.clone(), bytes: wrapped.bytes.clone() };
        self.0.unwrap(owner, &w).map_err(|e| e.to_string())
    }
    fn blind_token(&self, _: &str, _: &str) -> Option<[u8; 32]> {
        None
    }
    fn new_data_key(&self, owner: &str) -> Result<(DataKey, WrappedDataKey), String> {
        let key = DataKey::generate().map_err(|e| e.to_string())?;
        let w = self.0.wrap(owner, &key).map_err(|e| e.to_string())?;
        Ok((key, WrappedDataKey { kek_id: w.kek_id, bytes: w.bytes }))
    }
}

struct Site {
    dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    ledger: Arc<SqliteLedger>,
    /// The application the router runs (its keys seal what a test imports).
    app: Arc<App>,
    router: axum::Router,
}

fn site() -> Site {
    site_with(|app| app)
}

/// [`site`] with its application configured by `configure` (the deployment's settings).
fn site_with(configure: impl FnOnce(App) -> App) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap());
    let policy = tokutei_policy::parse(DEMO_POLICY).unwrap();
    store
        .publish_policy(NewPolicyVersion {
            digest: PolicyDigest::of(&policy),
            source: DEMO_POLICY.into(),
            effective: policy.effective_date(),
            published_by: "test".into(),
            published_at: jiff::Timestamp::from_second(1_735_000_000).unwrap(),
        })
        .unwrap();
    let ledger = Arc::new(SqliteLedger::open(Arc::clone(&store)).unwrap());
    let service = Arc::new(configure(App::new(
        store.clone(),
        ledger.clone(),
        Arc::new(Keys(Kek::generate("kek-test").unwrap())),
        tokutei_gateway::Deployment::default(),
        Vec::new(),
    )));
    let state = tokutei_web::AppState::new(store.clone()).with_ledger(ledger.clone()).with_access(service.clone());
    Site { dir, store, ledger, app: service, router: tokutei_web::router(state) }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap().to_string())
    }
}

async fn exchange(site: &Site, method: &str, path: &str, cookie: &str, form: &[(&str, &str)], from: [u8; 4]) -> Reply {
    let body: String = serde_urlencoded::to_string(form).unwrap();
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from((from, 40000))));
    let response = site.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply { status, headers, body: String::from_utf8(bytes.to_vec()).unwrap() }
}

/// A console form, from the machine itself.
async fn post(site: &Site, path: &str, cookie: &str, form: &[(&str, &str)]) -> Reply {
    exchange(site, "POST", path, cookie, form, [127, 0, 0, 1]).await
}

async fn get(site: &Site, path: &str, cookie: &str) -> Reply {
    exchange(site, "GET", path, cookie, &[], [192, 0, 2, 1]).await
}

/// The form's CSRF cookie (`name=value`) and token.
async fn open_form(site: &Site, path: &str) -> (String, String) {
    let reply = get(site, path, "").await;
    assert_eq!(reply.status, StatusCode::OK);
    let cookie = reply.cookie("tokutei_inquiry_csrf").expect("a CSRF cookie");
    let token = cookie.split_once('=').unwrap().1.to_string();
    (cookie, token)
}

fn one_tag_per_line(html: &str) -> String {
    html.replace("><", ">\n<")
}

fn admin_entries(site: &Site) -> Vec<tokutei_ledger::AdminEvent> {
    let mut out = Vec::new();
    site.ledger
        .scan_entries(0, &mut |e| {
            if let Event::Admin(a) = e.decode()?.event {
                out.push(a);
            }
            Ok(true)
        })
        .unwrap();
    out
}

const NAME: &str = "星空 花子";
const CONTACT: &str = "hanako@example.jp";
const MESSAGE: &str = "私の利用履歴の開示をお願いします。Zqx-unique-marker";

async fn submit(site: &Site, from: [u8; 4]) -> Reply {
    let (cookie, csrf) = open_form(site, "/inquiry").await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("category", "disclosure"),
        ("name", NAME),
        ("contact", CONTACT),
        ("message", MESSAGE),
    ];
    let confirm = exchange(site, "POST", "/inquiry/confirm", &cookie, &fields, from).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    let mut send = fields.to_vec();
    send.push(("step", "send"));
    exchange(site, "POST", "/inquiry", &cookie, &send, from).await
}

fn receipt_of(body: &str) -> String {
    body.split(r#"id="receipt-number">"#).nth(1).unwrap().split('<').next().unwrap().to_string()
}

#[tokio::test]
async fn an_inquiry_goes_from_form_to_confirmation_to_receipt_and_is_sealed() {
    let site = site();
    let form = get(&site, "/inquiry", "").await;
    assert!(form.body.contains(r#"<html lang="ja">"#));
    assert!(form.body.contains(r#"id="inquiry-form""#));
    let token = form.cookie("tokutei_inquiry_csrf").unwrap().split_once('=').unwrap().1.to_string();
    insta::assert_snapshot!("inquiry_form_ja", one_tag_per_line(&form.body).replace(&token, "[csrf]"));
    let en = get(&site, "/en/inquiry", "").await;
    assert!(en.body.contains(r#"<html lang="en">"#));
    assert!(en.body.contains(r#"action="/en/inquiry/confirm""#));

    // The confirmation shows exactly what will be sent, and sends it as hidden fields.
    let (cookie, csrf) = open_form(&site, "/inquiry").await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("category", "disclosure"),
        ("name", NAME),
        ("contact", CONTACT),
        ("message", MESSAGE),
    ];
    let confirm = exchange(&site, "POST", "/inquiry/confirm", &cookie, &fields, [192, 0, 2, 9]).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("入力内容の確認"));
    assert!(confirm.body.contains(NAME) && confirm.body.contains("開示の請求"));
    insta::assert_snapshot!("inquiry_confirm_ja", one_tag_per_line(&confirm.body).replace(&csrf, "[csrf]"));
    assert!(site.store.inquiries(None, 10).unwrap().is_empty(), "nothing is stored before sending");

    // "Edit" goes back to the form with the values kept.
    let mut edit = fields.to_vec();
    edit.push(("step", "edit"));
    let back = exchange(&site, "POST", "/inquiry", &cookie, &edit, [192, 0, 2, 9]).await;
    assert_eq!(back.status, StatusCode::OK);
    assert!(back.body.contains(r#"id="inquiry-form""#) && back.body.contains(CONTACT));

    let mut send = fields.to_vec();
    send.push(("step", "send"));
    let done = exchange(&site, "POST", "/inquiry", &cookie, &send, [192, 0, 2, 9]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let receipt = receipt_of(&done.body);
    assert!(done.cookie("tokutei_inquiry_csrf").unwrap().ends_with('='), "the form's cookie is cleared");
    let stored = site.store.inquiry(&receipt).unwrap().expect("stored under its receipt number");
    assert_eq!(stored.status, InquiryStatus::Open);
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap()).date();
    assert_eq!(stored.inquiry.deadline.0, today.checked_add(jiff::Span::new().days(14)).unwrap(), "14 days by default");
    assert!(done.body.contains(&stored.inquiry.deadline.to_string()));
    let redacted = one_tag_per_line(&done.body)
        .replace(&receipt, "[receipt]")
        .replace(&stored.inquiry.deadline.to_string(), "[deadline]");
    let redacted = redacted
        .lines()
        .map(|l| if l.starts_with("<dd>20") { "<dd>[received]</dd>" } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("inquiry_done_ja", redacted);

    // Ledger: the receipt, category and deadline; never the contents.
    let entries = admin_entries(&site);
    let received =
        entries.iter().find(|e| e.action == AdminAction::InquiryReceived).expect("an inquiry_received entry");
    assert_eq!(received.subject, format!("inquiry/{receipt}"));
    assert!(received.details.contains(&("category".into(), "disclosure".into())));
    let mut ledger_bytes = Vec::new();
    site.ledger
        .scan_entries(0, &mut |e| {
            ledger_bytes.extend_from_slice(&e.encoded);
            Ok(true)
        })
        .unwrap();
    // On disk (database and its write-ahead log) and in the ledger: no plaintext.
    let mut disk = Vec::new();
    for entry in std::fs::read_dir(site.dir.path()).unwrap() {
        disk.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    for secret in [NAME, CONTACT, "Zqx-unique-marker"] {
        let needle = secret.as_bytes();
        assert!(!disk.windows(needle.len()).any(|w| w == needle), "`{secret}` is on disk in plaintext");
        assert!(!ledger_bytes.windows(needle.len()).any(|w| w == needle), "`{secret}` is in the ledger");
    }
}

#[tokio::test]
async fn bad_input_names_each_field_and_stores_nothing() {
    let site = site();
    let (cookie, csrf) = open_form(&site, "/inquiry").await;
    let fields =
        [("csrf", csrf.as_str()), ("category", ""), ("name", "x"), ("contact", "not a contact"), ("message", "")];
    let reply = exchange(&site, "POST", "/inquiry/confirm", &cookie, &fields, [192, 0, 2, 1]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    for field in ["category", "contact", "message"] {
        assert!(reply.body.contains(&format!(r#"id="{field}-error""#)), "{field} is named");
        assert!(reply.body.contains(&format!(r##"href="#{field}""##)), "the summary links to {field}");
    }
    assert!(!reply.body.contains(r#"id="name-error""#));
    assert!(reply.body.contains(r#"aria-invalid="true""#));
    assert!(reply.body.contains(r#"value="not a contact""#), "what was typed is kept");
    // The final step validates again.
    let mut send = fields.to_vec();
    send.push(("step", "send"));
    assert_eq!(
        exchange(&site, "POST", "/inquiry", &cookie, &send, [192, 0, 2, 1]).await.status,
        StatusCode::BAD_REQUEST
    );
    assert!(site.store.inquiries(None, 10).unwrap().is_empty());
    // Without the form's cookie (or with another token) nothing is accepted.
    let forged = [("csrf", "forged"), ("category", "other"), ("name", "x"), ("contact", CONTACT), ("message", "x")];
    assert_eq!(
        exchange(&site, "POST", "/inquiry/confirm", &cookie, &forged, [192, 0, 2, 1]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(exchange(&site, "POST", "/inquiry", "", &forged, [192, 0, 2, 1]).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_esc_in_the_message_is_named_a_control_character() {
    let site = site();
    let (cookie, csrf) = open_form(&site, "/inquiry").await;
    let escaped = "請求します\u{1b}[2J";
    let fields = [
        ("csrf", csrf.as_str()),
        ("category", "other"),
        ("name", "山田 太郎"),
        ("contact", CONTACT),
        ("message", escaped),
    ];
    for (path, wanted, not) in [
        ("/inquiry/confirm", "制御文字", "4000文字以内"),
        ("/en/inquiry/confirm", "control character (such as ESC)", "at most 4000 characters"),
    ] {
        let reply = exchange(&site, "POST", path, &cookie, &fields, [192, 0, 2, 1]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}");
        let error = reply.body.split(r#"id="message-error">"#).nth(1).expect("the message field is named");
        let error = error.split('<').next().unwrap();
        assert!(error.contains(wanted) && !error.contains(not), "{path}: {error}");
    }
    assert!(site.store.inquiries(None, 10).unwrap().is_empty());
}

#[tokio::test]
async fn submissions_are_limited_per_client_address() {
    let site = site();
    site.store.set_settings(&[("inquiry_rate_per_hour".into(), "2".into())], "test", jiff::Timestamp::now()).unwrap();
    assert_eq!(submit(&site, [198, 51, 100, 1]).await.status, StatusCode::OK);
    assert_eq!(submit(&site, [198, 51, 100, 1]).await.status, StatusCode::OK);
    let third = submit(&site, [198, 51, 100, 1]).await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(submit(&site, [198, 51, 100, 2]).await.status, StatusCode::OK, "another address");
    assert_eq!(site.store.inquiries(None, 10).unwrap().len(), 3);
}

/// A console session for a new person with `role`: the cookie and CSRF token.
fn session(site: &Site, id: &str, role: Role) -> (String, String) {
    session_with(site, id, role, Grants::default())
}

/// [`session`] for a person with `grants`.
fn session_with(site: &Site, id: &str, role: Role, grants: Grants) -> (String, String) {
    let now = jiff::Timestamp::now();
    site.store
        .create_principal(&NewPrincipal {
            id: id.into(),
            display_name: id.into(),
            kind: PrincipalKind::Person { role },
            grants,
            created_at: now,
        })
        .unwrap();
    site.store.set_password(id, "$argon2id$unused", false).unwrap();
    let session_id = format!("session-{id}");
    use sha2::Digest;
    site.store
        .create_session(&Session {
            id_hash: sha2::Sha256::digest(session_id.as_bytes()).into(),
            principal: id.into(),
            csrf_token: format!("csrf-{id}"),
            created_at: now,
            expires_at: now + jiff::SignedDuration::from_mins(30),
        })
        .unwrap();
    (format!("tokutei_session={session_id}"), format!("csrf-{id}"))
}

#[tokio::test]
async fn the_console_lists_opens_and_closes_inquiries_with_an_audit_entry_each() {
    let site = site();
    let done = submit(&site, [192, 0, 2, 1]).await;
    let receipt = receipt_of(&done.body);
    let (chief, chief_csrf) = session(&site, "cpo", Role::ChiefManager);
    let (auditor, auditor_csrf) = session(&site, "auditor", Role::Auditor);

    let list = get(&site, "/admin/inquiries", &chief).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains(&receipt) && list.body.contains("開示の請求") && list.body.contains("14日"));
    assert!(!list.body.contains(NAME), "listing decrypts nothing");
    assert!(admin_entries(&site).iter().all(|e| e.action != AdminAction::InquiryOpened));

    let path = format!("/admin/inquiries/{receipt}");
    let opened = post(&site, &path, &chief, &[("csrf", &chief_csrf)]).await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);
    assert!(opened.body.contains(NAME) && opened.body.contains(CONTACT) && opened.body.contains("Zqx-unique-marker"));
    assert!(opened.body.contains(r#"id="inquiry-status-form""#));
    let opens =
        |site: &Site| admin_entries(site).into_iter().filter(|e| e.action == AdminAction::InquiryOpened).count();
    assert_eq!(opens(&site), 1);

    // Auditors read (audited) but do not change statuses.
    let read = post(&site, &path, &auditor, &[("csrf", &auditor_csrf)]).await;
    assert!(read.body.contains(NAME) && !read.body.contains(r#"id="inquiry-status-form""#));
    assert_eq!(opens(&site), 2);
    let status = format!("{path}/status");
    let refused = post(&site, &status, &auditor, &[("csrf", &auditor_csrf), ("status", "closed"), ("note", "x")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // A status change needs a note, is audited, and the note is sealed.
    let no_note = post(&site, &status, &chief, &[("csrf", &chief_csrf), ("status", "answered"), ("note", " ")]).await;
    assert_eq!(no_note.status, StatusCode::BAD_REQUEST);
    let note = "電話で回答済み Yq-note-marker";
    let changed = post(&site, &status, &chief, &[("csrf", &chief_csrf), ("status", "answered"), ("note", note)]).await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    let stored = site.store.inquiry(&receipt).unwrap().unwrap();
    assert_eq!(stored.status, InquiryStatus::Answered);
    assert!(!stored.note.unwrap().windows(14).any(|w| w == b"Yq-note-marker"), "the note is sealed");
    let change = admin_entries(&site).into_iter().find(|e| e.action == AdminAction::InquiryStatusChanged).unwrap();
    assert_eq!(change.details, vec![("from".into(), "open".into()), ("to".into(), "answered".into())]);
    let reopened = post(&site, &path, &chief, &[("csrf", &chief_csrf)]).await;
    assert!(reopened.body.contains("Yq-note-marker"));
    // Closed is final.
    post(&site, &status, &chief, &[("csrf", &chief_csrf), ("status", "closed"), ("note", "done")]).await;
    let again = post(&site, &status, &chief, &[("csrf", &chief_csrf), ("status", "answered"), ("note", "x")]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    // Unknown receipts are not found; the list filters by status.
    let unknown = post(&site, "/admin/inquiries/20260101-ZZZZZZ", &chief, &[("csrf", &chief_csrf)]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(!get(&site, "/admin/inquiries?status=open", &chief).await.body.contains(&receipt));
    assert!(get(&site, "/admin/inquiries?status=closed", &chief).await.body.contains(&receipt));
}

fn settings_form<'a>(csrf: &'a str, deadline: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("inquiry_deadline_days", deadline),
        ("inquiry_rate_per_hour", "5"),
        ("session_idle_minutes", "30"),
        ("session_absolute_hours", "12"),
        ("lockout_attempts", "5"),
        ("lockout_minutes", "15"),
        ("signin_rate_per_client", "20"),
        ("signin_rate_per_id", "10"),
        ("api_rate_per_client", "6000"),
        ("api_rate_per_principal", "6000"),
        ("public_contact", "0120-000-000（平日9時〜18時）"),
    ]
}

#[tokio::test]
async fn settings_changes_are_validated_and_audited() {
    let site = site();
    let (chief, csrf) = session(&site, "cpo", Role::ChiefManager);
    let (auditor, _) = session(&site, "auditor", Role::Auditor);
    let page = get(&site, "/admin/settings", &chief).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"id="settings-form""#) && page.body.contains(r#"value="14""#));
    insta::assert_snapshot!("settings_ja", one_tag_per_line(&page.body).replace(&csrf, "[csrf]"));
    let read_only = get(&site, "/admin/settings", &auditor).await;
    assert!(read_only.body.contains("disabled") && !read_only.body.contains(r#"id="settings-save""#));

    // A bad value names its field, and nothing changes (not even the valid fields).
    let bad = post(&site, "/admin/settings", &chief, &settings_form(&csrf, "0")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains(r#"id="inquiry_deadline_days-error""#));
    assert!(bad.body.contains("must be between 1 and 90"));
    assert!(site.store.settings().unwrap().is_empty());

    let ok = post(&site, "/admin/settings", &chief, &settings_form(&csrf, "21")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(ok.body.contains(r#"value="21""#));
    let changes: Vec<_> = admin_entries(&site)
        .into_iter()
        .filter(|e| e.action == AdminAction::SettingChanged)
        .map(|e| (e.subject, e.details))
        .collect();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0].0, "settings/inquiry_deadline_days");
    assert_eq!(changes[0].1, vec![("from".into(), "14".into()), ("to".into(), "21".into())]);
    assert_eq!(changes[1].0, "settings/public_contact");

    // The new deadline and the public contact reach the public form and the next inquiry.
    let form = get(&site, "/inquiry", "").await;
    assert!(form.body.contains("21日以内") && form.body.contains("0120-000-000"));
    let done = submit(&site, [192, 0, 2, 1]).await;
    let stored = site.store.inquiry(&receipt_of(&done.body)).unwrap().unwrap();
    assert_eq!(
        (stored.inquiry.deadline.0
            - stored.inquiry.received_at.to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap()).date())
        .get_days(),
        21
    );

    // Submitting the same values again changes nothing and writes no entry.
    post(&site, "/admin/settings", &chief, &settings_form(&csrf, "21")).await;
    assert_eq!(admin_entries(&site).iter().filter(|e| e.action == AdminAction::SettingChanged).count(), 2);
}

#[tokio::test]
async fn the_language_switch_renders_the_console_english_first() {
    let site = site();
    let (chief, _) = session(&site, "cpo", Role::ChiefManager);
    let ja = get(&site, "/admin/settings", &chief).await;
    assert!(ja.body.contains(r#"<html lang="ja">"#) && ja.body.contains(r#"id="lang-switch""#));
    assert!(ja.body.contains(r#"name="back" value="/admin/settings""#));

    let switch = post(&site, "/admin/lang", &chief, &[("to", "en"), ("back", "/admin/settings")]).await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert_eq!(switch.headers.get(header::LOCATION).unwrap(), "/admin/settings");
    let lang = switch.cookie("tokutei_console_lang").unwrap();
    assert_eq!(lang, "tokutei_console_lang=en");
    let both = format!("{chief}; {lang}");
    for path in ["/admin/", "/admin/settings", "/admin/inquiries"] {
        let en = get(&site, path, &both).await;
        assert_eq!(en.status, StatusCode::OK, "{path}");
        assert!(en.body.contains(r#"<html lang="en">"#), "{path}");
        assert!(en.body.contains(r#"<span class="en" lang="ja">"#), "{path}: Japanese second, marked");
        assert!(en.body.contains(">Sign out<"), "{path}");
    }
    let login = get(&site, "/admin/login", &lang).await;
    assert!(login.body.contains(r#"<html lang="en">"#));
    // Only console paths go back; anything else lands on the dashboard.
    let away = post(&site, "/admin/lang", "", &[("to", "ja"), ("back", "//evil.example/")]).await;
    assert_eq!(away.headers.get(header::LOCATION).unwrap(), "/admin/");
    let bad = post(&site, "/admin/lang", "", &[("to", "fr")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_dashboard_charts_uses_per_purpose_per_day() {
    let site = site();
    let (chief, _) = session(&site, "cpo", Role::ChiefManager);
    let empty = get(&site, "/admin/", &chief).await;
    assert!(empty.body.contains(r#"id="daily-empty""#));
    let event = |purpose: &str| {
        tokutei_ledger::Entry::access(
            jiff::Timestamp::now(),
            tokutei_ledger::Actor::Staff("cpo".into()),
            tokutei_ledger::AccessEvent {
                action: tokutei_ledger::Action::Read,
                purpose: purpose.into(),
                subscribers: vec!["S1".into()],
                categories: vec!["contract.name".into(), "contract.address".into()],
                decision: tokutei_ledger::Decision::Allow,
                reasons: vec![],
                rules: vec![],
                policy_digest: [0; 32],
                request: tokutei_ledger::RequestMeta::default(),
            },
        )
    };
    site.ledger.append_batch(&[event("support"), event("support"), event("billing")]).unwrap();
    let page = get(&site, "/admin/", &chief).await;
    assert!(page.body.contains(r#"id="chart-daily""#) && page.body.contains(r#"id="table-daily""#));
    let table = page.body.split(r#"id="table-daily""#).nth(1).unwrap();
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap()).date();
    let row = table.split(&format!("<th scope=\"row\">{today}</th>")).nth(1).unwrap().split("</tr>").next().unwrap();
    assert_eq!(row, "<td>2</td><td>4</td><td>6</td>", "billing, support, total");
}

#[tokio::test]
async fn new_pages_carry_the_security_headers() {
    let site = site();
    let (chief, _) = session(&site, "cpo", Role::ChiefManager);
    for (path, cookie) in [
        ("/inquiry", ""),
        ("/en/inquiry", ""),
        ("/admin/settings", chief.as_str()),
        ("/admin/inquiries", chief.as_str()),
        ("/nope", ""),
    ] {
        let reply = get(&site, path, cookie).await;
        let csp = reply.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
        assert!(!csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(reply.headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff", "{path}");
        assert_eq!(reply.headers.get(header::REFERRER_POLICY).unwrap(), "no-referrer", "{path}");
        // The form shows what a person typed, the console their inquiries: never cached.
        let cache = reply.headers.get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(cache.as_deref(), (path != "/nope").then_some("no-store"), "{path}");
        assert!(!reply.body.contains("<script") && !reply.body.contains(" style="), "{path}");
    }
}
