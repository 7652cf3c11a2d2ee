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
    // Focus moves to the confirm button once it is in the document.
    Effect::new(move || {
        if let Some(b) = confirm.get() {
            let _ = b.focus();
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
            {move || {
                confirming.get()
                    .then(|| {
                        view! {
                        <span
                            class="ccc-confirm"
                            role="group"
                            data-testid="reset-confirmation"
                            on:keydown=move |ev| {
                                if ev.key() == "Escape" {
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
                        }
                    })
            }}
        </span>
    }
}
