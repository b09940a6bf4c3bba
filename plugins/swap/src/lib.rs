//! collectd's swap plugin for rcollectd: swap usage and swap I/O.

pub mod core;
