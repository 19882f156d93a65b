//! A small WebDriver client for Debian's chromium-driver, and the axe-core accessibility check.
//! One chromedriver serves the whole test run; each test opens its own browser session.

use serde_json::{Value, json};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// WCAG 2.2 A and AA, the level UK public sector bodies must meet.
const AXE_TAGS: &[&str] = &["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

static DRIVER: OnceLock<String> = OnceLock::new();

fn driver_url() -> &'static str {
    DRIVER.get_or_init(|| {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
            "browser tests need Debian's chromium and chromium-driver: apt-get install chromium chromium-driver"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: prctl only; the driver ends with the test run.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        // The death signal follows the spawning thread, so spawn from one that outlives the run.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut child = cmd.spawn().expect("chromedriver starts");
            tx.send(()).unwrap();
            let _ = child.wait();
        });
        rx.recv().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        url
    })
}

pub struct Browser {
    http: reqwest::Client,
    session: String,
}

impl Browser {
    /// A new headless Chromium with a fresh profile.
    pub async fn start() -> Browser {
        let http = reqwest::Client::new();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run", "--window-size=1280,900",
                         // As on a phone, scrollbars take no room from the page.
                         "--hide-scrollbars"]
            }
        }}});
        let resp: Value = http
            .post(format!("{}/session", driver_url()))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .unwrap();
        let session = resp["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {resp}"))
            .to_string();
        let browser = Browser { http, session };
        browser
            .command("timeouts", json!({"script": 60000, "pageLoad": 30000}))
            .await;
        browser
    }

    async fn command(&self, path: &str, body: Value) -> Value {
        let resp: Value = self
            .http
            .post(format!("{}/session/{}/{path}", driver_url(), self.session))
            .json(&body)
            .send()
            .await
            .expect("webdriver command")
            .json()
            .await
            .unwrap();
        if let Some(err) = resp["value"].get("error") {
            panic!(
                "webdriver {path} failed: {err} {}",
                resp["value"]["message"]
            );
        }
        resp["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.command("url", json!({ "url": url })).await;
    }

    pub async fn set_size(&self, width: u32, height: u32) {
        self.command("window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// Cuts the browser's network (as lost Wi-Fi does) or gives it back.
    pub async fn set_offline(&self, offline: bool) {
        self.command(
            "chromium/network_conditions",
            json!({"network_conditions": {
                "offline": offline, "latency": 0,
                "download_throughput": -1, "upload_throughput": -1
            }}),
        )
        .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.command("execute/sync", json!({"script": script, "args": args}))
            .await
    }

    /// Runs an asynchronous script: it calls `arguments[arguments.length - 1]` with its result.
    pub async fn eval_async(&self, script: &str, args: Value) -> Value {
        self.command("execute/async", json!({"script": script, "args": args}))
            .await
    }

    /// Fills fields (CSS selector, value) and submits the form `form`, as a person pressing its
    /// button would; returns once the next page has loaded.
    pub async fn submit(&self, form: &str, fields: &[(&str, &str)]) {
        self.eval(
            "window.__aqm_before_submit = true;
             for (const [sel, value] of arguments[1]) {
               const el = document.querySelector(sel);
               if (el.type === 'radio' || el.type === 'checkbox') { el.checked = true; } else { el.value = value; }
             }
             // As a person submits: submit listeners and the browser's own checks run.
             document.querySelector(arguments[0]).requestSubmit();",
            json!([form, fields]),
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let loaded = self
                .eval(
                    "return window.__aqm_before_submit === undefined && document.readyState === 'complete';",
                    json!([]),
                )
                .await;
            if loaded == json!(true) {
                return;
            }
            assert!(Instant::now() < deadline, "no page after submitting {form}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types into the element `css` as a person would (key events, so `input` fires).
    pub async fn type_into(&self, css: &str, text: &str) {
        let found = self
            .command("element", json!({"using": "css selector", "value": css}))
            .await;
        let id = found["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string();
        self.command(&format!("element/{id}/value"), json!({"text": text}))
            .await;
    }

    /// Waits until `script` returns true (up to 20 s).
    pub async fn wait_for(&self, script: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.eval(script, json!([])).await != json!(true) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Signs in through the real sign-in form (signing out first whoever was signed in).
    pub async fn sign_in(&self, base: &str, user: &crate::helpers::TestUser) {
        self.goto(&format!("{base}/home")).await;
        let signed_in = self
            .eval(
                "return document.querySelector(\"form[action='/sign-out']\") !== null;",
                json!([]),
            )
            .await;
        if signed_in == json!(true) {
            self.submit("form[action='/sign-out']", &[]).await;
        }
        self.goto(&format!("{base}/sign-in")).await;
        self.submit(
            "form[action='/sign-in']",
            &[("#email", &user.email), ("#password", &user.password)],
        )
        .await;
    }

    /// The current page printed to PDF on A4 paper, as the browser's print command would with
    /// the page size left to the page's own print stylesheet (WebDriver's "Print Page").
    pub async fn print_a4(&self) -> Vec<u8> {
        use base64::Engine;
        let pdf = self
            .command(
                "print",
                json!({"page": {"width": 21.0, "height": 29.7}, "shrinkToFit": true}),
            )
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(pdf.as_str().expect("print answers base64"))
            .expect("print answers base64")
    }

    pub async fn text(&self) -> String {
        self.eval("return document.body.innerText;", json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The WCAG 2.2 A/AA violations axe-core finds on the current page, one line each.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let axe = include_str!("../browser/axe.min.js");
        self.eval(&format!("{axe}\nreturn true;"), json!([])).await;
        let result = self
            .eval_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})
                    .then(r => done(r.violations.map(v =>
                        v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
                        v.nodes.map(n => n.target.join(' ')).join(', '))))
                    .catch(e => done(['axe failed: ' + e]));",
                json!([AXE_TAGS]),
            )
            .await;
        result
            .as_array()
            .expect("axe returns a list")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    }

    pub async fn quit(self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", driver_url(), self.session))
            .send()
            .await;
    }
}
