//! The CCC client: one pooled `reqwest` client (rustls), RPC calls signed
//! with V3 (`ACS3-HMAC-SHA256`) like the official SDKs send them (POST,
//! parameters in the query, empty body), a timeout on every call, retries
//! with backoff for reads only. A state change is retried only when the
//! request provably never left (connection refused), so it is never replayed
//! blindly.

use std::{sync::Arc, time::Duration};

use ccc_model::{
    signing::{canonical_query, v3, AccessKey},
    CallActionData, CccError, Envelope, LoginDetails, PollUserStatusData, UserContext, API_VERSION,
};
use serde::de::DeserializeOwned;

pub use crate::clock::now_ms;
pub use crate::errors::UpstreamError;
use crate::{
    budget::{Budget, Grant, Priority},
    config::UpstreamConfig,
    metrics::Metrics,
    reconcile::{RealtimePage, PAGE_SIZE},
};

/// Whether a call only reads (safe to retry) or changes state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// PollUserStatus, GetLoginDetails.
    Read,
    /// Everything that changes the agent or the call.
    Write,
}

/// True for CCC's `Throttling`, `Throttling.User`, `Throttling.Api`, ...
pub fn is_throttling(e: &UpstreamError) -> bool {
    matches!(e, UpstreamError::Ccc(e) if e.code.as_str().starts_with("Throttling"))
}

/// Whether `e` may be retried for a call of `kind`.
fn retryable(e: &UpstreamError, kind: CallKind) -> bool {
    if is_throttling(e) {
        // CCC refused it unprocessed: retry once after the fleet backs off.
        return true;
    }
    match (e, kind) {
        (UpstreamError::Connect(_), _) => true,
        (_, CallKind::Write) => false,
        (UpstreamError::Transport(_) | UpstreamError::Malformed { .. }, CallKind::Read) => true,
        (UpstreamError::Ccc(e), CallKind::Read) => e.code.is_transient(),
        (UpstreamError::Timeout, CallKind::Read) => false,
    }
}

/// Attempts made for a read (the first included).
const READ_ATTEMPTS: u32 = 3;
/// First retry delay; doubled each time, with jitter.
const BACKOFF_BASE: Duration = Duration::from_millis(100);

/// The signed CCC client. Cheap to clone (shares one connection pool).
#[derive(Debug, Clone)]
pub struct CccClient {
    http: reqwest::Client,
    endpoint: url::Url,
    host: String,
    key: Arc<AccessKey>,
    instance_id: String,
    timeout: Duration,
    metrics: Arc<Metrics>,
    budget: Budget,
}

