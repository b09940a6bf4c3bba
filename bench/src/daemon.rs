//! Starting the daemons under test on a generated config, each in its own
//! scratch directory with its own plugin directory, and stopping them on
//! every path (the guard kills on drop).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::procfs;

/// Which daemon and which plugin binaries a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// rcollectd with the plugins built in this workspace.
    Rcollectd,
    /// rcollectd loading Debian's collectd 5.12 plugins.
    RcollectdDebianPlugins,
    /// The real collectd 5.12 with its Debian plugins.
    Collectd,
}

impl Flavor {
    /// Short label for logs and tables.
    pub fn label(self) -> &'static str {
        match self {
            Flavor::Rcollectd => "rcollectd",
            Flavor::RcollectdDebianPlugins => "rcollectd+debian-plugins",
            Flavor::Collectd => "collectd-5.12",
        }
    }
}

/// Where the binaries, plugins and types.db of both daemons are.
#[derive(Debug, Clone)]
pub struct Paths {
    /// Workspace root.
    pub workspace: PathBuf,
    /// Cargo target dir (results go to `<target>/bench`).
    pub target: PathBuf,
    /// `target/release/rcollectd`.
    pub rcollectd: PathBuf,
    /// `target/plugins`.
    pub own_plugins: PathBuf,
    /// `/usr/sbin/collectd`.
    pub collectd: PathBuf,
    /// `/usr/lib/collectd`.
    pub debian_plugins: PathBuf,
    /// Directory holding the compiled benchmark C plugins.
    pub c_plugins: PathBuf,
}

impl Paths {
    /// Resolves every path from the environment (`CARGO_TARGET_DIR`,
    /// `RCOLLECTD_BIN`, `COLLECTD_BIN`, `COLLECTD_PLUGIN_DIR`).
    pub fn from_env() -> Paths {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(t) if Path::new(&t).is_absolute() => PathBuf::from(t),
            Some(t) => workspace.join(t),
            None => workspace.join("target"),
        };
        let env_path = |name: &str, default: PathBuf| {
            std::env::var_os(name).map(PathBuf::from).unwrap_or(default)
        };
        Paths {
            rcollectd: env_path("RCOLLECTD_BIN", target.join("release/rcollectd")),
            own_plugins: env_path("RCOLLECTD_PLUGIN_DIR", target.join("plugins")),
            collectd: env_path("COLLECTD_BIN", PathBuf::from("/usr/sbin/collectd")),
            debian_plugins: env_path("COLLECTD_PLUGIN_DIR", PathBuf::from("/usr/lib/collectd")),
            c_plugins: target.join("bench/c-plugins"),
            workspace,
            target,
        }
    }

    /// The daemon binary of a flavor.
    pub fn binary(&self, flavor: Flavor) -> &Path {
        match flavor {
            Flavor::Collectd => &self.collectd,
            _ => &self.rcollectd,
        }
    }

    /// The types.db a flavor is given: the same standard file for both.
    pub fn types_db(&self, flavor: Flavor) -> PathBuf {
        match flavor {
            Flavor::Collectd => PathBuf::from("/usr/share/collectd/types.db"),
            _ => self.workspace.join("share/types.db"),
        }
    }

    /// Where a flavor takes plugin `name` from, and whether that is a
    /// fallback to Debian's build (rcollectd lacks its own).
    pub fn plugin_source(&self, flavor: Flavor, name: &str) -> (PathBuf, bool) {
        let c = self.c_plugins.join(format!("{name}.so"));
        if c.is_file() {
            return (c, false);
        }
        let debian = self.debian_plugins.join(format!("{name}.so"));
        match flavor {
            Flavor::Rcollectd => {
                let own = self.own_plugins.join(format!("{name}.so"));
                if own.is_file() {
                    (own, false)
                } else {
                    (debian, true)
                }
            }
            _ => (debian, false),
        }
    }

    /// Compiles the benchmark C plugins against rcollectd's header.
    pub fn build_c_plugins(&self) -> Result<(), String> {
        fs::create_dir_all(&self.c_plugins)
            .map_err(|e| format!("create {}: {e}", self.c_plugins.display()))?;
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        for name in ["count_writer", "dispatch_flood"] {
            let src = self.workspace.join(format!("bench/c-plugins/{name}.c"));
            let out = self.c_plugins.join(format!("{name}.so"));
            let status = Command::new(&cc)
                .args(["-O2", "-Wall", "-shared", "-fPIC", "-pthread", "-I"])
                .arg(self.workspace.join("include/collectd"))
                .arg("-o")
                .arg(&out)
                .arg(&src)
                .status()
                .map_err(|e| format!("run {cc}: {e}"))?;
            if !status.success() {
                return Err(format!("{cc} failed on {}", src.display()));
            }
        }
        Ok(())
    }
}

