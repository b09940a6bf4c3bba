//! The csv plugin's text formats, byte for byte as collectd 5.12 writes them:
//! numbers go through the C library's `snprintf` with collectd's format
//! strings, so rounding, `nan`/`-nan`/`inf` and huge values match exactly.

use std::fmt::Write as _;

use rcollectd_plugin::{CdTime, DsType, Value};
pub use rcollectd_plugin_common::format::{escape_string, identifier, push_3f, push_c};

/// collectd's `%lf`.
pub fn push_lf(out: &mut String, v: f64) {
    push_c(out, c"%lf", v);
}

/// The header line of a new file: `epoch,<ds names>` (without newline).
pub fn header<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let mut s = String::from("epoch");
    for n in names {
        s.push(',');
        s.push_str(n);
    }
    s
}

/// Why a line could not be formatted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// StoreRates is on but the cache had no rates.
    NoRates,
}

/// Appends one data line (without newline): `%.3f` epoch, then per data
/// source `,%lf` for gauges, `,%lf` of the rate when `rates` is given (the
/// StoreRates case), else the raw integer.
pub fn push_line(
    out: &mut String,
    time: CdTime,
    values: impl IntoIterator<Item = (DsType, Value)>,
    rates: Option<&[f64]>,
) -> Result<(), FormatError> {
    push_3f(out, time.as_secs_f64());
    for (i, (ds_type, value)) in values.into_iter().enumerate() {
        out.push(',');
        match (ds_type, value, rates) {
            (DsType::Gauge, Value::Gauge(g), _) => push_lf(out, g),
            (_, _, Some(rates)) => push_lf(out, *rates.get(i).ok_or(FormatError::NoRates)?),
            (_, Value::Counter(c) | Value::Absolute(c), None) => {
                let _ = write!(out, "{c}");
            }
            (_, Value::Derive(d), None) => {
                let _ = write!(out, "{d}");
            }
            // A gauge value under a non-gauge data source cannot come from a
            // `ValueList` (values are read by their data source's type).
            (_, Value::Gauge(g), None) => push_lf(out, g),
        }
    }
    Ok(())
}

/// The DataDir stdout/stderr form: `PUTVAL <id> interval=%.3f <values>`
/// with the line's commas turned into colons (with newline).
pub fn putval_line(id: &str, interval: CdTime, line: &str) -> String {
    let mut s = String::with_capacity(line.len() + id.len() + 32);
    s.push_str("PUTVAL ");
    s.push_str(&escape_string(id));
    s.push_str(" interval=");
    push_3f(&mut s, interval.as_secs_f64());
    s.push(' ');
    s.extend(line.chars().map(|c| if c == ',' { ':' } else { c }));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_formats() {
        let mut s = String::new();
        push_lf(&mut s, f64::NAN);
        s.push(' ');
        push_lf(&mut s, -f64::NAN);
        s.push(' ');
        push_lf(&mut s, f64::NEG_INFINITY);
        s.push(' ');
        push_3f(&mut s, 0.0005);
        assert_eq!(s, "nan -nan -inf 0.001");
        let mut big = String::new();
        push_lf(&mut big, 1e300);
        assert_eq!(big.len(), 301 + 7);
        assert!(big.starts_with("1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160.000000"));
    }

    #[test]
    fn missing_rates_is_an_error() {
        let mut s = String::new();
        let r = push_line(
            &mut s,
            CdTime(0),
            [(DsType::Derive, Value::Derive(1))],
            Some(&[]),
        );
        assert_eq!(r, Err(FormatError::NoRates));
    }
}
