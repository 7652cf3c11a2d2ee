//! The proxy's Prometheus metrics, on the `prometheus-client` crate.
//!
//! Every label comes from a closed set, so nothing a client sends can grow
//! the registry: HTTP methods outside the standard ones count as `OTHER`,
//! routes are axum's route templates (or `static` / `unmatched`), statuses
//! are classes (`2xx`), CCC actions and outcomes are `&'static str`s chosen
//! by the proxy's own code.

pub mod sip;

use std::fmt::Write as _;

use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

/// An HTTP method, from a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// PATCH
    Patch,
    /// OPTIONS
    Options,
    /// Anything else (including invented method names).
    Other,
}

impl HttpMethod {
    /// Maps any method onto the closed set.
    pub fn of(method: &axum::http::Method) -> Self {
        use axum::http::Method as M;
        match *method {
            M::GET => Self::Get,
            M::HEAD => Self::Head,
            M::POST => Self::Post,
            M::PUT => Self::Put,
            M::DELETE => Self::Delete,
            M::PATCH => Self::Patch,
            M::OPTIONS => Self::Options,
            _ => Self::Other,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Patch => "PATCH",
            Self::Options => "OPTIONS",
            Self::Other => "OTHER",
        }
    }
}

impl EncodeLabelValue for HttpMethod {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

/// `1xx` … `5xx` (anything else is `5xx`: it cannot be a success).
fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    method: HttpMethod,
    route: String,
    status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct UpstreamLabels {
    action: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ActionLabels {
    action: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PolicyLabels {
    policy: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// Outcomes of an upstream call attempt.
pub const UPSTREAM_OUTCOMES: [&str; 5] = ["ok", "ccc_error", "timeout", "transport", "malformed"];

/// The proxy's counters, gauges and histograms, in one registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http: Family<HttpLabels, Counter>,
    upstream: Family<UpstreamLabels, Counter>,
    latency: Family<ActionLabels, Histogram>,
    waiters: Gauge,
    poll_loops: Gauge,
    poll_loops_started: Counter,
    connections: Gauge,
    connection_limit_hits: Counter,
    longpoll_evictions: Counter,
    rate_limited: Family<KindLabels, Counter>,
    session_cache: Family<KindLabels, Counter>,
    ccc_events: Family<KindLabels, Counter>,
    ccc_events_unknown: Counter,
    owned_agents: Gauge,
    redis_up: Gauge,
    agents_held: Gauge,
    presence_actions: Family<PolicyLabels, Counter>,
    sip: sip::SipMetrics,
    next_state: Family<OutcomeLabels, Counter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Outcomes of next states (`ccc_proxy_next_state_total{outcome}`).
pub const NEXT_STATE_OUTCOMES: [&str; 5] = ["set", "cancelled", "applied", "skipped", "failed"];

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ccc_proxy");
        let http = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status class",
            http.clone(),
        );
        let upstream = Family::<UpstreamLabels, Counter>::default();
        registry.register(
            "upstream_requests",
            "CCC call attempts by action and outcome",
            upstream.clone(),
        );
        let latency = Family::<ActionLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.5, 10))
        });
        registry.register(
            "upstream_request_duration_seconds",
            "CCC call latency",
            latency.clone(),
        );
        let waiters = Gauge::default();
        registry.register(
            "longpoll_waiters",
            "Long-poll requests waiting for a change",
            waiters.clone(),
        );
        let poll_loops = Gauge::default();
        registry.register(
            "poll_loops",
            "Upstream PollUserStatus loops running (one per watched agent)",
            poll_loops.clone(),
        );
        let poll_loops_started = Counter::default();
        registry.register(
            "poll_loops_started",
            "Upstream PollUserStatus loops started",
            poll_loops_started.clone(),
        );
        let connections = Gauge::default();
        registry.register(
            "connections",
            "Client connections open",
            connections.clone(),
        );
        let connection_limit_hits = Counter::default();
        registry.register(
            "connection_limit_hits",
            "Times the connection cap was reached and accepting paused",
            connection_limit_hits.clone(),
        );
        let longpoll_evictions = Counter::default();
        registry.register(
            "longpoll_evictions",
            "Long-polls answered early because an agent had too many waiting",
            longpoll_evictions.clone(),
        );
        let rate_limited = Family::<KindLabels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused by the per-agent rate limit, by kind (command, read, dial)",
            rate_limited.clone(),
        );
        let session_cache = Family::<KindLabels, Counter>::default();
        registry.register(
            "session_cache",
            "GET /api/v1/session answers by kind (hit, miss)",
            session_cache.clone(),
        );
        let ccc_events = Family::<KindLabels, Counter>::default();
        registry.register(
            "ccc_events",
            "CCC webhook events by what they caused (applied, ignored, refresh, forwarded; refused: invalid, too_far_ahead)",
            ccc_events.clone(),
        );
        let ccc_events_unknown = Counter::default();
        registry.register(
            "ccc_events_unknown",
            "CCC webhook events of a type this build does not know (each also asks for a refresh)",
            ccc_events_unknown.clone(),
        );
        let owned_agents = Gauge::default();
        registry.register(
            "owned_agents",
            "Agents whose upstream lease this replica holds (with --redis-url)",
            owned_agents.clone(),
        );
        let redis_up = Gauge::default();
        registry.register(
            "redis_up",
            "1 while Redis answers (fleet mode), 0 while this replica runs alone",
            redis_up.clone(),
        );
        let agents_held = Gauge::default();
        registry.register(
            "agents_held",
            "Agents this process keeps a hub for (watched here, or kept for a pending next state or presence notice); agents nobody watches are forgotten",
            agents_held.clone(),
        );
        let presence_actions = Family::<PolicyLabels, Counter>::default();
        for policy in ["break", "sign-out"] {
            // Both series exist from the start: a dashboard sees 0, not nothing.
            let _ = presence_actions.get_or_create(&PolicyLabels { policy });
        }
        registry.register(
            "presence_actions",
            "Agents moved because no toolbar of theirs was open for the grace, by policy (break, sign-out)",
            presence_actions.clone(),
        );
        let sip = sip::SipMetrics::register(&mut registry);
        let next_state = Family::<OutcomeLabels, Counter>::default();
        for outcome in NEXT_STATE_OUTCOMES {
            let _ = next_state.get_or_create(&OutcomeLabels { outcome });
        }
        registry.register(
            "next_state",
            "Next states by outcome (set, cancelled, applied, skipped: already there or signed out, failed)",
            next_state.clone(),
        );
        Metrics {
            sip,
            next_state,
            presence_actions,
            ccc_events,
            ccc_events_unknown,
            owned_agents,
            redis_up,
            agents_held,
            registry,
            http,
            upstream,
            latency,
            waiters,
            poll_loops,
            poll_loops_started,
            connections,
            connection_limit_hits,
            longpoll_evictions,
            rate_limited,
            session_cache,
        }
    }
}

