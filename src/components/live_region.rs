//! A polite live region announcing state, mute and hold changes.

use ccc_model::UserState;
use leptos::prelude::*;

use crate::{
    i18n::{state_label, tr},
    state::Toolbar,
};

/// What was last announced: the state (with its break code), mute and hold.
type Seen = (Option<(UserState, Option<String>)>, Option<(bool, bool)>);

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
                s.as_ref().map(|s| (s.muted, s.held)),
            )
        });
        let lang = tb.lang.get_untracked();
        if prev.as_ref().is_none_or(|p| p.0 != now.0) {
            if let Some((s, code)) = &now.0 {
                let mut t = [tr(lang, "State: ", "状态："), &state_label(s, lang)].concat();
                if let Some(c) = code.as_ref().filter(|_| *s == UserState::Break) {
                    t.push_str(" (");
                    t.push_str(&untrack(|| tb.break_name(c)));
                    t.push(')');
                }
                text.set(t);
            }
        }
        if let (Some((_, Some((was_muted, was_held)))), Some((muted, held))) = (&prev, now.1) {
            let said = match (*was_muted != muted, *was_held != held) {
                (true, _) if muted => tr(lang, "Muted", "已静音"),
                (true, _) => tr(lang, "Unmuted", "已取消静音"),
                (_, true) if held => tr(lang, "Call on hold", "通话已保持"),
                (_, true) => tr(lang, "Call resumed", "通话已恢复"),
                _ => "",
            };
            if !said.is_empty() {
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
