//! The `disk` plugin: block device statistics from `/proc/diskstats`, as
//! collectd 5.12's Linux `disk` plugin reports them (same identifiers,
//! derived values and options).
//!
//! Per device `disk-<name>/`: `disk_octets` (bytes, from 512-byte sectors,
//! accumulated across 32-bit wraps), `disk_ops`, `disk_time` (average time
//! per operation, accumulated from per-read deltas and scaled by the
//! interval, exactly as collectd derives it), `disk_merged`,
//! `pending_operations` and `disk_io_time`. A device is reported from its
//! second read on, and only once it has done any I/O.
//!
//! The disk plugin on the rcollectd-plugin SDK; the rules are in [`core`].

pub mod core;

use crate::core::{read, udev_name, Config, State};
use rcollectd_plugin::{export_plugin, plugin_interval, CdTime, Plugin, ProcFile, Read, Result};
use rcollectd_plugin_common::{apply_simple, dispatch_all, warn_failed};
use std::sync::Mutex;

/// The loaded plugin: its options, the per-device counters and
/// /proc/diskstats kept open.
pub struct Disk {
    config: Config,
    state: Mutex<State>,
    diskstats: Mutex<ProcFile>,
}

impl Plugin for Disk {
    const NAME: &'static str = "disk";

    fn new(config: &rcollectd_plugin::Config) -> Result<Self> {
        let mut cfg = Config::default();
        apply_simple(config, |k, v| cfg.set(k, v))?;
        Ok(Disk {
            config: cfg,
            state: Mutex::new(State::default()),
            diskstats: Mutex::new(ProcFile::new("/proc/diskstats")),
        })
    }
}

impl Read for Disk {
    fn read(&self) -> Result {
        let mut diskstats = self.diskstats.lock().unwrap_or_else(|e| e.into_inner());
        let text = diskstats
            .read_str()
            .map_err(|e| format!("fopen(\"/proc/diskstats\"): {e}"))?;
        let interval = plugin_interval()?.as_secs_f64();
        let attr = self.config.udev_name_attr.as_deref().unwrap_or("");
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let metrics = read(&self.config, &mut state, text, interval, |maj, min, _| {
            udev_name(maj, min, attr)
        });
        drop(state);
        drop(diskstats);
        dispatch_all(Disk::NAME, CdTime::ZERO, &metrics, warn_failed);
        Ok(())
    }
}

export_plugin!(Disk, read);
