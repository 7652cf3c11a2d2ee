//! What the handlers take from a request — the authenticated agent, its
//! device id, a JSON body, a number it may call — and the fresh snapshot they fetch for it; shared
//! by [`crate::api`], [`crate::transfer_api`], [`crate::next_state_apply`]
//! and [`crate::sip_relay`].

use std::net::SocketAddr;

use axum::{
    body::Bytes,
    extract::{ConnectInfo, FromRequest, FromRequestParts, Request},
    http::{request::Parts, HeaderMap},
};
use serde::de::DeserializeOwned;

use ccc_model::{dial::DialNumber, ProxyCode};

use crate::{
    budget::Priority, config::DialRefusal, errors::AppError, poller::DEFAULT_DEVICE_ID,
    state::AppState, upstream::now_ms, view::View,
};

/// Largest accepted JSON body.
pub const MAX_BODY: usize = 4096;
/// Header carrying the browser's device id.
pub const DEVICE_HEADER: &str = "x-ccc-device-id";

/// A JSON object body in the house error format: empty means `{}`,
/// oversized or malformed bodies are 400s.
#[derive(Debug)]
pub struct JsonBody(pub serde_json::Map<String, serde_json::Value>);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            AppError::bad_request(format!(
                "The body is larger than {MAX_BODY} bytes or could not be read."
            ))
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(serde_json::Map::new()));
        }
        match serde_json::from_slice(&bytes) {
            Ok(serde_json::Value::Object(map)) => Ok(JsonBody(map)),
            Ok(_) => Err(AppError::bad_request("The body must be a JSON object.")),
            Err(_) => Err(AppError::bad_request("The body is not valid JSON.")),
        }
    }
}

impl JsonBody {
    pub(crate) fn parse<T: DeserializeOwned>(self) -> Result<T, AppError> {
        serde_json::from_value(serde_json::Value::Object(self.0))
            .map_err(|e| AppError::bad_request(format!("Invalid body: {e}.")))
    }

    /// For commands documented as taking `{}`: any field is refused, as
    /// the other commands refuse unknown fields.
    pub(crate) fn expect_empty(self) -> Result<(), AppError> {
        match self.0.keys().next() {
            None => Ok(()),
            Some(field) => Err(AppError::bad_request(format!(
                "Invalid body: unknown field `{}`, this command takes {{}}.",
                field.chars().take(64).collect::<String>()
            ))),
        }
    }
}

/// The validated `X-CCC-Device-Id` (1..=128 of `[A-Za-z0-9._:-]`); sent
/// twice it is refused, as two identity headers are.
pub fn device_id(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    let mut all = headers.get_all(DEVICE_HEADER).iter();
    let Some(v) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(AppError::bad_request(
            "X-CCC-Device-Id was sent more than once; send it once.",
        ));
    }
    let ok = (1..=128).contains(&v.len())
        && v.as_bytes()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    match v.to_str() {
        Ok(s) if ok => Ok(Some(s.to_owned())),
        _ => Err(AppError::bad_request(
            "X-CCC-Device-Id must be 1 to 128 of A-Z a-z 0-9 . _ : -",
        )),
    }
}

/// Fetches a fresh snapshot (ahead of background polls in the budget) and
/// publishes it to the agent's long-pollers.
pub async fn fetch(
    state: &AppState,
    user_id: &str,
    device: Option<&str>,
) -> Result<View, AppError> {
    let started = now_ms();
    let data = state
        .client
        .poll_user_status(
            user_id,
            device.unwrap_or(DEFAULT_DEVICE_ID),
            Priority::Command,
        )
        .await?;
    Ok(state.hub.apply_poll(user_id, &data, started).await)
}

/// The authenticated agent of a request (extractor; 401 when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentAgent {
    /// CCC `UserId`, `name@instance`.
    pub user_id: String,
}

impl FromRequestParts<AppState> for CurrentAgent {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        // Also honours `MockConnectInfo` in tests.
        let peer = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .ok()
            .map(|c| c.0);
        let user_id = state
            .auth
            .user_id(&parts.headers, peer, state.client.instance_id())?;
        if let Some(agents) = &state.demo_agents {
            if !agents.iter().any(|a| a.user_id == user_id) {
                return Err(AppError::unauthenticated(
                    "Pick an agent on the sign-in page.",
                ));
            }
        }
        Ok(CurrentAgent { user_id })
    }
}

/// A number the agent may call (a dial, or a transfer to a number): the
/// number rule, `--dial-pattern` and the deny list, and the caller id one
/// of `--caller-ids` (`None`: CCC's default). A refusal is a 400.
pub fn dialable(
    state: &AppState,
    raw: &str,
    caller_id: Option<&str>,
) -> Result<(DialNumber, Option<String>), AppError> {
    let number = DialNumber::parse(raw)
        .map_err(|e| AppError::invalid(ProxyCode::InvalidNumber, e.to_string()))?;
    let caller_id =
        state
            .config
            .dial
            .check(&number, caller_id)
            .map_err(|refusal| match refusal {
                DialRefusal::NumberNotAllowed => AppError::invalid(
                    ProxyCode::NumberNotAllowed,
                    format!("{number} may not be dialled from this toolbar."),
                ),
                DialRefusal::InvalidCallerId => AppError::invalid(
                    ProxyCode::InvalidCallerId,
                    "The caller id is not one of the numbers offered to you.",
                ),
            })?;
    Ok((number, caller_id))
}
