//! Property fuzzing of every request body and parameter the web crate parses, through the
//! real router in process (`tower::ServiceExt::oneshot`) over a real SQLite store, ledger and
//! keys: JSON bodies of the API (random JSON, near-valid requests with wrong types and extra
//! fields, raw bytes), form bodies of every POST route of the route table (the console's with
//! a valid session and CSRF token so parsing is reached, the public inquiry form with its
//! cookie), and random query strings and path parameters on every GET route. Properties: no
//! panic, never a server error, and an API refusal is the JSON error document naming what was
//! wrong.
//!
//! Bounded for CI: `PROPTEST_CASES` (default 64 per property) sets the number of cases.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use tokutei_app::{App, KeyAccess};
use tokutei_crypto::{DataKey, Kek, ValueAad, WrappedKey};
use tokutei_policy::{AcquisitionMethod, Date, PolicyDigest, Role};
use tokutei_store::auth::{AuthStore, Session};
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, RangeGrant, StaffStore};
use tokutei_store::vault::{
    Contract, ContractState, ImportBatch, NewSubscriber, NewValue, Provenance, Sealed, Source, VaultStore,
    WrappedDataKey,
};
use tokutei_store::{NewPolicyVersion, PolicyStore};
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};
use tokutei_web::routes::Access;
use tower::ServiceExt;

const DEMO_POLICY: &str = include_str!("../../tokutei-policy/policies/hoshizora-tsushin.toml");
const ROLES: [Role; 4] = [Role::ChiefManager, Role::ResponsiblePerson, Role::Handler, Role::Auditor];
const SUBSCRIBERS: [&str; 2] = ["HS00000001", "HS00000002"];

fn config() -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    proptest::test_runner::Config { cases, max_shrink_iters: 500, ..proptest::test_runner::Config::default() }
}

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
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    router: axum::Router,
    /// An API token per role, and one of a system.
    tokens: Vec<String>,
    sessions: std::sync::atomic::AtomicU64,
}

fn role_id(role: Role) -> String {
    serde_json::to_value(role).unwrap().as_str().unwrap().to_string()
}

fn date(y: i16, m: i8, d: i8) -> Date {
    Date::new(y, m, d).unwrap()
}

