//! Replicas coordinated through Redis (`--redis-url`).
//!
//! - **Leases.** `lease:<agent>` = `<replica>:<epoch>`, set with `SET NX PX`
//!   and renewed while anybody watches the agent (`interest:<agent>`, set by
//!   every replica with a waiting browser). The epoch (`INCR epoch:<agent>`)
//!   fences writes: an owner whose lease moved on cannot store a poll.
//!   A lease follows the browsers: a replica with a browser waiting for an
//!   agent owned elsewhere names itself `heir:<agent>`, and an owner with no
//!   browser of that agent left hands the lease to the heir at its next
//!   renewal (so after a replica restart, or a rolling deploy, the work
//!   spreads back instead of staying on the replicas that stayed up).
//! - **Views.** `view:<agent>` holds the shown [`View`] and a revision;
//!   every write is a compare-and-set on the revision, made by the same
//!   rules as a single process ([`crate::view`]), and published on
//!   `views` so every replica wakes its waiters. After a pub/sub reconnect
//!   each replica re-reads the views it holds.
//! - **Forwarding.** An event that needs a `PollUserStatus` for an agent
//!   owned elsewhere is published on `fwd` for the owner. An event for an
//!   agent this replica does not hold, with no view in Redis either (Redis
//!   restarted empty), is published on `fwd` for every replica: those
//!   holding the agent apply it. After Redis comes back (the subscription
//!   reconnects) every replica writes the views it holds back
//!   ([`crate::poller::Hub::write_back`]).
//! - **Presence.** Every replica holding long-polls of an agent keeps
//!   `presence:<agent>` alive (its TTL: the rest of the grace); when it is
//!   gone, the first replica to claim `presence-decided:<agent>` (`SET NX`)
//!   decides for the fleet, once per absence: the next long-poll anywhere
//!   deletes the claim.
//! - **Demo sign-out.** `revoked` (a hash: user → epoch ms) holds every
//!   replica's sign-outs; a sign-out is published on `revoked` and each
//!   replica keeps a copy (re-read on every subscription), so a cookie
//!   signed out on one replica stops working on all of them.
//! - **Watchers.** `watched` (a sorted set: agent → when a replica last
//!   vouched for a long-poll) outlives every replica: after a restart the
//!   presence sweep starts from it ([`Fleet::last_watchers`]), so an agent
//!   whose toolbar closed while the fleet was down is still moved.
//! - **Shared buckets.** The per-agent command rate limit is a token
//!   bucket in Redis (one Lua script, Redis's clock); the upstream budget
//!   (a sliding window) and its throttling slow-down are scripts of
//!   [`crate::budget`], run here ([`Fleet::invoke`]); the per-agent dial limit is a sliding log of
//!   the agent's dials (a sorted set, one Lua script, Redis's clock).
//!
//! Every operation has a short timeout. When Redis fails the replica goes
//! on alone (its own polling inside `qps / replicas`) and comes back by
//! itself: [`Fleet::healthy`] says which mode it is in, with hysteresis
//! ([`Health`]: `--redis-fail-after` failures in a row before alone,
//! `--redis-recover-after` successes in a row before back).
//!
//! `rediss://` URLs connect over TLS (rustls); `--redis-ca-file` names the
//! CA of a managed Redis, else the public web roots are trusted.

use std::{
    fmt,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use futures_util::StreamExt;
use redis::{aio::ConnectionManager, AsyncCommands, Script};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::{clock::now_ms, view::View};

/// Longest wait for one Redis operation.
const OP_TIMEOUT: Duration = Duration::from_millis(500);
/// How long a stored view outlives its last write.
const VIEW_TTL_MS: u64 = 24 * 3600 * 1000;
/// Agents per lease script call.
const LEASE_BATCH: usize = 500;

/// Messages the subscriber hands to the hub.
#[derive(Debug, Clone)]
pub enum FleetMessage {
    /// A replica stored a new view of `agent`.
    View {
        /// The agent.
        agent: String,
        /// Its view.
        view: Box<View>,
    },
    /// Refresh `agent` (this replica owns it).
    Refresh {
        /// The agent.
        agent: String,
    },
    /// An event forwarded by a replica that does not hold `agent`: apply
    /// it if this replica does.
    Event {
        /// The event.
        event: Box<ccc_model::EventMessage>,
    },
    /// Pub/sub (re)connected: re-read every held view.
    Resync,
}

#[derive(Serialize, Deserialize)]
struct ViewMsg {
    a: String,
    v: View,
}

#[derive(Serialize, Deserialize)]
struct RevokedMsg {
    u: String,
    at: i64,
}

#[derive(Serialize, Deserialize)]
struct FwdMsg {
    a: String,
    /// A replica id, or [`EVERY_REPLICA`].
    to: String,
    /// A forwarded event (else: a refresh request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<ccc_model::EventMessage>,
}

/// `FwdMsg::to` of a message for every replica.
const EVERY_REPLICA: &str = "*";

/// A lease held by this replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The fencing epoch.
    pub epoch: i64,
}

