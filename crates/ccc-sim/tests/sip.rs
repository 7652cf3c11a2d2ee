//! Issue 20: the simulator's SIP server. A small SIP user agent in this file
//! speaks over a real WebSocket on 127.0.0.1 (subprotocol `sip`), with the
//! credentials GetLoginDetails hands out; RPC goes through the same state
//! with `oneshot`, signed by the independent V3 signer of `common`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use ccc_sim::softphone::media::{MediaPeer, Mix};
use ccc_sim::{app, spawn, RunningSim, SimConfig};
use ccc_sip::{Algorithm, Challenge, Message, Method, NameAddr};
use common::*;
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const A1: &str = "agent1@ccc-demo";
const A2: &str = "agent2@ccc-demo";
const SECRET: &str = "sip-test-secret";

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn config() -> SimConfig {
    let mut c = SimConfig::demo();
    c.timings.after_call_ms = 60_000;
    c.softphone.secret = Some(SECRET.to_owned());
    c.softphone.min_expires_secs = 1;
    c
}

struct Sim {
    running: RunningSim,
    app: axum::Router,
}

impl Sim {
    async fn start(config: SimConfig) -> Sim {
        let running = spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let app = app(running.state().clone());
        Sim { running, app }
    }

    async fn call(&self, action: &str, params: &[(&str, &str)]) -> Value {
        let (s, b) = send(&self.app, rpc(action, params)).await;
        assert_eq!(s, 200, "{action}: {b}");
        b["Data"].clone()
    }

    async fn user_state(&self, user: &str) -> String {
        let d = self
            .call("PollUserStatus", &[("UserId", user), ("DeviceId", "d")])
            .await;
        d["UserContext"]["UserState"].as_str().unwrap().to_owned()
    }

    async fn ready(&self, user: &str) {
        for action in ["SignInGroup", "ReadyForService"] {
            self.call(action, &[("UserId", user), ("DeviceId", "browser")])
                .await;
        }
    }

    async fn media(&self, job: &str) -> (u16, Value) {
        admin(&self.app, "GET", &format!("/_sim/calls/{job}/media"), None).await
    }

    async fn registrations(&self) -> Vec<Value> {
        let (s, v) = admin(&self.app, "GET", "/_sim/sip/registrations", None).await;
        assert_eq!(s, 200);
        v.as_array().unwrap().clone()
    }

