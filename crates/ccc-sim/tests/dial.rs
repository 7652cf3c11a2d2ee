//! MakeCall, HoldCall and RetrieveCall through the real router (`app` +
//! `oneshot`), signed by the independent V3 signer of `common`.

mod common;

use std::time::Duration;

use ccc_sim::{app, SimConfig, SimState};
use common::*;
use serde_json::{json, Value};

const A1: &str = "agent1@ccc-demo";
/// Answers (does not end in 0000 or 9999).
const CUSTOMER: &str = "13812345678";

/// Customers answer only through the admin API unless `answer_ms` is set.
fn sim(answer_ms: Option<u64>) -> (SimState, axum::Router) {
    let mut c = SimConfig::demo();
    c.timings.after_call_ms = 60_000;
    c.timings.dial_answer_ms = answer_ms;
    let state = SimState::new(c);
    let router = app(state.clone());
    (state, router)
}

async fn call(app: &axum::Router, action: &str, params: &[(&str, &str)]) -> (u16, Value) {
    send(app, rpc(action, params)).await
}

async fn user_state(app: &axum::Router) -> Value {
    let (s, b) = call(app, "PollUserStatus", &[("UserId", A1), ("DeviceId", "d")]).await;
    assert_eq!(s, 200, "{b}");
    b["Data"]["UserContext"]["UserState"].clone()
}

async fn ready(app: &axum::Router) {
    for action in ["SignInGroup", "ReadyForService"] {
        let (s, b) = call(app, action, &[("UserId", A1), ("DeviceId", "d")]).await;
        assert_eq!(s, 200, "{b}");
    }
}

/// MakeCall to `callee`; returns status and body.
async fn dial(app: &axum::Router, callee: &str, extra: &[(&str, &str)]) -> (u16, Value) {
    let mut params = vec![("UserId", A1), ("DeviceId", "d"), ("Callee", callee)];
    params.extend_from_slice(extra);
    call(app, "MakeCall", &params).await
}

fn job_and_customer(data: &Value) -> (String, String) {
    let ctx = &data["CallContext"];
    let customer = ctx["ChannelContexts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c.get("UserId").is_none())
        .unwrap();
    (
        ctx["JobId"].as_str().unwrap().to_owned(),
        customer["ChannelId"].as_str().unwrap().to_owned(),
    )
}

async fn wait_for(app: &axum::Router, state: &str) -> bool {
    wait_until(Duration::from_secs(5), || async {
        user_state(app).await == state
    })
    .await
}

#[tokio::test]
async fn make_call_dials_and_the_customer_answers_after_the_delay() {
    let (sim, app) = sim(Some(30));
    ready(&app).await;
    let (s, b) = dial(&app, CUSTOMER, &[("Caller", "02150001234")]).await;
    assert_eq!(s, 200, "{b}");
    let d = &b["Data"];
    assert_eq!(d["UserContext"]["UserState"], "DIALING");
    assert_eq!(d["CallContext"]["CallType"], "OUTBOUND");
    let (job, customer) = job_and_customer(d);
    assert_eq!(d["UserContext"]["JobId"], job.as_str());
    assert!(
        customer.starts_with("ch:customer:02150001234->13812345678:"),
        "{customer}"
    );
    for ch in d["CallContext"]["ChannelContexts"].as_array().unwrap() {
        assert_eq!(ch["ChannelState"], "NONE", "{ch}");
        assert_eq!(ch["Destination"], CUSTOMER, "{ch}");
    }
    assert!(
        wait_for(&app, "TALKING").await,
        "the customer never answered"
    );
    assert_eq!(sim.stats().calls.get("MakeCall"), Some(&1));
}

#[tokio::test]
async fn busy_numbers_are_user_busy_and_change_nothing() {
    let (_, app) = sim(Some(30));
    ready(&app).await;
    let (s, b) = dial(&app, "13812340000", &[]).await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["Code"], "UserBusy");
    assert_eq!(b["Params"], json!(["13812340000"]));
    assert_eq!(
        b["Message"],
        "The user 13812340000 you called was busy. Please try again later."
    );
    assert_eq!(user_state(&app).await, "READY");
}

