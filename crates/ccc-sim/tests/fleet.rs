//! Many agents: generated agents, `ListRealtimeAgentStates` paging and
//! filters, the admin API that changes states "from elsewhere", and the
//! counters tests use to assert upstream calls.

mod common;

use ccc_sim::{app, SimConfig, SimState};
use common::*;
use serde_json::{json, Value};

const AGENTS: usize = 10_000;

fn fleet() -> (SimState, axum::Router) {
    let mut config = SimConfig::demo().with_generated_agents(AGENTS);
    config.timings.after_call_ms = 60_000;
    let state = SimState::new(config);
    let router = app(state.clone());
    (state, router)
}

async fn list(app: &axum::Router, params: &[(&str, &str)]) -> (u16, Value) {
    send(app, rpc("ListRealtimeAgentStates", params)).await
}

async fn page(app: &axum::Router, params: &[(&str, &str)]) -> Value {
    let (s, b) = list(app, params).await;
    assert_eq!(s, 200, "{b}");
    b["Data"].clone()
}

fn ids(data: &Value) -> Vec<String> {
    data["List"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["AgentId"].as_str().unwrap().to_owned())
        .collect()
}

async fn set(app: &axum::Router, user: &str, body: Value) -> (u16, Value) {
    admin(
        app,
        "POST",
        &format!("/_sim/agents/{user}/state"),
        Some(body),
    )
    .await
}

#[test]
fn generated_agents_are_named_and_valid() {
    let config = SimConfig::demo().with_generated_agents(3);
    config.validate().unwrap();
    let agents = config.agents();
    assert_eq!(agents.len(), 4 + 3);
    let last = &agents[6];
    assert_eq!(last.user_id, "agent00003@ccc-demo");
    assert_eq!(last.extension, "81000003");
    assert_eq!(last.display_name, "Agent 00003");
    // Adding more keeps the first ones.
    assert_eq!(config.with_generated_agents(2).agents().len(), 4 + 5);
    let from_file =
        SimConfig::from_toml_str("[[instances]]\nid = \"big\"\ngenerated_agents = 25\n").unwrap();
    assert_eq!(from_file.agents().len(), 25);
    assert_eq!(from_file.agents()[0].user_id, "agent00001@big");
}

#[tokio::test]
async fn pages_over_ten_thousand_agents_are_stable_and_complete() {
    let (_, app) = fleet();
    let total = AGENTS + 4;
    let first = page(&app, &[("PageSize", "100"), ("PageNumber", "1")]).await;
    assert_eq!(first["TotalCount"], total);
    assert_eq!(
        (first["PageNumber"].as_u64(), first["PageSize"].as_u64()),
        (Some(1), Some(100))
    );
    let rows = ids(&first);
    assert_eq!(rows.len(), 100);
    assert_eq!(rows[0], "agent00001@ccc-demo");
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "ordered by AgentId");
    // The same page twice is the same page; the next one follows on.
    assert_eq!(ids(&page(&app, &[("PageSize", "100")]).await), rows);
    let second = ids(&page(&app, &[("PageSize", "100"), ("PageNumber", "2")]).await);
    assert!(rows.last().unwrap() < &second[0]);
    // The last page is partial, past it is empty.
    let last = page(&app, &[("PageSize", "100"), ("PageNumber", "101")]).await;
    assert_eq!(
        ids(&last),
        [
            "agent1@ccc-demo",
            "agent2@ccc-demo",
            "agent3@ccc-demo",
            "supervisor@ccc-demo"
        ]
    );
    let past = page(&app, &[("PageSize", "100"), ("PageNumber", "102")]).await;
    assert_eq!(
        (past["TotalCount"].as_u64(), ids(&past).len()),
        (Some(total as u64), 0)
    );
    // Default page size.
    assert_eq!(ids(&page(&app, &[]).await).len(), 10);
    let row = &first["List"][0];
    assert_eq!(row["State"], "Offline");
    assert_eq!(row["AgentName"], "Agent 00001");
    assert_eq!(row["Extension"], "81000001");
    assert!(row["StateTime"].as_i64().unwrap() > 0);
    assert_eq!(row["SkillGroupIdList"], json!([]));
}

