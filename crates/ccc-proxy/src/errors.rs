//! The one error type of every handler: [`AppError`], rendered as the widget
//! API's `{"error": {...}}` body. CCC errors keep CCC's code, message and
//! params (`source: "ccc"`); the proxy's own use `Proxy.*` codes. No
//! internal details (addresses, transport messages) ever reach a body; they
//! go to the log.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use ccc_model::{
    api::{ApiError, ApiErrorBody},
    CccError, ErrorSource,
};

/// A failed upstream call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// CCC answered with an error envelope.
    #[error("CCC error {0}")]
    Ccc(CccError),
    /// No answer within the timeout.
    #[error("CCC did not answer in time")]
    Timeout,
    /// The connection could not be opened (the request never left).
    #[error("cannot connect to CCC: {0}")]
    Connect(String),
    /// The connection broke while sending or receiving.
    #[error("transport error talking to CCC: {0}")]
    Transport(String),
    /// The answer was not a CCC envelope (HTTP status kept for the log).
    #[error("malformed answer from CCC (HTTP {status}): {detail}")]
    Malformed {
        /// HTTP status of the answer.
        status: u16,
        /// What was wrong.
        detail: String,
    },
}

impl UpstreamError {
    /// The metrics outcome label of this failure.
    pub fn outcome(&self) -> &'static str {
        match self {
            UpstreamError::Ccc(_) => "ccc_error",
            UpstreamError::Timeout => "timeout",
            UpstreamError::Connect(_) | UpstreamError::Transport(_) => "transport",
            UpstreamError::Malformed { .. } => "malformed",
        }
    }
}

/// Every failure a handler can answer with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// The proxy refuses or fails the request itself.
    #[error("{code} ({status}): {message}")]
    Proxy {
        /// HTTP status.
        status: StatusCode,
        /// `Proxy.*` code.
        code: &'static str,
        /// Message for the widget.
        message: String,
    },
    /// CCC answered, or could not be reached.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// 429 `Proxy.RateLimited`, with `Retry-After`.
    #[error("rate limited ({kind}); retry after {retry_after_secs} s")]
    RateLimited {
        /// `command` or `read`.
        kind: &'static str,
        /// Whole seconds until a retry can succeed (at least 1).
        retry_after_secs: u64,
    },
}

impl AppError {
    fn proxy(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError::Proxy {
            status,
            code,
            message: message.into(),
        }
    }

    /// 401 `Proxy.Unauthenticated`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::proxy(StatusCode::UNAUTHORIZED, "Proxy.Unauthenticated", message)
    }

    /// 403 `Proxy.Forbidden` (CSRF and origin rules).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::proxy(StatusCode::FORBIDDEN, "Proxy.Forbidden", message)
    }

    /// 400 `Proxy.BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::proxy(StatusCode::BAD_REQUEST, "Proxy.BadRequest", message)
    }

    /// 400 with a specific validation code (`Proxy.InvalidBreakCode`, ...).
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::proxy(StatusCode::BAD_REQUEST, code, message)
    }

    /// 409 `Proxy.NoCall`.
    pub fn no_call() -> Self {
        Self::proxy(
            StatusCode::CONFLICT,
            "Proxy.NoCall",
            "The agent is not in a call.",
        )
    }

    /// 409 with a specific code: the request does not fit the agent's state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::proxy(StatusCode::CONFLICT, code, message)
    }

    /// 429 `Proxy.RateLimited` for a `kind` (`command` or `read`) limit,
    /// retryable after `wait`.
    pub fn rate_limited(kind: &'static str, wait: std::time::Duration) -> Self {
        AppError::RateLimited {
            kind,
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        }
    }

    /// 404 `Proxy.NotFound`.
    pub fn not_found() -> Self {
        Self::proxy(StatusCode::NOT_FOUND, "Proxy.NotFound", "No such API.")
    }

    /// 503 `Proxy.ShuttingDown`.
    pub fn shutting_down() -> Self {
        Self::proxy(
            StatusCode::SERVICE_UNAVAILABLE,
            "Proxy.ShuttingDown",
            "The proxy is restarting; try again in a moment.",
        )
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Proxy { status, .. } => *status,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Upstream(UpstreamError::Ccc(e)) => ccc_status(e),
            AppError::Upstream(UpstreamError::Timeout) => StatusCode::GATEWAY_TIMEOUT,
            AppError::Upstream(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// The body this error answers with.
    pub fn api_error(&self) -> ApiError {
        match self {
            AppError::Proxy { code, message, .. } => proxy_error(code, message),
            AppError::RateLimited { kind, .. } => proxy_error(
                "Proxy.RateLimited",
                if *kind == "command" {
                    "Too many state changes; wait a moment and try again."
                } else {
                    "Too many requests; wait a moment and try again."
                },
            ),
            AppError::Upstream(UpstreamError::Ccc(e)) => ApiError::from(e),
            AppError::Upstream(UpstreamError::Timeout) => proxy_error(
                "Proxy.UpstreamTimeout",
                "Contact Center did not answer in time.",
            ),
            AppError::Upstream(_) => proxy_error(
                "Proxy.UpstreamUnavailable",
                "Contact Center is unreachable or answered with an invalid response.",
            ),
        }
    }
}

/// CCC's own status for 4xx; a CCC 5xx becomes 502 (the gateway's view of
/// a failing upstream) while keeping CCC's code and message.
fn ccc_status(e: &CccError) -> StatusCode {
    match StatusCode::from_u16(e.http_status) {
        Ok(s) if s.is_client_error() => s,
        _ => StatusCode::BAD_GATEWAY,
    }
}

fn proxy_error(code: &str, message: &str) -> ApiError {
    ApiError {
        code: code.to_owned(),
        message: message.to_owned(),
        params: Vec::new(),
        request_id: None,
        source: ErrorSource::Proxy,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let error = self.api_error();
        let retry_after = match &self {
            AppError::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        if status.is_server_error() {
            tracing::warn!(code = %error.code, status = status.as_u16(), detail = %self, "request failed");
        } else {
            tracing::info!(code = %error.code, status = status.as_u16(), "request refused");
        }
        let mut res = (status, Json(ApiErrorBody { error })).into_response();
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}
