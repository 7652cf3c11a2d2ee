//! Simulator configuration: instances, agents, key pairs and timings, from
//! code ([`SimConfig::demo`]) or a TOML file ([`SimConfig::from_toml_str`]).

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::SimError;

/// The demo instance id.
pub const DEMO_INSTANCE: &str = "ccc-demo";
/// The demo AccessKeyId.
pub const DEMO_ACCESS_KEY_ID: &str = "LTAI-demo-access-key";
/// The demo AccessKeySecret.
pub const DEMO_ACCESS_KEY_SECRET: &str = "demo-secret-do-not-use-in-production";

/// The whole configuration.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// The account's quota: signed calls per second over all key pairs,
    /// above which calls get `Throttling.User` (default: no limit).
    #[serde(default)]
    pub qps_limit: Option<u32>,
    /// Instances with their agents.
    #[serde(default)]
    pub instances: Vec<InstanceConfig>,
    /// Accepted key pairs.
    #[serde(default)]
    pub access_keys: Vec<KeyConfig>,
    /// Timers.
    #[serde(default)]
    pub timings: Timings,
    /// Event push (webhook) and its test faults.
    #[serde(default)]
    pub events: EventsConfig,
    /// Issue 20: the SIP server (credentials, registrations, TURN).
    #[serde(default)]
    pub softphone: crate::softphone::SoftphoneConfig,
}

/// One CCC instance.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    /// The instance id, e.g. `ccc-demo`.
    pub id: String,
    /// Its agents.
    #[serde(default)]
    pub agents: Vec<AgentConfig>,
    /// This many more agents, `agent00001@<id>` … with extensions
    /// `81000001` … and names `Agent 00001` … (for tests and benches).
    #[serde(default)]
    pub generated_agents: usize,
    /// Issue 18: the skill groups a transfer can go to.
    #[serde(default)]
    pub skill_groups: Vec<SkillGroupConfig>,
}

/// Issue 18: a skill group (queue) of an instance. A transfer to it rings
/// the READY agent that has been READY longest among its members (the
/// configured ones and those signed into it with SignInGroup).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkillGroupConfig {
    /// The skill group id, e.g. `sales@ccc-demo`.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Agents assigned to it (`UserId`s).
    #[serde(default)]
    pub members: Vec<String>,
}

/// One agent of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// `name@instance`; a bare `name` gets `@<instance>` appended.
    pub user_id: String,
    /// Display name.
    pub display_name: String,
    /// 8-digit extension.
    pub extension: String,
    /// Personal phone number (OFF_SITE work mode).
    #[serde(default)]
    pub mobile: Option<String>,
}

/// An accepted key pair. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// AccessKeyId.
    pub id: String,
    /// AccessKeySecret.
    pub secret: String,
    /// The agent (`name@instance`) this key acts for when a request omits
    /// `UserId`, like the RAM user mapped to an agent in the real cloud.
    #[serde(default)]
    pub default_user: Option<String>,
}

impl std::fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyConfig")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("default_user", &self.default_user)
            .finish()
    }
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("instances", &self.instances)
            .field("access_keys", &self.access_keys)
            .field("timings", &self.timings)
            .field("qps_limit", &self.qps_limit)
            .field("events", &self.events)
            .field("softphone", &self.softphone)
            .finish()
    }
}

/// Timers, in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timings {
    /// Unanswered ringing → BREAK / `RingingTimeout` (default 30 000).
    pub ringing_timeout_ms: u64,
    /// WORKING → READY after a call (default 15 000, as the web SDK).
    pub after_call_ms: u64,
    /// Answer ringing calls automatically after this delay (default: never).
    pub auto_answer_ms: Option<u64>,
    /// Generate an inbound call for a READY agent every N seconds (default: off).
    pub demo_calls_secs: Option<u64>,
    /// How long a generated demo call talks before the customer hangs up
    /// (default 30 000).
    pub demo_talk_ms: u64,
    /// Allowed clock skew of signed requests, in seconds (default 900).
    pub clock_window_secs: u64,
    /// A dialled customer answers after this delay (default 2 000; `None`,
    /// only from code or the admin API: never by itself).
    pub dial_answer_ms: Option<u64>,
    /// An outbound attempt not answered in this time is released, unless
    /// MakeCall's `TimeoutSeconds` says otherwise (default 30 000).
    pub dial_timeout_ms: u64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            ringing_timeout_ms: 30_000,
            after_call_ms: 15_000,
            auto_answer_ms: None,
            demo_calls_secs: None,
            demo_talk_ms: 30_000,
            clock_window_secs: 900,
            dial_answer_ms: Some(2_000),
            dial_timeout_ms: 30_000,
        }
    }
}

