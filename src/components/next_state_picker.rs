//! "After this call": during a call and its after-call work the agent picks
//! the state the proxy puts them in the moment the call is over (also with
//! the tab closed). Shows the proxy's truth (`snapshot.nextState`), sends
//! `PUT /api/v1/agent/next-state`; the × cancels (`{"next":null}`).

use leptos::prelude::*;

use crate::{
    components::{action_button::unique_id, yes_no},
    i18n::{self, next_state_label},
    logic::status::{next_state_value, parse_next_state, StatusChoice},
    state::{Toolbar, TruthStoreFields, Whole},
};

/// The next-state select and its cancel button.
#[component]
pub fn NextStatePicker() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let truth = tb.truth;
    let next = truth.next_state();
    // The server's choice; read again when a change ends, so a refused one
    // puts the select back.
    let value = Signal::derive(move || {
        tb.next_pending.track();
        next.with(|Whole(n)| next_state_value(n.as_ref()))
    });
    let id = unique_id("next");
    let choices = move || {
        let mut v = vec![StatusChoice::Available, StatusChoice::OutboundOnly];
        v.extend(
            truth
                .break_codes()
                .get()
                .into_iter()
                .map(StatusChoice::Break),
        );
        v.push(StatusChoice::Offline);
        v
    };
    view! {
        <div class="ccc-next" data-testid="next-state-box">
            <label class="ccc-next__label" for=id.clone()>
                {tb.t(i18n::AFTER_THIS_CALL)}
            </label>
            <select
                id=id
                class="ccc-select ccc-next__select"
                data-testid="next-state"
                class:ccc-next__select--set=Signal::derive(move || next.with(|Whole(n)| n.is_some()))
                aria-busy=Signal::derive(move || yes_no(tb.next_pending.get()))
                disabled=tb.next_pending
                prop:value=value
                on:change=move |ev| {
                    tb.set_next_state(parse_next_state(&event_target_value(&ev)));
                }
            >
                <option value="">{tb.t(i18n::STAY)}</option>
                {move || {
                    let lang = tb.lang.get();
                    let current = value.get();
                    let reasons = truth.break_reasons().get().0;
                    choices()
                        .into_iter()
                        .filter_map(|c| c.next_state())
                        .map(|n| {
                            let v = next_state_value(Some(&n));
                            let sel = v == current;
                            view! {
                                <option value=v selected=sel>
                                    {next_state_label(&n, &reasons, lang)}
                                </option>
                            }
                        })
                        .collect_view()
                }}
            </select>
            <button
                type="button"
                class="ccc-btn ccc-btn--icon"
                data-testid="next-state-cancel"
                aria-label=tb.t(i18n::CANCEL_NEXT)
                title=tb.t(i18n::CANCEL_NEXT)
                // Kept in its slot (invisible) while nothing is chosen, so
                // the select never changes width.
                class:ccc-invisible=Signal::derive(move || next.with(|Whole(n)| n.is_none()))
                disabled=Signal::derive(move || {
                    tb.next_pending.get() || next.with(|Whole(n)| n.is_none())
                })
                on:click=move |_| {
                    tb.set_next_state(None);
                }
            >
                "×"
            </button>
        </div>
    }
}
