//! Every JSON response example of the CCC API pages in ../shared/seeds (copied
//! verbatim into tests/fixtures) decodes into the expected values, the error
//! example of ccc-api.md §1.1 decodes, and encode → decode round-trips hold.

use ccc_model::{
    api::AgentSnapshot, CallActionData, CallType, CccError, ChannelFlag, ChannelState, Envelope,
    ErrorCode, PollUserStatusData, UserContext, UserState, WorkMode,
};
use serde::de::DeserializeOwned;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn decode<T: DeserializeOwned>(name: &str) -> Envelope<T> {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Encoding is canonical and decoding it again gives the same value.
fn round_trip<T>(env: &Envelope<T>)
where
    T: serde::Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_string(env).unwrap();
    let back: Envelope<T> = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, env, "round trip of {text}");
}

#[test]
fn change_work_mode_example() {
    let env: Envelope<UserContext> = decode("change_work_mode.json");
    assert!(env.is_ok());
    assert_eq!(env.http_status_code, 200); // sent as "200"
    assert_eq!(env.message, None); // "无"
    assert!(env.params.is_empty()); // "无"
    assert_eq!(env.request_id, "87731ED1-6224-48A5-99E3-6237FF9B1C00");
    let u = env.data.clone().unwrap();
    assert_eq!(u.user_state, UserState::Offline);
    assert_eq!(u.break_code.as_deref(), Some("Warm-up"));
    assert_eq!(u.work_mode, Some(WorkMode::OnSite));
    assert_eq!(u.extension.as_deref(), Some("80011474"));
    assert_eq!(u.job_id, None); // "无"
    assert!(!u.outbound_scenario); // "false"
    assert_eq!(u.signed_skill_group_id_list, vec!["skill-group@ccc-test"]); // JSON text
    assert_eq!(
        u.device_id.as_deref(),
        Some("ACC-YUNBS-1.0.10-bs990cd82101cc000176af19ec8e")
    );
    round_trip(&env);
}

#[test]
fn reset_agent_state_example() {
    let env: Envelope<UserContext> = decode("reset_agent_state.json");
    assert!(env.is_ok());
    let u = env.data.clone().unwrap();
    assert_eq!(u.user_id, "user-test@ccc-test");
    assert_eq!(u.instance_id, "ccc-test");
    assert_eq!(u.user_state, UserState::Offline);
    assert_eq!(u.break_code, None); // missing
    assert_eq!(u.heartbeat, None);
    assert!(u.signed_skill_group_id_list.is_empty());
    round_trip(&env);
}

#[test]
fn take_break_example_with_real_numbers() {
    let env: Envelope<UserContext> = decode("take_break.json");
    assert_eq!(env.http_status_code, 200); // a real number here
    let u = env.data.clone().unwrap();
    assert_eq!(u.user_state, UserState::Break);
    assert_eq!(u.break_code.as_deref(), Some("default"));
    assert_eq!(u.mobile.as_deref(), Some("13900000001")); // sent as a number
    assert_eq!(u.extension.as_deref(), Some("80011474")); // sent as a number
    assert_eq!(u.heartbeat, Some(1_609_249_563_836));
    assert_eq!(u.reserved, Some(1_609_234_221_864));
    assert!(!u.outbound_scenario);
    round_trip(&env);
}

#[test]
fn ready_for_service_example() {
    let env: Envelope<UserContext> = decode("ready_for_service.json");
    let u = env.data.clone().unwrap();
    assert_eq!(u.user_state, UserState::Offline);
    assert_eq!(u.work_mode, Some(WorkMode::OnSite));
    assert_eq!(env.request_id, "CC49060B-87ED-489A-AD3D-00E57775DBFF");
    round_trip(&env);
}

#[test]
fn mute_call_example() {
    let env: Envelope<CallActionData> = decode("mute_call.json");
    assert!(env.is_ok());
    let d = env.data.clone().unwrap();
    let u = &d.user_context;
    assert_eq!(u.user_state, UserState::Talking);
    assert_eq!(u.heartbeat, Some(1_609_253_205_896)); // "1609253205896"
    assert_eq!(u.reserved, Some(1_609_253_204_811));
    assert_eq!(u.job_id.as_deref(), Some("job-65815360847228928"));
    let call = d.call_context.clone().unwrap();
    assert_eq!(call.call_type, Some(CallType::Outbound));
    assert_eq!(call.channel_contexts.len(), 1);
    let ch = &call.channel_contexts[0];
    assert_eq!(ch.index, 1); // "1"
    assert_eq!(ch.channel_state, ChannelState::Answered);
    assert!(ch.channel_flags.is_empty()); // "[]"
    assert_eq!(ch.timestamp, Some(1_609_253_212_511));
    assert_eq!(ch.release_initiator, None); // "无"
    assert_eq!(ch.user_id.as_deref(), Some("user-test@ccc-test"));
    assert_eq!(ch.originator.as_deref(), Some("13188888888"));
    assert_eq!(
        ch.channel_id,
        "ch:user:13188888888->80011474:1609253204816:job-65815360847228928\""
    );
    // The example's own channel has no MUTED flag yet.
    assert!(!call.is_muted("user-test@ccc-test"));
    round_trip(&env);
}

