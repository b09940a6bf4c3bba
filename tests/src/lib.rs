//! Shared helpers for the integration tests: where the built artefacts are,
//! and a guard that runs rcollectd or collectd 5.12 on a config and always
//! stops it, so a failing assertion never leaves a daemon behind.

use std::fs;
use std::io::Read;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The workspace root, so tests find artefacts wherever cargo runs them from.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR` like the Makefile.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// The release daemon that `make build` leaves behind; tests drive the real
/// binary (`RCOLLECTD_BIN` points them at another build while developing).
pub fn rcollectd_bin() -> PathBuf {
    let bin = std::env::var_os("RCOLLECTD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release/rcollectd"));
    assert!(
        bin.is_file(),
        "{} is missing: run `make build` before the integration tests",
        bin.display()
    );
    bin
}

/// Where `make build` copies every plugin of ours as `<name>.so`.
pub fn plugin_dir() -> PathBuf {
    let dir = target_dir().join("plugins");
    assert!(
        dir.is_dir(),
        "{} is missing: run `make build` before the integration tests",
        dir.display()
    );
    dir
}

/// The types.db the repository ships.
pub fn types_db() -> PathBuf {
    workspace_root().join("share/types.db")
}

/// The real collectd 5.12, which interop tests require (installed by `.ci/run`).
pub fn collectd_bin() -> PathBuf {
    let bin = PathBuf::from("/usr/sbin/collectd");
    assert!(
        bin.is_file(),
        "/usr/sbin/collectd is missing: install collectd-core (see .ci/run)"
    );
    bin
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> u16 {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral UDP port");
    sock.local_addr().expect("local addr").port()
}

/// Polls `cond` every 50 ms until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a stopped daemon left: its exit status and everything it logged.
#[derive(Debug)]
pub struct Output {
    pub status: Option<ExitStatus>,
    pub log: String,
}

/// A running daemon in its own temp dir; dropped means killed.
pub struct Daemon {
    child: Option<Child>,
    dir: tempfile::TempDir,
    log_path: PathBuf,
}

impl Daemon {
    /// Runs `rcollectd -f -C <config>` with placeholders substituted.
    pub fn start_rcollectd(config_text: &str) -> Daemon {
        Self::start(&rcollectd_bin(), config_text, &[])
    }

    /// Runs the real `collectd -f -C <config>` with placeholders substituted.
    pub fn start_collectd(config_text: &str) -> Daemon {
        Self::start(&collectd_bin(), config_text, &[])
    }

    /// Runs `bin -f -C <config> extra...`: for tests that need other flags.
    pub fn start(bin: &Path, config_text: &str, extra_args: &[&str]) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("rcollectd-test-")
            .tempdir()
            .expect("create temp dir");
        let config = expand(config_text, dir.path());
        let conf_path = dir.path().join("collectd.conf");
        fs::write(&conf_path, config).expect("write config");
        let log_path = dir.path().join("daemon.log");
        let log = fs::File::create(&log_path).expect("create log file");
        let child = Command::new(bin)
            .arg("-f")
            .arg("-C")
            .arg(&conf_path)
            .args(extra_args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log fd"))
            .stderr(log)
            .env_remove("NOTIFY_SOCKET")
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        Daemon {
            child: Some(child),
            dir,
            log_path,
        }
    }

    /// The daemon's temp dir: its config, log, and a place for BaseDir/DataDir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Everything the daemon wrote to stdout and stderr so far (bytes that
    /// are not UTF-8, such as a plugin printing freed memory, as U+FFFD).
    pub fn log(&self) -> String {
        let mut bytes = Vec::new();
        if let Ok(mut f) = fs::File::open(&self.log_path) {
            let _ = f.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Sends a signal (e.g. SIGUSR1 to flush).
    pub fn signal(&self, sig: Signal) {
        if let Some(c) = &self.child {
            let _ = kill(Pid::from_raw(c.id() as i32), sig);
        }
    }

    /// SIGTERM, then up to 20 s for an orderly exit, then SIGKILL.
    pub fn stop(mut self) -> Output {
        let status = self.terminate(Duration::from_secs(20));
        Output {
            status,
            log: self.log(),
        }
    }

    fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + grace;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(25))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return None;
                }
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(5));
    }
}

/// Substitutes `{dir}`, `{plugin_dir}`, `{types_db}` in a config text.
pub fn expand(config_text: &str, dir: &Path) -> String {
    let mut out = config_text.replace("{dir}", &dir.display().to_string());
    if out.contains("{plugin_dir}") {
        out = out.replace("{plugin_dir}", &plugin_dir().display().to_string());
    }
    out.replace("{types_db}", &types_db().display().to_string())
}

/// Lists files below `root` as paths relative to it, sorted.
pub fn files_below(root: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_substitutes_dir_and_types_db() {
        let text = expand(
            "BaseDir \"{dir}\"\nTypesDB \"{types_db}\"\n",
            Path::new("/x/y"),
        );
        assert_eq!(
            text,
            format!(
                "BaseDir \"/x/y\"\nTypesDB \"{}\"\n",
                workspace_root().join("share/types.db").display()
            )
        );
    }

    #[test]
    fn wait_for_times_out_and_succeeds() {
        assert!(!wait_for(Duration::from_millis(100), || false));
        let mut n = 0;
        assert!(wait_for(Duration::from_secs(1), || {
            n += 1;
            n > 2
        }));
    }

    #[test]
    fn files_below_lists_relative_sorted() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("h/cpu-0")).unwrap();
        fs::write(dir.path().join("h/cpu-0/cpu-idle"), "x").unwrap();
        fs::write(dir.path().join("a"), "x").unwrap();
        assert_eq!(
            files_below(dir.path()),
            vec![PathBuf::from("a"), PathBuf::from("h/cpu-0/cpu-idle")]
        );
    }
}
pub mod diff;
pub mod netrecv;
pub mod servers;
pub mod unixsock_cases;
pub mod writers;
