//! collectd's vmem plugin for rcollectd: virtual memory statistics from
//! `/proc/vmstat` (page counts, page actions, faults, paging and swap I/O)
//! with collectd 5.12's identifiers; `Verbose true` adds the per-zone and
//! page-list counters.

pub mod core;

use rcollectd_plugin::{export_plugin, CdTime, Config, Plugin, Read, Result};
use rcollectd_plugin_common::dispatch_all;
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
        let metrics = core::read(&text, self.verbose);
        dispatch_all(Self::NAME, CdTime::ZERO, &metrics, |m, e| {
            rcollectd_plugin::log::debug!("dispatching {}-{}: {e}", m.type_, m.type_instance)
        });
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
