//! The read scheduler: a heap of read callbacks ordered by next run time,
//! served by `ReadThreads` workers.
//!
//! Semantics follow collectd 5.12: each callback has an interval (the
//! `plugin_register_complex_read` argument, else the plugin's `Interval`,
//! else the global one); a failing read doubles its effective interval up to
//! `MaxReadInterval` and a success restores it; a next run that would lie in
//! the past is moved to now so a slow plugin does not trail behind forever.
//!
//! The scheduler knows reads only as the [`Read`] trait: the daemon's ABI
//! facade wraps a C plugin's callback (with its plugin context) into one,
//! and brackets runs of reads with its [`RunScope`] (the dispatch batch).

use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;

use crate::time::{cdtime_t, now, to_duration, to_f64 as secs};

/// 2^30: one second in cdtime_t units.
const SECOND: cdtime_t = 1 << 30;

/// collectd's default `MaxReadInterval`: one day.
pub const DEFAULT_MAX_READ_INTERVAL: cdtime_t = 86_400 * SECOND;

/// A read callback: runs once per interval, 0 on success; any other status
/// (or a panic) counts as a failure and backs the read off.
pub trait Read: Send + Sync {
    /// Reads once.
    fn read(&self) -> i32;
}

impl<F: Fn() -> i32 + Send + Sync> Read for F {
    fn read(&self) -> i32 {
        self()
    }
}

/// What brackets a run of reads: the daemon hands what the reads dispatch
/// to its writers in one batch per run (`begin` opens it on the calling
/// thread, `end` hands it over; they nest).
#[derive(Debug, Clone, Copy)]
pub struct RunScope {
    /// Opens the scope on the calling thread.
    pub begin: fn(),
    /// Closes the innermost scope of the calling thread.
    pub end: fn(),
}

/// An open [`RunScope`], closed when dropped (nothing when none is set).
struct InScope(Option<fn()>);

impl Drop for InScope {
    fn drop(&mut self) {
        if let Some(end) = self.0 {
            end();
        }
    }
}

/// A registered read callback (immutable part).
pub struct ReadFunc {
    /// Registration name (unique among reads).
    pub name: String,
    /// Group for `plugin_unregister_read_group`.
    pub group: String,
    /// The plugin that registered it (for unloading a plugin whose init failed).
    pub plugin: String,
    /// What to call.
    pub read: Box<dyn Read>,
    /// Configured interval.
    pub interval: cdtime_t,
    removed: AtomicBool,
}

impl ReadFunc {
    /// Builds a read entry.
    pub fn new(
        name: &str,
        group: &str,
        plugin: &str,
        read: Box<dyn Read>,
        interval: cdtime_t,
    ) -> Self {
        ReadFunc {
            name: name.to_owned(),
            group: group.to_owned(),
            plugin: plugin.to_owned(),
            read,
            interval,
            removed: AtomicBool::new(false),
        }
    }

    /// Runs the callback once; returns its status (-1 if it panicked).
    pub fn call(&self) -> i32 {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.read.read())).unwrap_or(-1)
    }
}

/// collectd's NOTICE severity has no `log` level: the core logs it at Info
/// with this target, and the daemon's logger gives it severity NOTICE.
pub const NOTICE_TARGET: &str = "rcollectd_core::notice";

fn notice(msg: &str) {
    log::info!(target: NOTICE_TARGET, "{msg}");
}

