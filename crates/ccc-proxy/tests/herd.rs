//! The CCC-call economy of a shift start and of ringing at scale: first
//! looks batched into `ListRealtimeAgentStates` (20 agents a call),
//! `PollUserStatus` only for what a row lacks, ringing callers coalesced
//! the same way, a budget equal to the account's quota that CCC never
//! throttles, and the sliding window shared by replicas through Redis.
//! Every assertion is a count.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{body::Body, http::Request};
use ccc_model::UserState;
use ccc_proxy::{
    budget::{Budget, Priority},
    fleet::Fleet,
    AppState,
};
use common::*;
use serde_json::{json, Value};

const TOKEN: &str = "herd-events-token-0123456789";

fn agent(i: usize) -> String {
    format!("agent{:05}@ccc-demo", i + 1)
}

async fn sim_with(agents: usize) -> ccc_sim::RunningSim {
    ccc_testkit::spawn_sim(ccc_sim::SimConfig::demo().with_generated_agents(agents)).await
}

fn set(sim: &ccc_sim::RunningSim, user: &str, state: UserState) {
    sim.state()
        .set_agent_state(
            user,
            &ccc_sim::StateChange {
                state,
                break_code: None,
            },
        )
        .expect("the simulator moves the agent");
}

/// Polls `cond` every 10 ms until it holds, or panics after `secs`.
async fn until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// True when the hub shows `user` with what a `PollUserStatus` adds (the
/// device holding an online agent).
fn detailed(state: &AppState, user: &str) -> bool {
    state.hub.view(user).is_some_and(|v| {
        v.snapshot
            .is_some_and(|s| s.agent.state == UserState::Offline || s.agent.device_id.is_some())
    })
}

fn calls(sim: &ccc_sim::RunningSim, action: &str) -> u64 {
    sim.state().stats().calls_of(action)
}

#[tokio::test]
async fn a_herd_of_first_looks_costs_one_call_per_twenty_agents() {
    let sim = sim_with(45).await;
    // Five agents are already online: their rows lack the device.
    for i in 0..5 {
        set(&sim, &agent(i), UserState::Ready);
    }
    let (_router, state) = router_from(
        config(&sim.endpoint(), &["--events-token", TOKEN]),
        [127, 0, 0, 1],
    );
    sim.state().reset_stats();
    // 45 toolbars open at once.
    for i in 0..45 {
        state.hub.touch(&agent(i), None);
    }
    until("every first state, with details", 20, || {
        (0..45).all(|i| detailed(&state, &agent(i)))
    })
    .await;
    assert_eq!(
        calls(&sim, "ListRealtimeAgentStates"),
        3,
        "45 agents: batches of 20, 20 and 5"
    );
    assert_eq!(
        calls(&sim, "PollUserStatus"),
        5,
        "only the online agents need PollUserStatus"
    );
    let offline = state.hub.view(&agent(10)).unwrap().snapshot.unwrap();
    assert_eq!(offline.agent.state, UserState::Offline);
    assert!(offline.agent.extension.is_some(), "{offline:?}");
    let online = state.hub.view(&agent(0)).unwrap().snapshot.unwrap();
    assert_eq!(online.agent.state, UserState::Ready);
}

#[tokio::test]
async fn a_budget_equal_to_the_quota_serves_a_shift_start_without_throttling() {
    // The account allows 10 calls in any second; the proxy budgets 10.
    let sim = sim_with(60).await;
    for i in 0..30 {
        set(&sim, &agent(i), UserState::Ready);
    }
    sim.state().set_qps_limit(Some(10));
    let (router, state) = router_from(
        config(
            &sim.endpoint(),
            &["--events-token", TOKEN, "--upstream-qps", "10"],
        ),
        [127, 0, 0, 1],
    );
    sim.state().reset_stats();
    for i in 0..60 {
        state.hub.touch(&agent(i), None);
    }
    // A command while the herd fills the budget still goes through.
    let (s, _, b) = send(&router, post("/api/v1/agent/sign-in", &agent(59), "{}")).await;
    assert_eq!(s, 200, "{b}");
    until("every first state, with details", 30, || {
        (0..60).all(|i| detailed(&state, &agent(i)))
    })
    .await;
    let stats = sim.state().stats();
    assert_eq!(stats.throttled, 0, "CCC never throttled the herd");
    assert_eq!(calls(&sim, "ListRealtimeAgentStates"), 3);
    assert!(
        (30..=32).contains(&calls(&sim, "PollUserStatus")),
        "30 online agents (and the command's own poll): {}",
        calls(&sim, "PollUserStatus")
    );
}

