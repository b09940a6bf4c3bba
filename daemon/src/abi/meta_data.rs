//! `meta_data_*` exports. Every function here has an `op_*` twin working on
//! any [`MetaTable`]: a locked C object here, the cache entry's [`MetaData`]
//! for the `uc_meta_data_*` exports. Strings and arrays handed to C are
//! `malloc`ed so the caller's `free` works.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

use rcollectd_plugin::sys::meta_data_t;

use crate::abi::ffi::{ffi_guard, malloc_c_str};
use crate::meta::{self, MetaRef, MetaTable, MetaValue};

/// Reads a C key; `None` for null.
///
/// # Safety
/// `key` must be null or a NUL-terminated string.
unsafe fn key_of<'a>(key: *const c_char) -> Option<&'a CStr> {
    if key.is_null() {
        None
    } else {
        // SAFETY: non-null NUL-terminated string per the contract.
        Some(unsafe { CStr::from_ptr(key) })
    }
}

/// `meta_data_exists` on locked contents.
///
/// # Safety
/// `key` must be null or a NUL-terminated string.
pub(crate) unsafe fn op_exists<M: MetaTable + ?Sized>(md: &M, key: *const c_char) -> c_int {
    // SAFETY: forwarded caller contract.
    match unsafe { key_of(key) } {
        None => -libc::EINVAL,
        Some(k) => c_int::from(md.lookup(k.to_bytes()).is_some()),
    }
}

/// `meta_data_type` on locked contents (0 when absent).
///
/// # Safety
/// `key` must be null or a NUL-terminated string.
pub(crate) unsafe fn op_type<M: MetaTable + ?Sized>(md: &M, key: *const c_char) -> c_int {
    // SAFETY: forwarded caller contract.
    match unsafe { key_of(key) } {
        None => -libc::EINVAL,
        Some(k) => md.lookup(k.to_bytes()).map_or(0, |(_, v)| v.type_code()),
    }
}

/// `meta_data_delete` on locked contents.
///
/// # Safety
/// `key` must be null or a NUL-terminated string.
pub(crate) unsafe fn op_delete<M: MetaTable + ?Sized>(md: &mut M, key: *const c_char) -> c_int {
    // SAFETY: forwarded caller contract.
    match unsafe { key_of(key) } {
        None => -libc::EINVAL,
        Some(k) if md.remove(k.to_bytes()) => 0,
        Some(_) => -libc::ENOENT,
    }
}

/// `meta_data_toc` on locked contents: a `calloc`ed array of `strdup`ed keys;
/// `*toc` is left untouched when there are none.
///
/// # Safety
/// `toc` must be null or writable.
pub(crate) unsafe fn op_toc<M: MetaTable + ?Sized>(md: &M, toc: *mut *mut *mut c_char) -> c_int {
    if toc.is_null() {
        return -libc::EINVAL;
    }
    let keys = md.key_list();
    let count = keys.len();
    if count == 0 {
        return 0;
    }
    // SAFETY: calloc with a non-zero count; result checked below.
    let arr =
        unsafe { libc::calloc(count, std::mem::size_of::<*mut c_char>()) }.cast::<*mut c_char>();
    if arr.is_null() {
        return -libc::ENOMEM;
    }
    for (i, k) in keys.iter().enumerate() {
        // SAFETY: arr has `count` slots and i < count.
        unsafe { *arr.add(i) = malloc_c_str(k.to_bytes()) };
    }
    // SAFETY: toc is non-null and writable per the contract.
    unsafe { *toc = arr };
    c_int::try_from(count).unwrap_or(c_int::MAX)
}

/// Inserts `value` under `key` (null key: -EINVAL).
///
/// # Safety
/// `key` must be null or a NUL-terminated string.
pub(crate) unsafe fn op_add<M: MetaTable + ?Sized>(
    md: &mut M,
    key: *const c_char,
    value: MetaValue,
) -> c_int {
    // SAFETY: forwarded caller contract.
    match unsafe { key_of(key) } {
        None => -libc::EINVAL,
        Some(k) => {
            md.insert(k, value);
            0
        }
    }
}

