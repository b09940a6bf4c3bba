//! The registry of C plugin callbacks: the core's lists
//! ([`rcollectd_core::registry::List`]) of `Callback`s (a C function, its
//! user data, the plugin context at registration), one per callback kind,
//! plus data sets and configuration callbacks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rcollectd_plugin::sys::{data_set_t, data_source_t};

pub use crate::abi::callbacks::{
    CacheEventFn, CacheEventSlot, Callback, ComplexConfig, ComplexConfigFn, ComplexReadFn,
    ConfigFn, FlushFn, LogFn, MissingFn, NotificationFn, SimpleConfig, UserData, VoidFn, WriteFn,
};
pub use rcollectd_core::registry::List;

/// A data set owned by the daemon, with a stable `data_set_t` address.
pub struct OwnedDataSet {
    ds: data_set_t,
    _sources: Box<[data_source_t]>,
    /// The same sources as the value cache reads them.
    cache_sources: Box<[rcollectd_core::cache::Source]>,
}

// SAFETY: immutable after construction; the raw pointer inside points into
// `_sources`, owned by the same value.
unsafe impl Send for OwnedDataSet {}
// SAFETY: see above.
unsafe impl Sync for OwnedDataSet {}

impl OwnedDataSet {
    /// Deep-copies a C data set.
    ///
    /// # Safety
    /// `ds` must point to a valid `data_set_t` whose `ds` array holds `ds_num` entries.
    pub unsafe fn copy_from(ds: *const data_set_t) -> Option<Arc<OwnedDataSet>> {
        if ds.is_null() {
            return None;
        }
        // SAFETY: caller guarantees validity.
        let src = unsafe { &*ds };
        let sources: Box<[data_source_t]> = if src.ds_num == 0 || src.ds.is_null() {
            Box::new([])
        } else {
            // SAFETY: caller guarantees `ds_num` entries at `ds`.
            unsafe { std::slice::from_raw_parts(src.ds, src.ds_num) }.into()
        };
        // SAFETY: `src.ds` holds `ds_num` entries (caller contract).
        let cache_sources = unsafe { crate::cache::sources_of(src) }.into_boxed_slice();
        let mut copy = src.to_owned();
        let mut owned = Arc::new(OwnedDataSet {
            ds: {
                copy.ds = std::ptr::null_mut();
                copy
            },
            _sources: sources,
            cache_sources,
        });
        let inner = Arc::get_mut(&mut owned)?;
        inner.ds.ds = inner._sources.as_ptr().cast_mut();
        inner.ds.ds_num = inner._sources.len();
        Some(owned)
    }

    /// The stable C view.
    pub fn as_ptr(&self) -> *const data_set_t {
        &self.ds
    }

    /// The C view as a reference (its `ds` points into this value).
    pub fn raw(&self) -> &data_set_t {
        &self.ds
    }

    /// The data sources as the value cache reads them.
    pub fn sources(&self) -> &[rcollectd_core::cache::Source] {
        &self.cache_sources
    }

    /// The type name.
    pub fn type_name(&self) -> String {
        crate::abi::ffi::cstr_field(&self.ds.type_)
    }

    /// Number of data sources.
    pub fn ds_num(&self) -> usize {
        self.ds.ds_num
    }
}

/// Every callback kind collectd knows, plus data sets and config callbacks.
#[derive(Default)]
pub struct Registry {
    /// Init callbacks, in registration order.
    pub init: List<Callback<VoidFn>>,
    /// Write callbacks.
    pub write: List<Callback<WriteFn>>,
    /// Flush callbacks.
    pub flush: List<Callback<FlushFn>>,
    /// Missing-value callbacks.
    pub missing: List<Callback<MissingFn>>,
    /// Shutdown callbacks.
    pub shutdown: List<Callback<VoidFn>>,
    /// Notification callbacks.
    pub notification: List<Callback<NotificationFn>>,
    /// Cache-event callbacks (fixed slots); change them through
    /// [`Registry::with_cache_event_slots`].
    pub cache_event: RwLock<Vec<Option<Arc<CacheEventSlot>>>>,
    /// Simple config callbacks.
    pub config: Mutex<Vec<Arc<SimpleConfig>>>,
    /// Complex config callbacks.
    pub complex_config: Mutex<Vec<Arc<ComplexConfig>>>,
    /// Data sets by type name.
    data_sets: RwLock<HashMap<String, TypeSlot>>,
    /// Every data set ever registered, so the dispatch path may hold plain
    /// `&'static` references (no reference counting per value list). Types
    /// are registered at start-up, so this stays as small as types.db.
    retained_data_sets: Mutex<Vec<Arc<OwnedDataSet>>>,
    /// Whether any cache-event callback is registered (read per value list).
    cache_event_active: AtomicBool,
}

