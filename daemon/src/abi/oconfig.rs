//! liboconfig's C view of the config tree (`oconfig_item_t`) and its exported
//! functions `oconfig_parse_file`, `oconfig_clone` and `oconfig_free`.
//!
//! Memory is laid out and allocated exactly as collectd's liboconfig does, so
//! C plugins may keep, `strdup` or `free` parts with collectd's rules: every
//! tree is one `calloc`ed root item; each item's `children` is one
//! contiguous `calloc`ed array of items (not pointers); `values` is one
//! `calloc`ed array; `key` and string values are `strdup`ed. `oconfig_free`
//! frees all of that and the root item itself. Unlike collectd, `parent`
//! pointers are set on every item (collectd's parser leaves them NULL).

use std::ffi::CStr;
#[cfg(test)]
use std::ffi::CString;
use std::os::raw::{c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr;

use rcollectd_plugin::sys::{oconfig_item_t, oconfig_value_s__bindgen_ty_1, oconfig_value_t};

use crate::config::{parse_file, Item, Location, Value};

/// `OCONFIG_TYPE_STRING`.
pub const OCONFIG_TYPE_STRING: c_int = 0;
/// `OCONFIG_TYPE_NUMBER`.
pub const OCONFIG_TYPE_NUMBER: c_int = 1;
/// `OCONFIG_TYPE_BOOLEAN`.
pub const OCONFIG_TYPE_BOOLEAN: c_int = 2;

/// `calloc(n, size_of::<T>())`, aborting like Rust's allocator on failure;
/// null for `n == 0` (collectd leaves empty arrays NULL).
fn calloc_array<T>(n: usize) -> *mut T {
    if n == 0 {
        return ptr::null_mut();
    }
    // SAFETY: calloc with a non-zero count and element size has no
    // preconditions; the result is checked for null.
    let p = unsafe { libc::calloc(n, std::mem::size_of::<T>()) }.cast::<T>();
    if p.is_null() {
        let layout =
            std::alloc::Layout::array::<T>(n).unwrap_or_else(|_| std::alloc::Layout::new::<T>());
        std::alloc::handle_alloc_error(layout);
    }
    p
}

/// `strdup` of `s` (cut at an embedded NUL, as C would see it).
fn strdup(s: &str) -> *mut c_char {
    let bytes = s.as_bytes();
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let p = calloc_array::<c_char>(len + 1);
    // SAFETY: `p` has room for len + 1 bytes (zeroed, so NUL-terminated);
    // `bytes` has at least `len` bytes and does not overlap fresh memory.
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), p, len) };
    p
}

/// Fills `dst` (zeroed memory) from `item`, with `parent` as its parent.
fn fill(dst: *mut oconfig_item_t, item: &Item, parent: *mut oconfig_item_t) {
    let values = calloc_array::<oconfig_value_t>(item.values.len());
    for (i, v) in item.values.iter().enumerate() {
        let cv = match v {
            Value::String(s) => oconfig_value_t {
                value: oconfig_value_s__bindgen_ty_1 { string: strdup(s) },
                type_: OCONFIG_TYPE_STRING,
            },
            Value::Number(n) => oconfig_value_t {
                value: oconfig_value_s__bindgen_ty_1 { number: *n },
                type_: OCONFIG_TYPE_NUMBER,
            },
            Value::Boolean(b) => oconfig_value_t {
                value: oconfig_value_s__bindgen_ty_1 {
                    boolean: c_int::from(*b),
                },
                type_: OCONFIG_TYPE_BOOLEAN,
            },
        };
        // SAFETY: `values` has item.values.len() elements; i is in range.
        unsafe { values.add(i).write(cv) };
    }
    let children = calloc_array::<oconfig_item_t>(item.children.len());
    // SAFETY: `dst` points to a zeroed, writable oconfig_item_t.
    unsafe {
        (*dst).key = strdup(&item.key);
        (*dst).values = values;
        (*dst).values_num = c_int::try_from(item.values.len()).unwrap_or(c_int::MAX);
        (*dst).parent = parent;
        (*dst).children = children;
        (*dst).children_num = c_int::try_from(item.children.len()).unwrap_or(c_int::MAX);
    }
    for (i, child) in item.children.iter().enumerate() {
        // SAFETY: `children` has item.children.len() zeroed elements.
        fill(unsafe { children.add(i) }, child, dst);
    }
}

/// Builds collectd's C tree for `item` (the item itself is the root).
/// Free it with the exported [`oconfig_free`].
pub fn to_oconfig(item: &Item) -> *mut oconfig_item_t {
    let root = calloc_array::<oconfig_item_t>(1);
    fill(root, item, ptr::null_mut());
    root
}

