//! The softphone relay `GET /api/v1/sip`: refusals before any upgrade
//! (`oneshot`), then real sockets on 127.0.0.1 through the proxy to a
//! small SIP-over-WebSocket registrar written here (the simulator's own
//! registrar and Kamailio are tested in their own files).

mod common;
mod sip_common;

use std::{net::SocketAddr, time::Duration};

use axum::{body::Body, http::Request};
use ccc_proxy::sip::message;
use common::*;
use futures_util::{SinkExt, StreamExt};
use sip_common::*;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_tungstenite::tungstenite::{
    client::IntoClientRequest,
    handshake::server::{Request as HsRequest, Response as HsResponse},
    protocol::frame::coding::CloseCode,
    Message,
};

/// The demo agents' extensions (simulator).
const EXT: &str = "80010001";
const OTHER_EXT: &str = "80010002";

/// A WebSocket upgrade request for the relay as `user` (header auth).
fn upgrade_req(user: &str, origin: Option<&str>, protocol: Option<&str>) -> Request<Body> {
    let mut b = Request::get("/api/v1/sip?device=dev-1")
        .header("host", "127.0.0.1:8080")
        .header("x-forwarded-user", user)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    if let Some(o) = origin {
        b = b.header("origin", o);
    }
    if let Some(p) = protocol {
        b = b.header("sec-websocket-protocol", p);
    }
    b.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn refusals_happen_before_any_upgrade() {
    let (sim, router, _) = setup(&["--sip-upstream", "ws://127.0.0.1:9/"]).await;
    // No identity.
    let mut anonymous = upgrade_req(AGENT, None, Some("sip"));
    anonymous.headers_mut().remove("x-forwarded-user");
    assert_error(
        &send(&router, anonymous).await,
        401,
        "Proxy.Unauthenticated",
        "proxy",
    );
    // Another site's page.
    let foreign = upgrade_req(AGENT, Some("http://evil.example"), Some("sip"));
    assert_error(
        &send(&router, foreign).await,
        403,
        "Proxy.Forbidden",
        "proxy",
    );
    // A DNS-rebinding host.
    let mut rebound = upgrade_req(AGENT, None, Some("sip"));
    rebound
        .headers_mut()
        .insert("host", "evil.example:8080".parse().unwrap());
    assert_error(
        &send(&router, rebound).await,
        403,
        "Proxy.Forbidden",
        "proxy",
    );
    // Not offering the `sip` subprotocol.
    let plain = upgrade_req(AGENT, Some("http://127.0.0.1:8080"), Some("chat"));
    assert_error(
        &send(&router, plain).await,
        400,
        "Proxy.BadRequest",
        "proxy",
    );
    // A device id that breaks the rule of every route.
    let mut bad_device = upgrade_req(AGENT, None, Some("sip"));
    *bad_device.uri_mut() = "/api/v1/sip?device=a%20b".parse().unwrap();
    assert_error(
        &send(&router, bad_device).await,
        400,
        "Proxy.BadRequest",
        "proxy",
    );
    // Not ON_SITE: the softphone is not offered.
    let (s, _, b) = send(
        &router,
        post(
            "/api/v1/agent/work-mode",
            AGENT2,
            r#"{"mode":"OFF_SITE","mobile":"13800000000"}"#,
        ),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let off_site = upgrade_req(AGENT2, None, Some("sip"));
    assert_error(
        &send(&router, off_site).await,
        409,
        "Proxy.SoftphoneOff",
        "proxy",
    );
    drop(sim);
}

#[tokio::test]
async fn the_relay_is_off_unless_enabled() {
    let (_sim, router, _) = setup(&[]).await;
    let req = upgrade_req(AGENT, None, Some("sip"));
    assert_error(&send(&router, req).await, 404, "Proxy.NotFound", "proxy");
}

/// A SIP-over-WebSocket registrar stand-in: answers REGISTER and OPTIONS
/// with 200, reports every message it receives, and sends what the test
/// pushes to its latest connection.
struct Registrar {
    url: String,
    received: mpsc::UnboundedReceiver<String>,
    push: mpsc::UnboundedSender<String>,
}

impl Registrar {
    async fn start() -> Registrar {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let (seen_tx, received) = mpsc::unbounded_channel();
        let (push, mut push_rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            // One connection at a time is enough for these tests; a new one
            // takes over the pushes.
            // Older connections stay open: their senders are kept.
            let mut connections: Vec<mpsc::UnboundedSender<String>> = Vec::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { return };
                        let (tx, rx) = mpsc::unbounded_channel();
                        connections.push(tx);
                        tokio::spawn(serve_registrar(stream, seen_tx.clone(), rx));
                    }
                    msg = push_rx.recv() => {
                        let Some(msg) = msg else { return };
                        if let Some(c) = connections.last() {
                            let _ = c.send(msg);
                        }
                    }
                }
            }
        });
        Registrar {
            url,
            received,
            push,
        }
    }

    async fn next(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(5), self.received.recv())
            .await
            .expect("the registrar receives a message within 5 s")
            .expect("registrar running")
    }
}

