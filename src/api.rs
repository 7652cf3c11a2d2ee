//! The proxy's API behind a trait, so the sync loop and the controls can be
//! tested against a fake ([`crate::testing::FakeApi`]). [`HttpApi`] is the
//! real client over gloo-net; bodies are decoded from the JS value with
//! serde-wasm-bindgen (no serde_json), and dropping a request's future aborts
//! it through its `AbortController`.

use std::{future::Future, pin::Pin};

use ccc_model::api::{
    AgentSnapshot, ApiErrorBody, Directory, NextState, NextStateRequest, Session, SipTicket,
};
use gloo_net::http::{Request, RequestBuilder};
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, RequestCache, RequestCredentials};

use crate::logic::{
    command::{Command, CommandBody},
    Failure,
};

/// A boxed, non-`Send` future (the browser is single-threaded).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// What the toolbar needs from the proxy. Dropping a returned future cancels
/// the request.
pub trait AgentApi {
    /// `GET /api/v1/session`.
    fn session(&self) -> LocalFuture<'_, Result<Session, Failure>>;
    /// `GET /api/v1/agent`, or the long-poll `?since=&wait=` when `since` is given.
    fn agent(
        &self,
        since: Option<i64>,
        wait_secs: u32,
    ) -> LocalFuture<'_, Result<AgentSnapshot, Failure>>;
    /// `POST /api/v1/agent/{command}`: the new snapshot.
    fn command(&self, cmd: Command) -> LocalFuture<'_, Result<AgentSnapshot, Failure>>;
    /// `PUT /api/v1/agent/next-state` (`{"next":null}` cancels): the state
    /// the proxy puts the agent in when the current call is over; answers the
    /// snapshot showing it (`nextState`).
    fn next_state(
        &self,
        next: Option<NextState>,
    ) -> LocalFuture<'_, Result<AgentSnapshot, Failure>>;
    /// `GET /api/v1/directory?q=`: transfer targets matching `query`
    /// (agents with their live state, skill groups, favourites). An API
    /// without a directory answers 404, as a proxy before issue 18 would.
    fn directory(&self, query: &str) -> LocalFuture<'_, Result<Directory, Failure>> {
        let _ = query;
        Box::pin(async { Err(Failure::Http { status: 404 }) })
    }
    /// `POST /api/v1/sip/ticket`: a single-use ticket that opens the
    /// softphone's relay socket (a WebSocket carries no `Authorization`).
    /// Fakes without a relay answer 404.
    fn sip_ticket(&self) -> LocalFuture<'_, Result<SipTicket, Failure>> {
        Box::pin(async { Err(Failure::Http { status: 404 }) })
    }
    /// The `X-CCC-Device-Id` this client sends.
    fn device_id(&self) -> String;
    /// The proxy's base path: the tabs of one browser showing toolbars for
    /// the same one elect one leader ([`crate::hooks::use_leader`]).
    fn base_path(&self) -> String {
        String::new()
    }
}

/// The real client: same-origin `fetch` with credentials, CSRF and device headers.
pub struct HttpApi {
    base: String,
    device_id: String,
    token: Option<js_sys::Function>,
}

impl std::fmt::Debug for HttpApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpApi")
            .field("base", &self.base)
            .field("device_id", &self.device_id)
            .field("token", &self.token.is_some())
            .finish()
    }
}

/// Aborts the request when the future owning it is dropped.
struct AbortOnDrop(Option<AbortController>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &self.0 {
            c.abort();
        }
    }
}

/// An answer: its status and its JSON body (`None`: not JSON).
struct Answer {
    ok: bool,
    status: u16,
    json: Option<JsValue>,
}

impl HttpApi {
    /// `base` is prepended to `/api/v1/...` (`""` = same origin root); `token`
    /// is a JS function returning the bearer token (string or Promise) for jwt mode.
    pub fn new(base: &str, device_id: String, token: Option<js_sys::Function>) -> Self {
        HttpApi {
            base: base.trim_end_matches('/').to_owned(),
            device_id,
            token,
        }
    }

    async fn bearer(&self) -> Result<Option<String>, Failure> {
        let Some(f) = &self.token else {
            return Ok(None);
        };
        let mut v = f.call0(&JsValue::NULL).map_err(|_| Failure::Network)?;
        if let Some(p) = v.dyn_ref::<js_sys::Promise>() {
            v = JsFuture::from(p.clone())
                .await
                .map_err(|_| Failure::Network)?;
        }
        Ok(v.as_string().filter(|s| !s.is_empty()))
    }

