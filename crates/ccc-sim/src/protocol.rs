//! The RPC protocol: parameters from the query string or a form body (GET or
//! POST), and CCC envelopes with `HttpStatusCode` equal to the HTTP status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ccc_model::{CccError, Envelope};
use serde::Serialize;
use serde_json::Value;

/// Decodes `%XY` escapes. `plus_is_space` is true for form bodies
/// (`application/x-www-form-urlencoded`); in the query string `+` is kept
/// literally, because Alibaba clients encode spaces as `%20` and the
/// published V1 example sends an unencoded `+` inside `Signature`.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits `a=1&b=2` into decoded pairs (a name without `=` has an empty value).
pub fn parse_pairs(s: &str, plus_is_space: bool) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(k, plus_is_space),
                percent_decode(v, plus_is_space),
            )
        })
        .collect()
}

/// A new request id like CCC's: `B7C33B8E-3A01-5D3A-B227-1FBA77BCED04`.
pub fn request_id() -> String {
    let hex = format!("{:032X}", rand::random::<u128>());
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Rewrites `ChannelFlags` the way the cloud sends them: a string, `"[]"`
/// when empty, else the flag tokens joined by commas (e.g. `"MUTED"`).
pub fn cloud_channel_flags(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "ChannelFlags" {
                    if let Value::Array(items) = child {
                        let tokens: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                        let text = if tokens.is_empty() {
                            "[]".to_owned()
                        } else {
                            tokens.join(",")
                        };
                        *child = Value::String(text);
                    }
                } else {
                    cloud_channel_flags(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(cloud_channel_flags),
        _ => {}
    }
}

fn json_response(status: u16, request_id: &str, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-acs-request-id", v);
    }
    resp
}

/// The OK envelope body for `data`.
pub fn ok_body<T: Serialize>(request_id: &str, data: &T) -> Vec<u8> {
    let mut data = serde_json::to_value(data).unwrap_or(Value::Null);
    cloud_channel_flags(&mut data);
    let mut env = Envelope::ok(request_id, data);
    env.message = Some(String::new());
    serde_json::to_vec(&env).unwrap_or_default()
}

/// A 200 `OK` envelope around `data`.
pub fn ok_response<T: Serialize>(request_id: &str, data: &T) -> Response {
    json_response(200, request_id, ok_body(request_id, data))
}

/// An error envelope; the HTTP status equals `HttpStatusCode`.
pub fn error_response(err: &CccError, request_id: &str) -> Response {
    let env: Envelope<Value> = err.clone().request_id(request_id).to_envelope();
    let body = serde_json::to_vec(&env).unwrap_or_default();
    json_response(err.http_status, request_id, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_model::ErrorCode;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b+c", false), "a b+c");
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("%E4%BC%9A", false), "会");
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%zz", false), "%zz");
        assert_eq!(
            parse_pairs("A=1&B&C=x%3Dy&", false),
            vec![
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), String::new()),
                ("C".to_owned(), "x=y".to_owned())
            ]
        );
    }

    #[test]
    fn request_ids_look_like_cccs() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        let parts: Vec<_> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert!(id
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase()));
        assert_ne!(id, request_id());
    }

    #[test]
    fn flags_become_strings() {
        let mut v = serde_json::json!({"A": [{"ChannelFlags": []}, {"ChannelFlags": ["MUTED"]}]});
        cloud_channel_flags(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"A": [{"ChannelFlags": "[]"}, {"ChannelFlags": "MUTED"}]})
        );
    }

    #[test]
    fn error_envelope_status_matches() {
        let e = ErrorCode::NoUser.with_params(["x@i", "i"]);
        let r = error_response(&e, "RID");
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["x-acs-request-id"], "RID");
    }
}
