//! Utility exports of collectd's `utils/common/common.h` (string helpers,
//! identifier formatting and parsing, value parsing, rates, files), plus the
//! small FFI helpers the other ABI modules share.

use crate::abi::ffi::{c_bytes, ffi_guard, field_bytes, malloc_c_str, write_c_str};

use std::os::raw::c_char;

// ---------------------------------------------------------------------------
// Exports.
// ---------------------------------------------------------------------------

use std::ffi::{CStr, CString};
use std::io::Read;
use std::os::raw::{c_int, c_long, c_ulonglong, c_void};
use std::sync::Mutex;

use rcollectd_plugin::sys::{
    data_set_t, notification_t, rate_to_value_state_t, value_list_t, value_t, value_to_rate_state_t,
};

use crate::meta::format_gauge;
use crate::time::{self, cdtime_t};

const DS_COUNTER: c_int = rcollectd_plugin::sys::DS_TYPE_COUNTER as c_int;
const DS_GAUGE: c_int = rcollectd_plugin::sys::DS_TYPE_GAUGE as c_int;
const DS_DERIVE: c_int = rcollectd_plugin::sys::DS_TYPE_DERIVE as c_int;
const DS_ABSOLUTE: c_int = rcollectd_plugin::sys::DS_TYPE_ABSOLUTE as c_int;

/// Exit status collectd uses when memory runs out in `smalloc`/`sstrdup`.
const EXIT_OOM: i32 = 3;

/// `DS_TYPE_TO_STRING`.
fn ds_type_name(t: c_int) -> &'static str {
    match t {
        DS_COUNTER => "counter",
        DS_GAUGE => "gauge",
        DS_DERIVE => "derive",
        DS_ABSOLUTE => "absolute",
        _ => "unknown",
    }
}

/// Sets the calling thread's `errno`.
fn set_errno(e: c_int) {
    // SAFETY: __errno_location returns the calling thread's errno slot.
    unsafe { *libc::__errno_location() = e };
}

/// Reads the calling thread's `errno`.
fn errno() -> c_int {
    // SAFETY: __errno_location returns the calling thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// Copies at most `n - 1` bytes of `src` into `dest`, zero-padding like
/// `strncpy`, and always terminates. Returns `dest`.
///
/// # Safety
/// `dest` writable for `n` bytes; `src` null or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sstrncpy(dest: *mut c_char, src: *const c_char, n: usize) -> *mut c_char {
    if dest.is_null() || n == 0 {
        return dest;
    }
    ffi_guard(dest, || {
        // SAFETY: per the contract.
        let s = unsafe { c_bytes(src) };
        let k = s.len().min(n - 1);
        // SAFETY: dest has n bytes; k < n.
        unsafe {
            std::ptr::copy(s.as_ptr(), dest.cast::<u8>(), k);
            std::ptr::write_bytes(dest.add(k), 0, n - k);
        }
        dest
    })
}

/// `strdup` that exits the daemon (status 3) when memory runs out; null in,
/// null out.
///
/// # Safety
/// `s` null or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sstrdup(s: *const c_char) -> *mut c_char {
    if s.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let p = malloc_c_str(unsafe { c_bytes(s) });
    if p.is_null() {
        log::error!("sstrdup: Out of memory.");
        std::process::exit(EXIT_OOM);
    }
    p
}

/// Length of `s`, at most `n`.
///
/// # Safety
/// `s` null or readable up to its NUL or `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn sstrnlen(s: *const c_char, n: usize) -> usize {
    if s.is_null() {
        return 0;
    }
    let mut i = 0;
    // SAFETY: we stop at the NUL or at n, both within the readable range.
    while i < n && unsafe { *s.add(i) } != 0 {
        i += 1;
    }
    i
}

/// Copies at most `n` bytes of `s` into a new malloc'ed string.
///
/// # Safety
/// `s` null or readable up to its NUL or `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn sstrndup(s: *const c_char, n: usize) -> *mut c_char {
    if s.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let len = unsafe { sstrnlen(s, n) };
    // SAFETY: s is readable for len bytes.
    let bytes = unsafe { std::slice::from_raw_parts(s.cast::<u8>(), len) };
    let p = malloc_c_str(bytes);
    if p.is_null() {
        log::error!("sstrndup: Out of memory.");
        std::process::exit(EXIT_OOM);
    }
    p
}

/// `malloc` that exits the daemon (status 3) when memory runs out.
#[no_mangle]
pub extern "C" fn smalloc(size: usize) -> *mut c_void {
    // SAFETY: plain malloc.
    let p = unsafe { libc::malloc(size) };
    if p.is_null() && size > 0 {
        log::error!("Not enough memory.");
        std::process::exit(EXIT_OOM);
    }
    p
}

/// Thread-safe `strerror` into `buf`; returns `buf`.
///
/// # Safety
/// `buf` writable for `buflen` bytes.
#[no_mangle]
pub unsafe extern "C" fn sstrerror(errnum: c_int, buf: *mut c_char, buflen: usize) -> *mut c_char {
    if buf.is_null() || buflen == 0 {
        return buf;
    }
    let msg = std::io::Error::from_raw_os_error(errnum).to_string();
    // Rust appends " (os error N)"; collectd prints only the message.
    let msg = msg
        .rsplit_once(" (os error ")
        .map_or(msg.as_str(), |(m, _)| m);
    // SAFETY: buf is writable for buflen bytes.
    unsafe { write_c_str(buf, buflen, msg.as_bytes()) };
    buf
}

/// Reads exactly `count` bytes (retrying EINTR/EAGAIN): 0, -1 on EOF, or
/// the failing `read`'s negative return.
///
/// # Safety
/// `buf` writable for `count` bytes.
#[no_mangle]
pub unsafe extern "C" fn sread(fd: c_int, buf: *mut c_void, count: usize) -> c_int {
    let mut done = 0usize;
    while done < count {
        // SAFETY: buf + done has count - done writable bytes.
        let n = unsafe { libc::read(fd, buf.cast::<u8>().add(done).cast(), count - done) };
        if n < 0 {
            let e = errno();
            if e == libc::EAGAIN || e == libc::EINTR {
                continue;
            }
            return n as c_int;
        }
        if n == 0 {
            return -1;
        }
        done += n as usize;
    }
    0
}

/// Writes all `count` bytes (retrying EINTR/EAGAIN); ECONNRESET-style -1 if
/// the peer already closed; otherwise 0 or an errno value.
///
/// # Safety
/// `buf` readable for `count` bytes.
#[no_mangle]
pub unsafe extern "C" fn swrite(fd: c_int, buf: *const c_void, count: usize) -> c_int {
    if fd < 0 {
        set_errno(libc::EINVAL);
        return libc::EINVAL;
    }
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN | libc::POLLHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    if unsafe { libc::poll(&mut pfd, 1, 0) } > 0 {
        let mut tmp = [0u8; 32];
        // SAFETY: tmp is 32 writable bytes.
        let r = unsafe {
            libc::recv(
                fd,
                tmp.as_mut_ptr().cast(),
                tmp.len(),
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if r == 0 {
            set_errno(libc::ECONNRESET);
            return -1;
        }
    }
    let mut done = 0usize;
    while done < count {
        // SAFETY: buf + done has count - done readable bytes.
        let n = unsafe { libc::write(fd, buf.cast::<u8>().add(done).cast(), count - done) };
        if n < 0 {
            let e = errno();
            if e == libc::EAGAIN || e == libc::EINTR {
                continue;
            }
            return if e != 0 { e } else { n as c_int };
        }
        done += n as usize;
    }
    0
}

/// Splits `string` in place at spaces, tabs, CR and LF into at most `size`
/// fields; returns the number of fields.
///
/// # Safety
/// `string` a writable C string; `fields` writable for `size` pointers.
#[no_mangle]
pub unsafe extern "C" fn strsplit(
    string: *mut c_char,
    fields: *mut *mut c_char,
    size: usize,
) -> c_int {
    if string.is_null() || fields.is_null() || size == 0 {
        return 0;
    }
    let is_delim = |c: c_char| matches!(c as u8, b' ' | b'\t' | b'\r' | b'\n');
    let mut i = 0usize;
    let mut p = string;
    // SAFETY: we walk the NUL-terminated string and never pass its NUL; fields
    // has `size` slots and i < size whenever we write.
    unsafe {
        loop {
            while *p != 0 && is_delim(*p) {
                p = p.add(1);
            }
            if *p == 0 {
                *fields.add(i) = std::ptr::null_mut();
                break;
            }
            *fields.add(i) = p;
            while *p != 0 && !is_delim(*p) {
                p = p.add(1);
            }
            i += 1;
            if *p != 0 {
                *p = 0;
                p = p.add(1);
            }
            if i >= size {
                break;
            }
        }
    }
    i as c_int
}

/// Joins `fields` with `sep` into `dst` (truncating); returns the length the
/// full result needs, or -EINVAL.
///
/// # Safety
/// `dst` writable for `dst_len` bytes; `fields` `fields_num` C strings.
#[no_mangle]
pub unsafe extern "C" fn strjoin(
    dst: *mut c_char,
    dst_len: usize,
    fields: *mut *mut c_char,
    fields_num: usize,
    sep: *const c_char,
) -> c_int {
    if (fields_num != 0 && fields.is_null()) || (dst_len != 0 && dst.is_null()) {
        return -libc::EINVAL;
    }
    ffi_guard(-libc::EINVAL, || {
        // SAFETY: per the contract.
        let sep = unsafe { c_bytes(sep) };
        let out: &mut [u8] = if dst_len == 0 {
            &mut []
        } else {
            // SAFETY: dst writable for dst_len bytes.
            unsafe { std::slice::from_raw_parts_mut(dst.cast::<u8>(), dst_len) }
        };
        if let Some(first) = out.first_mut() {
            *first = 0;
        }
        let mut pos = 0usize;
        let mut avail = dst_len.saturating_sub(1);
        let mut need = 0usize;
        for i in 0..fields_num {
            // SAFETY: fields has fields_num C strings.
            let f = unsafe { c_bytes(*fields.add(i)) };
            if i != 0 {
                need += sep.len();
            }
            need += f.len();
            if dst_len == 0 {
                continue;
            }
            if i != 0 && !sep.is_empty() {
                if sep.len() >= avail {
                    avail = 0;
                    continue;
                }
                out[pos..pos + sep.len()].copy_from_slice(sep);
                pos += sep.len();
                avail -= sep.len();
            }
            let k = f.len().min(avail);
            out[pos..pos + k].copy_from_slice(&f[..k]);
            pos += k;
            avail -= k;
            out[pos] = 0;
        }
        c_int::try_from(need).unwrap_or(c_int::MAX)
    })
}

/// Replaces `/` by `_` and drops a leading `/` (a lone `/` becomes `root`);
/// 0, or -1 if the buffer is too small for `root`.
///
/// # Safety
/// `buffer` a writable C string within `buffer_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn escape_slashes(buffer: *mut c_char, buffer_size: usize) -> c_int {
    if buffer.is_null() {
        return -1;
    }
    // SAFETY: per the contract.
    let len = unsafe { CStr::from_ptr(buffer) }.to_bytes().len();
    // SAFETY: the string and its NUL are inside the buffer_size bytes the
    // caller vouches for (at least len + 1).
    let b =
        unsafe { std::slice::from_raw_parts_mut(buffer.cast::<u8>(), buffer_size.max(len + 1)) };
    if crate::ident::escape_slashes(b) {
        0
    } else {
        -1
    }
}

/// Quotes `buffer` (`"..."`, escaping `"` and `\`) if it contains blanks,
/// quotes or backslashes, truncating to fit; 0, EINVAL if too small.
///
/// # Safety
/// `buffer` a writable C string within `buffer_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn escape_string(buffer: *mut c_char, buffer_size: usize) -> c_int {
    if buffer.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: per the contract.
    let src = unsafe { CStr::from_ptr(buffer) }.to_bytes().to_vec();
    if !src.iter().any(|c| matches!(c, b' ' | b'\t' | b'"' | b'\\')) {
        return 0;
    }
    if buffer_size < 3 {
        return libc::EINVAL;
    }
    let mut out = Vec::with_capacity(buffer_size);
    out.push(b'"');
    for &c in src.iter().take(buffer_size) {
        if c == b'"' || c == b'\\' {
            // Room for both bytes, the closing quote and the NUL.
            if out.len() + 4 > buffer_size {
                break;
            }
            out.push(b'\\');
            out.push(c);
        } else {
            if out.len() + 3 > buffer_size {
                break;
            }
            out.push(c);
        }
    }
    out.push(b'"');
    // SAFETY: buffer is writable for buffer_size bytes.
    unsafe { write_c_str(buffer, buffer_size, &out) };
    0
}