/// The result of a compare-and-set of a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cas {
    /// Stored (and published when the version moved).
    Stored,
    /// Somebody wrote in between: read again.
    Conflict,
    /// The fencing lease is no longer ours.
    Fenced,
}

/// Handle on the fleet. Cheap to clone.
#[derive(Clone)]
pub struct Fleet {
    inner: Arc<Inner>,
}

struct Inner {
    id: String,
    prefix: String,
    client: redis::Client,
    conn: ConnectionManager,
    healthy: AtomicBool,
    health: std::sync::Mutex<Health>,
    replicas: AtomicUsize,
    lease_ttl: Duration,
    scripts: Scripts,
    /// Demo sign-outs of the whole fleet (user → epoch ms), as last heard.
    revoked: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

struct Scripts {
    leases: Script,
    release: Script,
    cas: Script,
    bucket: Script,
    vouch: Script,
    claim: Script,
    dial: Script,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: never print it.
        f.debug_struct("Fleet")
            .field("replica", &self.inner.id)
            .field("prefix", &self.inner.prefix)
            .field("healthy", &self.healthy())
            .finish_non_exhaustive()
    }
}

const LEASES_LUA: &str = r"
-- KEYS: lease, epoch, interest, heir per agent; ARGV: id, ttl, idle, then a mode per agent
-- (1: a browser waits here, 0: renew only while somebody still watches).
local out = {}
for i = 1, #KEYS, 4 do
  local mode = ARGV[3 + (i + 3) / 4]
  if mode == '1' then redis.call('SET', KEYS[i+2], '1', 'PX', ARGV[3]) end
  local cur = redis.call('GET', KEYS[i])
  local wanted = mode == '1' or redis.call('EXISTS', KEYS[i+2]) == 1
  if not cur then
    if wanted then
      local e = redis.call('INCR', KEYS[i+1])
      redis.call('SET', KEYS[i], ARGV[1] .. ':' .. e, 'PX', ARGV[2])
      out[#out+1] = e
    else
      out[#out+1] = 0
    end
  else
    local sep = string.find(cur, ':[^:]*$')
    if string.sub(cur, 1, sep - 1) == ARGV[1] then
      -- (the heir is read only when no browser waits here)
      local heir = mode == '0' and redis.call('GET', KEYS[i+3])
      if heir and heir ~= ARGV[1] then
        -- No browser here, some on the heir's replica: the lease follows
        -- them, under a new epoch (this replica's late writes are fenced).
        local e = redis.call('INCR', KEYS[i+1])
        redis.call('SET', KEYS[i], heir .. ':' .. e, 'PX', ARGV[2])
        redis.call('DEL', KEYS[i+3])
        out[#out+1] = 0
      elseif wanted then
        redis.call('PEXPIRE', KEYS[i], ARGV[2])
        out[#out+1] = tonumber(string.sub(cur, sep + 1))
      else
        redis.call('DEL', KEYS[i])
        out[#out+1] = 0
      end
    else
      -- Owned elsewhere: a replica with a browser waiting asks for it.
      if mode == '1' then redis.call('SET', KEYS[i+3], ARGV[1], 'PX', ARGV[2]) end
      out[#out+1] = -1
    end
  end
end
return out
";

const RELEASE_LUA: &str = r"
for i = 1, #KEYS do
  local cur = redis.call('GET', KEYS[i])
  if cur and string.sub(cur, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ':' then
    redis.call('DEL', KEYS[i])
  end
end
return 1
";

const CAS_LUA: &str = r"
-- KEYS: view, lease; ARGV: expected rev, view json, fence ('' = none), channel, message ('' = none), ttl
local rev = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
if rev ~= tonumber(ARGV[1]) then return 0 end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then return -1 end
redis.call('HSET', KEYS[1], 'rev', rev + 1, 'view', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 1
";

const BUCKET_LUA: &str = r"
-- KEYS: bucket, pause; ARGV: rate/s, capacity, floor. Returns 0 or ms to wait.
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return pause end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, cap, floor = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or cap)
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or now)
tokens = math.min(cap, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 + floor then tokens = tokens - 1
else wait = math.max(1, math.ceil((1 + floor - tokens) * 1000 / rate)) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], 3600000)
return wait
";

const VOUCH_LUA: &str = r"
-- KEYS: watched, then presence, presence-decided per agent; ARGV: now (ms),
-- then agent and ms left per agent. The agent was here lately: alive a
-- while longer, a new absence, and a last known watcher.
for i = 2, #KEYS, 2 do
  -- the agent's ARGV pair sits at the same index as its KEYS pair
  redis.call('SET', KEYS[i], '1', 'PX', ARGV[i + 1])
  redis.call('DEL', KEYS[i + 1])
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
end
return 1
";

const CLAIM_LUA: &str = r"
-- KEYS: presence, presence-decided; ARGV: replica id, ttl. 1: decide here.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local cur = redis.call('GET', KEYS[2])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
";

const DIAL_LUA: &str = r"
-- KEYS: the agent's dial log (sorted set, score = ms); ARGV: per minute,
-- per hour, a unique member. Returns 0 (recorded) or ms to wait.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 3600000)
local per_min, per_hour = tonumber(ARGV[1]), tonumber(ARGV[2])
local wait = 0
local hour = redis.call('ZCARD', KEYS[1])
if hour >= per_hour then
  local e = redis.call('ZRANGE', KEYS[1], hour - per_hour, hour - per_hour, 'WITHSCORES')
  wait = math.max(wait, tonumber(e[2]) + 3600000 - now)
end
local minute = redis.call('ZCOUNT', KEYS[1], now - 59999, '+inf')
if minute >= per_min then
  local e = redis.call('ZRANGEBYSCORE', KEYS[1], now - 59999, '+inf', 'WITHSCORES', 'LIMIT', minute - per_min, 1)
  wait = math.max(wait, tonumber(e[2]) + 60000 - now)
end
if wait > 0 then return wait end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], 3600000)
return 0
";

/// Redis health with hysteresis: one slow answer does not send the
/// replica off alone, one good answer does not bring it back.
///
/// Until the first outcome the state is unknown and that outcome decides
/// (a replica starting next to a working Redis joins at once); afterwards
/// `fail_after` failures in a row turn it unhealthy and `recover_after`
/// successes in a row healthy again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    fail_after: u32,
    recover_after: u32,
    healthy: Option<bool>,
    /// Outcomes in a row that disagree with `healthy`.
    streak: u32,
}

impl Health {
    /// Unknown until the first outcome; thresholds of at least 1.
    pub fn new(fail_after: u32, recover_after: u32) -> Self {
        Health {
            fail_after: fail_after.max(1),
            recover_after: recover_after.max(1),
            healthy: None,
            streak: 0,
        }
    }

    /// True while healthy (false while unknown).
    pub fn healthy(&self) -> bool {
        self.healthy == Some(true)
    }

    /// Records one operation's outcome; `Some(now)` when the state flipped.
    pub fn record(&mut self, ok: bool) -> Option<bool> {
        let Some(healthy) = self.healthy else {
            self.healthy = Some(ok);
            return Some(ok);
        };
        if ok == healthy {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let needed = if healthy {
            self.fail_after
        } else {
            self.recover_after
        };
        if self.streak < needed {
            return None;
        }
        self.streak = 0;
        self.healthy = Some(ok);
        Some(ok)
    }
}

impl Default for Health {
    /// 3 failures in a row to go alone, 2 successes to come back.
    fn default() -> Self {
        Health::new(3, 2)
    }
}

/// How a [`Fleet`] connects and judges Redis.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Key and channel prefix.
    pub prefix: String,
    /// Agent lease lifetime.
    pub lease_ttl: Duration,
    /// PEM of the CA trusted for `rediss://` (else the public web roots).
    pub ca_pem: Option<Vec<u8>>,
    /// The health rule.
    pub health: Health,
}

impl FleetOptions {
    /// Plain TCP or public-root TLS, default health.
    pub fn new(prefix: &str, lease_ttl: Duration) -> Self {
        FleetOptions {
            prefix: prefix.to_owned(),
            lease_ttl,
            ca_pem: None,
            health: Health::default(),
        }
    }

    /// From the validated flags.
    pub fn from_config(r: &crate::config::RedisConfig) -> Self {
        FleetOptions {
            prefix: r.prefix.clone(),
            lease_ttl: r.lease_ttl,
            ca_pem: r.ca_pem.clone(),
            health: Health::new(r.fail_after, r.recover_after),
        }
    }
}

/// The Redis client for `url`: TLS with `ca_pem` as the only root when
/// given (`rediss://` only).
fn redis_client(url: &str, ca_pem: Option<&[u8]>) -> Result<redis::Client, String> {
    let client = match ca_pem {
        Some(pem) => redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.to_vec()),
            },
        ),
        None => redis::Client::open(url),
    };
    // Never the URL itself: it may carry a password.
    client.map_err(|e| format!("--redis-url is not usable: {e}"))
}

