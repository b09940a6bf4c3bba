//! Threshold table exports (`utils_threshold.h`). collectd's `threshold`
//! plugin creates and fills `threshold_tree` itself (under `threshold_lock`);
//! the daemon owns the two globals and the lookups other plugins use.

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use rcollectd_plugin::sys::{c_avl_tree_t, threshold_t, value_list_t, DATA_MAX_NAME_LEN};

use crate::abi::avl::c_avl_get;
use crate::abi::common::format_name;

/// The threshold plugin's table: keys are identifiers as `format_name` builds them.
#[no_mangle]
pub static mut threshold_tree: *mut c_avl_tree_t = ptr::null_mut();

/// Guards `threshold_tree`, as in collectd.
#[no_mangle]
pub static mut threshold_lock: libc::pthread_mutex_t = libc::PTHREAD_MUTEX_INITIALIZER;

const EMPTY: &[u8; 1] = b"\0";

fn or_empty(p: *const c_char) -> *const c_char {
    if p.is_null() {
        EMPTY.as_ptr().cast()
    } else {
        p
    }
}

/// `threshold_get`: the entry for exactly this identifier (NULL parts = empty).
///
/// # Safety
/// Non-null arguments must be NUL-terminated strings; the caller holds
/// `threshold_lock` as collectd's callers do.
#[no_mangle]
pub unsafe extern "C" fn threshold_get(
    hostname: *const c_char,
    plugin: *const c_char,
    plugin_instance: *const c_char,
    type_: *const c_char,
    type_instance: *const c_char,
) -> *mut threshold_t {
    // SAFETY: reading the pointer value of the exported global.
    let tree = unsafe { threshold_tree };
    if tree.is_null() {
        return ptr::null_mut();
    }
    let mut name = [0 as c_char; 6 * DATA_MAX_NAME_LEN as usize];
    // SAFETY: `name` is a writable buffer of the given length; the parts are
    // valid C strings (NULL host/plugin/type become "", as collectd does).
    let status = unsafe {
        format_name(
            name.as_mut_ptr(),
            name.len() as c_int,
            or_empty(hostname),
            or_empty(plugin),
            plugin_instance,
            or_empty(type_),
            type_instance,
        )
    };
    if status != 0 {
        return ptr::null_mut();
    }
    let mut found: *mut c_void = ptr::null_mut();
    // SAFETY: the tree was created by c_avl_create with a string comparator.
    if unsafe { c_avl_get(tree, name.as_ptr().cast(), &mut found) } == 0 {
        found.cast()
    } else {
        ptr::null_mut()
    }
}

/// `threshold_search`: the most specific threshold for a value list, trying
/// collectd's twelve patterns from full identifier down to type only.
///
/// # Safety
/// `vl` must be NULL or a valid value list; caller holds `threshold_lock`.
#[no_mangle]
pub unsafe extern "C" fn threshold_search(vl: *const value_list_t) -> *mut threshold_t {
    if vl.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: valid per the contract.
    let vl = unsafe { &*vl };
    let host = vl.host.as_ptr();
    let plugin = vl.plugin.as_ptr();
    let pi = vl.plugin_instance.as_ptr();
    let ty = vl.type_.as_ptr();
    let ti = vl.type_instance.as_ptr();
    let none = ptr::null();
    let empty: *const c_char = EMPTY.as_ptr().cast();
    let patterns = [
        (host, plugin, pi, ti),
        (host, plugin, pi, none),
        (host, plugin, none, ti),
        (host, plugin, none, none),
        (host, empty, none, ti),
        (host, empty, none, none),
        (empty, plugin, pi, ti),
        (empty, plugin, pi, none),
        (empty, plugin, none, ti),
        (empty, plugin, none, none),
        (empty, empty, none, ti),
        (empty, empty, none, none),
    ];
    for (h, p, pinst, tinst) in patterns {
        // SAFETY: all pointers are NUL-terminated fields of `vl` or constants.
        let th = unsafe { threshold_get(h, p, pinst, ty, tinst) };
        if !th.is_null() {
            return th;
        }
    }
    ptr::null_mut()
}

/// `ut_search_threshold`: copies the matching threshold (with `next` cleared).
///
/// # Safety
/// `vl` and `ret_threshold` must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn ut_search_threshold(
    vl: *const value_list_t,
    ret_threshold: *mut threshold_t,
) -> c_int {
    if vl.is_null() || ret_threshold.is_null() {
        return libc::EINVAL;
    }
    // SAFETY: the exported mutex is statically initialised and never moved.
    unsafe { libc::pthread_mutex_lock(&raw mut threshold_lock) };
    // SAFETY: valid value list; the lock is held.
    let th = unsafe { threshold_search(vl) };
    let status = if th.is_null() {
        libc::ENOENT
    } else {
        // SAFETY: `th` is a live entry under the lock; the destination is valid.
        unsafe {
            ptr::copy_nonoverlapping(th, ret_threshold, 1);
            (*ret_threshold).next = ptr::null_mut();
        }
        0
    };
    // SAFETY: unlocking the mutex locked above.
    unsafe { libc::pthread_mutex_unlock(&raw mut threshold_lock) };
    status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::avl::{c_avl_create, c_avl_insert};

    unsafe extern "C" fn cmp(a: *const c_void, b: *const c_void) -> c_int {
        // SAFETY: keys are C strings.
        unsafe { libc::strcmp(a.cast(), b.cast()) }
    }

    fn field(s: &str) -> [c_char; DATA_MAX_NAME_LEN as usize] {
        let mut f = [0 as c_char; DATA_MAX_NAME_LEN as usize];
        for (i, b) in s.bytes().enumerate() {
            f[i] = b as c_char;
        }
        f
    }

    #[test]
    fn search_falls_back_from_full_identifier_to_type() {
        // SAFETY: the test owns the tree and its entries for its duration.
        unsafe {
            let tree = c_avl_create(Some(cmp));
            let mut by_type: threshold_t = std::mem::zeroed();
            by_type.warning_max = 10.0;
            let mut by_plugin: threshold_t = std::mem::zeroed();
            by_plugin.warning_max = 20.0;
            c_avl_insert(
                tree,
                c"//load".as_ptr().cast_mut().cast(),
                (&raw mut by_type).cast(),
            );
            c_avl_insert(
                tree,
                c"/cpu/percent".as_ptr().cast_mut().cast(),
                (&raw mut by_plugin).cast(),
            );
            threshold_tree = tree;

            let mut vl = value_list_t {
                host: field("h1"),
                plugin: field("load"),
                type_: field("load"),
                ..Default::default()
            };
            let mut out: threshold_t = std::mem::zeroed();
            assert_eq!(ut_search_threshold(&vl, &mut out), 0);
            assert_eq!(out.warning_max, 10.0);
            assert!(out.next.is_null());

            vl.plugin = field("cpu");
            vl.plugin_instance = field("0");
            vl.type_ = field("percent");
            vl.type_instance = field("idle");
            assert_eq!(ut_search_threshold(&vl, &mut out), 0);
            assert_eq!(out.warning_max, 20.0);

            vl.type_ = field("memory");
            assert_eq!(ut_search_threshold(&vl, &mut out), libc::ENOENT);
            assert_eq!(ut_search_threshold(ptr::null(), &mut out), libc::EINVAL);
            threshold_tree = ptr::null_mut();
        }
    }
}
