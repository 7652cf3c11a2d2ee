//! Go online / go offline.

use web_sys::Element;

use crate::{
    components::action_button::{action_button, ActionButton},
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// Appends the sign-in and sign-out buttons to `parent`.
pub fn sign_in_out(tb: Toolbar, parent: &Element) {
    action_button(
        tb,
        parent,
        ActionButton::new(CommandKind::SignIn, "sign-in", move || {
            tb.run(Command::SignIn);
        })
        .class("ccc-btn--primary"),
    );
    action_button(
        tb,
        parent,
        ActionButton::new(CommandKind::SignOut, "sign-out", move || {
            tb.run(Command::SignOut);
        }),
    );
}
