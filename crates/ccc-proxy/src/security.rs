//! Browser-facing security rules: CSRF checks on state-changing requests,
//! the Content-Security-Policy (with hashes of the inline scripts Trunk puts
//! into `index.html`) and the other response headers.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use sha2::{Digest, Sha256};

use std::sync::Arc;

use crate::errors::AppError;

/// The value the widget sends in `X-Requested-With`.
pub const REQUESTED_WITH: &str = "ccc-toolbar";

/// Refuses (403) a state-changing request that lacks the JSON content type
/// or `X-Requested-With: ccc-toolbar`, or that comes from another origin.
pub fn check_csrf(policy: &Policy, method: &Method, headers: &HeaderMap) -> Result<(), AppError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    policy.check_origin(headers)?;
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Err(AppError::forbidden("Cross-site requests are not allowed."));
    }
    if headers.get("x-requested-with").map(HeaderValue::as_bytes) != Some(REQUESTED_WITH.as_bytes())
    {
        return Err(AppError::forbidden(
            "Missing header X-Requested-With: ccc-toolbar.",
        ));
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(AppError::forbidden(
            "State changes need Content-Type: application/json.",
        ));
    }
    Ok(())
}

/// Middleware for the API: the request's `Host` must be a public origin's
/// (DNS rebinding), and state changes pass [`check_csrf`].
pub async fn guard(State(policy): State<Arc<Policy>>, req: Request, next: Next) -> Response {
    let checked = policy
        .check_host(req.headers())
        .and_then(|()| check_csrf(&policy, req.method(), req.headers()));
    match checked {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// The CSP, allowing wasm, the given inline script and style hashes, and
/// `frame_ancestors` as the embedding policy.
pub fn csp(frame_ancestors: &str, script_hashes: &[String], style_hashes: &[String]) -> String {
    let join = |hashes: &[String]| hashes.iter().map(|h| format!(" '{h}'")).collect::<String>();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{}; style-src 'self'{}; \
         connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; \
         object-src 'none'; frame-ancestors {frame_ancestors}",
        join(script_hashes),
        join(style_hashes)
    )
}

/// `sha256-<base64>` of `content`, as CSP hash sources spell it.
pub fn csp_hash(content: &str) -> String {
    format!(
        "sha256-{}",
        STANDARD.encode(Sha256::digest(content.as_bytes()))
    )
}

/// Hashes of every inline `<script>` (without `src`) and `<style>` in `html`.
pub fn inline_hashes(html: &str) -> (Vec<String>, Vec<String>) {
    (inline_blocks(html, "script"), inline_blocks(html, "style"))
}

fn inline_blocks(html: &str, tag: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let (open, close) = (format!("<{tag}"), format!("</{tag}"));
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(start) = lower[pos..].find(&open).map(|i| i + pos) {
        let after = start + open.len();
        // Only whole tag names: `<script>` or `<script ...>`, not `<scripts`.
        if !lower[after..].starts_with(['>', ' ', '\t', '\n', '\r', '/']) {
            pos = after;
            continue;
        }
        let Some(tag_end) = lower[after..].find('>').map(|i| i + after) else {
            break;
        };
        let attrs = &lower[after..tag_end];
        let Some(end) = lower[tag_end..].find(&close).map(|i| i + tag_end) else {
            break;
        };
        let body = &html[tag_end + 1..end];
        let external = tag == "script" && has_src(attrs);
        if !external && !body.is_empty() {
            let h = csp_hash(body);
            if !out.contains(&h) {
                out.push(h);
            }
        }
        pos = end + close.len();
    }
    out
}

fn has_src(attrs: &str) -> bool {
    attrs
        .split(|c: char| c.is_whitespace())
        .any(|a| a == "src" || a.starts_with("src="))
}

/// The browser-facing rules of this deployment, built once at start.
#[derive(Debug)]
pub struct Policy {
    /// CSP for every response that sets none itself.
    base_csp: HeaderValue,
    /// `scheme://host[:port]` of every public origin, lower case.
    origins: Vec<String>,
    /// `host[:port]` of every public origin, lower case, as `Host` says it
    /// (no default port).
    hosts: Vec<String>,
}

impl Policy {
    /// The policy for `frame_ancestors` (the CSP embedding sources) and
    /// the origins browsers reach the proxy at (normalised by `config`).
    pub fn new(frame_ancestors: &str, public_origins: &[String]) -> Result<Self, String> {
        let base_csp = HeaderValue::from_str(&csp(frame_ancestors, &[], &[])).map_err(|_| {
            format!("--frame-ancestors {frame_ancestors:?} is not a valid header value")
        })?;
        let origins: Vec<String> = public_origins
            .iter()
            .map(|o| o.to_ascii_lowercase())
            .collect();
        let hosts = origins
            .iter()
            .filter_map(|o| {
                o.split_once("://")
                    .map(|(_, authority)| authority.to_owned())
            })
            .collect();
        Ok(Policy {
            base_csp,
            origins,
            hosts,
        })
    }

    /// 403 unless `Host` names one of the public origins: a DNS-rebinding
    /// page reaches the proxy with its own host name.
    pub fn check_host(&self, headers: &HeaderMap) -> Result<(), AppError> {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        // Origins are serialised without their default port; a client may
        // still spell it out (`Host: crm.example.com:443`).
        let known = host.is_some_and(|h| {
            let h = h.trim();
            self.hosts.iter().any(|k| {
                h.eq_ignore_ascii_case(k)
                    || h.strip_suffix(":443")
                        .or_else(|| h.strip_suffix(":80"))
                        .is_some_and(|bare| bare.eq_ignore_ascii_case(k) && !k.contains(':'))
            })
        });
        if known {
            Ok(())
        } else {
            tracing::info!(host = ?host.map(|h| h.chars().take(100).collect::<String>()), "unknown Host refused");
            Err(AppError::forbidden(
                "This address is not one the toolbar is served at.",
            ))
        }
    }

    /// 403 when `Origin` is present and is not exactly one of the public
    /// origins (scheme, host and port; `null` included).
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), AppError> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let same = origin
            .to_str()
            .ok()
            .and_then(|o| url::Url::parse(o).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .is_some_and(|u| {
                let o = u.origin().ascii_serialization();
                self.origins.contains(&o)
            });
        if same {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "Cross-origin requests are not allowed.",
            ))
        }
    }
}

