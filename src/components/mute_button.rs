//! Mute / unmute: only during a call; pressed = the server's MUTED truth.

use std::rc::Rc;

use leptos::prelude::*;
use web_sys::Element;

use crate::{
    components::action_button::{action_button, ActionButton},
    i18n::command_label,
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// Appends the mute toggle to `parent`.
pub fn mute_button(tb: Toolbar, parent: &Element) {
    let muted = move || tb.snapshot.with(|s| s.as_ref().is_some_and(|s| s.muted));
    let kind = move || {
        if muted() {
            CommandKind::Unmute
        } else {
            CommandKind::Mute
        }
    };
    action_button(
        tb,
        parent,
        ActionButton {
            kind: Rc::new(kind),
            testid: "mute",
            on_press: Rc::new(move || {
                tb.run(if untrack(muted) {
                    Command::Unmute
                } else {
                    Command::Mute
                });
            }),
            label: Some(Rc::new(move || {
                command_label(kind(), false, tb.lang.get()).to_owned()
            })),
            blocked: None,
            pressed: Some(Rc::new(muted)),
            class: "ccc-btn--mute",
        },
    );
}