/// Replaces every byte that is not ASCII alphanumeric or `-` by `_`.
///
/// # Safety
/// `buffer` writable for `buffer_size` bytes or up to its NUL.
#[no_mangle]
pub unsafe extern "C" fn replace_special(buffer: *mut c_char, buffer_size: usize) {
    if buffer.is_null() {
        return;
    }
    for i in 0..buffer_size {
        // SAFETY: i is before the NUL or below buffer_size.
        let c = unsafe { &mut *buffer.add(i).cast::<u8>() };
        if *c == 0 {
            return;
        }
        if !c.is_ascii_alphanumeric() && *c != b'-' {
            *c = b'_';
        }
    }
}

/// Resolves `\t`, `\n`, `\r` and `\x` escapes in place; -1 on a trailing
/// backslash.
///
/// # Safety
/// `buf` writable for `buf_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn strunescape(buf: *mut c_char, buf_len: usize) -> c_int {
    if buf.is_null() || buf_len == 0 {
        return 0;
    }
    // SAFETY: per the contract.
    let b = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), buf_len) };
    let mut i = 0;
    while i < buf_len && b[i] != 0 {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        if i + 1 >= buf_len || b[i + 1] == 0 {
            crate::p_error!("string unescape: backslash found at end of string.");
            b[i] = 0;
            return -1;
        }
        b[i] = match b[i + 1] {
            b't' => b'\t',
            b'n' => b'\n',
            b'r' => b'\r',
            other => other,
        };
        b.copy_within(i + 2..buf_len, i + 1);
        b[buf_len - 1] = 0;
        i += 1;
    }
    0
}

/// Strips trailing CR/LF; returns the new length.
///
/// # Safety
/// `buffer` a writable C string.
#[no_mangle]
pub unsafe extern "C" fn strstripnewline(buffer: *mut c_char) -> usize {
    if buffer.is_null() {
        return 0;
    }
    // SAFETY: per the contract.
    let mut len = unsafe { CStr::from_ptr(buffer) }.to_bytes().len();
    // SAFETY: indices below len are inside the string.
    unsafe {
        while len > 0 && matches!(*buffer.add(len - 1) as u8, b'\n' | b'\r') {
            len -= 1;
            *buffer.add(len) = 0;
        }
    }
    len
}

/// Creates the directories leading to `file_orig` (all of it if it ends in
/// `/`); 0, -1 on error, -2 for a component starting with `.`.
///
/// # Safety
/// `file_orig` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn check_create_dir(file_orig: *const c_char) -> c_int {
    if file_orig.is_null() {
        return -1;
    }
    // SAFETY: per the contract.
    let path = unsafe { c_bytes(file_orig) };
    ffi_guard(-1, || check_create_dir_impl(path))
}

fn check_create_dir_impl(path: &[u8]) -> c_int {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::DirBuilderExt;
    let shown = String::from_utf8_lossy(path);
    if path.is_empty() {
        return -1;
    }
    if path.len() >= libc::PATH_MAX as usize {
        crate::p_error!("check_create_dir: name ({shown}) is too long.");
        return -1;
    }
    let last_is_file = usize::from(!path.ends_with(b"/"));
    let absolute = path.starts_with(b"/");
    let fields: Vec<&[u8]> = path
        .split(|&c| c == b'/')
        .filter(|f| !f.is_empty())
        .take(16)
        .collect();
    for i in 0..fields.len().saturating_sub(last_is_file) {
        if fields[i].starts_with(b".") {
            crate::p_error!(
                "Cowardly refusing to create a directory that begins with a `.' (dot): `{shown}'"
            );
            return -2;
        }
        let mut dir = Vec::with_capacity(path.len() + 1);
        if absolute {
            dir.push(b'/');
        }
        dir.extend_from_slice(&fields[..=i].join(&b'/'));
        let dir = std::path::Path::new(std::ffi::OsStr::from_bytes(&dir));
        // Bounded: a concurrent mkdir gives EEXIST, then the stat succeeds.
        for _ in 0..3 {
            match std::fs::metadata(dir).or_else(|_| std::fs::symlink_metadata(dir)) {
                Ok(m) if m.is_dir() => break,
                Ok(_) => {
                    crate::p_error!(
                        "check_create_dir: `{}' exists but is not a directory!",
                        dir.display()
                    );
                    return -1;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    match std::fs::DirBuilder::new().mode(0o777).create(dir) {
                        Ok(()) => break,
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                        Err(e) => {
                            crate::p_error!("check_create_dir: mkdir ({}): {e}", dir.display());
                            return -1;
                        }
                    }
                }
                Err(e) => {
                    crate::p_error!("check_create_dir: stat ({}): {e}", dir.display());
                    return -1;
                }
            }
        }
    }
    0
}

/// Network to host byte order for 64-bit integers.
#[no_mangle]
pub extern "C" fn ntohll(n: c_ulonglong) -> c_ulonglong {
    u64::from_be(n)
}

/// Host to network byte order for 64-bit integers.
#[no_mangle]
pub extern "C" fn htonll(n: c_ulonglong) -> c_ulonglong {
    n.to_be()
}

/// Formats `host/plugin[-pi]/type[-ti]` into `ret`; 0, ENOBUFS if too long,
/// EINVAL for null host, plugin or type.
///
/// # Safety
/// `ret` writable for `ret_len` bytes; the names null or C strings.
#[no_mangle]
pub unsafe extern "C" fn format_name(
    ret: *mut c_char,
    ret_len: c_int,
    hostname: *const c_char,
    plugin: *const c_char,
    plugin_instance: *const c_char,
    type_: *const c_char,
    type_instance: *const c_char,
) -> c_int {
    if ret.is_null() || hostname.is_null() || plugin.is_null() || type_.is_null() {
        return libc::EINVAL;
    }
    let Ok(cap) = usize::try_from(ret_len) else {
        return libc::ENOBUFS;
    };
    // SAFETY: all non-null pointers are C strings per the contract.
    let (h, p, pi, t, ti) = unsafe {
        (
            c_bytes(hostname),
            c_bytes(plugin),
            c_bytes(plugin_instance),
            c_bytes(type_),
            c_bytes(type_instance),
        )
    };
    let parts = rcollectd_core::ident::Parts {
        host: h,
        plugin: p,
        plugin_instance: Some(pi),
        type_: t,
        type_instance: Some(ti),
    };
    let joined = parts.format();
    if joined.len() >= cap {
        return libc::ENOBUFS;
    }
    // SAFETY: ret has cap > joined.len() bytes.
    unsafe { write_c_str(ret, cap, &joined) };
    0
}

