//! Go online / go offline. "Go online" is the gesture on which the toolbar
//! asks for the notification permission and unlocks audio for the ring tone
//! (never on load).

use leptos::prelude::*;

use crate::{
    components::ActionButton,
    hooks::Ringer,
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// The sign-in and sign-out buttons.
#[component]
pub fn SignInOut() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let ringer = use_context::<Ringer>();
    view! {
        <ActionButton
            kind=CommandKind::SignIn
            testid="sign-in"
            class="ccc-btn--primary"
            on_press=move |_| {
                if let Some(r) = &ringer {
                    r.prime();
                }
                tb.run(Command::SignIn);
            }
        />
        <ActionButton
            kind=CommandKind::SignOut
            testid="sign-out"
            on_press=move |_| {
                tb.run(Command::SignOut);
            }
        />
    }
}
