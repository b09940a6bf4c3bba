//! Every `extern "C"` symbol rcollectd exports to plugins, grouped as
//! collectd's headers group them; rcollectd's own additions are in
//! `extensions`. Variadic entry points are in `shim.c`.

pub mod avl;
pub mod cache;
pub mod callbacks;
pub mod cf_util;
pub mod common;
pub mod extensions;
pub mod ffi;
pub mod filter;
pub mod globals;
pub mod heap;
pub mod internals;
pub mod llist;
pub mod meta_data;
pub mod notification_meta;
pub mod oconfig;
pub mod plugin;
pub mod threshold;
pub mod time;
