//! CCC's agent events (ccc-api.md §8.2), as its webhook subscription
//! delivers them to `POST /ccc/events`: parsing, the delivery secret, and
//! what each event means for the toolbar.
//!
//! Events are at-least-once and unordered; [`crate::view`] decides whether
//! one still applies. Here each event becomes an [`Effect`]: a state to
//! apply without any CCC call, a `PollUserStatus` refresh (coalesced per
//! agent by the hub), or nothing.

use ccc_model::{break_codes, text, Event, EventMessage, UserState};
use subtle::ConstantTimeEq;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

use crate::view::StateChange;

/// Largest accepted webhook body (a batch of events).
pub const MAX_EVENTS_BODY: usize = 256 * 1024;
/// Most events accepted in one delivery.
pub const MAX_EVENTS_PER_DELIVERY: usize = 1000;

/// One event as CCC pushes it: ccc-model's typed [`EventMessage`] (the
/// simulator sends the same type). An unknown `eventType` decodes as
/// [`Event::Unknown`]; the webhook counts it and it asks for a refresh.
pub type CccEvent = EventMessage;

/// A delivery that cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventsError {
    /// Not JSON, not an event or array of events, or too many events.
    #[error("{0}")]
    Invalid(String),
}

/// One event of a delivery that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejected {
    /// Its position in the delivery (0 for a single object).
    pub index: usize,
    /// What is wrong with it.
    pub reason: String,
    /// The metrics label: `invalid` or `too_far_ahead`.
    #[serde(skip)]
    pub kind: &'static str,
}

/// A readable delivery: the usable events (with their positions) and the
/// rejected ones. One bad event never costs the good ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Events to apply, with their index in the delivery.
    pub events: Vec<(usize, CccEvent)>,
    /// Events refused, with the reason.
    pub rejected: Vec<Rejected>,
}

/// Parses a delivery received at `now` (proxy clock, epoch ms): one event
/// object or an array of them. Each event is checked on its own (shape,
/// `eventTime`, not too far ahead: [`crate::view::OrderRule`]).
pub fn parse_delivery(body: &[u8], now: i64) -> Result<Delivery, EventsError> {
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
    let mut out = Delivery::default();
    for (index, v) in items.into_iter().enumerate() {
        match check_event(v, now) {
            Ok(ev) => out.events.push((index, ev)),
            Err((kind, reason)) => out.rejected.push(Rejected {
                index,
                reason,
                kind,
            }),
        }
    }
    Ok(out)
}

