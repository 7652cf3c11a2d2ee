//! Softphone registered / not (and why, in plain words), the call's audio,
//! and a microphone problem.

use leptos::prelude::*;

use crate::{
    i18n::{mic_problem_text, not_registered, phone_call_label, registration_label},
    softphone::{PhoneCall, PhoneStatus, Registration, UseSoftphoneReturn},
    state::Toolbar,
};

fn registration_attr(r: Registration) -> &'static str {
    match r {
        Registration::Off => "off",
        Registration::Connecting => "connecting",
        Registration::Registered => "registered",
        Registration::Failed(_) => "failed",
    }
}

fn call_attr(c: PhoneCall) -> &'static str {
    match c {
        PhoneCall::Idle => "idle",
        PhoneCall::Ringing => "ringing",
        PhoneCall::Answering => "answering",
        PhoneCall::Talking => "talking",
    }
}

/// The softphone's status line. `data-registration` (`off`, `connecting`,
/// `registered`, `failed`), `data-call` (`idle`, `ringing`, `answering`,
/// `talking`), `data-remote-audio` and `data-mic-error` carry the same for
/// tests and CSS.
#[component]
pub fn SoftphoneStatus() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let status: Signal<PhoneStatus> = use_context::<UseSoftphoneReturn>()
        .map(|p| p.status)
        .unwrap_or_else(|| tb.phone.into());
    let reg = move || status.with(|s| s.registration);
    let text = Signal::derive(move || {
        let lang = tb.lang.get();
        status.with(|s| {
            let mut parts = vec![registration_label(s.registration, lang)];
            if let Registration::Failed(why) = s.registration {
                parts.push(not_registered(why, lang));
            }
            let call = phone_call_label(s.call, lang);
            if !call.is_empty() {
                parts.push(call);
            }
            parts.join(" · ")
        })
    });
    let mic = Signal::derive(move || {
        let lang = tb.lang.get();
        status.with(|s| s.mic.map(|m| mic_problem_text(m, lang).to_owned()))
    });
    view! {
        <div
            class="ccc-softphone-status"
            data-testid="softphone-status"
            data-registration=Signal::derive(move || registration_attr(reg()))
            data-call=Signal::derive(move || status.with(|s| call_attr(s.call)))
            data-remote-audio=Signal::derive(move || {
                crate::components::yes_no(status.with(|s| s.remote_audio))
            })
            data-mic-error=Signal::derive(move || {
                status.with(|s| s.mic.map(|m| format!("{m:?}").to_lowercase()))
            })
            role="status"
        >
            <span class="ccc-softphone-status__text">{text}</span>
            <Show when=move || mic.with(Option::is_some)>
                <span class="ccc-softphone-status__mic" data-testid="mic-error" role="alert">
                    {mic}
                </span>
            </Show>
        </div>
    }
}
