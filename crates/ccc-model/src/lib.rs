//! Alibaba Cloud Contact Center (CCC, API 2020-07-01) model, shared by the
//! widget, the proxy and the simulator.
//!
//! - [`action`]: the CCC actions and the parameters each takes.
//! - [`event`]: the pushed agent, call, transfer and supervisor events.
//! - [`wire`]: CCC's own response bodies (PascalCase), decoded tolerantly
//!   (strings for numbers, `无` placeholders, lists as JSON text) and encoded
//!   canonically.
//! - [`enums`]: `UserState`, `WorkMode`, `ChannelState`, `CallType`,
//!   `ChannelFlag`, each with an `Unknown(String)` fallback.
//! - [`error`]: the documented error codes with HTTP status and message
//!   template, and the proxy's own `Proxy.*` codes.
//! - [`rules`]: which action each agent state allows, and why not
//!   ([`WhyNot`], put into words by the widget).
//! - [`dial`]: which numbers may be dialled.
//! - [`api`]: the widget's camelCase API served by the proxy.
//! - [`text`]: bounds on text from CCC (length, no controls or bidi overrides).
//!
//! The crate depends on `serde` only, so it stays small inside the widget.

pub mod action;
pub mod api;
pub mod de;
pub mod dial;
pub mod enums;
pub mod error;
pub mod event;
pub mod rules;
#[cfg(feature = "signing")]
pub mod signing;
pub mod text;
pub mod wire;

pub use action::{Action, Param};
pub use dial::{DialNumber, NumberError};
pub use enums::{break_codes, CallType, ChannelFlag, ChannelState, UserState, WorkMode};
pub use error::{CccError, ErrorCode, ErrorSource, ProxyCode};
pub use event::{CallLeg, Counterparty, Event, EventMessage, EventType, Transfer};
pub use rules::{AgentAction, Refusal, WhyNot};
pub use wire::{
    CallActionData, CallContext, ChannelContext, Envelope, LoginDetails, PollUserStatusData,
    UserContext,
};

/// The CCC API version this crate models.
pub const API_VERSION: &str = "2020-07-01";
