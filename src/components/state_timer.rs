//! Time in the current state (`m:ss` / `h:mm:ss`), from server timestamps.

use leptos::prelude::*;

use crate::logic::clock::format_duration;

/// The time-in-state timer (`–:––` when unknown).
#[component]
pub fn StateTimer(
    /// Time in the current state (ms, skew-corrected); `None` when unknown.
    #[prop(into)]
    elapsed: Signal<Option<i64>>,
) -> impl IntoView {
    view! {
        <span class="ccc-timer" data-testid="state-timer" role="timer">
            {Signal::derive(move || elapsed.get().map_or_else(|| "–:––".to_owned(), format_duration))}
        </span>
    }
}
