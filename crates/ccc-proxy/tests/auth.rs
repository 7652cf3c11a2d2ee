//! The three ways of knowing the agent: trusted header (only from trusted
//! peers), bearer JWT (HS256 and RS256, `exp` enforced) and the demo cookie.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{body::Body, http::Request};
use common::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

const HS_SECRET: &str = "test-hs256-secret-0123456789abcdef";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn bearer(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header("host", "127.0.0.1:8080")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn hs_token(secret: &str, sub: &str, exp: u64) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": sub, "exp": exp}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn header_auth_believes_only_trusted_peers() {
    let sim = sim().await;
    let (app, _) = router_from(config(&sim.endpoint(), &[]), [127, 0, 0, 1]);
    let (s, _, b) = send(&app, get("/api/v1/session", AGENT)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["userId"], AGENT);

    let mut anonymous = get("/api/v1/session", AGENT);
    anonymous.headers_mut().remove("x-forwarded-user");
    assert_error(
        &send(&app, anonymous).await,
        401,
        "Proxy.Unauthenticated",
        "proxy",
    );

    let mut bad = get("/api/v1/session", AGENT);
    bad.headers_mut()
        .insert("x-forwarded-user", "agent 1; drop".parse().unwrap());
    assert_error(
        &send(&app, bad).await,
        401,
        "Proxy.Unauthenticated",
        "proxy",
    );

    // A bare name gets the instance appended.
    let (s, _, b) = send(&app, get("/api/v1/session", "agent2")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["userId"], AGENT2);

    // The same header from an untrusted peer is ignored.
    let (untrusted, _) = router_from(config(&sim.endpoint(), &[]), [192, 0, 2, 7]);
    let r = send(&untrusted, get("/api/v1/session", AGENT)).await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");
    let r = send(&untrusted, post("/api/v1/agent/sign-in", AGENT, "{}")).await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");

    // Custom header name and trusted network.
    let cfg = config(
        &sim.endpoint(),
        &[
            "--auth-header",
            "X-Remote-User",
            "--trusted-proxies",
            "192.0.2.0/24",
        ],
    );
    let (custom, _) = router_from(cfg, [192, 0, 2, 7]);
    let req = Request::get("/api/v1/session")
        .header("host", "127.0.0.1:8080")
        .header("x-remote-user", AGENT)
        .body(Body::empty())
        .unwrap();
    let (s, _, b) = send(&custom, req).await;
    assert_eq!(s, 200, "{b}");
    let r = send(&custom, get("/api/v1/session", AGENT)).await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");
}

#[tokio::test]
async fn jwt_hs256_valid_expired_and_forged() {
    let sim = sim().await;
    let cfg = config(
        &sim.endpoint(),
        &["--auth", "jwt", "--jwt-hs256-secret", HS_SECRET],
    );
    let (app, _) = router_from(cfg, [203, 0, 113, 9]);

    let ok = hs_token(HS_SECRET, AGENT, now() + 600);
    let (s, _, b) = send(&app, bearer("/api/v1/session", &ok)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["userId"], AGENT);

    let expired = hs_token(HS_SECRET, AGENT, now() - 3600);
    let r = send(&app, bearer("/api/v1/session", &expired)).await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");

    let forged = hs_token("another-secret-another-secret!!", AGENT, now() + 600);
    let r = send(&app, bearer("/api/v1/session", &forged)).await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");

    let no_exp = encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": AGENT}),
        &EncodingKey::from_secret(HS_SECRET.as_bytes()),
    )
    .unwrap();
    let r = send(&app, bearer("/api/v1/session", &no_exp)).await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");

    let r = send(
        &app,
        Request::get("/api/v1/agent")
            .header("host", "127.0.0.1:8080")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");
    // The trusted header means nothing in jwt mode.
    let r = send(&app, get("/api/v1/agent", AGENT)).await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");
}

