//! collectd's text formats that several outputs share (csv, write_http):
//! numbers through the C library's `snprintf` with collectd's format
//! strings, identifiers as `format_name` writes them, `escape_string`, and
//! `format_values`, the `<time>:<value>...` of PUTVAL lines.

use std::borrow::Cow;
use std::ffi::CStr;
use std::fmt::Write as _;

use rcollectd_plugin::{CdTime, DsType, Value};

/// Appends `v` formatted with the C format `fmt` (one double conversion),
/// exactly as collectd's `snprintf` prints it.
pub fn push_c(out: &mut String, fmt: &CStr, v: f64) {
    rcollectd_core::sys::push_double(out, fmt, v);
}

/// collectd's `%.3f` (times and intervals).
pub fn push_3f(out: &mut String, v: f64) {
    push_c(out, c"%.3f", v);
}

/// `host/plugin[-pi]/type[-ti]` (collectd's `format_name`).
pub fn identifier(host: &str, plugin: &str, pi: &str, type_: &str, ti: &str) -> String {
    rcollectd_core::ident::Parts::of(host, plugin, pi, type_, ti).to_text()
}

/// collectd's `escape_string`: quotes the string, escaping `"` and `\`,
/// when it contains a blank, tab, quote or backslash.
pub fn escape_string(s: &str) -> Cow<'_, str> {
    if !s.contains([' ', '\t', '"', '\\']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 4);
    rcollectd_core::config::push_quoted(&mut out, s);
    Cow::Owned(out)
}

/// collectd's `format_values`: `%.3f` time, then per data source `:%.15g`
/// for gauges (and for rates when `rates` is given: StoreRates), else the
/// raw integer. `None` when the rates are missing.
pub fn push_values(
    out: &mut String,
    time: CdTime,
    values: impl IntoIterator<Item = (DsType, Value)>,
    rates: Option<&[f64]>,
) -> Option<()> {
    push_3f(out, time.as_secs_f64());
    for (i, (ds_type, value)) in values.into_iter().enumerate() {
        out.push(':');
        match (ds_type, value, rates) {
            (_, Value::Gauge(g), _) => push_c(out, c"%.15g", g),
            (_, _, Some(rates)) => push_c(out, c"%.15g", *rates.get(i)?),
            (_, Value::Counter(c) | Value::Absolute(c), None) => {
                let _ = write!(out, "{c}");
            }
            (_, Value::Derive(d), None) => {
                let _ = write!(out, "{d}");
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_identifiers() {
        assert_eq!(escape_string("a/b-c"), "a/b-c");
        assert_eq!(escape_string("a b\"c\\"), "\"a b\\\"c\\\\\"");
        assert_eq!(identifier("h", "p", "", "t", ""), "h/p/t");
        assert_eq!(identifier("h", "p", "0", "t", "idle"), "h/p-0/t-idle");
    }

    #[test]
    fn format_values_as_collectd() {
        let mut s = String::new();
        let v = [
            (DsType::Gauge, Value::Gauge(0.1)),
            (DsType::Derive, Value::Derive(-3)),
            (DsType::Counter, Value::Counter(u64::MAX)),
        ];
        push_values(&mut s, CdTime(1_700_000_000 << 30), v, None).unwrap();
        assert_eq!(s, "1700000000.000:0.1:-3:18446744073709551615");
        let mut s = String::new();
        push_values(&mut s, CdTime(0), v, Some(&[9.0, 0.5, 1e20])).unwrap();
        assert_eq!(s, "0.000:0.1:0.5:1e+20");
        assert!(push_values(&mut String::new(), CdTime(0), v, Some(&[])).is_none());
    }
}
