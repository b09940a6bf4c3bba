//! The C library calls the core's rules need: the clock, the calendar and
//! `printf`'s number formatting.
//!
//! This is the one module of the core allowed `unsafe`, because these libc
//! functions have no safe std equivalent that keeps collectd's exact
//! results (CLOCK_REALTIME_COARSE, local time with its offset, the digits
//! and rounding of `%.15g`).

#![allow(unsafe_code)]

use std::ffi::CStr;

/// `clock_gettime(clock)`, or the OS error.
#[inline]
pub fn clock_gettime(clock: libc::clockid_t) -> std::io::Result<libc::timespec> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let status = unsafe { libc::clock_gettime(clock, &mut ts) };
    if status != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(ts)
}

/// `secs` broken down as UTC (`gmtime_r`) or local time (`localtime_r`).
pub fn broken_down(secs: libc::time_t, local: bool) -> std::io::Result<libc::tm> {
    // SAFETY: `tm` is plain old data; all-zero is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; the *_r variants are
    // thread-safe and write only into `tm`.
    let ok = unsafe {
        if local {
            !libc::localtime_r(&secs, &mut tm).is_null()
        } else {
            !libc::gmtime_r(&secs, &mut tm).is_null()
        }
    };
    if ok {
        Ok(tm)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// True when `fmt` holds exactly one conversion and it takes a double
/// (`%[flags][width][.precision][l]` then one of `aAeEfFgG`; `%%` is text).
fn one_double_conversion(fmt: &[u8]) -> bool {
    let mut conversions = 0;
    let mut i = 0;
    while i < fmt.len() {
        if fmt[i] != b'%' {
            i += 1;
            continue;
        }
        i += 1;
        if fmt.get(i) == Some(&b'%') {
            i += 1;
            continue;
        }
        while i < fmt.len() && b"-+ #0".contains(&fmt[i]) {
            i += 1;
        }
        while i < fmt.len() && fmt[i].is_ascii_digit() {
            i += 1;
        }
        if fmt.get(i) == Some(&b'.') {
            i += 1;
            while i < fmt.len() && fmt[i].is_ascii_digit() {
                i += 1;
            }
        }
        // `l` changes nothing for a double (`%lf` is `%f`); `L` would read
        // a long double and is refused.
        if fmt.get(i) == Some(&b'l') {
            i += 1;
        }
        match fmt.get(i) {
            Some(c) if b"aAeEfFgG".contains(c) => conversions += 1,
            _ => return false,
        }
        i += 1;
    }
    conversions == 1
}

/// Appends `v` formatted by the C library's `snprintf` with `fmt`, which
/// must hold exactly one double conversion (`%.15g`, `%12e`, `%.3f`);
/// any other format appends nothing. This is how collectd prints every
/// number, so digits and rounding match it exactly.
pub fn push_double(out: &mut String, fmt: &CStr, v: f64) {
    if !one_double_conversion(fmt.to_bytes()) {
        debug_assert!(false, "format {fmt:?} is not one double conversion");
        return;
    }
    let mut buf = [0u8; 128];
    // SAFETY: `fmt` was checked above to hold exactly one conversion, which
    // consumes one double; snprintf writes at most `buf.len()` bytes
    // including the NUL.
    let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), v) };
    let Ok(n) = usize::try_from(n) else {
        return;
    };
    if n < buf.len() {
        out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or(""));
        return;
    }
    // Huge values (`%f` of 1e300 has 300+ digits): size the buffer exactly.
    let mut big = vec![0u8; n + 1];
    // SAFETY: as above, with a buffer of the length snprintf asked for.
    let m = unsafe { libc::snprintf(big.as_mut_ptr().cast(), big.len(), fmt.as_ptr(), v) };
    if let Ok(m) = usize::try_from(m) {
        if m < big.len() {
            out.push_str(std::str::from_utf8(&big[..m]).unwrap_or(""));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_printf() {
        let cases: &[(&CStr, f64, &str)] = &[
            (c"%.15g", 0.1, "0.1"),
            (c"%.15g", 1e20, "1e+20"),
            (c"%.15g", f64::NAN, "nan"),
            (c"%.3f", 1.0005, "1.000"),
            (c"%12e", 1.5, "1.500000e+00"),
            (c"%g", -0.0, "-0"),
            (c"%%%.1f%%", 2.25, "%2.2%"),
        ];
        for (fmt, v, want) in cases {
            let mut s = String::new();
            push_double(&mut s, fmt, *v);
            assert_eq!(s, *want, "{fmt:?} {v}");
        }
        let mut s = String::new();
        push_double(&mut s, c"%f", 1e300);
        assert_eq!(s.len(), 301 + 7, "{s}");
    }

    #[test]
    fn refuses_formats_that_are_not_one_double() {
        for fmt in [
            "%s",
            "%d",
            "%.15g %g",
            "%*g",
            "no conversion",
            "%",
            "%lld",
            "%Lf",
        ] {
            assert!(!one_double_conversion(fmt.as_bytes()), "{fmt}");
        }
        for fmt in ["%g", "%.15g", "%-12.3e", "x%%y%a", "%lf"] {
            assert!(one_double_conversion(fmt.as_bytes()), "{fmt}");
        }
    }
}