#[tokio::test]
async fn unanswered_numbers_are_released_after_timeout_seconds() {
    let (_, app) = sim(Some(10));
    ready(&app).await;
    let (s, b) = call(
        &app,
        "TakeBreak",
        &[("UserId", A1), ("DeviceId", "d"), ("Code", "lunch")],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = dial(&app, "13812349999", &[("TimeoutSeconds", "1")]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(user_state(&app).await, "DIALING");
    // Back to the break the agent dialled from.
    assert!(wait_for(&app, "BREAK").await, "never released");
    let (_, b) = call(&app, "PollUserStatus", &[("UserId", A1), ("DeviceId", "d")]).await;
    assert_eq!(b["Data"]["UserContext"]["BreakCode"], "lunch");
    assert!(b["Data"].get("CallContext").is_none(), "{b}");
}

/// Parameters, HTTP status, code, `Params`.
type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str, Value);

#[tokio::test]
async fn make_call_parameter_and_state_errors() {
    let (sim, app) = sim(None);
    let cases: [Case; 5] = [
        (
            &[("UserId", A1), ("DeviceId", "d")],
            400,
            "MissingParameter",
            json!(["Callee"]),
        ),
        (
            &[("UserId", A1), ("Callee", CUSTOMER)],
            400,
            "MissingParameter",
            json!(["DeviceId"]),
        ),
        (
            &[
                ("UserId", A1),
                ("DeviceId", "d"),
                ("Callee", CUSTOMER),
                ("TimeoutSeconds", "0"),
            ],
            400,
            "InvalidParameter",
            json!(["TimeoutSeconds"]),
        ),
        (
            &[
                ("UserId", A1),
                ("DeviceId", "d"),
                ("Callee", CUSTOMER),
                ("TimeoutSeconds", "soon"),
            ],
            400,
            "InvalidParameter",
            json!(["TimeoutSeconds"]),
        ),
        (
            &[("UserId", A1), ("DeviceId", "d"), ("Callee", CUSTOMER)],
            400,
            "InvalidOperation.UserState",
            json!(["OFFLINE", "READY,BREAK,WORKING"]),
        ),
    ];
    for (params, status, code, p) in cases {
        let (s, b) = call(&app, "MakeCall", params).await;
        assert_eq!((s, &b["Code"], &b["Params"]), (status, &json!(code), &p));
    }
    assert!(sim.agent(A1).unwrap().call.is_none());
}

#[tokio::test]
async fn hold_and_retrieve_the_customer_then_hang_up() {
    let (_, app) = sim(None);
    ready(&app).await;
    let (_, b) = dial(&app, CUSTOMER, &[]).await;
    let (job, customer) = job_and_customer(&b["Data"]);
    let hold = |action: &'static str, job: String, channel: String| {
        let app = app.clone();
        async move {
            call(
                &app,
                action,
                &[
                    ("UserId", A1),
                    ("DeviceId", "d"),
                    ("JobId", &job),
                    ("ChannelId", &channel),
                ],
            )
            .await
        }
    };
    // Not before the customer answers.
    let (s, b) = hold("HoldCall", job.clone(), customer.clone()).await;
    assert_eq!((s, &b["Params"]), (400, &json!(["DIALING", "TALKING"])));
    let (s, b) = admin(&app, "POST", &format!("/_sim/calls/{job}/answer"), None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["userContext"]["UserState"], "TALKING");

    let (s, b) = hold("HoldCall", job.clone(), customer.clone()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["Data"]["UserContext"]["UserState"], "TALKING");
    let flags = |b: &Value, channel: &str| {
        b["Data"]["CallContext"]["ChannelContexts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["ChannelId"] == channel)
            .map(|c| c["ChannelFlags"].clone())
            .unwrap()
    };
    assert_eq!(flags(&b, &customer), "HOLD");
    let (_, polled) = call(&app, "PollUserStatus", &[("UserId", A1), ("DeviceId", "d")]).await;
    assert_eq!(flags(&polled, &customer), "HOLD");

    let (s, b) = hold("HoldCall", "job-1".into(), customer.clone()).await;
    assert_eq!((s, &b["Code"]), (404, &json!("NotExists.JobId")));
    let own = polled["Data"]["CallContext"]["ChannelContexts"][0]["ChannelId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, b) = hold("RetrieveCall", job.clone(), own.clone()).await;
    assert_eq!((s, &b["Code"]), (404, &json!("NotExists.ChannelId")));
    assert_eq!(b["Params"], json!([own, job]));

    let (s, b) = hold("RetrieveCall", job.clone(), customer.clone()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(flags(&b, &customer), "[]");
    let (s, b) = call(
        &app,
        "ReleaseCall",
        &[("UserId", A1), ("DeviceId", "d"), ("JobId", &job)],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["Data"]["UserContext"]["UserState"], "WORKING");
}

#[tokio::test]
async fn hanging_up_while_dialing_cancels_the_attempt() {
    let (_, app) = sim(None);
    ready(&app).await;
    let (_, b) = dial(&app, CUSTOMER, &[]).await;
    let (job, _) = job_and_customer(&b["Data"]);
    let (s, b) = call(
        &app,
        "ReleaseCall",
        &[("UserId", A1), ("DeviceId", "d"), ("JobId", &job)],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["Data"]["UserContext"]["UserState"], "READY");
    // The customer can no longer answer it.
    let (s, _) = admin(&app, "POST", &format!("/_sim/calls/{job}/answer"), None).await;
    assert_eq!(s, 404);
    // A customer who declines: hang-up by the customer while dialing.
    let (_, b) = dial(&app, CUSTOMER, &[]).await;
    let (job, _) = job_and_customer(&b["Data"]);
    let (s, b) = admin(&app, "POST", &format!("/_sim/calls/{job}/hangup"), None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["outcome"], "notConnected");
    assert_eq!(b["userContext"]["UserState"], "READY");
}

#[tokio::test]
async fn dial_timings_and_dialing_from_elsewhere_on_the_admin_api() {
    let (sim, app) = sim(None);
    let (s, b) = admin(&app, "GET", "/_sim/dial", None).await;
    assert_eq!(
        (s, &b),
        (200, &json!({"answerMs": null, "timeoutMs": 30_000}))
    );
    let (s, b) = admin(&app, "PUT", "/_sim/dial", Some(json!({"answerMs": 20}))).await;
    assert_eq!(
        (s, &b),
        (200, &json!({"answerMs": 20, "timeoutMs": 30_000}))
    );
    for bad in [
        json!({"timeoutMs": 0}),
        json!({"answerMs": "x"}),
        json!({"x": 1}),
    ] {
        let (s, _) = admin(&app, "PUT", "/_sim/dial", Some(bad.clone())).await;
        assert_eq!(s, 400, "{bad}");
    }
    assert_eq!(sim.dial_timings().answer_ms, Some(20));
    // An OFFLINE agent put in DIALING: signed in, then dials; the new
    // answer delay applies.
    let (s, b) = admin(
        &app,
        "POST",
        &format!("/_sim/agents/{A1}/state"),
        Some(json!({"state": "DIALING"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["userContext"]["UserState"], "DIALING");
    assert!(wait_for(&app, "TALKING").await);
}
