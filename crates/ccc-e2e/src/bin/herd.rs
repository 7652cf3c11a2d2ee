//! `make soak` (first part, or `scripts/soak.sh --herd-only`): the CCC-call
//! economy of a contact center, against release binaries of the proxy and
//! the simulator as separate processes, the simulator enforcing an account
//! quota (`--qps-limit`) equal to the proxy's `--upstream-qps`.
//!
//! - `shift-start`: N agents (1,000) open their toolbars within a few
//!   seconds (5); each toolbar's first `GET /api/v1/agent` is timed. Prints
//!   client errors, first state p50/p99/max, `Throttling` answers from CCC
//!   and the CCC calls made.
//! - `ringing`: N agents (10,000) on events, each making one state change a
//!   minute, 10 % of them ringing at a time (a day of ten states, one of
//!   them ringing). A browser waits on every new ring; prints CCC calls per
//!   state change and how long after the ring the caller's number reached
//!   that browser (p50/p99).

// Printing figures is this binary's whole job.
#![allow(clippy::print_stdout)]

use std::{
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ccc_e2e::load::{admin, pct, sibling, wait_healthy, KillOnDrop};
use ccc_testkit::{KEY_ID, KEY_SECRET};
use clap::{Parser, ValueEnum};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    ShiftStart,
    Ringing,
    All,
}

/// CCC-call economy figures (not pass/fail).
#[derive(Debug, Parser)]
struct Args {
    /// Which scenario.
    #[arg(long, value_enum, default_value = "all")]
    scenario: Scenario,
    /// Agents of the shift start.
    #[arg(long, default_value_t = 1000)]
    shift_agents: usize,
    /// Seconds over which their toolbars open.
    #[arg(long, default_value_t = 5.0)]
    shift_secs: f64,
    /// Share of the shift's agents already online (their rows lack the
    /// device: a `PollUserStatus` follows the first state).
    #[arg(long, default_value_t = 0.0)]
    online_share: f64,
    /// Agents of the ringing scenario.
    #[arg(long, default_value_t = 10_000)]
    ringing_agents: usize,
    /// Seconds measured in the ringing scenario (each agent changes state
    /// once a minute).
    #[arg(long, default_value_t = 60)]
    ringing_secs: u64,
    /// The account quota and the proxy's budget (calls/s).
    #[arg(long, default_value_t = 20)]
    qps: u32,
}

const EVENTS_TOKEN: &str = "herd-events-token-0123456789abcdef";

/// A child process killed (and reaped) when dropped.
/// A simulator and a proxy (events on, header auth), the quota and the
/// budget both `qps`.
struct Stack {
    sim: String,
    base: String,
    http: reqwest::Client,
    _procs: (KillOnDrop, KillOnDrop),
}

