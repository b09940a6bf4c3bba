//! Pure part of the fhcount plugin: `file-nr` text to value lists.

use rcollectd_plugin_common::{is_true, split_fields, Metric};

/// The fhcount plugin's options, with collectd's names and defaults.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// `ValuesAbsolute` (default true): report handle counts.
    pub values_absolute: bool,
    /// `ValuesPercentage` (default false): report percentages of the maximum.
    pub values_percentage: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            values_absolute: true,
            values_percentage: false,
        }
    }
}

impl Config {
    /// Applies one `Key Value` option; unknown keys are errors.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key.to_ascii_lowercase().as_str() {
            "valuesabsolute" => self.values_absolute = is_true(value),
            "valuespercentage" => self.values_percentage = is_true(value),
            _ => return Err(format!("unknown option {key:?}")),
        }
        Ok(())
    }
}

/// Parses `file-nr` (allocated, free, maximum) and returns the value lists;
/// anything but three numbers is an error, as in collectd.
pub fn read(cfg: &Config, file_nr: &str) -> Result<Vec<Metric>, String> {
    // collectd reads only the first line (fgets into 60 bytes).
    let line = file_nr.lines().next().unwrap_or("");
    let fields: Vec<&str> = split_fields(line).take(3).collect();
    if fields.len() != 3 {
        return Err("fhcount: Line doesn't contain 3 fields".into());
    }
    let mut v = [0f64; 3];
    for (slot, f) in v.iter_mut().zip(&fields) {
        *slot = f
            .parse::<f64>()
            .map_err(|_| format!("fhcount: cannot parse {f:?} as a number"))?;
    }
    let [used, unused, max] = v;
    let mut out = Vec::new();
    if cfg.values_absolute {
        out.push(Metric::gauge("", "file_handles", "used", used));
        out.push(Metric::gauge("", "file_handles", "unused", unused));
        out.push(Metric::gauge("", "file_handles", "max", max));
    }
    if cfg.values_percentage {
        if max <= 0.0 {
            return Err("fhcount: maximum number of file handles is 0".into());
        }
        // collectd stores the percentage in an int: truncated toward zero.
        out.push(Metric::gauge(
            "",
            "percent",
            "used",
            (used / max * 100.0).trunc(),
        ));
        out.push(Metric::gauge(
            "",
            "percent",
            "unused",
            (unused / max * 100.0).trunc(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(out: &[Metric]) -> Vec<String> {
        out.iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn recorded_machine() {
        // The recorded file is "390\t0\t2466174".
        let mut cfg = Config::default();
        cfg.set("ValuesPercentage", "true").unwrap();
        let out = read(&cfg, include_str!("../tests/fixtures/file-nr")).unwrap();
        assert_eq!(
            lines(&out),
            [
                "/file_handles-used = 390",
                "/file_handles-unused = 0",
                "/file_handles-max = 2466174",
                "/percent-used = 0",
                "/percent-unused = 0",
            ]
        );
    }

    #[test]
    fn huge_maximum_and_truncated_percentages() {
        let mut cfg = Config::default();
        cfg.set("valuesabsolute", "false").unwrap();
        cfg.set("ValuesPercentage", "on").unwrap();
        let out = read(&cfg, "999 1 1000\n").unwrap();
        assert_eq!(lines(&out), ["/percent-used = 99", "/percent-unused = 0"]);
        let out = read(&Config::default(), "3808\t0\t9223372036854775807\n").unwrap();
        assert_eq!(
            out[2],
            Metric::gauge("", "file_handles", "max", 9.223372036854776e18)
        );
    }

    #[test]
    fn malformed_input_is_an_error() {
        let cfg = Config::default();
        assert!(read(&cfg, "").is_err());
        assert!(read(&cfg, "1 2\n").is_err());
        assert!(read(&cfg, "1 x 3\n").is_err());
        let mut pct = Config::default();
        pct.set("ValuesPercentage", "true").unwrap();
        assert!(read(&pct, "1 2 0\n").is_err());
        assert!(Config::default().set("Nope", "1").is_err());
        // A longer line: extra fields are ignored like collectd's strsplit.
        assert_eq!(read(&cfg, "1 2 3 4\n").unwrap().len(), 3);
    }
}
