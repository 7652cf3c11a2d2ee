//! Interop with a SIP server nobody here wrote: Debian's Kamailio with its
//! `websocket` and `auth_ephemeral` modules, started on a free port with a
//! generated configuration. A native user agent (the shared `ccc-sip`
//! messages and digest over tokio-tungstenite) registers through the
//! proxy's relay with ephemeral credentials (inference H1: digest username
//! `<extension>:<timestamp>`, password base64(HMAC-SHA1(secret, username)))
//! and the binding is read back from Kamailio's location table
//! (`kamcmd ul.dump`). If Kamailio cannot start the test fails and says why.
//!
//! The timestamp is in **seconds** here: Kamailio 5.6's `auth_ephemeral`
//! reads it into a 32-bit integer and refuses CCC's 13-digit millisecond
//! `UserKey2` ("unable to convert timestamp to int") — see
//! docs/softphone.md.

mod common;
mod sip_common;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use ccc_sip::{Challenge, Message as Sip};
use common::*;
use futures_util::SinkExt;
use sip_common::*;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "kamailio-interop-secret-0123456789";
const EXT: &str = "80010001";
const OTHER_EXT: &str = "80010002";
const DOMAIN: &str = "sh-sip-ccc.aliyuncs.com";

/// A Debian binary: in PATH, else under /usr/sbin (root's PATH has it,
/// other users' may not).
fn binary(name: &str) -> PathBuf {
    let sbin = Path::new("/usr/sbin").join(name);
    if sbin.exists() {
        sbin
    } else {
        PathBuf::from(name)
    }
}

/// A Kamailio child on 127.0.0.1 with a configuration of its own, stopped
/// (SIGTERM, which also ends its worker processes) on drop.
struct Kamailio {
    child: Child,
    dir: PathBuf,
    port: u16,
}

fn kamailio_cfg(port: u16, dir: &Path) -> String {
    format!(
        r#"#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=2
auto_aliases=no
listen=tcp:127.0.0.1:{port}
tcp_accept_no_cl=yes
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "ctl.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "auth_ephemeral.so"
loadmodule "xhttp.so"
loadmodule "websocket.so"
loadmodule "nathelper.so"
modparam("ctl", "binrpc", "unix:{ctl}")
modparam("usrloc", "db_mode", 0)
modparam("auth_ephemeral", "secret", "{SECRET}")
modparam("auth_ephemeral", "username_format", 0)
modparam("websocket", "keepalive_mechanism", 0)

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    force_rport();
    if (is_method("OPTIONS")) {{ sl_send_reply("200", "OK"); exit; }}
    if (!is_method("REGISTER")) {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
    if (!autheph_www("$td")) {{
        auth_challenge("$td", "1");
        exit;
    }}
    if (!autheph_check_from()) {{ sl_send_reply("403", "Forbidden"); exit; }}
    consume_credentials();
    if (!save("location")) {{ sl_reply_error(); }}
    exit;
}}

event_route[xhttp:request] {{
    set_reply_close();
    set_reply_no_connect();
    if ($hdr(Upgrade) =~ "websocket" && $hdr(Connection) =~ "Upgrade" && $rm =~ "GET") {{
        if (ws_handle_handshake()) {{ exit; }}
    }}
    xhttp_reply("404", "Not Found", "", "");
}}
"#,
        ctl = dir.join("ctl.sock").display()
    )
}

