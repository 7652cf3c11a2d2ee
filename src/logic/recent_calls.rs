//! Recent calls of this browser: the last [`CAP`] calls (number, direction,
//! time, talk time), newest first, for redialling. Kept in localStorage as a
//! JSON array of [`RecentCall`] (encoded and decoded by derive); an entry
//! that is not a call is dropped, never an error ([`accept`]).
//! [`CallTracker`] turns the stream of snapshots into ended calls.

use ccc_model::{api::AgentSnapshot, dial::DialNumber, CallType, UserState};
use serde::{Deserialize, Serialize};

use super::call::{call_start, other_party};

/// How many calls are kept.
pub const CAP: usize = 10;

/// localStorage key of the recent calls.
pub const STORAGE_KEY: &str = "ccc-toolbar.recent-calls";

/// One ended call, as stored:
/// `{"jobId":"j1","number":"138…","callType":"OUTBOUND","at":1,"talkMs":65000}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentCall {
    /// CCC job id (the same call seen by two tabs is kept once).
    pub job_id: String,
    /// The other party.
    pub number: String,
    /// Direction as CCC typed it.
    #[serde(default)]
    pub call_type: Option<CallType>,
    /// When the call began (server epoch ms).
    pub at: i64,
    /// Talk time (ms); `None`: never answered.
    #[serde(default)]
    pub talk_ms: Option<i64>,
}

/// Puts `call` first, drops an older entry of the same job, keeps [`CAP`].
pub fn remember(list: &mut Vec<RecentCall>, call: RecentCall) {
    list.retain(|c| c.job_id != call.job_id);
    list.insert(0, call);
    list.truncate(CAP);
}

/// The calls read back from storage, in order: an entry that is not a
/// call (no job id, a number that can't be dialled, a negative talk time)
/// is dropped, as is a second entry of the same call; [`CAP`] at most.
pub fn accept(stored: impl IntoIterator<Item = RecentCall>) -> Vec<RecentCall> {
    let mut list: Vec<RecentCall> = Vec::new();
    for mut call in stored {
        let Ok(number) = DialNumber::parse(&call.number) else {
            continue;
        };
        if call.job_id.is_empty()
            || call.talk_ms.is_some_and(|t| t < 0)
            || list.iter().any(|c| c.job_id == call.job_id)
        {
            continue;
        }
        call.number = number.as_str().to_owned();
        list.push(call);
        if list.len() == CAP {
            break;
        }
    }
    list
}

/// What a snapshot means for the recent calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Nothing to record.
    Nothing,
    /// A call ended.
    Ended(RecentCall),
    /// The agent is offline: forget this browser's calls.
    SignedOut,
}

/// Follows the current call through snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallTracker {
    current: Option<RecentCall>,
    /// When TALKING began (server ms).
    answered_at: Option<i64>,
}

impl CallTracker {
    /// Takes the next snapshot; a call ends when the snapshot has no call or
    /// another one (its end is that snapshot's server time).
    pub fn observe(&mut self, snap: &AgentSnapshot) -> Seen {
        let state = &snap.agent.state;
        if *state == UserState::Offline {
            *self = CallTracker::default();
            return Seen::SignedOut;
        }
        let same = match (&self.current, &snap.call) {
            (Some(cur), Some(c)) => cur.job_id == c.job_id,
            _ => false,
        };
        let ended = if same {
            None
        } else {
            self.end(snap.server_time)
        };
        if let Some(c) = &snap.call {
            if !same {
                self.current = other_party(c).map(|number| RecentCall {
                    job_id: c.job_id.clone(),
                    number,
                    call_type: c.call_type.clone(),
                    at: call_start(c).unwrap_or(snap.server_time),
                    talk_ms: None,
                });
            }
            if let Some(cur) = &mut self.current {
                if cur.call_type.is_none() {
                    cur.call_type = c.call_type.clone();
                }
            }
            if *state == UserState::Talking && self.answered_at.is_none() {
                self.answered_at = Some(snap.agent.heartbeat.unwrap_or(snap.server_time));
            }
        }
        ended.map_or(Seen::Nothing, Seen::Ended)
    }

    fn end(&mut self, at: i64) -> Option<RecentCall> {
        let mut call = self.current.take()?;
        call.talk_ms = self.answered_at.take().map(|a| (at - a).max(0));
        Some(call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_model::api::{Call, Channel};

    fn call(job: &str, at: i64) -> RecentCall {
        RecentCall {
            job_id: job.into(),
            number: "13800000000".into(),
            call_type: Some(CallType::Outbound),
            at,
            talk_ms: Some(65_000),
        }
    }

    #[test]
    fn newest_first_one_per_call_ten_at_most() {
        let mut list = Vec::new();
        for i in 0..12 {
            remember(&mut list, call(&format!("j{i}"), i));
        }
        assert_eq!(list.len(), CAP);
        assert_eq!(list[0].job_id, "j11");
        assert_eq!(list[9].job_id, "j2");
        remember(&mut list, call("j5", 99));
        assert_eq!(list.len(), CAP);
        assert_eq!(list[0].at, 99);
        assert_eq!(list.iter().filter(|c| c.job_id == "j5").count(), 1);
    }

    /// The stored JSON (the widget writes it with `JSON.stringify` of the
    /// serde-wasm-bindgen value, the same shape as serde_json's).
    fn stored(list: &[RecentCall]) -> String {
        serde_json::to_string(list).unwrap()
    }

    fn read(text: &str) -> Vec<RecentCall> {
        let items: Vec<serde_json::Value> = serde_json::from_str(text).unwrap_or_default();
        accept(
            items
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).ok()),
        )
    }

