//! The value cache: last raw values, rates, state, hits, history and meta
//! data per identifier, with collectd 5.12's `utils_cache.c` semantics.
//!
//! Entries are keyed by the identifier's name as collectd formats it
//! (`host/plugin[-pi]/type[-ti]`), so the by-name C APIs find exactly what the
//! value-list APIs do. On the hot path the name is assembled into a stack
//! buffer (no allocation, no `printf`), hashed once to pick one of
//! [`SHARDS`] read/write-locked maps, and the entry itself is updated under
//! its own mutex: concurrent updates of different identifiers share no lock,
//! and updating an existing entry allocates nothing.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::os::raw::{c_char, c_int};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use rcollectd_plugin::sys::{data_set_t, data_source_t, value_list_t, value_t};

use crate::meta::{self, MetaData};
use crate::time::{self, cdtime_t};

/// `DS_TYPE_COUNTER`.
const DS_COUNTER: c_int = rcollectd_plugin::sys::DS_TYPE_COUNTER as c_int;
/// `DS_TYPE_GAUGE`.
const DS_GAUGE: c_int = rcollectd_plugin::sys::DS_TYPE_GAUGE as c_int;
/// `DS_TYPE_DERIVE`.
const DS_DERIVE: c_int = rcollectd_plugin::sys::DS_TYPE_DERIVE as c_int;
/// `DS_TYPE_ABSOLUTE`.
const DS_ABSOLUTE: c_int = rcollectd_plugin::sys::DS_TYPE_ABSOLUTE as c_int;

/// `STATE_UNKNOWN`: the state of a fresh entry.
pub const STATE_UNKNOWN: c_int = 0;
/// `STATE_ERROR`: returned by the state/hits getters for unknown identifiers.
pub const STATE_ERROR: c_int = 3;
/// `STATE_MISSING`: entries in this state are hidden from name/rate queries.
pub const STATE_MISSING: c_int = 15;

/// Number of independently locked shards.
pub const SHARDS: usize = 64;

/// Length of one identifier field (`DATA_MAX_NAME_LEN`).
const FIELD_LEN: usize = 128;
/// Room for five fields, four separators and two dashes plus the NUL.
const NAME_CAP: usize = 5 * FIELD_LEN + 8;

/// Clamps a C char array to its first NUL.
fn field(f: &[c_char]) -> &[u8] {
    crate::abi::common::field_bytes(f)
}

/// An identifier formatted as collectd's `FORMAT_VL` does, on the stack.
pub struct NameBuf {
    buf: [u8; NAME_CAP],
    len: usize,
}

impl NameBuf {
    /// Formats `host/plugin[-plugin_instance]/type[-type_instance]`.
    pub fn from_parts(host: &[u8], plugin: &[u8], pi: &[u8], ty: &[u8], ti: &[u8]) -> Self {
        let mut n = NameBuf {
            buf: [0; NAME_CAP],
            len: 0,
        };
        let parts: [(&[u8], Option<u8>); 5] = [
            (host, None),
            (plugin, Some(b'/')),
            (pi, Some(b'-')),
            (ty, Some(b'/')),
            (ti, Some(b'-')),
        ];
        for (i, (p, sep)) in parts.into_iter().enumerate() {
            let p = &p[..p.len().min(FIELD_LEN - 1)];
            let optional = i == 2 || i == 4;
            if optional && p.is_empty() {
                continue;
            }
            if let Some(s) = sep {
                n.buf[n.len] = s;
                n.len += 1;
            }
            n.buf[n.len..n.len + p.len()].copy_from_slice(p);
            n.len += p.len();
        }
        n
    }

    /// The name of a value list.
    pub fn from_vl(vl: &value_list_t) -> Self {
        Self::from_parts(
            field(&vl.host),
            field(&vl.plugin),
            field(&vl.plugin_instance),
            field(&vl.type_),
            field(&vl.type_instance),
        )
    }

