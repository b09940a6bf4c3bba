//! The latest value of every series, kept as collectd 5.12's
//! write_prometheus keeps it, and its two expositions.
//!
//! Families are named `collectd[_<plugin>]_<type>[_<ds>][_total]` and
//! iterated in byte order of their names; within a family, metrics are
//! ordered by label count, then by label values in byte order. Labels are
//! `<plugin>="<plugin instance>"`, `type="<type instance>"` (named after the
//! plugin when there is no plugin instance) and `instance="<host>"`, the
//! empty ones left out. A metric is identified by its label *values* only,
//! as in collectd.

use std::collections::BTreeMap;

use rcollectd_plugin::{DsType, Value};
use rcollectd_plugin_common::prometheus;

use crate::proto;

/// The identifier fields of one value list.
#[derive(Debug, Clone, Copy)]
pub struct Ident<'a> {
    /// Host.
    pub host: &'a str,
    /// Plugin.
    pub plugin: &'a str,
    /// Plugin instance (may be empty).
    pub plugin_instance: &'a str,
    /// Type.
    pub type_: &'a str,
    /// Type instance (may be empty).
    pub type_instance: &'a str,
}

/// One data source of a value list with its value.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// Data source name.
    pub name: &'a str,
    /// Its type.
    pub kind: DsType,
    /// The value (`None` for a missing series).
    pub value: Option<Value>,
}

/// A series' label values as one key: the label count as a byte, then the
/// values, each ended by NUL. Byte order of such keys is collectd's
/// `metric_cmp` order (count first, then each value as `strcmp` orders
/// it: NUL sorts before any other byte), and lookups need no allocation.
fn push_label_key(out: &mut String, id: &Ident<'_>) {
    let labels = || prometheus::labels(id.host, id.plugin, id.plugin_instance, id.type_instance);
    // At most three labels: the count is one ASCII byte.
    out.push(char::from(labels().count() as u8));
    for (_, v) in labels() {
        out.push_str(v);
        out.push('\0');
    }
}

/// The label values of a key made by [`push_label_key`].
fn key_values(key: &str) -> impl Iterator<Item = &str> {
    key[1..].split_terminator('\0')
}

/// The number of labels of a key made by [`push_label_key`].
fn key_count(key: &str) -> usize {
    usize::from(key.as_bytes()[0])
}

/// One series: the plugin name its first label is named after, its value
/// and timestamp.
#[derive(Debug, Clone)]
struct Series {
    plugin: Box<str>,
    value: f64,
    timestamp_ms: Option<i64>,
}

#[derive(Debug, Clone)]
struct Family {
    help: String,
    gauge: bool,
    metrics: BTreeMap<String, Series>,
}

/// What [`Store::update`] noticed that the plugin logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Updated {
    /// A value list's interval exceeds `StalenessDelta`: sent without timestamp.
    pub beyond_staleness: bool,
}

/// Every family with its series.
#[derive(Debug, Clone, Default)]
pub struct Store {
    families: BTreeMap<String, Family>,
    series: usize,
    /// Reused for the family name and label key of each value list, so an
    /// update of known series allocates nothing.
    name: String,
    key: String,
}

fn push_family_name(out: &mut String, id: &Ident<'_>, ds: &Sample<'_>) {
    out.clear();
    prometheus::push_family_name(out, id.plugin, id.type_, ds.name, ds.kind);
}

/// The names of a series' labels (collectd's `METRIC_ADD_LABELS`).
fn label_names(plugin: &str, count: usize) -> [&str; 3] {
    match count {
        3 => [plugin, "type", "instance"],
        2 => [plugin, "instance", ""],
        _ => ["instance", "", ""],
    }
}

/// Appends a label value with `\`, `"` and newline escaped.
fn push_escaped(out: &mut Vec<u8>, value: &str) {
    for b in value.bytes() {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            _ => out.push(b),
        }
    }
}

impl Store {
    /// An empty store.
    pub fn new() -> Store {
        Store::default()
    }

    /// Number of series held.
    pub fn len(&self) -> usize {
        self.series
    }

    /// True when no series is held.
    pub fn is_empty(&self) -> bool {
        self.series == 0
    }

