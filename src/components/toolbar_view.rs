//! The whole toolbar: root element with the DOM contract attributes, status
//! row, controls, error line, call panel, live region.

use leptos::prelude::*;
use web_sys::Element;

use crate::{
    components::*,
    dom::{add, child, effect, el, set_attr, text_of},
    i18n::tr,
    state::Toolbar,
};

/// Colour theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Light (default).
    #[default]
    Light,
    /// Dark.
    Dark,
    /// Follow `prefers-color-scheme`.
    Auto,
}

impl Theme {
    /// Parses `light`, `dark`, `auto` (anything else: light).
    pub fn parse(s: &str) -> Self {
        match s {
            "dark" => Theme::Dark,
            "auto" => Theme::Auto,
            _ => Theme::Light,
        }
    }

    /// `data-theme` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
            Theme::Auto => "auto",
        }
    }
}

/// The toolbar (`standalone`: the full softphone-tab layout instead of the
/// compact bar).
pub fn toolbar_view(tb: Toolbar, standalone: bool, theme: Theme) -> Element {
    let class = format!(
        "ccc-toolbar {}{}",
        if standalone {
            "ccc-toolbar--standalone"
        } else {
            "ccc-toolbar--bar"
        },
        match theme {
            Theme::Dark => " ccc-toolbar--dark",
            Theme::Auto => " ccc-toolbar--auto",
            Theme::Light => "",
        }
    );
    let root = el(
        "div",
        &[
            ("class", &class),
            ("data-testid", "ccc-toolbar"),
            ("data-theme", theme.as_str()),
            ("role", "region"),
        ],
    );
    let r = root.clone();
    effect(move || {
        let lang = tb.lang.get();
        let (state, muted) = tb.snapshot.with(|s| {
            (
                s.as_ref().map(|s| s.agent.state.as_str().to_owned()),
                s.as_ref().is_some_and(|s| s.muted),
            )
        });
        set_attr(&r, "data-state", state.as_deref());
        set_attr(&r, "data-connection", Some(tb.connection().as_str()));
        set_attr(&r, "data-muted", Some(if muted { "true" } else { "false" }));
        set_attr(&r, "lang", Some(lang.tag()));
        set_attr(
            &r,
            "aria-label",
            Some(tr(
                lang,
                "Contact center agent toolbar",
                "联络中心坐席工具条",
            )),
        );
    });
    if standalone {
        let header = child(&root, "header", &[("class", "ccc-header")], "");
        let name = child(
            &header,
            "span",
            &[("class", "ccc-header__name"), ("data-testid", "agent-name")],
            "",
        );
        text_of(&name, move || {
            tb.session
                .with(|s| s.as_ref().map(|s| s.display_name.clone()))
                .unwrap_or_default()
        });
        let user = child(&header, "span", &[("class", "ccc-header__user")], "");
        text_of(&user, move || {
            tb.session
                .with(|s| s.as_ref().map(|s| s.user_id.clone()))
                .unwrap_or_default()
        });
    }
    let status = child(&root, "div", &[("class", "ccc-row ccc-row--status")], "");
    add(
        &status,
        &state_badge(
            move || {
                tb.snapshot
                    .with(|s| s.as_ref().map(|s| s.agent.clone()).unwrap_or_default())
            },
            move || tb.lang.get(),
        ),
    );
    add(&status, &state_timer(tb));
    add(&status, &connection_status(tb));
    add(&status, &lang_switch(tb));
    takeover_banner(tb, &root);
    let controls = child(
        &root,
        "div",
        &[("class", "ccc-row ccc-row--controls"), ("role", "group")],
        "",
    );
    let c = controls.clone();
    effect(move || {
        set_attr(
            &c,
            "aria-label",
            Some(tr(tb.lang.get(), "Agent state", "坐席状态")),
        )
    });
    sign_in_out(tb, &controls);
    ready_button(tb, &controls);
    break_picker(tb, &controls);
    call_controls(tb, &controls);
    mute_button(tb, &controls);
    work_mode_picker(tb, &controls);
    reset_button(tb, &controls);
    add(&root, &error_message(tb));
    add(&root, &call_info(tb));
    add(&root, &live_region(tb));
    root
}
