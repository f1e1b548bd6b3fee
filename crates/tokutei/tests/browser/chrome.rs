//! Debian's headless Chromium driven through `chromedriver` with `fantoccini`: starting both,
//! waits with a deadline, the browser's console and network logs, full-page screenshots and
//! the Chrome DevTools commands chromedriver forwards (`goog/cdp/execute`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long any one wait in the suite may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Fail (never skip) when the browser is not installed.
pub fn require_tools() {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(tool).exists(),
            "`{tool}` is missing: the browser tests need Debian's chromium and chromium-driver; run `cargo xtask provision`"
        );
    }
}

/// A running `chromedriver` on a free local port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Driver {
    fn start() -> Driver {
        let port = free_port();
        let mut child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{CHROMEDRIVER}` ({e}); run `cargo xtask provision`"));
        // chromedriver says when it listens; reading that line is the wait.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines.next().expect("chromedriver exited before it listened").unwrap();
            if line.contains("started successfully") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Driver { child, url: format!("http://127.0.0.1:{port}") }
    }
}

/// One browser session for the whole suite.
pub struct Browser {
    pub client: Client,
    session: String,
    _driver: Driver,
    /// Every URL the pages requested so far (from the network log).
    requested: std::sync::Mutex<Vec<String>>,
}

/// A chromedriver endpoint under the session that fantoccini has no method for.
#[derive(Debug)]
struct SessionCommand {
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for SessionCommand {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/{}", session.unwrap_or_default(), self.path))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// What one page load showed in the browser's logs.
#[derive(Debug, Default)]
pub struct PageLog {
    /// Console messages at level SEVERE (script errors, CSP violations, failed loads).
    pub console_errors: Vec<String>,
    /// Requests that failed or answered with a status of 400 or more: "status url".
    pub failed_requests: Vec<String>,
}

impl Browser {
    pub async fn start(downloads: &Path) -> Browser {
        let driver = Driver::start();
        let profile = tempfile::tempdir().unwrap().keep();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--disable-quic", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
            "goog:loggingPrefs": { "browser": "ALL", "performance": "ALL" },
        });
        let serde_json::Value::Object(caps) = caps else { unreachable!() };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open a Chromium session ({e}); run `cargo xtask provision`"));
        let session = client.session_id().await.unwrap().expect("a session id");
        let browser = Browser { client, session, _driver: driver, requested: Default::default() };
        browser
            .cdp(
                "Browser.setDownloadBehavior",
                json!({ "behavior": "allow", "downloadPath": downloads.display().to_string() }),
            )
            .await;
        browser
    }

    /// A Chrome DevTools Protocol command; its result.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.command("goog/cdp/execute", json!({ "cmd": cmd, "params": params })).await
    }

    async fn command(&self, path: &'static str, body: Value) -> Value {
        let described = format!("{path} {body}");
        self.client
            .issue_cmd(SessionCommand { path, body })
            .await
            .unwrap_or_else(|e| panic!("chromedriver refused `{described}` in session {}: {e}", self.session))
    }

    /// Open `url` and wait until `css` is on the page.
    pub async fn open(&self, url: &str, css: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("cannot open `{url}`: {e}"));
        self.wait_for(css).await;
    }

    /// Wait until `css` matches an element, within the suite's deadline.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.wait().at_most(DEADLINE).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => {
                let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
                let source = self.client.source().await.unwrap_or_default();
                panic!("`{css}` did not appear on `{url}` ({e}); the page:\n{source}")
            }
        }
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap_or_else(|e| panic!("cannot type into `{css}`: {e}"));
    }

    pub async fn choose(&self, css: &str, value: &str) {
        let select = self.wait_for(css).await;
        select.select_by_value(value).await.unwrap_or_else(|e| panic!("cannot choose `{value}` in `{css}`: {e}"));
    }

    /// Click `css`, wait until the page it was on is gone, then until `then` is on the page
    /// that follows.
    pub async fn click(&self, css: &str, then: &str) {
        let page = self.client.find(Locator::Css("html")).await.unwrap();
        self.wait_for(css).await.click().await.unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            // Stale, or (mid-navigation) "does not belong to the document": gone either way.
            if page.tag_name().await.is_err() {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "clicking `{css}` did not leave the page");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.wait_for(then).await;
    }

    /// The path of the current page.
    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// Run `script` in the page (it may `return` a value).
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client.execute(script, args).await.unwrap_or_else(|e| panic!("script failed ({e}):\n{script}"))
    }

    /// Save the whole page, not only the viewport, as a PNG.
    pub async fn screenshot(&self, file: &Path) {
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let clip = json!({
            "x": 0, "y": 0, "scale": 1,
            "width": size["width"].as_f64().unwrap_or(1280.0),
            "height": size["height"].as_f64().unwrap_or(900.0),
        });
        let shot = self
            .cdp("Page.captureScreenshot", json!({ "format": "png", "captureBeyondViewport": true, "clip": clip }))
            .await;
        let data = shot["data"].as_str().expect("a screenshot");
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD.decode(data).unwrap();
        std::fs::write(file, png).unwrap_or_else(|e| panic!("cannot write `{}`: {e}", file.display()));
    }

    /// Render as a phone of `width` CSS pixels (viewport meta honoured), or back as a desktop.
    pub async fn emulate_width(&self, width: Option<u32>) {
        match width {
            Some(width) => {
                self.cdp(
                    "Emulation.setDeviceMetricsOverride",
                    json!({ "width": width, "height": 800, "deviceScaleFactor": 1, "mobile": true }),
                )
                .await
            }
            None => self.cdp("Emulation.clearDeviceMetricsOverride", json!({})).await,
        };
    }

    /// Everything logged since the last call (reading empties chromedriver's buffers).
    pub async fn take_log(&self) -> PageLog {
        let mut log = PageLog::default();
        for entry in entries(self.command("se/log", json!({ "type": "browser" })).await) {
            let message = entry["message"].as_str().unwrap_or_default();
            if entry["level"] == "SEVERE" {
                log.console_errors.push(message.to_string());
            }
        }
        let mut urls = std::collections::HashMap::new();
        for entry in entries(self.command("se/log", json!({ "type": "performance" })).await) {
            let Ok(message) = serde_json::from_str::<Value>(entry["message"].as_str().unwrap_or("{}")) else {
                continue;
            };
            let (method, params) = (&message["message"]["method"], &message["message"]["params"]);
            let id = params["requestId"].as_str().unwrap_or_default().to_string();
            match method.as_str().unwrap_or_default() {
                "Network.requestWillBeSent" => {
                    let url = params["request"]["url"].as_str().unwrap_or_default().to_string();
                    self.requested.lock().unwrap().push(url.clone());
                    urls.insert(id, url);
                }
                "Network.responseReceived" => {
                    let status = params["response"]["status"].as_u64().unwrap_or(0);
                    let url = params["response"]["url"].as_str().unwrap_or_default();
                    if status >= 400 {
                        log.failed_requests.push(format!("{status} {url}"));
                    }
                }
                // Only the page's own requests: Chromium's background ones (which fail in a
                // closed network) never announce themselves with `requestWillBeSent`.
                "Network.loadingFailed" => {
                    if let Some(url) = urls.get(&id) {
                        let error = params["errorText"].as_str().unwrap_or_default();
                        log.failed_requests.push(format!("{error} {url}"));
                    }
                }
                _ => {}
            }
        }
        log
    }

    /// The URLs requested so far that contain `value`, percent-decoded before comparing.
    pub async fn requested_with(&self, value: &str) -> Vec<String> {
        self.take_log().await;
        let decoded = |u: &str| -> String {
            url::form_urlencoded::parse(u.as_bytes()).map(|(k, v)| format!("{k}={v}")).collect()
        };
        let requested = self.requested.lock().unwrap();
        requested.iter().filter(|u| decoded(u).contains(value) || u.contains(value)).cloned().collect()
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

fn entries(value: Value) -> Vec<Value> {
    match value {
        Value::Array(list) => list,
        _ => Vec::new(),
    }
}

/// Wait until `dir` holds a finished file whose name starts with `prefix`; its path.
pub async fn downloaded(dir: &Path, prefix: &str) -> PathBuf {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let found = std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).find(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(prefix) && !name.ends_with(".crdownload")
        });
        if let Some(path) = found {
            return path;
        }
        assert!(tokio::time::Instant::now() < deadline, "no download `{prefix}*` in `{}`", dir.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
