//! `c_avl_*` exports (collectd's `avltree.h`): an ordered map of opaque
//! key/value pointers under a C comparator. Backed by a `BTreeMap` whose key
//! wrapper calls the comparator, so lookups, inserts and removals are
//! O(log n) and an inconsistent comparator cannot cause memory unsafety.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::os::raw::{c_int, c_void};

use rcollectd_plugin::sys::{c_avl_iterator_t, c_avl_tree_t};

use crate::abi::ffi::ffi_guard;

/// The C comparator type: `<0`, `0`, `>0` like `strcmp`.
type CompareFn = unsafe extern "C" fn(*const c_void, *const c_void) -> c_int;

/// A key pointer ordered by the tree's comparator.
#[derive(Clone, Copy)]
struct Key {
    ptr: *mut c_void,
    cmp: CompareFn,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        // SAFETY: the comparator was supplied by the tree's creator for
        // exactly these key pointers.
        unsafe { (self.cmp)(self.ptr, other.ptr) }.cmp(&0)
    }
}

/// The object behind `c_avl_tree_t *`.
struct Tree {
    cmp: CompareFn,
    map: BTreeMap<Key, *mut c_void>,
}

/// The object behind `c_avl_iterator_t *`: the tree and the current key.
struct Iter {
    tree: *mut Tree,
    current: Option<Key>,
}

/// Borrows the tree behind a C pointer.
///
/// # Safety
/// `t` null or from `c_avl_create`, not destroyed.
unsafe fn tree<'a>(t: *mut c_avl_tree_t) -> Option<&'a mut Tree> {
    // SAFETY: per the contract.
    unsafe { t.cast::<Tree>().as_mut() }
}

/// Creates an empty tree ordered by `compare`; null if `compare` is null.
#[no_mangle]
pub extern "C" fn c_avl_create(compare: Option<CompareFn>) -> *mut c_avl_tree_t {
    ffi_guard(std::ptr::null_mut(), || match compare {
        None => std::ptr::null_mut(),
        Some(cmp) => Box::into_raw(Box::new(Tree {
            cmp,
            map: BTreeMap::new(),
        }))
        .cast(),
    })
}

/// Frees the tree (not the keys or values); null is ignored.
///
/// # Safety
/// `t` null or live, not used afterwards (nor its iterators).
#[no_mangle]
pub unsafe extern "C" fn c_avl_destroy(t: *mut c_avl_tree_t) {
    ffi_guard((), || {
        if !t.is_null() {
            // SAFETY: t came from Box::into_raw in c_avl_create.
            drop(unsafe { Box::from_raw(t.cast::<Tree>()) });
        }
    })
}

/// Inserts `key` → `value`: 0, 1 if an equal key exists (nothing changes),
/// -1 for a null tree.
///
/// # Safety
/// `t` null or live; `key` valid for the comparator.
#[no_mangle]
pub unsafe extern "C" fn c_avl_insert(
    t: *mut c_avl_tree_t,
    key: *mut c_void,
    value: *mut c_void,
) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        let Some(t) = (unsafe { tree(t) }) else {
            return -1;
        };
        let k = Key {
            ptr: key,
            cmp: t.cmp,
        };
        if t.map.contains_key(&k) {
            return 1;
        }
        t.map.insert(k, value);
        0
    })
}

/// Removes `key`, returning the stored key and value through the optional
/// out pointers: 0, or -1 if absent.
///
/// # Safety
/// `t` null or live; out pointers null or writable.
#[no_mangle]
pub unsafe extern "C" fn c_avl_remove(
    t: *mut c_avl_tree_t,
    key: *const c_void,
    rkey: *mut *mut c_void,
    rvalue: *mut *mut c_void,
) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        let Some(t) = (unsafe { tree(t) }) else {
            return -1;
        };
        let probe = Key {
            ptr: key.cast_mut(),
            cmp: t.cmp,
        };
        let Some((k, v)) = t.map.remove_entry(&probe) else {
            return -1;
        };
        // SAFETY: out pointers are null or writable.
        unsafe {
            if !rkey.is_null() {
                *rkey = k.ptr;
            }
            if !rvalue.is_null() {
                *rvalue = v;
            }
        }
        0
    })
}

/// Looks `key` up: 0 (value stored through `value` if non-null) or -1.
///
/// # Safety
/// `t` null or live; `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn c_avl_get(
    t: *mut c_avl_tree_t,
    key: *const c_void,
    value: *mut *mut c_void,
) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        let Some(t) = (unsafe { tree(t) }) else {
            return -1;
        };
        let probe = Key {
            ptr: key.cast_mut(),
            cmp: t.cmp,
        };
        match t.map.get(&probe) {
            Some(v) => {
                if !value.is_null() {
                    // SAFETY: writable per the contract.
                    unsafe { *value = *v };
                }
                0
            }
            None => -1,
        }
    })
}

