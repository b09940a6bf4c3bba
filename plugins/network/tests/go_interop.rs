//! Packets from our sender, parsed by go-collectd's `network.Parse` with the
//! options the CloudWatch Agent uses (tests/go/netrecv), at every security
//! level; plus the ABSOLUTE policy: go-collectd rejects a whole packet that
//! holds an ABSOLUTE value, so `AbsoluteValues` decides what else is lost.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use network::codec::{Value, ValueListOut};
use network::config::{parse, ConfValue, Item};
use network::sender::Sender;
use network::stats::Stats;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Builds tests/go/netrecv into a temp dir (GOPATH mode, go-collectd from
/// /usr/share/gocode). The Go build cache is shared under the target dir.
fn build_go(tmp: &Path) -> PathBuf {
    let out = tmp.join("netrecv");
    let cache = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
        .join("go-cache");
    let st = Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(workspace().join("tests/go/netrecv"))
        .env("GO111MODULE", "off")
        .env(
            "GOPATH",
            format!("/usr/share/gocode:{}", tmp.join("gopath").display()),
        )
        .env("GOCACHE", cache)
        .status()
        .expect("run go build (is Go installed?)");
    assert!(st.success(), "go build failed");
    out
}

struct GoReceiver {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for GoReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl GoReceiver {
    fn start(bin: &Path, port: u16, level: &str, auth: &Path) -> GoReceiver {
        let mut child = Command::new(bin)
            .arg("-listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(["-level", level, "-authfile"])
            .arg(auth)
            .arg("-typesdb")
            .arg(workspace().join("share/types.db"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start netrecv");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let l2 = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                l2.lock().unwrap().push(line);
            }
        });
        GoReceiver { child, lines }
    }

    /// Waits until `n` lines arrived or 10 s passed.
    fn wait(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.lines.lock().unwrap().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Give stragglers a moment, so "exactly n" is checked too.
        std::thread::sleep(Duration::from_millis(200));
        self.lines.lock().unwrap().clone()
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sender(port: u16, level: &str, password: &str, absolute: &str) -> (Sender, Arc<Stats>) {
    let s = |v: &str| ConfValue::String(v.into());
    let kid = |k: &str, v: &str| Item {
        key: k.into(),
        values: vec![s(v)],
        children: vec![],
    };
    let block = Item {
        key: "Plugin".into(),
        values: vec![],
        children: vec![Item {
            key: "Server".into(),
            values: vec![s("127.0.0.1"), s(&port.to_string())],
            children: vec![
                kid("SecurityLevel", level),
                kid("Username", "cwagent"),
                kid("Password", password),
                kid("AbsoluteValues", absolute),
            ],
        }],
    };
    let (cfg, errors) = parse(&block);
    assert!(errors.is_empty(), "{errors:?}");
    let stats = Arc::new(Stats::default());
    (Sender::new(&cfg, stats.clone()), stats)
}

/// Sends: load (3 gauges), if_octets (2 derives), an ABSOLUTE list, a counter.
fn send_batch(s: &mut Sender) {
    let t = 1_700_000_000u64 << 30;
    let iv = 10u64 << 30;
    let lists: [(&str, &str, &str, Vec<Value>); 4] = [
        (
            "load",
            "load",
            "",
            vec![Value::Gauge(0.5), Value::Gauge(0.25), Value::Gauge(0.125)],
        ),
        (
            "interface",
            "if_octets",
            "",
            vec![Value::Derive(1000), Value::Derive(2000)],
        ),
        ("app", "absolute", "events", vec![Value::Absolute(7)]),
        ("app", "counter", "requests", vec![Value::Counter(99)]),
    ];
    for (plugin, type_, ti, values) in &lists {
        s.write(&ValueListOut {
            host: b"ours.example",
            plugin: plugin.as_bytes(),
            plugin_instance: b"",
            type_: type_.as_bytes(),
            type_instance: ti.as_bytes(),
            time: t,
            interval: iv,
            values,
        });
    }
    s.flush(Duration::ZERO);
}

fn count(lines: &[String], kind: &str) -> usize {
    lines
        .iter()
        .filter(|l| l.contains(&format!("\"kind\":\"{kind}\"")))
        .count()
}

#[test]
fn go_collectd_parses_our_packets_at_every_level() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = build_go(tmp.path());
    let auth = tmp.path().join("auth_file");
    std::fs::write(&auth, "cwagent: s3cret\n").unwrap();
    for level in ["none", "sign", "encrypt"] {
        let port = free_port();
        let go = GoReceiver::start(&bin, port, level, &auth);
        std::thread::sleep(Duration::from_millis(300));
        let (mut s, _) = sender(port, level, "s3cret", "Drop");
        send_batch(&mut s);
        let lines = go.wait(3);
        assert_eq!(count(&lines, "values"), 3, "level {level}: {lines:?}");
        assert_eq!(count(&lines, "error"), 0, "level {level}: {lines:?}");
        let load = lines
            .iter()
            .find(|l| l.contains("\"plugin\":\"load\""))
            .expect("load list");
        assert!(load.contains("\"values\":[0.5,0.25,0.125]"), "{load}");
        assert!(load.contains("\"host\":\"ours.example\""), "{load}");
        assert!(load.contains("\"time\":1700000000"), "{load}");
        assert!(load.contains("\"interval\":10"), "{load}");
        let octets = lines
            .iter()
            .find(|l| l.contains("if_octets"))
            .expect("if_octets");
        assert!(
            octets.contains("\"dsnames\":[\"rx\",\"tx\"]") && octets.contains("[1000,2000]"),
            "{octets}"
        );
    }
}

#[test]
fn wrong_password_or_lower_level_yields_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = build_go(tmp.path());
    let auth = tmp.path().join("auth_file");
    std::fs::write(&auth, "cwagent: s3cret\n").unwrap();
    // (receiver level, sender level, sender password)
    for (rl, sl, pw) in [
        ("encrypt", "encrypt", "wrong"),
        ("sign", "sign", "wrong"),
        ("encrypt", "sign", "s3cret"),
        ("encrypt", "none", "s3cret"),
    ] {
        let port = free_port();
        let go = GoReceiver::start(&bin, port, rl, &auth);
        std::thread::sleep(Duration::from_millis(300));
        let (mut s, stats) = sender(port, sl, pw, "Drop");
        send_batch(&mut s);
        assert!(stats.packets_tx.load(std::sync::atomic::Ordering::Relaxed) >= 1);
        let lines = go.wait(1);
        assert_eq!(count(&lines, "values"), 0, "{rl}/{sl}/{pw}: {lines:?}");
        if pw == "wrong" {
            assert_eq!(count(&lines, "error"), 1, "{rl}/{sl}/{pw}: {lines:?}");
        }
    }
}

#[test]
fn absolute_policy_decides_what_go_collectd_loses() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = build_go(tmp.path());
    let auth = tmp.path().join("auth_file");
    std::fs::write(&auth, "cwagent: s3cret\n").unwrap();
    // Send (collectd's behaviour): the packet with the ABSOLUTE list is
    // rejected as a whole, losing the other three lists too.
    // Separate: only the ABSOLUTE list's own packet is rejected.
    // Drop: it is never sent; nothing is rejected.
    for (mode, values, errors) in [("Send", 0, 1), ("Separate", 3, 1), ("Drop", 3, 0)] {
        let port = free_port();
        let go = GoReceiver::start(&bin, port, "encrypt", &auth);
        std::thread::sleep(Duration::from_millis(300));
        let (mut s, stats) = sender(port, "encrypt", "s3cret", mode);
        send_batch(&mut s);
        let lines = go.wait(values + errors);
        assert_eq!(count(&lines, "values"), values, "{mode}: {lines:?}");
        assert_eq!(count(&lines, "error"), errors, "{mode}: {lines:?}");
        let dropped = stats
            .absolute_dropped
            .load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(dropped, u64::from(mode == "Drop"), "{mode}");
    }
}
