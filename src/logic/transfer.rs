//! Transfer, consult, conference and the keypad (issue 18) as plain rules:
//! what the transfer panel offers for a search, how quickly typed keypad
//! keys are batched into `dtmf` requests, and which `ccc:transfer` event a
//! change of the snapshot is.

use ccc_model::{
    api::{
        ConsultLeg, ConsultPhase, DirectoryEntry, DirectoryState, DtmfRequest, TargetType,
        TransferKind, TransferTarget,
    },
    dial::DialNumber,
};

/// Where an entry goes in the panel's list: favourites, then ready agents,
/// then skill groups, then agents who are busy, on a break or offline (the
/// proxy's order is kept within each rank).
fn rank(e: &DirectoryEntry) -> u8 {
    if e.favourite {
        return 0;
    }
    match (e.target.kind, e.state) {
        (TargetType::Agent, Some(DirectoryState::Ready)) => 1,
        (TargetType::SkillGroup, _) => 2,
        (TargetType::Number, _) => 3,
        (TargetType::Agent, Some(DirectoryState::Acw | DirectoryState::Break)) => 4,
        (TargetType::Agent, Some(DirectoryState::OnCall) | None) => 5,
        (TargetType::Agent, Some(DirectoryState::Offline)) => 6,
    }
}

/// What the panel lists for `query`: the directory's `entries` in panel
/// order without the agent themselves (`me`), and, when the query is a
/// dialable number no entry already is, that number as a number target
/// (last).
pub fn choices(query: &str, entries: &[DirectoryEntry], me: &str) -> Vec<DirectoryEntry> {
    let mut list: Vec<DirectoryEntry> = entries
        .iter()
        .filter(|e| !(e.target.kind == TargetType::Agent && e.target.id == me))
        .cloned()
        .collect();
    list.sort_by_key(rank);
    if let Some(n) = typed_number(query) {
        if !list.iter().any(|e| e.target.id == n.as_str()) {
            list.push(DirectoryEntry {
                target: TransferTarget {
                    kind: TargetType::Number,
                    id: n.as_str().to_owned(),
                },
                name: n.as_str().to_owned(),
                state: None,
                extension: None,
                favourite: false,
            });
        }
    }
    list
}

/// The query as a number to transfer to, when it is one (at least 3
/// digits, the dial box's rules: separators dropped, `+`, `*`, `#`).
pub fn typed_number(query: &str) -> Option<DialNumber> {
    let digits = query.bytes().filter(u8::is_ascii_digit).count();
    if digits < 3 {
        return None;
    }
    DialNumber::parse(query).ok()
}

/// The request the panel sends for `target`: a number may present one of
/// the session's caller ids (CCC's default when `None`).
pub fn request(
    kind: TransferKind,
    target: TransferTarget,
    caller_id: Option<String>,
) -> ccc_model::api::TransferRequest {
    let caller_id = match target.kind {
        TargetType::Number => caller_id.filter(|c| !c.is_empty()),
        _ => None,
    };
    ccc_model::api::TransferRequest {
        kind,
        target,
        caller_id,
    }
}

/// A keypad key from a key name (`KeyboardEvent.key` or a button): `0-9`,
/// `*`, `#`.
pub fn dtmf_key(key: &str) -> Option<char> {
    let mut chars = key.chars();
    let c = chars.next()?;
    (chars.next().is_none() && (c.is_ascii_digit() || c == '*' || c == '#')).then_some(c)
}

/// Keys typed while a request is on its way wait here and go together in
/// the next request (at most [`DtmfRequest::MAX_DIGITS`] each), in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DtmfQueue {
    waiting: String,
}

impl DtmfQueue {
    /// Queues `key`; false (and nothing queued) for anything but `0-9*#`.
    pub fn push(&mut self, key: char) -> bool {
        if dtmf_key(key.encode_utf8(&mut [0; 4])).is_none() {
            return false;
        }
        self.waiting.push(key);
        true
    }

