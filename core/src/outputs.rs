//! One bounded queue per output, each drained by writer threads of its own,
//! so an output that blocks or crawls delays and drops only its own data
//! (collectd shares one queue among all outputs: collectd #2104).
//!
//! - The dispatching side hands a payload (a batch, or one item) to every
//!   output at once; the outputs share it (one `Arc`), and the last one to
//!   write it hands the batch's vector back to the [`Host`] for reuse.
//! - `WriteQueueLimitHigh`/`Low` apply to each output's queue: above Low an
//!   item is dropped for that output with collectd's rising probability
//!   ([`drop_probability`]), at High always; drops are counted per output
//!   ([`OutputStats`]) and reported to the host, which sums them.
//! - An output starts with one writer thread, so its items stay in order;
//!   while more than [`GROW_AT`] payloads wait for it (its writer fell behind,
//!   not just an interval's burst) it may grow to `WriteThreads` threads.
//! - Shutdown drains every output into its writer, giving a writer that
//!   never returns a grace period before its queue is counted as lost.
//!
//! The queues know an output only as a [`Write`]: what an item is and how it
//! is written (through a C function pointer, say) is the caller's.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use crate::work_queue::WorkQueue;

/// An output, as its queue calls it.
pub trait Write: Send + Sync + 'static {
    /// What the queues carry (a value list).
    type Item: Send + Sync + 'static;
    /// The output's name (its write callback's registration name).
    fn name(&self) -> &str;
    /// Writes one item; a failure or a panic is the implementation's to
    /// contain and report.
    fn write(&self, item: &Self::Item);
}

/// The engine around the queues: where their counts and spent batches go.
pub trait Host<I>: Send + Sync + 'static {
    /// `n` items were dropped for one output, the likeliest drop at
    /// probability `worst`.
    fn dropped(&self, n: u64, worst: f64);
    /// `n` items were queued for one output, whose queue now holds `queued`.
    fn enqueued(&self, n: u64, queued: i64);
    /// `output` has written `n` items of a payload.
    fn written(&self, output: &str, n: u64);
    /// A batch no output holds any more, emptied, for reuse.
    fn recycle(&self, batch: Vec<I>);
}

/// Each output's queue limit when neither `WriteQueueLimitHigh` nor
/// `WriteQueueLimitLow` is set (collectd has none: its queue grows without
/// bound).
pub const DEFAULT_QUEUE_LIMIT: u64 = 100_000;

/// The write-queue limits in effect, per output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLimits {
    /// Below this, never drop.
    pub low: u64,
    /// At or above this, always drop.
    pub high: u64,
}

impl QueueLimits {
    /// collectd's derivation from the two options (0 = unset): Low defaults
    /// to High/2 and may not exceed High; with neither set,
    /// [`DEFAULT_QUEUE_LIMIT`] is a hard bound with no probabilistic zone.
    pub fn from_config(high: u64, low: u64) -> QueueLimits {
        match (high, low) {
            (0, 0) => QueueLimits {
                low: DEFAULT_QUEUE_LIMIT,
                high: DEFAULT_QUEUE_LIMIT,
            },
            (0, low) => QueueLimits { low, high: low },
            (high, 0) => QueueLimits {
                low: high / 2,
                high,
            },
            (high, low) => QueueLimits {
                low: low.min(high),
                high,
            },
        }
    }
}

/// collectd's drop probability for a queue of `len` between `low` and
/// `high`: none below Low, rising linearly, certain from High on.
pub fn drop_probability(len: u64, low: u64, high: u64) -> f64 {
    if len < low {
        return 0.0;
    }
    if len >= high {
        return 1.0;
    }
    let pos = 1 + len - low;
    let size = 1 + high - low;
    pos as f64 / size as f64
}

