//! Shared helpers: an in-process simulator, a proxy configured against it,
//! and request builders for `oneshot`.
#![allow(dead_code)]

use std::{net::SocketAddr, time::Duration};

use axum::{
    body::Body,
    extract::connect_info::MockConnectInfo,
    http::{HeaderMap, Request, StatusCode},
    Router,
};
use ccc_proxy::{app, AppState, Args, Config};
use clap::Parser;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

#[allow(unused_imports)]
pub use ccc_testkit::{free_port, Redis, KEY_ID, KEY_SECRET};
pub const AGENT: &str = "agent1@ccc-demo";
pub const AGENT2: &str = "agent2@ccc-demo";
pub const DEVICE: &str = "browser-test-1";

/// A simulator on 127.0.0.1:0 with the demo configuration (no demo calls).
pub async fn sim() -> ccc_sim::RunningSim {
    ccc_testkit::spawn_sim(ccc_sim::SimConfig::demo()).await
}

/// A header-auth configuration against `endpoint`, plus `extra` flags.
pub fn config(endpoint: &str, extra: &[&str]) -> Config {
    let mut argv = vec![
        "--endpoint",
        endpoint,
        "--instance-id",
        "ccc-demo",
        "--upstream-timeout-ms",
        "800",
        "--poll-interval-ms",
        "200",
    ];
    if !extra.contains(&"--static-dir") {
        argv.extend_from_slice(&["--static-dir", "/nonexistent-ccc-dist"]);
    }
    argv.extend_from_slice(extra);
    ccc_testkit::proxy_config(&argv)
}

/// The proxy's router for `config`, as if every request came from `peer`.
pub fn router_from(config: Config, peer: [u8; 4]) -> (Router, AppState) {
    let state = AppState::new(config, None).expect("state builds");
    let router = app(state.clone()).layer(MockConnectInfo(SocketAddr::from((peer, 40_000))));
    (router, state)
}

/// A simulator and a header-auth proxy router against it (loopback peer).
pub async fn setup(extra: &[&str]) -> (ccc_sim::RunningSim, Router, AppState) {
    let sim = sim().await;
    let (router, state) = router_from(config(&sim.endpoint(), extra), [127, 0, 0, 1]);
    (sim, router, state)
}

/// `GET path` as `user` (header auth).
pub fn get(path: &str, user: &str) -> Request<Body> {
    Request::get(path)
        .header("host", "127.0.0.1:8080")
        .header("x-forwarded-user", user)
        .header("x-ccc-device-id", DEVICE)
        .body(Body::empty())
        .unwrap()
}

/// `POST path` as `user` with a JSON `body` and the CSRF headers.
pub fn post(path: &str, user: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header("host", "127.0.0.1:8080")
        .header("x-forwarded-user", user)
        .header("x-ccc-device-id", DEVICE)
        .header("content-type", "application/json")
        .header("x-requested-with", "ccc-toolbar")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// Sends `req`; returns status, headers and the body as JSON (or a string).
pub async fn send(router: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let res = tokio::time::timeout(Duration::from_secs(20), router.clone().oneshot(req))
        .await
        .expect("the proxy answers within 20 s")
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, body)
}

/// Asserts an error body: status, code and source.
pub fn assert_error(
    (status, _, body): &(StatusCode, HeaderMap, Value),
    want_status: u16,
    code: &str,
    source: &str,
) {
    assert_eq!(status.as_u16(), want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["source"], source, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

/// Admin API of the simulator.
pub async fn admin(sim: &ccc_sim::RunningSim, method: &str, path: &str, body: Value) -> Value {
    let http = reqwest::Client::new();
    ccc_testkit::sim_admin(&http, &sim.endpoint(), method, path, &body)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// `user`'s state and break code as CCC (the simulator) has it.
pub async fn ccc_state(sim: &ccc_sim::RunningSim, user: &str) -> (String, Option<String>) {
    let agents = admin(sim, "GET", "/agents", Value::Null).await;
    let me = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["userId"] == user)
        .expect("the agent exists")
        .clone();
    let ctx = &me["userContext"];
    (
        ctx["UserState"].as_str().unwrap_or_default().to_owned(),
        ctx["BreakCode"]
            .as_str()
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
    )
}

/// Signs `AGENT` in and makes it READY through the proxy.
pub async fn ready_agent(router: &Router, user: &str) -> Value {
    let (s, _, b) = send(router, post("/api/v1/agent/sign-in", user, "{}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _, b) = send(router, post("/api/v1/agent/ready", user, "{}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["agent"]["state"], "READY");
    b
}

/// The value of metric line `name` (exact match of the label part).
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Rings `user` with an inbound call from `caller`; returns the job id.
pub async fn ring(sim: &ccc_sim::RunningSim, user: &str, caller: &str) -> String {
    let job = admin(
        sim,
        "POST",
        "/calls",
        serde_json::json!({"userId": user, "caller": caller}),
    )
    .await;
    job["jobId"].as_str().expect("jobId").to_owned()
}

/// The proxy for `config` on a real socket (127.0.0.1:0, its public
/// origin): base URL, state, and a sender that stops it.
pub async fn serve_on_socket(
    config: Config,
) -> (String, AppState, tokio::sync::oneshot::Sender<()>) {
    ccc_testkit::serve_proxy(config, None).await.into_parts()
}

/// A `--demo` proxy (in-process simulator, demo sign-in) with `extra` flags.
pub async fn demo_app(extra: &[&str]) -> (ccc_sim::RunningSim, Router) {
    let mut argv = vec![
        "ccc-proxy",
        "--demo",
        "--demo-calls-secs",
        "0",
        "--static-dir",
        "/nonexistent-ccc-dist",
    ];
    argv.extend_from_slice(extra);
    let args = Args::try_parse_from(argv).expect("flags parse");
    let mut config = Config::from_args(args, |_| None).expect("--demo needs no credentials");
    let (sim, agents) = ccc_proxy::start_simulator(&mut config).await.unwrap();
    let state = AppState::new(config, Some(agents)).unwrap();
    (sim, app(state))
}

/// The demo sign-in form posted for `user_id`.
pub fn signin_form(user_id: &str) -> Request<Body> {
    Request::post("/signin")
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "user_id={}",
            user_id.replace('@', "%40")
        )))
        .unwrap()
}