    /// The formatted bytes (no NUL).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The formatted name as a C string (the buffer is zero past `len`).
    pub fn as_c_str(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.buf[..=self.len]).unwrap_or(c"")
    }
}

impl fmt::Display for NameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

/// A small multiply-rotate hasher (FxHash-like) for identifier bytes.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl FastHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(Self::K);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn shard_of(name: &[u8]) -> usize {
    let mut h = FastHasher::default();
    h.write(name);
    // Mix the high bits down: the map uses the low ones of its own hash.
    let x = h.finish();
    ((x ^ (x >> 29) ^ (x >> 47)) as usize) % SHARDS
}

/// Why [`Cache::update`] refused a value list.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheError {
    /// The value list is not newer than the cached one (collectd logs this at
    /// NOTICE level; `Display` gives its exact message).
    TooOld {
        /// Formatted identifier.
        name: String,
        /// Time of the refused value list.
        value_time: cdtime_t,
        /// Time of the cached value list.
        last_time: cdtime_t,
    },
    /// The number of values does not match the data set (or the cached entry).
    ValuesMismatch {
        /// Formatted identifier.
        name: String,
        /// Values expected.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// A data source type other than the four collectd knows.
    UnknownDsType(c_int),
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheError::TooOld {
                name,
                value_time,
                last_time,
            } => write!(
                f,
                "uc_update: Value too old: name = {name}; value time = {:.3}; last cache update = {:.3};",
                time::to_f64(*value_time),
                time::to_f64(*last_time)
            ),
            CacheError::ValuesMismatch {
                name,
                expected,
                got,
            } => write!(
                f,
                "uc_update: {name}: data set has {expected} values, but the value list has {got}"
            ),
            CacheError::UnknownDsType(t) => write!(
                f,
                "uc_update: Don't know how to handle data source type {t}."
            ),
        }
    }
}

impl std::error::Error for CacheError {}

/// What [`Cache::update`] did, so the dispatcher can send cache events:
/// `CE_VALUE_NEW` (mask 0) when `is_new`, else `CE_VALUE_UPDATE` when
/// `callbacks_mask != 0`. The event name is `NameBuf::from_vl(vl)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Updated {
    /// The identifier was not cached before.
    pub is_new: bool,
    /// The entry's cache-event callbacks mask (0 for new entries).
    pub callbacks_mask: u64,
}

/// Mutable part of a cache entry.
struct EntryState {
    values_raw: Vec<value_t>,
    values_gauge: Vec<f64>,
    /// Time contained in the value list (for rates).
    last_time: cdtime_t,
    /// Local clock at the last update (for expiry).
    last_update: cdtime_t,
    interval: cdtime_t,
    state: c_int,
    hits: c_int,
    /// `history_length` rows of `values_num` rates, ring-indexed.
    history: Vec<f64>,
    history_index: usize,
    history_length: usize,
    meta: Option<MetaData>,
    callbacks_mask: u64,
    removed: bool,
}

/// One cached identifier.
pub struct Entry {
    name: CString,
    /// host, plugin, plugin_instance, type, type_instance, NUL-separated.
    ident: Box<[u8]>,
    st: Mutex<EntryState>,
}

impl Entry {
    /// The formatted identifier; valid as long as the entry is referenced.
    pub fn name(&self) -> &CStr {
        &self.name
    }

    fn lock(&self) -> MutexGuard<'_, EntryState> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fields(&self) -> [&[u8]; 5] {
        let mut out: [&[u8]; 5] = [b""; 5];
        for (slot, part) in out.iter_mut().zip(self.ident.split(|&b| b == 0)) {
            *slot = part;
        }
        out
    }

    /// Time of the last cached value list.
    pub fn last_time(&self) -> cdtime_t {
        self.lock().last_time
    }

    /// Interval of the last cached value list.
    pub fn interval(&self) -> cdtime_t {
        self.lock().interval
    }

    /// Last raw values.
    pub fn values(&self) -> Vec<value_t> {
        self.lock().values_raw.clone()
    }

    /// A copy of the entry's meta data, if it has any.
    pub fn meta(&self) -> Option<MetaData> {
        self.lock().meta.clone()
    }

    /// False once the entry was removed or its state is `STATE_MISSING`.
    pub fn is_visible(&self) -> bool {
        let st = self.lock();
        !st.removed && st.state != STATE_MISSING
    }
}