fn iso(ms: i64) -> String {
    let base = ccc_model::signing::format_timestamp(ms.div_euclid(1000));
    format!("{}.{:03}Z", base.trim_end_matches('Z'), ms.rem_euclid(1000))
}

#[tokio::test]
async fn ringing_callers_are_coalesced_twenty_a_call() {
    let sim = sim_with(30).await;
    for i in 0..30 {
        set(&sim, &agent(i), UserState::Ready);
    }
    let (router, state) = router_from(
        config(&sim.endpoint(), &["--events-token", TOKEN]),
        [127, 0, 0, 1],
    );
    for i in 0..30 {
        state.hub.touch(&agent(i), None);
    }
    until("every agent known", 20, || {
        (0..30).all(|i| detailed(&state, &agent(i)))
    })
    .await;
    sim.state().reset_stats();
    // 30 calls ring; CCC pushes the 30 AgentRinging events (no caller).
    let now = ccc_proxy::upstream::now_ms();
    let events: Vec<Value> = (0..30)
        .map(|i| {
            let job = sim
                .state()
                .ring(&agent(i), &format!("1380000{i:04}"), None)
                .expect("the call rings");
            json!({"eventType": "AgentRinging", "eventTime": iso(now + 1),
                "instanceId": "ccc-demo", "agentId": agent(i),
                "contactId": job, "callType": "INBOUND"})
        })
        .collect();
    let req = Request::post("/ccc/events")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from(serde_json::to_string(&events).unwrap()))
        .unwrap();
    let (s, _, b) = send(&router, req).await;
    assert_eq!(s, 200, "{b}");
    let caller_of = |i: usize| {
        state
            .hub
            .view(&agent(i))
            .and_then(|v| v.snapshot?.call?.customer_channel()?.originator.clone())
    };
    until("every caller's number shown", 20, || {
        (0..30).all(|i| caller_of(i) == Some(format!("1380000{i:04}")))
    })
    .await;
    assert_eq!(
        calls(&sim, "ListRealtimeAgentStates"),
        2,
        "30 ringing agents: two calls of 20 and 10"
    );
    assert_eq!(
        calls(&sim, "PollUserStatus"),
        0,
        "no call per ringing agent"
    );
    // The answer carries the known call: no call either.
    let view = state.hub.view(&agent(0)).unwrap();
    let job = view.snapshot.unwrap().agent.job_id.unwrap();
    assert!(state.hub.view(&agent(0)).unwrap().knows_call(&job));
}

