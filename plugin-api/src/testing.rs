//! Test support: run plugin code without a daemon and see what it
//! dispatched and logged. Enabled in this crate's tests and, for plugin
//! crates, with the `testing` feature (as a dev-dependency).
//!
//! ```ignore
//! let cap = rcollectd_plugin::testing::capture(|| plugin.read());
//! assert_eq!(cap.values[0].type_, "gauge");
//! ```

use crate::logging::LogLevel;
use crate::notification::Severity;
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

/// Runs `f` on this thread, capturing its dispatches and log messages
/// instead of sending them to a daemon.
pub fn capture<R>(f: impl FnOnce() -> R) -> Capture<R> {
    let prev = crate::capture::begin();
    let result = f();
    let sink = crate::capture::end(prev);
    Capture {
        result,
        values: sink
            .values
            .into_iter()
            .map(|v| {
                let [host, plugin, plugin_instance, type_, type_instance] = v.fields;
                Dispatched {
                    host,
                    plugin,
                    plugin_instance,
                    type_,
                    type_instance,
                    time: CdTime(v.time),
                    interval: CdTime(v.interval),
                    raw: v.raw,
                }
            })
            .collect(),
        logs: sink
            .logs
            .into_iter()
            .map(|(level, text)| (LogLevel::from_raw(level), text))
            .collect(),
        notifications: sink
            .notifications
            .iter()
            .map(|n| {
                // SAFETY: a copy of a fully initialised notification whose
                // meta pointer the sink cleared.
                let view = unsafe { crate::Notification::from_raw(n) };
                (view.severity(), view.summary())
            })
            .collect(),
    }
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
