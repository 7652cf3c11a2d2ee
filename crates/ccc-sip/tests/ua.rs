//! The user agent driven with messages, as the simulator's registrar and
//! media peer would send them.

use ccc_sip::{
    digest::{Algorithm, Challenge, Credentials},
    ua::{CallPhase, EndReason, Output, RegFailure, RegState, AUTO_ANSWER},
    Message, Method, UaConfig, UaEvent, UserAgent,
};

const AOR: &str = "sip:8001@ccc.test";
const USER: &str = "8001:1900000000000";
const PASS: &str = "c2VjcmV0";
const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=sendrecv\r\n";
const ANSWER: &str =
    "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n";

fn ua() -> UserAgent {
    UserAgent::new(UaConfig::new(AOR, "Alice", USER, PASS), 42)
}

fn drain(ua: &mut UserAgent) -> (Vec<Message>, Vec<UaEvent>) {
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    while let Some(o) = ua.poll_output() {
        match o {
            Output::Send(f) => sent.push(Message::parse(&f).expect("the UA prints parseable SIP")),
            Output::Event(e) => events.push(e),
        }
    }
    (sent, events)
}

fn one(ua: &mut UserAgent) -> Message {
    let (mut sent, _) = drain(ua);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    sent.remove(0)
}

/// A 200 for a REGISTER, granting `expires` to the request's Contact.
fn register_ok(req: &Message, expires: u32) -> String {
    let contact = req
        .contact()
        .unwrap()
        .with_param("expires", Some(&expires.to_string()));
    req.reply(200, Some("reg"))
        .with("Contact", contact.to_string())
        .to_string()
}

fn challenge(req: &Message, nonce: &str, stale: bool) -> String {
    let ch = Challenge::new("ccc.test", nonce, Algorithm::Sha256, stale);
    req.reply(401, Some("reg"))
        .with("WWW-Authenticate", ch.to_string())
        .to_string()
}

fn auth(req: &Message) -> Credentials {
    Credentials::parse(req.header("Authorization").expect("Authorization")).unwrap()
}

/// Registers `ua` at time 0 with a 120 s grant; returns the last REGISTER.
fn registered(ua: &mut UserAgent) -> Message {
    ua.connected(0);
    let r1 = one(ua);
    ua.receive(&challenge(&r1, "n1", false), 10);
    let r2 = one(ua);
    ua.receive(&register_ok(&r2, 120), 20);
    drain(ua);
    r2
}

#[test]
fn register_with_digest_refresh_and_stale_nonce() {
    let mut ua = ua();
    ua.connected(0);
    let (sent, events) = drain(&mut ua);
    assert_eq!(events, vec![UaEvent::Registration(RegState::Registering)]);
    let r1 = &sent[0];
    assert_eq!(r1.method(), Some(Method::Register));
    assert_eq!(r1.request_uri(), Some("sip:ccc.test"));
    assert_eq!(r1.to().unwrap().uri, AOR);
    assert_eq!(r1.from().unwrap().uri, AOR);
    assert!(r1.header("Authorization").is_none());
    assert!(r1.via().unwrap().sent_by.ends_with(".invalid"));

    ua.receive(&challenge(r1, "n1", false), 10);
    let r2 = one(&mut ua);
    assert_eq!(r2.call_id(), r1.call_id());
    assert_eq!(r2.cseq().unwrap().seq, r1.cseq().unwrap().seq + 1);
    let c = auth(&r2);
    assert_eq!(c.username, USER);
    assert_eq!(c.algorithm, Algorithm::Sha256);
    assert_eq!(c.nc, Some(1));
    assert!(c.verify("REGISTER", PASS), "the registrar accepts it");
    assert!(!c.verify("REGISTER", "wrong"));

    ua.receive(&register_ok(&r2, 120), 20);
    let (_, events) = drain(&mut ua);
    assert_eq!(
        events,
        vec![UaEvent::Registration(RegState::Registered {
            until: 120_020
        })]
    );
    // A keep-alive OPTIONS every 30 s, from the agent to the server.
    assert_eq!(ua.next_deadline(), Some(20 + 30_000));
    ua.tick(29_000);
    assert!(ua.poll_output().is_none(), "nothing due yet");
    ua.tick(30_020);
    let ka = one(&mut ua);
    assert_eq!(ka.method(), Some(Method::Options));
    assert_eq!(ka.request_uri(), Some("sip:ccc.test"));
    assert_eq!(ka.from().unwrap().user().as_deref(), Some("8001"));
    assert!(ccc_sip::check_own(&ka, "8001").is_ok());
    // Refresh at 90 % of the grant, pre-authorized with the next nc.
    for t in [60_020, 90_020] {
        ua.tick(t);
        assert_eq!(one(&mut ua).method(), Some(Method::Options));
    }
    assert_eq!(ua.next_deadline(), Some(20 + 108_000));
    ua.tick(108_020);
    let r3 = one(&mut ua);
    let c3 = auth(&r3);
    assert_eq!(c3.nc, Some(2));
    assert!(c3.verify("REGISTER", PASS));

    // The server's nonce expired: stale=true is retried at once, silently.
    ua.receive(&challenge(&r3, "n2", true), 108_030);
    let (sent, events) = drain(&mut ua);
    assert!(events.is_empty(), "{events:?}");
    let c4 = auth(&sent[0]);
    assert_eq!((c4.nonce.as_str(), c4.nc), ("n2", Some(1)));
    ua.receive(&register_ok(&sent[0], 120), 108_040);
    assert!(matches!(ua.registration(), RegState::Registered { .. }));
}

