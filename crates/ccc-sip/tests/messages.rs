//! Parse/print round trips on messages shaped like the ones the softphone,
//! the relay and the registrar exchange (RFC 7118 §A and RFC 3261 examples).

use ccc_sip::{
    aor::{check_own_frame, AorRefusal},
    header::{NameAddr, SipUri, Via},
    Message, Method, SipError, StartLine,
};

const REGISTER: &str = "REGISTER sip:ccc.example SIP/2.0\r\n\
Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKasudf;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice \\\"A\\\" Li\" <sip:8001@ccc.example>;tag=65bnmj.34asd\r\n\
To: <sip:8001@ccc.example>\r\n\
Call-ID: aiuy7k9njasd\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:abc@df7jal23ls0d.invalid;transport=ws>;expires=600;+sip.instance=\"<urn:uuid:1>\"\r\n\
Authorization: Digest username=\"8001:1700000000000\", realm=\"ccc\", nonce=\"n\", uri=\"sip:ccc.example\", response=\"00\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c\"\r\n\
Content-Length: 0\r\n\r\n";

const INVITE: &str = "INVITE sip:abc@df7jal23ls0d.invalid;transport=ws SIP/2.0\r\n\
v: SIP/2.0/WSS sim.invalid;branch=z9hG4bK56sdasks, SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKold\r\n\
f: \"Customer\" <sip:13800000000@ccc.example>;tag=cust1\r\n\
t: <sip:8001@ccc.example>\r\n\
i: call-1@sim\r\n\
CSeq: 314159 INVITE\r\n\
m: <sip:sim@sim.invalid;transport=ws>\r\n\
Call-Info: <sip:ccc.example>;answer-after=0\r\n\
Subject: folded\r\n  continues here\r\n\
c: application/sdp\r\n\
l: 14\r\n\r\nv=0\r\no=- 1 1\r\n";

#[test]
fn register_round_trip() {
    let m = Message::parse(REGISTER).unwrap();
    assert_eq!(
        m.start,
        StartLine::Request {
            method: Method::Register,
            uri: "sip:ccc.example".into()
        }
    );
    let from = m.from().unwrap();
    assert_eq!(from.display.as_deref(), Some("Alice \"A\" Li"));
    assert_eq!(from.tag(), Some("65bnmj.34asd"));
    assert_eq!(from.user().as_deref(), Some("8001"));
    assert_eq!(m.to().unwrap().tag(), None);
    assert_eq!(m.cseq().unwrap().seq, 1);
    assert_eq!(m.via().unwrap().branch(), Some("z9hG4bKasudf"));
    assert_eq!(m.via().unwrap().transport, "WSS");
    let contact = m.contact().unwrap();
    assert_eq!(contact.param("expires"), Some("600"));
    assert_eq!(contact.param("+sip.instance"), Some("\"<urn:uuid:1>\""));
    let auth = ccc_sip::Credentials::parse(m.header("Authorization").unwrap()).unwrap();
    assert_eq!(auth.username, "8001:1700000000000");
    assert_eq!(auth.nc, Some(1));

    // print → parse gives the same message, and printing is stable.
    let printed = m.to_string();
    assert_eq!(Message::parse(&printed).unwrap(), m);
    assert_eq!(printed, REGISTER);
}

#[test]
fn invite_compact_forms_folding_and_body() {
    let m = Message::parse(INVITE).unwrap();
    assert_eq!(m.method(), Some(Method::Invite));
    assert_eq!(m.call_id().unwrap(), "call-1@sim");
    assert_eq!(m.header("Subject"), Some("folded continues here"));
    assert_eq!(m.header_values("Via").count(), 2);
    assert_eq!(m.via().unwrap().sent_by, "sim.invalid");
    assert_eq!(m.body, "v=0\r\no=- 1 1\r\n");
    let call_info = NameAddr::parse(m.header("Call-Info").unwrap()).unwrap();
    assert_eq!(call_info.param("answer-after"), Some("0"));
    let again = Message::parse(&m.to_string()).unwrap();
    assert_eq!(again, m);
    assert!(m.to_string().contains("Content-Length: 14\r\n"));
}

#[test]
fn reply_copies_dialog_headers_and_adds_to_tag() {
    let inv = Message::parse(INVITE).unwrap();
    let r = inv.reply(180, Some("agent1"));
    assert_eq!(r.status(), Some(180));
    assert_eq!(r.header_values("Via").count(), 2);
    assert_eq!(r.to().unwrap().tag(), Some("agent1"));
    assert_eq!(r.from().unwrap().tag(), Some("cust1"));
    assert_eq!(r.call_id().unwrap(), "call-1@sim");
    assert_eq!(r.method(), Some(Method::Invite));
    let printed = r.to_string();
    assert!(printed.starts_with("SIP/2.0 180 Ringing\r\n"), "{printed}");
    assert_eq!(Message::parse(&printed).unwrap(), r);
    // An existing To tag is kept.
    let r2 = Message::parse(&printed).unwrap();
    let mut req = Message::request(Method::Bye, "sip:x@y");
    req.push("To", r2.header("To").unwrap());
    assert_eq!(
        req.reply(200, Some("other")).to().unwrap().tag(),
        Some("agent1")
    );
}

