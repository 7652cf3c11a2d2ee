//! What an outside probe broke (issue 16), each reproduced against the
//! simulator: forged event ordering, slow webhook bodies, toll fraud,
//! unbounded strings and the smaller holes.

mod common;

use std::time::{Duration, Instant};

use axum::{body::Body, http::Request};
use common::*;
use serde_json::{json, Value};

const TOKEN: &str = "events-token-0123456789";
/// The bounds of `ccc_model::text` and `webhook::BODY_READ_TIMEOUT`, as
/// documented (spelled out so the tests also build against older code).
const MAX_CODE: usize = 64;
const MAX_NUMBER: usize = 64;
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A control or bidi character that must never be served.
fn shows_wrongly(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn now() -> i64 {
    ccc_proxy::upstream::now_ms()
}

fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let base = ccc_model::signing::format_timestamp(secs);
    format!("{}.{:03}Z", base.trim_end_matches('Z'), ms.rem_euclid(1000))
}

fn event(kind: &str, time: &str, extra: Value) -> Value {
    let mut e = json!({
        "eventType": kind,
        "eventTime": time,
        "instanceId": "ccc-demo",
        "agentId": AGENT,
    });
    if let (Some(e), Some(x)) = (e.as_object_mut(), extra.as_object()) {
        e.extend(x.clone());
    }
    e
}

