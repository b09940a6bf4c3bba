//! collectd's contextswitch plugin for rcollectd.

pub mod core;
