//! The fleet-wide upstream budget: every CCC call of every replica takes a
//! token from one bucket of `--upstream-qps` tokens a second (in Redis when
//! configured, else in this process). Commands come first: background work
//! (polls, refreshes, sweeps) may not take the last quarter second's worth
//! of tokens. A `Throttling*` answer from CCC pauses everything for a
//! jittered, growing delay. The rules themselves are in [`crate::rate`].

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::Duration,
};

use tokio::time::Instant;

use crate::fleet::Fleet;
pub use crate::rate::{stretched_interval, Backoff, Priority, TokenBucket};

/// The process's handle on the budget (local, or shared through Redis).
#[derive(Debug, Clone)]
pub struct Budget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    qps: AtomicU64,
    local: Mutex<TokenBucket>,
    backoff: Mutex<Backoff>,
    fleet: Option<Fleet>,
}

impl Budget {
    /// `qps` calls a second for the whole fleet; shared through `fleet` when given.
    pub fn new(qps: f64, fleet: Option<Fleet>) -> Self {
        Budget {
            inner: Arc::new(Inner {
                qps: AtomicU64::new(qps.to_bits()),
                local: Mutex::new(TokenBucket::new(qps, Instant::now())),
                backoff: Mutex::new(Backoff::default()),
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
    pub async fn acquire(&self, p: Priority) {
        loop {
            let pause = lock(&self.inner.backoff).remaining(Instant::now());
            let pause = match (pause, &self.inner.fleet) {
                (Some(p), _) => Some(p),
                (None, Some(f)) => f.backoff_remaining().await,
                (None, None) => None,
            };
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
                continue;
            }
            let shared = match &self.inner.fleet {
                Some(f) => f.take_token(self.qps(), p).await,
                None => None,
            };
            let wait = match shared {
                Some(result) => result,
                None => {
                    let rate = self.local_rate();
                    let mut bucket = lock(&self.inner.local);
                    bucket.set_rate(rate);
                    bucket.take(p, Instant::now())
                }
            };
            match wait {
                Ok(()) => return,
                Err(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// CCC answered `Throttling*`: pause every caller (fleet-wide when shared).
    pub async fn throttled(&self) -> Duration {
        let pause = lock(&self.inner.backoff).strike(Instant::now(), rand::random::<f64>());
        if let Some(f) = &self.inner.fleet {
            f.set_backoff(pause).await;
        }
        tracing::warn!(
            pause_ms = pause.as_millis() as u64,
            "CCC throttled us; backing off"
        );
        pause
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
