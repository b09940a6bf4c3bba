//! rcollectd's own additions to the plugin ABI. collectd 5.12 has none of
//! these, so plugins resolve them at run time and do without when absent.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::dispatch;

/// Opens a dispatch batch on the calling thread: value lists it dispatches
/// until the matching [`rcollectd_dispatch_batch_end`] reach the write
/// threads in batches, which costs one queue handoff per batch instead of
/// one per value list. For plugins that dispatch from threads of their own
/// (read callbacks are batched by the daemon already). Calls nest.
#[no_mangle]
pub extern "C" fn rcollectd_dispatch_batch_begin() {
    let _ = catch_unwind(AssertUnwindSafe(dispatch::batch_begin));
}

/// Closes a batch opened by [`rcollectd_dispatch_batch_begin`]; the
/// outermost close hands what was gathered to the write threads. A plugin
/// must close its batch before it blocks, or the values wait with it.
#[no_mangle]
pub extern "C" fn rcollectd_dispatch_batch_end() {
    let _ = catch_unwind(AssertUnwindSafe(dispatch::batch_end));
}

/// Asks for `fd` (a listening socket, say) to be handed to the daemon's
/// next process under `key` when the configuration is reloaded, so what
/// arrives during the reload waits in the kernel instead of being refused.
/// The daemon keeps a duplicate: the plugin closes its own descriptor as
/// usual. 0, or -1 for a null key or a bad descriptor.
///
/// # Safety
/// `key` null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rcollectd_reload_keep_fd(key: *const std::ffi::c_char, fd: i32) -> i32 {
    catch_unwind(AssertUnwindSafe(|| {
        if key.is_null() || fd < 0 {
            return -1;
        }
        // SAFETY: non-null NUL-terminated string per the contract.
        let key = unsafe { std::ffi::CStr::from_ptr(key) }.to_string_lossy();
        if crate::reload::keep_fd(&key, fd) {
            0
        } else {
            -1
        }
    }))
    .unwrap_or(-1)
}

/// The descriptor the previous process kept under `key` before a reload,
/// once (the caller owns it), or -1.
///
/// # Safety
/// `key` null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rcollectd_reload_take_fd(key: *const std::ffi::c_char) -> i32 {
    catch_unwind(AssertUnwindSafe(|| {
        if key.is_null() {
            return -1;
        }
        // SAFETY: non-null NUL-terminated string per the contract.
        let key = unsafe { std::ffi::CStr::from_ptr(key) }.to_string_lossy();
        crate::reload::take_inherited_fd(&key).unwrap_or(-1)
    }))
    .unwrap_or(-1)
}

/// 1 while the daemon shuts down to re-execute itself for a reload (a
/// plugin then leaves what it handed over with [`rcollectd_reload_keep_fd`]
/// in place, e.g. its socket file), else 0.
#[no_mangle]
pub extern "C" fn rcollectd_reload_pending() -> i32 {
    i32::from(crate::reload::pending())
}
