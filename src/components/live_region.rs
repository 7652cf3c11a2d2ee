//! A polite live region announcing state and mute changes.

use std::cell::RefCell;

use ccc_model::UserState;
use leptos::prelude::*;
use web_sys::Element;

use crate::{
    dom::{effect, el, set_text},
    i18n::{break_label, state_label, tr},
    state::Toolbar,
};

type Seen = (Option<(UserState, Option<String>)>, Option<bool>);

/// Visually hidden; screen readers read each change.
pub fn live_region(tb: Toolbar) -> Element {
    let root = el(
        "div",
        &[
            ("class", "ccc-sr-only"),
            ("aria-live", "polite"),
            ("aria-atomic", "true"),
            ("data-testid", "live-region"),
        ],
    );
    let r = root.clone();
    let last = RefCell::new(None::<Seen>);
    effect(move || {
        let now: Seen = tb.snapshot.with(|s| {
            (
                s.as_ref()
                    .map(|s| (s.agent.state.clone(), s.agent.break_code.clone())),
                s.as_ref().map(|s| s.muted),
            )
        });
        let prev = last.replace(Some(now.clone()));
        let (state, muted) = now;
        let lang = tb.lang.get_untracked();
        if prev.as_ref().is_none_or(|p| p.0 != state) {
            if let Some((s, code)) = state {
                let mut text = format!("{}: {}", tr(lang, "State", "状态"), state_label(&s, lang));
                if let Some(c) = code.filter(|_| s == UserState::Break) {
                    text.push_str(&format!(" ({})", break_label(&c, lang)));
                }
                set_text(&r, &text);
            }
        }
        if let (Some((_, Some(before))), Some(m)) = (prev, muted) {
            if before != m {
                set_text(
                    &r,
                    tr(
                        lang,
                        if m { "Muted" } else { "Unmuted" },
                        if m { "已静音" } else { "已取消静音" },
                    ),
                );
            }
        }
    });
    root
}
