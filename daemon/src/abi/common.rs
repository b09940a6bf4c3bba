//! Utility exports of collectd's `utils/common/common.h` (string helpers,
//! identifier formatting and parsing, value parsing, rates, files), plus the
//! small FFI helpers the other ABI modules share.

use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, turning a panic into `on_panic` so no unwind crosses `extern "C"`.
pub(crate) fn ffi_guard<R>(on_panic: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            log::error!("rcollectd: internal error (panic) in an exported function");
            on_panic
        }
    }
}

/// Copies `src` into `dest` as `sstrncpy` does: at most `size - 1` bytes,
/// always NUL-terminated. Nothing is written when `size` is 0.
///
/// # Safety
/// `dest` must be writable for `size` bytes.
pub(crate) unsafe fn write_c_str(dest: *mut c_char, size: usize, src: &[u8]) {
    if size == 0 || dest.is_null() {
        return;
    }
    let n = src.len().min(size - 1);
    // SAFETY: dest has room for size >= n + 1 bytes; src and dest are distinct.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), dest.cast::<u8>(), n);
        *dest.add(n) = 0;
    }
}

/// A `malloc`ed NUL-terminated copy of `s` (null if allocation fails), for
/// strings a C caller releases with `free`.
pub(crate) fn malloc_c_str(s: &[u8]) -> *mut c_char {
    // SAFETY: malloc of len + 1 bytes; checked for null before writing.
    let p = unsafe { libc::malloc(s.len() + 1) }.cast::<u8>();
    if p.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: p has s.len() + 1 writable bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), p, s.len());
        *p.add(s.len()) = 0;
    }
    p.cast()
}

/// The bytes of a fixed-size C char array up to its first NUL (or all of it).
pub(crate) fn field_bytes(field: &[c_char]) -> &[u8] {
    // SAFETY: c_char and u8 have the same size and alignment.
    let bytes = unsafe { std::slice::from_raw_parts(field.as_ptr().cast::<u8>(), field.len()) };
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// Difference of two counter readings, assuming a 32-bit or 64-bit wrap when
/// the new value is smaller (`counter_diff`).
pub fn counter_diff_impl(old: u64, new: u64) -> u64 {
    if old > new {
        let max = if old <= u64::from(u32::MAX) {
            u64::from(u32::MAX)
        } else {
            u64::MAX
        };
        (max - old).wrapping_add(new).wrapping_add(1)
    } else {
        new - old
    }
}
