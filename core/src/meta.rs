//! Meta data attached to value lists and cache entries.
//!
//! collectd keeps a small list of typed key/value pairs per value list; keys
//! compare case-insensitively, adding an existing key replaces its value in
//! place and new keys go to the end, so the table of contents keeps insertion
//! order. [`MetaData`] is that list as a Rust value (the cache keeps one per
//! entry); the rules every `meta_data_*`/`uc_meta_data_*` call follows are
//! written once against the [`MetaTable`] trait. The C object behind
//! `meta_data_t *` is the daemon's `meta::raw`.

use std::ffi::{CStr, CString};

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
        self.as_ref().to_text().unwrap_or_default()
    }
}

impl MetaRef<'_> {
    /// The textual form `meta_data_as_string` produces (doubles as `%.15g`);
    /// `None` for an unknown type.
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            MetaRef::String(s) => s.to_string_lossy().into_owned(),
            MetaRef::SignedInt(v) => v.to_string(),
            MetaRef::UnsignedInt(v) => v.to_string(),
            MetaRef::Double(v) => format_gauge(*v),
            MetaRef::Boolean(b) => (if *b { "true" } else { "false" }).to_owned(),
            MetaRef::Unknown(_) => return None,
        })
    }
}

/// Formats a double exactly as C's `printf("%.15g")` (collectd's GAUGE_FORMAT).
pub fn format_gauge(v: f64) -> String {
    let mut s = String::new();
    crate::sys::push_double(&mut s, c"%.15g", v);
    s
}

/// A borrowed view of one stored value, whatever holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetaRef<'a> {
    /// `MD_TYPE_STRING`.
    String(&'a CStr),
    /// `MD_TYPE_SIGNED_INT`.
    SignedInt(i64),
    /// `MD_TYPE_UNSIGNED_INT`.
    UnsignedInt(u64),
    /// `MD_TYPE_DOUBLE`.
    Double(f64),
    /// `MD_TYPE_BOOLEAN`.
    Boolean(bool),
    /// A type code no collectd version writes (a foreign object's garbage).
    Unknown(i32),
}

impl MetaRef<'_> {
    /// The `MD_TYPE_*` code collectd reports for this value.
    pub fn type_code(&self) -> i32 {
        match self {
            MetaRef::String(_) => MD_TYPE_STRING,
            MetaRef::SignedInt(_) => MD_TYPE_SIGNED_INT,
            MetaRef::UnsignedInt(_) => MD_TYPE_UNSIGNED_INT,
            MetaRef::Double(_) => MD_TYPE_DOUBLE,
            MetaRef::Boolean(_) => MD_TYPE_BOOLEAN,
            MetaRef::Unknown(t) => *t,
        }
    }

    /// An owned copy; `None` for an unknown type.
    pub fn to_owned(&self) -> Option<MetaValue> {
        Some(match *self {
            MetaRef::String(s) => MetaValue::String(s.to_owned()),
            MetaRef::SignedInt(v) => MetaValue::SignedInt(v),
            MetaRef::UnsignedInt(v) => MetaValue::UnsignedInt(v),
            MetaRef::Double(v) => MetaValue::Double(v),
            MetaRef::Boolean(v) => MetaValue::Boolean(v),
            MetaRef::Unknown(_) => return None,
        })
    }
}

impl MetaValue {
    /// The borrowed view of this value.
    pub fn as_ref(&self) -> MetaRef<'_> {
        match self {
            MetaValue::String(s) => MetaRef::String(s),
            MetaValue::SignedInt(v) => MetaRef::SignedInt(*v),
            MetaValue::UnsignedInt(v) => MetaRef::UnsignedInt(*v),
            MetaValue::Double(v) => MetaRef::Double(*v),
            MetaValue::Boolean(v) => MetaRef::Boolean(*v),
        }
    }
}

/// What every holder of meta data offers, so that each `meta_data_*` rule
/// (lookup, replace in place, toc order, typed getters) has one implementation
/// whether it runs on a C object or on the cache's [`MetaData`].
pub trait MetaTable {
    /// The stored spelling of `key` (compared case-insensitively) and its value.
    fn lookup(&self, key: &[u8]) -> Option<(&CStr, MetaRef<'_>)>;
    /// Sets `key`: an existing key (any case) is replaced in its slot, taking
    /// the new spelling; a new key goes to the end.
    fn insert(&mut self, key: &CStr, value: MetaValue);
    /// Removes `key`; false if absent.
    fn remove(&mut self, key: &[u8]) -> bool;
    /// The keys in table-of-contents order.
    fn key_list(&self) -> Vec<&CStr>;
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

impl MetaTable for MetaData {
    fn lookup(&self, key: &[u8]) -> Option<(&CStr, MetaRef<'_>)> {
        self.position(key).map(|i| {
            let (k, v) = &self.entries[i];
            (k.as_c_str(), v.as_ref())
        })
    }

    fn insert(&mut self, key: &CStr, value: MetaValue) {
        MetaData::insert(self, key, value);
    }

    fn remove(&mut self, key: &[u8]) -> bool {
        MetaData::remove(self, key)
    }

    fn key_list(&self) -> Vec<&CStr> {
        self.keys().collect()
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
}
