//! collectd's memory plugin for rcollectd: memory usage by state from
//! `/proc/meminfo` (used, buffered, cached, free, slab_recl, slab_unrecl),
//! with collectd 5.12's identifiers and options.
//!
//! ```text
//! <Plugin memory>
//!   ValuesAbsolute true     # bytes, type "memory" (default)
//!   ValuesPercentage false  # percent of the sum, type "percent"
//! </Plugin>
//! ```

pub mod core;

use std::sync::Mutex;

use rcollectd_plugin::{export_plugin, CdTime, Config, Plugin, ProcFile, Read, Result};
use rcollectd_plugin_common::dispatch_all;
use serde::Deserialize;

use crate::core::Options;

/// `<Plugin memory>` options as written in collectd.conf.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    values_absolute: bool,
    values_percentage: bool,
}

impl Default for Settings {
    fn default() -> Self {
        let o = Options::default();
        Settings {
            values_absolute: o.values_absolute,
            values_percentage: o.values_percentage,
        }
    }
}

/// The plugin; stateless between reads.
pub struct MemoryPlugin {
    options: Options,
    /// `meminfo_path`, kept open between reads.
    meminfo: Mutex<ProcFile>,
}

impl MemoryPlugin {
    /// A plugin reading `meminfo_path` (normally `/proc/meminfo`).
    pub fn with_path(options: Options, meminfo_path: &str) -> Self {
        MemoryPlugin {
            options,
            meminfo: Mutex::new(ProcFile::new(meminfo_path)),
        }
    }
}

impl Plugin for MemoryPlugin {
    const NAME: &'static str = "memory";

    fn new(config: &Config) -> Result<Self> {
        let s: Settings = config.deserialize()?;
        let options = Options {
            values_absolute: s.values_absolute,
            values_percentage: s.values_percentage,
        };
        Ok(MemoryPlugin::with_path(options, "/proc/meminfo"))
    }
}

impl Read for MemoryPlugin {
    fn read(&self) -> Result {
        let mut meminfo = self.meminfo.lock().unwrap_or_else(|e| e.into_inner());
        let text = match meminfo.read_str() {
            Ok(t) => t,
            Err(e) => return Err(format!("reading {}: {e}", meminfo.path().display()).into()),
        };
        let metrics = core::read(text, &self.options).map_err(|e| e.to_string())?;
        drop(meminfo);
        // One timestamp for all states, as collectd does.
        dispatch_all(Self::NAME, CdTime::now(), &metrics, |m, e| {
            rcollectd_plugin::log::debug!("dispatching {}: {e}", m.type_instance)
        });
        Ok(())
    }
}

export_plugin!(MemoryPlugin, read);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::testing::capture;
    use rcollectd_plugin::{ConfigItem, ConfigValue};

    #[test]
    fn dispatches_states_of_this_machine() {
        let opts = Options {
            values_absolute: true,
            values_percentage: true,
        };
        let plugin = MemoryPlugin::with_path(opts, "/proc/meminfo");
        let cap = capture(|| plugin.read());
        assert!(cap.result.is_ok());
        let ids: Vec<_> = cap
            .values
            .iter()
            .map(|v| format!("{}/{}-{}", v.plugin, v.type_, v.type_instance))
            .collect();
        assert_eq!(&ids[..2], ["memory/memory-used", "memory/memory-buffered"]);
        assert!(ids.contains(&"memory/percent-free".to_string()));
        assert!(cap.values.iter().all(|v| v.time == cap.values[0].time));
        assert!(cap.values[0].gauges()[0] > 0.0);
    }

    #[test]
    fn options_and_errors() {
        let mut config = Config::new("memory");
        config.items.push(ConfigItem::new(
            "ValuesPercentage",
            vec![ConfigValue::Boolean(true)],
        ));
        let s: Settings = config.deserialize().unwrap();
        assert!(s.values_absolute && s.values_percentage);
        let plugin = MemoryPlugin::with_path(Options::default(), "/nonexistent");
        assert!(capture(|| plugin.read()).result.is_err());
    }
}
