//! The value cache: last raw values, rates, state, hits, history and meta
//! data per identifier, with collectd 5.12's `utils_cache.c` semantics.
//!
//! Entries are keyed by the identifier's name as collectd formats it
//! (`host/plugin[-pi]/type[-ti]`), so the by-name C APIs find exactly what the
//! value-list APIs do. On the hot path that name is never built: the five
//! fields are hashed as a stream that equals the hash of the formatted name,
//! the hash picks one of [`SHARDS`] read/write-locked maps keyed by the hash,
//! and candidates are confirmed by comparing their stored name field by field.
//! The entry itself is updated under its own mutex: concurrent updates of
//! different identifiers share no lock, and updating an existing entry
//! allocates nothing.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::meta::MetaData;
use crate::time::{self, cdtime_t};
use crate::types_db::DsType;

/// `DS_TYPE_COUNTER`.
const DS_COUNTER: i32 = DsType::Counter as i32;
/// `DS_TYPE_GAUGE`.
const DS_GAUGE: i32 = DsType::Gauge as i32;
/// `DS_TYPE_DERIVE`.
const DS_DERIVE: i32 = DsType::Derive as i32;
/// `DS_TYPE_ABSOLUTE`.
const DS_ABSOLUTE: i32 = DsType::Absolute as i32;

/// A value as the cache keeps it: the eight bytes of collectd's `value_t`
/// union, read as the data source's type says (`f64` bits for a gauge,
/// `u64` for a counter or absolute, `i64` for a derive).
pub type RawValue = u64;

/// One data source as the cache reads it: its `DS_TYPE_*` code (kept raw,
/// so a plugin's unknown type is an error at update time, as in collectd)
/// and its valid range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Source {
    /// `DS_TYPE_COUNTER`, `_GAUGE`, `_DERIVE` or `_ABSOLUTE`.
    pub ds_type: i32,
    /// Smallest valid value (NaN: unbounded).
    pub min: f64,
    /// Largest valid value (NaN: unbounded).
    pub max: f64,
}

/// Where a new entry's meta data comes from: read only when an identifier
/// is first cached, so the dispatch path copies no meta data otherwise.
pub trait MetaSource {
    /// A copy of the value list's meta data, if it has any.
    fn snapshot(&self) -> Option<MetaData>;
}

/// `STATE_UNKNOWN`: the state of a fresh entry.
pub const STATE_UNKNOWN: i32 = 0;
/// `STATE_ERROR`: returned by the state/hits getters for unknown identifiers.
pub const STATE_ERROR: i32 = 3;
/// `STATE_MISSING`: entries in this state are hidden from name/rate queries.
pub const STATE_MISSING: i32 = 15;

/// Number of independently locked shards.
pub const SHARDS: usize = 64;

/// A small folded-multiply hasher for identifier bytes: one 64x64->128 bit
/// multiply per 16 input bytes (the same construction as ahash's fallback),
/// which keeps the dependency chain short on the hot path.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl FastHasher {
    const K1: u64 = 0x243f_6a88_85a3_08d3;
    const K2: u64 = 0x1319_8a2e_0370_7344;
    const K3: u64 = 0xa409_3822_299f_31d0;

    #[inline(always)]
    fn fold_mul(a: u64, b: u64) -> u64 {
        let r = u128::from(a) * u128::from(b);
        (r as u64) ^ ((r >> 64) as u64)
    }

    #[inline(always)]
    fn word(bytes: &[u8]) -> u64 {
        let mut w = [0u8; 8];
        w[..bytes.len()].copy_from_slice(bytes);
        u64::from_le_bytes(w)
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(16);
        for c in &mut chunks {
            let (a, b) = c.split_at(8);
            h = Self::fold_mul(Self::word(a) ^ h ^ Self::K1, Self::word(b) ^ Self::K2);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let (a, b) = rest.split_at(rest.len().min(8));
            let tag = (rest.len() as u64) << 56;
            h = Self::fold_mul(Self::word(a) ^ h ^ Self::K1, Self::word(b) ^ tag ^ Self::K2);
        }
        self.0 = h;
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.0 = Self::fold_mul(self.0 ^ n as u64 ^ Self::K3, Self::K2);
    }

    #[inline]
    fn finish(&self) -> u64 {
        Self::fold_mul(self.0 ^ Self::K3, Self::K1)
    }
}

