//! Next state (`PUT`/`DELETE /api/v1/agent/next-state`) against the
//! simulator: refused outside a call, shown on every snapshot, cancelled by
//! `DELETE`, `{"next":null}` or a state command, and applied by the proxy
//! when CCC reports the call over, with no toolbar open (polling and the
//! event path); replicas sharing Redis show it everywhere and apply it once.

mod common;

use std::{
    future::Future,
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum::{body::Body, http::Request};
use ccc_proxy::AppState;
use common::*;
use serde_json::{json, Value};

const TOKEN: &str = "events-token-0123456789";

async fn until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A simulator whose after-call work lasts `after_call_ms`.
async fn sim_with_after_call(after_call_ms: u64) -> ccc_sim::RunningSim {
    let mut config = ccc_sim::SimConfig::demo();
    config.timings.after_call_ms = after_call_ms;
    ccc_sim::spawn(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("simulator starts")
}

fn put_next(user: &str, body: &str) -> Request<Body> {
    Request::put("/api/v1/agent/next-state")
        .header("host", "127.0.0.1:8080")
        .header("x-forwarded-user", user)
        .header("x-ccc-device-id", DEVICE)
        .header("content-type", "application/json")
        .header("x-requested-with", "ccc-toolbar")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn delete_next(user: &str) -> Request<Body> {
    Request::delete("/api/v1/agent/next-state")
        .header("host", "127.0.0.1:8080")
        .header("x-forwarded-user", user)
        .header("x-ccc-device-id", DEVICE)
        .header("content-type", "application/json")
        .header("x-requested-with", "ccc-toolbar")
        .body(Body::empty())
        .unwrap()
}

/// Rings `user`, and the agent answers in the simulator: TALKING.
async fn talking(sim: &ccc_sim::RunningSim, user: &str) -> String {
    let job = ring(sim, user, "13800000000").await;
    admin(sim, "POST", &format!("/calls/{job}/answer"), json!({})).await;
    job
}

async fn customer_hangs_up(sim: &ccc_sim::RunningSim, job: &str) {
    admin(
        sim,
        "POST",
        &format!("/calls/{job}/hangup"),
        json!({"by": "customer"}),
    )
    .await;
}

/// What the proxy shows (a fresh look).
async fn shown(app: &axum::Router) -> Value {
    let (s, _, b) = send(app, get("/api/v1/agent", AGENT)).await;
    assert_eq!(s, 200, "{b}");
    b
}

#[tokio::test]
async fn refused_outside_a_call_and_for_bad_input() {
    let (sim, app, state) = setup(&["--break-codes", "lunch,meeting"]).await;
    ready_agent(&app, AGENT).await;
    let lunch = r#"{"next":{"state":"break","code":"lunch"}}"#;
    let res = send(&app, put_next(AGENT, lunch)).await;
    assert_error(&res, 409, "Proxy.NotInCall", "proxy");
    assert!(shown(&app).await.get("nextState").is_none());

    talking(&sim, AGENT).await;
    for bad in [
        "not json",
        "[]",
        r#"{"next":{"state":"nap"}}"#,
        r#"{"next":{"state":"break"}}"#,
        r#"{"next":null,"userId":"agent2@ccc-demo"}"#,
    ] {
        let res = send(&app, put_next(AGENT, bad)).await;
        assert_error(&res, 400, "Proxy.BadRequest", "proxy");
    }
    let res = send(
        &app,
        put_next(AGENT, r#"{"next":{"state":"break","code":"gone"}}"#),
    )
    .await;
    assert_error(&res, 400, "Proxy.InvalidBreakCode", "proxy");
    // Without identity nothing is stored.
    let anon = Request::put("/api/v1/agent/next-state")
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/json")
        .header("x-requested-with", "ccc-toolbar")
        .body(Body::from(lunch))
        .unwrap();
    assert_error(
        &send(&app, anon).await,
        401,
        "Proxy.Unauthenticated",
        "proxy",
    );
    // Without the CSRF headers neither.
    let no_csrf = Request::put("/api/v1/agent/next-state")
        .header("host", "127.0.0.1:8080")
        .header("x-forwarded-user", AGENT)
        .body(Body::from(lunch))
        .unwrap();
    assert_error(&send(&app, no_csrf).await, 403, "Proxy.Forbidden", "proxy");
    assert!(shown(&app).await.get("nextState").is_none());
    assert_eq!(state.metrics.next_states("set"), 0);
}

#[tokio::test]
async fn shown_on_every_snapshot_and_cancelled_three_ways() {
    let (sim, app, state) = setup(&[]).await;
    ready_agent(&app, AGENT).await;
    talking(&sim, AGENT).await;
    let before = shown(&app).await["contextId"].as_i64().unwrap();
    let (s, h, b) = send(
        &app,
        put_next(AGENT, r#"{"next":{"state":"break","code":"lunch"}}"#),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(b["nextState"], json!({"state": "break", "code": "lunch"}));
    assert!(b["contextId"].as_i64().unwrap() > before, "a new version");
    // Long-pollers wake with it; another agent does not see it.
    assert_eq!(shown(&app).await["nextState"]["code"], "lunch");
    let (_, _, other) = send(&app, get("/api/v1/agent", AGENT2)).await;
    assert!(other.get("nextState").is_none(), "{other}");

    // DELETE cancels.
    let (s, _, b) = send(&app, delete_next(AGENT)).await;
    assert_eq!(s, 200, "{b}");
    assert!(b.get("nextState").is_none(), "{b}");
    // {"next":null} cancels.
    send(&app, put_next(AGENT, r#"{"next":{"state":"offline"}}"#)).await;
    assert_eq!(shown(&app).await["nextState"]["state"], "offline");
    let (s, _, b) = send(&app, put_next(AGENT, r#"{"next":null}"#)).await;
    assert_eq!(s, 200, "{b}");
    assert!(shown(&app).await.get("nextState").is_none());
    // A call command leaves it; an explicit state command replaces it.
    send(&app, put_next(AGENT, r#"{"next":{"state":"ready"}}"#)).await;
    let (s, _, b) = send(&app, post("/api/v1/agent/mute", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["nextState"]["state"], "ready");
    let (s, _, b) = send(&app, post("/api/v1/agent/hangup", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    // The hang-up ended the call: the proxy made the agent READY at once,
    // cutting the 15 s of after-call work short.
    until("the next state to be applied", || async {
        ccc_state(&sim, AGENT).await.0 == "READY"
    })
    .await;
    assert_eq!(state.metrics.next_states("cancelled"), 2);
    assert_eq!(state.metrics.next_states("applied"), 1);
    until("the toolbar to show it", || async {
        let s = shown(&app).await;
        s["agent"]["state"] == "READY" && s.get("nextState").is_none()
    })
    .await;

    talking(&sim, AGENT).await;
    send(&app, put_next(AGENT, r#"{"next":{"state":"offline"}}"#)).await;
    let (s, _, b) = send(&app, post("/api/v1/agent/hangup", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    until("signed out", || async {
        ccc_state(&sim, AGENT).await.0 == "OFFLINE"
    })
    .await;
    let text = {
        let (_, _, b) = send(&app, get("/metrics", AGENT)).await;
        b.as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(
        metric(&text, "ccc_proxy_next_state_total{outcome=\"applied\"}"),
        2.0,
        "{text}"
    );
}

/// The agent closes the toolbar during the call: nobody long-polls, the
/// agent's loop outlives `--poll-idle-secs`, and when the customer hangs up
/// the proxy moves the agent (polling path).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_with_no_toolbar_open_when_the_call_ends() {
    let sim = sim_with_after_call(60_000).await;
    let (app, state) = router_from(
        config(&sim.endpoint(), &["--poll-idle-secs", "0"]),
        [127, 0, 0, 1],
    );
    ready_agent(&app, AGENT).await;
    let job = talking(&sim, AGENT).await;
    until("the proxy to see the call", || async {
        shown(&app).await["agent"]["state"] == "TALKING"
    })
    .await;
    let (s, _, b) = send(
        &app,
        put_next(AGENT, r#"{"next":{"state":"break","code":"lunch"}}"#),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // The tab is gone: well past the idle time, nothing asks the proxy.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(ccc_state(&sim, AGENT).await.0, "TALKING");
    let breaks = sim.state().stats().calls_of("TakeBreak");
    customer_hangs_up(&sim, &job).await;
    until("the agent to be on lunch", || async {
        ccc_state(&sim, AGENT).await == ("BREAK".to_owned(), Some("lunch".to_owned()))
    })
    .await;
    assert_eq!(state.metrics.next_states("applied"), 1);
    // Once: later polls do not take the break again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sim.state().stats().calls_of("TakeBreak"), breaks + 1);
    let back = shown(&app).await;
    assert_eq!(back["agent"]["breakCode"], "lunch", "{back}");
    assert!(back.get("nextState").is_none(), "{back}");
}

/// The event path on a real socket: the simulator pushes `AgentRelease`;
/// a next state chosen during after-call work waits for its end (CCC's
/// wrap-up timer), then applies, with no toolbar open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chosen_in_after_call_work_it_applies_when_that_ends_via_events() {
    let sim = sim_with_after_call(700).await;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cfg = config(
        &sim.endpoint(),
        &["--events-token", TOKEN, "--poll-idle-secs", "0"],
    );
    cfg.listen = addr;
    let state = AppState::new(cfg, None).expect("state");
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(ccc_proxy::serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    let target =
        ccc_sim::WebhookTarget::new(&format!("http://{addr}/ccc/events"), Some(TOKEN.to_owned()))
            .unwrap();
    sim.state().set_webhook(Some(target));
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: &str| {
        http.request(method, format!("http://{addr}{path}"))
            .header("x-forwarded-user", AGENT)
            .header("x-ccc-device-id", DEVICE)
            .header("content-type", "application/json")
            .header("x-requested-with", "ccc-toolbar")
            .body(body.to_owned())
            .send()
    };
    for c in ["sign-in", "ready"] {
        let res = call(reqwest::Method::POST, &format!("/api/v1/agent/{c}"), "{}")
            .await
            .unwrap();
        assert!(res.status().is_success());
    }
    let job = talking(&sim, AGENT).await;
    customer_hangs_up(&sim, &job).await;
    assert_eq!(ccc_state(&sim, AGENT).await.0, "WORKING");
    let res = call(
        reqwest::Method::PUT,
        "/api/v1/agent/next-state",
        r#"{"next":{"state":"break","code":"meeting"}}"#,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(body["nextState"]["code"], "meeting", "{body}");
    // Still in after-call work: nothing yet.
    assert_eq!(ccc_state(&sim, AGENT).await.0, "WORKING");
    until("the agent to be in the meeting", || async {
        ccc_state(&sim, AGENT).await == ("BREAK".to_owned(), Some("meeting".to_owned()))
    })
    .await;
    assert_eq!(state.metrics.next_states("applied"), 1);
    assert_eq!(state.metrics.next_states("failed"), 0);
}

/// Two replicas sharing Redis: the next state set on one shows on the
/// other, and exactly one applies it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_it_and_apply_it_once() {
    let Some(redis) = Redis::start(free_port()) else {
        panic!("redis-server must be installed (Debian package redis-server)");
    };
    redis.ready().await;
    let sim = sim_with_after_call(60_000).await;
    let prefix = format!("next-state-test-{}:", std::process::id());
    let url = redis.url();
    let flags = ["--redis-url", &url, "--redis-prefix", &prefix];
    let (a, state_a) = router_from(config(&sim.endpoint(), &flags), [127, 0, 0, 1]);
    let (b, state_b) = router_from(config(&sim.endpoint(), &flags), [127, 0, 0, 1]);
    until("both replicas in the fleet", || async {
        state_a.fleet.as_ref().is_some_and(|f| f.healthy())
            && state_b.fleet.as_ref().is_some_and(|f| f.healthy())
    })
    .await;
    ready_agent(&a, AGENT).await;
    let job = talking(&sim, AGENT).await;
    until("both to see the call", || async {
        shown(&a).await["agent"]["state"] == "TALKING"
            && shown(&b).await["agent"]["state"] == "TALKING"
    })
    .await;
    let (s, _, body) = send(&a, put_next(AGENT, r#"{"next":{"state":"outbound-only"}}"#)).await;
    assert_eq!(s, 200, "{body}");
    until("replica B to show it", || async {
        shown(&b).await["nextState"]["state"] == "outbound-only"
    })
    .await;
    let readies = sim.state().stats().calls_of("ReadyForService");
    customer_hangs_up(&sim, &job).await;
    until("the agent to be outbound-only", || async {
        let s = shown(&b).await;
        s["agent"]["state"] == "READY" && s["agent"]["outboundScenario"] == true
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let applied = state_a.metrics.next_states("applied") + state_b.metrics.next_states("applied");
    assert_eq!(applied, 1, "once for the fleet");
    assert_eq!(sim.state().stats().calls_of("ReadyForService"), readies + 1);
    assert!(shown(&a).await.get("nextState").is_none());
}
