//! logfile plugin, compatible with collectd 5.12's `logfile`:
//!
//! ```text
//! <Plugin logfile>
//!   LogLevel info          # err, warning, notice, info, debug
//!   File "/var/log/collectd.log"   # or "stdout" / "stderr" (default)
//!   Timestamp true
//!   PrintSeverity false
//! </Plugin>
//! ```
//!
//! Lines look like `[2024-01-31 12:00:00] [info] message` (local time; the
//! severity only with PrintSeverity). The file is opened for every message,
//! so log rotation needs no signal. Notifications are logged at level info,
//! whatever LogLevel says, as `Notification: severity = ..., host = ...`.

use std::fs::OpenOptions;
use std::io::{self, Write as _};
use std::sync::Mutex;

use rcollectd_plugin::{
    export_plugin, CdTime, Config, Log, LogLevel, Notification, Notify, Plugin, Result,
};
use serde::Deserialize;

/// A boolean the way collectd's logfile reads it: only the false spellings
/// (`false`, `no`, `off`) turn it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotFalse(pub bool);

impl<'de> Deserialize<'de> for NotFalse {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = NotFalse;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a boolean")
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<NotFalse, E> {
                Ok(NotFalse(v))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<NotFalse, E> {
                let f = ["false", "no", "off"]
                    .iter()
                    .any(|x| v.eq_ignore_ascii_case(x));
                Ok(NotFalse(!f))
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<NotFalse, E> {
                Ok(NotFalse(true))
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<NotFalse, E> {
                Ok(NotFalse(true))
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<NotFalse, E> {
                Ok(NotFalse(true))
            }
        }
        d.deserialize_any(V)
    }
}

/// The `<Plugin logfile>` options.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "PascalCase")]
pub struct Settings {
    /// Highest severity logged (invalid: warning, then info).
    pub log_level: Option<String>,
    /// Path, "stdout" or "stderr".
    pub file: Option<String>,
    /// Prefix lines with the local time.
    pub timestamp: NotFalse,
    /// Prefix messages with "[level] ".
    pub print_severity: NotFalse,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            log_level: None,
            file: None,
            timestamp: NotFalse(true),
            print_severity: NotFalse(false),
        }
    }
}

/// Where lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Standard error (the default).
    Stderr,
    /// Standard output.
    Stdout,
    /// Appended to this file, opened per message.
    File(String),
}

/// The plugin.
pub struct Logfile {
    level: LogLevel,
    output: Output,
    timestamp: bool,
    print_severity: bool,
    lock: Mutex<()>,
}

/// `YYYY-MM-DD HH:MM:SS` in local time (collectd rounds to the nearest second).
pub fn local_timestamp(t: CdTime) -> String {
    let secs = t.as_time_t() as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value to overwrite.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid locals; localtime_r is thread-safe.
    if unsafe { libc::localtime_r(&secs, &mut tm) }.is_null() {
        return String::from("1970-01-01 00:00:00");
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// collectd's `parse_log_severity`, plus "debug" (rcollectd always has it).
fn parse_level(s: &str) -> Option<LogLevel> {
    match s.to_ascii_lowercase().as_str() {
        "emerg" | "alert" | "crit" | "err" => Some(LogLevel::Error),
        "warning" => Some(LogLevel::Warning),
        "notice" => Some(LogLevel::Notice),
        "info" => Some(LogLevel::Info),
        "debug" => Some(LogLevel::Debug),
        _ => None,
    }
}

impl Logfile {
    /// A logger with these settings (an invalid LogLevel warns and uses info).
    pub fn with_settings(s: &Settings) -> Logfile {
        let level = match s.log_level.as_deref() {
            None => LogLevel::Info,
            Some(l) => parse_level(l).unwrap_or_else(|| {
                rcollectd_plugin::plugin_log(
                    LogLevel::Warning,
                    &format!("logfile: invalid loglevel [{l}] defaulting to 'info'"),
                );
                LogLevel::Info
            }),
        };
        let output = match s.file.as_deref() {
            None => Output::Stderr,
            Some(f) if f.eq_ignore_ascii_case("stderr") => Output::Stderr,
            Some(f) if f.eq_ignore_ascii_case("stdout") => Output::Stdout,
            Some(f) => Output::File(f.to_owned()),
        };
        Logfile {
            level,
            output,
            timestamp: s.timestamp.0,
            print_severity: s.print_severity.0,
            lock: Mutex::new(()),
        }
    }

    /// The full line (with newline) for a message.
    pub fn line(&self, level: LogLevel, message: &str, time: CdTime) -> String {
        let mut s = String::with_capacity(message.len() + 40);
        if self.timestamp {
            s.push('[');
            s.push_str(&local_timestamp(time));
            s.push_str("] ");
        }
        if self.print_severity {
            s.push('[');
            s.push_str(level.as_str());
            s.push_str("] ");
        }
        s.push_str(message);
        s.push('\n');
        s
    }

    fn print(&self, line: &str) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let r = match &self.output {
            Output::Stderr => io::stderr().lock().write_all(line.as_bytes()),
            Output::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(line.as_bytes()).and_then(|_| out.flush())
            }
            Output::File(path) => {
                match OpenOptions::new().append(true).create(true).open(path) {
                    Ok(mut f) => f.write_all(line.as_bytes()),
                    Err(e) => {
                        // Must not log through plugin_log from inside a log
                        // callback: report on stderr as collectd does.
                        eprintln!("logfile plugin: fopen ({path}) failed: {e}");
                        Ok(())
                    }
                }
            }
        };
        if let Err(e) = r {
            eprintln!("logfile plugin: write failed: {e}");
        }
    }
}

