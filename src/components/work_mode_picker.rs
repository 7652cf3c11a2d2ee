//! Work mode: ON_SITE / OFF_SITE (with a mobile number) / OFFICE_PHONE.

use ccc_model::WorkMode;
use leptos::prelude::*;

use crate::{
    components::ActionButton,
    i18n::{tr, work_mode_label},
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// The work-mode select, the mobile number for OFF_SITE and the switch
/// button. The agent's choice stays local until sent; the select shows the
/// server's mode again whenever that changes.
#[component]
pub fn WorkModePicker() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let server_mode = Memo::new(move |_| {
        tb.snapshot
            .with(|s| s.as_ref().and_then(|s| s.agent.work_mode.clone()))
    });
    // The agent's unsent choice; cleared when the server's mode changes.
    let choice = RwSignal::new(None::<WorkMode>);
    let mobile = RwSignal::new(String::new());
    Effect::new(move || {
        server_mode.track();
        choice.set(None);
        if let Some(m) = tb
            .snapshot
            .with_untracked(|s| s.as_ref().and_then(|s| s.agent.mobile.clone()))
        {
            mobile.set(m);
        }
    });
    let selected = move || choice.get().or_else(|| server_mode.get());
    let modes = move || {
        tb.session.with(|s| {
            s.as_ref()
                .map(|s| s.work_modes.clone())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| WorkMode::ALL.to_vec())
        })
    };
    let reason = Memo::new(move |_| tb.why_not(CommandKind::WorkMode));
    let reason_text: Signal<Option<String>> = reason.into();
    let blocked = Signal::derive(move || {
        let lang = tb.lang.get();
        match selected() {
            None => Some(tr(lang, "Choose a work mode.", "请选择工作模式。").to_owned()),
            Some(m) if Some(&m) == server_mode.get().as_ref() && choice.get().is_none() => Some(
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
    });
    let off_site = Memo::new(move |_| selected() == Some(WorkMode::OffSite));
    let apply = move |_| {
        if let Some(mode) = untrack(selected) {
            let mobile = (mode == WorkMode::OffSite)
                .then(|| mobile.get_untracked().trim().to_owned())
                .filter(|m| !m.is_empty());
            tb.run(Command::WorkMode { mode, mobile });
        }
    };
    view! {
        <span class="ccc-group ccc-workmode">
            <select
                class="ccc-select"
                data-testid="work-mode-picker"
                aria-label=tb.text("Work mode", "工作模式")
                disabled=Signal::derive(move || reason.with(Option::is_some))
                title=reason_text
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    choice.set(Some(WorkMode::parse(&v)));
                }
            >
                {move || {
                    let lang = tb.lang.get();
                    let current = selected();
                    modes()
                        .into_iter()
                        .map(|m| {
                            let sel = current.as_ref() == Some(&m);
                            view! {
                                <option value=m.as_str().to_owned() selected=sel>
                                    {work_mode_label(&m, lang)}
                                </option>
                            }
                        })
                        .collect_view()
                }}
            </select>
            <Show when=move || off_site.get()>
                <input
                    class="ccc-input"
                    type="tel"
                    inputmode="tel"
                    autocomplete="tel"
                    data-testid="mobile-input"
                    aria-label=tb.text("Mobile number", "手机号")
                    placeholder=tb.text("Mobile number", "手机号")
                    prop:value=mobile
                    on:input=move |ev| mobile.set(event_target_value(&ev))
                />
            </Show>
            <ActionButton
                kind=CommandKind::WorkMode
                testid="work-mode-apply"
                blocked=blocked
                on_press=apply
            />
        </span>
    }
}
