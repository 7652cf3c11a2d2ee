//! The little the relay reads of a SIP message (RFC 3261), on the shared
//! `ccc-sip` parser: the start line and From, To, Call-ID and CSeq. This
//! module is the relay's only contact with SIP syntax.

use std::fmt;

use ccc_sip::{Message, NameAddr, SipUri, StartLine};

/// Why a frame is not a SIP message the relay can judge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SIP message: {0}")]
pub struct ParseError(pub String);

/// A request's method or a response's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// `METHOD uri SIP/2.0`.
    Request {
        /// `REGISTER`, `INVITE`, ...
        method: String,
        /// The Request-URI's user part (`None` for `sip:domain`).
        uri_user: Option<String>,
    },
    /// `SIP/2.0 code reason`.
    Response {
        /// The status code.
        status: u16,
    },
}

/// What the relay reads of one SIP message.
#[derive(Clone, PartialEq, Eq)]
pub struct Head {
    /// Request or response line.
    pub start: Start,
    /// The From URI's user part.
    pub from_user: Option<String>,
    /// The To URI's user part.
    pub to_user: Option<String>,
    /// Whether To carries a tag (the request is inside a dialog).
    pub to_tag: bool,
    /// `Call-ID`.
    pub call_id: String,
    /// The method named by `CSeq` (what a response answers).
    pub cseq_method: String,
    /// The whole message, for a locally made response.
    message: Message,
}

impl fmt::Debug for Head {
    // Never the message itself: it may carry Authorization and SDP.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Head")
            .field("start", &self.start)
            .field("from_user", &self.from_user)
            .field("to_user", &self.to_user)
            .field("to_tag", &self.to_tag)
            .field("call_id", &self.call_id)
            .field("cseq_method", &self.cseq_method)
            .finish_non_exhaustive()
    }
}

impl Head {
    /// The request's method, `None` for a response.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            Start::Request { method, .. } => Some(method),
            Start::Response { .. } => None,
        }
    }

    /// The response's status, `None` for a request.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            Start::Response { status } => Some(status),
            Start::Request { .. } => None,
        }
    }
}

/// The headers the relay judges by; each must appear exactly once, so the
/// relay and the SIP server cannot read different values.
const SINGLE: [&str; 4] = ["From", "To", "Call-ID", "CSeq"];

/// Reads the head of `text` (a whole SIP message, one WebSocket message
/// per RFC 7118).
pub fn parse(text: &str) -> Result<Head, ParseError> {
    let message = Message::parse(text).map_err(|e| ParseError(e.to_string()))?;
    for name in SINGLE {
        let n = message
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .count();
        if n != 1 {
            return Err(ParseError(format!("{n} {name} headers, not one")));
        }
    }
    if message.header("Via").is_none() {
        return Err(ParseError("no Via header".into()));
    }
    let addr = |name: &str| -> Result<NameAddr, ParseError> {
        let value = message.header(name).unwrap_or_default();
        NameAddr::parse(value)
            .filter(|a| a.sip_uri().is_some())
            .ok_or_else(|| ParseError(format!("{name} is not a sip: address")))
    };
    let (from, to) = (addr("From")?, addr("To")?);
    let call_id = message
        .call_id()
        .map_err(|e| ParseError(e.to_string()))?
        .to_owned();
    let cseq = message.cseq().map_err(|e| ParseError(e.to_string()))?;
    let start = match &message.start {
        StartLine::Request { method, uri } => Start::Request {
            method: method.as_str().to_owned(),
            uri_user: SipUri::parse(uri)
                .ok_or_else(|| ParseError("the Request-URI is not a sip: URI".into()))?
                .user,
        },
        StartLine::Response { code, .. } => Start::Response { status: *code },
    };
    Ok(Head {
        start,
        from_user: from.user(),
        to_user: to.user(),
        to_tag: to.tag().is_some(),
        call_id,
        cseq_method: cseq.method.as_str().to_owned(),
        message,
    })
}

