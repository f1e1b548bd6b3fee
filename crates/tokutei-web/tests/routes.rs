//! Authorization of every route: the route table (`tokutei_web::route_table`, the same table
//! the router is built from) walked with every kind of caller — anonymous, a system's API
//! token, an API token and a console session for each role — and each response checked
//! against the route's declared access, and with a one-time password that has not been changed
//! yet. Plus the sign-in flow: TOTP for managers (sealed at rest, each code accepted once),
//! lockout after five failures and its expiry, rate limits on sign-in and the API, sessions
//! that end (also when the password changes), an audit entry for each; and the HTTP hygiene
//! of every route (no caching of private responses, HSTS when enabled, JSON errors under
//! `/api/`).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tokutei_app::{App, KeyAccess};
use tokutei_ledger::{AdminAction, Event};
use tokutei_policy::{PolicyDigest, Role};
use tokutei_store::auth::{AuthStore, Session};
use tokutei_store::inquiry::SettingsStore;
use tokutei_store::ledger::LedgerStore;
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, StaffStore};
use tokutei_store::vault::WrappedDataKey;
use tokutei_store::{NewPolicyVersion, PolicyStore};
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};
use tokutei_web::routes::Access;
use tower::ServiceExt;

const DEMO_POLICY: &str = include_str!("../../tokutei-policy/policies/hoshizora-tsushin.toml");
const ROLES: [Role; 4] = [Role::ChiefManager, Role::ResponsiblePerson, Role::Handler, Role::Auditor];

/// Keys as the binary's keyring has them: one KEK wraps every data key (here: those of the
/// sealed TOTP secrets).
struct Keys(tokutei_crypto::Kek);

impl KeyAccess for Keys {
    fn unwrap_key(&self, owner: &str, wrapped: &WrappedDataKey) -> Result<tokutei_crypto::DataKey, String> {
        let w = tokutei_crypto::WrappedKey { kek_id: wrapped.kek_id.clone(), bytes: wrapped.bytes.clone() };
        self.0.unwrap(owner, &w).map_err(|e| e.to_string())
    }
    fn blind_token(&self, _: &str, _: &str) -> Option<[u8; 32]> {
        None
    }
    fn new_data_key(&self, owner: &str) -> Result<(tokutei_crypto::DataKey, WrappedDataKey), String> {
        let key = tokutei_crypto::DataKey::generate().map_err(|e| e.to_string())?;
        let w = self.0.wrap(owner, &key).map_err(|e| e.to_string())?;
        Ok((key, WrappedDataKey { kek_id: w.kek_id, bytes: w.bytes }))
    }
}

struct Site {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    ledger: Arc<SqliteLedger>,
    keys: Arc<Keys>,
    router: axum::Router,
}

fn role_id(role: Role) -> String {
    serde_json::to_value(role).unwrap().as_str().unwrap().to_string()
}

fn site() -> Site {
    site_with(|state| state)
}

/// A site whose state `f` may change (HSTS, trusted proxies).
fn site_with(f: impl FnOnce(tokutei_web::AppState) -> tokutei_web::AppState) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap());
    let policy = tokutei_policy::parse(DEMO_POLICY).unwrap();
    store
        .publish_policy(NewPolicyVersion {
            digest: PolicyDigest::of(&policy),
            source: DEMO_POLICY.into(),
            effective: policy.effective_date(),
            published_by: "test".into(),
            published_at: jiff::Timestamp::now(),
        })
        .unwrap();
    let ledger = Arc::new(SqliteLedger::open(Arc::clone(&store)).unwrap());
    for role in ROLES {
        let id = role_id(role);
        store
            .create_principal(&NewPrincipal {
                id: id.clone(),
                display_name: id.clone(),
                kind: PrincipalKind::Person { role },
                grants: Grants { purposes: vec!["support".into()], ..Grants::default() },
                created_at: jiff::Timestamp::now(),
            })
            .unwrap();
    }
    store
        .create_principal(&NewPrincipal {
            id: "billing".into(),
            display_name: "billing".into(),
            kind: PrincipalKind::System { name: "billing".into() },
            grants: Grants::default(),
            created_at: jiff::Timestamp::now(),
        })
        .unwrap();
    let keys = Arc::new(Keys(tokutei_crypto::Kek::generate("kek-test").unwrap()));
    let service = Arc::new(App::new(
        store.clone(),
        ledger.clone(),
        keys.clone(),
        tokutei_gateway::Deployment::default(),
        Vec::new(),
    ));
    let state = f(tokutei_web::AppState::new(store.clone()).with_ledger(ledger.clone()).with_access(service));
    Site { _dir: dir, store, ledger, keys, router: tokutei_web::router(state) }
}

