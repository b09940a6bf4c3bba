//! The callback registry: an ordered, named list per callback kind, the
//! kinds as traits, and collectd's rules for calling each kind.
//!
//! Lists are read on every dispatched value and changed rarely, so each is
//! an `RwLock` around an `Arc<Vec<..>>` snapshot: a caller clones the `Arc`
//! and releases the lock, so a callback may (un)register callbacks without
//! deadlocking, and a callback is dropped (its user data freed) only when
//! the last invocation in flight has finished.
//!
//! Writes are [`crate::outputs::Write`]; reads are [`crate::schedule::Read`].

use std::ffi::CStr;
use std::sync::{Arc, RwLock};

use crate::time::cdtime_t;

/// A registered callback's name (the plugin's, or `plugin/instance`).
pub trait Named: Send + Sync {
    /// The registration name.
    fn name(&self) -> &str;
}

/// An init or shutdown callback.
pub trait Call: Named {
    /// Runs it; non-zero is a failure.
    fn call(&self) -> i32;
}

/// A flush callback.
pub trait Flush: Named {
    /// Flushes what is older than `timeout` (0: everything), of one
    /// identifier or all.
    fn flush(&self, timeout: cdtime_t, identifier: Option<&CStr>) -> i32;
}

/// A missing-value callback, over the engine's value list type `V`.
pub trait Missing<V: ?Sized>: Named {
    /// `vl` stopped arriving; non-zero stops the others.
    fn missing(&self, vl: &V) -> i32;
}

/// A notification callback, over the engine's notification type `N`.
pub trait Notify<N: ?Sized>: Named {
    /// Handles one notification; non-zero is logged.
    fn notify(&self, n: &N) -> i32;
}

/// A log callback.
pub trait Log: Named {
    /// Writes one message at `severity` (syslog's levels).
    fn log(&self, severity: i32, message: &CStr);
}

/// An ordered, named list of callbacks of one kind.
pub struct List<T> {
    inner: RwLock<Arc<Vec<Arc<T>>>>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List {
            inner: RwLock::new(Arc::new(Vec::new())),
        }
    }
}

impl<T: Named> List<T> {
    /// Adds `cb`; a callback with the same name is replaced in place, which
    /// collectd reports with a warning (returned as `true`).
    pub fn register(&self, cb: T) -> bool {
        let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<_> = guard.iter().cloned().collect();
        let replaced = if let Some(slot) = list.iter_mut().find(|c| c.name() == cb.name()) {
            *slot = Arc::new(cb);
            true
        } else {
            list.push(Arc::new(cb));
            false
        };
        *guard = Arc::new(list);
        replaced
    }

    /// Removes the callback named `name`; false if there was none.
    pub fn unregister(&self, name: &str) -> bool {
        let mut guard = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<_> = guard.iter().cloned().collect();
        let before = list.len();
        list.retain(|c| c.name() != name);
        let removed = list.len() != before;
        *guard = Arc::new(list);
        removed
    }

    /// The current callbacks, in registration order.
    pub fn snapshot(&self) -> Arc<Vec<Arc<T>>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Removes everything; a callback is dropped once no invocation holds it.
    pub fn clear(&self) {
        let old = std::mem::take(&mut *self.inner.write().unwrap_or_else(|e| e.into_inner()));
        drop(old);
    }

    /// Registered names, in order.
    pub fn names(&self) -> Vec<String> {
        self.snapshot()
            .iter()
            .map(|c| c.name().to_owned())
            .collect()
    }
}

/// collectd's `plugin_flush`: the flush callback named `plugin` (exact
/// name), or every one; `before` runs ahead of each call (to let its output
/// write what was queued for it).
pub fn flush<F: Flush>(
    callbacks: &[Arc<F>],
    plugin: Option<&str>,
    timeout: cdtime_t,
    identifier: Option<&CStr>,
    mut before: impl FnMut(&F),
) {
    for cb in callbacks {
        if plugin.is_some_and(|p| p != cb.name()) {
            continue;
        }
        before(cb);
        let _ = cb.flush(timeout, identifier);
    }
}

/// collectd's `plugin_dispatch_notification`: every callback whose name
/// `pick` accepts, in order, each failure logged; -1 when there is no
/// callback at all.
pub fn dispatch_notification<N: ?Sized, C: Notify<N>>(
    callbacks: &[Arc<C>],
    n: &N,
    pick: impl Fn(&str) -> bool,
) -> i32 {
    if callbacks.is_empty() {
        return -1;
    }
    for cb in callbacks.iter().filter(|cb| pick(cb.name())) {
        let status = cb.notify(n);
        if status != 0 {
            log::warn!(
                "plugin_dispatch_notification: Notification callback {} returned {status}.",
                cb.name()
            );
        }
    }
    0
}

