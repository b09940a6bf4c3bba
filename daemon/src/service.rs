//! Service-manager plumbing: BaseDir, daemonizing, the PID file, signals and
//! systemd's notify protocol, each behaving as collectd's does.

use std::fs;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal as NixSignal};
use nix::unistd::{self, ForkResult};

/// Caps glibc's malloc arenas before any thread starts: each thread that
/// allocates would otherwise get its own arena (a heap of ~132 KB and its
/// fragmentation), which dominates an idle daemon's anonymous memory. Left
/// alone when the user tunes malloc through the environment.
pub fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var_os("GLIBC_TUNABLES").is_some()
    {
        return;
    }
    // SAFETY: mallopt only changes allocator parameters; M_ARENA_MAX takes
    // effect for arenas created afterwards, and no other thread exists yet.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS) };
}

/// Two arenas: the main one plus one the other threads share. Nearly all of
/// the saving of one arena, with less lock contention under network load.
const MALLOC_ARENAS: libc::c_int = 2;

/// Creates BaseDir unless `-B` was given, then makes it the working directory.
pub fn enter_base_dir(dir: &Path, create: bool) -> Result<(), String> {
    if create && !dir.is_dir() {
        fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create BaseDir {}: {e}", dir.display()))?;
    }
    std::env::set_current_dir(dir).map_err(|e| {
        let hint = if create {
            ""
        } else {
            " (it is not created because -B was given)"
        };
        format!("cannot change to BaseDir {}: {e}{hint}", dir.display())
    })
}

/// Detaches from the terminal: double fork, new session, stdio on /dev/null.
pub fn daemonize() -> Result<(), String> {
    for round in 0..2 {
        // SAFETY: called before any thread of ours is started (Daemon::start runs
        // after this), so the child has a consistent copy of the only thread.
        match unsafe { unistd::fork() } {
            Ok(ForkResult::Parent { .. }) => {
                // SAFETY: _exit skips atexit handlers and destructors that belong
                // to the process that stays behind.
                unsafe { libc::_exit(0) }
            }
            Ok(ForkResult::Child) => {}
            Err(e) => return Err(format!("fork failed: {e}")),
        }
        if round == 0 {
            unistd::setsid().map_err(|e| format!("setsid failed: {e}"))?;
        }
    }
    let null = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| format!("cannot open /dev/null: {e}"))?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors, which this process owns.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } < 0 {
            return Err(format!("dup2 failed: {}", io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// The PID file, removed again when the daemon exits.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Writes our PID, creating the parent directory as collectd does.
    pub fn create(path: &Path) -> Result<PidFile, String> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let _ = fs::create_dir_all(parent);
        }
        fs::write(path, format!("{}\n", std::process::id()))
            .map_err(|e| format!("cannot write PID file {}: {e}", path.display()))?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_file(&self.path) {
            log::warn!("cannot remove PID file {}: {e}", self.path.display());
        }
    }
}

/// CLOCK_MONOTONIC in microseconds, as systemd's `MONOTONIC_USEC=` wants it.
pub fn monotonic_usec() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1000)
        .unwrap_or(0)
}

