//! The CCC agent toolbar: a Leptos widget that shows the agent's CCC state and
//! drives it through the same-origin proxy.
//!
//! - [`logic`]: business rules, plain Rust with plain tests.
//! - [`api`]: the proxy API behind a trait; [`testing`]: a fake of it.
//! - [`state`]: signals with the last server truth, and commands;
//!   [`sync`]: the long-poll loop that feeds it.
//! - [`components`]: one `#[component]` per file, written with `view!`;
//!   [`hooks`]: browser integrations as `use_*` hooks;
//!   [`softphone`]: the browser softphone (SIP over WebSocket + WebRTC),
//!   whose status types ([`softphone_status`]) are a leaf `i18n` words;
//!   [`events`]: host-page events and iframe messages; [`embed`]: the JS API
//!   (`mount`) and the standalone page's auto-start.
//!
//! The crate is built by Trunk as a `cdylib` (no binary): `embed::start`
//! mounts the standalone page, `embed::mount` is exported for CRM hosts.

pub mod api;
pub mod browser;
pub mod components;
pub mod embed;
pub mod events;
pub mod hooks;
pub mod i18n;
pub mod logic;
pub mod softphone;
pub mod softphone_status;
pub mod state;
pub mod sync;
pub mod testing;

pub use embed::{mount, ToolbarHandle};
