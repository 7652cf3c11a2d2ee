//! `GET /api/v1/sip`: the browser softphone's WebSocket (subprotocol `sip`,
//! RFC 7118), relayed message by message to the agent's SIP server.
//!
//! The upgrade passes the rules of every `/api/` route (the API guard checks
//! `Host`; the agent comes from [`CurrentAgent`], or from a single-use
//! ticket of `POST /api/v1/sip/ticket` ([`ticket`], [`crate::sip::ticket`])
//! for a browser that authenticates with a bearer token it cannot put on a
//! WebSocket; a foreign `Origin` is refused here, since browsers send one
//! with every WebSocket and the guard only checks it on state changes).
//! Then the relay:
//! - serves only an ON_SITE agent with an extension (from CCC);
//! - connects to `--sip-upstream` or [`session::ccc_sip_ws_url`];
//! - keeps one socket per device ([`crate::sip::sockets`]);
//! - refuses browser requests outside the agent's own AOR with a local
//!   `403` ([`crate::sip::policy`]), rate-limits them (`503`), caps message
//!   sizes and closes idle sockets.
//!
//! Close codes the browser sees: 1008 not SIP, 1009 too large, 1001 the
//! proxy is stopping, [`CLOSE_REPLACED`] another socket of the device took
//! over, [`CLOSE_IDLE`] idle too long, [`CLOSE_UPSTREAM`] the SIP server
//! closed or failed.

use std::time::Duration;

use axum::{
    extract::{
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade},
        Query, State,
    },
    http::{header, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
};
use ccc_model::{api::SipTicket, ProxyCode};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::{net::TcpStream, time::Instant};
use tokio_tungstenite::{
    tungstenite::{self, client::IntoClientRequest, protocol::WebSocketConfig},
    MaybeTlsStream, WebSocketStream,
};

mod session;

pub use session::{ccc_sip_ws_url, softphone, WS_PATH};

use crate::{
    errors::AppError,
    extract::CurrentAgent,
    extract::{device_id, DEVICE_HEADER},
    metrics::sip::Direction,
    poller::DEFAULT_DEVICE_ID,
    sip::{
        message::{self, Head},
        policy::{AorPolicy, Verdict},
        sockets::{Slot, CLOSE_REPLACED},
        ticket::{Holder, TICKET_TTL},
    },
    state::AppState,
};

/// Close code of a relay idle for `--sip-idle-secs`.
pub const CLOSE_IDLE: u16 = 4002;
/// Close code when the SIP server closed its side or failed.
pub const CLOSE_UPSTREAM: u16 = 4003;
/// Longest wait for the SIP server's WebSocket handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Upstream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// `?device=<id>&ticket=<ticket>`: browsers cannot set headers on a
/// WebSocket, so the device id (`X-CCC-Device-Id` elsewhere) and the
/// ticket (instead of `Authorization`) may come in the query. `Debug`
/// never shows the ticket.
#[derive(Deserialize)]
pub struct RelayQuery {
    device: Option<String>,
    ticket: Option<String>,
}

impl std::fmt::Debug for RelayQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayQuery")
            .field("device", &self.device)
            .field("ticket", &self.ticket.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn refusal(code: ProxyCode, message: &str) -> AppError {
    AppError::invalid(code, message)
}

/// Whether `Sec-WebSocket-Protocol` offers `sip`.
fn offers_sip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("sip"))
}

/// The device of the socket: `?device=`, else `X-CCC-Device-Id`, else the
/// default device (same validation as every route).
fn relay_device(headers: &HeaderMap, query: Option<String>) -> Result<String, AppError> {
    let from_query = match query {
        Some(d) => {
            let mut h = HeaderMap::new();
            let v = HeaderValue::from_str(&d).map_err(|_| {
                AppError::bad_request("device must be 1 to 128 of A-Z a-z 0-9 . _ : -")
            })?;
            h.insert(DEVICE_HEADER, v);
            device_id(&h)?
        }
        None => None,
    };
    Ok(match from_query {
        Some(d) => d,
        None => device_id(headers)?.unwrap_or_else(|| DEFAULT_DEVICE_ID.to_owned()),
    })
}

