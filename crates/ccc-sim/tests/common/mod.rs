//! Test helpers: an independent V3 signer (built by hand from the documented
//! algorithm with the `hmac` and `sha2` crates, not with
//! `ccc_model::signing`), request builders and a polling wait.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use ccc_sim::config::{DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

/// RFC 3986: unreserved kept, everything else %XY.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn query_string(params: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (enc(k), enc(v))).collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn nonce() -> String {
    format!("{:032x}", rand_u128())
}

fn rand_u128() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    t ^ (u128::from(N.fetch_add(1, Ordering::Relaxed)) << 64)
}

/// A V3-signed request, computed by hand.
#[derive(Debug, Clone)]
pub struct V3 {
    pub method: String,
    pub host: String,
    pub query: String,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

pub struct V3Opts<'a> {
    pub key_id: &'a str,
    pub secret: &'a str,
    pub date: String,
    pub nonce: String,
}

impl Default for V3Opts<'_> {
    fn default() -> Self {
        V3Opts {
            key_id: DEMO_ACCESS_KEY_ID,
            secret: DEMO_ACCESS_KEY_SECRET,
            date: ccc_sim::auth::format_timestamp(now_secs()),
            nonce: nonce(),
        }
    }
}

/// Signs `action` with `query` params in the query string and `form`
/// params in a form body (POST when there is a body).
pub fn sign_v3(
    host: &str,
    action: &str,
    query: &[(&str, &str)],
    form: &[(&str, &str)],
    opts: V3Opts<'_>,
) -> V3 {
    let query = query_string(query);
    let body = query_string(form);
    let method = if body.is_empty() { "GET" } else { "POST" };
    let payload_hash = hex(&Sha256::digest(body.as_bytes()));
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), host.into()),
        ("x-acs-action".into(), action.into()),
        ("x-acs-content-sha256".into(), payload_hash.clone()),
        ("x-acs-date".into(), opts.date),
        ("x-acs-signature-nonce".into(), opts.nonce),
        ("x-acs-version".into(), "2020-07-01".into()),
    ];
    if !body.is_empty() {
        headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical = format!("{method}\n/\n{query}\n{canonical_headers}\n{signed}\n{payload_hash}");
    let string_to_sign = format!(
        "ACS3-HMAC-SHA256\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(opts.secret.as_bytes()).unwrap();
    mac.update(string_to_sign.as_bytes());
    let signature = hex(&mac.finalize().into_bytes());
    headers.push((
        "authorization".into(),
        format!(
            "ACS3-HMAC-SHA256 Credential={},SignedHeaders={signed},Signature={signature}",
            opts.key_id
        ),
    ));
    V3 {
        method: method.into(),
        host: host.into(),
        query,
        body,
        headers,
    }
}

impl V3 {
    pub fn to_request(&self) -> Request<Body> {
        let uri = if self.query.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{}", self.query)
        };
        let mut b = Request::builder().method(self.method.as_str()).uri(uri);
        for (k, v) in &self.headers {
            b = b.header(k, v);
        }
        b.body(Body::from(self.body.clone())).unwrap()
    }

    /// The raw HTTP/1.1 bytes.
    pub fn to_http(&self) -> String {
        let mut s = format!("{} /?{} HTTP/1.1\r\n", self.method, self.query);
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n{}",
            self.body.len(),
            self.body
        ));
        s
    }
}

pub const HOST: &str = "ccc.cn-shanghai.aliyuncs.com";

/// A signed RPC call against the demo instance (InstanceId added).
pub fn rpc(action: &str, params: &[(&str, &str)]) -> Request<Body> {
    let mut query = vec![("InstanceId", "ccc-demo")];
    query.extend_from_slice(params);
    sign_v3(HOST, action, &query, &[], V3Opts::default()).to_request()
}

/// Sends a request through the router; returns status and JSON body.
pub async fn send(app: &axum::Router, req: Request<Body>) -> (u16, Value) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, json)
}

/// Sends an admin request with an optional JSON body.
pub async fn admin(
    app: &axum::Router,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut b = Request::builder().method(method).uri(path);
    let body = match body {
        Some(v) => {
            b = b.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    send(app, b.body(body).unwrap()).await
}

/// Polls `f` until it returns true or `timeout` passes.
pub async fn wait_until<F, Fut>(timeout: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if f().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Parameters of a request, the code of its 400 answer, and its `Params`.
pub type BadRequest<'a> = (Vec<(&'a str, &'a str)>, &'a str, Value);

/// Sends `action` once per case; asserts a 400 envelope with the code and
/// `Params` of the case.
pub async fn assert_bad_requests(app: &axum::Router, action: &str, cases: Vec<BadRequest<'_>>) {
    for (params, code, expected) in cases {
        let (status, body) = send(app, rpc(action, &params)).await;
        assert_eq!(status, 400, "{action} {params:?}: {body}");
        assert_eq!(body["Code"], code, "{action} {params:?}: {body}");
        assert_eq!(body["HttpStatusCode"], 400, "{body}");
        assert_eq!(body["Params"], expected, "{action} {params:?}");
    }
}
