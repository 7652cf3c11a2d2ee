//! Debian's Kamailio as a SIP-over-WebSocket registrar nobody here wrote,
//! for the softphone's interop tests (the proxy's native user agent and the
//! widget's in Chromium): the `websocket` and `auth_ephemeral` modules on a
//! free loopback port with a generated configuration, REGISTER only
//! (digest realm = the To domain, `autheph_check_from`), the location
//! table read with `kamcmd ul.dump`. If Kamailio cannot start, `start`
//! panics and says why (scripts/setup.sh installs it).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

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
#[derive(Debug)]
pub struct Kamailio {
    child: Child,
    dir: PathBuf,
    port: u16,
}

fn kamailio_cfg(port: u16, dir: &Path, secret: &str) -> String {
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
modparam("auth_ephemeral", "secret", "{secret}")
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
    /// Starts Kamailio with the `auth_ephemeral` `secret` and waits (10 s
    /// at most) until it accepts TCP.
    pub async fn start(secret: &str) -> Kamailio {
        let port = crate::free_port();
        let dir = std::env::temp_dir().join(format!("ccc-kamailio-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let cfg = dir.join("kamailio.cfg");
        std::fs::write(&cfg, kamailio_cfg(port, &dir, secret))
            .expect("the configuration is written");
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

    /// Its SIP-over-WebSocket address, `ws://127.0.0.1:<port>/`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// What Kamailio logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default()
    }

    /// `kamcmd ul.dump`: the location table.
    pub fn location(&self) -> String {
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
