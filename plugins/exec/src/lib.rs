//! The `exec` plugin: runs programs that print values and notifications,
//! and programs that get each notification, with collectd 5.12's options,
//! environment, log messages and line language, so a collectd
//! `<Plugin exec>` block and its scripts work unchanged.
//!
//! ```text
//! <Plugin exec>
//!   Exec "user:group" "/usr/lib/monitoring/values.sh" "arg"
//!   NotificationExec "user" "/usr/lib/monitoring/on-notify.sh"
//! </Plugin>
//! ```
//!
//! An `Exec` program is started at a read when it is not running (so one
//! that exits is started again at the next read); its stdout is read on a
//! thread of its own, each `PUTVAL`/`PUTNOTIF` line going through the
//! parser the unixsock plugin uses (error replies go to the daemon's
//! stdout, as collectd's do), each stderr line to the log. A
//! `NotificationExec` program is started for every notification and reads
//! it on stdin. Programs run as the given user (never root) with
//! `COLLECTD_INTERVAL` and `COLLECTD_HOSTNAME` set; at shutdown each gets
//! SIGTERM (and SIGKILL if it is still there [`KILL_AFTER`] later). This
//! file is the glue (processes, threads, dispatch); the rules are in
//! [`core`].

pub mod core;

use std::collections::HashMap;
use std::io::{self, Read as _, Write as _};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::unistd::{Group, User};
use rcollectd_plugin::log::{debug, error, info, warn};
use rcollectd_plugin::{
    export_plugin, plugin_log, CdTime, Config, LogLevel, Notification, Notify, Plugin, Read, Result,
};
use rcollectd_plugin_common::cmds::{self, CmdEnv, Level, PutNotif, PutValue, Source};

use crate::core::{Kind, Program};

/// How long shutdown waits after SIGTERM before it kills what is left.
pub const KILL_AFTER: Duration = Duration::from_secs(2);
/// Notification programs running at once; a notification arriving while
/// this many run is not handed to a program (and logged).
pub const MAX_NOTIFICATION_CHILDREN: usize = 64;
/// How long a reader thread sleeps in `poll` before it looks whether the
/// daemon is stopping.
const POLL_MS: i32 = 500;

/// A configured program and whether its `Exec` instance runs.
struct Prog {
    program: Program,
    running: AtomicBool,
}

/// The children and threads the plugin has, for shutdown.
#[derive(Default)]
struct Registry {
    /// Set at shutdown: nothing new is started.
    stopping: bool,
    /// Running children: pid and whether it is an `Exec` program.
    children: HashMap<u32, Kind>,
    /// Threads of ours still running (readers and notification writers).
    threads: usize,
    /// Notification threads among them.
    notification_threads: usize,
}

/// What the plugin's threads share.
struct Shared {
    registry: Mutex<Registry>,
    /// Signalled when a thread ends.
    ended: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts a thread of ours as running until dropped (also by a panic).
struct ThreadGuard {
    shared: Arc<Shared>,
    notification: bool,
}

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        let mut r = self.shared.lock();
        r.threads = r.threads.saturating_sub(1);
        if self.notification {
            r.notification_threads = r.notification_threads.saturating_sub(1);
        }
        self.shared.ended.notify_all();
    }
}

/// The plugin: its programs and their children.
pub struct Exec {
    programs: Vec<Arc<Prog>>,
    shared: Arc<Shared>,
}

impl Plugin for Exec {
    const NAME: &'static str = "exec";

    fn new(config: &Config) -> Result<Self> {
        let (programs, warnings) = core::parse_config(config);
        for w in warnings {
            warn!("{w}");
        }
        Ok(Exec {
            programs: programs
                .into_iter()
                .map(|program| {
                    Arc::new(Prog {
                        program,
                        running: AtomicBool::new(false),
                    })
                })
                .collect(),
            shared: Arc::new(Shared {
                registry: Mutex::new(Registry::default()),
                ended: Condvar::new(),
            }),
        })
    }

    fn shutdown(&self) -> Result {
        stop_children(&self.shared);
        Ok(())
    }
}

