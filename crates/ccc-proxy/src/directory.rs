//! Issue 18: the transfer directory (`GET /api/v1/directory?q=`): agents
//! with their live state, configured skill groups, a typed number, and the
//! operator's quick connects as favourites.
//!
//! The agents come from one cache for the whole fleet: a
//! `ListRealtimeAgentStates` sweep (100 agents a call) when it is older
//! than `--directory-refresh-secs`, one sweep at a time however many
//! agents open their panel ([`DirectoryCache::agents`]), shared with the
//! other replicas through Redis (a replica whose copy is stale takes the
//! fleet's when it is fresh enough, else sweeps and stores it), and CCC's
//! agent events keep the states current in between
//! ([`DirectoryCache::apply`], on the replica that receives them).
//! [`search`] is a plain function: favourites first, then the typed
//! number, ready agents, skill groups, the other agents; an agent never
//! sees itself; the answer is capped.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use ccc_model::{
    api::{Directory, DirectoryEntry, DirectoryState, TargetType, TransferTarget},
    dial::DialNumber,
    text, UserState,
};

use crate::config::transfer::TransferConfig;
use crate::config::DialPolicy;
use crate::fleet::Fleet;
use crate::reconcile::{RealtimeAgent, PAGE_SIZE};
use crate::upstream::{CccClient, UpstreamError};

/// Most pages one sweep reads (10,000 agents).
const MAX_PAGES: usize = 100;

/// Redis name of the fleet's copy.
const FLEET_KEY: &str = "directory";

/// The fleet's copy: the agents and when they were swept (epoch ms).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Shared {
    at: i64,
    agents: Vec<DirAgent>,
}

/// One agent as the directory knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DirAgent {
    /// `UserId`.
    pub id: String,
    /// Display name (the id when CCC has none).
    pub name: String,
    /// Extension, when known.
    pub extension: Option<String>,
    /// Live state.
    pub state: DirectoryState,
}

/// The directory state of a `UserState`.
pub fn directory_state(state: &UserState) -> DirectoryState {
    match state {
        UserState::Ready => DirectoryState::Ready,
        UserState::Working => DirectoryState::Acw,
        UserState::Break => DirectoryState::Break,
        UserState::Offline => DirectoryState::Offline,
        UserState::Dialing | UserState::Ringing | UserState::Talking => DirectoryState::OnCall,
        UserState::Unknown(_) => DirectoryState::Offline,
    }
}

impl DirAgent {
    /// From one agent of a `ListRealtimeAgentStates` page.
    pub fn from_realtime(a: &RealtimeAgent) -> Option<Self> {
        let id = text::clean(&a.agent_id, text::MAX_ID);
        if id.is_empty() {
            return None;
        }
        let state = crate::reconcile::user_state(&a.state)
            .map_or(DirectoryState::Offline, |s| directory_state(&s));
        let name = text::clean(&a.agent_name, text::MAX_NAME);
        Some(DirAgent {
            name: if name.is_empty() { id.clone() } else { name },
            extension: text::clean_opt(Some(&a.extension), text::MAX_NUMBER),
            id,
            state,
        })
    }
}

#[derive(Debug, Default)]
struct Cached {
    agents: BTreeMap<String, DirAgent>,
    fetched_at: Option<Instant>,
}

/// The process's directory of agents.
#[derive(Debug, Default)]
pub struct DirectoryCache {
    cached: RwLock<Cached>,
    sweep: tokio::sync::Mutex<()>,
    sweeps: AtomicU64,
}

