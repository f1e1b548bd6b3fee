//! The browser suite (issue #6 §4, §5): the staff console and the public site in Debian's
//! headless Chromium, driven through chromedriver with fantoccini. One server (`tokutei demo`
//! data, `tokutei serve`) and one browser for every flow:
//!
//! - a handler signs in with the demo's one-time password, changes it as forced, finds a
//!   subscriber through the blind index and views them for a purpose, then signs out;
//! - the chief manager signs in with the one-time password and a TOTP code, changes the
//!   password, sees that view in the access log, downloads its inclusion proof (checked with
//!   `tokutei audit check-proof`), publishes a new policy version after the preview, switches
//!   the console to English and back, signs out;
//! - a member of the public sends an inquiry through its confirmation page;
//! - the chief manager opens a leak incident, triages it, computes its impact from the handler's
//!   view, records the first report's submission and publishes it: `/leaks` and `/` list it;
//! - every main page, public and console, is checked for console errors, failed requests,
//!   `lang`, labels, width at 375 px and security headers, validated with the Nu HTML Checker,
//!   and saved as a full-page screenshot under `target/browser-artifacts/`.
//!
//! Missing tools fail the suite with a pointer to `cargo xtask provision`; nothing is skipped.

#[path = "../it/util.rs"]
#[allow(dead_code, reason = "shared with the end-to-end tests; this suite uses part of it")]
mod util;

mod chrome;
mod http;
mod quality;
mod server;
mod vnu;

use std::path::{Path, PathBuf};

use chrome::Browser;
use quality::Findings;
use server::{Account, Server};

/// Public pages: (artifact name, path).
const PUBLIC_PAGES: &[(&str, &str)] = &[
    ("public-policy", "/"),
    ("public-policy-en", "/en/"),
    ("public-versions", "/policy/versions"),
    ("public-leaks", "/leaks"),
];

/// Console pages for the chief manager: (artifact name, path).
const CONSOLE_PAGES: &[(&str, &str)] = &[
    ("admin-dashboard", "/admin/"),
    ("admin-subscribers", "/admin/subscribers"),
    ("admin-audit", "/admin/audit"),
    ("admin-staff", "/admin/staff"),
    ("admin-policy", "/admin/policy"),
    ("admin-password", "/admin/password"),
];

/// Pages that are main pages as soon as the route table has them (issue #6 §3).
const PAGES_WHEN_PRESENT: &[(&str, &str)] = &[
    ("public-inquiry", "/inquiry"),
    ("public-requests", "/requests"),
    ("public-requests-en", "/en/requests"),
    ("public-transparency", "/transparency"),
    ("public-transparency-en", "/en/transparency"),
    ("public-my-landing", "/my/"),
    ("public-preferences-landing", "/preferences"),
    ("admin-settings", "/admin/settings"),
    ("admin-inquiries", "/admin/inquiries"),
    ("admin-incidents", "/admin/incidents"),
    ("admin-incident-new", "/admin/incidents/new"),
    ("admin-alerts", "/admin/alerts"),
    ("admin-oversight", "/admin/oversight"),
    ("admin-oversight-designation", "/admin/oversight/designation"),
    ("admin-oversight-manager", "/admin/oversight/manager"),
    ("admin-oversight-violations", "/admin/oversight/violations"),
    ("admin-oversight-violation-new", "/admin/oversight/violations/new"),
    ("admin-oversight-rules", "/admin/oversight/rules"),
    ("admin-oversight-training", "/admin/oversight/training"),
    ("admin-oversight-inspections", "/admin/oversight/inspections"),
    ("admin-oversight-assessments", "/admin/oversight/assessments"),
    ("admin-oversight-zones", "/admin/oversight/zones"),
    ("admin-requests", "/admin/requests"),
    ("admin-request-new", "/admin/requests/new"),
    ("admin-exports", "/admin/exports"),
    ("admin-media", "/admin/media"),
];

/// The handler's search: the demo's contract numbers are `HZ-` and the subscriber's number.
const SUBSCRIBER: &str = "HS00000001";
const CONTRACT_NUMBER: &str = "HZ-00000001";

/// The inquirer, as typed into the public form.
const INQUIRER: (&str, &str) = ("星野 花子", "hanako.hoshino@example.jp");

/// Values typed or shown in the flows that must never appear in a URL.
const PERSONAL_VALUES: &[&str] = &[CONTRACT_NUMBER, INQUIRER.0, INQUIRER.1];