/// Streaming hash of a formatted identifier: the same value whether the
/// bytes arrive as one name (by-name lookups) or field by field straight from
/// a value list (the hot path, which never formats the name).
#[derive(Clone, Copy)]
struct NameHasher {
    h: u64,
    pending: [u8; 16],
    plen: usize,
    total: u64,
}

impl NameHasher {
    #[inline(always)]
    fn new() -> Self {
        NameHasher {
            h: 0,
            pending: [0; 16],
            plen: 0,
            total: 0,
        }
    }

    #[inline(always)]
    fn block(&mut self, b: &[u8; 16]) {
        let (a, c) = b.split_at(8);
        self.h = FastHasher::fold_mul(
            FastHasher::word(a) ^ self.h ^ FastHasher::K1,
            FastHasher::word(c) ^ FastHasher::K2,
        );
    }

    #[inline(always)]
    fn feed(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        if self.plen > 0 {
            let take = bytes.len().min(16 - self.plen);
            self.pending[self.plen..self.plen + take].copy_from_slice(&bytes[..take]);
            self.plen += take;
            bytes = &bytes[take..];
            if self.plen < 16 {
                return;
            }
            let p = self.pending;
            self.block(&p);
            self.plen = 0;
        }
        let mut chunks = bytes.chunks_exact(16);
        for c in &mut chunks {
            let mut b = [0u8; 16];
            b.copy_from_slice(c);
            self.block(&b);
        }
        let rest = chunks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.plen = rest.len();
    }

    #[inline(always)]
    fn finish(mut self) -> u64 {
        if self.plen > 0 {
            self.pending[self.plen..].fill(0);
            let p = self.pending;
            self.block(&p);
        }
        FastHasher::fold_mul(self.h ^ self.total ^ FastHasher::K3, FastHasher::K1)
    }
}

/// Hash of a formatted name.
fn hash_name(name: &[u8]) -> u64 {
    let mut h = NameHasher::new();
    h.feed(name);
    h.finish()
}

/// Hash of an identifier's fields, equal to `hash_name` of its name.
#[inline(always)]
fn hash_fields(fields: Fields<'_>) -> u64 {
    let mut h = NameHasher::new();
    let [host, plugin, pi, ty, ti] = fields;
    h.feed(host);
    h.feed(b"/");
    h.feed(plugin);
    if !pi.is_empty() {
        h.feed(b"-");
        h.feed(pi);
    }
    h.feed(b"/");
    h.feed(ty);
    if !ti.is_empty() {
        h.feed(b"-");
        h.feed(ti);
    }
    h.finish()
}

/// A value list's host, plugin, plugin instance, type and type instance,
/// each clamped to its NUL and to `DATA_MAX_NAME_LEN - 1` bytes as
/// `FORMAT_VL` reads them: measured once, then hashed, matched and copied.
pub type Fields<'a> = [&'a [u8]; 5];

/// A value list as the cache takes it: the identifier fields its caller
/// measured once, and the rest of what an update reads. The dispatch path
/// builds one without copying the plugin's whole value list.
#[derive(Clone, Copy)]
pub struct Sample<'a> {
    /// The identifier.
    pub fields: Fields<'a>,
    /// The value list's time (not 0: the dispatcher has filled it in).
    pub time: cdtime_t,
    /// Its interval.
    pub interval: cdtime_t,
    /// Its values, one per data source.
    pub values: &'a [RawValue],
    /// Its meta data, if it has any.
    pub meta: Option<&'a dyn MetaSource>,
}

impl Sample<'_> {
    fn name(&self) -> Vec<u8> {
        format_name(self.fields)
    }
}

/// collectd's formatted identifier of `fields`.
pub fn format_name(fields: Fields<'_>) -> Vec<u8> {
    let [host, plugin, pi, ty, ti] = fields;
    crate::ident::Parts {
        host,
        plugin,
        plugin_instance: Some(pi),
        type_: ty,
        type_instance: Some(ti),
    }
    .format()
}

/// True if `name` is exactly the formatted identifier of `fields`.
#[inline(always)]
fn name_matches_fields(name: &[u8], fields: Fields<'_>) -> bool {
    let [host, plugin, pi, ty, ti] = fields;
    let mut rest = name;
    let mut eat = |part: &[u8]| -> bool {
        match rest.strip_prefix(part) {
            Some(r) => {
                rest = r;
                true
            }
            None => false,
        }
    };
    let ok = eat(host)
        && eat(b"/")
        && eat(plugin)
        && (pi.is_empty() || (eat(b"-") && eat(pi)))
        && eat(b"/")
        && eat(ty)
        && (ti.is_empty() || (eat(b"-") && eat(ti)));
    ok && rest.is_empty()
}

