//! Settings, out of the way: a gear button opening a drawer with the work
//! mode (and mobile number), the language, the softphone's audio devices
//! (when the softphone provides them) and "reset a stuck state" with its
//! confirmation. Escape or × closes it and gives the focus back to the gear.

use leptos::{html, prelude::*};

use crate::{
    components::{
        action_button::unique_id, yes_no, LangSwitch, OptionalSpan, ResetButton, WorkModePicker,
    },
    i18n::{self, work_mode_label},
    state::{Toolbar, TruthStoreFields, Whole},
};

/// The gear button and the settings drawer.
#[component]
pub fn Settings(
    /// The softphone's device pickers (microphone, speaker), shown under
    /// "Audio devices"; none: the section is left out.
    #[prop(optional)]
    devices: Option<ChildrenFn>,
) -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let open = tb.settings_open;
    let gear = NodeRef::<html::Button>::new();
    let close_btn = NodeRef::<html::Button>::new();
    let id = unique_id("settings");
    let close = move || {
        open.set(false);
        if let Some(g) = gear.get_untracked() {
            let _ = g.focus();
        }
    };
    Effect::new(move || {
        if open.get() {
            request_animation_frame(move || {
                if let Some(b) = close_btn.get_untracked() {
                    let _ = b.focus();
                }
            });
        }
    });
    let work_mode = Signal::derive(move || {
        let lang = tb.lang.get();
        tb.truth
            .work_mode()
            .with(|Whole(m)| m.as_ref().map(|m| work_mode_label(m, lang)))
    });
    let extension = Signal::derive(move || tb.truth.extension().get());
    let devices = devices.map(|d| {
        view! {
            <section class="ccc-settings__section" data-testid="settings-devices">
                <h3 class="ccc-settings__h">{tb.t(i18n::AUDIO_DEVICES)}</h3>
                {d()}
            </section>
        }
    });
    view! {
        <div class="ccc-settings">
            <button
                type="button"
                node_ref=gear
                class="ccc-btn ccc-btn--icon"
                data-testid="settings-button"
                aria-haspopup="dialog"
                aria-expanded=Signal::derive(move || yes_no(open.get()))
                aria-controls=id.clone()
                aria-label=tb.t(i18n::SETTINGS)
                title=tb.t(i18n::SETTINGS)
                on:click=move |_| {
                    if open.get_untracked() { close() } else { open.set(true) }
                }
            >
                "⚙"
            </button>
            <div
                id=id
                class="ccc-popup ccc-settings__drawer"
                role="dialog"
                data-testid="settings"
                aria-label=tb.t(i18n::SETTINGS)
                hidden=Signal::derive(move || !open.get())
                on:keydown=move |ev| {
                    if ev.key() == "Escape" && !ev.default_prevented() {
                        ev.prevent_default();
                        close();
                    }
                }
            >
                <div class="ccc-settings__top">
                    <h2 class="ccc-settings__title">{tb.t(i18n::SETTINGS)}</h2>
                    <button
                        type="button"
                        node_ref=close_btn
                        class="ccc-btn ccc-btn--icon"
                        data-testid="settings-close"
                        aria-label=tb.t(i18n::CLOSE)
                        on:click=move |_| close()
                    >
                        "×"
                    </button>
                </div>
                <section class="ccc-settings__section">
                    <h3 class="ccc-settings__h">{tb.t(i18n::WORK_MODE)}</h3>
                    <p class="ccc-settings__now">
                        <OptionalSpan class="ccc-badge__mode" testid="work-mode" text=work_mode />
                        <OptionalSpan class="ccc-badge__ext" testid="extension" text=extension />
                    </p>
                    <WorkModePicker />
                </section>
                <section class="ccc-settings__section">
                    <h3 class="ccc-settings__h">{tb.t(i18n::LANGUAGE)}</h3>
                    <LangSwitch />
                </section>
                {devices}
                <section class="ccc-settings__section">
                    <h3 class="ccc-settings__h">{tb.t(i18n::TROUBLESHOOTING)}</h3>
                    <p class="ccc-settings__hint">{tb.t(i18n::RESET_HINT)}</p>
                    <ResetButton />
                </section>
            </div>
        </div>
    }
}
