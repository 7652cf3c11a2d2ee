//! Dialling: a number field with a call button (Enter dials), the same
//! number rule as the proxy checked as the agent types, a caller-id picker
//! when the session offers caller ids, and a note for numbers the host page
//! sent while dialling was not possible.

use ccc_model::dial::DialNumber;
use leptos::{ev::KeyboardEvent, prelude::*};

use crate::{
    components::{action_button::unique_id, yes_no, ActionButton},
    logic::{dial::number_error_text, CommandKind},
    state::Toolbar,
};

/// The dial box.
#[component]
pub fn DialPad() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let caller_id = RwSignal::new(String::new());
    let parsed = Memo::new(move |_| tb.dial_input.with(|n| DialNumber::parse(n)));
    // Why the typed number can't be dialled (the call button's reason too).
    let invalid = Signal::derive(move || {
        let lang = tb.lang.get();
        parsed.with(|p| p.as_ref().err().map(|e| number_error_text(e, lang)))
    });
    // Shown under the field once something was typed.
    let shown_error = Signal::derive(move || {
        if tb.dial_input.with(|n| n.trim().is_empty()) {
            None
        } else {
            invalid.get()
        }
    });
    let caller_ids = Memo::new(move |_| {
        tb.session
            .with(|s| s.as_ref().map(|s| s.caller_ids.clone()).unwrap_or_default())
    });
    let dial = move || {
        let Ok(number) = parsed.get_untracked() else {
            return;
        };
        let caller_id = Some(caller_id.get_untracked()).filter(|c| !c.is_empty());
        tb.dial_or_keep(number, caller_id);
    };
    let error_id = unique_id("dial-error");
    let notice = Signal::derive(move || {
        let lang = tb.lang.get();
        let why = tb.why_not(CommandKind::Dial);
        tb.dial_notice
            .with(|n| n.as_ref().map(|n| n.text(why.as_deref(), lang)))
    });
    view! {
        <span
            class="ccc-group ccc-dial"
            role="group"
            aria-label=tb.text("Make a call", "拨打电话")
        >
            <input
                class="ccc-input"
                type="tel"
                inputmode="tel"
                autocomplete="off"
                data-testid="dial-number"
                aria-label=tb.text("Number to call", "要拨打的号码")
                placeholder=tb.text("Number to call", "要拨打的号码")
                aria-invalid=Signal::derive(move || yes_no(shown_error.with(Option::is_some)))
                aria-describedby=error_id.clone()
                prop:value=tb.dial_input
                on:input=move |ev| {
                    tb.dial_input.set(event_target_value(&ev));
                    tb.dial_notice.set(None);
                }
                on:keydown=move |ev: KeyboardEvent| {
                    if ev.key() == "Enter" {
                        ev.prevent_default();
                        if tb.why_not(CommandKind::Dial).is_none() {
                            dial();
                        }
                    }
                }
            />
            <Show when=move || caller_ids.with(|c| !c.is_empty())>
            <select
                class="ccc-select"
                data-testid="dial-caller-id"
                aria-label=tb.text("Caller ID shown to the customer", "外显号码")
                on:change=move |ev| caller_id.set(event_target_value(&ev))
            >
                <option value="">{tb.text("Default caller ID", "默认外显号码")}</option>
                {move || {
                    caller_ids
                        .get()
                        .into_iter()
                        .map(|id| {
                            let sel = caller_id.with_untracked(|c| *c == id);
                            let label = id.clone();
                            view! { <option value=id selected=sel>{label}</option> }
                        })
                        .collect_view()
                }}
            </select>
            </Show>
            <ActionButton
                kind=CommandKind::Dial
                testid="dial"
                class="ccc-btn--answer"
                blocked=invalid
                on_press=move |_| dial()
            />
            <span id=error_id class="ccc-dial__error" data-testid="dial-error">
                {shown_error}
            </span>
            <span class="ccc-dial__notice" data-testid="dial-notice" role="status">
                {notice}
            </span>
        </span>
    }
}
