//! collectd's uptime plugin for rcollectd: seconds since boot as type
//! `uptime`, the whole seconds of `sysinfo(2)` as collectd 5.12 reports them.

pub mod core;

use rcollectd_plugin::{export_plugin, Config, Plugin, Read, Result, Value, ValueListBuilder};

/// The plugin; it has no options.
pub struct UptimePlugin;

/// Seconds since boot: `sysinfo(2)` like collectd, else `/proc/uptime`.
fn uptime_seconds() -> Result<i64> {
    let mut info = std::mem::MaybeUninit::<libc::sysinfo>::zeroed();
    // SAFETY: sysinfo writes a `struct sysinfo` into the pointer it is given;
    // the buffer is zeroed, properly sized and aligned.
    let rc = unsafe { libc::sysinfo(info.as_mut_ptr()) };
    if rc == 0 {
        // SAFETY: sysinfo succeeded, so the struct is initialised.
        let info = unsafe { info.assume_init() };
        return Ok(info.uptime);
    }
    let text = std::fs::read_to_string("/proc/uptime")
        .map_err(|e| format!("sysinfo failed and reading /proc/uptime: {e}"))?;
    Ok(core::parse_proc_uptime(&text)?)
}

impl Plugin for UptimePlugin {
    const NAME: &'static str = "uptime";

    fn new(config: &Config) -> Result<Self> {
        config.check_known(&[])?;
        Ok(UptimePlugin)
    }
}

impl Read for UptimePlugin {
    fn read(&self) -> Result {
        let value = [Value::Gauge(core::value(uptime_seconds()?))];
        ValueListBuilder::new(Self::NAME, "uptime")
            .values(&value)
            .dispatch()?;
        Ok(())
    }
}

export_plugin!(UptimePlugin, read);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::testing::capture;

    #[test]
    fn dispatches_uptime_close_to_proc_uptime() {
        let cap = capture(|| UptimePlugin.read());
        assert!(cap.result.is_ok());
        assert_eq!(cap.values.len(), 1);
        let v = &cap.values[0];
        assert_eq!((v.plugin.as_str(), v.type_.as_str()), ("uptime", "uptime"));
        let proc =
            core::parse_proc_uptime(&std::fs::read_to_string("/proc/uptime").unwrap()).unwrap();
        assert!((v.gauges()[0] - proc as f64).abs() <= 2.0);
    }
}
