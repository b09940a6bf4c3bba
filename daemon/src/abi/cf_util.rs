//! Exported config helpers of collectd's configfile.h: `cf_util_get_*`
//! (typed access to one `oconfig_item_t`), `global_option_*` and
//! `cf_get_default_interval`, with collectd 5.12's return conventions:
//! 0 on success, -1 on a wrong value (logged, output untouched), `EINVAL`
//! for NULL arguments where collectd checks them. Unlike collectd, a NULL
//! item is `EINVAL` in every function instead of a crash.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_long, c_uint};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use rcollectd_plugin::sys::{cdtime_t, oconfig_item_t, oconfig_value_t};

use super::oconfig::{OCONFIG_TYPE_BOOLEAN, OCONFIG_TYPE_NUMBER, OCONFIG_TYPE_STRING};
use crate::config::globals;
use crate::runtime::runtime;

/// collectd's `COLLECTD_DEFAULT_INTERVAL` in seconds.
const DEFAULT_INTERVAL: f64 = 10.0;

/// Runs `f`, turning a panic into `on_panic` (no panic crosses into C).
fn guard<T>(name: &str, on_panic: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        log::error!("{name}: internal error");
        on_panic
    })
}

/// A borrowed view of an item's key and values.
struct View<'a> {
    key: String,
    values: &'a [oconfig_value_t],
}

/// # Safety
/// `ci` must be NULL or a valid `oconfig_item_t`.
unsafe fn view<'a>(ci: *const oconfig_item_t) -> Option<View<'a>> {
    if ci.is_null() {
        return None;
    }
    // SAFETY: non-null and valid per the contract.
    let c = unsafe { &*ci };
    let key = if c.key.is_null() {
        String::from("(null)")
    } else {
        // SAFETY: keys of valid items are NUL-terminated.
        unsafe { CStr::from_ptr(c.key) }
            .to_string_lossy()
            .into_owned()
    };
    let n = usize::try_from(c.values_num).unwrap_or(0);
    let values = if n == 0 || c.values.is_null() {
        &[][..]
    } else {
        // SAFETY: `values` holds values_num elements in a valid item.
        unsafe { std::slice::from_raw_parts(c.values, n) }
    };
    Some(View { key, values })
}

/// The single value of `v` if it has exactly one.
fn single<'a>(v: &View<'a>) -> Option<&'a oconfig_value_t> {
    match v.values {
        [one] => Some(one),
        _ => None,
    }
}

/// The string of a STRING value (NULL pointers read as None).
fn string_of(v: &oconfig_value_t) -> Option<&CStr> {
    if v.type_ != OCONFIG_TYPE_STRING {
        return None;
    }
    // SAFETY: the tag says the string member is live.
    let p = unsafe { v.value.string };
    if p.is_null() {
        None
    } else {
        // SAFETY: non-null string values are NUL-terminated.
        Some(unsafe { CStr::from_ptr(p) })
    }
}

/// The number of a NUMBER value.
fn number_of(v: &oconfig_value_t) -> Option<f64> {
    if v.type_ == OCONFIG_TYPE_NUMBER {
        // SAFETY: the tag says the number member is live.
        Some(unsafe { v.value.number })
    } else {
        None
    }
}

/// Puts a malloc'ed copy of `s` in `*ret`, freeing the old string first.
///
/// # Safety
/// `ret` must be valid for reads and writes; `*ret` NULL or malloc'ed.
unsafe fn replace_string(ret: *mut *mut c_char, s: &CStr) -> c_int {
    // SAFETY: `s` is NUL-terminated.
    let dup = unsafe { libc::strdup(s.as_ptr()) };
    if dup.is_null() {
        return -1;
    }
    // SAFETY: valid per the contract; the old value is malloc'ed or NULL.
    unsafe {
        libc::free((*ret).cast());
        *ret = dup;
    }
    0
}

