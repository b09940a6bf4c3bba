//! Pure part of the interface plugin: `/proc/net/dev` text to value lists.

use rcollectd_plugin_common::{atoll, is_true, split_fields, IgnoreList, Metric};

/// The interface plugin's options, with collectd's names and defaults.
#[derive(Debug)]
pub struct Config {
    /// `Interface` / `IgnoreSelected`: which interfaces to report.
    pub interfaces: IgnoreList,
    /// `ReportInactive` (default true): also report interfaces that have
    /// never sent or received a packet.
    pub report_inactive: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            interfaces: IgnoreList::new(),
            report_inactive: true,
        }
    }
}

impl Config {
    /// Applies one `Key Value` option; unknown keys and bad values are errors.
    /// `UniqueName` only means something on Solaris and is accepted as a no-op.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key.to_ascii_lowercase().as_str() {
            "interface" => self.interfaces.add(value),
            "ignoreselected" => {
                self.interfaces.set_ignore_selected(is_true(value));
                Ok(())
            }
            "reportinactive" => {
                self.report_inactive = is_true(value);
                Ok(())
            }
            "uniquename" => Ok(()),
            _ => Err(format!("unknown option {key:?}")),
        }
    }
}

/// One read of `/proc/net/dev` text: the value lists collectd would dispatch,
/// in its order (packets, octets, errors, dropped per interface).
pub fn read(cfg: &Config, net_dev: &str) -> Vec<Metric> {
    let mut out = Vec::new();
    for line in net_dev.lines() {
        let Some((dev, rest)) = line.split_once(':') else {
            continue;
        };
        let dev = dev.trim_start_matches(' ');
        if dev.is_empty() {
            continue;
        }
        let f: Vec<i64> = split_fields(rest).take(16).map(atoll).collect();
        if f.len() < 11 {
            continue;
        }
        let at = |i: usize| f.get(i).copied().unwrap_or(0);
        if !cfg.report_inactive && at(1) == 0 && at(9) == 0 {
            continue;
        }
        if cfg.interfaces.ignored(dev) {
            continue;
        }
        for (ty, rx, tx) in [
            ("if_packets", 1, 9),
            ("if_octets", 0, 8),
            ("if_errors", 2, 10),
            ("if_dropped", 3, 11),
        ] {
            out.push(Metric::derive2(dev, ty, "", at(rx), at(tx)));
        }
    }
    out
}

#[cfg(test)]
mod tests;
