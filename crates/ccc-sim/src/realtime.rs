//! `ListRealtimeAgentStates` (ccc-api.md §8.3): the fleet view a proxy
//! reconciles against, 1–100 agents a page, in its own state vocabulary
//! (`Ready, Talking, ACW, Break, Ringing, Offline, Dialing`; ACW = WORKING).
//!
//! Agents are listed by `AgentId` (the UserId), so pages are stable.
//! Without filters a page costs O(page size) (the instance's agents are kept
//! in order); `StateList` / `SkillGroupId` filters scan the instance.

use ccc_model::{CccError, ErrorCode, UserState};
use serde_json::{json, Value};

use crate::state_machine::Agent;
use crate::World;

/// The realtime vocabulary, as `Params` of `Parameter.Enumeration` show it.
pub const STATES: &str = "Ready,Talking,ACW,Break,Ringing,Offline,Dialing";
/// Largest `PageSize`.
pub const MAX_PAGE_SIZE: usize = 100;
/// `PageSize` when none is given (inference).
pub const DEFAULT_PAGE_SIZE: usize = 10;
/// Most entries of `AgentIdList`.
pub const MAX_AGENT_IDS: usize = 20;

/// The realtime name of a `UserState`.
pub fn realtime_state(state: &UserState) -> &'static str {
    match state {
        UserState::Ready => "Ready",
        UserState::Talking => "Talking",
        UserState::Working => "ACW",
        UserState::Break => "Break",
        UserState::Ringing => "Ringing",
        UserState::Dialing => "Dialing",
        UserState::Offline | UserState::Unknown(_) => "Offline",
    }
}

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// 1-based page.
    pub page_number: usize,
    /// 1..=100.
    pub page_size: usize,
    /// Only these agents (full `name@instance`).
    pub agent_ids: Option<Vec<String>>,
    /// Only these realtime states.
    pub states: Option<Vec<&'static str>>,
    /// Only agents signed into this skill group.
    pub skill_group: Option<String>,
}

fn number(raw: Option<&str>, name: &str, default: usize, max: usize) -> Result<usize, CccError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ErrorCode::InvalidParameter.with_params([name])),
    }
}

fn json_list(raw: Option<&str>, name: &str) -> Result<Option<Vec<String>>, CccError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => serde_json::from_str::<Vec<String>>(s)
            .map(Some)
            .map_err(|_| ErrorCode::InvalidParameter.with_params([name])),
    }
}

