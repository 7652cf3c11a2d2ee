//! A simulator of the Alibaba Cloud Contact Center (CCC) 2020-07-01 OpenAPI
//! endpoint, close enough that the proxy's upstream code path is the one
//! that talks to the real cloud.
//!
//! - RPC on `/` (GET or POST, parameters in the query or a form body),
//!   authenticated with V3 (`ACS3-HMAC-SHA256`) or V1 (`HMAC-SHA1`)
//!   signatures ([`auth`]), answered with CCC envelopes ([`protocol`]).
//! - The agent state machine of ccc-api.md §2 ([`state_machine`]), with
//!   inbound calls, ringing timeout and after-call work run by timers.
//! - An admin API under `/_sim/` ([`admin`]) to ring agents, answer, hang
//!   up, change an agent's state "from elsewhere", inject faults
//!   ([`faults`]), set the quota and the webhook, read counters ([`stats`])
//!   and reset.
//! - The account's quota ([`quota`]): `Throttling.User` above `qps_limit`.
//! - Event push in webhook mode ([`events`], [`webhook`]): every change of
//!   an agent becomes CCC's agent and channel events, POSTed as JSON arrays.
//! - `ListRealtimeAgentStates` ([`realtime`]) with paging, and generated
//!   agents ([`SimConfig::with_generated_agents`]) for benches.
//!
//!
//! The shared state is [`SimState`] (a cheap handle, `sim_state`) over the
//! [`World`] of agents (`world`); its methods are grouped by job: the
//! simulated account's quota, counters and event subscription (`account`),
//! calls and their timers (`calls`), and changes made "from elsewhere"
//! (`elsewhere`, for the admin API).
//!
//! Start it in-process with [`spawn`], or serve [`app`] yourself. The
//! behaviours chosen where ccc-api.md says "(inference)" are listed in
//! `docs/simulator.md`.

use std::time::{SystemTime, UNIX_EPOCH};

mod account;
pub mod actions;
pub mod admin;
pub mod auth;
mod calls;
pub mod config;
mod elsewhere;
pub mod events;
pub mod faults;
pub mod protocol;
pub mod quota;
pub mod realtime;
mod server;
mod sim_state;
// Issue 20: the SIP server and media peer (SIP over WebSocket, WebRTC).
pub mod sip;
pub mod softphone;
pub mod state_machine;
pub mod stats;
// Issue 18: transfer, consult, conference, keypad.
mod links;
pub mod transfer;
pub mod webhook;
pub mod world;

pub use calls::CallError;
pub use ccc_model::{EventMessage, EventType};
pub use config::{DeliveryFaults, DialTimings, SimAgent, SimConfig, WebhookTarget};
pub use elsewhere::{StateChange, CONSOLE_DEVICE, DIALED_NUMBER};
pub use server::{app, spawn, DropConnection, RunningSim};
pub use sim_state::SimState;
pub use stats::Stats;
pub use webhook::Subscription;
pub use world::World;

/// The simulator's error type.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The configuration is invalid.
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    /// A socket could not be bound or served.
    #[error("simulator I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
