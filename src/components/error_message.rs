//! The last error in plain words, announced to screen readers.

use leptos::prelude::*;
use web_sys::Element;

use crate::{
    dom::{effect, el, elt, on, set_attr, slot},
    i18n::tr,
    state::Toolbar,
};

/// The error line under the controls (always in the DOM so it is announced).
pub fn error_message(tb: Toolbar) -> Element {
    let root = el(
        "div",
        &[
            ("data-testid", "error-message"),
            ("role", "alert"),
            ("aria-live", "assertive"),
        ],
    );
    let r = root.clone();
    effect(move || {
        tb.error.with(|e| {
            set_attr(
                &r,
                "class",
                Some(if e.is_some() {
                    "ccc-error ccc-error--shown"
                } else {
                    "ccc-error"
                }),
            );
            set_attr(&r, "data-code", e.as_ref().map(|e| e.code()).as_deref());
            set_attr(
                &r,
                "data-command",
                e.as_ref().and_then(|e| e.command).map(|c| c.name()),
            );
        })
    });
    slot(&root, move || {
        let Some(e) = tb.error.get() else {
            return Vec::new();
        };
        let lang = tb.lang.get();
        let close = elt(
            "button",
            &[
                ("type", "button"),
                ("class", "ccc-btn ccc-btn--link"),
                ("data-testid", "dismiss-error"),
                ("aria-label", tr(lang, "Dismiss", "关闭")),
            ],
            "×",
        );
        on(&close, "click", move |_| tb.error.set(None));
        vec![
            elt("span", &[("class", "ccc-error__text")], &e.text(lang)),
            close,
        ]
    });
    root
}