impl Site {
    /// Enrol a fresh TOTP secret for `id` the way `tokutei staff totp` does (sealed); returns
    /// the raw secret, as the person's authenticator app has it.
    fn enrol_totp(&self, id: &str) -> Vec<u8> {
        let secret = tokutei_crypto::totp::new_secret().unwrap();
        let sealed = self.keys.seal_secret(&tokutei_app::totp_owner(id), &secret).unwrap();
        self.store.set_totp(id, &sealed).unwrap();
        secret
    }

    fn set(&self, key: &str, value: &str) {
        self.store.set_settings(&[(key.to_string(), value.to_string())], "test", jiff::Timestamp::now()).unwrap();
    }
}

/// A caller of the table walk.
#[derive(Debug, Clone)]
enum Caller {
    Anonymous,
    Token { role: Option<Role>, token: String },
    Session { role: Role, cookie: String, csrf: String },
}

fn callers(site: &Site) -> Vec<Caller> {
    let now = jiff::Timestamp::now();
    let mut out = vec![Caller::Anonymous];
    let issue = |principal: &str| {
        let issued = tokutei_app::tokens::issue(principal, now, now + jiff::SignedDuration::from_hours(1));
        site.store.add_token(&issued.token).unwrap();
        issued.text.to_string()
    };
    out.push(Caller::Token { role: None, token: issue("billing") });
    for role in ROLES {
        let id = role_id(role);
        out.push(Caller::Token { role: Some(role), token: issue(&id) });
        let session_id = format!("session-{id}");
        let csrf = format!("csrf-{id}");
        site.store
            .create_session(&Session {
                id_hash: sha256(&session_id),
                principal: id.clone(),
                csrf_token: csrf.clone(),
                created_at: now,
                expires_at: now + jiff::SignedDuration::from_mins(30),
            })
            .unwrap();
        site.store
            .set_password(&id, &tokutei_crypto::password::hash("a long enough password").unwrap(), false)
            .unwrap();
        out.push(Caller::Session { role, cookie: format!("tokutei_session={session_id}"), csrf });
    }
    out
}

fn sha256(text: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).into()
}

struct Reply {
    status: StatusCode,
    location: Option<String>,
    body: String,
    set_cookies: Vec<String>,
    headers: axum::http::HeaderMap,
}

async fn send(site: &Site, method: &str, path: &str, caller: &Caller) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    let mut body = Body::empty();
    let csrf = match caller {
        Caller::Session { csrf, .. } => csrf.clone(),
        _ => String::new(),
    };
    match caller {
        Caller::Anonymous => {}
        Caller::Token { token, .. } => request = request.header(header::AUTHORIZATION, format!("Bearer {token}")),
        Caller::Session { cookie, .. } => request = request.header(header::COOKIE, cookie.as_str()),
    }
    if method == "POST" {
        if path.starts_with("/api/") {
            request = request.header(header::CONTENT_TYPE, "application/json");
            body = Body::from(r#"{"purpose": "support", "subscribers": ["nobody"], "categories": ["contract.name"]}"#);
        } else {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            body = Body::from(format!("csrf={csrf}&current=x&new=y&confirm=y&id=x&password=y&scope=this"));
        }
    }
    let response = site.router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
    Reply::of(response).await
}

impl Reply {
    async fn of(response: axum::response::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let location = headers.get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
        let set_cookies = headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply { status, location, body: String::from_utf8_lossy(&bytes).into_owned(), set_cookies, headers }
    }
}

fn signed_in_redirect(reply: &Reply) -> bool {
    reply.status == StatusCode::SEE_OTHER && reply.location.as_deref() == Some("/admin/login")
}

