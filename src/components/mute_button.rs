//! Mute / unmute: only during a call; pressed = the server's MUTED truth.

use leptos::prelude::*;

use crate::{
    components::ActionButton,
    i18n::command_label,
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// The mute toggle.
#[component]
pub fn MuteButton() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let muted = Signal::derive(move || tb.snapshot.with(|s| s.as_ref().is_some_and(|s| s.muted)));
    let kind = Signal::derive(move || {
        if muted.get() {
            CommandKind::Unmute
        } else {
            CommandKind::Mute
        }
    });
    // The label names the action, not the pending command.
    let label = Signal::derive(move || command_label(kind.get(), false, tb.lang.get()));
    view! {
        <ActionButton
            kind=kind
            testid="mute"
            class="ccc-btn--mute"
            label=label
            pressed=muted
            on_press=move |_| {
                tb.run(if muted.get_untracked() { Command::Unmute } else { Command::Mute });
            }
        />
    }
}
