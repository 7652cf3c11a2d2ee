//! Three proxy replicas (real `ccc-proxy` processes) on a real
//! `redis-server` that the test starts on a free loopback port, in front of
//! the simulator with a few hundred agents pushing events: one upstream
//! owner per agent, every waiting browser sees every change with a
//! non-decreasing `contextId`, `kill -9` of a replica and a Redis restart
//! both recover, and the fleet's CCC calls stay inside one shared budget
//! while the simulator throttles.

mod common;

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ccc_model::UserState;
use common::{free_port, Redis};
use serde_json::Value;

const AGENTS: usize = 240;
const TOKEN: &str = "replica-events-token-42";
const BUDGET: f64 = 60.0;
const LEASE_TTL_MS: u64 = 1500;

/// Waits (polling, bounded) until `cond` holds.
async fn until<F, Fut>(what: &str, secs: u64, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One `ccc-proxy` process, killed on drop.
struct Replica {
    child: Option<Child>,
    base: String,
}

impl Replica {
    fn start(sim: &str, redis: &str) -> Replica {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_ccc-proxy"))
            .args(["--endpoint", sim, "--instance-id", "ccc-demo"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--auth", "header", "--static-dir", "/nonexistent-ccc-dist"])
            .args(["--redis-url", redis, "--events-token", TOKEN])
            .args(["--lease-ttl-ms", &LEASE_TTL_MS.to_string()])
            .args([
                "--reconcile-secs",
                "2",
                "--upstream-qps",
                &BUDGET.to_string(),
            ])
            .args(["--upstream-timeout-ms", "2000", "--poll-idle-secs", "30"])
            .args(["--rate-limit-per-minute", "600", "--rate-limit-burst", "50"])
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", common::KEY_ID)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", common::KEY_SECRET)
            .env(
                "RUST_LOG",
                std::env::var("REPLICA_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stderr(Stdio::null())
            .stdout(match std::env::var("REPLICA_LOG_DIR") {
                Ok(d) => {
                    Stdio::from(std::fs::File::create(format!("{d}/replica-{port}.log")).unwrap())
                }
                Err(_) => Stdio::null(),
            })
            .spawn()
            .expect("the ccc-proxy binary starts");
        Replica {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn alive(&self) -> bool {
        self.child.is_some()
    }

    /// `kill -9`.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    async fn metric(&self, http: &reqwest::Client, name: &str) -> Option<f64> {
        let text = http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

fn agent(i: usize) -> String {
    format!("agent{:05}@ccc-demo", i + 1)
}

/// What one waiting browser saw: (contextId, state, breakCode).
type Seen = Arc<Mutex<Vec<(i64, String, String)>>>;

async fn get_json(http: &reqwest::Client, url: &str, user: &str) -> Option<Value> {
    let res = http
        .get(url)
        .header("x-forwarded-user", user)
        .header("x-ccc-device-id", "replica-test")
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .ok()?;
    if !res.status().is_success() {
        return None;
    }
    serde_json::from_slice(&res.bytes().await.ok()?).ok()
}

/// A browser long-polling `user` through `bases[home]`, moving to the next
/// replica when its own is gone (as a load balancer would).
fn waiter(
    http: reqwest::Client,
    bases: Arc<Mutex<Vec<Option<String>>>>,
    home: usize,
    user: String,
    seen: Seen,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut since: Option<i64> = None;
        let mut at = home;
        loop {
            let base = {
                let b = bases.lock().unwrap();
                (0..b.len())
                    .map(|k| (at + k) % b.len())
                    .find_map(|i| b[i].clone().map(|u| (i, u)))
            };
            let Some((i, base)) = base else { return };
            at = i;
            let url = match since {
                Some(s) => format!("{base}/api/v1/agent?since={s}&wait=20"),
                None => format!("{base}/api/v1/agent"),
            };
            match get_json(&http, &url, &user).await {
                Some(b) => {
                    let v = b["contextId"].as_i64().unwrap_or_default();
                    let state = b["agent"]["state"].as_str().unwrap_or_default().to_owned();
                    let code = b["agent"]["breakCode"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    seen.lock().unwrap().push((v, state, code));
                    since = Some(v);
                }
                None => {
                    // Connection refused (killed replica) or an error: try again.
                    at += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    })
}

fn last_is(seen: &Seen, state: &str, code: &str) -> bool {
    seen.lock()
        .unwrap()
        .last()
        .is_some_and(|(_, s, c)| s == state && c == code)
}

async fn everyone_sees(all: &[Seen], state: &str, code: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let behind: Vec<usize> = (0..all.len())
            .filter(|&i| !last_is(&all[i], state, code))
            .collect();
        if behind.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} waiters never saw {state}/{code}; e.g. waiter {} of {}: {:?}",
            behind.len(),
            all.len(),
            behind[0],
            agent(behind[0] % AGENTS),
            all[behind[0]]
                .lock()
                .unwrap()
                .iter()
                .rev()
                .take(3)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn set_all(sim: &ccc_sim::RunningSim, state: UserState, code: Option<&str>) {
    for i in 0..AGENTS {
        sim.state()
            .set_agent_state(
                &agent(i),
                &ccc_sim::StateChange {
                    state: state.clone(),
                    break_code: code.map(str::to_owned),
                },
            )
            .expect("the simulator accepts the change");
    }
}

/// Every agent's lease in Redis: owner replica id per agent (None: no lease).
async fn leases(redis_url: &str) -> Vec<Option<String>> {
    let client = redis::Client::open(redis_url).unwrap();
    let Ok(mut c) = client.get_multiplexed_async_connection().await else {
        return vec![None; AGENTS];
    };
    let keys: Vec<String> = (0..AGENTS)
        .map(|i| format!("ccc-proxy:lease:{}", agent(i)))
        .collect();
    let vals: Vec<Option<String>> = redis::cmd("MGET")
        .arg(&keys)
        .query_async(&mut c)
        .await
        .unwrap_or_else(|_| vec![None; AGENTS]);
    vals.into_iter()
        .map(|v| v.and_then(|v| v.rsplit_once(':').map(|(id, _)| id.to_owned())))
        .collect()
}

async fn owned_total(http: &reqwest::Client, replicas: &[Replica]) -> f64 {
    let mut sum = 0.0;
    for r in replicas.iter().filter(|r| r.alive()) {
        sum += r
            .metric(http, "ccc_proxy_owned_agents")
            .await
            .unwrap_or(0.0);
    }
    sum
}

/// Exactly one live owner per agent: every agent has a lease, and the
/// replicas together believe they own exactly that many.
async fn one_owner_each(http: &reqwest::Client, url: &str, replicas: &[Replica], secs: u64) {
    until("exactly one owner per agent", secs, || async {
        let l = leases(url).await;
        let owners: std::collections::HashSet<&String> = l.iter().flatten().collect();
        l.iter().all(Option::is_some)
            && owners.len() <= replicas.iter().filter(|r| r.alive()).count()
            && (owned_total(http, replicas).await - AGENTS as f64).abs() < 0.5
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_agents_survive_failures_and_keep_the_budget() {
    if Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "\n\n!!!!! SKIPPED: redis-server is not installed (scripts/setup.sh installs it) !!!!!\n\n"
        );
        return;
    }
    let redis_port = free_port();
    let mut redis = Redis::start(redis_port).expect("redis-server starts");
    redis.ready().await;
    // Shared secrets (the demo cookie key): the first replica's wins.
    let fleet = |_: ()| {
        ccc_proxy::fleet::Fleet::new(&redis.url(), "ccc-proxy:", Duration::from_secs(5)).unwrap()
    };
    let first = fleet(()).shared_secret("demo-cookie-key", &[1; 32]).await;
    let second = fleet(()).shared_secret("demo-cookie-key", &[2; 32]).await;
    assert_eq!(first, Some(vec![1; 32]));
    assert_eq!(second, first, "a later replica takes the stored key");
    let sim = ccc_sim::spawn(
        ccc_sim::SimConfig::demo().with_generated_agents(AGENTS),
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator starts");
    let mut replicas: Vec<Replica> = (0..3)
        .map(|_| Replica::start(&sim.endpoint(), &redis.url()))
        .collect();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    for r in &replicas {
        let url = format!("{}/healthz", r.base);
        let http = http.clone();
        until("a replica to listen", 30, || {
            let (http, url) = (http.clone(), url.clone());
            async move { http.get(url).send().await.is_ok() }
        })
        .await;
    }
    // The simulator's webhook goes to replica 0 (a load balancer may pick any).
    sim.state().set_webhook(Some(
        ccc_sim::WebhookTarget::new(
            &format!("{}/ccc/events", replicas[0].base),
            Some(TOKEN.to_owned()),
        )
        .unwrap(),
    ));
    set_all(&sim, UserState::Break, Some("Warm-up"));

    // Two browsers per agent on two different replicas.
    let bases = Arc::new(Mutex::new(
        replicas
            .iter()
            .map(|r| Some(r.base.clone()))
            .collect::<Vec<_>>(),
    ));
    let mut all: Vec<Seen> = Vec::new();
    let mut tasks = Vec::new();
    for round in 0..2 {
        for i in 0..AGENTS {
            let seen: Seen = Arc::default();
            tasks.push(waiter(
                http.clone(),
                bases.clone(),
                (i + round) % 3,
                agent(i),
                seen.clone(),
            ));
            all.push(seen);
        }
        everyone_sees(&all, "BREAK", "Warm-up", 40).await;
    }
    one_owner_each(&http, &redis.url(), &replicas, 10).await;

    // Start-up refreshes (events racing the first polls) settle first.
    let polls = || sim.state().stats().calls_of("PollUserStatus");
    let mut last = (polls(), Instant::now());
    until("start-up polling to settle", 20, || {
        let now = polls();
        if now != last.0 {
            last = (now, Instant::now());
        }
        let quiet = last.1.elapsed() >= Duration::from_millis(700);
        async move { quiet }
    })
    .await;
    // A change reaches every waiter, on every replica, without polling.
    let polls_before = sim.state().stats().calls_of("PollUserStatus");
    set_all(&sim, UserState::Break, Some("lunch"));
    everyone_sees(&all, "BREAK", "lunch", 10).await;
    let polls = sim.state().stats().calls_of("PollUserStatus") - polls_before;
    assert!(
        polls <= (AGENTS / 10) as u64,
        "{polls} PollUserStatus for {AGENTS} event-carried changes"
    );

    // kill -9 of a replica: its agents are taken over within the lease TTL
    // plus one renewal, and its browsers reconnect elsewhere.
    replicas[1].kill();
    bases.lock().unwrap()[1] = None;
    let killed = Instant::now();
    one_owner_each(&http, &redis.url(), &replicas, 10).await;
    let takeover = killed.elapsed();
    assert!(
        takeover <= Duration::from_millis(LEASE_TTL_MS * 2 + 1500),
        "takeover took {takeover:?}"
    );
    set_all(&sim, UserState::Ready, None);
    everyone_sees(&all, "READY", "", 15).await;

    // Redis restart: every replica goes on alone (events to replica 0,
    // reconciliation for the others), then rejoins by itself.
    redis.kill();
    set_all(&sim, UserState::Break, Some("meeting"));
    everyone_sees(&all, "BREAK", "meeting", 15).await;
    let redis = Redis::start(redis_port).expect("redis-server restarts");
    redis.ready().await;
    one_owner_each(&http, &redis.url(), &replicas, 15).await;
    set_all(&sim, UserState::Break, Some("training"));
    everyone_sees(&all, "BREAK", "training", 15).await;

    // Every waiter saw non-decreasing versions throughout.
    for s in &all {
        let seen = s.lock().unwrap();
        assert!(
            seen.windows(2).all(|w| w[0].0 <= w[1].0),
            "contextId went backwards: {seen:?}"
        );
    }

    // The simulator throttles at 25 calls/s while every agent needs a
    // refresh at once: the fleet stays inside its one shared budget.
    sim.state().set_qps_limit(Some(25));
    let before = sim.state().stats();
    let t0 = Instant::now();
    // Held (a channel event the toolbar learns through PollUserStatus),
    // stamped a moment after every shown state.
    let ms = ccc_proxy::upstream::now_ms() + 1000;
    let now = format!(
        "{}.{:03}Z",
        ccc_model::signing::format_timestamp(ms / 1000).trim_end_matches('Z'),
        ms % 1000
    );
    let burst: Vec<Value> = (0..AGENTS)
        .map(|i| {
            serde_json::json!({"eventType": "Held", "eventTime": now,
                "instanceId": "ccc-demo", "agentId": agent(i)})
        })
        .collect();
    let res = http
        .post(format!("{}/ccc/events", replicas[2].base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(serde_json::to_string(&burst).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // 240 refreshes: three unshared buckets would let them all out at
    // once; the shared one lets out a second's burst plus 60/s.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = sim.state().stats();
    let secs = t0.elapsed().as_secs_f64();
    let calls = after.total_calls - before.total_calls;
    assert!(
        (calls as f64) <= BUDGET * secs + BUDGET + 5.0,
        "{calls} calls in {secs:.1} s: over the fleet budget of {BUDGET}/s"
    );
    assert!(
        calls >= 20,
        "the refreshes ran ({calls} calls, {} throttled)",
        after.throttled - before.throttled
    );
    for t in tasks {
        t.abort();
    }
}
