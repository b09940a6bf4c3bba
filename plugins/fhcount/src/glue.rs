//! The fhcount plugin on the rcollectd-plugin SDK.

use crate::common::{apply_simple, dispatch_all};
use crate::{read, Config};
use rcollectd_plugin::{export_plugin, Plugin, Read, Result};

/// The loaded plugin: only its options.
pub struct Fhcount {
    config: Config,
}

impl Plugin for Fhcount {
    const NAME: &'static str = "fhcount";

    fn new(config: &rcollectd_plugin::Config) -> Result<Self> {
        let mut cfg = Config::default();
        apply_simple(config, |k, v| cfg.set(k, v))?;
        Ok(Fhcount { config: cfg })
    }
}

impl Read for Fhcount {
    fn read(&self) -> Result {
        let text = std::fs::read_to_string("/proc/sys/fs/file-nr")
            .map_err(|e| format!("fhcount: fopen: {e}"))?;
        dispatch_all(Fhcount::NAME, &read(&self.config, &text)?);
        Ok(())
    }
}

export_plugin!(Fhcount, read);
