//! Connected / reconnecting / offline, and "stale since hh:mm:ss".

use leptos::prelude::*;
use web_sys::Element;

use crate::{
    browser::local_clock,
    dom::{effect, el, elt, on, set_attr, set_text, slot},
    i18n::tr,
    logic::ConnectionState,
    state::Toolbar,
};

/// The connection indicator.
pub fn connection_status(tb: Toolbar) -> Element {
    let root = el(
        "div",
        &[("data-testid", "connection-status"), ("role", "status")],
    );
    crate::dom::child(
        &root,
        "span",
        &[("class", "ccc-conn__dot"), ("aria-hidden", "true")],
        "",
    );
    let label = el("span", &[]);
    crate::dom::add(&root, &label);
    let (r, l) = (root.clone(), label);
    effect(move || {
        let state = tb.connection();
        let lang = tb.lang.get();
        set_attr(
            &r,
            "class",
            Some(&format!("ccc-conn ccc-conn--{}", state.as_str())),
        );
        set_attr(&r, "data-connection", Some(state.as_str()));
        set_text(
            &l,
            match state {
                ConnectionState::Connected => tr(lang, "Connected", "已连接"),
                ConnectionState::Reconnecting => tr(lang, "Reconnecting…", "正在重连…"),
                ConnectionState::Offline => tr(lang, "Offline", "网络断开"),
            },
        );
    });
    slot(&root, move || {
        let lang = tb.lang.get();
        let mut out = Vec::new();
        if let Some(t) = tb.health.with(|h| h.stale_since(tb.now.get())) {
            out.push(elt(
                "span",
                &[("class", "ccc-conn__stale"), ("data-testid", "stale-since")],
                &format!(
                    "{} {}",
                    tr(lang, "stale since", "数据停留于"),
                    local_clock(t)
                ),
            ));
        }
        if tb.connection() != ConnectionState::Connected {
            let b = elt(
                "button",
                &[
                    ("type", "button"),
                    ("class", "ccc-btn ccc-btn--link"),
                    ("data-testid", "resync-now"),
                ],
                tr(lang, "Retry now", "立即重试"),
            );
            on(&b, "click", move |_| tb.resync());
            out.push(b);
        }
        out
    });
    root
}