impl Query {
    /// Parses the parameters of `instance` (`param` looks one up).
    /// Errors: `InvalidParameter` for a bad number, page size, or list, or
    /// more than 20 agent ids; `Parameter.Enumeration` for an unknown state.
    pub fn parse<'a>(
        instance: &str,
        param: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Self, CccError> {
        let page_number = number(param("PageNumber"), "PageNumber", 1, usize::MAX)?;
        let page_size = number(
            param("PageSize"),
            "PageSize",
            DEFAULT_PAGE_SIZE,
            MAX_PAGE_SIZE,
        )?;
        let agent_ids = json_list(param("AgentIdList"), "AgentIdList")?;
        if agent_ids.as_ref().is_some_and(|l| l.len() > MAX_AGENT_IDS) {
            return Err(ErrorCode::InvalidParameter.with_params(["AgentIdList"]));
        }
        let agent_ids = agent_ids.map(|list| {
            let mut ids: Vec<String> = list
                .into_iter()
                .map(|id| match id.contains('@') {
                    true => id,
                    false => format!("{id}@{instance}"),
                })
                .collect();
            ids.sort();
            ids.dedup();
            ids
        });
        let states = json_list(param("StateList"), "StateList")?
            .map(|list| {
                list.iter()
                    .map(|s| {
                        STATES.split(',').find(|known| known == s).ok_or_else(|| {
                            ErrorCode::ParameterEnumeration.with_params(["StateList", STATES])
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .filter(|s| !s.is_empty());
        let skill_group = param("SkillGroupId")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        Ok(Query {
            page_number,
            page_size,
            agent_ids,
            states,
            skill_group,
        })
    }

    fn matches(&self, agent: &Agent) -> bool {
        let state_ok = self
            .states
            .as_ref()
            .is_none_or(|s| s.contains(&realtime_state(&agent.state)));
        let group_ok = self
            .skill_group
            .as_ref()
            .is_none_or(|g| agent.skill_groups.contains(g));
        state_ok && group_ok
    }

    fn window(&self) -> std::ops::Range<usize> {
        let start = (self.page_number - 1).saturating_mul(self.page_size);
        start..start.saturating_add(self.page_size)
    }
}

/// One row of `Data.List`.
pub fn row(agent: &Agent) -> Value {
    let counter_party = agent
        .call
        .as_ref()
        .and_then(|c| c.counter_party())
        .unwrap_or_default();
    let state_code = match agent.state {
        UserState::Break => agent.break_code.clone().unwrap_or_default(),
        _ => String::new(),
    };
    json!({
        "AgentId": agent.user_id,
        "AgentName": agent.display_name,
        "Extension": agent.extension,
        "State": realtime_state(&agent.state),
        "StateCode": state_code,
        "StateTime": agent.state_time,
        "CounterParty": counter_party,
        "SkillGroupIdList": agent.skill_groups,
        "WorkMode": agent.work_mode.as_str(),
        "OutboundScenario": agent.outbound_scenario,
    })
}

/// The page `query` asks for, as `Data`.
pub fn list(world: &World, instance: &str, query: &Query) -> Value {
    let window = query.window();
    let mut total = 0usize;
    let mut rows = Vec::new();
    let mut take = |agent: &Agent| {
        if window.contains(&total) {
            rows.push(row(agent));
        }
        total += 1;
    };
    let unfiltered = query.states.is_none() && query.skill_group.is_none();
    match &query.agent_ids {
        Some(ids) => ids
            .iter()
            .filter_map(|id| world.agents.get(id))
            .filter(|a| a.instance_id == instance && query.matches(a))
            .for_each(&mut take),
        None if unfiltered => {
            let ids = world.instance_agents(instance);
            total = ids.len();
            let end = window.end.min(total);
            let start = window.start.min(end);
            rows = ids[start..end]
                .iter()
                .filter_map(|id| world.agents.get(id))
                .map(row)
                .collect();
        }
        None => world
            .instance_agents(instance)
            .iter()
            .filter_map(|id| world.agents.get(id))
            .filter(|a| query.matches(a))
            .for_each(&mut take),
    }
    json!({
        "PageNumber": query.page_number,
        "PageSize": query.page_size,
        "TotalCount": total,
        "List": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(params: &[(&str, &str)]) -> Result<Query, CccError> {
        let map: HashMap<&str, &str> = params.iter().copied().collect();
        Query::parse("inst", |k| map.get(k).copied())
    }

    fn code(params: &[(&str, &str)]) -> (String, Vec<String>) {
        let e = parse(params).unwrap_err();
        (e.code.as_str().to_owned(), e.params)
    }

    #[test]
    fn vocabulary() {
        assert_eq!(realtime_state(&UserState::Working), "ACW");
        assert_eq!(realtime_state(&UserState::Talking), "Talking");
        assert_eq!(realtime_state(&UserState::Offline), "Offline");
        let all: Vec<&str> = UserState::ALL.iter().map(realtime_state).collect();
        for s in STATES.split(',') {
            assert!(all.contains(&s), "{s}");
        }
    }

    #[test]
    fn defaults_and_normalised_ids() {
        let q = parse(&[]).unwrap();
        assert_eq!((q.page_number, q.page_size), (1, DEFAULT_PAGE_SIZE));
        assert_eq!((q.agent_ids, q.states, q.skill_group), (None, None, None));
        let q = parse(&[
            ("PageSize", "100"),
            ("PageNumber", "3"),
            ("AgentIdList", r#"["b","a@inst","b@inst"]"#),
            ("StateList", r#"["ACW","Ready"]"#),
        ])
        .unwrap();
        assert_eq!(q.page_size, 100);
        assert_eq!(q.window(), 200..300);
        assert_eq!(q.agent_ids.unwrap(), ["a@inst", "b@inst"]);
        assert_eq!(q.states.unwrap(), ["ACW", "Ready"]);
    }

    #[test]
    fn bad_parameters_get_documented_codes() {
        let invalid = |name: &str| ("InvalidParameter".to_owned(), vec![name.to_owned()]);
        assert_eq!(code(&[("PageSize", "0")]), invalid("PageSize"));
        assert_eq!(code(&[("PageSize", "101")]), invalid("PageSize"));
        assert_eq!(code(&[("PageSize", "ten")]), invalid("PageSize"));
        assert_eq!(code(&[("PageNumber", "0")]), invalid("PageNumber"));
        assert_eq!(code(&[("AgentIdList", "a,b")]), invalid("AgentIdList"));
        let many: Vec<String> = (0..21).map(|i| format!("a{i}")).collect();
        let many = serde_json::to_string(&many).unwrap();
        assert_eq!(code(&[("AgentIdList", &many)]), invalid("AgentIdList"));
        assert_eq!(
            code(&[("StateList", r#"["WORKING"]"#)]),
            (
                "Parameter.Enumeration".to_owned(),
                vec!["StateList".to_owned(), STATES.to_owned()]
            )
        );
    }
}
