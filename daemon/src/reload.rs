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
//! 3. The new process knows it is one (`ENV_REEXEC`): it does not detach
//!    again, and it restores the cache state before its plugins start, so
//!    COUNTER/DERIVE rates continue without a gap or a spike. Descriptors
//!    plugins asked to keep ([`keep_fd`]; the network plugin's sockets) are
//!    inherited, so datagrams that arrive meanwhile wait in the kernel; the
//!    new process's plugins take them back ([`take_inherited_fd`]).

use std::ffi::OsString;
use std::io::{BufReader, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::handover::{write_memfd, ENV_CACHE_FD, ENV_FDS, ENV_LATE_FD, ENV_REEXEC};

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

/// Set while the daemon shuts down to re-execute itself.
static PENDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Marks the coming shutdown as a reload's (plugins keep what they hand over).
pub fn set_pending() {
    PENDING.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether the daemon is shutting down for a reload.
pub fn pending() -> bool {
    PENDING.load(std::sync::atomic::Ordering::SeqCst)
}

/// Duplicates of the descriptors plugins asked to keep, by key.
static KEPT: Mutex<Vec<(String, RawFd)>> = Mutex::new(Vec::new());

/// Keeps a duplicate of `fd` (a listening socket, say) to hand to the next
/// process under `key` at a reload. The duplicate keeps the socket, and
/// what arrives on it, alive after the plugin closes its own descriptor at
/// shutdown. A later call with the same key replaces the earlier one.
pub fn keep_fd(key: &str, fd: RawFd) -> bool {
    // SAFETY: F_DUPFD_CLOEXEC creates a new descriptor and touches no memory.
    let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if dup < 0 {
        return false;
    }
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = kept.iter().position(|(k, _)| k == key) {
        let (_, old) = kept.remove(i);
        // SAFETY: `old` is a duplicate this module made and owns.
        unsafe { libc::close(old) };
    }
    kept.push((key.to_owned(), dup));
    true
}

/// Inherited descriptors not taken yet, parsed once from [`ENV_FDS`].
static INHERITED: Mutex<Option<Vec<(String, RawFd)>>> = Mutex::new(None);

fn inherited() -> std::sync::MutexGuard<'static, Option<Vec<(String, RawFd)>>> {
    let mut g = INHERITED.lock().unwrap_or_else(|e| e.into_inner());
    if g.is_none() {
        let list = std::env::var(ENV_FDS)
            .unwrap_or_default()
            .split(';')
            .filter_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                Some((k.to_owned(), v.parse::<RawFd>().ok()?))
            })
            .collect();
        *g = Some(list);
    }
    g
}

/// The descriptor the previous process kept under `key` before a reload,
/// once: the caller owns it from then on.
pub fn take_inherited_fd(key: &str) -> Option<RawFd> {
    let mut g = inherited();
    let list = g.as_mut()?;
    let i = list.iter().position(|(k, _)| k == key)?;
    Some(list.remove(i).1)
}

/// Closes the inherited descriptors no plugin took (a `<Listen>` the new
/// configuration dropped); returns how many.
pub fn close_untaken_fds() -> usize {
    let mut g = inherited();
    let list = std::mem::take(g.as_mut().unwrap_or(&mut Vec::new()));
    for (key, fd) in &list {
        log::info!(
            "reload: closing the descriptor kept as `{key}': the new configuration does not use it"
        );
        // SAFETY: an inherited descriptor nobody in this process took.
        unsafe { libc::close(*fd) };
    }
    list.len()
}

/// Restores the value cache state a reload handed over; returns how many
/// entries, or `None` when this process was not started by a reload.
pub fn restore_cache() -> Option<usize> {
    let fd: RawFd = std::env::var(ENV_CACHE_FD).ok()?.parse().ok()?;
    // SAFETY: the previous process opened this memfd for us and passed its
    // number; nothing else in this process refers to it.
    let file = unsafe { std::fs::File::from_raw_fd(fd) };
    let registry = &crate::runtime::runtime().registry;
    let n = crate::runtime::runtime()
        .cache
        .restore_state(BufReader::new(file), |ty| {
            let name = std::str::from_utf8(ty).ok()?;
            registry.data_set(name).map(|ds| ds.ds_num())
        });
    std::env::remove_var(ENV_CACHE_FD);
    Some(n)
}