/// A deployment with the demo policy, a person per role and a system (each with API tokens,
/// every purpose and the whole data range) and two subscribers with sealed values.
fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap());
    let policy = tokutei_policy::parse(DEMO_POLICY).unwrap();
    let now = jiff::Timestamp::now();
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
    let kek = Kek::generate("kek-test").unwrap();

    let mut subscribers = Vec::new();
    let mut values = Vec::new();
    for (id, service) in SUBSCRIBERS.into_iter().zip(["fiber", "mobile"]) {
        let key = DataKey::generate().unwrap();
        let wrapped = kek.wrap(id, &key).unwrap();
        subscribers.push(NewSubscriber {
            id: id.into(),
            service: service.into(),
            contract: Contract {
                state: ContractState::Active,
                started_on: date(2020, 1, 1),
                suspended_on: None,
                terminated_on: None,
            },
            key: WrappedDataKey { kek_id: wrapped.kek_id, bytes: wrapped.bytes },
        });
        for category in policy.categories.iter().filter(|c| c.services.iter().any(|s| s == service)) {
            let aad = ValueAad { subscriber: id, category: &category.id, version: 1 };
            let ciphertext = key.seal(&aad, format!("value of {id}").as_bytes()).unwrap();
            let sealed = if category.binary {
                Sealed::Blob { content_hash: tokutei_crypto::content_hash(&ciphertext), ciphertext }
            } else {
                Sealed::Inline(ciphertext)
            };
            values.push(NewValue {
                subscriber: id.into(),
                category: category.id.clone(),
                version: 1,
                sealed,
                provenance: Provenance {
                    method: AcquisitionMethod::Written,
                    source: Source::Direct,
                    collected_at: now,
                    collected_by: "shop-1".into(),
                    notice_version: 1,
                },
                valid_from: now,
                supersedes: false,
                blind_index: None,
            });
        }
    }
    store
        .import_batch(&ImportBatch {
            source_key: "test".into(),
            subscribers,
            values,
            rows: 2,
            imported_at: now,
            audit_index: None,
        })
        .unwrap();

    let grants = Grants {
        data_range: policy
            .services
            .iter()
            .map(|s| RangeGrant {
                service: s.id.clone(),
                categories: policy.categories.iter().map(|c| c.id.clone()).collect(),
            })
            .collect(),
        purposes: policy.purposes.list.iter().map(|p| p.id.clone()).collect(),
        ..Grants::default()
    };
    let mut principals: Vec<(String, PrincipalKind)> =
        ROLES.iter().map(|&role| (role_id(role), PrincipalKind::Person { role })).collect();
    principals.push(("billing".into(), PrincipalKind::System { name: "billing".into() }));
    let mut tokens = Vec::new();
    for (id, kind) in principals {
        store
            .create_principal(&NewPrincipal {
                id: id.clone(),
                display_name: id.clone(),
                kind,
                grants: grants.clone(),
                created_at: now,
            })
            .unwrap();
        let issued = tokutei_app::tokens::issue(&id, now, now + jiff::SignedDuration::from_hours(1));
        store.add_token(&issued.token).unwrap();
        tokens.push(issued.text.to_string());
    }
    for role in ROLES {
        store
            .set_password(&role_id(role), &tokutei_crypto::password::hash("a long enough password").unwrap(), false)
            .unwrap();
    }
    let service = Arc::new(App::new(
        store.clone(),
        ledger.clone(),
        Arc::new(Keys(kek)),
        tokutei_gateway::Deployment::default(),
        Vec::new(),
    ));
    let state = tokutei_web::AppState::new(store.clone()).with_ledger(ledger).with_access(service);
    Site {
        _dir: dir,
        store,
        router: tokutei_web::router(state),
        tokens,
        sessions: std::sync::atomic::AtomicU64::new(0),
    }
}

impl Site {
    /// A fresh console session for `role` (cookie, CSRF token): a form may sign out or change
    /// the password, so each case gets its own.
    fn session(&self, role: Role) -> (String, String) {
        use sha2::Digest;
        let n = self.sessions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("session-{n}-{}", role_id(role));
        let csrf = format!("csrf-{n}");
        let now = jiff::Timestamp::now();
        self.store
            .create_session(&Session {
                id_hash: sha2::Sha256::digest(id.as_bytes()).into(),
                principal: role_id(role),
                csrf_token: csrf.clone(),
                created_at: now,
                expires_at: now + jiff::SignedDuration::from_mins(30),
            })
            .unwrap();
        (format!("tokutei_session={id}"), csrf)
    }
}

struct Reply {
    status: StatusCode,
    content_type: String,
    body: String,
}

async fn send(site: &Site, request: Request<Body>) -> Reply {
    let mut request = request;
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 7], 40000))));
    let response = site.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply { status, content_type, body: String::from_utf8_lossy(&bytes).into_owned() }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// Run `strategy`'s cases through `test`, on one site and one runtime.
fn run_cases<S: Strategy>(
    strategy: S,
    test: impl Fn(&Site, S::Value) -> Result<(), TestCaseError> + std::panic::RefUnwindSafe,
) where
    S::Value: std::fmt::Debug,
{
    let site = site();
    TestRunner::new(config()).run(&strategy, |value| test(&site, value)).unwrap_or_else(|e| panic!("{e}"));
}

fn no_server_error(what: &str, reply: &Reply) -> Result<(), TestCaseError> {
    prop_assert!(!reply.status.is_server_error(), "{what}: {} {}", reply.status, reply.body);
    Ok(())
}

