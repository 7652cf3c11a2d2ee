use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::KeyboardEvent;

use crate::{
    hooks::use_event_listener,
    logic::{
        shortcuts::{self, Combo, KeyPress, ShortcutAction},
        Command, CommandKind,
    },
    state::Toolbar,
};

/// True when a key event comes from a place where typing happens.
pub(crate) fn typing_target(ev: &KeyboardEvent) -> bool {
    let Some(el) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return false;
    };
    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT") || el.is_content_editable()
}

/// Keyboard shortcuts on the whole page (not while typing in an input,
/// textarea, select or contenteditable element, the host's included), while
/// the current owner lives. `table` comes from [`shortcuts::table`].
///
/// ## Usage
///
/// ```no_run
/// # use ccc_toolbar::{hooks::use_shortcuts, logic::shortcuts, state::Toolbar};
/// # fn f(toolbar: Toolbar) {
/// use_shortcuts(toolbar, shortcuts::table(&[]));
/// # }
/// ```
pub fn use_shortcuts(tb: Toolbar, table: Vec<(ShortcutAction, Combo)>) {
    if table.is_empty() {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    use_event_listener(window.as_ref(), "keydown", move |ev| {
        let Some(ev) = ev.dyn_ref::<KeyboardEvent>() else {
            return;
        };
        if ev.repeat() || typing_target(ev) {
            return;
        }
        let (key, code) = (ev.key(), ev.code());
        let press = KeyPress {
            key: &key,
            code: &code,
            alt: ev.alt_key(),
            ctrl: ev.ctrl_key(),
            shift: ev.shift_key(),
            meta: ev.meta_key(),
        };
        let Some(action) = shortcuts::lookup(&table, &press) else {
            return;
        };
        ev.prevent_default();
        match action {
            ShortcutAction::Mute => {
                let muted = tb
                    .snapshot
                    .with_untracked(|s| s.as_ref().is_some_and(|s| s.muted));
                let (kind, cmd) = if muted {
                    (CommandKind::Unmute, Command::Unmute)
                } else {
                    (CommandKind::Mute, Command::Mute)
                };
                if tb.why_not(kind).is_none() {
                    tb.run(cmd);
                }
            }
            ShortcutAction::Ready => {
                if tb.why_not(CommandKind::Ready).is_none() {
                    tb.run(Command::Ready {
                        outbound_only: false,
                    });
                }
            }
            ShortcutAction::BreakMenu => {
                if tb.why_not(CommandKind::Break).is_none() {
                    tb.status_menu_open.set(true);
                }
            }
        }
    });
}
