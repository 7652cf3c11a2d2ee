//! `make bench` (scale section): what the proxy costs CCC and how fresh it
//! keeps the toolbar at contact-center size.
//!
//! - Upstream CCC calls per second and per agent state change, for 1,000
//!   and 10,000 watched agents, each changing state once a minute (a mix of
//!   calls, after-call work and breaks), with CCC's events on versus
//!   per-agent polling inside the default budget of 20 calls/s. Time is
//!   compressed by a factor K (the minute, the reconciliation period and
//!   the budget scale together); calls/s are reported in real time.
//! - Freshness: a change in CCC until a waiting browser is answered, p50 and
//!   p99, through one replica and across two replicas on Redis.
//! - Proxy memory (RSS of a `ccc-proxy` process) per 1,000 waiting long-polls,
//!   and whether it comes back when agents are forgotten (`scale memory`
//!   runs only these).
//!
//! Loopback only; the figures compare builds on one machine.

// Printing figures is this binary's whole job.
#![allow(clippy::print_stdout)]

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use ccc_e2e::load::{sibling, wait_healthy, KillOnDrop};
use ccc_model::UserState;
use ccc_proxy::{AppState, Config};
use ccc_sim::{RunningSim, SimConfig, StateChange, WebhookTarget};
use ccc_testkit::{Redis, KEY_ID, KEY_SECRET};
use serde_json::Value;

const TOKEN: &str = "bench-events-token-0123";
/// The default fleet budget (calls/s) the figures are for.
const BUDGET: f64 = 20.0;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `scale memory`: only the memory figures.
    if std::env::args().nth(1).as_deref() == Some("memory") {
        memory_per_thousand_waiters().await;
        memory_over_rounds().await;
        return;
    }
    println!("scale (upstream load per state change; one change per agent per minute):");
    println!(
        "  {:>7}  {:<28} {:>10} {:>12} {:>14}",
        "agents", "mode", "calls/s", "calls/change", "staleness"
    );
    for (agents, k_events, k_poll) in [(1_000, 10.0, 10.0), (10_000, 2.0, 20.0)] {
        let e = load(agents, true, k_events).await;
        e.print(agents, "events + reconciliation");
        let p = load(agents, false, k_poll).await;
        p.print(agents, "per-agent polling");
    }
    println!("freshness (change in CCC -> waiting browser answered), events on:");
    let one = freshness().await;
    println!(
        "  one replica:                 p50 {:>6.1} ms   p99 {:>6.1} ms",
        one.0, one.1
    );
    match Redis::start(ccc_e2e::free_port()) {
        Some(mut redis) => {
            redis.ready().await;
            let across = freshness_across(&redis.url()).await;
            println!(
                "  across replicas (Redis):     p50 {:>6.1} ms   p99 {:>6.1} ms",
                across.0, across.1
            );
            redis.kill();
        }
        None => {
            println!("  across replicas: skipped (no redis-server; scripts/setup.sh installs it)")
        }
    }
    memory_per_thousand_waiters().await;
    memory_over_rounds().await;
}

fn config(endpoint: &str, extra: &[&str]) -> Config {
    let mut argv = vec![
        "--endpoint",
        endpoint,
        "--instance-id",
        "ccc-demo",
        "--static-dir",
        "/nonexistent-ccc-dist",
        "--poll-idle-secs",
        "600",
    ];
    argv.extend_from_slice(extra);
    ccc_testkit::proxy_config(&argv)
}

async fn sim(agents: usize) -> RunningSim {
    let mut c = SimConfig::demo().with_generated_agents(agents);
    c.timings.demo_calls_secs = None;
    // Every change is one the bench makes (no timers moving agents).
    c.timings.ringing_timeout_ms = 3_600_000;
    c.timings.after_call_ms = 3_600_000;
    ccc_testkit::spawn_sim(c).await
}

fn agent(i: usize) -> String {
    format!("agent{:05}@ccc-demo", i + 1)
}

/// Builds the proxy for `config` and serves it on a loopback port (its
/// public origin) until its state shuts down; returns the state and the
/// base URL.
async fn serve(config: Config) -> (AppState, String) {
    let (base, state) = ccc_testkit::serve_proxy(config, None).await.detach();
    (state, base)
}

fn set(sim: &RunningSim, user: &str, state: UserState, code: Option<&str>) -> bool {
    sim.state()
        .set_agent_state(
            user,
            &StateChange {
                state,
                break_code: code.map(str::to_owned),
            },
        )
        .is_ok()
}

/// The realistic day of an agent, one step per change: a call (ringing,
/// talking, after-call work, ready) then a break and back.
const DAY: [(UserState, Option<&str>); 6] = [
    (UserState::Ringing, None),
    (UserState::Talking, None),
    (UserState::Working, None),
    (UserState::Ready, None),
    (UserState::Break, Some("lunch")),
    (UserState::Ready, None),
];

