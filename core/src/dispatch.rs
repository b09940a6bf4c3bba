//! The dispatch path's flow, over any item type: how what dispatching
//! threads hand over reaches the outputs.
//!
//! Items travel in messages (a thread's batch, or one item outside a batch),
//! so the handoff, a writer's wake-up and the shared counters are paid once
//! per batch. A message goes
//! - to every output at once ([`Route::deliver`]) without a
//!   `PostCacheChain`;
//! - with one, to the routing queue, whose threads (collectd's `writer#N`)
//!   run the chain ([`Route::route`]), which picks the outputs; this queue
//!   is bounded by collectd's drop rule before the cache ([`Flow::check_drop`]);
//! - before the outputs start, to a bounded hold, handed to them in order
//!   when they start: plugins built with the SDK register their write
//!   callback in their init, which may run after another plugin dispatched;
//! - after they stopped at shutdown, to a bounded capture of late items, for
//!   a reload to hand to the next process.
//!
//! Every item that does not fit is counted in [`Stats::dropped_queue_full`].
//! **Invariant**: nothing here waits for an output; every queue and hold is
//! bounded or counted.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::JoinHandle;

use crate::outputs::{drop_probability, random_unit, Payload, QueueLimits};
use crate::sync::lock;
use crate::time::now;
use crate::work_queue::WorkQueue;

/// The longest batch a dispatching thread gathers before handing it over.
pub const BATCH_MAX: usize = 1024;

/// Capacity of a new batch vector: one read fills from a few to a few dozen
/// items, and a vector grows (and is recycled with its capacity) under load,
/// so an idle daemon does not hold 1024-item vectors.
pub const BATCH_START: usize = 16;

/// Emptied batch vectors kept for reuse (the rest are freed): enough for
/// the steady state, where a few batches are in flight at a time.
const SPARE_BATCHES: usize = 16;

/// A backlog of at least this many items (a few MiB) is a spike worth
/// giving back: once it has drained, [`Route::trim`] runs, so a stall does
/// not leave the daemon's RSS at its high-water mark for good.
pub const TRIM_AFTER_BACKLOG: i64 = 4096;

/// At most this many items are held before the outputs start, and as many
/// captured after they stop; the rest are counted dropped.
pub const HOLD_MAX: usize = 100_000;

/// Counters the daemon reports about itself (`CollectInternalStats`).
#[derive(Debug, Default)]
pub struct Stats {
    /// Items in the routing queue.
    pub queue_length: AtomicI64,
    /// Items dropped because a queue was above its limits, or a hold full.
    pub dropped_queue_full: AtomicU64,
    /// Items rejected as invalid (unknown type, wrong value count).
    pub rejected_invalid: AtomicU64,
    /// Items accepted into a queue.
    pub enqueued: AtomicU64,
    /// Items handed to the outputs' write callbacks.
    pub written: AtomicU64,
}

/// What a dispatching thread hands over.
pub enum Msg<I> {
    /// A thread's batch.
    Batch(Vec<I>),
    /// One item dispatched outside a batch (no allocation for it).
    One(I),
    /// Stops one routing thread.
    Stop,
}

impl<I> Msg<I> {
    /// How many items it holds.
    fn len(&self) -> usize {
        match self {
            Msg::Batch(b) => b.len(),
            Msg::One(_) => 1,
            Msg::Stop => 0,
        }
    }

    fn into_items(self) -> Vec<I> {
        match self {
            Msg::Batch(b) => b,
            Msg::One(item) => vec![item],
            Msg::Stop => Vec::new(),
        }
    }
}

/// How many items a thread's batch gathers before it is handed over:
/// [`BATCH_MAX`], or an eighth of `WriteQueueLimitLow` if that is smaller.
/// What a thread holds counts as queued, and the writers cannot start on
/// it, so under tight limits a large batch would make the daemon drop more
/// than collectd does with the same limits.
pub fn batch_cap(limits: QueueLimits) -> usize {
    (limits.low / 8).clamp(1, BATCH_MAX as u64) as usize
}

/// What became of an item given to a thread's [`Batch`].
#[derive(Debug, PartialEq)]
pub enum Pushed<I> {
    /// The batch holds it.
    Held,
    /// The batch was full: hand it over.
    Full(Vec<I>),
    /// No scope is open: hand the item over on its own.
    Alone(I),
}

