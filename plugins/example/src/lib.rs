//! Template plugin: copy this crate to start a new plugin.
