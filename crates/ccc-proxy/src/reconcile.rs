//! Reconciliation: events can be lost, so every `--reconcile-secs` a sweep
//! of `ListRealtimeAgentStates` (ccc-api.md §8.3) compares CCC's view of the
//! watched agents with the shown snapshots; only the agents that differ are
//! refreshed with `PollUserStatus`.
//!
//! A sweep either names the watched agents (`AgentIdList`, at most 20 a
//! call) or pages through the whole instance (100 a page), whichever costs
//! fewer calls.

use std::collections::HashMap;

use ccc_model::UserState;
use serde::Deserialize;

/// `AgentIdList` holds at most this many agents.
pub const IDS_PER_CALL: usize = 20;
/// `PageSize` is at most this.
pub const PAGE_SIZE: usize = 100;

/// `Data` of `ListRealtimeAgentStates`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RealtimePage {
    /// 1-based page.
    #[serde(default)]
    pub page_number: usize,
    /// Agents a page.
    #[serde(default)]
    pub page_size: usize,
    /// Agents in the whole answer.
    #[serde(default)]
    pub total_count: usize,
    /// This page's agents.
    #[serde(default)]
    pub list: Vec<RealtimeAgent>,
}

/// One agent of a page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RealtimeAgent {
    /// The agent (`name@instance` or a bare name).
    #[serde(default)]
    pub agent_id: String,
    /// `Ready`, `Talking`, `ACW`, `Break`, `Ringing`, `Offline`, `Dialing`.
    #[serde(default)]
    pub state: String,
}

/// The `UserState` a realtime state stands for (`ACW` is WORKING).
pub fn user_state(realtime: &str) -> Option<UserState> {
    Some(match realtime.trim().to_ascii_lowercase().as_str() {
        "ready" => UserState::Ready,
        "talking" => UserState::Talking,
        "acw" | "working" => UserState::Working,
        "break" => UserState::Break,
        "ringing" => UserState::Ringing,
        "offline" => UserState::Offline,
        "dialing" => UserState::Dialing,
        _ => return None,
    })
}

/// How one sweep asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sweep {
    /// One call per chunk of agent ids.
    ByIds(Vec<Vec<String>>),
    /// Page through the instance (`pages` expected from the last sweep).
    Pages(usize),
}

/// The cheaper way to sweep `watched` agents of an instance that had
/// `last_total` agents at the last full sweep (0: unknown).
pub fn plan(watched: &[String], last_total: usize) -> Sweep {
    let by_ids = watched.len().div_ceil(IDS_PER_CALL);
    let pages = last_total.div_ceil(PAGE_SIZE).max(1);
    if watched.len() <= PAGE_SIZE || by_ids <= pages {
        Sweep::ByIds(
            watched
                .chunks(IDS_PER_CALL)
                .map(<[String]>::to_vec)
                .collect(),
        )
    } else {
        Sweep::Pages(pages)
    }
}

/// The agents among `shown` (UserId → state shown) whose realtime state in
/// `seen` differs, plus watched agents CCC did not list when it was asked
/// about them by id (`asked_by_id`).
pub fn differing(
    shown: &HashMap<String, UserState>,
    seen: &[RealtimeAgent],
    instance_id: &str,
    asked_by_id: bool,
) -> Vec<String> {
    let mut listed = std::collections::HashSet::new();
    let mut out = Vec::new();
    for a in seen {
        let id = if a.agent_id.contains('@') {
            a.agent_id.clone()
        } else {
            format!("{}@{instance_id}", a.agent_id)
        };
        let Some(mine) = shown.get(&id) else {
            continue;
        };
        listed.insert(id.clone());
        if user_state(&a.state).is_none_or(|s| &s != mine) {
            out.push(id);
        }
    }
    if asked_by_id {
        out.extend(shown.keys().filter(|k| !listed.contains(*k)).cloned());
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("a{i}@i")).collect()
    }

    #[test]
    fn maps_the_realtime_vocabulary() {
        assert_eq!(user_state("ACW"), Some(UserState::Working));
        assert_eq!(user_state("Talking"), Some(UserState::Talking));
        assert_eq!(user_state("Offline"), Some(UserState::Offline));
        assert_eq!(user_state("Lunch"), None);
    }

    #[test]
    fn picks_the_cheaper_sweep() {
        assert_eq!(
            plan(&ids(45), 0),
            Sweep::ByIds(vec![
                ids(20),
                ids(40)[20..].to_vec(),
                ids(45)[40..].to_vec()
            ])
        );
        // 1,000 watched of 1,200: 12 pages beat 50 id calls.
        assert_eq!(plan(&ids(1000), 1200), Sweep::Pages(12));
        // 150 watched of 100,000: ids are cheaper.
        assert!(matches!(plan(&ids(150), 100_000), Sweep::ByIds(c) if c.len() == 8));
    }

    #[test]
    fn finds_only_the_agents_that_differ() {
        let shown: HashMap<String, UserState> = [
            ("a@i".to_owned(), UserState::Ready),
            ("b@i".to_owned(), UserState::Working),
            ("c@i".to_owned(), UserState::Break),
            ("d@i".to_owned(), UserState::Talking),
        ]
        .into();
        let seen = [
            ("a", "Ready"),
            ("b@i", "ACW"),
            ("c", "Talking"),
            ("x", "Ready"),
        ]
        .map(|(id, s)| RealtimeAgent {
            agent_id: id.into(),
            state: s.into(),
        });
        assert_eq!(differing(&shown, &seen, "i", false), ["c@i"]);
        assert_eq!(differing(&shown, &seen, "i", true), ["c@i", "d@i"]);
    }
}
