//! Answer and hang up: the agent takes and ends calls from the toolbar
//! (AnswerCall / ReleaseCall on the agent's current call, chosen by the
//! proxy). Hanging up a ringing call rejects it; hold puts the customer on
//! hold (HoldCall on the customer's leg).

use leptos::prelude::*;

use crate::{
    components::{ActionButton, HoldButton},
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// The answer, hang-up and hold buttons.
#[component]
pub fn CallControls() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    view! {
        <ActionButton
            kind=CommandKind::Answer
            testid="answer"
            class="ccc-btn--answer"
            on_press=move |_| {
                tb.run(Command::Answer);
            }
        />
        <ActionButton
            kind=CommandKind::Hangup
            testid="hangup"
            class="ccc-btn--hangup"
            on_press=move |_| {
                tb.run(Command::Hangup);
            }
        />
        <HoldButton />
    }
}
