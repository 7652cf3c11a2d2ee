//! Long-poll: wake-up on change (command and upstream), timeout, one
//! upstream loop shared by many waiters, loop stopped when idle.

mod common;

use std::time::{Duration, Instant};

use ccc_proxy::AppState;
use common::*;

/// Waits (bounded) until `cond` holds; panics with `what` otherwise.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `GET /api/v1/agent?since=<since>&wait=25` as the agent, in the background.
fn long_poll(
    app: &axum::Router,
    since: i64,
) -> tokio::task::JoinHandle<(
    axum::http::StatusCode,
    axum::http::HeaderMap,
    serde_json::Value,
)> {
    let app = app.clone();
    tokio::spawn(async move {
        send(
            &app,
            get(&format!("/api/v1/agent?since={since}&wait=25"), AGENT),
        )
        .await
    })
}

async fn context_id(app: &axum::Router, user: &str) -> i64 {
    let (s, _, b) = send(app, get("/api/v1/agent", user)).await;
    assert_eq!(s, 200, "{b}");
    b["contextId"].as_i64().unwrap()
}

fn waiters(state: &AppState) -> i64 {
    state.metrics.waiters()
}

#[tokio::test]
async fn a_command_wakes_the_long_poll_at_once() {
    let (_sim, app, state) = setup(&[]).await;
    let since = context_id(&app, AGENT).await;
    let poll = long_poll(&app, since);
    until("the long-poll to wait", || waiters(&state) == 1).await;
    let started = Instant::now();
    let (s, _, cmd) = send(&app, post("/api/v1/agent/sign-in", AGENT, "{}")).await;
    assert_eq!(s, 200);
    let (s, _, b) = tokio::time::timeout(Duration::from_secs(3), poll)
        .await
        .expect("woken well before wait")
        .unwrap();
    assert_eq!(s, 200);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_ne!(b["contextId"].as_i64().unwrap(), since);
    assert_eq!(b["agent"]["state"], "BREAK");
    assert_eq!(b["contextId"], cmd["contextId"]);
}

#[tokio::test]
async fn an_upstream_change_wakes_the_long_poll() {
    let (sim, app, state) = setup(&[]).await;
    ready_agent(&app, AGENT).await;
    let since = context_id(&app, AGENT).await;
    let poll = long_poll(&app, since);
    until("the long-poll to wait", || waiters(&state) == 1).await;
    ring(&sim, AGENT, "13800000000").await;
    let (s, _, b) = tokio::time::timeout(Duration::from_secs(3), poll)
        .await
        .expect("the poll loop sees the call within about a second")
        .unwrap();
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "RINGING");
    assert!(b["call"]["jobId"]
        .as_str()
        .is_some_and(|j| j.starts_with("job-")));
    assert_eq!(b["call"]["channels"][0]["originator"], "13800000000", "{b}");
}

#[tokio::test]
async fn an_unchanged_snapshot_answers_after_wait() {
    let (_sim, app, _) = setup(&[]).await;
    let since = context_id(&app, AGENT).await;
    let started = Instant::now();
    let (s, _, b) = send(
        &app,
        get(&format!("/api/v1/agent?since={since}&wait=1"), AGENT),
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["contextId"].as_i64().unwrap(), since);
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");

    // A stale `since` answers at once; `wait` above 30 is capped, not refused.
    let started = Instant::now();
    let (s, _, b) = send(&app, get("/api/v1/agent?since=-5&wait=999", AGENT)).await;
    assert_eq!(s, 200, "{b}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn many_waiters_share_one_upstream_loop() {
    // 25 devices of one agent: above the default cap of 18 waiters.
    let (_sim, app, state) = setup(&["--longpolls-per-agent", "50"]).await;
    let since = context_id(&app, AGENT).await;
    let before = state.metrics.upstream_calls("PollUserStatus");
    let started = Instant::now();
    let mut polls = Vec::new();
    for i in 0..25 {
        let app = app.clone();
        polls.push(tokio::spawn(async move {
            let mut req = get(&format!("/api/v1/agent?since={since}&wait=1"), AGENT);
            let device = format!("tab-{i}");
            req.headers_mut()
                .insert("x-ccc-device-id", device.parse().unwrap());
            send(&app, req).await
        }));
    }
    until("25 waiters", || waiters(&state) == 25).await;
    assert_eq!(state.metrics.poll_loops(), 1, "one loop for one agent");
    for p in polls {
        let (s, _, b) = tokio::time::timeout(Duration::from_secs(5), p)
            .await
            .expect("answers after wait")
            .unwrap();
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["contextId"].as_i64().unwrap(), since);
    }
    let polled = state.metrics.upstream_calls("PollUserStatus") - before;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap();
    // One loop at 200 ms: about elapsed / 200 + 1 polls, not one per waiter.
    assert!(
        polled <= elapsed_ms / 200 + 3,
        "{polled} polls in {elapsed_ms} ms"
    );
    assert!(polled < 25, "{polled}");
    assert_eq!(state.metrics.poll_loops_started(), 1);
    assert_eq!(waiters(&state), 0);

    // Another agent gets its own loop.
    let since2 = context_id(&app, AGENT2).await;
    send(
        &app,
        get(&format!("/api/v1/agent?since={since2}&wait=1"), AGENT2),
    )
    .await;
    assert_eq!(state.metrics.poll_loops_started(), 2);
}

#[tokio::test]
async fn the_loop_stops_when_nobody_asks() {
    let (_sim, app, state) = setup(&["--poll-idle-secs", "0"]).await;
    let since = context_id(&app, AGENT).await;
    send(
        &app,
        get(&format!("/api/v1/agent?since={since}&wait=1"), AGENT),
    )
    .await;
    until("the loop to stop", || state.metrics.poll_loops() == 0).await;
    let calls = state.metrics.upstream_calls("PollUserStatus");
    // No reader, no upstream traffic: the count stays put for a few intervals.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(state.metrics.upstream_calls("PollUserStatus"), calls);
    // And a new reader starts it again.
    let started = state.metrics.poll_loops_started();
    let (s, _, _) = send(
        &app,
        get(&format!("/api/v1/agent?since={since}&wait=1"), AGENT),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(state.metrics.poll_loops_started(), started + 1);
}