/// An API refusal is `{"error": {"status", "ja", "en", "detail", "field"}}` with the response's status;
/// a bad request says what was wrong.
fn api_error_document(what: &str, reply: &Reply) -> Result<(), TestCaseError> {
    if reply.status.is_success() {
        prop_assert!(reply.content_type.starts_with("application/json"), "{what}: {}", reply.content_type);
        prop_assert!(serde_json::from_str::<serde_json::Value>(&reply.body).is_ok(), "{what}: {}", reply.body);
        return Ok(());
    }
    let doc: serde_json::Value = serde_json::from_str(&reply.body)
        .map_err(|e| TestCaseError::fail(format!("{what}: {} is not JSON ({e}): {}", reply.status, reply.body)))?;
    let error = &doc["error"];
    prop_assert_eq!(error["status"].as_u64(), Some(u64::from(reply.status.as_u16())), "{}: {}", what, reply.body);
    prop_assert!(error["ja"].is_string() && error["en"].is_string(), "{what}: {}", reply.body);
    if reply.status == StatusCode::BAD_REQUEST {
        let detail = error["detail"].as_str().unwrap_or_default();
        prop_assert!(
            !detail.is_empty() && !detail.ends_with('.'),
            "{what}: a refusal says what was wrong: {}",
            reply.body
        );
    }
    Ok(())
}

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        "\\PC{0,20}".prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "read",
            "update",
            "export",
            "erase",
            "support",
            "billing",
            "marketing",
            "contract.name",
            "billing.payment",
            "support.call_recording",
            "HS00000001",
            "HS00000002",
            "phone",
            "web",
            "electronic",
            "person",
            "system",
            "handler",
            "chief_manager",
        ])
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The names of the API bodies' fields, and others.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "action", "purpose", "subscribers", "categories", "channel", "zone", "export_approval",
            "recipient", "values", "method", "id", "display_name", "kind", "grants", "type", "role",
            "name", "purposes", "data_range", "zones", "service", "principal",
        ])
        .prop_map(str::to_string),
        1 => "[a-z_]{1,12}",
        1 => "\\PC{0,8}",
    ]
}

/// An access request that is valid except where the fuzzer changed it.
fn near_access_body() -> impl Strategy<Value = serde_json::Value> {
    (
        prop::sample::select(vec!["read", "update", "export", "erase"]),
        prop::sample::select(vec!["support", "billing", "marketing", "no_such_purpose", ""]),
        prop::collection::vec(prop::sample::select(vec!["HS00000001", "HS00000002", "HS99999999", "", "../x"]), 0..4),
        prop::collection::vec(
            prop::sample::select(vec!["contract.name", "billing.payment", "support.call_recording", "contract.fax"]),
            0..4,
        ),
        prop::collection::btree_map(field_name(), json_value(), 0..3),
        prop::collection::btree_map("[a-z.]{1,20}", "\\PC{0,30}", 0..3),
    )
        .prop_map(|(action, purpose, subscribers, categories, extra, values)| {
            let mut body = serde_json::json!({
                "action": action, "purpose": purpose, "subscribers": subscribers,
                "categories": categories, "values": values,
            });
            let object = body.as_object_mut().expect("an object");
            for (k, v) in extra {
                object.insert(k, v);
            }
            body
        })
}

/// A staff registration that is valid except where the fuzzer changed it.
fn near_staff_body() -> impl Strategy<Value = serde_json::Value> {
    (
        prop_oneof!["[a-z0-9._-]{1,70}", "\\PC{0,10}"],
        "\\PC{0,40}",
        json_value(),
        prop::collection::btree_map(field_name(), json_value(), 0..3),
    )
        .prop_map(|(id, name, grants, extra)| {
            let mut body = serde_json::json!({
                "id": id, "display_name": name, "kind": {"type": "person", "role": "handler"}, "grants": grants,
            });
            let object = body.as_object_mut().expect("an object");
            for (k, v) in extra {
                object.insert(k, v);
            }
            body
        })
}