#[tokio::test]
async fn jwt_rs256_and_algorithm_confusion() {
    let sim = sim().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let public = format!("{dir}/jwt-rs256-public.pem");
    let cfg = config(
        &sim.endpoint(),
        &[
            "--auth",
            "jwt",
            "--jwt-rs256-public-key-file",
            &public,
            "--jwt-audience",
            "ccc-toolbar",
        ],
    );
    let (app, _) = router_from(cfg, [203, 0, 113, 9]);
    let private = std::fs::read(format!("{dir}/jwt-rs256-private.pem")).unwrap();
    let key = EncodingKey::from_rsa_pem(&private).unwrap();
    let claims = json!({"sub": AGENT2, "exp": now() + 600, "aud": "ccc-toolbar"});
    let token = encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap();
    let (s, _, b) = send(&app, bearer("/api/v1/agent", &token)).await;
    assert_eq!(s, 200, "{b}");

    let wrong_aud = json!({"sub": AGENT2, "exp": now() + 600, "aud": "other"});
    let token = encode(&Header::new(Algorithm::RS256), &wrong_aud, &key).unwrap();
    let r = send(&app, bearer("/api/v1/agent", &token)).await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");

    // HS256 signed with the public key as secret must not pass.
    let pem = std::fs::read(&public).unwrap();
    let confused = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&pem),
    )
    .unwrap();
    let r = send(&app, bearer("/api/v1/agent", &confused)).await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");
}

fn cookie_of(res: &axum::http::HeaderMap) -> String {
    let set = res["set-cookie"].to_str().unwrap();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn demo_cookie_sign_in_flow_and_tampering() {
    let (_sim, app) = demo_app(&[]).await;
    let (s, h, _) = send(
        &app,
        Request::get("/")
            .header("host", "127.0.0.1:8080")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(h["location"], "/signin");

    let (s, h, page) = send(
        &app,
        Request::get("/signin")
            .header("host", "127.0.0.1:8080")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let page = page.as_str().unwrap().to_owned();
    for name in [
        "Ada Li",
        "Bo Wang",
        "Chen Zhao",
        "Dana Xu",
        "agent1@ccc-demo",
    ] {
        assert!(page.contains(name), "{name}");
    }
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("style-src 'self' 'sha256-"));

    let (s, h, _) = send(&app, signin_form("agent3@ccc-demo")).await;
    assert_eq!(s, 303);
    assert_eq!(h["location"], "/");
    let cookie = cookie_of(&h);

    let req = |cookie: &str| {
        Request::get("/api/v1/session")
            .header("host", "127.0.0.1:8080")
            .header("cookie", format!("theme=dark; {cookie}"))
            .body(Body::empty())
            .unwrap()
    };
    let (s, _, b) = send(&app, req(&cookie)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["userId"], "agent3@ccc-demo");
    assert_eq!(b["displayName"], "Chen Zhao");

    // Changing the user inside the cookie breaks the signature.
    let (name, value) = cookie.split_once('=').unwrap();
    let mut parts: Vec<&str> = value.split('.').collect();
    let forged_user = base64_url("agent1@ccc-demo");
    parts[1] = &forged_user;
    let forged = format!("{name}={}", parts.join("."));
    let r = send(&app, req(&forged)).await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");
    let r = send(&app, req("ccc_demo_agent=v1.x.y")).await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");
    // The SSO header means nothing in demo mode.
    let r = send(&app, get("/api/v1/session", AGENT)).await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");

    // Unknown agents are not signed in; cross-origin sign-in is refused.
    let other = Request::post("/signin")
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("user_id=root%40ccc-demo"))
        .unwrap();
    let (s, h, _) = send(&app, other).await;
    assert_eq!(s, 303);
    assert!(!h.contains_key("set-cookie"));
    let evil = Request::post("/signin")
        .header("host", "127.0.0.1:8080")
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("user_id=agent1%40ccc-demo"))
        .unwrap();
    let (s, _, _) = send(&app, evil).await;
    assert_eq!(s, 403);

    // Signing out clears the cookie and revokes it: a copy kept elsewhere
    // stops working too.
    let signout = Request::get("/signout")
        .header("host", "127.0.0.1:8080")
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    let (s, h, _) = send(&app, signout).await;
    assert_eq!(s, 303);
    assert!(h["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let r = send(&app, req(&cookie)).await;
    assert_error(&r, 401, "Proxy.Unauthenticated", "proxy");

    // Signing in again gives a new, working cookie.
    let (_, h, _) = send(&app, signin_form("agent3@ccc-demo")).await;
    let cookie = cookie_of(&h);
    let (s, _, b) = send(&app, req(&cookie)).await;
    assert_eq!(s, 200, "{b}");

    // With the cookie, `/` serves the widget page (here: the "not built" page).
    let index = Request::get("/")
        .header("host", "127.0.0.1:8080")
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    let (s, _, b) = send(&app, index).await;
    assert_eq!(s, 503);
    assert!(b.as_str().unwrap().contains("make run"));
}

fn base64_url(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
