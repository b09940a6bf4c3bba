//! Meta data as plugins see it: the C object behind `meta_data_t *`.
//!
//! The Rust value and its rules ([`MetaData`], [`MetaTable`]) are the core's
//! `meta`. A C `meta_data_t *` points to an object laid out exactly as
//! collectd 5.12's (`struct meta_data_s { meta_entry_t *head;
//! pthread_mutex_t lock; }`, entries, keys and strings from `malloc`), see
//! [`raw`]. The layout is part of the ABI even though collectd's header keeps
//! the type opaque: several of Debian's plugins (unixsock, exec, amqp, amqp1,
//! write_kafka) carry their own static copy of collectd's meta data code.
//! They create objects that reach `plugin_dispatch_values`, and they read,
//! clone and free the objects the daemon hands to their write callbacks,
//! with their copy.

pub use rcollectd_core::meta::*;

pub use raw::{clone_raw, create_raw, destroy_raw, into_raw, to_owned, with_raw, with_raw_ref};

/// The C object behind `meta_data_t *`, in collectd 5.12's layout.
pub mod raw {
    use std::ffi::{c_char, c_int, CStr};
    use std::ptr::{addr_of_mut, null_mut};

    use rcollectd_plugin::sys::meta_data_t;

    use super::MD_TYPE_UNSIGNED_INT;
    use super::{MetaData, MetaRef, MetaTable, MetaValue};
    use super::{MD_TYPE_BOOLEAN, MD_TYPE_DOUBLE, MD_TYPE_SIGNED_INT, MD_TYPE_STRING};

    /// `union meta_value_u`.
    #[repr(C)]
    #[derive(Clone, Copy)]
    union CValue {
        string: *mut c_char,
        signed_int: i64,
        unsigned_int: u64,
        double: f64,
        boolean: bool,
    }

    /// `struct meta_entry_s`.
    #[repr(C)]
    struct CEntry {
        key: *mut c_char,
        value: CValue,
        type_: c_int,
        next: *mut CEntry,
    }

    /// `struct meta_data_s`.
    #[repr(C)]
    struct CMeta {
        head: *mut CEntry,
        lock: libc::pthread_mutex_t,
    }

    /// The entries of one C object, borrowed while its lock is held.
    pub struct Locked {
        md: *mut CMeta,
    }

    impl Locked {
        /// Locks `p`.
        ///
        /// # Safety
        /// `p` must be a live object of this layout (ours or a plugin's own
        /// copy of collectd's code), not locked by this thread.
        unsafe fn lock(p: *mut CMeta) -> Self {
            // SAFETY: the lock was initialized by whoever created the object
            // (pthread_mutex_init in create_raw or in collectd's code).
            unsafe { libc::pthread_mutex_lock(addr_of_mut!((*p).lock)) };
            Self { md: p }
        }

