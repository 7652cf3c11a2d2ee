//! Go online / go offline.

use leptos::prelude::*;

use crate::{
    components::ActionButton,
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// The sign-in and sign-out buttons.
#[component]
pub fn SignInOut() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    view! {
        <ActionButton
            kind=CommandKind::SignIn
            testid="sign-in"
            class="ccc-btn--primary"
            on_press=move |_| {
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
