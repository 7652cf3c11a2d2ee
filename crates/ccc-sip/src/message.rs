//! SIP messages (RFC 3261 §7) as carried over WebSocket (RFC 7118): one
//! complete message per text frame, so there is no stream framing here —
//! [`Message::parse`] takes a whole frame and [`Message::to_string`] prints
//! one.
//!
//! Headers are kept as written (name, value) in order; compact forms
//! (`v`, `f`, `t`, `i`, `m`, `l`, `c`, `k`, `s`, `e`) are expanded to their
//! full names on parse so lookups need one spelling. Typed views of the
//! headers a user agent needs live in [`crate::header`].

use std::fmt;

use crate::{
    error::SipError,
    header::{CSeq, NameAddr, Via},
};

/// A SIP request method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `REGISTER`
    Register,
    /// `INVITE`
    Invite,
    /// `ACK`
    Ack,
    /// `BYE`
    Bye,
    /// `CANCEL`
    Cancel,
    /// `OPTIONS`
    Options,
    /// `INFO`
    Info,
    /// `UPDATE`
    Update,
    /// `MESSAGE`
    Message,
    /// `NOTIFY`
    Notify,
    /// `SUBSCRIBE`
    Subscribe,
    /// `REFER`
    Refer,
    /// `PRACK`
    Prack,
    /// Any other token, kept verbatim.
    Other(String),
}

