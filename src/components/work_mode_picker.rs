//! Work mode: ON_SITE / OFF_SITE (with a mobile number) / OFFICE_PHONE.

use std::rc::Rc;

use ccc_model::WorkMode;
use leptos::prelude::*;
use web_sys::Element;

use crate::{
    components::action_button::{action_button, ActionButton},
    dom::{add, effect, el, on, prop, set_attr, show, slot, target_value, text},
    i18n::{tr, work_mode_label},
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// Appends the work-mode select, the mobile number for OFF_SITE and the
/// switch button to `parent`.
pub fn work_mode_picker(tb: Toolbar, parent: &Element) {
    let server_mode = move || {
        tb.snapshot
            .with(|s| s.as_ref().and_then(|s| s.agent.work_mode.clone()))
    };
    // The agent's unsent choice; cleared when the server's mode changes.
    let choice = RwSignal::new(None::<WorkMode>);
    let mobile = RwSignal::new(String::new());
    let seen = std::cell::RefCell::new(None::<Option<WorkMode>>);
    effect(move || {
        let mode = server_mode();
        if seen.borrow().as_ref() == Some(&mode) {
            return;
        }
        *seen.borrow_mut() = Some(mode);
        choice.set(None);
        if let Some(m) = tb
            .snapshot
            .with_untracked(|s| s.as_ref().and_then(|s| s.agent.mobile.clone()))
        {
            mobile.set(m);
        }
    });
    let selected = move || choice.get().or_else(server_mode);
    let modes = move || {
        tb.session.with(|s| {
            s.as_ref()
                .map(|s| s.work_modes.clone())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| WorkMode::ALL.to_vec())
        })
    };
    let blocked = move || {
        let lang = tb.lang.get();
        match selected() {
            None => Some(tr(lang, "Choose a work mode.", "请选择工作模式。").to_owned()),
            Some(m) if Some(&m) == server_mode().as_ref() && choice.get().is_none() => Some(
                tr(
                    lang,
                    "This is already your work mode.",
                    "已是当前工作模式。",
                )
                .to_owned(),
            ),
            Some(WorkMode::OffSite) if mobile.with(|m| m.trim().is_empty()) => {
                Some(tr(lang, "Enter your mobile number.", "请填写手机号。").to_owned())
            }
            _ => None,
        }
    };
    let apply = move || {
        if let Some(mode) = untrack(selected) {
            let mobile = (mode == WorkMode::OffSite)
                .then(|| mobile.get_untracked().trim().to_owned())
                .filter(|m| !m.is_empty());
            tb.run(Command::WorkMode { mode, mobile });
        }
    };

    let group = el("span", &[("class", "ccc-group ccc-workmode")]);
    add(parent, &group);
    let select = el(
        "select",
        &[("class", "ccc-select"), ("data-testid", "work-mode-picker")],
    );
    add(&group, &select);
    let s = select.clone();
    effect(move || {
        let reason = tb.why_not(CommandKind::WorkMode);
        set_attr(
            &s,
            "aria-label",
            Some(tr(tb.lang.get(), "Work mode", "工作模式")),
        );
        set_attr(&s, "disabled", reason.is_some().then_some(""));
        set_attr(&s, "title", reason.as_deref());
    });
    on(&select, "change", move |ev| {
        choice.set(Some(WorkMode::parse(&target_value(&ev))));
    });
    slot(&select, move || {
        let lang = tb.lang.get();
        let current = selected();
        modes()
            .into_iter()
            .map(|m| {
                let o = el("option", &[("value", m.as_str())]);
                if current.as_ref() == Some(&m) {
                    let _ = o.set_attribute("selected", "");
                }
                text(&o, &work_mode_label(&m, lang));
                o
            })
            .collect()
    });
    let off_site = move || choice.get().or_else(server_mode) == Some(WorkMode::OffSite);
    show(&group, off_site, move || {
        let label = tr(tb.lang.get(), "Mobile number", "手机号");
        let input = el(
            "input",
            &[
                ("class", "ccc-input"),
                ("type", "tel"),
                ("inputmode", "tel"),
                ("autocomplete", "tel"),
                ("data-testid", "mobile-input"),
                ("aria-label", label),
                ("placeholder", label),
            ],
        );
        prop(&input, "value", move || mobile.get().into());
        on(&input, "input", move |ev| mobile.set(target_value(&ev)));
        vec![input]
    });
    let mut b = ActionButton::new(CommandKind::WorkMode, "work-mode-apply", apply);
    b.blocked = Some(Rc::new(blocked));
    action_button(tb, &group, b);
}
