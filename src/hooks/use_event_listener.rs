use leptos::prelude::on_cleanup;
use send_wrapper::SendWrapper;
use web_sys::{Event, EventTarget};

use crate::browser::{listen, Listener};

/// Listens to `event` on `target` while the current reactive owner lives
/// (the listener is removed in `on_cleanup`).
///
/// ## Usage
///
/// ```no_run
/// # use ccc_toolbar::hooks::use_event_listener;
/// let window = web_sys::window().unwrap();
/// use_event_listener(&window, "online", move |_| { /* resync */ });
/// ```
pub fn use_event_listener(
    target: &EventTarget,
    event: &'static str,
    handler: impl FnMut(Event) + 'static,
) {
    // One non-generic holder for every listener: only `handler`'s closure is
    // monomorphised per call site.
    hold(listen(target, event, handler));
}

fn hold(listener: Listener) {
    let held = SendWrapper::new(listener);
    on_cleanup(move || drop(held));
}
