//! The registrar: REGISTER with digest authentication on the H1 credentials
//! ([`super::creds`]), and the table of bindings (`ListDevices`,
//! `GET /_sim/sip/registrations`). Plain code: the time comes in as a
//! parameter and the answer goes out as a [`Message`].
//!
//! - A REGISTER without `Authorization` gets `401` with two challenges,
//!   `SHA-256` first then `MD5` (RFC 8760 order), both `qop="auth"`.
//! - The digest username is `UserKey2` (`<extension>:<expiry epoch ms>`);
//!   the password the simulator expects is `Signature2` computed from it.
//!   A wrong response, another extension than the `To` user, or an expired
//!   `UserKey2` is `403 Forbidden` (the reason phrase says which).
//! - Nonces are `<issued ms>.<MAC>`: a nonce the simulator did not issue is
//!   challenged again; a right response on a nonce older than the nonce
//!   lifetime is challenged again with `stale=true`.
//! - `Expires` (header, or the Contact's `expires` parameter) below the
//!   minimum is `423 Interval Too Brief` with `Min-Expires`; above the
//!   maximum it is lowered; `0` removes the binding, `Contact: *` with
//!   `Expires: 0` removes them all.
//! - Bindings expire by themselves and leave with their WebSocket.

use ccc_sip::{Algorithm, Challenge, Credentials, Message, NameAddr};

use super::creds::Secret;
use super::new_tag;

/// Registration settings (see [`super::SoftphoneConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A nonce is fresh this long (ms).
    pub nonce_lifetime_ms: i64,
    /// Shortest registration accepted (s).
    pub min_expires_secs: u32,
    /// Longest registration granted (s).
    pub max_expires_secs: u32,
    /// Granted when the REGISTER says nothing (s).
    pub default_expires_secs: u32,
}

/// One registered contact of an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The extension (AOR user part).
    pub extension: String,
    /// The agent with that extension.
    pub user_id: String,
    /// The AOR, as the `To` of the REGISTER.
    pub aor: String,
    /// The Contact URI (where INVITEs go).
    pub contact: String,
    /// The REGISTER's Call-ID (`ListDevices` `CallId`).
    pub call_id: String,
    /// The REGISTER's CSeq number.
    pub cseq: u32,
    /// Expiry, epoch ms.
    pub expires_at: i64,
    /// The WebSocket connection it arrived on.
    pub conn: u64,
    /// The device id: the Contact's `+sip.instance`, else `webrtc-<Call-ID>`.
    pub device_id: String,
    /// When it was (re)registered, epoch ms.
    pub registered_at: i64,
}

/// What a REGISTER did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Challenged or refused; the table is unchanged.
    Refused,
    /// Bindings of `extension` were added, refreshed or removed.
    Changed {
        /// The extension.
        extension: String,
    },
}

/// The table of bindings.
#[derive(Debug, Default)]
pub struct Registrar {
    bindings: Vec<Binding>,
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches('"')
}

impl Registrar {
    /// Bindings alive at `now`, all extensions.
    pub fn bindings(&mut self, now: i64) -> &[Binding] {
        self.bindings.retain(|b| b.expires_at > now);
        &self.bindings
    }

    /// The most recent binding of `extension` alive at `now`.
    pub fn latest(&mut self, extension: &str, now: i64) -> Option<Binding> {
        self.bindings(now)
            .iter()
            .filter(|b| b.extension == extension)
            .max_by_key(|b| b.registered_at)
            .cloned()
    }

    /// Removes every binding of connection `conn` (its socket closed);
    /// returns the extensions that lost one.
    pub fn drop_conn(&mut self, conn: u64) -> Vec<String> {
        let mut gone = Vec::new();
        self.bindings.retain(|b| {
            if b.conn == conn {
                gone.push(b.extension.clone());
                false
            } else {
                true
            }
        });
        gone
    }

