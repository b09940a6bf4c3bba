//! The daemon's read scheduler: the core's [`Scheduler`], one per process,
//! because the exported `plugin_register_read` and friends have no handle
//! to pass it through.

use std::sync::LazyLock;

pub use rcollectd_core::schedule::*;

static SCHEDULER: LazyLock<Scheduler> = LazyLock::new(Scheduler::new);

/// The process-wide scheduler.
pub fn scheduler() -> &'static Scheduler {
    &SCHEDULER
}
