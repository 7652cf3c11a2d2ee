//! `make soak`: many simulated agents long-polling through a release proxy
//! for minutes, with state changes made "elsewhere" (the simulator's admin
//! API) and injected upstream faults. It prints what the agents' browsers
//! would have suffered: errors, stuck long-polls, how fresh the state was,
//! and whether the proxy's memory stays flat.
//!
//! The proxies and the simulator run as separate processes (the release
//! binaries next to this one), so each proxy's RSS is its own. Events are on
//! (the simulator's webhook posts to replica 0's `/ccc/events`), with the
//! default fleet budget of 20 CCC calls/s. With `--replicas` above 1 (the
//! default is 2) the replicas share a `redis-server` the soak starts, and
//! each browser long-polls "its" replica, moving to the next while that one
//! is gone and back when it returns (as behind a load balancer).
//!
//! Phases (as shares of `--secs`): clean; CCC answering 5xx to 20 % of
//! calls; latency above the upstream timeout; 20 % of connections dropped;
//! throttling by an account quota; clean again (recovery). With replicas,
//! two faults more: halfway the last replica is killed with SIGKILL (and
//! started again at 55 %), and at 80 % Redis is killed and restarted empty
//! at 82 %.
//!
//! Checks printed at the end: 0 lost state changes, 0 stuck long-polls,
//! and each replica's RSS sampled over time, written to
//! `artifacts/soak-rss.csv` with a plot in `artifacts/soak-rss.svg`.

// Printing figures is this binary's whole job.
#![allow(clippy::print_stdout)]

use std::{
    collections::HashMap,
    path::PathBuf,
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use ccc_e2e::load::{admin, pct, sibling, wait_healthy, KillOnDrop};
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
    /// Proxy replicas; above 1 they share a redis-server (and the run gets
    /// a replica kill -9 and a Redis restart).
    #[arg(long, default_value_t = 2)]
    replicas: usize,
    /// Seconds between RSS samples (default: a hundredth of the run, 2 to 30 s).
    #[arg(long)]
    sample_secs: Option<u64>,
    /// Where the RSS CSV and plot go.
    #[arg(long, default_value = "artifacts")]
    out: PathBuf,
}

/// CCC's webhook deliveries to the proxy (events on, as in production).
const EVENTS_TOKEN: &str = "soak-events-token-0123456789abcdef";
/// Long-poll wait the clients ask for.
const WAIT_SECS: u64 = 25;
/// A long-poll not answered within wait + this is stuck.
const STUCK_AFTER: Duration = Duration::from_secs(WAIT_SECS + 15);

/// A child process killed (and reaped) when dropped.
/// One proxy replica of the soak (killed on drop).
fn start_proxy(port: u16, sim_url: &str, redis_url: Option<&str>) -> KillOnDrop {
    let mut cmd = Command::new(sibling("ccc-proxy"));
    cmd.args([
        "--endpoint",
        sim_url,
        "--instance-id",
        "ccc-demo",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--auth",
        "header",
        "--static-dir",
        "/nonexistent-ccc-dist",
        "--upstream-timeout-ms",
        "1000",
    ]);
    if let Some(url) = redis_url {
        cmd.args(["--redis-url", url]);
    }
    // SOAK_PROXY_LOG_DIR=dir keeps each replica's log (RUST_LOG, default
    // `error`) in dir/proxy-<port>.log.
    let log = std::env::var("SOAK_PROXY_LOG_DIR")
        .ok()
        .and_then(|d| std::fs::File::create(format!("{d}/proxy-{port}.log")).ok());
    KillOnDrop {
        child: cmd
            .env("CCC_EVENTS_TOKEN", EVENTS_TOKEN)
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", KEY_SECRET)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdout(log.map_or_else(Stdio::null, Stdio::from))
            .spawn()
            .expect("start ccc-proxy (build it: make soak)"),
    }
}

/// The replicas' base URLs (`None` while one is down).
type Bases = Arc<Mutex<Vec<Option<String>>>>;

