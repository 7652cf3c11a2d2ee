//! Issue 18: blind transfer, consult → complete / cancel / conference →
//! leave, and the keypad, through the real router (signed by the
//! independent V3 signer of `common`), with both agents' states and the
//! events as a real webhook receiver gets them, in order.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use ccc_sim::state_machine::HangupBy;
use ccc_sim::{app, SimConfig, SimState, WebhookTarget};
use common::*;
use serde_json::{json, Value};

const A1: &str = "agent1@ccc-demo";
const A2: &str = "agent2@ccc-demo";
const A3: &str = "agent3@ccc-demo";
const DEADLINE: Duration = Duration::from_secs(10);

/// A webhook receiver that keeps every event.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Value>>>);

async fn hook(State(rx): State<Receiver>, Json(body): Json<Value>) -> StatusCode {
    rx.0.lock()
        .unwrap()
        .extend(body.as_array().cloned().unwrap_or_default());
    StatusCode::NO_CONTENT
}

impl Receiver {
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = Router::new()
            .route("/hook", post(hook))
            .with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}/hook")
    }

    fn events(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }

    fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    /// `(eventType, agentId)` of every event since the last clear, once
    /// every queued event was delivered.
    async fn seen(&self, state: &SimState) -> Vec<(String, String)> {
        let settled = wait_until(DEADLINE, || async { state.stats().events.is_settled() }).await;
        assert!(settled, "events did not settle");
        self.events()
            .iter()
            .map(|e| {
                (
                    e["eventType"].as_str().unwrap_or_default().to_owned(),
                    e["agentId"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// The first event of `ty` since the last clear.
    fn find(&self, ty: &str) -> Value {
        self.events()
            .into_iter()
            .find(|e| e["eventType"] == ty)
            .unwrap_or_else(|| panic!("no {ty} event"))
    }
}

fn ev(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(t, a)| ((*t).to_owned(), (*a).to_owned()))
        .collect()
}

/// A simulator pushing to a fresh receiver; long timers unless a test
/// shortens them.
async fn sim(config: impl FnOnce(&mut SimConfig)) -> (SimState, Router, Receiver) {
    let mut c = SimConfig::demo();
    c.timings.after_call_ms = 60_000;
    c.timings.dial_answer_ms = None;
    config(&mut c);
    let rx = Receiver::default();
    let url = rx.start().await;
    let state = SimState::new(c);
    state.set_webhook(Some(WebhookTarget::new(&url, None).unwrap()));
    let router = app(state.clone());
    (state, router, rx)
}

async fn call(app: &Router, action: &str, params: &[(&str, &str)]) -> (u16, Value) {
    send(app, rpc(action, params)).await
}

async fn ok(app: &Router, action: &str, params: &[(&str, &str)]) -> Value {
    let (s, b) = call(app, action, params).await;
    assert_eq!(s, 200, "{action} {params:?}: {b}");
    b["Data"].clone()
}

async fn refused(app: &Router, action: &str, params: &[(&str, &str)], code: &str) -> Value {
    let (s, b) = call(app, action, params).await;
    assert!(s >= 400, "{action} {params:?} should fail: {b}");
    assert_eq!(b["Code"], code, "{action} {params:?}: {b}");
    b["Params"].clone()
}

async fn ready(app: &Router, user: &str) {
    ok(app, "SignInGroup", &[("UserId", user), ("DeviceId", "d")]).await;
    ok(
        app,
        "ReadyForService",
        &[("UserId", user), ("DeviceId", "d")],
    )
    .await;
}

/// PollUserStatus of `user`: `(UserState, CallContext)`.
async fn poll(app: &Router, user: &str) -> (String, Value) {
    let data = ok(
        app,
        "PollUserStatus",
        &[("UserId", user), ("DeviceId", "d")],
    )
    .await;
    (
        data["UserContext"]["UserState"]
            .as_str()
            .unwrap()
            .to_owned(),
        data.get("CallContext").cloned().unwrap_or(Value::Null),
    )
}

fn channels(call: &Value) -> Vec<Value> {
    call["ChannelContexts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn channel_of(call: &Value, user: &str) -> Option<Value> {
    channels(call).into_iter().find(|c| c["UserId"] == user)
}

fn customer(call: &Value) -> Value {
    channels(call)
        .into_iter()
        .find(|c| c.get("UserId").is_none())
        .expect("a customer channel")
}

/// `ChannelFlags` is sent as a string (`"[]"`, `"HOLD"`, ...).
fn held(call: &Value) -> bool {
    customer(call)["ChannelFlags"]
        .as_str()
        .is_some_and(|f| f.contains("HOLD"))
}

/// A1 talks with a customer, A2 (and A3) are READY; the receiver is
/// cleared. Returns the job.
async fn talking(state: &SimState, app: &Router, rx: &Receiver) -> String {
    ready(app, A1).await;
    ready(app, A2).await;
    ready(app, A3).await;
    let job = state.ring(A1, "13900001111", None).unwrap();
    ok(app, "AnswerCall", &[("UserId", A1), ("JobId", &job)]).await;
    rx.seen(state).await;
    rx.clear();
    job
}

#[tokio::test]
async fn blind_transfer_to_an_agent() {
    let (state, app, rx) = sim(|_| {}).await;
    let job = talking(&state, &app, &rx).await;
    let (_, before) = poll(&app, A1).await;
    let data = ok(
        &app,
        "BlindTransfer",
        &[
            ("UserId", A1),
            ("JobId", &job),
            ("Transferee", A2),
            ("TransfereeType", "AGENT"),
        ],
    )
    .await;
    assert_eq!(data["UserContext"]["UserState"], "WORKING", "at once");
    assert_eq!(poll(&app, A1).await, ("WORKING".to_owned(), Value::Null));
    let (s2, call2) = poll(&app, A2).await;
    assert_eq!(s2, "RINGING");
    assert_eq!(call2["JobId"], job.as_str(), "the same job");
    assert_eq!(
        customer(&call2)["ChannelId"],
        customer(&before)["ChannelId"],
        "the same customer leg"
    );
    assert_eq!(channel_of(&call2, A2).unwrap()["ChannelState"], "RINGING");
    // The target answers as for any call.
    ok(&app, "AnswerCall", &[("UserId", A2), ("JobId", &job)]).await;
    assert_eq!(poll(&app, A2).await.0, "TALKING");
    assert_eq!(
        rx.seen(&state).await,
        ev(&[
            ("Released", A1),
            ("AgentRelease", A1),
            ("BlindTransfer", A1),
            ("Ringing", A2),
            ("AgentRinging", A2),
            ("Established", A2),
            ("AgentTalk", A2),
        ])
    );
    let t = rx.find("BlindTransfer");
    assert_eq!(
        (t["originator"].as_str(), t["destination"].as_str()),
        (Some("80010001"), Some("80010002"))
    );
    assert_eq!(rx.find("AgentRinging")["scenario"], "BLIND_TRANSFER");
    assert_eq!(rx.find("AgentTalk")["scenario"], "BLIND_TRANSFER");
    let (s, record) = admin(&app, "GET", &format!("/_sim/calls/{job}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(record["transfers"][0]["action"], "BlindTransfer");
    assert_eq!(record["transfers"][0]["toUser"], A2);
    assert_eq!(state.stats().calls_of("BlindTransfer"), 1);
}

#[tokio::test]
async fn blind_transfer_to_a_number_and_to_a_skill_group() {
    let (state, app, rx) = sim(|_| {}).await;
    let job = talking(&state, &app, &rx).await;
    ok(
        &app,
        "BlindTransfer",
        &[
            ("UserId", A1),
            ("JobId", &job),
            ("Transferee", "02150001234"),
            ("TransfereeType", "EXTERNAL_NUMBER"),
            ("Transferor", "02188880000"),
        ],
    )
    .await;
    assert_eq!(poll(&app, A1).await.0, "WORKING");
    assert_eq!(
        rx.seen(&state).await,
        ev(&[
            ("Released", A1),
            ("AgentRelease", A1),
            ("BlindTransfer", A1)
        ])
    );
    assert_eq!(rx.find("BlindTransfer")["destination"], "02150001234");
    let (_, record) = admin(&app, "GET", &format!("/_sim/calls/{job}"), None).await;
    assert_eq!(record["transfers"][0]["transferor"], "02188880000");
    assert_eq!(record["transfers"][0]["transfereeType"], "EXTERNAL_NUMBER");

    // Skill group `sales` (agent1, agent2): agent2 is its READY member.
    ok(
        &app,
        "ReadyForService",
        &[("UserId", A1), ("DeviceId", "d")],
    )
    .await;
    let job = state.ring(A1, "13900002222", None).unwrap();
    ok(&app, "AnswerCall", &[("UserId", A1), ("JobId", &job)]).await;
    ok(
        &app,
        "BlindTransfer",
        &[
            ("UserId", A1),
            ("JobId", &job),
            ("Transferee", "sales@ccc-demo"),
            ("TransfereeType", "SKILL_GROUP"),
        ],
    )
    .await;
    let (s2, call2) = poll(&app, A2).await;
    assert_eq!(s2, "RINGING");
    assert_eq!(
        channel_of(&call2, A2).unwrap()["SkillGroupId"],
        "sales@ccc-demo"
    );
    // No READY member left: UserBusy, and nothing changes.
    ok(&app, "AnswerCall", &[("UserId", A2), ("JobId", &job)]).await;
    let params = refused(
        &app,
        "BlindTransfer",
        &[
            ("UserId", A2),
            ("JobId", &job),
            ("Transferee", "sales@ccc-demo"),
        ],
        "UserBusy",
    )
    .await;
    assert_eq!(params, json!(["sales@ccc-demo"]));
    assert_eq!(poll(&app, A2).await.0, "TALKING");
}

#[tokio::test]
async fn consult_then_complete() {
    let (state, app, rx) = sim(|_| {}).await;
    let job = talking(&state, &app, &rx).await;
    let data = ok(
        &app,
        "InitiateAttendedTransfer",
        &[
            ("UserId", A1),
            ("JobId", &job),
            ("Transferee", A2),
            ("TransfereeType", "AGENT"),
        ],
    )
    .await;
    assert_eq!(data["UserContext"]["UserState"], "TALKING");
    let (s1, call1) = poll(&app, A1).await;
    assert_eq!(s1, "TALKING");
    assert!(held(&call1), "the customer waits on hold: {call1}");
    let leg = channel_of(&call1, A2).expect("the consult leg in A1's call");
    assert_eq!(leg["CallType"], "CONSULTANT");
    assert_eq!(leg["ChannelState"], "RINGING");
    let (s2, call2) = poll(&app, A2).await;
    assert_eq!(s2, "RINGING");
    assert_eq!(call2["CallType"], "CONSULTANT");
    assert_eq!(call2["JobId"], job.as_str());

    ok(&app, "AnswerCall", &[("UserId", A2), ("JobId", &job)]).await;
    let (_, call1) = poll(&app, A1).await;
    assert_eq!(channel_of(&call1, A2).unwrap()["ChannelState"], "ANSWERED");
    assert!(held(&call1), "still on hold while they talk");

    ok(
        &app,
        "CompleteAttendedTransfer",
        &[("UserId", A1), ("JobId", &job)],
    )
    .await;
    assert_eq!(poll(&app, A1).await.0, "WORKING");
    let (s2, call2) = poll(&app, A2).await;
    assert_eq!(s2, "TALKING");
    assert!(!held(&call2), "the customer talks to A2 now");
    assert!(channel_of(&call2, A1).is_none(), "A1 left: {call2}");
    assert_eq!(call2["CallType"], "INBOUND");
    assert_eq!(
        rx.seen(&state).await,
        ev(&[
            ("InitiateConsultant", A1),
            ("Held", A1),
            ("Ringing", A2),
            ("AgentRinging", A2),
            ("Established", A2),
            ("AgentTalk", A2),
            ("StartConsultant", A1),
            ("Released", A1),
            ("AgentRelease", A1),
            ("AttendedTransfer", A1),
            ("StopConsultant", A1),
            ("Retrieved", A2),
        ])
    );
    assert_eq!(rx.find("InitiateConsultant")["counterparty"], A2);
    assert_eq!(rx.find("AgentRinging")["scenario"], "CONSULTED");
    assert_eq!(rx.find("AttendedTransfer")["destination"], "80010002");
    // Nothing to complete any more.
    refused(
        &app,
        "CompleteAttendedTransfer",
        &[("UserId", A2), ("JobId", &job)],
        "NotExists.ChannelId",
    )
    .await;
}

#[tokio::test]
async fn consult_then_cancel_before_the_target_answers() {
    let (state, app, rx) = sim(|_| {}).await;
    let job = talking(&state, &app, &rx).await;
    let consult = [("UserId", A1), ("JobId", job.as_str()), ("Transferee", A2)];
    ok(&app, "InitiateAttendedTransfer", &consult).await;
    ok(
        &app,
        "CancelAttendedTransfer",
        &[("UserId", A1), ("JobId", &job)],
    )
    .await;
    let (s1, call1) = poll(&app, A1).await;
    assert_eq!(s1, "TALKING");
    assert!(!held(&call1), "back with the customer");
    assert!(channel_of(&call1, A2).is_none());
    assert_eq!(poll(&app, A2).await, ("READY".to_owned(), Value::Null));
    assert_eq!(
        rx.seen(&state).await,
        ev(&[
            ("InitiateConsultant", A1),
            ("Held", A1),
            ("Ringing", A2),
            ("AgentRinging", A2),
            ("StopConsultant", A1),
            ("Released", A2),
            ("AgentReady", A2),
            ("Retrieved", A1),
        ])
    );
}

#[tokio::test]
async fn consult_then_cancel_after_the_target_answered() {
    let (state, app, rx) = sim(|_| {}).await;
    let job = talking(&state, &app, &rx).await;
    let consult = [("UserId", A1), ("JobId", job.as_str()), ("Transferee", A2)];
    ok(&app, "InitiateAttendedTransfer", &consult).await;
    ok(&app, "AnswerCall", &[("UserId", A2), ("JobId", &job)]).await;
    ok(
        &app,
        "CancelAttendedTransfer",
        &[("UserId", A1), ("JobId", &job)],
    )
    .await;
    let (s1, call1) = poll(&app, A1).await;
    assert_eq!(s1, "TALKING");
    assert!(!held(&call1));
    assert_eq!(channels(&call1).len(), 2, "customer and A1: {call1}");
    assert_eq!(poll(&app, A2).await, ("WORKING".to_owned(), Value::Null));
    let seen = rx.seen(&state).await;
    assert_eq!(
        seen[6..],
        ev(&[
            ("StartConsultant", A1),
            ("StopConsultant", A1),
            ("Released", A2),
            ("AgentRelease", A2),
            ("Retrieved", A1),
        ])[..],
        "{seen:?}"
    );
    // A second consult works the same way.
    ok(
        &app,
        "ReadyForService",
        &[("UserId", A2), ("DeviceId", "d")],
    )
    .await;
    ok(&app, "InitiateAttendedTransfer", &consult).await;
    assert_eq!(poll(&app, A2).await.0, "RINGING");
}

#[tokio::test]
async fn consult_conference_and_leave() {
    let (state, app, rx) = sim(|_| {}).await;
    let job = talking(&state, &app, &rx).await;
    let consult = [("UserId", A1), ("JobId", job.as_str()), ("Transferee", A2)];
    ok(&app, "InitiateAttendedTransfer", &consult).await;
    // Not before the target answered.
    let params = refused(
        &app,
        "SwitchToConference",
        &[("UserId", A1), ("JobId", &job)],
        "InvalidOperation.ChannelState",
    )
    .await;
    assert_eq!(params, json!(["RINGING", "ANSWERED"]));
    ok(&app, "AnswerCall", &[("UserId", A2), ("JobId", &job)]).await;
    ok(
        &app,
        "SwitchToConference",
        &[("UserId", A1), ("JobId", &job)],
    )
    .await;
    for user in [A1, A2] {
        let (s, call) = poll(&app, user).await;
        assert_eq!(s, "TALKING", "{user}");
        assert_eq!(call["CallType"], "CONFERENCE", "{user}: {call}");
        assert!(!held(&call), "all three talk");
        assert!(channel_of(&call, A1).is_some() && channel_of(&call, A2).is_some());
    }
    // A consult of a conference is not a consult any more.
    refused(
        &app,
        "CancelAttendedTransfer",
        &[("UserId", A1), ("JobId", &job)],
        "NotExists.ChannelId",
    )
    .await;
    ok(&app, "EndConference", &[("UserId", A1), ("JobId", &job)]).await;
    assert_eq!(poll(&app, A1).await, ("WORKING".to_owned(), Value::Null));
    let (s2, call2) = poll(&app, A2).await;
    assert_eq!(s2, "TALKING", "the call goes on for the others");
    assert_eq!(call2["CallType"], "INBOUND");
    assert!(channel_of(&call2, A1).is_none());
    assert_eq!(channels(&call2).len(), 2);
    let seen = rx.seen(&state).await;
    assert_eq!(
        seen[6..],
        ev(&[
            ("StartConsultant", A1),
            ("Retrieved", A1),
            ("StartConference", A1),
            ("Retrieved", A2),
            ("Released", A1),
            ("AgentRelease", A1),
            ("StopConference", A1),
        ])[..],
        "{seen:?}"
    );
    // Not a conference any more.
    let params = refused(
        &app,
        "EndConference",
        &[("UserId", A2), ("JobId", &job)],
        "InvalidOperation.ChannelState",
    )
    .await;
    assert_eq!(params, json!(["INBOUND", "CONFERENCE"]));
}

#[tokio::test]
async fn the_consulted_agent_leaves_a_conference() {
    let (state, app, rx) = sim(|_| {}).await;
    let job = talking(&state, &app, &rx).await;
    let consult = [("UserId", A1), ("JobId", job.as_str()), ("Transferee", A2)];
    ok(&app, "InitiateAttendedTransfer", &consult).await;
    ok(&app, "AnswerCall", &[("UserId", A2), ("JobId", &job)]).await;
    ok(
        &app,
        "SwitchToConference",
        &[("UserId", A1), ("JobId", &job)],
    )
    .await;
    ok(&app, "EndConference", &[("UserId", A2), ("JobId", &job)]).await;
    assert_eq!(poll(&app, A2).await.0, "WORKING");
    let (s1, call1) = poll(&app, A1).await;
    assert_eq!(s1, "TALKING");
    assert_eq!(call1["CallType"], "INBOUND");
    assert_eq!(channels(&call1).len(), 2, "{call1}");
}

#[tokio::test]
async fn a_consult_ends_when_either_side_goes() {
    let (state, app, rx) = sim(|c| c.timings.ringing_timeout_ms = 200).await;
    let job = talking(&state, &app, &rx).await;
    let consult = [("UserId", A1), ("JobId", job.as_str()), ("Transferee", A2)];
    // The target never answers: its ringing times out; A1 keeps the
    // customer (on hold) and can consult again.
    ok(&app, "InitiateAttendedTransfer", &consult).await;
    let timed_out = wait_until(DEADLINE, || async { poll(&app, A2).await.0 == "BREAK" }).await;
    assert!(timed_out);
    let (s1, call1) = poll(&app, A1).await;
    assert_eq!(s1, "TALKING");
    assert!(channel_of(&call1, A2).is_none(), "{call1}");
    assert!(held(&call1), "still on hold, for A1 to retrieve");
    assert!(rx
        .seen(&state)
        .await
        .contains(&("StopConsultant".to_owned(), A1.to_owned())));

    // A1 hangs up mid-consult after A3 answered: A3's leg ends too.
    let consult3 = [("UserId", A1), ("JobId", job.as_str()), ("Transferee", A3)];
    ok(&app, "InitiateAttendedTransfer", &consult3).await;
    ok(&app, "AnswerCall", &[("UserId", A3), ("JobId", &job)]).await;
    ok(
        &app,
        "ReleaseCall",
        &[("UserId", A1), ("JobId", &job), ("DeviceId", "d")],
    )
    .await;
    assert_eq!(poll(&app, A1).await.0, "WORKING");
    assert_eq!(poll(&app, A3).await, ("WORKING".to_owned(), Value::Null));

    // The customer hangs up during a consult: both agents' calls end.
    ready(&app, A1).await;
    ready(&app, A2).await;
    let job = state.ring(A1, "13900003333", None).unwrap();
    ok(&app, "AnswerCall", &[("UserId", A1), ("JobId", &job)]).await;
    let consult = [("UserId", A1), ("JobId", job.as_str()), ("Transferee", A2)];
    ok(&app, "InitiateAttendedTransfer", &consult).await;
    ok(&app, "AnswerCall", &[("UserId", A2), ("JobId", &job)]).await;
    state.hang_up(&job, HangupBy::Customer).unwrap();
    assert_eq!(poll(&app, A1).await, ("WORKING".to_owned(), Value::Null));
    assert_eq!(poll(&app, A2).await, ("WORKING".to_owned(), Value::Null));
}

/// An action, its parameters, the code of its refusal and its `Params`.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, Value);

#[tokio::test]
async fn transfer_errors_change_nothing() {
    let (state, app, rx) = sim(|_| {}).await;
    let job = talking(&state, &app, &rx).await;
    let j = job.as_str();
    let cases: Vec<Case> = vec![
        (
            "BlindTransfer",
            vec![("Transferee", A2)],
            "MissingParameter",
            json!(["JobId"]),
        ),
        (
            "BlindTransfer",
            vec![("JobId", j)],
            "MissingParameter",
            json!(["Transferee"]),
        ),
        (
            "BlindTransfer",
            vec![("JobId", "job-404"), ("Transferee", A2)],
            "NotExists.JobId",
            json!(["job-404"]),
        ),
        (
            "BlindTransfer",
            vec![
                ("JobId", j),
                ("Transferee", "nobody@ccc-demo"),
                ("TransfereeType", "AGENT"),
            ],
            "NotExists.UserId",
            json!(["nobody@ccc-demo", "ccc-demo"]),
        ),
        (
            "InitiateAttendedTransfer",
            vec![
                ("JobId", j),
                ("Transferee", "0215000"),
                ("TransfereeType", "EXTERNAL_NUMBER"),
            ],
            "Parameter.Enumeration",
            json!(["TransfereeType", "AGENT,SKILL_GROUP,EXTERNAL"]),
        ),
        (
            "BlindTransfer",
            vec![
                ("JobId", j),
                ("Transferee", "0215000"),
                ("TransfereeType", "EXTERNAL"),
            ],
            "Parameter.Enumeration",
            json!(["TransfereeType", "AGENT,SKILL_GROUP,IVR,EXTERNAL_NUMBER"]),
        ),
        (
            "BlindTransfer",
            vec![("JobId", j), ("Transferee", A1)],
            "InvalidParameter",
            json!(["Transferee"]),
        ),
        (
            "BlindTransfer",
            vec![
                ("JobId", j),
                ("Transferee", "nogroup@ccc-demo"),
                ("TransfereeType", "SKILL_GROUP"),
            ],
            "InvalidParameter",
            json!(["Transferee"]),
        ),
        (
            "BlindTransfer",
            vec![("JobId", j), ("Transferee", "13812340000")],
            "UserBusy",
            json!(["13812340000"]),
        ),
        (
            "CompleteAttendedTransfer",
            vec![("JobId", j)],
            "NotExists.ChannelId",
            json!(["CONSULTANT", j]),
        ),
        (
            "SwitchToConference",
            vec![("JobId", j)],
            "NotExists.ChannelId",
            json!(["CONSULTANT", j]),
        ),
        (
            "SendDtmfSignaling",
            vec![("JobId", j), ("ChannelId", "ch:nope"), ("Dtmf", "1")],
            "NotExists.ChannelId",
            json!(["ch:nope", j]),
        ),
        (
            "SendDtmfSignaling",
            vec![("JobId", j), ("ChannelId", "ch:nope"), ("Dtmf", "A")],
            "InvalidParameter",
            json!(["Dtmf"]),
        ),
        (
            "SendDtmfSignaling",
            vec![("JobId", j), ("Dtmf", "1")],
            "MissingParameter",
            json!(["ChannelId"]),
        ),
    ];
    for (action, params, code, expected) in cases {
        let mut p = vec![("UserId", A1)];
        p.extend(params);
        let got = refused(&app, action, &p, code).await;
        assert_eq!(got, expected, "{action} {p:?}");
    }
    // A busy target.
    ok(&app, "TakeBreak", &[("UserId", A2), ("Code", "lunch")]).await;
    let got = refused(
        &app,
        "InitiateAttendedTransfer",
        &[("UserId", A1), ("JobId", j), ("Transferee", A2)],
        "UserBusy",
    )
    .await;
    assert_eq!(got, json!([A2]));
    // The rules table: only while TALKING (A3 rings with a job of its own).
    let job3 = state.ring(A3, "13900004444", None).unwrap();
    let got = refused(
        &app,
        "BlindTransfer",
        &[("UserId", A3), ("JobId", &job3), ("Transferee", A1)],
        "InvalidOperation.UserState",
    )
    .await;
    assert_eq!(got, json!(["RINGING", "TALKING"]));
    let (s1, call1) = poll(&app, A1).await;
    assert_eq!(s1, "TALKING");
    assert!(!held(&call1));
    assert_eq!(channels(&call1).len(), 2);
    // Consulting twice is refused while the first consult lasts.
    ok(
        &app,
        "ReadyForService",
        &[("UserId", A2), ("DeviceId", "d")],
    )
    .await;
    ok(
        &app,
        "InitiateAttendedTransfer",
        &[("UserId", A1), ("JobId", j), ("Transferee", A2)],
    )
    .await;
    refused(
        &app,
        "BlindTransfer",
        &[("UserId", A1), ("JobId", j), ("Transferee", "02150001234")],
        "InvalidOperation.ChannelState",
    )
    .await;
}

#[tokio::test]
async fn keypad_keys_are_recorded_in_order_on_the_channel() {
    let (state, app, rx) = sim(|_| {}).await;
    let job = talking(&state, &app, &rx).await;
    let (_, call) = poll(&app, A1).await;
    let channel = customer(&call)["ChannelId"].as_str().unwrap().to_owned();
    for key in ["1", "2", "*", "9", "#"] {
        ok(
            &app,
            "SendDtmfSignaling",
            &[
                ("UserId", A1),
                ("JobId", &job),
                ("ChannelId", &channel),
                ("Dtmf", key),
            ],
        )
        .await;
    }
    let (s, record) = admin(&app, "GET", &format!("/_sim/calls/{job}"), None).await;
    assert_eq!(s, 200, "{record}");
    assert_eq!(record["dtmf"], "12*9#");
    assert_eq!(record["keys"][2]["channelId"], channel.as_str());
    assert_eq!(record["keys"][2]["userId"], A1);
    assert_eq!(record["keys"][2]["via"], "api");
    assert_eq!(record["agents"][0]["userId"], A1);
    assert_eq!(state.stats().calls_of("SendDtmfSignaling"), 5);
    let (s, _) = admin(&app, "GET", "/_sim/calls/job-never", None).await;
    assert_eq!(s, 404);
    // Not while ringing.
    ready(&app, A2).await;
    let job2 = state.ring(A2, "13900005555", None).unwrap();
    let (_, call2) = poll(&app, A2).await;
    let ch2 = customer(&call2)["ChannelId"].as_str().unwrap().to_owned();
    refused(
        &app,
        "SendDtmfSignaling",
        &[
            ("UserId", A2),
            ("JobId", &job2),
            ("ChannelId", &ch2),
            ("Dtmf", "5"),
        ],
        "InvalidOperation.UserState",
    )
    .await;
}

#[tokio::test]
async fn consult_an_external_number_that_answers() {
    let (state, app, rx) = sim(|_| {}).await;
    state.set_dial_timings(ccc_sim::DialTimings {
        answer_ms: Some(20),
        ..state.dial_timings()
    });
    let job = talking(&state, &app, &rx).await;
    ok(
        &app,
        "InitiateAttendedTransfer",
        &[
            ("UserId", A1),
            ("JobId", &job),
            ("Transferee", "02150001234"),
            ("TransfereeType", "EXTERNAL"),
        ],
    )
    .await;
    let answered = wait_until(DEADLINE, || async {
        let (_, call) = poll(&app, A1).await;
        channels(&call)
            .iter()
            .any(|c| c["Destination"] == "02150001234" && c["ChannelState"] == "ANSWERED")
    })
    .await;
    assert!(answered);
    ok(
        &app,
        "CompleteAttendedTransfer",
        &[("UserId", A1), ("JobId", &job)],
    )
    .await;
    assert_eq!(poll(&app, A1).await.0, "WORKING");
    assert_eq!(
        rx.seen(&state).await,
        ev(&[
            ("InitiateConsultant", A1),
            ("Held", A1),
            ("StartConsultant", A1),
            ("Released", A1),
            ("AgentRelease", A1),
            ("AttendedTransfer", A1),
            ("StopConsultant", A1),
        ])
    );
}
