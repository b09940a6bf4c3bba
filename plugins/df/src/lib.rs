//! The `df` plugin: file system usage per mount point, as collectd 5.12's
//! Linux `df` plugin reports it (same identifiers, values and options), so
//! dashboards keep working when a user switches to rcollectd.
//!
//! Reads the mount table (`/etc/mtab`, which collectd reads through
//! getmntent, falling back to `/proc/self/mounts`) and `statvfs(3)` per
//! mount point. Reports `df-<mount>/df_complex-{free,reserved,used}` in
//! bytes, optionally `percent_bytes-*`, `df_inodes-*` and `percent_inodes-*`.
//!
//! This file is the glue with the daemon: options through collectd's
//! simple-config rules, one read per interval; the rules are in [`core`].

pub mod core;

use crate::core::{collect, Config, FsStats, MountTable, State};
use rcollectd_plugin::{export_plugin, log, CdTime, Plugin, Read, Result};
use rcollectd_plugin_common::{apply_simple, dispatch_all, warn_failed};
use std::sync::Mutex;

/// The loaded plugin: its options, the `LogOnce` memory and the mount
/// table kept open.
pub struct Df {
    config: Config,
    state: Mutex<State>,
    mount_table: Mutex<MountTable>,
}

impl Plugin for Df {
    const NAME: &'static str = "df";

    fn new(config: &rcollectd_plugin::Config) -> Result<Self> {
        let mut cfg = Config::default();
        apply_simple(config, |k, v| cfg.set(k, v))?;
        Ok(Df {
            config: cfg,
            state: Mutex::new(State::default()),
            mount_table: Mutex::new(MountTable::default()),
        })
    }
}

impl Read for Df {
    fn read(&self) -> Result {
        let mut table = self.mount_table.lock().unwrap_or_else(|e| e.into_inner());
        let mounts = table
            .read()
            .map_err(|e| format!("cannot read the mount table: {e}"))?;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let metrics = collect(&self.config, &mut state, mounts, statvfs, |e| {
            log::error!("{e}")
        });
        drop(state);
        drop(table);
        dispatch_all(Df::NAME, CdTime::ZERO, &metrics, warn_failed);
        Ok(())
    }
}

/// `statvfs(3)` of a mount point.
pub fn statvfs(path: &str) -> std::io::Result<FsStats> {
    let c = std::ffi::CString::new(path)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: all-zero is a valid statvfs value; statvfs fills it in.
    let mut sv: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `sv` writable storage that
    // outlive the call.
    if unsafe { libc::statvfs(c.as_ptr(), &mut sv) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(FsStats {
        bsize: sv.f_bsize,
        frsize: sv.f_frsize,
        blocks: sv.f_blocks,
        bfree: sv.f_bfree,
        bavail: sv.f_bavail,
        files: sv.f_files,
        ffree: sv.f_ffree,
        favail: sv.f_favail,
    })
}

export_plugin!(Df, read);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::{ConfigItem, ConfigValue};

    #[test]
    fn options_go_through_collectd_simple_config() {
        let mut c = rcollectd_plugin::Config::new("df");
        c.items.push(ConfigItem::new(
            "ReportInodes",
            vec![ConfigValue::Boolean(true)],
        ));
        c.items.push(ConfigItem::new(
            "MountPoint",
            vec![ConfigValue::String("/".into())],
        ));
        let df = Df::new(&c).unwrap();
        assert!(df.config.report_inodes);
        assert!(df.config.mountpoints.ignored("/boot") && !df.config.mountpoints.ignored("/"));
        c.items.push(ConfigItem::new("Nope", vec![]));
        let err = Df::new(&c).err().unwrap().to_string();
        assert!(err.contains("<Plugin df> / Nope"), "{err}");
    }

    #[test]
    fn statvfs_of_root_works() {
        let st = statvfs("/").unwrap();
        assert!(st.blocks > 0 && st.blocks >= st.bfree && st.bfree >= st.bavail);
        assert!(statvfs("/nonexistent/rcollectd-df-test").is_err());
    }
}