/// A daemon under test; dropping it stops it (SIGTERM, then SIGKILL).
pub struct Running {
    child: Option<Child>,
    /// Label of the flavor, for messages.
    pub label: &'static str,
    /// Scratch directory: config, log, plugin dir, data.
    pub dir: PathBuf,
    /// Plugins taken from Debian because rcollectd has none of its own.
    pub borrowed: Vec<String>,
}

/// A scratch directory removed on drop (kept if BENCH_KEEP is set).
pub struct Scratch {
    /// The directory.
    pub path: PathBuf,
}

impl Scratch {
    /// Creates `<target>/bench/run/<label>-<pid>-<n>`, emptied first.
    pub fn new(paths: &Paths, label: &str) -> Result<Scratch, String> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = paths
            .target
            .join("bench/run")
            .join(format!("{label}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).map_err(|e| format!("create {}: {e}", path.display()))?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("BENCH_KEEP").is_none() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

impl Running {
    /// Writes the config (global header + `body`), copies `plugins` into a
    /// private PluginDir and starts the daemon in the foreground. `ready`
    /// is polled for up to 15 s; a daemon that exits or never becomes ready
    /// is an error quoting the end of its log.
    pub fn start(
        paths: &Paths,
        flavor: Flavor,
        dir: &Path,
        plugins: &[&str],
        globals: &str,
        body: &str,
        mut ready: impl FnMut(&Running) -> bool,
    ) -> Result<Running, String> {
        let bin = paths.binary(flavor);
        if !bin.is_file() {
            return Err(format!(
                "{} is missing (run `make build` for rcollectd)",
                bin.display()
            ));
        }
        // Two rcollectd flavours run side by side in the footprint workload:
        // the second runs a copy of the binary (written out to disk) so the
        // two never share executable pages, which would make each one's
        // private memory (USS) and PSS look smaller than a lone daemon's.
        let private_copy;
        let bin = if flavor == Flavor::RcollectdDebianPlugins {
            private_copy = dir.join("rcollectd");
            copy_synced(bin, &private_copy)?;
            private_copy.as_path()
        } else {
            bin
        };
        let plugin_dir = dir.join("plugins");
        fs::create_dir_all(&plugin_dir).map_err(|e| format!("create plugin dir: {e}"))?;
        let mut borrowed = Vec::new();
        for name in plugins {
            let (src, fallback) = paths.plugin_source(flavor, name);
            if fallback {
                borrowed.push(name.to_string());
            }
            // rcollectd's own plugins are built into its binary: a copy in
            // PluginDir would override the built-in.
            if flavor == Flavor::Rcollectd && src.starts_with(&paths.own_plugins) {
                continue;
            }
            fs::copy(&src, plugin_dir.join(format!("{name}.so")))
                .map_err(|e| format!("copy plugin {}: {e}", src.display()))?;
        }
        let config = format!(
            "Hostname \"bench\"\nFQDNLookup false\nBaseDir \"{dir}\"\nPIDFile \"{dir}/daemon.pid\"\n\
             PluginDir \"{plugin_dir}\"\nTypesDB \"{types_db}\"\n{globals}\n{body}\n",
            dir = dir.display(),
            plugin_dir = plugin_dir.display(),
            types_db = paths.types_db(flavor).display(),
        );
        let conf_path = dir.join("daemon.conf");
        fs::write(&conf_path, config).map_err(|e| format!("write config: {e}"))?;
        let log = fs::File::create(dir.join("daemon.log")).map_err(|e| format!("log: {e}"))?;
        let log2 = log.try_clone().map_err(|e| format!("log: {e}"))?;
        let child = Command::new(bin)
            .arg("-f")
            .arg("-C")
            .arg(&conf_path)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .env_remove("NOTIFY_SOCKET")
            .spawn()
            .map_err(|e| format!("start {}: {e}", bin.display()))?;
        let mut running = Running {
            child: Some(child),
            label: flavor.label(),
            dir: dir.to_path_buf(),
            borrowed,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if !running.is_alive() {
                return Err(format!(
                    "{} exited during startup; log ends:\n{}",
                    running.label,
                    running.log_tail(15)
                ));
            }
            if ready(&running) {
                return Ok(running);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} did not become ready within 15 s; log ends:\n{}",
                    running.label,
                    running.log_tail(15)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Whether the process still runs.
    pub fn is_alive(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Fails with the log tail if the daemon died (mid-measurement checks).
    pub fn check_alive(&mut self) -> Result<(), String> {
        if self.is_alive() {
            Ok(())
        } else {
            Err(format!(
                "{} died during the measurement; log ends:\n{}",
                self.label,
                self.log_tail(15)
            ))
        }
    }

    /// The last `n` lines of the daemon's stdout/stderr.
    pub fn log_tail(&self, n: usize) -> String {
        let text = fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Sends a signal to the daemon.
    pub fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            // SAFETY: kill(2) with the pid of our own child, which has not
            // been reaped yet (we hold the Child), so the pid is not reused.
            unsafe {
                libc::kill(c.id() as libc::pid_t, sig);
            }
        }
    }

    /// Private (USS) and proportional (PSS) memory now.
    pub fn rollup(&self) -> Result<procfs::Rollup, String> {
        procfs::rollup(self.pid())
    }

    /// Memory and threads now.
    pub fn status(&self) -> Result<procfs::Status, String> {
        procfs::status(self.pid())
    }

    /// CPU seconds so far.
    pub fn cpu_seconds(&self) -> Result<f64, String> {
        Ok(procfs::stat(self.pid())?.cpu_seconds(procfs::ticks_per_second()))
    }

    /// Nanoseconds on the CPU so far, per live thread.
    pub fn thread_cpu_ns(&self) -> Result<std::collections::BTreeMap<u32, u64>, String> {
        procfs::thread_cpu_ns(self.pid())
    }

    /// SIGTERM and up to `grace` for an orderly exit, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SAFETY: as in `signal`: our unreaped child's pid.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(25))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return;
                }
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// What `count_writer` last reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Value lists counted.
    pub count: u64,
    /// CLOCK_MONOTONIC ns of the last counted write (0 = none yet).
    pub last_write_ns: u64,
    /// When the file was written.
    pub now_ns: u64,
    /// Flush callbacks run.
    pub flushes: u64,
    /// Start of the last flush.
    pub flush_start_ns: u64,
    /// End of the last flush.
    pub flush_end_ns: u64,
    /// Cache entries the last flush listed.
    pub flush_names: u64,
}

/// Parses a `count_writer` status line.
pub fn parse_counts(text: &str) -> Option<Counts> {
    let v: Vec<u64> = text
        .split_whitespace()
        .map(|f| f.parse().ok())
        .collect::<Option<Vec<u64>>>()?;
    if v.len() != 7 {
        return None;
    }
    Some(Counts {
        count: v[0],
        last_write_ns: v[1],
        now_ns: v[2],
        flushes: v[3],
        flush_start_ns: v[4],
        flush_end_ns: v[5],
        flush_names: v[6],
    })
}

/// Reads a `count_writer` status file, `None` until it exists.
pub fn read_counts(path: &Path) -> Option<Counts> {
    parse_counts(&fs::read_to_string(path).ok()?)
}

/// What `dispatch_flood` reported when done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flood {
    /// Value lists dispatched.
    pub dispatched: u64,
    /// plugin_dispatch_values calls that returned an error.
    pub failed: u64,
    /// CLOCK_MONOTONIC ns when the flood started.
    pub start_ns: u64,
    /// When it ended.
    pub end_ns: u64,
}

/// Parses a `dispatch_flood` status line.
pub fn parse_flood(text: &str) -> Option<Flood> {
    let v: Vec<u64> = text
        .split_whitespace()
        .map(|f| f.parse().ok())
        .collect::<Option<Vec<u64>>>()?;
    if v.len() != 4 {
        return None;
    }
    Some(Flood {
        dispatched: v[0],
        failed: v[1],
        start_ns: v[2],
        end_ns: v[3],
    })
}

/// Reads a `dispatch_flood` status file, `None` until the flood is over.
pub fn read_flood(path: &Path) -> Option<Flood> {
    parse_flood(&fs::read_to_string(path).ok()?)
}

/// CLOCK_MONOTONIC now in ns, the clock the C plugins stamp with.
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Copies `src` to `dst` (executable) and waits until the copy is on disk,
/// so its page-cache pages are clean like an installed binary's.
fn copy_synced(src: &Path, dst: &Path) -> Result<(), String> {
    fs::copy(src, dst).map_err(|e| format!("copy {}: {e}", src.display()))?;
    fs::File::open(dst)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("sync {}: {e}", dst.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_writer_line() {
        let c = parse_counts("12 34 56 1 70 80 9\n").unwrap();
        assert_eq!(
            c,
            Counts {
                count: 12,
                last_write_ns: 34,
                now_ns: 56,
                flushes: 1,
                flush_start_ns: 70,
                flush_end_ns: 80,
                flush_names: 9
            }
        );
        assert!(parse_counts("12 34").is_none());
        assert!(parse_counts("").is_none());
        assert!(parse_counts("1 2 3 4 5 6 x").is_none());
    }

    #[test]
    fn flood_line() {
        let f = parse_flood("1000 2 5 9\n").unwrap();
        assert_eq!(
            (f.dispatched, f.failed, f.start_ns, f.end_ns),
            (1000, 2, 5, 9)
        );
        assert!(parse_flood("1000 2 5").is_none());
    }

    #[test]
    fn monotonic_clock_advances() {
        let a = mono_ns();
        std::thread::sleep(Duration::from_millis(2));
        assert!(mono_ns() > a);
    }
}
