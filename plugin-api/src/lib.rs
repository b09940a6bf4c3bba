//! Write collectd 5 plugins in Rust.
//!
//! A plugin built with this crate speaks the collectd 5 plugin C ABI: its
//! `.so` loads in rcollectd and in collectd 5.12, and the same code can be
//! built into the rcollectd binary.
//! The daemon's functions (`plugin_register_*`, `plugin_dispatch_values`,
//! `plugin_log`, `uc_get_rate`, ...) are looked up in the host process when
//! first used, so plugin crates also link into plain test binaries.
//!
//! # A complete read plugin
//!
//! ```
//! use rcollectd_plugin::{export_plugin, Config, Plugin, Read, Result, Value, ValueListBuilder};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, Default)]
//! #[serde(default, deny_unknown_fields, rename_all = "PascalCase")]
//! struct Settings {
//!     value: f64,         // `Value 42` in <Plugin example>
//!     instance: String,   // `Instance "answer"`
//! }
//!
//! struct Example(Settings);
//!
//! impl Plugin for Example {
//!     const NAME: &'static str = "example";
//!     fn new(config: &Config) -> Result<Self> {
//!         Ok(Example(config.deserialize()?))
//!     }
//! }
//!
//! impl Read for Example {
//!     fn read(&self) -> Result {
//!         ValueListBuilder::new(Self::NAME, "gauge")
//!             .type_instance(&self.0.instance)
//!             .values(&[Value::Gauge(self.0.value)])
//!             .dispatch()?;
//!         Ok(())
//!     }
//! }
//!
//! export_plugin!(Example, read);
//! ```
//!
//! The crate's lib (`[lib] name = "example"`, an rlib) holds the plugin; a
//! `cdylib` target holds the `.so`'s entry point, one line in `so.rs`:
//!
//! ```text
//! [[example]]
//! name = "example_so"
//! path = "so.rs"
//! crate-type = ["cdylib"]
//! ```
//!
//! ```ignore
//! rcollectd_plugin::export_so!(example);
//! ```
//!
//! `cargo build --release --examples` leaves `examples/libexample_so.so`;
//! install it as `<PluginDir>/example.so`.
//!
//! # Shape of the API
//!
//! * [`Plugin`]: `NAME`, `new(&Config)` (called once at init with all
//!   `<Plugin NAME>` blocks merged; an error disables the plugin) and an
//!   optional `shutdown`. Capabilities are separate traits: [`Read`],
//!   [`Write`], [`Flush`], [`Log`], [`Notify`]; list the ones you implement in
//!   [`export_plugin!`]: `export_plugin!(Csv, write, flush)`.
//! * Callbacks take `&self` and may run on several threads at once; use
//!   interior mutability (`Mutex`, atomics) for state.
//! * Every callback runs inside `catch_unwind`: a panic is logged as
//!   `"<name>: panic in <callback>: <message>"` and reported to the daemon as
//!   a failure (a failing read is backed off). Errors returned by callbacks
//!   are logged as `"<name> plugin: <callback> failed: <error>"`.
//! * Values: [`Value`] (`Gauge(f64)`, `Derive(i64)`, `Counter(u64)`,
//!   `Absolute(u64)`), [`ValueListBuilder`] to dispatch, [`dispatch_raw`] for
//!   a ready `value_list_t`. Writers get a [`ValueList`] view: identifier
//!   fields, [`CdTime`] time/interval, `values()` paired with their
//!   [`DataSource`], [`ValueList::rates`] (`uc_get_rate`), [`ValueList::meta`].
//! * Notifications: [`Notification`] view and [`NotificationBuilder`];
//!   [`dispatch_notification_raw`] for a ready `notification_t`.
//! * The value cache's per-identifier meta data:
//!   [`cache_meta_unsigned_int`], [`set_cache_meta_unsigned_int`]; the
//!   cache's contents: [`cache_names`], [`cache_rates_by_name`].
//! * Requests on a user's behalf (collectd's command interfaces): [`flush`]
//!   the writers, [`search_threshold`],
//!   [`dispatch_notification_with_strings`].
//! * [`plugin_interval`], [`hostname`], [`DataSet::lookup`];
//!   [`register_read_fn`] adds read callbacks with their own name and
//!   interval; [`MetaData`] attaches meta data to dispatched values.
//! * Logging: the `log` crate macros go to `plugin_log` with the prefix
//!   `"<name> plugin: "`; [`plugin_log`] sends a message verbatim.
//! * `testing::capture` (feature `testing`) runs plugin code without a
//!   daemon and returns what it dispatched and logged.
//! * [`sys`] is the raw ABI for anything not wrapped.
//!
//! # Configuration
//!
//! [`Config`] holds the plugin's options as an owned [`ConfigItem`] tree
//! (key, [`ConfigValue`]s, children) with typed getters, for plugins with
//! their own grammar. [`Config::deserialize`] maps it onto a serde struct:
//!
//! * option keys match field names case-insensitively, ignoring `_` and `-`
//!   (`report_by_cpu` matches `ReportByCpu`); `#[serde(rename)]` works too;
//! * scalars (`bool`, integers, floats, `String`, unit enums matched
//!   case-insensitively) take one value; bools accept `true/yes/on` and
//!   `false/no/off`; numbers may be quoted; unquoted numbers fill strings;
//! * a repeated key fills a `Vec` (one element per occurrence); for any
//!   other type the last occurrence wins, as in collectd;
//! * several values on one line fill a tuple or `Vec`
//!   (`Listen "::" 25826` into `(String, u16)`);
//! * a nested block `<Server "host" "port"> ... </Server>` fills a struct;
//!   its own values go to a field renamed `"$values"`;
//! * `Option<T>` is `None` when the key is absent; use `#[serde(default)]`
//!   and `deny_unknown_fields` as usual.
//!
//! Errors name the option and its position in the tree, e.g.
//! `<Plugin cpu> / ReportByCpu "maybe": option "ReportByCpu" expects a
//! boolean, got the string "maybe"`.

