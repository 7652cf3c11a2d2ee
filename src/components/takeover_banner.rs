//! Another device took the agent over; offer to take it back.

use leptos::prelude::*;

use crate::{
    components::ActionButton,
    i18n::Lang,
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// The banner shown while another device is the agent's active one.
#[component]
pub fn TakeoverBanner() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let other = Memo::new(move |_| tb.other_device());
    let label = tb.text("Use this device", "在此设备上使用");
    move || {
        other.get().map(|dev| {
            let text = match tb.lang.get() {
                Lang::En => format!("Your agent is now active on another device ({dev})."),
                Lang::Zh => format!("您的坐席已在其他设备（{dev}）上使用。"),
            };
            view! {
                <div class="ccc-banner" data-testid="takeover-banner" role="alert">
                    <span>{text}</span>
                    <ActionButton
                        kind=CommandKind::SignIn
                        testid="take-back"
                        label=label
                        on_press=move |_| {
                            tb.run(Command::SignIn);
                        }
                    />
                </div>
            }
        })
    }
}