/// A registered type. One from types.db keeps its parsed form and is built
/// into a C `data_set_t` the first time it is looked up: a daemon uses a
/// few dozen of the ~300 standard types, and the C form (152 bytes per
/// source, most of it the fixed name field) of all of them is a tenth of an
/// idle daemon's private memory.
struct TypeSlot {
    parsed: Option<rcollectd_core::types_db::DataSet>,
    built: std::sync::OnceLock<Arc<OwnedDataSet>>,
}

impl TypeSlot {
    fn built(ds: Arc<OwnedDataSet>) -> TypeSlot {
        TypeSlot {
            parsed: None,
            built: std::sync::OnceLock::from(ds),
        }
    }

    /// The C form, built on first use; `None` only if a parsed type cannot
    /// be expressed in C (never for what the types.db parser accepts).
    fn get(&self, retained: &Mutex<Vec<Arc<OwnedDataSet>>>) -> Option<Arc<OwnedDataSet>> {
        if let Some(ds) = self.built.get() {
            return Some(ds.clone());
        }
        let parsed = self.parsed.as_ref()?;
        let c = crate::types_db::ToC::to_c(parsed);
        // SAFETY: `to_c` yields a valid data set that lives for the copy.
        let owned = unsafe { OwnedDataSet::copy_from(c.as_ptr()) }?;
        let ds = self.built.get_or_init(|| {
            retained
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(owned.clone());
            owned
        });
        Some(ds.clone())
    }
}

impl Registry {
    /// Looks up a data set by type name.
    pub fn data_set(&self, name: &str) -> Option<Arc<OwnedDataSet>> {
        self.data_sets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)?
            .get(&self.retained_data_sets)
    }

    /// Looks up a data set for the dispatch path: a per-thread cache in
    /// front of the shared map, so a value list takes no lock and touches no
    /// shared counter to find its type.
    pub fn data_set_static(&self, name: &[u8]) -> Option<&'static OwnedDataSet> {
        thread_local! {
            static CACHE: std::cell::RefCell<(u64, DataSetCache)> =
                std::cell::RefCell::new((u64::MAX, DataSetCache::default()));
        }
        let generation = DATA_SETS_GENERATION.load(Ordering::Acquire);
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.0 != generation {
                c.1.clear();
                c.0 = generation;
            }
            if let Some(ds) = c.1.get(name) {
                return *ds;
            }
            let found = std::str::from_utf8(name)
                .ok()
                .and_then(|n| self.data_set(n))
                // SAFETY: every registered data set is also held by
                // `retained_data_sets` until the process exits, so the
                // pointee outlives any reference handed out here.
                .map(|arc| unsafe { &*Arc::as_ptr(&arc) });
            // Misses are cached too (an unknown type stays unknown until
            // the next registration bumps the generation); bounded so a
            // stream of distinct bogus type names cannot grow it.
            if c.1.len() >= 4096 {
                c.1.clear();
            }
            c.1.insert(name.into(), found);
            found
        })
    }

    /// Registers (or replaces) a data set; returns true if one was replaced.
    pub fn add_data_set(&self, ds: Arc<OwnedDataSet>) -> bool {
        self.retained_data_sets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ds.clone());
        self.insert_type(ds.type_name(), TypeSlot::built(ds))
    }

    /// Registers (or replaces) a type of types.db, built into its C form
    /// when first looked up; returns true if one was replaced.
    pub fn add_type(&self, ds: rcollectd_core::types_db::DataSet) -> bool {
        let name = ds.type_name.clone();
        let slot = TypeSlot {
            parsed: Some(ds),
            built: std::sync::OnceLock::new(),
        };
        self.insert_type(name, slot)
    }

    fn insert_type(&self, name: String, slot: TypeSlot) -> bool {
        let replaced = self
            .data_sets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, slot)
            .is_some();
        DATA_SETS_GENERATION.fetch_add(1, Ordering::Release);
        replaced
    }

    /// Unregisters a data set; false if there was none.
    pub fn remove_data_set(&self, name: &str) -> bool {
        let removed = self
            .data_sets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
            .is_some();
        DATA_SETS_GENERATION.fetch_add(1, Ordering::Release);
        removed
    }

    /// Forgets every data set (shutdown).
    pub fn clear_data_sets(&self) {
        self.data_sets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        DATA_SETS_GENERATION.fetch_add(1, Ordering::Release);
    }

    /// Number of data sets known.
    pub fn data_set_count(&self) -> usize {
        self.data_sets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Whether a cache-event callback is registered, without taking a lock.
    pub fn has_cache_event_callbacks(&self) -> bool {
        self.cache_event_active.load(Ordering::Acquire)
    }

    /// Changes the cache-event slots under their lock and refreshes
    /// [`Registry::has_cache_event_callbacks`].
    pub fn with_cache_event_slots<R>(
        &self,
        f: impl FnOnce(&mut Vec<Option<Arc<CacheEventSlot>>>) -> R,
    ) -> R {
        let mut slots = self.cache_event.write().unwrap_or_else(|e| e.into_inner());
        let r = f(&mut slots);
        self.cache_event_active
            .store(slots.iter().any(Option::is_some), Ordering::Release);
        r
    }
}