    /// `GET` (`body: None`) or `POST` (JSON `body`; `PUT` when `put`) of
    /// `${base}${path}`: one non-generic function for every request.
    async fn send(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: Option<JsValue>,
        put: bool,
    ) -> Result<Answer, Failure> {
        let url = [self.base.as_str(), path].concat();
        let mut req: RequestBuilder = match body {
            Some(_) => (if put {
                Request::put(&url)
            } else {
                Request::post(&url)
            })
            .header("Content-Type", "application/json")
            .header("X-Requested-With", "ccc-toolbar"),
            // Never from (or into) the HTTP cache: a cached long-poll would
            // wait behind the cache lock of another identical request.
            None => Request::get(&url).cache(RequestCache::NoStore),
        };
        req = req
            .header("Accept", "application/json")
            .header("X-CCC-Device-Id", &self.device_id)
            .credentials(RequestCredentials::SameOrigin);
        if !query.is_empty() {
            req = req.query(query.iter().copied());
        }
        if let Some(token) = self.bearer().await? {
            req = req.header("Authorization", &["Bearer ", &token].concat());
        }
        let abort = AbortOnDrop(AbortController::new().ok());
        req = req.abort_signal(abort.0.as_ref().map(|c| c.signal()).as_ref());
        let req = match body {
            Some(b) => {
                let text = js_sys::JSON::stringify(&b).map_err(|_| Failure::Network)?;
                req.body(text)
            }
            None => req.build(),
        }
        .map_err(|_| Failure::Network)?;
        let resp: web_sys::Response = req.send().await.map_err(|_| Failure::Network)?.into();
        let json = match resp.json() {
            Ok(p) => JsFuture::from(p).await.ok(),
            Err(_) => None,
        };
        drop(abort);
        Ok(Answer {
            ok: resp.ok(),
            status: resp.status(),
            json,
        })
    }

    async fn fetch<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: Option<JsValue>,
    ) -> Result<T, Failure> {
        self.fetch_with(path, query, body, false).await
    }

    async fn fetch_with<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: Option<JsValue>,
        put: bool,
    ) -> Result<T, Failure> {
        let answer = self.send(path, query, body, put).await?;
        if answer.ok {
            let json = answer.json.ok_or(Failure::Decode)?;
            serde_wasm_bindgen::from_value(json).map_err(|_| Failure::Decode)
        } else {
            Err(failure(answer))
        }
    }
}

/// The failure an error answer stands for.
fn failure(answer: Answer) -> Failure {
    let status = answer.status;
    match answer
        .json
        .and_then(|j| serde_wasm_bindgen::from_value::<ApiErrorBody>(j).ok())
    {
        Some(b) => Failure::Api {
            status,
            error: b.error,
        },
        None => Failure::Http { status },
    }
}

impl AgentApi for HttpApi {
    fn session(&self) -> LocalFuture<'_, Result<Session, Failure>> {
        Box::pin(self.fetch("/api/v1/session", &[], None))
    }

    fn agent(
        &self,
        since: Option<i64>,
        wait_secs: u32,
    ) -> LocalFuture<'_, Result<AgentSnapshot, Failure>> {
        Box::pin(async move {
            let (mut s, mut w) = (itoa::Buffer::new(), itoa::Buffer::new());
            let query = match since {
                Some(since) => vec![("since", s.format(since)), ("wait", w.format(wait_secs))],
                None => Vec::new(),
            };
            self.fetch("/api/v1/agent", &query, None).await
        })
    }

    fn command(&self, cmd: Command) -> LocalFuture<'_, Result<AgentSnapshot, Failure>> {
        Box::pin(async move {
            // The request types of ccc-model, encoded by derive.
            let body = match cmd.body() {
                CommandBody::Empty => js_sys::Object::new().into(),
                CommandBody::Ready(r) => json_body(&r),
                CommandBody::Break(b) => json_body(&b),
                CommandBody::WorkMode(w) => json_body(&w),
                CommandBody::Dial(d) => json_body(&d),
                CommandBody::Transfer(t) => json_body(&t),
                CommandBody::Dtmf(d) => json_body(&d),
            };
            let path = ["/api/v1/agent/", cmd.kind().name()].concat();
            self.fetch(&path, &[], Some(body)).await
        })
    }

    fn next_state(
        &self,
        next: Option<NextState>,
    ) -> LocalFuture<'_, Result<AgentSnapshot, Failure>> {
        Box::pin(async move {
            // `json_compatible`: `None` is `null` (not `undefined`, which
            // JSON.stringify would drop).
            let body = serde::Serialize::serialize(
                &NextStateRequest { next },
                &serde_wasm_bindgen::Serializer::json_compatible(),
            )
            .map_err(|_| Failure::Decode)?;
            self.fetch_with("/api/v1/agent/next-state", &[], Some(body), true)
                .await
        })
    }

    fn directory(&self, query: &str) -> LocalFuture<'_, Result<Directory, Failure>> {
        let query = query.to_owned();
        Box::pin(async move {
            self.fetch("/api/v1/directory", &[("q", query.as_str())], None)
                .await
        })
    }

    fn sip_ticket(&self) -> LocalFuture<'_, Result<SipTicket, Failure>> {
        Box::pin(self.fetch(
            "/api/v1/sip/ticket",
            &[],
            Some(js_sys::Object::new().into()),
        ))
    }

    fn device_id(&self) -> String {
        self.device_id.clone()
    }

    fn base_path(&self) -> String {
        self.base.clone()
    }
}

/// A request body as the plain JS object its JSON would give.
fn json_body<T: serde::Serialize>(body: &T) -> JsValue {
    body.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}
