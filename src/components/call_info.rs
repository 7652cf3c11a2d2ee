//! The current call: caller, direction, duration; while DIALING the number
//! called and a cancel button; while on hold, for how long.

use ccc_model::UserState;
use leptos::prelude::*;

pub use crate::logic::call::{call_start, other_party};
use crate::{
    components::ActionButton,
    i18n::{call_type_label, tr},
    logic::{
        call::held_since,
        clock::{elapsed_since, format_duration},
        Command, CommandKind,
    },
    state::Toolbar,
};

/// The call panel (always present; says "No call" between calls).
#[component]
pub fn CallInfo() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let call = Memo::new(move |_| {
        tb.snapshot
            .with(|s| s.as_ref().and_then(|s| s.call.clone()))
    });
    let dialing = Memo::new(move |_| {
        tb.snapshot.with(|s| {
            s.as_ref()
                .is_some_and(|s| s.agent.state == UserState::Dialing)
        })
    });
    let held = Memo::new(move |_| tb.snapshot.with(|s| s.as_ref().and_then(held_since)));
    let since = move |start: Option<i64>| {
        start
            .map(|s| format_duration(elapsed_since(s, tb.now.get(), tb.offset.get())))
            .unwrap_or_default()
    };
    let hold_text = Signal::derive(move || {
        held.get()
            .map(|start| {
                [
                    tr(tb.lang.get(), "On hold ", "保持中 "),
                    &since(Some(start)),
                ]
                .concat()
            })
            .unwrap_or_default()
    });
    // The call's parts are always in the DOM, hidden between calls (as the
    // hold time and the dialling line): cheaper than a view rebuilt per call.
    let no_call = Signal::derive(move || call.with(Option::is_none));
    let direction = Signal::derive(move || {
        call.with(|c| {
            c.as_ref()
                .and_then(|c| c.call_type.as_ref())
                .map(|t| call_type_label(t, tb.lang.get()))
                .unwrap_or_default()
        })
    });
    let party = Signal::derive(move || {
        call.with(|c| {
            c.as_ref()
                .map(|c| other_party(c).unwrap_or_else(|| "—".into()))
                .unwrap_or_default()
        })
    });
    let duration = Signal::derive(move || since(call.with(|c| c.as_ref().and_then(call_start))));
    view! {
        <div
            class="ccc-call"
            data-testid="call-info"
            data-job-id=Signal::derive(move || call.with(|c| c.as_ref().map(|c| c.job_id.clone())))
        >
            <span class="ccc-call__none" hidden=Signal::derive(move || call.with(Option::is_some))>
                {tb.text("No call", "无通话")}
            </span>
            <span class="ccc-call__dir" data-testid="call-direction" hidden=no_call>
                {direction}
            </span>
            <span class="ccc-call__party" data-testid="call-party" hidden=no_call>
                {party}
            </span>
            <span class="ccc-call__time" data-testid="call-duration" role="timer" hidden=no_call>
                {duration}
            </span>
            // Always in the DOM, hidden when not applicable: cheaper in wasm
            // than a view built per change.
            <span
                class="ccc-call__hold"
                data-testid="hold-time"
                role="timer"
                hidden=Signal::derive(move || held.with(Option::is_none))
            >
                {hold_text}
            </span>
            <span
                class="ccc-group"
                data-testid="call-dialing"
                hidden=Signal::derive(move || !dialing.get())
            >
                <span class="ccc-call__status" data-testid="call-status">
                    {tb.text("Calling…", "正在呼叫…")}
                </span>
                <ActionButton
                    kind=CommandKind::Hangup
                    testid="dial-cancel"
                    class="ccc-btn--hangup"
                    label=tb.text("Cancel call", "取消呼叫")
                    on_press=move |_| {
                        tb.run(Command::Hangup);
                    }
                />
            </span>
        </div>
    }
}
