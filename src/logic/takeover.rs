//! Another device taking over the agent.

use ccc_model::{api::AgentSnapshot, UserState};

/// The other device when the agent is online and CCC's active device is set
/// and is not ours: either another device took the agent over from us, or
/// this browser was opened while the agent works elsewhere. Either way the
/// agent is told, and can move the agent here (sign in from this device).
pub fn other_device<'a>(snap: &'a AgentSnapshot, ours: &str) -> Option<&'a str> {
    let dev = snap.agent.device_id.as_deref()?;
    (dev != ours && snap.agent.state != UserState::Offline).then_some(dev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(dev: Option<&str>, state: UserState) -> AgentSnapshot {
        let mut s = AgentSnapshot::default();
        s.agent.device_id = dev.map(str::to_owned);
        s.agent.state = state;
        s
    }

    #[test]
    fn detects_another_active_device_while_online() {
        let s = snap(Some("web-b"), UserState::Ready);
        assert_eq!(other_device(&s, "web-a"), Some("web-b"));
        assert_eq!(other_device(&s, "web-b"), None);
        assert_eq!(other_device(&snap(None, UserState::Ready), "web-a"), None);
        assert_eq!(
            other_device(&snap(Some("web-b"), UserState::Offline), "web-a"),
            None
        );
    }
}
