//! Reset state, after a confirmation.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::{
    components::action_button::{action_button, ActionButton},
    dom::{add, child, el, focus, on, slot},
    i18n::tr,
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// Appends the reset button and its inline confirmation to `parent`.
pub fn reset_button(tb: Toolbar, parent: &Element) {
    let confirming = RwSignal::new(false);
    let group = el("span", &[("class", "ccc-group")]);
    add(parent, &group);
    action_button(
        tb,
        &group,
        ActionButton::new(CommandKind::Reset, "reset", move || confirming.set(true))
            .class("ccc-btn--quiet"),
    );
    slot(&group, move || {
        if !confirming.get() {
            return Vec::new();
        }
        let lang = tb.lang.get();
        let root = el(
            "span",
            &[
                ("class", "ccc-confirm"),
                ("role", "group"),
                ("data-testid", "reset-confirmation"),
            ],
        );
        on(&root, "keydown", move |ev| {
            if ev
                .dyn_ref::<web_sys::KeyboardEvent>()
                .is_some_and(|k| k.key() == "Escape")
            {
                confirming.set(false);
            }
        });
        child(
            &root,
            "span",
            &[],
            tr(
                lang,
                "Reset your state? You will be signed out.",
                "确定重置状态？您将被下线。",
            ),
        );
        let yes = child(
            &root,
            "button",
            &[
                ("type", "button"),
                ("class", "ccc-btn ccc-btn--danger"),
                ("data-testid", "confirm-reset"),
            ],
            tr(lang, "Reset", "重置"),
        );
        on(&yes, "click", move |_| {
            confirming.set(false);
            tb.run(Command::Reset);
        });
        let no = child(
            &root,
            "button",
            &[
                ("type", "button"),
                ("class", "ccc-btn"),
                ("data-testid", "cancel-reset"),
            ],
            tr(lang, "Cancel", "取消"),
        );
        on(&no, "click", move |_| confirming.set(false));
        // Focus moves to the confirm button once it is in the document.
        let f = yes.clone();
        leptos::task::spawn_local(async move { focus(&f) });
        vec![root]
    });
}