/// `cf_util_get_string`: exactly one string value, duplicated into
/// `*ret_string` (the previous string is freed). 0 or -1.
///
/// # Safety
/// `ci` NULL or a valid item; `ret_string` NULL or valid, `*ret_string`
/// NULL or malloc'ed.
#[no_mangle]
pub unsafe extern "C" fn cf_util_get_string(
    ci: *const oconfig_item_t,
    ret_string: *mut *mut c_char,
) -> c_int {
    guard("cf_util_get_string", -1, || {
        // SAFETY: forwarded contract.
        let Some(v) = (unsafe { view(ci) }) else {
            return libc::EINVAL;
        };
        if ret_string.is_null() {
            return libc::EINVAL;
        }
        match single(&v).and_then(string_of) {
            // SAFETY: `ret_string` valid per the contract.
            Some(s) => unsafe { replace_string(ret_string, s) },
            None => {
                crate::p_error!(
                    "The `{}' option requires exactly one string argument.",
                    v.key
                );
                -1
            }
        }
    })
}

/// `cf_util_get_string_buffer`: exactly one string value, copied into
/// `buffer` (truncated, always NUL-terminated). 0, -1, or EINVAL.
///
/// # Safety
/// `ci` NULL or a valid item; `buffer` NULL or writable for `buffer_size`.
#[no_mangle]
pub unsafe extern "C" fn cf_util_get_string_buffer(
    ci: *const oconfig_item_t,
    buffer: *mut c_char,
    buffer_size: usize,
) -> c_int {
    guard("cf_util_get_string_buffer", -1, || {
        if buffer.is_null() || buffer_size < 1 {
            return libc::EINVAL;
        }
        // SAFETY: forwarded contract.
        let Some(v) = (unsafe { view(ci) }) else {
            return libc::EINVAL;
        };
        match single(&v).and_then(string_of) {
            Some(s) => {
                let bytes = s.to_bytes();
                let n = bytes.len().min(buffer_size - 1);
                // SAFETY: `buffer` is writable for buffer_size > n bytes.
                unsafe {
                    ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), buffer, n);
                    *buffer.add(n) = 0;
                }
                0
            }
            None => {
                crate::p_error!(
                    "The `{}' option requires exactly one string argument.",
                    v.key
                );
                -1
            }
        }
    })
}

/// `cf_util_get_int`: exactly one number, truncated to int. 0, -1, EINVAL.
///
/// # Safety
/// `ci` NULL or a valid item; `ret_value` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cf_util_get_int(
    ci: *const oconfig_item_t,
    ret_value: *mut c_int,
) -> c_int {
    guard("cf_util_get_int", -1, || {
        // SAFETY: forwarded contract.
        let Some(v) = (unsafe { view(ci) }) else {
            return libc::EINVAL;
        };
        if ret_value.is_null() {
            return libc::EINVAL;
        }
        match single(&v).and_then(number_of) {
            Some(n) => {
                // SAFETY: writable per the contract. `as` saturates like a
                // well-defined version of C's cast.
                unsafe { *ret_value = n as c_int };
                0
            }
            None => {
                crate::p_error!(
                    "The `{}' option requires exactly one numeric argument.",
                    v.key
                );
                -1
            }
        }
    })
}

/// `cf_util_get_double`: exactly one number. 0, -1, EINVAL.
///
/// # Safety
/// `ci` NULL or a valid item; `ret_value` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cf_util_get_double(
    ci: *const oconfig_item_t,
    ret_value: *mut f64,
) -> c_int {
    guard("cf_util_get_double", -1, || {
        // SAFETY: forwarded contract.
        let Some(v) = (unsafe { view(ci) }) else {
            return libc::EINVAL;
        };
        if ret_value.is_null() {
            return libc::EINVAL;
        }
        match single(&v).and_then(number_of) {
            Some(n) => {
                // SAFETY: writable per the contract.
                unsafe { *ret_value = n };
                0
            }
            None => {
                crate::p_error!(
                    "The `{}' option requires exactly one numeric argument.",
                    v.key
                );
                -1
            }
        }
    })
}

/// The boolean of one value: a BOOLEAN, or (deprecated, warned) a string
/// true/yes/on/false/no/off in any case. Logs and returns None otherwise.
fn boolean_of(v: &View<'_>) -> Option<bool> {
    let Some(one) =
        single(v).filter(|o| o.type_ == OCONFIG_TYPE_BOOLEAN || o.type_ == OCONFIG_TYPE_STRING)
    else {
        crate::p_error!(
            "The `{}' option requires exactly one boolean argument.",
            v.key
        );
        return None;
    };
    if one.type_ == OCONFIG_TYPE_BOOLEAN {
        // SAFETY: the tag says the boolean member is live.
        return Some(unsafe { one.value.boolean } != 0);
    }
    let s = string_of(one)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    crate::p_warning!(
        "Using string value `{s}' for boolean option `{}' is deprecated and will be removed in future releases. Use unquoted true or false instead.",
        v.key
    );
    let b = globals::parse_bool_str(&s);
    if b.is_none() {
        crate::p_error!(
            "Cannot parse string value `{s}' of the `{}' option as a boolean value.",
            v.key
        );
    }
    b
}

