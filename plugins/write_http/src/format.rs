//! The bodies write_http posts: collectd 5.12's `Command` lines and `JSON`
//! value lists and notifications byte for byte, and rcollectd's `InfluxDB`
//! line protocol.

use std::fmt::Write as _;

use rcollectd_plugin::{CdTime, DsType, MetaValue, NotificationMetaValue, Value};
use rcollectd_plugin_common::format::{escape_string, identifier, push_3f, push_c, push_values};

/// Longest PUTVAL line collectd's write_http formats (`char command[1024]`).
pub const COMMAND_MAX: usize = 1023;

/// The identifier and values of one value list, as the formats need them.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// Host.
    pub host: &'a str,
    /// Plugin.
    pub plugin: &'a str,
    /// Plugin instance.
    pub plugin_instance: &'a str,
    /// Type.
    pub type_: &'a str,
    /// Type instance.
    pub type_instance: &'a str,
    /// Time.
    pub time: CdTime,
    /// Interval.
    pub interval: CdTime,
    /// Data source names, types and values.
    pub values: Vec<(&'a str, DsType, Value)>,
    /// Per-second rates (StoreRates with a non-gauge data source).
    pub rates: Option<Vec<f64>>,
    /// Meta data, in the order collectd lists it.
    pub meta: Vec<(String, MetaValue)>,
}

impl Record<'_> {
    fn identifier(&self) -> String {
        identifier(
            self.host,
            self.plugin,
            self.plugin_instance,
            self.type_,
            self.type_instance,
        )
    }
}

/// `PUTVAL <identifier> interval=<s> <values>\r\n`; `None` when rates are
/// missing.
pub fn command(r: &Record<'_>) -> Option<String> {
    let mut out = String::with_capacity(128);
    out.push_str("PUTVAL ");
    out.push_str(&escape_string(&r.identifier()));
    out.push_str(" interval=");
    push_3f(&mut out, r.interval.as_secs_f64());
    out.push(' ');
    push_values(
        &mut out,
        r.time,
        r.values.iter().map(|(_, t, v)| (*t, *v)),
        r.rates.as_deref(),
    )?;
    out.push_str("\r\n");
    Some(out)
}

/// collectd's `json_escape_string`: quoted, `"` and `\` escaped, control
/// characters replaced by `?`.
fn push_json_escaped(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 => out.push('?'),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_json_number(out: &mut String, v: f64) {
    if v.is_finite() {
        push_c(out, c"%.15g", v);
    } else {
        out.push_str("null");
    }
}

/// One value list as collectd's JSON format appends it to the buffer:
/// `,{"values":[...],...}` (the first comma becomes the array's `[`).
pub fn json(r: &Record<'_>) -> Option<String> {
    let mut out = String::with_capacity(256);
    out.push_str(",{\"values\":[");
    for (i, (_, t, v)) in r.values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match (t, v, &r.rates) {
            (_, Value::Gauge(g), _) => push_json_number(&mut out, *g),
            (_, _, Some(rates)) => push_json_number(&mut out, *rates.get(i)?),
            (_, Value::Counter(c) | Value::Absolute(c), None) => {
                let _ = write!(out, "{c}");
            }
            (_, Value::Derive(d), None) => {
                let _ = write!(out, "{d}");
            }
        }
    }
    out.push_str("],\"dstypes\":[");
    for (i, (_, t, _)) in r.values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{}\"", t.as_str().to_ascii_lowercase());
    }
    out.push_str("],\"dsnames\":[");
    for (i, (name, _, _)) in r.values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{name}\"");
    }
    out.push_str("],\"time\":");
    push_3f(&mut out, r.time.as_secs_f64());
    out.push_str(",\"interval\":");
    push_3f(&mut out, r.interval.as_secs_f64());
    for (key, value) in [
        ("host", r.host),
        ("plugin", r.plugin),
        ("plugin_instance", r.plugin_instance),
        ("type", r.type_),
        ("type_instance", r.type_instance),
    ] {
        let _ = write!(out, ",\"{key}\":");
        push_json_escaped(&mut out, value);
    }
    if !r.meta.is_empty() {
        out.push_str(",\"meta\":{");
        for (i, (key, value)) in r.meta.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{key}\":");
            match value {
                MetaValue::String(s) => push_json_escaped(&mut out, s),
                MetaValue::SignedInt(v) => {
                    let _ = write!(out, "{v}");
                }
                MetaValue::UnsignedInt(v) => {
                    let _ = write!(out, "{v}");
                }
                MetaValue::Double(v) => push_c(&mut out, c"%f", *v),
                MetaValue::Boolean(v) => {
                    let _ = write!(out, "{v}");
                }
            }
        }
        out.push('}');
    }
    out.push('}');
    Some(out)
}

