//! Agents nobody watches are forgotten, so memory follows the number of
//! watched agents: an agent's hub leaves the map when its loop has stopped,
//! no long-poll waits, nothing else holds it (a request in flight, a
//! follower), and it keeps nothing that must outlive the toolbar (a
//! pending next state, a presence notice waiting for the agent's return).
//! The stopping loop forgets its own agent at once; a sweep every
//! [`sweep_period`] catches hubs made without a loop (a command, an
//! event, a presence decision).

use super::*;

/// How often the sweep looks: the idle time, between 1 s and 60 s.
pub fn sweep_period(idle: Duration) -> Duration {
    idle.clamp(Duration::from_secs(1), Duration::from_secs(60))
}

/// True when nothing needs `agent` any more. Call with the map locked:
/// the count of holders cannot grow meanwhile (every clone is taken under
/// that lock).
fn forgettable(agent: &Arc<AgentHub>) -> bool {
    if Arc::strong_count(agent) > 1 {
        return false;
    }
    let idle = {
        let i = agent.interest();
        !i.running && i.waiters == 0
    };
    let latest = agent.tx.borrow();
    idle && latest.view.next_state.is_none() && latest.view.presence.is_none()
}

pub(super) async fn janitor_loop(hub: std::sync::Weak<Hub>) {
    loop {
        let (period, mut shutdown) = match hub.upgrade() {
            Some(h) => (sweep_period(h.opts.idle), h.shutdown.clone()),
            None => return,
        };
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let Some(h) = hub.upgrade() else { return };
        h.forget_idle();
    }
}

impl Hub {
    /// Agents this process holds a hub for.
    pub fn agents_held(&self) -> usize {
        self.lock_agents().len()
    }

    /// Forgets every agent nobody needs; returns how many.
    pub fn forget_idle(&self) -> usize {
        let mut map = self.lock_agents();
        let before = map.len();
        map.retain(|_, a| !forgettable(a));
        let forgotten = before - map.len();
        if map.capacity() > 64 && map.len() < map.capacity() / 4 {
            // The table itself: give back what a shift's peak left.
            map.shrink_to_fit();
        }
        self.metrics.set_agents_held(map.len());
        forgotten
    }

    /// Forgets `user_id` if nobody needs it (its loop just stopped).
    pub(super) fn forget_if_idle(&self, user_id: &str) {
        let mut map = self.lock_agents();
        if map.get(user_id).is_some_and(forgettable) {
            map.remove(user_id);
            self.metrics.set_agents_held(map.len());
        }
    }
}
