//! HTTP digest authentication as SIP uses it (RFC 3261 §22.4 with RFC 2617
//! and RFC 7616): MD5 and SHA-256, `qop=auth` (and the old no-qop form when a
//! challenge offers none), `nc`/`cnonce`, `opaque` and `stale=true`.
//!
//! Client side: [`Challenge::parse`] a `WWW-Authenticate` /
//! `Proxy-Authenticate` value, then [`Challenge::respond`] gives the
//! [`Credentials`] to print into `Authorization`. Server side (the
//! simulator's registrar): print a [`Challenge`], [`Credentials::parse`] the
//! request's `Authorization`, [`Credentials::verify`] it against the password.
//! Nonce freshness (and so `stale`) is the server's own decision.

use std::fmt::{self, Write as _};

use md5::Md5;
use sha2::{Digest as _, Sha256};

use crate::error::SipError;

/// A digest hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// `MD5` (RFC 2617; the default when a challenge names none).
    #[default]
    Md5,
    /// `SHA-256` (RFC 7616).
    Sha256,
}

impl Algorithm {
    /// Reads the `algorithm` token. `-sess` variants are not supported.
    pub fn parse(s: &str) -> Result<Self, SipError> {
        if s.eq_ignore_ascii_case("MD5") {
            Ok(Algorithm::Md5)
        } else if s.eq_ignore_ascii_case("SHA-256") {
            Ok(Algorithm::Sha256)
        } else {
            Err(SipError::Algorithm(s.to_owned()))
        }
    }

    /// The wire token.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Lower-case hex of the hash of `data`.
    pub fn hex(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => to_hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => to_hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Reads `Digest k=v, k="quoted", …` into (lower-case key, unquoted value).
fn parse_auth_params(s: &str) -> Option<Vec<(String, String)>> {
    let s = s.trim();
    let (scheme, rest) = s.split_once(|c: char| c.is_ascii_whitespace())?;
    if !scheme.eq_ignore_ascii_case("Digest") {
        return None;
    }
    let mut out = Vec::new();
    let mut chars = rest.char_indices().peekable();
    let bytes = rest;
    loop {
        // skip separators
        while let Some(&(_, c)) = chars.peek() {
            if c == ',' || c.is_ascii_whitespace() {
                chars.next();
            } else {
                break;
            }
        }
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut key_end = start;
        while let Some(&(i, c)) = chars.peek() {
            if c == '=' || c.is_ascii_whitespace() {
                break;
            }
            key_end = i + c.len_utf8();
            chars.next();
        }
        let key = bytes[start..key_end].to_ascii_lowercase();
        while matches!(chars.peek(), Some(&(_, c)) if c.is_ascii_whitespace()) {
            chars.next();
        }
        if !matches!(chars.next(), Some((_, '='))) {
            return None;
        }
        while matches!(chars.peek(), Some(&(_, c)) if c.is_ascii_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if matches!(chars.peek(), Some(&(_, '"'))) {
            chars.next();
            let mut closed = false;
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => value.push(chars.next()?.1),
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return None;
            }
        } else {
            while let Some(&(_, c)) = chars.peek() {
                if c == ',' || c.is_ascii_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        if key.is_empty() {
            return None;
        }
        out.push((key, value));
    }
    Some(out)
}

fn get<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A `WWW-Authenticate` / `Proxy-Authenticate` digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The protection space.
    pub realm: String,
    /// The server's nonce.
    pub nonce: String,
    /// Echoed back verbatim, if present.
    pub opaque: Option<String>,
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Whether `qop="auth"` is offered (RFC 2617 §3.2.1). `false` = the old
    /// RFC 2069 form without `cnonce`/`nc`.
    pub qop_auth: bool,
    /// `stale=true`: the credentials were right, only the nonce expired;
    /// retry with the new nonce without asking anybody.
    pub stale: bool,
}

impl Challenge {
    /// A server challenge with `qop="auth"`.
    pub fn new(realm: &str, nonce: &str, algorithm: Algorithm, stale: bool) -> Self {
        Challenge {
            realm: realm.to_owned(),
            nonce: nonce.to_owned(),
            opaque: None,
            algorithm,
            qop_auth: true,
            stale,
        }
    }

    /// Reads a challenge header value.
    pub fn parse(s: &str) -> Result<Self, SipError> {
        let bad = || SipError::BadHeader {
            name: "WWW-Authenticate",
            value: s.to_owned(),
        };
        let p = parse_auth_params(s).ok_or_else(bad)?;
        let algorithm = match get(&p, "algorithm") {
            Some(a) => Algorithm::parse(a)?,
            None => Algorithm::Md5,
        };
        let qop_auth = match get(&p, "qop") {
            None => false,
            Some(q) => {
                if q.split(',').any(|t| t.trim().eq_ignore_ascii_case("auth")) {
                    true
                } else {
                    return Err(SipError::Qop(q.to_owned()));
                }
            }
        };
        Ok(Challenge {
            realm: get(&p, "realm").ok_or_else(bad)?.to_owned(),
            nonce: get(&p, "nonce").ok_or_else(bad)?.to_owned(),
            opaque: get(&p, "opaque").map(str::to_owned),
            algorithm,
            qop_auth,
            stale: get(&p, "stale").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        })
    }

    /// Computes the credentials for one request (`method` and `uri` are the
    /// request's method and Request-URI; `nc` counts the requests made with
    /// this nonce, from 1).
    pub fn respond(
        &self,
        method: &str,
        uri: &str,
        username: &str,
        password: &str,
        cnonce: &str,
        nc: u32,
    ) -> Credentials {
        let mut c = Credentials {
            username: username.to_owned(),
            realm: self.realm.clone(),
            nonce: self.nonce.clone(),
            uri: uri.to_owned(),
            response: String::new(),
            algorithm: self.algorithm,
            opaque: self.opaque.clone(),
            qop_auth: self.qop_auth,
            cnonce: self.qop_auth.then(|| cnonce.to_owned()),
            nc: self.qop_auth.then_some(nc),
        };
        c.response = c.expected_response(method, password);
        c
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest realm={}, nonce={}",
            quote(&self.realm),
            quote(&self.nonce)
        )?;
        if let Some(o) = &self.opaque {
            write!(f, ", opaque={}", quote(o))?;
        }
        write!(f, ", algorithm={}", self.algorithm.as_str())?;
        if self.qop_auth {
            f.write_str(", qop=\"auth\"")?;
        }
        if self.stale {
            f.write_str(", stale=true")?;
        }
        Ok(())
    }
}

/// An `Authorization` / `Proxy-Authorization` digest response.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The digest username (H1: `UserKey2`).
    pub username: String,
    /// Realm, from the challenge.
    pub realm: String,
    /// Nonce, from the challenge.
    pub nonce: String,
    /// The digest-uri (the Request-URI).
    pub uri: String,
    /// The hex response.
    pub response: String,
    /// Hash algorithm.
    pub algorithm: Algorithm,
    /// Echoed `opaque`.
    pub opaque: Option<String>,
    /// Whether `qop=auth` was used.
    pub qop_auth: bool,
    /// Client nonce (with `qop`).
    pub cnonce: Option<String>,
    /// Nonce count (with `qop`).
    pub nc: Option<u32>,
}

impl fmt::Debug for Credentials {
    /// The response is a password equivalent for this nonce: not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("realm", &self.realm)
            .field("nonce", &self.nonce)
            .field("uri", &self.uri)
            .field("response", &"<redacted>")
            .field("algorithm", &self.algorithm)
            .field("qop_auth", &self.qop_auth)
            .field("nc", &self.nc)
            .finish()
    }
}