/// systemd's notify socket, when the service manager gave us one.
#[derive(Debug)]
pub struct Notifier {
    addr: SocketAddr,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`; an `@` prefix names an abstract socket.
    pub fn from_env() -> Option<Notifier> {
        let raw = std::env::var("NOTIFY_SOCKET").ok()?;
        let addr = match raw.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
            None => SocketAddr::from_pathname(&raw),
        };
        match addr {
            Ok(addr) => Some(Notifier { addr }),
            Err(e) => {
                log::warn!("ignoring NOTIFY_SOCKET={raw}: {e}");
                None
            }
        }
    }

    /// Sends one state update; failures are logged, never fatal.
    pub fn send(&self, state: &str) {
        let result =
            UnixDatagram::unbound().and_then(|s| s.send_to_addr(state.as_bytes(), &self.addr));
        if let Err(e) = result {
            log::warn!("cannot notify the service manager ({state:?}): {e}");
        }
    }
}

/// What a signal asks the main loop to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Flush,
    Stop,
    /// SIGHUP: reload the configuration.
    Reload,
}

static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = sig as u8;
        // SAFETY: write(2) is async-signal-safe; the buffer is a local byte.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
}

/// SIGTERM/SIGINT (stop), SIGUSR1 (flush) and SIGHUP (reload), delivered through a self-pipe so
/// that plugin threads keep default signal masks (children they exec inherit them).
#[derive(Debug)]
pub struct Signals {
    read_end: fs::File,
    _write_end: OwnedFd,
}

impl Signals {
    /// Installs the handlers (SIGHUP reloads; collectd ignores it).
    pub fn install() -> Result<Signals, String> {
        let (read_end, write_end) =
            unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
        SIGNAL_PIPE.store(write_end.as_raw_fd(), Ordering::Relaxed);
        // No SA_RESTART, as in collectd: plugins stop their blocking threads
        // with pthread_kill(thread, SIGTERM) and expect accept() or read()
        // to return EINTR (unixsock and network do this at shutdown).
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::empty(),
            SigSet::empty(),
        );
        for sig in [
            NixSignal::SIGTERM,
            NixSignal::SIGINT,
            NixSignal::SIGUSR1,
            NixSignal::SIGHUP,
        ] {
            // SAFETY: the handler only calls write(2) on a descriptor that lives
            // as long as the process keeps this Signals value.
            unsafe { sigaction(sig, &action) }.map_err(|e| format!("sigaction {sig}: {e}"))?;
        }
        // SAFETY: the raw descriptor came from pipe2 above and is owned only here.
        let read_end =
            unsafe { fs::File::from_raw_fd(std::os::fd::IntoRawFd::into_raw_fd(read_end)) };
        Ok(Signals {
            read_end,
            _write_end: write_end,
        })
    }

    /// Blocks until the next signal that needs the main loop, or until
    /// `timeout` has passed (`None`).
    pub fn wait_for(&self, timeout: std::time::Duration) -> Option<Signal> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let end = std::time::Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            // Rounded up: a timeout cut to 0 ms would spin through the last one.
            let ms =
                PollTimeout::try_from(left.as_micros().div_ceil(1000)).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(self.read_end.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, ms) {
                Ok(0) if left.is_zero() => return None,
                Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                Ok(_) => return Some(self.wait()),
                Err(e) => {
                    log::error!("signal pipe failed: {e}; shutting down");
                    return Some(Signal::Stop);
                }
            }
        }
    }

    /// Blocks until the next signal that needs the main loop.
    pub fn wait(&self) -> Signal {
        let mut byte = [0u8; 1];
        loop {
            match (&self.read_end).read(&mut byte) {
                Ok(1) if i32::from(byte[0]) == libc::SIGUSR1 => return Signal::Flush,
                Ok(1) if i32::from(byte[0]) == libc::SIGHUP => return Signal::Reload,
                Ok(1) => return Signal::Stop,
                Ok(_) => return Signal::Stop,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::error!("signal pipe failed: {e}; shutting down");
                    return Signal::Stop;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_file_is_written_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/x.pid");
        let guard = PidFile::create(&path).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        drop(guard);
        assert!(!path.exists());
    }

    #[test]
    fn a_signal_reaches_the_main_loop() {
        let signals = Signals::install().unwrap();
        // SAFETY: raise delivers SIGUSR1 to this thread; the handler installed
        // above only writes a byte to the self-pipe.
        assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
        assert_eq!(signals.wait(), Signal::Flush);
    }

    #[test]
    fn base_dir_is_created_unless_told_not_to() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = std::env::current_dir().unwrap();
        let missing = dir.path().join("a/b");
        let err = enter_base_dir(&missing, false).unwrap_err();
        assert!(err.contains("-B was given"), "{err}");
        enter_base_dir(&missing, true).unwrap();
        assert!(missing.is_dir());
        std::env::set_current_dir(cwd).unwrap();
    }
}
