//! The core's per-output queues ([`rcollectd_core::outputs`]) over the
//! registered write callbacks: each callback is an output whose items are
//! queued value lists, written in the item's plugin context with the rates
//! the cache computed for it.
//!
//! - Without a `PostCacheChain`, the dispatching thread hands each batch to
//!   every output at once (the outputs share it).
//! - With one, the chain runs on the `WriteThreads` routing threads (as it
//!   runs on collectd's write threads); each `write` target queues a copy of
//!   the value list, as the chain has made it so far, for the outputs it names.
//! - Drops are counted per output and summed into collectd's `write_queue`
//!   statistics; shutdown drains every output, giving a writer that never
//!   returns `Timeout` × `Interval`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use rcollectd_core::outputs::{self, Host};

use super::{recycle, QueuedVl, Writing, FLOW};
use crate::plugins::ctx;
use crate::plugins::registry::{Callback, WriteFn};
use crate::runtime::runtime;

pub use rcollectd_core::outputs::{OutputStats, Payload};

/// A write callback as an output of the core's queues.
impl outputs::Write for Callback<WriteFn> {
    type Item = QueuedVl;

    fn name(&self) -> &str {
        &self.name
    }

    fn write(&self, item: &QueuedVl) {
        let mut c = item.ctx.0;
        c.name = self.ctx.0.name;
        let _g = ctx::enter(c);
        let vl = item.view();
        let _w = Writing::enter(&vl, &item.rates);
        let _ = Callback::<WriteFn>::write(self, item.ds.raw(), &vl);
    }
}

/// The dispatch path's side of the queues: limits, collectd's counters,
/// batch reuse, the heap trim after a backlog, the isolation hook.
pub struct DispatchHost;

impl Host<QueuedVl> for DispatchHost {
    fn dropped(&self, n: u64, worst: f64) {
        FLOW.stats()
            .dropped_queue_full
            .fetch_add(n, Ordering::Relaxed);
        FLOW.log_drop(worst);
    }

    fn enqueued(&self, n: u64, queued: i64) {
        FLOW.note_backlog(queued);
        FLOW.stats().enqueued.fetch_add(n, Ordering::Relaxed);
    }

    fn written(&self, output: &str, n: u64) {
        FLOW.stats().written.fetch_add(n, Ordering::Relaxed);
        if let Some(hook) = AFTER_PAYLOAD.get() {
            hook(output);
        }
        FLOW.trim_after_backlog();
    }

    fn recycle(&self, batch: Vec<QueuedVl>) {
        recycle(batch);
    }
}

/// One output of the daemon.
pub type Output = outputs::Output<Callback<WriteFn>, DispatchHost>;

static OUTPUTS: LazyLock<outputs::Outputs<Callback<WriteFn>, DispatchHost>> =
    LazyLock::new(|| outputs::Outputs::new(DispatchHost));

/// The registered write callbacks, the list the outputs follow.
fn writers() -> Arc<Vec<Arc<Callback<WriteFn>>>> {
    runtime().registry.write.snapshot()
}

/// Called with an output's name after it has written a batch (an isolated
/// plugin's stand-in sends what it gathered then).
static AFTER_PAYLOAD: std::sync::OnceLock<fn(&str)> = std::sync::OnceLock::new();

/// Installs the hook run after every batch an output writes.
pub fn set_after_payload(hook: fn(&str)) {
    let _ = AFTER_PAYLOAD.set(hook);
}

/// Sets every output's queue limits.
pub(super) fn set_limits(l: outputs::QueueLimits) {
    OUTPUTS.set_limits(l);
}

/// Every output's queue limits (the routing queue of a `PostCacheChain`
/// has the same).
pub(super) fn limits() -> outputs::QueueLimits {
    OUTPUTS.limits()
}

/// Makes `name` the one output value lists are delivered to (an isolated
/// plugin's host process sends everything to the daemon and nowhere else).
pub fn deliver_only_to(name: &str) {
    OUTPUTS.deliver_only_to(name);
}

/// Waits until the output `name` has written what was queued for it when
/// called (at most `timeout`), so a flush that follows a dispatch sees the
/// value lists dispatched before it, as with collectd's shared queue once
/// drained. Not from the output's own writer thread (it would wait for itself).
pub fn wait_written(name: &str, timeout: Duration) {
    OUTPUTS.wait_written(writers(), name, timeout);
}

/// The outputs, one per registered write callback, in registration order;
/// follows `plugin_register_write`/`plugin_unregister_write`.
pub fn current() -> Arc<Vec<Arc<Output>>> {
    OUTPUTS.current(writers())
}

/// Hands `payload` to every output; false if there is none.
pub(super) fn deliver(payload: Payload<QueuedVl>) -> bool {
    OUTPUTS.deliver(writers(), payload)
}

/// Hands `items` to the output named `name` alone (a chain's `write`
/// target); false if no output has that name.
pub(super) fn deliver_to(name: &str, items: Vec<QueuedVl>) -> bool {
    OUTPUTS.deliver_to(writers(), name, items)
}

/// Starts one writer thread per output (more as backlogs need, up to
/// `max_writers` each).
pub(super) fn start(max_writers: usize) {
    OUTPUTS.start(writers(), max_writers);
}

/// Value lists queued in all outputs.
pub fn queued() -> i64 {
    OUTPUTS.queued(writers())
}

/// Stops every output's writers once they have written what is queued,
/// waiting at most `grace`; see [`outputs::Outputs::stop_and_drain`].
pub(super) fn stop_and_drain(grace: Duration) -> (usize, usize) {
    OUTPUTS.stop_and_drain(writers(), grace)
}

/// Writes every output's queue on the calling thread (`-T`, shutdown),
/// skipping an output abandoned at shutdown; returns how many.
pub(super) fn drain_here() -> usize {
    OUTPUTS.drain_here(writers())
}

/// Drops what every output still holds; returns how many.
pub(super) fn discard() -> usize {
    OUTPUTS.discard(writers())
}
