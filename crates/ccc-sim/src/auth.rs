//! Request authentication as Alibaba Cloud does it: V3 (`ACS3-HMAC-SHA256`,
//! `Authorization` + `x-acs-*` headers) and V1 (`Signature`,
//! `SignatureMethod=HMAC-SHA1`, ... in the query or form body).
//!
//! Order of checks: signature parameters present and well-formed → known
//! AccessKeyId → time within the window → signature → nonce not used
//! before. The nonce is recorded only for correctly signed requests, so a
//! forged request cannot burn a client's nonce.

use std::collections::HashMap;
use std::sync::Mutex;

use ccc_model::signing::{v1, v3};
use ccc_model::{CccError, ErrorCode};

/// The parts of an HTTP request authentication looks at.
#[derive(Debug, Clone, Default)]
pub struct SignedRequest {
    /// HTTP method.
    pub method: String,
    /// Path (`/`).
    pub path: String,
    /// Decoded query parameters.
    pub query: Vec<(String, String)>,
    /// Decoded form-body parameters (empty unless a form body).
    pub form: Vec<(String, String)>,
    /// Headers, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl SignedRequest {
    /// A header value by (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter from the query, else the form body.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .chain(self.form.iter())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Which signature a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    /// RPC HMAC-SHA1.
    V1,
    /// ACS3-HMAC-SHA256.
    V3,
}

/// A successfully authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The AccessKeyId used (safe to log).
    pub access_key_id: String,
    /// The signature version used.
    pub version: SignatureVersion,
}

/// Verifies signatures against the configured key pairs and remembers nonces.
pub struct Verifier {
    keys: HashMap<String, String>,
    window_secs: i64,
    nonces: Mutex<HashMap<(String, String), i64>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ids: Vec<&String> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("Verifier")
            .field("access_key_ids", &ids)
            .field("window_secs", &self.window_secs)
            .finish_non_exhaustive()
    }
}

fn missing(name: &str) -> CccError {
    ErrorCode::MissingParameter.with_params([name])
}

impl Verifier {
    /// A verifier for `(id, secret)` pairs, accepting timestamps within
    /// `window_secs` of the server clock.
    pub fn new(keys: impl IntoIterator<Item = (String, String)>, window_secs: u64) -> Self {
        Verifier {
            keys: keys.into_iter().collect(),
            window_secs: i64::try_from(window_secs).unwrap_or(i64::MAX),
            nonces: Mutex::new(HashMap::new()),
        }
    }

    /// Authenticates `req` at server time `now_secs` (epoch seconds).
    pub fn verify(&self, req: &SignedRequest, now_secs: i64) -> Result<Caller, CccError> {
        let authorization = req.header("authorization").unwrap_or("").trim();
        if authorization.starts_with("ACS3-") {
            self.verify_v3(req, authorization, now_secs)
        } else if req.param("Signature").is_some() || req.param("AccessKeyId").is_some() {
            self.verify_v1(req, now_secs)
        } else if !authorization.is_empty() {
            Err(ErrorCode::IncompleteSignature.with_params(["Unsupported Authorization header."]))
        } else {
            Err(missing("AccessKeyId"))
        }
    }

    fn secret(&self, id: &str) -> Result<&str, CccError> {
        self.keys
            .get(id)
            .map(String::as_str)
            .ok_or_else(|| ErrorCode::AccessKeyNotFound.with_params(Vec::<String>::new()))
    }

    fn check_time(&self, name: &str, value: &str, now_secs: i64) -> Result<(), CccError> {
        let Some(t) = parse_timestamp(value) else {
            return Err(ErrorCode::InvalidParameter.with_params([name]));
        };
        if (now_secs - t).abs() > self.window_secs {
            return Err(ErrorCode::TimestampExpired.with_params([format!(
                "UTC time of request: {}, UTC time of server: {}.",
                format_timestamp(t),
                format_timestamp(now_secs)
            )]));
        }
        Ok(())
    }

    fn use_nonce(&self, key_id: &str, nonce: &str, now_secs: i64) -> Result<(), CccError> {
        let mut nonces = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        if nonces.len() > 10_000 {
            nonces.retain(|_, expires| *expires > now_secs);
        }
        let key = (key_id.to_owned(), nonce.to_owned());
        if nonces.get(&key).is_some_and(|expires| *expires > now_secs) {
            return Err(ErrorCode::NonceUsed.with_params(Vec::<String>::new()));
        }
        // A timestamp may lie up to one window in the future, so remember
        // the nonce for two windows.
        nonces.insert(key, now_secs + 2 * self.window_secs);
        Ok(())
    }

