//! collectd's uptime plugin for rcollectd.