fn artifacts_dir() -> PathBuf {
    // The workspace's target directory (CARGO_TARGET_DIR when set), as cargo knows it.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create `{}`: {e}", dir.display()));
    dir
}

fn present(method: &str, path: &str) -> bool {
    tokutei_web::route_table().iter().any(|r| r.method == method && r.path == path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_and_the_public_site_work_in_chromium() {
    chrome::require_tools();
    vnu::require_tools();
    let artifacts = artifacts_dir();
    let downloads = tempfile::tempdir().unwrap();
    let server = Server::start();
    let browser = Browser::start(downloads.path()).await;
    let mut findings = Findings::default();
    let optional: Vec<(&str, &str)> = PAGES_WHEN_PRESENT.iter().copied().filter(|(_, p)| present("GET", p)).collect();
    let public: Vec<(&str, &str)> = PUBLIC_PAGES
        .iter()
        .copied()
        .chain(optional.iter().copied().filter(|(_, p)| !p.starts_with("/admin")))
        .collect();
    let console: Vec<(&str, &str)> = CONSOLE_PAGES
        .iter()
        .copied()
        .chain(optional.iter().copied().filter(|(_, p)| p.starts_with("/admin")))
        .collect();

    for (name, path) in &public {
        browser.open(&server.url(path), "main").await;
        quality::check_page(&browser, name, &artifacts, &mut findings).await;
    }

    if present("POST", "/inquiry/confirm") {
        public_sends_an_inquiry(&browser, &server, &artifacts, &mut findings).await;
    }

    browser.open(&server.url("/admin/login"), "#id").await;
    quality::check_page(&browser, "admin-login", &artifacts, &mut findings).await;
    quality::check_sign_in_keyboard(&browser, &mut findings).await;

    handler_views_a_subscriber(&browser, &server, &artifacts, &mut findings).await;
    let portal = if present("POST", "/my/enter") {
        Some(subscriber_checks_their_page(&browser, &server, &artifacts, &mut findings).await)
    } else {
        None
    };
    let session = chief_reviews_and_publishes(&browser, &server, downloads.path()).await;
    let mut console = console;
    if present("POST", "/admin/incidents") {
        let id = chief_runs_an_incident(&browser, &server, &artifacts, &mut findings).await;
        // The incident's own pages pass the same bars (headers, Nu HTML Checker) below.
        for (name, page) in [
            ("admin-incident", ""),
            ("admin-incident-edit", "/edit"),
            ("admin-incident-impact", "/impact"),
            ("admin-incident-notices", "/notices"),
            ("admin-incident-publish", "/publish"),
            ("admin-incident-report", "/reports/tokutei/first"),
        ] {
            let path: &'static str = Box::leak(format!("/admin/incidents/{id}{page}").into_boxed_str());
            console.push((name, path));
        }
    }

    if present("POST", "/admin/requests/{id}/fulfil") && present("POST", "/inquiry") {
        chief_answers_a_disclosure_request(&browser, &server, downloads.path(), &artifacts, &mut findings).await;
        console.push(("admin-request", "/admin/requests/DR-1"));
    }

    if present("POST", "/admin/oversight/violations/{id}/resolve") {
        chief_closes_the_violation_report(&browser, &server, &artifacts, &mut findings).await;
        console.push(("admin-oversight-violation", "/admin/oversight/violations/VR-1"));
    }

    if present("POST", "/admin/oversight/rules/{version}/filings") {
        chief_files_the_rules(&browser, &server, &artifacts, &mut findings).await;
        console.push(("admin-oversight-rules-version", "/admin/oversight/rules/1"));
    }

    for (name, path) in &console {
        browser.open(&server.url(path), "main h1").await;
        assert_eq!(browser.path().await, *path, "the chief manager stays on `{path}`");
        quality::check_page(&browser, name, &artifacts, &mut findings).await;
    }

    if present("POST", "/admin/lang") {
        console_switches_language(&browser, &server, &artifacts, &mut findings).await;
    }

    // The bytes the server sends: security headers and the Nu HTML Checker, signed in where
    // the page needs it.
    let mut documents = Vec::new();
    let anonymous = public.iter().chain([("admin-login", "/admin/login")].iter()).map(|p| (p, None));
    for ((name, path), cookie) in anonymous.chain(console.iter().map(|p| (p, Some(session.as_str())))) {
        let response = http::get(server.addr(), path, cookie);
        assert_eq!(response.status, 200, "`{path}` answers");
        quality::check_headers(name, &response, &mut findings);
        documents.push((name.to_string(), response.body));
    }
    if let Some(cookie) = &portal {
        let response = http::get(server.addr(), "/my/", Some(cookie));
        assert_eq!(response.status, 200, "`/my/` answers");
        assert!(response.body.contains("id=\"uses\""), "the subscriber's page, signed in");
        quality::check_headers("public-my", &response, &mut findings);
        documents.push(("public-my".to_string(), response.body));
    }
    let invalid = vnu::validate(&documents);

    // Personal data travels in POST bodies only, never in a URL (issue #6 §5).
    assert!(!browser.requested_with("/admin/audit?staff=").await.is_empty(), "the network log records URLs");
    for value in PERSONAL_VALUES {
        let leaks = browser.requested_with(value).await;
        assert!(leaks.is_empty(), "`{value}` appeared in requested URLs: {leaks:?}");
    }

    sign_out(&browser).await;
    let after = http::get(server.addr(), "/admin/", Some(&session));
    assert_eq!(after.header("location"), Some("/admin/login"), "the session ended with the sign-out");
    browser.close().await;

    eprintln!("browser screenshots: {}", artifacts.display());
    findings.assert_none(&invalid);
}

/// The public inquiry form: fill it in, review it on the confirmation page, send it, get a
/// receipt number.
async fn public_sends_an_inquiry(browser: &Browser, server: &Server, artifacts: &Path, findings: &mut Findings) {
    browser.open(&server.url("/inquiry"), "#inquiry-form").await;
    browser.choose("#inquiry-form #category", "disclosure").await;
    browser.fill("#inquiry-form #name", INQUIRER.0).await;
    browser.fill("#inquiry-form #contact", INQUIRER.1).await;
    browser.fill("#inquiry-form #message", "私の情報の開示をお願いします。").await;
    browser.click("#inquiry-form button[type=submit]", "#inquiry-review").await;
    let review = browser.wait_for("#inquiry-review").await.text().await.unwrap();
    assert!(review.contains(INQUIRER.0) && review.contains(INQUIRER.1), "the review shows the form:\n{review}");
    quality::check_page(browser, "public-inquiry-confirm", artifacts, findings).await;
    browser.click("#inquiry-submit", "#receipt-number").await;
    let receipt = browser.wait_for("#receipt-number").await.text().await.unwrap();
    assert!(!receipt.trim().is_empty(), "a receipt number is shown");
    quality::check_page(browser, "public-inquiry-receipt", artifacts, findings).await;
}

/// The console's language switch: English first (`lang="en"`), then back to Japanese.
async fn console_switches_language(browser: &Browser, server: &Server, artifacts: &Path, findings: &mut Findings) {
    browser.open(&server.url("/admin/"), "#lang-switch").await;
    browser.click("#lang-switch button[type=submit]", "html[lang='en'] main h1").await;
    assert_eq!(browser.path().await, "/admin/", "the switch returns to the same page");
    quality::check_page(browser, "admin-dashboard-en", artifacts, findings).await;
    browser.click("#lang-switch button[type=submit]", "html[lang='ja'] main h1").await;
}

/// Sign in on the login page; where the server sends the browser next.
async fn sign_in(browser: &Browser, server: &Server, account: &Account) -> String {
    browser.open(&server.url("/admin/login"), "#id").await;
    browser.take_log().await;
    browser.fill("#id", &account.id).await;
    browser.fill("#password", &account.password).await;
    if account.totp.is_some() {
        browser.fill("#totp", &account.code()).await;
    }
    browser.click("main form button[type=submit]", "#new, #today").await;
    browser.path().await
}

/// The forced change of a one-time password, on the page the sign-in led to.
async fn change_password(browser: &Browser, account: &mut Account, new: &str) {
    assert_eq!(browser.path().await, "/admin/password", "a one-time password must be changed first");
    browser.fill("#current", &account.password).await;
    browser.fill("#new", new).await;
    browser.fill("#confirm", new).await;
    browser.click("main form button[type=submit]", "#today").await;
    assert_eq!(browser.path().await, "/admin/", "after the change the dashboard opens");
    account.password = new.to_string();
}

async fn sign_out(browser: &Browser) {
    browser.click("form.signout button[type=submit]", "#id").await;
    assert_eq!(browser.path().await, "/admin/login");
}

async fn handler_views_a_subscriber(browser: &Browser, server: &Server, artifacts: &Path, findings: &mut Findings) {
    let mut handler = server.handler.clone();
    // Zones are required: the handler starts outside the zone (the badge system saw them leave).
    server.badge("exit");
    assert_eq!(sign_in(browser, server, &handler).await, "/admin/password");
    change_password(browser, &mut handler, "support desk 2026 autumn").await;
    let search = || async {
        browser.open(&server.url("/admin/subscribers"), "#value").await;
        browser.choose("#purpose", "support").await;
        browser.choose("#channel", "phone").await;
        browser.choose("#category", "contract.number").await;
        browser.fill("#value", CONTRACT_NUMBER).await;
    };
    let link = format!("main a[href='/admin/subscribers/{SUBSCRIBER}']");
    let refused_outside = |why: &'static str| {
        let link = link.clone();
        async move {
            let text = browser.wait_for("#whereabouts").await.text().await.unwrap();
            assert!(
                text.contains("取扱区域の外です") && text.contains(why),
                "the page says where the handler is:\n{text}"
            );
            browser.click("main form button[type=submit]", "main h1").await;
            let text = browser.wait_for("main").await.text().await.unwrap();
            assert!(text.contains("検索結果") && text.contains(why), "the search is refused with the reason:\n{text}");
            let found = browser.js("return document.querySelectorAll(arguments[0]).length", vec![link.into()]).await;
            assert_eq!(found, 0, "nothing is found outside the zone");
        }
    };
    search().await;
    refused_outside("退室しています").await;
    // The handler badges in at the zone's door (the badge system's API call) and works.
    server.badge("enter");
    search().await;
    let text = browser.wait_for("#whereabouts").await.text().await.unwrap();
    assert!(text.contains("現在の取扱区域"), "the handler is in the zone:\n{text}");
    browser.click("main form button[type=submit]", &link).await;
    quality::check_page(browser, "admin-search-results", artifacts, findings).await;

    browser.click(&link, &format!("form[action='/admin/subscribers/{SUBSCRIBER}'] #purpose")).await;
    browser.choose("#purpose", "support").await;
    browser.choose("#channel", "phone").await;
    browser.click("main form button[type=submit]", "main table").await;
    let text = browser.wait_for("main").await.text().await.unwrap();
    assert!(text.contains("利用目的: support"), "the view names its purpose:\n{text}");
    assert!(text.contains("契約番号") && text.contains(CONTRACT_NUMBER), "the contract number is shown:\n{text}");
    quality::check_page(browser, "admin-subscriber-view", artifacts, findings).await;
    // The call centre records another subscriber's opt-out, given by phone, under the notice in
    // force (the subscriber's page offers the form).
    browser.open(&server.url("/admin/subscribers/HS00000002"), "#record-choice").await;
    browser.click("#record-choice", "#consent-form").await;
    browser.wait_for("#purpose-marketing").await.click().await.unwrap();
    browser.wait_for("#choice-out").await.click().await.unwrap();
    browser.choose("#channel", "phone").await;
    browser.fill("#evidence", "call-20261208-001").await;
    browser.click("#consent-save", "#recorded").await;
    quality::check_page(browser, "admin-subscriber-consent", artifacts, findings).await;
    let shown = server.cli(&["--json", "consent", "show", "--subscriber", "HS00000002"]).assert_code(0).json();
    let marketing = shown["current"].as_array().unwrap().iter().find(|c| c["purpose"] == "marketing").cloned();
    let marketing = marketing.unwrap_or_else(|| panic!("the choice is recorded: {shown}"));
    assert_eq!(
        (&marketing["choice"], &marketing["channel"], &marketing["recorded_by"]),
        (&"opted_out".into(), &"phone".into(), &"demo-support".into()),
        "{marketing}"
    );
    // Badged out: refused again, with the reason.
    server.badge("exit");
    search().await;
    refused_outside("退室しています").await;
    server.badge("enter");
    if present("POST", "/admin/oversight/violations") {
        handler_reports_a_violation(browser, server, artifacts, findings).await;
    }
    sign_out(browser).await;
}

/// The subscriber of the handler's view opens their own page with a one-time link, on a phone
/// first: every use is listed, and each record's proof checks in the browser (the entry's
/// leaf, the path to the checkpoint's root, the carrier's signature and both witnesses'
/// cosignatures, by `/static/my-verify.js` with WebCrypto). Returns a second session's cookie
/// (its own link, opened over plain HTTP) for the header and HTML checks.
async fn subscriber_checks_their_page(
    browser: &Browser,
    server: &Server,
    artifacts: &Path,
    findings: &mut Findings,
) -> String {
    // The handler's view is under a checkpoint both witnesses cosigned, now.
    let round = server.cli(&["--json", "audit", "witness"]);
    round.assert_code(0);
    assert_eq!(round.json()["published"], true, "{}", round.stdout);
    let link = |_: ()| {
        let run = server.cli(&["--json", "portal", "link", "--subscriber", SUBSCRIBER]);
        let url = run.assert_code(0).json()["url"].as_str().unwrap().to_string();
        url.split_once("t=").unwrap().1.to_string()
    };
    let token = link(());
    browser.emulate_width(Some(375)).await;
    browser.open(&server.url(&format!("/my/enter?t={token}")), "main form button").await;
    browser.emulate_width(None).await;
    quality::check_page(browser, "public-my-enter", artifacts, findings).await;
    browser.click("main form button[type=submit]", "#uses").await;
    assert_eq!(browser.path().await, "/my/");
    quality::check_page(browser, "public-my", artifacts, findings).await;

    let indexes =
        browser.js("return [...document.querySelectorAll('button.verify')].map(b => b.dataset.index);", vec![]).await;
    let indexes: Vec<String> = indexes.as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_string()).collect();
    assert!(!indexes.is_empty(), "the handler's view is listed with its proof");
    for index in &indexes {
        browser.wait_for(&format!("button.verify[data-index='{index}']")).await.click().await.unwrap();
        let result = browser.wait_for(&format!("#result-{index}.ok, #result-{index}.bad")).await;
        let text = result.text().await.unwrap();
        let class = result.attr("class").await.unwrap().unwrap_or_default();
        assert!(class.contains("ok") && text.starts_with('✓'), "record {index} did not verify: {text}");
        assert!(text.contains("証人 2 人"), "both witnesses' cosignatures checked: {text}");
    }
    let file = artifacts.join("public-my-verified-375.png");
    browser.emulate_width(Some(375)).await;
    browser.screenshot(&file).await;
    browser.emulate_width(None).await;
    // From the page to the choices: the subscriber stops marketing, and the page says so.
    if present("POST", "/preferences") {
        browser.click("#change-choices", "#preferences").await;
        quality::check_page(browser, "public-preferences", artifacts, findings).await;
        browser.click("#purpose-marketing form button[type=submit]", "#changed").await;
        let state = browser.wait_for("#purpose-marketing strong.state").await.text().await.unwrap();
        assert_eq!(state, "利用しません", "marketing is stopped");
        let consents = server.cli(&["--json", "consent", "show", "--subscriber", SUBSCRIBER]).json();
        let marketing = consents["current"].as_array().unwrap().iter().find(|c| c["purpose"] == "marketing").cloned();
        assert_eq!(marketing.unwrap()["choice"], "opted_out", "recorded");
    }
    // The link works once.
    browser.open(&server.url(&format!("/my/enter?t={token}")), "main form button").await;
    browser.click("main form button[type=submit]", "main h1").await;
    let refused = browser.wait_for("main h1").await.text().await.unwrap();
    assert!(refused.contains("このリンクは使えません"), "{refused}");
    browser.take_log().await;

    let token = link(());
    let body = format!("t={token}");
    let (status, head, _) = util::exchange(
        server.addr(),
        &format!(
            "POST /my/enter HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            server.addr(),
            body.len()
        ),
    );
    assert_eq!(status, 303, "{head}");
    head.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: tokutei_my=")
                .then(|| l[12..].split(';').next().unwrap().trim().to_string())
        })
        .expect("the session cookie")
}

