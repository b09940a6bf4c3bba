//! collectd's load plugin for rcollectd: the 1, 5 and 15 minute load
//! averages as type `load` (shortterm, midterm, longterm), optionally
//! divided by the number of online CPUs (`ReportRelative`, type instance
//! `relative`), exactly as collectd 5.12 reports them.

pub mod core;

use rcollectd_plugin::{export_plugin, CdTime, Config, Plugin, Read, Result};
use rcollectd_plugin_common::dispatch_all;
use serde::Deserialize;

/// `<Plugin load>` options as written in collectd.conf.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Settings {
    report_relative: bool,
}

/// The plugin; stateless between reads.
pub struct LoadPlugin {
    report_relative: bool,
}

/// Load averages at kernel precision, from `sysinfo(2)` (what glibc's
/// `getloadavg` uses), falling back to `/proc/loadavg`.
fn load_averages() -> Result<[f64; 3]> {
    let mut info = std::mem::MaybeUninit::<libc::sysinfo>::zeroed();
    // SAFETY: sysinfo writes a `struct sysinfo` into the pointer it is given;
    // the buffer is zeroed, properly sized and aligned.
    let rc = unsafe { libc::sysinfo(info.as_mut_ptr()) };
    if rc == 0 {
        // SAFETY: sysinfo succeeded, so the struct is initialised (and it was
        // zeroed before, which is a valid bit pattern for it anyway).
        let info = unsafe { info.assume_init() };
        return Ok(core::from_sysinfo(info.loads.map(u64::from)));
    }
    let text = std::fs::read_to_string("/proc/loadavg")
        .map_err(|e| format!("sysinfo failed and reading /proc/loadavg: {e}"))?;
    Ok(core::parse_loadavg(&text)?)
}

/// Online CPUs as `sysconf(_SC_NPROCESSORS_ONLN)` counts them.
fn online_cpus() -> Option<u32> {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u32::try_from(n).ok().filter(|&n| n > 0)
}

impl Plugin for LoadPlugin {
    const NAME: &'static str = "load";

    fn new(config: &Config) -> Result<Self> {
        let s: Settings = config.deserialize()?;
        Ok(LoadPlugin {
            report_relative: s.report_relative,
        })
    }
}

impl Read for LoadPlugin {
    fn read(&self) -> Result {
        let loads = load_averages()?;
        let cores = if self.report_relative {
            let n = online_cpus();
            if n.is_none() {
                rcollectd_plugin::log::warn!(
                    "cannot count the online CPUs; reporting absolute load"
                );
            }
            n
        } else {
            None
        };
        // A rejected value list fails the read.
        let mut result = Ok(());
        dispatch_all(
            Self::NAME,
            CdTime::ZERO,
            &[core::metric(loads, cores)],
            |_, e| result = Err(e.clone().into()),
        );
        result
    }
}

export_plugin!(LoadPlugin, read);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::testing::capture;

    #[test]
    fn dispatches_absolute_and_relative_load() {
        let abs = capture(|| {
            LoadPlugin {
                report_relative: false,
            }
            .read()
        });
        assert!(abs.result.is_ok());
        assert_eq!(abs.values.len(), 1);
        let v = &abs.values[0];
        assert_eq!(
            (
                v.plugin.as_str(),
                v.type_.as_str(),
                v.type_instance.as_str()
            ),
            ("load", "load", "")
        );
        assert_eq!(v.gauges().len(), 3);
        assert!(v.gauges().iter().all(|l| *l >= 0.0));

        let rel = capture(|| {
            LoadPlugin {
                report_relative: true,
            }
            .read()
        });
        assert_eq!(rel.values[0].type_instance, "relative");
    }

    #[test]
    fn sysinfo_agrees_with_proc_loadavg() {
        let sys = load_averages().unwrap();
        let proc = core::parse_loadavg(&std::fs::read_to_string("/proc/loadavg").unwrap()).unwrap();
        // /proc/loadavg rounds to two decimals; the 15-minute average barely
        // moves between the two reads.
        assert!((sys[2] - proc[2]).abs() < 0.02, "{sys:?} vs {proc:?}");
    }
}
