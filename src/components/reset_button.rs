//! Reset state, after a confirmation.

use leptos::{html, prelude::*};

use crate::{
    components::ActionButton,
    i18n::tr,
    logic::{Command, CommandKind},
    state::Toolbar,
};

/// The reset button and its inline confirmation.
#[component]
pub fn ResetButton() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let confirming = RwSignal::new(false);
    let confirm_ref = NodeRef::<html::Button>::new();
    Effect::new(move |_| {
        if confirming.get() {
            if let Some(b) = confirm_ref.get() {
                let _ = b.focus();
            }
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
                            confirming.set(false);
                        }
                    }
                >
                    <span>
                        {move || tr(
                            tb.lang.get(),
                            "Reset your state? You will be signed out.",
                            "确定重置状态？您将被下线。",
                        )}
                    </span>
                    <button
                        type="button"
                        class="ccc-btn ccc-btn--danger"
                        data-testid="confirm-reset"
                        node_ref=confirm_ref
                        on:click=move |_| {
                            confirming.set(false);
                            tb.run(Command::Reset);
                        }
                    >
                        {move || tr(tb.lang.get(), "Reset", "重置")}
                    </button>
                    <button
                        type="button"
                        class="ccc-btn"
                        data-testid="cancel-reset"
                        on:click=move |_| confirming.set(false)
                    >
                        {move || tr(tb.lang.get(), "Cancel", "取消")}
                    </button>
                </span>
            </Show>
        </span>
    }
}