/// The text of the handler's violation report (issue 16): what the chief manager reads.
const VIOLATION_TEXT: &str = "取扱区域で私物のUSBメモリが使われていた";

/// A handler files a report from the navigation and gets its receipt number.
async fn handler_reports_a_violation(browser: &Browser, server: &Server, artifacts: &Path, findings: &mut Findings) {
    browser.open(&server.url("/admin/"), "nav.site").await;
    browser.click("nav.site a[href='/admin/oversight/violations/new']", "#violation-form").await;
    browser.choose("#principal", &server.handler.id).await;
    browser.choose("#measure", "5").await;
    browser.fill("#text", VIOLATION_TEXT).await;
    browser.click("#violation-submit", "#receipt").await;
    let receipt = browser.wait_for("#receipt").await.text().await.unwrap();
    assert!(receipt.contains("VR-1"), "the receipt names the report: {receipt}");
    quality::check_page(browser, "admin-violation-filed", artifacts, findings).await;
}

/// The chief manager acknowledges the handler's report and closes it (no violation).
async fn chief_closes_the_violation_report(
    browser: &Browser,
    server: &Server,
    artifacts: &Path,
    findings: &mut Findings,
) {
    browser.open(&server.url("/admin/oversight"), "#violations-summary").await;
    browser.click("#ov-violations a", "#violations").await;
    browser.click("#violations a[href='/admin/oversight/violations/VR-1']", "#violation").await;
    let report = browser.wait_for("#violation-text").await.text().await.unwrap();
    assert_eq!(report.trim(), VIOLATION_TEXT, "the handler's report as filed");
    browser.click("#ack-submit", "#done").await;
    let state = browser.wait_for("#violation-state").await.text().await.unwrap();
    assert!(state.contains("確認済み"), "acknowledged: {state}");
    browser.wait_for("#outcome-none").await.click().await.unwrap();
    browser.fill("#resolve-text", "会社貸与の暗号化USBメモリと確認した").await;
    browser.click("#resolve-submit", "#violation-history").await;
    let state = browser.wait_for("#violation-state").await.text().await.unwrap();
    assert!(state.contains("終結（違反なし）"), "closed: {state}");
    let history = browser.wait_for("#violation-history").await.text().await.unwrap();
    assert!(history.contains("確認") && history.contains("貸与"), "the history: {history}");
    quality::check_page(browser, "admin-violation-closed", artifacts, findings).await;
}

