//! collectd's swap plugin for rcollectd.