    fn verify_v1(&self, req: &SignedRequest, now_secs: i64) -> Result<Caller, CccError> {
        for name in [
            "AccessKeyId",
            "Signature",
            "SignatureMethod",
            "SignatureNonce",
        ] {
            if req.param(name).is_none_or(str::is_empty) {
                return Err(missing(name));
            }
        }
        let (ts_name, ts) = match (req.param("Timestamp"), req.param("TimeStamp")) {
            (Some(t), _) => ("Timestamp", t),
            (None, Some(t)) => ("TimeStamp", t),
            (None, None) => return Err(missing("Timestamp")),
        };
        let method = req.param("SignatureMethod").unwrap_or_default();
        if method != "HMAC-SHA1" {
            return Err(ErrorCode::UnsupportedSignatureMethod.with_params([method]));
        }
        if let Some(v) = req.param("SignatureVersion") {
            if v != "1.0" {
                return Err(ErrorCode::InvalidParameter.with_params(["SignatureVersion"]));
            }
        }
        let key_id = req.param("AccessKeyId").unwrap_or_default();
        let secret = self.secret(key_id)?;
        self.check_time(ts_name, ts, now_secs)?;
        let params: Vec<(String, String)> =
            req.query.iter().chain(req.form.iter()).cloned().collect();
        let sts = v1::string_to_sign(&req.method, &params);
        let expected = v1::signature(secret, &sts);
        if req.param("Signature") != Some(expected.as_str()) {
            return Err(ErrorCode::SignatureDoesNotMatch.with_params([sts]));
        }
        self.use_nonce(
            key_id,
            req.param("SignatureNonce").unwrap_or_default(),
            now_secs,
        )?;
        Ok(Caller {
            access_key_id: key_id.to_owned(),
            version: SignatureVersion::V1,
        })
    }

    fn verify_v3(
        &self,
        req: &SignedRequest,
        authorization: &str,
        now_secs: i64,
    ) -> Result<Caller, CccError> {
        let Some((algorithm, rest)) = authorization.split_once(' ') else {
            return Err(ErrorCode::IncompleteSignature.with_params(["Malformed Authorization."]));
        };
        if algorithm != v3::ALGORITHM {
            return Err(ErrorCode::UnsupportedSignatureMethod.with_params([algorithm]));
        }
        let mut credential = None;
        let mut signed_headers = None;
        let mut signature = None;
        for part in rest.split(',') {
            match part.trim().split_once('=') {
                Some(("Credential", v)) => credential = Some(v.trim()),
                Some(("SignedHeaders", v)) => signed_headers = Some(v.trim()),
                Some(("Signature", v)) => signature = Some(v.trim()),
                _ => {}
            }
        }
        let (Some(key_id), Some(signed_headers), Some(signature)) =
            (credential, signed_headers, signature)
        else {
            return Err(ErrorCode::IncompleteSignature
                .with_params(["Authorization needs Credential, SignedHeaders and Signature."]));
        };
        let names: Vec<&str> = signed_headers.split(';').map(str::trim).collect();
        for required in ["x-acs-date", "x-acs-signature-nonce"] {
            if req.header(required).is_none() {
                return Err(missing(required));
            }
        }
        // Every x-acs-* header and host must be covered by the signature.
        let unsigned = req
            .headers
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| *k == "host" || k.starts_with("x-acs-"))
            .find(|k| !names.contains(k));
        if let Some(h) = unsigned {
            return Err(ErrorCode::IncompleteSignature
                .with_params([format!("Header {h} is not in SignedHeaders.")]));
        }
        if let Some(claimed) = req.header("x-acs-content-sha256") {
            if claimed != ccc_model::signing::sha256_hex(&req.body) {
                return Err(ErrorCode::SignatureDoesNotMatch
                    .with_params(["x-acs-content-sha256 does not match the body."]));
            }
        }
        let secret = self.secret(key_id)?;
        self.check_time(
            "x-acs-date",
            req.header("x-acs-date").unwrap_or_default(),
            now_secs,
        )?;
        let parts = v3::Request {
            method: &req.method,
            path: &req.path,
            query: &req.query,
            headers: &req.headers,
            body: &req.body,
        };
        let canonical = v3::canonical_request(&parts, &names);
        let sts = v3::string_to_sign(&canonical);
        if v3::signature(secret, &sts) != signature.to_ascii_lowercase() {
            return Err(ErrorCode::SignatureDoesNotMatch.with_params([sts]));
        }
        let nonce = req.header("x-acs-signature-nonce").unwrap_or_default();
        self.use_nonce(key_id, nonce, now_secs)?;
        Ok(Caller {
            access_key_id: key_id.to_owned(),
            version: SignatureVersion::V3,
        })
    }
}

