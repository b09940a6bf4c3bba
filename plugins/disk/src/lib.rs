//! collectd 5.12's disk plugin for Linux (in progress).
