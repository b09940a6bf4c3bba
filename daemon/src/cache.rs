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
use std::mem::MaybeUninit;
use std::os::raw::{c_char, c_int};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use rcollectd_plugin::sys::{data_set_t, data_source_t, meta_data_t, value_list_t, value_t};

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
/// Room for five fields, four separators and two dashes plus the NUL, and
/// 16 bytes of slack for the block copies of [`NameBuf::from_vl`].
const NAME_CAP: usize = 5 * FIELD_LEN + 8 + 16;

/// Clamps a C char array to its first NUL.
fn field(f: &[c_char]) -> &[u8] {
    crate::abi::common::field_bytes(f)
}

/// An identifier formatted as collectd's `FORMAT_VL` does, on the stack.
/// The buffer is left uninitialised past the name and its NUL, so building
/// one costs only the bytes copied.
pub struct NameBuf {
    buf: [MaybeUninit<u8>; NAME_CAP],
    len: usize,
}

impl NameBuf {
    /// Appends `bytes`; callers keep the total below `NAME_CAP`.
    #[inline(always)]
    fn push(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        assert!(end < NAME_CAP, "identifier longer than five fields");
        // SAFETY: `end < NAME_CAP`, so the destination range is inside `buf`;
        // source and destination do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.buf.as_mut_ptr().add(self.len).cast::<u8>(),
                bytes.len(),
            );
        }
        self.len = end;
    }

    /// Formats `host/plugin[-plugin_instance]/type[-type_instance]`.
    #[inline(always)]
    pub fn from_parts(host: &[u8], plugin: &[u8], pi: &[u8], ty: &[u8], ti: &[u8]) -> Self {
        let mut n = NameBuf {
            buf: [MaybeUninit::uninit(); NAME_CAP],
            len: 0,
        };
        let clamp = |p: &[u8]| -> usize { p.len().min(FIELD_LEN - 1) };
        n.push(&host[..clamp(host)]);
        n.push(b"/");
        n.push(&plugin[..clamp(plugin)]);
        if !pi.is_empty() {
            n.push(b"-");
            n.push(&pi[..clamp(pi)]);
        }
        n.push(b"/");
        n.push(&ty[..clamp(ty)]);
        if !ti.is_empty() {
            n.push(b"-");
            n.push(&ti[..clamp(ti)]);
        }
        // The NUL after the name (room is guaranteed: 5 * 127 + 4 < NAME_CAP).
        n.buf[n.len] = MaybeUninit::new(0);
        n
    }

    /// Appends the first `n` bytes of a C name field (`n < FIELD_LEN`) with
    /// whole 16-byte block copies: no call into `memcpy` for short names.
    #[inline(always)]
    fn push_field(&mut self, f: &[c_char; FIELD_LEN], n: usize) {
        let n = n.min(FIELD_LEN - 1);
        let blocks = n.div_ceil(16);
        // The last block may copy up to 15 bytes past `n`: they stay inside the
        // 128-byte source field and inside `buf` thanks to the slack in NAME_CAP.
        assert!(
            self.len + blocks * 16 <= NAME_CAP,
            "identifier longer than five fields"
        );
        for b in 0..blocks {
            let mut block = [0u8; 16];
            for (d, s) in block.iter_mut().zip(&f[b * 16..b * 16 + 16]) {
                *d = *s as u8;
            }
            for (d, s) in self.buf[self.len + b * 16..self.len + b * 16 + 16]
                .iter_mut()
                .zip(block)
            {
                *d = MaybeUninit::new(s);
            }
        }
        self.len += n;
    }

    /// Appends one separator byte.
    #[inline(always)]
    fn push_byte(&mut self, c: u8) {
        self.buf[self.len] = MaybeUninit::new(c);
        self.len += 1;
    }

    /// The name of a value list (same result as [`NameBuf::from_parts`]).
    #[inline(always)]
    pub fn from_vl(vl: &value_list_t) -> Self {
        let mut n = NameBuf {
            buf: [MaybeUninit::uninit(); NAME_CAP],
            len: 0,
        };
        let len = |f: &[c_char; FIELD_LEN]| field(f).len();
        n.push_field(&vl.host, len(&vl.host));
        n.push_byte(b'/');
        n.push_field(&vl.plugin, len(&vl.plugin));
        let pi = len(&vl.plugin_instance);
        if pi > 0 {
            n.push_byte(b'-');
            n.push_field(&vl.plugin_instance, pi);
        }
        n.push_byte(b'/');
        n.push_field(&vl.type_, len(&vl.type_));
        let ti = len(&vl.type_instance);
        if ti > 0 {
            n.push_byte(b'-');
            n.push_field(&vl.type_instance, ti);
        }
        n.buf[n.len] = MaybeUninit::new(0);
        n
    }

    /// The formatted bytes (no NUL).
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: the first `len` bytes were written by `push`.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.len) }
    }

    /// The formatted name as a C string.
    pub fn as_c_str(&self) -> &CStr {
        // SAFETY: `len` bytes plus the NUL written by `from_parts` are initialised.
        let with_nul =
            unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.len + 1) };
        CStr::from_bytes_until_nul(with_nul).unwrap_or(c"")
    }
}

