//! Differential testing: run Debian's own collectd plugins under collectd
//! 5.12 and under rcollectd with the same config and the same inputs, then
//! compare normalized outputs ("swap the binary, keep everything else").
//!
//! Each side gets a fresh daemon temp dir (`{dir}`) and a separate output
//! dir (`{out}`, world-readable, kept after the daemon stops so files that
//! are written at shutdown can be compared too). Every config starts with
//! [`PREAMBLE`]: fixed hostname, Debian's plugin dir and types.db, one write
//! thread, and `logfile` writing `{out}/daemon.log` without timestamps.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{
    collectd_bin, files_below, free_udp_port, rcollectd_bin, wait_for, workspace_root, Daemon,
};

/// Global options and the log both daemons share; prepended to every config
/// (`{interval}` is the global interval, see [`run_both_at`]).
pub const PREAMBLE: &str = r#"Hostname "difftest"
FQDNLookup false
Interval {interval}
BaseDir "{dir}"
PIDFile "{dir}/pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
WriteThreads 1
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{out}/daemon.log"
  Timestamp false
  PrintSeverity true
</Plugin>
"#;

/// How long any single wait in a differential test may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// Which daemon a run used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The real collectd 5.12 (`/usr/sbin/collectd`).
    Collectd,
    /// The rcollectd release binary.
    Rcollectd,
}

impl Side {
    /// The binary to run for this side.
    pub fn bin(self) -> PathBuf {
        match self {
            Side::Collectd => collectd_bin(),
            Side::Rcollectd => rcollectd_bin(),
        }
    }
}

/// A running daemon plus its output dir, handed to the input driver.
pub struct Run {
    /// Which daemon this is.
    pub side: Side,
    /// The daemon (its `{dir}` holds config, socket, pid file).
    pub daemon: Daemon,
    /// The `{out}` dir, which outlives the daemon.
    pub out: tempfile::TempDir,
    /// This side's `{udp_port}`: a free UDP port on 127.0.0.1.
    pub udp_port: u16,
    /// This side's `{tcp_port}`: a free TCP port on 127.0.0.1.
    pub tcp_port: u16,
}

impl Run {
    /// The `{out}` dir's path.
    pub fn out(&self) -> &Path {
        self.out.path()
    }

    /// The daemon's `{dir}`/sock, where configs put the unixsock socket.
    pub fn sock(&self) -> PathBuf {
        self.daemon.dir().join("sock")
    }

    /// What logfile.so wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.out().join("daemon.log")).unwrap_or_default()
    }

    /// [`Run::log`] after [`normalize_log`], as [`Finished::log`] will be.
    pub fn normalized_log(&self) -> String {
        normalize_log(&self.log(), &self.substitutions())
    }

    /// What [`normalize_log`] replaces for this side.
    fn substitutions(&self) -> Vec<(String, &'static str)> {
        vec![
            (self.out().display().to_string(), "{out}"),
            (self.daemon.dir().display().to_string(), "{dir}"),
            (format!(":{}", self.udp_port), ":{udp_port}"),
            (format!(":{}", self.tcp_port), ":{tcp_port}"),
        ]
    }
}

/// What one side left behind once its daemon stopped.
pub struct Finished<T> {
    /// Which daemon this was.
    pub side: Side,
    /// What the input driver returned.
    pub value: T,
    /// logfile.so's output, normalized with [`normalize_log`].
    pub log: String,
    /// The daemon's stdout/stderr (raw, for failure messages).
    pub stdio: String,
    /// Whether the daemon was still running when the driver returned.
    pub alive_at_end: bool,
    /// How the daemon exited after SIGTERM (`None`: had to be killed).
    pub status: Option<ExitStatus>,
    /// The `{out}` dir, still on disk.
    pub out: tempfile::TempDir,
}

impl<T> Finished<T> {
    /// The `{out}` dir's path.
    pub fn out(&self) -> &Path {
        self.out.path()
    }
}

/// Both sides' results of one differential run.
pub struct Both<T> {
    /// collectd 5.12's result.
    pub collectd: Finished<T>,
    /// rcollectd's result.
    pub rcollectd: Finished<T>,
}

