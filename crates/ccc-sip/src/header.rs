//! Typed views of the headers a user agent reads and writes: SIP URIs,
//! name-addr (`From`, `To`, `Contact`), `Via` and `CSeq`.

use std::fmt;

use crate::{
    error::SipError,
    message::{split_top_level, Method},
};

/// A `;name[=value]` parameter list, order kept.
pub type Params = Vec<(String, Option<String>)>;

fn parse_params(s: &str) -> Params {
    split_top_level(s, ';')
        .into_iter()
        .map(|p| match p.split_once('=') {
            Some((n, v)) => (n.trim().to_owned(), Some(v.trim().to_owned())),
            None => (p.to_owned(), None),
        })
        .collect()
}

fn write_params(f: &mut fmt::Formatter<'_>, params: &Params) -> fmt::Result {
    for (n, v) in params {
        match v {
            Some(v) => write!(f, ";{n}={v}")?,
            None => write!(f, ";{n}")?,
        }
    }
    Ok(())
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref().unwrap_or(""))
}

/// A `sip:`/`sips:` URI: `sip:user@host:port;params` (headers after `?` are
/// kept verbatim in `rest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// `sip` or `sips`.
    pub scheme: String,
    /// The user part (percent-encoding kept), if any.
    pub user: Option<String>,
    /// Host (IPv6 references keep their brackets).
    pub host: String,
    /// Port, if written.
    pub port: Option<u16>,
    /// URI parameters (`transport=ws`, `ob`, …).
    pub params: Params,
}

impl SipUri {
    /// Reads a SIP URI; `None` for other schemes (`tel:`) or no host.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (scheme, rest) = s.split_once(':')?;
        if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
            return None;
        }
        let rest = rest.split('?').next().unwrap_or(rest);
        let (addr, params) = match rest.split_once(';') {
            Some((a, p)) => (a, parse_params(p)),
            None => (rest, Vec::new()),
        };
        let (user, hostport) = match addr.rsplit_once('@') {
            Some((u, h)) => (Some(u.split(':').next().unwrap_or(u).to_owned()), h),
            None => (None, addr),
        };
        let (host, port) = if let Some(v6_end) = hostport.find(']') {
            let host = &hostport[..=v6_end];
            let port = hostport[v6_end + 1..].strip_prefix(':');
            (host, port)
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return None;
        }
        let port = match port {
            Some(p) => Some(p.parse().ok()?),
            None => None,
        };
        Some(SipUri {
            scheme: scheme.to_ascii_lowercase(),
            user,
            host: host.to_owned(),
            port,
            params,
        })
    }

    /// A URI parameter's value (`""` for a flag such as `;ob`).
    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.params, name)
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_params(f, &self.params)
    }
}

/// `"Display" <uri>;params` — the shape of `From`, `To` and `Contact`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name, unquoted, if any.
    pub display: Option<String>,
    /// The URI, verbatim (may be `tel:` or `*` for a wildcard Contact).
    pub uri: String,
    /// Header parameters (`tag`, `expires`, `+sip.instance`, …).
    pub params: Params,
}

impl NameAddr {
    /// A name-addr with no display name and no parameters.
    pub fn new(uri: impl Into<String>) -> Self {
        NameAddr {
            display: None,
            uri: uri.into(),
            params: Vec::new(),
        }
    }