impl Read for Exec {
    /// Starts every `Exec` program that is not running, each on a thread of
    /// its own; never waits for one.
    fn read(&self) -> Result {
        let interval = interval_now();
        let hostname = rcollectd_plugin::hostname().unwrap_or_default();
        for prog in &self.programs {
            if prog.program.kind != Kind::Normal || prog.running.swap(true, Ordering::AcqRel) {
                continue;
            }
            let started = start_thread(&self.shared, false, "exec read", {
                let (prog, shared, hostname) =
                    (Arc::clone(prog), Arc::clone(&self.shared), hostname.clone());
                move || {
                    run_normal(&shared, &prog.program, interval, &hostname);
                    prog.running.store(false, Ordering::Release);
                }
            });
            if !started {
                prog.running.store(false, Ordering::Release);
            }
        }
        Ok(())
    }
}

impl Notify for Exec {
    /// Starts every `NotificationExec` program with the notification on its
    /// stdin, each on a thread of its own.
    fn notify(&self, n: &Notification<'_>) -> Result {
        let text = core::render_notification(&notification_text(n));
        let interval = interval_now();
        let hostname = rcollectd_plugin::hostname().unwrap_or_default();
        for prog in &self.programs {
            if prog.program.kind != Kind::Notification {
                continue;
            }
            start_thread(&self.shared, true, "exec notify", {
                let (prog, shared, text, hostname) = (
                    Arc::clone(prog),
                    Arc::clone(&self.shared),
                    text.clone(),
                    hostname.clone(),
                );
                move || run_notification(&shared, &prog.program, &text, interval, &hostname)
            });
        }
        Ok(())
    }
}

export_plugin!(Exec, read, notify);

/// The plugin's interval as `cdtime_t` (`plugin_get_interval`).
fn interval_now() -> u64 {
    rcollectd_plugin::plugin_interval()
        .map(|d| CdTime::from_duration(d).0)
        .unwrap_or(10 << 30)
}

/// A notification's fields as bytes.
fn notification_text(n: &Notification<'_>) -> PutNotif {
    let raw = n.as_raw();
    let bytes = |field: &[libc::c_char]| -> Vec<u8> {
        field
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect()
    };
    PutNotif {
        severity: raw.severity,
        time: raw.time,
        host: bytes(&raw.host),
        plugin: bytes(&raw.plugin),
        plugin_instance: bytes(&raw.plugin_instance),
        type_: bytes(&raw.type_),
        type_instance: bytes(&raw.type_instance),
        meta: n
            .meta()
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), core::meta_text(v)))
            .collect(),
        message: bytes(&raw.message),
    }
}

/// Starts `f` on a thread counted in the registry; false (logged) when it
/// could not start, the daemon is stopping, or too many notification
/// threads run.
fn start_thread(
    shared: &Arc<Shared>,
    notification: bool,
    name: &str,
    f: impl FnOnce() + Send + 'static,
) -> bool {
    {
        let mut r = shared.lock();
        if r.stopping {
            return false;
        }
        if notification && r.notification_threads >= MAX_NOTIFICATION_CHILDREN {
            drop(r);
            error!(
                "{MAX_NOTIFICATION_CHILDREN} notification programs are running; \
                 this notification is not passed on"
            );
            return false;
        }
        r.threads += 1;
        if notification {
            r.notification_threads += 1;
        }
    }
    let guard = ThreadGuard {
        shared: Arc::clone(shared),
        notification,
    };
    let spawned = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            rcollectd_plugin::set_thread_plugin(Some("exec"));
            let _guard = guard;
            f();
        });
    if spawned.is_err() {
        error!("plugin_thread_create failed.");
        return false;
    }
    true
}

/// SIGTERM to every child (logged for `Exec` programs, as collectd does),
/// then up to [`KILL_AFTER`] for the threads to end, then SIGKILL to what
/// is left and a last short wait.
fn stop_children(shared: &Shared) {
    let mut r = shared.lock();
    r.stopping = true;
    for (&pid, &kind) in &r.children {
        signal(pid, libc::SIGTERM);
        if kind == Kind::Normal {
            // collectd prints the pid as an unsigned short.
            info!("Sent SIGTERM to {}", pid as u16);
        } else {
            debug!("Sent SIGTERM to notification program {pid}");
        }
    }
    r = wait_threads(shared, r, KILL_AFTER);
    if r.threads > 0 {
        for &pid in r.children.keys() {
            warn!("program {pid} still runs {KILL_AFTER:?} after SIGTERM: sending SIGKILL");
            signal(pid, libc::SIGKILL);
        }
        r = wait_threads(shared, r, Duration::from_secs(1));
        if r.threads > 0 {
            warn!("{} threads did not end at shutdown", r.threads);
        }
    }
}

