//! `--demo`: the in-process simulator and the small sign-in page that picks
//! one of its agents and keeps the choice in a signed, HttpOnly,
//! SameSite=Strict cookie.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Redirect, Response},
    Form,
};

use crate::{
    identity::{COOKIE_LIFETIME_MS, COOKIE_RENEW_AFTER_MS, DEMO_COOKIE},
    security,
    state::AppState,
    static_files::html_escape,
    upstream::now_ms,
};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;\
padding:0 1rem;color:#1d2433}h1{font-size:1.4rem}p{color:#555}\
button{display:block;width:100%;margin:.5rem 0;padding:.8rem 1rem;font-size:1rem;\
text-align:left;border:1px solid #c8cfdb;border-radius:.5rem;background:#f6f8fb;cursor:pointer}\
button:hover,button:focus{background:#e4ecfb;border-color:#4a78d0}small{color:#666}";

/// `GET /signin`: one button per simulator agent.
pub async fn signin_page(State(state): State<AppState>) -> Response {
    let agents = state.demo_agents.as_deref().unwrap_or_default();
    let buttons: String = agents
        .iter()
        .map(|a| {
            format!(
                "<button type=\"submit\" name=\"user_id\" value=\"{id}\" data-testid=\"signin-{id}\">\
                 {name} <small>{id} · ext. {ext}</small></button>",
                id = html_escape(&a.user_id),
                name = html_escape(&a.display_name),
                ext = html_escape(&a.extension),
            )
        })
        .collect();
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>CCC toolbar demo: sign in</title><style>{STYLE}</style></head><body>\
         <h1>CCC toolbar demo</h1>\
         <p>Pick the simulated agent you want to be. Simulated calls arrive while you are ready.</p>\
         <form method=\"post\" action=\"/signin\">{buttons}</form></body></html>"
    );
    let policy = security::csp("'none'", &[], &[security::csp_hash(STYLE)]);
    let mut res = Html(html).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&policy) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// The sign-in form.
#[derive(Debug, serde::Deserialize)]
pub struct SignInForm {
    user_id: String,
}

/// `POST /signin`: sets the cookie and goes to the toolbar.
pub async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let checked = state
        .security
        .check_host(&headers)
        .and_then(|()| state.security.check_origin(&headers));
    if checked.is_err() {
        return (StatusCode::FORBIDDEN, "Cross-origin sign-in refused.").into_response();
    }
    let known = state
        .demo_agents
        .as_deref()
        .is_some_and(|a| a.iter().any(|a| a.user_id == form.user_id));
    if !known {
        return Redirect::to("/signin").into_response();
    }
    let mut res = Redirect::to("/").into_response();
    set_cookie(&state, &mut res, &form.user_id);
    res
}

/// Adds a fresh demo cookie for `user_id` to `res`.
fn set_cookie(state: &AppState, res: &mut Response, user_id: &str) {
    let Some(value) = state.auth.issue_cookie(user_id) else {
        return;
    };
    let cookie = format!(
        "{DEMO_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        COOKIE_LIFETIME_MS / 1000
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// `GET /signout`: revokes the agent's demo cookies (every browser of that
/// simulated agent) and shows the sign-in page again.
pub async fn signout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some((user, _)) = state.auth.demo_session(&headers) {
        state.auth.revoke(&user).await;
        tracing::info!(user_id = %user, "demo sign-out");
    }
    let mut res = Redirect::to("/signin").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("ccc_demo_agent=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    res
}

/// Middleware (demo mode): a valid cookie older than
/// [`COOKIE_RENEW_AFTER_MS`] is renewed on the response, so an agent who
/// keeps the toolbar open stays signed in and an idle one expires.
pub async fn renew_cookie(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let session = state.auth.demo_session(req.headers());
    let mut res = next.run(req).await;
    if let Some((user, issued)) = session {
        let renew = now_ms() - issued >= COOKIE_RENEW_AFTER_MS;
        if renew && !res.headers().contains_key(header::SET_COOKIE) {
            set_cookie(&state, &mut res, &user);
        }
    }
    res
}
