//! CCC's webhook events: authentication (`oneshot`), applying them without
//! CCC calls, ordering, coalesced refreshes; then the whole event path over
//! real HTTP with the simulator pushing to a served proxy, lost events
//! repaired by reconciliation, and the upstream budget under throttling.

mod common;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum::{body::Body, http::Request};
use ccc_model::UserState;
use ccc_proxy::AppState;
use common::*;
use serde_json::{json, Value};

const TOKEN: &str = "events-token-0123456789";

/// Polls `cond` every 10 ms until it holds, or panics after `secs`.
async fn until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn events_req(path: &str, bearer: Option<&str>, body: &str) -> Request<Body> {
    let mut b = Request::post(path).header("content-type", "application/json");
    if let Some(t) = bearer {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::from(body.to_owned())).unwrap()
}

fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let base = ccc_model::signing::format_timestamp(secs);
    format!("{}.{:03}Z", base.trim_end_matches('Z'), ms.rem_euclid(1000))
}

fn event(kind: &str, at_ms: i64, extra: Value) -> Value {
    let mut e = json!({
        "eventType": kind,
        "eventTime": iso(at_ms),
        "instanceId": "ccc-demo",
        "agentId": AGENT,
    });
    if let (Some(e), Some(x)) = (e.as_object_mut(), extra.as_object()) {
        e.extend(x.clone());
    }
    e
}

fn polls(sim: &ccc_sim::RunningSim) -> u64 {
    sim.state().stats().calls_of("PollUserStatus")
}

async fn shown(app: &axum::Router) -> Value {
    let (s, _, b) = send(app, get("/api/v1/agent", AGENT)).await;
    assert_eq!(s, 200, "{b}");
    b
}

#[tokio::test]
async fn deliveries_without_the_token_are_refused_and_change_nothing() {
    let (_sim, app, _) = setup(&["--events-token", TOKEN]).await;
    let before = shown(&app).await;
    let later = now() + 60_000;
    let body = json!([event("AgentBreak", later, json!({"breakCode": "lunch"}))]).to_string();
    for req in [
        events_req("/ccc/events", None, &body),
        events_req("/ccc/events", Some("events-token-0123456780"), &body),
        events_req("/ccc/events", Some("short"), &body),
        events_req("/ccc/events/not-the-token", None, &body),
    ] {
        let res = send(&app, req).await;
        assert_error(&res, 401, "Proxy.Unauthenticated", "proxy");
    }
    assert_eq!(shown(&app).await["agent"], before["agent"]);
    // Without --events-token the endpoint accepts nothing at all.
    let (_sim2, plain, _) = setup(&[]).await;
    let res = send(&plain, events_req("/ccc/events", Some(TOKEN), &body)).await;
    assert_error(&res, 401, "Proxy.Unauthenticated", "proxy");
}

/// The widget corrects its clock by `serverTime`: an unchanged view served
/// later must say when it was served, or a reload starts the time in state
/// short by the view's age.
#[tokio::test]
async fn server_time_is_the_moment_of_the_answer_not_of_the_change() {
    let (_sim, app, _) = setup(&["--events-token", TOKEN]).await;
    let first = shown(&app).await;
    // Let the proxy's clock move on; nothing changes meanwhile.
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let before = now();
    let again = shown(&app).await;
    assert_eq!(again["contextId"], first["contextId"], "the same view");
    let served = again["serverTime"].as_i64().unwrap();
    assert!(
        served >= before,
        "serverTime {served} is older than the request ({before})"
    );
}

#[tokio::test]
async fn bad_bodies_are_400_and_oversized_ones_413() {
    let (_sim, app, _) = setup(&["--events-token", TOKEN]).await;
    for bad in ["not json", "42"] {
        let res = send(&app, events_req("/ccc/events", Some(TOKEN), bad)).await;
        assert_error(&res, 400, "Proxy.BadRequest", "proxy");
    }
    // A readable delivery with a bad event: 200, the event reported.
    let one_bad = r#"[{"eventType":"AgentReady"}]"#;
    let (s, _, b) = send(&app, events_req("/ccc/events", Some(TOKEN), one_bad)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["rejected"][0]["index"], 0, "{b}");
    let huge = format!("[{}]", "1,".repeat(200_000) + "1");
    let (s, _, _) = send(&app, events_req("/ccc/events", Some(TOKEN), &huge)).await;
    assert_eq!(s, 413);
}