#[test]
fn refused_credentials_fail_without_retry() {
    let mut ua = ua();
    ua.connected(0);
    let r1 = one(&mut ua);
    ua.receive(&challenge(&r1, "n1", false), 10);
    let r2 = one(&mut ua);
    ua.receive(&challenge(&r2, "n2", false), 20);
    let (sent, events) = drain(&mut ua);
    assert!(sent.is_empty());
    assert_eq!(
        events,
        vec![UaEvent::Registration(RegState::Failed(
            RegFailure::Credentials
        ))]
    );
    assert_eq!(ua.next_deadline(), None);

    // New credentials from a refreshed session, a new socket: it registers.
    ua.set_credentials("8001:1900000001000", "bmV3");
    ua.connected(30);
    let r3 = one(&mut ua);
    ua.receive(&challenge(&r3, "n3", false), 40);
    let r4 = one(&mut ua);
    assert!(auth(&r4).verify("REGISTER", "bmV3"));
}

#[test]
fn timeout_and_server_errors_retry_later() {
    let mut ua = ua();
    ua.connected(0);
    drain(&mut ua);
    ua.tick(32_000);
    let (_, events) = drain(&mut ua);
    assert_eq!(
        events,
        vec![UaEvent::Registration(RegState::Failed(RegFailure::Timeout))]
    );
    assert_eq!(ua.next_deadline(), Some(47_000));
    ua.tick(47_000);
    let r = one(&mut ua);
    ua.receive(&r.reply(503, None).to_string(), 47_010);
    assert_eq!(
        ua.registration(),
        &RegState::Failed(RegFailure::Status(503))
    );
    // 403 is final.
    ua.tick(62_010);
    let r = one(&mut ua);
    ua.receive(&r.reply(403, None).to_string(), 62_020);
    assert_eq!(ua.registration(), &RegState::Failed(RegFailure::Forbidden));
    assert_eq!(ua.next_deadline(), None);
}

#[test]
fn disconnect_then_reconnect_registers_again_and_unregister_removes() {
    let mut ua = ua();
    registered(&mut ua);
    ua.disconnected(1_000);
    let (_, events) = drain(&mut ua);
    assert_eq!(
        events,
        vec![UaEvent::Registration(RegState::Failed(
            RegFailure::Disconnected
        ))]
    );
    assert_eq!(ua.next_deadline(), None);
    ua.connected(2_000);
    let r = one(&mut ua);
    assert!(
        auth(&r).verify("REGISTER", PASS),
        "pre-authorized with the last nonce"
    );
    ua.receive(&register_ok(&r, 120), 2_010);
    drain(&mut ua);

    ua.unregister(3_000);
    let r = one(&mut ua);
    assert_eq!(r.header("Expires"), Some("0"));
    assert_eq!(r.contact().unwrap().param("expires"), Some("0"));
    ua.receive(&r.reply(200, None).to_string(), 3_010);
    let (_, events) = drain(&mut ua);
    assert_eq!(events, vec![UaEvent::Registration(RegState::Unregistered)]);
    // No keep-alive and no refresh once unregistered.
    assert_eq!(ua.next_deadline(), None);
}

