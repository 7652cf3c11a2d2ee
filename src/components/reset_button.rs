//! Reset state, after a confirmation.

use leptos::{html, prelude::*};

use crate::{
    components::ActionButton,
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// The reset button and its inline confirmation (Escape cancels).
#[component]
pub fn ResetButton() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let confirming = RwSignal::new(false);
    let confirm = NodeRef::<html::Button>::new();
    // Focus moves to the confirm button once it is shown (the next frame:
    // after it is inserted).
    Effect::new(move || {
        if confirming.get() {
            request_animation_frame(move || {
                if let Some(b) = confirm.get_untracked() {
                    let _ = b.focus();
                }
            });
        }
    });
    view! {
        <span class="ccc-group">
            <ActionButton
                kind=CommandKind::Reset
                testid="reset"
                class="ccc-btn--quiet"
                on_press=move |_| confirming.set(true)
            />
            <Show when=move || confirming.get()>
            <span
                class="ccc-confirm"
                role="group"
                data-testid="reset-confirmation"
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        // Cancels the confirmation only (not the drawer).
                        ev.prevent_default();
                        confirming.set(false);
                    }
                }
            >
                <span>
                    {tb.text("Reset your state? You will be signed out.", "确定重置状态？您将被下线。")}
                </span>
                <button
                    type="button"
                    class="ccc-btn ccc-btn--danger"
                    data-testid="confirm-reset"
                    node_ref=confirm
                    on:click=move |_| {
                        confirming.set(false);
                        tb.run(Command::Reset);
                    }
                >
                    {tb.text("Reset", "重置")}
                </button>
                <button
                    type="button"
                    class="ccc-btn"
                    data-testid="cancel-reset"
                    on:click=move |_| confirming.set(false)
                >
                    {tb.text("Cancel", "取消")}
                </button>
            </span>
            </Show>
        </span>
    }
}
