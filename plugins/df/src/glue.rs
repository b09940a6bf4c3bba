//! The df plugin on the rcollectd-plugin SDK: options through collectd's
//! simple-config rules, one read per interval.

use crate::common::{apply_simple, dispatch_all};
use crate::{collect, statvfs, Config, MountTable, State};
use rcollectd_plugin::{export_plugin, log, Plugin, Read, Result};
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
        dispatch_all(Df::NAME, &metrics);
        Ok(())
    }
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
}
