//! Dialling, hold and retrieve through the proxy against the real simulator
//! over HTTP: validation before any CCC call, ids only from CCC's own state,
//! and the whole outbound call.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const CALLER_ID: &str = "02150001234";
/// Answers (the simulator's busy numbers end in 0000, silent ones in 9999).
const CUSTOMER: &str = "13812345678";

/// A proxy offering two caller ids and mainland mobile numbers only.
async fn setup_dial() -> (ccc_sim::RunningSim, axum::Router) {
    let (sim, app, _) = setup(&[
        "--caller-ids",
        "021 5000 1234,+8610100",
        "--dial-pattern",
        r"(\+86)?1\d{10}",
    ])
    .await;
    (sim, app)
}

/// How dialled customers behave in the simulator from now on.
async fn customers_answer_after(sim: &ccc_sim::RunningSim, ms: Option<u64>) {
    admin(sim, "PUT", "/dial", json!({ "answerMs": ms })).await;
}

fn dial_body(number: &str, caller_id: Option<&str>) -> String {
    match caller_id {
        Some(c) => json!({ "number": number, "callerId": c }),
        None => json!({ "number": number }),
    }
    .to_string()
}

fn customer_leg(snapshot: &Value) -> Value {
    snapshot["call"]["channels"]
        .as_array()
        .and_then(|legs| legs.iter().find(|c| c["userId"].is_null()).cloned())
        .unwrap_or_else(|| panic!("no customer leg in {snapshot}"))
}

fn make_calls(sim: &ccc_sim::RunningSim) -> u64 {
    sim.state()
        .stats()
        .calls
        .get("MakeCall")
        .copied()
        .unwrap_or(0)
}

/// Long-polls `GET /api/v1/agent` until `what` holds (5 s deadline).
async fn wait_for(app: &axum::Router, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut path = "/api/v1/agent".to_owned();
    loop {
        let (s, _, b) = send(app, get(&path, AGENT)).await;
        assert_eq!(s, 200, "{b}");
        if cond(&b) {
            return b;
        }
        assert!(tokio::time::Instant::now() < deadline, "never {what}: {b}");
        // Returns at the next change (or after a second).
        path = format!("/api/v1/agent?since={}&wait=1", b["contextId"]);
    }
}

#[tokio::test]
async fn bad_dial_input_gets_a_400_and_never_reaches_ccc() {
    let (sim, app) = setup_dial().await;
    let (_, _, session) = send(&app, get("/api/v1/session", AGENT)).await;
    assert_eq!(session["callerIds"], json!([CALLER_ID, "+8610100"]));
    ready_agent(&app, AGENT).await;
    let too_long = "1".repeat(33);
    let cases = [
        (dial_body("138-abc", None), "Proxy.InvalidNumber"),
        (dial_body(" - ", None), "Proxy.InvalidNumber"),
        (dial_body(&too_long, None), "Proxy.InvalidNumber"),
        // Valid numbers outside --dial-pattern.
        (dial_body(CALLER_ID, None), "Proxy.NumberNotAllowed"),
        (dial_body("+1 415 555 0100", None), "Proxy.NumberNotAllowed"),
        // Caller ids not offered.
        (dial_body(CUSTOMER, Some("110")), "Proxy.InvalidCallerId"),
        (
            dial_body(CUSTOMER, Some("021-5000-1234")),
            "Proxy.InvalidCallerId",
        ),
        // Unknown fields and a missing number.
        (
            json!({"number": CUSTOMER, "jobId": "job-1"}).to_string(),
            "Proxy.BadRequest",
        ),
        (
            json!({"number": CUSTOMER, "caller": CALLER_ID}).to_string(),
            "Proxy.BadRequest",
        ),
        (
            json!({ "callerId": CALLER_ID }).to_string(),
            "Proxy.BadRequest",
        ),
        ("[1]".to_owned(), "Proxy.BadRequest"),
    ];
    for (body, code) in &cases {
        let r = send(&app, post("/api/v1/agent/dial", AGENT, body)).await;
        assert_error(&r, 400, code, "proxy");
    }
    assert_eq!(make_calls(&sim), 0, "nothing reached CCC");
    let (_, _, b) = send(&app, get("/api/v1/agent", AGENT)).await;
    assert_eq!(b["agent"]["state"], "READY");
}

