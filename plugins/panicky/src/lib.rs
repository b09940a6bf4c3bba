//! Test-only plugin: panics in the callback named by `Callback` (read,
//! write, flush, notify, shutdown, init, or none), optionally appending the
//! time of every read to `StampFile` first, so tests can see the daemon back
//! off. Each `Extra "name"` registers one more read callback (named
//! `panicky/<name>`, 0.5 s interval) dispatching the gauge
//! `panicky-<name>/gauge` with meta data `panicky:extra = true`.
//!
//! ```text
//! <Plugin panicky>
//!   Callback "read"
//!   Message "boom"
//!   StampFile "/tmp/stamps"
//! </Plugin>
//! ```

use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcollectd_plugin::{
    export_plugin, Config, Flush, MetaData, Notification, Notify, Plugin, Read, Result, Value,
    ValueList, ValueListBuilder, Write,
};
use serde::Deserialize;

/// Which callback panics.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Callback {
    /// The read callback (every interval).
    #[default]
    Read,
    /// The write callback (every value list).
    Write,
    /// The flush callback.
    Flush,
    /// The notification callback.
    Notify,
    /// The shutdown callback.
    Shutdown,
    /// Construction at init.
    Init,
    /// Nothing panics.
    None,
}

/// The `<Plugin panicky>` options.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "PascalCase")]
pub struct Settings {
    /// The callback that panics.
    pub callback: Callback,
    /// The panic message.
    pub message: String,
    /// File that gets one line (seconds since the epoch) per read.
    pub stamp_file: Option<String>,
    /// Names of extra read callbacks.
    pub extra: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            callback: Callback::Read,
            message: "panicky plugin was told to panic".into(),
            stamp_file: None,
            extra: Vec::new(),
        }
    }
}

/// The plugin.
pub struct Panicky {
    settings: Settings,
}

impl Panicky {
    fn maybe_panic(&self, cb: Callback) {
        if self.settings.callback == cb {
            panic!("{}", self.settings.message);
        }
    }

    fn stamp(&self) -> Result {
        if let Some(path) = &self.settings.stamp_file {
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)?;
            writeln!(f, "{now:.3}")?;
        }
        Ok(())
    }
}

impl Plugin for Panicky {
    const NAME: &'static str = "panicky";

    fn new(config: &Config) -> Result<Self> {
        let settings: Settings = config.deserialize()?;
        if settings.callback == Callback::Init {
            panic!("{}", settings.message);
        }
        for name in &settings.extra {
            let instance = name.clone();
            rcollectd_plugin::register_read_fn(
                &format!("panicky/{name}"),
                Some(Duration::from_millis(500)),
                move || {
                    let mut meta = MetaData::new()?;
                    meta.add_boolean("panicky:extra", true)?;
                    ValueListBuilder::new("panicky", "gauge")
                        .plugin_instance(&instance)
                        .values(&[Value::Gauge(7.0)])
                        .meta(&meta)
                        .dispatch()?;
                    Ok(())
                },
            )?;
        }
        Ok(Panicky { settings })
    }

    fn shutdown(&self) -> Result {
        self.maybe_panic(Callback::Shutdown);
        Ok(())
    }
}

impl Read for Panicky {
    fn read(&self) -> Result {
        self.stamp()?;
        self.maybe_panic(Callback::Read);
        Ok(())
    }
}

impl Write for Panicky {
    fn write(&self, _values: &ValueList<'_>) -> Result {
        self.maybe_panic(Callback::Write);
        Ok(())
    }
}

impl Flush for Panicky {
    fn flush(&self, _timeout: Option<Duration>, _identifier: Option<&str>) -> Result {
        self.maybe_panic(Callback::Flush);
        Ok(())
    }
}

impl Notify for Panicky {
    fn notify(&self, _n: &Notification<'_>) -> Result {
        self.maybe_panic(Callback::Notify);
        Ok(())
    }
}

export_plugin!(Panicky, read, write, flush, notify);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::{guard, ConfigItem, ConfigValue};

    #[test]
    fn panics_only_in_the_chosen_callback() {
        let cfg = Config {
            plugin: "panicky".into(),
            items: vec![
                ConfigItem::new("Callback", vec![ConfigValue::String("Flush".into())]),
                ConfigItem::new("Message", vec![ConfigValue::String("boom".into())]),
            ],
        };
        let p = Panicky::new(&cfg).unwrap();
        let cap = rcollectd_plugin::testing::capture(|| {
            (
                guard("panicky", "read", || p.read()),
                guard("panicky", "flush", || p.flush(None, None)),
            )
        });
        assert_eq!(cap.result, (0, -1));
        assert_eq!(cap.logs.len(), 1);
        assert!(
            cap.logs[0].1.starts_with("panicky: panic in flush: boom"),
            "{:?}",
            cap.logs
        );
    }
}