impl CccClient {
    /// Builds the client (one pool for the whole process).
    pub fn new(
        config: &UpstreamConfig,
        instance_id: &str,
        metrics: Arc<Metrics>,
        budget: Budget,
    ) -> Result<Self, String> {
        let endpoint = url::Url::parse(&config.endpoint)
            .map_err(|e| format!("bad endpoint {:?}: {e}", config.endpoint))?;
        let host = match (endpoint.host_str(), endpoint.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(format!("endpoint {:?} has no host", config.endpoint)),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .timeout(config.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("ccc-proxy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(CccClient {
            http,
            endpoint,
            host,
            key: Arc::new(config.access_key.clone()),
            instance_id: instance_id.to_owned(),
            timeout: config.timeout,
            metrics,
            budget,
        })
    }

    /// The upstream budget every call takes a token from.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The CCC instance every call targets.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// `PollUserStatus` for `user_id`.
    /// (`Priority::Command` right after a command or for a browser's first
    /// look, else background.)
    pub async fn poll_user_status(
        &self,
        user_id: &str,
        device_id: &str,
        priority: Priority,
    ) -> Result<PollUserStatusData, UpstreamError> {
        let params = user_params(user_id, device_id);
        self.call_as("PollUserStatus", params, CallKind::Read, priority)
            .await
    }

    /// `GetLoginDetails` for `user_id`.
    pub async fn get_login_details(&self, user_id: &str) -> Result<LoginDetails, UpstreamError> {
        let params = vec![("UserId".to_owned(), user_id.to_owned())];
        self.call_as("GetLoginDetails", params, CallKind::Read, Priority::Command)
            .await
    }

    /// One page of `ListRealtimeAgentStates` (100 agents), optionally only
    /// the agents of `agent_id_list` (a JSON array of at most 20).
    pub async fn list_realtime_states(
        &self,
        page: usize,
        agent_id_list: Option<&str>,
    ) -> Result<RealtimePage, UpstreamError> {
        let mut params = vec![
            ("PageNumber".to_owned(), page.to_string()),
            ("PageSize".to_owned(), PAGE_SIZE.to_string()),
        ];
        if let Some(list) = agent_id_list {
            params.push(("AgentIdList".to_owned(), list.to_owned()));
        }
        self.call_as(
            "ListRealtimeAgentStates",
            params,
            CallKind::Read,
            Priority::Background,
        )
        .await
    }

    /// `ListRealtimeAgentStates` for `agents` (`AgentIdList`, at most
    /// [`crate::reconcile::IDS_PER_CALL`]) at `priority`: the batched first
    /// looks and ringing details of [`crate::seed`].
    /// `grant`: a call the budget already let out for the first attempt
    /// (the batcher takes its batch only once the budget lets it go, so a
    /// busy budget fills batches instead of queueing half-empty ones).
    pub async fn realtime_states_of(
        &self,
        agents: &[String],
        priority: Priority,
        grant: Option<Grant>,
    ) -> Result<RealtimePage, UpstreamError> {
        let list = serde_json::to_string(agents).unwrap_or_default();
        let params = vec![
            ("PageNumber".to_owned(), "1".to_owned()),
            ("PageSize".to_owned(), PAGE_SIZE.to_string()),
            ("AgentIdList".to_owned(), list),
        ];
        self.call_granted(
            "ListRealtimeAgentStates",
            params,
            CallKind::Read,
            priority,
            grant,
        )
        .await
    }

    /// An agent action answering with a `UserContext` (SignInGroup,
    /// SignOutGroup, ReadyForService, TakeBreak, ChangeWorkMode, ResetAgentState).
    pub async fn user_action(
        &self,
        action: &'static str,
        user_id: &str,
        device_id: &str,
        extra: Vec<(String, String)>,
    ) -> Result<UserContext, UpstreamError> {
        let mut params = user_params(user_id, device_id);
        params.extend(extra);
        self.call(action, params, CallKind::Write).await
    }

    /// A call action answering with `{CallContext, UserContext}` (MuteCall, UnmuteCall).
    pub async fn call_action(
        &self,
        action: &'static str,
        user_id: &str,
        device_id: &str,
        job_id: &str,
    ) -> Result<CallActionData, UpstreamError> {
        let job = vec![("JobId".to_owned(), job_id.to_owned())];
        self.call_action_with(action, user_id, device_id, job).await
    }

    /// A call action with its own parameters (MakeCall: `Callee`, `Caller`;
    /// HoldCall, RetrieveCall: `JobId`, `ChannelId`).
    pub async fn call_action_with(
        &self,
        action: &'static str,
        user_id: &str,
        device_id: &str,
        extra: Vec<(String, String)>,
    ) -> Result<CallActionData, UpstreamError> {
        let mut params = user_params(user_id, device_id);
        params.extend(extra);
        self.call(action, params, CallKind::Write).await
    }

    /// Calls `action` with `params` (plus `InstanceId`), retrying reads.
    /// Writes go first in the budget, reads wait for what is left.
    pub async fn call<T: DeserializeOwned>(
        &self,
        action: &'static str,
        params: Vec<(String, String)>,
        kind: CallKind,
    ) -> Result<T, UpstreamError> {
        let priority = match kind {
            CallKind::Write => Priority::Command,
            CallKind::Read => Priority::Background,
        };
        self.call_as(action, params, kind, priority).await
    }

    /// [`CccClient::call`] with an explicit budget priority. Each attempt
    /// takes a token; a `Throttling*` answer backs the fleet off first.
    pub async fn call_as<T: DeserializeOwned>(
        &self,
        action: &'static str,
        params: Vec<(String, String)>,
        kind: CallKind,
        priority: Priority,
    ) -> Result<T, UpstreamError> {
        self.call_granted(action, params, kind, priority, None)
            .await
    }

    /// [`CccClient::call_as`], the first attempt on `grant` when given.
    async fn call_granted<T: DeserializeOwned>(
        &self,
        action: &'static str,
        mut params: Vec<(String, String)>,
        kind: CallKind,
        priority: Priority,
        mut grant: Option<Grant>,
    ) -> Result<T, UpstreamError> {
        params.retain(|(k, _)| k != "InstanceId");
        params.push(("InstanceId".to_owned(), self.instance_id.clone()));
        let attempts = if kind == CallKind::Read {
            READ_ATTEMPTS
        } else {
            2
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let grant = match grant.take() {
                Some(g) => g,
                None => self.budget.acquire(priority).await,
            };
            let started = tokio::time::Instant::now();
            let result = self.call_once::<T>(action, &params).await;
            let outcome = result.as_ref().err().map_or("ok", UpstreamError::outcome);
            self.metrics
                .upstream_call(action, outcome, started.elapsed().as_secs_f64());
            match result {
                Err(e) if attempt < attempts && is_throttling(&e) => {
                    tracing::debug!(
                        action,
                        attempt,
                        "CCC throttled the call; retrying after the backoff"
                    );
                    self.budget.throttled(grant).await;
                }
                Err(e) if attempt < attempts && retryable(&e, kind) => {
                    let delay = BACKOFF_BASE * 2u32.pow(attempt - 1);
                    let jitter = rand::random::<f64>() * 0.3 + 0.85;
                    tracing::debug!(action, attempt, error = %e, "retrying CCC call");
                    tokio::time::sleep(delay.mul_f64(jitter)).await;
                }
                other => return other,
            }
        }
    }

    async fn call_once<T: DeserializeOwned>(
        &self,
        action: &'static str,
        params: &[(String, String)],
    ) -> Result<T, UpstreamError> {
        let query = canonical_query(params);
        let mut headers = vec![
            ("host".to_owned(), self.host.clone()),
            ("x-acs-action".to_owned(), action.to_owned()),
            ("x-acs-version".to_owned(), API_VERSION.to_owned()),
            ("x-acs-date".to_owned(), iso8601_now()),
            ("x-acs-signature-nonce".to_owned(), nonce()),
        ];
        let authorization = v3::sign(&self.key, "POST", "/", params, &mut headers, b"");
        let mut url = self.endpoint.clone();
        url.set_path("/");
        url.set_query(Some(&query));
        let mut req = self.http.post(url).timeout(self.timeout);
        for (name, value) in headers.iter().filter(|(n, _)| n != "host") {
            req = req.header(name.as_str(), value.as_str());
        }
        let res = req
            .header("authorization", authorization)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = res.status().as_u16();
        let body = res.bytes().await.map_err(transport)?;
        decode(status, &body)
    }
}

fn user_params(user_id: &str, device_id: &str) -> Vec<(String, String)> {
    vec![
        ("UserId".to_owned(), user_id.to_owned()),
        ("DeviceId".to_owned(), device_id.to_owned()),
    ]
}

fn transport(e: reqwest::Error) -> UpstreamError {
    let e = e.without_url();
    if e.is_timeout() {
        UpstreamError::Timeout
    } else if e.is_connect() {
        UpstreamError::Connect(e.to_string())
    } else {
        UpstreamError::Transport(format!("{e}: {}", source_chain(&e)))
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = Vec::new();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push(s.to_string());
        cur = s.source();
    }
    out.join(": ")
}

/// Decodes a CCC answer: an OK envelope with `Data`, or a CCC error.
pub fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, UpstreamError> {
    let env: Envelope<T> = serde_json::from_slice(body).map_err(|e| UpstreamError::Malformed {
        status,
        detail: format!("not a CCC envelope: {e}"),
    })?;
    if let Some(mut err) = CccError::from_envelope(&env) {
        if status >= 400 && err.http_status < 400 {
            err.http_status = status;
        }
        return Err(UpstreamError::Ccc(err));
    }
    if status >= 400 {
        return Err(UpstreamError::Malformed {
            status,
            detail: "error status with an OK envelope".into(),
        });
    }
    env.data.ok_or_else(|| UpstreamError::Malformed {
        status,
        detail: "OK envelope without Data".into(),
    })
}

fn nonce() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Now as `yyyy-MM-ddTHH:mm:ssZ` (UTC).
pub fn iso8601_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    iso8601(secs)
}

