use std::{cell::RefCell, rc::Rc};

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use web_sys::{EventTarget, VisibilityState};

use crate::{
    browser::now_ms,
    hooks::{use_event_listener, use_interval_fn, use_leader},
    state::Toolbar,
    sync::{self, SyncHandle},
};

/// Keeps `tb` in sync with the proxy while the current owner lives: elects
/// one leader among this browser's tabs ([`use_leader`]); in the leader runs
/// the sync loop, in a follower passes resyncs on to the leader; ticks
/// [`Toolbar::now`] every second, resyncs at once on `visibilitychange` (to
/// visible), `online`, `pageshow` and `focus` (a follower only when what it
/// shows is stale), and marks the connection offline on `offline`. Stops
/// all of it on cleanup.
///
/// ## Usage
///
/// ```no_run
/// # use ccc_toolbar::{hooks::use_sync, state::Toolbar};
/// # fn f(toolbar: Toolbar) {
/// use_sync(toolbar);
/// # }
/// ```
pub fn use_sync(tb: Toolbar) {
    let base = tb.api.with_value(|a| a.base_path());
    let ask_leader = use_leader(tb, &base);
    let running = SendWrapper::new(Rc::new(RefCell::new(None::<SyncHandle>)));
    let r = running.clone();
    let ask_leader = SendWrapper::new(ask_leader);
    Effect::new(move |was: Option<bool>| {
        let leader = tb.leader.get();
        if was != Some(leader) {
            // The old loop stops (its request aborted) before the new one starts.
            r.replace(None);
            r.replace(Some(if leader {
                sync::start(tb)
            } else {
                sync::forward(tb, (*ask_leader).clone())
            }));
        }
        leader
    });
    on_cleanup(move || drop(running.take()));
    use_interval_fn(move || tb.now.set(now_ms()), 1_000);
    // A wake-up resyncs the leader at once. A follower passes it on only when
    // what it shows is stale: the leader's long-poll keeps it fresh, and a
    // tab switch should not cost the leader a refetch.
    let wake_up = move || {
        if tb.leader.get_untracked()
            || tb
                .health
                .with_untracked(|h| h.stale_since(now_ms()).is_some())
        {
            tb.resync();
        }
    };
    let Some(window) = web_sys::window() else {
        return;
    };
    tb.set_browser_offline(!window.navigator().on_line());
    let w: &EventTarget = window.as_ref();
    use_event_listener(w, "online", move |_| {
        tb.set_browser_offline(false);
        wake_up();
    });
    use_event_listener(w, "offline", move |_| tb.set_browser_offline(true));
    use_event_listener(w, "pageshow", move |_| wake_up());
    use_event_listener(w, "focus", move |_| wake_up());
    if let Some(doc) = window.document() {
        let d: EventTarget = doc.clone().into();
        use_event_listener(&d, "visibilitychange", move |_| {
            if doc.visibility_state() == VisibilityState::Visible {
                tb.now.set(now_ms());
                wake_up();
            }
        });
    }
}
