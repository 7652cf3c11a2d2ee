//! Presence over real HTTP: a toolbar (reqwest) long-polls the proxy on a
//! real socket, the proxy talks to the simulator. With short graces:
//! leaving moves a READY agent to BREAK/away and the toolbar is told why;
//! coming back inside the grace changes nothing; a call (and its after-call
//! work) is never interrupted; `none` moves nobody; a command clears the
//! notice; replicas sharing Redis decide once for the fleet.

mod common;

use std::{
    future::Future,
    net::SocketAddr,
    time::{Duration, Instant},
};

use ccc_model::api::PresencePolicy;
use ccc_proxy::AppState;
use common::*;
use serde_json::Value;

/// Waits (polling, bounded) until `cond` holds; panics with `what` otherwise.
async fn until<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(15);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A simulator whose after-call work lasts 300 ms.
async fn quick_sim() -> ccc_sim::RunningSim {
    let mut config = ccc_sim::SimConfig::demo();
    config.timings.after_call_ms = 300;
    ccc_sim::spawn(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("simulator starts")
}

/// One browser of `AGENT` talking to a proxy on a real socket.
struct Toolbar {
    http: reqwest::Client,
    base: String,
    device: &'static str,
}

impl Toolbar {
    fn new(base: &str, device: &'static str) -> Self {
        Toolbar {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            device,
        }
    }

    async fn json(&self, req: reqwest::RequestBuilder) -> Value {
        let res = req
            .header("x-forwarded-user", AGENT)
            .header("x-ccc-device-id", self.device)
            .timeout(Duration::from_secs(40))
            .send()
            .await
            .expect("the proxy answers");
        let status = res.status();
        let text = res.text().await.expect("a body");
        let body: Value = serde_json::from_str(&text).expect("a JSON answer");
        assert!(status.is_success(), "{status}: {body}");
        body
    }

    async fn get(&self, path: &str) -> Value {
        self.json(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn snapshot(&self) -> Value {
        self.get("/api/v1/agent").await
    }

    /// One long-poll of up to `wait` seconds (what the widget does).
    async fn long_poll(&self, since: i64, wait: u64) -> Value {
        self.get(&format!("/api/v1/agent?since={since}&wait={wait}"))
            .await
    }

    async fn command(&self, name: &str) -> Value {
        let req = self
            .http
            .post(format!("{}/api/v1/agent/{name}", self.base))
            .header("content-type", "application/json")
            .header("x-requested-with", "ccc-toolbar")
            .body("{}");
        self.json(req).await
    }

    async fn metrics(&self) -> String {
        ccc_testkit::metrics_text(&self.http, &self.base).await
    }
}

/// A proxy with `extra` flags on a real socket in front of `sim`, and a
/// toolbar that has signed `AGENT` in, made it READY and long-polled once.
async fn present_agent(
    sim: &ccc_sim::RunningSim,
    extra: &[&str],
) -> (Toolbar, AppState, tokio::sync::oneshot::Sender<()>) {
    let (base, state, stop) = serve_on_socket(config(&sim.endpoint(), extra)).await;
    let toolbar = Toolbar::new(&base, DEVICE);
    toolbar.command("sign-in").await;
    let ready = toolbar.command("ready").await;
    assert_eq!(ready["agent"]["state"], "READY", "{ready}");
    // A stale `since` answers at once: one long-poll has come and gone.
    toolbar.long_poll(-1, 1).await;
    (toolbar, state, stop)
}

/// Waits until `sweeps` more presence sweeps have run.
async fn sweeps(state: &AppState, n: u64) {
    let target = state.hub.presence_sweeps() + n;
    until("presence sweeps", || async {
        state.hub.presence_sweeps() >= target
    })
    .await;
}

const BREAK_1S: &[&str] = &["--presence-policy", "break", "--presence-grace-secs", "1"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_sets_a_ready_agent_away_and_the_toolbar_says_why() {
    let sim = quick_sim().await;
    // The agent's loop stops 200 ms after the last reader: presence reads
    // the state from CCC itself.
    let mut flags = BREAK_1S.to_vec();
    flags.extend(["--poll-idle-secs", "0"]);
    let (toolbar, state, _stop) = present_agent(&sim, &flags).await;
    let session = toolbar.get("/api/v1/session").await;
    assert!(
        session["breakCodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "away"),
        "the presence break code is offered: {session}"
    );

    // The toolbar is closed: no long-poll any more.
    let m = &state.metrics;
    until("presence to act", || async {
        m.presence_actions(PresencePolicy::Break) == 1
    })
    .await;
    assert_eq!(
        ccc_state(&sim, AGENT).await,
        ("BREAK".to_owned(), Some("away".to_owned()))
    );
    let text = toolbar.metrics().await;
    assert_eq!(
        metric(&text, "ccc_proxy_presence_actions_total{policy=\"break\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            "ccc_proxy_presence_actions_total{policy=\"sign-out\"}"
        ),
        0.0
    );

    // Back: the first look and every long-poll answer explain it.
    let snap = toolbar.snapshot().await;
    assert_eq!(snap["agent"]["state"], "BREAK", "{snap}");
    assert_eq!(snap["agent"]["breakCode"], "away");
    let notice = &snap["presence"];
    assert_eq!(notice["policy"], "break", "{snap}");
    assert_eq!(notice["breakCode"], "away");
    assert_eq!(notice["graceSecs"], 1);
    assert!(notice["at"].as_i64().is_some_and(|at| at > 0));
    let again = toolbar.long_poll(-1, 1).await;
    assert_eq!(again["presence"], *notice, "on every snapshot");

    // Once per absence: the agent is away, nothing more happens.
    sweeps(&state, 3).await;
    assert_eq!(m.presence_actions(PresencePolicy::Break), 1);

    // The agent's next command clears the notice, for good.
    let ready = toolbar.command("ready").await;
    assert_eq!(ready["agent"]["state"], "READY");
    assert!(ready.get("presence").is_none(), "{ready}");
    let snap = toolbar.snapshot().await;
    assert!(snap.get("presence").is_none(), "{snap}");
    assert!(snap["contextId"].as_i64() > again["contextId"].as_i64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coming_back_inside_the_grace_changes_nothing() {
    let sim = quick_sim().await;
    let (toolbar, state, _stop) = present_agent(
        &sim,
        &["--presence-policy", "break", "--presence-grace-secs", "2"],
    )
    .await;
    // Away for half the grace (a reload, a flaky network), then back:
    // long-polls go on until the first absence would have run out for a
    // few sweeps (interval: 500 ms).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let target = state.hub.presence_sweeps() + 6;
    let mut since = toolbar.snapshot().await["contextId"].as_i64().unwrap();
    while state.hub.presence_sweeps() < target {
        since = toolbar.long_poll(since, 1).await["contextId"]
            .as_i64()
            .unwrap();
    }
    assert_eq!(ccc_state(&sim, AGENT).await.0, "READY");
    assert_eq!(state.metrics.presence_actions(PresencePolicy::Break), 0);
    assert!(toolbar.snapshot().await.get("presence").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_during_a_call_waits_until_the_call_and_its_wrap_up_end() {
    let sim = quick_sim().await;
    let (toolbar, state, _stop) = present_agent(&sim, BREAK_1S).await;
    let job = ring(&sim, AGENT, "13800000000").await;
    admin(&sim, "POST", &format!("/calls/{job}/answer"), Value::Null).await;
    assert_eq!(ccc_state(&sim, AGENT).await.0, "TALKING");
    // One more long-poll so the proxy's view follows the call, then the
    // toolbar goes away mid-call.
    toolbar.long_poll(-1, 1).await;
    let gone = Instant::now();
    until("the grace to pass", || async {
        gone.elapsed() > Duration::from_secs(1)
    })
    .await;
    sweeps(&state, 3).await;
    assert_eq!(
        ccc_state(&sim, AGENT).await.0,
        "TALKING",
        "never during a call"
    );
    assert_eq!(state.metrics.presence_actions(PresencePolicy::Break), 0);
    assert_eq!(
        state.metrics.upstream_calls("TakeBreak"),
        0,
        "not even tried: CCC would refuse it, and the agent is busy"
    );

    // The customer hangs up: WORKING for 300 ms, then READY, then away.
    admin(
        &sim,
        "POST",
        &format!("/calls/{job}/hangup"),
        serde_json::json!({"by": "customer"}),
    )
    .await;
    until("presence to act", || async {
        state.metrics.presence_actions(PresencePolicy::Break) == 1
    })
    .await;
    assert_eq!(
        ccc_state(&sim, AGENT).await,
        ("BREAK".to_owned(), Some("away".to_owned()))
    );
    let snap = toolbar.snapshot().await;
    assert_eq!(snap["presence"]["policy"], "break", "{snap}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_policy_signs_the_agent_out() {
    let sim = quick_sim().await;
    let (toolbar, state, _stop) = present_agent(
        &sim,
        &[
            "--presence-policy",
            "sign-out",
            "--presence-grace-secs",
            "1",
        ],
    )
    .await;
    until("presence to act", || async {
        state.metrics.presence_actions(PresencePolicy::SignOut) == 1
    })
    .await;
    assert_eq!(ccc_state(&sim, AGENT).await.0, "OFFLINE");
    let snap = toolbar.snapshot().await;
    assert_eq!(snap["agent"]["state"], "OFFLINE", "{snap}");
    assert_eq!(snap["presence"]["policy"], "sign-out");
    assert!(snap["presence"].get("breakCode").is_none_or(Value::is_null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_none_moves_nobody() {
    let sim = quick_sim().await;
    // Header mode: `none` is the default.
    let (toolbar, state, _stop) = present_agent(&sim, &["--presence-grace-secs", "1"]).await;
    let session = toolbar.get("/api/v1/session").await;
    assert!(!session["breakCodes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "away"));
    // Nothing can signal "nothing happened": watch a window of twice the
    // grace, then look.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(state.hub.presence_sweeps(), 0, "no sweep runs");
    assert_eq!(ccc_state(&sim, AGENT).await.0, "READY");
    let text = toolbar.metrics().await;
    assert_eq!(
        metric(&text, "ccc_proxy_presence_actions_total{policy=\"break\"}"),
        0.0,
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_decide_once_for_the_fleet() {
    let Some(redis) = Redis::start(free_port()) else {
        panic!("redis-server must be installed (Debian package redis-server)");
    };
    redis.ready().await;
    let sim = quick_sim().await;
    let prefix = format!("presence-test-{}:", std::process::id());
    let url = redis.url();
    let flags = [
        "--presence-policy",
        "break",
        "--presence-grace-secs",
        "1",
        "--redis-url",
        &url,
        "--redis-prefix",
        &prefix,
    ];
    let (a, state_a, _stop_a) = present_agent(&sim, &flags).await;
    let (base_b, state_b, _stop_b) = serve_on_socket(config(&sim.endpoint(), &flags)).await;
    let b = Toolbar::new(&base_b, "browser-test-2");
    until("both replicas in the fleet", || async {
        state_a.fleet.as_ref().is_some_and(|f| f.healthy())
            && state_b.fleet.as_ref().is_some_and(|f| f.healthy())
    })
    .await;

    // The browser on A is gone, the one on B stays: B vouches for the
    // agent, so A (which saw it leave) does nothing.
    let target = state_a.hub.presence_sweeps() + 6;
    let mut since = b.snapshot().await["contextId"].as_i64().unwrap();
    while state_a.hub.presence_sweeps() < target {
        since = b.long_poll(since, 1).await["contextId"].as_i64().unwrap();
    }
    assert_eq!(ccc_state(&sim, AGENT).await.0, "READY");

    // A browser on each, then both gone: both replicas saw the agent leave,
    // exactly one acts, and both serve the notice.
    tokio::join!(a.long_poll(-1, 1), b.long_poll(-1, 1));
    let acted = |s: &AppState| s.metrics.presence_actions(PresencePolicy::Break);
    until("presence to act", || async {
        acted(&state_a) + acted(&state_b) >= 1
    })
    .await;
    assert_eq!(ccc_state(&sim, AGENT).await.0, "BREAK");
    sweeps(&state_a, 3).await;
    sweeps(&state_b, 3).await;
    assert_eq!(acted(&state_a) + acted(&state_b), 1, "once for the fleet");
    for toolbar in [&a, &b] {
        until("both replicas to serve the notice", || async {
            toolbar.long_poll(-1, 1).await["presence"]["breakCode"] == "away"
        })
        .await;
    }
    // A command on one replica clears it on the other too.
    a.command("ready").await;
    until("replica B to drop the notice", || async {
        b.snapshot().await.get("presence").is_none()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_decides_once_per_absence() {
    let Some(redis) = Redis::start(free_port()) else {
        panic!("redis-server must be installed (Debian package redis-server)");
    };
    redis.ready().await;
    let replica = || {
        ccc_proxy::fleet::Fleet::new(&redis.url(), "claim-test:", Duration::from_secs(5)).unwrap()
    };
    let (one, two) = (replica(), replica());
    assert!(one.presence_claim("x").await.unwrap(), "nobody vouches");
    assert!(
        one.presence_claim("x").await.unwrap(),
        "the decider looks again (after-call work)"
    );
    assert!(!two.presence_claim("x").await.unwrap(), "decided elsewhere");
    // The agent comes back on replica two: a new presence.
    two.presence_vouch(&[("x".to_owned(), Duration::from_millis(300))])
        .await
        .unwrap();
    assert!(
        !one.presence_claim("x").await.unwrap(),
        "a long-poll somewhere"
    );
    assert!(!two.presence_claim("x").await.unwrap());
    // Gone again once the vouch runs out: the first to look decides.
    until("the vouch to run out", || async {
        two.presence_claim("x").await.unwrap()
    })
    .await;
    assert!(!one.presence_claim("x").await.unwrap(), "once per absence");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_a_replica_does_not_move_anyone() {
    // A fleet whose Redis is down: the browser may be long-polling another
    // replica, so this one must not decide alone.
    let sim = quick_sim().await;
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let mut flags = BREAK_1S.to_vec();
    flags.extend(["--redis-url", &url]);
    let (_toolbar, state, _stop) = present_agent(&sim, &flags).await;
    let gone = Instant::now();
    until("the grace to pass", || async {
        gone.elapsed() > Duration::from_secs(1)
    })
    .await;
    sweeps(&state, 3).await;
    assert_eq!(ccc_state(&sim, AGENT).await.0, "READY");
    assert_eq!(state.metrics.upstream_calls("TakeBreak"), 0);
}
