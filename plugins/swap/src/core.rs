//! Pure part of the swap plugin: `/proc/swaps`, `/proc/meminfo` and
//! `/proc/vmstat` text to the value lists collectd 5.12's swap plugin
//! dispatches on Linux.

use rcollectd_plugin_common::Metric;

/// Options of the swap plugin, with collectd's names and defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `ReportByDevice`: one plugin instance per swap device/file.
    pub report_by_device: bool,
    /// `ReportBytes`: swap_io in bytes instead of pages.
    pub report_bytes: bool,
    /// `ValuesAbsolute`: bytes per state (type `swap`); default on.
    pub values_absolute: bool,
    /// `ValuesPercentage`: share of each state in percent (type `percent`).
    pub values_percentage: bool,
    /// `ReportIO`: pages (or bytes) swapped in and out (type `swap_io`).
    pub report_io: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            report_by_device: false,
            report_bytes: false,
            values_absolute: true,
            values_percentage: false,
            report_io: true,
        }
    }
}

/// Why a source produced no values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A required field is absent (e.g. SwapTotal, pswpin).
    Missing(&'static str),
    /// The counters contradict each other (used would be negative).
    Inconsistent,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Missing(what) => write!(f, "field {what} not found"),
            Error::Inconsistent => f.write_str("SwapFree + SwapCached exceed SwapTotal"),
        }
    }
}

impl std::error::Error for Error {}

/// collectd's `escape_slashes`: drop one leading '/', turn the others into
/// '_', and call "/" itself "root".
pub fn escape_slashes(path: &str) -> String {
    if path == "/" {
        return "root".to_string();
    }
    if path.len() <= 1 {
        return path.to_string();
    }
    path.strip_prefix('/').unwrap_or(path).replace('/', "_")
}

/// C `strtod` prefix semantics: `None` when no number starts the field.
fn strtod_prefix(s: &str) -> Option<f64> {
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '-' || c == '+') && i == 0)))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse().ok()
}