impl Plugin for Logfile {
    const NAME: &'static str = "logfile";

    fn new(config: &Config) -> Result<Self> {
        let settings: Settings = config.deserialize()?;
        Ok(Logfile::with_settings(&settings))
    }
}

impl Log for Logfile {
    fn log(&self, level: LogLevel, message: &str) {
        if level > self.level {
            return;
        }
        self.print(&self.line(level, message, CdTime::now()));
    }
}

/// collectd formats notifications into a 1024-byte buffer.
const NOTIFICATION_MAX: usize = 1023;

impl Notify for Logfile {
    fn notify(&self, n: &Notification<'_>) -> Result {
        let mut text = n.summary();
        if text.len() > NOTIFICATION_MAX {
            let mut end = NOTIFICATION_MAX;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        let time = if n.time() == CdTime::ZERO {
            CdTime::now()
        } else {
            n.time()
        };
        self.print(&self.line(LogLevel::Info, &text, time));
        Ok(())
    }
}

export_plugin!(Logfile, log, notify);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::{ConfigItem, ConfigValue, NotificationBuilder, Severity};

    fn settings(items: Vec<ConfigItem>) -> Settings {
        Config {
            plugin: "logfile".into(),
            items,
        }
        .deserialize()
        .unwrap()
    }
    fn s(v: &str) -> ConfigValue {
        ConfigValue::String(v.into())
    }

    #[test]
    fn options() {
        let st = settings(vec![
            ConfigItem::new("LogLevel", vec![s("warning")]),
            ConfigItem::new("File", vec![s("STDOUT")]),
            ConfigItem::new("Timestamp", vec![ConfigValue::Boolean(false)]),
            ConfigItem::new("PrintSeverity", vec![s("yes")]),
        ]);
        let l = Logfile::with_settings(&st);
        assert_eq!(
            (l.level, l.output.clone(), l.timestamp, l.print_severity),
            (LogLevel::Warning, Output::Stdout, false, true)
        );
        assert_eq!(
            l.line(LogLevel::Error, "boom", CdTime::ZERO),
            "[error] boom\n"
        );
        let st = settings(vec![ConfigItem::new("Timestamp", vec![s("maybe")])]);
        assert!(st.timestamp.0, "only false spellings turn it off");
    }

    #[test]
    fn invalid_level_warns_and_defaults_to_info() {
        let st = settings(vec![ConfigItem::new("LogLevel", vec![s("loud")])]);
        let cap = rcollectd_plugin::testing::capture(|| Logfile::with_settings(&st));
        assert_eq!(cap.result.level, LogLevel::Info);
        assert_eq!(
            cap.logs,
            vec![(
                LogLevel::Warning,
                "logfile: invalid loglevel [loud] defaulting to 'info'".to_string()
            )]
        );
    }

    #[test]
    fn file_output_and_filtering() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let st = Settings {
            file: Some(path.display().to_string()),
            print_severity: NotFalse(true),
            ..Default::default()
        };
        let l = Logfile::with_settings(&st);
        l.log(LogLevel::Info, "cpu plugin: hello");
        l.log(LogLevel::Debug, "filtered out");
        let n = NotificationBuilder::new(Severity::Failure, "disk full")
            .host("h")
            .plugin("df")
            .time(CdTime(1_700_000_000 << 30))
            .to_raw()
            .unwrap();
        // SAFETY: a valid notification without meta data.
        l.notify(&unsafe { Notification::from_raw(&n) }).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        // "[YYYY-MM-DD HH:MM:SS] [info] cpu plugin: hello"
        assert_eq!(&lines[0][0..1], "[");
        assert_eq!(&lines[0][20..], "] [info] cpu plugin: hello");
        assert_eq!(
            lines[1],
            format!(
                "[{}] [info] Notification: severity = FAILURE, host = h, plugin = df, message = disk full",
                local_timestamp(CdTime(1_700_000_000 << 30))
            )
        );
    }

    #[test]
    fn timestamp_format() {
        let t = local_timestamp(CdTime::now());
        assert_eq!(t.len(), 19);
        assert_eq!((&t[4..5], &t[10..11], &t[13..14]), ("-", " ", ":"));
    }
}
