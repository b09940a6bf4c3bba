//! collectd's contextswitch plugin for rcollectd: the kernel's context
//! switch counter (`ctxt` in `/proc/stat`) as DERIVE type `contextswitch`.

pub mod core;

use rcollectd_plugin::{export_plugin, Config, Plugin, Read, Result, Value, ValueListBuilder};

/// The plugin; it has no options.
pub struct ContextSwitchPlugin {
    path: String,
}

impl ContextSwitchPlugin {
    /// A plugin reading `path` (normally `/proc/stat`).
    pub fn with_path(path: &str) -> Self {
        ContextSwitchPlugin { path: path.into() }
    }
}

impl Plugin for ContextSwitchPlugin {
    const NAME: &'static str = "contextswitch";

    fn new(config: &Config) -> Result<Self> {
        config.check_known(&[])?;
        Ok(ContextSwitchPlugin::with_path("/proc/stat"))
    }
}

impl Read for ContextSwitchPlugin {
    fn read(&self) -> Result {
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| format!("reading {}: {e}", self.path))?;
        let value = [Value::Derive(core::parse_ctxt(&text)?)];
        ValueListBuilder::new(Self::NAME, "contextswitch")
            .values(&value)
            .dispatch()?;
        Ok(())
    }
}

export_plugin!(ContextSwitchPlugin, read);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::testing::capture;

    #[test]
    fn dispatches_counter() {
        let path = format!("{}/tests/fixtures/stat.txt", env!("CARGO_MANIFEST_DIR"));
        let cap = capture(|| ContextSwitchPlugin::with_path(&path).read());
        assert!(cap.result.is_ok());
        let v = &cap.values[0];
        assert_eq!(
            (v.plugin.as_str(), v.type_.as_str()),
            ("contextswitch", "contextswitch")
        );
        assert_eq!(v.derives(), [544201]);
        let live = capture(|| ContextSwitchPlugin::with_path("/proc/stat").read());
        assert!(live.values[0].derives()[0] > 544201 / 2);
        assert!(
            capture(|| ContextSwitchPlugin::with_path("/nonexistent").read())
                .result
                .is_err()
        );
    }
}