    async fn ring(&self, user: &str) -> String {
        let (s, v) = admin(
            &self.app,
            "POST",
            "/_sim/calls",
            Some(json!({ "userId": user, "caller": "13800001111" })),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        v["jobId"].as_str().unwrap().to_owned()
    }

    /// Polls the media report until `f` holds (5 s deadline).
    async fn media_until(&self, job: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let (s, v) = self.media(job).await;
            if s == 200 && f(&v) {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "media never showed {what}: {v}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn state_until(&self, user: &str, want: &str) {
        let ok = wait_until(Duration::from_secs(5), || async {
            self.user_state(user).await == want
        })
        .await;
        assert!(
            ok,
            "{user} never became {want}: {}",
            self.user_state(user).await
        );
    }
}

/// H1 as the test computes it, independently: base64(HMAC-SHA1(secret, user)).
fn h1_password(secret: &str, user: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(user.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A SIP user agent over a WebSocket, as the browser's would be.
struct Ua {
    ws: Ws,
    ext: String,
    domain: String,
    username: String,
    password: String,
    call_id: String,
    cseq: u32,
    tag: String,
}

impl Ua {
    /// Connects to the simulator and reads `user`'s credentials from
    /// GetLoginDetails.
    async fn connect(sim: &Sim, user: &str) -> Ua {
        let d = sim.call("GetLoginDetails", &[("UserId", user)]).await;
        let url = format!("ws://{}/", sim.running.addr);
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("sec-websocket-protocol", "sip".parse().unwrap());
        let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
        assert_eq!(
            resp.headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some("sip")
        );
        Ua {
            ws,
            ext: d["Extension"].as_str().unwrap().to_owned(),
            domain: "127.0.0.1".to_owned(),
            username: d["UserKey2"].as_str().unwrap().to_owned(),
            password: d["Signature2"].as_str().unwrap().to_owned(),
            call_id: format!("reg-{}@test.invalid", nonce()),
            cseq: 0,
            tag: nonce(),
        }
    }

    fn aor(&self) -> String {
        format!("sip:{}@{}", self.ext, self.domain)
    }

    async fn send(&mut self, m: &Message) {
        self.ws.send(WsMessage::text(m.to_string())).await.unwrap();
    }

    async fn recv(&mut self) -> Message {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .expect("no SIP message within 5 s")
                .expect("socket closed")
                .unwrap();
            if let WsMessage::Text(t) = frame {
                return Message::parse(t.as_str()).unwrap();
            }
        }
    }

    /// The next request of `method` (responses to our BYE etc. skipped).
    async fn recv_request(&mut self, method: Method) -> Message {
        loop {
            let m = self.recv().await;
            if m.method() == Some(method.clone()) && m.is_request() {
                return m;
            }
        }
    }

    fn register_request(&mut self, expires: u32) -> Message {
        self.cseq += 1;
        Message::request(Method::Register, format!("sip:{}", self.domain))
            .with(
                "Via",
                format!("SIP/2.0/WS test.invalid;branch=z9hG4bK{}", nonce()),
            )
            .with("Max-Forwards", "70")
            .with("From", format!("<{}>;tag={}", self.aor(), self.tag))
            .with("To", format!("<{}>", self.aor()))
            .with("Call-ID", self.call_id.clone())
            .with("CSeq", format!("{} REGISTER", self.cseq))
            .with(
                "Contact",
                format!(
                    "<sip:{}@ua.invalid;transport=ws>;+sip.instance=\"<urn:uuid:test-{}>\"",
                    self.ext, self.ext
                ),
            )
            .with("Expires", expires.to_string())
    }

    /// The challenge of `alg` in a 401.
    fn challenge(r: &Message, alg: Algorithm) -> Challenge {
        r.header_values("WWW-Authenticate")
            .map(|h| Challenge::parse(h).unwrap())
            .find(|c| c.algorithm == alg)
            .unwrap_or_else(|| panic!("no {alg:?} challenge in {r}"))
    }

    fn authorized(&mut self, expires: u32, c: &Challenge, password: &str) -> Message {
        let mut req = self.register_request(expires);
        let uri = req.request_uri().unwrap().to_owned();
        let creds = c.respond("REGISTER", &uri, &self.username, password, &nonce(), 1);
        req.push("Authorization", creds.to_string());
        req
    }

    /// REGISTER with digest `alg`; returns the final answer.
    async fn register_with(&mut self, expires: u32, alg: Algorithm) -> Message {
        let req = self.register_request(expires);
        self.send(&req).await;
        let r = self.recv().await;
        assert_eq!(r.status(), Some(401), "{r}");
        let c = Self::challenge(&r, alg);
        let password = self.password.clone();
        let req = self.authorized(expires, &c, &password);
        self.send(&req).await;
        self.recv().await
    }

    async fn register(&mut self) {
        let r = self.register_with(300, Algorithm::Sha256).await;
        assert_eq!(r.status(), Some(200), "{r}");
    }

    /// Answers an INVITE: 180, then 200 with an SDP answer from a media
    /// peer playing `mix` (the agent's "voice" is the customer tone too).
    async fn answer(&mut self, invite: &Message) -> MediaPeer {
        let tag = nonce();
        let ringing = invite.reply(180, Some(&tag));
        self.send(&ringing).await;
        let (peer, sdp) = MediaPeer::answer(&invite.body, Mix::default())
            .await
            .unwrap();
        let ok = invite
            .reply(200, Some(&tag))
            .with(
                "Contact",
                format!("<sip:{}@ua.invalid;transport=ws>", self.ext),
            )
            .with_body("application/sdp", sdp);
        self.send(&ok).await;
        let ack = self.recv_request(Method::Ack).await;
        assert_eq!(ack.call_id().unwrap(), invite.call_id().unwrap());
        peer
    }

    /// A BYE in the dialog of `invite` (we are its UAS).
    fn bye(&self, invite: &Message, ok: &Message) -> Message {
        let to = ok.header("To").unwrap().to_owned();
        let from = invite.header("From").unwrap().to_owned();
        Message::request(Method::Bye, "sip:ccc-sim@ccc-sim.invalid;transport=ws")
            .with(
                "Via",
                format!("SIP/2.0/WS test.invalid;branch=z9hG4bK{}", nonce()),
            )
            .with("Max-Forwards", "70")
            .with("From", to)
            .with("To", from)
            .with("Call-ID", invite.call_id().unwrap().to_owned())
            .with("CSeq", "1 BYE")
    }
}

fn job_of(invite: &Message) -> String {
    invite.header("X-CCC-JobId").unwrap().to_owned()
}

#[tokio::test]
async fn login_details_hand_out_h1_credentials_pointing_at_the_simulator() {
    let sim = Sim::start(config()).await;
    let before = ccc_sim::now_ms();
    let d = sim.call("GetLoginDetails", &[("UserId", A1)]).await;
    // The Host the request was sent to: the simulator itself, no scheme.
    assert_eq!(d["SipServerUrl"], HOST);
    assert_eq!(d["Extension"], "80010001");
    let key2 = d["UserKey2"].as_str().unwrap();
    let (ext, ms) = key2.split_once(':').unwrap();
    assert_eq!(ext, "80010001");
    let ms: i64 = ms.parse().unwrap();
    assert!(
        ms >= before + 86_399_000 && ms <= ccc_sim::now_ms() + 86_400_000,
        "{ms}"
    );
    assert_eq!(d["Signature2"], h1_password(SECRET, key2));
    let key = d["UserKey"].as_str().unwrap();
    assert_eq!(key, format!("Ada Li:{key2}"));
    assert_eq!(d["Signature"], h1_password(SECRET, key));

    // TURN: the list is a JSON string; the credentials are TURN REST ones.
    let list = sim.call("GetTurnServerList", &[]).await;
    let list: Value = serde_json::from_str(list.as_str().unwrap()).unwrap();
    assert_eq!(list[0]["domain"], "127.0.0.1");
    let t = sim.call("GetTurnCredentials", &[("UserId", A1)]).await;
    let user = t["UserName"].as_str().unwrap();
    let (expiry, who) = user.split_once(':').unwrap();
    assert_eq!(who, A1);
    assert!(expiry.parse::<i64>().unwrap() > now_secs());
    assert_eq!(t["Password"], h1_password(SECRET, user));
    sim.running.shutdown().await;
}

#[tokio::test]
async fn register_needs_the_sip_subprotocol() {
    let sim = Sim::start(config()).await;
    let url = format!("ws://{}/", sim.running.addr);
    let err = tokio_tungstenite::connect_async(url).await.unwrap_err();
    assert!(err.to_string().contains("400"), "{err}");
    sim.running.shutdown().await;
}

#[tokio::test]
async fn register_with_sha256_and_md5_digest_shows_in_list_devices() {
    let sim = Sim::start(config()).await;
    let mut ua = Ua::connect(&sim, A1).await;
    // The challenge: SHA-256 first, then MD5, both qop=auth.
    let req = ua.register_request(300);
    ua.send(&req).await;
    let r = ua.recv().await;
    assert_eq!(r.status(), Some(401));
    let algs: Vec<Algorithm> = r
        .header_values("WWW-Authenticate")
        .map(|h| Challenge::parse(h).unwrap())
        .inspect(|c| assert!(c.qop_auth && !c.stale && c.realm == "127.0.0.1"))
        .map(|c| c.algorithm)
        .collect();
    assert_eq!(algs, [Algorithm::Sha256, Algorithm::Md5]);

    let ok = ua.register_with(300, Algorithm::Sha256).await;
    assert_eq!(ok.status(), Some(200), "{ok}");
    let contact = NameAddr::parse(ok.header("Contact").unwrap()).unwrap();
    assert_eq!(contact.uri, "sip:80010001@ua.invalid;transport=ws");
    let left: i64 = contact.param("expires").unwrap().parse().unwrap();
    assert!((299..=300).contains(&left), "{left}");

    let devices = sim.call("ListDevices", &[("UserId", A1)]).await;
    let d = &devices.as_array().unwrap()[0];
    assert_eq!(d["Extension"], "80010001");
    assert_eq!(d["UserId"], A1);
    assert_eq!(d["InstanceId"], "ccc-demo");
    assert_eq!(d["CallId"], ua.call_id.as_str());
    assert_eq!(d["Contact"], "sip:80010001@ua.invalid;transport=ws");
    assert_eq!(d["DeviceId"], "urn:uuid:test-80010001");
    assert!(d["Expires"].as_i64().unwrap() > ccc_sim::now_ms() + 290_000);
    let none = sim.call("ListDevices", &[("UserId", A2)]).await;
    assert_eq!(none, json!([]));

    // MD5 works as well (a refresh).
    let ok = ua.register_with(300, Algorithm::Md5).await;
    assert_eq!(ok.status(), Some(200), "{ok}");
    assert_eq!(sim.registrations().await.len(), 1);
    sim.running.shutdown().await;
}

#[tokio::test]
async fn bad_digests_are_refused() {
    let sim = Sim::start(config()).await;
    let mut ua = Ua::connect(&sim, A1).await;
    let req = ua.register_request(300);
    ua.send(&req).await;
    let challenge = Ua::challenge(&ua.recv().await, Algorithm::Md5);

    // Wrong password.
    let req = ua.authorized(300, &challenge, "not-the-signature");
    ua.send(&req).await;
    let r = ua.recv().await;
    assert_eq!(r.status(), Some(403), "{r}");

    // Agent 2's credentials for agent 1's address.
    let d2 = sim.call("GetLoginDetails", &[("UserId", A2)]).await;
    ua.username = d2["UserKey2"].as_str().unwrap().to_owned();
    let pw = d2["Signature2"].as_str().unwrap().to_owned();
    let req = ua.authorized(300, &challenge, &pw);
    ua.send(&req).await;
    let r = ua.recv().await;
    assert_eq!(r.status(), Some(403), "{r}");

    // Expired credentials, correctly signed.
    ua.username = format!("80010001:{}", ccc_sim::now_ms() - 1_000);
    let pw = h1_password(SECRET, &ua.username);
    let req = ua.authorized(300, &challenge, &pw);
    ua.send(&req).await;
    let r = ua.recv().await;
    assert_eq!(r.status(), Some(403), "{r}");
    assert!(r.to_string().contains("expired"), "{r}");

    // A nonce the simulator never issued: challenged again.
    ua.username = format!("80010001:{}", ccc_sim::now_ms() + 60_000);
    let pw = h1_password(SECRET, &ua.username);
    let mut forged = challenge.clone();
    forged.nonce = "1.forged".into();
    let req = ua.authorized(300, &forged, &pw);
    ua.send(&req).await;
    let r = ua.recv().await;
    assert_eq!(r.status(), Some(401), "{r}");
    assert!(!Ua::challenge(&r, Algorithm::Md5).stale);

    // Nothing was registered.
    assert!(sim.registrations().await.is_empty());
    // The right credentials still work on this socket.
    let req = ua.authorized(300, &challenge, &pw);
    ua.send(&req).await;
    assert_eq!(ua.recv().await.status(), Some(200));
    sim.running.shutdown().await;
}

#[tokio::test]
async fn a_replayed_authorization_is_challenged_again() {
    let sim = Sim::start(config()).await;
    let mut ua = Ua::connect(&sim, A1).await;
    let req = ua.register_request(300);
    ua.send(&req).await;
    let challenge = Ua::challenge(&ua.recv().await, Algorithm::Sha256);
    let pw = ua.password.clone();
    let authed = ua.authorized(300, &challenge, &pw);
    ua.send(&authed).await;
    assert_eq!(ua.recv().await.status(), Some(200));
    // The same frame again (same nonce, same nc; only CSeq moves on).
    ua.cseq += 1;
    let mut replay = authed.clone();
    replay.set("CSeq", format!("{} REGISTER", ua.cseq));
    ua.send(&replay).await;
    let r = ua.recv().await;
    assert_eq!(r.status(), Some(401), "{r}");
    // The next count on the same nonce is a new request: accepted.
    let mut next = ua.register_request(300);
    let uri = next.request_uri().unwrap().to_owned();
    let creds = challenge.respond("REGISTER", &uri, &ua.username, &pw, &nonce(), 2);
    next.push("Authorization", creds.to_string());
    ua.send(&next).await;
    assert_eq!(ua.recv().await.status(), Some(200));
    sim.running.shutdown().await;
}

#[tokio::test]
async fn a_stale_nonce_is_answered_with_stale_true() {
    let mut c = config();
    c.softphone.nonce_lifetime_ms = 50;
    let sim = Sim::start(c).await;
    let mut ua = Ua::connect(&sim, A1).await;
    let req = ua.register_request(300);
    ua.send(&req).await;
    let challenge = Ua::challenge(&ua.recv().await, Algorithm::Sha256);
    // Let the nonce age past its lifetime (the point of the test, not a wait
    // for something to happen).
    tokio::time::sleep(Duration::from_millis(120)).await;
    let pw = ua.password.clone();
    let req = ua.authorized(300, &challenge, &pw);
    ua.send(&req).await;
    let r = ua.recv().await;
    assert_eq!(r.status(), Some(401), "{r}");
    let fresh = Ua::challenge(&r, Algorithm::Sha256);
    assert!(fresh.stale, "{r}");
    assert_ne!(fresh.nonce, challenge.nonce);
    // The same credentials with the fresh nonce: registered.
    let req = ua.authorized(300, &fresh, &pw);
    ua.send(&req).await;
    assert_eq!(ua.recv().await.status(), Some(200));
    sim.running.shutdown().await;
}

#[tokio::test]
async fn registrations_expire_unregister_and_leave_with_their_socket() {
    let mut c = config();
    c.softphone.min_expires_secs = 2;
    let sim = Sim::start(c).await;
    let mut ua = Ua::connect(&sim, A1).await;

    // Below the minimum: 423 with Min-Expires.
    let r = ua.register_with(1, Algorithm::Sha256).await;
    assert_eq!(r.status(), Some(423), "{r}");
    assert_eq!(r.header("Min-Expires"), Some("2"));

    // Expires by itself.
    let r = ua.register_with(2, Algorithm::Sha256).await;
    assert_eq!(r.status(), Some(200), "{r}");
    assert_eq!(sim.registrations().await.len(), 1);
    let gone = wait_until(Duration::from_secs(5), || async {
        sim.registrations().await.is_empty()
    })
    .await;
    assert!(gone, "the registration did not expire");

    // Un-REGISTER (Expires: 0).
    ua.register().await;
    assert_eq!(sim.registrations().await.len(), 1);
    let r = ua.register_with(0, Algorithm::Sha256).await;
    assert_eq!(r.status(), Some(200), "{r}");
    assert!(r.header("Contact").is_none(), "{r}");
    assert!(sim.registrations().await.is_empty());

    // Leaves with the socket.
    ua.register().await;
    assert_eq!(sim.registrations().await.len(), 1);
    ua.ws.close(None).await.unwrap();
    let gone = wait_until(Duration::from_secs(5), || async {
        sim.registrations().await.is_empty()
    })
    .await;
    assert!(gone, "the registration outlived its socket");
    sim.running.shutdown().await;
}

/// Polls the answerer's own report (what the simulator sends it).
async fn peer_until(
    peer: &MediaPeer,
    what: &str,
    f: impl Fn(&ccc_sim::softphone::media::MediaReport) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = peer.report();
        if f(&r) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never {what}: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn two_str0m_peers_on_loopback_hear_each_other() {
    let (sim_side, offer) = MediaPeer::offer(Mix::default()).await.unwrap();
    assert!(offer.contains("PCMU/8000"), "{offer}");
    // RFC 4733 beside PCMU, so a browser's RTCDTMFSender can send the keypad.
    assert!(
        offer.contains("a=rtpmap:101 telephone-event/8000"),
        "{offer}"
    );
    assert!(offer.contains("a=fmtp:101 0-16"), "{offer}");
    assert!(offer.contains("127.0.0.1"), "{offer}");
    let (agent_side, answer) = MediaPeer::answer(&offer, Mix::default()).await.unwrap();
    assert!(answer.contains("telephone-event/8000"), "{answer}");
    sim_side.accept_answer(&answer).await.unwrap();
    for (name, peer) in [("simulator", &sim_side), ("agent", &agent_side)] {
        peer_until(peer, &format!("{name} hears the tone"), |r| {
            r.connected && r.from_agent.packets > 20 && r.from_agent.energy > 0.01
        })
        .await;
    }
    // Held: the agent's side hears nothing; the customer hears hold music.
    sim_side.set_mix(Mix {
        held: true,
        ..Mix::default()
    });
    peer_until(&agent_side, "silence while held", |r| {
        r.from_agent.packets > 20 && r.from_agent.energy < 1e-6
    })
    .await;
    let r = sim_side.report();
    assert_eq!(r.customer_hears_source, "holdMusic");
    assert!(r.customer_hears.energy > 0.01, "{r:?}");
    // Muted: the customer hears silence, the agent's audio still arrives.
    sim_side.set_mix(Mix {
        muted: true,
        ..Mix::default()
    });
    peer_until(&sim_side, "silence for the customer while muted", |r| {
        r.customer_hears.packets > 20 && r.customer_hears.energy < 1e-6
    })
    .await;
    assert!(sim_side.report().from_agent.energy > 0.01);
}

#[tokio::test]
async fn inbound_call_rings_the_device_and_its_200_is_the_answer() {
    let sim = Sim::start(config()).await;
    let mut ua = Ua::connect(&sim, A1).await;
    ua.register().await;
    sim.ready(A1).await;
    let job = sim.ring(A1).await;

    let invite = ua.recv_request(Method::Invite).await;
    assert_eq!(job_of(&invite), job);
    assert_eq!(
        invite.request_uri(),
        Some("sip:80010001@ua.invalid;transport=ws")
    );
    assert_eq!(invite.to().unwrap().user().as_deref(), Some("80010001"));
    assert_eq!(
        invite.from().unwrap().user().as_deref(),
        Some("13800001111")
    );
    assert!(
        invite.header("Call-Info").is_none(),
        "an inbound call is not auto-answered"
    );
    assert!(invite.body.contains("m=audio"));
    assert_eq!(sim.user_state(A1).await, "RINGING");

    let peer = ua.answer(&invite).await;
    sim.state_until(A1, "TALKING").await;
    let d = sim
        .call("PollUserStatus", &[("UserId", A1), ("DeviceId", "d")])
        .await;
    assert_eq!(d["CallContext"]["JobId"], job.as_str());

    // Audio both ways.
    let v = sim
        .media_until(&job, "the agent's audio", |v| {
            v["connected"] == true && v["fromAgent"]["energy"].as_f64().unwrap() > 0.01
        })
        .await;
    assert_eq!(v["toAgentPattern"], "customer");
    assert_eq!(v["sipPhase"], "established");
    peer_until(&peer, "the customer's tone", |r| r.from_agent.energy > 0.01).await;

    // MuteCall: the customer hears silence.
    sim.call(
        "MuteCall",
        &[("UserId", A1), ("JobId", &job), ("DeviceId", "d")],
    )
    .await;
    sim.media_until(&job, "silence for the customer", |v| {
        v["mix"]["muted"] == true
            && v["customerHears"]["energy"].as_f64().unwrap() < 1e-6
            && v["customerHears"]["packets"].as_u64().unwrap() > 20
    })
    .await;
    sim.call(
        "UnmuteCall",
        &[("UserId", A1), ("JobId", &job), ("DeviceId", "d")],
    )
    .await;
    sim.media_until(&job, "the agent again", |v| {
        v["customerHears"]["energy"].as_f64().unwrap() > 0.01
    })
    .await;

    // HoldCall: the agent hears nothing, the customer hears hold music.
    let customer = d["CallContext"]["ChannelContexts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c.get("UserId").is_none())
        .unwrap()["ChannelId"]
        .as_str()
        .unwrap()
        .to_owned();
    let hold = [
        ("UserId", A1),
        ("JobId", job.as_str()),
        ("ChannelId", customer.as_str()),
        ("DeviceId", "d"),
    ];
    sim.call("HoldCall", &hold).await;
    let v = sim
        .media_until(&job, "hold music", |v| {
            v["customerHearsSource"] == "holdMusic"
        })
        .await;
    assert_eq!(v["toAgentPattern"], Value::Null);
    peer_until(&peer, "silence while held", |r| {
        r.from_agent.energy < 1e-6 && r.from_agent.packets > 20
    })
    .await;
    sim.call("RetrieveCall", &hold).await;
    peer_until(&peer, "the customer again", |r| r.from_agent.energy > 0.01).await;

    // The customer hangs up: BYE to the device.
    let (s, _) = admin(
        &sim.app,
        "POST",
        &format!("/_sim/calls/{job}/hangup"),
        Some(json!({ "by": "customer" })),
    )
    .await;
    assert_eq!(s, 200);
    let bye = ua.recv_request(Method::Bye).await;
    assert_eq!(bye.call_id().unwrap(), invite.call_id().unwrap());
    assert_eq!(
        bye.request_uri(),
        Some("sip:80010001@ua.invalid;transport=ws")
    );
    ua.send(&bye.reply(200, None)).await;
    assert_eq!(sim.user_state(A1).await, "WORKING");
    let (s, _) = sim.media(&job).await;
    assert_eq!(s, 404, "the media peer outlived the call");
    sim.running.shutdown().await;
}

#[tokio::test]
async fn the_agents_bye_releases_the_call() {
    let sim = Sim::start(config()).await;
    let mut ua = Ua::connect(&sim, A1).await;
    ua.register().await;
    sim.ready(A1).await;
    let job = sim.ring(A1).await;
    let invite = ua.recv_request(Method::Invite).await;
    let tag = nonce();
    let (_peer, sdp) = MediaPeer::answer(&invite.body, Mix::default())
        .await
        .unwrap();
    let ok = invite
        .reply(200, Some(&tag))
        .with("Contact", "<sip:80010001@ua.invalid;transport=ws>")
        .with_body("application/sdp", sdp);
    ua.send(&ok).await;
    ua.recv_request(Method::Ack).await;
    sim.state_until(A1, "TALKING").await;

    let bye = ua.bye(&invite, &ok);
    ua.send(&bye).await;
    let r = ua.recv().await;
    assert_eq!(r.status(), Some(200), "{r}");
    assert_eq!(sim.user_state(A1).await, "WORKING");
    let (s, _) = sim.media(&job).await;
    assert_eq!(s, 404);
    // A BYE for no call: 481.
    ua.send(&bye).await;
    assert_eq!(ua.recv().await.status(), Some(481));
    sim.running.shutdown().await;
}

/// Issue 18: the consulted agent's registered device gets its own INVITE
/// for the same job; answering it on the device is the consult's answer;
/// cancelling the consult sends that device a BYE while the transferor's
/// own call goes on.
#[tokio::test]
async fn a_consulted_agent_with_a_device_gets_the_invite() {
    let sim = Sim::start(config()).await;
    let mut ua1 = Ua::connect(&sim, A1).await;
    ua1.register().await;
    let mut ua2 = Ua::connect(&sim, A2).await;
    ua2.register().await;
    sim.ready(A1).await;
    sim.ready(A2).await;
    let job = sim.ring(A1).await;
    let invite1 = ua1.recv_request(Method::Invite).await;
    let _peer1 = ua1.answer(&invite1).await;
    sim.state_until(A1, "TALKING").await;

    sim.call(
        "InitiateAttendedTransfer",
        &[("UserId", A1), ("JobId", &job), ("Transferee", A2)],
    )
    .await;
    let invite2 = ua2.recv_request(Method::Invite).await;
    assert_eq!(job_of(&invite2), job, "the same job");
    assert_ne!(invite2.call_id().unwrap(), invite1.call_id().unwrap());
    let _peer2 = ua2.answer(&invite2).await;
    sim.state_until(A2, "TALKING").await;
    let d = sim
        .call("PollUserStatus", &[("UserId", A1), ("DeviceId", "d")])
        .await;
    let legs = d["CallContext"]["ChannelContexts"]
        .as_array()
        .unwrap()
        .clone();
    let consulted = legs.iter().find(|c| c["UserId"] == A2).unwrap();
    assert_eq!(consulted["ChannelState"], "ANSWERED", "{d}");

    sim.call("CancelAttendedTransfer", &[("UserId", A1), ("JobId", &job)])
        .await;
    let bye = ua2.recv_request(Method::Bye).await;
    assert_eq!(bye.call_id().unwrap(), invite2.call_id().unwrap());
    assert_eq!(sim.user_state(A2).await, "WORKING");
    assert_eq!(sim.user_state(A1).await, "TALKING", "A1's own call goes on");
    let (s, media) = sim.media(&job).await;
    assert_eq!(s, 200, "A1's call still has its media: {media}");
    sim.running.shutdown().await;
}

#[tokio::test]
async fn a_call_that_stops_ringing_is_cancelled() {
    let mut c = config();
    // Long enough for the INVITE to be built even on a loaded machine.
    c.timings.ringing_timeout_ms = 1_500;
    let sim = Sim::start(c).await;
    let mut ua = Ua::connect(&sim, A1).await;
    ua.register().await;
    sim.ready(A1).await;

    // The ringing timeout.
    sim.ring(A1).await;
    let invite = ua.recv_request(Method::Invite).await;
    let tag = nonce();
    ua.send(&invite.reply(180, Some(&tag))).await;
    let cancel = ua.recv_request(Method::Cancel).await;
    assert_eq!(cancel.call_id().unwrap(), invite.call_id().unwrap());
    assert_eq!(
        cancel.via().unwrap().branch(),
        invite.via().unwrap().branch()
    );
    assert_eq!(cancel.cseq().unwrap().seq, invite.cseq().unwrap().seq);
    ua.send(&cancel.reply(200, Some(&tag))).await;
    ua.send(&invite.reply(487, Some(&tag))).await;
    let ack = ua.recv_request(Method::Ack).await;
    assert_eq!(ack.via().unwrap().branch(), invite.via().unwrap().branch());
    let d = sim
        .call("PollUserStatus", &[("UserId", A1), ("DeviceId", "d")])
        .await;
    assert_eq!(d["UserContext"]["UserState"], "BREAK");
    assert_eq!(d["UserContext"]["BreakCode"], "RingingTimeout");

    // The customer hangs up while it rings.
    sim.call("ReadyForService", &[("UserId", A1), ("DeviceId", "d")])
        .await;
    let job = sim.ring(A1).await;
    let invite = ua.recv_request(Method::Invite).await;
    assert_eq!(job_of(&invite), job);
    admin(
        &sim.app,
        "POST",
        &format!("/_sim/calls/{job}/hangup"),
        Some(json!({ "by": "customer" })),
    )
    .await;
    let cancel = ua.recv_request(Method::Cancel).await;
    assert_eq!(cancel.call_id().unwrap(), invite.call_id().unwrap());
    assert_eq!(sim.user_state(A1).await, "READY");
    sim.running.shutdown().await;
}

#[tokio::test]
async fn declining_on_the_device_rejects_the_call() {
    let sim = Sim::start(config()).await;
    let mut ua = Ua::connect(&sim, A1).await;
    ua.register().await;
    sim.ready(A1).await;
    sim.ring(A1).await;
    let invite = ua.recv_request(Method::Invite).await;
    ua.send(&invite.reply(486, Some(&nonce()))).await;
    let ack = ua.recv_request(Method::Ack).await;
    assert_eq!(ack.call_id().unwrap(), invite.call_id().unwrap());
    let d = sim
        .call("PollUserStatus", &[("UserId", A1), ("DeviceId", "d")])
        .await;
    assert_eq!(d["UserContext"]["UserState"], "BREAK");
    assert_eq!(d["UserContext"]["BreakCode"], "RejectCall");
    sim.running.shutdown().await;
}

#[tokio::test]
async fn a_re_invite_is_answered_from_the_media_peer() {
    let sim = Sim::start(config()).await;
    let mut ua = Ua::connect(&sim, A1).await;
    ua.register().await;
    sim.ready(A1).await;
    let job = sim.ring(A1).await;
    let invite = ua.recv_request(Method::Invite).await;
    let peer = ua.answer(&invite).await;
    sim.state_until(A1, "TALKING").await;
    sim.media_until(&job, "the agent's audio", |v| {
        v["fromAgent"]["energy"].as_f64().unwrap() > 0.01
    })
    .await;
    // The browser holds on its side with a re-INVITE (sendonly), then
    // resumes (sendrecv): each new offer is answered in the dialog.
    let mut cseq = 1;
    for (direction, expected) in [
        (str0m::media::Direction::SendOnly, "a=recvonly"),
        (str0m::media::Direction::SendRecv, "a=sendrecv"),
    ] {
        cseq += 1;
        let offer = peer.reoffer(direction).await.unwrap();
        let reinvite = Message::request(Method::Invite, "sip:ccc-sim@ccc-sim.invalid;transport=ws")
            .with(
                "Via",
                format!("SIP/2.0/WS test.invalid;branch=z9hG4bK{}", nonce()),
            )
            .with("Max-Forwards", "70")
            .with(
                "From",
                invite.header("To").unwrap().to_owned() + ";tag=agent",
            )
            .with("To", invite.header("From").unwrap().to_owned())
            .with("Call-ID", invite.call_id().unwrap().to_owned())
            .with("CSeq", format!("{cseq} INVITE"))
            .with_body("application/sdp", offer);
        ua.send(&reinvite).await;
        let r = ua.recv().await;
        assert_eq!(r.status(), Some(200), "{r}");
        assert!(r.body.contains(expected), "{r}");
        peer.accept_answer(&r.body).await.unwrap();
    }
    // The call goes on, audio both ways.
    assert_eq!(sim.user_state(A1).await, "TALKING");
    peer_until(&peer, "the customer's tone", |r| r.from_agent.energy > 0.01).await;
    sim.media_until(&job, "the agent's audio again", |v| {
        v["fromAgent"]["energy"].as_f64().unwrap() > 0.01
    })
    .await;
    sim.running.shutdown().await;
}

#[tokio::test]
async fn make_call_rings_the_agents_device_first_with_auto_answer() {
    let mut c = config();
    c.timings.dial_answer_ms = Some(300);
    let sim = Sim::start(c).await;
    let mut ua = Ua::connect(&sim, A1).await;
    ua.register().await;
    sim.ready(A1).await;
    let d = sim
        .call(
            "MakeCall",
            &[("UserId", A1), ("DeviceId", "d"), ("Callee", "13812345678")],
        )
        .await;
    let job = d["CallContext"]["JobId"].as_str().unwrap().to_owned();
    let invite = ua.recv_request(Method::Invite).await;
    assert_eq!(job_of(&invite), job);
    let info = invite.header("Call-Info").unwrap();
    assert!(info.ends_with(";answer-after=0"), "{info}");
    // The customer is not dialled before the device answers.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sim.user_state(A1).await, "DIALING");

    let peer = ua.answer(&invite).await;
    // Ringback first, then the customer answers.
    sim.state_until(A1, "TALKING").await;
    let v = sim
        .media_until(&job, "the customer's voice", |v| {
            v["toAgentPattern"] == "customer"
        })
        .await;
    assert_eq!(v["mix"]["ringback"], false);
    peer_until(&peer, "the customer's tone", |r| r.from_agent.energy > 0.01).await;
    sim.running.shutdown().await;
}

#[tokio::test]
async fn agents_without_a_device_behave_as_before() {
    let mut c = config();
    c.timings.auto_answer_ms = Some(50);
    let sim = Sim::start(c).await;
    // Agent 2 has a device; agent 1 has none.
    let mut ua = Ua::connect(&sim, A2).await;
    ua.register().await;
    sim.ready(A1).await;
    let job = sim.ring(A1).await;
    sim.state_until(A1, "TALKING").await;
    let (s, v) = sim.media(&job).await;
    assert_eq!(s, 404, "{v}");
    // Agent 2's device got nothing.
    let quiet = tokio::time::timeout(Duration::from_millis(300), ua.ws.next()).await;
    assert!(quiet.is_err(), "unexpected frame {quiet:?}");
    // Agent 2 registered but OFF_SITE: its calls do not go to the device.
    sim.call(
        "ChangeWorkMode",
        &[
            ("UserId", A2),
            ("WorkMode", "OFF_SITE"),
            ("Mobile", "13900000002"),
        ],
    )
    .await;
    sim.ready(A2).await;
    let job = sim.ring(A2).await;
    sim.state_until(A2, "TALKING").await;
    assert_eq!(sim.media(&job).await.0, 404);
    let quiet = tokio::time::timeout(Duration::from_millis(300), ua.ws.next()).await;
    assert!(quiet.is_err(), "unexpected frame {quiet:?}");
    sim.running.shutdown().await;
}

#[tokio::test]
async fn a_device_answers_itself_instead_of_the_auto_answer_timer() {
    let mut c = config();
    c.timings.auto_answer_ms = Some(50);
    let sim = Sim::start(c).await;
    let mut ua = Ua::connect(&sim, A1).await;
    ua.register().await;
    sim.ready(A1).await;
    sim.ring(A1).await;
    let invite = ua.recv_request(Method::Invite).await;
    // Well past the auto-answer delay: still ringing, on the device.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.user_state(A1).await, "RINGING");
    let _peer = ua.answer(&invite).await;
    sim.state_until(A1, "TALKING").await;
    sim.running.shutdown().await;
}

#[tokio::test]
async fn a_closed_socket_releases_an_answered_call() {
    let sim = Sim::start(config()).await;
    let mut ua = Ua::connect(&sim, A1).await;
    ua.register().await;
    sim.ready(A1).await;
    sim.ring(A1).await;
    let invite = ua.recv_request(Method::Invite).await;
    let _peer = ua.answer(&invite).await;
    sim.state_until(A1, "TALKING").await;
    ua.ws.close(None).await.unwrap();
    sim.state_until(A1, "WORKING").await;
    sim.running.shutdown().await;
}

#[tokio::test]
async fn options_keepalive_and_unknown_requests() {
    let sim = Sim::start(config()).await;
    let mut ua = Ua::connect(&sim, A1).await;
    let options = Message::request(Method::Options, "sip:127.0.0.1")
        .with(
            "Via",
            format!("SIP/2.0/WS test.invalid;branch=z9hG4bK{}", nonce()),
        )
        .with("From", format!("<{}>;tag=a", ua.aor()))
        .with("To", "<sip:127.0.0.1>")
        .with("Call-ID", "ka@test")
        .with("CSeq", "1 OPTIONS");
    ua.send(&options).await;
    let r = ua.recv().await;
    assert_eq!(r.status(), Some(200));
    assert_eq!(r.call_id().unwrap(), "ka@test");
    // An INVITE from the device (calls start with MakeCall): 403.
    let mut invite = options.clone();
    invite.start = ccc_sip::StartLine::Request {
        method: Method::Invite,
        uri: "sip:13812345678@127.0.0.1".into(),
    };
    invite.set("CSeq", "2 INVITE");
    ua.send(&invite).await;
    assert_eq!(ua.recv().await.status(), Some(403));
    sim.running.shutdown().await;
}

/// Events pushed to a webhook receiver on 127.0.0.1.
#[derive(Clone, Default)]
struct Hook(Arc<Mutex<Vec<Value>>>);

impl Hook {
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hook = self.clone();
        let router = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
                let hook = hook.clone();
                async move {
                    hook.0
                        .lock()
                        .unwrap()
                        .extend(body.as_array().cloned().unwrap_or_default());
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}/hook")
    }

    /// The event types of `agent`, in order.
    fn types(&self, agent: &str) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["agentId"] == agent)
            .map(|e| e["eventType"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn answering_and_hanging_up_on_the_device_push_the_events_of_the_api() {
    let hook = Hook::default();
    let url = hook.start().await;
    let sim = Sim::start(config()).await;
    let state = sim.running.state().clone();
    state.set_webhook(Some(ccc_sim::WebhookTarget::new(&url, None).unwrap()));

    // Agent 1 answers and hangs up on its softphone.
    let mut ua = Ua::connect(&sim, A1).await;
    ua.register().await;
    sim.ready(A1).await;
    sim.ring(A1).await;
    let invite = ua.recv_request(Method::Invite).await;
    let tag = nonce();
    let (_peer, sdp) = MediaPeer::answer(&invite.body, Mix::default())
        .await
        .unwrap();
    let ok = invite
        .reply(200, Some(&tag))
        .with("Contact", "<sip:80010001@ua.invalid;transport=ws>")
        .with_body("application/sdp", sdp);
    ua.send(&ok).await;
    ua.recv_request(Method::Ack).await;
    sim.state_until(A1, "TALKING").await;
    ua.send(&ua.bye(&invite, &ok)).await;
    assert_eq!(ua.recv().await.status(), Some(200));
    assert_eq!(sim.user_state(A1).await, "WORKING");

    // Agent 2 does the same with AnswerCall and ReleaseCall.
    sim.ready(A2).await;
    let job = sim.ring(A2).await;
    let call = [("UserId", A2), ("JobId", job.as_str()), ("DeviceId", "d")];
    sim.call("AnswerCall", &call).await;
    sim.call("ReleaseCall", &call).await;
    assert_eq!(sim.user_state(A2).await, "WORKING");

    let settled = wait_until(Duration::from_secs(5), || async {
        state.stats().events.is_settled()
    })
    .await;
    assert!(settled);
    let (one, two) = (hook.types(A1), hook.types(A2));
    assert!(one.len() >= 4, "{one:?}");
    assert_eq!(one, two);
    sim.running.shutdown().await;
}