/// How dialled customers behave, changeable at run time through
/// `PUT /_sim/dial` (JSON camelCase).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DialTimings {
    /// The customer answers after this many ms (`null`: only through
    /// `POST /_sim/calls/{jobId}/answer`).
    pub answer_ms: Option<u64>,
    /// Unanswered attempts are released after this many ms when MakeCall
    /// has no `TimeoutSeconds`.
    pub timeout_ms: u64,
}

impl Timings {
    /// The dial part of the timings.
    pub fn dial(&self) -> DialTimings {
        DialTimings {
            answer_ms: self.dial_answer_ms,
            timeout_ms: self.dial_timeout_ms,
        }
    }
}

/// Generated agents' extensions start with these two digits.
pub const GENERATED_EXTENSION_PREFIX: &str = "81";
/// At most this many generated agents per instance.
pub const MAX_GENERATED_AGENTS: usize = 999_999;
/// Default capacity of the event delivery queue, in events: 10,000 agents
/// may all sign in at once (two events each) with room to spare.
pub const DEFAULT_EVENT_QUEUE: usize = 50_000;

/// Where events are pushed (webhook mode of `UpdateSubscription`). `Debug`
/// shows neither the token nor the URL's path (which may carry a secret).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    url: reqwest::Url,
    token: Option<String>,
}

impl WebhookTarget {
    /// A target at `url` (http or https); deliveries carry
    /// `Authorization: Bearer <token>` when a token is given.
    pub fn new(url: &str, token: Option<String>) -> Result<Self, SimError> {
        let parsed = reqwest::Url::parse(url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| SimError::Config("the webhook URL must be an http(s) URL".into()))?;
        Ok(WebhookTarget {
            url: parsed,
            token: token.filter(|t| !t.is_empty()),
        })
    }

    /// The receiver's URL.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// The bearer token, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The same URL with another token.
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token.filter(|t| !t.is_empty());
        self
    }

    /// `scheme://host:port`, safe to log and to show.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("origin", &self.origin())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Checks that every given rate is a probability (0..=1); the error names
/// the first that is not.
pub fn check_rates(rates: &[(&str, Option<f64>)]) -> Result<(), String> {
    match rates
        .iter()
        .find(|(_, r)| r.is_some_and(|r| !(0.0..=1.0).contains(&r)))
    {
        Some((name, _)) => Err(format!("{name} must be between 0 and 1")),
        None => Ok(()),
    }
}

/// Test faults of event delivery (JSON camelCase on the admin API). Rates
/// are probabilities in 0..=1, drawn per event; with a `seed` the draws
/// repeat exactly for the same sequence of events.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DeliveryFaults {
    /// Share of events never delivered.
    pub loss_rate: f64,
    /// Share of events delivered twice (the copy comes in a later POST).
    pub duplicate_rate: f64,
    /// Share of events held back and delivered after later ones.
    pub reorder_rate: f64,
    /// Seed of the draws (default: random).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl DeliveryFaults {
    /// Checks that every rate is in 0..=1.
    pub fn validate(&self) -> Result<(), SimError> {
        let rates = [
            ("lossRate", Some(self.loss_rate)),
            ("duplicateRate", Some(self.duplicate_rate)),
            ("reorderRate", Some(self.reorder_rate)),
        ];
        check_rates(&rates).map_err(SimError::Config)
    }
}

/// One string or a list of strings (TOML `x = "a"` or `x = ["a", "b"]`).
pub(crate) fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// `[events]`: the webhook set at start (instead of `UpdateSubscription`)
/// and the delivery faults. `Debug` never shows the token.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// The receiver's URL (default: no push until `UpdateSubscription`);
    /// several URLs take POSTs in turn, like a load balancer in front of
    /// proxy replicas.
    #[serde(deserialize_with = "one_or_many")]
    pub webhook_url: Vec<String>,
    /// Sent as `Authorization: Bearer <token>`.
    pub webhook_token: Option<String>,
    /// Share of events lost (0..=1).
    pub loss_rate: f64,
    /// Share of events delivered twice (0..=1).
    pub duplicate_rate: f64,
    /// Share of events delivered out of order (0..=1).
    pub reorder_rate: f64,
    /// Seed of the fault draws.
    pub seed: Option<u64>,
    /// Events waiting for delivery at most; more are dropped and counted.
    pub queue_capacity: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            webhook_url: Vec::new(),
            webhook_token: None,
            loss_rate: 0.0,
            duplicate_rate: 0.0,
            reorder_rate: 0.0,
            seed: None,
            queue_capacity: DEFAULT_EVENT_QUEUE,
        }
    }
}

