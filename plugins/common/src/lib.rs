//! Helpers shared by rcollectd's own plugins, so each rule is written once:
//!
//! * [`Metric`] and [`dispatch_all`]: value lists as plain data (testable
//!   parsers), dispatched under the plugin's name;
//! * [`atoll`], [`split_fields`], [`is_true`]: collectd's way of reading
//!   `/proc` files and option values;
//! * [`IgnoreList`] and [`PosixRegex`]: collectd's "ignorelist" selection;
//! * [`apply_simple`]: collectd's "simple config" (`Key Value` strings);
//! * [`cmds`]: collectd's PUTVAL and PUTNOTIF commands (unixsock, exec);
//! * [`latency`]: collectd's latency histogram (tail's `Distribution`);
//! * [`lines`]: bounded line assembly from a byte stream (exec, tail);
//! * [`format`]: collectd's identifiers, `escape_string` and `format_values`;
//! * [`prometheus`]: collectd's metric names and labels for Prometheus;
//! * [`outbox`]: a bounded, retrying queue of batches for outputs that
//!   push to an endpoint, and (feature `http`) the HTTP client they use.
//!
//! An rlib: every plugin `.so` links its own copy and stays self-contained.
//! It lives beside the SDK rather than under `plugins/`, where every crate
//! is built and installed as a plugin.

pub mod cmds;
pub mod format;
#[cfg(feature = "http")]
pub mod http;
mod ignorelist;
pub mod latency;
pub mod lines;
mod metric;
pub mod outbox;
pub mod prometheus;
pub mod regex_groups;
mod text;

pub use ignorelist::{IgnoreList, PosixRegex};
pub use metric::{dispatch_all, warn_failed, Metric};
pub use text::{apply_simple, atoll, is_true, legacy_value, split_fields};