/// A Redis operation that did not complete.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// Redis answered with an error or the connection failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// No answer in time.
    #[error("redis did not answer in time")]
    Timeout,
}

impl Fleet {
    /// Connects lazily to `url` (keys under `prefix`); never fails because
    /// Redis is down: the replica starts alone and joins when it can.
    pub fn new(url: &str, prefix: &str, lease_ttl: Duration) -> Result<Self, String> {
        Self::with_options(url, FleetOptions::new(prefix, lease_ttl))
    }

    /// Connects lazily to `url` with `opts` (TLS roots, health rule).
    pub fn with_options(url: &str, opts: FleetOptions) -> Result<Self, String> {
        let FleetOptions {
            prefix,
            lease_ttl,
            ca_pem,
            health,
        } = opts;
        let prefix = prefix.as_str();
        let client = redis_client(url, ca_pem.as_deref())?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(OP_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|e| format!("--redis-url is not usable: {e}"))?;
        let id: [u8; 8] = rand::random();
        Ok(Fleet {
            inner: Arc::new(Inner {
                id: id.iter().map(|b| format!("{b:02x}")).collect(),
                prefix: prefix.to_owned(),
                client,
                conn,
                healthy: AtomicBool::new(false),
                health: std::sync::Mutex::new(health),
                replicas: AtomicUsize::new(1),
                lease_ttl,
                revoked: std::sync::Mutex::new(std::collections::HashMap::new()),
                scripts: Scripts {
                    leases: Script::new(LEASES_LUA),
                    release: Script::new(RELEASE_LUA),
                    cas: Script::new(CAS_LUA),
                    bucket: Script::new(BUCKET_LUA),
                    vouch: Script::new(VOUCH_LUA),
                    claim: Script::new(CLAIM_LUA),
                    dial: Script::new(DIAL_LUA),
                },
            }),
        })
    }

