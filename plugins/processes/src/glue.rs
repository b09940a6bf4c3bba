//! Glue to the plugin SDK (filled in when the SDK API lands).
