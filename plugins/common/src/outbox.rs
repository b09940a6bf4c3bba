//! A bounded queue of outgoing batches with one sender thread, for outputs
//! that push to a remote endpoint (write_http, remote_write): while the
//! endpoint is down or slow, batches wait here and are retried with
//! exponential backoff; when the queue reaches its bound the *oldest*
//! batches are dropped (as Telegraf's metric buffer does: the newest data
//! is worth most to an operator coming back to a dashboard). Every item
//! that does not arrive is counted by cause, and nothing here ever blocks
//! the caller of [`Outbox::push`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What one attempt to send a batch came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered.
    Sent,
    /// Not delivered, worth trying again (connection refused, timeout, 5xx, 429).
    Retry(String),
    /// Refused for good (4xx): dropped and counted.
    Reject(String),
}

/// Bounds and pacing of an [`Outbox`].
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Items (samples, value lists) that may wait at most.
    pub max_items: usize,
    /// First pause after a failed attempt.
    pub min_backoff: Duration,
    /// Longest pause between attempts.
    pub max_backoff: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_items: 100_000,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Counters of an [`Outbox`], all in items except the request counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Items waiting now.
    pub queued: u64,
    /// Items delivered.
    pub sent: u64,
    /// Items dropped because the queue was full.
    pub dropped_full: u64,
    /// Items the endpoint refused for good.
    pub dropped_rejected: u64,
    /// Items still waiting when shutdown's grace ran out.
    pub dropped_shutdown: u64,
    /// Attempts that delivered a batch.
    pub requests_ok: u64,
    /// Attempts that failed and were retried or rejected.
    pub requests_failed: u64,
}

impl Stats {
    /// The counters as value lists of `plugin_instance` (the node name),
    /// for a `ReportStats` option: `queue_length`, `total_values-sent`,
    /// `total_values-dropped_{full,rejected,shutdown}` and
    /// `http_requests-{ok,failed}`.
    pub fn metrics(&self, plugin_instance: &str) -> Vec<crate::Metric> {
        use crate::Metric;
        let d = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        vec![
            Metric::gauge(plugin_instance, "queue_length", "", self.queued as f64),
            Metric::derive(plugin_instance, "total_values", "sent", d(self.sent)),
            Metric::derive(
                plugin_instance,
                "total_values",
                "dropped_full",
                d(self.dropped_full),
            ),
            Metric::derive(
                plugin_instance,
                "total_values",
                "dropped_rejected",
                d(self.dropped_rejected),
            ),
            Metric::derive(
                plugin_instance,
                "total_values",
                "dropped_shutdown",
                d(self.dropped_shutdown),
            ),
            Metric::derive(plugin_instance, "http_requests", "ok", d(self.requests_ok)),
            Metric::derive(
                plugin_instance,
                "http_requests",
                "failed",
                d(self.requests_failed),
            ),
        ]
    }

    /// Items that were not delivered: dropped full, rejected or at shutdown.
    pub fn lost(&self) -> u64 {
        self.dropped_full + self.dropped_rejected + self.dropped_shutdown
    }

    /// The shutdown warning's text when items were lost (`items` names
    /// them, e.g. `samples`); `None` when all were delivered.
    pub fn loss_summary(&self, items: &str) -> Option<String> {
        let lost = self.lost();
        (lost > 0).then(|| {
            format!(
                "{} {items} sent, {lost} dropped ({} buffer full, {} refused, {} at shutdown)",
                self.sent, self.dropped_full, self.dropped_rejected, self.dropped_shutdown
            )
        })
    }
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    dropped_full: AtomicU64,
    dropped_rejected: AtomicU64,
    dropped_shutdown: AtomicU64,
    requests_ok: AtomicU64,
    requests_failed: AtomicU64,
}

struct Queue<B> {
    batches: VecDeque<(B, usize)>,
    items: usize,
    /// Set by [`Outbox::close`]: send what is left until this instant.
    closing: Option<Instant>,
}

struct Inner<B> {
    queue: Mutex<Queue<B>>,
    wake: Condvar,
    counters: Counters,
    limits: Limits,
}

