//! The browser softphone (WorkMode `ON_SITE`): the agent's voice runs
//! through this tab. The SIP is [`ccc_sip`] (sans-IO, shared with the proxy
//! and simulator); here are its status ([`PhoneStatus`], plain rules with
//! plain tests), the WebRTC media ([`media`]) and the hook that runs both in
//! the leader tab ([`use_softphone`]). The UI pieces are in
//! [`crate::components::softphone`]. See docs/softphone.md.

mod hook;
pub mod media;

pub use crate::softphone_status::{
    answers_here, relay_url, should_run, MicProblem, NotRegistered, PhoneCall, PhoneStatus,
    Registration,
};
pub use hook::{use_softphone, UseSoftphoneReturn};