impl Method {
    /// Reads a method token (case-sensitive, as RFC 3261 §7.1 says).
    pub fn parse(s: &str) -> Self {
        match s {
            "REGISTER" => Method::Register,
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "MESSAGE" => Method::Message,
            "NOTIFY" => Method::Notify,
            "SUBSCRIBE" => Method::Subscribe,
            "REFER" => Method::Refer,
            "PRACK" => Method::Prack,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The wire token.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Register => "REGISTER",
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Message => "MESSAGE",
            Method::Notify => "NOTIFY",
            Method::Subscribe => "SUBSCRIBE",
            Method::Refer => "REFER",
            Method::Prack => "PRACK",
            Method::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD request-uri SIP/2.0`
    Request {
        /// The method.
        method: Method,
        /// The Request-URI, verbatim (e.g. `sip:8001@example.com`).
        uri: String,
    },
    /// `SIP/2.0 code reason`
    Response {
        /// The status code (100–699).
        code: u16,
        /// The reason phrase (may be empty).
        reason: String,
    },
}

/// One header line, name as written (full form) and value trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header name, compact forms expanded (`f` → `From`).
    pub name: String,
    /// The value, surrounding whitespace trimmed, folded lines joined by a space.
    pub value: String,
}

/// A SIP request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Request or status line.
    pub start: StartLine,
    /// Headers in order. `Content-Length` is not kept: it is recomputed on print.
    pub headers: Vec<Header>,
    /// The body (SDP for INVITE/200, empty otherwise).
    pub body: String,
}

/// Headers whose values may be comma-separated lists (RFC 3261 §7.3.1) and
/// which [`Message::header_values`] splits. Authorization-style headers are
/// not lists even though their values contain commas.
const LIST_HEADERS: &[&str] = &[
    "Via",
    "Contact",
    "Route",
    "Record-Route",
    "Allow",
    "Supported",
    "Require",
    "Accept",
];

/// Expands a compact header name (RFC 3261 §7.3.3, RFC 3515, RFC 3903).
fn full_name(name: &str) -> &str {
    if name.len() != 1 {
        return name;
    }
    match name.as_bytes()[0].to_ascii_lowercase() {
        b'v' => "Via",
        b'f' => "From",
        b't' => "To",
        b'i' => "Call-ID",
        b'm' => "Contact",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'k' => "Supported",
        b's' => "Subject",
        b'e' => "Content-Encoding",
        b'r' => "Refer-To",
        b'o' => "Event",
        _ => name,
    }
}

impl Message {
    /// A request with no headers yet.
    pub fn request(method: Method, uri: impl Into<String>) -> Self {
        Message {
            start: StartLine::Request {
                method,
                uri: uri.into(),
            },
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// A response with no headers yet; the reason phrase is the standard one.
    pub fn response(code: u16) -> Self {
        Message {
            start: StartLine::Response {
                code,
                reason: reason_phrase(code).to_owned(),
            },
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// Reads one whole message (one WebSocket frame, RFC 7118 §5).
    ///
    /// Accepts bare LF line ends and folded header lines; if `Content-Length`
    /// is present it must equal the body's length in bytes (a truncated frame
    /// is an error, not a shorter body).
    pub fn parse(frame: &str) -> Result<Self, SipError> {
        let (head, body) = match frame.find("\r\n\r\n") {
            Some(i) => (&frame[..i], &frame[i + 4..]),
            None => match frame.find("\n\n") {
                Some(i) => (&frame[..i], &frame[i + 2..]),
                None => (frame.trim_end_matches(['\r', '\n']), ""),
            },
        };
        let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = lines.next().unwrap_or("").trim();
        let start = parse_start_line(first)?;

        let mut headers: Vec<Header> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                // RFC 3261 §7.3.1 line folding: continues the previous value.
                let Some(last) = headers.last_mut() else {
                    return Err(SipError::HeaderLine(line.to_owned()));
                };
                last.value.push(' ');
                last.value.push_str(line.trim());
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(SipError::HeaderLine(line.to_owned()));
            };
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(SipError::HeaderLine(line.to_owned()));
            }
            headers.push(Header {
                name: full_name(name).to_owned(),
                value: value.trim().to_owned(),
            });
        }

        let mut declared = None;
        headers.retain(|h| {
            if h.name.eq_ignore_ascii_case("Content-Length") {
                declared = Some(h.value.clone());
                false
            } else {
                true
            }
        });
        if let Some(value) = declared {
            let declared: usize = value.parse().map_err(|_| SipError::BadHeader {
                name: "Content-Length",
                value,
            })?;
            if declared != body.len() {
                return Err(SipError::ContentLength {
                    declared,
                    actual: body.len(),
                });
            }
        }
        Ok(Message {
            start,
            headers,
            body: body.to_owned(),
        })
    }

    /// The method of a request, or of the request a response answers (from CSeq).
    pub fn method(&self) -> Option<Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method.clone()),
            StartLine::Response { .. } => self.cseq().ok().map(|c| c.method),
        }
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The Request-URI of a request.
    pub fn request_uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The first value of a header (case-insensitive name, full form).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Every value of a header, list headers (Via, Contact, …) split at
    /// top-level commas.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let list = LIST_HEADERS.iter().any(|l| l.eq_ignore_ascii_case(name));
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .flat_map(move |h| {
                if list {
                    split_top_level(&h.value, ',')
                } else {
                    vec![h.value.as_str()]
                }
            })
    }

    /// Appends a header.
    pub fn push(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.headers.push(Header {
            name: name.to_owned(),
            value: value.into(),
        });
        self
    }

    /// Builder form of [`Message::push`].
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.push(name, value);
        self
    }

    /// Replaces every value of a header with one value (appends if absent).
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        match self
            .headers
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(name))
        {
            Some(i) => {
                self.headers[i].value = value;
                let mut n = 0;
                self.headers.retain(|h| {
                    let same = h.name.eq_ignore_ascii_case(name);
                    n += usize::from(same);
                    !same || n == 1
                });
            }
            None => {
                self.push(name, value);
            }
        }
        self
    }

    /// Removes every value of a header.
    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.headers.retain(|h| !h.name.eq_ignore_ascii_case(name));
        self
    }

    /// Sets the body and its `Content-Type`.
    pub fn with_body(mut self, content_type: &str, body: impl Into<String>) -> Self {
        self.set("Content-Type", content_type);
        self.body = body.into();
        self
    }

    /// The `Call-ID`.
    pub fn call_id(&self) -> Result<&str, SipError> {
        self.header("Call-ID").ok_or(SipError::Missing("Call-ID"))
    }

    /// The `CSeq`.
    pub fn cseq(&self) -> Result<CSeq, SipError> {
        CSeq::parse(self.header("CSeq").ok_or(SipError::Missing("CSeq"))?)
    }

    /// The `From` header.
    pub fn from(&self) -> Result<NameAddr, SipError> {
        let v = self.header("From").ok_or(SipError::Missing("From"))?;
        NameAddr::parse(v).ok_or_else(|| bad("From", v))
    }

    /// The `To` header.
    pub fn to(&self) -> Result<NameAddr, SipError> {
        let v = self.header("To").ok_or(SipError::Missing("To"))?;
        NameAddr::parse(v).ok_or_else(|| bad("To", v))
    }

    /// The first (topmost) `Via`.
    pub fn via(&self) -> Result<Via, SipError> {
        let v = self
            .header_values("Via")
            .next()
            .ok_or(SipError::Missing("Via"))?;
        Via::parse(v).ok_or_else(|| bad("Via", v))
    }

    /// The first `Contact`, if any.
    pub fn contact(&self) -> Option<NameAddr> {
        self.header_values("Contact")
            .next()
            .and_then(NameAddr::parse)
    }

    /// Builds a response to this request (RFC 3261 §8.2.6.2): copies Via,
    /// From, To, Call-ID, CSeq (and Record-Route for dialog-creating
    /// responses) and adds `tag` to `To` if it has none.
    pub fn reply(&self, code: u16, to_tag: Option<&str>) -> Message {
        let mut r = Message::response(code);
        for h in &self.headers {
            let copy = ["Via", "From", "Call-ID", "CSeq"]
                .iter()
                .any(|n| h.name.eq_ignore_ascii_case(n))
                || (h.name.eq_ignore_ascii_case("Record-Route") && (101..300).contains(&code));
            if copy {
                r.headers.push(h.clone());
            } else if h.name.eq_ignore_ascii_case("To") {
                let mut to = h.value.clone();
                if let (Some(tag), Some(na)) = (to_tag, NameAddr::parse(&h.value)) {
                    if na.tag().is_none() {
                        to = na.with_param("tag", Some(tag)).to_string();
                    }
                }
                r.push("To", to);
            }
        }
        r
    }
}

fn bad(name: &'static str, value: &str) -> SipError {
    SipError::BadHeader {
        name,
        value: value.to_owned(),
    }
}

fn parse_start_line(line: &str) -> Result<StartLine, SipError> {
    let err = || SipError::StartLine(line.to_owned());
    if let Some(rest) = line.strip_prefix("SIP/2.0 ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let code: u16 = code.parse().map_err(|_| err())?;
        if !(100..700).contains(&code) {
            return Err(err());
        }
        return Ok(StartLine::Response {
            code,
            reason: reason.trim().to_owned(),
        });
    }
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let (Some(method), Some(uri), Some("SIP/2.0"), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(err());
    };
    if !method
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
    {
        return Err(err());
    }
    Ok(StartLine::Request {
        method: Method::parse(method),
        uri: uri.to_owned(),
    })
}

/// Splits at `sep` outside quotes and `<...>`, trimming each part.
pub(crate) fn split_top_level(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut escaped, mut start) = (false, false, false, 0);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            c if c == sep && !quoted && !angle => {
                out.push(s[start..i].trim());
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out.retain(|p| !p.is_empty());
    out
}

impl fmt::Display for Message {
    /// Prints the message with CRLF line ends and a `Content-Length` equal to
    /// the body (always present, as RFC 7118 §5 recommends it even over WS).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.start {
            StartLine::Request { method, uri } => write!(f, "{method} {uri} SIP/2.0\r\n")?,
            StartLine::Response { code, reason } => write!(f, "SIP/2.0 {code} {reason}\r\n")?,
        }
        for h in &self.headers {
            if !h.name.eq_ignore_ascii_case("Content-Length") {
                write!(f, "{}: {}\r\n", h.name, h.value)?;
            }
        }
        write!(
            f,
            "Content-Length: {}\r\n\r\n{}",
            self.body.len(),
            self.body
        )
    }
}

/// The standard reason phrase of a status code (RFC 3261 §21).
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        603 => "Decline",
        _ => "",
    }
}
