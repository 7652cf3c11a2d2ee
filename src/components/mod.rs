//! The toolbar's parts, one `#[component]` per file. [`ToolbarView`] lays
//! them out (compact bar or full tab) and provides the
//! [`crate::state::Toolbar`] as context; each part reads only the fields of
//! the server truth (`Toolbar::truth`, a store) it shows. [`StateBadge`] and
//! [`StateTimer`] take signals, so they can be used and tested alone.
//!
//! - [`StatusMenu`]: the agent's state and the states they can go to.
//! - [`CallCard`]: the call, one phase at a time, with [`NextStatePicker`];
//!   while talking [`CallMoreButtons`] / [`CallMorePanels`] (transfer,
//!   keypad, the consult card).
//! - [`DialPad`], [`RecentCalls`]: dialling between calls.
//! - [`Settings`]: work mode, language, devices, reset.

pub mod action_button;
pub mod call_card;
pub mod call_info;
pub mod call_more;
pub mod connection_status;
pub mod consult_card;
pub mod dial_pad;
pub mod error_message;
pub mod hold_button;
pub mod keypad;
pub mod lang_switch;
pub mod live_region;
pub mod mute_button;
pub mod next_state_picker;
pub mod optional_span;
pub mod presence_notice;
pub mod recent_calls;
pub mod reset_button;
pub mod settings;
pub mod softphone;
pub mod state_badge;
pub mod state_timer;
pub mod status_menu;
pub mod takeover_banner;
pub mod toggle_button;
pub mod toolbar_view;
pub mod transfer_panel;
pub mod work_mode_picker;

pub use action_button::{yes_no, ActionButton};
pub use call_card::CallCard;
pub use call_info::CallInfo;
pub use call_more::{CallMoreButtons, CallMorePanels, More};
pub use connection_status::ConnectionStatus;
pub use consult_card::ConsultCard;
pub use dial_pad::DialPad;
pub use error_message::ErrorMessage;
pub use hold_button::HoldButton;
pub use keypad::Keypad;
pub use lang_switch::LangSwitch;
pub use live_region::LiveRegion;
pub use mute_button::MuteButton;
pub use next_state_picker::NextStatePicker;
pub use optional_span::OptionalSpan;
pub use presence_notice::PresenceNotice;
pub use recent_calls::RecentCalls;
pub use reset_button::ResetButton;
pub use settings::Settings;
pub use softphone::{DevicePickers, SoftphonePanel};
pub use state_badge::StateBadge;
pub use state_timer::StateTimer;
pub use status_menu::StatusMenu;
pub use takeover_banner::TakeoverBanner;
pub use toggle_button::ToggleButton;
pub use toolbar_view::{Theme, ToolbarView};
pub use transfer_panel::TransferPanel;
pub use work_mode_picker::WorkModePicker;