    /// True when keys wait.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The next request: the oldest waiting keys, at most 32.
    pub fn take(&mut self) -> Option<DtmfRequest> {
        if self.waiting.is_empty() {
            return None;
        }
        let n = self.waiting.len().min(DtmfRequest::MAX_DIGITS);
        let rest = self.waiting.split_off(n);
        let digits = std::mem::replace(&mut self.waiting, rest);
        Some(DtmfRequest { digits })
    }
}

/// What the host page hears in `ccc:transfer` (`phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferPhase {
    /// A blind transfer was accepted: the call is the target's now, the
    /// agent goes to after-call work.
    Blind,
    /// A consult started: the target rings, the customer is on hold.
    ConsultRinging,
    /// The target answered the consult.
    ConsultTalking,
    /// All three talk.
    Conference,
    /// The consult was completed: the customer is the target's now.
    Completed,
    /// The consult was cancelled: back to the customer.
    Cancelled,
    /// The agent left the conference; it goes on for the others.
    Left,
}

impl TransferPhase {
    /// The event's `phase`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferPhase::Blind => "blind",
            TransferPhase::ConsultRinging => "consult-ringing",
            TransferPhase::ConsultTalking => "consult-talking",
            TransferPhase::Conference => "conference",
            TransferPhase::Completed => "completed",
            TransferPhase::Cancelled => "cancelled",
            TransferPhase::Left => "left",
        }
    }

    /// The transfer kind it belongs to.
    pub fn kind(self) -> TransferKind {
        match self {
            TransferPhase::Blind => TransferKind::Blind,
            _ => TransferKind::Consult,
        }
    }
}

/// The parts of a snapshot a consult is seen in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsultView {
    /// The consult leg.
    pub consult: Option<ConsultLeg>,
    /// A three-party conference.
    pub conference: bool,
    /// The agent is still TALKING (with the customer).
    pub talking: bool,
}

