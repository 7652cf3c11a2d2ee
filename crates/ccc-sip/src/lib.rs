//! Sans-IO SIP for the CCC browser softphone: SIP over WebSocket (RFC 7118,
//! one message per text frame), shared by the widget (wasm32), the proxy's
//! relay and the simulator's registrar. No I/O, no clock, no randomness of
//! its own: callers pass frames, the time and random seeds in, and get
//! frames and decisions out.
//!
//! - [`message`]: parse/print requests and responses ([`Message`]).
//! - [`header`]: typed Via, From/To/Contact (with tags), CSeq, SIP URIs.
//! - [`digest`]: digest auth, MD5 and SHA-256, `qop=auth`, `stale`; client
//!   response and server verify.
//! - [`h1`]: **the inference** of how CCC's SIP server authenticates an
//!   agent (UserKey2/Signature2), in one place.
//! - [`aor`]: the relay's check that a frame speaks for the agent only.
//! - [`sdp`]: the little SDP reading a user agent needs (hold direction).
//! - [`ua`]: the user-agent state machine (REGISTER, INVITE, BYE, …).

pub mod aor;
pub mod digest;
pub mod error;
pub mod h1;
pub mod header;
pub mod message;
pub mod sdp;
pub mod ua;

pub use aor::{check_own, AorRefusal};
pub use digest::{Algorithm, Challenge, Credentials};
pub use error::SipError;
pub use header::{CSeq, NameAddr, SipUri, Via};
pub use message::{Message, Method, StartLine};
pub use ua::{UaConfig, UaEvent, UserAgent};
