//! The host process of an isolated plugin: everything the plugin dispatches
//! or logs goes to the daemon over the inherited channel, and what the
//! daemon sends (value lists and notifications for the plugin's callbacks,
//! flushes) is handed to the plugin.

use std::ffi::{c_char, c_int, CString};
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use rcollectd_plugin::sys::{data_set_t, notification_t, user_data_t, value_list_t};

use super::frame::{self, Frame, PlainNotification};
use super::proxy::{plain_of, with_notification};
use crate::abi::ffi::c_bytes;
use crate::dispatch::PlainValueList;
use crate::plugins::ctx;
use crate::plugins::register::register_in;
use crate::runtime::runtime;

/// The name the host process's own callbacks are registered under.
pub const BRIDGE: &str = "rcollectd-isolation";

static CONN: OnceLock<Mutex<UnixStream>> = OnceLock::new();
static PENDING: Mutex<Vec<PlainValueList>> = Mutex::new(Vec::new());
/// Data sets the plugin registered itself, for the daemon.
static TYPES: Mutex<Vec<crate::types_db::DataSet>> = Mutex::new(Vec::new());

/// Notes a data set the plugin registered (`plugin_register_data_set`).
pub fn note_type(ds: crate::types_db::DataSet) {
    let mut t = TYPES.lock().unwrap_or_else(|e| e.into_inner());
    t.retain(|d| d.type_name != ds.type_name);
    t.push(ds);
}

/// Whether this process hosts an isolated plugin (set by the daemon that
/// started it).
pub fn is_host() -> bool {
    std::env::var_os(super::ENV_FD).is_some()
}

/// Takes over the channel, registers the bridge callbacks and makes them
/// the only destination of values and notifications. Call after the
/// config is read and before plugins start.
pub fn install() -> Result<(), String> {
    let fd: RawFd = std::env::var(super::ENV_FD)
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or("isolation: no channel descriptor")?;
    // SAFETY: the daemon that started this process passed this descriptor
    // for this process's exclusive use.
    let stream = unsafe { UnixStream::from_raw_fd(fd) };
    // SAFETY: FD_CLOEXEC so programs the plugin starts do not inherit it.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    let reader = stream.try_clone().map_err(|e| format!("isolation: {e}"))?;
    let _ = CONN.set(Mutex::new(stream));
    register_bridge(BRIDGE);
    let dispatch = crate::runtime::runtime().dispatch;
    dispatch.deliver_only_to(BRIDGE);
    dispatch.notify_only(BRIDGE);
    dispatch.missing_from_daemon_only();
    dispatch.set_after_payload(Box::new(|output| {
        if output == BRIDGE {
            flush();
        }
    }));
    std::thread::Builder::new()
        .name("isolation in".into())
        .spawn(move || serve(reader))
        .map_err(|e| format!("isolation: {e}"))?;
    Ok(())
}

/// When a write or notification the daemon sent started being handled
/// (cdtime_t; 0 while none is).
static HANDLING_SINCE: AtomicU64 = AtomicU64::new(0);

/// Watches for a callback of the plugin that does not return within
/// `limit`: the host process then says so and ends itself (SIGKILL), so the
/// daemon restarts it as it would after a crash.
pub fn watch_for_hangs(limit: crate::time::cdtime_t) {
    let spawned = std::thread::Builder::new()
        .name("isolation dog".into())
        .spawn(move || loop {
            std::thread::sleep(crate::time::to_duration(limit / 4).max(std::time::Duration::from_millis(50)));
            let since = HANDLING_SINCE.load(Ordering::Relaxed);
            let writing = (since > 0).then(|| crate::time::now().saturating_sub(since));
            let reading = crate::runtime::runtime().scheduler.running_for();
            let stuck = [reading, writing].into_iter().flatten().max().unwrap_or(0);
            if stuck > limit {
                let name = std::env::var(super::ENV_PLUGIN).unwrap_or_default();
                send(&Frame::Log {
                    level: crate::plugins::log::LOG_ERR,
                    message: format!(
                        "isolation: a callback of plugin `{name}' has not returned for {:.1} s; ending its host process",
                        crate::time::to_f64(stuck)
                    )
                    .into_bytes(),
                });
                // SAFETY: raise(2); the daemon restarts this process.
                unsafe { libc::raise(libc::SIGKILL) };
            }
        });
    if let Err(e) = spawned {
        log::error!("isolation: cannot start the hang watch: {e}");
    }
}

/// Tells the daemon which of the plugin's callbacks it must stand in for.
pub fn hello() {
    let r = &crate::runtime::runtime().registry;
    let writes = r.write.snapshot().iter().any(|c| c.name != BRIDGE);
    let notifications = r.notification.snapshot().iter().any(|c| c.name != BRIDGE);
    let missing = !r.missing.is_empty();
    let types = TYPES.lock().unwrap_or_else(|e| e.into_inner()).clone();
    send(&Frame::Hello {
        writes,
        notifications,
        missing,
        types,
    });
}

/// Sends one frame to the daemon; a daemon that is gone ends this process.
pub fn send(f: &Frame) {
    let Some(conn) = CONN.get() else { return };
    let mut buf = Vec::new();
    frame::encode(f, &mut buf);
    let mut c = conn.lock().unwrap_or_else(|e| e.into_inner());
    if c.write_all(&buf).is_err() {
        // SAFETY: raise(2) asks for this process's orderly shutdown.
        unsafe { libc::raise(libc::SIGTERM) };
    }
}