#[rustfmt::skip]
pub mod sys;

mod cache;
#[cfg(any(test, feature = "testing"))]
mod capture;
mod config;
mod control;
mod host;
mod logging;
mod notification;
mod plugin;
mod procfile;
pub mod reload;
mod util;
mod value;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use cache::{
    cache_meta_unsigned_int, cache_names, cache_rates_by_name, set_cache_meta_unsigned_int,
};
pub use config::{Config, ConfigError, ConfigItem, ConfigValue};
pub use control::{flush, search_threshold};
pub use host::HostError;
pub use logging::{install_logger, plugin_log, LogLevel};
pub use notification::{
    dispatch_notification_raw, dispatch_notification_with_strings, Notification,
    NotificationBuilder, NotificationMetaValue, Severity,
};
pub use plugin::{
    guard, register_read_fn, set_thread_plugin, thread_plugin, Error, Flush, Log, Missing, Notify,
    Plugin, Read, Result, Write,
};
pub use procfile::ProcFile;
pub use util::NameError;
pub use value::{
    dispatch_raw, hostname, plugin_interval, CdTime, DataSet, DataSource, DispatchBatch,
    DispatchError, DsType, Meta, MetaData, MetaValue, RateError, Rates, Value, ValueList,
    ValueListBuilder,
};

/// Re-exported so plugins can use `log` without their own dependency.
pub use log;
/// Re-exported for `#[derive(Deserialize)]` via `#[serde(crate = "rcollectd_plugin::serde")]`.
pub use serde;

/// Items used by `export_plugin!`; not part of the stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::plugin::{
        config, early_log, init, module_register, register_flush, register_log, register_log_done,
        register_missing, register_notify, register_read, register_write, shutdown, CapabilityFn,
        State,
    };
}
