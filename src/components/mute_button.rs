//! Mute / unmute: only during a call; pressed = the server's MUTED truth.

use leptos::prelude::*;

use crate::{
    components::ToggleButton,
    logic::Command,
    state::{Toolbar, TruthStoreFields},
};

/// The mute toggle.
#[component]
pub fn MuteButton() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let muted = tb.truth.muted();
    view! {
        <ToggleButton
            set=Signal::derive(move || muted.get())
            off=Command::Mute
            on=Command::Unmute
            testid="mute"
            class="ccc-btn--mute ccc-slot"
        />
    }
}
