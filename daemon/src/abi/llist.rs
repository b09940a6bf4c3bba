//! `llist_*` / `llentry_*` exports (collectd's `utils_llist.h`). The entry
//! layout is public (plugins walk `e->next`), so this is a real intrusive
//! singly linked list of `malloc`ed `llentry_t`; the list head is opaque.

use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};

use rcollectd_plugin::sys::{llentry_t, llist_t};

use crate::abi::ffi::ffi_guard;

/// The object behind `llist_t *`.
struct List {
    head: *mut llentry_t,
    tail: *mut llentry_t,
    size: c_int,
}

/// Borrows the list behind a C pointer.
///
/// # Safety
/// `l` null or from `llist_create`, not destroyed.
unsafe fn list<'a>(l: *mut llist_t) -> Option<&'a mut List> {
    // SAFETY: per the contract.
    unsafe { l.cast::<List>().as_mut() }
}

/// Creates an empty list.
#[no_mangle]
pub extern "C" fn llist_create() -> *mut llist_t {
    ffi_guard(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(List {
            head: std::ptr::null_mut(),
            tail: std::ptr::null_mut(),
            size: 0,
        }))
        .cast()
    })
}

/// Frees the list and its entries (not keys or values); null is ignored.
///
/// # Safety
/// `l` null or live with well-formed entries; not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn llist_destroy(l: *mut llist_t) {
    ffi_guard((), || {
        if l.is_null() {
            return;
        }
        // SAFETY: l came from Box::into_raw in llist_create.
        let b = unsafe { Box::from_raw(l.cast::<List>()) };
        let mut e = b.head;
        // Bounded by the list length plus one for a well-formed list.
        let mut budget = i64::from(b.size).max(0) + 1;
        while !e.is_null() && budget > 0 {
            // SAFETY: e is a live entry of this list.
            let next = unsafe { (*e).next };
            // SAFETY: entries are malloc'ed (llentry_create).
            unsafe { libc::free(e.cast()) };
            e = next;
            budget -= 1;
        }
    })
}

/// Allocates an entry (`malloc`) holding `key` and `value`; null on failure.
#[no_mangle]
pub extern "C" fn llentry_create(key: *mut c_char, value: *mut c_void) -> *mut llentry_t {
    // SAFETY: malloc of one entry, checked for null before writing.
    let e = unsafe { libc::malloc(std::mem::size_of::<llentry_t>()) }.cast::<llentry_t>();
    if !e.is_null() {
        // SAFETY: e points to enough writable memory for one entry.
        unsafe {
            e.write(llentry_t {
                key,
                value,
                next: std::ptr::null_mut(),
            })
        };
    }
    e
}

/// Frees one entry (not its key or value).
///
/// # Safety
/// `e` null or from `llentry_create`, not in a list any more.
#[no_mangle]
pub unsafe extern "C" fn llentry_destroy(e: *mut llentry_t) {
    // SAFETY: per the contract, e is null or malloc'ed.
    unsafe { libc::free(e.cast()) };
}

/// Adds `e` at the end.
///
/// # Safety
/// `l` null or live; `e` null or a live entry in no list.
#[no_mangle]
pub unsafe extern "C" fn llist_append(l: *mut llist_t, e: *mut llentry_t) {
    // SAFETY: per the contract.
    let Some(l) = (unsafe { list(l) }) else {
        return;
    };
    if e.is_null() {
        return;
    }
    // SAFETY: e and the tail are live entries.
    unsafe {
        (*e).next = std::ptr::null_mut();
        if l.tail.is_null() {
            l.head = e;
        } else {
            (*l.tail).next = e;
        }
    }
    l.tail = e;
    l.size += 1;
}

/// Adds `e` at the front.
///
/// # Safety
/// `l` null or live; `e` null or a live entry in no list.
#[no_mangle]
pub unsafe extern "C" fn llist_prepend(l: *mut llist_t, e: *mut llentry_t) {
    // SAFETY: per the contract.
    let Some(l) = (unsafe { list(l) }) else {
        return;
    };
    if e.is_null() {
        return;
    }
    // SAFETY: e is a live entry.
    unsafe { (*e).next = l.head };
    l.head = e;
    if l.tail.is_null() {
        l.tail = e;
    }
    l.size += 1;
}

/// Unlinks `e` (it is not freed); entries not in the list are ignored.
///
/// # Safety
/// `l` null or live; `e` null or a live entry.
#[no_mangle]
pub unsafe extern "C" fn llist_remove(l: *mut llist_t, e: *mut llentry_t) {
    // SAFETY: per the contract.
    let Some(l) = (unsafe { list(l) }) else {
        return;
    };
    if e.is_null() {
        return;
    }
    // SAFETY: walking live entries of this list.
    unsafe {
        let mut prev: *mut llentry_t = std::ptr::null_mut();
        let mut cur = l.head;
        while !cur.is_null() && cur != e {
            prev = cur;
            cur = (*cur).next;
        }
        if cur.is_null() {
            return;
        }
        if prev.is_null() {
            l.head = (*e).next;
        } else {
            (*prev).next = (*e).next;
        }
        if l.tail == e {
            l.tail = prev;
        }
    }
    l.size -= 1;
}

