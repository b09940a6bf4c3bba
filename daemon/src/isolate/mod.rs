//! `Isolate true` (and `IsolatePlugins true`): a plugin runs in a child
//! process of its own, so a crash or a leak in it cannot take the daemon
//! down, which collectd cannot offer (collectd #804, #2572, #2860).
//!
//! The child is this binary, started with a config of its own (the
//! daemon's global options, the plugin's `LoadPlugin` and `<Plugin>` blocks)
//! and one end of a socket pair. It hosts the whole ABI: the plugin loads,
//! configures, inits and reads as it would here. What it dispatches (value
//! lists, notifications) and logs travels to the daemon in batched frames
//! ([`frame`]): one write per read round or write batch, not per value.
//! The daemon dispatches them as if the plugin were local (same
//! identifiers, same cache, chains apply). If the plugin registered write or
//! notification callbacks, the daemon stands in for them: an output of its
//! own (with its own queue) whose batches go to the child, and the child
//! calls the plugin's callbacks.
//!
//! When the child dies (a signal, an exit, or a callback that hangs past
//! `Timeout` intervals, which makes it end itself), the daemon logs the plugin's
//! name and how it ended, every other plugin runs on, and the child is
//! started again after a back-off that doubles from the plugin's interval
//! up to `MaxReadInterval` (reset once a child has run for ten intervals).
//! Restarts, and value lists sent to a child that died before taking them,
//! are counted (`collectd-isolation-<name>/derive-restarts`, `.../derive-lost`).
//!
//! Missing-value callbacks are stood in for too: the values the daemon finds
//! missing reach the plugin. What an isolated plugin sees differently: `uc_*`
//! answers from the child's own value cache (its own values only);
//! cache-event callbacks are not bridged; a log plugin isolated sees only
//! its own process's lines (the daemon keeps logging where it did).

pub mod child;
pub mod frame;
pub mod proxy;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rcollectd_core::sync::lock;

use crate::config::Item;
use crate::dispatch::{Dispatch, PlainValueList};
use crate::plugins::registry::Registry;
use crate::time::cdtime_t;
use frame::Frame;

/// Environment of an isolated plugin's host process: the plugin's name.
pub const ENV_PLUGIN: &str = "RCOLLECTD_ISOLATED";
/// Environment of an isolated plugin's host process: its end of the channel.
pub const ENV_FD: &str = "RCOLLECTD_ISOLATED_FD";

/// Global options a host process must not inherit.
const NOT_FOR_HOSTS: [&str; 8] = [
    "PIDFile",
    "CollectInternalStats",
    "PreCacheChain",
    "PostCacheChain",
    "WriteThreads",
    "WriteQueueLimitHigh",
    "WriteQueueLimitLow",
    "IsolatePlugins",
];

/// What the daemon knows of one isolated plugin.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    /// Its `LoadPlugin` statement without `Isolate`.
    load: Item,
    /// Its `<Plugin>` blocks, in order.
    blocks: Vec<Item>,
    interval: cdtime_t,
}

/// What the config says about the isolated plugins.
#[derive(Default)]
struct Plan {
    globals: Vec<Item>,
    specs: Vec<Spec>,
}

/// The isolated plugins of a runtime: what the config says about them,
/// their host processes, and the dispatch path and registry the values and
/// stand-in callbacks go to.
pub struct Isolation {
    dispatch: &'static Dispatch,
    registry: &'static Registry,
    plan: Mutex<Plan>,
    hosts: Mutex<Vec<(Arc<Host>, JoinHandle<()>)>>,
    /// The directory the daemon was started in: host processes start there,
    /// so relative paths in the config (BaseDir, TypesDB, PluginDir) mean
    /// what they meant to the daemon.
    start_dir: OnceLock<PathBuf>,
    max_backoff: AtomicU64,
}

