//! Events pushed to a real webhook receiver (a tiny axum server on
//! 127.0.0.1:0), the account quota over a real socket, and
//! `UpdateSubscription`. Waits are polls with a deadline, never sleeps.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use ccc_model::UserState;
use ccc_sim::events::parse_event_time;
use ccc_sim::{app, spawn, DeliveryFaults, SimConfig, SimState, StateChange, WebhookTarget};
use common::*;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

const A1: &str = "agent1@ccc-demo";
const DEADLINE: Duration = Duration::from_secs(10);

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Post {
    authorization: Option<String>,
    content_type: Option<String>,
    events: Vec<Value>,
}

/// A webhook receiver: records POSTs; can refuse the first N with 503,
/// and can hold every request until the test opens its gate.
#[derive(Clone, Default)]
struct Receiver {
    posts: Arc<Mutex<Vec<Post>>>,
    refuse_first: Arc<AtomicUsize>,
    gate: Option<Arc<Semaphore>>,
}

async fn hook(
    State(rx): State<Receiver>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    if let Some(gate) = &rx.gate {
        gate.acquire().await.unwrap().forget();
    }
    let refuse = rx
        .refuse_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if refuse {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    rx.posts.lock().unwrap().push(Post {
        authorization: header("authorization"),
        content_type: header("content-type"),
        events: body.as_array().cloned().expect("a JSON array of events"),
    });
    StatusCode::NO_CONTENT
}

impl Receiver {
    /// Serves on 127.0.0.1:0; returns the hook URL.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new()
            .route("/hook", post(hook))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}/hook")
    }

    fn events(&self) -> Vec<Value> {
        let posts = self.posts.lock().unwrap();
        posts.iter().flat_map(|p| p.events.clone()).collect()
    }

    fn types(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["eventType"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Waits until `n` events arrived.
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        let arrived = wait_until(DEADLINE, || async { self.events().len() >= n }).await;
        assert!(arrived, "only {:?} arrived, wanted {n}", self.types());
        self.events()
    }
}

fn fast_config() -> SimConfig {
    let mut c = SimConfig::demo();
    c.timings.after_call_ms = 30;
    c
}

/// A simulator (through `app`) pushing to a fresh receiver.
async fn pushing(config: SimConfig, token: Option<&str>) -> (SimState, axum::Router, Receiver) {
    let rx = Receiver::default();
    let url = rx.start().await;
    let state = SimState::new(config);
    state.set_webhook(Some(
        WebhookTarget::new(&url, token.map(str::to_owned)).unwrap(),
    ));
    let router = app(state.clone());
    (state, router, rx)
}

async fn ok(app: &axum::Router, action: &str, params: &[(&str, &str)]) -> Value {
    let (s, b) = send(app, rpc(action, params)).await;
    assert_eq!(s, 200, "{action}: {b}");
    b
}

/// Waits until every queued event (and copy) is delivered, lost or failed.
async fn settled(state: &SimState) -> ccc_sim::Stats {
    let done = wait_until(DEADLINE, || async { state.stats().events.is_settled() }).await;
    assert!(
        done,
        "deliveries did not settle: {:?}",
        state.stats().events
    );
    state.stats()
}