/// Shard of a name hash (its top bits; the map uses the rest).
#[inline(always)]
fn shard_of(hash: u64) -> usize {
    (hash >> 58) as usize % SHARDS
}

/// Hasher for keys that already are hashes.
#[derive(Default, Clone, Copy)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn write(&mut self, bytes: &[u8]) {
        let mut f = FastHasher(self.0);
        f.write(bytes);
        self.0 = f.finish();
    }

    #[inline(always)]
    fn write_u64(&mut self, n: u64) {
        // The shard took the top bits; rotate fresh ones into hashbrown's tag.
        self.0 = n.rotate_left(7);
    }

    #[inline(always)]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Entries sharing one 64-bit name hash (almost always exactly one).
enum Slot {
    One(Arc<Entry>),
    Many(Vec<Arc<Entry>>),
}

impl Slot {
    fn iter(&self) -> std::slice::Iter<'_, Arc<Entry>> {
        match self {
            Slot::One(e) => std::slice::from_ref(e).iter(),
            Slot::Many(v) => v.iter(),
        }
    }
}

/// One shard: name hash -> entries, plus the entry count.
#[derive(Default)]
struct Shard {
    map: HashMap<u64, Slot, BuildHasherDefault<PassThrough>>,
    count: usize,
}

impl Shard {
    #[inline(always)]
    fn find(&self, hash: u64, matches: impl Fn(&Entry) -> bool) -> Option<&Arc<Entry>> {
        self.map.get(&hash)?.iter().find(|e| matches(e))
    }

    fn insert(&mut self, hash: u64, e: Arc<Entry>) {
        match self.map.remove(&hash) {
            None => {
                self.map.insert(hash, Slot::One(e));
            }
            Some(Slot::One(old)) => {
                self.map.insert(hash, Slot::Many(vec![old, e]));
            }
            Some(Slot::Many(mut v)) => {
                v.push(e);
                self.map.insert(hash, Slot::Many(v));
            }
        }
        self.count += 1;
    }

    fn remove(&mut self, hash: u64, name: &[u8]) -> Option<Arc<Entry>> {
        let slot = self.map.remove(&hash)?;
        let mut v = match slot {
            Slot::One(e) => vec![e],
            Slot::Many(v) => v,
        };
        let pos = v.iter().position(|e| e.name.as_bytes() == name);
        let removed = pos.map(|i| v.remove(i));
        match v.len() {
            0 => {}
            1 => {
                let e = v.pop().expect("one element");
                self.map.insert(hash, Slot::One(e));
            }
            _ => {
                self.map.insert(hash, Slot::Many(v));
            }
        }
        if removed.is_some() {
            self.count -= 1;
        }
        removed
    }

    fn entries(&self) -> impl Iterator<Item = &Arc<Entry>> {
        self.map.values().flat_map(Slot::iter)
    }
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
    UnknownDsType(i32),
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
/// `callbacks_mask != 0`. The event name is the formatted identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Updated {
    /// The identifier was not cached before.
    pub is_new: bool,
    /// The entry's cache-event callbacks mask (0 for new entries).
    pub callbacks_mask: u64,
}

/// The rates the cache held for one identifier right after one value list
/// passed it: what a writer of that value list gets from `uc_get_rate`, even
/// when later value lists of the identifier have passed the cache since.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum SampleRates {
    /// No rates: the entry is missing, or nothing was recorded.
    #[default]
    Unknown,
    /// Up to four rates, stored without an allocation.
    Inline { len: u8, rates: [f64; 4] },
    /// More than four rates.
    Heap(Box<[f64]>),
}

impl SampleRates {
    /// Copies the entry's current rates (none while it is missing).
    fn record(&mut self, st: &EntryState) {
        let r = &st.values_gauge;
        *self = if st.state == STATE_MISSING {
            SampleRates::Unknown
        } else if r.len() <= 4 {
            let mut rates = [0.0; 4];
            rates[..r.len()].copy_from_slice(r);
            SampleRates::Inline {
                len: r.len() as u8,
                rates,
            }
        } else {
            SampleRates::Heap(r.as_slice().into())
        };
    }

