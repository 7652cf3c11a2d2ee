//! Hold / resume: only while TALKING; pressed = the server's HOLD flag on
//! the customer's leg.

use leptos::prelude::*;

use crate::{components::ToggleButton, logic::Command, state::Toolbar};

/// The hold toggle.
#[component]
pub fn HoldButton() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let held = Signal::derive(move || tb.snapshot.with(|s| s.as_ref().is_some_and(|s| s.held)));
    view! { <ToggleButton set=held off=Command::Hold on=Command::Retrieve testid="hold" /> }
}
