//! SIP over WebSocket (RFC 7118): the simulator's HTTP port answers a
//! WebSocket upgrade on `/` (the path H1 infers, `wss://<SipServerUrl>/`)
//! when the client offers the subprotocol `sip`; one SIP message per text
//! frame, 64 KiB at most.

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ccc_sip::h1::WS_SUBPROTOCOL;
use ccc_sip::{Message, Method};

use crate::softphone::registrar::Outcome;
use crate::softphone::Softphone;
use crate::{now_ms, SimState};

/// Largest SIP message accepted.
pub const MAX_FRAME: usize = 64 * 1024;

/// Whether a request asks for a WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

fn offers_sip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case(WS_SUBPROTOCOL))
}

/// Upgrades `req` to a SIP WebSocket (400 without the `sip` subprotocol).
pub async fn upgrade(state: SimState, req: Request) -> Response {
    if !offers_sip(req.headers()) {
        return (
            StatusCode::BAD_REQUEST,
            "SIP over WebSocket needs the subprotocol \"sip\" (RFC 7118)",
        )
            .into_response();
    }
    match WebSocketUpgrade::from_request(req, &state).await {
        Ok(ws) => ws
            .protocols([WS_SUBPROTOCOL])
            .max_message_size(MAX_FRAME)
            .max_frame_size(MAX_FRAME)
            .on_upgrade(move |socket| session(state, socket)),
        Err(e) => e.into_response(),
    }
}

enum Wake {
    In(Option<Result<WsMessage, axum::Error>>),
    Out(Option<String>),
}

async fn session(state: SimState, mut socket: WebSocket) {
    let phone = state.softphone();
    let (conn, mut outbox, start_reconciler) = phone.open();
    if start_reconciler {
        tokio::spawn(super::calls::reconciler(state.clone()));
    }
    tracing::info!(conn, "SIP WebSocket open");
    loop {
        let wake = tokio::select! {
            m = socket.recv() => Wake::In(m),
            o = outbox.recv() => Wake::Out(o),
        };
        match wake {
            Wake::In(Some(Ok(WsMessage::Text(text)))) => {
                on_frame(&state, conn, text.as_str()).await;
            }
            Wake::In(Some(Ok(WsMessage::Binary(bytes)))) => match std::str::from_utf8(&bytes) {
                Ok(text) => on_frame(&state, conn, text).await,
                Err(_) => tracing::info!(conn, "binary frame that is not UTF-8 ignored"),
            },
            Wake::In(Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None) => break,
            Wake::In(Some(Ok(_))) => {} // ping/pong: answered by the library
            Wake::Out(Some(frame)) => {
                if socket.send(WsMessage::Text(frame.into())).await.is_err() {
                    break;
                }
            }
            Wake::Out(None) => {
                let _ = socket.send(WsMessage::Close(None)).await;
                break;
            }
        }
    }
    tracing::info!(conn, "SIP WebSocket closed");
    for (user_id, job) in phone.close(conn) {
        // The agent's leg is gone: the agent's side releases the call.
        let _ = state.hang_up_as(&user_id, &job, crate::state_machine::HangupBy::Agent);
    }
    phone.changed();
}

/// One SIP message from the device.
async fn on_frame(state: &SimState, conn: u64, text: &str) {
    let msg = match Message::parse(text) {
        Ok(m) => m,
        Err(e) => {
            // Without readable headers there is nobody to answer.
            tracing::info!(conn, error = %e, "unreadable SIP frame ignored");
            return;
        }
    };
    if !msg.is_request() {
        super::calls::on_response(state, conn, &msg).await;
        return;
    }
    if msg.method() == Some(Method::Register) {
        register(state, conn, &msg);
        return;
    }
    super::calls::on_request(state, conn, &msg).await;
}

fn register(state: &SimState, conn: u64, msg: &Message) {
    let phone = state.softphone();
    // The realm is the domain the client registers in (the host of the AOR).
    let realm = msg
        .to()
        .ok()
        .and_then(|t| t.sip_uri())
        .map(|u| u.host)
        .unwrap_or_default();
    // Looked up before the registrar is locked (the world is never locked
    // inside it).
    let extension = msg.to().ok().and_then(|t| t.user());
    let user = extension.as_deref().and_then(|ext| {
        state
            .world()
            .agents
            .values()
            .find(|a| a.extension == ext)
            .map(|a| (a.user_id.clone(), a.instance_id.clone()))
    });
    let agent_of = |ext: &str| user.clone().filter(|_| extension.as_deref() == Some(ext));
    let (reply, outcome) = {
        let mut hub = phone.hub();
        let result = hub.registrar.register(
            msg,
            conn,
            now_ms(),
            &realm,
            phone.secret(),
            phone.config().limits(),
            agent_of,
        );
        Softphone::send(&hub, conn, &result.0);
        result
    };
    let code = reply.status().unwrap_or(0);
    match outcome {
        Outcome::Changed { extension } => {
            tracing::info!(conn, extension, code, "REGISTER");
            phone.changed();
        }
        Outcome::Refused if code != 401 => {
            tracing::info!(conn, code, "REGISTER refused");
        }
        Outcome::Refused => {}
    }
}
