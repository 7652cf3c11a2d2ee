//! Changes made "from elsewhere" (another device, the CCC console) for the
//! admin API: an agent is put in a state through the same transitions as
//! the API, so the events are the ones those would push.

use ccc_model::{CccError, UserState};

use crate::state_machine::{Agent, HangupBy};
use crate::{now_ms, CallError, SimState};

/// The state to put an agent in "from elsewhere" (another device, the CCC
/// console): see [`SimState::set_agent_state`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// OFFLINE, READY, BREAK, RINGING, TALKING or WORKING.
    pub state: UserState,
    /// The break code for BREAK (default `default`, or `Warm-up` when the
    /// agent was OFFLINE).
    pub break_code: Option<String>,
}

impl StateChange {
    /// A change to `state` (no break code).
    pub fn new(state: UserState) -> Self {
        StateChange {
            state,
            break_code: None,
        }
    }

    /// A change to BREAK with `code`.
    pub fn on_break(code: impl Into<String>) -> Self {
        StateChange {
            state: UserState::Break,
            break_code: Some(code.into()),
        }
    }
}

/// The number an agent put in DIALING "from elsewhere" dials.
pub const DIALED_NUMBER: &str = "13912345678";

/// The device an agent signed in "from elsewhere" uses.
pub const CONSOLE_DEVICE: &str = "ccc-console";

impl SimState {
    /// Puts an agent in `change.state` "from elsewhere" (another device or
    /// the CCC console), through the same transitions as the API, so the
    /// events are the ones those would push. OFFLINE is a reset; BREAK and
    /// READY sign an OFFLINE agent in first (device [`CONSOLE_DEVICE`]);
    /// RINGING rings a READY agent; TALKING answers (ringing it first when
    /// READY); WORKING hangs up a TALKING agent's call; DIALING dials
    /// [`DIALED_NUMBER`] from READY, BREAK or WORKING (signing an OFFLINE
    /// agent in first). Must run inside a Tokio runtime (call timers).
    pub fn set_agent_state(&self, user_id: &str, change: &StateChange) -> Result<Agent, CallError> {
        let no_agent = || CallError::NoAgent(user_id.to_owned());
        let state_err = |e: CccError| CallError::State(e.message);
        let current = self.agent(user_id).ok_or_else(no_agent)?;
        let sign_in_first = |state: &SimState| -> Result<(), CallError> {
            if current.state == UserState::Offline {
                state
                    .apply(user_id, |a| a.sign_in(Some(CONSOLE_DEVICE), None, now_ms()))
                    .ok_or_else(no_agent)?
                    .map_err(state_err)?;
            }
            Ok(())
        };
        let code = change
            .break_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        match &change.state {
            UserState::Offline => {
                self.apply(user_id, |a| a.reset(now_ms()));
            }
            UserState::Break => {
                sign_in_first(self)?;
                // Signed in just now: already BREAK / Warm-up.
                let online = current.state != UserState::Offline;
                if let Some(code) = code.or(online.then_some("default")) {
                    self.apply(user_id, |a| a.take_break(Some(code), now_ms()))
                        .ok_or_else(no_agent)?
                        .map_err(state_err)?;
                }
            }
            UserState::Ready => {
                sign_in_first(self)?;
                self.apply(user_id, |a| a.ready(false, now_ms()))
                    .ok_or_else(no_agent)?
                    .map_err(state_err)?;
            }
            UserState::Ringing => {
                self.ring(user_id, "13800000000", None)?;
            }
            UserState::Talking => {
                let job = match (&current.state, &current.call) {
                    (UserState::Ringing, Some(call)) => call.job_id.clone(),
                    _ => self.ring(user_id, "13800000000", None)?,
                };
                self.answer(&job)?;
            }
            UserState::Dialing => {
                sign_in_first(self)?;
                self.make_call(user_id, DIALED_NUMBER, None, None)?;
            }
            UserState::Working => {
                let job = current
                    .call
                    .as_ref()
                    .filter(|_| current.state == UserState::Talking)
                    .map(|c| c.job_id.clone())
                    .ok_or_else(|| {
                        CallError::State(format!(
                            "WORKING follows a call: {} is {}, not TALKING",
                            user_id, current.state
                        ))
                    })?;
                self.hang_up(&job, HangupBy::Customer)?;
            }
            other => {
                return Err(CallError::State(format!("{other} is not simulated")));
            }
        }
        self.agent(user_id).ok_or_else(no_agent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimConfig;

    #[tokio::test]
    async fn states_from_elsewhere_go_through_the_api_transitions() {
        let sim = SimState::new(SimConfig::demo());
        let a = "agent2@ccc-demo";
        let agent = sim
            .set_agent_state(a, &StateChange::new(UserState::Ready))
            .unwrap();
        assert_eq!(agent.state, UserState::Ready);
        assert_eq!(agent.device_id.as_deref(), Some(CONSOLE_DEVICE));
        assert!(
            matches!(
                sim.set_agent_state(a, &StateChange::new(UserState::Working)),
                Err(CallError::State(_))
            ),
            "WORKING follows a call"
        );
        let agent = sim
            .set_agent_state(a, &StateChange::on_break("lunch"))
            .unwrap();
        assert_eq!(agent.break_code.as_deref(), Some("lunch"));
        let agent = sim
            .set_agent_state(a, &StateChange::new(UserState::Offline))
            .unwrap();
        assert_eq!(agent.state, UserState::Offline);
        assert!(matches!(
            sim.set_agent_state("nobody@ccc-demo", &StateChange::new(UserState::Ready)),
            Err(CallError::NoAgent(_))
        ));
    }
}