impl std::fmt::Debug for EventsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsConfig")
            .field("webhooks", &self.targets().unwrap_or_default())
            .field("faults", &self.faults())
            .field("queue_capacity", &self.queue_capacity)
            .finish()
    }
}

impl EventsConfig {
    /// The webhooks (none when no URL is set), all with the token.
    pub fn targets(&self) -> Result<Vec<WebhookTarget>, SimError> {
        self.webhook_url
            .iter()
            .filter(|u| !u.trim().is_empty())
            .map(|u| WebhookTarget::new(u, self.webhook_token.clone()))
            .collect()
    }

    /// The delivery faults.
    pub fn faults(&self) -> DeliveryFaults {
        DeliveryFaults {
            loss_rate: self.loss_rate,
            duplicate_rate: self.duplicate_rate,
            reorder_rate: self.reorder_rate,
            seed: self.seed,
        }
    }

    fn validate(&self) -> Result<(), SimError> {
        self.targets()?;
        self.faults().validate()?;
        if self.queue_capacity == 0 {
            return Err(SimError::Config("queue_capacity must be positive".into()));
        }
        Ok(())
    }
}

/// An agent as the proxy's demo sign-in page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimAgent {
    /// `name@instance`.
    pub user_id: String,
    /// The instance.
    pub instance_id: String,
    /// Display name.
    pub display_name: String,
    /// 8-digit extension.
    pub extension: String,
}

impl SimConfig {
    /// The demo: instance `ccc-demo` with four agents and the demo key pair.
    pub fn demo() -> Self {
        let agent = |name: &str, display: &str, ext: &str| AgentConfig {
            user_id: format!("{name}@{DEMO_INSTANCE}"),
            display_name: display.to_owned(),
            extension: ext.to_owned(),
            mobile: None,
        };
        SimConfig {
            qps_limit: None,
            events: EventsConfig::default(),
            instances: vec![InstanceConfig {
                id: DEMO_INSTANCE.to_owned(),
                generated_agents: 0,
                agents: vec![
                    agent("agent1", "Ada Li", "80010001"),
                    agent("agent2", "Bo Wang", "80010002"),
                    agent("agent3", "Chen Zhao", "80010003"),
                    agent("supervisor", "Dana Xu", "80010009"),
                ],
                skill_groups: vec![
                    SkillGroupConfig {
                        id: format!("sales@{DEMO_INSTANCE}"),
                        name: "Sales".to_owned(),
                        members: vec![
                            format!("agent1@{DEMO_INSTANCE}"),
                            format!("agent2@{DEMO_INSTANCE}"),
                        ],
                    },
                    SkillGroupConfig {
                        id: format!("support@{DEMO_INSTANCE}"),
                        name: "Support".to_owned(),
                        members: vec![
                            format!("agent2@{DEMO_INSTANCE}"),
                            format!("agent3@{DEMO_INSTANCE}"),
                        ],
                    },
                ],
            }],
            access_keys: vec![KeyConfig {
                id: DEMO_ACCESS_KEY_ID.to_owned(),
                secret: DEMO_ACCESS_KEY_SECRET.to_owned(),
                default_user: None,
            }],
            timings: Timings::default(),
            softphone: crate::softphone::SoftphoneConfig::default(),
        }
    }

    /// Parses and validates a TOML configuration (see `sim.example.toml`).
    pub fn from_toml_str(s: &str) -> Result<Self, SimError> {
        let mut config: SimConfig =
            toml::from_str(s).map_err(|e| SimError::Config(e.to_string()))?;
        config.normalize();
        config.validate()?;
        Ok(config)
    }

