//! The small FFI helpers every part of the facade shares: the panic guard
//! around exported functions, and reading and writing C strings, both
//! fixed-size `char` fields of collectd's structs and NUL-terminated
//! arguments. They depend on nothing else in the crate, so the engine's
//! modules below the exports can use them too.

use std::borrow::Cow;
use std::ffi::CStr;
use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`, turning a panic into `on_panic` so no unwind crosses `extern "C"`.
pub fn ffi_guard<R>(on_panic: R, f: impl FnOnce() -> R) -> R {
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
pub unsafe fn write_c_str(dest: *mut c_char, size: usize, src: &[u8]) {
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
pub fn malloc_c_str(s: &[u8]) -> *mut c_char {
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
#[inline]
pub fn field_bytes(field: &[c_char]) -> &[u8] {
    // SAFETY: `field` is readable for its length; strnlen reads no further.
    let end = unsafe { libc::strnlen(field.as_ptr(), field.len()) };
    // SAFETY: c_char and u8 have the same size and alignment; end <= len.
    unsafe { std::slice::from_raw_parts(field.as_ptr().cast::<u8>(), end) }
}

/// Bytes of a C string argument (empty for null).
///
/// # Safety
/// `s` null or NUL-terminated.
pub unsafe fn c_bytes<'a>(s: *const c_char) -> &'a [u8] {
    if s.is_null() {
        b""
    } else {
        // SAFETY: per the contract.
        unsafe { CStr::from_ptr(s) }.to_bytes()
    }
}

/// Reads a fixed-size C string field (always NUL-terminated by truncation).
pub fn cstr_field(field: &[c_char]) -> String {
    String::from_utf8_lossy(field_bytes(field)).into_owned()
}

/// Like [`cstr_field`] but borrowing when the field is valid UTF-8 (hot path).
pub fn cstr_field_ref(field: &[c_char]) -> &str {
    std::str::from_utf8(field_bytes(field)).unwrap_or("")
}

/// Writes `value` into a fixed-size C string field, truncating like `sstrncpy`.
pub fn set_cstr_field(field: &mut [c_char], value: &str) {
    let n = value.len().min(field.len().saturating_sub(1));
    for (dst, src) in field.iter_mut().zip(value.as_bytes()[..n].iter()) {
        *dst = *src as c_char;
    }
    if let Some(end) = field.get_mut(n) {
        *end = 0;
    }
}

/// Converts a C string argument; `None` for NULL.
///
/// # Safety
/// `p` must be NULL or a valid NUL-terminated string.
pub unsafe fn opt_str<'a>(p: *const c_char) -> Option<Cow<'a, str>> {
    if p.is_null() {
        None
    } else {
        // SAFETY: caller guarantees a valid C string.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_roundtrip_and_truncate() {
        let mut f = [0 as c_char; 8];
        set_cstr_field(&mut f, "abcdefghij");
        assert_eq!(cstr_field(&f), "abcdefg");
        assert_eq!(cstr_field_ref(&f), "abcdefg");
        assert_eq!(field_bytes(&f), b"abcdefg");
        // A field without NUL ends at its size.
        let full = [b'x' as c_char; 4];
        assert_eq!(field_bytes(&full), b"xxxx");
        assert_eq!(cstr_field_ref(&full), "xxxx");
        // Invalid UTF-8 is replaced when owned, empty when borrowed.
        let bad = [0xff_u8 as c_char, b'a' as c_char, 0, 0];
        assert_eq!(cstr_field(&bad), "\u{fffd}a");
        assert_eq!(cstr_field_ref(&bad), "");
    }

    #[test]
    fn write_c_str_truncates_and_terminates() {
        for (size, want) in [
            (0, None),
            (1, Some(&b""[..])),
            (4, Some(b"abc")),
            (9, Some(b"abcdef")),
        ] {
            let mut buf = [b'#' as c_char; 9];
            // SAFETY: `buf` is writable for 9 >= size bytes.
            unsafe { write_c_str(buf.as_mut_ptr(), size, b"abcdef") };
            match want {
                None => assert_eq!(buf[0], b'#' as c_char, "size 0 writes nothing"),
                Some(w) => assert_eq!(field_bytes(&buf), w, "size {size}"),
            }
        }
    }
}
