//! The fleet-wide upstream budget: every CCC call of every replica is let
//! out by one sliding window of `--upstream-qps` calls a second (in Redis
//! when configured, else in this process), so no one-second window ever
//! holds more than the budget, whatever the burst. Commands come first,
//! then the batched first looks and ringing details ([`Priority::Seed`]),
//! then background work. A `Throttling*` answer slows the fleet down (a
//! lower limit that grows back, one short pause), shared through Redis.
//! The rules themselves are in [`crate::rate`].

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, LazyLock, Mutex, PoisonError,
    },
    time::Duration,
};

use redis::Script;
use tokio::time::Instant;

use crate::fleet::Fleet;
pub use crate::rate::{
    slowed_limit, stretched_interval, window_shape, Priority, SlidingWindow, Slowdown,
};
use crate::rate::{SLOW_CUT, SLOW_MIN, SLOW_RECOVERY};

/// The process's handle on the budget (local, or shared through Redis).
#[derive(Debug, Clone)]
pub struct Budget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    qps: AtomicU64,
    local: Mutex<SlidingWindow>,
    slowdown: Mutex<Slowdown>,
    fleet: Option<Fleet>,
}

/// A call let out by the budget: when (this process's clock, and Redis's
/// when the window is shared), so a throttling answer to it can tell
/// whether it belongs to an overshoot already answered.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    at: Instant,
    shared_ms: Option<i64>,
}

/// The shared window (one Lua script, Redis's clock). KEYS: the log of
/// calls (sorted set, score = ms), the pause, the slow-down, the gap
/// after the last background call ([`crate::rate::background_gap`]); ARGV: limit,
/// span ms, priority code (0 command, 1 seed, 2 background), a unique
/// member, recovery per second. Returns `{wait ms (0: let out), now ms}`.
const WINDOW_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return {pause, now} end
local limit, span, prio = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if prio == 2 then
  local gap = redis.call('PTTL', KEYS[4])
  if gap > 0 then return {gap, now} end
end
local slow = redis.call('HMGET', KEYS[3], 'factor', 'at')
if slow[1] then
  local f = math.min(1, tonumber(slow[1]) + math.max(0, now - tonumber(slow[2])) * tonumber(ARGV[5]) / 1000)
  limit = math.max(1, math.floor(limit * f))
end
local reserve = math.max(0, math.min(math.max(1, math.floor(limit / 4)), limit - 1))
local floor = 0
if prio == 2 then floor = reserve elseif prio == 1 then floor = math.floor(reserve / 2) end
local room = limit - floor
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - span)
local n = redis.call('ZCARD', KEYS[1])
if n < room then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], span * 2)
  if prio == 2 then redis.call('SET', KEYS[4], '1', 'PX', math.max(1, math.floor(span / limit))) end
  return {0, now}
end
local e = redis.call('ZRANGE', KEYS[1], n - room, n - room, 'WITHSCORES')
return {math.max(1, tonumber(e[2]) + span - now + 1), now}
";

/// A throttling answer, shared (Redis's clock). KEYS: the slow-down, the
/// pause; ARGV: when the call was let out (ms, Redis clock; 0: unknown),
/// cut, lowest factor, recovery per second, pause ms. Returns the pause
/// (0: the same overshoot as the last cut).
const SLOW_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local sent = tonumber(ARGV[1])
local slow = redis.call('HMGET', KEYS[1], 'factor', 'at')
local at = tonumber(slow[2] or '0')
if sent > 0 and sent <= at then return 0 end
local f = 1
if slow[1] then f = math.min(1, tonumber(slow[1]) + math.max(0, now - at) * tonumber(ARGV[4]) / 1000) end
f = math.max(tonumber(ARGV[3]), f * tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], 'factor', tostring(f), 'at', now)
redis.call('PEXPIRE', KEYS[1], 600000)
redis.call('SET', KEYS[2], '1', 'PX', ARGV[5])
return tonumber(ARGV[5])
";

static WINDOW_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(WINDOW_LUA));
static SLOW_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(SLOW_LUA));

impl Budget {
    /// `qps` calls a second for the whole fleet; shared through `fleet` when given.
    pub fn new(qps: f64, fleet: Option<Fleet>) -> Self {
        Budget {
            inner: Arc::new(Inner {
                qps: AtomicU64::new(qps.to_bits()),
                local: Mutex::new(SlidingWindow::default()),
                slowdown: Mutex::new(Slowdown::default()),
                fleet,
            }),
        }
    }

    /// The fleet-wide calls per second.
    pub fn qps(&self) -> f64 {
        f64::from_bits(self.inner.qps.load(Ordering::Relaxed))
    }