/// Formats `time:v1:v2...` as collectd's text protocols do (time `%.3f`,
/// gauges and rates `%.15g`); 0, or -1 if it does not fit or a rate is
/// unavailable.
///
/// # Safety
/// `ret` writable for `ret_len` bytes; `ds`, `vl` valid with matching counts.
#[no_mangle]
pub unsafe extern "C" fn format_values(
    ret: *mut c_char,
    ret_len: usize,
    ds: *const data_set_t,
    vl: *const value_list_t,
    store_rates: bool,
) -> c_int {
    if ret.is_null() || ret_len == 0 {
        return -1;
    }
    // SAFETY: per the contract.
    let (Some(ds), Some(vl)) = (unsafe { ds.as_ref() }, unsafe { vl.as_ref() }) else {
        return -1;
    };
    ffi_guard(-1, || {
        // SAFETY: ret writable for ret_len bytes.
        unsafe { std::ptr::write_bytes(ret, 0, ret_len) };
        if field_bytes(&ds.type_) != field_bytes(&vl.type_) {
            log::error!("format_values: data set and value list types differ");
            return -1;
        }
        if ds.ds_num > vl.values_len || (ds.ds_num > 0 && (ds.ds.is_null() || vl.values.is_null()))
        {
            return -1;
        }
        let (dss, vals) = if ds.ds_num == 0 {
            (&[][..], &[][..])
        } else {
            // SAFETY: non-null with at least ds_num elements (checked above).
            unsafe {
                (
                    std::slice::from_raw_parts(ds.ds, ds.ds_num),
                    std::slice::from_raw_parts(vl.values, ds.ds_num),
                )
            }
        };
        let mut out = String::with_capacity(64);
        rcollectd_core::sys::push_double(&mut out, c"%.3f", time::to_f64(vl.time));
        let mut rates: Option<Vec<f64>> = None;
        for (i, (d, v)) in dss.iter().zip(vals).enumerate() {
            out.push(':');
            // Union reads below: the member read is the one the source type selects.
            match d.type_ {
                // SAFETY: see above.
                DS_GAUGE => out.push_str(&format_gauge(unsafe { v.gauge })),
                _ if store_rates => {
                    if rates.is_none() {
                        rates = crate::runtime::runtime()
                            .cache
                            .rates(crate::cache::vl_fields(vl))
                            .filter(|r| r.len() == ds.ds_num);
                    }
                    let Some(r) = rates.as_ref() else {
                        log::warn!("format_values: uc_get_rate failed.");
                        return -1;
                    };
                    out.push_str(&format_gauge(r[i]));
                }
                // SAFETY: see above.
                DS_COUNTER => out.push_str(&unsafe { v.counter }.to_string()),
                // SAFETY: see above.
                DS_DERIVE => out.push_str(&unsafe { v.derive }.to_string()),
                // SAFETY: see above.
                DS_ABSOLUTE => out.push_str(&unsafe { v.absolute }.to_string()),
                t => {
                    log::error!("format_values: Unknown data source type: {t}");
                    return -1;
                }
            }
            if out.len() >= ret_len {
                // Like collectd, leave what fitted in the buffer.
                // SAFETY: ret writable for ret_len bytes.
                unsafe { write_c_str(ret, ret_len, out.as_bytes()) };
                return -1;
            }
        }
        if out.len() >= ret_len {
            // SAFETY: ret writable for ret_len bytes.
            unsafe { write_c_str(ret, ret_len, out.as_bytes()) };
            return -1;
        }
        // SAFETY: ret writable for ret_len > out.len() bytes.
        unsafe { write_c_str(ret, ret_len, out.as_bytes()) };
        0
    })
}

/// Splits `host/plugin[-pi]/type[-ti]` in place; without a host part
/// `default_host` is used (if non-null). 0 or -1.
///
/// # Safety
/// `str` a writable C string; out pointers writable.
#[no_mangle]
pub unsafe extern "C" fn parse_identifier(
    str: *mut c_char,
    ret_host: *mut *mut c_char,
    ret_plugin: *mut *mut c_char,
    ret_plugin_instance: *mut *mut c_char,
    ret_type: *mut *mut c_char,
    ret_type_instance: *mut *mut c_char,
    default_host: *mut c_char,
) -> c_int {
    if str.is_null()
        || ret_host.is_null()
        || ret_plugin.is_null()
        || ret_plugin_instance.is_null()
        || ret_type.is_null()
        || ret_type_instance.is_null()
    {
        return -1;
    }
    // Where each field starts and ends in `str`, by the one parse rule
    // (`None` for a field that is absent or, for the host, the default).
    let spans = {
        // SAFETY: `str` is a C string per the contract; the slice ends before
        // its NUL and is dropped before `str` is written below.
        let bytes = unsafe { CStr::from_ptr(str) }.to_bytes();
        let default = (!default_host.is_null()).then_some(&[][..]);
        let Some(parts) = rcollectd_core::ident::parse(bytes, default) else {
            return -1;
        };
        let base = bytes.as_ptr() as usize;
        let span = |f: &[u8]| (f.as_ptr() as usize - base, f.len());
        // The host is the default exactly when `str` has a single `/`.
        let own_host = bytes.iter().filter(|&&b| b == b'/').take(2).count() == 2;
        let host = own_host.then(|| span(parts.host));
        [
            host,
            Some(span(parts.plugin)),
            parts.plugin_instance.map(span),
            Some(span(parts.type_)),
            parts.type_instance.map(span),
        ]
    };
    let outs = [
        ret_host,
        ret_plugin,
        ret_plugin_instance,
        ret_type,
        ret_type_instance,
    ];
    for (i, (span, out)) in spans.iter().zip(outs).enumerate() {
        // SAFETY: every span lies inside `str`, which is writable; the byte
        // after a field is its separator or the terminating NUL; `out` is a
        // writable pointer per the contract.
        unsafe {
            *out = match span {
                Some((start, len)) => {
                    *str.add(start + len) = 0;
                    str.add(*start)
                }
                None if i == 0 => default_host,
                None => std::ptr::null_mut(),
            };
        }
    }
    0
}

/// Parses an identifier into `vl`'s name fields; 0, EINVAL, or -1.
///
/// # Safety
/// `str` null or a C string; `vl` null or writable.
#[no_mangle]
pub unsafe extern "C" fn parse_identifier_vl(str: *const c_char, vl: *mut value_list_t) -> c_int {
    if str.is_null() || vl.is_null() {
        return libc::EINVAL;
    }
    let mut copy = [0 as c_char; 6 * 128];
    // SAFETY: copy is writable; str is a C string.
    unsafe { sstrncpy(copy.as_mut_ptr(), str, copy.len()) };
    let mut parts = [std::ptr::null_mut::<c_char>(); 5];
    let [h, p, pi, t, ti] = &mut parts;
    // SAFETY: copy is a writable C string; out pointers are locals.
    let status =
        unsafe { parse_identifier(copy.as_mut_ptr(), h, p, pi, t, ti, std::ptr::null_mut()) };
    if status != 0 {
        return status;
    }
    // SAFETY: vl is writable; each part is null or a C string inside `copy`.
    unsafe {
        let vl = &mut *vl;
        let dests: [&mut [c_char; 128]; 5] = [
            &mut vl.host,
            &mut vl.plugin,
            &mut vl.plugin_instance,
            &mut vl.type_,
            &mut vl.type_instance,
        ];
        for (d, s) in dests.into_iter().zip(parts) {
            write_c_str(d.as_mut_ptr(), d.len(), c_bytes(s));
        }
    }
    0
}

/// Parses one value of the given DS type (base auto-detected for integers,
/// trailing whitespace ignored); 0, EINVAL for null, -1 if unparsable.
///
/// # Safety
/// `value` null or a C string; `ret_value` writable.
#[no_mangle]
pub unsafe extern "C" fn parse_value(
    value: *const c_char,
    ret_value: *mut value_t,
    ds_type: c_int,
) -> c_int {
    if value.is_null() || ret_value.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: per the contract.
    let orig = unsafe { c_bytes(value) };
    let mut end = orig.len();
    while end > 0 && (orig[end - 1] as char).is_ascii_whitespace() {
        end -= 1;
    }
    let Ok(trimmed) = CString::new(&orig[..end]) else {
        return -1;
    };
    let start = trimmed.as_ptr();
    let mut endptr: *mut c_char = std::ptr::null_mut();
    // SAFETY: trimmed is a valid C string; endptr is a local; ret_value writable.
    unsafe {
        match ds_type {
            DS_COUNTER => (*ret_value).counter = libc::strtoull(start, &mut endptr, 0),
            DS_GAUGE => (*ret_value).gauge = libc::strtod(start, &mut endptr),
            DS_DERIVE => (*ret_value).derive = libc::strtoll(start, &mut endptr, 0),
            DS_ABSOLUTE => (*ret_value).absolute = libc::strtoull(start, &mut endptr, 0),
            t => {
                crate::p_error!("parse_value: Invalid data source type: {t}.");
                return -1;
            }
        }
    }
    let shown = trimmed.to_string_lossy();
    if endptr.cast_const() == start {
        crate::p_error!(
            "parse_value: Failed to parse string as {}: \"{shown}\".",
            ds_type_name(ds_type)
        );
        return -1;
    }
    // SAFETY: endptr points into `trimmed`.
    let rest = unsafe { c_bytes(endptr) };
    if !endptr.is_null() && !rest.is_empty() {
        crate::p_info!(
            "parse_value: Ignoring trailing garbage \"{}\" after {} value. Input string was \"{}\".",
            String::from_utf8_lossy(rest),
            ds_type_name(ds_type),
            String::from_utf8_lossy(orig)
        );
    }
    0
}

