//! Another device took the agent over; offer to take it back.

use std::rc::Rc;

use leptos::prelude::*;
use web_sys::Element;

use crate::{
    components::action_button::{action_button, ActionButton},
    dom::{child, el, slot},
    i18n::{tr, Lang},
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// Appends the banner shown while another device is the agent's active one.
pub fn takeover_banner(tb: Toolbar, parent: &Element) {
    slot(parent, move || {
        let Some(dev) = tb.other_device() else {
            return Vec::new();
        };
        let lang = tb.lang.get();
        let root = el(
            "div",
            &[
                ("class", "ccc-banner"),
                ("data-testid", "takeover-banner"),
                ("role", "alert"),
            ],
        );
        let text = match lang {
            Lang::En => format!("Your agent is now active on another device ({dev})."),
            Lang::Zh => format!("您的坐席已在其他设备（{dev}）上使用。"),
        };
        child(&root, "span", &[], &text);
        let mut b = ActionButton::new(CommandKind::SignIn, "take-back", move || {
            tb.run(Command::SignIn);
        });
        b.label = Some(Rc::new(move || {
            tr(tb.lang.get(), "Use this device", "在此设备上使用").to_owned()
        }));
        action_button(tb, &root, b);
        vec![root]
    });
}
