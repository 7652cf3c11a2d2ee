//! The one error type of every handler: [`AppError`], rendered as the widget
//! API's `{"error": {...}}` body. CCC errors keep CCC's code, message and
//! params (`source: "ccc"`); the proxy's own use `Proxy.*` codes. No
//! internal details (addresses, transport messages) ever reach a body; they
//! go to the log: [`IntoResponse`] puts a [`Logged`] copy of the error in the
//! response's extensions and the [`log_errors`] middleware writes the log
//! line (as axum's error-handling example and crates.io do), so handlers and
//! the rendering stay free of logging.

use std::sync::Arc;

use axum::{
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use ccc_model::{
    api::{ApiError, ApiErrorBody},
    CccError, ErrorSource, ProxyCode,
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
        code: ProxyCode,
        /// Message for the widget.
        message: String,
    },
    /// CCC answered, or could not be reached.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// 429 `Proxy.RateLimited`, with `Retry-After`.
    #[error("rate limited ({kind}); retry after {retry_after_secs} s")]
    RateLimited {
        /// `command`, `read` or `dial`.
        kind: &'static str,
        /// Whole seconds until a retry can succeed (at least 1).
        retry_after_secs: u64,
    },
}

impl AppError {
    fn proxy(code: ProxyCode, message: impl Into<String>) -> Self {
        AppError::Proxy {
            status: StatusCode::from_u16(code.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message: message.into(),
        }
    }

    /// 401 `Proxy.Unauthenticated`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::proxy(ProxyCode::Unauthenticated, message)
    }

    /// 403 `Proxy.Forbidden` (CSRF and origin rules).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::proxy(ProxyCode::Forbidden, message)
    }

    /// 400 `Proxy.BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::proxy(ProxyCode::BadRequest, message)
    }

    /// A specific validation code (`Proxy.InvalidBreakCode`, ...) with
    /// its status (400).
    pub fn invalid(code: ProxyCode, message: impl Into<String>) -> Self {
        Self::proxy(code, message)
    }

    /// 409 `Proxy.NoCall`.
    pub fn no_call() -> Self {
        Self::proxy(ProxyCode::NoCall, "The agent is not in a call.")
    }

    /// 409 with a specific code: the request does not fit the agent's state.
    pub fn conflict(code: ProxyCode, message: impl Into<String>) -> Self {
        Self::proxy(code, message)
    }

    /// 429 `Proxy.RateLimited` for a `kind` (`command` or `read`) limit,
    /// `Proxy.DialLimited` for the `dial` limit, retryable after `wait`.
    pub fn rate_limited(kind: &'static str, wait: std::time::Duration) -> Self {
        AppError::RateLimited {
            kind,
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        }
    }

    /// 413 `Proxy.PayloadTooLarge`: a body over `max` bytes.
    pub fn payload_too_large(max: usize) -> Self {
        Self::proxy(
            ProxyCode::PayloadTooLarge,
            format!("The body is larger than {max} bytes."),
        )
    }

    /// 408 `Proxy.BodyTimeout`: the body did not arrive in time.
    pub fn body_timeout() -> Self {
        Self::proxy(
            ProxyCode::BodyTimeout,
            "The request body did not arrive in time.",
        )
    }

    /// 404 `Proxy.NotFound`.
    pub fn not_found() -> Self {
        Self::proxy(ProxyCode::NotFound, "No such API.")
    }

    /// 503 `Proxy.ShuttingDown`.
    pub fn shutting_down() -> Self {
        Self::proxy(
            ProxyCode::ShuttingDown,
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
            AppError::Proxy { code, message, .. } => proxy_error(*code, message),
            AppError::RateLimited { kind: "dial", .. } => proxy_error(
                ProxyCode::DialLimited,
                "Too many calls placed; wait before dialling again.",
            ),
            AppError::RateLimited { kind, .. } => proxy_error(
                ProxyCode::RateLimited,
                if *kind == "command" {
                    "Too many state changes; wait a moment and try again."
                } else {
                    "Too many requests; wait a moment and try again."
                },
            ),
            AppError::Upstream(UpstreamError::Ccc(e)) => ApiError::from(e),
            AppError::Upstream(UpstreamError::Timeout) => proxy_error(
                ProxyCode::UpstreamTimeout,
                "Contact Center did not answer in time.",
            ),
            AppError::Upstream(_) => proxy_error(
                ProxyCode::UpstreamUnavailable,
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

fn proxy_error(code: ProxyCode, message: &str) -> ApiError {
    ApiError {
        code: code.as_str().to_owned(),
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
        let code = error.code.clone();
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
        res.extensions_mut().insert(Logged {
            code,
            error: Arc::new(self),
        });
        res
    }
}

/// The error a response was rendered from, for [`log_errors`].
#[derive(Debug, Clone)]
pub struct Logged {
    /// The code in the body.
    pub code: String,
    /// The error, with the details that never reach a body.
    pub error: Arc<AppError>,
}

/// Logs every response rendered from an [`AppError`]: server errors as
/// warnings with their detail, refusals as info with their code only.
pub async fn log_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if let Some(Logged { code, error }) = res.extensions().get::<Logged>() {
        let status = res.status().as_u16();
        if res.status().is_server_error() {
            tracing::warn!(%code, status, detail = %error, "request failed");
        } else {
            tracing::info!(%code, status, "request refused");
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::{body::Body, http::Request, middleware, routing::get, Router};
    use tower::ServiceExt;

    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Lines {
        fn take(&self) -> String {
            String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
        }
    }

    async fn status_of(app: &Router, path: &str) -> (StatusCode, bool) {
        let res = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        (res.status(), res.extensions().get::<Logged>().is_some())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_middleware_logs_each_error_response_once() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = Router::new()
            .route("/refused", get(|| async { AppError::no_call() }))
            .route(
                "/failed",
                get(|| async { AppError::Upstream(UpstreamError::Connect("10.0.0.7:443".into())) }),
            )
            .route("/ok", get(|| async { "ok" }))
            .layer(middleware::from_fn(log_errors));

        assert_eq!(
            status_of(&app, "/refused").await,
            (StatusCode::CONFLICT, true)
        );
        let log = lines.take();
        assert_eq!(log.matches("request refused").count(), 1, "{log}");
        assert!(
            log.contains("Proxy.NoCall") && log.contains("INFO"),
            "{log}"
        );

        assert_eq!(
            status_of(&app, "/failed").await,
            (StatusCode::BAD_GATEWAY, true)
        );
        let log = lines.take();
        assert!(
            log.contains("WARN") && log.contains("request failed"),
            "{log}"
        );
        assert!(
            log.contains("10.0.0.7:443"),
            "the detail goes to the log: {log}"
        );

        assert_eq!(status_of(&app, "/ok").await, (StatusCode::OK, false));
        assert_eq!(lines.take(), "");
    }

    #[test]
    fn proxy_codes_answer_with_their_status() {
        assert_eq!(AppError::no_call().status(), StatusCode::CONFLICT);
        assert_eq!(
            AppError::shutting_down().api_error().code,
            "Proxy.ShuttingDown"
        );
        assert_eq!(
            AppError::invalid(ProxyCode::InvalidNumber, "x").status(),
            StatusCode::BAD_REQUEST
        );
    }
}
