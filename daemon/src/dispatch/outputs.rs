//! One bounded queue per output (write callback), each drained by its own
//! writer thread, so an output that blocks or crawls delays and drops only
//! its own data (collectd shares one queue among all outputs: collectd #2104).
//!
//! - Without a `PostCacheChain`, the dispatching thread hands each batch to
//!   every output at once; the outputs share the batch (one `Arc`), which is
//!   freed or recycled when the last of them has written it.
//! - With one, the chain runs on the `WriteThreads` routing threads (as it
//!   runs on collectd's write threads); each `write` target queues a copy of
//!   the value list, as the chain has made it so far, for the outputs it names.
//! - `WriteQueueLimitHigh`/`Low` apply to each output's queue: above Low a
//!   value list is dropped for that output with collectd's rising
//!   probability, at High always; drops are counted per output and summed
//!   into collectd's `write_queue` statistics.
//! - An output starts with one writer thread, so its value lists stay in
//!   order; while more than 16 batches wait for it (its writer fell behind,
//!   not just an interval's burst) it may grow to `WriteThreads` threads.
//! - Shutdown drains every output into its writer, giving a writer that never
//!   returns `Timeout` × `Interval` before its queue is counted as lost.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rcollectd_plugin::sys::value_list_t;

use super::{recycle, QueuedVl, Writing, STATS};
use crate::plugins::ctx;
use crate::plugins::registry::{registry, Callback, WriteFn};
use crate::work_queue::WorkQueue;

/// Value lists on their way to outputs. It lives in an `Arc`, so `One` is
/// the one allocation a value list dispatched outside a batch costs.
#[allow(clippy::large_enum_variant)]
pub(super) enum Payload {
    /// A batch, shared by every output it was handed to.
    Batch(Vec<QueuedVl>),
    /// A value list dispatched outside a batch.
    One(QueuedVl),
}

impl Payload {
    fn items(&self) -> &[QueuedVl] {
        match self {
            Payload::Batch(b) => b,
            Payload::One(item) => std::slice::from_ref(item),
        }
    }

    /// Number of value lists held.
    pub(super) fn len(&self) -> usize {
        self.items().len()
    }
}

/// Recycles a payload's vector once no output holds it any more.
fn release(p: Arc<Payload>) {
    if let Ok(Payload::Batch(b)) = Arc::try_unwrap(p) {
        recycle(b);
    }
}

enum OutMsg {
    Write {
        payload: Arc<Payload>,
        /// Bit i set: item i was dropped for this output.
        skip: Option<Box<[u64]>>,
        kept: usize,
    },
    Stop,
}

/// Counters of one output, reported under `collectd-output-<name>`.
#[derive(Debug, Default)]
pub struct OutputStats {
    /// Value lists waiting in this output's queue.
    pub queue_length: AtomicI64,
    /// Value lists this output dropped because its queue was full.
    pub dropped: AtomicU64,
    /// Value lists handed to this output's write callback.
    pub written: AtomicU64,
}

/// One write callback with its queue and writer threads.
pub struct Output {
    cb: Arc<Callback<WriteFn>>,
    queue: WorkQueue<OutMsg>,
    /// Messages queued and not yet taken by a writer.
    msgs: AtomicUsize,
    stats: OutputStats,
    /// Writer threads started, and how many have returned.
    started: Mutex<usize>,
    finished: AtomicUsize,
    /// Set when shutdown gave up on a writer that never returned.
    abandoned: AtomicBool,
}

impl Output {
    fn new(cb: Arc<Callback<WriteFn>>) -> Arc<Output> {
        Arc::new(Output {
            cb,
            queue: WorkQueue::new(),
            msgs: AtomicUsize::new(0),
            stats: OutputStats::default(),
            started: Mutex::new(0),
            finished: AtomicUsize::new(0),
            abandoned: AtomicBool::new(false),
        })
    }

    /// The write callback's registered name.
    pub fn name(&self) -> &str {
        &self.cb.name
    }

    /// This output's counters.
    pub fn stats(&self) -> &OutputStats {
        &self.stats
    }