impl<T> Both<T> {
    /// Asserts both daemons survived the inputs and exited cleanly on SIGTERM.
    pub fn assert_clean_exit(&self) {
        for f in [&self.collectd, &self.rcollectd] {
            assert!(
                f.alive_at_end && f.status.is_some_and(|s| s.success()),
                "{:?} died or failed to stop (alive_at_end={}, status={:?})\nlog:\n{}\nstdio:\n{}",
                f.side,
                f.alive_at_end,
                f.status,
                f.log,
                f.stdio
            );
        }
    }

    /// Asserts the normalized logs are equal after keeping only the lines
    /// `keep` accepts (and that collectd logged at least one of them).
    pub fn assert_same_log_lines(&self, what: &str, keep: impl Fn(&str) -> bool) {
        let pick = |log: &str| -> Vec<String> {
            log.lines().filter(|l| keep(l)).map(str::to_owned).collect()
        };
        assert_same(what, &pick(&self.collectd.log), &pick(&self.rcollectd.log));
    }
}

/// Writes `body` after [`PREAMBLE`], starts collectd and rcollectd on it at
/// the same time, waits until each is ready (its unixsock socket answers if
/// the config has one, else its log says it entered the read loop), runs
/// `drive` on each concurrently, stops both and returns what each left.
///
/// Placeholders: `{out}` (see module doc), `{fixtures}` (a world-readable
/// copy of `tests/fixtures/differential` inside `{out}`), `{udp_port}` and
/// `{tcp_port}` (free loopback ports, different for each side), and those
/// of [`crate::expand`].
pub fn run_both<T, F>(body: &str, drive: F) -> Both<T>
where
    T: Send,
    F: Fn(&mut Run) -> T + Sync,
{
    run_both_at(1, body, drive)
}

/// [`run_both`] with another global `Interval` (seconds): the value cache
/// forgets a value 2 intervals after it arrived, so tests that read the
/// cache back (GETVAL, LISTVAL) use a longer one.
pub fn run_both_at<T, F>(interval: u32, body: &str, drive: F) -> Both<T>
where
    T: Send,
    F: Fn(&mut Run) -> T + Sync,
{
    run_pair(interval, body, false, drive)
}

/// [`run_both_at`], but rcollectd's config has no `PluginDir`: every
/// plugin it loads is rcollectd's own (from target/plugins), compared with
/// Debian's under collectd 5.12.
pub fn run_native_at<T, F>(interval: u32, body: &str, drive: F) -> Both<T>
where
    T: Send,
    F: Fn(&mut Run) -> T + Sync,
{
    run_pair(interval, body, true, drive)
}

fn run_pair<T, F>(interval: u32, body: &str, native: bool, drive: F) -> Both<T>
where
    T: Send,
    F: Fn(&mut Run) -> T + Sync,
{
    let config = format!("{PREAMBLE}{body}").replace("{interval}", &interval.to_string());
    let ours = if native {
        crate::plugin_dir();
        config.replace("PluginDir \"/usr/lib/collectd\"\n", "")
    } else {
        config.clone()
    };
    let (collectd, rcollectd) = std::thread::scope(|s| {
        let c = s.spawn(|| run_one(Side::Collectd, &config, &drive));
        let r = s.spawn(|| run_one(Side::Rcollectd, &ours, &drive));
        (
            c.join().expect("collectd driver panicked"),
            r.join().expect("rcollectd driver panicked"),
        )
    });
    Both {
        collectd,
        rcollectd,
    }
}

