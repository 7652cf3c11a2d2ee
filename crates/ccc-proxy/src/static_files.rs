//! Serving the built widget: `index.html` with a CSP that names its inline
//! scripts, hashed assets with a year-long immutable cache and brotli/gzip
//! siblings when the browser accepts them, and a helpful page (never a blank
//! one) when the widget has not been built.

use std::path::Path;

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Redirect, Response},
};
use tower_http::services::ServeDir;

use crate::{api, errors::AppError, extract::CurrentAgent, security, state::AppState};
use ccc_model::api::{Bootstrap, BOOTSTRAP_ELEMENT_ID};
use std::time::Duration;

/// The service serving files of `dir` (pre-compressed siblings preferred).
pub fn serve_dir(dir: &Path) -> ServeDir {
    ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
}

/// Longest wait for the inlined first state: a slow CCC must not hold the
/// page, which then fetches as it always did.
const BOOTSTRAP_WAIT: Duration = Duration::from_millis(1500);

/// `GET /` and `/index.html`: the widget's page (demo mode: sign-in first).
/// For an authenticated agent it carries their first session and snapshot
/// ([`bootstrap_script`]) and is never stored (`no-store`).
pub async fn index(
    State(state): State<AppState>,
    agent: Result<CurrentAgent, AppError>,
) -> Response {
    if state.demo_agents.is_some() && agent.is_err() {
        return Redirect::to("/signin").into_response();
    }
    let path = state.config.static_dir.join("index.html");
    match tokio::fs::read_to_string(&path).await {
        Ok(html) => {
            // The CSP names the page's own inline blocks; the data block
            // added below is never executed (application/json).
            let (scripts, styles) = security::inline_hashes(&html);
            let preload = preload_links(&html).and_then(|l| HeaderValue::from_str(&l).ok());
            let policy = security::csp(&state.config.frame_ancestors, &scripts, &styles);
            let bootstrap = match &agent {
                Ok(agent) => {
                    let first = api::bootstrap(&state, &agent.user_id);
                    match tokio::time::timeout(BOOTSTRAP_WAIT, first).await {
                        Ok(Ok(b)) => Some(b),
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "page served without its first state");
                            None
                        }
                        Err(_) => None,
                    }
                }
                Err(_) => None,
            };
            let html = match &bootstrap {
                Some(b) => with_bootstrap(&html, b),
                None => html,
            };
            let mut res = Html(html).into_response();
            let h = res.headers_mut();
            let cache = if bootstrap.is_some() {
                "no-store"
            } else {
                "no-cache"
            };
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            if let Some(v) = preload {
                h.insert(header::LINK, v);
            }
            if let Ok(v) = HeaderValue::from_str(&policy) {
                h.insert(header::CONTENT_SECURITY_POLICY, v);
            }
            res
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "widget not built");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CACHE_CONTROL, "no-store")],
                Html(not_built_page(&state.config.static_dir)),
            )
                .into_response()
        }
    }
}

/// The `Link` header of the widget's page: a preload of its wasm, so that
/// the browser starts fetching it when the response headers arrive rather
/// than when its parser reaches the page's own `<link rel=preload>` (on a
/// cold load the wasm's download and compilation are most of the time to
/// first state). It is requested exactly as the page's `fetch` of it
/// (`crossorigin`), so the browser uses the preloaded bytes instead of
/// fetching twice. Not the module or the stylesheets: the page asks for
/// those with `integrity`, which a `Link` preload cannot carry, so Chromium
/// would fetch them twice. `None` when the page is not a Trunk build.
pub fn preload_links(index_html: &str) -> Option<String> {
    let wasm = quoted_after(index_html, "module_or_path: '")?;
    let safe = !wasm.is_empty()
        && wasm
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
    safe.then(|| format!("<{wasm}>; rel=preload; as=fetch; crossorigin"))
}

/// `<script type="application/json" id="ccc-bootstrap">` with `b` as JSON,
/// `<`, `>` and `&` escaped so nothing in it can end the element or open a
/// comment.
pub fn bootstrap_script(b: &Bootstrap) -> String {
    let json = serde_json::to_string(b).unwrap_or_else(|_| "null".to_owned());
    let safe = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    format!("<script type=\"application/json\" id=\"{BOOTSTRAP_ELEMENT_ID}\">{safe}</script>")
}

/// `html` with [`bootstrap_script`] before `</head>` (or at the end).
fn with_bootstrap(html: &str, b: &Bootstrap) -> String {
    let script = bootstrap_script(b);
    match html.find("</head>") {
        Some(i) => [&html[..i], &script, &html[i..]].concat(),
        None => [html, &script].concat(),
    }
}