    /// Queues the items of `payload` this output does not drop.
    fn offer(self: &Arc<Self>, payload: &Arc<Payload>) {
        let n = payload.len();
        let (low, high) = super::limits();
        let queued = self.stats.queue_length.load(Ordering::Relaxed).max(0) as u64;
        let mut skip = None;
        let mut kept = n;
        if queued + n as u64 > low {
            let mut mask = vec![0u64; n.div_ceil(64)];
            let mut len = queued;
            kept = 0;
            let mut worst = 0.0f64;
            for i in 0..n {
                let p = super::drop_probability(len, low, high);
                if p > 0.0 && (p >= 1.0 || p > super::random_unit()) {
                    mask[i / 64] |= 1 << (i % 64);
                    worst = worst.max(p);
                } else {
                    kept += 1;
                    len += 1;
                }
            }
            let dropped = (n - kept) as u64;
            if dropped > 0 {
                self.stats.dropped.fetch_add(dropped, Ordering::Relaxed);
                STATS
                    .dropped_queue_full
                    .fetch_add(dropped, Ordering::Relaxed);
                super::log_drop(worst);
            }
            skip = Some(mask.into_boxed_slice());
        }
        if kept == 0 {
            return;
        }
        let now = self
            .stats
            .queue_length
            .fetch_add(kept as i64, Ordering::Relaxed)
            + kept as i64;
        super::note_backlog(now);
        STATS.enqueued.fetch_add(kept as u64, Ordering::Relaxed);
        let waiting = self.msgs.fetch_add(1, Ordering::Relaxed) + 1;
        self.queue.push(OutMsg::Write {
            payload: payload.clone(),
            skip,
            kept,
        });
        if waiting > GROW_AT && STARTED.load(Ordering::Acquire) {
            self.grow();
        }
    }

    /// Starts a writer thread if fewer than `WriteThreads` run.
    fn grow(self: &Arc<Self>) {
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        if *started >= MAX_WRITERS.load(Ordering::Relaxed).max(1) {
            return;
        }
        let me = self.clone();
        let name: String = format!("w:{}", self.cb.name).chars().take(15).collect();
        match std::thread::Builder::new()
            .name(name)
            .spawn(move || me.run())
        {
            Ok(_) => *started += 1,
            Err(e) => log::error!(
                "plugin: cannot start a write thread for `{}': {e}",
                self.cb.name
            ),
        }
    }

    fn run(self: Arc<Self>) {
        loop {
            let msg = self.queue.pop();
            self.msgs.fetch_sub(1, Ordering::Relaxed);
            match msg {
                OutMsg::Stop => break,
                OutMsg::Write {
                    payload,
                    skip,
                    kept,
                } => {
                    if self.msgs.load(Ordering::Relaxed) > GROW_AT {
                        self.grow();
                    }
                    self.write(payload, skip.as_deref(), kept);
                    super::trim_after_backlog();
                }
            }
        }
        self.finished.fetch_add(1, Ordering::Release);
    }

    /// Calls the write callback for every item not in `skip`.
    fn write(&self, payload: Arc<Payload>, skip: Option<&[u64]>, kept: usize) {
        for (i, item) in payload.items().iter().enumerate() {
            if skip.is_some_and(|m| m[i / 64] & (1 << (i % 64)) != 0) {
                continue;
            }
            let mut c = item.ctx.0;
            c.name = self.cb.ctx.0.name;
            let _g = ctx::enter(c);
            let vl = item.view();
            let _w = Writing::enter(&vl, &item.rates);
            call(&self.cb, item, &vl);
        }
        self.stats
            .queue_length
            .fetch_sub(kept as i64, Ordering::Relaxed);
        self.stats.written.fetch_add(kept as u64, Ordering::Relaxed);
        STATS.written.fetch_add(kept as u64, Ordering::Relaxed);
        release(payload);
        if let Some(hook) = AFTER_PAYLOAD.get() {
            hook(self.name());
        }
    }

    /// Writes what is queued on the calling thread (no writer runs).
    fn drain_here(&self) -> usize {
        let mut n = 0;
        while let Some(msg) = self.queue.try_pop() {
            self.msgs.fetch_sub(1, Ordering::Relaxed);
            if let OutMsg::Write {
                payload,
                skip,
                kept,
            } = msg
            {
                self.write(payload, skip.as_deref(), kept);
                n += kept;
            }
        }
        n
    }