    /// The recorded rates, if any.
    pub fn as_slice(&self) -> Option<&[f64]> {
        match self {
            SampleRates::Unknown => None,
            SampleRates::Inline { len, rates } => Some(&rates[..usize::from(*len)]),
            SampleRates::Heap(r) => Some(r),
        }
    }
}

/// Mutable part of a cache entry.
struct EntryState {
    values_raw: Vec<RawValue>,
    values_gauge: Vec<f64>,
    /// Time contained in the value list (for rates).
    last_time: cdtime_t,
    /// Local clock at the last update (for expiry).
    last_update: cdtime_t,
    /// Number of accepted updates, to detect updates racing an expiry.
    generation: u64,
    interval: cdtime_t,
    state: i32,
    hits: i32,
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

    fn fields(&self) -> Fields<'_> {
        split_ident(&self.ident)
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
    pub fn values(&self) -> Vec<RawValue> {
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
    generation: u64,
}

/// The sharded value cache.
pub struct Cache {
    shards: Box<[RwLock<Shard>]>,
}

impl Default for Cache {
    fn default() -> Self {
        Self::new()
    }
}

/// Rate collectd derives from one new value (`uc_update`).
fn next_rate(ds_type: i32, old: RawValue, new: RawValue, dt: f64) -> Result<f64, CacheError> {
    Ok(match ds_type {
        DS_COUNTER => crate::counter::diff(old, new) as f64 / dt,
        DS_GAUGE => f64::from_bits(new),
        DS_DERIVE => (new as i64).wrapping_sub(old as i64) as f64 / dt,
        DS_ABSOLUTE => new as f64 / dt,
        t => return Err(CacheError::UnknownDsType(t)),
    })
}

/// Rate of a brand-new entry (`uc_insert`): only gauges and absolutes have one.
fn first_rate(ds_type: i32, v: RawValue, interval: cdtime_t) -> Result<f64, CacheError> {
    Ok(match ds_type {
        DS_GAUGE => f64::from_bits(v),
        DS_ABSOLUTE if interval > 0 => v as f64 / time::to_f64(interval),
        DS_COUNTER | DS_DERIVE | DS_ABSOLUTE => f64::NAN,
        t => return Err(CacheError::UnknownDsType(t)),
    })
}

/// Values outside [min, max] become NaN (`uc_check_range`).
fn check_range(dss: &[Source], gauges: &mut [f64]) {
    for (g, ds) in gauges.iter_mut().zip(dss) {
        if !g.is_nan() && (*g < ds.min || *g > ds.max) {
            *g = f64::NAN;
        }
    }
}

/// The data sources of a sample, checked to agree with its values.
fn sources<'a>(dss: &'a [Source], s: &Sample<'_>) -> Result<&'a [Source], CacheError> {
    if dss.len() != s.values.len() {
        return Err(CacheError::ValuesMismatch {
            name: String::from_utf8_lossy(&s.name()).into_owned(),
            expected: dss.len(),
            got: s.values.len(),
        });
    }
    Ok(dss)
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Cache {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
        }
    }

    fn shard(&self, hash: u64) -> &RwLock<Shard> {
        &self.shards[shard_of(hash)]
    }

    fn find(&self, name: &[u8]) -> Option<Arc<Entry>> {
        let hash = hash_name(name);
        let shard = self.shard(hash).read().unwrap_or_else(|e| e.into_inner());
        shard.find(hash, |e| e.name.as_bytes() == name).cloned()
    }

    fn find_fields(&self, fields: Fields<'_>) -> Option<Arc<Entry>> {
        let hash = hash_fields(fields);
        let shard = self.shard(hash).read().unwrap_or_else(|e| e.into_inner());
        shard
            .find(hash, |e| name_matches_fields(e.name.as_bytes(), fields))
            .cloned()
    }

    /// Feeds one value list into the cache (`uc_update`): computes rates,
    /// advances the history, refreshes the expiry clock. The caller
    /// measures each identifier field once and copies no value list.
    /// `rates`, when given, receives the rates a writer of this very value
    /// list sees (`uc_get_rate` from its write callback), as collectd's
    /// writer computes them right before writing: the new rates, or the
    /// cached ones when the value list is refused as not newer.
    pub fn update_sample(
        &self,
        dss: &[Source],
        s: &Sample<'_>,
        mut rates: Option<&mut SampleRates>,
    ) -> Result<Updated, CacheError> {
        let dss = sources(dss, s)?;
        let hash = hash_fields(s.fields);
        let shard = self.shard(hash);
        {
            let map = shard.read().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = map.find(hash, |e| name_matches_fields(e.name.as_bytes(), s.fields)) {
                let mut st = e.lock();
                let result = Self::update_existing(&mut st, dss, s);
                if let Some(out) = rates.as_deref_mut() {
                    out.record(&st);
                }
                return result;
            }
        }
        self.insert_new(hash, dss, s, rates)
    }