/// A response to the request `head` made here, never by the SIP server
/// (`403 Forbidden`, `503 Service Unavailable`, ...): the request's Via,
/// From, To (tagged), Call-ID and CSeq, `Server: ccc-proxy relay`.
pub fn local_response(head: &Head, status: u16, reason: &str, extra: &[(&str, &str)]) -> String {
    let mut r = head.message.reply(status, Some("ccc-proxy"));
    r.start = StartLine::Response {
        code: status,
        reason: reason.to_owned(),
    };
    for (name, value) in extra {
        r.push(name, *value);
    }
    r.push("Server", "ccc-proxy relay");
    r.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTER: &str = "REGISTER sip:ccc.example SIP/2.0\r\n\
        Via: SIP/2.0/WSS abc.invalid;branch=z9hG4bK1\r\n\
        Max-Forwards: 70\r\n\
        From: \"Agent\" <sip:8001@ccc.example>;tag=a1\r\n\
        To: <sip:8001@ccc.example>\r\n\
        Call-ID: c1@abc.invalid\r\n\
        CSeq: 1 REGISTER\r\n\
        Authorization: Digest username=\"8001:1\", response=\"secret-digest\"\r\n\
        Contact: <sip:x@abc.invalid;transport=ws>\r\n\
        Content-Length: 0\r\n\r\n";

    #[test]
    fn reads_a_register() {
        let h = parse(REGISTER).unwrap();
        assert_eq!(
            h.start,
            Start::Request {
                method: "REGISTER".into(),
                uri_user: None
            }
        );
        assert_eq!(h.from_user.as_deref(), Some("8001"));
        assert_eq!(h.to_user.as_deref(), Some("8001"));
        assert!(!h.to_tag);
        assert_eq!(h.call_id, "c1@abc.invalid");
        assert_eq!(h.cseq_method, "REGISTER");
        assert!(!format!("{h:?}").contains("secret-digest"));
    }

    #[test]
    fn compact_forms_folding_and_addr_specs() {
        let msg = "BYE sip:cust@10.0.0.1 SIP/2.0\r\nv: SIP/2.0/WSS a.invalid;branch=z9hG4bK2\r\n\
                   f: sip:8001@ccc.example;tag=x\r\nt: \"C\"\r\n <sip:+8613800000000@ccc.example>;tag=y\r\n\
                   i: c2\r\nCSeq: 2 BYE\r\n\r\n";
        let h = parse(msg).unwrap();
        assert_eq!(h.method(), Some("BYE"));
        assert_eq!(h.from_user.as_deref(), Some("8001"));
        assert_eq!(h.to_user.as_deref(), Some("+8613800000000"));
        assert!(h.to_tag);
        let r = parse("SIP/2.0 200 OK\r\nVia: x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: z\r\nCSeq: 3 REGISTER\r\n\r\n").unwrap();
        assert_eq!(r.status(), Some(200));
        assert_eq!(r.cseq_method, "REGISTER");
    }

    #[test]
    fn users_are_taken_as_written() {
        for (from, user) in [
            ("<sip:8001:pw@h>", Some("8001")),
            ("<sip:%38001@h>", Some("%38001")),
            ("<sip:h>", None),
        ] {
            let msg = format!("OPTIONS sip:h SIP/2.0\r\nVia: x\r\nFrom: {from};tag=1\r\nTo: <sip:h>\r\nCall-ID: z\r\nCSeq: 1 OPTIONS\r\n\r\n");
            assert_eq!(parse(&msg).unwrap().from_user.as_deref(), user, "{from}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_judge() {
        for bad in [
            "hello",
            // No To.
            "REGISTER sip:h SIP/2.0\r\nVia: x\r\nFrom: <sip:1@h>\r\nCall-ID: z\r\nCSeq: 1 REGISTER\r\n\r\n",
            // Two Froms: the server might read the other one.
            "REGISTER sip:h SIP/2.0\r\nVia: x\r\nFrom: <sip:1@h>\r\nFrom: <sip:2@h>\r\nTo: <sip:1@h>\r\nCall-ID: z\r\nCSeq: 1 REGISTER\r\n\r\n",
            "REGISTER sip:h SIP/2.0\r\nVia: x\r\nf: <sip:1@h>\r\nFrom: <sip:2@h>\r\nTo: <sip:1@h>\r\nCall-ID: z\r\nCSeq: 1 REGISTER\r\n\r\n",
            "REGISTER tel:123 SIP/2.0\r\nVia: x\r\nFrom: <sip:1@h>\r\nTo: <sip:1@h>\r\nCall-ID: z\r\nCSeq: 1 REGISTER\r\n\r\n",
            "REGISTER sip:h SIP/2.0\r\nVia: x\r\nFrom: <tel:1>\r\nTo: <sip:1@h>\r\nCall-ID: z\r\nCSeq: 1 REGISTER\r\n\r\n",
            // No Via.
            "REGISTER sip:h SIP/2.0\r\nFrom: <sip:1@h>\r\nTo: <sip:1@h>\r\nCall-ID: z\r\nCSeq: 1 REGISTER\r\n\r\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn local_responses_echo_the_request() {
        let h = parse(REGISTER).unwrap();
        let r = local_response(&h, 403, "Forbidden (To is not your extension)", &[]);
        assert!(
            r.starts_with("SIP/2.0 403 Forbidden (To is not your extension)\r\n"),
            "{r}"
        );
        assert!(r.contains("Via: SIP/2.0/WSS abc.invalid;branch=z9hG4bK1\r\n"));
        assert!(r.contains("tag=ccc-proxy"), "{r}");
        assert!(r.contains("CSeq: 1 REGISTER\r\n"));
        assert!(r.contains("Server: ccc-proxy relay\r\n"));
        assert!(!r.contains("secret-digest"));
        let back = parse(&r).unwrap();
        assert_eq!(back.status(), Some(403));
        assert_eq!(back.call_id, h.call_id);
    }
}
