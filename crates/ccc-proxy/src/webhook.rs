//! `POST /ccc/events` and `POST /ccc/events/{token}`: CCC's webhook
//! deliveries (ccc-api.md §8.2). Authenticated by `--events-token`, sent as
//! `Authorization: Bearer <token>` or as the last path segment and compared
//! in constant time; anything else is 401 and changes nothing. The body is
//! one event or an array of them; events of another instance are ignored.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use crate::{errors::AppError, events, state::AppState};

/// `path` as it may be logged: the token segment of `/ccc/events/<token>`
/// is a secret and never reaches a log line.
pub fn loggable_path(path: &str) -> &str {
    if path.starts_with("/ccc/events/") {
        "/ccc/events/{token}"
    } else {
        path
    }
}

fn authorized(state: &AppState, headers: &HeaderMap, path_token: Option<&str>) -> bool {
    let Some(expected) = state.config.events_token.as_ref() else {
        return false;
    };
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let presented = path_token.or(bearer).unwrap_or_default();
    events::token_matches(expected.expose(), presented.as_bytes())
}

/// `POST /ccc/events` (token in the `Authorization` header).
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    handle(&state, &headers, None, &body).await
}

/// `POST /ccc/events/{token}` (for webhook senders that cannot set headers).
pub async fn receive_with_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&state, &headers, Some(&token), &body).await
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    token: Option<&str>,
    body: &[u8],
) -> Response {
    if !authorized(state, headers, token) {
        return AppError::unauthenticated("Missing or wrong events token.").into_response();
    }
    let delivered = match events::parse_delivery(body) {
        Ok(e) => e,
        Err(e) => return AppError::bad_request(e.to_string()).into_response(),
    };
    let instance = state.client.instance_id();
    let mut accepted = 0usize;
    for ev in &delivered {
        if ev.instance_id != instance {
            continue;
        }
        accepted += 1;
        state.hub.apply_event(ev).await;
    }
    tracing::debug!(received = delivered.len(), accepted, "CCC events");
    (
        StatusCode::OK,
        Json(serde_json::json!({ "received": delivered.len(), "accepted": accepted })),
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
}
