//! Break with a reason: a button opening a searchable listbox of the
//! configured codes, recently used first. Arrow keys, Enter, Escape, typing
//! filters.

use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Element;

use crate::{
    components::action_button::{action_button, unique_id, ActionButton},
    dom::{add, attr, effect, el, focus, on, prop, set_attr, slot, target_value, text},
    i18n::{break_label, tr},
    logic::{breaks, Command, CommandKind},
    state::Toolbar,
};

/// Appends the break-reason picker to `parent`.
pub fn break_picker(tb: Toolbar, parent: &Element) {
    let open = tb.break_menu_open;
    let query = RwSignal::new(String::new());
    let active = RwSignal::new(0usize);
    let list_id = unique_id("breaks");
    let opt_prefix = unique_id("opt");
    let options = move || {
        let configured = tb.session.with(|s| {
            s.as_ref()
                .map(|s| s.break_codes.clone())
                .unwrap_or_default()
        });
        let ordered = tb.recent_breaks.with(|r| breaks::ordered(&configured, r));
        let lang = tb.lang.get();
        query.with(|q| {
            breaks::filter(&ordered, q, |c| break_label(c, lang))
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let close = move || {
        open.set(false);
        query.set(String::new());
        active.set(0);
    };
    let choose = move |code: String| {
        close();
        tb.run(Command::Break { code });
    };

    let root = el("span", &[("class", "ccc-picker")]);
    add(parent, &root);
    let mut button = ActionButton::new(CommandKind::Break, "break-picker", move || {
        if open.get_untracked() {
            close()
        } else {
            open.set(true)
        }
    });
    button.label = Some(Rc::new(move || {
        format!("{} ▾", tr(tb.lang.get(), "Break", "小休"))
    }));
    action_button(tb, &root, button);

    let popup = el(
        "div",
        &[("class", "ccc-popup"), ("data-testid", "break-menu")],
    );
    add(&root, &popup);
    let input = el(
        "input",
        &[
            ("class", "ccc-input"),
            ("type", "text"),
            ("role", "combobox"),
            ("autocomplete", "off"),
            ("data-testid", "break-search"),
            ("aria-autocomplete", "list"),
            ("aria-controls", &list_id),
        ],
    );
    add(&popup, &input);
    let list = el(
        "ul",
        &[
            ("class", "ccc-listbox"),
            ("role", "listbox"),
            ("id", &list_id),
        ],
    );
    add(&popup, &list);

    // Shown when open; the search box gets focus when the menu opens (also
    // by shortcut).
    let (p, i) = (popup.clone(), input.clone());
    effect(move || {
        let o = open.get();
        set_attr(&p, "hidden", (!o).then_some(""));
        set_attr(&i, "aria-expanded", Some(if o { "true" } else { "false" }));
        if o {
            focus(&i);
        }
    });
    // A state where break is not allowed closes the menu.
    effect(move || {
        if tb.why_not(CommandKind::Break).is_some() && open.get_untracked() {
            close();
        }
    });
    let prefix = opt_prefix.clone();
    attr(&input, "aria-activedescendant", move || {
        Some(format!("{prefix}-{}", active.get()))
    });
    let i = input.clone();
    effect(move || {
        let lang = tb.lang.get();
        set_attr(&i, "aria-label", Some(tr(lang, "Break reason", "小休原因")));
        set_attr(
            &i,
            "placeholder",
            Some(tr(lang, "Search reasons…", "搜索原因…")),
        );
    });
    prop(&input, "value", move || query.get().into());
    on(&input, "input", move |ev| {
        query.set(target_value(&ev));
        active.set(0);
    });
    on(&input, "keydown", move |ev| {
        let Some(ev) = ev.dyn_ref::<web_sys::KeyboardEvent>() else {
            return;
        };
        let opts = untrack(options);
        let n = opts.len();
        match ev.key().as_str() {
            "ArrowDown" => {
                ev.prevent_default();
                if n > 0 {
                    active.update(|a| *a = (*a + 1) % n);
                }
            }
            "ArrowUp" => {
                ev.prevent_default();
                if n > 0 {
                    active.update(|a| *a = (*a + n - 1) % n);
                }
            }
            "Home" => active.set(0),
            "End" => active.set(n.saturating_sub(1)),
            "Enter" => {
                ev.prevent_default();
                if let Some(code) = opts.get(active.get_untracked()).cloned() {
                    choose(code);
                }
            }
            "Escape" => {
                ev.prevent_default();
                close();
            }
            _ => {}
        }
    });
    slot(&list, move || {
        let lang = tb.lang.get();
        let current = active.get();
        options()
            .into_iter()
            .enumerate()
            .map(|(i, code)| {
                let selected = current == i;
                let li = el(
                    "li",
                    &[
                        ("role", "option"),
                        ("id", &format!("{opt_prefix}-{i}")),
                        (
                            "class",
                            if selected {
                                "ccc-option ccc-option--active"
                            } else {
                                "ccc-option"
                            },
                        ),
                        ("aria-selected", if selected { "true" } else { "false" }),
                        ("data-testid", "break-option"),
                        ("data-code", &code),
                    ],
                );
                text(&li, &break_label(&code, lang));
                on(&li, "mousedown", |ev| ev.prevent_default());
                on(&li, "click", move |_| choose(code.clone()));
                li
            })
            .collect()
    });
}
