//! Reload without a restart (SIGHUP, `systemctl reload`), which collectd
//! cannot do (collectd #3007).
//!
//! 1. The new config is tested exactly as `-t` tests it, in a child process
//!    started from this binary, so a plugin that misbehaves at load cannot
//!    hurt the running daemon. If the test fails, its `file:line` errors are
//!    logged and the daemon runs on, unchanged.
//! 2. Otherwise the daemon shuts down in order (reads stop, every output's
//!    queue is written, writers flushed, shutdown callbacks run), writes the
//!    value cache's rate state to a memfd, and re-executes itself with the
//!    same argv from the directory it was started in: same PID, so systemd
//!    and the PID file stay right.
//! 3. The new process knows it is one ([`ENV_REEXEC`]): it does not detach
//!    again, and it restores the cache state before its plugins start, so
//!    COUNTER/DERIVE rates continue without a gap or a spike. Descriptors
//!    plugins asked to keep ([`keep_fd`]; the network plugin's sockets) are
//!    inherited, so datagrams that arrive meanwhile wait in the kernel.

use std::ffi::{CString, OsString};
use std::io::{BufReader, Seek, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Set in the re-executed process: it is the same daemon, already detached.
pub const ENV_REEXEC: &str = "RCOLLECTD_REEXEC";
/// The descriptor holding the saved value cache state.
pub const ENV_CACHE_FD: &str = "RCOLLECTD_CACHE_FD";
/// Descriptors handed over to plugins, as `key=fd` pairs separated by `;`.
pub const ENV_FDS: &str = "RCOLLECTD_FDS";

/// How long the config test may take before it counts as failed (a plugin
/// that hangs at load).
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How the daemon was started, captured before it changes directory.
#[derive(Debug, Clone)]
pub struct Origin {
    exe: PathBuf,
    args: Vec<OsString>,
    cwd: PathBuf,
}

impl Origin {
    /// This process's binary, argv and working directory.
    pub fn capture() -> Origin {
        Origin {
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe")),
            args: std::env::args_os().collect(),
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        }
    }
}

/// Whether this process was re-executed by a reload.
pub fn is_reexec() -> bool {
    std::env::var_os(ENV_REEXEC).is_some()
}

/// Runs `rcollectd -t` with this daemon's options in a child; `Err` holds
/// what it printed when it failed.
pub fn test_config(origin: &Origin) -> Result<(), String> {
    let mut cmd = Command::new(&origin.exe);
    cmd.arg("-t");
    // The same -C/-B the daemon was started with; -f, -P and -T do not
    // change what is tested.
    let mut args = origin.args.iter().skip(1);
    while let Some(a) = args.next() {
        match a.to_str() {
            Some("-C") => {
                cmd.arg("-C");
                if let Some(v) = args.next() {
                    cmd.arg(v);
                }
            }
            Some("-P") => {
                args.next();
            }
            Some("-B") => {
                cmd.arg("-B");
            }
            _ => {}
        }
    }
    cmd.current_dir(&origin.cwd)
        .env_remove("NOTIFY_SOCKET")
        .env_remove(ENV_REEXEC)
        .env_remove(ENV_CACHE_FD)
        .env_remove(ENV_FDS)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {} -t: {e}", origin.exe.display()))?;
    let deadline = Instant::now() + TEST_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the configuration test did not finish within {} s",
                    TEST_TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for the configuration test: {e}")),
        }
    };
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Err(text.trim_end().to_owned())
}

static KEPT: Mutex<Vec<(String, RawFd)>> = Mutex::new(Vec::new());

/// Asks for `fd` to be handed to the next process under `key` at a reload
/// (a listening socket, say). The descriptor must stay open until then.
pub fn keep_fd(key: &str, fd: RawFd) {
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    kept.retain(|(k, _)| k != key);
    kept.push((key.to_owned(), fd));
}

/// Forgets a descriptor given to [`keep_fd`] (it is being closed).
pub fn forget_fd(fd: RawFd) {
    KEPT.lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(_, f)| *f != fd);
}