/// A TIME as people and systems write it, or not one.
fn near_time() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::json!("2026-04-01")),
        Just(serde_json::json!("2026-04-01T09:30")),
        Just(serde_json::json!("2026-04-01T09:30:00+09:00")),
        Just(serde_json::json!("-009999-01-01")),
        Just(serde_json::json!("9999-12-31T23:59:59Z")),
        Just(serde_json::json!("2026-02-30")),
        json_value(),
    ]
}

/// A body of the incident API (open, triage, impact): near-valid fields with wrong types,
/// impossible times and extra fields.
fn near_incident_body() -> impl Strategy<Value = serde_json::Value> {
    (
        "\\PC{0,40}",
        near_time(),
        near_time(),
        prop::collection::vec(prop::sample::select(vec!["secrecy", "tokutei", "appi", "nope", ""]), 0..4),
        prop::option::of(any::<i64>()),
        prop::collection::btree_map(
            prop::sample::select(vec![
                "title",
                "known_at",
                "occurred_at",
                "occurred_until",
                "regimes",
                "persons",
                "estimated",
                "malicious",
                "encrypted",
                "categories",
                "principal",
                "token",
                "since",
                "until",
                "set_persons",
                "status",
                "x",
            ])
            .prop_map(str::to_string),
            json_value(),
            0..3,
        ),
    )
        .prop_map(|(title, known_at, occurred_at, regimes, persons, extra)| {
            let mut body = serde_json::json!({
                "title": title, "known_at": known_at.clone(), "occurred_at": occurred_at.clone(), "regimes": regimes,
                "persons": persons, "principal": "op-1", "since": occurred_at, "until": known_at,
            });
            let object = body.as_object_mut().expect("an object");
            for (k, v) in extra {
                object.insert(k, v);
            }
            body
        })
}

/// The bytes of a JSON body: a JSON document, or bytes that may not be one.
fn json_body(near: impl Strategy<Value = serde_json::Value>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => near.prop_map(|v| serde_json::to_vec(&v).expect("serialises")),
        2 => json_value().prop_map(|v| serde_json::to_vec(&v).expect("serialises")),
        1 => prop::collection::vec(any::<u8>(), 0..200),
        1 => "[{}\\[\\]\":,0-9a-z ]{0,60}".prop_map(String::into_bytes),
    ]
}

/// API route, the caller's token (by index into the site's tokens) and the body.
fn api_case() -> impl Strategy<Value = (&'static str, usize, Vec<u8>)> {
    prop_oneof![
        (Just("/api/v1/access"), 0..5usize, json_body(near_access_body())),
        (Just("/api/v1/access/explain"), 0..5usize, json_body(near_access_body())),
        (Just("/api/v1/staff"), 0..5usize, json_body(near_staff_body())),
        (Just("/api/v1/incidents"), 0..5usize, json_body(near_incident_body())),
        (Just("/api/v1/incidents/INC-20260401-ABCD/triage"), 0..5usize, json_body(near_incident_body())),
        (Just("/api/v1/incidents/INC-20260401-ABCD/impacts"), 0..5usize, json_body(near_incident_body())),
    ]
}

#[test]
fn api_json_bodies_never_cause_a_server_error() {
    let rt = runtime();
    run_cases(api_case(), |site, (path, who, body)| {
        let request = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", site.tokens[who]))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let reply = rt.block_on(send(site, request));
        no_server_error(path, &reply)?;
        api_error_document(path, &reply)
    });
}

/// A form field name: one that some form of the site reads, or another.
fn form_field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "csrf", "id", "password", "totp", "current", "new", "confirm", "source", "digest",
            "purpose", "category", "value", "lang", "next", "status", "note", "step", "name",
            "contact", "message", "inquiry_deadline_days", "inquiry_rate_per_hour",
            "session_idle_minutes", "session_absolute_hours", "lockout_attempts", "lockout_minutes",
            "public_contact",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,10}",
    ]
}