/// An entry found stale by [`Cache::check_timeout`]: everything the runtime
/// needs to call the missing and cache-event callbacks.
#[derive(Debug, Clone)]
pub struct ExpiredEntry {
    /// Formatted identifier (the cache-event name).
    pub name: CString,
    /// Identifier fields: host, plugin, plugin_instance, type, type_instance.
    pub fields: [Vec<u8>; 5],
    /// Time of the last value list.
    pub time: cdtime_t,
    /// Interval of the last value list.
    pub interval: cdtime_t,
    /// Cache-event callbacks mask (send `CE_VALUE_EXPIRED` when non-zero).
    pub callbacks_mask: u64,
    last_update: cdtime_t,
}

impl ExpiredEntry {
    /// The value list collectd passes to missing callbacks: identifier, time
    /// and interval, no values, no meta data.
    pub fn to_value_list(&self) -> value_list_t {
        // SAFETY: value_list_t is plain C data; all-zero is VALUE_LIST_INIT.
        let mut vl: value_list_t = unsafe { std::mem::zeroed() };
        vl.time = self.time;
        vl.interval = self.interval;
        let dests: [&mut [c_char; FIELD_LEN]; 5] = [
            &mut vl.host,
            &mut vl.plugin,
            &mut vl.plugin_instance,
            &mut vl.type_,
            &mut vl.type_instance,
        ];
        for (d, s) in dests.into_iter().zip(self.fields.iter()) {
            for (dc, sc) in d.iter_mut().zip(s.iter().take(FIELD_LEN - 1)) {
                *dc = *sc as c_char;
            }
        }
        vl
    }
}

type Map = HashMap<Box<[u8]>, Arc<Entry>, BuildHasherDefault<FastHasher>>;

/// Runtime hooks for the exported `uc_check_timeout`.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutHooks {
    /// Returns the global `Timeout` factor (`timeout_g`).
    pub timeout_g: fn() -> c_int,
    /// Called once per expired entry, before removal (dispatch missing and
    /// `CE_VALUE_EXPIRED` events there).
    pub on_expired: fn(&ExpiredEntry),
}

/// The sharded value cache.
pub struct Cache {
    shards: Box<[RwLock<Map>]>,
}

impl Default for Cache {
    fn default() -> Self {
        Self::new()
    }
}

static GLOBAL: OnceLock<Cache> = OnceLock::new();
static HOOKS: OnceLock<TimeoutHooks> = OnceLock::new();

/// The daemon's cache, shared by the dispatcher and the `uc_*` exports.
pub fn global() -> &'static Cache {
    GLOBAL.get_or_init(Cache::new)
}

/// Installs the hooks `uc_check_timeout` uses (first call wins). Without
/// them it uses Timeout 2 and only removes expired entries.
pub fn set_timeout_hooks(hooks: TimeoutHooks) -> bool {
    HOOKS.set(hooks).is_ok()
}

/// The installed hooks, if any.
pub fn timeout_hooks() -> Option<&'static TimeoutHooks> {
    HOOKS.get()
}

/// Rate collectd derives from one new value (`uc_update`).
fn next_rate(ds_type: c_int, old: value_t, new: value_t, dt: f64) -> Result<f64, CacheError> {
    // SAFETY (all union reads below): the member read is the one the data
    // source type selects; every member is a plain 8-byte number, so any bit
    // pattern is a valid value.
    Ok(match ds_type {
        DS_COUNTER => {
            // SAFETY: see above.
            let (o, n) = unsafe { (old.counter, new.counter) };
            crate::abi::common::counter_diff_impl(o, n) as f64 / dt
        }
        // SAFETY: see above.
        DS_GAUGE => unsafe { new.gauge },
        DS_DERIVE => {
            // SAFETY: see above.
            let (o, n) = unsafe { (old.derive, new.derive) };
            n.wrapping_sub(o) as f64 / dt
        }
        // SAFETY: see above.
        DS_ABSOLUTE => (unsafe { new.absolute }) as f64 / dt,
        t => return Err(CacheError::UnknownDsType(t)),
    })
}

