//! collectd 5.12's fhcount plugin for Linux (in progress).
