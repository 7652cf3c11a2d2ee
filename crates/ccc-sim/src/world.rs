//! The mutable world: every agent by `UserId`, with the indexes that keep
//! lookups cheap at 10,000 agents (agents per instance, calls by `JobId`),
//! and [`World::change`], the one way an agent changes: it keeps the
//! indexes in step and returns the events the change pushes.

use std::collections::{BTreeMap, HashMap};

use ccc_model::{Event as CccEvent, EventMessage, EventMessage as Event};

use ccc_model::{ChannelState, UserState};

use crate::events::{self, Snapshot};
use crate::links::{drop_leg, message, pair, Linked};
use crate::state_machine::Agent;
use crate::state_machine::{HangupBy, Peer};
use crate::SimConfig;

/// The mutable world: every agent, by `UserId`, with the indexes that keep
/// lookups cheap at 10,000 agents.
#[derive(Debug, Default)]
pub struct World {
    /// Agents by `UserId` (`name@instance`).
    pub agents: BTreeMap<String, Agent>,
    /// Each instance's `UserId`s in order (paging).
    by_instance: BTreeMap<String, Vec<String>>,
    /// `JobId` → the `UserId`s in calls in progress (two or more while a
    /// consult or conference shares the job, issue 18).
    jobs: HashMap<String, Vec<String>>,
    /// Issue 18: what each call recorded (keypad keys, transfers), for the
    /// admin API; kept after the call ends, cleared by a reset.
    pub records: HashMap<String, crate::links::JobRecord>,
    /// Issue 18: after-call work that a linked change started for another
    /// agent (a consult ended with the transferor); the caller starts the
    /// timers once the world is unlocked ([`World::take_due_after_call`]).
    pub(crate) due_after_call: Vec<(String, String)>,
}

impl World {
    pub(crate) fn from_config(config: &SimConfig, now: i64) -> Self {
        let mut world = World::default();
        for inst in &config.instances {
            let mut ids = Vec::with_capacity(inst.agents.len());
            for a in &inst.agents {
                let mut agent =
                    Agent::new(&a.user_id, &inst.id, &a.display_name, &a.extension, now);
                agent.mobile = a.mobile.clone();
                world.agents.insert(a.user_id.clone(), agent);
                ids.push(a.user_id.clone());
            }
            ids.sort();
            world.by_instance.insert(inst.id.clone(), ids);
        }
        world
    }

    /// The `UserId`s of an instance, in order.
    pub fn instance_agents(&self, instance_id: &str) -> &[String] {
        self.by_instance.get(instance_id).map_or(&[], Vec::as_slice)
    }