/// The descriptor the previous process handed over under `key`, once:
/// the caller owns it from then on.
pub fn take_inherited_fd(key: &str) -> Option<RawFd> {
    static TAKEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let all = std::env::var(ENV_FDS).ok()?;
    let fd = all.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.parse::<RawFd>().ok()).flatten()
    })?;
    let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    if taken.iter().any(|k| k == key) {
        return None;
    }
    taken.push(key.to_owned());
    Some(fd)
}

/// Restores the value cache state a reload handed over; returns how many
/// entries, or `None` when this process was not started by a reload.
pub fn restore_cache() -> Option<usize> {
    let fd: RawFd = std::env::var(ENV_CACHE_FD).ok()?.parse().ok()?;
    // SAFETY: the previous process opened this memfd for us and passed its
    // number; nothing else in this process refers to it.
    let file = unsafe { std::fs::File::from_raw_fd(fd) };
    let registry = crate::plugins::registry::registry();
    let n = crate::cache::global().restore_state(BufReader::new(file), |ty| {
        let name = std::str::from_utf8(ty).ok()?;
        registry.data_set(name).map(|ds| ds.ds_num())
    });
    std::env::remove_var(ENV_CACHE_FD);
    Some(n)
}

/// Saves the cache and replaces this process with a new run of the same
/// binary and argv. Returns only if that failed.
pub fn reexec(origin: &Origin) -> String {
    let name = CString::new("rcollectd-cache").unwrap_or_default();
    // SAFETY: memfd_create with a valid name; without MFD_CLOEXEC the
    // descriptor survives the exec below, which is the point.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), 0) };
    if fd < 0 {
        return format!("memfd_create: {}", std::io::Error::last_os_error());
    }
    // SAFETY: fd was just created and is owned here; it is leaked into the
    // new process image on purpose (see ENV_CACHE_FD).
    let mut file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    let saved = crate::cache::global()
        .save_state(&mut *file)
        .and_then(|n| file.flush().and_then(|()| file.rewind()).map(|()| n));
    let saved = match saved {
        Ok(n) => n,
        Err(e) => return format!("cannot save the value cache: {e}"),
    };
    let kept = KEPT.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // Everything but stdio, the cache and the kept descriptors is closed by
    // the exec: plugins' files and sockets must not leak into the new run.
    // SAFETY: close_range only sets FD_CLOEXEC on descriptors >= 3.
    unsafe {
        libc::close_range(
            3,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_int,
        )
    };
    for keep in std::iter::once(fd).chain(kept.iter().map(|(_, f)| *f)) {
        // SAFETY: clears FD_CLOEXEC on a descriptor this process owns.
        unsafe { libc::fcntl(keep, libc::F_SETFD, 0) };
    }
    let fds: Vec<String> = kept.iter().map(|(k, f)| format!("{k}={f}")).collect();
    let mut cmd = Command::new(&origin.exe);
    cmd.args(origin.args.iter().skip(1))
        .current_dir(&origin.cwd)
        .env(ENV_REEXEC, "1")
        .env(ENV_CACHE_FD, fd.to_string())
        .env(ENV_FDS, fds.join(";"));
    if let Some(arg0) = origin.args.first() {
        cmd.arg0(arg0);
    }
    log::info!(
        "reload: re-executing with {} cached series and {} kept descriptor{}",
        saved,
        kept.len(),
        if kept.len() == 1 { "" } else { "s" }
    );
    let err = cmd.exec();
    format!("cannot re-execute {}: {err}", origin.exe.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_descriptors_replace_by_key_and_are_forgotten() {
        keep_fd("test:a", 100);
        keep_fd("test:a", 101);
        keep_fd("test:b", 102);
        forget_fd(102);
        let kept = KEPT.lock().unwrap().clone();
        assert!(kept.contains(&("test:a".to_owned(), 101)));
        assert!(!kept.iter().any(|(k, _)| k == "test:b"));
        assert!(!kept.iter().any(|(_, f)| *f == 100));
    }
}
