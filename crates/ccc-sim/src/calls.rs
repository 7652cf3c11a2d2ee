//! Calls and their timers: ring an agent (ringing timeout, auto-answer),
//! answer, dial out (the customer answers or the attempt times out), hang
//! up (after-call work, then READY), and the demo mode's random calls.

use std::time::Duration;

use ccc_model::{CccError, UserState};

use crate::state_machine::{Agent, DialOutcome, HangupBy, HangupOutcome};
use crate::{now_ms, DialTimings, SimState};

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
        self.apply(user_id, |agent| agent.ring(&job_id, caller, now_ms()))
            .ok_or_else(|| CallError::NoAgent(user_id.to_owned()))?
            .map_err(|e| CallError::State(e.message))?;
        tracing::info!(user_id, job_id, caller, "inbound call ringing");
        self.ring_timers(user_id, &job_id, auto_answer_ms);
        Ok(job_id)
    }

    /// The timers of a call ringing `user_id`: the ringing timeout, and the
    /// auto-answer after `auto_answer_ms` (or the configured default)
    /// unless a registered softphone answers on the device.
    pub(crate) fn ring_timers(&self, user_id: &str, job_id: &str, auto_answer_ms: Option<u64>) {
        let timings = &self.inner.config.timings;
        self.after(
            timings.ringing_timeout_ms,
            user_id,
            job_id,
            |a, job, now| {
                if a.ringing_timeout(job, now) {
                    tracing::info!(user_id = %a.user_id, job, "ringing timeout");
                }
            },
        );
        // Issue 20: a registered softphone answers on the device instead.
        let auto_answer = auto_answer_ms
            .or(timings.auto_answer_ms)
            .filter(|_| !self.softphone_takes_calls(user_id));
        if let Some(ms) = auto_answer {
            self.after(ms, user_id, job_id, |a, job, now| {
                if a.state == UserState::Ringing {
                    let _ = a.answer(Some(job), None, now);
                }
            });
        }
    }

    /// The call `job_id` is answered: by the agent's phone when it rings
    /// (RINGING → TALKING), by the customer when the agent dials it
    /// (DIALING → TALKING).
    pub fn answer(&self, job_id: &str) -> Result<Agent, CallError> {
        self.on_call(job_id, |agent| {
            if !agent.customer_answers(job_id, now_ms()) {
                agent.answer(Some(job_id), None, now_ms())?;
            }
            Ok(agent.clone())
        })
    }

    /// Issue 18: `user_id`'s device answered its leg of `job_id` (several
    /// agents may share a job during a consult).
    pub fn answer_as(&self, user_id: &str, job_id: &str) -> Result<Agent, CallError> {
        self.apply(user_id, |agent| {
            if agent.call.as_ref().is_none_or(|c| c.job_id != job_id) {
                return Err(CallError::NoCall(job_id.to_owned()));
            }
            if !agent.customer_answers(job_id, now_ms()) {
                agent
                    .answer(Some(job_id), None, now_ms())
                    .map_err(|e| CallError::State(e.message))?;
            }
            Ok(agent.clone())
        })
        .ok_or_else(|| CallError::NoAgent(user_id.to_owned()))?
    }

    /// Issue 18: `user_id` leaves `job_id` (its device hung up or went
    /// away), whoever else shares the job; after-call work as
    /// [`SimState::hang_up`].
    pub fn hang_up_as(
        &self,
        user_id: &str,
        job_id: &str,
        by: HangupBy,
    ) -> Result<(Agent, HangupOutcome), CallError> {
        let (agent, outcome) = self
            .apply(user_id, |agent| {
                let outcome = agent
                    .hang_up(job_id, by, now_ms())
                    .map_err(|e| CallError::State(e.message))?;
                Ok::<_, CallError>((agent.clone(), outcome))
            })
            .ok_or_else(|| CallError::NoAgent(user_id.to_owned()))??;
        if agent.in_after_call_of(job_id) {
            self.schedule_after_call(&agent.user_id, job_id);
        }
        Ok((agent, outcome))
    }

    /// How dialled customers behave now.
    pub fn dial_timings(&self) -> DialTimings {
        *self.inner.dial.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes how dialled customers behave, for the next MakeCall.
    pub fn set_dial_timings(&self, timings: DialTimings) {
        tracing::info!(?timings, "dial timings set");
        *self.inner.dial.lock().unwrap_or_else(|e| e.into_inner()) = timings;
    }

    /// `user_id` dials `callee` as MakeCall does ([`Agent::dial`]) and the
    /// attempt's timers start. Returns the new `JobId`.
    pub fn make_call(
        &self,
        user_id: &str,
        callee: &str,
        caller: Option<&str>,
        timeout_ms: Option<u64>,
    ) -> Result<String, CallError> {
        let job_id = self.next_job_id();
        self.apply(user_id, |a| a.dial(&job_id, Some(callee), caller, now_ms()))
            .ok_or_else(|| CallError::NoAgent(user_id.to_owned()))?
            .map_err(|e| CallError::State(e.message))?;
        self.schedule_dial(user_id, &job_id, callee, timeout_ms);
        Ok(job_id)
    }

    /// Starts the timers of the outbound attempt `job_id`: the customer
    /// answers after the dial-answer delay (never for a no-answer number),
    /// and an attempt still DIALING after `timeout_ms` (default: the dial
    /// timeout) is released. Each timer re-checks the job.
    pub(crate) fn schedule_dial(
        &self,
        user_id: &str,
        job_id: &str,
        callee: &str,
        timeout_ms: Option<u64>,
    ) {
        let timings = self.dial_timings();
        tracing::info!(user_id, job_id, callee, "outbound call dialing");
        let answers = DialOutcome::of(callee) == DialOutcome::Answers;
        // Issue 20: a softphone agent's own leg is called first; the
        // customer's answer timer starts when the device answers.
        let softphone = self.softphone_takes_calls(user_id);
        if let Some(ms) = timings.answer_ms.filter(|_| answers && !softphone) {
            self.after(ms, user_id, job_id, |a, job, now| {
                a.customer_answers(job, now);
            });
        }
        let state = self.clone();
        let user_id = user_id.to_owned();
        let job_id = job_id.to_owned();
        let ms = timeout_ms.unwrap_or(timings.timeout_ms);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let back_to_work = state
                .apply(&user_id, |a| {
                    a.dial_timeout(&job_id, now_ms())
                        .map(|_| a.in_after_call_of(&job_id))
                })
                .flatten();
            if back_to_work == Some(true) {
                state.schedule_after_call(&user_id, &job_id);
            }
            if back_to_work.is_some() {
                tracing::info!(user_id, job_id, "outbound call not answered in time");
            }
        });
    }

    /// Runs `f` on the agent in call `job_id` (pushing the change's events).
    fn on_call<R>(
        &self,
        job_id: &str,
        f: impl FnOnce(&mut Agent) -> Result<R, CccError>,
    ) -> Result<R, CallError> {
        let mut world = self.world();
        let user = world
            .job_owner(job_id)
            .ok_or_else(|| CallError::NoCall(job_id.to_owned()))?;
        let (result, events) = world
            .change(&user, f)
            .ok_or_else(|| CallError::NoCall(job_id.to_owned()))?;
        self.publish(events);
        let due = world.take_due_after_call();
        drop(world);
        for (user, job) in due {
            self.schedule_after_call(&user, &job);
        }
        result.map_err(|e| CallError::State(e.message))
    }

    /// Ends `job_id`; schedules READY after the after-call time when the
    /// call had been answered.
    pub fn hang_up(&self, job_id: &str, by: HangupBy) -> Result<(Agent, HangupOutcome), CallError> {
        if by == HangupBy::Customer {
            // Issue 18: the customer leaves every agent of a shared call.
            let others: Vec<String> = {
                let mut world = self.world();
                let members = world.job_members(job_id);
                for u in &members {
                    world.change(u, |a| {
                        if let Some(c) = a.call.as_mut() {
                            c.link = None;
                        }
                    });
                }
                members.into_iter().skip(1).collect()
            };
            for user in others {
                let result = self.apply(&user, |a| a.hang_up(job_id, by, now_ms()));
                let after_call = self
                    .agent(&user)
                    .is_some_and(|a| a.in_after_call_of(job_id));
                if matches!(result, Some(Ok(_))) && after_call {
                    self.schedule_after_call(&user, job_id);
                }
            }
        }
        let (agent, outcome) = self.on_call(job_id, |agent| {
            let outcome = agent.hang_up(job_id, by, now_ms())?;
            Ok((agent.clone(), outcome))
        })?;
        if agent.in_after_call_of(job_id) {
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
    pub(crate) fn after(
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
            state.apply(&user_id, |agent| f(agent, &job_id, now_ms()));
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
            let talking = {
                let world = state.world();
                world
                    .job_owner(&hang_job)
                    .and_then(|u| world.agents.get(&u))
                    .is_some_and(|a| a.state == UserState::Talking)
            };
            if talking {
                let _ = state.hang_up(&hang_job, HangupBy::Customer);
            }
        });
        Some(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimConfig;

    const A: &str = "agent1@ccc-demo";

    #[tokio::test]
    async fn a_call_rings_is_answered_and_hung_up() {
        let sim = SimState::new(SimConfig::demo());
        assert!(
            matches!(sim.ring(A, "13800000000", None), Err(CallError::State(_))),
            "an offline agent is not rung"
        );
        sim.apply(A, |a| {
            a.sign_in(Some("d"), None, now_ms()).unwrap();
            a.ready(false, now_ms()).unwrap();
        });
        let job = sim.ring(A, "13800000000", Some(60_000)).unwrap();
        assert_eq!(sim.agent(A).unwrap().state, UserState::Ringing);
        assert_eq!(sim.answer(&job).unwrap().state, UserState::Talking);
        let (agent, _) = sim.hang_up(&job, HangupBy::Customer).unwrap();
        assert_eq!(agent.state, UserState::Working);
        assert!(matches!(sim.answer("job-none"), Err(CallError::NoCall(_))));
        assert!(matches!(
            sim.ring("nobody@ccc-demo", "1", None),
            Err(CallError::NoAgent(_))
        ));
    }

    #[tokio::test]
    async fn make_call_dials_with_the_set_timings() {
        let sim = SimState::new(SimConfig::demo());
        let timings = DialTimings {
            answer_ms: None,
            ..sim.dial_timings()
        };
        sim.set_dial_timings(timings);
        assert_eq!(sim.dial_timings(), timings);
        sim.apply(A, |a| a.sign_in(Some("d"), None, now_ms()).unwrap());
        let job = sim.make_call(A, "13812345678", None, None).unwrap();
        let agent = sim.agent(A).unwrap();
        assert_eq!(agent.state, UserState::Dialing);
        assert_eq!(agent.call.map(|c| c.job_id), Some(job));
    }
}