/// Reads a C tree back into an [`Item`] (locations are unknown: `<C>:0`).
///
/// # Safety
/// `ci` must point to a valid `oconfig_item_t` tree (as built by
/// collectd's or our liboconfig); NULL keys and strings read as "".
pub unsafe fn from_oconfig(ci: *const oconfig_item_t) -> Item {
    let location = Location {
        file: std::sync::Arc::new(std::path::PathBuf::from("<C>")),
        line: 0,
    };
    // SAFETY: forwarded contract.
    unsafe { from_oconfig_at(ci, &location) }
}

/// # Safety
/// As [`from_oconfig`].
unsafe fn from_oconfig_at(ci: *const oconfig_item_t, location: &Location) -> Item {
    // SAFETY: valid per the caller's contract.
    let ci = unsafe { &*ci };
    let text = |p: *const c_char| {
        if p.is_null() {
            String::new()
        } else {
            // SAFETY: non-null strings in a valid tree are NUL-terminated.
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    let n_values = usize::try_from(ci.values_num).unwrap_or(0);
    let mut values = Vec::with_capacity(n_values);
    for i in 0..n_values {
        // SAFETY: `values` has values_num elements in a valid tree.
        let v = unsafe { &*ci.values.add(i) };
        values.push(match v.type_ {
            // SAFETY: the type tag says which union member is live.
            OCONFIG_TYPE_STRING => Value::String(text(unsafe { v.value.string })),
            // SAFETY: as above.
            OCONFIG_TYPE_NUMBER => Value::Number(unsafe { v.value.number }),
            // SAFETY: as above.
            _ => Value::Boolean(unsafe { v.value.boolean } != 0),
        });
    }
    let n_children = usize::try_from(ci.children_num).unwrap_or(0);
    let mut children = Vec::with_capacity(n_children);
    for i in 0..n_children {
        // SAFETY: `children` has children_num elements in a valid tree.
        children.push(unsafe { from_oconfig_at(ci.children.add(i), location) });
    }
    Item {
        key: text(ci.key),
        values,
        children,
        location: location.clone(),
    }
}

/// Frees an item's contents (not the item itself).
///
/// # Safety
/// `ci` must be a valid item of a tree allocated as this module documents.
unsafe fn free_contents(ci: *mut oconfig_item_t) {
    // SAFETY: valid per the caller's contract.
    let c = unsafe { &mut *ci };
    // SAFETY: every pointer of the tree was allocated with calloc/strdup by
    // this module or by C code following liboconfig's rules.
    unsafe { libc::free(c.key.cast()) };
    for i in 0..usize::try_from(c.values_num).unwrap_or(0) {
        // SAFETY: `values` has values_num elements.
        let v = unsafe { &*c.values.add(i) };
        if v.type_ == OCONFIG_TYPE_STRING {
            // SAFETY: a string value is a strdup'ed pointer (or NULL).
            unsafe { libc::free(v.value.string.cast()) };
        }
    }
    // SAFETY: calloc'ed array or NULL.
    unsafe { libc::free(c.values.cast()) };
    for i in 0..usize::try_from(c.children_num).unwrap_or(0) {
        // SAFETY: `children` has children_num elements, each valid.
        unsafe { free_contents(c.children.add(i)) };
    }
    // SAFETY: calloc'ed array or NULL.
    unsafe { libc::free(c.children.cast()) };
    c.key = ptr::null_mut();
    c.values = ptr::null_mut();
    c.values_num = 0;
    c.children = ptr::null_mut();
    c.children_num = 0;
}

/// Deep copy of `src` into zeroed `dst`, with `parent` as its parent.
///
/// # Safety
/// `src` must be a valid tree; `dst` zeroed writable memory.
unsafe fn clone_into(
    dst: *mut oconfig_item_t,
    src: *const oconfig_item_t,
    parent: *mut oconfig_item_t,
) {
    // SAFETY: valid per the caller's contract.
    let s = unsafe { &*src };
    let n_values = usize::try_from(s.values_num).unwrap_or(0);
    let values = calloc_array::<oconfig_value_t>(n_values);
    for i in 0..n_values {
        // SAFETY: `s.values` has values_num elements.
        let v = unsafe { *s.values.add(i) };
        let copy = if v.type_ == OCONFIG_TYPE_STRING {
            // SAFETY: the tag says the string member is live.
            let p = unsafe { v.value.string };
            let dup = if p.is_null() {
                ptr::null_mut()
            } else {
                // SAFETY: a non-null string value is NUL-terminated.
                unsafe { libc::strdup(p) }
            };
            oconfig_value_t {
                value: oconfig_value_s__bindgen_ty_1 { string: dup },
                type_: OCONFIG_TYPE_STRING,
            }
        } else {
            v
        };
        // SAFETY: `values` has n_values elements.
        unsafe { values.add(i).write(copy) };
    }
    let n_children = usize::try_from(s.children_num).unwrap_or(0);
    let children = calloc_array::<oconfig_item_t>(n_children);
    // SAFETY: `dst` is zeroed writable memory; the key is NUL-terminated or NULL.
    unsafe {
        (*dst).key = if s.key.is_null() {
            strdup("")
        } else {
            libc::strdup(s.key)
        };
        (*dst).values = values;
        (*dst).values_num = if values.is_null() { 0 } else { s.values_num };
        (*dst).parent = parent;
        (*dst).children = children;
        (*dst).children_num = if children.is_null() {
            0
        } else {
            s.children_num
        };
    }
    for i in 0..n_children {
        // SAFETY: both arrays have n_children elements; dst's are zeroed.
        unsafe { clone_into(children.add(i), s.children.add(i), dst) };
    }
}

/// liboconfig `oconfig_parse_file`: parses `file` (with `Include`s
/// expanded) and returns the root item whose children are the file's
/// items, or NULL after logging the error.
///
/// # Safety
/// `file` must be NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn oconfig_parse_file(file: *const c_char) -> *mut oconfig_item_t {
    catch_unwind(|| {
        if file.is_null() {
            log::error!("oconfig_parse_file: file name is NULL");
            return ptr::null_mut();
        }
        // SAFETY: non-null C string from the caller.
        let name = unsafe { CStr::from_ptr(file) };
        let path = Path::new(std::ffi::OsStr::from_bytes(name.to_bytes()));
        match parse_file(path) {
            Ok(root) => to_oconfig(&root),
            Err(e) => {
                log::error!("{e}");
                ptr::null_mut()
            }
        }
    })
    .unwrap_or_else(|_| {
        log::error!("oconfig_parse_file: internal error");
        ptr::null_mut()
    })
}

/// liboconfig `oconfig_clone`: deep copy of `ci` (a new root; free it with
/// `oconfig_free`). NULL in, NULL out.
///
/// # Safety
/// `ci` must be NULL or a valid `oconfig_item_t` tree.
#[no_mangle]
pub unsafe extern "C" fn oconfig_clone(ci: *const oconfig_item_t) -> *mut oconfig_item_t {
    if ci.is_null() {
        return ptr::null_mut();
    }
    catch_unwind(AssertUnwindSafe(|| {
        let root = calloc_array::<oconfig_item_t>(1);
        // SAFETY: `ci` is valid per the contract; `root` is zeroed.
        unsafe { clone_into(root, ci, ptr::null_mut()) };
        root
    }))
    .unwrap_or_else(|_| {
        log::error!("oconfig_clone: internal error");
        ptr::null_mut()
    })
}

/// liboconfig `oconfig_free`: frees a whole tree, the root item included.
/// NULL is ignored.
///
/// # Safety
/// `ci` must be NULL or a root returned by `oconfig_parse_file`,
/// `oconfig_clone` or [`to_oconfig`], not freed before.
#[no_mangle]
pub unsafe extern "C" fn oconfig_free(ci: *mut oconfig_item_t) {
    if ci.is_null() {
        return;
    }
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: a valid root per the contract; its memory is calloc'ed.
        unsafe {
            free_contents(ci);
            libc::free(ci.cast());
        }
    }));
    if r.is_err() {
        log::error!("oconfig_free: internal error");
    }
}

