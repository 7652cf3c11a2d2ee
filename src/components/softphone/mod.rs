//! The softphone's UI pieces (WorkMode `ON_SITE`), for the toolbar to place:
//! [`SoftphoneStatus`] (registered or not, and why; the call's audio; a
//! microphone problem), [`MicLevel`] (the microphone level meter during a
//! call) and [`DevicePickers`] (microphone and speaker, placed in Settings).
//! [`SoftphonePanel`] puts the first two together. They read the
//! [`crate::softphone::UseSoftphoneReturn`] context that
//! [`crate::softphone::use_softphone`] provides, and render nothing while the
//! softphone is off (other work modes).

mod device_pickers;
mod mic_level;
mod softphone_status;

pub use device_pickers::DevicePickers;
pub use mic_level::MicLevel;
pub use softphone_status::SoftphoneStatus;

use leptos::prelude::*;

use crate::softphone::{Registration, UseSoftphoneReturn};

/// Status and level meter in one row (the device pickers live in Settings);
/// nothing while the softphone is off.
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
