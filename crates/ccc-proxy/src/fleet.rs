//! Replicas coordinated through Redis (`--redis-url`).
//!
//! - **Leases.** `lease:<agent>` = `<replica>:<epoch>`, set with `SET NX PX`
//!   and renewed while anybody watches the agent (`interest:<agent>`, set by
//!   every replica with a waiting browser). The epoch (`INCR epoch:<agent>`)
//!   fences writes: an owner whose lease moved on cannot store a poll.
//! - **Views.** `view:<agent>` holds the shown [`View`] and a revision;
//!   every write is a compare-and-set on the revision, made by the same
//!   rules as a single process ([`crate::view`]), and published on
//!   `views` so every replica wakes its waiters. After a pub/sub reconnect
//!   each replica re-reads the views it holds.
//! - **Forwarding.** An event that needs a `PollUserStatus` for an agent
//!   owned elsewhere is published on `fwd` for the owner.
//! - **Presence.** Every replica holding long-polls of an agent keeps
//!   `presence:<agent>` alive (its TTL: the rest of the grace); when it is
//!   gone, the first replica to claim `presence-decided:<agent>` (`SET NX`)
//!   decides for the fleet, once per absence: the next long-poll anywhere
//!   deletes the claim.
//! - **Shared buckets.** The upstream budget, the throttling pause and the
//!   per-agent command rate limit are token buckets in Redis (one Lua
//!   script, Redis's clock); the per-agent dial limit is a sliding log of
//!   the agent's dials (a sorted set, one Lua script, Redis's clock).
//!
//! Every operation has a short timeout. When Redis fails the replica goes
//! on alone (its own polling inside `qps / replicas`) and comes back by
//! itself: [`Fleet::healthy`] says which mode it is in.

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

use crate::{
    clock::now_ms,
    rate::{Priority, TokenBucket},
    view::View,
};

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
    /// Pub/sub (re)connected: re-read every held view.
    Resync,
}

#[derive(Serialize, Deserialize)]
struct ViewMsg {
    a: String,
    v: View,
}

#[derive(Serialize, Deserialize)]
struct FwdMsg {
    a: String,
    to: String,
}

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
    replicas: AtomicUsize,
    lease_ttl: Duration,
    scripts: Scripts,
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
-- KEYS: lease, epoch, interest per agent; ARGV: id, ttl, idle, then a mode per agent
-- (1: a browser waits here, 0: renew only while somebody still watches).
local out = {}
for i = 1, #KEYS, 3 do
  local mode = ARGV[3 + (i + 2) / 3]
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
      if wanted then
        redis.call('PEXPIRE', KEYS[i], ARGV[2])
        out[#out+1] = tonumber(string.sub(cur, sep + 1))
      else
        redis.call('DEL', KEYS[i])
        out[#out+1] = 0
      end
    else
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
-- KEYS: presence, presence-decided per agent; ARGV: ms left per agent.
-- The agent was here lately: alive a while longer, and a new absence.
for i = 1, #KEYS, 2 do
  redis.call('SET', KEYS[i], '1', 'PX', ARGV[(i + 1) / 2])
  redis.call('DEL', KEYS[i + 1])
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
        let client =
            redis::Client::open(url).map_err(|e| format!("--redis-url is not usable: {e}"))?;
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
                replicas: AtomicUsize::new(1),
                lease_ttl,
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
        if self.inner.healthy.swap(ok, Ordering::Relaxed) != ok {
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
            for (agent, left) in chunk {
                inv.key(self.key("presence", agent))
                    .key(self.key("presence-decided", agent))
                    .arg(u64::try_from(left.as_millis()).unwrap_or(u64::MAX).max(1));
            }
            let mut c = self.inner.conn.clone();
            let _: i64 = self
                .run(async move { inv.invoke_async(&mut c).await })
                .await?;
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
        let msg = serde_json::to_string(&FwdMsg {
            a: agent.to_owned(),
            to: owner,
        })
        .unwrap_or_default();
        let mut c = self.inner.conn.clone();
        let channel = self.channel("fwd");
        let _: i64 = self
            .run(async move { c.publish(&channel, msg).await })
            .await?;
        Ok(true)
    }

    async fn bucket(&self, name: &str, rate: f64, cap: f64, floor: f64) -> Result<u64, FleetError> {
        let mut inv = self.inner.scripts.bucket.prepare_invoke();
        inv.key(self.channel(name))
            .key(self.channel("pause"))
            .arg(rate)
            .arg(cap)
            .arg(floor);
        let mut c = self.inner.conn.clone();
        self.run(async move { inv.invoke_async(&mut c).await })
            .await
    }

    /// Takes a token of the fleet budget: `Some(Ok)` granted, `Some(Err(wait))`
    /// not yet, `None` when Redis cannot say (count locally).
    pub async fn take_token(&self, qps: f64, p: Priority) -> Option<Result<(), Duration>> {
        let floor = match p {
            Priority::Command => 0.0,
            Priority::Background => TokenBucket::reserve(qps),
        };
        match self.bucket("budget", qps, qps.max(1.0), floor).await {
            Ok(0) => Some(Ok(())),
            Ok(ms) => Some(Err(Duration::from_millis(ms))),
            Err(_) => None,
        }
    }

    /// Pauses every replica's CCC calls for `pause`.
    pub async fn set_backoff(&self, pause: Duration) {
        let mut c = self.inner.conn.clone();
        let key = self.channel("pause");
        let ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX).max(1);
        let _: Result<(), _> = self
            .run(async move {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(1)
                    .arg("PX")
                    .arg(ms)
                    .query_async(&mut c)
                    .await
            })
            .await;
    }

    /// The fleet's throttling pause still to wait, if any.
    pub async fn backoff_remaining(&self) -> Option<Duration> {
        let mut c = self.inner.conn.clone();
        let key = self.channel("pause");
        let ms: i64 = self.run(async move { c.pttl(&key).await }).await.ok()?;
        (ms > 0).then(|| Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
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
        let client = self.inner.client.clone();
        let (v, f) = (views.clone(), fwd.clone());
        let mut pubsub = self
            .run(async move {
                let mut p = client.get_async_pubsub().await?;
                p.subscribe(&v).await?;
                p.subscribe(&f).await?;
                Ok(p)
            })
            .await?;
        tracing::debug!(replica = %self.id(), "redis subscription up");
        if tx.send(FleetMessage::Resync).await.is_err() {
            return Ok(());
        }
        let mut stream = pubsub.on_message();
        while let Some(msg) = stream.next().await {
            let Ok(payload) = msg.get_payload::<String>() else {
                continue;
            };
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