    /// Drops what is queued; returns how many value lists.
    fn discard(&self) -> usize {
        let mut n = 0;
        while let Some(msg) = self.queue.try_pop() {
            self.msgs.fetch_sub(1, Ordering::Relaxed);
            if let OutMsg::Write { payload, kept, .. } = msg {
                self.stats
                    .queue_length
                    .fetch_sub(kept as i64, Ordering::Relaxed);
                release(payload);
                n += kept;
            }
        }
        n
    }

    /// Asks every writer thread to stop once it has written what is queued.
    fn stop(&self) {
        let started = *self.started.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..started {
            self.msgs.fetch_add(1, Ordering::Relaxed);
            self.queue.push(OutMsg::Stop);
        }
    }

    fn all_stopped(&self) -> bool {
        let started = *self.started.lock().unwrap_or_else(|e| e.into_inner());
        self.finished.load(Ordering::Acquire) >= started
    }
}

/// Calls `cb` for one value list; a panic in a Rust callback is contained.
fn call(cb: &Callback<WriteFn>, item: &QueuedVl, vl: &value_list_t) {
    let _ = cb.write(item.ds.raw(), vl);
}

struct Registry {
    /// The write callbacks the list was built from.
    callbacks: Arc<Vec<Arc<Callback<WriteFn>>>>,
    outputs: Arc<Vec<Arc<Output>>>,
}

static OUTPUTS: RwLock<Option<Registry>> = RwLock::new(None);

/// Called with an output's name after it has written a batch (an isolated
/// plugin's stand-in sends what it gathered then).
static AFTER_PAYLOAD: std::sync::OnceLock<fn(&str)> = std::sync::OnceLock::new();

/// Installs the hook run after every batch an output writes.
pub fn set_after_payload(hook: fn(&str)) {
    let _ = AFTER_PAYLOAD.set(hook);
}

/// Only this output gets value lists (an isolated plugin's host process
/// sends everything to the daemon and nowhere else).
static ONLY: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Makes `name` the one output value lists are delivered to.
pub fn deliver_only_to(name: &str) {
    let _ = ONLY.set(name.to_owned());
}
static STARTED: AtomicBool = AtomicBool::new(false);

/// Batches waiting for an output before it gets another writer thread: the
/// burst of an interval's first reads is written by one thread, a writer
/// that falls behind gets help.
const GROW_AT: usize = 16;
static MAX_WRITERS: AtomicUsize = AtomicUsize::new(1);

/// Waits until the output `name` has written what was queued for it when
/// called (at most `timeout`), so a flush that follows a dispatch sees the
/// value lists dispatched before it, as with collectd's shared queue once
/// drained. Not from the output's own writer thread (it would wait for itself).
pub fn wait_written(name: &str, timeout: Duration) {
    let outputs = current();
    let Some(out) = outputs.iter().find(|o| o.name() == name) else {
        return;
    };
    let queued = out.stats.queue_length.load(Ordering::Acquire).max(0) as u64;
    if queued == 0 {
        return;
    }
    let target = out.stats.written.load(Ordering::Acquire) + queued;
    let deadline = Instant::now() + timeout;
    while out.stats.written.load(Ordering::Acquire) < target
        && out.stats.queue_length.load(Ordering::Acquire) > 0
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The outputs, one per registered write callback, in registration order;
/// follows `plugin_register_write`/`plugin_unregister_write`.
pub fn current() -> Arc<Vec<Arc<Output>>> {
    let callbacks = registry().write.snapshot();
    if let Some(r) = OUTPUTS.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        if Arc::ptr_eq(&r.callbacks, &callbacks) {
            return r.outputs.clone();
        }
    }
    let mut w = OUTPUTS.write().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = w.as_ref() {
        if Arc::ptr_eq(&r.callbacks, &callbacks) {
            return r.outputs.clone();
        }
    }
    let old = w.take().map(|r| r.outputs).unwrap_or_default();
    let outputs: Vec<Arc<Output>> = callbacks
        .iter()
        .map(|cb| {
            old.iter()
                .find(|o| Arc::ptr_eq(&o.cb, cb))
                .cloned()
                .unwrap_or_else(|| {
                    let o = Output::new(cb.clone());
                    if STARTED.load(Ordering::Acquire) {
                        o.grow();
                    }
                    o
                })
        })
        .collect();
    // An unregistered output writes what it holds, then its threads end.
    for gone in old
        .iter()
        .filter(|o| !outputs.iter().any(|n| Arc::ptr_eq(n, o)))
    {
        gone.stop();
    }
    let outputs = Arc::new(outputs);
    *w = Some(Registry {
        callbacks,
        outputs: outputs.clone(),
    });
    outputs
}

