//! collectd 5.12's mapping of value lists onto Prometheus metrics
//! (write_prometheus, after collectd_exporter), shared by every output that
//! speaks Prometheus so dashboards see the same names from each.

use rcollectd_plugin::{DsType, Value};

/// `collectd[_<plugin>]_<type>[_<ds>][_total]`: the plugin is left out when
/// it equals the type, the data source when it is `value`, and counters and
/// derives end in `_total`.
pub fn family_name(plugin: &str, type_: &str, ds_name: &str, ds_type: DsType) -> String {
    let mut name = String::with_capacity(9 + plugin.len() + type_.len() + ds_name.len() + 6);
    push_family_name(&mut name, plugin, type_, ds_name, ds_type);
    name
}

/// [`family_name`] appended to `out` (a buffer reused across value lists).
pub fn push_family_name(
    out: &mut String,
    plugin: &str,
    type_: &str,
    ds_name: &str,
    ds_type: DsType,
) {
    out.push_str("collectd");
    if plugin != type_ {
        out.push('_');
        out.push_str(plugin);
    }
    out.push('_');
    out.push_str(type_);
    if ds_name != "value" {
        out.push('_');
        out.push_str(ds_name);
    }
    if matches!(ds_type, DsType::Counter | DsType::Derive) {
        out.push_str("_total");
    }
}

/// The labels of a value list, in collectd's order:
/// `<plugin>="<plugin instance>"`, `type="<type instance>"` (named after the
/// plugin when there is no plugin instance) and `instance="<host>"`, the
/// empty instances left out.
pub fn labels<'a>(
    host: &'a str,
    plugin: &'a str,
    plugin_instance: &'a str,
    type_instance: &'a str,
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    let pi = (!plugin_instance.is_empty()).then_some((plugin, plugin_instance));
    let ti = (!type_instance.is_empty()).then(|| {
        let name = if pi.is_some() { "type" } else { plugin };
        (name, type_instance)
    });
    pi.into_iter()
        .chain(ti)
        .chain(std::iter::once(("instance", host)))
}

/// A value as a Prometheus sample: gauges as they are, counters, derives
/// and absolutes as their raw integer.
pub fn sample_value(value: Value) -> f64 {
    match value {
        Value::Gauge(g) => g,
        Value::Counter(c) | Value::Absolute(c) => c as f64,
        Value::Derive(d) => d as f64,
    }
}

/// A `cdtime_t` in milliseconds since the epoch, rounded as collectd's
/// `CDTIME_T_TO_MS` (the timestamps of Prometheus samples).
pub fn cdtime_to_ms(t: u64) -> i64 {
    (((t >> 30) * 1000) + (((t & 0x3fff_ffff) * 1000 + (1 << 29)) >> 30)) as i64
}

/// collectd's `DS_TYPE_TO_STRING`, as HELP texts name data source types.
pub fn ds_type_name(kind: DsType) -> &'static str {
    match kind {
        DsType::Counter => "counter",
        DsType::Gauge => "gauge",
        DsType::Derive => "derive",
        DsType::Absolute => "absolute",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_names() {
        let cases = [
            ("cpu", "cpu", "value", DsType::Derive, "collectd_cpu_total"),
            (
                "memory",
                "memory",
                "value",
                DsType::Gauge,
                "collectd_memory",
            ),
            (
                "load",
                "load",
                "shortterm",
                DsType::Gauge,
                "collectd_load_shortterm",
            ),
            (
                "interface",
                "if_octets",
                "rx",
                DsType::Derive,
                "collectd_interface_if_octets_rx_total",
            ),
            (
                "app",
                "counter",
                "value",
                DsType::Counter,
                "collectd_app_counter_total",
            ),
            (
                "app",
                "absolute",
                "value",
                DsType::Absolute,
                "collectd_app_absolute",
            ),
        ];
        for (plugin, type_, ds, kind, want) in cases {
            assert_eq!(family_name(plugin, type_, ds, kind), want);
        }
    }

    #[test]
    fn milliseconds_round_as_collectd() {
        assert_eq!(cdtime_to_ms(1_700_000_000 << 30), 1_700_000_000_000);
        // 0.25 s, and half a millisecond rounding up.
        assert_eq!(cdtime_to_ms((5 << 30) + (1 << 28)), 5250);
        assert_eq!(cdtime_to_ms((1 << 30) / 2000 + 1), 1);
        assert_eq!(cdtime_to_ms((1 << 30) / 2000), 0);
        assert_eq!(sample_value(Value::Derive(-3)), -3.0);
        assert_eq!(sample_value(Value::Counter(7)), 7.0);
    }

    #[test]
    fn label_layouts() {
        let l = |pi, ti| labels("h", "cpu", pi, ti).collect::<Vec<_>>();
        assert_eq!(
            l("0", "idle"),
            [("cpu", "0"), ("type", "idle"), ("instance", "h")]
        );
        assert_eq!(l("0", ""), [("cpu", "0"), ("instance", "h")]);
        assert_eq!(l("", "idle"), [("cpu", "idle"), ("instance", "h")]);
        assert_eq!(l("", ""), [("instance", "h")]);
    }
}