impl fmt::Display for NameBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

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
/// builds one without copying the plugin's whole `value_list_t`.
#[derive(Clone, Copy)]
pub struct Sample<'a> {
    /// The identifier.
    pub fields: Fields<'a>,
    /// The value list's time (not 0: the dispatcher has filled it in).
    pub time: cdtime_t,
    /// Its interval.
    pub interval: cdtime_t,
    /// Its values, `values_len` of them.
    pub values: &'a [value_t],
    /// Its meta data, or null.
    pub meta: *mut meta_data_t,
}

impl<'a> Sample<'a> {
    /// The sample of a value list whose `values` are `values_len` long.
    ///
    /// # Safety
    /// `vl.values` must point to `vl.values_len` values (or be null with 0).
    pub unsafe fn of(vl: &'a value_list_t) -> Sample<'a> {
        let values = if vl.values.is_null() || vl.values_len == 0 {
            &[][..]
        } else {
            // SAFETY: per the caller contract.
            unsafe { std::slice::from_raw_parts(vl.values, vl.values_len) }
        };
        Sample {
            fields: vl_fields(vl),
            time: vl.time,
            interval: vl.interval,
            values,
            meta: vl.meta,
        }
    }

    fn name(&self) -> NameBuf {
        let [host, plugin, pi, ty, ti] = self.fields;
        NameBuf::from_parts(host, plugin, pi, ty, ti)
    }
}

/// The five identifier fields of a value list (see [`Fields`]).
#[inline(always)]
pub fn vl_fields(vl: &value_list_t) -> Fields<'_> {
    fn clamp(f: &[c_char; FIELD_LEN]) -> &[u8] {
        let b = field(f);
        &b[..b.len().min(FIELD_LEN - 1)]
    }
    [
        clamp(&vl.host),
        clamp(&vl.plugin),
        clamp(&vl.plugin_instance),
        clamp(&vl.type_),
        clamp(&vl.type_instance),
    ]
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
    values_raw: Vec<value_t>,
    values_gauge: Vec<f64>,
    /// Time contained in the value list (for rates).
    last_time: cdtime_t,
    /// Local clock at the last update (for expiry).
    last_update: cdtime_t,
    /// Number of accepted updates, to detect updates racing an expiry.
    generation: u64,
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

    fn fields(&self) -> Fields<'_> {
        let mut out: Fields<'_> = [b""; 5];
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
    generation: u64,
}

impl ExpiredEntry {
    /// The value list collectd passes to missing callbacks: identifier, time
    /// and interval, no values, no meta data.
    pub fn to_value_list(&self) -> value_list_t {
        // SAFETY: value_list_t is plain C data; all-zero is VALUE_LIST_INIT.
        let mut vl: value_list_t = unsafe { std::mem::zeroed() };
        vl.time = self.time;
        vl.interval = self.interval;
        write_fields(&mut vl, self.fields.each_ref().map(Vec::as_slice));
        vl
    }
}

/// Copies five identifier fields (truncated to `DATA_MAX_NAME_LEN - 1`)
/// into the zeroed name fields of `vl`.
pub fn write_fields(vl: &mut value_list_t, fields: Fields<'_>) {
    let dests: [&mut [c_char; FIELD_LEN]; 5] = [
        &mut vl.host,
        &mut vl.plugin,
        &mut vl.plugin_instance,
        &mut vl.type_,
        &mut vl.type_instance,
    ];
    for (d, s) in dests.into_iter().zip(fields) {
        for (dc, sc) in d.iter_mut().zip(s.iter().take(FIELD_LEN - 1)) {
            *dc = *sc as c_char;
        }
    }
}

/// Runtime hooks the exported `uc_check_timeout` and `uc_update` use to
/// reach the plugin registry (which lives outside this module).
#[derive(Debug, Clone, Copy)]
pub struct Hooks {
    /// Returns the global `Timeout` factor (`timeout_g`).
    pub timeout_g: fn() -> c_int,
    /// Called once per expired entry, before removal: dispatch the missing
    /// callbacks and, if `callbacks_mask != 0`, `CE_VALUE_EXPIRED` there.
    pub on_expired: fn(&ExpiredEntry),
    /// `plugin_dispatch_cache_event(type, mask, name, vl)` for `uc_update`'s
    /// `CE_VALUE_NEW` / `CE_VALUE_UPDATE` events.
    pub on_cache_event: fn(u32, u64, &CStr, &value_list_t),
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

static GLOBAL: OnceLock<Cache> = OnceLock::new();
static HOOKS: OnceLock<Hooks> = OnceLock::new();

/// The daemon's cache, shared by the dispatcher and the `uc_*` exports.
pub fn global() -> &'static Cache {
    GLOBAL.get_or_init(Cache::new)
}

