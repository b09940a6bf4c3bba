//! Reload on SIGHUP: a config that fails its test leaves the daemon running
//! on the old one; a good one is taken up by the same process (same PID)
//! with COUNTER/DERIVE rates continuing, and systemd hears RELOADING=1 then
//! READY=1.

use std::fs;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rcollectd_tests::{rcollectd_bin, wait_for, Daemon};

/// Debian's cpu and csv (rates), plus `extra`.
fn config(extra: &str) -> String {
    format!(
        r#"Hostname "reload"
FQDNLookup false
Interval 0.5
BaseDir "{{dir}}"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin cpu
LoadPlugin csv
<Plugin csv>
  DataDir "{{dir}}/csv"
  StoreRates true
</Plugin>
{extra}
"#
    )
}

/// The value column of every row of the csv files of `ident` (prefix).
fn rows(dir: &Path, ident: &str) -> Vec<String> {
    let (sub, stem) = ident.rsplit_once('/').expect("host/plugin/type");
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir.join("csv").join(sub)) else {
        return out;
    };
    let mut files: Vec<_> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(stem))
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files {
        let text = fs::read_to_string(f).unwrap_or_default();
        out.extend(text.lines().skip(1).map(|l| l.to_owned()));
    }
    out
}

fn hup(d: &Daemon) {
    kill(Pid::from_raw(d.pid() as i32), Signal::SIGHUP).expect("SIGHUP");
}

#[test]
fn a_config_that_fails_its_test_leaves_the_daemon_running() {
    let mut d = Daemon::start_rcollectd(&config(""));
    let user = "reload/cpu-0/cpu-user";
    assert!(
        wait_for(Duration::from_secs(10), || rows(d.dir(), user).len() >= 2),
        "no csv rows:\n{}",
        d.log()
    );
    let conf = d.dir().join("collectd.conf");
    let good = fs::read_to_string(&conf).expect("config");
    fs::write(&conf, format!("{good}<Plugin csv>\n  NoSuchOption\n")).expect("break config");
    hup(&d);
    assert!(
        wait_for(Duration::from_secs(20), || d
            .log()
            .contains("the new configuration fails its test")),
        "no failed test logged:\n{}",
        d.log()
    );
    let log = d.log();
    assert!(
        log.contains("collectd.conf:") && log.contains("NoSuchOption"),
        "the file:line error is logged:\n{log}"
    );
    // Still the same process, still writing.
    let before = rows(d.dir(), user).len();
    assert!(
        wait_for(Duration::from_secs(10), || rows(d.dir(), user).len()
            >= before + 2),
        "stopped writing after a failed reload:\n{}",
        d.log()
    );
    assert!(d.is_running());
    assert_eq!(d.log().matches("Initialization complete").count(), 1);
    let out = d.stop();
    assert_eq!(out.status.map(|s| s.success()), Some(true), "{}", out.log);
}

#[test]
fn a_good_config_is_taken_up_by_the_same_process_with_rates_continuing() {
    let mut d = Daemon::start_rcollectd(&config(""));
    let user = "reload/cpu-0/cpu-user";
    assert!(
        wait_for(Duration::from_secs(10), || rows(d.dir(), user).len() >= 3),
        "no csv rows:\n{}",
        d.log()
    );
    let pid = d.pid();
    let conf = d.dir().join("collectd.conf");
    let good = fs::read_to_string(&conf).expect("config");
    fs::write(&conf, format!("{good}LoadPlugin load\n")).expect("change config");
    let before = rows(d.dir(), user).len();
    let started = Instant::now();
    hup(&d);
    // The new config is in effect: load is collected.
    assert!(
        wait_for(Duration::from_secs(20), || !rows(
            d.dir(),
            "reload/load/load"
        )
        .is_empty()),
        "the new config was not taken up:\n{}",
        d.log()
    );
    let took = started.elapsed();
    assert!(d.is_running(), "the daemon exited:\n{}", d.log());
    assert_eq!(d.pid(), pid);
    let log = d.log();
    assert_eq!(
        log.matches("Initialization complete").count(),
        2,
        "one start, one reload:\n{log}"
    );
    assert!(log.contains("reload: restored the rate state of"), "{log}");
    assert!(
        wait_for(Duration::from_secs(10), || rows(d.dir(), user).len()
            >= before + 3),
        "cpu stopped after the reload:\n{}",
        d.log()
    );
    // A rate is nan only for the very first value of a series: none after
    // the reload, because the new process continues from the saved state.
    let all = rows(d.dir(), user);
    let nans: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, r)| r.ends_with(",nan"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(nans, vec![0], "rows: {all:#?}");
    let out = d.stop();
    assert_eq!(out.status.map(|s| s.success()), Some(true), "{}", out.log);
    eprintln!("reload took up the new config after {took:?}");
}