/// `cf_util_get_boolean`: one boolean (or boolean word in a string).
/// 0, -1, EINVAL.
///
/// # Safety
/// `ci` NULL or a valid item; `ret_bool` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cf_util_get_boolean(
    ci: *const oconfig_item_t,
    ret_bool: *mut bool,
) -> c_int {
    guard("cf_util_get_boolean", -1, || {
        // SAFETY: forwarded contract.
        let Some(v) = (unsafe { view(ci) }) else {
            return libc::EINVAL;
        };
        if ret_bool.is_null() {
            return libc::EINVAL;
        }
        match boolean_of(&v) {
            Some(b) => {
                // SAFETY: writable per the contract.
                unsafe { *ret_bool = b };
                0
            }
            None => -1,
        }
    })
}

/// `cf_util_get_flag`: sets or clears `flag` in `*ret_value` by the
/// item's boolean. 0, -1, EINVAL.
///
/// # Safety
/// `ci` NULL or a valid item; `ret_value` NULL or valid for read/write.
#[no_mangle]
pub unsafe extern "C" fn cf_util_get_flag(
    ci: *const oconfig_item_t,
    ret_value: *mut c_uint,
    flag: c_uint,
) -> c_int {
    guard("cf_util_get_flag", -1, || {
        if ret_value.is_null() {
            return libc::EINVAL;
        }
        // SAFETY: forwarded contract.
        let Some(v) = (unsafe { view(ci) }) else {
            return libc::EINVAL;
        };
        match boolean_of(&v) {
            Some(b) => {
                // SAFETY: valid per the contract.
                unsafe {
                    if b {
                        *ret_value |= flag;
                    } else {
                        *ret_value &= !flag;
                    }
                }
                0
            }
            None => -1,
        }
    })
}

/// collectd's `service_name_to_port_number`: resolves a service name or
/// numeric string with getaddrinfo; the port (1-65535) or -1.
fn service_to_port(service: &CStr) -> c_int {
    // SAFETY: an all-zero addrinfo is a valid "no hints" value.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    let mut list: *mut libc::addrinfo = ptr::null_mut();
    // SAFETY: valid C strings and pointers; the result list is freed below.
    let status = unsafe { libc::getaddrinfo(ptr::null(), service.as_ptr(), &hints, &mut list) };
    if status != 0 {
        // SAFETY: gai_strerror returns a static NUL-terminated string.
        let msg = unsafe { CStr::from_ptr(libc::gai_strerror(status)) };
        crate::p_error!(
            "service_name_to_port_number: getaddrinfo failed: {}",
            msg.to_string_lossy()
        );
        return -1;
    }
    let mut port = -1;
    let mut ai = list;
    let mut steps = 0;
    while !ai.is_null() && steps < 64 {
        // SAFETY: `ai` walks the list getaddrinfo returned.
        let a = unsafe { &*ai };
        let p = if a.ai_family == libc::AF_INET && !a.ai_addr.is_null() {
            // SAFETY: AF_INET entries carry a sockaddr_in.
            c_int::from(u16::from_be(unsafe {
                (*a.ai_addr.cast::<libc::sockaddr_in>()).sin_port
            }))
        } else if a.ai_family == libc::AF_INET6 && !a.ai_addr.is_null() {
            // SAFETY: AF_INET6 entries carry a sockaddr_in6.
            c_int::from(u16::from_be(unsafe {
                (*a.ai_addr.cast::<libc::sockaddr_in6>()).sin6_port
            }))
        } else {
            -1
        };
        if p > 0 {
            port = p;
            break;
        }
        ai = a.ai_next;
        steps += 1;
    }
    // SAFETY: `list` came from a successful getaddrinfo.
    unsafe { libc::freeaddrinfo(list) };
    if port > 0 {
        port
    } else {
        -1
    }
}

