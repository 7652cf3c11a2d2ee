//! Issue 18 through the proxy's router (`oneshot`) against a real
//! simulator: every transfer, conference and keypad refusal is a clear
//! 400/409 that costs no CCC call; the job and channels come from CCC,
//! never from the browser; consult → cancel / complete / conference →
//! leave; keys one by one; the directory costs one sweep for everyone.

mod common;

use std::time::{Duration, Instant};

use axum::{body::Body, http::Request, Router};
use ccc_sim::RunningSim;
use common::*;
use serde_json::{json, Value};

const AGENT3: &str = "agent3@ccc-demo";
const TOKEN: &str = "events-token-0123456789";
const CUSTOMER: &str = "13900001111";

fn calls(sim: &RunningSim, action: &str) -> u64 {
    sim.state().stats().calls_of(action)
}

async fn ok(router: &Router, path: &str, user: &str, body: &str) -> Value {
    let (s, _, b) = send(router, post(path, user, body)).await;
    assert_eq!(s, 200, "{path} {body}: {b}");
    b
}

/// `user` talks with a customer (rung by the simulator, answered through
/// the proxy); returns the job.
async fn talking(sim: &RunningSim, router: &Router, user: &str) -> String {
    ready_agent(router, user).await;
    let job = ring(sim, user, CUSTOMER).await;
    let b = ok(router, "/api/v1/agent/answer", user, "{}").await;
    assert_eq!(b["agent"]["state"], "TALKING", "{b}");
    job
}

/// The agent's snapshot as shown now.
async fn shown(router: &Router, user: &str) -> Value {
    let (s, _, b) = send(router, get("/api/v1/agent", user)).await;
    assert_eq!(s, 200, "{b}");
    b
}

