//! collectd's vmem plugin for rcollectd: virtual memory statistics from
//! `/proc/vmstat` (page counts, page actions, faults, paging and swap I/O)
//! with collectd 5.12's identifiers; `Verbose true` adds the per-zone and
//! page-list counters.

pub mod core;

use rcollectd_plugin::{export_plugin, Config, Plugin, Read, Result, Value, ValueListBuilder};
use serde::Deserialize;

/// `<Plugin vmem>` options as written in collectd.conf.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    verbose: bool,
}

/// The plugin; stateless between reads.
pub struct VmemPlugin {
    verbose: bool,
    path: String,
}

impl VmemPlugin {
    /// A plugin reading `path` (normally `/proc/vmstat`).
    pub fn with_path(verbose: bool, path: &str) -> Self {
        VmemPlugin {
            verbose,
            path: path.into(),
        }
    }
}

impl Plugin for VmemPlugin {
    const NAME: &'static str = "vmem";

    fn new(config: &Config) -> Result<Self> {
        let s: Settings = config.deserialize()?;
        Ok(VmemPlugin::with_path(s.verbose, "/proc/vmstat"))
    }
}

impl Read for VmemPlugin {
    fn read(&self) -> Result {
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| format!("reading {}: {e}", self.path))?;
        for m in core::read(&text, self.verbose) {
            let values: Vec<Value> = m
                .values
                .iter()
                .map(|v| match *v {
                    core::Value::Gauge(g) => Value::Gauge(g),
                    core::Value::Derive(d) => Value::Derive(d),
                })
                .collect();
            let r = ValueListBuilder::new(Self::NAME, m.type_)
                .plugin_instance(&m.plugin_instance)
                .type_instance(&m.type_instance)
                .values(&values)
                .dispatch();
            if let Err(e) = r {
                rcollectd_plugin::log::debug!("dispatching {}-{}: {e}", m.type_, m.type_instance);
            }
        }
        Ok(())
    }
}

export_plugin!(VmemPlugin, read);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::testing::capture;

    #[test]
    fn dispatches_what_the_parser_returns() {
        let path = format!("{}/tests/fixtures/vmstat.txt", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        for verbose in [false, true] {
            let cap = capture(|| VmemPlugin::with_path(verbose, &path).read());
            assert!(cap.result.is_ok());
            let want = core::read(&text, verbose);
            assert_eq!(cap.values.len(), want.len());
            for (got, want) in cap.values.iter().zip(&want) {
                assert_eq!(got.plugin, "vmem");
                assert_eq!(got.plugin_instance, want.plugin_instance);
                assert_eq!(got.type_, want.type_);
                assert_eq!(got.type_instance, want.type_instance);
            }
            let faults = cap
                .values
                .iter()
                .find(|v| v.type_ == "vmpage_faults")
                .unwrap();
            assert_eq!(faults.derives(), [7793662, 2750]);
        }
    }

    #[test]
    fn missing_file_is_an_error() {
        assert!(
            capture(|| VmemPlugin::with_path(false, "/nonexistent").read())
                .result
                .is_err()
        );
    }
}
