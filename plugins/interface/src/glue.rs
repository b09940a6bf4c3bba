//! The interface plugin on the rcollectd-plugin SDK.

use crate::common::{apply_simple, dispatch_all};
use crate::{read, Config};
use rcollectd_plugin::{export_plugin, Plugin, ProcFile, Read, Result};
use std::sync::Mutex;

/// The loaded plugin: its options and /proc/net/dev kept open (the kernel
/// keeps the counters).
pub struct Interface {
    config: Config,
    net_dev: Mutex<ProcFile>,
}

impl Plugin for Interface {
    const NAME: &'static str = "interface";

    fn new(config: &rcollectd_plugin::Config) -> Result<Self> {
        let mut cfg = Config::default();
        apply_simple(config, |k, v| cfg.set(k, v))?;
        Ok(Interface {
            config: cfg,
            net_dev: Mutex::new(ProcFile::new("/proc/net/dev")),
        })
    }
}

impl Read for Interface {
    fn read(&self) -> Result {
        let mut net_dev = self.net_dev.lock().unwrap_or_else(|e| e.into_inner());
        let text = net_dev.read_str().map_err(|e| format!("fopen: {e}"))?;
        let metrics = read(&self.config, text);
        drop(net_dev);
        dispatch_all(Interface::NAME, &metrics);
        Ok(())
    }
}

export_plugin!(Interface, read);