#[tokio::test]
async fn every_change_is_pushed_with_the_bearer_token() {
    let (state, app, rx) = pushing(fast_config(), Some("s3cret-token")).await;
    let sign = [
        ("UserId", A1),
        ("DeviceId", "tab-1"),
        ("SignedSkillGroupIdList", r#"["sg-1"]"#),
    ];
    ok(&app, "SignInGroup", &sign).await;
    ok(
        &app,
        "ReadyForService",
        &[("UserId", A1), ("DeviceId", "tab-1")],
    )
    .await;
    let job = state.ring(A1, "13900001111", None).unwrap();
    state.answer(&job).unwrap();
    ok(&app, "MuteCall", &[("UserId", A1), ("JobId", &job)]).await;
    ok(
        &app,
        "PollUserStatus",
        &[("UserId", A1), ("DeviceId", "tab-1")],
    )
    .await;
    state
        .hang_up(&job, ccc_sim::state_machine::HangupBy::Customer)
        .unwrap();
    // The after-call timer (30 ms) makes the agent READY by itself.
    rx.wait_for(11).await;
    ok(&app, "TakeBreak", &[("UserId", A1), ("Code", "lunch")]).await;
    ok(&app, "ResetAgentState", &[("UserId", A1)]).await;
    let events = rx.wait_for(13).await;
    assert_eq!(
        rx.types(),
        [
            "AgentCheckIn",
            "AgentBreak",
            "AgentReady",
            "Ringing",
            "AgentRinging",
            "Established",
            "AgentTalk",
            "Muted",
            "Released",
            "AgentRelease",
            "AgentReady",
            "AgentBreak",
            "AgentCheckOut",
        ]
    );
    for e in &events {
        assert_eq!(e["instanceId"], "ccc-demo", "{e}");
        assert_eq!(e["agentId"], A1, "{e}");
        let time = e["eventTime"].as_str().unwrap();
        assert_eq!(time.len(), "2026-12-05T18:02:48.123Z".len(), "{time}");
        assert!(parse_event_time(time).is_some(), "{time}");
        let is_agent_event = e["eventType"].as_str().unwrap().starts_with("Agent");
        assert_eq!(e.get("skillGroupIds").is_some(), is_agent_event, "{e}");
    }
    assert_eq!(events[0]["skillLevels"], json!({"sg-1": 1}));
    assert_eq!(events[1]["breakCode"], "Warm-up");
    assert_eq!(events[2]["outboundScenario"], false);
    assert_eq!(events[4]["contactId"], job.as_str());
    assert_eq!(events[4]["callType"], "INBOUND");
    assert_eq!(events[4]["skillGroupId"], "sg-1");
    assert_eq!(events[9]["contactId"], job.as_str());
    assert_eq!(events[11]["breakCode"], "lunch");
    // ContextIds never go backwards for one agent.
    let ids: Vec<i64> = events
        .iter()
        .map(|e| e["contextId"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] <= w[1]), "{ids:?}");
    let posts = rx.posts.lock().unwrap().clone();
    for p in &posts {
        assert_eq!(p.authorization.as_deref(), Some("Bearer s3cret-token"));
        assert_eq!(p.content_type.as_deref(), Some("application/json"));
    }
    // The events' contextId is PollUserStatus' ContextId after the change.
    let poll = ok(
        &app,
        "PollUserStatus",
        &[("UserId", A1), ("DeviceId", "tab-1")],
    )
    .await;
    assert_eq!(poll["Data"]["ContextId"].as_i64(), ids.last().copied());
    let stats = settled(&state).await;
    assert_eq!(stats.events.delivered, 13);
    // Sign-in, ready, ringing, talking, after-call, ready, break, offline:
    // a mute is a channel change, not a state change.
    assert_eq!(stats.state_changes, 8);
    assert_eq!(stats.events.posts, posts.len() as u64);
    assert_eq!(stats.calls_of("PollUserStatus"), 2);
    assert_eq!(stats.calls_of("SignInGroup"), 1);
}

#[tokio::test]
async fn no_token_means_no_authorization_header() {
    let (state, _app, rx) = pushing(fast_config(), None).await;
    state
        .set_agent_state(A1, &StateChange::new(UserState::Ready))
        .unwrap();
    rx.wait_for(3).await;
    assert_eq!(rx.types(), ["AgentCheckIn", "AgentBreak", "AgentReady"]);
    assert!(rx
        .posts
        .lock()
        .unwrap()
        .iter()
        .all(|p| p.authorization.is_none()));
}

#[tokio::test]
async fn refused_posts_are_retried_until_accepted() {
    let (state, _app, rx) = pushing(fast_config(), None).await;
    rx.refuse_first.store(2, Ordering::SeqCst);
    state
        .set_agent_state(A1, &StateChange::new(UserState::Break))
        .unwrap();
    rx.wait_for(2).await;
    let stats = settled(&state).await;
    assert_eq!(rx.types(), ["AgentCheckIn", "AgentBreak"]);
    assert_eq!(stats.events.retries, 2);
    assert_eq!((stats.events.delivered, stats.events.failed), (2, 0));
}

