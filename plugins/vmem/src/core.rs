//! Pure part of the vmem plugin: `/proc/vmstat` text to the value lists
//! collectd 5.12's vmem plugin dispatches.

use rcollectd_plugin::Value;
use rcollectd_plugin_common::Metric;

/// C `strtoll`/`strtod` prefix parse; `None` when no digits start the field.
fn parse_prefix(s: &str) -> Option<(i64, f64)> {
    let b = s.as_bytes();
    let start = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let end = b[start..]
        .iter()
        .position(|c| !c.is_ascii_digit())
        .map_or(b.len(), |p| p + start);
    if end == start {
        return None;
    }
    let int = s[..end]
        .parse::<i64>()
        .unwrap_or(if b[0] == b'-' { i64::MIN } else { i64::MAX });
    let fend = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '-' || c == '+') && i == 0)))
        .map_or(s.len(), |(i, _)| i);
    let float = s[..fend].parse::<f64>().unwrap_or(int as f64);
    Some((int, float))
}

/// Per-zone (Verbose) counters: key prefix and the type instance they get.
const ZONED: [(&str, &str); 7] = [
    ("pgalloc_", "alloc"),
    ("pgrefill_", "refill"),
    ("pgsteal_kswapd_", "steal_kswapd"),
    ("pgsteal_direct_", "steal_direct"),
    ("pgsteal_", "steal"),
    ("pgscan_kswapd_", "scan_kswapd"),
    ("pgscan_direct_", "scan_direct"),
];

