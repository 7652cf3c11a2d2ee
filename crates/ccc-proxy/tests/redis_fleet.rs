//! Redis in production, against a real `redis-server` on free loopback
//! ports: TLS (`rediss://` with `--redis-ca-file`, a throwaway CA made
//! here), views written back after Redis comes back empty, events for an
//! agent held by another replica forwarded instead of dropped, demo
//! sign-out and presence shared by the fleet, and agents nobody watches
//! forgotten.

mod common;

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use axum::http::StatusCode;
use base64::Engine as _;
use ccc_proxy::fleet::{Fleet, FleetMessage, FleetOptions};
use common::{free_port, get, send, Redis, AGENT};
use futures_util::FutureExt as _;

fn redis_installed() -> bool {
    let ok = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok();
    if !ok {
        eprintln!(
            "\n\n!!!!! SKIPPED: redis-server is not installed (scripts/setup.sh installs it) !!!!!\n\n"
        );
    }
    ok
}

/// Waits (polling, bounded) until `cond` holds.
async fn until<F, Fut>(what: &str, secs: u64, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A throwaway CA and a server certificate for 127.0.0.1 it signed, as PEM
/// files in a fresh directory: (dir, ca, cert, key).
fn throwaway_pki() -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let dir = std::env::temp_dir().join(format!(
        "ccc-redis-tls-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.distinguished_name
        .push(DnType::CommonName, "ccc-proxy test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "redis test server");
    let cert = server.signed_by(&key, &issuer).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("redis.pem"),
        dir.join("redis.key"),
    );
    std::fs::write(&paths.0, pem("CERTIFICATE", ca_cert.der())).unwrap();
    std::fs::write(&paths.1, pem("CERTIFICATE", cert.der())).unwrap();
    std::fs::write(&paths.2, pem("PRIVATE KEY", &key.serialize_der())).unwrap();
    (dir, paths.0, paths.1, paths.2)
}

fn config_error(argv: &[&str]) -> String {
    use clap::Parser as _;
    let base = ["ccc-proxy", "--instance-id", "ccc-demo", "--auth", "header"];
    let args =
        ccc_proxy::Args::try_parse_from(base.into_iter().chain(argv.iter().copied())).unwrap();
    match ccc_proxy::Config::from_args(args, |_| Some("x".repeat(20))) {
        Ok(_) => panic!("{argv:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_with_a_ca_file_carries_the_fleet() {
    if !redis_installed() {
        return;
    }
    let (dir, ca, cert, key) = throwaway_pki();
    let port = free_port();
    let redis = Redis::start_tls(port, &cert, &key, &ca).expect("redis-server starts with TLS");
    redis.ready().await;
    let url = redis.url();
    assert!(url.starts_with("rediss://"), "{url}");

    // The fleet over TLS, trusting the CA: plain operations and pub/sub.
    let mut opts = FleetOptions::new("tls-test:", Duration::from_secs(5));
    opts.ca_pem = Some(std::fs::read(&ca).unwrap());
    let fleet = Fleet::with_options(&url, opts).unwrap();
    assert_eq!(fleet.heartbeat().await.unwrap(), 1);
    assert!(fleet.healthy());
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let sub = fleet.spawn_subscriber(tx);
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the TLS subscription comes up");
    assert!(matches!(first, Some(FleetMessage::Resync)), "{first:?}");
    sub.abort();

    // Without the CA the server's certificate is not trusted.
    let public_roots = Fleet::new(&url, "tls-test:", Duration::from_secs(5)).unwrap();
    let err = public_roots
        .heartbeat()
        .await
        .expect_err("an unknown CA is refused");
    assert!(!public_roots.healthy(), "{err}");

    // The flags: a CA file needs rediss://, and must hold a certificate.
    let ca_s = ca.to_str().unwrap();
    let e = config_error(&[
        "--redis-url",
        "redis://127.0.0.1:1/",
        "--redis-ca-file",
        ca_s,
    ]);
    assert!(e.contains("rediss://"), "{e}");
    let e = config_error(&[
        "--redis-url",
        &url,
        "--redis-ca-file",
        key.to_str().unwrap(),
    ]);
    assert!(e.contains("no PEM certificate"), "{e}");
    let missing = dir.join("missing.pem");
    let e = config_error(&[
        "--redis-url",
        &url,
        "--redis-ca-file",
        missing.to_str().unwrap(),
    ]);
    assert!(e.contains("cannot read"), "{e}");
    let e = config_error(&["--redis-ca-file", ca_s]);
    assert!(e.contains("--redis-url"), "{e}");

    // The proxy itself over rediss://: an agent's view lands in Redis.
    let sim = common::sim().await;
    let config = common::config(
        &sim.endpoint(),
        &[
            "--redis-url",
            &url,
            "--redis-ca-file",
            ca_s,
            "--redis-prefix",
            "tls-proxy:",
        ],
    );
    let (router, state) = common::router_from(config, [127, 0, 0, 1]);
    let (s, _, b) = send(&router, get("/api/v1/agent", AGENT)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let mut opts = FleetOptions::new("tls-proxy:", Duration::from_secs(5));
    opts.ca_pem = Some(std::fs::read(&ca).unwrap());
    let reader = Fleet::with_options(&url, opts).unwrap();
    until("the proxy to store the view over TLS", 10, || async {
        matches!(reader.load(AGENT).await, Ok((rev, Some(_))) if rev > 0)
    })
    .await;
    assert!(state.fleet.as_ref().is_some_and(Fleet::healthy));
    state.begin_shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

fn generated(i: usize) -> String {
    format!("agent{:05}@ccc-demo", i + 1)
}

/// Agents nobody watches leave the hub's map (with Redis: after their
/// lease lapses), so memory follows the watched agents, not every agent
/// ever seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_nobody_watches_are_forgotten() {
    if !redis_installed() {
        return;
    }
    const AGENTS: usize = 60;
    const WATCHED: usize = 10;
    let redis = Redis::start(free_port()).expect("redis-server starts");
    redis.ready().await;
    let sim =
        ccc_testkit::spawn_sim(ccc_sim::SimConfig::demo().with_generated_agents(AGENTS)).await;
    let config = common::config(
        &sim.endpoint(),
        &[
            "--redis-url",
            &redis.url(),
            "--poll-idle-secs",
            "1",
            "--lease-ttl-ms",
            "600",
        ],
    );
    let (router, state) = common::router_from(config, [127, 0, 0, 1]);
    let mut versions = Vec::new();
    for i in 0..AGENTS {
        let (s, _, b) = send(&router, get("/api/v1/agent", &generated(i))).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        versions.push(b["contextId"].as_i64().expect("a snapshot"));
    }
    // Every agent had a hub (an idle one may already be forgotten).
    let text = state.metrics.render();
    assert_eq!(
        common::metric(&text, "ccc_proxy_poll_loops_started_total"),
        AGENTS as f64
    );
    // A few agents keep a toolbar open (a long-poll waits for each).
    let polls: Vec<_> = (0..WATCHED)
        .map(|i| {
            let router = router.clone();
            let path = format!("/api/v1/agent?since={}&wait=30", versions[i]);
            tokio::spawn(async move { send(&router, get(&path, &generated(i))).await })
        })
        .collect();
    until("the unwatched agents to be forgotten", 20, || async {
        state.hub.agents_held() == WATCHED
    })
    .await;
    let text = state.metrics.render();
    assert_eq!(
        common::metric(&text, "ccc_proxy_agents_held"),
        WATCHED as f64
    );
    for p in polls {
        p.abort();
    }
    until("every agent to be forgotten", 20, || async {
        state.hub.agents_held() == 0
    })
    .await;
    // Watched again: a fresh hub, a fresh snapshot.
    let (s, _, b) = send(&router, get("/api/v1/agent", &generated(0))).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(b["contextId"].as_i64().is_some(), "{b}");
    assert_eq!(state.hub.agents_held(), 1);
    state.begin_shutdown();
}

const TOKEN: &str = "redis-fleet-events-token";

/// What one waiting browser saw last: (contextId, state, breakCode).
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(i64, String, String)>>>;

/// A browser long-polling `user` through `router` until aborted.
fn waiter(router: axum::Router, user: String, seen: Seen) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut since: Option<i64> = None;
        loop {
            let path = match since {
                Some(s) => format!("/api/v1/agent?since={s}&wait=10"),
                None => "/api/v1/agent".to_owned(),
            };
            let (status, _, b) = send(&router, get(&path, &user)).await;
            if status != StatusCode::OK {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let v = b["contextId"].as_i64().unwrap_or_default();
            let state = b["agent"]["state"].as_str().unwrap_or_default().to_owned();
            let code = b["agent"]["breakCode"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            seen.lock().unwrap().push((v, state, code));
            since = Some(v);
        }
    })
}

async fn everyone_sees(all: &[Seen], state: &str, code: &str, secs: u64) {
    until(&format!("every waiter to see {state}/{code}"), secs, || {
        let behind = all
            .iter()
            .filter(|s| {
                !s.lock()
                    .unwrap()
                    .last()
                    .is_some_and(|(_, st, c)| st == state && c == code)
            })
            .count();
        async move { behind == 0 }
    })
    .await;
}

fn set_all(sim: &ccc_sim::RunningSim, agents: usize, code: &str) {
    for i in 0..agents {
        sim.state()
            .set_agent_state(
                &generated(i),
                &ccc_sim::StateChange {
                    state: ccc_model::UserState::Break,
                    break_code: Some(code.to_owned()),
                },
            )
            .expect("the simulator accepts the change");
    }
}

/// Views stored in Redis under `prefix` for the first `agents` agents.
async fn stored_views(url: &str, prefix: &str, agents: usize) -> usize {
    let Ok(client) = redis::Client::open(url) else {
        return 0;
    };
    let Ok(mut c) = client.get_multiplexed_async_connection().await else {
        return 0;
    };
    let mut n = 0;
    for i in 0..agents {
        let key = format!("{prefix}view:{}", generated(i));
        let exists: bool = redis::cmd("EXISTS")
            .arg(&key)
            .query_async(&mut c)
            .await
            .unwrap_or(false);
        n += usize::from(exists);
    }
    n
}

/// The webhook reaches replica A; the browsers wait on replica B. An
/// event for an agent A does not hold, with no view in Redis, is forwarded
/// to B (not dropped); after Redis restarts empty B writes its views back
/// and every change reaches every browser. Reconciliation is off (an hour),
/// so nothing else could repair a dropped event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_event_is_dropped_around_a_redis_restart() {
    if !redis_installed() {
        return;
    }
    const AGENTS: usize = 40;
    const PREFIX: &str = "restart-test:";
    let port = free_port();
    let mut redis = Redis::start(port).expect("redis-server starts");
    redis.ready().await;
    let url = redis.url();
    let sim =
        ccc_testkit::spawn_sim(ccc_sim::SimConfig::demo().with_generated_agents(AGENTS)).await;
    let flags = [
        "--redis-url",
        url.as_str(),
        "--redis-prefix",
        PREFIX,
        "--events-token",
        TOKEN,
        "--reconcile-secs",
        "3600",
        "--lease-ttl-ms",
        "600",
        "--poll-idle-secs",
        "30",
    ];
    let a = ccc_testkit::serve_proxy(common::config(&sim.endpoint(), &flags), None).await;
    let (b, b_state) = common::router_from(common::config(&sim.endpoint(), &flags), [127, 0, 0, 1]);
    sim.state().set_webhook(Some(
        ccc_sim::WebhookTarget::new(&format!("{}/ccc/events", a.base), Some(TOKEN.to_owned()))
            .unwrap(),
    ));
    set_all(&sim, AGENTS, "warm-up");
    let all: Vec<Seen> = (0..AGENTS).map(|_| Seen::default()).collect();
    let tasks: Vec<_> = all
        .iter()
        .enumerate()
        .map(|(i, s)| waiter(b.clone(), generated(i), s.clone()))
        .collect();
    everyone_sees(&all, "BREAK", "warm-up", 20).await;
    until("B's views in Redis", 10, || {
        stored_views(&url, PREFIX, AGENTS).then(|n| async move { n == AGENTS })
    })
    .await;

    // The stored views are lost (as after a restart, but with both
    // replicas connected): A holds none of these agents, so it forwards.
    {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        for i in 0..AGENTS {
            let _: i64 = redis::cmd("DEL")
                .arg(format!("{PREFIX}view:{}", generated(i)))
                .query_async(&mut c)
                .await
                .unwrap();
        }
    }
    let forwarded = a.state.metrics.ccc_events("forwarded");
    set_all(&sim, AGENTS, "lunch");
    everyone_sees(&all, "BREAK", "lunch", 15).await;
    // Every browser saw the change (above); A forwarded at least those it
    // found no view for (B may already have stored some views again by the
    // time their events came, so the count is not exactly AGENTS).
    let now_forwarded = a.state.metrics.ccc_events("forwarded");
    assert!(
        now_forwarded > forwarded,
        "A forwarded the events it could not apply ({forwarded} → {now_forwarded})"
    );

    // Redis restarts empty: B writes every view back by itself.
    redis.kill();
    let redis = Redis::start(port).expect("redis-server restarts");
    redis.ready().await;
    until("B to write its views back", 20, || {
        stored_views(&url, PREFIX, AGENTS).then(|n| async move { n == AGENTS })
    })
    .await;
    until("both replicas back in the fleet", 20, || async {
        a.state.fleet.as_ref().is_some_and(Fleet::healthy)
            && b_state.fleet.as_ref().is_some_and(Fleet::healthy)
    })
    .await;
    set_all(&sim, AGENTS, "meeting");
    everyone_sees(&all, "BREAK", "meeting", 15).await;
    for s in &all {
        let seen = s.lock().unwrap();
        assert!(
            seen.windows(2).all(|w| w[0].0 <= w[1].0),
            "contextId went backwards: {seen:?}"
        );
    }
    for t in tasks {
        t.abort();
    }
    b_state.begin_shutdown();
    a.state.begin_shutdown();
    drop(redis);
}

fn with_cookie(path: &str, cookie: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::get(path)
        .header("host", "127.0.0.1:8080")
        .header("cookie", cookie)
        .body(axum::body::Body::empty())
        .unwrap()
}

fn cookie_of(h: &axum::http::HeaderMap) -> String {
    let set = h["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

/// A demo sign-out on one replica holds on every replica, including one
/// started after it; a new sign-in works everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_sign_out_holds_on_every_replica() {
    if !redis_installed() {
        return;
    }
    let redis = Redis::start(free_port()).expect("redis-server starts");
    redis.ready().await;
    let dir = std::env::temp_dir().join(format!(
        "ccc-signout-{}-{}",
        std::process::id(),
        free_port()
    ));
    let key = dir.join("cookie.key");
    let url = redis.url();
    let flags = [
        "--redis-url",
        url.as_str(),
        "--redis-prefix",
        "signout-test:",
        "--cookie-key-file",
        key.to_str().unwrap(),
    ];
    let (_sim_a, a) = common::demo_app(&flags).await;
    let (_sim_b, b) = common::demo_app(&flags).await;
    let (s, h, _) = send(&a, common::signin_form("agent3@ccc-demo")).await;
    assert_eq!(s, 303);
    let cookie = cookie_of(&h);
    let (s, _, body) = send(&b, with_cookie("/api/v1/session", &cookie)).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the other replica accepts the cookie: {body}"
    );

    let (s, _, _) = send(&a, with_cookie("/signout", &cookie)).await;
    assert_eq!(s, 303);
    let refused = |router: axum::Router, cookie: String| async move {
        send(&router, with_cookie("/api/v1/session", &cookie))
            .await
            .0
            == StatusCode::UNAUTHORIZED
    };
    until(
        "the other replica to refuse the signed-out cookie",
        10,
        || refused(b.clone(), cookie.clone()),
    )
    .await;
    // A replica that starts later learns it from Redis.
    let (_sim_c, c) = common::demo_app(&flags).await;
    until("a later replica to refuse it too", 10, || {
        refused(c.clone(), cookie.clone())
    })
    .await;

    // Signing in again (on another replica) works everywhere.
    let (_, h, _) = send(&b, common::signin_form("agent3@ccc-demo")).await;
    let fresh = cookie_of(&h);
    for r in [&a, &b, &c] {
        let (s, _, body) = send(r, with_cookie("/api/v1/session", &fresh)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Presence after every replica restarted: the agent's toolbar closed
/// while no replica ran, nobody long-polls any more, and a fresh replica
/// still moves the READY agent after the grace, from the last known
/// watchers in Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_rebuilt_from_the_last_watchers_after_a_restart() {
    if !redis_installed() {
        return;
    }
    let redis = Redis::start(free_port()).expect("redis-server starts");
    redis.ready().await;
    let url = redis.url();
    let sim = common::sim().await;
    let flags = [
        "--redis-url",
        url.as_str(),
        "--redis-prefix",
        "rebuild-test:",
        "--presence-policy",
        "break",
        "--presence-grace-secs",
        "1",
    ];
    let (first, first_state) =
        common::router_from(common::config(&sim.endpoint(), &flags), [127, 0, 0, 1]);
    let ready = common::ready_agent(&first, AGENT).await;
    let since = ready["contextId"].as_i64().unwrap();
    // A toolbar long-polls the first replica while the fleet learns of it.
    let poll = {
        let first = first.clone();
        let path = format!("/api/v1/agent?since={since}&wait=15");
        tokio::spawn(async move { send(&first, get(&path, AGENT)).await })
    };
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    until("the fleet to know the watcher", 10, || {
        let mut c = c.clone();
        async move {
            let score: Option<i64> = redis::cmd("ZSCORE")
                .arg("rebuild-test:watched")
                .arg(AGENT)
                .query_async(&mut c)
                .await
                .unwrap_or(None);
            score.is_some()
        }
    })
    .await;
    // Every replica stops (the toolbar's long-poll ends with it).
    first_state.begin_shutdown();
    let _ = poll.await;
    drop(first);
    assert_eq!(common::ccc_state(&sim, AGENT).await.0, "READY");

    // A fresh replica, and no toolbar ever comes back.
    let (_second, second_state) =
        common::router_from(common::config(&sim.endpoint(), &flags), [127, 0, 0, 1]);
    until("the absent agent to be moved to BREAK/away", 15, || async {
        common::ccc_state(&sim, AGENT).await == ("BREAK".to_owned(), Some("away".to_owned()))
    })
    .await;
    let left: Option<i64> = redis::cmd("ZSCORE")
        .arg("rebuild-test:watched")
        .arg(AGENT)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(left, None, "decided: no longer a watcher to remember");
    second_state.begin_shutdown();
}

/// A lease follows the browsers: while the owner still has a browser of
/// the agent it keeps the lease; once it has none and another replica has
/// one waiting, the lease passes to that replica under a new epoch (the
/// old owner's late writes are fenced). After a replica restart the work
/// spreads back instead of staying where it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_follows_the_browsers_to_another_replica() {
    if !redis_installed() {
        return;
    }
    let mut redis = Redis::start(free_port()).expect("redis-server starts");
    redis.ready().await;
    let replica = || Fleet::new(&redis.url(), "handover:", Duration::from_secs(5)).unwrap();
    let (a, b) = (replica(), replica());
    let agent = || vec![(AGENT.to_owned(), true)];
    let gone = || vec![(AGENT.to_owned(), false)];
    let first = a.leases(&agent()).await.unwrap()[0].expect("A owns the agent");
    let a_id = a.owner(AGENT).await.unwrap().expect("a lease");

    // The agent's browser now waits on B too: A keeps the lease while its
    // own browser is still there.
    assert_eq!(b.leases(&agent()).await.unwrap(), vec![None]);
    assert_eq!(a.leases(&agent()).await.unwrap(), vec![Some(first)]);
    assert_eq!(b.leases(&agent()).await.unwrap(), vec![None]);

    // A's browser is gone: at its renewal A hands the lease to B.
    assert_eq!(a.leases(&gone()).await.unwrap(), vec![None]);
    let b_id = b.owner(AGENT).await.unwrap().expect("a lease");
    assert_ne!(b_id, a_id, "the lease moved to B");
    let second = b.leases(&agent()).await.unwrap()[0].expect("B owns the agent");
    assert!(
        second.epoch > first.epoch,
        "a new epoch fences A's late writes"
    );
    let (rev, _) = b.load(AGENT).await.unwrap();
    assert_eq!(
        a.store(AGENT, rev, &Default::default(), false, Some(first))
            .await
            .unwrap(),
        ccc_proxy::fleet::Cas::Fenced,
        "A's poll that was in flight cannot overwrite B's"
    );

    // With nobody asking for it, an owner without a browser keeps the lease
    // while the agent is watched (no handover to nobody), and B's own
    // renewals do not hand it back.
    assert_eq!(b.leases(&gone()).await.unwrap(), vec![Some(second)]);
    assert_eq!(a.leases(&gone()).await.unwrap(), vec![None]);
    assert_eq!(b.owner(AGENT).await.unwrap(), Some(b_id));
    redis.kill();
}
