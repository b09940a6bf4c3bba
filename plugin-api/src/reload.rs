//! Keeping descriptors across rcollectd's configuration reload.
//!
//! At a reload rcollectd re-executes itself; a plugin that keeps a
//! descriptor (a listening socket) under a key takes it back in the new
//! process instead of opening a new one, so nothing sent to it meanwhile is
//! refused. Under collectd 5.12, which cannot reload, both calls do nothing.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::host::host;

/// Asks the daemon to hand `fd` to its next process under `key` at a
/// reload (it keeps a duplicate; close yours as usual). False when the
/// daemon cannot (collectd, or a bad descriptor).
pub fn keep_fd(key: &str, fd: &impl AsRawFd) -> bool {
    let (Some(keep), Ok(k)) = (host().reload_keep_fd, std::ffi::CString::new(key)) else {
        return false;
    };
    // SAFETY: a NUL-terminated key and a descriptor the caller holds open.
    unsafe { keep(k.as_ptr(), fd.as_raw_fd()) == 0 }
}

/// The descriptor the previous process kept under `key`, if this process
/// was started by a reload that handed one over (once).
pub fn take_fd(key: &str) -> Option<OwnedFd> {
    let take = host().reload_take_fd?;
    let k = std::ffi::CString::new(key).ok()?;
    // SAFETY: a NUL-terminated key; the result is -1 or a descriptor that
    // the daemon hands over to the caller.
    let fd = unsafe { take(k.as_ptr()) };
    // SAFETY: a non-negative result is an open descriptor now owned here.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Whether the daemon is shutting down for a reload: a plugin then leaves
/// what it handed over with [`keep_fd`] in place (a socket's file, say).
/// Always false under collectd.
pub fn pending() -> bool {
    // SAFETY: a function of no arguments exported by the daemon.
    host().reload_pending.is_some_and(|f| unsafe { f() } == 1)
}
