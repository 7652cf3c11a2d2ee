//! `--demo`: the in-process simulator and the small sign-in page that picks
//! one of its agents and keeps the choice in a signed, HttpOnly,
//! SameSite=Strict cookie.

use axum::{
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    Form,
};

use crate::{
    identity::{sign_cookie, DEMO_COOKIE},
    security,
    state::AppState,
    static_files::html_escape,
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
    let same_origin = match headers.get(header::ORIGIN) {
        None => true,
        Some(o) => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            let origin = o.to_str().ok().and_then(|o| url::Url::parse(o).ok());
            match (origin, host) {
                (Some(u), Some(h)) => {
                    let authority = match (u.host_str(), u.port()) {
                        (Some(n), Some(p)) => format!("{n}:{p}"),
                        (Some(n), None) => n.to_owned(),
                        (None, _) => String::new(),
                    };
                    authority.eq_ignore_ascii_case(h)
                }
                _ => false,
            }
        }
    };
    if !same_origin {
        return (StatusCode::FORBIDDEN, "Cross-origin sign-in refused.").into_response();
    }
    let known = state
        .demo_agents
        .as_deref()
        .is_some_and(|a| a.iter().any(|a| a.user_id == form.user_id));
    if !known {
        return Redirect::to("/signin").into_response();
    }
    let cookie = format!(
        "{DEMO_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200",
        sign_cookie(&state.config.cookie_key, &form.user_id)
    );
    let mut res = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// `GET /signout`: forgets the agent and shows the sign-in page again.
pub async fn signout() -> Response {
    let mut res = Redirect::to("/signin").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("ccc_demo_agent=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    res
}
