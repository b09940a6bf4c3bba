//! Time exports of the collectd ABI (`utils_time.h`, `timeval_cmp`).

use std::os::raw::{c_char, c_int};

use crate::abi::ffi::{ffi_guard, write_c_str};
use crate::time::{self, cdtime_t, RFC3339NANO_SIZE, RFC3339_SIZE};

/// Current time in `cdtime_t` units; plugins timestamp their values with it.
#[no_mangle]
pub extern "C" fn cdtime() -> cdtime_t {
    ffi_guard(0, time::now)
}

/// Shared body of the four `rfc3339*` exports.
///
/// # Safety
/// `buffer` must be null or writable for `buffer_size` bytes.
unsafe fn rfc3339_impl(
    buffer: *mut c_char,
    buffer_size: usize,
    t: cdtime_t,
    nano: bool,
    local: bool,
) -> c_int {
    let need = if nano { RFC3339NANO_SIZE } else { RFC3339_SIZE };
    if buffer_size < need {
        return libc::ENOMEM;
    }
    if buffer.is_null() {
        return libc::EINVAL;
    }
    match time::format_rfc3339(t, nano, local) {
        Ok(s) => {
            // SAFETY: the caller guarantees `buffer_size` writable bytes.
            unsafe { write_c_str(buffer, buffer_size, s.as_bytes()) };
            0
        }
        Err(e) => e,
    }
}

/// Formats `t` as `YYYY-MM-DDTHH:MM:SSZ`; returns 0, or ENOMEM if the buffer
/// is shorter than `RFC3339_SIZE`.
///
/// # Safety
/// `buffer` must be writable for `buffer_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn rfc3339(buffer: *mut c_char, buffer_size: usize, t: cdtime_t) -> c_int {
    // SAFETY: forwarded caller contract.
    ffi_guard(libc::EINVAL, || unsafe {
        rfc3339_impl(buffer, buffer_size, t, false, false)
    })
}

/// Formats `t` as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`; ENOMEM below `RFC3339NANO_SIZE`.
///
/// # Safety
/// `buffer` must be writable for `buffer_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn rfc3339nano(
    buffer: *mut c_char,
    buffer_size: usize,
    t: cdtime_t,
) -> c_int {
    // SAFETY: forwarded caller contract.
    ffi_guard(libc::EINVAL, || unsafe {
        rfc3339_impl(buffer, buffer_size, t, true, false)
    })
}

/// Like `rfc3339` in local time with a `+hh:mm` zone.
///
/// # Safety
/// `buffer` must be writable for `buffer_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn rfc3339_local(
    buffer: *mut c_char,
    buffer_size: usize,
    t: cdtime_t,
) -> c_int {
    // SAFETY: forwarded caller contract.
    ffi_guard(libc::EINVAL, || unsafe {
        rfc3339_impl(buffer, buffer_size, t, false, true)
    })
}

/// Like `rfc3339nano` in local time with a `+hh:mm` zone.
///
/// # Safety
/// `buffer` must be writable for `buffer_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn rfc3339nano_local(
    buffer: *mut c_char,
    buffer_size: usize,
    t: cdtime_t,
) -> c_int {
    // SAFETY: forwarded caller contract.
    ffi_guard(libc::EINVAL, || unsafe {
        rfc3339_impl(buffer, buffer_size, t, true, true)
    })
}

/// Compares two timevals: -1, 0 or 1 as `tv0` is before, equal to or after
/// `tv1`; if `delta` is non-null it receives the absolute difference.
///
/// # Safety
/// `delta` must be null or point to a writable `timeval`.
#[no_mangle]
pub unsafe extern "C" fn timeval_cmp(
    tv0: libc::timeval,
    tv1: libc::timeval,
    delta: *mut libc::timeval,
) -> c_int {
    ffi_guard(0, || {
        let normalize = |mut tv: libc::timeval| {
            tv.tv_sec += tv.tv_usec / 1_000_000;
            tv.tv_usec %= 1_000_000;
            tv
        };
        let (tv0, tv1) = (normalize(tv0), normalize(tv1));
        let key0 = (tv0.tv_sec, tv0.tv_usec);
        let key1 = (tv1.tv_sec, tv1.tv_usec);
        if key0 == key1 {
            if !delta.is_null() {
                // SAFETY: non-null and writable per the caller contract.
                unsafe {
                    (*delta).tv_sec = 0;
                    (*delta).tv_usec = 0;
                }
            }
            return 0;
        }
        let (larger, smaller, status) = if key0 < key1 {
            (tv1, tv0, -1)
        } else {
            (tv0, tv1, 1)
        };
        if !delta.is_null() {
            let mut sec = larger.tv_sec - smaller.tv_sec;
            let mut usec = larger.tv_usec - smaller.tv_usec;
            if usec < 0 {
                usec += 1_000_000;
                sec -= 1;
            }
            // SAFETY: non-null and writable per the caller contract.
            unsafe {
                (*delta).tv_sec = sec;
                (*delta).tv_usec = usec;
            }
        }
        status
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn rfc3339_exports_check_size_and_format() {
        let t = time::from_secs(1_234_567_890);
        let mut buf = [0 as c_char; 64];
        // SAFETY: buf is 64 writable bytes.
        unsafe {
            assert_eq!(rfc3339(buf.as_mut_ptr(), RFC3339_SIZE - 1, t), libc::ENOMEM);
            assert_eq!(rfc3339(buf.as_mut_ptr(), buf.len(), t), 0);
            assert_eq!(
                CStr::from_ptr(buf.as_ptr()).to_str().unwrap(),
                "2009-02-13T23:31:30Z"
            );
            assert_eq!(rfc3339nano(buf.as_mut_ptr(), 30, t), libc::ENOMEM);
            assert_eq!(rfc3339nano(buf.as_mut_ptr(), RFC3339NANO_SIZE, t), 0);
            assert_eq!(
                CStr::from_ptr(buf.as_ptr()).to_str().unwrap(),
                "2009-02-13T23:31:30.000000000Z"
            );
            assert_eq!(rfc3339_local(buf.as_mut_ptr(), RFC3339_SIZE, t), 0);
            assert_eq!(CStr::from_ptr(buf.as_ptr()).to_bytes().len(), 25);
            assert_eq!(rfc3339nano_local(buf.as_mut_ptr(), RFC3339NANO_SIZE, t), 0);
            assert_eq!(CStr::from_ptr(buf.as_ptr()).to_bytes().len(), 35);
        }
    }

    #[test]
    fn timeval_cmp_orders_and_computes_delta() {
        let a = libc::timeval {
            tv_sec: 10,
            tv_usec: 900_000,
        };
        let b = libc::timeval {
            tv_sec: 12,
            tv_usec: 100_000,
        };
        let mut d = libc::timeval {
            tv_sec: 99,
            tv_usec: 99,
        };
        // SAFETY: d is a valid timeval.
        unsafe {
            assert_eq!(timeval_cmp(a, b, &mut d), -1);
            assert_eq!((d.tv_sec, d.tv_usec), (1, 200_000));
            assert_eq!(timeval_cmp(b, a, &mut d), 1);
            assert_eq!((d.tv_sec, d.tv_usec), (1, 200_000));
            assert_eq!(timeval_cmp(a, a, &mut d), 0);
            assert_eq!((d.tv_sec, d.tv_usec), (0, 0));
            assert_eq!(timeval_cmp(a, b, std::ptr::null_mut()), -1);
        }
    }
}
