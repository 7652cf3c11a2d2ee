//! A command button: enabled only where CCC allows the command, says why not
//! (`title` and a described-by text), shows pending until the proxy answers.

use std::sync::atomic::{AtomicUsize, Ordering};

use leptos::prelude::*;

use crate::{i18n::command_label, logic::CommandKind, state::Toolbar};

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A page-unique element id (`ccc-<prefix>-<n>`).
pub fn unique_id(prefix: &str) -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    format!("ccc-{prefix}-{n}")
}

/// `"true"` / `"false"`, for `aria-*` and `data-*` attributes.
pub fn yes_no(v: bool) -> &'static str {
    if v {
        "true"
    } else {
        "false"
    }
}

/// A `<button>` for one command, and its reason text. Disabled buttons keep
/// focus (they use `aria-disabled`, so keyboard users can reach them and hear
/// why).
#[component]
pub fn ActionButton(
    /// The command: decides enabled / why not / pending.
    #[prop(into)]
    kind: Signal<CommandKind>,
    /// `data-testid` of the button; its reason text gets `<testid>-reason`.
    testid: &'static str,
    /// Runs on a press of the enabled button.
    #[prop(into)]
    on_press: Callback<()>,
    /// Label while not pending (default: the command's own label).
    #[prop(optional, into)]
    label: Option<Signal<&'static str>>,
    /// A further reason to stay disabled (e.g. nothing chosen yet).
    #[prop(optional, into)]
    blocked: Option<Signal<Option<String>>>,
    /// `aria-pressed`, for toggle buttons.
    #[prop(optional, into)]
    pressed: Option<Signal<bool>>,
    /// Extra CSS class.
    #[prop(optional)]
    class: &'static str,
) -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let reason = Memo::new(move |_| {
        tb.why_not(kind.get())
            .or_else(|| blocked.and_then(|b| b.get()))
    });
    let pending = Memo::new(move |_| tb.pending.with(|p| p.current() == Some(kind.get())));
    let text = Signal::derive(move || match label {
        Some(l) if !pending.get() => l.get(),
        _ => command_label(kind.get(), pending.get(), tb.lang.get()),
    });
    let reason: Signal<Option<String>> = reason.into();
    let busy = Signal::derive(move || yes_no(pending.get()));
    let id = unique_id("why");
    view! {
        <button
            type="button"
            class=format!("ccc-btn {class}")
            data-testid=testid
            aria-describedby=id.clone()
            aria-disabled=Signal::derive(move || yes_no(reason.with(Option::is_some)))
            aria-busy=busy
            data-pending=busy
            aria-pressed=Signal::derive(move || pressed.map(|p| yes_no(p.get()).to_owned()))
            title=reason
            on:click=move |_| {
                if reason.with_untracked(Option::is_none) {
                    on_press.run(());
                }
            }
        >
            {text}
        </button>
        <span id=id class="ccc-sr-only" data-testid=format!("{testid}-reason")>
            {reason}
        </span>
    }
}