/// The queue and its sender thread.
pub struct Outbox<B: Send + 'static> {
    inner: Arc<Inner<B>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl<B: Send + 'static> Outbox<B> {
    /// Starts the sender thread for `name` (e.g. `node "influx"`, used in log
    /// messages), which calls `send` for each batch in order; `on_error` is
    /// told about every failed attempt. Failures are logged here, at most
    /// once a minute while they last, and the recovery once.
    pub fn start(
        name: &str,
        limits: Limits,
        mut send: impl FnMut(&B) -> Outcome + Send + 'static,
        mut on_error: impl FnMut(&str, bool) + Send + 'static,
    ) -> std::io::Result<Outbox<B>> {
        let inner = Arc::new(Inner {
            queue: Mutex::new(Queue {
                batches: VecDeque::new(),
                items: 0,
                closing: None,
            }),
            wake: Condvar::new(),
            counters: Counters::default(),
            limits,
        });
        let worker = {
            let inner = inner.clone();
            let name = name.to_owned();
            let plugin = rcollectd_plugin::thread_plugin();
            std::thread::Builder::new()
                .name(name.chars().take(15).collect())
                .spawn(move || {
                    rcollectd_plugin::set_thread_plugin(plugin);
                    let mut log = FailureLog::new(name);
                    inner.run(&mut send, &mut on_error, &mut log)
                })?
        };
        Ok(Outbox {
            inner,
            worker: Mutex::new(Some(worker)),
        })
    }

    /// Queues a batch of `items` items; drops the oldest batches (counted)
    /// to stay within the bound. A batch larger than the bound is dropped.
    pub fn push(&self, batch: B, items: usize) {
        let inner = &self.inner;
        let mut q = inner.lock();
        if q.closing.is_some() {
            inner
                .counters
                .dropped_shutdown
                .fetch_add(items as u64, Ordering::Relaxed);
            return;
        }
        if items > inner.limits.max_items {
            inner
                .counters
                .dropped_full
                .fetch_add(items as u64, Ordering::Relaxed);
            return;
        }
        while q.items + items > inner.limits.max_items {
            let Some((_, n)) = q.batches.pop_front() else {
                break;
            };
            q.items -= n;
            inner
                .counters
                .dropped_full
                .fetch_add(n as u64, Ordering::Relaxed);
        }
        q.items += items;
        q.batches.push_back((batch, items));
        drop(q);
        inner.wake.notify_all();
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            queued: self.inner.lock().items as u64,
            sent: c.sent.load(Ordering::Relaxed),
            dropped_full: c.dropped_full.load(Ordering::Relaxed),
            dropped_rejected: c.dropped_rejected.load(Ordering::Relaxed),
            dropped_shutdown: c.dropped_shutdown.load(Ordering::Relaxed),
            requests_ok: c.requests_ok.load(Ordering::Relaxed),
            requests_failed: c.requests_failed.load(Ordering::Relaxed),
        }
    }

    /// Waits up to `timeout` until every queued batch was sent or dropped.
    /// Returns whether the queue is empty.
    pub fn drain(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut q = self.inner.lock();
        loop {
            if q.items == 0 && q.batches.is_empty() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            q = self
                .inner
                .wake
                .wait_timeout(q, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Sends what is queued for at most `grace`, drops (and counts) the
    /// rest, and stops the sender thread. Later pushes are dropped.
    pub fn close(&self, grace: Duration) {
        self.inner.lock().closing = Some(Instant::now() + grace);
        self.inner.wake.notify_all();
        if let Some(worker) = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = worker.join();
        }
    }
}

impl<B: Send + 'static> Drop for Outbox<B> {
    fn drop(&mut self) {
        self.close(Duration::ZERO);
    }
}

