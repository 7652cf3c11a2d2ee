//! The toolbar's parts, one `#[component]` per file. [`ToolbarView`] provides
//! the [`crate::state::Toolbar`] as context; the parts take it from there
//! (except [`StateBadge`] and [`StateTimer`], which take signals, so they can
//! be used and tested alone).

pub mod action_button;
pub mod break_picker;
pub mod call_controls;
pub mod call_info;
pub mod connection_status;
pub mod dial_pad;
pub mod error_message;
pub mod hold_button;
pub mod lang_switch;
pub mod live_region;
pub mod mute_button;
pub mod optional_span;
pub mod presence_notice;
pub mod ready_button;
pub mod recent_calls;
pub mod reset_button;
pub mod sign_in_out;
pub mod softphone;
pub mod state_badge;
pub mod state_timer;
pub mod takeover_banner;
pub mod toggle_button;
pub mod toolbar_view;
pub mod work_mode_picker;

pub use action_button::{yes_no, ActionButton};
pub use break_picker::BreakPicker;
pub use call_controls::CallControls;
pub use call_info::CallInfo;
pub use connection_status::ConnectionStatus;
pub use dial_pad::DialPad;
pub use error_message::ErrorMessage;
pub use hold_button::HoldButton;
pub use lang_switch::LangSwitch;
pub use live_region::LiveRegion;
pub use mute_button::MuteButton;
pub use optional_span::OptionalSpan;
pub use presence_notice::PresenceNotice;
pub use ready_button::ReadyButton;
pub use recent_calls::RecentCalls;
pub use reset_button::ResetButton;
pub use sign_in_out::SignInOut;
pub use softphone::SoftphonePanel;
pub use state_badge::StateBadge;
pub use state_timer::StateTimer;
pub use takeover_banner::TakeoverBanner;
pub use toggle_button::ToggleButton;
pub use toolbar_view::{Theme, ToolbarView};
pub use work_mode_picker::WorkModePicker;
