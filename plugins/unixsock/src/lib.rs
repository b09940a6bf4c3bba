//! unixsock plugin: collectd 5.12's command socket, memory-safe.
//!
//! ```text
//! LoadPlugin unixsock
//! <Plugin unixsock>
//!   SocketFile "/var/run/collectd-unixsock"   # the default
//!   SocketGroup "collectd"                    # the default; chgrp of the socket
//!   SocketPerms "0770"                        # the default; octal
//!   DeleteSocket false                        # the default; true: remove a stale socket first
//! </Plugin>
//! ```
//!
//! Commands and replies are collectd's, byte for byte (see [`core`]):
//! `GETVAL`, `LISTVAL`, `PUTVAL`, `PUTNOTIF`, `FLUSH`, `GETTHRESHOLD`.
//! Unlike collectd's own unixsock.so, no input crashes the daemon, and the
//! socket is bounded: at most [`MAX_CONNECTIONS`] connections at once (one
//! more gets `-1 Too many connections` and is closed), a connection idle for
//! [`IDLE_TIMEOUT`] is closed, and a reply that cannot be written within
//! [`WRITE_TIMEOUT`] (a client that never reads) closes its connection.
//! Each connection has its own thread, so a slow client delays only itself.

pub mod core;

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::io::{self, BufRead, BufReader, Write as _};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rcollectd_plugin::log::{error, info, warn};
use rcollectd_plugin::{export_plugin, CdTime, Config, Plugin, Result};
use rcollectd_plugin_common::cmds::{self, c_string, value_list_for};
use rcollectd_plugin_common::{is_true, legacy_value};

use crate::core::{Env, Flow, Identifier, Level, PutNotif, PutValue, Source, Threshold};

/// collectd's default socket (`LOCALSTATEDIR "/run/" PACKAGE_NAME "-unixsock"`).
pub const DEFAULT_SOCKET_FILE: &str = "/var/run/collectd-unixsock";
/// collectd's default group of the socket (`COLLECTD_GRP_NAME`).
pub const DEFAULT_SOCKET_GROUP: &str = "collectd";
/// collectd's default permissions of the socket (`S_IRWXU | S_IRWXG`).
pub const DEFAULT_SOCKET_PERMS: u32 = 0o770;
/// Connections served at once; one more is answered with an error and closed.
pub const MAX_CONNECTIONS: usize = 32;
/// A connection that sends nothing for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// A reply not written within this time (the client does not read) closes
/// the connection.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for connection threads to end.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// The `<Plugin unixsock>` options, with collectd's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `SocketFile`.
    pub socket_file: String,
    /// `SocketGroup`.
    pub socket_group: String,
    /// `SocketPerms`, parsed as collectd does (`strtol(value, NULL, 8)`).
    pub socket_perms: u32,
    /// `DeleteSocket`.
    pub delete_socket: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            socket_file: DEFAULT_SOCKET_FILE.to_owned(),
            socket_group: DEFAULT_SOCKET_GROUP.to_owned(),
            socket_perms: DEFAULT_SOCKET_PERMS,
            delete_socket: false,
        }
    }
}

/// `strtol(s, NULL, 8)`, saturated to the permission bits' type.
fn parse_octal(s: &str) -> u32 {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for b in t.bytes().take_while(|b| (b'0'..=b'7').contains(b)) {
        v = v.saturating_mul(8).saturating_add(i64::from(b - b'0'));
    }
    let v = if neg { v.wrapping_neg() } else { v };
    v as i32 as u32
}

impl Settings {
    /// Reads the options (keys case-insensitive, the last one wins); an
    /// unknown option is logged and ignored.
    pub fn from_config(config: &Config) -> Settings {
        let mut s = Settings::default();
        for item in &config.items {
            let value = legacy_value(item);
            let key = item.key.to_ascii_lowercase();
            match key.as_str() {
                "socketfile" => s.socket_file = value,
                "socketgroup" => s.socket_group = value,
                "socketperms" => s.socket_perms = parse_octal(&value),
                "deletesocket" => s.delete_socket = is_true(&value),
                _ => error!("unknown option `{}' ignored", item.key),
            }
        }
        s
    }
}

