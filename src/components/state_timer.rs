//! Time in the current state (`m:ss` / `h:mm:ss`), from server timestamps.

use leptos::prelude::*;

use crate::logic::clock::format_duration;

/// The time-in-state timer.
#[component]
pub fn StateTimer(
    /// Milliseconds in the current state, skew-corrected (`None`: unknown).
    #[prop(into)]
    elapsed: Signal<Option<i64>>,
) -> impl IntoView {
    view! {
        <span class="ccc-timer" data-testid="state-timer" role="timer">
            {move || elapsed.get().map(format_duration).unwrap_or_else(|| "–:––".into())}
        </span>
    }
}
