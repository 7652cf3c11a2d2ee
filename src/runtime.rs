//! Hooks that connect a [`Toolbar`] to the browser while its owner lives:
//! the sync loop, the one-second clock, resync on wake-up events, keyboard
//! shortcuts. Everything is released in `on_cleanup`.

use std::time::Duration;

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use web_sys::{EventTarget, KeyboardEvent, VisibilityState};

use crate::{
    browser::{listen, now_ms, Listener},
    logic::{
        shortcuts::{self, Combo, KeyPress, ShortcutAction},
        Command, CommandKind,
    },
    state::Toolbar,
};

/// Starts the sync loop, ticks [`Toolbar::now`] every second, and resyncs at
/// once on `visibilitychange` (to visible), `online`, `pageshow` and `focus`;
/// `offline` marks the connection offline. Stops all of it on cleanup.
pub fn use_sync(tb: Toolbar) {
    let sync = tb.start_sync();
    let tick = set_interval_with_handle(move || tb.now.set(now_ms()), Duration::from_secs(1)).ok();
    let mut guards: Vec<Listener> = Vec::new();
    if let Some(window) = web_sys::window() {
        tb.set_browser_offline(!window.navigator().on_line());
        let w: EventTarget = window.clone().into();
        guards.push(listen(&w, "online", move |_| {
            tb.set_browser_offline(false);
            tb.resync();
        }));
        guards.push(listen(&w, "offline", move |_| tb.set_browser_offline(true)));
        guards.push(listen(&w, "pageshow", move |_| tb.resync()));
        guards.push(listen(&w, "focus", move |_| tb.resync()));
        if let Some(doc) = window.document() {
            let d: EventTarget = doc.clone().into();
            guards.push(listen(&d, "visibilitychange", move |_| {
                if doc.visibility_state() == VisibilityState::Visible {
                    tb.now.set(now_ms());
                    tb.resync();
                }
            }));
        }
    }
    let held = SendWrapper::new((sync, guards));
    on_cleanup(move || {
        if let Some(t) = tick {
            t.clear();
        }
        drop(held);
    });
}

/// True when a key event comes from a place where typing happens.
fn typing_target(ev: &KeyboardEvent) -> bool {
    let Some(el) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return false;
    };
    matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT") || el.is_content_editable()
}

/// Keyboard shortcuts on the whole page (not inside text inputs).
pub fn use_shortcuts(tb: Toolbar, table: Vec<(ShortcutAction, Combo)>) {
    if table.is_empty() {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let w: EventTarget = window.into();
    let guard = listen(&w, "keydown", move |ev| {
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
                    tb.break_menu_open.set(true);
                }
            }
        }
    });
    let held = SendWrapper::new(guard);
    on_cleanup(move || drop(held));
}
