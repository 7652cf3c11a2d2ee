//! HTTP tests through the real router (`app` + `oneshot`) and one real
//! socket (`spawn`), with requests signed by an independent V3 signer.

mod common;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use ccc_model::signing::v1;
use ccc_sim::config::{DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET};
use ccc_sim::{app, SimConfig, SimState};
use common::*;
use serde_json::{json, Value};

const A1: &str = "agent1@ccc-demo";

fn fast_config() -> SimConfig {
    let mut c = SimConfig::demo();
    c.timings.after_call_ms = 50;
    c.timings.ringing_timeout_ms = 60_000;
    c
}

fn sim(config: SimConfig) -> (SimState, axum::Router) {
    let state = SimState::new(config);
    let router = app(state.clone());
    (state, router)
}

fn assert_envelope(status: u16, body: &Value, code: &str) {
    assert_eq!(body["Code"], code, "{body}");
    assert_eq!(body["HttpStatusCode"], status, "{body}");
    let rid = body["RequestId"].as_str().unwrap();
    assert_eq!(rid.len(), 36, "{rid}");
    assert!(body["Message"].is_string(), "{body}");
}

async fn call(app: &axum::Router, action: &str, params: &[(&str, &str)]) -> (u16, Value) {
    send(app, rpc(action, params)).await
}

