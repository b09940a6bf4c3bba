//! collectd's load plugin for rcollectd.