/// One RSS sample of one replica.
struct Sample {
    secs: f64,
    replica: usize,
    rss_kib: u64,
    agents_held: f64,
    phase: String,
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
    let replicas = args.replicas.max(1);
    let ports: Vec<u16> = (0..replicas).map(|_| ccc_e2e::free_port()).collect();
    let sim_url = format!("http://127.0.0.1:{sim_port}");
    let base = format!("http://127.0.0.1:{}", ports[0]);
    let redis_port = ccc_e2e::free_port();
    let mut redis = (replicas > 1).then(|| {
        ccc_testkit::Redis::start(redis_port)
            .expect("start redis-server (scripts/setup.sh installs it)")
    });
    if let Some(r) = &redis {
        r.ready().await;
    }
    let redis_url = redis.as_ref().map(ccc_testkit::Redis::url);

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
    let mut proxies: Vec<Option<KillOnDrop>> = ports
        .iter()
        .map(|p| Some(start_proxy(*p, &sim_url, redis_url.as_deref())))
        .collect();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.agents + 16)
        .timeout(STUCK_AFTER)
        .build()
        .unwrap();
    for p in &ports {
        wait_healthy(&http, &format!("http://127.0.0.1:{p}/healthz")).await;
    }
    wait_healthy(&http, &format!("{sim_url}/_sim/agents")).await;
    let bases: Bases = Arc::new(Mutex::new(
        ports
            .iter()
            .map(|p| Some(format!("http://127.0.0.1:{p}")))
            .collect(),
    ));

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
            bases.clone(),
            i,
            agent.clone(),
            tally.clone(),
            stop.clone(),
        )));
    }
    let pids: Arc<Mutex<Vec<Option<u32>>>> = Arc::new(Mutex::new(
        proxies
            .iter()
            .map(|p| p.as_ref().map(|p| p.child.id()))
            .collect(),
    ));
    let pid = proxies[0].as_ref().map_or(0, |p| p.child.id());
    // Let every client take its first snapshot before measuring.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_start = ccc_e2e::rss_kib(pid);
    println!(
        "soak: {} agents, {} s, {} changes/agent/min, {replicas} replica(s){}; replica 0 pid {pid}, RSS {} MiB",
        args.agents,
        args.secs,
        args.changes_per_agent_minute,
        if redis.is_some() { " on redis" } else { "" },
        rss_start / 1024
    );
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let phase_now: Arc<Mutex<String>> = Arc::new(Mutex::new("clean".to_owned()));
    let sample_every =
        Duration::from_secs(args.sample_secs.unwrap_or(args.secs / 100).clamp(2, 30));

    let total = Duration::from_secs(args.secs);
    let started = Instant::now();
    let sampler = tokio::spawn(sample_rss(
        http.clone(),
        bases.clone(),
        pids.clone(),
        samples.clone(),
        phase_now.clone(),
        started,
        sample_every,
    ));
    // Fleet faults (with replicas): (share, what), each once.
    let mut fleet_faults: Vec<(f64, &str)> = if replicas > 1 {
        vec![
            (0.50, "kill -9 of the last replica"),
            (0.55, "the killed replica starts again"),
            (0.80, "Redis killed"),
            (0.82, "Redis restarted empty"),
        ]
    } else {
        Vec::new()
    };
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
            (*name).clone_into(&mut phase_now.lock().unwrap());
            match faults {
                Some(f) => admin(&http, &sim_url, "PUT", "/faults", f.clone()).await,
                None => admin(&http, &sim_url, "DELETE", "/faults", json!({})).await,
            };
            admin(&http, &sim_url, "PUT", "/quota", json!({"qpsLimit": quota})).await;
        }
        if rss_mid == 0 && share >= 0.5 {
            rss_mid = ccc_e2e::rss_kib(pid);
        }
        while fleet_faults.first().is_some_and(|(at, _)| share >= *at) {
            let (_, what) = fleet_faults.remove(0);
            println!("  t={:>4} s  fault: {what}", started.elapsed().as_secs());
            let last = replicas - 1;
            match what {
                "kill -9 of the last replica" => {
                    bases.lock().unwrap()[last] = None;
                    pids.lock().unwrap()[last] = None;
                    // SIGKILL (Child::kill) and reaped, by dropping it.
                    proxies[last] = None;
                }
                "the killed replica starts again" => {
                    let p = start_proxy(ports[last], &sim_url, redis_url.as_deref());
                    pids.lock().unwrap()[last] = Some(p.child.id());
                    proxies[last] = Some(p);
                    let url = format!("http://127.0.0.1:{}", ports[last]);
                    wait_healthy(&http, &format!("{url}/healthz")).await;
                    bases.lock().unwrap()[last] = Some(url);
                }
                "Redis killed" => {
                    if let Some(r) = redis.as_mut() {
                        r.kill();
                    }
                }
                _ => {
                    redis =
                        Some(ccc_testkit::Redis::start(redis_port).expect("redis-server restarts"));
                    if let Some(r) = &redis {
                        r.ready().await;
                    }
                }
            }
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
    sampler.abort();
    stop.store(true, Ordering::Relaxed);
    admin(&http, &sim_url, "DELETE", "/faults", json!({})).await;
    // Long-polls answer within WAIT_SECS; the clients stop after that.
    for c in clients {
        let _ = tokio::time::timeout(STUCK_AFTER, c).await;
    }
    let mut waiters = 0.0;
    let live: Vec<String> = bases.lock().unwrap().iter().flatten().cloned().collect();
    for b in &live {
        waiters += metric(&http, b, "ccc_proxy_longpoll_waiters").await;
    }

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
        "| proxy RSS start / middle / end (replica 0) | {} / {} / {} MiB |",
        rss_start / 1024,
        rss_mid / 1024,
        rss_end / 1024
    );
    let samples = std::mem::take(&mut *samples.lock().unwrap());
    let rss = RssDrift::of(&samples, args.secs as f64, replicas > 1);
    if let Some(r) = &rss {
        println!(
            "| replica 0 RSS from 1/6 of the run: first / last / min / max | {} / {} / {} / {} MiB (last {:+.1} %, range {:+.1} % … {:+.1} %) |",
            r.first / 1024,
            r.last / 1024,
            r.min / 1024,
            r.max / 1024,
            r.pct(r.last),
            r.pct(r.min),
            r.pct(r.max)
        );
        if let Some(peak) = r.failover_max {
            println!(
                "| · its peak while it served the killed replica's browsers too (50–60 %) | {} MiB ({:+.1} %) |",
                peak / 1024,
                r.pct(peak)
            );
        }
    }
    match write_rss(&args.out, &samples) {
        Ok((csv, svg)) => println!(
            "| RSS over time | {} and {} |",
            csv.display(),
            svg.display()
        ),
        Err(e) => println!("| RSS over time | not written: {e} |"),
    }
    let stuck = tally.stuck.load(Ordering::Relaxed);
    println!();
    if let Some(r) = &rss {
        // The last sample lies between min and max.
        let within = r.pct(r.min).abs() <= 5.0 && r.pct(r.max).abs() <= 5.0;
        println!(
            "check: replica 0 RSS within ±5 % of its value at 1/6 of the run, at equal load: {}",
            if within { "ok" } else { "FAILED" }
        );
    }
    println!(
        "check: lost state changes {unseen} (want 0): {}",
        if unseen == 0 { "ok" } else { "FAILED" }
    );
    println!(
        "check: stuck long-polls {stuck} (want 0): {}",
        if stuck == 0 { "ok" } else { "FAILED" }
    );
}

