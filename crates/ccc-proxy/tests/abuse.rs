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
    let polls = || sim.state().stats().calls_of("PollUserStatus");
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