impl DirectoryCache {
    /// Every agent, swept again when older than `max_age` (one sweep at a
    /// time; the others wait for it and read its result). A failed sweep
    /// serves what is known, if anything.
    pub async fn agents(
        &self,
        client: &CccClient,
        fleet: Option<&Fleet>,
        max_age: Duration,
    ) -> Result<Vec<DirAgent>, UpstreamError> {
        if let Some(agents) = self.fresh(max_age) {
            return Ok(agents);
        }
        let _one = self.sweep.lock().await;
        if let Some(agents) = self.fresh(max_age) {
            return Ok(agents);
        }
        if let Some(agents) = self.take_fleet_copy(fleet, max_age).await {
            return Ok(agents);
        }
        match sweep(client).await {
            Ok(agents) => {
                self.sweeps.fetch_add(1, Ordering::Relaxed);
                if let Some(f) = fleet {
                    let shared = Shared {
                        at: crate::upstream::now_ms(),
                        agents: agents.clone(),
                    };
                    if let Ok(json) = serde_json::to_string(&shared) {
                        f.cache_put(FLEET_KEY, &json, max_age).await;
                    }
                }
                Ok(self.store(agents, Instant::now()))
            }
            Err(e) => {
                let c = self.cached.read().unwrap_or_else(|e| e.into_inner());
                if c.fetched_at.is_some() {
                    tracing::warn!(error = %e, "directory sweep failed: serving the last one");
                    Ok(c.agents.values().cloned().collect())
                } else {
                    Err(e)
                }
            }
        }
    }

    /// The fleet's copy when it is younger than `max_age`.
    async fn take_fleet_copy(
        &self,
        fleet: Option<&Fleet>,
        max_age: Duration,
    ) -> Option<Vec<DirAgent>> {
        let json = fleet?.cache_get(FLEET_KEY).await?;
        let shared: Shared = serde_json::from_str(&json).ok()?;
        let age = crate::upstream::now_ms().saturating_sub(shared.at);
        let age = Duration::from_millis(u64::try_from(age).ok()?);
        if age >= max_age {
            return None;
        }
        let swept = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        Some(self.store(shared.agents, swept))
    }

    fn store(&self, agents: Vec<DirAgent>, swept: Instant) -> Vec<DirAgent> {
        let mut c = self.cached.write().unwrap_or_else(|e| e.into_inner());
        c.agents = agents.into_iter().map(|a| (a.id.clone(), a)).collect();
        c.fetched_at = Some(swept);
        c.agents.values().cloned().collect()
    }

    fn fresh(&self, max_age: Duration) -> Option<Vec<DirAgent>> {
        let c = self.cached.read().unwrap_or_else(|e| e.into_inner());
        c.fetched_at
            .filter(|t| t.elapsed() < max_age)
            .map(|_| c.agents.values().cloned().collect())
    }

    /// An agent event: the agent's state, without any CCC call (agents
    /// not swept yet are left to the next sweep).
    pub fn apply(&self, agent_id: &str, state: &UserState) {
        let mut c = self.cached.write().unwrap_or_else(|e| e.into_inner());
        if let Some(a) = c.agents.get_mut(agent_id) {
            a.state = directory_state(state);
        }
    }

    /// The agent `id`, as last known.
    pub fn get(&self, id: &str) -> Option<DirAgent> {
        let c = self.cached.read().unwrap_or_else(|e| e.into_inner());
        c.agents.get(id).cloned()
    }

    /// Sweeps made so far (tests, metrics).
    pub fn sweeps(&self) -> u64 {
        self.sweeps.load(Ordering::Relaxed)
    }
}

/// Pages through `ListRealtimeAgentStates`.
async fn sweep(client: &CccClient) -> Result<Vec<DirAgent>, UpstreamError> {
    let mut out = Vec::new();
    for page in 1..=MAX_PAGES {
        let p = client.list_realtime_states(page, None).await?;
        let n = p.list.len();
        out.extend(p.list.iter().filter_map(DirAgent::from_realtime));
        if n < PAGE_SIZE || page * PAGE_SIZE >= p.total_count {
            break;
        }
    }
    Ok(out)
}

fn matches(q: &str, fields: &[&str]) -> bool {
    q.is_empty() || fields.iter().any(|f| f.to_lowercase().contains(q))
}

