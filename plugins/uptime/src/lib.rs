//! collectd's uptime plugin for rcollectd.

pub mod core;
