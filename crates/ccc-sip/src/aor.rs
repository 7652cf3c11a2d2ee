//! The relay's guard: a message the browser sends must speak for the
//! agent's own extension only. The proxy calls [`check_own`] on every frame
//! from the browser before relaying it upstream, so a signed-in agent cannot
//! register or call as anybody else.

use crate::{header::NameAddr, message::Method, Message};

/// Why a browser frame is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AorRefusal {
    /// The frame is not a readable SIP message.
    Unreadable,
    /// The `From` (requests) or `To` (responses, REGISTER) is missing or not a
    /// SIP URI with a user part.
    NoUser(&'static str),
    /// `From`/`To` names another user.
    NotOwn {
        /// `From` or `To`.
        header: &'static str,
        /// The user part found.
        user: String,
    },
}

/// The user part of a SIP address (`sip:8001@host;x` → `8001`).
pub fn aor_user(addr: &str) -> Option<String> {
    NameAddr::parse(addr)?.user()
}

/// Checks a message the agent's browser sends:
/// - a request's `From` user is `extension` (it speaks as the agent); a
///   REGISTER's `To` as well (it binds the agent's AOR, nobody else's);
/// - a response's `To` user is `extension` (only requests addressed to the
///   agent may be answered by it).
pub fn check_own(msg: &Message, extension: &str) -> Result<(), AorRefusal> {
    let check = |header: &'static str| -> Result<(), AorRefusal> {
        let value = msg.header(header).ok_or(AorRefusal::NoUser(header))?;
        let user = aor_user(value).ok_or(AorRefusal::NoUser(header))?;
        if user == extension {
            Ok(())
        } else {
            Err(AorRefusal::NotOwn { header, user })
        }
    };
    if msg.is_request() {
        check("From")?;
        if msg.method() == Some(Method::Register) {
            check("To")?;
        }
        Ok(())
    } else {
        check("To")
    }
}

/// [`check_own`] on a raw frame.
pub fn check_own_frame(frame: &str, extension: &str) -> Result<(), AorRefusal> {
    let msg = Message::parse(frame).map_err(|_| AorRefusal::Unreadable)?;
    check_own(&msg, extension)
}
