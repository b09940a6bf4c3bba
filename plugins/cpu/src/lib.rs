//! collectd's cpu plugin for rcollectd: CPU time per state from `/proc/stat`.

pub mod core;