impl<B> Inner<B> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue<B>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops everything left at shutdown (counted) and tells waiters.
    fn give_up(&self, q: &mut Queue<B>) {
        self.counters
            .dropped_shutdown
            .fetch_add(q.items as u64, Ordering::Relaxed);
        q.batches.clear();
        q.items = 0;
        self.wake.notify_all();
    }

    fn run(
        &self,
        send: &mut dyn FnMut(&B) -> Outcome,
        on_error: &mut dyn FnMut(&str, bool),
        log: &mut FailureLog,
    ) {
        let mut backoff = self.limits.min_backoff;
        loop {
            // Take the oldest batch off the queue while it is sent, so
            // pushes never wait for the network.
            let (batch, items) = {
                let mut q = self.lock();
                loop {
                    if let Some(closing) = q.closing {
                        if q.batches.is_empty() || Instant::now() >= closing {
                            self.give_up(&mut q);
                            return;
                        }
                    }
                    if let Some(front) = q.batches.pop_front() {
                        break front;
                    }
                    q = self.wake.wait(q).unwrap_or_else(|e| e.into_inner());
                }
            };
            match send(&batch) {
                Outcome::Sent => {
                    self.counters.requests_ok.fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .sent
                        .fetch_add(items as u64, Ordering::Relaxed);
                    self.lock().items -= items;
                    self.wake.notify_all();
                    backoff = self.limits.min_backoff;
                    log.recovered();
                }
                Outcome::Reject(why) => {
                    self.counters
                        .requests_failed
                        .fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .dropped_rejected
                        .fetch_add(items as u64, Ordering::Relaxed);
                    self.lock().items -= items;
                    self.wake.notify_all();
                    log.failed(&why, false);
                    on_error(&why, false);
                }
                Outcome::Retry(why) => {
                    self.counters
                        .requests_failed
                        .fetch_add(1, Ordering::Relaxed);
                    log.failed(&why, true);
                    on_error(&why, true);
                    let mut q = self.lock();
                    // Back at the front, unless newer pushes made the
                    // queue overflow meanwhile: then it is the oldest.
                    if q.items > self.limits.max_items {
                        q.items -= items;
                        self.counters
                            .dropped_full
                            .fetch_add(items as u64, Ordering::Relaxed);
                    } else {
                        q.batches.push_front((batch, items));
                    }
                    let until = Instant::now() + backoff;
                    loop {
                        let now = Instant::now();
                        let stop = q.closing.map_or(until, |c| c.min(until));
                        if now >= stop {
                            break;
                        }
                        q = self
                            .wake
                            .wait_timeout(q, stop - now)
                            .map(|(g, _)| g)
                            .unwrap_or_else(|e| e.into_inner().0);
                    }
                    backoff = (backoff * 2).min(self.limits.max_backoff);
                }
            }
        }
    }
}

/// Logs an output's failures without flooding the log: the first one of a
/// run, then at most one a minute with the number suppressed, and the
/// recovery.
struct FailureLog {
    name: String,
    failures: u64,
    suppressed: u64,
    last: Option<Instant>,
}

/// How often a lasting failure is logged again.
const LOG_EVERY: Duration = Duration::from_secs(60);

impl FailureLog {
    fn new(name: String) -> FailureLog {
        FailureLog {
            name,
            failures: 0,
            suppressed: 0,
            last: None,
        }
    }

    fn failed(&mut self, why: &str, retry: bool) {
        self.failures += 1;
        if self.last.is_some_and(|t| t.elapsed() < LOG_EVERY) {
            self.suppressed += 1;
            return;
        }
        let also = match self.suppressed {
            0 => String::new(),
            n => format!(" ({n} more failures since the last message)"),
        };
        if retry {
            rcollectd_plugin::log::warn!("{}: {why}; will retry{also}", self.name);
        } else {
            rcollectd_plugin::log::error!("{}: {why}; batch dropped{also}", self.name);
        }
        self.suppressed = 0;
        self.last = Some(Instant::now());
    }

