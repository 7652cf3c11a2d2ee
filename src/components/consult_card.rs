//! The consult card (issue 18), while `snapshot.consult` is set: who is
//! consulted and how far (ringing, talking with the customer on hold, or a
//! conference of all three), with **Complete transfer**, **Back to
//! customer** (cancel, also after they answered) and **Conference**; in a
//! conference, **Leave** (the call goes on for the others). What happens
//! after complete or leave (after-call work) is the snapshot's to say.

use ccc_model::api::{ConsultPhase, TargetType};
use leptos::{either::Either, prelude::*};

use crate::{
    components::{transfer_panel::target_type, ActionButton},
    i18n,
    logic::{Command, CommandKind},
    state::{Toolbar, TruthStoreFields, Whole},
};

/// The consult card (nothing without a consult).
#[component]
pub fn ConsultCard() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let consult = tb.truth.consult();
    let shown = Memo::new(move |_| consult.with(|Whole(c)| c.is_some()));
    move || shown.get().then(|| view! { <ConsultLegCard /> })
}

/// The card itself, while a consult is up.
#[component]
fn ConsultLegCard() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let consult = tb.truth.consult();
    let conference = tb.truth.conference();
    let phase = Signal::derive(move || {
        if conference.get() {
            "conference"
        } else {
            consult.with(|Whole(c)| match c.as_ref().map(|c| c.phase) {
                Some(ConsultPhase::Ringing) => "ringing",
                _ => "talking",
            })
        }
    });
    // The proxy's name, else the one picked in the panel, else the id.
    let party = Signal::derive(move || {
        consult.with(|Whole(c)| {
            let Some(c) = c else { return String::new() };
            c.name
                .clone()
                .or_else(|| {
                    tb.target_name.with(|n| {
                        n.as_ref()
                            .filter(|(t, _)| *t == c.target)
                            .map(|(_, name)| name.clone())
                    })
                })
                .unwrap_or_else(|| c.target.id.clone())
        })
    });
    let kind = Signal::derive(move || {
        consult.with(|Whole(c)| c.as_ref().map(|c| target_type(c.target.kind)))
    });
    let group_or_number = Signal::derive(move || {
        let lang = tb.lang.get();
        consult.with(|Whole(c)| match c.as_ref().map(|c| c.target.kind) {
            Some(TargetType::SkillGroup) => {
                i18n::tr(lang, i18n::SKILL_GROUP.0, i18n::SKILL_GROUP.1)
            }
            Some(TargetType::Number) => {
                i18n::tr(lang, i18n::EXTERNAL_NUMBER.0, i18n::EXTERNAL_NUMBER.1)
            }
            _ => "",
        })
    });
    let status = Signal::derive(move || match phase.get() {
        "conference" => tb.t(i18n::CONFERENCE_ON).get(),
        "ringing" => tb.t(i18n::CONSULT_RINGING).get(),
        _ => tb.t(i18n::CONSULT_TALKING).get(),
    });
    let wait_answer = Signal::derive(move || {
        (phase.get() == "ringing").then(|| tb.t(i18n::WAIT_ANSWER).get().to_owned())
    });
    let leave = move || {
        view! {
            <ActionButton
                kind=CommandKind::LeaveConference
                testid="conference-leave"
                class="ccc-slot ccc-btn--hangup"
                on_press=move |_| {
                    tb.run(Command::LeaveConference);
                }
            />
        }
    };
    let consult_actions = move || {
        view! {
            <ActionButton
                kind=CommandKind::CompleteTransfer
                testid="transfer-complete"
                class="ccc-slot ccc-btn--answer"
                on_press=move |_| {
                    tb.run(Command::CompleteTransfer);
                }
            />
            <ActionButton
                kind=CommandKind::Conference
                testid="conference"
                class="ccc-slot"
                blocked=wait_answer
                on_press=move |_| {
                    tb.run(Command::Conference);
                }
            />
            <ActionButton
                kind=CommandKind::CancelTransfer
                testid="transfer-cancel"
                class="ccc-slot ccc-btn--hangup"
                on_press=move |_| {
                    tb.run(Command::CancelTransfer);
                }
            />
        }
    };
    view! {
        <div
            class="ccc-consult"
            data-testid="consult-card"
            data-phase=phase
            data-type=kind
            role="group"
            aria-label=tb.t(i18n::CONSULTATION)
        >
            <div class="ccc-call__head">
                <span class="ccc-call__party" data-testid="consult-party">
                    {party}
                </span>
                <span class="ccc-call__dir">{group_or_number}</span>
                <span class="ccc-consult__status" data-testid="consult-status" role="status">
                    {status}
                </span>
            </div>
            <div class="ccc-call__actions">
                {move || {
                    if conference.get() {
                        Either::Left(leave())
                    } else {
                        Either::Right(consult_actions())
                    }
                }}
            </div>
        </div>
    }
}