/// Queues a value list the plugin dispatched; sent with its batch.
pub fn queue_value(l: PlainValueList) {
    let full = {
        let mut p = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        p.push(l);
        p.len() >= 1024
    };
    if full {
        flush();
    }
}

/// Sends the queued value lists in one frame.
pub fn flush() {
    let lists = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner()));
    if !lists.is_empty() {
        send(&Frame::Values(lists));
    }
}

/// Handles the daemon's frames; when the daemon closes the channel, this
/// process shuts down in order.
fn serve(mut stream: UnixStream) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut used = 0;
        loop {
            let (f, len) = match frame::decode(&buf[used..]) {
                Ok(Some(x)) => x,
                Ok(None) => break,
                Err(e) => {
                    log::error!("isolation: the daemon sent a broken frame ({e}); shutting down");
                    // SAFETY: raise(2) asks for this process's orderly shutdown.
                    unsafe { libc::raise(libc::SIGTERM) };
                    return;
                }
            };
            used += len;
            match f {
                Frame::Write(lists) => {
                    HANDLING_SINCE.store(crate::time::now(), Ordering::Relaxed);
                    for l in &lists {
                        write_locally(l);
                    }
                    HANDLING_SINCE.store(0, Ordering::Relaxed);
                }
                Frame::Notification(n) => {
                    HANDLING_SINCE.store(crate::time::now(), Ordering::Relaxed);
                    notify_locally(&n);
                    HANDLING_SINCE.store(0, Ordering::Relaxed);
                }
                Frame::Missing(l) => {
                    HANDLING_SINCE.store(crate::time::now(), Ordering::Relaxed);
                    missing_locally(&l);
                    HANDLING_SINCE.store(0, Ordering::Relaxed);
                }
                Frame::Flush {
                    timeout,
                    identifier,
                } => {
                    let ident = String::from_utf8_lossy(&identifier).into_owned();
                    let ident = (!ident.is_empty()).then_some(ident);
                    crate::runtime::runtime()
                        .dispatch
                        .flush(None, timeout, ident.as_deref());
                }
                Frame::Values(_) | Frame::Log { .. } | Frame::Hello { .. } => {}
            }
        }
        buf.drain(..used);
    }
    // SAFETY: raise(2) asks for this process's orderly shutdown.
    unsafe { libc::raise(libc::SIGTERM) };
}

unsafe extern "C" fn bridge_write(
    _ds: *const data_set_t,
    vl: *const value_list_t,
    _ud: *mut user_data_t,
) -> c_int {
    // SAFETY: the write path passes a valid value list.
    queue_value(unsafe { PlainValueList::of(&*vl) });
    0
}

unsafe extern "C" fn bridge_notification(n: *const notification_t, _ud: *mut user_data_t) -> c_int {
    // SAFETY: the dispatch path passes a valid notification.
    let plain = unsafe { plain_of(n) };
    send(&Frame::Notification(plain));
    0
}

unsafe extern "C" fn bridge_log(level: c_int, message: *const c_char, _ud: *mut user_data_t) {
    if message.is_null() {
        return;
    }
    // SAFETY: a NUL-terminated message from the log path.
    let message = unsafe { c_bytes(message) }.to_vec();
    send(&Frame::Log { level, message });
}

/// Registers the callbacks that send everything to the daemon, under
/// `name`.
fn register_bridge(name: &str) {
    let Ok(c) = CString::new(name) else { return };
    let none = user_data_t::default();
    let _g = ctx::enter(ctx::make(name, crate::abi::globals::interval(), 0, 0));
    // SAFETY: valid name, callbacks of the right types, empty user data.
    unsafe {
        register_in(
            &runtime().registry.write,
            c.as_ptr(),
            Some(bridge_write),
            &none,
        );
        register_in(
            &runtime().registry.notification,
            c.as_ptr(),
            Some(bridge_notification),
            &none,
        );
        register_in(
            crate::plugins::log::callbacks(),
            c.as_ptr(),
            Some(bridge_log),
            &none,
        );
    }
}

/// Writes a value list the daemon sent with the plugin's own write
/// callbacks (all but the bridge).
fn write_locally(l: &PlainValueList) {
    let Ok(ty) = std::str::from_utf8(&l.fields[3]) else {
        return;
    };
    let Some(ds) = runtime().registry.data_set(ty) else {
        return;
    };
    let writers = runtime().registry.write.snapshot();
    l.with_vl(|vl| {
        for w in writers.iter().filter(|w| w.name != BRIDGE) {
            let _g = ctx::enter(w.ctx.0);
            crate::runtime::runtime()
                .dispatch
                .write_to(Some(&w.name), ds.raw(), vl);
        }
    });
}

/// Passes a notification the daemon sent to the plugin's own notification
/// callbacks (all but the bridge).
fn notify_locally(n: &PlainNotification) {
    // SAFETY: `with_notification` hands out a valid notification.
    with_notification(n, |c| unsafe {
        crate::runtime::runtime()
            .dispatch
            .notify(c, |name| name != BRIDGE)
    });
}

/// Hands a missing value list the daemon reported to the plugin's missing
/// callbacks.
fn missing_locally(l: &PlainValueList) {
    // SAFETY: `with_vl` hands out a valid value list.
    l.with_vl(|vl| unsafe { crate::runtime::runtime().dispatch.call_missing(vl) });
}