impl Metrics {
    /// Counts one answered HTTP request. `route` is axum's route template
    /// (or `static`), never a raw path.
    pub fn http_request(&self, method: &axum::http::Method, route: &str, status: u16) {
        self.http
            .get_or_create(&HttpLabels {
                method: HttpMethod::of(method),
                route: route.to_owned(),
                status: status_class(status),
            })
            .inc();
    }

    /// Counts one upstream call attempt and its latency.
    pub fn upstream_call(&self, action: &'static str, outcome: &'static str, seconds: f64) {
        self.upstream
            .get_or_create(&UpstreamLabels { action, outcome })
            .inc();
        self.latency
            .get_or_create(&ActionLabels { action })
            .observe(seconds);
    }

    /// Upstream call attempts of `action`, all outcomes.
    pub fn upstream_calls(&self, action: &'static str) -> u64 {
        UPSTREAM_OUTCOMES
            .iter()
            .map(|outcome| {
                self.upstream
                    .get_or_create(&UpstreamLabels { action, outcome })
                    .get()
            })
            .sum()
    }

    /// A long-poll started (+1) or ended (-1).
    pub fn waiters_add(&self, delta: i64) {
        self.waiters.inc_by(delta);
    }

    /// Long-poll requests waiting right now.
    pub fn waiters(&self) -> i64 {
        self.waiters.get()
    }

    /// A poll loop started.
    pub fn poll_loop_started(&self) {
        self.poll_loops.inc();
        self.poll_loops_started.inc();
    }

    /// A poll loop stopped.
    pub fn poll_loop_stopped(&self) {
        self.poll_loops.dec();
    }

    /// Poll loops running right now.
    pub fn poll_loops(&self) -> i64 {
        self.poll_loops.get()
    }

    /// Poll loops started since the process began.
    pub fn poll_loops_started(&self) -> u64 {
        self.poll_loops_started.get()
    }

    /// A client connection opened (+1) or closed (-1).
    pub fn connections_add(&self, delta: i64) {
        self.connections.inc_by(delta);
    }

    /// Client connections open right now.
    pub fn connections(&self) -> i64 {
        self.connections.get()
    }

    /// The connection cap was reached.
    pub fn connection_limit_hit(&self) {
        self.connection_limit_hits.inc();
    }

    /// A long-poll was answered early to make room for a newer one.
    pub fn longpoll_evicted(&self) {
        self.longpoll_evictions.inc();
    }

    /// Long-polls answered early to make room since the process began.
    pub fn longpoll_evictions(&self) -> u64 {
        self.longpoll_evictions.get()
    }