/// Waits until `user`'s snapshot satisfies `cond`.
async fn until_shown(router: &Router, user: &str, what: &str, cond: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let b = shown(router, user).await;
        if cond(&b) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {b}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn transfer(kind: &str, ty: &str, id: &str) -> String {
    json!({"kind": kind, "target": {"type": ty, "id": id}}).to_string()
}

#[tokio::test]
async fn every_refusal_is_clear_and_costs_no_ccc_call() {
    // Events on (no background polls) and no sweep, so the count is exact.
    let (sim, router, _) = setup(&[
        "--events-token",
        TOKEN,
        "--reconcile-secs",
        "3600",
        "--caller-ids",
        "02150000000",
        "--dial-pattern",
        r"0\d{9,11}|\+?\d{5,15}",
    ])
    .await;
    talking(&sim, &router, AGENT).await;
    // The directory and the view are known before the refusals.
    let (s, _, _) = send(&router, get("/api/v1/directory", AGENT)).await;
    assert_eq!(s, 200);
    shown(&router, AGENT).await;
    sim.state().reset_stats();

    let t = "/api/v1/agent/transfer";
    let cases: Vec<(&str, String, u16, &str)> = vec![
        // The browser cannot name the call, the leg or another agent.
        (t, r#"{"kind":"blind","target":{"type":"agent","id":"agent2@ccc-demo"},"jobId":"job-1"}"#.into(), 400, "Proxy.BadRequest"),
        (t, r#"{"kind":"blind","target":{"type":"agent","id":"agent2@ccc-demo"},"userId":"agent3@ccc-demo"}"#.into(), 400, "Proxy.BadRequest"),
        (t, r#"{"kind":"sideways","target":{"type":"agent","id":"agent2@ccc-demo"}}"#.into(), 400, "Proxy.BadRequest"),
        (t, r#"{"kind":"blind","target":{"type":"queue","id":"x"}}"#.into(), 400, "Proxy.BadRequest"),
        (t, transfer("blind", "agent", "nobody@ccc-demo"), 400, "Proxy.InvalidTarget"),
        (t, transfer("consult", "agent", AGENT), 400, "Proxy.InvalidTarget"),
        (t, transfer("blind", "agent", " "), 400, "Proxy.InvalidTarget"),
        (t, transfer("blind", "skill-group", "nogroup@ccc-demo"), 400, "Proxy.InvalidTarget"),
        (t, transfer("blind", "number", "not-a-number"), 400, "Proxy.InvalidNumber"),
        // Toll fraud: the dial pattern and the default deny list.
        (t, transfer("blind", "number", "12"), 400, "Proxy.NumberNotAllowed"),
        (t, transfer("consult", "number", "+9791234567"), 400, "Proxy.NumberNotAllowed"),
        (t, transfer("blind", "number", "*72#13800000000"), 400, "Proxy.NumberNotAllowed"),
        (
            t,
            json!({"kind":"blind","target":{"type":"number","id":"02150001234"},"callerId":"02199999999"}).to_string(),
            400,
            "Proxy.InvalidCallerId",
        ),
        ("/api/v1/agent/transfer/complete", "{}".into(), 409, "Proxy.NoConsult"),
        ("/api/v1/agent/transfer/cancel", "{}".into(), 409, "Proxy.NoConsult"),
        ("/api/v1/agent/conference", "{}".into(), 409, "Proxy.NoConsult"),
        ("/api/v1/agent/conference/leave", "{}".into(), 409, "Proxy.NoConference"),
        ("/api/v1/agent/transfer/complete", r#"{"jobId":"job-1"}"#.into(), 400, "Proxy.BadRequest"),
        ("/api/v1/agent/dtmf", r#"{"digits":"12a"}"#.into(), 400, "Proxy.InvalidDtmf"),
        ("/api/v1/agent/dtmf", r#"{"digits":""}"#.into(), 400, "Proxy.InvalidDtmf"),
        ("/api/v1/agent/dtmf", json!({"digits": "1".repeat(33)}).to_string(), 400, "Proxy.InvalidDtmf"),
        (
            "/api/v1/agent/dtmf",
            r#"{"digits":"1","channelId":"ch:user:x"}"#.into(),
            400,
            "Proxy.BadRequest",
        ),
        ("/api/v1/agent/transfer/sideways", "{}".into(), 404, "Proxy.NotFound"),
    ];
    for (path, body, status, code) in &cases {
        let res = send(&router, post(path, AGENT, body)).await;
        assert_error(&res, *status, code, "proxy");
    }
    // Not in a call at all: 409 before CCC.
    let (s, _, _) = send(&router, post("/api/v1/agent/sign-in", AGENT2, "{}")).await;
    assert_eq!(s, 200);
    shown(&router, AGENT2).await;
    sim.state().reset_stats();
    for (path, body) in [
        ("/api/v1/agent/transfer", transfer("blind", "agent", AGENT3)),
        ("/api/v1/agent/dtmf", r#"{"digits":"1"}"#.into()),
        ("/api/v1/agent/conference/leave", "{}".into()),
    ] {
        let res = send(&router, post(path, AGENT2, &body)).await;
        assert_error(&res, 409, "Proxy.NoCall", "proxy");
    }
    let stats = sim.state().stats();
    assert_eq!(
        stats.total_calls, 0,
        "no CCC call on a refusal: {:?}",
        stats.calls
    );
    assert_eq!(ccc_state(&sim, AGENT).await.0, "TALKING", "nothing changed");
}

#[tokio::test]
async fn blind_transfer_sends_the_job_from_ccc_and_the_target_rings() {
    let (sim, router, _) = setup(&[]).await;
    ready_agent(&router, AGENT2).await;
    let job = talking(&sim, &router, AGENT).await;
    let b = ok(
        &router,
        "/api/v1/agent/transfer",
        AGENT,
        &transfer("blind", "agent", AGENT2),
    )
    .await;
    assert_eq!(
        b["agent"]["state"], "WORKING",
        "after-call work at once: {b}"
    );
    assert_eq!(ccc_state(&sim, AGENT2).await.0, "RINGING");
    let record = admin(&sim, "GET", &format!("/calls/{job}"), Value::Null).await;
    let t = &record["transfers"][0];
    assert_eq!(t["action"], "BlindTransfer");
    assert_eq!(t["userId"], AGENT, "the session's agent");
    assert_eq!(t["transferee"], AGENT2);
    assert_eq!(t["transfereeType"], "AGENT", "always sent explicitly");
    assert_eq!(calls(&sim, "BlindTransfer"), 1);
    // The target answers in its own toolbar and has the customer.
    let b = ok(&router, "/api/v1/agent/answer", AGENT2, "{}").await;
    assert_eq!(b["agent"]["state"], "TALKING");
    assert_eq!(b["call"]["jobId"], job.as_str());
    assert!(
        b.get("consult").is_none(),
        "a blind transfer is no consult: {b}"
    );
}

#[tokio::test]
async fn transfers_to_numbers_and_skill_groups() {
    let (sim, router, _) = setup(&[
        "--caller-ids",
        "02150000000",
        "--dial-limit-per-minute",
        "1",
        "--skill-groups",
        "support@ccc-demo=Support|支持",
    ])
    .await;
    let job = talking(&sim, &router, AGENT).await;
    let body = json!({
        "kind": "blind",
        "target": {"type": "number", "id": "021-5000 1234"},
        "callerId": "02150000000",
    });
    ok(&router, "/api/v1/agent/transfer", AGENT, &body.to_string()).await;
    let record = admin(&sim, "GET", &format!("/calls/{job}"), Value::Null).await;
    let t = &record["transfers"][0];
    assert_eq!(t["transferee"], "02150001234", "sent without separators");
    assert_eq!(t["transfereeType"], "EXTERNAL_NUMBER");
    assert_eq!(t["transferor"], "02150000000");
    // Transfers out count against the dial limit (toll fraud).
    ok(&router, "/api/v1/agent/ready", AGENT, "{}").await;
    ring(&sim, AGENT, CUSTOMER).await;
    ok(&router, "/api/v1/agent/answer", AGENT, "{}").await;
    let res = send(
        &router,
        post(
            "/api/v1/agent/transfer",
            AGENT,
            &transfer("consult", "number", "02150001234"),
        ),
    )
    .await;
    assert_eq!(res.0.as_u16(), 429, "{}", res.2);
    assert_eq!(res.2["error"]["code"], "Proxy.DialLimited");
    assert_eq!(calls(&sim, "InitiateAttendedTransfer"), 0);
    // A configured skill group: the simulator rings its READY member.
    ready_agent(&router, AGENT3).await;
    ok(
        &router,
        "/api/v1/agent/transfer",
        AGENT,
        &transfer("consult", "skill-group", "support@ccc-demo"),
    )
    .await;
    assert_eq!(ccc_state(&sim, AGENT3).await.0, "RINGING");
    let b = shown(&router, AGENT).await;
    until_shown(&router, AGENT, "the consult leg", |b| {
        b["consult"]["target"]["id"] == AGENT3
    })
    .await;
    let _ = b;
}

#[tokio::test]
async fn consult_then_cancel_complete_conference_and_leave() {
    let (sim, router, _) = setup(&[
        "--rate-limit-burst",
        "100",
        "--rate-limit-per-minute",
        "600",
    ])
    .await;
    ready_agent(&router, AGENT2).await;
    let job = talking(&sim, &router, AGENT).await;
    // Consult, then cancel before the target answers.
    let b = ok(
        &router,
        "/api/v1/agent/transfer",
        AGENT,
        &transfer("consult", "agent", AGENT2),
    )
    .await;
    assert_eq!(
        b["consult"]["target"],
        json!({"type": "agent", "id": AGENT2}),
        "{b}"
    );
    assert_eq!(b["consult"]["phase"], "ringing");
    assert_eq!(b["consult"]["name"], "Bo Wang", "named from the directory");
    assert_eq!(b["held"], true, "the customer waits");
    // A second transfer is refused while the consult lasts.
    let res = send(
        &router,
        post(
            "/api/v1/agent/transfer",
            AGENT,
            &transfer("blind", "agent", AGENT3),
        ),
    )
    .await;
    assert_error(&res, 409, "Proxy.ConsultInProgress", "proxy");
    let b = ok(&router, "/api/v1/agent/transfer/cancel", AGENT, "{}").await;
    assert!(b.get("consult").is_none(), "{b}");
    assert_eq!(b["held"], false, "back with the customer");
    assert_eq!(ccc_state(&sim, AGENT2).await.0, "READY");

    // Consult again; the target answers; cancel after it answered.
    ok(
        &router,
        "/api/v1/agent/transfer",
        AGENT,
        &transfer("consult", "agent", AGENT2),
    )
    .await;
    let b = ok(&router, "/api/v1/agent/answer", AGENT2, "{}").await;
    assert_eq!(b["agent"]["state"], "TALKING");
    assert!(
        b.get("consult").is_none(),
        "the consulted agent has no consult: {b}"
    );
    until_shown(&router, AGENT, "the target answered", |b| {
        b["consult"]["phase"] == "talking"
    })
    .await;
    ok(&router, "/api/v1/agent/transfer/cancel", AGENT, "{}").await;
    assert_eq!(ccc_state(&sim, AGENT2).await.0, "WORKING");
    assert_eq!(ccc_state(&sim, AGENT).await.0, "TALKING");

    // Consult a third agent, conference, then leave: the call goes on.
    ready_agent(&router, AGENT3).await;
    ok(
        &router,
        "/api/v1/agent/transfer",
        AGENT,
        &transfer("consult", "agent", AGENT3),
    )
    .await;
    ok(&router, "/api/v1/agent/answer", AGENT3, "{}").await;
    until_shown(&router, AGENT, "the target answered", |b| {
        b["consult"]["phase"] == "talking"
    })
    .await;
    let b = ok(&router, "/api/v1/agent/conference", AGENT, "{}").await;
    assert_eq!(b["conference"], true, "{b}");
    assert_eq!(b["held"], false, "all three talk");
    until_shown(&router, AGENT3, "the conference", |b| {
        b["conference"] == true
    })
    .await;
    let res = send(
        &router,
        post("/api/v1/agent/transfer/complete", AGENT, "{}"),
    )
    .await;
    assert_error(&res, 409, "Proxy.NoConsult", "proxy");
    let b = ok(&router, "/api/v1/agent/conference/leave", AGENT, "{}").await;
    assert_eq!(b["agent"]["state"], "WORKING", "{b}");
    assert_eq!(ccc_state(&sim, AGENT3).await.0, "TALKING");
    until_shown(&router, AGENT3, "a plain call again", |b| {
        b.get("conference").is_none() && b["call"]["jobId"] == job.as_str()
    })
    .await;

    // Complete: agent3 consults agent2 and hands the customer over.
    ok(&router, "/api/v1/agent/ready", AGENT2, "{}").await;
    ok(
        &router,
        "/api/v1/agent/transfer",
        AGENT3,
        &transfer("consult", "agent", AGENT2),
    )
    .await;
    ok(&router, "/api/v1/agent/answer", AGENT2, "{}").await;
    until_shown(&router, AGENT3, "the target answered", |b| {
        b["consult"]["phase"] == "talking"
    })
    .await;
    let b = ok(&router, "/api/v1/agent/transfer/complete", AGENT3, "{}").await;
    assert_eq!(b["agent"]["state"], "WORKING");
    assert_eq!(ccc_state(&sim, AGENT2).await.0, "TALKING");
    for (action, n) in [
        ("InitiateAttendedTransfer", 4),
        ("CancelAttendedTransfer", 2),
        ("SwitchToConference", 1),
        ("EndConference", 1),
        ("CompleteAttendedTransfer", 1),
    ] {
        assert_eq!(calls(&sim, action), n, "{action}");
    }
}

#[tokio::test]
async fn keypad_keys_go_one_request_a_key_on_the_customer_leg_paced() {
    let (sim, router, _) = setup(&["--dtmf-gap-ms", "60"]).await;
    let job = talking(&sim, &router, AGENT).await;
    ok(&router, "/api/v1/agent/dtmf", AGENT, r#"{"digits":"12*#"}"#).await;
    ok(&router, "/api/v1/agent/dtmf", AGENT, r#"{"digits":"0"}"#).await;
    let record = admin(&sim, "GET", &format!("/calls/{job}"), Value::Null).await;
    assert_eq!(record["dtmf"], "12*#0", "{record}");
    assert_eq!(calls(&sim, "SendDtmfSignaling"), 5, "one request a key");
    let keys = record["keys"].as_array().unwrap();
    for k in keys {
        assert!(
            k["channelId"].as_str().unwrap().starts_with("ch:customer:"),
            "on the customer's leg: {k}"
        );
        assert_eq!(k["userId"], AGENT);
    }
    let at: Vec<i64> = keys.iter().map(|k| k["at"].as_i64().unwrap()).collect();
    for w in at[..4].windows(2) {
        assert!(w[1] - w[0] >= 50, "paced: {at:?}");
    }
}

#[tokio::test]
async fn keypad_requests_keep_their_order_and_their_own_limit() {
    let (sim, router, _) = setup(&["--dtmf-gap-ms", "10"]).await;
    let job = talking(&sim, &router, AGENT).await;
    // A typist: 15 requests of one key, more than the command burst (10).
    for key in "123456789*0#123".chars() {
        ok(
            &router,
            "/api/v1/agent/dtmf",
            AGENT,
            &json!({"digits": key.to_string()}).to_string(),
        )
        .await;
    }
    // Five requests at once: each one's keys stay together.
    let mut tasks = Vec::new();
    for d in ["1111", "2222", "3333", "4444", "5555"] {
        let router = router.clone();
        tasks.push(tokio::spawn(async move {
            ok(
                &router,
                "/api/v1/agent/dtmf",
                AGENT,
                &json!({"digits": d}).to_string(),
            )
            .await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let record = admin(&sim, "GET", &format!("/calls/{job}"), Value::Null).await;
    let dtmf = record["dtmf"].as_str().unwrap();
    assert_eq!(&dtmf[..15], "123456789*0#123");
    let rest = &dtmf[15..];
    assert_eq!(rest.len(), 20, "{dtmf}");
    for block in rest.as_bytes().chunks(4) {
        assert!(
            block.iter().all(|b| *b == block[0]),
            "keys interleaved: {rest}"
        );
    }
}

fn events_req(body: &Value) -> Request<Body> {
    Request::post("/ccc/events")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn with_lang(mut req: Request<Body>, lang: &str) -> Request<Body> {
    req.headers_mut()
        .insert("accept-language", lang.parse().unwrap());
    req
}

fn ids(dir: &Value) -> Vec<String> {
    dir["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_directory_is_one_sweep_for_everyone_and_follows_events() {
    let sim = ccc_testkit::spawn_sim(ccc_sim::SimConfig::demo().with_generated_agents(250)).await;
    let config = config(
        &sim.endpoint(),
        &[
            "--events-token",
            TOKEN,
            "--reconcile-secs",
            "3600",
            "--skill-groups",
            "sales@ccc-demo=Sales|销售",
            "--quick-connects",
            "number:02150001234=Head office|总部,agent:agent3@ccc-demo=Chen (billing)",
            "--directory-limit",
            "20",
        ],
    );
    let (router, state) = router_from(config, [127, 0, 0, 1]);
    ready_agent(&router, AGENT2).await;
    // 300 agents open the panel at once: one sweep (3 pages of 100).
    let mut tasks = Vec::new();
    for n in 1..=300 {
        let router = router.clone();
        tasks.push(tokio::spawn(async move {
            let user = format!("agent{n:05}@ccc-demo");
            let (s, _, b) = send(&router, get("/api/v1/directory?q=", &user)).await;
            assert_eq!(s, 200, "{b}");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        calls(&sim, "ListRealtimeAgentStates"),
        3,
        "one sweep of 254 agents"
    );
    assert_eq!(state.directory.sweeps(), 1);

    let (s, _, dir) = send(&router, get("/api/v1/directory", AGENT)).await;
    assert_eq!(s, 200);
    let got = ids(&dir);
    assert_eq!(got.len(), 20, "capped");
    assert_eq!(
        got[..3],
        ["02150001234", "agent3@ccc-demo", "agent2@ccc-demo"],
        "favourites, then ready agents"
    );
    assert!(!got.contains(&AGENT.to_owned()), "never the agent itself");
    assert_eq!(dir["entries"][0]["favourite"], true);
    assert_eq!(
        dir["entries"][1]["state"], "offline",
        "live state of a favourite"
    );
    assert_eq!(dir["entries"][2]["state"], "ready");
    assert_eq!(dir["entries"][3]["target"]["type"], "skill-group");
    // The query matches name, extension and id; names follow the language.
    let (_, _, d) = send(&router, get("/api/v1/directory?q=bo%20w", AGENT)).await;
    assert_eq!(ids(&d), ["agent2@ccc-demo"]);
    let (_, _, d) = send(&router, get("/api/v1/directory?q=80010003", AGENT)).await;
    assert_eq!(
        ids(&d),
        ["80010003", "agent3@ccc-demo"],
        "a typed number first: {d}"
    );
    let (_, _, d) = send(
        &router,
        with_lang(get("/api/v1/directory?q=sales", AGENT), "zh-CN,zh;q=0.9"),
    )
    .await;
    assert_eq!(d["entries"][0]["name"], "销售");
    let long = format!("/api/v1/directory?q={}", "x".repeat(65));
    assert_error(
        &send(&router, get(&long, AGENT)).await,
        400,
        "Proxy.BadRequest",
        "proxy",
    );

    // An event moves agent3 to READY (a bare name, as CCC may send it):
    // no new sweep.
    let now = ccc_sim::now_ms();
    let ev = json!([{
        "eventType": "AgentReady",
        "eventTime": ccc_sim::events::format_event_time(now),
        "instanceId": "ccc-demo",
        "agentId": "agent3",
        "outboundScenario": false,
    }]);
    let (s, _, b) = send(&router, events_req(&ev)).await;
    assert_eq!(s, 200, "{b}");
    let (_, _, d) = send(&router, get("/api/v1/directory?q=chen", AGENT)).await;
    assert_eq!(d["entries"][0]["state"], "ready", "{d}");
    assert_eq!(calls(&sim, "ListRealtimeAgentStates"), 3);
    // Without a session: 401.
    let anon = Request::get("/api/v1/directory")
        .header("host", "127.0.0.1:8080")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&router, anon).await.0.as_u16(), 401);
    let _ = AGENT3;
}

#[tokio::test]
async fn replicas_share_one_directory_sweep_through_redis() {
    if std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("\n\n!!!!! SKIPPED: redis-server is not installed (scripts/setup.sh installs it) !!!!!\n\n");
        return;
    }
    let redis = Redis::start(free_port()).expect("redis-server starts");
    redis.ready().await;
    let sim = ccc_testkit::spawn_sim(ccc_sim::SimConfig::demo().with_generated_agents(150)).await;
    let url = redis.url();
    let replica = || {
        let config = config(
            &sim.endpoint(),
            &[
                "--redis-url",
                &url,
                "--events-token",
                TOKEN,
                "--reconcile-secs",
                "3600",
            ],
        );
        router_from(config, [127, 0, 0, 1])
    };
    let (first, first_state) = replica();
    let (second, second_state) = replica();
    let (s, _, a) = send(&first, get("/api/v1/directory?q=agent00150", AGENT)).await;
    assert_eq!(s, 200, "{a}");
    let (s, _, b) = send(&second, get("/api/v1/directory?q=agent00150", AGENT2)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(ids(&a), ["agent00150@ccc-demo"]);
    assert_eq!(
        ids(&b),
        ids(&a),
        "the second replica reads the first one's sweep"
    );
    assert_eq!(
        calls(&sim, "ListRealtimeAgentStates"),
        2,
        "one sweep of 154 agents for the fleet"
    );
    assert_eq!(
        first_state.directory.sweeps() + second_state.directory.sweeps(),
        1
    );
    drop(redis);
}
