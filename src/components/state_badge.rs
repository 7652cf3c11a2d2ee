//! The agent-state badge: state label, break reason, work mode and extension.

use ccc_model::{
    api::{Agent, BreakReason},
    UserState,
};
use leptos::prelude::*;

use crate::{
    components::OptionalSpan,
    i18n::{break_name, state_label, work_mode_label, Lang},
};

/// The badge's CSS classes for a state, so colour follows state (the label says it too:
/// colour is never the only signal).
pub fn state_class(state: &UserState) -> &'static str {
    match state {
        UserState::Offline => "ccc-badge ccc-badge--offline",
        UserState::Ready => "ccc-badge ccc-badge--ready",
        UserState::Break => "ccc-badge ccc-badge--break",
        UserState::Dialing | UserState::Ringing => "ccc-badge ccc-badge--alerting",
        UserState::Talking => "ccc-badge ccc-badge--talking",
        UserState::Working => "ccc-badge ccc-badge--working",
        UserState::Unknown(_) => "ccc-badge ccc-badge--unknown",
    }
}

/// Shows the agent's state, break reason (BREAK only, by its display name),
/// work mode and extension (unless `brief`).
#[component]
pub fn StateBadge(
    /// The agent as last reported by the server.
    #[prop(into)]
    agent: Signal<Agent>,
    /// Display language (default: English).
    #[prop(into, optional)]
    lang: Signal<Lang>,
    /// Display names of the break reasons (default: none, codes shown as
    /// they are).
    #[prop(into, optional)]
    reasons: Signal<Vec<BreakReason>>,
    /// Only the state and the break reason (the status menu's button shows
    /// the work mode and extension in Settings instead).
    #[prop(optional)]
    brief: bool,
) -> impl IntoView {
    let state = Memo::new(move |_| agent.with(|a| a.state.clone()));
    let break_code = Signal::derive(move || {
        agent.with(|a| match (&a.state, &a.break_code) {
            (UserState::Break, Some(code)) => {
                Some(reasons.with(|r| break_name(code, r, lang.get())))
            }
            _ => None,
        })
    });
    let work_mode = Signal::derive(move || {
        agent.with(|a| a.work_mode.as_ref().map(|m| work_mode_label(m, lang.get())))
    });
    let extension = Signal::derive(move || agent.with(|a| a.extension.clone()));
    view! {
        <div
            class=Signal::derive(move || state.with(state_class))
            data-testid="state-badge"
            data-state=Signal::derive(move || state.with(|s| Some(s.as_str().to_owned())))
        >
            <span class="ccc-badge__dot" aria-hidden="true"></span>
            <span class="ccc-badge__state" data-testid="agent-state">
                {Signal::derive(move || state.with(|s| state_label(s, lang.get())))}
            </span>
            <OptionalSpan class="ccc-badge__break" testid="break-code" text=break_code />
            {(!brief)
                .then(|| {
                    view! {
                        <OptionalSpan class="ccc-badge__mode" testid="work-mode" text=work_mode />
                        <OptionalSpan class="ccc-badge__ext" testid="extension" text=extension />
                    }
                })}
        </div>
    }
}
