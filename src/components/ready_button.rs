//! Ready, with the outbound-only option.

use leptos::prelude::*;

use crate::{
    components::ActionButton,
    i18n::tr,
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// The Ready button and its outbound-only checkbox.
#[component]
pub fn ReadyButton() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let outbound = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(o) = tb
            .snapshot
            .with(|s| s.as_ref().map(|s| s.agent.outbound_scenario))
        {
            outbound.set(o);
        }
    });
    view! {
        <span class="ccc-group">
            <ActionButton
                kind=CommandKind::Ready
                testid="ready"
                class="ccc-btn--ready"
                on_press=move |_| {
                    tb.run(Command::Ready {
                        outbound_only: outbound.get_untracked(),
                    });
                }
            />
            <label class="ccc-check">
                <input
                    type="checkbox"
                    data-testid="outbound-only"
                    prop:checked=move || outbound.get()
                    on:change=move |ev| outbound.set(event_target_checked(&ev))
                />
                <span>{move || tr(tb.lang.get(), "Outbound only", "仅外呼")}</span>
            </label>
        </span>
    }
}