    /// Stores the latest values of one value list. Series whose interval
    /// exceeds `staleness` (cdtime_t) carry no timestamp, as collectd's.
    pub fn update<'a>(
        &mut self,
        id: &Ident<'_>,
        samples: impl IntoIterator<Item = Sample<'a>>,
        plugin_of: &str,
        time: u64,
        interval: u64,
        staleness: u64,
    ) -> Updated {
        let mut updated = Updated::default();
        let timestamp_ms = if interval <= staleness {
            Some(prometheus::cdtime_to_ms(time))
        } else {
            updated.beyond_staleness = true;
            None
        };
        let Store {
            families,
            series: count,
            name,
            key,
        } = self;
        key.clear();
        push_label_key(key, id);
        for ds in samples {
            let Some(value) = ds.value else { continue };
            let value = prometheus::sample_value(value);
            push_family_name(name, id, &ds);
            let family = match families.get_mut(name.as_str()) {
                Some(f) => f,
                None => families.entry(name.clone()).or_insert_with(|| Family {
                    help: format!(
                        "write_prometheus plugin: '{}' Type: '{}', Dstype: '{}', Dsname: '{}'",
                        id.plugin,
                        id.type_,
                        prometheus::ds_type_name(ds.kind),
                        ds.name
                    ),
                    gauge: ds.kind == DsType::Gauge,
                    metrics: BTreeMap::new(),
                }),
            };
            match family.metrics.get_mut(key.as_str()) {
                Some(series) => {
                    series.value = value;
                    series.timestamp_ms = timestamp_ms;
                }
                None => {
                    *count += 1;
                    family.metrics.insert(
                        key.clone(),
                        Series {
                            plugin: plugin_of.into(),
                            value,
                            timestamp_ms,
                        },
                    );
                }
            }
        }
        updated
    }

    /// Forgets the series of one value list. Returns the families that had
    /// no such series (collectd logs each).
    pub fn remove<'a>(
        &mut self,
        id: &Ident<'_>,
        samples: impl IntoIterator<Item = Sample<'a>>,
    ) -> Vec<String> {
        let mut not_found = Vec::new();
        let Store {
            families,
            series: count,
            name,
            key,
        } = self;
        key.clear();
        push_label_key(key, id);
        for ds in samples {
            push_family_name(name, id, &ds);
            let Some(family) = families.get_mut(name.as_str()) else {
                continue;
            };
            if family.metrics.remove(key.as_str()).is_none() {
                not_found.push(name.clone());
                continue;
            }
            *count -= 1;
            if family.metrics.is_empty() {
                families.remove(name.as_str());
            }
        }
        not_found
    }

    /// The text exposition (`text/plain; version=0.0.4`), ending with
    /// collectd's comment line naming the host.
    pub fn text(&self, out: &mut Vec<u8>, hostname: &str) {
        use std::io::Write as _;
        let mut num = String::new();
        for (name, family) in &self.families {
            let _ = write!(out, "# HELP {name} {}\n# TYPE {name} ", family.help);
            out.extend_from_slice(if family.gauge {
                b"gauge\n"
            } else {
                b"counter\n"
            });
            for (labels, series) in &family.metrics {
                out.extend_from_slice(name.as_bytes());
                out.push(b'{');
                let names = label_names(&series.plugin, key_count(labels));
                for (i, value) in key_values(labels).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(names[i].as_bytes());
                    out.extend_from_slice(b"=\"");
                    push_escaped(out, value);
                    out.push(b'"');
                }
                out.extend_from_slice(b"} ");
                if family.gauge {
                    push_gauge(out, &mut num, series.value);
                } else {
                    let _ = write!(out, "{:.0}", series.value);
                }
                if let Some(ts) = series.timestamp_ms {
                    let _ = write!(out, " {ts}");
                }
                out.push(b'\n');
            }
        }
        let _ = write!(
            out,
            "\n# collectd/write_prometheus {} at {hostname}\n",
            crate::COLLECTD_VERSION
        );
    }

    /// The protobuf exposition: each `MetricFamily` prefixed by its length.
    pub fn protobuf(&self, out: &mut Vec<u8>) {
        // Encoded field by field with prost's wire primitives into two
        // reused buffers, instead of building owned messages: a scrape of
        // 100,000 series would otherwise copy every label string.
        use prost::encoding::{encode_key, encode_varint, WireType};
        let mut family_buf = Vec::new();
        let mut metric_buf = Vec::new();
        let mut label_buf = Vec::new();
        for (name, family) in &self.families {
            family_buf.clear();
            put_str(1, name, &mut family_buf);
            put_str(2, &family.help, &mut family_buf);
            let kind = if family.gauge {
                proto::GAUGE
            } else {
                proto::COUNTER
            };
            prost::encoding::int32::encode(3, &kind, &mut family_buf);
            for (labels, series) in &family.metrics {
                metric_buf.clear();
                let names = label_names(&series.plugin, key_count(labels));
                for (i, value) in key_values(labels).enumerate() {
                    label_buf.clear();
                    put_str(1, names[i], &mut label_buf);
                    put_str(2, value, &mut label_buf);
                    prost::encoding::bytes::encode(1, &label_buf, &mut metric_buf);
                }
                // Gauge (2) or Counter (3): a message with the double in field 1.
                encode_key(
                    if family.gauge { 2 } else { 3 },
                    WireType::LengthDelimited,
                    &mut metric_buf,
                );
                encode_varint(9, &mut metric_buf);
                prost::encoding::double::encode(1, &series.value, &mut metric_buf);
                if let Some(ts) = series.timestamp_ms {
                    prost::encoding::int64::encode(6, &ts, &mut metric_buf);
                }
                prost::encoding::bytes::encode(4, &metric_buf, &mut family_buf);
            }
            encode_varint(family_buf.len() as u64, out);
            out.extend_from_slice(&family_buf);
        }
    }
}

/// A string field (`tag`, length-delimited) without copying the string.
fn put_str(tag: u32, value: &str, buf: &mut Vec<u8>) {
    prost::encoding::encode_key(tag, prost::encoding::WireType::LengthDelimited, buf);
    prost::encoding::encode_varint(value.len() as u64, buf);
    buf.extend_from_slice(value.as_bytes());
}

/// Appends a gauge as collectd's `GAUGE_FORMAT` (`%.15g`) prints it,
/// through `num`, a buffer reused across values.
fn push_gauge(out: &mut Vec<u8>, num: &mut String, v: f64) {
    num.clear();
    rcollectd_plugin_common::format::push_c(num, c"%.15g", v);
    out.extend_from_slice(num.as_bytes());
}

#[cfg(test)]
mod tests;
