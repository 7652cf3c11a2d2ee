//! A polite live region announcing state and mute changes.

use ccc_model::UserState;
use leptos::prelude::*;

use crate::{
    i18n::{break_label, state_label, tr},
    state::Toolbar,
};

/// What was last announced: the state (with its break code) and mute.
type Seen = (Option<(UserState, Option<String>)>, Option<bool>);

/// Visually hidden; screen readers read each change.
#[component]
pub fn LiveRegion() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let text = RwSignal::new(String::new());
    Effect::new(move |prev: Option<Seen>| {
        let now: Seen = tb.snapshot.with(|s| {
            (
                s.as_ref()
                    .map(|s| (s.agent.state.clone(), s.agent.break_code.clone())),
                s.as_ref().map(|s| s.muted),
            )
        });
        let lang = tb.lang.get_untracked();
        if prev.as_ref().is_none_or(|p| p.0 != now.0) {
            if let Some((s, code)) = &now.0 {
                let mut t = [tr(lang, "State: ", "状态："), &state_label(s, lang)].concat();
                if let Some(c) = code.as_ref().filter(|_| *s == UserState::Break) {
                    t.push_str(" (");
                    t.push_str(&break_label(c, lang));
                    t.push(')');
                }
                text.set(t);
            }
        }
        if let (Some((_, Some(before))), Some(m)) = (&prev, now.1) {
            if *before != m {
                let said = if m {
                    tr(lang, "Muted", "已静音")
                } else {
                    tr(lang, "Unmuted", "已取消静音")
                };
                text.set(said.to_owned());
            }
        }
        now
    });
    view! {
        <div
            class="ccc-sr-only"
            aria-live="polite"
            aria-atomic="true"
            data-testid="live-region"
        >
            {text}
        </div>
    }
}
