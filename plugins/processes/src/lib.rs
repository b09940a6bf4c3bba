//! The `processes` plugin: process states, fork rate and per-process-group
//! statistics from `/proc`, as collectd 5.12's Linux `processes` plugin
//! reports them (same identifiers, units, derived counters and options).
//!
//! Totals: `processes/ps_state-{running,sleeping,zombies,stopped,paging,blocked}`
//! and `processes/fork_rate`. Per `Process "name"` / `ProcessMatch "name"
//! "regex"` selection, `processes-<name>/`: `ps_vm`, `ps_rss`, `ps_data`,
//! `ps_code`, `ps_stacksize`, `ps_cputime` (µs), `ps_count`,
//! `ps_pagefaults`, `io_octets`, `io_ops`, `disk_octets` (from
//! `/proc/<pid>/io`), `file_handles` (`CollectFileDescriptor`),
//! `file_handles-mapped` (`CollectMemoryMaps`) and
//! `contextswitch-{voluntary,involuntary}` (`CollectContextSwitch`).
//!
//! Not implemented: `CollectDelayAccounting` (taskstats over netlink); the
//! option is accepted with a warning, as collectd does when built without
//! libtaskstats, and no `delay_rate` values are reported.
//!
//! The glue with the daemon: collectd's complex configuration (`Process`,
//! `ProcessMatch` blocks and global switches); the rules are in [`core`].

pub mod core;

use crate::core::{Processes, Tuning};
use rcollectd_plugin::{export_plugin, log, CdTime, ConfigItem, ConfigValue, Plugin, Read, Result};
use rcollectd_plugin_common::{dispatch_all, warn_failed};
use std::sync::Mutex;

/// The loaded plugin: selections and their counters.
pub struct ProcessesPlugin {
    inner: Mutex<Processes>,
}

/// The single boolean of a switch option.
fn boolean(item: &ConfigItem) -> std::result::Result<bool, String> {
    item.get_bool().map_err(|e| e.to_string())
}

/// The string arguments of `Process` / `ProcessMatch`, checked for count.
fn strings(item: &ConfigItem, n: usize) -> std::result::Result<Vec<&str>, String> {
    let ok = item.values.len() == n
        && item
            .values
            .iter()
            .all(|v| matches!(v, ConfigValue::String(_)));
    if !ok {
        return Err(format!(
            "`{}' needs exactly {n} string argument{} (got {})",
            item.key,
            if n == 1 { "" } else { "s" },
            item.values.len()
        ));
    }
    Ok(item
        .values
        .iter()
        .filter_map(|v| match v {
            ConfigValue::String(s) => Some(s.as_str()),
            _ => None,
        })
        .collect())
}

/// Per-selection switches inside a `<Process>` / `<ProcessMatch>` block.
fn tuning(item: &ConfigItem) -> std::result::Result<Tuning, String> {
    let mut t = Tuning::default();
    for c in &item.children {
        match c.key.to_ascii_lowercase().as_str() {
            "collectcontextswitch" => t.ctx_switch = Some(boolean(c)?),
            "collectfiledescriptor" => t.fd = Some(boolean(c)?),
            "collectmemorymaps" => t.maps = Some(boolean(c)?),
            "collectdelayaccounting" => {
                log::warn!("the \"CollectDelayAccounting\" option is not supported and is ignored")
            }
            _ => return Err(format!("option \"{}\" not allowed here", c.key)),
        }
    }
    Ok(t)
}

/// Adds a selection; a repeated name is only a warning, as in collectd.
fn add(
    p: &mut Processes,
    name: &str,
    regex: Option<&str>,
    t: Tuning,
) -> std::result::Result<(), String> {
    if p.has_selection(name) {
        log::warn!(
            "You have configured more than one `Process' or `ProcessMatch' with the same name ({name:?}). All but the first setting will be ignored."
        );
        return Ok(());
    }
    p.add_selection(name, regex, t)
}

