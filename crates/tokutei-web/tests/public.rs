//! The public site through the real router (in process, no TCP): status codes, languages,
//! version history with diffs, security headers, and snapshots of the pages.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tokutei_policy::PolicyDigest;
use tokutei_store::{NewPolicyVersion, PolicyStore};
use tokutei_store_sqlite::SqliteStore;
use tower::ServiceExt;

const DEMO_POLICY: &str = include_str!("../../tokutei-policy/policies/hoshizora-tsushin.toml");

struct Site {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    router: axum::Router,
}

fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db.sqlite3")).unwrap());
    let router = tokutei_web::router(tokutei_web::AppState::new(store.clone()));
    Site { _dir: dir, store, router }
}

fn publish(store: &SqliteStore, source: &str) -> u32 {
    let policy = tokutei_policy::parse(source).unwrap();
    store
        .publish_policy(NewPolicyVersion {
            digest: PolicyDigest::of(&policy),
            source: source.to_string(),
            effective: policy.effective_date(),
            published_by: "test".into(),
            published_at: jiff::Timestamp::from_second(1_735_000_000).unwrap(),
        })
        .unwrap()
        .number
}

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn get(site: &Site, path: &str) -> Page {
    let response =
        site.router.clone().oneshot(Request::builder().uri(path).body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Page { status, headers, body: String::from_utf8(bytes.to_vec()).unwrap() }
}

/// Snapshots read better with one tag per line.
fn one_tag_per_line(html: &str) -> String {
    html.replace("><", ">\n<")
}

#[tokio::test]
async fn policy_page_in_japanese_and_english() {
    let site = site();
    publish(&site.store, DEMO_POLICY);

    let ja = get(&site, "/").await;
    assert_eq!(ja.status, StatusCode::OK);
    assert!(ja.body.contains(r#"<html lang="ja">"#));
    assert!(ja.body.contains("特定利用者情報の取扱方針"));
    for id in ["content", "acquisition", "purposes", "security", "foreign", "contact", "leaks"] {
        assert!(ja.body.contains(&format!(r#"<section id="{id}""#)), "section `{id}` on the page");
    }
    assert!(ja.body.contains("事故内容"), "the leak section is computed and shown");
    insta::assert_snapshot!("policy_ja", one_tag_per_line(&ja.body));

    let en = get(&site, "/en/").await;
    assert_eq!(en.status, StatusCode::OK);
    assert!(en.body.contains(r#"<html lang="en">"#));
    assert!(en.body.contains(r#"href="/" lang="ja""#), "language switch back to Japanese");
    insta::assert_snapshot!("policy_en", one_tag_per_line(&en.body));
}

#[tokio::test]
async fn every_response_carries_security_headers() {
    let site = site();
    publish(&site.store, DEMO_POLICY);
    for path in ["/", "/en/", "/policy/versions", "/leaks", "/healthz", "/static/tokutei.css", "/nope"] {
        let page = get(&site, path).await;
        let csp = page.headers.get(header::CONTENT_SECURITY_POLICY).map(|v| v.to_str().unwrap().to_string());
        let csp = csp.unwrap_or_else(|| panic!("no CSP on `{path}`"));
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(page.headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff", "{path}");
        assert_eq!(page.headers.get(header::REFERRER_POLICY).unwrap(), "no-referrer", "{path}");
    }
}

#[tokio::test]
async fn pages_have_no_inline_script_or_style() {
    let site = site();
    publish(&site.store, DEMO_POLICY);
    for path in ["/", "/en/", "/policy/versions", "/policy/versions/1", "/leaks", "/en/leaks"] {
        let page = get(&site, path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.body.contains("<script"), "{path}");
        assert!(!page.body.contains("<style"), "{path}");
        assert!(!page.body.contains(" style="), "{path}");
    }
}

#[tokio::test]
async fn version_history_shows_every_version_and_its_diff() {
    let site = site();
    publish(&site.store, DEMO_POLICY);
    let changed = DEMO_POLICY.replacen(
        "url = \"https://www.hoshizora-tsushin.example/privacy/contact\"",
        "url = \"https://example.jp/privacy/contact\"",
        1,
    );
    assert_ne!(changed, DEMO_POLICY);
    let v2 = publish(&site.store, &changed);
    assert_eq!(v2, 2);

    let list = get(&site, "/policy/versions").await;
    assert!(list.body.contains(r#"href="/policy/versions/1""#));
    assert!(list.body.contains(r#"href="/policy/versions/2""#));

    let old = get(&site, "/policy/versions/1").await;
    assert_eq!(old.status, StatusCode::OK);
    assert!(old.body.contains("これは現行の版ではありません"), "an old version says it is not in force");
    assert!(old.body.contains("最初の版です"));

    let new = get(&site, "/policy/versions/2").await;
    assert!(new.body.contains("前の版からの変更"));
    let diff = new.body.split(r#"<pre class="diff">"#).nth(1).and_then(|d| d.split("</pre>").next()).unwrap_or("");
    assert!(diff.contains("example.jp/privacy/contact"), "the diff names the change: {diff}");

    assert_eq!(get(&site, "/policy/versions/3").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&site, "/policy/versions/x").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_a_policy_the_site_says_so() {
    let site = site();
    let page = get(&site, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("現在施行中の取扱方針はありません"));
    let health = get(&site, "/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&health.body).unwrap();
    assert_eq!(json["policy_version"], serde_json::Value::Null);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let site = site();
    publish(&site.store, DEMO_POLICY);
    get(&site, "/policy/versions/1").await;
    get(&site, "/policy/versions/1").await;
    let metrics = get(&site, "/metrics").await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        metrics.body.contains(r#"tokutei_http_requests_total{route="/policy/versions/{number}",status="2xx"} 2"#),
        "{}",
        metrics.body
    );
    assert!(metrics.body.contains("tokutei_policy_versions 1"));
}

/// Store an incident of the register with its public entry (what `tokutei_app::incidents`
/// writes after its audit entry), occurred on `occurred` and listed until `listed_until`.
fn published_incident(store: &SqliteStore, id: &str, occurred: &str, listed_until: &str, summary: (&str, &str)) {
    use tokutei_store::incident::{
        Flags, IncidentFields, IncidentStatus, IncidentStore, IncidentVersion, Occurrence, Publication, Regime,
    };
    let at = jiff::Timestamp::from_second(1_735_000_000).unwrap();
    let fields = IncidentFields {
        title: tokutei_policy::Text::ja("誤送信"),
        summary: None,
        occurred: Occurrence::Unknown,
        discovered_at: None,
        known_at: at,
        discovery: None,
        categories: vec![],
        services: vec![],
        content: None,
        persons: None,
        cause: None,
        secondary_damage: None,
        response: None,
        prevention: None,
        other: None,
        status: IncidentStatus::Open,
        processors: vec![],
        regimes: vec![Regime::Tokutei],
        flags: Flags::default(),
        extra: Default::default(),
    };
    let version = IncidentVersion {
        incident: id.into(),
        version: 1,
        fields,
        change: "opened".into(),
        changed_by: "cpo".into(),
        changed_at: at,
        audit_index: 0,
    };
    store.create_incident(&version, &[]).unwrap();
    store
        .publish_incident(&Publication {
            incident: id.into(),
            version: 1,
            occurred: occurred.parse().unwrap(),
            summary: tokutei_policy::Text { ja: summary.0.into(), en: Some(summary.1.into()) },
            published_at: at,
            published_on: "2025-01-01".parse().unwrap(),
            listed_until: listed_until.parse().unwrap(),
            published_by: "cpo".into(),
            audit_index: 1,
        })
        .unwrap();
}

/// Regression: `/leaks`, `/en/leaks` and the policy page's 事故内容 said なし whatever the
/// register held, since every caller passed an empty list; they list the published incidents
/// inside the window now, and keep a corrected entry's earlier text in its history.
#[tokio::test]
async fn the_leak_list_said_none_even_with_published_incidents() {
    let site = site();
    publish(&site.store, DEMO_POLICY);
    let empty = get(&site, "/leaks").await;
    assert!(empty.body.contains("<dd>なし</dd>"), "nothing published: なし");

    published_incident(
        &site.store,
        "INC-1",
        "2024-03-05",
        "2034-03-04",
        ("顧客情報の誤送信", "Mis-sent customer data"),
    );
    // Occurred before the rule's start date: never listed.
    published_incident(&site.store, "INC-0", "2024-01-17", "2034-01-16", ("規則前の事故", "Before the rule"));

    let ja = get(&site, "/leaks").await;
    assert_eq!(ja.status, StatusCode::OK);
    assert!(ja.body.contains("顧客情報の誤送信") && ja.body.contains("2024年3月5日"), "{}", ja.body);
    assert!(!ja.body.contains("<dd>なし</dd>"), "なし only when empty");
    assert!(!ja.body.contains("規則前の事故"));
    let en = get(&site, "/en/leaks").await;
    assert!(en.body.contains("Mis-sent customer data"), "{}", en.body);
    let policy = get(&site, "/").await;
    let section = policy.body.split(r#"<section id="leaks""#).nth(1).unwrap().split("</section>").next().unwrap();
    assert!(section.contains("顧客情報の誤送信") && !section.contains("なし"), "{section}");
    assert!(get(&site, "/policy/versions/1").await.body.contains("顧客情報の誤送信"));

    // A correction: the entry reads anew, the old text stays public.
    use tokutei_store::incident::IncidentStore;
    let mut corrected = site.store.publications("INC-1").unwrap().remove(0);
    corrected.version = 2;
    corrected.summary = tokutei_policy::Text { ja: "顧客情報の誤送信（訂正）".into(), en: None };
    corrected.published_on = "2025-02-01".parse().unwrap();
    site.store.publish_incident(&corrected).unwrap();
    let ja = get(&site, "/leaks").await;
    let history = ja.body.split(r#"id="leak-history""#).nth(1).expect("a history section");
    assert!(history.contains("顧客情報の誤送信</dd>") && history.contains("2025年1月1日"), "{history}");
    assert!(ja.body.contains("顧客情報の誤送信（訂正）"));
}

/// The procedures for data-subject requests (32条) in both languages: every request type
/// with its article and fee (none without an application's `[requests]`), the identity checks,
/// the policy's postal address and telephone, and links to it from the policy page.
#[tokio::test]
async fn the_request_procedures_page_lists_types_fees_and_identity_checks() {
    let site = site();
    publish(&site.store, DEMO_POLICY);
    let ja = get(&site, "/requests").await;
    assert_eq!(ja.status, StatusCode::OK);
    for text in ["開示等の請求の手続", "第三者提供記録の開示", "33条5項", "運転免許証", "委任状", "14日以内"]
    {
        assert!(ja.body.contains(text), "`{text}` on /requests:\n{}", ja.body);
    }
    let en = get(&site, "/en/requests").await;
    assert!(en.body.contains("stop of third-party provision") && en.body.contains("driving licence"), "{}", en.body);
    assert!(get(&site, "/").await.body.contains(r#"href="/requests""#));
    assert!(get(&site, "/en/").await.body.contains(r#"href="/en/requests""#));
    insta::assert_snapshot!("requests_ja", one_tag_per_line(&ja.body));
}
