//! collectd's vmem plugin for rcollectd.
