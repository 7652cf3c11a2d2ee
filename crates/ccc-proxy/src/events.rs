//! CCC's agent events (ccc-api.md §8.2), as its webhook subscription
//! delivers them to `POST /ccc/events`: parsing, the delivery secret, and
//! what each event means for the toolbar.
//!
//! Events are at-least-once and unordered; [`crate::view`] decides whether
//! one still applies. Here each event becomes an [`Effect`]: a state to
//! apply without any CCC call, a `PollUserStatus` refresh (coalesced per
//! agent by the hub), or nothing.

use ccc_model::{break_codes, UserState};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

use crate::view::StateChange;

/// Largest accepted webhook body (a batch of events).
pub const MAX_EVENTS_BODY: usize = 256 * 1024;
/// Most events accepted in one delivery.
pub const MAX_EVENTS_PER_DELIVERY: usize = 1000;

/// One event in the documented shape (unknown fields are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CccEvent {
    /// `AgentReady`, `AgentBreak`, ...
    pub event_type: String,
    /// UTC ISO-8601, e.g. `2026-12-05T18:00:00.123Z`.
    pub event_time: String,
    /// The CCC instance.
    pub instance_id: String,
    /// The agent (`name@instance`, or a bare name).
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Break reason (`AgentBreak`).
    #[serde(default)]
    pub break_code: Option<String>,
    /// Outbound-only mode (`AgentReady`).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub outbound_scenario: Option<bool>,
    /// The call (`AgentDialing/Ringing/Talk/Release`).
    #[serde(default)]
    pub contact_id: Option<String>,
    /// The agent's leg of the call.
    #[serde(default)]
    pub channel_id: Option<String>,
    /// The agent's `ContextId` after the change, when the sender adds it
    /// (an extension: the simulator sends it, CCC's documented format does not).
    #[serde(default, deserialize_with = "lenient_i64")]
    pub context_id: Option<i64>,
}

/// Accepts an integer as a JSON number or a numeric string (doc examples
/// render numbers as strings); anything else is `None`.
pub fn lenient_i64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => Some(b),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A delivery that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventsError {
    /// Not JSON, not an event or array of events, or a bad field.
    #[error("{0}")]
    Invalid(String),
}

/// Parses a delivery: one event object or an array of them.
pub fn parse_delivery(body: &[u8]) -> Result<Vec<CccEvent>, EventsError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| EventsError::Invalid("The body is not valid JSON.".into()))?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        obj @ serde_json::Value::Object(_) => vec![obj],
        _ => {
            return Err(EventsError::Invalid(
                "The body must be an event object or an array of events.".into(),
            ))
        }
    };
    if items.len() > MAX_EVENTS_PER_DELIVERY {
        return Err(EventsError::Invalid(format!(
            "At most {MAX_EVENTS_PER_DELIVERY} events per delivery."
        )));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let ev: CccEvent = serde_json::from_value(v)
                .map_err(|e| EventsError::Invalid(format!("Event {i}: {e}.")))?;
            event_time_ms(&ev.event_time).ok_or_else(|| {
                EventsError::Invalid(format!("Event {i}: eventTime is not ISO-8601 UTC."))
            })?;
            Ok(ev)
        })
        .collect()
}

/// `eventTime` as epoch milliseconds.
pub fn event_time_ms(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}

/// The agent's `UserId`: CCC's `agentId` as is, or `name@instance`.
pub fn user_id(ev: &CccEvent) -> Option<String> {
    let id = ev.agent_id.as_deref()?.trim();
    match id {
        "" => None,
        id if id.contains('@') => Some(id.to_owned()),
        id => Some(format!("{id}@{}", ev.instance_id)),
    }
}

/// True when `presented` is the configured delivery secret (constant time).
pub fn token_matches(expected: &[u8], presented: &[u8]) -> bool {
    // Lengths are not secret; contents are compared without early exit.
    !expected.is_empty() && bool::from(expected.ct_eq(presented))
}

/// What an event means for the toolbar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Apply this state; `then_refresh` when the toolbar also needs what the
    /// event lacks (the caller's number and the legs when a call starts).
    Apply {
        /// The new state.
        change: StateChange,
        /// Fetch `PollUserStatus` after applying.
        then_refresh: RefreshNeed,
    },
    /// Fetch `PollUserStatus` (coalesced per agent).
    Refresh,
    /// Nothing to do (the agent events already carry it).
    Ignore,
}

/// Whether a state-carrying event also needs the call's details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshNeed {
    /// The event says everything.
    No,
    /// Refresh unless the call it names is already shown with its legs.
    UnlessCallKnown,
}

