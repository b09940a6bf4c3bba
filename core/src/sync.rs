//! Locking that survives a panic: a lock whose holder panicked (a plugin
//! callback unwinding through a read or a writer) is still taken, because
//! the state it guards stays consistent between operations and the engine
//! must go on.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, also when a previous holder panicked.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
