//! Single-use tickets for the softphone relay (`POST /api/v1/sip/ticket`,
//! then `GET /api/v1/sip?ticket=`): how a widget that authenticates with a
//! bearer JWT (`--auth jwt`), which a browser cannot put on a WebSocket,
//! opens the relay. `oneshot` for the refusals; real sockets to the
//! simulator's SIP server for the redemption, once; two replicas sharing a
//! `redis-server` for a ticket issued by one and redeemed by the other.

mod common;
mod sip_common;

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{body::Body, http::Request};
use ccc_model::api::SipTicket;
use common::*;
use futures_util::SinkExt;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use sip_common::*;
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

const HS_SECRET: &str = "sip-ticket-hs256-secret-0123456789";
const EXT: &str = "80010001";

fn jwt_flags() -> Vec<&'static str> {
    vec![
        "--sip-relay",
        "--auth",
        "jwt",
        "--jwt-hs256-secret",
        HS_SECRET,
    ]
}

fn token(sub: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    encode(
        &Header::new(Algorithm::HS256),
        &serde_json::json!({"sub": sub, "exp": exp}),
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
    .unwrap()
}

/// `POST /api/v1/sip/ticket` as `sub` (bearer JWT) from `device`.
fn ticket_req(sub: Option<&str>, device: &str) -> Request<Body> {
    let mut b = Request::post("/api/v1/sip/ticket")
        .header("host", "127.0.0.1:8080")
        .header("x-ccc-device-id", device)
        .header("content-type", "application/json")
        .header("x-requested-with", "ccc-toolbar");
    if let Some(sub) = sub {
        b = b.header("authorization", format!("Bearer {}", token(sub)));
    }
    b.body(Body::from("{}")).unwrap()
}

/// A browser's relay upgrade: no credentials but the query.
fn upgrade_req(query: &str, origin: Option<&str>) -> Request<Body> {
    let mut b = Request::get(format!("/api/v1/sip?{query}"))
        .header("host", "127.0.0.1:8080")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-protocol", "sip");
    if let Some(o) = origin {
        b = b.header("origin", o);
    }
    b.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn tickets_are_issued_to_the_authenticated_agent_only() {
    let (_sim, router, _) = setup(&jwt_flags()).await;
    // No bearer: no ticket.
    assert_error(
        &send(&router, ticket_req(None, "dev-1")).await,
        401,
        "Proxy.Unauthenticated",
        "proxy",
    );
    // A browser WebSocket without a ticket cannot authenticate in jwt mode.
    assert_error(
        &send(&router, upgrade_req("device=dev-1", None)).await,
        401,
        "Proxy.Unauthenticated",
        "proxy",
    );
    let (status, headers, body) = send(&router, ticket_req(Some(AGENT), "dev-1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    let t: SipTicket = serde_json::from_value(body).unwrap();
    assert_eq!(t.ticket.len(), 43, "32 random bytes, base64url");
    assert_eq!(t.expires_in_ms, 30_000);
    assert!(!format!("{t:?}").contains(&t.ticket), "Debug redacts it");
    // Two tickets differ.
    let (_, _, again) = send(&router, ticket_req(Some(AGENT), "dev-1")).await;
    assert_ne!(again["ticket"], t.ticket.as_str());

    // A forged or unknown ticket is refused before any upgrade.
    assert_error(
        &send(
            &router,
            upgrade_req(&format!("ticket={}", "A".repeat(43)), None),
        )
        .await,
        401,
        "Proxy.Unauthenticated",
        "proxy",
    );
    // Another site's page cannot spend a ticket (the Origin is checked first)...
    assert_error(
        &send(
            &router,
            upgrade_req(&format!("ticket={}", t.ticket), Some("http://evil.example")),
        )
        .await,
        403,
        "Proxy.Forbidden",
        "proxy",
    );
    // ...nor another device; that attempt spends it.
    assert_error(
        &send(
            &router,
            upgrade_req(&format!("ticket={}&device=dev-2", t.ticket), None),
        )
        .await,
        400,
        "Proxy.BadRequest",
        "proxy",
    );
    assert_error(
        &send(
            &router,
            upgrade_req(&format!("ticket={}&device=dev-1", t.ticket), None),
        )
        .await,
        401,
        "Proxy.Unauthenticated",
        "proxy",
    );
}

#[tokio::test]
async fn no_ticket_while_the_relay_is_off() {
    let (_sim, router, _) = setup(&["--auth", "jwt", "--jwt-hs256-secret", HS_SECRET]).await;
    let (status, _, _) = send(&router, ticket_req(Some(AGENT), "dev-1")).await;
    assert_eq!(status, 404);
}

/// `POST {base}/api/v1/sip/ticket` as `sub` over HTTP.
async fn fetch_ticket(base: &str, sub: &str, device: &str) -> String {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/sip/ticket"))
        .bearer_auth(token(sub))
        .header("x-ccc-device-id", device)
        .header("x-requested-with", "ccc-toolbar")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    serde_json::from_str::<SipTicket>(&body).unwrap().ticket
}

/// Opens the relay at `base` with only a ticket (as a browser does), or
/// returns the refusal's HTTP status.
async fn open_with_ticket(base: &str, ticket: &str) -> Result<Client, u16> {
    let url = format!(
        "{}/api/v1/sip?ticket={ticket}",
        base.replace("http://", "ws://")
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", "sip".parse().unwrap());
    req.headers_mut().insert("origin", base.parse().unwrap());
    match tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .expect("the relay answers the handshake in time")
    {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

/// The relay carries SIP for the ticket's agent: the SIP server challenges
/// a REGISTER of the agent's own AOR.
async fn relays_for_the_agent(ws: &mut Client, call_id: &str) {
    ws.send(Message::text(register(
        EXT,
        EXT,
        "127.0.0.1",
        call_id,
        1,
        "",
    )))
    .await
    .unwrap();
    let answer = recv_text(ws).await;
    assert_eq!(status_of(&answer), 401, "{answer}");
    assert!(
        !answer.contains("Server: ccc-proxy relay"),
        "the SIP server answered: {answer}"
    );
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_jwt_agent_opens_the_relay_with_a_ticket_once() {
    let logs = Buffer::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter(ccc_proxy::log_filter("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .json()
        .init();

    let sim = sim().await;
    let (base, state, _stop) = serve_on_socket(config(&sim.endpoint(), &jwt_flags())).await;
    let ticket = fetch_ticket(&base, AGENT, "dev-1").await;
    let mut ws = open_with_ticket(&base, &ticket)
        .await
        .expect("the ticket opens the relay");
    relays_for_the_agent(&mut ws, "ticket-reg-1").await;
    assert_eq!(state.sip.sockets.count(AGENT), 1);
    // Single use: the same ticket again is refused.
    assert_eq!(open_with_ticket(&base, &ticket).await.err(), Some(401));
    // The ticket never reaches a log line.
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("softphone relay opening"), "logs captured");
    assert!(!text.contains(&ticket), "the ticket was logged");
}

#[tokio::test]
async fn any_replica_redeems_a_ticket_once_through_redis() {
    let Some(redis) = Redis::start(free_port()) else {
        panic!("redis-server must be installed (scripts/setup.sh)");
    };
    let url = redis.url();
    let sim = sim().await;
    let mut flags = jwt_flags();
    flags.extend(["--redis-url", url.as_str()]);
    let (a, state_a, _stop_a) = serve_on_socket(config(&sim.endpoint(), &flags)).await;
    let (b, _state_b, _stop_b) = serve_on_socket(config(&sim.endpoint(), &flags)).await;
    // Until Redis answers, tickets are the replica's own: wait for it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !state_a.fleet.as_ref().is_some_and(|f| f.healthy()) {
        assert!(tokio::time::Instant::now() < deadline, "redis reachable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ticket = fetch_ticket(&a, AGENT, "dev-r").await;
    assert_eq!(state_a.sip.tickets.held(), 0, "in Redis, not in replica A");
    let mut ws = open_with_ticket(&b, &ticket)
        .await
        .expect("replica B redeems replica A's ticket");
    relays_for_the_agent(&mut ws, "ticket-reg-r").await;
    assert_eq!(open_with_ticket(&a, &ticket).await.err(), Some(401));
    assert_eq!(open_with_ticket(&b, &ticket).await.err(), Some(401));
    drop(redis);
}
