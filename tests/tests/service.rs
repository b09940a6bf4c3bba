//! The binary as a service manager sees it: systemd readiness, PID file,
//! orderly stop, `-t` verdicts and the command line.

use std::fs;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rcollectd_tests::{rcollectd_bin, types_db};

fn recv_state(sock: &UnixDatagram, want: &str, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = msg.lines().any(|l| l == want);
            seen.push(msg);
            if done {
                return seen;
            }
        }
    }
    panic!("no {want} within {timeout:?}; got {seen:?}");
}

fn write_config(dir: &Path, body: &str) -> std::path::PathBuf {
    let conf = dir.join("collectd.conf");
    fs::write(&conf, body).unwrap();
    conf
}

#[test]
fn systemd_notify_ready_then_stopping_and_pid_file_removed() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("rcollectd.pid");
    let conf = write_config(
        dir.path(),
        &format!(
            "BaseDir \"{}\"\nPIDFile \"{}\"\nTypesDB \"{}\"\nInterval 1\n",
            dir.path().display(),
            pid_file.display(),
            types_db().display()
        ),
    );
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let log = fs::File::create(dir.path().join("stderr.log")).unwrap();
    let mut child = Command::new(rcollectd_bin())
        .arg("-C")
        .arg(&conf)
        .env("NOTIFY_SOCKET", &sock_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let guard = scopeguard(child.id());

    recv_state(&sock, "READY=1", Duration::from_secs(20));
    // Under systemd it must not fork away: the process we started is the daemon.
    assert!(
        child.try_wait().unwrap().is_none(),
        "daemon exited after READY=1"
    );
    let pid: u32 = fs::read_to_string(&pid_file)
        .expect("PID file written")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pid, child.id());

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    recv_state(&sock, "STOPPING=1", Duration::from_secs(20));
    let status =
        wait_exit(&mut child, Duration::from_secs(20)).expect("daemon exits after SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    assert!(!pid_file.exists(), "PID file removed on exit");
    std::mem::forget(guard);
}

#[test]
fn test_config_accepts_good_and_rejects_bad_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_config(
        dir.path(),
        &format!("Interval 10\nTypesDB \"{}\"\n", types_db().display()),
    );
    let out = Command::new(rcollectd_bin())
        .arg("-t")
        .arg("-C")
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bad = dir.path().join("bad.conf");
    fs::write(&bad, "Interval 10\n<Plugin \"cpu\">\n  ReportByCpu true\n").unwrap();
    let out = Command::new(rcollectd_bin())
        .arg("-t")
        .arg("-C")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:2", bad.display())),
        "error names file:line: {stderr}"
    );

    let unknown = dir.path().join("unknown.conf");
    fs::write(&unknown, "Interval 10\nNoSuchOption 3\n").unwrap();
    let out = Command::new(rcollectd_bin())
        .arg("-t")
        .arg("-C")
        .arg(&unknown)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:2", unknown.display())),
        "{stderr}"
    );
    assert!(stderr.contains("NoSuchOption"), "{stderr}");
}

#[test]
fn missing_plugin_fails_the_config_test() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write_config(
        dir.path(),
        &format!(
            "TypesDB \"{}\"\nPluginDir \"{}\"\nLoadPlugin no_such_plugin\n",
            types_db().display(),
            dir.path().display()
        ),
    );
    let out = Command::new(rcollectd_bin())
        .arg("-t")
        .arg("-C")
        .arg(&conf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no_such_plugin"), "{stderr}");
}

#[test]
fn help_version_and_bad_flags() {
    let out = Command::new(rcollectd_bin()).arg("-h").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in ["-C <file>", "-t ", "-T ", "-P <file>", "-f ", "-B ", "-h "] {
        assert!(text.contains(flag), "help mentions {flag}: {text}");
    }
    let out = Command::new(rcollectd_bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("rcollectd "));
    let out = Command::new(rcollectd_bin()).arg("-x").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option -x"));
}

fn wait_exit(
    child: &mut std::process::Child,
    timeout: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    None
}

/// Kills the daemon if the test fails before it stopped it.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.0 as i32), Signal::SIGKILL);
    }
}

fn scopeguard(pid: u32) -> KillOnDrop {
    KillOnDrop(pid)
}

#[test]
fn debian_example_config_passes_the_config_test() {
    let example = Path::new("/usr/share/doc/collectd-core/examples/collectd.conf");
    assert!(
        example.is_file(),
        "collectd-core's example config is installed"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(rcollectd_bin())
        .arg("-t")
        .arg("-C")
        .arg(example)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Syntax OK"));
}
