//! Request extractors that need the whole [`AppState`].

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
};

use crate::{errors::AppError, state::AppState};

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