/// A thread's open batch: what it dispatched inside (nested) batch scopes
/// and has not handed over yet. The engine keeps one per thread.
#[derive(Debug)]
pub struct Batch<I> {
    depth: u32,
    items: Vec<I>,
}

impl<I> Default for Batch<I> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I> Batch<I> {
    /// No scope open, nothing held.
    pub const fn new() -> Self {
        Batch {
            depth: 0,
            items: Vec::new(),
        }
    }

    /// Opens a scope (scopes nest).
    pub fn begin(&mut self) {
        self.depth = self.depth.saturating_add(1);
    }

    /// Closes a scope. The outermost close gives back what was gathered, to
    /// hand over; an unmatched close is harmless.
    pub fn end(&mut self) -> Option<Vec<I>> {
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 0 {
            self.take()
        } else {
            None
        }
    }

    /// Gathers `item` while a scope is open, giving back the batch once it
    /// holds `cap` items (its place taken by a `spare` vector); without a
    /// scope the item comes back, to be handed over on its own.
    pub fn push(&mut self, item: I, cap: usize, mut spare: impl FnMut() -> Vec<I>) -> Pushed<I> {
        if self.depth == 0 {
            return Pushed::Alone(item);
        }
        if self.items.capacity() == 0 {
            self.items = spare();
        }
        self.items.push(item);
        if self.items.len() >= cap {
            Pushed::Full(std::mem::replace(&mut self.items, spare()))
        } else {
            Pushed::Held
        }
    }

    /// What is held, if anything, whether or not a scope is open.
    pub fn take(&mut self) -> Option<Vec<I>> {
        if self.items.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.items))
        }
    }

    /// How many items are held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The held items, oldest first.
    pub fn items_mut(&mut self) -> &mut [I] {
        &mut self.items
    }
}

/// The engine around the flow: the outputs and the `PostCacheChain`.
pub trait Route<I>: Send + Sync + 'static {
    /// Whether a `PostCacheChain` decides where items go.
    fn has_post_cache_chain(&self) -> bool;
    /// Hands a payload to every output; false when there is none.
    fn deliver(&self, payload: Payload<I>) -> bool;
    /// On a routing thread: runs the chain over `batch` and hands what its
    /// `write` targets choose to the outputs. The emptied batch is reused.
    fn route(&self, batch: &mut Vec<I>);
    /// Items waiting in the outputs' queues.
    fn output_backlog(&self) -> i64;
    /// A backlog has drained: gives freed memory back to the system.
    fn trim(&self);
}

/// The flow of one engine (see the module documentation).
pub struct Flow<I, R> {
    route: R,
    stats: Stats,
    queue: WorkQueue<Msg<I>>,
    spare: Mutex<Vec<Vec<I>>>,
    trim_pending: AtomicBool,
    /// When memory was last given back (cdtime_t): at most once a second,
    /// since each trim costs page faults afterwards.
    last_trim: AtomicU64,
    /// Set once the outputs run, cleared when they stop.
    live: AtomicBool,
    prestart: Mutex<(Vec<Msg<I>>, usize)>,
    /// Set once the outputs stopped at shutdown.
    capturing: AtomicBool,
    late: Mutex<Vec<I>>,
    /// A reload keeps the late items for [`Flow::take_late`].
    keep_late: AtomicBool,
    routers: Mutex<Vec<JoinHandle<()>>>,
    no_writer_warned: AtomicBool,
    last_drop_msg: AtomicU64,
}

