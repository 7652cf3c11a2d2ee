//! Applying what arrives to an agent's view — a poll answer, a webhook
//! event, a view stored by another replica — by the rules of
//! [`crate::view`], published through Redis when shared.

use super::*;

/// Takes a view from Redis (or a CAS result) when it is newer than the
/// local one; wakes waiters when the version moved.
pub(super) fn merge_remote(agent: &AgentHub, remote: View) {
    agent.tx.send_if_modified(|l| {
        let (mine, theirs) = (l.view.version(), remote.version());
        if theirs > mine {
            l.view = remote;
            l.error = None;
            true
        } else {
            if theirs == mine && remote.fetched_at > l.view.fetched_at {
                l.view = remote;
            }
            false
        }
    });
}

impl Hub {
    /// Applies a `PollUserStatus` answer (of a call started at
    /// `started_at`) and returns the view shown afterwards.
    pub async fn apply_poll(
        &self,
        user_id: &str,
        data: &PollUserStatusData,
        started_at: i64,
    ) -> View {
        let agent = self.agent(user_id);
        self.update(&agent, None, |v| v.apply_poll(data, started_at, now_ms()))
            .await
            .0
    }

    /// Applies `f` to the agent's view: locally, or as a compare-and-set of
    /// the stored view in Redis (published to every replica). `fence`: the
    /// owner's lease, for its polls. Returns the view shown afterwards and
    /// what `f` did.
    pub(super) async fn update(
        &self,
        agent: &AgentHub,
        fence: Option<Lease>,
        f: impl Fn(&mut View) -> Applied,
    ) -> (View, Applied) {
        if let Some(fleet) = self.in_fleet() {
            for _ in 0..CAS_ATTEMPTS {
                let Ok((rev, remote)) = fleet.load(&agent.user_id).await else {
                    break;
                };
                let local = agent.tx.borrow().view.clone();
                let mut next = match remote {
                    Some(r) if r.version() >= local.version() => r,
                    _ => local.clone(),
                };
                let applied = f(&mut next);
                if matches!(applied, Applied::Stale | Applied::NoBase) {
                    merge_remote(agent, next);
                    return (agent.tx.borrow().view.clone(), applied);
                }
                if applied == Applied::Changed && next.version() <= local.version() {
                    if let Some(s) = next.snapshot.as_mut() {
                        s.context_id = local.version() + 1;
                    }
                }
                match fleet
                    .store(
                        &agent.user_id,
                        rev,
                        &next,
                        applied == Applied::Changed,
                        fence,
                    )
                    .await
                {
                    Ok(Cas::Stored) => {
                        merge_remote(agent, next);
                        agent.tx.send_if_modified(|l| l.error.take().is_some());
                        return (agent.tx.borrow().view.clone(), applied);
                    }
                    Ok(Cas::Conflict) => continue,
                    Ok(Cas::Fenced) => {
                        tracing::debug!(user_id = %agent.user_id, "lease moved on; poll dropped");
                        agent.interest().lease = None;
                        return (agent.tx.borrow().view.clone(), Applied::Stale);
                    }
                    Err(_) => break,
                }
            }
        }
        let mut applied = Applied::Stale;
        agent.tx.send_if_modified(|l| {
            let had_error = l.error.take().is_some();
            applied = f(&mut l.view);
            applied == Applied::Changed || had_error
        });
        let v = agent.tx.borrow().view.clone();
        (v, applied)
    }

    /// Asks the agent's owner for a `PollUserStatus` (here, or forwarded).
    pub(super) async fn refresh_somewhere(&self, user_id: &str) {
        let local = self.existing(user_id);
        if let Some(agent) = &local {
            if self.owns(agent) {
                self.request_refresh(agent);
                return;
            }
        }
        if let Some(fleet) = self.in_fleet() {
            if let Ok(true) = fleet.forward_refresh(user_id).await {
                self.metrics.ccc_event("forwarded");
                return;
            }
        }
        // Nobody owns it: whoever watches it here refreshes it.
        if let Some(agent) = local {
            self.request_refresh(&agent);
        }
    }

