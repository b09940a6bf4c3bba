//! Meta data attached to value lists and cache entries (`meta_data_t`).
//!
//! collectd keeps a small list of typed key/value pairs per value list; keys
//! compare case-insensitively, adding an existing key replaces its value in
//! place and new keys go to the end, so the table of contents keeps insertion
//! order. A C `meta_data_t *` is a pointer to a boxed [`RawMeta`] (the C type
//! is opaque), which holds a [`MetaData`] behind a mutex, as collectd's own
//! meta data object carries a lock. The contents are shared copy-on-write:
//! `meta_data_clone` (once per dispatched value list that carries meta data)
//! costs one small allocation, and a copy is made only when one side changes.

use std::ffi::{CStr, CString};
use std::sync::{Arc, Mutex, MutexGuard};

use rcollectd_plugin::sys::meta_data_t;

/// `MD_TYPE_STRING`.
pub const MD_TYPE_STRING: i32 = 1;
/// `MD_TYPE_SIGNED_INT`.
pub const MD_TYPE_SIGNED_INT: i32 = 2;
/// `MD_TYPE_UNSIGNED_INT`.
pub const MD_TYPE_UNSIGNED_INT: i32 = 3;
/// `MD_TYPE_DOUBLE`.
pub const MD_TYPE_DOUBLE: i32 = 4;
/// `MD_TYPE_BOOLEAN`.
pub const MD_TYPE_BOOLEAN: i32 = 5;

/// One typed meta data value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// `MD_TYPE_STRING`.
    String(CString),
    /// `MD_TYPE_SIGNED_INT`.
    SignedInt(i64),
    /// `MD_TYPE_UNSIGNED_INT`.
    UnsignedInt(u64),
    /// `MD_TYPE_DOUBLE`.
    Double(f64),
    /// `MD_TYPE_BOOLEAN`.
    Boolean(bool),
}

impl MetaValue {
    /// The `MD_TYPE_*` code collectd reports for this value.
    pub fn type_code(&self) -> i32 {
        match self {
            MetaValue::String(_) => MD_TYPE_STRING,
            MetaValue::SignedInt(_) => MD_TYPE_SIGNED_INT,
            MetaValue::UnsignedInt(_) => MD_TYPE_UNSIGNED_INT,
            MetaValue::Double(_) => MD_TYPE_DOUBLE,
            MetaValue::Boolean(_) => MD_TYPE_BOOLEAN,
        }
    }

    /// The textual form `meta_data_as_string` produces (doubles as `%.15g`).
    pub fn to_text(&self) -> String {
        match self {
            MetaValue::String(s) => s.to_string_lossy().into_owned(),
            MetaValue::SignedInt(v) => v.to_string(),
            MetaValue::UnsignedInt(v) => v.to_string(),
            MetaValue::Double(v) => format_gauge(*v),
            MetaValue::Boolean(b) => (if *b { "true" } else { "false" }).to_owned(),
        }
    }
}

