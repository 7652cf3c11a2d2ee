//! `use_dtmf`: keypad keys to the customer (`POST /api/v1/agent/dtmf`,
//! SendDtmfSignaling on the customer's channel). The toolbar sends one
//! command at a time, so keys typed while one is on its way wait in a
//! [`DtmfQueue`] and go together (at most 32) as soon as it is answered:
//! none is dropped, the order is kept. With the softphone, a `Command::Dtmf`
//! passes its intercept first (`Toolbar::run`), where RFC 4733 through
//! `RTCDTMFSender` can take it.

use leptos::prelude::*;

use crate::{
    logic::{transfer::DtmfQueue, Command},
    state::Toolbar,
};

/// What [`use_dtmf`] gives the keypad.
#[derive(Debug, Clone, Copy)]
pub struct UseDtmfReturn {
    /// The keys sent so far (in order), for the display.
    pub sent: Signal<String>,
    /// Queues a key (`0-9*#`; others are ignored) and sends what waits.
    pub press: Callback<char>,
}

/// Sends keypad keys for the current owner's lifetime.
///
/// ## Usage
///
/// ```no_run
/// # use ccc_toolbar::{hooks::use_dtmf, state::Toolbar};
/// # use leptos::prelude::*;
/// # fn f(toolbar: Toolbar) {
/// let keys = use_dtmf(toolbar);
/// keys.press.run('5');
/// # }
/// ```
pub fn use_dtmf(tb: Toolbar) -> UseDtmfReturn {
    let queue = StoredValue::new(DtmfQueue::default());
    let sent = RwSignal::new(String::new());
    let flush = move || {
        if tb.pending.with_untracked(|p| p.current().is_some()) {
            return;
        }
        let Some(req) = queue.try_update_value(|q| q.take()).flatten() else {
            return;
        };
        let digits = req.digits.clone();
        if tb.run(Command::Dtmf(req)) {
            sent.update(|s| s.push_str(&digits));
        }
    };
    // The command in flight was answered: what waits goes now.
    Effect::new(move || {
        if tb.pending.with(|p| p.current().is_none()) {
            untrack(flush);
        }
    });
    let press = Callback::new(move |key: char| {
        if queue.try_update_value(|q| q.push(key)) == Some(true) {
            flush();
        }
    });
    UseDtmfReturn {
        sent: sent.into(),
        press,
    }
}
