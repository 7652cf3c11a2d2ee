use std::time::Duration;

use leptos::prelude::{on_cleanup, set_interval_with_handle};

/// Calls `callback` every `ms` milliseconds while the current reactive owner
/// lives.
///
/// ## Usage
///
/// ```no_run
/// # use ccc_toolbar::hooks::use_interval_fn;
/// use_interval_fn(move || { /* tick */ }, 1_000);
/// ```
pub fn use_interval_fn(callback: impl Fn() + 'static, ms: u64) {
    if let Ok(handle) = set_interval_with_handle(callback, Duration::from_millis(ms)) {
        on_cleanup(move || handle.clear());
    }
}
