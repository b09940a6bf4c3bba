//! rcollectd's own additions to the plugin ABI. collectd 5.12 has none of
//! these, so plugins resolve them at run time and do without when absent.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::dispatch;

/// Opens a dispatch batch on the calling thread: value lists it dispatches
/// until the matching [`rcollectd_dispatch_batch_end`] reach the write
/// threads in batches, which costs one queue handoff per batch instead of
/// one per value list. For plugins that dispatch from threads of their own
/// (read callbacks are batched by the daemon already). Calls nest.
#[no_mangle]
pub extern "C" fn rcollectd_dispatch_batch_begin() {
    let _ = catch_unwind(AssertUnwindSafe(dispatch::batch_begin));
}

/// Closes a batch opened by [`rcollectd_dispatch_batch_begin`]; the
/// outermost close hands what was gathered to the write threads. A plugin
/// must close its batch before it blocks, or the values wait with it.
#[no_mangle]
pub extern "C" fn rcollectd_dispatch_batch_end() {
    let _ = catch_unwind(AssertUnwindSafe(dispatch::batch_end));
}
