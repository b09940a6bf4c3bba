//! collectd's entropy plugin for rcollectd.