/// KAIROSDB options of a node: `Prefix` (collectd's default `collectd`;
/// `Prefix ""` none), `TTL` (0: none) and the `Attribute` tags, which
/// collectd shares among all nodes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Kairos {
    /// Metric name prefix.
    pub prefix: Option<String>,
    /// Data TTL in seconds (0: not sent).
    pub ttl: i64,
    /// Extra tags, in configuration order.
    pub attributes: Vec<(String, String)>,
}

/// collectd's `kairosdb_escape_string`: quoted, only ASCII letters and
/// digits (lowercased), `-`, `.` and `_` kept.
fn push_kairos_escaped(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
            out.push(c.to_ascii_lowercase());
        }
    }
    out.push('"');
}

/// Why a value list has no KAIROSDB form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KairosSkip {
    /// A gauge that is NaN or infinite (collectd skips it silently).
    NotFinite,
    /// A rate that is NaN or infinite (collectd warns).
    RateNotFinite(String),
}

/// One value list as collectd's KAIROSDB format appends it: one
/// `,{"name":...}` object per data source (the first comma becomes `[`).
pub fn kairosdb(r: &Record<'_>, k: &Kairos) -> Result<String, KairosSkip> {
    let mut out = String::with_capacity(256);
    for (i, (name, _, v)) in r.values.iter().enumerate() {
        out.push_str(",{\"name\":\"");
        if let Some(p) = &k.prefix {
            out.push_str(p);
            out.push('.');
        }
        out.push_str(r.plugin);
        let _ = write!(
            out,
            "\", \"datapoints\": [[{},",
            rcollectd_plugin_common::prometheus::cdtime_to_ms(r.time.0)
        );
        match (v, &r.rates) {
            (Value::Gauge(g), _) => {
                if !g.is_finite() {
                    return Err(KairosSkip::NotFinite);
                }
                push_c(&mut out, c"%.15g", *g);
            }
            (_, Some(rates)) => {
                let rate = rates.get(i).copied().unwrap_or(f64::NAN);
                if !rate.is_finite() {
                    return Err(KairosSkip::RateNotFinite(format!(
                        "{}|{}|{}|{}|{name}",
                        r.plugin, r.plugin_instance, r.type_, r.type_instance
                    )));
                }
                push_c(&mut out, c"%.15g", rate);
            }
            (Value::Counter(c) | Value::Absolute(c), None) => {
                let _ = write!(out, "{c}");
            }
            (Value::Derive(d), None) => {
                let _ = write!(out, "{d}");
            }
        }
        out.push_str("]]");
        if k.ttl != 0 {
            let _ = write!(out, ", \"ttl\": {}", k.ttl);
        }
        let _ = write!(out, ", \"tags\":{{\"host\": \"{}\"", r.host);
        for (key, value) in &k.attributes {
            let _ = write!(out, ", \"{key}\": \"{value}\"");
        }
        let mut tag = |key: &str, value: &str| {
            let _ = write!(out, ",\"{key}\": ");
            push_kairos_escaped(&mut out, value);
        };
        if !r.plugin_instance.is_empty() {
            tag("plugin_instance", r.plugin_instance);
        }
        tag("type", r.type_);
        if !r.type_instance.is_empty() {
            tag("type_instance", r.type_instance);
        }
        if r.values.len() != 1 {
            tag("ds", name);
        }
        out.push_str("}}");
    }
    Ok(out)
}

