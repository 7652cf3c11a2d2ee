//! Interop with a SIP server nobody here wrote: Debian's Kamailio with its
//! `websocket` and `auth_ephemeral` modules, started on a free port with a
//! generated configuration. A native user agent (the shared `ccc-sip`
//! messages and digest over tokio-tungstenite) registers through the
//! proxy's relay with ephemeral credentials (inference H1: digest username
//! `<extension>:<timestamp>`, password base64(HMAC-SHA1(secret, username)))
//! and the binding is read back from Kamailio's location table
//! (`kamcmd ul.dump`). If Kamailio cannot start the test fails and says why.
//!
//! The timestamp is in **seconds** here: Kamailio 5.6's `auth_ephemeral`
//! reads it into a 32-bit integer and refuses CCC's 13-digit millisecond
//! `UserKey2` ("unable to convert timestamp to int") — see
//! docs/softphone.md.

mod common;
mod sip_common;

use std::time::{SystemTime, UNIX_EPOCH};

use ccc_sip::{Challenge, Message as Sip};
use ccc_testkit::kamailio::Kamailio;
use common::*;
use futures_util::SinkExt;
use sip_common::*;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "kamailio-interop-secret-0123456789";
const EXT: &str = "80010001";
const OTHER_EXT: &str = "80010002";
const DOMAIN: &str = "sh-sip-ccc.aliyuncs.com";

/// H1 ephemeral credentials for `ext`, valid for an hour (seconds: see
/// the module comment).
fn credentials(ext: &str) -> (String, String) {
    let expiry = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let username = format!("{ext}:{expiry}");
    let password = ccc_sip::h1::ephemeral_password(SECRET.as_bytes(), &username);
    (username, password)
}

/// Sends a REGISTER, answers Kamailio's digest challenge with
/// `(username, password)`, and returns the final response.
async fn register_with(ws: &mut Client, call_id: &str, username: &str, password: &str) -> String {
    let uri = format!("sip:{DOMAIN}");
    ws.send(Message::text(register(EXT, EXT, DOMAIN, call_id, 1, "")))
        .await
        .unwrap();
    let challenge = recv_text(ws).await;
    assert_eq!(
        status_of(&challenge),
        401,
        "Kamailio challenges first: {challenge}"
    );
    let www = Sip::parse(&challenge).unwrap();
    let challenge = Challenge::parse(www.header("WWW-Authenticate").expect("a challenge")).unwrap();
    assert_eq!(
        challenge.realm, DOMAIN,
        "autheph_www(\"$td\"): the To domain"
    );
    let creds = challenge.respond("REGISTER", &uri, username, password, "0a4f113b", 1);
    let auth = format!("Authorization: {creds}\r\n");
    ws.send(Message::text(register(EXT, EXT, DOMAIN, call_id, 2, &auth)))
        .await
        .unwrap();
    recv_text(ws).await
}

#[tokio::test]
async fn a_softphone_registers_with_kamailio_through_the_relay() {
    let kamailio = Kamailio::start(SECRET).await;
    let sim = sim().await;
    let (base, state, _stop) =
        serve_on_socket(config_for(&sim.endpoint(), &kamailio.ws_url())).await;
    assert!(
        !kamailio.location().contains(&format!("AoR: {EXT}")),
        "empty at start"
    );

    let mut ws = open(&base, AGENT, "kamailio-dev").await;
    // A wrong password: Kamailio refuses, nothing is bound.
    let (username, password) = credentials(EXT);
    let refused = register_with(&mut ws, "kam-bad", &username, "d3JvbmctcGFzc3dvcmQ=").await;
    assert!(matches!(status_of(&refused), 401 | 403), "{refused}");
    assert!(!kamailio.location().contains(&format!("AoR: {EXT}")));

    // The right ones: 200, and the binding is in the location table.
    let ok = register_with(&mut ws, "kam-ok", &username, &password).await;
    assert_eq!(status_of(&ok), 200, "{ok}\n{}", kamailio.log());
    assert!(
        ok.contains("Server: kamailio"),
        "Kamailio answered, not the relay: {ok}"
    );
    let table = kamailio.location();
    assert!(table.contains(&format!("AoR: {EXT}")), "{table}");
    assert!(table.contains("Call-ID: kam-ok"), "{table}");
    assert!(
        table.contains(&format!(
            "Address: sip:{EXT}@df7jal23ls0d.invalid;transport=ws"
        )),
        "{table}"
    );
    assert_eq!(state.metrics.sip().registrations(), 1);

    // Another agent's AOR never reaches Kamailio, even with valid credentials for it.
    let (other_user, other_pass) = credentials(OTHER_EXT);
    let forged = register(OTHER_EXT, OTHER_EXT, DOMAIN, "kam-forged", 1, &format!(
        "Authorization: Digest username=\"{other_user}\", realm=\"{DOMAIN}\", nonce=\"x\", uri=\"sip:{DOMAIN}\", response=\"{}\"\r\n",
        other_pass.len()
    ));
    ws.send(Message::text(forged)).await.unwrap();
    let answer = recv_text(&mut ws).await;
    assert_eq!(status_of(&answer), 403, "{answer}");
    assert!(answer.contains("Server: ccc-proxy relay"), "{answer}");
    assert!(!kamailio.location().contains(&format!("AoR: {OTHER_EXT}")));
}

/// The proxy's configuration against the simulator, relaying to `upstream`.
fn config_for(endpoint: &str, upstream: &str) -> ccc_proxy::Config {
    config(endpoint, &["--sip-upstream", upstream])
}
