//! Test support shared by the proxy's and the simulator's tests and by the
//! e2e crate's tests and benches, so none of them keeps its own copy:
//!
//! - [`free_port`]: a loopback port free right now.
//! - [`spawn_sim`]: a simulator on `127.0.0.1:0`.
//! - [`proxy_config`]: a proxy [`Config`] from flags, with the simulator's
//!   demo key pair as the credentials.
//! - [`serve_proxy`]: the proxy on a real loopback socket (the bound
//!   address is its public origin), stopped by [`ServedProxy::stop`].
//! - [`Redis`]: a `redis-server` child on a free port, killed on drop.
//! - [`sim_admin`]: one call of the simulator's `/_sim/` admin API.
//! - [`metrics_text`], [`metric_sum`]: the proxy's `/metrics`.
//! - [`kamailio::Kamailio`]: Debian's Kamailio (websocket +
//!   `auth_ephemeral`) on a free port, for the softphone's interop tests.

pub mod kamailio;

use std::{net::SocketAddr, time::Duration};

use ccc_proxy::{identity::DemoAgent, AppState, Args, Config};
use ccc_sim::{RunningSim, SimConfig};
use clap::Parser;
use serde_json::Value;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

/// The demo simulator's access key id.
pub const KEY_ID: &str = "LTAI-demo-access-key";
/// The demo simulator's access key secret.
pub const KEY_SECRET: &str = "demo-secret-do-not-use-in-production";

/// A loopback TCP port free right now (bound to port 0, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The simulator for `config` on `127.0.0.1:0`.
pub async fn spawn_sim(config: SimConfig) -> RunningSim {
    ccc_sim::spawn(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("simulator starts")
}

/// A proxy configuration from `argv` (without the program name), with the
/// demo key pair in the environment it reads credentials from.
pub fn proxy_config(argv: &[&str]) -> Config {
    let args = Args::try_parse_from(std::iter::once("ccc-proxy").chain(argv.iter().copied()))
        .unwrap_or_else(|e| panic!("proxy flags: {e}"));
    Config::from_args(args, |k| match k {
        "ALIBABA_CLOUD_ACCESS_KEY_ID" => Some(KEY_ID.to_owned()),
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET" => Some(KEY_SECRET.to_owned()),
        _ => None,
    })
    .expect("proxy configuration is valid")
}

/// A proxy serving on a loopback socket.
#[derive(Debug)]
pub struct ServedProxy {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The bound address (also the configured public origin).
    pub addr: SocketAddr,
    /// The proxy's state.
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl ServedProxy {
    /// Starts the graceful shutdown and waits for the server to finish.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.expect("the server task ends")
    }

    /// The base URL and the state; the server runs until the state's own
    /// shutdown (`AppState::begin_shutdown`) or the end of the process.
    pub fn detach(mut self) -> (String, AppState) {
        let stop = self.stop.take();
        let task = self.task;
        tokio::spawn(async move {
            let _ = task.await;
            drop(stop);
        });
        (self.base, self.state)
    }

    /// The base URL, the state, and the sender that stops the server (when
    /// sent to or dropped); the server task runs on by itself.
    pub fn into_parts(mut self) -> (String, AppState, oneshot::Sender<()>) {
        let stop = self.stop.take().expect("not stopped yet");
        (self.base, self.state, stop)
    }
}

/// Serves the proxy for `config` on `127.0.0.1:0`; the bound address
/// becomes its `listen` address and so its public origin (Host checks).
pub async fn serve_proxy(mut config: Config, demo_agents: Option<Vec<DemoAgent>>) -> ServedProxy {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("a loopback socket");
    let addr = listener.local_addr().expect("bound address");
    config.listen = addr;
    let state = AppState::new(config, demo_agents).expect("proxy state builds");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(ccc_proxy::serve(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    ServedProxy {
        base: format!("http://{addr}"),
        addr,
        state,
        stop: Some(stop),
        task,
    }
}

/// One call of the simulator's admin API (`/_sim{path}`) with a JSON body:
/// the answer as JSON (`null` when empty), or why it failed.
pub async fn sim_admin(
    http: &reqwest::Client,
    endpoint: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> Result<Value, String> {
    let url = format!("{endpoint}/_sim{path}");
    let req = match method {
        "PUT" => http.put(url),
        "DELETE" => http.delete(url),
        "GET" => http.get(url),
        _ => http.post(url),
    };
    let res = req
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("admin {path}: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("admin {path}: {}", res.status()));
    }
    let text = res.text().await.map_err(|e| format!("admin {path}: {e}"))?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The proxy's `/metrics` text at `base` (empty when unreadable).
pub async fn metrics_text(http: &reqwest::Client, base: &str) -> String {
    match http.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// The sum of every sample of metric `name` (all label sets) in a
/// Prometheus text exposition; 0 when absent.
pub fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A `redis-server` child (Debian's) on a loopback port, no persistence,
/// killed on drop.
#[derive(Debug)]
pub struct Redis {
    child: std::process::Child,
    port: u16,
    /// The CA (PEM) of a TLS-only server ([`Redis::start_tls`]).
    ca_pem: Option<Vec<u8>>,
}

impl Redis {
    /// Starts `redis-server` on `port`; `None` when it cannot run.
    pub fn start(port: u16) -> Option<Redis> {
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        Some(Redis {
            child,
            port,
            ca_pem: None,
        })
    }

    /// Starts `redis-server` speaking only TLS on `port` with the server
    /// certificate `cert`/`key` (PEM files) signed by `ca` (a PEM file);
    /// clients need no certificate. `None` when it cannot run.
    pub fn start_tls(
        port: u16,
        cert: &std::path::Path,
        key: &std::path::Path,
        ca: &std::path::Path,
    ) -> Option<Redis> {
        let ca_pem = std::fs::read(ca).ok()?;
        let child = std::process::Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .arg("--tls-cert-file")
            .arg(cert)
            .arg("--tls-key-file")
            .arg(key)
            .arg("--tls-ca-cert-file")
            .arg(ca)
            .args(["--tls-auth-clients", "no"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        Some(Redis {
            child,
            port,
            ca_pem: Some(ca_pem),
        })
    }

    /// Its `redis://` URL (`rediss://` when started with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}/", self.port)
    }

    fn client(&self) -> redis::RedisResult<redis::Client> {
        match &self.ca_pem {
            Some(ca) => redis::Client::build_with_tls(
                self.url(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(ca.clone()),
                },
            ),
            None => redis::Client::open(self.url()),
        }
    }

    /// Waits (bounded: 10 s) until it answers PING.
    pub async fn ready(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(client) = self.client() {
                if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                    let pong = redis::cmd("PING").query_async::<String>(&mut c).await;
                    if pong.is_ok() {
                        return;
                    }
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for redis-server to answer"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops it now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}
