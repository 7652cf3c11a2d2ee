//! Secrets (AccessKeySecret, STS token, JWT secret, bearer tokens, demo
//! cookie key) never appear in logs, responses or `Debug` output.

mod common;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use axum::{body::Body, http::Request};
use ccc_proxy::{Args, Config};
use clap::Parser;
use common::*;
use serde_json::json;

const STS_TOKEN: &str = "sts-token-never-log-me-42";
const JWT_SECRET: &str = "jwt-secret-never-log-me-0123456789";
const EVENTS_TOKEN: &str = "events-token-never-log-me-4242";
const REDIS_PASSWORD: &str = "redis-password-never-log-me";
/// Every configured secret of this test.
const SECRETS: [&str; 5] = [
    KEY_SECRET,
    STS_TOKEN,
    JWT_SECRET,
    EVENTS_TOKEN,
    REDIS_PASSWORD,
];

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
async fn secrets_stay_out_of_logs_responses_and_debug() {
    let logs = Buffer::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .json()
        .init();

    let sim = sim().await;
    let args = Args::try_parse_from([
        "ccc-proxy",
        "--endpoint",
        &sim.endpoint(),
        "--instance-id",
        "ccc-demo",
        "--auth",
        "jwt",
        "--jwt-hs256-secret",
        JWT_SECRET,
        "--static-dir",
        "/nonexistent-ccc-dist",
        "--upstream-timeout-ms",
        "800",
        "--events-token",
        EVENTS_TOKEN,
        // Nothing listens there: the replica runs alone and logs why.
        "--redis-url",
        &format!("redis://:{REDIS_PASSWORD}@127.0.0.1:1/0"),
    ])
    .unwrap();
    let config = Config::from_args(args, |k| match k {
        "ALIBABA_CLOUD_ACCESS_KEY_ID" => Some(KEY_ID.to_owned()),
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET" => Some(KEY_SECRET.to_owned()),
        "ALIBABA_CLOUD_SECURITY_TOKEN" => Some(STS_TOKEN.to_owned()),
        _ => None,
    })
    .unwrap();
    let debug = format!("{config:?} {:?}", config.clone());
    for secret in SECRETS {
        assert!(!debug.contains(secret), "{secret} in Debug: {debug}");
    }
    assert!(debug.contains(KEY_ID), "the key id is fine to show");

    let (app, state) = router_from(config, [127, 0, 0, 1]);
    let debug = format!("{state:?}");
    for secret in SECRETS {
        assert!(!debug.contains(secret), "{secret} in the state's Debug");
    }
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": AGENT, "exp": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() + 600}),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let with_token = |path: &str, method: &str| {
        Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1:8080")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("x-requested-with", "ccc-toolbar")
            .body(Body::from("{}"))
            .unwrap()
    };
    let mut bodies = String::new();
    // The simulator refuses the STS token (unknown to it) or accepts the key:
    // either way the requests run through signing, errors and logging.
    for (path, method) in [
        ("/api/v1/session", "GET"),
        ("/api/v1/agent", "GET"),
        ("/api/v1/agent/ready", "POST"),
        ("/api/v1/agent/sign-in", "POST"),
        ("/metrics", "GET"),
    ] {
        let (_, h, b) = send(&app, with_token(path, method)).await;
        bodies.push_str(&format!("{h:?} {b}"));
    }
    admin(&sim, "PUT", "/faults", json!({"dropRate": 1.0})).await;
    let r = send(&app, with_token("/api/v1/agent/reset", "POST")).await;
    assert_error(&r, 502, "Proxy.UpstreamUnavailable", "proxy");
    bodies.push_str(&r.2.to_string());
    let bad = Request::get("/api/v1/agent")
        .header("host", "127.0.0.1:8080")
        .header("authorization", "Bearer not.a.jwt")
        .body(Body::empty())
        .unwrap();
    let (_, _, b) = send(&app, bad).await;
    bodies.push_str(&b.to_string());
    // CCC's webhook, with the token in the path and in the header.
    let event = r#"{"eventType":"AgentReady","eventTime":"2026-12-05T18:00:00Z","instanceId":"ccc-demo","agentId":"agent1@ccc-demo"}"#;
    for (path, bearer) in [
        (format!("/ccc/events/{EVENTS_TOKEN}"), None),
        ("/ccc/events".to_owned(), Some(EVENTS_TOKEN)),
        ("/ccc/events/wrong-token".to_owned(), None),
    ] {
        let mut req = Request::post(path.as_str()).header("content-type", "application/json");
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let (s, h, b) = send(&app, req.body(Body::from(event)).unwrap()).await;
        assert!(s == 200 || s == 401, "{s} {b}");
        bodies.push_str(&format!("{h:?} {b}"));
    }

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request"), "logging was captured: {logs}");
    for secret in SECRETS.into_iter().chain([token.as_str()]) {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
        assert!(!bodies.contains(secret), "{secret} leaked into a response");
    }
}
