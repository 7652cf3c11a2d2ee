//! A command button: enabled only where CCC allows the command, says why not
//! (`title` and a described-by text), shows pending until the proxy answers.

use std::sync::atomic::{AtomicUsize, Ordering};

use leptos::prelude::*;

use crate::{i18n::command_label, logic::CommandKind, state::Toolbar};

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A page-unique element id (`ccc-<prefix>-<n>`).
pub fn unique_id(prefix: &str) -> String {
    format!("ccc-{prefix}-{}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// A `<button>` for one command. Disabled buttons keep focus (they use
/// `aria-disabled`, so keyboard users can reach them and hear why).
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
    /// Label (default: the command's own label).
    #[prop(optional, into)]
    label: Option<Signal<String>>,
    /// A further reason to stay disabled (e.g. nothing chosen yet).
    #[prop(optional, into)]
    blocked: Option<Signal<Option<String>>>,
    /// `aria-pressed`, for toggle buttons.
    #[prop(optional, into)]
    pressed: Option<Signal<bool>>,
    /// Extra CSS classes.
    #[prop(optional)]
    class: &'static str,
) -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let reason = Memo::new(move |_| {
        tb.why_not(kind.get())
            .or_else(|| blocked.and_then(|b| b.get()))
    });
    let is_pending = Memo::new(move |_| tb.pending.with(|p| p.current() == Some(kind.get())));
    let text = move || match label {
        Some(l) if !is_pending.get() => l.get(),
        _ => command_label(kind.get(), is_pending.get(), tb.lang.get()).to_owned(),
    };
    let id = unique_id("why");
    let id2 = id.clone();
    view! {
        <button
            type="button"
            class=format!("ccc-btn {class}")
            data-testid=testid
            aria-disabled=move || reason.with(Option::is_some).to_string()
            aria-busy=move || is_pending.get().to_string()
            data-pending=move || is_pending.get().to_string()
            aria-pressed=move || pressed.map(|p| p.get().to_string())
            title=move || reason.get()
            aria-describedby=id
            on:click=move |_| {
                if reason.with_untracked(Option::is_none) {
                    on_press.run(());
                }
            }
        >
            {text}
        </button>
        <span id=id2 class="ccc-sr-only" data-testid=format!("{testid}-reason")>
            {move || reason.get()}
        </span>
    }
}
