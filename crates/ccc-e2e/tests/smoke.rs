//! First-run experience: the product opens on the demo sign-in page, and
//! picking an agent lands on a working toolbar (never a blank page).

use ccc_e2e::{browser::BrowserOptions, Browser, Stack, StackOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_on_sign_in_then_shows_the_toolbar() {
    let stack = Stack::start(StackOptions::default()).await;
    let browser = Browser::start(BrowserOptions::default()).await;

    browser.goto(&stack.url("/")).await;
    browser.click("signin-agent1@ccc-demo").await;
    browser.testid("ccc-toolbar").await;
    browser.wait_state("OFFLINE").await;
    browser
        .wait_attr("ccc-toolbar", "data-connection", "connected")
        .await;

    browser.close().await;
    stack.stop().await;
}