impl<I: Send + 'static, R: Route<I>> Flow<I, R> {
    /// A flow whose outputs have not started.
    pub fn new(route: R) -> Self {
        Flow {
            route,
            stats: Stats::default(),
            // Unbounded as a FIFO, bounded by `check_drop` in items.
            queue: WorkQueue::new(),
            spare: Mutex::new(Vec::new()),
            trim_pending: AtomicBool::new(false),
            last_trim: AtomicU64::new(0),
            live: AtomicBool::new(false),
            prestart: Mutex::new((Vec::new(), 0)),
            capturing: AtomicBool::new(false),
            late: Mutex::new(Vec::new()),
            keep_late: AtomicBool::new(false),
            routers: Mutex::new(Vec::new()),
            no_writer_warned: AtomicBool::new(false),
            last_drop_msg: AtomicU64::new(0),
        }
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The engine around the flow, as given to [`Flow::new`] (an engine
    /// that holds its flow binds its route to itself through this).
    pub fn route(&self) -> &R {
        &self.route
    }

    /// An empty batch vector, reused if one is spare.
    pub fn spare_batch(&self) -> Vec<I> {
        lock(&self.spare)
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BATCH_START))
    }

    /// Takes back a batch nobody holds any more, for reuse.
    pub fn recycle(&self, mut batch: Vec<I>) {
        batch.clear();
        if (BATCH_START..=BATCH_MAX).contains(&batch.capacity()) {
            let mut spare = lock(&self.spare);
            if spare.len() < SPARE_BATCHES {
                spare.push(batch);
            }
        }
    }

    /// Hands a thread's batch over.
    pub fn send_batch(&self, batch: Vec<I>) {
        if batch.is_empty() {
            self.recycle(batch);
            return;
        }
        self.send(Msg::Batch(batch));
    }

    /// Hands `msg` on (see the module documentation).
    pub fn send(&self, msg: Msg<I>) {
        let n = msg.len();
        if self.capturing.load(Ordering::Acquire) {
            self.capture(msg);
            return;
        }
        if !self.route.has_post_cache_chain() {
            if self.live.load(Ordering::Acquire) {
                self.deliver(msg);
            } else if let Some(msg) = self.hold_until_start(msg, n) {
                self.deliver(msg);
            }
            return;
        }
        let n = n as i64;
        let queued = self.stats.queue_length.fetch_add(n, Ordering::Relaxed) + n;
        self.note_backlog(queued);
        self.queue.push(msg);
    }

    fn deliver(&self, msg: Msg<I>) {
        let payload = match msg {
            Msg::Batch(b) => Payload::Batch(b),
            Msg::One(item) => Payload::One(item),
            Msg::Stop => return,
        };
        if !self.route.deliver(payload) {
            self.warn_no_writer();
        }
    }

    /// collectd's warning when items have nowhere to go, once.
    fn warn_no_writer(&self) {
        if !self.no_writer_warned.swap(true, Ordering::Relaxed) {
            log::warn!(
                "plugin_dispatch_values: No write callback has been registered. Please load at \
                 least one output plugin, if you want the collected data to be stored."
            );
        }
    }

    /// Holds `msg` (`n` items) until the outputs start; gives it back if
    /// they started meanwhile.
    fn hold_until_start(&self, msg: Msg<I>, n: usize) -> Option<Msg<I>> {
        let mut held = lock(&self.prestart);
        if self.live.load(Ordering::Acquire) {
            return Some(msg);
        }
        if held.1 + n > HOLD_MAX {
            self.stats
                .dropped_queue_full
                .fetch_add(n as u64, Ordering::Relaxed);
            return None;
        }
        held.1 += n;
        held.0.push(msg);
        None
    }

    fn capture(&self, msg: Msg<I>) {
        let items = msg.into_items();
        let mut late = lock(&self.late);
        let room = HOLD_MAX.saturating_sub(late.len());
        let n = items.len();
        late.extend(items.into_iter().take(room));
        if n > room {
            self.stats
                .dropped_queue_full
                .fetch_add((n - room) as u64, Ordering::Relaxed);
        }
    }

    /// The outputs run: hands them what was held, in order, then lets
    /// dispatching threads deliver directly; with a `PostCacheChain`, also
    /// starts `n` routing threads. Under the hold's lock, so nothing
    /// dispatched meanwhile overtakes the held items.
    pub fn start(&'static self, n: usize) {
        self.capturing.store(false, Ordering::Release);
        self.keep_late.store(false, Ordering::Release);
        {
            let mut held = lock(&self.prestart);
            let (msgs, count) = std::mem::take(&mut *held);
            if count > 0 {
                log::debug!(
                    "plugin: writing {count} value list(s) dispatched before the writers started"
                );
            }
            for msg in msgs {
                self.deliver(msg);
            }
            self.live.store(true, Ordering::Release);
        }
        if !self.route.has_post_cache_chain() {
            return;
        }
        let mut routers = lock(&self.routers);
        if !routers.is_empty() {
            return;
        }
        for i in 0..n.max(1) {
            match std::thread::Builder::new()
                .name(format!("writer#{i}"))
                .spawn(move || self.router_loop())
            {
                Ok(h) => routers.push(h),
                Err(e) => log::error!("plugin: start_write_threads: cannot spawn a thread: {e}"),
            }
        }
    }

    fn router_loop(&self) {
        loop {
            match self.queue.pop() {
                Msg::Stop => break,
                msg => {
                    self.route_msg(msg);
                }
            }
        }
    }

    /// Routes one routing-queue message; returns how many items it held.
    fn route_msg(&self, msg: Msg<I>) -> usize {
        let mut batch = msg.into_items();
        let n = batch.len();
        if n == 0 {
            return 0;
        }
        if self.route.has_post_cache_chain() {
            self.route.route(&mut batch);
            self.recycle(batch);
        } else if !self.route.deliver(Payload::Batch(batch)) {
            self.warn_no_writer();
        }
        self.stats
            .queue_length
            .fetch_sub(n as i64, Ordering::Relaxed);
        n
    }

    /// How many routing threads run.
    pub fn routers(&self) -> usize {
        lock(&self.routers).len()
    }

    /// Stops the routing threads after they routed everything queued
    /// before this call, then routes what arrived meanwhile here.
    pub fn stop_routers(&self) {
        let handles = std::mem::take(&mut *lock(&self.routers));
        for _ in &handles {
            self.queue.push(Msg::Stop);
        }
        for h in handles {
            let _ = h.join();
        }
        self.route_here();
    }

    /// Routes every queued message on the calling thread; returns how many
    /// items.
    pub fn route_here(&self) -> usize {
        let mut n = 0;
        while let Some(msg) = self.queue.try_pop() {
            n += self.route_msg(msg);
        }
        n
    }

    /// The outputs have stopped: from now on items are captured (see
    /// [`Flow::take_late`]) instead of sent.
    pub fn capture_from_now(&self) {
        self.capturing.store(true, Ordering::Release);
        self.live.store(false, Ordering::Release);
    }

    /// Makes the coming shutdown keep late items (a reload hands them on).
    pub fn keep_late(&self) {
        self.keep_late.store(true, Ordering::Release);
    }

    /// Takes the items dispatched after the outputs stopped.
    pub fn take_late(&self) -> Vec<I> {
        std::mem::take(&mut *lock(&self.late))
    }

    /// Drops what is still queued for routing and, unless a reload keeps
    /// them, the late items; returns how many.
    pub fn discard(&self) -> usize {
        let mut n = 0;
        if !self.keep_late.load(Ordering::Acquire) {
            n += std::mem::take(&mut *lock(&self.late)).len();
        }
        while let Some(msg) = self.queue.try_pop() {
            let items = msg.into_items();
            let dropped = items.len();
            self.recycle(items);
            self.stats
                .queue_length
                .fetch_sub(dropped as i64, Ordering::Relaxed);
            n += dropped;
        }
        n
    }

    /// Items waiting to be written: in the routing queue and in every
    /// output's queue (collectd's `write_queue/queue_length`).
    pub fn queue_length(&self) -> i64 {
        self.stats.queue_length.load(Ordering::Relaxed) + self.route.output_backlog()
    }

    /// Whether the next item is dropped before the cache (and counts it if
    /// so): collectd's rule on the routing queue of a `PostCacheChain`, with
    /// the `pending` items the calling thread holds in its open batch
    /// counted as queued. Without a chain each output drops for itself.
    pub fn check_drop(&self, pending: usize, limits: QueueLimits) -> bool {
        if !self.route.has_post_cache_chain() {
            return false;
        }
        let len = self.stats.queue_length.load(Ordering::Relaxed).max(0) as u64 + pending as u64;
        let p = drop_probability(len, limits.low, limits.high);
        if p == 0.0 {
            return false;
        }
        self.log_drop(p);
        let drop = p >= 1.0 || p > random_unit();
        if drop {
            self.stats
                .dropped_queue_full
                .fetch_add(1, Ordering::Relaxed);
        }
        drop
    }

    /// collectd's message for dropping at probability `p`, at most once a
    /// second.
    pub fn log_drop(&self, p: f64) {
        let t = now();
        let last = self.last_drop_msg.load(Ordering::Relaxed);
        if t.saturating_sub(last) > (1 << 30)
            && self
                .last_drop_msg
                .compare_exchange(last, t, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            log::error!(
                "plugin_dispatch_values: Low water mark reached. Dropping {:.0}% of metrics.",
                100.0 * p
            );
        }
    }

    /// Notes a queue length; a large one asks for a trim once drained.
    pub fn note_backlog(&self, queued: i64) {
        if queued >= TRIM_AFTER_BACKLOG && !self.trim_pending.load(Ordering::Relaxed) {
            self.trim_pending.store(true, Ordering::Relaxed);
        }
    }

    /// Gives the memory a drained backlog left free back ([`Route::trim`]),
    /// at most once a second.
    pub fn trim_after_backlog(&self) {
        if !self.trim_pending.load(Ordering::Relaxed) || self.queue_length() > 0 {
            return;
        }
        let t = now();
        let last = self.last_trim.load(Ordering::Relaxed);
        if t.saturating_sub(last) < (1 << 30)
            || self
                .last_trim
                .compare_exchange(last, t, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.trim_pending.store(false, Ordering::Relaxed);
        self.route.trim();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// Records what reaches the outputs, in order.
    #[derive(Default)]
    struct Outputs {
        chain: AtomicBool,
        outputs: AtomicBool,
        delivered: Mutex<Vec<u32>>,
        routed: Mutex<Vec<u32>>,
        trims: AtomicU64,
    }

    #[derive(Clone, Default)]
    struct TestRoute(Arc<Outputs>);

    impl Route<u32> for TestRoute {
        fn has_post_cache_chain(&self) -> bool {
            self.0.chain.load(Ordering::SeqCst)
        }
        fn deliver(&self, payload: Payload<u32>) -> bool {
            if !self.0.outputs.load(Ordering::SeqCst) {
                return false;
            }
            let items = match payload {
                Payload::Batch(b) => b,
                Payload::One(i) => vec![i],
            };
            lock(&self.0.delivered).extend(items);
            true
        }
        fn route(&self, batch: &mut Vec<u32>) {
            lock(&self.0.routed).extend(batch.drain(..));
        }
        fn output_backlog(&self) -> i64 {
            0
        }
        fn trim(&self) {
            self.0.trims.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn flow(chain: bool) -> (&'static Flow<u32, TestRoute>, Arc<Outputs>) {
        let route = TestRoute::default();
        route.0.chain.store(chain, Ordering::SeqCst);
        route.0.outputs.store(true, Ordering::SeqCst);
        let state = route.0.clone();
        (Box::leak(Box::new(Flow::new(route))), state)
    }

    #[test]
    fn items_before_start_are_held_and_handed_over_first_in_order() {
        let (f, out) = flow(false);
        f.send(Msg::One(1));
        f.send_batch(vec![2, 3]);
        assert!(
            lock(&out.delivered).is_empty(),
            "held until the outputs start"
        );
        f.start(1);
        f.send(Msg::One(4));
        assert_eq!(*lock(&out.delivered), [1, 2, 3, 4]);
        assert_eq!(f.routers(), 0, "no routing threads without a chain");
    }

    #[test]
    fn the_hold_before_start_is_bounded_and_counts_what_it_drops() {
        let (f, out) = flow(false);
        f.send_batch((0..HOLD_MAX as u32).collect());
        f.send_batch(vec![7, 8, 9]);
        assert_eq!(f.stats().dropped_queue_full.load(Ordering::SeqCst), 3);
        f.start(1);
        assert_eq!(lock(&out.delivered).len(), HOLD_MAX);
    }

    #[test]
    fn items_after_stop_are_captured_bounded_and_discarded_unless_kept() {
        let (f, out) = flow(false);
        f.start(1);
        f.capture_from_now();
        f.send_batch((0..HOLD_MAX as u32).collect());
        f.send(Msg::One(1));
        assert!(lock(&out.delivered).is_empty());
        assert_eq!(f.stats().dropped_queue_full.load(Ordering::SeqCst), 1);
        assert_eq!(f.discard(), HOLD_MAX, "late items go at shutdown");
        f.keep_late();
        f.send(Msg::One(5));
        assert_eq!(f.discard(), 0, "a reload keeps them");
        assert_eq!(f.take_late(), [5]);
    }

    #[test]
    fn with_a_chain_routing_threads_route_every_batch() {
        let (f, out) = flow(true);
        f.start(2);
        assert_eq!(f.routers(), 2);
        for i in 0..100 {
            f.send_batch(vec![2 * i, 2 * i + 1]);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while lock(&out.routed).len() < 200 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        f.stop_routers();
        let mut routed = lock(&out.routed).clone();
        routed.sort_unstable();
        assert_eq!(routed, (0..200).collect::<Vec<_>>());
        assert_eq!(f.queue_length(), 0);
        assert!(lock(&out.delivered).is_empty());
        // Stopped: what is queued now is routed by whoever drains.
        f.send(Msg::One(500));
        assert_eq!(f.queue_length(), 1);
        assert_eq!(f.route_here(), 1);
        assert_eq!(f.queue_length(), 0);
    }

    #[test]
    fn without_outputs_the_batch_is_dropped_and_the_warning_given_once() {
        let (f, out) = flow(false);
        out.outputs.store(false, Ordering::SeqCst);
        f.start(1);
        f.send(Msg::One(1));
        f.send(Msg::One(2));
        assert!(f.no_writer_warned.load(Ordering::SeqCst));
        assert!(lock(&out.delivered).is_empty());
    }

    #[test]
    fn the_routing_queue_drops_by_collectds_rule() {
        let (f, _) = flow(true);
        let limits = QueueLimits { low: 2, high: 4 };
        // Not started: the queue fills (nothing routes it).
        assert!(!f.check_drop(0, limits));
        f.send_batch(vec![1, 2, 3, 4]);
        assert!(f.check_drop(0, limits), "at High everything drops");
        assert!(!f.check_drop(0, QueueLimits { low: 10, high: 20 }));
        assert!(
            f.check_drop(6, QueueLimits { low: 5, high: 10 }),
            "held items count"
        );
        assert_eq!(f.stats().dropped_queue_full.load(Ordering::SeqCst), 2);
        let (no_chain, _) = flow(false);
        assert!(
            !no_chain.check_drop(1_000_000, limits),
            "outputs drop for themselves"
        );
    }

    #[test]
    fn a_batch_gathers_inside_scopes_until_the_outermost_ends_or_it_fills() {
        let spare = || Vec::with_capacity(4);
        let mut b = Batch::new();
        assert_eq!(
            b.push(1, 3, spare),
            Pushed::Alone(1),
            "no scope: handed over alone"
        );
        b.begin();
        assert_eq!(b.push(1, 3, spare), Pushed::Held);
        b.begin();
        assert_eq!(b.push(2, 3, spare), Pushed::Held);
        assert_eq!(b.end(), None, "an inner close hands nothing over");
        assert_eq!(b.push(3, 3, spare), Pushed::Full(vec![1, 2, 3]), "full");
        assert_eq!(b.push(4, 3, spare), Pushed::Held);
        assert_eq!(b.len(), 1);
        assert_eq!(b.end(), Some(vec![4]), "the outermost close");
        assert!(b.is_empty());
        assert_eq!(b.end(), None, "an unmatched close is harmless");
        assert_eq!(b.push(5, 3, spare), Pushed::Alone(5));
    }

    #[test]
    fn the_batch_cap_follows_the_low_limit() {
        for (low, cap) in [(0, 1), (8, 1), (80, 10), (100_000, BATCH_MAX)] {
            assert_eq!(batch_cap(QueueLimits { low, high: low }), cap, "low {low}");
        }
    }

    #[test]
    fn batches_are_reused_within_bounds() {
        let (f, _) = flow(false);
        let b = f.spare_batch();
        assert_eq!(b.capacity(), BATCH_START);
        let mut big = Vec::with_capacity(BATCH_MAX * 2);
        big.push(1);
        f.recycle(big);
        assert!(lock(&f.spare).is_empty(), "oversized batches are freed");
        for _ in 0..SPARE_BATCHES + 3 {
            f.recycle(Vec::with_capacity(BATCH_START));
        }
        assert_eq!(lock(&f.spare).len(), SPARE_BATCHES);
        assert!(f.spare_batch().is_empty());
    }

    #[test]
    fn a_drained_backlog_is_trimmed_once() {
        let (f, out) = flow(false);
        f.note_backlog(TRIM_AFTER_BACKLOG - 1);
        f.trim_after_backlog();
        assert_eq!(
            out.trims.load(Ordering::SeqCst),
            0,
            "small queues are not worth it"
        );
        f.note_backlog(TRIM_AFTER_BACKLOG);
        f.trim_after_backlog();
        f.trim_after_backlog();
        assert_eq!(out.trims.load(Ordering::SeqCst), 1);
    }
}
