//! Where the toolbar's state comes from.
//!
//! - In the leader tab ([`start`]): the sync loop long-polls the agent's
//!   snapshot through the proxy, backs off on failure, wakes at once on
//!   [`Toolbar::resync`]. At start (and after every failure) it fetches
//!   `/api/v1/session` and `/api/v1/agent` in parallel, and shows the
//!   snapshot as soon as it arrives. A tab that takes over from another
//!   leader already shows the last snapshot, so it goes straight to the
//!   long-poll (no refetch, no flash).
//! - In a follower tab ([`forward`]): no request at all; a resync is passed
//!   on to the leader, and the leader's [`share`] messages, arriving over a
//!   `BroadcastChannel` ([`crate::hooks::use_leader`]), are shown with
//!   [`receive`].

use std::{cell::Cell, pin::pin, rc::Rc};

use ccc_model::api::{AgentSnapshot, ApiErrorBody, Bootstrap, Session, BOOTSTRAP_ELEMENT_ID};
use futures::future::{join, select, Either};
use leptos::{prelude::*, task::spawn_local};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

use crate::{
    browser::{now_ms, random, sleep, Notify},
    logic::{Backoff, Failure, SyncHealth},
    softphone_status::PhoneStatus,
    state::{Problem, ShownError, Toolbar},
};

/// Stops the sync loop (and aborts its request), or the follower's
/// forwarding, when dropped.
#[derive(Debug)]
pub struct SyncHandle {
    stop: Rc<Cell<bool>>,
    stopped: Rc<Notify>,
}

impl SyncHandle {
    fn new() -> Self {
        SyncHandle {
            stop: Rc::new(Cell::new(false)),
            stopped: Rc::new(Notify::default()),
        }
    }

    /// Stops the loop and aborts its request.
    pub fn stop(&self) {
        self.stop.set(true);
        self.stopped.notify();
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the sync loop of `tb`; it runs until the handle is dropped.
pub fn start(tb: Toolbar) -> SyncHandle {
    let handle = SyncHandle::new();
    spawn_local(sync_loop(tb, handle.stop.clone(), handle.stopped.clone()));
    handle
}

/// A follower's stand-in for the sync loop: calls `resync` (which asks the
/// leader) whenever [`Toolbar::resync`] is called, until the handle is dropped.
pub fn forward(tb: Toolbar, resync: Rc<dyn Fn()>) -> SyncHandle {
    let handle = SyncHandle::new();
    let (stop, stopped) = (handle.stop.clone(), handle.stopped.clone());
    spawn_local(async move {
        let Some(wake) = tb.wake.try_get_value() else {
            return;
        };
        while let Either::Left(_) = select(pin!(wake.notified()), pin!(stopped.notified())).await {
            if stop.get() {
                return;
            }
            resync();
        }
    });
    handle
}

async fn sync_loop(tb: Toolbar, stop: Rc<Cell<bool>>, stopped: Rc<Notify>) {
    let (Some(api), Some(wake), Some(config)) = (
        tb.api.try_get_value(),
        tb.wake.try_get_value(),
        tb.config.try_get_value(),
    ) else {
        return;
    };
    let mut backoff = Backoff::new(config.backoff_base_ms, config.backoff_cap_ms);
    // A tab taking over from the leader already shows its snapshot.
    let mut fresh = tb
        .snapshot
        .try_with_untracked(Option::is_none)
        .unwrap_or(true);
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
        let outcome = match select(pin!(attempt), pin!(woken(&wake, &stopped))).await {
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
                if let Either::Right(_) =
                    select(pin!(sleep(delay)), pin!(woken(&wake, &stopped))).await
                {
                    backoff.reset();
                }
            }
            // resync(): start over with a fresh snapshot.
            None => fresh = true,
        }
    }
}

/// Shows the first session and snapshot the proxy inlined into the page it
/// served this agent (`<script type="application/json" id="ccc-bootstrap">`,
/// [`ccc_model::api::Bootstrap`]) before any request: the toolbar shows the
/// truth at once, and the sync loop starts with the long-poll. Read once
/// (the element is removed): a second toolbar on the page fetches.
pub fn bootstrap(tb: Toolbar) {
    let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(BOOTSTRAP_ELEMENT_ID))
    else {
        return;
    };
    el.remove();
    let parsed = el
        .text_content()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .and_then(decode::<Bootstrap>);
    if let Some(Bootstrap {
        session,
        snapshot,
        softphone_withheld,
    }) = parsed
    {
        // Without its softphone block the session is incomplete: the sync
        // loop fetches it (it does whenever there is none), beside the
        // long-poll; the state shows from the page at once either way.
        if !softphone_withheld {
            tb.session.set(Some(session));
        }
        tb.sync_succeeded(snapshot, now_ms());
    }
}

