//! Headless Debian Chromium through chromedriver (WebDriver), with a fresh
//! profile per browser, closed networking flags, and helpers that find
//! elements by `data-testid`.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use fantoccini::{
    elements::Element,
    wd::{WebDriverCompatibleCommand, WindowHandle},
    Client, ClientBuilder, Locator,
};
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::process::{Child, Command};

use crate::{eventually, free_port};

/// How long UI conditions may take before a test fails.
pub const UI_DEADLINE: Duration = Duration::from_secs(15);

/// A Chrome DevTools Protocol command, through chromedriver.
#[derive(Debug)]
struct Cdp(&'static str, serde_json::Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/goog/cdp/execute"))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.0, "params": self.1 }).to_string();
        (http::Method::POST, Some(body))
    }
}

/// One browser (its own chromedriver, profile and session).
#[derive(Debug)]
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

/// Options for [`Browser::start`].
#[derive(Debug, Clone, Default)]
pub struct BrowserOptions {
    /// Report `prefers-color-scheme: dark`.
    pub dark: bool,
    /// Browser UI language, e.g. `zh-CN`.
    pub lang: Option<String>,
    /// More Chromium flags (e.g. the fake media flags of the softphone tests).
    pub extra_args: Vec<String>,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a session.
    pub async fn start(opts: BrowserOptions) -> Browser {
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromedriver}: {e} (run `make setup`)"));
        let profile =
            std::env::temp_dir().join(format!("ccc-e2e-profile-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();

        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        if opts.dark {
            args.push("--force-dark-mode".into());
            args.push("--blink-settings=preferredColorScheme=0".into());
        }
        if let Some(lang) = &opts.lang {
            args.push(format!("--lang={lang}"));
        }
        args.extend(opts.extra_args.iter().cloned());
        let mut caps = serde_json::Map::new();
        let mut chrome = serde_json::json!({ "args": args });
        if let Some(lang) = &opts.lang {
            chrome["prefs"] = serde_json::json!({ "intl.accept_languages": lang });
        }
        caps.insert("goog:chromeOptions".into(), chrome);

        let url = format!("http://127.0.0.1:{port}");
        let client = eventually("chromedriver to accept a session", UI_DEADLINE, || {
            let caps = caps.clone();
            let url = url.clone();
            async move {
                ClientBuilder::new(HttpConnector::new())
                    .capabilities(caps)
                    .connect(&url)
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .await;
        Browser {
            client,
            driver,
            profile,
        }
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The element with `data-testid=id` as the page is now.
    pub async fn find(&self, id: &str) -> Result<Element, String> {
        self.client
            .find(Locator::Css(&format!("[data-testid=\"{id}\"]")))
            .await
            .map_err(|e| e.to_string())
    }

    /// The element with `data-testid=id`, waiting for it to appear.
    pub async fn testid(&self, id: &str) -> Element {
        eventually(&format!("element {id}"), UI_DEADLINE, || self.find(id)).await
    }

    /// Opens the demo sign-in page of `stack`, signs in as `agent` and waits
    /// until the toolbar shows the agent's state from the proxy.
    pub async fn sign_in(&self, stack: &crate::Stack, agent: &str) {
        self.goto(&stack.url("/")).await;
        self.click(&format!("signin-{agent}")).await;
        self.wait_attr("ccc-toolbar", "data-connection", "connected")
            .await;
    }

    /// Clicks the element with `data-testid=id` once it is enabled.
    pub async fn click(&self, id: &str) {
        let el = self.testid(id).await;
        eventually(&format!("{id} to be enabled"), UI_DEADLINE, || {
            let el = el.clone();
            async move {
                let disabled = el.attr("disabled").await.map_err(|e| e.to_string())?;
                let aria = el.attr("aria-disabled").await.map_err(|e| e.to_string())?;
                if disabled.is_some() || aria.as_deref() == Some("true") {
                    Err(format!(
                        "{id} disabled (title: {:?})",
                        el.attr("title").await.ok()
                    ))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        el.click()
            .await
            .unwrap_or_else(|e| panic!("click {id}: {e}"));
    }

    /// Picks the status menu entry `data-testid=id` (`sign-in`, `ready`,
    /// `outbound-only`, `sign-out`, or the `break-option` with `code`):
    /// opens the menu when it is closed, then clicks the entry once enabled.
    pub async fn choose(&self, id: &str) {
        let menu = self.testid("status-menu").await;
        if menu.attr("hidden").await.unwrap().is_some() {
            self.click("status-menu-button").await;
        }
        self.click(id).await;
    }

    /// Picks the break reason `code` from the status menu; answers its label.
    pub async fn choose_break(&self, code: &str) -> String {
        let menu = self.testid("status-menu").await;
        if menu.attr("hidden").await.unwrap().is_some() {
            self.click("status-menu-button").await;
        }
        let css = format!("[data-testid=\"break-option\"][data-code=\"{code}\"]");
        let option = eventually(&format!("break option {code}"), UI_DEADLINE, || async {
            self.client
                .find(Locator::Css(&css))
                .await
                .map_err(|e| e.to_string())
        })
        .await;
        let label = option.text().await.unwrap_or_default();
        option
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
        label.trim().to_owned()
    }

    /// Opens the settings drawer (work mode, language, reset) if closed.
    pub async fn open_settings(&self) {
        let drawer = self.testid("settings").await;
        if drawer.attr("hidden").await.unwrap().is_some() {
            self.click("settings-button").await;
        }
        self.wait_visible("settings").await;
    }

    /// Waits until `data-testid=id` is displayed.
    pub async fn wait_visible(&self, id: &str) {
        eventually(&format!("{id} visible"), UI_DEADLINE, || async move {
            let el = self.find(id).await?;
            if el.is_displayed().await.map_err(|e| e.to_string())? {
                Ok(())
            } else {
                Err("hidden".to_owned())
            }
        })
        .await
    }

    /// Waits until the attribute `attr` of `data-testid=id` equals `want`.
    pub async fn wait_attr(&self, id: &str, attr: &str, want: &str) {
        eventually(
            &format!("{id}[{attr}={want}]"),
            UI_DEADLINE,
            || async move {
                let el = self.find(id).await?;
                let got = el.attr(attr).await.map_err(|e| e.to_string())?;
                if got.as_deref() == Some(want) {
                    Ok(())
                } else {
                    Err(format!("{attr}={got:?}"))
                }
            },
        )
        .await
    }

    /// Waits until the text of `data-testid=id` contains `want`.
    pub async fn wait_text(&self, id: &str, want: &str) -> String {
        eventually(
            &format!("{id} to contain {want:?}"),
            UI_DEADLINE,
            || async move {
                let el = self.find(id).await?;
                let text = el.text().await.map_err(|e| e.to_string())?;
                if text.contains(want) {
                    Ok(text)
                } else {
                    Err(format!("text {text:?}"))
                }
            },
        )
        .await
    }

    /// Waits for the toolbar root's `data-state`.
    pub async fn wait_state(&self, state: &str) {
        self.wait_attr("ccc-toolbar", "data-state", state).await;
    }

    /// Saves a PNG screenshot of the page.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// Runs JavaScript in the page and returns its result.
    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Opens `url` in a new tab of this browser (same profile) and switches
    /// to it.
    pub async fn open_tab(&self, url: &str) -> WindowHandle {
        let tab = self.client.new_window(true).await.expect("new tab").handle;
        self.client
            .switch_to_window(tab.clone())
            .await
            .expect("switch to the new tab");
        self.goto(url).await;
        tab
    }

    /// Requests of the current page to a URL whose path is `path` (e.g.
    /// `/api/v1/agent`, not its commands; a `path` ending in `/` matches
    /// every path under it) that completed between the epoch-ms instants
    /// `from` and `to`, and the bytes they brought (Resource Timing
    /// `transferSize`: headers and body).
    pub async fn requests_to(&self, path: &str, from: f64, to: f64) -> (u64, u64) {
        let script = format!(
            "const path = {path:?};\
             return performance.getEntriesByType('resource')\
               .filter(e => {{ const p = new URL(e.name).pathname;\
                 const end = performance.timeOrigin + e.responseEnd;\
                 return (p === path || (path.endsWith('/') && p.startsWith(path)))\
                   && end >= {from} && end <= {to}; }})\
               .reduce((a, e) => [a[0] + 1, a[1] + e.transferSize], [0, 0]);"
        );
        match self.js(&script).await {
            serde_json::Value::Array(v) if v.len() == 2 => (
                v[0].as_u64().unwrap_or(0),
                v[1].as_f64().unwrap_or(0.0) as u64,
            ),
            other => panic!("resource timing: {other}"),
        }
    }

    /// Runs a Chrome DevTools Protocol command on the current tab.
    pub async fn cdp(&self, cmd: &'static str, params: serde_json::Value) {
        self.client
            .issue_cmd(Cdp(cmd, params))
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"));
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}

impl Drop for Browser {
    /// A test that fails never reaches [`Browser::close`]: chromedriver dies
    /// with its handle (`kill_on_drop`), but the Chromium it started would
    /// live on, so every process of this browser's own profile is killed.
    fn drop(&mut self) {
        let _ = std::process::Command::new("pkill")
            .arg("-KILL")
            .arg("-f")
            .arg("--")
            .arg(&self.profile)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
