//! The call card's `call-more` slot while talking (issue 18): **Transfer**
//! opens the [`TransferPanel`], **Keypad** the [`Keypad`] (one at a time,
//! under the call's buttons), and the [`ConsultCard`] shows while a
//! consult is up. The two buttons sit in fixed slots and say why they are
//! disabled, like every control.

use leptos::{either::EitherOf3, html, prelude::*};

use crate::{
    components::{action_button::unique_id, yes_no, ConsultCard, Keypad, TransferPanel},
    i18n,
    logic::CommandKind,
    state::{Toolbar, TruthStoreFields, Whole},
};

/// Which panel is open under the call's buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MorePanel {
    /// None.
    #[default]
    Closed,
    /// The transfer panel.
    Transfer,
    /// The keypad.
    Keypad,
}

/// What the slot's buttons and the panels share.
#[derive(Debug, Clone)]
pub struct More {
    open: RwSignal<MorePanel>,
    transfer_button: NodeRef<html::Button>,
    keypad_button: NodeRef<html::Button>,
    transfer_id: String,
    keypad_id: String,
}

impl More {
    /// A closed slot.
    pub fn new() -> Self {
        More {
            open: RwSignal::new(MorePanel::Closed),
            transfer_button: NodeRef::new(),
            keypad_button: NodeRef::new(),
            transfer_id: unique_id("xfer"),
            keypad_id: unique_id("keypad"),
        }
    }
}

impl Default for More {
    fn default() -> Self {
        More::new()
    }
}

/// One toggle of the slot.
#[component]
fn MoreToggle(
    more: More,
    panel: MorePanel,
    testid: &'static str,
    label: Signal<&'static str>,
    /// Why it is disabled now.
    reason: Signal<Option<String>>,
) -> impl IntoView {
    let (node, controls) = match panel {
        MorePanel::Keypad => (more.keypad_button, more.keypad_id.clone()),
        _ => (more.transfer_button, more.transfer_id.clone()),
    };
    let open = more.open;
    let why_id = unique_id("why");
    view! {
        <button
            type="button"
            node_ref=node
            class="ccc-btn ccc-slot"
            data-testid=testid
            aria-expanded=Signal::derive(move || yes_no(open.get() == panel))
            aria-controls=controls
            aria-describedby=why_id.clone()
            aria-disabled=Signal::derive(move || yes_no(reason.with(Option::is_some)))
            title=reason
            on:click=move |_| {
                if reason.with_untracked(Option::is_some) {
                    return;
                }
                open.update(|o| *o = if *o == panel { MorePanel::Closed } else { panel });
            }
        >
            {label}
        </button>
        <span id=why_id class="ccc-sr-only" data-testid=format!("{testid}-reason")>
            {reason}
        </span>
    }
}

/// Transfer and Keypad, in the `call-more` slot.
#[component]
pub fn CallMoreButtons(
    /// Shared with [`CallMorePanels`].
    more: More,
) -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let consult = tb.truth.consult();
    let transfer_reason = Signal::derive(move || {
        if consult.with(|Whole(c)| c.is_some()) {
            return Some(tb.t(i18n::FINISH_CONSULT).get().to_owned());
        }
        tb.why_not(CommandKind::Transfer)
            .filter(|_| tb.pending.with(|p| p.current().is_none()))
    });
    let keypad_reason = Signal::derive(move || {
        tb.why_not(CommandKind::Dtmf)
            .filter(|_| tb.pending.with(|p| p.current().is_none()))
    });
    view! {
        <span
            class="ccc-call__more"
            data-testid="call-more"
            role="group"
            aria-label=tb.t(i18n::MORE_CALL_CONTROLS)
        >
            <MoreToggle
                more=more.clone()
                panel=MorePanel::Transfer
                testid="transfer-button"
                label=tb.t(i18n::TRANSFER)
                reason=transfer_reason
            />
            <MoreToggle
                more=more
                panel=MorePanel::Keypad
                testid="keypad-button"
                label=tb.t(i18n::KEYPAD)
                reason=keypad_reason
            />
        </span>
    }
}

/// The open panel and the consult card, under the call's buttons.
#[component]
pub fn CallMorePanels(
    /// Shared with [`CallMoreButtons`].
    more: More,
) -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let consult = tb.truth.consult();
    let open = more.open;
    let close = move |node: NodeRef<html::Button>| {
        move |_| {
            open.set(MorePanel::Closed);
            if let Some(b) = node.get_untracked() {
                let _ = b.focus();
            }
        }
    };
    // A consult replaces the panel; when it ends, the panel stays closed.
    Effect::new(move || {
        if consult.with(|Whole(c)| c.is_some()) && open.get_untracked() == MorePanel::Transfer {
            open.set(MorePanel::Closed);
        }
    });
    let (transfer_button, keypad_button) = (more.transfer_button, more.keypad_button);
    let (transfer_id, keypad_id) = (more.transfer_id.clone(), more.keypad_id.clone());
    view! {
        {move || match open.get() {
            MorePanel::Transfer => EitherOf3::A(view! {
                <TransferPanel id=transfer_id.clone() on_close=close(transfer_button) />
            }),
            MorePanel::Keypad => EitherOf3::B(view! {
                <Keypad id=keypad_id.clone() on_close=close(keypad_button) />
            }),
            MorePanel::Closed => EitherOf3::C(()),
        }}
        <ConsultCard />
    }
}
