//! `ccc-sim`: the CCC 2020-07-01 OpenAPI simulator as a program.

use std::net::SocketAddr;
use std::path::PathBuf;

use ccc_sim::{spawn, SimConfig};
use clap::Parser;

/// Simulator of the Alibaba Cloud Contact Center (CCC 2020-07-01) OpenAPI
/// endpoint: signed RPC requests (V1 HMAC-SHA1 and V3 ACS3-HMAC-SHA256), the
/// agent state machine, inbound calls and fault injection through the admin
/// API under /_sim/. Without --config it serves the demo instance `ccc-demo`
/// (agent1, agent2, agent3, supervisor) and accepts the demo key pair
/// LTAI-demo-access-key / demo-secret-do-not-use-in-production.
#[derive(Debug, Parser)]
#[command(name = "ccc-sim", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "CCC_SIM_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,

    /// TOML configuration (instances, agents, key pairs, timings); see
    /// crates/ccc-sim/sim.example.toml. Replaces the demo instance and key.
    #[arg(long, env = "CCC_SIM_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    /// An extra accepted AccessKeyId (needs --access-key-secret).
    #[arg(long, env = "CCC_SIM_ACCESS_KEY_ID", requires = "access_key_secret")]
    access_key_id: Option<String>,

    /// The AccessKeySecret of --access-key-id (prefer the environment
    /// variable; it is never logged).
    #[arg(
        long,
        env = "CCC_SIM_ACCESS_KEY_SECRET",
        hide_env_values = true,
        requires = "access_key_id"
    )]
    access_key_secret: Option<String>,

    /// Demo mode: every N seconds ring a READY agent with an inbound call
    /// that is answered after --auto-answer-ms (default 3000) and hung up by
    /// the customer after --demo-talk-ms.
    #[arg(long, env = "CCC_SIM_DEMO_CALLS", value_name = "SECONDS")]
    demo_calls: Option<u64>,

    /// Answer every ringing call automatically after this many ms
    /// (default: calls ring until answered or timed out).
    #[arg(long, env = "CCC_SIM_AUTO_ANSWER_MS", value_name = "MS")]
    auto_answer_ms: Option<u64>,

    /// After-call work: WORKING lasts this long before READY [default: 15000].
    #[arg(long, env = "CCC_SIM_AFTER_CALL_MS", value_name = "MS")]
    after_call_ms: Option<u64>,

    /// Unanswered ringing becomes BREAK/RingingTimeout after this long
    /// [default: 30000].
    #[arg(long, env = "CCC_SIM_RINGING_TIMEOUT_MS", value_name = "MS")]
    ringing_timeout_ms: Option<u64>,

    /// How long a demo call talks before the customer hangs up [default: 30000].
    #[arg(long, env = "CCC_SIM_DEMO_TALK_MS", value_name = "MS")]
    demo_talk_ms: Option<u64>,

    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "CCC_SIM_LOG", default_value = "info")]
    log_level: tracing::Level,
}

impl Args {
    fn config(&self) -> Result<SimConfig, ccc_sim::SimError> {
        let mut config = match &self.config {
            Some(path) => SimConfig::from_toml_file(path)?,
            None => SimConfig::demo(),
        };
        if let (Some(id), Some(secret)) = (&self.access_key_id, &self.access_key_secret) {
            config = config.with_access_key(id, secret);
        }
        let t = &mut config.timings;
        if self.demo_calls.is_some() {
            t.demo_calls_secs = self.demo_calls;
        }
        if self.auto_answer_ms.is_some() {
            t.auto_answer_ms = self.auto_answer_ms;
        }
        if let Some(ms) = self.after_call_ms {
            t.after_call_ms = ms;
        }
        if let Some(ms) = self.ringing_timeout_ms {
            t.ringing_timeout_ms = ms;
        }
        if let Some(ms) = self.demo_talk_ms {
            t.demo_talk_ms = ms;
        }
        config.validate()?;
        Ok(config)
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_max_level(args.log_level)
        .with_target(false)
        .init();
    let config = match args.config() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let key_ids: Vec<String> = config.access_keys().into_iter().map(|(id, _)| id).collect();
    tracing::info!(
        ?key_ids,
        agents = config.agents().len(),
        "configuration loaded"
    );
    let sim = match spawn(config, args.listen).await {
        Ok(sim) => sim,
        Err(e) => {
            tracing::error!("{e}");
            return std::process::ExitCode::from(1);
        }
    };
    tracing::info!(endpoint = sim.endpoint(), "ready; admin API under /_sim/");
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
    sim.shutdown().await;
    std::process::ExitCode::SUCCESS
}
