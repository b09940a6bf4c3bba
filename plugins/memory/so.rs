//! The loadable `memory.so`: the C entry point of the plugin in this crate.

rcollectd_plugin::export_so!(memory);