/// `meta_data_add_string` on locked contents.
///
/// # Safety
/// `key` and `value` must be null or NUL-terminated strings.
pub(crate) unsafe fn op_add_string<M: MetaTable + ?Sized>(
    md: &mut M,
    key: *const c_char,
    value: *const c_char,
) -> c_int {
    if value.is_null() {
        return -libc::EINVAL;
    }
    // SAFETY: value is a non-null NUL-terminated string per the contract.
    let v = unsafe { CStr::from_ptr(value) }.to_owned();
    // SAFETY: forwarded caller contract.
    unsafe { op_add(md, key, MetaValue::String(v)) }
}

/// Looks `key` up for a typed getter: the value, or the errno-style status.
///
/// # Safety
/// `key` must be null or a NUL-terminated string.
unsafe fn lookup<'m, M: MetaTable + ?Sized>(
    md: &'m M,
    key: *const c_char,
    out_is_null: bool,
) -> Result<(&'m CStr, MetaRef<'m>), c_int> {
    // SAFETY: forwarded caller contract.
    let k = unsafe { key_of(key) }.ok_or(-libc::EINVAL)?;
    if out_is_null {
        return Err(-libc::EINVAL);
    }
    md.lookup(k.to_bytes()).ok_or(-libc::ENOENT)
}

/// collectd's error for a getter of the wrong type; names the stored key.
fn mismatch(func: &str, stored: &CStr) -> c_int {
    log::error!(
        "{func}: Type mismatch for key `{}'",
        stored.to_string_lossy()
    );
    -libc::ENOENT
}

/// `meta_data_get_string` on locked contents (`*value` is `malloc`ed).
///
/// # Safety
/// `key` null or a C string; `value` null or writable.
pub(crate) unsafe fn op_get_string<M: MetaTable + ?Sized>(
    md: &M,
    key: *const c_char,
    value: *mut *mut c_char,
) -> c_int {
    // SAFETY: forwarded caller contract.
    match unsafe { lookup(md, key, value.is_null()) } {
        Err(e) => e,
        Ok((_, MetaRef::String(s))) => {
            let p = malloc_c_str(s.to_bytes());
            if p.is_null() {
                return -libc::ENOMEM;
            }
            // SAFETY: value is non-null and writable.
            unsafe { *value = p };
            0
        }
        Ok((stored, _)) => mismatch("meta_data_get_string", stored),
    }
}

macro_rules! typed_getter {
    ($op:ident, $ty:ty, $variant:ident, $name:literal) => {
        /// Typed getter on locked contents (`-ENOENT` on absence or mismatch).
        ///
        /// # Safety
        /// `key` null or a C string; `value` null or writable.
        pub(crate) unsafe fn $op<M: MetaTable + ?Sized>(
            md: &M,
            key: *const c_char,
            value: *mut $ty,
        ) -> c_int {
            // SAFETY: forwarded caller contract.
            match unsafe { lookup(md, key, value.is_null()) } {
                Err(e) => e,
                Ok((_, MetaRef::$variant(v))) => {
                    // SAFETY: value is non-null and writable.
                    unsafe { *value = v };
                    0
                }
                Ok((stored, _)) => mismatch($name, stored),
            }
        }
    };
}

typed_getter!(
    op_get_signed_int,
    i64,
    SignedInt,
    "meta_data_get_signed_int"
);
typed_getter!(
    op_get_unsigned_int,
    u64,
    UnsignedInt,
    "meta_data_get_unsigned_int"
);
typed_getter!(op_get_double, f64, Double, "meta_data_get_double");
typed_getter!(op_get_boolean, bool, Boolean, "meta_data_get_boolean");

/// `meta_data_as_string` on locked contents (`*value` is `malloc`ed).
///
/// # Safety
/// `key` null or a C string; `value` null or writable.
pub(crate) unsafe fn op_as_string<M: MetaTable + ?Sized>(
    md: &M,
    key: *const c_char,
    value: *mut *mut c_char,
) -> c_int {
    // SAFETY: forwarded caller contract.
    match unsafe { lookup(md, key, value.is_null()) } {
        Err(e) => e,
        Ok((_, v)) => {
            let Some(text) = v.to_text() else {
                // SAFETY: lookup succeeded, so key is a valid C string.
                let k = unsafe { CStr::from_ptr(key) }.to_string_lossy();
                log::error!(
                    "meta_data_as_string: unknown type {} for key `{k}'",
                    v.type_code()
                );
                return -libc::ENOENT;
            };
            let p = malloc_c_str(text.as_bytes());
            if p.is_null() {
                return -libc::ENOMEM;
            }
            // SAFETY: value is non-null and writable.
            unsafe { *value = p };
            0
        }
    }
}