#[test]
fn poll_user_status_with_flags_in_every_form() {
    let env: Envelope<PollUserStatusData> = decode("poll_user_status.json");
    let d = env.data.clone().unwrap();
    assert_eq!(d.context_id, 106);
    assert_eq!(d.user_context.break_code, None); // ""
    let call = d.call_context.clone().unwrap();
    assert_eq!(call.call_variables.as_deref(), Some("a=b;c=d"));
    assert_eq!(
        call.channel_contexts[0].channel_flags,
        vec![ChannelFlag::Monitoring] // a bare token
    );
    assert_eq!(
        call.channel_contexts[1].channel_flags,
        vec![
            ChannelFlag::Muted,
            ChannelFlag::Unknown("BRAND_NEW_FLAG".into())
        ]
    );
    assert!(call.is_muted("agent@ccc-test"));

    let snap = AgentSnapshot::from_poll(&d, 1_700_000_000_000);
    assert!(snap.muted);
    assert_eq!(snap.context_id, 106);
    assert_eq!(snap.agent.state, UserState::Talking);
    let c = snap.call.as_ref().unwrap();
    assert_eq!(
        c.customer_channel().unwrap().originator.as_deref(),
        Some("01012345678")
    );
    assert!(c.channel_of("agent@ccc-test").is_some());
    round_trip(&env);
}

#[test]
fn sign_out_example_with_code_200() {
    let env: Envelope<UserContext> = decode("sign_out_group_code_200.json");
    assert!(env.is_ok(), "\"Code\": \"200\" counts as success");
    assert!(CccError::from_envelope(&env).is_none());
    let u = env.data.unwrap();
    assert_eq!(u.user_state, UserState::Offline);
    assert!(u.signed_skill_group_id_list.is_empty());
}

#[test]
fn error_example_decodes() {
    let env: Envelope<UserContext> = decode("error_user_state.json");
    assert!(!env.is_ok());
    assert!(env.data.is_none());
    let e = CccError::from_envelope(&env).unwrap();
    assert_eq!(e.code, ErrorCode::UserState);
    assert_eq!(e.http_status, 400);
    assert_eq!(e.params, vec!["OFFLINE", "BREAK,READY,WORKING"]);
    assert_eq!(e.request_id, "B7C33B8E-3A01-5D3A-B227-1FBA77BCED04");
    // The model renders the same message the cloud sent.
    let rendered = ErrorCode::UserState.with_params(e.params.clone());
    assert_eq!(rendered.message, e.message);
    // And encodes back to the same envelope.
    let back: Envelope<UserContext> = e.to_envelope();
    assert_eq!(back, env);
}

#[test]
fn canonical_encoding_uses_real_types() {
    let env: Envelope<UserContext> = decode("change_work_mode.json");
    let v: serde_json::Value = serde_json::to_value(&env).unwrap();
    assert_eq!(v["HttpStatusCode"], serde_json::json!(200));
    assert_eq!(v["Data"]["OutboundScenario"], serde_json::json!(false));
    assert_eq!(
        v["Data"]["SignedSkillGroupIdList"],
        serde_json::json!(["skill-group@ccc-test"])
    );
    assert!(
        v["Data"].get("JobId").is_none(),
        "placeholder fields are omitted"
    );
    assert!(v.get("Message").is_none());
    let take_break: Envelope<UserContext> = decode("take_break.json");
    let v = serde_json::to_value(&take_break).unwrap();
    assert_eq!(
        v["Data"]["Heartbeat"],
        serde_json::json!(1_609_249_563_836_i64)
    );
    assert_eq!(v["Data"]["Mobile"], serde_json::json!("13900000001"));
}

#[test]
fn unknown_enum_values_never_break_decoding() {
    let text = r#"{"Code":"OK","HttpStatusCode":200,"RequestId":"x","Data":{
        "UserId":"a@b","InstanceId":"b","UserState":"HIBERNATING","WorkMode":"ON_MARS"}}"#;
    let env: Envelope<UserContext> = serde_json::from_str(text).unwrap();
    let u = env.data.unwrap();
    assert_eq!(u.user_state, UserState::Unknown("HIBERNATING".into()));
    assert_eq!(u.work_mode, Some(WorkMode::Unknown("ON_MARS".into())));
    let again = serde_json::to_string(&u).unwrap();
    assert!(again.contains("\"HIBERNATING\""));
}

#[test]
fn bad_input_is_a_clear_error() {
    let text = r#"{"Code":"OK","HttpStatusCode":"two hundred","RequestId":"x"}"#;
    let err = serde_json::from_str::<Envelope<UserContext>>(text).unwrap_err();
    assert!(err.to_string().contains("two hundred"), "{err}");
    let text = r#"{"Code":"OK","RequestId":"x","Data":{"Heartbeat":"soon"}}"#;
    let err = serde_json::from_str::<Envelope<UserContext>>(text).unwrap_err();
    assert!(err.to_string().contains("soon"), "{err}");
}
