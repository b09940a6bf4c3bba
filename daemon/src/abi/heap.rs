//! `c_heap_*` exports (collectd's `heap.h`): a thread-safe binary min-heap of
//! opaque pointers ordered by a C comparator.

use std::os::raw::{c_int, c_void};
use std::sync::Mutex;

use rcollectd_plugin::sys::c_heap_t;

use crate::abi::ffi::ffi_guard;

/// The C comparator type: `<0` when the first argument sorts first.
type CompareFn = unsafe extern "C" fn(*const c_void, *const c_void) -> c_int;

/// The object behind `c_heap_t *`.
struct Heap {
    cmp: CompareFn,
    list: Mutex<Vec<*mut c_void>>,
}

impl Heap {
    fn less(&self, a: *mut c_void, b: *mut c_void) -> bool {
        // SAFETY: the comparator was supplied for exactly these pointers.
        unsafe { (self.cmp)(a, b) < 0 }
    }

    fn push(&self, v: &mut Vec<*mut c_void>, p: *mut c_void) {
        v.push(p);
        let mut i = v.len() - 1;
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.less(v[i], v[parent]) {
                v.swap(i, parent);
                i = parent;
            } else {
                break;
            }
        }
    }

    fn pop(&self, v: &mut Vec<*mut c_void>) -> Option<*mut c_void> {
        if v.is_empty() {
            return None;
        }
        let root = v.swap_remove(0);
        let n = v.len();
        let mut i = 0;
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut min = i;
            if l < n && self.less(v[l], v[min]) {
                min = l;
            }
            if r < n && self.less(v[r], v[min]) {
                min = r;
            }
            if min == i {
                break;
            }
            v.swap(i, min);
            i = min;
        }
        if v.capacity() > v.len() + 32 {
            v.shrink_to(v.len() + 16);
        }
        Some(root)
    }
}

/// Borrows the heap behind a C pointer.
///
/// # Safety
/// `h` null or from `c_heap_create`, not destroyed.
unsafe fn heap<'a>(h: *mut c_heap_t) -> Option<&'a Heap> {
    // SAFETY: per the contract.
    unsafe { h.cast::<Heap>().as_ref() }
}

/// Creates an empty heap; null if `compare` is null.
#[no_mangle]
pub extern "C" fn c_heap_create(compare: Option<CompareFn>) -> *mut c_heap_t {
    ffi_guard(std::ptr::null_mut(), || match compare {
        None => std::ptr::null_mut(),
        Some(cmp) => Box::into_raw(Box::new(Heap {
            cmp,
            list: Mutex::new(Vec::new()),
        }))
        .cast(),
    })
}

/// Frees the heap (not the elements); null is ignored.
///
/// # Safety
/// `h` null or live, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn c_heap_destroy(h: *mut c_heap_t) {
    ffi_guard((), || {
        if !h.is_null() {
            // SAFETY: h came from Box::into_raw in c_heap_create.
            drop(unsafe { Box::from_raw(h.cast::<Heap>()) });
        }
    })
}

/// Adds `ptr`: 0, or -EINVAL for a null heap or pointer.
///
/// # Safety
/// `h` null or live.
#[no_mangle]
pub unsafe extern "C" fn c_heap_insert(h: *mut c_heap_t, ptr: *mut c_void) -> c_int {
    ffi_guard(-libc::EINVAL, || {
        // SAFETY: per the contract.
        let Some(h) = (unsafe { heap(h) }) else {
            return -libc::EINVAL;
        };
        if ptr.is_null() {
            return -libc::EINVAL;
        }
        let mut v = h.list.lock().unwrap_or_else(|e| e.into_inner());
        h.push(&mut v, ptr);
        0
    })
}

/// Removes and returns the smallest element; null if empty.
///
/// # Safety
/// `h` null or live.
#[no_mangle]
pub unsafe extern "C" fn c_heap_get_root(h: *mut c_heap_t) -> *mut c_void {
    ffi_guard(std::ptr::null_mut(), || {
        // SAFETY: per the contract.
        let Some(h) = (unsafe { heap(h) }) else {
            return std::ptr::null_mut();
        };
        let mut v = h.list.lock().unwrap_or_else(|e| e.into_inner());
        h.pop(&mut v).unwrap_or(std::ptr::null_mut())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::null_mut;

    unsafe extern "C" fn cmp_usize(a: *const c_void, b: *const c_void) -> c_int {
        (a as usize).cmp(&(b as usize)) as c_int
    }

    #[test]
    fn pops_in_order() {
        let h = c_heap_create(Some(cmp_usize));
        assert!(c_heap_create(None).is_null());
        // SAFETY: h is live until destroyed; elements are plain integers.
        unsafe {
            assert!(c_heap_get_root(h).is_null());
            for i in 0..500usize {
                assert_eq!(c_heap_insert(h, ((i * 7919) % 500 + 1) as *mut c_void), 0);
            }
            assert_eq!(c_heap_insert(h, null_mut()), -libc::EINVAL);
            for expect in 1..=500usize {
                assert_eq!(c_heap_get_root(h) as usize, expect);
            }
            assert!(c_heap_get_root(h).is_null());
            assert_eq!(c_heap_insert(null_mut(), 5 as *mut c_void), -libc::EINVAL);
            assert!(c_heap_get_root(null_mut()).is_null());
            c_heap_destroy(h);
            c_heap_destroy(null_mut());
        }
    }

    #[test]
    fn duplicates_are_kept() {
        let h = c_heap_create(Some(cmp_usize));
        // SAFETY: as above.
        unsafe {
            for v in [3usize, 1, 3, 2, 1] {
                c_heap_insert(h, v as *mut c_void);
            }
            let got: Vec<usize> = (0..5).map(|_| c_heap_get_root(h) as usize).collect();
            assert_eq!(got, [1, 1, 2, 3, 3]);
            c_heap_destroy(h);
        }
    }
}