        fn entries(&self) -> impl Iterator<Item = *mut CEntry> + '_ {
            // SAFETY: the list is owned by the locked object; every `next`
            // is null or a live entry.
            let mut cur = unsafe { (*self.md).head };
            std::iter::from_fn(move || {
                if cur.is_null() {
                    return None;
                }
                let e = cur;
                // SAFETY: e is a live entry of the locked list.
                cur = unsafe { (*e).next };
                Some(e)
            })
        }
    }

    impl Drop for Locked {
        fn drop(&mut self) {
            // SAFETY: locked by this thread in Locked::lock.
            unsafe { libc::pthread_mutex_unlock(addr_of_mut!((*self.md).lock)) };
        }
    }

    /// A copy of `s` from `malloc` (what collectd's `free` expects); null on
    /// exhaustion.
    fn malloc_str(s: &CStr) -> *mut c_char {
        // SAFETY: s is a valid C string; strdup allocates with malloc.
        unsafe { libc::strdup(s.as_ptr()) }
    }

    /// A new entry from `calloc` holding copies of `key` and `value`; null on
    /// exhaustion.
    fn new_entry(key: &CStr, value: MetaRef<'_>) -> *mut CEntry {
        let (value, type_) = match value {
            MetaRef::String(s) => {
                let p = malloc_str(s);
                if p.is_null() {
                    return null_mut();
                }
                (CValue { string: p }, MD_TYPE_STRING)
            }
            MetaRef::SignedInt(v) => (CValue { signed_int: v }, MD_TYPE_SIGNED_INT),
            MetaRef::UnsignedInt(v) => (CValue { unsigned_int: v }, MD_TYPE_UNSIGNED_INT),
            MetaRef::Double(v) => (CValue { double: v }, MD_TYPE_DOUBLE),
            MetaRef::Boolean(v) => (CValue { boolean: v }, MD_TYPE_BOOLEAN),
            MetaRef::Unknown(t) => (CValue { unsigned_int: 0 }, t),
        };
        // SAFETY: calloc of one entry; checked for null before use.
        let e = unsafe { libc::calloc(1, std::mem::size_of::<CEntry>()) }.cast::<CEntry>();
        let k = malloc_str(key);
        if e.is_null() || k.is_null() {
            // SAFETY: each is null or from malloc; the string value is ours.
            unsafe {
                libc::free(e.cast());
                libc::free(k.cast());
                if type_ == MD_TYPE_STRING {
                    libc::free(value.string.cast());
                }
            }
            return null_mut();
        }
        // SAFETY: e is a fresh, zeroed entry.
        unsafe {
            e.write(CEntry {
                key: k,
                value,
                type_,
                next: null_mut(),
            })
        };
        e
    }

    /// Frees one entry (not its successors), as collectd's `md_entry_free`.
    ///
    /// # Safety
    /// `e` is a live entry no list refers to any more.
    unsafe fn free_entry(e: *mut CEntry) {
        // SAFETY: per the contract, everything it owns came from malloc.
        unsafe {
            libc::free((*e).key.cast());
            if (*e).type_ == MD_TYPE_STRING {
                libc::free((*e).value.string.cast());
            }
            libc::free(e.cast());
        }
    }

    /// The value an entry holds.
    ///
    /// # Safety
    /// `e` is a live entry; the view must not outlive it.
    unsafe fn value_of<'a>(e: *const CEntry) -> MetaRef<'a> {
        // SAFETY: the union member read is the one `type_` names.
        unsafe {
            let v = (*e).value;
            match (*e).type_ {
                MD_TYPE_STRING if !v.string.is_null() => MetaRef::String(CStr::from_ptr(v.string)),
                MD_TYPE_SIGNED_INT => MetaRef::SignedInt(v.signed_int),
                MD_TYPE_UNSIGNED_INT => MetaRef::UnsignedInt(v.unsigned_int),
                MD_TYPE_DOUBLE => MetaRef::Double(v.double),
                MD_TYPE_BOOLEAN => MetaRef::Boolean(v.boolean),
                t => MetaRef::Unknown(t),
            }
        }
    }

    /// The key of an entry.
    ///
    /// # Safety
    /// `e` is a live entry; the view must not outlive it.
    unsafe fn key_of<'a>(e: *const CEntry) -> &'a CStr {
        // SAFETY: keys are NUL-terminated strings owned by the entry.
        unsafe { CStr::from_ptr((*e).key) }
    }

    impl Locked {
        /// The entry under `key` and its predecessor (null for the head).
        fn find(&self, key: &[u8]) -> Option<(*mut CEntry, *mut CEntry)> {
            let mut prev = null_mut();
            for e in self.entries() {
                // SAFETY: e is live while the lock is held.
                if unsafe { key_of(e) }.to_bytes().eq_ignore_ascii_case(key) {
                    return Some((prev, e));
                }
                prev = e;
            }
            None
        }

        /// Unlinks `e` (after `prev`, null for the head) and links `with` in
        /// its place (or nothing when null).
        fn unlink(&mut self, prev: *mut CEntry, e: *mut CEntry, with: *mut CEntry) {
            // SAFETY: prev and e are live entries of the locked list.
            unsafe {
                let next = (*e).next;
                let replacement = if with.is_null() {
                    next
                } else {
                    (*with).next = next;
                    with
                };
                if prev.is_null() {
                    (*self.md).head = replacement;
                } else {
                    (*prev).next = replacement;
                }
                free_entry(e);
            }
        }
    }

    impl MetaTable for Locked {
        fn lookup(&self, key: &[u8]) -> Option<(&CStr, MetaRef<'_>)> {
            // SAFETY: the entry lives as long as the lock, which `self` holds.
            self.find(key)
                .map(|(_, e)| unsafe { (key_of(e), value_of(e)) })
        }

        fn insert(&mut self, key: &CStr, value: MetaValue) {
            let e = new_entry(key, value.as_ref());
            if e.is_null() {
                log::error!("md_entry_alloc: calloc failed.");
                return;
            }
            match self.find(key.to_bytes()) {
                Some((prev, old)) => self.unlink(prev, old, e),
                None => match self.entries().last() {
                    // SAFETY: last is a live entry of the locked list.
                    Some(last) => unsafe { (*last).next = e },
                    // SAFETY: the object is locked by self.
                    None => unsafe { (*self.md).head = e },
                },
            }
        }

        fn remove(&mut self, key: &[u8]) -> bool {
            match self.find(key) {
                Some((prev, e)) => {
                    self.unlink(prev, e, null_mut());
                    true
                }
                None => false,
            }
        }

        fn key_list(&self) -> Vec<&CStr> {
            // SAFETY: entries live as long as the lock, which `self` holds.
            self.entries().map(|e| unsafe { key_of(e) }).collect()
        }
    }

    /// A new empty C object; null on exhaustion.
    pub fn create_raw() -> *mut meta_data_t {
        // SAFETY: calloc of one object, checked; the lock is initialized
        // before the pointer is handed out.
        unsafe {
            let md = libc::calloc(1, std::mem::size_of::<CMeta>()).cast::<CMeta>();
            if md.is_null() {
                log::error!("meta_data_create: calloc failed.");
                return null_mut();
            }
            libc::pthread_mutex_init(addr_of_mut!((*md).lock), std::ptr::null());
            md.cast()
        }
    }

    /// A C object holding a copy of `md`; free it with [`destroy_raw`].
    pub fn into_raw(md: MetaData) -> *mut meta_data_t {
        let p = create_raw();
        if !p.is_null() {
            // SAFETY: p is a fresh object of this layout.
            unsafe {
                with_raw(p, |t| {
                    for (k, v) in md.iter() {
                        t.insert(k, v.clone());
                    }
                })
            };
        }
        p
    }

    /// Runs `f` on the locked entries of `p`; `None` if `p` is null.
    ///
    /// # Safety
    /// `p` must be null or a live object of collectd's layout, not locked by
    /// this thread, for the duration of the call.
    pub unsafe fn with_raw<R>(
        p: *const meta_data_t,
        f: impl FnOnce(&mut Locked) -> R,
    ) -> Option<R> {
        if p.is_null() {
            return None;
        }
        // SAFETY: forwarded caller contract.
        let mut locked = unsafe { Locked::lock(p.cast_mut().cast()) };
        Some(f(&mut locked))
    }

    /// Runs `f` on the entries of `p` without changing them.
    ///
    /// # Safety
    /// As [`with_raw`].
    pub unsafe fn with_raw_ref<R>(
        p: *const meta_data_t,
        f: impl FnOnce(&Locked) -> R,
    ) -> Option<R> {
        // SAFETY: forwarded caller contract.
        unsafe { with_raw(p, |l| f(l)) }
    }

    /// A Rust copy of the contents of `p` (`None` for null); entries of an
    /// unknown type are left out.
    ///
    /// # Safety
    /// As [`with_raw`].
    pub unsafe fn to_owned(p: *const meta_data_t) -> Option<MetaData> {
        // SAFETY: forwarded caller contract.
        unsafe {
            with_raw_ref(p, |l| {
                let mut md = MetaData::new();
                for e in l.entries() {
                    if let Some(v) = value_of(e).to_owned() {
                        md.insert(key_of(e), v);
                    }
                }
                md
            })
        }
    }

    /// A deep copy of `p` as a new C object (`meta_data_clone`); null for null.
    ///
    /// # Safety
    /// As [`with_raw`].
    pub unsafe fn clone_raw(p: *const meta_data_t) -> *mut meta_data_t {
        if p.is_null() {
            return null_mut();
        }
        let copy = create_raw();
        if copy.is_null() {
            return copy;
        }
        // SAFETY: forwarded caller contract; copy is fresh and not shared,
        // so its list is built without taking its lock.
        unsafe {
            with_raw_ref(p, |l| {
                let mut tail: *mut *mut CEntry = addr_of_mut!((*copy.cast::<CMeta>()).head);
                for e in l.entries() {
                    let c = new_entry(key_of(e), value_of(e));
                    if c.is_null() {
                        log::error!("md_entry_alloc: calloc failed.");
                        break;
                    }
                    *tail = c;
                    tail = addr_of_mut!((*c).next);
                }
            });
        }
        copy
    }

    /// Frees a C object and everything it owns; null is ignored.
    ///
    /// # Safety
    /// `p` must be null or a live object of collectd's layout that nothing
    /// uses afterwards.
    pub unsafe fn destroy_raw(p: *mut meta_data_t) {
        if p.is_null() {
            return;
        }
        let md = p.cast::<CMeta>();
        // SAFETY: per the contract the object and its entries are ours to free.
        unsafe {
            let mut e = (*md).head;
            while !e.is_null() {
                let next = (*e).next;
                free_entry(e);
                e = next;
            }
            libc::pthread_mutex_destroy(addr_of_mut!((*md).lock));
            libc::free(md.cast());
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn layout_is_collectds() {
            // x86_64 / aarch64 glibc: pointer + 40-byte mutex; entry 32 bytes.
            assert_eq!(
                std::mem::size_of::<CMeta>(),
                8 + std::mem::size_of::<libc::pthread_mutex_t>()
            );
            assert_eq!(std::mem::size_of::<CEntry>(), 32);
            assert_eq!(std::mem::offset_of!(CEntry, type_), 16);
            assert_eq!(std::mem::offset_of!(CEntry, next), 24);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_round_trip() {
        let p = create_raw();
        // SAFETY: every object is live until destroyed below.
        unsafe {
            with_raw(p, |t| t.insert(c"x", MetaValue::SignedInt(3))).unwrap();
            let q = clone_raw(p);
            assert_ne!(p, q);
            with_raw(p, |t| t.insert(c"X", MetaValue::SignedInt(4))).unwrap();
            assert_eq!(
                to_owned(q).unwrap().get(b"x"),
                Some(&MetaValue::SignedInt(3))
            );
            // Replacing keeps the slot and takes the new spelling.
            with_raw(p, |t| t.insert(c"s", MetaValue::String(c"v".into()))).unwrap();
            with_raw(p, |t| t.insert(c"x", MetaValue::Boolean(true))).unwrap();
            let keys: Vec<_> = to_owned(p).unwrap().keys().map(|k| k.to_owned()).collect();
            assert_eq!(keys, [c"x".to_owned(), c"s".to_owned()]);
            // Changing the clone leaves the original alone too.
            with_raw(q, |t| t.insert(c"y", MetaValue::Boolean(true))).unwrap();
            assert_eq!(to_owned(p).unwrap().len(), 2);
            assert_eq!(to_owned(q).unwrap().len(), 2);
            let r = clone_raw(q);
            destroy_raw(q);
            assert_eq!(
                with_raw_ref(r, |t| t
                    .lookup(b"Y")
                    .map(|(k, v)| (k.to_owned(), v.to_owned())))
                .unwrap(),
                Some((c"y".to_owned(), Some(MetaValue::Boolean(true))))
            );
            assert!(with_raw(r, |t| t.remove(b"x")).unwrap());
            assert!(!with_raw(r, |t| t.remove(b"x")).unwrap());
            assert_eq!(with_raw_ref(r, |t| t.key_list().len()).unwrap(), 1);
            destroy_raw(r);
            assert!(clone_raw(std::ptr::null()).is_null());
            destroy_raw(p);
            destroy_raw(std::ptr::null_mut());
        }
    }
}
