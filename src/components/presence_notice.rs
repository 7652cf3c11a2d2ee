//! Why the agent is no longer READY on return: the proxy moved them (to a
//! break, or signed them out) because no toolbar of theirs was open for the
//! presence grace (`AgentSnapshot.presence`, kept until the next command).

use ccc_model::api::{PresenceNotice as Notice, PresencePolicy};
use leptos::prelude::*;

use crate::{
    browser::{load, local_clock, store},
    components::OptionalSpan,
    i18n::{break_label, Lang},
    state::Toolbar,
};

/// localStorage key of the `at` of the last notice dismissed (so a reload
/// does not show it again).
pub const DISMISSED_KEY: &str = "ccc-toolbar.presence-dismissed";

/// The notice in words; `clock` is the local time it happened (`hh:mm:ss`).
/// `None` for the `none` policy, which never acts.
pub fn notice_text(n: &Notice, clock: &str, lang: Lang) -> Option<String> {
    let grace = n.grace_secs;
    Some(match (n.policy, lang) {
        (PresencePolicy::None, _) => return None,
        (PresencePolicy::Break, _) => {
            let code = break_label(n.break_code.as_deref().unwrap_or_default(), lang);
            match lang {
                Lang::En => format!(
                    "You were set to Break: {code} at {clock}, because no toolbar was open for {grace} s."
                ),
                Lang::Zh => {
                    format!("由于 {grace} 秒内没有打开的工具条，您已于 {clock} 被设为小休：{code}。")
                }
            }
        }
        (PresencePolicy::SignOut, Lang::En) => {
            format!("You were signed out at {clock}, because no toolbar was open for {grace} s.")
        }
        (PresencePolicy::SignOut, Lang::Zh) => {
            format!("由于 {grace} 秒内没有打开的工具条，您已于 {clock} 被签出。")
        }
    })
}

/// The notice, dismissable, inside a polite live region. Both are always in
/// the DOM (the notice `hidden` while there is none), so screen readers
/// announce it when it appears, and its bindings share the render paths of
/// the other parts (a `view!` tree of its own per state would cost KBs).
#[component]
pub fn PresenceNotice() -> impl IntoView {
    let tb = expect_context::<Toolbar>();
    let dismissed = RwSignal::new(load(DISMISSED_KEY).and_then(|s| s.parse::<i64>().ok()));
    let notice = move || {
        tb.snapshot
            .with(|s| s.as_ref().and_then(|s| s.presence.clone()))
            .filter(|n| Some(n.at) != dismissed.get())
    };
    // A memo of the text (as the takeover banner's): the live region changes,
    // and is announced, only when the words do, not with every snapshot.
    let text = Memo::new(move |_| {
        let n = notice()?;
        notice_text(&n, &local_clock(n.at as f64), tb.lang.get())
    });
    let policy = Signal::derive(move || notice().map(|n| n.policy.as_str().to_owned()));
    view! {
        <div class="ccc-notice-slot" role="status" aria-live="polite" data-testid="presence-region">
            <div
                class="ccc-banner"
                data-testid="presence-notice"
                data-policy=policy
                hidden=Signal::derive(move || text.with(Option::is_none))
            >
                <OptionalSpan class="ccc-presence__text" testid="presence-text" text=text />
                <button
                    type="button"
                    class="ccc-btn ccc-btn--link"
                    data-testid="dismiss-presence"
                    aria-label=tb.text("Dismiss", "关闭")
                    on:click=move |_| {
                        if let Some(at) = untrack(notice).map(|n| n.at) {
                            store(DISMISSED_KEY, &at.to_string());
                            dismissed.set(Some(at));
                        }
                    }
                >
                    "×"
                </button>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(policy: PresencePolicy, code: Option<&str>) -> Notice {
        Notice {
            policy,
            break_code: code.map(str::to_owned),
            grace_secs: 90,
            at: 0,
        }
    }

    #[test]
    fn says_what_happened_and_why() {
        let b = notice(PresencePolicy::Break, Some("away"));
        assert_eq!(
            notice_text(&b, "12:03:04", Lang::En).unwrap(),
            "You were set to Break: away at 12:03:04, because no toolbar was open for 90 s."
        );
        assert_eq!(
            notice_text(&b, "12:03:04", Lang::Zh).unwrap(),
            "由于 90 秒内没有打开的工具条，您已于 12:03:04 被设为小休：away。"
        );
        let s = notice(PresencePolicy::SignOut, None);
        assert_eq!(
            notice_text(&s, "08:00:00", Lang::En).unwrap(),
            "You were signed out at 08:00:00, because no toolbar was open for 90 s."
        );
        assert_eq!(
            notice_text(&s, "08:00:00", Lang::Zh).unwrap(),
            "由于 90 秒内没有打开的工具条，您已于 08:00:00 被签出。"
        );
        assert_eq!(
            notice_text(&notice(PresencePolicy::None, None), "", Lang::En),
            None
        );
    }
}
