//! Hold / resume: only while TALKING; pressed = the server's HOLD flag on
//! the customer's leg.

use leptos::prelude::*;

use crate::{
    components::ToggleButton,
    logic::Command,
    state::{Toolbar, TruthStoreFields},
};

/// The hold toggle.
#[component]
pub fn HoldButton() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let held = tb.truth.held();
    view! {
        <ToggleButton
            set=Signal::derive(move || held.get())
            off=Command::Hold
            on=Command::Retrieve
            testid="hold"
            class="ccc-slot"
        />
    }
}