fn invite(call_id: &str, extra: &str) -> String {
    format!(
        "INVITE sip:x@y.invalid;transport=ws SIP/2.0\r\n\
         Via: SIP/2.0/WS sim.invalid;branch=z9hG4bK{call_id}\r\n\
         Record-Route: <sip:edge.ccc.test;lr>\r\n\
         From: \"Customer\" <sip:13800000000@ccc.test>;tag=cust\r\n\
         To: <sip:8001@ccc.test>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 7 INVITE\r\n\
         Contact: <sip:customer@sim.invalid;transport=ws>\r\n\
         {extra}Content-Type: application/sdp\r\n\r\n{OFFER}"
    )
}

fn ack(ok: &Message) -> String {
    format!(
        "ACK sip:x@y.invalid SIP/2.0\r\nVia: SIP/2.0/WS sim.invalid;branch=z9hG4bKack\r\n\
         From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} ACK\r\n\r\n",
        ok.header("From").unwrap(),
        ok.header("To").unwrap(),
        ok.call_id().unwrap(),
        ok.cseq().unwrap().seq
    )
}

#[test]
fn inbound_call_ring_answer_ack_remote_bye() {
    let mut ua = ua();
    registered(&mut ua);
    ua.receive(&invite("c1", ""), 1_000);
    let (sent, events) = drain(&mut ua);
    assert_eq!(
        sent.iter().map(|m| m.status()).collect::<Vec<_>>(),
        [Some(100), Some(180)]
    );
    let tag = sent[1].to().unwrap().tag().unwrap().to_owned();
    assert!(sent[1].contact().is_some());
    let [UaEvent::Incoming(inc)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(inc.call_id, "c1");
    assert_eq!(inc.user.as_deref(), Some("13800000000"));
    assert_eq!(inc.display.as_deref(), Some("Customer"));
    assert_eq!(inc.offer, OFFER);
    assert!(!inc.auto_answer);
    assert_eq!(ua.call_phase(), Some(CallPhase::Ringing));

    // A retransmitted INVITE gets the 180 again, not a second call.
    ua.receive(&invite("c1", ""), 1_100);
    assert_eq!(one(&mut ua).status(), Some(180));

    assert!(ua.answer(ANSWER, 2_000));
    let ok = one(&mut ua);
    assert_eq!(ok.status(), Some(200));
    assert_eq!(ok.to().unwrap().tag(), Some(tag.as_str()));
    assert_eq!(ok.body, ANSWER);
    assert_eq!(ok.header("Content-Type"), Some("application/sdp"));
    assert_eq!(ok.header("Record-Route"), Some("<sip:edge.ccc.test;lr>"));
    // Retransmitted (T1, doubling) until the ACK.
    assert_eq!(ua.next_deadline(), Some(2_500));
    ua.tick(2_500);
    assert_eq!(one(&mut ua), ok);
    assert_eq!(ua.next_deadline(), Some(3_500));
    ua.receive(&ack(&ok), 2_600);
    let (sent, events) = drain(&mut ua);
    assert!(sent.is_empty());
    assert_eq!(events, vec![UaEvent::Confirmed]);
    assert_eq!(ua.call_phase(), Some(CallPhase::Confirmed));
    ua.tick(3_500);
    assert!(
        ua.poll_output().is_none(),
        "no retransmission after the ACK"
    );

    let bye = format!(
        "BYE sip:x@y.invalid SIP/2.0\r\nVia: SIP/2.0/WS sim.invalid;branch=z9hG4bKbye\r\n\
         From: <sip:13800000000@ccc.test>;tag=cust\r\nTo: <sip:8001@ccc.test>;tag={tag}\r\n\
         Call-ID: c1\r\nCSeq: 8 BYE\r\n\r\n"
    );
    ua.receive(&bye, 9_000);
    let (sent, events) = drain(&mut ua);
    assert_eq!(sent[0].status(), Some(200));
    assert_eq!(sent[0].method(), Some(Method::Bye));
    assert_eq!(events, vec![UaEvent::Ended(EndReason::RemoteBye)]);
    assert_eq!(ua.call_phase(), None);
    // A BYE for a call that is gone: 481.
    ua.receive(&bye, 9_100);
    assert_eq!(one(&mut ua).status(), Some(481));
}

#[test]
fn auto_answer_marker_and_busy_second_call() {
    let mut ua = ua();
    registered(&mut ua);
    ua.receive(
        &invite(
            "c2",
            &format!("Call-Info: <sip:ccc.test>;{AUTO_ANSWER}=0\r\n"),
        ),
        0,
    );
    let (_, events) = drain(&mut ua);
    let [UaEvent::Incoming(inc)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert!(inc.auto_answer);
    // While one call rings, another gets 486 Busy Here.
    ua.receive(&invite("c3", ""), 10);
    let (sent, events) = drain(&mut ua);
    assert_eq!(sent[0].status(), Some(486));
    assert!(events.is_empty());
    assert_eq!(ua.call_phase(), Some(CallPhase::Ringing));
    // `answer-after=5` is not "answer at once".
    let mut ua2 = self::ua();
    ua2.receive(
        &invite("c4", "Call-Info: <sip:ccc.test>;answer-after=5\r\n"),
        0,
    );
    let (_, events) = drain(&mut ua2);
    assert!(matches!(&events[0], UaEvent::Incoming(i) if !i.auto_answer));
}

#[test]
fn cancel_before_answer_gives_487() {
    let mut ua = ua();
    ua.receive(&invite("c5", ""), 0);
    drain(&mut ua);
    let cancel = "CANCEL sip:x@y.invalid;transport=ws SIP/2.0\r\n\
         Via: SIP/2.0/WS sim.invalid;branch=z9hG4bKc5\r\n\
         From: \"Customer\" <sip:13800000000@ccc.test>;tag=cust\r\nTo: <sip:8001@ccc.test>\r\n\
         Call-ID: c5\r\nCSeq: 7 CANCEL\r\n\r\n";
    ua.receive(cancel, 100);
    let (sent, events) = drain(&mut ua);
    assert_eq!(
        sent.iter()
            .map(|m| (m.status(), m.method()))
            .collect::<Vec<_>>(),
        [
            (Some(200), Some(Method::Cancel)),
            (Some(487), Some(Method::Invite))
        ]
    );
    assert!(sent[1].to().unwrap().tag().is_some());
    assert_eq!(events, vec![UaEvent::Ended(EndReason::Cancelled)]);
    // A CANCEL nobody knows: 481.
    ua.receive(cancel, 200);
    assert_eq!(one(&mut ua).status(), Some(481));
}

#[test]
fn local_hangup_sends_bye_in_the_dialog() {
    let mut ua = ua();
    ua.receive(&invite("c6", ""), 0);
    drain(&mut ua);
    ua.answer(ANSWER, 10);
    let ok = one(&mut ua);
    ua.receive(&ack(&ok), 20);
    drain(&mut ua);
    ua.hangup(5_000);
    let (sent, events) = drain(&mut ua);
    let bye = &sent[0];
    assert_eq!(bye.method(), Some(Method::Bye));
    assert_eq!(
        bye.request_uri(),
        Some("sip:customer@sim.invalid;transport=ws")
    );
    assert_eq!(bye.header("Route"), Some("<sip:edge.ccc.test;lr>"));
    assert_eq!(bye.from().unwrap().tag(), ok.to().unwrap().tag());
    assert_eq!(bye.from().unwrap().user().as_deref(), Some("8001"));
    assert_eq!(bye.to().unwrap().tag(), Some("cust"));
    assert_eq!(bye.call_id().unwrap(), "c6");
    assert_eq!(events, vec![UaEvent::Ended(EndReason::LocalBye)]);
    assert!(
        ccc_sip::check_own(bye, "8001").is_ok(),
        "the relay lets it through"
    );
}

#[test]
fn decline_ringing_and_hangup_before_ack_waits_for_it() {
    let mut ua = ua();
    ua.receive(&invite("c7", ""), 0);
    drain(&mut ua);
    ua.hangup(10);
    let (sent, events) = drain(&mut ua);
    assert_eq!(sent[0].status(), Some(603));
    assert_eq!(events, vec![UaEvent::Ended(EndReason::Declined)]);

    ua.receive(&invite("c8", ""), 100);
    drain(&mut ua);
    ua.answer(ANSWER, 110);
    let ok = one(&mut ua);
    ua.hangup(120);
    assert!(ua.poll_output().is_none(), "no BYE before the ACK");
    ua.receive(&ack(&ok), 130);
    let (sent, events) = drain(&mut ua);
    assert_eq!(sent[0].method(), Some(Method::Bye));
    assert_eq!(events, vec![UaEvent::Ended(EndReason::LocalBye)]);
}

#[test]
fn unacknowledged_200_ends_the_call() {
    let mut ua = ua();
    ua.receive(&invite("c9", ""), 0);
    drain(&mut ua);
    ua.answer(ANSWER, 0);
    drain(&mut ua);
    let mut now = 0;
    let mut retransmits = 0;
    while let Some(t) = ua.next_deadline() {
        now = t;
        ua.tick(now);
        let (sent, events) = drain(&mut ua);
        if let Some(UaEvent::Ended(why)) = events.first() {
            assert_eq!(*why, EndReason::AckTimeout);
            assert_eq!(sent.last().unwrap().method(), Some(Method::Bye));
            break;
        }
        retransmits += sent.len();
    }
    assert_eq!(now, 32_000);
    // 0.5, 1.5, 3.5, 7.5, 11.5, … 31.5 s: T1 doubling up to T2.
    assert_eq!(retransmits, 10);
}

#[test]
fn reinvite_hold_and_unhold_are_answered() {
    let mut ua = ua();
    ua.receive(&invite("c10", ""), 0);
    drain(&mut ua);
    ua.answer(ANSWER, 0);
    let ok = one(&mut ua);
    ua.receive(&ack(&ok), 10);
    drain(&mut ua);
    let tag = ok.to().unwrap().tag().unwrap().to_owned();
    let reinvite = |cseq: u32, dir: &str| {
        invite("c10", "")
            .replace(
                "To: <sip:8001@ccc.test>",
                &format!("To: <sip:8001@ccc.test>;tag={tag}"),
            )
            .replace("CSeq: 7 INVITE", &format!("CSeq: {cseq} INVITE"))
            .replace("branch=z9hG4bKc10", &format!("branch=z9hG4bKre{cseq}"))
            .replace("a=sendrecv", dir)
    };
    ua.receive(&reinvite(8, "a=sendonly"), 1_000);
    let (sent, events) = drain(&mut ua);
    assert!(sent.is_empty());
    assert!(matches!(&events[..], [UaEvent::Reoffer { held: true, .. }]));
    assert!(ua.held());
    assert!(ua.accept_reoffer("v=0\r\na=recvonly\r\n", 1_010));
    let ok2 = one(&mut ua);
    assert_eq!((ok2.status(), ok2.cseq().unwrap().seq), (Some(200), 8));
    assert_eq!(ok2.body, "v=0\r\na=recvonly\r\n");
    ua.receive(&ack(&ok2), 1_020);
    let (_, events) = drain(&mut ua);
    assert!(
        events.is_empty(),
        "a re-INVITE's ACK is not a new call: {events:?}"
    );
    assert_eq!(ua.call_phase(), Some(CallPhase::Confirmed));

    ua.receive(&reinvite(9, "a=sendrecv"), 2_000);
    let (_, events) = drain(&mut ua);
    assert!(matches!(
        &events[..],
        [UaEvent::Reoffer { held: false, .. }]
    ));
    ua.reject_reoffer();
    assert_eq!(one(&mut ua).status(), Some(488));
    // An old CSeq is refused.
    ua.receive(&reinvite(9, "a=sendrecv"), 3_000);
    assert_eq!(one(&mut ua).status(), Some(500));
}

#[test]
fn options_keepalive_and_unknown_methods() {
    let mut ua = ua();
    let options = "OPTIONS sip:x@y.invalid SIP/2.0\r\nVia: SIP/2.0/WS sim.invalid;branch=z9hG4bKo\r\n\
         From: <sip:ccc.test>;tag=o\r\nTo: <sip:8001@ccc.test>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\n\r\n";
    ua.receive(options, 0);
    let r = one(&mut ua);
    assert_eq!(r.status(), Some(200));
    assert!(r.header("Allow").unwrap().contains("INVITE"));
    ua.receive(&options.replace("OPTIONS", "SUBSCRIBE"), 0);
    assert_eq!(one(&mut ua).status(), Some(405));
    // Without a Call-ID: 400. Garbage: ignored.
    ua.receive(&options.replace("Call-ID: o1\r\n", ""), 0);
    assert_eq!(one(&mut ua).status(), Some(400));
    ua.receive("not sip", 0);
    assert!(ua.poll_output().is_none());
}