/// Classifies `ev` (see the module docs).
pub fn effect(ev: &CccEvent) -> Effect {
    let apply = |change: StateChange| Effect::Apply {
        change,
        then_refresh: RefreshNeed::No,
    };
    let in_call = |state: UserState| {
        let mut change = StateChange::to(state);
        change.job_id = ev.contact_id.clone().filter(|c| !c.is_empty());
        Effect::Apply {
            change,
            then_refresh: RefreshNeed::UnlessCallKnown,
        }
    };
    let ended = |state: UserState, code: Option<&str>| {
        let mut change = StateChange::to(state);
        change.ends_call = true;
        change.break_code = code.map(str::to_owned);
        change
    };
    match ev.event_type.as_str() {
        "AgentCheckIn" => apply(ended(
            UserState::Break,
            Some(ev.break_code.as_deref().unwrap_or(break_codes::WARM_UP)),
        )),
        "AgentReady" => {
            let mut change = ended(UserState::Ready, None);
            change.outbound_scenario = ev.outbound_scenario;
            apply(change)
        }
        "AgentBreak" => match ev.break_code.as_deref().filter(|c| !c.is_empty()) {
            Some(code) => apply(ended(UserState::Break, Some(code))),
            None => Effect::Refresh,
        },
        "RingingTimeout" => apply(ended(UserState::Break, Some(break_codes::RINGING_TIMEOUT))),
        "AgentCheckOut" => apply(ended(UserState::Offline, None)),
        "AgentRelease" => apply(ended(UserState::Working, None)),
        "AgentRinging" => in_call(UserState::Ringing),
        "AgentDialing" => in_call(UserState::Dialing),
        "AgentTalk" => in_call(UserState::Talking),
        // Channel events that only repeat what the agent events say.
        "Dialing" | "Ringing" | "Established" | "Released" => Effect::Ignore,
        // Flags of a leg (MUTED, HOLD): only a poll shows them on the legs.
        "Muted" | "Unmuted" | "Held" | "Retrieved" => Effect::Refresh,
        // Consultation, and anything not known yet.
        _ => Effect::Refresh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(json: &str) -> CccEvent {
        parse_delivery(json.as_bytes()).unwrap().remove(0)
    }

    #[test]
    fn parses_one_event_or_an_array() {
        let one = parse_delivery(
            br#"{"eventType":"AgentBreak","eventTime":"2026-12-05T18:00:00.250Z","instanceId":"i","agentId":"a@i","breakCode":"lunch","skillGroupIds":["g1"],"extra":1}"#,
        )
        .unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(event_time_ms(&one[0].event_time), Some(1_796_493_600_250));
        let many = parse_delivery(
            br#"[{"eventType":"AgentReady","eventTime":"2026-12-05T18:00:00Z","instanceId":"i","agentId":"a","outboundScenario":"true"}]"#,
        )
        .unwrap();
        assert_eq!(many[0].outbound_scenario, Some(true));
        assert_eq!(user_id(&many[0]).as_deref(), Some("a@i"));
        assert_eq!(user_id(&one[0]).as_deref(), Some("a@i"));
    }

    #[test]
    fn refuses_bad_deliveries() {
        for bad in [
            &b"not json"[..],
            b"42",
            br#"{"eventType":"AgentReady"}"#,
            br#"{"eventType":"AgentReady","eventTime":"yesterday","instanceId":"i"}"#,
        ] {
            assert!(
                parse_delivery(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn constant_time_token_check() {
        assert!(token_matches(b"s3cret-token", b"s3cret-token"));
        assert!(!token_matches(b"s3cret-token", b"s3cret-tokeN"));
        assert!(!token_matches(b"s3cret-token", b"s3cret"));
        assert!(!token_matches(b"", b""));
    }

    #[test]
    fn state_events_apply_and_calls_need_their_legs() {
        let t = r#""eventTime":"2026-12-05T18:00:00Z","instanceId":"i","agentId":"a@i""#;
        let brk = ev(&format!(
            r#"{{"eventType":"AgentBreak","breakCode":"lunch",{t}}}"#
        ));
        match effect(&brk) {
            Effect::Apply {
                change,
                then_refresh: RefreshNeed::No,
            } => {
                assert_eq!(change.state, UserState::Break);
                assert_eq!(change.break_code.as_deref(), Some("lunch"));
            }
            other => panic!("{other:?}"),
        }
        let ring = ev(&format!(
            r#"{{"eventType":"AgentRinging","contactId":"job-9",{t}}}"#
        ));
        match effect(&ring) {
            Effect::Apply {
                change,
                then_refresh: RefreshNeed::UnlessCallKnown,
            } => assert_eq!(change.job_id.as_deref(), Some("job-9")),
            other => panic!("{other:?}"),
        }
        let nobreak = ev(&format!(r#"{{"eventType":"AgentBreak",{t}}}"#));
        assert_eq!(effect(&nobreak), Effect::Refresh);
        let unknown = ev(&format!(r#"{{"eventType":"AgentWhatever",{t}}}"#));
        assert_eq!(effect(&unknown), Effect::Refresh);
        for flag in ["Muted", "Unmuted", "Held", "Retrieved"] {
            let e = ev(&format!(r#"{{"eventType":"{flag}",{t}}}"#));
            assert_eq!(effect(&e), Effect::Refresh, "{flag}");
        }
        let dialing = ev(&format!(
            r#"{{"eventType":"AgentDialing","contactId":"job-3",{t}}}"#
        ));
        match effect(&dialing) {
            Effect::Apply {
                change,
                then_refresh: RefreshNeed::UnlessCallKnown,
            } => {
                assert_eq!(change.state, UserState::Dialing);
                assert_eq!(change.job_id.as_deref(), Some("job-3"));
            }
            other => panic!("{other:?}"),
        }
        let est = ev(&format!(r#"{{"eventType":"Established",{t}}}"#));
        assert_eq!(effect(&est), Effect::Ignore);
    }
}
