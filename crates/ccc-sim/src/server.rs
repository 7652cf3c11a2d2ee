//! The HTTP side: the RPC handler on `/`, the router, and the socket server
//! that can drop connections on purpose.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use ccc_model::{Action, ErrorCode, API_VERSION};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use crate::auth::SignedRequest;
use crate::faults::{bare_status_body, Injected};
use crate::protocol::{error_response, ok_body, parse_pairs, request_id};
use crate::{actions, admin, SimConfig, SimError, SimState};

/// Marks a response whose connection must be closed without answering
/// (fault injection). [`spawn`]'s server honours it; a plain
/// `axum::serve(app(..))` sends it as an empty 502.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("connection dropped by fault injection")]
pub struct DropConnection;

/// The simulator's router: RPC on `/`, admin API under `/_sim/`, and CCC's
/// "action not found" answer for every other path.
pub fn app(state: SimState) -> Router {
    Router::new()
        .route("/", get(rpc_or_sip).post(rpc))
        .nest("/_sim", admin::router())
        .fallback(not_found)
        .with_state(state)
}

/// `GET /`: RPC, or (issue 20) a SIP WebSocket when the request upgrades.
async fn rpc_or_sip(State(state): State<SimState>, req: axum::extract::Request) -> Response {
    if crate::sip::ws::is_upgrade(req.headers()) {
        return crate::sip::ws::upgrade(state, req).await;
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, RPC_BODY_LIMIT).await {
        Ok(body) => rpc(State(state), parts.method, parts.uri, parts.headers, body).await,
        Err(e) => (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    }
}

/// The body limit of `GET /` (axum's default for `Bytes`).
const RPC_BODY_LIMIT: usize = 2 * 1024 * 1024;

async fn not_found() -> Response {
    error_response(
        &ErrorCode::ActionNotFound.with_params(Vec::<String>::new()),
        &request_id(),
    )
}

fn signed_request(method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> SignedRequest {
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let is_form = headers
        .iter()
        .any(|(k, v)| k == "content-type" && v.starts_with("application/x-www-form-urlencoded"));
    let form = if is_form {
        parse_pairs(&String::from_utf8_lossy(body), true)
    } else {
        Vec::new()
    };
    SignedRequest {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: parse_pairs(uri.query().unwrap_or(""), false),
        form,
        headers,
        body: body.to_vec(),
    }
}

async fn rpc(
    State(state): State<SimState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rid = request_id();
    let req = signed_request(&method, &uri, &headers, &body);
    let action = req
        .header("x-acs-action")
        .or_else(|| req.param("Action"))
        .unwrap_or("")
        .to_owned();

    let faults = state.faults();
    if faults.applies_to(&action) {
        if let Some(ms) = faults.latency_ms.filter(|ms| *ms > 0) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
    let injected = faults.decide(&action, rand::random::<f64>);
    let mut malformed = false;
    for fault in injected {
        tracing::debug!(action, ?fault, "injecting fault");
        match fault {
            Injected::Drop => {
                let mut resp = StatusCode::BAD_GATEWAY.into_response();
                resp.extensions_mut().insert(DropConnection);
                return resp;
            }
            Injected::Error(code) => {
                return error_response(&code.with_params(Vec::<String>::new()), &rid)
            }
            Injected::BareStatus(status) => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
                return (
                    status,
                    [(header::CONTENT_TYPE, "text/html")],
                    bare_status_body(status.as_u16()),
                )
                    .into_response();
            }
            Injected::Malformed => malformed = true,
        }
    }

    let result = handle(&state, &req, &action);
    match &result {
        Ok(_) => tracing::info!(action, request_id = rid, "OK"),
        Err(e) => tracing::info!(action, request_id = rid, code = %e.code, "refused"),
    }
    match result {
        Ok(data) => {
            let mut body = ok_body(&rid, &data);
            if malformed {
                body.truncate(body.len() / 2);
            }
            let mut resp = (StatusCode::OK, body).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json;charset=utf-8"),
            );
            resp
        }
        Err(e) => error_response(&e, &rid),
    }
}

fn handle(
    state: &SimState,
    req: &SignedRequest,
    action: &str,
) -> Result<serde_json::Value, ccc_model::CccError> {
    if action.is_empty() {
        return Err(ErrorCode::MissingParameter.with_params(["Action"]));
    }
    let version = req
        .header("x-acs-version")
        .or_else(|| req.param("Version"))
        .unwrap_or("");
    if version.is_empty() {
        return Err(ErrorCode::MissingParameter.with_params(["Version"]));
    }
    if version != API_VERSION {
        return Err(ErrorCode::InvalidVersion.with_params(Vec::<String>::new()));
    }
    let Some(action) = Action::parse(action) else {
        return Err(ErrorCode::ActionNotFound.with_params(Vec::<String>::new()));
    };
    let now_secs = crate::now_ms() / 1000;
    let caller = state.verifier().verify(req, now_secs)?;
    tracing::debug!(
        %action,
        access_key_id = caller.access_key_id,
        "authenticated"
    );
    if !state.admit(action) {
        return Err(ErrorCode::Throttling.with_params(Vec::<String>::new()));
    }
    actions::dispatch(state, action, req, &caller)
}

/// A simulator serving on a socket; stop it with [`RunningSim::shutdown`].
#[derive(Debug)]
pub struct RunningSim {
    /// The bound address.
    pub addr: SocketAddr,
    state: SimState,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningSim {
    /// `http://<addr>`, e.g. `http://127.0.0.1:8090`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shared state (agents, faults).
    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// Stops accepting, closes open connections and stops the demo calls.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        self.state.softphone().close_all();
        let _ = self.task.await;
    }
}

/// Binds `listen` (use port 0 for any) and serves the simulator in
/// background tasks of the current Tokio runtime.
pub async fn spawn(config: SimConfig, listen: SocketAddr) -> Result<RunningSim, SimError> {
    config.validate()?;
    let demo_every = config.timings.demo_calls_secs.filter(|s| *s > 0);
    let state = SimState::new(config);
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    if let Some(secs) = demo_every {
        tokio::spawn(demo_calls(state.clone(), secs, stopped.clone()));
    }
    let task = tokio::spawn(serve(listener, app(state.clone()), stopped));
    tracing::info!(%addr, "CCC simulator listening");
    Ok(RunningSim {
        addr,
        state,
        stop,
        task,
    })
}

async fn demo_calls(state: SimState, secs: u64, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(secs));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tick.tick() => {
                if let Some(job) = state.demo_call() {
                    tracing::info!(job, "demo call");
                }
            }
        }
    }
}

async fn serve(listener: TcpListener, router: Router, mut stopped: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let router = router.clone();
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    async move {
                        let resp = router
                            .oneshot(req.map(Body::new))
                            .await
                            .unwrap_or_else(|e: Infallible| match e {});
                        if resp.extensions().get::<DropConnection>().is_some() {
                            Err(DropConnection)
                        } else {
                            Ok(resp)
                        }
                    }
                });
                conns.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades() // SIP WebSockets (issue 20)
                        .await;
                });
                while conns.try_join_next().is_some() {}
            }
        }
    }
    conns.shutdown().await;
}
