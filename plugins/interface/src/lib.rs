//! collectd 5.12's interface plugin for Linux (in progress).
