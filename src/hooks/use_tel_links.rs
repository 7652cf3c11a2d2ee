use wasm_bindgen::JsCast;
use web_sys::{Element, EventTarget};

use crate::{hooks::use_event_listener, logic::dial::tel_link_number, state::Toolbar};

/// The `telLinks` mount option: a click on a `tel:` link anywhere in the
/// host page dials its number through the toolbar instead of handing it to
/// the operating system (one delegated listener on the document, removed on
/// cleanup). When dialling is not possible now (in a call, offline) the
/// number waits in the dial box with a note saying why; nothing is dialled
/// behind the agent's back. Links the page already handled
/// (`defaultPrevented`), numbers that can't be dialled and clicks that are
/// not the user's own (`isTrusted` false: a script's `a.click()` or
/// `dispatchEvent`, which must never place a call) are left alone.
///
/// ## Usage
///
/// ```no_run
/// # use ccc_toolbar::{hooks::use_tel_links, state::Toolbar};
/// # fn f(toolbar: Toolbar) {
/// use_tel_links(toolbar);
/// # }
/// ```
pub fn use_tel_links(tb: Toolbar) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let target: EventTarget = doc.into();
    use_event_listener(&target, "click", move |ev| {
        // Only a real click by the agent dials: a script on the host page
        // could otherwise place calls (toll fraud).
        if ev.default_prevented() || !ev.is_trusted() {
            return;
        }
        let link = ev
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .and_then(|el| el.closest("a[href]").ok().flatten());
        let Some(number) = link
            .and_then(|a| a.get_attribute("href"))
            .and_then(|href| tel_link_number(&href))
        else {
            return;
        };
        ev.prevent_default();
        tb.dial_or_keep(number, None);
    });
}
