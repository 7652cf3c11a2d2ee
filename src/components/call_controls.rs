//! Answer and hang up: the agent takes and ends calls from the toolbar
//! (AnswerCall / ReleaseCall on the agent's current call, chosen by the
//! proxy). Hanging up a ringing call rejects it.

use web_sys::Element;

use crate::{
    components::action_button::{action_button, ActionButton},
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// Appends the answer and hang-up buttons to `parent`.
pub fn call_controls(tb: Toolbar, parent: &Element) {
    action_button(
        tb,
        parent,
        ActionButton::new(CommandKind::Answer, "answer", move || {
            tb.run(Command::Answer);
        })
        .class("ccc-btn--answer"),
    );
    action_button(
        tb,
        parent,
        ActionButton::new(CommandKind::Hangup, "hangup", move || {
            tb.run(Command::Hangup);
        })
        .class("ccc-btn--hangup"),
    );
}