/// Parses `time:v1:v2...` (`N` for now, `U` for an unknown gauge) into
/// `vl->time` and `vl->values`; 0, EINVAL for null, -1 on bad input.
///
/// # Safety
/// `buffer` a writable C string; `vl` with `values_len` writable values;
/// `ds` with at least as many sources.
#[no_mangle]
pub unsafe extern "C" fn parse_values(
    buffer: *mut c_char,
    vl: *mut value_list_t,
    ds: *const data_set_t,
) -> c_int {
    if buffer.is_null() || vl.is_null() || ds.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: per the contract.
    let (vl, ds) = unsafe { (&mut *vl, &*ds) };
    // SAFETY: per the contract.
    let text = unsafe { CStr::from_ptr(buffer) }.to_bytes().to_vec();
    let limit = vl.values_len.min(ds.ds_num);
    vl.time = 0;
    let mut i = 0usize;
    let mut leftover = false;
    for tok in text.split(|&c| c == b':').filter(|t| !t.is_empty()) {
        if i >= vl.values_len {
            i = 0;
            leftover = true;
            break;
        }
        if vl.time == 0 {
            if tok == b"N" {
                vl.time = time::now();
            } else {
                let Ok(c) = CString::new(tok) else {
                    return -1;
                };
                let mut endptr: *mut c_char = std::ptr::null_mut();
                set_errno(0);
                // SAFETY: c is a valid C string; endptr a local.
                let t = unsafe { libc::strtod(c.as_ptr(), &mut endptr) };
                let bad_end = endptr.is_null()
                    // SAFETY: a non-null endptr points into c.
                    || unsafe { *endptr } != 0;
                if errno() != 0 || endptr.cast_const() == c.as_ptr() || bad_end {
                    return -1;
                }
                vl.time = time::from_f64(t);
            }
            continue;
        }
        if i >= limit {
            return -1;
        }
        // SAFETY: i < limit <= ds_num and values_len.
        let (src, dst) = unsafe { (&*ds.ds.add(i), vl.values.add(i)) };
        if tok == b"U" && src.type_ == DS_GAUGE {
            // SAFETY: dst is writable.
            unsafe { (*dst).gauge = f64::NAN };
        } else {
            let Ok(c) = CString::new(tok) else {
                return -1;
            };
            // SAFETY: c is a C string; dst writable.
            if unsafe { parse_value(c.as_ptr(), dst, src.type_) } != 0 {
                return -1;
            }
        }
        i += 1;
    }
    if leftover || i == 0 {
        return -1;
    }
    0
}

/// Reads the first line of `path` and parses it as one value; 0 or -1.
///
/// # Safety
/// `path` null or a C string; `ret_value` writable.
#[no_mangle]
pub unsafe extern "C" fn parse_value_file(
    path: *const c_char,
    ret_value: *mut value_t,
    ds_type: c_int,
) -> c_int {
    if path.is_null() {
        return -1;
    }
    // SAFETY: per the contract.
    let p = unsafe { CStr::from_ptr(path) };
    use std::io::BufRead;
    use std::os::unix::ffi::OsStrExt;
    let Ok(f) = std::fs::File::open(std::ffi::OsStr::from_bytes(p.to_bytes())) else {
        return -1;
    };
    let mut line = Vec::with_capacity(256);
    // fgets with a 256-byte buffer: at most 255 bytes, up to and including '\n'.
    let mut reader = std::io::BufReader::new(f).take(255);
    match reader.read_until(b'\n', &mut line) {
        Ok(0) | Err(_) => return -1,
        Ok(_) => {}
    }
    if let Some(nul) = line.iter().position(|&c| c == 0) {
        line.truncate(nul);
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    let Ok(c) = CString::new(line) else {
        return -1;
    };
    // SAFETY: c is a C string; ret_value per the contract.
    unsafe { parse_value(c.as_ptr(), ret_value, ds_type) }
}

/// Zeroes `n` and fills severity, message and identifier (null fields stay
/// empty); always 0.
///
/// # Safety
/// `n` writable; the strings null or C strings.
#[no_mangle]
pub unsafe extern "C" fn notification_init(
    n: *mut notification_t,
    severity: c_int,
    message: *const c_char,
    host: *const c_char,
    plugin: *const c_char,
    plugin_instance: *const c_char,
    type_: *const c_char,
    type_instance: *const c_char,
) -> c_int {
    if n.is_null() {
        return -1;
    }
    // SAFETY: n is writable; notification_t is plain C data (zero = empty).
    unsafe {
        std::ptr::write_bytes(n, 0, 1);
        let n = &mut *n;
        n.severity = severity;
        write_c_str(n.message.as_mut_ptr(), n.message.len(), c_bytes(message));
        let fields: [(&mut [c_char; 128], *const c_char); 5] = [
            (&mut n.host, host),
            (&mut n.plugin, plugin),
            (&mut n.plugin_instance, plugin_instance),
            (&mut n.type_, type_),
            (&mut n.type_instance, type_instance),
        ];
        for (d, s) in fields {
            write_c_str(d.as_mut_ptr(), d.len(), c_bytes(s));
        }
    }
    0
}

/// Calls `callback(dir, name, user_data)` for each entry of `dir` (hidden
/// ones only if `hidden`); -1 if the directory cannot be opened or every
/// callback failed, else 0.
///
/// # Safety
/// `dir` null or a C string; `callback` a valid function or null.
#[no_mangle]
pub unsafe extern "C" fn walk_directory(
    dir: *const c_char,
    callback: rcollectd_plugin::sys::dirwalk_callback_f,
    user_data: *mut c_void,
    hidden: c_int,
) -> c_int {
    let Some(cb) = callback else {
        return -1;
    };
    if dir.is_null() {
        return -1;
    }
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: per the contract.
    let d = unsafe { CStr::from_ptr(dir) };
    let rd = match std::fs::read_dir(std::ffi::OsStr::from_bytes(d.to_bytes())) {
        Ok(rd) => rd,
        Err(e) => {
            crate::p_error!("walk_directory: Cannot open '{}': {e}", d.to_string_lossy());
            return -1;
        }
    };
    let (mut ok, mut failed) = (0u64, 0u64);
    for ent in rd.flatten() {
        let name = ent.file_name();
        let bytes = name.as_bytes();
        if hidden == 0 && bytes.starts_with(b".") {
            continue;
        }
        let Ok(cname) = CString::new(bytes) else {
            continue;
        };
        // SAFETY: the plugin's callback with valid C strings and its user data.
        if unsafe { cb(dir, cname.as_ptr(), user_data) } != 0 {
            failed += 1;
        } else {
            ok += 1;
        }
    }
    if ok == 0 && failed > 0 {
        -1
    } else {
        0
    }
}

/// Reads up to `bufsize` bytes of `filename`; the count, or -1.
///
/// # Safety
/// `filename` null or a C string; `buf` writable for `bufsize` bytes.
#[no_mangle]
pub unsafe extern "C" fn read_file_contents(
    filename: *const c_char,
    buf: *mut c_void,
    bufsize: usize,
) -> isize {
    if filename.is_null() || (buf.is_null() && bufsize > 0) {
        return -1;
    }
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: per the contract.
    let name = unsafe { CStr::from_ptr(filename) };
    let Ok(mut f) = std::fs::File::open(std::ffi::OsStr::from_bytes(name.to_bytes())) else {
        return -1;
    };
    if bufsize == 0 {
        return 0;
    }
    // SAFETY: buf writable for bufsize bytes.
    let out = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), bufsize) };
    let mut done = 0;
    // Bounded: every iteration reads at least one byte or stops.
    while done < bufsize {
        match f.read(&mut out[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) if done == 0 => {
                crate::p_error!(
                    "read_file_contents: Reading file \"{}\" failed.",
                    name.to_string_lossy()
                );
                return -1;
            }
            Err(_) => break,
        }
    }
    done as isize
}

/// Reads a text file into `buf` and NUL-terminates it; returns the bytes
/// read plus one, or -1.
///
/// # Safety
/// `filename` null or a C string; `buf` writable for `bufsize` bytes.
#[no_mangle]
pub unsafe extern "C" fn read_text_file_contents(
    filename: *const c_char,
    buf: *mut c_char,
    bufsize: usize,
) -> isize {
    if bufsize == 0 || buf.is_null() {
        return -1;
    }
    // SAFETY: forwarded caller contract with one byte kept for the NUL.
    let n = unsafe { read_file_contents(filename, buf.cast(), bufsize - 1) };
    if n < 0 {
        return n;
    }
    // SAFETY: n <= bufsize - 1.
    unsafe { *buf.add(n as usize) = 0 };
    n + 1
}

/// Counter difference with 32/64-bit wrap-around.
#[no_mangle]
pub extern "C" fn counter_diff(old_value: c_ulonglong, new_value: c_ulonglong) -> c_ulonglong {
    rcollectd_core::counter::diff(old_value, new_value)
}

