//! Which SIP requests from the browser the relay passes on: the relay may
//! only be used to register and talk as the agent's own extension, which
//! the proxy learns from CCC (`GetLoginDetails`), never from the browser.

use std::collections::VecDeque;

use super::message::Head;

/// Call-IDs remembered per relay (oldest forgotten first).
const DIALOGS: usize = 64;

/// The relay's decision on one message from the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Relay it to the SIP server.
    Forward,
    /// Answer it here with `403 Forbidden` (the reason goes in the log and
    /// the response's reason phrase); never forwarded.
    Refuse(&'static str),
    /// An `ACK` or a response that would be refused: nothing can answer
    /// them, so they are dropped.
    Drop(&'static str),
}

/// The AOR rule of one relay: the agent's extension and the dialogs the
/// SIP server opened towards it.
#[derive(Debug, Clone)]
pub struct AorPolicy {
    extension: String,
    dialogs: VecDeque<String>,
}

impl AorPolicy {
    /// The rule for the agent whose CCC extension is `extension`.
    pub fn new(extension: &str) -> Self {
        AorPolicy {
            extension: extension.to_owned(),
            dialogs: VecDeque::new(),
        }
    }

    /// Notes a request from the SIP server: its Call-ID is a dialog the
    /// browser may then act in (answer, re-INVITE, BYE).
    pub fn seen_from_server(&mut self, head: &Head) {
        if head.method().is_some() && !self.dialogs.contains(&head.call_id) {
            if self.dialogs.len() == DIALOGS {
                self.dialogs.pop_front();
            }
            self.dialogs.push_back(head.call_id.clone());
        }
    }

    /// Judges a message from the browser.
    ///
    /// - Responses pass only for a Call-ID the server sent a request with
    ///   on this relay (they answer its requests, nothing else).
    /// - Every request's From user must be the extension.
    /// - Outside a dialog (To without a tag: REGISTER, OPTIONS, CANCEL, a
    ///   new INVITE) the To user and any Request-URI user must be the
    ///   extension too, so nobody else can be registered or called; an
    ///   OPTIONS keep-alive may name the server alone (`To: <sip:domain>`).
    ///   Outbound calls go through `MakeCall` and the dial policy.
    /// - Inside a dialog (To with a tag) the Call-ID must be one the SIP
    ///   server opened on this relay; the other side's To is the server's.
    pub fn check(&self, head: &Head) -> Verdict {
        let Some(method) = head.method() else {
            return if self.dialogs.contains(&head.call_id) {
                Verdict::Forward
            } else {
                Verdict::Drop("A response to no request of the SIP server")
            };
        };
        let refuse = |why| {
            if method == "ACK" {
                Verdict::Drop(why)
            } else {
                Verdict::Refuse(why)
            }
        };
        let mine = |user: &Option<String>| user.as_deref() == Some(self.extension.as_str());
        if self.extension.is_empty() || !mine(&head.from_user) {
            return refuse("From is not your extension");
        }
        if head.to_tag {
            if !self.dialogs.contains(&head.call_id) {
                return refuse("Not a dialog the SIP server opened");
            }
            return Verdict::Forward;
        }
        let keep_alive = method == "OPTIONS" && head.to_user.is_none();
        if !mine(&head.to_user) && !keep_alive {
            return refuse("To is not your extension");
        }
        if let super::message::Start::Request {
            uri_user: Some(user),
            ..
        } = &head.start
        {
            if *user != self.extension {
                return refuse("Request-URI is not your extension");
            }
        }
        Verdict::Forward
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::parse;

    fn msg(start: &str, from: &str, to: &str, call_id: &str, method: &str) -> Head {
        parse(&format!(
            "{start}\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK1\r\nFrom: {from}\r\nTo: {to}\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
        ))
        .unwrap()
    }

    #[test]
    fn registers_only_the_own_extension() {
        let p = AorPolicy::new("8001");
        let own = msg(
            "REGISTER sip:ccc SIP/2.0",
            "<sip:8001@ccc>;tag=1",
            "<sip:8001@ccc>",
            "r1",
            "REGISTER",
        );
        assert_eq!(p.check(&own), Verdict::Forward);
        for (from, to) in [
            ("<sip:8002@ccc>;tag=1", "<sip:8002@ccc>"),
            ("<sip:8001@ccc>;tag=1", "<sip:8002@ccc>"),
            ("<sip:8002@ccc>;tag=1", "<sip:8001@ccc>"),
            ("<sip:%38001@ccc>;tag=1", "<sip:8001@ccc>"),
            ("<sip:80011@ccc>;tag=1", "<sip:80011@ccc>"),
            ("<sip:ccc>;tag=1", "<sip:8001@ccc>"),
        ] {
            let other = msg("REGISTER sip:ccc SIP/2.0", from, to, "r2", "REGISTER");
            assert!(matches!(p.check(&other), Verdict::Refuse(_)), "{from} {to}");
        }
    }

    #[test]
    fn no_new_calls_to_anybody_else() {
        let p = AorPolicy::new("8001");
        let invite = msg(
            "INVITE sip:+8613800000000@ccc SIP/2.0",
            "<sip:8001@ccc>;tag=1",
            "<sip:8001@ccc>",
            "i1",
            "INVITE",
        );
        assert_eq!(
            p.check(&invite),
            Verdict::Refuse("Request-URI is not your extension")
        );
        let invite = msg(
            "INVITE sip:9@ccc SIP/2.0",
            "<sip:8001@ccc>;tag=1",
            "<sip:9@ccc>",
            "i1",
            "INVITE",
        );
        assert_eq!(
            p.check(&invite),
            Verdict::Refuse("To is not your extension")
        );
        let ping = msg(
            "OPTIONS sip:ccc SIP/2.0",
            "<sip:8001@ccc>;tag=1",
            "<sip:ccc>",
            "o1",
            "OPTIONS",
        );
        assert_eq!(p.check(&ping), Verdict::Forward);
        let ping = msg(
            "OPTIONS sip:ccc SIP/2.0",
            "<sip:8001@ccc>;tag=1",
            "<sip:8002@ccc>",
            "o1",
            "OPTIONS",
        );
        assert!(matches!(p.check(&ping), Verdict::Refuse(_)));
    }

    #[test]
    fn acts_in_dialogs_the_server_opened() {
        let mut p = AorPolicy::new("8001");
        let bye = msg(
            "BYE sip:cust@10.0.0.1 SIP/2.0",
            "<sip:8001@ccc>;tag=a",
            "<sip:+861380@ccc>;tag=b",
            "call-1",
            "BYE",
        );
        assert_eq!(
            p.check(&bye),
            Verdict::Refuse("Not a dialog the SIP server opened")
        );
        let ack = msg(
            "ACK sip:cust@10.0.0.1 SIP/2.0",
            "<sip:8001@ccc>;tag=a",
            "<sip:+861380@ccc>;tag=b",
            "call-1",
            "ACK",
        );
        assert!(matches!(p.check(&ack), Verdict::Drop(_)));
        let invite = msg(
            "INVITE sip:8001@a.invalid SIP/2.0",
            "<sip:+861380@ccc>;tag=b",
            "<sip:8001@ccc>",
            "call-1",
            "INVITE",
        );
        p.seen_from_server(&invite);
        assert_eq!(p.check(&bye), Verdict::Forward);
        assert_eq!(p.check(&ack), Verdict::Forward);
        // Still only as the own extension.
        let forged = msg(
            "BYE sip:c@1 SIP/2.0",
            "<sip:8002@ccc>;tag=a",
            "<sip:+861380@ccc>;tag=b",
            "call-1",
            "BYE",
        );
        assert!(matches!(p.check(&forged), Verdict::Refuse(_)));
        // Responses answer the server's requests only.
        let ok = |call_id: &str| {
            parse(&format!("SIP/2.0 200 OK\r\nVia: x\r\nFrom: <sip:9@c>;tag=1\r\nTo: <sip:8001@c>;tag=2\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\r\n")).unwrap()
        };
        assert_eq!(p.check(&ok("call-1")), Verdict::Forward);
        assert!(matches!(p.check(&ok("call-2")), Verdict::Drop(_)));
    }

    #[test]
    fn remembers_a_bounded_number_of_dialogs() {
        let mut p = AorPolicy::new("8001");
        for i in 0..DIALOGS + 5 {
            let invite = msg(
                "INVITE sip:8001@a SIP/2.0",
                "<sip:c@ccc>;tag=b",
                "<sip:8001@ccc>",
                &format!("c{i}"),
                "INVITE",
            );
            p.seen_from_server(&invite);
        }
        assert_eq!(p.dialogs.len(), DIALOGS);
        assert!(!p.dialogs.contains(&"c0".to_owned()));
    }

    #[test]
    fn an_unknown_extension_refuses_everything() {
        let p = AorPolicy::new("");
        let own = msg(
            "REGISTER sip:ccc SIP/2.0",
            "<sip:@ccc>;tag=1",
            "<sip:@ccc>",
            "r1",
            "REGISTER",
        );
        assert!(matches!(p.check(&own), Verdict::Refuse(_)));
    }
}