fn agent_entry(a: &DirAgent, favourite: bool) -> DirectoryEntry {
    DirectoryEntry {
        target: TransferTarget {
            kind: TargetType::Agent,
            id: a.id.clone(),
        },
        name: a.name.clone(),
        state: Some(a.state),
        extension: a.extension.clone(),
        favourite,
    }
}

/// The directory answer for agent `me` searching `q` in language `lang`.
pub fn search(
    q: &str,
    me: &str,
    lang: &str,
    agents: &[DirAgent],
    config: &TransferConfig,
    dial: &DialPolicy,
) -> Directory {
    let q = q.trim().to_lowercase();
    let mut entries: Vec<DirectoryEntry> = Vec::new();
    let known = |kind: TargetType, id: &str, entries: &[DirectoryEntry]| {
        entries
            .iter()
            .any(|e| e.target.kind == kind && e.target.id == id)
    };
    for f in &config.quick_connects {
        let name = f.name.get(lang);
        if f.kind == TargetType::Agent && f.target == me {
            continue;
        }
        if !matches(&q, &[name, &f.target]) {
            continue;
        }
        let live = agents.iter().find(|a| a.id == f.target);
        entries.push(DirectoryEntry {
            target: TransferTarget {
                kind: f.kind,
                id: f.target.clone(),
            },
            name: name.to_owned(),
            state: (f.kind == TargetType::Agent)
                .then(|| live.map(|a| a.state))
                .flatten(),
            extension: live.and_then(|a| a.extension.clone()),
            favourite: true,
        });
    }
    // A typed number the dial rules allow.
    if let Ok(number) = DialNumber::parse(&q) {
        if dial.check(&number, None).is_ok()
            && !known(TargetType::Number, number.as_str(), &entries)
        {
            entries.push(DirectoryEntry {
                target: TransferTarget {
                    kind: TargetType::Number,
                    id: number.as_str().to_owned(),
                },
                name: number.as_str().to_owned(),
                state: None,
                extension: None,
                favourite: false,
            });
        }
    }
    let mut found: Vec<&DirAgent> = agents
        .iter()
        .filter(|a| a.id != me)
        .filter(|a| matches(&q, &[&a.name, &a.id, a.extension.as_deref().unwrap_or("")]))
        .collect();
    found.sort_by_key(|a| (a.name.to_lowercase(), a.id.clone()));
    let (ready, others): (Vec<&DirAgent>, Vec<&DirAgent>) = found
        .into_iter()
        .partition(|a| a.state == DirectoryState::Ready);
    for a in ready {
        if !known(TargetType::Agent, &a.id, &entries) {
            entries.push(agent_entry(a, false));
        }
    }
    for g in &config.skill_groups {
        let name = g.name.get(lang);
        if matches(&q, &[name, &g.id]) && !known(TargetType::SkillGroup, &g.id, &entries) {
            entries.push(DirectoryEntry {
                target: TransferTarget {
                    kind: TargetType::SkillGroup,
                    id: g.id.clone(),
                },
                name: name.to_owned(),
                state: None,
                extension: None,
                favourite: false,
            });
        }
    }
    for a in others {
        if !known(TargetType::Agent, &a.id, &entries) {
            entries.push(agent_entry(a, false));
        }
    }
    entries.truncate(config.directory_limit);
    Directory { entries }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::transfer::{parse_quick_connect, parse_skill_groups};

    fn agent(id: &str, name: &str, ext: &str, state: DirectoryState) -> DirAgent {
        DirAgent {
            id: id.into(),
            name: name.into(),
            extension: Some(ext.into()),
            state,
        }
    }

    fn config() -> TransferConfig {
        TransferConfig {
            skill_groups: parse_skill_groups("sales@i=Sales|销售").unwrap(),
            quick_connects: vec![
                parse_quick_connect("number:02150001234=Head office|总部").unwrap(),
                parse_quick_connect("agent:c@i=Chen (billing)").unwrap(),
                parse_quick_connect("agent:me@i=Myself").unwrap(),
            ],
            ..TransferConfig::default()
        }
    }

    fn agents() -> Vec<DirAgent> {
        vec![
            agent("me@i", "Me", "80010000", DirectoryState::Ready),
            agent("a@i", "Ada", "80010001", DirectoryState::OnCall),
            agent("b@i", "Bo", "80010002", DirectoryState::Ready),
            agent("c@i", "Chen", "80010003", DirectoryState::Break),
            agent("d@i", "Dana", "80010004", DirectoryState::Ready),
        ]
    }

    fn ids(d: &Directory) -> Vec<&str> {
        d.entries.iter().map(|e| e.target.id.as_str()).collect()
    }

    #[test]
    fn favourites_then_ready_agents_then_groups_then_the_rest() {
        let d = search(
            "",
            "me@i",
            "en",
            &agents(),
            &config(),
            &DialPolicy::default(),
        );
        assert_eq!(
            ids(&d),
            ["02150001234", "c@i", "b@i", "d@i", "sales@i", "a@i"],
            "the agent never sees itself, a favourite is not repeated"
        );
        assert!(d.entries[1].favourite);
        assert_eq!(
            d.entries[1].state,
            Some(DirectoryState::Break),
            "live state"
        );
        assert_eq!(d.entries[5].state, Some(DirectoryState::OnCall));
        let zh = search(
            "",
            "me@i",
            "zh-CN",
            &agents(),
            &config(),
            &DialPolicy::default(),
        );
        assert_eq!(zh.entries[0].name, "总部");
        assert_eq!(zh.entries[4].name, "销售");
    }

    #[test]
    fn the_query_matches_name_extension_and_id_and_numbers_obey_the_dial_rules() {
        let policy = DialPolicy::default();
        let d = search("DANA", "me@i", "en", &agents(), &config(), &policy);
        assert_eq!(ids(&d), ["d@i"]);
        let d = search("80010002", "me@i", "en", &agents(), &config(), &policy);
        assert_eq!(
            ids(&d),
            ["80010002", "b@i"],
            "a typed number, and Bo's extension"
        );
        let d = search("a@i", "me@i", "en", &agents(), &config(), &policy);
        assert_eq!(ids(&d), ["a@i"]);
        let d = search("me", "me@i", "en", &agents(), &config(), &policy);
        assert!(ids(&d).is_empty(), "{:?}", ids(&d));
        let strict = DialPolicy::new(&[], Some(r"021\d{8}")).unwrap();
        let d = search("13812345678", "me@i", "en", &agents(), &config(), &strict);
        assert!(
            ids(&d).is_empty(),
            "a number the rules refuse is not offered"
        );
        let mut small = config();
        small.directory_limit = 2;
        assert_eq!(
            search("", "me@i", "en", &agents(), &small, &policy)
                .entries
                .len(),
            2
        );
    }

    #[test]
    fn realtime_states_map_to_directory_states() {
        let r = RealtimeAgent {
            agent_id: "a@i".into(),
            agent_name: "".into(),
            extension: "80010001".into(),
            state: "ACW".into(),
            ..RealtimeAgent::default()
        };
        let a = DirAgent::from_realtime(&r).unwrap();
        assert_eq!(a.state, DirectoryState::Acw);
        assert_eq!(a.name, "a@i", "the id when there is no name");
        for (s, d) in [
            ("Talking", DirectoryState::OnCall),
            ("Ringing", DirectoryState::OnCall),
            ("Ready", DirectoryState::Ready),
            ("Break", DirectoryState::Break),
            ("nonsense", DirectoryState::Offline),
        ] {
            let r = RealtimeAgent {
                state: s.into(),
                ..r.clone()
            };
            assert_eq!(DirAgent::from_realtime(&r).unwrap().state, d, "{s}");
        }
        let cache = DirectoryCache::default();
        cache.apply("a@i", &UserState::Ready);
        assert_eq!(cache.get("a@i"), None, "not swept yet");
    }
}