    /// Reads `"Name" <uri>;p=v`, `Name <uri>`, `<uri>;p` or a bare `uri;p`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        if let Some(lt) = find_unquoted(s, '<') {
            let display = s[..lt].trim();
            let display = display
                .strip_prefix('"')
                .and_then(|d| d.strip_suffix('"'))
                .map(|d| d.replace("\\\"", "\"").replace("\\\\", "\\"))
                .unwrap_or_else(|| display.to_owned());
            let close = lt + s[lt..].find('>')?;
            let uri = s[lt + 1..close].trim().to_owned();
            let params = s[close + 1..]
                .trim()
                .strip_prefix(';')
                .map(parse_params)
                .unwrap_or_default();
            Some(NameAddr {
                display: (!display.is_empty()).then_some(display),
                uri,
                params,
            })
        } else {
            // addr-spec without brackets: parameters belong to the header.
            let (uri, params) = match s.split_once(';') {
                Some((u, p)) => (u, parse_params(p)),
                None => (s, Vec::new()),
            };
            Some(NameAddr {
                display: None,
                uri: uri.trim().to_owned(),
                params,
            })
        }
    }

    /// A header parameter's value (`""` for a flag).
    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.params, name)
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.param("tag")
    }

    /// The URI parsed as a SIP URI.
    pub fn sip_uri(&self) -> Option<SipUri> {
        SipUri::parse(&self.uri)
    }

    /// The user part of the URI (`8001` of `sip:8001@host`).
    pub fn user(&self) -> Option<String> {
        self.sip_uri().and_then(|u| u.user)
    }

    /// Sets (replacing) a header parameter.
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.params
            .push((name.to_owned(), value.map(str::to_owned)));
        self
    }

    /// Sets the display name.
    pub fn with_display(mut self, display: impl Into<String>) -> Self {
        let d = display.into();
        self.display = (!d.is_empty()).then_some(d);
        self
    }
}

fn find_unquoted(s: &str, target: char) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == target && !quoted {
            return Some(i);
        }
    }
    None
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            let escaped = d.replace('\\', "\\\\").replace('"', "\\\"");
            write!(f, "\"{escaped}\" ")?;
        }
        write!(f, "<{}>", self.uri)?;
        write_params(f, &self.params)
    }
}

/// One `Via` value: `SIP/2.0/WSS host:port;branch=z9hG4bK…;rport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Transport token (`WS`, `WSS`, `UDP`, `TCP`, `TLS`).
    pub transport: String,
    /// `host[:port]` as written (RFC 7118 clients use a made-up
    /// `<random>.invalid` host).
    pub sent_by: String,
    /// Parameters (`branch`, `received`, `rport`, …).
    pub params: Params,
}

impl Via {
    /// A Via for this transport with a branch (the `z9hG4bK` magic cookie is
    /// added if missing) and `rport`.
    pub fn new(transport: &str, sent_by: &str, branch: &str) -> Self {
        let branch = if branch.starts_with(BRANCH_COOKIE) {
            branch.to_owned()
        } else {
            format!("{BRANCH_COOKIE}{branch}")
        };
        Via {
            transport: transport.to_owned(),
            sent_by: sent_by.to_owned(),
            params: vec![("branch".into(), Some(branch)), ("rport".into(), None)],
        }
    }

    /// Reads one Via value.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (proto, rest) = s.split_once(|c: char| c.is_ascii_whitespace())?;
        let mut p = proto.split('/');
        let (Some(name), Some(version), Some(transport), None) =
            (p.next(), p.next(), p.next(), p.next())
        else {
            return None;
        };
        if !name.trim().eq_ignore_ascii_case("SIP") || version.trim() != "2.0" {
            return None;
        }
        let rest = rest.trim();
        let (sent_by, params) = match rest.split_once(';') {
            Some((h, p)) => (h.trim(), parse_params(p)),
            None => (rest, Vec::new()),
        };
        if sent_by.is_empty() {
            return None;
        }
        Some(Via {
            transport: transport.trim().to_ascii_uppercase(),
            sent_by: sent_by.to_owned(),
            params,
        })
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        param(&self.params, "branch")
    }

    /// A parameter's value (`""` for a flag).
    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.params, name)
    }
}

/// RFC 3261 §8.1.1.7: every branch this UA creates starts with it.
pub const BRANCH_COOKIE: &str = "z9hG4bK";

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.sent_by)?;
        write_params(f, &self.params)
    }
}

/// `CSeq: 314159 INVITE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// The sequence number (< 2^31).
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// Reads a CSeq value.
    pub fn parse(s: &str) -> Result<Self, SipError> {
        let bad = || SipError::BadHeader {
            name: "CSeq",
            value: s.to_owned(),
        };
        let mut parts = s.split_ascii_whitespace();
        let (Some(seq), Some(method), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let seq: u32 = seq.parse().map_err(|_| bad())?;
        if seq >= 1 << 31 {
            return Err(bad());
        }
        Ok(CSeq {
            seq,
            method: Method::parse(method),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}