fn form_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("99999999999999999999".to_string()),
        Just("ja".to_string()),
        Just("en".to_string()),
        Just("support".to_string()),
        Just("contract.phone".to_string()),
        Just("open".to_string()),
        Just("closed".to_string()),
        Just("confirm".to_string()),
        Just("sha256:00".to_string()),
        Just(DEMO_POLICY.to_string()),
        "\\PC{0,60}",
        "[ -~]{0,30}",
    ]
}

/// A form body: fields url-encoded, the CSRF token kept or not, or raw bytes.
fn form_body() -> impl Strategy<Value = (bool, FormBody)> {
    (
        prop::bool::weighted(0.85),
        prop_oneof![
            4 => prop::collection::vec((form_field(), form_value()), 0..8).prop_map(FormBody::Fields),
            1 => prop::collection::vec(any::<u8>(), 0..120).prop_map(FormBody::Raw),
            1 => "[a-z=&%+0-9;]{0,40}".prop_map(|s| FormBody::Raw(s.into_bytes())),
        ],
    )
}

#[derive(Debug, Clone)]
enum FormBody {
    Fields(Vec<(String, String)>),
    Raw(Vec<u8>),
}

/// The double-submit CSRF token of the public forms (the inquiry form, the sign-in form).
const INQUIRY_CSRF: &str = "public-csrf-token";

#[test]
fn form_bodies_of_every_post_route_never_cause_a_server_error() {
    let posts: Vec<(&'static str, Access)> = tokutei_web::route_table()
        .into_iter()
        .filter(|r| r.method == "POST" && !r.path.starts_with("/api/"))
        .map(|r| (r.example, r.access))
        .collect();
    assert!(posts.len() >= 10, "the route table lost its forms: {posts:?}");
    let rt = runtime();
    let strategy = (prop::sample::select(posts), prop::sample::select(ROLES.to_vec()), form_body());
    run_cases(strategy, |site, ((path, access), role, (with_csrf, body))| {
        let (session, csrf) = site.session(role);
        let bytes = match body {
            FormBody::Fields(mut fields) => {
                if with_csrf {
                    let token = if matches!(access, Access::Public) { INQUIRY_CSRF.to_string() } else { csrf };
                    fields.insert(0, ("csrf".into(), token));
                }
                serde_urlencoded::to_string(&fields).expect("encodes").into_bytes()
            }
            FormBody::Raw(raw) => raw,
        };
        let request = Request::builder()
            .method("POST")
            .uri(path)
            .header(
                header::COOKIE,
                format!("{session}; tokutei_inquiry_csrf={INQUIRY_CSRF}; tokutei_login_csrf={INQUIRY_CSRF}"),
            )
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(bytes))
            .unwrap();
        let reply = rt.block_on(send(site, request));
        no_server_error(path, &reply)
    });
}

/// A query string or path segment: printable, percent-encoded bytes, or known values.
fn parameter() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "1",
            "-1",
            "18446744073709551616",
            "HS00000001",
            "20260101-ABCDEF",
            "allow",
            "deny",
            "day",
            "week",
            "month",
            "all",
            "open",
            "..",
            "%00",
            "%ff%fe",
            "%E3%81%82",
        ])
        .prop_map(str::to_string),
        prop::collection::vec(any::<u8>(), 0..24).prop_map(|b| b.iter().map(|x| format!("%{x:02x}")).collect()),
        "[a-zA-Z0-9_.~-]{0,20}",
    ]
}

