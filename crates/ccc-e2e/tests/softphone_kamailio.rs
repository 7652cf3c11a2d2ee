//! Interop of the **widget's** SIP user agent with a SIP server nobody here
//! wrote (issue 20): headless Chromium signs in, goes online in ON_SITE, and
//! the widget registers through the proxy's relay (`--sip-upstream`) with
//! Debian's Kamailio (websocket + `auth_ephemeral`, on a free port); the
//! binding then shows in Kamailio's location table.
//!
//! The credentials come the normal way: the simulator's `GetLoginDetails`
//! (`UserKey2`/`Signature2`, HMAC'd with the secret Kamailio is given)
//! through the session's `softphone` block. The one adaptation is the
//! simulator's `user_key2_unit = s`
//! (`ccc_sim::softphone::TimestampUnit::Seconds`): stock Kamailio 5.6
//! refuses CCC's 13-digit millisecond timestamp (docs/softphone.md).

use std::time::Duration;

use ccc_e2e::{browser::BrowserOptions, eventually, Browser, Stack, StackOptions};
use ccc_sim::softphone::{SoftphoneConfig, TimestampUnit};
use ccc_testkit::kamailio::Kamailio;

const SECRET: &str = "kamailio-widget-interop-secret-42";
const AGENT: &str = "agent1@ccc-demo";
/// agent1's extension in the demo simulator.
const EXT: &str = "80010001";
/// The `SipServerUrl` the simulator reports: the AOR's domain and so
/// Kamailio's digest realm (`autheph_www("$td")`).
const SIP_SERVER_URL: &str = "sh-sip-ccc.aliyuncs.com:443";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_registers_with_kamailio_through_the_relay() {
    let kamailio = Kamailio::start(SECRET).await;
    let stack = Stack::start(StackOptions {
        proxy_flags: vec!["--sip-upstream".into(), kamailio.ws_url()],
        sim_softphone: Some(SoftphoneConfig {
            secret: Some(SECRET.into()),
            sip_server_url: Some(SIP_SERVER_URL.into()),
            user_key2_unit: TimestampUnit::Seconds,
            ..SoftphoneConfig::default()
        }),
        ..StackOptions::default()
    })
    .await;
    assert!(
        !kamailio.location().contains(&format!("AoR: {EXT}")),
        "empty at start"
    );

    let b = Browser::start(BrowserOptions::default()).await;
    b.sign_in(&stack, AGENT).await;
    b.choose("sign-in").await;
    b.wait_state("BREAK").await;
    b.choose("ready").await;
    b.wait_state("READY").await;
    b.wait_attr("softphone-status", "data-registration", "registered")
        .await;

    // Kamailio holds the binding the widget registered: the agent's AOR,
    // the widget's RFC 7118 Contact (a random `.invalid` host over ws).
    eventually(
        "the binding in Kamailio's location table",
        Duration::from_secs(5),
        || async {
            let table = kamailio.location();
            if table.contains(&format!("AoR: {EXT}")) && table.contains(".invalid;transport=ws") {
                Ok(())
            } else {
                Err(format!("{table}\n{}", kamailio.log()))
            }
        },
    )
    .await;
    // Kamailio (not a relay or simulator shortcut) answered 2xx.
    let http = reqwest::Client::new();
    let metrics = ccc_testkit::metrics_text(&http, &stack.base).await;
    assert!(
        ccc_testkit::metric_sum(&metrics, "ccc_proxy_sip_registrations_total") >= 1.0,
        "{metrics}"
    );

    b.close().await;
    stack.stop().await;
}
