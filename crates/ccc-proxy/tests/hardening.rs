//! Issue 9, one test per finding: what an unauthenticated or hostile client
//! could do to the proxy, and the proof it no longer can. Each of these
//! failed on the proxy before the fix.

mod common;

use std::time::{Duration, Instant};

use axum::{body::Body, http::Request};
use common::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const HS_SECRET: &str = "test-hs256-secret-0123456789abcdef";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Reads from `stream` until the peer closes it; panics after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut got))
        .await
        .expect("the proxy closed the connection in time")
        .expect("read");
    got
}

/// 1. Invented method names never become metric labels.
#[tokio::test]
async fn metrics_labels_stay_bounded_whatever_the_methods() {
    let (_sim, app, _) = setup(&[]).await;
    for i in 0..200 {
        let method = format!("M{i:0>10000}");
        let req = Request::builder()
            .method(method.as_str())
            .uri("/api/v1/agent")
            .header("host", "127.0.0.1:8080")
            .body(Body::empty())
            .unwrap();
        send(&app, req).await;
    }
    let (s, _, b) = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(s, 200);
    let text = b.as_str().unwrap();
    assert!(
        text.len() < 16 * 1024,
        "2 MB of method names leave /metrics small: {} bytes",
        text.len()
    );
    assert!(!text.contains("M0000"), "no invented method is a label");
    assert!(
        metric(
            text,
            "ccc_proxy_http_requests_total{method=\"OTHER\",route=\"/api/v1/agent\",status=\"4xx\"}"
        ) >= 200.0,
        "{text}"
    );
}

/// 2a. A connection that never completes its headers is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_idle_connections_are_closed() {
    let sim = sim().await;
    let cfg = config(
        &sim.endpoint(),
        &[
            "--header-read-timeout-secs",
            "1",
            "--idle-timeout-secs",
            "2",
        ],
    );
    let (base, state, _stop) = serve_on_socket(cfg).await;
    let addr = base.trim_start_matches("http://").to_owned();

    // Silent after connecting.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    // A head that never ends (slowloris).
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    closed_within(&mut silent, Duration::from_secs(5)).await;
    closed_within(&mut slow, Duration::from_secs(5)).await;
    assert!(started.elapsed() >= Duration::from_millis(900));

    // A kept-alive connection: answered, then closed once idle for 2 s.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let got = closed_within(&mut idle, Duration::from_secs(6)).await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));

    // A long-poll longer than both timeouts is not cut: it is in flight.
    let http = reqwest::Client::new();
    let (_, _, b) = send_real(&http, &base, "/api/v1/agent").await;
    let since = b["contextId"].as_i64().unwrap();
    let res = http
        .get(format!("{base}/api/v1/agent?since={since}&wait=3"))
        .header("x-forwarded-user", AGENT)
        .send()
        .await
        .expect("the long-poll answers");
    assert_eq!(res.status(), 200);
    assert!(state.metrics.connections() >= 0);
}

/// 2b. At the connection cap the proxy stops accepting instead of running
/// out of file descriptors, and serves again once connections close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_pauses_accepting() {
    let sim = sim().await;
    let cfg = config(
        &sim.endpoint(),
        &["--max-connections", "3", "--header-read-timeout-secs", "1"],
    );
    let (base, state, _stop) = serve_on_socket(cfg).await;
    let addr = base.trim_start_matches("http://").to_owned();
    let mut hogs = Vec::new();
    for _ in 0..3 {
        hogs.push(TcpStream::connect(&addr).await.unwrap());
    }
    // The fourth is queued by the kernel, then served when the silent
    // ones are closed by the header timeout.
    let res = tokio::time::timeout(
        Duration::from_secs(10),
        reqwest::get(format!("{base}/healthz")),
    )
    .await
    .expect("served once the silent connections were closed")
    .unwrap();
    assert_eq!(res.status(), 200);
    let (_, _, metrics) = send_real(&reqwest::Client::new(), &base, "/metrics").await;
    assert!(
        metric(
            metrics.as_str().unwrap(),
            "ccc_proxy_connection_limit_hits_total"
        ) >= 1.0,
        "the cap was hit and counted"
    );
    assert!(state.metrics.connections() <= 3);
}

