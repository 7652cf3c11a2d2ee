//! `ccc-proxy`: the only server the CCC agent toolbar widget talks to.
//!
//! It serves the built widget, knows which CCC agent a browser session is
//! (trusted SSO header, bearer JWT, or the demo sign-in cookie), calls CCC
//! with V3-signed requests through one pooled client, and long-polls agent
//! state through one shared upstream loop per watched agent.
//!
//! - [`app`] builds the router for a given [`AppState`] (tests use it with
//!   `oneshot`); [`run`] starts everything, including the in-process
//!   simulator with `--demo`.
//! - Modules import one way, each only from modules named before it here
//!   (a test in `crates/ccc-testkit/tests/no_import_circles.rs` checks it).
//!   Leaves: [`clock`], [`errors`], [`metrics`], [`rate`] (the upstream
//!   rate rules), [`ratelimit`], [`session_cache`], [`next_state`] (the
//!   rule for the state after a call), [`consult`] (issue 18: the consult
//!   leg and conference of a call), [`view`] (what the toolbar is shown); then [`config`], [`events`] (CCC's webhook events),
//!   [`presence`], [`security`], [`fleet`] (Redis); [`budget`],
//!   [`reconcile`]; [`upstream`] (the CCC client); [`directory`] (issue
//!   18: the transfer directory); [`identity`], [`poller`]
//!   (the per-agent hub); [`sip`] (the softphone relay's shared state: sockets, AOR policy,
//!   TURN cache); [`embedded`] (the `--demo` simulator); [`state`]
//!   ([`AppState`], which holds them); [`extract`] (what handlers take from a
//!   request); the handlers [`webhook`], [`next_state_apply`], [`sip_relay`]
//!   (`GET /api/v1/sip` and the session's softphone block),
//!   [`transfer_api`] (issue 18: transfer, conference, keypad, directory), [`api`],
//!   [`static_files`], [`demo`]; [`router`] ([`app`]); and [`server`]
//!   ([`serve`]).

pub mod api;
pub mod budget;
pub mod clock;
pub mod config;
pub mod consult;
pub mod demo;
pub mod directory;
pub mod errors;
pub mod events;
pub mod extract;
pub mod fleet;
pub mod identity;
pub mod metrics;
pub mod next_state;
pub mod next_state_apply;
pub mod poller;
pub mod presence;
pub mod rate;
pub mod ratelimit;
pub mod reconcile;
mod router;
pub mod security;
pub mod server;
pub mod session_cache;
pub mod sip;
pub mod sip_relay;
pub mod state;
pub mod static_files;
pub mod transfer_api;
pub mod upstream;
pub mod view;
pub mod webhook;

#[cfg(feature = "demo")]
mod embedded;

use tokio::net::TcpListener;

pub use config::{Args, Config};
#[cfg(feature = "demo")]
pub use embedded::{demo_events, start_simulator};
pub use router::app;
pub use server::serve;
pub use state::AppState;