impl Credentials {
    /// Reads an `Authorization` header value.
    pub fn parse(s: &str) -> Result<Self, SipError> {
        let bad = || SipError::BadHeader {
            name: "Authorization",
            value: s.to_owned(),
        };
        let p = parse_auth_params(s).ok_or_else(bad)?;
        let algorithm = match get(&p, "algorithm") {
            Some(a) => Algorithm::parse(a)?,
            None => Algorithm::Md5,
        };
        let qop_auth = match get(&p, "qop") {
            None => false,
            Some(q) if q.eq_ignore_ascii_case("auth") => true,
            Some(q) => return Err(SipError::Qop(q.to_owned())),
        };
        let nc = match get(&p, "nc") {
            Some(n) => Some(u32::from_str_radix(n, 16).map_err(|_| bad())?),
            None => None,
        };
        let cnonce = get(&p, "cnonce").map(str::to_owned);
        if qop_auth && (nc.is_none() || cnonce.is_none()) {
            return Err(bad());
        }
        Ok(Credentials {
            username: get(&p, "username").ok_or_else(bad)?.to_owned(),
            realm: get(&p, "realm").ok_or_else(bad)?.to_owned(),
            nonce: get(&p, "nonce").ok_or_else(bad)?.to_owned(),
            uri: get(&p, "uri").ok_or_else(bad)?.to_owned(),
            response: get(&p, "response").ok_or_else(bad)?.to_ascii_lowercase(),
            algorithm,
            opaque: get(&p, "opaque").map(str::to_owned),
            qop_auth,
            cnonce,
            nc,
        })
    }

    /// The response a client knowing `password` computes for these
    /// parameters (RFC 7616 §3.4.1; RFC 2617 §3.2.2.1 without qop).
    pub fn expected_response(&self, method: &str, password: &str) -> String {
        let alg = self.algorithm;
        let ha1 = alg.hex(&format!("{}:{}:{}", self.username, self.realm, password));
        let ha2 = alg.hex(&format!("{method}:{}", self.uri));
        match (self.qop_auth, &self.cnonce, self.nc) {
            (true, Some(cnonce), Some(nc)) => alg.hex(&format!(
                "{ha1}:{}:{nc:08x}:{cnonce}:auth:{ha2}",
                self.nonce
            )),
            _ => alg.hex(&format!("{ha1}:{}:{ha2}", self.nonce)),
        }
    }

