//! The call card: one phase at a time, nothing between calls.
//!
//! - ringing: the caller, Answer, Decline;
//! - dialing: the callee, "Calling…", Cancel;
//! - talking: party, direction, duration, Mute, Hold, Transfer and Keypad
//!   (the `call-more` slot), End, the open panel or the consult card, and
//!   the next state;
//! - after-call work: the wrap-up timer and the next state.
//!
//! Buttons sit in fixed slots with fixed widths, so Mute → Unmute or
//! Hold → Resume never moves anything.

use leptos::prelude::*;

use crate::{
    components::{
        ActionButton, CallInfo, CallMoreButtons, CallMorePanels, HoldButton, More, MuteButton,
        NextStatePicker, StateTimer,
    },
    i18n,
    logic::{call::CallPhase, Command, CommandKind},
    state::{Toolbar, TruthStoreFields, Whole},
};

/// The call card (an empty, hidden region between calls).
#[component]
pub fn CallCard() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let truth = tb.truth;
    let phase = Memo::new(move |_| truth.state().with(|Whole(s)| CallPhase::of(s)));
    let job_id = Signal::derive(move || {
        truth
            .call()
            .with(|Whole(c)| c.as_ref().map(|c| c.job_id.clone()))
    });
    let elapsed = Signal::derive(move || tb.time_in_state());
    let hangup = move |_| {
        tb.run(Command::Hangup);
    };
    view! {
        <section
            class="ccc-call"
            data-testid="call-info"
            data-job-id=job_id
            data-phase=Signal::derive(move || phase.get().map(CallPhase::as_str))
            hidden=Signal::derive(move || phase.with(Option::is_none))
            aria-label=tb.t(i18n::CURRENT_CALL)
        >
            {move || {
                phase
                    .get()
                    .map(|p| match p {
                        CallPhase::Ringing => {
                            view! {
                                <div class="ccc-call__head">
                                    <span class="ccc-call__title" data-testid="call-status">
                                        {tb.t(i18n::INCOMING_CALL)}
                                    </span>
                                    <CallInfo />
                                </div>
                                <div class="ccc-call__actions">
                                    <ActionButton
                                        kind=CommandKind::Answer
                                        testid="answer"
                                        class="ccc-btn--answer ccc-slot"
                                        on_press=move |_| {
                                            tb.run(Command::Answer);
                                        }
                                    />
                                    <ActionButton
                                        kind=CommandKind::Hangup
                                        testid="decline"
                                        class="ccc-btn--hangup ccc-slot"
                                        label=tb.t(i18n::DECLINE)
                                        on_press=hangup
                                    />
                                </div>
                            }
                                .into_any()
                        }
                        CallPhase::Dialing => {
                            view! {
                                <div class="ccc-call__head">
                                    <span class="ccc-call__title" data-testid="call-status">
                                        {tb.t(i18n::CALLING)}
                                    </span>
                                    <CallInfo />
                                </div>
                                <div class="ccc-call__actions">
                                    <ActionButton
                                        kind=CommandKind::Hangup
                                        testid="dial-cancel"
                                        class="ccc-btn--hangup ccc-slot"
                                        label=tb.t(i18n::CANCEL_CALL)
                                        on_press=hangup
                                    />
                                </div>
                                <NextStatePicker />
                            }
                                .into_any()
                        }
                        CallPhase::Talking => {
                            let more = More::new();
                            view! {
                                <div class="ccc-call__head">
                                    <CallInfo />
                                </div>
                                <div class="ccc-call__actions">
                                    <MuteButton />
                                    <HoldButton />
                                    <CallMoreButtons more=more.clone() />
                                    <ActionButton
                                        kind=CommandKind::Hangup
                                        testid="hangup"
                                        class="ccc-btn--hangup ccc-slot"
                                        label=tb.t(i18n::END_CALL)
                                        on_press=hangup
                                    />
                                </div>
                                <CallMorePanels more=more />
                                <NextStatePicker />
                            }
                                .into_any()
                        }
                        CallPhase::WrapUp => {
                            view! {
                                <div class="ccc-call__head">
                                    <span class="ccc-call__title" data-testid="call-status">
                                        {tb.t(i18n::WRAP_UP)}
                                    </span>
                                    <span class="ccc-call__wrap" data-testid="wrap-up-timer">
                                        <StateTimer elapsed=elapsed />
                                    </span>
                                </div>
                                <NextStatePicker />
                            }
                                .into_any()
                        }
                    })
            }}
        </section>
    }
}
