//! Switches between English and Chinese.

use leptos::prelude::*;

use crate::{i18n::Lang, state::Toolbar};

/// The language button: shows the other language's name, in that language.
#[component]
pub fn LangSwitch() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let other = move || match tb.lang.get() {
        Lang::En => ("zh-CN", "中文"),
        Lang::Zh => ("en", "English"),
    };
    view! {
        <button
            type="button"
            class="ccc-btn ccc-btn--link"
            data-testid="lang-switch"
            lang=Signal::derive(move || other().0)
            on:click=move |_| tb.lang.update(|l| *l = if *l == Lang::En { Lang::Zh } else { Lang::En })
        >
            {Signal::derive(move || other().1)}
        </button>
    }
}
