//! collectd's entropy plugin for rcollectd: the kernel's available entropy
//! (`/proc/sys/kernel/random/entropy_avail`) as type `entropy`.

pub mod core;

use rcollectd_plugin::{export_plugin, Config, Plugin, Read, Result, Value, ValueListBuilder};

/// The kernel file collectd reads.
pub const ENTROPY_FILE: &str = "/proc/sys/kernel/random/entropy_avail";

/// The plugin; it has no options.
pub struct EntropyPlugin {
    path: String,
}

impl EntropyPlugin {
    /// A plugin reading `path` (normally [`ENTROPY_FILE`]).
    pub fn with_path(path: &str) -> Self {
        EntropyPlugin { path: path.into() }
    }
}

impl Plugin for EntropyPlugin {
    const NAME: &'static str = "entropy";

    fn new(config: &Config) -> Result<Self> {
        config.check_known(&[])?;
        Ok(EntropyPlugin::with_path(ENTROPY_FILE))
    }
}

impl Read for EntropyPlugin {
    fn read(&self) -> Result {
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| format!("reading {}: {e}", self.path))?;
        let value = [Value::Gauge(core::parse_entropy(&text)?)];
        ValueListBuilder::new(Self::NAME, "entropy")
            .values(&value)
            .dispatch()?;
        Ok(())
    }
}

export_plugin!(EntropyPlugin, read);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::testing::capture;

    #[test]
    fn dispatches_entropy() {
        let path = format!(
            "{}/tests/fixtures/entropy_avail.txt",
            env!("CARGO_MANIFEST_DIR")
        );
        let cap = capture(|| EntropyPlugin::with_path(&path).read());
        assert!(cap.result.is_ok());
        assert_eq!(cap.values.len(), 1);
        let v = &cap.values[0];
        assert_eq!(
            (
                v.plugin.as_str(),
                v.type_.as_str(),
                v.type_instance.as_str()
            ),
            ("entropy", "entropy", "")
        );
        assert_eq!(v.gauges(), [256.0]);
        let live = capture(|| EntropyPlugin::with_path(ENTROPY_FILE).read());
        assert!(live.result.is_ok() && live.values.len() == 1);
        assert!(capture(|| EntropyPlugin::with_path("/nonexistent").read())
            .result
            .is_err());
    }
}
