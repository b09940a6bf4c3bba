//! Test support: run plugin code without a daemon and see what it
//! dispatched and logged. Enabled in this crate's tests and, for plugin
//! crates, with the `testing` feature (as a dev-dependency).
//!
//! ```ignore
//! let cap = rcollectd_plugin::testing::capture(|| plugin.read());
//! assert_eq!(cap.values[0].type_, "gauge");
//! ```

use std::cell::RefCell;
use std::ffi::c_int;

use crate::logging::LogLevel;
use crate::notification::Severity;
use crate::sys;
use crate::util::str_from_array;
use crate::value::CdTime;

/// A value list as it was handed to `plugin_dispatch_values`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatched {
    /// Host ("" = daemon default).
    pub host: String,
    /// Plugin.
    pub plugin: String,
    /// Plugin instance.
    pub plugin_instance: String,
    /// Type.
    pub type_: String,
    /// Type instance.
    pub type_instance: String,
    /// Time (zero = daemon default).
    pub time: CdTime,
    /// Interval (zero = daemon default).
    pub interval: CdTime,
    /// Raw 8-byte values; read with [`Dispatched::gauges`] etc.
    pub raw: Vec<u64>,
}

impl Dispatched {
    /// The values read as gauges.
    pub fn gauges(&self) -> Vec<f64> {
        self.raw.iter().map(|b| f64::from_bits(*b)).collect()
    }
    /// The values read as derives.
    pub fn derives(&self) -> Vec<i64> {
        self.raw.iter().map(|b| *b as i64).collect()
    }
    /// The values read as counters/absolutes.
    pub fn counters(&self) -> Vec<u64> {
        self.raw.clone()
    }
}

/// What a closure dispatched and logged.
#[derive(Debug)]
pub struct Capture<R> {
    /// The closure's result.
    pub result: R,
    /// Dispatched value lists, in order.
    pub values: Vec<Dispatched>,
    /// Log messages (level, text), in order.
    pub logs: Vec<(LogLevel, String)>,
    /// Dispatched notifications (severity, [`Notification::summary`] text).
    ///
    /// [`Notification::summary`]: crate::Notification::summary
    pub notifications: Vec<(Severity, String)>,
}

#[derive(Default)]
struct Sink {
    values: Vec<Dispatched>,
    logs: Vec<(LogLevel, String)>,
    notifications: Vec<(Severity, String)>,
}

thread_local! {
    static SINK: RefCell<Option<Sink>> = const { RefCell::new(None) };
}

/// Runs `f` on this thread, capturing its dispatches and log messages
/// instead of sending them to a daemon.
pub fn capture<R>(f: impl FnOnce() -> R) -> Capture<R> {
    let prev = SINK.with(|s| s.borrow_mut().replace(Sink::default()));
    let result = f();
    let sink = SINK
        .with(|s| std::mem::replace(&mut *s.borrow_mut(), prev))
        .unwrap_or_default();
    Capture {
        result,
        values: sink.values,
        logs: sink.logs,
        notifications: sink.notifications,
    }
}

pub(crate) fn capture_values(vl: &sys::value_list_t) -> Option<c_int> {
    SINK.with(|s| {
        let mut s = s.borrow_mut();
        let sink = s.as_mut()?;
        let raw = if vl.values.is_null() {
            Vec::new()
        } else {
            // SAFETY: dispatch_raw's caller passes `values_len` valid values;
            // every value_t member is 8 bytes, read here as bits.
            unsafe { std::slice::from_raw_parts(vl.values, vl.values_len) }
                .iter()
                // SAFETY: reading the u64 member of a plain 8-byte union.
                .map(|v| unsafe { v.absolute })
                .collect()
        };
        sink.values.push(Dispatched {
            host: str_from_array(&vl.host).to_owned(),
            plugin: str_from_array(&vl.plugin).to_owned(),
            plugin_instance: str_from_array(&vl.plugin_instance).to_owned(),
            type_: str_from_array(&vl.type_).to_owned(),
            type_instance: str_from_array(&vl.type_instance).to_owned(),
            time: CdTime(vl.time),
            interval: CdTime(vl.interval),
            raw,
        });
        Some(0)
    })
}

pub(crate) fn capture_notification(n: &sys::notification_t) -> bool {
    SINK.with(|s| match s.borrow_mut().as_mut() {
        Some(sink) => {
            // SAFETY: `n` is a fully initialised notification without meta.
            let view = unsafe { crate::Notification::from_raw(n) };
            sink.notifications.push((view.severity(), view.summary()));
            true
        }
        None => false,
    })
}

pub(crate) fn capture_log(level: c_int, message: &str) -> bool {
    SINK.with(|s| match s.borrow_mut().as_mut() {
        Some(sink) => {
            sink.logs
                .push((LogLevel::from_raw(level), message.to_owned()));
            true
        }
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Value, ValueListBuilder};

    #[test]
    fn captures_builder_dispatch() {
        let values: Vec<Value> = (0..20).map(|i| Value::Derive(i - 3)).collect();
        let cap = capture(|| {
            ValueListBuilder::new("cpu", "percent")
                .plugin_instance("0")
                .type_instance("idle")
                .values(&[Value::Gauge(3.2)])
                .dispatch()
                .unwrap();
            ValueListBuilder::new("many", "x")
                .values(&values)
                .dispatch()
                .unwrap();
        });
        assert_eq!(cap.values.len(), 2);
        let d = &cap.values[0];
        assert_eq!(
            (
                d.host.as_str(),
                d.plugin.as_str(),
                d.plugin_instance.as_str(),
                d.type_.as_str(),
                d.type_instance.as_str()
            ),
            ("", "cpu", "0", "percent", "idle")
        );
        assert_eq!(d.time, CdTime::ZERO);
        assert_eq!(d.interval, CdTime::ZERO);
        assert_eq!(d.gauges(), vec![3.2]);
        assert_eq!(
            cap.values[1].derives(),
            (0..20).map(|i| i - 3).collect::<Vec<i64>>()
        );
    }

    #[test]
    fn captures_notifications() {
        let cap = capture(|| {
            crate::NotificationBuilder::new(Severity::Warning, "hot")
                .host("h")
                .plugin("thermal")
                .dispatch()
        });
        assert_eq!(cap.result, Ok(()));
        assert_eq!(
            cap.notifications,
            vec![(
                Severity::Warning,
                "Notification: severity = WARNING, host = h, plugin = thermal, message = hot"
                    .to_string()
            )]
        );
    }

    #[test]
    fn no_host_means_clear_error() {
        let err = ValueListBuilder::new("cpu", "percent")
            .values(&[Value::Gauge(1.0)])
            .dispatch()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the host process does not export `plugin_dispatch_values` (not running inside collectd/rcollectd?)"
        );
    }
}