/// Runs the read-only `op` on the contents of `md`, or returns -EINVAL for null.
///
/// # Safety
/// `md` null or a live meta data pointer.
unsafe fn on_md_ref(md: *mut meta_data_t, op: impl FnOnce(&meta::raw::Locked) -> c_int) -> c_int {
    ffi_guard(-libc::EINVAL, || {
        // SAFETY: forwarded caller contract.
        unsafe { meta::with_raw_ref(md, op) }.unwrap_or(-libc::EINVAL)
    })
}

/// Runs `op` on the contents of `md`, or returns -EINVAL for null.
///
/// # Safety
/// `md` null or a live meta data pointer.
unsafe fn on_md(md: *mut meta_data_t, op: impl FnOnce(&mut meta::raw::Locked) -> c_int) -> c_int {
    ffi_guard(-libc::EINVAL, || {
        // SAFETY: forwarded caller contract.
        unsafe { meta::with_raw(md, op) }.unwrap_or(-libc::EINVAL)
    })
}

/// Creates an empty meta data object (free with `meta_data_destroy`).
#[no_mangle]
pub extern "C" fn meta_data_create() -> *mut meta_data_t {
    ffi_guard(std::ptr::null_mut(), meta::create_raw)
}

/// Deep copy of `orig`; null for null.
///
/// # Safety
/// `orig` null or a live meta data pointer.
#[no_mangle]
pub unsafe extern "C" fn meta_data_clone(orig: *mut meta_data_t) -> *mut meta_data_t {
    // SAFETY: forwarded caller contract.
    ffi_guard(std::ptr::null_mut(), || unsafe { meta::clone_raw(orig) })
}

/// Merges `orig` into `*dest` (cloning when `*dest` is null); 0 always, as collectd.
///
/// # Safety
/// `dest` null or writable holding null or a live pointer; `orig` null or live.
#[no_mangle]
pub unsafe extern "C" fn meta_data_clone_merge(
    dest: *mut *mut meta_data_t,
    orig: *mut meta_data_t,
) -> c_int {
    ffi_guard(-libc::EINVAL, || {
        if orig.is_null() {
            return 0;
        }
        if dest.is_null() {
            return -libc::EINVAL;
        }
        // SAFETY: dest is non-null and readable/writable per the contract.
        unsafe {
            if (*dest).is_null() {
                *dest = meta::clone_raw(orig);
                return 0;
            }
            if *dest == orig {
                return 0;
            }
            let Some(src) = meta::to_owned(orig) else {
                return 0;
            };
            meta::with_raw(*dest, |d| {
                for (k, v) in src.iter() {
                    d.insert(k, v.clone());
                }
            });
        }
        0
    })
}

/// Frees a meta data object; null is ignored.
///
/// # Safety
/// `md` null or a live meta data pointer, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn meta_data_destroy(md: *mut meta_data_t) {
    // SAFETY: forwarded caller contract.
    ffi_guard((), || unsafe { meta::destroy_raw(md) })
}

/// 1 if `key` exists, 0 if not, -EINVAL on null arguments.
///
/// # Safety
/// `md` null or live; `key` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn meta_data_exists(md: *mut meta_data_t, key: *const c_char) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md_ref(md, |m| op_exists(m, key)) }
}

/// The `MD_TYPE_*` of `key`, 0 if absent, -EINVAL on null arguments.
///
/// # Safety
/// `md` null or live; `key` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn meta_data_type(md: *mut meta_data_t, key: *const c_char) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md_ref(md, |m| op_type(m, key)) }
}

/// Number of keys; `*toc` receives a malloc'ed array of malloc'ed keys when > 0.
///
/// # Safety
/// `md` null or live; `toc` null or writable.
#[no_mangle]
pub unsafe extern "C" fn meta_data_toc(md: *mut meta_data_t, toc: *mut *mut *mut c_char) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md_ref(md, |m| op_toc(m, toc)) }
}

/// Removes `key`: 0, -ENOENT if absent, -EINVAL on null arguments.
///
/// # Safety
/// `md` null or live; `key` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn meta_data_delete(md: *mut meta_data_t, key: *const c_char) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md(md, |m| op_delete(m, key)) }
}

/// Sets a string value (copied).
///
/// # Safety
/// `md` null or live; `key`, `value` null or C strings.
#[no_mangle]
pub unsafe extern "C" fn meta_data_add_string(
    md: *mut meta_data_t,
    key: *const c_char,
    value: *const c_char,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md(md, |m| op_add_string(m, key, value)) }
}