/// Turns a rate back into a value of the given DS type, carrying the
/// fractional residual; 0, EAGAIN on the first call, EINVAL on bad input.
///
/// # Safety
/// `ret_value` and `state` writable.
#[no_mangle]
pub unsafe extern "C" fn rate_to_value(
    ret_value: *mut value_t,
    rate: f64,
    state: *mut rate_to_value_state_t,
    ds_type: c_int,
    t: cdtime_t,
) -> c_int {
    if ret_value.is_null() || state.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: per the contract.
    let (ret, st) = unsafe { (&mut *ret_value, &mut *state) };
    if ds_type == DS_GAUGE {
        st.last_value.gauge = rate;
        st.last_time = t;
        *ret = st.last_value;
        return 0;
    }
    if !(DS_COUNTER..=DS_ABSOLUTE).contains(&ds_type) {
        return libc::EINVAL;
    }
    let reset = |st: &mut rate_to_value_state_t| {
        // SAFETY: the state is plain C data; zero is its initial value.
        *st = unsafe { std::mem::zeroed() };
    };
    if rate < 0.0 && (ds_type == DS_COUNTER || ds_type == DS_ABSOLUTE) {
        reset(st);
        return libc::EINVAL;
    }
    if t <= st.last_time {
        reset(st);
        return libc::EINVAL;
    }
    let delta_t = t - st.last_time;
    let delta_gauge = rate * time::to_f64(delta_t) + st.residual;
    if st.last_time == 0 {
        match ds_type {
            DS_DERIVE => {
                st.last_value.derive = rate as i64;
                st.residual = rate - (rate as i64) as f64;
            }
            DS_COUNTER => {
                st.last_value.counter = rate as u64;
                st.residual = rate - (rate as u64) as f64;
            }
            _ => {
                st.last_value.absolute = rate as u64;
                st.residual = rate - (rate as u64) as f64;
            }
        }
        st.last_time = t;
        return libc::EAGAIN;
    }
    // SAFETY: the union member used is the one ds_type selects; all are plain numbers.
    unsafe {
        match ds_type {
            DS_DERIVE => {
                let d = delta_gauge as i64;
                st.last_value.derive = st.last_value.derive.wrapping_add(d);
                st.residual = delta_gauge - d as f64;
            }
            DS_COUNTER => {
                let d = delta_gauge as u64;
                st.last_value.counter = st.last_value.counter.wrapping_add(d);
                st.residual = delta_gauge - d as f64;
            }
            _ => {
                let d = delta_gauge as u64;
                st.last_value.absolute = d;
                st.residual = delta_gauge - d as f64;
            }
        }
    }
    st.last_time = t;
    *ret = st.last_value;
    0
}

/// Turns successive values into a rate; 0, EAGAIN on the first call, EINVAL
/// when time does not advance or the type is unknown.
///
/// # Safety
/// `ret_rate` and `state` writable.
#[no_mangle]
pub unsafe extern "C" fn value_to_rate(
    ret_rate: *mut f64,
    value: value_t,
    ds_type: c_int,
    t: cdtime_t,
    state: *mut value_to_rate_state_t,
) -> c_int {
    if ret_rate.is_null() || state.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: per the contract.
    let st = unsafe { &mut *state };
    if t <= st.last_time {
        // SAFETY: plain C data; zero is the initial state.
        *st = unsafe { std::mem::zeroed() };
        return libc::EINVAL;
    }
    let interval = time::to_f64(t - st.last_time);
    if st.last_time == 0 {
        st.last_value = value;
        st.last_time = t;
        return libc::EAGAIN;
    }
    // SAFETY: the union member read is the one ds_type selects; all are plain numbers.
    let rate = unsafe {
        match ds_type {
            DS_DERIVE => value.derive.wrapping_sub(st.last_value.derive) as f64 / interval,
            DS_GAUGE => value.gauge,
            DS_COUNTER => {
                rcollectd_core::counter::diff(st.last_value.counter, value.counter) as f64
                    / interval
            }
            DS_ABSOLUTE => value.absolute as f64 / interval,
            _ => return libc::EINVAL,
        }
    };
    // SAFETY: ret_rate writable.
    unsafe { *ret_rate = rate };
    st.last_value = value;
    st.last_time = t;
    0
}

/// Port number of a service name or numeric string; -1 if unknown.
///
/// # Safety
/// `service_name` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn service_name_to_port_number(service_name: *const c_char) -> c_int {
    if service_name.is_null() {
        return -1;
    }
    // SAFETY: zeroed addrinfo is a valid "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid C string, hints and out pointer.
    let status = unsafe { libc::getaddrinfo(std::ptr::null(), service_name, &hints, &mut list) };
    if status != 0 {
        // SAFETY: gai_strerror returns a static C string.
        let msg = unsafe { CStr::from_ptr(libc::gai_strerror(status)) };
        crate::p_error!(
            "service_name_to_port_number: getaddrinfo failed: {}",
            msg.to_string_lossy()
        );
        return -1;
    }
    let mut port = -1;
    let mut p = list;
    // SAFETY: walking the list getaddrinfo returned; freed below.
    unsafe {
        while !p.is_null() {
            let ai = &*p;
            if ai.ai_family == libc::AF_INET {
                port = c_int::from(u16::from_be(
                    (*ai.ai_addr.cast::<libc::sockaddr_in>()).sin_port,
                ));
            } else if ai.ai_family == libc::AF_INET6 {
                port = c_int::from(u16::from_be(
                    (*ai.ai_addr.cast::<libc::sockaddr_in6>()).sin6_port,
                ));
            }
            if port > 0 {
                break;
            }
            p = ai.ai_next;
        }
        libc::freeaddrinfo(list);
    }
    if port > 0 {
        port
    } else {
        -1
    }
}

/// Enables TCP keep-alive on stream sockets, with idle time and interval
/// derived from the plugin's interval as collectd does.
#[no_mangle]
pub extern "C" fn set_sock_opts(sockfd: c_int) {
    ffi_guard((), || {
        let mut socktype: c_int = 0;
        let mut len = std::mem::size_of::<c_int>() as libc::socklen_t;
        // SAFETY: valid out pointers of the right size.
        let status = unsafe {
            libc::getsockopt(
                sockfd,
                libc::SOL_SOCKET,
                libc::SO_TYPE,
                (&mut socktype as *mut c_int).cast(),
                &mut len,
            )
        };
        if status != 0 {
            crate::p_warning!("set_sock_opts: failed to determine socket type");
            return;
        }
        if socktype != libc::SOCK_STREAM {
            return;
        }
        let set = |level: c_int, opt: c_int, v: c_int, what: &str| {
            // SAFETY: v is a live int of the size passed.
            let s = unsafe {
                libc::setsockopt(
                    sockfd,
                    level,
                    opt,
                    (&v as *const c_int).cast(),
                    std::mem::size_of::<c_int>() as libc::socklen_t,
                )
            };
            if s != 0 {
                crate::p_warning!("set_sock_opts: failed to set socket {what}");
            }
        };
        set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1, "keepalive flag");
        let ms = time::to_ms(crate::abi::plugin::plugin_get_interval());
        let idle = c_int::try_from(ms.wrapping_sub(1) / 100 + 1).unwrap_or(c_int::MAX);
        let intvl = c_int::try_from(ms.wrapping_sub(1) / 1000 + 1).unwrap_or(c_int::MAX);
        set(
            libc::IPPROTO_TCP,
            libc::TCP_KEEPIDLE,
            idle,
            "tcp keepalive time",
        );
        set(
            libc::IPPROTO_TCP,
            libc::TCP_KEEPINTVL,
            intvl,
            "tcp keepalive interval",
        );
    })
}

/// `strtoll` (base auto-detected) with error reporting; 0, -1, or EINVAL.
///
/// # Safety
/// `string` null or a C string; `ret_value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn strtoderive(string: *const c_char, ret_value: *mut i64) -> c_int {
    if string.is_null() || ret_value.is_null() {
        return libc::EINVAL;
    }
    let mut end: *mut c_char = std::ptr::null_mut();
    set_errno(0);
    // SAFETY: valid C string and local out pointer.
    let v = unsafe { libc::strtoll(string, &mut end, 0) };
    if end.cast_const() == string || errno() != 0 {
        return -1;
    }
    // SAFETY: ret_value writable.
    unsafe { *ret_value = v };
    0
}

/// `strtod` that rejects trailing characters; 0, errno, or EINVAL.
///
/// # Safety
/// `string` null or a C string; `ret_value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn strtogauge(string: *const c_char, ret_value: *mut f64) -> c_int {
    if string.is_null() || ret_value.is_null() {
        return libc::EINVAL;
    }
    let mut end: *mut c_char = std::ptr::null_mut();
    set_errno(0);
    // SAFETY: valid C string and local out pointer.
    let v = unsafe { libc::strtod(string, &mut end) };
    let e = errno();
    if e != 0 {
        return e;
    }
    // SAFETY: end points into the string.
    if end.is_null() || unsafe { *end } != 0 {
        return libc::EINVAL;
    }
    // SAFETY: ret_value writable.
    unsafe { *ret_value = v };
    0
}

/// Appends a copy of `str` to a malloc'ed string array; 0, EINVAL, ENOMEM.
///
/// # Safety
/// `*ret_array` null or a malloc'ed array of `*ret_array_len` strings.
#[no_mangle]
pub unsafe extern "C" fn strarray_add(
    ret_array: *mut *mut *mut c_char,
    ret_array_len: *mut usize,
    str: *const c_char,
) -> c_int {
    if str.is_null() || ret_array.is_null() || ret_array_len.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: per the contract.
    unsafe {
        let len = *ret_array_len;
        let arr = libc::realloc(
            (*ret_array).cast(),
            (len + 1) * std::mem::size_of::<*mut c_char>(),
        )
        .cast::<*mut c_char>();
        if arr.is_null() {
            return libc::ENOMEM;
        }
        *ret_array = arr;
        let s = malloc_c_str(c_bytes(str));
        *arr.add(len) = s;
        if s.is_null() {
            return libc::ENOMEM;
        }
        *ret_array_len = len + 1;
    }
    0
}

/// Frees an array built by `strarray_add`.
///
/// # Safety
/// `array` null or a malloc'ed array of `array_len` malloc'ed strings.
#[no_mangle]
pub unsafe extern "C" fn strarray_free(array: *mut *mut c_char, array_len: usize) {
    if array.is_null() {
        return;
    }
    // SAFETY: per the contract.
    unsafe {
        for i in 0..array_len {
            libc::free((*array.add(i)).cast());
        }
        libc::free(array.cast());
    }
}