/// Resolves on a resync or when the loop is stopped.
async fn woken(wake: &Notify, stopped: &Notify) {
    let _ = select(pin!(wake.notified()), pin!(stopped.notified())).await;
}

fn decode<T: serde::de::DeserializeOwned>(v: JsValue) -> Option<T> {
    if v.is_object() {
        serde_wasm_bindgen::from_value(v).ok()
    } else {
        None
    }
}

/// What the leader shows, shared with the follower tabs (the `state`
/// message of [`crate::hooks::use_leader`]): the snapshot, the session, the
/// clock offset, the softphone, the connection's health and the sync's own
/// error (a lost identity). Encoded and decoded by derive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shared {
    /// The snapshot shown.
    pub snap: Option<AgentSnapshot>,
    /// The session.
    pub session: Option<Session>,
    /// Server clock minus local clock (ms).
    pub offset: f64,
    /// The softphone's state.
    pub phone: PhoneStatus,
    /// Sync failures since the last success.
    pub failures: u32,
    /// Local time (ms) of the last successful sync.
    pub last_ok: Option<f64>,
    /// The sync's own error, if one is shown.
    pub error: Option<SharedError>,
}

/// A sync error as shared: the HTTP status and the API's error body, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedError {
    /// HTTP status.
    pub status: u16,
    /// The error body (`None`: no readable body).
    pub body: Option<ApiErrorBody>,
}

/// What the leader shows ([`Shared`]).
pub fn share(tb: Toolbar) -> Shared {
    let health = tb.health.get_untracked();
    let error = tb.error.with_untracked(|e| match e {
        Some(ShownError {
            command: None,
            problem: Problem::Failed(f),
            ..
        }) => match f {
            Failure::Api { status, error } => Some(SharedError {
                status: *status,
                body: Some(ApiErrorBody {
                    error: error.clone(),
                }),
            }),
            Failure::Http { status } => Some(SharedError {
                status: *status,
                body: None,
            }),
            _ => None,
        },
        _ => None,
    });
    Shared {
        snap: tb.snapshot.get_untracked(),
        session: tb.session.get_untracked(),
        offset: tb.offset.get_untracked(),
        phone: tb.phone.get_untracked(),
        failures: health.failures,
        last_ok: health.last_success_ms,
        error,
    }
}

/// Shows what the leader [`share`]d: the follower renders exactly what the
/// leader sees (a snapshot older than the one shown, e.g. just after this
/// tab's own command, is skipped, as from the sync loop).
pub fn receive(tb: Toolbar, shared: Shared) {
    let Shared {
        snap,
        session,
        offset,
        phone,
        failures,
        last_ok,
        error,
    } = shared;
    if let Some(snap) = snap {
        if tb.offset.get_untracked() != offset {
            tb.offset.set(offset);
        }
        let keep = tb.snapshot.with_untracked(|s| {
            s.as_ref()
                .is_some_and(|s| s.context_id > snap.context_id || *s == snap)
        });
        if !keep {
            tb.snapshot.set(Some(snap));
        }
    }
    if tb.phone.with_untracked(|p| *p != phone) {
        tb.phone.set(phone);
    }
    if let Some(session) = session {
        if tb.session.with_untracked(|s| s.as_ref() != Some(&session)) {
            tb.session.set(Some(session));
        }
    }
    let health = SyncHealth {
        browser_offline: tb.health.with_untracked(|h| h.browser_offline),
        failures,
        last_success_ms: last_ok,
    };
    if tb.health.get_untracked() != health {
        tb.health.set(health);
    }
    let failure = error.map(|SharedError { status, body }| match body {
        Some(b) => Failure::Api {
            status,
            error: b.error,
        },
        None => Failure::Http { status },
    });
    show_sync_error(tb, failure);
}

/// Shows `failure` as the sync's error, or clears a shown sync error.
fn show_sync_error(tb: Toolbar, failure: Option<Failure>) {
    let (shown, seq) = tb.error.with_untracked(|e| match e {
        Some(e) => (
            match (&e.command, &e.problem) {
                (None, Problem::Failed(f)) => Some(f.clone()),
                _ => None,
            },
            e.seq,
        ),
        None => (None, 0),
    });
    if shown == failure {
        return;
    }
    match failure {
        Some(f) => tb.error.set(Some(ShownError {
            command: None,
            problem: Problem::Failed(f),
            seq: seq + 1,
        })),
        None if shown.is_some() => tb.error.set(None),
        None => {}
    }
}
