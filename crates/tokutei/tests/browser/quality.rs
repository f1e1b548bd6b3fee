//! The quality bars every main page must meet (issue #6 §5), checked in the browser and over
//! plain HTTP: no console errors and no failed requests, `lang` on `html`, a label on every
//! field, no horizontal scrolling at 375 CSS pixels, the security headers — plus the
//! keyboard walk of the sign-in form and a full-page screenshot of each page.
//! Problems are collected across pages and reported together.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::chrome::Browser;
use crate::http;

/// The width of a small phone.
const PHONE: u32 = 375;

/// Every problem found, as "page: what".
#[derive(Default)]
pub struct Findings {
    pub problems: Vec<String>,
    pub screenshots: Vec<PathBuf>,
}

impl Findings {
    fn add(&mut self, page: &str, problem: impl Into<String>) {
        self.problems.push(format!("{page}: {}", problem.into()));
    }

    /// Fail listing every problem and every HTML error together.
    #[track_caller]
    pub fn assert_none(&self, html_errors: &[String]) {
        let list = |items: &[String]| if items.is_empty() { "none".to_string() } else { items.join("\n  ") };
        assert!(
            self.problems.is_empty() && html_errors.is_empty(),
            "page quality problems:\n  {}\nthe Nu HTML Checker's errors:\n  {}",
            list(&self.problems),
            list(html_errors)
        );
    }
}

/// Fields (other than hidden ones and buttons) with no label a screen reader would announce.
const UNLABELLED: &str = r#"
return Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(e => !['hidden', 'submit', 'button', 'reset', 'image'].includes(e.type))
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !e.getAttribute('aria-labelledby') && !e.title)
  .map(e => e.outerHTML.slice(0, 160));
"#;

/// Check the page the browser is on: logs since the last check, `lang`, labels, a screenshot
/// at desktop width, then the page at phone width (no horizontal scrolling, a screenshot).
pub async fn check_page(browser: &Browser, name: &str, artifacts: &Path, findings: &mut Findings) {
    let log = browser.take_log().await;
    for e in log.console_errors {
        findings.add(name, format!("console error: {e}"));
    }
    for r in log.failed_requests {
        findings.add(name, format!("failed request: {r}"));
    }
    let lang = browser.js("return document.documentElement.lang;", vec![]).await;
    if lang.as_str().unwrap_or_default().is_empty() {
        findings.add(name, "`html` has no `lang`");
    }
    if let Value::Array(fields) = browser.js(UNLABELLED, vec![]).await {
        for field in fields {
            findings.add(name, format!("field without a label: {}", field.as_str().unwrap_or_default()));
        }
    }
    let file = artifacts.join(format!("{name}.png"));
    browser.screenshot(&file).await;
    findings.screenshots.push(file);

    browser.emulate_width(Some(PHONE)).await;
    let widths = browser.js("return [document.documentElement.scrollWidth, window.innerWidth];", vec![]).await;
    let (scroll, inner) = (widths[0].as_u64().unwrap_or(0), widths[1].as_u64().unwrap_or(0));
    // A phone lays out a page wider than its screen by widening the viewport (and zooming
    // out): either way the page does not fit.
    if scroll > inner || inner > u64::from(PHONE) {
        findings.add(name, format!("does not fit {PHONE} px: it lays out {} px wide", scroll.max(inner)));
    }
    let file = artifacts.join(format!("{name}-{PHONE}.png"));
    browser.screenshot(&file).await;
    findings.screenshots.push(file);
    browser.emulate_width(None).await;
}

/// The security headers every response carries.
pub fn check_headers(name: &str, response: &http::Response, findings: &mut Findings) {
    match response.header("content-security-policy") {
        None => findings.add(name, "no Content-Security-Policy"),
        Some(csp) => {
            if csp.contains("unsafe-inline") || csp.contains("unsafe-eval") {
                findings.add(name, format!("the CSP allows inline code: {csp}"));
            }
            if !csp.contains("frame-ancestors 'none'") && !csp.contains("frame-ancestors 'self'") {
                findings.add(name, format!("the CSP does not restrict framing (frame-ancestors): {csp}"));
            }
        }
    }
    if response.header("x-content-type-options") != Some("nosniff") {
        findings.add(name, "X-Content-Type-Options is not `nosniff`");
    }
    if response.header("referrer-policy").is_none() {
        findings.add(name, "no Referrer-Policy");
    }
}

/// What has the keyboard focus: its id (or tag) and whether a focus indicator is drawn.
const FOCUSED: &str = r#"
const e = document.activeElement;
const s = getComputedStyle(e);
const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
const ring = s.boxShadow && s.boxShadow !== 'none';
const submit = e.type === 'submit' && e.form && e.form.getAttribute('action') === '/admin/login';
return [submit ? 'submit' : (e.id || e.tagName.toLowerCase()), outline || ring];
"#;

/// From the top of the sign-in page, Tab must reach the id, password and code fields and the
/// sign-in button in that order, each stop with a visible focus indicator.
pub async fn check_sign_in_keyboard(browser: &Browser, findings: &mut Findings) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    const TAB: char = '\u{e004}';
    let expected = ["id", "password", "totp", "submit"];
    let mut reached = Vec::new();
    for _ in 0..12 {
        let tab =
            KeyActions::new("keyboard".into()).then(KeyAction::Down { value: TAB }).then(KeyAction::Up { value: TAB });
        browser.client.perform_actions(tab).await.unwrap();
        let focused = browser.js(FOCUSED, vec![]).await;
        let (id, visible) = (focused[0].as_str().unwrap_or_default().to_string(), focused[1] == Value::Bool(true));
        if !visible {
            findings.add("admin-login", format!("focus on `{id}` is not visible (no outline)"));
        }
        let done = id == "submit";
        reached.push(id);
        if done {
            break;
        }
    }
    let order: Vec<&str> = reached.iter().map(String::as_str).filter(|id| expected.contains(id)).collect();
    if order != expected {
        findings.add("admin-login", format!("Tab from the top reached {reached:?}, not {expected:?} in order"));
    }
}