/// 0 if the process has capability `arg` in its effective set, 1 if not, -1
/// if it cannot be determined.
#[no_mangle]
pub extern "C" fn check_capability(arg: c_int) -> c_int {
    ffi_guard(-1, || {
        let Ok(bit) = u32::try_from(arg) else {
            return -1;
        };
        if bit >= 64 {
            return -1;
        }
        let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
            crate::p_error!("check_capability: cap_get_proc failed.");
            return -1;
        };
        let Some(eff) = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        else {
            crate::p_error!("check_capability: cap_get_flag failed.");
            return -1;
        };
        c_int::from(eff & (1u64 << bit) == 0)
    })
}

/// Replaces `string[off1..off2]` by `replacement` into `buf` (truncating);
/// `buf`, or null on bad arguments.
///
/// # Safety
/// `buf` writable for `buflen` bytes; `string`, `replacement` C strings.
#[no_mangle]
pub unsafe extern "C" fn subst(
    buf: *mut c_char,
    buflen: usize,
    string: *const c_char,
    off1: usize,
    off2: usize,
    replacement: *const c_char,
) -> *mut c_char {
    if buf.is_null() || buflen == 0 || string.is_null() || replacement.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: per the contract.
    let (s, r) = unsafe { (c_bytes(string).to_vec(), c_bytes(replacement)) };
    if off1 > s.len() || off2 > s.len() || off1 > off2 {
        return std::ptr::null_mut();
    }
    let mut out = Vec::with_capacity(s.len() + r.len());
    out.extend_from_slice(&s[..off1]);
    out.extend_from_slice(r);
    out.extend_from_slice(&s[off2..]);
    // SAFETY: buf writable for buflen bytes.
    unsafe { write_c_str(buf, buflen, &out) };
    buf
}

/// Replaces every `needle` in `string` by `replacement` into `buf`
/// (bounded to `buflen` rounds, as collectd); `buf` or null.
///
/// # Safety
/// `buf` writable for `buflen` bytes; the others C strings.
#[no_mangle]
pub unsafe extern "C" fn subst_string(
    buf: *mut c_char,
    buflen: usize,
    string: *const c_char,
    needle: *const c_char,
    replacement: *const c_char,
) -> *mut c_char {
    if buf.is_null() || string.is_null() || needle.is_null() || replacement.is_null() {
        return std::ptr::null_mut();
    }
    if buflen == 0 {
        return buf;
    }
    // SAFETY: per the contract.
    let (s, n, r) = unsafe {
        (
            c_bytes(string).to_vec(),
            c_bytes(needle).to_vec(),
            c_bytes(replacement).to_vec(),
        )
    };
    let mut cur: Vec<u8> = s[..s.len().min(buflen - 1)].to_vec();
    let mut rounds = 0usize;
    while rounds < buflen {
        let Some(pos) = (if n.is_empty() {
            Some(0)
        } else {
            cur.windows(n.len()).position(|w| w == n.as_slice())
        }) else {
            break;
        };
        let mut next = Vec::with_capacity(cur.len() + r.len());
        next.extend_from_slice(&cur[..pos]);
        next.extend_from_slice(&r);
        next.extend_from_slice(&cur[pos + n.len()..]);
        next.truncate(buflen - 1);
        cur = next;
        rounds += 1;
    }
    if rounds >= buflen {
        log::warn!(
            "subst_string: Loop exited after {rounds} iterations: string = {}; needle = {}; replacement = {};",
            String::from_utf8_lossy(&s),
            String::from_utf8_lossy(&n),
            String::from_utf8_lossy(&r)
        );
    }
    // SAFETY: buf writable for buflen bytes.
    unsafe { write_c_str(buf, buflen, &cur) };
    buf
}

/// State of the 48-bit linear congruential generator behind `cdrand_*`
/// (the `erand48`/`jrand48` family), seeded from the clock on first use.
static RAND_STATE: Mutex<Option<u64>> = Mutex::new(None);

/// Advances the generator and returns the new 48-bit state.
fn rand48_next() -> u64 {
    let mut g = RAND_STATE.lock().unwrap_or_else(|e| e.into_inner());
    let x = g.unwrap_or_else(|| time::now() & 0xffff_ffff_ffff);
    let next = x.wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & 0xffff_ffff_ffff;
    *g = Some(next);
    next
}

/// Uniform random double in [0, 1).
#[no_mangle]
pub extern "C" fn cdrand_d() -> f64 {
    ffi_guard(0.0, || rand48_next() as f64 / (1u64 << 48) as f64)
}

/// Uniform random 32-bit integer.
#[no_mangle]
pub extern "C" fn cdrand_u() -> u32 {
    ffi_guard(0, || (rand48_next() >> 16) as u32)
}