    #[test]
    fn stored_json_round_trips() {
        let mut unanswered = call("j2", 2);
        unanswered.talk_ms = None;
        unanswered.call_type = None;
        let list = vec![call("j1", 1), unanswered];
        assert_eq!(read(&stored(&list)), list);
        assert_eq!(
            stored(&[call("j1", 1)]),
            r#"[{"jobId":"j1","number":"13800000000","callType":"OUTBOUND","at":1,"talkMs":65000}]"#
        );
    }

    #[test]
    fn bad_stored_entries_lose_only_themselves() {
        let text = r#"[
            "garbage",
            {"jobId":"","number":"13800000000","at":1},
            {"jobId":"j2","number":"not a number","at":1},
            {"jobId":"j3","number":"138","at":"yesterday"},
            {"jobId":"j4","number":"138","at":1,"talkMs":-5},
            {"jobId":"j1","number":"138 0000 0000","callType":"OUTBOUND","at":1,"talkMs":65000},
            {"jobId":"j1","number":"13800000000","callType":"OUTBOUND","at":1,"talkMs":65000}
        ]"#;
        assert_eq!(read(text), vec![call("j1", 1)]);
        assert!(read("").is_empty());
        assert!(read("j1\t138\tOUTBOUND\t1\t").is_empty(), "not JSON");
        let many: Vec<RecentCall> = (0..20).map(|i| call(&format!("j{i}"), i)).collect();
        assert_eq!(read(&stored(&many)).len(), CAP);
    }

    fn snap(state: UserState, call: Option<(&str, CallType)>, server_time: i64) -> AgentSnapshot {
        let mut s = AgentSnapshot {
            server_time,
            ..Default::default()
        };
        s.agent.state = state;
        s.agent.heartbeat = Some(server_time);
        s.call = call.map(|(job, t)| Call {
            job_id: job.into(),
            call_type: Some(t),
            channels: vec![Channel {
                originator: Some("80010001".into()),
                destination: Some("13800000000".into()),
                timestamp: Some(1_000),
                ..Default::default()
            }],
        });
        s
    }

    #[test]
    fn tracker_records_answered_and_unanswered_calls() {
        let mut t = CallTracker::default();
        let out = Some(("j1", CallType::Outbound));
        assert_eq!(t.observe(&snap(UserState::Ready, None, 500)), Seen::Nothing);
        assert_eq!(
            t.observe(&snap(UserState::Dialing, out.clone(), 1_000)),
            Seen::Nothing
        );
        assert_eq!(
            t.observe(&snap(UserState::Talking, out.clone(), 3_000)),
            Seen::Nothing
        );
        assert_eq!(
            t.observe(&snap(UserState::Talking, out, 9_000)),
            Seen::Nothing
        );
        let Seen::Ended(c) = t.observe(&snap(UserState::Working, None, 68_000)) else {
            panic!("the call ended");
        };
        assert_eq!(c.number, "13800000000");
        assert_eq!(c.at, 1_000);
        assert_eq!(c.talk_ms, Some(65_000));
        assert_eq!(c.call_type, Some(CallType::Outbound));
        // Not answered.
        t.observe(&snap(
            UserState::Dialing,
            Some(("j2", CallType::Outbound)),
            70_000,
        ));
        let Seen::Ended(c) = t.observe(&snap(UserState::Ready, None, 90_000)) else {
            panic!("the call ended");
        };
        assert_eq!((c.job_id.as_str(), c.talk_ms), ("j2", None));
        // An inbound call straight after another one ends the first.
        t.observe(&snap(
            UserState::Talking,
            Some(("j3", CallType::Inbound)),
            91_000,
        ));
        let Seen::Ended(c) = t.observe(&snap(
            UserState::Talking,
            Some(("j4", CallType::Inbound)),
            95_000,
        )) else {
            panic!("j3 ended");
        };
        assert_eq!((c.job_id.as_str(), c.number.as_str()), ("j3", "80010001"));
        assert_eq!(
            t.observe(&snap(UserState::Offline, None, 99_000)),
            Seen::SignedOut
        );
        assert_eq!(t, CallTracker::default());
    }
}