/// Replica 0's RSS from a sixth of the run on (as "minute 10 to minute
/// 60" of an hour). With replicas, the window where replica 0 also serves
/// the killed replica's browsers (50 % to 60 % of the run: the kill, the
/// restart at 55 % and the browsers' return) is reported apart: memory
/// follows the watched agents, and those are twice as many then.
#[derive(Debug)]
struct RssDrift {
    first: u64,
    last: u64,
    min: u64,
    max: u64,
    failover_max: Option<u64>,
}

impl RssDrift {
    fn of(samples: &[Sample], secs: f64, failover: bool) -> Option<Self> {
        let failing = |t: f64| failover && (0.5..0.6).contains(&(t / secs));
        let settled: Vec<&Sample> = samples
            .iter()
            .filter(|s| s.replica == 0 && s.secs >= secs / 6.0)
            .collect();
        let equal: Vec<u64> = settled
            .iter()
            .filter(|s| !failing(s.secs))
            .map(|s| s.rss_kib)
            .collect();
        Some(RssDrift {
            first: *equal.first()?,
            last: *equal.last()?,
            min: *equal.iter().min()?,
            max: *equal.iter().max()?,
            failover_max: settled
                .iter()
                .filter(|s| failing(s.secs))
                .map(|s| s.rss_kib)
                .max(),
        })
    }

    /// `v` against the first value, in per cent.
    fn pct(&self, v: u64) -> f64 {
        (v as f64 - self.first as f64) * 100.0 / self.first.max(1) as f64
    }
}

