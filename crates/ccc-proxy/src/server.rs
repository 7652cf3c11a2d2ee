//! The accept loop and connection limits, so that nobody can exhaust the
//! proxy's file descriptors without signing in:
//!
//! - a connection must send complete request headers within
//!   `--header-read-timeout-secs` of connecting, or of starting a request
//!   head on a kept-alive connection;
//! - a kept-alive connection with no request in flight closes after
//!   `--idle-timeout-secs` (a long-poll in flight is not idle);
//! - at `--max-connections` accepting pauses (the kernel queues newcomers)
//!   with a log line, instead of failing with "Too many open files";
//! - `accept` errors back off (10 ms doubling to 1 s) instead of spinning.
//!
//! HTTP/1.1 only: browsers speak it to a cleartext origin, and TLS or
//! HTTP/2 end at the load balancer in front.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    Router,
};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{watch, Notify, OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tower::ServiceExt as _;

use crate::{config::Limits, metrics::Metrics, router::app, state::AppState};

/// How long shutdown waits for in-flight requests before giving up.
const DRAIN: Duration = Duration::from_secs(10);
/// Longest pause after failing `accept` calls.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Serves [`app`] on `listener` until `shutdown` completes, with the
/// connection limits of `state.config.limits`, then drains gracefully:
/// poll loops stop, waiting long-polls answer at once, in-flight requests
/// finish (for up to 10 s).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let limits = state.config.limits;
    let limits = Limits {
        max_connections: effective_max_connections(limits.max_connections),
        ..limits
    };
    let router = app(state.clone());
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closing_rx) = watch::channel(false);
    let mut backoff = Duration::ZERO;
    let mut cap_logged: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                state.metrics.connection_limit_hit();
                if cap_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    tracing::warn!(
                        max = limits.max_connections,
                        "connection cap reached: accepting paused until a connection closes (--max-connections)"
                    );
                    cap_logged = Some(Instant::now());
                }
                tokio::select! {
                    p = permits.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let accepted = tokio::select! {
            res = listener.accept() => res,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::ZERO;
                tokio::spawn(connection(
                    stream,
                    peer,
                    router.clone(),
                    limits,
                    permit,
                    closing_rx.clone(),
                    state.metrics.clone(),
                ));
            }
            Err(e) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(10), MAX_ACCEPT_BACKOFF);
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "accept failed; backing off");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut shutdown => break,
                }
            }
        }
    }
    drop(listener);
    tracing::info!("shutting down");
    state.begin_shutdown();
    closing.send_replace(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain time; closing them");
    }
    Ok(())
}

/// `wanted`, lowered to what the process may open (the soft
/// `RLIMIT_NOFILE` less room for upstream connections, logs and files).
fn effective_max_connections(wanted: usize) -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<usize>().ok())
        });
    match soft {
        Some(soft) if wanted + 256 > soft => {
            let max = soft.saturating_sub(256).max(16);
            tracing::warn!(
                wanted,
                max,
                open_files_limit = soft,
                "--max-connections lowered to fit the open-files limit (raise it with `ulimit -n`)"
            );
            max
        }
        _ => wanted,
    }
}

/// Serves one connection, closing it when it is too slow or idle too long.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    _permit: OwnedSemaphorePermit,
    mut closing: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
) {
    metrics.connections_add(1);
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let request = activity.begin();
            let response = router.clone().oneshot(req.map(Body::new));
            async move {
                let res = response.await;
                drop(request);
                res
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The watchdog below times headers and idleness itself: hyper's header
    // timer would also run while a kept-alive connection is merely idle.
    builder.keep_alive(true).header_read_timeout(None);
    // `with_upgrades`: the softphone relay is a WebSocket.
    let conn = builder.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let mut shutting_down = false;
    loop {
        let deadline = activity.deadline(limits);
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                break;
            }
            () = sleep_until(deadline) => {
                if activity.deadline(limits).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!(%peer, "closing a slow or idle connection");
                    break;
                }
            }
            () = activity.changed.notified() => {}
            _ = closing.wait_for(|c| *c), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    metrics.connections_add(-1);
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// What a connection is doing, for its watchdog.
#[derive(Debug)]
struct Activity {
    state: Mutex<ActivityState>,
    /// Signalled when a request starts or ends, or a request head starts.
    changed: Notify,
}

#[derive(Debug)]
struct ActivityState {
    /// Requests being answered (a long-poll counts until it answers).
    in_flight: usize,
    /// When the connection was accepted or the last answer finished.
    idle_since: Instant,
    /// No request yet: the header timeout runs from the accept.
    fresh: bool,
    /// When the first byte of the next request head arrived.
    head_started: Option<Instant>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                idle_since: Instant::now(),
                fresh: true,
                head_started: None,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the connection must close if nothing changes; `None` while a
    /// request is in flight.
    fn deadline(&self, limits: Limits) -> Option<Instant> {
        let s = self.lock();
        if s.in_flight > 0 {
            return None;
        }
        Some(match s.head_started {
            Some(started) => started + limits.header_read_timeout,
            None if s.fresh => s.idle_since + limits.header_read_timeout,
            None => s.idle_since + limits.idle_timeout,
        })
    }

    fn read_bytes(&self) {
        let mut s = self.lock();
        if s.in_flight == 0 && s.head_started.is_none() {
            s.head_started = Some(Instant::now());
            drop(s);
            self.changed.notify_one();
        }
    }

    /// A request's headers are complete; the returned guard ends it.
    fn begin(self: &Arc<Self>) -> InFlight {
        let mut s = self.lock();
        s.in_flight += 1;
        s.fresh = false;
        s.head_started = None;
        drop(s);
        self.changed.notify_one();
        InFlight(self.clone())
    }
}

/// One request in flight on a connection.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.in_flight -= 1;
        s.idle_since = Instant::now();
        drop(s);
        self.0.changed.notify_one();
    }
}

/// The client's stream, reporting reads to its [`Activity`].
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read_bytes();
        }
        res
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10,
            longpolls_per_device: 6,
            longpolls_per_agent: 18,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_follow_the_connection_state() {
        let a = Arc::new(Activity::new());
        let start = Instant::now();
        assert_eq!(a.deadline(limits()), Some(start + Duration::from_secs(10)));
        let req = a.begin();
        assert_eq!(
            a.deadline(limits()),
            None,
            "a request in flight never times out"
        );
        tokio::time::advance(Duration::from_secs(100)).await;
        drop(req);
        let idle = Instant::now();
        assert_eq!(a.deadline(limits()), Some(idle + Duration::from_secs(60)));
        tokio::time::advance(Duration::from_secs(5)).await;
        a.read_bytes();
        let head = Instant::now();
        assert_eq!(
            a.deadline(limits()),
            Some(head + Duration::from_secs(10)),
            "a started head must complete within the header timeout"
        );
    }

    #[test]
    fn max_connections_fit_the_open_files_limit() {
        assert!(effective_max_connections(usize::MAX / 2) < usize::MAX / 2);
        assert_eq!(effective_max_connections(16), 16);
    }
}
