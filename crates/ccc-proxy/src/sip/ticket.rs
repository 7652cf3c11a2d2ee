//! Single-use tickets for the relay's WebSocket. A browser cannot put
//! `Authorization` on a WebSocket, so a JWT-authenticated widget (`--auth
//! jwt`) could not open `GET /api/v1/sip`. Instead it asks
//! `POST /api/v1/sip/ticket` (authenticated like every route) for a ticket
//! and opens `GET /api/v1/sip?ticket=<ticket>`; the relay redeems it.
//!
//! - A ticket is 32 random bytes (base64url, 43 characters), bound to the
//!   agent and device that asked, valid for [`TICKET_TTL`] and for one
//!   redemption.
//! - Stored under the SHA-256 of the ticket (never the ticket itself): in
//!   Redis with a fleet (`sip-ticket:<hash>`, `SET NX PX`, redeemed with
//!   `GETDEL`, so any replica redeems it, once), else — or when Redis does
//!   not answer — in this process.
//! - Never logged; `Debug` of [`Holder`] shows no ticket.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::fleet::Fleet;

/// How long a ticket can be redeemed.
pub const TICKET_TTL: Duration = Duration::from_secs(30);
/// Tickets this process holds at most (older ones are dropped first): a
/// bound on memory, far above what the per-agent read rate limit lets in.
const LOCAL_MAX: usize = 50_000;
/// Length of a ticket: 32 bytes in base64url without padding.
const TICKET_LEN: usize = 43;

/// Whom a ticket authenticates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// CCC `UserId`.
    #[serde(rename = "u")]
    pub user_id: String,
    /// The device that asked (its relay socket is this device's).
    #[serde(rename = "d")]
    pub device: String,
}

/// This process's tickets (used without Redis, or while it is down).
#[derive(Debug, Default)]
pub struct Tickets {
    local: Mutex<HashMap<String, (Holder, Instant)>>,
}

/// A fresh ticket: 32 bytes of the OS's CSPRNG, base64url.
fn fresh() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// What a ticket is stored under: hex SHA-256, so a Redis dump or a memory
/// listing holds nothing redeemable.
fn key(ticket: &str) -> String {
    let hash = Sha256::digest(ticket.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sip-ticket:{hex}")
}

/// Whether `ticket` could be one of ours (cheap refusal of garbage).
pub fn well_formed(ticket: &str) -> bool {
    ticket.len() == TICKET_LEN
        && ticket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Tickets {
    /// A new ticket for `holder`, valid for [`TICKET_TTL`] from `now`.
    pub async fn issue(&self, fleet: Option<&Fleet>, holder: Holder, now: Instant) -> String {
        let ticket = fresh();
        let key = key(&ticket);
        if let Some(fleet) = fleet {
            let value = serde_json::to_string(&holder).unwrap_or_default();
            if fleet.put_new(&key, &value, TICKET_TTL).await {
                return ticket;
            }
        }
        let mut local = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        local.retain(|_, (_, expires)| *expires > now);
        if local.len() >= LOCAL_MAX {
            if let Some(oldest) = local
                .iter()
                .min_by_key(|(_, (_, expires))| *expires)
                .map(|(k, _)| k.clone())
            {
                local.remove(&oldest);
            }
        }
        local.insert(key, (holder, now + TICKET_TTL));
        ticket
    }

    /// How many tickets this process holds itself (not Redis's).
    pub fn held(&self) -> usize {
        self.local
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Redeems `ticket` once: whom it was issued to, if it is known, unused
    /// and unexpired at `now`.
    pub async fn redeem(
        &self,
        fleet: Option<&Fleet>,
        ticket: &str,
        now: Instant,
    ) -> Option<Holder> {
        if !well_formed(ticket) {
            return None;
        }
        let key = key(ticket);
        let local = self
            .local
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key);
        if let Some((holder, expires)) = local {
            return (expires > now).then_some(holder);
        }
        let value = fleet?.take(&key).await?;
        serde_json::from_str(&value).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> Holder {
        Holder {
            user_id: "agent1@ccc-demo".into(),
            device: "dev-1".into(),
        }
    }

    #[tokio::test]
    async fn a_ticket_is_redeemed_once_by_its_holder() {
        let t = Tickets::default();
        let now = Instant::now();
        let ticket = t.issue(None, holder(), now).await;
        assert!(well_formed(&ticket), "{ticket}");
        assert_eq!(t.redeem(None, &ticket, now).await, Some(holder()));
        assert_eq!(t.redeem(None, &ticket, now).await, None, "single use");
    }

    #[tokio::test]
    async fn tickets_expire_and_are_unguessable() {
        let t = Tickets::default();
        let now = Instant::now();
        let a = t.issue(None, holder(), now).await;
        let b = t.issue(None, holder(), now).await;
        assert_ne!(a, b);
        assert_eq!(t.redeem(None, &a, now + TICKET_TTL).await, None, "expired");
        // Expired tickets are dropped when the next one is issued.
        t.issue(None, holder(), now + TICKET_TTL * 2).await;
        assert_eq!(t.local.lock().unwrap().len(), 1);
        assert_eq!(t.redeem(None, "short", now).await, None);
        assert_eq!(t.redeem(None, &"A".repeat(43), now).await, None);
        // Nothing in the store is the ticket itself.
        assert!(t.local.lock().unwrap().keys().all(|k| !k.contains(&b)));
        assert!(!format!("{t:?}").contains(&b));
    }
}