    /// The first value list of an identifier: builds and inserts its entry.
    /// Kept out of line so the hot update path stays small.
    #[cold]
    #[inline(never)]
    fn insert_new(
        &self,
        hash: u64,
        dss: &[Source],
        s: &Sample<'_>,
        mut rates: Option<&mut SampleRates>,
    ) -> Result<Updated, CacheError> {
        let shard = self.shard(hash);
        let name = s.name();
        let vals = s.values;
        // Build the entry outside the write lock.
        let mut values_gauge = Vec::with_capacity(dss.len());
        for (ds, v) in dss.iter().zip(vals) {
            values_gauge.push(first_rate(ds.ds_type, *v, s.interval)?);
        }
        check_range(dss, &mut values_gauge);
        let mut ident = Vec::with_capacity(5 * 16);
        for f in s.fields {
            ident.extend_from_slice(f);
            ident.push(0);
        }
        let entry = Arc::new(Entry {
            name: CString::new(name.as_slice()).unwrap_or_default(),
            ident: ident.into_boxed_slice(),
            st: Mutex::new(EntryState {
                values_raw: vals.to_vec(),
                values_gauge,
                last_time: s.time,
                last_update: time::now_coarse(),
                generation: 0,
                interval: s.interval,
                state: STATE_UNKNOWN,
                hits: 0,
                history: Vec::new(),
                history_index: 0,
                history_length: 0,
                meta: s.meta.and_then(MetaSource::snapshot),
                callbacks_mask: 0,
                removed: false,
            }),
        });
        let mut map = shard.write().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = map.find(hash, |e| e.name.as_bytes() == name.as_slice()) {
            // Another thread inserted it meanwhile: this is an update.
            let mut st = e.lock();
            let result = Self::update_existing(&mut st, dss, s);
            if let Some(out) = rates.as_deref_mut() {
                out.record(&st);
            }
            return result;
        }
        if let Some(out) = rates {
            out.record(&entry.lock());
        }
        map.insert(hash, entry);
        Ok(Updated {
            is_new: true,
            callbacks_mask: 0,
        })
    }