fn not_built_page(dir: &Path) -> String {
    let dir = html_escape(&dir.display().to_string());
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>CCC toolbar: widget not built</title></head><body>\
         <h1>The toolbar widget has not been built yet</h1>\
         <p>The proxy is running, but <code>{dir}/index.html</code> does not exist.</p>\
         <p>Build the widget and start everything with <code>make run</code>, \
         or build it alone with <code>trunk build --release</code> and restart \
         the proxy with <code>--static-dir dist</code>.</p>\
         <p>The API is available under <code>/api/v1/</code>; health at <code>/healthz</code>.</p>\
         </body></html>"
    )
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `GET /ccc-toolbar.js`: a stable module URL for host (CRM) pages.
///
/// Trunk hashes every file name, so host pages cannot hard-code them. This
/// module, generated from the current `index.html`, imports the hashed
/// module, initialises it (top-level await), adds the toolbar's stylesheet
/// once, and re-exports everything (`import { mount } from "/ccc-toolbar.js"`).
pub async fn loader(State(state): State<AppState>) -> Response {
    let path = state.config.static_dir.join("index.html");
    let source = match tokio::fs::read_to_string(&path).await {
        Ok(html) => loader_source(&html),
        Err(_) => None,
    };
    let (status, body) = match source {
        Some(js) => (StatusCode::OK, js),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "throw new Error(\"The CCC toolbar is not built: run `make run` (or scripts/build-widget.sh).\");\n"
                .to_owned(),
        ),
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The loader module for a Trunk-built `index.html`, or `None` when the page
/// does not reference a module and a wasm file.
pub fn loader_source(index_html: &str) -> Option<String> {
    let js = quoted_after(index_html, " from '")?;
    let wasm = quoted_after(index_html, "module_or_path: '")?;
    let css = stylesheet_href(index_html);
    let safe = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
    };
    if !safe(&js) || !safe(&wasm) || !css.as_deref().is_none_or(safe) {
        return None;
    }
    let mut out = String::from(
        "// CCC agent toolbar: stable entry point for host pages (generated by ccc-proxy).\n",
    );
    out.push_str(&format!(
        "import init from \"{js}\";\nexport * from \"{js}\";\n"
    ));
    if let Some(css) = css {
        out.push_str(&format!(
            "if (!document.querySelector(\"link[data-ccc-toolbar-css]\")) {{\n  const link = document.createElement(\"link\");\n  link.rel = \"stylesheet\";\n  link.href = \"{css}\";\n  link.dataset.cccToolbarCss = \"\";\n  document.head.append(link);\n}}\n"
        ));
    }
    out.push_str(&format!("await init({{ module_or_path: \"{wasm}\" }});\n"));
    Some(out)
}

/// The `href` of the page's first stylesheet `<link>`, written as Trunk
/// writes it (`<link rel="stylesheet" href="/x.css">`) or as its release
/// minifier does (`<link href=/x.css integrity=… rel=stylesheet>`).
fn stylesheet_href(html: &str) -> Option<String> {
    html.split("<link ").skip(1).find_map(|tag| {
        let tag = &tag[..tag.find('>')?];
        (attr(tag, "rel=")?.trim_end_matches('/') == "stylesheet")
            .then(|| attr(tag, "href=").map(str::to_owned))?
    })
}

/// The value of `name` (`"rel="`) in a tag's text, quoted or not.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let at = tag.find(name)? + name.len();
    let v = tag[at..].trim_start_matches(['"', '\'']);
    Some(&v[..v.find(['"', '\'', ' ']).unwrap_or(v.len())])
}

/// The text between `prefix` and the next `'`.
fn quoted_after(text: &str, prefix: &str) -> Option<String> {
    let start = text.find(prefix)? + prefix.len();
    let end = text[start..].find('\'')?;
    Some(text[start..start + end].to_owned())
}

