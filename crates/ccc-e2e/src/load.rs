//! What the load binaries (`soak`, `herd`) share: child processes killed on
//! drop, the sibling release binaries, percentiles, and the simulator's admin
//! API and health checks over plain HTTP.

use std::{
    path::PathBuf,
    process::Child,
    time::{Duration, Instant},
};

use serde_json::Value;

/// A child process (simulator, proxy replica) killed and reaped on drop.
#[derive(Debug)]
pub struct KillOnDrop {
    /// The process.
    pub child: Child,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A binary built beside the running one (`ccc-sim`, `ccc-proxy`).
pub fn sibling(name: &str) -> PathBuf {
    let me = std::env::current_exe().expect("own path");
    me.with_file_name(name)
}

/// The `p` percentile (0.0–1.0) of sorted values; 0 when empty.
pub fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Waits up to 30 s until `url` answers with a success status.
pub async fn wait_healthy(http: &reqwest::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{url} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Calls the simulator's admin API (`/_sim{path}`); a failure is printed,
/// not fatal (a load run goes on and reports what it saw).
#[allow(clippy::print_stdout)] // the load binaries' report is their stdout
pub async fn admin(http: &reqwest::Client, sim: &str, method: &str, path: &str, body: Value) {
    let url = format!("{sim}/_sim{path}");
    let req = match method {
        "PUT" => http.put(url),
        "DELETE" => http.delete(url),
        _ => http.post(url),
    };
    match req
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => println!("  admin {path}: {}", r.status()),
        Err(e) => println!("  admin {path}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::pct;

    #[test]
    fn percentiles() {
        assert_eq!(pct(&[], 0.5), 0);
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(pct(&v, 0.0), 1);
        assert_eq!(pct(&v, 0.5), 51);
        assert_eq!(pct(&v, 0.99), 99);
        assert_eq!(pct(&v, 1.0), 100);
    }
}
