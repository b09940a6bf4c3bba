//! collectd's contextswitch plugin for rcollectd.
