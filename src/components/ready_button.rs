//! Ready, with the outbound-only option.

use leptos::prelude::*;

use crate::{
    components::ActionButton,
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// The Ready button and its outbound-only checkbox (which follows the
/// server's `outboundScenario`).
#[component]
pub fn ReadyButton() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let outbound = RwSignal::new(false);
    Effect::new(move || {
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
                    prop:checked=outbound
                    on:change=move |ev| outbound.set(event_target_checked(&ev))
                />
                <span>{tb.text("Outbound only", "仅外呼")}</span>
            </label>
        </span>
    }
}
