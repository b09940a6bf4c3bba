//! Template plugin: copy this crate to start a new plugin.
//!
//! It dispatches one gauge per interval, `<host>/example[-<Instance>]/gauge-value`,
//! whose value comes from the configuration:
//!
//! ```text
//! LoadPlugin example
//! <Plugin example>
//!   Value 42.5
//!   Instance "answer"
//! </Plugin>
//! ```

use rcollectd_plugin::{export_plugin, Config, Plugin, Read, Result, Value, ValueListBuilder};
use serde::Deserialize;

/// The `<Plugin example>` options; keys match case-insensitively.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "PascalCase")]
pub struct Settings {
    /// The gauge to report.
    pub value: f64,
    /// Plugin instance ("" for none).
    pub instance: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            value: 1.0,
            instance: String::new(),
        }
    }
}

/// The plugin: built once from its settings, read on every interval.
pub struct Example {
    settings: Settings,
}

impl Plugin for Example {
    const NAME: &'static str = "example";

    fn new(config: &Config) -> Result<Self> {
        let settings: Settings = config.deserialize()?;
        rcollectd_plugin::log::info!("reporting {}", settings.value);
        Ok(Example { settings })
    }
}

impl Read for Example {
    fn read(&self) -> Result {
        ValueListBuilder::new(Self::NAME, "gauge")
            .plugin_instance(&self.settings.instance)
            .type_instance("value")
            .values(&[Value::Gauge(self.settings.value)])
            .dispatch()?;
        Ok(())
    }
}

export_plugin!(Example, read);

#[cfg(test)]
mod tests {
    use super::*;
    use rcollectd_plugin::{testing, ConfigItem, ConfigValue};

    fn config(items: Vec<ConfigItem>) -> Config {
        Config {
            plugin: "example".into(),
            items,
        }
    }

    #[test]
    fn reads_the_configured_value() {
        let cfg = config(vec![
            ConfigItem::new("value", vec![ConfigValue::Number(42.5)]),
            ConfigItem::new("Instance", vec![ConfigValue::String("answer".into())]),
        ]);
        rcollectd_plugin::install_logger(Example::NAME);
        let cap = testing::capture(|| Example::new(&cfg).and_then(|p| p.read()));
        assert!(cap.result.is_ok());
        assert_eq!(cap.values.len(), 1);
        let v = &cap.values[0];
        assert_eq!(
            (v.plugin.as_str(), v.plugin_instance.as_str()),
            ("example", "answer")
        );
        assert_eq!(
            (v.type_.as_str(), v.type_instance.as_str()),
            ("gauge", "value")
        );
        assert_eq!(v.gauges(), vec![42.5]);
        assert_eq!(cap.logs[0].1, "example plugin: reporting 42.5");
    }

    #[test]
    fn defaults_and_bad_options() {
        let p = Example::new(&config(vec![])).unwrap();
        assert_eq!(p.settings, Settings::default());
        let err = Example::new(&config(vec![ConfigItem::new(
            "Value",
            vec![ConfigValue::String("x".into())],
        )]))
        .err()
        .unwrap();
        assert_eq!(
            err.to_string(),
            "<Plugin example> / Value \"x\": option \"Value\" expects a number, got the string \"x\""
        );
    }
}