/// Formats a double exactly as C's `printf("%.15g")` (collectd's GAUGE_FORMAT).
pub fn format_gauge(v: f64) -> String {
    let mut buf = [0u8; 64];
    // SAFETY: buf is 64 writable bytes, the format string is a valid C string
    // consuming exactly one double argument.
    let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.15g".as_ptr(), v) };
    let n = usize::try_from(n).unwrap_or(0).min(buf.len() - 1);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Ordered, case-insensitively keyed meta data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetaData {
    entries: Vec<(CString, MetaValue)>,
}

impl MetaData {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &[u8]) -> Option<usize> {
        self.entries
            .iter()
            .position(|(k, _)| k.as_bytes().eq_ignore_ascii_case(key))
    }

    /// Sets `key`; an existing key (any case) is replaced in place, keeping
    /// its original spelling's slot but taking the new spelling, as collectd.
    pub fn insert(&mut self, key: &CStr, value: MetaValue) {
        match self.position(key.to_bytes()) {
            Some(i) => self.entries[i] = (key.to_owned(), value),
            None => self.entries.push((key.to_owned(), value)),
        }
    }

    /// Convenience for Rust callers with `&str` keys; keys with NUL are refused.
    pub fn insert_str(&mut self, key: &str, value: MetaValue) -> bool {
        match CString::new(key) {
            Ok(k) => {
                self.insert(&k, value);
                true
            }
            Err(_) => false,
        }
    }

    /// The value stored under `key` (case-insensitive).
    pub fn get(&self, key: &[u8]) -> Option<&MetaValue> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    /// Removes `key`; false if absent.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        match self.position(key) {
            Some(i) => {
                self.entries.remove(i);
                true
            }
            None => false,
        }
    }

    /// Keys in table-of-contents order.
    pub fn keys(&self) -> impl Iterator<Item = &CStr> {
        self.entries.iter().map(|(k, _)| k.as_c_str())
    }

    /// Key/value pairs in table-of-contents order.
    pub fn iter(&self) -> impl Iterator<Item = (&CStr, &MetaValue)> {
        self.entries.iter().map(|(k, v)| (k.as_c_str(), v))
    }

    /// Copies every entry of `other` into `self`, replacing equal keys
    /// (`meta_data_clone_merge`).
    pub fn merge_from(&mut self, other: &MetaData) {
        for (k, v) in &other.entries {
            self.insert(k, v.clone());
        }
    }
}

/// The heap object a C `meta_data_t *` points to.
#[derive(Debug, Default)]
pub struct RawMeta {
    inner: Mutex<Arc<MetaData>>,
}

impl RawMeta {
    /// Locks the contents; a poisoned lock is recovered (the data is plain).
    fn lock(&self) -> MutexGuard<'_, Arc<MetaData>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn shared_into_raw(md: Arc<MetaData>) -> *mut meta_data_t {
    Box::into_raw(Box::new(RawMeta {
        inner: Mutex::new(md),
    }))
    .cast()
}

/// Boxes `md` and hands out the C pointer; free it with [`destroy_raw`].
pub fn into_raw(md: MetaData) -> *mut meta_data_t {
    shared_into_raw(Arc::new(md))
}

/// A new empty C meta data object.
pub fn create_raw() -> *mut meta_data_t {
    into_raw(MetaData::new())
}

/// Borrows the object behind a C pointer; `None` for null.
///
/// # Safety
/// `p` must be null or a live pointer from [`into_raw`]/[`create_raw`]/
/// [`clone_raw`] not yet destroyed, for the lifetime `'a`.
pub unsafe fn as_raw<'a>(p: *const meta_data_t) -> Option<&'a RawMeta> {
    // SAFETY: per the contract, p is null or points to a live RawMeta.
    unsafe { p.cast::<RawMeta>().as_ref() }
}

/// Runs `f` on the locked contents of `p`; `None` if `p` is null.
///
/// # Safety
/// As [`as_raw`].
pub unsafe fn with_raw<R>(p: *const meta_data_t, f: impl FnOnce(&mut MetaData) -> R) -> Option<R> {
    // SAFETY: forwarded caller contract.
    let raw = unsafe { as_raw(p) }?;
    let mut guard = raw.lock();
    // Copies the contents first if a clone still shares them.
    Some(f(Arc::make_mut(&mut guard)))
}

/// Runs `f` on the contents of `p` without changing them (no copy even
/// when shared); `None` if `p` is null.
///
/// # Safety
/// As [`as_raw`].
pub unsafe fn with_raw_ref<R>(p: *const meta_data_t, f: impl FnOnce(&MetaData) -> R) -> Option<R> {
    // SAFETY: forwarded caller contract.
    let raw = unsafe { as_raw(p) }?;
    let guard = raw.lock();
    Some(f(&guard))
}

/// A Rust copy of the contents of `p` (`None` for null).
///
/// # Safety
/// As [`as_raw`].
pub unsafe fn to_owned(p: *const meta_data_t) -> Option<MetaData> {
    // SAFETY: forwarded caller contract.
    unsafe { with_raw_ref(p, MetaData::clone) }
}