/// Owns a tree from [`to_oconfig`] and frees it on drop (for Rust callers
/// that hand a config to a C callback and must free it on every path).
#[derive(Debug)]
pub struct OconfigTree(*mut oconfig_item_t);

impl OconfigTree {
    /// Converts `item` (see [`to_oconfig`]).
    pub fn new(item: &Item) -> Self {
        OconfigTree(to_oconfig(item))
    }

    /// The root pointer, valid while `self` lives.
    pub fn as_ptr(&self) -> *mut oconfig_item_t {
        self.0
    }
}

impl Drop for OconfigTree {
    fn drop(&mut self) {
        // SAFETY: the pointer came from to_oconfig and is freed only here.
        unsafe { oconfig_free(self.0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_str;

    const TEXT: &str = "Interval 10\n<Plugin \"network\">\n  Server \"::1\" 25826\n  <Listen \"127.0.0.1\">\n    SecurityLevel \"None\"\n    Enabled true\n  </Listen>\n  TimeToLive -1\n</Plugin>\nLoadPlugin cpu\n";

    fn cstr(p: *const c_char) -> String {
        // SAFETY: test trees hold valid NUL-terminated strings.
        unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string()
    }

    /// The core's seeded random configs: every tree that parses converts
    /// to C and back with its shape intact.
    #[test]
    fn random_trees_round_trip_through_c() {
        let name = Path::new(rcollectd_core::testgen::CONFIG_PATH);
        let mut parsed = 0;
        for text in rcollectd_core::testgen::config_texts() {
            if let Ok(root) = parse_str(&text, name) {
                parsed += 1;
                let c = OconfigTree::new(&root);
                // SAFETY: valid tree while `c` lives.
                let back = unsafe { from_oconfig(c.as_ptr()) };
                assert_eq!(back.children.len(), root.children.len());
            }
        }
        assert!(parsed > 100, "parsed {parsed}");
    }

    #[test]
    fn layout_matches_collectd() {
        let root = parse_str(TEXT, Path::new("/t.conf")).unwrap();
        let c = to_oconfig(&root);
        // SAFETY: `c` is a valid tree until freed below.
        unsafe {
            assert_eq!(cstr((*c).key), "");
            assert_eq!((*c).values_num, 0);
            assert!((*c).values.is_null());
            assert!((*c).parent.is_null());
            assert_eq!((*c).children_num, 3);
            let plugin = (*c).children.add(1);
            assert_eq!(cstr((*plugin).key), "Plugin");
            assert_eq!((*plugin).parent, c);
            assert_eq!((*(*plugin).values).type_, OCONFIG_TYPE_STRING);
            assert_eq!(cstr((*(*plugin).values).value.string), "network");
            assert_eq!((*plugin).children_num, 3);
            let server = (*plugin).children;
            assert_eq!((*server).values_num, 2);
            assert_eq!(cstr((*(*server).values).value.string), "::1");
            let port = (*server).values.add(1);
            assert_eq!((*port).type_, OCONFIG_TYPE_NUMBER);
            assert_eq!((*port).value.number, 25826.0);
            let listen = (*plugin).children.add(1);
            assert_eq!((*listen).parent, plugin);
            let enabled = (*listen).children.add(1);
            assert_eq!((*enabled).parent, listen);
            assert_eq!((*(*enabled).values).type_, OCONFIG_TYPE_BOOLEAN);
            assert_eq!((*(*enabled).values).value.boolean, 1);
            let back = from_oconfig(c);
            assert_eq!(back.children[1].children[1].children[1].key, "Enabled");
            assert_eq!(back.children[1].values, root.children[1].values);
            oconfig_free(c);
        }
    }

    #[test]
    fn clone_is_deep_and_independent() {
        let root = parse_str(TEXT, Path::new("/t.conf")).unwrap();
        let c = to_oconfig(&root);
        // SAFETY: valid trees, each freed once.
        unsafe {
            let copy = oconfig_clone((*c).children.add(1));
            oconfig_free(c);
            assert_eq!(cstr((*copy).key), "Plugin");
            assert!((*copy).parent.is_null());
            let listen = (*copy).children.add(1);
            assert_eq!((*listen).parent, copy);
            assert_eq!((*(*listen).children.add(1)).parent, listen);
            let back = from_oconfig(copy);
            let mut want = root.children[1].clone();
            want.location = back.location.clone();
            fn relocate(i: &mut Item, l: &Location) {
                i.location = l.clone();
                for c in &mut i.children {
                    relocate(c, l);
                }
            }
            relocate(&mut want, &back.location);
            assert_eq!(back, want);
            oconfig_free(copy);
            assert!(oconfig_clone(ptr::null()).is_null());
            oconfig_free(ptr::null_mut());
        }
    }

    #[test]
    fn parse_file_export() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.conf");
        std::fs::write(&f, TEXT).unwrap();
        let cf = CString::new(f.to_str().unwrap()).unwrap();
        // SAFETY: valid C strings; the tree is freed once.
        unsafe {
            let c = oconfig_parse_file(cf.as_ptr());
            assert!(!c.is_null());
            assert_eq!((*c).children_num, 3);
            assert_eq!(cstr((*(*c).children.add(2)).key), "LoadPlugin");
            oconfig_free(c);
        }
        std::fs::write(&f, "<Plugin x>\n").unwrap();
        let missing = CString::new("/nonexistent/rcollectd.conf").unwrap();
        // SAFETY: valid C strings or NULL.
        unsafe {
            assert!(oconfig_parse_file(cf.as_ptr()).is_null());
            assert!(oconfig_parse_file(ptr::null()).is_null());
            assert!(oconfig_parse_file(missing.as_ptr()).is_null());
        }
    }

    #[test]
    fn oconfig_tree_guard_frees() {
        let root = parse_str(TEXT, Path::new("/t.conf")).unwrap();
        let t = OconfigTree::new(&root);
        // SAFETY: valid while `t` lives.
        assert_eq!(unsafe { (*t.as_ptr()).children_num }, 3);
        drop(t);
    }
}