/// True for Trunk's content-hashed names (`name-<12..16 hex>[_bg].ext`;
/// Trunk drops leading zeros, so the hash may be shorter than 16).
pub fn is_hashed(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(name, hash)| {
        !name.is_empty() && hash.len() >= 12 && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The example CRM page (`/examples/…`, copied into `dist/` by Trunk) is a
/// demo: served only in demo mode (`--demo`, or `--auth demo` against a
/// simulator), a plain 404 in production.
pub async fn examples_only_in_demo(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    if state.demo_agents.is_none() && is_examples_path(req.uri().path()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    next.run(req).await
}

/// True when `path` (percent-decoded, `.` and empty segments skipped, ASCII
/// case ignored) lies under `/examples`.
pub fn is_examples_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                decoded.push(u8::try_from(h * 16 + l).unwrap_or(0));
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded)
        .split(['/', '\\'])
        .find(|s| !s.is_empty() && *s != ".")
        .is_some_and(|first| first.eq_ignore_ascii_case("examples"))
}

/// Sets `Cache-Control` on static files: immutable for hashed names,
/// `no-cache` for everything else.
pub async fn cache_headers(req: Request, next: Next) -> Response {
    let hashed = is_hashed(req.uri().path());
    let mut res = next.run(req).await;
    if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
        let value = if hashed {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
        // The same URL may be answered br, gzip or plain.
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_paths_are_recognised_however_spelled() {
        for p in [
            "/examples/crm.html",
            "/examples/",
            "/%65xamples/crm.html",
            "//examples/crm.js",
            "/./Examples/crm.html",
        ] {
            assert!(is_examples_path(p), "{p}");
        }
        for p in ["/", "/index.html", "/examplesx/a", "/assets/examples/a"] {
            assert!(!is_examples_path(p), "{p}");
        }
    }

    const TRUNK_INDEX: &str = r#"<html><head>
<script type="module">
import init, * as bindings from '/ccc-toolbar-24b9adf618b42af7.js';
const wasm = await init({ module_or_path: '/ccc-toolbar-24b9adf618b42af7_bg.wasm' });
</script>
<link rel="stylesheet" href="/toolbar-7d87173ec68b77c.css" integrity="sha384-x"/>
</head><body></body></html>"#;

    #[test]
    fn loader_points_at_the_current_build() {
        let js = loader_source(TRUNK_INDEX).unwrap();
        assert!(js.contains("import init from \"/ccc-toolbar-24b9adf618b42af7.js\";"));
        assert!(js.contains("export * from \"/ccc-toolbar-24b9adf618b42af7.js\";"));
        assert!(js.contains(
            "await init({ module_or_path: \"/ccc-toolbar-24b9adf618b42af7_bg.wasm\" });"
        ));
        assert!(js.contains("link.href = \"/toolbar-7d87173ec68b77c.css\";"));
    }

    #[test]
    fn loader_finds_the_stylesheet_in_the_minified_release_page() {
        // What scripts/build-widget.sh leaves in dist/index.html.
        let minified = "<head><script type=module>import init, * as bindings from '/ccc-toolbar-3ba5a44ed2ac2c14.js';\
            const wasm = await init({ module_or_path: '/ccc-toolbar-3ba5a44ed2ac2c14_bg.wasm' });</script>\
            <link href=/toolbar-4054b9e315c78235.css integrity=sha384-Di9+/= rel=stylesheet>\
            <link href=/page-fa042b0c361fa906.css rel=stylesheet>\
            <link crossorigin href=/ccc-toolbar-3ba5a44ed2ac2c14.js rel=modulepreload></head>";
        let js = loader_source(minified).unwrap();
        assert!(
            js.contains("link.href = \"/toolbar-4054b9e315c78235.css\";"),
            "{js}"
        );
    }

    #[test]
    fn the_page_preloads_its_wasm_from_its_headers() {
        assert_eq!(
            preload_links(TRUNK_INDEX).as_deref(),
            Some("</ccc-toolbar-24b9adf618b42af7_bg.wasm>; rel=preload; as=fetch; crossorigin")
        );
        assert_eq!(preload_links("<html></html>"), None);
        let evil = TRUNK_INDEX.replace("_bg.wasm", "_bg.wasm>; rel=preload, <https://x");
        assert_eq!(preload_links(&evil), None);
    }

    #[test]
    fn loader_refuses_pages_it_cannot_trust() {
        assert_eq!(loader_source("<html></html>"), None);
        let evil = TRUNK_INDEX.replace("/ccc-toolbar-24b9adf618b42af7.js", "/x.js\";alert(1);//");
        assert_eq!(loader_source(&evil), None);
    }

    #[test]
    fn recognises_trunk_hashed_names() {
        assert!(is_hashed("/ccc-toolbar-1a2b3c4d5e6f7a8b_bg.wasm"));
        assert!(is_hashed("/ccc-toolbar-1a2b3c4d5e6f7a8b.js"));
        assert!(is_hashed("/toolbar-0123456789abcdef.css"));
        assert!(is_hashed("/toolbar-7d87173ec68b77c.css"));
        assert!(!is_hashed("/my-snippet.js"));
        assert!(!is_hashed("/index.html"));
        assert!(!is_hashed("/ccc-toolbar.js"));
        assert!(!is_hashed("/favicon.ico"));
    }
}
