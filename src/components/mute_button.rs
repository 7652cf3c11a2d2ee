//! Mute / unmute: only during a call; pressed = the server's MUTED truth.

use leptos::prelude::*;

use crate::{components::ToggleButton, logic::Command, state::Toolbar};

/// The mute toggle.
#[component]
pub fn MuteButton() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let muted = Signal::derive(move || tb.snapshot.with(|s| s.as_ref().is_some_and(|s| s.muted)));
    view! {
        <ToggleButton
            set=muted
            off=Command::Mute
            on=Command::Unmute
            testid="mute"
            class="ccc-btn--mute"
        />
    }
}