/// Installs the runtime hooks (first call wins). Without them the exported
/// `uc_check_timeout` uses Timeout 2 and only removes expired entries, and
/// `uc_update` sends no cache events.
pub fn set_hooks(hooks: Hooks) -> bool {
    HOOKS.set(hooks).is_ok()
}

/// The installed hooks, if any.
pub fn hooks() -> Option<&'static Hooks> {
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
            rcollectd_core::counter::diff(o, n) as f64 / dt
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
unsafe fn sources<'a>(
    ds: &'a data_set_t,
    s: &Sample<'_>,
) -> Result<&'a [data_source_t], CacheError> {
    if ds.ds_num != s.values.len() || (ds.ds_num > 0 && ds.ds.is_null()) {
        return Err(CacheError::ValuesMismatch {
            name: s.name().to_string(),
            expected: ds.ds_num,
            got: s.values.len(),
        });
    }
    if ds.ds_num == 0 {
        return Ok(&[]);
    }
    // SAFETY: non-null with the stated length per the caller contract.
    Ok(unsafe { std::slice::from_raw_parts(ds.ds, ds.ds_num) })
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

    fn find_vl(&self, vl: &value_list_t) -> Option<Arc<Entry>> {
        let fields = vl_fields(vl);
        let hash = hash_fields(fields);
        let shard = self.shard(hash).read().unwrap_or_else(|e| e.into_inner());
        shard
            .find(hash, |e| name_matches_fields(e.name.as_bytes(), fields))
            .cloned()
    }

    /// Feeds one value list into the cache (`uc_update`): computes rates,
    /// advances the history, refreshes the expiry clock.
    ///
    /// # Safety
    /// `ds.ds` and `vl.values` must point to `ds_num`/`values_len` elements;
    /// `vl.meta` must be null or a live meta data pointer.
    pub unsafe fn update(&self, ds: &data_set_t, vl: &value_list_t) -> Result<Updated, CacheError> {
        // SAFETY: forwarded caller contract.
        unsafe { self.update_sample(ds, &Sample::of(vl), None) }
    }

    /// [`Cache::update`] of a [`Sample`], so the dispatch path measures
    /// each identifier field once and copies no `value_list_t`.
    ///
    /// # Safety
    /// `ds.ds` must point to `ds_num` sources; `s.meta` must be null or a
    /// live meta data pointer.
    /// `rates`, when given, receives the rates a writer of this very value
    /// list sees (`uc_get_rate` from its write callback), as collectd's
    /// writer computes them right before writing: the new rates, or the
    /// cached ones when the value list is refused as not newer.
    pub unsafe fn update_sample(
        &self,
        ds: &data_set_t,
        s: &Sample<'_>,
        mut rates: Option<&mut SampleRates>,
    ) -> Result<Updated, CacheError> {
        // SAFETY: forwarded caller contract.
        let dss = unsafe { sources(ds, s) }?;
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
        // SAFETY: forwarded caller contract on s.meta.
        unsafe { self.insert_new(hash, dss, s, rates) }
    }

    /// The first value list of an identifier: builds and inserts its entry.
    /// Kept out of line so the hot update path stays small.
    ///
    /// # Safety
    /// `s.meta` must be null or a live meta data pointer.
    #[cold]
    #[inline(never)]
    unsafe fn insert_new(
        &self,
        hash: u64,
        dss: &[data_source_t],
        s: &Sample<'_>,
        mut rates: Option<&mut SampleRates>,
    ) -> Result<Updated, CacheError> {
        let shard = self.shard(hash);
        let name = s.name();
        let vals = s.values;
        // Build the entry outside the write lock.
        let mut values_gauge = Vec::with_capacity(dss.len());
        for (ds, v) in dss.iter().zip(vals) {
            values_gauge.push(first_rate(ds.type_, *v, s.interval)?);
        }
        check_range(dss, &mut values_gauge);
        let mut ident = Vec::with_capacity(5 * 16);
        for f in s.fields {
            ident.extend_from_slice(f);
            ident.push(0);
        }
        let entry = Arc::new(Entry {
            name: CString::new(name.as_bytes()).unwrap_or_default(),
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
                // SAFETY: forwarded caller contract on s.meta.
                meta: unsafe { meta::to_owned(s.meta) },
                callbacks_mask: 0,
                removed: false,
            }),
        });
        let mut map = shard.write().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = map.find(hash, |e| e.name.as_bytes() == name.as_bytes()) {
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
        dss: &[data_source_t],
        s: &Sample<'_>,
    ) -> Result<Updated, CacheError> {
        let vals = s.values;
        if st.values_raw.len() != dss.len() {
            return Err(CacheError::ValuesMismatch {
                name: s.name().to_string(),
                expected: st.values_raw.len(),
                got: dss.len(),
            });
        }
        if st.last_time >= s.time {
            return Err(CacheError::TooOld {
                name: s.name().to_string(),
                value_time: s.time,
                last_time: st.last_time,
            });
        }
        let dt = time::to_f64(s.time - st.last_time);
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
    pub fn check_timeout(&self, now: cdtime_t, timeout_g: c_int) -> Vec<ExpiredEntry> {
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
        let e = self.find_vl(vl)?;
        let st = e.lock();
        (st.state != STATE_MISSING).then(|| st.values_gauge.clone())
    }

    /// Copies the rates of `vl`'s identifier into `out` without allocating;
    /// false if absent, missing, or `out` has the wrong length.
    pub fn rates_into(&self, vl: &value_list_t, out: &mut [f64]) -> bool {
        let Some(e) = self.find_vl(vl) else {
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
                // SAFETY: every value_t variant is 8 plain bytes; reading
                // them as u64 keeps the exact bits whatever the type.
                line.push_str(&format!(" {:x}", unsafe { v.counter }));
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
        let name = NameBuf::from_parts(fields[0], fields[1], fields[2], fields[3], fields[4]);
        let Ok(name) = CString::new(name.as_bytes()) else {
            return false;
        };
        let entry = Arc::new(Entry {
            name,
            ident: saved.ident.into_boxed_slice(),
            st: Mutex::new(EntryState {
                values_raw: saved.raw.iter().map(|&b| value_t { counter: b }).collect(),
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

    fn with_state_vl<R>(
        &self,
        vl: &value_list_t,
        f: impl FnOnce(&mut EntryState) -> R,
    ) -> Option<R> {
        let e = self.find_vl(vl)?;
        let mut st = e.lock();
        Some(f(&mut st))
    }

    fn with_state<R>(&self, name: &[u8], f: impl FnOnce(&mut EntryState) -> R) -> Option<R> {
        let e = self.find(name)?;
        let mut st = e.lock();
        Some(f(&mut st))
    }

    /// State of `vl`'s identifier, `STATE_ERROR` if unknown (`uc_get_state`).
    pub fn state(&self, vl: &value_list_t) -> c_int {
        self.with_state_vl(vl, |s| s.state).unwrap_or(STATE_ERROR)
    }

    /// Sets the state, returning the previous one or -1 (`uc_set_state`).
    pub fn set_state(&self, vl: &value_list_t, state: c_int) -> c_int {
        self.with_state_vl(vl, |s| std::mem::replace(&mut s.state, state))
            .unwrap_or(-1)
    }

    /// Hits counter, `STATE_ERROR` if unknown (`uc_get_hits`).
    pub fn hits(&self, vl: &value_list_t) -> c_int {
        self.with_state_vl(vl, |s| s.hits).unwrap_or(STATE_ERROR)
    }

    /// Sets the hits counter, returning the previous value or -1.
    pub fn set_hits(&self, vl: &value_list_t, hits: c_int) -> c_int {
        self.with_state_vl(vl, |s| std::mem::replace(&mut s.hits, hits))
            .unwrap_or(-1)
    }

    /// Adds `step` to the hits counter, returning the previous value or -1.
    pub fn inc_hits(&self, vl: &value_list_t, step: c_int) -> c_int {
        self.with_state_vl(vl, |s| {
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

    /// Runs `f` on the meta data of `vl`'s identifier, creating it if needed
    /// (the `uc_meta_data_*` functions); `None` if the identifier is unknown.
    pub fn with_meta<R>(&self, vl: &value_list_t, f: impl FnOnce(&mut MetaData) -> R) -> Option<R> {
        self.with_state_vl(vl, |s| f(s.meta.get_or_insert_with(MetaData::new)))
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

/// Builders shared by the cache tests here and in `abi::cache`.
#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// Copies `s` into a C name field.
    pub fn set_field(dst: &mut [c_char; FIELD_LEN], s: &str) {
        dst.fill(0);
        for (d, b) in dst.iter_mut().zip(s.bytes().take(FIELD_LEN - 1)) {
            *d = b as c_char;
        }
    }

    /// A data set with the given (type, min, max) sources; keep the Vec alive.
    pub fn data_set(name: &str, srcs: &[(c_int, f64, f64)]) -> (data_set_t, Vec<data_source_t>) {
        let mut v: Vec<data_source_t> = srcs
            .iter()
            .map(|&(t, min, max)| {
                // SAFETY: data_source_t is plain C data.
                let mut d: data_source_t = unsafe { std::mem::zeroed() };
                d.type_ = t;
                d.min = min;
                d.max = max;
                d
            })
            .collect();
        // SAFETY: data_set_t is plain C data.
        let mut ds: data_set_t = unsafe { std::mem::zeroed() };
        set_field(&mut ds.type_, name);
        ds.ds_num = v.len();
        ds.ds = v.as_mut_ptr();
        (ds, v)
    }

    /// A value list for `host/plugin-pi/type-ti` pointing at `values`.
    pub fn value_list(
        id: [&str; 5],
        time: cdtime_t,
        interval: cdtime_t,
        values: &mut [value_t],
    ) -> value_list_t {
        // SAFETY: value_list_t is plain C data.
        let mut vl: value_list_t = unsafe { std::mem::zeroed() };
        set_field(&mut vl.host, id[0]);
        set_field(&mut vl.plugin, id[1]);
        set_field(&mut vl.plugin_instance, id[2]);
        set_field(&mut vl.type_, id[3]);
        set_field(&mut vl.type_instance, id[4]);
        vl.time = time;
        vl.interval = interval;
        vl.values = values.as_mut_ptr();
        vl.values_len = values.len();
        vl
    }

    /// A value_t holding a gauge.
    pub fn gauge(g: f64) -> value_t {
        value_t { gauge: g }
    }

    /// A value_t holding a counter.
    pub fn counter(c: u64) -> value_t {
        value_t { counter: c }
    }

    /// A value_t holding a derive.
    pub fn derive(d: i64) -> value_t {
        value_t { derive: d }
    }

    /// A value_t holding an absolute.
    pub fn absolute(a: u64) -> value_t {
        value_t { absolute: a }
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
        let mut out: Fields<'_> = [b""; 5];
        for (slot, part) in out.iter_mut().zip(self.ident.split(|&b| b == 0)) {
            *slot = part;
        }
        out
    }
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
    if ident.iter().filter(|&&b| b == 0).count() != 5 || ident.len() > 5 * FIELD_LEN {
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
    use super::testutil::*;
    use super::*;

    const ID: [&str; 5] = ["h", "p", "i", "t", "x"];

    /// The cache's hot-path name formatter agrees with the core's
    /// `format_name`, from the parts and from a value list.
    #[test]
    fn names_follow_the_identifier_rule() {
        let long = "n".repeat(127);
        let cases: [[&str; 5]; 5] = [
            ["h", "cpu", "0", "cpu", "idle"],
            ["h", "load", "", "load", ""],
            ["host-a.b", "p", "i-j", "t", "k-l"],
            ["", "p", "", "t", ""],
            [&long, &long, &long, &long, &long],
        ];
        for id in cases {
            let want = rcollectd_core::ident::Parts::of(id[0], id[1], id[2], id[3], id[4]).format();
            let [h, p, pi, t, ti] = id.map(str::as_bytes);
            assert_eq!(NameBuf::from_parts(h, p, pi, t, ti).as_bytes(), want);
            let mut values = [gauge(1.0)];
            let vl = value_list(id, 0, 0, &mut values);
            assert_eq!(NameBuf::from_vl(&vl).as_bytes(), want, "{id:?}");
        }
    }

    fn secs(s: u64) -> cdtime_t {
        time::from_secs(s)
    }

    fn upd(
        c: &Cache,
        ds: &data_set_t,
        id: [&str; 5],
        t: u64,
        v: value_t,
    ) -> Result<Updated, CacheError> {
        let mut vals = [v];
        let vl = value_list(id, secs(t), secs(10), &mut vals);
        // SAFETY: vl points into `vals`, ds into its Vec (kept alive by the caller).
        unsafe { c.update(ds, &vl) }
    }

    #[test]
    fn name_format_matches_format_vl() {
        let n = NameBuf::from_parts(b"h", b"p", b"", b"t", b"");
        assert_eq!(n.as_bytes(), b"h/p/t");
        assert_eq!(n.as_c_str(), c"h/p/t");
        let n = NameBuf::from_parts(b"h", b"p", b"pi", b"t", b"ti");
        assert_eq!(n.to_string(), "h/p-pi/t-ti");
        let long = [b'a'; 200];
        let n = NameBuf::from_parts(&long, &long, &long, &long, &long);
        assert_eq!(n.as_bytes().len(), 5 * 127 + 4);
    }

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
            let mut v = [gauge(0.0)];
            let vl = value_list(id, 0, 0, &mut v);
            let name = NameBuf::from_vl(&vl);
            let fields = vl_fields(&vl);
            assert_eq!(hash_fields(fields), hash_name(name.as_bytes()), "{name}");
            assert!(name_matches_fields(name.as_bytes(), fields));
            assert!(!name_matches_fields(&name.as_bytes()[1..], fields));
            let mut longer = name.as_bytes().to_vec();
            longer.push(b'x');
            assert!(!name_matches_fields(&longer, fields));
        }
        // collectd keys by the formatted name, so these two are one entry.
        let mut v = [gauge(0.0)];
        let split = value_list(["h", "a", "b", "t", ""], 0, 0, &mut v);
        assert!(name_matches_fields(b"h/a-b/t", vl_fields(&split)));
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

    #[test]
    fn gauge_rates_and_range_check() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, 0.0, 100.0)]);
        let first = upd(&c, &ds, ID, 100, gauge(5.0)).unwrap();
        assert_eq!(
            first,
            Updated {
                is_new: true,
                callbacks_mask: 0
            }
        );
        assert_eq!(c.rates_by_name(b"h/p-i/t-x").unwrap(), [5.0]);
        assert!(!upd(&c, &ds, ID, 110, gauge(150.0)).unwrap().is_new);
        assert!(c.rates_by_name(b"h/p-i/t-x").unwrap()[0].is_nan());
        let raw = c.values_by_name(b"h/p-i/t-x").unwrap();
        // SAFETY: reading the gauge member written above.
        let g = unsafe { raw[0].gauge };
        assert_eq!(g, 150.0);
    }

    #[test]
    fn counter_rate_with_wraparound() {
        let c = Cache::new();
        let (ds, _keep) = data_set("c", &[(DS_COUNTER, 0.0, f64::NAN)]);
        upd(&c, &ds, ID, 100, counter(1000)).unwrap();
        assert!(c.rates_by_name(b"h/p-i/t-x").unwrap()[0].is_nan());
        upd(&c, &ds, ID, 110, counter(1500)).unwrap();
        assert_eq!(c.rates_by_name(b"h/p-i/t-x").unwrap(), [50.0]);
        // 32-bit wrap: 4294967290 -> 4 is a difference of 10.
        upd(&c, &ds, ID, 120, counter(4_294_967_290)).unwrap();
        upd(&c, &ds, ID, 130, counter(4)).unwrap();
        assert_eq!(c.rates_by_name(b"h/p-i/t-x").unwrap(), [1.0]);
        // 64-bit wrap.
        upd(&c, &ds, ID, 140, counter(u64::MAX - 9)).unwrap();
        upd(&c, &ds, ID, 150, counter(10)).unwrap();
        assert_eq!(c.rates_by_name(b"h/p-i/t-x").unwrap(), [2.0]);
    }

    #[test]
    fn derive_and_absolute_rates() {
        let c = Cache::new();
        let (ds, _keep) = data_set("d", &[(DS_DERIVE, f64::NAN, f64::NAN)]);
        upd(&c, &ds, ID, 100, derive(100)).unwrap();
        upd(&c, &ds, ID, 104, derive(80)).unwrap();
        assert_eq!(c.rates_by_name(b"h/p-i/t-x").unwrap(), [-5.0]);

        let (ds, _keep2) = data_set("a", &[(DS_ABSOLUTE, 0.0, f64::NAN)]);
        let id = ["h", "p", "", "a", ""];
        // New entry: value / interval (10 s).
        upd(&c, &ds, id, 100, absolute(30)).unwrap();
        assert_eq!(c.rates_by_name(b"h/p/a").unwrap(), [3.0]);
        // Update: value / time since last.
        upd(&c, &ds, id, 102, absolute(30)).unwrap();
        assert_eq!(c.rates_by_name(b"h/p/a").unwrap(), [15.0]);
    }

    #[test]
    fn too_old_is_rejected_with_collectds_message() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, f64::NAN, f64::NAN)]);
        upd(&c, &ds, ID, 100, gauge(1.0)).unwrap();
        let err = upd(&c, &ds, ID, 100, gauge(2.0)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "uc_update: Value too old: name = h/p-i/t-x; value time = 100.000; last cache update = 100.000;"
        );
        assert!(matches!(
            upd(&c, &ds, ID, 99, gauge(2.0)),
            Err(CacheError::TooOld { .. })
        ));
        assert_eq!(c.rates_by_name(b"h/p-i/t-x").unwrap(), [1.0]);
    }

    #[test]
    fn mismatched_values_and_bad_types_are_errors() {
        let c = Cache::new();
        let (ds2, _keep) = data_set("two", &[(DS_GAUGE, f64::NAN, f64::NAN); 2]);
        let mut one = [gauge(1.0)];
        let vl = value_list(ID, secs(1), secs(10), &mut one);
        // SAFETY: pointers are valid; the count mismatch is the point.
        let r = unsafe { c.update(&ds2, &vl) };
        assert!(matches!(
            r,
            Err(CacheError::ValuesMismatch {
                expected: 2,
                got: 1,
                ..
            })
        ));
        let (bad, _keep2) = data_set("bad", &[(42, f64::NAN, f64::NAN)]);
        assert_eq!(
            upd(&c, &bad, ID, 1, gauge(1.0)),
            Err(CacheError::UnknownDsType(42))
        );
        assert!(c.is_empty());
    }

    #[test]
    fn expiry_reports_then_removes() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, f64::NAN, f64::NAN)]);
        upd(&c, &ds, ID, 100, gauge(1.0)).unwrap();
        upd(&c, &ds, ["h", "p", "", "t", ""], 100, gauge(1.0)).unwrap();
        c.set_callbacks_mask(b"h/p/t", 0b101);
        let now = time::now();
        // interval 10 s, timeout 2: fresh for 20 s.
        assert!(c.check_timeout(now + secs(19), 2).is_empty());
        let exp = c.check_timeout(now + secs(25), 2);
        assert_eq!(exp.len(), 2);
        assert_eq!(exp[0].name.as_bytes(), b"h/p-i/t-x");
        assert_eq!(exp[1].callbacks_mask, 0b101);
        let vl = exp[0].to_value_list();
        assert_eq!(field(&vl.plugin_instance), b"i");
        assert_eq!(field(&vl.type_instance), b"x");
        assert_eq!(
            (vl.time, vl.interval, vl.values_len),
            (secs(100), secs(10), 0)
        );
        assert!(vl.values.is_null());
        // An update between detection and removal keeps the entry.
        upd(&c, &ds, ID, 110, gauge(1.0)).unwrap();
        assert_eq!(c.remove_expired(&exp), 1);
        assert_eq!(c.len(), 1);
        let mut seen = Vec::new();
        assert_eq!(
            c.expire(now + secs(3600), 2, |x| seen.push(x.name.clone())),
            1
        );
        assert_eq!(seen, [CString::new("h/p-i/t-x").unwrap()]);
        assert!(c.is_empty());
    }

    #[test]
    fn names_sorted_and_missing_hidden() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, f64::NAN, f64::NAN)]);
        for (i, h) in ["b", "a", "c"].iter().enumerate() {
            upd(&c, &ds, [h, "p", "", "t", ""], 100 + i as u64, gauge(1.0)).unwrap();
        }
        let mut vals = [gauge(0.0)];
        let vl = value_list(["c", "p", "", "t", ""], 0, 0, &mut vals);
        assert_eq!(c.set_state(&vl, STATE_MISSING), STATE_UNKNOWN);
        assert_eq!(c.state(&vl), STATE_MISSING);
        let names = c.names();
        let got: Vec<_> = names
            .iter()
            .map(|(e, t)| (e.name().to_str().unwrap(), *t))
            .collect();
        assert_eq!(got, [("a/p/t", secs(101)), ("b/p/t", secs(100))]);
        assert!(c.rates_by_name(b"c/p/t").is_none());
        assert_eq!(c.snapshot().len(), 3);
        assert!(!c.snapshot()[2].is_visible());
    }

    #[test]
    fn hits_state_and_unknown_identifiers() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, f64::NAN, f64::NAN)]);
        upd(&c, &ds, ID, 100, gauge(1.0)).unwrap();
        let mut vals = [gauge(0.0)];
        let vl = value_list(ID, 0, 0, &mut vals);
        assert_eq!(c.hits(&vl), 0);
        assert_eq!(c.inc_hits(&vl, 3), 0);
        assert_eq!(c.set_hits(&vl, 10), 3);
        assert_eq!(c.hits(&vl), 10);
        let other = value_list(["nope", "p", "", "t", ""], 0, 0, &mut vals);
        assert_eq!(c.hits(&other), STATE_ERROR);
        assert_eq!(c.state(&other), STATE_ERROR);
        assert_eq!(c.set_hits(&other, 1), -1);
        assert_eq!(c.inc_hits(&other, 1), -1);
        assert_eq!(c.set_state(&other, 1), -1);
        assert_eq!(c.set_callbacks_mask(b"nope/p/t", 1), -1);
        assert!(c.with_meta(&other, |_| ()).is_none());
    }

    #[test]
    fn history_ring_newest_first() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, f64::NAN, f64::NAN); 2]);
        let mut out = [0.0; 6];
        assert_eq!(
            c.history_by_name(b"h/p-i/t-x", &mut out, 3, 2),
            -libc::ENOENT
        );
        let mut vals = [gauge(1.0), gauge(-1.0)];
        let vl = value_list(ID, secs(100), secs(10), &mut vals);
        // SAFETY: vl/ds point to live arrays.
        unsafe { c.update(&ds, &vl) }.unwrap();
        assert_eq!(
            c.history_by_name(b"h/p-i/t-x", &mut out, 3, 1),
            -libc::EINVAL
        );
        assert_eq!(c.history_by_name(b"h/p-i/t-x", &mut out, 3, 2), 0);
        assert!(out.iter().all(|v| v.is_nan()));
        for t in 1..=4 {
            let mut vals = [gauge(t as f64), gauge(-(t as f64))];
            let vl = value_list(ID, secs(100 + t), secs(10), &mut vals);
            // SAFETY: as above.
            unsafe { c.update(&ds, &vl) }.unwrap();
        }
        assert_eq!(c.history_by_name(b"h/p-i/t-x", &mut out, 3, 2), 0);
        assert_eq!(out, [4.0, -4.0, 3.0, -3.0, 2.0, -2.0]);
    }

    #[test]
    fn saved_state_continues_rates_in_a_new_cache() {
        let old = Cache::new();
        let (ds, _keep) = data_set("d", &[(DS_DERIVE, 0.0, f64::NAN)]);
        let id = ["h", "p", "i", "d", "x"];
        let mut values = [derive(1000)];
        let vl = value_list(id, secs(100), secs(10), &mut values);
        // SAFETY: ds and vl point at live arrays of one value.
        unsafe { old.update(&ds, &vl) }.unwrap();
        let mut text = Vec::new();
        assert_eq!(old.save_state(&mut text).unwrap(), 1);

        let new = Cache::new();
        let bad = b"v1 zz 1 2 1 0 0\nv2 nonsense\n".to_vec();
        let input = [text.clone(), bad].concat();
        assert_eq!(
            new.restore_state(&mut &input[..], |t| (t == b"d").then_some(1)),
            1
        );
        // A type whose value count changed is not restored.
        assert_eq!(Cache::new().restore_state(&mut &text[..], |_| Some(2)), 0);
        let mut values = [derive(1100)];
        let vl = value_list(id, secs(110), secs(10), &mut values);
        // SAFETY: as above.
        unsafe { new.update(&ds, &vl) }.unwrap();
        assert_eq!(new.rates(&vl), Some(vec![10.0]), "no gap, no spike");
    }

    #[test]
    fn each_update_records_the_rates_of_its_own_value_list() {
        let c = Cache::new();
        let (ds, _keep) = data_set("d", &[(DS_DERIVE, 0.0, f64::NAN)]);
        // (time, raw value, rates a writer of this value list must see)
        let burst: [(u64, i64, Option<f64>); 4] = [
            (1000, 0, None),
            (1010, 100, Some(10.0)),
            (1020, 300, Some(20.0)),
            // Refused as not newer: collectd's writer sees the cached rate.
            (1015, 999, Some(20.0)),
        ];
        let mut recorded = Vec::new();
        for (t, v, _) in burst {
            let mut values = [derive(v)];
            let vl = value_list(ID, secs(t), secs(10), &mut values);
            let mut rates = SampleRates::Unknown;
            // SAFETY: ds and vl point at live arrays of one value.
            let _ = unsafe { c.update_sample(&ds, &Sample::of(&vl), Some(&mut rates)) };
            recorded.push(rates.as_slice().map(|r| r[0]));
        }
        for ((t, _, want), got) in burst.iter().zip(&recorded) {
            match want {
                None => assert!(got.unwrap().is_nan(), "t={t}: first derive rate is NaN"),
                Some(w) => assert_eq!(*got, Some(*w), "t={t}"),
            }
        }
    }

    #[test]
    fn meta_is_cloned_on_insert_and_editable() {
        let c = Cache::new();
        let (ds, _keep) = data_set("g", &[(DS_GAUGE, f64::NAN, f64::NAN)]);
        let mut md = MetaData::new();
        md.insert_str("origin", meta::MetaValue::SignedInt(7));
        let raw = meta::into_raw(md);
        let mut vals = [gauge(1.0)];
        let mut vl = value_list(ID, secs(100), secs(10), &mut vals);
        vl.meta = raw;
        // SAFETY: vl.meta is live until destroyed below.
        unsafe { c.update(&ds, &vl) }.unwrap();
        // SAFETY: raw came from into_raw and is not used afterwards.
        unsafe { meta::destroy_raw(raw) };
        vl.meta = std::ptr::null_mut();
        let got = c.with_meta(&vl, |m| m.get(b"ORIGIN").cloned()).unwrap();
        assert_eq!(got, Some(meta::MetaValue::SignedInt(7)));
        c.with_meta(&vl, |m| m.insert_str("k", meta::MetaValue::Boolean(true)));
        assert_eq!(c.snapshot()[0].meta().unwrap().len(), 2);
    }

    #[test]
    fn concurrent_updates_are_consistent() {
        const THREADS: u64 = 4;
        const IDS: u64 = 50;
        const ROUNDS: u64 = 200;
        let c = Arc::new(Cache::new());
        let handles: Vec<_> = (0..THREADS)
            .map(|th| {
                let c = Arc::clone(&c);
                std::thread::spawn(move || {
                    let (ds, _keep) = data_set("d", &[(DS_DERIVE, f64::NAN, f64::NAN)]);
                    let mut news = 0u64;
                    let mut errors = 0u64;
                    for round in 1..=ROUNDS {
                        for id in 0..IDS {
                            // Every thread writes every identifier; times are
                            // unique per (round, thread) so exactly the newer
                            // ones are accepted.
                            let host = format!("host{id}");
                            let t = round * THREADS + th;
                            match upd(
                                &c,
                                &ds,
                                [&host, "p", "", "t", ""],
                                t,
                                derive((t * 10) as i64),
                            ) {
                                Ok(u) => news += u64::from(u.is_new),
                                Err(CacheError::TooOld { .. }) => errors += 1,
                                Err(e) => panic!("unexpected {e}"),
                            }
                        }
                    }
                    (news, errors)
                })
            })
            .collect();
        let mut news = 0;
        let mut accepted_or_rejected = 0;
        for h in handles {
            let (n, e) = h.join().unwrap();
            news += n;
            accepted_or_rejected += e;
        }
        assert_eq!(news, IDS, "each identifier is new exactly once");
        assert_eq!(c.len(), IDS as usize);
        assert!(accepted_or_rejected < THREADS * IDS * ROUNDS);
        for id in 0..IDS {
            let name = format!("host{id}/p/t");
            // SAFETY: derive member of a DERIVE source.
            let v = unsafe { c.values_by_name(name.as_bytes()).unwrap()[0].derive };
            // The newest time anyone wrote is ROUNDS*THREADS + THREADS-1.
            assert_eq!(v, ((ROUNDS * THREADS + THREADS - 1) * 10) as i64);
            let rate = c.rates_by_name(name.as_bytes()).unwrap()[0];
            // value is 10 * time (in s), so any accepted pair has rate 10.
            assert!((rate - 10.0).abs() < 1e-6, "{name}: rate {rate}");
        }
    }
}