#[tokio::test]
async fn every_route_answers_every_caller_as_its_access_rule_says() {
    let site = site();
    let callers = callers(&site);
    let table = tokutei_web::route_table();
    assert!(table.len() >= 30, "the table lost routes");
    let mut failures = Vec::new();
    for route in &table {
        // Signing out ends the session: walk it last for each caller.
        for caller in &callers {
            if route.path == "/admin/logout" {
                continue;
            }
            let reply = send(&site, route.method, route.example, caller).await;
            let refused =
                matches!(reply.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) || signed_in_redirect(&reply);
            let expected_refusal = match (route.access, caller) {
                (Access::Public, _) => false,
                (Access::Token(_), Caller::Anonymous | Caller::Session { .. }) => true,
                (Access::Token(None), Caller::Token { .. }) => false,
                (Access::Token(Some(roles)), Caller::Token { role, .. }) => !role.is_some_and(|r| roles.contains(&r)),
                (Access::Staff(_), Caller::Anonymous | Caller::Token { .. }) => true,
                (Access::Staff(roles), Caller::Session { role, .. }) => !roles.contains(role),
            };
            // A public sign-in form may answer 401 for wrong credentials, and public forms
            // with a double-submit CSRF cookie answer 403 without it; neither is a refusal of
            // the route; opening the subscriber's page with a link that is not valid (none is
            // given here) answers 403 as well.
            let csrf_form = [
                "/admin/login",
                "/inquiry",
                "/en/inquiry",
                "/inquiry/confirm",
                "/en/inquiry/confirm",
                "/my/enter",
                "/en/my/enter",
                "/preferences/enter",
                "/en/preferences/enter",
            ];
            let refused = refused && !(route.method == "POST" && csrf_form.contains(&route.path));
            if refused != expected_refusal {
                failures.push(format!(
                    "{} {} as {caller:?}: got {} (location {:?}), expected {}",
                    route.method,
                    route.example,
                    reply.status,
                    reply.location,
                    if expected_refusal { "a refusal" } else { "no refusal" }
                ));
            }
            if reply.status.is_server_error() {
                failures
                    .push(format!("{} {} as {caller:?}: {} {}", route.method, route.example, reply.status, reply.body));
            }
            // Console pages, API responses and the subscriber's own pages may carry personal
            // data: no cache keeps them, whatever the answer (a page, a redirect, a refusal).
            let subscribers = ["/my", "/en/my", "/preferences", "/en/preferences"];
            let private = route.path.starts_with("/admin")
                || route.path.starts_with("/api/")
                || subscribers.iter().any(|p| route.path == *p || route.path.starts_with(&format!("{p}/")));
            let cache = reply.headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok());
            if private && cache != Some("no-store") {
                failures.push(format!("{} {} as {caller:?}: Cache-Control {cache:?}", route.method, route.example));
            }
            // Errors under /api/ are JSON, whoever answers them.
            let json = reply.headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == b"application/json");
            if route.path.starts_with("/api/") && reply.status.is_client_error() && !json {
                failures.push(format!("{} {} as {caller:?}: an error that is not JSON", route.method, route.example));
            }
            if reply.headers.contains_key(header::STRICT_TRANSPORT_SECURITY) {
                failures.push(format!("{} {}: HSTS without `--hsts`", route.method, route.example));
            }
        }
    }
    for caller in &callers {
        let reply = send(&site, "POST", "/admin/logout", caller).await;
        let allowed = matches!(caller, Caller::Session { .. });
        if allowed {
            assert_eq!(reply.location.as_deref(), Some("/admin/login"), "{caller:?}");
            assert!(reply.set_cookies.iter().any(|c| c.starts_with("tokutei_session=;")), "{caller:?}");
        } else {
            assert!(signed_in_redirect(&reply), "{caller:?}: {}", reply.status);
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    // After signing out, the session no longer opens anything.
    let session = callers.iter().find(|c| matches!(c, Caller::Session { .. })).unwrap();
    assert!(signed_in_redirect(&send(&site, "GET", "/admin/", session).await));
}

#[tokio::test]
async fn forms_without_the_session_csrf_token_are_refused() {
    let site = site();
    let callers = callers(&site);
    let Caller::Session { role, cookie, .. } =
        callers.iter().find(|c| matches!(c, Caller::Session { .. })).unwrap().clone()
    else {
        unreachable!()
    };
    let forged = Caller::Session { role, cookie, csrf: "forged".into() };
    let reply = send(&site, "POST", "/admin/logout", &forged).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = send(&site, "POST", "/admin/password", &forged).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

/// Sign in through the form: returns the response.
async fn sign_in(site: &Site, id: &str, password: &str, totp: &str) -> Reply {
    sign_in_from(site, None, &[], id, password, totp).await
}

/// Sign in through the form over a connection from `peer` (none: the test's default), with
/// these `X-Forwarded-For` headers.
async fn sign_in_from(
    site: &Site,
    peer: Option<std::net::IpAddr>,
    forwarded: &[&str],
    id: &str,
    password: &str,
    totp: &str,
) -> Reply {
    let form =
        site.router.clone().oneshot(Request::builder().uri("/admin/login").body(Body::empty()).unwrap()).await.unwrap();
    let cookie =
        form.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let csrf = cookie.split_once('=').unwrap().1.to_string();
    let body = format!("csrf={csrf}&id={id}&password={}&totp={totp}", password.replace(' ', "+"));
    let mut request = Request::builder()
        .method("POST")
        .uri("/admin/login")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for f in forwarded {
        request = request.header("x-forwarded-for", *f);
    }
    let mut request = request.body(Body::from(body)).unwrap();
    if let Some(ip) = peer {
        request.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(ip, 40000)));
    }
    Reply::of(site.router.clone().oneshot(request).await.unwrap()).await
}

