//! The per-agent loop: started by the first reader, it polls CCC (events
//! off) or waits for refresh requests (events on), and stops after a while
//! without readers or on shutdown.

use super::*;

/// True for an error that looking again will not fix (the agent is gone,
/// the action is refused for good); a state that moved is looked at again.
pub(super) fn gives_up(e: &crate::upstream::UpstreamError) -> bool {
    matches!(e, crate::upstream::UpstreamError::Ccc(c)
        if !c.code.is_transient() && !c.code.as_str().starts_with("InvalidOperation"))
}

/// Why an agent's loop woke up.
pub(super) enum Wake {
    Timer,
    Refresh,
    Shutdown,
}

pub(super) async fn agent_loop(hub: Arc<Hub>, agent: Arc<AgentHub>) {
    tracing::debug!(user_id = %agent.user_id, "agent loop started");
    let mut shutdown = hub.shutdown.clone();
    let mut first = true;
    let mut last_poll: Option<Instant> = None;
    loop {
        let wake = if first {
            Wake::Refresh
        } else {
            // Without events the timer polls; with events it only checks idleness.
            let idle_check = Instant::now() + hub.opts.idle.max(Duration::from_millis(200));
            let deadline = match (hub.opts.events, last_poll) {
                (false, Some(t)) => (t + hub.poll_interval()).min(idle_check),
                _ => idle_check,
            };
            let wake = tokio::select! {
                () = tokio::time::sleep_until(deadline) => Wake::Timer,
                () = agent.refresh.notified() => Wake::Refresh,
                _ = shutdown.wait_for(|s| *s) => Wake::Shutdown,
            };
            if matches!(wake, Wake::Refresh) {
                // Coalesce a burst of requests into one call: wait a moment
                // and take the permit the rest of the burst left.
                tokio::time::sleep(COALESCE).await;
                let _ = agent.refresh.notified().now_or_never();
            }
            wake
        };
        if first {
            // A browser waits for its first look: claim the lease now rather
            // than at the next renewal tick.
            hub.claim_lease(&agent).await;
        }
        // A pending next state keeps the agent watched with no toolbar open.
        let pending = agent.tx.borrow().view.next_state.is_some();
        let device_id = {
            let mut i = agent.interest();
            // Every loop polls at least once: whoever started it wants a snapshot.
            let idle_out = !first
                && !pending
                && i.waiters == 0
                && i.last_interest.elapsed() >= hub.opts.idle
                && i.lease.is_none();
            if idle_out || matches!(wake, Wake::Shutdown) || *shutdown.borrow() {
                i.running = false;
                drop(i);
                // Forget the state, not what presence did: the notice waits
                // for the agent's return.
                agent.tx.send_modify(|l| {
                    let presence = l.view.presence.take();
                    *l = Latest::default();
                    l.view.presence = presence;
                });
                break;
            }
            i.device_id.clone()
        };
        first = false;
        if !hub.owns(&agent) && matches!(wake, Wake::Refresh) {
            // A refresh reaches the owner in Redis: the lease may have just
            // been handed to this replica (before its next renewal tick).
            hub.claim_lease(&agent).await;
        }
        if !hub.owns(&agent) {
            // Another replica calls CCC for this agent: read what it stored.
            if agent.tx.borrow().snapshot().is_none() {
                hub.load_shared(&agent.user_id).await;
            }
            continue;
        }
        let unknown = agent.tx.borrow().snapshot().is_none();
        let timer_due = !hub.opts.events
            && last_poll.is_none_or(|t| t.elapsed() + COALESCE >= hub.poll_interval());
        if !(matches!(wake, Wake::Refresh) || unknown || timer_due) {
            continue;
        }
        let lease = agent.interest().lease;
        tracing::debug!(
            user_id = %agent.user_id,
            requested = matches!(wake, Wake::Refresh),
            unknown,
            timer_due,
            "polling CCC"
        );
        // A browser waits for the first look: it goes ahead of background work.
        let mut priority = if unknown {
            Priority::Command
        } else {
            Priority::Background
        };
        let started = now_ms();
        agent.poll_started.store(started, Ordering::Relaxed);
        if unknown {
            // First looks are batched (a shift start is one call per 20).
            match hub.seed(&agent, lease).await {
                batch::Seeded::Done => {
                    last_poll = Some(Instant::now());
                    continue;
                }
                batch::Seeded::Details(p) => priority = p,
                batch::Seeded::NoRow => {}
            }
        }
        match hub
            .client
            .poll_user_status(&agent.user_id, &device_id, priority)
            .await
        {
            Ok(data) => {
                hub.update(&agent, lease, |v| v.apply_poll(&data, started, now_ms()))
                    .await;
            }
            Err(e) => {
                tracing::warn!(user_id = %agent.user_id, error = %e, "poll failed");
                let err = AppError::from(e);
                agent.tx.send_modify(|l| l.error = Some(err));
            }
        }
        last_poll = Some(Instant::now());
    }
    hub.metrics.poll_loop_stopped();
    tracing::debug!(user_id = %agent.user_id, "agent loop stopped");
    let user_id = agent.user_id.clone();
    drop(agent);
    hub.forget_if_idle(&user_id);
}

impl Hub {
    pub(super) fn ensure_running(self: &Arc<Self>, agent: &Arc<AgentHub>, device_id: Option<&str>) {
        let mut i = agent.interest();
        i.last_interest = Instant::now();
        if let Some(d) = device_id {
            d.clone_into(&mut i.device_id);
        }
        drop(i);
        self.start_loop(agent);
    }

    /// Starts the agent's loop unless it runs (without marking interest).
    pub(super) fn start_loop(self: &Arc<Self>, agent: &Arc<AgentHub>) {
        let mut i = agent.interest();
        if i.running || *self.shutdown.borrow() {
            return;
        }
        i.running = true;
        drop(i);
        self.metrics.poll_loop_started();
        tokio::spawn(agent_loop(self.clone(), agent.clone()));
    }

    pub(super) fn request_refresh(&self, agent: &AgentHub) {
        self.metrics.ccc_event("refresh");
        agent.refresh.notify_one();
    }
}