#[test]
fn query_strings_and_path_parameters_never_cause_a_server_error() {
    let routes: Vec<(&'static str, &'static str)> =
        tokutei_web::route_table().into_iter().map(|r| (r.method, r.path)).collect();
    let rt = runtime();
    let query = prop::collection::vec(
        (
            prop::sample::select(vec!["staff", "subscriber", "purpose", "decision", "period", "status", "lang", "x"]),
            parameter(),
        ),
        0..4,
    );
    let strategy = (prop::sample::select(routes), parameter(), query, prop::sample::select(ROLES.to_vec()));
    run_cases(strategy, |site, ((method, template), segment, query, role)| {
        let (session, csrf) = site.session(role);
        // Every `{parameter}` of the template takes the fuzzed segment.
        let mut path = String::new();
        for part in template.split('/').skip(1) {
            path.push('/');
            path.push_str(if part.starts_with('{') { &segment } else { part });
        }
        let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let uri = if query.is_empty() { path.clone() } else { format!("{path}?{}", query.join("&")) };
        let mut request = Request::builder()
            .method(method)
            .uri(&uri)
            .header(header::COOKIE, session)
            .header(header::AUTHORIZATION, format!("Bearer {}", site.tokens[0]));
        let body = if method == "POST" {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(format!("csrf={csrf}&purpose=support"))
        } else {
            Body::empty()
        };
        let Ok(request) = request.body(body) else {
            // Not a URI at all: no server would see it.
            return Ok(());
        };
        let reply = rt.block_on(send(site, request));
        no_server_error(&uri, &reply)
    });
}

/// Found by schemathesis: the staff registry showed training dates as TOML's private wrapper
/// object (`{"$__toml_private_datetime": "2027-03-31"}`) instead of the `YYYY-MM-DD` the
/// OpenAPI document promises.
#[test]
fn staff_registry_training_dates_are_plain_dates_not_toml_wrappers() {
    let site = site();
    site.store
        .add_training(
            &role_id(Role::Handler),
            &tokutei_store::staff::Training {
                course: "privacy-basics".into(),
                completed: date(2026, 4, 1),
                valid_until: date(2027, 3, 31),
            },
        )
        .unwrap();
    let request = Request::builder()
        .uri("/api/v1/staff")
        .header(header::AUTHORIZATION, format!("Bearer {}", site.tokens[0]))
        .body(Body::empty())
        .unwrap();
    let reply = runtime().block_on(send(&site, request));
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let staff: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    let handler = staff.as_array().unwrap().iter().find(|p| p["id"] == "handler").expect("the handler");
    assert_eq!(
        handler["training"][0],
        serde_json::json!({ "course": "privacy-basics", "completed": "2026-04-01", "valid_until": "2027-03-31" }),
        "{}",
        reply.body
    );
}

/// An id the gateway cannot take (white space, too long, empty) is a 400 naming the field it
/// came in, before anything is decided: the ledger does not grow.
#[test]
fn api_access_refuses_an_invalid_id_naming_its_field() {
    use tokutei_store::ledger::LedgerStore;
    let site = site();
    let ledger = SqliteLedger::open(site.store.clone()).unwrap();
    let before = ledger.tree_size().unwrap();
    let rt = runtime();
    let long = "x".repeat(65);
    for (body, field) in [
        (
            serde_json::json!({"purpose": "support", "subscribers": ["HS 1"], "categories": ["contract.name"]}),
            "subscribers",
        ),
        (serde_json::json!({"purpose": "", "subscribers": ["HS00000001"]}), "purpose"),
        (serde_json::json!({"purpose": "support", "subscribers": ["HS00000001"], "categories": [long]}), "categories"),
        (
            serde_json::json!({"action": "update", "purpose": "support", "subscribers": ["HS00000001"], "values": {"a b": "v"}}),
            "values",
        ),
    ] {
        // (An explanation takes no values.)
        let paths: &[&str] =
            if field == "values" { &["/api/v1/access"] } else { &["/api/v1/access", "/api/v1/access/explain"] };
        for path in paths {
            let request = Request::builder()
                .method("POST")
                .uri(*path)
                .header(header::AUTHORIZATION, format!("Bearer {}", site.tokens[0]))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            let reply = rt.block_on(send(&site, request));
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path} {body}: {}", reply.body);
            let doc: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
            assert_eq!(doc["error"]["field"], field, "{path} {body}: {}", reply.body);
        }
    }
    assert_eq!(ledger.tree_size().unwrap(), before, "nothing was decided or audited");
}