/// `POST /api/v1/sip/ticket`: a ticket for this agent and device's next
/// relay socket (`?ticket=`), single use, [`TICKET_TTL`]; `no-store`.
pub async fn ticket(
    State(state): State<AppState>,
    agent: CurrentAgent,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !state.config.sip.enabled {
        return Err(AppError::not_found());
    }
    let device = relay_device(&headers, None)?;
    state.read_limiter.check(&agent.user_id).map_err(|wait| {
        state.metrics.rate_limited("read");
        AppError::rate_limited("read", wait)
    })?;
    let holder = Holder {
        user_id: agent.user_id,
        device,
    };
    let ticket = state
        .sip
        .tickets
        .issue(state.fleet.as_ref(), holder, Instant::now())
        .await;
    let body = SipTicket {
        ticket,
        expires_in_ms: u64::try_from(TICKET_TTL.as_millis()).unwrap_or(u64::MAX),
    };
    let mut res = axum::Json(body).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Who opens the socket, on which device: the ticket's holder (the ticket
/// is spent here, whatever happens next; a `?device=` must be the
/// ticket's), else the request's own identity.
async fn relay_holder(
    state: &AppState,
    agent: Result<CurrentAgent, AppError>,
    headers: &HeaderMap,
    query: RelayQuery,
) -> Result<Holder, AppError> {
    let Some(ticket) = query.ticket else {
        let agent = agent?;
        return Ok(Holder {
            user_id: agent.user_id,
            device: relay_device(headers, query.device)?,
        });
    };
    let holder = state
        .sip
        .tickets
        .redeem(state.fleet.as_ref(), &ticket, Instant::now())
        .await
        .ok_or_else(|| {
            AppError::unauthenticated(
                "The softphone ticket is unknown, used or expired; ask POST /api/v1/sip/ticket for a new one.",
            )
        })?;
    if query.device.is_some() && relay_device(headers, query.device)? != holder.device {
        return Err(AppError::bad_request(
            "The device is not the one the ticket was issued to.",
        ));
    }
    Ok(holder)
}

/// `GET /api/v1/sip`.
pub async fn upgrade(
    State(state): State<AppState>,
    agent: Result<CurrentAgent, AppError>,
    headers: HeaderMap,
    query: Result<Query<RelayQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    if !state.config.sip.enabled {
        return Err(AppError::not_found());
    }
    state.security.check_origin(&headers)?;
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Err(AppError::forbidden("Cross-site requests are not allowed."));
    }
    if !offers_sip(&headers) {
        return Err(AppError::bad_request(
            "The WebSocket must offer the subprotocol sip (RFC 7118).",
        ));
    }
    let Query(q) = query.map_err(|_| AppError::bad_request("Invalid query string."))?;
    let Holder { user_id, device } = relay_holder(&state, agent, &headers, q).await?;
    let agent = CurrentAgent { user_id };
    state.read_limiter.check(&agent.user_id).map_err(|wait| {
        state.metrics.rate_limited("read");
        AppError::rate_limited("read", wait)
    })?;
    let details = session::login_details(&state, &agent.user_id).await?;
    if !session::serves(&state, &details) {
        return Err(refusal(
            ProxyCode::SoftphoneOff,
            "The browser softphone is for ON_SITE agents: switch the work mode to ON_SITE.",
        ));
    }
    let ws = ws.map_err(|_| {
        AppError::bad_request("GET /api/v1/sip is a WebSocket: send Upgrade: websocket.")
    })?;
    let max = state.config.sip.sockets_per_agent;
    if state.sip.sockets.count(&agent.user_id) >= max
        && !state.sip.sockets.holds(&agent.user_id, &device)
    {
        return Err(refusal(
            ProxyCode::TooManySoftphones,
            "Too many softphone connections for this agent; close another browser's toolbar.",
        ));
    }
    let url = session::upstream_url(&state, &details)?;
    let sip = &state.config.sip;
    let upstream = connect(&url, sip.max_message_bytes).await.map_err(|e| {
        tracing::warn!(user_id = %agent.user_id, error = %e, "SIP server unreachable");
        refusal(
            ProxyCode::SipServerUnreachable,
            "The SIP server could not be reached; try again in a moment.",
        )
    })?;
    let slot = state
        .sip
        .sockets
        .claim(&agent.user_id, &device, max)
        .map_err(|_| {
            refusal(
                ProxyCode::TooManySoftphones,
                "Too many softphone connections for this agent; close another browser's toolbar.",
            )
        })?;
    let extension = details.extension.trim().to_owned();
    tracing::info!(user_id = %agent.user_id, %device, "softphone relay opening");
    let relay = Relay {
        state: state.clone(),
        key: format!("{}|{device}", agent.user_id),
        user_id: agent.user_id,
        policy: AorPolicy::new(&extension),
        slot,
    };
    Ok(ws
        .protocols(["sip"])
        .max_message_size(sip.max_message_bytes)
        .max_frame_size(sip.max_message_bytes)
        .on_upgrade(move |socket| relay.run(socket, upstream)))
}