async fn state_of(app: &axum::Router, user: &str) -> Value {
    let (s, b) = call(
        app,
        "PollUserStatus",
        &[("UserId", user), ("DeviceId", "poll")],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    b["Data"].clone()
}

async fn online_ready(app: &axum::Router, user: &str, device: &str) {
    let (s, b) = call(
        app,
        "SignInGroup",
        &[("UserId", user), ("DeviceId", device)],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = call(
        app,
        "ReadyForService",
        &[("UserId", user), ("DeviceId", device)],
    )
    .await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn sign_in_then_ready_with_envelopes() {
    let (_, app) = sim(fast_config());
    let (s, b) = call(
        &app,
        "SignInGroup",
        &[("UserId", A1), ("DeviceId", "dev-1")],
    )
    .await;
    assert_eq!(s, 200);
    assert_envelope(200, &b, "OK");
    assert_eq!(b["Data"]["UserState"], "BREAK");
    assert_eq!(b["Data"]["BreakCode"], "Warm-up");
    assert_eq!(b["Data"]["DeviceId"], "dev-1");
    assert_eq!(b["Data"]["Extension"], "80010001");
    let (s, b) = call(
        &app,
        "ReadyForService",
        &[("UserId", A1), ("DeviceId", "dev-1")],
    )
    .await;
    assert_eq!((s, &b["Data"]["UserState"]), (200, &json!("READY")));
    let (s, b) = call(
        &app,
        "SignOutGroup",
        &[("UserId", A1), ("DeviceId", "dev-1")],
    )
    .await;
    assert_eq!((s, &b["Data"]["UserState"]), (200, &json!("OFFLINE")));
}

#[tokio::test]
async fn ready_while_offline_is_the_documented_error() {
    let (_, app) = sim(fast_config());
    let (s, b) = call(
        &app,
        "ReadyForService",
        &[("UserId", A1), ("DeviceId", "d")],
    )
    .await;
    assert_eq!(s, 400);
    assert_envelope(400, &b, "InvalidOperation.UserState");
    assert_eq!(b["Params"], json!(["OFFLINE", "BREAK,READY,WORKING"]));
    assert_eq!(
        b["Message"],
        "The operation is not allowed. User state (OFFLINE) does not meet expectations (BREAK,READY,WORKING)."
    );
}

/// Action, parameters, HTTP status, code, `Params`.
type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str, Value);

#[tokio::test]
async fn parameter_errors() {
    let (_, app) = sim(fast_config());
    online_ready(&app, A1, "d").await;
    let cases: Vec<Case<'_>> = vec![
        (
            "TakeBreak",
            vec![("UserId", A1), ("Code", " ")],
            400,
            "Parameter.Blank",
            json!(["Code"]),
        ),
        (
            "ChangeWorkMode",
            vec![("UserId", A1), ("WorkMode", "HOME")],
            400,
            "Parameter.Enumeration",
            json!(["WorkMode", "ON_SITE,OFF_SITE,OFFICE_PHONE"]),
        ),
        (
            "ChangeWorkMode",
            vec![("UserId", A1)],
            400,
            "Parameter.Blank",
            json!(["WorkMode"]),
        ),
        (
            "TakeBreak",
            vec![("UserId", "nobody@ccc-demo"), ("Code", "x")],
            404,
            "NotExists.UserId",
            json!(["nobody@ccc-demo", "ccc-demo"]),
        ),
        (
            "PollUserStatus",
            vec![("DeviceId", "d")],
            400,
            "MissingParameter",
            json!(["UserId"]),
        ),
        (
            "MuteCall",
            vec![("UserId", A1), ("JobId", "job-1")],
            404,
            "NotExists.JobId",
            json!(["job-1"]),
        ),
        (
            "UnmuteCall",
            vec![("UserId", A1)],
            400,
            "MissingParameter",
            json!(["JobId"]),
        ),
        (
            "ReleaseCall",
            vec![("UserId", A1), ("JobId", "job-2")],
            404,
            "NotExists.JobId",
            json!(["job-2"]),
        ),
        (
            "SignInGroup",
            vec![("UserId", A1)],
            400,
            "MissingParameter",
            json!(["DeviceId"]),
        ),
        (
            "ReadyForService",
            vec![("UserId", A1), ("OutboundScenario", "maybe")],
            400,
            "InvalidParameter",
            json!(["OutboundScenario"]),
        ),
    ];
    for (action, params, status, code, p) in cases {
        let (s, b) = call(&app, action, &params).await;
        assert_eq!(s, status, "{action} {b}");
        assert_envelope(status, &b, code);
        assert_eq!(b["Params"], p, "{action}");
    }
}

#[tokio::test]
async fn instance_errors() {
    let (_, app) = sim(fast_config());
    let req = sign_v3(
        HOST,
        "PollUserStatus",
        &[("UserId", A1)],
        &[],
        V3Opts::default(),
    );
    let (s, b) = send(&app, req.to_request()).await;
    assert_eq!(s, 400);
    assert_envelope(400, &b, "MissingParameter");
    assert_eq!(
        b["Message"],
        "The input parameter \"InstanceId\" that is mandatory for processing this request is not supplied."
    );
    let req = sign_v3(
        HOST,
        "PollUserStatus",
        &[("InstanceId", "nope"), ("UserId", A1)],
        &[],
        V3Opts::default(),
    );
    let (s, b) = send(&app, req.to_request()).await;
    assert_eq!(s, 404);
    assert_envelope(404, &b, "NotExists.InstanceId");
    assert_eq!(b["Params"], json!(["nope"]));
}

#[tokio::test]
async fn protocol_errors() {
    let (_, app) = sim(fast_config());
    // Unknown action: like the cloud, 404 InvalidAction.NotFound.
    let (s, b) = call(&app, "TransferCall", &[("UserId", A1)]).await;
    assert_eq!(s, 404);
    assert_envelope(404, &b, "InvalidAction.NotFound");
    // Wrong and missing version.
    let (s, b) = send(&app, get("/?Action=PollUserStatus&Version=2017-07-05")).await;
    assert_eq!(s, 400);
    assert_envelope(400, &b, "InvalidVersion");
    let (s, b) = send(&app, get("/?Action=PollUserStatus")).await;
    assert_envelope(s, &b, "MissingParameter");
    assert_eq!(b["Params"], json!(["Version"]));
    let (s, b) = send(&app, get("/?Version=2020-07-01")).await;
    assert_envelope(s, &b, "MissingParameter");
    assert_eq!(b["Params"], json!(["Action"]));
    // Not signed at all.
    let (s, b) = send(
        &app,
        get("/?Action=PollUserStatus&Version=2020-07-01&InstanceId=ccc-demo"),
    )
    .await;
    assert_eq!(s, 400);
    assert_envelope(400, &b, "MissingParameter");
    assert_eq!(b["Params"], json!(["AccessKeyId"]));
    // Another path.
    let (s, b) = send(&app, get("/other")).await;
    assert_eq!(s, 404);
    assert_envelope(404, &b, "InvalidAction.NotFound");
}

fn get(uri: &str) -> Request<Body> {
    Request::builder().uri(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn v3_authentication_errors() {
    let (_, app) = sim(fast_config());
    let q = [("InstanceId", "ccc-demo"), ("UserId", A1)];
    // Unknown key.
    let opts = V3Opts {
        key_id: "LTAI-unknown",
        ..V3Opts::default()
    };
    let (s, b) = send(
        &app,
        sign_v3(HOST, "PollUserStatus", &q, &[], opts).to_request(),
    )
    .await;
    assert_eq!(s, 404);
    assert_envelope(404, &b, "InvalidAccessKeyId.NotFound");
    // Wrong secret.
    let opts = V3Opts {
        secret: "wrong",
        ..V3Opts::default()
    };
    let (s, b) = send(
        &app,
        sign_v3(HOST, "PollUserStatus", &q, &[], opts).to_request(),
    )
    .await;
    assert_eq!(s, 400);
    assert_envelope(400, &b, "SignatureDoesNotMatch");
    // Tampered query.
    let mut r = sign_v3(HOST, "PollUserStatus", &q, &[], V3Opts::default());
    r.query = r.query.replace("agent1", "agent2");
    let (s, b) = send(&app, r.to_request()).await;
    assert_envelope(s, &b, "SignatureDoesNotMatch");
    // Tampered body.
    let mut r = sign_v3(
        HOST,
        "TakeBreak",
        &q,
        &[("Code", "lunch")],
        V3Opts::default(),
    );
    r.body = "Code=gone".into();
    let (s, b) = send(&app, r.to_request()).await;
    assert_envelope(s, &b, "SignatureDoesNotMatch");
    // Expired date.
    let opts = V3Opts {
        date: ccc_sim::auth::format_timestamp(now_secs() - 16 * 60),
        ..V3Opts::default()
    };
    let (s, b) = send(
        &app,
        sign_v3(HOST, "PollUserStatus", &q, &[], opts).to_request(),
    )
    .await;
    assert_eq!(s, 400);
    assert_envelope(400, &b, "InvalidTimeStamp.Expired");
    // Nonce reuse.
    let r = sign_v3(HOST, "PollUserStatus", &q, &[], V3Opts::default());
    let (s, _) = send(&app, r.to_request()).await;
    assert_eq!(s, 200);
    let (s, b) = send(&app, r.to_request()).await;
    assert_eq!(s, 400);
    assert_envelope(400, &b, "SignatureNonceUsed");
}

fn v1_request(method: &str, params: &[(&str, &str)], in_body: bool) -> Request<Body> {
    let mut all: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (k, v) in [
        ("Version", "2020-07-01".to_owned()),
        ("Format", "JSON".to_owned()),
        ("AccessKeyId", DEMO_ACCESS_KEY_ID.to_owned()),
        ("SignatureMethod", "HMAC-SHA1".to_owned()),
        ("SignatureVersion", "1.0".to_owned()),
        ("SignatureNonce", nonce()),
        ("Timestamp", ccc_sim::auth::format_timestamp(now_secs())),
    ] {
        all.push((k.to_owned(), v));
    }
    let sig = v1::signature(DEMO_ACCESS_KEY_SECRET, &v1::string_to_sign(method, &all));
    all.push(("Signature".into(), sig));
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let encoded = query_string(&refs);
    if in_body {
        Request::builder()
            .method(method)
            .uri("/")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(encoded))
            .unwrap()
    } else {
        Request::builder()
            .method(method)
            .uri(format!("/?{encoded}"))
            .body(Body::empty())
            .unwrap()
    }
}

#[tokio::test]
async fn v1_get_and_post_form() {
    let (_, app) = sim(fast_config());
    let params = [
        ("Action", "SignInGroup"),
        ("InstanceId", "ccc-demo"),
        ("UserId", A1),
        ("DeviceId", "v1 dev"),
    ];
    let (s, b) = send(&app, v1_request("GET", &params, false)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["Data"]["DeviceId"], "v1 dev");
    let params = [
        ("Action", "TakeBreak"),
        ("InstanceId", "ccc-demo"),
        ("UserId", A1),
        ("Code", "会议 *~"),
    ];
    let (s, b) = send(&app, v1_request("POST", &params, true)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["Data"]["BreakCode"], "会议 *~");
    // Tampered: signed for GET, sent as POST.
    let mut r = v1_request("GET", &params, false);
    *r.method_mut() = axum::http::Method::POST;
    let (s, b) = send(&app, r).await;
    assert_eq!(s, 400);
    assert_envelope(400, &b, "SignatureDoesNotMatch");
}

#[tokio::test]
async fn ring_answer_mute_unmute_hangup_working_ready() {
    let (_, app) = sim(fast_config());
    online_ready(&app, A1, "dev-1").await;
    let (s, b) = admin(
        &app,
        "POST",
        "/_sim/calls",
        Some(json!({"userId": A1, "caller": "13812345678"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let job = b["jobId"].as_str().unwrap().to_owned();
    assert!(
        job.starts_with("job-") && job[4..].bytes().all(|c| c.is_ascii_digit()),
        "{job}"
    );

    let d = state_of(&app, A1).await;
    assert_eq!(d["UserContext"]["UserState"], "RINGING");
    assert_eq!(d["UserContext"]["JobId"], job.as_str());
    let channels = d["CallContext"]["ChannelContexts"].as_array().unwrap();
    assert_eq!(channels.len(), 2);
    assert!(channels[0]["ChannelId"]
        .as_str()
        .unwrap()
        .starts_with("ch:customer:13812345678->80010001:"));
    assert!(channels[0].get("UserId").is_none());
    assert_eq!(channels[1]["UserId"], A1);
    assert_eq!(channels[1]["ChannelFlags"], "[]");

    // Mute while ringing: refused.
    let (s, b) = call(&app, "MuteCall", &[("UserId", A1), ("JobId", &job)]).await;
    assert_eq!(s, 400);
    assert_eq!(b["Params"], json!(["RINGING", "TALKING"]));

    let (s, b) = call(&app, "AnswerCall", &[("UserId", A1), ("JobId", &job)]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["Data"]["UserContext"]["UserState"], "TALKING");

    let (s, b) = call(&app, "MuteCall", &[("UserId", A1), ("JobId", &job)]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["Data"]["CallContext"]["ChannelContexts"][1]["ChannelFlags"],
        "MUTED"
    );
    let customer = b["Data"]["CallContext"]["ChannelContexts"][0]["ChannelId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, b) = call(
        &app,
        "MuteCall",
        &[("UserId", A1), ("JobId", &job), ("ChannelId", &customer)],
    )
    .await;
    assert_eq!(s, 404);
    assert_envelope(404, &b, "NotExists.ChannelId");
    assert_eq!(b["Params"], json!([customer, job]));
    let d = state_of(&app, A1).await;
    assert_eq!(
        d["CallContext"]["ChannelContexts"][1]["ChannelFlags"],
        "MUTED"
    );
    let (s, b) = call(&app, "UnmuteCall", &[("UserId", A1), ("JobId", &job)]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["Data"]["CallContext"]["ChannelContexts"][1]["ChannelFlags"],
        "[]"
    );

    let (s, b) = admin(
        &app,
        "POST",
        &format!("/_sim/calls/{job}/hangup"),
        Some(json!({"by": "customer"})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["outcome"], "afterCall");
    let d = state_of(&app, A1).await;
    assert_eq!(d["UserContext"]["UserState"], "WORKING");
    assert!(d.get("CallContext").is_none(), "{d}");
    let ready = wait_until(Duration::from_secs(5), || async {
        state_of(&app, A1).await["UserContext"]["UserState"] == "READY"
    })
    .await;
    assert!(ready, "never went READY after the after-call time");
}

#[tokio::test]
async fn release_call_by_the_agent() {
    let (_, app) = sim(fast_config());
    online_ready(&app, A1, "d").await;
    let (_, b) = admin(&app, "POST", "/_sim/calls", Some(json!({"userId": A1}))).await;
    let job = b["jobId"].as_str().unwrap().to_owned();
    let (s, _) = admin(&app, "POST", &format!("/_sim/calls/{job}/answer"), None).await;
    assert_eq!(s, 200);
    let (s, b) = call(
        &app,
        "ReleaseCall",
        &[("UserId", A1), ("JobId", &job), ("DeviceId", "d")],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["Data"]["UserContext"]["UserState"], "WORKING");
    assert_eq!(
        b["Data"]["CallContext"]["ChannelContexts"][1]["ChannelState"],
        "RELEASED"
    );
    // The job is gone now.
    let (s, _) = admin(&app, "POST", &format!("/_sim/calls/{job}/hangup"), None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn ringing_timeout_goes_to_break() {
    let mut c = fast_config();
    c.timings.ringing_timeout_ms = 50;
    let (_, app) = sim(c);
    online_ready(&app, A1, "d").await;
    let (s, _) = admin(&app, "POST", "/_sim/calls", Some(json!({"userId": A1}))).await;
    assert_eq!(s, 200);
    let timed_out = wait_until(Duration::from_secs(5), || async {
        state_of(&app, A1).await["UserContext"]["UserState"] == "BREAK"
    })
    .await;
    assert!(timed_out);
    let d = state_of(&app, A1).await;
    assert_eq!(d["UserContext"]["BreakCode"], "RingingTimeout");
    assert!(d["UserContext"].get("JobId").is_none());
}

#[tokio::test]
async fn auto_answer_from_the_admin_call() {
    let (_, app) = sim(fast_config());
    online_ready(&app, A1, "d").await;
    let (s, _) = admin(
        &app,
        "POST",
        "/_sim/calls",
        Some(json!({"userId": A1, "autoAnswerMs": 20})),
    )
    .await;
    assert_eq!(s, 200);
    let talking = wait_until(Duration::from_secs(5), || async {
        state_of(&app, A1).await["UserContext"]["UserState"] == "TALKING"
    })
    .await;
    assert!(talking);
}

#[tokio::test]
async fn admin_call_errors_and_reset() {
    let (_, app) = sim(fast_config());
    let (s, b) = admin(&app, "POST", "/_sim/calls", Some(json!({"userId": A1}))).await;
    assert_eq!(s, 409, "{b}");
    let (s, _) = admin(
        &app,
        "POST",
        "/_sim/calls",
        Some(json!({"userId": "x@ccc-demo"})),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = admin(&app, "POST", "/_sim/calls", Some(json!({"nope": 1}))).await;
    assert_eq!(s, 400);
    let (s, _) = admin(&app, "POST", "/_sim/calls/job-0/answer", None).await;
    assert_eq!(s, 404);
    online_ready(&app, A1, "d").await;
    let (s, b) = admin(&app, "GET", "/_sim/agents", None).await;
    assert_eq!(s, 200);
    let list = b.as_array().unwrap();
    assert_eq!(list.len(), 4);
    assert_eq!(list[0]["userId"], A1);
    assert_eq!(list[0]["userContext"]["UserState"], "READY");
    let before = state_of(&app, A1).await["ContextId"].as_i64().unwrap();
    let (s, _) = admin(&app, "POST", "/_sim/reset", None).await;
    assert_eq!(s, 200);
    let d = state_of(&app, A1).await;
    assert_eq!(d["UserContext"]["UserState"], "OFFLINE");
    assert!(d["ContextId"].as_i64().unwrap() > before);
}

#[tokio::test]
async fn another_device_takes_over() {
    let (_, app) = sim(fast_config());
    online_ready(&app, A1, "browser-1").await;
    let ctx = state_of(&app, A1).await["ContextId"].as_i64().unwrap();
    let (s, b) = call(
        &app,
        "SignInGroup",
        &[("UserId", A1), ("DeviceId", "browser-2")],
    )
    .await;
    assert_eq!(s, 200, "{b}");
    // The old device polls and sees the new DeviceId.
    let (_, b) = call(
        &app,
        "PollUserStatus",
        &[("UserId", A1), ("DeviceId", "browser-1")],
    )
    .await;
    assert_eq!(b["Data"]["UserContext"]["DeviceId"], "browser-2");
    assert_eq!(b["Data"]["UserContext"]["UserState"], "BREAK");
    assert!(b["Data"]["ContextId"].as_i64().unwrap() > ctx);
}

#[tokio::test]
async fn context_id_and_heartbeat_move_on_change() {
    let (_, app) = sim(fast_config());
    let d0 = state_of(&app, A1).await;
    let d0_again = state_of(&app, A1).await;
    assert_eq!(
        d0["ContextId"], d0_again["ContextId"],
        "polling is not a change"
    );
    online_ready(&app, A1, "d").await;
    let d1 = state_of(&app, A1).await;
    assert!(d1["ContextId"].as_i64() > d0["ContextId"].as_i64());
    assert!(d1["UserContext"]["Heartbeat"].as_i64() >= d0["UserContext"]["Heartbeat"].as_i64());
}

#[tokio::test]
async fn get_login_details() {
    let (_, app) = sim(fast_config());
    let (s, b) = call(&app, "GetLoginDetails", &[("UserId", "agent2@ccc-demo")]).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["Data"]["DisplayName"], "Bo Wang");
    assert_eq!(b["Data"]["Extension"], "80010002");
}

#[tokio::test]
async fn default_user_of_a_key_and_permission() {
    let config = SimConfig::from_toml_str(
        r#"
        [[access_keys]]
        id = "k1"
        secret = "s1"
        default_user = "alice@inst"
        [[instances]]
        id = "inst"
        [[instances.agents]]
        user_id = "alice"
        display_name = "Alice"
        extension = "10000001"
        [[instances.agents]]
        user_id = "bob"
        display_name = "Bob"
        extension = "10000002"
        "#,
    )
    .unwrap();
    let (_, app) = sim(config);
    let opts = || V3Opts {
        key_id: "k1",
        secret: "s1",
        ..V3Opts::default()
    };
    let r = sign_v3(
        HOST,
        "GetLoginDetails",
        &[("InstanceId", "inst")],
        &[],
        opts(),
    );
    let (s, b) = send(&app, r.to_request()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["Data"]["UserId"], "alice@inst");
    let r = sign_v3(
        HOST,
        "GetLoginDetails",
        &[("InstanceId", "inst"), ("UserId", "bob@inst")],
        &[],
        opts(),
    );
    let (s, b) = send(&app, r.to_request()).await;
    assert_eq!(s, 403);
    assert_envelope(403, &b, "Permission.Common");
}

#[tokio::test]
async fn faults_error_code_bare_status_malformed_latency_filter() {
    let (_, app) = sim(fast_config());
    let poll = || rpc("PollUserStatus", &[("UserId", A1), ("DeviceId", "d")]);

    let (s, _) = admin(
        &app,
        "PUT",
        "/_sim/faults",
        Some(json!({"errorRate": 1.0, "errorCode": "Throttling.User"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, b) = send(&app, poll()).await;
    assert_eq!(s, 400);
    assert_envelope(400, &b, "Throttling.User");
    // Admin endpoints are never affected.
    let (s, _) = admin(&app, "GET", "/_sim/agents", None).await;
    assert_eq!(s, 200);

    admin(
        &app,
        "PUT",
        "/_sim/faults",
        Some(json!({"throttleRate": 1.0})),
    )
    .await;
    let (_, b) = send(&app, poll()).await;
    assert_eq!(b["Code"], "Throttling.User");

    admin(
        &app,
        "PUT",
        "/_sim/faults",
        Some(json!({"errorRate": 1, "errorCode": "InternalService.Common"})),
    )
    .await;
    let (s, b) = send(&app, poll()).await;
    assert_eq!(s, 500);
    assert_envelope(500, &b, "InternalService.Common");

    admin(
        &app,
        "PUT",
        "/_sim/faults",
        Some(json!({"errorRate": 1, "httpStatus": 502})),
    )
    .await;
    let (s, b) = send(&app, poll()).await;
    assert_eq!(s, 502);
    assert!(b.as_str().unwrap().contains("502 Bad Gateway"), "{b}");

    admin(
        &app,
        "PUT",
        "/_sim/faults",
        Some(json!({"malformedRate": 1})),
    )
    .await;
    let resp = tower::ServiceExt::oneshot(app.clone(), poll())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    assert!(!bytes.is_empty());
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());

    admin(&app, "PUT", "/_sim/faults", Some(json!({"latencyMs": 150}))).await;
    let t = Instant::now();
    let (s, _) = send(&app, poll()).await;
    assert_eq!(s, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));

    // Only the listed actions are affected.
    admin(
        &app,
        "PUT",
        "/_sim/faults",
        Some(json!({"errorRate": 1, "actions": ["TakeBreak"]})),
    )
    .await;
    let (s, _) = send(&app, poll()).await;
    assert_eq!(s, 200);
    let (s, b) = call(&app, "TakeBreak", &[("UserId", A1), ("Code", "x")]).await;
    assert_eq!(s, 503);
    assert_envelope(503, &b, "ServiceUnavailable");

    let (s, b) = admin(&app, "GET", "/_sim/faults", None).await;
    assert_eq!((s, &b["actions"]), (200, &json!(["TakeBreak"])));
    let (s, _) = admin(&app, "DELETE", "/_sim/faults", None).await;
    assert_eq!(s, 200);
    let (s, _) = call(&app, "TakeBreak", &[("UserId", A1), ("Code", "x")]).await;
    assert_eq!(s, 400); // the state machine again: OFFLINE cannot take a break

    let (s, _) = admin(&app, "PUT", "/_sim/faults", Some(json!({"errorRate": 2}))).await;
    assert_eq!(s, 400);
    let (s, _) = admin(&app, "PUT", "/_sim/faults", Some(json!({"bogus": 2}))).await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn every_documented_code_can_be_injected_with_its_status() {
    // Covers the rows no action produces through the API (NotExists.Extension:
    // every configured agent has one) and checks the envelope of every code.
    let (_, app) = sim(fast_config());
    for code in ccc_model::ErrorCode::ALL {
        let faults = json!({"errorRate": 1, "errorCode": code.as_str()});
        let (s, _) = admin(&app, "PUT", "/_sim/faults", Some(faults)).await;
        assert_eq!(s, 200);
        let (s, b) = call(&app, "PollUserStatus", &[("UserId", A1)]).await;
        assert_eq!(s, code.http_status(), "{code}");
        assert_envelope(s, &b, code.as_str());
    }
}