/// Receives notify datagrams until one contains `want`.
fn recv_until(sock: &UnixDatagram, want: &str, timeout: Duration) -> Vec<String> {
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = msg.contains(want);
            seen.push(msg);
            if done {
                return seen;
            }
        }
    }
    panic!("no {want:?} within {timeout:?}; got {seen:?}");
}

#[test]
fn systemd_hears_reloading_then_ready() {
    let dir = tempfile::tempdir().expect("scratch dir");
    let conf = dir.path().join("collectd.conf");
    fs::write(
        &conf,
        rcollectd_tests::expand(&config("PIDFile \"{dir}/rcollectd.pid\""), dir.path()),
    )
    .expect("config");
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("notify socket");
    let mut child = Command::new(rcollectd_bin())
        .arg("-C")
        .arg(&conf)
        .env("NOTIFY_SOCKET", &sock_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let pid = Pid::from_raw(child.id() as i32);
    let result = std::panic::catch_unwind(|| {
        recv_until(&sock, "READY=1", Duration::from_secs(20));
        kill(pid, Signal::SIGHUP).expect("SIGHUP");
        let seen = recv_until(&sock, "READY=1", Duration::from_secs(20));
        assert!(
            seen.iter()
                .any(|m| m.contains("RELOADING=1") && m.contains("MONOTONIC_USEC=")),
            "{seen:?}"
        );
    });
    let _ = kill(pid, Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// One collectd binary-protocol packet: host, time, plugin, type, one gauge.
fn packet(time: u64, value: f64) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, kind: u16, s: &str) {
        out.extend(kind.to_be_bytes());
        out.extend(((4 + s.len() + 1) as u16).to_be_bytes());
        out.extend(s.as_bytes());
        out.push(0);
    }
    let mut p = Vec::new();
    string(&mut p, 0x0000, "sender");
    p.extend(0x0001u16.to_be_bytes());
    p.extend(12u16.to_be_bytes());
    p.extend(time.to_be_bytes());
    string(&mut p, 0x0002, "flood");
    string(&mut p, 0x0004, "gauge");
    p.extend(0x0006u16.to_be_bytes());
    p.extend((4u16 + 2 + 9).to_be_bytes());
    p.extend(1u16.to_be_bytes());
    p.push(1); // GAUGE
    p.extend(value.to_le_bytes());
    p
}

/// Datagrams sent to a `<Listen>` socket while the daemon reloads are all
/// received: the socket is handed over, and what arrives meanwhile waits in
/// its buffer.
#[test]
fn datagrams_sent_during_a_reload_are_not_lost() {
    let port = rcollectd_tests::free_udp_port();
    let extra = format!(
        "LoadPlugin network\n<Plugin network>\n  Listen \"127.0.0.1\" \"{port}\"\n</Plugin>\n"
    );
    // Our own network plugin (no PluginDir: the build's plugins come first).
    let cfg = config(&extra).replace("PluginDir \"/usr/lib/collectd\"\n", "");
    let mut d = Daemon::start_rcollectd(&cfg);
    assert!(
        wait_for(Duration::from_secs(10), || d.log().contains("listening on")),
        "network did not listen:\n{}",
        d.log()
    );
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("sender");
    // Keep sending from before the SIGHUP until well after the new process
    // is up (bounded by count and time), so datagrams cross the reload.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut total: u64 = 0;
    let mut after_reload: Option<u64> = None;
    while total < 20_000 && Instant::now() < deadline {
        if total == 200 {
            hup(&d);
        }
        sock.send_to(
            &packet(1_700_000_000 + total, total as f64),
            ("127.0.0.1", port),
        )
        .expect("send");
        total += 1;
        std::thread::sleep(Duration::from_micros(500));
        if total.is_multiple_of(50)
            && after_reload.is_none()
            && total > 200
            && d.log().matches("Initialization complete").count() >= 2
        {
            after_reload = Some(total);
        }
        if after_reload.is_some_and(|t| total >= t + 200) {
            break;
        }
    }
    assert!(
        after_reload.is_some(),
        "the reload did not finish:\n{}",
        d.log()
    );
    let ident = "sender/flood/gauge";
    let all_in = wait_for(Duration::from_secs(20), || {
        rows(d.dir(), ident).len() as u64 >= total
    });
    let got = rows(d.dir(), ident).len();
    let log = d.log();
    assert!(all_in, "{got} of {total} value lists arrived:\n{log}");
    assert_eq!(got as u64, total, "duplicates?\n{log}");
    assert!(
        log.contains("taking over the socket on 127.0.0.1"),
        "the socket was not handed over:\n{log}"
    );
    assert_eq!(log.matches("Initialization complete").count(), 2, "{log}");
    assert!(d.is_running());
    let out = d.stop();
    assert_eq!(out.status.map(|s| s.success()), Some(true), "{}", out.log);
}

/// rcollectd's own unixsock keeps its socket across a reload: every client
/// that connects meanwhile is answered, and its values are written.
#[test]
fn unixsock_clients_are_answered_across_a_reload() {
    use std::io::{Read, Write};
    let extra = "LoadPlugin unixsock\n<Plugin unixsock>\n  SocketFile \"{dir}/sock\"\n</Plugin>\n";
    // Our own unixsock and csv: no PluginDir.
    let cfg = config(extra).replace("PluginDir \"/usr/lib/collectd\"\n", "");
    let d = Daemon::start_rcollectd(&cfg);
    let sock = d.dir().join("sock");
    assert!(
        wait_for(Duration::from_secs(10), || sock.exists()),
        "no socket:\n{}",
        d.log()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut sent: u64 = 0;
    let mut after_reload: Option<u64> = None;
    while sent < 5_000 && Instant::now() < deadline {
        if sent == 50 {
            hup(&d);
        }
        let mut c = std::os::unix::net::UnixStream::connect(&sock)
            .unwrap_or_else(|e| panic!("connect #{sent} refused ({e}):\n{}", d.log()));
        c.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        writeln!(
            c,
            "PUTVAL reload/sock/gauge {}:{sent}",
            1_700_000_000 + sent
        )
        .expect("send");
        c.shutdown(std::net::Shutdown::Write).expect("shutdown");
        let mut reply = String::new();
        c.read_to_string(&mut reply).expect("reply");
        assert!(
            reply.starts_with("0 Success"),
            "#{sent}: {reply:?}\n{}",
            d.log()
        );
        sent += 1;
        if after_reload.is_none() && d.log().matches("Initialization complete").count() >= 2 {
            after_reload = Some(sent);
        }
        if after_reload.is_some_and(|t| sent >= t + 50) {
            break;
        }
    }
    let log = d.log();
    assert!(after_reload.is_some(), "the reload did not finish:\n{log}");
    assert!(log.contains("taking over the socket"), "{log}");
    assert!(
        wait_for(
            Duration::from_secs(10),
            || rows(d.dir(), "reload/sock/gauge").len() as u64 >= sent
        ),
        "{} of {sent} written:\n{log}",
        rows(d.dir(), "reload/sock/gauge").len()
    );
    let out = d.stop();
    assert_eq!(out.status.map(|s| s.success()), Some(true), "{}", out.log);
    assert!(!sock.exists(), "the socket file is removed at a real exit");
}
