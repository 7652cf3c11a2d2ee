//! A polite live region announcing state and mute changes.

use leptos::prelude::*;

use crate::{
    i18n::{break_label, state_label, tr},
    state::Toolbar,
};

/// Visually hidden; screen readers read each change.
#[component]
pub fn LiveRegion() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let message = RwSignal::new(String::new());
    let state = Memo::new(move |_| {
        tb.snapshot.with(|s| {
            s.as_ref()
                .map(|s| (s.agent.state.clone(), s.agent.break_code.clone()))
        })
    });
    let muted = Memo::new(move |_| tb.snapshot.with(|s| s.as_ref().map(|s| s.muted)));
    Effect::new(move |_| {
        if let Some((s, code)) = state.get() {
            let lang = tb.lang.get_untracked();
            let mut text = format!("{}: {}", tr(lang, "State", "状态"), state_label(&s, lang));
            if let Some(c) = code.filter(|_| s == ccc_model::UserState::Break) {
                text.push_str(&format!(" ({})", break_label(&c, lang)));
            }
            message.set(text);
        }
    });
    Effect::new(move |prev: Option<Option<bool>>| {
        let now = muted.get();
        if let (Some(Some(before)), Some(m)) = (prev, now) {
            if before != m {
                let lang = tb.lang.get_untracked();
                message.set(
                    tr(
                        lang,
                        if m { "Muted" } else { "Unmuted" },
                        if m { "已静音" } else { "已取消静音" },
                    )
                    .to_owned(),
                );
            }
        }
        now
    });
    view! {
        <div class="ccc-sr-only" aria-live="polite" aria-atomic="true" data-testid="live-region">
            {move || message.get()}
        </div>
    }
}
