//! The `fhcount` plugin: system-wide file handle usage from
//! `/proc/sys/fs/file-nr`, as collectd 5.12's `fhcount` plugin reports it:
//! `fhcount/file_handles-{used,unused,max}` and, optionally,
//! `fhcount/percent-{used,unused}` (whole percent, truncated as collectd does).
//!
//! The fhcount plugin on the rcollectd-plugin SDK; the rules are in [`core`].

pub mod core;

use crate::core::{read, Config};
use rcollectd_plugin::{export_plugin, CdTime, Plugin, ProcFile, Read, Result};
use rcollectd_plugin_common::{apply_simple, dispatch_all, warn_failed};
use std::sync::Mutex;

/// The loaded plugin: its options and /proc/sys/fs/file-nr kept open.
pub struct Fhcount {
    config: Config,
    file_nr: Mutex<ProcFile>,
}

impl Plugin for Fhcount {
    const NAME: &'static str = "fhcount";

    fn new(config: &rcollectd_plugin::Config) -> Result<Self> {
        let mut cfg = Config::default();
        apply_simple(config, |k, v| cfg.set(k, v))?;
        Ok(Fhcount {
            config: cfg,
            file_nr: Mutex::new(ProcFile::new("/proc/sys/fs/file-nr")),
        })
    }
}

impl Read for Fhcount {
    fn read(&self) -> Result {
        let mut file_nr = self.file_nr.lock().unwrap_or_else(|e| e.into_inner());
        let text = file_nr
            .read_str()
            .map_err(|e| format!("fhcount: fopen: {e}"))?;
        let metrics = read(&self.config, text)?;
        drop(file_nr);
        dispatch_all(Fhcount::NAME, CdTime::ZERO, &metrics, warn_failed);
        Ok(())
    }
}

export_plugin!(Fhcount, read);