/// The session cookie (`name=value`) a successful sign-in set.
fn session_cookie(reply: &Reply) -> String {
    let c = reply.set_cookies.iter().find(|c| c.starts_with("tokutei_session=")).expect("a session cookie");
    c.split(';').next().unwrap().to_string()
}

async fn get_with(site: &Site, path: &str, cookie: &str) -> Reply {
    let request = Request::builder().uri(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap();
    Reply::of(site.router.clone().oneshot(request).await.unwrap()).await
}

fn hash(password: &str) -> String {
    tokutei_crypto::password::hash(password).unwrap()
}

/// How many rate-limit windows (minutes) a stretch of test that began at `since` spanned:
/// counts may restart at each window, so bounds scale with it.
fn windows_since(since: jiff::Timestamp) -> i64 {
    let minute = |t: jiff::Timestamp| t.as_second().div_euclid(60);
    minute(jiff::Timestamp::now()) - minute(since) + 1
}

fn admin_actions(site: &Site) -> Vec<(AdminAction, String)> {
    let mut out = Vec::new();
    site.ledger
        .scan_entries(0, &mut |e| {
            if let Event::Admin(a) = e.decode()?.event {
                out.push((a.action, a.subject));
            }
            Ok(true)
        })
        .unwrap();
    out
}

#[tokio::test]
async fn managers_sign_in_with_totp_and_five_failures_lock_the_account() {
    let site = site();
    site.store
        .set_password("chief_manager", &tokutei_crypto::password::hash("the chief's passphrase").unwrap(), false)
        .unwrap();
    let secret = site.enrol_totp("chief_manager");
    let code = tokutei_crypto::totp::code_at(&secret, jiff::Timestamp::now().as_second() as u64).unwrap();

    // The password alone is not enough for a chief manager.
    let reply = sign_in(&site, "chief_manager", "the chief's passphrase", "").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.body.contains("role=\"alert\""));
    let reply = sign_in(&site, "chief_manager", "the chief's passphrase", &code).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location.as_deref(), Some("/admin/"));
    let session = reply.set_cookies.iter().find(|c| c.starts_with("tokutei_session=")).expect("a session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"), "{session}");
    let cookie = session.split(';').next().unwrap().to_string();
    let dashboard = site
        .router
        .clone()
        .oneshot(Request::builder().uri("/admin/").header(header::COOKIE, cookie).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(dashboard.status(), StatusCode::OK);

    // A handler needs no second factor; five wrong passwords lock even the right one out.
    site.store
        .set_password("handler", &tokutei_crypto::password::hash("the handler's passphrase").unwrap(), false)
        .unwrap();
    for _ in 0..5 {
        assert_eq!(sign_in(&site, "handler", "wrong password!", "").await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(sign_in(&site, "handler", "the handler's passphrase", "").await.status, StatusCode::UNAUTHORIZED);
    assert!(site.store.credentials("handler").unwrap().unwrap().locked_until.is_some());
    // Unknown ids and systems get the same answer.
    assert_eq!(sign_in(&site, "nobody", "whatever it is", "").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&site, "billing", "whatever it is", "").await.status, StatusCode::UNAUTHORIZED);

    let actions = admin_actions(&site);
    let count =
        |a: AdminAction, who: &str| actions.iter().filter(|(x, s)| *x == a && s == &format!("staff/{who}")).count();
    assert_eq!(count(AdminAction::LoginSucceeded, "chief_manager"), 1);
    assert_eq!(count(AdminAction::LoginFailed, "chief_manager"), 1);
    assert_eq!(count(AdminAction::LoginFailed, "handler"), 6);
    assert_eq!(count(AdminAction::LockedOut, "handler"), 1);
    // An unknown id is recorded without the id typed (it may be a mistyped password).
    assert_eq!(count(AdminAction::LoginFailed, "nobody"), 0);
    // Both refusals name no known person: one entry per minute (two if a minute began between).
    let unattributed = actions.iter().filter(|(a, s)| *a == AdminAction::LoginFailed && s == "console/login").count();
    assert!((1..=2).contains(&unattributed), "{unattributed}");
    // No password ever reaches the ledger.
    let mut bodies = Vec::new();
    site.ledger
        .scan_entries(0, &mut |e| {
            bodies.push(e.encoded);
            Ok(true)
        })
        .unwrap();
    assert!(bodies.iter().all(|b| !b.windows(10).any(|w| w == b"passphrase")));
}

#[tokio::test]
async fn the_login_form_needs_its_own_csrf_cookie() {
    let site = site();
    let response = site
        .router
        .clone()
        .oneshot(
            Request::builder()
                .method("POST")
                .uri("/admin/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("csrf=abc&id=handler&password=x"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

async fn post_form(site: &Site, caller: &Caller, path: &str, fields: &[(&str, &str)]) -> Reply {
    let Caller::Session { cookie, .. } = caller else { panic!("a session caller") };
    let body: String = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", v.bytes().map(|b| format!("%{b:02X}")).collect::<String>()))
        .collect::<Vec<_>>()
        .join("&");
    let response = site
        .router
        .clone()
        .oneshot(
            Request::builder()
                .method("POST")
                .uri(path)
                .header(header::COOKIE, cookie.as_str())
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    Reply::of(response).await
}

#[tokio::test]
async fn a_manager_publishes_a_new_policy_version_after_a_preview() {
    let site = site();
    let callers = callers(&site);
    let chief = callers.iter().find(|c| matches!(c, Caller::Session { role: Role::ChiefManager, .. })).unwrap().clone();
    let Caller::Session { csrf, .. } = &chief else { unreachable!() };
    let csrf = csrf.clone();

    // A broken file: every diagnostic is listed with its line, nothing is published.
    let broken = DEMO_POLICY.replacen("consent = \"none\"", "consent = \"sometimes\"", 1);
    let reply = post_form(&site, &chief, "/admin/policy/preview", &[("csrf", &csrf), ("source", &broken)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("公表できません"), "{}", reply.body);
    assert!(reply.body.contains("行"), "diagnostics name the line");

    // A changed text: the preview shows the diff and carries the digest.
    let changed = DEMO_POLICY.replacen("お問い合わせ、ご相談", "お問い合わせ・ご相談", 1);
    assert_ne!(changed, DEMO_POLICY);
    let reply = post_form(&site, &chief, "/admin/policy/preview", &[("csrf", &csrf), ("source", &changed)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("施行中の版との差分"), "{}", reply.body);
    let digest = PolicyDigest::of(&tokutei_policy::parse(&changed).unwrap()).0;
    assert!(reply.body.contains(&digest));

    // Confirming something else than what was previewed is refused.
    let other = post_form(
        &site,
        &chief,
        "/admin/policy/publish",
        &[("csrf", &csrf), ("source", DEMO_POLICY), ("digest", &digest)],
    )
    .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    let reply = post_form(
        &site,
        &chief,
        "/admin/policy/publish",
        &[("csrf", &csrf), ("source", &changed), ("digest", &digest)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let versions = site.store.policy_versions().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1].published_by, "chief_manager");
    assert!(admin_actions(&site).iter().any(|(a, s)| *a == AdminAction::PolicyPublished && s == "policy/v2"));
    // Publishing the same content again is refused (nothing changed).
    let again = post_form(
        &site,
        &chief,
        "/admin/policy/publish",
        &[("csrf", &csrf), ("source", &changed), ("digest", &digest)],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn every_console_route_sends_a_one_time_password_to_the_password_page() {
    let site = site();
    // A chief manager signs in with the one-time password `staff password` gave, and never
    // changes it. Every console route is open to the role: only the password blocks.
    site.store.set_password("chief_manager", &hash("a one-time password"), true).unwrap();
    let secret = site.enrol_totp("chief_manager");
    let code = tokutei_crypto::totp::code_at(&secret, jiff::Timestamp::now().as_second() as u64).unwrap();
    let reply = sign_in(&site, "chief_manager", "a one-time password", &code).await;
    assert_eq!(reply.location.as_deref(), Some("/admin/password"), "{}", reply.body);
    let chief = Caller::Session { role: Role::ChiefManager, cookie: session_cookie(&reply), csrf: String::new() };
    let mut failures = Vec::new();
    let mut walked = 0;
    for route in tokutei_web::route_table() {
        if !matches!(route.access, Access::Staff(_)) || route.path == "/admin/logout" {
            continue;
        }
        walked += 1;
        let reply = send(&site, route.method, route.example, &chief).await;
        let open = matches!((route.method, route.path), ("GET" | "POST", "/admin/password"));
        let sent_to_password =
            reply.status == StatusCode::SEE_OTHER && reply.location.as_deref() == Some("/admin/password");
        if open == sent_to_password {
            failures.push(format!("{} {}: {} {:?}", route.method, route.example, reply.status, reply.location));
        }
    }
    assert!(walked >= 15, "the table lost console routes: {walked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The password page itself opens; signing out works.
    assert_eq!(send(&site, "GET", "/admin/password", &chief).await.status, StatusCode::OK);
    let out = send(&site, "POST", "/admin/logout", &chief).await;
    assert_eq!(out.status, StatusCode::FORBIDDEN, "the generic form has no CSRF token: refused, not redirected");
}

#[tokio::test]
async fn a_totp_code_is_accepted_only_once() {
    let site = site();
    site.store.set_password("chief_manager", &hash("the chief's passphrase"), false).unwrap();
    let secret = site.enrol_totp("chief_manager");
    let now = jiff::Timestamp::now().as_second() as u64;
    let code = tokutei_crypto::totp::code_at(&secret, now).unwrap();
    let first = sign_in(&site, "chief_manager", "the chief's passphrase", &code).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert_eq!(site.store.credentials("chief_manager").unwrap().unwrap().totp_last_step, Some(now / 30));
    // Someone who saw the code (over a shoulder, in a proxy log) uses it within its 30 s.
    let replay = sign_in(&site, "chief_manager", "the chief's passphrase", &code).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED, "a replayed code is refused");
    assert!(replay.set_cookies.iter().all(|c| !c.starts_with("tokutei_session=")));
    // Nor is the code of the step before accepted any more.
    let earlier = tokutei_crypto::totp::code_at(&secret, now - 30).unwrap();
    assert_eq!(
        sign_in(&site, "chief_manager", "the chief's passphrase", &earlier).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        site.store.credentials("chief_manager").unwrap().unwrap().failed_attempts,
        2,
        "replays count as failures"
    );
}

#[tokio::test]
async fn a_sealed_totp_secret_opens_only_for_its_owner() {
    let site = site();
    site.store.set_password("chief_manager", &hash("the chief's passphrase"), false).unwrap();
    site.store.set_password("auditor", &hash("the auditor's passphrase"), false).unwrap();
    let secret = site.enrol_totp("chief_manager");
    let Some(tokutei_store::auth::TotpSecret::Sealed(sealed)) =
        site.store.credentials("chief_manager").unwrap().unwrap().totp
    else {
        panic!("the secret is stored sealed")
    };
    assert!(!sealed.ciphertext.windows(secret.len()).any(|w| w == secret.as_slice()), "no raw secret at rest");
    // Copied onto another person's row, the sealed secret does not open: its code is refused.
    site.store.set_totp("auditor", &sealed).unwrap();
    let code = tokutei_crypto::totp::code_at(&secret, jiff::Timestamp::now().as_second() as u64).unwrap();
    assert_eq!(sign_in(&site, "auditor", "the auditor's passphrase", &code).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&site, "chief_manager", "the chief's passphrase", &code).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_failure_after_an_expired_lock_does_not_lock_again() {
    let site = site();
    site.store.set_password("handler", &hash("the handler's passphrase"), false).unwrap();
    // Five failures two hours ago locked the account for 15 minutes; the lock ran out.
    let long_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2);
    for _ in 0..5 {
        site.store.record_failure("handler", 5, long_ago, long_ago + jiff::SignedDuration::from_mins(15)).unwrap();
    }
    let c = site.store.credentials("handler").unwrap().unwrap();
    assert!(c.locked_until.is_some_and(|t| t < jiff::Timestamp::now()) && c.failed_attempts == 5);
    // One wrong password now is the first failure of a new run, not a new lock.
    assert_eq!(sign_in(&site, "handler", "one typo in it", "").await.status, StatusCode::UNAUTHORIZED);
    let c = site.store.credentials("handler").unwrap().unwrap();
    assert_eq!((c.failed_attempts, c.locked_until), (1, None));
    assert_eq!(sign_in(&site, "handler", "the handler's passphrase", "").await.status, StatusCode::SEE_OTHER);
    // Five in a row lock it again, with its `locked_out` entry.
    for _ in 0..5 {
        sign_in(&site, "handler", "wrong again", "").await;
    }
    assert!(
        site.store.credentials("handler").unwrap().unwrap().locked_until.is_some_and(|t| t > jiff::Timestamp::now())
    );
    let locked =
        admin_actions(&site).iter().filter(|(a, s)| *a == AdminAction::LockedOut && s == "staff/handler").count();
    assert_eq!(locked, 1);
}

#[tokio::test]
async fn sign_ins_with_unknown_ids_are_rate_limited_and_leave_a_bounded_ledger() {
    let site = site();
    let size_before = site.ledger.tree_size().unwrap();
    let since = jiff::Timestamp::now();
    let (mut refused, mut limited) = (0i64, 0i64);
    for i in 0..300 {
        let reply = sign_in(&site, &format!("intruder-{i}"), "a guessed password", "").await;
        match reply.status {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                limited += 1;
                let retry: u64 = reply.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
                assert!((1..=60).contains(&retry), "{retry}");
                assert!(reply.body.contains("role=\"alert\""), "the sign-in page again, with the message");
            }
            other => panic!("attempt {i}: {other}"),
        }
    }
    let windows = windows_since(since);
    // At most 20 attempts per client address per minute (the default) reach the check.
    assert!(refused <= 20 * windows, "{refused} refused in {windows} windows");
    assert_eq!(refused + limited, 300);
    // Refusals that name no known person: one ledger entry per window, whatever their number.
    let written = site.ledger.tree_size().unwrap() - size_before;
    assert!(written as i64 <= windows, "{written} entries for 300 attempts in {windows} windows");
    let entries = admin_entries_of(&site, AdminAction::LoginFailed);
    assert!(entries.iter().all(|(subject, _)| subject == "console/login"), "no typed id in the ledger");
    assert!(entries[0].1.contains(&("reason".to_string(), "unknown_id".to_string())), "{:?}", entries[0].1);
}

#[tokio::test]
async fn sign_in_attempts_on_one_id_are_limited_even_from_many_addresses() {
    let site = site();
    site.store.set_password("handler", &hash("the handler's passphrase"), false).unwrap();
    let since = jiff::Timestamp::now();
    let mut limited = 0i64;
    for i in 0..25u8 {
        let peer = std::net::IpAddr::from([198, 51, 100, i]);
        let reply = sign_in_from(&site, Some(peer), &[], "handler", "guess number one", "").await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    // At most 10 attempts per id per minute (the default), whatever the address.
    assert!(limited >= 25 - 10 * windows_since(since), "{limited}");
}

#[tokio::test]
async fn only_a_trusted_proxy_names_the_client_for_the_rate_limit() {
    let proxy: std::net::IpAddr = [10, 0, 0, 1].into();
    let site = site_with(|s| s.with_trusted_proxies(vec![proxy]));
    // Through the proxy, 25 people each try once: none is limited as one client.
    for i in 0..25u8 {
        let client = format!("198.51.100.{i}");
        let reply = sign_in_from(&site, Some(proxy), &[&client], &format!("nobody-{i}"), "whatever it is", "").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "client {client}");
    }
    // A client that is not a proxy cannot escape its limit by naming others.
    let since = jiff::Timestamp::now();
    let mut limited = 0i64;
    for i in 0..25u8 {
        let forged = format!("203.0.113.{i}");
        let reply =
            sign_in_from(&site, Some([192, 0, 2, 1].into()), &[&forged], &format!("x-{i}"), "whatever it is", "").await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(limited >= 25 - 20 * windows_since(since), "{limited}");
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions() {
    let site = site();
    site.store.set_password("handler", &hash("the handler's passphrase"), false).unwrap();
    let here = session_cookie(&sign_in(&site, "handler", "the handler's passphrase", "").await);
    let elsewhere = session_cookie(&sign_in(&site, "handler", "the handler's passphrase", "").await);
    assert_eq!(get_with(&site, "/admin/", &elsewhere).await.status, StatusCode::OK);
    let page = get_with(&site, "/admin/password", &here).await;
    let csrf = page.body.split(r#"name="csrf" value=""#).nth(1).unwrap().split('"').next().unwrap().to_string();
    let caller = Caller::Session { role: Role::Handler, cookie: here.clone(), csrf: csrf.clone() };
    let fields = [
        ("csrf", csrf.as_str()),
        ("current", "the handler's passphrase"),
        ("new", "a brand new passphrase 2026"),
        ("confirm", "a brand new passphrase 2026"),
    ];
    let changed = post_form(&site, &caller, "/admin/password", &fields).await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    // The other browser (a stolen cookie, a forgotten kiosk) is signed out; this one is not.
    assert!(signed_in_redirect(&get_with(&site, "/admin/", &elsewhere).await));
    assert_eq!(get_with(&site, "/admin/", &here).await.status, StatusCode::OK);
    assert!(admin_actions(&site).iter().any(|(a, s)| *a == AdminAction::PasswordChanged && s == "staff/handler"));
}

#[tokio::test]
async fn api_calls_over_the_rate_limit_get_a_json_429() {
    let site = site();
    let callers = callers(&site);
    let token = |want: Option<Role>| {
        callers
            .iter()
            .find_map(|c| match c {
                Caller::Token { role, .. } if *role == want => Some(c.clone()),
                _ => None,
            })
            .unwrap()
    };
    site.set("api_rate_per_principal", "3");
    let since = jiff::Timestamp::now();
    let billing = token(None);
    let mut passed = 0i64;
    let mut last = None;
    for _ in 0..10 {
        let reply = send(&site, "POST", "/api/v1/access", &billing).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            last = Some(reply);
        } else {
            passed += 1;
        }
    }
    assert!(passed <= 3 * windows_since(since), "{passed} passed");
    let limited = last.expect("a 429");
    assert_eq!(limited.headers[header::CONTENT_TYPE], "application/json");
    let body: serde_json::Value = serde_json::from_str(&limited.body).unwrap();
    assert_eq!(body["error"]["status"], 429);
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
    // Another principal has its own count.
    assert_ne!(
        send(&site, "GET", "/api/v1/staff", &token(Some(Role::Auditor))).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Without a valid token, the client address is what is counted: 429 instead of 401.
    site.set("api_rate_per_client", "5");
    let forged = Caller::Token { role: None, token: "tkt_0000000000000000_forged".into() };
    let since = jiff::Timestamp::now();
    let mut unauthorized = 0i64;
    for _ in 0..12 {
        match send(&site, "POST", "/api/v1/access", &forged).await.status {
            StatusCode::UNAUTHORIZED => unauthorized += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("{other}"),
        }
    }
    assert!(unauthorized <= 5 * windows_since(since), "{unauthorized}");
}

#[tokio::test]
async fn api_errors_are_json_even_when_the_framework_answers() {
    let site = site();
    let callers = callers(&site);
    let Some(Caller::Token { token, .. }) = callers.iter().find(|c| matches!(c, Caller::Token { role: None, .. }))
    else {
        unreachable!()
    };
    // A body over the 2 MiB limit.
    let big = format!(r#"{{"purpose": "support", "subscribers": ["{}"]}}"#, "x".repeat(3 << 20));
    let request = Request::builder()
        .method("POST")
        .uri("/api/v1/access")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(big))
        .unwrap();
    let reply = Reply::of(site.router.clone().oneshot(request).await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json", "{}", reply.body);
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["error"]["status"], 413);
    assert_eq!(body["error"]["en"], "The request body is too large");
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    // An unknown path and a wrong method under /api/: JSON too.
    for (method, path, status) in [
        ("GET", "/api/v1/nothing-here", StatusCode::NOT_FOUND),
        ("GET", "/api/v1/access", StatusCode::METHOD_NOT_ALLOWED),
    ] {
        let reply = send(&site, method, path, &Caller::Anonymous).await;
        assert_eq!(reply.status, status, "{method} {path}");
        let body: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON");
        assert_eq!(body["error"]["status"], status.as_u16());
    }
}

#[tokio::test]
async fn hsts_is_sent_when_enabled() {
    let site = site_with(|s| s.with_hsts(31_536_000));
    for path in ["/", "/admin/login", "/api/v1/openapi.json"] {
        let reply = send(&site, "GET", path, &Caller::Anonymous).await;
        assert_eq!(reply.headers[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000", "{path}");
    }
    // The public policy page may be cached; the console may not.
    let public = send(&site, "GET", "/", &Caller::Anonymous).await;
    assert!(!public.headers.contains_key(header::CACHE_CONTROL));
    let login = send(&site, "GET", "/admin/login", &Caller::Anonymous).await;
    assert_eq!(login.headers[header::CACHE_CONTROL], "no-store");
}

/// The admin entries with `action`: (subject, details).
fn admin_entries_of(site: &Site, action: AdminAction) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    site.ledger
        .scan_entries(0, &mut |e| {
            if let Event::Admin(a) = e.decode()?.event
                && a.action == action
            {
                out.push((a.subject, a.details));
            }
            Ok(true)
        })
        .unwrap();
    out
}
