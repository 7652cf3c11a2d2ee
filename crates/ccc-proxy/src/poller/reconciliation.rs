//! The reconciliation sweep (events on): `ListRealtimeAgentStates` over
//! the watched agents catches events that were lost.

use super::*;

pub(super) async fn reconcile_loop(hub: std::sync::Weak<Hub>) {
    loop {
        let (period, mut shutdown) = match hub.upgrade() {
            Some(h) => (h.opts.reconcile, h.shutdown.clone()),
            None => return,
        };
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let Some(h) = hub.upgrade() else { return };
        h.reconcile_once().await;
    }
}

impl Hub {
    /// One reconciliation sweep over the agents this replica calls CCC for.
    pub async fn reconcile_once(&self) {
        let shown: HashMap<String, reconcile::Shown> = {
            let agents: Vec<Arc<AgentHub>> = self.lock_agents().values().cloned().collect();
            agents
                .into_iter()
                .filter(|a| self.owns(a))
                .filter_map(|a| {
                    let shown = a.tx.borrow().snapshot().map(|s| reconcile::Shown {
                        state: s.agent.state.clone(),
                        break_code: s.agent.break_code.clone(),
                    });
                    shown.map(|s| (a.user_id.clone(), s))
                })
                .collect()
        };
        if shown.is_empty() {
            return;
        }
        let mut ids: Vec<String> = shown.keys().cloned().collect();
        ids.sort();
        let last_total = usize::try_from(self.last_total.load(Ordering::Relaxed)).unwrap_or(0);
        let mut seen = Vec::new();
        let by_ids = match reconcile::plan(&ids, last_total) {
            reconcile::Sweep::ByIds(chunks) => {
                for chunk in chunks {
                    let list = serde_json::to_string(&chunk).unwrap_or_default();
                    match self.client.list_realtime_states(1, Some(&list)).await {
                        Ok(page) => seen.extend(page.list),
                        Err(e) => {
                            tracing::warn!(error = %e, "reconciliation sweep failed");
                            return;
                        }
                    }
                }
                true
            }
            reconcile::Sweep::Pages(_) => {
                let mut page_no = 1;
                loop {
                    match self.client.list_realtime_states(page_no, None).await {
                        Ok(page) => {
                            let done = page.list.is_empty()
                                || page_no * reconcile::PAGE_SIZE >= page.total_count;
                            self.last_total
                                .store(page.total_count as u64, Ordering::Relaxed);
                            seen.extend(page.list);
                            if done {
                                break;
                            }
                            page_no += 1;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "reconciliation sweep failed");
                            return;
                        }
                    }
                }
                false
            }
        };
        let differing = reconcile::differing(&shown, &seen, self.client.instance_id(), by_ids);
        if !differing.is_empty() {
            tracing::info!(
                agents = differing.len(),
                "reconciliation found stale agents"
            );
        }
        for (id, repair) in differing {
            let Some(agent) = self.existing(&id) else {
                continue;
            };
            // A sweep of many pages takes seconds: an agent whose view moved
            // since it began had events arriving; its row may be older than
            // them, and the next sweep looks again.
            let now_shown = agent.tx.borrow().snapshot().map(|s| reconcile::Shown {
                state: s.agent.state.clone(),
                break_code: s.agent.break_code.clone(),
            });
            if now_shown.as_ref() != shown.get(&id) {
                continue;
            }
            match repair {
                reconcile::Repair::Apply { change, at } => {
                    let (_, outcome) = self
                        .update(&agent, None, |v| v.apply_event(&change, at, None, now_ms()))
                        .await;
                    if matches!(outcome, Applied::Stale | Applied::NoBase) {
                        // The sweep's time did not beat the shown one: ask CCC.
                        self.request_refresh(&agent);
                    }
                }
                reconcile::Repair::Refresh => self.request_refresh(&agent),
            }
        }
    }
}
