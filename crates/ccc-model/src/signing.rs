//! Alibaba Cloud request signing: RPC "V1" (`HMAC-SHA1`, `SignatureVersion=1.0`)
//! and V3 (`ACS3-HMAC-SHA256`), as described in ccc-api.md §4. Used by the
//! proxy to sign and by the simulator to verify. Native only (feature `signing`).

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// RFC 3986 percent-encoding as Alibaba Cloud uses it: unreserved
/// `A-Z a-z 0-9 - _ . ~` kept, every other UTF-8 byte as `%XY` (upper-case
/// hex), so space is `%20` and `*` is `%2A`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
        }
    }
    out
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Canonical query string: parameters sorted by name (byte order, then by
/// value), name and value percent-encoded, joined as `k=v&k=v`.
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex_lower(&Sha256::digest(bytes))
}

fn hex_lower(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// An access key pair (and optional STS token). `Debug` never shows the
/// secret or the token.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    /// The AccessKeyId (safe to log).
    pub id: String,
    secret: String,
    /// The STS security token, if any.
    pub security_token: Option<String>,
}

impl AccessKey {
    /// A key pair without a security token.
    pub fn new(id: impl Into<String>, secret: impl Into<String>) -> Self {
        AccessKey {
            id: id.into(),
            secret: secret.into(),
            security_token: None,
        }
    }

    /// Adds an STS security token.
    pub fn with_security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// The AccessKeySecret.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

// Timestamps of both signature versions (V1 `Timestamp`, V3 `x-acs-date`):
// UTC ISO-8601 `yyyy-MM-ddTHH:mm:ssZ`, without a date-time crate.

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `yyyy-MM-ddTHH:mm:ssZ` (UTC) into epoch seconds.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se)
}

/// Formats epoch seconds as `yyyy-MM-ddTHH:mm:ssZ` (UTC).
pub fn format_timestamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// RPC signature V1 (`SignatureMethod=HMAC-SHA1`, `SignatureVersion=1.0`).
pub mod v1 {
    use super::*;

