//! A small Prometheus text exposition: HTTP requests, upstream calls and
//! their latency, long-poll waiters and upstream poll loops.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        atomic::{AtomicI64, AtomicU64, Ordering},
        Mutex,
    },
};

/// Upper bounds (seconds) of the upstream latency histogram.
const BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The proxy's counters and gauges.
#[derive(Debug, Default)]
pub struct Metrics {
    http: Mutex<BTreeMap<(String, u16), u64>>,
    upstream: Mutex<BTreeMap<(String, &'static str), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    waiters: AtomicI64,
    poll_loops: AtomicI64,
    poll_loops_started: AtomicU64,
}

impl Metrics {
    /// Counts one answered HTTP request.
    pub fn http_request(&self, method: &str, status: u16) {
        *lock(&self.http)
            .entry((method.to_owned(), status))
            .or_default() += 1;
    }

    /// Counts one upstream call attempt and its latency.
    pub fn upstream_call(&self, action: &str, outcome: &'static str, seconds: f64) {
        *lock(&self.upstream)
            .entry((action.to_owned(), outcome))
            .or_default() += 1;
        let mut lat = lock(&self.latency);
        let h = lat.entry(action.to_owned()).or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                h.counts[i] += 1;
            }
        }
    }

    /// Upstream call attempts of `action`, all outcomes.
    pub fn upstream_calls(&self, action: &str) -> u64 {
        lock(&self.upstream)
            .iter()
            .filter(|((a, _), _)| a == action)
            .map(|(_, n)| n)
            .sum()
    }

    /// A long-poll started (+1) or ended (-1).
    pub fn waiters_add(&self, delta: i64) {
        self.waiters.fetch_add(delta, Ordering::Relaxed);
    }

    /// Long-poll requests waiting right now.
    pub fn waiters(&self) -> i64 {
        self.waiters.load(Ordering::Relaxed)
    }

    /// A poll loop started.
    pub fn poll_loop_started(&self) {
        self.poll_loops.fetch_add(1, Ordering::Relaxed);
        self.poll_loops_started.fetch_add(1, Ordering::Relaxed);
    }

    /// A poll loop stopped.
    pub fn poll_loop_stopped(&self) {
        self.poll_loops.fetch_sub(1, Ordering::Relaxed);
    }

    /// Poll loops running right now.
    pub fn poll_loops(&self) -> i64 {
        self.poll_loops.load(Ordering::Relaxed)
    }

    /// Poll loops started since the process began.
    pub fn poll_loops_started(&self) -> u64 {
        self.poll_loops_started.load(Ordering::Relaxed)
    }

    /// The Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP ccc_proxy_http_requests_total HTTP requests answered.\n");
        out.push_str("# TYPE ccc_proxy_http_requests_total counter\n");
        for ((method, status), n) in lock(&self.http).iter() {
            let _ = writeln!(
                out,
                "ccc_proxy_http_requests_total{{method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP ccc_proxy_upstream_requests_total CCC call attempts by action and outcome.\n",
        );
        out.push_str("# TYPE ccc_proxy_upstream_requests_total counter\n");
        for ((action, outcome), n) in lock(&self.upstream).iter() {
            let _ = writeln!(
                out,
                "ccc_proxy_upstream_requests_total{{action=\"{action}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP ccc_proxy_upstream_request_duration_seconds CCC call latency.\n");
        out.push_str("# TYPE ccc_proxy_upstream_request_duration_seconds histogram\n");
        for (action, h) in lock(&self.latency).iter() {
            for (le, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "ccc_proxy_upstream_request_duration_seconds_bucket{{action=\"{action}\",le=\"{le}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "ccc_proxy_upstream_request_duration_seconds_bucket{{action=\"{action}\",le=\"+Inf\"}} {}\n\
                 ccc_proxy_upstream_request_duration_seconds_sum{{action=\"{action}\"}} {}\n\
                 ccc_proxy_upstream_request_duration_seconds_count{{action=\"{action}\"}} {}",
                h.count, h.sum, h.count
            );
        }
        let gauges = [
            (
                "ccc_proxy_longpoll_waiters",
                "Long-poll requests waiting for a change.",
                "gauge",
                self.waiters().to_string(),
            ),
            (
                "ccc_proxy_poll_loops",
                "Upstream PollUserStatus loops running (one per watched agent).",
                "gauge",
                self.poll_loops().to_string(),
            ),
            (
                "ccc_proxy_poll_loops_started_total",
                "Upstream PollUserStatus loops started.",
                "counter",
                self.poll_loops_started().to_string(),
            ),
        ];
        for (name, help, kind, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::default();
        m.http_request("GET", 200);
        m.upstream_call("PollUserStatus", "ok", 0.02);
        m.waiters_add(2);
        m.poll_loop_started();
        let text = m.render();
        assert!(text.contains("ccc_proxy_http_requests_total{method=\"GET\",status=\"200\"} 1"));
        assert!(text.contains(
            "ccc_proxy_upstream_request_duration_seconds_bucket{action=\"PollUserStatus\",le=\"0.025\"} 1"
        ));
        assert!(text.contains("ccc_proxy_longpoll_waiters 2"));
        assert!(text.contains("ccc_proxy_poll_loops 1"));
        assert_eq!(m.upstream_calls("PollUserStatus"), 1);
    }
}
