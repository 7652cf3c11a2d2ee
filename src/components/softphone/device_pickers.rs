//! Microphone and speaker pickers (`enumerateDevices`, `setSinkId`).

use leptos::prelude::*;

use crate::{
    softphone::{media::Device, UseSoftphoneReturn},
    state::Toolbar,
};

/// One `<select>` of devices; `""` is the system default.
#[component]
fn DeviceSelect(
    /// `data-testid`.
    testid: &'static str,
    /// The visible label.
    label: Signal<&'static str>,
    /// The devices.
    devices: Signal<Vec<Device>>,
    /// The picked id.
    value: Signal<String>,
    /// Picks one.
    on_pick: Callback<String>,
    /// Lists the devices again.
    refresh: Callback<()>,
) -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    view! {
        <label class="ccc-device">
            <span class="ccc-device__label">{label}</span>
            <select
                class="ccc-select"
                data-testid=testid
                prop:value=move || value.get()
                on:focus=move |_| refresh.run(())
                on:change=move |e| on_pick.run(event_target_value(&e))
            >
                <option value="">{tb.text("System default", "系统默认")}</option>
                <For
                    each=move || devices.get()
                    key=|d| d.id.clone()
                    children=move |d: Device| {
                        let text = if d.label.is_empty() { d.id.clone() } else { d.label.clone() };
                        let id = d.id.clone();
                        view! {
                            <option value=d.id selected=move || value.with(|v| *v == id)>
                                {text}
                            </option>
                        }
                    }
                />
            </select>
        </label>
    }
}

/// The microphone picker (used from the next call on) and, where the
/// browser can route audio (`setSinkId`), the speaker picker (at once).
/// Only in the leader tab, where the audio plays.
#[component]
pub fn DevicePickers() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let phone = use_context::<UseSoftphoneReturn>()?;
    let has_speakers = move || phone.speakers.with(|s| !s.is_empty());
    Some(view! {
        <Show when=move || tb.leader.get()>
            <div class="ccc-devices" role="group" aria-label=tb.text("Audio devices", "音频设备")>
                <DeviceSelect
                    testid="mic-picker"
                    label=tb.text("Microphone", "麦克风")
                    devices=phone.microphones
                    value=phone.microphone
                    on_pick=phone.set_microphone
                    refresh=phone.refresh_devices
                />
                <Show when=has_speakers>
                    <DeviceSelect
                        testid="speaker-picker"
                        label=tb.text("Speaker", "扬声器")
                        devices=phone.speakers
                        value=phone.speaker
                        on_pick=phone.set_speaker
                        refresh=phone.refresh_devices
                    />
                </Show>
            </div>
        </Show>
    })
}