/// Samples every live replica's RSS and `ccc_proxy_agents_held` every
/// `every` until aborted.
async fn sample_rss(
    http: reqwest::Client,
    bases: Bases,
    pids: Arc<Mutex<Vec<Option<u32>>>>,
    samples: Arc<Mutex<Vec<Sample>>>,
    phase: Arc<Mutex<String>>,
    started: Instant,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let live: Vec<(usize, u32, Option<String>)> = {
            let pids = pids.lock().unwrap();
            let bases = bases.lock().unwrap();
            pids.iter()
                .enumerate()
                .filter_map(|(i, p)| p.map(|p| (i, p, bases[i].clone())))
                .collect()
        };
        for (replica, pid, base) in live {
            let agents_held = match base {
                Some(b) => metric(&http, &b, "ccc_proxy_agents_held").await,
                None => f64::NAN,
            };
            samples.lock().unwrap().push(Sample {
                secs: started.elapsed().as_secs_f64(),
                replica,
                rss_kib: ccc_e2e::rss_kib(pid),
                agents_held,
                phase: phase.lock().unwrap().clone(),
            });
        }
    }
}

/// Writes the samples as CSV and as an SVG line per replica (RSS in MiB
/// over seconds); returns both paths.
fn write_rss(dir: &std::path::Path, samples: &[Sample]) -> std::io::Result<(PathBuf, PathBuf)> {
    use std::fmt::Write as _;
    std::fs::create_dir_all(dir)?;
    let mut csv = String::from("secs,replica,rss_kib,agents_held,phase\n");
    for s in samples {
        let _ = writeln!(
            csv,
            "{:.1},{},{},{},{}",
            s.secs, s.replica, s.rss_kib, s.agents_held, s.phase
        );
    }
    let csv_path = dir.join("soak-rss.csv");
    std::fs::write(&csv_path, csv)?;
    let (w, h, pad) = (800.0, 400.0, 50.0);
    let t_max = samples.iter().map(|s| s.secs).fold(1.0, f64::max);
    let mib = |s: &Sample| s.rss_kib as f64 / 1024.0;
    let r_max = samples.iter().map(mib).fold(1.0, f64::max) * 1.1;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <text x=\"{pad}\" y=\"20\">proxy RSS (MiB) over time (s), one line per replica; max {r_max:.0} MiB, {t_max:.0} s</text>\
         <line x1=\"{pad}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\
         <line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{}\" stroke=\"black\"/>",
        h - pad,
        w - pad,
        h - pad,
        h - pad
    );
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
    let replicas = samples.iter().map(|s| s.replica + 1).max().unwrap_or(0);
    for r in 0..replicas {
        let points: Vec<String> = samples
            .iter()
            .filter(|s| s.replica == r)
            .map(|s| {
                let x = pad + s.secs / t_max * (w - 2.0 * pad);
                let y = h - pad - mib(s) / r_max * (h - 2.0 * pad);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" fill=\"{}\">replica {r}</text>",
            colours[r % colours.len()],
            points.join(" "),
            w - pad - 80.0,
            pad + 15.0 * r as f64,
            colours[r % colours.len()]
        );
    }
    svg.push_str("</svg>\n");
    let svg_path = dir.join("soak-rss.svg");
    std::fs::write(&svg_path, svg)?;
    Ok((csv_path, svg_path))
}

fn error_count(t: &Tally) -> u64 {
    t.errors.lock().unwrap().values().sum()
}

/// One agent's browser: long-polls, backs off 1 s after an error (as the
/// widget does, roughly), records what it sees.
async fn client(
    http: reqwest::Client,
    bases: Bases,
    index: usize,
    agent: String,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) {
    let mut since: Option<i64> = None;
    while !stop.load(Ordering::Relaxed) {
        // Its own replica, else the next one alive; back home once it is
        // up again (a load balancer's health check).
        let picked = {
            let b = bases.lock().unwrap();
            (0..b.len())
                .map(|k| (index + k) % b.len())
                .find_map(|i| b[i].clone())
        };
        let Some(base) = picked else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
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

async fn metric(http: &reqwest::Client, base: &str, name: &str) -> f64 {
    let text = match http.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => return f64::NAN,
    };
    ccc_e2e::metric_sum(&text, name)
}
