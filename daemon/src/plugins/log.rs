//! Logging fan-out: the daemon's own `log` records and every `plugin_log` /
//! `daemon_log` line go to each registered log callback (each filters by its
//! own configured level, as collectd's log plugins do), or to stderr while no
//! log plugin is registered.

use std::cell::Cell;
use std::ffi::{c_int, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex, OnceLock};

use super::registry::{Callback, List, LogFn};

/// collectd's severities (syslog numbers).
pub const LOG_ERR: c_int = 3;
/// Warning severity.
pub const LOG_WARNING: c_int = 4;
/// Notice severity.
pub const LOG_NOTICE: c_int = 5;
/// Info severity.
pub const LOG_INFO: c_int = 6;
/// Debug severity (dropped, as a non-debug collectd build does).
pub const LOG_DEBUG: c_int = 7;

/// collectd truncates every log line to 1023 bytes.
const MAX_MSG: usize = 1023;

thread_local! {
    static IN_LOG: Cell<bool> = const { Cell::new(false) };
}

static STDERR: OnceLock<env_logger::Logger> = OnceLock::new();

fn stderr_logger() -> &'static env_logger::Logger {
    STDERR.get_or_init(|| {
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
            .format(|out, record| {
                use std::io::Write;
                writeln!(out, "[{}] {}", local_timestamp(), record.args())
            })
            .build()
    })
}

/// Local time as collectd's logfile plugin prints it: `2026-12-04 18:51:50`.
fn local_timestamp() -> String {
    crate::time::format_rfc3339(crate::time::now(), false, true)
        .map(|s| s.get(..19).unwrap_or(&s).replacen('T', " ", 1))
        .unwrap_or_default()
}

fn to_log_level(level: c_int) -> log::Level {
    match level {
        i32::MIN..=LOG_ERR => log::Level::Error,
        LOG_WARNING => log::Level::Warn,
        LOG_NOTICE | LOG_INFO => log::Level::Info,
        _ => log::Level::Debug,
    }
}

fn to_severity(level: log::Level) -> c_int {
    match level {
        log::Level::Error => LOG_ERR,
        log::Level::Warn => LOG_WARNING,
        log::Level::Info => LOG_INFO,
        log::Level::Debug | log::Level::Trace => LOG_DEBUG,
    }
}

fn to_stderr(level: c_int, target: &str, msg: &str) {
    let logger = stderr_logger();
    let lvl = to_log_level(level);
    let args = format_args!("{msg}");
    let record = log::Record::builder()
        .args(args)
        .level(lvl)
        .target(target)
        .build();
    if log::Log::enabled(logger, record.metadata()) {
        log::Log::log(logger, &record);
    }
}

/// Sends one line at collectd severity `level` to every log callback, or to
/// stderr when none is registered (or when a log callback itself logs).
pub fn emit(level: c_int, msg: &str) {
    emit_with_target(level, "rcollectd", msg);
}

/// Set once every shutdown callback has returned: from then on only the
/// thread shutting down may log. A plugin thread still running then (exec's
/// pipe readers, say) works on state its own shutdown callback has freed;
/// collectd exits before such a thread gets to log, and so do its lines here.
static AFTER_SHUTDOWN: Mutex<Option<std::thread::ThreadId>> = Mutex::new(None);
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);

/// Called by the thread that ran the shutdown callbacks, after the last one.
pub fn shutdown_callbacks_done() {
    *AFTER_SHUTDOWN.lock().unwrap_or_else(|e| e.into_inner()) = Some(std::thread::current().id());
    SHUT_DOWN.store(true, Ordering::Release);
}

/// Lets every thread log again (plugins are initialized anew).
pub fn plugins_started() {
    SHUT_DOWN.store(false, Ordering::Release);
    *AFTER_SHUTDOWN.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Whether this thread's lines are dropped as after-shutdown noise.
/// Plugins whose shutdown callback has started, and the thread running
/// them: from then on those plugins' own threads (started with
/// `plugin_thread_create`, so they carry the plugin's context) may not log.
/// exec.so frees each program's entry in its shutdown callback while the
/// program's reader thread, woken by the program's death, may still log its
/// name; collectd has that race, and a line it loses is one rcollectd drops.
static SHUTTING_DOWN: Mutex<Option<(std::thread::ThreadId, Vec<String>)>> = Mutex::new(None);
static ANY_SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);

/// Called by the shutdown thread right before `plugin`'s shutdown callback.
pub fn plugin_shutting_down(plugin: &str) {
    let mut g = SHUTTING_DOWN.lock().unwrap_or_else(|e| e.into_inner());
    let (_, names) = g.get_or_insert_with(|| (std::thread::current().id(), Vec::new()));
    names.push(plugin.to_owned());
    ANY_SHUTTING_DOWN.store(true, Ordering::Release);
}

fn silenced() -> bool {
    if ANY_SHUTTING_DOWN.load(Ordering::Acquire) {
        let g = SHUTTING_DOWN.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((owner, names)) = g.as_ref() {
            if *owner != std::thread::current().id() {
                let me = super::ctx::name_of(&super::ctx::get());
                if me.is_some_and(|n| names.iter().any(|p| p.eq_ignore_ascii_case(&n))) {
                    return true;
                }
            }
        }
    }
    if !SHUT_DOWN.load(Ordering::Acquire) {
        return false;
    }
    let owner = *AFTER_SHUTDOWN.lock().unwrap_or_else(|e| e.into_inner());
    owner.is_some_and(|o| o != std::thread::current().id())
}

