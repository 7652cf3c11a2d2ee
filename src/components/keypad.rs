//! The keypad during a call (issue 18): twelve keys that send DTMF to the
//! customer ([`use_dtmf`]), the keys sent so far, and the keyboard's
//! `0-9`, `*` and `#` while it is open (not while typing in a field).
//! Escape or × closes it and gives the focus back to the Keypad button.

use leptos::{html, prelude::*};
use wasm_bindgen::JsCast;

use crate::{
    hooks::{typing_target, use_dtmf, use_event_listener},
    i18n,
    logic::transfer::dtmf_key,
    state::Toolbar,
};

/// The keys, row by row.
const KEYS: [char; 12] = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

/// The keypad. `id` is its element id (the Keypad button's
/// `aria-controls`).
#[component]
pub fn Keypad(
    /// The keypad's element id.
    id: String,
    /// Escape or ×.
    #[prop(into)]
    on_close: Callback<()>,
) -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let keys = use_dtmf(tb);
    let first = NodeRef::<html::Button>::new();
    request_animation_frame(move || {
        if let Some(b) = first.get_untracked() {
            let _ = b.focus();
        }
    });
    if let Some(w) = web_sys::window() {
        use_event_listener(w.as_ref(), "keydown", move |ev| {
            let Some(ev) = ev.dyn_ref::<web_sys::KeyboardEvent>() else {
                return;
            };
            if ev.ctrl_key() || ev.alt_key() || ev.meta_key() || typing_target(ev) {
                return;
            }
            if let Some(k) = dtmf_key(&ev.key()) {
                ev.prevent_default();
                keys.press.run(k);
            }
        });
    }
    let buttons = KEYS
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let node = if i == 0 { first } else { NodeRef::new() };
            view! {
                <button
                    type="button"
                    node_ref=node
                    class="ccc-btn ccc-keypad__key"
                    data-testid="keypad-key"
                    data-key=k.to_string()
                    on:click=move |_| keys.press.run(k)
                >
                    {k.to_string()}
                </button>
            }
        })
        .collect_view();
    view! {
        <div
            id=id
            class="ccc-keypad"
            role="group"
            data-testid="keypad"
            aria-label=tb.t(i18n::KEYPAD_KEYS)
            on:keydown=move |ev| {
                if ev.key() == "Escape" && !ev.default_prevented() {
                    ev.prevent_default();
                    on_close.run(());
                }
            }
        >
            <div class="ccc-keypad__top">
                <output
                    class="ccc-keypad__sent"
                    data-testid="keypad-sent"
                    aria-live="polite"
                    aria-label=tb.t(i18n::KEYS_SENT)
                >
                    {keys.sent}
                </output>
                <button
                    type="button"
                    class="ccc-btn ccc-btn--icon"
                    data-testid="keypad-close"
                    aria-label=tb.t(i18n::CLOSE)
                    on:click=move |_| on_close.run(())
                >
                    "×"
                </button>
            </div>
            <div class="ccc-keypad__keys">{buttons}</div>
        </div>
    }
}
