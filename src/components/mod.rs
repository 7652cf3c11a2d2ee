//! The toolbar's parts, one per file, built with [`crate::dom`]. Each takes
//! the [`crate::state::Toolbar`] (except [`state_badge`], which takes
//! closures, so it can be tested alone).

pub mod action_button;
pub mod break_picker;
pub mod call_controls;
pub mod call_info;
pub mod connection_status;
pub mod error_message;
pub mod lang_switch;
pub mod live_region;
pub mod mute_button;
pub mod ready_button;
pub mod reset_button;
pub mod sign_in_out;
pub mod state_badge;
pub mod state_timer;
pub mod takeover_banner;
pub mod toolbar_view;
pub mod work_mode_picker;

pub use action_button::{action_button, ActionButton};
pub use break_picker::break_picker;
pub use call_controls::call_controls;
pub use call_info::call_info;
pub use connection_status::connection_status;
pub use error_message::error_message;
pub use lang_switch::lang_switch;
pub use live_region::live_region;
pub use mute_button::mute_button;
pub use ready_button::ready_button;
pub use reset_button::reset_button;
pub use sign_in_out::sign_in_out;
pub use state_badge::state_badge;
pub use state_timer::state_timer;
pub use takeover_banner::takeover_banner;
pub use toolbar_view::{toolbar_view, Theme};
pub use work_mode_picker::work_mode_picker;