/// `cf_util_get_port_number`: one string (service name or number) or one
/// number in 1-65535 (rounded). The port, or -1.
///
/// # Safety
/// `ci` NULL or a valid item.
#[no_mangle]
pub unsafe extern "C" fn cf_util_get_port_number(ci: *const oconfig_item_t) -> c_int {
    guard("cf_util_get_port_number", -1, || {
        // SAFETY: forwarded contract.
        let Some(v) = (unsafe { view(ci) }) else {
            return -1;
        };
        let Some(one) = single(&v) else {
            crate::p_error!(
                "The `{}' option requires exactly one string argument.",
                v.key
            );
            return -1;
        };
        if let Some(s) = string_of(one) {
            return service_to_port(s);
        }
        let Some(n) = number_of(one) else {
            crate::p_error!(
                "The `{}' option requires exactly one string argument.",
                v.key
            );
            return -1;
        };
        let port = (n + 0.5) as c_int;
        if !(1..=65535).contains(&port) {
            crate::p_error!(
                "The `{}' option requires a service name or a port number. The number you specified, {port}, is not in the valid range of 1-65535.",
                v.key
            );
            return -1;
        }
        port
    })
}

/// `cf_util_get_service`: one string (duplicated) or one number 1-65535
/// (formatted) into `*ret_string`. 0 or -1.
///
/// # Safety
/// `ci` NULL or a valid item; `ret_string` NULL or valid, `*ret_string`
/// NULL or malloc'ed.
#[no_mangle]
pub unsafe extern "C" fn cf_util_get_service(
    ci: *const oconfig_item_t,
    ret_string: *mut *mut c_char,
) -> c_int {
    guard("cf_util_get_service", -1, || {
        // SAFETY: forwarded contract.
        let Some(v) = (unsafe { view(ci) }) else {
            return libc::EINVAL;
        };
        if ret_string.is_null() {
            return libc::EINVAL;
        }
        let Some(one) = single(&v) else {
            crate::p_error!("The `{}` option requires exactly one argument.", v.key);
            return -1;
        };
        if let Some(s) = string_of(one) {
            // SAFETY: `ret_string` valid per the contract.
            return unsafe { replace_string(ret_string, s) };
        }
        let Some(n) = number_of(one) else {
            crate::p_error!(
                "The `{}` option requires exactly one string or numeric argument.",
                v.key
            );
            return -1;
        };
        let port = n as c_int;
        if !(1..=65535).contains(&port) {
            crate::p_error!(
                "The port number given for the `{}` option is out of range ({port}).",
                v.key
            );
            return -1;
        }
        let s = std::ffi::CString::new(port.to_string()).unwrap_or_default();
        // SAFETY: `ret_string` valid per the contract.
        unsafe { replace_string(ret_string, &s) }
    })
}

/// `cf_util_get_cdtime`: one non-negative number of seconds as cdtime_t.
/// 0, -1, EINVAL.
///
/// # Safety
/// `ci` NULL or a valid item; `ret_value` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn cf_util_get_cdtime(
    ci: *const oconfig_item_t,
    ret_value: *mut cdtime_t,
) -> c_int {
    guard("cf_util_get_cdtime", -1, || {
        // SAFETY: forwarded contract.
        let Some(v) = (unsafe { view(ci) }) else {
            return libc::EINVAL;
        };
        if ret_value.is_null() {
            return libc::EINVAL;
        }
        let Some(n) = single(&v).and_then(number_of) else {
            crate::p_error!(
                "The `{}' option requires exactly one numeric argument.",
                v.key
            );
            return -1;
        };
        if n < 0.0 {
            crate::p_error!(
                "The numeric argument of the `{}' option must not be negative.",
                v.key
            );
            return -1;
        }
        // SAFETY: writable per the contract.
        unsafe { *ret_value = crate::time::from_f64(n) };
        0
    })
}

