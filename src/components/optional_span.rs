//! A `<span>` of text that is in the DOM only while there is text.

use leptos::prelude::*;

/// `<span class=class data-testid=testid>text</span>` while `text` is
/// `Some`, nothing otherwise. One component for every optional label (break
/// code, work mode, extension, "stale since"), so they share one render path.
#[component]
pub fn OptionalSpan(
    /// CSS class of the span.
    class: &'static str,
    /// `data-testid` of the span.
    testid: &'static str,
    /// The text (`None`: no span).
    #[prop(into)]
    text: Signal<Option<String>>,
) -> impl IntoView {
    move || {
        text.get()
            .map(|t| view! { <span class=class data-testid=testid>{t}</span> })
    }
}