/// Formats epoch seconds as `yyyy-MM-ddTHH:mm:ssZ` (UTC).
pub fn iso8601(epoch_secs: u64) -> String {
    ccc_model::signing::format_timestamp(i64::try_from(epoch_secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccc_model::ErrorCode;

    #[test]
    fn formats_dates_like_the_v3_example() {
        assert_eq!(iso8601(1_698_315_752), "2023-10-26T10:22:32Z");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn signs_the_published_v3_vector() {
        let key = AccessKey::new("YourAccessKeyId", "YourAccessKeySecret");
        let query = vec![
            ("RegionId".to_owned(), "cn-shanghai".to_owned()),
            (
                "ImageId".to_owned(),
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd".to_owned(),
            ),
        ];
        let mut headers = vec![
            ("host".to_owned(), "ecs.cn-shanghai.aliyuncs.com".to_owned()),
            ("x-acs-action".to_owned(), "RunInstances".to_owned()),
            ("x-acs-version".to_owned(), "2014-05-26".to_owned()),
            ("x-acs-date".to_owned(), iso8601(1_698_315_752)),
            (
                "x-acs-signature-nonce".to_owned(),
                "3156853299f313e23d1673dc12e1703d".to_owned(),
            ),
        ];
        let auth = v3::sign(&key, "POST", "/", &query, &mut headers, b"");
        assert!(auth.ends_with(
            "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        ));
    }

    #[test]
    fn decodes_ok_error_and_garbage() {
        let ok: PollUserStatusData = decode(
            200,
            br#"{"Code":"OK","HttpStatusCode":200,"RequestId":"r","Data":{"ContextId":7,"UserContext":{"UserId":"a@i","UserState":"READY"}}}"#,
        )
        .unwrap();
        assert_eq!(ok.context_id, 7);
        let err = decode::<UserContext>(
            400,
            br#"{"Code":"InvalidOperation.UserState","HttpStatusCode":400,"Message":"m","RequestId":"r","Params":["OFFLINE","BREAK,READY,WORKING"]}"#,
        )
        .unwrap_err();
        match err {
            UpstreamError::Ccc(e) => assert_eq!(e.code, ErrorCode::UserState),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decode::<UserContext>(502, b"<html>bad gateway</html>"),
            Err(UpstreamError::Malformed { status: 502, .. })
        ));
        assert!(matches!(
            decode::<UserContext>(200, br#"{"Code":"OK","RequestId":"r"}"#),
            Err(UpstreamError::Malformed { .. })
        ));
    }

    #[test]
    fn only_reads_retry_after_the_request_left() {
        let t = UpstreamError::Transport("reset".into());
        assert!(retryable(&t, CallKind::Read));
        assert!(!retryable(&t, CallKind::Write));
        assert!(retryable(
            &UpstreamError::Connect("refused".into()),
            CallKind::Write
        ));
        assert!(!retryable(&UpstreamError::Timeout, CallKind::Read));
    }
}