/// Bumped whenever any registry's data sets change; per-thread lookup
/// caches compare it to know when to start over.
static DATA_SETS_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Per-thread map from type name to data set (or to "unknown").
type DataSetCache = HashMap<Box<[u8]>, Option<&'static OwnedDataSet>, rustc_hash::FxBuildHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::ctx::Ctx;
    use rcollectd_plugin::sys::user_data_t;
    use std::ffi::c_int;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn owned_ds(name: &str, sources: usize) -> Arc<OwnedDataSet> {
        let (ds, _keep) =
            crate::cache::testutil::data_set(name, &vec![(1, f64::NAN, f64::NAN); sources]);
        // SAFETY: `ds` points into `_keep`, alive for the call.
        unsafe { OwnedDataSet::copy_from(&ds) }.expect("copy")
    }

    #[test]
    fn static_lookup_follows_registrations() {
        let r = Registry::default();
        assert!(r.data_set_static(b"reg_test").is_none());
        r.add_data_set(owned_ds("reg_test", 1));
        // The cached miss is forgotten once a data set is registered.
        assert_eq!(r.data_set_static(b"reg_test").map(|d| d.ds_num()), Some(1));
        r.add_data_set(owned_ds("reg_test", 2));
        assert_eq!(r.data_set_static(b"reg_test").map(|d| d.ds_num()), Some(2));
        assert!(r.remove_data_set("reg_test"));
        assert!(r.data_set_static(b"reg_test").is_none());
        assert!(r.data_set_static(b"\xff\xfe").is_none());
    }

    #[test]
    fn cache_event_flag_tracks_the_slots() {
        let r = Registry::default();
        assert!(!r.has_cache_event_callbacks());
        r.with_cache_event_slots(|s| s.push(None));
        assert!(!r.has_cache_event_callbacks());
    }

    static FREED: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn count_free(_p: *mut std::ffi::c_void) {
        FREED.fetch_add(1, Ordering::SeqCst);
    }
    unsafe extern "C" fn noop() -> c_int {
        0
    }

    #[test]
    fn replace_unregister_and_free_user_data_once() {
        let list: List<Callback<VoidFn>> = List::default();
        let mk = |name: &str| Callback {
            name: name.to_owned(),
            func: noop as VoidFn,
            // SAFETY: pointer to a valid local user_data_t.
            ud: unsafe {
                UserData::from_ptr(&user_data_t {
                    data: 1usize as *mut _,
                    free_func: Some(count_free),
                })
            },
            ctx: Ctx(super::super::ctx::EMPTY),
        };
        let before = FREED.load(Ordering::SeqCst);
        assert!(!list.register(mk("a")));
        assert!(!list.register(mk("b")));
        assert!(list.register(mk("a")));
        assert_eq!(FREED.load(Ordering::SeqCst) - before, 1);
        assert_eq!(list.names(), vec!["a", "b"]);
        let snap = list.snapshot();
        assert!(list.unregister("a"));
        assert!(!list.unregister("a"));
        // Still referenced by the snapshot: not freed yet.
        assert_eq!(FREED.load(Ordering::SeqCst) - before, 1);
        drop(snap);
        assert_eq!(FREED.load(Ordering::SeqCst) - before, 2);
        list.clear();
        assert_eq!(FREED.load(Ordering::SeqCst) - before, 3);
        assert!(list.is_empty());
    }
}