/// Opens the WebSocket to the SIP server (subprotocol `sip`, which it must
/// accept).
async fn connect(url: &url::Url, max: usize) -> Result<Upstream, String> {
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("bad SIP server URL: {e}"))?;
    req.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static("sip"),
    );
    let config = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let (stream, res) = tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(req, Some(config), true),
    )
    .await
    .map_err(|_| "the WebSocket handshake timed out".to_owned())?
    .map_err(|e| e.to_string())?;
    let agreed = res
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"sip"));
    if !agreed {
        return Err("the SIP server did not accept the subprotocol sip".into());
    }
    Ok(stream)
}

struct Relay {
    state: AppState,
    user_id: String,
    /// Rate-limit key: user and device.
    key: String,
    policy: AorPolicy,
    slot: Slot,
}

/// Counts the relay in the sockets gauge while it lives.
struct Open<'a>(&'a crate::metrics::sip::SipMetrics);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.sockets_add(-1);
    }
}

/// What ends a relay.
enum End {
    /// The browser closed or failed.
    Browser,
    /// Close the browser's socket with this code and reason.
    Close(u16, &'static str),
}

impl Relay {
    async fn run(mut self, browser: WebSocket, upstream: Upstream) {
        let state = self.state.clone();
        let metrics = &state.metrics.sip();
        metrics.sockets_add(1);
        let _open = Open(metrics);
        let (mut to_browser, mut from_browser) = browser.split();
        let (mut to_server, mut from_server) = upstream.split();
        let idle = state.config.sip.idle;
        let mut last = Instant::now();
        let mut replaced = self.slot.replaced.clone();
        let mut shutdown = state.shutdown_signal();
        let end = loop {
            tokio::select! {
                changed = replaced.changed() => {
                    let now_replaced = changed.is_err() || *replaced.borrow_and_update();
                    if now_replaced {
                        metrics.refused("replaced");
                        break End::Close(CLOSE_REPLACED, "replaced by a newer connection of this device");
                    }
                }
                () = async { let _ = shutdown.wait_for(|s| *s).await; } => {
                    break End::Close(1001, "the proxy is stopping");
                }
                () = tokio::time::sleep_until(last + idle) => break End::Close(CLOSE_IDLE, "idle"),
                msg = from_browser.next() => {
                    let text = match msg {
                        Some(Ok(Message::Text(t))) => t.to_string(),
                        Some(Ok(Message::Binary(b))) => match String::from_utf8(b.to_vec()) {
                            Ok(t) => t,
                            Err(_) => {
                                metrics.refused("malformed");
                                break End::Close(1008, "SIP messages are UTF-8 text");
                            }
                        },
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Close(_))) | None => break End::Browser,
                        Some(Err(e)) => {
                            if too_large(e) {
                                metrics.refused("too_large");
                                break End::Close(1009, "SIP message too large");
                            }
                            break End::Browser;
                        }
                    };
                    last = Instant::now();
                    match self.judge_browser(&text) {
                        Step::Forward => {
                            metrics.relayed(Direction::ToServer, text.len());
                            if to_server.send(tungstenite::Message::text(text)).await.is_err() {
                                break End::Close(CLOSE_UPSTREAM, "the SIP server closed the connection");
                            }
                        }
                        Step::Answer(reply) => {
                            if to_browser.send(Message::Text(Utf8Bytes::from(reply))).await.is_err() {
                                break End::Browser;
                            }
                        }
                        Step::Skip => {}
                        Step::Close(code, why) => break End::Close(code, why),
                    }
                }
                msg = from_server.next() => {
                    let text = match msg {
                        Some(Ok(tungstenite::Message::Text(t))) => t.to_string(),
                        Some(Ok(tungstenite::Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                        Some(Ok(tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) | tungstenite::Message::Frame(_))) => continue,
                        Some(Ok(tungstenite::Message::Close(_))) | None | Some(Err(_)) => {
                            break End::Close(CLOSE_UPSTREAM, "the SIP server closed the connection");
                        }
                    };
                    last = Instant::now();
                    self.note_server(&text);
                    metrics.relayed(Direction::ToBrowser, text.len());
                    if to_browser.send(Message::Text(Utf8Bytes::from(text))).await.is_err() {
                        break End::Browser;
                    }
                }
            }
        };
        match end {
            End::Browser => {}
            End::Close(code, reason) => {
                let frame = CloseFrame {
                    code,
                    reason: Utf8Bytes::from_static(reason),
                };
                let _ = to_browser.send(Message::Close(Some(frame))).await;
            }
        }
        let _ = to_server.send(tungstenite::Message::Close(None)).await;
        let _ = to_server.close().await;
        tracing::info!(user_id = %self.user_id, "softphone relay closed");
    }