fn deliver(body: &Value) -> Request<Body> {
    Request::post("/ccc/events")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn shown(app: &axum::Router) -> Value {
    let (s, _, b) = send(app, get("/api/v1/agent", AGENT)).await;
    assert_eq!(s, 200, "{b}");
    b
}

/// Opens the agent's toolbar (a read starts its loop) and waits for the
/// loop's first poll, so events apply to a watched agent and no poll that
/// started before them answers afterwards.
async fn watch(sim: &ccc_sim::RunningSim, app: &axum::Router) {
    // The first look: a PollUserStatus, or the batched realtime row that
    // is all there is of a signed-out agent.
    let polls = || {
        let s = sim.state().stats();
        s.calls_of("PollUserStatus") + s.calls_of("ListRealtimeAgentStates")
    };
    let before = polls();
    shown(app).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while polls() == before {
        assert!(Instant::now() < deadline, "the agent's loop polls once");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Finding 1: an `AgentReady` with `contextId` i64::MAX froze the view:
/// the agent's own break answered READY and long-polls stopped waking.
#[tokio::test]
async fn a_forged_context_id_does_not_freeze_the_view() {
    let (sim, app, _) = setup(&["--events-token", TOKEN]).await;
    ready_agent(&app, AGENT).await;
    watch(&sim, &app).await;
    let forged = event(
        "AgentReady",
        &iso(now() + 1000),
        json!({"contextId": i64::MAX.to_string()}),
    );
    let (s, _, b) = send(&app, deliver(&forged)).await;
    assert_eq!(s, 200, "{b}");
    let (s, _, b) = send(
        &app,
        post("/api/v1/agent/break", AGENT, r#"{"code":"lunch"}"#),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "BREAK", "CCC's truth wins: {b}");
    assert_eq!(b["agent"]["breakCode"], "lunch");
    let since = b["contextId"].as_i64().unwrap();
    assert!(since < i64::MAX / 2, "the version is not pinned: {since}");
    // A long-poll still wakes on the next change.
    let waiter = {
        let app = app.clone();
        tokio::spawn(async move {
            send(
                &app,
                get(&format!("/api/v1/agent?since={since}&wait=10"), AGENT),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let ready = event("AgentReady", &iso(now() + 1000), json!({}));
    send(&app, deliver(&ready)).await;
    let (s, _, b) = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the long-poll wakes within 5 s")
        .unwrap();
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "READY");
    assert!(b["contextId"].as_i64().unwrap() > since);
}

/// Finding 2: an `AgentBreak` dated year 3000 hid every later event; a
/// ringing call showed only at the 30 s sweep (a missed call).
#[tokio::test]
async fn a_future_event_time_is_refused_and_counted() {
    let (sim, app, state) = setup(&["--events-token", TOKEN, "--reconcile-secs", "600"]).await;
    ready_agent(&app, AGENT).await;
    watch(&sim, &app).await;
    let future = event(
        "AgentBreak",
        "3000-01-01T00:00:00Z",
        json!({"breakCode": "lunch"}),
    );
    let (s, _, b) = send(&app, deliver(&future)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(shown(&app).await["agent"]["state"], "READY");
    assert_eq!(state.metrics.ccc_events("too_far_ahead"), 1);
    let (_, _, metrics) = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert!(
        metrics.as_str().unwrap().contains("too_far_ahead"),
        "counted in /metrics"
    );
    let job = ring(&sim, AGENT, "13800000000").await;
    let ringing = event(
        "AgentRinging",
        &iso(now() + 1000),
        json!({"contactId": job}),
    );
    let (s, _, b) = send(&app, deliver(&ringing)).await;
    assert_eq!(s, 200, "{b}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let b = shown(&app).await;
        if b["agent"]["state"] == "RINGING" {
            break;
        }
        assert!(Instant::now() < deadline, "the ringing call is shown: {b}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Opens a connection to `base` and sends `head` (request line and
/// headers, then whatever part of a body).
async fn raw(base: &str, head: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

/// Reads what the server sends until it closes, or `secs` pass.
async fn answer_within(s: &mut tokio::net::TcpStream, secs: u64) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
            if out.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(secs), read)
        .await
        .ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn slow_head(auth: Option<&str>) -> String {
    let auth = auth.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    format!(
        "POST /ccc/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         {auth}Content-Length: 200000\r\n\r\n["
    )
}

/// Finding 3: the webhook read up to 256 KiB before checking the token, so
/// slow unauthenticated bodies held connections until the 55 s timeout and
/// filled `--max-connections`.
#[tokio::test]
async fn slow_unauthenticated_bodies_do_not_starve_the_server() {
    let sim = sim().await;
    let cfg = config(
        &sim.endpoint(),
        &["--events-token", TOKEN, "--max-connections", "8"],
    );
    let (base, _state, _stop) = serve_on_socket(cfg).await;
    // An unauthenticated request is refused without its body being read.
    let mut one = raw(&base, &slow_head(None)).await;
    let answer = answer_within(&mut one, 3)
        .await
        .expect("refused before the body arrives");
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // Three times the connection cap of slow bodies, all held open.
    let mut held = Vec::new();
    for i in 0..24 {
        let auth = (i % 2 == 0).then_some("Bearer wrong-token-0123456789");
        held.push(raw(&base, &slow_head(auth)).await);
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let health = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("/healthz answers while slow bodies are held");
    assert_eq!(health.status(), 200);
    drop(held);
}

/// An authenticated body that trickles is cut after a short timeout, not
/// the router's 55 s.
#[tokio::test]
async fn an_authenticated_slow_body_times_out_quickly() {
    let sim = sim().await;
    let cfg = config(&sim.endpoint(), &["--events-token", TOKEN]);
    let (base, _state, _stop) = serve_on_socket(cfg).await;
    let started = Instant::now();
    let mut s = raw(&base, &slow_head(Some(&format!("bearer {TOKEN}")))).await;
    let limit = BODY_READ_TIMEOUT.as_secs() + 3;
    let answer = answer_within(&mut s, limit)
        .await
        .expect("the slow body is cut");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() >= BODY_READ_TIMEOUT);
}

/// Finding 7: auth schemes are case-insensitive (RFC 9110).
#[tokio::test]
async fn a_lowercase_bearer_scheme_is_accepted() {
    let (sim, app, _) = setup(&["--events-token", TOKEN]).await;
    watch(&sim, &app).await;
    let body = json!([event(
        "AgentBreak",
        &iso(now() + 1000),
        json!({"breakCode": "lunch"})
    )]);
    let req = Request::post("/ccc/events")
        .header("content-type", "application/json")
        .header("authorization", format!("bearer {TOKEN}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let (s, _, b) = send(&app, req).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(shown(&app).await["agent"]["state"], "BREAK");
}

/// Finding 5: one malformed event rejected the whole delivery (400), so
/// the good events were lost or retried forever.
#[tokio::test]
async fn one_bad_event_does_not_cost_the_good_ones() {
    let (sim, app, state) = setup(&["--events-token", TOKEN]).await;
    watch(&sim, &app).await;
    let good = event(
        "AgentBreak",
        &iso(now() + 1000),
        json!({"breakCode": "lunch"}),
    );
    let body = json!([good, {"eventType": 1}]);
    let (s, _, b) = send(&app, deliver(&body)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["accepted"], 1, "{b}");
    assert_eq!(b["rejected"].as_array().map(Vec::len), Some(1), "{b}");
    assert_eq!(b["rejected"][0]["index"], 1);
    assert!(b["rejected"][0]["reason"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    let now_shown = shown(&app).await;
    assert_eq!(
        now_shown["agent"]["state"], "BREAK",
        "the good event applied"
    );
    assert_eq!(state.metrics.ccc_events("invalid"), 1);
    // Only an unreadable body is refused as a whole.
    let req = Request::post("/ccc/events")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from("[1,"))
        .unwrap();
    assert_error(&send(&app, req).await, 400, "Proxy.BadRequest", "proxy");
}

fn make_calls(sim: &ccc_sim::RunningSim) -> u64 {
    sim.state()
        .stats()
        .calls
        .get("MakeCall")
        .copied()
        .unwrap_or(0)
}

async fn dial(
    app: &axum::Router,
    number: &str,
) -> (axum::http::StatusCode, axum::http::HeaderMap, Value) {
    let body = json!({ "number": number }).to_string();
    send(app, post("/api/v1/agent/dial", AGENT, &body)).await
}

/// Finding 4: dialling shared the general command bucket; a dial → hang-up
/// loop placed 34 calls in 63 s. Now 5 a minute, on their own.
#[tokio::test]
async fn a_dial_loop_hits_its_own_limit() {
    let (sim, app, _) = setup(&[
        "--rate-limit-per-minute",
        "1000",
        "--rate-limit-burst",
        "1000",
    ])
    .await;
    ready_agent(&app, AGENT).await;
    for i in 0..5 {
        let (s, _, b) = dial(&app, "13812345678").await;
        assert_eq!(s, 200, "dial {i}: {b}");
        let (s, _, b) = send(&app, post("/api/v1/agent/hangup", AGENT, "{}")).await;
        assert_eq!(s, 200, "hang-up {i}: {b}");
    }
    let refused = dial(&app, "13812345678").await;
    assert_error(&refused, 429, "Proxy.DialLimited", "proxy");
    let retry: u64 = refused.1["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(make_calls(&sim), 5, "the sixth call never reached CCC");
    // Other commands are not affected.
    let (s, _, b) = send(&app, post("/api/v1/agent/ready", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    let (_, _, metrics) = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    let metrics = metrics.as_str().unwrap().to_owned();
    assert_eq!(
        metric(&metrics, r#"ccc_proxy_rate_limited_total{kind="dial"}"#),
        1.0,
        "{metrics}"
    );
}

/// Finding 4: without Redis each replica had its own bucket; the dial
/// limit is shared by the fleet.
#[tokio::test]
async fn the_dial_limit_is_shared_by_the_fleet() {
    let redis = Redis::start(free_port()).expect("redis-server starts");
    redis.ready().await;
    let sim = sim().await;
    let url = redis.url();
    let flags = [
        "--redis-url",
        url.as_str(),
        "--dial-limit-per-minute",
        "3",
        "--rate-limit-per-minute",
        "1000",
        "--rate-limit-burst",
        "1000",
    ];
    let (a, _) = router_from(config(&sim.endpoint(), &flags), [127, 0, 0, 1]);
    let (b, _) = router_from(config(&sim.endpoint(), &flags), [127, 0, 0, 1]);
    ready_agent(&a, AGENT).await;
    for app in [&a, &b, &a] {
        let (s, _, body) = dial(app, "13812345678").await;
        assert_eq!(s, 200, "{body}");
        let (s, _, body) = send(app, post("/api/v1/agent/hangup", AGENT, "{}")).await;
        assert_eq!(s, 200, "{body}");
    }
    assert_error(
        &dial(&b, "13812345678").await,
        429,
        "Proxy.DialLimited",
        "proxy",
    );
    assert_eq!(make_calls(&sim), 3);
}

/// Finding 4: premium and satellite ranges and feature codes are denied by
/// default (`--dial-pattern` was off, so anything valid was dialled).
#[tokio::test]
async fn premium_ranges_and_feature_codes_are_denied_by_default() {
    let (sim, app, _) = setup(&[]).await;
    ready_agent(&app, AGENT).await;
    for number in [
        "+88212345678",
        "0088312345678",
        "+979123456",
        "*72#13812345678",
    ] {
        let r = dial(&app, number).await;
        assert_error(&r, 400, "Proxy.NumberNotAllowed", "proxy");
    }
    assert_eq!(make_calls(&sim), 0);
    // The operator may replace the list.
    let (sim, app, _) = setup(&["--dial-deny-pattern", ""]).await;
    ready_agent(&app, AGENT).await;
    let (s, _, b) = dial(&app, "+88212345678").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(make_calls(&sim), 1);
}

/// Finding 6: a 60 KB break code from an event was stored and served on
/// every poll; a 3,000-character caller with U+202E and NUL was shown as is.
#[tokio::test]
async fn strings_from_ccc_and_events_are_bounded() {
    let (sim, app, _) = setup(&["--events-token", TOKEN]).await;
    ready_agent(&app, AGENT).await;
    watch(&sim, &app).await;
    let huge = "x".repeat(60_000);
    let brk = event("AgentBreak", &iso(now() + 1000), json!({"breakCode": huge}));
    let (s, _, b) = send(&app, deliver(&brk)).await;
    assert_eq!(s, 200, "{b}");
    let shown_now = shown(&app).await;
    assert_eq!(shown_now["agent"]["state"], "BREAK", "{b} {shown_now}");
    let code = shown_now["agent"]["breakCode"].as_str().unwrap();
    assert_eq!(code.len(), MAX_CODE, "bounded");
    // CCC's own text: an inbound caller number with controls.
    let (s, _, b) = send(&app, post("/api/v1/agent/ready", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    let caller = format!("\u{202E}\u{0}\u{1b}{}", "1".repeat(3000));
    ring(&sim, AGENT, &caller).await;
    let (s, _, b) = send(&app, post("/api/v1/agent/answer", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    let legs = b["call"]["channels"].as_array().expect("legs").clone();
    assert!(!legs.is_empty(), "{b}");
    for leg in legs {
        for field in ["originator", "destination"] {
            let v = leg[field].as_str().unwrap_or_default();
            assert!(
                v.chars().count() <= MAX_NUMBER,
                "{field}: {} chars",
                v.len()
            );
            assert!(
                !v.chars().any(shows_wrongly),
                "{field} keeps a control: {v:?}"
            );
        }
    }
}

/// Finding 7: two `X-CCC-Device-Id` headers were accepted (first wins)
/// while two identity headers are refused.
#[tokio::test]
async fn a_doubled_device_header_is_refused() {
    let (_sim, app, _) = setup(&[]).await;
    let mut req = get("/api/v1/agent", AGENT);
    req.headers_mut()
        .append("x-ccc-device-id", "browser-test-2".parse().unwrap());
    let r = send(&app, req).await;
    assert_error(&r, 400, "Proxy.BadRequest", "proxy");
    assert!(r.2["error"]["message"]
        .as_str()
        .unwrap()
        .contains("X-CCC-Device-Id"));
}

/// Finding 7: `/examples/crm.html` was served from the production `dist/`.
#[tokio::test]
async fn the_example_crm_page_is_served_only_in_demo_mode() {
    let dist = std::env::temp_dir().join(format!("ccc-abuse-dist-{}", rand_suffix()));
    std::fs::create_dir_all(dist.join("examples")).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>t</title>").unwrap();
    std::fs::write(
        dist.join("examples/crm.html"),
        "<!doctype html><title>crm</title>",
    )
    .unwrap();
    let dir = dist.to_str().unwrap();
    let (_sim, app, _) = setup(&["--static-dir", dir]).await;
    for path in [
        "/examples/crm.html",
        "/%65xamples/crm.html",
        "/Examples/crm.html",
    ] {
        let req = Request::get(path)
            .header("host", "127.0.0.1:8080")
            .body(Body::empty())
            .unwrap();
        let (s, _, _) = send(&app, req).await;
        assert_eq!(s, 404, "{path} in production");
    }
    // Demo mode (demo_app serves no dist, so the same flags by hand).
    let mut config = {
        let args = <ccc_proxy::Args as clap::Parser>::try_parse_from([
            "ccc-proxy",
            "--demo",
            "--demo-calls-secs",
            "0",
            "--static-dir",
            dir,
        ])
        .unwrap();
        ccc_proxy::Config::from_args(args, |_| None).unwrap()
    };
    let (_sim3, agents) = ccc_proxy::start_simulator(&mut config).await.unwrap();
    let demo = ccc_proxy::app(ccc_proxy::AppState::new(config, Some(agents)).unwrap());
    let req = Request::get("/examples/crm.html")
        .header("host", "127.0.0.1:8080")
        .body(Body::empty())
        .unwrap();
    let (s, _, body) = send(&demo, req).await;
    assert_eq!(s, 200, "{body}");
    std::fs::remove_dir_all(&dist).unwrap();
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        ^ u64::from(std::process::id())
}