    fn recovered(&mut self) {
        if self.failures > 0 {
            rcollectd_plugin::log::info!(
                "{}: delivering again after {} failed attempts",
                self.name,
                self.failures
            );
        }
        self.failures = 0;
        self.suppressed = 0;
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    fn limits(max_items: usize) -> Limits {
        Limits {
            max_items,
            min_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        }
    }

    #[test]
    fn loss_summary_counts_every_drop() {
        let mut s = Stats {
            sent: 7,
            ..Stats::default()
        };
        assert_eq!((s.lost(), s.loss_summary("samples")), (0, None));
        s.dropped_full = 3;
        s.dropped_rejected = 2;
        s.dropped_shutdown = 1;
        assert_eq!(s.lost(), 6);
        assert_eq!(
            s.loss_summary("value lists").as_deref(),
            Some("7 value lists sent, 6 dropped (3 buffer full, 2 refused, 1 at shutdown)")
        );
    }

    #[test]
    fn delivers_in_order() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        let out = Outbox::start(
            "t",
            limits(100),
            move |b: &u32| {
                g.lock().unwrap().push(*b);
                Outcome::Sent
            },
            |_, _| {},
        )
        .unwrap();
        for i in 0..10 {
            out.push(i, 2);
        }
        assert!(out.drain(Duration::from_secs(5)));
        assert_eq!(*got.lock().unwrap(), (0..10).collect::<Vec<_>>());
        let s = out.stats();
        assert_eq!((s.sent, s.requests_ok, s.queued), (20, 10, 0));
    }

    #[test]
    fn retries_while_down_and_drops_the_oldest_beyond_the_bound() {
        let up = Arc::new(AtomicBool::new(false));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (u, g) = (up.clone(), got.clone());
        let out = Outbox::start(
            "t",
            limits(10),
            move |b: &u32| {
                if !u.load(Ordering::SeqCst) {
                    return Outcome::Retry("connection refused".into());
                }
                g.lock().unwrap().push(*b);
                Outcome::Sent
            },
            |_, retry| assert!(retry),
        )
        .unwrap();
        for i in 0..8 {
            out.push(i, 2);
        }
        std::thread::sleep(Duration::from_millis(50));
        let s = out.stats();
        assert!(s.requests_failed >= 2, "{s:?}");
        assert_eq!(s.queued + s.dropped_full, 16, "{s:?}");
        assert!(s.queued <= 10, "{s:?}");
        up.store(true, Ordering::SeqCst);
        assert!(out.drain(Duration::from_secs(5)));
        let got = got.lock().unwrap().clone();
        // Five batches fitted: the newest four and whichever was oldest
        // then (the one being retried, or the last one dropped before it).
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[1..], [4, 5, 6, 7]);
        let s = out.stats();
        assert_eq!((s.sent, s.dropped_full, s.queued), (10, 6, 0));
    }

    #[test]
    fn rejected_batches_are_counted_and_skipped() {
        let out = Outbox::start(
            "t",
            limits(100),
            |b: &u32| {
                if *b == 1 {
                    Outcome::Reject("400 Bad Request".into())
                } else {
                    Outcome::Sent
                }
            },
            |_, _| {},
        )
        .unwrap();
        for i in 0..3 {
            out.push(i, 1);
        }
        assert!(out.drain(Duration::from_secs(5)));
        let s = out.stats();
        assert_eq!((s.sent, s.dropped_rejected), (2, 1));
    }

    #[test]
    fn close_gives_up_after_the_grace_and_counts_the_rest() {
        let out = Outbox::start(
            "t",
            limits(100),
            |_: &u32| Outcome::Retry("down".into()),
            |_, _| {},
        )
        .unwrap();
        out.push(1, 3);
        out.push(2, 4);
        let t = Instant::now();
        out.close(Duration::from_millis(50));
        assert!(t.elapsed() < Duration::from_secs(2));
        out.push(3, 5);
        let s = out.stats();
        assert_eq!((s.dropped_shutdown, s.queued, s.sent), (12, 0, 0));
    }

    #[test]
    fn oversized_batches_are_dropped() {
        let out = Outbox::start("t", limits(4), |_: &u32| Outcome::Sent, |_, _| {}).unwrap();
        out.push(1, 5);
        assert_eq!(out.stats().dropped_full, 5);
    }
}