#[tokio::test]
async fn state_events_apply_without_any_ccc_call_and_never_go_backwards() {
    let (sim, app, state) = setup(&["--events-token", TOKEN]).await;
    let first = shown(&app).await;
    let v0 = first["contextId"].as_i64().unwrap();
    let calls = polls(&sim);
    let t = now() + 60_000;
    let newer = event("AgentBreak", t + 2000, json!({"breakCode": "lunch"}));
    let older = event("AgentReady", t + 1000, json!({}));
    // Path token, the newer event first, then the older one and a duplicate.
    let path = format!("/ccc/events/{TOKEN}");
    let (s, _, b) = send(&app, events_req(&path, None, &json!([newer]).to_string())).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["accepted"], 1);
    let after = shown(&app).await;
    assert_eq!(after["agent"]["state"], "BREAK");
    assert_eq!(after["agent"]["breakCode"], "lunch");
    let v1 = after["contextId"].as_i64().unwrap();
    assert!(v1 > v0, "a change moves the version: {v0} -> {v1}");
    let body = json!([older, newer]).to_string();
    let (s, _, _) = send(&app, events_req("/ccc/events", Some(TOKEN), &body)).await;
    assert_eq!(s, 200);
    let again = shown(&app).await;
    assert_eq!(again["agent"]["state"], "BREAK", "older event ignored");
    assert_eq!(again["contextId"].as_i64(), Some(v1), "duplicate ignored");
    assert!(again["fetchedAt"].as_i64().unwrap() > 0);
    assert_eq!(again["refreshMs"], 0, "events keep it current");
    // Another instance's events are ignored.
    let mut foreign = event("AgentCheckOut", t + 5000, json!({}));
    foreign["instanceId"] = json!("other-instance");
    let (_, _, b) = send(
        &app,
        events_req("/ccc/events", Some(TOKEN), &json!(foreign).to_string()),
    )
    .await;
    assert_eq!(b["accepted"], 0);
    assert_eq!(shown(&app).await["agent"]["state"], "BREAK");
    assert_eq!(polls(&sim), calls, "no CCC call for state-carrying events");
    assert!(state.metrics.ccc_events("applied") >= 1);
}

#[tokio::test]
async fn a_burst_of_unknown_events_is_one_coalesced_refresh() {
    let (sim, app, state) = setup(&["--events-token", TOKEN]).await;
    shown(&app).await;
    let calls = polls(&sim);
    let t = now() + 60_000;
    let burst: Vec<Value> = (0..5)
        .map(|i| event("AgentSomethingNew", t + i, json!({})))
        .collect();
    let (s, _, _) = send(
        &app,
        events_req("/ccc/events", Some(TOKEN), &json!(burst).to_string()),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(state.metrics.ccc_events_unknown(), 5, "kept and counted");
    until("the refresh", 5, || polls(&sim) > calls).await;
    // Give a second burst-mate time to (wrongly) cause another call.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        polls(&sim),
        calls + 1,
        "five unknown events, one PollUserStatus"
    );
}

fn now() -> i64 {
    ccc_proxy::upstream::now_ms()
}

/// A proxy served on a real loopback port, with the simulator's webhook
/// pointed at it. Returns the proxy's base URL and state.
async fn served(
    sim: &ccc_sim::RunningSim,
    extra: &[&str],
) -> (String, AppState, tokio::sync::oneshot::Sender<()>) {
    let mut flags = vec!["--events-token", TOKEN];
    flags.extend_from_slice(extra);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let mut cfg = config(&sim.endpoint(), &flags);
    cfg.listen = addr; // the served address is the public origin
    let state = AppState::new(cfg, None).expect("state");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(ccc_proxy::serve(listener, state.clone(), async move {
        let _ = stopped.await;
    }));
    let target =
        ccc_sim::WebhookTarget::new(&format!("http://{addr}/ccc/events"), Some(TOKEN.to_owned()))
            .unwrap();
    sim.state().set_webhook(Some(target));
    (format!("http://{addr}"), state, stop)
}

async fn http_get(base: &str, path: &str, user: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("x-forwarded-user", user)
        .header("x-ccc-device-id", DEVICE)
        .send()
        .await
        .expect("proxy answers")
        .bytes()
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .expect("json")
}

fn set_state(sim: &ccc_sim::RunningSim, user: &str, state: UserState, code: Option<&str>) {
    sim.state()
        .set_agent_state(
            user,
            &ccc_sim::StateChange {
                state,
                break_code: code.map(str::to_owned),
            },
        )
        .expect("the simulator accepts the change");
}

