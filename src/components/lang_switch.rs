//! Switches between English and Chinese.

use leptos::prelude::*;
use web_sys::Element;

use crate::{
    dom::{effect, el, on, set_attr, set_text},
    i18n::Lang,
    state::Toolbar,
};

/// The language button: shows the other language's name.
pub fn lang_switch(tb: Toolbar) -> Element {
    let b = el(
        "button",
        &[
            ("type", "button"),
            ("class", "ccc-btn ccc-btn--link"),
            ("data-testid", "lang-switch"),
        ],
    );
    let e = b.clone();
    effect(move || {
        let (tag, name) = match tb.lang.get() {
            Lang::En => ("zh-CN", "中文"),
            Lang::Zh => ("en", "English"),
        };
        set_attr(&e, "lang", Some(tag));
        set_text(&e, name);
    });
    on(&b, "click", move |_| {
        tb.lang
            .update(|l| *l = if *l == Lang::En { Lang::Zh } else { Lang::En })
    });
    b
}
