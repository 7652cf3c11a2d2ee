//! The softphone behind `--auth jwt` (issue 20): a CRM page mounts the
//! widget with a `token` function (a bearer JWT, as a CRM backend would
//! issue), which a browser cannot put on a WebSocket. The widget asks
//! `POST /api/v1/sip/ticket` (with the bearer) for a single-use ticket and
//! opens the relay with `?ticket=`; it registers with the simulator.
//!
//! The page is a copy of `dist/` plus a small host page written here (the
//! proxy's CSP allows no inline script, so the host script is a file).

use std::{
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use ccc_e2e::{
    browser::BrowserOptions, softphone::AGENT, workspace_root, Browser, Stack, StackOptions,
};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

const SECRET: &str = "e2e-softphone-jwt-secret-0123456789";

const HOST_HTML: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>JWT host</title></head>
<body><div id="host"></div><script type="module" src="/jwt-host.js"></script></body></html>
"#;

/// Mounts the toolbar with the bearer token the test put in `window.__jwt`.
const HOST_JS: &str = r#"
const toolbar = await import("/ccc-toolbar.js");
// Kept: a dropped handle unmounts the toolbar when it is collected.
window.cccToolbar = toolbar.mount(document.getElementById("host"), {
  basePath: "",
  token: () => window.__jwt,
});
"#;

/// Records the URLs of the WebSockets the page opens.
const SOCKET_SPY: &str = r#"
window.__socketUrls = [];
const W = window.WebSocket;
window.WebSocket = function (...a) { window.__socketUrls.push(String(a[0])); return new W(...a); };
window.WebSocket.prototype = W.prototype;
Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
"#;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).expect("dist/ exists: build the widget first") {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `dist/` with the host page.
fn site() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ccc-e2e-jwt-site-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&workspace_root().join("dist"), &dir);
    // At the root: the proxy serves /examples/ only in demo mode.
    std::fs::write(dir.join("jwt-host.html"), HOST_HTML).unwrap();
    std::fs::write(dir.join("jwt-host.js"), HOST_JS).unwrap();
    dir
}

fn token(sub: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": sub, "exp": exp}),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwt_agent_registers_through_a_ticket() {
    let site = site();
    let stack = Stack::start(StackOptions {
        auth: "jwt",
        proxy_flags: vec!["--jwt-hs256-secret".into(), SECRET.into()],
        static_dir: Some(site.clone()),
        softphone: true,
        ..StackOptions::default()
    })
    .await;
    let b = Browser::start(BrowserOptions::default()).await;
    let setup = format!("window.__jwt = {};\n{SOCKET_SPY}", json!(token(AGENT)));
    b.cdp(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": setup }),
    )
    .await;
    b.goto(&stack.url("/jwt-host.html")).await;
    b.wait_attr("ccc-toolbar", "data-connection", "connected")
        .await;
    b.choose("sign-in").await;
    b.wait_state("BREAK").await;
    b.choose("ready").await;
    b.wait_state("READY").await;
    b.wait_attr("softphone-status", "data-registration", "registered")
        .await;

    // The socket was opened with a ticket (the relay refuses a browser
    // WebSocket without one in jwt mode: tests/sip_ticket.rs in the proxy).
    let urls = b.js("return window.__socketUrls").await;
    let urls: Vec<String> = serde_json::from_value(urls).unwrap();
    assert!(!urls.is_empty(), "a relay socket was opened");
    assert!(
        urls.iter()
            .all(|u| u.contains("/api/v1/sip?") && u.contains("&ticket=")),
        "{urls:?}"
    );
    let http = reqwest::Client::new();
    let metrics = ccc_testkit::metrics_text(&http, &stack.base).await;
    assert!(
        ccc_testkit::metric_sum(&metrics, "ccc_proxy_sip_registrations_total") >= 1.0,
        "{metrics}"
    );

    b.close().await;
    stack.stop().await;
    let _ = std::fs::remove_dir_all(site);
}
