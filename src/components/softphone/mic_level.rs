//! The microphone level meter, while a call is up in this (leader) tab.

use leptos::prelude::*;

use crate::{softphone::UseSoftphoneReturn, state::Toolbar};

/// A `<meter>` of the microphone level (0–1), shown during a softphone call
/// in the leader tab: the agent sees the microphone works (and that Mute
/// silences it).
#[component]
pub fn MicLevel() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let phone = use_context::<UseSoftphoneReturn>()?;
    let shown = move || tb.leader.get() && phone.status.with(|s| s.in_call());
    Some(view! {
        <Show when=shown>
            <label class="ccc-mic-level">
                <span class="ccc-sr-only">{tb.text("Microphone level", "麦克风音量")}</span>
                <meter
                    data-testid="mic-level"
                    min="0"
                    max="1"
                    low="0.02"
                    prop:value=move || phone.level.get()
                ></meter>
            </label>
        </Show>
    })
}