/// The public inquiry asking for a disclosure becomes a request in one click; the chief
/// manager verifies the requester, fulfils it (a read through the gateway under the purpose
/// for requests, once the chief holds it) and downloads the electronic record, once.
async fn chief_answers_a_disclosure_request(
    browser: &Browser,
    server: &Server,
    downloads: &Path,
    artifacts: &Path,
    findings: &mut Findings,
) {
    let policy =
        tokutei_policy::parse(include_str!("../../../tokutei-policy/policies/hoshizora-tsushin.toml")).unwrap();
    let mut grant =
        vec!["staff".to_string(), "grant".into(), server.chief.id.clone(), "--by".into(), server.chief.id.clone()];
    for service in &policy.services {
        let categories: Vec<&str> =
            policy.categories.iter().filter(|c| c.services.contains(&service.id)).map(|c| c.id.as_str()).collect();
        grant.extend(["--range".to_string(), format!("{}:{}", service.id, categories.join(","))]);
    }
    // Grants are replaced whole: the demo's zone stays among them (zones are required here).
    grant.extend(["--purpose".to_string(), "data_subject_requests".into(), "--zone".into(), "hq-privacy".into()]);
    server.cli(&grant.iter().map(String::as_str).collect::<Vec<_>>()).assert_code(0);

    browser.open(&server.url("/admin/inquiries"), "#inquiries").await;
    browser.click("#inquiries tbody tr button[type=submit]", "#inquiry").await;
    browser.click("#make-request", "#request-form").await;
    browser.fill("#subscriber", SUBSCRIBER).await;
    browser.choose("#verified_by", "license").await;
    browser.click("#request-submit", "#request").await;
    let status = browser.wait_for("#request-status").await.text().await.unwrap();
    assert!(status.contains("対応中"), "verified at intake: {status}");
    quality::check_page(browser, "admin-request-received", artifacts, findings).await;
    browser.click("#fulfil-submit", "#request-document").await;
    browser.take_log().await;
    browser.wait_for("#request-document a[download]").await.click().await.unwrap();
    let record = chrome::downloaded(downloads, "DR-1").await;
    browser.take_log().await;
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(
        (record["schema"].as_str(), record["subscriber"].as_str()),
        (Some("tokutei.disclosure/1"), Some(SUBSCRIBER))
    );
    assert!(!record["values"].as_array().unwrap().is_empty(), "the record holds the subscriber's values");
    browser.open(&server.url("/admin/requests/DR-1"), "#request-document").await;
    let document = browser.wait_for("#request-document").await.text().await.unwrap();
    assert!(document.contains("ダウンロード済み"), "downloaded once: {document}");
}