/// Hands `payload` to every output; false if there is none.
pub(super) fn deliver(payload: Payload) -> bool {
    let outputs = current();
    if outputs.is_empty() {
        if let Payload::Batch(b) = payload {
            recycle(b);
        }
        return false;
    }
    let shared = Arc::new(payload);
    let only = ONLY.get();
    for o in outputs.iter() {
        if only.map_or(true, |n| n == o.name()) {
            o.offer(&shared);
        }
    }
    release(shared);
    true
}

/// Hands `items` to the output named `name` alone (a chain's `write`
/// target); false if no output has that name.
pub(super) fn deliver_to(name: &str, items: Vec<QueuedVl>) -> bool {
    let outputs = current();
    let Some(o) = outputs.iter().find(|o| o.name().eq_ignore_ascii_case(name)) else {
        recycle(items);
        return false;
    };
    let shared = Arc::new(Payload::Batch(items));
    o.offer(&shared);
    release(shared);
    true
}

/// Starts one writer thread per output (more as backlogs need, up to
/// `max_writers` each).
pub(super) fn start(max_writers: usize) {
    MAX_WRITERS.store(max_writers.max(1), Ordering::Relaxed);
    STARTED.store(true, Ordering::Release);
    // `current` may build the outputs now, already with their first writer
    // (STARTED is set): only those without one get it here.
    for o in current().iter() {
        if *o.started.lock().unwrap_or_else(|e| e.into_inner()) == 0 {
            o.grow();
        }
    }
}

/// Value lists queued in all outputs.
pub fn queued() -> i64 {
    current()
        .iter()
        .map(|o| o.stats.queue_length.load(Ordering::Relaxed))
        .sum()
}

/// Stops every output's writers once they have written what is queued,
/// waiting at most `grace` for the slowest; then writes what arrived
/// meanwhile here. An output whose writer is still inside its callback at
/// the deadline is abandoned and its queue counted as lost. Returns how many
/// value lists were written here and how many were lost.
pub(super) fn stop_and_drain(grace: Duration) -> (usize, usize) {
    STARTED.store(false, Ordering::Release);
    let outputs = current();
    for o in outputs.iter() {
        o.stop();
    }
    let deadline = Instant::now() + grace;
    while !outputs.iter().all(|o| o.all_stopped()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let (mut written, mut lost) = (0, 0);
    for o in outputs.iter() {
        if o.all_stopped() {
            written += o.drain_here();
        } else {
            o.abandoned.store(true, Ordering::Relaxed);
            let n = o.discard();
            lost += n;
            log::error!(
                "plugin: the write callback `{}' did not return within {:.1} s at shutdown; {n} value list{} queued for it {} lost.",
                o.name(),
                grace.as_secs_f64(),
                if n == 1 { "" } else { "s" },
                if n == 1 { "is" } else { "are" },
            );
        }
    }
    (written, lost)
}

/// Writes every output's queue on the calling thread (`-T`, shutdown),
/// skipping an output abandoned at shutdown; returns how many.
pub(super) fn drain_here() -> usize {
    current()
        .iter()
        .filter(|o| !o.abandoned.load(Ordering::Relaxed))
        .map(|o| o.drain_here())
        .sum()
}

/// Drops what every output still holds; returns how many.
pub(super) fn discard() -> usize {
    current().iter().map(|o| o.discard()).sum()
}