/// Two replicas' budgets on one Redis: no second holds more than the
/// budget, and a throttling answer slows both without stopping them.
#[tokio::test]
async fn replicas_share_one_window_and_one_slow_down() {
    let Some(redis) = Redis::start(free_port()) else {
        panic!("redis-server is needed (scripts/setup.sh installs it)");
    };
    redis.ready().await;
    let fleet = || Fleet::new(&redis.url(), "herd:", Duration::from_secs(5)).unwrap();
    let (a, b) = (
        Budget::new(10.0, Some(fleet())),
        Budget::new(10.0, Some(fleet())),
    );
    let granted: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let mut tasks = Vec::new();
    for i in 0..30 {
        let budget = if i % 2 == 0 { a.clone() } else { b.clone() };
        let granted = granted.clone();
        tasks.push(tokio::spawn(async move {
            let p = match i % 3 {
                0 => Priority::Command,
                1 => Priority::Seed,
                _ => Priority::Background,
            };
            budget.acquire(p).await;
            granted.lock().unwrap().push(Instant::now());
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let times = granted.lock().unwrap().clone();
    assert_eq!(times.len(), 30);
    assert!(
        busiest_second(&times) <= 10,
        "{} calls in one second",
        busiest_second(&times)
    );

    // Answers to calls let out together are one overshoot.
    let grants: Vec<_> =
        futures_util::future::join_all((0..5).map(|_| a.acquire(Priority::Command))).await;
    let mut pauses = 0;
    for (i, g) in grants.into_iter().enumerate() {
        let budget = if i % 2 == 0 { &a } else { &b };
        if budget.throttled(g).await.is_some() {
            pauses += 1;
        }
    }
    assert_eq!(pauses, 1, "one step for one overshoot");
    // Slowed (70 %), not stopped: both replicas still get calls out.
    let slowed: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let mut tasks = Vec::new();
    for i in 0..14 {
        let budget = if i % 2 == 0 { a.clone() } else { b.clone() };
        let slowed = slowed.clone();
        tasks.push(tokio::spawn(async move {
            budget.acquire(Priority::Command).await;
            slowed.lock().unwrap().push(Instant::now());
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let times = slowed.lock().unwrap().clone();
    assert_eq!(times.len(), 14);
    assert!(
        busiest_second(&times) <= 8,
        "the slowed limit holds: {}",
        busiest_second(&times)
    );
}

/// The most of `times` inside any one-second window.
fn busiest_second(times: &[Instant]) -> usize {
    times
        .iter()
        .map(|t0| {
            times
                .iter()
                .filter(|t| **t >= *t0 && t.duration_since(*t0) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// A sweep of many pages takes time: agents whose events arrived while it
/// ran are not "repaired" from its rows (at 10,000 agents every sweep asked
/// `PollUserStatus` for thousands of agents that were right).
#[tokio::test]
async fn a_slow_sweep_leaves_agents_whose_events_arrived_meanwhile() {
    const N: usize = 120;
    let sim = sim_with(N).await;
    for i in 0..N {
        set(&sim, &agent(i), UserState::Ready);
    }
    let (router, state) = router_from(
        config(
            &sim.endpoint(),
            &[
                "--events-token",
                TOKEN,
                "--upstream-qps",
                "500",
                "--reconcile-secs",
                "3600",
            ],
        ),
        [127, 0, 0, 1],
    );
    for i in 0..N {
        state.hub.touch(&agent(i), None);
    }
    until("every agent known", 20, || {
        (0..N).all(|i| detailed(&state, &agent(i)))
    })
    .await;
    // The sweep's pages take 400 ms each (120 agents: two pages).
    sim.state().set_faults(ccc_sim::faults::Faults {
        latency_ms: Some(400),
        actions: Some(vec!["ListRealtimeAgentStates".into()]),
        ..ccc_sim::faults::Faults::default()
    });
    let refreshes = state.metrics.ccc_events("refresh");
    let hub = state.hub.clone();
    sim.state().reset_stats();
    let sweep = tokio::spawn(async move { hub.reconcile_once().await });
    // The sweep has taken what it shows and asked for its first page.
    until("the sweep's first page", 10, || {
        calls(&sim, "ListRealtimeAgentStates") >= 1
    })
    .await;
    // Meanwhile every agent takes a break, and its event arrives.
    let at = ccc_proxy::upstream::now_ms() + 1000;
    let events: Vec<Value> = (0..N)
        .map(|i| {
            sim.state()
                .set_agent_state(&agent(i), &ccc_sim::StateChange::on_break("lunch"))
                .unwrap();
            json!({"eventType": "AgentBreak", "eventTime": iso(at), "instanceId": "ccc-demo",
                "agentId": agent(i), "breakCode": "lunch"})
        })
        .collect();
    let req = Request::post("/ccc/events")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from(serde_json::to_string(&events).unwrap()))
        .unwrap();
    let (s, _, b) = send(&router, req).await;
    assert_eq!(s, 200, "{b}");
    sweep.await.unwrap();
    assert!(
        calls(&sim, "ListRealtimeAgentStates") >= 2,
        "the sweep paged"
    );
    assert_eq!(
        state.metrics.ccc_events("refresh") - refreshes,
        0,
        "no refresh for agents whose events the sweep's rows only repeat"
    );
    for i in 0..N {
        let v = state.hub.view(&agent(i)).unwrap().snapshot.unwrap();
        assert_eq!(v.agent.break_code.as_deref(), Some("lunch"));
    }
}