impl Isolation {
    /// No isolated plugin yet; values they send go to `dispatch`, the
    /// stand-ins for their callbacks to `registry`.
    pub fn new(dispatch: &'static Dispatch, registry: &'static Registry) -> Isolation {
        Isolation {
            dispatch,
            registry,
            plan: Mutex::default(),
            hosts: Mutex::default(),
            start_dir: OnceLock::new(),
            max_backoff: AtomicU64::new(0),
        }
    }

    /// Remembers a global option for the host processes' configs.
    pub fn note_global(&self, item: &Item) {
        if !NOT_FOR_HOSTS
            .iter()
            .any(|k| k.eq_ignore_ascii_case(&item.key))
        {
            lock(&self.plan).globals.push(item.clone());
        }
    }

    /// Registers `name` to run isolated, from its `LoadPlugin` item.
    pub fn register(&self, name: &str, load: &Item, interval: cdtime_t) {
        let mut load = load.clone();
        load.children
            .retain(|c| !c.key.eq_ignore_ascii_case("Isolate"));
        let mut plan = lock(&self.plan);
        if plan.specs.iter().any(|s| s.name.eq_ignore_ascii_case(name)) {
            return;
        }
        plan.specs.push(Spec {
            name: name.to_owned(),
            load,
            blocks: Vec::new(),
            interval,
        });
    }

    /// Whether `name` runs isolated.
    pub fn is_isolated(&self, name: &str) -> bool {
        lock(&self.plan)
            .specs
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// Adds a `<Plugin name>` block to an isolated plugin's config.
    pub fn add_block(&self, name: &str, block: &Item) {
        if let Some(s) = lock(&self.plan)
            .specs
            .iter_mut()
            .find(|s| s.name.eq_ignore_ascii_case(name))
        {
            s.blocks.push(block.clone());
        }
    }

    /// Records the directory the daemon was started in (before BaseDir).
    pub fn set_start_dir(&self, dir: &Path) {
        let _ = self.start_dir.set(dir.to_path_buf());
    }
}

/// The config text of `spec`'s host process.
fn host_config(globals: &[Item], spec: &Spec) -> String {
    let mut text = String::from("# rcollectd: host process of an isolated plugin\n");
    for g in globals {
        text.push_str(&crate::config::render(g));
    }
    text.push_str("WriteThreads 1\n");
    text.push_str(&crate::config::render(&spec.load));
    for b in &spec.blocks {
        text.push_str(&crate::config::render(b));
    }
    text
}

/// One isolated plugin's host process, as the daemon sees it.
pub(crate) struct Host {
    up: &'static Isolation,
    spec: Spec,
    /// The daemon's end of the channel to the current child, for writing.
    conn: Mutex<Option<UnixStream>>,
    /// Value lists for the child's write callbacks, not sent yet.
    pending: Mutex<Vec<PlainValueList>>,
    pid: AtomicI32,
    stopping: AtomicBool,
    wake: (Mutex<()>, Condvar),
    restarts: AtomicU64,
    lost: AtomicU64,
    write_proxy: AtomicBool,
    notification_proxy: AtomicBool,
    missing_proxy: AtomicBool,
}

impl Isolation {
    /// Starts a host process for every isolated plugin.
    pub fn start_all(&'static self, max_read_interval: cdtime_t) {
        self.max_backoff.store(max_read_interval, Ordering::Relaxed);
        let specs = lock(&self.plan).specs.clone();
        if specs.is_empty() {
            return;
        }
        // Only with isolated plugins does every output batch look for a host.
        self.dispatch
            .set_after_payload(Box::new(|output| self.after_payload(output)));
        let mut hosts = lock(&self.hosts);
        for spec in specs {
            let host = Arc::new(Host {
                up: self,
                spec,
                conn: Mutex::new(None),
                pending: Mutex::new(Vec::new()),
                pid: AtomicI32::new(0),
                stopping: AtomicBool::new(false),
                wake: (Mutex::new(()), Condvar::new()),
                restarts: AtomicU64::new(0),
                lost: AtomicU64::new(0),
                write_proxy: AtomicBool::new(false),
                notification_proxy: AtomicBool::new(false),
                missing_proxy: AtomicBool::new(false),
            });
            let h = host.clone();
            let name: String = format!("iso:{}", host.spec.name).chars().take(15).collect();
            match std::thread::Builder::new()
                .name(name)
                .spawn(move || h.supervise())
            {
                Ok(t) => hosts.push((host, t)),
                Err(e) => log::error!(
                    "isolation: cannot start the host thread of `{}': {e}",
                    host.spec.name
                ),
            }
        }
    }

