//! The router and its middleware stack.

use std::time::Duration;

use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, get, post, put},
    Json, Router,
};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use crate::{
    api, demo, errors, events, next_state_apply, poller::MAX_WAIT, security, state::AppState,
    static_files, webhook,
};

/// The whole application for `state`: widget API, static widget, demo
/// sign-in, `/healthz` and `/metrics`, with the middleware stack
/// RequestId → Trace → Timeout → security headers → metrics → error log →
/// handler.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/v1/session", get(api::session))
        .route("/api/v1/agent", get(api::get_agent))
        .route(
            "/api/v1/agent/next-state",
            put(next_state_apply::put).delete(next_state_apply::delete),
        )
        .route("/api/v1/agent/{command}", post(api::command))
        // Issue 18: `transfer/complete`, `transfer/cancel`, `conference/leave`.
        .route("/api/v1/agent/{command}/{sub}", post(api::sub_command))
        .route("/api/v1/directory", get(crate::transfer_api::directory))
        .route(crate::sip_relay::WS_PATH, get(crate::sip_relay::upgrade))
        .route("/api/v1/sip/ticket", post(crate::sip_relay::ticket))
        .route("/api/{*rest}", any(api::not_found))
        .layer(middleware::from_fn_with_state(
            state.security.clone(),
            security::guard,
        ))
        .layer(DefaultBodyLimit::max(api::MAX_BODY));
    // CCC's webhook: its own secret, no cookies, no CSRF rules (not a browser).
    let ccc_events = Router::new()
        .route("/ccc/events", post(webhook::receive))
        .route("/ccc/events/{token}", post(webhook::receive_with_token))
        .layer(DefaultBodyLimit::max(events::MAX_EVENTS_BODY));
    let files = Router::new()
        .fallback_service(static_files::serve_dir(&state.config.static_dir))
        .layer(middleware::from_fn(static_files::cache_headers))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            static_files::examples_only_in_demo,
        ));
    let mut router = Router::new()
        .merge(api)
        .merge(ccc_events)
        .route("/", get(static_files::index))
        .route("/index.html", get(static_files::index))
        .route("/ccc-toolbar.js", get(static_files::loader))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics));
    if state.demo_agents.is_some() {
        router = router
            .route("/signin", get(demo::signin_page).post(demo::signin))
            .route("/signout", get(demo::signout))
            .layer(middleware::from_fn_with_state(
                state.clone(),
                demo::renew_cookie,
            ));
    }
    // Long-polls last up to MAX_WAIT; then a fresh fetch may take a few
    // upstream timeouts (with read retries).
    let request_timeout = MAX_WAIT + state.config.upstream.timeout * 4 + Duration::from_secs(5);
    router
        .merge(files)
        .layer(middleware::from_fn(errors::log_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(middleware::from_fn_with_state(
            state.security.clone(),
            security::headers,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(middleware::map_request(drop_bad_request_id))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(make_span)
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::GATEWAY_TIMEOUT,
                    request_timeout,
                )),
        )
        .with_state(state)
}

/// A client's `X-Request-Id` is kept only when it is one value of 1 to 64
/// of `[A-Za-z0-9._:-]`; otherwise a new one is made, so a client cannot
/// forge log lines or bloat them.
async fn drop_bad_request_id(mut req: Request) -> Request {
    let mut ids = req.headers().get_all("x-request-id").iter();
    let ok = match (ids.next(), ids.next()) {
        (Some(id), None) => valid_request_id(id.as_bytes()),
        _ => false,
    };
    if !ok {
        req.headers_mut().remove("x-request-id");
    }
    req
}

fn valid_request_id(id: &[u8]) -> bool {
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The request span: method, path (never the query or headers, which may
/// carry tokens) and the request id.
fn make_span(req: &Request) -> tracing::Span {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let path = webhook::loggable_path(req.uri().path());
    tracing::info_span!("request", method = %req.method(), path = %path, request_id = %id)
}

/// Counts every answered request by method, route template and status
/// class: labels from closed sets, whatever the client sends.
async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = route_label(req.extensions().get::<MatchedPath>());
    let res = next.run(req).await;
    state
        .metrics
        .http_request(&method, &route, res.status().as_u16());
    res
}

/// The metrics label of a request's route: the router's own template
/// (`/api/v1/agent/{command}`), so the set is closed whatever the path;
/// `static` for the widget's files.
fn route_label(matched: Option<&MatchedPath>) -> String {
    matched.map_or_else(|| "static".to_owned(), |m| m.as_str().to_owned())
}

async fn healthz() -> Response {
    let mut res = Json(serde_json::json!({ "status": "ok" })).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_follow_a_strict_pattern() {
        for ok in [
            "a",
            "4f1c2b3a-0000-4000-8000-000000000000",
            "trace.1:span_2",
        ] {
            assert!(valid_request_id(ok.as_bytes()), "{ok}");
        }
        let long = "x".repeat(65);
        for bad in ["", "a b", "a\nINFO forged", long.as_str(), "ü"] {
            assert!(!valid_request_id(bad.as_bytes()), "{bad:?}");
        }
    }
}
