//! collectd's vmem plugin for rcollectd: virtual memory statistics from `/proc/vmstat`.

pub mod core;