/// The chief manager reaches the demo's 情報取扱規程 from the oversight overview, flagged never
/// filed, and records its filing: the version is then shown as filed, on its print page and in
/// the list.
async fn chief_files_the_rules(browser: &Browser, server: &Server, artifacts: &Path, findings: &mut Findings) {
    browser.open(&server.url("/admin/oversight"), "#rules-summary").await;
    let summary = browser.wait_for("#rules-summary").await.text().await.unwrap();
    assert!(summary.contains("未届出"), "the demo's rules are not filed yet: {summary}");
    browser.click("#ov-rules a", "#rules-versions").await;
    browser.click("#rules-v1 a[href='/admin/oversight/rules/1']", "#rules-document").await;
    set_value(browser, "#date", &tokutei_policy::tokyo::today().to_string()).await;
    browser.fill("#reference", "総基利第123号").await;
    browser.click("#filing-save", "#done").await;
    let filed = browser.wait_for("#rules-filed").await.text().await.unwrap();
    assert!(filed.contains("総基利第123号") && !filed.contains("未届出"), "filed: {filed}");
    quality::check_page(browser, "admin-rules-filed", artifacts, findings).await;
    browser.click("a[href='/admin/oversight/rules']", "#rules-versions").await;
    let row = browser.wait_for("#rules-v1").await.text().await.unwrap();
    assert!(row.contains("総基利第123号"), "the list shows the filing: {row}");
}

