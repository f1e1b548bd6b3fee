//! Authorization of every route: the route table (`tokutei_web::route_table`, the same table
//! the router is built from) walked with every kind of caller — anonymous, a system's API
//! token, an API token and a console session for each role — and each response checked
//! against the route's declared access. Plus the sign-in flow: TOTP for managers, lockout
//! after five failures, sessions that end, and an audit entry for each.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tokutei_access::{AccessService, KeyAccess};
use tokutei_ledger::{AdminAction, Event};
use tokutei_policy::{PolicyDigest, Role};
use tokutei_store::auth::{AuthStore, Session};
use tokutei_store::ledger::LedgerStore;
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, StaffStore};
use tokutei_store::{NewPolicyVersion, PolicyStore};
use tokutei_store_sqlite::{SqliteLedger, SqliteStore};
use tokutei_web::routes::Access;
use tower::ServiceExt;

const DEMO_POLICY: &str = include_str!("../../tokutei-policy/policies/hoshizora-tsushin.toml");
const ROLES: [Role; 4] = [Role::ChiefManager, Role::ResponsiblePerson, Role::Handler, Role::Auditor];

struct NoKeys;

impl KeyAccess for NoKeys {
    fn unwrap_key(&self, _: &str, _: &tokutei_store::vault::WrappedDataKey) -> Result<tokutei_crypto::DataKey, String> {
        Err("no keys in this test".into())
    }
    fn blind_token(&self, _: &str, _: &str) -> Option<[u8; 32]> {
        None
    }
}

struct Site {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    ledger: Arc<SqliteLedger>,
    router: axum::Router,
}

fn role_id(role: Role) -> String {
    serde_json::to_value(role).unwrap().as_str().unwrap().to_string()
}

fn site() -> Site {
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
    let service = Arc::new(AccessService::new(
        store.clone(),
        ledger.clone(),
        Arc::new(NoKeys),
        tokutei_gateway::Deployment::default(),
        Vec::new(),
    ));
    let state = tokutei_web::AppState::new(store.clone()).with_ledger(ledger.clone()).with_access(service);
    Site { _dir: dir, store, ledger, router: tokutei_web::router(state) }
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
        let issued = tokutei_access::tokens::issue(principal, now, now + jiff::SignedDuration::from_hours(1));
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
        let location = response.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
        let set_cookies =
            response.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply { status, location, body: String::from_utf8_lossy(&bytes).into_owned(), set_cookies }
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
            // the route.
            let csrf_form = ["/admin/login", "/inquiry", "/en/inquiry", "/inquiry/confirm", "/en/inquiry/confirm"];
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
    let form =
        site.router.clone().oneshot(Request::builder().uri("/admin/login").body(Body::empty()).unwrap()).await.unwrap();
    let cookie =
        form.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let csrf = cookie.split_once('=').unwrap().1.to_string();
    let body = format!("csrf={csrf}&id={id}&password={}&totp={totp}", password.replace(' ', "+"));
    let response = site
        .router
        .clone()
        .oneshot(
            Request::builder()
                .method("POST")
                .uri("/admin/login")
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    Reply::of(response).await
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
    let secret = tokutei_crypto::totp::new_secret().unwrap();
    site.store.set_totp("chief_manager", &secret).unwrap();
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
    assert_eq!(count(AdminAction::LoginFailed, "nobody"), 1);
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
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
}
