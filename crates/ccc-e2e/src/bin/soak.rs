//! `make soak`: many simulated agents long-polling through a release proxy
//! for minutes, with state changes made "elsewhere" (the simulator's admin
//! API) and injected upstream faults. It prints what the agents' browsers
//! would have suffered: errors, stuck long-polls, how fresh the state was,
//! and whether the proxy's memory stays flat.
//!
//! The proxy and the simulator run as separate processes (the release
//! binaries next to this one), so the proxy's RSS is its own. Events are on
//! (the simulator's webhook posts to the proxy's `/ccc/events`), with the
//! default fleet budget of 20 CCC calls/s.
//!
//! Phases (as shares of `--secs`): clean; CCC answering 5xx to 20 % of
//! calls; latency above the upstream timeout; 20 % of connections dropped;
//! throttling by an account quota; clean again (recovery).

// Printing figures is this binary's whole job.
#![allow(clippy::print_stdout)]

use std::{
    collections::HashMap,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use ccc_testkit::{KEY_ID, KEY_SECRET};
use clap::Parser;
use serde_json::{json, Value};

/// Soak test of the proxy (figures, not pass/fail).
#[derive(Debug, Parser)]
struct Args {
    /// Simulated agents, each with one browser long-polling.
    #[arg(long, default_value_t = 1000)]
    agents: usize,
    /// Duration in seconds.
    #[arg(long, env = "SOAK_SECS", default_value_t = 600)]
    secs: u64,
    /// State changes per agent per minute.
    #[arg(long, default_value_t = 1.0)]
    changes_per_agent_minute: f64,
}

/// CCC's webhook deliveries to the proxy (events on, as in production).
const EVENTS_TOKEN: &str = "soak-events-token-0123456789abcdef";
/// Long-poll wait the clients ask for.
const WAIT_SECS: u64 = 25;
/// A long-poll not answered within wait + this is stuck.
const STUCK_AFTER: Duration = Duration::from_secs(WAIT_SECS + 15);

/// A child process killed (and reaped) when dropped.
struct KillOnDrop {
    child: Child,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sibling(name: &str) -> PathBuf {
    let me = std::env::current_exe().expect("own path");
    me.with_file_name(name)
}

#[derive(Default)]
struct Tally {
    answers: AtomicU64,
    errors: Mutex<HashMap<u16, u64>>,
    transport_errors: AtomicU64,
    stuck: AtomicU64,
    /// Per agent: the state it was changed to and when (not yet seen).
    pending: Mutex<HashMap<usize, (String, Instant)>>,
    /// Change → seen by the agent's browser, milliseconds, and whether no
    /// fault was injected then.
    freshness: Mutex<Vec<(u64, bool)>>,
    /// A fault phase is running.
    faulty: AtomicBool,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let sim_port = ccc_e2e::free_port();
    let proxy_port = ccc_e2e::free_port();
    let sim_url = format!("http://127.0.0.1:{sim_port}");
    let base = format!("http://127.0.0.1:{proxy_port}");

    let _sim = KillOnDrop {
        child: Command::new(sibling("ccc-sim"))
            .args([
                "--listen",
                &format!("127.0.0.1:{sim_port}"),
                "--agents",
                &args.agents.to_string(),
                "--webhook-url",
                &format!("{base}/ccc/events"),
                "--log-level",
                "error",
            ])
            .env("CCC_SIM_WEBHOOK_TOKEN", EVENTS_TOKEN)
            .stdout(Stdio::null())
            .spawn()
            .expect("start ccc-sim (build it: make soak)"),
    };
    let proxy = KillOnDrop {
        child: Command::new(sibling("ccc-proxy"))
            .args([
                "--endpoint",
                &sim_url,
                "--instance-id",
                "ccc-demo",
                "--listen",
                &format!("127.0.0.1:{proxy_port}"),
                "--auth",
                "header",
                "--static-dir",
                "/nonexistent-ccc-dist",
                "--upstream-timeout-ms",
                "1000",
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
        .pool_max_idle_per_host(args.agents + 16)
        .timeout(STUCK_AFTER)
        .build()
        .unwrap();
    wait_healthy(&http, &format!("{base}/healthz")).await;
    wait_healthy(&http, &format!("{sim_url}/_sim/agents")).await;

    let agents: Vec<String> = (1..=args.agents)
        .map(|i| format!("agent{i:05}@ccc-demo"))
        .collect();
    let ready: Vec<Value> = agents
        .iter()
        .map(|a| json!({"userId": a, "state": "READY"}))
        .collect();
    admin(&http, &sim_url, "POST", "/agents/states", json!(ready)).await;

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for (i, agent) in agents.iter().enumerate() {
        clients.push(tokio::spawn(client(
            http.clone(),
            base.clone(),
            i,
            agent.clone(),
            tally.clone(),
            stop.clone(),
        )));
    }
    let pid = proxy.child.id();
    // Let every client take its first snapshot before measuring.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_start = ccc_e2e::rss_kib(pid);
    println!(
        "soak: {} agents, {} s, {} changes/agent/min; proxy pid {pid}, RSS {} MiB",
        args.agents,
        args.secs,
        args.changes_per_agent_minute,
        rss_start / 1024
    );

    let total = Duration::from_secs(args.secs);
    let started = Instant::now();
    let phases: [(f64, &str, Option<Value>, Option<u32>); 6] = [
        (0.20, "clean", None, None),
        (
            0.35,
            "CCC 5xx on 20% of calls",
            Some(json!({"errorRate": 0.2})),
            None,
        ),
        (
            0.45,
            "latency 1.5 s (> 1 s upstream timeout)",
            Some(json!({"latencyMs": 1500})),
            None,
        ),
        (
            0.60,
            "20% of connections dropped",
            Some(json!({"dropRate": 0.2})),
            None,
        ),
        (
            0.75,
            "account quota 100 QPS (Throttling.User)",
            None,
            Some(100),
        ),
        (1.00, "clean (recovery)", None, None),
    ];
    let changes_per_sec = args.agents as f64 * args.changes_per_agent_minute / 60.0;
    let mut rss_mid = 0;
    let mut phase_idx = usize::MAX;
    let mut next_agent = 0usize;
    let mut carry = 0.0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut phase_stats: Vec<(String, u64)> = Vec::new();
    let mut phase_errors_at_start = 0;
    while started.elapsed() < total {
        tick.tick().await;
        let share = started.elapsed().as_secs_f64() / total.as_secs_f64();
        let idx = phases.iter().position(|p| share < p.0).unwrap_or(5);
        if idx != phase_idx {
            let errors_now = error_count(&tally);
            if phase_idx != usize::MAX {
                phase_stats.push((
                    phases[phase_idx].1.to_owned(),
                    errors_now - phase_errors_at_start,
                ));
            }
            phase_errors_at_start = errors_now;
            phase_idx = idx;
            let (_, name, faults, quota) = &phases[idx];
            tally
                .faulty
                .store(faults.is_some() || quota.is_some(), Ordering::Relaxed);
            println!("  t={:>4} s  phase: {name}", started.elapsed().as_secs());
            match faults {
                Some(f) => admin(&http, &sim_url, "PUT", "/faults", f.clone()).await,
                None => admin(&http, &sim_url, "DELETE", "/faults", json!({})).await,
            };
            admin(&http, &sim_url, "PUT", "/quota", json!({"qpsLimit": quota})).await;
        }
        if rss_mid == 0 && share >= 0.5 {
            rss_mid = ccc_e2e::rss_kib(pid);
        }
        // This second's changes: READY <-> BREAK, round robin.
        carry += changes_per_sec;
        let n = carry.floor() as usize;
        carry -= n as f64;
        let mut batch = Vec::new();
        let now = Instant::now();
        {
            let mut pending = tally.pending.lock().unwrap();
            for _ in 0..n {
                let i = next_agent % agents.len();
                next_agent += 1;
                if pending.contains_key(&i) {
                    continue;
                }
                let to = if (next_agent / agents.len()).is_multiple_of(2) {
                    "BREAK"
                } else {
                    "READY"
                };
                pending.insert(i, (to.to_owned(), now));
                batch.push(json!({"userId": agents[i], "state": to, "breakCode": "lunch"}));
            }
        }
        if !batch.is_empty() {
            admin(&http, &sim_url, "POST", "/agents/states", json!(batch)).await;
        }
    }
    phase_stats.push((
        phases[phase_idx].1.to_owned(),
        error_count(&tally) - phase_errors_at_start,
    ));
    let rss_end = ccc_e2e::rss_kib(pid);
    stop.store(true, Ordering::Relaxed);
    admin(&http, &sim_url, "DELETE", "/faults", json!({})).await;
    // Long-polls answer within WAIT_SECS; the clients stop after that.
    for c in clients {
        let _ = tokio::time::timeout(STUCK_AFTER, c).await;
    }
    let waiters = metric(&http, &base, "ccc_proxy_longpoll_waiters").await;

    let mut fresh = tally.freshness.lock().unwrap().clone();
    let clean: Vec<u64> = fresh.iter().filter(|f| f.1).map(|f| f.0).collect();
    fresh.sort_unstable();
    let all: Vec<u64> = fresh.iter().map(|f| f.0).collect();
    let unseen = tally.pending.lock().unwrap().len();
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| long-poll answers | {} |",
        tally.answers.load(Ordering::Relaxed)
    );
    let errors = tally.errors.lock().unwrap().clone();
    let mut codes: Vec<_> = errors.into_iter().collect();
    codes.sort_unstable();
    let codes: Vec<String> = codes.iter().map(|(c, n)| format!("{c}: {n}")).collect();
    println!(
        "| errors seen by clients | {} ({}) + {} transport |",
        error_count(&tally),
        codes.join(", "),
        tally.transport_errors.load(Ordering::Relaxed)
    );
    for (name, errs) in &phase_stats {
        println!("| · during {name} | {errs} |");
    }
    println!(
        "| stuck long-polls (> {} s) | {} |",
        STUCK_AFTER.as_secs(),
        tally.stuck.load(Ordering::Relaxed)
    );
    println!("| waiters left after clients stopped | {waiters} |");
    println!(
        "| state changes seen / not seen | {} / {unseen} |",
        all.len()
    );
    println!(
        "| freshness p50 / p99, whole run | {} / {} ms |",
        pct(&all, 0.50),
        pct(&all, 0.99)
    );
    let mut clean = clean;
    clean.sort_unstable();
    println!(
        "| freshness p50 / p99, clean phases | {} / {} ms |",
        pct(&clean, 0.50),
        pct(&clean, 0.99)
    );
    println!(
        "| proxy RSS start / middle / end | {} / {} / {} MiB |",
        rss_start / 1024,
        rss_mid / 1024,
        rss_end / 1024
    );
}

fn error_count(t: &Tally) -> u64 {
    t.errors.lock().unwrap().values().sum()
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// One agent's browser: long-polls, backs off 1 s after an error (as the
/// widget does, roughly), records what it sees.
async fn client(
    http: reqwest::Client,
    base: String,
    index: usize,
    agent: String,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) {
    let mut since: Option<i64> = None;
    while !stop.load(Ordering::Relaxed) {
        let url = match since {
            Some(s) => format!("{base}/api/v1/agent?since={s}&wait={WAIT_SECS}"),
            None => format!("{base}/api/v1/agent"),
        };
        let started = Instant::now();
        let res = http
            .get(url)
            .header("x-forwarded-user", &agent)
            .header("x-ccc-device-id", format!("soak-{index}"))
            .send()
            .await;
        let res = match res {
            Ok(r) => r,
            Err(e) => {
                if e.is_timeout() || started.elapsed() >= STUCK_AFTER {
                    tally.stuck.fetch_add(1, Ordering::Relaxed);
                } else {
                    tally.transport_errors.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status != 200 {
            *tally.errors.lock().unwrap().entry(status).or_default() += 1;
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        tally.answers.fetch_add(1, Ordering::Relaxed);
        since = body["contextId"].as_i64();
        let state = body["agent"]["state"].as_str().unwrap_or_default();
        let mut pending = tally.pending.lock().unwrap();
        if let Some((want, at)) = pending.get(&index) {
            if want == state {
                let ms = at.elapsed().as_millis() as u64;
                let clean = !tally.faulty.load(Ordering::Relaxed);
                tally.freshness.lock().unwrap().push((ms, clean));
                pending.remove(&index);
            }
        }
    }
}

async fn wait_healthy(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{url} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn admin(http: &reqwest::Client, sim: &str, method: &str, path: &str, body: Value) {
    let url = format!("{sim}/_sim{path}");
    let req = match method {
        "PUT" => http.put(url),
        "DELETE" => http.delete(url),
        _ => http.post(url),
    };
    match req
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => println!("  admin {path}: {}", r.status()),
        Err(e) => println!("  admin {path}: {e}"),
    }
}

async fn metric(http: &reqwest::Client, base: &str, name: &str) -> f64 {
    let text = match http.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => return f64::NAN,
    };
    ccc_e2e::metric_sum(&text, name)
}
