//! The softphone's UI pieces (WorkMode `ON_SITE`), for the toolbar to place:
//! [`SoftphoneStatus`] (registered or not, and why; the call's audio; a
//! microphone problem), [`MicLevel`] (the microphone level meter during a
//! call) and [`DevicePickers`] (microphone and speaker, placed in Settings).
//! [`SoftphonePanel`] puts the first two together. They read the
//! [`crate::softphone::UseSoftphoneReturn`] context that
//! [`crate::softphone::use_softphone`] provides, and render nothing while the
//! softphone is off (other work modes).

//!
//! Built without the cargo feature `softphone` (only to measure what the
//! softphone costs the bundle), [`SoftphonePanel`] and [`DevicePickers`]
//! are empty and the rest is left out.

#[cfg(feature = "softphone")]
mod device_pickers;
#[cfg(feature = "softphone")]
mod mic_level;
#[cfg(feature = "softphone")]
mod softphone_status;

#[cfg(feature = "softphone")]
pub use device_pickers::DevicePickers;
#[cfg(feature = "softphone")]
pub use mic_level::MicLevel;
#[cfg(feature = "softphone")]
pub use softphone_status::SoftphoneStatus;

use leptos::prelude::*;

#[cfg(feature = "softphone")]
use crate::softphone::{Registration, UseSoftphoneReturn};

/// Without the feature `softphone`: nothing.
#[cfg(not(feature = "softphone"))]
#[component]
pub fn SoftphonePanel() -> impl IntoView {}

/// Without the feature `softphone`: nothing.
#[cfg(not(feature = "softphone"))]
#[component]
pub fn DevicePickers() -> impl IntoView {}

/// Status and level meter in one row (the device pickers live in Settings);
/// nothing while the softphone is off.
#[cfg(feature = "softphone")]
#[component]
pub fn SoftphonePanel() -> impl IntoView {
    let phone = use_context::<UseSoftphoneReturn>();
    let on = Signal::derive(move || {
        phone.is_some_and(|p| p.status.with(|s| s.registration != Registration::Off))
    });
    view! {
        <Show when=move || on.get()>
            <div class="ccc-row ccc-row--softphone" data-testid="softphone">
                <SoftphoneStatus />
                <MicLevel />
            </div>
        </Show>
    }
}