/// Waits until no thread of ours runs or `timeout` passed.
fn wait_threads<'a>(
    shared: &'a Shared,
    mut r: MutexGuard<'a, Registry>,
    timeout: Duration,
) -> MutexGuard<'a, Registry> {
    let deadline = Instant::now() + timeout;
    while r.threads > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        r = match shared.ended.wait_timeout(r, left) {
            Ok((r, _)) => r,
            Err(e) => e.into_inner().0,
        };
    }
    r
}

/// Sends `sig` to a child of ours (still registered, so not yet reaped).
fn signal(pid: u32, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill has no memory effects; the pid is a child not yet
    // reaped (it leaves the registry before its wait), so it is ours.
    unsafe { libc::kill(pid, sig) };
}

/// The ids a program runs with.
struct Ids {
    uid: libc::uid_t,
    gid: libc::gid_t,
    /// The configured group, made the effective one.
    egid: Option<libc::gid_t>,
}

/// Looks the program's user and group up as collectd's `fork_child`; the
/// failures are logged with collectd's texts.
fn lookup_ids(p: &Program) -> Option<Ids> {
    let user = match User::from_name(&p.user) {
        Ok(Some(u)) => u,
        Ok(None) => {
            error!("No such user: `{}'", p.user);
            return None;
        }
        Err(e) => {
            error!(
                "Failed to get user information for user ``{}'': {}",
                p.user,
                e.desc()
            );
            return None;
        }
    };
    let (uid, gid) = (user.uid.as_raw(), user.gid.as_raw());
    if uid == 0 {
        error!("Cowardly refusing to exec program as root.");
        return None;
    }
    let egid = match p.group.as_deref() {
        None => None,
        Some("") => Some(gid),
        Some(name) => match Group::from_name(name) {
            Ok(Some(g)) => Some(g.gid.as_raw()),
            Ok(None) => {
                error!("No such group: `{name}'");
                None
            }
            Err(e) => {
                error!("getegr_id failed {}", e.desc());
                return None;
            }
        },
    };
    Some(Ids { uid, gid, egid })
}

