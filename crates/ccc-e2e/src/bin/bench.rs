//! `make bench`: prints the figures that matter for the toolbar.
//!
//! - the release bundle (wasm + JS + CSS), raw, gzip -9 and brotli bytes
//!   (scripts/bench.sh adds twiggy's top 10 of the wasm);
//! - time to first state: navigation start → the toolbar shows the server
//!   state, cold loads in headless Chromium, against a plain page that only
//!   fetches `/api/v1/agent` ([`ccc_e2e::first_state`]);
//! - a state change through proxy → signed CCC call → simulator → fresh
//!   snapshot, round-trip latency over many commands;
//! - long-poll fan-out: how fast 100 waiting tabs of one agent see a change;
//! - upstream load: PollUserStatus calls per second while 100 tabs wait;
//! - browser → proxy requests and bytes per agent per idle minute with 1 and
//!   with 10 tabs of one browser profile (one leader tab long-polls);
//! - the softphone (`bench softphone` prints only these): the REGISTER
//!   round trip through the proxy's SIP relay to the simulator's registrar,
//!   and Answer click → first inbound audio packet in headless Chromium.
//!
//! Everything runs on loopback; the numbers are for comparing builds on the
//! same machine, not absolute truths.

// Printing figures is this binary's whole job.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use ccc_e2e::{
    browser::BrowserOptions, bundle, epoch_ms, eventually, first_state, workspace_root, Browser,
    Stack, StackOptions,
};
use fantoccini::wd::WindowHandle;
use serde_json::Value;

const AGENT: &str = "agent1@ccc-demo";
const COMMANDS: usize = 200;
const WAITERS: usize = 100;
const COLD_LOADS: usize = 15;

/// True when `section` is to run: all by default, else the ones named in
/// `CCC_BENCH` (comma-separated: `bundle`, `first-state`, `idle`, `proxy`),
/// to repeat one figure without the rest.
fn wanted(section: &str) -> bool {
    std::env::var("CCC_BENCH").map_or(true, |list| list.split(',').any(|s| s.trim() == section))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("softphone") {
        softphone_figures().await;
        return;
    }
    if wanted("bundle") {
        bundle_figures();
    }
    if wanted("first-state") {
        first_state_figures().await;
    }
    if wanted("idle") {
        idle_tab_figures().await;
    }
    if !wanted("proxy") {
        return;
    }
    let stack = Stack::start(StackOptions {
        auth: "header",
        proxy_flags: vec![
            "--rate-limit-per-minute".into(),
            "100000".into(),
            "--rate-limit-burst".into(),
            "100000".into(),
            // 100 tabs of one agent on one device: far above the caps a
            // real browser needs (issue 9), lifted to measure the fan-out.
            "--longpolls-per-device".into(),
            "1000".into(),
            "--longpolls-per-agent".into(),
            "1000".into(),
            "--read-rate-limit-per-minute".into(),
            "100000".into(),
            "--read-rate-limit-burst".into(),
            "100000".into(),
            // The fleet budget (20 calls/s, one second of burst) would pace
            // 200 back-to-back commands at 10/s: lifted to time the path.
            "--upstream-qps".into(),
            "100000".into(),
        ],
        poll_interval_ms: 1000,
        ..StackOptions::default()
    })
    .await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(WAITERS + 8)
        .timeout(Duration::from_secs(40))
        .build()
        .unwrap();
    let api = Api {
        http: &http,
        base: &stack.base,
    };
    api.post("sign-in", "{}").await;
    command_latency(&api).await;
    fan_out(&api).await;
    stack.stop().await;
    softphone_figures().await;
}

const REGISTRATIONS: usize = 50;

