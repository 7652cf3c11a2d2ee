//! The sync loop: long-polls the agent's snapshot through the proxy, backs
//! off on failure, wakes at once on [`Toolbar::resync`]. At start (and after
//! every failure) it fetches `/api/v1/session` and `/api/v1/agent` in
//! parallel, and shows the snapshot as soon as it arrives.
//!
//! It only feeds [`Toolbar::sync_succeeded`] / [`Toolbar::sync_failed`]; a
//! leader tab that shares its snapshots with the others would run it, and
//! the followers would feed the same two methods from a `BroadcastChannel`.

use std::{cell::Cell, pin::pin, rc::Rc};

use futures::future::{join, select, Either};
use leptos::{prelude::*, task::spawn_local};

use crate::{
    browser::{now_ms, random, sleep, Notify},
    logic::{Backoff, Failure},
    state::Toolbar,
};

/// Stops the sync loop (and aborts its request) when dropped.
#[derive(Debug)]
pub struct SyncHandle {
    stop: Rc<Cell<bool>>,
    wake: Rc<Notify>,
}

impl SyncHandle {
    /// Stops the loop and aborts its request.
    pub fn stop(&self) {
        self.stop.set(true);
        self.wake.notify();
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the sync loop of `tb`; it runs until the handle is dropped.
pub fn start(tb: Toolbar) -> SyncHandle {
    let stop = Rc::new(Cell::new(false));
    let handle = SyncHandle {
        stop: stop.clone(),
        wake: tb.wake.get_value(),
    };
    spawn_local(sync_loop(tb, stop));
    handle
}

async fn sync_loop(tb: Toolbar, stop: Rc<Cell<bool>>) {
    let (Some(api), Some(wake), Some(config)) = (
        tb.api.try_get_value(),
        tb.wake.try_get_value(),
        tb.config.try_get_value(),
    ) else {
        return;
    };
    let mut backoff = Backoff::new(config.backoff_base_ms, config.backoff_cap_ms);
    let mut fresh = true;
    while !stop.get() {
        let since = if fresh {
            None
        } else {
            tb.snapshot
                .try_with_untracked(|s| s.as_ref().map(|s| s.context_id))
                .flatten()
        };
        let need_session = tb
            .session
            .try_with_untracked(Option::is_none)
            .unwrap_or(false);
        let session = async {
            if need_session {
                let s = api.session().await?;
                tb.session.try_set(Some(s));
            }
            Ok::<_, Failure>(())
        };
        let agent = async {
            let snap = api.agent(since, config.wait_secs).await?;
            tb.sync_succeeded(snap, now_ms());
            Ok(())
        };
        let attempt = async {
            let (s, a) = join(session, agent).await;
            s.and(a)
        };
        let outcome = match select(pin!(attempt), pin!(wake.notified())).await {
            Either::Left((result, _)) => Some(result),
            Either::Right(_) => None,
        };
        if stop.get() {
            return;
        }
        match outcome {
            Some(Ok(())) => {
                backoff.reset();
                fresh = false;
            }
            Some(Err(f)) => {
                tb.sync_failed(f);
                fresh = true;
                let delay = backoff.next_delay(random());
                if let Either::Right(_) = select(pin!(sleep(delay)), pin!(wake.notified())).await {
                    backoff.reset();
                }
            }
            // resync(): start over with a fresh snapshot.
            None => fresh = true,
        }
    }
}