/// Removes some entry (for draining a tree): 0, or -1 if empty or an out
/// pointer is null.
///
/// # Safety
/// `t` null or live; `key`, `value` null or writable.
#[no_mangle]
pub unsafe extern "C" fn c_avl_pick(
    t: *mut c_avl_tree_t,
    key: *mut *mut c_void,
    value: *mut *mut c_void,
) -> c_int {
    ffi_guard(-1, || {
        // SAFETY: per the contract.
        let Some(t) = (unsafe { tree(t) }) else {
            return -1;
        };
        if key.is_null() || value.is_null() {
            return -1;
        }
        let Some((k, v)) = t.map.pop_last() else {
            return -1;
        };
        // SAFETY: both out pointers are non-null and writable.
        unsafe {
            *key = k.ptr;
            *value = v;
        }
        0
    })
}

/// A new iterator positioned before the first (for `next`) or after the last
/// (for `prev`) entry; null for a null tree. Invalidated by modifications
/// only in the sense collectd documents: it never touches freed memory.
///
/// # Safety
/// `t` null or live, and outliving the iterator.
#[no_mangle]
pub unsafe extern "C" fn c_avl_get_iterator(t: *mut c_avl_tree_t) -> *mut c_avl_iterator_t {
    ffi_guard(std::ptr::null_mut(), || {
        if t.is_null() {
            return std::ptr::null_mut();
        }
        Box::into_raw(Box::new(Iter {
            tree: t.cast(),
            current: None,
        }))
        .cast()
    })
}

/// Steps an iterator forward (`forward`) or backward.
///
/// # Safety
/// `iter` null or live; out pointers null or writable.
unsafe fn step(
    iter: *mut c_avl_iterator_t,
    key: *mut *mut c_void,
    value: *mut *mut c_void,
    forward: bool,
) -> c_int {
    ffi_guard(-1, || {
        if key.is_null() || value.is_null() {
            return -1;
        }
        // SAFETY: per the contract.
        let Some(it) = (unsafe { iter.cast::<Iter>().as_mut() }) else {
            return -1;
        };
        // SAFETY: the tree outlives its iterators (contract).
        let Some(t) = (unsafe { it.tree.as_ref() }) else {
            return -1;
        };
        let next = match (it.current, forward) {
            (None, true) => t.map.iter().next(),
            (None, false) => t.map.iter().next_back(),
            (Some(c), true) => t.map.range((Bound::Excluded(c), Bound::Unbounded)).next(),
            (Some(c), false) => t
                .map
                .range((Bound::Unbounded, Bound::Excluded(c)))
                .next_back(),
        };
        let Some((k, v)) = next else {
            return -1;
        };
        it.current = Some(*k);
        // SAFETY: both out pointers are non-null and writable.
        unsafe {
            *key = k.ptr;
            *value = *v;
        }
        0
    })
}

/// Next entry in ascending order: 0, or -1 at the end.
///
/// # Safety
/// `iter` null or live; out pointers null or writable.
#[no_mangle]
pub unsafe extern "C" fn c_avl_iterator_next(
    iter: *mut c_avl_iterator_t,
    key: *mut *mut c_void,
    value: *mut *mut c_void,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { step(iter, key, value, true) }
}

/// Previous entry (descending order from a fresh iterator): 0, or -1.
///
/// # Safety
/// `iter` null or live; out pointers null or writable.
#[no_mangle]
pub unsafe extern "C" fn c_avl_iterator_prev(
    iter: *mut c_avl_iterator_t,
    key: *mut *mut c_void,
    value: *mut *mut c_void,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { step(iter, key, value, false) }
}

/// Frees an iterator; null is ignored.
///
/// # Safety
/// `iter` null or live, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn c_avl_iterator_destroy(iter: *mut c_avl_iterator_t) {
    ffi_guard((), || {
        if !iter.is_null() {
            // SAFETY: iter came from Box::into_raw in c_avl_get_iterator.
            drop(unsafe { Box::from_raw(iter.cast::<Iter>()) });
        }
    })
}