/// A uniform number in [0, 1) for a drop decision (xorshift64*, per thread).
pub fn random_unit() -> f64 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(
            (std::process::id() as u64) << 32 ^ crate::time::now() ^ 0x9E37_79B9_7F4A_7C15,
        );
    }
    STATE.with(|s| {
        let mut x = s.get() | 1;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// Items on their way to outputs. It lives in an `Arc`, so `One` is the one
/// allocation an item sent outside a batch costs.
pub enum Payload<I> {
    /// A batch, shared by every output it was handed to.
    Batch(Vec<I>),
    /// An item sent outside a batch.
    One(I),
}

impl<I> Payload<I> {
    fn items(&self) -> &[I] {
        match self {
            Payload::Batch(b) => b,
            Payload::One(item) => std::slice::from_ref(item),
        }
    }

    /// Number of items held.
    pub fn len(&self) -> usize {
        self.items().len()
    }

    /// Whether it holds no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Hands a payload's vector back once no output holds it any more.
fn release<I, H: Host<I>>(host: &H, p: Arc<Payload<I>>) {
    if let Ok(Payload::Batch(mut b)) = Arc::try_unwrap(p) {
        b.clear();
        host.recycle(b);
    }
}

enum OutMsg<I> {
    Write {
        payload: Arc<Payload<I>>,
        /// Bit i set: item i was dropped for this output.
        skip: Option<Box<[u64]>>,
        kept: usize,
    },
    Stop,
}

/// Counters of one output (the daemon reports them per output).
#[derive(Debug, Default)]
pub struct OutputStats {
    /// Items waiting in this output's queue.
    pub queue_length: AtomicI64,
    /// Items this output dropped because its queue was full.
    pub dropped: AtomicU64,
    /// Items handed to this output's writer.
    pub written: AtomicU64,
}

/// Payloads waiting for an output before it gets another writer thread: the
/// burst of an interval's first reads is written by one thread, a writer
/// that falls behind gets help.
pub const GROW_AT: usize = 16;

/// What every output of one [`Outputs`] shares.
struct Shared<H> {
    host: H,
    low: AtomicU64,
    high: AtomicU64,
    started: AtomicBool,
    max_writers: AtomicUsize,
}

impl<H> Shared<H> {
    fn limits(&self) -> QueueLimits {
        QueueLimits {
            low: self.low.load(Ordering::Relaxed),
            high: self.high.load(Ordering::Relaxed),
        }
    }
}

/// One output with its queue and writer threads.
pub struct Output<W: Write, H> {
    writer: Arc<W>,
    shared: Arc<Shared<H>>,
    queue: WorkQueue<OutMsg<W::Item>>,
    /// Messages queued and not yet taken by a writer.
    msgs: AtomicUsize,
    stats: OutputStats,
    /// Writer threads started, and how many have returned.
    started: Mutex<usize>,
    finished: AtomicUsize,
    /// Set when shutdown gave up on a writer that never returned.
    abandoned: AtomicBool,
}

impl<W: Write, H: Host<W::Item>> Output<W, H> {
    /// The output's name.
    pub fn name(&self) -> &str {
        self.writer.name()
    }

    /// This output's counters.
    pub fn stats(&self) -> &OutputStats {
        &self.stats
    }

    /// Queues the items of `payload` this output does not drop.
    fn offer(self: &Arc<Self>, payload: &Arc<Payload<W::Item>>) {
        let n = payload.len();
        let host = &self.shared.host;
        let QueueLimits { low, high } = self.shared.limits();
        let queued = self.stats.queue_length.load(Ordering::Relaxed).max(0) as u64;
        let mut skip = None;
        let mut kept = n;
        if queued + n as u64 > low {
            let mut mask = vec![0u64; n.div_ceil(64)];
            let mut len = queued;
            kept = 0;
            let mut worst = 0.0f64;
            for i in 0..n {
                let p = drop_probability(len, low, high);
                if p > 0.0 && (p >= 1.0 || p > random_unit()) {
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
                host.dropped(dropped, worst);
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
        host.enqueued(kept as u64, now);
        let waiting = self.msgs.fetch_add(1, Ordering::Relaxed) + 1;
        self.queue.push(OutMsg::Write {
            payload: payload.clone(),
            skip,
            kept,
        });
        if waiting > GROW_AT && self.shared.started.load(Ordering::Acquire) {
            self.grow();
        }
    }

    /// Starts a writer thread if fewer than `WriteThreads` run.
    fn grow(self: &Arc<Self>) {
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        if *started >= self.shared.max_writers.load(Ordering::Relaxed).max(1) {
            return;
        }
        let me = self.clone();
        let name: String = format!("w:{}", self.name()).chars().take(15).collect();
        match std::thread::Builder::new()
            .name(name)
            .spawn(move || me.run())
        {
            Ok(_) => *started += 1,
            Err(e) => log::error!(
                "plugin: cannot start a write thread for `{}': {e}",
                self.name()
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
                }
            }
        }
        self.finished.fetch_add(1, Ordering::Release);
    }

    /// Writes every item not in `skip`.
    fn write(&self, payload: Arc<Payload<W::Item>>, skip: Option<&[u64]>, kept: usize) {
        for (i, item) in payload.items().iter().enumerate() {
            if skip.is_some_and(|m| m[i / 64] & (1 << (i % 64)) != 0) {
                continue;
            }
            self.writer.write(item);
        }
        self.stats
            .queue_length
            .fetch_sub(kept as i64, Ordering::Relaxed);
        self.stats.written.fetch_add(kept as u64, Ordering::Relaxed);
        let host = &self.shared.host;
        release(host, payload);
        host.written(self.name(), kept as u64);
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

    /// Drops what is queued; returns how many items.
    fn discard(&self) -> usize {
        let mut n = 0;
        while let Some(msg) = self.queue.try_pop() {
            self.msgs.fetch_sub(1, Ordering::Relaxed);
            if let OutMsg::Write { payload, kept, .. } = msg {
                self.stats
                    .queue_length
                    .fetch_sub(kept as i64, Ordering::Relaxed);
                release(&self.shared.host, payload);
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

/// The outputs, one per writer, following the list of writers they are
/// asked for (registration and unregistration of write callbacks).
type List<W, H> = (Arc<Vec<Arc<W>>>, Arc<Vec<Arc<Output<W, H>>>>);

/// The output queues of one engine.
pub struct Outputs<W: Write, H: Host<W::Item>> {
    shared: Arc<Shared<H>>,
    list: RwLock<Option<List<W, H>>>,
    /// Only this output gets items (an isolated plugin's host process sends
    /// everything to the daemon and nowhere else).
    only: OnceLock<String>,
}

impl<W: Write, H: Host<W::Item>> Outputs<W, H> {
    /// Output queues reporting to `host`; writers start with [`start`].
    ///
    /// [`start`]: Outputs::start
    pub fn new(host: H) -> Self {
        Outputs {
            shared: Arc::new(Shared {
                host,
                low: AtomicU64::new(DEFAULT_QUEUE_LIMIT),
                high: AtomicU64::new(DEFAULT_QUEUE_LIMIT),
                started: AtomicBool::new(false),
                max_writers: AtomicUsize::new(1),
            }),
            list: RwLock::new(None),
            only: OnceLock::new(),
        }
    }

    /// The host the queues report to.
    pub fn host(&self) -> &H {
        &self.shared.host
    }

    /// Sets the limits of every output's queue (`WriteQueueLimitLow`/`High`).
    pub fn set_limits(&self, limits: QueueLimits) {
        self.shared.low.store(limits.low, Ordering::Relaxed);
        self.shared.high.store(limits.high, Ordering::Relaxed);
    }

    /// The limits of every output's queue.
    pub fn limits(&self) -> QueueLimits {
        self.shared.limits()
    }

    /// Makes `name` the one output items are delivered to.
    pub fn deliver_only_to(&self, name: &str) {
        let _ = self.only.set(name.to_owned());
    }

    /// The outputs for `writers` (one each, in their order): an output
    /// whose writer is still listed is kept with its queue; a new writer
    /// gets a new output; an output whose writer is gone writes what it
    /// holds, then its threads end.
    pub fn current(&self, writers: Arc<Vec<Arc<W>>>) -> Arc<Vec<Arc<Output<W, H>>>> {
        if let Some((w, o)) = self.list.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            if Arc::ptr_eq(w, &writers) {
                return o.clone();
            }
        }
        let mut list = self.list.write().unwrap_or_else(|e| e.into_inner());
        if let Some((w, o)) = list.as_ref() {
            if Arc::ptr_eq(w, &writers) {
                return o.clone();
            }
        }
        let old = list.take().map(|(_, o)| o).unwrap_or_default();
        let started = self.shared.started.load(Ordering::Acquire);
        let outputs: Vec<Arc<Output<W, H>>> = writers
            .iter()
            .map(|w| {
                old.iter()
                    .find(|o| Arc::ptr_eq(&o.writer, w))
                    .cloned()
                    .unwrap_or_else(|| {
                        let o = Arc::new(Output {
                            writer: w.clone(),
                            shared: self.shared.clone(),
                            queue: WorkQueue::new(),
                            msgs: AtomicUsize::new(0),
                            stats: OutputStats::default(),
                            started: Mutex::new(0),
                            finished: AtomicUsize::new(0),
                            abandoned: AtomicBool::new(false),
                        });
                        if started {
                            o.grow();
                        }
                        o
                    })
            })
            .collect();
        for gone in old
            .iter()
            .filter(|o| !outputs.iter().any(|n| Arc::ptr_eq(n, o)))
        {
            gone.stop();
        }
        let outputs = Arc::new(outputs);
        *list = Some((writers, outputs.clone()));
        outputs
    }

    /// Hands `payload` to every output of `writers`; false if there is none.
    pub fn deliver(&self, writers: Arc<Vec<Arc<W>>>, payload: Payload<W::Item>) -> bool {
        let outputs = self.current(writers);
        let host = &self.shared.host;
        if outputs.is_empty() {
            if let Payload::Batch(mut b) = payload {
                b.clear();
                host.recycle(b);
            }
            return false;
        }
        let shared = Arc::new(payload);
        let only = self.only.get();
        for o in outputs.iter() {
            if only.map_or(true, |n| n == o.name()) {
                o.offer(&shared);
            }
        }
        release(host, shared);
        true
    }

    /// Hands `items` to the output named `name` alone (ASCII case ignored,
    /// as a chain's `write` target names it); false if there is none.
    pub fn deliver_to(&self, writers: Arc<Vec<Arc<W>>>, name: &str, items: Vec<W::Item>) -> bool {
        let outputs = self.current(writers);
        let Some(o) = outputs.iter().find(|o| o.name().eq_ignore_ascii_case(name)) else {
            release(&self.shared.host, Arc::new(Payload::Batch(items)));
            return false;
        };
        let shared = Arc::new(Payload::Batch(items));
        o.offer(&shared);
        release(&self.shared.host, shared);
        true
    }

    /// Starts one writer thread per output (more as backlogs need, up to
    /// `max_writers` each).
    pub fn start(&self, writers: Arc<Vec<Arc<W>>>, max_writers: usize) {
        self.shared
            .max_writers
            .store(max_writers.max(1), Ordering::Relaxed);
        self.shared.started.store(true, Ordering::Release);
        // `current` may build the outputs now, already with their first
        // writer (started is set): only those without one get it here.
        for o in self.current(writers).iter() {
            if *o.started.lock().unwrap_or_else(|e| e.into_inner()) == 0 {
                o.grow();
            }
        }
    }

    /// Items queued in all outputs.
    pub fn queued(&self, writers: Arc<Vec<Arc<W>>>) -> i64 {
        self.current(writers)
            .iter()
            .map(|o| o.stats.queue_length.load(Ordering::Relaxed))
            .sum()
    }

    /// Waits until the output `name` has written what was queued for it
    /// when called (at most `timeout`). Not from the output's own writer
    /// thread (it would wait for itself).
    pub fn wait_written(&self, writers: Arc<Vec<Arc<W>>>, name: &str, timeout: Duration) {
        let outputs = self.current(writers);
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

    /// Stops every output's writers once they have written what is queued,
    /// waiting at most `grace` for the slowest; then writes what arrived
    /// meanwhile here. An output whose writer is still writing at the
    /// deadline is abandoned and its queue counted as lost. Returns how many
    /// items were written here and how many were lost.
    pub fn stop_and_drain(&self, writers: Arc<Vec<Arc<W>>>, grace: Duration) -> (usize, usize) {
        self.shared.started.store(false, Ordering::Release);
        let outputs = self.current(writers);
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
    pub fn drain_here(&self, writers: Arc<Vec<Arc<W>>>) -> usize {
        self.current(writers)
            .iter()
            .filter(|o| !o.abandoned.load(Ordering::Relaxed))
            .map(|o| o.drain_here())
            .sum()
    }

    /// Drops what every output still holds; returns how many.
    pub fn discard(&self, writers: Arc<Vec<Arc<W>>>) -> usize {
        self.current(writers).iter().map(|o| o.discard()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn drop_probability_follows_collectd() {
        // (queue length, low, high, probability)
        let cases: &[(u64, u64, u64, f64)] = &[
            (0, 10, 20, 0.0),
            (9, 10, 20, 0.0),
            (10, 10, 20, 1.0 / 11.0),
            (15, 10, 20, 6.0 / 11.0),
            (19, 10, 20, 10.0 / 11.0),
            (20, 10, 20, 1.0),
            (1000, 10, 20, 1.0),
            // low == high: a hard bound.
            (99, 100, 100, 0.0),
            (100, 100, 100, 1.0),
        ];
        for &(len, low, high, p) in cases {
            let got = drop_probability(len, low, high);
            assert!((got - p).abs() < 1e-12, "{len} {low} {high}: {got} != {p}");
        }
    }

    #[test]
    fn limits_derive_like_collectd() {
        // WriteQueueLimitHigh, WriteQueueLimitLow (0 is unset) -> low, high.
        let d = DEFAULT_QUEUE_LIMIT;
        let cases: &[[u64; 4]] = &[
            [0, 0, d, d],
            [100, 0, 50, 100],
            [100, 200, 100, 100],
            [100, 30, 30, 100],
            [0, 40, 40, 40],
        ];
        for &[high, low, l, h] in cases {
            assert_eq!(
                QueueLimits::from_config(high, low),
                QueueLimits { low: l, high: h },
                "High {high} Low {low}"
            );
        }
    }

    #[test]
    fn random_unit_is_in_range_and_varies() {
        let xs: Vec<f64> = (0..1000).map(|_| random_unit()).collect();
        assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((0.4..0.6).contains(&mean), "mean {mean}");
    }

    /// A writer that records what it writes and, while `blocked`, waits.
    struct Recorder {
        name: &'static str,
        blocked: AtomicBool,
        /// Writes begun.
        entered: AtomicUsize,
        seen: Mutex<Vec<u32>>,
    }

    impl Write for Recorder {
        type Item = u32;
        fn name(&self) -> &str {
            self.name
        }
        fn write(&self, item: &u32) {
            self.entered.fetch_add(1, Ordering::AcqRel);
            while self.blocked.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(1));
            }
            self.seen.lock().unwrap().push(*item);
        }
    }

    #[derive(Default)]
    struct Counts {
        dropped: AtomicU64,
        enqueued: AtomicU64,
        written: AtomicU64,
        recycled: AtomicU64,
    }

    struct TestHost {
        counts: Arc<Counts>,
    }

    impl Host<u32> for TestHost {
        fn dropped(&self, n: u64, _worst: f64) {
            self.counts.dropped.fetch_add(n, Ordering::Relaxed);
        }
        fn enqueued(&self, n: u64, _queued: i64) {
            self.counts.enqueued.fetch_add(n, Ordering::Relaxed);
        }
        fn written(&self, _output: &str, n: u64) {
            self.counts.written.fetch_add(n, Ordering::Relaxed);
        }
        fn recycle(&self, batch: Vec<u32>) {
            assert!(batch.is_empty());
            self.counts.recycled.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Output queues with limits Low/High and the counts they report.
    fn outputs(low: u64, high: u64) -> (Outputs<Recorder, TestHost>, Arc<Counts>) {
        let counts = Arc::new(Counts::default());
        let outputs = Outputs::new(TestHost {
            counts: counts.clone(),
        });
        outputs.set_limits(QueueLimits { low, high });
        (outputs, counts)
    }

    fn recorder(name: &'static str, blocked: bool) -> Arc<Recorder> {
        Arc::new(Recorder {
            name,
            blocked: AtomicBool::new(blocked),
            entered: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        })
    }

    fn wait_for(what: impl Fn() -> bool) -> bool {
        let end = Instant::now() + Duration::from_secs(10);
        while !what() {
            if Instant::now() > end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    #[test]
    fn a_blocked_output_drops_only_its_own_items() {
        let (outputs, counts) = outputs(50, 100);
        let stuck = recorder("stuck", true);
        let csv = recorder("csv", false);
        let writers = Arc::new(vec![stuck.clone(), csv.clone()]);
        outputs.start(writers.clone(), 1);
        for b in 0..30u32 {
            let batch: Vec<u32> = (b * 10..b * 10 + 10).collect();
            assert!(outputs.deliver(writers.clone(), Payload::Batch(batch)));
            // Each interval's batch is written before the next comes.
            let n = (b as usize + 1) * 10;
            assert!(wait_for(|| csv.seen.lock().unwrap().len() == n));
        }
        // The free output wrote everything, in order.
        assert_eq!(*csv.seen.lock().unwrap(), (0..300).collect::<Vec<_>>());
        // The stuck one holds at most its High limit (the writer has taken
        // one batch off its queue) and counted the rest as dropped.
        let list = outputs.current(writers.clone());
        let (s, c) = (list[0].stats(), list[1].stats());
        let queued = s.queue_length.load(Ordering::Relaxed);
        let dropped = s.dropped.load(Ordering::Relaxed);
        assert!((50..=100).contains(&queued), "queued {queued}");
        assert_eq!(queued as u64 + dropped, 300);
        assert_eq!(c.dropped.load(Ordering::Relaxed), 0);
        assert_eq!(counts.dropped.load(Ordering::Relaxed), dropped);
        // Released, it writes what it kept; every batch is recycled once
        // both outputs are done with it.
        stuck.blocked.store(false, Ordering::Release);
        let (_, lost) = outputs.stop_and_drain(writers.clone(), Duration::from_secs(10));
        assert_eq!(lost, 0);
        assert_eq!(stuck.seen.lock().unwrap().len() as i64, queued);
        assert_eq!(counts.written.load(Ordering::Relaxed), 300 + queued as u64);
        assert_eq!(counts.recycled.load(Ordering::Relaxed), 30);
        assert_eq!(outputs.queued(writers), 0);
    }

    #[test]
    fn a_writer_that_never_returns_is_abandoned_at_shutdown() {
        let (outputs, _) = outputs(1000, 1000);
        let stuck = recorder("stuck", true);
        let writers = Arc::new(vec![stuck.clone()]);
        outputs.start(writers.clone(), 1);
        for i in 0..5u32 {
            outputs.deliver(writers.clone(), Payload::One(i));
        }
        assert!(wait_for(|| stuck.entered.load(Ordering::Acquire) == 1));
        let started = Instant::now();
        let (written, lost) = outputs.stop_and_drain(writers.clone(), Duration::from_millis(200));
        assert!(started.elapsed() < Duration::from_secs(5));
        // One item is inside the stuck write; the other four are lost.
        assert_eq!((written, lost), (0, 4));
        assert_eq!(outputs.drain_here(writers), 0);
        stuck.blocked.store(false, Ordering::Release);
    }

    #[test]
    fn without_outputs_a_payload_is_not_delivered_and_its_batch_comes_back() {
        let (outputs, counts) = outputs(1000, 1000);
        assert!(!outputs.deliver(Arc::new(Vec::new()), Payload::Batch(vec![1, 2])));
        assert_eq!(counts.recycled.load(Ordering::Relaxed), 1);
        assert_eq!(counts.enqueued.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn outputs_follow_the_writer_list_and_only_one_may_be_chosen() {
        let (outputs, _) = outputs(1000, 1000);
        let (a, b) = (recorder("a", false), recorder("b", false));
        let one = Arc::new(vec![a.clone()]);
        let two = Arc::new(vec![a.clone(), b.clone()]);
        let first = outputs.current(one.clone());
        let second = outputs.current(two.clone());
        // `a` keeps its output (and queue) when `b` is registered.
        assert!(Arc::ptr_eq(&first[0], &second[0]));
        assert_eq!(second.len(), 2);
        // A chain's write target names one output, case ignored.
        assert!(outputs.deliver_to(two.clone(), "B", vec![7]));
        assert!(!outputs.deliver_to(two.clone(), "c", vec![8]));
        outputs.deliver_only_to("a");
        outputs.deliver(two.clone(), Payload::One(9));
        assert_eq!(outputs.drain_here(two), 2);
        assert_eq!(*a.seen.lock().unwrap(), vec![9]);
        assert_eq!(*b.seen.lock().unwrap(), vec![7]);
    }
}
