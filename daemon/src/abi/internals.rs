//! Functions collectd 5.12's binary exports beyond the documented plugin
//! API (from collectd.c, configfile.c, types_list.c and utils_time.c). No
//! Debian plugin imports them, but a third-party plugin may, so they behave
//! as collectd's do. Not exported: `init_config` and `run_loop` (collectd's
//! own `main` split in two, meaningless outside it) and `c_file`/`ci_root`
//! (state of collectd's yacc config parser).

use std::ffi::{c_char, c_int, c_long, CStr};

use rcollectd_plugin::sys::cdtime_t;

/// Copies `s` into a C buffer of `size` bytes; ENOMEM if it does not fit,
/// as collectd's strftime-based formatter reports a short buffer.
///
/// # Safety
/// `buffer` must be writable for `size` bytes.
unsafe fn put(buffer: *mut c_char, size: usize, s: &str) -> c_int {
    if buffer.is_null() {
        return libc::EINVAL;
    }
    if s.len() + 1 > size {
        return libc::ENOMEM;
    }
    // SAFETY: checked above that `s` plus its NUL fits in `buffer`.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), buffer.cast::<u8>(), s.len());
        *buffer.add(s.len()) = 0;
    }
    0
}

/// `format_rfc3339`: formats a broken-down time, optional nanoseconds and
/// a zone suffix (e.g. "Z" or "+01:00").
///
/// # Safety
/// `buffer` writable for `buffer_size` bytes; `t_tm` and `zone` valid.
#[no_mangle]
pub unsafe extern "C" fn format_rfc3339(
    buffer: *mut c_char,
    buffer_size: usize,
    t_tm: *const libc::tm,
    nsec: c_long,
    print_nano: bool,
    zone: *const c_char,
) -> c_int {
    if t_tm.is_null() || zone.is_null() {
        return libc::EINVAL;
    }
    let mut date = [0u8; 64];
    // SAFETY: `date` is a local buffer of the given size; `t_tm` is valid.
    let n = unsafe {
        libc::strftime(
            date.as_mut_ptr().cast(),
            date.len(),
            c"%Y-%m-%dT%H:%M:%S".as_ptr(),
            t_tm,
        )
    };
    if n == 0 {
        return libc::ENOMEM;
    }
    let mut out = String::from_utf8_lossy(&date[..n]).into_owned();
    if print_nano {
        out.push_str(&format!(".{nsec:09}"));
    }
    // SAFETY: `zone` is a valid C string per the contract.
    out.push_str(&unsafe { CStr::from_ptr(zone) }.to_string_lossy());
    // SAFETY: forwarded buffer contract.
    unsafe { put(buffer, buffer_size, &out) }
}

/// `format_rfc3339_utc`.
///
/// # Safety
/// `buffer` writable for `buffer_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn format_rfc3339_utc(
    buffer: *mut c_char,
    buffer_size: usize,
    t: cdtime_t,
    print_nano: bool,
) -> c_int {
    match crate::time::format_rfc3339(t, print_nano, false) {
        // SAFETY: forwarded buffer contract.
        Ok(s) => unsafe { put(buffer, buffer_size, &s) },
        Err(e) => e,
    }
}

/// `format_rfc3339_local`.
///
/// # Safety
/// `buffer` writable for `buffer_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn format_rfc3339_local(
    buffer: *mut c_char,
    buffer_size: usize,
    t: cdtime_t,
    print_nano: bool,
) -> c_int {
    match crate::time::format_rfc3339(t, print_nano, true) {
        // SAFETY: forwarded buffer contract.
        Ok(s) => unsafe { put(buffer, buffer_size, &s) },
        Err(e) => e,
    }
}

fn path_arg(p: *const c_char) -> Option<std::path::PathBuf> {
    if p.is_null() {
        return None;
    }
    // SAFETY: a non-null C string from the caller.
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    Some(std::path::PathBuf::from(s))
}

/// `read_types_list`: loads one more types.db file (its types override).
///
/// # Safety
/// `file` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn read_types_list(file: *const c_char) -> c_int {
    let Some(path) = path_arg(file) else {
        return -1;
    };
    match crate::daemon::load_types_files(&[path]) {
        Ok(()) => 0,
        Err(e) => {
            log::error!("read_types_list: {e}");
            -1
        }
    }
}

/// `cf_read`: reads and applies another collectd.conf file.
///
/// # Safety
/// `filename` must be NULL or a valid C string.
#[no_mangle]
pub unsafe extern "C" fn cf_read(filename: *const c_char) -> c_int {
    let Some(path) = path_arg(filename) else {
        return -1;
    };
    match crate::daemon::apply_config_file(&path) {
        Ok(()) => 0,
        Err(e) => {
            log::error!("{e}");
            -1
        }
    }
}

/// `stop_collectd`: asks the daemon to shut down in order, like SIGTERM.
#[no_mangle]
pub extern "C" fn stop_collectd() {
    // SAFETY: raising a signal on our own process; the handler only writes
    // to the self-pipe the main loop reads.
    unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_variants_format_like_collectd() {
        let mut buf = [0 as c_char; 64];
        let text = |buf: &[c_char]| {
            // SAFETY: every call below NUL-terminates the buffer on success.
            unsafe { CStr::from_ptr(buf.as_ptr()) }
                .to_str()
                .unwrap()
                .to_owned()
        };
        let t: cdtime_t = (1_700_000_000u64 << 30) | (1 << 29); // +0.5 s
                                                                // SAFETY: a local buffer of the stated size.
        let rc = unsafe { format_rfc3339_utc(buf.as_mut_ptr(), buf.len(), t, false) };
        assert_eq!(rc, 0);
        assert_eq!(text(&buf), "2023-11-14T22:13:20Z");
        // SAFETY: as above.
        let rc = unsafe { format_rfc3339_utc(buf.as_mut_ptr(), buf.len(), t, true) };
        assert_eq!(rc, 0);
        assert_eq!(text(&buf), "2023-11-14T22:13:20.500000000Z");
        // SAFETY: the stated size (10) is within the buffer.
        let rc = unsafe { format_rfc3339_utc(buf.as_mut_ptr(), 10, t, false) };
        assert_eq!(rc, libc::ENOMEM);

        // SAFETY: an all-zero tm is a valid value to overwrite field by field.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        tm.tm_year = 124;
        tm.tm_mon = 1;
        tm.tm_mday = 29;
        tm.tm_hour = 23;
        tm.tm_min = 5;
        tm.tm_sec = 9;
        let zone = c"+01:00";
        // SAFETY: valid tm, zone and buffer.
        let rc =
            unsafe { format_rfc3339(buf.as_mut_ptr(), buf.len(), &tm, 42, true, zone.as_ptr()) };
        assert_eq!(rc, 0);
        assert_eq!(text(&buf), "2024-02-29T23:05:09.000000042+01:00");
    }
}
