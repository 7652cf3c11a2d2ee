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
//!   up, inject faults ([`faults`]) and reset.
//!
//! Start it in-process with [`spawn`], or serve [`app`] yourself. The
//! behaviours chosen where ccc-api.md says "(inference)" are listed in
//! `docs/simulator.md`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod actions;
pub mod admin;
pub mod auth;
pub mod config;
pub mod faults;
pub mod protocol;
mod server;
pub mod state_machine;

pub use config::{SimAgent, SimConfig};
pub use server::{app, spawn, DropConnection, RunningSim};

use ccc_model::{CccError, ErrorCode, UserState};
use state_machine::{Agent, HangupBy, HangupOutcome};

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

/// The mutable world: every agent, by `UserId`.
#[derive(Debug, Default)]
pub struct World {
    /// Agents by `UserId` (`name@instance`).
    pub agents: BTreeMap<String, Agent>,
}

impl World {
    fn from_config(config: &SimConfig, now: i64) -> Self {
        let mut agents = BTreeMap::new();
        for inst in &config.instances {
            for a in &inst.agents {
                let mut agent =
                    Agent::new(&a.user_id, &inst.id, &a.display_name, &a.extension, now);
                agent.mobile = a.mobile.clone();
                agents.insert(a.user_id.clone(), agent);
            }
        }
        World { agents }
    }

    /// The agent in a call with `job_id`.
    pub fn agent_with_job(&mut self, job_id: &str) -> Option<&mut Agent> {
        self.agents
            .values_mut()
            .find(|a| a.call.as_ref().is_some_and(|c| c.job_id == job_id))
    }
}

struct Inner {
    config: SimConfig,
    verifier: auth::Verifier,
    world: Mutex<World>,
    faults: Mutex<faults::Faults>,
    job_seq: AtomicU64,
}

/// Shared simulator state: configuration, agents, faults, nonces. Cheap to clone.
#[derive(Clone)]
pub struct SimState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("verifier", &self.inner.verifier)
            .finish_non_exhaustive()
    }
}

/// Why the admin API could not ring or change a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No such agent.
    #[error("no agent {0}")]
    NoAgent(String),
    /// No such call.
    #[error("no call {0}")]
    NoCall(String),
    /// The agent's state does not allow it.
    #[error("{0}")]
    State(String),
}

