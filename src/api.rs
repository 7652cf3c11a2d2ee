//! The proxy's API behind a trait, so the sync loop and the controls can be
//! tested against a fake ([`crate::testing::FakeApi`]). [`HttpApi`] is the
//! real client over `fetch`; it decodes with serde-wasm-bindgen (no serde_json).

use std::{future::Future, pin::Pin};

use ccc_model::api::{AgentSnapshot, ApiErrorBody, Session};
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, Request, RequestCredentials, RequestInit, Response};

use crate::{
    browser::{js_object, js_str},
    logic::{
        command::{Command, CommandBody},
        Failure,
    },
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
    /// The `X-CCC-Device-Id` this client sends.
    fn device_id(&self) -> String;
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

    async fn fetch<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<JsValue>,
    ) -> Result<T, Failure> {
        let fail = |_| Failure::Network;
        let headers = Headers::new().map_err(fail)?;
        headers.set("Accept", "application/json").map_err(fail)?;
        headers
            .set("X-CCC-Device-Id", &self.device_id)
            .map_err(fail)?;
        if let Some(token) = self.bearer().await? {
            headers
                .set("Authorization", &format!("Bearer {token}"))
                .map_err(fail)?;
        }
        let init = RequestInit::new();
        init.set_method(method);
        init.set_credentials(RequestCredentials::SameOrigin);
        if let Some(body) = body {
            headers
                .set("Content-Type", "application/json")
                .map_err(fail)?;
            headers
                .set("X-Requested-With", "ccc-toolbar")
                .map_err(fail)?;
            let text = js_sys::JSON::stringify(&body).map_err(fail)?;
            init.set_body(&text);
        }
        init.set_headers(&headers);
        let abort = AbortOnDrop(AbortController::new().ok());
        if let Some(c) = &abort.0 {
            init.set_signal(Some(&c.signal()));
        }
        let url = format!("{}{path}", self.base);
        let request = Request::new_with_str_and_init(&url, &init).map_err(fail)?;
        let window = web_sys::window().ok_or(Failure::Network)?;
        let resp: Response = JsFuture::from(window.fetch_with_request(&request))
            .await
            .map_err(fail)?
            .unchecked_into();
        let status = resp.status();
        let json = match resp.json() {
            Ok(p) => JsFuture::from(p).await.ok(),
            Err(_) => None,
        };
        drop(abort);
        if resp.ok() {
            let json = json.ok_or(Failure::Decode)?;
            serde_wasm_bindgen::from_value(json).map_err(|_| Failure::Decode)
        } else {
            match json.and_then(|j| serde_wasm_bindgen::from_value::<ApiErrorBody>(j).ok()) {
                Some(b) => Err(Failure::Api {
                    status,
                    error: b.error,
                }),
                None => Err(Failure::Http { status }),
            }
        }
    }
}

impl AgentApi for HttpApi {
    fn session(&self) -> LocalFuture<'_, Result<Session, Failure>> {
        Box::pin(self.fetch("GET", "/api/v1/session", None))
    }

    fn agent(
        &self,
        since: Option<i64>,
        wait_secs: u32,
    ) -> LocalFuture<'_, Result<AgentSnapshot, Failure>> {
        let path = match since {
            Some(s) => format!("/api/v1/agent?since={s}&wait={wait_secs}"),
            None => "/api/v1/agent".to_owned(),
        };
        Box::pin(async move { self.fetch("GET", &path, None).await })
    }

    fn command(&self, cmd: Command) -> LocalFuture<'_, Result<AgentSnapshot, Failure>> {
        Box::pin(async move {
            let body = match cmd.body() {
                CommandBody::Empty => js_object(&[]),
                CommandBody::Ready(r) => js_object(&[("outboundOnly", r.outbound_only.into())]),
                CommandBody::Break(b) => js_object(&[("code", JsValue::from_str(&b.code))]),
                CommandBody::WorkMode(w) => js_object(&[
                    ("mode", JsValue::from_str(w.mode.as_str())),
                    ("mobile", js_str(w.mobile.as_deref())),
                ]),
            };
            self.fetch("POST", &cmd.path(), Some(body)).await
        })
    }

    fn device_id(&self) -> String {
        self.device_id.clone()
    }
}