    /// Changes the fleet-wide rate (this replica's view of it), e.g. after
    /// the account's quota was raised.
    pub fn set_qps(&self, qps: f64) {
        self.inner
            .qps
            .store(qps.max(0.01).to_bits(), Ordering::Relaxed);
    }

    /// This replica's share when it must count alone (Redis down).
    fn local_rate(&self) -> f64 {
        let replicas = self.inner.fleet.as_ref().map_or(1, Fleet::replicas).max(1);
        self.qps() / f64::from(u32::try_from(replicas).unwrap_or(u32::MAX))
    }

    /// Waits until a call of priority `p` may go out.
    pub async fn acquire(&self, p: Priority) -> Grant {
        loop {
            let pause = lock(&self.inner.slowdown).remaining(Instant::now());
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
                continue;
            }
            let wait = match self.take_shared(p).await {
                Some(Ok(shared_ms)) => {
                    return Grant {
                        at: Instant::now(),
                        shared_ms: Some(shared_ms),
                    }
                }
                Some(Err(wait)) => Err(wait),
                None => {
                    let now = Instant::now();
                    let (limit, span) = window_shape(self.local_rate());
                    let limit = slowed_limit(limit, lock(&self.inner.slowdown).factor(now));
                    lock(&self.inner.local).take(limit, span, p, now)
                }
            };
            match wait {
                Ok(()) => {
                    return Grant {
                        at: Instant::now(),
                        shared_ms: None,
                    }
                }
                Err(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// The shared window: `Some(Ok(redis ms))` let out, `Some(Err(wait))`
    /// not yet, `None` when Redis cannot say (count locally).
    async fn take_shared(&self, p: Priority) -> Option<Result<i64, Duration>> {
        let fleet = self.inner.fleet.as_ref()?;
        let (limit, span) = window_shape(self.qps());
        let mut inv = WINDOW_SCRIPT.prepare_invoke();
        inv.key(fleet.shared_key("budget-log"))
            .key(fleet.shared_key("pause"))
            .key(fleet.shared_key("slow"))
            .key(fleet.shared_key("budget-gap"))
            .arg(limit)
            .arg(u64::try_from(span.as_millis()).unwrap_or(u64::MAX))
            .arg(p.code())
            .arg(format!("{}:{:016x}", fleet.id(), rand::random::<u64>()))
            .arg(SLOW_RECOVERY);
        let (wait, now): (i64, i64) = fleet.invoke(inv).await.ok()?;
        Some(if wait <= 0 {
            Ok(now)
        } else {
            Err(Duration::from_millis(wait.unsigned_abs()))
        })
    }

    /// CCC answered `Throttling*` to the call let out as `grant`: slow the
    /// fleet down (fleet-wide when shared), once per overshoot. Returns the
    /// pause, when this answer started one.
    pub async fn throttled(&self, grant: Grant) -> Option<Duration> {
        let jitter = rand::random::<f64>();
        // Fleet-wide when Redis answers: `Some(None)` is an overshoot
        // another replica (or this one) already answered.
        let shared = match &self.inner.fleet {
            Some(f) => {
                let pause = crate::rate::slow_pause(jitter);
                let mut inv = SLOW_SCRIPT.prepare_invoke();
                inv.key(f.shared_key("slow"))
                    .key(f.shared_key("pause"))
                    .arg(grant.shared_ms.unwrap_or(0))
                    .arg(SLOW_CUT)
                    .arg(SLOW_MIN)
                    .arg(SLOW_RECOVERY)
                    .arg(u64::try_from(pause.as_millis()).unwrap_or(u64::MAX));
                f.invoke::<u64>(inv)
                    .await
                    .ok()
                    .map(|ms| (ms > 0).then(|| Duration::from_millis(ms)))
            }
            None => None,
        };
        let mut local = lock(&self.inner.slowdown);
        let pause = match shared {
            Some(None) => None,
            // Also here, for the moments Redis cannot answer.
            Some(Some(p)) => {
                local.throttled(grant.at, Instant::now(), jitter);
                Some(p)
            }
            None => local.throttled(grant.at, Instant::now(), jitter),
        };
        drop(local);
        if let Some(pause) = pause {
            tracing::warn!(
                pause_ms = pause.as_millis() as u64,
                "CCC throttled us; slowing the fleet down"
            );
        }
        pause
    }

    /// The share of the budget usable now (1.0 when calm; this process's
    /// view).
    pub fn slowdown_factor(&self) -> f64 {
        lock(&self.inner.slowdown).factor(Instant::now())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
