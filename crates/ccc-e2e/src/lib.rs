//! End-to-end harness: the CCC simulator and the proxy on loopback ports,
//! the release widget from `dist/`, and headless Debian Chromium driven
//! through chromedriver.
//!
//! Everything waits with [`eventually`] (a condition polled up to a
//! deadline), never with a bare sleep.

pub mod agents;
pub mod browser;
pub mod bundle;
pub mod first_state;
pub mod load;
pub mod softphone;
pub mod stack;

pub use browser::Browser;
pub use stack::{Stack, StackOptions};

use std::{future::Future, path::PathBuf, time::Duration};

/// The workspace root (where `dist/` and `artifacts/` live).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root exists")
}

/// Where the test suite writes screenshots (`artifacts/screenshots/`).
pub fn screenshot_dir() -> PathBuf {
    let dir = workspace_root().join("artifacts/screenshots");
    std::fs::create_dir_all(&dir).expect("can create artifacts/screenshots");
    dir
}

/// Polls `check` every 50 ms until it yields `Some`, or panics after
/// `deadline` with `what` and the last observation.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let start = tokio::time::Instant::now();
    loop {
        let last = match check().await {
            Ok(v) => return v,
            Err(seen) => seen,
        };
        if start.elapsed() > deadline {
            panic!("timed out after {deadline:?} waiting for {what}; last seen: {last}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Resident set size of process `pid` in KiB (Linux `/proc`; 0 when unknown).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Wall-clock time in epoch milliseconds (as a page's
/// `performance.timeOrigin + performance.now()`).
pub fn epoch_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

pub use ccc_testkit::{free_port, metric_sum};