    /// A request was refused by a per-agent rate limit of `kind`.
    pub fn rate_limited(&self, kind: &'static str) {
        self.rate_limited.get_or_create(&KindLabels { kind }).inc();
    }

    /// A session answer came from the cache (`hit`) or from CCC (`miss`).
    pub fn session_cache(&self, kind: &'static str) {
        self.session_cache.get_or_create(&KindLabels { kind }).inc();
    }

    /// Session answers of `kind` (`hit` or `miss`) since the process began.
    pub fn session_cache_count(&self, kind: &'static str) -> u64 {
        self.session_cache.get_or_create(&KindLabels { kind }).get()
    }

    /// A CCC event caused `kind` (`applied`, `ignored`, `refresh`, `forwarded`).
    pub fn ccc_event(&self, kind: &'static str) {
        self.ccc_events.get_or_create(&KindLabels { kind }).inc();
    }

    /// CCC events that caused `kind` since the process began.
    pub fn ccc_events(&self, kind: &'static str) -> u64 {
        self.ccc_events.get_or_create(&KindLabels { kind }).get()
    }

    /// A CCC event of an unknown type arrived.
    pub fn ccc_event_unknown(&self) {
        self.ccc_events_unknown.inc();
    }

    /// CCC events of an unknown type since the process began.
    pub fn ccc_events_unknown(&self) -> u64 {
        self.ccc_events_unknown.get()
    }

    /// Sets the number of agents this replica holds the lease of.
    pub fn set_owned_agents(&self, n: usize) {
        self.owned_agents.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Sets the number of agents the hub holds.
    pub fn set_agents_held(&self, n: usize) {
        self.agents_held.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// Agents the hub holds.
    pub fn agents_held(&self) -> i64 {
        self.agents_held.get()
    }

    /// Sets whether Redis answers.
    pub fn set_redis_up(&self, up: bool) {
        self.redis_up.set(i64::from(up));
    }

    /// A next state was `outcome` (one of [`NEXT_STATE_OUTCOMES`]).
    pub fn next_state(&self, outcome: &'static str) {
        self.next_state
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Next states with `outcome` since the process began.
    pub fn next_states(&self, outcome: &'static str) -> u64 {
        self.next_state
            .get_or_create(&OutcomeLabels { outcome })
            .get()
    }

    /// Presence moved an agent under `policy` (`break` or `sign-out`).
    pub fn presence_acted(&self, policy: ccc_model::api::PresencePolicy) {
        self.presence_actions
            .get_or_create(&PolicyLabels {
                policy: policy.as_str(),
            })
            .inc();
    }

    /// Agents presence moved under `policy` since the process began.
    pub fn presence_actions(&self, policy: ccc_model::api::PresencePolicy) -> u64 {
        self.presence_actions
            .get_or_create(&PolicyLabels {
                policy: policy.as_str(),
            })
            .get()
    }

    /// The SIP relay's metrics.
    pub fn sip(&self) -> &sip::SipMetrics {
        &self.sip
    }

    /// The Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::default();
        m.http_request(&Method::GET, "/api/v1/agent", 200);
        m.upstream_call("PollUserStatus", "ok", 0.02);
        m.waiters_add(2);
        m.poll_loop_started();
        let text = m.render();
        assert!(
            text.contains(
                "ccc_proxy_http_requests_total{method=\"GET\",route=\"/api/v1/agent\",status=\"2xx\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("ccc_proxy_upstream_request_duration_seconds_bucket{le=\"0.03125\",action=\"PollUserStatus\"} 1")
            || text.contains("ccc_proxy_upstream_request_duration_seconds_bucket{action=\"PollUserStatus\",le=\"0.03125\"} 1"), "{text}");
        assert!(text.contains("ccc_proxy_longpoll_waiters 2"), "{text}");
        assert!(text.contains("ccc_proxy_poll_loops 1"), "{text}");
        assert_eq!(m.upstream_calls("PollUserStatus"), 1);
    }

    #[test]
    fn labels_come_from_closed_sets() {
        let m = Metrics::default();
        for i in 0..500 {
            let method = Method::from_bytes(format!("X{i:0>40}").as_bytes()).unwrap();
            m.http_request(&method, "unmatched", 400 + (i % 600) as u16);
        }
        let text = m.render();
        assert!(
            !text.contains("X000"),
            "invented methods never become labels"
        );
        let series = text
            .lines()
            .filter(|l| l.starts_with("ccc_proxy_http_requests_total{"))
            .count();
        assert_eq!(series, 2, "OTHER × (4xx, 5xx): {text}");
        assert!(text.contains("method=\"OTHER\""));
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(101), "1xx");
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(304), "3xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(999), "5xx");
    }
}