/// Escapes what line protocol treats specially in measurements (`,` and
/// space) or in tag keys, tag values and field keys (also `=`).
fn push_influx_escaped(out: &mut String, s: &str, equals: bool) {
    for c in s.chars() {
        if c == ',' || c == ' ' || (equals && c == '=') || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
}

/// One value list as an InfluxDB line: measurement `<plugin>_<type>` (just
/// `<plugin>` when both are equal), tags `host`, `plugin_instance`,
/// `type_instance` (the empty ones left out), one field per data source
/// (gauges and rates as floats, integers with `i`; NaN and infinities left
/// out), nanosecond timestamp. `None` when no field is left.
pub fn influx(r: &Record<'_>) -> Option<String> {
    let mut out = String::with_capacity(128);
    push_influx_escaped(&mut out, r.plugin, false);
    if r.plugin != r.type_ {
        out.push('_');
        push_influx_escaped(&mut out, r.type_, false);
    }
    for (key, value) in [
        ("host", r.host),
        ("plugin_instance", r.plugin_instance),
        ("type_instance", r.type_instance),
    ] {
        if !value.is_empty() {
            out.push(',');
            out.push_str(key);
            out.push('=');
            push_influx_escaped(&mut out, value, true);
        }
    }
    let mut fields = 0;
    for (i, (name, _, v)) in r.values.iter().enumerate() {
        let float = match (v, &r.rates) {
            (Value::Gauge(g), _) => Some(*g),
            (_, Some(rates)) => Some(*rates.get(i)?),
            _ => None,
        };
        if float.is_some_and(|f| !f.is_finite()) {
            continue;
        }
        out.push(if fields == 0 { ' ' } else { ',' });
        fields += 1;
        push_influx_escaped(&mut out, name, true);
        out.push('=');
        match (float, v) {
            (Some(f), _) => {
                let _ = write!(out, "{f:?}");
            }
            (None, Value::Derive(d)) => {
                let _ = write!(out, "{d}i");
            }
            (None, Value::Counter(c) | Value::Absolute(c)) => match i64::try_from(*c) {
                Ok(c) => {
                    let _ = write!(out, "{c}i");
                }
                Err(_) => {
                    let _ = write!(out, "{:?}", *c as f64);
                }
            },
            (None, Value::Gauge(_)) => unreachable!("gauges are floats"),
        }
    }
    if fields == 0 {
        return None;
    }
    let _ = writeln!(out, " {}", cdtime_to_ns(r.time));
    Some(out)
}

/// collectd's `CDTIME_T_TO_NS`.
pub fn cdtime_to_ns(t: CdTime) -> u64 {
    let t = t.0;
    (t >> 30) * 1_000_000_000 + (((t & 0x3fff_ffff) * 1_000_000_000 + (1 << 29)) >> 30)
}

/// What the notification formatter needs.
#[derive(Debug, Clone)]
pub struct Alert<'a> {
    /// `FAILURE`, `WARNING`, `OKAY` or `UNKNOWN`.
    pub severity: &'a str,
    /// Time.
    pub time: CdTime,
    /// Message.
    pub message: &'a str,
    /// Host.
    pub host: &'a str,
    /// Plugin.
    pub plugin: &'a str,
    /// Plugin instance.
    pub plugin_instance: &'a str,
    /// Type.
    pub type_: &'a str,
    /// Type instance.
    pub type_instance: &'a str,
    /// Meta data.
    pub meta: Vec<(&'a str, NotificationMetaValue<'a>)>,
}

/// A JSON string as yajl writes one: `"` `\` and control characters
/// escaped, everything else as is.
fn push_yajl_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (collectd's `rfc3339nano`, UTC).
pub fn rfc3339nano(t: CdTime) -> String {
    let ns = cdtime_to_ns(t);
    let secs = (ns / 1_000_000_000) as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value to overwrite.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid locals; gmtime_r is thread-safe.
    if unsafe { libc::gmtime_r(&secs, &mut tm) }.is_null() {
        return String::new();
    }
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        ns % 1_000_000_000
    )
}

/// A notification as collectd's JSON format posts it (a one-element array
/// of Prometheus Alertmanager v1 alerts).
pub fn json_alert(n: &Alert<'_>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("[{\"labels\":{\"alertname\":");
    let alertname = if n.type_.starts_with(n.plugin) {
        format!("collectd_{}", n.type_)
    } else {
        format!("collectd_{}_{}", n.plugin, n.type_)
    };
    push_yajl_string(&mut out, &alertname);
    out.push_str(",\"instance\":");
    push_yajl_string(&mut out, n.host);
    if !n.plugin_instance.is_empty() {
        out.push(',');
        push_yajl_string(&mut out, n.plugin);
        out.push(':');
        push_yajl_string(&mut out, n.plugin_instance);
    }
    if !n.type_instance.is_empty() {
        out.push(',');
        let key = if n.plugin_instance.is_empty() {
            n.plugin
        } else {
            "type"
        };
        push_yajl_string(&mut out, key);
        out.push(':');
        push_yajl_string(&mut out, n.type_instance);
    }
    out.push_str(",\"severity\":");
    push_yajl_string(&mut out, n.severity);
    out.push_str(",\"service\":\"collectd\"},\"annotations\":{\"summary\":");
    push_yajl_string(&mut out, n.message);
    for (name, value) in &n.meta {
        out.push(',');
        push_yajl_string(&mut out, name);
        out.push(':');
        let text = match value {
            NotificationMetaValue::String(s) => (*s).to_owned(),
            NotificationMetaValue::SignedInt(v) => v.to_string(),
            NotificationMetaValue::UnsignedInt(v) => v.to_string(),
            NotificationMetaValue::Double(v) => {
                let mut s = String::new();
                push_c(&mut s, c"%.15g", *v);
                s
            }
            NotificationMetaValue::Boolean(b) => b.to_string(),
        };
        push_yajl_string(&mut out, &text);
    }
    out.push_str("},\"startsAt\":");
    push_yajl_string(&mut out, &rfc3339nano(n.time));
    out.push_str("}]");
    out
}

#[cfg(test)]
mod tests;