    /// Applies one webhook event (already authenticated and parsed).
    pub async fn apply_event(self: &Arc<Self>, ev: &CccEvent) {
        self.apply_event_from(ev, false).await;
    }

    /// Applies an event another replica forwarded (it did not hold the
    /// agent); never forwarded again.
    pub async fn apply_forwarded_event(self: &Arc<Self>, ev: &CccEvent) {
        self.apply_event_from(ev, true).await;
    }

    async fn apply_event_from(self: &Arc<Self>, ev: &CccEvent, forwarded: bool) {
        let Some(user_id) = events::user_id(ev) else {
            self.metrics.ccc_event("ignored");
            return;
        };
        let Some(time) = events::event_time_ms(&ev.event_time) else {
            return;
        };
        if let Err(e) = ORDER_RULE.check_time(time, now_ms()) {
            // A clock this far ahead would hide every later event.
            self.metrics.ccc_event("too_far_ahead");
            tracing::warn!(user_id = %user_id, ahead_ms = e.ahead_ms, "CCC event dated too far ahead: refused");
            return;
        }
        // Only agents somebody watches: here, or (with Redis) anywhere; an
        // agent watched elsewhere is updated in Redis through a transient
        // hub that this replica does not keep.
        let agent = match (self.existing(&user_id), self.in_fleet()) {
            (Some(a), _) => a,
            (None, _) if forwarded => {
                self.metrics.ccc_event("ignored");
                return;
            }
            (None, Some(fleet)) => match fleet.load(&user_id).await {
                Ok((_, Some(view))) => {
                    let transient = new_agent_hub(&user_id);
                    transient.tx.send_replace(Latest { view, error: None });
                    Arc::new(transient)
                }
                Ok((_, None)) => {
                    // No view in Redis (it restarted empty, and the replicas
                    // holding the agent have not written theirs back yet):
                    // they apply it, nobody drops it.
                    let kind = match fleet.forward_event(&user_id, ev).await {
                        Ok(_) => "forwarded",
                        Err(_) => "ignored",
                    };
                    self.metrics.ccc_event(kind);
                    return;
                }
                Err(_) => {
                    self.metrics.ccc_event("ignored");
                    return;
                }
            },
            (None, None) => {
                self.metrics.ccc_event("ignored");
                return;
            }
        };
        match events::effect(ev) {
            Effect::Ignore => {
                self.metrics.ccc_event("ignored");
            }
            Effect::Refresh => {
                let stale = agent.tx.borrow().view.stale_for(time);
                if stale {
                    self.refresh_somewhere(&user_id).await;
                } else {
                    self.metrics.ccc_event("ignored");
                }
            }
            Effect::Apply {
                change,
                then_refresh,
            } => {
                let (view, outcome) = self
                    .update(&agent, None, |v| {
                        v.apply_event(&change, time, ev.context_id, now_ms())
                    })
                    .await;
                let applied = matches!(outcome, Applied::Changed | Applied::Confirmed);
                self.metrics
                    .ccc_event(if applied { "applied" } else { "ignored" });
                let needs_call = then_refresh == RefreshNeed::UnlessCallKnown
                    && applied
                    && !change.job_id.as_deref().is_some_and(|j| view.knows_call(j));
                // Nothing shown yet: the first poll covers the event when it
                // started after it.
                let first_poll_covers = agent.poll_started.load(Ordering::Relaxed) >= time;
                let no_base = outcome == Applied::NoBase && !first_poll_covers;
                // Lost against a view dated ahead of our clock (a skewed or
                // forged event): a poll started now always wins.
                let pinned = outcome == Applied::Stale && view.ahead_of(now_ms());
                // A ringing call lacks only its caller: batched (20 a call).
                let ringing = needs_call && !no_base && !pinned;
                match change.job_id.clone() {
                    Some(job) if ringing && change.state == ccc_model::UserState::Ringing => {
                        self.lookup(&user_id, batch::Waiter::Ringing { agent, job });
                    }
                    _ if no_base || needs_call || pinned => {
                        self.refresh_somewhere(&user_id).await;
                    }
                    _ => {}
                }
            }
        }
    }
}