/// A C string argument as UTF-8 (lossy), or None for NULL.
///
/// # Safety
/// `p` NULL or NUL-terminated.
unsafe fn arg(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: NUL-terminated per the contract.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// `global_option_set`: sets a global option from a string (NULL = back
/// to the default); values set with `from_cli` win over later config.
/// 0, or -1 for an unknown option or invalid value.
///
/// # Safety
/// `option` and `value` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn global_option_set(
    option: *const c_char,
    value: *const c_char,
    from_cli: bool,
) -> c_int {
    guard("global_option_set", -1, || {
        // SAFETY: forwarded contract.
        let Some(key) = (unsafe { arg(option) }) else {
            return -1;
        };
        // SAFETY: forwarded contract.
        let value = unsafe { arg(value) };
        runtime()
            .settings
            .option_set(&key, value.as_deref(), from_cli)
    })
}

/// `global_option_get`: the option's value as a string (valid for the life
/// of the process), its default, or NULL (unknown option: logged).
///
/// # Safety
/// `option` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn global_option_get(option: *const c_char) -> *const c_char {
    guard("global_option_get", ptr::null(), || {
        // SAFETY: forwarded contract.
        match unsafe { arg(option) } {
            Some(k) => {
                let rt = runtime();
                rt.option_strings.get(&rt.settings, &k)
            }
            None => ptr::null(),
        }
    })
}

/// `global_option_get_long`: the option parsed with `strtol` (base 0), or
/// `default_value` when unset or out of range.
///
/// # Safety
/// `option` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn global_option_get_long(
    option: *const c_char,
    default_value: c_long,
) -> c_long {
    guard("global_option_get_long", default_value, || {
        // SAFETY: forwarded contract.
        let p = unsafe { global_option_get(option) };
        if p.is_null() {
            return default_value;
        }
        // SAFETY: errno is thread-local; `p` is NUL-terminated.
        unsafe {
            *libc::__errno_location() = 0;
            let v = libc::strtol(p, ptr::null_mut(), 0);
            if *libc::__errno_location() != 0 {
                return default_value;
            }
            v
        }
    })
}

/// `global_option_get_time`: the option as seconds (`strtod`, whole string,
/// greater than 0) converted to cdtime_t, or `default_value`.
///
/// # Safety
/// `option` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn global_option_get_time(
    option: *const c_char,
    default_value: cdtime_t,
) -> cdtime_t {
    guard("global_option_get_time", default_value, || {
        // SAFETY: forwarded contract.
        let p = unsafe { global_option_get(option) };
        if p.is_null() {
            return default_value;
        }
        // SAFETY: `p` is NUL-terminated (from `CStrings::get`).
        let s = unsafe { CStr::from_ptr(p) }.to_string_lossy();
        match s.parse::<f64>() {
            Ok(v) if v > 0.0 && v.is_finite() => crate::time::from_f64(v),
            _ => default_value,
        }
    })
}

