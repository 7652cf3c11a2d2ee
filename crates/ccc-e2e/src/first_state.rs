//! `make bench`: time to first state. Navigation start → the toolbar root
//! shows the server's state (`data-state` set), over cold loads (HTTP cache,
//! and with it the compiled wasm, cleared before each) in headless Chromium,
//! against a plain page that fetches `/api/v1/agent` and writes the state
//! into the DOM (`bench/first-state.html`), loaded the same way.
//!
//! The moment is taken in the page: a `MutationObserver` installed before
//! any page script (CDP `Page.addScriptToEvaluateOnNewDocument`) records
//! `performance.now()` (ms since navigation start) when the first
//! `[data-testid=ccc-toolbar][data-state]` appears.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use serde_json::{json, Value};

use crate::{browser::BrowserOptions, eventually, Browser, Stack, StackOptions};

const OBSERVER: &str = r#"
new MutationObserver((_, obs) => {
  if (document.querySelector('[data-testid="ccc-toolbar"][data-state]')) {
    window.__cccFirstState = performance.now();
    obs.disconnect();
  }
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"] });
"#;

/// Milliseconds from navigation start to the first state shown, one cold load.
async fn cold_load(browser: &Browser, url: &str) -> f64 {
    browser.cdp("Network.clearBrowserCache", json!({})).await;
    browser.goto(url).await;
    eventually("the first state", Duration::from_secs(30), || async move {
        match browser.js("return window.__cccFirstState ?? null").await {
            Value::Number(n) => n.as_f64().ok_or_else(|| "not a number".to_owned()),
            other => Err(other.to_string()),
        }
    })
    .await
}

/// Timings (ms) of `loads` cold loads each of the widget and the plain page.
#[derive(Debug, Clone)]
pub struct FirstState {
    /// The standalone toolbar page (`/`).
    pub widget: Vec<f64>,
    /// The plain page.
    pub plain: Vec<f64>,
}

/// The median of `v`.
pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}

/// `dist/` plus the plain page, in a fresh directory.
fn static_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ccc-bench-static-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&crate::workspace_root().join("dist"), &dir);
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("bench"), &dir);
    dir
}

/// Measures `loads` cold loads of each page, alternating, in one browser
/// signed in as a demo agent.
pub async fn measure(loads: usize) -> FirstState {
    let dir = static_dir();
    let stack = Stack::start(StackOptions {
        static_dir: Some(dir.clone()),
        ..StackOptions::default()
    })
    .await;
    let browser = Browser::start(BrowserOptions::default()).await;
    browser.goto(&stack.url("/")).await;
    browser.click("signin-agent3@ccc-demo").await;
    browser
        .wait_attr("ccc-toolbar", "data-connection", "connected")
        .await;
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": OBSERVER }),
        )
        .await;
    let (widget_url, plain_url) = (stack.url("/"), stack.url("/first-state.html"));
    let mut out = FirstState {
        widget: Vec::with_capacity(loads),
        plain: Vec::with_capacity(loads),
    };
    // One warm-up of each (process start-up, DNS, first connection).
    cold_load(&browser, &widget_url).await;
    cold_load(&browser, &plain_url).await;
    for _ in 0..loads {
        out.widget.push(cold_load(&browser, &widget_url).await);
        out.plain.push(cold_load(&browser, &plain_url).await);
    }
    browser.close().await;
    stack.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    out
}
