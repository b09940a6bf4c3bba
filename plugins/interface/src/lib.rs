//! The `interface` plugin: network interface counters from `/proc/net/dev`,
//! as collectd 5.12's Linux `interface` plugin reports them:
//! `interface-<dev>/if_packets`, `if_octets`, `if_errors` and `if_dropped`,
//! each an (rx, tx) pair of derives.
//!
//! The interface plugin on the rcollectd-plugin SDK; the rules are in [`core`].

pub mod core;

use crate::core::{read, Config};
use rcollectd_plugin::{export_plugin, CdTime, Plugin, ProcFile, Read, Result};
use rcollectd_plugin_common::{apply_simple, dispatch_all, warn_failed};
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
        dispatch_all(Interface::NAME, CdTime::ZERO, &metrics, warn_failed);
        Ok(())
    }
}

export_plugin!(Interface, read);