/// `cf_get_default_interval`: the global `Interval` as cdtime_t (10 s by
/// default).
#[no_mangle]
pub extern "C" fn cf_get_default_interval() -> cdtime_t {
    guard(
        "cf_get_default_interval",
        crate::time::from_f64(DEFAULT_INTERVAL),
        || {
            let i = runtime().settings.current().interval;
            if i > 0.0 && i.is_finite() {
                crate::time::from_f64(i)
            } else {
                crate::time::from_f64(DEFAULT_INTERVAL)
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::oconfig::OconfigTree;
    use crate::config::{parse_str, Item};
    use std::ffi::CString;
    use std::path::Path;

    /// The first top-level item of `text`, as a C tree.
    fn item(text: &str) -> OconfigTree {
        let root = parse_str(text, Path::new("/t.conf")).unwrap();
        let first: &Item = &root.children[0];
        OconfigTree::new(first)
    }

    unsafe fn take(p: *mut c_char) -> String {
        // SAFETY: p is a malloc'ed NUL-terminated string from the function.
        let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string();
        // SAFETY: malloc'ed by strdup.
        unsafe { libc::free(p.cast()) };
        s
    }

    #[test]
    fn get_string() {
        let t = item("Host \"example.org\"\n");
        // SAFETY: valid tree and out-pointers throughout.
        unsafe {
            let mut out: *mut c_char = libc::strdup(c"old".as_ptr());
            assert_eq!(cf_util_get_string(t.as_ptr(), &mut out), 0);
            assert_eq!(take(out), "example.org");
            let mut out: *mut c_char = ptr::null_mut();
            assert_eq!(cf_util_get_string(item("Host 1\n").as_ptr(), &mut out), -1);
            assert_eq!(
                cf_util_get_string(item("Host a b\n").as_ptr(), &mut out),
                -1
            );
            assert!(out.is_null());
            assert_eq!(cf_util_get_string(ptr::null(), &mut out), libc::EINVAL);
            assert_eq!(
                cf_util_get_string(t.as_ptr(), ptr::null_mut()),
                libc::EINVAL
            );
        }
    }

    #[test]
    fn get_string_buffer_truncates() {
        let t = item("Host \"example.org\"\n");
        let mut buf = [1 as c_char; 8];
        // SAFETY: buffer and tree valid.
        unsafe {
            assert_eq!(
                cf_util_get_string_buffer(t.as_ptr(), buf.as_mut_ptr(), buf.len()),
                0
            );
            assert_eq!(CStr::from_ptr(buf.as_ptr()).to_str().unwrap(), "example");
            assert_eq!(
                cf_util_get_string_buffer(t.as_ptr(), buf.as_mut_ptr(), 0),
                libc::EINVAL
            );
            assert_eq!(
                cf_util_get_string_buffer(t.as_ptr(), ptr::null_mut(), 8),
                libc::EINVAL
            );
            assert_eq!(
                cf_util_get_string_buffer(item("Host true\n").as_ptr(), buf.as_mut_ptr(), 8),
                -1
            );
        }
    }

    #[test]
    fn get_int_and_double() {
        // SAFETY: valid trees and out-pointers.
        unsafe {
            let mut i: c_int = 0;
            assert_eq!(cf_util_get_int(item("N 42.9\n").as_ptr(), &mut i), 0);
            assert_eq!(i, 42);
            assert_eq!(cf_util_get_int(item("N -7\n").as_ptr(), &mut i), 0);
            assert_eq!(i, -7);
            assert_eq!(cf_util_get_int(item("N \"5\"\n").as_ptr(), &mut i), -1);
            assert_eq!(i, -7, "unchanged on error");
            assert_eq!(
                cf_util_get_int(item("N 1\n").as_ptr(), ptr::null_mut()),
                libc::EINVAL
            );
            let mut d = 0.0;
            assert_eq!(cf_util_get_double(item("N 0.25\n").as_ptr(), &mut d), 0);
            assert_eq!(d, 0.25);
            assert_eq!(cf_util_get_double(item("N 1 2\n").as_ptr(), &mut d), -1);
            assert_eq!(d, 0.25);
        }
    }

    #[test]
    fn get_boolean_and_flag() {
        // SAFETY: valid trees and out-pointers.
        unsafe {
            let mut b = false;
            assert_eq!(cf_util_get_boolean(item("B true\n").as_ptr(), &mut b), 0);
            assert!(b);
            assert_eq!(cf_util_get_boolean(item("B off\n").as_ptr(), &mut b), 0);
            assert!(!b);
            assert_eq!(cf_util_get_boolean(item("B \"Yes\"\n").as_ptr(), &mut b), 0);
            assert!(b);
            assert_eq!(
                cf_util_get_boolean(item("B \"nope\"\n").as_ptr(), &mut b),
                -1
            );
            assert_eq!(cf_util_get_boolean(item("B 1\n").as_ptr(), &mut b), -1);
            assert!(b);
            let mut flags: c_uint = 0b100;
            assert_eq!(
                cf_util_get_flag(item("F true\n").as_ptr(), &mut flags, 0b1),
                0
            );
            assert_eq!(flags, 0b101);
            assert_eq!(
                cf_util_get_flag(item("F false\n").as_ptr(), &mut flags, 0b100),
                0
            );
            assert_eq!(flags, 0b1);
            assert_eq!(
                cf_util_get_flag(item("F 3\n").as_ptr(), &mut flags, 0b100),
                -1
            );
            assert_eq!(flags, 0b1);
        }
    }

    #[test]
    fn port_and_service() {
        // SAFETY: valid trees and out-pointers.
        unsafe {
            assert_eq!(
                cf_util_get_port_number(item("Port 25826\n").as_ptr()),
                25826
            );
            assert_eq!(cf_util_get_port_number(item("Port 80.6\n").as_ptr()), 81);
            assert_eq!(
                cf_util_get_port_number(item("Port \"8080\"\n").as_ptr()),
                8080
            );
            assert_eq!(cf_util_get_port_number(item("Port 0\n").as_ptr()), -1);
            assert_eq!(cf_util_get_port_number(item("Port 70000\n").as_ptr()), -1);
            assert_eq!(cf_util_get_port_number(item("Port true\n").as_ptr()), -1);
            assert_eq!(
                cf_util_get_port_number(item("Port \"no-such-service-xyz\"\n").as_ptr()),
                -1
            );
            let mut s: *mut c_char = ptr::null_mut();
            assert_eq!(
                cf_util_get_service(item("Port 25826\n").as_ptr(), &mut s),
                0
            );
            assert_eq!(take(s), "25826");
            let mut s: *mut c_char = ptr::null_mut();
            assert_eq!(
                cf_util_get_service(item("Port \"https\"\n").as_ptr(), &mut s),
                0
            );
            assert_eq!(take(s), "https");
            let mut s: *mut c_char = ptr::null_mut();
            assert_eq!(cf_util_get_service(item("Port 0\n").as_ptr(), &mut s), -1);
            assert_eq!(cf_util_get_service(item("Port a b\n").as_ptr(), &mut s), -1);
            assert_eq!(cf_util_get_service(item("Port on\n").as_ptr(), &mut s), -1);
            assert!(s.is_null());
        }
    }

    #[test]
    fn cdtime() {
        // SAFETY: valid trees and out-pointers.
        unsafe {
            let mut t: cdtime_t = 0;
            assert_eq!(cf_util_get_cdtime(item("I 1.5\n").as_ptr(), &mut t), 0);
            assert_eq!(t, 3 << 29);
            assert_eq!(cf_util_get_cdtime(item("I -1\n").as_ptr(), &mut t), -1);
            assert_eq!(cf_util_get_cdtime(item("I \"1\"\n").as_ptr(), &mut t), -1);
            assert_eq!(t, 3 << 29);
        }
    }

    #[test]
    fn global_options_through_c() {
        let _rt = crate::runtime::testing::scoped(crate::runtime::Runtime::new());
        // SAFETY: valid C strings.
        unsafe {
            assert_eq!(cf_get_default_interval(), 10 << 30);
            assert_eq!(global_option_get_long(c"ReadThreads".as_ptr(), 1), 5);
            assert_eq!(
                global_option_get_long(c"WriteQueueLimitHigh".as_ptr(), 77),
                77
            );
            assert!(global_option_get(c"Hostname".as_ptr()).is_null());
            assert!(global_option_get(c"NoSuch".as_ptr()).is_null());
            assert_eq!(
                CStr::from_ptr(global_option_get(c"FQDNLookup".as_ptr()))
                    .to_str()
                    .unwrap(),
                "true"
            );
            assert_eq!(
                global_option_set(c"Interval".as_ptr(), c"2.5".as_ptr(), false),
                0
            );
            assert_eq!(cf_get_default_interval(), 5 << 29);
            assert_eq!(global_option_get_time(c"Interval".as_ptr(), 1), 5 << 29);
            assert_eq!(global_option_get_time(c"Hostname".as_ptr(), 9), 9);
            let host = CString::new("box").unwrap();
            assert_eq!(
                global_option_set(c"hostname".as_ptr(), host.as_ptr(), false),
                0
            );
            assert_eq!(
                CStr::from_ptr(global_option_get(c"Hostname".as_ptr()))
                    .to_str()
                    .unwrap(),
                "box"
            );
            assert_eq!(
                global_option_set(c"Bogus".as_ptr(), c"1".as_ptr(), false),
                -1
            );
            assert_eq!(
                global_option_set(c"Timeout".as_ptr(), c"1".as_ptr(), false),
                -1
            );
            assert_eq!(
                global_option_set(c"WriteQueueLimitHigh".as_ptr(), c"0x10".as_ptr(), false),
                -1
            );
            assert_eq!(
                global_option_set(c"WriteQueueLimitHigh".as_ptr(), c"100".as_ptr(), false),
                0
            );
            assert_eq!(
                global_option_get_long(c"WriteQueueLimitHigh".as_ptr(), 0),
                100
            );
            assert_eq!(
                global_option_set(c"Interval".as_ptr(), ptr::null(), false),
                0
            );
            assert_eq!(cf_get_default_interval(), 10 << 30);
        }
    }
}
