//! A value list as plain data, and dispatching a read's worth of them.

use std::fmt;

use rcollectd_plugin::{CdTime, DispatchError, Value, ValueListBuilder};

/// A value list as a plugin dispatches it (host and interval are filled in
/// by the daemon), kept as plain data so parsers are testable.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// collectd's plugin instance (e.g. the mount point or CPU number),
    /// empty when there is none.
    pub plugin_instance: String,
    /// The types.db type name.
    pub type_: String,
    /// collectd's type instance, empty when there is none.
    pub type_instance: String,
    /// The values, in the order of the type's data sources.
    pub values: Vec<Value>,
}

impl Metric {
    /// Builds a metric from borrowed names; a shorthand for the parsers.
    pub fn new(
        plugin_instance: &str,
        type_: &str,
        type_instance: &str,
        values: Vec<Value>,
    ) -> Self {
        Metric {
            plugin_instance: plugin_instance.to_owned(),
            type_: type_.to_owned(),
            type_instance: type_instance.to_owned(),
            values,
        }
    }

    /// A single-gauge metric, the most common shape.
    pub fn gauge(plugin_instance: &str, type_: &str, type_instance: &str, v: f64) -> Self {
        Self::new(plugin_instance, type_, type_instance, vec![Value::Gauge(v)])
    }

    /// A single-derive metric such as `cpu` or `contextswitch`.
    pub fn derive(plugin_instance: &str, type_: &str, type_instance: &str, v: i64) -> Self {
        Self::new(
            plugin_instance,
            type_,
            type_instance,
            vec![Value::Derive(v)],
        )
    }

    /// A two-derive metric such as `disk_octets` or `if_packets`.
    pub fn derive2(
        plugin_instance: &str,
        type_: &str,
        type_instance: &str,
        a: i64,
        b: i64,
    ) -> Self {
        Self::new(
            plugin_instance,
            type_,
            type_instance,
            vec![Value::Derive(a), Value::Derive(b)],
        )
    }
}

impl fmt::Display for Metric {
    /// `plugin_instance/type-type_instance = v1:v2`, handy in test failures.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.plugin_instance, self.type_)?;
        if !self.type_instance.is_empty() {
            write!(f, "-{}", self.type_instance)?;
        }
        f.write_str(" =")?;
        for (i, v) in self.values.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ":" })?;
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

/// collectd's limit on identifier fields (DATA_MAX_NAME_LEN - 1 bytes).
const NAME_MAX: usize = 127;

/// Cuts a name to what fits an identifier field, as collectd's `sstrncpy`
/// does silently (on a character boundary).
fn fit(s: &str) -> &str {
    if s.len() <= NAME_MAX {
        return s;
    }
    let mut end = NAME_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Dispatches every metric under `plugin`, all with `time`
/// ([`CdTime::ZERO`]: the daemon stamps each one as it arrives). Like
/// collectd's plugins, one rejected value list does not stop the others:
/// each failure goes to `failed`, which logs it the plugin's way.
pub fn dispatch_all(
    plugin: &str,
    time: CdTime,
    metrics: &[Metric],
    mut failed: impl FnMut(&Metric, &DispatchError),
) {
    for m in metrics {
        let r = ValueListBuilder::new(plugin, &m.type_)
            .plugin_instance(fit(&m.plugin_instance))
            .type_instance(fit(&m.type_instance))
            .time(time)
            .values(&m.values)
            .dispatch();
        if let Err(e) = r {
            failed(m, &e);
        }
    }
}

/// The `failed` handler of the system plugins (df, disk, interface,
/// fhcount, processes): a warning naming the value list.
pub fn warn_failed(m: &Metric, e: &DispatchError) {
    rcollectd_plugin::log::warn!("dispatching {m} failed: {e}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::testing::capture;

    #[test]
    fn display_and_name_limits() {
        assert_eq!(
            Metric::derive2("sda", "disk_ops", "", 1, -2).to_string(),
            "sda/disk_ops = 1:-2"
        );
        assert_eq!(
            Metric::gauge("", "percent", "used", 1.5).to_string(),
            "/percent-used = 1.5"
        );
        assert_eq!(
            Metric::derive("0", "cpu", "idle", 7),
            Metric::new("0", "cpu", "idle", vec![Value::Derive(7)])
        );
        let long = "é".repeat(100);
        assert_eq!(fit(&long).len(), 126);
        assert_eq!(fit("short"), "short");
    }

    #[test]
    fn dispatches_every_metric_with_fitted_names_and_time() {
        let long = "x".repeat(200);
        let metrics = [
            Metric::gauge(&long, "gauge", "a", 1.0),
            Metric::new("", "gauge", "empty", vec![]),
            Metric::derive2("", "if_octets", "", 3, 4),
        ];
        let mut failures = Vec::new();
        let cap = capture(|| {
            dispatch_all("t", CdTime(5 << 30), &metrics, |m, e| {
                failures.push(format!("{m}: {e}"))
            })
        });
        assert_eq!(cap.values.len(), 2);
        assert_eq!(cap.values[0].plugin_instance.len(), 127);
        assert_eq!(cap.values[0].time, CdTime(5 << 30));
        assert_eq!(cap.values[1].derives(), [3, 4]);
        assert_eq!(failures, ["/gauge-empty =: value list has no values"]);
    }
}
