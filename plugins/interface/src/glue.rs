//! The interface plugin on the rcollectd-plugin SDK.

use crate::common::{apply_simple, dispatch_all};
use crate::{read, Config};
use rcollectd_plugin::{export_plugin, Plugin, Read, Result};

/// The loaded plugin: only its options (the kernel keeps the counters).
pub struct Interface {
    config: Config,
}

impl Plugin for Interface {
    const NAME: &'static str = "interface";

    fn new(config: &rcollectd_plugin::Config) -> Result<Self> {
        let mut cfg = Config::default();
        apply_simple(config, |k, v| cfg.set(k, v))?;
        Ok(Interface { config: cfg })
    }
}

impl Read for Interface {
    fn read(&self) -> Result {
        let text = std::fs::read_to_string("/proc/net/dev").map_err(|e| format!("fopen: {e}"))?;
        dispatch_all(Interface::NAME, &read(&self.config, &text));
        Ok(())
    }
}

export_plugin!(Interface, read);
