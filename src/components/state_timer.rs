//! Time in the current state (`m:ss` / `h:mm:ss`), from server timestamps.

use web_sys::Element;

use crate::{
    dom::{el, text_of},
    logic::clock::format_duration,
    state::Toolbar,
};

/// The time-in-state timer (skew-corrected; `–:––` when unknown).
pub fn state_timer(tb: Toolbar) -> Element {
    let e = el(
        "span",
        &[
            ("class", "ccc-timer"),
            ("data-testid", "state-timer"),
            ("role", "timer"),
        ],
    );
    text_of(&e, move || {
        tb.time_in_state()
            .map(format_duration)
            .unwrap_or_else(|| "–:––".into())
    });
    e
}
