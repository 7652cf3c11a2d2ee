//! The simulator's SIP side (issue 20): CCC's SIP server as the H1
//! inference describes it ([`ccc_sip::h1`]), so the browser softphone can be
//! tested end to end against something real. The parts that know nothing
//! of the simulator's state live in [`crate::softphone`]; this module
//! drives them from the state machine.
//!
//! - [`ws`]: SIP over WebSocket (RFC 7118, subprotocol `sip`) on the
//!   simulator's HTTP port at `/` (`ws://<SipServerUrl>/`): REGISTER goes
//!   to the registrar, the rest to `calls`.
//! - `calls`: the simulator calls the agent's registered device: an
//!   inbound call as an INVITE with an SDP offer, MakeCall as an
//!   auto-answer INVITE; CANCEL, BYE both ways, re-INVITE.
//! - [`actions`]: `GetLoginDetails`' SIP fields, `GetTurnServerList`,
//!   `GetTurnCredentials`, `ListDevices`.
//! - [`admin`]: `/_sim/sip/registrations`, `/_sim/calls/{jobId}/media`.
//!
//! The state machine stays the only source of truth: after every change of
//! the world ([`crate::SimState::publish`]) a reconciler task compares
//! each registered agent's call with its SIP dialog and sends what is
//! missing (INVITE, CANCEL, BYE, a new mix for the media). An agent with
//! no registered device is never touched.

pub mod actions;
pub mod admin;
mod calls;
pub mod ws;
