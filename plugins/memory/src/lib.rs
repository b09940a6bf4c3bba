//! collectd's memory plugin for rcollectd.