/// collectd's `plugin_dispatch_missing`: the callbacks in order until one
/// returns non-zero; a negative status is logged as a failure and returned,
/// a positive one ends the walk as handled (0).
pub fn dispatch_missing<V: ?Sized, M: Missing<V>>(callbacks: &[Arc<M>], vl: &V) -> i32 {
    for cb in callbacks {
        let status = cb.missing(vl);
        if status != 0 {
            if status < 0 {
                log::error!(
                    "plugin_dispatch_missing: Callback function \"{}\" failed with status {status}.",
                    cb.name()
                );
                return status;
            }
            return 0;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A callback that records its calls and returns a fixed status.
    struct Probe {
        name: &'static str,
        status: i32,
        calls: Mutex<Vec<String>>,
    }

    impl Named for Probe {
        fn name(&self) -> &str {
            self.name
        }
    }

    impl Missing<str> for Probe {
        fn missing(&self, vl: &str) -> i32 {
            self.calls.lock().unwrap().push(vl.to_owned());
            self.status
        }
    }

    impl Notify<str> for Probe {
        fn notify(&self, n: &str) -> i32 {
            self.calls.lock().unwrap().push(n.to_owned());
            self.status
        }
    }

    impl Flush for Probe {
        fn flush(&self, timeout: cdtime_t, identifier: Option<&CStr>) -> i32 {
            let id = identifier.map(|i| i.to_string_lossy().into_owned());
            self.calls.lock().unwrap().push(format!("{timeout} {id:?}"));
            self.status
        }
    }

    fn probes(statuses: &[(&'static str, i32)]) -> Vec<Arc<Probe>> {
        statuses
            .iter()
            .map(|&(name, status)| {
                Arc::new(Probe {
                    name,
                    status,
                    calls: Mutex::new(Vec::new()),
                })
            })
            .collect()
    }

    fn called(p: &[Arc<Probe>]) -> Vec<usize> {
        p.iter().map(|p| p.calls.lock().unwrap().len()).collect()
    }

    #[test]
    fn missing_stops_at_the_first_non_zero_status() {
        // (statuses of three callbacks, result, calls each)
        let cases: &[([i32; 3], i32, [usize; 3])] = &[
            ([0, 0, 0], 0, [1, 1, 1]),
            ([0, 1, 0], 0, [1, 1, 0]),
            ([0, -2, 0], -2, [1, 1, 0]),
            ([-1, 0, 0], -1, [1, 0, 0]),
        ];
        for (statuses, result, calls) in cases {
            let p = probes(&[("a", statuses[0]), ("b", statuses[1]), ("c", statuses[2])]);
            assert_eq!(dispatch_missing(&p, "h/p/t"), *result, "{statuses:?}");
            assert_eq!(called(&p), calls.to_vec(), "{statuses:?}");
        }
    }

    #[test]
    fn notifications_go_to_every_picked_callback_and_none_is_minus_one() {
        let none: Vec<Arc<Probe>> = Vec::new();
        assert_eq!(dispatch_notification(&none, "n", |_| true), -1);
        let p = probes(&[("a", 0), ("b", 3), ("c", 0)]);
        assert_eq!(dispatch_notification(&p, "n", |_| true), 0);
        assert_eq!(called(&p), [1, 1, 1]);
        assert_eq!(dispatch_notification(&p, "n", |name| name == "c"), 0);
        assert_eq!(called(&p), [1, 1, 2]);
    }

    #[test]
    fn flush_reaches_the_named_callback_or_all() {
        let p = probes(&[("csv", 0), ("network", -1)]);
        let mut before = Vec::new();
        flush(&p, Some("network"), 5, None, |cb| before.push(cb.name));
        assert_eq!(called(&p), [0, 1]);
        flush(&p, None, 0, Some(c"h/p/t"), |cb| before.push(cb.name));
        assert_eq!(called(&p), [1, 2]);
        assert_eq!(before, ["network", "csv", "network"]);
        assert_eq!(p[0].calls.lock().unwrap()[0], "0 Some(\"h/p/t\")");
    }

    #[test]
    fn a_list_replaces_by_name_in_place_and_unregisters() {
        let list: List<Probe> = List::default();
        for (name, status) in [("a", 0), ("b", 0), ("a", 7)] {
            let replaced = list.register(Probe {
                name,
                status,
                calls: Mutex::new(Vec::new()),
            });
            assert_eq!(replaced, status == 7);
        }
        assert_eq!(list.names(), ["a", "b"]);
        assert_eq!(list.snapshot()[0].status, 7);
        let held = list.snapshot();
        assert!(list.unregister("a"));
        assert!(!list.unregister("a"));
        assert_eq!(list.names(), ["b"]);
        // A snapshot taken before keeps its callbacks alive.
        assert_eq!(held.len(), 2);
        list.clear();
        assert!(list.is_empty());
    }
}
