//! Accessibility audit: axe-core (WCAG 2.1 A and AA rules) over the toolbar
//! in the states an agent sees most, in a real browser against the real
//! proxy and simulator. Any violation fails with its rule and elements.

use ccc_e2e::{browser::BrowserOptions, workspace_root, Browser, Stack, StackOptions};

const AGENT: &str = "agent1@ccc-demo";

/// Runs axe on the toolbar root; returns the violations as readable lines.
async fn audit(b: &Browser, axe_source: &str) -> Vec<String> {
    b.js(&format!("{axe_source}\n;window.axe = axe; return true;"))
        .await;
    let found = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.axe.run(document.querySelector('[data-testid=ccc-toolbar]'), {
               runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }
             }).then(r => done({
               passed: r.passes.length,
               violations: r.violations.map(v =>
                 v.impact + ' ' + v.id + ': ' + v.help + ' @ ' +
                 v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))
             })).catch(e => done({ passed: 0, violations: ['axe failed: ' + e] }));",
            vec![],
        )
        .await
        .expect("axe runs");
    let passed = found["passed"].as_u64().unwrap_or(0);
    assert!(passed >= 10, "axe evaluated only {passed} rules: {found}");
    eprintln!("axe: {passed} rules passed");
    serde_json::from_value(found["violations"].clone()).expect("a list of violations")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_toolbar_passes_an_axe_audit() {
    let axe_path = workspace_root().join("tools/node_modules/axe-core/axe.min.js");
    let axe = std::fs::read_to_string(&axe_path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `make setup`)", axe_path.display()));
    let stack = Stack::start(StackOptions::default()).await;
    let b = Browser::start(BrowserOptions::default()).await;
    b.sign_in(&stack, AGENT).await;
    b.wait_state("OFFLINE").await;

    let mut problems = Vec::new();
    for v in audit(&b, &axe).await {
        problems.push(format!("offline: {v}"));
    }

    b.choose("sign-in").await;
    b.wait_state("BREAK").await;
    b.click("status-menu-button").await;
    b.wait_visible("status-menu").await;
    for v in audit(&b, &axe).await {
        problems.push(format!("status menu open: {v}"));
    }
    b.click("status-menu-button").await;
    b.open_settings().await;
    for v in audit(&b, &axe).await {
        problems.push(format!("settings open: {v}"));
    }
    b.click("settings-close").await;

    // The dial box explaining a bad number, recent calls open.
    let dial = b.testid("dial-number").await;
    dial.send_keys("12ab").await.unwrap();
    b.wait_text("dial-error", "can't be dialled").await;
    b.testid("recent-calls").await.click().await.unwrap();
    for v in audit(&b, &axe).await {
        problems.push(format!("bad number typed: {v}"));
    }

    b.choose("ready").await;
    b.wait_state("READY").await;
    stack.ring(AGENT, "13800138000").await;
    b.wait_state("RINGING").await;
    b.click("answer").await;
    b.wait_state("TALKING").await;
    b.click("mute").await;
    b.wait_attr("ccc-toolbar", "data-muted", "true").await;
    b.click("hold").await;
    b.wait_attr("ccc-toolbar", "data-held", "true").await;
    let next = b.testid("next-state").await;
    next.select_by_value("break:lunch").await.unwrap();
    for v in audit(&b, &axe).await {
        problems.push(format!("talking, muted, on hold, next state: {v}"));
    }

    // Issue 18: the transfer panel with the directory listed, the keypad.
    b.click("transfer-button").await;
    b.testid("transfer-target").await;
    for v in audit(&b, &axe).await {
        problems.push(format!("transfer panel open: {v}"));
    }
    b.click("keypad-button").await;
    b.wait_visible("keypad").await;
    for v in audit(&b, &axe).await {
        problems.push(format!("keypad open: {v}"));
    }

    b.close().await;
    stack.stop().await;
    assert!(
        problems.is_empty(),
        "accessibility violations:\n{}",
        problems.join("\n")
    );
}
