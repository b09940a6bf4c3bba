//! collectd 5.12's processes plugin for Linux (in progress).