/// REGISTER through the relay (`GET /api/v1/sip`) to the simulator's
/// registrar with the session's H1 credentials: the first round trip (the
/// digest challenge) and the whole registration (challenge, answer, 200).
async fn softphone_figures() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

    let stack = Stack::start(StackOptions {
        auth: "header",
        proxy_flags: [
            "--sip-relay",
            "--sip-rate-per-minute",
            "100000",
            "--sip-rate-burst",
            "100000",
        ]
        .map(String::from)
        .to_vec(),
        ..StackOptions::default()
    })
    .await;
    let session: Value = reqwest::Client::new()
        .get(stack.url("/api/v1/session"))
        .header("x-forwarded-user", AGENT)
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("session JSON");
    let phone = &session["softphone"];
    let aor = phone["aor"]
        .as_str()
        .expect("a softphone block (ON_SITE agent)");
    let (user, domain) = aor
        .trim_start_matches("sip:")
        .split_once('@')
        .expect("sip:<ext>@<domain>");
    let (username, password) = (
        phone["authUsername"].as_str().unwrap(),
        phone["authPassword"].as_str().unwrap(),
    );
    let ws_url = stack
        .url(phone["wsPath"].as_str().unwrap())
        .replacen("http://", "ws://", 1);
    let mut req = format!("{ws_url}?device=bench")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("x-forwarded-user", AGENT.parse().unwrap());
    req.headers_mut()
        .insert("sec-websocket-protocol", "sip".parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("the relay upgrades");
    let (mut ws, mut incoming) = ws.split();
    let register = |call_id: &str, cseq: u32, auth: &str| {
        format!(
            "REGISTER sip:{domain} SIP/2.0\r\nVia: SIP/2.0/WS bench.invalid;branch=z9hG4bK{call_id}-{cseq}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{user}@{domain}>;tag=b{call_id}\r\nTo: <sip:{user}@{domain}>\r\n\
             Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n{auth}\
             Contact: <sip:{user}@bench.invalid;transport=ws>\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n"
        )
    };
    let mut next = async || loop {
        match incoming.next().await.expect("open").expect("no error") {
            Message::Text(t) => return ccc_sip::Message::parse(&t).expect("SIP"),
            _ => continue,
        }
    };
    let (mut challenges, mut whole) = (Vec::new(), Vec::new());
    for i in 0..REGISTRATIONS {
        let call_id = format!("bench-{i}");
        let t = Instant::now();
        ws.send(Message::text(register(&call_id, 1, "")))
            .await
            .unwrap();
        let challenge = next().await;
        challenges.push(t.elapsed());
        assert_eq!(challenge.status(), Some(401));
        let c = ccc_sip::Challenge::parse(challenge.header("WWW-Authenticate").unwrap()).unwrap();
        let creds = c.respond(
            "REGISTER",
            &format!("sip:{domain}"),
            username,
            password,
            "bench",
            1,
        );
        let auth = format!("Authorization: {creds}\r\n");
        ws.send(Message::text(register(&call_id, 2, &auth)))
            .await
            .unwrap();
        let ok = next().await;
        whole.push(t.elapsed());
        assert_eq!(ok.status(), Some(200));
    }
    println!(
        "softphone REGISTER through the relay to the simulator, {REGISTRATIONS} registrations:"
    );
    print!("  REGISTER → 401 challenge (one round trip)   ");
    print_stats(&mut challenges);
    print!("  REGISTER → 401 → REGISTER + digest → 200   ");
    print_stats(&mut whole);
    stack.stop().await;
    answer_to_audio_figures().await;
}

const ANSWERED_CALLS: usize = 20;

/// Answer click → first inbound audio packet, over [`ANSWERED_CALLS`]
/// inbound calls to one registered softphone (the first call included: its
/// `getUserMedia` is the cold one). Both instants are the page's own
/// `performance.now()`: just before the Answer button's `click()`, and the
/// remote track's `unmute` (Chromium unmutes a remote track when its first
/// RTP packet arrives; `ccc_e2e::softphone::SPY`). In between: microphone,
/// `RTCPeerConnection`, ICE gathering, the SIP `200 OK` through the relay,
/// the simulator's ICE/DTLS and its first packet.
///
/// Twice: with no TURN server (as media on loopback or a LAN needs none),
/// and with the simulator's default, a TURN server named at 127.0.0.1 where
/// nothing listens (an unreachable relay: the widget sends its SDP answer
/// when ICE gathering completes or after 1.5 s, `softphone::media::GATHER_MS`).
async fn answer_to_audio_figures() {
    answer_to_audio(false).await;
    answer_to_audio(true).await;
}