async fn stack(agents: usize, qps: u32) -> Stack {
    let sim_port = ccc_e2e::free_port();
    let proxy_port = ccc_e2e::free_port();
    let sim = format!("http://127.0.0.1:{sim_port}");
    let base = format!("http://127.0.0.1:{proxy_port}");
    let hour = "3600000";
    let sim_proc = KillOnDrop {
        child: Command::new(sibling("ccc-sim"))
            .args([
                "--listen",
                &format!("127.0.0.1:{sim_port}"),
                "--agents",
                &agents.to_string(),
                "--qps-limit",
                &qps.to_string(),
                "--webhook-url",
                &format!("{base}/ccc/events"),
                // Every change is one this binary makes.
                "--ringing-timeout-ms",
                hour,
                "--after-call-ms",
                hour,
                "--log-level",
                "error",
            ])
            .env("CCC_SIM_WEBHOOK_TOKEN", EVENTS_TOKEN)
            .stdout(Stdio::null())
            .spawn()
            .expect("start ccc-sim (build it: make soak)"),
    };
    let proxy_proc = KillOnDrop {
        child: Command::new(sibling("ccc-proxy"))
            .args([
                "--endpoint",
                &sim,
                "--instance-id",
                "ccc-demo",
                "--listen",
                &format!("127.0.0.1:{proxy_port}"),
                "--auth",
                "header",
                "--static-dir",
                "/nonexistent-ccc-dist",
                "--upstream-qps",
                &qps.to_string(),
                "--poll-idle-secs",
                "3600",
                // Read limits are per agent; one browser each here.
                "--longpolls-per-agent",
                "8",
            ])
            .env("CCC_EVENTS_TOKEN", EVENTS_TOKEN)
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("start ccc-proxy (build it: make soak)"),
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(2048)
        .timeout(Duration::from_secs(40))
        .build()
        .unwrap();
    wait_healthy(&http, &format!("{base}/healthz")).await;
    wait_healthy(&http, &format!("{sim}/_sim/agents")).await;
    Stack {
        sim,
        base,
        http,
        _procs: (sim_proc, proxy_proc),
    }
}

fn agent(i: usize) -> String {
    format!("agent{:05}@ccc-demo", i + 1)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    if matches!(args.scenario, Scenario::ShiftStart | Scenario::All) {
        shift_start(&args).await;
    }
    if matches!(args.scenario, Scenario::Ringing | Scenario::All) {
        ringing(&args).await;
    }
}

/// Outcome of one toolbar's first look.
enum First {
    Ok(Duration),
    Status(u16),
    Transport,
}

async fn shift_start(args: &Args) {
    let n = args.shift_agents;
    let s = stack(n, args.qps).await;
    let online = ((n as f64) * args.online_share.clamp(0.0, 1.0)).round() as usize;
    if online > 0 {
        let ready: Vec<Value> = (0..online)
            .map(|i| json!({"userId": agent(i), "state": "READY"}))
            .collect();
        admin(&s.http, &s.sim, "POST", "/agents/states", json!(ready)).await;
    }
    admin(&s.http, &s.sim, "DELETE", "/stats", json!({})).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..n {
        let at = Duration::from_secs_f64(args.shift_secs * i as f64 / n as f64);
        let http = s.http.clone();
        let url = format!("{}/api/v1/agent", s.base);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until((started + at).into()).await;
            let t0 = Instant::now();
            match http
                .get(url)
                .header("x-forwarded-user", agent(i))
                .header("x-ccc-device-id", format!("herd-{i}"))
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => {
                    let body: Value = r.json().await.unwrap_or(Value::Null);
                    if body["agent"]["state"].is_string() {
                        First::Ok(t0.elapsed())
                    } else {
                        First::Status(200)
                    }
                }
                Ok(r) => First::Status(r.status().as_u16()),
                Err(_) => First::Transport,
            }
        }));
    }
    let mut times = Vec::new();
    let mut errors = std::collections::BTreeMap::<String, u64>::new();
    for t in tasks {
        let failed = match t.await {
            Ok(First::Ok(d)) => {
                times.push(d.as_millis() as u64);
                continue;
            }
            Ok(First::Status(s)) => s.to_string(),
            Ok(First::Transport) | Err(_) => "transport".to_owned(),
        };
        *errors.entry(failed).or_default() += 1;
    }
    let all_done = started.elapsed();
    // The details online agents still need (PollUserStatus) come after.
    let stats = sim_stats(&s).await;
    times.sort_unstable();
    println!(
        "shift start: {n} agents ({online} online) open within {} s; --upstream-qps {q} \
         in front of --qps-limit {q}",
        args.shift_secs,
        q = args.qps
    );
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| client errors | {} {errors:?} |",
        errors.values().sum::<u64>()
    );
    println!(
        "| first state p50 / p99 / max | {} / {} / {} ms |",
        pct(&times, 0.5),
        pct(&times, 0.99),
        times.last().copied().unwrap_or(0)
    );
    println!(
        "| Throttling answers from CCC | {} |",
        stats["throttled"].as_u64().unwrap_or(0)
    );
    println!(
        "| CCC calls until the last first state ({:.1} s) | {} ({} ListRealtimeAgentStates, {} PollUserStatus) |",
        all_done.as_secs_f64(),
        stats["totalCalls"].as_u64().unwrap_or(0),
        stats["calls"]["ListRealtimeAgentStates"].as_u64().unwrap_or(0),
        stats["calls"]["PollUserStatus"].as_u64().unwrap_or(0),
    );
}