/// 2c. Per-agent long-polls are capped: a newer one answers the oldest of
/// the same device at once.
#[tokio::test]
async fn long_polls_per_device_are_capped() {
    let (_sim, app, state) = setup(&["--longpolls-per-device", "2"]).await;
    let (_, _, b) = send(&app, get("/api/v1/agent", AGENT)).await;
    let since = b["contextId"].as_i64().unwrap();
    let poll = |app: axum::Router| {
        tokio::spawn(async move {
            let started = Instant::now();
            send(
                &app,
                get(&format!("/api/v1/agent?since={since}&wait=20"), AGENT),
            )
            .await;
            started.elapsed()
        })
    };
    let first = poll(app.clone());
    let deadline = Instant::now() + Duration::from_secs(5);
    while state.metrics.waiters() < 1 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = poll(app.clone());
    while state.metrics.waiters() < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let third = poll(app.clone());
    let waited = tokio::time::timeout(Duration::from_secs(5), first)
        .await
        .expect("the oldest waiter answered at once")
        .unwrap();
    assert!(waited < Duration::from_secs(5));
    assert_eq!(state.metrics.longpoll_evictions(), 1);
    assert!(!second.is_finished() && !third.is_finished());
    second.abort();
    third.abort();
}

fn jwt(claims: serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
    .unwrap()
}

