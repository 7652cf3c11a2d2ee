//! Who the call is with and for how long: the call card's first line
//! (direction, party, duration, and "On hold m:ss" while the customer is
//! held). Reads only the call and hold fields of the server truth.

use leptos::prelude::*;

pub use crate::logic::call::{call_start, other_party};
use crate::{
    i18n::{call_type_label, Lang},
    logic::clock::{elapsed_since, format_duration},
    state::{Toolbar, TruthStoreFields, Whole},
};

/// The call's direction, party, duration and hold time.
#[component]
pub fn CallInfo() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let call = tb.truth.call();
    let since = move |start: Option<i64>| {
        start
            .map(|s| format_duration(elapsed_since(s, tb.now.get(), tb.offset.get())))
            .unwrap_or_default()
    };
    let held_since = Memo::new(move |_| {
        let held = tb.truth.held().get();
        call.with(|Whole(c)| {
            held.then(|| c.as_ref()?.customer_channel()?.timestamp)
                .flatten()
        })
    });
    let direction = Signal::derive(move || {
        call.with(|Whole(c)| {
            c.as_ref()
                .and_then(|c| c.call_type.as_ref())
                .map(|t| call_type_label(t, tb.lang.get()))
                .unwrap_or_default()
        })
    });
    let party = Signal::derive(move || {
        call.with(|Whole(c)| {
            c.as_ref()
                .map(|c| other_party(c).unwrap_or_else(|| "—".into()))
                .unwrap_or_default()
        })
    });
    let duration =
        Signal::derive(move || since(call.with(|Whole(c)| c.as_ref().and_then(call_start))));
    let hold_text = Signal::derive(move || {
        held_since.get().map(|start| {
            let held = since(Some(start));
            match tb.lang.get() {
                Lang::En => format!("On hold {held}"),
                Lang::Zh => format!("保持中 {held}"),
            }
        })
    });
    view! {
        <span class="ccc-call__party" data-testid="call-party">
            {party}
        </span>
        <span class="ccc-call__dir" data-testid="call-direction">
            {direction}
        </span>
        <span class="ccc-call__time" data-testid="call-duration" role="timer">
            {duration}
        </span>
        <span class="ccc-call__hold" data-testid="hold-time" role="timer">
            {hold_text}
        </span>
    }
}
