//! Serving the built widget: CSP with the hash of Trunk's inline loader,
//! pre-compressed assets, cache headers, frame-ancestors, and the page shown
//! when the widget is not built.

mod common;

use std::path::PathBuf;

use axum::{body::Body, http::Request};
use base64::Engine as _;
use common::*;
use sha2::{Digest, Sha256};

const LOADER: &str = "\nimport init, * as bindings from '/ccc-toolbar-0123456789abcdef.js';\n\
const wasm = await init({ module_or_path: '/ccc-toolbar-0123456789abcdef_bg.wasm' });\n\
window.wasmBindings = bindings;\n";

fn dist() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ccc-proxy-dist-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let index = format!(
        "<!doctype html><html><head>\
         <link rel=\"modulepreload\" href=\"/ccc-toolbar-0123456789abcdef.js\">\
         <script type=\"module\">{LOADER}</script></head><body></body></html>"
    );
    std::fs::write(dir.join("index.html"), index).unwrap();
    let js = "export default function init() {}";
    std::fs::write(dir.join("ccc-toolbar-0123456789abcdef.js"), js).unwrap();
    std::fs::write(dir.join("ccc-toolbar-0123456789abcdef.js.br"), b"BROTLI").unwrap();
    std::fs::write(dir.join("ccc-toolbar-0123456789abcdef.js.gz"), b"GZIP").unwrap();
    std::fs::write(dir.join("favicon.svg"), "<svg/>").unwrap();
    dir
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_007,
    )
    .unwrap()
}

fn plain(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn index_has_a_csp_naming_its_inline_loader() {
    let dir = dist();
    let sim = sim().await;
    let cfg = config(
        &sim.endpoint(),
        &[
            "--static-dir",
            dir.to_str().unwrap(),
            "--frame-ancestors",
            "'self' https://crm.example.com",
        ],
    );
    let (app, _) = router_from(cfg, [127, 0, 0, 1]);
    let (s, h, b) = send(&app, plain("/")).await;
    assert_eq!(s, 200);
    assert!(b.as_str().unwrap().contains("import init"));
    assert_eq!(h["cache-control"], "no-cache");
    // The wasm's download starts with the headers.
    assert_eq!(
        h["link"],
        "</ccc-toolbar-0123456789abcdef_bg.wasm>; rel=preload; as=fetch; crossorigin"
    );
    let csp = h["content-security-policy"].to_str().unwrap();
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(LOADER.as_bytes()));
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(csp.contains("default-src 'self'"));
    assert!(csp.contains("connect-src 'self'"));
    assert!(
        csp.contains("frame-ancestors 'self' https://crm.example.com"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn assets_are_precompressed_and_cached_by_hash() {
    let dir = dist();
    let sim = sim().await;
    let cfg = config(&sim.endpoint(), &["--static-dir", dir.to_str().unwrap()]);
    let (app, _) = router_from(cfg, [127, 0, 0, 1]);
    let path = "/ccc-toolbar-0123456789abcdef.js";

    let br = Request::get(path)
        .header("accept-encoding", "gzip, br")
        .body(Body::empty())
        .unwrap();
    let (s, h, b) = send(&app, br).await;
    assert_eq!(s, 200);
    assert_eq!(h["content-encoding"], "br");
    assert_eq!(h["vary"], "accept-encoding");
    assert_eq!(b.as_str(), Some("BROTLI"));
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    assert!(h["content-type"].to_str().unwrap().contains("javascript"));

    let gz = Request::get(path)
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let (_, h, b) = send(&app, gz).await;
    assert_eq!(h["content-encoding"], "gzip");
    assert_eq!(b.as_str(), Some("GZIP"));

    let (_, h, b) = send(&app, plain(path)).await;
    assert!(!h.contains_key("content-encoding"));
    assert_eq!(b.as_str(), Some("export default function init() {}"));

    let (s, h, _) = send(&app, plain("/favicon.svg")).await;
    assert_eq!(s, 200);
    assert_eq!(h["cache-control"], "no-cache");

    let (s, _, _) = send(&app, plain("/missing-file.js")).await;
    assert_eq!(s, 404);
    let (s, _, _) = send(&app, plain("/../Cargo.toml")).await;
    assert!(s == 404 || s == 400, "{s}");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_missing_widget_gives_a_helpful_page() {
    let (_sim, app, _) = setup(&[]).await;
    let (s, h, b) = send(&app, plain("/")).await;
    assert_eq!(s, 503);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = b.as_str().unwrap();
    assert!(page.contains("make run"), "{page}");
    assert!(page.contains("/nonexistent-ccc-dist/index.html"), "{page}");
}

/// The page served to an authenticated agent carries their first session and
/// snapshot (escaped, never stored, never the softphone block); an anonymous
/// request or an untrusted peer gets the plain page.
#[tokio::test]
async fn the_agents_page_inlines_the_first_state_and_nobody_elses_does() {
    let dir = dist();
    let sim = sim().await;
    let cfg = config(
        &sim.endpoint(),
        &[
            "--static-dir",
            dir.to_str().unwrap(),
            "--break-codes",
            "lunch=</script><script>alert(1)</script>&,meeting",
        ],
    );
    let (app, _) = router_from(cfg, [127, 0, 0, 1]);
    let (s, h, b) = send(&app, get("/", AGENT)).await;
    assert_eq!(s, 200);
    assert_eq!(h["cache-control"], "no-store");
    let html = b.as_str().unwrap();
    let open = r#"<script type="application/json" id="ccc-bootstrap">"#;
    let start = html.find(open).expect("the bootstrap element") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    let json = &html[start..end];
    assert!(
        !json.contains('<') && !json.contains('>') && !json.contains('&'),
        "escaped: {json}"
    );
    let boot: ccc_model::api::Bootstrap = serde_json::from_str(json).unwrap();
    assert_eq!(boot.session.user_id, AGENT);
    assert_eq!(
        boot.session.break_reasons[0].en.as_deref(),
        Some("</script><script>alert(1)</script>&")
    );
    assert!(boot.session.softphone.is_none());
    assert!(!json.contains("softphone"));
    assert_eq!(boot.snapshot.agent.state, ccc_model::UserState::Offline);
    // The CSP is the plain page's: the data block is not a script to allow.
    let (_, plain_h, plain_b) = send(&app, plain("/")).await;
    assert_eq!(
        h["content-security-policy"],
        plain_h["content-security-policy"]
    );
    assert_eq!(plain_h["cache-control"], "no-cache");
    assert!(!plain_b.as_str().unwrap().contains("ccc-bootstrap"));
    // A header from an untrusted peer is not an identity: no first state.
    let cfg = config(&sim.endpoint(), &["--static-dir", dir.to_str().unwrap()]);
    let (untrusted, _) = router_from(cfg, [10, 9, 8, 7]);
    let (s, h, b) = send(&untrusted, get("/", AGENT)).await;
    assert_eq!(s, 200);
    assert_eq!(h["cache-control"], "no-cache");
    assert!(!b.as_str().unwrap().contains("ccc-bootstrap"));
}
