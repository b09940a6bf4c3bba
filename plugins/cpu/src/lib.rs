//! collectd's cpu plugin for rcollectd: CPU time per state from `/proc/stat`,
//! with the same identifiers, options and derived percentages as collectd
//! 5.12, so dashboards keep working when switching daemons.
//!
//! ```text
//! <Plugin cpu>
//!   ReportByCpu true        # per CPU (default) or the sum of all CPUs
//!   ReportByState true      # per state (default) or "active" only
//!   ValuesPercentage false  # percent instead of jiffies
//!   ReportNumCpu false      # also cpu/count
//!   ReportGuestState false  # also guest and guest_nice
//!   SubtractGuestState true # remove guest time from user/nice
//! </Plugin>
//! ```

pub mod core;

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rcollectd_plugin::{export_plugin, CdTime, Config, Plugin, ProcFile, Read, Result};
use rcollectd_plugin_common::dispatch_all;
use serde::Deserialize;

use crate::core::{Cpu, Options};

/// `<Plugin cpu>` options as written in collectd.conf.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    report_by_cpu: bool,
    report_by_state: bool,
    values_percentage: bool,
    report_num_cpu: bool,
    report_guest_state: bool,
    subtract_guest_state: bool,
}

impl Default for Settings {
    fn default() -> Self {
        let o = Options::default();
        Settings {
            report_by_cpu: o.report_by_cpu,
            report_by_state: o.report_by_state,
            values_percentage: o.values_percentage,
            report_num_cpu: o.report_num_cpu,
            report_guest_state: o.report_guest_state,
            subtract_guest_state: o.subtract_guest_state,
        }
    }
}

impl From<Settings> for Options {
    fn from(s: Settings) -> Self {
        Options {
            report_by_cpu: s.report_by_cpu,
            report_by_state: s.report_by_state,
            values_percentage: s.values_percentage,
            report_num_cpu: s.report_num_cpu,
            report_guest_state: s.report_guest_state,
            subtract_guest_state: s.subtract_guest_state,
        }
    }
}

/// The plugin: previous counters between reads, behind a lock because the
/// daemon may call `read` from any read thread.
pub struct CpuPlugin {
    state: Mutex<Cpu>,
    /// `stat_path`, kept open between reads.
    stat: Mutex<ProcFile>,
}

impl CpuPlugin {
    /// A plugin reading `stat_path` (normally `/proc/stat`).
    pub fn with_path(options: Options, stat_path: &str) -> Self {
        CpuPlugin {
            state: Mutex::new(Cpu::new(options)),
            stat: Mutex::new(ProcFile::new(stat_path)),
        }
    }
}

impl Plugin for CpuPlugin {
    const NAME: &'static str = "cpu";

    fn new(config: &Config) -> Result<Self> {
        let settings: Settings = config.deserialize()?;
        Ok(CpuPlugin::with_path(settings.into(), "/proc/stat"))
    }
}

impl Read for CpuPlugin {
    fn read(&self) -> Result {
        let mut stat = self.stat.lock().unwrap_or_else(|e| e.into_inner());
        let text = match stat.read_str() {
            Ok(t) => t,
            Err(e) => return Err(format!("reading {}: {e}", stat.path().display()).into()),
        };
        let now_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let metrics = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .read(text, now_ns);
        // Like collectd, a rejected value list (e.g. the write queue is
        // full) neither stops the others nor fails the read.
        dispatch_all(Self::NAME, CdTime::ZERO, &metrics, |m, e| {
            rcollectd_plugin::log::debug!("dispatching {}: {e}", m.type_instance)
        });
        Ok(())
    }
}

export_plugin!(CpuPlugin, read);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::testing::capture;
    use rcollectd_plugin::{ConfigItem, ConfigValue};

    #[test]
    fn config_uses_collectd_option_names() {
        let mut config = Config::new("cpu");
        config.items.push(ConfigItem::new(
            "ReportByCpu",
            vec![ConfigValue::Boolean(false)],
        ));
        config.items.push(ConfigItem::new(
            "ValuesPercentage",
            vec![ConfigValue::Boolean(true)],
        ));
        let s: Settings = config.deserialize().unwrap();
        let o: Options = s.into();
        assert!(!o.report_by_cpu && o.values_percentage && o.report_by_state);
        let mut bad = Config::new("cpu");
        bad.items.push(ConfigItem::new(
            "ReportByCPUs",
            vec![ConfigValue::Boolean(true)],
        ));
        assert!(bad.deserialize::<Settings>().is_err());
    }

    #[test]
    fn reads_this_machine_and_dispatches_per_cpu_counters() {
        let plugin = CpuPlugin::with_path(Options::default(), "/proc/stat");
        let first = capture(|| plugin.read());
        assert!(first.result.is_ok());
        assert!(first.values.is_empty(), "first read only primes the rates");
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = capture(|| plugin.read());
        assert!(second.result.is_ok());
        let idle: Vec<_> = second
            .values
            .iter()
            .filter(|v| v.type_instance == "idle")
            .collect();
        assert!(!idle.is_empty());
        assert!(idle
            .iter()
            .all(|v| v.plugin == "cpu" && v.type_ == "cpu" && v.derives()[0] > 0));
        assert_eq!(idle[0].plugin_instance, "0");
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let plugin = CpuPlugin::with_path(Options::default(), "/nonexistent/stat");
        let cap = capture(|| plugin.read());
        assert!(cap.result.is_err());
    }
}
