//! Browser integrations as `use_*` hooks in leptos-use style: each one starts
//! something for the current reactive owner (a listener, a timer, the sync
//! loop) and releases it in `on_cleanup`, so unmounting the toolbar stops all
//! of it.
//!
//! - [`use_event_listener`], [`use_interval_fn`]: the two browser primitives
//!   the others are made of (shaped like leptos-use's, kept here because the
//!   toolbar needs only these two and every byte of the bundle counts).
//! - [`use_sync`]: the sync loop (in the leader tab), the one-second clock
//!   and resync on wake-up; [`use_leader`]: one leader tab per browser.
//! - [`use_shortcuts`]: the keyboard shortcuts.
//! - [`use_ringing`]: ring tone, blinking title and notification while a
//!   call rings in a background tab.
//! - [`use_dtmf`]: keypad keys to the customer, queued while a request is
//!   on its way (issue 18).
//! - [`use_tel_links`]: `tel:` links of the host page dial (mount option `telLinks`).
//! - [`crate::events::use_host_events`] / [`crate::events::use_parent_commands`]:
//!   the host page's events and iframe commands.

mod use_dtmf;
mod use_event_listener;
mod use_interval_fn;
mod use_leader;
mod use_ringing;
mod use_shortcuts;
mod use_sync;
mod use_tel_links;

pub use use_dtmf::{use_dtmf, UseDtmfReturn};
pub use use_event_listener::use_event_listener;
pub use use_interval_fn::use_interval_fn;
pub use use_leader::{channel_name, use_leader};
pub use use_ringing::{use_ringing, Ringer};
pub(crate) use use_shortcuts::typing_target;
pub use use_shortcuts::use_shortcuts;
pub use use_sync::use_sync;
pub use use_tel_links::use_tel_links;