/// The day of an agent: ten states, one change a minute, one of them
/// ringing (10 % of the agents ring at any time).
const DAY: [(&str, Option<&str>); 10] = [
    ("READY", None),
    ("RINGING", None),
    ("TALKING", None),
    ("WORKING", None),
    ("READY", None),
    ("BREAK", Some("lunch")),
    ("READY", None),
    ("BREAK", Some("training")),
    ("READY", None),
    ("BREAK", Some("meeting")),
];

async fn ringing(args: &Args) {
    let n = args.ringing_agents;
    let s = stack(n, args.qps).await;
    // Warm-up (not measured): every toolbar opens while its agent is signed
    // out (a batched row each; 250 a second, inside the budget), then the
    // agents move to their place in the day.
    let warm = Instant::now();
    let mut opening = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        for &i in chunk {
            let http = s.http.clone();
            let url = format!("{}/api/v1/agent", s.base);
            opening.push(tokio::spawn(async move {
                let _ = http
                    .get(url)
                    .header("x-forwarded-user", agent(i))
                    .send()
                    .await;
            }));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for t in opening {
        let _ = t.await;
    }
    // Into position: agent i stands at step i % 10 of its day. Steps 1-3
    // (ringing, talking, after-call work) go through a call; the others are
    // set directly.
    let mut prep: Vec<Vec<Value>> = vec![Vec::new(); 4];
    for i in 0..n {
        let pos = i % DAY.len();
        let steps: Vec<usize> = if pos <= 3 {
            (0..=pos).collect()
        } else {
            vec![0, pos]
        };
        for (k, step) in steps.into_iter().enumerate() {
            let (state, code) = DAY[step];
            prep[k].push(json!({"userId": agent(i), "state": state, "breakCode": code}));
        }
    }
    for round in prep {
        for part in round.chunks(2000) {
            admin(&s.http, &s.sim, "POST", "/agents/states", json!(part)).await;
        }
        // Each round's look-ups first (a call answered before its caller
        // was looked up costs a PollUserStatus).
        settle(&s).await;
    }
    if std::env::var_os("HERD_DEBUG").is_some() {
        println!("  warm-up calls: {}", sim_stats(&s).await);
    }
    println!(
        "ringing: {n} agents on events, warm-up {:.0} s",
        warm.elapsed().as_secs_f64()
    );
    admin(&s.http, &s.sim, "DELETE", "/stats", json!({})).await;

    // The measured period: agent i makes step i % 10 -> next, spread evenly.
    let total = Duration::from_secs(args.ringing_secs);
    let per_sec = n as f64 / 60.0;
    let changes = ((per_sec * total.as_secs_f64()) as usize).min(n);
    let shown: Arc<Mutex<Vec<u64>>> = Arc::default();
    let missed: Arc<Mutex<u64>> = Arc::default();
    let started = Instant::now();
    let mut waiters = Vec::new();
    let mut made = 0u64;
    for k in 0..changes {
        // Visit agents so that every step of the day is taken equally.
        let i = (k * 7919) % n;
        let at = total.mul_f64(k as f64 / changes as f64);
        tokio::time::sleep_until((started + at).into()).await;
        let step = i % DAY.len();
        let (next, code) = DAY[(step + 1) % DAY.len()];
        if next == "RINGING" {
            let caller = format!("1390{:07}", i);
            waiters.push(tokio::spawn(ring_and_wait(
                s.http.clone(),
                s.base.clone(),
                s.sim.clone(),
                agent(i),
                caller,
                shown.clone(),
                missed.clone(),
            )));
            made += 1;
        } else {
            let http = s.http.clone();
            let sim = s.sim.clone();
            let body = json!({"state": next, "breakCode": code});
            let path = format!("/agents/{}/state", agent(i));
            tokio::spawn(async move { admin(&http, &sim, "POST", &path, body).await });
            made += 1;
        }
    }
    if let Some(rest) = total.checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let stats = sim_stats(&s).await;
    for w in waiters {
        let _ = tokio::time::timeout(Duration::from_secs(15), w).await;
    }
    let mut times = shown.lock().unwrap().clone();
    times.sort_unstable();
    let calls = stats["totalCalls"].as_u64().unwrap_or(0);
    println!(
        "ringing: {made} state changes in {secs:.0} s ({:.0}/s), {} rings; --upstream-qps {q}, --qps-limit {q}",
        made as f64 / secs,
        times.len() as u64 + *missed.lock().unwrap(),
        q = args.qps
    );
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| CCC calls | {calls} ({:.2}/s: {} ListRealtimeAgentStates, {} PollUserStatus) |",
        calls as f64 / secs,
        stats["calls"]["ListRealtimeAgentStates"]
            .as_u64()
            .unwrap_or(0),
        stats["calls"]["PollUserStatus"].as_u64().unwrap_or(0)
    );
    println!(
        "| CCC calls per state change | {:.4} |",
        calls as f64 / made.max(1) as f64
    );
    println!(
        "| caller number shown after the ring p50 / p99 / max | {} / {} / {} ms |",
        pct(&times, 0.5),
        pct(&times, 0.99),
        times.last().copied().unwrap_or(0)
    );
    println!(
        "| rings whose number was not shown within 10 s | {} |",
        *missed.lock().unwrap()
    );
    println!(
        "| Throttling answers from CCC | {} |",
        stats["throttled"].as_u64().unwrap_or(0)
    );
    if std::env::var_os("HERD_DEBUG").is_some() {
        let text = s
            .http
            .get(format!("{}/metrics", s.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap_or_default();
        for l in text
            .lines()
            .filter(|l| l.starts_with("ccc_proxy_ccc_events_total"))
        {
            println!("  {l}");
        }
    }
}

/// A browser of `user` waits; the call from `caller` rings; the time until
/// the browser shows `caller` is recorded.
async fn ring_and_wait(
    http: reqwest::Client,
    base: String,
    sim: String,
    user: String,
    caller: String,
    shown: Arc<Mutex<Vec<u64>>>,
    missed: Arc<Mutex<u64>>,
) {
    let get = |url: String| {
        http.get(url)
            .header("x-forwarded-user", &user)
            .header("x-ccc-device-id", "herd-ring")
            .send()
    };
    let Ok(first) = get(format!("{base}/api/v1/agent")).await else {
        *missed.lock().unwrap() += 1;
        return;
    };
    let first: Value = first.json().await.unwrap_or(Value::Null);
    let mut since = first["contextId"].as_i64().unwrap_or(0);
    let rang = Instant::now();
    let ok = http
        .post(format!("{sim}/_sim/calls"))
        .header("content-type", "application/json")
        .body(json!({"userId": user, "caller": caller}).to_string())
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    if !ok {
        *missed.lock().unwrap() += 1;
        return;
    }
    while rang.elapsed() < Duration::from_secs(10) {
        let Ok(r) = get(format!("{base}/api/v1/agent?since={since}&wait=10")).await else {
            break;
        };
        let body: Value = r.json().await.unwrap_or(Value::Null);
        since = body["contextId"].as_i64().unwrap_or(since);
        let number = body["call"]["channels"]
            .as_array()
            .and_then(|c| c.iter().find(|ch| ch["userId"].is_null()))
            .and_then(|ch| ch["originator"].as_str())
            .map(str::to_owned);
        if number.as_deref() == Some(caller.as_str()) {
            shown
                .lock()
                .unwrap()
                .push(rang.elapsed().as_millis() as u64);
            return;
        }
    }
    *missed.lock().unwrap() += 1;
}

/// Waits until CCC calls stay below 3/s for three seconds in a row (at
/// most a minute).
async fn settle(s: &Stack) {
    let mut quiet = 0;
    let mut last = sim_stats(s).await["totalCalls"].as_u64().unwrap_or(0);
    let started = Instant::now();
    while quiet < 3 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = sim_stats(s).await["totalCalls"].as_u64().unwrap_or(0);
        quiet = if now.saturating_sub(last) < 3 {
            quiet + 1
        } else {
            0
        };
        last = now;
    }
}

async fn sim_stats(s: &Stack) -> Value {
    match s.http.get(format!("{}/_sim/stats", s.sim)).send().await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}