/// Sets a signed integer value.
///
/// # Safety
/// `md` null or live; `key` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn meta_data_add_signed_int(
    md: *mut meta_data_t,
    key: *const c_char,
    value: i64,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md(md, |m| op_add(m, key, MetaValue::SignedInt(value))) }
}

/// Sets an unsigned integer value.
///
/// # Safety
/// `md` null or live; `key` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn meta_data_add_unsigned_int(
    md: *mut meta_data_t,
    key: *const c_char,
    value: u64,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md(md, |m| op_add(m, key, MetaValue::UnsignedInt(value))) }
}

/// Sets a double value.
///
/// # Safety
/// `md` null or live; `key` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn meta_data_add_double(
    md: *mut meta_data_t,
    key: *const c_char,
    value: f64,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md(md, |m| op_add(m, key, MetaValue::Double(value))) }
}

/// Sets a boolean value.
///
/// # Safety
/// `md` null or live; `key` null or a C string.
#[no_mangle]
pub unsafe extern "C" fn meta_data_add_boolean(
    md: *mut meta_data_t,
    key: *const c_char,
    value: bool,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md(md, |m| op_add(m, key, MetaValue::Boolean(value))) }
}

/// Copies a string value into a malloc'ed `*value` (caller frees).
///
/// # Safety
/// `md` null or live; `key` null or a C string; `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn meta_data_get_string(
    md: *mut meta_data_t,
    key: *const c_char,
    value: *mut *mut c_char,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md_ref(md, |m| op_get_string(m, key, value)) }
}

/// Reads a signed integer value.
///
/// # Safety
/// `md` null or live; `key` null or a C string; `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn meta_data_get_signed_int(
    md: *mut meta_data_t,
    key: *const c_char,
    value: *mut i64,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md_ref(md, |m| op_get_signed_int(m, key, value)) }
}

/// Reads an unsigned integer value.
///
/// # Safety
/// `md` null or live; `key` null or a C string; `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn meta_data_get_unsigned_int(
    md: *mut meta_data_t,
    key: *const c_char,
    value: *mut u64,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md_ref(md, |m| op_get_unsigned_int(m, key, value)) }
}

/// Reads a double value.
///
/// # Safety
/// `md` null or live; `key` null or a C string; `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn meta_data_get_double(
    md: *mut meta_data_t,
    key: *const c_char,
    value: *mut f64,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md_ref(md, |m| op_get_double(m, key, value)) }
}

/// Reads a boolean value.
///
/// # Safety
/// `md` null or live; `key` null or a C string; `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn meta_data_get_boolean(
    md: *mut meta_data_t,
    key: *const c_char,
    value: *mut bool,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md_ref(md, |m| op_get_boolean(m, key, value)) }
}

/// Any value as text in a malloc'ed `*value` (doubles `%.15g`, booleans
/// `true`/`false`).
///
/// # Safety
/// `md` null or live; `key` null or a C string; `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn meta_data_as_string(
    md: *mut meta_data_t,
    key: *const c_char,
    value: *mut *mut c_char,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { on_md_ref(md, |m| op_as_string(m, key, value)) }
}

