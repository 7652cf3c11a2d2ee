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

use ccc_model::api::{AgentSnapshot, ApiErrorBody, Bootstrap, BOOTSTRAP_ELEMENT_ID};
use futures::future::{join, select, Either};
use leptos::{prelude::*, task::spawn_local};
use wasm_bindgen::JsValue;

use crate::{
    browser::{field, js_object, now_ms, random, sleep, Notify},
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

fn encode<T: serde::Serialize>(v: Option<&T>) -> JsValue {
    v.and_then(|v| serde_wasm_bindgen::to_value(v).ok())
        .unwrap_or(JsValue::NULL)
}

fn decode<T: serde::de::DeserializeOwned>(v: JsValue) -> Option<T> {
    if v.is_object() {
        serde_wasm_bindgen::from_value(v).ok()
    } else {
        None
    }
}

/// What the leader shows, as the fields of a plain JS object for a
/// `BroadcastChannel`: the snapshot, the session, the clock offset, the
/// connection's health and the sync's own error (a lost identity).
pub fn share(tb: Toolbar) -> Vec<(&'static str, JsValue)> {
    let health = tb.health.get_untracked();
    let error = tb.error.with_untracked(|e| match e {
        Some(ShownError {
            command: None,
            problem: Problem::Failed(f),
            ..
        }) => match f {
            Failure::Api { status, error } => Some((*status, Some(error.clone()))),
            Failure::Http { status } => Some((*status, None)),
            _ => None,
        },
        _ => None,
    });
    vec![
        ("snap", tb.snapshot.with_untracked(|s| encode(s.as_ref()))),
        ("session", tb.session.with_untracked(|s| encode(s.as_ref()))),
        ("offset", tb.offset.get_untracked().into()),
        ("phone", tb.phone.with_untracked(|p| encode(Some(p)))),
        ("failures", health.failures.into()),
        (
            "lastOk",
            health.last_success_ms.map_or(JsValue::NULL, JsValue::from),
        ),
        (
            "error",
            error.map_or(JsValue::NULL, |(status, e)| {
                js_object(&[
                    ("status", status.into()),
                    (
                        "body",
                        encode(e.map(|error| ApiErrorBody { error }).as_ref()),
                    ),
                ])
            }),
        ),
    ]
}

/// Shows what the leader [`share`]d: the follower renders exactly what the
/// leader sees (a snapshot older than the one shown, e.g. just after this
/// tab's own command, is skipped, as from the sync loop).
pub fn receive(tb: Toolbar, msg: &JsValue) {
    if let Some(snap) = decode::<AgentSnapshot>(field(msg, "snap")) {
        let offset = field(msg, "offset").as_f64().unwrap_or(0.0);
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
    if let Some(phone) = decode::<PhoneStatus>(field(msg, "phone")) {
        if tb.phone.with_untracked(|p| *p != phone) {
            tb.phone.set(phone);
        }
    }
    if let Some(session) = decode(field(msg, "session")) {
        if tb.session.with_untracked(|s| s.as_ref() != Some(&session)) {
            tb.session.set(Some(session));
        }
    }
    let health = SyncHealth {
        browser_offline: tb.health.with_untracked(|h| h.browser_offline),
        failures: field(msg, "failures").as_f64().unwrap_or(0.0) as u32,
        last_success_ms: field(msg, "lastOk").as_f64(),
    };
    if tb.health.get_untracked() != health {
        tb.health.set(health);
    }
    let error = field(msg, "error");
    let failure = field(&error, "status").as_f64().map(|status| {
        let status = status as u16;
        match decode::<ApiErrorBody>(field(&error, "body")) {
            Some(b) => Failure::Api {
                status,
                error: b.error,
            },
            None => Failure::Http { status },
        }
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
