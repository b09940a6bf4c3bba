//! collectd's load plugin for rcollectd: the system load averages.

pub mod core;
