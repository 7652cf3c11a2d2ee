//! Real-socket tests through `spawn` on 127.0.0.1:0 with a plain TCP client.

mod common;

use std::time::Duration;

use ccc_sim::{spawn, SimConfig};
use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends raw HTTP/1.1 bytes; returns the status and body, or the I/O error
/// when the server closed the connection without answering.
async fn exchange(addr: std::net::SocketAddr, raw: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(raw.as_bytes()).await?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf))
        .await
        .expect("the server hung instead of answering or closing")?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("no response: {text:?}"),
        ));
    };
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_owned()))
}

#[tokio::test]
async fn hand_signed_v3_is_accepted_over_a_real_socket() {
    let sim = spawn(SimConfig::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    assert!(sim.endpoint().starts_with("http://127.0.0.1:"));
    let host = sim.addr.to_string();

    // POST with a form body, built and signed by hand.
    let req = sign_v3(
        &host,
        "SignInGroup",
        &[("InstanceId", "ccc-demo")],
        &[("UserId", "agent1@ccc-demo"), ("DeviceId", "tab 1")],
        V3Opts::default(),
    );
    let (status, body) = exchange(sim.addr, &req.to_http()).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["Code"], "OK");
    assert_eq!(json["HttpStatusCode"], 200);
    assert_eq!(json["Data"]["UserState"], "BREAK");
    assert_eq!(json["Data"]["DeviceId"], "tab 1");

    // GET with everything in the query.
    let req = sign_v3(
        &host,
        "PollUserStatus",
        &[
            ("InstanceId", "ccc-demo"),
            ("UserId", "agent1@ccc-demo"),
            ("DeviceId", "tab 1"),
        ],
        &[],
        V3Opts::default(),
    );
    let (status, body) = exchange(sim.addr, &req.to_http()).await.unwrap();
    assert_eq!(status, 200, "{body}");

    // The same request signed with a wrong secret is refused.
    let bad = sign_v3(
        &host,
        "PollUserStatus",
        &[("InstanceId", "ccc-demo"), ("UserId", "agent1@ccc-demo")],
        &[],
        V3Opts {
            secret: "not-the-secret",
            ..V3Opts::default()
        },
    );
    let (status, body) = exchange(sim.addr, &bad.to_http()).await.unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");
    sim.shutdown().await;
}

#[tokio::test]
async fn drop_fault_closes_the_connection_without_an_answer() {
    let sim = spawn(SimConfig::demo(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let host = sim.addr.to_string();
    let faults = r#"{"dropRate": 1.0, "actions": ["PollUserStatus"]}"#;
    let put = format!(
        "PUT /_sim/faults HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{faults}",
        faults.len()
    );
    let (status, body) = exchange(sim.addr, &put).await.unwrap();
    assert_eq!(status, 200, "{body}");

    let poll = sign_v3(
        &host,
        "PollUserStatus",
        &[("InstanceId", "ccc-demo"), ("UserId", "agent1@ccc-demo")],
        &[],
        V3Opts::default(),
    );
    let result = exchange(sim.addr, &poll.to_http()).await;
    assert!(
        result.is_err(),
        "expected a dropped connection, got {result:?}"
    );

    // The admin API and other actions still answer.
    let get = format!("GET /_sim/agents HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
    let (status, _) = exchange(sim.addr, &get).await.unwrap();
    assert_eq!(status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn demo_mode_generates_calls() {
    let mut config = SimConfig::demo();
    config.timings.demo_calls_secs = Some(1);
    config.timings.auto_answer_ms = Some(10);
    let sim = spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    {
        let mut world = sim.state().world();
        let agent = world.agents.get_mut("agent2@ccc-demo").unwrap();
        agent.sign_in(Some("d"), None, 0).unwrap();
        agent.ready(false, 0).unwrap();
    }
    let talking = wait_until(Duration::from_secs(5), || async {
        sim.state()
            .agent("agent2@ccc-demo")
            .is_some_and(|a| a.state == ccc_model::UserState::Talking)
    })
    .await;
    assert!(talking, "no demo call reached the READY agent");
    sim.shutdown().await;
}
