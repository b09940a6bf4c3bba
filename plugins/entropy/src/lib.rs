//! collectd's entropy plugin for rcollectd.

pub mod core;
