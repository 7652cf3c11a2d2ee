//! Recent calls of this browser: the last [`CAP`] calls (number, direction,
//! time, talk time), newest first, for redialling. Kept in localStorage as
//! one line per call (`job, number, call type, start, talk ms`, tab
//! separated); whatever a line holds that is not a call is dropped, never
//! an error. [`CallTracker`] turns the stream of snapshots into ended calls.

use ccc_model::{api::AgentSnapshot, dial::DialNumber, CallType, UserState};

use super::call::{call_start, other_party};

/// How many calls are kept.
pub const CAP: usize = 10;

/// localStorage key of the recent calls.
pub const STORAGE_KEY: &str = "ccc-toolbar.recent-calls";

/// One ended call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentCall {
    /// CCC job id (the same call seen by two tabs is kept once).
    pub job_id: String,
    /// The other party.
    pub number: String,
    /// Direction as CCC typed it.
    pub call_type: Option<CallType>,
    /// When the call began (server epoch ms).
    pub at: i64,
    /// Talk time (ms); `None`: never answered.
    pub talk_ms: Option<i64>,
}

/// Puts `call` first, drops an older entry of the same job, keeps [`CAP`].
pub fn remember(list: &mut Vec<RecentCall>, call: RecentCall) {
    list.retain(|c| c.job_id != call.job_id);
    list.insert(0, call);
    list.truncate(CAP);
}

/// The stored text of `list`.
pub fn serialize(list: &[RecentCall]) -> String {
    let mut out = String::new();
    for c in list {
        let mut at = itoa::Buffer::new();
        let mut talk = itoa::Buffer::new();
        for (i, field) in [
            c.job_id.as_str(),
            &c.number,
            c.call_type.as_ref().map_or("", CallType::as_str),
            at.format(c.at),
            c.talk_ms.map_or("", |t| talk.format(t)),
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                out.push('\t');
            }
            out.push_str(field);
        }
        out.push('\n');
    }
    out
}

/// The calls in stored text; lines that are not calls are skipped.
pub fn parse(text: &str) -> Vec<RecentCall> {
    let mut list: Vec<RecentCall> = Vec::new();
    for call in text.lines().filter_map(parse_line) {
        if list.len() < CAP && list.iter().all(|c| c.job_id != call.job_id) {
            list.push(call);
        }
    }
    list
}

fn parse_line(line: &str) -> Option<RecentCall> {
    let mut f = line.split('\t');
    let (job, number, kind, at, talk) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
    if job.is_empty() || f.next().is_some() {
        return None;
    }
    Some(RecentCall {
        job_id: job.to_owned(),
        number: DialNumber::parse(number).ok()?.as_str().to_owned(),
        call_type: (!kind.is_empty()).then(|| CallType::parse(kind)),
        at: at.parse().ok()?,
        talk_ms: match talk {
            "" => None,
            t => Some(t.parse::<i64>().ok().filter(|t| *t >= 0)?),
        },
    })
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

    #[test]
    fn stored_text_round_trips() {
        let mut unanswered = call("j2", 2);
        unanswered.talk_ms = None;
        unanswered.call_type = None;
        let list = vec![call("j1", 1), unanswered];
        assert_eq!(parse(&serialize(&list)), list);
    }

    #[test]
    fn bad_stored_text_loses_only_the_bad_lines() {
        let good = serialize(&[call("j1", 1)]);
        let text = [
            "garbage",
            "\t13800000000\tOUTBOUND\t1\t",
            "j2\tnot a number\tOUTBOUND\t1\t",
            "j3\t138\tOUTBOUND\tyesterday\t",
            "j4\t138\tOUTBOUND\t1\t-5",
            "j5\t138\tOUTBOUND\t1\t5\textra",
            good.trim_end(),
            good.trim_end(),
            "",
        ]
        .join("\n");
        assert_eq!(parse(&text), vec![call("j1", 1)]);
        assert!(parse("").is_empty());
        let many: String = (0..20)
            .map(|i| serialize(&[call(&format!("j{i}"), i)]))
            .collect();
        assert_eq!(parse(&many).len(), CAP);
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
