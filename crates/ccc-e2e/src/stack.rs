//! The product as `make run` starts it, on loopback ports chosen by the OS:
//! the CCC simulator (with short timings so calls move quickly in tests) and
//! the proxy in demo-auth mode serving the release widget from `dist/`.

use std::{path::PathBuf, time::Duration};

use ccc_proxy::identity::DemoAgent;
use ccc_sim::{RunningSim, SimConfig};
use ccc_testkit::ServedProxy;
use serde_json::Value;

/// Knobs for a test stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// WORKING → READY after a call.
    pub after_call_ms: u64,
    /// Unanswered ringing → BREAK / RingingTimeout.
    pub ringing_timeout_ms: u64,
    /// Proxy `--auth` mode: `demo` (sign-in page and cookie) or `header`
    /// (`X-Forwarded-User` from loopback).
    pub auth: &'static str,
    /// The proxy's upstream PollUserStatus interval.
    pub poll_interval_ms: u64,
    /// Extra proxy flags.
    pub proxy_flags: Vec<String>,
    /// What the proxy serves (default: the release widget in `dist/`).
    pub static_dir: Option<PathBuf>,
    /// Turn the softphone relay on, to the simulator's SIP server
    /// (`--sip-upstream ws://<simulator>/`).
    pub softphone: bool,
    /// The simulator's `[softphone]` configuration (default: its own).
    pub sim_softphone: Option<ccc_sim::softphone::SoftphoneConfig>,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            after_call_ms: 1_500,
            ringing_timeout_ms: 30_000,
            auth: "demo",
            poll_interval_ms: 250,
            proxy_flags: Vec::new(),
            static_dir: None,
            softphone: false,
            sim_softphone: None,
        }
    }
}

/// A running simulator + proxy.
#[derive(Debug)]
pub struct Stack {
    /// The simulator (its admin API is at `sim.endpoint()/_sim/...`).
    pub sim: RunningSim,
    /// The proxy's base URL, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    http: reqwest::Client,
    proxy: Option<ServedProxy>,
}

impl Stack {
    /// Starts the simulator and the proxy (demo sign-in, widget from `dist/`).
    pub async fn start(opts: StackOptions) -> Stack {
        let mut sim_config = SimConfig::demo();
        sim_config.timings.after_call_ms = opts.after_call_ms;
        sim_config.timings.ringing_timeout_ms = opts.ringing_timeout_ms;
        sim_config.timings.demo_calls_secs = None;
        if let Some(softphone) = &opts.sim_softphone {
            sim_config.softphone = softphone.clone();
        }
        let agents: Vec<DemoAgent> = sim_config.agents().into_iter().map(Into::into).collect();
        let sim = ccc_testkit::spawn_sim(sim_config).await;

        let dist = opts
            .static_dir
            .clone()
            .unwrap_or_else(|| crate::workspace_root().join("dist"));
        let mut argv: Vec<String> = [
            "--auth",
            opts.auth,
            "--endpoint",
            &sim.endpoint(),
            "--instance-id",
            "ccc-demo",
            "--static-dir",
            dist.to_str().unwrap(),
            "--poll-interval-ms",
            &opts.poll_interval_ms.to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        argv.extend(opts.proxy_flags.iter().cloned());
        if opts.softphone {
            let sip = sim.endpoint().replacen("http://", "ws://", 1);
            argv.extend([
                "--sip-upstream".to_owned(),
                format!("{}/", sip.trim_end_matches('/')),
            ]);
        }
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let config = ccc_testkit::proxy_config(&argv);
        let demo_agents = (opts.auth == "demo").then_some(agents);
        let proxy = ccc_testkit::serve_proxy(config, demo_agents).await;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let stack = Stack {
            sim,
            base: proxy.base.clone(),
            http,
            proxy: Some(proxy),
        };
        crate::eventually(
            "the proxy to answer /healthz",
            Duration::from_secs(10),
            || {
                let url = stack.url("/healthz");
                let http = stack.http.clone();
                async move {
                    match http.get(&url).send().await {
                        Ok(r) if r.status().is_success() => Ok(()),
                        Ok(r) => Err(format!("status {}", r.status())),
                        Err(e) => Err(e.to_string()),
                    }
                }
            },
        )
        .await;
        stack
    }

    /// `base + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Calls the simulator's admin API and returns the JSON answer.
    pub async fn admin(&self, method: &str, path: &str, body: Value) -> Value {
        let admin_path = path.strip_prefix("/_sim").unwrap_or(path);
        ccc_testkit::sim_admin(&self.http, &self.sim.endpoint(), method, admin_path, &body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Rings `user_id` with an inbound call from `caller`; returns the job id.
    pub async fn ring(&self, user_id: &str, caller: &str) -> String {
        let v = self
            .admin(
                "POST",
                "/_sim/calls",
                serde_json::json!({"userId": user_id, "caller": caller}),
            )
            .await;
        v["jobId"].as_str().expect("jobId in answer").to_owned()
    }

    /// Stops the proxy and the simulator.
    pub async fn stop(mut self) {
        if let Some(proxy) = self.proxy.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), proxy.stop()).await;
        }
        self.sim.shutdown().await;
    }
}