fn with_bearer(token: &str) -> Request<Body> {
    Request::get("/api/v1/agent")
        .header("host", "127.0.0.1:8080")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

/// 3. Configured iss/aud are required, nbf is honoured, and long-lived
/// tokens are refused.
#[tokio::test]
async fn jwt_claims_are_required_and_bounded() {
    let sim = sim().await;
    let cfg = config(
        &sim.endpoint(),
        &[
            "--auth",
            "jwt",
            "--jwt-hs256-secret",
            HS_SECRET,
            "--jwt-issuer",
            "https://crm.example.com",
            "--jwt-audience",
            "ccc-toolbar",
        ],
    );
    let (app, _) = router_from(cfg, [203, 0, 113, 9]);
    let t = now();
    let good = json!({"sub": AGENT, "exp": t + 600, "iat": t,
                      "iss": "https://crm.example.com", "aud": "ccc-toolbar"});
    let (s, _, b) = send(&app, with_bearer(&jwt(good.clone()))).await;
    assert_eq!(s, 200, "{b}");

    let mut cases = Vec::new();
    for missing in ["iss", "aud"] {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(missing);
        cases.push((format!("without {missing}"), c));
    }
    let mut nbf = good.clone();
    nbf["nbf"] = json!(t + 600);
    cases.push(("not yet valid".into(), nbf));
    let mut long = good.clone();
    long["exp"] = json!(t + 13 * 3600);
    cases.push(("13 h lifetime".into(), long));
    let mut long_no_iat = good.clone();
    long_no_iat.as_object_mut().unwrap().remove("iat");
    long_no_iat["exp"] = json!(t + 30 * 24 * 3600);
    cases.push(("a month, no iat".into(), long_no_iat));
    for (what, claims) in cases {
        let r = send(&app, with_bearer(&jwt(claims))).await;
        assert_eq!(r.0, 401, "{what}: {}", r.2);
    }
}

/// 4. Reading the session in a loop costs CCC one call, not one per read;
/// reads are rate-limited per agent with Retry-After (and so are commands).
#[tokio::test]
async fn reads_do_not_amplify_to_ccc() {
    let (sim, app, state) = setup(&["--read-rate-limit-burst", "40"]).await;
    let before = sim.state().stats().calls_of("GetLoginDetails");
    for _ in 0..30 {
        let (s, _, b) = send(&app, get("/api/v1/session", AGENT)).await;
        assert_eq!(s, 200, "{b}");
    }
    let calls = sim.state().stats().calls_of("GetLoginDetails") - before;
    assert_eq!(calls, 1, "30 reads, one GetLoginDetails");
    assert_eq!(state.metrics.session_cache_count("hit"), 29);

    // A work-mode change drops the cached answer.
    send(&app, post("/api/v1/agent/sign-in", AGENT, "{}")).await;
    let (s, _, b) = send(
        &app,
        post(
            "/api/v1/agent/work-mode",
            AGENT,
            r#"{"mode":"OFFICE_PHONE"}"#,
        ),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    send(&app, get("/api/v1/session", AGENT)).await;
    assert_eq!(sim.state().stats().calls_of("GetLoginDetails") - before, 2);

    // The burst is spent: 429 with Retry-After, for this agent only.
    let mut limited = None;
    for _ in 0..20 {
        let r = send(&app, get("/api/v1/session", AGENT)).await;
        if r.0 == 429 {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("reads are rate-limited");
    assert_error(&r, 429, "Proxy.RateLimited", "proxy");
    let retry: u64 = r.1["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let (s, _, _) = send(&app, get("/api/v1/session", AGENT2)).await;
    assert_eq!(s, 200, "other agents are not affected");
}

#[tokio::test]
async fn command_429s_carry_retry_after() {
    let (_sim, app, _) = setup(&["--rate-limit-burst", "1", "--rate-limit-per-minute", "1"]).await;
    let (s, _, _) = send(&app, post("/api/v1/agent/sign-in", AGENT, "{}")).await;
    assert_eq!(s, 200);
    let r = send(&app, post("/api/v1/agent/reset", AGENT, "{}")).await;
    assert_error(&r, 429, "Proxy.RateLimited", "proxy");
    let retry: u64 = r.1["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((50..=60).contains(&retry), "one a minute: {retry}");
}

/// 5. DNS rebinding: a foreign Host is refused even with a matching
/// Origin; the identity header sent twice is refused.
#[tokio::test]
async fn foreign_hosts_and_doubled_identities_are_refused() {
    let (_sim, app, _) = setup(&[]).await;
    let mut rebound = post("/api/v1/agent/sign-in", AGENT, "{}");
    rebound
        .headers_mut()
        .insert("host", "evil.example".parse().unwrap());
    rebound
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    assert_error(&send(&app, rebound).await, 403, "Proxy.Forbidden", "proxy");
    let mut read = get("/api/v1/session", AGENT);
    read.headers_mut()
        .insert("host", "evil.example:8080".parse().unwrap());
    assert_error(&send(&app, read).await, 403, "Proxy.Forbidden", "proxy");

    // Same host and port, other scheme.
    let mut scheme = post("/api/v1/agent/sign-in", AGENT, "{}");
    scheme
        .headers_mut()
        .insert("origin", "https://127.0.0.1:8080".parse().unwrap());
    assert_error(&send(&app, scheme).await, 403, "Proxy.Forbidden", "proxy");

    let mut twice = get("/api/v1/session", AGENT);
    twice
        .headers_mut()
        .append("x-forwarded-user", AGENT2.parse().unwrap());
    assert_error(
        &send(&app, twice).await,
        401,
        "Proxy.Unauthenticated",
        "proxy",
    );

    // --public-origin names where browsers really come from.
    let (_sim, app, _) = setup(&["--public-origin", "https://crm.example.com"]).await;
    let mut crm = post("/api/v1/agent/sign-in", AGENT, "{}");
    crm.headers_mut()
        .insert("host", "crm.example.com".parse().unwrap());
    crm.headers_mut()
        .insert("origin", "https://crm.example.com".parse().unwrap());
    let (s, _, b) = send(&app, crm).await;
    assert_eq!(s, 200, "{b}");
    let r = send(&app, post("/api/v1/agent/sign-in", AGENT, "{}")).await;
    assert_error(&r, 403, "Proxy.Forbidden", "proxy");
}

/// 6. Request ids: a strict pattern or a new one.
#[tokio::test]
async fn client_request_ids_are_checked() {
    let (_sim, app, _) = setup(&[]).await;
    let with_id = |id: &str| {
        Request::get("/healthz")
            .header("x-request-id", id)
            .body(Body::empty())
            .unwrap()
    };
    let (_, h, _) = send(&app, with_id("trace-42.a_b:c")).await;
    assert_eq!(h["x-request-id"], "trace-42.a_b:c", "a tidy id is kept");
    for forged in ["a b \" level=ERROR msg=forged", &"x".repeat(300)] {
        let (_, h, _) = send(&app, with_id(forged)).await;
        let id = h["x-request-id"].to_str().unwrap();
        assert_ne!(id, forged);
        assert!(!id.is_empty() && id.len() <= 64, "{id}");
    }
}

/// 6. A restart keeps demo sign-ins: the generated cookie key is kept in a
/// 0600 file and reused.
#[tokio::test]
async fn a_restart_keeps_demo_sign_ins() {
    let dir = std::env::temp_dir().join(format!("ccc-proxy-restart-{}", std::process::id()));
    let key_file = dir.join("demo-cookie.key");
    let flags = ["--cookie-key-file", key_file.to_str().unwrap()];
    let (_sim1, first) = demo_app(&flags).await;
    let (s, h, _) = send(&first, signin_form(AGENT)).await;
    assert_eq!(s, 303);
    let cookie = h["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (_sim2, restarted) = demo_app(&flags).await;
    let session = Request::get("/api/v1/session")
        .header("host", "127.0.0.1:8080")
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    let (s, _, b) = send(&restarted, session).await;
    assert_eq!(s, 200, "still signed in after a restart: {b}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// `GET path` over real HTTP as `AGENT`.
async fn send_real(
    http: &reqwest::Client,
    base: &str,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let res = http
        .get(format!("{base}{path}"))
        .header("x-forwarded-user", AGENT)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, headers, body)
}