/// The consult's change from `prev` to `next`, with the leg it is about.
pub fn consult_change(
    prev: &ConsultView,
    next: &ConsultView,
) -> Option<(TransferPhase, ConsultLeg)> {
    match (&prev.consult, &next.consult) {
        (_, Some(leg)) => {
            let phase = if next.conference {
                TransferPhase::Conference
            } else if leg.phase == ConsultPhase::Ringing {
                TransferPhase::ConsultRinging
            } else {
                TransferPhase::ConsultTalking
            };
            let before = prev.consult.as_ref().map(|p| {
                if prev.conference {
                    TransferPhase::Conference
                } else if p.phase == ConsultPhase::Ringing {
                    TransferPhase::ConsultRinging
                } else {
                    TransferPhase::ConsultTalking
                }
            });
            (before != Some(phase) || prev.consult.as_ref() != Some(leg))
                .then(|| (phase, leg.clone()))
        }
        (Some(leg), None) => {
            let phase = if prev.conference {
                TransferPhase::Left
            } else if next.talking {
                TransferPhase::Cancelled
            } else {
                TransferPhase::Completed
            };
            Some((phase, leg.clone()))
        }
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        kind: TargetType,
        id: &str,
        state: Option<DirectoryState>,
        fav: bool,
    ) -> DirectoryEntry {
        DirectoryEntry {
            target: TransferTarget {
                kind,
                id: id.into(),
            },
            name: id.into(),
            state,
            extension: None,
            favourite: fav,
        }
    }

    #[test]
    fn favourites_then_ready_agents_then_groups_then_busy_then_offline_without_me() {
        use DirectoryState::*;
        let entries = vec![
            entry(TargetType::Agent, "off", Some(Offline), false),
            entry(TargetType::Agent, "busy", Some(OnCall), false),
            entry(TargetType::SkillGroup, "sales", None, false),
            entry(TargetType::Agent, "me", Some(Ready), false),
            entry(TargetType::Agent, "ready", Some(Ready), false),
            entry(TargetType::Agent, "acw", Some(Acw), false),
            entry(TargetType::Number, "95555", None, true),
        ];
        let ids: Vec<String> = choices("", &entries, "me")
            .into_iter()
            .map(|e| e.target.id)
            .collect();
        assert_eq!(ids, ["95555", "ready", "sales", "acw", "busy", "off"]);
    }

    #[test]
    fn a_typed_number_is_offered_once_as_a_number_target() {
        let list = choices("138 0013 8000", &[], "me");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].target.kind, TargetType::Number);
        assert_eq!(list[0].target.id, "13800138000");
        // Names and short digit runs are not numbers.
        assert!(choices("bo", &[], "me").is_empty());
        assert!(choices("80", &[], "me").is_empty());
        // Not twice when the directory has it (a favourite).
        let fav = entry(TargetType::Number, "95555", None, true);
        assert_eq!(choices("95555", &[fav], "me").len(), 1);
    }

    #[test]
    fn caller_id_only_for_numbers() {
        let agent = TransferTarget {
            kind: TargetType::Agent,
            id: "agent2@ccc-demo".into(),
        };
        let r = request(TransferKind::Blind, agent, Some("02150001234".into()));
        assert_eq!(r.caller_id, None);
        let number = TransferTarget {
            kind: TargetType::Number,
            id: "13800138000".into(),
        };
        let r = request(
            TransferKind::Consult,
            number.clone(),
            Some("02150001234".into()),
        );
        assert_eq!(r.caller_id.as_deref(), Some("02150001234"));
        let r = request(TransferKind::Consult, number, Some(String::new()));
        assert_eq!(r.caller_id, None);
    }

    #[test]
    fn keypad_keys_queue_in_order_and_go_at_most_32_per_request() {
        assert_eq!(dtmf_key("5"), Some('5'));
        assert_eq!(dtmf_key("#"), Some('#'));
        assert_eq!(dtmf_key("a"), None);
        assert_eq!(dtmf_key("12"), None);
        assert_eq!(dtmf_key("Enter"), None);
        let mut q = DtmfQueue::default();
        assert!(!q.push('x'));
        assert!(q.is_empty());
        for c in "1234567890*#".chars().cycle().take(40) {
            assert!(q.push(c));
        }
        let first = q.take().unwrap();
        assert_eq!(first.digits.len(), 32);
        assert!(first.is_valid());
        assert!(first.digits.starts_with("1234567890*#"));
        let second = q.take().unwrap();
        assert_eq!(second.digits, "90*#1234");
        assert!(second.is_valid());
        assert_eq!(q.take(), None);
    }

    fn leg(phase: ConsultPhase) -> ConsultLeg {
        ConsultLeg {
            target: TransferTarget {
                kind: TargetType::Agent,
                id: "agent2@ccc-demo".into(),
            },
            name: Some("Bo Wang".into()),
            phase,
        }
    }

    fn view(consult: Option<ConsultLeg>, conference: bool, talking: bool) -> ConsultView {
        ConsultView {
            consult,
            conference,
            talking,
        }
    }

    #[test]
    fn consult_changes_become_transfer_phases() {
        let none = view(None, false, true);
        let ringing = view(Some(leg(ConsultPhase::Ringing)), false, true);
        let talking = view(Some(leg(ConsultPhase::Talking)), false, true);
        let conf = view(Some(leg(ConsultPhase::Talking)), true, true);
        let phase = |a: &ConsultView, b: &ConsultView| consult_change(a, b).map(|(p, _)| p);
        assert_eq!(phase(&none, &none), None);
        assert_eq!(phase(&none, &ringing), Some(TransferPhase::ConsultRinging));
        assert_eq!(phase(&ringing, &ringing), None, "no repeat");
        assert_eq!(
            phase(&ringing, &talking),
            Some(TransferPhase::ConsultTalking)
        );
        assert_eq!(phase(&talking, &none), Some(TransferPhase::Cancelled));
        assert_eq!(
            phase(&talking, &view(None, false, false)),
            Some(TransferPhase::Completed)
        );
        assert_eq!(phase(&talking, &conf), Some(TransferPhase::Conference));
        assert_eq!(
            phase(&conf, &view(None, false, false)),
            Some(TransferPhase::Left)
        );
        assert_eq!(TransferPhase::Left.kind(), TransferKind::Consult);
        assert_eq!(TransferPhase::Blind.as_str(), "blind");
    }
}
