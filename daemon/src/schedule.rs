//! The core's read scheduler, under the daemon's old path; the process's
//! instance is the runtime's (`runtime().scheduler`).

pub use rcollectd_core::schedule::*;