#[tokio::test]
async fn pushed_events_wake_waiting_browsers_with_no_polling() {
    let sim = sim().await;
    let (base, _state, _stop) = served(&sim, &[]).await;
    let first = http_get(&base, "/api/v1/agent", AGENT).await;
    let mut since = first["contextId"].as_i64().unwrap();
    let calls = polls(&sim);
    for (state, code, want) in [
        (UserState::Break, Some("lunch"), "BREAK"),
        (UserState::Ready, None, "READY"),
        (UserState::Break, Some("meeting"), "BREAK"),
    ] {
        let waiter = {
            let base = base.clone();
            tokio::spawn(async move {
                http_get(
                    &base,
                    &format!("/api/v1/agent?since={since}&wait=20"),
                    AGENT,
                )
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        set_state(&sim, AGENT, state, code);
        let got = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken by the event")
            .unwrap();
        assert_eq!(got["agent"]["state"], want, "{got}");
        let v = got["contextId"].as_i64().unwrap();
        assert!(v > since, "versions grow: {since} -> {v}");
        since = v;
    }
    assert_eq!(polls(&sim), calls, "state changes cost no PollUserStatus");
}

#[tokio::test]
async fn lost_events_are_repaired_by_reconciliation() {
    let sim = sim().await;
    let (base, _state, _stop) = served(&sim, &["--reconcile-secs", "1"]).await;
    http_get(&base, "/api/v1/agent", AGENT).await;
    sim.state()
        .set_delivery_faults(ccc_sim::DeliveryFaults {
            loss_rate: 1.0,
            ..ccc_sim::DeliveryFaults::default()
        })
        .unwrap();
    set_state(&sim, AGENT, UserState::Break, Some("training"));
    let started = Instant::now();
    loop {
        let b = http_get(&base, "/api/v1/agent", AGENT).await;
        if b["agent"]["state"] == "BREAK" && b["agent"]["breakCode"] == "training" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still stale after several reconciliations: {b}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sim.state().stats().calls_of("ListRealtimeAgentStates") >= 1);
}

#[tokio::test]
async fn duplicated_and_reordered_events_never_show_an_older_state() {
    let sim = sim().await;
    let (base, _state, _stop) = served(&sim, &["--reconcile-secs", "1"]).await;
    http_get(&base, "/api/v1/agent", AGENT).await;
    sim.state()
        .set_delivery_faults(ccc_sim::DeliveryFaults {
            duplicate_rate: 0.5,
            reorder_rate: 0.5,
            seed: Some(7),
            ..ccc_sim::DeliveryFaults::default()
        })
        .unwrap();
    let codes = ["lunch", "meeting", "training", "default"];
    for (i, code) in codes.iter().enumerate() {
        set_state(&sim, AGENT, UserState::Break, Some(code));
        if i % 2 == 0 {
            set_state(&sim, AGENT, UserState::Ready, None);
        }
    }
    // The last change: BREAK/default. The shown state converges to it and,
    // once there, stays (late duplicates and reordered events are older).
    let started = Instant::now();
    loop {
        let b = http_get(&base, "/api/v1/agent", AGENT).await;
        if b["agent"]["breakCode"] == "default" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{b}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..10 {
        let b = http_get(&base, "/api/v1/agent", AGENT).await;
        assert_eq!(b["agent"]["state"], "BREAK", "{b}");
        assert_eq!(b["agent"]["breakCode"], "default", "{b}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

#[tokio::test]
async fn polling_stretches_to_stay_inside_the_budget() {
    let sim = sim().await;
    // The account allows 8 calls/s; the proxy budgets 5 for the fleet.
    sim.state().set_qps_limit(Some(8));
    let (router, state) = router_from(
        config(&sim.endpoint(), &["--upstream-qps", "5"]),
        [127, 0, 0, 1],
    );
    // Four agents watched, each wanting 5 polls/s (--poll-interval-ms 200).
    watch_every_demo_agent(&router).await;
    let before = sim.state().stats().total_calls;
    let t0 = Instant::now();
    // A command still gets through while background polls fill the budget.
    let (s, _, b) = send(&router, post("/api/v1/agent/sign-in", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let calls = sim.state().stats().total_calls - before;
    let secs = t0.elapsed().as_secs_f64();
    // 5/s plus one second of burst.
    assert!(
        (calls as f64) <= 5.0 * secs + 6.0,
        "{calls} calls in {secs:.1} s exceed the budget"
    );
    assert!(calls >= 5, "polling still runs: {calls}");
    assert_eq!(
        sim.state().stats().throttled,
        0,
        "the budget kept CCC happy"
    );
    let stretched = state.hub.poll_interval();
    assert!(stretched >= Duration::from_millis(800), "{stretched:?}");
}

#[tokio::test]
async fn throttling_backs_everything_off_and_recovers() {
    let sim = sim().await;
    let (router, _state) = router_from(
        config(&sim.endpoint(), &["--upstream-qps", "40"]),
        [127, 0, 0, 1],
    );
    watch_every_demo_agent(&router).await;
    // The account's quota drops to 2 calls/s: 4 agents polled every 200 ms
    // would be 20 calls/s without the backoff.
    sim.state().set_qps_limit(Some(2));
    let before = sim.state().stats().total_calls;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stats = sim.state().stats();
    let calls = stats.total_calls - before;
    assert!(stats.throttled >= 1, "the quota bit");
    assert!(
        calls <= 30,
        "{calls} calls in 3 s: the backoff did not hold"
    );
    // Quota back: polling and commands work again by themselves.
    sim.state().set_qps_limit(None);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, _, b) = send(&router, post("/api/v1/agent/sign-in", AGENT, "{}")).await;
        if s == 200 {
            assert_eq!(b["agent"]["state"], "BREAK", "{b}");
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {b}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A browser of each of the four demo agents looks once (their loops start).
async fn watch_every_demo_agent(router: &axum::Router) {
    for u in [AGENT, AGENT2, "agent3@ccc-demo", "supervisor@ccc-demo"] {
        let (s, _, b) = send(router, get("/api/v1/agent", u)).await;
        assert_eq!(s, 200, "{b}");
    }
}
