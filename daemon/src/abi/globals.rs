//! Exported global variables of collectd's daemon (`globals.h`): plugins read
//! `hostname_g`, `interval_g` and `timeout_g` directly.
//!
//! They are written only while configuring (single-threaded, before any read
//! or write thread starts) and read afterwards, as in collectd.

#![allow(non_upper_case_globals)]

use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr::{addr_of, addr_of_mut};

use rcollectd_plugin::sys::cdtime_t;

/// The host name put into value lists that leave `host` empty.
#[no_mangle]
pub static mut hostname_g: *mut c_char = std::ptr::null_mut();

/// The global `Interval` in cdtime_t units (default 10 s).
#[no_mangle]
pub static mut interval_g: cdtime_t = 10 << 30;

/// The global `Timeout` (intervals before a value is missing; default 2).
#[no_mangle]
pub static mut timeout_g: c_int = 2;

/// Set when the PID file came from the command line.
#[no_mangle]
pub static mut pidfile_from_cli: c_int = 0;

/// `hostname_set`: replaces `hostname_g` with a copy of `hostname`.
///
/// # Safety
/// `hostname` must be NULL or a valid C string; must not race with readers.
#[no_mangle]
pub unsafe extern "C" fn hostname_set(hostname: *const c_char) {
    if hostname.is_null() {
        return;
    }
    // SAFETY: caller guarantees a valid C string.
    let s = unsafe { CStr::from_ptr(hostname) }
        .to_string_lossy()
        .into_owned();
    set_hostname(&s);
}

/// Sets `hostname_g` (the previous copy is intentionally leaked: a plugin may
/// still hold the old pointer, and this happens once or twice per process).
pub fn set_hostname(name: &str) {
    let clean: String = name.chars().filter(|&c| c != '\0').collect();
    let c = CString::new(clean).unwrap_or_default().into_raw();
    // SAFETY: written only during configuration, before plugin threads run.
    unsafe { *addr_of_mut!(hostname_g) = c };
}

/// The current `hostname_g` as a Rust string ("" if unset).
pub fn hostname() -> String {
    // SAFETY: read of a pointer written only during configuration.
    let p = unsafe { *addr_of!(hostname_g) };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: non-null hostname_g is a valid C string we allocated (or a plugin set).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// Copies `hostname_g` into a value list's host field (sstrncpy semantics).
pub fn copy_hostname(field: &mut [c_char]) {
    // SAFETY: read of a pointer written only during configuration.
    let p = unsafe { *addr_of!(hostname_g) };
    if p.is_null() || field.is_empty() {
        return;
    }
    // SAFETY: non-null hostname_g is a valid C string.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    let n = bytes.len().min(field.len() - 1);
    for (d, s) in field.iter_mut().zip(bytes[..n].iter()) {
        *d = *s as c_char;
    }
    field[n] = 0;
}

/// `interval_g`.
pub fn interval() -> cdtime_t {
    // SAFETY: plain read of a value written only during configuration.
    unsafe { *addr_of!(interval_g) }
}

/// Sets `interval_g`.
pub fn set_interval(t: cdtime_t) {
    // SAFETY: written only during configuration.
    unsafe { *addr_of_mut!(interval_g) = t };
}

/// `timeout_g`.
pub fn timeout() -> c_int {
    // SAFETY: plain read of a value written only during configuration.
    unsafe { *addr_of!(timeout_g) }
}

/// Sets `timeout_g`.
pub fn set_timeout(t: c_int) {
    // SAFETY: written only during configuration.
    unsafe { *addr_of_mut!(timeout_g) = t };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_roundtrip_and_truncation() {
        set_hostname("example.org");
        assert_eq!(hostname(), "example.org");
        let mut f = [0 as c_char; 5];
        copy_hostname(&mut f);
        assert_eq!(crate::abi::ffi::cstr_field(&f), "exam");
    }
}
