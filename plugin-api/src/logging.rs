//! Logging: the `log` crate routed to the daemon's `plugin_log`, with the
//! `"<name> plugin: "` prefix collectd plugins use.

use std::ffi::c_int;
use std::sync::OnceLock;

use crate::host::log_raw;
use crate::sys;

/// collectd's log severities (syslog numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// `LOG_ERR` (3)
    Error,
    /// `LOG_WARNING` (4)
    Warning,
    /// `LOG_NOTICE` (5)
    Notice,
    /// `LOG_INFO` (6)
    Info,
    /// `LOG_DEBUG` (7)
    Debug,
}

impl LogLevel {
    /// From the ABI number; out-of-range values clamp to Error/Debug.
    pub fn from_raw(level: c_int) -> LogLevel {
        match level {
            i32::MIN..=3 => LogLevel::Error,
            4 => LogLevel::Warning,
            5 => LogLevel::Notice,
            6 => LogLevel::Info,
            _ => LogLevel::Debug,
        }
    }

    /// The ABI number.
    pub fn to_raw(self) -> c_int {
        (match self {
            LogLevel::Error => sys::LOG_ERR,
            LogLevel::Warning => sys::LOG_WARNING,
            LogLevel::Notice => sys::LOG_NOTICE,
            LogLevel::Info => sys::LOG_INFO,
            LogLevel::Debug => sys::LOG_DEBUG,
        }) as c_int
    }

    /// The name collectd prints and accepts in `LogLevel` options.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warning => "warning",
            LogLevel::Notice => "notice",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }

    /// Parses a `LogLevel` option value like collectd's
    /// `parse_log_severity` ("emerg"/"alert"/"crit"/"err" map to Error).
    pub fn parse(s: &str) -> Option<LogLevel> {
        let s = s.to_ascii_lowercase();
        match s.as_str() {
            "emerg" | "alert" | "crit" | "error" | "err" => Some(LogLevel::Error),
            "warning" | "warn" => Some(LogLevel::Warning),
            "notice" => Some(LogLevel::Notice),
            "info" => Some(LogLevel::Info),
            "debug" => Some(LogLevel::Debug),
            _ => None,
        }
    }
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for LogLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        LogLevel::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown log level \"{s}\", expected one of debug, info, notice, warning, err"
            ))
        })
    }
}

/// Logs `message` through the daemon's `plugin_log`, exactly as given.
pub fn plugin_log(level: LogLevel, message: &str) {
    log_raw(level.to_raw(), message);
}

struct Logger {
    prefix: OnceLock<String>,
}

static LOGGER: Logger = Logger {
    prefix: OnceLock::new(),
};

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Debug
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warning,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug | log::Level::Trace => LogLevel::Debug,
        };
        let prefix = self.prefix.get().map(String::as_str).unwrap_or("");
        plugin_log(level, &format!("{prefix}{}", record.args()));
    }

    fn flush(&self) {}
}

/// Routes the `log` macros of this plugin `.so` to `plugin_log`, prefixed
/// with `"<name> plugin: "`. Called by `export_plugin!`; idempotent.
pub fn install_logger(name: &str) {
    let _ = LOGGER.prefix.set(format!("{name} plugin: "));
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        for l in [
            LogLevel::Error,
            LogLevel::Warning,
            LogLevel::Notice,
            LogLevel::Info,
            LogLevel::Debug,
        ] {
            assert_eq!(LogLevel::from_raw(l.to_raw()), l);
            assert_eq!(LogLevel::parse(l.as_str()), Some(l));
        }
        assert_eq!(LogLevel::parse("ERR"), Some(LogLevel::Error));
        assert_eq!(LogLevel::parse("loud"), None);
        assert_eq!(LogLevel::from_raw(0), LogLevel::Error);
        assert!(LogLevel::Error < LogLevel::Debug);
    }

    #[test]
    fn log_macros_reach_plugin_log_with_prefix() {
        install_logger("unit");
        let cap = crate::testing::capture(|| {
            log::warn!("disk {} is full", "sda");
        });
        assert_eq!(
            cap.logs,
            vec![(
                LogLevel::Warning,
                "unit plugin: disk sda is full".to_string()
            )]
        );
    }
}
