//! The presence sweep: agents whose last toolbar went away are moved by the
//! rule of [`crate::presence::decide`], once the fleet agrees who acts.

use super::*;

/// How far back the fleet's last known watchers count (a long shift).
const WATCHERS_HORIZON: Duration = Duration::from_secs(24 * 3600);

/// Runs [`Hub::presence_once`] every [`presence::sweep_interval`].
pub(super) async fn presence_loop(hub: std::sync::Weak<Hub>) {
    loop {
        let (period, mut shutdown) = match hub.upgrade() {
            Some(h) => (
                presence::sweep_interval(h.opts.presence.grace),
                h.shutdown.clone(),
            ),
            None => return,
        };
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let Some(h) = hub.upgrade() else { return };
        h.presence_once().await;
    }
}

impl Hub {
    /// Presence sweeps completed since the hub started.
    pub fn presence_sweeps(&self) -> u64 {
        self.presence_sweeps.load(Ordering::Relaxed)
    }

    /// Clears the agent's presence notice (any command does). With Redis the
    /// stored view is read: another replica may have set it.
    pub async fn clear_presence(&self, user_id: &str) {
        let fleet = self.in_fleet().is_some();
        if !(fleet || self.presence_on()) {
            return;
        }
        let agent = self.agent(user_id);
        if !fleet && agent.tx.borrow().view.presence.is_none() {
            return;
        }
        self.update(&agent, None, |v| v.set_presence(None)).await;
    }

    /// With Redis, once per process: the fleet's last known watchers are
    /// tracked as absent from now, so an agent whose toolbar closed while
    /// every replica was down is still moved after the grace (the claim
    /// keeps an agent long-polling another replica where it is). Returns
    /// how many were added (0 when done before or Redis cannot say).
    pub async fn rebuild_presence(&self) -> usize {
        let Some(fleet) = self.fleet.as_ref() else {
            return 0;
        };
        if self.presence_rebuilt.load(Ordering::Relaxed) {
            return 0;
        }
        let Ok(watchers) = fleet.last_watchers(WATCHERS_HORIZON).await else {
            return 0;
        };
        self.presence_rebuilt.store(true, Ordering::Relaxed);
        let now = Instant::now();
        let mut t = lock(&self.presence);
        let added = watchers
            .iter()
            .filter(|(id, _)| t.assume_absent(id, now))
            .count();
        if added > 0 {
            tracing::info!(
                agents = added,
                "presence: following the fleet's last known watchers"
            );
        }
        added
    }

    /// One presence sweep: with Redis, vouch for the agents seen here
    /// lately; then decide about every agent absent for the grace.
    pub async fn presence_once(&self) {
        self.rebuild_presence().await;
        let grace = self.opts.presence.grace;
        let now = Instant::now();
        let (due, to_vouch) = {
            let t = lock(&self.presence);
            (t.absent(now, grace), t.to_vouch(now, grace))
        };
        if let Some(fleet) = &self.fleet {
            if !to_vouch.is_empty() {
                match fleet.presence_vouch(&to_vouch).await {
                    Ok(()) => lock(&self.presence).vouched(&to_vouch, now),
                    Err(e) => tracing::debug!(error = %e, "presence keep-alive not stored"),
                }
            }
        }
        // At the end of a shift many agents leave at once: a few at a time,
        // the upstream budget paces them.
        futures_util::stream::iter(due)
            .for_each_concurrent(PRESENCE_CONCURRENCY, |(user_id, absent_for)| async move {
                self.presence_for(&user_id, absent_for).await;
            })
            .await;
        self.presence_sweeps.fetch_add(1, Ordering::Relaxed);
    }

    /// Decides (and acts) about one absent agent.
    pub(super) async fn presence_for(&self, user_id: &str, absent_for: Duration) {
        let config = &self.opts.presence;
        // Decided for good: no longer a watcher the fleet must remember.
        let settled = || async {
            lock(&self.presence).forget(user_id);
            if let Some(f) = &self.fleet {
                let _ = f.watcher_done(user_id).await;
            }
        };
        let forget = || lock(&self.presence).forget(user_id);
        if let Some(fleet) = &self.fleet {
            if !fleet.healthy() {
                // See below: without Redis, wait for it.
                return;
            }
            match fleet.presence_claim(user_id).await {
                Ok(true) => {}
                // A long-poll elsewhere, or another replica decided: not ours.
                Ok(false) => return forget(),
                // Without Redis this replica cannot know whether the agent's
                // browser long-polls another replica: moving a present agent
                // is worse than waiting for Redis.
                Err(_) => return,
            }
        }
        let agent = self.agent(user_id);
        let device = agent.interest().device_id.clone();
        // The loop's view while it runs; else ask CCC (behind commands).
        let shown = self
            .view(user_id)
            .and_then(|v| v.snapshot)
            .map(|s| s.agent.state);
        let state = match shown {
            Some(s) => s,
            None => match self
                .client
                .poll_user_status(user_id, &device, Priority::Background)
                .await
            {
                Ok(data) => data.user_context.user_state,
                Err(e) => {
                    tracing::warn!(user_id, error = %e, "presence: cannot read the agent's state");
                    if gives_up(&e) {
                        settled().await;
                    }
                    return;
                }
            },
        };
        let action = match presence::decide(&state, absent_for, config) {
            Decision::Act(action) => action,
            Decision::Wait => return,
            Decision::Done => return settled().await,
        };
        let back = lock(&self.presence)
            .absent_for(user_id, Instant::now())
            .is_none_or(|d| d < config.grace);
        if back {
            // A long-poll started while the state was read: the agent is here.
            return;
        }
        if let Err(e) = self
            .client
            .user_action(action.ccc_action(), user_id, &device, action.params())
            .await
        {
            // A call may have started meanwhile: the next sweep looks again.
            tracing::warn!(user_id, action = action.ccc_action(), error = %e, "presence: action failed");
            if gives_up(&e) {
                settled().await;
            }
            return;
        }
        settled().await;
        // Every snapshot served from now on explains it, until a command.
        let notice = action.notice(config.grace, now_ms());
        let started = now_ms();
        let polled = self
            .client
            .poll_user_status(user_id, &device, Priority::Command)
            .await
            .ok();
        self.update(&agent, None, |v| {
            let polled = polled
                .as_ref()
                .map_or(Applied::Stale, |d| v.apply_poll(d, started, now_ms()));
            match v.set_presence(Some(notice.clone())) {
                Applied::Changed => Applied::Changed,
                _ => polled,
            }
        })
        .await;
        self.metrics.presence_acted(config.policy);
        tracing::info!(
            user_id,
            policy = config.policy.as_str(),
            action = action.ccc_action(),
            grace_secs = config.grace.as_secs(),
            absent_secs = absent_for.as_secs(),
            "presence: no toolbar open for the grace, agent moved"
        );
    }
}