    /// Handles a REGISTER arriving on `conn` at `now`. `realm` is the
    /// simulator's SIP domain; `agent_of` gives the agent with an
    /// extension.
    #[allow(clippy::too_many_arguments)]
    pub fn register(
        &mut self,
        req: &Message,
        conn: u64,
        now: i64,
        realm: &str,
        secret: &Secret,
        limits: Limits,
        agent_of: impl Fn(&str) -> Option<String>,
    ) -> (Message, Outcome) {
        let refuse = |code: u16, reason: &str| {
            let mut r = req.reply(code, Some(&new_tag()));
            if let ccc_sip::StartLine::Response { reason: r0, .. } = &mut r.start {
                *r0 = reason.to_owned();
            }
            (r, Outcome::Refused)
        };
        let challenge = |stale: bool| {
            let nonce = secret.nonce(now);
            let mut r = req.reply(401, Some(&new_tag()));
            for alg in [Algorithm::Sha256, Algorithm::Md5] {
                r.push(
                    "WWW-Authenticate",
                    Challenge::new(realm, &nonce, alg, stale).to_string(),
                );
            }
            (r, Outcome::Refused)
        };

        let (Ok(to), Ok(_from), Ok(call_id), Ok(cseq)) =
            (req.to(), req.from(), req.call_id(), req.cseq())
        else {
            return refuse(400, "Bad Request");
        };
        let Some(extension) = to.user() else {
            return refuse(404, "Not Found");
        };
        let Some(user_id) = agent_of(&extension) else {
            return refuse(404, "Not Found");
        };
        let Some(auth) = req.header("Authorization") else {
            return challenge(false);
        };
        let Ok(creds) = Credentials::parse(auth) else {
            return refuse(400, "Bad Authorization");
        };
        if unquote(&creds.realm) != realm {
            return challenge(false);
        }
        let Some(issued) = secret.nonce_issued(&creds.nonce) else {
            // Not a nonce of ours.
            return challenge(false);
        };
        let Some((user, valid_until)) = ccc_sip::h1::parse_ephemeral_username(&creds.username)
        else {
            return refuse(403, "Forbidden (username is not <extension>:<expiry ms>)");
        };
        if user != extension {
            return refuse(403, "Forbidden (credentials of another extension)");
        }
        if req.request_uri().is_some_and(|u| u != creds.uri) {
            return refuse(400, "Bad Request (digest uri is not the Request-URI)");
        }
        let password = secret.sip_password(&creds.username);
        if !creds.verify("REGISTER", &password) {
            return refuse(403, "Forbidden (wrong credentials)");
        }
        if i64::try_from(valid_until).unwrap_or(i64::MAX) <= now {
            return refuse(403, "Forbidden (credentials expired)");
        }
        if now - issued > limits.nonce_lifetime_ms {
            return challenge(true);
        }

        // Authenticated: apply the contacts.
        let header_expires = req
            .header("Expires")
            .and_then(|e| e.trim().parse::<u32>().ok());
        let contacts: Vec<&str> = req.header_values("Contact").collect();
        if contacts.iter().any(|c| c.trim() == "*") {
            if header_expires != Some(0) || contacts.len() > 1 {
                return refuse(400, "Bad Request (Contact: * needs Expires: 0)");
            }
            self.bindings.retain(|b| b.extension != extension);
            return self.ok(req, &extension, now);
        }
        for c in &contacts {
            let Some(na) = NameAddr::parse(c) else {
                return refuse(400, "Bad Request (Contact)");
            };
            let expires = na
                .param("expires")
                .and_then(|e| e.parse::<u32>().ok())
                .or(header_expires)
                .unwrap_or(limits.default_expires_secs);
            let existing = self
                .bindings
                .iter()
                .position(|b| b.extension == extension && b.contact == na.uri);
            if let Some(i) = existing {
                let b = &self.bindings[i];
                if b.call_id == call_id && cseq.seq <= b.cseq {
                    // RFC 3261 §10.3 step 7: an out-of-order REGISTER.
                    return refuse(500, "Server Internal Error (CSeq out of order)");
                }
            }
            if expires == 0 {
                if let Some(i) = existing {
                    self.bindings.remove(i);
                }
                continue;
            }
            if expires < limits.min_expires_secs {
                let mut r = req.reply(423, Some(&new_tag()));
                r.push("Min-Expires", limits.min_expires_secs.to_string());
                return (r, Outcome::Refused);
            }
            let expires = expires.min(limits.max_expires_secs);
            let binding = Binding {
                extension: extension.clone(),
                user_id: user_id.clone(),
                aor: to.uri.clone(),
                contact: na.uri.clone(),
                call_id: call_id.to_owned(),
                cseq: cseq.seq,
                expires_at: now + i64::from(expires) * 1_000,
                conn,
                device_id: na
                    .param("+sip.instance")
                    .map(|i| unquote(i).trim_matches(['<', '>']).to_owned())
                    .filter(|i| !i.is_empty())
                    .unwrap_or_else(|| format!("webrtc-{call_id}")),
                registered_at: now,
            };
            match existing {
                Some(i) => self.bindings[i] = binding,
                None => self.bindings.push(binding),
            }
        }
        self.ok(req, &extension, now)
    }

    /// 200 OK listing the extension's bindings (a REGISTER without Contact
    /// is a query).
    fn ok(&mut self, req: &Message, extension: &str, now: i64) -> (Message, Outcome) {
        let mut r = req.reply(200, Some(&new_tag()));
        for b in self
            .bindings(now)
            .iter()
            .filter(|b| b.extension == extension)
        {
            let left = ((b.expires_at - now) / 1_000).max(0);
            r.push(
                "Contact",
                NameAddr::new(b.contact.clone())
                    .with_param("expires", Some(&left.to_string()))
                    .to_string(),
            );
        }
        (
            r,
            Outcome::Changed {
                extension: extension.to_owned(),
            },
        )
    }
}