fn emit_with_target(level: c_int, target: &str, msg: &str) {
    if silenced() {
        return;
    }
    let callbacks = FAN_OUT.callbacks.snapshot();
    let nested = IN_LOG.with(|f| f.get());
    if callbacks.is_empty() || nested {
        to_stderr(level, target, msg);
        return;
    }
    if level >= LOG_DEBUG {
        return;
    }
    let mut cut = msg.len().min(MAX_MSG);
    while !msg.is_char_boundary(cut) {
        cut -= 1;
    }
    let text: Vec<u8> = msg.as_bytes()[..cut]
        .iter()
        .copied()
        .filter(|&b| b != 0)
        .collect();
    let Ok(c) = CString::new(text) else { return };
    IN_LOG.with(|f| f.set(true));
    for cb in callbacks.iter() {
        rcollectd_core::registry::Log::log(cb.as_ref(), level, &c);
    }
    IN_LOG.with(|f| f.set(false));
}

/// collectd's `daemon_log`, behind its `P_ERROR`/`P_WARNING`/`P_INFO`: a line
/// from a core helper (`parse_value`, `cf_util_get_*`, ...) prefixed with the
/// name of the plugin that called it, `UNKNOWN` outside any plugin, so an
/// operator sees which plugin's input it is about.
pub fn daemon_log(level: c_int, msg: &str) {
    let name = super::ctx::name_of(&super::ctx::get()).unwrap_or_else(|| "UNKNOWN".into());
    emit(level, &format!("{name} plugin: {msg}"));
}

/// `P_ERROR`: [`daemon_log`] at error severity, `format!` arguments.
#[macro_export]
macro_rules! p_error {
    ($($arg:tt)*) => {
        $crate::plugins::log::daemon_log($crate::plugins::log::LOG_ERR, &format!($($arg)*))
    };
}

/// `P_WARNING`: [`daemon_log`] at warning severity, `format!` arguments.
#[macro_export]
macro_rules! p_warning {
    ($($arg:tt)*) => {
        $crate::plugins::log::daemon_log($crate::plugins::log::LOG_WARNING, &format!($($arg)*))
    };
}

/// `P_INFO`: [`daemon_log`] at info severity, `format!` arguments.
#[macro_export]
macro_rules! p_info {
    ($($arg:tt)*) => {
        $crate::plugins::log::daemon_log($crate::plugins::log::LOG_INFO, &format!($($arg)*))
    };
}

/// Logs at collectd's NOTICE severity, which `log` has no level for.
pub fn notice(msg: &str) {
    emit(LOG_NOTICE, msg);
}

/// The process's logger: the `log` crate's records and collectd's log
/// lines go to the log callbacks plugins registered, which it holds
/// because the `log` crate has one logger per process and every layer of
/// the daemon logs through it.
struct FanOut {
    callbacks: List<Callback<LogFn>>,
}

impl log::Log for FanOut {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        if self.callbacks.is_empty() {
            log::Log::enabled(stderr_logger(), metadata)
        } else {
            metadata.level() <= log::Level::Info
        }
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut msg = record.args().to_string();
        if let Some(plugin) = plugin_of(record.target()) {
            msg = format!("{plugin} plugin: {msg}");
        }
        let severity = if record.target() == rcollectd_core::schedule::NOTICE_TARGET {
            LOG_NOTICE
        } else {
            to_severity(record.level())
        };
        // The binary's own fatal errors (target "rcollectd", e.g. a bad
        // config) also reach the terminal, as collectd prints them to stderr
        // even when a log plugin is loaded.
        if record.level() == log::Level::Error
            && record.target() == "rcollectd"
            && !self.callbacks.is_empty()
        {
            to_stderr(severity, record.target(), &msg);
        }
        emit_with_target(severity, record.target(), &msg);
    }

    fn flush(&self) {}
}

/// The built-in plugin a record comes from: its crate's, or for the shared
/// plugin helpers the plugin the thread works for (a plugin thread that said
/// so, or the callback running). A plugin `.so` prefixes its own lines.
fn plugin_of(target: &str) -> Option<String> {
    if let Some(p) = super::builtin::of_log_target(target) {
        return Some(p.to_owned());
    }
    // The SDK and the shared helpers (`rcollectd_plugin`, `rcollectd_plugin_common`).
    if !target.starts_with("rcollectd_plugin") {
        return None;
    }
    if let Some(p) = rcollectd_plugin::thread_plugin() {
        return Some(p.to_owned());
    }
    super::ctx::name_of(&super::ctx::get()).filter(|n| !n.is_empty())
}

static FAN_OUT: LazyLock<FanOut> = LazyLock::new(|| FanOut {
    callbacks: List::default(),
});

/// The log callbacks (`plugin_register_log`), in registration order.
pub fn callbacks() -> &'static List<Callback<LogFn>> {
    &FAN_OUT.callbacks
}

/// Installs the fan-out as the `log` logger (idempotent).
pub fn init() {
    if log::set_logger(&*FAN_OUT).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_mapping_matches_syslog_order() {
        assert_eq!(to_log_level(LOG_ERR), log::Level::Error);
        assert_eq!(to_log_level(0), log::Level::Error);
        assert_eq!(to_log_level(LOG_WARNING), log::Level::Warn);
        assert_eq!(to_log_level(LOG_NOTICE), log::Level::Info);
        assert_eq!(to_log_level(LOG_DEBUG), log::Level::Debug);
        assert_eq!(to_severity(log::Level::Warn), LOG_WARNING);
    }
}