/// Random integer in [min, max] (rounded as collectd does).
#[no_mangle]
pub extern "C" fn cdrand_range(min: c_long, max: c_long) -> c_long {
    ffi_guard(min, || {
        let range = 1i128 + i128::from(max) - i128::from(min);
        let r = (0.5 + cdrand_d() * range as f64) as i128 + i128::from(min);
        c_long::try_from(r).unwrap_or(max)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::testutil::{data_set, derive, gauge, value_list};
    use std::ptr::{null, null_mut};

    fn buf_str(b: &[c_char]) -> String {
        String::from_utf8_lossy(field_bytes(b)).into_owned()
    }

    fn cbuf(s: &str, size: usize) -> Vec<c_char> {
        let mut v = vec![0 as c_char; size];
        for (d, c) in v.iter_mut().zip(s.bytes()) {
            *d = c as c_char;
        }
        v
    }

    #[test]
    fn string_copies() {
        let mut b = [b'x' as c_char; 8];
        // SAFETY: all buffers are local and sized as passed.
        unsafe {
            sstrncpy(b.as_mut_ptr(), c"hello world".as_ptr(), 6);
            assert_eq!(buf_str(&b), "hello");
            sstrncpy(b.as_mut_ptr(), c"hi".as_ptr(), 8);
            assert_eq!(buf_str(&b), "hi");
            assert!(b[2..].iter().all(|&c| c == 0), "strncpy pads with NULs");
            assert_eq!(sstrnlen(c"abcdef".as_ptr(), 3), 3);
            assert_eq!(sstrnlen(c"ab".as_ptr(), 3), 2);
            let d = sstrndup(c"abcdef".as_ptr(), 4);
            assert_eq!(CStr::from_ptr(d).to_bytes(), b"abcd");
            libc::free(d.cast());
            let d = sstrdup(c"xyz".as_ptr());
            assert_eq!(CStr::from_ptr(d).to_bytes(), b"xyz");
            libc::free(d.cast());
            assert!(sstrdup(null()).is_null());
            let m = smalloc(16);
            assert!(!m.is_null());
            libc::free(m);
            let mut e = [0 as c_char; 64];
            sstrerror(libc::ENOENT, e.as_mut_ptr(), e.len());
            assert_eq!(buf_str(&e), "No such file or directory");
        }
    }

    #[test]
    fn split_and_join() {
        let mut s = cbuf("  alpha beta\tgamma\r\n", 32);
        let mut f = [null_mut::<c_char>(); 4];
        // SAFETY: s is a writable C string; f has 4 slots.
        unsafe {
            assert_eq!(strsplit(s.as_mut_ptr(), f.as_mut_ptr(), 4), 3);
            let got: Vec<_> = f[..3]
                .iter()
                .map(|p| CStr::from_ptr(*p).to_str().unwrap())
                .collect();
            assert_eq!(got, ["alpha", "beta", "gamma"]);
            assert!(f[3].is_null());
            let mut s2 = cbuf("a b c", 8);
            assert_eq!(strsplit(s2.as_mut_ptr(), f.as_mut_ptr(), 2), 2);

            let mut parts = [
                c"a".as_ptr().cast_mut(),
                c"bb".as_ptr().cast_mut(),
                c"c".as_ptr().cast_mut(),
            ];
            let mut out = [0 as c_char; 16];
            assert_eq!(
                strjoin(
                    out.as_mut_ptr(),
                    out.len(),
                    parts.as_mut_ptr(),
                    3,
                    c",".as_ptr()
                ),
                6
            );
            assert_eq!(buf_str(&out), "a,bb,c");
            assert_eq!(
                strjoin(out.as_mut_ptr(), 4, parts.as_mut_ptr(), 3, c",".as_ptr()),
                6
            );
            assert_eq!(buf_str(&out[..4]), "a,b");
            assert_eq!(
                strjoin(null_mut(), 0, parts.as_mut_ptr(), 3, c"--".as_ptr()),
                8
            );
            assert_eq!(
                strjoin(out.as_mut_ptr(), 4, null_mut(), 1, null()),
                -libc::EINVAL
            );
        }
    }

    #[test]
    fn escaping() {
        // SAFETY: all buffers are local, NUL-terminated and sized as passed.
        unsafe {
            let mut b = cbuf("/", 8);
            assert_eq!(escape_slashes(b.as_mut_ptr(), 8), 0);
            assert_eq!(buf_str(&b), "root");
            let mut b = cbuf("/", 4);
            assert_eq!(escape_slashes(b.as_mut_ptr(), 4), -1);
            let mut b = cbuf("/var/lib/x", 16);
            assert_eq!(escape_slashes(b.as_mut_ptr(), 16), 0);
            assert_eq!(buf_str(&b), "var_lib_x");

            let mut b = cbuf("plain", 16);
            assert_eq!(escape_string(b.as_mut_ptr(), 16), 0);
            assert_eq!(buf_str(&b), "plain");
            let mut b = cbuf("a b\"c\\", 16);
            assert_eq!(escape_string(b.as_mut_ptr(), 16), 0);
            assert_eq!(buf_str(&b), r#""a b\"c\\""#);
            let mut b = cbuf("a b c d e", 10);
            assert_eq!(escape_string(b.as_mut_ptr(), 6), 0);
            assert_eq!(buf_str(&b[..6]), "\"a b\"");
            let mut b = cbuf(" ", 2);
            assert_eq!(escape_string(b.as_mut_ptr(), 2), libc::EINVAL);

            let mut b = cbuf("a.b-c d/é", 16);
            replace_special(b.as_mut_ptr(), 16);
            assert_eq!(buf_str(&b), "a_b-c_d___");

            let mut b = cbuf(r"a\tb\\c\qd", 16);
            assert_eq!(strunescape(b.as_mut_ptr(), 16), 0);
            assert_eq!(buf_str(&b), "a\tb\\cqd");
            let mut b = cbuf(r"oops\", 8);
            assert_eq!(strunescape(b.as_mut_ptr(), 8), -1);
            assert_eq!(buf_str(&b), "oops");

            let mut b = cbuf("line\r\n\n", 16);
            assert_eq!(strstripnewline(b.as_mut_ptr()), 4);
            assert_eq!(buf_str(&b), "line");
        }
    }

    #[test]
    fn create_dirs() {
        // tempdir()'s default ".tmp" prefix would itself be refused (dot).
        let tmp = tempfile::Builder::new().prefix("ccd").tempdir().unwrap();
        let base = tmp.path().to_str().unwrap();
        let file = CString::new(format!("{base}/a/b/file.rrd")).unwrap();
        // SAFETY: valid C strings.
        unsafe {
            assert_eq!(check_create_dir(file.as_ptr()), 0);
            assert!(tmp.path().join("a/b").is_dir());
            assert!(!tmp.path().join("a/b/file.rrd").exists());
            let dir = CString::new(format!("{base}/c//d/")).unwrap();
            assert_eq!(check_create_dir(dir.as_ptr()), 0);
            assert!(tmp.path().join("c/d").is_dir());
            let dot = CString::new(format!("{base}/e/.hidden/")).unwrap();
            assert_eq!(check_create_dir(dot.as_ptr()), -2);
            std::fs::write(tmp.path().join("f"), b"x").unwrap();
            let under_file = CString::new(format!("{base}/f/g/")).unwrap();
            assert_eq!(check_create_dir(under_file.as_ptr()), -1);
            assert_eq!(check_create_dir(c"".as_ptr()), -1);
            assert_eq!(check_create_dir(null()), -1);
        }
    }

    #[test]
    fn byte_order() {
        assert_eq!(htonll(0x0102_0304_0506_0708), 0x0807_0605_0403_0201);
        assert_eq!(ntohll(htonll(12345)), 12345);
    }

    #[test]
    fn names_format_and_parse() {
        let mut out = [0 as c_char; 64];
        // SAFETY: out is 64 bytes; all strings are valid.
        unsafe {
            assert_eq!(
                format_name(
                    out.as_mut_ptr(),
                    64,
                    c"h".as_ptr(),
                    c"cpu".as_ptr(),
                    c"0".as_ptr(),
                    c"cpu".as_ptr(),
                    c"idle".as_ptr()
                ),
                0
            );
            assert_eq!(buf_str(&out), "h/cpu-0/cpu-idle");
            assert_eq!(
                format_name(
                    out.as_mut_ptr(),
                    64,
                    c"h".as_ptr(),
                    c"load".as_ptr(),
                    null(),
                    c"load".as_ptr(),
                    c"".as_ptr()
                ),
                0
            );
            assert_eq!(buf_str(&out), "h/load/load");
            // "h/load/load" needs 12 bytes with the NUL.
            assert_eq!(
                format_name(
                    out.as_mut_ptr(),
                    11,
                    c"h".as_ptr(),
                    c"load".as_ptr(),
                    null(),
                    c"load".as_ptr(),
                    null()
                ),
                libc::ENOBUFS
            );
            assert_eq!(
                format_name(
                    out.as_mut_ptr(),
                    12,
                    c"h".as_ptr(),
                    c"load".as_ptr(),
                    null(),
                    c"load".as_ptr(),
                    null()
                ),
                0
            );

            let mut s = cbuf("host/plug-in-st/type-ti", 64);
            let mut p = [null_mut::<c_char>(); 5];
            let [h, pl, pi, t, ti] = &mut p;
            assert_eq!(
                parse_identifier(s.as_mut_ptr(), h, pl, pi, t, ti, null_mut()),
                0
            );
            let got: Vec<_> = p
                .iter()
                .map(|x| CStr::from_ptr(*x).to_str().unwrap())
                .collect();
            assert_eq!(got, ["host", "plug", "in-st", "type", "ti"]);

            let mut s = cbuf("plugin/type", 64);
            let mut def = cbuf("dflt", 8);
            let [h, pl, pi, t, ti] = &mut p;
            assert_eq!(
                parse_identifier(s.as_mut_ptr(), h, pl, pi, t, ti, def.as_mut_ptr()),
                0
            );
            assert_eq!(CStr::from_ptr(p[0]).to_bytes(), b"dflt");
            assert!(p[2].is_null() && p[4].is_null());
            let mut s = cbuf("plugin/type", 64);
            let [h, pl, pi, t, ti] = &mut p;
            assert_eq!(
                parse_identifier(s.as_mut_ptr(), h, pl, pi, t, ti, null_mut()),
                -1
            );

            let mut vals = [gauge(0.0)];
            let mut vl = value_list(["x", "x", "x", "x", "x"], 0, 0, &mut vals);
            assert_eq!(parse_identifier_vl(c"a/b/c".as_ptr(), &mut vl), 0);
            assert_eq!(
                [
                    &vl.host[..],
                    &vl.plugin,
                    &vl.plugin_instance,
                    &vl.type_,
                    &vl.type_instance
                ]
                .map(buf_str),
                ["a", "b", "", "c", ""]
            );
            assert_eq!(parse_identifier_vl(c"nothing".as_ptr(), &mut vl), -1);
            assert_eq!(parse_identifier_vl(null(), &mut vl), libc::EINVAL);
        }
    }

    #[test]
    fn values_format() {
        let (ds, _k) = data_set(
            "mixed",
            &[
                (DS_GAUGE, f64::NAN, f64::NAN),
                (DS_DERIVE, f64::NAN, f64::NAN),
            ],
        );
        let mut vals = [gauge(0.1), derive(-42)];
        let vl = value_list(
            ["fmt-host", "p", "", "mixed", ""],
            time::from_ms(1_500_250),
            time::from_secs(10),
            &mut vals,
        );
        let mut out = [0 as c_char; 64];
        // SAFETY: pointers valid for the calls.
        unsafe {
            assert_eq!(format_values(out.as_mut_ptr(), 64, &ds, &vl, false), 0);
            assert_eq!(buf_str(&out), "1500.250:0.1:-42");
            assert_eq!(format_values(out.as_mut_ptr(), 10, &ds, &vl, false), -1);
            // store_rates needs a cache entry.
            assert_eq!(format_values(out.as_mut_ptr(), 64, &ds, &vl, true), -1);
            assert_eq!(
                crate::cache::update(crate::runtime::runtime().cache, &ds, &vl, None),
                Ok(crate::cache::Updated {
                    is_new: true,
                    callbacks_mask: 0
                })
            );
            let mut vals2 = [gauge(f64::NAN), derive(-22)];
            let vl2 = value_list(
                ["fmt-host", "p", "", "mixed", ""],
                time::from_ms(1_510_250),
                time::from_secs(10),
                &mut vals2,
            );
            crate::cache::update(crate::runtime::runtime().cache, &ds, &vl2, None).unwrap();
            assert_eq!(format_values(out.as_mut_ptr(), 64, &ds, &vl2, true), 0);
            assert_eq!(buf_str(&out), "1510.250:nan:2");
        }
    }

    #[test]
    fn value_parsing() {
        let mut v = value_t { counter: 0 };
        // SAFETY: v is a local value_t; strings valid.
        unsafe {
            assert_eq!(parse_value(c" 0x10 \n".as_ptr(), &mut v, DS_COUNTER), 0);
            assert_eq!(v.counter, 16);
            assert_eq!(parse_value(c"-7".as_ptr(), &mut v, DS_DERIVE), 0);
            assert_eq!(v.derive, -7);
            assert_eq!(parse_value(c"1.5xyz".as_ptr(), &mut v, DS_GAUGE), 0);
            assert_eq!(v.gauge, 1.5);
            assert_eq!(parse_value(c"abc".as_ptr(), &mut v, DS_GAUGE), -1);
            assert_eq!(parse_value(c"1".as_ptr(), &mut v, 9), -1);
            assert_eq!(parse_value(null(), &mut v, DS_GAUGE), libc::EINVAL);

            let (ds, _k) = data_set(
                "two",
                &[
                    (DS_GAUGE, f64::NAN, f64::NAN),
                    (DS_DERIVE, f64::NAN, f64::NAN),
                ],
            );
            let mut vals = [gauge(0.0), derive(0)];
            let mut vl = value_list(["h", "p", "", "two", ""], 0, 0, &mut vals);
            let mut b = cbuf("1234.5:U:17", 32);
            assert_eq!(parse_values(b.as_mut_ptr(), &mut vl, &ds), 0);
            assert_eq!(vl.time, time::from_f64(1234.5));
            assert!(vals[0].gauge.is_nan());
            assert_eq!(vals[1].derive, 17);
            let mut vl = value_list(["h", "p", "", "two", ""], 0, 0, &mut vals);
            let mut b = cbuf("N:1:2", 32);
            assert_eq!(parse_values(b.as_mut_ptr(), &mut vl, &ds), 0);
            assert!(vl.time > time::from_secs(1_600_000_000));
            let mut b = cbuf("N:1:2:3", 32);
            assert_eq!(parse_values(b.as_mut_ptr(), &mut vl, &ds), -1);
            let mut b = cbuf("12x:1:2", 32);
            assert_eq!(parse_values(b.as_mut_ptr(), &mut vl, &ds), -1);
            let mut b = cbuf("N", 32);
            assert_eq!(parse_values(b.as_mut_ptr(), &mut vl, &ds), -1);
            let mut b = cbuf("N:U:U", 32);
            assert_eq!(
                parse_values(b.as_mut_ptr(), &mut vl, &ds),
                -1,
                "U is only for gauges"
            );

            let mut d = 0i64;
            assert_eq!(strtoderive(c"0x1f".as_ptr(), &mut d), 0);
            assert_eq!(d, 31);
            assert_eq!(strtoderive(c"zz".as_ptr(), &mut d), -1);
            assert_eq!(strtoderive(c"99999999999999999999".as_ptr(), &mut d), -1);
            let mut g = 0f64;
            assert_eq!(strtogauge(c"2.5".as_ptr(), &mut g), 0);
            assert_eq!(g, 2.5);
            assert_eq!(strtogauge(c"2.5x".as_ptr(), &mut g), libc::EINVAL);
            assert_eq!(strtogauge(c"1e999".as_ptr(), &mut g), libc::ERANGE);
        }
    }

    #[test]
    fn files() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("v"), b"  42\n7\n").unwrap();
        std::fs::write(tmp.path().join(".hidden"), b"").unwrap();
        let p = CString::new(tmp.path().join("v").to_str().unwrap()).unwrap();
        let mut v = value_t { counter: 0 };
        let mut buf = [0 as c_char; 4];
        // SAFETY: pointers valid for the calls.
        unsafe {
            assert_eq!(parse_value_file(p.as_ptr(), &mut v, DS_COUNTER), 0);
            assert_eq!(v.counter, 42);
            assert_eq!(
                parse_value_file(c"/nonexistent/x".as_ptr(), &mut v, DS_COUNTER),
                -1
            );
            assert_eq!(
                read_file_contents(p.as_ptr(), buf.as_mut_ptr().cast(), 4),
                4
            );
            assert_eq!(read_text_file_contents(p.as_ptr(), buf.as_mut_ptr(), 4), 4);
            assert_eq!(buf_str(&buf), "  4");
            assert_eq!(
                read_file_contents(c"/nonexistent/x".as_ptr(), buf.as_mut_ptr().cast(), 4),
                -1
            );

            unsafe extern "C" fn count(
                _d: *const c_char,
                f: *const c_char,
                ud: *mut c_void,
            ) -> c_int {
                // SAFETY: ud is the &mut Vec<String> passed below; f a C string.
                let names = unsafe { &mut *ud.cast::<Vec<String>>() };
                // SAFETY: f is a valid C string for the call.
                names.push(unsafe { CStr::from_ptr(f) }.to_string_lossy().into_owned());
                0
            }
            let dir = CString::new(tmp.path().to_str().unwrap()).unwrap();
            let mut names: Vec<String> = Vec::new();
            let ud = (&mut names as *mut Vec<String>).cast();
            assert_eq!(walk_directory(dir.as_ptr(), Some(count), ud, 0), 0);
            assert_eq!(names, ["v"]);
            names.clear();
            assert_eq!(walk_directory(dir.as_ptr(), Some(count), ud, 1), 0);
            names.sort();
            assert_eq!(names, [".hidden", "v"]);
            assert_eq!(
                walk_directory(c"/nonexistent/x".as_ptr(), Some(count), ud, 0),
                -1
            );
        }
    }

    #[test]
    fn notifications() {
        // SAFETY: notification_t is plain C data.
        let mut n: notification_t = unsafe { std::mem::zeroed() };
        n.time = 99;
        // SAFETY: n is writable; strings valid or null.
        unsafe {
            assert_eq!(
                notification_init(
                    &mut n,
                    2,
                    c"msg".as_ptr(),
                    c"h".as_ptr(),
                    c"p".as_ptr(),
                    null(),
                    c"t".as_ptr(),
                    null()
                ),
                0
            );
        }
        assert_eq!((n.severity, n.time), (2, 0));
        assert_eq!(buf_str(&n.message), "msg");
        assert_eq!(buf_str(&n.host), "h");
        assert_eq!(buf_str(&n.plugin_instance), "");
        assert_eq!(buf_str(&n.type_), "t");
    }

    #[test]
    fn counters_and_rates() {
        assert_eq!(counter_diff(10, 15), 5);
        assert_eq!(counter_diff(u64::from(u32::MAX) - 1, 2), 4);
        assert_eq!(counter_diff(u64::MAX - 1, 2), 4);

        // SAFETY: zeroed C state structs are their initial values.
        let mut vs: value_to_rate_state_t = unsafe { std::mem::zeroed() };
        let mut rate = 0.0;
        let s = time::from_secs;
        // SAFETY: locals passed by pointer.
        unsafe {
            assert_eq!(
                value_to_rate(&mut rate, derive(100), DS_DERIVE, s(10), &mut vs),
                libc::EAGAIN
            );
            assert_eq!(
                value_to_rate(&mut rate, derive(150), DS_DERIVE, s(20), &mut vs),
                0
            );
            assert_eq!(rate, 5.0);
            assert_eq!(
                value_to_rate(&mut rate, derive(150), DS_DERIVE, s(20), &mut vs),
                libc::EINVAL
            );
            assert_eq!(vs.last_time, 0);

            let mut rs: rate_to_value_state_t = std::mem::zeroed();
            let mut v = value_t { counter: 0 };
            assert_eq!(
                rate_to_value(&mut v, 2.5, &mut rs, DS_DERIVE, s(10)),
                libc::EAGAIN
            );
            assert_eq!(rate_to_value(&mut v, 2.5, &mut rs, DS_DERIVE, s(11)), 0);
            // 2 + 2.5 * 1 s + residual 0.5 = 5.
            assert_eq!(v.derive, 5);
            assert_eq!(rate_to_value(&mut v, 1.0, &mut rs, DS_GAUGE, s(12)), 0);
            assert_eq!(v.gauge, 1.0);
            let mut rc: rate_to_value_state_t = std::mem::zeroed();
            assert_eq!(
                rate_to_value(&mut v, -1.0, &mut rc, DS_COUNTER, s(1)),
                libc::EINVAL
            );
        }
    }

    #[test]
    fn services_and_sockets() {
        // SAFETY: valid C strings.
        unsafe {
            assert_eq!(service_name_to_port_number(c"25826".as_ptr()), 25826);
            assert_eq!(
                service_name_to_port_number(c"no-such-service-xyz".as_ptr()),
                -1
            );
            assert_eq!(service_name_to_port_number(null()), -1);
        }
        let mut fds = [0 as c_int; 2];
        // SAFETY: fds has room for two descriptors.
        let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) };
        assert_eq!(rc, 0);
        set_sock_opts(fds[0]);
        let mut got = [0u8; 5];
        // SAFETY: valid descriptors and buffers.
        unsafe {
            assert_eq!(swrite(fds[0], b"hello".as_ptr().cast(), 5), 0);
            assert_eq!(sread(fds[1], got.as_mut_ptr().cast(), 5), 0);
            assert_eq!(&got, b"hello");
            libc::close(fds[0]);
            assert_eq!(sread(fds[1], got.as_mut_ptr().cast(), 1), -1, "EOF");
            assert_eq!(swrite(-1, got.as_ptr().cast(), 1), libc::EINVAL);
            libc::close(fds[1]);
        }
    }

    #[test]
    fn string_arrays_and_subst() {
        let mut arr: *mut *mut c_char = null_mut();
        let mut n = 0usize;
        let mut out = [0 as c_char; 32];
        // SAFETY: pointers valid for the calls; the array is freed below.
        unsafe {
            assert_eq!(strarray_add(&mut arr, &mut n, c"one".as_ptr()), 0);
            assert_eq!(strarray_add(&mut arr, &mut n, c"two".as_ptr()), 0);
            assert_eq!(strarray_add(&mut arr, &mut n, null()), libc::EINVAL);
            assert_eq!(n, 2);
            assert_eq!(CStr::from_ptr(*arr.add(1)).to_bytes(), b"two");
            strarray_free(arr, n);

            assert!(!subst(
                out.as_mut_ptr(),
                32,
                c"hello world".as_ptr(),
                6,
                11,
                c"there".as_ptr()
            )
            .is_null());
            assert_eq!(buf_str(&out), "hello there");
            assert!(!subst(
                out.as_mut_ptr(),
                6,
                c"hello world".as_ptr(),
                0,
                5,
                c"bye".as_ptr()
            )
            .is_null());
            assert_eq!(buf_str(&out[..6]), "bye w");
            assert!(subst(out.as_mut_ptr(), 32, c"abc".as_ptr(), 2, 1, c"x".as_ptr()).is_null());
            assert!(!subst_string(
                out.as_mut_ptr(),
                32,
                c"foo bar foo".as_ptr(),
                c"foo".as_ptr(),
                c"x".as_ptr()
            )
            .is_null());
            assert_eq!(buf_str(&out), "x bar x");
            // A replacement containing the needle stops after buflen rounds.
            assert!(!subst_string(
                out.as_mut_ptr(),
                8,
                c"a".as_ptr(),
                c"a".as_ptr(),
                c"aa".as_ptr()
            )
            .is_null());
            assert_eq!(buf_str(&out), "aaaaaaa");
        }
    }

    #[test]
    fn capability_and_random() {
        assert!(matches!(check_capability(0), 0 | 1));
        assert_eq!(check_capability(200), -1);
        assert_eq!(check_capability(-1), -1);
        for _ in 0..1000 {
            let d = cdrand_d();
            assert!((0.0..1.0).contains(&d));
            let r = cdrand_range(-3, 3);
            assert!((-3..=4).contains(&r), "{r}");
        }
        let distinct: std::collections::HashSet<u32> = (0..100).map(|_| cdrand_u()).collect();
        assert!(distinct.len() > 90);
    }
}