/// collectd's multivalue dispatch of gauges: absolute then percent of sum.
fn usage(instance: &str, states: &[(&'static str, f64)], opts: &Options, out: &mut Vec<Metric>) {
    let mut emit = |type_: &'static str, scale: f64| {
        for &(name, v) in states {
            out.push(Metric::gauge(instance, type_, name, v * scale));
        }
    };
    if opts.values_absolute {
        emit("swap", 1.0);
    }
    if opts.values_percentage {
        let sum: f64 = states.iter().map(|s| s.1).filter(|v| !v.is_nan()).sum();
        emit("percent", if sum != 0.0 { 100.0 / sum } else { f64::NAN });
    }
}

/// The first whitespace-separated fields of a line, at most 8 as collectd's
/// `strsplit` into 8, and how many there were: no allocation per line of
/// the ~190-line `/proc/vmstat` read every interval.
fn split8(line: &str) -> ([&str; 8], usize) {
    let mut out = [""; 8];
    let mut n = 0;
    for (slot, f) in out.iter_mut().zip(line.split_ascii_whitespace()) {
        *slot = f;
        n += 1;
    }
    (out, n)
}

/// ReportByDevice: one used/free pair per line of `/proc/swaps`.
pub fn read_separate(swaps: &str, opts: &Options) -> Vec<Metric> {
    let mut out = Vec::new();
    for line in swaps.lines() {
        // collectd splits into at most 8 fields and wants exactly 5.
        let (fields, n) = split8(line);
        if n != 5 {
            continue;
        }
        let (Some(total), Some(used)) = (strtod_prefix(fields[2]), strtod_prefix(fields[3])) else {
            continue; // the header line
        };
        if total < used {
            continue;
        }
        let states = [("used", used * 1024.0), ("free", (total - used) * 1024.0)];
        usage(&escape_slashes(fields[0]), &states, opts, &mut out);
    }
    out
}

/// Default: the totals of `/proc/meminfo` (used, free and, when the kernel
/// reports it, cached).
pub fn read_combined(meminfo: &str, opts: &Options) -> Result<Vec<Metric>, Error> {
    let (mut total, mut free, mut cached) = (None, None, None);
    for line in meminfo.lines() {
        let (fields, n) = split8(line);
        if n < 2 {
            continue;
        }
        let key = fields[0];
        let slot = if key.eq_ignore_ascii_case("swaptotal:") {
            &mut total
        } else if key.eq_ignore_ascii_case("swapfree:") {
            &mut free
        } else if key.eq_ignore_ascii_case("swapcached:") {
            &mut cached
        } else {
            continue;
        };
        *slot = fields[1].parse::<f64>().ok();
    }
    let total = total.ok_or(Error::Missing("SwapTotal"))?;
    let free = free.ok_or(Error::Missing("SwapFree"))?;
    let used = total - (free + cached.unwrap_or(0.0));
    if used < 0.0 {
        return Err(Error::Inconsistent);
    }
    let mut states = vec![("used", used * 1024.0), ("free", free * 1024.0)];
    if let Some(c) = cached {
        states.push(("cached", c * 1024.0));
    }
    let mut out = Vec::new();
    usage("", &states, opts, &mut out);
    Ok(out)
}

/// ReportIO: `pswpin`/`pswpout` of `/proc/vmstat` as swap_io in/out, in
/// pages, or bytes with ReportBytes (`page_size` bytes per page).
pub fn read_io(vmstat: &str, report_bytes: bool, page_size: i64) -> Result<Vec<Metric>, Error> {
    let (mut sin, mut sout) = (None, None);
    for line in vmstat.lines() {
        let (fields, n) = split8(line);
        if n != 2 {
            continue;
        }
        let slot = if fields[0].eq_ignore_ascii_case("pswpin") {
            &mut sin
        } else if fields[0].eq_ignore_ascii_case("pswpout") {
            &mut sout
        } else {
            continue;
        };
        *slot = Some(fields[1].parse::<i64>().unwrap_or(0));
    }
    let mut sin = sin.ok_or(Error::Missing("pswpin"))?;
    let mut sout = sout.ok_or(Error::Missing("pswpout"))?;
    if report_bytes {
        sin = sin.wrapping_mul(page_size);
        sout = sout.wrapping_mul(page_size);
    }
    let io = |type_instance, v| Metric::derive("", "swap_io", type_instance, v);
    Ok(vec![io("in", sin), io("out", sout)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::Value;

    #[test]
    fn lines_split_into_at_most_eight_fields() {
        assert_eq!(
            split8("pswpin 12\n"),
            (["pswpin", "12", "", "", "", "", "", ""], 2)
        );
        assert_eq!(split8("   ").1, 0);
        let (f, n) = split8("1 2 3 4 5 6 7 8 9 10");
        assert_eq!((n, f[7]), (8, "8"));
    }

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn g(inst: &str, type_: &str, ti: &str, v: f64) -> Metric {
        Metric::gauge(inst, type_, ti, v)
    }

    #[test]
    fn recorded_machine_without_swap() {
        let got = read_combined(&fixture("meminfo_noswap.txt"), &Options::default()).unwrap();
        assert_eq!(
            got,
            vec![
                g("", "swap", "used", 0.0),
                g("", "swap", "free", 0.0),
                g("", "swap", "cached", 0.0)
            ]
        );
        assert!(read_separate(&fixture("swaps_empty.txt"), &Options::default()).is_empty());
        // Percent of a zero sum is NaN, as in collectd.
        let pct = Options {
            values_absolute: false,
            values_percentage: true,
            ..Options::default()
        };
        let got = read_combined(&fixture("meminfo_noswap.txt"), &pct).unwrap();
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(
            |m| m.type_ == "percent" && matches!(m.values[..], [Value::Gauge(v)] if v.is_nan())
        ));
    }

    #[test]
    fn combined_with_swap_in_use() {
        let opts = Options {
            values_percentage: true,
            ..Options::default()
        };
        let got = read_combined(&fixture("meminfo_swap.txt"), &opts).unwrap();
        // SwapTotal 2097148, SwapFree 1048576, SwapCached 4 kB.
        let kib = 1024.0;
        let used = (2097148.0 - 1048576.0 - 4.0) * kib;
        let sum = 2097148.0 * kib;
        assert_eq!(
            got,
            vec![
                g("", "swap", "used", used),
                g("", "swap", "free", 1048576.0 * kib),
                g("", "swap", "cached", 4.0 * kib),
                g("", "percent", "used", used * (100.0 / sum)),
                g("", "percent", "free", 1048576.0 * kib * (100.0 / sum)),
                g("", "percent", "cached", 4.0 * kib * (100.0 / sum)),
            ]
        );
    }

    #[test]
    fn combined_without_swapcached_and_errors() {
        let got =
            read_combined("SwapTotal: 100 kB\nSwapFree: 40 kB\n", &Options::default()).unwrap();
        assert_eq!(
            got,
            vec![
                g("", "swap", "used", 60.0 * 1024.0),
                g("", "swap", "free", 40.0 * 1024.0)
            ]
        );
        assert_eq!(
            read_combined("SwapFree: 40 kB\n", &Options::default()),
            Err(Error::Missing("SwapTotal"))
        );
        assert_eq!(
            read_combined("SwapTotal: 10 kB\nSwapFree: 40 kB\n", &Options::default()),
            Err(Error::Inconsistent)
        );
    }

    #[test]
    fn by_device() {
        let opts = Options {
            report_by_device: true,
            values_percentage: true,
            ..Options::default()
        };
        let got = read_separate(&fixture("swaps_devices.txt"), &opts);
        let kib = 1024.0;
        assert_eq!(
            got,
            vec![
                g("dev_sda2", "swap", "used", 1000.0 * kib),
                g("dev_sda2", "swap", "free", 3000.0 * kib),
                g("dev_sda2", "percent", "used", 25.0),
                g("dev_sda2", "percent", "free", 75.0),
                g("var_lib_swap_file", "swap", "used", 0.0),
                g("var_lib_swap_file", "swap", "free", 1024.0 * kib),
                g("var_lib_swap_file", "percent", "used", 0.0),
                g("var_lib_swap_file", "percent", "free", 100.0),
            ]
        );
    }

    #[test]
    fn io_pages_and_bytes() {
        let vm = fixture("vmstat.txt");
        let d = |ti, v| Metric::derive("", "swap_io", ti, v);
        assert_eq!(
            read_io(&vm, false, 4096).unwrap(),
            vec![d("in", 0), d("out", 0)]
        );
        let text = "pgpgin 5\npswpin 3\npswpout 7\n";
        assert_eq!(
            read_io(text, true, 4096).unwrap(),
            vec![d("in", 3 * 4096), d("out", 7 * 4096)]
        );
        assert_eq!(
            read_io("pswpin 3\n", false, 4096),
            Err(Error::Missing("pswpout"))
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_slashes("/"), "root");
        assert_eq!(escape_slashes("/dev/sda2"), "dev_sda2");
        assert_eq!(escape_slashes("swapfile"), "swapfile");
        assert_eq!(escape_slashes("a"), "a");
    }
}