/// Runs between fork and exec: supplementary groups (as root), the
/// primary and effective group, the user; and every inherited descriptor
/// above stderr marked close-on-exec, as collectd closes them. Only
/// async-signal-safe calls.
fn switch_ids(ids: &Ids) -> io::Result<()> {
    // SAFETY: plain system calls on values copied before the fork; the
    // group list is a live local array of the stated length.
    unsafe {
        if libc::getuid() == 0 {
            let list = [ids.gid, ids.egid.unwrap_or(ids.gid)];
            let n = if ids.egid.is_some_and(|e| e != ids.gid) {
                2
            } else {
                1
            };
            libc::setgroups(n, list.as_ptr());
        }
        if libc::setgid(ids.gid) != 0 {
            return Err(io::Error::last_os_error());
        }
        if let Some(egid) = ids.egid {
            if libc::setegid(egid) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        if libc::setuid(ids.uid) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    close_inherited();
    Ok(())
}

/// Marks every descriptor above 2 close-on-exec (`close_range`, or one
/// `fcntl` per descriptor where that is missing).
fn close_inherited() {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes descriptor flags.
    let done = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    } == 0;
    if done {
        return;
    }
    // SAFETY: sysconf has no memory effects.
    let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) }.clamp(3, 65_536) as libc::c_int;
    for fd in 3..max {
        // SAFETY: fcntl on a descriptor number only reads or sets its flags.
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

/// Forks and executes a program with collectd's environment and ids, all
/// three standard descriptors on pipes, and registers it as a child. `None`
/// (logged) when it cannot run.
fn spawn(shared: &Shared, p: &Program, interval: u64, hostname: &str) -> Option<Child> {
    let ids = lookup_ids(p)?;
    let mut cmd = Command::new(&p.exec);
    cmd.arg0(&p.argv[0])
        .args(&p.argv[1..])
        .envs(core::child_env(interval, hostname))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: the closure only makes async-signal-safe system calls on
    // values prepared before the fork.
    unsafe { cmd.pre_exec(move || switch_ids(&ids)) };
    let mut r = shared.lock();
    if r.stopping {
        return None;
    }
    match cmd.spawn() {
        Ok(child) => {
            r.children.insert(child.id(), p.kind);
            Some(child)
        }
        Err(e) => {
            drop(r);
            // collectd's child logs this after the fork, where the message
            // is lost; logged here, where it is not.
            let text = e.raw_os_error().map_or_else(
                || e.to_string(),
                |n| nix::errno::Errno::from_raw(n).desc().to_owned(),
            );
            error!("Failed to execute ``{}'': {text}", p.exec);
            None
        }
    }
}

/// Waits for a child to exit, takes it out of the registry before reaping
/// it (so shutdown never signals a reaped pid), then reaps it.
fn reap(shared: &Shared, mut child: Child) {
    let pid = child.id();
    loop {
        // SAFETY: siginfo_t is plain data, valid when zeroed.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a writable siginfo_t; WNOWAIT leaves the child
        // to be reaped by `child.wait()` below.
        let rc =
            unsafe { libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if rc == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            break;
        }
    }
    shared.lock().children.remove(&pid);
    let status = child.wait();
    debug!("Child {pid} exited with status {status:?}.");
}

/// [`CmdEnv`] of the lines a program prints: the daemon, with values
/// without an interval getting the plugin's (as collectd's reader thread
/// inherits the read callback's context), messages logged as the plugin's.
struct HostEnv {
    interval: u64,
}

impl CmdEnv for HostEnv {
    fn data_set(&mut self, type_: &[u8]) -> Option<Vec<Source>> {
        cmds::host::data_set(type_)
    }
    fn now(&mut self) -> u64 {
        cmds::host::now()
    }
    fn dispatch_values(&mut self, vl: &PutValue) {
        if vl.interval == 0 {
            let vl = PutValue {
                interval: self.interval,
                ..vl.clone()
            };
            cmds::host::dispatch_values(&vl);
        } else {
            cmds::host::dispatch_values(vl);
        }
    }
    fn dispatch_notification(&mut self, n: &PutNotif) {
        cmds::host::dispatch_notification(n);
    }
    fn log(&mut self, level: Level, message: String) {
        match level {
            Level::Error => error!("{message}"),
            Level::Info => info!("{message}"),
        }
    }
}

/// Writes command replies where collectd writes them: the daemon's stdout.
fn reply(out: &[u8]) {
    if out.is_empty() {
        return;
    }
    let mut stdout = io::stdout().lock();
    let _ = stdout.write_all(out).and_then(|()| stdout.flush());
}

/// An `Exec` program's life: started, its stdout parsed and its stderr
/// logged until stdout ends (or the daemon stops), then reaped.
fn run_normal(shared: &Shared, p: &Program, interval: u64, hostname: &str) {
    let Some(mut child) = spawn(shared, p, interval, hostname) else {
        return;
    };
    drop(child.stdin.take());
    let (Some(mut out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        reap(shared, child);
        return;
    };
    let mut err = Some(err);
    let mut env = HostEnv { interval };
    let mut out_lines = core::lines(core::STDOUT_LINE_MAX);
    let mut err_lines = core::lines(core::STDERR_LINE_MAX);
    let mut buf = vec![0u8; 4096];
    let mut replies = Vec::new();
    loop {
        if shared.lock().stopping {
            break;
        }
        let mut fds = [
            libc::pollfd {
                fd: out.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: err.as_ref().map_or(-1, |e| e.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is a valid array of two pollfd entries.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, POLL_MS) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        if fds[0].revents & (libc::POLLIN | libc::POLLHUP) != 0 {
            let len = match out.read(&mut buf) {
                Ok(0) => break,
                Ok(len) => len,
                Err(e) if retry(&e) => continue,
                Err(_) => break,
            };
            out_lines.feed(&buf[..len], &mut |line, cut| {
                if cut {
                    error!(
                        "a line from `{}' is longer than {} bytes; ignored",
                        p.exec,
                        core::STDOUT_LINE_MAX
                    );
                    return;
                }
                replies.clear();
                core::handle_line(line, &mut env, &mut replies);
                reply(&replies);
            });
        } else if fds[0].revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
            error!("Failed to read pipe from `{}'.", p.exec);
            break;
        } else if fds[1].revents & (libc::POLLIN | libc::POLLHUP) != 0 {
            let Some(e) = err.as_mut() else { continue };
            match e.read(&mut buf) {
                Ok(0) => {
                    plugin_log(
                        LogLevel::Notice,
                        &format!("exec plugin: Program `{}' has closed STDERR.", p.exec),
                    );
                    err = None;
                }
                Ok(len) => err_lines.feed(&buf[..len], &mut |line, _| {
                    error!("exec_read_one: error = {}", String::from_utf8_lossy(line));
                }),
                Err(e) if retry(&e) => {}
                Err(_) => err = None,
            }
        } else if fds[1].revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
            warn!("Ignoring STDERR for program `{}'.", p.exec);
            err = None;
        }
    }
    drop(out);
    drop(err);
    reap(shared, child);
}

/// Whether a read error just means "try again".
fn retry(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
    )
}

/// A `NotificationExec` program's life: started, the notification written
/// to its stdin (stdout and stderr lead nowhere, as in collectd), reaped.
fn run_notification(shared: &Shared, p: &Program, text: &[u8], interval: u64, hostname: &str) {
    let Some(mut child) = spawn(shared, p, interval, hostname) else {
        return;
    };
    drop(child.stdout.take());
    drop(child.stderr.take());
    if let Some(mut stdin) = child.stdin.take() {
        // A program that does not read its stdin is no error.
        let _ = stdin.write_all(text);
    }
    reap(shared, child);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::{ConfigItem, ConfigValue};

    fn s(v: &str) -> ConfigValue {
        ConfigValue::String(v.into())
    }

    #[test]
    fn root_is_refused_and_unknown_users_are_reported() {
        rcollectd_plugin::install_logger(Exec::NAME);
        let program = |user: &str| Program {
            kind: Kind::Normal,
            user: user.into(),
            group: None,
            exec: "/bin/true".into(),
            argv: vec!["true".into()],
        };
        let got = rcollectd_plugin::testing::capture(|| {
            (
                lookup_ids(&program("root")).is_none(),
                lookup_ids(&program("no-such-user-rcollectd")).is_none(),
            )
        });
        assert_eq!(got.result, (true, true));
        let texts: Vec<&str> = got.logs.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(
            texts,
            [
                "exec plugin: Cowardly refusing to exec program as root.",
                "exec plugin: No such user: `no-such-user-rcollectd'",
            ]
        );
    }

    #[test]
    fn programs_run_read_and_stop() {
        let config = Config {
            plugin: "exec".into(),
            items: vec![ConfigItem::new(
                "Exec",
                vec![s("nobody"), s("/bin/sh"), s("-c"), s("sleep 30")],
            )],
        };
        let exec = Exec::new(&config).unwrap();
        if nix::unistd::geteuid().is_root() {
            let started = Instant::now();
            let _ = rcollectd_plugin::testing::capture(|| exec.read());
            let ok = (0..100).any(|_| {
                std::thread::sleep(Duration::from_millis(20));
                !exec.shared.lock().children.is_empty()
            });
            assert!(ok, "the program did not start");
            let pid = *exec.shared.lock().children.keys().next().unwrap();
            let _ = rcollectd_plugin::testing::capture(|| exec.shutdown());
            assert!(started.elapsed() < KILL_AFTER, "SIGTERM was enough");
            assert_eq!(exec.shared.lock().threads, 0);
            // SAFETY: signal 0 only checks whether the pid exists.
            assert_ne!(unsafe { libc::kill(pid as libc::pid_t, 0) }, 0);
        }
        // After shutdown nothing starts.
        let _ = rcollectd_plugin::testing::capture(|| exec.read());
        std::thread::sleep(Duration::from_millis(50));
        assert!(exec.shared.lock().children.is_empty());
    }
}
