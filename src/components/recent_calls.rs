//! The last calls of this browser with a redial button each, kept in
//! localStorage and forgotten when the agent goes offline (a shared desk
//! must not show the previous agent's customers).

use ccc_model::dial::DialNumber;
use leptos::prelude::*;
use serde::Serialize;
use wasm_bindgen::JsCast;

use crate::{
    browser::{load, local_clock, storage, store},
    components::ActionButton,
    i18n::{call_type_label, tr, Lang},
    logic::{
        clock::format_duration,
        dial::DialNotice,
        recent_calls::{self, CallTracker, RecentCall, Seen},
        CommandKind,
    },
    state::Toolbar,
};

/// The calls kept in localStorage (a JSON array of [`RecentCall`]); an
/// entry that does not decode is dropped, never an error.
fn stored() -> Vec<RecentCall> {
    let Some(array) = load(recent_calls::STORAGE_KEY)
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .and_then(|v| v.dyn_into::<js_sys::Array>().ok())
    else {
        return Vec::new();
    };
    recent_calls::accept(
        array
            .iter()
            .filter_map(|v| serde_wasm_bindgen::from_value(v).ok()),
    )
}

/// Keeps `list` in localStorage.
fn keep(list: &[RecentCall]) {
    let json = list
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .ok()
        .and_then(|v| js_sys::JSON::stringify(&v).ok())
        .and_then(|s| s.as_string());
    if let Some(json) = json {
        store(recent_calls::STORAGE_KEY, &json);
    }
}

/// The recent-calls list (a disclosure, closed by default).
#[component]
pub fn RecentCalls() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let list = RwSignal::new(stored());
    // Follows the calls through snapshots; other tabs record the same call
    // into the same storage, so the stored list is merged, not overwritten.
    Effect::new(move |prev: Option<CallTracker>| {
        let mut tracker = prev.unwrap_or_default();
        let seen = tb.snapshot.with(|s| s.as_ref().map(|s| tracker.observe(s)));
        match seen {
            Some(Seen::Ended(call)) => {
                if call.talk_ms.is_none()
                    && call
                        .call_type
                        .as_ref()
                        .is_some_and(|t| t.as_str() == "OUTBOUND")
                {
                    tb.dial_notice.set(Some(DialNotice::NotAnswered {
                        number: call.number.clone(),
                    }));
                }
                let mut all = stored();
                recent_calls::remember(&mut all, call);
                keep(&all);
                list.set(all);
            }
            Some(Seen::SignedOut) => {
                if let Some(s) = storage() {
                    let _ = s.remove_item(recent_calls::STORAGE_KEY);
                }
                if list.with_untracked(|l| !l.is_empty()) {
                    list.set(Vec::new());
                }
            }
            _ => {}
        }
        tracker
    });
    let summary = Signal::derive(move || {
        let lang = tb.lang.get();
        let n = list.with(Vec::len);
        match lang {
            Lang::En => format!("Recent calls ({n})"),
            Lang::Zh => format!("最近通话（{n}）"),
        }
    });
    view! {
        <details class="ccc-recent" data-testid="recent-calls">
            <summary class="ccc-recent__summary">{summary}</summary>
            <ul class="ccc-recent__list">
                {move || {
                    let lang = tb.lang.get();
                    let offset = tb.offset.get_untracked();
                    list.get()
                        .into_iter()
                        .map(|c| {
                            let direction = c.call_type.as_ref().map(|t| call_type_label(t, lang)).unwrap_or_default();
                            let talk = match c.talk_ms {
                                Some(ms) => format_duration(ms),
                                None => tr(lang, "not answered", "未接通").to_owned(),
                            };
                            let meta = format!("{direction} · {} · {talk}", local_clock(c.at as f64 - offset));
                            let number = c.number.clone();
                            let shown = c.number.clone();
                            view! {
                                <li class="ccc-recent__item" data-testid="recent-call" data-number=c.number.clone()>
                                    <span class="ccc-recent__number">{shown}</span>
                                    <span class="ccc-recent__meta">{meta}</span>
                                    <ActionButton
                                        kind=CommandKind::Dial
                                        testid="redial"
                                        class="ccc-btn--quiet"
                                        label=tb.text("Call back", "回拨")
                                        on_press=move |_| {
                                            if let Ok(n) = DialNumber::parse(&number) {
                                                tb.dial_or_keep(n, None);
                                            }
                                        }
                                    />
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </details>
    }
}