impl Kamailio {
    /// Starts Kamailio and waits (10 s at most) until it accepts TCP.
    async fn start() -> Kamailio {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("ccc-kamailio-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let cfg = dir.join("kamailio.cfg");
        std::fs::write(&cfg, kamailio_cfg(port, &dir)).expect("the configuration is written");
        let log = std::fs::File::create(dir.join("kamailio.log")).expect("a log file");
        let child = Command::new(binary("kamailio"))
            .arg("-f")
            .arg(&cfg)
            .args(["-DD", "-E", "-m", "32", "-M", "4"])
            .arg("-Y")
            .arg(&dir)
            .arg("-w")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start kamailio ({e}): install the Debian packages kamailio, \
                     kamailio-websocket-modules and kamailio-autheph-modules (scripts/setup.sh)"
                )
            });
        let mut k = Kamailio { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = k.child.try_wait() {
                panic!("kamailio exited ({status}) at start:\n{}", k.log());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
                && k.dir.join("ctl.sock").exists()
            {
                return k;
            }
            assert!(
                Instant::now() < deadline,
                "kamailio did not listen within 10 s:\n{}",
                k.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default()
    }

    /// `kamcmd ul.dump`: the location table.
    fn location(&self) -> String {
        let out = Command::new(binary("kamcmd"))
            .arg("-s")
            .arg(format!("unix:{}", self.dir.join("ctl.sock").display()))
            .arg("ul.dump")
            .output()
            .expect("kamcmd runs");
        assert!(
            out.status.success(),
            "kamcmd ul.dump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// H1 ephemeral credentials for `ext`, valid for an hour (seconds: see
/// the module comment).
fn credentials(ext: &str) -> (String, String) {
    let expiry = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let username = format!("{ext}:{expiry}");
    let password = ccc_sip::h1::ephemeral_password(SECRET.as_bytes(), &username);
    (username, password)
}

/// Sends a REGISTER, answers Kamailio's digest challenge with
/// `(username, password)`, and returns the final response.
async fn register_with(ws: &mut Client, call_id: &str, username: &str, password: &str) -> String {
    let uri = format!("sip:{DOMAIN}");
    ws.send(Message::text(register(EXT, EXT, DOMAIN, call_id, 1, "")))
        .await
        .unwrap();
    let challenge = recv_text(ws).await;
    assert_eq!(
        status_of(&challenge),
        401,
        "Kamailio challenges first: {challenge}"
    );
    let www = Sip::parse(&challenge).unwrap();
    let challenge = Challenge::parse(www.header("WWW-Authenticate").expect("a challenge")).unwrap();
    assert_eq!(
        challenge.realm, DOMAIN,
        "autheph_www(\"$td\"): the To domain"
    );
    let creds = challenge.respond("REGISTER", &uri, username, password, "0a4f113b", 1);
    let auth = format!("Authorization: {creds}\r\n");
    ws.send(Message::text(register(EXT, EXT, DOMAIN, call_id, 2, &auth)))
        .await
        .unwrap();
    recv_text(ws).await
}

#[tokio::test]
async fn a_softphone_registers_with_kamailio_through_the_relay() {
    let kamailio = Kamailio::start().await;
    let sim = sim().await;
    let (base, state, _stop) =
        serve_on_socket(config_for(&sim.endpoint(), &kamailio.ws_url())).await;
    assert!(
        !kamailio.location().contains(&format!("AoR: {EXT}")),
        "empty at start"
    );

    let mut ws = open(&base, AGENT, "kamailio-dev").await;
    // A wrong password: Kamailio refuses, nothing is bound.
    let (username, password) = credentials(EXT);
    let refused = register_with(&mut ws, "kam-bad", &username, "d3JvbmctcGFzc3dvcmQ=").await;
    assert!(matches!(status_of(&refused), 401 | 403), "{refused}");
    assert!(!kamailio.location().contains(&format!("AoR: {EXT}")));

    // The right ones: 200, and the binding is in the location table.
    let ok = register_with(&mut ws, "kam-ok", &username, &password).await;
    assert_eq!(status_of(&ok), 200, "{ok}\n{}", kamailio.log());
    assert!(
        ok.contains("Server: kamailio"),
        "Kamailio answered, not the relay: {ok}"
    );
    let table = kamailio.location();
    assert!(table.contains(&format!("AoR: {EXT}")), "{table}");
    assert!(table.contains("Call-ID: kam-ok"), "{table}");
    assert!(
        table.contains(&format!(
            "Address: sip:{EXT}@df7jal23ls0d.invalid;transport=ws"
        )),
        "{table}"
    );
    assert_eq!(state.metrics.sip().registrations(), 1);

    // Another agent's AOR never reaches Kamailio, even with valid credentials for it.
    let (other_user, other_pass) = credentials(OTHER_EXT);
    let forged = register(OTHER_EXT, OTHER_EXT, DOMAIN, "kam-forged", 1, &format!(
        "Authorization: Digest username=\"{other_user}\", realm=\"{DOMAIN}\", nonce=\"x\", uri=\"sip:{DOMAIN}\", response=\"{}\"\r\n",
        other_pass.len()
    ));
    ws.send(Message::text(forged)).await.unwrap();
    let answer = recv_text(&mut ws).await;
    assert_eq!(status_of(&answer), 403, "{answer}");
    assert!(answer.contains("Server: ccc-proxy relay"), "{answer}");
    assert!(!kamailio.location().contains(&format!("AoR: {OTHER_EXT}")));
}

/// The proxy's configuration against the simulator, relaying to `upstream`.
fn config_for(endpoint: &str, upstream: &str) -> ccc_proxy::Config {
    config(endpoint, &["--sip-upstream", upstream])
}