struct Entry {
    next_read: cdtime_t,
    seq: u64,
    effective_interval: cdtime_t,
    overrun_reported: bool,
    /// How long the last run took.
    last_duration: cdtime_t,
    rf: Arc<ReadFunc>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // BinaryHeap is a max-heap: invert so the earliest read is on top.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other
            .next_read
            .cmp(&self.next_read)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// What happens to a read callback's schedule after one run.
///
/// Pure so that the backoff rule is unit-tested: returns the new effective
/// interval and the next due time.
pub fn next_schedule(
    interval: cdtime_t,
    effective: cdtime_t,
    max_read_interval: cdtime_t,
    failed: bool,
    prev_due: cdtime_t,
    now: cdtime_t,
) -> (cdtime_t, cdtime_t) {
    let effective = if failed {
        effective
            .saturating_mul(2)
            .min(max_read_interval.max(interval))
    } else {
        interval
    };
    let next = prev_due.saturating_add(effective).max(now);
    (effective, next)
}

/// How long the reads that are due wait for a busy worker before another
/// worker starts them: fast reads run one after another on one thread (one
/// wake-up per round instead of one per read and per worker), a slow one
/// holds the others up by at most this long.
const HELPER_DELAY: cdtime_t = SECOND / 100;

struct State {
    heap: BinaryHeap<Entry>,
    names: HashMap<String, Arc<ReadFunc>>,
    running: bool,
    seq: u64,
    /// A worker is waiting on `leader_cv` for the next due time.
    leader: bool,
    /// When the leader wakes by itself (`None`: only when notified).
    leader_deadline: Option<cdtime_t>,
    /// When the watcher, a follower sleeping until [`HELPER_DELAY`] after
    /// the leader's deadline, wakes; `None` when no follower watches.
    watcher: Option<cdtime_t>,
    /// Workers inside a read callback.
    busy: usize,
    /// When a worker last started a read (the busy workers' progress).
    last_start: cdtime_t,
    /// When each read now running started, oldest first.
    running_since: Vec<cdtime_t>,
    /// collectd's `read_list` exists: from the first registration until
    /// shutdown clears it. Unregistering without it fails silently.
    has_list: bool,
}

/// The read scheduler. Workers take turns: at most one (the leader) sleeps
/// until the next read is due; the others sleep until they are needed.
pub struct Scheduler {
    state: Mutex<State>,
    /// The leader's wake-up: the next due time changed.
    leader_cv: Condvar,
    /// Idle workers: a leader is wanted.
    follower_cv: Condvar,
    max_read_interval: Mutex<cdtime_t>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    run_scope: OnceLock<RunScope>,
}

/// Why a read callback could not be registered.
#[derive(Debug, PartialEq, Eq)]
pub enum RegisterError {
    /// A read callback with that name exists already.
    Duplicate,
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl Scheduler {
    /// A scheduler with no reads and no threads; the engine that owns it
    /// calls [`Scheduler::start`] (with a `'static` reference: its threads
    /// borrow it).
    pub fn new() -> Scheduler {
        Scheduler {
            state: Mutex::new(State {
                heap: BinaryHeap::new(),
                names: HashMap::new(),
                running: false,
                seq: 0,
                leader: false,
                leader_deadline: None,
                watcher: None,
                busy: 0,
                last_start: 0,
                running_since: Vec::new(),
                has_list: false,
            }),
            leader_cv: Condvar::new(),
            follower_cv: Condvar::new(),
            max_read_interval: Mutex::new(DEFAULT_MAX_READ_INTERVAL),
            threads: Mutex::new(Vec::new()),
            run_scope: OnceLock::new(),
        }
    }

    /// Sets the [`RunScope`] this scheduler brackets its runs of reads with
    /// (first call wins).
    pub fn set_run_scope(&self, scope: RunScope) {
        let _ = self.run_scope.set(scope);
    }

    /// Opens the run scope, if one is set, until the result is dropped.
    fn run_scope(&self) -> InScope {
        InScope(self.run_scope.get().map(|s| {
            (s.begin)();
            s.end
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every worker re-examines the schedule (registrations, removals, stop).
    fn wake_all(&self) {
        self.leader_cv.notify_all();
        self.follower_cv.notify_all();
    }

    /// Adds a read callback, due now; a duplicate name is refused (the
    /// caller logs it, naming the plugin that tried).
    pub fn register(&self, rf: ReadFunc) -> Result<(), RegisterError> {
        let mut st = self.lock();
        if st.names.contains_key(&rf.name) {
            return Err(RegisterError::Duplicate);
        }
        let rf = Arc::new(rf);
        st.names.insert(rf.name.clone(), rf.clone());
        st.has_list = true;
        st.seq += 1;
        let seq = st.seq;
        st.heap.push(Entry {
            next_read: now(),
            seq,
            effective_interval: rf.interval,
            overrun_reported: false,
            last_duration: 0,
            rf,
        });
        drop(st);
        self.wake_all();
        Ok(())
    }

    fn remove_where(&self, pred: impl Fn(&ReadFunc) -> bool) -> Vec<String> {
        let mut st = self.lock();
        let removed: Vec<String> = st
            .names
            .iter()
            .filter(|(_, rf)| pred(rf))
            .map(|(n, rf)| {
                rf.removed.store(true, Ordering::SeqCst);
                n.clone()
            })
            .collect();
        for name in &removed {
            st.names.remove(name);
        }
        // Entries being run right now are not in the heap; their worker sees
        // the `removed` flag and drops them when the read returns.
        let heap = std::mem::take(&mut st.heap);
        st.heap = heap
            .into_iter()
            .filter(|e| !e.rf.removed.load(Ordering::SeqCst))
            .collect();
        drop(st);
        self.wake_all();
        removed
    }

    /// Removes the read callback `name`; false if unknown.
    pub fn unregister(&self, name: &str) -> bool {
        !self.remove_where(|rf| rf.name == name).is_empty()
    }

    /// Removes every read callback of `group`; returns how many.
    pub fn unregister_group(&self, group: &str) -> usize {
        self.remove_where(|rf| rf.group == group).len()
    }

    /// Removes every read callback registered under the plugin context `plugin`
    /// (used when a plugin's init fails, as collectd unloads its reads).
    pub fn unregister_plugin(&self, plugin: &str) -> usize {
        self.remove_where(|rf| rf.name == plugin || rf.plugin == plugin)
            .len()
    }

    /// Number of registered reads.
    pub fn len(&self) -> usize {
        self.lock().names.len()
    }

    /// True when no read is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets `MaxReadInterval`.
    pub fn set_max_read_interval(&self, t: cdtime_t) {
        *self
            .max_read_interval
            .lock()
            .unwrap_or_else(|e| e.into_inner()) =
            if t == 0 { DEFAULT_MAX_READ_INTERVAL } else { t };
    }

    /// Starts `n` read threads (collectd's `reader#N`).
    pub fn start(&'static self, n: usize) {
        {
            // Reads registered while the plugins were set up start together,
            // so those sharing an interval stay due at the same moment and a
            // round wakes the workers once rather than once per read.
            let mut st = self.lock();
            st.running = true;
            let t = now();
            let heap = std::mem::take(&mut st.heap);
            st.heap = heap
                .into_iter()
                .map(|mut e| {
                    e.next_read = t;
                    e
                })
                .collect();
        }
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        if !threads.is_empty() {
            return;
        }
        for i in 0..n.max(1) {
            match std::thread::Builder::new()
                .name(format!("reader#{i}"))
                .spawn(move || self.worker())
            {
                Ok(h) => threads.push(h),
                Err(e) => log::error!("plugin: start_read_threads: cannot spawn a thread: {e}"),
            }
        }
    }

    /// Stops the read threads promptly and joins them (a read in progress
    /// finishes first).
    pub fn stop(&self) {
        let handles = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        if !handles.is_empty() {
            log::info!("collectd: Stopping {} read threads.", handles.len());
        }
        self.lock().running = false;
        self.wake_all();
        for h in handles {
            let _ = h.join();
        }
    }

    /// Runs every read callback once, in due order, and forgets them (`-T`).
    /// Returns false if any failed.
    pub fn read_all_once(&self) -> bool {
        let entries: Vec<Entry> = {
            let mut st = self.lock();
            st.names.clear();
            std::mem::take(&mut st.heap)
                .into_sorted_vec()
                .into_iter()
                .rev()
                .collect()
        };
        if entries.is_empty() {
            notice("No read-functions are registered.");
            return true;
        }
        let mut ok = true;
        for e in entries {
            // What the callback dispatches reaches the writers in batches,
            // the last one when it returns.
            let _scope = self.run_scope();
            if e.rf.call() != 0 {
                notice(&format!("read-function of plugin `{}' failed.", e.rf.name));
                ok = false;
            }
        }
        ok
    }

    /// Drops every read callback (frees user data).
    pub fn clear(&self) {
        let mut st = self.lock();
        st.heap.clear();
        st.names.clear();
        st.has_list = false;
    }

    /// How long the longest-running read callback has been running, `None`
    /// when none runs (a hang watch compares it with a limit).
    pub fn running_for(&self) -> Option<cdtime_t> {
        let st = self.lock();
        let oldest = st.running_since.iter().min()?;
        Some(now().saturating_sub(*oldest))
    }

    /// Whether any read callback was registered since the last [`clear`]
    /// (collectd's `read_list != NULL`).
    ///
    /// [`clear`]: Scheduler::clear
    pub fn has_read_list(&self) -> bool {
        self.lock().has_list
    }

    fn worker(&self) {
        let mut st = self.lock();
        // True while this worker runs due reads one after another.
        let mut running_due = false;
        // One batch for a run of reads, so their values wake a writer once.
        let mut batch: Option<InScope> = None;
        loop {
            if !st.running {
                drop(st);
                drop(batch);
                return;
            }
            let t = now();
            let due = st.heap.peek().map(|top| top.next_read);
            let nothing_due = !matches!(due, Some(d) if d <= t);
            if nothing_due {
                running_due = false;
                if batch.is_some() {
                    // Hand the run's values over before sleeping.
                    drop(st);
                    batch = None;
                    st = self.lock();
                    continue;
                }
            }
            let Some(due) = due else {
                st = self.idle(st, None);
                continue;
            };
            if due > t {
                st = self.idle(st, Some(due - t));
                continue;
            }
            // Something is due. A worker that just finished a read takes
            // it; any other only when no one is reading, or when the
            // readers have been stuck for HELPER_DELAY.
            let stuck_at = st.last_start.saturating_add(HELPER_DELAY);
            if !running_due && st.busy > 0 && t < stuck_at {
                st = self.idle(st, Some(stuck_at - t));
                continue;
            }
            let Some(mut entry) = st.heap.pop() else {
                continue;
            };
            running_due = true;
            st.busy += 1;
            st.last_start = t;
            st.running_since.push(t);
            let more_due = st.heap.peek().is_some_and(|top| top.next_read <= t);
            // Someone must watch over the rest while this read runs: the
            // watcher armed for this round if it wakes in time, else a
            // follower woken now, after the lock is released so it does not
            // wake only to wait for the lock.
            let watched = st
                .watcher
                .is_some_and(|w| w <= t.saturating_add(HELPER_DELAY));
            let want_watcher = more_due && !st.leader && !watched;
            drop(st);
            if want_watcher {
                self.follower_cv.notify_one();
            }

            if entry.last_duration > HELPER_DELAY {
                // A slow read must not hold back the values read before it.
                batch = None;
            } else if batch.is_none() {
                batch = Some(self.run_scope());
            }
            // A read outside the round's batch still hands over what it
            // dispatched in one batch, when it returns.
            let own_scope = batch.is_none().then(|| self.run_scope());
            let start = now();
            let status = entry.rf.call();
            let end = now();
            drop(own_scope);
            entry.last_duration = end.saturating_sub(start);
            let max = *self
                .max_read_interval
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let (effective, next) = next_schedule(
                entry.rf.interval,
                entry.effective_interval,
                max,
                status != 0,
                entry.next_read,
                end,
            );
            entry.effective_interval = effective;
            entry.next_read = next;
            if status != 0 {
                notice(&format!(
                    "read-function of plugin `{}' failed. Will suspend it for {:.3} seconds.",
                    entry.rf.name,
                    secs(effective)
                ));
            }
            let elapsed = end.saturating_sub(start);
            if elapsed > effective {
                if !entry.overrun_reported {
                    entry.overrun_reported = true;
                    log::warn!(
                        "plugin_read_thread: read-function of the `{}' plugin took {:.3} seconds, \
                         which is above its read interval ({:.3} seconds). You might want to adjust \
                         the `Interval' or `ReadThreads' settings.",
                        entry.rf.name,
                        secs(elapsed),
                        secs(effective)
                    );
                }
            } else {
                entry.overrun_reported = false;
            }

            st = self.lock();
            st.busy -= 1;
            if let Some(i) = st.running_since.iter().position(|&s| s == t) {
                st.running_since.remove(i);
            }
            let still_registered = !entry.rf.removed.load(Ordering::SeqCst);
            if still_registered {
                let next = entry.next_read;
                st.heap.push(entry);
                let is_first = st.heap.peek().is_some_and(|top| top.next_read == next);
                let leader_late = !matches!(st.leader_deadline, Some(d) if d <= next);
                if is_first && st.leader && leader_late {
                    // The leader sleeps towards a later time (or none).
                    self.leader_cv.notify_one();
                }
            } else {
                // Dropping the entry frees its user data, outside the lock.
                drop(st);
                drop(entry);
                st = self.lock();
            }
        }
    }

    /// Sleeps as the leader (for at most `timeout`, none meaning until
    /// woken) if there is none yet, else as a follower until woken. The
    /// first follower of a leader with a deadline is the watcher: it sleeps
    /// until [`HELPER_DELAY`] after that deadline, so if the round's reads
    /// are still running then it starts the rest, and the worker that runs
    /// them need not wake anyone when the round starts. A round whose reads
    /// are done by then costs two wake-ups (leader and watcher) instead of
    /// three (leader, a follower it wakes, that follower's timeout).
    fn idle<'a>(
        &'a self,
        mut st: std::sync::MutexGuard<'a, State>,
        timeout: Option<cdtime_t>,
    ) -> std::sync::MutexGuard<'a, State> {
        if st.leader {
            let watch_at = match (st.watcher, st.leader_deadline) {
                (None, Some(d)) => Some(d.saturating_add(HELPER_DELAY)),
                _ => None,
            };
            let Some(at) = watch_at else {
                return self.follower_cv.wait(st).unwrap_or_else(|e| e.into_inner());
            };
            st.watcher = Some(at);
            let wait = at.saturating_sub(now()).max(1);
            st = self
                .follower_cv
                .wait_timeout(st, to_duration(wait))
                .unwrap_or_else(|e| e.into_inner())
                .0;
            st.watcher = None;
            return st;
        }
        st.leader = true;
        st.leader_deadline = timeout.map(|t| now().saturating_add(t));
        st = match timeout {
            None => self.leader_cv.wait(st).unwrap_or_else(|e| e.into_inner()),
            Some(t) => {
                self.leader_cv
                    .wait_timeout(st, to_duration(t))
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
        st.leader = false;
        st
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    const S: cdtime_t = SECOND;

    #[test]
    fn failure_doubles_up_to_max_and_success_resets() {
        let (e1, n1) = next_schedule(10 * S, 10 * S, 60 * S, true, 100 * S, 100 * S);
        assert_eq!((e1, n1), (20 * S, 120 * S));
        let (e2, _) = next_schedule(10 * S, e1, 60 * S, true, n1, n1);
        assert_eq!(e2, 40 * S);
        let (e3, _) = next_schedule(10 * S, e2, 60 * S, true, n1, n1);
        assert_eq!(e3, 60 * S);
        let (e4, _) = next_schedule(10 * S, e3, 60 * S, true, n1, n1);
        assert_eq!(e4, 60 * S, "capped at MaxReadInterval");
        let (e5, n5) = next_schedule(10 * S, e4, 60 * S, false, 200 * S, 201 * S);
        assert_eq!((e5, n5), (10 * S, 210 * S));
    }

    #[test]
    fn next_read_in_the_past_moves_to_now() {
        let (_, next) = next_schedule(S, S, 60 * S, false, 10 * S, 50 * S);
        assert_eq!(next, 50 * S);
    }

    /// A scheduler of its own for each test.
    fn private_scheduler() -> &'static Scheduler {
        Box::leak(Box::new(Scheduler::new()))
    }

    fn counting_read(
        name: &str,
        interval: cdtime_t,
        pause: Duration,
    ) -> (ReadFunc, Arc<AtomicU64>) {
        let runs = Arc::new(AtomicU64::new(0));
        let r = runs.clone();
        let read = Box::new(move || {
            r.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(pause);
            0
        });
        (ReadFunc::new(name, "", "", read, interval), runs)
    }

    #[test]
    fn a_slow_read_does_not_hold_up_the_others() {
        let s = private_scheduler();
        let (slow, _) = counting_read("slow", S / 20, Duration::from_millis(400));
        let (fast, fast_runs) = counting_read("fast", S / 20, Duration::ZERO);
        s.register(slow).unwrap();
        s.register(fast).unwrap();
        s.start(2);
        std::thread::sleep(Duration::from_millis(1000));
        s.stop();
        // Every 50 ms for a second: about 20 runs. Stuck behind the slow
        // read it would get about 3 (one per slow run).
        let n = fast_runs.load(Ordering::SeqCst);
        assert!(n >= 10, "the fast read ran {n} times");
    }

    #[test]
    fn reads_due_together_run_in_sequence_on_one_worker() {
        let s = private_scheduler();
        let threads = Arc::new(Mutex::new(Vec::new()));
        for name in ["a", "b", "c", "d"] {
            let t = threads.clone();
            let read = Box::new(move || {
                t.lock().unwrap().push(std::thread::current().id());
                0
            });
            s.register(ReadFunc::new(name, "", "", read, S)).unwrap();
        }
        s.start(4);
        std::thread::sleep(Duration::from_millis(300));
        s.stop();
        let seen = threads.lock().unwrap().clone();
        assert_eq!(seen.len(), 4, "each read ran once in the first round");
        assert!(
            seen.iter().all(|id| *id == seen[0]),
            "one worker ran the whole round: {seen:?}"
        );
    }

    #[test]
    fn heap_orders_earliest_first() {
        let rf = |n: &str| Arc::new(ReadFunc::new(n, "", "", Box::new(|| 0), S));
        let mut heap = BinaryHeap::new();
        for (i, t) in [30u64, 10, 20].iter().enumerate() {
            heap.push(Entry {
                next_read: *t,
                seq: i as u64,
                effective_interval: S,
                overrun_reported: false,
                last_duration: 0,
                rf: rf("x"),
            });
        }
        let order: Vec<_> = std::iter::from_fn(|| heap.pop().map(|e| e.next_read)).collect();
        assert_eq!(order, vec![10, 20, 30]);
    }
}