struct Load {
    calls_per_sec: f64,
    calls_per_change: f64,
    staleness: String,
}

impl Load {
    fn print(&self, agents: usize, mode: &str) {
        println!(
            "  {agents:>7}  {mode:<28} {:>10.2} {:>12.3} {:>14}",
            self.calls_per_sec, self.calls_per_change, self.staleness
        );
    }
}

/// Runs `agents` watched agents for one compressed minute (factor `k`).
async fn load(agents: usize, events: bool, k: f64) -> Load {
    let sim = sim(agents).await;
    // Agent i is at step i % 6 of its day: the measured minute makes that step.
    for i in 0..agents {
        set(&sim, &agent(i), UserState::Ready, None);
        for (prev, code) in DAY.iter().take(i % DAY.len()) {
            set(&sim, &agent(i), prev.clone(), *code);
        }
    }
    let qps = format!("{}", BUDGET * k);
    let reconcile = format!("{}", (30.0 / k).max(1.0).round());
    let interval = format!("{}", (1000.0 / k).max(10.0).round());
    let mut flags = vec!["--upstream-qps", qps.as_str()];
    if events {
        flags.extend([
            "--events-token",
            TOKEN,
            "--reconcile-secs",
            reconcile.as_str(),
        ]);
    } else {
        flags.extend(["--poll-interval-ms", interval.as_str()]);
    }
    let (state, base) = serve(config(&sim.endpoint(), &flags)).await;
    if events {
        sim.state().set_webhook(Some(
            WebhookTarget::new(&format!("{base}/ccc/events"), Some(TOKEN.to_owned())).unwrap(),
        ));
    }
    // Warm-up (browsers opening, not measured): every agent watched, known.
    state.client.budget().set_qps(5_000.0);
    for i in 0..agents {
        state.hub.touch(&agent(i), None);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while (0..agents).any(|i| state.hub.view(&agent(i)).is_none()) {
        assert!(Instant::now() < deadline, "warm-up did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    state.client.budget().set_qps(BUDGET * k);
    // Polling: let one stretched interval pass, so the polls spread out as
    // they do in a running centre (steady state, not the warm-up's wave).
    let settle = if events {
        Duration::from_millis(300)
    } else {
        state.hub.poll_interval()
    };
    tokio::time::sleep(settle).await;
    sim.state().reset_stats();
    // One compressed minute: every agent makes one change, spread evenly.
    let minute = Duration::from_secs_f64(60.0 / k);
    let started = Instant::now();
    let mut changes = 0u64;
    for i in 0..agents {
        let at = minute.mul_f64(i as f64 / agents as f64);
        if let Some(wait) = at.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let (s, code) = DAY[i % DAY.len()].clone();
        if set(&sim, &agent(i), s, code) {
            changes += 1;
        }
    }
    if let Some(rest) = minute.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let stats = sim.state().stats();
    let total_changes = changes;
    let calls = stats.total_calls as f64;
    let staleness = if events {
        "events (ms)".to_owned()
    } else {
        let interval = state.hub.poll_interval().as_secs_f64() * k;
        format!("~{interval:.0} s")
    };
    let load = Load {
        calls_per_sec: calls / secs / k,
        calls_per_change: calls / total_changes.max(1) as f64,
        staleness,
    };
    state.begin_shutdown();
    sim.shutdown().await;
    load
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Changes `agents` agents one after another while a browser of each waits
/// on `watch`, the simulator pushing events to `receive`. Returns p50/p99 ms.
async fn measure(sim: &RunningSim, watch: &str, agents: usize) -> (f64, f64) {
    let http = reqwest::Client::new();
    let mut lat = Vec::with_capacity(agents);
    for i in 0..agents {
        let user = agent(i);
        let url = format!("{watch}/api/v1/agent");
        let first: Value = get(&http, &url, &user).await;
        let since = first["contextId"].as_i64().unwrap_or_default();
        let code = if first["agent"]["breakCode"] == "lunch" {
            "meeting"
        } else {
            "lunch"
        };
        let waiter = {
            let (http, user) = (http.clone(), user.clone());
            let url = format!("{url}?since={since}&wait=20");
            tokio::spawn(async move {
                loop {
                    let b: Value = get(&http, &url, &user).await;
                    if b["agent"]["breakCode"] == code {
                        return Instant::now();
                    }
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let t0 = Instant::now();
        set(sim, &user, UserState::Break, Some(code));
        let t1 = waiter.await.unwrap();
        lat.push(t1.duration_since(t0).as_secs_f64() * 1000.0);
    }
    lat.sort_by(f64::total_cmp);
    (percentile(&lat, 0.5), percentile(&lat, 0.99))
}

async fn get(http: &reqwest::Client, url: &str, user: &str) -> Value {
    let res = http
        .get(url)
        .header("x-forwarded-user", user)
        .header("x-ccc-device-id", "bench")
        .send()
        .await
        .expect("proxy answers");
    serde_json::from_slice(&res.bytes().await.unwrap_or_default()).unwrap_or(Value::Null)
}

async fn freshness() -> (f64, f64) {
    let sim = sim(200).await;
    for i in 0..200 {
        set(&sim, &agent(i), UserState::Break, Some("lunch"));
    }
    let (state, base) = serve(config(
        &sim.endpoint(),
        &["--events-token", TOKEN, "--upstream-qps", "1000"],
    ))
    .await;
    sim.state().set_webhook(Some(
        WebhookTarget::new(&format!("{base}/ccc/events"), Some(TOKEN.to_owned())).unwrap(),
    ));
    let r = measure(&sim, &base, 200).await;
    state.begin_shutdown();
    sim.shutdown().await;
    r
}

async fn freshness_across(redis_url: &str) -> (f64, f64) {
    let sim = sim(200).await;
    for i in 0..200 {
        set(&sim, &agent(i), UserState::Break, Some("lunch"));
    }
    let flags = [
        "--events-token",
        TOKEN,
        "--upstream-qps",
        "1000",
        "--redis-url",
        redis_url,
    ];
    let (a, base_a) = serve(config(&sim.endpoint(), &flags)).await;
    let (b, base_b) = serve(config(&sim.endpoint(), &flags)).await;
    // Wait for both to reach Redis.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(a.fleet.as_ref().is_some_and(|f| f.healthy())
        && b.fleet.as_ref().is_some_and(|f| f.healthy()))
    {
        assert!(Instant::now() < deadline, "replicas never reached redis");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Events reach replica A; the browsers wait on replica B.
    sim.state().set_webhook(Some(
        WebhookTarget::new(&format!("{base_a}/ccc/events"), Some(TOKEN.to_owned())).unwrap(),
    ));
    let r = measure(&sim, &base_b, 200).await;
    a.begin_shutdown();
    b.begin_shutdown();
    sim.shutdown().await;
    r
}

/// The release `ccc-proxy` next to this binary, if it was built.
fn proxy_exe() -> Option<std::path::PathBuf> {
    Some(sibling("ccc-proxy")).filter(|p| p.exists())
}

/// Starts the release proxy (a process of its own, so its RSS is its own)
/// in front of `sim` with `extra` flags; waits for `/healthz`.
async fn proxy_process(
    exe: &std::path::Path,
    sim: &RunningSim,
    extra: &[&str],
) -> (KillOnDrop, String, reqwest::Client) {
    let port = ccc_e2e::free_port();
    let child = Command::new(exe)
        .args(["--endpoint", &sim.endpoint(), "--instance-id", "ccc-demo"])
        .args(["--listen", &format!("127.0.0.1:{port}"), "--auth", "header"])
        .args([
            "--static-dir",
            "/nonexistent-ccc-dist",
            "--events-token",
            TOKEN,
        ])
        .args(["--upstream-qps", "2000"])
        .args(extra)
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ccc-proxy starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(2000)
        .build()
        .unwrap();
    wait_healthy(&http, &format!("{base}/healthz")).await;
    (KillOnDrop { child }, base, http)
}

/// Polls the proxy's metric `name` until `done` holds (or `secs` pass);
/// returns the last value.
async fn metric_until(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    secs: u64,
    done: impl Fn(f64) -> bool,
) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let text = ccc_testkit::metrics_text(http, base).await;
        let n = ccc_e2e::metric_sum(&text, name);
        if done(n) || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// RSS of `pid` once it has stopped falling (no drop over 1 % in 3 s, or
/// after 30 s): an allocator returns freed pages over a few seconds.
async fn settled_rss(pid: u32) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut low = ccc_e2e::rss_kib(pid);
    let mut since_drop = Instant::now();
    while Instant::now() < deadline && since_drop.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = ccc_e2e::rss_kib(pid);
        if (now as f64) < low as f64 * 0.99 {
            since_drop = Instant::now();
        }
        low = low.min(now);
    }
    low
}

/// Memory follows the watched agents (issue 19): five rounds, each of
/// 2,000 new agents long-polling at once; then their long-polls end, the
/// proxy forgets them, and RSS is read again. Idle RSS must come back to
/// about where it started, round after round.
async fn memory_over_rounds() {
    const ROUNDS: usize = 5;
    const PER_ROUND: usize = 2_000;
    let Some(exe) = proxy_exe() else {
        println!("proxy memory over rounds: skipped (build the ccc-proxy binary first)");
        return;
    };
    let sim = sim(ROUNDS * PER_ROUND).await;
    for i in 0..ROUNDS * PER_ROUND {
        set(&sim, &agent(i), UserState::Ready, None);
    }
    // Idle loops stop after 2 s; the janitor sweeps every 2 s.
    let (proxy, base, probe) = proxy_process(&exe, &sim, &["--poll-idle-secs", "2"]).await;
    let mib = |kib: u64| kib as f64 / 1024.0;
    let start = ccc_e2e::rss_kib(proxy.child.id());
    println!(
        "proxy memory over rounds ({PER_ROUND} new agents long-polling each round, then forgotten): idle at start {:.1} MiB",
        mib(start)
    );
    let mut idle = Vec::new();
    for round in 0..ROUNDS {
        // A new client each round: the proxy closes the last round's idle
        // connections (`--idle-timeout-secs`), a pooled one would race that.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(PER_ROUND)
            .build()
            .unwrap();
        let users: Vec<String> = (round * PER_ROUND..(round + 1) * PER_ROUND)
            .map(agent)
            .collect();
        // Each agent long-polls (again after every answer) for 20 s.
        let until = Instant::now() + Duration::from_secs(20);
        let mut polls = Vec::new();
        for user in users {
            let (http, base) = (http.clone(), base.clone());
            polls.push(tokio::spawn(async move {
                let first = get(&http, &format!("{base}/api/v1/agent"), &user).await;
                let mut since = first["contextId"].as_i64().unwrap_or_default();
                while Instant::now() < until {
                    let url = format!("{base}/api/v1/agent?since={since}&wait=5");
                    let next = get(&http, &url, &user).await;
                    since = next["contextId"].as_i64().unwrap_or(since);
                }
            }));
        }
        let waiting = metric_until(&http, &base, "ccc_proxy_longpoll_waiters ", 20, |n| {
            n >= PER_ROUND as f64
        })
        .await;
        let peak = ccc_e2e::rss_kib(proxy.child.id());
        for p in polls {
            let _ = p.await;
        }
        // The browsers leave: their connections close, the proxy forgets
        // the agents, and the allocator gets time to hand pages back.
        drop(http);
        let held = metric_until(&probe, &base, "ccc_proxy_agents_held ", 60, |n| n == 0.0).await;
        metric_until(&probe, &base, "ccc_proxy_connections ", 60, |n| n <= 1.0).await;
        let after = settled_rss(proxy.child.id()).await;
        idle.push(after);
        println!(
            "  round {}: {:.1} MiB with {waiting} long-polls waiting, {:.1} MiB after they ended ({held} agents held)",
            round + 1,
            mib(peak),
            mib(after)
        );
    }
    if let (Some(first), Some(last)) = (idle.first(), idle.last()) {
        println!(
            "  idle after round 1 / round {ROUNDS}: {:.1} / {:.1} MiB ({:+.1} %)",
            mib(*first),
            mib(*last),
            (*last as f64 / *first as f64 - 1.0) * 100.0
        );
    }
    drop(proxy);
    sim.shutdown().await;
}

async fn memory_per_thousand_waiters() {
    let Some(exe) = proxy_exe() else {
        println!("proxy memory: skipped (build the ccc-proxy binary first)");
        return;
    };
    let sim = sim(1000).await;
    for i in 0..1000 {
        set(&sim, &agent(i), UserState::Ready, None);
    }
    let (proxy, base, http) = proxy_process(&exe, &sim, &["--poll-idle-secs", "600"]).await;
    // Every agent known first (their hubs exist), then measure the waiters alone.
    let mut since = Vec::new();
    for i in 0..1000 {
        let b = get(&http, &format!("{base}/api/v1/agent"), &agent(i)).await;
        since.push(b["contextId"].as_i64().unwrap_or_default());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = ccc_e2e::rss_kib(proxy.child.id());
    let mut waiters = Vec::new();
    for (i, s) in since.iter().enumerate() {
        let (http, url, user) = (
            http.clone(),
            format!("{base}/api/v1/agent?since={s}&wait=30"),
            agent(i),
        );
        waiters.push(tokio::spawn(async move { get(&http, &url, &user).await }));
    }
    metric_until(&http, &base, "ccc_proxy_longpoll_waiters ", 20, |n| {
        n >= 1000.0
    })
    .await;
    let after = ccc_e2e::rss_kib(proxy.child.id());
    println!(
        "proxy memory: RSS {:.1} MiB with 1,000 agents known, {:.1} MiB with 1,000 long-polls waiting: {:.2} MiB per 1,000 waiters",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        after.saturating_sub(before) as f64 / 1024.0
    );
    for w in waiters {
        w.abort();
    }
    drop(proxy);
    sim.shutdown().await;
}