/// Number of entries (0 for null).
///
/// # Safety
/// `l` null or live.
#[no_mangle]
pub unsafe extern "C" fn llist_size(l: *mut llist_t) -> c_int {
    // SAFETY: per the contract.
    unsafe { list(l) }.map_or(0, |l| l.size)
}

/// First entry whose key equals `key` (`strcmp`), or null.
///
/// # Safety
/// `l` null or live; `key` null or a C string; entry keys null or C strings.
#[no_mangle]
pub unsafe extern "C" fn llist_search(l: *mut llist_t, key: *const c_char) -> *mut llentry_t {
    unsafe extern "C" fn by_key(e: *mut llentry_t, ud: *mut c_void) -> c_int {
        // SAFETY: e is a live entry; ud the key passed to llist_search.
        unsafe {
            if e.is_null() || ud.is_null() || (*e).key.is_null() {
                return -1;
            }
            let a = CStr::from_ptr((*e).key);
            let b = CStr::from_ptr(ud.cast::<c_char>());
            c_int::from(a != b)
        }
    }
    // SAFETY: forwarded caller contract.
    unsafe { llist_search_custom(l, Some(by_key), key.cast_mut().cast()) }
}

/// First entry for which `compare(entry, user_data) == 0`, or null.
///
/// # Safety
/// `l` null or live; `compare` valid for the entries and `user_data`.
#[no_mangle]
pub unsafe extern "C" fn llist_search_custom(
    l: *mut llist_t,
    compare: Option<unsafe extern "C" fn(*mut llentry_t, *mut c_void) -> c_int>,
    user_data: *mut c_void,
) -> *mut llentry_t {
    // SAFETY: per the contract.
    let (Some(l), Some(cmp)) = (unsafe { list(l) }, compare) else {
        return std::ptr::null_mut();
    };
    let mut e = l.head;
    while !e.is_null() {
        // SAFETY: e is a live entry; read next first, as collectd does.
        let next = unsafe { (*e).next };
        // SAFETY: the caller's comparator on a live entry.
        if unsafe { cmp(e, user_data) } == 0 {
            return e;
        }
        e = next;
    }
    std::ptr::null_mut()
}

/// First entry, or null.
///
/// # Safety
/// `l` null or live.
#[no_mangle]
pub unsafe extern "C" fn llist_head(l: *mut llist_t) -> *mut llentry_t {
    // SAFETY: per the contract.
    unsafe { list(l) }.map_or(std::ptr::null_mut(), |l| l.head)
}

/// Last entry, or null.
///
/// # Safety
/// `l` null or live.
#[no_mangle]
pub unsafe extern "C" fn llist_tail(l: *mut llist_t) -> *mut llentry_t {
    // SAFETY: per the contract.
    unsafe { list(l) }.map_or(std::ptr::null_mut(), |l| l.tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::null_mut;

    fn keys(l: *mut llist_t) -> Vec<String> {
        let mut out = Vec::new();
        // SAFETY: walking a live list whose keys are C strings.
        unsafe {
            let mut e = llist_head(l);
            while !e.is_null() {
                out.push(CStr::from_ptr((*e).key).to_str().unwrap().to_owned());
                e = (*e).next;
            }
        }
        out
    }

    #[test]
    fn append_prepend_search_remove() {
        let l = llist_create();
        let b = llentry_create(c"b".as_ptr().cast_mut(), 2 as *mut c_void);
        let a = llentry_create(c"a".as_ptr().cast_mut(), 11 as *mut c_void);
        let c = llentry_create(c"c".as_ptr().cast_mut(), 3 as *mut c_void);
        // SAFETY: l and the entries are live; entries are freed by the list or explicitly.
        unsafe {
            llist_append(l, b);
            llist_prepend(l, a);
            llist_append(l, c);
            assert_eq!(keys(l), ["a", "b", "c"]);
            assert_eq!(llist_size(l), 3);
            assert_eq!(llist_head(l), a);
            assert_eq!(llist_tail(l), c);
            assert_eq!(llist_search(l, c"b".as_ptr()), b);
            assert!(llist_search(l, c"z".as_ptr()).is_null());
            unsafe extern "C" fn by_value(e: *mut llentry_t, ud: *mut c_void) -> c_int {
                // SAFETY: e is a live entry.
                c_int::from(unsafe { (*e).value } != ud)
            }
            assert_eq!(llist_search_custom(l, Some(by_value), 3 as *mut c_void), c);

            llist_remove(l, c);
            assert_eq!(llist_tail(l), b);
            llentry_destroy(c);
            llist_remove(l, a);
            assert_eq!(llist_head(l), b);
            llentry_destroy(a);
            let stranger = llentry_create(null_mut(), null_mut());
            llist_remove(l, stranger);
            assert_eq!(llist_size(l), 1, "removing a foreign entry changes nothing");
            llentry_destroy(stranger);
            llist_remove(l, b);
            assert!(llist_head(l).is_null() && llist_tail(l).is_null());
            assert_eq!(llist_size(l), 0);
            llist_append(l, b);
            llist_destroy(l);

            assert_eq!(llist_size(null_mut()), 0);
            assert!(llist_head(null_mut()).is_null());
            llist_append(null_mut(), null_mut());
            llist_destroy(null_mut());
        }
    }
}