/// Builds the plugin state from the `<Plugin processes>` options in order.
pub fn configure(
    config: &rcollectd_plugin::Config,
    p: &mut Processes,
) -> std::result::Result<(), String> {
    for item in &config.items {
        let key = item.key.to_ascii_lowercase();
        let r = match key.as_str() {
            "process" => strings(item, 1).and_then(|v| {
                if v[0].len() > 15 {
                    log::warn!(
                        "this platform has a 15 character limit to process names. The `Process \"{}\"' option will not work as expected.",
                        v[0]
                    );
                }
                let t = tuning(item)?;
                add(p, v[0], None, t)
            }),
            "processmatch" => strings(item, 2).and_then(|v| {
                let t = tuning(item)?;
                add(p, v[0], Some(v[1]), t)
            }),
            "collectcontextswitch" | "collectfiledescriptor" | "collectmemorymaps" => {
                boolean(item).and_then(|b| p.set_global(&item.key, b))
            }
            "collectdelayaccounting" => {
                log::warn!("the \"CollectDelayAccounting\" option is not supported and is ignored");
                Ok(())
            }
            _ => Err(format!("the `{}' configuration option is not understood", item.key)),
        };
        r.map_err(|e| format!("<Plugin processes> / {}: {e}", item.describe()))?;
    }
    Ok(())
}

impl Plugin for ProcessesPlugin {
    const NAME: &'static str = "processes";

    fn new(config: &rcollectd_plugin::Config) -> Result<Self> {
        let mut p = Processes::new("/proc", page_size());
        configure(config, &mut p)?;
        Ok(ProcessesPlugin {
            inner: Mutex::new(p),
        })
    }
}

impl Read for ProcessesPlugin {
    fn read(&self) -> Result {
        let metrics = self
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .read()?;
        dispatch_all(ProcessesPlugin::NAME, CdTime::ZERO, &metrics, warn_failed);
        Ok(())
    }
}

/// The system page size, for RSS in bytes.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

export_plugin!(ProcessesPlugin, read);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::Config;

    fn s(v: &str) -> ConfigValue {
        ConfigValue::String(v.into())
    }

    fn config(items: Vec<ConfigItem>) -> Config {
        let mut c = Config::new("processes");
        c.items = items;
        c
    }

    #[test]
    fn configure_blocks_globals_and_duplicates() {
        let cfg = config(vec![
            ConfigItem::new("CollectFileDescriptor", vec![ConfigValue::Boolean(true)]),
            ConfigItem::block(
                "Process",
                vec![s("sleep")],
                vec![ConfigItem::new(
                    "CollectMemoryMaps",
                    vec![ConfigValue::Boolean(true)],
                )],
            ),
            ConfigItem::new("ProcessMatch", vec![s("py"), s("python[0-9]")]),
            ConfigItem::new("Process", vec![s("sleep")]),
            ConfigItem::new("CollectDelayAccounting", vec![ConfigValue::Boolean(true)]),
        ]);
        let mut p = Processes::new("/proc", 4096);
        configure(&cfg, &mut p).unwrap();
        assert!(p.has_selection("sleep") && p.has_selection("py"));
        let plugin = ProcessesPlugin::new(&cfg).unwrap();
        assert!(plugin.inner.lock().unwrap().has_selection("py"));
    }

    #[test]
    fn configure_rejects_bad_options() {
        for bad in [
            ConfigItem::new("ProcessMatch", vec![s("only-name")]),
            ConfigItem::new("Process", vec![ConfigValue::Number(3.0)]),
            ConfigItem::new("ProcessMatch", vec![s("x"), s("(")]),
            ConfigItem::new("CollectMemoryMaps", vec![s("maybe")]),
            ConfigItem::new("Bogus", vec![]),
            ConfigItem::block(
                "Process",
                vec![s("a")],
                vec![ConfigItem::new("Nope", vec![])],
            ),
        ] {
            let key = bad.describe();
            let mut p = Processes::new("/proc", 4096);
            let err = configure(&config(vec![bad]), &mut p).unwrap_err();
            assert!(err.starts_with("<Plugin processes> / "), "{key}: {err}");
        }
    }
}