/// Adds the default CSP (when the handler set none) and the other
/// security headers to every response.
pub async fn headers(State(policy): State<Arc<Policy>>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, policy.base_csp.clone());
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        // same-origin, not no-referrer: under no-referrer browsers send
        // `Origin: null` on form posts, which the sign-in origin check refuses.
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(*k, HeaderValue::from_static(v));
        }
        m
    }

    const OK: [(&str, &str); 3] = [
        ("host", "127.0.0.1:8080"),
        ("x-requested-with", "ccc-toolbar"),
        ("content-type", "application/json; charset=utf-8"),
    ];

    fn policy() -> Policy {
        Policy::new(
            "'self'",
            &[
                "http://127.0.0.1:8080".to_owned(),
                "https://crm.example.com".to_owned(),
            ],
        )
        .unwrap()
    }

    #[test]
    fn csrf_rules() {
        let p = policy();
        assert!(check_csrf(&p, &Method::POST, &h(&OK)).is_ok());
        let mut same = OK.to_vec();
        same.push(("origin", "http://127.0.0.1:8080"));
        assert!(check_csrf(&p, &Method::POST, &h(&same)).is_ok());
        for origin in [
            "http://evil.example",
            "null",
            "http://127.0.0.1:8081",
            // Same host and port, other scheme.
            "https://127.0.0.1:8080",
            "http://crm.example.com",
        ] {
            let mut other = OK.to_vec();
            other.push(("origin", origin));
            assert!(
                check_csrf(&p, &Method::POST, &h(&other)).is_err(),
                "{origin}"
            );
        }
        assert!(check_csrf(&p, &Method::POST, &h(&OK[..2])).is_err());
        assert!(check_csrf(&p, &Method::POST, &h(&[OK[0], OK[2]])).is_err());
        assert!(check_csrf(&p, &Method::GET, &h(&[])).is_ok());
    }

    #[test]
    fn hosts_must_be_public_origins() {
        let p = policy();
        for ok in ["127.0.0.1:8080", "crm.example.com", "CRM.example.com:443"] {
            assert!(p.check_host(&h(&[("host", ok)])).is_ok(), "{ok}");
        }
        for bad in ["evil.example", "127.0.0.1:8081", "crm.example.com:8443", ""] {
            assert!(p.check_host(&h(&[("host", bad)])).is_err(), "{bad}");
        }
        assert!(p.check_host(&h(&[])).is_err(), "no Host at all");
    }

    #[test]
    fn hashes_inline_scripts_only() {
        let html = "<script type=\"module\">import init from '/a.js';</script>\
                    <script src=\"/b.js\"></script><style>p{}</style>";
        let (scripts, styles) = inline_hashes(html);
        assert_eq!(scripts, vec![csp_hash("import init from '/a.js';")]);
        assert_eq!(styles, vec![csp_hash("p{}")]);
        assert_eq!(
            csp_hash(""),
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        let policy = csp("'self' https://crm.example", &scripts, &[]);
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"));
        assert!(policy.ends_with("frame-ancestors 'self' https://crm.example"));
    }
}
