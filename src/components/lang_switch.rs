//! Switches between English and Chinese.

use leptos::prelude::*;

use crate::{i18n::Lang, state::Toolbar};

/// The language button: shows the other language's name.
#[component]
pub fn LangSwitch() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    view! {
        <button
            type="button"
            class="ccc-btn ccc-btn--link"
            data-testid="lang-switch"
            lang=move || match tb.lang.get() {
                Lang::En => "zh-CN",
                Lang::Zh => "en",
            }
            on:click=move |_| tb.lang.update(|l| *l = if *l == Lang::En { Lang::Zh } else { Lang::En })
        >
            {move || match tb.lang.get() {
                Lang::En => "中文",
                Lang::Zh => "English",
            }}
        </button>
    }
}