#[tokio::test]
async fn states_filters_and_the_realtime_vocabulary() {
    let (state, app) = fleet();
    let ok = |(s, b): (u16, Value)| {
        assert_eq!(s, 200, "{b}");
        b
    };
    ok(set(&app, "agent00002@ccc-demo", json!({"state": "READY"})).await);
    ok(set(
        &app,
        "agent00003@ccc-demo",
        json!({"state": "BREAK", "breakCode": "lunch"}),
    )
    .await);
    // Calls reach READY agents only, as in the cloud.
    let (s, _) = set(&app, "agent00004@ccc-demo", json!({"state": "TALKING"})).await;
    assert_eq!(s, 409);
    for (user, states) in [
        ("agent00004@ccc-demo", &["READY", "TALKING"][..]),
        ("agent00005@ccc-demo", &["READY", "TALKING", "WORKING"][..]),
        ("agent00006@ccc-demo", &["READY", "RINGING"][..]),
    ] {
        for st in states {
            ok(set(&app, user, json!({ "state": st })).await);
        }
    }
    let by_id = page(
        &app,
        &[("AgentIdList", r#"["agent00006","agent00005@ccc-demo","agent00004","agent00003","agent00002","nobody"]"#)],
    )
    .await;
    assert_eq!(by_id["TotalCount"], 5);
    let states: Vec<(&str, &str)> = by_id["List"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["State"].as_str().unwrap(),
                r["StateCode"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("Ready", ""),
            ("Break", "lunch"),
            ("Talking", ""),
            ("ACW", ""),
            ("Ringing", "")
        ]
    );
    assert_eq!(by_id["List"][2]["CounterParty"], "13800000000");
    let busy = page(
        &app,
        &[
            ("StateList", r#"["Talking","ACW","Ringing"]"#),
            ("PageSize", "2"),
        ],
    )
    .await;
    assert_eq!(busy["TotalCount"], 3);
    assert_eq!(ids(&busy), ["agent00004@ccc-demo", "agent00005@ccc-demo"]);
    let offline = page(&app, &[("StateList", r#"["Offline"]"#), ("PageSize", "1")]).await;
    assert_eq!(offline["TotalCount"], AGENTS + 4 - 5);
    // A change made elsewhere shows in the next page read.
    ok(set(&app, "agent00002@ccc-demo", json!({"state": "OFFLINE"})).await);
    let ready = page(&app, &[("StateList", r#"["Ready"]"#)]).await;
    assert_eq!(ready["TotalCount"], 0);
    assert_eq!(state.stats().calls_of("ListRealtimeAgentStates"), 4);
}

#[tokio::test]
async fn bad_paging_parameters_get_real_error_codes() {
    let (_, app) = fleet();
    let many: Vec<String> = (1..=21).map(|i| format!("agent{i:05}")).collect();
    let many = serde_json::to_string(&many).unwrap();
    let cases: Vec<BadRequest<'_>> = vec![
        (
            vec![("PageSize", "101")],
            "InvalidParameter",
            json!(["PageSize"]),
        ),
        (
            vec![("PageSize", "0")],
            "InvalidParameter",
            json!(["PageSize"]),
        ),
        (
            vec![("PageNumber", "-1")],
            "InvalidParameter",
            json!(["PageNumber"]),
        ),
        (
            vec![("AgentIdList", many.as_str())],
            "InvalidParameter",
            json!(["AgentIdList"]),
        ),
        (
            vec![("StateList", "Ready")],
            "InvalidParameter",
            json!(["StateList"]),
        ),
        (
            vec![("StateList", r#"["READY"]"#)],
            "Parameter.Enumeration",
            json!([
                "StateList",
                "Ready,Talking,ACW,Break,Ringing,Offline,Dialing"
            ]),
        ),
    ];
    assert_bad_requests(&app, "ListRealtimeAgentStates", cases).await;
}

#[tokio::test]
async fn admin_state_changes_refuse_what_the_state_machine_refuses() {
    let (_, app) = fleet();
    let (s, b) = set(&app, "agent00001@ccc-demo", json!({"state": "READY"})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["userContext"]["UserState"], "READY");
    assert_eq!(b["userContext"]["DeviceId"], ccc_sim::CONSOLE_DEVICE);
    let (s, b) = set(&app, "agent00001@ccc-demo", json!({"state": "WORKING"})).await;
    assert_eq!(s, 409, "{b}");
    let (s, _) = set(&app, "nobody@ccc-demo", json!({"state": "READY"})).await;
    assert_eq!(s, 404);
    let (s, b) = set(&app, "agent00001@ccc-demo", json!({"state": "LUNCH"})).await;
    assert_eq!(s, 400, "{b}");
    // DIALING from READY dials out; dialing again is refused.
    let (s, b) = set(&app, "agent00001@ccc-demo", json!({"state": "DIALING"})).await;
    assert_eq!(s, 200, "{b}");
    let data = page(&app, &[("AgentIdList", r#"["agent00001"]"#)]).await;
    assert_eq!(data["List"][0]["State"], "Dialing");
    assert_eq!(data["List"][0]["CounterParty"], ccc_sim::DIALED_NUMBER);
    let (s, b) = set(&app, "agent00001@ccc-demo", json!({"state": "DIALING"})).await;
    assert_eq!(s, 409, "{b}");
    // A batch for benches: what fails is reported, the rest applies.
    let (s, b) = admin(
        &app,
        "POST",
        "/_sim/agents/states",
        Some(json!([
            {"userId": "agent00007@ccc-demo", "state": "BREAK", "breakCode": "meeting"},
            {"userId": "agent00008@ccc-demo", "state": "READY"},
            {"userId": "nobody@ccc-demo", "state": "READY"},
        ])),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["applied"], 2);
    assert_eq!(b["errors"][0]["userId"], "nobody@ccc-demo");
    let data = page(&app, &[("AgentIdList", r#"["agent00007","agent00008"]"#)]).await;
    assert_eq!(data["List"][0]["StateCode"], "meeting");
    assert_eq!(data["List"][1]["State"], "Ready");
}

#[tokio::test]
async fn stats_quota_and_webhook_admin_endpoints() {
    let (_, app) = fleet();
    let poll = [("UserId", "agent00001@ccc-demo"), ("DeviceId", "d")];
    for _ in 0..3 {
        assert_eq!(send(&app, rpc("PollUserStatus", &poll)).await.0, 200);
    }
    let (_, stats) = admin(&app, "GET", "/_sim/stats", None).await;
    assert_eq!(stats["calls"]["PollUserStatus"], 3);
    assert_eq!(stats["totalCalls"], 3);
    assert_eq!(stats["throttled"], 0);
    assert_eq!(admin(&app, "DELETE", "/_sim/stats", None).await.0, 200);
    let (_, stats) = admin(&app, "GET", "/_sim/stats", None).await;
    assert_eq!(stats["totalCalls"], 0);

    assert_eq!(
        admin(&app, "GET", "/_sim/quota", None).await.1,
        json!({"qpsLimit": null})
    );
    let (s, b) = admin(&app, "PUT", "/_sim/quota", Some(json!({"qpsLimit": 1}))).await;
    assert_eq!((s, b), (200, json!({"qpsLimit": 1})));
    assert_eq!(send(&app, rpc("PollUserStatus", &poll)).await.0, 200);
    let (s, b) = send(&app, rpc("PollUserStatus", &poll)).await;
    assert_eq!((s, b["Code"].as_str()), (400, Some("Throttling.User")));
    assert_eq!(
        admin(&app, "PUT", "/_sim/quota", Some(json!({"qpsLimit": 0})))
            .await
            .0,
        400
    );

    let hook = json!({"url": "http://127.0.0.1:9/ccc/events/path-secret", "token": "tok-secret"});
    let (s, b) = admin(&app, "PUT", "/_sim/webhook", Some(hook)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["origins"], json!(["http://127.0.0.1:9"]));
    assert_eq!(b["tokenSet"], true);
    let shown = admin(&app, "GET", "/_sim/webhook", None)
        .await
        .1
        .to_string();
    assert!(!shown.contains("secret"), "{shown}");
    let bad = json!({"lossRate": 2.0});
    assert_eq!(
        admin(&app, "PUT", "/_sim/webhook/faults", Some(bad))
            .await
            .0,
        400
    );
    let faults = json!({"lossRate": 0.5, "reorderRate": 0.1, "seed": 3});
    let (s, b) = admin(&app, "PUT", "/_sim/webhook/faults", Some(faults)).await;
    assert_eq!((s, &b["faults"]["lossRate"]), (200, &json!(0.5)));
    let (s, b) = admin(
        &app,
        "PUT",
        "/_sim/webhook",
        Some(json!({"url": "not a url"})),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = admin(&app, "DELETE", "/_sim/webhook", None).await;
    assert_eq!((s, &b["origins"]), (200, &json!([])));
}
