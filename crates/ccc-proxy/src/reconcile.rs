//! Reconciliation: events can be lost, so every `--reconcile-secs` a sweep
//! of `ListRealtimeAgentStates` (ccc-api.md §8.3) compares CCC's view of the
//! watched agents with the shown snapshots; only the agents that differ are
//! repaired: a state the sweep fully describes (READY, BREAK with its code,
//! ACW, OFFLINE) is applied like an event, with no further call; a call
//! state (ringing, talking, dialing) is refreshed with `PollUserStatus`.
//!
//! A sweep either names the watched agents (`AgentIdList`, at most 20 a
//! call) or pages through the whole instance (100 a page), whichever costs
//! fewer calls.

use std::collections::HashMap;

use ccc_model::UserState;
use serde::Deserialize;

use crate::view::StateChange;

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
    /// Display name (issue 18: the directory).
    #[serde(default, deserialize_with = "ccc_model::de::string")]
    pub agent_name: String,
    /// Extension (issue 18: the directory).
    #[serde(default, deserialize_with = "ccc_model::de::string")]
    pub extension: String,
    /// `Ready`, `Talking`, `ACW`, `Break`, `Ringing`, `Offline`, `Dialing`.
    #[serde(default)]
    pub state: String,
    /// The break code for `Break`.
    #[serde(default)]
    pub state_code: String,
    /// When the agent entered the state (epoch ms).
    #[serde(default, deserialize_with = "ccc_model::de::tolerant_i64")]
    pub state_time: Option<i64>,
}

/// What the toolbar shows of an agent, as the sweep compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The state.
    pub state: UserState,
    /// The break code (BREAK).
    pub break_code: Option<String>,
}

/// How to repair one agent the sweep found different.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// Apply this state (at CCC time `at`), like an event: no call.
    Apply {
        /// The new state.
        change: StateChange,
        /// `StateTime` (epoch ms).
        at: i64,
    },
    /// Ask `PollUserStatus` (a call, or not enough in the sweep).
    Refresh,
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

/// The agents among `shown` whose realtime state in `seen` differs, with
/// how to repair each; plus watched agents CCC did not list when it was
/// asked about them by id (`asked_by_id`), to refresh.
pub fn differing(
    shown: &HashMap<String, Shown>,
    seen: &[RealtimeAgent],
    instance_id: &str,
    asked_by_id: bool,
) -> Vec<(String, Repair)> {
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
        let state = user_state(&a.state);
        let code = Some(a.state_code.trim()).filter(|c| !c.is_empty());
        let same = state.as_ref() == Some(&mine.state)
            && (mine.state != UserState::Break
                || code.is_none()
                || code == mine.break_code.as_deref());
        if same {
            continue;
        }
        let repair = match (state, a.state_time) {
            (Some(s @ (UserState::Ready | UserState::Working | UserState::Offline)), Some(at)) => {
                Repair::Apply {
                    change: StateChange {
                        ends_call: true,
                        ..StateChange::to(s)
                    },
                    at,
                }
            }
            (Some(UserState::Break), Some(at)) if code.is_some() => Repair::Apply {
                change: StateChange {
                    break_code: code.map(str::to_owned),
                    ends_call: true,
                    ..StateChange::to(UserState::Break)
                },
                at,
            },
            _ => Repair::Refresh,
        };
        out.push((id, repair));
    }
    if asked_by_id {
        out.extend(
            shown
                .keys()
                .filter(|k| !listed.contains(*k))
                .map(|k| (k.clone(), Repair::Refresh)),
        );
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
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
    fn finds_only_the_agents_that_differ_and_how_to_repair_them() {
        let shown = |state, code: Option<&str>| Shown {
            state,
            break_code: code.map(str::to_owned),
        };
        let shown: HashMap<String, Shown> = [
            ("a@i".to_owned(), shown(UserState::Ready, None)),
            ("b@i".to_owned(), shown(UserState::Working, None)),
            ("c@i".to_owned(), shown(UserState::Break, Some("lunch"))),
            ("d@i".to_owned(), shown(UserState::Talking, None)),
            ("e@i".to_owned(), shown(UserState::Break, Some("lunch"))),
        ]
        .into();
        let seen = [
            ("a", "Ready", ""),
            ("b@i", "ACW", ""),
            ("c", "Talking", ""),
            ("e", "Break", "meeting"),
            ("x", "Ready", ""),
        ]
        .map(|(id, s, code)| RealtimeAgent {
            agent_id: id.into(),
            state: s.into(),
            state_code: code.into(),
            state_time: Some(50),
            ..RealtimeAgent::default()
        });
        let found = differing(&shown, &seen, "i", false);
        let ids: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["c@i", "e@i"]);
        assert_eq!(found[0].1, Repair::Refresh, "a call needs its legs");
        match &found[1].1 {
            Repair::Apply { change, at: 50 } => {
                assert_eq!(change.break_code.as_deref(), Some("meeting"));
            }
            other => panic!("{other:?}"),
        }
        let by_id = differing(&shown, &seen, "i", true);
        assert_eq!(by_id.len(), 3, "d@i was not listed: refresh it");
    }
}
