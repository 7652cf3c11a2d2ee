//! Every endpoint of the widget API against an in-process simulator
//! (oneshot), plus validation, CSRF, pass-through of CCC errors and the
//! rate limit.

mod common;

use axum::{body::Body, http::Request};
use common::*;
use serde_json::json;

#[tokio::test]
async fn session_names_the_agent_and_the_offer() {
    let (_sim, app, _) = setup(&["--break-codes", "lunch, meeting,lunch"]).await;
    let (s, h, b) = send(&app, get("/api/v1/session", AGENT)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(b["userId"], AGENT);
    assert_eq!(b["displayName"], "Ada Li");
    assert_eq!(b["extension"], "80010001");
    assert_eq!(b["instanceId"], "ccc-demo");
    assert_eq!(b["breakCodes"], json!(["lunch", "meeting"]));
    assert_eq!(
        b["workModes"],
        json!(["ON_SITE", "OFF_SITE", "OFFICE_PHONE"])
    );
}

#[tokio::test]
async fn break_reasons_carry_their_display_names() {
    let (_sim, app, _) = setup(&[
        "--break-codes",
        "lunch=Lunch|午餐,meeting=Meeting|会议,default",
    ])
    .await;
    let (s, _, b) = send(&app, get("/api/v1/session", AGENT)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["breakCodes"], json!(["lunch", "meeting", "default"]));
    assert_eq!(
        b["breakReasons"],
        json!([
            {"code": "lunch", "en": "Lunch", "zh-CN": "午餐"},
            {"code": "meeting", "en": "Meeting", "zh-CN": "会议"}
        ])
    );
    // The default offer is named too; a plain list (above) has no names.
    let (_sim, plain, _) = setup(&[]).await;
    let (_, _, b) = send(&plain, get("/api/v1/session", AGENT)).await;
    assert_eq!(
        b["breakReasons"][1],
        json!({"code": "lunch", "en": "Lunch", "zh-CN": "午餐"})
    );
    // A malformed list stops the start with a clear message.
    let args = <ccc_proxy::Args as clap::Parser>::try_parse_from([
        "ccc-proxy",
        "--demo",
        "--break-codes",
        "=Lunch",
    ])
    .unwrap();
    let err = ccc_proxy::Config::from_args(args, |_| None).unwrap_err();
    assert!(err.to_string().contains("--break-codes"), "{err}");
}

#[tokio::test]
async fn agent_snapshot_and_the_whole_state_cycle() {
    let (_sim, app, _) = setup(&[]).await;
    let (s, _, b) = send(&app, get("/api/v1/agent", AGENT)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "OFFLINE");
    assert!(b["contextId"].is_i64());
    assert!(b["serverTime"].as_i64().unwrap() > 1_600_000_000_000);
    assert_eq!(b["call"], json!(null));
    assert_eq!(b["muted"], false);

    let (s, _, b) = send(&app, post("/api/v1/agent/sign-in", AGENT, "")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "BREAK");
    assert_eq!(b["agent"]["breakCode"], "Warm-up");
    assert_eq!(b["agent"]["deviceId"], DEVICE, "the device id reaches CCC");

    let (s, _, b) = send(
        &app,
        post("/api/v1/agent/ready", AGENT, r#"{"outboundOnly":false}"#),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "READY");

    let (s, _, b) = send(
        &app,
        post("/api/v1/agent/break", AGENT, r#"{"code":"lunch"}"#),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "BREAK");
    assert_eq!(b["agent"]["breakCode"], "lunch");

    let body = r#"{"mode":"OFF_SITE","mobile":"13800000000"}"#;
    let (s, _, b) = send(&app, post("/api/v1/agent/work-mode", AGENT, body)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["workMode"], "OFF_SITE");
    assert_eq!(b["agent"]["mobile"], "13800000000");

    let (s, _, b) = send(&app, post("/api/v1/agent/reset", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "OFFLINE");

    let (s, _, _) = send(&app, post("/api/v1/agent/sign-in", AGENT, "{}")).await;
    assert_eq!(s, 200);
    let (s, _, b) = send(&app, post("/api/v1/agent/sign-out", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "OFFLINE");
}

#[tokio::test]
async fn mute_and_unmute_use_the_current_call() {
    let (sim, app, _) = setup(&[]).await;
    let r = send(&app, post("/api/v1/agent/mute", AGENT, "{}")).await;
    assert_error(&r, 409, "Proxy.NoCall", "proxy");

    ready_agent(&app, AGENT).await;
    let job = ring(&sim, AGENT, "13800000000").await;
    admin(&sim, "POST", &format!("/calls/{job}/answer"), json!({})).await;

    // A JobId from the browser is refused, never used; `{}` mutes the
    // agent's current call as CCC reports it.
    let r = send(
        &app,
        post("/api/v1/agent/mute", AGENT, r#"{"jobId":"job-evil"}"#),
    )
    .await;
    assert_error(&r, 400, "Proxy.BadRequest", "proxy");
    let (s, _, b) = send(&app, post("/api/v1/agent/mute", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["muted"], true, "{b}");
    assert_eq!(b["agent"]["state"], "TALKING");
    assert_eq!(b["call"]["jobId"], job.as_str());
    let channels = b["call"]["channels"].as_array().unwrap();
    assert!(
        channels.iter().any(|c| c["flags"] == json!(["MUTED"])),
        "{b}"
    );
    assert!(b["call"]["callType"].is_string());

    let (s, _, b) = send(&app, post("/api/v1/agent/unmute", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["muted"], false);

    let (s, _, b) = send(&app, get("/api/v1/agent", AGENT)).await;
    assert_eq!(s, 200);
    assert_eq!(b["call"]["jobId"], job.as_str());
}

#[tokio::test]
async fn answer_and_hang_up_the_current_call() {
    let (sim, app, _) = setup(&[]).await;
    for cmd in ["answer", "hangup"] {
        let r = send(&app, post(&format!("/api/v1/agent/{cmd}"), AGENT, "{}")).await;
        assert_error(&r, 409, "Proxy.NoCall", "proxy");
    }
    ready_agent(&app, AGENT).await;
    let job = ring(&sim, AGENT, "13800000001").await;

    let r = send(
        &app,
        post("/api/v1/agent/answer", AGENT, r#"{"jobId":"job-evil"}"#),
    )
    .await;
    assert_error(&r, 400, "Proxy.BadRequest", "proxy");
    let (s, _, b) = send(&app, post("/api/v1/agent/answer", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "TALKING", "{b}");
    assert_eq!(b["call"]["jobId"], job.as_str());

    // Answering again is CCC's refusal, passed through.
    let r = send(&app, post("/api/v1/agent/answer", AGENT, "{}")).await;
    assert_error(&r, 400, "InvalidOperation.UserState", "ccc");

    let (s, _, b) = send(&app, post("/api/v1/agent/hangup", AGENT, "{}")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["agent"]["state"], "WORKING", "{b}");
    assert!(b["call"].is_null(), "{b}");
}

#[tokio::test]
async fn the_browser_never_chooses_the_user_or_instance() {
    let (_sim, app, _) = setup(&[]).await;
    // Ids in a body are refused outright (unknown fields), for commands
    // with a body and for those documented as taking `{}`.
    let body = r#"{"userId":"agent2@ccc-demo","instanceId":"other","UserId":"agent2@ccc-demo"}"#;
    for cmd in ["sign-in", "ready", "reset"] {
        let r = send(&app, post(&format!("/api/v1/agent/{cmd}"), AGENT, body)).await;
        assert_error(&r, 400, "Proxy.BadRequest", "proxy");
    }
    // Ids in the query are ignored: the identity comes from the auth mode.
    let (s, _, b) = send(
        &app,
        post("/api/v1/agent/sign-in?userId=agent2@ccc-demo", AGENT, "{}"),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (_, _, other) = send(&app, get("/api/v1/agent?userId=agent2@ccc-demo", AGENT2)).await;
    assert_eq!(other["agent"]["state"], "OFFLINE", "agent2 untouched");
    let (_, _, me) = send(&app, get("/api/v1/agent?UserId=agent2@ccc-demo", AGENT)).await;
    assert_eq!(me["agent"]["state"], "BREAK");
}

#[tokio::test]
async fn ccc_errors_are_passed_through() {
    let (_sim, app, _) = setup(&[]).await;
    let r = send(&app, post("/api/v1/agent/ready", AGENT, "{}")).await;
    assert_error(&r, 400, "InvalidOperation.UserState", "ccc");
    let e = &r.2["error"];
    assert_eq!(e["params"], json!(["OFFLINE", "BREAK,READY,WORKING"]));
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("User state (OFFLINE)"));
    assert!(e["requestId"].as_str().is_some_and(|id| !id.is_empty()));

    let r = send(&app, get("/api/v1/agent", "nobody@ccc-demo")).await;
    assert_error(&r, 404, "NotExists.UserId", "ccc");
}

#[tokio::test]
async fn validation_gives_clear_400s() {
    let (_sim, app, _) = setup(&[]).await;
    let cases: [(&str, &str, &str); 10] = [
        ("break", r#"{"code":"nap"}"#, "Proxy.InvalidBreakCode"),
        ("break", r#"{}"#, "Proxy.BadRequest"),
        (
            "work-mode",
            r#"{"mode":"ON_MARS"}"#,
            "Proxy.InvalidWorkMode",
        ),
        (
            "work-mode",
            r#"{"mode":"OFF_SITE"}"#,
            "Proxy.MobileRequired",
        ),
        (
            "work-mode",
            r#"{"mode":"OFF_SITE","mobile":"  "}"#,
            "Proxy.MobileRequired",
        ),
        (
            "work-mode",
            r#"{"mode":"OFF_SITE","mobile":"call me"}"#,
            "Proxy.InvalidMobile",
        ),
        ("ready", r#"{"outboundOnly":"yes"}"#, "Proxy.BadRequest"),
        ("ready", r#"{"outboundOnly":tru"#, "Proxy.BadRequest"),
        ("sign-in", r#"[1,2]"#, "Proxy.BadRequest"),
        ("ready", "", "Proxy.BadRequest"),
    ];
    for (i, (cmd, body, code)) in cases.into_iter().enumerate() {
        if i == 9 {
            // Empty is {} for ready; the agent is OFFLINE, so CCC refuses.
            let r = send(&app, post("/api/v1/agent/ready", AGENT, body)).await;
            assert_error(&r, 400, "InvalidOperation.UserState", "ccc");
            continue;
        }
        let r = send(&app, post(&format!("/api/v1/agent/{cmd}"), AGENT, body)).await;
        assert_error(&r, 400, code, "proxy");
    }
    let big = format!(r#"{{"code":"{}"}}"#, "x".repeat(10_000));
    let r = send(&app, post("/api/v1/agent/break", AGENT, &big)).await;
    assert_error(&r, 400, "Proxy.BadRequest", "proxy");

    let mut req = post("/api/v1/agent/sign-in", AGENT, "{}");
    req.headers_mut()
        .insert("x-ccc-device-id", "bad device!".parse().unwrap());
    assert_error(&send(&app, req).await, 400, "Proxy.BadRequest", "proxy");
    let mut req = get("/api/v1/agent", AGENT);
    req.headers_mut()
        .insert("x-ccc-device-id", "x".repeat(129).parse().unwrap());
    assert_error(&send(&app, req).await, 400, "Proxy.BadRequest", "proxy");

    for q in ["since=abc", "since=1&wait=-1", "wait=soon&since=1"] {
        let r = send(&app, get(&format!("/api/v1/agent?{q}"), AGENT)).await;
        assert_error(&r, 400, "Proxy.BadRequest", "proxy");
    }
    let r = send(&app, post("/api/v1/agent/dance", AGENT, "{}")).await;
    assert_error(&r, 404, "Proxy.NotFound", "proxy");
    let r = send(&app, get("/api/v2/anything", AGENT)).await;
    assert_error(&r, 404, "Proxy.NotFound", "proxy");
}

#[tokio::test]
async fn csrf_rules_refuse_state_changes() {
    let (_sim, app, _) = setup(&[]).await;
    let strip = |name: &str| {
        let mut r = post("/api/v1/agent/sign-in", AGENT, "{}");
        r.headers_mut().remove(name);
        r
    };
    for name in ["x-requested-with", "content-type"] {
        let r = send(&app, strip(name)).await;
        assert_error(&r, 403, "Proxy.Forbidden", "proxy");
    }
    let mut r = post("/api/v1/agent/sign-in", AGENT, "{}");
    r.headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    assert_error(&send(&app, r).await, 403, "Proxy.Forbidden", "proxy");
    let mut r = post("/api/v1/agent/sign-in", AGENT, "{}");
    r.headers_mut()
        .insert("x-requested-with", "XMLHttpRequest".parse().unwrap());
    assert_error(&send(&app, r).await, 403, "Proxy.Forbidden", "proxy");
    for origin in ["https://evil.example", "null", "http://127.0.0.1:9999"] {
        let mut r = post("/api/v1/agent/sign-in", AGENT, "{}");
        r.headers_mut().insert("origin", origin.parse().unwrap());
        assert_error(&send(&app, r).await, 403, "Proxy.Forbidden", "proxy");
    }
    let mut r = post("/api/v1/agent/sign-in", AGENT, "{}");
    r.headers_mut()
        .insert("origin", "http://127.0.0.1:8080".parse().unwrap());
    let (s, _, b) = send(&app, r).await;
    assert_eq!(s, 200, "same origin is fine: {b}");
    // Nothing above reached CCC except the last request.
    let (_, _, snap) = send(&app, get("/api/v1/agent", AGENT)).await;
    assert_eq!(snap["agent"]["state"], "BREAK");
}

#[tokio::test]
async fn state_changes_are_rate_limited_per_agent() {
    let (_sim, app, _) = setup(&["--rate-limit-burst", "3", "--rate-limit-per-minute", "1"]).await;
    for _ in 0..3 {
        let (s, _, b) = send(&app, post("/api/v1/agent/reset", AGENT, "{}")).await;
        assert_eq!(s, 200, "{b}");
    }
    let r = send(&app, post("/api/v1/agent/reset", AGENT, "{}")).await;
    assert_error(&r, 429, "Proxy.RateLimited", "proxy");
    let (s, _, _) = send(&app, post("/api/v1/agent/reset", AGENT2, "{}")).await;
    assert_eq!(s, 200, "another agent has its own bucket");
    let (s, _, _) = send(&app, get("/api/v1/agent", AGENT)).await;
    assert_eq!(s, 200, "reads are not limited");
}

#[tokio::test]
async fn health_and_metrics() {
    let (_sim, app, _) = setup(&[]).await;
    let (s, _, b) = send(&app, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(b["status"], "ok");
    send(&app, get("/api/v1/agent", AGENT)).await;
    let (s, h, b) = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(s, 200);
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = b.as_str().unwrap();
    for name in [
        "ccc_proxy_http_requests_total{method=\"GET\",route=\"/api/v1/agent\",status=\"2xx\"}",
        // The first look of a signed-out agent: one batched realtime row.
        "ccc_proxy_upstream_requests_total{action=\"ListRealtimeAgentStates\",outcome=\"ok\"}",
        "ccc_proxy_upstream_request_duration_seconds_count{action=\"ListRealtimeAgentStates\"}",
        "ccc_proxy_longpoll_waiters",
        "ccc_proxy_poll_loops",
    ] {
        assert!(text.contains(name), "{name} missing in\n{text}");
    }
    assert!(
        metric(
            text,
            "ccc_proxy_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"2xx\"}"
        ) >= 1.0
    );
}

#[tokio::test]
async fn responses_carry_request_ids_and_security_headers() {
    let (_sim, app, _) = setup(&[]).await;
    let (_, h, _) = send(&app, get("/api/v1/session", AGENT)).await;
    assert!(h.contains_key("x-request-id"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'self'"), "{csp}");
}