    /// Judges one message from the browser.
    fn judge_browser(&mut self, text: &str) -> Step {
        if text.trim().is_empty() {
            // A CRLF keep-alive (RFC 5626 style): nothing to relay.
            return Step::Skip;
        }
        let metrics = self.state.metrics.sip();
        let head = match message::parse(text) {
            Ok(h) => h,
            Err(e) => {
                metrics.refused("malformed");
                tracing::info!(user_id = %self.user_id, error = %e, "softphone sent something that is not SIP");
                return Step::Close(1008, "not a SIP message");
            }
        };
        let Some(method) = head.method().map(str::to_owned) else {
            return match self.policy.check(&head) {
                Verdict::Forward => Step::Forward,
                Verdict::Refuse(why) | Verdict::Drop(why) => {
                    metrics.refused("aor");
                    tracing::warn!(user_id = %self.user_id, status = head.status(), reason = why, "SIP response dropped by the relay");
                    Step::Skip
                }
            };
        };
        if self.state.sip.limiter.check(&self.key).is_err() {
            metrics.refused("rate");
            return reply(&head, 503, "Service Unavailable", &[("Retry-After", "1")]);
        }
        match self.policy.check(&head) {
            Verdict::Forward => {
                if method == "INVITE" && !head.to_tag {
                    metrics.call();
                }
                Step::Forward
            }
            Verdict::Refuse(why) => {
                metrics.refused("aor");
                tracing::warn!(user_id = %self.user_id, %method, reason = why, "SIP request refused by the relay");
                reply(&head, 403, &format!("Forbidden ({why})"), &[])
            }
            Verdict::Drop(why) => {
                metrics.refused("aor");
                tracing::warn!(user_id = %self.user_id, %method, reason = why, "SIP request dropped by the relay");
                Step::Skip
            }
        }
    }

    /// Notes one message from the SIP server (dialogs, metrics).
    fn note_server(&mut self, text: &str) {
        let Ok(head) = message::parse(text) else {
            return;
        };
        let metrics = self.state.metrics.sip();
        match head.method() {
            Some(method) => {
                if method == "INVITE" && !head.to_tag {
                    metrics.call();
                }
                self.policy.seen_from_server(&head);
            }
            None => {
                if head.cseq_method == "REGISTER"
                    && head.status().is_some_and(|s| (200..300).contains(&s))
                {
                    metrics.registered();
                }
            }
        }
    }
}

/// What to do with one browser message.
enum Step {
    Forward,
    Answer(String),
    Skip,
    Close(u16, &'static str),
}

/// A local answer to `head` (an ACK gets none).
fn reply(head: &Head, status: u16, reason: &str, extra: &[(&str, &str)]) -> Step {
    if head.method() == Some("ACK") {
        return Step::Skip;
    }
    Step::Answer(message::local_response(head, status, reason, extra))
}

/// Whether a WebSocket read failed because a message was over the limit.
fn too_large(e: axum::Error) -> bool {
    e.into_inner()
        .downcast_ref::<tungstenite::Error>()
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}
