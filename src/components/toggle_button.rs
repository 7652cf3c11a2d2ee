//! A toggle that shows server truth (mute from `MUTED`, hold from `HOLD`):
//! pressed while the flag is set, its label names the action it will take.

use leptos::prelude::*;

use crate::{components::ActionButton, i18n::command_label, logic::Command, state::Toolbar};

/// The toggle: sends `off` while the flag is clear, `on` while it is set.
#[component]
pub fn ToggleButton(
    /// The server's flag.
    #[prop(into)]
    set: Signal<bool>,
    /// Sent while the flag is clear (mute, hold).
    off: Command,
    /// Sent while the flag is set (unmute, retrieve).
    on: Command,
    /// `data-testid`.
    testid: &'static str,
    /// Extra CSS class.
    #[prop(optional)]
    class: &'static str,
) -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let cmds = StoredValue::new((off, on));
    let next =
        move || cmds.with_value(|(off, on)| if set.get() { on.clone() } else { off.clone() });
    let kind = Signal::derive(move || next().kind());
    let label = Signal::derive(move || command_label(kind.get(), false, tb.lang.get()));
    view! {
        <ActionButton
            kind=kind
            testid=testid
            class=class
            label=label
            pressed=set
            on_press=move |_| {
                tb.run(untrack(next));
            }
        />
    }
}
