//! Another device took the agent over; offer to take it back.

use leptos::prelude::*;

use crate::{
    components::ActionButton,
    i18n::tr,
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// Shown while another device is the agent's active one.
#[component]
pub fn TakeoverBanner() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let other = Memo::new(move |_| tb.other_device());
    let label =
        Signal::derive(move || tr(tb.lang.get(), "Use this device", "在此设备上使用").to_owned());
    view! {
        <Show when=move || other.with(Option::is_some)>
            <div class="ccc-banner" data-testid="takeover-banner" role="alert">
                <span>
                    {move || {
                        let dev = other.get().unwrap_or_default();
                        match tb.lang.get() {
                            crate::i18n::Lang::En => {
                                format!("Your agent is now active on another device ({dev}).")
                            }
                            crate::i18n::Lang::Zh => format!("您的坐席已在其他设备（{dev}）上使用。"),
                        }
                    }}
                </span>
                <ActionButton
                    kind=CommandKind::SignIn
                    testid="take-back"
                    label=label
                    on_press=move |_| {
                        tb.run(Command::SignIn);
                    }
                />
            </div>
        </Show>
    }
}