async fn answer_to_audio(unreachable_turn: bool) {
    use ccc_e2e::softphone;

    let mut sim = ccc_sim::softphone::SoftphoneConfig::default();
    if !unreachable_turn {
        // An empty domain: GetTurnServerList names no usable server.
        sim.turn_domain = String::new();
    }
    let stack = Stack::start(StackOptions {
        after_call_ms: 100,
        sim_softphone: Some(sim),
        ..softphone::stack_options()
    })
    .await;
    let b = softphone::registered_agent(&stack, true).await;
    let mut times = Vec::with_capacity(ANSWERED_CALLS);
    for _ in 0..ANSWERED_CALLS {
        let job = stack.ring(AGENT, "13800138000").await;
        b.wait_attr("softphone-status", "data-call", "ringing")
            .await;
        b.wait_visible("answer").await;
        b.js(
            "window.__firstAudio = null; window.__t0 = performance.now();
              document.querySelector('[data-testid=\"answer\"]').click(); return true",
        )
        .await;
        let ms = eventually("the first inbound audio packet", Duration::from_secs(10), || async {
            b.js("return window.__firstAudio === null ? null : window.__firstAudio - window.__t0")
                .await
                .as_f64()
                .ok_or_else(|| "no audio yet".to_owned())
        })
        .await;
        times.push(Duration::from_secs_f64(ms / 1000.0));
        stack
            .admin(
                "POST",
                &format!("/_sim/calls/{job}/hangup"),
                serde_json::json!({}),
            )
            .await;
        b.wait_attr("softphone-status", "data-call", "idle").await;
        b.wait_state("READY").await;
    }
    println!(
        "softphone Answer click → first inbound audio packet (page clock), {ANSWERED_CALLS} calls, {}:",
        if unreachable_turn {
            "a TURN server named where none listens"
        } else {
            "no TURN server (loopback needs none)"
        }
    );
    print_stats(&mut times);
    b.close().await;
    stack.stop().await;
}

fn bundle_figures() {
    // scripts/build-widget.sh says which toolchain built the release wasm.
    let toolchain = std::fs::read_to_string(workspace_root().join("target/ccc-widget-toolchain"))
        .map_or_else(
            |_| "an unknown toolchain (not scripts/build-widget.sh)".to_owned(),
            |t| t.trim().to_owned(),
        );
    match bundle::assets(&workspace_root().join("dist")) {
        Ok(assets) => {
            println!("bundle (dist/), wasm built with {toolchain}:");
            for a in &assets {
                println!(
                    "  {:<44} {:>8} B  {:>7} B gzip  {:>7} B brotli",
                    a.name,
                    a.raw,
                    a.gzip,
                    a.brotli.unwrap_or(0)
                );
            }
            let raw: usize = assets.iter().map(|a| a.raw).sum();
            let gz: usize = assets.iter().map(|a| a.gzip).sum();
            let br: usize = assets.iter().filter_map(|a| a.brotli).sum();
            println!(
                "  {:<44} {raw:>8} B  {gz:>7} B gzip  {br:>7} B brotli (gzip ratchet {})",
                "total",
                bundle::LIMIT_GZIP_BYTES
            );
            println!(
                "  goal of issue 21: {} B gzip (170 KB): {}",
                bundle::GOAL_GZIP_BYTES,
                if gz <= bundle::GOAL_GZIP_BYTES {
                    "met".to_owned()
                } else {
                    format!("{} B over", gz - bundle::GOAL_GZIP_BYTES)
                }
            );
        }
        Err(e) => println!("bundle: {e}"),
    }
    softphone_cost();
}