/// Frees a malloc'ed C string (test helper mirroring the plugin's `free`).
#[cfg(test)]
pub(crate) fn take_c_string(p: *mut c_char) -> std::ffi::CString {
    assert!(!p.is_null());
    // SAFETY: p is a malloc'ed NUL-terminated string handed to us.
    let s = unsafe { CStr::from_ptr(p) }.to_owned();
    // SAFETY: p was allocated with malloc.
    unsafe { libc::free(p.cast()) };
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::{null, null_mut};

    #[test]
    fn exported_round_trip() {
        let md = meta_data_create();
        // SAFETY: md is live until destroyed at the end; all strings are C literals.
        unsafe {
            assert_eq!(
                meta_data_add_string(md, c"s".as_ptr(), c"hello".as_ptr()),
                0
            );
            assert_eq!(meta_data_add_signed_int(md, c"i".as_ptr(), -3), 0);
            assert_eq!(meta_data_add_unsigned_int(md, c"u".as_ptr(), 9), 0);
            assert_eq!(meta_data_add_double(md, c"d".as_ptr(), 2.5), 0);
            assert_eq!(meta_data_add_boolean(md, c"b".as_ptr(), true), 0);
            assert_eq!(meta_data_exists(md, c"S".as_ptr()), 1);
            assert_eq!(meta_data_exists(md, c"zz".as_ptr()), 0);
            assert_eq!(meta_data_type(md, c"d".as_ptr()), meta::MD_TYPE_DOUBLE);
            assert_eq!(meta_data_type(md, c"zz".as_ptr()), 0);

            let mut s = null_mut();
            assert_eq!(meta_data_get_string(md, c"s".as_ptr(), &mut s), 0);
            assert_eq!(take_c_string(s).as_bytes(), b"hello");
            let mut i = 0i64;
            assert_eq!(meta_data_get_signed_int(md, c"i".as_ptr(), &mut i), 0);
            assert_eq!(i, -3);
            assert_eq!(
                meta_data_get_signed_int(md, c"u".as_ptr(), &mut i),
                -libc::ENOENT
            );
            let mut u = 0u64;
            assert_eq!(meta_data_get_unsigned_int(md, c"u".as_ptr(), &mut u), 0);
            assert_eq!(u, 9);
            let mut d = 0f64;
            assert_eq!(meta_data_get_double(md, c"d".as_ptr(), &mut d), 0);
            assert_eq!(d, 2.5);
            let mut b = false;
            assert_eq!(meta_data_get_boolean(md, c"b".as_ptr(), &mut b), 0);
            assert!(b);
            assert_eq!(meta_data_as_string(md, c"d".as_ptr(), &mut s), 0);
            assert_eq!(take_c_string(s).as_bytes(), b"2.5");
            assert_eq!(meta_data_as_string(md, c"b".as_ptr(), &mut s), 0);
            assert_eq!(take_c_string(s).as_bytes(), b"true");

            let mut toc: *mut *mut c_char = null_mut();
            assert_eq!(meta_data_toc(md, &mut toc), 5);
            let keys: Vec<_> = (0..5).map(|n| take_c_string(*toc.add(n))).collect();
            libc::free(toc.cast());
            let keys: Vec<_> = keys.iter().map(|k| k.to_str().unwrap()).collect();
            assert_eq!(keys, ["s", "i", "u", "d", "b"]);

            assert_eq!(meta_data_delete(md, c"I".as_ptr()), 0);
            assert_eq!(meta_data_delete(md, c"i".as_ptr()), -libc::ENOENT);

            let copy = meta_data_clone(md);
            let mut other = meta_data_create();
            assert_eq!(meta_data_add_signed_int(other, c"s".as_ptr(), 1), 0);
            assert_eq!(meta_data_clone_merge(&mut other, copy), 0);
            assert_eq!(meta_data_type(other, c"s".as_ptr()), meta::MD_TYPE_STRING);
            assert_eq!(meta_data_toc(other, &mut toc), 4);
            for n in 0..4 {
                take_c_string(*toc.add(n));
            }
            libc::free(toc.cast());
            let mut fresh: *mut meta_data_t = null_mut();
            assert_eq!(meta_data_clone_merge(&mut fresh, copy), 0);
            assert_eq!(meta_data_exists(fresh, c"b".as_ptr()), 1);
            meta_data_destroy(fresh);
            meta_data_destroy(other);
            meta_data_destroy(copy);
            meta_data_destroy(md);
        }
    }

    #[test]
    fn null_arguments_are_einval() {
        let md = meta_data_create();
        // SAFETY: md is live until destroyed; null pointers are the point of the test.
        unsafe {
            assert_eq!(meta_data_exists(null_mut(), c"k".as_ptr()), -libc::EINVAL);
            assert_eq!(meta_data_exists(md, null()), -libc::EINVAL);
            assert_eq!(
                meta_data_add_string(md, c"k".as_ptr(), null()),
                -libc::EINVAL
            );
            assert_eq!(
                meta_data_get_double(md, c"k".as_ptr(), null_mut()),
                -libc::EINVAL
            );
            assert_eq!(meta_data_toc(md, null_mut()), -libc::EINVAL);
            let mut toc: *mut *mut c_char = null_mut();
            assert_eq!(meta_data_toc(md, &mut toc), 0);
            assert!(toc.is_null());
            assert!(meta_data_clone(null_mut()).is_null());
            assert_eq!(meta_data_clone_merge(null_mut(), null_mut()), 0);
            meta_data_destroy(null_mut());
            meta_data_destroy(md);
        }
    }
}
