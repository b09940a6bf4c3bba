//! collectd's swap plugin for rcollectd: swap usage (type `swap`: used,
//! free, cached) from `/proc/meminfo` or per device from `/proc/swaps`, and
//! swap I/O (type `swap_io`: in, out) from `/proc/vmstat`, with collectd
//! 5.12's identifiers and options.
//!
//! ```text
//! <Plugin swap>
//!   ReportByDevice false    # per device/file from /proc/swaps
//!   ReportBytes false       # swap_io in bytes instead of pages
//!   ValuesAbsolute true     # bytes, type "swap"
//!   ValuesPercentage false  # percent, type "percent"
//!   ReportIO true           # swap_io in/out
//! </Plugin>
//! ```

pub mod core;

use std::sync::Mutex;

use rcollectd_plugin::{export_plugin, CdTime, Config, Plugin, ProcFile, Read, Result};
use rcollectd_plugin_common::{dispatch_all, Metric};
use serde::Deserialize;

use crate::core::Options;

/// `<Plugin swap>` options as written in collectd.conf.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    report_by_device: bool,
    report_bytes: bool,
    values_absolute: bool,
    values_percentage: bool,
    #[serde(rename = "ReportIO")]
    report_io: bool,
}

impl Default for Settings {
    fn default() -> Self {
        let o = Options::default();
        Settings {
            report_by_device: o.report_by_device,
            report_bytes: o.report_bytes,
            values_absolute: o.values_absolute,
            values_percentage: o.values_percentage,
            report_io: o.report_io,
        }
    }
}

/// Where the plugin reads (the `/proc` files, or fixtures in tests).
#[derive(Debug, Clone)]
pub struct Paths {
    /// `/proc/swaps`
    pub swaps: String,
    /// `/proc/meminfo`
    pub meminfo: String,
    /// `/proc/vmstat`
    pub vmstat: String,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            swaps: "/proc/swaps".into(),
            meminfo: "/proc/meminfo".into(),
            vmstat: "/proc/vmstat".into(),
        }
    }
}

/// The plugin; stateless between reads.
pub struct SwapPlugin {
    options: Options,
    paths: Paths,
    files: Mutex<Files>,
    page_size: i64,
}

/// The [`Paths`], kept open between reads.
struct Files {
    swaps: ProcFile,
    meminfo: ProcFile,
    vmstat: ProcFile,
}

/// The page size, for ReportBytes.
fn page_size() -> i64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n
    } else {
        4096
    }
}

impl SwapPlugin {
    /// A plugin with the given options reading from `paths`.
    pub fn with_paths(options: Options, paths: Paths) -> Self {
        SwapPlugin {
            options,
            files: Mutex::new(Files {
                swaps: ProcFile::new(&paths.swaps),
                meminfo: ProcFile::new(&paths.meminfo),
                vmstat: ProcFile::new(&paths.vmstat),
            }),
            paths,
            page_size: page_size(),
        }
    }
}

impl Plugin for SwapPlugin {
    const NAME: &'static str = "swap";

    fn new(config: &Config) -> Result<Self> {
        let s: Settings = config.deserialize()?;
        let options = Options {
            report_by_device: s.report_by_device,
            report_bytes: s.report_bytes,
            values_absolute: s.values_absolute,
            values_percentage: s.values_percentage,
            report_io: s.report_io,
        };
        Ok(SwapPlugin::with_paths(options, Paths::default()))
    }
}

/// Reads `file`, whose path is `path` (for the error message).
fn read_file<'a>(path: &str, file: &'a mut ProcFile) -> Result<&'a str> {
    Ok(file
        .read_str()
        .map_err(|e| format!("reading {path}: {e}"))?)
}

/// Dispatches one part's value lists; like collectd, a rejected one (e.g.
/// the write queue is full) neither stops the others nor fails the read.
fn dispatch(metrics: &[Metric]) {
    dispatch_all(SwapPlugin::NAME, CdTime::ZERO, metrics, |m, e| {
        rcollectd_plugin::log::debug!("dispatching {}: {e}", m.type_instance)
    });
}

impl Read for SwapPlugin {
    fn read(&self) -> Result {
        // Like collectd, a failing part is reported but does not stop the
        // other and the read itself succeeds.
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let usage = if self.options.report_by_device {
            read_file(&self.paths.swaps, &mut files.swaps)
                .map(|t| core::read_separate(t, &self.options))
        } else {
            read_file(&self.paths.meminfo, &mut files.meminfo)
                .and_then(|t| Ok(core::read_combined(t, &self.options)?))
        };
        match usage {
            Ok(m) => dispatch(&m),
            Err(e) => rcollectd_plugin::log::warn!("usage: {e}"),
        }
        if self.options.report_io {
            let io = read_file(&self.paths.vmstat, &mut files.vmstat)
                .and_then(|t| Ok(core::read_io(t, self.options.report_bytes, self.page_size)?));
            match io {
                Ok(m) => dispatch(&m),
                Err(e) => rcollectd_plugin::log::warn!("swap_io: {e}"),
            }
        }
        Ok(())
    }
}

export_plugin!(SwapPlugin, read);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::testing::capture;
    use rcollectd_plugin::{ConfigItem, ConfigValue};

    fn fixture(name: &str) -> String {
        format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn reads_fixtures_and_dispatches() {
        let paths = Paths {
            swaps: fixture("swaps_devices.txt"),
            meminfo: fixture("meminfo_swap.txt"),
            vmstat: fixture("vmstat.txt"),
        };
        let plugin = SwapPlugin::with_paths(Options::default(), paths.clone());
        let cap = capture(|| plugin.read());
        assert!(cap.result.is_ok());
        let ids: Vec<_> = cap
            .values
            .iter()
            .map(|v| {
                format!(
                    "{}-{}/{}-{}",
                    v.plugin, v.plugin_instance, v.type_, v.type_instance
                )
            })
            .collect();
        assert_eq!(
            ids,
            [
                "swap-/swap-used",
                "swap-/swap-free",
                "swap-/swap-cached",
                "swap-/swap_io-in",
                "swap-/swap_io-out"
            ]
        );
        let by_dev = Options {
            report_by_device: true,
            report_io: false,
            ..Options::default()
        };
        let cap = capture(|| SwapPlugin::with_paths(by_dev, paths).read());
        assert_eq!(cap.values.len(), 4);
        assert_eq!(cap.values[0].plugin_instance, "dev_sda2");
    }

    #[test]
    fn missing_files_are_logged_not_fatal() {
        let paths = Paths {
            swaps: "/nonexistent".into(),
            meminfo: "/nonexistent".into(),
            vmstat: "/nonexistent".into(),
        };
        rcollectd_plugin::install_logger("swap");
        let cap = capture(|| SwapPlugin::with_paths(Options::default(), paths).read());
        assert!(cap.result.is_ok());
        assert!(cap.values.is_empty());
        assert_eq!(cap.logs.len(), 2, "{:?}", cap.logs);
    }

    #[test]
    fn option_names() {
        let mut config = Config::new("swap");
        for key in ["ReportByDevice", "ReportBytes", "ValuesPercentage"] {
            config
                .items
                .push(ConfigItem::new(key, vec![ConfigValue::Boolean(true)]));
        }
        config.items.push(ConfigItem::new(
            "ReportIO",
            vec![ConfigValue::Boolean(false)],
        ));
        let s: Settings = config.deserialize().unwrap();
        assert!(s.report_by_device && s.report_bytes && s.values_percentage && s.values_absolute);
        assert!(!s.report_io);
    }
}