/// What the softphone costs the bundle: dist/ against the same build
/// without the widget's cargo feature `softphone` (scripts/bench.sh builds
/// it into target/dist-no-softphone). The feature removes the user agent,
/// SIP, digest and WebRTC code; the status words and UI pieces stay (they
/// render nothing), so the figure slightly understates the whole cost.
fn softphone_cost() {
    let root = workspace_root();
    let gzip = |dir: &str| -> Result<usize, String> {
        Ok(bundle::assets(&root.join(dir))?
            .iter()
            .map(|a| a.gzip)
            .sum())
    };
    match (gzip("dist"), gzip("target/dist-no-softphone")) {
        (Ok(with), Ok(without)) => println!(
            "  the softphone's cost: {with} B − {without} B without it = {} B gzip (issue 20's target 40,960 B)",
            with as i64 - without as i64
        ),
        (_, Err(e)) => println!("  the softphone's cost: not measured ({e})"),
        (Err(_), _) => {}
    }
}

async fn first_state_figures() {
    let t = first_state::measure(COLD_LOADS).await;
    let (widget, plain) = (
        first_state::median(&t.widget),
        first_state::median(&t.plain),
    );
    println!("time to first state, {COLD_LOADS} cold loads each (navigation start → state shown):");
    println!("  toolbar page      median {widget:.1} ms");
    println!("  plain fetch page  median {plain:.1} ms");
    println!("  ratio (medians)   {:.2}", widget / plain);
}

/// The idle window: two long-poll periods (the widget waits 25 s), so the
/// number of long-polls that complete in it does not depend on where it
/// starts; scaled to a minute.
const IDLE_WINDOW: Duration = Duration::from_secs(50);

/// Opens `tabs` tabs of one browser signed in as `agent` (demo sign-in),
/// each showing the connected toolbar.
async fn open_tabs(stack: &Stack, agent: &str, tabs: usize) -> (Browser, Vec<WindowHandle>) {
    let b = Browser::start(BrowserOptions::default()).await;
    b.goto(&stack.url("/")).await;
    b.click(&format!("signin-{agent}")).await;
    let mut handles = vec![b.client.window().await.expect("first tab")];
    for _ in 1..tabs {
        handles.push(b.open_tab(&stack.url("/")).await);
    }
    for h in &handles {
        b.client.switch_to_window(h.clone()).await.unwrap();
        b.wait_attr("ccc-toolbar", "data-connection", "connected")
            .await;
    }
    (b, handles)
}

/// Requests and bytes that every tab of `b` received from `/api/` between
/// the epoch-ms instants `from` and `to`.
async fn api_traffic(b: &Browser, tabs: &[WindowHandle], from: f64, to: f64) -> (u64, u64) {
    let mut total = (0, 0);
    for h in tabs {
        b.client.switch_to_window(h.clone()).await.unwrap();
        let (n, bytes) = b.requests_to("/api/", from, to).await;
        total = (total.0 + n, total.1 + bytes);
    }
    total
}

/// Browser requests and bytes per agent per idle minute with one tab and
/// with ten tabs of one profile (two agents, measured side by side over the
/// same window), from Resource Timing in every tab: requests that completed
/// in the window. Tabs are switched to (focused) only before and after it.
async fn idle_tab_figures() {
    let stack = Stack::start(StackOptions::default()).await;
    let one = open_tabs(&stack, "agent1@ccc-demo", 1).await;
    let ten = open_tabs(&stack, "agent2@ccc-demo", 10).await;
    let from = epoch_ms();
    tokio::time::sleep(IDLE_WINDOW).await;
    let to = epoch_ms();
    let per_minute = 60.0 / IDLE_WINDOW.as_secs_f64();
    println!(
        "browser → proxy per agent per idle minute ({} s window = two 25 s long-polls, scaled; Resource Timing of every tab):",
        IDLE_WINDOW.as_secs()
    );
    for (label, (b, tabs)) in [("1 tab", &one), ("10 tabs", &ten)] {
        let (n, bytes) = api_traffic(b, tabs, from, to).await;
        println!(
            "  {label:<8} {:>5.1} requests/min  {:>7.0} B/min",
            n as f64 * per_minute,
            bytes as f64 * per_minute
        );
    }
    one.0.close().await;
    ten.0.close().await;
    stack.stop().await;
}