    /// This replica's id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// True while Redis answers.
    pub fn healthy(&self) -> bool {
        self.inner.healthy.load(Ordering::Relaxed)
    }

    /// Live replicas at the last heartbeat (at least 1).
    pub fn replicas(&self) -> usize {
        self.inner.replicas.load(Ordering::Relaxed).max(1)
    }

    /// The lease time-to-live.
    pub fn lease_ttl(&self) -> Duration {
        self.inner.lease_ttl
    }

    fn key(&self, kind: &str, agent: &str) -> String {
        format!("{}{kind}:{agent}", self.inner.prefix)
    }

    fn channel(&self, name: &str) -> String {
        format!("{}{name}", self.inner.prefix)
    }

    async fn run<T, F>(&self, op: F) -> Result<T, FleetError>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let result = match tokio::time::timeout(OP_TIMEOUT, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(FleetError::Redis(e)),
            Err(_) => Err(FleetError::Timeout),
        };
        let ok = result.is_ok();
        let flipped = self
            .inner
            .health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .record(ok);
        if let Some(ok) = flipped {
            self.inner.healthy.store(ok, Ordering::Relaxed);
            if ok {
                tracing::info!(replica = %self.id(), "redis reachable: running as a fleet replica");
            } else if let Err(e) = &result {
                tracing::warn!(replica = %self.id(), error = %e, "redis unreachable: running alone");
            }
        }
        result
    }

    /// Announces this replica and counts the live ones.
    pub async fn heartbeat(&self) -> Result<usize, FleetError> {
        let mut c = self.inner.conn.clone();
        let key = self.channel("replicas");
        let ttl = i64::try_from(self.inner.lease_ttl.as_millis()).unwrap_or(i64::MAX);
        let id = self.inner.id.clone();
        let now = now_ms();
        let all: std::collections::HashMap<String, i64> = self
            .run(async move {
                let () = c.hset(&key, &id, now + ttl).await?;
                c.hgetall(&key).await
            })
            .await?;
        let (live, dead): (Vec<_>, Vec<_>) = all.into_iter().partition(|(_, exp)| *exp > now);
        if !dead.is_empty() {
            let mut c = self.inner.conn.clone();
            let key = self.channel("replicas");
            let fields: Vec<String> = dead.into_iter().map(|(k, _)| k).collect();
            let _: Result<i64, _> = self.run(async move { c.hdel(&key, fields).await }).await;
        }
        self.inner
            .replicas
            .store(live.len().max(1), Ordering::Relaxed);
        Ok(live.len().max(1))
    }

    /// Acquires or renews the leases of `agents` (`true`: a browser waits
    /// here). Per agent: `Some(lease)` when this replica owns it.
    pub async fn leases(
        &self,
        agents: &[(String, bool)],
    ) -> Result<Vec<Option<Lease>>, FleetError> {
        let mut out = Vec::with_capacity(agents.len());
        for chunk in agents.chunks(LEASE_BATCH) {
            let mut inv = self.inner.scripts.leases.prepare_invoke();
            inv.arg(&self.inner.id)
                .arg(u64::try_from(self.inner.lease_ttl.as_millis()).unwrap_or(u64::MAX))
                .arg(u64::try_from((self.inner.lease_ttl * 2).as_millis()).unwrap_or(u64::MAX));
            for (agent, here) in chunk {
                inv.key(self.key("lease", agent))
                    .key(self.key("epoch", agent))
                    .key(self.key("interest", agent))
                    .key(self.key("heir", agent))
                    .arg(if *here { "1" } else { "0" });
            }
            let mut c = self.inner.conn.clone();
            let epochs: Vec<i64> = self
                .run(async move { inv.invoke_async(&mut c).await })
                .await?;
            out.extend(
                epochs
                    .into_iter()
                    .map(|e| (e > 0).then_some(Lease { epoch: e })),
            );
        }
        Ok(out)
    }

    /// Gives up this replica's leases of `agents` (shutdown).
    pub async fn release(&self, agents: &[String]) -> Result<(), FleetError> {
        for chunk in agents.chunks(LEASE_BATCH) {
            let mut inv = self.inner.scripts.release.prepare_invoke();
            inv.arg(&self.inner.id);
            for agent in chunk {
                inv.key(self.key("lease", agent));
            }
            let mut c = self.inner.conn.clone();
            let _: i64 = self
                .run(async move { inv.invoke_async(&mut c).await })
                .await?;
        }
        Ok(())
    }

    /// The owner of `agent`'s lease, if any.
    pub async fn owner(&self, agent: &str) -> Result<Option<String>, FleetError> {
        let mut c = self.inner.conn.clone();
        let key = self.key("lease", agent);
        let cur: Option<String> = self.run(async move { c.get(&key).await }).await?;
        Ok(cur.and_then(|v| v.rsplit_once(':').map(|(id, _)| id.to_owned())))
    }

    /// The stored view of `agent` with its revision (0: none).
    pub async fn load(&self, agent: &str) -> Result<(i64, Option<View>), FleetError> {
        let mut c = self.inner.conn.clone();
        let key = self.key("view", agent);
        let (rev, json): (Option<i64>, Option<String>) = self
            .run(async move {
                redis::cmd("HMGET")
                    .arg(&key)
                    .arg("rev")
                    .arg("view")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        // Bounded as a fresh event would be (crate::view::OrderRule).
        let now = now_ms();
        let view = json
            .and_then(|j| serde_json::from_str::<View>(&j).ok())
            .map(|v| v.bounded(now));
        Ok((rev.unwrap_or(0), view))
    }

    /// Stores `view` if the revision is still `rev`; publishes it when
    /// `publish`. `fence`: this replica's lease epoch, for owner polls.
    pub async fn store(
        &self,
        agent: &str,
        rev: i64,
        view: &View,
        publish: bool,
        fence: Option<Lease>,
    ) -> Result<Cas, FleetError> {
        let json = serde_json::to_string(view).unwrap_or_default();
        let message = if publish {
            serde_json::to_string(&ViewMsg {
                a: agent.to_owned(),
                v: view.clone(),
            })
            .unwrap_or_default()
        } else {
            String::new()
        };
        let fence = fence.map_or_else(String::new, |l| format!("{}:{}", self.inner.id, l.epoch));
        let mut inv = self.inner.scripts.cas.prepare_invoke();
        inv.key(self.key("view", agent))
            .key(self.key("lease", agent))
            .arg(rev)
            .arg(json)
            .arg(fence)
            .arg(self.channel("views"))
            .arg(message)
            .arg(VIEW_TTL_MS);
        let mut c = self.inner.conn.clone();
        let r: i64 = self
            .run(async move { inv.invoke_async(&mut c).await })
            .await?;
        Ok(match r {
            1 => Cas::Stored,
            -1 => Cas::Fenced,
            _ => Cas::Conflict,
        })
    }

    /// Presence: these agents had a long-poll here lately; each stays
    /// present for the fleet for its duration (the rest of its grace).
    pub async fn presence_vouch(&self, agents: &[(String, Duration)]) -> Result<(), FleetError> {
        for chunk in agents.chunks(LEASE_BATCH) {
            let mut inv = self.inner.scripts.vouch.prepare_invoke();
            inv.key(self.channel("watched")).arg(now_ms());
            for (agent, left) in chunk {
                inv.key(self.key("presence", agent))
                    .key(self.key("presence-decided", agent))
                    .arg(agent)
                    .arg(u64::try_from(left.as_millis()).unwrap_or(u64::MAX).max(1));
            }
            let mut c = self.inner.conn.clone();
            let _: i64 = self
                .run(async move { inv.invoke_async(&mut c).await })
                .await?;
        }
        Ok(())
    }

    /// Presence: agents a replica vouched for within `horizon` (the last
    /// known watchers), with when (epoch ms); older entries are dropped.
    pub async fn last_watchers(&self, horizon: Duration) -> Result<Vec<(String, i64)>, FleetError> {
        let mut c = self.inner.conn.clone();
        let key = self.channel("watched");
        let since = now_ms() - i64::try_from(horizon.as_millis()).unwrap_or(i64::MAX / 2);
        self.run(async move {
            let _: i64 = c.zrembyscore(&key, "-inf", since).await?;
            c.zrangebyscore_withscores(&key, since, "+inf").await
        })
        .await
    }

    /// Presence: `agent` was decided about (moved, or nothing to do): no
    /// longer a last known watcher.
    pub async fn watcher_done(&self, agent: &str) -> Result<(), FleetError> {
        let mut c = self.inner.conn.clone();
        let key = self.channel("watched");
        let agent = agent.to_owned();
        let _: i64 = self.run(async move { c.zrem(&key, agent).await }).await?;
        Ok(())
    }

    /// Demo sign-out of `user` at `at` (epoch ms) for the whole fleet,
    /// remembered for `keep` (the cookie lifetime: older cookies are dead).
    pub async fn revoke(&self, user: &str, at: i64, keep: Duration) -> Result<(), FleetError> {
        self.note_revoked(user, at);
        let mut c = self.inner.conn.clone();
        let key = self.channel("revoked");
        let msg = serde_json::to_string(&RevokedMsg {
            u: user.to_owned(),
            at,
        })
        .unwrap_or_default();
        let user = user.to_owned();
        self.run(async move {
            redis::pipe()
                .atomic()
                .hset(&key, &user, at)
                .ignore()
                .pexpire(&key, i64::try_from(keep.as_millis()).unwrap_or(i64::MAX))
                .ignore()
                .publish(&key, msg)
                .ignore()
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    /// When `user` last signed out anywhere in the fleet, as last heard.
    pub fn revoked_at(&self, user: &str) -> Option<i64> {
        self.inner
            .revoked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(user)
            .copied()
    }

    fn note_revoked(&self, user: &str, at: i64) {
        let mut r = self
            .inner
            .revoked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let e = r.entry(user.to_owned()).or_insert(at);
        *e = (*e).max(at);
    }

    /// Reads every stored sign-out into the local copy.
    async fn load_revoked(&self) -> Result<(), FleetError> {
        let mut c = self.inner.conn.clone();
        let key = self.channel("revoked");
        let all: std::collections::HashMap<String, i64> =
            self.run(async move { c.hgetall(&key).await }).await?;
        for (user, at) in all {
            self.note_revoked(&user, at);
        }
        Ok(())
    }

    /// Presence: true when this replica decides about absent `agent` (no
    /// replica vouches for it, and nobody else decided this absence).
    pub async fn presence_claim(&self, agent: &str) -> Result<bool, FleetError> {
        let mut inv = self.inner.scripts.claim.prepare_invoke();
        inv.key(self.key("presence", agent))
            .key(self.key("presence-decided", agent))
            .arg(&self.inner.id)
            .arg(VIEW_TTL_MS);
        let mut c = self.inner.conn.clone();
        let won: i64 = self
            .run(async move { inv.invoke_async(&mut c).await })
            .await?;
        Ok(won == 1)
    }

    /// Asks `agent`'s owner (when another replica) for a refresh. `Ok(false)`
    /// when nobody else owns it.
    pub async fn forward_refresh(&self, agent: &str) -> Result<bool, FleetError> {
        let Some(owner) = self.owner(agent).await? else {
            return Ok(false);
        };
        if owner == self.inner.id {
            return Ok(false);
        }
        self.publish_fwd(&FwdMsg {
            a: agent.to_owned(),
            to: owner,
            e: None,
        })
        .await?;
        Ok(true)
    }

    /// Hands `event` for `agent` to every replica (those holding the agent
    /// apply it); returns how many replicas listened.
    pub async fn forward_event(
        &self,
        agent: &str,
        event: &ccc_model::EventMessage,
    ) -> Result<i64, FleetError> {
        self.publish_fwd(&FwdMsg {
            a: agent.to_owned(),
            to: EVERY_REPLICA.to_owned(),
            e: Some(event.clone()),
        })
        .await
    }

    async fn publish_fwd(&self, msg: &FwdMsg) -> Result<i64, FleetError> {
        let msg = serde_json::to_string(msg).unwrap_or_default();
        let mut c = self.inner.conn.clone();
        let channel = self.channel("fwd");
        self.run(async move { c.publish(&channel, msg).await })
            .await
    }

    /// The shared per-agent command limit: `Some(Ok)` allowed,
    /// `Some(Err(wait))` refused, `None` when Redis cannot say.
    pub async fn rate_limit(
        &self,
        agent: &str,
        per_minute: u32,
        burst: u32,
    ) -> Option<Result<(), Duration>> {
        let name = format!("rl:{agent}");
        let mut inv = self.inner.scripts.bucket.prepare_invoke();
        inv.key(self.channel(&name))
            .key(self.channel("rl-none"))
            .arg(f64::from(per_minute) / 60.0)
            .arg(f64::from(burst.max(1)))
            .arg(0.0);
        let mut c = self.inner.conn.clone();
        let wait: u64 = self
            .run(async move { inv.invoke_async(&mut c).await })
            .await
            .ok()?;
        Some(if wait == 0 {
            Ok(())
        } else {
            Err(Duration::from_millis(wait))
        })
    }

    /// The shared per-agent dial limit (see [`crate::ratelimit::DialLog`]):
    /// `Some(Ok)` recorded, `Some(Err(wait))` refused, `None` when Redis
    /// cannot say.
    pub async fn dial_limit(
        &self,
        agent: &str,
        limits: crate::ratelimit::DialLimits,
    ) -> Option<Result<(), Duration>> {
        let mut inv = self.inner.scripts.dial.prepare_invoke();
        let member = format!("{}:{:016x}", self.inner.id, rand::random::<u64>());
        inv.key(self.channel(&format!("dial:{agent}")))
            .arg(limits.per_minute.max(1))
            .arg(limits.per_hour.max(1))
            .arg(member);
        let mut c = self.inner.conn.clone();
        let wait: i64 = self
            .run(async move { inv.invoke_async(&mut c).await })
            .await
            .ok()?;
        Some(if wait <= 0 {
            Ok(())
        } else {
            Err(Duration::from_millis(wait.unsigned_abs()))
        })
    }

    /// The demo cookie key every replica signs with (created once).
    pub async fn shared_secret(&self, name: &str, fresh: &[u8]) -> Option<Vec<u8>> {
        let mut c = self.inner.conn.clone();
        let key = self.channel(name);
        let fresh = fresh.to_vec();
        self.run(async move {
            let _: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(fresh)
                .arg("NX")
                .query_async(&mut c)
                .await?;
            c.get::<_, Vec<u8>>(&key).await
        })
        .await
        .ok()
        .filter(|k| k.len() >= 16)
    }

    /// A value the fleet shares under `name` (the softphone's TURN servers
    /// and credentials); `None` when absent or Redis does not answer.
    pub async fn cache_get(&self, name: &str) -> Option<String> {
        let mut c = self.inner.conn.clone();
        let key = self.channel(&format!("cache:{name}"));
        self.run(async move { c.get::<_, Option<String>>(&key).await })
            .await
            .ok()
            .flatten()
    }

    /// Shares `value` under `name` for `ttl` (best effort).
    pub async fn cache_put(&self, name: &str, value: &str, ttl: Duration) {
        let mut c = self.inner.conn.clone();
        let key = self.channel(&format!("cache:{name}"));
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let value = value.to_owned();
        let _ = self
            .run(async move { c.pset_ex::<_, _, ()>(&key, value, ms).await })
            .await;
    }

    /// Stores `value` under `name` for `ttl` unless the name is taken; true
    /// when Redis stored it (the softphone's single-use tickets).
    pub async fn put_new(&self, name: &str, value: &str, ttl: Duration) -> bool {
        let mut c = self.inner.conn.clone();
        let key = self.channel(name);
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let value = value.to_owned();
        self.run(async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("PX")
                .arg(ms)
                .arg("NX")
                .query_async::<Option<String>>(&mut c)
                .await
        })
        .await
        .is_ok_and(|stored| stored.is_some())
    }

    /// Reads and deletes `name` in one step (`GETDEL`): of all replicas
    /// asking at once, one gets the value. `None` when absent or Redis does
    /// not answer.
    pub async fn take(&self, name: &str) -> Option<String> {
        let mut c = self.inner.conn.clone();
        let key = self.channel(name);
        self.run(async move {
            redis::cmd("GETDEL")
                .arg(&key)
                .query_async::<Option<String>>(&mut c)
                .await
        })
        .await
        .ok()
        .flatten()
    }

    /// Subscribes to `views` and `fwd` until the process ends, reconnecting
    /// with backoff; sends [`FleetMessage::Resync`] after every (re)connect.
    pub fn spawn_subscriber(&self, tx: mpsc::Sender<FleetMessage>) -> tokio::task::JoinHandle<()> {
        let fleet = self.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            loop {
                if tx.is_closed() {
                    return;
                }
                match fleet.subscribe_once(&tx).await {
                    Ok(()) => delay = Duration::from_millis(100),
                    Err(e) => {
                        tracing::debug!(error = %e, "redis subscription failed");
                        delay = (delay * 2).min(Duration::from_secs(2));
                    }
                }
                tokio::time::sleep(delay).await;
            }
        })
    }

    async fn subscribe_once(&self, tx: &mpsc::Sender<FleetMessage>) -> Result<(), FleetError> {
        let views = self.channel("views");
        let fwd = self.channel("fwd");
        let revoked = self.channel("revoked");
        let client = self.inner.client.clone();
        let (v, f, r) = (views.clone(), fwd.clone(), revoked.clone());
        let mut pubsub = self
            .run(async move {
                let mut p = client.get_async_pubsub().await?;
                p.subscribe(&v).await?;
                p.subscribe(&f).await?;
                p.subscribe(&r).await?;
                Ok(p)
            })
            .await?;
        tracing::debug!(replica = %self.id(), "redis subscription up");
        // Sign-outs published while this replica was not listening.
        self.load_revoked().await?;
        if tx.send(FleetMessage::Resync).await.is_err() {
            return Ok(());
        }
        let mut stream = pubsub.on_message();
        while let Some(msg) = stream.next().await {
            let Ok(payload) = msg.get_payload::<String>() else {
                continue;
            };
            if msg.get_channel_name() == revoked {
                if let Ok(m) = serde_json::from_str::<RevokedMsg>(&payload) {
                    self.note_revoked(&m.u, m.at);
                }
                continue;
            }
            let out = if msg.get_channel_name() == views {
                match serde_json::from_str::<ViewMsg>(&payload) {
                    Ok(m) => FleetMessage::View {
                        agent: m.a,
                        view: Box::new(m.v.bounded(now_ms())),
                    },
                    Err(_) => continue,
                }
            } else {
                match serde_json::from_str::<FwdMsg>(&payload) {
                    Ok(FwdMsg {
                        to, e: Some(event), ..
                    }) if to == EVERY_REPLICA || to == self.inner.id => FleetMessage::Event {
                        event: Box::new(event),
                    },
                    Ok(m) if m.to == self.inner.id => FleetMessage::Refresh { agent: m.a },
                    _ => continue,
                }
            };
            if tx.send(out).await.is_err() {
                return Ok(());
            }
        }
        // The connection dropped: messages may have been lost.
        Ok(())
    }
}

impl Fleet {
    /// The key `name` under this fleet's prefix (the budget's keys,
    /// [`crate::budget`]).
    pub fn shared_key(&self, name: &str) -> String {
        self.channel(name)
    }

    /// Runs a script invocation prepared by another module (the budget's
    /// sliding window and slow-down), with the usual timeout and health.
    pub async fn invoke<T: redis::FromRedisValue + Send>(
        &self,
        inv: redis::ScriptInvocation<'static>,
    ) -> Result<T, FleetError> {
        let mut c = self.inner.conn.clone();
        self.run(async move { inv.invoke_async(&mut c).await })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_starts_with_the_first_outcome() {
        let mut h = Health::new(3, 2);
        assert!(!h.healthy(), "unknown is not healthy");
        assert_eq!(h.record(true), Some(true));
        assert!(h.healthy());
        let mut h = Health::new(3, 2);
        assert_eq!(h.record(false), Some(false));
        assert!(!h.healthy());
    }

    #[test]
    fn health_needs_n_failures_in_a_row_to_go_alone() {
        let mut h = Health::new(3, 2);
        h.record(true);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), None);
        // A success in between starts the count again.
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(false), None);
        assert_eq!(h.record(false), None);
        assert!(h.healthy(), "two failures in a row are not enough");
        assert_eq!(h.record(false), Some(false));
        assert!(!h.healthy());
    }

    #[test]
    fn health_needs_m_successes_in_a_row_to_come_back() {
        let mut h = Health::new(3, 2);
        h.record(false);
        assert_eq!(h.record(true), None);
        assert_eq!(h.record(false), None, "a failure restarts the count");
        assert_eq!(h.record(true), None);
        assert!(!h.healthy());
        assert_eq!(h.record(true), Some(true));
        assert!(h.healthy());
        assert_eq!(h.record(true), None, "no flip while it stays healthy");
    }

    #[test]
    fn health_thresholds_of_one_flip_on_every_change() {
        let mut h = Health::new(0, 0);
        h.record(true);
        assert_eq!(h.record(false), Some(false));
        assert_eq!(h.record(true), Some(true));
    }
}