    /// Reads [`SimConfig::from_toml_str`] from a file.
    pub fn from_toml_file(path: &std::path::Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SimError::Config(format!("{}: {e}", path.display())))?;
        Self::from_toml_str(&text)
    }

    /// Adds an accepted key pair.
    pub fn with_access_key(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.access_keys.push(KeyConfig {
            id: id.into(),
            secret: secret.into(),
            default_user: None,
        });
        self
    }

    /// The (id, secret) pairs accepted.
    pub fn access_keys(&self) -> Vec<(String, String)> {
        self.access_keys
            .iter()
            .map(|k| (k.id.clone(), k.secret.clone()))
            .collect()
    }

    /// Every configured agent.
    pub fn agents(&self) -> Vec<SimAgent> {
        self.instances
            .iter()
            .flat_map(|i| {
                i.agents.iter().map(|a| SimAgent {
                    user_id: a.user_id.clone(),
                    instance_id: i.id.clone(),
                    display_name: a.display_name.clone(),
                    extension: a.extension.clone(),
                })
            })
            .collect()
    }

    /// Adds `n` generated agents (`agent00001@<instance>`, extension
    /// `81000001`, name `Agent 00001`, ...) to the first instance, after
    /// any generated before. For tests and benches with many agents.
    pub fn with_generated_agents(mut self, n: usize) -> Self {
        if let Some(inst) = self.instances.first_mut() {
            inst.generated_agents += n;
        }
        self.normalize();
        self
    }

    /// Appends `@instance` to bare names and materialises generated agents.
    fn normalize(&mut self) {
        for inst in &mut self.instances {
            for a in &mut inst.agents {
                if !a.user_id.contains('@') {
                    a.user_id = format!("{}@{}", a.user_id, inst.id);
                }
            }
            if inst.generated_agents > MAX_GENERATED_AGENTS {
                continue; // `validate` refuses it
            }
            let have: BTreeSet<String> = inst.agents.iter().map(|a| a.user_id.clone()).collect();
            for n in 1..=inst.generated_agents {
                let user_id = format!("agent{n:05}@{}", inst.id);
                if have.contains(&user_id) {
                    continue;
                }
                inst.agents.push(AgentConfig {
                    user_id,
                    display_name: format!("Agent {n:05}"),
                    extension: format!("{GENERATED_EXTENSION_PREFIX}{n:06}"),
                    mobile: None,
                });
            }
        }
    }

    /// Checks ids, extensions and key pairs.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Config(m));
        let mut instances = BTreeSet::new();
        let mut users = BTreeSet::new();
        for inst in &self.instances {
            if inst.id.trim().is_empty() || !instances.insert(inst.id.as_str()) {
                return bad(format!("instance id {:?} is empty or repeated", inst.id));
            }
            for a in &inst.agents {
                if a.user_id.rsplit_once('@').map(|(_, i)| i) != Some(inst.id.as_str()) {
                    return bad(format!("user {} must end with @{}", a.user_id, inst.id));
                }
                if !users.insert(a.user_id.as_str()) {
                    return bad(format!("user {} is repeated", a.user_id));
                }
                if a.extension.len() != 8 || !a.extension.bytes().all(|b| b.is_ascii_digit()) {
                    return bad(format!(
                        "extension {:?} of {} must be 8 digits",
                        a.extension, a.user_id
                    ));
                }
            }
        }
        let mut keys = BTreeSet::new();
        for k in &self.access_keys {
            if k.id.is_empty() || k.secret.is_empty() || !keys.insert(k.id.as_str()) {
                return bad(format!("access key {:?} is empty or repeated", k.id));
            }
            if let Some(u) = &k.default_user {
                if !users.contains(u.as_str()) {
                    return bad(format!("default_user {u} of key {} is not an agent", k.id));
                }
            }
        }
        for inst in &self.instances {
            if inst.generated_agents > MAX_GENERATED_AGENTS {
                return bad(format!(
                    "generated_agents of {} must be at most {MAX_GENERATED_AGENTS}",
                    inst.id
                ));
            }
        }
        if self.qps_limit == Some(0) {
            return bad("qps_limit must be positive (omit it for no limit)".to_owned());
        }
        self.events.validate()?;
        if self.timings.ringing_timeout_ms == 0 {
            return bad("ringing_timeout_ms must be positive".to_owned());
        }
        if self.timings.dial_timeout_ms == 0 {
            return bad("dial_timeout_ms must be positive".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_matches_the_contract() {
        let c = SimConfig::demo();
        c.validate().unwrap();
        assert_eq!(
            c.access_keys(),
            vec![(
                DEMO_ACCESS_KEY_ID.to_owned(),
                DEMO_ACCESS_KEY_SECRET.to_owned()
            )]
        );
        let agents = c.agents();
        let ids: Vec<_> = agents.iter().map(|a| a.user_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "agent1@ccc-demo",
                "agent2@ccc-demo",
                "agent3@ccc-demo",
                "supervisor@ccc-demo"
            ]
        );
        assert_eq!(agents[0].display_name, "Ada Li");
        assert_eq!(agents[3].extension, "80010009");
        assert!(!format!("{c:?}").contains(DEMO_ACCESS_KEY_SECRET));
    }

    #[test]
    fn the_example_file_parses() {
        let c = SimConfig::from_toml_str(include_str!("../sim.example.toml")).unwrap();
        assert!(!c.agents().is_empty());
        assert!(!c.access_keys().is_empty());
    }

    #[test]
    fn toml_with_bare_names_and_defaults() {
        let c = SimConfig::from_toml_str(
            r#"
            [[instances]]
            id = "inst"
            [[instances.agents]]
            user_id = "bob"
            display_name = "Bob"
            extension = "12345678"
            [[access_keys]]
            id = "k"
            secret = "s"
            default_user = "bob@inst"
            [timings]
            after_call_ms = 5
            "#,
        )
        .unwrap();
        assert_eq!(c.agents()[0].user_id, "bob@inst");
        assert_eq!(c.timings.after_call_ms, 5);
        assert_eq!(c.timings.ringing_timeout_ms, 30_000);
    }

    #[test]
    fn quota_events_and_generated_agents_from_toml() {
        let c = SimConfig::from_toml_str(
            r#"
            qps_limit = 20
            [events]
            webhook_url = "http://127.0.0.1:8080/ccc/events/path-token"
            webhook_token = "bearer-token"
            loss_rate = 0.25
            seed = 9
            [[instances]]
            id = "big"
            generated_agents = 3
            "#,
        )
        .unwrap();
        assert_eq!(c.qps_limit, Some(20));
        let targets = c.events.targets().unwrap();
        assert_eq!(targets.len(), 1);
        let target = &targets[0];
        assert_eq!(target.token(), Some("bearer-token"));
        assert_eq!(target.origin(), "http://127.0.0.1:8080");
        assert_eq!(c.events.faults().loss_rate, 0.25);
        assert_eq!(c.events.faults().seed, Some(9));
        assert_eq!(c.events.queue_capacity, DEFAULT_EVENT_QUEUE);
        assert_eq!(c.agents().len(), 3);
        let shown = format!("{c:?}");
        assert!(!shown.contains("bearer-token"), "{shown}");
        assert!(!shown.contains("path-token"), "{shown}");
        assert!(shown.contains("127.0.0.1:8080"), "{shown}");
        let two = SimConfig::from_toml_str(
            "[events]\nwebhook_url = [\"http://127.0.0.1:1/a\", \"http://127.0.0.1:2/b\"]\n",
        )
        .unwrap();
        assert_eq!(two.events.targets().unwrap().len(), 2);
    }

    #[test]
    fn webhook_targets_must_be_http() {
        for bad in ["", "not a url", "ftp://h/x", "mailto:a@b", "http://"] {
            assert!(WebhookTarget::new(bad, None).is_err(), "{bad}");
        }
        let t = WebhookTarget::new(" https://h.example/x ", Some(String::new())).unwrap();
        assert_eq!(t.token(), None, "an empty token is no token");
        assert_eq!(t.url().as_str(), "https://h.example/x");
    }

    #[test]
    fn toml_errors() {
        for bad in [
            "[[instances]]\nid = \"i\"\n[[instances.agents]]\nuser_id = \"a\"\ndisplay_name = \"A\"\nextension = \"123\"",
            "[[instances]]\nid = \"i\"\n[[instances.agents]]\nuser_id = \"a@other\"\ndisplay_name = \"A\"\nextension = \"12345678\"",
            "[[access_keys]]\nid = \"k\"\nsecret = \"s\"\ndefault_user = \"x@y\"",
            "unknown_field = 1",
            "[[instances]]\nid = \"i\"\n[[instances]]\nid = \"i\"",
            "qps_limit = 0",
            "[events]\nloss_rate = 1.5",
            "[events]\nwebhook_url = \"ftp://x/y\"",
            "[events]\nqueue_capacity = 0",
            "[events]\nbogus = 1",
            "[[instances]]\nid = \"i\"\ngenerated_agents = 1000000",
        ] {
            assert!(SimConfig::from_toml_str(bad).is_err(), "{bad}");
        }
    }
}
