//! Two browsers of one agent: a change made in one shows in the other
//! without any interaction (one shared upstream loop in the proxy). Each
//! browser is its own device: the one that is not active says so and offers
//! to take the agent over; taking over shows the same offer on the other.

use ccc_e2e::{browser::BrowserOptions, Browser, Stack, StackOptions};

const AGENT: &str = "agent2@ccc-demo";

async fn open_as_agent(stack: &Stack) -> Browser {
    let b = Browser::start(BrowserOptions::default()).await;
    b.sign_in(stack, AGENT).await;
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tabs_agree_and_takeover_is_shown_with_a_way_back() {
    let stack = Stack::start(StackOptions::default()).await;
    let first = open_as_agent(&stack).await;
    let second = open_as_agent(&stack).await;
    first.wait_state("OFFLINE").await;
    second.wait_state("OFFLINE").await;

    // A change in the first browser reaches the second by itself.
    first.choose("sign-in").await;
    first.wait_state("BREAK").await;
    second.wait_state("BREAK").await;
    first.choose("ready").await;
    second.wait_state("READY").await;

    // Time in state comes from the server's timestamps: both browsers agree,
    // and a reload does not restart it.
    let a = timer_at_least(&first, 2).await;
    let b = timer_seconds(&second).await;
    assert!(
        a.abs_diff(b) <= 1,
        "timers agree across browsers: {a} s vs {b} s"
    );
    second.client.refresh().await.unwrap();
    second.wait_state("READY").await;
    let after = timer_at_least(&second, 0).await;
    assert!(
        after >= a,
        "a reload keeps the time in state: {after} s < {a} s"
    );

    // The second browser is another device: it says so and offers to take over.
    second.testid("takeover-banner").await;
    assert_no_banner(&first).await;
    second.click("take-back").await;
    // Now the first is the inactive one, and can take the agent back.
    first.testid("takeover-banner").await;
    assert_no_banner(&second).await;
    first.click("take-back").await;
    second.testid("takeover-banner").await;
    assert_no_banner(&first).await;
    // Taking over keeps the agent online.
    first.wait_state("BREAK").await;

    first.close().await;
    second.close().await;
    stack.stop().await;
}

async fn assert_no_banner(b: &Browser) {
    ccc_e2e::eventually(
        "no takeover banner",
        ccc_e2e::browser::UI_DEADLINE,
        || async {
            match b.find("takeover-banner").await {
                Ok(_) => Err("banner still shown".to_owned()),
                Err(_) => Ok(()),
            }
        },
    )
    .await;
}

/// The `state-timer` text (`m:ss` or `h:mm:ss`) in seconds.
async fn timer_seconds(b: &Browser) -> u64 {
    let text = b.testid("state-timer").await.text().await.unwrap();
    parse_clock(&text).unwrap_or_else(|| panic!("state-timer shows {text:?}"))
}

/// Waits until the timer shows at least `secs` seconds and returns it.
async fn timer_at_least(b: &Browser, secs: u64) -> u64 {
    ccc_e2e::eventually(
        &format!("state-timer to reach {secs} s"),
        ccc_e2e::browser::UI_DEADLINE,
        || async {
            let t = timer_seconds(b).await;
            if t >= secs {
                Ok(t)
            } else {
                Err(format!("{t} s"))
            }
        },
    )
    .await
}

fn parse_clock(text: &str) -> Option<u64> {
    text.trim()
        .split(':')
        .try_fold(0u64, |acc, part| Some(acc * 60 + part.parse::<u64>().ok()?))
}
