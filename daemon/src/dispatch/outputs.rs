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
use std::sync::Arc;
use std::time::Duration;

use rcollectd_core::outputs::{self, Host};

use super::{Dispatch, QueuedVl, Up, Writing};
use crate::plugins::ctx;
use crate::plugins::registry::{Callback, WriteFn};

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
pub struct DispatchHost(pub(super) Up);

impl Host<QueuedVl> for DispatchHost {
    fn dropped(&self, n: u64, worst: f64) {
        let flow = &self.0.get().flow;
        flow.stats()
            .dropped_queue_full
            .fetch_add(n, Ordering::Relaxed);
        flow.log_drop(worst);
    }

    fn enqueued(&self, n: u64, queued: i64) {
        let flow = &self.0.get().flow;
        flow.note_backlog(queued);
        flow.stats().enqueued.fetch_add(n, Ordering::Relaxed);
    }

    fn written(&self, output: &str, n: u64) {
        let d = self.0.get();
        d.flow.stats().written.fetch_add(n, Ordering::Relaxed);
        if let Some(hook) = d.after_payload.get() {
            hook(output);
        }
        d.flow.trim_after_backlog();
    }

    fn recycle(&self, batch: Vec<QueuedVl>) {
        self.0.get().flow.recycle(batch);
    }
}

/// One output of the daemon.
pub type Output = outputs::Output<Callback<WriteFn>, DispatchHost>;

/// Every output's queue and writers.
pub(super) type Queues = outputs::Outputs<Callback<WriteFn>, DispatchHost>;

impl Dispatch {
    /// The registered write callbacks, the list the outputs follow.
    fn writers(&self) -> Arc<Vec<Arc<Callback<WriteFn>>>> {
        self.registry.write.snapshot()
    }

    /// Installs the hook run after every batch an output writes.
    pub fn set_after_payload(&self, hook: super::AfterPayload) {
        let _ = self.after_payload.set(hook);
    }

    /// Makes `name` the one output value lists are delivered to (an isolated
    /// plugin's host process sends everything to the daemon and nowhere else).
    pub fn deliver_only_to(&self, name: &str) {
        self.outputs.deliver_only_to(name);
    }

    /// Waits until the output `name` has written what was queued for it when
    /// called (at most `timeout`), so a flush that follows a dispatch sees the
    /// value lists dispatched before it, as with collectd's shared queue once
    /// drained. Not from the output's own writer thread (it would wait for itself).
    pub fn wait_written(&self, name: &str, timeout: Duration) {
        self.outputs.wait_written(self.writers(), name, timeout);
    }

    /// The outputs, one per registered write callback, in registration order;
    /// follows `plugin_register_write`/`plugin_unregister_write`.
    pub fn outputs(&self) -> Arc<Vec<Arc<Output>>> {
        self.outputs.current(self.writers())
    }

    /// Hands `payload` to every output; false if there is none.
    pub(super) fn deliver(&self, payload: Payload<QueuedVl>) -> bool {
        self.outputs.deliver(self.writers(), payload)
    }

    /// Hands `items` to the output named `name` alone (a chain's `write`
    /// target); false if no output has that name.
    pub(super) fn deliver_to(&self, name: &str, items: Vec<QueuedVl>) -> bool {
        self.outputs.deliver_to(self.writers(), name, items)
    }

    /// Starts one writer thread per output (more as backlogs need, up to
    /// `max_writers` each).
    pub(super) fn start_outputs(&self, max_writers: usize) {
        self.outputs.start(self.writers(), max_writers);
    }

    /// Value lists queued in all outputs.
    pub fn output_backlog(&self) -> i64 {
        self.outputs.queued(self.writers())
    }

    /// Stops every output's writers once they have written what is queued,
    /// waiting at most `grace`; see [`outputs::Outputs::stop_and_drain`].
    pub(super) fn stop_and_drain_outputs(&self, grace: Duration) -> (usize, usize) {
        self.outputs.stop_and_drain(self.writers(), grace)
    }

    /// Writes every output's queue on the calling thread (`-T`, shutdown),
    /// skipping an output abandoned at shutdown; returns how many.
    pub(super) fn drain_outputs_here(&self) -> usize {
        self.outputs.drain_here(self.writers())
    }

    /// Drops what every output still holds; returns how many.
    pub(super) fn discard_outputs(&self) -> usize {
        self.outputs.discard(self.writers())
    }
}
