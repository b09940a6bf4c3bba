//! The write queue's FIFO: many producers, many consumers, and a consumer
//! that finds it empty goes to sleep at once. A channel that spins and
//! yields before sleeping (crossbeam's) costs each of the dozens of
//! hand-offs per second of an idle daemon a few microseconds of spinning and
//! four `sched_yield` calls; batching already makes hand-offs rare under
//! load, so the spinning never pays for itself here.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

/// Capacity kept once a backlog has drained; anything above is given back,
/// so one stall does not pin its peak for good.
const KEEP_CAPACITY: usize = 64;

struct Inner<T> {
    items: VecDeque<T>,
    /// Consumers waiting in [`WorkQueue::pop`].
    sleeping: usize,
}

/// A blocking FIFO (see the module documentation).
pub struct WorkQueue<T> {
    inner: Mutex<Inner<T>>,
    ready: Condvar,
}

impl<T> Default for WorkQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> WorkQueue<T> {
    /// An empty queue.
    pub const fn new() -> Self {
        WorkQueue {
            inner: Mutex::new(Inner {
                items: VecDeque::new(),
                sleeping: 0,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `item`, waking one sleeping consumer if there is one.
    pub fn push(&self, item: T) {
        let mut g = self.lock();
        g.items.push_back(item);
        let wake = g.sleeping > 0;
        drop(g);
        if wake {
            self.ready.notify_one();
        }
    }

    /// The oldest item, sleeping until there is one.
    pub fn pop(&self) -> T {
        let mut g = self.lock();
        loop {
            if let Some(item) = Self::take(&mut g) {
                return item;
            }
            g.sleeping += 1;
            g = self.ready.wait(g).unwrap_or_else(|e| e.into_inner());
            g.sleeping -= 1;
        }
    }

    /// The oldest item, if any, without waiting.
    pub fn try_pop(&self) -> Option<T> {
        Self::take(&mut self.lock())
    }

    fn take(g: &mut Inner<T>) -> Option<T> {
        let item = g.items.pop_front();
        if g.items.is_empty() && g.items.capacity() > KEEP_CAPACITY {
            g.items.shrink_to(KEEP_CAPACITY);
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn items_come_out_in_order() {
        let q = WorkQueue::new();
        for i in 0..10 {
            q.push(i);
        }
        let got: Vec<i32> = std::iter::from_fn(|| q.try_pop()).collect();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert_eq!(q.try_pop(), None);
    }

    #[test]
    fn a_sleeping_consumer_is_woken_and_nothing_is_lost() {
        let q = Arc::new(WorkQueue::new());
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                std::thread::spawn(move || {
                    let mut sum = 0u64;
                    loop {
                        match q.pop() {
                            0 => return sum,
                            n => sum += n,
                        }
                    }
                })
            })
            .collect();
        // Let the consumers fall asleep on the empty queue first.
        std::thread::sleep(Duration::from_millis(50));
        for n in 1..=10_000u64 {
            q.push(n);
        }
        for _ in &consumers {
            q.push(0);
        }
        let total: u64 = consumers.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, 10_000 * 10_001 / 2);
    }

    #[test]
    fn a_drained_backlog_gives_its_capacity_back() {
        let q = WorkQueue::new();
        for i in 0..10_000 {
            q.push(i);
        }
        while q.try_pop().is_some() {}
        assert!(q.lock().items.capacity() <= KEEP_CAPACITY);
    }
}