#[test]
fn responses_parse() {
    let m = Message::parse(
        "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK1\r\n\
         From: <sip:8001@d>;tag=1\r\nTo: <sip:8001@d>;tag=2\r\nCall-ID: x\r\nCSeq: 2 REGISTER\r\n\
         WWW-Authenticate: Digest realm=\"d\", nonce=\"abc\", qop=\"auth\", algorithm=SHA-256\r\n\r\n",
    )
    .unwrap();
    assert_eq!(m.status(), Some(401));
    assert_eq!(m.method(), Some(Method::Register));
    let ch = ccc_sip::Challenge::parse(m.header("WWW-Authenticate").unwrap()).unwrap();
    assert_eq!(ch.algorithm, ccc_sip::Algorithm::Sha256);
    // LF-only line ends are accepted too.
    let lf = Message::parse("SIP/2.0 200 OK\nCSeq: 1 OPTIONS\nCall-ID: q\n\n").unwrap();
    assert_eq!(lf.status(), Some(200));
}

#[test]
fn bad_input_is_a_clear_error() {
    assert!(matches!(Message::parse(""), Err(SipError::StartLine(_))));
    assert!(matches!(
        Message::parse("HELLO\r\n\r\n"),
        Err(SipError::StartLine(_))
    ));
    assert!(matches!(
        Message::parse("SIP/2.0 99 Low\r\n\r\n"),
        Err(SipError::StartLine(_))
    ));
    assert!(matches!(
        Message::parse("OPTIONS sip:a SIP/2.0\r\nNoColonHere\r\n\r\n"),
        Err(SipError::HeaderLine(_))
    ));
    assert_eq!(
        Message::parse("OPTIONS sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nshort"),
        Err(SipError::ContentLength {
            declared: 10,
            actual: 5
        })
    );
    let m = Message::parse("OPTIONS sip:a SIP/2.0\r\nCSeq: x OPTIONS\r\n\r\n").unwrap();
    assert!(matches!(
        m.cseq(),
        Err(SipError::BadHeader { name: "CSeq", .. })
    ));
    assert_eq!(m.call_id(), Err(SipError::Missing("Call-ID")));
}

#[test]
fn uris_and_vias() {
    let u = SipUri::parse("sips:8001@[::1]:5061;transport=ws;ob").unwrap();
    assert_eq!(u.user.as_deref(), Some("8001"));
    assert_eq!(u.host, "[::1]");
    assert_eq!(u.port, Some(5061));
    assert_eq!(u.param("ob"), Some(""));
    assert_eq!(u.to_string(), "sips:8001@[::1]:5061;transport=ws;ob");
    assert!(SipUri::parse("tel:+861380000").is_none());
    assert!(SipUri::parse("sip:8001@host:notaport").is_none());
    let v = Via::new("WSS", "x.invalid", "abc");
    assert_eq!(
        v.to_string(),
        "SIP/2.0/WSS x.invalid;branch=z9hG4bKabc;rport"
    );
    assert_eq!(Via::parse(&v.to_string()).unwrap(), v);
    assert!(Via::parse("SIP/3.0/WS x").is_none());
}

#[test]
fn aor_check_refuses_other_users() {
    assert_eq!(check_own_frame(REGISTER, "8001"), Ok(()));
    assert_eq!(
        check_own_frame(REGISTER, "8002"),
        Err(AorRefusal::NotOwn {
            header: "From",
            user: "8001".into()
        })
    );
    // REGISTER binding someone else's AOR while claiming to be us.
    let hijack = REGISTER.replace("To: <sip:8001@", "To: <sip:9009@");
    assert_eq!(
        check_own_frame(&hijack, "8001"),
        Err(AorRefusal::NotOwn {
            header: "To",
            user: "9009".into()
        })
    );
    // An INVITE from the agent must come From the agent.
    assert!(check_own_frame(INVITE, "8001").is_err());
    // The agent's answer to an INVITE addressed to it is fine.
    let ok = Message::parse(INVITE)
        .unwrap()
        .reply(200, Some("t"))
        .to_string();
    assert_eq!(check_own_frame(&ok, "8001"), Ok(()));
    assert_eq!(
        check_own_frame("garbage", "8001"),
        Err(AorRefusal::Unreadable)
    );
    let anon = "OPTIONS sip:a SIP/2.0\r\nFrom: <tel:123>\r\n\r\n";
    assert_eq!(
        check_own_frame(anon, "8001"),
        Err(AorRefusal::NoUser("From"))
    );
}