/// The C library's text for an error (`STRERRNO`).
fn strerror(e: &io::Error) -> String {
    let Some(code) = e.raw_os_error() else {
        return e.to_string();
    };
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: the buffer is writable for its length; XSI strerror_r always
    // NUL-terminates what it writes.
    if unsafe { libc::strerror_r(code, buf.as_mut_ptr(), buf.len()) } != 0 {
        return e.to_string();
    }
    // SAFETY: NUL-terminated by strerror_r.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The plugin: the listening socket and its connections.
pub struct Unixsock {
    server: Mutex<Option<Server>>,
}

/// A listening socket being served.
struct Server {
    /// Written to at shutdown to wake the listener thread.
    wake: OwnedFd,
    listener: JoinHandle<()>,
    shared: Arc<Shared>,
}

/// State the listener and connection threads share.
#[derive(Default)]
struct Shared {
    /// Open connections (clones, to shut them down at plugin shutdown).
    conns: Mutex<HashMap<u64, UnixStream>>,
    /// Signalled whenever a connection ends.
    ended: Condvar,
    next_id: AtomicU64,
    stopping: AtomicBool,
    /// Whether "too many connections" was logged since the count last fell
    /// below the limit.
    full_logged: AtomicBool,
}

impl Plugin for Unixsock {
    const NAME: &'static str = "unixsock";

    fn new(config: &Config) -> Result<Self> {
        let settings = Settings::from_config(config);
        let server = open_socket(&settings).and_then(|l| start(l, settings.socket_file.clone()));
        Ok(Unixsock {
            server: Mutex::new(server),
        })
    }

    fn shutdown(&self) -> Result {
        let server = self.server.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(server) = server {
            server.stop();
        }
        Ok(())
    }
}

export_plugin!(Unixsock);

/// Binds the socket as collectd's `us_open_socket` does, with its log
/// messages; `None` when that fails (the daemon runs on without it).
fn open_socket(s: &Settings) -> Option<UnixListener> {
    let path = &s.socket_file;
    // At a reload the previous process hands its socket over, file and
    // all, so clients connecting meanwhile wait in its backlog.
    let key = format!("unixsock:{path}");
    if let Some(fd) = rcollectd_plugin::reload::take_fd(&key) {
        info!("taking over the socket \"{path}\" from before the reload");
        let listener = UnixListener::from(fd);
        rcollectd_plugin::reload::keep_fd(&key, &listener);
        return Some(listener);
    }
    if s.delete_socket {
        match std::fs::remove_file(path) {
            Ok(()) => info!("Successfully deleted socket file \"{path}\"."),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => warn!("Deleting socket file \"{path}\" failed: {}", strerror(&e)),
        }
    }
    let listener = match UnixListener::bind(path) {
        Ok(l) => l,
        Err(e) => {
            error!("bind failed: {}", strerror(&e));
            return None;
        }
    };
    if let Err(e) = std::fs::set_permissions(
        path,
        std::fs::Permissions::from_mode(s.socket_perms & 0o7777),
    ) {
        error!("chmod failed: {}", strerror(&e));
        return None;
    }
    set_group(path, &s.socket_group);
    rcollectd_plugin::reload::keep_fd(&key, &listener);
    Some(listener)
}

/// `chgrp` of the socket to `group`, logged as collectd logs it.
fn set_group(path: &str, group: &str) {
    let Ok(name) = CString::new(group) else {
        warn!("No such group: `{group}'");
        return;
    };
    let mut grp: libc::group = libc::group {
        gr_name: std::ptr::null_mut(),
        gr_passwd: std::ptr::null_mut(),
        gr_gid: 0,
        gr_mem: std::ptr::null_mut(),
    };
    let mut found: *mut libc::group = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; 16384];
    // SAFETY: every pointer refers to a live local of the stated size;
    // getgrnam_r writes only into `grp`, `buf` and `found`.
    let status = unsafe {
        libc::getgrnam_r(
            name.as_ptr(),
            &mut grp,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if status != 0 {
        let e = io::Error::from_raw_os_error(status);
        warn!("getgrnam_r ({group}) failed: {}", strerror(&e));
        return;
    }
    if found.is_null() {
        warn!("No such group: `{group}'");
        return;
    }
    let gid = grp.gr_gid;
    if let Err(e) = std::os::unix::fs::chown(path, None, Some(gid)) {
        warn!("chown ({path}, -1, {gid}) failed: {}", strerror(&e));
    }
}

/// Starts the listener thread.
fn start(listener: UnixListener, path: String) -> Option<Server> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 returns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        error!("pipe failed: {}", strerror(&io::Error::last_os_error()));
        let _ = std::fs::remove_file(&path);
        return None;
    }
    // SAFETY: both descriptors were just created and are owned here only.
    let (wake_r, wake_w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let shared = Arc::new(Shared::default());
    let thread_shared = Arc::clone(&shared);
    let spawned = std::thread::Builder::new()
        .name("unixsock listen".into())
        .spawn(move || {
            rcollectd_plugin::set_thread_plugin(Some("unixsock"));
            listen(listener, wake_r, &path, &thread_shared)
        });
    match spawned {
        Ok(listener) => Some(Server {
            wake: wake_w,
            listener,
            shared,
        }),
        Err(e) => {
            error!("pthread_create failed: {}", strerror(&e));
            None
        }
    }
}

impl Server {
    /// Stops accepting, removes the socket, ends the connections (waiting
    /// up to [`SHUTDOWN_WAIT`] for their threads).
    fn stop(self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // SAFETY: writes one byte from a valid buffer to our own pipe.
        unsafe { libc::write(self.wake.as_raw_fd(), b"x".as_ptr().cast(), 1) };
        let _ = self.listener.join();
        let deadline = Instant::now() + SHUTDOWN_WAIT;
        let mut conns = self.shared.conns.lock().unwrap_or_else(|e| e.into_inner());
        // Only the read side: a command already received (a client that
        // connected just before the stop) is still answered; a connection
        // waiting for its next command reads EOF and ends.
        for stream in conns.values() {
            let _ = stream.shutdown(std::net::Shutdown::Read);
        }
        while !conns.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            conns = match self.shared.ended.wait_timeout(conns, left) {
                Ok((c, _)) => c,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

/// The listener thread: accepts until shutdown, then removes the socket.
fn listen(listener: UnixListener, wake: OwnedFd, path: &str, shared: &Arc<Shared>) {
    if let Err(e) = listener.set_nonblocking(true) {
        error!("fcntl failed: {}", strerror(&e));
    }
    while !shared.stopping.load(Ordering::SeqCst) {
        let mut fds = [
            libc::pollfd {
                fd: listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is a valid array of two pollfd entries.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                error!("poll failed: {}", strerror(&e));
                std::thread::sleep(Duration::from_millis(100));
            }
            continue;
        }
        if fds[1].revents != 0 {
            break;
        }
        match listener.accept() {
            Ok((stream, _)) => serve(stream, shared),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::ConnectionAborted
                ) => {}
            Err(e) => {
                // collectd's listener gives up here; this one waits and
                // accepts again (e.g. after running out of descriptors).
                error!("accept failed: {}", strerror(&e));
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    drop(listener);
    if rcollectd_plugin::reload::pending() {
        // The next process takes the socket over: its file stays.
        return;
    }
    if let Err(e) = std::fs::remove_file(path) {
        rcollectd_plugin::plugin_log(
            rcollectd_plugin::LogLevel::Notice,
            &format!("unixsock plugin: unlink ({path}) failed: {}", strerror(&e)),
        );
    }
}

/// Hands a new connection to a thread of its own, or refuses it when
/// [`MAX_CONNECTIONS`] are open.
fn serve(stream: UnixStream, shared: &Arc<Shared>) {
    let _ = stream.set_nonblocking(false);
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    {
        let mut conns = shared.conns.lock().unwrap_or_else(|e| e.into_inner());
        if conns.len() >= MAX_CONNECTIONS {
            drop(conns);
            if !shared.full_logged.swap(true, Ordering::Relaxed) {
                warn!("{MAX_CONNECTIONS} connections are open; refusing more until one closes");
            }
            let _ = stream.set_nonblocking(true);
            let _ = (&stream).write_all(
                format!("-1 Too many connections ({MAX_CONNECTIONS} open), try again later.\n")
                    .as_bytes(),
            );
            return;
        }
        if conns.len() + 1 < MAX_CONNECTIONS {
            shared.full_logged.store(false, Ordering::Relaxed);
        }
        match stream.try_clone() {
            Ok(clone) => {
                conns.insert(id, clone);
            }
            Err(e) => {
                warn!("dup failed: {}", strerror(&e));
                return;
            }
        }
    }
    let thread_shared = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name("unixsock conn".into())
        .spawn(move || {
            rcollectd_plugin::set_thread_plugin(Some("unixsock"));
            let _guard = ConnGuard {
                id,
                shared: &thread_shared,
            };
            handle_client(&stream, &thread_shared);
        });
    if let Err(e) = spawned {
        warn!("pthread_create failed: {}", strerror(&e));
        let mut conns = shared.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.remove(&id);
    }
}

/// Removes a connection from the table when its thread ends (even by a panic).
struct ConnGuard<'a> {
    id: u64,
    shared: &'a Shared,
}

impl Drop for ConnGuard<'_> {
    fn drop(&mut self) {
        let mut conns = self.shared.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.remove(&self.id);
        self.shared.ended.notify_all();
    }
}

/// Reads one line as `fgets` into collectd's 1024-byte buffer does: up to
/// and including `\n`, at most [`core::LINE_MAX`] bytes. `Ok(false)` at the
/// end of the stream.
pub fn read_line(r: &mut impl BufRead, out: &mut Vec<u8>) -> io::Result<bool> {
    while out.len() < core::LINE_MAX {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(!out.is_empty());
        }
        let take = &buf[..buf.len().min(core::LINE_MAX - out.len())];
        if let Some(i) = take.iter().position(|&b| b == b'\n') {
            out.extend_from_slice(&take[..=i]);
            r.consume(i + 1);
            return Ok(true);
        }
        let n = take.len();
        out.extend_from_slice(take);
        r.consume(n);
    }
    Ok(true)
}

/// One connection: a line in, its reply out, until the client leaves,
/// idles too long or stops reading.
fn handle_client(stream: &UnixStream, shared: &Shared) {
    let fd = stream.as_raw_fd();
    if let Err(e) = stream
        .set_read_timeout(Some(IDLE_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(WRITE_TIMEOUT)))
    {
        warn!("setsockopt failed: {}", strerror(&e));
        return;
    }
    let mut reader = BufReader::with_capacity(4096, stream);
    let mut env = HostEnv;
    let mut raw = Vec::with_capacity(core::LINE_MAX);
    let mut out = Vec::new();
    loop {
        raw.clear();
        match read_line(&mut reader, &mut raw) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                info!(
                    "closing connection #{fd}: idle for {} s",
                    IDLE_TIMEOUT.as_secs()
                );
                break;
            }
            Err(e) => {
                if !shared.stopping.load(Ordering::SeqCst) {
                    warn!("failed to read from socket #{fd}: {}", strerror(&e));
                }
                break;
            }
        }
        out.clear();
        let flow = core::handle_line(core::line_text(&raw), &mut env, &mut out);
        if !out.is_empty() {
            if let Err(e) = (&*stream).write_all(&out) {
                warn!("failed to write to socket #{fd}: {}", strerror(&e));
                break;
            }
        }
        if flow == Flow::Close {
            break;
        }
    }
}

/// The bytes of a NUL-terminated C string field.
fn field_bytes(src: &[libc::c_char]) -> Vec<u8> {
    src.iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect()
}

/// [`Env`] backed by the host daemon.
struct HostEnv;

impl Env for HostEnv {
    fn data_set(&mut self, type_: &[u8]) -> Option<Vec<Source>> {
        cmds::host::data_set(type_)
    }

    fn now(&mut self) -> u64 {
        cmds::host::now()
    }

    fn dispatch_values(&mut self, v: &PutValue) {
        cmds::host::dispatch_values(v);
    }

    fn dispatch_notification(&mut self, n: &PutNotif) {
        cmds::host::dispatch_notification(n);
    }

    fn rates(&mut self, identifier: &[u8]) -> Option<Vec<f64>> {
        rcollectd_plugin::cache_rates_by_name(&c_string(identifier))
            .ok()
            .flatten()
    }

    fn names(&mut self) -> std::result::Result<Vec<(Vec<u8>, u64)>, i32> {
        rcollectd_plugin::cache_names().map(|names| {
            names
                .into_iter()
                .map(|(n, t)| (n.into_bytes(), t.0))
                .collect()
        })
    }

    fn flush(&mut self, plugin: Option<&[u8]>, timeout: u64, identifier: Option<&[u8]>) -> bool {
        let plugin = plugin.map(c_string);
        let identifier = identifier.map(c_string);
        rcollectd_plugin::flush(plugin.as_deref(), CdTime(timeout), identifier.as_deref()) == Ok(0)
    }

    fn threshold(&mut self, id: &Identifier) -> std::result::Result<Option<Threshold>, i32> {
        let vl = value_list_for(id);
        Ok(
            rcollectd_plugin::search_threshold(&vl)?.map(|th| Threshold {
                host: field_bytes(&th.host),
                plugin: field_bytes(&th.plugin),
                plugin_instance: field_bytes(&th.plugin_instance),
                type_: field_bytes(&th.type_),
                type_instance: field_bytes(&th.type_instance),
                data_source: field_bytes(&th.data_source),
                warning_min: th.warning_min,
                warning_max: th.warning_max,
                failure_min: th.failure_min,
                failure_max: th.failure_max,
                hysteresis: th.hysteresis,
                hits: th.hits,
            }),
        )
    }

    fn log(&mut self, level: Level, message: String) {
        match level {
            Level::Error => error!("{message}"),
            Level::Info => info!("{message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::{ConfigItem, ConfigValue};

    #[test]
    fn settings_defaults_and_options() {
        assert_eq!(
            Settings::from_config(&Config::new("unixsock")),
            Settings::default()
        );
        let cfg = Config {
            plugin: "unixsock".into(),
            items: vec![
                ConfigItem::new("socketfile", vec![ConfigValue::String("/tmp/s".into())]),
                ConfigItem::new("SocketGroup", vec![ConfigValue::String("adm".into())]),
                ConfigItem::new("SocketPerms", vec![ConfigValue::String("0660".into())]),
                ConfigItem::new("DeleteSocket", vec![ConfigValue::Boolean(true)]),
            ],
        };
        assert_eq!(
            Settings::from_config(&cfg),
            Settings {
                socket_file: "/tmp/s".into(),
                socket_group: "adm".into(),
                socket_perms: 0o660,
                delete_socket: true,
            }
        );
        assert_eq!(parse_octal("660.000000"), 0o660);
        assert_eq!(parse_octal(" 0777x"), 0o777);
        assert_eq!(parse_octal("abc"), 0);
    }

    #[test]
    fn lines_are_read_as_fgets_reads_them() {
        let long = vec![b'a'; 2000];
        let mut input = long.clone();
        input.extend_from_slice(b"\nGETVAL x\nlast");
        let mut r = BufReader::with_capacity(7, &input[..]);
        let mut lines = Vec::new();
        let mut buf = Vec::new();
        while read_line(&mut r, &mut buf).unwrap() {
            lines.push(std::mem::take(&mut buf));
        }
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0].len(), 1023);
        assert_eq!(lines[1].len(), 2000 - 1023 + 1);
        assert_eq!(lines[2], b"GETVAL x\n");
        assert_eq!(lines[3], b"last");
    }

    #[test]
    fn socket_is_bound_served_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sock").display().to_string();
        let settings = Settings {
            socket_file: path.clone(),
            socket_group: "no-such-group-rcollectd".into(),
            socket_perms: 0o600,
            delete_socket: false,
        };
        let listener = open_socket(&settings).expect("bind");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A second bind on the same path fails, as in collectd.
        assert!(open_socket(&settings).is_none());
        let server = start(listener, path.clone()).unwrap();
        let mut clients = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            clients.push(UnixStream::connect(&path).unwrap());
        }
        // Unknown commands need no host.
        let mut c = &clients[0];
        c.write_all(b"HELLO\n").unwrap();
        let mut reply = String::new();
        BufReader::new(c).read_line(&mut reply).unwrap();
        assert_eq!(reply, "-1 Unknown command: HELLO\n");
        let extra = UnixStream::connect(&path).unwrap();
        let mut reply = String::new();
        BufReader::new(&extra).read_line(&mut reply).unwrap();
        assert_eq!(
            reply,
            "-1 Too many connections (32 open), try again later.\n"
        );
        server.stop();
        assert!(!std::path::Path::new(&path).exists());
        // Every connection was closed at shutdown.
        let mut rest = String::new();
        assert_eq!(BufReader::new(&clients[1]).read_line(&mut rest).unwrap(), 0);
    }
}