#[tokio::test]
async fn a_receiver_that_never_accepts_gives_failed_events() {
    let (state, _app, rx) = pushing(fast_config(), None).await;
    rx.refuse_first.store(usize::MAX, Ordering::SeqCst);
    state
        .set_agent_state(A1, &StateChange::new(UserState::Break))
        .unwrap();
    let stats = settled(&state).await;
    assert_eq!(stats.events.failed, 2);
    assert_eq!(
        stats.events.retries,
        u64::from(ccc_sim::webhook::MAX_ATTEMPTS - 1)
    );
    assert!(rx.events().is_empty());
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_instead_of_growing() {
    let mut config = fast_config();
    config.events.queue_capacity = 2;
    let gate = Arc::new(Semaphore::new(0));
    let rx = Receiver {
        gate: Some(gate.clone()),
        ..Receiver::default()
    };
    let url = rx.start().await;
    let state = SimState::new(config);
    state.set_webhook(Some(WebhookTarget::new(&url, None).unwrap()));
    // 20 break-code changes while the receiver holds the first POST.
    breaks(&state, 0..20, false).await;
    // Signing in pushes AgentCheckIn + AgentBreak (Warm-up), then one
    // AgentBreak per code.
    let produced = 22;
    let e = state.stats().events;
    assert_eq!(e.queued + e.dropped, produced, "{e:?}");
    assert!(e.dropped > 0, "{e:?}");
    gate.add_permits(1000);
    let stats = settled(&state).await;
    assert_eq!(stats.events.delivered, stats.events.queued);
    assert_eq!(rx.events().len() as u64, stats.events.queued);
}

#[tokio::test]
async fn ten_thousand_sign_ins_at_once_share_posts_and_lose_nothing() {
    let (state, app, rx) = pushing(fast_config().with_generated_agents(10_000), None).await;
    let batch: Vec<Value> = (1..=10_000)
        .map(|n| json!({ "userId": format!("agent{n:05}@ccc-demo"), "state": "BREAK" }))
        .collect();
    let (s, b) = admin(
        &app,
        "POST",
        "/_sim/agents/states",
        Some(Value::Array(batch)),
    )
    .await;
    assert_eq!((s, &b["applied"]), (200, &json!(10_000)), "{b}");
    let stats = settled(&state).await;
    // AgentCheckIn + AgentBreak (Warm-up) each; nothing dropped.
    assert_eq!(stats.state_changes, 10_000);
    assert_eq!((stats.events.queued, stats.events.dropped), (20_000, 0));
    assert_eq!(stats.events.delivered, 20_000);
    assert_eq!(rx.events().len(), 20_000);
    // A burst shares POSTs (up to 200 events each).
    assert!(
        stats.events.posts * 100 <= stats.events.delivered,
        "{} POSTs",
        stats.events.posts
    );
}

#[tokio::test]
async fn several_receivers_take_turns_and_cover_for_a_dead_one() {
    let (a, b) = (Receiver::default(), Receiver::default());
    let targets = vec![
        WebhookTarget::new(&a.start().await, None).unwrap(),
        WebhookTarget::new(&b.start().await, None).unwrap(),
    ];
    let state = SimState::new(fast_config());
    state.set_webhooks(targets);
    // One POST per change: wait for each before the next.
    breaks(&state, 0..4, true).await;
    let (to_a, to_b) = (a.events().len(), b.events().len());
    assert_eq!(to_a + to_b, 6, "CheckIn, Break (Warm-up), 4 Breaks");
    assert!(
        to_a > 0 && to_b > 0,
        "both receivers got POSTs: {to_a} / {to_b}"
    );
    // B dies: its turns are retried at A, nothing is lost.
    b.refuse_first.store(usize::MAX, Ordering::SeqCst);
    state.reset_stats();
    breaks(&state, 4..8, true).await;
    let stats = state.stats();
    assert_eq!((stats.events.delivered, stats.events.failed), (4, 0));
    assert!(stats.events.retries > 0, "{:?}", stats.events);
    assert_eq!(a.events().len() + b.events().len(), 10);
}

/// Puts A1 on breaks `code-<i>` for each `i` (an OFFLINE A1 signs in
/// first), letting the delivery task run in between, or waiting until
/// each change is delivered when `one_post_each`.
async fn breaks(state: &SimState, codes: std::ops::Range<usize>, one_post_each: bool) {
    for i in codes {
        let change = StateChange::on_break(format!("code-{i}"));
        state.set_agent_state(A1, &change).unwrap();
        if one_post_each {
            settled(state).await;
        } else {
            tokio::task::yield_now().await;
        }
    }
}

/// Runs 60 break-code changes against a receiver with seeded faults;
/// returns the events received (sorted) and the stats.
async fn faulty_run(seed: u64) -> (Vec<(String, i64)>, ccc_sim::stats::EventStats, bool) {
    let (state, _app, rx) = pushing(fast_config(), None).await;
    state
        .set_delivery_faults(DeliveryFaults {
            loss_rate: 0.2,
            duplicate_rate: 0.2,
            reorder_rate: 0.2,
            seed: Some(seed),
        })
        .unwrap();
    breaks(&state, 0..60, false).await;
    let stats = settled(&state).await;
    let events = rx.events();
    let ids: Vec<i64> = events
        .iter()
        .map(|e| e["contextId"].as_i64().unwrap())
        .collect();
    let out_of_order = ids.windows(2).any(|w| w[0] > w[1]);
    let mut got: Vec<(String, i64)> = events
        .iter()
        .map(|e| {
            (
                e["eventType"].as_str().unwrap().to_owned(),
                e["contextId"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort();
    (got, stats.events, out_of_order)
}

#[tokio::test]
async fn seeded_loss_duplicates_and_reordering_repeat_exactly() {
    let (first, stats, out_of_order) = faulty_run(42).await;
    assert_eq!(stats.queued, 62);
    assert!(
        stats.lost > 0 && stats.duplicated > 0 && stats.reordered > 0,
        "{stats:?}"
    );
    assert_eq!(
        first.len() as u64,
        stats.queued - stats.lost + stats.duplicated
    );
    assert!(out_of_order, "reordered events arrive after later ones");
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for (_, id) in &first {
        *counts.entry(*id).or_default() += 1;
    }
    assert!(counts.values().any(|n| *n == 2), "a duplicate arrived");
    let (second, again, _) = faulty_run(42).await;
    assert_eq!(
        first, second,
        "the same seed loses and duplicates the same events"
    );
    assert_eq!(
        (stats.lost, stats.duplicated, stats.reordered),
        (again.lost, again.duplicated, again.reordered)
    );
    let (other, _, _) = faulty_run(7).await;
    assert_ne!(first, other);
}

#[tokio::test]
async fn update_subscription_in_webhook_mode() {
    let rx = Receiver::default();
    let url = rx.start().await;
    let state = SimState::new(fast_config());
    let app = app(state.clone());
    let switches = r#"[{"eventType":"AgentReady","enabled":false},{"eventType":"StartConsultant","enabled":true}]"#;
    let b = ok(
        &app,
        "UpdateSubscription",
        &[
            ("ProducerId", "PID_Webhook"),
            ("DefaultTopic", "Topic_Webhook"),
            ("AccessPoint", &url),
            ("EventSubscriptionsJson", switches),
        ],
    )
    .await;
    assert_eq!(b["Data"]["ProducerId"], "PID_Webhook");
    let ready = b["Data"]["EventSubscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["EventType"] == "AgentReady")
        .cloned()
        .unwrap();
    assert_eq!(ready["Enabled"], false);
    assert!(
        !b.to_string().contains("/hook"),
        "the receiver URL is not echoed"
    );
    ok(&app, "SignInGroup", &[("UserId", A1), ("DeviceId", "d")]).await;
    ok(
        &app,
        "ReadyForService",
        &[("UserId", A1), ("DeviceId", "d")],
    )
    .await;
    ok(&app, "TakeBreak", &[("UserId", A1), ("Code", "x")]).await;
    rx.wait_for(3).await;
    assert_eq!(rx.types(), ["AgentCheckIn", "AgentBreak", "AgentBreak"]);
    // Switch it back on; AccessPoint may be omitted once subscribed.
    let on = r#"[{"eventType":"AgentReady","enabled":true}]"#;
    ok(
        &app,
        "UpdateSubscription",
        &[("EventSubscriptionsJson", on)],
    )
    .await;
    ok(
        &app,
        "ReadyForService",
        &[("UserId", A1), ("DeviceId", "d")],
    )
    .await;
    rx.wait_for(4).await;
    assert_eq!(rx.types()[3], "AgentReady");
}

#[tokio::test]
async fn update_subscription_errors() {
    let state = SimState::new(fast_config());
    let app = app(state.clone());
    let cases: Vec<BadRequest<'_>> = vec![
        (vec![], "Parameter.Blank", json!(["AccessPoint"])),
        (
            vec![
                ("ProducerId", "PID_rmq"),
                ("AccessPoint", "http://127.0.0.1:1/x"),
            ],
            "InvalidParameter",
            json!(["ProducerId"]),
        ),
        (
            vec![
                ("DefaultTopic", "T"),
                ("AccessPoint", "http://127.0.0.1:1/x"),
            ],
            "InvalidParameter",
            json!(["DefaultTopic"]),
        ),
        (
            vec![("AccessPoint", "ftp://h/x")],
            "InvalidParameter",
            json!(["AccessPoint"]),
        ),
        (
            vec![
                ("AccessPoint", "http://127.0.0.1:1/x"),
                ("EventSubscriptionsJson", "AgentReady"),
            ],
            "InvalidParameter",
            json!(["EventSubscriptionsJson"]),
        ),
        (
            vec![
                ("AccessPoint", "http://127.0.0.1:1/x"),
                (
                    "EventSubscriptionsJson",
                    r#"[{"eventType":"Nope","enabled":true}]"#,
                ),
            ],
            "InvalidParameter",
            json!(["EventSubscriptionsJson"]),
        ),
    ];
    assert_bad_requests(&app, "UpdateSubscription", cases).await;
    assert!(
        state.subscription().targets.is_empty(),
        "a refused update changes nothing"
    );
}

/// Sends a V3-signed request over a real socket with `client`.
async fn over_http(client: &reqwest::Client, endpoint: &str, req: &V3) -> (u16, Value) {
    let url = format!("{endpoint}/?{}", req.query);
    let mut b = client.request(req.method.parse().unwrap(), url);
    for (k, v) in &req.headers {
        b = b.header(k, v);
    }
    let resp = b.body(req.body.clone()).send().await.unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap(),
    )
}

#[tokio::test]
async fn the_quota_throttles_the_whole_account_over_a_real_socket() {
    let config = fast_config().with_access_key("LTAI-second-key", "second-secret");
    let sim = spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let host = sim.addr.to_string();
    let client = reqwest::Client::new();
    let poll = |key_id, secret| {
        let opts = V3Opts {
            key_id,
            secret,
            ..V3Opts::default()
        };
        let q = [
            ("InstanceId", "ccc-demo"),
            ("UserId", A1),
            ("DeviceId", "d"),
        ];
        sign_v3(&host, "PollUserStatus", &q, &[], opts)
    };
    let first = || {
        poll(
            ccc_sim::config::DEMO_ACCESS_KEY_ID,
            ccc_sim::config::DEMO_ACCESS_KEY_SECRET,
        )
    };
    let second = || poll("LTAI-second-key", "second-secret");

    // Off by default.
    for _ in 0..5 {
        assert_eq!(over_http(&client, &sim.endpoint(), &first()).await.0, 200);
    }
    // One call a second for the account, whatever key signs it (a call
    // takes microseconds here; the next token comes after a second).
    sim.state().set_qps_limit(Some(1));
    assert_eq!(over_http(&client, &sim.endpoint(), &first()).await.0, 200);
    let (status, body) = over_http(&client, &sim.endpoint(), &second()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["Code"], "Throttling.User");
    assert_eq!(body["HttpStatusCode"], 400);
    assert_eq!(
        body["Message"],
        "Request was denied due to user flow control."
    );
    assert_eq!(body["RequestId"].as_str().unwrap().len(), 36);
    let stats = sim.state().stats();
    assert_eq!(stats.calls_of("PollUserStatus"), 7);
    assert_eq!(stats.throttled, 1);
    assert_eq!(stats.throttled_by_action["PollUserStatus"], 1);
    // Switched off at runtime through the admin API.
    let resp = client
        .put(format!("{}/_sim/quota", sim.endpoint()))
        .header("content-type", "application/json")
        .body(json!({ "qpsLimit": null }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(sim.state().qps_limit(), None);
    assert_eq!(over_http(&client, &sim.endpoint(), &first()).await.0, 200);
    sim.shutdown().await;
}
