//! Ready, with the outbound-only option.

use leptos::prelude::*;
use wasm_bindgen::JsValue;
use web_sys::Element;

use crate::{
    components::action_button::{action_button, ActionButton},
    dom::{add, child, effect, el, on, prop, text_of},
    i18n::tr,
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// Appends the Ready button and its outbound-only checkbox to `parent`.
pub fn ready_button(tb: Toolbar, parent: &Element) {
    let outbound = RwSignal::new(false);
    effect(move || {
        if let Some(o) = tb
            .snapshot
            .with(|s| s.as_ref().map(|s| s.agent.outbound_scenario))
        {
            outbound.set(o);
        }
    });
    let group = el("span", &[("class", "ccc-group")]);
    add(parent, &group);
    action_button(
        tb,
        &group,
        ActionButton::new(CommandKind::Ready, "ready", move || {
            tb.run(Command::Ready {
                outbound_only: outbound.get_untracked(),
            });
        })
        .class("ccc-btn--ready"),
    );
    let label = child(&group, "label", &[("class", "ccc-check")], "");
    let input = child(
        &label,
        "input",
        &[("type", "checkbox"), ("data-testid", "outbound-only")],
        "",
    );
    prop(&input, "checked", move || {
        JsValue::from_bool(outbound.get())
    });
    on(&input, "change", move |ev| {
        let checked = ev
            .target()
            .and_then(|t| js_sys::Reflect::get(&t, &JsValue::from_str("checked")).ok())
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        outbound.set(checked);
    });
    let text = child(&label, "span", &[], "");
    text_of(&text, move || {
        tr(tb.lang.get(), "Outbound only", "仅外呼").to_owned()
    });
}