    /// Stops every host process (SIGTERM, then SIGKILL after 5 s) and waits.
    pub fn stop_all(&self) {
        let hosts = std::mem::take(&mut *lock(&self.hosts));
        for (h, _) in &hosts {
            h.stopping.store(true, Ordering::SeqCst);
            h.flush_pending();
            h.signal(libc::SIGTERM);
            h.wake.1.notify_all();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for (h, t) in hosts {
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if !t.is_finished() {
                h.signal(libc::SIGKILL);
            }
            let _ = t.join();
        }
    }

    /// (name, restarts, lost) of every isolated plugin, for the statistics.
    pub fn stats(&self) -> Vec<(String, u64, u64)> {
        lock(&self.hosts)
            .iter()
            .map(|(h, _)| {
                (
                    h.spec.name.clone(),
                    h.restarts.load(Ordering::Relaxed),
                    h.lost.load(Ordering::Relaxed),
                )
            })
            .collect()
    }

    /// An output finished a batch: if it stands in for an isolated plugin,
    /// send what it gathered to the child in one frame.
    fn after_payload(&self, output: &str) {
        let hosts = lock(&self.hosts);
        if let Some((h, _)) = hosts
            .iter()
            .find(|(h, _)| h.spec.name.eq_ignore_ascii_case(output))
        {
            h.flush_pending();
        }
    }
}

impl Host {
    /// The isolated plugin's name.
    pub(crate) fn name(&self) -> &str {
        &self.spec.name
    }

    fn signal(&self, sig: i32) {
        let pid = self.pid.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill(2) on our own child, not reaped while pid is set.
            unsafe { libc::kill(pid, sig) };
        }
    }

    /// Queues a value list for the child's write callbacks.
    pub(crate) fn queue_write(&self, vl: PlainValueList) {
        let full = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.push(vl);
            p.len() >= 1024
        };
        if full {
            self.flush_pending();
        }
    }

    /// Sends a frame to the child; false (and the frame dropped) if there is
    /// no child right now.
    pub(crate) fn send(&self, f: &Frame) -> bool {
        let mut buf = Vec::new();
        frame::encode(f, &mut buf);
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        match conn.as_mut() {
            Some(c) => c.write_all(&buf).is_ok(),
            None => false,
        }
    }