fn check_event(v: serde_json::Value, now: i64) -> Result<CccEvent, (&'static str, String)> {
    let invalid = |reason: String| ("invalid", reason);
    let Some(obj) = v.as_object() else {
        return Err(invalid("An event must be a JSON object.".into()));
    };
    for field in ["eventType", "eventTime", "instanceId"] {
        match obj.get(field) {
            None => return Err(invalid(format!("{field} is missing."))),
            Some(serde_json::Value::String(_)) => {}
            Some(_) => return Err(invalid(format!("{field} must be a string."))),
        }
    }
    let ev: CccEvent = serde_json::from_value(v).map_err(|e| {
        // serde's message names the field; cut it so an answer stays small.
        let reason: String = e.to_string().chars().take(200).collect();
        ("invalid", format!("{reason}."))
    })?;
    let time = event_time_ms(&ev.event_time)
        .ok_or(("invalid", "eventTime is not ISO-8601 UTC.".to_owned()))?;
    crate::view::ORDER_RULE.check_time(time, now).map_err(|e| {
        (
            "too_far_ahead",
            format!(
                "eventTime is {} s ahead of the proxy's clock (at most {} s allowed).",
                e.ahead_ms / 1000,
                crate::view::ORDER_RULE.max_ahead_ms / 1000
            ),
        )
    })?;
    Ok(ev)
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
    // Event text is bounded like CCC's (ccc_model::text) before it is stored.
    let in_call = |state: UserState, job: Option<&str>| {
        let mut change = StateChange::to(state);
        change.job_id = text::clean_opt(job, text::MAX_ID);
        Effect::Apply {
            change,
            then_refresh: RefreshNeed::UnlessCallKnown,
        }
    };
    let ended = |state: UserState, code: Option<&str>| {
        let mut change = StateChange::to(state);
        change.ends_call = true;
        change.break_code = text::clean_opt(code, text::MAX_CODE);
        change
    };
    match &ev.event {
        Event::AgentCheckIn { break_code, .. } => apply(ended(
            UserState::Break,
            Some(break_code.as_deref().unwrap_or(break_codes::WARM_UP)),
        )),
        Event::AgentReady { outbound_scenario } => {
            let mut change = ended(UserState::Ready, None);
            change.outbound_scenario = *outbound_scenario;
            apply(change)
        }
        Event::AgentBreak { break_code } => {
            match text::clean_opt(break_code.as_deref(), text::MAX_CODE) {
                Some(code) => apply(ended(UserState::Break, Some(&code))),
                None => Effect::Refresh,
            }
        }
        Event::RingingTimeout { .. } => {
            apply(ended(UserState::Break, Some(break_codes::RINGING_TIMEOUT)))
        }
        Event::AgentCheckOut => apply(ended(UserState::Offline, None)),
        Event::AgentRelease(_) => apply(ended(UserState::Working, None)),
        Event::AgentRinging(leg) => in_call(UserState::Ringing, leg.contact_id.as_deref()),
        Event::AgentDialing(leg) => in_call(UserState::Dialing, leg.contact_id.as_deref()),
        Event::AgentTalk(leg) => in_call(UserState::Talking, leg.contact_id.as_deref()),
        // Channel events that only repeat what the agent events say.
        Event::Dialing(_) | Event::Ringing(_) | Event::Established(_) | Event::Released(_) => {
            Effect::Ignore
        }
        // Flags of a leg (MUTED, HOLD): only a poll shows them on the legs.
        Event::Muted(_) | Event::Unmuted(_) | Event::Held(_) | Event::Retrieved(_) => {
            Effect::Refresh
        }
        // Consultation, transfer, supervisor and conference events, and
        // types not known yet: a poll shows what they did.
        Event::InitiateConsultant(_)
        | Event::StartConsultant(_)
        | Event::StopConsultant(_)
        | Event::BlindTransfer(_)
        | Event::AttendedTransfer(_)
        | Event::StartMonitor(_)
        | Event::StopMonitor(_)
        | Event::StartCoach(_)
        | Event::StopCoach(_)
        | Event::BargeIn(_)
        | Event::Intercept(_)
        | Event::StartConference(_)
        | Event::StopConference(_)
        | Event::Threeway(_)
        | Event::Unknown(_) => Effect::Refresh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_493_600_000;

    fn ev(json: &str) -> CccEvent {
        let mut d = parse_delivery(json.as_bytes(), NOW).unwrap();
        assert_eq!(d.rejected, [], "{json}");
        d.events.remove(0).1
    }

    #[test]
    fn parses_one_event_or_an_array() {
        let one = parse_delivery(
            br#"{"eventType":"AgentBreak","eventTime":"2026-12-05T18:00:00.250Z","instanceId":"i","agentId":"a@i","breakCode":"lunch","skillGroupIds":["g1"],"extra":1}"#,
            NOW,
        )
        .unwrap()
        .events;
        let one: Vec<CccEvent> = one.into_iter().map(|(_, e)| e).collect();
        assert_eq!(one.len(), 1);
        assert_eq!(event_time_ms(&one[0].event_time), Some(1_796_493_600_250));
        let many = ev(
            r#"[{"eventType":"AgentReady","eventTime":"2026-12-05T18:00:00Z","instanceId":"i","agentId":"a","outboundScenario":"true"}]"#,
        );
        assert_eq!(
            many.event,
            Event::AgentReady {
                outbound_scenario: Some(true)
            }
        );
        assert_eq!(user_id(&many).as_deref(), Some("a@i"));
        assert_eq!(user_id(&one[0]).as_deref(), Some("a@i"));
    }

    #[test]
    fn refuses_unreadable_deliveries() {
        for bad in [&b"not json"[..], b"42", b"\"x\"", b"null"] {
            assert!(
                parse_delivery(bad, NOW).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let many = format!("[{}]", vec!["{}"; MAX_EVENTS_PER_DELIVERY + 1].join(","));
        assert!(parse_delivery(many.as_bytes(), NOW).is_err());
    }

    #[test]
    fn bad_events_are_rejected_one_by_one() {
        let good = r#"{"eventType":"AgentReady","eventTime":"2026-12-05T18:00:00Z","instanceId":"i","agentId":"a"}"#;
        let body = format!(
            r#"[{good},{{"eventType":1}},{{"eventType":"AgentReady"}},{{"eventType":"AgentReady","eventTime":"yesterday","instanceId":"i"}},{{"eventType":"AgentBreak","eventTime":"3000-01-01T00:00:00Z","instanceId":"i"}},{good}]"#
        );
        let d = parse_delivery(body.as_bytes(), NOW).unwrap();
        let applied: Vec<usize> = d.events.iter().map(|(i, _)| *i).collect();
        assert_eq!(applied, [0, 5]);
        let rejected: Vec<(usize, &str)> = d.rejected.iter().map(|r| (r.index, r.kind)).collect();
        assert_eq!(
            rejected,
            [
                (1, "invalid"),
                (2, "invalid"),
                (3, "invalid"),
                (4, "too_far_ahead")
            ]
        );
        assert!(
            d.rejected[0].reason.contains("eventType"),
            "{:?}",
            d.rejected
        );
        assert!(d.rejected[1].reason.contains("eventTime is missing"));
        assert!(d.rejected[2].reason.contains("ISO-8601"));
        assert!(d.rejected[3].reason.contains("ahead"));
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
        assert_eq!(unknown.event, Event::Unknown("AgentWhatever".into()));
        assert_eq!(effect(&unknown), Effect::Refresh);
        let transfer = ev(&format!(
            r#"{{"eventType":"BlindTransfer","originator":"80001878",{t}}}"#
        ));
        assert_eq!(effect(&transfer), Effect::Refresh);
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
