//! Another device taking over the agent.

use ccc_model::{api::AgentSnapshot, UserState};

/// The other device when CCC's active device is set, is not ours, the agent is
/// online, and this device had the agent (`owned`: we signed in from here, or a
/// snapshot named our device).
pub fn other_device<'a>(snap: &'a AgentSnapshot, ours: &str, owned: bool) -> Option<&'a str> {
    let dev = snap.agent.device_id.as_deref()?;
    (owned && dev != ours && snap.agent.state != UserState::Offline).then_some(dev)
}

/// True when the snapshot says this device is the active one.
pub fn is_ours(snap: &AgentSnapshot, ours: &str) -> bool {
    snap.agent.device_id.as_deref() == Some(ours)
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
    fn detects_another_device_only_after_we_had_it() {
        let s = snap(Some("web-b"), UserState::Ready);
        assert_eq!(other_device(&s, "web-a", true), Some("web-b"));
        assert_eq!(other_device(&s, "web-a", false), None);
        assert_eq!(other_device(&s, "web-b", true), None);
        assert_eq!(
            other_device(&snap(None, UserState::Ready), "web-a", true),
            None
        );
        assert_eq!(
            other_device(&snap(Some("web-b"), UserState::Offline), "web-a", true),
            None
        );
        assert!(is_ours(&snap(Some("web-a"), UserState::Break), "web-a"));
    }
}
