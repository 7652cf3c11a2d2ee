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
    assert_eq!(state.hub.agents_held(), AGENTS);
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
