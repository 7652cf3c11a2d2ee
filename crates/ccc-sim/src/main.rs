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

    /// A dialled customer (MakeCall) answers after this many ms; numbers
    /// ending in 0000 are busy, in 9999 never answer [default: 2000].
    #[arg(long, env = "CCC_SIM_DIAL_ANSWER_MS", value_name = "MS")]
    dial_answer_ms: Option<u64>,

    /// An unanswered outbound attempt is released after this many ms when
    /// MakeCall has no TimeoutSeconds [default: 30000].
    #[arg(long, env = "CCC_SIM_DIAL_TIMEOUT_MS", value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    dial_timeout_ms: Option<u64>,

    /// The account's quota: signed calls per second over all key pairs;
    /// above it (more than N in any one second) calls get 400
    /// Throttling.User [default: no limit].
    #[arg(long, env = "CCC_SIM_QPS_LIMIT", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    qps_limit: Option<u32>,

    /// Add N generated agents (agent00001@<instance>, ...) to the first
    /// instance, for tests and benches.
    #[arg(long, env = "CCC_SIM_AGENTS", value_name = "N")]
    agents: Option<usize>,

    /// Push agent events to this URL (webhook mode of UpdateSubscription),
    /// e.g. http://127.0.0.1:8080/ccc/events. Repeat it (or separate URLs
    /// with commas) to send POSTs to each in turn, like a load balancer in
    /// front of proxy replicas.
    #[arg(
        long,
        env = "CCC_SIM_WEBHOOK_URL",
        value_name = "URL",
        value_delimiter = ','
    )]
    webhook_url: Vec<String>,

    /// Send deliveries with `Authorization: Bearer <TOKEN>` (prefer the
    /// environment variable; it is never logged).
    #[arg(
        long,
        env = "CCC_SIM_WEBHOOK_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    webhook_token: Option<String>,

    /// Tests: share of events never delivered (0..1).
    #[arg(long, env = "CCC_SIM_EVENT_LOSS_RATE", value_name = "RATE")]
    event_loss_rate: Option<f64>,

    /// Tests: share of events delivered twice (0..1).
    #[arg(long, env = "CCC_SIM_EVENT_DUPLICATE_RATE", value_name = "RATE")]
    event_duplicate_rate: Option<f64>,

    /// Tests: share of events delivered after later ones (0..1).
    #[arg(long, env = "CCC_SIM_EVENT_REORDER_RATE", value_name = "RATE")]
    event_reorder_rate: Option<f64>,

    /// Tests: seed of the loss/duplicate/reorder draws (repeatable runs).
    #[arg(long, env = "CCC_SIM_EVENT_SEED", value_name = "SEED")]
    event_seed: Option<u64>,

    /// Softphone (issue 20): the secret behind GetLoginDetails' Signature2
    /// (H1) and GetTurnCredentials [default: random per process]. Prefer
    /// the environment variable; it is never logged.
    #[arg(
        long,
        env = "CCC_SIM_SIP_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    sip_secret: Option<String>,

    /// Softphone: the SipServerUrl GetLoginDetails reports (host:port, no
    /// scheme) [default: the Host the request was sent to, i.e. the
    /// simulator itself, which serves SIP over WebSocket on `/`].
    #[arg(long, env = "CCC_SIM_SIP_SERVER_URL", value_name = "HOST:PORT")]
    sip_server_url: Option<String>,

    /// Softphone: how long UserKey2/Signature2 are valid [default: 86400].
    #[arg(long, env = "CCC_SIM_SIP_CREDENTIAL_SECS", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    sip_credential_secs: Option<u64>,

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
        if self.dial_answer_ms.is_some() {
            t.dial_answer_ms = self.dial_answer_ms;
        }
        if let Some(ms) = self.dial_timeout_ms {
            t.dial_timeout_ms = ms;
        }
        if self.qps_limit.is_some() {
            config.qps_limit = self.qps_limit;
        }
        if let Some(n) = self.agents {
            config = config.with_generated_agents(n);
        }
        let e = &mut config.events;
        if !self.webhook_url.is_empty() {
            e.webhook_url.clone_from(&self.webhook_url);
        }
        if self.webhook_token.is_some() {
            e.webhook_token.clone_from(&self.webhook_token);
        }
        let rates = [
            (&mut e.loss_rate, self.event_loss_rate),
            (&mut e.duplicate_rate, self.event_duplicate_rate),
            (&mut e.reorder_rate, self.event_reorder_rate),
        ];
        for (field, flag) in rates {
            if let Some(rate) = flag {
                *field = rate;
            }
        }
        if self.event_seed.is_some() {
            e.seed = self.event_seed;
        }
        let sip = &mut config.softphone;
        if self.sip_secret.is_some() {
            sip.secret.clone_from(&self.sip_secret);
        }
        if self.sip_server_url.is_some() {
            sip.sip_server_url.clone_from(&self.sip_server_url);
        }
        if let Some(secs) = self.sip_credential_secs {
            sip.credential_validity_secs = secs;
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
        qps_limit = ?config.qps_limit,
        events = ?config.events,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Result<SimConfig, String> {
        let args = Args::try_parse_from(std::iter::once("ccc-sim").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        args.config().map_err(|e| e.to_string())
    }

    #[test]
    fn scale_and_event_flags_reach_the_configuration() {
        let c = config(&[
            "--qps-limit",
            "5",
            "--agents",
            "7",
            "--webhook-url",
            "http://127.0.0.1:9/ccc/events",
            "--webhook-token",
            "t0ken",
            "--event-loss-rate",
            "0.5",
            "--event-reorder-rate",
            "0.1",
            "--event-seed",
            "3",
        ])
        .unwrap();
        assert_eq!(c.qps_limit, Some(5));
        assert_eq!(c.agents().len(), 4 + 7);
        let targets = c.events.targets().unwrap();
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].token(), Some("t0ken"));
        let f = c.events.faults();
        assert_eq!((f.loss_rate, f.reorder_rate, f.seed), (0.5, 0.1, Some(3)));
        let plain = config(&[]).unwrap();
        assert_eq!(plain.qps_limit, None);
        assert!(plain.events.targets().unwrap().is_empty());
        let two = config(&["--webhook-url", "http://127.0.0.1:1/a,http://127.0.0.1:2/b"]).unwrap();
        assert_eq!(two.events.targets().unwrap().len(), 2);
    }

    #[test]
    fn dial_flags_reach_the_timings() {
        let c = config(&["--dial-answer-ms", "250", "--dial-timeout-ms", "4000"]).unwrap();
        assert_eq!(c.timings.dial_answer_ms, Some(250));
        assert_eq!(c.timings.dial_timeout_ms, 4_000);
        let plain = config(&[]).unwrap();
        assert_eq!(plain.timings.dial_answer_ms, Some(2_000));
        assert!(config(&["--dial-timeout-ms", "0"]).is_err());
    }

    #[test]
    fn softphone_flags_reach_the_configuration() {
        let c = config(&[
            "--sip-secret",
            "s3cret",
            "--sip-server-url",
            "sip.example:443",
            "--sip-credential-secs",
            "60",
        ])
        .unwrap();
        assert_eq!(c.softphone.secret.as_deref(), Some("s3cret"));
        assert_eq!(
            c.softphone.sip_server_url.as_deref(),
            Some("sip.example:443")
        );
        assert_eq!(c.softphone.credential_validity_secs, 60);
        assert!(!format!("{c:?}").contains("s3cret"));
        assert_eq!(config(&[]).unwrap().softphone.secret, None);
        assert!(config(&["--sip-credential-secs", "0"]).is_err());
    }

    #[test]
    fn bad_scale_and_event_flags_are_refused() {
        for bad in [
            &["--qps-limit", "0"][..],
            &["--event-loss-rate", "2"],
            &["--webhook-url", "ftp://x/y"],
            &["--agents", "many"],
        ] {
            assert!(config(bad).is_err(), "{bad:?}");
        }
    }
}
