//! `plugin_notification_meta_*`: the meta data list of a `notification_t`,
//! allocated with the C allocator because plugins free and copy it too.

use std::ffi::{c_char, c_int, CStr};

use rcollectd_plugin::sys::{notification_meta_t, notification_t};

use crate::abi::ffi::ffi_guard as guard;

pub const NM_STRING: u32 = 0;
pub const NM_SIGNED: u32 = 1;
pub const NM_UNSIGNED: u32 = 2;
pub const NM_DOUBLE: u32 = 3;
pub const NM_BOOLEAN: u32 = 4;

/// Appends one meta entry (allocated with the C allocator, freed by
/// `plugin_notification_meta_free`).
///
/// # Safety
/// `n` valid, `name` valid C string; `set` fills the value.
unsafe fn meta_add(
    n: *mut notification_t,
    name: *const c_char,
    type_: u32,
    set: impl FnOnce(&mut notification_meta_t) -> bool,
) -> c_int {
    if n.is_null() || name.is_null() {
        log::error!("plugin_notification_meta_add: A pointer is NULL!");
        return -1;
    }
    // SAFETY: calloc of a POD struct.
    let meta = unsafe { libc::calloc(1, std::mem::size_of::<notification_meta_t>()) }
        .cast::<notification_meta_t>();
    if meta.is_null() {
        return -1;
    }
    // SAFETY: freshly allocated, zeroed, exclusively ours.
    let m = unsafe { &mut *meta };
    // SAFETY: `name` is a valid C string.
    let bytes = unsafe { CStr::from_ptr(name) }.to_bytes();
    let len = bytes.len().min(m.name.len() - 1);
    for (d, s) in m.name.iter_mut().zip(bytes[..len].iter()) {
        *d = *s as c_char;
    }
    m.type_ = type_;
    if !set(m) {
        // SAFETY: allocated above.
        unsafe { libc::free(meta.cast()) };
        return -1;
    }
    // SAFETY: `n` valid; walk to the tail of its list.
    unsafe {
        let mut tail = &mut (*n).meta;
        while !tail.is_null() {
            tail = &mut (**tail).next;
        }
        *tail = meta;
    }
    0
}

/// `plugin_notification_meta_add_string`.
///
/// # Safety
/// Valid notification and C strings.
#[no_mangle]
pub unsafe extern "C" fn plugin_notification_meta_add_string(
    n: *mut notification_t,
    name: *const c_char,
    value: *const c_char,
) -> c_int {
    guard(-1, || {
        if value.is_null() {
            log::error!("plugin_notification_meta_add: A pointer is NULL!");
            return -1;
        }
        // SAFETY: forwarded contract; strdup of a valid string.
        unsafe {
            meta_add(n, name, NM_STRING, |m| {
                let s = libc::strdup(value);
                m.nm_value.nm_string = s;
                !s.is_null()
            })
        }
    })
}

/// `plugin_notification_meta_add_signed_int`.
///
/// # Safety
/// Valid notification and name.
#[no_mangle]
pub unsafe extern "C" fn plugin_notification_meta_add_signed_int(
    n: *mut notification_t,
    name: *const c_char,
    value: i64,
) -> c_int {
    // SAFETY: forwarded contract.
    guard(-1, || unsafe {
        meta_add(n, name, NM_SIGNED, |m| {
            m.nm_value.nm_signed_int = value;
            true
        })
    })
}

/// `plugin_notification_meta_add_unsigned_int`.
///
/// # Safety
/// Valid notification and name.
#[no_mangle]
pub unsafe extern "C" fn plugin_notification_meta_add_unsigned_int(
    n: *mut notification_t,
    name: *const c_char,
    value: u64,
) -> c_int {
    // SAFETY: forwarded contract.
    guard(-1, || unsafe {
        meta_add(n, name, NM_UNSIGNED, |m| {
            m.nm_value.nm_unsigned_int = value;
            true
        })
    })
}

/// `plugin_notification_meta_add_double`.
///
/// # Safety
/// Valid notification and name.
#[no_mangle]
pub unsafe extern "C" fn plugin_notification_meta_add_double(
    n: *mut notification_t,
    name: *const c_char,
    value: f64,
) -> c_int {
    // SAFETY: forwarded contract.
    guard(-1, || unsafe {
        meta_add(n, name, NM_DOUBLE, |m| {
            m.nm_value.nm_double = value;
            true
        })
    })
}