/// The chief manager's part; returns the session cookie (`name=value`) for plain HTTP.
async fn chief_reviews_and_publishes(browser: &Browser, server: &Server, downloads: &Path) -> String {
    let mut chief = server.chief.clone();
    assert_eq!(sign_in(browser, server, &chief).await, "/admin/password");
    change_password(browser, &mut chief, "chief manager 2026 autumn").await;

    // The handler's view is in the access log (their refusals outside the zone after it are
    // too: the filter keeps the uses allowed); a checkpoint signed now covers it.
    server.cli(&["audit", "checkpoint"]).assert_code(0);
    let log = server.url(&format!("/admin/audit?staff={}&subscriber={SUBSCRIBER}&decision=allow", server.handler.id));
    browser.open(&log, "main table").await;
    let row = browser.wait_for("main tbody tr").await.text().await.unwrap();
    assert!(row.contains("allow") && row.contains("support") && row.contains(SUBSCRIBER), "the newest entry: {row}");
    let index = row.split_whitespace().next().unwrap().to_string();
    browser.take_log().await;
    browser.wait_for("main tbody tr a[download]").await.click().await.unwrap();
    let proof = chrome::downloaded(downloads, &format!("tokutei-proof-{index}")).await;
    browser.take_log().await;
    let proof_json: serde_json::Value = serde_json::from_slice(&std::fs::read(&proof).unwrap()).unwrap();
    let note = server.env.write("checkpoint.txt", proof_json["checkpoint"].as_str().expect("the proof's checkpoint"));
    let key = server.cli(&["audit", "key"]).assert_code(0).stdout.trim().to_string();
    server
        .cli(&["audit", "check-proof", proof.to_str().unwrap(), "--checkpoint", note.to_str().unwrap(), "--key", &key])
        .assert_code(0);

    // Publishing: paste the file, preview (diff), confirm.
    browser.open(&server.url("/admin/policy"), "#source").await;
    browser.js("document.getElementById('source').value = arguments[0];", vec![revised_policy().into()]).await;
    browser.click("main form[action='/admin/policy/preview'] button[type=submit]", "#confirm-source").await;
    let preview = browser.wait_for("pre.diff").await.text().await.unwrap();
    assert!(!preview.trim().is_empty(), "the preview shows what changes");
    browser.click("main form[action='/admin/policy/publish'] button[type=submit]", "main table").await;
    assert_eq!(browser.path().await, "/admin/policy");
    let history = browser.wait_for("main table").await.text().await.unwrap();
    assert!(history.contains("第2版"), "the new version is in the history:\n{history}");

    let cookies = browser.client.get_all_cookies().await.unwrap();
    let session = cookies.iter().find(|c| c.name() == "tokutei_session").expect("a session cookie");
    format!("tokutei_session={}", session.value())
}