    /// The `UserId`s of the agents in a call with `job_id` (more than one
    /// while a consult or conference shares it).
    pub fn job_members(&self, job_id: &str) -> Vec<String> {
        let has_job = |a: &Agent| a.call.as_ref().is_some_and(|c| c.job_id == job_id);
        let indexed: Vec<String> = self
            .jobs
            .get(job_id)
            .map(|users| {
                users
                    .iter()
                    .filter(|u| self.agents.get(*u).is_some_and(has_job))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if !indexed.is_empty() {
            return indexed;
        }
        // Not indexed (an agent changed without `change`): search.
        self.agents
            .values()
            .filter(|a| has_job(a))
            .map(|a| a.user_id.clone())
            .collect()
    }

    /// The `UserId` of the agent in a call with `job_id`: the one whose leg
    /// rings or dials when several share it (the one an answer is for),
    /// else the first.
    pub fn job_owner(&self, job_id: &str) -> Option<String> {
        let members = self.job_members(job_id);
        let ringing = members.iter().find(|u| {
            self.agents
                .get(*u)
                .is_some_and(|a| matches!(a.state, UserState::Ringing | UserState::Dialing))
        });
        ringing.or(members.first()).cloned()
    }

    /// The after-call work started by linked changes since the last call.
    pub(crate) fn take_due_after_call(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.due_after_call)
    }

    /// The agent in a call with `job_id`.
    pub fn agent_with_job(&mut self, job_id: &str) -> Option<&mut Agent> {
        let user = self.job_owner(job_id)?;
        self.agents.get_mut(&user)
    }

    /// Runs `f` on the agent, keeps the indexes in step, and returns `f`'s
    /// result with the events the change pushes (none if `f` changed
    /// nothing they report). `None` when there is no such agent.
    pub fn change<R>(
        &mut self,
        user_id: &str,
        f: impl FnOnce(&mut Agent) -> R,
    ) -> Option<(R, Vec<Event>)> {
        let agent = self.agents.get_mut(user_id)?;
        let before = Snapshot::of(agent);
        let linked = Linked::of(agent);
        let result = f(agent);
        let after = Snapshot::of(agent);
        if before == after {
            return Some((result, Vec::new()));
        }
        let job = |s: &Snapshot| s.call.as_ref().map(|c| c.job_id.clone());
        if job(&before) != job(&after) {
            if let Some(old) = job(&before) {
                if let Some(users) = self.jobs.get_mut(&old) {
                    users.retain(|u| u != user_id);
                    if users.is_empty() {
                        self.jobs.remove(&old);
                    }
                }
            }
            if let Some(new) = job(&after) {
                let users = self.jobs.entry(new).or_default();
                if !users.iter().any(|u| u == user_id) {
                    users.push(user_id.to_owned());
                }
            }
        }
        let mut events = events::events_of(&before, &after);
        // Issue 18: the other party of a consult follows this change.
        if let Some(linked) = linked {
            events.extend(follow(self, user_id, &linked));
        }
        Some((result, events))
    }
}

/// Drops the link of `user_id`'s call without events, so the changes that
/// follow are not followed again.
pub(crate) fn unlink(world: &mut World, user_id: &str) {
    world.change(user_id, |a| {
        if let Some(c) = a.call.as_mut() {
            c.link = None;
        }
    });
}

/// Issue 18: how the other side of a consult follows a change of
/// `user_id` (called by [`World::change`] when the agent's call had a
/// [`Link`] before the change). Returns the events, in order.
fn follow(world: &mut World, user_id: &str, linked: &Linked) -> Vec<EventMessage> {
    let Some(agent) = world.agents.get(user_id) else {
        return Vec::new();
    };
    let Peer::Agent(peer) = linked.link.peer.clone() else {
        // A number has no view to update.
        return Vec::new();
    };
    let now = agent.heartbeat;
    let job = linked.job.as_str();
    let link = &linked.link;
    let still = agent.call.as_ref().filter(|c| c.job_id == job);
    let peer_has_job = |w: &World| {
        w.agents
            .get(&peer)
            .and_then(|p| p.call.as_ref())
            .is_some_and(|c| c.job_id == job && c.link.is_some())
    };
    if !peer_has_job(world) {
        return Vec::new();
    }
    let mut out = Vec::new();
    match still {
        Some(call) => {
            // The consulted agent answered: the transferor's view follows.
            let answered = !link.initiator
                && linked.state == UserState::Ringing
                && agent.state == UserState::Talking;
            if answered {
                let own = call.agent_channel().map(|c| c.channel_id.clone());
                if let Some(((), e)) = world.change(&peer, |p| {
                    if let Some(c) = p.call.as_mut() {
                        if let Some(ch) = c
                            .context
                            .channel_contexts
                            .iter_mut()
                            .find(|ch| Some(&ch.channel_id) == own.as_ref())
                        {
                            ch.channel_state = ChannelState::Answered;
                            ch.timestamp = Some(now);
                        }
                    }
                    p.touch(now);
                }) {
                    out.extend(e);
                }
                let e = CccEvent::StartConsultant(pair(link.skill_group.as_ref(), user_id));
                out.push(message(world.agents.get(&peer), &peer, e, now));
            }
        }
        None => {
            // The agent left the call without completing, cancelling or
            // leaving the consult.
            let (initiator, consulted) = if link.initiator {
                (user_id.to_owned(), peer.clone())
            } else {
                (peer.clone(), user_id.to_owned())
            };
            // The leg that left, as the peer's view names it.
            let gone = world
                .agents
                .get(&peer)
                .and_then(|p| p.call.as_ref())
                .and_then(|c| c.link.as_ref())
                .map(|l| l.peer_channel.clone());
            unlink(world, &peer);
            if link.initiator && !link.conference {
                // The transferor hung up mid-consult: the consulted leg
                // ends too (inference).
                if let Some((Ok(_), e)) =
                    world.change(&peer, |p| p.hang_up(job, HangupBy::Customer, now))
                {
                    out.extend(e);
                }
                if world
                    .agents
                    .get(&peer)
                    .is_some_and(|p| p.in_after_call_of(job))
                {
                    world.due_after_call.push((peer.clone(), job.to_owned()));
                }
            } else {
                // The other side goes on with the customer (on hold when
                // the consulted agent left a consult).
                if let Some(((), e)) = world.change(&peer, |p| {
                    if let Some(c) = p.call.as_mut() {
                        if let Some(gone) = &gone {
                            drop_leg(c, gone);
                        }
                        c.context.call_type = Some(link.base_type.clone());
                    }
                    p.touch(now);
                }) {
                    out.extend(e);
                }
            }
            let e = if link.conference {
                CccEvent::StopConference(pair(link.skill_group.as_ref(), &consulted))
            } else {
                CccEvent::StopConsultant(pair(link.skill_group.as_ref(), &consulted))
            };
            out.push(message(world.agents.get(&initiator), &initiator, e, now));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_model::EventType;

    fn world() -> World {
        World::from_config(&SimConfig::demo(), 1_000)
    }

    #[test]
    fn built_from_the_config_every_agent_offline_and_indexed() {
        let w = world();
        let ids = w.instance_agents("ccc-demo");
        assert!(ids.contains(&"agent1@ccc-demo".to_owned()));
        assert!(ids.windows(2).all(|p| p[0] < p[1]), "sorted for paging");
        assert!(w.agents.values().all(|a| a.state == UserState::Offline));
        assert!(w.instance_agents("nope").is_empty());
    }

    #[test]
    fn change_returns_the_events_and_indexes_the_call() {
        let mut w = world();
        let a = "agent1@ccc-demo";
        let ((), e) = w
            .change(a, |ag| {
                ag.sign_in(Some("d"), None, 2_000).unwrap();
            })
            .unwrap();
        let types: Vec<_> = e.iter().filter_map(|e| e.event_type()).collect();
        assert_eq!(types, [EventType::AgentCheckIn, EventType::AgentBreak]);
        w.change(a, |ag| ag.ready(false, 3_000).unwrap()).unwrap();
        w.change(a, |ag| ag.ring("job-1", "1380", 4_000).unwrap())
            .unwrap();
        assert_eq!(w.job_owner("job-1").as_deref(), Some(a));
        assert_eq!(
            w.agent_with_job("job-1")
                .map(|x| x.user_id.clone())
                .as_deref(),
            Some(a)
        );
        // Nothing an event reports changed: no events.
        let ((), e) = w.change(a, |_| {}).unwrap();
        assert!(e.is_empty());
        w.change(a, |ag| ag.reset(5_000)).unwrap();
        assert_eq!(w.job_owner("job-1"), None, "the call left the index");
        assert!(w.change("nobody@ccc-demo", |_| ()).is_none());
    }
}
