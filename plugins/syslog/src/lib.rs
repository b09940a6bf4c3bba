//! syslog plugin, compatible with collectd 5.12's `syslog`:
//!
//! ```text
//! <Plugin syslog>
//!   LogLevel info        # err, warning, notice, info, debug
//!   NotifyLevel WARNING  # FAILURE, WARNING or OKAY; default: no notifications
//! </Plugin>
//! ```
//!
//! Messages go to `syslog(3)` with ident "collectd", options
//! `LOG_CONS | LOG_PID` and facility `LOG_DAEMON`, at their own severity.
//! Notifications at or above NotifyLevel are logged as
//! `Notification: severity = ..., host = ...` at err (FAILURE), warning
//! (WARNING) or notice (OKAY), subject to LogLevel as well.

use std::ffi::CString;

use rcollectd_plugin::{
    export_plugin, Config, Log, LogLevel, Notification, Notify, Plugin, Result,
};
use serde::Deserialize;

/// The `<Plugin syslog>` options.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "PascalCase")]
pub struct Settings {
    /// Highest severity logged (invalid: warning, then info).
    pub log_level: Option<String>,
    /// Lowest notification severity logged.
    pub notify_level: Option<String>,
}

/// collectd's `parse_log_severity`, plus "debug".
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

/// collectd's `parse_notif_severity`: "FAILURE" in any case, "OKAY",
/// "WARNING" and "WARN" exactly.
pub fn parse_notify_level(s: &str) -> Option<i32> {
    if s.eq_ignore_ascii_case("FAILURE") {
        Some(1)
    } else if s == "OKAY" {
        Some(4)
    } else if s == "WARNING" || s == "WARN" {
        Some(2)
    } else {
        None
    }
}

/// The plugin.
pub struct Syslog {
    level: LogLevel,
    /// Notifications with a raw severity above this are skipped (0: all).
    notify_level: i32,
}

impl Syslog {
    /// A logger with these settings.
    pub fn with_settings(s: &Settings) -> Result<Syslog> {
        let level = match s.log_level.as_deref() {
            None => LogLevel::Info,
            Some(l) => parse_level(l).unwrap_or_else(|| {
                rcollectd_plugin::plugin_log(
                    LogLevel::Warning,
                    &format!("syslog: invalid loglevel [{l}] defaulting to 'info'"),
                );
                LogLevel::Info
            }),
        };
        let notify_level = match s.notify_level.as_deref() {
            None => 0,
            Some(n) => parse_notify_level(n)
                .ok_or_else(|| format!("syslog: invalid notification severity [{n}]"))?,
        };
        Ok(Syslog {
            level,
            notify_level,
        })
    }

    /// What a notification becomes: its syslog severity and text, or `None`
    /// when NotifyLevel or LogLevel filter it out.
    pub fn notification_message(&self, n: &Notification<'_>) -> Option<(LogLevel, String)> {
        let raw = n.as_raw().severity;
        if raw > self.notify_level {
            return None;
        }
        let level = match raw {
            2 => LogLevel::Warning,
            4 => LogLevel::Notice,
            _ => LogLevel::Error,
        };
        if level > self.level {
            return None;
        }
        Some((level, n.summary()))
    }

    fn emit(&self, level: LogLevel, message: &str) {
        if level > self.level {
            return;
        }
        let msg = CString::new(message.replace('\0', "\u{fffd}")).unwrap_or_default();
        // SAFETY: "%s" consumes one NUL-terminated string; syslog(3) is
        // thread-safe.
        unsafe { libc::syslog(level.to_raw(), c"%s".as_ptr(), msg.as_ptr()) };
    }
}

impl Plugin for Syslog {
    const NAME: &'static str = "syslog";

    fn new(config: &Config) -> Result<Self> {
        let settings: Settings = config.deserialize()?;
        let plugin = Syslog::with_settings(&settings)?;
        // SAFETY: the ident is a static string, as openlog(3) requires.
        unsafe {
            libc::openlog(
                c"collectd".as_ptr(),
                libc::LOG_CONS | libc::LOG_PID,
                libc::LOG_DAEMON,
            )
        };
        Ok(plugin)
    }

    fn shutdown(&self) -> Result {
        // SAFETY: closelog has no preconditions.
        unsafe { libc::closelog() };
        Ok(())
    }
}

impl Log for Syslog {
    fn log(&self, level: LogLevel, message: &str) {
        self.emit(level, message);
    }
}

/// collectd formats notifications into a 1024-byte buffer and drops longer ones.
const NOTIFICATION_MAX: usize = 1023;

impl Notify for Syslog {
    fn notify(&self, n: &Notification<'_>) -> Result {
        if let Some((level, text)) = self.notification_message(n) {
            if text.len() > NOTIFICATION_MAX {
                return Err("notification text too long".into());
            }
            self.emit(level, &text);
        }
        Ok(())
    }
}

export_plugin!(Syslog, log, notify);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::{NotificationBuilder, Severity};

    #[test]
    fn notify_levels() {
        assert_eq!(parse_notify_level("failure"), Some(1));
        assert_eq!(parse_notify_level("OKAY"), Some(4));
        assert_eq!(
            parse_notify_level("okay"),
            None,
            "collectd compares OKAY case-sensitively"
        );
        assert_eq!(parse_notify_level("WARN"), Some(2));
        let e = Syslog::with_settings(&Settings {
            notify_level: Some("loud".into()),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert_eq!(
            e.to_string(),
            "syslog: invalid notification severity [loud]"
        );
    }

    fn message(s: &Syslog, sev: Severity) -> Option<(LogLevel, String)> {
        let n = NotificationBuilder::new(sev, "m")
            .host("h")
            .to_raw()
            .unwrap();
        // SAFETY: a valid notification without meta data.
        s.notification_message(&unsafe { Notification::from_raw(&n) })
    }

    #[test]
    fn notification_filtering() {
        let off = Syslog::with_settings(&Settings::default()).unwrap();
        assert_eq!(
            message(&off, Severity::Failure),
            None,
            "no NotifyLevel: nothing is logged"
        );
        let warn = Syslog::with_settings(&Settings {
            notify_level: Some("WARNING".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            message(&warn, Severity::Failure),
            Some((
                LogLevel::Error,
                "Notification: severity = FAILURE, host = h, message = m".into()
            ))
        );
        assert_eq!(
            message(&warn, Severity::Warning).map(|m| m.0),
            Some(LogLevel::Warning)
        );
        assert_eq!(message(&warn, Severity::Okay), None);
        let all = Syslog::with_settings(&Settings {
            notify_level: Some("OKAY".into()),
            log_level: Some("warning".into()),
        })
        .unwrap();
        assert_eq!(
            message(&all, Severity::Okay),
            None,
            "OKAY maps to notice, above LogLevel warning"
        );
        assert_eq!(
            message(&all, Severity::Warning).map(|m| m.0),
            Some(LogLevel::Warning)
        );
    }
}