/// Parse `/proc/vmstat`; `verbose` is collectd's `Verbose` option.
pub fn read(vmstat: &str, verbose: bool) -> Vec<Metric> {
    let mut out = Vec::new();
    let (mut pgpgin, mut pgpgout, mut pswpin, mut pswpout, mut pgfault, mut pgmajfault) =
        (None, None, None, None, None, None);
    for line in vmstat.lines() {
        let fields: Vec<&str> = line.split_ascii_whitespace().take(4).collect();
        if fields.len() != 2 {
            continue;
        }
        let key = fields[0];
        let Some((counter, gauge)) = parse_prefix(fields[1]) else {
            continue;
        };
        if let Some(inst) = key.strip_prefix("nr_") {
            if inst == "dirtied" || inst == "written" {
                out.push(Metric::new(
                    "",
                    "vmpage_action",
                    inst,
                    vec![Value::Derive(counter)],
                ));
            } else {
                out.push(Metric::new(
                    "",
                    "vmpage_number",
                    inst,
                    vec![Value::Gauge(gauge)],
                ));
            }
            continue;
        }
        let slot = match key {
            "pgpgin" => &mut pgpgin,
            "pgpgout" => &mut pgpgout,
            "pswpin" => &mut pswpin,
            "pswpout" => &mut pswpout,
            "pgfault" => &mut pgfault,
            "pgmajfault" => &mut pgmajfault,
            _ => {
                if !verbose {
                    continue;
                }
                if let Some((zone, action)) = ZONED
                    .iter()
                    .find_map(|(prefix, action)| key.strip_prefix(prefix).map(|z| (z, *action)))
                {
                    out.push(Metric::new(
                        zone,
                        "vmpage_action",
                        action,
                        vec![Value::Derive(counter)],
                    ));
                } else {
                    let action = match key {
                        "pgfree" => "free",
                        "pgactivate" => "activate",
                        "pgdeactivate" => "deactivate",
                        _ => continue,
                    };
                    out.push(Metric::new(
                        "",
                        "vmpage_action",
                        action,
                        vec![Value::Derive(counter)],
                    ));
                }
                continue;
            }
        };
        *slot = Some(counter);
    }
    if let (Some(minflt), Some(majflt)) = (pgfault, pgmajfault) {
        out.push(Metric::new(
            "",
            "vmpage_faults",
            "",
            vec![Value::Derive(minflt), Value::Derive(majflt)],
        ));
    }
    if let (Some(i), Some(o)) = (pgpgin, pgpgout) {
        out.push(Metric::new(
            "",
            "vmpage_io",
            "memory",
            vec![Value::Derive(i), Value::Derive(o)],
        ));
    }
    if let (Some(i), Some(o)) = (pswpin, pswpout) {
        out.push(Metric::new(
            "",
            "vmpage_io",
            "swap",
            vec![Value::Derive(i), Value::Derive(o)],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Golden rendering: one line per value list, `plugin_instance/type-type_instance values`.
    fn render(metrics: &[Metric]) -> String {
        let mut s = String::new();
        for m in metrics {
            let vals: Vec<String> = m
                .values
                .iter()
                .map(|v| match v {
                    Value::Gauge(g) => format!("g:{g}"),
                    Value::Derive(d) => format!("d:{d}"),
                    other => panic!("unexpected {other:?}"),
                })
                .collect();
            s.push_str(&format!(
                "{}/{}-{} {}\n",
                m.plugin_instance,
                m.type_,
                m.type_instance,
                vals.join(",")
            ));
        }
        s
    }

    fn check_golden(name: &str, got: &str) {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        if std::env::var_os("RCOLLECTD_BLESS").is_some() {
            std::fs::write(&path, got).unwrap();
        }
        assert_eq!(
            got,
            fixture(name),
            "golden {name} differs (RCOLLECTD_BLESS=1 to update)"
        );
    }

    #[test]
    fn recorded_vmstat_default() {
        let got = read(&fixture("vmstat.txt"), false);
        // Spot checks against the recorded file, then the whole golden list.
        assert!(got.contains(&Metric::new(
            "",
            "vmpage_number",
            "free_pages",
            vec![Value::Gauge(1137070.0)]
        )));
        assert!(got.contains(&Metric::new(
            "",
            "vmpage_action",
            "dirtied",
            vec![Value::Derive(820552)]
        )));
        let tail: Vec<_> = got.iter().rev().take(3).rev().cloned().collect();
        assert_eq!(
            tail,
            vec![
                Metric::new(
                    "",
                    "vmpage_faults",
                    "",
                    vec![Value::Derive(7793662), Value::Derive(2750)]
                ),
                Metric::new(
                    "",
                    "vmpage_io",
                    "memory",
                    vec![Value::Derive(3999109), Value::Derive(2505712)]
                ),
                Metric::new(
                    "",
                    "vmpage_io",
                    "swap",
                    vec![Value::Derive(0), Value::Derive(0)]
                ),
            ]
        );
        assert!(got.iter().all(|m| m.plugin_instance.is_empty()));
        check_golden("vmstat.default.golden", &render(&got));
    }

    #[test]
    fn recorded_vmstat_verbose() {
        let got = read(&fixture("vmstat.txt"), true);
        assert!(got.contains(&Metric::new(
            "normal",
            "vmpage_action",
            "alloc",
            vec![Value::Derive(8056662)]
        )));
        assert!(got.contains(&Metric::new(
            "",
            "vmpage_action",
            "free",
            vec![Value::Derive(9204053)]
        )));
        // Newer kernels have no zone suffix on pgsteal_kswapd: collectd's
        // prefix rules make that zone "kswapd" of the legacy "steal" action.
        assert!(got.contains(&Metric::new(
            "kswapd",
            "vmpage_action",
            "steal",
            vec![Value::Derive(0)]
        )));
        check_golden("vmstat.verbose.golden", &render(&got));
    }

    #[test]
    fn old_kernel_zoned_counters_and_bad_lines() {
        let got = read(&fixture("vmstat_edge.txt"), true);
        assert_eq!(
            render(&got),
            "dma32/vmpage_action-steal_kswapd d:5\n\
             normal/vmpage_action-scan_direct d:6\n\
             normal/vmpage_action-refill d:7\n\
             /vmpage_action-activate d:8\n\
             /vmpage_number-dirty g:9\n"
        );
    }
}
