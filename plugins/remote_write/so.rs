//! The loadable `remote_write.so`: the C entry point of the plugin in this crate.

rcollectd_plugin::export_so!(remote_write);