struct Api<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
}

impl Api<'_> {
    async fn post(&self, command: &str, body: &str) -> Value {
        let res = self
            .http
            .post(format!("{}/api/v1/agent/{command}", self.base))
            .header("x-forwarded-user", AGENT)
            .header("x-ccc-device-id", "bench")
            .header("content-type", "application/json")
            .header("x-requested-with", "ccc-toolbar")
            .body(body.to_owned())
            .send()
            .await
            .expect("proxy answers");
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{command}: {status} {v}");
        v
    }

    async fn agent(&self, since: Option<i64>, wait: u64) -> Value {
        let mut url = format!("{}/api/v1/agent", self.base);
        if let Some(since) = since {
            url.push_str(&format!("?since={since}&wait={wait}"));
        }
        self.http
            .get(url)
            .header("x-forwarded-user", AGENT)
            .header("x-ccc-device-id", "bench")
            .send()
            .await
            .expect("proxy answers")
            .json()
            .await
            .expect("snapshot")
    }

    async fn metric(&self, name: &str) -> f64 {
        let text = ccc_testkit::metrics_text(self.http, self.base).await;
        ccc_e2e::metric_sum(&text, name)
    }
}

async fn command_latency(api: &Api<'_>) {
    let session: Value = api
        .http
        .get(format!("{}/api/v1/session", api.base))
        .header("x-forwarded-user", AGENT)
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("session JSON");
    let code = session["breakCodes"][0]
        .as_str()
        .expect("at least one configured break code")
        .to_owned();
    let break_body = serde_json::json!({ "code": code }).to_string();
    let mut times = Vec::with_capacity(COMMANDS);
    for i in 0..COMMANDS {
        let (cmd, body) = if i % 2 == 0 {
            ("ready", "{}")
        } else {
            ("break", break_body.as_str())
        };
        let t = Instant::now();
        api.post(cmd, body).await;
        times.push(t.elapsed());
    }
    println!("state change round trip (browser API → signed CCC call → simulator → snapshot), {COMMANDS} commands:");
    print_stats(&mut times);
}

async fn fan_out(api: &Api<'_>) {
    let snap = api.agent(None, 0).await;
    let since = snap["contextId"].as_i64().expect("contextId");
    let mut waiters = Vec::with_capacity(WAITERS);
    for _ in 0..WAITERS {
        let http = api.http.clone();
        let base = api.base.to_owned();
        waiters.push(tokio::spawn(async move {
            let res = http
                .get(format!("{base}/api/v1/agent?since={since}&wait=25"))
                .header("x-forwarded-user", AGENT)
                .header("x-ccc-device-id", "bench")
                .send()
                .await
                .expect("long-poll answers");
            let _ = res.bytes().await;
            Instant::now()
        }));
    }
    // Let every waiter park, then measure the upstream load while they wait.
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.metric("ccc_proxy_longpoll_waiters").await < WAITERS as f64 {
        assert!(Instant::now() < deadline, "waiters did not all park");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    const POLLS: &str = "ccc_proxy_upstream_requests_total{action=\"PollUserStatus\"";
    let before = api.metric(POLLS).await;
    let window = Duration::from_secs(5);
    tokio::time::sleep(window).await;
    let after = api.metric(POLLS).await;
    println!(
        "upstream PollUserStatus while {WAITERS} tabs long-poll one agent: {:.2} calls/s (one shared loop)",
        (after - before) / window.as_secs_f64()
    );

    let changed = Instant::now();
    api.post("ready", "{}").await;
    let mut seen = Vec::with_capacity(WAITERS);
    for w in waiters {
        let at = w.await.expect("waiter task");
        seen.push(at.saturating_duration_since(changed));
    }
    println!("long-poll fan-out: {WAITERS} waiting tabs see a state change after:");
    print_stats(&mut seen);
}

fn print_stats(times: &mut [Duration]) {
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  p50 {:.2} ms   p95 {:.2} ms   max {:.2} ms",
        ms(pct(0.50)),
        ms(pct(0.95)),
        ms(pct(1.0))
    );
}