pub use ccc_model::signing::{format_timestamp, parse_timestamp};

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_model::signing::{percent_encode, AccessKey};

    const NOW: i64 = 1_456_231_584; // 2016-02-23T12:46:24Z

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn verifier() -> Verifier {
        Verifier::new(
            [
                ("testid".to_owned(), "testsecret".to_owned()),
                (
                    "YourAccessKeyId".to_owned(),
                    "YourAccessKeySecret".to_owned(),
                ),
            ],
            900,
        )
    }

    /// The V1-A example request (ccc-api.md §4.4), signature included.
    fn v1_a(ts_name: &str, signature: &str) -> SignedRequest {
        SignedRequest {
            method: "GET".into(),
            path: "/".into(),
            query: p(&[
                ("SignatureVersion", "1.0"),
                ("Action", "DescribeRegions"),
                ("Format", "XML"),
                ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
                ("Version", "2014-05-26"),
                ("AccessKeyId", "testid"),
                ("Signature", signature),
                ("SignatureMethod", "HMAC-SHA1"),
                (ts_name, "2016-02-23T12:46:24Z"),
            ]),
            ..SignedRequest::default()
        }
    }

    fn code(r: Result<Caller, CccError>) -> ErrorCode {
        r.unwrap_err().code
    }

    #[test]
    fn v1_a_and_v1_b_published_vectors_verify() {
        let v = verifier();
        let caller = v
            .verify(&v1_a("Timestamp", "OLeaidS1JvxuMvnyHOwuJ+uX5qY="), NOW)
            .unwrap();
        assert_eq!(caller.access_key_id, "testid");
        assert_eq!(caller.version, SignatureVersion::V1);
        // V1-B: same request with the legacy `TimeStamp` name.
        let v = verifier();
        v.verify(&v1_a("TimeStamp", "CT9X0VtwR86fNWSnsc6v8YGOjuE="), NOW)
            .unwrap();
    }

    #[test]
    fn v1_tampered_requests_are_rejected() {
        let v = verifier();
        let mut r = v1_a("Timestamp", "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        r.query[1].1 = "DeleteInstance".into();
        let e = v.verify(&r, NOW).unwrap_err();
        assert_eq!(e.code, ErrorCode::SignatureDoesNotMatch);
        assert!(
            e.message.contains("GET&%2F&AccessKeyId%3Dtestid"),
            "{}",
            e.message
        );
        // Wrong method.
        let mut r = v1_a("Timestamp", "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        r.method = "POST".into();
        assert_eq!(code(v.verify(&r, NOW)), ErrorCode::SignatureDoesNotMatch);
        // An extra parameter in the form body.
        let mut r = v1_a("Timestamp", "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        r.form = p(&[("UserId", "x")]);
        assert_eq!(code(v.verify(&r, NOW)), ErrorCode::SignatureDoesNotMatch);
    }

    #[test]
    fn v1_signed_form_body_parameters_count() {
        let v = verifier();
        let mut r = v1_a("Timestamp", "");
        r.method = "POST".into();
        r.query.retain(|(k, _)| k != "Signature");
        r.form = p(&[("InstanceId", "ccc-demo")]);
        let all: Vec<_> = r.query.iter().chain(r.form.iter()).cloned().collect();
        let sig = v1::signature("testsecret", &v1::string_to_sign("POST", &all));
        r.form.push(("Signature".into(), sig));
        v.verify(&r, NOW).unwrap();
    }

    #[test]
    fn v1_parameter_errors() {
        let v = verifier();
        let mut r = v1_a("Timestamp", "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        r.query.retain(|(k, _)| k != "SignatureNonce");
        assert_eq!(code(v.verify(&r, NOW)), ErrorCode::MissingParameter);
        let mut r = v1_a("Timestamp", "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        r.query.retain(|(k, _)| k != "Timestamp");
        let e = v.verify(&r, NOW).unwrap_err();
        assert_eq!(
            (e.code, e.params),
            (ErrorCode::MissingParameter, vec!["Timestamp".into()])
        );
        let mut r = v1_a("Timestamp", "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        r.query[7].1 = "HMAC-SHA256".into();
        assert_eq!(
            code(v.verify(&r, NOW)),
            ErrorCode::UnsupportedSignatureMethod
        );
        let mut r = v1_a("Timestamp", "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        r.query[5].1 = "nobody".into();
        let e = v.verify(&r, NOW).unwrap_err();
        assert_eq!(e.code, ErrorCode::AccessKeyNotFound);
        assert_eq!(e.http_status, 404);
        let r = v1_a("Timestamp", "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        let mut bad_ts = r.clone();
        bad_ts.query[8].1 = "2016-02-23 12:46:24".into();
        assert_eq!(code(v.verify(&bad_ts, NOW)), ErrorCode::InvalidParameter);
    }

    #[test]
    fn expired_and_future_timestamps_are_rejected() {
        let v = verifier();
        let r = v1_a("Timestamp", "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        assert_eq!(code(v.verify(&r, NOW + 901)), ErrorCode::TimestampExpired);
        assert_eq!(code(v.verify(&r, NOW - 901)), ErrorCode::TimestampExpired);
        v.verify(&r, NOW + 900).unwrap();
    }

    #[test]
    fn nonce_reuse_is_rejected_but_forgeries_do_not_burn_nonces() {
        let v = verifier();
        let good = v1_a("Timestamp", "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        let forged = v1_a("Timestamp", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert_eq!(
            code(v.verify(&forged, NOW)),
            ErrorCode::SignatureDoesNotMatch
        );
        v.verify(&good, NOW).unwrap();
        assert_eq!(code(v.verify(&good, NOW + 1)), ErrorCode::NonceUsed);
        // Another key may use the same nonce.
        assert!(v
            .use_nonce("other", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", NOW)
            .is_ok());
    }

    /// The V3-A worked example (ccc-api.md §4.4) as a request.
    fn v3_a() -> SignedRequest {
        SignedRequest {
            method: "POST".into(),
            path: "/".into(),
            query: p(&[
                ("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"),
                ("RegionId", "cn-shanghai"),
            ]),
            headers: p(&[
                ("host", "ecs.cn-shanghai.aliyuncs.com"),
                ("x-acs-action", "RunInstances"),
                ("x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                ("x-acs-date", "2023-10-26T10:22:32Z"),
                ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
                ("x-acs-version", "2014-05-26"),
                ("authorization", "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"),
                ("user-agent", "not-signed/1.0"),
            ]),
            ..SignedRequest::default()
        }
    }

    const V3_NOW: i64 = 1_698_315_752; // 2023-10-26T10:22:32Z

    #[test]
    fn v3_a_published_vector_verifies() {
        let caller = verifier().verify(&v3_a(), V3_NOW).unwrap();
        assert_eq!(caller.access_key_id, "YourAccessKeyId");
        assert_eq!(caller.version, SignatureVersion::V3);
    }

    #[test]
    fn v3_tampered_requests_are_rejected() {
        let v = verifier();
        // Query.
        let mut r = v3_a();
        r.query[1].1 = "cn-hangzhou".into();
        assert_eq!(code(v.verify(&r, V3_NOW)), ErrorCode::SignatureDoesNotMatch);
        // Signed header.
        let mut r = v3_a();
        r.headers[1].1 = "DeleteInstance".into();
        assert_eq!(code(v.verify(&r, V3_NOW)), ErrorCode::SignatureDoesNotMatch);
        // Body (the content hash no longer matches).
        let mut r = v3_a();
        r.body = b"InstanceId=x".to_vec();
        assert_eq!(code(v.verify(&r, V3_NOW)), ErrorCode::SignatureDoesNotMatch);
        // Body with a recomputed, but unsigned, content hash.
        let mut r = v3_a();
        r.body = b"InstanceId=x".to_vec();
        r.headers[2].1 = ccc_model::signing::sha256_hex(&r.body);
        assert_eq!(code(v.verify(&r, V3_NOW)), ErrorCode::SignatureDoesNotMatch);
        // Method.
        let mut r = v3_a();
        r.method = "GET".into();
        assert_eq!(code(v.verify(&r, V3_NOW)), ErrorCode::SignatureDoesNotMatch);
        // An added, unsigned x-acs-* header.
        let mut r = v3_a();
        r.headers.push(("x-acs-security-token".into(), "t".into()));
        assert_eq!(code(v.verify(&r, V3_NOW)), ErrorCode::IncompleteSignature);
    }

    #[test]
    fn v3_header_errors() {
        let v = verifier();
        let set_auth = |r: &mut SignedRequest, value: &str| {
            r.headers.retain(|(k, _)| k != "authorization");
            r.headers.push(("authorization".into(), value.into()));
        };
        let mut r = v3_a();
        set_auth(
            &mut r,
            "ACS3-HMAC-SM3 Credential=a,SignedHeaders=host,Signature=x",
        );
        assert_eq!(
            code(v.verify(&r, V3_NOW)),
            ErrorCode::UnsupportedSignatureMethod
        );
        let mut r = v3_a();
        set_auth(&mut r, "ACS3-HMAC-SHA256 Credential=YourAccessKeyId");
        assert_eq!(code(v.verify(&r, V3_NOW)), ErrorCode::IncompleteSignature);
        let mut r = v3_a();
        set_auth(&mut r, "ACS3-HMAC-SHA256 Credential=nobody,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=00");
        assert_eq!(code(v.verify(&r, V3_NOW)), ErrorCode::AccessKeyNotFound);
        let mut r = v3_a();
        r.headers.retain(|(k, _)| k != "x-acs-date");
        assert_eq!(code(v.verify(&r, V3_NOW)), ErrorCode::MissingParameter);
        assert_eq!(
            code(v.verify(&v3_a(), V3_NOW + 901)),
            ErrorCode::TimestampExpired
        );
        let nothing = SignedRequest::default();
        let e = v.verify(&nothing, V3_NOW).unwrap_err();
        assert_eq!(
            (e.code, e.params),
            (ErrorCode::MissingParameter, vec!["AccessKeyId".into()])
        );
    }

    #[test]
    fn v3_nonce_reuse() {
        let v = verifier();
        v.verify(&v3_a(), V3_NOW).unwrap();
        assert_eq!(code(v.verify(&v3_a(), V3_NOW + 10)), ErrorCode::NonceUsed);
        // Expired entries are forgotten after two windows.
        assert!(v
            .use_nonce(
                "YourAccessKeyId",
                "3156853299f313e23d1673dc12e1703d",
                V3_NOW + 1801
            )
            .is_ok());
    }

    #[test]
    fn v3_signed_by_the_model_signer_with_a_form_body() {
        let key = AccessKey::new("testid", "testsecret");
        let body = format!("UserId={}", percent_encode("agent1@ccc-demo"));
        let mut headers = p(&[
            ("host", "127.0.0.1:8090"),
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-acs-action", "PollUserStatus"),
            ("x-acs-version", "2020-07-01"),
            ("x-acs-date", &format_timestamp(NOW)),
            ("x-acs-signature-nonce", "n-1"),
        ]);
        let query = p(&[("InstanceId", "ccc-demo")]);
        let auth = v3::sign(&key, "POST", "/", &query, &mut headers, body.as_bytes());
        headers.push(("authorization".into(), auth));
        let r = SignedRequest {
            method: "POST".into(),
            path: "/".into(),
            query,
            form: p(&[("UserId", "agent1@ccc-demo")]),
            headers,
            body: body.into_bytes(),
        };
        verifier().verify(&r, NOW).unwrap();
    }

    #[test]
    fn timestamps_round_trip() {
        assert_eq!(parse_timestamp("2016-02-23T12:46:24Z"), Some(NOW));
        assert_eq!(parse_timestamp("2023-10-26T10:22:32Z"), Some(V3_NOW));
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(format_timestamp(NOW), "2016-02-23T12:46:24Z");
        assert_eq!(format_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        for bad in [
            "2016-02-23T12:46:24",
            "2016-13-23T12:46:24Z",
            "2016-02-23t12:46:24Z",
            "x",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
