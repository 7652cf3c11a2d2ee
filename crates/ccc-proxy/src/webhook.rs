//! `POST /ccc/events` and `POST /ccc/events/{token}`: CCC's webhook
//! deliveries (ccc-api.md §8.2). Authenticated by `--events-token`, sent as
//! `Authorization: Bearer <token>` (the scheme in any case, RFC 9110) or as
//! the last path segment and compared in constant time; anything else is
//! 401 and changes nothing. The token is checked from the headers and path
//! **before** a byte of the body is read (a refused request's connection is
//! closed unread), and an accepted body must arrive within
//! [`BODY_READ_TIMEOUT`], so slow bodies cannot hold connections. The body is
//! one event or an array of them; events of another instance are ignored.

use std::time::Duration;

use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::{errors::AppError, events, state::AppState};

/// Longest an authenticated delivery's body may take to arrive.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// `path` as it may be logged: the token segment of `/ccc/events/<token>`
/// is a secret and never reaches a log line.
pub fn loggable_path(path: &str) -> &str {
    if path.starts_with("/ccc/events/") {
        "/ccc/events/{token}"
    } else {
        path
    }
}

/// The token of an `Authorization: Bearer <token>` header, the scheme
/// matched case-insensitively.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn authorized(state: &AppState, headers: &HeaderMap, path_token: Option<&str>) -> bool {
    let Some(expected) = state.config.events_token.as_ref() else {
        return false;
    };
    let presented = path_token.or_else(|| bearer(headers)).unwrap_or_default();
    events::token_matches(expected.expose(), presented.as_bytes())
}

/// `POST /ccc/events` (token in the `Authorization` header).
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    handle(&state, &headers, None, body).await
}

/// `POST /ccc/events/{token}` (for webhook senders that cannot set headers).
pub async fn receive_with_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(&state, &headers, Some(&token), body).await
}

/// An answer after which the connection is closed (its body is unread).
fn closing(err: AppError) -> Response {
    let mut res = err.into_response();
    res.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    res
}

/// Reads at most [`events::MAX_EVENTS_BODY`] within [`BODY_READ_TIMEOUT`].
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Vec<u8>, AppError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > events::MAX_EVENTS_BODY as u64) {
        return Err(AppError::payload_too_large(events::MAX_EVENTS_BODY));
    }
    let read = Limited::new(body, events::MAX_EVENTS_BODY).collect();
    match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Err(_) => Err(AppError::body_timeout()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(AppError::payload_too_large(events::MAX_EVENTS_BODY))
        }
        Ok(Err(_)) => Err(AppError::bad_request("The body could not be read.")),
        Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    token: Option<&str>,
    body: Body,
) -> Response {
    if !authorized(state, headers, token) {
        return closing(AppError::unauthenticated("Missing or wrong events token."));
    }
    let body = match read_body(headers, body).await {
        Ok(b) => b,
        Err(e) => return closing(e),
    };
    let delivery = match events::parse_delivery(&body, crate::upstream::now_ms()) {
        Ok(d) => d,
        Err(e) => return AppError::bad_request(e.to_string()).into_response(),
    };
    let instance = state.client.instance_id();
    let mut accepted = 0usize;
    for (_, ev) in &delivery.events {
        if ev.instance_id != instance {
            continue;
        }
        accepted += 1;
        if ev.event_type().is_none() {
            // A type CCC added after this build: counted, then a refresh.
            state.metrics.ccc_event_unknown();
            tracing::debug!(event_type = ev.event.name(), "CCC event of an unknown type");
        }
        // Issue 18: the directory's agent states follow the events.
        if let (Some(agent), Some(s)) = (
            events::user_id(ev),
            ev.event_type()
                .and_then(ccc_model::EventType::implied_state),
        ) {
            state.directory.apply(&agent, &s);
        }
        state.hub.apply_event(ev).await;
    }
    for r in &delivery.rejected {
        state.metrics.ccc_event(r.kind);
    }
    let received = delivery.events.len() + delivery.rejected.len();
    if delivery.rejected.is_empty() {
        tracing::debug!(received, accepted, "CCC events");
    } else {
        tracing::warn!(
            received,
            accepted,
            rejected = delivery.rejected.len(),
            first_reason = ?delivery.rejected[0].reason,
            "CCC events: some rejected"
        );
    }
    (
        StatusCode::OK,
        Json(serde_json::json!({
            "received": received,
            "accepted": accepted,
            "rejected": delivery.rejected,
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_token_is_never_logged() {
        assert_eq!(loggable_path("/ccc/events/s3cret"), "/ccc/events/{token}");
        assert_eq!(loggable_path("/ccc/events"), "/ccc/events");
        assert_eq!(loggable_path("/api/v1/agent"), "/api/v1/agent");
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            bearer(&h).map(str::to_owned)
        };
        for ok in ["Bearer t0k", "bearer t0k", "BEARER  t0k ", " bEaReR t0k"] {
            assert_eq!(with(ok).as_deref(), Some("t0k"), "{ok:?}");
        }
        for bad in ["Basic t0k", "Bearert0k", "t0k", "Bearer"] {
            assert_eq!(with(bad), None, "{bad:?}");
        }
    }
}