#[tokio::test]
async fn dial_talk_hold_retrieve_and_hang_up() {
    let (sim, app) = setup_dial().await;
    customers_answer_after(&sim, Some(300)).await;
    ready_agent(&app, AGENT).await;

    let (s, _, b) = send(
        &app,
        post(
            "/api/v1/agent/dial",
            AGENT,
            &dial_body("+86 138 1234 5678", Some(CALLER_ID)),
        ),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(make_calls(&sim), 1);
    // The answer may already be TALKING if the customer was quick.
    assert!(
        ["DIALING", "TALKING"].contains(&b["agent"]["state"].as_str().unwrap()),
        "{b}"
    );
    assert_eq!(b["call"]["callType"], "OUTBOUND");
    let leg = customer_leg(&b);
    assert_eq!(leg["destination"], "+8613812345678", "the validated number");
    assert_eq!(leg["originator"], CALLER_ID, "the chosen caller id");
    let job = b["call"]["jobId"].as_str().unwrap().to_owned();

    let talking = wait_for(&app, "TALKING", |b| b["agent"]["state"] == "TALKING").await;
    assert_eq!(talking["call"]["jobId"], job.as_str());
    assert_eq!(talking["held"], false);

    // The browser may not name the call or the leg.
    for body in [
        json!({ "jobId": job }),
        json!({ "channelId": leg["channelId"] }),
    ] {
        let r = send(&app, post("/api/v1/agent/hold", AGENT, &body.to_string())).await;
        assert_error(&r, 400, "Proxy.BadRequest", "proxy");
    }
    let (s, _, b) = send(&app, post("/api/v1/agent/hold", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["held"], true, "{b}");
    assert_eq!(b["agent"]["state"], "TALKING");
    assert_eq!(customer_leg(&b)["flags"], json!(["HOLD"]));
    // CCC itself holds the customer's leg of that call.
    let in_ccc = sim.state().agent(AGENT).unwrap().call_context().unwrap();
    assert_eq!(in_ccc.job_id, job);
    assert!(in_ccc.is_held());

    let (s, _, b) = send(&app, post("/api/v1/agent/retrieve", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["held"], false, "{b}");
    assert!(!sim
        .state()
        .agent(AGENT)
        .unwrap()
        .call_context()
        .unwrap()
        .is_held());

    let (s, _, b) = send(&app, post("/api/v1/agent/hangup", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "WORKING", "{b}");
    assert!(b["call"].is_null() && b["held"] == false, "{b}");
}

#[tokio::test]
async fn a_busy_number_is_ccc_user_busy_with_the_number() {
    let (sim, app) = setup_dial().await;
    ready_agent(&app, AGENT).await;
    let r = send(
        &app,
        post("/api/v1/agent/dial", AGENT, &dial_body("13800000000", None)),
    )
    .await;
    assert_error(&r, 400, "UserBusy", "ccc");
    assert_eq!(r.2["error"]["params"], json!(["13800000000"]));
    assert!(r.2["error"]["message"].as_str().unwrap().contains("busy"));
    assert_eq!(make_calls(&sim), 1);
    let (_, _, b) = send(&app, get("/api/v1/agent", AGENT)).await;
    assert_eq!(
        b["agent"]["state"], "READY",
        "a busy number changes nothing"
    );
}

#[tokio::test]
async fn hold_outside_a_talking_call_is_a_clear_error_and_hang_up_cancels_dialing() {
    let (sim, app) = setup_dial().await;
    customers_answer_after(&sim, None).await;
    for cmd in ["hold", "retrieve"] {
        let r = send(&app, post(&format!("/api/v1/agent/{cmd}"), AGENT, "{}")).await;
        assert_error(&r, 409, "Proxy.NoCall", "proxy");
    }
    ready_agent(&app, AGENT).await;
    let (s, _, b) = send(
        &app,
        post("/api/v1/agent/dial", AGENT, &dial_body(CUSTOMER, None)),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "DIALING", "{b}");
    // No caller id: CCC's default (the simulator shows the extension).
    assert_eq!(customer_leg(&b)["originator"], "80010001");
    // Dialling again, or holding before the customer answers: CCC refuses.
    let r = send(
        &app,
        post("/api/v1/agent/dial", AGENT, &dial_body(CUSTOMER, None)),
    )
    .await;
    assert_error(&r, 400, "InvalidOperation.UserState", "ccc");
    let r = send(&app, post("/api/v1/agent/hold", AGENT, "{}")).await;
    assert_error(&r, 400, "InvalidOperation.UserState", "ccc");
    assert_eq!(r.2["error"]["params"], json!(["DIALING", "TALKING"]));
    // Hanging up while dialing cancels the attempt.
    let (s, _, b) = send(&app, post("/api/v1/agent/hangup", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "READY", "{b}");
    assert!(b["call"].is_null(), "{b}");
}

#[tokio::test]
async fn ccc_events_show_a_call_dialled_and_held_elsewhere() {
    const TOKEN: &str = "events-token-0123456789";
    let sim = sim().await;
    customers_answer_after(&sim, Some(100)).await;
    // Events come over the socket; the browser's requests (Host
    // 127.0.0.1:8080, the public origin) through the same state.
    let flags = [
        "--events-token",
        TOKEN,
        "--public-origin",
        "http://127.0.0.1:8080",
    ];
    let (base, state, _stop) = serve_on_socket(config(&sim.endpoint(), &flags)).await;
    let hook = ccc_sim::WebhookTarget::new(&format!("{base}/ccc/events"), Some(TOKEN.into()));
    sim.state().set_webhook(Some(hook.unwrap()));
    let app = ccc_proxy::app(state.clone()).layer(axum::extract::connect_info::MockConnectInfo(
        std::net::SocketAddr::from(([127, 0, 0, 1], 40_000)),
    ));
    let (_, _, first) = send(&app, get("/api/v1/agent", AGENT)).await;
    assert_eq!(first["agent"]["state"], "OFFLINE");

    // Another device dials: AgentDialing, then the call's legs.
    sim.state()
        .set_agent_state(
            AGENT,
            &ccc_sim::StateChange::new(ccc_model::UserState::Dialing),
        )
        .unwrap();
    let dialing = wait_for(&app, "the callee", |b| {
        b["call"]["channels"].as_array().is_some_and(|legs| {
            legs.iter()
                .any(|l| l["destination"] == ccc_sim::DIALED_NUMBER)
        })
    })
    .await;
    assert_eq!(dialing["call"]["callType"], "OUTBOUND");
    wait_for(&app, "TALKING", |b| b["agent"]["state"] == "TALKING").await;

    // ... and holds the customer: the Held event refreshes the snapshot.
    let agent = sim.state().agent(AGENT).unwrap();
    let call = agent.call_context().unwrap();
    let leg = call.customer_channel().unwrap().channel_id.clone();
    let hold = vec![
        ("JobId".to_owned(), call.job_id.clone()),
        ("ChannelId".to_owned(), leg),
    ];
    state
        .client
        .call_action_with("HoldCall", AGENT, "desk-phone", hold)
        .await
        .unwrap();
    let held = wait_for(&app, "held", |b| b["held"] == true).await;
    assert_eq!(held["agent"]["state"], "TALKING");
}