/// `plugin_notification_meta_add_boolean`.
///
/// # Safety
/// Valid notification and name.
#[no_mangle]
pub unsafe extern "C" fn plugin_notification_meta_add_boolean(
    n: *mut notification_t,
    name: *const c_char,
    value: bool,
) -> c_int {
    // SAFETY: forwarded contract.
    guard(-1, || unsafe {
        meta_add(n, name, NM_BOOLEAN, |m| {
            m.nm_value.nm_boolean = value;
            true
        })
    })
}

/// `plugin_notification_meta_copy`: appends copies of `src`'s meta to `dst`.
///
/// # Safety
/// Both notifications valid.
#[no_mangle]
pub unsafe extern "C" fn plugin_notification_meta_copy(
    dst: *mut notification_t,
    src: *const notification_t,
) -> c_int {
    guard(-1, || {
        if dst.is_null() || src.is_null() {
            return -1;
        }
        // SAFETY: walking a valid meta list and copying each entry.
        unsafe {
            let mut m = (*src).meta;
            while !m.is_null() {
                let e = &*m;
                let name = e.name.as_ptr();
                match e.type_ {
                    NM_STRING => {
                        plugin_notification_meta_add_string(dst, name, e.nm_value.nm_string)
                    }
                    NM_SIGNED => {
                        plugin_notification_meta_add_signed_int(dst, name, e.nm_value.nm_signed_int)
                    }
                    NM_UNSIGNED => plugin_notification_meta_add_unsigned_int(
                        dst,
                        name,
                        e.nm_value.nm_unsigned_int,
                    ),
                    NM_DOUBLE => {
                        plugin_notification_meta_add_double(dst, name, e.nm_value.nm_double)
                    }
                    NM_BOOLEAN => {
                        plugin_notification_meta_add_boolean(dst, name, e.nm_value.nm_boolean)
                    }
                    _ => 0,
                };
                m = e.next;
            }
        }
        0
    })
}

/// `plugin_notification_meta_free`: frees a whole meta list.
///
/// # Safety
/// `n` must be NULL or a list built by the functions above.
#[no_mangle]
pub unsafe extern "C" fn plugin_notification_meta_free(n: *mut notification_meta_t) -> c_int {
    guard(-1, || {
        if n.is_null() {
            log::error!("plugin_notification_meta_free: n == NULL!");
            return -1;
        }
        let mut cur = n;
        while !cur.is_null() {
            // SAFETY: entries were allocated with calloc/strdup by meta_add.
            unsafe {
                let next = (*cur).next;
                if (*cur).type_ == NM_STRING && !(*cur).nm_value.nm_string.is_null() {
                    libc::free((*cur).nm_value.nm_string.cast_mut().cast());
                }
                libc::free(cur.cast());
                cur = next;
            }
        }
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_meta_list_roundtrip() {
        let mut n = notification_t::default();
        let name = c"k1";
        let val = c"v";
        // SAFETY: valid notification and strings.
        unsafe {
            assert_eq!(
                plugin_notification_meta_add_string(&mut n, name.as_ptr(), val.as_ptr()),
                0
            );
            assert_eq!(
                plugin_notification_meta_add_signed_int(&mut n, c"k2".as_ptr(), -5),
                0
            );
            assert_eq!(
                plugin_notification_meta_add_boolean(&mut n, c"k3".as_ptr(), true),
                0
            );
            let mut copy = notification_t::default();
            assert_eq!(plugin_notification_meta_copy(&mut copy, &n), 0);
            let m1 = &*copy.meta;
            assert_eq!(CStr::from_ptr(m1.nm_value.nm_string).to_str().unwrap(), "v");
            let m2 = &*m1.next;
            assert_eq!(m2.nm_value.nm_signed_int, -5);
            let m3 = &*m2.next;
            assert!(m3.nm_value.nm_boolean);
            assert!(m3.next.is_null());
            assert_eq!(plugin_notification_meta_free(n.meta), 0);
            assert_eq!(plugin_notification_meta_free(copy.meta), 0);
        }
    }
}