/// Number of entries (0 for a null tree).
///
/// # Safety
/// `t` null or live.
#[no_mangle]
pub unsafe extern "C" fn c_avl_size(t: *mut c_avl_tree_t) -> c_int {
    ffi_guard(0, || {
        // SAFETY: per the contract.
        unsafe { tree(t) }.map_or(0, |t| c_int::try_from(t.map.len()).unwrap_or(c_int::MAX))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{CStr, CString};
    use std::os::raw::c_char;
    use std::ptr::null_mut;

    unsafe extern "C" fn strcmp_cb(a: *const c_void, b: *const c_void) -> c_int {
        // SAFETY: the test only stores C strings as keys.
        unsafe { libc::strcmp(a.cast::<c_char>(), b.cast::<c_char>()) }
    }

    fn s(p: *mut c_void) -> String {
        // SAFETY: keys in these tests are C strings.
        unsafe { CStr::from_ptr(p.cast::<c_char>()) }
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn insert_get_remove_iterate() {
        let keys: Vec<CString> = ["m", "c", "x", "a", "q"]
            .iter()
            .map(|k| CString::new(*k).unwrap())
            .collect();
        let t = c_avl_create(Some(strcmp_cb));
        assert!(!t.is_null());
        assert!(c_avl_create(None).is_null());
        // SAFETY: t is live until destroyed; keys outlive the tree.
        unsafe {
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(
                    c_avl_insert(t, k.as_ptr().cast_mut().cast(), (i + 1) as *mut c_void),
                    0
                );
            }
            let dup = CString::new("c").unwrap();
            assert_eq!(
                c_avl_insert(t, dup.as_ptr().cast_mut().cast(), null_mut()),
                1
            );
            assert_eq!(c_avl_size(t), 5);

            let mut v: *mut c_void = null_mut();
            assert_eq!(c_avl_get(t, dup.as_ptr().cast(), &mut v), 0);
            assert_eq!(v as usize, 2, "first insert wins");
            assert_eq!(c_avl_get(t, c"zz".as_ptr().cast(), &mut v), -1);
            assert_eq!(c_avl_get(t, c"x".as_ptr().cast(), null_mut()), 0);

            let it = c_avl_get_iterator(t);
            let (mut k, mut val) = (null_mut(), null_mut());
            let mut fwd = Vec::new();
            while c_avl_iterator_next(it, &mut k, &mut val) == 0 {
                fwd.push(s(k));
            }
            assert_eq!(fwd, ["a", "c", "m", "q", "x"]);
            assert_eq!(c_avl_iterator_prev(it, &mut k, &mut val), 0);
            assert_eq!(s(k), "q", "prev from the last entry");
            c_avl_iterator_destroy(it);
            let it = c_avl_get_iterator(t);
            let mut back = Vec::new();
            while c_avl_iterator_prev(it, &mut k, &mut val) == 0 {
                back.push(s(k));
            }
            assert_eq!(back, ["x", "q", "m", "c", "a"]);
            assert_eq!(c_avl_iterator_next(it, null_mut(), &mut val), -1);
            c_avl_iterator_destroy(it);

            let (mut rk, mut rv) = (null_mut(), null_mut());
            assert_eq!(c_avl_remove(t, c"m".as_ptr().cast(), &mut rk, &mut rv), 0);
            assert_eq!(
                rk,
                keys[0].as_ptr().cast_mut().cast(),
                "the stored key is returned"
            );
            assert_eq!(rv as usize, 1);
            assert_eq!(
                c_avl_remove(t, c"m".as_ptr().cast(), null_mut(), null_mut()),
                -1
            );
            assert_eq!(c_avl_size(t), 4);

            let mut drained = 0;
            while c_avl_pick(t, &mut rk, &mut rv) == 0 {
                drained += 1;
                assert!(drained <= 4);
            }
            assert_eq!(drained, 4);
            assert_eq!(c_avl_size(t), 0);
            assert_eq!(c_avl_pick(t, null_mut(), &mut rv), -1);
            c_avl_destroy(t);

            assert_eq!(c_avl_size(null_mut()), 0);
            assert_eq!(c_avl_insert(null_mut(), null_mut(), null_mut()), -1);
            assert!(c_avl_get_iterator(null_mut()).is_null());
            c_avl_destroy(null_mut());
        }
    }

    #[test]
    fn many_keys_stay_sorted() {
        unsafe extern "C" fn cmp_usize(a: *const c_void, b: *const c_void) -> c_int {
            (a as usize).cmp(&(b as usize)) as c_int
        }
        let t = c_avl_create(Some(cmp_usize));
        // SAFETY: t is live until destroyed; keys are plain integers.
        unsafe {
            for i in 0..1000usize {
                let k = (i * 7919) % 1000 + 1;
                assert_eq!(c_avl_insert(t, k as *mut c_void, null_mut()), 0);
            }
            assert_eq!(c_avl_size(t), 1000);
            let it = c_avl_get_iterator(t);
            let (mut k, mut v) = (null_mut(), null_mut());
            let mut expect = 1usize;
            while c_avl_iterator_next(it, &mut k, &mut v) == 0 {
                assert_eq!(k as usize, expect);
                expect += 1;
            }
            assert_eq!(expect, 1001);
            c_avl_iterator_destroy(it);
            c_avl_destroy(t);
        }
    }
}
