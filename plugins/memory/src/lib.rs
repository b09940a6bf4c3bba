//! collectd's memory plugin for rcollectd: memory usage by state from `/proc/meminfo`.

pub mod core;
