//! The proxy on a real socket (127.0.0.1:0) in front of the simulator:
//! peer addresses from the connection, long-poll over HTTP, graceful
//! shutdown that answers a waiting long-poll at once.

mod common;

use std::{net::SocketAddr, time::Duration};

use ccc_proxy::AppState;
use common::*;
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_socket_round_trip_and_graceful_shutdown() {
    let sim = sim().await;
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let mut config = config(&sim.endpoint(), &[]);
    config.listen = listener.local_addr().unwrap();
    let state = AppState::new(config, None).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ccc_proxy::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let http = reqwest::Client::new();
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));

    let res = http
        .post(format!("{base}/api/v1/agent/sign-in"))
        .header("x-forwarded-user", AGENT)
        .header("x-ccc-device-id", DEVICE)
        .header("content-type", "application/json")
        .header("x-requested-with", "ccc-toolbar")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let snap: serde_json::Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert_eq!(snap["agent"]["state"], "BREAK");
    let since = snap["contextId"].as_i64().unwrap();

    // A long-poll is waiting when the proxy shuts down: it answers at once.
    let poll = tokio::spawn({
        let http = http.clone();
        let url = format!("{base}/api/v1/agent?since={since}&wait=30");
        async move {
            http.get(url)
                .header("x-forwarded-user", AGENT)
                .send()
                .await
                .unwrap()
        }
    });
    // Make sure the long-poll reached the proxy before stopping it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = ccc_testkit::metrics_text(&http, &base).await;
        if metric(&text, "ccc_proxy_longpoll_waiters") >= 1.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "long-poll never waited"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    let res = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("the waiting long-poll answers during shutdown")
        .unwrap();
    assert_eq!(res.status(), 200);
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("graceful shutdown completes")
        .unwrap()
        .unwrap();
    sim.shutdown().await;
}
