//! The toolbar's business rules as plain Rust types with plain `#[test]`s:
//! nothing here touches the browser, so it all runs in `cargo test`.

pub mod backoff;
pub mod breaks;
pub mod call;
pub mod clock;
pub mod command;
pub mod connection;
pub mod controls;
pub mod device;
pub mod dial;
pub mod explain;
pub mod host;
pub mod recent_calls;
pub mod ringing;
pub mod shortcuts;
pub mod status;
pub mod takeover;
pub mod transfer;

pub use backoff::Backoff;
pub use command::{Command, CommandKind, Pending};
pub use connection::{ConnectionState, SyncHealth};
pub use explain::{explain, explain_command, explain_failure, Failure};
