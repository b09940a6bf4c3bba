//! rcollectd: a drop-in replacement for the collectd 5 statistics daemon.
//!
//! The binary (`main.rs`) is a thin shell; everything it drives lives here so
//! that tests, fuzz targets and benchmarks reach the same code. The rules
//! that know nothing of C (config, types.db, identifiers, time, meta data)
//! are the `rcollectd-core` crate, re-exported here under their old paths.

pub mod abi;
pub mod cache;
pub mod config;
pub mod daemon;
pub mod dispatch;
pub mod handover;
pub mod isolate;
pub mod meta;
pub mod plugins;
pub mod reload;
pub mod runtime;
pub mod schedule;
pub mod trim;
pub mod types_db;

pub use rcollectd_core::{ident, time, work_queue};