/// Rate of a brand-new entry (`uc_insert`): only gauges and absolutes have one.
fn first_rate(ds_type: c_int, v: value_t, interval: cdtime_t) -> Result<f64, CacheError> {
    Ok(match ds_type {
        DS_COUNTER | DS_DERIVE => f64::NAN,
        // SAFETY: gauge is the member a GAUGE source carries; any bits are valid.
        DS_GAUGE => unsafe { v.gauge },
        DS_ABSOLUTE if interval > 0 => {
            // SAFETY: absolute is the member an ABSOLUTE source carries.
            (unsafe { v.absolute }) as f64 / time::to_f64(interval)
        }
        DS_ABSOLUTE => f64::NAN,
        t => return Err(CacheError::UnknownDsType(t)),
    })
}

/// Values outside [min, max] become NaN (`uc_check_range`).
fn check_range(dss: &[data_source_t], gauges: &mut [f64]) {
    for (g, ds) in gauges.iter_mut().zip(dss) {
        if !g.is_nan() && (*g < ds.min || *g > ds.max) {
            *g = f64::NAN;
        }
    }
}

/// The data sources and values of a (ds, vl) pair, checked for agreement.
///
/// # Safety
/// `ds.ds` must point to `ds.ds_num` sources and `vl.values` to
/// `vl.values_len` values (or be null with a zero count).
unsafe fn slices<'a>(
    ds: &'a data_set_t,
    vl: &'a value_list_t,
    name: &NameBuf,
) -> Result<(&'a [data_source_t], &'a [value_t]), CacheError> {
    let mismatch = || CacheError::ValuesMismatch {
        name: name.to_string(),
        expected: ds.ds_num,
        got: vl.values_len,
    };
    if ds.ds_num != vl.values_len || (ds.ds_num > 0 && (ds.ds.is_null() || vl.values.is_null())) {
        return Err(mismatch());
    }
    if ds.ds_num == 0 {
        return Ok((&[], &[]));
    }
    // SAFETY: non-null with the stated lengths per the caller contract.
    unsafe {
        Ok((
            std::slice::from_raw_parts(ds.ds, ds.ds_num),
            std::slice::from_raw_parts(vl.values, vl.values_len),
        ))
    }
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Cache {
            shards: (0..SHARDS).map(|_| RwLock::new(Map::default())).collect(),
        }
    }

    fn shard(&self, name: &[u8]) -> &RwLock<Map> {
        &self.shards[shard_of(name)]
    }

    fn find(&self, name: &[u8]) -> Option<Arc<Entry>> {
        let map = self.shard(name).read().unwrap_or_else(|e| e.into_inner());
        map.get(name).cloned()
    }

    /// Feeds one value list into the cache (`uc_update`): computes rates,
    /// advances the history, refreshes the expiry clock.
    ///
    /// # Safety
    /// `ds.ds` and `vl.values` must point to `ds_num`/`values_len` elements;
    /// `vl.meta` must be null or a live meta data pointer.
    pub unsafe fn update(&self, ds: &data_set_t, vl: &value_list_t) -> Result<Updated, CacheError> {
        let name = NameBuf::from_vl(vl);
        // SAFETY: forwarded caller contract.
        let (dss, vals) = unsafe { slices(ds, vl, &name)? };
        let shard = self.shard(name.as_bytes());
        {
            let map = shard.read().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = map.get(name.as_bytes()) {
                let mut st = e.lock();
                return Self::update_existing(&mut st, dss, vals, vl, &name);
            }
        }
        // Build the entry outside the write lock.
        let mut values_gauge = Vec::with_capacity(dss.len());
        for (ds, v) in dss.iter().zip(vals) {
            values_gauge.push(first_rate(ds.type_, *v, vl.interval)?);
        }
        check_range(dss, &mut values_gauge);
        let mut ident = Vec::with_capacity(5 * 16);
        for f in [
            &vl.host[..],
            &vl.plugin[..],
            &vl.plugin_instance[..],
            &vl.type_[..],
            &vl.type_instance[..],
        ] {
            ident.extend_from_slice(field(f));
            ident.push(0);
        }
        let entry = Arc::new(Entry {
            name: CString::new(name.as_bytes()).unwrap_or_default(),
            ident: ident.into_boxed_slice(),
            st: Mutex::new(EntryState {
                values_raw: vals.to_vec(),
                values_gauge,
                last_time: vl.time,
                last_update: time::now(),
                interval: vl.interval,
                state: STATE_UNKNOWN,
                hits: 0,
                history: Vec::new(),
                history_index: 0,
                history_length: 0,
                // SAFETY: forwarded caller contract on vl.meta.
                meta: unsafe { meta::to_owned(vl.meta) },
                callbacks_mask: 0,
                removed: false,
            }),
        });
        let mut map = shard.write().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = map.get(name.as_bytes()) {
            // Another thread inserted it meanwhile: this is an update.
            let mut st = e.lock();
            return Self::update_existing(&mut st, dss, vals, vl, &name);
        }
        map.insert(name.as_bytes().into(), entry);
        Ok(Updated {
            is_new: true,
            callbacks_mask: 0,
        })
    }

    fn update_existing(
        st: &mut EntryState,
        dss: &[data_source_t],
        vals: &[value_t],
        vl: &value_list_t,
        name: &NameBuf,
    ) -> Result<Updated, CacheError> {
        if st.values_raw.len() != dss.len() {
            return Err(CacheError::ValuesMismatch {
                name: name.to_string(),
                expected: st.values_raw.len(),
                got: dss.len(),
            });
        }
        if st.last_time >= vl.time {
            return Err(CacheError::TooOld {
                name: name.to_string(),
                value_time: vl.time,
                last_time: st.last_time,
            });
        }
        let dt = time::to_f64(vl.time - st.last_time);
        // Validate all types first so a bad one leaves the entry untouched.
        for ds in dss {
            if !(DS_COUNTER..=DS_ABSOLUTE).contains(&ds.type_) {
                return Err(CacheError::UnknownDsType(ds.type_));
            }
        }
        for (i, (ds, v)) in dss.iter().zip(vals).enumerate() {
            st.values_gauge[i] = next_rate(ds.type_, st.values_raw[i], *v, dt)?;
            st.values_raw[i] = *v;
        }
        if st.history_length > 0 {
            let n = st.values_gauge.len();
            let base = n * st.history_index;
            let EntryState {
                history,
                values_gauge,
                ..
            } = st;
            history[base..base + n].copy_from_slice(values_gauge);
            st.history_index = (st.history_index + 1) % st.history_length;
        }
        check_range(dss, &mut st.values_gauge);
        st.last_time = vl.time;
        st.last_update = time::now();
        st.interval = vl.interval;
        Ok(Updated {
            is_new: false,
            callbacks_mask: st.callbacks_mask,
        })
    }

    /// Number of cached identifiers (`uc_get_size`).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries not updated for `timeout_g * interval` as of `now` (local
    /// clock), as collectd's `uc_check_timeout` selects them. Nothing is
    /// removed yet: call the missing callbacks, then [`Cache::remove_expired`].
    pub fn check_timeout(&self, now: cdtime_t, timeout_g: c_int) -> Vec<ExpiredEntry> {
        let factor = u64::try_from(timeout_g).unwrap_or(0);
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let map = shard.read().unwrap_or_else(|e| e.into_inner());
            for e in map.values() {
                let st = e.lock();
                if now.saturating_sub(st.last_update) < st.interval.saturating_mul(factor) {
                    continue;
                }
                out.push(ExpiredEntry {
                    name: e.name.clone(),
                    fields: e.fields().map(<[u8]>::to_vec),
                    time: st.last_time,
                    interval: st.interval,
                    callbacks_mask: st.callbacks_mask,
                    last_update: st.last_update,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Removes entries returned by [`Cache::check_timeout`], unless they were
    /// updated since. Returns how many were removed.
    pub fn remove_expired(&self, expired: &[ExpiredEntry]) -> usize {
        let mut removed = 0;
        for x in expired {
            let key = x.name.as_bytes();
            let mut map = self.shard(key).write().unwrap_or_else(|e| e.into_inner());
            let still_stale = map
                .get(key)
                .is_some_and(|e| e.lock().last_update == x.last_update);
            if still_stale {
                if let Some(e) = map.remove(key) {
                    e.lock().removed = true;
                    removed += 1;
                }
            }
        }
        removed
    }

    /// Expires stale entries: `on_expired` runs for each (without any cache
    /// lock held, so it may use the cache), then they are removed.
    pub fn expire(
        &self,
        now: cdtime_t,
        timeout_g: c_int,
        mut on_expired: impl FnMut(&ExpiredEntry),
    ) -> usize {
        let expired = self.check_timeout(now, timeout_g);
        for x in &expired {
            on_expired(x);
        }
        self.remove_expired(&expired)
    }

    /// Rates by formatted name (`uc_get_rate_by_name`); `None` if absent or
    /// in `STATE_MISSING`.
    pub fn rates_by_name(&self, name: &[u8]) -> Option<Vec<f64>> {
        let e = self.find(name)?;
        let st = e.lock();
        (st.state != STATE_MISSING).then(|| st.values_gauge.clone())
    }

    /// Rates of a value list's identifier (`uc_get_rate`).
    pub fn rates(&self, vl: &value_list_t) -> Option<Vec<f64>> {
        self.rates_by_name(NameBuf::from_vl(vl).as_bytes())
    }

    /// Copies the rates of `vl`'s identifier into `out` without allocating;
    /// false if absent, missing, or `out` has the wrong length.
    pub fn rates_into(&self, vl: &value_list_t, out: &mut [f64]) -> bool {
        let Some(e) = self.find(NameBuf::from_vl(vl).as_bytes()) else {
            return false;
        };
        let st = e.lock();
        if st.state == STATE_MISSING || st.values_gauge.len() != out.len() {
            return false;
        }
        out.copy_from_slice(&st.values_gauge);
        true
    }

    /// Raw values by formatted name (`uc_get_value_by_name`).
    pub fn values_by_name(&self, name: &[u8]) -> Option<Vec<value_t>> {
        let e = self.find(name)?;
        let st = e.lock();
        (st.state != STATE_MISSING).then(|| st.values_raw.clone())
    }

    /// Names and last times of all visible entries, sorted (`uc_get_names`).
    pub fn names(&self) -> Vec<(CString, cdtime_t)> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let map = shard.read().unwrap_or_else(|e| e.into_inner());
            for e in map.values() {
                let st = e.lock();
                if st.state != STATE_MISSING {
                    out.push((e.name.clone(), st.last_time));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// All entries sorted by name, for iteration without holding locks.
    pub fn snapshot(&self) -> Vec<Arc<Entry>> {
        let mut out: Vec<Arc<Entry>> = Vec::new();
        for shard in self.shards.iter() {
            let map = shard.read().unwrap_or_else(|e| e.into_inner());
            out.extend(map.values().cloned());
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    fn with_state<R>(&self, name: &[u8], f: impl FnOnce(&mut EntryState) -> R) -> Option<R> {
        let e = self.find(name)?;
        let mut st = e.lock();
        Some(f(&mut st))
    }

    /// State of `vl`'s identifier, `STATE_ERROR` if unknown (`uc_get_state`).
    pub fn state(&self, vl: &value_list_t) -> c_int {
        self.with_state(NameBuf::from_vl(vl).as_bytes(), |s| s.state)
            .unwrap_or(STATE_ERROR)
    }

    /// Sets the state, returning the previous one or -1 (`uc_set_state`).
    pub fn set_state(&self, vl: &value_list_t, state: c_int) -> c_int {
        self.with_state(NameBuf::from_vl(vl).as_bytes(), |s| {
            std::mem::replace(&mut s.state, state)
        })
        .unwrap_or(-1)
    }

    /// Hits counter, `STATE_ERROR` if unknown (`uc_get_hits`).
    pub fn hits(&self, vl: &value_list_t) -> c_int {
        self.with_state(NameBuf::from_vl(vl).as_bytes(), |s| s.hits)
            .unwrap_or(STATE_ERROR)
    }

    /// Sets the hits counter, returning the previous value or -1.
    pub fn set_hits(&self, vl: &value_list_t, hits: c_int) -> c_int {
        self.with_state(NameBuf::from_vl(vl).as_bytes(), |s| {
            std::mem::replace(&mut s.hits, hits)
        })
        .unwrap_or(-1)
    }

    /// Adds `step` to the hits counter, returning the previous value or -1.
    pub fn inc_hits(&self, vl: &value_list_t, step: c_int) -> c_int {
        self.with_state(NameBuf::from_vl(vl).as_bytes(), |s| {
            let old = s.hits;
            s.hits = old.wrapping_add(step);
            old
        })
        .unwrap_or(-1)
    }

    /// Sets the cache-event callbacks mask: 0, or -1 if unknown.
    pub fn set_callbacks_mask(&self, name: &[u8], mask: u64) -> c_int {
        match self.with_state(name, |s| s.callbacks_mask = mask) {
            Some(()) => 0,
            None => {
                log::error!(
                    "uc_set_callbacks_mask: Couldn't find {} entry!",
                    String::from_utf8_lossy(name)
                );
                -1
            }
        }
    }

    /// The last `num_steps` rate rows, newest first, into `out`
    /// (`num_steps * num_ds` values); grows the history on first use as
    /// collectd does. 0, -ENOENT, or -EINVAL when `num_ds` or `out` is wrong.
    pub fn history_by_name(
        &self,
        name: &[u8],
        out: &mut [f64],
        num_steps: usize,
        num_ds: usize,
    ) -> c_int {
        let Some(e) = self.find(name) else {
            return -libc::ENOENT;
        };
        let mut st = e.lock();
        let n = st.values_raw.len();
        if n != num_ds
            || num_steps
                .checked_mul(num_ds)
                .is_none_or(|need| out.len() < need)
        {
            return -libc::EINVAL;
        }
        if st.history_length < num_steps {
            st.history.resize(num_steps * n, f64::NAN);
            st.history_length = num_steps;
        }
        for i in 0..num_steps {
            let src = if i < st.history_index {
                st.history_index - (i + 1)
            } else {
                st.history_length + st.history_index - (i + 1)
            };
            out[i * n..(i + 1) * n].copy_from_slice(&st.history[src * n..(src + 1) * n]);
        }
        0
    }

    /// Runs `f` on the meta data of `vl`'s identifier, creating it if needed
    /// (the `uc_meta_data_*` functions); `None` if the identifier is unknown.
    pub fn with_meta<R>(&self, vl: &value_list_t, f: impl FnOnce(&mut MetaData) -> R) -> Option<R> {
        self.with_state(NameBuf::from_vl(vl).as_bytes(), |s| {
            f(s.meta.get_or_insert_with(MetaData::new))
        })
    }

    /// Drops every entry (tests and shutdown).
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let mut map = shard.write().unwrap_or_else(|e| e.into_inner());
            for e in map.values() {
                e.lock().removed = true;
            }
            map.clear();
        }
    }
}
