//! The last error in plain words, announced to screen readers.

use leptos::prelude::*;

use crate::{i18n::tr, state::Toolbar};

/// The error line under the controls (always in the DOM so it is announced).
#[component]
pub fn ErrorMessage() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let shown = move || tb.error.with(Option::is_some);
    view! {
        <div
            class=Signal::derive(move || if shown() { "ccc-error ccc-error--shown" } else { "ccc-error" })
            data-testid="error-message"
            data-code=Signal::derive(move || tb.error.with(|e| e.as_ref().map(|e| e.code())))
            data-command=Signal::derive(move || {
                tb.error.with(|e| e.as_ref().and_then(|e| e.command).map(|c| c.name().to_owned()))
            })
            role="alert"
            aria-live="assertive"
        >
            {move || {
                let lang = tb.lang.get();
                tb.error
                    .with(|e| e.as_ref().map(|e| e.text(lang)))
                    .map(|text| {
                        view! {
                            <span class="ccc-error__text">{text}</span>
                            <button
                                type="button"
                                class="ccc-btn ccc-btn--link"
                                data-testid="dismiss-error"
                                aria-label=tr(lang, "Dismiss", "关闭")
                                on:click=move |_| tb.error.set(None)
                            >
                                "×"
                            </button>
                        }
                    })
            }}
        </div>
    }
}