    fn flush_pending(&self) {
        let lists = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if lists.is_empty() {
            return;
        }
        let n = lists.len() as u64;
        if !self.send(&Frame::Write(lists)) {
            self.lost.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Runs the child, restarting it with back-off until the daemon stops.
    fn supervise(self: Arc<Self>) {
        // At least 1/8 s, so a zero interval cannot spin.
        let interval = self.spec.interval.max(1 << 27);
        let mut backoff = interval;
        while !self.stopping.load(Ordering::SeqCst) {
            let started = Instant::now();
            let ended = match self.spawn() {
                Ok((child, stream)) => self.serve(child, stream),
                Err(e) => e,
            };
            if self.stopping.load(Ordering::SeqCst) {
                break;
            }
            if started.elapsed() > crate::time::to_duration(interval) * 10 {
                backoff = interval;
            }
            self.restarts.fetch_add(1, Ordering::Relaxed);
            log::error!(
                "isolation: plugin `{}': its host process {ended}; starting it again in {:.1} s",
                self.spec.name,
                crate::time::to_f64(backoff)
            );
            let guard = self.wake.0.lock().unwrap_or_else(|e| e.into_inner());
            let _ =
                self.wake
                    .1
                    .wait_timeout_while(guard, crate::time::to_duration(backoff), |_| {
                        !self.stopping.load(Ordering::SeqCst)
                    });
            let max = self.up.max_backoff.load(Ordering::Relaxed).max(interval);
            backoff = backoff.saturating_mul(2).min(max);
        }
    }

    /// Starts a child; its channel end is inherited as a descriptor.
    fn spawn(&self) -> Result<(Child, UnixStream), String> {
        let (mine, theirs) =
            UnixStream::pair().map_err(|e| format!("cannot make a socket pair ({e})"))?;
        let text = host_config(&lock(&self.up.plan).globals, &self.spec);
        let conf =
            crate::handover::write_memfd("rcollectd-isolated", |f| f.write_all(text.as_bytes()))
                .map_err(|e| format!("cannot write its config ({e})"))?;
        let exe = std::env::current_exe().map_err(|e| format!("cannot find the binary ({e})"))?;
        let fd: RawFd = theirs.as_raw_fd();
        let mut cmd = Command::new(exe);
        cmd.arg("-f")
            .arg("-C")
            .arg(format!("/proc/self/fd/{conf}"))
            .env(ENV_PLUGIN, &self.spec.name)
            .env(ENV_FD, fd.to_string())
            .env_remove("NOTIFY_SOCKET")
            .env_remove(crate::handover::ENV_REEXEC)
            .env_remove(crate::handover::ENV_CACHE_FD)
            .env_remove(crate::handover::ENV_LATE_FD)
            .env_remove(crate::handover::ENV_FDS)
            .stdin(Stdio::null());
        if let Some(dir) = self.up.start_dir.get() {
            cmd.current_dir(dir);
        }
        // SAFETY: only async-signal-safe calls between fork and exec: the
        // child keeps its channel end and config, and dies with the daemon.
        unsafe {
            cmd.pre_exec(move || {
                libc::fcntl(fd, libc::F_SETFD, 0);
                libc::fcntl(conf, libc::F_SETFD, 0);
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let spawned = cmd.spawn();
        // SAFETY: the memfd is ours; the child has its own copy by now.
        unsafe { libc::close(conf) };
        drop(theirs);
        let child = spawned.map_err(|e| format!("could not be started ({e})"))?;
        self.pid.store(child.id() as i32, Ordering::SeqCst);
        let writer = mine
            .try_clone()
            .map_err(|e| format!("cannot clone the channel ({e})"))?;
        *self.conn.lock().unwrap_or_else(|e| e.into_inner()) = Some(writer);
        log::info!(
            "isolation: plugin `{}' runs in process {}",
            self.spec.name,
            child.id()
        );
        Ok((child, mine))
    }

    /// Handles the child's frames until it closes the channel; returns how
    /// the child ended.
    fn serve(self: &Arc<Self>, mut child: Child, mut stream: UnixStream) -> String {
        let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
        let mut chunk = vec![0u8; 1 << 16];
        let broken = loop {
            let n = match stream.read(&mut chunk) {
                Ok(0) => break None,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break Some(e.to_string()),
            };
            buf.extend_from_slice(&chunk[..n]);
            let mut used = 0;
            let mut bad = None;
            loop {
                match frame::decode(&buf[used..]) {
                    Ok(Some((f, len))) => {
                        used += len;
                        self.handle(f);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        bad = Some(e);
                        break;
                    }
                }
            }
            buf.drain(..used);
            if let Some(e) = bad {
                break Some(format!("sent a broken frame ({e})"));
            }
        };
        *self.conn.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if let Some(reason) = &broken {
            log::error!("isolation: plugin `{}': {reason}", self.spec.name);
            let _ = child.kill();
        }
        let status = child.wait();
        self.pid.store(0, Ordering::SeqCst);
        match status {
            Ok(s) => describe_exit(s),
            Err(e) => format!("could not be waited for ({e})"),
        }
    }

    fn handle(self: &Arc<Self>, f: Frame) {
        match f {
            Frame::Values(lists) => {
                self.up.dispatch.dispatch_plain(&lists);
            }
            Frame::Notification(n) => proxy::dispatch_notification(self.up.dispatch, &n),
            Frame::Log { level, message } => {
                crate::plugins::log::emit(level, &String::from_utf8_lossy(&message));
            }
            Frame::Hello {
                writes,
                notifications,
                missing,
                types,
            } => {
                for t in types {
                    let c = crate::types_db::ToC::to_c(&t);
                    let ptr = c.as_ptr();
                    // SAFETY: `to_c` yields a valid data set, alive for the copy.
                    let owned = unsafe { crate::plugins::registry::OwnedDataSet::copy_from(ptr) };
                    if let Some(owned) = owned {
                        self.up.registry.add_data_set(owned);
                    }
                }
                if writes && !self.write_proxy.swap(true, Ordering::SeqCst) {
                    proxy::register_write_proxy(self.up.registry, self);
                }
                if notifications && !self.notification_proxy.swap(true, Ordering::SeqCst) {
                    proxy::register_notification_proxy(self.up.registry, self);
                }
                if missing && !self.missing_proxy.swap(true, Ordering::SeqCst) {
                    proxy::register_missing_proxy(self.up.registry, self);
                }
            }
            Frame::Write(_) | Frame::Flush { .. } | Frame::Missing(_) => {
                log::warn!(
                    "isolation: plugin `{}' sent a frame only the daemon sends",
                    self.spec.name
                );
            }
        }
    }
}

/// How a child ended, in words: "was killed by signal 11 (SIGSEGV)".
fn describe_exit(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(sig)) => {
            let name = nix::sys::signal::Signal::try_from(sig)
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|_| "unknown".into());
            format!("was killed by signal {sig} ({name})")
        }
        _ => "ended".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn host_config_has_the_globals_and_the_plugin_without_isolate() {
        let root = crate::config::parse_str(
            "Hostname \"h\"\nPIDFile \"/x.pid\"\nInterval 2\n<LoadPlugin \"crashy\">\n  Isolate true\n  Interval 1\n</LoadPlugin>\n<Plugin crashy>\n  Opt \"v\"\n</Plugin>\n",
            Path::new("/t/c.conf"),
        )
        .unwrap();
        let globals: Vec<Item> = root
            .children
            .iter()
            .filter(|i| !NOT_FOR_HOSTS.iter().any(|k| k.eq_ignore_ascii_case(&i.key)))
            .filter(|i| ["Hostname", "Interval"].contains(&i.key.as_str()))
            .cloned()
            .collect();
        let mut load = root.children[3].clone();
        load.children
            .retain(|c| !c.key.eq_ignore_ascii_case("Isolate"));
        let spec = Spec {
            name: "crashy".into(),
            load,
            blocks: vec![root.children[4].clone()],
            interval: 1 << 30,
        };
        let text = host_config(&globals, &spec);
        assert_eq!(
            text,
            "# rcollectd: host process of an isolated plugin\nHostname \"h\"\nInterval 2\nWriteThreads 1\n<LoadPlugin \"crashy\">\n  Interval 1\n</LoadPlugin>\n<Plugin \"crashy\">\n  Opt \"v\"\n</Plugin>\n"
        );
        let again = crate::config::parse_str(&text, Path::new("/t/h.conf")).unwrap();
        assert_eq!(again.children.len(), 5);
    }

    #[test]
    fn exits_are_described() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            describe_exit(std::process::ExitStatus::from_raw(11)),
            "was killed by signal 11 (SIGSEGV)"
        );
        assert_eq!(
            describe_exit(std::process::ExitStatus::from_raw(1 << 8)),
            "exited with status 1"
        );
    }
}