    /// Server side: whether these credentials were computed with `password`
    /// for a request of `method` (compared in constant time). The caller
    /// also checks that `nonce` is one it issued and still fresh (else it
    /// challenges again with `stale=true`), that `realm` is its own, and that
    /// `uri` matches the Request-URI.
    pub fn verify(&self, method: &str, password: &str) -> bool {
        let expected = self.expected_response(method, password);
        let (a, b) = (expected.as_bytes(), self.response.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
            quote(&self.username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(&self.uri),
            quote(&self.response),
            self.algorithm.as_str()
        )?;
        if let Some(o) = &self.opaque {
            write!(f, ", opaque={}", quote(o))?;
        }
        if let (true, Some(cnonce), Some(nc)) = (self.qop_auth, &self.cnonce, self.nc) {
            write!(f, ", qop=auth, nc={nc:08x}, cnonce={}", quote(cnonce))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 §3.5 (qop=auth, MD5).
    #[test]
    fn rfc2617_example() {
        let ch = Challenge::parse(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        assert!(ch.qop_auth);
        assert_eq!(ch.algorithm, Algorithm::Md5);
        let c = ch.respond(
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle Of Life",
            "0a4f113b",
            1,
        );
        assert_eq!(c.response, "6629fae49393a05397450978507c4ef1");
        assert!(c.verify("GET", "Circle Of Life"));
        assert!(!c.verify("GET", "Circle of Life"));
        assert!(!c.verify("POST", "Circle Of Life"));
    }

    const RFC7616_CHALLENGE: &str = r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=ALG, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

    /// RFC 7616 §3.9.1, both algorithms.
    #[test]
    fn rfc7616_examples() {
        for (alg, want) in [
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
            (
                "SHA-256",
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ] {
            let ch = Challenge::parse(&RFC7616_CHALLENGE.replace("ALG", alg)).unwrap();
            let c = ch.respond(
                "GET",
                "/dir/index.html",
                "Mufasa",
                "Circle of Life",
                "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                1,
            );
            assert_eq!(c.response, want, "{alg}");
            // What the client prints, the server reads back and verifies.
            let back = Credentials::parse(&c.to_string()).unwrap();
            assert_eq!(back, c);
            assert!(back.verify("GET", "Circle of Life"));
        }
    }

    #[test]
    fn challenge_round_trip_and_stale() {
        let mut ch = Challenge::new("ccc.sim", "n0nce\"x", Algorithm::Sha256, true);
        ch.opaque = Some("op".into());
        let printed = ch.to_string();
        assert!(printed.contains("stale=true"), "{printed}");
        assert_eq!(Challenge::parse(&printed).unwrap(), ch);
        let ch = Challenge::parse(r#"Digest realm="r", nonce="n", stale=FALSE"#).unwrap();
        assert!(!ch.stale);
        assert!(!ch.qop_auth);
    }

    #[test]
    fn without_qop_uses_rfc2069_form() {
        let ch = Challenge::parse(r#"Digest realm="r", nonce="n""#).unwrap();
        let c = ch.respond("REGISTER", "sip:r", "u", "p", "ignored", 1);
        assert_eq!(c.cnonce, None);
        let ha1 = Algorithm::Md5.hex("u:r:p");
        let ha2 = Algorithm::Md5.hex("REGISTER:sip:r");
        assert_eq!(c.response, Algorithm::Md5.hex(&format!("{ha1}:n:{ha2}")));
        assert!(!c.to_string().contains("qop"));
        assert!(Credentials::parse(&c.to_string())
            .unwrap()
            .verify("REGISTER", "p"));
    }

    #[test]
    fn unsupported_and_malformed_are_errors() {
        assert_eq!(
            Challenge::parse(r#"Digest realm="r", nonce="n", algorithm=MD5-sess"#),
            Err(SipError::Algorithm("MD5-sess".into()))
        );
        assert!(matches!(
            Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth-int""#),
            Err(SipError::Qop(_))
        ));
        assert!(Challenge::parse(r#"Basic realm="r""#).is_err());
        assert!(Challenge::parse(r#"Digest realm="r"#).is_err());
        assert!(Credentials::parse(
            r#"Digest username="u", realm="r", nonce="n", uri="sip:x", response="ab", qop=auth"#
        )
        .is_err());
    }

    #[test]
    fn debug_hides_the_response() {
        let ch = Challenge::new("r", "n", Algorithm::Md5, false);
        let c = ch.respond("REGISTER", "sip:r", "u", "p", "c", 1);
        assert!(!format!("{c:?}").contains(&c.response));
    }
}
