//! The pushed events on the wire: what the simulator writes decodes into
//! the same typed event, unknown types are kept, odd optional fields never
//! cost an event.

use ccc_model::{CallLeg, CallType, Event, EventMessage, EventType};
use serde_json::json;

fn decode(v: serde_json::Value) -> EventMessage {
    serde_json::from_value(v).expect("decodes")
}

#[test]
fn a_ringing_event_round_trips() {
    let m = EventMessage {
        event_time: "2026-12-05T18:00:00.250Z".into(),
        instance_id: "ccc-demo".into(),
        agent_id: Some("agent1@ccc-demo".into()),
        skill_group_ids: Some(vec!["sg1".into()]),
        context_id: Some(7),
        event: Event::AgentRinging(CallLeg {
            contact_id: Some("job-1".into()),
            channel_id: Some("ch:user:1".into()),
            call_type: Some(CallType::Inbound),
            skill_group_id: Some("sg1".into()),
            scenario: Some("INBOUND".into()),
        }),
    };
    let v = serde_json::to_value(&m).unwrap();
    assert_eq!(
        v,
        json!({
            "eventTime": "2026-12-05T18:00:00.250Z", "eventType": "AgentRinging",
            "instanceId": "ccc-demo", "agentId": "agent1@ccc-demo", "contextId": 7,
            "skillGroupIds": ["sg1"], "contactId": "job-1", "channelId": "ch:user:1",
            "callType": "INBOUND", "skillGroupId": "sg1", "scenario": "INBOUND"
        })
    );
    assert_eq!(decode(v), m);
}

#[test]
fn every_documented_type_round_trips() {
    for ty in EventType::ALL {
        let m = EventMessage {
            event_time: "2026-12-05T18:00:00Z".into(),
            instance_id: "i".into(),
            agent_id: None,
            skill_group_ids: None,
            context_id: None,
            event: Event::empty(*ty),
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["eventType"], ty.as_str());
        assert_eq!(decode(v).event_type(), Some(*ty), "{ty}");
    }
}

#[test]
fn unknown_types_are_kept_by_name() {
    let m = decode(json!({
        "eventType": "AgentWhatever", "eventTime": "2026-12-05T18:00:00Z",
        "instanceId": "i", "agentId": "a", "extra": {"nested": [1, 2]}
    }));
    assert_eq!(m.event, Event::Unknown("AgentWhatever".into()));
    assert_eq!(m.event.name(), "AgentWhatever");
    assert_eq!(m.event_type(), None);
    let back = serde_json::to_value(&m).unwrap();
    assert_eq!(back["eventType"], "AgentWhatever");
}

#[test]
fn documented_payloads_of_transfer_and_supervisor_events() {
    let m = decode(json!({
        "eventType": "BlindTransfer", "eventTime": "2026-12-05T18:00:00Z", "instanceId": "i",
        "agentId": "a", "skillGroupId": "sg", "originator": "80001878", "destination": 80002301
    }));
    match m.event {
        Event::BlindTransfer(t) => {
            assert_eq!(t.originator.as_deref(), Some("80001878"));
            assert_eq!(
                t.destination.as_deref(),
                Some("80002301"),
                "numbers as text"
            );
        }
        other => panic!("{other:?}"),
    }
    let m = decode(json!({
        "eventType": "StartMonitor", "eventTime": "2026-12-05T18:00:00Z", "instanceId": "i",
        "agentId": "monitored@i", "counterparty": "supervisor@i"
    }));
    assert!(
        matches!(m.event, Event::StartMonitor(ref p) if p.counterparty.as_deref() == Some("supervisor@i"))
    );
}

#[test]
fn odd_optional_fields_read_as_absent_and_strings_are_tolerated() {
    let m = decode(json!({
        "eventType": "AgentReady", "eventTime": "2026-12-05T18:00:00Z", "instanceId": "i",
        "outboundScenario": "true", "contextId": "42", "skillGroupIds": {"not": "a list"},
        "skillLevels": [1]
    }));
    assert_eq!(
        m.event,
        Event::AgentReady {
            outbound_scenario: Some(true)
        }
    );
    assert_eq!(m.context_id, Some(42));
    assert_eq!(m.skill_group_ids, None);
    let m = decode(json!({
        "eventType": "AgentCheckIn", "eventTime": "2026-12-05T18:00:00Z", "instanceId": "i",
        "outboundScenario": "perhaps", "contextId": "x", "skillLevels": {"sg1": 1, "sg2": "3", "sg3": "high"}
    }));
    assert_eq!(m.context_id, None);
    match m.event {
        Event::AgentCheckIn { skill_levels, .. } => {
            let levels = skill_levels.unwrap();
            assert_eq!(levels.len(), 2);
            assert_eq!(levels["sg2"], 3);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_common_fields_are_required() {
    for bad in [
        json!({"eventType": "AgentReady"}),
        json!({"eventTime": "2026-12-05T18:00:00Z", "instanceId": "i"}),
        json!({"eventType": "AgentReady", "eventTime": "t", "instanceId": "i", "agentId": 5}),
    ] {
        assert!(
            serde_json::from_value::<EventMessage>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}