fn run_one<T>(side: Side, config: &str, drive: &dyn Fn(&mut Run) -> T) -> Finished<T> {
    let out = tempfile::Builder::new()
        .prefix("rcd-diff-out-")
        .tempdir()
        .expect("create output dir");
    std::fs::set_permissions(out.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod output dir");
    let fixtures = out.path().join("fixtures");
    copy_tree(&fixtures_dir(), &fixtures);
    let (udp_port, tcp_port) = (free_udp_port(), free_tcp_port());
    let config = config
        .replace("{out}", &out.path().display().to_string())
        .replace("{fixtures}", &fixtures.display().to_string())
        .replace("{udp_port}", &udp_port.to_string())
        .replace("{tcp_port}", &tcp_port.to_string());
    let daemon = Daemon::start(&side.bin(), &config, &[]);
    let mut run = Run {
        side,
        daemon,
        out,
        udp_port,
        tcp_port,
    };
    wait_ready(&mut run, config.contains("LoadPlugin unixsock"));
    let value = drive(&mut run);
    let alive_at_end = run.daemon.is_running();
    let subst = run.substitutions();
    let Run { daemon, out, .. } = run;
    let stopped = daemon.stop();
    let raw_log = std::fs::read_to_string(out.path().join("daemon.log")).unwrap_or_default();
    Finished {
        side,
        value,
        log: normalize_log(&raw_log, &subst),
        stdio: stopped.log,
        alive_at_end,
        status: stopped.status,
        out,
    }
}

fn wait_ready(run: &mut Run, unixsock: bool) {
    let ready = wait_for(WAIT, || {
        if unixsock {
            UnixStream::connect(run.sock()).is_ok()
        } else {
            let log = run.log();
            log.contains("Initialization complete") || log.contains(" running\n")
        }
    });
    assert!(
        ready,
        "{:?} did not become ready\nlog:\n{}\nstdio:\n{}",
        run.side,
        run.log(),
        run.daemon.log()
    );
}

/// Why Debian's `plugins` cannot run on this machine (a `.so` or a library
/// it links is missing), or `None` when they all can. Tests print the reason
/// and return: scripts/install-deps.sh installs what they need.
pub fn cannot_run(plugins: &[&str]) -> Option<String> {
    for plugin in plugins {
        let so = Path::new("/usr/lib/collectd").join(format!("{plugin}.so"));
        if !so.is_file() {
            return Some(format!("{} is missing", so.display()));
        }
        let Ok(out) = Command::new("ldd").arg(&so).output() else {
            continue;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(line) = text.lines().find(|l| l.contains("not found")) {
            return Some(format!("{}: {}", so.display(), line.trim()));
        }
    }
    None
}

/// Prints why a test is skipped and returns true if `plugins` cannot run.
pub fn skip_unless_runnable(plugins: &[&str]) -> bool {
    match cannot_run(plugins) {
        Some(why) => {
            eprintln!("skipped: {why} (see scripts/install-deps.sh)");
            true
        }
        None => false,
    }
}

/// `tests/fixtures/differential` in the source tree.
pub fn fixtures_dir() -> PathBuf {
    workspace_root().join("tests/fixtures/differential")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create fixtures copy");
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    let entries =
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("read fixtures {}: {e}", from.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", path.display()));
            let mode = if is_executable(&path) { 0o755 } else { 0o644 };
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode))
                .expect("chmod fixture");
        }
    }
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// Log lines that only say which daemon runs or that it starts/stops.
const LIFECYCLE: &[&str] = &[
    "Initialization complete, entering read-loop.",
    "Exiting normally.",
    "collectd: Stopping ",
    "collectd: Shutting down",
    "Caught SIG",
    "rcollectd ",
    "shutting down",
    "Shutting down",
    "No such group: `collectd'",
];

