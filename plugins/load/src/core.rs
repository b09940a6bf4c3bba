//! Pure part of the load plugin: load averages to the value list collectd
//! 5.12's load plugin dispatches.

use rcollectd_plugin::Value;
use rcollectd_plugin_common::Metric;

/// Why `/proc/loadavg` could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot parse /proc/loadavg: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

/// Parse the three load averages of `/proc/loadavg`.
pub fn parse_loadavg(text: &str) -> Result<[f64; 3], ParseError> {
    let mut out = [0.0; 3];
    let mut fields = text.split_ascii_whitespace();
    for slot in out.iter_mut() {
        let field = fields
            .next()
            .ok_or_else(|| ParseError(format!("fewer than 3 fields in {text:?}")))?;
        *slot = field
            .parse()
            .map_err(|_| ParseError(format!("not a number: {field:?}")))?;
    }
    Ok(out)
}

/// Load averages from `sysinfo(2)`'s fixed-point `loads` (16 fraction bits),
/// which is what glibc's `getloadavg`, and so collectd, reports on Linux: the
/// kernel's full precision rather than the two decimals of `/proc/loadavg`.
pub fn from_sysinfo(loads: [u64; 3]) -> [f64; 3] {
    loads.map(|l| l as f64 / 65536.0)
}

/// The value list for `loads`; with `relative_cores` (ReportRelative and a
/// known CPU count above 0) each average is divided by the CPU count.
pub fn metric(loads: [f64; 3], relative_cores: Option<u32>) -> Metric {
    let (type_instance, loads) = match relative_cores {
        Some(cores) if cores > 0 => ("relative", loads.map(|l| l / f64::from(cores))),
        _ => ("", loads),
    };
    Metric::new("", "load", type_instance, loads.map(Value::Gauge).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn recorded_loadavg() {
        let loads = parse_loadavg(&fixture("loadavg.txt")).unwrap();
        assert_eq!(
            metric(loads, None),
            Metric::new(
                "",
                "load",
                "",
                [0.41, 0.31, 0.19].map(Value::Gauge).to_vec()
            )
        );
    }

    #[test]
    fn relative_divides_by_cores() {
        let loads = parse_loadavg(&fixture("loadavg.txt")).unwrap();
        assert_eq!(
            metric(loads, Some(2)),
            Metric::new(
                "",
                "load",
                "relative",
                [0.205, 0.155, 0.095].map(Value::Gauge).to_vec()
            )
        );
        // Unknown CPU count: absolute values, as collectd does.
        assert_eq!(metric(loads, Some(0)).type_instance, "");
    }

    #[test]
    fn sysinfo_fixed_point() {
        // avenrun 5069/2048 shifted to 16 fraction bits; collectd's CSV shows
        // it as 2.475098.
        let l = from_sysinfo([5069 << 5, 2048 << 5, 0]);
        assert_eq!(format!("{:.6}", l[0]), "2.475098");
        assert_eq!(l[1], 1.0);
        assert_eq!(l[2], 0.0);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(parse_loadavg("0.5 0.2\n").is_err());
        assert!(parse_loadavg("0.5 x 0.1 1/2 3\n").is_err());
        assert!(parse_loadavg("").is_err());
        assert_eq!(
            parse_loadavg(&fixture("loadavg_long.txt")).unwrap(),
            [123.45, 67.89, 1000.0]
        );
    }
}
