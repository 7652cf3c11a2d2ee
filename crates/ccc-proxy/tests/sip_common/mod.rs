//! Helpers of the softphone relay tests: a browser-side WebSocket client
//! of `/api/v1/sip` and SIP messages.
#![allow(dead_code)]

use std::time::Duration;

use ccc_proxy::sip::message;
use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, protocol::frame::coding::CloseCode, Message},
    MaybeTlsStream, WebSocketStream,
};

/// The browser's side of the relay.
pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens the relay at `base` as `user` (header auth) on `device`, with the
/// page's own Origin and the `sip` subprotocol.
pub async fn open(base: &str, user: &str, device: &str) -> Client {
    let ws_url = format!(
        "{}/api/v1/sip?device={device}",
        base.replace("http://", "ws://")
    );
    let mut req = ws_url.into_client_request().unwrap();
    let h = req.headers_mut();
    h.insert("x-forwarded-user", user.parse().unwrap());
    h.insert("sec-websocket-protocol", "sip".parse().unwrap());
    h.insert("origin", base.parse().unwrap());
    let (ws, res) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .expect("the relay answers the handshake in time")
    .expect("the relay upgrades");
    assert_eq!(res.headers()["sec-websocket-protocol"], "sip");
    ws
}

/// The next text message the browser side gets (5 s at most).
pub async fn recv_text(ws: &mut Client) -> String {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s")
            .expect("the socket is open")
            .expect("no socket error");
        match msg {
            Message::Text(t) => return t.to_string(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected SIP text, got {other:?}"),
        }
    }
}

/// The close code the browser side gets (10 s at most).
pub async fn close_code(ws: &mut Client) -> Option<CloseCode> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("the relay closes in time");
        match msg {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

/// The status of a response.
pub fn status_of(text: &str) -> u16 {
    message::parse(text)
        .unwrap()
        .status()
        .unwrap_or_else(|| panic!("a response, got {text}"))
}

/// A REGISTER from `from_ext` binding `to_ext` at `domain`, with optional
/// extra header lines (`Authorization: ...\r\n`).
pub fn register(
    from_ext: &str,
    to_ext: &str,
    domain: &str,
    call_id: &str,
    cseq: u32,
    extra: &str,
) -> String {
    format!(
        "REGISTER sip:{domain} SIP/2.0\r\n\
         Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK{call_id}{cseq};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{from_ext}@{domain}>;tag=t{call_id}\r\n\
         To: <sip:{to_ext}@{domain}>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         {extra}\
         Contact: <sip:{from_ext}@df7jal23ls0d.invalid;transport=ws>\r\n\
         Expires: 600\r\n\
         Content-Length: 0\r\n\r\n"
    )
}