    /// `METHOD&%2F&percentEncode(canonical query)`, over every parameter
    /// except `Signature`.
    pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
        let params: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| k != "Signature")
            .cloned()
            .collect();
        format!(
            "{}&{}&{}",
            method.to_ascii_uppercase(),
            percent_encode("/"),
            percent_encode(&canonical_query(&params))
        )
    }

    /// Base64 of HMAC-SHA1 with key `secret + "&"`.
    pub fn signature(secret: &str, string_to_sign: &str) -> String {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes())
            .expect("HMAC accepts any key length");
        mac.update(string_to_sign.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// V3 signature (`ACS3-HMAC-SHA256`).
pub mod v3 {
    use super::*;

    /// The algorithm name in `Authorization` and the string to sign.
    pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

    /// The parts of a request that V3 signs.
    #[derive(Debug, Clone, Copy)]
    pub struct Request<'a> {
        /// HTTP method, e.g. `POST`.
        pub method: &'a str,
        /// Path; `/` for RPC.
        pub path: &'a str,
        /// Query parameters (not yet encoded).
        pub query: &'a [(String, String)],
        /// Headers with lower-case names (`host`, `content-type`, `x-acs-*`).
        pub headers: &'a [(String, String)],
        /// The raw body.
        pub body: &'a [u8],
    }

    /// The headers V3 signs by default: `host`, `content-type` and every `x-acs-*`.
    pub fn default_signed_headers(headers: &[(String, String)]) -> Vec<String> {
        let mut names: Vec<String> = headers
            .iter()
            .map(|(k, _)| k.to_ascii_lowercase())
            .filter(|k| k == "host" || k == "content-type" || k.starts_with("x-acs-"))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// RFC 3986-encodes each path segment (`/path/ test` → `/path/%20test`).
    pub(crate) fn encode_path(path: &str) -> String {
        if path.is_empty() {
            return "/".to_owned();
        }
        path.split('/')
            .map(percent_encode)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The canonical request over `signed_headers` (lower-case names, any order).
    pub fn canonical_request(req: &Request<'_>, signed_headers: &[&str]) -> String {
        let mut names: Vec<String> = signed_headers
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        names.sort();
        names.dedup();
        let mut canonical_headers = String::new();
        for name in &names {
            let value = req
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
                .unwrap_or("");
            canonical_headers.push_str(name);
            canonical_headers.push(':');
            canonical_headers.push_str(value);
            canonical_headers.push('\n');
        }
        // Always the hash of the actual body: a verifier must not trust the
        // client's x-acs-content-sha256 (it is signed as a header, too).
        let hashed_payload = sha256_hex(req.body);
        format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            req.method.to_ascii_uppercase(),
            encode_path(req.path),
            canonical_query(req.query),
            canonical_headers,
            names.join(";"),
            hashed_payload
        )
    }

    /// `ACS3-HMAC-SHA256\n` + hex SHA-256 of the canonical request.
    pub fn string_to_sign(canonical_request: &str) -> String {
        format!("{ALGORITHM}\n{}", sha256_hex(canonical_request.as_bytes()))
    }

    /// Lower-case hex HMAC-SHA256 keyed with the raw secret.
    pub fn signature(secret: &str, string_to_sign: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
        mac.update(string_to_sign.as_bytes());
        hex_lower(&mac.finalize().into_bytes())
    }

    /// Adds `x-acs-content-sha256` (and `x-acs-security-token` when the key has
    /// one) to `headers` and returns the `Authorization` header value.
    /// `headers` must already hold host, x-acs-action, x-acs-version,
    /// x-acs-date, x-acs-signature-nonce (and content-type when there is a body).
    pub fn sign(
        key: &AccessKey,
        method: &str,
        path: &str,
        query: &[(String, String)],
        headers: &mut Vec<(String, String)>,
        body: &[u8],
    ) -> String {
        for (k, _) in headers.iter_mut() {
            *k = k.to_ascii_lowercase();
        }
        headers.retain(|(k, _)| k != "x-acs-content-sha256" && k != "x-acs-security-token");
        headers.push(("x-acs-content-sha256".to_owned(), sha256_hex(body)));
        if let Some(token) = &key.security_token {
            headers.push(("x-acs-security-token".to_owned(), token.clone()));
        }
        let names = default_signed_headers(headers);
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let req = Request {
            method,
            path,
            query,
            headers,
            body,
        };
        let canonical = canonical_request(&req, &refs);
        let sig = signature(key.secret(), &string_to_sign(&canonical));
        format!(
            "{ALGORITHM} Credential={},SignedHeaders={},Signature={sig}",
            key.id,
            names.join(";")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_format_and_parse() {
        assert_eq!(format_timestamp(1_456_231_584), "2016-02-23T12:46:24Z");
        assert_eq!(format_timestamp(1_698_315_752), "2023-10-26T10:22:32Z");
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        for secs in [0, 951_782_400, 1_456_231_584, 1_698_315_752, 4_102_444_800] {
            assert_eq!(parse_timestamp(&format_timestamp(secs)), Some(secs));
        }
        assert_eq!(parse_timestamp("2016-02-23 12:46:24Z"), None);
        assert_eq!(parse_timestamp("2016-13-23T12:46:24Z"), None);
        assert_eq!(parse_timestamp("2016-02-23T12:46:24"), None);
    }

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn v1_params(ts_name: &str) -> Vec<(String, String)> {
        p(&[
            (ts_name, "2016-02-23T12:46:24Z"),
            ("Format", "XML"),
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("Version", "2014-05-26"),
            ("SignatureVersion", "1.0"),
        ])
    }

    #[test]
    fn v1_a_official_ecs_example() {
        let sts = v1::string_to_sign("GET", &v1_params("Timestamp"));
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        assert_eq!(
            v1::signature("testsecret", &sts),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
        let post = v1::string_to_sign("POST", &v1_params("Timestamp"));
        assert_eq!(
            v1::signature("testsecret", &post),
            "MxbnVAM4w6sft9xjVpe/GCKueuk="
        );
    }

    #[test]
    fn v1_ignores_the_signature_parameter() {
        let mut params = v1_params("Timestamp");
        params.push(("Signature".into(), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=".into()));
        let sts = v1::string_to_sign("GET", &params);
        assert_eq!(
            v1::signature("testsecret", &sts),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    #[test]
    fn v1_b_legacy_timestamp_spelling() {
        let sts = v1::string_to_sign("GET", &v1_params("TimeStamp"));
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        );
        assert_eq!(
            v1::signature("testsecret", &sts),
            "CT9X0VtwR86fNWSnsc6v8YGOjuE="
        );
    }

    const V3_CANONICAL: &str = "POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\nhost:ecs.cn-shanghai.aliyuncs.com\nx-acs-action:RunInstances\nx-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-acs-date:2023-10-26T10:22:32Z\nx-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\nx-acs-version:2014-05-26\n\nhost;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const V3_SIG: &str = "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0";

    fn v3_query() -> Vec<(String, String)> {
        p(&[
            ("RegionId", "cn-shanghai"),
            (
                "ImageId",
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            ),
        ])
    }

    fn v3_headers() -> Vec<(String, String)> {
        p(&[
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-version", "2014-05-26"),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
        ])
    }

    #[test]
    fn v3_a_official_worked_example() {
        let query = v3_query();
        let mut headers = v3_headers();
        headers.push((
            "x-acs-content-sha256".into(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
        ));
        let req = v3::Request {
            method: "POST",
            path: "/",
            query: &query,
            headers: &headers,
            body: b"",
        };
        let signed = [
            "host",
            "x-acs-action",
            "x-acs-content-sha256",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-version",
        ];
        let canonical = v3::canonical_request(&req, &signed);
        assert_eq!(canonical, V3_CANONICAL);
        let sts = v3::string_to_sign(&canonical);
        assert_eq!(
            sts,
            "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(v3::signature("YourAccessKeySecret", &sts), V3_SIG);
    }

    #[test]
    fn v3_sign_produces_the_documented_authorization() {
        let key = AccessKey::new("YourAccessKeyId", "YourAccessKeySecret");
        let mut headers = v3_headers();
        let auth = v3::sign(&key, "POST", "/", &v3_query(), &mut headers, b"");
        assert_eq!(
            auth,
            format!("ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature={V3_SIG}")
        );
        assert!(headers.contains(&(
            "x-acs-content-sha256".into(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into()
        )));
    }

    #[test]
    fn v3_sign_adds_the_security_token() {
        let key = AccessKey::new("id", "secret").with_security_token("tok");
        let mut headers = v3_headers();
        let auth = v3::sign(&key, "POST", "/", &[], &mut headers, b"a=b");
        assert!(headers.contains(&("x-acs-security-token".into(), "tok".into())));
        assert!(auth.contains("x-acs-security-token"), "{auth}");
    }

    #[test]
    fn encoding_vectors() {
        assert_eq!(
            canonical_query(&p(&[("test", " ~/*-+")])),
            "test=%20~%2F%2A-%2B"
        );
        assert_eq!(percent_encode("a/b/c/ test"), "a%2Fb%2Fc%2F%20test");
        assert_eq!(v3::encode_path("/path/ test"), "/path/%20test");
        assert_eq!(
            sha256_hex(b"test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(percent_encode("会"), "%E4%BC%9A");
        assert_eq!(canonical_query(&p(&[("b", ""), ("a", "1")])), "a=1&b=");
        assert_eq!(canonical_query(&[]), "");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = AccessKey::new("LTAI-x", "super-secret").with_security_token("sts-token");
        let dbg = format!("{key:?}");
        assert!(dbg.contains("LTAI-x"));
        assert!(!dbg.contains("super-secret"));
        assert!(!dbg.contains("sts-token"));
        assert_eq!(key.secret(), "super-secret");
    }
}