/// A Tokyo time as a `datetime-local` input holds it.
fn local_input(at: jiff::Timestamp) -> String {
    tokutei_policy::tokyo::minutes(at).replacen(' ', "T", 1)
}

/// Set a form field's value as a script would (a `datetime-local` input takes no typed
/// text the same way in every locale).
async fn set_value(browser: &Browser, css: &str, value: &str) {
    browser.wait_for(css).await;
    browser.js("document.querySelector(arguments[0]).value = arguments[1];", vec![css.into(), value.into()]).await;
}

/// The chief manager's incident (issue 14): open, triage, impact from the handler's view of
/// the day, the first report's submission, publication; `/leaks` and `/` list it. Returns the
/// incident's id.
async fn chief_runs_an_incident(
    browser: &Browser,
    server: &Server,
    artifacts: &Path,
    findings: &mut Findings,
) -> String {
    const TITLE: &str = "委託先端末からの顧客情報の閲覧";
    const PUBLIC_TEXT: &str = "委託先の端末から一部のお客さまの氏名が閲覧されました。";
    let now = jiff::Timestamp::now();
    browser.open(&server.url("/admin/incidents/new"), "#incident-form").await;
    browser.fill("#title", TITLE).await;
    set_value(browser, "#known_at", &local_input(now)).await;
    set_value(browser, "#occurred_at", &local_input(now - jiff::SignedDuration::from_hours(24))).await;
    browser.wait_for("#regime-tokutei").await.click().await.unwrap();
    browser.fill("#summary", PUBLIC_TEXT).await;
    browser.click("#incident-open", "#done").await;
    let path = browser.path().await;
    let id = path.trim_start_matches("/admin/incidents/").to_string();
    assert!(id.starts_with("INC-"), "the incident's page opens: {path}");
    quality::check_page(browser, "admin-incident-opened", artifacts, findings).await;

    browser.wait_for("#malicious").await.click().await.unwrap();
    browser.wait_for("#regime-appi").await.click().await.unwrap();
    browser.click("#triage-submit", "#done").await;
    let triage = browser.wait_for("#triage").await.text().await.unwrap();
    assert!(triage.contains("不正の目的"), "the triage names its reason: {triage}");

    // The handler's view of the day is the impact: one subscriber, by ledger index only.
    browser.open(&server.url(&format!("/admin/incidents/{id}/impact")), "#impact-form").await;
    browser.choose("#principal", &server.handler.id).await;
    let midnight = tokutei_policy::tokyo::start_of(tokutei_policy::tokyo::today().0);
    set_value(browser, "#since", &local_input(midnight)).await;
    set_value(browser, "#until", &local_input(now + jiff::SignedDuration::from_hours(1))).await;
    browser.click("#impact-submit", "#done").await;
    let affected = browser.wait_for("strong.affected").await.text().await.unwrap();
    assert_eq!(affected.trim(), "1", "the handler viewed one subscriber");
    let text = browser.wait_for("main").await.text().await.unwrap();
    assert!(!text.contains(SUBSCRIBER), "no subscriber id on the impact page");
    quality::check_page(browser, "admin-incident-impact-computed", artifacts, findings).await;

    browser.open(&server.url(&format!("/admin/incidents/{id}/reports/tokutei/first")), "#report").await;
    browser.fill("#reference", "関東-2026-001").await;
    browser.click("#submit-report", "#submission-record").await;
    let record = browser.wait_for("#submission-record").await.text().await.unwrap();
    assert!(record.contains("関東-2026-001"), "the submission is recorded: {record}");
    quality::check_page(browser, "admin-incident-report-submitted", artifacts, findings).await;

    browser.open(&server.url(&format!("/admin/incidents/{id}/publish")), "#publish-form").await;
    browser.click("#publish-submit", "#done").await;
    let state = browser.wait_for("#publication-state").await.text().await.unwrap();
    assert!(state.contains("公表中"), "published: {state}");

    for (name, page) in [("public-leaks-listed", "/leaks"), ("public-policy-listed", "/")] {
        browser.open(&server.url(page), "main").await;
        let text = browser.wait_for("main").await.text().await.unwrap();
        assert!(text.contains(PUBLIC_TEXT), "`{page}` lists the published incident:\n{text}");
        quality::check_page(browser, name, artifacts, findings).await;
    }
    id
}

/// The demo policy with one more revision: a new version to publish.
fn revised_policy() -> String {
    let demo = include_str!("../../../tokutei-policy/policies/hoshizora-tsushin.toml");
    demo.replace(
        "name = { ja = \"天野 星子\", en = \"Hoshiko Amano\" }",
        "name = { ja = \"天野 星太郎\", en = \"Seitaro Amano\" }",
    )
}