/// A copy of `p` as a new C object (`meta_data_clone`), sharing the
/// contents until either side changes; null for null.
///
/// # Safety
/// As [`as_raw`].
pub unsafe fn clone_raw(p: *const meta_data_t) -> *mut meta_data_t {
    // SAFETY: forwarded caller contract.
    let Some(raw) = (unsafe { as_raw(p) }) else {
        return std::ptr::null_mut();
    };
    let shared = raw.lock().clone();
    shared_into_raw(shared)
}

/// Frees a C meta data object; null is ignored.
///
/// # Safety
/// `p` must be null or a pointer from this module not yet destroyed; it must
/// not be used afterwards.
pub unsafe fn destroy_raw(p: *mut meta_data_t) {
    if !p.is_null() {
        // SAFETY: p came from Box::into_raw of a RawMeta (contract).
        drop(unsafe { Box::from_raw(p.cast::<RawMeta>()) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_case_insensitively_and_keeps_order() {
        let mut md = MetaData::new();
        assert!(md.insert_str("a", MetaValue::SignedInt(1)));
        assert!(md.insert_str("B", MetaValue::Boolean(true)));
        assert!(md.insert_str("c", MetaValue::Double(0.5)));
        assert!(md.insert_str("b", MetaValue::UnsignedInt(7)));
        let keys: Vec<_> = md.keys().map(|k| k.to_str().unwrap()).collect();
        assert_eq!(keys, ["a", "b", "c"]);
        assert_eq!(md.get(b"B"), Some(&MetaValue::UnsignedInt(7)));
        assert!(md.remove(b"A"));
        assert!(!md.remove(b"a"));
        assert_eq!(md.len(), 2);
        assert!(!md.insert_str("x\0y", MetaValue::Boolean(false)));
    }

    #[test]
    fn merge_overrides_and_appends() {
        let mut a = MetaData::new();
        a.insert_str("k", MetaValue::SignedInt(1));
        a.insert_str("only_a", MetaValue::SignedInt(2));
        let mut b = MetaData::new();
        b.insert_str("K", MetaValue::String(CString::new("x").unwrap()));
        b.insert_str("only_b", MetaValue::Boolean(false));
        a.merge_from(&b);
        let keys: Vec<_> = a.keys().map(|k| k.to_str().unwrap()).collect();
        assert_eq!(keys, ["K", "only_a", "only_b"]);
        assert_eq!(a.get(b"k").unwrap().type_code(), MD_TYPE_STRING);
    }

    #[test]
    fn text_forms_match_collectd() {
        assert_eq!(MetaValue::Double(0.1).to_text(), "0.1");
        assert_eq!(MetaValue::Double(1e20).to_text(), "1e+20");
        assert_eq!(MetaValue::Double(f64::NAN).to_text(), "nan");
        assert_eq!(MetaValue::SignedInt(-5).to_text(), "-5");
        assert_eq!(
            MetaValue::UnsignedInt(u64::MAX).to_text(),
            "18446744073709551615"
        );
        assert_eq!(MetaValue::Boolean(true).to_text(), "true");
    }

    #[test]
    fn raw_round_trip() {
        let p = create_raw();
        // SAFETY: p is live until destroy_raw below.
        unsafe {
            with_raw(p, |md| md.insert_str("x", MetaValue::SignedInt(3))).unwrap();
            let q = clone_raw(p);
            assert_ne!(p, q);
            with_raw(p, |md| md.insert_str("x", MetaValue::SignedInt(4))).unwrap();
            assert_eq!(
                to_owned(q).unwrap().get(b"x"),
                Some(&MetaValue::SignedInt(3))
            );
            // Changing the clone leaves the original alone too.
            with_raw(q, |md| md.insert_str("y", MetaValue::Boolean(true))).unwrap();
            assert_eq!(to_owned(p).unwrap().len(), 1);
            assert_eq!(to_owned(q).unwrap().len(), 2);
            let r = clone_raw(q);
            destroy_raw(q);
            assert_eq!(
                with_raw_ref(r, |md| md.get(b"y").cloned()).unwrap(),
                Some(MetaValue::Boolean(true))
            );
            destroy_raw(r);
            assert!(clone_raw(std::ptr::null()).is_null());
            destroy_raw(p);
            destroy_raw(std::ptr::null_mut());
        }
    }
}
