//! The softphone through the proxy against the simulator's SIP server
//! (its `SipServerUrl`, H1 credentials and TURN actions): the session's
//! softphone block, a digest REGISTER through the relay with the block's
//! credentials, the AOR refusal, and secrets kept out of logs and `Debug`.

mod common;
mod sip_common;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use ccc_model::api::Session;
use ccc_sip::{Challenge, Message as Sip};
use common::*;
use futures_util::SinkExt;
use sip_common::*;
use tokio_tungstenite::tungstenite::Message;

const EXT: &str = "80010001";
const OTHER_EXT: &str = "80010002";

/// The simulator, whose `SipServerUrl` is its own `127.0.0.1:<port>`: the
/// proxy follows CCC's answer (plain ws:// on loopback), no flag.
async fn sip_sim() -> ccc_sim::RunningSim {
    sim().await
}

async fn session(base: &str, user: &str) -> (reqwest::header::HeaderMap, Session) {
    let res = reqwest::Client::new()
        .get(format!("{base}/api/v1/session"))
        .header("x-forwarded-user", user)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let headers = res.headers().clone();
    let body = res.text().await.unwrap();
    (
        headers,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")),
    )
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

/// REGISTER with the block's credentials through `ws`: challenge, answer,
/// final response (and the digest response sent, a password equivalent).
async fn register_with(
    ws: &mut Client,
    domain: &str,
    user: &str,
    pass: &str,
    call_id: &str,
) -> (String, String) {
    ws.send(Message::text(register(EXT, EXT, domain, call_id, 1, "")))
        .await
        .unwrap();
    let challenge = recv_text(ws).await;
    assert_eq!(status_of(&challenge), 401, "{challenge}");
    let www = Sip::parse(&challenge).unwrap();
    let challenge = Challenge::parse(www.header("WWW-Authenticate").unwrap()).unwrap();
    let creds = challenge.respond(
        "REGISTER",
        &format!("sip:{domain}"),
        user,
        pass,
        "c0ffee",
        1,
    );
    let auth = format!("Authorization: {creds}\r\n");
    ws.send(Message::text(register(EXT, EXT, domain, call_id, 2, &auth)))
        .await
        .unwrap();
    (recv_text(ws).await, creds.response)
}

#[tokio::test]
async fn the_softphone_block_registers_with_the_simulator_and_stays_secret() {
    let logs = Buffer::default();
    let writer = logs.clone();
    // The proxy's own filter, as an operator chasing a problem sets it.
    tracing_subscriber::fmt()
        .with_env_filter(ccc_proxy::log_filter("trace"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .json()
        .init();

    let sim = sip_sim().await;
    let (base, state, _stop) = serve_on_socket(config(&sim.endpoint(), &["--sip-relay"])).await;

    // The block: the agent's own AOR and H1 credentials, TURN from CCC, no-store.
    let (headers, s) = session(&base, AGENT).await;
    assert_eq!(headers["cache-control"], "no-store");
    let phone = s
        .softphone
        .clone()
        .expect("an ON_SITE agent gets the softphone block");
    assert_eq!(phone.ws_path, "/api/v1/sip");
    assert_eq!(phone.aor, format!("sip:{EXT}@127.0.0.1"));
    assert!(
        phone.auth_username.starts_with(&format!("{EXT}:")),
        "{}",
        phone.auth_username
    );
    assert!(!phone.auth_password.is_empty());
    let now = ccc_proxy::upstream::now_ms();
    assert!(
        phone.expires_at > now + 60_000,
        "expires later: {}",
        phone.expires_at
    );
    assert_eq!(phone.ice_servers.len(), 1, "{:?}", phone.ice_servers);
    let ice = &phone.ice_servers[0];
    assert_eq!(ice.urls[0], "turn:127.0.0.1:3478?transport=udp");
    let turn_secret = ice.credential.clone().expect("a TURN password");
    assert!(
        ice.username.as_deref().is_some_and(|u| u.ends_with(AGENT)),
        "{ice:?}"
    );
    // Debug of the block redacts both secrets.
    let debug = format!("{s:?}");
    assert!(
        !debug.contains(&phone.auth_password) && !debug.contains(&turn_secret),
        "{debug}"
    );

    // TURN is cached: more sessions, of this agent and another, cost no more lookups.
    let _ = session(&base, AGENT).await;
    let (_, s2) = session(&base, AGENT2).await;
    assert!(s2.softphone.is_some());
    assert_eq!(state.metrics.upstream_calls("GetTurnServerList"), 1);
    assert_eq!(
        state.metrics.upstream_calls("GetTurnCredentials"),
        2,
        "one per agent"
    );

    // A REGISTER through the relay with the block's credentials.
    let mut ws = open(&base, AGENT, "sim-dev").await;
    let (ok, digest) = register_with(
        &mut ws,
        "127.0.0.1",
        &phone.auth_username,
        &phone.auth_password,
        "sim-reg-1",
    )
    .await;
    assert_eq!(status_of(&ok), 200, "{ok}");
    let devices = admin(&sim, "GET", "/sip/registrations", serde_json::Value::Null).await;
    let devices = devices.as_array().expect("a list").clone();
    assert!(
        devices
            .iter()
            .any(|d| d["Extension"] == EXT && d["CallId"] == "sim-reg-1"),
        "{devices:?}"
    );
    assert_eq!(state.metrics.sip().registrations(), 1);

    // Somebody else's AOR: refused by the relay, never at the simulator.
    ws.send(Message::text(register(
        OTHER_EXT,
        OTHER_EXT,
        "127.0.0.1",
        "sim-forged",
        1,
        "",
    )))
    .await
    .unwrap();
    let refused = recv_text(&mut ws).await;
    assert_eq!(status_of(&refused), 403, "{refused}");
    assert!(refused.contains("Server: ccc-proxy relay"));
    let devices = admin(&sim, "GET", "/sip/registrations", serde_json::Value::Null).await;
    assert!(
        !devices
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["Extension"] == OTHER_EXT),
        "{devices:?}"
    );

    // An OFF_SITE agent gets no block (and its relay is refused: 409).
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/agent/work-mode"))
        .header("x-forwarded-user", AGENT2)
        .header("x-requested-with", "ccc-toolbar")
        .header("content-type", "application/json")
        .body(r#"{"mode":"OFF_SITE","mobile":"13800000000"}"#)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let (_, s2) = session(&base, AGENT2).await;
    assert!(s2.softphone.is_none(), "OFF_SITE: no softphone");

    ws.close(None).await.unwrap();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("softphone relay opening"),
        "the relay logs: {text}"
    );
    for secret in [&phone.auth_password, &turn_secret, &digest] {
        let line = text.lines().find(|l| l.contains(secret.as_str()));
        assert!(line.is_none(), "a secret in the logs: {line:?}");
    }
}