impl SimState {
    /// A fresh simulator state; every agent OFFLINE.
    pub fn new(config: SimConfig) -> Self {
        let verifier = auth::Verifier::new(config.access_keys(), config.timings.clock_window_secs);
        let world = World::from_config(&config, now_ms());
        let base = rand::random_range(1_000_000_000_000_000u64..9_000_000_000_000_000u64);
        SimState {
            inner: Arc::new(Inner {
                config,
                verifier,
                world: Mutex::new(world),
                faults: Mutex::new(faults::Faults::default()),
                job_seq: AtomicU64::new(base),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// The signature verifier.
    pub fn verifier(&self) -> &auth::Verifier {
        &self.inner.verifier
    }

    /// Locks the world (never held across an `.await`).
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.inner.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current faults.
    pub fn faults(&self) -> faults::Faults {
        self.inner
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: faults::Faults) {
        *self.inner.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    /// A snapshot of one agent.
    pub fn agent(&self, user_id: &str) -> Option<Agent> {
        self.world().agents.get(user_id).cloned()
    }

    /// Every agent back to OFFLINE (ContextId keeps growing), calls
    /// dropped, faults cleared.
    pub fn reset(&self) {
        let now = now_ms();
        let fresh = World::from_config(&self.inner.config, now);
        let mut world = self.world();
        for (id, mut agent) in fresh.agents {
            let old_ctx = world.agents.get(&id).map_or(0, |a| a.context_id);
            agent.context_id = old_ctx + 1;
            world.agents.insert(id, agent);
        }
        drop(world);
        self.set_faults(faults::Faults::default());
    }

    fn next_job_id(&self) -> String {
        format!("job-{}", self.inner.job_seq.fetch_add(1, Ordering::Relaxed))
    }

    /// Rings `user_id` with an inbound call from `caller`; answers
    /// automatically after `auto_answer_ms` (or the configured default).
    /// Must run inside a Tokio runtime (timers).
    pub fn ring(
        &self,
        user_id: &str,
        caller: &str,
        auto_answer_ms: Option<u64>,
    ) -> Result<String, CallError> {
        let job_id = self.next_job_id();
        {
            let mut world = self.world();
            let agent = world
                .agents
                .get_mut(user_id)
                .ok_or_else(|| CallError::NoAgent(user_id.to_owned()))?;
            agent
                .ring(&job_id, caller, now_ms())
                .map_err(|e| CallError::State(e.message))?;
        }
        tracing::info!(user_id, job_id, caller, "inbound call ringing");
        let timings = &self.inner.config.timings;
        self.after(
            timings.ringing_timeout_ms,
            user_id,
            &job_id,
            |a, job, now| {
                if a.ringing_timeout(job, now) {
                    tracing::info!(user_id = %a.user_id, job, "ringing timeout");
                }
            },
        );
        if let Some(ms) = auto_answer_ms.or(timings.auto_answer_ms) {
            self.after(ms, user_id, &job_id, |a, job, now| {
                if a.state == UserState::Ringing {
                    let _ = a.answer(Some(job), None, now);
                }
            });
        }
        Ok(job_id)
    }

    /// The agent's phone answers `job_id` (RINGING → TALKING).
    pub fn answer(&self, job_id: &str) -> Result<Agent, CallError> {
        let mut world = self.world();
        let agent = world
            .agent_with_job(job_id)
            .ok_or_else(|| CallError::NoCall(job_id.to_owned()))?;
        agent
            .answer(Some(job_id), None, now_ms())
            .map_err(|e| CallError::State(e.message))?;
        Ok(agent.clone())
    }

    /// Ends `job_id`; schedules READY after the after-call time when the
    /// call had been answered.
    pub fn hang_up(&self, job_id: &str, by: HangupBy) -> Result<(Agent, HangupOutcome), CallError> {
        let (agent, outcome) = {
            let mut world = self.world();
            let agent = world
                .agent_with_job(job_id)
                .ok_or_else(|| CallError::NoCall(job_id.to_owned()))?;
            let outcome = agent
                .hang_up(job_id, by, now_ms())
                .map_err(|e| CallError::State(e.message))?;
            (agent.clone(), outcome)
        };
        if outcome == HangupOutcome::AfterCall {
            self.schedule_after_call(&agent.user_id, job_id);
        }
        Ok((agent, outcome))
    }

    /// READY after the after-call time, unless the agent moved on.
    pub(crate) fn schedule_after_call(&self, user_id: &str, job_id: &str) {
        self.after(
            self.inner.config.timings.after_call_ms,
            user_id,
            job_id,
            |a, job, now| {
                a.after_call_done(job, now);
            },
        );
    }

    /// Runs `f` on the agent after `ms`, in a Tokio task. `f` must re-check
    /// the state: the call may have ended meanwhile.
    fn after(
        &self,
        ms: u64,
        user_id: &str,
        job_id: &str,
        f: impl FnOnce(&mut Agent, &str, i64) + Send + 'static,
    ) {
        let state = self.clone();
        let user_id = user_id.to_owned();
        let job_id = job_id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let mut world = state.world();
            if let Some(agent) = world.agents.get_mut(&user_id) {
                f(agent, &job_id, now_ms());
            }
        });
    }

    /// Demo mode: ring one READY agent (chosen at random) with a random
    /// caller; it answers after the auto-answer delay (default 3 s) and the
    /// customer hangs up after `demo_talk_ms`. Returns the job, if any agent
    /// was READY.
    pub fn demo_call(&self) -> Option<String> {
        let ready: Vec<String> = self
            .world()
            .agents
            .values()
            .filter(|a| a.state == UserState::Ready)
            .map(|a| a.user_id.clone())
            .collect();
        if ready.is_empty() {
            return None;
        }
        let user_id = &ready[rand::random_range(0..ready.len())];
        let caller = format!("138{:08}", rand::random_range(0..100_000_000u32));
        let timings = &self.inner.config.timings;
        let answer_ms = timings.auto_answer_ms.unwrap_or(3_000);
        let job = self.ring(user_id, &caller, Some(answer_ms)).ok()?;
        let state = self.clone();
        let talk = Duration::from_millis(answer_ms + timings.demo_talk_ms);
        let hang_job = job.clone();
        tokio::spawn(async move {
            tokio::time::sleep(talk).await;
            let talking = state
                .world()
                .agent_with_job(&hang_job)
                .is_some_and(|a| a.state == UserState::Talking);
            if talking {
                let _ = state.hang_up(&hang_job, HangupBy::Customer);
            }
        });
        Some(job)
    }

    /// The agent a request acts for: `UserId`, else the calling key's
    /// `default_user`, else `MissingParameter UserId`.
    pub(crate) fn resolve_user(
        &self,
        user_id: Option<&str>,
        access_key_id: &str,
    ) -> Result<String, CccError> {
        if let Some(u) = user_id.map(str::trim).filter(|u| !u.is_empty()) {
            return Ok(u.to_owned());
        }
        self.inner
            .config
            .access_keys
            .iter()
            .find(|k| k.id == access_key_id)
            .and_then(|k| k.default_user.clone())
            .ok_or_else(|| ErrorCode::MissingParameter.with_params(["UserId"]))
    }

    /// The configured default user of a key.
    pub(crate) fn default_user_of(&self, access_key_id: &str) -> Option<String> {
        self.inner
            .config
            .access_keys
            .iter()
            .find(|k| k.id == access_key_id)
            .and_then(|k| k.default_user.clone())
    }

    /// True when the instance exists.
    pub(crate) fn has_instance(&self, instance_id: &str) -> bool {
        self.inner
            .config
            .instances
            .iter()
            .any(|i| i.id == instance_id)
    }
}
