//! Pure part of the memory plugin: `/proc/meminfo` text to the value lists
//! collectd 5.12's memory plugin dispatches on Linux.

use rcollectd_plugin_common::Metric;

/// Options of the memory plugin, with collectd's names and defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `ValuesAbsolute`: bytes per state (type `memory`); default on.
    pub values_absolute: bool,
    /// `ValuesPercentage`: share of each state in percent (type `percent`).
    pub values_percentage: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            values_absolute: true,
            values_percentage: false,
        }
    }
}

/// Why a reading produced no values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// MemTotal is smaller than the states it should contain.
    Inconsistent,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Inconsistent => {
                f.write_str("MemTotal is smaller than MemFree + Buffers + Cached + Slab")
            }
        }
    }
}

/// C `atof` on a field: the longest numeric prefix, 0 when there is none.
fn atof(s: &str) -> f64 {
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '-' || c == '+') && i == 0)))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse().unwrap_or(0.0)
}

/// Parse `/proc/meminfo` and compute the states; the order of the returned
/// list is collectd's dispatch order.
pub fn read(meminfo: &str, opts: &Options) -> Result<Vec<Metric>, Error> {
    let (mut total, mut free, mut buffers, mut cached) = (0.0, 0.0, 0.0, 0.0);
    let (mut slab, mut recl, mut unrecl) = (0.0, 0.0, 0.0);
    let mut detailed_slab = false;
    for line in meminfo.lines() {
        let lower = line
            .get(..13.min(line.len()))
            .unwrap_or("")
            .to_ascii_lowercase();
        let slot = if lower.starts_with("memtotal:") {
            &mut total
        } else if lower.starts_with("memfree:") {
            &mut free
        } else if lower.starts_with("buffers:") {
            &mut buffers
        } else if lower.starts_with("cached:") {
            &mut cached
        } else if lower.starts_with("slab:") {
            &mut slab
        } else if lower.starts_with("sreclaimable:") {
            detailed_slab = true;
            &mut recl
        } else if lower.starts_with("sunreclaim:") {
            detailed_slab = true;
            &mut unrecl
        } else {
            continue;
        };
        let mut fields = line.split_ascii_whitespace();
        if let (Some(_), Some(v)) = (fields.next(), fields.next()) {
            *slot = 1024.0 * atof(v);
        }
    }
    if total < free + buffers + cached + slab {
        return Err(Error::Inconsistent);
    }
    let used = total - (free + buffers + cached + slab);
    let states: Vec<(&'static str, f64)> = if detailed_slab {
        vec![
            ("used", used),
            ("buffered", buffers),
            ("cached", cached),
            ("free", free),
            ("slab_unrecl", unrecl),
            ("slab_recl", recl),
        ]
    } else {
        vec![
            ("used", used),
            ("buffered", buffers),
            ("cached", cached),
            ("free", free),
            ("slab", slab),
        ]
    };
    Ok(multivalue(&states, opts))
}

/// collectd's `plugin_dispatch_multivalue` for gauges: absolute values, then
/// percentages of their sum (NaN when the sum is 0).
fn multivalue(states: &[(&'static str, f64)], opts: &Options) -> Vec<Metric> {
    let mut out = Vec::new();
    if opts.values_absolute {
        out.extend(
            states
                .iter()
                .map(|&(name, v)| Metric::gauge("", "memory", name, v)),
        );
    }
    if opts.values_percentage {
        let sum: f64 = states.iter().map(|s| s.1).filter(|v| !v.is_nan()).sum();
        out.extend(states.iter().map(|&(name, v)| {
            let percent = if sum != 0.0 {
                v * (100.0 / sum)
            } else {
                f64::NAN
            };
            Metric::gauge("", "percent", name, percent)
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::Value;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn m(type_: &str, type_instance: &str, value: f64) -> Metric {
        Metric::gauge("", type_, type_instance, value)
    }

    /// The single gauge of a memory value list.
    fn value(m: &Metric) -> f64 {
        match m.values[..] {
            [Value::Gauge(v)] => v,
            _ => panic!("not one gauge: {m}"),
        }
    }

    #[test]
    fn recorded_meminfo_absolute() {
        let got = read(&fixture("meminfo.txt"), &Options::default()).unwrap();
        // MemTotal 24683656, MemFree 23636464, Buffers 4504, Cached 732020,
        // Slab 141184 (SReclaimable 116944 + SUnreclaim 24240) kB.
        let kib = |v: f64| v * 1024.0;
        let want = vec![
            m(
                "memory",
                "used",
                kib(24683656.0 - (23636464.0 + 4504.0 + 732020.0 + 141184.0)),
            ),
            m("memory", "buffered", kib(4504.0)),
            m("memory", "cached", kib(732020.0)),
            m("memory", "free", kib(23636464.0)),
            m("memory", "slab_unrecl", kib(24240.0)),
            m("memory", "slab_recl", kib(116944.0)),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn percentages_sum_to_100_and_follow_absolute() {
        let opts = Options {
            values_absolute: true,
            values_percentage: true,
        };
        let got = read(&fixture("meminfo.txt"), &opts).unwrap();
        assert_eq!(got.len(), 12);
        let (abs, pct) = got.split_at(6);
        let sum: f64 = abs.iter().map(value).sum();
        for (a, p) in abs.iter().zip(pct) {
            assert_eq!(p.type_, "percent");
            assert_eq!(p.type_instance, a.type_instance);
            assert!((value(p) - value(a) * 100.0 / sum).abs() < 1e-9);
        }
        let total: f64 = pct.iter().map(value).sum();
        assert!((total - 100.0).abs() < 1e-9);
        let only_pct = Options {
            values_absolute: false,
            values_percentage: true,
        };
        assert_eq!(read(&fixture("meminfo.txt"), &only_pct).unwrap(), pct);
    }

    #[test]
    fn old_kernel_without_detailed_slab() {
        let text = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 200 kB\nSwapCached: 999 kB\nSlab: 50 kB\n";
        let got = read(text, &Options::default()).unwrap();
        assert_eq!(
            got,
            vec![
                m("memory", "used", 640.0 * 1024.0),
                m("memory", "buffered", 10.0 * 1024.0),
                m("memory", "cached", 200.0 * 1024.0),
                m("memory", "free", 100.0 * 1024.0),
                m("memory", "slab", 50.0 * 1024.0),
            ]
        );
    }

    #[test]
    fn edge_cases() {
        // Missing value field and an unknown line are ignored; a total below
        // the sum is an error, not a negative "used".
        let text = fixture("meminfo_edge.txt");
        assert_eq!(read(&text, &Options::default()), Err(Error::Inconsistent));
        assert_eq!(atof("12.5kB"), 12.5);
        assert_eq!(atof("x"), 0.0);
        let zero = read(
            "",
            &Options {
                values_absolute: false,
                values_percentage: true,
            },
        )
        .unwrap();
        assert!(zero.iter().all(|m| value(m).is_nan()));
    }
}