/// Drops lifecycle lines (startup banner, version, shutdown) and replaces
/// each `(text, name)` in `subst` (temp dir paths, `:port`s) by `name`;
/// what is left is what plugins logged, which must be the same under both
/// daemons.
pub fn normalize_log(text: &str, subst: &[(String, &str)]) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if LIFECYCLE.iter().any(|p| line.contains(p)) {
            continue;
        }
        let mut line = line.to_owned();
        for (from, to) in subst {
            line = line.replace(from.as_str(), to);
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Reads every CSV file csv.so wrote below `root` into identifier (path
/// without the `-YYYY-MM-DD` suffix) -> lines, header first.
pub fn read_csv(root: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for rel in files_below(root) {
        let name = rel.display().to_string();
        let ident = match name.len().checked_sub(11) {
            Some(cut) if name.as_bytes()[cut] == b'-' => name[..cut].to_owned(),
            _ => name.clone(),
        };
        let text = std::fs::read_to_string(root.join(&rel))
            .unwrap_or_else(|e| panic!("read {}: {e}", rel.display()));
        out.insert(ident, text.lines().map(str::to_owned).collect());
    }
    out
}

/// Sorts each file's data rows (the header stays first): with several
/// identifiers in flight, rows of one file are only ordered by time.
pub fn sort_rows(mut csv: BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    for rows in csv.values_mut() {
        if rows.len() > 1 {
            rows[1..].sort();
        }
    }
    csv
}

/// Replaces the epoch (first field) of each data row by `T`, for rows whose
/// time comes from the daemon's clock rather than from the input.
pub fn strip_csv_time(mut csv: BTreeMap<String, Vec<String>>) -> BTreeMap<String, Vec<String>> {
    for rows in csv.values_mut() {
        for row in rows.iter_mut().skip(1) {
            if let Some((_, rest)) = row.split_once(',') {
                *row = format!("T,{rest}");
            }
        }
    }
    csv
}

/// Things that can be empty, so [`assert_same`] refuses to compare nothing.
pub trait Emptiness {
    /// Whether there is nothing to compare.
    fn is_nothing(&self) -> bool;
}

impl<T> Emptiness for Vec<T> {
    fn is_nothing(&self) -> bool {
        self.is_empty()
    }
}

impl<T> Emptiness for [T] {
    fn is_nothing(&self) -> bool {
        self.is_empty()
    }
}

impl<T> Emptiness for std::collections::BTreeSet<T> {
    fn is_nothing(&self) -> bool {
        self.is_empty()
    }
}

impl<K, V> Emptiness for BTreeMap<K, V> {
    fn is_nothing(&self) -> bool {
        self.is_empty()
    }
}

impl Emptiness for String {
    fn is_nothing(&self) -> bool {
        self.trim().is_empty()
    }
}

impl Emptiness for str {
    fn is_nothing(&self) -> bool {
        self.trim().is_empty()
    }
}

/// Asserts `collectd == rcollectd` and that collectd's side is not empty,
/// printing both sides in full on failure.
pub fn assert_same<T: PartialEq + Debug + Emptiness + ?Sized>(
    what: &str,
    collectd: &T,
    rcollectd: &T,
) {
    assert!(
        !collectd.is_nothing(),
        "{what}: collectd produced nothing to compare (rcollectd: {rcollectd:#?})"
    );
    assert!(
        collectd == rcollectd,
        "{what} differ\n--- collectd 5.12:\n{collectd:#?}\n--- rcollectd:\n{rcollectd:#?}\n{}",
        first_difference(&format!("{collectd:?}"), &format!("{rcollectd:?}"))
    );
}

/// Where two renderings first differ, with some context from each.
pub fn first_difference(collectd: &str, rcollectd: &str) -> String {
    let at = collectd
        .char_indices()
        .zip(rcollectd.chars())
        .find(|((_, a), b)| a != b)
        .map(|((i, _), _)| i)
        .unwrap_or(collectd.len().min(rcollectd.len()));
    let context = |s: &str| -> String {
        let start = s.floor_char_boundary(at.saturating_sub(60));
        s[start..].chars().take(160).collect()
    };
    format!(
        "--- first difference at byte {at}:\ncollectd:  …{}\nrcollectd: …{}",
        context(collectd),
        context(rcollectd)
    )
}

/// Sends one unixsock command on a new connection and returns the reply:
/// the status line plus as many lines as a positive status announces, or
/// `<no reply>` if nothing arrives within `timeout`.
pub fn unixsock_ask(sock: &Path, line: &str, timeout: Duration) -> String {
    let stream =
        UnixStream::connect(sock).unwrap_or_else(|e| panic!("connect {}: {e}", sock.display()));
    stream
        .set_read_timeout(Some(timeout))
        .expect("set read timeout");
    let mut writer = stream.try_clone().expect("clone unix stream");
    writer
        .write_all(format!("{line}\n").as_bytes())
        .expect("write unixsock command");
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    match reader.read_line(&mut first) {
        Ok(0) => return "<closed>".to_owned(),
        Ok(_) => {}
        Err(_) => return "<no reply>".to_owned(),
    }
    let mut reply = first.clone();
    let count: i64 = first
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    for _ in 0..count.max(0) {
        let mut next = String::new();
        if reader.read_line(&mut next).unwrap_or(0) == 0 {
            reply.push_str("<truncated>");
            break;
        }
        reply.push_str(&next);
    }
    reply
}

/// Sends all `lines` at once on one unixsock connection, then reads one
/// status line per command (for commands that reply with a single line).
pub fn unixsock_burst(sock: &Path, lines: &[&str]) -> Vec<String> {
    let stream =
        UnixStream::connect(sock).unwrap_or_else(|e| panic!("connect {}: {e}", sock.display()));
    stream
        .set_read_timeout(Some(WAIT))
        .expect("set read timeout");
    let mut writer = stream.try_clone().expect("clone unix stream");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    writer
        .write_all(text.as_bytes())
        .expect("write unixsock burst");
    let mut reader = BufReader::new(stream);
    lines
        .iter()
        .map(|_| {
            let mut reply = String::new();
            match reader.read_line(&mut reply) {
                Ok(n) if n > 0 => reply,
                _ => "<no reply>".to_owned(),
            }
        })
        .collect()
}

/// Runs `collectdctl -s <sock> args...` and returns `exit code|stdout|stderr`.
pub fn collectdctl(sock: &Path, args: &[&str]) -> String {
    let out = Command::new("collectdctl")
        .arg("-s")
        .arg(sock)
        .args(args)
        .output()
        .expect("run collectdctl");
    format!(
        "exit={:?}|{}|{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A loopback TCP server that records what clients send: every line
/// ([`CaptureMode::Lines`]) or every HTTP request ([`CaptureMode::Http`]).
pub struct Capture {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    received: Arc<Mutex<Vec<String>>>,
}

/// What a [`Capture`] records per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureMode {
    /// Every line a client sends.
    Lines,
    /// Every HTTP request as `METHOD PATH\n` + body (Content-Length
    /// framing), each answered `200 OK`.
    Http,
}

impl Capture {
    /// Binds 127.0.0.1:`port` (0: an ephemeral one) and serves it on a
    /// thread until the process ends (the accept loop idles when nobody
    /// connects).
    pub fn start(port: u16, mode: CaptureMode) -> Capture {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind capture listener");
        let port = listener.local_addr().expect("capture addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let sink = Arc::clone(&sink);
                std::thread::spawn(move || serve(conn, mode, &sink));
            }
        });
        Capture { port, received }
    }

    /// Everything recorded so far.
    pub fn received(&self) -> Vec<String> {
        self.received.lock().expect("capture lock").clone()
    }
}

fn serve(conn: TcpStream, mode: CaptureMode, sink: &Mutex<Vec<String>>) {
    let _ = conn.set_read_timeout(Some(WAIT));
    let mut writer = conn.try_clone().expect("clone tcp stream");
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        match mode {
            CaptureMode::Lines => sink
                .lock()
                .expect("capture lock")
                .push(line.trim_end_matches('\n').to_owned()),
            CaptureMode::Http => {
                // Request line read; now headers up to the blank line.
                let request: Vec<&str> = line.split_whitespace().take(2).collect();
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 {
                        return;
                    }
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = header.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        if k.eq_ignore_ascii_case("expect") && v.trim() == "100-continue" {
                            let _ = writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
                        }
                    }
                }
                let mut body = vec![0u8; length];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                sink.lock().expect("capture lock").push(format!(
                    "{}\n{}",
                    request.join(" "),
                    String::from_utf8_lossy(&body)
                ));
                let reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                if writer.write_all(reply.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}

/// A minimal HTTP/1.0 GET against 127.0.0.1:`port`; returns the body.
pub fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(WAIT))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    Ok(match text.split_once("\r\n\r\n") {
        Some((_, body)) => body.to_owned(),
        None => text,
    })
}

/// A GET against 127.0.0.1:`port` with extra header lines; returns the
/// status line, the headers and the body bytes.
pub fn http_get_raw(
    port: u16,
    path: &str,
    headers: &[&str],
) -> std::io::Result<(String, Vec<String>, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(WAIT))?;
    let mut request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    for h in headers {
        request += h;
        request += "\r\n";
    }
    request += "\r\n";
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n").map(str::to_owned);
    let status = lines.next().unwrap_or_default();
    Ok((status, lines.collect(), raw[split + 4..].to_vec()))
}

/// An ephemeral TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_tcp_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral TCP port");
    l.local_addr().expect("local addr").port()
}
