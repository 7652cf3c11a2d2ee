//! The agent-state badge: state label, break reason, work mode and extension.

use ccc_model::{api::Agent, UserState};
use web_sys::Element;

use crate::{
    dom::{child, effect, el, elt, set_attr, set_text, slot},
    i18n::{break_label, state_label, work_mode_label, Lang},
};

/// CSS modifier for a state, so colour follows state (the label says it too:
/// colour is never the only signal).
pub fn state_class(state: &UserState) -> &'static str {
    match state {
        UserState::Offline => "offline",
        UserState::Ready => "ready",
        UserState::Break => "break",
        UserState::Dialing | UserState::Ringing => "alerting",
        UserState::Talking => "talking",
        UserState::Working => "working",
        UserState::Unknown(_) => "unknown",
    }
}

/// Shows the agent's state, break code (BREAK only), work mode and extension.
/// `agent` and `lang` are read reactively.
pub fn state_badge(
    agent: impl Fn() -> Agent + 'static,
    lang: impl Fn() -> Lang + 'static,
) -> Element {
    badge(Box::new(agent), Box::new(lang))
}

fn badge(agent: Box<dyn Fn() -> Agent>, lang: Box<dyn Fn() -> Lang>) -> Element {
    let agent: std::rc::Rc<dyn Fn() -> Agent> = agent.into();
    let lang: std::rc::Rc<dyn Fn() -> Lang> = lang.into();
    let root = el("div", &[("data-testid", "state-badge")]);
    child(
        &root,
        "span",
        &[("class", "ccc-badge__dot"), ("aria-hidden", "true")],
        "",
    );
    let label = child(
        &root,
        "span",
        &[
            ("class", "ccc-badge__state"),
            ("data-testid", "agent-state"),
        ],
        "",
    );
    let (r, a, l) = (root.clone(), agent.clone(), lang.clone());
    effect(move || {
        let state = a().state;
        set_attr(
            &r,
            "class",
            Some(&format!("ccc-badge ccc-badge--{}", state_class(&state))),
        );
        set_attr(&r, "data-state", Some(state.as_str()));
        set_text(&label, &state_label(&state, l()));
    });
    slot(&root, move || {
        let a = agent();
        let lang = lang();
        let mut out = Vec::new();
        if let (UserState::Break, Some(code)) = (&a.state, &a.break_code) {
            out.push(elt(
                "span",
                &[("class", "ccc-badge__break"), ("data-testid", "break-code")],
                &break_label(code, lang),
            ));
        }
        if let Some(m) = &a.work_mode {
            out.push(elt(
                "span",
                &[("class", "ccc-badge__mode"), ("data-testid", "work-mode")],
                &work_mode_label(m, lang),
            ));
        }
        if let Some(ext) = &a.extension {
            out.push(elt(
                "span",
                &[("class", "ccc-badge__ext"), ("data-testid", "extension")],
                ext,
            ));
        }
        out
    });
    root
}