    fn update_existing(
        st: &mut EntryState,
        dss: &[Source],
        s: &Sample<'_>,
    ) -> Result<Updated, CacheError> {
        let vals = s.values;
        if st.values_raw.len() != dss.len() {
            return Err(CacheError::ValuesMismatch {
                name: String::from_utf8_lossy(&s.name()).into_owned(),
                expected: st.values_raw.len(),
                got: dss.len(),
            });
        }
        if st.last_time >= s.time {
            return Err(CacheError::TooOld {
                name: String::from_utf8_lossy(&s.name()).into_owned(),
                value_time: s.time,
                last_time: st.last_time,
            });
        }
        let dt = time::to_f64(s.time - st.last_time);
        // Validate all types first so a bad one leaves the entry untouched.
        for ds in dss {
            if !(DS_COUNTER..=DS_ABSOLUTE).contains(&ds.ds_type) {
                return Err(CacheError::UnknownDsType(ds.ds_type));
            }
        }
        for (i, (ds, v)) in dss.iter().zip(vals).enumerate() {
            st.values_gauge[i] = next_rate(ds.ds_type, st.values_raw[i], *v, dt)?;
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
        st.last_time = s.time;
        st.last_update = time::now_coarse();
        st.generation += 1;
        st.interval = s.interval;
        Ok(Updated {
            is_new: false,
            callbacks_mask: st.callbacks_mask,
        })
    }

    /// Number of cached identifiers (`uc_get_size`).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()).count)
            .sum()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries not updated for `timeout_g * interval` as of `now` (local
    /// clock), as collectd's `uc_check_timeout` selects them. Nothing is
    /// removed yet: call the missing callbacks, then [`Cache::remove_expired`].
    pub fn check_timeout(&self, now: cdtime_t, timeout_g: i32) -> Vec<ExpiredEntry> {
        let factor = u64::try_from(timeout_g).unwrap_or(0);
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let map = shard.read().unwrap_or_else(|e| e.into_inner());
            for e in map.entries() {
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
                    generation: st.generation,
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
            let hash = hash_name(key);
            let mut map = self.shard(hash).write().unwrap_or_else(|e| e.into_inner());
            let still_stale = map
                .find(hash, |e| e.name.as_bytes() == key)
                .is_some_and(|e| e.lock().generation == x.generation);
            if still_stale {
                if let Some(e) = map.remove(hash, key) {
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
        timeout_g: i32,
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

    /// Rates of an identifier (`uc_get_rate`).
    pub fn rates(&self, fields: Fields<'_>) -> Option<Vec<f64>> {
        let e = self.find_fields(fields)?;
        let st = e.lock();
        (st.state != STATE_MISSING).then(|| st.values_gauge.clone())
    }

    /// Copies the rates of an identifier into `out` without allocating;
    /// false if absent, missing, or `out` has the wrong length.
    pub fn rates_into(&self, fields: Fields<'_>, out: &mut [f64]) -> bool {
        let Some(e) = self.find_fields(fields) else {
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
    pub fn values_by_name(&self, name: &[u8]) -> Option<Vec<RawValue>> {
        let e = self.find(name)?;
        let st = e.lock();
        (st.state != STATE_MISSING).then(|| st.values_raw.clone())
    }

    /// All visible entries with their last times, sorted by name
    /// (`uc_get_names`). Entries are shared, not copied: walking a large
    /// cache costs one reference count per series, not a string copy.
    pub fn names(&self) -> Vec<(Arc<Entry>, cdtime_t)> {
        let mut out = Vec::with_capacity(self.len());
        for shard in self.shards.iter() {
            let map = shard.read().unwrap_or_else(|e| e.into_inner());
            for e in map.entries() {
                let st = e.lock();
                if st.state != STATE_MISSING {
                    out.push((Arc::clone(e), st.last_time));
                }
            }
        }
        out.sort_unstable_by(|a, b| a.0.name.cmp(&b.0.name));
        out
    }

    /// Writes what rates need of every entry (identifier, last raw values and
    /// rates, time, interval) as text, one entry a line, so a re-executed
    /// daemon continues COUNTER/DERIVE rates without a gap ([`Cache::restore_state`]).
    /// Returns how many entries were written.
    pub fn save_state(&self, out: &mut impl std::io::Write) -> std::io::Result<usize> {
        let mut n = 0;
        for e in self.snapshot() {
            let st = e.lock();
            if st.removed {
                continue;
            }
            let mut line = format!(
                "v1 {} {} {} {}",
                hex(&e.ident),
                st.last_time,
                st.interval,
                st.values_raw.len()
            );
            for v in &st.values_raw {
                line.push_str(&format!(" {v:x}"));
            }
            for g in &st.values_gauge {
                line.push_str(&format!(" {:x}", g.to_bits()));
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
            n += 1;
        }
        Ok(n)
    }

    /// Reads what [`Cache::save_state`] wrote and recreates the entries whose
    /// type still has as many data sources (`values_of` gives the count for a
    /// type name); lines it cannot read are skipped. Returns how many
    /// entries were restored.
    pub fn restore_state(
        &self,
        input: impl std::io::BufRead,
        values_of: impl Fn(&[u8]) -> Option<usize>,
    ) -> usize {
        let mut n = 0;
        for line in input.lines() {
            let Ok(line) = line else { break };
            if let Some(saved) = parse_saved(&line) {
                let [.., ty, _] = saved.fields();
                if values_of(ty) == Some(saved.raw.len()) && self.insert_saved(saved) {
                    n += 1;
                }
            }
        }
        n
    }

    fn insert_saved(&self, saved: Saved) -> bool {
        let fields = saved.fields();
        let hash = hash_fields(fields);
        let Ok(name) = CString::new(format_name(fields)) else {
            return false;
        };
        let entry = Arc::new(Entry {
            name,
            ident: saved.ident.into_boxed_slice(),
            st: Mutex::new(EntryState {
                values_raw: saved.raw,
                values_gauge: saved.gauge,
                last_time: saved.last_time,
                last_update: time::now_coarse(),
                generation: 0,
                interval: saved.interval,
                state: STATE_UNKNOWN,
                hits: 0,
                history: Vec::new(),
                history_index: 0,
                history_length: 0,
                meta: None,
                callbacks_mask: 0,
                removed: false,
            }),
        });
        let mut map = self.shard(hash).write().unwrap_or_else(|e| e.into_inner());
        if map
            .find(hash, |e| e.name.as_bytes() == entry.name.as_bytes())
            .is_some()
        {
            return false;
        }
        map.insert(hash, entry);
        true
    }

    /// All entries sorted by name, for iteration without holding locks.
    pub fn snapshot(&self) -> Vec<Arc<Entry>> {
        let mut out: Vec<Arc<Entry>> = Vec::new();
        for shard in self.shards.iter() {
            let map = shard.read().unwrap_or_else(|e| e.into_inner());
            out.extend(map.entries().cloned());
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    fn with_state_fields<R>(
        &self,
        fields: Fields<'_>,
        f: impl FnOnce(&mut EntryState) -> R,
    ) -> Option<R> {
        let e = self.find_fields(fields)?;
        let mut st = e.lock();
        Some(f(&mut st))
    }

    fn with_state<R>(&self, name: &[u8], f: impl FnOnce(&mut EntryState) -> R) -> Option<R> {
        let e = self.find(name)?;
        let mut st = e.lock();
        Some(f(&mut st))
    }

    /// State of an identifier, `STATE_ERROR` if unknown (`uc_get_state`).
    pub fn state(&self, fields: Fields<'_>) -> i32 {
        self.with_state_fields(fields, |s| s.state)
            .unwrap_or(STATE_ERROR)
    }

    /// Sets the state, returning the previous one or -1 (`uc_set_state`).
    pub fn set_state(&self, fields: Fields<'_>, state: i32) -> i32 {
        self.with_state_fields(fields, |s| std::mem::replace(&mut s.state, state))
            .unwrap_or(-1)
    }

    /// Hits counter, `STATE_ERROR` if unknown (`uc_get_hits`).
    pub fn hits(&self, fields: Fields<'_>) -> i32 {
        self.with_state_fields(fields, |s| s.hits)
            .unwrap_or(STATE_ERROR)
    }

    /// Sets the hits counter, returning the previous value or -1.
    pub fn set_hits(&self, fields: Fields<'_>, hits: i32) -> i32 {
        self.with_state_fields(fields, |s| std::mem::replace(&mut s.hits, hits))
            .unwrap_or(-1)
    }

    /// Adds `step` to the hits counter, returning the previous value or -1.
    pub fn inc_hits(&self, fields: Fields<'_>, step: i32) -> i32 {
        self.with_state_fields(fields, |s| {
            let old = s.hits;
            s.hits = old.wrapping_add(step);
            old
        })
        .unwrap_or(-1)
    }

    /// Sets the cache-event callbacks mask: 0, or -1 if unknown.
    pub fn set_callbacks_mask(&self, name: &[u8], mask: u64) -> i32 {
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
    ) -> i32 {
        let Some(e) = self.find(name) else {
            return -libc::ENOENT;
        };
        let mut st = e.lock();
        let n = st.values_raw.len();
        let fits = matches!(num_steps.checked_mul(num_ds), Some(need) if out.len() >= need);
        if n != num_ds || !fits {
            return -libc::EINVAL;
        }
        if st.history_length < num_steps {
            let grow = num_steps * n - st.history.len();
            if st.history.try_reserve_exact(grow).is_err() {
                return -libc::ENOMEM;
            }
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

    /// Runs `f` on the meta data of an identifier, creating it if needed
    /// (the `uc_meta_data_*` functions); `None` if the identifier is unknown.
    pub fn with_meta<R>(
        &self,
        fields: Fields<'_>,
        f: impl FnOnce(&mut MetaData) -> R,
    ) -> Option<R> {
        self.with_state_fields(fields, |s| f(s.meta.get_or_insert_with(MetaData::new)))
    }

    /// Drops every entry (tests and shutdown).
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let mut map = shard.write().unwrap_or_else(|e| e.into_inner());
            for e in map.entries() {
                e.lock().removed = true;
            }
            map.map.clear();
            map.count = 0;
        }
    }
}

/// One entry as [`Cache::save_state`] wrote it.
struct Saved {
    ident: Vec<u8>,
    last_time: cdtime_t,
    interval: cdtime_t,
    raw: Vec<u64>,
    gauge: Vec<f64>,
}

impl Saved {
    fn fields(&self) -> Fields<'_> {
        split_ident(&self.ident)
    }
}

/// The five fields of an identifier stored NUL-separated (as entries and
/// saved state keep it).
fn split_ident(ident: &[u8]) -> Fields<'_> {
    let mut out: Fields<'_> = [b""; 5];
    for (slot, part) in out.iter_mut().zip(ident.split(|&b| b == 0)) {
        *slot = part;
    }
    out
}

/// Bytes as lowercase hex (the text form of saved rate state).
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes [`hex`] wrote; `None` for anything else.
fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Parses one line of saved state; `None` for anything malformed.
fn parse_saved(line: &str) -> Option<Saved> {
    let mut w = line.split(' ');
    if w.next()? != "v1" {
        return None;
    }
    let ident = unhex(w.next()?)?;
    if ident.iter().filter(|&&b| b == 0).count() != 5 || ident.len() > 5 * crate::types_db::NAME_LEN
    {
        return None;
    }
    let last_time = w.next()?.parse().ok()?;
    let interval = w.next()?.parse().ok()?;
    let n: usize = w.next()?.parse().ok()?;
    if n == 0 || n > 1024 {
        return None;
    }
    let mut raw = Vec::with_capacity(n);
    for _ in 0..n {
        raw.push(u64::from_str_radix(w.next()?, 16).ok()?);
    }
    let mut gauge = Vec::with_capacity(n);
    for _ in 0..n {
        gauge.push(f64::from_bits(u64::from_str_radix(w.next()?, 16).ok()?));
    }
    if w.next().is_some() {
        return None;
    }
    Some(Saved {
        ident,
        last_time,
        interval,
        raw,
        gauge,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_hash_equals_name_hash() {
        let long = "x".repeat(127);
        let cases: [[&str; 5]; 6] = [
            ["h", "p", "", "t", ""],
            ["host.example.com", "interface", "eth0", "if_octets", "rx"],
            ["a", "b", "c", "d", "e"],
            [&long, &long, &long, &long, &long],
            [
                "sixteen-bytes-ab",
                "0123456789abcdef",
                "",
                "q",
                "0123456789abcde",
            ],
            ["h", "a-b", "", "t", ""],
        ];
        for id in cases {
            let fields: Fields<'_> = id.map(str::as_bytes);
            let name = format_name(fields);
            let shown = String::from_utf8_lossy(&name);
            assert_eq!(hash_fields(fields), hash_name(&name), "{shown}");
            assert!(name_matches_fields(&name, fields));
            assert!(!name_matches_fields(&name[1..], fields));
            let mut longer = name.clone();
            longer.push(b'x');
            assert!(!name_matches_fields(&longer, fields));
        }
        // collectd keys by the formatted name, so these two are one entry.
        let split: Fields<'_> = ["h", "a", "b", "t", ""].map(str::as_bytes);
        assert!(name_matches_fields(b"h/a-b/t", split));
        assert_ne!(hash_name(b"h/a/t"), hash_name(b"h/a/u"));
    }

    #[test]
    fn colliding_hashes_share_a_slot() {
        let mk = |n: &str| {
            Arc::new(Entry {
                name: CString::new(n).unwrap(),
                ident: Box::new([]),
                st: Mutex::new(EntryState {
                    values_raw: Vec::new(),
                    values_gauge: Vec::new(),
                    last_time: 0,
                    last_update: 0,
                    generation: 0,
                    interval: 0,
                    state: STATE_UNKNOWN,
                    hits: 0,
                    history: Vec::new(),
                    history_index: 0,
                    history_length: 0,
                    meta: None,
                    callbacks_mask: 0,
                    removed: false,
                }),
            })
        };
        let mut sh = Shard::default();
        for n in ["a", "b", "c"] {
            sh.insert(42, mk(n));
        }
        assert_eq!(sh.count, 3);
        assert_eq!(
            sh.find(42, |e| e.name.as_bytes() == b"b")
                .unwrap()
                .name
                .as_bytes(),
            b"b"
        );
        assert!(sh.find(42, |e| e.name.as_bytes() == b"z").is_none());
        assert!(sh.remove(42, b"b").is_some());
        assert!(sh.remove(42, b"b").is_none());
        assert!(sh.remove(7, b"a").is_none());
        assert_eq!(sh.entries().count(), 2);
        assert!(sh.remove(42, b"a").is_some());
        assert!(matches!(sh.map.get(&42), Some(Slot::One(_))));
        assert!(sh.remove(42, b"c").is_some());
        assert!(sh.map.is_empty());
        assert_eq!(sh.count, 0);
    }
}