// tungstenite's handshake callback type has a large error variant.
#[allow(clippy::result_large_err)]
async fn serve_registrar(
    stream: TcpStream,
    seen: mpsc::UnboundedSender<String>,
    mut push: mpsc::UnboundedReceiver<String>,
) {
    let callback = |req: &HsRequest, mut res: HsResponse| {
        let offered = req
            .headers()
            .get("sec-websocket-protocol")
            .is_some_and(|p| p.to_str().unwrap_or("").contains("sip"));
        if offered {
            res.headers_mut()
                .insert("sec-websocket-protocol", "sip".parse().unwrap());
        }
        Ok(res)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    loop {
        tokio::select! {
            msg = ws.next() => {
                let Some(Ok(Message::Text(text))) = msg else { return };
                let text = text.to_string();
                if let Ok(head) = message::parse(&text) {
                    if matches!(head.method(), Some("REGISTER" | "OPTIONS")) {
                        let ok = message::local_response(&head, 200, "OK", &[]);
                        if ws.send(Message::text(ok)).await.is_err() {
                            return;
                        }
                    }
                }
                let _ = seen.send(text);
            }
            out = push.recv() => {
                let Some(out) = out else { return };
                if ws.send(Message::text(out)).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn register(from_ext: &str, to_ext: &str, call_id: &str) -> String {
    let auth = format!(
        "Authorization: Digest username=\"{from_ext}:1\", realm=\"ccc\", nonce=\"n\", uri=\"sip:ccc.example\", response=\"digest-response-secret\"\r\n"
    );
    sip_common::register(from_ext, to_ext, "ccc.example", call_id, 1, &auth)
}

fn options(call_id: &str) -> String {
    format!(
        "OPTIONS sip:ccc.example SIP/2.0\r\nVia: SIP/2.0/WS a.invalid;branch=z9hG4bK{call_id}\r\n\
         From: <sip:{EXT}@ccc.example>;tag=o\r\nTo: <sip:ccc.example>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

fn in_dialog(method: &str, call_id: &str) -> String {
    format!(
        "{method} sip:customer@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS a.invalid;branch=z9hG4bK{method}{call_id}\r\n\
         From: <sip:{EXT}@ccc.example>;tag=agent\r\nTo: <sip:+8613800000000@ccc.example>;tag=cust\r\n\
         Call-ID: {call_id}\r\nCSeq: 2 {method}\r\nContent-Length: 0\r\n\r\n"
    )
}

fn server_invite(call_id: &str) -> String {
    format!(
        "INVITE sip:abc@df7jal23ls0d.invalid;transport=ws SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1;branch=z9hG4bKsrv{call_id}\r\n\
         From: <sip:+8613800000000@ccc.example>;tag=cust\r\nTo: <sip:{EXT}@ccc.example>\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
}

/// A proxy on a real socket relaying to `upstream`, with `extra` flags.
async fn proxy(
    upstream: &str,
    extra: &[&str],
) -> (
    ccc_sim::RunningSim,
    String,
    ccc_proxy::AppState,
    tokio::sync::oneshot::Sender<()>,
) {
    let sim = sim().await;
    let mut flags = vec!["--sip-upstream", upstream];
    flags.extend_from_slice(extra);
    let (base, state, stop) = serve_on_socket(config(&sim.endpoint(), &flags)).await;
    (sim, base, state, stop)
}

#[tokio::test]
async fn registers_as_the_own_extension_and_nobody_else() {
    let mut registrar = Registrar::start().await;
    let (_sim, base, state, _stop) = proxy(&registrar.url, &[]).await;
    let mut ws = open(&base, AGENT, "dev-1").await;
    assert_eq!(state.metrics.sip().sockets(), 1);

    ws.send(Message::text(register(EXT, EXT, "reg-1")))
        .await
        .unwrap();
    let answer = recv_text(&mut ws).await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(registrar.next().await.starts_with("REGISTER"));

    // Somebody else's AOR, as From, as To, or both: 403 from the relay itself.
    for (from, to, id) in [
        (OTHER_EXT, OTHER_EXT, "x1"),
        (EXT, OTHER_EXT, "x2"),
        (OTHER_EXT, EXT, "x3"),
    ] {
        ws.send(Message::text(register(from, to, id)))
            .await
            .unwrap();
        let answer = recv_text(&mut ws).await;
        assert_eq!(status_of(&answer), 403, "{answer}");
        assert!(answer.contains(&format!("Call-ID: {id}")), "{answer}");
        assert!(
            answer.contains("Server: ccc-proxy relay"),
            "made by the relay: {answer}"
        );
    }
    // A new call to a number: refused too (calls go through MakeCall).
    let dial = "INVITE sip:+8613800000000@ccc.example SIP/2.0\r\nVia: SIP/2.0/WS a.invalid;branch=z9hG4bKd\r\n\
                From: <sip:80010001@ccc.example>;tag=d\r\nTo: <sip:+8613800000000@ccc.example>\r\nCall-ID: dial-1\r\n\
                CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    ws.send(Message::text(dial)).await.unwrap();
    assert_eq!(status_of(&recv_text(&mut ws).await), 403);
    // Nothing refused reached the server: the next thing it sees is this.
    ws.send(Message::text(options("ping-1"))).await.unwrap();
    assert_eq!(status_of(&recv_text(&mut ws).await), 200);
    let next = registrar.next().await;
    assert!(
        next.starts_with("OPTIONS"),
        "refused requests were never forwarded: {next}"
    );

    let sip = state.metrics.sip();
    assert_eq!(sip.registrations(), 1);
    assert_eq!(sip.refusals("aor"), 4);
    assert!(sip.bytes(ccc_proxy::metrics::sip::Direction::ToServer) > 0);
    assert!(sip.bytes(ccc_proxy::metrics::sip::Direction::ToBrowser) > 0);
    let text = state.metrics.render();
    assert!(
        text.contains("ccc_proxy_sip_registrations_total 1"),
        "{text}"
    );
    assert!(text.contains("ccc_proxy_sip_sockets 1"), "{text}");

    ws.close(None).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while state.metrics.sip().sockets() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the socket gauge falls back to 0"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn acts_only_in_dialogs_the_server_opened() {
    let mut registrar = Registrar::start().await;
    let (_sim, base, state, _stop) = proxy(&registrar.url, &[]).await;
    let mut ws = open(&base, AGENT, "dev-1").await;
    // A BYE for a call the server never offered: refused.
    ws.send(Message::text(in_dialog("BYE", "call-9")))
        .await
        .unwrap();
    assert_eq!(status_of(&recv_text(&mut ws).await), 403);
    // The server rings the agent; the agent's answer and BYE go through.
    registrar.push.send(server_invite("call-1")).unwrap();
    let invite = recv_text(&mut ws).await;
    assert!(invite.starts_with("INVITE "), "{invite}");
    assert_eq!(state.metrics.sip().calls(), 1);
    let ok = message::local_response(&message::parse(&invite).unwrap(), 200, "OK", &[]);
    ws.send(Message::text(ok)).await.unwrap();
    assert!(registrar.next().await.starts_with("SIP/2.0 200 OK"));
    ws.send(Message::text(in_dialog("BYE", "call-1")))
        .await
        .unwrap();
    assert!(registrar.next().await.starts_with("BYE "));
}

#[tokio::test]
async fn one_socket_per_device_the_newest_wins() {
    let mut registrar = Registrar::start().await;
    let (_sim, base, state, _stop) = proxy(&registrar.url, &["--sip-sockets-per-agent", "2"]).await;
    let mut first = open(&base, AGENT, "dev-1").await;
    let mut second = open(&base, AGENT, "dev-1").await;
    assert_eq!(close_code(&mut first).await, Some(CloseCode::Library(4001)));
    second
        .send(Message::text(options("after-replace")))
        .await
        .unwrap();
    assert_eq!(status_of(&recv_text(&mut second).await), 200);
    assert!(registrar.next().await.starts_with("OPTIONS"));
    assert_eq!(state.metrics.sip().refusals("replaced"), 1);
    // Another device is a second socket; a third device is one too many.
    let _other = open(&base, AGENT, "dev-2").await;
    let ws_url = format!(
        "{}/api/v1/sip?device=dev-3",
        base.replace("http://", "ws://")
    );
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut()
        .insert("x-forwarded-user", AGENT.parse().unwrap());
    req.headers_mut()
        .insert("sec-websocket-protocol", "sip".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 429),
        other => panic!("a third device is refused, got {:?}", other.map(|_| ())),
    }
    // Another agent has its own sockets.
    let _agent2 = open(&base, AGENT2, "dev-1").await;
}

#[tokio::test]
async fn oversized_messages_and_idle_sockets_are_closed() {
    let registrar = Registrar::start().await;
    let (_sim, base, state, _stop) = proxy(
        &registrar.url,
        &["--sip-max-message-bytes", "4096", "--sip-idle-secs", "1"],
    )
    .await;
    let mut ws = open(&base, AGENT, "dev-1").await;
    let huge = register(EXT, EXT, &"x".repeat(5000));
    ws.send(Message::text(huge)).await.unwrap();
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Size));
    assert_eq!(state.metrics.sip().refusals("too_large"), 1);

    let mut idle = open(&base, AGENT, "dev-1").await;
    let started = std::time::Instant::now();
    assert_eq!(close_code(&mut idle).await, Some(CloseCode::Library(4002)));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the idle time"
    );
    drop(registrar);
}

#[tokio::test]
async fn requests_beyond_the_rate_get_503_and_garbage_closes() {
    let mut registrar = Registrar::start().await;
    let (_sim, base, state, _stop) = proxy(
        &registrar.url,
        &["--sip-rate-burst", "2", "--sip-rate-per-minute", "1"],
    )
    .await;
    let mut ws = open(&base, AGENT, "dev-1").await;
    for i in 0..2 {
        ws.send(Message::text(options(&format!("r{i}"))))
            .await
            .unwrap();
        assert_eq!(status_of(&recv_text(&mut ws).await), 200);
        assert!(registrar.next().await.starts_with("OPTIONS"));
    }
    ws.send(Message::text(options("r2"))).await.unwrap();
    let busy = recv_text(&mut ws).await;
    assert_eq!(status_of(&busy), 503, "{busy}");
    assert!(busy.contains("Retry-After: 1"), "{busy}");
    assert_eq!(state.metrics.sip().refusals("rate"), 1);

    ws.send(Message::text("GET / HTTP/1.1\r\n\r\n"))
        .await
        .unwrap();
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Policy));
}

#[tokio::test]
async fn an_unreachable_sip_server_is_a_502_before_the_upgrade() {
    let port = free_port();
    let (_sim, base, _state, _stop) = proxy(&format!("ws://127.0.0.1:{port}/"), &[]).await;
    let ws_url = format!("{}/api/v1/sip", base.replace("http://", "ws://"));
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut()
        .insert("x-forwarded-user", AGENT.parse().unwrap());
    req.headers_mut()
        .insert("sec-websocket-protocol", "sip".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 502);
            let body =
                String::from_utf8_lossy(res.body().as_deref().unwrap_or_default()).into_owned();
            assert!(body.contains("Proxy.SipServerUnreachable"), "{body}");
        }
        other => panic!("expected a 502, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn a_wss_upstream_speaks_tls() {
    // A server that reads the first bytes and hangs up: a TLS ClientHello
    // starts with a handshake record (0x16), a plain WebSocket with "GET".
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let first = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut b = [0u8; 1];
        tokio::io::AsyncReadExt::read_exact(&mut s, &mut b)
            .await
            .unwrap();
        b[0]
    });
    let (_sim, base, _state, _stop) = proxy(&format!("wss://localhost:{port}/"), &[]).await;
    let ws_url = format!("{}/api/v1/sip", base.replace("http://", "ws://"));
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut()
        .insert("x-forwarded-user", AGENT.parse().unwrap());
    req.headers_mut()
        .insert("sec-websocket-protocol", "sip".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 502),
        other => panic!("expected a 502, got {:?}", other.map(|_| ())),
    }
    assert_eq!(first.await.unwrap(), 0x16, "a TLS handshake record");
}

// tungstenite's handshake callback type has a large error variant.
#[allow(clippy::result_large_err)]
#[tokio::test]
async fn the_sip_server_closing_closes_the_browser_socket() {
    // A registrar that accepts the WebSocket and closes it on the first message.
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let callback = |_: &HsRequest, mut res: HsResponse| {
            res.headers_mut()
                .insert("sec-websocket-protocol", "sip".parse().unwrap());
            Ok(res)
        };
        let mut ws = tokio_tungstenite::accept_hdr_async(stream, callback)
            .await
            .unwrap();
        let _ = ws.next().await;
        let _ = ws.close(None).await;
    });
    let (_sim, base, _state, _stop) = proxy(&url, &[]).await;
    let mut ws = open(&base, AGENT, "dev-1").await;
    ws.send(Message::text(options("bye"))).await.unwrap();
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Library(4003)));
}