/// Why the proxy could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration cannot run.
    #[error("{0}")]
    Config(String),
    /// The in-process simulator failed to start.
    #[cfg(feature = "demo")]
    #[error("cannot start the simulator: {0}")]
    Simulator(#[from] ccc_sim::SimError),
    /// Binding or serving failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// With Redis and the demo sign-in, every replica signs cookies with one
/// key (the first replica's, stored once with `SET NX`), so a user stays
/// signed in whichever replica answers.
async fn share_cookie_key(config: &mut Config) -> Result<(), RunError> {
    let (Some(r), config::AuthConfig::Demo) = (&config.redis, &config.auth) else {
        return Ok(());
    };
    let url = std::str::from_utf8(r.url.expose()).unwrap_or_default();
    let fleet = fleet::Fleet::new(url, &r.prefix, r.lease_ttl).map_err(RunError::Config)?;
    match fleet
        .shared_secret("demo-cookie-key", config.cookie_key.expose())
        .await
    {
        Some(key) => config.cookie_key = config::Secret::new(key),
        None => {
            tracing::warn!("redis unreachable: this replica signs demo cookies with its own key")
        }
    }
    Ok(())
}

/// Runs the proxy until Ctrl-C or SIGTERM (simulator included with `--demo`).
pub async fn run(mut config: Config) -> Result<(), RunError> {
    if !config.demo && matches!(config.auth, config::AuthConfig::Demo) {
        return Err(RunError::Config(
            "--auth demo lists the in-process simulator's agents: add --demo".into(),
        ));
    }
    demo_built_in(config.demo)?;
    #[cfg(feature = "demo")]
    let (sim, agents) = if config.demo {
        let (sim, agents) = start_simulator(&mut config).await?;
        (Some(sim), Some(agents))
    } else {
        (None, None)
    };
    #[cfg(not(feature = "demo"))]
    let agents = None;
    let listener = TcpListener::bind(config.listen).await.map_err(|e| {
        RunError::Config(format!(
            "cannot listen on {}: {e} (pick another address with --listen, or `make run LISTEN=127.0.0.1:9000`)",
            config.listen
        ))
    })?;
    let addr = listener.local_addr()?;
    // The bound address (port 0 resolved) is the default public origin.
    config.listen = addr;
    #[cfg(feature = "demo")]
    if let Some(sim) = &sim {
        demo_events(&mut config, sim, addr)?;
    }
    share_cookie_key(&mut config).await?;
    let state = AppState::new(config, agents).map_err(RunError::Config)?;
    tracing::info!(%addr, endpoint = %state.config.upstream.endpoint, instance = %state.client.instance_id(), "ccc-proxy listening");
    {
        use std::io::Write as _;
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            addr.ip().to_string()
        };
        let url = if addr.is_ipv6() {
            format!("http://[{host}]:{}/", addr.port())
        } else {
            format!("http://{host}:{}/", addr.port())
        };
        let what = if state.demo_agents.is_some() {
            "pick an agent on the sign-in page, then press \"Go online\" and pick Available in the status menu; a simulated call rings within a minute: press Answer, allow the microphone, and you hear the customer (a tone) in the browser softphone; any number you dial answers (numbers ending in 0000 are busy)."
        } else {
            "the agent is taken from the configured --auth mode."
        };
        let _ = writeln!(std::io::stdout(), "CCC toolbar: open {url} and {what}");
    }
    serve(listener, state, shutdown_signal()).await?;
    #[cfg(feature = "demo")]
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    tracing::info!("ccc-proxy stopped");
    Ok(())
}

/// `--demo` needs the embedded simulator, which the default cargo feature
/// `demo` links in; an operator's build without it says so instead of
/// starting.
pub fn demo_built_in(demo: bool) -> Result<(), RunError> {
    if demo && !cfg!(feature = "demo") {
        return Err(RunError::Config(
            "--demo needs the embedded CCC simulator, which this ccc-proxy was built without \
             (cargo feature `demo`, on by default): rebuild with default features, or run \
             against CCC with --instance-id and --endpoint"
                .into(),
        ));
    }
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// The log filter for `directives` (`RUST_LOG`), with the WebSocket
/// libraries capped at `info` whatever it says: their trace lines print
/// whole frames, i.e. the softphone's SIP digests and SDP.
pub fn log_filter(directives: &str) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    let mut filter = EnvFilter::try_new(directives)
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,hyper=warn,reqwest=warn"));
    for cap in ["tungstenite=info", "tokio_tungstenite=info"] {
        if let Ok(d) = cap.parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}

/// Installs the `tracing` subscriber (JSON or compact, `RUST_LOG` filter).
pub fn init_tracing(format: config::LogFormat) {
    let filter = log_filter(
        &std::env::var("RUST_LOG")
            .unwrap_or_else(|_| "info,tower_http=info,hyper=warn,reqwest=warn".to_owned()),
    );
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    let _ = match format {
        config::LogFormat::Json => builder.json().with_current_span(true).try_init(),
        config::LogFormat::Compact => builder.compact().try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_is_refused_clearly_when_not_built_in() {
        assert!(demo_built_in(false).is_ok());
        assert_eq!(demo_built_in(true).is_ok(), cfg!(feature = "demo"));
        if let Err(e) = demo_built_in(true) {
            assert!(e.to_string().contains("built without"), "{e}");
        }
    }
}
