//! Replicas on Redis: who owns an agent's upstream calls (leases, renewed
//! by a ticker), views shared between replicas, and the fleet's messages.

use super::*;

/// Hands the subscriber's messages to the hubs.
pub(super) async fn fleet_messages(
    hub: std::sync::Weak<Hub>,
    mut rx: mpsc::Receiver<FleetMessage>,
) {
    while let Some(msg) = rx.recv().await {
        let Some(hub) = hub.upgrade() else { return };
        match msg {
            FleetMessage::View { agent, view } => {
                if let Some(a) = hub.existing(&agent) {
                    merge_remote(&a, *view);
                }
            }
            FleetMessage::Refresh { agent } => {
                if let Some(a) = hub.existing(&agent) {
                    hub.request_refresh(&a);
                }
            }
            FleetMessage::Event { event } => {
                hub.apply_forwarded_event(&event).await;
            }
            FleetMessage::Resync => {
                // Redis may have restarted empty: what it lacks, write back
                // (beside the messages that keep coming meanwhile).
                tokio::spawn(async move {
                    hub.write_back().await;
                });
            }
        }
    }
}

/// Acquires and renews leases for every agent held here, a few times per TTL.
pub(super) async fn lease_ticker(hub: std::sync::Weak<Hub>, fleet: Fleet) {
    let period = fleet.lease_ttl() / 3;
    loop {
        let Some(hub) = hub.upgrade() else { return };
        if *hub.shutdown.borrow() {
            hub.release_leases().await;
            return;
        }
        let _ = fleet.heartbeat().await;
        // With hysteresis: one lost heartbeat does not say "down".
        hub.metrics.set_redis_up(fleet.healthy());
        let agents: Vec<Arc<AgentHub>> = hub.lock_agents().values().cloned().collect();
        let wanted: Vec<(String, bool)> = agents
            .iter()
            .map(|a| {
                let pending = a.tx.borrow().view.next_state.is_some();
                let i = a.interest();
                let here = pending || i.waiters > 0 || i.last_interest.elapsed() < hub.opts.idle;
                (a.user_id.clone(), here)
            })
            .collect();
        match fleet.leases(&wanted).await {
            Ok(leases) => {
                let owned = leases.iter().filter(|l| l.is_some()).count();
                hub.metrics.set_owned_agents(owned);
                hub.owned_count.store(owned, Ordering::Relaxed);
                for (a, lease) in agents.iter().zip(leases) {
                    let gained = {
                        let mut i = a.interest();
                        let gained = i.lease.is_none() && lease.is_some();
                        i.lease = lease;
                        gained
                    };
                    if gained {
                        // The new owner takes over; it asks CCC only when it
                        // knows nothing yet (views come through Redis).
                        tracing::debug!(user_id = %a.user_id, "lease acquired");
                        hub.start_loop(a);
                        if a.tx.borrow().snapshot().is_none() {
                            hub.request_refresh(a);
                        }
                    }
                }
            }
            // One failed renewal while Redis is still judged healthy
            // (hysteresis): keep the leases; they are fenced in Redis anyway.
            Err(_) if fleet.healthy() => {}
            Err(_) => {
                // Alone: every loop acts as owner until Redis answers again.
                hub.metrics.set_owned_agents(0);
                hub.owned_count.store(0, Ordering::Relaxed);
                for a in &agents {
                    a.interest().lease = None;
                }
            }
        }
        let mut shutdown = hub.shutdown.clone();
        // Hold no agent while asleep: an unwatched one must be forgettable.
        drop(agents);
        drop(hub);
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = shutdown.wait_for(|s| *s) => {}
        }
    }
}

impl Hub {
    /// The stored view of `user_id` in Redis, taken into the local hub.
    pub async fn load_shared(&self, user_id: &str) -> Option<View> {
        let fleet = self.in_fleet()?;
        let (_, view) = fleet.load(user_id).await.ok()?;
        let view = view.filter(|v| v.snapshot.is_some())?;
        let agent = self.agent(user_id);
        merge_remote(&agent, view);
        self.view(user_id)
    }

    /// After the subscription (re)connected: for every agent held here, the
    /// newer of the local and the stored view wins, in Redis and here (a
    /// Redis that restarted empty gets every replica's views back). Returns
    /// how many views were written.
    pub async fn write_back(&self) -> usize {
        // Not `in_fleet`: health may still be recovering (hysteresis).
        let Some(fleet) = &self.fleet else { return 0 };
        let agents: Vec<Arc<AgentHub>> = self.lock_agents().values().cloned().collect();
        let mut written = 0;
        'agents: for agent in agents {
            for _ in 0..CAS_ATTEMPTS {
                let local = agent.tx.borrow().view.clone();
                let Ok((rev, remote)) = fleet.load(&agent.user_id).await else {
                    // Redis is gone again: the next reconnect writes back.
                    break 'agents;
                };
                if let Some(remote) = remote {
                    if local.snapshot.is_none() || remote.version() >= local.version() {
                        merge_remote(&agent, remote);
                        continue 'agents;
                    }
                }
                if local.snapshot.is_none() {
                    continue 'agents;
                }
                match fleet.store(&agent.user_id, rev, &local, true, None).await {
                    Ok(Cas::Stored) => {
                        written += 1;
                        continue 'agents;
                    }
                    Ok(Cas::Conflict) => continue,
                    Ok(Cas::Fenced) | Err(_) => continue 'agents,
                }
            }
        }
        if written > 0 {
            tracing::info!(
                views = written,
                "redis lacked views held here: written back"
            );
        }
        written
    }

    /// Tries to take `agent`'s lease at once (fleet mode, nobody holds it).
    pub(super) async fn claim_lease(&self, agent: &AgentHub) {
        let Some(fleet) = self.in_fleet() else { return };
        if agent.interest().lease.is_some() {
            return;
        }
        if let Ok(leases) = fleet.leases(&[(agent.user_id.clone(), true)]).await {
            if let Some(lease) = leases.into_iter().next().flatten() {
                agent.interest().lease = Some(lease);
            }
        }
    }

    /// Drops this replica's leases (graceful shutdown).
    pub async fn release_leases(&self) {
        if let Some(fleet) = self.in_fleet() {
            let ids: Vec<String> = self.lock_agents().keys().cloned().collect();
            let _ = fleet.release(&ids).await;
        }
    }

    /// Agents whose lease this replica holds (for tests and metrics).
    pub fn owned(&self) -> Vec<String> {
        let agents: Vec<Arc<AgentHub>> = self.lock_agents().values().cloned().collect();
        agents
            .into_iter()
            .filter(|a| a.interest().lease.is_some())
            .map(|a| a.user_id.clone())
            .collect()
    }
}