/// Saves the cache and replaces this process with a new run of the same
/// binary and argv. Returns only if that failed.
pub fn reexec(origin: &Origin) -> String {
    let mut saved = 0;
    let fd = match write_memfd("rcollectd-cache", |f| {
        saved = crate::runtime::runtime().cache.save_state(f)?;
        Ok(())
    }) {
        Ok(fd) => fd,
        Err(e) => return format!("cannot save the value cache: {e}"),
    };
    let late = crate::runtime::runtime().dispatch.take_late();
    let late_fd = match write_memfd("rcollectd-late", |f| f.write_all(&encode_late(&late))) {
        Ok(fd) => fd,
        Err(e) => return format!("cannot save late value lists: {e}"),
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
    for keep in [fd, late_fd]
        .into_iter()
        .chain(kept.iter().map(|(_, f)| *f))
    {
        // SAFETY: clears FD_CLOEXEC on a descriptor this process owns.
        unsafe { libc::fcntl(keep, libc::F_SETFD, 0) };
    }
    let fds: Vec<String> = kept.iter().map(|(k, f)| format!("{k}={f}")).collect();
    let mut cmd = Command::new(&origin.exe);
    cmd.args(origin.args.iter().skip(1))
        .current_dir(&origin.cwd)
        .env(ENV_REEXEC, "1")
        .env(ENV_CACHE_FD, fd.to_string())
        .env(ENV_LATE_FD, late_fd.to_string())
        .env(ENV_FDS, fds.join(";"));
    if let Some(arg0) = origin.args.first() {
        cmd.arg0(arg0);
    }
    log::info!(
        "reload: re-executing with {} cached series, {} value list{} dispatched late and {} kept descriptor{}",
        saved,
        late.len(),
        if late.len() == 1 { "" } else { "s" },
        kept.len(),
        if kept.len() == 1 { "" } else { "s" }
    );
    let err = cmd.exec();
    format!("cannot re-execute {}: {err}", origin.exe.display())
}

/// Late value lists in the isolation channel's frame format (one
/// `Values` frame per 4096, so no frame nears its size limit).
fn encode_late(lists: &[crate::dispatch::PlainValueList]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in lists.chunks(4096) {
        crate::isolate::frame::encode(
            &crate::isolate::frame::Frame::Values(chunk.to_vec()),
            &mut out,
        );
    }
    out
}

/// The value lists [`encode_late`] wrote; decoding stops at the first
/// broken frame.
fn decode_late(mut bytes: &[u8]) -> Vec<crate::dispatch::PlainValueList> {
    use crate::isolate::frame::{decode, Frame};
    let mut out = Vec::new();
    while let Ok(Some((frame, used))) = decode(bytes) {
        if let Frame::Values(lists) = frame {
            out.extend(lists);
        }
        bytes = &bytes[used..];
    }
    out
}

/// Dispatches the value lists the previous process received after its
/// writers stopped; `None` when this process was not started by a reload.
pub fn dispatch_late() -> Option<usize> {
    use std::io::Read;
    let fd: RawFd = std::env::var(ENV_LATE_FD).ok()?.parse().ok()?;
    std::env::remove_var(ENV_LATE_FD);
    // SAFETY: the previous process opened this memfd for us; nothing else
    // in this process refers to it.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    Some(
        crate::runtime::runtime()
            .dispatch
            .dispatch_plain(&decode_late(&bytes)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_value_lists_survive_their_encoding() {
        use crate::meta::{MetaData, MetaValue};
        let mut meta = MetaData::new();
        meta.insert_str("network:received", MetaValue::Boolean(true));
        meta.insert_str("user", MetaValue::String(c"a b:c".into()));
        meta.insert_str("n", MetaValue::SignedInt(-3));
        meta.insert_str("d", MetaValue::Double(0.5));
        let l = crate::dispatch::PlainValueList {
            fields: [
                b"h".to_vec(),
                b"p".to_vec(),
                Vec::new(),
                b"gauge".to_vec(),
                b"x y".to_vec(),
            ],
            time: 1 << 40,
            interval: 10 << 30,
            values: vec![1.5f64.to_bits(), 7],
            meta: Some(meta),
        };
        let bytes = super::encode_late(std::slice::from_ref(&l));
        assert_eq!(super::decode_late(&bytes), vec![l]);
        assert!(super::decode_late(b"nonsense").is_empty());
    }

    #[test]
    fn a_kept_descriptor_is_a_duplicate_replaced_by_key() {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        use std::os::fd::AsRawFd;
        assert!(keep_fd("test:x", a.as_raw_fd()));
        assert!(keep_fd("test:x", b.as_raw_fd()));
        assert!(!keep_fd("test:bad", -1));
        let kept = KEPT.lock().unwrap().clone();
        let mine: Vec<_> = kept
            .iter()
            .filter(|(k, _)| k.starts_with("test:"))
            .collect();
        assert_eq!(mine.len(), 1);
        let dup = mine[0].1;
        assert!(dup != a.as_raw_fd() && dup != b.as_raw_fd());
        // The duplicate outlives the plugin's socket: same local address.
        let addr = b.local_addr().unwrap();
        drop(b);
        // SAFETY: the duplicate is owned by KEPT; borrowed for the check only.
        let same = std::mem::ManuallyDrop::new(unsafe {
            <std::net::UdpSocket as std::os::fd::FromRawFd>::from_raw_fd(dup)
        });
        assert_eq!(same.local_addr().unwrap(), addr);
    }
}
